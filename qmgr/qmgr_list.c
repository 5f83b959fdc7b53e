/*
 * qmgr_list.c - the qmgr/1 "list" request, postern's showq.
 *
 * The queue directories are mode 0700 mail_owner, so `postern queue list`
 * (mailq) run by any other user asks us over public/qmgr, as Postfix's
 * postqueue asks showq. A listing is a snapshot of the names in
 * incoming/, active/, deferred/ and hold/ (at most QMGR_LIST_LIMIT, taken
 * in directory order, then sorted by queue ID, i.e. by arrival); the files
 * themselves are read one at a time as the client drains the replies, so
 * memory stays bounded and other sessions and deliveries keep their turn.
 * A message that vanished since the scan (delivered, deleted) is skipped;
 * one that moved on (incoming -> active -> deferred) is read where it is
 * now, so it is neither lost nor shown twice. Incomplete files (EPROTO)
 * are skipped, as the direct listing does.
 *
 * Reading a queue file blocks: the envelope record only (queue_open does
 * not read the content) plus log/QID for the deferral reasons.
 *
 * What a client learns is what mailq shows in Postfix: queue IDs, sizes,
 * senders, pending recipients and reasons; never content or headers.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "qmgr_list.h"
#include "qmgr_queue.h"
#include "qmgr_scan.h"

#define QMGR_LIST_LOG_MAX	(4 * 1024 * 1024)	/* as qmgr_queue.c */
#define QMGR_LIST_PATH_MAX	(NAME_MAX + 16)

/* In the order a message goes through them (see qmgr_list_open). */
static const char *const qmgr_list_queues[] = {
	"incoming", "active", "deferred", "hold",
};
#define QMGR_LIST_QUEUES \
	(sizeof(qmgr_list_queues) / sizeof(qmgr_list_queues[0]))

struct qmgr_list_name {
	char *qid;
	size_t queue;		/* index into qmgr_list_queues */
};

struct qmgr_list {
	struct qmgr_list_name *names;
	size_t count;		/* names found */
	size_t next;		/* the next name to send */
	size_t sent;		/* message records sent */
	bool truncated;		/* the limit cut the scan short */
	struct rec *rec;
	struct buf log;
};

static int
qmgr_list_cmp(const void *a, const void *b)
{
	const struct qmgr_list_name *x = a, *y = b;

	return strcmp(x->qid, y->qid);
}

struct qmgr_list *
qmgr_list_new(size_t limit)
{
	struct qmgr_list *l = xcalloc(1, sizeof(*l));
	size_t cap = 0;

	for (size_t i = 0; i < QMGR_LIST_QUEUES && !l->truncated; i++) {
		DIR *d = opendir(qmgr_list_queues[i]);
		struct dirent *de;

		if (d == NULL) {
			if (errno != ENOENT)
				log_warn("list: open %s: %m",
				    qmgr_list_queues[i]);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (!qmgr_scan_name_ok(de->d_name))
				continue;
			if (l->count >= limit) {
				l->truncated = true;
				break;
			}
			if (l->count == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				l->names = xreallocarray(l->names, cap,
				    sizeof(*l->names));
			}
			l->names[l->count].qid = xstrdup(de->d_name);
			l->names[l->count].queue = i;
			l->count++;
		}
		closedir(d);
	}
	if (l->truncated)
		log_warn("list: more than %zu messages in the queue; listing "
		    "only %zu", limit, limit);
	if (l->count > 0)
		qsort(l->names, l->count, sizeof(*l->names), qmgr_list_cmp);
	l->rec = rec_new();
	buf_init(&l->log, QMGR_LIST_LOG_MAX);
	return l;
}

void
qmgr_list_free(struct qmgr_list **l_r)
{
	struct qmgr_list *l = *l_r;

	if (l == NULL)
		return;
	for (size_t i = l->next; i < l->count; i++)
		xfree(&l->names[i].qid);
	xfree(&l->names);
	rec_free(&l->rec);
	buf_release(&l->log);
	free(l);
	*l_r = NULL;
}

/* Bytes name=value takes on the wire at most (every byte %XX). */
static size_t
qmgr_list_cost(const char *name, const char *value)
{
	return strlen(name) + 2 + 3 * strlen(value);
}

/* A log/QID reason for the recipient at index (-1: unknown) with this
 * address: the first record for it wins, as in the direct listing. */
static void
qmgr_list_assign(const struct queue_file *q, char **reasons,
    const char *address, long long index, const char *reason)
{
	if (index >= 0 && (size_t)index < q->rcpt_count &&
	    strcmp(q->rcpts[index].address, address) == 0) {
		if (reasons[index] == NULL && !q->rcpts[index].done)
			reasons[index] = xstrdup(reason);
		return;
	}
	/* XXX O(recipients) per record; qmgr always writes index=, so only
	 * a log from elsewhere takes this path. */
	for (size_t i = 0; i < q->rcpt_count; i++)
		if (!q->rcpts[i].done && reasons[i] == NULL &&
		    strcmp(q->rcpts[i].address, address) == 0) {
			reasons[i] = xstrdup(reason);
			return;
		}
}

/* reasons[i] for each recipient from the log/QID records (rcpt, index,
 * ..., reason; several recipients may share one record). */
