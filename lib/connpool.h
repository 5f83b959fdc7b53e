/*
 * connpool.h - idle connections to local services, kept for the next
 * request.
 *
 * smtpd keeps its cleanup connections and qmgr its delivery agent
 * connections once a request is answered: the next one goes out without
 * a connect, accept and close, and the service process stays busy instead
 * of telling the master IDLE and BUSY each time. A pooled connection
 * stays registered with the event loop, watched for reading: the service
 * closes an idle connection when it is done with it (idle, reload,
 * stop), and the pool then closes its end. A connection $ipc_ttl old is
 * closed when its request is answered: services count connections
 * toward max_use, so they are renewed in time under a steady load. Since the service may
 * also close just as a request goes out, a client retries once, on a new
 * connection, a request sent on a reused one that failed before any reply
 * (lib/proto.h).
 */
#ifndef POSTERN_CONNPOOL_H
#define POSTERN_CONNPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct connpool;

/* At most max idle connections in all, each closed after idle_ms idle
 * or, when it is given back, once it is ttl_ms old ($ipc_idle, $ipc_ttl:
 * connpool_new_ipc()). */
struct connpool *connpool_new(struct event_loop *loop, size_t max,
    int64_t idle_ms, int64_t ttl_ms);
struct connpool *connpool_new_ipc(struct event_loop *loop, size_t max);
/* Close every idle connection and free. */
void connpool_free(struct connpool **pool_r);
/* Keep fd, a connection to service name made at born (io_now_ms()) with
 * nothing unanswered and registered with the loop, for the next request.
 * Closes it instead when the pool is full or the connection too old. */
void connpool_put(struct connpool *pool, const char *name, int fd,
    int64_t born);
/* The most recently used idle connection to name, handed over with
 * event_set(events, fn, ctx), and when it was made; -1 when there is
 * none. */
int connpool_take(struct connpool *pool, const char *name, int events,
    event_fd_fn fn, void *ctx, int64_t *born_r);
/* Idle connections now held. */
size_t connpool_count(const struct connpool *pool);

#endif
