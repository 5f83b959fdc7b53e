/*
 * addr_test.c - tests for lib/addr.c: SMTP paths, parameters, domains,
 * extensions, xtext.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "mem.h"
#include "testing.h"

#define STRICT	1
#define LOOSE	2
#define BOTH	3

static void
test_parse_path(void)
{
	static const struct {
		const char *in;
		int modes;		/* where it is accepted; 0: nowhere */
		const char *address;
		size_t params;
	} cases[] = {
		/* Refused everywhere. */
		{ "", 0, NULL, 0 },
		{ " ", 0, NULL, 0 },
		{ "<", 0, NULL, 0 },
		{ ">", 0, NULL, 0 },
		{ "<a@b.c", 0, NULL, 0 },
		{ "a@b.c>", 0, NULL, 0 },
		{ "<<a@b.c>>", 0, NULL, 0 },
		{ "<a<b@c.d>", 0, NULL, 0 },
		{ "<a@b.c>>", 0, NULL, 0 },
		{ "<a@b.c>x", 0, NULL, 0 },
		{ "<\"a@b.c>", 0, NULL, 0 },		/* open quote */
		{ "<\"a\\\">", 0, NULL, 0 },
		{ "<\"a\"b@c.d>", 0, NULL, 0 },
		{ "<a\"b\"@c.d>", 0, NULL, 0 },
		{ "<a b@c.d>", 0, NULL, 0 },
		{ "<a@b.c\r>", 0, NULL, 0 },		/* control */
		{ "<a\t@b.c>", 0, NULL, 0 },
		{ "<a@b.c>\n", 0, NULL, 0 },
		{ "<\"a\x7f\"@b.c>", 0, NULL, 0 },
		{ "<a\xff@b.c>", 0, NULL, 0 },		/* not UTF-8 */
		{ "<a\xc3@b.c>", 0, NULL, 0 },
		{ "<a\xc0\xaf@b.c>", 0, NULL, 0 },	/* overlong */
		{ "<a\xed\xa0\x80@b.c>", 0, NULL, 0 },	/* surrogate */
		{ "<a\xf4\x90\x80\x80@b.c>", 0, NULL, 0 },	/* > U+10FFFF */
		{ "<@b.c>", 0, NULL, 0 },
		{ "<a@>", 0, NULL, 0 },
		{ "<a@b..c>", 0, NULL, 0 },
		{ "<a@.b.c>", 0, NULL, 0 },
		{ "<a@b.c.>", 0, NULL, 0 },
		{ "<a@-b.c>", 0, NULL, 0 },
		{ "<a@b-.c>", 0, NULL, 0 },
		{ "<a@b_c.d>", 0, NULL, 0 },
		{ "<a@b@c.d>", 0, NULL, 0 },
		{ "<a@[1.2.3]>", 0, NULL, 0 },
		{ "<a@[1.2.3.4>", 0, NULL, 0 },
		{ "<a@[IPv6:1.2.3.4]>", 0, NULL, 0 },
		{ "<a@[x:y]>", 0, NULL, 0 },
		{ "<@a.b:>", 0, NULL, 0 },		/* route, no mailbox */
		{ "<@a.b,c.d:x@y.z>", 0, NULL, 0 },
		{ "<@a.b x@y.z>", 0, NULL, 0 },
		{ "<@-a.b:x@y.z>", 0, NULL, 0 },
		{ "<a@b.c> =1", 0, NULL, 0 },		/* empty name */
		{ "<a@b.c> SIZE=", 0, NULL, 0 },	/* empty value */
		{ "<a@b.c> SIZE=1=2", 0, NULL, 0 },
		{ "<a@b.c> -X=1", 0, NULL, 0 },
		{ "<a@b.c> S_Z=1", 0, NULL, 0 },
		{ "<a@b.c> A A A A A A A A A A A A A A A A A", 0, NULL, 0 },
		/* Strict only refuses these. */
		{ "a@b.c", LOOSE, "a@b.c", 0 },
		{ " <a@b.c>", LOOSE, "a@b.c", 0 },
		{ "  a@b.c  SIZE=10 ", LOOSE, "a@b.c", 1 },
		{ "<a@b.c>  SIZE=1  BODY=8BITMIME", LOOSE, "a@b.c", 2 },
		{ "<a@b.c> ", LOOSE, "a@b.c", 0 },
		{ "<a..b.@c.d>", LOOSE, "a..b.@c.d", 0 },
		{ "<.a@c.d>", LOOSE, ".a@c.d", 0 },
		{ "\"a b\"@x.y", LOOSE, "\"a b\"@x.y", 0 },
		/* Accepted in both. */
		{ "<>", BOTH, "", 0 },
		{ "<> SIZE=100", BOTH, "", 1 },
		{ "<postmaster>", BOTH, "postmaster", 0 },
		{ "<a@b.c>", BOTH, "a@b.c", 0 },
		{ "<a@b>", BOTH, "a@b", 0 },
		{ "<A.B+c-d@Example.COM>", BOTH, "A.B+c-d@Example.COM", 0 },
		{ "<!#$%&'*+-/=?^_`{|}~@x.y>", BOTH, "!#$%&'*+-/=?^_`{|}~@x.y", 0 },
		{ "<\"a b\"@x.y>", BOTH, "\"a b\"@x.y", 0 },
		{ "<\"a\\\"<>@\"@x.y>", BOTH, "\"a\\\"<>@\"@x.y", 0 },
		{ "<\"\"@x.y>", BOTH, "\"\"@x.y", 0 },
		{ "<@a.b,@c.d:x@y.z>", BOTH, "x@y.z", 0 },
		{ "<@a.b:x@y.z> SIZE=5", BOTH, "x@y.z", 1 },
		{ "<a@[192.0.2.1]>", BOTH, "a@[192.0.2.1]", 0 },
		{ "<a@[IPv6:2001:db8::1]>", BOTH, "a@[IPv6:2001:db8::1]", 0 },
		{ "<a@[ipv6:::1]>", BOTH, "a@[ipv6:::1]", 0 },
		{ "<a@xn--bcher-kva.de>", BOTH, "a@xn--bcher-kva.de", 0 },
		{ "<j\xc3\xb6rg@b\xc3\xbc" "cher.de>", BOTH,
		  "j\xc3\xb6rg@b\xc3\xbc" "cher.de", 0 },
		{ "<a@b.c> SIZE=1 BODY=8BITMIME SMTPUTF8 NOTIFY=SUCCESS,FAILURE",
		  BOTH, "a@b.c", 4 },
		{ "<a@b.c> A A A A A A A A A A A A A A A A", BOTH, "a@b.c", 16 },
		{ "<a@b.c> X-Y=\xc3\xa9", BOTH, "a@b.c", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int mode = STRICT; mode <= LOOSE; mode++) {
			struct addr_path path;
			const char *error = NULL;
			int want = cases[i].modes & mode ? 0 : -1;
			int got = addr_parse_path(cases[i].in, mode == STRICT,
			    &path, &error);

			if (got != want)
				fprintf(stderr, "case %zu (%s) mode %d: got %d "
				    "(%s)\n", i, cases[i].in, mode, got,
				    error ? error : "");
			CHECK(got == want);
			if (got < 0) {
				CHECK(error != NULL && *error != '\0');
				CHECK(path.address == NULL);
				CHECK(path.param_count == 0);
				continue;
			}
			CHECK_STR(path.address, cases[i].address);
			CHECK(path.param_count == cases[i].params);
			addr_path_release(&path);
			CHECK(path.address == NULL);
		}
	}
}

