/*
 * event_test.c - tests for lib/event.c with pipes and timers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "event.h"
#include "io.h"
#include "testing.h"

static char order[64];
static size_t order_len;

static void
note(char c)
{
	if (order_len + 1 < sizeof(order)) {
		order[order_len++] = c;
		order[order_len] = '\0';
	}
}

static void
reset_order(void)
{
	order_len = 0;
	order[0] = '\0';
}

struct tctx {
	struct event_loop *loop;
	struct event_timer *timer;
	char mark;
	int rearm;		/* times left to re-arm */
	bool stop;
};

static void
timer_fn(void *ctx)
{
	struct tctx *c = ctx;

	note(c->mark);
	if (c->rearm > 0) {
		c->rearm--;
		CHECK(!event_timer_armed(c->timer));
		event_timer_set(c->loop, c->timer, 1, timer_fn, c);
	}
	if (c->stop)
		event_stop(c->loop);
}

static void
test_timer_order(void)
{
	struct event_loop *loop = event_new();
	struct event_timer t[5] = { { 0 } };
	struct tctx c[5];
	static const int64_t ms[5] = { 30, 10, 20, 0, 40 };
	static const char marks[5] = "dbcae";
	int i;

	reset_order();
	for (i = 0; i < 5; i++) {
		c[i] = (struct tctx){ loop, &t[i], marks[i], 0, i == 4 };
		CHECK(!event_timer_armed(&t[i]));
		event_timer_set(loop, &t[i], ms[i], timer_fn, &c[i]);
		CHECK(event_timer_armed(&t[i]));
	}
	CHECK(event_run(loop) == 0);
	CHECK_STR(order, "abcde");
	for (i = 0; i < 5; i++)
		CHECK(!event_timer_armed(&t[i]));
	event_free(&loop);
	CHECK(loop == NULL);
}

static void
test_timer_cancel(void)
{
	struct event_loop *loop = event_new();
	struct event_timer t[4] = { { 0 } };
	struct tctx c[4];
	static const int64_t ms[4] = { 5, 10, 15, 30 };
	int i;

	reset_order();
	for (i = 0; i < 4; i++) {
		c[i] = (struct tctx){ loop, &t[i], (char)('a' + i), 0, i == 3 };
		event_timer_set(loop, &t[i], ms[i], timer_fn, &c[i]);
	}
	event_timer_cancel(loop, &t[1]);
	event_timer_cancel(loop, &t[1]);	/* twice is harmless */
	CHECK(!event_timer_armed(&t[1]));
	/* Re-arming moves a timer: c goes after d. */
	event_timer_set(loop, &t[2], 50, timer_fn, &c[2]);
	c[3].stop = false;
	c[2].stop = true;
	CHECK(event_run(loop) == 0);
	CHECK_STR(order, "adc");
	event_free(&loop);
}

static void
test_timer_rearm(void)
{
	struct event_loop *loop = event_new();
	struct event_timer t = { 0 };
	struct tctx c = { loop, &t, 'x', 3, false };
	int64_t start = io_now_ms();
	int rounds = 0;

	reset_order();
	event_timer_set(loop, &t, 0, timer_fn, &c);
	while (event_timer_armed(&t) && rounds++ < 100)
		CHECK(event_run_once(loop, 100) == 0);
	CHECK_STR(order, "xxxx");
	CHECK(io_now_ms() - start >= 3);
	event_free(&loop);
}

/* A timer re-armed with 0 ms from its callback runs once per round. */
static int zero_runs;

static void
zero_fn(void *ctx)
{
	struct tctx *c = ctx;

	zero_runs++;
	event_timer_set(c->loop, c->timer, 0, zero_fn, c);
}

static void
test_timer_no_starvation(void)
{
	struct event_loop *loop = event_new();
	struct event_timer t = { 0 };
	struct tctx c = { loop, &t, 'z', 0, false };

	zero_runs = 0;
	event_timer_set(loop, &t, 0, zero_fn, &c);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(zero_runs == 1);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(zero_runs == 2);
	event_timer_cancel(loop, &t);
	event_free(&loop);
}

/* Pipes. */

struct pctx {
	struct event_loop *loop;
	int fd;
	int other_fd;		/* deleted by this callback when >= 0 */
	char mark;
	int calls;
	int last_events;
};

static void
pipe_fn(int fd, int events, void *ctx)
{
	struct pctx *c = ctx;
	char byte;

	CHECK(fd == c->fd);
	c->calls++;
	c->last_events = events;
	note(c->mark);
	if (events & EVENT_READ)
		(void)read(fd, &byte, 1);
	if (c->other_fd >= 0) {
		event_del(c->loop, c->other_fd);
		c->other_fd = -1;
	}
}

