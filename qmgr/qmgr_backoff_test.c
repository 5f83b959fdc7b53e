/*
 * qmgr_backoff_test.c - tests for qmgr_backoff.c.
 */
#include "qmgr_backoff.h"
#include "testing.h"

static void
test_delay(void)
{
	static const struct {
		long long arrival, now, min, max, want;
	} cases[] = {
		{ 1000, 900, 300, 4000, 300 },	/* clock went backwards */
		{ 1000, 1000, 0, 0, 1 },	/* never a zero wait */
		{ 1000, 1000, 300, 100, 300 },	/* max below min */
		{ 1000, 1000, 300, 4000, 300 },	/* first failure */
		{ 1000, 1300, 300, 4000, 300 },
		{ 1000, 1600, 300, 4000, 600 },	/* doubling */
		{ 1000, 2200, 300, 4000, 1200 },
		{ 1000, 3400, 300, 4000, 2400 },
		{ 1000, 5800, 300, 4000, 4000 },	/* capped */
		{ 1000, 1000000, 300, 4000, 4000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long got = qmgr_backoff_delay(cases[i].arrival,
		    cases[i].now, cases[i].min, cases[i].max);

		if (got != cases[i].want)
			fprintf(stderr, "case %zu: got %lld want %lld\n", i,
			    got, cases[i].want);
		CHECK(got == cases[i].want);
	}
}

static void
test_expired(void)
{
	static const struct {
		long long arrival, now, lifetime;
		bool want;
	} cases[] = {
		{ 1000, 1000, 0, true },	/* lifetime 0: first failure */
		{ 1000, 1000 + 432000, 432000, true },
		{ 1000, 1000 + 500000, 432000, true },
		{ 1000, 1000 + 431999, 432000, false },
		{ 1000, 500, 432000, false },	/* arrival in the future */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(qmgr_backoff_expired(cases[i].arrival, cases[i].now,
		    cases[i].lifetime) == cases[i].want);
}

int
main(void)
{
	TEST_RUN(test_delay);
	TEST_RUN(test_expired);
	return TEST_DONE();
}
