/*
 * smtpd_session.c - the I/O side of an SMTP session (see smtpd_session.h).
 *
 * Input is read into s->in (never more than SMTPD_IN_HIGH waiting), then
 * consumed as command lines, DATA content (smtpd_data.c decides where it
 * ends) or BDAT chunk bytes. Replies collect in s->out and are written
 * when the input holds no further complete command, so a pipelining
 * client gets its replies in one packet. Reading stops while a session
 * waits (cleanup, error sleep), while cleanup has more than
 * SMTPD_CLEANUP_HIGH bytes of ours to read, and while the client does not
 * read our replies.
 *
 * Every wait has the smtpd_timeout timer; it is re-armed whenever the
 * client makes progress. A timeout answers "421 4.4.2 ... timeout
 * exceeded" and closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "rec.h"
#include "server.h"
#include "smtpd_auth.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"

#define SMTPD_READ_SIZE	16384
#define SMTPD_IN_HIGH	16384	/* stop reading with this much unread */
#define SMTPD_IN_MAX	(64 * 1024)
#define SMTPD_OUT_HIGH	(64 * 1024)	/* client not reading replies */
#define SMTPD_OUT_MAX	(1024 * 1024)
#define SMTPD_CONTENT_MAX	(4 * SMTPD_READ_SIZE)

static void smtpd_session_event(int fd, int events, void *ctx);
static void smtpd_session_run(struct smtpd_session *s);
static void smtpd_session_timeout(void *ctx);
static void smtpd_session_begin(struct smtpd_session *s);
static void smtpd_session_read(struct smtpd_session *s);

static void
smtpd_session_timeout_rearm(struct smtpd_session *s)
{
	long long t = config_get_time("smtpd_timeout");

	if (t <= 0)
		t = 300;
	event_timer_set(s->loop, &s->timeout, t * 1000,
	    smtpd_session_timeout, s);
}

void
smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;
	int code;

	va_start(ap, fmt);
	if (buf_vprintf(&s->out, fmt, ap) < 0 ||
	    buf_add(&s->out, "\r\n", 2) < 0) {
		/* The client sends commands but never reads: give up. */
		va_end(ap);
		buf_truncate(&s->out, start);
		s->closing = true;
		return;
	}
	va_end(ap);
	code = atoi(s->out.data + start);
	if (code == 354 || code == 334)	/* DATA, AUTH: more to come */
		return;
	if (s->stat_verb >= 0) {
		s->stats[s->stat_verb][1]++;
		if (code < 400)
			s->stats[s->stat_verb][0]++;
		s->stat_verb = -1;
	}
	if (code >= 400 && code != 421)
		s->errors++;
}

void
smtpd_session_hangup(struct smtpd_session *s)
{
	s->closing = true;
}

static void
smtpd_buf_shrink(struct buf *b)
{
	struct buf fresh;

	if (b->cap <= 4096 || b->len > 1024)
		return;
	buf_init(&fresh, b->limit);
	(void)buf_add(&fresh, b->data, b->len);
	buf_release(b);
	*b = fresh;
}

void
smtpd_session_reset(struct smtpd_session *s)
{
	size_t i;

	smtpd_cleanup_close(&s->cleanup);
	smtpd_mail_release(&s->mail);
	for (i = 0; i < s->rcpt_count; i++)
		smtpd_rcpt_release(&s->rcpts[i]);
	xfree(&s->rcpts);
	s->rcpt_count = s->rcpt_cap = s->rcpt_attempts = 0;
	s->have_mail = false;
	s->qid_logged = false;
	buf_free(&s->content);
	s->bdat = false;
	s->bdat_remaining = 0;
	s->bdat_last = false;
	xfree(&s->bdat_error);
	if (s->state == SMTPD_STATE_DATA || s->state == SMTPD_STATE_BDAT)
		s->state = SMTPD_STATE_COMMAND;
	smtpd_buf_shrink(&s->in);
	smtpd_buf_shrink(&s->out);
}

