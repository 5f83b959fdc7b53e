/*
 * qmgr_queue.c - the queue manager: the life of each message in active/.
 *
 * Life of a message (all paths relative to queue_directory, our cwd):
 *   incoming/QID  --rename-->  active/QID   (log "from=<>, size, nrcpt
 *                                            (queue active)")
 *   active/QID: every recipient not marked "done" is resolved to a
 *   transport and nexthop (qmgr_resolve.c) and grouped into delivery jobs
 *   of at most $TRANSPORT_destination_recipient_limit recipients; jobs run
 *   through qmgr_deliver.c. A recipient is marked done in the file
 *   (queue_mark_done, fdatasync) only after its agent said sent or bounced.
 *   When no job is left:
 *     no recipient deferred -> active/QID blanked and moved to free/ for
 *                              reuse, or unlinked (queue_pool_put;
 *                              "QID: removed")
 *     some deferred         -> log/QID rewritten (one rec record per
 *                              recipient: rcpt, index, status, dsn,
 *                              reason, relay, time), the file's mtime set
 *                              to the next attempt, rename to deferred/QID
 *   deferred/QID --rename--> active/QID once its mtime has passed.
 *
 * qmgr_scan.c finds the files (incoming/, due ones in deferred/) and
 * hands them to qmgr_queue_activate(); qmgr_sched.c runs the jobs with
 * per-transport and per-destination concurrency.
 *
 * Crash safety: we may be killed -9 at any moment. At start everything in
 * active/ goes back to incoming/ (as Postfix's qmgr does) and is scheduled
 * again; recipients already marked done stay done. Duplicates after a
 * crash are possible, loss is not. Renames are not fsynced: a rename lost
 * in a crash leaves the file in its earlier queue, which is scheduled too.
 *
 * Bounces: a bounced recipient (the agent said so, or the message
 * expired) is logged with status=bounced, marked done, and its record
 * kept in log/QID across runs. When no recipient is pending and some
 * bounced, qmgr asks the bounce daemon (bounce/1, qmgr_bounce.c) for the
 * non-delivery notice BEFORE removing the file; only when bounce says the
 * notice is queued are the file and log/QID removed. When it fails, every
 * recipient is marked done on disk and the file goes to deferred/ with a
 * retry time, so the next run asks again (and delivers nothing twice).
 * delay_warning_time (0: off): a deferred message older than that gets
 * one delay warning (request=warn), remembered as a "warned" record in
 * log/QID.
 *
 * Recipients whose transport has no socket private/TRANSPORT are deferred
 * without a connection: for the relay and default classes with "4.4.1
 * outbound delivery is not available yet", so that adding the smtp agent
 * to master.cf later needs no change here.
 *
 * main.cf parameters read here: qmgr_message_active_limit,
 * minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime,
 * bounce_queue_lifetime, delay_warning_time, ipc_timeout (a whole
 * delivery; connecting to a busy agent gives up after
 * QMGR_CONNECT_TIMEOUT, Postfix's qmgr_ipc_timeout); qmgr_sched.c reads
 * the concurrency and recipient limits, qmgr_scan.c queue_run_delay,
 * qmgr_resolve.c the address routing parameters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "qmgr_backoff.h"
#include "qmgr_bounce.h"
#include "qmgr_deliver.h"
#include "qmgr_dest.h"
#include "qmgr_queue.h"
#include "qmgr_resolve.h"
#include "qmgr_scan.h"
#include "qmgr_sched.h"
#include "queue.h"
#include "queue_pool.h"

#define QMGR_CONNECT_TIMEOUT	60	/* seconds */
#define QMGR_LOG_MAX		(4 * 1024 * 1024)	/* one log/QID file */
#define QMGR_PATH_MAX		(NAME_MAX + 16)	/* "incoming/" + a name */

/* A bounce/1 request (non-delivery notice or delay warning) for a
 * message whose jobs are done. */
enum qmgr_notice {
	QMGR_NOTICE_NONE,		/* none asked this run */
	QMGR_NOTICE_BUSY,		/* asked, no answer yet */
	QMGR_NOTICE_QUEUED,		/* bounce queued it (or needed none) */
	QMGR_NOTICE_FAILED,		/* nothing queued: try next run */
};

