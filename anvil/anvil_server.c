/*
 * anvil_server.c - anvil's sessions, expiry and statistics (see
 * anvil_server.h).
 *
 * One process holds every counter (master.cf: maxproc 1); it must never
 * exit for idleness, or the counts would be lost. Each smtpd process
 * keeps one connection and sends any number of requests on it; they are
 * answered in order. A request that is well framed but wrong gets
 * status=error and the session goes on; broken framing or a client that
 * does not read its replies closes the session.
 *
 * Every $anvil_status_update_time the largest counts since the last
 * report are logged in Postfix's words, so existing log reports work:
 *   statistics: max connection count 3 for (smtp:1.2.3.4) at Nov 23 21:44:36
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "anvil_request.h"
#include "anvil_server.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "server.h"

#define ANVIL_IN_MAX	(64 * 1024)
#define ANVIL_OUT_MAX	(1024 * 1024)
#define ANVIL_READ_SIZE	8192
#define ANVIL_EXPIRE_MS	1000

struct anvil_session {
	struct anvil_session *prev, *next;
	struct event_loop *loop;
	int fd;
	struct buf in;
	struct buf out;
};

static struct anvil_table *anvil_table;
static struct anvil_session *anvil_sessions;
static struct event_timer anvil_expire_timer;
static struct event_timer anvil_status_timer;

static long long
anvil_unit_seconds(void)
{
	long long unit = config_get_time("anvil_rate_time_unit");

	return unit > 0 ? unit : 60;
}

long
anvil_server_input(struct anvil_table *t, const char *data, size_t len,
    struct buf *out, int64_t now)
{
	struct rec *req = rec_new(), *reply = rec_new();
	struct anvil_request ar;
	struct anvil_counts c;
	const char *error;
	size_t used = 0;
	ssize_t n;

	while (used < len) {
		n = rec_parse(req, data + used, len - used);
		if (n < 0) {
			used = (size_t)-1;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (anvil_request_parse(req, &ar, &error) < 0) {
			anvil_request_error(reply, error);
		} else {
			anvil_table_update(t, ar.service, ar.ident, ar.event,
			    now, &c);
			anvil_request_reply(reply, &c);
		}
		if (rec_format(reply, out) < 0) {
			used = (size_t)-1;
			break;
		}
	}
	rec_free(&req);
	rec_free(&reply);
	return used == (size_t)-1 ? -1 : (long)used;
}

static void
anvil_session_free(struct anvil_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		anvil_sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	event_del(s->loop, s->fd);
	close(s->fd);
	buf_release(&s->in);
	buf_release(&s->out);
	xfree(&s);
	server_session_done();
}

/* Write what we can; false when the connection is broken. */
static bool
anvil_session_flush(struct anvil_session *s)
{
	while (s->out.len > 0) {
		ssize_t n = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&s->out, (size_t)n);
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
anvil_session_event(int fd, int events, void *ctx)
{
	struct anvil_session *s = ctx;
	char chunk[ANVIL_READ_SIZE];
	bool eof = false;
	ssize_t n;
	long used;

	if (events & (EVENT_READ | EVENT_ERROR)) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			eof = true;
		else if (n > 0 && buf_add(&s->in, chunk, (size_t)n) < 0) {
			log_warn("request too long from client: closing");
			anvil_session_free(s);
			return;
		}
	}
	used = anvil_server_input(anvil_table, s->in.data, s->in.len, &s->out,
	    io_now_ms());
	if (used < 0) {
		log_warn("malformed request or client not reading: closing");
		anvil_session_free(s);
		return;
	}
	buf_consume(&s->in, (size_t)used);
	if (!anvil_session_flush(s) || eof) {
		anvil_session_free(s);
		return;
	}
	/* A client that does not read its replies gets no more service. */
	(void)event_mod(s->loop, s->fd,
	    (s->out.len < ANVIL_OUT_MAX / 2 ? EVENT_READ : 0) |
	    (s->out.len > 0 ? EVENT_WRITE : 0));
}

