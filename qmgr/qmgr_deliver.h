/*
 * qmgr_deliver.h - the delivery/1 client: one request to a delivery agent
 * on private/TRANSPORT, run on the event loop without blocking.
 */
#ifndef QMGR_DELIVER_H
#define QMGR_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connpool.h"
#include "event.h"
#include "rec.h"

enum qmgr_deliver_status {
	QMGR_DELIVER_DEFERRED,
	QMGR_DELIVER_SENT,
	QMGR_DELIVER_BOUNCED,
};

/* One recipient of a request. The caller fills index and the borrowed
 * strings; the result fields are filled when the request ends. */
struct qmgr_deliver_rcpt {
	size_t index;		/* position in the queue file */
	const char *address;
	const char *orcpt;	/* NULL when none */
	const char *notify;	/* NULL when none */
	enum qmgr_deliver_status status;
	char *dsn;		/* fresh: "2.0.0" */
	char *reason;		/* fresh: the agent's text */
	bool agent_logged;	/* the agent logged this result itself */
};

struct qmgr_deliver_request {
	const char *transport;	/* socket private/TRANSPORT */
	const char *qid;
	const char *queue_file;	/* "active/QID" */
	const char *sender;
	const char *nexthop;
	struct qmgr_deliver_rcpt *rcpts;	/* kept until done */
	size_t rcpt_count;
	int64_t connect_timeout_ms;	/* connecting (the agent is busy) */
	int64_t timeout_ms;		/* the whole delivery */
	/* Idle agent connections to use first and to give the connection
	 * back to when the agent answered; NULL: a connection each. */
	struct connpool *pool;
};

/* How many idle agent connections qmgr keeps (for $ipc_idle). */
#define QMGR_DELIVER_POOL	64

/* Called once per request with every recipient's result filled in. */
typedef void (*qmgr_deliver_done_fn)(void *ctx,
    struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count);

/* Start a delivery. Never calls done before returning: failures to even
 * start are reported from the loop like any other. A broken connection,
 * a timeout or a malformed reply defers every recipient that has no
 * status ("4.3.0 ..."): nothing is ever taken as delivered without the
 * agent saying so. */
void qmgr_deliver_start(struct event_loop *loop,
    const struct qmgr_deliver_request *req, qmgr_deliver_done_fn done,
    void *ctx);

/* Pure parts, for tests. */
/* The request record. */
void qmgr_deliver_build(const struct qmgr_deliver_request *req,
    struct rec *out);
/* Apply a reply record to the recipients: each "rcpt" group with an index
 * of a recipient in the request sets its status, dsn and reason.
 * Recipients the reply does not mention are deferred with a 4.3.0 reason
 * that names transport. Returns 0, or -1 when the reply is not
 * delivery/1 (then every recipient is deferred). */
int qmgr_deliver_apply_reply(const struct rec *reply, const char *transport,
    struct qmgr_deliver_rcpt *rcpts, size_t rcpt_count);
/* Defer every recipient with dsn and reason (copied). */
void qmgr_deliver_fail_all(struct qmgr_deliver_rcpt *rcpts,
    size_t rcpt_count, const char *dsn, const char *reason);
/* Free the result strings (not the array). */
void qmgr_deliver_rcpts_release(struct qmgr_deliver_rcpt *rcpts,
    size_t rcpt_count);

#endif
