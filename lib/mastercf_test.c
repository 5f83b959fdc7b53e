/*
 * mastercf_test.c - unit tests for mastercf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mastercf.h"
#include "mem.h"
#include "testing.h"

static void
test_errors(void)
{
	static const struct {
		const char *text;
		const char *error;	/* the whole message */
	} cases[] = {
		{ "smtp inet n - y - - smtpd x\n  \n  more\nbad\n",
		    "master.cf, line 4: too few columns (1, want at least 8: "
		    "service type private unpriv chroot wakeup maxproc "
		    "command)" },
		{ "smtp inet n - y - -\n",
		    "master.cf, line 1: too few columns (7, want at least 8: "
		    "service type private unpriv chroot wakeup maxproc "
		    "command)" },
		{ "  smtp inet n - y - - smtpd\n",
		    "master.cf, line 1: line starting with whitespace but no "
		    "service before it" },
		{ "# c\nsmtp fifo n - y - - smtpd\n",
		    "master.cf, line 2: unknown service type \"fifo\" (want "
		    "inet, unix or pass)" },
		{ "smtp inet yes - y - - smtpd\n",
		    "master.cf, line 1: bad private field \"yes\" (want y, n "
		    "or -)" },
		{ "smtp inet n x y - - smtpd\n",
		    "master.cf, line 1: bad unpriv field \"x\" (want y, n or "
		    "-)" },
		{ "smtp inet n - Y - - smtpd\n",
		    "master.cf, line 1: bad chroot field \"Y\" (want y, n or "
		    "-)" },
		{ "pickup unix n - y 6O - pickup\n",
		    "master.cf, line 1: bad wakeup time \"6O\"" },
		{ "pickup unix n - y ? - pickup\n",
		    "master.cf, line 1: bad wakeup time \"?\"" },
		{ "pickup unix n - y -1 - pickup\n",
		    "master.cf, line 1: bad wakeup time \"-1\"" },
		{ "smtp inet n - y - 99999999999 smtpd\n",
		    "master.cf, line 1: bad process limit \"99999999999\"" },
		{ "smtp inet n - y - 1? smtpd\n",
		    "master.cf, line 1: bad process limit \"1?\"" },
		{ "smtp inet n - y - - smtpd -o\n",
		    "master.cf, line 1: -o without name=value" },
		{ "smtp inet n - y - - smtpd\n  -o\n",
		    "master.cf, line 1: -o without name=value" },
		{ "smtp inet n - y - - smtpd -o x\n",
		    "master.cf, line 1: -o \"x\" is not name=value" },
		{ "smtp inet n - y - - smtpd -o =x\n",
		    "master.cf, line 1: -o \"=x\" is not name=value" },
		{ "smtp inet n - y - - smtpd -o { a = b\n",
		    "master.cf, line 1: unbalanced \"{\"" },
		{ "smtp inet n - y - - smtpd\n\n#\nsmtp inet n - y - - smtpd\n",
		    "master.cf, line 4: duplicate service smtp/inet (first on "
		    "line 1)" },
		{ "../x unix n - y - - smtpd\n",
		    "master.cf, line 1: bad service name \"../x\"" },
		{ ".. unix n - y - - smtpd\n",
		    "master.cf, line 1: bad service name \"..\"" },
	};
	struct mastercf m;
	char *error;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error = NULL;
		CHECK(mastercf_parse(cases[i].text, strlen(cases[i].text),
		    "master.cf", &m, &error) == -1);
		CHECK_STR(error, cases[i].error);
		CHECK(m.count == 0 && m.services == NULL);
		xfree(&error);
	}
	/* A NUL inside a line. */
	CHECK(mastercf_parse("a unix - - - - - x\nb\0", 21, "m", &m,
	    &error) == -1);
	CHECK_STR(error, "m, line 2: NUL character in line");
	xfree(&error);
	CHECK(mastercf_load("/nonexistent/master.cf", &m, &error) == -1);
	CHECK(error != NULL && strstr(error, "/nonexistent/master.cf: "
	    "cannot read") == error);
	xfree(&error);
}

static const char good[] =
	"# service type private unpriv chroot wakeup maxproc command\n"
	"smtp      inet  n       -       y       -       -       smtpd\n"
	"127.0.0.1:2525 inet n   -       n       -       4       smtpd\n"
	"submission inet n       -       y       -       -       smtpd\n"
	"  -o syslog_name=postern/submission\n"
	"  -o smtpd_tls_security_level=encrypt\n"
	"\n"
	"# a comment between arguments\n"
	"  -o { smtpd_client_restrictions = permit_sasl_authenticated, "
	"reject }\n"
	"  -osmtpd_sasl_auth_enable=yes\n"
	"pickup    unix  n       -       y       60      1       pickup\n"
	"qmgr      unix  n       -       n       300?    1       qmgr\n"
	"cleanup   unix  n       -       y       -       0       cleanup\n"
	"smtp      unix  -       -       y       -       -       smtp\n"
	"local     unix  -       n       n       -       -       local "
	"{ arg with space } x\n"
	"relay     pass  -       -       -       -       -       smtp";

