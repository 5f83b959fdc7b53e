/*
 * event.c - one small epoll event loop with timers (see event.h).
 *
 * Descriptors: a table indexed by fd holds each registration with a
 * generation number; the epoll data carries fd and generation, so an event
 * that epoll returned for an fd that a callback deleted (or deleted and
 * re-added) earlier in the same round is dropped instead of reaching the
 * wrong callback. epoll is level-triggered: whatever a callback leaves
 * unread is reported again next round. A registration with no events is
 * taken out of epoll altogether, so a hung-up socket that nobody is
 * watching does not make the loop spin on EPOLLHUP.
 *
 * Timers: a binary min-heap of pointers to the owners' struct event_timer,
 * keyed by `when`; each timer knows its heap index, so cancel and re-arm
 * are O(log n). A timer is unarmed before its callback runs, so the
 * callback may re-arm it. One round runs at most as many timers as were
 * in the heap when it started, so a timer re-armed with 0 ms cannot starve
 * the descriptors.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "event.h"
#include "io.h"
#include "log.h"
#include "mem.h"

#define EVENT_BATCH	64

struct event_reg {
	bool used;
	bool in_epoll;		/* events != 0 */
	bool exclusive;		/* EVENT_EXCLUSIVE */
	int events;		/* EVENT_READ|EVENT_WRITE */
	uint32_t generation;
	event_fd_fn fn;
	void *ctx;
};

struct event_loop {
	int epoll_fd;
	struct event_reg *regs;	/* indexed by fd */
	size_t reg_count;
	uint32_t generation;
	struct event_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	bool stopped;
};

struct event_loop *
event_new(void)
{
	struct event_loop *loop = xcalloc(1, sizeof(*loop));

	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		log_fatal("epoll_create1: %m");
	return loop;
}

void
event_free(struct event_loop **loop_r)
{
	struct event_loop *loop = *loop_r;

	if (loop == NULL)
		return;
	close(loop->epoll_fd);
	/* Timers left in the heap belong to their owners; we only forget
	 * them. */
	xfree(&loop->heap);
	xfree(&loop->regs);
	xfree(loop_r);
}

/* Descriptors. */

static uint32_t
event_mask(int events, bool exclusive)
{
	uint32_t mask = 0;

	/* EPOLLEXCLUSIVE takes no EPOLLRDHUP (nor EPOLL_CTL_MOD). */
	if (exclusive)
		return (events & EVENT_READ ? EPOLLIN : 0) |
		    (events & EVENT_WRITE ? EPOLLOUT : 0) | EPOLLEXCLUSIVE;
	if (events & EVENT_READ)
		mask |= EPOLLIN | EPOLLRDHUP;
	if (events & EVENT_WRITE)
		mask |= EPOLLOUT;
	return mask;
}

static int
event_ctl(struct event_loop *loop, int op, int fd, struct event_reg *reg)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = event_mask(reg->events, reg->exclusive);
	ev.data.u64 = (uint64_t)reg->generation << 32 | (uint32_t)fd;
	return epoll_ctl(loop->epoll_fd, op, fd, &ev);
}

static struct event_reg *
event_reg(struct event_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->reg_count ||
	    !loop->regs[fd].used)
		return NULL;
	return &loop->regs[fd];
}

