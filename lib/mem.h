/*
 * mem.h - allocation that never returns NULL.
 *
 * Running out of memory is our own resource failure: the call logs and
 * exits, the master restarts the daemon, nothing queued is lost.
 */
#ifndef POSTERN_MEM_H
#define POSTERN_MEM_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
/* Resize; count * size is checked for overflow. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Free *ptr and set it to NULL. */
void xfree(void *ptr_r);

#endif
