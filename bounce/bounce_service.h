/*
 * bounce_service.h - the bounce daemon's work: one bounce/1 request
 * (lib/proto.h) per connection.
 */
#ifndef BOUNCE_SERVICE_H
#define BOUNCE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "bounce_dsn.h"
#include "queue.h"
#include "rec.h"

/* Read the configuration (before the jail). */
void bounce_service_init(void);
/* Serve one connection: read the request, queue the notice, reply. */
void bounce_service(int fd);

/* Pure parts, for tests. */

/* Check a bounce/1 request: returns 0 and sets *warn_r, *qid_r and
 * *path_r (borrowed from req), or -1 with *error_r a static text. The
 * queue file must be "active/QID" or "deferred/QID" for the same qid. */
int bounce_request_parse(const struct rec *req, bool *warn_r,
    const char **qid_r, const char **path_r, const char **error_r);

/* Keep the records of log/QID a notice reports (status "bounced" for a
 * failure report, "deferred" for a warning) and whose NOTIFY asks for it
 * (unless for_postmaster), taking orcpt and notify from the queue file's
 * recipient at the record's index. Moves the kept records to the front
 * of rcpts, frees the others; returns how many are kept. */
size_t bounce_select(struct bounce_rcpt *rcpts, size_t count,
    const struct queue_file *q, bool warn, bool for_postmaster);

/* Who gets the notice for a message from sender: the sender itself with
 * the null sender (*to_r = sender, *from_r = ""); for the null sender,
 * a failure report goes to postmaster_rcpt from double_bounce@myhostname
 * (*postmaster_r true); nothing (returns -1) for a warning about a
 * null-sender message, or for mail from the double-bounce address
 * itself (a failed postmaster notice: only logged). Strings are fresh. */
int bounce_route(const char *sender, bool warn, const char *postmaster_rcpt,
    const char *double_bounce, const char *myhostname, char **to_r,
    char **from_r, bool *postmaster_r);

#endif
