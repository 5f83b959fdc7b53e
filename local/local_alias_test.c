/*
 * local_alias_test.c - target lists and their classification.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "local.h"
#include "testing.h"

static bool
test_is_local(const char *domain)
{
	return strcasecmp(domain, "example.test") == 0 ||
	    strcasecmp(domain, "localhost") == 0;
}

static void
test_list_parse(void)
{
	static const struct {
		const char *in;
		const char *want;	/* targets joined by " ; " */
	} cases[] = {
		/* failures first */
		{ "a, \"|cmd", NULL },
		{ "\"", NULL },
		{ "", "" },
		{ "  ,  , ", "" },
		{ "bob", "bob" },
		{ "bob, alice", "bob ; alice" },
		{ "bob,alice\ncarol", "bob ; alice ; carol" },
		{ "# comment\nbob\n  # another, with comma\nalice\n",
		    "bob ; alice" },
		{ "\"|/usr/bin/vacation -a bob, x\", \\bob",
		    "|/usr/bin/vacation -a bob, x ; \\bob" },
		{ "<user@remote.test>, :include:/etc/list",
		    "user@remote.test ; :include:/etc/list" },
		{ "\"/path with \\\"q\\\"\"", "/path with \"q\"" },
		{ "|/bin/cat -", "|/bin/cat -" },
		{ "bob # not a comment mid-line",
		    "bob # not a comment mid-line" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		char **list = local_list_parse(cases[i].in, &error);
		struct buf *joined;

		if (cases[i].want == NULL) {
			CHECK(list == NULL);
			CHECK(error != NULL);
			config_list_free(&list);
			continue;
		}
		CHECK(list != NULL);
		if (list == NULL)
			continue;
		joined = buf_new(4096);
		for (j = 0; list[j] != NULL; j++) {
			if (j > 0)
				buf_add_str(joined, " ; ");
			buf_add_str(joined, list[j]);
		}
		CHECK_STR(joined->data, cases[i].want);
		buf_free(&joined);
		config_list_free(&list);
	}
}

static void
test_list_limit(void)
{
	size_t n = LOCAL_TARGETS_MAX + 1, i;
	char *text = malloc(n * 2 + 1), **list;
	const char *error = NULL;

	for (i = 0; i < n; i++) {
		text[2 * i] = 'a';
		text[2 * i + 1] = ',';
	}
	text[2 * n] = '\0';
	list = local_list_parse(text, &error);
	CHECK(list == NULL);
	CHECK_STR(error, "too many targets");
	free(text);
}

static void
test_classify(void)
{
	static const struct {
		const char *in;
		int type;		/* -1: error */
		const char *value;
	} cases[] = {
		{ "", -1, NULL },
		{ "|", -1, NULL },
		{ "|   ", -1, NULL },
		{ ":include:relative", -1, NULL },
		{ ":include:/a/../etc/shadow", -1, NULL },
		{ "/var/../etc/passwd", -1, NULL },
		{ "/var/x/..", -1, NULL },
		{ "\\", -1, NULL },
		{ "@example.test", -1, NULL },
		{ "| /usr/bin/procmail -a x", LOCAL_TARGET_COMMAND,
		    "/usr/bin/procmail -a x" },
		{ "/var/mail/archive", LOCAL_TARGET_FILE, "/var/mail/archive" },
		{ "/home/bob/Maildir/", LOCAL_TARGET_FILE,
		    "/home/bob/Maildir/" },
		{ ":INCLUDE: /etc/lists/staff", LOCAL_TARGET_INCLUDE,
		    "/etc/lists/staff" },
		{ "\\Bob", LOCAL_TARGET_MAILBOX, "bob" },
		{ "\\bob@example.test", LOCAL_TARGET_MAILBOX, "bob" },
		{ "Alice", LOCAL_TARGET_LOCAL, "alice" },
		{ "alice+x@Example.TEST", LOCAL_TARGET_LOCAL, "alice+x" },
		{ "root@localhost", LOCAL_TARGET_LOCAL, "root" },
		{ "Bob@Remote.test", LOCAL_TARGET_REMOTE, "Bob@Remote.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct local_target t;
		const char *error = NULL;
		int ret = local_target_classify(cases[i].in, test_is_local,
		    &t, &error);

		if (cases[i].type < 0) {
			if (ret != -1)
				fprintf(stderr, "case %s\n", cases[i].in);
			CHECK(ret == -1);
			CHECK(error != NULL);
			continue;
		}
		CHECK(ret == 0);
		CHECK((int)t.type == cases[i].type);
		CHECK_STR(t.value, cases[i].value);
		local_target_release(&t);
	}
}

static void
test_source_allowed(void)
{
	CHECK(!local_source_allowed("", LOCAL_SOURCE_ALIAS));
	CHECK(!local_source_allowed("forward", LOCAL_SOURCE_ALIAS));
	CHECK(!local_source_allowed("alias, forward", LOCAL_SOURCE_INCLUDE));
	CHECK(local_source_allowed("alias, forward", LOCAL_SOURCE_ALIAS));
	CHECK(local_source_allowed("alias,forward", LOCAL_SOURCE_FORWARD));
	CHECK(local_source_allowed("alias Include", LOCAL_SOURCE_INCLUDE));
}

int
main(void)
{
	TEST_RUN(test_list_parse);
	TEST_RUN(test_list_limit);
	TEST_RUN(test_classify);
	TEST_RUN(test_source_allowed);
	return TEST_DONE();
}
