/*
 * smtpd_anvil.c - per-client abuse limits through anvil (see
 * smtpd_anvil.h).
 *
 * One non-blocking connection per process carries every session's
 * requests; anvil answers in order, so the pending requests are a FIFO
 * and each reply belongs to the oldest. A session that ends while its
 * request is out only forgets it (the reply is still read and dropped).
 * Every request waits at most SMTPD_ANVIL_TIMEOUT_MS; then, or when the
 * connection fails, every pending request is answered "no limits", the
 * connection is closed, and the next request opens a new one (after a
 * timeout, only after SMTPD_ANVIL_RETRY_MS: a hung anvil must not cost
 * every new session the timeout). "problem talking to server" is logged
 * once per outage.
 *
 * Decided here:
 * - Replies as Postfix's smtpd, but with 4.7.0 (the issue says "421 or
 *   450 with 4.7.0"; Postfix uses 4.7.1 for the 450s). Postfix's
 *   warnings are kept word for word for log watchers.
 * - smtpd_client_auth_failure_limit is postern's: the AUTH that follows
 *   that many failed ones (not forgotten, see anvil_table.h) gets
 *   "421 4.7.0 HOST Error: too many AUTH failures from ADDR" and the
 *   session is closed; logged as "warning: AUTH failure limit exceeded:
 *   N from NAME[ADDR] for service SERVICE".
 * - MAIL is counted only outside a transaction and RCPT only inside one
 *   (the others are refused by the command without counting).
 * - New TLS sessions: STARTTLS asks (lookup) before the handshake and is
 *   refused with 421 once the limit's worth of sessions were made; the
 *   handshake, when not resumed, is counted afterwards (newtls). With
 *   implicit TLS the handshake comes first, so the connect request that
 *   follows it carries the count and the session is refused instead of
 *   greeted. Limit N therefore allows N new sessions per time unit.
 * - The connect check runs after the handshake with implicit TLS, so
 *   that a session never waits for two things at once.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "netlist.h"
#include "proto.h"
#include "rec.h"
#include "server.h"
#include "smtpd_anvil.h"
#include "smtpd_session.h"

#define SMTPD_ANVIL_TIMEOUT_MS	2000
#define SMTPD_ANVIL_RETRY_MS	10000
#define SMTPD_ANVIL_PENDING_MAX	10000
#define SMTPD_ANVIL_IN_MAX	(64 * 1024)
#define SMTPD_ANVIL_OUT_MAX	(1024 * 1024)

enum smtpd_anvil_kind {
	SMTPD_ANVIL_CONNECT,
	SMTPD_ANVIL_DISCONNECT,
	SMTPD_ANVIL_MESSAGE,
	SMTPD_ANVIL_RCPT,
	SMTPD_ANVIL_AUTH,
	SMTPD_ANVIL_AUTH_FAIL,
	SMTPD_ANVIL_NEWTLS,
	SMTPD_ANVIL_LOOKUP,	/* before STARTTLS: the new TLS sessions */
};

static const char *const smtpd_anvil_words[] = {
	"connect", "disconnect", "message", "rcpt", "auth", "auth_fail",
	"newtls", "lookup",
};

struct smtpd_anvil_request {
	struct smtpd_anvil_request *next;
	struct smtpd_session *session;	/* NULL: nobody waits */
	enum smtpd_anvil_kind kind;
	int64_t deadline;
};

/* What anvil said; NULL pointers to it mean "no answer: no limits". */
struct smtpd_anvil_counts {
	long long count, rate, message, rcpt, auth, auth_fail, newtls;
};

static struct {
	struct event_loop *loop;
	int fd;
	struct buf in;
	struct buf out;
	struct rec *reply;
	struct smtpd_anvil_request *first, *last;
	size_t pending;
	struct event_timer timer;
	bool trouble_logged;
	int64_t retry_after;
	struct netlist *exceptions;
	bool exceptions_tried;
} smtpd_anvil = { .fd = -1 };

static void smtpd_anvil_event(int fd, int events, void *ctx);
static void smtpd_anvil_answer(struct smtpd_session *s,
    enum smtpd_anvil_kind kind, const struct smtpd_anvil_counts *c);

void
smtpd_anvil_init(void)
{
	char *error = NULL;

	if (smtpd_anvil.exceptions_tried)
		return;
	smtpd_anvil.exceptions_tried = true;
	smtpd_anvil.exceptions = netlist_new(
	    config_get("smtpd_client_event_limit_exceptions"), &error);
	if (smtpd_anvil.exceptions == NULL) {
		log_warn("smtpd_client_event_limit_exceptions: %s: no client "
		    "is exempt from limits", error);
		xfree(&error);
	}
}

