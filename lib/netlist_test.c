/*
 * netlist_test.c - tests for lib/netlist.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "netlist.h"
#include "testing.h"

static void
test_bad_lists(void)
{
	static const struct {
		const char *list;
		const char *error_part;
	} cases[] = {
		{ "1.2.3.4/24", "host bits" },
		{ "10.0.0.0/33", "prefix" },
		{ "10.0.0.0/", "prefix" },
		{ "10.0.0.0/8x", "prefix" },
		{ "300.1.1.1", "not an address" },
		{ "::1/129", "prefix" },
		{ "[::1", "not an address" },
		{ "fe80::1::2", "not an address" },
		{ "example.com", "not an address" },
		{ "!", "without an entry" },
		{ "nosuch:table", "unsupported table type" },
		{ "inline:{a=b", "unbalanced" },
		{ "/nonexistent/postern/file", "cannot read" },
		{ "127.0.0.0/8 1.2.3.5/31", "host bits" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		struct netlist *l = netlist_new(cases[i].list, &error);

		CHECK(l == NULL);
		CHECK(error != NULL && strstr(error, cases[i].error_part));
		if (error == NULL || !strstr(error, cases[i].error_part))
			fprintf(stderr, "  list \"%s\": %s\n", cases[i].list,
			    error ? error : "(no error)");
		xfree(&error);
		netlist_free(&l);
	}
}

static void
test_match(void)
{
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		{ "", 0 },
		{ "not-an-address", 0 },
		{ "1.2.3", 0 },
		{ "192.168.1.5", 0 },	/* excluded before 192.168/16 */
		{ "128.0.0.1", 0 },
		{ "2001:db9::1", 0 },
		{ "::2", 0 },
		{ "fe80::1:2", 1 },		/* after !192.168.1.5 */
		{ "172.16.0.8", 0 },
		{ "127.0.0.1", 1 },
		{ "127.255.255.255", 1 },
		{ "::1", 1 },
		{ "[::1]", 1 },
		{ "[IPv6:::1]", 1 },
		{ "0:0::1", 1 },
		{ "::ffff:127.0.0.2", 1 },
		{ "10.1.2.3", 1 },
		{ "2001:db8:ffff::1", 1 },
		{ "192.168.1.6", 1 },
		{ "172.16.0.9", 1 },		/* inline: table */
		{ "fe80::abcd", 1 },
	};
	char *error = NULL;
	struct netlist *l;
	size_t i;

	l = netlist_new("127.0.0.0/8, [::1]/128 10.1.2.3,2001:db8::/32 "
	    "!192.168.1.5 192.168.0.0/16 inline:{ 172.16.0.9=ok } "
	    "fe80::/10", &error);
	CHECK(l != NULL);
	CHECK(error == NULL);
	if (l == NULL) {
		fprintf(stderr, "  %s\n", error);
		xfree(&error);
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = netlist_match(l, cases[i].addr);

		CHECK(got == cases[i].want);
		if (got != cases[i].want)
			fprintf(stderr, "  %s: got %d\n", cases[i].addr, got);
	}
	netlist_free(&l);
	CHECK(l == NULL);
}

static void
test_empty(void)
{
	char *error = NULL;
	struct netlist *l = netlist_new("", &error);

	CHECK(l != NULL);
	CHECK(netlist_match(l, "127.0.0.1") == 0);
	netlist_free(&l);
	l = netlist_new(" , ", &error);
	CHECK(l != NULL);
	netlist_free(&l);
	CHECK(netlist_match(NULL, "127.0.0.1") == 0);
}

static void
write_file(const char *path, const char *text)
{
	CHECK(io_write_file_atomic(path, text, strlen(text), 0644) == 0);
}

static void
test_files_and_cidr(void)
{
	char dir[] = "/tmp/netlist_test.XXXXXX";
	char *file, *cidr, *bad, *list, *error = NULL;
	struct netlist *l;

	CHECK(mkdtemp(dir) != NULL);
	file = xasprintf("%s/networks", dir);
	cidr = xasprintf("%s/clients.cidr", dir);
	bad = xasprintf("%s/bad", dir);
	write_file(file, "# trusted\n10.0.0.0/8\n  192.0.2.1, [2001:db8::]/32\n"
	    "\n!172.16.0.1 172.16.0.0/12\n");
	write_file(cidr, "198.51.100.0/24 OK\n");
	write_file(bad, "10.0.0.0/8\n\n10.1.0.0/8\n");

	l = netlist_new(bad, &error);
	CHECK(l == NULL);
	CHECK(error != NULL && strstr(error, ", line 3: ") != NULL);
	xfree(&error);

	list = xasprintf("%s cidr:%s", file, cidr);
	l = netlist_new(list, &error);
	CHECK(l != NULL);
	if (l != NULL) {
		CHECK(netlist_match(l, "10.9.9.9") == 1);
		CHECK(netlist_match(l, "192.0.2.1") == 1);
		CHECK(netlist_match(l, "192.0.2.2") == 0);
		CHECK(netlist_match(l, "2001:db8::5") == 1);
		CHECK(netlist_match(l, "172.16.0.1") == 0);
		CHECK(netlist_match(l, "172.16.0.2") == 1);
		CHECK(netlist_match(l, "198.51.100.77") == 1);
		CHECK(netlist_match(l, "198.51.101.77") == 0);
	} else {
		fprintf(stderr, "  %s\n", error);
	}
	netlist_free(&l);
	xfree(&error);
	unlink(file);
	unlink(cidr);
	unlink(bad);
	rmdir(dir);
	xfree(&list);
	xfree(&file);
	xfree(&cidr);
	xfree(&bad);
}

int
main(void)
{
	log_init("netlist_test", true);
	TEST_RUN(test_bad_lists);
	TEST_RUN(test_match);
	TEST_RUN(test_empty);
	TEST_RUN(test_files_and_cidr);
	return TEST_DONE();
}
