/*
 * qmgr_command.h - qmgr/1 requests that move queue files on request,
 * and flush.
 */
#ifndef QMGR_COMMAND_H
#define QMGR_COMMAND_H

#include "rec.h"

/* hold, release, delete or requeue one queue ID or "ALL" (qid may be
 * NULL: refused). Appends status=ok and count=N, or status=CODE, dsn and
 * text, to reply. */
void qmgr_command(const char *request, const char *qid, struct rec *reply);
/* flush: make deferred mail due now, all of it (domain NULL) or the
 * messages with a pending recipient in domain (case-insensitive, the
 * part after the last '@'). Appends status=ok and count=N (messages made
 * due), or status=501 for a malformed domain, to reply. */
void qmgr_command_flush(const char *domain, struct rec *reply);

#endif
