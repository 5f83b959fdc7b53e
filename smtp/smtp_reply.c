/*
 * smtp_reply.c - SMTP replies (RFC 5321 4.2) and EHLO keywords.
 *
 * The input is the remote server's: every line is checked (three digits,
 * then ' ', '-' or the end), a multi-line reply must keep its code, and a
 * reply over SMTP_REPLY_MAX is an error rather than a memory sink. The
 * enhanced status code (RFC 3463) is taken from the first line when its
 * class matches the reply's; otherwise it is X.0.0 as in Postfix.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "smtp.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_MAX);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->first_code = 0;
	r->dsn[0] = '\0';
	r->lines = 0;
	buf_reset(&r->text);
}

void
smtp_reply_release(struct smtp_reply *r)
{
	buf_release(&r->text);
	memset(r, 0, sizeof(*r));
}

/* "X.Y.Z" at text with X the class digit, Y up to 3 digits, Z up to 3
 * (RFC 3463 2), followed by a space or the end. Its length, or 0. */
static size_t
smtp_reply_dsn_length(const char *text, size_t len, char class_digit)
{
	size_t i = 0, digits;
	int part;

	if (len < 5 || text[0] != class_digit || text[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && isdigit((unsigned char)text[i]);
		    i++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && text[i] != ' ')
		return 0;
	return i;
}

int
smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	bool last;
	size_t i;

	if (r->code != 0)	/* complete already: start over */
		smtp_reply_reset(r);
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	/* 1yz does not exist in SMTP (RFC 5321 4.2.1); 3yz answers DATA
	 * and AUTH and is the caller's to judge. */
	if (code < 200 || code > 599)
		return -1;
	if (len == 3)
		last = true;
	else if (line[3] == ' ')
		last = true;
	else if (line[3] == '-')
		last = false;
	else
		return -1;
	if (r->lines > 0) {
		if (r->first_code != code)
			return -1;
		if (buf_add_char(&r->text, '\n') < 0)
			return -1;
	} else {
		const char *text = len > 4 ? line + 4 : "";
		size_t text_len = len > 4 ? len - 4 : 0;
		size_t dsn_len = smtp_reply_dsn_length(text, text_len,
		    line[0]);

		r->first_code = code;
		memset(r->dsn, 0, sizeof(r->dsn));
		if (dsn_len > 0 && dsn_len < sizeof(r->dsn)) {
			memcpy(r->dsn, text, dsn_len);
		} else {
			r->dsn[0] = line[0];
			memcpy(r->dsn + 1, ".0.0", 4);
		}
	}
	for (i = 4; i < len; i++)
		if (line[i] == '\0' || line[i] == '\n')
			return -1;
	if (len > 4 && buf_add(&r->text, line + 4, len - 4) < 0)
		return -1;
	r->lines++;
	if (!last)
		return 0;
	r->code = code;
	return 1;
}

char *
smtp_reply_string(const struct smtp_reply *r)
{
	struct buf *b = buf_new(SMTP_REPLY_MAX + 64);
	char *s;
	size_t i;

	buf_printf(b, "%03d ", r->code);
	for (i = 0; i < r->text.len; i++)
		buf_add_char(b, r->text.data[i] == '\n' ? ' ' :
		    r->text.data[i]);
	/* Trailing blanks make ugly reasons. */
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		buf_truncate(b, b->len - 1);
	s = buf_strdup(b);
	buf_free(&b);
	return s;
}

/* Does word (len bytes) equal keyword, case-insensitively? */
static bool
smtp_word_is(const char *word, size_t len, const char *keyword)
{
	return strlen(keyword) == len && strncasecmp(word, keyword, len) == 0;
}

static void
smtp_ext_auth(struct smtp_ext *ext, const char *p, const char *end)
{
	while (p < end) {
		const char *w;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
			;
		if (smtp_word_is(w, (size_t)(p - w), "PLAIN"))
			ext->auth_plain = true;
		else if (smtp_word_is(w, (size_t)(p - w), "LOGIN"))
			ext->auth_login = true;
	}
}

void
smtp_ext_parse(const struct smtp_reply *r, struct smtp_ext *ext)
{
	const char *line, *end, *text_end = r->text.data + r->text.len;

	memset(ext, 0, sizeof(*ext));
	if (r->text.data == NULL)
		return;
	line = memchr(r->text.data, '\n', r->text.len);
	for (; line != NULL && line < text_end; line = end) {
		const char *word, *p;
		size_t word_len;

		line++;		/* past the '\n' */
		if ((end = memchr(line, '\n', (size_t)(text_end - line))) ==
		    NULL)
			end = text_end;
		for (p = line; p < end && *p != ' ' && *p != '=' &&
		    *p != '\t'; p++)
			;
		word = line;
		word_len = (size_t)(p - line);
		if (smtp_word_is(word, word_len, "PIPELINING")) {
			ext->pipelining = true;
		} else if (smtp_word_is(word, word_len, "8BITMIME")) {
			ext->eightbitmime = true;
		} else if (smtp_word_is(word, word_len, "SMTPUTF8")) {
			ext->smtputf8 = true;
		} else if (smtp_word_is(word, word_len, "DSN")) {
			ext->dsn = true;
		} else if (smtp_word_is(word, word_len, "STARTTLS")) {
			ext->starttls = true;
		} else if (smtp_word_is(word, word_len, "AUTH")) {
			/* "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN". */
			smtp_ext_auth(ext, p < end ? p + 1 : p, end);
		} else if (smtp_word_is(word, word_len, "SIZE")) {
			unsigned long long n = 0;
			bool overflow = false;

			ext->size = true;
			while (p < end && *p == ' ')
				p++;
			for (; p < end && isdigit((unsigned char)*p); p++) {
				if (n > (~0ULL - 9) / 10)
					overflow = true;
				else
					n = n * 10 + (unsigned)(*p - '0');
			}
			/* A limit we cannot represent is no limit. */
			ext->size_max = overflow ? 0 : n;
		}
	}
}
