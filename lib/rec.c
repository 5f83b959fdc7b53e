/*
 * rec.c - read and write IPC records (see rec.h).
 *
 * Every socket between our processes, and to policy servers, carries
 * name=value lines ended by an empty line. Values that could break the
 * framing ('%', bytes below 0x20, 0x7f) travel as %XX; 8-bit bytes pass
 * through unchanged. A record over REC_MAX bytes is refused.
 *
 * Decisions where rec.h is silent:
 * - The parser is strict, since it never repairs its input: a raw control
 *   byte in a line (CR included), a '%' not followed by two hex digits,
 *   and %00 (which would cut the decoded C string) are EPROTO.
 * - An incomplete record's first line is checked as soon as it is there,
 *   so a peer speaking another protocol fails at once, not at a timeout.
 * - A record with no attributes (a lone "\n") is well-formed; a strict
 *   reader refuses it because it has no "proto".
 * - Chunk lengths are canonical decimal: digits only, no sign, no spaces,
 *   no leading zero except "0" itself.
 * - rec_format() refuses (EINVAL) a name that rec_parse() would refuse,
 *   and (EMSGSIZE) a record longer than REC_MAX, leaving out unchanged.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rec.h"

struct rec *
rec_new(void)
{
	return xcalloc(1, sizeof(struct rec));
}

void
rec_reset(struct rec *r)
{
	for (size_t i = 0; i < r->count; i++) {
		xfree(&r->attrs[i].name);
		xfree(&r->attrs[i].value);
	}
	r->count = 0;
}

void
rec_free(struct rec **r_r)
{
	struct rec *r = *r_r;

	if (r == NULL)
		return;
	rec_reset(r);
	xfree(&r->attrs);
	xfree(r_r);
}

/* Append an attribute, taking ownership of both strings. */
static void
rec_put_owned(struct rec *r, char *name, char *value)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;

		r->attrs = xreallocarray(r->attrs, cap, sizeof(*r->attrs));
		r->cap = cap;
	}
	r->attrs[r->count].name = name;
	r->attrs[r->count].value = value;
	r->count++;
}

void
rec_put(struct rec *r, const char *name, const char *value)
{
	rec_put_owned(r, xstrdup(name), xstrdup(value));
}

void
rec_put_int(struct rec *r, const char *name, long long value)
{
	rec_put_owned(r, xstrdup(name), xasprintf("%lld", value));
}

void
rec_put_size(struct rec *r, const char *name, size_t value)
{
	rec_put_owned(r, xstrdup(name), xasprintf("%zu", value));
}

const char *
rec_get(const struct rec *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->attrs[i].name, name) == 0)
			return r->attrs[i].value;
	return NULL;
}

int
rec_get_int(const struct rec *r, const char *name, long long min,
    long long max, long long *value_r)
{
	const char *s = rec_get(r, name), *p;
	char *end;
	long long v;

	if (s == NULL)
		return -1;
	/* strtoll accepts spaces and '+'; a wire number is digits only. */
	p = *s == '-' ? s + 1 : s;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*value_r = v;
	return 0;
}

static bool
rec_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool
rec_name_valid(const char *name)
{
	if (*name == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!rec_name_char((unsigned char)*p))
			return false;
	return true;
}

static bool
rec_needs_encoding(unsigned char c)
{
	return c == '%' || c < 0x20 || c == 0x7f;
}

