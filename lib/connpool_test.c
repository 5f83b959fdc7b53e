/*
 * connpool_test.c - tests for lib/connpool.c with socket pairs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connpool.h"
#include "io.h"
#include "testing.h"

static int calls;

static void
count_fn(int fd, int events, void *ctx)
{
	(void)fd;
	(void)events;
	(void)ctx;
	calls++;
}

/* A connected pair; ours[0] registered with loop, watching nothing. */
static void
pair(struct event_loop *loop, int ours[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, ours) == 0);
	CHECK(event_add(loop, ours[0], 0, count_fn, NULL) == 0);
}

static bool
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void
test_take_by_name_newest_first(void)
{
	struct event_loop *loop = event_new();
	struct connpool *pool = connpool_new(loop, 4, 10000, 60000);
	int a1[2], a2[2], b[2];
	int64_t born;

	pair(loop, a1);
	pair(loop, a2);
	pair(loop, b);
	connpool_put(pool, "private/a", a1[0], io_now_ms());
	connpool_put(pool, "private/b", b[0], io_now_ms());
	connpool_put(pool, "private/a", a2[0], io_now_ms());
	CHECK(connpool_count(pool) == 3);
	CHECK(connpool_take(pool, "private/c", EVENT_READ, count_fn,
	    NULL, &born) == -1);
	CHECK(connpool_take(pool, "private/a", EVENT_READ, count_fn,
	    NULL, &born) == a2[0]);
	CHECK(connpool_take(pool, "private/a", EVENT_READ, count_fn,
	    NULL, &born) == a1[0]);
	CHECK(connpool_take(pool, "private/a", EVENT_READ, count_fn,
	    NULL, &born) == -1);
	CHECK(connpool_count(pool) == 1);
	/* A taken connection belongs to its new callback. */
	calls = 0;
	CHECK(write(a1[1], "x", 1) == 1);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(calls == 1);
	connpool_free(&pool);
	CHECK(!is_open(b[0]));
	CHECK(is_open(a1[0]) && is_open(a2[0]));
	event_del(loop, a1[0]);
	event_del(loop, a2[0]);
	close(a1[0]);
	close(a2[0]);
	close(a1[1]);
	close(a2[1]);
	close(b[1]);
	event_free(&loop);
}

static void
test_peer_close_and_full(void)
{
	struct event_loop *loop = event_new();
	struct connpool *pool = connpool_new(loop, 2, 10000, 60000);
	int a[2], b[2], c[2];
	int64_t born;

	pair(loop, a);
	pair(loop, b);
	pair(loop, c);
	connpool_put(pool, "x", a[0], io_now_ms());
	connpool_put(pool, "x", b[0], io_now_ms());
	connpool_put(pool, "x", c[0], io_now_ms());	/* full: closed */
	CHECK(!is_open(c[0]));
	CHECK(connpool_count(pool) == 2);
	/* The service closes an idle connection: so does the pool. */
	close(a[1]);
	calls = 0;
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(calls == 0);
	CHECK(connpool_count(pool) == 1);
	CHECK(!is_open(a[0]));
	CHECK(connpool_take(pool, "x", EVENT_READ, count_fn, NULL, &born) == b[0]);
	event_del(loop, b[0]);
	close(b[0]);
	close(b[1]);
	close(c[1]);
	connpool_free(&pool);
	event_free(&loop);
}

/* A connection past ttl is closed when given back, not kept. */
static void
test_ttl(void)
{
	struct event_loop *loop = event_new();
	struct connpool *pool = connpool_new(loop, 4, 10000, 1000);
	int a[2], b[2], fd;
	int64_t born = 0;

	pair(loop, a);
	pair(loop, b);
	connpool_put(pool, "x", a[0], io_now_ms() - 1000);
	CHECK(!is_open(a[0]) && connpool_count(pool) == 0);
	connpool_put(pool, "x", b[0], io_now_ms() - 500);
	fd = connpool_take(pool, "x", EVENT_READ, count_fn, NULL, &born);
	CHECK(fd == b[0]);
	CHECK(io_now_ms() - born >= 500 && io_now_ms() - born < 1000);
	event_del(loop, b[0]);
	close(b[0]);
	close(a[1]);
	close(b[1]);
	connpool_free(&pool);
	event_free(&loop);
}

static void
test_idle_expiry(void)
{
	struct event_loop *loop = event_new();
	struct connpool *pool = connpool_new(loop, 4, 50, 60000);
	int a[2], b[2];
	int64_t start = io_now_ms();

	pair(loop, a);
	pair(loop, b);
	connpool_put(pool, "x", a[0], io_now_ms());
	while (io_now_ms() - start < 30)
		CHECK(event_run_once(loop, 10) == 0);
	connpool_put(pool, "x", b[0], io_now_ms());
	/* a expires at 50 ms, b 30 ms later. */
	while (connpool_count(pool) == 2 && io_now_ms() - start < 1000)
		CHECK(event_run_once(loop, 100) == 0);
	CHECK(!is_open(a[0]) && is_open(b[0]));
	CHECK(io_now_ms() - start >= 50);
	while (connpool_count(pool) == 1 && io_now_ms() - start < 1000)
		CHECK(event_run_once(loop, 100) == 0);
	CHECK(connpool_count(pool) == 0 && !is_open(b[0]));
	CHECK(io_now_ms() - start >= 80);
	close(a[1]);
	close(b[1]);
	connpool_free(&pool);
	event_free(&loop);
}

int
main(void)
{
	TEST_RUN(test_take_by_name_newest_first);
	TEST_RUN(test_peer_close_and_full);
	TEST_RUN(test_ttl);
	TEST_RUN(test_idle_expiry);
	return TEST_DONE();
}