static void
test_good(void)
{
	struct mastercf m;
	struct mastercf_service *s;
	char *error = NULL;

	CHECK(mastercf_parse(good, strlen(good), "master.cf", &m, &error)
	    == 0);
	CHECK(error == NULL);
	CHECK(m.count == 9);
	if (m.count != 9)
		return;
	s = &m.services[0];
	CHECK_STR(s->name, "smtp");
	CHECK_STR(s->type, "inet");
	CHECK(!s->private_ && s->unpriv && s->chroot);
	CHECK(s->wakeup == 0 && s->maxproc == -1);
	CHECK_STR(s->command, "smtpd");
	CHECK(s->args[0] == NULL && s->overrides[0] == NULL);
	CHECK(s->line == 2);
	s = &m.services[1];
	CHECK_STR(s->name, "127.0.0.1:2525");
	CHECK(!s->chroot && s->maxproc == 4);
	s = &m.services[2];
	CHECK_STR(s->name, "submission");
	CHECK(s->line == 4);
	CHECK_STR(s->args[0], "-o");
	CHECK_STR(s->args[1], "syslog_name=postern/submission");
	CHECK_STR(s->args[4], "-o");
	CHECK_STR(s->args[5], "smtpd_client_restrictions = "
	    "permit_sasl_authenticated, reject");
	CHECK_STR(s->args[6], "-osmtpd_sasl_auth_enable=yes");
	CHECK(s->args[7] == NULL);
	CHECK_STR(s->overrides[0], "syslog_name=postern/submission");
	CHECK_STR(s->overrides[1], "smtpd_tls_security_level=encrypt");
	CHECK_STR(s->overrides[2], "smtpd_client_restrictions="
	    "permit_sasl_authenticated, reject");
	CHECK_STR(s->overrides[3], "smtpd_sasl_auth_enable=yes");
	CHECK(s->overrides[4] == NULL);
	s = &m.services[3];
	CHECK(s->wakeup == 60 && s->maxproc == 1 && s->line == 11);
	s = &m.services[4];
	CHECK(s->wakeup == 300 && !s->chroot);
	CHECK(m.services[5].maxproc == 0);
	s = &m.services[6];
	CHECK_STR(s->type, "unix");
	CHECK(s->private_);
	s = &m.services[7];
	CHECK(!s->unpriv && !s->chroot);
	CHECK_STR(s->args[0], "arg with space");
	CHECK_STR(s->args[1], "x");
	CHECK(s->args[2] == NULL);
	s = &m.services[8];
	CHECK_STR(s->type, "pass");
	CHECK(s->line == 16);
	mastercf_release(&m);
	CHECK(m.count == 0 && m.services == NULL);
	/* Empty and comment-only files are empty tables. */
	CHECK(mastercf_parse("", 0, "m", &m, &error) == 0 && m.count == 0);
	CHECK(mastercf_parse("# x\n\n", 5, "m", &m, &error) == 0 &&
	    m.count == 0);
}

static void
test_load(void)
{
	char path[] = "/tmp/mastercf_test.XXXXXX", *error = NULL;
	struct mastercf m;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, good, strlen(good)) == (ssize_t)strlen(good));
	close(fd);
	CHECK(mastercf_load(path, &m, &error) == 0);
	CHECK(m.count == 9);
	mastercf_release(&m);
	unlink(path);
}

static void
test_inet_addr(void)
{
	static const struct {
		const char *name;
		const char *host, *port;	/* NULL: malformed */
	} cases[] = {
		{ "", NULL, NULL },
		{ ":25", NULL, NULL },
		{ "host:", NULL, NULL },
		{ "[::1]", NULL, NULL },
		{ "[::1", NULL, NULL },
		{ "[::1]25", NULL, NULL },
		{ "[]:25", NULL, NULL },
		{ "::1:25", NULL, NULL },
		{ "a b:25", NULL, NULL },
		{ "host:2 5", NULL, NULL },
		{ "x/y", NULL, NULL },
		{ "2525", "", "2525" },
		{ "smtp", "", "smtp" },
		{ "127.0.0.1:2525", "127.0.0.1", "2525" },
		{ "[::1]:2525", "::1", "2525" },
		{ "[fe80::1%lo]:smtp", "fe80::1%lo", "smtp" },
		{ "localhost:submission", "localhost", "submission" },
		{ "*:25", "", "25" },
	};
	char *host, *port;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = mastercf_inet_addr(cases[i].name, &host, &port);
		CHECK(r == (cases[i].host ? 0 : -1));
		CHECK_STR(host, cases[i].host);
		CHECK_STR(port, cases[i].port);
		xfree(&host);
		xfree(&port);
	}
}

int
main(void)
{
	TEST_RUN(test_errors);
	TEST_RUN(test_good);
	TEST_RUN(test_load);
	TEST_RUN(test_inet_addr);
	return TEST_DONE();
}