int
rec_format(const struct rec *r, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = out->len;

	for (size_t i = 0; i < r->count; i++) {
		const char *name = r->attrs[i].name;
		const unsigned char *v =
		    (const unsigned char *)r->attrs[i].value;

		if (!rec_name_valid(name)) {
			errno = EINVAL;
			goto fail;
		}
		if (buf_add_str(out, name) < 0 || buf_add_char(out, '=') < 0)
			goto fail;
		for (; *v != '\0'; v++) {
			char enc[3] = { '%', hex[*v >> 4], hex[*v & 15] };
			int rc = rec_needs_encoding(*v) ?
			    buf_add(out, enc, 3) : buf_add_char(out, (char)*v);

			if (rc < 0)
				goto fail;
		}
		if (buf_add_char(out, '\n') < 0)
			goto fail;
		if (out->len - start > REC_MAX) {
			errno = EMSGSIZE;
			goto fail;
		}
	}
	if (buf_add_char(out, '\n') < 0)
		goto fail;
	if (out->len - start > REC_MAX) {
		errno = EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

static int
rec_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode value[0..len) into a fresh string, or NULL when malformed. */
static char *
rec_decode(const char *value, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c == 0x7f)
			goto fail;
		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				goto fail;
			hi = rec_hex_value((unsigned char)value[i + 1]);
			lo = rec_hex_value((unsigned char)value[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto fail;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
fail:
	xfree(&out);
	return NULL;
}

/* Parse one line (without its newline) and append it to r: 0 or -1. */
static int
rec_parse_line(struct rec *r, const char *line, size_t line_len)
{
	size_t name_len = 0;
	char *value;

	while (name_len < line_len &&
	    rec_name_char((unsigned char)line[name_len]))
		name_len++;
	if (name_len == 0 || name_len == line_len || line[name_len] != '=')
		return -1;
	value = rec_decode(line + name_len + 1, line_len - name_len - 1);
	if (value == NULL)
		return -1;
	rec_put_owned(r, xstrndup(line, name_len), value);
	return 0;
}

/* Where the record in data[0..len) ends (bytes used), or 0. */
static size_t
rec_find_end(const char *data, size_t len)
{
	const char *p;

	if (len == 0)
		return 0;
	if (data[0] == '\n')
		return 1;
	p = memmem(data, len, "\n\n", 2);
	return p == NULL ? 0 : (size_t)(p - data) + 2;
}

ssize_t
rec_parse(struct rec *r, const char *data, size_t len)
{
	size_t used = rec_find_end(data, len), pos = 0;

	rec_reset(r);
	if (used == 0) {
		const char *nl;

		if (len >= REC_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		/*
		 * Check the first line as soon as it is complete, so that a
		 * peer speaking another protocol (or CRLF) is refused at
		 * once rather than after a timeout. Later lines wait for the
		 * end: rechecking them on every call would be quadratic.
		 */
		nl = memchr(data, '\n', len);
		if (nl != NULL && rec_parse_line(r, data,
		    (size_t)(nl - data)) < 0)
			goto bad;
		rec_reset(r);
		return 0;
	}
	if (used > REC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	while (pos < used - 1) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', used - pos);
		size_t line_len = (size_t)(nl - line);

		if (rec_parse_line(r, line, line_len) < 0)
			goto bad;
		pos += line_len + 1;
	}
	return (ssize_t)used;
bad:
	rec_reset(r);
	errno = EPROTO;
	return -1;
}

int
rec_format_chunk(struct buf *out, const void *data, size_t len)
{
	size_t start = out->len;

	if (len > REC_CHUNK_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (buf_printf(out, "%zu\n", len) < 0 ||
	    buf_add(out, data, len) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

ssize_t
rec_parse_chunk_header(const char *data, size_t len, size_t *chunk_len_r)
{
	size_t value = 0, i;

	for (i = 0; i < len && data[i] != '\n'; i++) {
		if (data[i] < '0' || data[i] > '9')
			goto bad;
		if (i == 1 && data[0] == '0')
			goto bad;	/* leading zero */
		value = value * 10 + (size_t)(data[i] - '0');
		if (value > REC_CHUNK_MAX)
			goto bad;
	}
	if (i == len)
		return 0;
	if (i == 0)
		goto bad;
	*chunk_len_r = value;
	return (ssize_t)i + 1;
bad:
	errno = EPROTO;
	return -1;
}

int
rec_read(struct conn *c, struct rec *r)
{
	size_t scanned = 0;
	bool first_line_seen = false;

	for (;;) {
		bool first_line = !first_line_seen &&
		    memchr(c->in.data, '\n', c->in.len) != NULL;
		ssize_t n;

		/*
		 * Call the parser only once the first line or the end is in
		 * the buffer, so that a record arriving in many small reads
		 * is not rescanned from its start after each one.
		 */
		if (first_line)
			first_line_seen = true;
		if (first_line || memmem(c->in.data + scanned,
		    c->in.len - scanned, "\n\n", 2) != NULL ||
		    c->in.len >= REC_MAX) {
			n = rec_parse(r, c->in.data, c->in.len);
			if (n < 0)
				return -1;
			if (n > 0) {
				buf_consume(&c->in, (size_t)n);
				return 0;
			}
		}
		scanned = c->in.len > 0 ? c->in.len - 1 : 0;
		n = conn_fill(c);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
	}
}

int
rec_queue(struct conn *c, const struct rec *r)
{
	return rec_format(r, &c->out);
}

int
rec_write(struct conn *c, const struct rec *r)
{
	if (rec_queue(c, r) < 0)
		return -1;
	return conn_flush(c);	/* with what was queued before, in one */
}

ssize_t
rec_read_chunk(struct conn *c, struct buf *out)
{
	size_t chunk_len;
	ssize_t n;

	for (;;) {
		n = rec_parse_chunk_header(c->in.data, c->in.len, &chunk_len);
		if (n < 0)
			return -1;
		if (n > 0)
			break;
		n = conn_fill(c);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
	}
	buf_consume(&c->in, (size_t)n);
	if (chunk_len > 0 && conn_read_exact(c, chunk_len, out) < 0)
		return -1;
	return (ssize_t)chunk_len;
}

int
rec_write_chunk(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	char header[32];

	if (len == 0) {
		if (conn_write(c, "0\n", 2) < 0)
			return -1;
		return conn_flush(c);
	}
	/* More than one chunk's worth is split; the reader cannot tell. */
	while (len > 0) {
		size_t n = len > REC_CHUNK_MAX ? REC_CHUNK_MAX : len;
		int hl = snprintf(header, sizeof(header), "%zu\n", n);

		if (conn_write(c, header, (size_t)hl) < 0 ||
		    conn_write(c, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}
