/*
 * smtp_io.c - buffered line I/O for one outbound connection (smtp_io.h).
 *
 * The socket is non-blocking; every read and write first tries, then
 * waits with poll() until io->timeout_ms after the call began (the
 * caller sets the timeout per SMTP stage, as Postfix's smtp_*_timeout).
 * Over TLS the same loops run SSL_read/SSL_write, whose WANT_READ and
 * WANT_WRITE say which way to wait; data OpenSSL has already decrypted
 * is consumed before any wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "mem.h"
#include "smtp_io.h"

#define SMTP_IO_OUT_MAX		(1024 * 1024)	/* flushed before this */
#define SMTP_IO_OUT_FLUSH	(64 * 1024)
#define SMTP_IO_READ		16384

int
smtp_io_connect(int family, const char *addr, int port, const char *path,
    int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, error = 0;
	socklen_t error_len = sizeof(error);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		if (strlen(path) >= sizeof(sun->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, strlen(path) + 1);
		len = sizeof(*sun);
	} else if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (family != AF_UNIX) {
		int on = 1;

		/* We write whole command groups and flush on purpose; Nagle
		 * would hold a small group back for the peer's delayed ACK
		 * (40 ms a message with PIPELINING). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	if (io_wait(fd, POLLOUT, io_now_ms() + timeout_ms) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0)
		goto fail;
	if (error != 0) {
		errno = error;
		goto fail;
	}
	return fd;
fail:
	error = errno;
	close(fd);
	errno = error;
	return -1;
}

struct smtp_io *
smtp_io_new(int fd, int timeout_ms, const char *peer_name,
    const char *peer_addr, int peer_port)
{
	struct smtp_io *io = xcalloc(1, sizeof(*io));

	io->fd = fd;
	io->timeout_ms = timeout_ms;
	buf_init(&io->in, SMTP_IO_LINE_MAX + SMTP_IO_READ);
	buf_init(&io->out, SMTP_IO_OUT_MAX);
	io->peer_name = xstrdup(peer_name);
	io->peer_addr = xstrdup(peer_addr);
	io->peer_port = peer_port;
	io_set_nonblock(fd, true);
	return io;
}

void
smtp_io_free(struct smtp_io **io_r)
{
	struct smtp_io *io = *io_r;

	if (io == NULL)
		return;
	if (io->ssl != NULL) {
		/* One close_notify, no waiting for the peer's. */
		SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
	}
	if (io->fd >= 0)
		close(io->fd);
	buf_release(&io->in);
	buf_release(&io->out);
	free(io->peer_name);
	free(io->peer_addr);
	free(io);
	*io_r = NULL;
}

/* Wait for what an SSL call or a plain EAGAIN asks. */
static int
smtp_io_wait(struct smtp_io *io, short events, int64_t deadline)
{
	return io_wait(io->fd, events, deadline);
}

/* Write up to len bytes: bytes written (> 0), or -1 with errno. */
static ssize_t
smtp_io_send(struct smtp_io *io, const char *data, size_t len,
    int64_t deadline)
{
	for (;;) {
		ssize_t n;
		short wait_for = POLLOUT;

		if (io->ssl != NULL) {
			int r = SSL_write(io->ssl, data, len > INT32_MAX ?
			    INT32_MAX : (int)len);

			if (r > 0)
				return r;
			switch (SSL_get_error(io->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				wait_for = POLLIN;
				break;
			case SSL_ERROR_WANT_WRITE:
				break;
			default:
				ERR_clear_error();
				errno = ECONNRESET;
				return -1;
			}
		} else {
			n = send(io->fd, data, len, MSG_NOSIGNAL);
			if (n >= 0)
				return n;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
		}
		if (smtp_io_wait(io, wait_for, deadline) < 0)
			return -1;
	}
}

int
smtp_io_flush(struct smtp_io *io)
{
	int64_t deadline = io_now_ms() + io->timeout_ms;
	size_t done = 0;

	while (done < io->out.len) {
		ssize_t n = smtp_io_send(io, io->out.data + done,
		    io->out.len - done, deadline);

		if (n < 0) {
			buf_reset(&io->out);
			return -1;
		}
		done += (size_t)n;
	}
	buf_reset(&io->out);
	return 0;
}

int
smtp_io_write(struct smtp_io *io, const void *data, size_t len)
{
	if (io->out.len + len > SMTP_IO_OUT_FLUSH && io->out.len > 0 &&
	    smtp_io_flush(io) < 0)
		return -1;
	if (len > io->out.limit - io->out.len) {
		/* Bigger than the buffer: straight out. */
		int64_t deadline = io_now_ms() + io->timeout_ms;
		size_t done = 0;

		while (done < len) {
			ssize_t n = smtp_io_send(io, (const char *)data + done,
			    len - done, deadline);

			if (n < 0)
				return -1;
			done += (size_t)n;
		}
		return 0;
	}
	return buf_add(&io->out, data, len);
}

int
smtp_io_printf(struct smtp_io *io, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, ret;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	ret = smtp_io_write(io, s, (size_t)n);
	free(s);
	return ret;
}

/* Read more into io->in: bytes read, 0 at EOF, -1 with errno. */
static ssize_t
smtp_io_fill(struct smtp_io *io, int64_t deadline)
{
	if (buf_reserve(&io->in, SMTP_IO_READ) < 0 &&
	    buf_reserve(&io->in, io->in.limit - io->in.len) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (io->in.len >= io->in.limit) {
		errno = EMSGSIZE;
		return -1;
	}
	for (;;) {
		size_t room = io->in.limit - io->in.len;
		short wait_for = POLLIN;
		ssize_t n;

		if (room > SMTP_IO_READ)
			room = SMTP_IO_READ;
		if (io->ssl != NULL) {
			int r = SSL_read(io->ssl, io->in.data + io->in.len,
			    (int)room);

			if (r > 0) {
				buf_commit(&io->in, (size_t)r);
				return r;
			}
			switch (SSL_get_error(io->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				break;
			case SSL_ERROR_WANT_WRITE:
				wait_for = POLLOUT;
				break;
			case SSL_ERROR_ZERO_RETURN:
				return 0;
			default:
				ERR_clear_error();
				errno = ECONNRESET;
				return -1;
			}
		} else {
			n = read(io->fd, io->in.data + io->in.len, room);
			if (n > 0) {
				buf_commit(&io->in, (size_t)n);
				return n;
			}
			if (n == 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
		}
		if (smtp_io_wait(io, wait_for, deadline) < 0)
			return -1;
	}
}

int
smtp_io_read_line(struct smtp_io *io, struct buf *line)
{
	int64_t deadline = io_now_ms() + io->timeout_ms;
	size_t scanned = 0;

	for (;;) {
		char *nl = memchr(io->in.data + scanned, '\n',
		    io->in.len - scanned);

		if (nl != NULL) {
			size_t len = (size_t)(nl - io->in.data);

			if (len > SMTP_IO_LINE_MAX) {
				errno = EMSGSIZE;
				return -1;
			}
			buf_reset(line);
			if (buf_add(line, io->in.data, len > 0 &&
			    nl[-1] == '\r' ? len - 1 : len) < 0)
				return -1;
			buf_consume(&io->in, len + 1);
			return 0;
		}
		scanned = io->in.len;
		if (io->in.len > SMTP_IO_LINE_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		switch (smtp_io_fill(io, deadline)) {
		case -1:
			return -1;
		case 0:
			errno = ECONNRESET;
			return -1;
		default:
			break;
		}
	}
}

void
smtp_io_drop_input(struct smtp_io *io)
{
	buf_reset(&io->in);
}