static void
test_pipe_read(void)
{
	struct event_loop *loop = event_new();
	int p[2];
	struct pctx c;

	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	c = (struct pctx){ loop, p[0], -1, 'r', 0, 0 };
	CHECK(event_add(loop, p[0], EVENT_READ, pipe_fn, &c) == 0);
	CHECK(event_add(loop, p[0], EVENT_READ, pipe_fn, &c) < 0);
	CHECK(errno == EEXIST);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(c.calls == 0);
	CHECK(write(p[1], "ab", 2) == 2);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 1 && c.last_events == EVENT_READ);
	/* Level-triggered: the byte left unread is reported again. */
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 2);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(c.calls == 2);
	/* Watching nothing: no callbacks, even after a hangup. */
	CHECK(event_mod(loop, p[0], 0) == 0);
	CHECK(write(p[1], "c", 1) == 1);
	close(p[1]);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(c.calls == 2);
	CHECK(event_mod(loop, p[0], EVENT_READ) == 0);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 3);
	/* Writer gone: EOF shows as READ|ERROR. */
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 4);
	CHECK(c.last_events == (EVENT_READ | EVENT_ERROR));
	event_del(loop, p[0]);
	event_del(loop, p[0]);
	CHECK(event_mod(loop, p[0], EVENT_READ) < 0);
	close(p[0]);
	event_free(&loop);
}

/* EVENT_EXCLUSIVE (EPOLLEXCLUSIVE, which epoll refuses to modify): still
 * reported, and pausing and resuming it works. */
static void
test_exclusive(void)
{
	struct event_loop *loop = event_new();
	int p[2];
	struct pctx c;

	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	c = (struct pctx){ loop, p[0], -1, 'x', 0, 0 };
	CHECK(event_add(loop, p[0], EVENT_READ | EVENT_EXCLUSIVE, pipe_fn,
	    &c) == 0);
	CHECK(write(p[1], "ab", 2) == 2);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 1 && c.last_events == EVENT_READ);
	CHECK(event_mod(loop, p[0], 0) == 0);
	CHECK(event_run_once(loop, 0) == 0);
	CHECK(c.calls == 1);
	CHECK(event_mod(loop, p[0], EVENT_READ) == 0);
	CHECK(event_mod(loop, p[0], EVENT_READ) == 0);	/* while watched */
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 2);
	event_del(loop, p[0]);
	close(p[0]);
	close(p[1]);
	event_free(&loop);
}

