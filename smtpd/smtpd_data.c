/*
 * smtpd_data.c - the DATA and BDAT byte-stream decoder.
 *
 * A state machine over single bytes, so a <CR><LF> or a "." split across
 * reads at any position decodes the same as in one piece. The only end of
 * DATA is <CRLF>.<CRLF> (RFC 5321 4.1.1.4): after a bare LF the decoder is
 * not at the start of a line, so "\n.\n", "\r\n.\n", "\n.\r\n" and
 * "\r.\r\n" never end the message; they only mark it as smuggling, and the
 * caller rejects it after reading up to the real end. Once a message is
 * rejected (bare LF/CR, too big) no more content is produced: the caller
 * throws it away anyway.
 */
#include <string.h>

#include "smtpd_data.h"

enum {
	SMTPD_DATA_BOL,		/* at the start of a line (after CRLF) */
	SMTPD_DATA_DOT,		/* "." at the start of a line */
	SMTPD_DATA_DOT_CR,	/* ".\r" at the start of a line */
	SMTPD_DATA_TEXT,	/* inside a line */
	SMTPD_DATA_CR,		/* "\r" inside a line */
};

void
smtpd_data_init(struct smtpd_data *d, size_t limit)
{
	memset(d, 0, sizeof(*d));
	d->state = SMTPD_DATA_BOL;
	d->limit = limit;
}

static bool
smtpd_data_discarding(const struct smtpd_data *d)
{
	return d->bare_lf || d->bare_cr || d->too_big;
}

/* Count one content byte; store it unless the message is already lost. */
static void
smtpd_data_emit(struct smtpd_data *d, char **p, char c)
{
	d->size++;
	if (d->limit > 0 && d->size > d->limit)
		d->too_big = true;
	if (!smtpd_data_discarding(d))
		*(*p)++ = c;
}

/* Bytes inside a line: state TEXT or CR. */
static void
smtpd_data_text(struct smtpd_data *d, char **p, char c)
{
	if (d->state == SMTPD_DATA_CR) {
		if (c == '\n') {
			smtpd_data_emit(d, p, '\n');
			d->state = SMTPD_DATA_BOL;
			return;
		}
		d->bare_cr = true;
		smtpd_data_emit(d, p, '\r');
		d->state = SMTPD_DATA_TEXT;
	}
	if (c == '\r') {
		d->state = SMTPD_DATA_CR;
	} else if (c == '\n') {
		/* Bare LF: not a line end for DATA, not even a start. */
		d->bare_lf = true;
		smtpd_data_emit(d, p, '\n');
		d->state = SMTPD_DATA_TEXT;
	} else {
		smtpd_data_emit(d, p, c);
		d->state = SMTPD_DATA_TEXT;
	}
}

long
smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out, bool *done_r)
{
	char *start, *p;
	size_t i;

	*done_r = false;
	if (buf_reserve(out, len + 2) < 0)
		return -1;
	start = p = out->data + out->len;
	for (i = 0; i < len; i++) {
		char c = in[i];

		switch (d->state) {
		case SMTPD_DATA_BOL:
			if (c == '.')
				d->state = SMTPD_DATA_DOT;
			else
				smtpd_data_text(d, &p, c);
			break;
		case SMTPD_DATA_DOT:
			if (c == '\r') {
				d->state = SMTPD_DATA_DOT_CR;
			} else {
				/* Dot-stuffed line: drop the leading dot. */
				d->state = SMTPD_DATA_TEXT;
				smtpd_data_text(d, &p, c);
			}
			break;
		case SMTPD_DATA_DOT_CR:
			if (c == '\n') {
				buf_commit(out, (size_t)(p - start));
				*done_r = true;
				d->state = SMTPD_DATA_BOL;
				return (long)(i + 1);
			}
			/* ".\r" then something else: the dot was stuffing and
			 * the CR is bare. */
			d->state = SMTPD_DATA_CR;
			smtpd_data_text(d, &p, c);
			break;
		default:
			/* Fast path: copy a run of ordinary bytes. */
			if (d->state == SMTPD_DATA_TEXT && c != '\r' &&
			    c != '\n') {
				size_t run = i;

				while (run < len && in[run] != '\r' &&
				    in[run] != '\n')
					run++;
				d->size += run - i;
				if (d->limit > 0 && d->size > d->limit)
					d->too_big = true;
				if (!smtpd_data_discarding(d)) {
					memcpy(p, in + i, run - i);
					p += run - i;
				}
				i = run - 1;
				break;
			}
			smtpd_data_text(d, &p, c);
			break;
		}
	}
	buf_commit(out, (size_t)(p - start));
	return (long)len;
}

int
smtpd_data_bdat(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out)
{
	char *start, *p;
	size_t i;

	if (buf_reserve(out, len + 2) < 0)
		return -1;
	start = p = out->data + out->len;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (d->state == SMTPD_DATA_CR) {
			d->state = SMTPD_DATA_TEXT;
			if (c == '\n') {
				smtpd_data_emit(d, &p, '\n');
				continue;
			}
			/* A CR not before LF is content in BDAT. */
			smtpd_data_emit(d, &p, '\r');
		}
		if (c == '\r')
			d->state = SMTPD_DATA_CR;
		else
			smtpd_data_emit(d, &p, c);
	}
	buf_commit(out, (size_t)(p - start));
	return 0;
}

int
smtpd_data_bdat_end(struct smtpd_data *d, struct buf *out)
{
	char *start, *p;

	if (buf_reserve(out, 1) < 0)
		return -1;
	start = p = out->data + out->len;
	if (d->state == SMTPD_DATA_CR)
		smtpd_data_emit(d, &p, '\r');
	d->state = SMTPD_DATA_TEXT;
	buf_commit(out, (size_t)(p - start));
	return 0;
}

const char *
smtpd_data_error(const struct smtpd_data *d)
{
	if (d->bare_lf)
		return "550 5.5.2 Error: bare <LF> received";
	if (d->bare_cr)
		return "550 5.5.2 Error: bare <CR> received";
	if (d->too_big)
		return "552 5.3.4 Message size exceeds fixed limit";
	return NULL;
}
