/*
 * mem.c - allocation that never returns NULL (see mem.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

static void *
check(void *p, size_t size)
{
	if (p == NULL)
		log_fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *
xmalloc(size_t size)
{
	return check(malloc(size ? size : 1), size);
}

void *
xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	/* calloc checks count * size for overflow; report any failure. */
	if (p == NULL)
		log_fatal("out of memory allocating %zu * %zu bytes", count,
		    size);
	return p;
}

void *
xreallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;

	if (size != 0 && count > SIZE_MAX / size)
		log_fatal("allocation overflow: %zu * %zu", count, size);
	total = count * size;
	return check(realloc(ptr, total != 0 ? total : 1), total);
}

char *
xstrdup(const char *s)
{
	return check(strdup(s), strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n), n + 1);
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_fatal("out of memory formatting a string");
	return s;
}

void
xfree(void *ptr_r)
{
	void **p = ptr_r;

	free(*p);
	*p = NULL;
}
