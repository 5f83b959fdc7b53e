/*
 * smtp_policy_test.c - tests for smtp_policy.c: TLS policy words and the
 * SASL framing.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "testing.h"

static void
test_policy_table(void)
{
	static const struct {
		const char *in;
		int want;
		enum smtp_tls_level level;
		const char *match0, *match1;
	} cases[] = {
		{ "", -1, SMTP_TLS_NONE, NULL, NULL },
		{ "dane", -1, SMTP_TLS_NONE, NULL, NULL },	/* not yet */
		{ "sometimes", -1, SMTP_TLS_NONE, NULL, NULL },
		{ "verify match=", -1, SMTP_TLS_NONE, NULL, NULL },
		{ "none", 0, SMTP_TLS_NONE, NULL, NULL },
		{ "may", 0, SMTP_TLS_MAY, NULL, NULL },
		{ "ENCRYPT", 0, SMTP_TLS_ENCRYPT, NULL, NULL },
		{ "encrypt ciphers=high", 0, SMTP_TLS_ENCRYPT, NULL, NULL },
		{ "verify", 0, SMTP_TLS_VERIFY, NULL, NULL },
		{ "secure", 0, SMTP_TLS_VERIFY, NULL, NULL },
		{ "verify match=hostname", 0, SMTP_TLS_VERIFY, "hostname",
		    NULL },
		{ "verify match=hostname:mx.example.com", 0, SMTP_TLS_VERIFY,
		    "hostname", "mx.example.com" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_tls_policy p;
		char *error = NULL;
		int got = smtp_tls_policy_parse(cases[i].in, &p, &error);

		if (got != cases[i].want)
			fprintf(stderr, "case %zu (%s): got %d\n", i,
			    cases[i].in, got);
		CHECK(got == cases[i].want);
		if (got < 0) {
			CHECK(error != NULL);
		} else {
			CHECK(p.level == cases[i].level);
			if (cases[i].match0 == NULL) {
				CHECK(p.match == NULL);
			} else {
				CHECK(p.match != NULL);
				if (p.match != NULL) {
					CHECK_STR(p.match[0], cases[i].match0);
					CHECK_STR(p.match[1], cases[i].match1);
				}
			}
		}
		free(error);
		smtp_tls_policy_release(&p);
	}
}

static void
test_level_names(void)
{
	enum smtp_tls_level l;

	CHECK(smtp_tls_level_parse("may", &l) == 0 && l == SMTP_TLS_MAY);
	CHECK_STR(smtp_tls_level_name(SMTP_TLS_VERIFY), "verify");
	CHECK(smtp_tls_level_parse("", &l) == -1);
}

static void
test_sasl(void)
{
	char *user, *password, *s;

	CHECK(smtp_sasl_split("nocolon", &user, &password) == -1);
	CHECK(smtp_sasl_split(":pw", &user, &password) == -1);
	CHECK(smtp_sasl_split("user:pa:ss", &user, &password) == 0);
	CHECK_STR(user, "user");
	CHECK_STR(password, "pa:ss");	/* the first colon splits */
	free(user);
	free(password);
	CHECK(smtp_sasl_split("user:", &user, &password) == 0);
	CHECK_STR(password, "");
	free(user);
	free(password);

	/* RFC 4616: base64("\0tim\0tanstaaftanstaaf"). */
	s = smtp_sasl_plain("tim", "tanstaaftanstaaf");
	CHECK_STR(s, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	free(s);
	s = smtp_base64("", 0);
	CHECK_STR(s, "");
	free(s);
	s = smtp_base64("ab", 2);
	CHECK_STR(s, "YWI=");
	free(s);
}

int
main(void)
{
	TEST_RUN(test_policy_table);
	TEST_RUN(test_level_names);
	TEST_RUN(test_sasl);
	return TEST_DONE();
}
