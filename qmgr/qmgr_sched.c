/*
 * qmgr_sched.c - delivery scheduling: transports, destinations and jobs
 * (see qmgr_sched.h).
 *
 * Concurrency (documented choice): each transport runs at most
 * QMGR_TRANSPORT_LIMIT (20) deliveries at once, lowered by
 * default_process_limit when that is smaller (the master would not run
 * more agents anyway). Within a transport each destination runs at most
 * $TRANSPORT_destination_concurrency_limit (else
 * default_destination_concurrency_limit). A destination is the nexthop,
 * except that when a transport's recipient limit is 1 (local: Postfix's
 * local_destination_recipient_limit = 1) it is the recipient, as in
 * Postfix: local's limit of 2 then means two deliveries to one mailbox at
 * once, not two local deliveries in all. Destinations with work and spare
 * capacity wait in a round-robin list per transport, so scheduling costs
 * O(1) per started job. The destination's limit at any moment is its
 * window (qmgr_dest.c): it starts at initial_destination_concurrency,
 * grows with deliveries its server answered, halves with deliveries that
 * could not reach it, and a destination that stays unreachable is "dead"
 * for minimal_backoff_time: its waiting and new mail is deferred without
 * a connection ("delivery temporarily suspended: ...").
 *
 * A job is some recipients of one message for one transport and nexthop;
 * qmgr_queue.c builds them (qmgr_message_schedule) and hears about each
 * result (qmgr_message_result) and each finished job
 * (qmgr_message_job_done).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "qmgr_deliver.h"
#include "qmgr_dest.h"
#include "qmgr_queue.h"
#include "qmgr_sched.h"
#include "queue.h"

#define QMGR_TRANSPORT_LIMIT	20
#define QMGR_HASH_SIZE		4096

struct qmgr_job;

struct qmgr_transport {
	char *name;
	int active;
	int limit;
	int dest_limit;
	size_t rcpt_limit;
	struct qmgr_dest_policy policy;	/* qmgr_dest.c */
	struct qmgr_dest *ready_head;	/* work waiting, capacity left */
	struct qmgr_dest *ready_tail;
	struct qmgr_transport *next;
};

struct qmgr_dest {
	char *key;		/* nexthop, or the recipient (limit 1) */
	unsigned int hash;
	struct qmgr_transport *transport;
	int active;
	struct qmgr_dest_window window;	/* qmgr_dest.c: limit of active */
	struct qmgr_job *head;	/* waiting jobs */
	struct qmgr_job *tail;
	bool ready;		/* on transport->ready list */
	struct qmgr_dest *ready_next;
	struct qmgr_dest *hash_next;
};

struct qmgr_job {
	struct qmgr_message *msg;	/* qmgr_queue.c's */
	struct qmgr_dest *dest;
	char *nexthop;
	struct qmgr_deliver_rcpt *rcpts;
	size_t rcpt_count;
	size_t rcpt_cap;
	struct qmgr_job *next;
};

static struct event_loop *qmgr_sched_loop;
static struct connpool *qmgr_sched_pool;	/* idle agent connections */
static struct event_timer qmgr_sched_timer;
static struct qmgr_transport *qmgr_sched_transports;
static struct qmgr_dest *qmgr_dest_hash[QMGR_HASH_SIZE];
static int qmgr_sched_transport_limit = QMGR_TRANSPORT_LIMIT;
static long long qmgr_sched_min_backoff;
static long long qmgr_sched_connect_timeout;
static long long qmgr_sched_delivery_timeout;

static long long
qmgr_sched_param_int(const char *name, const char *fallback)
{
	const char *value = config_get(name);
	char *end;
	long long n;

	if (value[0] == '\0')
		return config_get_int(fallback);
	errno = 0;
	n = strtoll(value, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0) {
		log_warn("%s: bad number \"%s\", using %s", name, value,
		    fallback);
		return config_get_int(fallback);
	}
	return n;
}

void
qmgr_sched_init(long long connect_timeout, long long delivery_timeout,
    long long min_backoff)
{
	long long n = config_get_int("default_process_limit");

	qmgr_sched_connect_timeout = connect_timeout;
	qmgr_sched_delivery_timeout = delivery_timeout;
	qmgr_sched_min_backoff = min_backoff;
	if (n > 0 && n < qmgr_sched_transport_limit)
		qmgr_sched_transport_limit = (int)n;
}

void
qmgr_sched_start(struct event_loop *loop)
{
	qmgr_sched_loop = loop;
	qmgr_sched_pool = connpool_new_ipc(loop, QMGR_DELIVER_POOL);
}

/*
 * Transports and destinations.
 */

