/*
 * buf_test.c - tests for lib/buf.c: limits, growth, consume, printf.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "testing.h"

static void
test_limits(void)
{
	struct buf *b = buf_new(10);
	struct buf *zero = buf_new(0);

	/* Failures first: each leaves the buffer unchanged. */
	CHECK(buf_add(b, "0123456789x", 11) == -1 && errno == EMSGSIZE);
	CHECK(b->len == 0 && b->data[0] == '\0');
	CHECK(buf_add(b, "01234", 5) == 0);
	CHECK(buf_add(b, "567890", 6) == -1 && errno == EMSGSIZE);
	CHECK_STR(b->data, "01234");
	CHECK(buf_reserve(b, 6) == -1);
	CHECK(buf_reserve(b, SIZE_MAX) == -1);
	CHECK(buf_add(b, "56789", 5) == 0);
	CHECK(b->len == 10 && b->len <= b->limit);
	CHECK(buf_add_char(b, 'x') == -1);
	CHECK(buf_add_str(b, "") == 0);
	CHECK(buf_add(b, NULL, 0) == 0);
	CHECK_STR(b->data, "0123456789");

	CHECK(buf_add_char(zero, 'x') == -1 && zero->len == 0);
	CHECK(buf_add(zero, "", 0) == 0);
	CHECK_STR(zero->data, "");
	buf_free(&zero);
	buf_free(&b);
	CHECK(b == NULL);
	buf_free(&b);		/* NULL is fine */

	/* A limit of SIZE_MAX still refuses what would wrap cap + 1. */
	b = buf_new(SIZE_MAX);
	CHECK(buf_reserve(b, SIZE_MAX) == -1 && errno == EMSGSIZE);
	CHECK(buf_add(b, "ab", 2) == 0);
	CHECK(buf_reserve(b, SIZE_MAX - 2) == -1 && errno == EMSGSIZE);
	buf_free(&b);
}

static void
test_growth(void)
{
	struct buf *b = buf_new(1024 * 1024);
	struct buf embedded;

	for (size_t i = 0; i < 100000; i++)
		CHECK(buf_add_char(b, (char)('a' + i % 26)) == 0);
	CHECK(b->len == 100000 && b->cap >= b->len && b->cap <= b->limit);
	CHECK(b->data[b->len] == '\0');
	for (size_t i = 0; i < 100000; i++)
		if (b->data[i] != (char)('a' + i % 26))
			CHECK(!"content changed while growing");
	/* Growth never passes the limit. */
	buf_free(&b);
	b = buf_new(100);
	CHECK(buf_reserve(b, 100) == 0 && b->cap == 100);
	memset(b->data, 'z', 100);
	buf_commit(b, 100);
	CHECK(b->len == 100 && b->data[100] == '\0');
	buf_free(&b);

	/* Binary data, embedded NULs kept. */
	buf_init(&embedded, 16);
	CHECK(buf_add(&embedded, "a\0b", 3) == 0);
	CHECK(embedded.len == 3 && memcmp(embedded.data, "a\0b", 4) == 0);
	buf_reset(&embedded);
	CHECK(embedded.len == 0 && embedded.data[0] == '\0');
	buf_release(&embedded);
	CHECK(embedded.data == NULL);
}

static void
test_consume_truncate(void)
{
	struct buf *b = buf_new(100);
	char *s;

	buf_add_str(b, "hello world");
	buf_consume(b, 0);
	CHECK_STR(b->data, "hello world");
	buf_consume(b, 6);
	CHECK_STR(b->data, "world");
	CHECK(b->len == 5);
	buf_truncate(b, 10);		/* longer: no change */
	CHECK_STR(b->data, "world");
	buf_truncate(b, 3);
	CHECK_STR(b->data, "wor");
	s = buf_strdup(b);
	CHECK_STR(s, "wor");
	xfree(&s);
	buf_consume(b, 3);
	CHECK(b->len == 0 && b->data[0] == '\0');
	buf_add_str(b, "abc");
	buf_consume(b, 99);
	CHECK(b->len == 0 && b->data[0] == '\0');
	buf_free(&b);
}

static void
test_printf(void)
{
	struct buf *b = buf_new(16);

	CHECK(buf_printf(b, "%s", "01234567890123456") == -1);
	CHECK(errno == EMSGSIZE && b->len == 0 && b->data[0] == '\0');
	CHECK(buf_printf(b, "%d-%s", 42, "x") == 0);
	CHECK_STR(b->data, "42-x");
	CHECK(buf_printf(b, "%012d", 7) == 0);	/* exactly to the limit */
	CHECK(b->len == 16);
	CHECK_STR(b->data, "42-x000000000007");
	CHECK(buf_printf(b, "%s", "") == 0);
	CHECK(buf_printf(b, "x") == -1 && b->len == 16);
	CHECK_STR(b->data, "42-x000000000007");
	buf_free(&b);

	/* Growth through printf across the initial capacity. */
	b = buf_new(4096);
	for (int i = 0; i < 100; i++)
		CHECK(buf_printf(b, "%03d,", i) == 0);
	CHECK(b->len == 400 && strncmp(b->data + 396, "099,", 4) == 0);
	buf_free(&b);
}

static void
test_detach(void)
{
	struct buf *b = buf_new(16);
	char *s;

	s = buf_detach(b);	/* never used: still a string */
	CHECK(s != NULL && s[0] == '\0');
	xfree(&s);
	CHECK(buf_add(b, "ab\0c", 4) == 0);
	s = buf_detach(b);
	CHECK(memcmp(s, "ab\0c", 5) == 0);
	CHECK(b->len == 0);
	CHECK(buf_add_str(b, "xyz") == 0);	/* usable again */
	CHECK(strcmp(b->data, "xyz") == 0);
	xfree(&s);
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_limits);
	TEST_RUN(test_growth);
	TEST_RUN(test_consume_truncate);
	TEST_RUN(test_printf);
	TEST_RUN(test_detach);
	return TEST_DONE();
}
