/*
 * config_test.c - unit tests for config.c and config_params.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mem.h"
#include "testing.h"

static int
load(const char *text)
{
	return config_load_text(text, strlen(text), "main.cf");
}

/* true when some error has this file, line and text. */
static bool
has_error(const char *file, int line, const char *text)
{
	const struct config_error *e;
	size_t count, i;

	e = config_errors(&count);
	for (i = 0; i < count; i++)
		if (strcmp(e[i].file, file) == 0 && e[i].line == line &&
		    strstr(e[i].text, text) != NULL)
			return true;
	return false;
}

static size_t
error_count(void)
{
	size_t count;

	(void)config_errors(&count);
	return count;
}

static void
test_syntax_errors(void)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen */
		int line;
		const char *error;
	} cases[] = {
		{ "a_b c\n", 0, 1, "missing '=' in \"a_b c\"" },
		{ "# c\n\n  x = y\n", 0, 3, "line starting with whitespace "
		    "but no parameter before it" },
		{ "myorigin = x\nbad name = 1\n", 0, 2, "bad parameter name" },
		{ "= 1\n", 0, 1, "bad parameter name" },
		{ "myorigin = a\n\n\nfoo\n  bar\n", 0, 4, "missing '=' in "
		    "\"foo bar\"" },
		{ "myorigin = a\nx\0y = 1\n", 21, 2, "NUL character" },
	};
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		CHECK(config_load_text(cases[i].text, len, "main.cf") == -1);
		if (!has_error("main.cf", cases[i].line, cases[i].error))
			fprintf(stderr, "case %zu: no error \"%s\" at line "
			    "%d\n", i, cases[i].error, cases[i].line);
		CHECK(has_error("main.cf", cases[i].line, cases[i].error));
	}
	/* The values that parsed are still usable. */
	CHECK(load("myorigin = good\nbroken\n") == -1);
	CHECK_STR(config_get("myorigin"), "good");
}

static void
test_comments_continuation(void)
{
	CHECK(load("# comment\n"
	    "   # indented comment\n"
	    "\n"
	    "mydestination = a,\n"
	    "    b\n"
	    "# between\n"
	    "\n"
	    "\tc   \n"
	    "myorigin=x.example # not a comment\n"
	    "relayhost =   \n"
	    "smtpd_banner = one two  \r\n") == 0);
	CHECK(error_count() == 0);
	CHECK_STR(config_get("mydestination"), "a, b c");
	CHECK_STR(config_get("myorigin"), "x.example # not a comment");
	CHECK_STR(config_get("relayhost"), "");
	CHECK(config_is_set("relayhost"));
	CHECK_STR(config_get("smtpd_banner"), "one two");
	/* Last setting wins. */
	CHECK(load("myorigin = a\nmyorigin = b\n") == 0);
	CHECK_STR(config_get("myorigin"), "b");
}

static void
test_expansion(void)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "$$", "$" },
		{ "a$", "a$" },
		{ "$ x", "$ x" },
		{ "$undefined_thing.", "." },
		{ "$mail_name", "postern" },
		{ "${mail_name}x", "posternx" },
		{ "$(mail_name)x", "posternx" },
		{ "$mail_name$$mail_name", "postern$mail_name" },
		{ "${mail_name?set}", "set" },
		{ "${mail_name:unset}", "" },
		{ "${relayhost?set}", "" },
		{ "${relayhost:unset}", "unset" },
		{ "${mail_name?{$mail_name}}", "postern" },
		{ "${mail_name?{ a }:{b}}", " a " },
		{ "${relayhost?{a} : {b}}", "b" },
		{ "${relayhost:{a}}", "a" },
		{ "${mail_name?{a}x}", "{a}x" },
		{ "${relayhost?{a}:{b}x}", "" },
		{ "${mail_name?{a}:{b}x}", "{a}:{b}x" },
		{ "${mail_name?{a}:b}", "{a}:b" },
		{ "${relayhost:{a}:{b}}", "{a}:{b}" },
		{ "${mail_name?{{x}}}", "{x}" },
		{ "${relayhost:${mail_name}-x}", "postern-x" },
		{ "<$myorigin>", "<host.example.org>" },
		{ "$mydomain", "example.org" },
	};
	char *text;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = xasprintf("myhostname = host.example.org\n"
		    "smtpd_banner = %s\n", cases[i].value);
		CHECK(load(text) == 0);
		CHECK_STR(config_get("smtpd_banner"), cases[i].want);
		xfree(&text);
	}
	CHECK(load("myhostname = mx.example.com\n") == 0);
	CHECK_STR(config_get("mydestination"),
	    "mx.example.com, localhost.example.com, localhost");
	CHECK_STR(config_get("myorigin"), "mx.example.com");
	CHECK_STR(config_get("smtpd_banner"), "mx.example.com ESMTP postern");
	CHECK_STR(config_get_raw("myorigin"), NULL);
	CHECK_STR(config_get_raw("myhostname"), "mx.example.com");
	/* A single-label host name gets Postfix's localdomain. */
	CHECK(load("myhostname = solo\n") == 0);
	CHECK_STR(config_get("mydomain"), "localdomain");
	/* Computed defaults. */
	CHECK(load("") == 0);
	CHECK(strchr(config_get("myhostname"), '.') != NULL);
	CHECK_STR(config_default("myhostname"), config_get("myhostname"));
	CHECK_STR(config_default("mail_name"), "postern");
	CHECK_STR(config_default("no_such_thing"), "");
}

