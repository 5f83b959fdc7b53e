/*
 * qmgr_deliver.c - the delivery/1 client on the event loop.
 *
 * One struct qmgr_delivery per request: connect (non-blocking) to
 * private/TRANSPORT relative to queue_directory, write the request record,
 * read one reply record, report, close. A Unix socket whose listen backlog
 * is full refuses a non-blocking connect with EAGAIN instead of queueing
 * it, which happens when the master has not started another agent yet:
 * we retry every QMGR_DELIVER_RETRY_MS until connect_timeout_ms.
 *
 * Agents serve several requests per connection: an answered connection
 * goes back to the caller's pool (lib/connpool) for the next delivery to
 * the same transport. The agent closes an idle connection when it is
 * done with it, possibly just as our request goes out; so a request sent
 * on a reused connection that fails before any reply is sent again, once,
 * on a new connection.
 *
 * The agent may be killed -9 in the middle of a delivery, or hang: EOF
 * before a complete reply, any socket error, and the deadline all defer
 * every recipient ("4.3.0 ..."). Only a recipient the agent reported as
 * sent or bounced is ever marked done by the caller, so a crash can cause
 * a duplicate but never a loss.
 *
 * The agent's text reaches logs and `queue list`: control characters in
 * dsn and reason are replaced by spaces, and both are length-limited.
 */
#include <errno.h>
#include <stdbool.h>
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
#include "qmgr_deliver.h"

#define QMGR_DELIVER_RETRY_MS	100
#define QMGR_DELIVER_READ_SIZE	16384
#define QMGR_DELIVER_REASON_MAX	1000	/* bytes of agent text kept */
#define QMGR_DELIVER_DSN_MAX	16

enum qmgr_delivery_state {
	QMGR_DELIVERY_RETRY,		/* waiting to connect again */
	QMGR_DELIVERY_CONNECTING,
	QMGR_DELIVERY_WRITING,
	QMGR_DELIVERY_READING,
	QMGR_DELIVERY_FAILED,		/* reporting from a 0 ms timer */
};

struct qmgr_delivery {
	struct event_loop *loop;
	enum qmgr_delivery_state state;
	int fd;
	struct connpool *pool;
	bool reused;		/* fd came from the pool */
	bool no_pool;		/* a reused connection failed: connect */
	int64_t born;		/* when the connection was made */
	char *path;		/* private/TRANSPORT */
	char *transport;
	char *qid;
	struct qmgr_deliver_rcpt *rcpts;
	size_t rcpt_count;
	qmgr_deliver_done_fn done;
	void *ctx;
	struct buf out;
	size_t out_done;
	struct buf in;
	int64_t deadline;		/* the whole delivery */
	int64_t connect_deadline;
	struct event_timer timer;
	char *fail_reason;		/* for QMGR_DELIVERY_FAILED */
};

static void qmgr_deliver_connect(struct qmgr_delivery *d);
static void qmgr_deliver_timer(void *ctx);

