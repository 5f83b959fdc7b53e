/*
 * qmgr_sched.h - delivery scheduling: per-transport and per-destination
 * concurrency, round robin among destinations, dead destinations, and
 * the delivery requests to the agents (qmgr_deliver.c).
 */
#ifndef QMGR_SCHED_H
#define QMGR_SCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

struct qmgr_message;	/* qmgr_queue.c's */
struct qmgr_transport;
struct qmgr_job;

/* Settings qmgr_queue.c has read (seconds); default_process_limit is
 * read here. Before the jail. */
void qmgr_sched_init(long long connect_timeout, long long delivery_timeout,
    long long min_backoff);
/* After the jail, with the server's loop. */
void qmgr_sched_start(struct event_loop *loop);

/* The transport of this name, made on first use with its
 * TRANSPORT_destination_* limits. */
struct qmgr_transport *qmgr_sched_transport(const char *name);
/* $TRANSPORT_destination_recipient_limit. */
size_t qmgr_sched_rcpt_limit(const struct qmgr_transport *t);

/* A job for msg to nexthop, waiting at destination key (the nexthop, or
 * the recipient when the transport's recipient limit is 1). The caller
 * counts it as one of msg's jobs; qmgr_message_job_done() says when it
 * ended. */
struct qmgr_job *qmgr_sched_job_new(struct qmgr_message *msg,
    struct qmgr_transport *t, const char *nexthop, const char *key);
/* Add recipient i of the job's message. */
void qmgr_sched_job_add(struct qmgr_job *job, size_t i);
/* The job holds its transport's recipient limit. */
bool qmgr_sched_job_full(const struct qmgr_job *job);

/* Start what can start, soon (after new jobs or a finished delivery). */
void qmgr_sched_soon(void);

#endif
