/*
 * sendmail_args_test.c - tests for the sendmail command line and the
 * standard-input message reader.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "sendmail_args.h"
#include "sendmail_input.h"
#include "sendmail_submit.h"
#include "testing.h"

static char *keep[64];
static size_t kept;

static int
parse(const char *line, struct sendmail_opts *o)
{
	char *copy = xstrdup(line), *argv[32], *save = NULL, *error = NULL;
	int argc = 0, rc;

	for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 31;
	    t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	rc = sendmail_args_parse(argc, argv, o, &error);
	if (rc == 0)
		CHECK(error == NULL);
	else
		CHECK(error != NULL);
	xfree(&error);
	/* The option values point into copy: keep it for the test. */
	if (kept < sizeof(keep) / sizeof(keep[0]))
		keep[kept++] = copy;
	else
		xfree(&copy);
	return rc;
}

static void
test_args(void)
{
	static const struct {
		const char *line;
		int want;
		enum sendmail_mode mode;
		const char *rcpts;
	} cases[] = {
		{ "sendmail -Q", -1, 0, NULL },
		{ "sendmail -bd", -1, 0, NULL },
		{ "sendmail -f", -1, 0, NULL },
		{ "sendmail -R sometimes a@b", -1, 0, NULL },
		{ "sendmail a@b <c@d", -1, 0, NULL },
		{ "sendmail a@b", 0, SENDMAIL_MODE_DELIVER, "a@b" },
		{ "sendmail -oi -t", 0, SENDMAIL_MODE_DELIVER, "" },
		{ "sendmail a@b,<c@d>,,e -i", 0, SENDMAIL_MODE_DELIVER,
		    "a@b c@d e" },
		{ "sendmail -bs", 0, SENDMAIL_MODE_SMTP, "" },
		{ "sendmail -bp", 0, SENDMAIL_MODE_QUEUE_LIST, "" },
		{ "/usr/bin/mailq", 0, SENDMAIL_MODE_QUEUE_LIST, "" },
		{ "newaliases", 0, SENDMAIL_MODE_ALIASES, "" },
		{ "sendmail -bi", 0, SENDMAIL_MODE_ALIASES, "" },
		{ "sendmail -q", 0, SENDMAIL_MODE_FLUSH, "" },
		{ "sendmail -oem -odi -B 8BITMIME x@y", 0,
		    SENDMAIL_MODE_DELIVER, "x@y" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sendmail_opts o;
		struct buf *b = buf_new(4096);

		CHECK(parse(cases[i].line, &o) == cases[i].want);
		if (cases[i].want == 0) {
			CHECK(o.mode == cases[i].mode);
			for (size_t j = 0; j < o.rcpt_count; j++)
				buf_printf(b, "%s%s", j ? " " : "",
				    o.rcpts[j]);
			CHECK_STR(b->data, cases[i].rcpts);
		}
		buf_free(&b);
		sendmail_args_release(&o);
	}
}

static void
test_args_values(void)
{
	struct sendmail_opts o;

	CHECK(parse("sendmail -C /etc/x -t -i -f <me@x> -F Full -N "
	    "success,failure -R hdrs -V env1 -v bob", &o) == 0);
	CHECK_STR(o.config_dir, "/etc/x");
	CHECK(o.extract && o.ignore_dots && o.verbose);
	CHECK_STR(o.sender, "<me@x>");
	CHECK_STR(o.full_name, "Full");
	CHECK_STR(o.notify, "SUCCESS,FAILURE");
	CHECK_STR(o.ret, "HDRS");
	CHECK_STR(o.envid, "env1");
	CHECK(o.rcpt_count == 1);
	sendmail_args_release(&o);
	CHECK(parse("sendmail -c/etc/y -fme@x -oi", &o) == 0);
	CHECK_STR(o.config_dir, "/etc/y");
	CHECK_STR(o.sender, "me@x");
	CHECK(o.ignore_dots);
	sendmail_args_release(&o);
}

static void
test_address(void)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "a\nb@c", NULL },
		{ "<a<b>", NULL },
		{ "<>", "" },
		{ " <a@b> ", "a@b" },
		{ "a@b", "a@b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = sendmail_args_address(cases[i].in);

		CHECK_STR(a, cases[i].want);
		xfree(&a);
	}
}

