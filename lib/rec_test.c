/*
 * rec_test.c - tests for lib/rec.c: parsing, formatting, chunks, and the
 * blocking record I/O over a socketpair.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "mem.h"
#include "rec.h"
#include "testing.h"

static void
test_parse_table(void)
{
	static const struct {
		const char *in;
		ssize_t want;	/* bytes used, 0 incomplete, -1 error */
		int err;
		size_t count;
	} cases[] = {
		{ "=1\n\n", -1, EPROTO, 0 },		/* empty name */
		{ "a\n\n", -1, EPROTO, 0 },		/* no '=' */
		{ "a b=1\n\n", -1, EPROTO, 0 },		/* bad name */
		{ "a:b=1\n\n", -1, EPROTO, 0 },
		{ "a=%\n\n", -1, EPROTO, 0 },		/* short %XX */
		{ "a=%4\n\n", -1, EPROTO, 0 },
		{ "a=%4g\n\n", -1, EPROTO, 0 },
		{ "a=%00\n\n", -1, EPROTO, 0 },		/* NUL */
		{ "a=x\ry\n\n", -1, EPROTO, 0 },	/* raw control */
		{ "a=1\r\n\r\n", -1, EPROTO, 0 },	/* first line checked early */
		{ "a=1\r\n", -1, EPROTO, 0 },
		{ "a=\x7f\n\n", -1, EPROTO, 0 },
		{ "a=1\nb\n\n", -1, EPROTO, 0 },	/* second line bad */
		{ "", 0, 0, 0 },
		{ "a=1", 0, 0, 0 },
		{ "a=1\n", 0, 0, 0 },			/* not finished */
		{ "a=1\nb=2\n", 0, 0, 0 },
		{ "\n", 1, 0, 0 },			/* empty record */
		{ "a=1\n\n", 5, 0, 1 },
		{ "a=\n\n", 4, 0, 1 },			/* empty value */
		{ "a=1\n\nb=2\n\n", 5, 0, 1 },		/* stops at the end */
		{ "A.b_c-9=x=y\n\n", 13, 0, 1 },
		{ "a=1\nb=%25%0A%7f\xc3\xa9\n\n", 19, 0, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *r = rec_new();
		ssize_t got;

		rec_put(r, "stale", "x");
		errno = 0;
		got = rec_parse(r, cases[i].in, strlen(cases[i].in));
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: got %zd\n", i, got);
		CHECK(got == cases[i].want);
		if (got < 0)
			CHECK(errno == cases[i].err);
		if (got > 0)
			CHECK(r->count == cases[i].count);
		if (got <= 0)
			CHECK(r->count == 0);
		rec_free(&r);
	}
}

static void
test_parse_values(void)
{
	struct rec *r = rec_new();
	const char *in = "proto=x/1\nb=%25%0A%7f\xc3\xa9\nb=second\nc=\n\n";
	long long v;

	CHECK(rec_parse(r, in, strlen(in)) == (ssize_t)strlen(in));
	CHECK_STR(rec_get(r, "proto"), "x/1");
	CHECK_STR(rec_get(r, "b"), "%\n\x7f\xc3\xa9");
	CHECK_STR(rec_get(r, "c"), "");
	CHECK(rec_get(r, "missing") == NULL);
	CHECK(r->count == 4);
	CHECK_STR(r->attrs[2].value, "second");	/* order kept */
	CHECK(rec_get_int(r, "b", 0, 10, &v) == -1);
	rec_free(&r);
	CHECK(r == NULL);
}

