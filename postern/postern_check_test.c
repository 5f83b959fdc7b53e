/*
 * postern_check_test.c - telling lookup tables from addresses, and map
 * specs for `postern map`.
 */
#include "mem.h"
#include "testing.h"
#include "postern.h"

static void
test_is_table(void)
{
	static const struct { const char *item; bool want; } cases[] = {
		{ "", false },
		{ ":x", false },
		{ "127.0.0.0/8", false },
		{ "[::1]/128", false },
		{ "::1/128", false },
		{ "dead:beef::1", false },	/* hex digits only */
		{ "fe80::/10", false },
		{ "example.com", false },
		{ "Lmdb:/x", false },		/* types are lower case */
		{ "/etc/postern/virtual", false },
		{ "lmdb:/etc/postern/aliases", true },
		{ "cidr:/etc/postern/networks", true },
		{ "inline:{a=b}", true },
		{ "static:OK", true },
		{ "unix:passwd.byname", true },
		{ "hash:/etc/postfix/virtual", true },
		{ "pcre:/etc/postern/header_checks", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(postern_is_table(cases[i].item) == cases[i].want);
}

static void
test_map_spec(void)
{
	char *s;

	s = postern_map_spec("/etc/postern/virtual");
	CHECK_STR(s, "lmdb:/etc/postern/virtual");
	xfree(&s);
	s = postern_map_spec("cidr:/etc/x");
	CHECK_STR(s, "cidr:/etc/x");
	xfree(&s);
	s = postern_map_spec("relative/file");
	CHECK_STR(s, "lmdb:relative/file");
	xfree(&s);
}

int
main(void)
{
	TEST_RUN(test_is_table);
	TEST_RUN(test_map_spec);
	return TEST_DONE();
}
