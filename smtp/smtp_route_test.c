/*
 * smtp_route_test.c - tests for smtp_route.c's pure parts: nexthop
 * syntax and MX ordering (routing itself needs DNS: test/test_outbound.py).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "smtp.h"
#include "testing.h"

static void
test_nexthop_table(void)
{
	static const struct {
		const char *in;
		bool lmtp_service;
		int want;
		const char *host, *path;
		int port;
		bool mx, lmtp;
	} cases[] = {
		{ "unix:", false, -1, NULL, NULL, 0, false, false },
		{ "[", false, -1, NULL, NULL, 0, false, false },
		{ "[]", false, -1, NULL, NULL, 0, false, false },
		{ "[a]x", false, -1, NULL, NULL, 0, false, false },
		{ "[a]:", false, -1, NULL, NULL, 0, false, false },
		{ "[a]:0", false, -1, NULL, NULL, 0, false, false },
		{ "[a]:65536", false, -1, NULL, NULL, 0, false, false },
		{ "a:b", false, -1, NULL, NULL, 0, false, false },
		{ "2001:db8::1", false, -1, NULL, NULL, 0, false, false },
		{ "a/b", false, -1, NULL, NULL, 0, false, false },
		{ "", false, -1, NULL, NULL, 0, false, false },
		{ "example.com", false, 0, "example.com", NULL, 25, true,
		    false },
		{ "example.com:2525", false, 0, "example.com", NULL, 2525,
		    true, false },
		{ "[mail.example.com]", false, 0, "mail.example.com", NULL, 25,
		    false, false },
		{ "[relay.example.com]:587", false, 0, "relay.example.com",
		    NULL, 587, false, false },
		{ "[2001:db8::1]:25", false, 0, "2001:db8::1", NULL, 25, false,
		    false },
		{ "unix:/run/dovecot/lmtp", false, 0, NULL,
		    "/run/dovecot/lmtp", 0, false, true },
		{ "inet:lmtp.example.com", false, 0, "lmtp.example.com", NULL,
		    24, false, true },
		{ "inet:[127.0.0.1]:2424", false, 0, "127.0.0.1", NULL, 2424,
		    false, true },
		{ "inet:host:2424", false, 0, "host", NULL, 2424, false, true },
		{ "backend.example.com", true, 0, "backend.example.com", NULL,
		    24, false, true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_nexthop n;
		const char *error = NULL;
		int got = smtp_nexthop_parse(cases[i].in,
		    cases[i].lmtp_service, &n, &error);

		if (got != cases[i].want)
			fprintf(stderr, "case %zu (%s): got %d\n", i,
			    cases[i].in, got);
		CHECK(got == cases[i].want);
		if (got < 0) {
			CHECK(error != NULL);
		} else {
			CHECK_STR(n.host, cases[i].host);
			CHECK_STR(n.path, cases[i].path);
			if (cases[i].path == NULL)
				CHECK(n.port == cases[i].port);
			CHECK(n.mx == cases[i].mx);
			CHECK(n.lmtp == cases[i].lmtp);
		}
		smtp_nexthop_release(&n);
	}
}

static size_t
pick_last(size_t n)
{
	return n - 1;
}

static size_t
pick_first(size_t n)
{
	return 0;
}

static void
test_mx_sort(void)
{
	struct dns_mx mx[] = {
		{ "c", 30 }, { "a1", 10 }, { "b", 20 }, { "a2", 10 },
		{ "a3", 10 },
	};
	size_t n = sizeof(mx) / sizeof(mx[0]);
	size_t round;

	smtp_mx_sort(mx, n, pick_last);
	CHECK(mx[0].preference == 10 && mx[1].preference == 10 &&
	    mx[2].preference == 10);
	CHECK_STR(mx[3].host, "b");
	CHECK_STR(mx[4].host, "c");
	/* Different random choices reorder the equal ones, never others. */
	for (round = 0; round < 2; round++) {
		smtp_mx_sort(mx, n, round == 0 ? pick_first : pick_last);
		CHECK(mx[0].host[0] == 'a' && mx[1].host[0] == 'a' &&
		    mx[2].host[0] == 'a');
		CHECK_STR(mx[3].host, "b");
	}
	/* One entry and none are fine. */
	smtp_mx_sort(mx, 1, pick_first);
	smtp_mx_sort(mx, 0, pick_first);
}

static void
test_target_label(void)
{
	struct smtp_target t = { .host = "mx.example.com", .addr = "192.0.2.1",
	    .family = AF_INET, .port = 25 };
	struct smtp_target u = { .host = "localhost", .family = AF_UNIX,
	    .path = "private/dovecot-lmtp" };
	char *s;

	s = smtp_target_label(&t);
	CHECK_STR(s, "mx.example.com[192.0.2.1]:25");
	free(s);
	s = smtp_target_label(&u);
	CHECK_STR(s, "localhost[private/dovecot-lmtp]");
	free(s);
}

static void
test_route_without_dns(void)
{
	struct smtp_nexthop n;
	struct smtp_target *t = NULL;
	struct smtp_failure f = { 0 };
	size_t count = 0;
	const char *error;

	/* No dns_init(): a name needs DNS and defers; an address does not. */
	CHECK(smtp_nexthop_parse("example.com", false, &n, &error) == 0);
	CHECK(smtp_route(&n, "me.example", &t, &count, &f) == -1);
	CHECK(f.status == DELIVERY_DEFERRED);
	CHECK_STR(f.dsn, "4.4.3");
	smtp_failure_release(&f);
	smtp_nexthop_release(&n);

	CHECK(smtp_nexthop_parse("[192.0.2.7]:2525", false, &n, &error) == 0);
	CHECK(smtp_route(&n, "me.example", &t, &count, &f) == 0);
	CHECK(count == 1);
	CHECK_STR(t[0].addr, "192.0.2.7");
	CHECK(t[0].port == 2525);
	CHECK(t[0].family == AF_INET);
	smtp_targets_free(&t, count);
	smtp_nexthop_release(&n);

	CHECK(smtp_nexthop_parse("unix:private/lmtp", false, &n, &error) == 0);
	CHECK(smtp_route(&n, "me.example", &t, &count, &f) == 0);
	CHECK(count == 1 && t[0].family == AF_UNIX);
	CHECK_STR(t[0].path, "private/lmtp");
	smtp_targets_free(&t, count);
	smtp_nexthop_release(&n);
}

int
main(void)
{
	TEST_RUN(test_nexthop_table);
	TEST_RUN(test_mx_sort);
	TEST_RUN(test_target_label);
	TEST_RUN(test_route_without_dns);
	return TEST_DONE();
}
