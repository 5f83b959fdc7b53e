/*
 * bounce_dsn_test.c - tests for bounce_dsn.c and the pure parts of
 * bounce_service.c: log parsing, NOTIFY, routing, and the structure of
 * the notice (parsed back part by part).
 */
#include <stdlib.h>
#include <string.h>

#include "bounce_dsn.h"
#include "bounce_service.h"
#include "mem.h"
#include "rec.h"
#include "testing.h"

static const char original[] =
    "Received: from x by y\n"
    "From: Alice <alice@example.org>\n"
    "Subject: hello\n"
    "\n"
    "body line 1\n"
    "body line 2\n";

/* The text between "--boundary\n" number part (1-based) and the next
 * boundary line, fresh; NULL when missing. */
static char *
part_of(const char *msg, const char *boundary, int part)
{
	char *start_mark = xasprintf("\n--%s\n", boundary);
	char *next_mark = xasprintf("\n--%s", boundary);
	const char *p = msg, *end;
	char *result = NULL;

	for (int i = 0; i < part; i++) {
		p = strstr(p, start_mark);
		if (p == NULL)
			goto done;
		p += strlen(start_mark);
	}
	end = strstr(p, next_mark);
	if (end != NULL)
		result = xstrndup(p, (size_t)(end - p));
done:
	free(start_mark);
	free(next_mark);
	return result;
}

