/*
 * smtpd_login_test.c - tests for the sender owner lookups, with inline:
 * tables and configuration set by config_set().
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_login.h"
#include "smtpd_restrict.h"
#include "testing.h"

static void
test_listed(void)
{
	static const struct {
		const char *owners, *user;
		bool want;
	} cases[] = {
		{ "", "alice", false },
		{ " , ", "alice", false },
		{ "alice2", "alice", false },	/* whole names only */
		{ "xalice", "alice", false },
		{ "alice", "alic", false },
		{ "bob carol", "alice", false },
		{ "alice", "", false },
		{ "alice", "alice", true },
		{ "ALICE", "alice", true },
		{ "bob, alice", "alice", true },
		{ "bob,alice", "alice", true },
		{ "bob\talice ", "alice", true },
		{ "alice@example.test", "Alice@Example.test", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (smtpd_login_listed(cases[i].owners, cases[i].user) !=
		    cases[i].want)
			fprintf(stderr, "owners \"%s\" user \"%s\"\n",
			    cases[i].owners, cases[i].user);
		CHECK(smtpd_login_listed(cases[i].owners, cases[i].user) ==
		    cases[i].want);
	}
}

static void
test_owners(void)
{
	static const struct {
		const char *sender;
		enum smtpd_login_owners want;
		const char *owners;
	} cases[] = {
		{ "x@elsewhere.test", SMTPD_LOGIN_NONE, NULL },
		{ "info@elsewhere.test", SMTPD_LOGIN_NONE, NULL },
		{ "alice@example.test", SMTPD_LOGIN_FOUND, "alice" },
		{ "ALICE+x@example.test", SMTPD_LOGIN_FOUND, "alice" },
		/* Key-major order: the address in the second table wins over
		 * "@shared.test" in the first. */
		{ "carol@shared.test", SMTPD_LOGIN_FOUND, "carol" },
		{ "dave@shared.test", SMTPD_LOGIN_FOUND, "team" },
		/* The local part alone: local domains only. */
		{ "info@example.test", SMTPD_LOGIN_FOUND, "bob" },
		{ "info", SMTPD_LOGIN_FOUND, "bob" },	/* @$myorigin */
		{ "info+x@mx.example.test", SMTPD_LOGIN_FOUND, "bob" },
	};
	size_t i;

	config_set("myhostname", "mx.example.test");
	config_set("mydestination", "example.test, $myhostname");
	config_set("recipient_delimiter", "+");
	config_set("smtpd_sender_login_maps",
	    "inline:{ alice@example.test=alice, @shared.test=team, "
	    "info=bob }, inline:{ carol@shared.test=carol }");
	smtpd_restrict_init();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *owners = NULL;
		enum smtpd_login_owners r;

		r = smtpd_login_owners(cases[i].sender, &owners);
		if (r != cases[i].want)
			fprintf(stderr, "%s: got %d\n", cases[i].sender, (int)r);
		CHECK(r == cases[i].want);
		CHECK_STR(owners, cases[i].owners);
		xfree(&owners);
	}
	/* A table that does not open. */
	config_set("smtpd_sender_login_maps", "inline:{ a=b }, "
	    "lmdb:/nonexistent/logins");
	{
		char *owners = NULL;

		CHECK(smtpd_login_owners("a", &owners) == SMTPD_LOGIN_CONFIG);
		CHECK(owners == NULL);
	}
	smtpd_restrict_free();
}

static void
test_self(void)
{
	static const struct {
		const char *sender, *user;
		bool want;
	} cases[] = {
		{ "bob@example.test", "alice", false },
		{ "alice@elsewhere.test", "alice", false },	/* not ours */
		{ "alice@example.test", "alice@elsewhere.test", false },
		{ "alice@example.test", "alic", false },
		{ "alicex@example.test", "alice", false },
		{ "alice-x@example.test", "alice", false },
		{ "x@elsewhere.test", "x@elsewhere.test", true }, /* its login */
		{ "X@Elsewhere.test", "x@elsewhere.TEST", true },
		{ "alice@example.test", "alice", true },
		{ "Alice+lists@example.test", "ALICE", true },
		{ "alice@mx.example.test", "alice", true },
		{ "alice", "alice", true },			/* @$myorigin */
	};
	size_t i;

	config_set("myhostname", "mx.example.test");
	config_set("myorigin", "example.test");
	config_set("mydestination", "example.test, $myhostname");
	config_set("recipient_delimiter", "+");
	config_set("smtpd_sender_login_maps", "");
	smtpd_restrict_init();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (smtpd_login_self(cases[i].sender, cases[i].user) !=
		    cases[i].want)
			fprintf(stderr, "sender %s user %s\n", cases[i].sender,
			    cases[i].user);
		CHECK(smtpd_login_self(cases[i].sender, cases[i].user) ==
		    cases[i].want);
	}
	smtpd_restrict_free();
}

int
main(void)
{
	log_init("smtpd_login_test", false);
	log_set_verbose(false);
	TEST_RUN(test_listed);
	TEST_RUN(test_owners);
	TEST_RUN(test_self);
	return TEST_DONE();
}