struct qmgr_message {
	char qid[QUEUE_ID_MAX + 1];
	char path[QMGR_PATH_MAX];	/* "active/QID" */
	struct queue_file *q;
	long long arrival;
	const char *sender;		/* in q->env */
	size_t jobs;			/* waiting or running */
	size_t deferred_count;
	size_t bounced_count;		/* this run and earlier ones */
	struct buf log;			/* the records of log/QID */
	bool has_log;			/* log/QID was there or written */
	bool hold;			/* hold requested */
	bool delete;			/* qmgr/1 delete: remove when done */
	bool warned;			/* a delay warning was queued */
	enum qmgr_notice notice;	/* bounce/1 for this run */
	struct qmgr_message *prev;
	struct qmgr_message *next;
};

static struct event_loop *qmgr_loop;
static struct qmgr_resolver *qmgr_resolver;
static struct qmgr_message *qmgr_messages;
static size_t qmgr_active_count;


/* Configuration, read once by qmgr_queue_init(). */
static size_t qmgr_active_limit;
static long long qmgr_min_backoff;
static long long qmgr_max_backoff;
static long long qmgr_max_lifetime;
static long long qmgr_bounce_lifetime;
static long long qmgr_delay_warning;
static long long qmgr_delivery_timeout;
static long long qmgr_connect_timeout;


static double
qmgr_queue_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An integer parameter, or fallback's value when name is not set. */
static long long
qmgr_queue_param_time(const char *name, long long fallback)
{
	const char *value = config_get(name);

	if (value[0] == '\0')
		return fallback;
	return config_get_time(name);
}

/* Every message in active/ holds its file open: raise the descriptor
 * limit as far as allowed, and keep the active limit below it with room
 * for agent connections and qmgr/1 clients. */
static void
qmgr_queue_fit_descriptors(void)
{
	struct rlimit rl;
	size_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 10000000)
		return;
	room = rl.rlim_cur > 400 ? (size_t)rl.rlim_cur - 300 :
	    (size_t)rl.rlim_cur / 4;
	if (room < 1)
		room = 1;
	if (qmgr_active_limit > room) {
		log_info("qmgr_message_active_limit %zu lowered to %zu: only "
		    "%llu file descriptors", qmgr_active_limit, room,
		    (unsigned long long)rl.rlim_cur);
		qmgr_active_limit = room;
	}
}

void
qmgr_queue_init(void)
{
	char *error = NULL;
	long long n;

	qmgr_resolver = qmgr_resolve_open(&error);
	if (qmgr_resolver == NULL)
		log_fatal("%s", error);
	n = config_get_int("qmgr_message_active_limit");
	qmgr_active_limit = n > 0 ? (size_t)n : 20000;
	qmgr_queue_fit_descriptors();
	qmgr_min_backoff = qmgr_queue_param_time("minimal_backoff_time", 300);
	qmgr_max_backoff = qmgr_queue_param_time("maximal_backoff_time", 4000);
	qmgr_max_lifetime = qmgr_queue_param_time("maximal_queue_lifetime",
	    5 * 86400);
	qmgr_bounce_lifetime = qmgr_queue_param_time("bounce_queue_lifetime",
	    5 * 86400);
	qmgr_delay_warning = qmgr_queue_param_time("delay_warning_time", 0);
	qmgr_delivery_timeout = qmgr_queue_param_time("ipc_timeout", 3600);
	if (qmgr_delivery_timeout < 1)
		qmgr_delivery_timeout = 3600;
	/* XXX Postfix's qmgr_ipc_timeout; not in config_params.c yet. */
	qmgr_connect_timeout = QMGR_CONNECT_TIMEOUT;
	qmgr_sched_init(qmgr_connect_timeout, qmgr_delivery_timeout,
	    qmgr_min_backoff);
}

/*
 * Messages and recipients.
 */

