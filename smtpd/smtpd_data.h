/*
 * smtpd_data.h - the DATA and BDAT byte-stream decoder.
 *
 * Pure: bytes from the client in, message content (LF line endings, dot
 * unstuffed) out. DATA ends only at <CRLF>.<CRLF>; a bare LF or bare CR
 * anywhere in the content (SMTP smuggling, CVE-2023-51764) is remembered
 * and the caller rejects the message once the real end has been read.
 * Content beyond the size limit is counted but no longer produced.
 */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct smtpd_data {
	int state;		/* private */
	size_t size;		/* decoded content bytes so far */
	size_t limit;		/* 0: no limit */
	bool bare_lf;
	bool bare_cr;
	bool too_big;
};

/* Start a message. limit is message_size_limit (0: none). */
void smtpd_data_init(struct smtpd_data *d, size_t limit);
/* DATA: decode in[0..len) appending content to out. Returns the bytes
 * used; *done_r becomes true when <CRLF>.<CRLF> was seen (bytes after it
 * are not used: they are the client's next commands). Returns -1 only
 * when out's limit is reached (a caller bug: out must have room for
 * len + 2 bytes). */
long smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out, bool *done_r);
/* BDAT: decode chunk bytes (CRLF -> LF, no dot processing). A CR at the
 * end of in is held until the next call. 0 or -1 as above. */
int smtpd_data_bdat(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out);
/* BDAT LAST: flush a held CR. */
int smtpd_data_bdat_end(struct smtpd_data *d, struct buf *out);
/* The rejection for a finished message, or NULL when it is acceptable:
 * "550 5.5.2 Error: bare <LF> received", "... bare <CR> ...",
 * "552 5.3.4 Message size exceeds fixed limit". */
const char *smtpd_data_error(const struct smtpd_data *d);

#endif