static void
qmgr_list_reasons(const struct queue_file *q, const char *log, size_t len,
    char **reasons)
{
	struct rec *r = rec_new();
	size_t at = 0;
	ssize_t used;

	while (at < len && (used = rec_parse(r, log + at, len - at)) > 0) {
		const char *address = NULL;
		long long index = -1;

		at += (size_t)used;
		for (size_t i = 0; i < r->count; i++) {
			const struct rec_attr *a = &r->attrs[i];
			char *end;

			if (strcmp(a->name, "rcpt") == 0) {
				address = a->value;
				index = -1;
			} else if (strcmp(a->name, "index") == 0 &&
			    address != NULL) {
				errno = 0;
				index = strtoll(a->value, &end, 10);
				if (errno != 0 || end == a->value ||
				    *end != '\0')
					index = -1;
			} else if (strcmp(a->name, "reason") == 0 &&
			    address != NULL)
				qmgr_list_assign(q, reasons, address, index,
				    a->value);
		}
	}
	rec_free(&r);
}

void
qmgr_list_message(struct rec *r, const char *qid, const char *queue,
    const struct queue_file *q, const char *log, size_t len)
{
	const char *value = queue_get(q, "arrival");
	const char *sender = queue_get(q, "sender");
	char arrival[32];
	long long seconds = 0;
	char *end;
	char **reasons = xcalloc(q->rcpt_count + 1, sizeof(*reasons));
	size_t budget = QMGR_LIST_RECORD_MAX, omitted = 0, used;
	bool full = false;

	/* The client is strict: a number, 0 when the file has none. */
	if (value != NULL) {
		errno = 0;
		seconds = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || seconds < 0)
			seconds = 0;
	}
	snprintf(arrival, sizeof(arrival), "%lld", seconds);
	if (sender == NULL)
		sender = "";
	if (len > 0)
		qmgr_list_reasons(q, log, len, reasons);
	rec_reset(r);
	rec_put(r, "proto", PROTO_QMGR);
	rec_put(r, "qid", qid);
	rec_put(r, "queue", queue);
	rec_put_size(r, "size", q->size);
	rec_put(r, "arrival", arrival);
	rec_put(r, "sender", sender);
	used = qmgr_list_cost("proto", PROTO_QMGR) + qmgr_list_cost("qid",
	    qid) + qmgr_list_cost("queue", queue) + 32 +
	    qmgr_list_cost("arrival", arrival) + qmgr_list_cost("sender",
	    sender);
	budget = used < budget ? budget - used : 0;
	for (size_t i = 0; i < q->rcpt_count; i++) {
		size_t cost;

		if (q->rcpts[i].done)
			continue;
		cost = qmgr_list_cost("rcpt", q->rcpts[i].address);
		if (reasons[i] != NULL)
			cost += qmgr_list_cost("reason", reasons[i]);
		/* Shown recipients stay a prefix of the pending ones. */
		if (full || cost > budget) {
			full = true;
			omitted++;
			continue;
		}
		budget -= cost;
		rec_put(r, "rcpt", q->rcpts[i].address);
		if (reasons[i] != NULL)
			rec_put(r, "reason", reasons[i]);
	}
	if (omitted > 0)
		rec_put_size(r, "omitted", omitted);
	for (size_t i = 0; i < q->rcpt_count; i++)
		xfree(&reasons[i]);
	xfree(&reasons);
}

/* Open the message where it is now: where the scan saw it, else in a
 * later queue (it moved on meanwhile). NULL when gone or incomplete. */
static struct queue_file *
qmgr_list_open(const struct qmgr_list_name *name, size_t *queue_r)
{
	char path[QMGR_LIST_PATH_MAX];
	struct queue_file *q = NULL;

	for (size_t k = 0; k < QMGR_LIST_QUEUES; k++) {
		size_t i = (name->queue + k) % QMGR_LIST_QUEUES;

		snprintf(path, sizeof(path), "%s/%s", qmgr_list_queues[i],
		    name->qid);
		if ((q = queue_open(path, false)) != NULL) {
			*queue_r = i;
			return q;
		}
		if (errno != ENOENT)
			break;
	}
	if (errno != ENOENT && errno != EPROTO)
		log_warn("%s: list: open %s: %m", name->qid, path);
	return NULL;
}

/* One message's record appended to out; false when it was not. */
static bool
qmgr_list_show(struct qmgr_list *l, const struct qmgr_list_name *name,
    struct buf *out)
{
	char path[QMGR_LIST_PATH_MAX];
	struct queue_file *q;
	size_t queue;
	bool ok;

	if ((q = qmgr_list_open(name, &queue)) == NULL)
		return false;
	buf_reset(&l->log);
	snprintf(path, sizeof(path), "log/%s", name->qid);
	if (io_read_file(path, QMGR_LIST_LOG_MAX, &l->log) < 0) {
		if (errno != ENOENT)
			log_warn("%s: list: read %s: %m", name->qid, path);
		buf_reset(&l->log);
	}
	qmgr_list_message(l->rec, name->qid, qmgr_list_queues[queue], q,
	    l->log.data, l->log.len);
	queue_close(&q);
	ok = rec_format(l->rec, out) == 0;
	if (!ok)
		log_warn("%s: list: record not sent: %m", name->qid);
	return ok;
}

bool
qmgr_list_next(struct qmgr_list *l, struct buf *out, size_t max_messages)
{
	for (size_t n = 0; n < max_messages && l->next < l->count; n++) {
		struct qmgr_list_name *name = &l->names[l->next++];

		if (qmgr_list_show(l, name, out))
			l->sent++;
		xfree(&name->qid);
	}
	if (l->next < l->count)
		return false;
	rec_reset(l->rec);
	rec_put(l->rec, "proto", PROTO_QMGR);
	rec_put(l->rec, "status", "ok");
	rec_put_size(l->rec, "count", l->sent);
	if (l->truncated)
		rec_put(l->rec, "truncated", "1");
	if (rec_format(l->rec, out) < 0)
		log_warn("list: end record not sent: %m");
	return true;
}