/* Append one log/QID record for recipient i. */
static void
qmgr_message_log_record(struct qmgr_message *msg, size_t i,
    const char *status, const char *dsn, const char *reason,
    const char *relay)
{
	struct rec *r = rec_new();

	rec_put(r, "rcpt", msg->q->rcpts[i].address);
	rec_put_size(r, "index", i);
	rec_put(r, "status", status);
	rec_put(r, "dsn", dsn);
	rec_put(r, "reason", reason);
	rec_put(r, "relay", relay);
	rec_put_int(r, "time", (long long)time(NULL));
	if (rec_format(r, &msg->log) < 0)
		log_warn("%s: log/%s is full; reason for <%s> not kept",
		    msg->qid, msg->qid, msg->q->rcpts[i].address);
	rec_free(&r);
}

/* Keep the bounced records of an earlier log/QID (the bounce daemon will
 * want them); deferred ones are rewritten by this run. */
static void
qmgr_message_load_log(struct qmgr_message *msg)
{
	char path[QMGR_PATH_MAX];
	struct buf old;
	struct rec *r;
	size_t at = 0;
	ssize_t used;

	snprintf(path, sizeof(path), "log/%s", msg->qid);
	buf_init(&old, QMGR_LOG_MAX);
	if (io_read_file(path, QMGR_LOG_MAX, &old) < 0) {
		if (errno != ENOENT) {
			log_warn("%s: read %s: %m", msg->qid, path);
			msg->has_log = true;
		}
		buf_release(&old);
		return;
	}
	msg->has_log = true;
	r = rec_new();
	while (at < old.len &&
	    (used = rec_parse(r, old.data + at, old.len - at)) > 0) {
		const char *status = rec_get(r, "status");

		at += (size_t)used;
		if (status != NULL && strcmp(status, "bounced") == 0 &&
		    rec_format(r, &msg->log) == 0)
			msg->bounced_count++;
		if (rec_get(r, "warned") != NULL &&
		    rec_format(r, &msg->log) == 0)
			msg->warned = true;	/* qmgr_message_notice_done() */
	}
	rec_free(&r);
	buf_release(&old);
}

/* Recipients not yet done. */
static size_t
qmgr_message_pending(const struct qmgr_message *msg)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->q->rcpt_count; i++)
		if (!msg->q->rcpts[i].done)
			n++;
	return n;
}

/* The outcome for recipient i: mark, log, record. */
void
qmgr_message_result(struct qmgr_message *msg, size_t i, const char *relay,
    enum qmgr_deliver_status status, const char *dsn, const char *reason,
    bool agent_logged)
{
	const char *address = msg->q->rcpts[i].address;
	double now = qmgr_queue_now();
	double delay = now - (double)msg->arrival;
	long long lifetime = msg->sender[0] == '\0' ? qmgr_bounce_lifetime :
	    qmgr_max_lifetime;
	char *expired = NULL;

	if (delay < 0)
		delay = 0;
	if (status == QMGR_DELIVER_DEFERRED &&
	    qmgr_backoff_expired(msg->arrival, (long long)now, lifetime)) {
		/* RFC 3463 X.4.7: delivery time expired. */
		expired = xasprintf("message expired after %lld seconds in "
		    "the queue: %s", lifetime, reason);
		status = QMGR_DELIVER_BOUNCED;
		dsn = "5.4.7";
		reason = expired;
	}
	switch (status) {
	case QMGR_DELIVER_SENT:
	case QMGR_DELIVER_BOUNCED:
		/* The last pending recipient needs no mark: the file is
		 * removed next, and a crash before that redelivers (a
		 * duplicate, never a loss) either way. Saves an fdatasync
		 * per single-recipient message. */
		if (qmgr_message_pending(msg) > 1 &&
		    queue_mark_done(msg->q, i) < 0)
			log_warn("%s: cannot mark <%s> done (it may be "
			    "delivered again): %m", msg->qid, address);
		msg->q->rcpts[i].done = true;
		break;
	case QMGR_DELIVER_DEFERRED:
		break;
	}
	/* The agent already logged what it did; log what qmgr decided
	 * itself (no agent, a crashed agent, an expired message). */
	bool quiet = agent_logged && expired == NULL;

	switch (status) {
	case QMGR_DELIVER_SENT:
		if (!quiet)
			log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, "
			    "status=sent (%s)", msg->qid, address, relay, delay,
			    dsn, reason);
		break;
	case QMGR_DELIVER_BOUNCED:
		if (!quiet)
			log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, "
			    "status=bounced (%s)", msg->qid, address, relay,
			    delay, dsn, reason);
		qmgr_message_log_record(msg, i, "bounced", dsn, reason, relay);
		msg->bounced_count++;
		break;
	case QMGR_DELIVER_DEFERRED:
		if (!quiet)
			log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, "
			    "status=deferred (%s)", msg->qid, address, relay,
			    delay, dsn, reason);
		qmgr_message_log_record(msg, i, "deferred", dsn, reason,
		    relay);
		msg->deferred_count++;
		break;
	}
	free(expired);
}

