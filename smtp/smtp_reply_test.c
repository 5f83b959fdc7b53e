/*
 * smtp_reply_test.c - tests for smtp_reply.c: reply lines, enhanced
 * codes, EHLO keywords.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "testing.h"

/* Feed "\n"-separated lines; the last add_line result. */
static int
feed(struct smtp_reply *r, const char *text)
{
	const char *p = text, *nl;
	int got = 0;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		got = smtp_reply_add_line(r, p, (size_t)(nl - p));
		if (got != 0)
			return got;
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return got;
}

static void
test_reply_table(void)
{
	static const struct {
		const char *in;
		int want;
		int code;
		const char *dsn;
		const char *string;
	} cases[] = {
		{ "", 0, 0, NULL, NULL },
		{ "25", -1, 0, NULL, NULL },		/* too short */
		{ "abc hello", -1, 0, NULL, NULL },
		{ "250x hello", -1, 0, NULL, NULL },	/* bad separator */
		{ "150 hello", -1, 0, NULL, NULL },	/* no 1yz in SMTP */
		{ "650 hello", -1, 0, NULL, NULL },
		{ "250-a\n251 b", -1, 0, NULL, NULL },	/* code changes */
		{ "250-a", 0, 0, NULL, NULL },		/* not finished */
		{ "250", 1, 250, "2.0.0", "250" },
		{ "250 ok", 1, 250, "2.0.0", "250 ok" },
		{ "354 go ahead", 1, 354, "3.0.0", "354 go ahead" },
		{ "550 5.1.1 no such user", 1, 550, "5.1.1",
		    "550 5.1.1 no such user" },
		{ "451 4.7.1 try later", 1, 451, "4.7.1",
		    "451 4.7.1 try later" },
		{ "550 4.1.1 class mismatch", 1, 550, "5.0.0",
		    "550 4.1.1 class mismatch" },
		{ "550 5.1.1234 too long", 1, 550, "5.0.0", NULL },
		{ "550 5.1.1x", 1, 550, "5.0.0", NULL },
		{ "250 2.0.0", 1, 250, "2.0.0", "250 2.0.0" },
		{ "550-5.7.1 first\n550 5.7.1 second", 1, 550, "5.7.1",
		    "550 5.7.1 first 5.7.1 second" },
		{ "250-mx\n250-PIPELINING\n250 SIZE 100", 1, 250, "2.0.0",
		    "250 mx PIPELINING SIZE 100" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_reply r;
		int got;

		smtp_reply_init(&r);
		got = feed(&r, cases[i].in);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: got %d\n", i, got);
		CHECK(got == cases[i].want);
		if (got == 1) {
			CHECK(r.code == cases[i].code);
			CHECK_STR(r.dsn, cases[i].dsn);
			if (cases[i].string != NULL) {
				char *s = smtp_reply_string(&r);

				CHECK_STR(s, cases[i].string);
				free(s);
			}
		}
		smtp_reply_release(&r);
	}
}

static void
test_reply_reuse(void)
{
	struct smtp_reply r;

	/* A complete reply followed by a new line starts a new reply. */
	smtp_reply_init(&r);
	CHECK(feed(&r, "250 first") == 1);
	CHECK(feed(&r, "550 5.1.1 second") == 1);
	CHECK(r.code == 550);
	CHECK_STR(r.dsn, "5.1.1");
	CHECK(r.lines == 1);
	smtp_reply_release(&r);
}

static void
test_reply_limit(void)
{
	struct smtp_reply r;
	char line[1024];
	size_t i;
	int got = 0;

	/* An endless multi-line reply stops at SMTP_REPLY_MAX. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "250-", 4);
	smtp_reply_init(&r);
	for (i = 0; i < 200 && got == 0; i++)
		got = smtp_reply_add_line(&r, line, sizeof(line));
	CHECK(got == -1);
	smtp_reply_release(&r);
}

static void
test_ehlo(void)
{
	static const struct {
		const char *in;
		bool pipelining, size, eightbit, utf8, dsn, starttls;
		unsigned long long size_max;
		bool plain, login;
	} cases[] = {
		{ "250 mx.example.com", false, false, false, false, false,
		    false, 0, false, false },
		/* The greeting line's words are not keywords. */
		{ "250-PIPELINING\n250 mx", false, false, false, false, false,
		    false, 0, false, false },
		{ "250-mx\n250-pipelining\n250-SIZE\n250-8BITMIME\n"
		    "250-SMTPUTF8\n250-DSN\n250 STARTTLS", true, true, true,
		    true, true, true, 0, false, false },
		{ "250-mx\n250-SIZE 10240000\n250 AUTH LOGIN PLAIN", false,
		    true, false, false, false, false, 10240000, true, true },
		{ "250-mx\n250-AUTH=LOGIN\n250 SIZE 0", false, true, false,
		    false, false, false, 0, false, true },
		{ "250-mx\n250-AUTH CRAM-MD5 DIGEST-MD5\n250 PIPELININGX",
		    false, false, false, false, false, false, 0, false,
		    false },
		{ "250-mx\n250 SIZE 99999999999999999999999", false, true,
		    false, false, false, false, 0, false, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_reply r;
		struct smtp_ext e;

		smtp_reply_init(&r);
		CHECK(feed(&r, cases[i].in) == 1);
		smtp_ext_parse(&r, &e);
		if (e.pipelining != cases[i].pipelining ||
		    e.size != cases[i].size || e.size_max !=
		    cases[i].size_max || e.auth_plain != cases[i].plain ||
		    e.auth_login != cases[i].login)
			fprintf(stderr, "ehlo case %zu\n", i);
		CHECK(e.pipelining == cases[i].pipelining);
		CHECK(e.size == cases[i].size);
		CHECK(e.size_max == cases[i].size_max);
		CHECK(e.eightbitmime == cases[i].eightbit);
		CHECK(e.smtputf8 == cases[i].utf8);
		CHECK(e.dsn == cases[i].dsn);
		CHECK(e.starttls == cases[i].starttls);
		CHECK(e.auth_plain == cases[i].plain);
		CHECK(e.auth_login == cases[i].login);
		smtp_reply_release(&r);
	}
}

int
main(void)
{
	TEST_RUN(test_reply_table);
	TEST_RUN(test_reply_reuse);
	TEST_RUN(test_reply_limit);
	TEST_RUN(test_ehlo);
	return TEST_DONE();
}