/* Feed input through a pipe and the message reader. */
static char *
read_message(const char *input, bool dot_ends, bool smtp, bool *ended_r)
{
	struct sendmail_reader r;
	struct sendmail_message m;
	struct buf *line = buf_new(SENDMAIL_LINE_MAX);
	struct buf *out = buf_new(1024 * 1024);
	bool complete;
	char path[] = "/tmp/sendmail_test_XXXXXX", *s;
	int fd = mkstemp(path);

	/* A file, not a pipe: the input may be larger than a pipe holds. */
	CHECK(fd >= 0);
	CHECK(write(fd, input, strlen(input)) == (ssize_t)strlen(input));
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	unlink(path);
	sendmail_reader_init(&r, fd);
	sendmail_message_init(&m, dot_ends, smtp);
	while (sendmail_read_line(&r, line, &complete) > 0)
		if (sendmail_message_line(&m, line->data, line->len,
		    complete, out) != 0)
			break;
	*ended_r = m.ended;
	s = buf_strdup(out);
	sendmail_reader_release(&r);
	close(fd);
	buf_free(&line);
	buf_free(&out);
	return s;
}

static void
test_message(void)
{
	static const struct {
		const char *in;
		bool dot_ends, smtp;
		const char *want;
		bool ended;
	} cases[] = {
		{ "", true, false, "", false },
		{ "a\r\nb\n.\nafter\n", true, false, "a\nb\n", true },
		{ "a\n.\nafter\n", false, false, "a\n.\nafter\n", false },
		{ "a\n..\n.x\n", true, false, "a\n..\n.x\n", false },
		{ "no newline", true, false, "no newline\n", false },
		{ "a\rb\r\n", true, false, "a\rb\n", false },
		{ "..x\r\n.\r\nQUIT\r\n", true, true, ".x\n", true },
		{ " .\n.\n", true, false, " .\n", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ended;
		char *got = read_message(cases[i].in, cases[i].dot_ends,
		    cases[i].smtp, &ended);

		CHECK_STR(got, cases[i].want);
		CHECK(ended == cases[i].ended);
		xfree(&got);
	}
}

static void
test_long_line(void)
{
	struct buf *in = buf_new(4 * SENDMAIL_LINE_MAX);
	bool ended;
	char *got;

	for (size_t i = 0; i < SENDMAIL_LINE_MAX + 10; i++)
		buf_add_char(in, 'x');
	buf_add_str(in, "\r\n.\n");
	got = read_message(in->data, true, false, &ended);
	CHECK(ended);
	CHECK(strlen(got) == SENDMAIL_LINE_MAX + 11);
	CHECK(got[SENDMAIL_LINE_MAX + 9] == 'x');
	CHECK(strchr(got, '\r') == NULL);
	xfree(&got);
	buf_free(&in);
}

static void
test_smtp_verb(void)
{
	const char *arg;
	char *verb = sendmail_smtp_verb("mail FROM:<a@b> SIZE=1", &arg);

	CHECK_STR(verb, "MAIL");
	CHECK_STR(arg, "FROM:<a@b> SIZE=1");
	xfree(&verb);
	verb = sendmail_smtp_verb("QUIT", &arg);
	CHECK_STR(verb, "QUIT");
	CHECK_STR(arg, "");
	xfree(&verb);
}

int
main(void)
{
	TEST_RUN(test_args);
	TEST_RUN(test_args_values);
	TEST_RUN(test_address);
	TEST_RUN(test_message);
	TEST_RUN(test_long_line);
	TEST_RUN(test_smtp_verb);
	for (size_t i = 0; i < kept; i++)
		xfree(&keep[i]);
	return TEST_DONE();
}
