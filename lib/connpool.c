/*
 * connpool.c - idle connections to local services (see connpool.h).
 *
 * A handful of entries in one array, oldest first, so that expiry looks
 * only at the front and one timer serves the whole pool. Lookups are
 * linear: the pool is small and a lookup costs less than the connect it
 * saves.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connpool.h"
#include "io.h"
#include "mem.h"

struct connpool_entry {
	char *name;
	int fd;
	int64_t born;
	int64_t since;
};

struct connpool {
	struct event_loop *loop;
	struct connpool_entry *entries;	/* oldest first */
	size_t count;
	size_t max;
	int64_t idle_ms;
	int64_t ttl_ms;
	struct event_timer timer;
};

struct connpool *
connpool_new(struct event_loop *loop, size_t max, int64_t idle_ms,
    int64_t ttl_ms)
{
	struct connpool *pool = xcalloc(1, sizeof(*pool));

	pool->loop = loop;
	pool->max = max;
	pool->idle_ms = idle_ms;
	pool->ttl_ms = ttl_ms;
	pool->entries = xcalloc(max > 0 ? max : 1, sizeof(*pool->entries));
	return pool;
}

struct connpool *
connpool_new_ipc(struct event_loop *loop, size_t max)
{
	return connpool_new(loop, max, config_get_time("ipc_idle") * 1000,
	    config_get_time("ipc_ttl") * 1000);
}

/* Forget entry i; close its connection when close_fd. */
static void
connpool_remove(struct connpool *pool, size_t i, bool close_fd)
{
	struct connpool_entry *e = &pool->entries[i];

	if (close_fd) {
		event_del(pool->loop, e->fd);
		close(e->fd);
	}
	free(e->name);
	memmove(e, e + 1, (pool->count - i - 1) * sizeof(*e));
	pool->count--;
	if (pool->count == 0)
		event_timer_cancel(pool->loop, &pool->timer);
}

void
connpool_free(struct connpool **pool_r)
{
	struct connpool *pool = *pool_r;

	if (pool == NULL)
		return;
	while (pool->count > 0)
		connpool_remove(pool, pool->count - 1, true);
	event_timer_cancel(pool->loop, &pool->timer);
	free(pool->entries);
	xfree(pool_r);
}

/* An idle connection is readable: the service closed it (or talks out
 * of turn, which is no better). */
static void
connpool_event(int fd, int events, void *ctx)
{
	struct connpool *pool = ctx;

	(void)events;
	for (size_t i = 0; i < pool->count; i++)
		if (pool->entries[i].fd == fd) {
			connpool_remove(pool, i, true);
			return;
		}
}

static void
connpool_expire(void *ctx)
{
	struct connpool *pool = ctx;
	int64_t now = io_now_ms();

	while (pool->count > 0 &&
	    now - pool->entries[0].since >= pool->idle_ms)
		connpool_remove(pool, 0, true);
	if (pool->count > 0)
		event_timer_set(pool->loop, &pool->timer,
		    pool->entries[0].since + pool->idle_ms - now,
		    connpool_expire, pool);
}

void
connpool_put(struct connpool *pool, const char *name, int fd,
    int64_t born)
{
	struct connpool_entry *e;
	int64_t now = io_now_ms();

	if (pool->count == pool->max || pool->idle_ms <= 0 ||
	    now - born >= pool->ttl_ms ||
	    event_set(pool->loop, fd, EVENT_READ, connpool_event, pool) < 0) {
		event_del(pool->loop, fd);
		close(fd);
		return;
	}
	e = &pool->entries[pool->count++];
	e->name = xstrdup(name);
	e->fd = fd;
	e->born = born;
	e->since = now;
	if (!event_timer_armed(&pool->timer))
		event_timer_set(pool->loop, &pool->timer, pool->idle_ms,
		    connpool_expire, pool);
}

int
connpool_take(struct connpool *pool, const char *name, int events,
    event_fd_fn fn, void *ctx, int64_t *born_r)
{
	for (size_t i = pool->count; i-- > 0;) {
		int fd = pool->entries[i].fd;

		if (strcmp(pool->entries[i].name, name) != 0)
			continue;
		if (event_set(pool->loop, fd, events, fn, ctx) < 0) {
			connpool_remove(pool, i, true);
			return -1;
		}
		*born_r = pool->entries[i].born;
		connpool_remove(pool, i, false);
		return fd;
	}
	return -1;
}

size_t
connpool_count(const struct connpool *pool)
{
	return pool->count;
}
