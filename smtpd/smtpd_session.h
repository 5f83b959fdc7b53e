/*
 * smtpd_session.h - one SMTP session on the shared event loop.
 *
 * A session is this struct, two small buffers and two timers: an idle
 * greeted session costs about a kilobyte. smtpd_session.c owns the I/O
 * (non-blocking reads and writes, timeouts, error sleeps, streaming of
 * DATA and BDAT content to cleanup); smtpd_proto.c owns the commands.
 * Nothing here blocks: a session waiting for cleanup or sleeping after
 * errors is paused and the loop serves the others.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "smtpd_anvil.h"
#include "smtpd_cleanup.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"

struct ssl_st;

#define SMTPD_LINE_MAX	2048	/* a longer command line gets 500 */

enum smtpd_session_state {
	SMTPD_STATE_GREET,	/* waiting smtpd_greet_pause */
	SMTPD_STATE_COMMAND,
	SMTPD_STATE_DATA,	/* reading DATA content */
	SMTPD_STATE_BDAT,	/* reading a BDAT chunk */
};

enum smtpd_session_wait {
	SMTPD_WAIT_NONE,
	SMTPD_WAIT_DATA_END,	/* cleanup's final reply */
	SMTPD_WAIT_SLEEP,	/* smtpd_error_sleep_time */
	SMTPD_WAIT_TLS,		/* STARTTLS or wrappermode handshake */
	SMTPD_WAIT_AUTH,	/* AUTH: the password backend, or the delay
				 * before 535 (smtpd_auth.c) */
	SMTPD_WAIT_ANVIL,	/* the limits: anvil's answer (smtpd_anvil.c) */
};

struct smtpd_session {
	struct event_loop *loop;
	int fd;
	enum smtpd_session_state state;
	enum smtpd_session_wait wait;
	bool closing;		/* close once the output is written */
	bool eof;		/* the client closed its side */
	bool discard_line;	/* inside an over-long command line */
	struct buf in;
	struct buf out;
	struct event_timer timeout;
	struct event_timer sleep;
	char *client_name;
	char *client_addr;
	char *client_port;
	char *helo;
	bool esmtp;
	char *client_reject;	/* smtpd_delay_reject=no: connect verdict */
	const char *last_command;	/* for "timeout after DATA" */
	int errors;
	int junk;		/* NOOP, RSET, VRFY: see smtpd_junk_command_limit */
	/* The mail transaction. */
	bool have_mail;
	struct smtpd_mail mail;
	struct smtpd_rcpt *rcpts;
	size_t rcpt_count;
	size_t rcpt_cap;
	size_t rcpt_attempts;
	struct smtpd_cleanup *cleanup;
	bool qid_logged;
	struct smtpd_data data;
	struct buf *content;	/* decoded content on its way to cleanup */
	bool bdat;		/* this transaction uses BDAT */
	uint64_t bdat_remaining;
	bool bdat_last;
	char *bdat_error;	/* discard chunks, answer this */
	/* TLS: true once the handshake is done (STARTTLS or port 465). */
	bool tls_active;
	/* TLS I/O (smtpd_tls.c): the connection (NULL: plaintext), the
	 * EVENT_* an SSL call waits for beyond the usual ones, and
	 * "TLSv1.3 with cipher ... (256/256 bits)" once active. */
	struct ssl_st *tls;
	int tls_want;
	char *tls_info;
	/* SASL AUTH (smtpd_auth.c): the exchange in progress, and the
	 * authenticated user and mechanism (NULL until AUTH succeeds). */
	struct smtpd_auth *auth;
	char *sasl_user;
	char *sasl_method;
	/* Abuse limits (smtpd_anvil.c). */
	struct smtpd_anvil_session anvil;
	/* Statistics for the disconnect line: [verb][0] ok, [verb][1] all. */
	int stat_verb;
	unsigned stats[SMTPD_VERB_COUNT][2];
};

/* The event server's entry: take over the accepted, non-blocking fd. */
void smtpd_session_new(struct event_loop *loop, int fd);

/* For smtpd_proto.c. */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Close after the pending replies are written. */
void smtpd_session_hangup(struct smtpd_session *s);
/* Forget the mail transaction (aborting any cleanup stream). */
void smtpd_session_reset(struct smtpd_session *s);
/* Open the cleanup stream for the transaction: 0, or -1 (logged; the
 * caller answers 451). */
int smtpd_session_open_cleanup(struct smtpd_session *s);
/* DATA: answer 354 and read the content. */
void smtpd_session_start_data(struct smtpd_session *s);
/* BDAT: read size bytes of content (discarded when bdat_error is set). */
void smtpd_session_start_bdat(struct smtpd_session *s, uint64_t size,
    bool last);
/* "NOQUEUE: reject: RCPT from name[addr]: REPLY; from=<> to=<> proto=
 * helo=<>" (qid instead of NOQUEUE once known). */
void smtpd_session_log_reject(struct smtpd_session *s, const char *stage,
    const char *reply, const char *recipient);

/* Run the session again after a wait ended (an AUTH check answered):
 * process pending input, write replies. May free s. */
void smtpd_session_wake(struct smtpd_session *s);

/* smtpd_anvil.c: anvil answered; send the greeting if it waited, then
 * run the session. May free s. */
void smtpd_session_anvil_done(struct smtpd_session *s);

/* smtpd_proto.c: run one command line (without its line ending). */
void smtpd_proto_command(struct smtpd_session *s, const char *line);
/* smtpd_proto.c: the greeting, or the early-talker rejection. */
void smtpd_proto_greet(struct smtpd_session *s, bool early_talker);

#endif