static void
qmgr_message_free(struct qmgr_message *msg)
{
	if (msg->prev != NULL)
		msg->prev->next = msg->next;
	else
		qmgr_messages = msg->next;
	if (msg->next != NULL)
		msg->next->prev = msg->prev;
	queue_close(&msg->q);
	buf_release(&msg->log);
	free(msg);
	if (qmgr_active_count-- == qmgr_active_limit) {
		/* A slot is free again: look for more work soon, without
		 * rescanning a large deferred/ for every message. */
		qmgr_scan_wakeup();
		qmgr_scan_deferred_at((long long)time(NULL) + 1);
	}
}

static void
qmgr_message_write_log(struct qmgr_message *msg)
{
	char path[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "log/%s", msg->qid);
	msg->has_log = true;	/* even if it failed half-way */
	if (io_write_file_atomic(path, msg->log.data, msg->log.len,
	    0600) < 0)
		log_warn("%s: write %s: %m", msg->qid, path);
}

static void
qmgr_message_unlink_log(struct qmgr_message *msg)
{
	char path[QMGR_PATH_MAX];

	if (!msg->has_log)
		return;		/* most messages: no failed unlink each */
	snprintf(path, sizeof(path), "log/%s", msg->qid);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("%s: unlink %s: %m", msg->qid, path);
}

static void qmgr_message_finish(struct qmgr_message *msg);

/* The bounce/1 request for msg ended: note the outcome, finish again. */
static void
qmgr_message_notice_done(void *ctx, int status, const char *new_qid,
    const char *text)
{
	struct qmgr_message *msg = ctx;
	const char *kind = msg->deferred_count > 0 ? "delay" : "non-delivery";

	if (status < 0) {
		log_warn("%s: sender %s notification not queued, will try "
		    "again: %s", msg->qid, kind, text);
		msg->notice = QMGR_NOTICE_FAILED;
	} else {
		/* Postfix's words, for log tools: a notice about mail from
		 * <> goes to the postmaster. */
		if (new_qid != NULL)
			log_info("%s: %s %s notification: %s", msg->qid,
			    msg->sender[0] == '\0' ? "postmaster" : "sender",
			    kind, new_qid);
		msg->notice = QMGR_NOTICE_QUEUED;
		if (msg->deferred_count > 0) {
			struct rec *r = rec_new();

			rec_put_int(r, "warned", (long long)time(NULL));
			(void)rec_format(r, &msg->log);
			rec_free(&r);
			msg->warned = true;
		}
	}
	qmgr_message_finish(msg);
}

/* Ask bounce for the notice msg needs now, if any: a non-delivery notice
 * when recipients bounced and none is pending, a delay warning when a
 * deferred message passed delay_warning_time. true when a request runs
 * (qmgr_message_notice_done() finishes msg later). */
static bool
qmgr_message_notice(struct qmgr_message *msg)
{
	struct qmgr_bounce_request req = {
		.warn = msg->deferred_count > 0,
		.qid = msg->qid,
		.queue_file = msg->path,
		.connect_timeout_ms = qmgr_connect_timeout * 1000,
		.timeout_ms = qmgr_delivery_timeout * 1000,
	};

	if (msg->notice != QMGR_NOTICE_NONE || msg->delete)
		return false;
	if (req.warn) {
		if (qmgr_delay_warning <= 0 || msg->warned ||
		    msg->sender[0] == '\0' ||
		    (long long)time(NULL) - msg->arrival < qmgr_delay_warning)
			return false;
	} else if (msg->bounced_count == 0) {
		return false;
	}
	msg->notice = QMGR_NOTICE_BUSY;
	qmgr_message_write_log(msg);	/* what bounce reads */
	qmgr_bounce_start(qmgr_loop, &req, qmgr_message_notice_done, msg);
	return true;
}

