/*
 * bounce_service.c - the bounce daemon: one bounce/1 request per
 * connection (lib/proto.h), from qmgr.
 *
 * For request=flush|warn we read the queue file (read-only) and log/QID,
 * pick the records to report (bounce_select), decide who hears about it
 * (bounce_route), build the notice (bounce_dsn.c) and submit it to
 * cleanup on private/cleanup as origin=bounce. Only when cleanup says ok
 * (the notice is in incoming/, fsynced) do we answer status=ok qid=NEWQID;
 * qmgr removes the original only then. Any failure answers 451 and
 * nothing is removed: a notice is late, never lost.
 *
 * Never bounce a bounce: a failure report about a null-sender message
 * goes to $2bounce_notice_recipient from $double_bounce_sender@
 * $myhostname; when that notice fails in turn (its sender is the double
 * bounce address) we only log it, as Postfix does. Delay warnings are
 * never sent about null-sender mail. Unlike Postfix, the postmaster
 * notice does not wait for "2bounce" in notify_classes (postern does not
 * act on notify_classes yet): undeliverable bounces always reach
 * $2bounce_notice_recipient, and NOTIFY does not filter that notice.
 *
 * main.cf parameters: myhostname, bounce_size_limit,
 * maximal_queue_lifetime, bounce_queue_lifetime (Will-Retry-Until),
 * 2bounce_notice_recipient, double_bounce_sender, ipc_timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bounce_service.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"

#define BOUNCE_LOG_MAX		(4 * 1024 * 1024)	/* as qmgr's */
#define BOUNCE_NOTICE_MAX	(8 * 1024 * 1024)
#define BOUNCE_PATH_MAX		(QUEUE_ID_MAX + 16)

static char *bounce_myhostname;
static char *bounce_postmaster;
static char *bounce_double_bounce;
static size_t bounce_size_limit;
static long long bounce_max_lifetime;
static long long bounce_bounce_lifetime;
static int bounce_timeout_ms;

void
bounce_service_init(void)
{
	long long n;

	bounce_myhostname = xstrdup(config_get("myhostname"));
	bounce_postmaster = xstrdup(config_get("2bounce_notice_recipient"));
	bounce_double_bounce = xstrdup(config_get("double_bounce_sender"));
	n = config_get_int("bounce_size_limit");
	bounce_size_limit = n > 0 && n < BOUNCE_NOTICE_MAX / 2 ? (size_t)n :
	    50000;
	bounce_max_lifetime = config_get_time("maximal_queue_lifetime");
	bounce_bounce_lifetime = config_get_time("bounce_queue_lifetime");
	n = config_get_time("ipc_timeout");
	bounce_timeout_ms = n > 0 && n < 86400 ? (int)n * 1000 : 3600 * 1000;
}

int
bounce_request_parse(const struct rec *req, bool *warn_r, const char **qid_r,
    const char **path_r, const char **error_r)
{
	const char *proto = rec_get(req, "proto");
	const char *request = rec_get(req, "request");
	const char *qid = rec_get(req, "qid");
	const char *path = rec_get(req, "queue_file");
	const char *slash;

	if (proto == NULL || strcmp(proto, PROTO_BOUNCE) != 0) {
		*error_r = "not a bounce/1 request";
		return -1;
	}
	if (request == NULL || (strcmp(request, "flush") != 0 &&
	    strcmp(request, "warn") != 0)) {
		*error_r = "unknown request";
		return -1;
	}
	if (qid == NULL || strlen(qid) > QUEUE_ID_MAX ||
	    !queue_id_valid(qid)) {
		*error_r = "bad queue ID";
		return -1;
	}
	if (path == NULL || (slash = strchr(path, '/')) == NULL ||
	    strcmp(slash + 1, qid) != 0 ||
	    !((slash - path == 6 && strncmp(path, "active", 6) == 0) ||
	    (slash - path == 8 && strncmp(path, "deferred", 8) == 0))) {
		*error_r = "bad queue file name";
		return -1;
	}
	*warn_r = strcmp(request, "warn") == 0;
	*qid_r = qid;
	*path_r = path;
	return 0;
}

