/*
 * master_backoff_test.c - the restart back-off sequence.
 */
#include "testing.h"
#include "master.h"

static void
test_backoff_sequence(void)
{
	static const struct { int previous, want; } cases[] = {
		{ -5, 1 },	/* nonsense in: start over */
		{ 0, 1 },	/* first failure */
		{ 1, 2 },
		{ 2, 4 },
		{ 16, 32 },
		{ 30, 60 },
		{ 32, 60 },	/* capped, not 64 */
		{ 60, 60 },
		{ 1000, 60 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(master_backoff_next(cases[i].previous) ==
		    cases[i].want);
}

static void
test_backoff_reaches_cap(void)
{
	int delay = 0, steps = 0;

	while (delay < MASTER_BACKOFF_MAX && steps < 100) {
		int next = master_backoff_next(delay);

		CHECK(next > delay);
		delay = next;
		steps++;
	}
	CHECK(delay == MASTER_BACKOFF_MAX);
	CHECK(steps == 7);	/* 1 2 4 8 16 32 60 */
}

int
main(void)
{
	TEST_RUN(test_backoff_sequence);
	TEST_RUN(test_backoff_reaches_cap);
	return TEST_DONE();
}