static void
smtpd_anvil_trouble(const char *why)
{
	if (smtpd_anvil.trouble_logged)
		return;
	smtpd_anvil.trouble_logged = true;
	log_warn("problem talking to server %s: %s (no client limits until "
	    "it answers)", PROTO_ANVIL_PATH, why);
}

/* Close the connection and answer every pending request "no limits". */
static void
smtpd_anvil_fail(const char *why)
{
	struct smtpd_anvil_request *r, *next;

	smtpd_anvil_trouble(why);
	if (smtpd_anvil.fd >= 0) {
		event_del(smtpd_anvil.loop, smtpd_anvil.fd);
		close(smtpd_anvil.fd);
		smtpd_anvil.fd = -1;
	}
	buf_reset(&smtpd_anvil.in);
	buf_reset(&smtpd_anvil.out);
	if (smtpd_anvil.loop != NULL)
		event_timer_cancel(smtpd_anvil.loop, &smtpd_anvil.timer);
	/* Detach first: the answers may queue new requests. */
	r = smtpd_anvil.first;
	smtpd_anvil.first = smtpd_anvil.last = NULL;
	smtpd_anvil.pending = 0;
	for (; r != NULL; r = next) {
		next = r->next;
		if (r->session != NULL) {
			r->session->anvil.pending = NULL;
			smtpd_anvil_answer(r->session, r->kind, NULL);
		}
		xfree(&r);
	}
}

static void
smtpd_anvil_timeout(void *ctx)
{
	(void)ctx;
	smtpd_anvil.retry_after = io_now_ms() + SMTPD_ANVIL_RETRY_MS;
	smtpd_anvil_fail("timeout");
}

static void
smtpd_anvil_arm(void)
{
	if (smtpd_anvil.first == NULL) {
		event_timer_cancel(smtpd_anvil.loop, &smtpd_anvil.timer);
		return;
	}
	event_timer_set(smtpd_anvil.loop, &smtpd_anvil.timer,
	    smtpd_anvil.first->deadline > io_now_ms() ?
	    smtpd_anvil.first->deadline - io_now_ms() : 0,
	    smtpd_anvil_timeout, NULL);
}

static int
smtpd_anvil_open(struct event_loop *loop)
{
	struct sockaddr_un sun;
	int fd;

	smtpd_anvil.loop = loop;
	if (smtpd_anvil.reply == NULL) {
		smtpd_anvil.reply = rec_new();
		buf_init(&smtpd_anvil.in, SMTPD_ANVIL_IN_MAX);
		buf_init(&smtpd_anvil.out, SMTPD_ANVIL_OUT_MAX);
	}
	if (smtpd_anvil.retry_after != 0 &&
	    io_now_ms() < smtpd_anvil.retry_after)
		return -1;
	smtpd_anvil.retry_after = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, PROTO_ANVIL_PATH, strlen(PROTO_ANVIL_PATH));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		smtpd_anvil_trouble(strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		smtpd_anvil_trouble(strerror(errno));
		close(fd);
		return -1;
	}
	if (event_add(loop, fd, EVENT_READ, smtpd_anvil_event, NULL) < 0) {
		smtpd_anvil_trouble(strerror(errno));
		close(fd);
		return -1;
	}
	smtpd_anvil.fd = fd;
	return 0;
}

