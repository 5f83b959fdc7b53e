/*
 * pickup_event.h - pickup's event-server wiring: a scan every second and
 * one at once on every wakeup connection.
 */
#ifndef PICKUP_EVENT_H
#define PICKUP_EVENT_H

#include "event.h"

/* Read ipc_timeout (before the jail). */
void pickup_pre_jail(void);
/* Arm the scan timer (lib/server.h event_start). */
void pickup_event_start(struct event_loop *loop);
/* A connection on public/pickup: read its wakeup record, answer, close,
 * and scan now (lib/server.h event). */
void pickup_event(struct event_loop *loop, int fd);

#endif