static void
test_get_int(void)
{
	static const struct {
		const char *value;
		int want;
		long long got;
	} cases[] = {
		{ "", -1, 0 },
		{ " 1", -1, 0 },
		{ "+1", -1, 0 },
		{ "1 ", -1, 0 },
		{ "1x", -1, 0 },
		{ "-", -1, 0 },
		{ "101", -1, 0 },		/* over max */
		{ "-101", -1, 0 },		/* under min */
		{ "99999999999999999999", -1, 0 },
		{ "0", 0, 0 },
		{ "100", 0, 100 },
		{ "-100", 0, -100 },
		{ "007", 0, 7 },
	};
	struct rec *r = rec_new();
	long long v;

	CHECK(rec_get_int(r, "n", 0, 1, &v) == -1);	/* absent */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		rec_reset(r);
		rec_put(r, "n", cases[i].value);
		CHECK(rec_get_int(r, "n", -100, 100, &v) == cases[i].want);
		if (cases[i].want == 0)
			CHECK(v == cases[i].got);
	}
	rec_reset(r);
	rec_put_int(r, "i", -42);
	rec_put_size(r, "s", (size_t)1 << 40);
	CHECK_STR(rec_get(r, "i"), "-42");
	CHECK_STR(rec_get(r, "s"), "1099511627776");
	rec_free(&r);
}

static void
test_format_round_trip(void)
{
	struct rec *r = rec_new(), *back = rec_new();
	struct buf *out = buf_new(REC_MAX);
	char all[256];

	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	rec_put(r, "proto", "test/1");
	rec_put(r, "all", all);
	rec_put(r, "empty", "");
	rec_put(r, "rcpt", "a@b");
	rec_put(r, "rcpt", "c@d");
	CHECK(rec_format(r, out) == 0);
	CHECK(memcmp(out->data, "proto=test/1\nall=%01%02", 23) == 0);
	CHECK(out->data[out->len - 1] == '\n' &&
	    out->data[out->len - 2] == '\n');
	CHECK(rec_parse(back, out->data, out->len) == (ssize_t)out->len);
	CHECK(back->count == 5);
	CHECK_STR(rec_get(back, "all"), all);
	CHECK_STR(back->attrs[4].value, "c@d");

	/* Bad names are refused and out is left as it was. */
	buf_reset(out);
	buf_add_str(out, "keep");
	rec_reset(r);
	rec_put(r, "ok", "1");
	rec_put(r, "bad name", "1");
	CHECK(rec_format(r, out) == -1 && errno == EINVAL);
	CHECK_STR(out->data, "keep");
	rec_reset(r);
	rec_put(r, "", "1");
	CHECK(rec_format(r, out) == -1 && errno == EINVAL);

	/* An empty record is one newline. */
	buf_reset(out);
	rec_reset(r);
	CHECK(rec_format(r, out) == 0);
	CHECK_STR(out->data, "\n");

	/* A buffer limit is respected. */
	buf_free(&out);
	out = buf_new(8);
	rec_put(r, "name", "valuevalue");
	CHECK(rec_format(r, out) == -1 && errno == EMSGSIZE);
	CHECK(out->len == 0);
	buf_free(&out);
	rec_free(&r);
	rec_free(&back);
}

static void
test_size_limit(void)
{
	struct buf *big = buf_new(2 * REC_MAX);
	struct rec *r = rec_new();
	char *value;

	/* Exactly REC_MAX bytes with the ending: accepted. */
	buf_add_str(big, "a=");
	while (big->len < REC_MAX - 2)
		buf_add_char(big, 'x');
	buf_add_str(big, "\n\n");
	CHECK(big->len == REC_MAX);
	CHECK(rec_parse(r, big->data, big->len) == REC_MAX);
	/* Incomplete below REC_MAX: need more. */
	CHECK(rec_parse(r, big->data, REC_MAX - 1) == 0);
	/* One more byte: refused, whether the end is there or not. */
	buf_truncate(big, REC_MAX - 2);
	buf_add_str(big, "x\n\n");
	CHECK(rec_parse(r, big->data, big->len) == -1 && errno == EMSGSIZE);
	CHECK(rec_parse(r, big->data, REC_MAX) == -1 && errno == EMSGSIZE);

	/* The writer refuses what the reader would. */
	value = xmalloc(REC_MAX);
	memset(value, 'y', REC_MAX - 1);
	value[REC_MAX - 1] = '\0';
	rec_reset(r);
	rec_put(r, "a", value);
	buf_reset(big);
	CHECK(rec_format(r, big) == -1 && errno == EMSGSIZE);
	CHECK(big->len == 0);
	value[REC_MAX - 4] = '\0';	/* "a=" + value + "\n\n" == REC_MAX */
	rec_reset(r);
	rec_put(r, "a", value);
	CHECK(rec_format(r, big) == 0 && big->len == REC_MAX);
	xfree(&value);
	rec_free(&r);
	buf_free(&big);
}

