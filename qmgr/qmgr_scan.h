/*
 * qmgr_scan.h - finding work in the queue directories: incoming/ on
 * wakeups and every second, deferred/ when retries are due, and crash
 * recovery (active/ back to incoming/, .tmp files a cleanup left).
 * Found files go to qmgr_queue_activate().
 */
#ifndef QMGR_SCAN_H
#define QMGR_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

/* After the jail, with the server's loop: recover, then scan incoming/
 * and deferred/ and arm the periodic scans. */
void qmgr_scan_start(struct event_loop *loop);
/* Scan incoming/ soon (a qmgr/1 wakeup, or an active slot came free). */
void qmgr_scan_wakeup(void);
/* Scan deferred/ soon (a file was made due). */
void qmgr_scan_deferred_soon(void);
/* Scan deferred/ at due (unix seconds) unless a scan comes sooner. */
void qmgr_scan_deferred_at(long long due);
/* Make the deferred messages that wants accepts (every one when wants is
 * NULL) due now and scan deferred/ soon. Returns the number of messages
 * made due. */
size_t qmgr_scan_flush(bool (*wants)(const char *name, const void *ctx),
    const void *ctx);
/* true when a directory entry name can be a queue file. */
bool qmgr_scan_name_ok(const char *name);

#endif
