/*
 * smtpd_cleanup.h - stream one message to cleanup without blocking.
 *
 * The cleanup/1 conversation of lib/proto.h on the event loop: connect,
 * stream the envelope record and the content as chunks while the client
 * sends it (a small message in one write, at its end), send the end
 * chunk, learn the queue ID from reply 1 and the outcome from the final
 * reply. Closing before the end chunk aborts: cleanup removes its file
 * and nothing is queued.
 *
 * The owner's callback runs (from the event loop only, never from inside
 * a call the owner makes) when reply 1 arrives, when the output backlog
 * drains below SMTPD_CLEANUP_LOW, when the final reply arrives, and on
 * failure; the owner then looks at smtpd_cleanup_state(). The callback
 * may close the stream.
 */
#ifndef SMTPD_CLEANUP_H
#define SMTPD_CLEANUP_H

#include <stddef.h>

#include "event.h"
#include "rec.h"

/* Stop reading from the client above this backlog; resume below LOW. */
#define SMTPD_CLEANUP_HIGH	(256 * 1024)
#define SMTPD_CLEANUP_LOW	(64 * 1024)

enum smtpd_cleanup_state {
	SMTPD_CLEANUP_WAIT_QID,	/* no reply 1 yet */
	SMTPD_CLEANUP_READY,	/* content may be streamed */
	SMTPD_CLEANUP_FINISHING,/* end chunk queued, no final reply yet */
	SMTPD_CLEANUP_DONE,	/* final ok: the message is queued */
	SMTPD_CLEANUP_FAILED,	/* nothing queued; see smtpd_cleanup_reply */
};

struct smtpd_cleanup;
typedef void (*smtpd_cleanup_fn)(void *ctx);

/* Connect to PROTO_CLEANUP_PATH (or take a pooled connection) and queue
 * the envelope. NULL when cleanup cannot be reached (logged), so that the
 * client hears it before it sends the content. */
struct smtpd_cleanup *smtpd_cleanup_open(struct event_loop *loop,
    const struct rec *envelope, smtpd_cleanup_fn fn, void *ctx);
/* The process stops accepting: idle cleanup connections go back to
 * cleanup, where the process that takes over can use them, and the
 * sessions still open use a connection each. */
void smtpd_cleanup_drain(void);
/* Close (an abort unless the state is DONE) and free. */
void smtpd_cleanup_close(struct smtpd_cleanup **c_r);
enum smtpd_cleanup_state smtpd_cleanup_state(const struct smtpd_cleanup *c);
/* The queue ID once known, else NULL. */
const char *smtpd_cleanup_qid(const struct smtpd_cleanup *c);
/* The reply for the client in DONE ("250 2.0.0 Ok: queued as ID") and
 * FAILED (cleanup's own "550 5.7.1 ..." or "451 4.3.0 Error: queue file
 * write error"); NULL before. */
const char *smtpd_cleanup_reply(const struct smtpd_cleanup *c);
/* Queue content (LF line endings, unstuffed). Ignored after a failure. */
void smtpd_cleanup_write(struct smtpd_cleanup *c, const char *data,
    size_t len);
/* Bytes queued but not yet written. */
size_t smtpd_cleanup_pending(const struct smtpd_cleanup *c);
/* Queue the end chunk; the final reply follows via the callback. */
void smtpd_cleanup_finish(struct smtpd_cleanup *c);

#endif