/* The notice failed and the file goes back to deferred/ with nothing
 * pending: mark every done recipient on disk (the last one may be only
 * in memory, see qmgr_message_result), or the next run would deliver it
 * again instead of only asking bounce again. */
static void
qmgr_message_mark_all_done(struct qmgr_message *msg)
{
	for (size_t i = 0; i < msg->q->rcpt_count; i++) {
		if (!msg->q->rcpts[i].done)
			continue;
		msg->q->rcpts[i].done = false;
		/* EPROTO: already "done" in the file. */
		if (queue_mark_done(msg->q, i) < 0 && errno != EPROTO)
			log_warn("%s: cannot mark <%s> done (it may be "
			    "delivered again): %m", msg->qid,
			    msg->q->rcpts[i].address);
		msg->q->rcpts[i].done = true;
	}
}

/* No job left: ask bounce for a notice when one is due, then remove the
 * file or move it to deferred/ (or hold/). */
static void
qmgr_message_finish(struct qmgr_message *msg)
{
	char to[QMGR_PATH_MAX];

	if (qmgr_message_notice(msg))
		return;
	if (msg->delete) {
		qmgr_message_unlink_log(msg);
		if (queue_pool_put(msg->path, msg->q->fd) < 0)
			log_fatal("%s: unlink %s: %m", msg->qid, msg->path);
		log_info("%s: removed (deleted by request)", msg->qid);
	} else if (msg->deferred_count > 0 ||
	    msg->notice == QMGR_NOTICE_FAILED) {
		long long now = (long long)time(NULL);
		long long due = now + qmgr_backoff_delay(msg->arrival, now,
		    qmgr_min_backoff, qmgr_max_backoff);
		struct timespec times[2] = {
			{ .tv_sec = (time_t)now }, { .tv_sec = (time_t)due },
		};

		if (msg->deferred_count == 0)
			qmgr_message_mark_all_done(msg);
		qmgr_message_write_log(msg);
		/* The mtime is the next attempt (as in Postfix); set before
		 * the rename, so a crash leaves no deferred file without it
		 * (a lost mtime only means an early retry). */
		if (utimensat(AT_FDCWD, msg->path, times, 0) < 0)
			log_warn("%s: utimensat %s: %m", msg->qid, msg->path);
		snprintf(to, sizeof(to), "%s/%s",
		    msg->hold ? "hold" : "deferred", msg->qid);
		if (rename(msg->path, to) < 0)
			log_fatal("%s: rename %s %s: %m", msg->qid, msg->path,
			    to);
		if (msg->hold)
			log_info("%s: placed on hold", msg->qid);
		else
			qmgr_scan_deferred_at(due);
	} else {
		/* Any notice is queued (qmgr_message_notice). */
		qmgr_message_unlink_log(msg);
		/* XXX Postfix would fsync nothing here either: a lost
		 * removal means the file comes back with every recipient
		 * but the last marked done, and the last gets a duplicate. */
		if (queue_pool_put(msg->path, msg->q->fd) < 0)
			log_fatal("%s: unlink %s: %m", msg->qid, msg->path);
		log_info("%s: removed", msg->qid);
	}
	qmgr_message_free(msg);
}

/* Postfix's error(8) and discard(8) transports need no process: an
 * "error:5.1.1 text" route bounces the recipient with that text (4.x.x
 * defers it), "discard:text" drops it as delivered. true when handled. */
static bool
qmgr_route_builtin(struct qmgr_message *msg, size_t i,
    const struct qmgr_route *route)
{
	const char *text = route->nexthop;
	char dsn[16] = "5.0.0";
	size_t n = strspn(text, "0123456789.");

	if (strcmp(route->transport, "discard") == 0) {
		qmgr_message_result(msg, i, "discard", QMGR_DELIVER_SENT,
		    "2.0.0", *text != '\0' ? text : "discarded", false);
		return true;
	}
	if (strcmp(route->transport, "error") != 0)
		return false;
	if (n >= 5 && n < sizeof(dsn) && (text[0] == '4' || text[0] == '5') &&
	    text[1] == '.' && (text[n] == ' ' || text[n] == '\0')) {
		memcpy(dsn, text, n);
		dsn[n] = '\0';
		text += n + strspn(text + n, " ");
	}
	qmgr_message_result(msg, i, "error", dsn[0] == '4' ?
	    QMGR_DELIVER_DEFERRED : QMGR_DELIVER_BOUNCED, dsn,
	    *text != '\0' ? text : "mail for this destination is refused",
	    false);
	return true;
}