static void
test_notify_wants(void)
{
	static const struct {
		const char *notify;
		bool warn;
		bool want;
	} cases[] = {
		{ "NEVER", false, false },
		{ "NEVER", true, false },
		{ "SUCCESS", false, false },
		{ "DELAY", false, false },
		{ "FAILURE", true, false },
		{ "SUCCESS,DELAY", false, false },
		{ "FAILUREX", false, false },
		{ NULL, false, true },
		{ NULL, true, true },
		{ "", false, true },
		{ "FAILURE", false, true },
		{ "SUCCESS,FAILURE", false, true },
		{ "failure,delay", true, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (bounce_notify_wants(cases[i].notify, cases[i].warn) !=
		    cases[i].want)
			fprintf(stderr, "case %zu\n", i);
		CHECK(bounce_notify_wants(cases[i].notify, cases[i].warn) ==
		    cases[i].want);
	}
}

static void
test_diagnostic(void)
{
	static const struct {
		const char *reason, *relay;
		const char *host, *diagnostic;
		bool smtp;
	} cases[] = {
		{ "host [1.2.3.4] said: 550 x", "smtp", NULL,
		    "host [1.2.3.4] said: 550 x", false },
		{ "unknown user: \"bob\"", "local", NULL,
		    "unknown user: \"bob\"", false },
		{ "", "none", NULL, "", false },
		{ "host said: 550 x", "smtp", NULL, "host said: 550 x", false },
		{ "host  said: 550 x", "smtp", NULL, "host  said: 550 x",
		    false },
		{ "5xx nope", "smtp", NULL, "5xx nope", false },
		{ "host mx.example.com[192.0.2.1] said: 550 5.1.1 <b@x>: "
		    "no such user (in reply to RCPT TO command)", "smtp",
		    "mx.example.com", "550 5.1.1 <b@x>: no such user", true },
		{ "host mx.example.com[192.0.2.1]:25 said: 552 too big",
		    "smtp", "mx.example.com", "552 too big", true },
		{ "550 5.7.1 rejected", "mx2.example.com[192.0.2.2]:25",
		    "mx2.example.com", "550 5.7.1 rejected", true },
		{ "450\tgreylisted", "lmtp", NULL, "450 greylisted", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *host, *diagnostic;
		bool smtp;

		bounce_diagnostic(cases[i].reason, cases[i].relay, &host,
		    &diagnostic, &smtp);
		CHECK_STR(host, cases[i].host);
		CHECK_STR(diagnostic, cases[i].diagnostic);
		CHECK(smtp == cases[i].smtp);
		free(host);
		free(diagnostic);
	}
}

static void
test_log_parse(void)
{
	static const char log[] =
	    "warned=1700000000\n\n"			/* no rcpt: skipped */
	    "rcpt=a@x\nstatus=bounced\n\n"
	    "rcpt=b@x\nindex=3\nstatus=deferred\ndsn=4.2.2\n"
	    "reason=mailbox full\nrelay=local\ntime=1700000001\n\n"
	    "index=4\nstatus=bounced\n\n"		/* no rcpt: skipped */
	    "rcpt=c@x\nindex=x\nstatus=bounced\n\n"
	    "=broken\n\n"
	    "rcpt=d@x\nstatus=bounced\n\n";		/* after a bad one */
	struct bounce_rcpt *r;
	size_t n = bounce_log_parse(log, sizeof(log) - 1, &r);

	CHECK(n == 3);
	if (n != 3)
		return;
	CHECK_STR(r[0].address, "a@x");
	CHECK(r[0].index == -1);
	CHECK_STR(r[0].dsn, "");
	CHECK_STR(r[1].address, "b@x");
	CHECK(r[1].index == 3);
	CHECK_STR(r[1].status, "deferred");
	CHECK_STR(r[1].reason, "mailbox full");
	CHECK(r[1].time == 1700000001);
	CHECK(r[2].index == -1);
	bounce_rcpts_free(&r, n);
	CHECK(r == NULL);
	n = bounce_log_parse("", 0, &r);
	CHECK(n == 0);
	bounce_rcpts_free(&r, n);
}

static void
test_route(void)
{
	static const struct {
		const char *sender;
		bool warn;
		int want;
		const char *to, *from;
		bool postmaster;
	} cases[] = {
		{ "", true, -1, NULL, NULL, false },
		{ "double-bounce", false, -1, NULL, NULL, false },
		{ "double-bounce@mx.test", false, -1, NULL, NULL, false },
		{ "Double-Bounce@MX.test", true, -1, NULL, NULL, false },
		{ "", false, 0, "postmaster", "double-bounce@mx.test", true },
		{ "double-bounce@other.test", false, 0,
		    "double-bounce@other.test", "", false },
		{ "alice@example.org", false, 0, "alice@example.org", "",
		    false },
		{ "alice@example.org", true, 0, "alice@example.org", "",
		    false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *to, *from;
		bool postmaster;

		CHECK(bounce_route(cases[i].sender, cases[i].warn,
		    "postmaster", "double-bounce", "mx.test", &to, &from,
		    &postmaster) == cases[i].want);
		CHECK_STR(to, cases[i].to);
		CHECK_STR(from, cases[i].from);
		CHECK(postmaster == cases[i].postmaster);
		free(to);
		free(from);
	}
}

static void
test_request_parse(void)
{
	static const struct {
		const char *record;
		int want;
	} cases[] = {
		{ "proto=delivery/1\nrequest=flush\nqid=ABC\n"
		    "queue_file=active/ABC\n\n", -1 },
		{ "proto=bounce/1\nrequest=send\nqid=ABC\n"
		    "queue_file=active/ABC\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=../x\n"
		    "queue_file=active/../x\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=ABC\n"
		    "queue_file=active/ABD\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=ABC\n"
		    "queue_file=incoming/ABC\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=ABC\n"
		    "queue_file=/active/ABC\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=ABC\n\n", -1 },
		{ "proto=bounce/1\nrequest=flush\nqid=ABC\n"
		    "queue_file=active/ABC\n\n", 0 },
		{ "proto=bounce/1\nrequest=warn\nqid=ABC\n"
		    "queue_file=deferred/ABC\n\n", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *r = rec_new();
		const char *qid = NULL, *path = NULL, *error = NULL;
		bool warn = false;
		int got;

		CHECK(rec_parse(r, cases[i].record,
		    strlen(cases[i].record)) > 0);
		got = bounce_request_parse(r, &warn, &qid, &path, &error);
		if (cases[i].want < 0) {
			CHECK(got == -1);
			CHECK(error != NULL);
		} else {
			CHECK(got == 0);
			CHECK(warn == (cases[i].want == 1));
			CHECK_STR(qid, "ABC");
		}
		rec_free(&r);
	}
}

static void
test_select(void)
{
	struct queue_recipient qr[3] = {
		{ .address = "a@x", .notify = "NEVER" },
		{ .address = "b@x", .orcpt = "rfc822;B@x" },
		{ .address = "c@x", .notify = "DELAY" },
	};
	struct queue_file q = { .rcpts = qr, .rcpt_count = 3 };
	static const char log[] =
	    "rcpt=a@x\nindex=0\nstatus=bounced\n\n"
	    "rcpt=b@x\nindex=1\nstatus=bounced\n\n"
	    "rcpt=b@x\nindex=1\nstatus=bounced\n\n"	/* repeated */
	    "rcpt=c@x\nindex=2\nstatus=deferred\n\n"
	    "rcpt=z@x\nindex=2\nstatus=bounced\n\n";	/* index mismatch */
	struct bounce_rcpt *r;
	size_t n;

	/* failure report: a NEVER, b once, z (no NOTIFY known) */
	n = bounce_log_parse(log, sizeof(log) - 1, &r);
	n = bounce_select(r, n, &q, false, false);
	CHECK(n == 2);
	CHECK_STR(r[0].address, "b@x");
	CHECK_STR(r[0].orcpt, "rfc822;B@x");
	CHECK_STR(r[1].address, "z@x");
	CHECK_STR(r[1].orcpt, NULL);
	bounce_rcpts_free(&r, n);
	/* to the postmaster: NOTIFY does not apply */
	n = bounce_log_parse(log, sizeof(log) - 1, &r);
	n = bounce_select(r, n, &q, false, true);
	CHECK(n == 3);
	bounce_rcpts_free(&r, n);
	/* delay warning: c asked for DELAY */
	n = bounce_log_parse(log, sizeof(log) - 1, &r);
	n = bounce_select(r, n, &q, true, false);
	CHECK(n == 1);
	CHECK_STR(r[0].address, "c@x");
	bounce_rcpts_free(&r, n);
}

static void
init_notice(struct bounce_notice *n, struct bounce_rcpt *r)
{
	memset(r, 0, 2 * sizeof(*r));
	r[0].address = "bob@remote.test";
	r[0].status = "bounced";
	r[0].dsn = "5.1.1";
	r[0].reason = "host mx.remote.test[192.0.2.1] said: 550 5.1.1 "
	    "<bob@remote.test>: Recipient address rejected: User unknown "
	    "in virtual mailbox table (in reply to RCPT TO command)";
	r[0].relay = "smtp";
	r[0].time = 1700000100;
	r[0].orcpt = "rfc822;Bob@remote.test";
	r[1].address = "carol@example.test";
	r[1].status = "bounced";
	r[1].dsn = "bogus";
	r[1].reason = "unknown user: \"carol\"";
	r[1].relay = "local";
	memset(n, 0, sizeof(*n));
	n->qid = "ABC123";
	n->myhostname = "mx.example.test";
	n->sender = "alice@example.org";
	n->to = "alice@example.org";
	n->envid = "ENV-1";
	n->arrival = 1700000000;
	n->now = 1700000200;
	n->retry_until = 1700432000;
	n->message_id = "<1.bounce.ABC123@mx.example.test>";
	n->boundary = "ABC123.1700000200/mx.example.test";
	n->size_limit = 50000;
	n->rcpts = r;
	n->rcpt_count = 2;
	n->content = original;
	n->content_len = sizeof(original) - 1;
	n->content_size = sizeof(original) - 1;
}

static void
test_build_failure(void)
{
	struct bounce_rcpt r[2];
	struct bounce_notice n;
	struct buf out;
	char *part;

	init_notice(&n, r);
	buf_init(&out, 1024 * 1024);
	n.rcpt_count = 0;
	CHECK(bounce_dsn_build(&n, &out) == -1);	/* nobody to report */
	n.rcpt_count = 2;
	CHECK(bounce_dsn_build(&n, &out) == 0);
	CHECK(strncmp(out.data, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.test>\nTo: <alice@example.org>\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Date: Tue, 14 Nov 2023 22:16:40 +0000\n"
	    "Message-ID: <1.bounce.ABC123@mx.example.test>\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"ABC123.1700000200/mx.example.test\"\n\n",
	    strlen("From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.test>\nTo: <alice@example.org>\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Date: Tue, 14 Nov 2023 22:16:40 +0000\n"
	    "Message-ID: <1.bounce.ABC123@mx.example.test>\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"ABC123.1700000200/mx.example.test\"\n\n")) == 0);
	/* part 1: friendly text naming each recipient and the answer */
	part = part_of(out.data, n.boundary, 1);
	CHECK(part != NULL && strstr(part, "Content-Type: text/plain; "
	    "charset=us-ascii\n") == part + strlen("Content-Description: "
	    "Notification\n"));
	CHECK(part != NULL && strstr(part, "<bob@remote.test>: the mail "
	    "server mx.remote.test answered: 550 5.1.1\n") != NULL);
	CHECK(part != NULL && strstr(part, "<carol@example.test>: unknown "
	    "user: \"carol\" (5.0.0)") != NULL);
	CHECK(part != NULL && strstr(part, "permanent failure") != NULL);
	free(part);
	/* part 2: the machine-readable report */
	part = part_of(out.data, n.boundary, 2);
	CHECK(part != NULL && strncmp(part, "Content-Description: Delivery "
	    "report\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.test\n"
	    "X-Postern-Queue-ID: ABC123\n"
	    "X-Postern-Sender: rfc822; alice@example.org\n"
	    "Original-Envelope-Id: ENV-1\n"
	    "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n"
	    "Final-Recipient: rfc822; bob@remote.test\n"
	    "Original-Recipient: rfc822; Bob@remote.test\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Remote-MTA: dns; mx.remote.test\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: Recipient "
	    "address\n\trejected: User unknown in virtual mailbox table\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000\n\n"
	    "Final-Recipient: rfc822; carol@example.test\n"
	    "Action: failed\nStatus: 5.0.0\n"
	    "Diagnostic-Code: x-postern; unknown user: \"carol\"\n",
	    strlen(part)) == 0);
	free(part);
	/* part 3: the whole original (fits, no RET) */
	part = part_of(out.data, n.boundary, 3);
	CHECK(part != NULL && strncmp(part, "Content-Description: "
	    "Undelivered Message\nContent-Type: message/rfc822\n\n",
	    strlen("Content-Description: Undelivered Message\n"
	    "Content-Type: message/rfc822\n\n")) == 0);
	CHECK(part != NULL && strstr(part, "body line 2\n") != NULL);
	free(part);
	CHECK(out.len > 0 && strstr(out.data, "\n--ABC123.1700000200/"
	    "mx.example.test--\n") == out.data + out.len -
	    strlen("\n--ABC123.1700000200/mx.example.test--\n"));
	buf_release(&out);
}

static void
test_build_headers_only(void)
{
	static const struct {
		const char *ret;
		size_t limit;
		size_t content_len;	/* 0: all */
		bool full;
	} cases[] = {
		{ "HDRS", 50000, 0, false },
		{ "hdrs", 50000, 0, false },
		{ NULL, 10, 0, false },		/* over bounce_size_limit */
		{ "FULL", 10, 0, false },
		{ NULL, 50000, 30, false },	/* only part was read */
		{ NULL, 50000, 0, true },
		{ "FULL", 50000, 0, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bounce_rcpt r[2];
		struct bounce_notice n;
		struct buf out;
		char *part;

		init_notice(&n, r);
		n.ret = cases[i].ret;
		n.size_limit = cases[i].limit;
		if (cases[i].content_len > 0)
			n.content_len = cases[i].content_len;
		buf_init(&out, 1024 * 1024);
		CHECK(bounce_dsn_build(&n, &out) == 0);
		part = part_of(out.data, n.boundary, 3);
		CHECK(part != NULL);
		if (part == NULL)
			continue;
		CHECK((strstr(part, "message/rfc822") != NULL) ==
		    cases[i].full);
		CHECK((strstr(part, "text/rfc822-headers") != NULL) ==
		    !cases[i].full);
		CHECK((strstr(part, "body line") != NULL) == cases[i].full);
		CHECK(strncmp(part + strcspn(part, "\n") + 1,
		    "Content-Type: ", 14) == 0);
		CHECK(strstr(part, "\n\nReceived: from x by y\n") != NULL);
		free(part);
		buf_release(&out);
	}
}

static void
test_build_warning(void)
{
	struct bounce_rcpt r[2];
	struct bounce_notice n;
	struct buf out;
	char *part;

	init_notice(&n, r);
	n.warn = true;
	r[0].dsn = "4.4.1";
	r[0].reason = "connect to mx.remote.test[192.0.2.1]:25: Connection "
	    "refused";
	r[0].relay = "none";
	r[1].dsn = "5.1.1";	/* wrong class for a delay: 4.0.0 */
	n.envid = NULL;
	n.rcpt_count = 1;
	buf_init(&out, 1024 * 1024);
	CHECK(bounce_dsn_build(&n, &out) == 0);
	CHECK(strstr(out.data, "Subject: Delayed Mail (still being "
	    "retried)\n") != NULL);
	part = part_of(out.data, n.boundary, 1);
	CHECK(part != NULL && strstr(part, "THIS IS A WARNING ONLY") != NULL);
	CHECK(part != NULL && strstr(part, "could not be delivered for 3 "
	    "minutes") != NULL);
	free(part);
	part = part_of(out.data, n.boundary, 2);
	CHECK(part != NULL && strstr(part, "Action: delayed\nStatus: 4.4.1\n"
	    "Diagnostic-Code: x-postern; connect to mx.remote.test[192.0.2.1]"
	    ":25:\n\tConnection refused\n") != NULL);
	CHECK(part != NULL && strstr(part, "Will-Retry-Until: Sun, 19 Nov "
	    "2023 22:13:20 +0000\n") != NULL);
	CHECK(part != NULL && strstr(part, "Original-Envelope-Id") == NULL);
	free(part);
	buf_reset(&out);
	n.rcpts = &r[1];
	CHECK(bounce_dsn_build(&n, &out) == 0);
	CHECK(strstr(out.data, "Status: 4.0.0\n") != NULL);
	buf_release(&out);
}

static void
test_build_postmaster_and_8bit(void)
{
	static const char utf8_original[] =
	    "Subject: =?utf-8?q?x?=\nX-Name: J\xc3\xbcrgen\n\nK\xc3\xa4se\n";
	struct bounce_rcpt r[2];
	struct bounce_notice n;
	struct buf out;

	init_notice(&n, r);
	n.postmaster = true;
	n.sender = "";
	n.to = "postmaster";
	n.content = utf8_original;
	n.content_len = n.content_size = sizeof(utf8_original) - 1;
	r[1].reason = "unknown user: \"j\xc3\xbcrgen\"";
	buf_init(&out, 1024 * 1024);
	CHECK(bounce_dsn_build(&n, &out) == 0);
	CHECK(strstr(out.data, "To: <postmaster>\n") != NULL);
	CHECK(strstr(out.data, "Subject: Postmaster Copy: Undelivered "
	    "Mail\n") != NULL);
	CHECK(strstr(out.data, "X-Postern-Sender: rfc822;\n") != NULL);
	CHECK(strstr(out.data, "charset=utf-8\nContent-Transfer-Encoding: "
	    "8bit\n") != NULL);
	CHECK(strstr(out.data, "postmaster") != NULL);
	/* the top level says 8bit too */
	CHECK(strstr(out.data, "mx.example.test\"\nContent-Transfer-"
	    "Encoding: 8bit\n") != NULL);
	buf_release(&out);
	/* a limit that cannot hold the notice */
	buf_init(&out, 100);
	CHECK(bounce_dsn_build(&n, &out) == -1);
	buf_release(&out);
}

static void
test_header_length(void)
{
	static const struct {
		const char *in;
		size_t want;
	} cases[] = {
		{ "", 0 },
		{ "\n", 1 },
		{ "\nbody\n", 1 },
		{ "A: b\n", 5 },
		{ "A: b", 4 },
		{ "A: b\n\nbody", 6 },
		{ "A: b\n c\n\n\n", 9 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(bounce_header_length(cases[i].in,
		    strlen(cases[i].in)) == cases[i].want);
}

static void
test_long_words(void)
{
	struct bounce_rcpt r[2];
	struct bounce_notice n;
	struct buf out;
	char *word = xmalloc(3001);
	const char *line;

	memset(word, 'x', 3000);
	word[3000] = '\0';
	init_notice(&n, r);
	r[0].reason = word;
	buf_init(&out, 1024 * 1024);
	CHECK(bounce_dsn_build(&n, &out) == 0);
	/* no line over 998 bytes */
	for (line = out.data; line < out.data + out.len; ) {
		const char *nl = memchr(line, '\n',
		    (size_t)(out.data + out.len - line));

		if (nl == NULL)
			break;
		CHECK(nl - line <= 998);
		line = nl + 1;
	}
	buf_release(&out);
	free(word);
}

int
main(void)
{
	TEST_RUN(test_notify_wants);
	TEST_RUN(test_diagnostic);
	TEST_RUN(test_log_parse);
	TEST_RUN(test_route);
	TEST_RUN(test_request_parse);
	TEST_RUN(test_select);
	TEST_RUN(test_build_failure);
	TEST_RUN(test_build_headers_only);
	TEST_RUN(test_build_warning);
	TEST_RUN(test_build_postmaster_and_8bit);
	TEST_RUN(test_header_length);
	TEST_RUN(test_long_words);
	return TEST_DONE();
}
