/*
 * qmgr_list.h - the qmgr/1 "list" request: the queue as records, so that
 * `postern queue list` (mailq) works for users who cannot read the queue
 * directories (Postfix's showq service).
 */
#ifndef QMGR_LIST_H
#define QMGR_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "queue.h"
#include "rec.h"

#define QMGR_LIST_LIMIT		100000	/* messages in one listing */
/* A message record stays under this many bytes on the wire: recipients
 * that would not fit are counted in "omitted" (REC_MAX bounds every
 * record a client will read). */
#define QMGR_LIST_RECORD_MAX	(REC_MAX - 4096)

struct qmgr_list;

/* Scan incoming/, active/, deferred/ and hold/ (relative to the current
 * directory, queue_directory) and sort the names by queue ID, i.e. by
 * arrival; at most limit messages are listed. Never NULL: an unreadable
 * directory is logged and listed as empty. */
struct qmgr_list *qmgr_list_new(size_t limit);
/* Append the records of up to max_messages more messages to out. When
 * every message has been sent, appends the end record instead (proto,
 * status=ok, count=N, and truncated=1 when the limit cut the listing
 * short) and returns true; the listing is then finished. Messages that
 * vanished since the scan are skipped; one that moved to another queue
 * is shown there. Reading the files blocks (bounded by max_messages). */
bool qmgr_list_next(struct qmgr_list *l, struct buf *out,
    size_t max_messages);
void qmgr_list_free(struct qmgr_list **l_r);

/* Build the record for one message (replacing r): proto, qid, queue,
 * size, arrival, sender, then rcpt=ADDRESS for each recipient not yet
 * done, each followed by reason=TEXT when the log/QID text (log, len
 * bytes, may be empty) has a record for it; then omitted=N when N pending
 * recipients did not fit under QMGR_LIST_RECORD_MAX. A log record is
 * matched by its index (position in the queue file) when that recipient
 * has the same address, else by address. */
void qmgr_list_message(struct rec *r, const char *qid, const char *queue,
    const struct queue_file *q, const char *log, size_t len);

#endif
