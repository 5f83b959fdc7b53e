/*
 * cleanup_message.h - what cleanup does to one message, without I/O.
 *
 * The service (cleanup_service.c) reads the request and content and
 * writes the queue file; this module validates the request, processes the
 * header block (header_checks, hop count, sendmail -t, missing headers,
 * Received) and expands the recipients, so that tests can drive it with
 * buffers and inline: tables.
 */
#ifndef CLEANUP_MESSAGE_H
#define CLEANUP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "cleanup_alias.h"
#include "maps.h"
#include "rec.h"

struct cleanup_settings {
	const char *myhostname;
	const char *myorigin;
	struct maplist *header_checks;		/* NULL: none */
	struct maplist *virtual_alias_maps;	/* NULL: none */
	struct cleanup_alias_limits alias_limits;
	long hopcount_limit;
	size_t header_size_limit;
	size_t message_size_limit;
};

struct cleanup_message {
	const struct cleanup_settings *settings;
	const struct rec *req;		/* the client's request */
	const char *origin;
	char *qid;
	char *sender;
	struct cleanup_rcpts rcpts;
	size_t request_rcpt_count;	/* before -t and aliases */
	bool extract;
	bool local_submit;
	time_t now;
	char *message_id;		/* for the log, NULL when none */
	/* The failure to answer with; status NULL while all is well. */
	const char *fail_status;
	const char *fail_dsn;
	char *fail_text;
};

/* Validate req (proto, sender, recipients) into m. Returns 0, or -1 with
 * the failure set. req must outlive m. */
int cleanup_message_start(struct cleanup_message *m,
    const struct cleanup_settings *s, const struct rec *req);
void cleanup_message_set_qid(struct cleanup_message *m, const char *qid);
/* Record a failure (the first one wins). text is copied. */
void cleanup_message_fail(struct cleanup_message *m, const char *status,
    const char *dsn, const char *text);
/* Process the header block at the start of data[0..len) (at_end: this
 * is the whole content). Appends the headers to write, and the empty
 * line that ends them, to out; *used_r is where the body starts in data.
 * Returns 0, or -1 with the failure set (nothing may be queued). */
int cleanup_message_headers(struct cleanup_message *m, const char *data,
    size_t len, bool at_end, struct buf *out, size_t *used_r);
/* The envelope attributes for queue_write_envelope(). */
void cleanup_message_envelope(const struct cleanup_message *m,
    struct rec *env);
void cleanup_message_release(struct cleanup_message *m);

#endif
