/*
 * delivery.h - what the delivery agents share: the delivery/1 request and
 * reply (lib/proto.h), and one delivery run in a child process that has
 * dropped to a user for good.
 *
 * local and virtual run as root (master.cf unpriv=n) so that each
 * delivery can become its recipient. The root parent only parses the
 * request, opens the queue file and looks things up; everything that
 * touches a mailbox, a file or a command happens in a child made by
 * delivery_run_as(), which reports back one lib/rec record over a pipe.
 */
#ifndef POSTERN_DELIVERY_H
#define POSTERN_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue.h"
#include "rec.h"

enum delivery_status {
	DELIVERY_SENT,
	DELIVERY_BOUNCED,
	DELIVERY_DEFERRED,	/* the worst: wins when results combine */
};

struct delivery_rcpt {
	char *address;
	long long index;	/* position in the queue file */
	char *orcpt;		/* NULL when not given */
	char *notify;		/* NULL when not given */
	/* The result; set by delivery_set(). Starts as deferred "4.3.0
	 * delivery not attempted" so nothing is ever lost by omission. */
	enum delivery_status status;
	char *dsn;
	char *reason;
	/* What the log's relay= shows for this recipient ("mx.example.com
	 * [192.0.2.1]:25"); NULL: the agent name. Fresh; freed on release. */
	char *relay;
};

struct delivery_request {
	char *qid;
	char *queue_file;	/* "active/QID", relative to queue_directory */
	char *sender;		/* "" for the null sender */
	char *nexthop;		/* "" when not given */
	struct delivery_rcpt *rcpts;
	size_t rcpt_count;
};

/* Parse a delivery/1 request. Returns 0, or -1 with *error_r a static
 * text (bad proto, missing qid, unsafe queue_file path, rcpt without
 * index). Release with delivery_request_release() either way. */
int delivery_request_parse(const struct rec *r, struct delivery_request *req,
    const char **error_r);
void delivery_request_release(struct delivery_request *req);
/* Set a recipient's result; reason is printf-formatted. */
void delivery_set(struct delivery_rcpt *rcpt, enum delivery_status status,
    const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Give every recipient the same result. */
void delivery_set_all(struct delivery_request *req,
    enum delivery_status status, const char *dsn, const char *reason);
/* "sent", "bounced", "deferred", and back (-1 when unknown). */
const char *delivery_status_name(enum delivery_status status);
int delivery_status_parse(const char *name, enum delivery_status *status_r);
/* The reply record: proto, then rcpt, index, status, dsn, reason each. */
void delivery_reply_format(const struct delivery_request *req,
    struct rec *out);

/* Serve a delivery/1 connection (a .service function body): for each
 * request, open the queue file read-only, call deliver() which sets each
 * recipient's result, log each result ("QID: to=<..>, relay=AGENT,
 * status=sent (reason)"), write the reply; then wait for the next request
 * on the same connection (server_next_request()). fd stays open (the
 * skeleton closes it). */
void delivery_serve(int fd, const char *agent,
    void (*deliver)(struct delivery_request *req, struct queue_file *q));

/* Who a child becomes. */
struct delivery_user {
	uid_t uid;
	gid_t gid;
	const char *name;	/* for initgroups(); NULL: gid only */
};

/* Drop to u for good: supplementary groups, gid, uid, then check that
 * root cannot be regained. uid 0 is refused. When the process is not
 * root it delivers as itself and this does nothing. 0, or -1 with errno. */
int delivery_drop_privileges(const struct delivery_user *u);

/* Run fn(ctx, out) in this process with u's effective uid, gid and
 * groups (when root), then become root again: a Maildir delivery needs no
 * fork, as in Postfix's virtual(8). Only for code that runs no program
 * and reads no file the user controls as a program. u->uid 0 is refused.
 * Returns 0, or -1 with *error_r (fresh) when the ids cannot be
 * switched; a failure to switch back is fatal (the process exits and the
 * master starts a clean one). */
int delivery_as_user(const struct delivery_user *u,
    void (*fn)(void *ctx, struct rec *out), void *ctx, struct rec *result,
    char **error_r);

/* Fork; the child drops to u (NULL: stays who it is), runs fn(ctx, out)
 * and sends out back; the parent waits at most timeout_ms (then kills
 * the child) and parses it into result. Returns 0, or -1 with *error_r a
 * fresh text when the child failed to report (crash, timeout, could not
 * drop privilege: a temporary failure). fn must not return to the
 * caller's loop: the child _exit()s after it. */
int delivery_run_as(const struct delivery_user *u,
    void (*fn)(void *ctx, struct rec *out), void *ctx, int64_t timeout_ms,
    struct rec *result, char **error_r);

/* A child's result: status/dsn/reason attributes in out, and back. */
void delivery_result_put(struct rec *out, enum delivery_status status,
    const char *dsn, const char *reason);
/* Read status/dsn/reason from a child's record. -1 when missing. */
int delivery_result_get(const struct rec *r, enum delivery_status *status_r,
    const char **dsn_r, const char **reason_r);

/* Does the message's header already hold "Delivered-To: address"
 * (case-insensitive, surrounding space ignored)? 1 yes, 0 no, -1 the
 * queue file could not be read. Only the header (up to the first empty
 * line, at most 1 MB) is read. */
int delivery_header_has(struct queue_file *q, const char *name,
    const char *value);

#endif
