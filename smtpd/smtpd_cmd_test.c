/*
 * smtpd_cmd_test.c - tests for SMTP command parsing: verbs, MAIL and RCPT
 * arguments and parameters, BDAT arguments. Failure cases first.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "smtpd_cmd.h"
#include "testing.h"

static void
test_verbs(void)
{
	static const struct {
		const char *line;
		enum smtpd_verb want;
		const char *args;
	} cases[] = {
		{ "", SMTPD_VERB_UNKNOWN, "" },
		{ "MAILX FROM:<a@b>", SMTPD_VERB_UNKNOWN, "FROM:<a@b>" },
		{ "STARTTLSX", SMTPD_VERB_UNKNOWN, "" },
		{ "starttls", SMTPD_VERB_STARTTLS, "" },
		{ "GET / HTTP/1.0", SMTPD_VERB_FORBIDDEN, "/ HTTP/1.0" },
		{ "ehlo client.test", SMTPD_VERB_EHLO, "client.test" },
		{ "MAIL FROM:<a@b>", SMTPD_VERB_MAIL, "FROM:<a@b>" },
		{ "rcpt  TO:<a@b>", SMTPD_VERB_RCPT, "TO:<a@b>" },
		{ "DATA", SMTPD_VERB_DATA, "" },
		{ "BDAT 10 LAST", SMTPD_VERB_BDAT, "10 LAST" },
		{ "QUIT", SMTPD_VERB_QUIT, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args;

		CHECK(smtpd_cmd_verb(cases[i].line, &args) == cases[i].want);
		CHECK_STR(args, cases[i].args);
	}
	CHECK_STR(smtpd_cmd_name(SMTPD_VERB_EHLO), "ehlo");
	CHECK_STR(smtpd_cmd_name(SMTPD_VERB_UNKNOWN), "unknown");
}

static void
test_mail(void)
{
	static const struct {
		const char *args;
		bool strict;
		const char *reply;	/* NULL: accepted */
		const char *sender;
	} cases[] = {
		{ "<a@b.test>", false, "501 5.5.4 Syntax: MAIL FROM:<address>",
		  NULL },
		{ "FROM:bad address", false,
		  "501 5.1.7 Bad sender address syntax", NULL },
		{ "FROM: <a@b.test>", true,
		  "501 5.1.7 Bad sender address syntax", NULL },
		{ "FROM:<a@b.test", false,
		  "501 5.1.7 Bad sender address syntax", NULL },
		{ "FROM:<a@b.test> SIZE=x", false,
		  "501 5.5.4 Bad message size syntax", NULL },
		{ "FROM:<a@b.test> SIZE=1001", false,
		  "552 5.3.4 Message size exceeds fixed limit", NULL },
		{ "FROM:<a@b.test> SIZE=99999999999999999999999", false,
		  "501 5.5.4 Bad message size syntax", NULL },
		{ "FROM:<a@b.test> BODY=BINARYMIME", false,
		  "555 5.5.4 Unsupported option: BODY=BINARYMIME", NULL },
		{ "FROM:<a@b.test> BODY=9BIT", false,
		  "501 5.5.4 Bad BODY keyword value", NULL },
		{ "FROM:<a@b.test> RET=ALL", false,
		  "501 5.5.4 Bad RET parameter syntax", NULL },
		{ "FROM:<a@b.test> ENVID=a+zz", false,
		  "501 5.5.4 Bad ENVID parameter syntax", NULL },
		{ "FROM:<a@b.test> FOO=1", false,
		  "555 5.5.4 Unsupported option: FOO", NULL },
		{ "FROM:<a@b.test> SMTPUTF8=yes", false,
		  "501 5.5.4 Bad SMTPUTF8 parameter syntax", NULL },
		{ "FROM:<j\xc3\xb6rg@b.test>", false,
		  "553 5.6.7 Must declare SMTPUTF8 to send unicode address",
		  NULL },
		{ "FROM:<a@b.test>", false, NULL, "a@b.test" },
		{ "from:<>", true, NULL, "" },
		{ "FROM: <a@b.test>", false, NULL, "a@b.test" },
		{ "FROM:a@b.test", false, NULL, "a@b.test" },
		{ "FROM:<a@b.test> SIZE=1000 BODY=8bitmime RET=hdrs "
		  "ENVID=a+2Bb AUTH=<>", false, NULL, "a@b.test" },
		{ "FROM:<j\xc3\xb6rg@b.test> SMTPUTF8", false, NULL,
		  "j\xc3\xb6rg@b.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_mail m;
		char *reply = NULL;
		int r = smtpd_cmd_mail(cases[i].args, cases[i].strict, true,
		    1000, &m, &reply);

		if (cases[i].reply != NULL) {
			CHECK(r == -1);
			CHECK_STR(reply, cases[i].reply);
			CHECK(m.sender == NULL);
		} else {
			if (r != 0)
				fprintf(stderr, "%s: %s\n", cases[i].args,
				    reply);
			CHECK(r == 0);
			CHECK_STR(m.sender, cases[i].sender);
			smtpd_mail_release(&m);
		}
		xfree(&reply);
	}
}

