/*
 * postern_queue.c - `postern queue list` (mailq) and the requests that
 * `postern flush` and `queue hold|release|delete|requeue` send to qmgr.
 *
 * The listing comes from one of two sources and goes through one
 * formatter (postern_queue_format), in Postfix's mailq format: ID with
 * '*' for active and '!' for held messages, size, arrival time, sender,
 * then each pending recipient indented, preceded by "(reason)" from
 * log/QID when a delivery attempt left one. Control characters in
 * addresses and reasons are shown as '?', as Postfix's showq does: the
 * listing may reach a terminal and its text comes from strangers.
 *   - Directly: root and mail_owner read incoming/, active/, deferred/
 *     and hold/ (queue_open, read-only) in queue ID order, i.e. by
 *     arrival. A file that qmgr moved on since we read the directories
 *     is read where it is now; files that vanish or are incomplete while
 *     we look are skipped silently. This works while postern is
 *     stopped.
 *   - Through qmgr: the queue directories are mode 0700 mail_owner, so
 *     for everyone else opendir() fails with EACCES and we send
 *     request=list to qmgr on public/qmgr (mode 0666), as Postfix's
 *     postqueue asks showq. The reply is one record per message and an
 *     end record (lib/proto.h). When qmgr is not running the listing is
 *     unavailable: "mail system is down", exit 1 (by design no program
 *     is set-uid).
 * Everything that changes the queue goes through qmgr (only qmgr moves
 * and removes queue files). Each request is logged here with who asked
 * ("uid 0 (root): hold QID", "uid 0 (root): flush example.org"); qmgr
 * logs what it did ("QID: placed on hold").
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "queue.h"
#include "rec.h"
#include "postern.h"

#define POSTERN_LOG_MAX		(1024 * 1024)
#define POSTERN_QMGR_TIMEOUT_MS	30000

/* The queues listed, in the order a message goes through them, and the
 * mark mailq puts after a queue ID in each. */
static const struct {
	const char *dir;
	char status;
} postern_queues[] = {
	{ "incoming", ' ' }, { "active", '*' }, { "deferred", ' ' },
	{ "hold", '!' },
};
#define POSTERN_QUEUES	(sizeof(postern_queues) / sizeof(postern_queues[0]))

static const char *
postern_queue_reason_at(const struct postern_queue_entry *e, size_t i)
{
	return e->reasons != NULL ? e->reasons[i] : NULL;
}

