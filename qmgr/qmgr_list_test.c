/*
 * qmgr_list_test.c - the qmgr/1 list records: one message's record from
 * a queue file and its log/QID (pure), then whole listings of a queue in
 * a temporary directory.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "qmgr_list.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

static char top[] = "/tmp/qmgr_list_test.XXXXXX";

/* A queue file as queue_open would return it, without a file. */
static struct queue_file *
fake_queue(const char *arrival, const char *sender, const char *rcpts,
    const char *done)
{
	struct queue_file *q = xcalloc(1, sizeof(*q));
	const char *a = rcpts, *space;

	q->fd = -1;
	q->env = rec_new();
	q->size = 1234;
	if (arrival != NULL)
		rec_put(q->env, "arrival", arrival);
	if (sender != NULL)
		rec_put(q->env, "sender", sender);
	for (; *a != '\0'; a = *space != '\0' ? space + 1 : space) {
		space = strchrnul(a, ' ');
		q->rcpts = xreallocarray(q->rcpts, q->rcpt_count + 1,
		    sizeof(*q->rcpts));
		q->rcpts[q->rcpt_count] = (struct queue_recipient){
			.address = xstrndup(a, (size_t)(space - a)),
			.done = done != NULL &&
			    done[q->rcpt_count] == 'd',
		};
		q->rcpt_count++;
	}
	return q;
}

static void
fake_free(struct queue_file **q_r)
{
	struct queue_file *q = *q_r;

	for (size_t i = 0; i < q->rcpt_count; i++)
		free(q->rcpts[i].address);
	free(q->rcpts);
	rec_free(&q->env);
	free(q);
	*q_r = NULL;
}

/* The record's recipients as "a(reason) b", after checking its head. */
static char *
rcpts_of(const struct rec *r)
{
	struct buf *out = buf_new(REC_MAX);
	char *s;

	for (size_t i = 0; i < r->count; i++) {
		const struct rec_attr *a = &r->attrs[i];

		if (strcmp(a->name, "rcpt") == 0)
			buf_printf(out, "%s%s", out->len > 0 ? " " : "",
			    a->value);
		else if (strcmp(a->name, "reason") == 0)
			buf_printf(out, "(%s)", a->value);
	}
	s = xstrdup(out->data != NULL ? out->data : "");
	buf_free(&out);
	return s;
}

static void
test_message(void)
{
	static const struct {
		const char *rcpts, *done, *log, *want;
	} cases[] = {
		/* no log, malformed or unrelated logs: no reasons */
		{ "a@x b@x", "..", "", "a@x b@x" },
		{ "a@x", ".", "=bad\n\n", "a@x" },
		{ "a@x", ".", "rcpt=a@x\nreason=unfinished", "a@x" },
		{ "a@x", ".", "reason=orphan\nrcpt=a@x\n\n", "a@x" },
		{ "a@x", ".", "rcpt=z@x\nindex=0\nreason=other\n\n", "a@x" },
		/* done recipients are left out, with their reasons */
		{ "a@x b@x c@x", ".d.", "rcpt=b@x\nindex=1\nreason=r\n\n",
		    "a@x c@x" },
		/* by index; the first record for a recipient wins */
		{ "a@x b@x", "..",
		    "rcpt=b@x\nindex=1\nstatus=deferred\nreason=4.4.1 no\n\n"
		    "rcpt=b@x\nindex=1\nreason=later\n\n",
		    "a@x b@x(4.4.1 no)" },
		/* same address twice: the index tells them apart */
		{ "a@x a@x", "..", "rcpt=a@x\nindex=1\nreason=second\n\n",
		    "a@x a@x(second)" },
		/* a wrong or missing index: matched by address */
		{ "a@x b@x", "..", "rcpt=b@x\nindex=0\nreason=r\n\n",
		    "a@x b@x(r)" },
		{ "a@x b@x", "..", "rcpt=b@x\nindex=99\nreason=r\n\n",
		    "a@x b@x(r)" },
		{ "a@x b@x", "..", "rcpt=b@x\nreason=one\nrcpt=a@x\n"
		    "reason=50%25 two\n\n", "a@x(50% two) b@x(one)" },
		{ "a@x b@x", "..", "rcpt=a@x\nreason=\n\n", "a@x() b@x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_file *q = fake_queue("1700000000", "s@x",
		    cases[i].rcpts, cases[i].done);
		struct rec *r = rec_new();
		char *got;

		qmgr_list_message(r, "0123ABC", "deferred", q, cases[i].log,
		    strlen(cases[i].log));
		CHECK(r->count >= 6);
		CHECK_STR(r->count > 0 ? r->attrs[0].name : NULL, "proto");
		CHECK_STR(rec_get(r, "proto"), "qmgr/1");
		CHECK_STR(rec_get(r, "qid"), "0123ABC");
		CHECK_STR(rec_get(r, "queue"), "deferred");
		CHECK_STR(rec_get(r, "size"), "1234");
		CHECK_STR(rec_get(r, "arrival"), "1700000000");
		CHECK_STR(rec_get(r, "sender"), "s@x");
		CHECK(rec_get(r, "omitted") == NULL);
		CHECK(rec_get(r, "status") == NULL);
		got = rcpts_of(r);
		CHECK_STR(got, cases[i].want);
		free(got);
		rec_free(&r);
		fake_free(&q);
	}
}