static void
test_mail_params(void)
{
	struct smtpd_mail m;
	char *reply = NULL;

	CHECK(smtpd_cmd_mail("FROM:<a@b.test> SMTPUTF8", false, false, 0, &m,
	    &reply) == -1);
	CHECK_STR(reply, "555 5.5.4 Unsupported option: SMTPUTF8");
	xfree(&reply);
	CHECK(smtpd_cmd_mail("FROM:<a@b.test> SIZE=1000 BODY=8bitmime "
	    "RET=hdrs ENVID=a+2Bb SMTPUTF8", false, true, 0, &m, &reply) == 0);
	CHECK(m.size == 1000);
	CHECK_STR(m.body, "8BITMIME");
	CHECK_STR(m.ret, "HDRS");
	CHECK_STR(m.envid, "a+b");
	CHECK(m.smtputf8);
	smtpd_mail_release(&m);
}

static void
test_rcpt(void)
{
	static const struct {
		const char *args;
		const char *reply;
		const char *address, *notify, *orcpt;
	} cases[] = {
		{ "<a@b.test>", "501 5.5.4 Syntax: RCPT TO:<address>", NULL, NULL, NULL },
		{ "TO:<>", "501 5.1.3 Bad recipient address syntax", NULL, NULL, NULL },
		{ "TO:a b", "501 5.1.3 Bad recipient address syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> NOTIFY=NEVER,DELAY",
		  "501 5.5.4 Error: Bad NOTIFY parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> NOTIFY=SOMETIMES",
		  "501 5.5.4 Error: Bad NOTIFY parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> NOTIFY",
		  "501 5.5.4 Error: Bad NOTIFY parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> ORCPT=a@b.test",
		  "501 5.5.4 Error: Bad ORCPT parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> ORCPT=rfc822;",
		  "501 5.5.4 Error: Bad ORCPT parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> ORCPT=rfc822;a+4",
		  "501 5.5.4 Error: Bad ORCPT parameter syntax", NULL, NULL, NULL },
		{ "TO:<a@b.test> SIZE=1", "555 5.5.4 Unsupported option: SIZE", NULL, NULL, NULL },
		{ "TO:<j\xc3\xb6rg@b.test>",
		  "553 5.6.7 Must declare SMTPUTF8 to send unicode address", NULL, NULL, NULL },
		{ "TO:<a@b.test>", NULL, "a@b.test", NULL, NULL },
		{ "TO:<postmaster>", NULL, "postmaster", NULL, NULL },
		{ "TO:<a@b.test> NOTIFY=delay,failure,success", NULL,
		  "a@b.test", "SUCCESS,FAILURE,DELAY", NULL },
		{ "TO:<a@b.test> NOTIFY=NEVER ORCPT=rfc822;x+2By@b.test", NULL,
		  "a@b.test", "NEVER", "rfc822;x+y@b.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_rcpt r;
		char *reply = NULL;
		int result = smtpd_cmd_rcpt(cases[i].args, false, false, &r,
		    &reply);

		if (cases[i].reply != NULL) {
			CHECK(result == -1);
			CHECK_STR(reply, cases[i].reply);
		} else {
			if (result != 0)
				fprintf(stderr, "%s: %s\n", cases[i].args,
				    reply);
			CHECK(result == 0);
			CHECK_STR(r.address, cases[i].address);
			CHECK_STR(r.notify, cases[i].notify);
			CHECK_STR(r.orcpt, cases[i].orcpt);
			smtpd_rcpt_release(&r);
		}
		xfree(&reply);
	}
}

static void
test_bdat(void)
{
	static const struct {
		const char *args;
		int want;
		uint64_t size;
		bool last;
	} cases[] = {
		{ "", -1, 0, false },
		{ "x", -1, 0, false },
		{ "10LAST", -1, 0, false },
		{ "10 FIRST", -1, 0, false },
		{ "10 LAST x", -1, 0, false },
		{ "-1", -1, 0, false },
		{ "123456789012345678901234", -1, 0, false },
		{ "0 LAST", 0, 0, true },
		{ "10", 0, 10, false },
		{ "10 last", 0, 10, true },
		{ "1000000 LAST", 0, 1000000, true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t size = 0;
		bool last = false;

		CHECK(smtpd_cmd_bdat(cases[i].args, &size, &last) ==
		    cases[i].want);
		if (cases[i].want == 0) {
			CHECK(size == cases[i].size);
			CHECK(last == cases[i].last);
		}
	}
}

static void
test_helo_valid(void)
{
	CHECK(!smtpd_cmd_helo_valid(""));
	CHECK(!smtpd_cmd_helo_valid("a b"));
	CHECK(!smtpd_cmd_helo_valid("a\x01"));
	CHECK(smtpd_cmd_helo_valid("client.test"));
	CHECK(smtpd_cmd_helo_valid("[127.0.0.1]"));
}

int
main(void)
{
	TEST_RUN(test_verbs);
	TEST_RUN(test_mail);
	TEST_RUN(test_mail_params);
	TEST_RUN(test_rcpt);
	TEST_RUN(test_bdat);
	TEST_RUN(test_helo_valid);
	return TEST_DONE();
}
