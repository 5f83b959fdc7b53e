/*
 * qmgr_command.h - qmgr/1 requests that move queue files on request.
 */
#ifndef QMGR_COMMAND_H
#define QMGR_COMMAND_H

#include "rec.h"

/* hold, release, delete or requeue one queue ID or "ALL" (qid may be
 * NULL: refused). Appends status=ok and count=N, or status=CODE, dsn and
 * text, to reply. */
void qmgr_command(const char *request, const char *qid, struct rec *reply);

#endif
