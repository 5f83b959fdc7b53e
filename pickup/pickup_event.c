/*
 * pickup_event.c - pickup's event-server wiring.
 *
 * A wakeup connection (from master every wakeup seconds, or from
 * sendmail after it drops a file) carries "proto=qmgr/1 request=wakeup";
 * pickup does not care what it says: it reads at most
 * PICKUP_WAKEUP_MAX bytes or up to the empty line, answers status=ok,
 * closes, and scans at once. Scans run in the loop's thread and block on
 * cleanup (pickup has no other clients to keep waiting).
 *
 * Parameters: ipc_timeout.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "pickup_event.h"
#include "pickup_file.h"
#include "proto.h"
#include "server.h"

#define PICKUP_SCAN_MS		1000
#define PICKUP_WAKEUP_MAX	4096
#define PICKUP_WAKEUP_MS	10000

struct pickup_conn {
	int fd;
	struct event_loop *loop;
	struct buf in;
	struct event_timer timer;
};

static struct event_timer pickup_timer;
static int pickup_timeout_ms = 3600 * 1000;

void
pickup_pre_jail(void)
{
	long long timeout = config_get_time("ipc_timeout");

	if (timeout > 0 && timeout <= 86400)
		pickup_timeout_ms = (int)(timeout * 1000);
}

static void
pickup_tick(void *ctx)
{
	struct event_loop *loop = ctx;

	if (!server_stopping())
		(void)pickup_scan(PROTO_CLEANUP_PATH, pickup_timeout_ms);
	event_timer_set(loop, &pickup_timer, PICKUP_SCAN_MS, pickup_tick,
	    loop);
}

void
pickup_event_start(struct event_loop *loop)
{
	event_timer_set(loop, &pickup_timer, 0, pickup_tick, loop);
}

static void
pickup_conn_close(struct pickup_conn *pc)
{
	struct event_loop *loop = pc->loop;

	event_timer_cancel(loop, &pc->timer);
	event_del(loop, pc->fd);
	close(pc->fd);
	buf_release(&pc->in);
	xfree(&pc);
	event_timer_set(loop, &pickup_timer, 0, pickup_tick, loop);
	server_session_done();	/* may exit when draining */
}

static void
pickup_conn_timeout(void *ctx)
{
	pickup_conn_close(ctx);
}

static void
pickup_conn_read(int fd, int events, void *ctx)
{
	static const char reply[] = "proto=" PROTO_QMGR "\nstatus=ok\n\n";
	struct pickup_conn *pc = ctx;
	char data[512];
	ssize_t n = read(fd, data, sizeof(data));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && buf_add(&pc->in, data, (size_t)n) == 0 &&
	    memmem(pc->in.data, pc->in.len, "\n\n", 2) == NULL &&
	    strcmp(pc->in.data, "\n") != 0)
		return;		/* the record is not complete yet */
	if (n > 0)	/* best effort: the socket is non-blocking */
		(void)!write(fd, reply, sizeof(reply) - 1);
	pickup_conn_close(pc);
}

void
pickup_event(struct event_loop *loop, int fd)
{
	struct pickup_conn *pc = xcalloc(1, sizeof(*pc));

	pc->fd = fd;
	pc->loop = loop;
	buf_init(&pc->in, PICKUP_WAKEUP_MAX);
	if (event_add(loop, fd, EVENT_READ, pickup_conn_read, pc) < 0) {
		log_warn("event_add: %m");
		close(fd);
		buf_release(&pc->in);
		xfree(&pc);
		server_session_done();
		return;
	}
	event_timer_set(loop, &pc->timer, PICKUP_WAKEUP_MS,
	    pickup_conn_timeout, pc);
}
