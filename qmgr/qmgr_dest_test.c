/*
 * qmgr_dest_test.c - tests for qmgr_dest.c: classification, the window's
 * slow start and back-off, dead destinations.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "mem.h"
#include "qmgr_dest.h"
#include "testing.h"

#define D	QMGR_DELIVER_DEFERRED
#define S	QMGR_DELIVER_SENT
#define B	QMGR_DELIVER_BOUNCED

static void
test_classify(void)
{
	static const struct {
		size_t count;
		enum qmgr_deliver_status status[3];
		const char *dsn[3];
		enum qmgr_dest_feedback want;
	} cases[] = {
		/* Failures first: nothing reached the destination. */
		{ 1, { D }, { "4.4.1" }, QMGR_DEST_FAILURE },
		{ 3, { D, D, D }, { "4.4.1", "4.4.2", "4.4.3" },
		    QMGR_DEST_FAILURE },
		/* Not a failure of the destination. */
		{ 0, { D }, { "4.4.1" }, QMGR_DEST_NEUTRAL },
		{ 2, { D, D }, { "4.4.1", "4.2.2" }, QMGR_DEST_NEUTRAL },
		{ 1, { D }, { "4.3.0" }, QMGR_DEST_NEUTRAL },	/* crash */
		{ 1, { D }, { "4.7.1" }, QMGR_DEST_NEUTRAL },	/* greylist */
		{ 1, { D }, { NULL }, QMGR_DEST_NEUTRAL },
		{ 1, { D }, { "4.4" }, QMGR_DEST_NEUTRAL },
		{ 1, { D }, { "5.4.1" }, QMGR_DEST_NEUTRAL },
		/* The destination answered. */
		{ 1, { S }, { "2.0.0" }, QMGR_DEST_SUCCESS },
		{ 1, { B }, { "5.1.1" }, QMGR_DEST_SUCCESS },
		{ 3, { D, D, S }, { "4.4.1", "4.4.1", "2.0.0" },
		    QMGR_DEST_SUCCESS },
		{ 2, { D, B }, { "4.2.2", "5.1.1" }, QMGR_DEST_SUCCESS },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmgr_deliver_rcpt rcpts[3] = { { 0 } };
		enum qmgr_dest_feedback got;

		for (size_t j = 0; j < 3; j++) {
			rcpts[j].status = cases[i].status[j];
			rcpts[j].dsn = (char *)cases[i].dsn[j];
		}
		got = qmgr_dest_classify(rcpts, cases[i].count);
		if (got != cases[i].want)
			fprintf(stderr, "classify case %zu: got %d want %d\n",
			    i, (int)got, (int)cases[i].want);
		CHECK(got == cases[i].want);
	}
}

/* Feed a sequence of feedback ('s' success, 'f' failure, 'n' neutral) and
 * compare the window after each step ('D' for dead). */
