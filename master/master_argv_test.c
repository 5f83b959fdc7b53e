/*
 * master_argv_test.c - a child's exec path and argv, and the inet
 * address a service binds.
 */
#include <sys/socket.h>

#include "mem.h"
#include "testing.h"
#include "master.h"

static void
check_argv(char **got, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		CHECK(got[i] != NULL);
		if (got[i] == NULL)
			return;
		CHECK_STR(got[i], want[i]);
	}
	CHECK(got[i] == NULL);
}

static void
test_argv_flags(void)
{
	char *args_smtpd[] = { "-o", "smtpd_tls_wrappermode=yes", "-v", NULL };
	char *no_args[] = { NULL };
	struct master_service smtp = { .name = "127.0.0.1:465",
		.type = "inet", .unpriv = true, .chroot = true,
		.command = "smtpd", .args = args_smtpd };
	struct master_service local = { .name = "local", .type = "unix",
		.unpriv = false, .chroot = false, .command = "local",
		.args = no_args };
	struct master_service abs = { .name = "x", .type = "unix",
		.unpriv = true, .chroot = false, .command = "/opt/bin/x",
		.args = NULL };
	static const char *const want_smtp[] = { "smtpd", "-c", "/etc/p",
		"-s", "127.0.0.1:465", "-t", "inet", "-u", "-j", "-o",
		"smtpd_tls_wrappermode=yes", "-v", NULL };
	static const char *const want_local[] = { "local", "-c", "/etc/p",
		"-s", "local", "-t", "unix", NULL };
	static const char *const want_abs[] = { "/opt/bin/x", "-c", "/etc/p",
		"-s", "x", "-t", "unix", "-u", NULL };
	char *path = NULL;
	char **argv;

	argv = master_argv_build(&smtp, "/etc/p", "/usr/lib/postern", &path);
	check_argv(argv, want_smtp);
	CHECK_STR(path, "/usr/lib/postern/smtpd");
	master_argv_free(&argv);
	CHECK(argv == NULL);
	xfree(&path);

	argv = master_argv_build(&local, "/etc/p", "/usr/lib/postern", &path);
	check_argv(argv, want_local);
	CHECK_STR(path, "/usr/lib/postern/local");
	master_argv_free(&argv);
	xfree(&path);

	argv = master_argv_build(&abs, "/etc/p", "/usr/lib/postern", &path);
	check_argv(argv, want_abs);
	CHECK_STR(path, "/opt/bin/x");
	master_argv_free(&argv);
	xfree(&path);
}

static void
test_inet_target(void)
{
	static const struct {
		const char *name, *interfaces, *protocols;
		int rc;
		const char *host, *port;
		int family;
	} cases[] = {
		{ "", "all", "all", -1, NULL, NULL, 0 },
		{ "127.0.0.1:", "all", "all", -1, NULL, NULL, 0 },
		{ "2525", "all", "all", 0, "", "2525", AF_UNSPEC },
		{ "2525", "all", "ipv4", 0, "", "2525", AF_INET },
		{ "2525", "all", "ipv6", 0, "", "2525", AF_INET6 },
		{ "smtp", "all", "all", 0, "", "smtp", AF_UNSPEC },
		{ "127.0.0.1:2525", "all", "all", 0, "127.0.0.1", "2525",
		    AF_UNSPEC },
		{ "[::1]:25", "all", "all", 0, "::1", "25", AF_UNSPEC },
		{ "2525", "loopback-only", "ipv4", 0, "127.0.0.1", "2525",
		    AF_INET },
		{ "2525", "127.0.0.2", "all", 0, "127.0.0.2", "2525",
		    AF_UNSPEC },
		{ "2525", "[::1]", "all", 0, "::1", "2525", AF_UNSPEC },
		/* a host in the name wins over inet_interfaces */
		{ "127.0.0.3:2525", "127.0.0.2", "all", 0, "127.0.0.3",
		    "2525", AF_UNSPEC },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *host = NULL, *port = NULL;
		int family = -1;
		int rc = master_inet_target(cases[i].name, cases[i].interfaces,
		    cases[i].protocols, &host, &port, &family);

		CHECK(rc == cases[i].rc);
		if (rc != 0 || cases[i].rc != 0)
			continue;
		CHECK_STR(host, cases[i].host);
		CHECK_STR(port, cases[i].port);
		CHECK(family == cases[i].family);
		xfree(&host);
		xfree(&port);
	}
}

static void
test_same_socket(void)
{
	struct master_service a = { .name = "smtp", .type = "inet" };
	struct master_service b = { .name = "smtp", .type = "unix",
		.private_ = true };
	struct master_service c = { .name = "smtp", .type = "unix",
		.private_ = false };
	struct master_service d = { .name = "smtp", .type = "inet" };
	struct master_service e = { .name = "smtp", .type = "unix",
		.private_ = true };

	CHECK(!master_same_socket(&a, &b));
	CHECK(!master_same_socket(&b, &c));
	CHECK(master_same_socket(&a, &d));
	CHECK(master_same_socket(&b, &e));
}

int
main(void)
{
	TEST_RUN(test_argv_flags);
	TEST_RUN(test_inet_target);
	TEST_RUN(test_same_socket);
	return TEST_DONE();
}
