/*
 * anvil_table_test.c - unit tests for anvil's counters, the request
 * checks and the request loop.
 */
#include <string.h>

#include "anvil_request.h"
#include "anvil_server.h"
#include "anvil_table.h"
#include "buf.h"
#include "rec.h"
#include "testing.h"

#define UNIT	60000

static struct anvil_counts
ev(struct anvil_table *t, const char *ident, enum anvil_event e, int64_t now)
{
	struct anvil_counts c;

	anvil_table_update(t, "smtp", ident, e, now, &c);
	return c;
}

static void
test_table_counts(void)
{
	struct anvil_table *t = anvil_table_new(100, UNIT);
	struct anvil_counts c;

	/* Unknown keys: disconnect and lookup create nothing. */
	c = ev(t, "1.2.3.4", ANVIL_DISCONNECT, 1000);
	CHECK(c.count == 0 && anvil_table_size(t) == 0);
	c = ev(t, "1.2.3.4", ANVIL_LOOKUP, 1000);
	CHECK(c.count == 0 && anvil_table_size(t) == 0);

	c = ev(t, "1.2.3.4", ANVIL_CONNECT, 1000);
	CHECK(c.count == 1 && c.rate == 1);
	c = ev(t, "1.2.3.4", ANVIL_CONNECT, 2000);
	CHECK(c.count == 2 && c.rate == 2);
	c = ev(t, "1.2.3.5", ANVIL_CONNECT, 2000);
	CHECK(c.count == 1 && c.rate == 1);
	c = ev(t, "1.2.3.4", ANVIL_DISCONNECT, 3000);
	CHECK(c.count == 1 && c.rate == 2);
	c = ev(t, "1.2.3.4", ANVIL_MESSAGE, 3000);
	CHECK(c.message == 1);
	c = ev(t, "1.2.3.4", ANVIL_RCPT, 3000);
	c = ev(t, "1.2.3.4", ANVIL_RCPT, 3000);
	CHECK(c.rcpt == 2);
	c = ev(t, "1.2.3.4", ANVIL_AUTH, 3000);
	CHECK(c.auth == 1 && c.auth_fail == 0);
	c = ev(t, "1.2.3.4", ANVIL_AUTH_FAIL, 3000);
	CHECK(c.auth_fail == 1);
	c = ev(t, "1.2.3.4", ANVIL_NEWTLS, 3000);
	CHECK(c.newtls == 1);
	c = ev(t, "1.2.3.4", ANVIL_LOOKUP, 3000);
	CHECK(c.count == 1 && c.rate == 2 && c.message == 1 && c.rcpt == 2 &&
	    c.auth == 1 && c.auth_fail == 1 && c.newtls == 1);
	/* Services count apart. */
	anvil_table_update(t, "submission", "1.2.3.4", ANVIL_LOOKUP, 3000, &c);
	CHECK(c.count == 0 && c.rate == 0);
	/* Disconnect never goes below zero. */
	ev(t, "1.2.3.5", ANVIL_DISCONNECT, 3000);
	c = ev(t, "1.2.3.5", ANVIL_DISCONNECT, 3000);
	CHECK(c.count == 0);
	anvil_table_free(&t);
	CHECK(t == NULL);
}

static void
test_table_window(void)
{
	struct anvil_table *t = anvil_table_new(100, UNIT);
	struct anvil_counts c;
	int i;

	for (i = 0; i < 5; i++)
		c = ev(t, "10.0.0.1", ANVIL_CONNECT, 1000 + i);
	CHECK(c.rate == 5 && c.count == 5);
	/* Just before the window ends: still counting. */
	c = ev(t, "10.0.0.1", ANVIL_MESSAGE, 1000 + UNIT - 1);
	CHECK(c.rate == 5 && c.message == 1);
	/* A new window: rates start again, the open sessions stay. */
	c = ev(t, "10.0.0.1", ANVIL_CONNECT, 1000 + UNIT);
	CHECK(c.rate == 1 && c.count == 6 && c.message == 0);
	anvil_table_free(&t);
}