/* A copy of text fit for a log line: at most max bytes, no controls. */
static char *
qmgr_deliver_clean(const char *text, size_t max)
{
	char *copy = xstrndup(text, max);

	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

void
qmgr_deliver_build(const struct qmgr_deliver_request *req, struct rec *out)
{
	rec_reset(out);
	rec_put(out, "proto", PROTO_DELIVERY);
	rec_put(out, "qid", req->qid);
	rec_put(out, "queue_file", req->queue_file);
	rec_put(out, "sender", req->sender);
	rec_put(out, "nexthop", req->nexthop);
	for (size_t i = 0; i < req->rcpt_count; i++) {
		const struct qmgr_deliver_rcpt *r = &req->rcpts[i];

		rec_put(out, "rcpt", r->address);
		rec_put_size(out, "index", r->index);
		if (r->orcpt != NULL)
			rec_put(out, "orcpt", r->orcpt);
		if (r->notify != NULL)
			rec_put(out, "notify", r->notify);
	}
}

static void
qmgr_deliver_set(struct qmgr_deliver_rcpt *r, enum qmgr_deliver_status status,
    const char *dsn, const char *reason)
{
	free(r->dsn);
	free(r->reason);
	r->status = status;
	r->agent_logged = false;
	r->dsn = qmgr_deliver_clean(dsn, QMGR_DELIVER_DSN_MAX);
	r->reason = qmgr_deliver_clean(reason, QMGR_DELIVER_REASON_MAX);
}

void
qmgr_deliver_fail_all(struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count,
    const char *dsn, const char *reason)
{
	for (size_t i = 0; i < rcpt_count; i++)
		qmgr_deliver_set(&rcpts[i], QMGR_DELIVER_DEFERRED, dsn, reason);
}

void
qmgr_deliver_rcpts_release(struct qmgr_deliver_rcpt *rcpts,
    size_t rcpt_count)
{
	for (size_t i = 0; i < rcpt_count; i++) {
		xfree(&rcpts[i].dsn);
		xfree(&rcpts[i].reason);
	}
}

/* One "rcpt" group of a reply. */
struct qmgr_deliver_group {
	const char *address;
	const char *index;
	const char *status;
	const char *dsn;
	const char *reason;
};

static void
qmgr_deliver_apply_group(const struct qmgr_deliver_group *g,
    const char *transport, struct qmgr_deliver_rcpt *rcpts,
    size_t rcpt_count, bool *seen)
{
	enum qmgr_deliver_status status;
	const char *dsn = g->dsn, *reason = g->reason;
	unsigned long long index;
	char *end;

	if (g->address == NULL)
		return;
	if (g->index == NULL || g->index[0] < '0' || g->index[0] > '9')
		goto bad;
	errno = 0;
	index = strtoull(g->index, &end, 10);
	if (errno != 0 || *end != '\0')
		goto bad;
	for (size_t i = 0; i < rcpt_count; i++) {
		if (rcpts[i].index != index || seen[i])
			continue;
		if (strcmp(rcpts[i].address, g->address) != 0)
			goto bad;
		if (g->status == NULL)
			goto bad;
		if (strcmp(g->status, "sent") == 0) {
			status = QMGR_DELIVER_SENT;
			if (dsn == NULL || dsn[0] != '2')
				dsn = "2.0.0";
		} else if (strcmp(g->status, "bounced") == 0) {
			status = QMGR_DELIVER_BOUNCED;
			if (dsn == NULL || dsn[0] != '5')
				dsn = "5.0.0";
		} else if (strcmp(g->status, "deferred") == 0) {
			status = QMGR_DELIVER_DEFERRED;
			if (dsn == NULL || dsn[0] != '4')
				dsn = "4.0.0";
		} else {
			goto bad;
		}
		if (reason == NULL)
			reason = status == QMGR_DELIVER_SENT ? "delivered" :
			    "no reason given";
		qmgr_deliver_set(&rcpts[i], status, dsn, reason);
		/* Agents log their results, as Postfix's do: one line per
		 * delivery for log tools (pflogsumm) to count. */
		rcpts[i].agent_logged = true;
		seen[i] = true;
		return;
	}
bad:
	log_warn("delivery agent %s: ignoring a malformed or unexpected "
	    "status for recipient index %s", transport,
	    g->index != NULL ? g->index : "(none)");
}

int
qmgr_deliver_apply_reply(const struct rec *reply, const char *transport,
    struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count)
{
	struct qmgr_deliver_group group = { 0 };
	const char *overall = NULL;
	bool *seen;
	char *missing;

	if (reply->count == 0 || strcmp(reply->attrs[0].name, "proto") != 0 ||
	    strcmp(reply->attrs[0].value, PROTO_DELIVERY) != 0) {
		missing = xasprintf("delivery agent %s: malformed reply",
		    transport);
		qmgr_deliver_fail_all(rcpts, rcpt_count, "4.3.0", missing);
		free(missing);
		return -1;
	}
	seen = xcalloc(rcpt_count > 0 ? rcpt_count : 1, sizeof(*seen));
	for (size_t i = 1; i < reply->count; i++) {
		const char *name = reply->attrs[i].name;
		const char *value = reply->attrs[i].value;

		if (strcmp(name, "rcpt") == 0) {
			qmgr_deliver_apply_group(&group, transport, rcpts,
			    rcpt_count, seen);
			memset(&group, 0, sizeof(group));
			group.address = value;
		} else if (group.address == NULL) {
			/* Before any rcpt: an agent's whole-request answer. */
			if (strcmp(name, "reason") == 0 ||
			    strcmp(name, "text") == 0)
				overall = value;
		} else if (strcmp(name, "index") == 0) {
			group.index = value;
		} else if (strcmp(name, "status") == 0) {
			group.status = value;
		} else if (strcmp(name, "dsn") == 0) {
			group.dsn = value;
		} else if (strcmp(name, "reason") == 0) {
			group.reason = value;
		}
	}
	qmgr_deliver_apply_group(&group, transport, rcpts, rcpt_count, seen);
	missing = xasprintf("delivery agent %s gave no status for this "
	    "recipient%s%s", transport, overall != NULL ? ": " : "",
	    overall != NULL ? overall : "");
	for (size_t i = 0; i < rcpt_count; i++)
		if (!seen[i])
			qmgr_deliver_set(&rcpts[i], QMGR_DELIVER_DEFERRED,
			    "4.3.0", missing);
	free(missing);
	free(seen);
	return 0;
}

/* The end of a delivery: release everything, then report. */
static void
qmgr_deliver_finish(struct qmgr_delivery *d)
{
	qmgr_deliver_done_fn done = d->done;
	void *ctx = d->ctx;
	struct qmgr_deliver_rcpt *rcpts = d->rcpts;
	size_t rcpt_count = d->rcpt_count;

	if (d->fd >= 0) {
		event_del(d->loop, d->fd);
		close(d->fd);
	}
	event_timer_cancel(d->loop, &d->timer);
	buf_release(&d->out);
	buf_release(&d->in);
	free(d->path);
	free(d->transport);
	free(d->qid);
	free(d->fail_reason);
	free(d);
	done(ctx, rcpts, rcpt_count);
}

static void
qmgr_deliver_fail(struct qmgr_delivery *d, const char *what)
{
	char *reason;

	if (d->reused && d->in.len == 0 && io_now_ms() < d->deadline) {
		/* The agent may have closed the idle connection as the
		 * request went out: send it again on a new one. */
		event_del(d->loop, d->fd);
		close(d->fd);
		d->fd = -1;
		d->reused = false;
		d->no_pool = true;
		d->out_done = 0;
		d->state = QMGR_DELIVERY_RETRY;
		event_timer_set(d->loop, &d->timer, 0, qmgr_deliver_timer, d);
		return;
	}
	reason = xasprintf("delivery agent %s %s", d->transport, what);

	qmgr_deliver_fail_all(d->rcpts, d->rcpt_count, "4.3.0", reason);
	free(reason);
	qmgr_deliver_finish(d);
}

static void
qmgr_deliver_timer(void *ctx)
{
	struct qmgr_delivery *d = ctx;

	if (d->state == QMGR_DELIVERY_FAILED) {
		qmgr_deliver_fail_all(d->rcpts, d->rcpt_count, "4.3.0",
		    d->fail_reason);
		qmgr_deliver_finish(d);
	} else if (io_now_ms() >= d->deadline) {
		log_warn("%s: delivery agent %s timed out", d->qid,
		    d->transport);
		qmgr_deliver_fail(d, "crashed or timed out (no reply in time)");
	} else if (d->state == QMGR_DELIVERY_RETRY) {
		qmgr_deliver_connect(d);
	}
}

static void
qmgr_deliver_read(struct qmgr_delivery *d)
{
	struct rec *reply;
	ssize_t n, used;

	if (buf_reserve(&d->in, QMGR_DELIVER_READ_SIZE) < 0) {
		qmgr_deliver_fail(d, "sent a reply that is too long");
		return;
	}
	n = read(d->fd, d->in.data + d->in.len, QMGR_DELIVER_READ_SIZE);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		qmgr_deliver_fail(d, "crashed or timed out (connection "
		    "broken)");
		return;
	}
	if (n == 0) {
		qmgr_deliver_fail(d, "crashed or timed out (connection closed "
		    "without a reply)");
		return;
	}
	buf_commit(&d->in, (size_t)n);
	reply = rec_new();
	used = rec_parse(reply, d->in.data, d->in.len);
	if (used < 0) {
		rec_free(&reply);
		qmgr_deliver_fail(d, "sent a malformed reply");
		return;
	}
	if (used > 0) {
		(void)qmgr_deliver_apply_reply(reply, d->transport, d->rcpts,
		    d->rcpt_count);
		rec_free(&reply);
		/* Nothing unasked-for after the reply: reusable. */
		if (d->pool != NULL && (size_t)used == d->in.len) {
			connpool_put(d->pool, d->path, d->fd, d->born);
			d->fd = -1;
		}
		qmgr_deliver_finish(d);
		return;
	}
	rec_free(&reply);
}

