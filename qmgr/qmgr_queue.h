/*
 * qmgr_queue.h - the queue manager's scheduler: scanning, moving and
 * removing queue files, and the state of every message in active/.
 */
#ifndef QMGR_QUEUE_H
#define QMGR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "rec.h"

/* Read the configuration and open the lookup tables (before the jail). */
void qmgr_queue_init(void);
/* After the jail, with the server's loop: recover active/, scan
 * incoming/ and deferred/, arm the periodic scans. */
void qmgr_queue_start(struct event_loop *loop);
/* Scan incoming/ soon (a qmgr/1 wakeup). */
void qmgr_queue_wakeup(void);
/* Make every deferred message due now and scan deferred/ soon. Returns
 * the number of messages made due. */
size_t qmgr_queue_flush(void);
/* Scan deferred/ soon (a file was made due). */
void qmgr_queue_deferred_soon(void);
/* Flag the messages in active/ with this queue ID (or all, for "ALL"):
 * hold sends them to hold/ instead of deferred/, delete removes them, when
 * their running deliveries end. Returns how many were flagged. */
size_t qmgr_queue_flag_active(const char *qid, bool hold, bool delete);
/* true when a directory entry name can be a queue file. */
bool qmgr_queue_name_ok(const char *name);

#endif