static bool
postern_queue_same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Append s with control characters shown as '?'. */
static void
postern_queue_put_printable(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		buf_add_char(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static void
postern_queue_put_rcpt(struct buf *out, const char *rcpt)
{
	buf_printf(out, "%41s", "");
	postern_queue_put_printable(out, rcpt);
	buf_add_char(out, '\n');
}

void
postern_queue_format(struct buf *out, const struct postern_queue_entry *e)
{
	char id[QUEUE_ID_MAX + 2], when[32];
	time_t t = (time_t)e->arrival;
	struct tm tm;

	snprintf(id, sizeof(id), "%s%c", e->qid, e->status);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", e->arrival);
	buf_printf(out, "%-11s %7zu %-20.20s ",
	    e->status == ' ' ? e->qid : id, e->size, when);
	postern_queue_put_printable(out,
	    *e->sender != '\0' ? e->sender : "MAILER-DAEMON");
	buf_add_char(out, '\n');
	/* Like mailq: recipients without a reason first, then each reason
	 * once, followed by the recipients it applies to. */
	for (size_t i = 0; e->rcpts != NULL && e->rcpts[i] != NULL; i++)
		if (postern_queue_reason_at(e, i) == NULL)
			postern_queue_put_rcpt(out, e->rcpts[i]);
	for (size_t i = 0; e->rcpts != NULL && e->rcpts[i] != NULL; i++) {
		const char *reason = postern_queue_reason_at(e, i);
		bool seen = false;

		for (size_t j = 0; reason != NULL && j < i && !seen; j++)
			seen = postern_queue_same(postern_queue_reason_at(e, j),
			    reason);
		if (reason == NULL || seen)
			continue;
		buf_add_char(out, '(');
		postern_queue_put_printable(out, reason);
		buf_add_str(out, ")\n");
		for (size_t k = i; e->rcpts[k] != NULL; k++)
			if (postern_queue_same(postern_queue_reason_at(e, k),
			    reason))
				postern_queue_put_rcpt(out, e->rcpts[k]);
	}
	if (e->omitted > 0)
		buf_printf(out, "%41s(%zu more recipient%s not shown)\n", "",
		    e->omitted, e->omitted == 1 ? "" : "s");
	buf_add_str(out, "\n");
}

void
postern_queue_trailer(struct buf *out, size_t total_bytes, size_t count)
{
	if (count == 0) {
		buf_add_str(out, "Mail queue is empty\n");
		return;
	}
	buf_printf(out, "-- %zu Kbytes in %zu Request%s.\n",
	    (total_bytes + 1023) / 1024, count, count == 1 ? "" : "s");
}

char *
postern_queue_reason(const char *data, size_t len, const char *rcpt)
{
	struct rec *r = rec_new();
	char *found = NULL;
	size_t off = 0;
	ssize_t n;

	while (off < len && found == NULL) {
		const char *current = NULL;

		n = rec_parse(r, data + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
		for (size_t i = 0; i < r->count; i++) {
			const struct rec_attr *a = &r->attrs[i];

			if (strcmp(a->name, "rcpt") == 0)
				current = a->value;
			else if (strcmp(a->name, "reason") == 0 &&
			    current != NULL && strcmp(current, rcpt) == 0) {
				found = xstrdup(a->value);
				break;
			}
		}
	}
	rec_free(&r);
	return found;
}

/* What is shown so far: the header goes out before the first entry, the
 * trailer after the last. */
struct postern_listing {
	struct buf *out;
	size_t shown;
	size_t total;		/* bytes */
};

static void
postern_listing_add(struct postern_listing *l,
    const struct postern_queue_entry *e)
{
	if (l->shown == 0)
		buf_add_str(l->out, "-Queue ID-  --Size-- "
		    "----Arrival Time---- -Sender/Recipient-------\n");
	postern_queue_format(l->out, e);
	l->shown++;
	l->total += e->size;
	if (l->out->len > 65536) {
		fwrite(l->out->data, 1, l->out->len, stdout);
		buf_reset(l->out);
	}
}

static void
postern_listing_end(struct postern_listing *l)
{
	postern_queue_trailer(l->out, l->total, l->shown);
	fwrite(l->out->data, 1, l->out->len, stdout);
	buf_reset(l->out);
}

struct postern_queue_name {
	char *qid;
	size_t queue;		/* index into postern_queues */
};

static int
postern_queue_cmp(const void *a, const void *b)
{
	const struct postern_queue_name *x = a, *y = b;

	return strcmp(x->qid, y->qid);
}

/* 0, or -1 with errno when the directory exists but cannot be read. */
static int
postern_queue_scan(size_t queue, struct postern_queue_name **names_r,
    size_t *count_r)
{
	struct dirent *d;
	DIR *dp = opendir(postern_queues[queue].dir);

	if (dp == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || !queue_id_valid(d->d_name))
			continue;
		*names_r = xreallocarray(*names_r, *count_r + 1,
		    sizeof(**names_r));
		(*names_r)[*count_r] = (struct postern_queue_name){
			.qid = xstrdup(d->d_name), .queue = queue };
		(*count_r)++;
	}
	closedir(dp);
	return 0;
}

/* Open the message where it is now: where the scan saw it, else in a
 * later queue (qmgr moved it meanwhile), as qmgr's listing does. NULL
 * when it is gone or incomplete; *queue_r is where it was found. */
static struct queue_file *
postern_queue_open(const struct postern_queue_name *n, size_t *queue_r)
{
	for (size_t k = 0; k < POSTERN_QUEUES; k++) {
		size_t i = (n->queue + k) % POSTERN_QUEUES;
		char *path = xasprintf("%s/%s", postern_queues[i].dir,
		    n->qid);
		struct queue_file *q = queue_open(path, false);

		xfree(&path);
		if (q != NULL) {
			*queue_r = i;
			return q;
		}
		if (errno != ENOENT)
			break;
	}
	return NULL;
}

/* One message, when it can be read, added to the listing. */
static void
postern_queue_show(struct postern_listing *l,
    const struct postern_queue_name *n)
{
	struct postern_queue_entry e = { .qid = n->qid };
	char *log_path = xasprintf("log/%s", n->qid);
	size_t queue = n->queue;
	struct queue_file *q = postern_queue_open(n, &queue);
	struct buf *log_text = buf_new(POSTERN_LOG_MAX);
	bool have_log;
	const char *value;
	size_t pending = 0;

	if (q == NULL)
		goto done;
	e.status = postern_queues[queue].status;
	have_log = io_read_file(log_path, POSTERN_LOG_MAX, log_text) == 0;
	e.size = q->size;
	value = queue_get(q, "arrival");
	e.arrival = value != NULL ? strtoll(value, NULL, 10) : 0;
	value = queue_get(q, "sender");
	e.sender = value != NULL ? value : "";
	e.rcpts = xcalloc(q->rcpt_count + 1, sizeof(*e.rcpts));
	e.reasons = xcalloc(q->rcpt_count + 1, sizeof(*e.reasons));
	for (size_t i = 0; i < q->rcpt_count; i++) {
		if (q->rcpts[i].done)
			continue;
		e.rcpts[pending] = q->rcpts[i].address;
		if (have_log)
			e.reasons[pending] = postern_queue_reason(
			    log_text->data, log_text->len,
			    q->rcpts[i].address);
		pending++;
	}
	postern_listing_add(l, &e);
	for (size_t i = 0; i < pending; i++)
		xfree(&e.reasons[i]);
	xfree(&e.reasons);
	xfree(&e.rcpts);
	queue_close(&q);
done:
	buf_free(&log_text);
	xfree(&log_path);
}

/* The listing read from the queue directories: 0, 1 on failure, or -1
 * with errno EACCES/EPERM (nothing printed) when we may not read them. */
static int
postern_queue_list_direct(struct postern_listing *l)
{
	struct postern_queue_name *names = NULL;
	size_t count = 0;
	int rc = 0;

	for (size_t i = 0; i < POSTERN_QUEUES; i++) {
		if (postern_queue_scan(i, &names, &count) == 0)
			continue;
		if (errno == EACCES || errno == EPERM) {
			rc = -1;
		} else {
			fprintf(stderr, "postern: %s/%s: %s\n",
			    config_get("queue_directory"),
			    postern_queues[i].dir, strerror(errno));
			rc = 1;
		}
		for (size_t j = 0; j < count; j++)
			xfree(&names[j].qid);
		xfree(&names);
		if (rc < 0)
			errno = EACCES;
		return rc;
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), postern_queue_cmp);
	for (size_t i = 0; i < count; i++) {
		/* Seen in two directories: it moved while we read them. */
		if (i + 1 == count || strcmp(names[i].qid,
		    names[i + 1].qid) != 0)
			postern_queue_show(l, &names[i]);
		xfree(&names[i].qid);
	}
	xfree(&names);
	postern_listing_end(l);
	return 0;
}

void
postern_queue_entry_release(struct postern_queue_entry *e)
{
	xfree(&e->rcpts);
	xfree(&e->reasons);
}

int
postern_queue_entry_from_rec(const struct rec *r,
    struct postern_queue_entry *e_r)
{
	struct postern_queue_entry e = { .qid = NULL };
	const char *queue = NULL;
	size_t rcpts = 0;
	unsigned seen = 0;
	long long number;
	char *end;

	*e_r = e;
	if (r->count == 0 || strcmp(r->attrs[0].name, "proto") != 0 ||
	    strcmp(r->attrs[0].value, PROTO_QMGR) != 0)
		return -1;
	for (size_t i = 1; i < r->count; i++)
		rcpts += strcmp(r->attrs[i].name, "rcpt") == 0;
	e.rcpts = xcalloc(rcpts + 1, sizeof(*e.rcpts));
	e.reasons = xcalloc(rcpts + 1, sizeof(*e.reasons));
	rcpts = 0;
	for (size_t i = 1; i < r->count; i++) {
		static const char *const singles[] = { "qid", "queue",
			"sender", "size", "arrival", "omitted", NULL };
		const char *name = r->attrs[i].name;
		char *value = r->attrs[i].value;
		size_t k;

		if (strcmp(name, "rcpt") == 0) {
			e.rcpts[rcpts++] = value;
			continue;
		}
		if (strcmp(name, "reason") == 0) {
			/* Belongs to the rcpt just before it, once. */
			if (strcmp(r->attrs[i - 1].name, "rcpt") != 0)
				goto bad;
			e.reasons[rcpts - 1] = value;
			continue;
		}
		for (k = 0; singles[k] != NULL; k++)
			if (strcmp(name, singles[k]) == 0)
				break;
		if (singles[k] == NULL || (seen & (1u << k)))
			goto bad;	/* strict: unknown or repeated */
		seen |= 1u << k;
		if (k == 0) {
			e.qid = value;
		} else if (k == 1) {
			queue = value;
		} else if (k == 2) {
			e.sender = value;
		} else {
			errno = 0;
			number = strtoll(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' ||
			    number < 0 || (unsigned long long)number > SIZE_MAX)
				goto bad;
			if (k == 3)
				e.size = (size_t)number;
			else if (k == 4)
				e.arrival = number;
			else
				e.omitted = (size_t)number;
		}
	}
	if (e.qid == NULL || !queue_id_valid(e.qid) || queue == NULL ||
	    e.sender == NULL)
		goto bad;
	for (size_t i = 0; i < POSTERN_QUEUES; i++)
		if (strcmp(queue, postern_queues[i].dir) == 0) {
			e.status = postern_queues[i].status;
			*e_r = e;
			return 0;
		}
bad:
	postern_queue_entry_release(&e);
	return -1;
}

/* The listing from qmgr's reply to request=list: 0, or 1 after telling
 * why not. */
static int
postern_queue_list_qmgr(struct postern_listing *l)
{
	char *path = xasprintf("%s/%s", config_get("queue_directory"),
	    PROTO_QMGR_PATH);
	struct postern_queue_entry e;
	struct rec *r;
	struct conn *c;
	const char *status, *text;
	long long count;
	int fd, rc = 1;

	fd = io_unix_connect(path);
	if (fd < 0) {
		/* As Postfix's postqueue: no permission is not "down". */
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "postern: cannot connect to qmgr at "
			    "%s: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "postern: mail system is down "
			    "(cannot connect to qmgr at %s: %s)\n", path,
			    strerror(errno));
		xfree(&path);
		return 1;
	}
	xfree(&path);
	c = conn_new(fd, POSTERN_QMGR_TIMEOUT_MS);
	r = rec_new();
	rec_put(r, "proto", PROTO_QMGR);
	rec_put(r, "request", "list");
	if (rec_write(c, r) < 0)
		goto broken;
	for (;;) {
		if (rec_read(c, r) < 0)
			goto broken;
		if ((status = rec_get(r, "status")) != NULL)
			break;
		if (postern_queue_entry_from_rec(r, &e) < 0) {
			errno = EPROTO;
			goto broken;
		}
		postern_listing_add(l, &e);
		postern_queue_entry_release(&e);
	}
	text = rec_get(r, "text");
	if (strcmp(status, "ok") != 0) {
		fwrite(l->out->data, 1, l->out->len, stdout);
		fflush(stdout);
		fprintf(stderr, "postern: queue list: %s %s\n", status,
		    text != NULL ? text : "");
		goto done;
	}
	if (rec_get_int(r, "count", 0, LLONG_MAX, &count) < 0 ||
	    (size_t)count != l->shown) {
		errno = EPROTO;
		goto broken;
	}
	postern_listing_end(l);
	if (rec_get(r, "truncated") != NULL) {
		fflush(stdout);
		fprintf(stderr, "postern: the listing stops after %zu "
		    "messages; there are more\n", l->shown);
	}
	rc = 0;
	goto done;
broken:
	fwrite(l->out->data, 1, l->out->len, stdout);
	fflush(stdout);
	fprintf(stderr, "postern: the queue manager did not answer the "
	    "listing: %s\n", strerror(errno));
done:
	rec_free(&r);
	conn_free(&c);
	return rc;
}

