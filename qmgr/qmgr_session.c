/*
 * qmgr_session.c - the qmgr/1 server side.
 *
 * Clients: cleanup (wakeup after a new file), the master (wakeup every
 * few seconds: it may close without reading our reply) and the postern
 * command (flush, hold, release, delete, requeue, list). A connection may
 * carry several requests; each gets one reply record, except list, whose
 * reply is one record per message and an end record (qmgr_list.c). The
 * socket is public/ (postern runs as any user), so requests are parsed
 * strictly and a bad one ends the connection; nothing a client says can
 * stop the daemon.
 *
 * A listing is produced as the client reads it: at most
 * QMGR_SESSION_LIST_BATCH messages per event and only while less than
 * QMGR_SESSION_OUT_LOW bytes wait to be sent, so one listing of a large
 * queue neither fills our memory nor keeps other sessions and deliveries
 * waiting. Requests pipelined behind a list wait until it has been sent,
 * so replies stay in order; we stop reading meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "qmgr_command.h"
#include "qmgr_list.h"
#include "qmgr_queue.h"
#include "qmgr_scan.h"
#include "qmgr_session.h"
#include "server.h"

#define QMGR_SESSION_TIMEOUT_MS	60000
#define QMGR_SESSION_IN_MAX	8192	/* requests are small */
#define QMGR_SESSION_OUT_LOW	65536	/* produce list records below */
/* Room for what is waiting plus one list record (under REC_MAX) and the
 * end record. */
#define QMGR_SESSION_OUT_MAX	(QMGR_SESSION_OUT_LOW + REC_MAX)
#define QMGR_SESSION_LIST_BATCH	100	/* messages read per event */

struct qmgr_session {
	struct event_loop *loop;
	int fd;
	struct buf in;
	struct buf out;
	struct event_timer timer;
	struct qmgr_list *list;		/* a list reply being sent */
};

struct qmgr_list *
qmgr_session_handle(const struct rec *request, struct rec *reply)
{
	const char *proto = rec_get(request, "proto");
	const char *what = rec_get(request, "request");

	rec_reset(reply);
	rec_put(reply, "proto", PROTO_QMGR);
	if (proto == NULL || strcmp(proto, PROTO_QMGR) != 0 || what == NULL) {
		rec_put(reply, "status", "501");
		rec_put(reply, "dsn", "5.5.4");
		rec_put(reply, "text", "expected proto=qmgr/1 and a request");
	} else if (strcmp(what, "wakeup") == 0) {
		qmgr_scan_wakeup();
		rec_put(reply, "status", "ok");
	} else if (strcmp(what, "flush") == 0) {
		qmgr_command_flush(rec_get(request, "domain"), reply);
	} else if (strcmp(what, "list") == 0) {
		rec_reset(reply);
		return qmgr_list_new(QMGR_LIST_LIMIT);
	} else {
		qmgr_command(what, rec_get(request, "qid"), reply);
	}
	return NULL;
}

static void
qmgr_session_close(struct qmgr_session *s)
{
	event_del(s->loop, s->fd);
	close(s->fd);
	event_timer_cancel(s->loop, &s->timer);
	qmgr_list_free(&s->list);
	buf_release(&s->in);
	buf_release(&s->out);
	free(s);
	server_session_done();
}

static void
qmgr_session_timeout(void *ctx)
{
	qmgr_session_close(ctx);
}

/* Write what we can; 0, or -1 when the client is gone. */
static int
qmgr_session_flush(struct qmgr_session *s)
{
	while (s->out.len > 0) {
		ssize_t n = send(s->fd, s->out.data, s->out.len,
		    MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		buf_consume(&s->out, (size_t)n);
	}
	return 0;
}

/* Send more of a listing, then answer the requests waiting in s->in.
 * 0, or -1 when the client sent a malformed request. */
static int
qmgr_session_work(struct qmgr_session *s)
{
	struct rec *request = NULL, *reply = NULL;
	size_t batch = 0;
	ssize_t used = 0;
	int rc = 0;

	for (;;) {
		if (s->list != NULL) {
			while (batch < QMGR_SESSION_LIST_BATCH &&
			    s->out.len < QMGR_SESSION_OUT_LOW) {
				batch++;
				if (qmgr_list_next(s->list, &s->out, 1)) {
					qmgr_list_free(&s->list);
					break;
				}
			}
			if (s->list != NULL)
				break;	/* more when the client has read */
		}
		if (request == NULL) {
			request = rec_new();
			reply = rec_new();
		}
		if ((used = rec_parse(request, s->in.data, s->in.len)) <= 0)
			break;
		buf_consume(&s->in, (size_t)used);
		s->list = qmgr_session_handle(request, reply);
		if (s->list == NULL && rec_format(reply, &s->out) < 0) {
			used = -1;
			break;
		}
	}
	if (used < 0) {
		log_warn("qmgr/1 client sent a malformed request; "
		    "disconnecting");
		rc = -1;
	}
	rec_free(&request);
	rec_free(&reply);
	return rc;
}

static void
qmgr_session_event(int fd, int events, void *ctx)
{
	struct qmgr_session *s = ctx;
	ssize_t n;

	if ((events & EVENT_WRITE) && qmgr_session_flush(s) < 0) {
		qmgr_session_close(s);
		return;
	}
	if ((events & (EVENT_READ | EVENT_ERROR)) && s->list == NULL) {
		if (buf_reserve(&s->in, 1024) < 0) {
			log_warn("qmgr/1 client sent too much; "
			    "disconnecting");
			qmgr_session_close(s);
			return;
		}
		n = read(fd, s->in.data + s->in.len, 1024);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			qmgr_session_close(s);
			return;
		}
		buf_commit(&s->in, (size_t)n);
	} else if ((events & EVENT_ERROR) && !(events & EVENT_WRITE)) {
		qmgr_session_close(s);	/* gone while we were listing */
		return;
	}
	if (qmgr_session_work(s) < 0 || qmgr_session_flush(s) < 0) {
		qmgr_session_close(s);
		return;
	}
	/* While listing, writable means "make more": do not read then. */
	if (s->list != NULL)
		event_mod(s->loop, fd, EVENT_WRITE);
	else
		event_mod(s->loop, fd, s->out.len > 0 ?
		    EVENT_READ | EVENT_WRITE : EVENT_READ);
	event_timer_set(s->loop, &s->timer, QMGR_SESSION_TIMEOUT_MS,
	    qmgr_session_timeout, s);
}

void
qmgr_session_start(struct event_loop *loop, int fd)
{
	struct qmgr_session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->fd = fd;
	buf_init(&s->in, QMGR_SESSION_IN_MAX);
	buf_init(&s->out, QMGR_SESSION_OUT_MAX);
	if (event_add(loop, fd, EVENT_READ, qmgr_session_event, s) < 0) {
		log_warn("event_add: %m");
		close(fd);
		buf_release(&s->in);
		buf_release(&s->out);
		free(s);
		server_session_done();
		return;
	}
	event_timer_set(loop, &s->timer, QMGR_SESSION_TIMEOUT_MS,
	    qmgr_session_timeout, s);
}