static void
qmgr_deliver_write(struct qmgr_delivery *d)
{
	while (d->out_done < d->out.len) {
		ssize_t n = send(d->fd, d->out.data + d->out_done,
		    d->out.len - d->out_done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				(void)event_mod(d->loop, d->fd, EVENT_WRITE);
				return;
			}
			qmgr_deliver_fail(d, "crashed or timed out (connection "
			    "broken while sending the request)");
			return;
		}
		d->out_done += (size_t)n;
	}
	d->state = QMGR_DELIVERY_READING;
	event_mod(d->loop, d->fd, EVENT_READ);
}

static void
qmgr_deliver_event(int fd, int events, void *ctx)
{
	struct qmgr_delivery *d = ctx;
	int error = 0;
	socklen_t len = sizeof(error);

	switch (d->state) {
	case QMGR_DELIVERY_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
			error = errno;
		if (error == EAGAIN) {
			event_del(d->loop, d->fd);
			close(d->fd);
			d->fd = -1;
			d->state = QMGR_DELIVERY_RETRY;
			event_timer_set(d->loop, &d->timer,
			    QMGR_DELIVER_RETRY_MS, qmgr_deliver_timer, d);
			return;
		}
		if (error != 0) {
			errno = error;
			qmgr_deliver_fail(d, "not available (connect failed)");
			return;
		}
		d->state = QMGR_DELIVERY_WRITING;
		/* FALLTHROUGH */
	case QMGR_DELIVERY_WRITING:
		qmgr_deliver_write(d);
		return;
	case QMGR_DELIVERY_READING:
		qmgr_deliver_read(d);
		return;
	default:
		return;
	}
}