size_t
bounce_select(struct bounce_rcpt *rcpts, size_t count,
    const struct queue_file *q, bool warn, bool for_postmaster)
{
	const char *want = warn ? "deferred" : "bounced";
	size_t kept = 0;

	for (size_t i = 0; i < count; i++) {
		struct bounce_rcpt *r = &rcpts[i];
		bool keep = strcmp(r->status, want) == 0;

		if (keep && r->index >= 0 && (size_t)r->index < q->rcpt_count &&
		    strcmp(q->rcpts[r->index].address, r->address) == 0) {
			const struct queue_recipient *qr =
			    &q->rcpts[r->index];

			xfree(&r->orcpt);
			xfree(&r->notify);
			r->orcpt = qr->orcpt ? xstrdup(qr->orcpt) : NULL;
			r->notify = qr->notify ? xstrdup(qr->notify) : NULL;
		}
		if (keep && !for_postmaster &&
		    !bounce_notify_wants(r->notify, warn))
			keep = false;
		/* One report per recipient, even if a log repeats it. */
		for (size_t j = 0; keep && j < kept; j++)
			if (rcpts[j].index == r->index &&
			    strcmp(rcpts[j].address, r->address) == 0)
				keep = false;
		if (!keep) {
			xfree(&r->address);
			xfree(&r->status);
			xfree(&r->dsn);
			xfree(&r->reason);
			xfree(&r->relay);
			xfree(&r->orcpt);
			xfree(&r->notify);
			continue;
		}
		if (kept != i) {
			rcpts[kept] = *r;
			memset(r, 0, sizeof(*r));
		}
		kept++;
	}
	return kept;
}

int
bounce_route(const char *sender, bool warn, const char *postmaster_rcpt,
    const char *double_bounce, const char *myhostname, char **to_r,
    char **from_r, bool *postmaster_r)
{
	size_t local_len = strlen(double_bounce);

	*to_r = NULL;
	*from_r = NULL;
	*postmaster_r = false;
	if (*sender == '\0') {
		if (warn)
			return -1;
		*to_r = xstrdup(postmaster_rcpt);
		*from_r = xasprintf("%s@%s", double_bounce, myhostname);
		*postmaster_r = true;
		return 0;
	}
	/* The double bounce address, with or without our domain. */
	if (strncasecmp(sender, double_bounce, local_len) == 0 &&
	    (sender[local_len] == '\0' || (sender[local_len] == '@' &&
	    strcasecmp(sender + local_len + 1, myhostname) == 0)))
		return -1;
	*to_r = xstrdup(sender);
	*from_r = xstrdup("");
	return 0;
}

/* Reading the original: all of it when it may go back whole, else up to
 * its header block. */
struct bounce_reader {
	struct buf *out;
	bool headers_only;
	bool stopped;		/* we stopped reading, not an error */
};

static int
bounce_read_piece(void *ctx, const char *data, size_t len)
{
	struct bounce_reader *r = ctx;

	if (buf_add(r->out, data, len) < 0) {
		r->stopped = true;
		return -1;
	}
	if (r->headers_only && bounce_header_length(r->out->data,
	    r->out->len) < r->out->len) {
		r->stopped = true;
		return -1;
	}
	return 0;
}

static int
bounce_read_original(struct queue_file *q, bool headers_only,
    struct buf *out)
{
	struct bounce_reader reader = {
		.out = out, .headers_only = headers_only,
	};

	if (queue_read_content(q, bounce_read_piece, &reader) < 0 &&
	    !reader.stopped)
		return -1;
	return 0;
}

/* Hand the notice to cleanup. Returns 0 with *qid_r fresh, or -1 with
 * *error_r fresh. */
