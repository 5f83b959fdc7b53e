/*
 * qmgr_dest.h - per-destination concurrency: slow start, back-off and
 * dead destinations, as Postfix's queue manager schedules them.
 *
 * A destination is a transport and a nexthop (qmgr_queue.c keeps one
 * struct qmgr_dest per destination with work; this module is its
 * arithmetic and the list of dead destinations). Pure apart from
 * qmgr_dest_policy_read (main.cf): no clock, no I/O; times are unix
 * seconds passed in.
 */
#ifndef QMGR_DEST_H
#define QMGR_DEST_H

#include <stdbool.h>
#include <stddef.h>

#include "qmgr_deliver.h"

/* Per transport, from main.cf (qmgr_dest_policy_read). */
struct qmgr_dest_policy {
	int initial;		/* $TRANSPORT_initial_destination_concurrency */
	int limit;		/* $TRANSPORT_destination_concurrency_limit */
	int cohort_limit;	/* ..._destination_concurrency_failed_cohort_limit
				 * (0: never dead) */
	long long dead_time;	/* seconds a dead destination rests */
};

/* One destination's concurrency window. */
struct qmgr_dest_window {
	int window;		/* deliveries it may run at once now, >= 1 */
	int failed_cohorts;	/* failed deliveries in a row at window 1 */
};

/* What one finished delivery says about its destination. */
enum qmgr_dest_feedback {
	QMGR_DEST_NEUTRAL,	/* nothing either way (an agent crash, ...) */
	QMGR_DEST_SUCCESS,	/* the destination answered */
	QMGR_DEST_FAILURE,	/* it could not be reached */
};

/* Read the policy of transport: TRANSPORT_initial_destination_concurrency
 * (else initial_destination_concurrency), limit as given by the caller
 * (qmgr_queue.c reads TRANSPORT_destination_concurrency_limit),
 * TRANSPORT_destination_concurrency_failed_cohort_limit (else
 * default_destination_concurrency_failed_cohort_limit), dead_time as
 * given (minimal_backoff_time, as in Postfix). The initial window is
 * clamped to [1, limit]. Needs config_load(). */
void qmgr_dest_policy_read(struct qmgr_dest_policy *p, const char *transport,
    int limit, long long dead_time);

/* A new destination starts at the policy's initial concurrency. */
void qmgr_dest_window_init(struct qmgr_dest_window *w,
    const struct qmgr_dest_policy *p);

/* Classify a finished delivery by its recipients' results:
 *   FAILURE  every recipient deferred with an RFC 3463 X.4.X (network
 *            and routing) code: no answer, connection refused or lost,
 *            no route (4.4.1 connect failure, 4.4.2 lost connection,
 *            4.4.3 DNS failure, ...)
 *   SUCCESS  some recipient sent or bounced: the destination answered
 *   NEUTRAL  anything else (deferred by the recipient's server, e.g.
 *            4.2.2 or greylisting, or 4.3.0 when the agent crashed):
 *            nothing is learnt about the destination's capacity. */
enum qmgr_dest_feedback qmgr_dest_classify(
    const struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count);

/* Apply feedback. Success: window + 1 up to the limit, failed cohorts
 * reset. Failure: the window halves (not below 1); a failure at window 1
 * counts a failed cohort, and when cohort_limit (> 0) are reached the
 * function returns true: the destination is dead (the caller records it
 * with qmgr_dest_dead_set and defers its waiting mail). */
bool qmgr_dest_window_update(struct qmgr_dest_window *w,
    const struct qmgr_dest_policy *p, enum qmgr_dest_feedback feedback);

/*
 * Dead destinations: a table that outlives struct qmgr_dest (which is
 * freed when idle), so mail queued later for a dead destination is
 * deferred without a connection until the dead time has passed.
 */
struct qmgr_dest_dead {
	long long until;	/* unix seconds */
	char *dsn;		/* of the failure that killed it */
	char *reason;
};

/* Record transport/key dead until until (copies everything; replaces an
 * earlier entry). Entries expired at now are dropped as the table
 * grows. */
void qmgr_dest_dead_set(const char *transport, const char *key,
    long long now, long long until, const char *dsn, const char *reason);
/* The entry when transport/key is dead at now, else NULL (an expired
 * entry is removed). Valid until the next qmgr_dest_dead_* call. */
const struct qmgr_dest_dead *qmgr_dest_dead_find(const char *transport,
    const char *key, long long now);
/* Entries in the table (expired ones not yet dropped included). */
size_t qmgr_dest_dead_count(void);
/* Forget every entry (tests). */
void qmgr_dest_dead_clear(void);

#endif
