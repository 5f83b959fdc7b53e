/*
 * smtp_io.h - one outbound SMTP/LMTP connection: buffered line I/O with a
 * deadline per operation, in clear or over TLS.
 *
 * smtp_io.c connects (non-blocking, TCP_NODELAY: we flush whole command
 * groups ourselves) and does the plain socket I/O; smtp_tls.c adds
 * STARTTLS by setting io->ssl, after which every read and write goes
 * through it. Nothing else touches the descriptor. The caller sets
 * io->timeout_ms before each stage (Postfix's smtp_*_timeout).
 */
#ifndef POSTERN_SMTP_IO_H
#define POSTERN_SMTP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define SMTP_IO_LINE_MAX	4096	/* a reply line; longer is an error */

struct ssl_st;

struct smtp_io {
	int fd;
	int timeout_ms;		/* per read or write wait */
	struct ssl_st *ssl;	/* NULL in clear */
	struct buf in;		/* read, not yet consumed */
	struct buf out;		/* queued, not yet written */
	char *peer_name;	/* "mx1.example.com" (for logs and TLS) */
	char *peer_addr;	/* "192.0.2.1" */
	int peer_port;
};

/* Connect to addr (numeric, family AF_INET/AF_INET6) port, or to the
 * Unix socket path (family AF_UNIX, addr ignored), within timeout_ms.
 * The descriptor (non-blocking, close-on-exec), or -1 with errno. */
int smtp_io_connect(int family, const char *addr, int port,
    const char *path, int timeout_ms);
/* Take ownership of a connected fd. */
struct smtp_io *smtp_io_new(int fd, int timeout_ms, const char *peer_name,
    const char *peer_addr, int peer_port);
/* Shut TLS down (if any), close, free. */
void smtp_io_free(struct smtp_io **io_r);
/* Queue bytes; written by smtp_io_flush() (or when the buffer is big). */
int smtp_io_write(struct smtp_io *io, const void *data, size_t len);
int smtp_io_printf(struct smtp_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtp_io_flush(struct smtp_io *io);
/* One line without its CRLF into line (replaced). 0, or -1 with errno
 * ETIMEDOUT, EMSGSIZE (over SMTP_IO_LINE_MAX), ECONNRESET (EOF). */
int smtp_io_read_line(struct smtp_io *io, struct buf *line);
/* Discard buffered input (after STARTTLS: anything a peer sent before
 * the handshake must not be read as TLS-protected). */
void smtp_io_drop_input(struct smtp_io *io);

/* smtp_tls.c: after "220 Ready to start TLS", run the client handshake
 * and check the peer's certificate as p->level asks (verify: a trusted
 * chain and a name from p->match), then log "Verified|Trusted|Untrusted
 * TLS connection established to ...". 0; -1 when the handshake failed
 * (the connection is unusable); -2 when the certificate does not satisfy
 * the policy (do not send mail over it). *error_r (fresh) says why. */
struct smtp_tls_policy;
int smtp_io_starttls(struct smtp_io *io, const struct smtp_tls_policy *p,
    char **error_r);

#endif
