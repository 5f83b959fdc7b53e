/*
 * smtpd_data_test.c - tests for the DATA/BDAT decoder: stuffing, every
 * smuggling variant, line endings split across reads at every position,
 * the size limit.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "smtpd_data.h"
#include "testing.h"

struct data_case {
	const char *in;
	const char *want;	/* content; NULL: not finished */
	const char *error;	/* NULL: accepted */
	size_t rest;		/* bytes left after the end */
};

static const struct data_case data_cases[] = {
	/* Smuggling: none of these ends DATA; the real end is rejected. */
	{ "a\r\n\n.\n", NULL, NULL, 0 },
	{ "a\r\n.\n", NULL, NULL, 0 },
	{ "a\n.\r\n", NULL, NULL, 0 },
	{ "a\r.\r\n", NULL, NULL, 0 },
	{ "a\r\n\r.\r\n", NULL, NULL, 0 },
	{ "a\r\n.\r", NULL, NULL, 0 },
	{ "hello\r\n\n.\nMAIL FROM:<e@b>\r\nevil\r\n.\r\n", "",
	  "550 5.5.2 Error: bare <LF> received", 0 },
	{ "hello\r\n\r\n.\nMAIL FROM:<e@b>\r\n.\r\n", "",
	  "550 5.5.2 Error: bare <LF> received", 0 },
	{ "hello\r\n\n.\r\nMAIL FROM:<e@b>\r\n.\r\n", "",
	  "550 5.5.2 Error: bare <LF> received", 0 },
	{ "hello\r\n\r.\rMAIL FROM:<e@b>\r\n.\r\n", "",
	  "550 5.5.2 Error: bare <CR> received", 0 },
	{ "a\rb\r\n.\r\n", "", "550 5.5.2 Error: bare <CR> received", 0 },
	{ "a\nb\r\n.\r\n", "", "550 5.5.2 Error: bare <LF> received", 0 },
	{ ".\rx\r\n.\r\n", "", "550 5.5.2 Error: bare <CR> received", 0 },
	{ ".\n.\r\n", NULL, NULL, 0 },
	{ ".\n.\r\n.\r\n", "", "550 5.5.2 Error: bare <LF> received", 0 },
	/* Good messages. */
	{ ".\r\n", "", NULL, 0 },
	{ ".\r\nQUIT\r\n", "", NULL, 6 },
	{ "a\r\n.\r\n", "a\n", NULL, 0 },
	{ "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	  "Subject: x\n\nbody\n", NULL, 6 },
	{ "..\r\n.\r\n", ".\n", NULL, 0 },
	{ "..a\r\n...\r\n.\r\n", ".a\n..\n", NULL, 0 },
	{ ".a\r\n.\r\n", "a\n", NULL, 0 },
	{ "a.\r\n.b\r\n.\r\n", "a.\nb\n", NULL, 0 },
	{ "\r\n\r\n.\r\n", "\n\n", NULL, 0 },
	{ "x\r\n.\r\n.\r\n", "x\n", NULL, 3 },
};

/* Feed in as the pieces [0,split) [split,len), then check. */
static void
run_data_case(const struct data_case *c, size_t split, size_t step)
{
	struct smtpd_data d;
	struct buf *out = buf_new(1 << 20);
	size_t len = strlen(c->in), pos = 0;
	bool done = false;

	smtpd_data_init(&d, 0);
	while (pos < len && !done) {
		size_t n = len - pos;
		long used;

		if (pos < split && pos + n > split)
			n = split - pos;
		if (step > 0 && n > step)
			n = step;
		used = smtpd_data_feed(&d, c->in + pos, n, out, &done);
		CHECK(used >= 0);
		if (used < 0)
			break;
		pos += (size_t)used;
	}
	if (c->want == NULL) {
		if (done)
			fprintf(stderr, "case \"%s\" split %zu ended\n",
			    c->in, split);
		CHECK(!done);
	} else {
		if (!done)
			fprintf(stderr, "case \"%s\" split %zu not done\n",
			    c->in, split);
		CHECK(done);
		CHECK_STR(smtpd_data_error(&d), c->error);
		if (c->error == NULL)
			CHECK_STR(out->data, c->want);
		if (len - pos != c->rest)
			fprintf(stderr, "case \"%s\" split %zu rest %zu\n",
			    c->in, split, len - pos);
		CHECK(len - pos == c->rest);
	}
	buf_free(&out);
}

static void
test_data_cases(void)
{
	size_t i, split;

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		size_t len = strlen(data_cases[i].in);

		for (split = 0; split <= len; split++)
			run_data_case(&data_cases[i], split, 0);
		run_data_case(&data_cases[i], 0, 1);	/* byte by byte */
	}
}