static void
qmgr_deliver_connect(struct qmgr_delivery *d)
{
	struct sockaddr_un sun;
	int fd, n, saved_errno;
	int64_t now = io_now_ms(), wait;

	if (d->pool != NULL && !d->no_pool &&
	    (fd = connpool_take(d->pool, d->path, EVENT_READ,
	    qmgr_deliver_event, d, &d->born)) >= 0) {
		/* Watched for reading as in the pool: the request goes out
		 * at once, and the reply is what we wait for. */
		d->fd = fd;
		d->reused = true;
		d->state = QMGR_DELIVERY_WRITING;
		event_timer_set(d->loop, &d->timer, d->deadline - now,
		    qmgr_deliver_timer, d);
		qmgr_deliver_write(d);
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(d->path) >= sizeof(sun.sun_path)) {
		qmgr_deliver_fail(d, "has a name that is too long");
		return;
	}
	memcpy(sun.sun_path, d->path, strlen(d->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket: %m");
		qmgr_deliver_fail(d, "not reachable (out of descriptors)");
		return;
	}
	n = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (n == 0 || errno == EINPROGRESS) {
		d->fd = fd;
		d->born = now;
		d->state = n == 0 ? QMGR_DELIVERY_WRITING :
		    QMGR_DELIVERY_CONNECTING;
		if (event_add(d->loop, fd, EVENT_WRITE, qmgr_deliver_event,
		    d) < 0) {
			qmgr_deliver_fail(d, "not reachable (event loop)");
			return;
		}
		event_timer_set(d->loop, &d->timer, d->deadline - now,
		    qmgr_deliver_timer, d);
		return;
	}
	saved_errno = errno;
	close(fd);
	if (saved_errno == EAGAIN && now < d->connect_deadline) {
		/* The agent's backlog is full: the master is starting more
		 * agents. Try again shortly. */
		d->state = QMGR_DELIVERY_RETRY;
		wait = d->connect_deadline - now;
		if (wait > QMGR_DELIVER_RETRY_MS)
			wait = QMGR_DELIVER_RETRY_MS;
		event_timer_set(d->loop, &d->timer, wait, qmgr_deliver_timer,
		    d);
		return;
	}
	errno = saved_errno;
	log_warn("%s: connect to private/%s: %m", d->qid, d->transport);
	qmgr_deliver_fail(d, saved_errno == EAGAIN ?
	    "is busy (connect timed out)" : "not available (connect failed)");
}

void
qmgr_deliver_start(struct event_loop *loop,
    const struct qmgr_deliver_request *req, qmgr_deliver_done_fn done,
    void *ctx)
{
	struct qmgr_delivery *d = xcalloc(1, sizeof(*d));
	struct rec *request = rec_new();
	int64_t now = io_now_ms();

	d->loop = loop;
	d->fd = -1;
	d->pool = req->pool;
	d->path = xasprintf("private/%s", req->transport);
	d->transport = xstrdup(req->transport);
	d->qid = xstrdup(req->qid);
	d->rcpts = req->rcpts;
	d->rcpt_count = req->rcpt_count;
	d->done = done;
	d->ctx = ctx;
	d->deadline = now + req->timeout_ms;
	d->connect_deadline = now + req->connect_timeout_ms;
	for (size_t i = 0; i < d->rcpt_count; i++) {
		d->rcpts[i].dsn = NULL;
		d->rcpts[i].reason = NULL;
	}
	buf_init(&d->out, REC_MAX);
	buf_init(&d->in, REC_MAX);
	qmgr_deliver_build(req, request);
	if (rec_format(request, &d->out) < 0) {
		rec_free(&request);
		d->state = QMGR_DELIVERY_FAILED;
		d->fail_reason = xasprintf("delivery request to %s is too "
		    "long", d->transport);
		event_timer_set(loop, &d->timer, 0, qmgr_deliver_timer, d);
		return;
	}
	rec_free(&request);
	/* Connect from the loop, so that done is never called from here
	 * even when the connect fails at once. */
	d->state = QMGR_DELIVERY_RETRY;
	event_timer_set(loop, &d->timer, 0, qmgr_deliver_timer, d);
}
