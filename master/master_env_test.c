/*
 * master_env_test.c - tests for master_env.c.
 */
#include <stdlib.h>

#include "master.h"
#include "testing.h"

static void
test_import(void)
{
	setenv("KEEP_ME", "1", 1);
	setenv("LD_PRELOAD", "/tmp/evil.so", 1);
	setenv("IFS", "x", 1);
	master_import_environment("KEEP_ME, MISSING LANG=C TZ=UTC");
	CHECK_STR(getenv("KEEP_ME"), "1");
	CHECK_STR(getenv("LANG"), "C");
	CHECK_STR(getenv("TZ"), "UTC");
	CHECK(getenv("LD_PRELOAD") == NULL);
	CHECK(getenv("IFS") == NULL);
	CHECK(getenv("MISSING") == NULL);
	CHECK(getenv("PATH") == NULL);
}

int
main(void)
{
	TEST_RUN(test_import);
	return TEST_DONE();
}