/* Write what we can; -1 after a failure (already handled). */
static int
smtpd_anvil_flush(void)
{
	while (smtpd_anvil.out.len > 0) {
		ssize_t n = send(smtpd_anvil.fd, smtpd_anvil.out.data,
		    smtpd_anvil.out.len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&smtpd_anvil.out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		smtpd_anvil_fail(n < 0 ? strerror(errno) : "write failed");
		return -1;
	}
	(void)event_mod(smtpd_anvil.loop, smtpd_anvil.fd, EVENT_READ |
	    (smtpd_anvil.out.len > 0 ? EVENT_WRITE : 0));
	return 0;
}

/* Queue a request. 0, or -1 when anvil cannot be asked now (no limits;
 * nothing is called back). */
static int
smtpd_anvil_send(struct smtpd_session *s, enum smtpd_anvil_kind kind,
    bool wait)
{
	struct smtpd_anvil_request *r;
	struct rec *req;
	int rc;

	if (smtpd_anvil.fd < 0 && smtpd_anvil_open(s->loop) < 0)
		return -1;
	if (smtpd_anvil.pending >= SMTPD_ANVIL_PENDING_MAX)
		return -1;
	req = rec_new();
	rec_put(req, "proto", PROTO_ANVIL);
	rec_put(req, "request", smtpd_anvil_words[kind]);
	rec_put(req, "service", server_service_name()[0] != '\0' ?
	    server_service_name() : "smtp");
	rec_put(req, "ident", s->client_addr);
	rc = rec_format(req, &smtpd_anvil.out);
	rec_free(&req);
	if (rc < 0)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->kind = kind;
	r->deadline = io_now_ms() + SMTPD_ANVIL_TIMEOUT_MS;
	if (wait) {
		r->session = s;
		s->anvil.pending = r;
	}
	if (smtpd_anvil.last != NULL)
		smtpd_anvil.last->next = r;
	else
		smtpd_anvil.first = r;
	smtpd_anvil.last = r;
	smtpd_anvil.pending++;
	if (!event_timer_armed(&smtpd_anvil.timer))
		smtpd_anvil_arm();
	/* Written from the loop, so that a failure answers the caller from
	 * the loop too, never from inside this call. */
	(void)event_mod(smtpd_anvil.loop, smtpd_anvil.fd,
	    EVENT_READ | EVENT_WRITE);
	return 0;
}

static long long
smtpd_anvil_num(const struct rec *r, const char *name)
{
	long long v;

	return rec_get_int(r, name, 0, 1LL << 40, &v) == 0 ? v : 0;
}

static void
smtpd_anvil_event(int fd, int events, void *ctx)
{
	struct smtpd_anvil_counts c;
	struct smtpd_anvil_request *r;
	char chunk[4096];
	ssize_t n;

	(void)ctx;
	if (events & EVENT_WRITE) {
		if (smtpd_anvil_flush() < 0)
			return;
	}
	if (!(events & (EVENT_READ | EVENT_ERROR)))
		return;
	n = recv(fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		smtpd_anvil_fail(n == 0 ? "connection closed" :
		    strerror(errno));
		return;
	}
	if (buf_add(&smtpd_anvil.in, chunk, (size_t)n) < 0) {
		smtpd_anvil_fail("reply too long");
		return;
	}
	while (smtpd_anvil.fd >= 0) {
		n = rec_parse(smtpd_anvil.reply, smtpd_anvil.in.data,
		    smtpd_anvil.in.len);
		if (n == 0)
			break;
		if (n < 0 || smtpd_anvil.first == NULL) {
			smtpd_anvil_fail(n < 0 ? "malformed reply" :
			    "unexpected reply");
			return;
		}
		buf_consume(&smtpd_anvil.in, (size_t)n);
		r = smtpd_anvil.first;
		smtpd_anvil.first = r->next;
		if (smtpd_anvil.first == NULL)
			smtpd_anvil.last = NULL;
		smtpd_anvil.pending--;
		smtpd_anvil_arm();
		if (smtpd_anvil.trouble_logged) {
			log_info("server %s answers again", PROTO_ANVIL_PATH);
			smtpd_anvil.trouble_logged = false;
		}
		if (r->session != NULL) {
			const char *status = rec_get(smtpd_anvil.reply,
			    "status");
			struct smtpd_session *s = r->session;

			s->anvil.pending = NULL;
			if (status != NULL && strcmp(status, "ok") == 0) {
				c.count = smtpd_anvil_num(smtpd_anvil.reply,
				    "count");
				c.rate = smtpd_anvil_num(smtpd_anvil.reply,
				    "rate");
				c.message = smtpd_anvil_num(smtpd_anvil.reply,
				    "message");
				c.rcpt = smtpd_anvil_num(smtpd_anvil.reply,
				    "rcpt");
				c.auth = smtpd_anvil_num(smtpd_anvil.reply,
				    "auth");
				c.auth_fail = smtpd_anvil_num(
				    smtpd_anvil.reply, "auth_fail");
				c.newtls = smtpd_anvil_num(smtpd_anvil.reply,
				    "newtls");
				smtpd_anvil_answer(s, r->kind, &c);
			} else {
				log_warn("%s: %s", PROTO_ANVIL_PATH,
				    rec_get(smtpd_anvil.reply, "text") ?
				    rec_get(smtpd_anvil.reply, "text") :
				    "bad reply");
				smtpd_anvil_answer(s, r->kind, NULL);
			}
		}
		xfree(&r);
	}
}

/* -- sessions ----------------------------------------------------------- */

static bool
smtpd_anvil_exempt(struct smtpd_session *s)
{
	if (s->anvil.exempt == 0) {
		smtpd_anvil_init();
		/* A lookup error (-1) exempts: no limits rather than
		 * limits on trusted clients, as when anvil is away. */
		s->anvil.exempt = smtpd_anvil.exceptions != NULL &&
		    netlist_match(smtpd_anvil.exceptions, s->client_addr) != 0 ?
		    1 : -1;
	}
	return s->anvil.exempt > 0;
}

static const char *
smtpd_anvil_service(void)
{
	return server_service_name()[0] != '\0' ? server_service_name() :
	    "smtp";
}

void
smtpd_anvil_connect(struct smtpd_session *s)
{
	if (config_get_int("smtpd_client_connection_count_limit") <= 0 &&
	    config_get_int("smtpd_client_connection_rate_limit") <= 0 &&
	    (!s->tls_active || config_get_int(
	    "smtpd_client_new_tls_session_rate_limit") <= 0))
		return;
	if (smtpd_anvil_exempt(s))
		return;
	if (smtpd_anvil_send(s, SMTPD_ANVIL_CONNECT, true) == 0)
		s->wait = SMTPD_WAIT_ANVIL;
}

bool
smtpd_anvil_greet_wait(struct smtpd_session *s)
{
	if (s->wait != SMTPD_WAIT_ANVIL)
		return false;
	s->anvil.greet_due = true;
	return true;
}

bool
smtpd_anvil_gate(struct smtpd_session *s, int verb, const char *line)
{
	enum smtpd_anvil_kind kind;

	if (s->anvil.recheck) {
		s->anvil.recheck = false;
		return false;
	}
	switch (verb) {
	case SMTPD_VERB_MAIL:
		if (s->have_mail ||
		    config_get_int("smtpd_client_message_rate_limit") <= 0)
			return false;
		kind = SMTPD_ANVIL_MESSAGE;
		break;
	case SMTPD_VERB_RCPT:
		if (!s->have_mail || s->bdat ||
		    config_get_int("smtpd_client_recipient_rate_limit") <= 0)
			return false;
		kind = SMTPD_ANVIL_RCPT;
		break;
	case SMTPD_VERB_AUTH:
		if (s->sasl_user != NULL ||
		    (config_get_int("smtpd_client_auth_rate_limit") <= 0 &&
		    config_get_int("smtpd_client_auth_failure_limit") <= 0))
			return false;
		kind = SMTPD_ANVIL_AUTH;
		break;
	case SMTPD_VERB_STARTTLS:
		if (s->tls_active || config_get_int(
		    "smtpd_client_new_tls_session_rate_limit") <= 0)
			return false;
		kind = SMTPD_ANVIL_LOOKUP;
		break;
	default:
		return false;
	}
	if (smtpd_anvil_exempt(s))
		return false;
	if (smtpd_anvil_send(s, kind, true) != 0)
		return false;
	s->anvil.verb = verb;
	s->anvil.line = xstrdup(line);
	s->wait = SMTPD_WAIT_ANVIL;
	return true;
}

void
smtpd_anvil_auth_failed(struct smtpd_session *s)
{
	if (config_get_int("smtpd_client_auth_failure_limit") <= 0 ||
	    smtpd_anvil_exempt(s))
		return;
	(void)smtpd_anvil_send(s, SMTPD_ANVIL_AUTH_FAIL, false);
}

void
smtpd_anvil_new_tls(struct smtpd_session *s)
{
	if (config_get_int("smtpd_client_new_tls_session_rate_limit") <= 0 ||
	    smtpd_anvil_exempt(s))
		return;
	(void)smtpd_anvil_send(s, SMTPD_ANVIL_NEWTLS, false);
}

void
smtpd_anvil_end(struct smtpd_session *s)
{
	if (s->anvil.pending != NULL) {
		s->anvil.pending->session = NULL;
		s->anvil.pending = NULL;
	}
	xfree(&s->anvil.line);
	if (s->anvil.connected) {
		s->anvil.connected = false;
		(void)smtpd_anvil_send(s, SMTPD_ANVIL_DISCONNECT, false);
	}
}

/* The connection is over a limit: 421 instead of the greeting. */
static void
smtpd_anvil_refuse_connect(struct smtpd_session *s, const char *what,
    long long value, const char *reply_what)
{
	log_warn("%s limit exceeded: %lld from %s[%s] for service %s", what,
	    value, s->client_name, s->client_addr, smtpd_anvil_service());
	smtpd_reply(s, "421 4.7.0 %s Error: too many %s from %s",
	    config_get("myhostname"), reply_what, s->client_addr);
	smtpd_session_hangup(s);
}

/* Whether the held command is over its limit: logs and answers. */
static bool
smtpd_anvil_refuse_command(struct smtpd_session *s,
    enum smtpd_anvil_kind kind, const struct smtpd_anvil_counts *c)
{
	long long limit;

	switch (kind) {
	case SMTPD_ANVIL_MESSAGE:
		limit = config_get_int("smtpd_client_message_rate_limit");
		if (limit <= 0 || c->message <= limit)
			return false;
		log_warn("Message delivery request rate limit exceeded: %lld "
		    "from %s[%s] for service %s", c->message, s->client_name,
		    s->client_addr, smtpd_anvil_service());
		smtpd_reply(s, "450 4.7.0 Error: too much mail from %s",
		    s->client_addr);
		return true;
	case SMTPD_ANVIL_RCPT:
		limit = config_get_int("smtpd_client_recipient_rate_limit");
		if (limit <= 0 || c->rcpt <= limit)
			return false;
		log_warn("Recipient address rate limit exceeded: %lld from "
		    "%s[%s] for service %s", c->rcpt, s->client_name,
		    s->client_addr, smtpd_anvil_service());
		smtpd_reply(s, "450 4.7.0 Error: too many recipients from %s",
		    s->client_addr);
		return true;
	case SMTPD_ANVIL_AUTH:
		limit = config_get_int("smtpd_client_auth_failure_limit");
		if (limit > 0 && c->auth_fail >= limit) {
			log_warn("AUTH failure limit exceeded: %lld from "
			    "%s[%s] for service %s", c->auth_fail,
			    s->client_name, s->client_addr,
			    smtpd_anvil_service());
			smtpd_reply(s, "421 4.7.0 %s Error: too many AUTH "
			    "failures from %s", config_get("myhostname"),
			    s->client_addr);
			smtpd_session_hangup(s);
			return true;
		}
		limit = config_get_int("smtpd_client_auth_rate_limit");
		if (limit <= 0 || c->auth <= limit)
			return false;
		log_warn("AUTH command rate limit exceeded: %lld from %s[%s] "
		    "for service %s", c->auth, s->client_name,
		    s->client_addr, smtpd_anvil_service());
		smtpd_reply(s, "450 4.7.0 Error: too many AUTH commands from "
		    "%s", s->client_addr);
		return true;
	case SMTPD_ANVIL_LOOKUP:
		/* STARTTLS: the handshake would be one more. */
		limit = config_get_int(
		    "smtpd_client_new_tls_session_rate_limit");
		if (limit <= 0 || c->newtls < limit)
			return false;
		smtpd_anvil_refuse_connect(s, "New TLS session rate",
		    c->newtls + 1, "new TLS sessions");
		return true;
	default:
		return false;
	}
}

static void
smtpd_anvil_answer(struct smtpd_session *s, enum smtpd_anvil_kind kind,
    const struct smtpd_anvil_counts *c)
{
	long long limit;
	char *line;

	if (s->wait == SMTPD_WAIT_ANVIL)
		s->wait = SMTPD_WAIT_NONE;
	if (kind == SMTPD_ANVIL_CONNECT) {
		if (c != NULL) {
			s->anvil.connected = true;
			limit = config_get_int(
			    "smtpd_client_connection_count_limit");
			if (limit > 0 && c->count > limit)
				smtpd_anvil_refuse_connect(s, "Connection "
				    "concurrency", c->count, "connections");
			else if ((limit = config_get_int(
			    "smtpd_client_connection_rate_limit")) > 0 &&
			    c->rate > limit)
				smtpd_anvil_refuse_connect(s, "Connection rate",
				    c->rate, "connection requests");
			else if (s->tls_active && (limit = config_get_int(
			    "smtpd_client_new_tls_session_rate_limit")) > 0 &&
			    c->newtls > limit)
				/* Implicit TLS: this session's handshake is
				 * counted already (smtpd_anvil_new_tls). */
				smtpd_anvil_refuse_connect(s, "New TLS session "
				    "rate", c->newtls, "new TLS sessions");
		}
		smtpd_session_anvil_done(s);
		return;
	}
	line = s->anvil.line;
	s->anvil.line = NULL;
	if (line == NULL)
		return;
	/* The refusal counts as the command's reply in the statistics. */
	s->stat_verb = s->anvil.verb;
	s->last_command = kind == SMTPD_ANVIL_MESSAGE ? "MAIL" :
	    kind == SMTPD_ANVIL_RCPT ? "RCPT" :
	    kind == SMTPD_ANVIL_LOOKUP ? "STARTTLS" : "AUTH";
	if (c == NULL || !smtpd_anvil_refuse_command(s, kind, c)) {
		s->anvil.recheck = true;
		smtpd_proto_command(s, line);
		s->anvil.recheck = false;
	}
	xfree(&line);
	smtpd_session_anvil_done(s);
}
