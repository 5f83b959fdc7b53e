/*
 * smtpd_tls.h - TLS for smtpd: the server context, STARTTLS (RFC 3207),
 * implicit TLS (smtpd_tls_wrappermode, RFC 8314) and non-blocking SSL
 * reads and writes for smtpd_session.c.
 *
 * The context is made once per process before the jail (the key file is
 * usually readable by root only). A certificate or key that cannot be
 * loaded is one log line naming the file; STARTTLS is then not offered
 * (and a wrappermode service closes each connection) instead of the
 * process exiting, so that mail on port 25 keeps flowing.
 */
#ifndef SMTPD_TLS_H
#define SMTPD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct smtpd_session;

/* pre_jail: read smtpd_tls_* and build the context (logged on failure). */
void smtpd_tls_init(void);
/* smtpd_tls_wrappermode = yes for this service. */
bool smtpd_tls_wrapper(void);
/* smtpd_tls_security_level = encrypt (or wrappermode): no MAIL before
 * TLS is active. */
bool smtpd_tls_required(void);
/* EHLO may offer STARTTLS: a usable context, level may or encrypt, and
 * TLS not active yet. */
bool smtpd_tls_offer(const struct smtpd_session *s);
/* TLS is active on the session (for smtpd_tls_auth_only). */
bool smtpd_tls_active(const struct smtpd_session *s);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" or NULL. */
const char *smtpd_tls_info(const struct smtpd_session *s);

/* The STARTTLS command: its reply; on 220 the session waits
 * (SMTPD_WAIT_TLS) and input already read is thrown away (CVE-2011-0411). */
void smtpd_tls_starttls(struct smtpd_session *s, const char *args);

/* Begin the server handshake on s (after the 220 is written, or at once
 * in wrappermode). Returns 0, or -1 (logged). */
int smtpd_tls_start(struct smtpd_session *s);
/* Drive the handshake: 1 done (logged, s->tls_info set, session state
 * reset for a STARTTLS), 0 in progress (s->tls_want says which event to
 * wait for), -1 failed (logged; close the session). */
int smtpd_tls_handshake(struct smtpd_session *s);
/* Non-blocking SSL I/O: bytes moved, 0 at the client's close_notify or
 * EOF, or -1 with errno EAGAIN (s->tls_want set when the other direction
 * is needed) or EIO. */
ssize_t smtpd_tls_read(struct smtpd_session *s, void *buf, size_t size);
ssize_t smtpd_tls_write(struct smtpd_session *s, const void *buf,
    size_t size);
/* Decrypted bytes waiting inside OpenSSL (no epoll event will come). */
bool smtpd_tls_pending(const struct smtpd_session *s);
/* A client that talks before the greeting (wrappermode): true when
 * application data is already waiting. */
bool smtpd_tls_early_talker(struct smtpd_session *s);
/* Send close_notify (best effort) and free the connection state. */
void smtpd_tls_close(struct smtpd_session *s);

#endif
