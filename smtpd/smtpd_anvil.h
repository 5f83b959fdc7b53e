/*
 * smtpd_anvil.h - per-client abuse limits: ask anvil without blocking.
 *
 * The anvil/1 conversation of lib/proto.h on the event loop: one
 * connection per smtpd process to private/anvil, requests queued and
 * answered in order, reconnected on the next request after a failure.
 * When anvil cannot be reached or does not answer within a few seconds,
 * smtpd warns once and applies no limits (as Postfix does), so a dead
 * anvil never stops mail.
 *
 * A session waits (SMTPD_WAIT_ANVIL) for anvil's answer at connect
 * (during smtpd_greet_pause when there is one; after the handshake with
 * implicit TLS), and before MAIL, RCPT, AUTH and STARTTLS when their
 * limit is on. Clients matching
 * smtpd_client_event_limit_exceptions (mynetworks by default) are never
 * counted. Over a limit smtpd answers as Postfix does, with 4.7.0 as the
 * issue asks, and logs Postfix's warning, e.g.
 *   warning: Connection rate limit exceeded: 31 from unknown[1.2.3.4]
 *   for service smtp
 */
#ifndef SMTPD_ANVIL_H
#define SMTPD_ANVIL_H

#include <stdbool.h>

struct smtpd_session;
struct smtpd_anvil_request;

/* A session's anvil state; part of struct smtpd_session, zeroed. */
struct smtpd_anvil_session {
	int exempt;		/* 0 not known yet, 1 exempt, -1 counted */
	bool connected;		/* connect counted: disconnect at the end */
	bool greet_due;		/* the greeting waits for the answer */
	bool recheck;		/* the held command passed: run it */
	int verb;		/* of the held command */
	char *line;		/* the command held while anvil answers */
	struct smtpd_anvil_request *pending;
};

/* Before the jail: open smtpd_client_event_limit_exceptions. */
void smtpd_anvil_init(void);
/* A new session: count it; may set s->wait = SMTPD_WAIT_ANVIL. */
void smtpd_anvil_connect(struct smtpd_session *s);
/* smtpd_session_greet(): true when the greeting must wait for anvil
 * (smtpd_anvil then greets through smtpd_session_resume()). */
bool smtpd_anvil_greet_wait(struct smtpd_session *s);
/* Before a command runs: true when smtpd_anvil took it (it asks anvil,
 * then answers 450/421 itself or runs the command again with
 * smtpd_proto_command()). verb is the command's enum smtpd_verb. */
bool smtpd_anvil_gate(struct smtpd_session *s, int verb, const char *line);
/* An AUTH command failed (wrong password): count it. The next AUTH from
 * this client is refused with 421 once smtpd_client_auth_failure_limit
 * failures are counted. */
void smtpd_anvil_auth_failed(struct smtpd_session *s);
/* A TLS handshake that did not resume a session finished: count it for
 * smtpd_client_new_tls_session_rate_limit (checked before STARTTLS, and
 * for implicit TLS right after the handshake, with the connection). */
void smtpd_anvil_new_tls(struct smtpd_session *s);
/* The session ends: cancel its request, report the disconnect. */
void smtpd_anvil_end(struct smtpd_session *s);

#endif