void
anvil_server_session(struct event_loop *loop, int fd)
{
	struct anvil_session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->fd = fd;
	buf_init(&s->in, ANVIL_IN_MAX);
	buf_init(&s->out, ANVIL_OUT_MAX);
	if (event_add(loop, fd, EVENT_READ, anvil_session_event, s) < 0) {
		log_warn("event_add: %m");
		close(fd);
		buf_release(&s->in);
		buf_release(&s->out);
		xfree(&s);
		server_session_done();
		return;
	}
	s->next = anvil_sessions;
	if (anvil_sessions != NULL)
		anvil_sessions->prev = s;
	anvil_sessions = s;
}

static void
anvil_log_max(const char *what, const struct anvil_max *m, bool rate,
    long long unit)
{
	char when[32];
	struct tm tm;
	time_t secs;

	if (m->value <= 1)
		return;
	secs = (time_t)(m->when / 1000);
	if (localtime_r(&secs, &tm) == NULL ||
	    strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	if (rate)
		log_info("statistics: max %s %u/%llds for (%s) at %s", what,
		    m->value, unit, m->key, when);
	else
		log_info("statistics: max %s %u for (%s) at %s", what,
		    m->value, m->key, when);
}

void
anvil_server_log_stats(struct anvil_table *t, long long unit_seconds)
{
	struct anvil_stats st;
	char when[32];
	struct tm tm;
	time_t secs;

	anvil_table_stats(t, &st);
	anvil_log_max("connection rate", &st.rate, true, unit_seconds);
	anvil_log_max("connection count", &st.count, false, unit_seconds);
	anvil_log_max("message rate", &st.message, true, unit_seconds);
	anvil_log_max("recipient rate", &st.rcpt, true, unit_seconds);
	anvil_log_max("newtls rate", &st.newtls, true, unit_seconds);
	anvil_log_max("auth rate", &st.auth, true, unit_seconds);
	if (st.cache_size > 0) {
		secs = (time_t)(st.cache_when / 1000);
		if (localtime_r(&secs, &tm) == NULL ||
		    strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm) == 0)
			when[0] = '\0';
		log_info("statistics: max cache size %zu at %s",
		    st.cache_size, when);
	}
}

static void
anvil_expire(void *ctx)
{
	struct event_loop *loop = ctx;

	/* Stopping (postern stop, reload): smtpd processes keep their
	 * connections open for good, so close them rather than wait out
	 * the grace time; they reconnect to our successor. The last
	 * session's end exits the process. */
	if (server_stopping()) {
		anvil_server_log_stats(anvil_table, anvil_unit_seconds());
		while (anvil_sessions != NULL)
			anvil_session_free(anvil_sessions);
	}
	(void)anvil_table_expire(anvil_table, io_now_ms());
	event_timer_set(loop, &anvil_expire_timer, ANVIL_EXPIRE_MS,
	    anvil_expire, loop);
}

static void
anvil_status(void *ctx)
{
	struct event_loop *loop = ctx;
	long long every = config_get_time("anvil_status_update_time");

	if (every <= 0)
		every = 600;
	anvil_server_log_stats(anvil_table, anvil_unit_seconds());
	event_timer_set(loop, &anvil_status_timer, every * 1000, anvil_status,
	    loop);
}

void
anvil_server_start(struct event_loop *loop)
{
	long long every = config_get_time("anvil_status_update_time");

	if (every <= 0)
		every = 600;
	anvil_table = anvil_table_new(ANVIL_TABLE_MAX,
	    anvil_unit_seconds() * 1000);
	event_timer_set(loop, &anvil_expire_timer, ANVIL_EXPIRE_MS,
	    anvil_expire, loop);
	event_timer_set(loop, &anvil_status_timer, every * 1000, anvil_status,
	    loop);
}
