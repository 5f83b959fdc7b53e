/*
 * qmgr_dest.c - per-destination concurrency window and dead destinations.
 *
 * Like Postfix's qmgr (QSHAPE_README, "Postfix queue scheduler"): a
 * destination starts at initial_destination_concurrency deliveries at
 * once (slow start), gains one after each delivery its server answered,
 * up to $TRANSPORT_destination_concurrency_limit, and halves after each
 * delivery that could not reach it. Postfix's feedback is fractional
 * (1/concurrency per delivery, with hysteresis); ours is the simpler
 * +1 / halve the issue asks for. Failures of deliveries started before
 * the window shrank count too, so five parallel connections to a host
 * that is down go 5 -> 2 -> 1 -> dead, the same outcome as Postfix.
 *
 * A failure at window 1 is a failed "cohort"; after
 * destination_concurrency_failed_cohort_limit of them in a row (Postfix's
 * default 1) the destination is dead: for dead_time (minimal_backoff_time,
 * as Postfix's qmgr_queue_throttle uses) its mail is deferred with
 * "delivery temporarily suspended: REASON" without a connection attempt.
 * Afterwards it starts again at the initial concurrency ("back from the
 * almost grave, best concurrency is anyone's guess", Postfix's
 * qmgr_queue.c).
 *
 * What counts as a failure is decided from the delivery/1 results alone
 * (the protocol has no site-level status): every recipient deferred with
 * an X.4.X code, which RFC 3463 reserves for network and routing trouble.
 * The smtp/lmtp agent therefore reports connect failures, lost
 * connections, 421 greetings and DNS failures with 4.4.x codes.
 *
 * The dead table is a hash of transport + "\n" + key; expired entries go
 * when looked up, and in one sweep whenever the table has doubled since
 * the last, so a spam run to ten thousand dead domains costs memory only
 * for minimal_backoff_time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "qmgr_dest.h"

#define QMGR_DEST_DEAD_HASH	1024
#define QMGR_DEST_LIMIT_MAX	1000	/* same cap as qmgr_queue.c */

struct qmgr_dest_dead_entry {
	char *name;		/* transport "\n" key */
	struct qmgr_dest_dead dead;
	struct qmgr_dest_dead_entry *next;
};

static struct qmgr_dest_dead_entry *qmgr_dest_dead_hash[QMGR_DEST_DEAD_HASH];
static size_t qmgr_dest_dead_entries;
static size_t qmgr_dest_dead_sweep_at = 64;

/* An integer parameter, else fallback's value; -1 when neither is a
 * number >= 0. */
static long long
qmgr_dest_param(const char *name, const char *fallback)
{
	const char *value = config_get(name);
	char *end;
	long long n;

	for (int i = 0; i < 2; i++) {
		if (value[0] != '\0') {
			n = strtoll(value, &end, 10);
			if (*end == '\0' && n >= 0)
				return n;
			log_warn("%s: bad number \"%s\", using %s", name,
			    value, fallback);
		}
		name = fallback;
		value = config_get(fallback);
	}
	return -1;
}

void
qmgr_dest_policy_read(struct qmgr_dest_policy *p, const char *transport,
    int limit, long long dead_time)
{
	char *param;
	long long n;

	p->limit = limit >= 1 && limit <= QMGR_DEST_LIMIT_MAX ? limit : 20;
	param = xasprintf("%s_initial_destination_concurrency", transport);
	n = qmgr_dest_param(param, "initial_destination_concurrency");
	free(param);
	if (n < 1)
		n = 5;
	p->initial = n > p->limit ? p->limit : (int)n;
	param = xasprintf("%s_destination_concurrency_failed_cohort_limit",
	    transport);
	n = qmgr_dest_param(param,
	    "default_destination_concurrency_failed_cohort_limit");
	free(param);
	p->cohort_limit = n >= 0 && n <= 1000000 ? (int)n : 1;
	p->dead_time = dead_time >= 1 ? dead_time : 1;
}

void
qmgr_dest_window_init(struct qmgr_dest_window *w,
    const struct qmgr_dest_policy *p)
{
	w->window = p->initial >= 1 ? p->initial : 1;
	w->failed_cohorts = 0;
}

enum qmgr_dest_feedback
qmgr_dest_classify(const struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count)
{
	bool all_unreachable = rcpt_count > 0;

	for (size_t i = 0; i < rcpt_count; i++) {
		const char *dsn = rcpts[i].dsn;

		if (rcpts[i].status != QMGR_DELIVER_DEFERRED)
			return QMGR_DEST_SUCCESS;
		if (dsn == NULL || strncmp(dsn, "4.4.", 4) != 0)
			all_unreachable = false;
	}
	return all_unreachable ? QMGR_DEST_FAILURE : QMGR_DEST_NEUTRAL;
}