static void
test_window_sequences(void)
{
	static const struct {
		int initial, limit, cohort_limit;
		const char *feed;
		int want[8];
	} cases[] = {
		/* Failures first: 5 -> 2 -> 1 -> dead (cohort limit 1). */
		{ 5, 20, 1, "fff", { 2, 1, -1 } },
		/* Cohort limit 3: three failures at window 1. */
		{ 4, 20, 3, "fffff", { 2, 1, 1, 1, -1 } },
		/* A success in between resets the cohort count. */
		{ 1, 20, 2, "fsfff", { 1, 2, 1, 1, -1 } },
		/* Cohort limit 0: never dead. */
		{ 1, 20, 0, "ffff", { 1, 1, 1, 1 } },
		/* Slow start: +1 per success up to the limit. */
		{ 5, 8, 1, "sssss", { 6, 7, 8, 8, 8 } },
		/* Neutral changes nothing. */
		{ 5, 8, 1, "nnsn", { 5, 5, 6, 6 } },
		/* Halve, then grow again. */
		{ 5, 20, 1, "sssfss", { 6, 7, 8, 4, 5, 6 } },
		{ 5, 20, 1, "ssssssf", { 6, 7, 8, 9, 10, 11, 5 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmgr_dest_policy p = {
			.initial = cases[i].initial, .limit = cases[i].limit,
			.cohort_limit = cases[i].cohort_limit, .dead_time = 60,
		};
		struct qmgr_dest_window w;

		qmgr_dest_window_init(&w, &p);
		CHECK(w.window == cases[i].initial);
		for (size_t j = 0; cases[i].feed[j] != '\0'; j++) {
			char c = cases[i].feed[j];
			enum qmgr_dest_feedback f = c == 's' ?
			    QMGR_DEST_SUCCESS : c == 'f' ? QMGR_DEST_FAILURE :
			    QMGR_DEST_NEUTRAL;
			bool dead = qmgr_dest_window_update(&w, &p, f);
			int got = dead ? -1 : w.window;

			if (got != cases[i].want[j])
				fprintf(stderr, "window case %zu step %zu: "
				    "got %d want %d\n", i, j, got,
				    cases[i].want[j]);
			CHECK(got == cases[i].want[j]);
			CHECK(w.window >= 1 && w.window <= p.limit);
		}
	}
}

static void
test_policy(void)
{
	static const char conf[] =
	    "initial_destination_concurrency = 7\n"
	    "default_destination_concurrency_failed_cohort_limit = 2\n"
	    "smtp_initial_destination_concurrency = 3\n"
	    "relay_destination_concurrency_failed_cohort_limit = 0\n"
	    "lmtp_initial_destination_concurrency = 0\n";
	struct qmgr_dest_policy p;

	CHECK(config_load_text(conf, sizeof(conf) - 1, "main.cf") == 0);
	qmgr_dest_policy_read(&p, "smtp", 20, 300);
	CHECK(p.initial == 3 && p.limit == 20 && p.cohort_limit == 2 &&
	    p.dead_time == 300);
	qmgr_dest_policy_read(&p, "relay", 20, 0);
	CHECK(p.initial == 7 && p.cohort_limit == 0 && p.dead_time == 1);
	/* The initial window never exceeds the limit (local: 2). */
	qmgr_dest_policy_read(&p, "local", 2, 300);
	CHECK(p.initial == 2 && p.limit == 2);
	/* 0 is not a window: the built-in 5. */
	qmgr_dest_policy_read(&p, "lmtp", 20, 300);
	CHECK(p.initial == 5);
	/* A limit out of range: the built-in 20. */
	qmgr_dest_policy_read(&p, "smtp", 0, 300);
	CHECK(p.limit == 20);
}

static void
test_dead(void)
{
	const struct qmgr_dest_dead *d;

	qmgr_dest_dead_clear();
	CHECK(qmgr_dest_dead_find("smtp", "example.org", 1000) == NULL);
	qmgr_dest_dead_set("smtp", "example.org", 1000, 1300, "4.4.1",
	    "connect to mx.example.org[192.0.2.1]:25: Connection refused");
	CHECK(qmgr_dest_dead_count() == 1);
	/* Another transport or nexthop is another destination. */
	CHECK(qmgr_dest_dead_find("relay", "example.org", 1000) == NULL);
	CHECK(qmgr_dest_dead_find("smtp", "example.net", 1000) == NULL);
	CHECK(qmgr_dest_dead_find("smtp", "example.or", 1000) == NULL);
	d = qmgr_dest_dead_find("smtp", "example.org", 1299);
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK(d->until == 1300);
		CHECK_STR(d->dsn, "4.4.1");
		CHECK_STR(d->reason, "connect to mx.example.org[192.0.2.1]:25: "
		    "Connection refused");
	}
	/* Set again: replaced, not added. */
	qmgr_dest_dead_set("smtp", "example.org", 1299, 1600, "4.4.2",
	    "lost connection");
	CHECK(qmgr_dest_dead_count() == 1);
	d = qmgr_dest_dead_find("smtp", "example.org", 1500);
	CHECK(d != NULL && d->until == 1600);
	/* Expired: gone, and removed from the table. */
	CHECK(qmgr_dest_dead_find("smtp", "example.org", 1600) == NULL);
	CHECK(qmgr_dest_dead_count() == 0);

	/* Many dead destinations: expired ones are swept as the table
	 * grows. */
	for (int i = 0; i < 1000; i++) {
		char key[32];

		snprintf(key, sizeof(key), "d%d.example", i);
		qmgr_dest_dead_set("smtp", key, 2000 + i, 2000 + i + 10,
		    "4.4.1", "down");
	}
	CHECK(qmgr_dest_dead_count() < 100);
	CHECK(qmgr_dest_dead_find("smtp", "d999.example", 3000) != NULL);
	CHECK(qmgr_dest_dead_find("smtp", "d0.example", 3000) == NULL);
	qmgr_dest_dead_clear();
	CHECK(qmgr_dest_dead_count() == 0);
}

int
main(void)
{
	TEST_RUN(test_classify);
	TEST_RUN(test_window_sequences);
	TEST_RUN(test_policy);
	TEST_RUN(test_dead);
	return TEST_DONE();
}
