/*
 * buf.c - the one growable byte buffer (see buf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

void
buf_init(struct buf *b, size_t limit)
{
	b->cap = limit < 64 ? limit : 64;
	b->data = xmalloc(b->cap + 1);
	b->data[0] = '\0';
	b->len = 0;
	b->limit = limit;
}

void
buf_release(struct buf *b)
{
	xfree(&b->data);
	b->len = b->cap = 0;
}

struct buf *
buf_new(size_t limit)
{
	struct buf *b = xmalloc(sizeof(*b));

	buf_init(b, limit);
	return b;
}

void
buf_free(struct buf **b_r)
{
	if (*b_r == NULL)
		return;
	buf_release(*b_r);
	xfree(b_r);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t want, cap;

	/* The last test keeps room for the NUL: cap + 1 must not wrap. */
	if (n > b->limit || b->len > b->limit - n || b->len + n == SIZE_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > b->limit)
		cap = b->limit;
	b->data = xreallocarray(b->data, cap + 1, 1);
	b->cap = cap;
	return 0;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	buf_commit(b, len);
	return 0;
}

int
buf_add_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_add_char(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *
buf_strdup(const struct buf *b)
{
	return xstrndup(b->data, b->len);
}

char *
buf_detach(struct buf *b)
{
	char *data = b->data != NULL ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return data;
}