static int
bounce_submit(const char *from, const char *to, const struct buf *notice,
    bool smtputf8, char **qid_r, char **error_r)
{
	struct rec *req = rec_new(), *reply = rec_new();
	struct conn *c = NULL;
	const char *status, *qid;
	bool eight_bit = false;
	int fd, result = -1;

	for (size_t i = 0; i < notice->len; i++)
		if ((unsigned char)notice->data[i] >= 0x80) {
			eight_bit = true;
			break;
		}
	rec_put(req, "proto", PROTO_CLEANUP);
	rec_put(req, "origin", "bounce");
	rec_put(req, "sender", from);
	if (eight_bit)
		rec_put(req, "body", "8BITMIME");
	if (smtputf8)
		rec_put(req, "smtputf8", "1");
	rec_put(req, "rcpt", to);
	if ((fd = io_unix_connect(PROTO_CLEANUP_PATH)) < 0) {
		*error_r = xasprintf("cannot connect to %s: %s",
		    PROTO_CLEANUP_PATH, strerror(errno));
		goto done;
	}
	c = conn_new(fd, bounce_timeout_ms);
	if (rec_write(c, req) < 0 || rec_read(c, reply) < 0) {
		*error_r = xasprintf("cleanup not answering: %s",
		    strerror(errno));
		goto done;
	}
	status = rec_get(reply, "status");
	if (status == NULL || strcmp(status, "ok") != 0)
		goto refused;
	for (size_t at = 0; at < notice->len; ) {
		size_t n = notice->len - at;

		if (n > 65536)
			n = 65536;
		if (rec_write_chunk(c, notice->data + at, n) < 0) {
			*error_r = xasprintf("cannot send the notice to "
			    "cleanup: %s", strerror(errno));
			goto done;
		}
		at += n;
	}
	if (rec_write_chunk(c, NULL, 0) < 0 || rec_read(c, reply) < 0) {
		*error_r = xasprintf("cleanup not answering: %s",
		    strerror(errno));
		goto done;
	}
	status = rec_get(reply, "status");
	qid = rec_get(reply, "qid");
	if (status == NULL || strcmp(status, "ok") != 0 || qid == NULL)
		goto refused;
	*qid_r = xstrdup(qid);
	result = 0;
	goto done;
refused:
	*error_r = xasprintf("cleanup refused the notice: %s %s %s",
	    status != NULL ? status : "?", rec_get(reply, "dsn") ?
	    rec_get(reply, "dsn") : "", rec_get(reply, "text") ?
	    rec_get(reply, "text") : "");
done:
	conn_free(&c);
	rec_free(&req);
	rec_free(&reply);
	return result;
}

/* Open path, or the same file in the other queue (qmgr may have moved it
 * meanwhile). */
static struct queue_file *
bounce_open(const char *path, const char *qid)
{
	struct queue_file *q = queue_open(path, false);
	char other[BOUNCE_PATH_MAX];

	if (q != NULL || errno != ENOENT)
		return q;
	snprintf(other, sizeof(other), "%s/%s",
	    strncmp(path, "active/", 7) == 0 ? "deferred" : "active", qid);
	return queue_open(other, false);
}

/* The work of one request. Returns 0 with *new_qid_r fresh or NULL
 * (nothing to send), or -1 with *error_r fresh. */
