/*
 * smtpd_auth_test.c - AUTH decoding (strict base64, PLAIN's three
 * fields), the AUTH= parameter of MAIL (xtext, "<>", only kept for an
 * authenticated client), the protocol name for Received, and when AUTH
 * is offered.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "mem.h"
#include "smtpd_auth.h"
#include "smtpd_cmd.h"
#include "smtpd_session.h"
#include "testing.h"

static void
test_base64_decode(void)
{
	static const struct { const char *in; int ret; const char *out;
	    size_t len; } cases[] = {
		/* failures first */
		{ "Zg=", -1, NULL, 0 },		/* length not a multiple of 4 */
		{ "Zg", -1, NULL, 0 },
		{ "Z===", -1, NULL, 0 },	/* too much padding */
		{ "Zg=a", -1, NULL, 0 },	/* data after padding */
		{ "Zg==Zm9v", -1, NULL, 0 },	/* padding in the middle */
		{ "Zm9v YmFy", -1, NULL, 0 },	/* spaces */
		{ "Zm9-", -1, NULL, 0 },	/* base64url */
		{ "Zm\r9", -1, NULL, 0 },
		{ "Zh==", -1, NULL, 0 },	/* non-zero bits after the data */
		{ "Zm9=", -1, NULL, 0 },
		/* good */
		{ "", 0, "", 0 },
		{ "Zg==", 0, "f", 1 },
		{ "Zm8=", 0, "fo", 2 },
		{ "Zm9v", 0, "foo", 3 },
		{ "AGFsaWNlAHB3", 0, "\0alice\0pw", 9 },
		{ "+/+/", 0, "\xfb\xff\xbf", 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out;
		int ret;

		buf_init(&out, 100);
		ret = smtpd_auth_base64_decode(cases[i].in, &out);
		CHECK(ret == cases[i].ret);
		if (ret != cases[i].ret)
			fprintf(stderr, "case %zu: %s\n", i, cases[i].in);
		if (ret == 0 && cases[i].ret == 0) {
			CHECK(out.len == cases[i].len);
			CHECK(out.len == 0 ||
			    memcmp(out.data, cases[i].out, out.len) == 0);
		}
		buf_release(&out);
	}
}

static void
test_base64_limit(void)
{
	struct buf out;

	buf_init(&out, 2);
	CHECK(smtpd_auth_base64_decode("Zm9v", &out) == -1);
	buf_release(&out);
}

