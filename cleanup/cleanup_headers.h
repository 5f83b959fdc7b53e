/*
 * cleanup_headers.h - pure functions on a message's header block.
 *
 * Splitting the header block into headers, unfolding, RFC 5322 address
 * lists (for sendmail -t), header_checks actions, the Date and Received
 * headers cleanup adds. Nothing here reads configuration or the network;
 * the input is untrusted message content.
 */
#ifndef CLEANUP_HEADERS_H
#define CLEANUP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

/* More addresses than this in one header are ignored (logged by caller). */
#define CLEANUP_ADDR_LIST_MAX	1000

struct cleanup_header {
	char *name;		/* as written, without ':' or spaces */
	char *text;		/* the whole header, folded lines joined with
				 * "\n", without the final newline */
	bool deleted;		/* dropped from the output */
};

struct cleanup_headers {
	struct cleanup_header *list;
	size_t count;
	size_t cap;
};

/* Split the header block at the start of data[0..len) into h (appending).
 * Only lines ended by "\n" count, plus an unterminated last line when
 * at_end. The block ends at an empty line (consumed), at the first line
 * that is neither a header nor a continuation, or at the last complete
 * line. Returns the number of bytes used: the body starts there. */
size_t cleanup_headers_split(const char *data, size_t len, bool at_end,
    struct cleanup_headers *h);
void cleanup_headers_release(struct cleanup_headers *h);
/* Append a header (copies text, "Name: value", no final newline). */
void cleanup_headers_add(struct cleanup_headers *h, const char *text);
/* The first undeleted header named name (case-insensitive), or NULL. */
struct cleanup_header *cleanup_headers_find(struct cleanup_headers *h,
    const char *name);
/* Append every undeleted header, each followed by "\n". */
int cleanup_headers_format(const struct cleanup_headers *h,
    struct buf *out);

/* true when the header's name is name (case-insensitive). */
bool cleanup_header_is(const struct cleanup_header *hdr, const char *name);
/* A fresh copy of the value: after the colon, unfolded ("\n" removed),
 * leading and trailing white space trimmed. */
char *cleanup_header_value(const struct cleanup_header *hdr);

/* Parse an RFC 5322 address list ("A <a@x>, b@y (B), grp: c@z;") into
 * addr-specs appended to *list_r (fresh strings; *count_r updated).
 * Comments, quoted strings, groups and source routes are handled; empty
 * addresses ("<>", empty groups) are skipped. At most
 * CLEANUP_ADDR_LIST_MAX addresses in all. Returns 0, or -1 when the
 * list was cut short (what parsed is kept). */
int cleanup_addr_list_parse(const char *value, char ***list_r,
    size_t *count_r);
void cleanup_addr_list_free(char ***list_r, size_t *count_r);

/* header_checks actions. */
enum cleanup_action {
	CLEANUP_ACTION_DUNNO,
	CLEANUP_ACTION_IGNORE,
	CLEANUP_ACTION_REJECT,
	CLEANUP_ACTION_WARN,
	CLEANUP_ACTION_UNSUPPORTED,
};
/* Parse a table value "REJECT some text": the action and *text_r (a
 * pointer into value, "" when there is none). */
enum cleanup_action cleanup_action_parse(const char *value,
    const char **text_r);

/* RFC 5322 date-time for t in local time with a numeric zone:
 * "Mon, 23 Nov 2026 18:47:31 +0100". */
void cleanup_date(time_t t, char *out, size_t size);

/* Copy s for use inside a header: control characters become '?', the
 * length is capped at max bytes. */
char *cleanup_header_safe(const char *s, size_t max);

struct cleanup_received {
	const char *origin;		/* "smtpd", "pickup" */
	const char *helo;		/* may be NULL */
	const char *client_name;	/* may be NULL */
	const char *client_addr;	/* may be NULL */
	const char *protocol;		/* "ESMTP"; NULL: "SMTP" */
	const char *tls;		/* NULL, "", "0": none */
	const char *sasl_user;		/* "(Authenticated sender: X)", or NULL */
	const char *uid;		/* pickup */
	const char *myhostname;
	const char *qid;
	const char *rcpt;		/* the only recipient, or NULL */
	time_t now;
};
/* The Received: header (RFC 5321 4.4) as text without the final newline
 * (folded with "\n\t"), into a fresh string. */
char *cleanup_received_format(const struct cleanup_received *r);

#endif
