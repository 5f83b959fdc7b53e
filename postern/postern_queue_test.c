/*
 * postern_queue_test.c - the mailq listing format and deferral reasons.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testing.h"
#include "postern.h"

static void
test_reason(void)
{
	static const struct {
		const char *log, *rcpt, *want;
	} cases[] = {
		{ "", "a@x", NULL },			/* empty file */
		{ "rcpt=a@x\nreason=", "a@x", NULL },	/* unfinished */
		{ "=bad\n\n", "a@x", NULL },		/* bad framing */
		/* a reason before any rcpt belongs to nobody */
		{ "reason=orphan\nrcpt=a@x\n\n", "a@x", NULL },
		{ "rcpt=b@x\nreason=other\n\n", "a@x", NULL },
		{ "rcpt=a@x\nreason=4.4.1 no route\n\n", "a@x",
		    "4.4.1 no route" },
		/* one record, several recipients */
		{ "rcpt=b@x\nreason=one\nrcpt=a@x\nreason=two\n\n", "a@x",
		    "two" },
		/* several records */
		{ "rcpt=b@x\nreason=one\n\nrcpt=a@x\nreason=50%25 done\n\n",
		    "a@x", "50% done" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = postern_queue_reason(cases[i].log,
		    strlen(cases[i].log), cases[i].rcpt);

		CHECK_STR(got, cases[i].want);
		free(got);
	}
}

static void
test_trailer(void)
{
	struct buf *out = buf_new(4096);

	postern_queue_trailer(out, 0, 0);
	CHECK_STR(out->data, "Mail queue is empty\n");
	buf_reset(out);
	postern_queue_trailer(out, 100, 1);
	CHECK_STR(out->data, "-- 1 Kbytes in 1 Request.\n");
	buf_reset(out);
	postern_queue_trailer(out, 2049, 3);
	CHECK_STR(out->data, "-- 3 Kbytes in 3 Requests.\n");
	buf_free(&out);
}

/* Line n (from 0) of text, without its newline. */
static void
nth_line(const char *text, int n, char *out, size_t size)
{
	const char *end;
	size_t len;

	for (; n > 0 && text != NULL; n--) {
		text = strchr(text, '\n');
		if (text != NULL)
			text++;
	}
	out[0] = '\0';
	if (text == NULL)
		return;
	end = strchr(text, '\n');
	len = end != NULL ? (size_t)(end - text) : strlen(text);
	if (len >= size)
		len = size - 1;
	memcpy(out, text, len);
	out[len] = '\0';
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (; *text != '\0'; text++)
		if (*text == '\n')
			n++;
	return n;
}

static void
test_format(void)
{
	char *rcpts[] = { "a@example.org", "b@example.org", "c@example.org",
		NULL };
	char *reasons[] = { "connect refused", NULL, "connect refused",
		NULL };
	char *held[] = { "d@example.org", NULL };
	struct postern_queue_entry deferred = { .qid = "0123456789ABCDE",
		.status = ' ', .size = 1234, .arrival = 0,
		.sender = "s@example.com", .rcpts = rcpts,
		.reasons = reasons };
	struct postern_queue_entry hold = { .qid = "0123456789ABCDF",
		.status = '!', .size = 5, .arrival = 0, .sender = "",
		.rcpts = held, .reasons = NULL };
	struct buf *out = buf_new(8192);
	char line[256];
	int n;

	setenv("TZ", "UTC", 1);
	postern_queue_format(out, &deferred);
	n = count_lines(out->data);
	CHECK(n == 6);		/* five lines and the blank separator */
	nth_line(out->data, 0, line, sizeof(line));
	CHECK_STR(line, "0123456789ABCDE    1234 "
	    "Thu Jan  1 00:00:00  s@example.com");
	nth_line(out->data, 1, line, sizeof(line));	/* no reason first */
	CHECK(line[0] == ' ' && strstr(line, "b@") != NULL);
	nth_line(out->data, 2, line, sizeof(line));
	CHECK_STR(line, "(connect refused)");
	nth_line(out->data, 3, line, sizeof(line));
	CHECK_STR(line, "                    "
	    "                     a@example.org");
	nth_line(out->data, 4, line, sizeof(line));	/* reason once */
	CHECK(line[0] == ' ' && strstr(line, "c@") != NULL);
	CHECK(out->len > 2 && strcmp(out->data + out->len - 2, "\n\n") == 0);

	buf_reset(out);
	postern_queue_format(out, &hold);
	CHECK(strncmp(out->data, "0123456789ABCDF!       5 ", 25) == 0);
	CHECK(strstr(out->data, " MAILER-DAEMON\n") != NULL);
	CHECK(strstr(out->data, "(") == NULL);
	buf_free(&out);
}

int
main(void)
{
	TEST_RUN(test_reason);
	TEST_RUN(test_trailer);
	TEST_RUN(test_format);
	return TEST_DONE();
}