static void
test_plain_split(void)
{
	static const struct { const char *in; size_t len; int ret;
	    const char *authzid, *authcid, *password; } cases[] = {
		/* failures first */
		{ "", 0, -1, NULL, NULL, NULL },
		{ "alice", 5, -1, NULL, NULL, NULL },		/* no NUL */
		{ "\0alice", 6, -1, NULL, NULL, NULL },		/* one NUL */
		{ "\0\0pw", 4, -1, NULL, NULL, NULL },		/* no authcid */
		{ "\0alice\0", 7, -1, NULL, NULL, NULL },	/* no password */
		{ "\0alice\0pw\0", 10, -1, NULL, NULL, NULL },	/* third NUL */
		/* good */
		{ "\0alice\0pw", 9, 0, "", "alice", "pw" },
		{ "alice\0alice\0p w", 15, 0, "alice", "alice", "p w" },
		{ "admin\0bob\0x", 11, 0, "admin", "bob", "x" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *z, *c, *p;
		int ret = smtpd_auth_plain_split(cases[i].in, cases[i].len, &z,
		    &c, &p);

		CHECK(ret == cases[i].ret);
		if (ret != cases[i].ret)
			fprintf(stderr, "case %zu\n", i);
		CHECK_STR(z, cases[i].authzid);
		CHECK_STR(c, cases[i].authcid);
		CHECK_STR(p, cases[i].password);
		xfree(&z);
		xfree(&c);
		xfree(&p);
	}
}

static void
test_mail_auth_param(void)
{
	static const struct { const char *args; int ret; const char *auth; }
	cases[] = {
		/* failures first */
		{ "FROM:<a@b.test> AUTH=", -1, NULL },
		{ "FROM:<a@b.test> AUTH", -1, NULL },
		{ "FROM:<a@b.test> AUTH=a+4", -1, NULL },	/* bad xtext */
		{ "FROM:<a@b.test> AUTH=a+zz", -1, NULL },
		/* good */
		{ "FROM:<a@b.test> AUTH=<>", 0, NULL },
		{ "FROM:<a@b.test> AUTH=alice@b.test", 0, "alice@b.test" },
		{ "FROM:<a@b.test> AUTH=alice+40b.test", 0, "alice@b.test" },
		{ "FROM:<a@b.test> AUTH=+3C+3E", 0, NULL },	/* "<>" */
		{ "FROM:<a@b.test>", 0, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_mail m;
		char *reply = NULL;
		int ret = smtpd_cmd_mail(cases[i].args, false, true, 0, &m,
		    &reply);

		CHECK(ret == cases[i].ret);
		if (ret != cases[i].ret)
			fprintf(stderr, "case %zu: %s\n", i, cases[i].args);
		if (ret == 0) {
			CHECK_STR(m.auth, cases[i].auth);
			smtpd_mail_release(&m);
		} else {
			CHECK(reply != NULL && strncmp(reply, "501 ", 4) == 0);
		}
		xfree(&reply);
	}
}

static void
test_mail_auth_kept(void)
{
	struct smtpd_session s;

	memset(&s, 0, sizeof(s));
	/* Not authenticated: ignored (RFC 4954 5). */
	s.mail.auth = xstrdup("alice@b.test");
	smtpd_auth_mail(&s);
	CHECK(s.mail.auth == NULL);
	/* Authenticated: kept. */
	s.sasl_user = xstrdup("alice");
	s.mail.auth = xstrdup("alice@b.test");
	smtpd_auth_mail(&s);
	CHECK_STR(s.mail.auth, "alice@b.test");
	xfree(&s.mail.auth);
	/* Control characters: dropped. */
	s.mail.auth = xstrdup("al\tice@b.test");
	smtpd_auth_mail(&s);
	CHECK(s.mail.auth == NULL);
	xfree(&s.sasl_user);
}

static void
test_protocol(void)
{
	struct smtpd_session s;

	memset(&s, 0, sizeof(s));
	CHECK_STR(smtpd_auth_protocol(&s), "SMTP");
	s.esmtp = true;
	CHECK_STR(smtpd_auth_protocol(&s), "ESMTP");
	s.tls_active = true;
	CHECK_STR(smtpd_auth_protocol(&s), "ESMTPS");
	s.sasl_user = "alice";
	CHECK_STR(smtpd_auth_protocol(&s), "ESMTPSA");
	s.tls_active = false;
	CHECK_STR(smtpd_auth_protocol(&s), "ESMTPA");
}

static void
test_offered(void)
{
	struct smtpd_session s;
	struct buf ehlo;

	memset(&s, 0, sizeof(s));
	buf_init(&ehlo, 1000);
	config_set("smtpd_sasl_auth_enable", "no");
	CHECK(!smtpd_auth_offered(&s));
	config_set("smtpd_sasl_auth_enable", "yes");
	/* postern's default: smtpd_tls_auth_only = yes */
	CHECK(!smtpd_auth_offered(&s));
	s.tls_active = true;
	CHECK(smtpd_auth_offered(&s));
	config_set("smtpd_sasl_security_options", "noanonymous, noplaintext");
	CHECK(!smtpd_auth_offered(&s));
	config_set("smtpd_sasl_security_options", "noanonymous");
	config_set("broken_sasl_auth_clients", "yes");
	smtpd_auth_ehlo(&s, &ehlo);
	CHECK_STR(ehlo.data, "\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN");
	buf_reset(&ehlo);
	s.tls_active = false;
	config_set("smtpd_tls_auth_only", "no");
	config_set("broken_sasl_auth_clients", "no");
	smtpd_auth_ehlo(&s, &ehlo);
	CHECK_STR(ehlo.data, "\r\n250-AUTH PLAIN LOGIN");
	buf_release(&ehlo);
}

int
main(void)
{
	TEST_RUN(test_base64_decode);
	TEST_RUN(test_base64_limit);
	TEST_RUN(test_plain_split);
	TEST_RUN(test_mail_auth_param);
	TEST_RUN(test_mail_auth_kept);
	TEST_RUN(test_protocol);
	TEST_RUN(test_offered);
	return TEST_DONE();
}