void
smtpd_session_log_reject(struct smtpd_session *s, const char *stage,
    const char *reply, const char *recipient)
{
	const char *qid = s->cleanup ? smtpd_cleanup_qid(s->cleanup) : NULL;
	struct buf line;

	buf_init(&line, 4096);
	(void)buf_printf(&line, "%s: reject: %s from %s[%s]: %s;",
	    qid ? qid : "NOQUEUE", stage, s->client_name, s->client_addr,
	    reply);
	if (s->have_mail)
		(void)buf_printf(&line, " from=<%s>", s->mail.sender);
	if (recipient != NULL)
		(void)buf_printf(&line, " to=<%s>", recipient);
	(void)buf_printf(&line, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
	if (s->helo != NULL)
		(void)buf_printf(&line, " helo=<%s>", s->helo);
	log_info("%s", line.data);
	buf_release(&line);
}

/* -- cleanup ------------------------------------------------------------ */

/* Act on cleanup's progress; never runs the session (callers do). */
static void
smtpd_session_cleanup_update(struct smtpd_session *s)
{
	enum smtpd_cleanup_state st;
	const char *qid;

	if (s->cleanup == NULL)
		return;
	st = smtpd_cleanup_state(s->cleanup);
	qid = smtpd_cleanup_qid(s->cleanup);
	if (qid != NULL && !s->qid_logged) {
		s->qid_logged = true;
		if (s->sasl_user != NULL)
			log_info("%s: client=%s[%s], sasl_method=%s, "
			    "sasl_username=%s%s%s", qid, s->client_name,
			    s->client_addr, s->sasl_method, s->sasl_user,
			    s->mail.auth != NULL ? ", sasl_sender=" : "",
			    s->mail.auth != NULL ? s->mail.auth : "");
		else
			log_info("%s: client=%s[%s]", qid, s->client_name,
			    s->client_addr);
	}
	if (s->wait == SMTPD_WAIT_DATA_END) {
		if (st == SMTPD_CLEANUP_DONE || st == SMTPD_CLEANUP_FAILED) {
			const char *reply = smtpd_cleanup_reply(s->cleanup);

			if (st == SMTPD_CLEANUP_DONE) {
				log_info("%s: from=<%s>, nrcpt=%zu, size=%zu, "
				    "accepted", qid, s->mail.sender,
				    s->rcpt_count, s->data.size);
				s->errors = 0;
			} else {
				smtpd_session_log_reject(s, "END-OF-MESSAGE",
				    reply, s->rcpt_count > 0 ?
				    s->rcpts[0].address : NULL);
			}
			smtpd_reply(s, "%s", reply);
			s->wait = SMTPD_WAIT_NONE;
			smtpd_session_reset(s);
		}
	}
}

static void
smtpd_session_cleanup_event(void *ctx)
{
	struct smtpd_session *s = ctx;

	smtpd_session_cleanup_update(s);
	smtpd_session_run(s);
}

int
smtpd_session_open_cleanup(struct smtpd_session *s)
{
	struct rec *env = rec_new();
	size_t i;

	rec_put(env, "proto", PROTO_CLEANUP);
	rec_put(env, "origin", "smtpd");
	rec_put(env, "sender", s->mail.sender);
	rec_put(env, "client_name", s->client_name);
	rec_put(env, "client_addr", s->client_addr);
	rec_put(env, "client_port", s->client_port);
	if (s->helo != NULL)
		rec_put(env, "helo", s->helo);
	rec_put(env, "protocol", smtpd_auth_protocol(s));
	smtpd_auth_envelope(s, env);
	if (s->tls_active && config_get_bool("smtpd_tls_received_header"))
		rec_put(env, "tls", s->tls_info);
	if (s->mail.ret != NULL)
		rec_put(env, "ret", s->mail.ret);
	if (s->mail.envid != NULL)
		rec_put(env, "envid", s->mail.envid);
	if (s->mail.body != NULL)
		rec_put(env, "body", s->mail.body);
	rec_put(env, "smtputf8", s->mail.smtputf8 ? "1" : "0");
	for (i = 0; i < s->rcpt_count; i++) {
		rec_put(env, "rcpt", s->rcpts[i].address);
		if (s->rcpts[i].orcpt != NULL)
			rec_put(env, "orcpt", s->rcpts[i].orcpt);
		if (s->rcpts[i].notify != NULL)
			rec_put(env, "notify", s->rcpts[i].notify);
	}
	s->cleanup = smtpd_cleanup_open(s->loop, env,
	    smtpd_session_cleanup_event, s);
	rec_free(&env);
	if (s->cleanup == NULL)
		return -1;
	s->content = buf_new(SMTPD_CONTENT_MAX);
	return 0;
}

void
smtpd_session_start_data(struct smtpd_session *s)
{
	/* Not waiting for cleanup: it hears of the message with its
	 * content, and a failure of its own is the reply to the end. */
	s->state = SMTPD_STATE_DATA;
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void
smtpd_session_start_bdat(struct smtpd_session *s, uint64_t size, bool last)
{
	s->state = SMTPD_STATE_BDAT;
	s->bdat_remaining = size;
	s->bdat_last = last;
}

/* Hand decoded content to cleanup. */
static void
smtpd_session_push_content(struct smtpd_session *s)
{
	if (s->cleanup != NULL && s->content->len > 0)
		smtpd_cleanup_write(s->cleanup, s->content->data,
		    s->content->len);
	buf_reset(s->content);
}

/* The end of DATA or of the LAST chunk: reject, or wait for cleanup. */
static void
smtpd_session_end_content(struct smtpd_session *s, const char *stage)
{
	const char *error = smtpd_data_error(&s->data);

	s->state = SMTPD_STATE_COMMAND;
	if (error == NULL && s->bdat_error != NULL)
		error = s->bdat_error;
	if (error == NULL && (s->cleanup == NULL ||
	    smtpd_cleanup_state(s->cleanup) == SMTPD_CLEANUP_FAILED)) {
		if (s->cleanup != NULL) {
			/* cleanup said no (header_checks, hop count). */
			s->wait = SMTPD_WAIT_DATA_END;
			smtpd_session_cleanup_update(s);
			return;
		}
		error = "451 4.3.0 Error: queue file write error";
	}
	if (error != NULL) {
		/* Bare <LF>/<CR>, too big: Postfix's one "QUEUEID: reject:
		 * END-OF-MESSAGE from name[addr]: ..." line says it all. */
		smtpd_session_log_reject(s, stage, error, s->rcpt_count > 0 ?
		    s->rcpts[0].address : NULL);
		smtpd_reply(s, "%s", error);
		smtpd_session_reset(s);	/* closes cleanup: an abort */
		return;
	}
	smtpd_cleanup_finish(s->cleanup);
	s->wait = SMTPD_WAIT_DATA_END;
	if (smtpd_cleanup_state(s->cleanup) == SMTPD_CLEANUP_FAILED)
		smtpd_session_cleanup_update(s);
}

static bool
smtpd_session_cleanup_full(const struct smtpd_session *s)
{
	return s->cleanup != NULL &&
	    smtpd_cleanup_pending(s->cleanup) >= SMTPD_CLEANUP_HIGH;
}

/* Consume DATA content from s->in. */
static void
smtpd_session_data(struct smtpd_session *s)
{
	bool done = false;
	long used;

	while (s->in.len > 0 && !done && !smtpd_session_cleanup_full(s)) {
		size_t n = s->in.len > SMTPD_READ_SIZE ? SMTPD_READ_SIZE :
		    s->in.len;

		used = smtpd_data_feed(&s->data, s->in.data, n, s->content,
		    &done);
		if (used < 0)
			log_panic("content buffer too small");
		buf_consume(&s->in, (size_t)used);
		smtpd_session_push_content(s);
	}
	if (done)
		smtpd_session_end_content(s, "END-OF-MESSAGE");
}

/* Consume BDAT chunk bytes from s->in. */
static void
smtpd_session_bdat(struct smtpd_session *s)
{
	while (s->bdat_remaining > 0 && s->in.len > 0 &&
	    !smtpd_session_cleanup_full(s)) {
		size_t n = s->in.len > SMTPD_READ_SIZE ? SMTPD_READ_SIZE :
		    s->in.len;

		if (n > s->bdat_remaining)
			n = (size_t)s->bdat_remaining;
		if (s->bdat_error == NULL) {
			if (smtpd_data_bdat(&s->data, s->in.data, n,
			    s->content) < 0)
				log_panic("content buffer too small");
			smtpd_session_push_content(s);
		}
		buf_consume(&s->in, n);
		s->bdat_remaining -= n;
	}
	if (s->bdat_remaining > 0)
		return;
	if (s->bdat_error == NULL && smtpd_data_error(&s->data) != NULL &&
	    s->data.too_big) {
		s->bdat_error = xstrdup(smtpd_data_error(&s->data));
		smtpd_cleanup_close(&s->cleanup);
	}
	if (s->bdat_error == NULL && s->cleanup != NULL &&
	    smtpd_cleanup_state(s->cleanup) == SMTPD_CLEANUP_FAILED) {
		s->bdat_error = xstrdup(smtpd_cleanup_reply(s->cleanup));
		smtpd_cleanup_close(&s->cleanup);
	}
	if (s->bdat_last) {
		if (s->bdat_error == NULL)
			(void)smtpd_data_bdat_end(&s->data, s->content);
		if (s->content != NULL)
			smtpd_session_push_content(s);
		smtpd_session_end_content(s, "END-OF-MESSAGE");
		return;
	}
	s->state = SMTPD_STATE_COMMAND;
	if (s->bdat_error != NULL)
		smtpd_reply(s, "%s", s->bdat_error);
	else
		smtpd_reply(s, "250 2.0.0 Ok: %zu bytes", s->data.size);
}

/* -- commands ----------------------------------------------------------- */

/* Client input for a log line, as Postfix shows it (CR, LF and TAB as
 * \r \n \t, other unprintable bytes as '?'), but only its first line and
 * at most max bytes ("..." when there is more), and of an AUTH command
 * only the mechanism: a pipelined or over-long AUTH must not put its
 * payload in the log. */
static char *
smtpd_session_shown(const char *data, size_t len, size_t max)
{
	struct buf *b = buf_new(512);
	const char *nl = memchr(data, '\n', len);
	size_t i, show = nl != NULL ? (size_t)(nl - data) + 1 : len;
	char *shown;

	if (show >= 4 && strncasecmp(data, "AUTH", 4) == 0 &&
	    (show == 4 || data[4] == ' ' || data[4] == '\r' ||
	    data[4] == '\n')) {
		i = 4;
		while (i < show && data[i] == ' ')
			i++;
		while (i < show && data[i] != ' ' && data[i] != '\r' &&
		    data[i] != '\n')
			i++;
		show = i;	/* "AUTH PLAIN" */
	}
	for (i = 0; i < show && i < max; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\r')
			(void)buf_add_str(b, "\\r");
		else if (c == '\n')
			(void)buf_add_str(b, "\\n");
		else if (c == '\t')
			(void)buf_add_str(b, "\\t");
		else
			(void)buf_add_char(b, c < 0x20 || c >= 0x7f ? '?' :
			    (char)c);
	}
	if (i < len)
		(void)buf_add_str(b, "...");
	shown = buf_strdup(b);
	buf_free(&b);
	return shown;
}

/* Postfix's line for a command line over the limit (the session answers
 * 500 at its end). */
static void
smtpd_session_log_long(struct smtpd_session *s)
{
	/* Inside an AUTH exchange the line is a credential: not shown. */
	char *shown = smtpd_auth_continuing(s) ? xstrdup("...") :
	    smtpd_session_shown(s->in.data, s->in.len, 30);

	log_warn("%s[%s]: request longer than %d: %s", s->client_name,
	    s->client_addr, SMTPD_LINE_MAX, shown);
	xfree(&shown);
}

/* RFC 2920 3.1: HELO, EHLO, DATA, NOOP and VRFY end a pipelined group, so
 * input behind them, sent before their reply, is a client that does not
 * wait for replies (spamware; in DATA's case content sent before 354).
 * Logged in Postfix's words, which fail2ban and logwatch know; nothing
 * else changes (Postfix rejects only with reject_unauth_pipelining). */
static void
smtpd_session_check_pipelining(struct smtpd_session *s,
    enum smtpd_verb verb)
{
	static const struct {
		enum smtpd_verb verb;
		const char *name;
	} last[] = {
		{ SMTPD_VERB_HELO, "HELO" }, { SMTPD_VERB_EHLO, "EHLO" },
		{ SMTPD_VERB_DATA, "DATA" }, { SMTPD_VERB_NOOP, "NOOP" },
		{ SMTPD_VERB_VRFY, "VRFY" },
	};
	char *shown;
	size_t i;

	if (s->in.len == 0 || s->closing)
		return;
	for (i = 0; i < sizeof(last) / sizeof(last[0]); i++)
		if (last[i].verb == verb)
			break;
	if (i == sizeof(last) / sizeof(last[0]))
		return;
	shown = smtpd_session_shown(s->in.data, s->in.len, 100);
	log_info("improper command pipelining after %s from %s[%s]: %s",
	    last[i].name, s->client_name, s->client_addr, shown);
	xfree(&shown);
}

/* Take one command line from s->in. Returns false when none is complete. */
static bool
smtpd_session_command(struct smtpd_session *s)
{
	char *nl = memchr(s->in.data, '\n', s->in.len);
	enum smtpd_verb verb;
	const char *args;
	size_t len;
	char *line;

	if (nl == NULL) {
		if (s->in.len > SMTPD_LINE_MAX) {
			/* Drop what we have; answer at the line's end. */
			if (!s->discard_line)
				smtpd_session_log_long(s);
			s->discard_line = true;
			buf_reset(&s->in);
		}
		return false;
	}
	len = (size_t)(nl - s->in.data);
	if (s->discard_line || len > SMTPD_LINE_MAX) {
		if (!s->discard_line)
			smtpd_session_log_long(s);
		s->discard_line = false;
		buf_consume(&s->in, len + 1);
		s->stat_verb = -1;
		if (smtpd_auth_continuing(s)) {
			/* RFC 4954 4: the exchange ends here. */
			smtpd_auth_free(s);
			s->stat_verb = SMTPD_VERB_AUTH;
			smtpd_reply(s, "500 5.5.6 Authentication Exchange line "
			    "is too long");
			return true;
		}
		smtpd_reply(s, "500 5.5.2 Error: line too long");
		return true;
	}
	if (len > 0 && s->in.data[len - 1] == '\r')
		len--;
	if (memchr(s->in.data, '\0', len) != NULL) {
		/* A NUL would cut the line short where we look and not
		 * where the client meant: refuse the whole line. */
		buf_consume(&s->in, (size_t)(nl - s->in.data) + 1);
		s->stat_verb = SMTPD_VERB_UNKNOWN;
		smtpd_reply(s, "500 5.5.2 Error: bad syntax");
		return true;
	}
	line = xstrndup(s->in.data, len);
	buf_consume(&s->in, (size_t)(nl - s->in.data) + 1);
	verb = smtpd_auth_continuing(s) ? SMTPD_VERB_UNKNOWN :
	    smtpd_cmd_verb(line, &args);
	smtpd_proto_command(s, line);
	xfree(&line);
	smtpd_session_check_pipelining(s, verb);
	return true;
}

static void
smtpd_session_sleep_done(void *ctx)
{
	struct smtpd_session *s = ctx;

	s->wait = SMTPD_WAIT_NONE;
	smtpd_session_timeout_rearm(s);
	smtpd_session_run(s);
}

/* After an error reply: the hard limit closes, the soft limit sleeps. */
static bool
smtpd_session_error_limits(struct smtpd_session *s)
{
	long long hard = config_get_int("smtpd_hard_error_limit");
	long long soft = config_get_int("smtpd_soft_error_limit");
	long long pause = config_get_time("smtpd_error_sleep_time");

	if (hard > 0 && s->errors >= hard) {
		log_info("too many errors after %s from %s[%s]",
		    s->last_command ? s->last_command : "CONNECT",
		    s->client_name, s->client_addr);
		smtpd_reply(s, "421 4.7.0 %s Error: too many errors",
		    config_get("myhostname"));
		s->closing = true;
		return true;
	}
	if (s->errors > soft && pause > 0) {
		s->wait = SMTPD_WAIT_SLEEP;
		event_timer_set(s->loop, &s->sleep, pause * 1000,
		    smtpd_session_sleep_done, s);
		return true;
	}
	return false;
}

/* Consume input as far as the state allows. */
static void
smtpd_session_process(struct smtpd_session *s)
{
	while (!s->closing && s->wait == SMTPD_WAIT_NONE) {
		int errors = s->errors;

		switch (s->state) {
		case SMTPD_STATE_GREET:
			return;
		case SMTPD_STATE_COMMAND:
			if (!smtpd_session_command(s))
				return;
			break;
		case SMTPD_STATE_DATA:
			if (s->in.len == 0 || smtpd_session_cleanup_full(s))
				return;
			smtpd_session_data(s);
			break;
		case SMTPD_STATE_BDAT:
			if ((s->in.len == 0 && s->bdat_remaining > 0) ||
			    smtpd_session_cleanup_full(s))
				return;
			smtpd_session_bdat(s);
			break;
		}
		if (s->errors > errors && smtpd_session_error_limits(s))
			return;
	}
}

/* Write replies; false when the connection is broken. */
static bool
smtpd_session_flush(struct smtpd_session *s)
{
	if (s->wait == SMTPD_WAIT_TLS && s->tls != NULL)
		return true;	/* nothing to say during the handshake */
	while (s->out.len > 0) {
		ssize_t n = s->tls != NULL ?
		    smtpd_tls_write(s, s->out.data, s->out.len) :
		    send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&s->out, (size_t)n);
			smtpd_session_timeout_rearm(s);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	return true;
}

static void
smtpd_session_free(struct smtpd_session *s)
{
	struct buf line;
	unsigned ok = 0, all = 0;
	int v;

	if (s->cleanup != NULL && s->wait != SMTPD_WAIT_DATA_END)
		log_info("%s: lost connection with %s[%s] during the "
		    "transaction", smtpd_cleanup_qid(s->cleanup) ?
		    smtpd_cleanup_qid(s->cleanup) : "NOQUEUE",
		    s->client_name, s->client_addr);
	buf_init(&line, 1024);
	(void)buf_printf(&line, "disconnect from %s[%s]", s->client_name,
	    s->client_addr);
	/* Postfix's order: the known commands, then "unknown". */
	for (int i = 1; i <= SMTPD_VERB_COUNT; i++) {
		v = i % SMTPD_VERB_COUNT;
		if (s->stats[v][1] == 0)
			continue;
		ok += s->stats[v][0];
		all += s->stats[v][1];
		if (s->stats[v][0] == s->stats[v][1])
			(void)buf_printf(&line, " %s=%u", smtpd_cmd_name(v),
			    s->stats[v][1]);
		else
			(void)buf_printf(&line, " %s=%u/%u",
			    smtpd_cmd_name(v), s->stats[v][0], s->stats[v][1]);
	}
	if (ok == all)
		(void)buf_printf(&line, " commands=%u", all);
	else
		(void)buf_printf(&line, " commands=%u/%u", ok, all);
	log_info("%s", line.data);
	buf_release(&line);

	smtpd_session_reset(s);
	smtpd_auth_free(s);
	smtpd_anvil_end(s);
	event_timer_cancel(s->loop, &s->timeout);
	event_timer_cancel(s->loop, &s->sleep);
	event_del(s->loop, s->fd);
	smtpd_tls_close(s);
	close(s->fd);
	buf_release(&s->in);
	buf_release(&s->out);
	xfree(&s->client_name);
	xfree(&s->client_addr);
	xfree(&s->client_port);
	xfree(&s->helo);
	xfree(&s->client_reject);
	xfree(&s->sasl_user);
	xfree(&s->sasl_method);
	xfree(&s);
	server_session_done();
}

/* SMTPD_WAIT_TLS: once the 220 to STARTTLS is out (or at once in
 * wrappermode), drive the handshake; then greet (wrappermode) or go on
 * reading commands. May free s. */
static void
smtpd_session_tls(struct smtpd_session *s)
{
	int r;

	if (s->tls == NULL && s->out.len > 0) {
		(void)event_mod(s->loop, s->fd, EVENT_WRITE);
		return;
	}
	if (s->tls == NULL && smtpd_tls_start(s) < 0) {
		smtpd_session_free(s);
		return;
	}
	if ((r = smtpd_tls_handshake(s)) == 0) {
		(void)event_mod(s->loop, s->fd, s->tls_want);
		return;
	}
	if (r < 0) {
		log_info("lost connection after %s from %s[%s]",
		    s->last_command ? s->last_command : "CONNECT",
		    s->client_name, s->client_addr);
		smtpd_session_free(s);
		return;
	}
	s->wait = SMTPD_WAIT_NONE;
	smtpd_session_timeout_rearm(s);
	if (s->state == SMTPD_STATE_GREET) {
		(void)event_mod(s->loop, s->fd, 0);
		smtpd_session_begin(s);
		return;
	}
	smtpd_session_run(s);
}

/* Process input, write output, decide what to watch; may free s. */
static void
smtpd_session_run(struct smtpd_session *s)
{
	bool want_read;

	smtpd_session_process(s);
	if (s->wait != SMTPD_WAIT_SLEEP && !smtpd_session_flush(s)) {
		smtpd_session_free(s);
		return;
	}
	if (s->wait == SMTPD_WAIT_TLS && !s->closing) {
		smtpd_session_tls(s);
		return;
	}
	/* At EOF, finish what was read (a client may send a whole pipelined
	 * session and close); give up when nothing more can be done. */
	if (s->eof && !s->closing && s->wait == SMTPD_WAIT_NONE &&
	    !smtpd_session_cleanup_full(s)) {
		log_info("lost connection after %s from %s[%s]",
		    s->last_command ? s->last_command : "CONNECT",
		    s->client_name, s->client_addr);
		s->closing = true;
	}
	if (s->closing && (s->out.len == 0 || s->eof)) {
		smtpd_session_free(s);
		return;
	}
	want_read = !s->closing && !s->eof && s->state != SMTPD_STATE_GREET &&
	    s->wait != SMTPD_WAIT_SLEEP && s->in.len < SMTPD_IN_HIGH &&
	    s->out.len < SMTPD_OUT_HIGH && !smtpd_session_cleanup_full(s);
	if (want_read && smtpd_tls_pending(s)) {
		/* Decrypted input inside OpenSSL: epoll will not tell. */
		smtpd_session_read(s);
		smtpd_session_run(s);
		return;
	}
	(void)event_mod(s->loop, s->fd, (want_read ? EVENT_READ : 0) |
	    (s->out.len > 0 && s->wait != SMTPD_WAIT_SLEEP ? EVENT_WRITE : 0) |
	    (s->tls_active ? s->tls_want : 0));
}

void
smtpd_session_wake(struct smtpd_session *s)
{
	smtpd_session_run(s);
}

static void
smtpd_session_read(struct smtpd_session *s)
{
	static char chunk[SMTPD_READ_SIZE];
	ssize_t n;

	if (s->in.len >= SMTPD_IN_HIGH)
		return;
	n = s->tls != NULL ? smtpd_tls_read(s, chunk, sizeof(chunk)) :
	    recv(s->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		s->eof = true;
		return;
	}
	smtpd_session_timeout_rearm(s);
	if (buf_add(&s->in, chunk, (size_t)n) < 0)
		log_panic("session input buffer overflow");
}

static void
smtpd_session_event(int fd, int events, void *ctx)
{
	struct smtpd_session *s = ctx;

	/* During a handshake smtpd_session_run() drives OpenSSL. */
	if (s->wait != SMTPD_WAIT_TLS && ((events & (EVENT_READ |
	    EVENT_ERROR)) || (s->tls_want == EVENT_WRITE &&
	    (events & EVENT_WRITE))))
		smtpd_session_read(s);
	smtpd_session_run(s);
}

static void
smtpd_session_timeout(void *ctx)
{
	struct smtpd_session *s = ctx;

	log_info("timeout after %s from %s[%s]",
	    s->last_command ? s->last_command : "CONNECT", s->client_name,
	    s->client_addr);
	if (s->wait == SMTPD_WAIT_TLS && s->tls != NULL) {
		/* No plaintext 421 in the middle of a handshake. */
		smtpd_session_free(s);
		return;
	}
	s->wait = SMTPD_WAIT_NONE;
	event_timer_cancel(s->loop, &s->sleep);
	buf_reset(&s->out);
	smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    config_get("myhostname"));
	s->closing = true;
	(void)smtpd_session_flush(s);
	smtpd_session_free(s);
}

static void
smtpd_session_greet(void *ctx)
{
	struct smtpd_session *s = ctx;
	char early[100];
	bool early_talker;
	ssize_t n;

	if (smtpd_anvil_greet_wait(s))
		return;		/* greeted when anvil answers */
	/* RFC 5321 4.3.1: a client must wait for the greeting. */
	if (s->tls_active) {
		/* Only after a deliberate pause: a TLS 1.3 client's first
		 * command may come with its handshake's last flight. */
		early_talker = config_get_time("smtpd_greet_pause") > 0 &&
		    smtpd_tls_early_talker(s);
		n = 0;		/* what a TLS client sent is not shown */
	} else {
		n = recv(s->fd, early, sizeof(early), MSG_PEEK | MSG_DONTWAIT);
		early_talker = n > 0;
	}
	if (early_talker) {
		/* Postfix's line for an early talker (fail2ban knows it). */
		char *shown = smtpd_session_shown(early, n > 0 ? (size_t)n : 0,
		    100);

		log_info("improper command pipelining after CONNECT from "
		    "%s[%s]: %s", s->client_name, s->client_addr, shown);
		xfree(&shown);
	}
	s->state = SMTPD_STATE_COMMAND;
	smtpd_proto_greet(s, early_talker);
	smtpd_session_run(s);
}

void
smtpd_session_anvil_done(struct smtpd_session *s)
{
	if (s->anvil.greet_due && !s->closing) {
		s->anvil.greet_due = false;
		smtpd_session_greet(s);
		return;
	}
	smtpd_session_run(s);
}

/* name[addr] and port of the peer; IPv4-mapped IPv6 shown as IPv4. */
static void
smtpd_session_peer(struct smtpd_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "unknown";
	unsigned port = 0;

	if (getpeername(s->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
				inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
				    addr, sizeof(addr));
			else
				inet_ntop(AF_INET6, &sin6->sin6_addr, addr,
				    sizeof(addr));
			port = ntohs(sin6->sin6_port);
		} else if (ss.ss_family == AF_UNIX) {
			snprintf(addr, sizeof(addr), "127.0.0.1");
		}
	}
	/* XXX no reverse DNS yet (lib/dns comes with libldns); Postfix says
	 * "unknown" for a client without a verified name. */
	s->client_name = xstrdup("unknown");
	s->client_addr = xstrdup(addr);
	s->client_port = xasprintf("%u", port);
}

