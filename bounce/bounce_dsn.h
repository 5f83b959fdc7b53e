/*
 * bounce_dsn.h - build delivery status notifications (RFC 3464, RFC 6522
 * multipart/report), without I/O: the bounce daemon reads the queue file
 * and log/QID and hands the pieces here; tests call the same functions.
 */
#ifndef BOUNCE_DSN_H
#define BOUNCE_DSN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* One recipient record of log/QID (qmgr_queue.c writes them), with the
 * DSN parameters of the queue file's recipient at the same index. */
struct bounce_rcpt {
	char *address;
	long long index;	/* -1 when the record has none */
	char *status;		/* "bounced" or "deferred" */
	char *dsn;		/* "5.1.1" */
	char *reason;		/* the agent's or qmgr's text */
	char *relay;		/* transport name, or "host[addr]:port" */
	long long time;		/* of the attempt (unix seconds, 0: unknown) */
	char *orcpt;		/* "rfc822;addr" from the queue file, or NULL */
	char *notify;		/* "NEVER", "FAILURE,DELAY"..., or NULL */
};

/* Parse the records of a log/QID file. Records without rcpt or status
 * (qmgr's "warned" marker) are skipped; parsing stops at the first
 * malformed record. Returns the number of records put into *rcpts_r
 * (fresh; free with bounce_rcpts_free()). */
size_t bounce_log_parse(const char *data, size_t len,
    struct bounce_rcpt **rcpts_r);
void bounce_rcpts_free(struct bounce_rcpt **rcpts_r, size_t count);

/* Does this recipient's NOTIFY (RFC 3461; NULL: not given) ask for a
 * failure report (warn false) or a delay report (warn true)? */
bool bounce_notify_wants(const char *notify, bool warn);

/* Split an agent's reason into the parts a report shows. A reason in
 * Postfix's form "host NAME[ADDR] said: TEXT (in reply to ...)" gives
 * *host_r NAME and *diagnostic_r TEXT with *smtp_r true; a reason that
 * starts with a 4XX/5XX reply code is an smtp diagnostic too; anything
 * else is postern's own text (*smtp_r false). relay "NAME[ADDR]..."
 * names the host when the reason does not. *host_r may be NULL; both are
 * fresh. */
void bounce_diagnostic(const char *reason, const char *relay, char **host_r,
    char **diagnostic_r, bool *smtp_r);

struct bounce_notice {
	bool warn;		/* delay warning, else non-delivery */
	bool postmaster;	/* a double bounce: told to the postmaster */
	const char *qid;	/* of the original */
	const char *myhostname;
	const char *sender;	/* the original envelope sender ("" null) */
	const char *to;		/* who receives the notice */
	const char *envid;	/* ENVID, or NULL */
	const char *ret;	/* "FULL", "HDRS" or NULL */
	long long arrival;	/* of the original */
	long long now;
	long long retry_until;	/* warn: when we give up */
	const char *message_id;	/* "<...>" */
	const char *boundary;
	size_t size_limit;	/* bounce_size_limit */
	const struct bounce_rcpt *rcpts;	/* already chosen */
	size_t rcpt_count;
	const char *content;	/* the original, LF line ends */
	size_t content_len;	/* bytes in content */
	size_t content_size;	/* the original's whole size */
};

/* Append the notice (headers and body, LF line ends) to out. Returns 0,
 * or -1 when out's limit is reached or there is no recipient. */
int bounce_dsn_build(const struct bounce_notice *n, struct buf *out);

/* An RFC 5322 date for t (UTC, "+0000": the jail may have no zone
 * files) into out. */
void bounce_date(long long t, char *out, size_t size);

/* The length of the original's header block in content[0..len) (up to
 * and including the empty line; len when there is none). */
size_t bounce_header_length(const char *content, size_t len);

#endif