static void
test_message_envelope(void)
{
	static const struct {
		const char *arrival, *sender, *want_arrival, *want_sender;
	} cases[] = {
		{ NULL, NULL, "0", "" },
		{ "soon", "", "0", "" },
		{ "-5", "<>", "0", "<>" },
		{ "12x", "a@b", "0", "a@b" },
		{ "99999999999999999999999", "a", "0", "a" },
		{ "42", "a\nb", "42", "a\nb" },	/* rec encodes it */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_file *q = fake_queue(cases[i].arrival,
		    cases[i].sender, "r@x", NULL);
		struct rec *r = rec_new();

		qmgr_list_message(r, "ABC", "hold", q, "", 0);
		CHECK_STR(rec_get(r, "arrival"), cases[i].want_arrival);
		CHECK_STR(rec_get(r, "sender"), cases[i].want_sender);
		rec_free(&r);
		fake_free(&q);
	}
}

/* More recipients (and reasons) than one record carries. */
static void
test_message_too_big(void)
{
	struct buf *rcpts = buf_new(4 * REC_MAX), *log = buf_new(8 * REC_MAX);
	struct buf *wire = buf_new(2 * REC_MAX);
	struct queue_file *q;
	struct rec *r = rec_new();
	size_t shown = 0, n = 30000;
	long long omitted = 0;

	for (size_t i = 0; i < n; i++) {
		buf_printf(rcpts, "%suser%zu@example.org", i > 0 ? " " : "",
		    i);
		/* Control bytes cost three on the wire. */
		buf_printf(log, "rcpt=user%zu@example.org\nindex=%zu\n"
		    "reason=%%01%%01%%01%%01%%01%%01\n\n", i, i);
	}
	q = fake_queue("1", "s@x", rcpts->data, NULL);
	qmgr_list_message(r, "ABC", "active", q, log->data, log->len);
	for (size_t i = 0; i < r->count; i++)
		shown += strcmp(r->attrs[i].name, "rcpt") == 0;
	CHECK(shown > 1000 && shown < n);
	CHECK(rec_get_int(r, "omitted", 1, (long long)n, &omitted) == 0);
	CHECK((size_t)omitted + shown == n);
	CHECK(rec_format(r, wire) == 0);	/* fits under REC_MAX */
	CHECK(wire->len <= QMGR_LIST_RECORD_MAX);
	/* The shown ones come first, in order, with their reasons. */
	CHECK_STR(r->attrs[6].value, "user0@example.org");
	CHECK_STR(r->attrs[7].name, "reason");
	rec_free(&r);
	fake_free(&q);
	buf_free(&rcpts);
	buf_free(&log);
	buf_free(&wire);
}

/* A complete queue file in dir; returns its queue ID. */
static char *
make_message(const char *dir, const char *sender, const char *rcpt)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();
	char *qid, *from, *to;

	CHECK(w != NULL);
	if (w == NULL)
		return xstrdup("none");
	rec_put(env, "arrival", "1700000000");
	rec_put(env, "sender", sender);
	rec_put(env, "rcpt", rcpt);
	qid = xstrdup(queue_writer_id(w));
	CHECK(queue_write_envelope(w, env) == 0);
	CHECK(queue_write_content(w, "Subject: x\n\nbody\n", 17) == 0);
	CHECK(queue_commit(&w) == 0);
	rec_free(&env);
	from = xasprintf("incoming/%s", qid);
	to = xasprintf("%s/%s", dir, qid);
	if (strcmp(dir, "incoming") != 0)
		CHECK(rename(from, to) == 0);
	free(from);
	free(to);
	usleep(2000);		/* distinct, ordered queue IDs */
	return qid;
}

/* Run a listing to its end; the message records in out and the end
 * record in end. Returns the number of message records. */
static size_t
run_listing(struct qmgr_list *l, struct buf *out, struct rec *end)
{
	struct rec *r = rec_new();
	size_t at = 0, messages = 0, rounds = 0;
	ssize_t used;

	while (!qmgr_list_next(l, out, 1) && rounds++ < 1000)
		;
	rec_reset(end);
	while (at < out->len &&
	    (used = rec_parse(r, out->data + at, out->len - at)) > 0) {
		at += (size_t)used;
		CHECK_STR(r->count > 0 ? r->attrs[0].name : NULL, "proto");
		if (rec_get(r, "status") != NULL) {
			CHECK(at == out->len);	/* the end record is last */
			for (size_t i = 0; i < r->count; i++)
				rec_put(end, r->attrs[i].name,
				    r->attrs[i].value);
		} else {
			messages++;
		}
	}
	CHECK(at == out->len);
	rec_free(&r);
	return messages;
}

