/*
 * qmgr_session.h - qmgr/1 requests on the qmgr socket (public/qmgr).
 */
#ifndef QMGR_SESSION_H
#define QMGR_SESSION_H

#include <stddef.h>

#include "event.h"
#include "rec.h"

/* The event server's session function: serve the connection fd. */
void qmgr_session_start(struct event_loop *loop, int fd);
/* Answer one request record (pure apart from the queue actions). */
void qmgr_session_handle(const struct rec *request, struct rec *reply);

#endif
