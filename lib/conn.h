/*
 * conn.h - a buffered, blocking connection with a deadline per operation.
 *
 * For single servers (cleanup, local, virtual, pickup) and commands, which
 * talk to one peer at a time. Event servers use lib/event instead and parse
 * with rec_parse() from their own buffers.
 */
#ifndef POSTERN_CONN_H
#define POSTERN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define CONN_BUF_MAX	(2 * 1024 * 1024)

struct conn {
	int fd;
	int timeout_ms;		/* per read/write wait; < 0 waits forever */
	bool not_socket;	/* a pipe or file: poll before each call */
	struct buf in;		/* read but not yet consumed */
	struct buf out;		/* queued for writing */
};

/* Take ownership of fd. */
struct conn *conn_new(int fd, int timeout_ms);
/* Close the descriptor and free. */
void conn_free(struct conn **c_r);
/* Read more bytes into c->in: returns bytes read, 0 at EOF, -1 on error
 * (ETIMEDOUT when the deadline passed). Queued output is flushed before
 * it waits, so a reply queued with conn_write() goes out with the next
 * one, or when we would wait for the peer, whichever is first. */
ssize_t conn_fill(struct conn *c);
/* Queue bytes; flushes when the output buffer is large. */
int conn_write(struct conn *c, const void *data, size_t len);
int conn_flush(struct conn *c);
/* Read exactly len bytes into out (appended), from c->in first. */
int conn_read_exact(struct conn *c, size_t len, struct buf *out);

#endif