static void
test_table_auth_fail(void)
{
	struct anvil_table *t = anvil_table_new(100, UNIT);
	struct anvil_counts c;
	int i;

	for (i = 0; i < 20; i++)
		c = ev(t, "10.0.0.2", ANVIL_AUTH_FAIL, 1000 + i * 30000);
	/* A failure every 30s: never forgotten, across rate windows. */
	CHECK(c.auth_fail == 20);
	c = ev(t, "10.0.0.2", ANVIL_AUTH, 1000 + 19 * 30000 + UNIT - 1);
	CHECK(c.auth_fail == 20);
	/* A whole unit without a failure: forgotten. */
	c = ev(t, "10.0.0.2", ANVIL_AUTH, 1000 + 19 * 30000 + UNIT);
	CHECK(c.auth_fail == 0);
	anvil_table_free(&t);
}

static void
test_table_expire(void)
{
	struct anvil_table *t = anvil_table_new(100, UNIT);
	struct anvil_counts c;

	ev(t, "a", ANVIL_CONNECT, 1000);	/* stays open */
	ev(t, "b", ANVIL_CONNECT, 1000);
	ev(t, "b", ANVIL_DISCONNECT, 2000);
	ev(t, "c", ANVIL_MESSAGE, 30000);
	CHECK(anvil_table_size(t) == 3);
	CHECK(anvil_table_expire(t, 2000 + UNIT - 1) == 0);
	/* b idle for a unit: gone; a has a session; c is recent. */
	CHECK(anvil_table_expire(t, 2000 + UNIT) == 1);
	CHECK(anvil_table_size(t) == 2);
	c = ev(t, "b", ANVIL_LOOKUP, 2000 + UNIT);
	CHECK(c.rate == 0);
	CHECK(anvil_table_expire(t, 30000 + UNIT) == 1);
	CHECK(anvil_table_size(t) == 1);
	/* A lookup does not keep an entry alive. */
	c = ev(t, "a", ANVIL_DISCONNECT, 40000);
	ev(t, "a", ANVIL_LOOKUP, 40000 + UNIT - 1);
	CHECK(anvil_table_expire(t, 40000 + UNIT) == 1);
	CHECK(anvil_table_size(t) == 0);
	anvil_table_free(&t);
}

static void
test_table_cap(void)
{
	struct anvil_table *t = anvil_table_new(3, UNIT);
	struct anvil_counts c;

	ev(t, "busy", ANVIL_CONNECT, 1000);	/* open session: kept */
	ev(t, "old", ANVIL_MESSAGE, 2000);
	ev(t, "mid", ANVIL_MESSAGE, 3000);
	CHECK(anvil_table_size(t) == 3);
	ev(t, "new", ANVIL_MESSAGE, 4000);
	CHECK(anvil_table_size(t) == 3 && anvil_table_evicted(t) == 1);
	c = ev(t, "old", ANVIL_LOOKUP, 4000);
	CHECK(c.message == 0);		/* the oldest idle one went */
	c = ev(t, "busy", ANVIL_LOOKUP, 4000);
	CHECK(c.count == 1);
	c = ev(t, "mid", ANVIL_LOOKUP, 4000);
	CHECK(c.message == 1);
	/* Every entry busy: the least recently updated goes anyway. */
	ev(t, "mid", ANVIL_CONNECT, 5000);
	ev(t, "new", ANVIL_CONNECT, 5000);
	ev(t, "newer", ANVIL_CONNECT, 6000);
	CHECK(anvil_table_size(t) == 3);
	c = ev(t, "busy", ANVIL_LOOKUP, 6000);
	CHECK(c.count == 0);
	anvil_table_free(&t);

	/* Many keys through a small table. */
	t = anvil_table_new(50, UNIT);
	for (int i = 0; i < 5000; i++) {
		char ident[32];

		snprintf(ident, sizeof(ident), "10.%d.%d.1", i / 256, i % 256);
		ev(t, ident, ANVIL_CONNECT, 1000 + i);
		ev(t, ident, ANVIL_DISCONNECT, 1000 + i);
	}
	CHECK(anvil_table_size(t) == 50);
	anvil_table_free(&t);
}

static void
test_table_stats(void)
{
	struct anvil_table *t = anvil_table_new(10, UNIT);
	struct anvil_stats st;

	ev(t, "1.1.1.1", ANVIL_CONNECT, 1000);
	ev(t, "2.2.2.2", ANVIL_CONNECT, 2000);
	ev(t, "2.2.2.2", ANVIL_CONNECT, 3000);
	ev(t, "2.2.2.2", ANVIL_RCPT, 3000);
	anvil_table_stats(t, &st);
	CHECK(st.count.value == 2);
	CHECK_STR(st.count.key, "smtp:2.2.2.2");
	CHECK(st.count.when == 3000);
	CHECK(st.rate.value == 2 && st.rcpt.value == 1);
	CHECK(st.message.value == 0);
	CHECK(st.cache_size == 2);
	anvil_table_stats(t, &st);
	CHECK(st.count.value == 0 && st.cache_size == 0);
	anvil_table_free(&t);
}

