/*
 * postern_queue_test.c - the mailq listing format, deferral reasons and
 * qmgr's list records (the listing for users who cannot read the queue).
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

#define HEAD "proto=qmgr/1\nqid=0ABC\nqueue=deferred\nsize=10\n" \
	"arrival=0\nsender=s@x\n"

static void
test_from_rec(void)
{
	static const char *const bad[] = {
		"x=1\n\n",					/* no proto */
		"qid=0ABC\nproto=qmgr/1\nqueue=hold\nsize=1\n"
		    "arrival=0\nsender=\n\n",		/* proto not first */
		"proto=qmgr/2\nqid=0ABC\nqueue=hold\nsize=1\n"
		    "arrival=0\nsender=\n\n",
		"proto=qmgr/1\nqueue=hold\nsize=1\narrival=0\n"
		    "sender=\n\n",				/* no qid */
		"proto=qmgr/1\nqid=../x\nqueue=hold\nsize=1\n"
		    "arrival=0\nsender=\n\n",
		"proto=qmgr/1\nqid=0ABC\nsize=1\narrival=0\n"
		    "sender=\n\n",				/* no queue */
		"proto=qmgr/1\nqid=0ABC\nqueue=corrupt\nsize=1\n"
		    "arrival=0\nsender=\n\n",
		"proto=qmgr/1\nqid=0ABC\nqueue=hold\nsize=1\n"
		    "arrival=0\n\n",				/* no sender */
		HEAD "size=2\n\n",				/* twice */
		HEAD "qid=0ABD\n\n",
		HEAD "sender=t@x\n\n",
		HEAD "color=red\n\n",			/* unknown */
		HEAD "status=ok\n\n",
		HEAD "reason=before any rcpt\n\n",
		HEAD "rcpt=a@x\nreason=one\nreason=two\n\n",
		HEAD "omitted=\n\n",
		HEAD "omitted=-1\n\n",
		HEAD "omitted=1x\n\n",
		"proto=qmgr/1\nqid=0ABC\nqueue=hold\nsize=-1\n"
		    "arrival=0\nsender=\n\n",
		"proto=qmgr/1\nqid=0ABC\nqueue=hold\nsize=1\n"
		    "arrival=99999999999999999999\nsender=\n\n",
	};
	static const struct {
		const char *record;
		char status;
		size_t rcpts, omitted;
	} good[] = {
		{ HEAD "\n", ' ', 0, 0 },
		{ HEAD "rcpt=a@x\nrcpt=b@x\nreason=r\nomitted=7\n\n", ' ',
		    2, 7 },
		{ "proto=qmgr/1\nqid=0ABC\nqueue=active\nsize=0\n"
		    "arrival=0\nsender=\nrcpt=a@x\n\n", '*', 1, 0 },
		{ "proto=qmgr/1\nqid=0ABC\nqueue=hold\nsize=0\n"
		    "arrival=0\nsender=\nrcpt=a@x\n\n", '!', 1, 0 },
		{ "proto=qmgr/1\nsender=\narrival=0\nqueue=incoming\n"
		    "size=0\nqid=0ABC\n\n", ' ', 0, 0 },	/* any order */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec *r = rec_new();
		struct postern_queue_entry e;

		CHECK(rec_parse(r, bad[i], strlen(bad[i])) > 0);
		if (postern_queue_entry_from_rec(r, &e) == 0) {
			CHECK_STR(bad[i], "refused");
			postern_queue_entry_release(&e);
		}
		CHECK(e.rcpts == NULL && e.reasons == NULL);
		rec_free(&r);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rec *r = rec_new();
		struct postern_queue_entry e;
		size_t n = 0;

		CHECK(rec_parse(r, good[i].record,
		    strlen(good[i].record)) > 0);
		if (postern_queue_entry_from_rec(r, &e) < 0) {
			CHECK_STR(good[i].record, "accepted");
			rec_free(&r);
			continue;
		}
		CHECK_STR(e.qid, "0ABC");
		CHECK(e.status == good[i].status);
		CHECK(e.omitted == good[i].omitted);
		while (e.rcpts[n] != NULL)
			n++;
		CHECK(n == good[i].rcpts);
		postern_queue_entry_release(&e);
		CHECK(e.rcpts == NULL && e.reasons == NULL);
		rec_free(&r);
	}
}

/* qmgr's record and the direct listing give the same text. */
static void
test_from_rec_format(void)
{
	static const char record[] = "proto=qmgr/1\nqid=0123456789ABCDE\n"
	    "queue=deferred\nsize=1234\narrival=0\nsender=s@example.com\n"
	    "rcpt=a@example.org\nreason=connect refused\n"
	    "rcpt=b@example.org\nrcpt=c@example.org\n"
	    "reason=connect refused\n\n";
	char *rcpts[] = { "a@example.org", "b@example.org", "c@example.org",
		NULL };
	char *reasons[] = { "connect refused", NULL, "connect refused",
		NULL };
	struct postern_queue_entry direct = { .qid = "0123456789ABCDE",
		.status = ' ', .size = 1234, .arrival = 0,
		.sender = "s@example.com", .rcpts = rcpts,
		.reasons = reasons };
	struct postern_queue_entry e;
	struct buf *a = buf_new(8192), *b = buf_new(8192);
	struct rec *r = rec_new();

	setenv("TZ", "UTC", 1);
	CHECK(rec_parse(r, record, strlen(record)) > 0);
	CHECK(postern_queue_entry_from_rec(r, &e) == 0);
	postern_queue_format(a, &direct);
	postern_queue_format(b, &e);
	CHECK_STR(b->data, a->data);
	postern_queue_entry_release(&e);
	rec_free(&r);
	buf_free(&a);
	buf_free(&b);
}

/* Omitted recipients are counted; control characters become '?'. */
static void
test_format_omitted_and_controls(void)
{
	char *rcpts[] = { "a\033[2J@x", NULL };
	char *reasons[] = { "bad\r\nline", NULL };
	struct postern_queue_entry e = { .qid = "0ABC", .status = ' ',
		.size = 1, .arrival = 0, .sender = "s\n@x", .rcpts = rcpts,
		.reasons = reasons, .omitted = 3 };
	struct buf *out = buf_new(8192);

	setenv("TZ", "UTC", 1);
	postern_queue_format(out, &e);
	CHECK(strstr(out->data, " s?@x\n") != NULL);
	CHECK(strstr(out->data, "\n(bad??line)\n") != NULL);
	CHECK(strstr(out->data, " a?[2J@x\n") != NULL);
	CHECK(strstr(out->data, "\n                    "
	    "                     (3 more recipients not shown)\n\n")
	    != NULL);
	buf_free(&out);
}

int
main(void)
{
	TEST_RUN(test_reason);
	TEST_RUN(test_trailer);
	TEST_RUN(test_format);
	TEST_RUN(test_from_rec);
	TEST_RUN(test_from_rec_format);
	TEST_RUN(test_format_omitted_and_controls);
	return TEST_DONE();
}