void
smtpd_session_new(struct event_loop *loop, int fd)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->fd = fd;
	s->state = SMTPD_STATE_GREET;
	s->stat_verb = -1;
	buf_init(&s->in, SMTPD_IN_MAX);
	buf_init(&s->out, SMTPD_OUT_MAX);
	smtpd_session_peer(s);
	log_info("connect from %s[%s]", s->client_name, s->client_addr);
	if (event_add(loop, fd, 0, smtpd_session_event, s) < 0) {
		log_warn("event_add: %m");
		close(fd);
		xfree(&s->client_name);
		xfree(&s->client_addr);
		xfree(&s->client_port);
		buf_release(&s->in);
		buf_release(&s->out);
		xfree(&s);
		server_session_done();
		return;
	}
	smtpd_session_timeout_rearm(s);
	if (smtpd_tls_wrapper()) {
		/* Implicit TLS (RFC 8314): the handshake, then the greeting. */
		if (smtpd_tls_start(s) < 0) {
			smtpd_session_free(s);
			return;
		}
		smtpd_session_run(s);
		return;
	}
	smtpd_session_begin(s);
}

/* The greeting, after smtpd_greet_pause. */
static void
smtpd_session_begin(struct smtpd_session *s)
{
	long long pause = config_get_time("smtpd_greet_pause");

	smtpd_anvil_connect(s);	/* the limits; may wait for anvil */
	if (pause > 0)
		event_timer_set(s->loop, &s->sleep, pause * 1000,
		    smtpd_session_greet, s);
	else
		smtpd_session_greet(s);
}
