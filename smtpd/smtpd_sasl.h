/*
 * smtpd_sasl.h - ask a password backend, without blocking, whether a
 * username and password are right.
 *
 * smtpd never checks a password in its own address space. Two backends,
 * chosen by smtpd_sasl_type:
 * - dovecot: Dovecot's auth client protocol on the unix socket named by
 *   smtpd_sasl_path (relative to queue_directory, smtpd's chroot: the
 *   Postfix convention is private/auth). One connection per smtpd
 *   process, requests multiplexed by id, reconnected after a failure.
 * - cyrus: postern's sasl daemon (sasl/, libsasl2) on PROTO_SASL_PATH,
 *   the sasl/1 conversation of lib/proto.h, one connection per check.
 * Both are clients on the event loop; the owner's callback runs from the
 * loop only, never from inside smtpd_sasl_check().
 */
#ifndef SMTPD_SASL_H
#define SMTPD_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

enum smtpd_sasl_result {
	SMTPD_SASL_OK,		/* right password */
	SMTPD_SASL_FAIL,	/* wrong: 535 */
	SMTPD_SASL_TEMP,	/* backend unavailable: 454 */
};

/* result; user: the backend's canonical name on OK (else NULL); reason:
 * for the log (never the password), may be NULL. Both valid only during
 * the call. */
typedef void (*smtpd_sasl_fn)(void *ctx, enum smtpd_sasl_result result,
    const char *user, const char *reason);

/* What the backend may want to know about the session. */
struct smtpd_sasl_info {
	const char *mechanism;	/* "PLAIN" or "LOGIN", for the log */
	const char *client_addr;
	const char *local_addr;	/* may be NULL */
	bool secured;		/* TLS is active */
};

struct smtpd_sasl_request;

/* Start a check of user/password. Returns a handle owned by this module
 * until the callback has run or smtpd_sasl_cancel() is called; fn is
 * called exactly once unless cancelled. The password is copied and wiped
 * after use. */
struct smtpd_sasl_request *smtpd_sasl_check(struct event_loop *loop,
    const struct smtpd_sasl_info *info, const char *user,
    const char *password, smtpd_sasl_fn fn, void *ctx);
/* Forget a pending request (the session ended); fn will not be called. */
void smtpd_sasl_cancel(struct smtpd_sasl_request **r_r);

/* -- the Dovecot auth client protocol, exposed for tests ------------- */

enum smtpd_sasl_dovecot_kind {
	SMTPD_SASL_DOVECOT_OTHER,	/* handshake lines, unknown words */
	SMTPD_SASL_DOVECOT_VERSION,	/* VERSION major minor */
	SMTPD_SASL_DOVECOT_DONE,	/* end of the handshake */
	SMTPD_SASL_DOVECOT_OK,
	SMTPD_SASL_DOVECOT_FAIL,
	SMTPD_SASL_DOVECOT_CONT,
};

struct smtpd_sasl_dovecot_reply {
	enum smtpd_sasl_dovecot_kind kind;
	unsigned long id;	/* OK, FAIL, CONT */
	unsigned long major;	/* VERSION */
	char *user;		/* user= (unescaped) or NULL */
	char *reason;		/* reason= (unescaped, printable), NULL */
	bool temp;		/* FAIL with "temp" */
};

/* Parse one server line (without its newline). Returns 0, or -1 when the
 * line is malformed (a bad id, a bad version, an over-long field). */
int smtpd_sasl_dovecot_parse(const char *line,
    struct smtpd_sasl_dovecot_reply *out);
void smtpd_sasl_dovecot_release(struct smtpd_sasl_dovecot_reply *r);

/* base64 of len bytes (a fresh string). */
char *smtpd_sasl_base64(const void *data, size_t len);

#endif
