/*
 * buf.h - the one growable byte buffer.
 *
 * Binary-safe, always NUL-terminated, size_t lengths with overflow-checked
 * growth, and a hard limit fixed at creation: an append that would pass the
 * limit fails with -1 (errno EMSGSIZE) and leaves the buffer unchanged.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;		/* len bytes, then a NUL */
	size_t len;
	size_t cap;		/* allocated, excluding the NUL */
	size_t limit;		/* len never exceeds this */
};

struct buf *buf_new(size_t limit);
void buf_free(struct buf **b_r);
/* Initialise/release an embedded struct buf. */
void buf_init(struct buf *b, size_t limit);
void buf_release(struct buf *b);

void buf_reset(struct buf *b);
/* Each returns 0, or -1 (EMSGSIZE) when the limit would be passed. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_add_str(struct buf *b, const char *s);
int buf_add_char(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);
/* Shorten to len (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);
/* Make room for n more bytes without changing len; returns 0 or -1. The
 * caller may write into b->data + b->len then call buf_commit(). */
int buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* A copy of the contents as a fresh string. */
char *buf_strdup(const struct buf *b);
/* The contents themselves (b->len bytes, then a NUL), now the caller's
 * to free; b is left empty. Never NULL. */
char *buf_detach(struct buf *b);

#endif
