/*
 * qmgr_bounce.c - the bounce/1 client on qmgr's event loop.
 *
 * The same shape as qmgr_deliver.c: connect (non-blocking) to
 * private/bounce, retrying while its listen backlog is full (EAGAIN:
 * the master is starting another bounce process), write one request
 * record, read one reply record, report, close. Anything but a clean
 * "status=ok" is a failure: the caller keeps the message, so a notice is
 * delayed, never lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "qmgr_bounce.h"
#include "queue.h"

#define QMGR_BOUNCE_RETRY_MS	100
#define QMGR_BOUNCE_READ_SIZE	4096
#define QMGR_BOUNCE_REPLY_MAX	65536

enum qmgr_bounce_state {
	QMGR_BOUNCE_RETRY,		/* waiting to connect (again) */
	QMGR_BOUNCE_CONNECTING,
	QMGR_BOUNCE_WRITING,
	QMGR_BOUNCE_READING,
};

struct qmgr_bounce {
	struct event_loop *loop;
	enum qmgr_bounce_state state;
	int fd;
	char *qid;
	qmgr_bounce_done_fn done;
	void *ctx;
	struct buf out;
	size_t out_done;
	struct buf in;
	int64_t deadline;
	int64_t connect_deadline;
	struct event_timer timer;
};

static void qmgr_bounce_connect(struct qmgr_bounce *b);

void
qmgr_bounce_build(const struct qmgr_bounce_request *req, struct rec *out)
{
	rec_reset(out);
	rec_put(out, "proto", PROTO_BOUNCE);
	rec_put(out, "request", req->warn ? "warn" : "flush");
	rec_put(out, "qid", req->qid);
	rec_put(out, "queue_file", req->queue_file);
}

int
qmgr_bounce_parse_reply(const struct rec *reply, const char **new_qid_r,
    const char **text_r)
{
	const char *status = rec_get(reply, "status");
	const char *qid = rec_get(reply, "qid");
	const char *text = rec_get(reply, "text");

	*new_qid_r = NULL;
	*text_r = NULL;
	if (reply->count == 0 || strcmp(reply->attrs[0].name, "proto") != 0 ||
	    strcmp(reply->attrs[0].value, PROTO_BOUNCE) != 0) {
		*text_r = "bounce service sent a malformed reply";
		return -1;
	}
	if (status == NULL || strcmp(status, "ok") != 0) {
		*text_r = text != NULL ? text : "bounce service failed";
		return -1;
	}
	if (qid != NULL && (strlen(qid) > QUEUE_ID_MAX ||
	    !queue_id_valid(qid))) {
		*text_r = "bounce service sent a malformed queue ID";
		return -1;
	}
	*new_qid_r = qid;
	return 0;
}

static void
qmgr_bounce_finish(struct qmgr_bounce *b, int status, const char *new_qid,
    const char *text)
{
	if (b->fd >= 0) {
		event_del(b->loop, b->fd);
		close(b->fd);
		b->fd = -1;
	}
	event_timer_cancel(b->loop, &b->timer);
	b->done(b->ctx, status, new_qid, text);
	buf_release(&b->out);
	buf_release(&b->in);
	free(b->qid);
	free(b);
}

static void
qmgr_bounce_fail(struct qmgr_bounce *b, const char *text)
{
	qmgr_bounce_finish(b, -1, NULL, text);
}

static void
qmgr_bounce_timer(void *ctx)
{
	struct qmgr_bounce *b = ctx;

	if (io_now_ms() >= b->deadline)
		qmgr_bounce_fail(b, "bounce service timed out");
	else if (b->state == QMGR_BOUNCE_RETRY)
		qmgr_bounce_connect(b);
}

static void
qmgr_bounce_read(struct qmgr_bounce *b)
{
	struct rec *reply;
	const char *new_qid, *text;
	ssize_t n, used;
	int status;

	if (buf_reserve(&b->in, QMGR_BOUNCE_READ_SIZE) < 0) {
		qmgr_bounce_fail(b, "bounce service reply too long");
		return;
	}
	n = read(b->fd, b->in.data + b->in.len, QMGR_BOUNCE_READ_SIZE);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		qmgr_bounce_fail(b, "bounce service crashed or closed the "
		    "connection");
		return;
	}
	buf_commit(&b->in, (size_t)n);
	reply = rec_new();
	used = rec_parse(reply, b->in.data, b->in.len);
	if (used < 0) {
		rec_free(&reply);
		qmgr_bounce_fail(b, "bounce service sent a malformed reply");
		return;
	}
	if (used > 0) {
		status = qmgr_bounce_parse_reply(reply, &new_qid, &text);
		qmgr_bounce_finish(b, status, new_qid, text);
	}
	rec_free(&reply);
}