static void
test_recursion(void)
{
	static const char *const loops[] = {
		"myorigin = $myorigin\n",
		"myorigin = $relayhost\nrelayhost = ${myorigin}\n",
		"myorigin = ${relayhost?x}\nrelayhost = $myorigin\n",
		"myorigin = ${relayhost\n",
		"myorigin = ${relayhost?x\n",
		"myorigin = ${}\n",
	};
	size_t i;

	for (i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		CHECK(load(loops[i]) == 0);	/* parses fine */
		CHECK_STR(config_get("myorigin"), "");
		CHECK(config_check() == -1);
		CHECK(has_error("main.cf", 1, "myorigin: "));
	}
	CHECK(load("myorigin = $relayhost\nrelayhost = $myorigin\n") == 0);
	CHECK(config_check() == -1);
	CHECK(has_error("main.cf", 1, "nested more than 20 deep"));
	CHECK(has_error("main.cf", 2, "relayhost: "));
	/* Exponential growth stops at the size limit, quickly. */
	CHECK(load("a0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "a1 = $a0$a0$a0$a0\na2 = $a1$a1$a1$a1\na3 = $a2$a2$a2$a2\n"
	    "a4 = $a3$a3$a3$a3\na5 = $a4$a4$a4$a4\na6 = $a5$a5$a5$a5\n"
	    "a7 = $a6$a6$a6$a6\na8 = $a7$a7$a7$a7\na9 = $a8$a8$a8$a8\n"
	    "a10 = $a9$a9$a9$a9\na11 = $a10$a10$a10$a10\n"
	    "myorigin = $a11$a11\n") == 0);
	CHECK_STR(config_get("myorigin"), "");
}

static void
test_unknown(void)
{
	CHECK(load("myorigin = a\nno_such_parameter = 1\n") == 0);
	CHECK(config_check() == -1);
	CHECK(has_error("main.cf", 2, "unknown parameter no_such_parameter"));
	CHECK(error_count() == 1);
	/* A second check does not pile up the same errors. */
	CHECK(config_check() == -1);
	CHECK(error_count() == 1);
	/* User-defined macros used elsewhere are fine, as in Postfix. */
	CHECK(load("my_rbls = reject_rbl_client zen.example\n"
	    "smtpd_recipient_restrictions = permit_mynetworks, $my_rbls\n")
	    == 0);
	CHECK(config_check() == 0);
	CHECK_STR(config_get("smtpd_recipient_restrictions"),
	    "permit_mynetworks, reject_rbl_client zen.example");
	/* ... also when only master.cf -o uses them. */
	CHECK(load("mua_client_restrictions = permit_sasl_authenticated, "
	    "reject\n") == 0);
	CHECK(config_check() == -1);
	config_reference("smtpd_client_restrictions="
	    "$mua_client_restrictions");
	CHECK(config_check() == 0);
	CHECK(config_known("myhostname"));
	CHECK(config_known("smtp_destination_concurrency_limit"));
	CHECK(config_known("relay_destination_recipient_limit"));
	CHECK(!config_known("_destination_recipient_limit"));
	CHECK(!config_known("Smtp_destination_recipient_limit"));
	CHECK(!config_known("mua_client_restrictions"));
	/* Not implemented yet: accepted, warned about, not an error. */
	CHECK(load("smtpd_tls_cert_file = /etc/ssl/x.pem\n") == 0);
	CHECK(config_check() == 0);
}