static void
test_listing(void)
{
	char *held, *deferred, *incoming, *gone, *moved, *path, *from;
	struct buf *out = buf_new(16 * REC_MAX);
	struct rec *end = rec_new(), *r = rec_new();
	struct qmgr_list *l;
	long long count;
	ssize_t used;
	size_t at = 0;
	const char *log = "rcpt=d@x\nindex=0\nreason=4.4.1 refused\n\n";

	/* Not queue files: skipped. */
	CHECK(io_write_file_atomic("incoming/.tmp.1.2", "x", 1, 0600) == 0);
	CHECK(io_write_file_atomic("deferred/0ABC", "junk", 4, 0600) == 0);
	held = make_message("hold", "h@x", "hr@x");
	deferred = make_message("deferred", "", "d@x");
	path = xasprintf("log/%s", deferred);
	CHECK(io_write_file_atomic(path, log, strlen(log), 0600) == 0);
	free(path);
	incoming = make_message("incoming", "i@x", "ir@x");
	gone = make_message("deferred", "g@x", "gr@x");
	moved = make_message("incoming", "m@x", "mr@x");

	/* An empty directory, then the full queue. */
	l = qmgr_list_new(QMGR_LIST_LIMIT);
	path = xasprintf("deferred/%s", gone);
	CHECK(unlink(path) == 0);		/* delivered meanwhile */
	free(path);
	from = xasprintf("incoming/%s", moved);
	path = xasprintf("active/%s", moved);
	CHECK(rename(from, path) == 0);		/* moved on meanwhile */
	free(from);
	free(path);
	CHECK(run_listing(l, out, end) == 4);
	qmgr_list_free(&l);
	CHECK(l == NULL);
	CHECK_STR(rec_get(end, "status"), "ok");
	CHECK(rec_get_int(end, "count", 0, 100, &count) == 0 && count == 4);
	CHECK(rec_get(end, "truncated") == NULL);
	/* In queue ID order, each in the queue it is in now. */
	{
		static const char *const queues[] = { "hold", "deferred",
			"incoming", "active" };
		const char *qids[] = { held, deferred, incoming, moved };

		for (size_t i = 0; i < 4; i++) {
			used = rec_parse(r, out->data + at, out->len - at);
			CHECK(used > 0);
			if (used <= 0)
				break;
			at += (size_t)used;
			CHECK_STR(rec_get(r, "qid"), qids[i]);
			CHECK_STR(rec_get(r, "queue"), queues[i]);
			CHECK_STR(rec_get(r, "size"), "17");
			CHECK_STR(rec_get(r, "arrival"), "1700000000");
		}
	}

	/* The deferred one carries its reason and the null sender. */
	CHECK(strstr(out->data, "sender=\nrcpt=d@x\n"
	    "reason=4.4.1 refused\n") != NULL);

	/* A limit cuts the listing short and says so. */
	buf_reset(out);
	l = qmgr_list_new(2);
	CHECK(run_listing(l, out, end) == 2);
	qmgr_list_free(&l);
	CHECK(rec_get_int(end, "count", 0, 100, &count) == 0 && count == 2);
	CHECK_STR(rec_get(end, "truncated"), "1");

	/* Several messages per call. */
	buf_reset(out);
	l = qmgr_list_new(QMGR_LIST_LIMIT);
	CHECK(!qmgr_list_next(l, out, 3));
	CHECK(qmgr_list_next(l, out, 3));
	qmgr_list_free(&l);
	free(held);
	free(deferred);
	free(incoming);
	free(gone);
	free(moved);
	rec_free(&end);
	rec_free(&r);
	buf_free(&out);
}

static void
test_listing_empty(void)
{
	struct buf *out = buf_new(REC_MAX);
	struct rec *end = rec_new();
	struct qmgr_list *l;

	CHECK(mkdir("empty", 0700) == 0 && chdir("empty") == 0);
	l = qmgr_list_new(QMGR_LIST_LIMIT);	/* no queue directories */
	CHECK(run_listing(l, out, end) == 0);
	CHECK_STR(rec_get(end, "status"), "ok");
	CHECK_STR(rec_get(end, "count"), "0");
	qmgr_list_free(&l);
	qmgr_list_free(&l);			/* NULL is fine */
	CHECK(chdir("..") == 0);
	rec_free(&end);
	buf_free(&out);
}

static int
remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return remove(path);
}

int
main(void)
{
	static const char *const dirs[] = { "incoming", "active", "deferred",
		"hold", "log" };
	int rc;

	log_init("qmgr_list_test", false);
	if (mkdtemp(top) == NULL || chdir(top) < 0) {
		perror(top);
		return 1;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) < 0) {
			perror(dirs[i]);
			return 1;
		}
	TEST_RUN(test_message);
	TEST_RUN(test_message_envelope);
	TEST_RUN(test_message_too_big);
	TEST_RUN(test_listing_empty);
	TEST_RUN(test_listing);
	rc = TEST_DONE();
	if (chdir("/") < 0 ||
	    nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror(top);
	return rc;
}