static void
qmgr_bounce_write(struct qmgr_bounce *b)
{
	while (b->out_done < b->out.len) {
		ssize_t n = send(b->fd, b->out.data + b->out_done,
		    b->out.len - b->out_done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			qmgr_bounce_fail(b, "bounce service connection "
			    "broken");
			return;
		}
		b->out_done += (size_t)n;
	}
	b->state = QMGR_BOUNCE_READING;
	event_mod(b->loop, b->fd, EVENT_READ);
}

static void
qmgr_bounce_event(int fd, int events, void *ctx)
{
	struct qmgr_bounce *b = ctx;
	int error = 0;
	socklen_t len = sizeof(error);

	switch (b->state) {
	case QMGR_BOUNCE_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
			error = errno;
		if (error != 0) {
			qmgr_bounce_fail(b, "bounce service not available "
			    "(connect failed)");
			return;
		}
		b->state = QMGR_BOUNCE_WRITING;
		/* FALLTHROUGH */
	case QMGR_BOUNCE_WRITING:
		qmgr_bounce_write(b);
		return;
	case QMGR_BOUNCE_READING:
		qmgr_bounce_read(b);
		return;
	default:
		return;
	}
}

static void
qmgr_bounce_connect(struct qmgr_bounce *b)
{
	struct sockaddr_un sun;
	int fd, n, saved_errno;
	int64_t now = io_now_ms(), wait;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", PROTO_BOUNCE_PATH);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket: %m");
		qmgr_bounce_fail(b, "bounce service not reachable (out of "
		    "descriptors)");
		return;
	}
	n = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (n == 0 || errno == EINPROGRESS) {
		b->fd = fd;
		b->state = n == 0 ? QMGR_BOUNCE_WRITING :
		    QMGR_BOUNCE_CONNECTING;
		if (event_add(b->loop, fd, EVENT_WRITE, qmgr_bounce_event,
		    b) < 0) {
			qmgr_bounce_fail(b, "bounce service not reachable "
			    "(event loop)");
			return;
		}
		event_timer_set(b->loop, &b->timer, b->deadline - now,
		    qmgr_bounce_timer, b);
		return;
	}
	saved_errno = errno;
	close(fd);
	if (saved_errno == EAGAIN && now < b->connect_deadline) {
		b->state = QMGR_BOUNCE_RETRY;
		wait = b->connect_deadline - now;
		if (wait > QMGR_BOUNCE_RETRY_MS)
			wait = QMGR_BOUNCE_RETRY_MS;
		event_timer_set(b->loop, &b->timer, wait, qmgr_bounce_timer,
		    b);
		return;
	}
	errno = saved_errno;
	log_warn("%s: connect to %s: %m", b->qid, PROTO_BOUNCE_PATH);
	qmgr_bounce_fail(b, saved_errno == EAGAIN ?
	    "bounce service is busy (connect timed out)" :
	    "bounce service not available (connect failed)");
}

void
qmgr_bounce_start(struct event_loop *loop,
    const struct qmgr_bounce_request *req, qmgr_bounce_done_fn done,
    void *ctx)
{
	struct qmgr_bounce *b = xcalloc(1, sizeof(*b));
	struct rec *request = rec_new();
	int64_t now = io_now_ms();

	b->loop = loop;
	b->fd = -1;
	b->qid = xstrdup(req->qid);
	b->done = done;
	b->ctx = ctx;
	b->deadline = now + req->timeout_ms;
	b->connect_deadline = now + req->connect_timeout_ms;
	buf_init(&b->out, QMGR_BOUNCE_REPLY_MAX);
	buf_init(&b->in, QMGR_BOUNCE_REPLY_MAX);
	qmgr_bounce_build(req, request);
	(void)rec_format(request, &b->out);	/* small: always fits */
	rec_free(&request);
	/* Connect from the loop, so that done is never called from here. */
	b->state = QMGR_BOUNCE_RETRY;
	event_timer_set(loop, &b->timer, 0, qmgr_bounce_timer, b);
}
