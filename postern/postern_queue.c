/*
 * postern_queue.c - `postern queue list` (mailq) and the requests that
 * `postern flush` and `queue hold|release|delete|requeue` send to qmgr.
 *
 * The listing reads incoming/, active/, deferred/ and hold/ directly
 * (queue_open, read-only) in queue ID order, i.e. by arrival, in
 * Postfix's mailq format: ID with '*' for active and '!' for held
 * messages, size, arrival time, sender, then each pending recipient
 * indented, preceded by "(reason)" from log/QID when a delivery attempt
 * left one. Files that vanish or are incomplete while we look (qmgr moves
 * them) are skipped silently. Everything that changes the queue goes
 * through qmgr (only qmgr moves and removes queue files).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	buf_printf(out, "%-11s %7zu %-20.20s %s\n",
	    e->status == ' ' ? e->qid : id, e->size, when,
	    *e->sender != '\0' ? e->sender : "MAILER-DAEMON");
	/* Like mailq: recipients without a reason first, then each reason
	 * once, followed by the recipients it applies to. */
	for (size_t i = 0; e->rcpts != NULL && e->rcpts[i] != NULL; i++)
		if (postern_queue_reason_at(e, i) == NULL)
			buf_printf(out, "%41s%s\n", "", e->rcpts[i]);
	for (size_t i = 0; e->rcpts != NULL && e->rcpts[i] != NULL; i++) {
		const char *reason = postern_queue_reason_at(e, i);
		bool seen = false;

		for (size_t j = 0; reason != NULL && j < i && !seen; j++)
			seen = postern_queue_same(postern_queue_reason_at(e, j),
			    reason);
		if (reason == NULL || seen)
			continue;
		buf_printf(out, "(%s)\n", reason);
		for (size_t k = i; e->rcpts[k] != NULL; k++)
			if (postern_queue_same(postern_queue_reason_at(e, k),
			    reason))
				buf_printf(out, "%41s%s\n", "", e->rcpts[k]);
	}
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

struct postern_queue_name {
	char *qid;
	const char *dir;
	char status;
};

static int
postern_queue_cmp(const void *a, const void *b)
{
	const struct postern_queue_name *x = a, *y = b;

	return strcmp(x->qid, y->qid);
}

/* 0, or -1 when the directory exists but cannot be read. */
static int
postern_queue_scan(const char *dir, char status,
    struct postern_queue_name **names_r, size_t *count_r)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (dp == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "postern: %s/%s: %s\n",
		    config_get("queue_directory"), dir, strerror(errno));
		return -1;
	}
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || !queue_id_valid(d->d_name))
			continue;
		*names_r = xreallocarray(*names_r, *count_r + 1,
		    sizeof(**names_r));
		(*names_r)[*count_r] = (struct postern_queue_name){
			.qid = xstrdup(d->d_name), .dir = dir,
			.status = status };
		(*count_r)++;
	}
	closedir(dp);
	return 0;
}

/* One message: 0 and its size, or -1 when it could not be read. */
static int
postern_queue_show(struct buf *out, const struct postern_queue_name *n,
    size_t *size_r)
{
	struct postern_queue_entry e = { .qid = n->qid, .status = n->status };
	char *path = xasprintf("%s/%s", n->dir, n->qid);
	char *log_path = xasprintf("log/%s", n->qid);
	struct queue_file *q = queue_open(path, false);
	struct buf *log_text = buf_new(POSTERN_LOG_MAX);
	bool have_log;
	const char *value;
	size_t pending = 0;
	int rc = -1;

	xfree(&path);
	if (q == NULL)
		goto done;
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
	postern_queue_format(out, &e);
	*size_r = e.size;
	rc = 0;
	for (size_t i = 0; i < pending; i++)
		xfree(&e.reasons[i]);
	xfree(&e.reasons);
	xfree(&e.rcpts);
	queue_close(&q);
done:
	buf_free(&log_text);
	xfree(&log_path);
	return rc;
}

int
postern_queue_list(void)
{
	static const struct { const char *dir; char status; } queues[] = {
		{ "incoming", ' ' }, { "active", '*' }, { "deferred", ' ' },
		{ "hold", '!' },
	};
	const char *queue_dir = config_get("queue_directory");
	struct postern_queue_name *names = NULL;
	size_t count = 0, shown = 0, total = 0, size;
	struct buf *out = buf_new((size_t)1 << 30);

	if (chdir(queue_dir) < 0) {
		fprintf(stderr, "postern: queue_directory %s: %s\n", queue_dir,
		    strerror(errno));
		buf_free(&out);
		return 1;
	}
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		if (postern_queue_scan(queues[i].dir, queues[i].status,
		    &names, &count) < 0) {
			for (size_t j = 0; j < count; j++)
				xfree(&names[j].qid);
			xfree(&names);
			buf_free(&out);
			return 1;
		}
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), postern_queue_cmp);
	for (size_t i = 0; i < count; i++) {
		if (shown == 0 && out->len == 0)
			buf_add_str(out, "-Queue ID-  --Size-- "
			    "----Arrival Time---- -Sender/Recipient-------\n");
		if (postern_queue_show(out, &names[i], &size) == 0) {
			shown++;
			total += size;
		}
		xfree(&names[i].qid);
		if (out->len > 65536) {
			fwrite(out->data, 1, out->len, stdout);
			buf_reset(out);
		}
	}
	xfree(&names);
	if (shown == 0)
		buf_reset(out);
	postern_queue_trailer(out, total, shown);
	fwrite(out->data, 1, out->len, stdout);
	buf_free(&out);
	return 0;
}

int
postern_queue_request(const char *request, const char *qid)
{
	char *path = xasprintf("%s/%s", config_get("queue_directory"),
	    PROTO_QMGR_PATH);
	struct rec *r;
	struct conn *c;
	const char *status, *text;
	int fd, rc = 1;

	if (qid != NULL && strcmp(qid, "ALL") != 0 && !queue_id_valid(qid)) {
		fprintf(stderr, "postern: %s: not a queue ID\n", qid);
		xfree(&path);
		return 2;
	}
	log_info("uid %d: %s%s%s requested", (int)getuid(), request,
	    qid != NULL ? " " : "", qid != NULL ? qid : "");
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
	if (qid != NULL)
		rec_put(r, "qid", qid);
	if (rec_write(c, r) < 0 || rec_read(c, r) < 0) {
		fprintf(stderr, "postern: the queue manager did not answer: "
		    "%s\n", strerror(errno));
		goto done;
	}
	status = rec_get(r, "status");
	text = rec_get(r, "text");
	if (status != NULL && strcmp(status, "ok") == 0) {
		printf("postern: %s%s%s: done\n", request,
		    qid != NULL ? " " : "", qid != NULL ? qid : "");
		rc = 0;
	} else {
		fprintf(stderr, "postern: %s: %s %s\n", request,
		    status != NULL ? status : "no status",
		    text != NULL ? text : "");
	}
done:
	rec_free(&r);
	conn_free(&c);
	return rc;
}