int
event_add(struct event_loop *loop, int fd, int events, event_fd_fn fn,
    void *ctx)
{
	struct event_reg *reg;
	size_t count;

	if (fd < 0 || fn == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (event_reg(loop, fd) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if ((size_t)fd >= loop->reg_count) {
		count = loop->reg_count ? loop->reg_count : 64;
		while (count <= (size_t)fd)
			count *= 2;
		loop->regs = xreallocarray(loop->regs, count,
		    sizeof(*loop->regs));
		memset(loop->regs + loop->reg_count, 0,
		    (count - loop->reg_count) * sizeof(*loop->regs));
		loop->reg_count = count;
	}
	reg = &loop->regs[fd];
	reg->events = events & (EVENT_READ | EVENT_WRITE);
	reg->generation = ++loop->generation;
	reg->fn = fn;
	reg->ctx = ctx;
	reg->in_epoll = false;
	reg->exclusive = (events & EVENT_EXCLUSIVE) != 0;
	if (reg->events != 0) {
		if (event_ctl(loop, EPOLL_CTL_ADD, fd, reg) < 0)
			return -1;
		reg->in_epoll = true;
	}
	reg->used = true;
	return 0;
}

int
event_mod(struct event_loop *loop, int fd, int events)
{
	struct event_reg *reg = event_reg(loop, fd);
	int old;

	if (reg == NULL) {
		errno = ENOENT;
		return -1;
	}
	old = reg->events;
	reg->events = events & (EVENT_READ | EVENT_WRITE);
	/* Callers re-state their interest after every reply: no syscall
	 * when nothing changes. */
	if (reg->in_epoll && reg->events == old)
		return 0;
	if (reg->events == 0) {
		if (reg->in_epoll &&
		    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0) {
			reg->events = old;
			return -1;
		}
		reg->in_epoll = false;
		return 0;
	}
	if (reg->exclusive && reg->in_epoll) {
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0) {
			reg->events = old;
			return -1;
		}
		reg->in_epoll = false;
	}
	if (event_ctl(loop, reg->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    fd, reg) < 0) {
		reg->events = old;
		return -1;
	}
	reg->in_epoll = true;
	return 0;
}

int
event_set(struct event_loop *loop, int fd, int events, event_fd_fn fn,
    void *ctx)
{
	struct event_reg *reg = event_reg(loop, fd);

	if (reg == NULL || fn == NULL) {
		errno = reg == NULL ? ENOENT : EINVAL;
		return -1;
	}
	reg->fn = fn;
	reg->ctx = ctx;
	return event_mod(loop, fd, events);
}

void
event_del(struct event_loop *loop, int fd)
{
	struct event_reg *reg = event_reg(loop, fd);

	if (reg == NULL)
		return;
	/* EBADF when the caller closed fd first: epoll dropped it then. */
	if (reg->in_epoll)
		(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	memset(reg, 0, sizeof(*reg));
}

/* Timers. */

static void
heap_swap(struct event_loop *loop, size_t a, size_t b)
{
	struct event_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_index = a;
	loop->heap[b]->heap_index = b;
}

static void
heap_up(struct event_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->when <= loop->heap[i]->when)
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void
heap_down(struct event_loop *loop, size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1, right = left + 1, least = i;

		if (left < loop->heap_len &&
		    loop->heap[left]->when < loop->heap[least]->when)
			least = left;
		if (right < loop->heap_len &&
		    loop->heap[right]->when < loop->heap[least]->when)
			least = right;
		if (least == i)
			break;
		heap_swap(loop, i, least);
		i = least;
	}
}

static bool
heap_holds(const struct event_loop *loop, const struct event_timer *t)
{
	return t->when != 0 && t->heap_index < loop->heap_len &&
	    loop->heap[t->heap_index] == t;
}

static void
heap_remove(struct event_loop *loop, struct event_timer *t)
{
	size_t i = t->heap_index, last = loop->heap_len - 1;

	if (i != last) {
		heap_swap(loop, i, last);
		loop->heap_len--;
		heap_down(loop, i);
		heap_up(loop, i);
	} else {
		loop->heap_len--;
	}
	t->when = 0;
	t->heap_index = 0;
}

void
event_timer_set(struct event_loop *loop, struct event_timer *t, int64_t ms,
    event_timer_fn fn, void *ctx)
{
	int64_t when;

	if (heap_holds(loop, t))
		heap_remove(loop, t);
	if (ms < 0)
		ms = 0;
	when = io_now_ms();
	when = ms > INT64_MAX - when ? INT64_MAX : when + ms;
	if (when <= 0)
		when = 1;	/* 0 means "not armed" */
	t->when = when;
	t->fn = fn;
	t->ctx = ctx;
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
		loop->heap = xreallocarray(loop->heap, loop->heap_cap,
		    sizeof(*loop->heap));
	}
	t->heap_index = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_index);
}

void
event_timer_cancel(struct event_loop *loop, struct event_timer *t)
{
	if (heap_holds(loop, t))
		heap_remove(loop, t);
	t->when = 0;
}

bool
event_timer_armed(const struct event_timer *t)
{
	return t->when != 0;
}

/* Milliseconds to wait for the earliest timer, capped by max_wait_ms
 * (-1: forever). */
static int
event_wait_ms(const struct event_loop *loop, int max_wait_ms)
{
	int64_t left;

	if (loop->heap_len == 0)
		return max_wait_ms;
	left = loop->heap[0]->when - io_now_ms();
	if (left < 0)
		left = 0;
	if (max_wait_ms >= 0 && left > max_wait_ms)
		left = max_wait_ms;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void
event_run_timers(struct event_loop *loop)
{
	size_t budget = loop->heap_len;
	int64_t now = io_now_ms();

	while (budget-- > 0 && loop->heap_len > 0 && !loop->stopped) {
		struct event_timer *t = loop->heap[0];
		event_timer_fn fn;
		void *ctx;

		if (t->when > now)
			break;
		fn = t->fn;
		ctx = t->ctx;
		heap_remove(loop, t);
		fn(ctx);
	}
}

static int
event_round(struct event_loop *loop, int max_wait_ms)
{
	struct epoll_event events[EVENT_BATCH];
	int count, i;

	count = epoll_wait(loop->epoll_fd, events, EVENT_BATCH,
	    event_wait_ms(loop, max_wait_ms));
	if (count < 0) {
		if (errno != EINTR)
			return -1;
		count = 0;
	}
	for (i = 0; i < count && !loop->stopped; i++) {
		int fd = (int)(events[i].data.u64 & 0xffffffff);
		uint32_t generation = (uint32_t)(events[i].data.u64 >> 32);
		uint32_t got = events[i].events;
		struct event_reg *reg = event_reg(loop, fd);
		int ready = 0;

		/* Deleted (or replaced) by an earlier callback this round. */
		if (reg == NULL || reg->generation != generation ||
		    reg->events == 0)
			continue;
		if (got & (EPOLLIN | EPOLLRDHUP))
			ready |= EVENT_READ;
		if (got & EPOLLOUT)
			ready |= EVENT_WRITE;
		ready &= reg->events;
		if (got & (EPOLLERR | EPOLLHUP)) {
			/* Let a reader see its EOF or error by reading. */
			ready |= EVENT_ERROR | (reg->events & EVENT_READ);
		}
		if (ready == 0)
			continue;
		reg->fn(fd, ready, reg->ctx);
	}
	if (!loop->stopped)
		event_run_timers(loop);
	return 0;
}

int
event_run_once(struct event_loop *loop, int max_wait_ms)
{
	loop->stopped = false;
	return event_round(loop, max_wait_ms);
}

int
event_run(struct event_loop *loop)
{
	loop->stopped = false;
	while (!loop->stopped) {
		if (event_round(loop, -1) < 0) {
			log_error("epoll_wait: %m");
			return -1;
		}
	}
	loop->stopped = false;
	return 0;
}

void
event_stop(struct event_loop *loop)
{
	loop->stopped = true;
}