static int
bounce_run(bool warn, const char *qid, const char *path, char **new_qid_r,
    char **error_r)
{
	struct queue_file *q = NULL;
	struct bounce_rcpt *rcpts = NULL;
	size_t count = 0;
	struct buf log, original, notice;
	char log_path[BOUNCE_PATH_MAX], message_id[256], boundary[256];
	char *to = NULL, *from = NULL;
	const char *sender, *arrival, *smtputf8;
	bool postmaster, full_possible;
	long long now = (long long)time(NULL);
	struct bounce_notice n = { 0 };
	int result = -1;

	*new_qid_r = NULL;
	buf_init(&log, BOUNCE_LOG_MAX);
	buf_init(&original, BOUNCE_NOTICE_MAX / 2);
	buf_init(&notice, BOUNCE_NOTICE_MAX);
	q = bounce_open(path, qid);
	if (q == NULL) {
		*error_r = xasprintf("cannot open %s: %s", path,
		    strerror(errno));
		goto done;
	}
	snprintf(log_path, sizeof(log_path), "log/%s", qid);
	if (io_read_file(log_path, BOUNCE_LOG_MAX, &log) < 0) {
		if (errno != ENOENT) {
			*error_r = xasprintf("cannot read %s: %s", log_path,
			    strerror(errno));
			goto done;
		}
	}
	sender = queue_get(q, "sender");
	if (sender == NULL)
		sender = "";
	if (bounce_route(sender, warn, bounce_postmaster,
	    bounce_double_bounce, bounce_myhostname, &to, &from,
	    &postmaster) < 0) {
		if (!warn)
			log_warn("%s: undeliverable postmaster notification "
			    "discarded", qid);
		result = 0;
		goto done;
	}
	count = bounce_log_parse(log.data, log.len, &rcpts);
	count = bounce_select(rcpts, count, q, warn, postmaster);
	if (count == 0) {
		log_info("%s: no %s notice wanted (NOTIFY or nothing to "
		    "report)", qid, warn ? "delay" : "non-delivery");
		result = 0;
		goto done;
	}
	n.ret = queue_get(q, "ret");
	full_possible = q->size <= bounce_size_limit &&
	    (n.ret == NULL || strcasecmp(n.ret, "HDRS") != 0);
	if (bounce_read_original(q, !full_possible, &original) < 0) {
		*error_r = xasprintf("cannot read %s: %s", path,
		    strerror(errno));
		goto done;
	}
	arrival = queue_get(q, "arrival");
	snprintf(message_id, sizeof(message_id), "<%lld.%s.%s@%s>", now,
	    warn ? "warn" : "bounce", qid, bounce_myhostname);
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", qid, now,
	    bounce_myhostname);
	n.warn = warn;
	n.postmaster = postmaster;
	n.qid = qid;
	n.myhostname = bounce_myhostname;
	n.sender = sender;
	n.to = to;
	n.envid = queue_get(q, "envid");
	n.arrival = arrival != NULL ? strtoll(arrival, NULL, 10) : now;
	n.now = now;
	n.retry_until = n.arrival + (*sender == '\0' ?
	    bounce_bounce_lifetime : bounce_max_lifetime);
	n.message_id = message_id;
	n.boundary = boundary;
	n.size_limit = bounce_size_limit;
	n.rcpts = rcpts;
	n.rcpt_count = count;
	n.content = original.data != NULL ? original.data : "";
	n.content_len = original.len;
	n.content_size = q->size;
	if (bounce_dsn_build(&n, &notice) < 0) {
		*error_r = xasprintf("the notice is too large");
		goto done;
	}
	smtputf8 = queue_get(q, "smtputf8");
	if (bounce_submit(from, to, &notice, smtputf8 != NULL &&
	    strcmp(smtputf8, "1") == 0, new_qid_r, error_r) < 0)
		goto done;
	log_info("%s: from=<%s>, size=%zu, nrcpt=1 (%s for %s)", *new_qid_r,
	    from, notice.len, warn ? "delay warning" : postmaster ?
	    "postmaster notice" : "non-delivery notice", qid);
	result = 0;
done:
	bounce_rcpts_free(&rcpts, count);
	queue_close(&q);
	buf_release(&log);
	buf_release(&original);
	buf_release(&notice);
	free(to);
	free(from);
	return result;
}

void
bounce_service(int fd)
{
	struct conn *c = conn_new(dup(fd), bounce_timeout_ms);
	struct rec *req = rec_new(), *reply = rec_new();
	const char *qid, *path, *error;
	char *new_qid = NULL, *why = NULL;
	bool warn;

	if (c->fd < 0) {
		log_warn("dup: %m");
		goto done;
	}
	if (rec_read(c, req) < 0) {
		log_warn("bounce/1 request not read: %m");
		goto done;
	}
	rec_put(reply, "proto", PROTO_BOUNCE);
	if (bounce_request_parse(req, &warn, &qid, &path, &error) < 0) {
		log_warn("malformed bounce/1 request: %s", error);
		rec_put(reply, "status", "451");
		rec_put(reply, "text", error);
	} else if (bounce_run(warn, qid, path, &new_qid, &why) < 0) {
		log_warn("%s: %s notice not sent: %s", qid,
		    warn ? "delay" : "non-delivery", why);
		rec_put(reply, "status", "451");
		rec_put(reply, "text", why);
	} else {
		rec_put(reply, "status", "ok");
		if (new_qid != NULL)
			rec_put(reply, "qid", new_qid);
	}
	if (rec_write(c, reply) < 0)
		log_warn("bounce/1 reply not sent: %m");
done:
	free(new_qid);
	free(why);
	rec_free(&req);
	rec_free(&reply);
	conn_free(&c);
}
