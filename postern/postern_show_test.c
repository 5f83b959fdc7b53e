/*
 * postern_show_test.c - `postern queue show`: finding a recipient's
 * log/QID record and the envelope listing.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"
#include "postern.h"

static void
test_log_find(void)
{
	static const char log[] =
	    "rcpt=a@x\nindex=0\nstatus=bounced\ndsn=5.1.1\nreason=no\n\n"
	    "rcpt=b@x\nindex=1\nstatus=deferred\ndsn=4.4.1\nreason=down\n\n"
	    "rcpt=b@x\nindex=3\nstatus=deferred\ndsn=4.2.2\nreason=full\n\n"
	    "rcpt=old@x\nstatus=deferred\nreason=no index\n\n";
	static const struct {
		const char *log;
		size_t index;
		const char *rcpt, *want;	/* reason, NULL: not found */
	} cases[] = {
		{ "", 0, "a@x", NULL },			/* no log */
		{ "rcpt=a@x\nreason=x", 0, "a@x", NULL },	/* unfinished */
		{ "=bad\n\n", 0, "a@x", NULL },		/* bad framing */
		{ log, 0, "c@x", NULL },		/* not there */
		{ log, 2, "b@x", NULL },		/* other index */
		{ log, 1, "a@x", NULL },		/* other address */
		{ log, 0, "a@x", "no" },
		{ log, 1, "b@x", "down" },
		{ log, 3, "b@x", "full" },		/* listed twice */
		{ log, 7, "old@x", "no index" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *r = rec_new();
		bool found = postern_show_log_find(cases[i].log,
		    strlen(cases[i].log), cases[i].index, cases[i].rcpt, r);

		CHECK(found == (cases[i].want != NULL));
		if (found)
			CHECK_STR(rec_get(r, "reason"), cases[i].want);
		rec_free(&r);
	}
}

/* true when text has a line equal to line. */
static bool
has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *end = strchr(p, '\n');

		if (end != NULL && (size_t)(end - p) == len &&
		    memcmp(p, line, len) == 0)
			return true;
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

static void
test_envelope(void)
{
	static const char log[] =
	    "rcpt=far@remote.example\nindex=1\nstatus=deferred\ndsn=4.4.1\n"
	    "reason=connect to mx[192.0.2.1]:25: Connection refused\n"
	    "relay=smtp\ntime=0\n\n";
	struct queue_recipient rcpts[3] = {
		{ .address = "done@example.test", .done = true },
		{ .address = "far@remote.example",
		    .orcpt = "rfc822;Far@remote.example",
		    .notify = "FAILURE,DELAY" },
		{ .address = "evil\033[2J@example.test" },
	};
	struct queue_file q = { .rcpts = rcpts, .rcpt_count = 3, .size = 42 };
	struct buf *out = buf_new(65536);

	q.env = rec_new();
	rec_put(q.env, "proto", "queue/1");
	rec_put(q.env, "qid", "06B0ABCDEF12345AB");
	rec_put(q.env, "arrival", "0");
	rec_put(q.env, "sender", "");
	rec_put(q.env, "client_name", "client.example");
	rec_put(q.env, "client_addr", "192.0.2.7");
	rec_put(q.env, "helo", "helo\tname");
	rec_put(q.env, "done", "done@example.test");
	rec_put(q.env, "rcpt", "far@remote.example");
	rec_put(q.env, "orcpt", "rfc822;Far@remote.example");
	rec_put(q.env, "notify", "FAILURE,DELAY");
	rec_put(q.env, "protocol", "ESMTP");
	setenv("TZ", "UTC", 1);
	postern_show_envelope(out, &q, "deferred", 3600, log,
	    sizeof(log) - 1);
	CHECK(has_line(out->data, "*** ENVELOPE deferred/06B0ABCDEF12345AB "
	    "***"));
	CHECK(has_line(out->data, "queue_id: 06B0ABCDEF12345AB"));
	CHECK(has_line(out->data, "queue: deferred (next attempt Thu, 01 Jan "
	    "1970 01:00:00 +0000)"));
	CHECK(has_line(out->data, "arrival: Thu, 01 Jan 1970 00:00:00 +0000"));
	CHECK(has_line(out->data, "sender: <> (the null sender)"));
	CHECK(has_line(out->data, "size: 42"));
	CHECK(has_line(out->data, "client: client.example[192.0.2.7]"));
	CHECK(has_line(out->data, "helo: helo?name"));	/* control chars */
	CHECK(has_line(out->data, "protocol: ESMTP"));
	CHECK(has_line(out->data, "recipient: done@example.test"));
	CHECK(has_line(out->data, "    state: done"));
	CHECK(has_line(out->data, "recipient: far@remote.example"));
	CHECK(has_line(out->data, "    orcpt: rfc822;Far@remote.example"));
	CHECK(has_line(out->data, "    notify: FAILURE,DELAY"));
	CHECK(has_line(out->data, "    state: pending, deferred at Thu, 01 "
	    "Jan 1970 00:00:00 +0000 (dsn=4.4.1, relay=smtp): connect to "
	    "mx[192.0.2.1]:25: Connection refused"));
	CHECK(has_line(out->data, "recipient: evil?[2J@example.test"));
	CHECK(has_line(out->data, "    state: pending"));
	/* Recipients are not repeated as plain attributes. */
	CHECK(strstr(out->data, "\nrcpt:") == NULL);
	CHECK(strstr(out->data, "\ndone:") == NULL);
	CHECK(strchr(out->data, '\033') == NULL);

	/* On hold; a sender. */
	buf_reset(out);
	rec_reset(q.env);
	rec_put(q.env, "qid", "06B0ABCDEF12345AB");
	rec_put(q.env, "sender", "s@example.test");
	postern_show_envelope(out, &q, "hold", 3600, "", 0);
	CHECK(has_line(out->data, "queue: hold (on hold until released)"));
	CHECK(has_line(out->data, "sender: s@example.test"));
	CHECK(strstr(out->data, "client:") == NULL);
	CHECK(strstr(out->data, "arrival:") == NULL);
	rec_free(&q.env);
	buf_free(&out);
}

int
main(void)
{
	TEST_RUN(test_log_find);
	TEST_RUN(test_envelope);
	return TEST_DONE();
}
