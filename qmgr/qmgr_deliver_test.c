/*
 * qmgr_deliver_test.c - tests for the pure parts of qmgr_deliver.c: the
 * request record and how a reply maps to recipient results.
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "qmgr_deliver.h"
#include "testing.h"

#define D QMGR_DELIVER_DEFERRED
#define S QMGR_DELIVER_SENT
#define B QMGR_DELIVER_BOUNCED

static void
init_rcpts(struct qmgr_deliver_rcpt *r)
{
	static const char *const addrs[] = { "a@x", "b@x", "c@x" };
	static const size_t indexes[] = { 0, 3, 5 };

	memset(r, 0, 3 * sizeof(*r));
	for (size_t i = 0; i < 3; i++) {
		r[i].address = addrs[i];
		r[i].index = indexes[i];
	}
	r[1].orcpt = "rfc822;B@x";
	r[1].notify = "FAILURE";
}

static void
test_apply_reply(void)
{
	static const struct {
		const char *reply;
		int want;
		enum qmgr_deliver_status status[3];
		const char *dsn[3];
		const char *reason1;	/* of the second recipient */
	} cases[] = {
		{ "proto=cleanup/1\nrcpt=a@x\nindex=0\nstatus=sent\n\n", -1,
		    { D, D, D }, { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t: malformed reply" },
		{ "proto=delivery/1\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		{ "proto=delivery/1\nreason=out of memory\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient: "
		    "out of memory" },
		/* wrong address for index 3, unknown status for 5 */
		{ "proto=delivery/1\nrcpt=a@x\nindex=0\nstatus=sent\n"
		    "rcpt=z@x\nindex=3\nstatus=sent\n"
		    "rcpt=c@x\nindex=5\nstatus=maybe\n\n", 0, { S, D, D },
		    { "2.0.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		/* bad index forms */
		{ "proto=delivery/1\nrcpt=b@x\nindex=-3\nstatus=sent\n"
		    "rcpt=b@x\nindex=3x\nstatus=sent\n"
		    "rcpt=b@x\nstatus=sent\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		/* the first status for a recipient wins */
		{ "proto=delivery/1\nrcpt=b@x\nindex=3\nstatus=deferred\n"
		    "dsn=4.2.2\nreason=mailbox full\n"
		    "rcpt=b@x\nindex=3\nstatus=sent\n\n", 0, { D, D, D },
		    { "4.3.0", "4.2.2", "4.3.0" }, "mailbox full" },
		/* dsn classes follow the status; controls are cleaned */
		{ "proto=delivery/1\nrcpt=a@x\nindex=0\nstatus=sent\n"
		    "dsn=5.1.1\nreason=delivered to maildir\n"
		    "rcpt=b@x\nindex=3\nstatus=bounced\ndsn=5.1.1\n"
		    "reason=unknown%0Auser\n"
		    "rcpt=c@x\nindex=5\nstatus=deferred\n\n", 0, { S, B, D },
		    { "2.0.0", "5.1.1", "4.0.0" }, "unknown user" },
		{ "proto=delivery/1\nrcpt=c@x\nindex=5\nstatus=bounced\n"
		    "rcpt=b@x\nindex=3\nstatus=sent\ndsn=2.1.5\nreason=ok\n"
		    "rcpt=a@x\nindex=0\nstatus=sent\n\n", 0, { S, S, B },
		    { "2.0.0", "2.1.5", "5.0.0" }, "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmgr_deliver_rcpt r[3];
		struct rec *reply = rec_new();
		int got;

		init_rcpts(r);
		CHECK(rec_parse(reply, cases[i].reply,
		    strlen(cases[i].reply)) > 0);
		got = qmgr_deliver_apply_reply(reply, "t", r, 3);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: got %d\n", i, got);
		CHECK(got == cases[i].want);
		for (size_t j = 0; j < 3; j++) {
			if (r[j].status != cases[i].status[j])
				fprintf(stderr, "case %zu rcpt %zu: status "
				    "%d\n", i, j, (int)r[j].status);
			CHECK(r[j].status == cases[i].status[j]);
			CHECK_STR(r[j].dsn, cases[i].dsn[j]);
			CHECK(r[j].reason != NULL);
		}
		CHECK_STR(r[1].reason, cases[i].reason1);
		qmgr_deliver_rcpts_release(r, 3);
		CHECK(r[0].dsn == NULL && r[0].reason == NULL);
		rec_free(&reply);
	}
}

static void
test_build(void)
{
	struct qmgr_deliver_rcpt r[3];
	struct qmgr_deliver_request req = {
		.transport = "local", .qid = "ABC", .queue_file = "active/ABC",
		.sender = "", .nexthop = "example.com", .rcpts = r,
		.rcpt_count = 3,
	};
	struct rec *out = rec_new();
	struct buf *wire = buf_new(4096);
	static const char want[] =
	    "proto=delivery/1\nqid=ABC\nqueue_file=active/ABC\nsender=\n"
	    "nexthop=example.com\nrcpt=a@x\nindex=0\nrcpt=b@x\nindex=3\n"
	    "orcpt=rfc822;B@x\nnotify=FAILURE\nrcpt=c@x\nindex=5\n\n";

	init_rcpts(r);
	qmgr_deliver_build(&req, out);
	CHECK(rec_format(out, wire) == 0);
	CHECK_STR(wire->data, want);
	buf_free(&wire);
	rec_free(&out);
}

static void
test_fail_all(void)
{
	struct qmgr_deliver_rcpt r[3];

	init_rcpts(r);
	r[0].status = S;
	qmgr_deliver_fail_all(r, 3, "4.3.0", "agent crashed\n");
	for (size_t j = 0; j < 3; j++) {
		CHECK(r[j].status == D);
		CHECK_STR(r[j].dsn, "4.3.0");
		CHECK_STR(r[j].reason, "agent crashed ");
	}
	qmgr_deliver_rcpts_release(r, 3);
}

int
main(void)
{
	TEST_RUN(test_apply_reply);
	TEST_RUN(test_build);
	TEST_RUN(test_fail_all);
	return TEST_DONE();
}
