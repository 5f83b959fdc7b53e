/*
 * smtpd_auth.h - the SMTP AUTH command (RFC 4954) with PLAIN (RFC 4616)
 * and LOGIN, and what follows from a successful one.
 *
 * The password is checked by smtpd_sasl.c (Dovecot or postern's sasl
 * daemon), never here; the session waits (SMTPD_WAIT_AUTH) meanwhile and
 * during the delay before a 535, while other sessions are served.
 * Neither the password nor the client's base64 data ever reaches a log
 * line.
 */
#ifndef SMTPD_AUTH_H
#define SMTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rec.h"

struct smtpd_session;

/* AUTH is offered in this session now: smtpd_sasl_auth_enable, TLS
 * active or smtpd_tls_auth_only=no, and not noplaintext. */
bool smtpd_auth_offered(const struct smtpd_session *s);
/* EHLO: append "\r\n250-AUTH PLAIN LOGIN" (and the AUTH= line for
 * broken_sasl_auth_clients) when offered. */
void smtpd_auth_ehlo(const struct smtpd_session *s, struct buf *ehlo);
/* The AUTH command; args is the text after the verb. */
void smtpd_auth_command(struct smtpd_session *s, const char *args);
/* An exchange waits for the client's next line (after a 334). */
bool smtpd_auth_continuing(const struct smtpd_session *s);
/* That line (without its line ending). */
void smtpd_auth_response(struct smtpd_session *s, const char *line);
/* After MAIL was parsed: keep AUTH= only from an authenticated client
 * (RFC 4954 5: otherwise it is as if <> was given). */
void smtpd_auth_mail(struct smtpd_session *s);
/* The protocol for Received and cleanup: SMTP, ESMTP, ESMTPS, ESMTPA or
 * ESMTPSA (RFC 3848). */
const char *smtpd_auth_protocol(const struct smtpd_session *s);
/* Add sasl_user, sasl_sender (MAIL's AUTH=) and, with
 * smtpd_sasl_authenticated_header, sasl_header=1 to the envelope for
 * cleanup. */
void smtpd_auth_envelope(const struct smtpd_session *s, struct rec *env);
/* End the exchange in progress (the session is going away). */
void smtpd_auth_free(struct smtpd_session *s);

/* -- decoding, exposed for tests and fuzzing ------------------------- */

/* Strict base64 (RFC 4648, padding required, no spaces) of in, appended
 * to out. Returns 0, or -1 when malformed or over out's limit. */
int smtpd_auth_base64_decode(const char *in, struct buf *out);
/* Split PLAIN's "authzid NUL authcid NUL password". Returns 0 with three
 * fresh strings, or -1 when there are not exactly two NULs or authcid or
 * password is empty. */
int smtpd_auth_plain_split(const char *data, size_t len, char **authzid_r,
    char **authcid_r, char **password_r);

#endif