struct qmgr_transport *
qmgr_sched_transport(const char *name)
{
	struct qmgr_transport *t;
	char *param;
	long long n;

	for (t = qmgr_sched_transports; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->limit = qmgr_sched_transport_limit;
	param = xasprintf("%s_destination_concurrency_limit", name);
	n = qmgr_sched_param_int(param,
	    "default_destination_concurrency_limit");
	free(param);
	t->dest_limit = n > 0 && n < 1000 ? (int)n : 20;
	param = xasprintf("%s_destination_recipient_limit", name);
	n = qmgr_sched_param_int(param, "default_destination_recipient_limit");
	free(param);
	t->rcpt_limit = n > 0 && n < 100000 ? (size_t)n : 50;
	qmgr_dest_policy_read(&t->policy, name, t->dest_limit,
	    qmgr_sched_min_backoff);
	t->next = qmgr_sched_transports;
	qmgr_sched_transports = t;
	return t;
}

static unsigned int
qmgr_dest_hash_of(const struct qmgr_transport *t, const char *key)
{
	unsigned int h = 2166136261u;	/* FNV-1a */

	for (const char *p = t->name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '\n') * 16777619u;
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static struct qmgr_dest *
qmgr_dest_get(struct qmgr_transport *t, const char *key)
{
	unsigned int h = qmgr_dest_hash_of(t, key);
	struct qmgr_dest **slot = &qmgr_dest_hash[h % QMGR_HASH_SIZE];
	struct qmgr_dest *d;

	for (d = *slot; d != NULL; d = d->hash_next)
		if (d->hash == h && d->transport == t &&
		    strcmp(d->key, key) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->key = xstrdup(key);
	d->hash = h;
	d->transport = t;
	qmgr_dest_window_init(&d->window, &t->policy);
	d->hash_next = *slot;
	*slot = d;
	return d;
}

static void
qmgr_dest_free_if_idle(struct qmgr_dest *d)
{
	struct qmgr_dest **p;

	if (d->active > 0 || d->head != NULL || d->ready)
		return;
	for (p = &qmgr_dest_hash[d->hash % QMGR_HASH_SIZE]; *p != d;
	    p = &(*p)->hash_next)
		;
	*p = d->hash_next;
	free(d->key);
	free(d);
}

/* Put d on its transport's ready list when it has work and room. */
static void
qmgr_dest_check_ready(struct qmgr_dest *d)
{
	struct qmgr_transport *t = d->transport;

	if (d->ready || d->head == NULL || d->active >= d->window.window)
		return;
	d->ready = true;
	d->ready_next = NULL;
	if (t->ready_tail != NULL)
		t->ready_tail->ready_next = d;
	else
		t->ready_head = d;
	t->ready_tail = d;
}

/*
 * Jobs.
 */
void
qmgr_sched_job_add(struct qmgr_job *job, size_t i)
{
	const struct queue_recipient *r = qmgr_message_rcpt(job->msg, i);
	struct qmgr_deliver_rcpt *d;

	if (job->rcpt_count == job->rcpt_cap) {
		job->rcpt_cap = job->rcpt_cap ? job->rcpt_cap * 2 : 4;
		job->rcpts = xreallocarray(job->rcpts, job->rcpt_cap,
		    sizeof(*job->rcpts));
	}
	d = &job->rcpts[job->rcpt_count++];
	memset(d, 0, sizeof(*d));
	d->index = i;
	d->address = r->address;
	d->orcpt = r->orcpt;
	d->notify = r->notify;
}

struct qmgr_job *
qmgr_sched_job_new(struct qmgr_message *msg, struct qmgr_transport *t,
    const char *nexthop, const char *key)
{
	struct qmgr_dest *d = qmgr_dest_get(t, key);
	struct qmgr_job *job = xcalloc(1, sizeof(*job));

	job->msg = msg;
	job->nexthop = xstrdup(nexthop);
	job->dest = d;
	job->next = NULL;
	if (d->tail != NULL)
		d->tail->next = job;
	else
		d->head = job;
	d->tail = job;
	qmgr_dest_check_ready(d);
	return job;
}

bool
qmgr_sched_job_full(const struct qmgr_job *job)
{
	return job->rcpt_count >= job->dest->transport->rcpt_limit;
}

size_t
qmgr_sched_rcpt_limit(const struct qmgr_transport *t)
{
	return t->rcpt_limit;
}

static void
qmgr_job_free(struct qmgr_job *job)
{
	free(job->nexthop);
	free(job->rcpts);
	free(job);
}

/*
 * Running jobs.
 */

/* d is dead: defer its waiting jobs without a connection, as Postfix
 * does ("delivery temporarily suspended"). */
static void
qmgr_dest_defer_waiting(struct qmgr_dest *d, const char *dsn,
    const char *why)
{
	char *reason = xasprintf("delivery temporarily suspended: %s", why);
	struct qmgr_job *job;

	while ((job = d->head) != NULL) {
		struct qmgr_message *msg = job->msg;

		d->head = job->next;
		if (d->head == NULL)
			d->tail = NULL;
		for (size_t i = 0; i < job->rcpt_count; i++)
			qmgr_message_result(msg, job->rcpts[i].index, "none",
			    QMGR_DELIVER_DEFERRED, dsn, reason, false);
		qmgr_job_free(job);
		qmgr_message_job_done(msg);
	}
	free(reason);
}

/* What a finished delivery says about d (qmgr_dest.c); when d is dead
 * now, record it and defer its waiting mail. Called before the job's
 * message drops the job, so that message is not finished here. */
static void
qmgr_dest_learn(struct qmgr_dest *d, const struct qmgr_deliver_rcpt *rcpts,
    size_t rcpt_count)
{
	struct qmgr_transport *t = d->transport;
	const char *dsn, *reason;
	long long now;

	if (!qmgr_dest_window_update(&d->window, &t->policy,
	    qmgr_dest_classify(rcpts, rcpt_count)))
		return;
	now = (long long)time(NULL);
	/* Deliveries that started before it died fail too: once is news. */
	if (qmgr_dest_dead_find(t->name, d->key, now) != NULL)
		return;
	dsn = rcpts[0].dsn != NULL ? rcpts[0].dsn : "4.4.1";
	reason = rcpts[0].reason != NULL ? rcpts[0].reason :
	    "destination not reachable";
	qmgr_dest_dead_set(t->name, d->key, now, now + t->policy.dead_time,
	    dsn, reason);
	log_info("%s destination %s: not reachable, delivery suspended for "
	    "%lld seconds: %s", t->name, d->key, t->policy.dead_time, reason);
	qmgr_dest_defer_waiting(d, dsn, reason);
}

static void
qmgr_job_done(void *ctx, struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count)
{
	struct qmgr_job *job = ctx;
	struct qmgr_message *msg = job->msg;
	struct qmgr_dest *d = job->dest;
	struct qmgr_transport *t = d->transport;

	for (size_t i = 0; i < rcpt_count; i++)
		qmgr_message_result(msg, rcpts[i].index, t->name,
		    rcpts[i].status, rcpts[i].dsn != NULL ? rcpts[i].dsn :
		    "4.3.0", rcpts[i].reason != NULL ? rcpts[i].reason :
		    "no reason given", rcpts[i].agent_logged);
	qmgr_dest_learn(d, rcpts, rcpt_count);
	qmgr_deliver_rcpts_release(rcpts, rcpt_count);
	qmgr_job_free(job);
	d->active--;
	t->active--;
	qmgr_dest_check_ready(d);
	qmgr_dest_free_if_idle(d);
	qmgr_message_job_done(msg);
	qmgr_sched_soon();
}

static void
qmgr_job_start(struct qmgr_job *job)
{
	struct qmgr_deliver_request req = {
		.transport = job->dest->transport->name,
		.nexthop = job->nexthop,
		.rcpts = job->rcpts,
		.rcpt_count = job->rcpt_count,
		.connect_timeout_ms = qmgr_sched_connect_timeout * 1000,
		.timeout_ms = qmgr_sched_delivery_timeout * 1000,
		.pool = qmgr_sched_pool,
	};

	qmgr_message_describe(job->msg, &req.qid, &req.queue_file,
	    &req.sender);
	qmgr_deliver_start(qmgr_sched_loop, &req, qmgr_job_done, job);
}

static void
qmgr_sched_run(void *ctx)
{
	long long now = (long long)time(NULL);

	for (struct qmgr_transport *t = qmgr_sched_transports; t != NULL;
	    t = t->next) {
		while (t->active < t->limit && t->ready_head != NULL) {
			struct qmgr_dest *d = t->ready_head;
			const struct qmgr_dest_dead *dead;
			struct qmgr_job *job;

			t->ready_head = d->ready_next;
			if (t->ready_head == NULL)
				t->ready_tail = NULL;
			d->ready = false;
			if (d->head != NULL && (dead = qmgr_dest_dead_find(
			    t->name, d->key, now)) != NULL)
				qmgr_dest_defer_waiting(d, dead->dsn,
				    dead->reason);
			/* Emptied, or its window shrank since it was
			 * listed: listed again when a delivery ends. */
			if (d->head == NULL || d->active >= d->window.window) {
				qmgr_dest_free_if_idle(d);
				continue;
			}
			job = d->head;
			d->head = job->next;
			if (d->head == NULL)
				d->tail = NULL;
			d->active++;
			t->active++;
			/* Round robin: back to the end of the list. */
			qmgr_dest_check_ready(d);
			qmgr_job_start(job);
		}
	}
}

void
qmgr_sched_soon(void)
{
	if (qmgr_sched_loop != NULL &&
	    !event_timer_armed(&qmgr_sched_timer))
		event_timer_set(qmgr_sched_loop, &qmgr_sched_timer, 0,
		    qmgr_sched_run, NULL);
}