static void
test_params(void)
{
	struct addr_path path;
	const char *error = NULL, *long_path;
	char *buf;
	bool found;

	CHECK(addr_parse_path("<a@b.c> size=100 Body=8BITMIME smtputf8 "
	    "ORCPT=rfc822;a+2Bb@c.d", true, &path, &error) == 0);
	CHECK(path.param_count == 4);
	CHECK_STR(path.params[0].name, "SIZE");
	CHECK_STR(path.params[0].value, "100");
	CHECK_STR(addr_param(&path, "body", &found), "8BITMIME");
	CHECK(found);
	CHECK(addr_param(&path, "SMTPUTF8", &found) == NULL && found);
	CHECK(addr_param(&path, "RET", &found) == NULL && !found);
	CHECK(addr_param(&path, "RET", NULL) == NULL);
	CHECK_STR(addr_param(&path, "ORCPT", NULL), "rfc822;a+2Bb@c.d");
	addr_path_release(&path);

	/* Length limit: ADDR_MAX bytes of path content (a local part has
	 * no label limit). */
	buf = xmalloc(ADDR_MAX + 16);
	memset(buf, 'a', ADDR_MAX + 16);
	buf[0] = '<';
	memcpy(buf + ADDR_MAX - 3, "@b.c>", 6);	/* content ADDR_MAX */
	CHECK(addr_parse_path(buf, true, &path, &error) == 0);
	CHECK(strlen(path.address) == ADDR_MAX);
	addr_path_release(&path);
	memcpy(buf + ADDR_MAX - 2, "@b.c>", 6);	/* one more */
	long_path = buf;
	CHECK(addr_parse_path(long_path, true, &path, &error) == -1);
	CHECK_STR(error, "Address too long");
	xfree(&buf);
}

