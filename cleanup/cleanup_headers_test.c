/*
 * cleanup_headers_test.c - tests for cleanup_headers.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup_headers.h"
#include "mem.h"
#include "testing.h"

static void
test_split(void)
{
	static const struct {
		const char *in;
		bool at_end;
		size_t want_used;
		size_t want_count;
		const char *want_last;	/* text of the last header */
	} cases[] = {
		{ "", true, 0, 0, NULL },
		{ "not a header\nSubject: x\n\nbody\n", false, 0, 0, NULL },
		{ ": empty name\n\n", false, 0, 0, NULL },
		{ " leading space\n\n", false, 0, 0, NULL },
		{ "\nbody\n", false, 1, 0, NULL },
		{ "Subject: partial", false, 0, 0, NULL },
		{ "Subject: end", true, 12, 1, "Subject: end" },
		{ "Subject: a\n\nbody\n", false, 12, 1, "Subject: a" },
		{ "A: 1\nB : 2\n\n", false, 12, 2, "B : 2" },
		{ "To: a,\n\tb,\n c\nX: y\n\nz", false, 20, 2, "X: y" },
		{ "To: a,\n\tb\n\n", false, 11, 1, "To: a,\n\tb" },
		{ "A: 1\nbody line\n", false, 5, 1, "A: 1" },
		{ "A: 1\nB: 2\nC: cut", false, 10, 2, "B: 2" },
		{ "A: 1\nB: 2\n", true, 10, 2, "B: 2" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cleanup_headers h = { 0 };
		size_t used = cleanup_headers_split(cases[i].in,
		    strlen(cases[i].in), cases[i].at_end, &h);

		CHECK(used == cases[i].want_used);
		CHECK(h.count == cases[i].want_count);
		if (h.count > 0 && cases[i].want_last != NULL)
			CHECK_STR(h.list[h.count - 1].text,
			    cases[i].want_last);
		if (used != cases[i].want_used || h.count !=
		    cases[i].want_count)
			fprintf(stderr, "case %zu: used %zu count %zu\n", i,
			    used, h.count);
		cleanup_headers_release(&h);
	}
}

static void
test_value_find_format(void)
{
	struct cleanup_headers h = { 0 };
	const char *in = "Subject:  hello\n\tworld  \nTo: x\nBcc: y\n\n";
	struct buf *out = buf_new(1024);
	char *v;

	cleanup_headers_split(in, strlen(in), false, &h);
	CHECK(h.count == 3);
	CHECK_STR(h.list[0].name, "Subject");
	v = cleanup_header_value(&h.list[0]);
	CHECK_STR(v, "hello\tworld");
	xfree(&v);
	CHECK(cleanup_headers_find(&h, "bcc") == &h.list[2]);
	CHECK(cleanup_headers_find(&h, "Cc") == NULL);
	h.list[2].deleted = true;
	CHECK(cleanup_headers_find(&h, "bcc") == NULL);
	cleanup_headers_add(&h, "Date: now");
	CHECK_STR(h.list[3].name, "Date");
	CHECK(cleanup_headers_format(&h, out) == 0);
	CHECK_STR(out->data, "Subject:  hello\n\tworld  \nTo: x\nDate: now\n");
	buf_free(&out);
	cleanup_headers_release(&h);
}