bool
qmgr_dest_window_update(struct qmgr_dest_window *w,
    const struct qmgr_dest_policy *p, enum qmgr_dest_feedback feedback)
{
	switch (feedback) {
	case QMGR_DEST_NEUTRAL:
		break;
	case QMGR_DEST_SUCCESS:
		w->failed_cohorts = 0;
		if (w->window < p->limit)
			w->window++;
		break;
	case QMGR_DEST_FAILURE:
		if (w->window > 1) {
			w->window /= 2;
			break;
		}
		w->window = 1;
		w->failed_cohorts++;
		if (p->cohort_limit > 0 &&
		    w->failed_cohorts >= p->cohort_limit) {
			/* Back from the dead it starts afresh. */
			w->failed_cohorts = 0;
			return true;
		}
		break;
	}
	return false;
}

/*
 * The dead table.
 */

static unsigned int
qmgr_dest_dead_hash_of(const char *name)
{
	unsigned int h = 2166136261u;	/* FNV-1a */

	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % QMGR_DEST_DEAD_HASH;
}

static void
qmgr_dest_dead_free(struct qmgr_dest_dead_entry *e)
{
	free(e->name);
	free(e->dead.dsn);
	free(e->dead.reason);
	free(e);
	qmgr_dest_dead_entries--;
}

/* Drop every entry that expired by now (all of them for now < 0). */
static void
qmgr_dest_dead_sweep(long long now)
{
	for (size_t i = 0; i < QMGR_DEST_DEAD_HASH; i++) {
		struct qmgr_dest_dead_entry **p = &qmgr_dest_dead_hash[i];

		while (*p != NULL) {
			struct qmgr_dest_dead_entry *e = *p;

			if (now >= 0 && e->dead.until > now) {
				p = &e->next;
				continue;
			}
			*p = e->next;
			qmgr_dest_dead_free(e);
		}
	}
}

/* The slot holding transport/key's entry (the slot holds NULL when there
 * is none); *name_r is the fresh table key. */
static struct qmgr_dest_dead_entry **
qmgr_dest_dead_slot(const char *transport, const char *key, char **name_r)
{
	struct qmgr_dest_dead_entry **p;

	*name_r = xasprintf("%s\n%s", transport, key);
	p = &qmgr_dest_dead_hash[qmgr_dest_dead_hash_of(*name_r)];
	while (*p != NULL && strcmp((*p)->name, *name_r) != 0)
		p = &(*p)->next;
	return p;
}

void
qmgr_dest_dead_set(const char *transport, const char *key, long long now,
    long long until, const char *dsn, const char *reason)
{
	char *name;
	struct qmgr_dest_dead_entry **p = qmgr_dest_dead_slot(transport, key,
	    &name);
	struct qmgr_dest_dead_entry *e = *p;

	if (e != NULL) {
		free(name);
		free(e->dead.dsn);
		free(e->dead.reason);
	} else {
		e = xcalloc(1, sizeof(*e));
		e->name = name;
		e->next = qmgr_dest_dead_hash[qmgr_dest_dead_hash_of(name)];
		qmgr_dest_dead_hash[qmgr_dest_dead_hash_of(name)] = e;
		qmgr_dest_dead_entries++;
	}
	e->dead.until = until;
	e->dead.dsn = xstrdup(dsn);
	e->dead.reason = xstrdup(reason);
	if (qmgr_dest_dead_entries >= qmgr_dest_dead_sweep_at) {
		qmgr_dest_dead_sweep(now);
		qmgr_dest_dead_sweep_at = 2 * qmgr_dest_dead_entries;
		if (qmgr_dest_dead_sweep_at < 64)
			qmgr_dest_dead_sweep_at = 64;
	}
}

const struct qmgr_dest_dead *
qmgr_dest_dead_find(const char *transport, const char *key, long long now)
{
	char *name;
	struct qmgr_dest_dead_entry **p;
	struct qmgr_dest_dead_entry *e;

	if (qmgr_dest_dead_entries == 0)
		return NULL;
	p = qmgr_dest_dead_slot(transport, key, &name);
	free(name);
	if ((e = *p) == NULL)
		return NULL;
	if (e->dead.until <= now) {
		*p = e->next;
		qmgr_dest_dead_free(e);
		return NULL;
	}
	return &e->dead;
}

size_t
qmgr_dest_dead_count(void)
{
	return qmgr_dest_dead_entries;
}

void
qmgr_dest_dead_clear(void)
{
	qmgr_dest_dead_sweep(-1);
	qmgr_dest_dead_sweep_at = 64;
}