static void
test_type_check(void)
{
	static const struct {
		const char *line;
		int ok;
	} cases[] = {
		{ "message_size_limit = 10k", -1 },
		{ "message_size_limit = ", -1 },
		{ "message_size_limit = 99999999999999999999999", -1 },
		{ "smtpd_timeout = 5x", -1 },
		{ "smtpd_timeout = s", -1 },
		{ "smtpd_timeout = 5ss", -1 },
		{ "smtpd_timeout = -5s", -1 },
		{ "smtpd_helo_required = maybe", -1 },
		{ "message_size_limit = 0", 0 },
		{ "smtpd_timeout = 5m", 0 },
		{ "smtpd_timeout = 30", 0 },
		{ "smtpd_helo_required = YES", 0 },
		{ "smtp_destination_concurrency_limit = 3", 0 },
		{ "smtp_destination_concurrency_limit = x", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(load(cases[i].line) == 0);
		if (config_check() != cases[i].ok)
			fprintf(stderr, "case \"%s\"\n", cases[i].line);
		CHECK(config_check() == cases[i].ok);
		if (cases[i].ok < 0)
			CHECK(has_error("main.cf", 1, "bad "));
	}
}

static void
test_getters(void)
{
	static const struct {
		const char *value;
		long long seconds;
	} times[] = {
		{ "bogus", 300 },	/* default */
		{ "1x", 300 },
		{ "", 300 },
		{ "99999999999999999999w", 300 },
		{ "0", 0 },
		{ "45", 45 },
		{ "45s", 45 },
		{ "2m", 120 },
		{ "3h", 10800 },
		{ "5d", 432000 },
		{ "1w", 604800 },
	};
	static const struct {
		const char *value;
		bool want;
	} bools[] = {
		{ "maybe", false },	/* default "no" */
		{ "yes", true }, { "Yes", true }, { "true", true },
		{ "1", true }, { "no", false }, { "false", false },
		{ "0", false },
	};
	size_t i;

	CHECK(load("") == 0);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		config_set("smtpd_timeout", times[i].value);
		CHECK(config_get_time("smtpd_timeout") == times[i].seconds);
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		config_set("smtpd_helo_required", bools[i].value);
		CHECK(config_get_bool("smtpd_helo_required") == bools[i].want);
	}
	/* Defaults and their units. */
	CHECK(load("") == 0);
	CHECK(config_get_int("message_size_limit") == 10240000);
	CHECK(config_get_time("maximal_queue_lifetime") == 5 * 86400);
	CHECK(config_get_time("smtpd_timeout") == 300);
	CHECK(config_get_time("delay_warning_time") == 0);
	CHECK(config_get_bool("disable_vrfy_command"));
	CHECK(!config_get_bool("smtpd_helo_required"));
	CHECK(config_get_int("smtp_destination_concurrency_limit") == 20);
	CHECK(config_get_int("local_destination_concurrency_limit") == 2);
	/* A bare number takes the parameter's unit. */
	config_set("delay_warning_time", "4");
	CHECK(config_get_time("delay_warning_time") == 4 * 3600);
	config_set("maximal_queue_lifetime", "2");
	CHECK(config_get_time("maximal_queue_lifetime") == 2 * 86400);
	config_set("message_size_limit", "x");
	CHECK(config_get_int("message_size_limit") == 10240000);
	config_set("default_destination_concurrency_limit", "7");
	CHECK(config_get_int("smtp_destination_concurrency_limit") == 7);
	config_set("message_size_limit", "$default_destination_"
	    "concurrency_limit");
	CHECK(config_get_int("message_size_limit") == 7);
}

static void
test_overrides(void)
{
	const char *old, *name, *raw;
	size_t iter = 0;

	CHECK(config_override("no equals sign") == -1);
	CHECK(config_override("=x") == -1);
	CHECK(config_override("bad name=x") == -1);
	CHECK(load("myorigin = from.file\nrelayhost = [smart]\n") == 0);
	old = config_get("myorigin");
	CHECK(config_override(" myorigin = from.override ") == 0);
	CHECK_STR(old, "from.file");	/* still valid until config_load */
	CHECK_STR(config_get("myorigin"), "from.override");
	CHECK_STR(config_get_raw("myorigin"), "from.override");
	CHECK(config_override("smtpd_banner=$myorigin banner") == 0);
	CHECK_STR(config_get("smtpd_banner"), "from.override banner");
	/* Overrides survive a reload and still win. */
	CHECK(load("myorigin = other.file\n") == 0);
	CHECK_STR(config_get("myorigin"), "from.override");
	CHECK_STR(config_get("relayhost"), "");
	CHECK(config_next_set(&iter, &name, &raw));
	CHECK_STR(name, "myorigin");
	CHECK_STR(raw, "from.override");
	CHECK(config_next_set(&iter, &name, &raw));
	CHECK_STR(name, "smtpd_banner");
	CHECK(!config_next_set(&iter, &name, &raw));
	/* config_set replaces an override. */
	config_set("myorigin", "set.directly");
	CHECK_STR(config_get("myorigin"), "set.directly");
	CHECK(load("") == 0);
	CHECK_STR(config_get("myorigin"), config_get("myhostname"));
	config_set("smtpd_banner", "plain");
	CHECK(load("") == 0);
	CHECK(strstr(config_get("smtpd_banner"), " ESMTP postern") != NULL);
}

