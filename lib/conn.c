/*
 * conn.c - a buffered, blocking connection with a deadline per wait
 * (see conn.h).
 *
 * Every wait for the descriptor (readable or writable) gets timeout_ms of
 * its own, so a peer that keeps making progress is not cut off, while a
 * peer that stalls is. The descriptor may be blocking or non-blocking. A
 * socket is read and written with MSG_DONTWAIT first and polled only when
 * that would block: mostly the data is there, and the poll() a call
 * saved. Pipes and files (ENOTSOCK) are polled before each read and write.
 * Writes to a socket use MSG_NOSIGNAL so that a peer that went away is an
 * EPIPE error, not a SIGPIPE.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "io.h"
#include "mem.h"

/* Output is flushed once this much is queued; reads ask for this much. */
#define CONN_IO_SIZE	(64 * 1024)

struct conn *
conn_new(int fd, int timeout_ms)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->timeout_ms = timeout_ms;
	buf_init(&c->in, CONN_BUF_MAX);
	buf_init(&c->out, CONN_BUF_MAX);
	return c;
}

void
conn_free(struct conn **c_r)
{
	struct conn *c = *c_r;

	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	buf_release(&c->in);
	buf_release(&c->out);
	xfree(c_r);
}

static int64_t
conn_deadline(const struct conn *c)
{
	return c->timeout_ms < 0 ? -1 : io_now_ms() + c->timeout_ms;
}

ssize_t
conn_fill(struct conn *c)
{
	size_t room = c->in.limit - c->in.len;
	ssize_t n;

	if (room == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (room > CONN_IO_SIZE)
		room = CONN_IO_SIZE;
	if (buf_reserve(&c->in, room) < 0)
		return -1;
	for (bool wait = c->not_socket;; wait = true) {
		/* What was queued goes out before we wait for the peer,
		 * which may be waiting for it. */
		if (wait && c->out.len > 0 && conn_flush(c) < 0)
			return -1;
		if (wait && io_wait(c->fd, POLLIN, conn_deadline(c)) < 0)
			return -1;
		n = c->not_socket ? read(c->fd, c->in.data + c->in.len, room) :
		    recv(c->fd, c->in.data + c->in.len, room, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == ENOTSOCK && !c->not_socket) {
			c->not_socket = true;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
	buf_commit(&c->in, (size_t)n);
	return n;
}

/* Write all of data[0..len), waiting at most timeout_ms each time. */
static int
conn_write_raw(struct conn *c, const char *data, size_t len)
{
	bool wait = c->not_socket;

	while (len > 0) {
		ssize_t n;

		if (wait && io_wait(c->fd, POLLOUT, conn_deadline(c)) < 0)
			return -1;
		n = c->not_socket ? write(c->fd, data, len) :
		    send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK && !c->not_socket) {
			c->not_socket = true;
			wait = true;
			continue;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				wait = true;
			else if (errno != EINTR)
				return -1;
			continue;
		}
		wait = c->not_socket;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
conn_flush(struct conn *c)
{
	int r = conn_write_raw(c, c->out.data, c->out.len);

	/*
	 * On failure the connection is finished anyway; what was queued
	 * is dropped rather than resent half-written.
	 */
	buf_reset(&c->out);
	return r;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->out.len + len > CONN_IO_SIZE) {
		if (conn_flush(c) < 0)
			return -1;
		if (len >= CONN_IO_SIZE)
			return conn_write_raw(c, data, len);
	}
	return buf_add(&c->out, data, len);
}

int
conn_read_exact(struct conn *c, size_t len, struct buf *out)
{
	while (len > 0) {
		size_t n;

		if (c->in.len == 0) {
			ssize_t got = conn_fill(c);

			if (got < 0)
				return -1;
			if (got == 0) {
				errno = ECONNRESET;
				return -1;
			}
		}
		n = c->in.len < len ? c->in.len : len;
		if (buf_add(out, c->in.data, n) < 0)
			return -1;
		buf_consume(&c->in, n);
		len -= n;
	}
	return 0;
}
