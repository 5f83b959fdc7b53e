/*
 * event.h - one small epoll event loop with timers.
 *
 * smtpd, qmgr and the outbound agents serve many sessions per process on
 * non-blocking sockets; every session registers its descriptor here and
 * arms a timer for every timeout, so no session can block another.
 * Single-threaded; callbacks may add, change and remove any fd or timer,
 * including their own.
 */
#ifndef POSTERN_EVENT_H
#define POSTERN_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_READ	1
#define EVENT_WRITE	2
#define EVENT_ERROR	4	/* passed to callbacks: hangup or error */
/* With EVENT_READ at event_add, for a listening socket that several
 * processes watch: a new connection wakes one of them, not all
 * (EPOLLEXCLUSIVE). It stays with the registration. */
#define EVENT_EXCLUSIVE	8

struct event_loop;

typedef void (*event_fd_fn)(int fd, int events, void *ctx);
typedef void (*event_timer_fn)(void *ctx);

/* A timer is embedded in its owner's struct; zero-initialise it. */
struct event_timer {
	int64_t when;		/* io_now_ms() deadline, 0 = not armed */
	size_t heap_index;	/* private */
	event_timer_fn fn;
	void *ctx;
};

struct event_loop *event_new(void);
void event_free(struct event_loop **loop_r);
/* Watch fd for EVENT_READ|EVENT_WRITE. One registration per fd. */
int event_add(struct event_loop *loop, int fd, int events, event_fd_fn fn,
    void *ctx);
/* Change the events watched (0 = none, but stay registered). */
int event_mod(struct event_loop *loop, int fd, int events);
/* Give a registered fd new events and a new callback: a connection
 * changing hands (lib/connpool). An event already reported for it in the
 * current round goes to the new callback. */
int event_set(struct event_loop *loop, int fd, int events, event_fd_fn fn,
    void *ctx);
/* Stop watching fd (before closing it). */
void event_del(struct event_loop *loop, int fd);
/* Arm (or re-arm) t to call fn(ctx) after ms milliseconds. */
void event_timer_set(struct event_loop *loop, struct event_timer *t,
    int64_t ms, event_timer_fn fn, void *ctx);
void event_timer_cancel(struct event_loop *loop, struct event_timer *t);
bool event_timer_armed(const struct event_timer *t);
/* Run until event_stop(); returns 0, or -1 on an epoll error. */
int event_run(struct event_loop *loop);
/* Make event_run() return after the current callback. */
void event_stop(struct event_loop *loop);
/* Run one round: wait at most max_wait_ms for events, run callbacks and
 * due timers. For loops that interleave other work. */
int event_run_once(struct event_loop *loop, int max_wait_ms);

#endif