static void
test_lists(void)
{
	static const struct {
		const char *value;
		const char *want[6];
	} cases[] = {
		{ "", { NULL } },
		{ " ,, \t\n", { NULL } },
		{ "a", { "a", NULL } },
		{ "a,b c\t,d", { "a", "b", "c", "d", NULL } },
		{ "inline:{ a=b, c=d }, x", { "inline:{ a=b, c=d }", "x",
		    NULL } },
		{ "check_policy_service { inet:127.0.0.1:9, timeout=10s }",
		    { "check_policy_service", "inet:127.0.0.1:9, timeout=10s",
		    NULL } },
		{ "inline:{ {a}=b }", { "inline:{ {a}=b }", NULL } },
		{ "inline:{ a, b", { "inline:{ a, b", NULL } },
		{ "a}b, c", { "a}b", "c", NULL } },
		{ "{}", { "", NULL } },
	};
	char **list;
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		list = config_split_list(cases[i].value);
		for (j = 0; cases[i].want[j] != NULL; j++)
			CHECK_STR(list[j], cases[i].want[j]);
		CHECK(list[j] == NULL);
		config_list_free(&list);
		CHECK(list == NULL);
	}
	CHECK(load("mynetworks = 127.0.0.0/8,\n  [::1]/128 10.0.0.0/8\n")
	    == 0);
	list = config_get_list("mynetworks");
	CHECK_STR(list[0], "127.0.0.0/8");
	CHECK_STR(list[1], "[::1]/128");
	CHECK_STR(list[2], "10.0.0.0/8");
	CHECK(list[3] == NULL);
	config_list_free(&list);
	CHECK(load("") == 0);
	list = config_get_list("smtpd_relay_restrictions");
	CHECK_STR(list[0], "permit_mynetworks");
	CHECK_STR(list[2], "defer_unauth_destination");
	CHECK(list[3] == NULL);
	config_list_free(&list);
}

static void
test_load_dir(void)
{
	char dir[] = "/tmp/config_test.XXXXXX", *path;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	/* No main.cf: all defaults, no error. */
	CHECK(config_load(dir) == 0);
	CHECK_STR(config_dir(), dir);
	path = xasprintf("%s/aliases", dir);
	CHECK_STR(config_get("config_directory"), dir);
	CHECK(strstr(config_get("alias_maps"), path) != NULL);
	xfree(&path);
	path = xasprintf("%s/main.cf", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("myorigin = example.net\nnonsense\n", f);
	fclose(f);
	CHECK(config_load(dir) == -1);
	CHECK(has_error(path, 2, "missing '='"));
	CHECK_STR(config_get("myorigin"), "example.net");
	unlink(path);
	xfree(&path);
	rmdir(dir);
}

static void
test_table(void)
{
	const struct config_param *p, *q;

	/* Names are unique and every default of a typed parameter
	 * parses. */
	for (p = config_params; p->name != NULL; p++) {
		for (q = p + 1; q->name != NULL; q++)
			if (strcmp(p->name, q->name) == 0) {
				fprintf(stderr, "duplicate %s\n", p->name);
				CHECK(0);
			}
		CHECK(config_param(p->name) == p);
		CHECK(p->type != CONFIG_TIME || p->unit != 0);
	}
	CHECK(load("") == 0);
	for (p = config_params; p->name != NULL; p++)
		config_set(p->name, p->default_value ? p->default_value :
		    config_default(p->name));
	if (config_check() != 0) {
		size_t count, i;
		const struct config_error *e = config_errors(&count);

		for (i = 0; i < count; i++)
			fprintf(stderr, "%s\n", e[i].text);
	}
	CHECK(config_check() == 0);
}

int
main(void)
{
	TEST_RUN(test_syntax_errors);
	TEST_RUN(test_comments_continuation);
	TEST_RUN(test_expansion);
	TEST_RUN(test_recursion);
	TEST_RUN(test_unknown);
	TEST_RUN(test_type_check);
	TEST_RUN(test_getters);
	TEST_RUN(test_overrides);
	TEST_RUN(test_lists);
	TEST_RUN(test_load_dir);
	TEST_RUN(test_table);
	return TEST_DONE();
}
