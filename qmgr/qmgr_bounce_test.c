/*
 * qmgr_bounce_test.c - tests for the pure parts of qmgr_bounce.c: the
 * bounce/1 request record and how a reply is read.
 */
#include <string.h>

#include "qmgr_bounce.h"
#include "rec.h"
#include "testing.h"

static void
test_build(void)
{
	struct qmgr_bounce_request req = {
		.warn = false, .qid = "1A2B", .queue_file = "active/1A2B",
	};
	struct rec *r = rec_new();
	struct buf out;

	buf_init(&out, REC_MAX);
	qmgr_bounce_build(&req, r);
	CHECK(rec_format(r, &out) == 0);
	CHECK_STR(out.data, "proto=bounce/1\nrequest=flush\nqid=1A2B\n"
	    "queue_file=active/1A2B\n\n");
	req.warn = true;
	qmgr_bounce_build(&req, r);
	buf_reset(&out);
	CHECK(rec_format(r, &out) == 0);
	CHECK_STR(out.data, "proto=bounce/1\nrequest=warn\nqid=1A2B\n"
	    "queue_file=active/1A2B\n\n");
	buf_release(&out);
	rec_free(&r);
}

static void
test_parse_reply(void)
{
	static const struct {
		const char *reply;
		int want;
		const char *qid;
		const char *text;
	} cases[] = {
		{ "proto=delivery/1\nstatus=ok\nqid=AB\n\n", -1, NULL,
		    "bounce service sent a malformed reply" },
		{ "status=ok\nproto=bounce/1\n\n", -1, NULL,
		    "bounce service sent a malformed reply" },
		{ "proto=bounce/1\n\n", -1, NULL, "bounce service failed" },
		{ "proto=bounce/1\nstatus=451\ntext=cleanup down\n\n", -1,
		    NULL, "cleanup down" },
		{ "proto=bounce/1\nstatus=ok\nqid=../x\n\n", -1, NULL,
		    "bounce service sent a malformed queue ID" },
		{ "proto=bounce/1\nstatus=ok\n\n", 0, NULL, NULL },
		{ "proto=bounce/1\nstatus=ok\nqid=ABC123\n\n", 0, "ABC123",
		    NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *r = rec_new();
		const char *qid = "x", *text = "x";

		CHECK(rec_parse(r, cases[i].reply,
		    strlen(cases[i].reply)) > 0);
		CHECK(qmgr_bounce_parse_reply(r, &qid, &text) ==
		    cases[i].want);
		CHECK_STR(qid, cases[i].qid);
		CHECK_STR(text, cases[i].text);
		rec_free(&r);
	}
}

int
main(void)
{
	TEST_RUN(test_build);
	TEST_RUN(test_parse_reply);
	return TEST_DONE();
}
