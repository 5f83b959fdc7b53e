/*
 * smtp_data.c - the message content in SMTP form, and xtext.
 *
 * Queue files hold content with LF line ends (cleanup converted CRLF).
 * On the wire every line ends CRLF and a line that starts with '.' gets
 * one more (RFC 5321 4.5.2), so the end-of-data mark can never occur
 * inside the message. The state survives chunk boundaries: a chunk may
 * end in the middle of a line, or between a CR and its LF.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "smtp.h"

void
smtp_data_init(struct smtp_data *d)
{
	d->bol = true;
	d->lines = 0;
	d->cr = false;
}

int
smtp_data_encode(struct smtp_data *d, const char *data, size_t len,
    struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (d->bol && c == '.') {
			if (buf_add(out, data + start, i - start) < 0 ||
			    buf_add_char(out, '.') < 0)
				return -1;
			start = i;
		}
		if (c == '\n') {
			/* "\r\n" in the content stays one line end. */
			if (buf_add(out, data + start, i - start) < 0 ||
			    buf_add(out, d->cr ? "\n" : "\r\n",
			    d->cr ? 1 : 2) < 0)
				return -1;
			start = i + 1;
			d->bol = true;
			d->lines++;
		} else {
			d->bol = false;
		}
		d->cr = c == '\r';
	}
	return buf_add(out, data + start, len - start);
}

int
smtp_data_finish(struct smtp_data *d, struct buf *out)
{
	if (!d->bol) {
		if (buf_add(out, d->cr ? "\n" : "\r\n", d->cr ? 1 : 2) < 0)
			return -1;
		d->bol = true;
		d->cr = false;
		d->lines++;
	}
	return buf_add(out, ".\r\n", 3);
}

char *
smtp_xtext_encode(const char *s)
{
	struct buf *b = buf_new(strlen(s) * 3 + 1);
	const unsigned char *p;
	char *result;

	/* xchar is '!'..'~' except '+' and '='; everything else is +HH. */
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= '!' && *p <= '~' && *p != '+' && *p != '=')
			buf_add_char(b, (char)*p);
		else
			buf_printf(b, "+%02X", *p);
	}
	result = buf_strdup(b);
	buf_free(&b);
	return result;
}