static void
test_data_size_limit(void)
{
	struct smtpd_data d;
	struct buf *out = buf_new(1 << 20);
	bool done;
	long used;

	smtpd_data_init(&d, 10);
	used = smtpd_data_feed(&d, "0123456789\r\n", 12, out, &done);
	CHECK(used == 12 && !done);
	CHECK(d.too_big);
	used = smtpd_data_feed(&d, "more\r\n.\r\n", 9, out, &done);
	CHECK(used == 9 && done);
	CHECK_STR(smtpd_data_error(&d), "552 5.3.4 Message size exceeds fixed limit");

	buf_reset(out);
	smtpd_data_init(&d, 10);
	used = smtpd_data_feed(&d, "012345678\r\n.\r\n", 14, out, &done);
	CHECK(used == 14 && done);
	CHECK(smtpd_data_error(&d) == NULL);
	CHECK_STR(out->data, "012345678\n");
	CHECK(d.size == 10);
	buf_free(&out);
}

static void
test_data_out_full(void)
{
	struct smtpd_data d;
	struct buf *out = buf_new(4);
	bool done;

	smtpd_data_init(&d, 0);
	CHECK(smtpd_data_feed(&d, "abcdefgh", 8, out, &done) == -1);
	buf_free(&out);
}

static void
test_bdat(void)
{
	static const struct {
		const char *pieces[4];
		const char *want;
	} cases[] = {
		{ { "a\r", "\nb", NULL }, "a\nb" },
		{ { "a\r", "b\r", NULL }, "a\rb\r" },
		{ { ".\r\n", ".\r\n", NULL }, ".\n.\n" },
		{ { "x\ny\r\n", "", NULL }, "x\ny\n" },
		{ { "\r", "\r", "\n", NULL }, "\r\n" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_data d;
		struct buf *out = buf_new(1024);

		smtpd_data_init(&d, 0);
		for (j = 0; cases[i].pieces[j] != NULL; j++)
			CHECK(smtpd_data_bdat(&d, cases[i].pieces[j],
			    strlen(cases[i].pieces[j]), out) == 0);
		CHECK(smtpd_data_bdat_end(&d, out) == 0);
		CHECK_STR(out->data, cases[i].want);
		CHECK(smtpd_data_error(&d) == NULL);
		buf_free(&out);
	}
}

static void
test_bdat_size_limit(void)
{
	struct smtpd_data d;
	struct buf *out = buf_new(1024);

	smtpd_data_init(&d, 3);
	CHECK(smtpd_data_bdat(&d, "abc", 3, out) == 0);
	CHECK(smtpd_data_error(&d) == NULL);
	CHECK(smtpd_data_bdat(&d, "d", 1, out) == 0);
	CHECK_STR(smtpd_data_error(&d), "552 5.3.4 Message size exceeds fixed limit");
	buf_free(&out);
}

int
main(void)
{
	TEST_RUN(test_data_cases);
	TEST_RUN(test_data_size_limit);
	TEST_RUN(test_data_out_full);
	TEST_RUN(test_bdat);
	TEST_RUN(test_bdat_size_limit);
	return TEST_DONE();
}
