/*
 * rec.h - the one IPC record format, used by every socket and queue file.
 *
 * A record is name=value lines ended by an empty line: the framing of the
 * Postfix policy delegation protocol, so one parser serves internal IPC and
 * external policy servers. Names are [A-Za-z0-9_.-]+. Names may repeat
 * (one "rcpt" per recipient); order is kept. Values are encoded on the
 * wire: '%', bytes below 0x20 and 0x7f become %XX, so a value can never
 * break the framing. A record over REC_MAX bytes is refused.
 *
 * Message content travels after a record as length-prefixed chunks: a
 * decimal length, a newline, then that many raw bytes. A chunk of length 0
 * ends the content. A chunk carries at most REC_CHUNK_MAX bytes.
 *
 * The first attribute names the protocol and its version ("proto=cleanup/1").
 */
#ifndef POSTERN_REC_H
#define POSTERN_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "conn.h"

#define REC_MAX		(1024 * 1024)
#define REC_CHUNK_MAX	(1024 * 1024)

struct rec_attr {
	char *name;
	char *value;		/* decoded */
};

struct rec {
	struct rec_attr *attrs;
	size_t count;
	size_t cap;
};

struct rec *rec_new(void);
void rec_free(struct rec **r_r);
void rec_reset(struct rec *r);
/* Append an attribute (copies both strings). */
void rec_put(struct rec *r, const char *name, const char *value);
void rec_put_int(struct rec *r, const char *name, long long value);
void rec_put_size(struct rec *r, const char *name, size_t value);
/* The first value with this name, or NULL. */
const char *rec_get(const struct rec *r, const char *name);
/* The first value parsed as a decimal integer: 0, or -1 when absent or
 * not a number in [min, max]. */
int rec_get_int(const struct rec *r, const char *name, long long min,
    long long max, long long *value_r);

/* Append the wire form (with the ending empty line) to out. -1 when out's
 * limit is reached. */
int rec_format(const struct rec *r, struct buf *out);
/* Parse one record from data[0..len) into r (replacing it). Returns the
 * number of bytes used (> 0), 0 when the record is not complete yet (and
 * len is still under REC_MAX), or -1 with errno EPROTO (bad framing: empty
 * name, no '=', bad name, bad %XX) or EMSGSIZE (over REC_MAX). */
ssize_t rec_parse(struct rec *r, const char *data, size_t len);

/* Append one chunk header and data to out; len 0 writes the end marker. */
int rec_format_chunk(struct buf *out, const void *data, size_t len);
/* Parse a chunk header at data[0..len): returns the header length (> 0)
 * and sets *chunk_len_r, 0 when incomplete, -1 (EPROTO) when malformed or
 * over REC_CHUNK_MAX. */
ssize_t rec_parse_chunk_header(const char *data, size_t len,
    size_t *chunk_len_r);

/* Blocking I/O over a conn (single servers and commands). */
/* Read one record. 0, or -1 with errno EMSGSIZE, ETIMEDOUT, EPROTO, or
 * ECONNRESET at EOF. */
int rec_read(struct conn *c, struct rec *r);
/* Queue one record: it goes out with the next flush, at the latest
 * before c waits for input (conn_fill()). */
int rec_queue(struct conn *c, const struct rec *r);
/* Write one record, and flush it with whatever was queued. */
int rec_write(struct conn *c, const struct rec *r);
/* Read one chunk's data, appended to out: returns its length (0 = end of
 * content), or -1. */
ssize_t rec_read_chunk(struct conn *c, struct buf *out);
/* Queue one chunk (flushed by conn when its buffer fills or on
 * conn_flush). len 0 ends the content and flushes. */
int rec_write_chunk(struct conn *c, const void *data, size_t len);

#endif