static void
test_request_parse(void)
{
	static const struct {
		const char *in;
		int want;
		enum anvil_event event;
	} cases[] = {
		{ "request=connect\nservice=smtp\nident=1.2.3.4\n\n", -1, 0 },
		{ "proto=anvil/2\nrequest=connect\nservice=smtp\n"
		    "ident=1.2.3.4\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=explode\nservice=smtp\n"
		    "ident=1.2.3.4\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n"
		    "ident=1.2.3.4\nextra=1\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nrequest=connect\n"
		    "service=smtp\nident=1.2.3.4\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n"
		    "ident=\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n"
		    "ident=1.2.3.4 x\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=a%09b\n"
		    "ident=1.2.3.4\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n"
		    "ident=1.2.3.4%0a\n\n", -1, 0 },
		{ "proto=anvil/1\nrequest=connect\nservice=smtp\n"
		    "ident=1.2.3.4\n\n", 0, ANVIL_CONNECT },
		{ "proto=anvil/1\nident=::1\nservice=127.0.0.1:25\n"
		    "request=auth_fail\n\n", 0, ANVIL_AUTH_FAIL },
		{ "proto=anvil/1\nrequest=lookup\nservice=smtp\n"
		    "ident=::ffff:1.2.3.4\n\n", 0, ANVIL_LOOKUP },
	};
	struct rec *r = rec_new();
	struct anvil_request ar;
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(rec_parse(r, cases[i].in, strlen(cases[i].in)) > 0);
		error = NULL;
		CHECK(anvil_request_parse(r, &ar, &error) == cases[i].want);
		if (cases[i].want == 0)
			CHECK(ar.event == cases[i].event);
		else
			CHECK(error != NULL);
	}
	CHECK_STR(anvil_request_name(ANVIL_AUTH_FAIL), "auth_fail");
	rec_free(&r);
}

static void
test_server_input(void)
{
	static const char two[] =
	    "proto=anvil/1\nrequest=connect\nservice=smtp\nident=1.2.3.4\n\n"
	    "proto=anvil/1\nrequest=connect\nservice=smtp\nident=1.2.3.4\n\n"
	    "proto=anvil/1\nrequest=conn";
	struct anvil_table *t = anvil_table_new(10, UNIT);
	struct buf *out = buf_new(1 << 20);
	struct rec *reply = rec_new();
	long used;
	ssize_t n;

	/* Broken framing: the session is closed. */
	CHECK(anvil_server_input(t, "=x\n\n", 4, out, 1000) == -1);
	buf_reset(out);
	/* A bad request is answered and the next one served. */
	used = anvil_server_input(t, "proto=x\n\n", 9, out, 1000);
	CHECK(used == 9);
	n = rec_parse(reply, out->data, out->len);
	CHECK(n > 0);
	CHECK_STR(rec_get(reply, "status"), "error");
	buf_reset(out);
	/* Two complete requests and a partial one. */
	used = anvil_server_input(t, two, strlen(two), out, 1000);
	CHECK(used == (long)(strlen(two) - strlen("proto=anvil/1\nrequest=conn")));
	n = rec_parse(reply, out->data, out->len);
	CHECK(n > 0);
	CHECK_STR(rec_get(reply, "count"), "1");
	buf_consume(out, (size_t)n);
	n = rec_parse(reply, out->data, out->len);
	CHECK(n > 0 && (size_t)n == out->len);
	CHECK_STR(rec_get(reply, "proto"), "anvil/1");
	CHECK_STR(rec_get(reply, "status"), "ok");
	CHECK_STR(rec_get(reply, "count"), "2");
	CHECK_STR(rec_get(reply, "rate"), "2");
	CHECK_STR(rec_get(reply, "auth_fail"), "0");
	rec_free(&reply);
	buf_free(&out);
	anvil_table_free(&t);
}

int
main(void)
{
	TEST_RUN(test_table_counts);
	TEST_RUN(test_table_window);
	TEST_RUN(test_table_auth_fail);
	TEST_RUN(test_table_expire);
	TEST_RUN(test_table_cap);
	TEST_RUN(test_table_stats);
	TEST_RUN(test_request_parse);
	TEST_RUN(test_server_input);
	return TEST_DONE();
}
