/*
 * qmgr_bounce.h - the bounce/1 client (lib/proto.h): ask the bounce
 * daemon on private/bounce for a non-delivery notice or a delay warning,
 * on the event loop without blocking.
 */
#ifndef QMGR_BOUNCE_H
#define QMGR_BOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "rec.h"

struct qmgr_bounce_request {
	bool warn;			/* request=warn, else flush */
	const char *qid;
	const char *queue_file;		/* "active/QID" */
	int64_t connect_timeout_ms;	/* connecting (bounce is busy) */
	int64_t timeout_ms;		/* the whole request */
};

/* Called once per request: status 0 when the notice was queued
 * (new_qid: its queue ID) or bounce had nothing to send (new_qid NULL);
 * -1 when nothing was queued and the caller must keep the message and
 * try again (text says why). The strings live until done returns. */
typedef void (*qmgr_bounce_done_fn)(void *ctx, int status,
    const char *new_qid, const char *text);

/* Start a request. done is never called before this returns. A broken
 * connection, a timeout or a malformed reply is a failure (-1). */
void qmgr_bounce_start(struct event_loop *loop,
    const struct qmgr_bounce_request *req, qmgr_bounce_done_fn done,
    void *ctx);

/* Pure parts, for tests. */
/* The request record. */
void qmgr_bounce_build(const struct qmgr_bounce_request *req,
    struct rec *out);
/* Read a reply: 0 with *new_qid_r (borrowed from reply, NULL when no
 * notice was needed), or -1 with *text_r (borrowed or static) when the
 * reply is not bounce/1, not ok, or names a malformed queue ID. */
int qmgr_bounce_parse_reply(const struct rec *reply, const char **new_qid_r,
    const char **text_r);

#endif
