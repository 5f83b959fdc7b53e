/*
 * qmgr_session.h - qmgr/1 requests on the qmgr socket (public/qmgr).
 */
#ifndef QMGR_SESSION_H
#define QMGR_SESSION_H

#include <stddef.h>

#include "event.h"
#include "qmgr_list.h"
#include "rec.h"

/* The event server's session function: serve the connection fd. */
void qmgr_session_start(struct event_loop *loop, int fd);
/* Answer one request record (pure apart from the queue actions): fills
 * reply and returns NULL, or for request=list leaves reply empty and
 * returns the listing whose records (qmgr_list_next) are the reply. */
struct qmgr_list *qmgr_session_handle(const struct rec *request,
    struct rec *reply);

#endif