int
postern_queue_list(void)
{
	const char *queue_dir = config_get("queue_directory");
	struct postern_listing l = { .out = buf_new((size_t)1 << 30) };
	int rc;

	if (chdir(queue_dir) < 0) {
		fprintf(stderr, "postern: queue_directory %s: %s\n", queue_dir,
		    strerror(errno));
		buf_free(&l.out);
		return 1;
	}
	if ((rc = postern_queue_list_direct(&l)) < 0)
		rc = postern_queue_list_qmgr(&l);
	buf_free(&l.out);
	return rc;
}

char *
postern_queue_who(void)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);

	return xasprintf("uid %lu (%s)", (unsigned long)uid,
	    pw != NULL ? pw->pw_name : "unknown user");
}

/* Send request with an optional attribute (name=value) to qmgr and report
 * the answer; what names the request in messages ("hold QID"). */
static int
postern_queue_ask(const char *request, const char *name, const char *value,
    const char *what)
{
	char *path = xasprintf("%s/%s", config_get("queue_directory"),
	    PROTO_QMGR_PATH);
	char *who = postern_queue_who();
	struct rec *r;
	struct conn *c;
	const char *status, *text, *count;
	int fd, rc = 1;

	log_info("%s: %s", who, what);
	xfree(&who);
	fd = io_unix_connect(path);
	if (fd < 0) {
		fprintf(stderr, "postern: cannot reach the queue manager at "
		    "%s: %s (is postern running?)\n", path, strerror(errno));
		xfree(&path);
		return 1;
	}
	xfree(&path);
	c = conn_new(fd, POSTERN_QMGR_TIMEOUT_MS);
	r = rec_new();
	rec_put(r, "proto", PROTO_QMGR);
	rec_put(r, "request", request);
	if (value != NULL)
		rec_put(r, name, value);
	if (rec_write(c, r) < 0 || rec_read(c, r) < 0) {
		fprintf(stderr, "postern: the queue manager did not answer: "
		    "%s\n", strerror(errno));
		goto done;
	}
	status = rec_get(r, "status");
	text = rec_get(r, "text");
	count = rec_get(r, "count");
	if (status != NULL && strcmp(status, "ok") == 0) {
		if (count != NULL)
			printf("postern: %s: done (%s message%s)\n", what,
			    count, strcmp(count, "1") == 0 ? "" : "s");
		else
			printf("postern: %s: done\n", what);
		rc = 0;
	} else {
		fprintf(stderr, "postern: %s: %s %s\n", what,
		    status != NULL ? status : "no status",
		    text != NULL ? text : "");
	}
done:
	rec_free(&r);
	conn_free(&c);
	return rc;
}

int
postern_queue_request(const char *request, const char *qid)
{
	char *what;
	int rc;

	if (qid != NULL && strcmp(qid, "ALL") != 0 && !queue_id_valid(qid)) {
		fprintf(stderr, "postern: %s: not a queue ID\n", qid);
		return 2;
	}
	what = xasprintf("%s%s%s", request, qid != NULL ? " " : "",
	    qid != NULL ? qid : "");
	rc = postern_queue_ask(request, "qid", qid, what);
	xfree(&what);
	return rc;
}

int
postern_queue_flush(const char *domain)
{
	char *what;
	int rc;

	if (domain == NULL)
		return postern_queue_ask("flush", NULL, NULL, "flush");
	if (!addr_domain_ok(domain)) {
		fprintf(stderr, "postern: flush: \"%s\" is not a domain\n",
		    domain);
		return 2;
	}
	what = xasprintf("flush %s", domain);
	rc = postern_queue_ask("flush", "domain", domain, what);
	xfree(&what);
	return rc;
}