/* event_set hands a registered descriptor to another callback. */
static void
test_set(void)
{
	struct event_loop *loop = event_new();
	int p[2];
	struct pctx a, b;

	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	a = (struct pctx){ loop, p[0], -1, 'a', 0, 0 };
	b = (struct pctx){ loop, p[0], -1, 'b', 0, 0 };
	CHECK(event_set(loop, p[0], EVENT_READ, pipe_fn, &b) < 0);
	CHECK(errno == ENOENT);
	CHECK(event_add(loop, p[0], 0, pipe_fn, &a) == 0);
	CHECK(event_set(loop, p[0], EVENT_READ, pipe_fn, &b) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(a.calls == 0 && b.calls == 1);
	CHECK(event_set(loop, p[0], EVENT_READ, pipe_fn, &a) == 0);
	CHECK(write(p[1], "y", 1) == 1);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(a.calls == 1 && b.calls == 1);
	event_del(loop, p[0]);
	close(p[0]);
	close(p[1]);
	event_free(&loop);
}

static void
test_pipe_write(void)
{
	struct event_loop *loop = event_new();
	int p[2];
	struct pctx c;

	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	c = (struct pctx){ loop, p[1], -1, 'w', 0, 0 };
	CHECK(event_add(loop, p[1], EVENT_WRITE, pipe_fn, &c) == 0);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(c.calls == 1 && c.last_events == EVENT_WRITE);
	event_del(loop, p[1]);
	close(p[0]);
	close(p[1]);
	event_free(&loop);
}

/* Two readable pipes; whichever callback runs first deletes the other
 * fd, and the other callback must then not run this round. */
static void
test_delete_other(void)
{
	struct event_loop *loop = event_new();
	int a[2], b[2];
	struct pctx ca, cb;

	CHECK(pipe2(a, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(pipe2(b, O_NONBLOCK | O_CLOEXEC) == 0);
	ca = (struct pctx){ loop, a[0], b[0], 'a', 0, 0 };
	cb = (struct pctx){ loop, b[0], a[0], 'b', 0, 0 };
	CHECK(event_add(loop, a[0], EVENT_READ, pipe_fn, &ca) == 0);
	CHECK(event_add(loop, b[0], EVENT_READ, pipe_fn, &cb) == 0);
	CHECK(write(a[1], "x", 1) == 1);
	CHECK(write(b[1], "x", 1) == 1);
	CHECK(event_run_once(loop, 100) == 0);
	CHECK(ca.calls + cb.calls == 1);
	event_del(loop, a[0]);
	event_del(loop, b[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	event_free(&loop);
}

/* Delete an fd, close it, and register a new pipe that gets the same
 * number within one round: the stale event must not reach the new
 * registration. */
struct reuse {
	struct event_loop *loop;
	int victim;
	int replacement[2];
	int victim_calls;
	int replacement_calls;
};

static void
reuse_victim_fn(int fd, int events, void *ctx)
{
	struct reuse *r = ctx;

	r->victim_calls++;
}

static void
reuse_replacement_fn(int fd, int events, void *ctx)
{
	struct reuse *r = ctx;

	r->replacement_calls++;
}

static void
reuse_first_fn(int fd, int events, void *ctx)
{
	struct reuse *r = ctx;
	char byte;

	(void)read(fd, &byte, 1);
	if (r->victim < 0)
		return;
	event_del(r->loop, r->victim);
	close(r->victim);
	r->victim = -1;
	CHECK(pipe2(r->replacement, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(event_add(r->loop, r->replacement[0], EVENT_READ,
	    reuse_replacement_fn, r) == 0);
}

static void
test_fd_reuse(void)
{
	struct event_loop *loop = event_new();
	int first[2], victim[2];
	struct reuse r = { loop, -1, { -1, -1 }, 0, 0 };

	CHECK(pipe2(first, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(pipe2(victim, O_NONBLOCK | O_CLOEXEC) == 0);
	r.victim = victim[0];
	CHECK(event_add(loop, first[0], EVENT_READ, reuse_first_fn, &r) == 0);
	CHECK(event_add(loop, victim[0], EVENT_READ, reuse_victim_fn, &r) == 0);
	CHECK(write(first[1], "x", 1) == 1);
	CHECK(write(victim[1], "x", 1) == 1);
	CHECK(event_run_once(loop, 100) == 0);
	if (r.replacement[0] >= 0) {
		/* The first callback ran first (the usual epoll order). */
		CHECK(r.replacement[0] == victim[0]);
		CHECK(r.victim_calls == 0);
		CHECK(r.replacement_calls == 0);
		event_del(loop, r.replacement[0]);
		close(r.replacement[0]);
		close(r.replacement[1]);
	}
	event_del(loop, first[0]);
	close(first[0]);
	close(first[1]);
	close(victim[1]);
	event_free(&loop);
}

/* A callback that deletes its own fd and stops the loop. */
static void
self_fn(int fd, int events, void *ctx)
{
	struct pctx *c = ctx;

	c->calls++;
	event_del(c->loop, fd);
	event_stop(c->loop);
}

static void
test_stop_and_self_delete(void)
{
	struct event_loop *loop = event_new();
	int p[2];
	struct pctx c;
	struct event_timer t = { 0 };
	struct tctx tc = { loop, &t, 't', 0, false };

	reset_order();
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	c = (struct pctx){ loop, p[0], -1, 's', 0, 0 };
	CHECK(event_add(loop, p[0], EVENT_READ, self_fn, &c) == 0);
	event_timer_set(loop, &t, 10, timer_fn, &tc);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(event_run(loop) == 0);
	CHECK(c.calls == 1);
	CHECK_STR(order, "");
	CHECK(event_timer_armed(&t));
	event_timer_cancel(loop, &t);
	close(p[0]);
	close(p[1]);
	event_free(&loop);
}

/* Many timers set and cancelled in a pseudo-random order keep the heap
 * ordered. */
static int64_t last_when;
static int many_fired;
static int many_bad;
static int64_t many_when[200];

static void
many_fn(void *ctx)
{
	int64_t *when = ctx;

	if (*when < last_when)
		many_bad++;
	last_when = *when;
	many_fired++;
}

static void
test_timer_heap(void)
{
	struct event_loop *loop = event_new();
	enum { N = 200 };
	struct event_timer t[N];
	unsigned seed = 12345;
	int i, armed = 0;

	memset(t, 0, sizeof(t));
	for (i = 0; i < N; i++) {
		seed = seed * 1103515245 + 12345;
		event_timer_set(loop, &t[i], (seed >> 16) % 20, many_fn,
		    &many_when[i]);
		many_when[i] = t[i].when;
	}
	for (i = 0; i < N; i += 3)
		event_timer_cancel(loop, &t[i]);
	for (i = 0; i < N; i++)
		armed += event_timer_armed(&t[i]);
	many_fired = 0;
	many_bad = 0;
	last_when = 0;
	while (many_fired < armed)
		CHECK(event_run_once(loop, 50) == 0);
	CHECK(many_fired == armed);
	CHECK(many_bad == 0);
	for (i = 0; i < N; i++)
		CHECK(!event_timer_armed(&t[i]));
	event_free(&loop);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	alarms++;
}

/* A signal during epoll_wait is not an error. */
static void
test_eintr(void)
{
	struct event_loop *loop = event_new();
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 20000;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(event_run_once(loop, 2000) == 0);
	CHECK(alarms == 1);
	sa.sa_handler = SIG_DFL;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	event_free(&loop);
}

int
main(void)
{
	TEST_RUN(test_timer_order);
	TEST_RUN(test_timer_cancel);
	TEST_RUN(test_timer_rearm);
	TEST_RUN(test_timer_no_starvation);
	TEST_RUN(test_pipe_read);
	TEST_RUN(test_set);
	TEST_RUN(test_pipe_write);
	TEST_RUN(test_exclusive);
	TEST_RUN(test_delete_other);
	TEST_RUN(test_fd_reuse);
	TEST_RUN(test_stop_and_self_delete);
	TEST_RUN(test_timer_heap);
	TEST_RUN(test_eintr);
	return TEST_DONE();
}