static void
test_addr_list(void)
{
	static const struct {
		const char *in;
		const char *want;	/* addresses joined with " " */
	} cases[] = {
		{ "", "" },
		{ "<>", "" },
		{ "undisclosed-recipients:;", "" },
		{ "(only a comment)", "" },
		{ "a@x", "a@x" },
		{ "a@x, b@y", "a@x b@y" },
		{ "Alice <a@x>, \"Bob, Jr.\" <b@y>", "a@x b@y" },
		{ "a@x (Alice (nested) \\) )", "a@x" },
		{ "team: a@x, B <b@y>; c@z", "a@x b@y c@z" },
		{ "<@relay.example,@r2:u@dom>", "u@dom" },
		{ "\"john doe\"@example.com", "\"john doe\"@example.com" },
		{ "a @ x . y", "a@x.y" },
		{ "Name <a@x> (c), ,, <b@y>", "a@x b@y" },
		{ "unterminated <a@x", "a@x" },
		{ "bob", "bob" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **list = NULL;
		size_t count = 0;
		struct buf *joined = buf_new(4096);

		CHECK(cleanup_addr_list_parse(cases[i].in, &list, &count) ==
		    0);
		for (size_t j = 0; j < count; j++)
			buf_printf(joined, "%s%s", j ? " " : "", list[j]);
		CHECK_STR(joined->data, cases[i].want);
		cleanup_addr_list_free(&list, &count);
		buf_free(&joined);
	}
}

static void
test_addr_list_limits(void)
{
	struct buf *b = buf_new(1024 * 1024);
	char **list = NULL;
	size_t count = 0;

	for (int i = 0; i < CLEANUP_ADDR_LIST_MAX + 5; i++)
		buf_printf(b, "u%d@x,", i);
	CHECK(cleanup_addr_list_parse(b->data, &list, &count) == -1);
	CHECK(count == CLEANUP_ADDR_LIST_MAX);
	cleanup_addr_list_free(&list, &count);
	buf_reset(b);
	for (int i = 0; i < 1000; i++)
		buf_add_char(b, 'a');
	buf_add_str(b, "@x, ok@y");
	CHECK(cleanup_addr_list_parse(b->data, &list, &count) == -1);
	CHECK(count == 1);
	CHECK_STR(count ? list[0] : NULL, "ok@y");
	cleanup_addr_list_free(&list, &count);
	buf_free(&b);
}

static void
test_action(void)
{
	static const struct {
		const char *in;
		enum cleanup_action want;
		const char *text;
	} cases[] = {
		{ "", CLEANUP_ACTION_UNSUPPORTED, "" },
		{ "DISCARD", CLEANUP_ACTION_UNSUPPORTED, "" },
		{ "REJECTX no", CLEANUP_ACTION_UNSUPPORTED, "no" },
		{ "REJECT", CLEANUP_ACTION_REJECT, "" },
		{ "reject  go away", CLEANUP_ACTION_REJECT, "go away" },
		{ "IGNORE", CLEANUP_ACTION_IGNORE, "" },
		{ "WARN look", CLEANUP_ACTION_WARN, "look" },
		{ " DUNNO", CLEANUP_ACTION_DUNNO, "" },
		{ "OK", CLEANUP_ACTION_DUNNO, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *text = NULL;

		CHECK(cleanup_action_parse(cases[i].in, &text) ==
		    cases[i].want);
		CHECK_STR(text, cases[i].text);
	}
}

static void
test_date_received(void)
{
	char date[64], *r;
	struct cleanup_received rcv = {
		.origin = "smtpd", .helo = "mx.example",
		.client_name = "mail.example", .client_addr = "192.0.2.1",
		.protocol = "ESMTP", .myhostname = "host.test",
		.qid = "ABC", .rcpt = "bob@test", .now = 1795459651,
	};

	setenv("TZ", "UTC", 1);
	tzset();
	cleanup_date(1795459651, date, sizeof(date));
	CHECK_STR(date, "Mon, 23 Nov 2026 18:47:31 +0000");
	setenv("TZ", "EST5", 1);
	tzset();
	cleanup_date(1795459651, date, sizeof(date));
	CHECK_STR(date, "Mon, 23 Nov 2026 13:47:31 -0500");
	setenv("TZ", "UTC", 1);
	tzset();

	r = cleanup_received_format(&rcv);
	CHECK_STR(r, "Received: from mx.example (mail.example [192.0.2.1])\n"
	    "\tby host.test (postern) with ESMTP id ABC\n"
	    "\tfor <bob@test>; Mon, 23 Nov 2026 18:47:31 +0000");
	xfree(&r);
	rcv.rcpt = NULL;
	rcv.helo = "evil\n\tinjected";
	rcv.tls = "1";
	r = cleanup_received_format(&rcv);
	CHECK_STR(r, "Received: from evil??injected (mail.example "
	    "[192.0.2.1])\n\t(using TLS)\n"
	    "\tby host.test (postern) with ESMTP id ABC;\n"
	    "\tMon, 23 Nov 2026 18:47:31 +0000");
	xfree(&r);
	rcv.origin = "pickup";
	rcv.uid = "1000";
	r = cleanup_received_format(&rcv);
	CHECK_STR(r, "Received: by host.test (postern, from userid 1000)\n"
	    "\tid ABC; Mon, 23 Nov 2026 18:47:31 +0000");
	xfree(&r);
}

int
main(void)
{
	TEST_RUN(test_split);
	TEST_RUN(test_value_find_format);
	TEST_RUN(test_addr_list);
	TEST_RUN(test_addr_list_limits);
	TEST_RUN(test_action);
	TEST_RUN(test_date_received);
	return TEST_DONE();
}
