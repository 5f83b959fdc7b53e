/*
 * local_file_test.c - mbox quoting and the From line.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "local.h"
#include "testing.h"

/* Quote in pieces of every size from 1 to the whole: the result must
 * not depend on where the pieces break. */
static void
test_quote(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "", "" },
		{ "From x\n", ">From x\n" },
		{ "From", "From" },
		{ "Fro\n", "Fro\n" },
		{ "a\nFrom x\nb\n", "a\n>From x\nb\n" },
		{ "a From x\n", "a From x\n" },
		{ ">From x\n", ">From x\n" },
		{ "from x\n", "from x\n" },
		{ "FromX\nFrom \n", "FromX\n>From \n" },
		{ "\nFrom ", "\n>From " },
		{ "Frog\nFFrom x\n", "Frog\nFFrom x\n" },
	};
	size_t i, piece;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);

		for (piece = 1; piece <= (len > 0 ? len : 1); piece++) {
			struct local_mbox_quoter m = { true, 0 };
			struct buf *out = buf_new(1024);
			size_t at;

			for (at = 0; at < len; at += piece) {
				size_t n = len - at < piece ? len - at : piece;

				CHECK(local_mbox_quote(&m, out,
				    cases[i].in + at, n) == 0);
			}
			CHECK(local_mbox_quote(&m, out, NULL, 0) == 0);
			CHECK_STR(out->data, cases[i].want);
			buf_free(&out);
		}
	}
}

static void
test_from_line(void)
{
	char *line = local_mbox_from_line("", 0);

	CHECK(strncmp(line, "From MAILER-DAEMON  ", 20) == 0);
	CHECK(line[strlen(line) - 1] == '\n');
	free(line);
	line = local_mbox_from_line("a@b.test", 0);
	CHECK(strncmp(line, "From a@b.test  ", 15) == 0);
	free(line);
}

int
main(void)
{
	TEST_RUN(test_quote);
	TEST_RUN(test_from_line);
	return TEST_DONE();
}