static void
test_domain_fqdn(void)
{
	static const struct {
		const char *domain;
		bool want;
	} cases[] = {
		{ "", false },
		{ "localhost", false },
		{ "a..b", false },
		{ ".a.b", false },
		{ "a.b.", false },
		{ "a.-b", false },
		{ "a_b.c", false },
		{ "1.2.3.4", false },		/* numeric TLD */
		{ "[1.2.3.4", false },
		{ "[300.1.1.1]", false },
		{ "a.b\xff", false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
		  false },			/* 64-byte label */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
		  true },
		{ "example.com", true },
		{ "a-b.c0", true },
		{ "1.2.3.com", true },
		{ "[1.2.3.4]", true },
		{ "[IPv6:::1]", true },
		{ "b\xc3\xbc" "cher.de", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (addr_domain_fqdn(cases[i].domain) != cases[i].want)
			fprintf(stderr, "fqdn case %zu\n", i);
		CHECK(addr_domain_fqdn(cases[i].domain) == cases[i].want);
	}
}

static void
test_split(void)
{
	static const struct {
		const char *address, *local, *domain;
	} cases[] = {
		{ "", "", "" },
		{ "postmaster", "postmaster", "" },
		{ "a@b.c", "a", "b.c" },
		{ "\"x@y\"@b.c", "\"x@y\"", "b.c" },
		{ "a@", "a", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *local, *domain;

		addr_split(cases[i].address, &local, &domain);
		CHECK_STR(local, cases[i].local);
		CHECK_STR(domain, cases[i].domain);
		CHECK_STR(addr_domain(cases[i].address), cases[i].domain);
		xfree(&local);
		xfree(&domain);
	}
}

static void
test_split_extension(void)
{
	static const struct {
		const char *local, *delimiters, *base, *extension;
	} cases[] = {
		{ "bob", "+", "bob", NULL },
		{ "bob+x", NULL, "bob+x", NULL },
		{ "bob+x", "", "bob+x", NULL },
		{ "+x", "+", "+x", NULL },
		{ "postmaster", "s", "postmaster", NULL },
		{ "Mailer-Daemon", "-", "Mailer-Daemon", NULL },
		{ "owner-list", "-", "owner-list", NULL },
		{ "list-request", "-", "list-request", NULL },
		{ "bob+x", "+", "bob", "x" },
		{ "bob+x+y", "+", "bob", "x+y" },
		{ "bob-x+y", "+-", "bob", "x+y" },
		{ "bob+", "+", "bob", "" },
		{ "list-owner", "-", "list", "owner" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *base, *extension;

		addr_split_extension(cases[i].local, cases[i].delimiters,
		    &base, &extension);
		CHECK_STR(base, cases[i].base);
		CHECK_STR(extension, cases[i].extension);
		xfree(&base);
		xfree(&extension);
	}
}

static void
test_lower(void)
{
	char *s = addr_lower("MiXeD@Example.COM \xc3\x84");

	CHECK_STR(s, "mixed@example.com \xc3\x84");	/* ASCII only */
	xfree(&s);
}

static void
test_xtext(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "+", NULL },
		{ "+2", NULL },
		{ "+2G", NULL },
		{ "a=b", NULL },
		{ "a b", NULL },
		{ "+00", NULL },		/* NUL */
		{ "+0D+0A", NULL },		/* CR LF */
		{ "+7F", NULL },
		{ "\xc3\xa9", NULL },
		{ "", "" },
		{ "abc", "abc" },
		{ "rfc822;a+2Bb@c.d", "rfc822;a+b@c.d" },
		{ "+3D+2b+20", "=+ " },
		{ "+80", "\x80" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = addr_xtext_decode(cases[i].in);

		CHECK_STR(got, cases[i].want);
		xfree(&got);
	}
}

static void
test_domain_ok(void)
{
	static const struct {
		const char *domain;
		bool want;
	} cases[] = {
		{ "", false },
		{ "a b", false },
		{ "a@b", false },
		{ "../etc", false },
		{ "<x>", false },
		{ "a,b", false },
		{ "x\ty", false },
		{ "x\x7f", false },
		{ "localhost", true },
		{ "example.com", true },
		{ "[192.0.2.1]", true },
	};
	char long_name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(addr_domain_ok(cases[i].domain) == cases[i].want);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(!addr_domain_ok(long_name));
	long_name[255] = '\0';
	CHECK(addr_domain_ok(long_name));
}

int
main(void)
{
	TEST_RUN(test_parse_path);
	TEST_RUN(test_params);
	TEST_RUN(test_domain_fqdn);
	TEST_RUN(test_domain_ok);
	TEST_RUN(test_split);
	TEST_RUN(test_split_extension);
	TEST_RUN(test_lower);
	TEST_RUN(test_xtext);
	return TEST_DONE();
}