/* true when private/NAME is a socket we can try. */
static bool
qmgr_transport_present(const char *name)
{
	char path[256];
	struct stat st;
	int n = snprintf(path, sizeof(path), "private/%s", name);

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

/* Jobs of one message being built: one open job per transport+nexthop. */
struct qmgr_open_job {
	struct qmgr_transport *transport;
	char *nexthop;
	struct qmgr_job *job;		/* the one being filled, or NULL */
	bool present;			/* private/TRANSPORT exists */
};

/* Resolve every pending recipient and queue its jobs. */
static void
qmgr_message_schedule(struct qmgr_message *msg)
{
	struct qmgr_open_job *open = NULL;
	size_t open_count = 0, open_cap = 0;

	for (size_t i = 0; i < msg->q->rcpt_count; i++) {
		const char *address = msg->q->rcpts[i].address;
		struct qmgr_route route;
		const char *reason;
		struct qmgr_open_job *o = NULL;
		struct qmgr_transport *transport;

		if (msg->q->rcpts[i].done)
			continue;
		if (qmgr_resolve(qmgr_resolver, address, &route,
		    &reason) < 0) {
			/* reason is "X.Y.Z text" */
			char *dsn = xstrndup(reason, strcspn(reason, " "));

			qmgr_message_result(msg, i, "none",
			    QMGR_DELIVER_DEFERRED, dsn,
			    reason + strcspn(reason, " ") + 1, false);
			free(dsn);
			continue;
		}
		if (qmgr_route_builtin(msg, i, &route)) {
			qmgr_route_release(&route);
			continue;
		}
		transport = qmgr_sched_transport(route.transport);
		for (size_t j = 0; j < open_count; j++)
			if (open[j].transport == transport &&
			    strcmp(open[j].nexthop, route.nexthop) == 0)
				o = &open[j];
		if (o == NULL) {
			if (open_count == open_cap) {
				open_cap = open_cap ? open_cap * 2 : 4;
				open = xreallocarray(open, open_cap,
				    sizeof(*open));
			}
			o = &open[open_count++];
			o->transport = transport;
			o->nexthop = xstrdup(route.nexthop);
			o->job = NULL;
			o->present = qmgr_transport_present(route.transport);
		}
		if (!o->present) {
			char *text;

			if (route.route_class == QMGR_ROUTE_RELAY ||
			    route.route_class == QMGR_ROUTE_DEFAULT) {
				text = xasprintf("outbound delivery is not "
				    "available yet (no %s transport "
				    "configured)", route.transport);
				qmgr_message_result(msg, i, "none",
				    QMGR_DELIVER_DEFERRED, "4.4.1", text, false);
			} else {
				text = xasprintf("mail transport %s is not "
				    "available (no socket private/%s)",
				    route.transport, route.transport);
				qmgr_message_result(msg, i, route.transport,
				    QMGR_DELIVER_DEFERRED, "4.3.0", text,
				    false);
			}
			free(text);
		} else if (qmgr_sched_rcpt_limit(o->transport) == 1) {
			/* The recipient is the destination (qmgr_sched.c). */
			char *key = addr_lower(address);

			qmgr_sched_job_add(qmgr_sched_job_new(msg,
			    o->transport, o->nexthop, key), i);
			msg->jobs++;
			free(key);
		} else {
			if (o->job == NULL) {
				o->job = qmgr_sched_job_new(msg, o->transport,
				    o->nexthop, o->nexthop);
				msg->jobs++;
			}
			qmgr_sched_job_add(o->job, i);
			if (qmgr_sched_job_full(o->job))
				o->job = NULL;
		}
		qmgr_route_release(&route);
	}
	for (size_t j = 0; j < open_count; j++)
		free(open[j].nexthop);
	free(open);
	if (msg->jobs == 0)
		qmgr_message_finish(msg);
	else
		qmgr_sched_soon();
}

/* Move dir/qid to active/ and schedule it. */
const struct queue_recipient *
qmgr_message_rcpt(const struct qmgr_message *msg, size_t i)
{
	return &msg->q->rcpts[i];
}

void
qmgr_message_describe(const struct qmgr_message *msg, const char **qid_r,
    const char **path_r, const char **sender_r)
{
	*qid_r = msg->qid;
	*path_r = msg->path;
	*sender_r = msg->sender;
}

void
qmgr_message_job_done(struct qmgr_message *msg)
{
	if (--msg->jobs == 0)
		qmgr_message_finish(msg);
}

/* Whether path is a file queue_pool_put() blanked. */
static bool
qmgr_queue_blank(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool blank = fd >= 0 && queue_pool_is_blank(fd);

	if (fd >= 0)
		close(fd);
	return blank;
}

void
qmgr_queue_activate(const char *dir, const char *qid)
{
	char from[QMGR_PATH_MAX], corrupt[QMGR_PATH_MAX];
	struct qmgr_message *msg = xcalloc(1, sizeof(*msg));
	const char *arrival;
	char *end;

	memcpy(msg->qid, qid, strlen(qid) + 1);	/* qmgr_scan_name_ok() */
	snprintf(msg->path, sizeof(msg->path), "active/%s", qid);
	snprintf(from, sizeof(from), "%s/%s", dir, qid);
	if (rename(from, msg->path) < 0) {
		if (errno != ENOENT)
			log_warn("%s: rename %s %s: %m", qid, from, msg->path);
		free(msg);
		return;
	}
	msg->q = queue_open(msg->path, true);
	if (msg->q == NULL) {
		if (errno == EPROTO && qmgr_queue_blank(msg->path)) {
			/* Blanked for free/ when a crash stopped its move
			 * there (queue_pool.c): a finished message. */
			if (queue_pool_put(msg->path, -1) < 0)
				log_warn("%s: unlink %s: %m", qid, msg->path);
			else
				log_info("%s: removed empty queue file", qid);
		} else if (errno == EPROTO) {
			snprintf(corrupt, sizeof(corrupt), "corrupt/%s", qid);
			log_warn("%s: not a complete queue file; moved to %s",
			    qid, corrupt);
			if (rename(msg->path, corrupt) < 0)
				log_warn("%s: rename %s %s: %m", qid,
				    msg->path, corrupt);
		} else {
			log_warn("%s: open %s: %m", qid, msg->path);
			if (rename(msg->path, from) < 0)
				log_warn("%s: rename %s %s: %m", qid,
				    msg->path, from);
		}
		free(msg);
		return;
	}
	msg->sender = queue_get(msg->q, "sender");
	if (msg->sender == NULL)
		msg->sender = "";
	arrival = queue_get(msg->q, "arrival");
	msg->arrival = arrival != NULL ? strtoll(arrival, &end, 10) : 0;
	if (arrival == NULL || *end != '\0' || msg->arrival <= 0)
		msg->arrival = (long long)time(NULL);
	buf_init(&msg->log, QMGR_LOG_MAX);
	msg->next = qmgr_messages;
	if (qmgr_messages != NULL)
		qmgr_messages->prev = msg;
	qmgr_messages = msg;
	qmgr_active_count++;
	log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", qid,
	    msg->sender, msg->q->size, msg->q->rcpt_count);
	qmgr_message_load_log(msg);
	qmgr_message_schedule(msg);
}

size_t
qmgr_queue_flag_active(const char *qid, bool hold, bool delete)
{
	bool all = strcmp(qid, "ALL") == 0;
	size_t count = 0;

	for (struct qmgr_message *m = qmgr_messages; m != NULL; m = m->next) {
		if (!all && strcmp(m->qid, qid) != 0)
			continue;
		m->hold |= hold;
		m->delete |= delete;
		count++;
	}
	return count;
}

bool
qmgr_queue_has_room(void)
{
	return qmgr_active_count < qmgr_active_limit;
}

void
qmgr_queue_start(struct event_loop *loop)
{
	qmgr_loop = loop;
	qmgr_sched_start(loop);
	qmgr_scan_start(loop);
}
