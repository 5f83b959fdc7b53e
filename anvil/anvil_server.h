/*
 * anvil_server.h - anvil's event-server side: one session per client
 * (each smtpd process keeps one connection), the table, the timers.
 */
#ifndef ANVIL_SERVER_H
#define ANVIL_SERVER_H

#include <stdint.h>

#include "anvil_table.h"
#include "event.h"
#include "rec.h"

/* Most entries the table holds (about 150 bytes each). */
#define ANVIL_TABLE_MAX	100000

/* After the jail: create the table, arm the expiry and status timers. */
void anvil_server_start(struct event_loop *loop);
/* Take over a new client connection (non-blocking). */
void anvil_server_session(struct event_loop *loop, int fd);
/* Answer every complete request in data[0..len) into out against t at
 * time now. Returns the bytes used, or -1 when the framing is broken (the
 * caller closes). For the session code and the fuzz target. */
long anvil_server_input(struct anvil_table *t, const char *data,
    size_t len, struct buf *out, int64_t now);
/* Log the "statistics: max ..." lines and start again. */
void anvil_server_log_stats(struct anvil_table *t, long long unit_seconds);

#endif
