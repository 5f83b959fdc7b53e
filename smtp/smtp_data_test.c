/*
 * smtp_data_test.c - tests for smtp_data.c: CRLF and dot-stuffing across
 * chunk boundaries, xtext.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "testing.h"

/* Encode in pieces of at most step bytes, then finish. */
static char *
encode(const char *in, size_t step)
{
	struct smtp_data d;
	struct buf *out = buf_new(4096);
	size_t len = strlen(in), off;
	char *s;

	smtp_data_init(&d);
	for (off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		CHECK(smtp_data_encode(&d, in + off, n, out) == 0);
	}
	CHECK(smtp_data_finish(&d, out) == 0);
	s = buf_strdup(out);
	buf_free(&out);
	return s;
}

static void
test_encode_table(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a", "a\r\n.\r\n" },			/* no final LF */
		{ "a\n", "a\r\n.\r\n" },
		{ ".\n", "..\r\n.\r\n" },		/* a lone dot */
		{ "a\n.b\n..c\n", "a\r\n..b\r\n...c\r\n.\r\n" },
		{ "a.b\n", "a.b\r\n.\r\n" },		/* not at bol */
		{ "a\r\nb\n", "a\r\nb\r\n.\r\n" },	/* CRLF kept single */
		{ "a\rb\n", "a\rb\r\n.\r\n" },		/* bare CR kept */
		{ "\n\n", "\r\n\r\n.\r\n" },
		{ "x\n.", "x\r\n..\r\n.\r\n" },
	};
	size_t i, step;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Every chunking gives the same bytes. */
		for (step = 1; step <= 4; step++) {
			char *got = encode(cases[i].in, step);

			CHECK_STR(got, cases[i].want);
			free(got);
		}
	}
}

static void
test_encode_full(void)
{
	struct smtp_data d;
	struct buf *out = buf_new(3);

	smtp_data_init(&d);
	CHECK(smtp_data_encode(&d, "abcdef\n", 7, out) == -1);
	buf_free(&out);
}

static void
test_xtext(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a+b=c", "a+2Bb+3Dc" },
		{ "a b", "a+20b" },
		{ "\xc3\xa9", "+C3+A9" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = smtp_xtext_encode(cases[i].in);

		CHECK_STR(got, cases[i].want);
		free(got);
	}
}

int
main(void)
{
	TEST_RUN(test_encode_table);
	TEST_RUN(test_encode_full);
	TEST_RUN(test_xtext);
	return TEST_DONE();
}
