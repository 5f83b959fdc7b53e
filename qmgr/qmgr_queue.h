/*
 * qmgr_queue.h - the queue manager's scheduler: moving and removing
 * queue files, and the state of every message in active/.
 */
#ifndef QMGR_QUEUE_H
#define QMGR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "qmgr_deliver.h"
#include "rec.h"

/* Read the configuration and open the lookup tables (before the jail). */
void qmgr_queue_init(void);
/* After the jail, with the server's loop: start scanning
 * (qmgr_scan.c). */
void qmgr_queue_start(struct event_loop *loop);
/* Move dir/qid (a name qmgr_scan_name_ok() accepts) to active/, resolve
 * its recipients and schedule its deliveries. */
void qmgr_queue_activate(const char *dir, const char *qid);
/* Fewer than qmgr_message_active_limit messages are active. */
bool qmgr_queue_has_room(void);
/*
 * For qmgr_sched.c: a job's message, its recipient i, what happened to
 * that recipient (the agent logged it itself when agent_logged), and the
 * end of one of its jobs (the last one finishes the message: removed,
 * deferred or bounced).
 */
struct qmgr_message;
struct queue_recipient;
const struct queue_recipient *qmgr_message_rcpt(
    const struct qmgr_message *msg, size_t i);
void qmgr_message_describe(const struct qmgr_message *msg, const char **qid_r,
    const char **path_r, const char **sender_r);
void qmgr_message_result(struct qmgr_message *msg, size_t i,
    const char *relay, enum qmgr_deliver_status status, const char *dsn,
    const char *reason, bool agent_logged);
void qmgr_message_job_done(struct qmgr_message *msg);

/* Flag the messages in active/ with this queue ID (or all, for "ALL"):
 * hold sends them to hold/ instead of deferred/, delete removes them, when
 * their running deliveries end. Returns how many were flagged. */
size_t qmgr_queue_flag_active(const char *qid, bool hold, bool delete);

#endif
