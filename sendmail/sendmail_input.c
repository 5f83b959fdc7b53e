/*
 * sendmail_input.c - reading lines and messages from standard input.
 *
 * Lines end in LF; a CR before the LF is dropped (CRLF -> LF, what the
 * queue file holds). A bare CR elsewhere is content and kept. Lines are
 * delivered in pieces of at most SENDMAIL_LINE_MAX bytes so that memory
 * stays bounded whatever the input; a piece that is not a whole line can
 * never be the ending ".".
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sendmail_input.h"

void
sendmail_reader_init(struct sendmail_reader *r, int fd)
{
	r->fd = fd;
	r->eof = false;
	buf_init(&r->in, 2 * SENDMAIL_LINE_MAX);
}

void
sendmail_reader_release(struct sendmail_reader *r)
{
	buf_release(&r->in);
}

int
sendmail_read_line(struct sendmail_reader *r, struct buf *line,
    bool *complete_r)
{
	char *nl;
	size_t n;

	buf_reset(line);
	for (;;) {
		nl = memchr(r->in.data, '\n', r->in.len);
		if (nl != NULL && (size_t)(nl - r->in.data) <=
		    SENDMAIL_LINE_MAX) {
			n = (size_t)(nl - r->in.data);
			*complete_r = true;
			if (buf_add(line, r->in.data, n > 0 &&
			    r->in.data[n - 1] == '\r' ? n - 1 : n) < 0)
				return -1;
			buf_consume(&r->in, n + 1);
			return 1;
		}
		if (r->in.len > SENDMAIL_LINE_MAX || (r->eof &&
		    r->in.len > 0)) {
			n = r->in.len > SENDMAIL_LINE_MAX ?
			    SENDMAIL_LINE_MAX : r->in.len;
			/* Keep a CR that may precede the LF with it. */
			if (!r->eof && r->in.data[n - 1] == '\r')
				n--;
			/* A last line without newline counts as a line. */
			*complete_r = r->eof && n == r->in.len;
			if (buf_add(line, r->in.data, n) < 0)
				return -1;
			buf_consume(&r->in, n);
			return 1;
		}
		if (r->eof)
			return 0;
		if (buf_reserve(&r->in, SENDMAIL_LINE_MAX) < 0)
			return -1;
		ssize_t got = read(r->fd, r->in.data + r->in.len,
		    SENDMAIL_LINE_MAX);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0)
			r->eof = true;
		else
			buf_commit(&r->in, (size_t)got);
	}
}

void
sendmail_message_init(struct sendmail_message *m, bool dot_ends, bool smtp)
{
	m->dot_ends = dot_ends;
	m->smtp = smtp;
	m->at_line_start = true;
	m->ended = false;
}

int
sendmail_message_line(struct sendmail_message *m, const char *data,
    size_t len, bool complete, struct buf *out)
{
	bool start = m->at_line_start;

	m->at_line_start = complete;
	if (start && complete && m->dot_ends && len == 1 && data[0] == '.') {
		m->ended = true;
		return 1;
	}
	if (start && m->smtp && len > 0 && data[0] == '.') {
		data++;		/* RFC 5321 4.5.2 */
		len--;
	}
	if (buf_add(out, data, len) < 0 ||
	    (complete && buf_add_char(out, '\n') < 0))
		return -1;
	return 0;
}