static void
test_chunk_header(void)
{
	static const struct {
		const char *in;
		ssize_t want;
		size_t len;
	} cases[] = {
		{ "\n", -1, 0 },
		{ "+1\n", -1, 0 },
		{ " 1\n", -1, 0 },
		{ "1 \n", -1, 0 },
		{ "-1\n", -1, 0 },
		{ "01\n", -1, 0 },
		{ "00\n", -1, 0 },
		{ "x\n", -1, 0 },
		{ "1048577\n", -1, 0 },		/* over REC_CHUNK_MAX */
		{ "99999999999999999999999", -1, 0 },
		{ "", 0, 0 },
		{ "12", 0, 0 },
		{ "0", 0, 0 },
		{ "0\n", 2, 0 },
		{ "5\nhello", 2, 5 },
		{ "1048576\n", 8, REC_CHUNK_MAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 999;
		ssize_t got = rec_parse_chunk_header(cases[i].in,
		    strlen(cases[i].in), &len);

		if (got != cases[i].want)
			fprintf(stderr, "chunk case %zu: got %zd\n", i, got);
		CHECK(got == cases[i].want);
		if (got < 0)
			CHECK(errno == EPROTO);
		if (got > 0)
			CHECK(len == cases[i].len);
	}
}

static void
test_format_chunk(void)
{
	struct buf *out = buf_new(4 * 1024 * 1024);
	char *big = xcalloc(1, REC_CHUNK_MAX + 1);

	CHECK(rec_format_chunk(out, "hello", 5) == 0);
	CHECK(rec_format_chunk(out, "", 0) == 0);
	CHECK(out->len == 9 && memcmp(out->data, "5\nhello0\n", 9) == 0);
	CHECK(rec_format_chunk(out, big, REC_CHUNK_MAX + 1) == -1);
	CHECK(errno == EMSGSIZE && out->len == 9);
	CHECK(rec_format_chunk(out, big, REC_CHUNK_MAX) == 0);
	xfree(&big);
	buf_free(&out);
}

/* Child side of the conn tests: echo records and chunks back. */
static void
echo_peer(int fd)
{
	struct conn *c = conn_new(fd, 5000);
	struct rec *r = rec_new();
	struct buf *data = buf_new(8 * 1024 * 1024);
	ssize_t n;

	while (rec_read(c, r) == 0) {
		if (rec_write(c, r) < 0)
			_exit(2);
		if (rec_get(r, "chunks") == NULL)
			continue;
		buf_reset(data);
		while ((n = rec_read_chunk(c, data)) > 0)
			;
		if (n < 0)
			_exit(3);
		if (rec_write_chunk(c, data->data, data->len) < 0 ||
		    rec_write_chunk(c, NULL, 0) < 0)
			_exit(4);
	}
	_exit(errno == ECONNRESET ? 0 : 5);
}

static void
test_conn_io(void)
{
	int sv[2], status;
	pid_t pid;
	struct conn *c;
	struct rec *r = rec_new(), *back = rec_new();
	struct buf *data = buf_new(8 * 1024 * 1024);
	size_t total = 3 * REC_CHUNK_MAX + 12345;
	char *content = xmalloc(total);
	ssize_t n;

	for (size_t i = 0; i < total; i++)
		content[i] = (char)(i * 7 + i / 251);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		echo_peer(sv[1]);
	}
	close(sv[1]);
	c = conn_new(sv[0], 5000);

	rec_put(r, "proto", "echo/1");
	rec_put(r, "text", "line\none%two");
	CHECK(rec_write(c, r) == 0);
	CHECK(rec_read(c, back) == 0);
	CHECK_STR(rec_get(back, "text"), "line\none%two");

	rec_put(r, "chunks", "1");
	CHECK(rec_write(c, r) == 0);
	/* Many small chunks, then a large one split by the writer. */
	for (size_t off = 0; off < 1000; off += 10)
		CHECK(rec_write_chunk(c, content + off, 10) == 0);
	CHECK(rec_write_chunk(c, content + 1000, total - 1000) == 0);
	CHECK(rec_write_chunk(c, NULL, 0) == 0);
	CHECK(rec_read(c, back) == 0);
	CHECK_STR(rec_get(back, "chunks"), "1");
	while ((n = rec_read_chunk(c, data)) > 0)
		CHECK(n <= REC_CHUNK_MAX);
	CHECK(n == 0);
	CHECK(data->len == total && memcmp(data->data, content, total) == 0);

	conn_free(&c);
	CHECK(c == NULL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	xfree(&content);
	buf_free(&data);
	rec_free(&r);
	rec_free(&back);
}

/* Raw bytes from the peer: bad framing, oversize, EOF, timeout. */
static void
test_conn_errors(void)
{
	static const struct {
		const char *wire;
		int err;
	} cases[] = {
		{ "bad line\n\n", EPROTO },
		{ "a=1\n", ECONNRESET },		/* EOF mid-record */
		{ "", ECONNRESET },
	};
	struct rec *r = rec_new();
	struct buf *data = buf_new(1024);
	struct conn *c;
	int sv[2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		CHECK(write(sv[1], cases[i].wire, strlen(cases[i].wire)) ==
		    (ssize_t)strlen(cases[i].wire));
		close(sv[1]);
		c = conn_new(sv[0], 2000);
		CHECK(rec_read(c, r) == -1 && errno == cases[i].err);
		conn_free(&c);
	}

	/* Nothing arrives: ETIMEDOUT after the timeout. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	c = conn_new(sv[0], 50);
	CHECK(rec_read(c, r) == -1 && errno == ETIMEDOUT);
	CHECK(rec_read_chunk(c, data) == -1 && errno == ETIMEDOUT);

	/* Bad chunk header; chunk cut short by EOF. */
	CHECK(write(sv[1], "x\n", 2) == 2);
	CHECK(rec_read_chunk(c, data) == -1 && errno == EPROTO);
	conn_free(&c);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "10\nabc", 6) == 6);
	close(sv[1]);
	c = conn_new(sv[0], 2000);
	CHECK(rec_read_chunk(c, data) == -1 && errno == ECONNRESET);
	conn_free(&c);

	/* A record that never ends: EMSGSIZE, not unbounded buffering. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	if (fork() == 0) {
		char line[4096];

		close(sv[0]);
		memset(line, 'a', sizeof(line));
		line[0] = 'x';
		line[1] = '=';
		for (;;)
			if (write(sv[1], line, sizeof(line)) < 0)
				_exit(0);
	}
	close(sv[1]);
	c = conn_new(sv[0], 2000);
	CHECK(rec_read(c, r) == -1 && errno == EMSGSIZE);
	conn_free(&c);
	wait(NULL);
	rec_free(&r);
	buf_free(&data);
}

int
main(void)
{
	TEST_RUN(test_parse_table);
	TEST_RUN(test_parse_values);
	TEST_RUN(test_get_int);
	TEST_RUN(test_format_round_trip);
	TEST_RUN(test_size_limit);
	TEST_RUN(test_chunk_header);
	TEST_RUN(test_format_chunk);
	TEST_RUN(test_conn_io);
	TEST_RUN(test_conn_errors);
	return TEST_DONE();
}
