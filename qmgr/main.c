/*
 * main.c - qmgr, the queue manager: one long-lived event server.
 *
 * Wiring only: qmgr_queue.c schedules, qmgr_deliver.c talks to the
 * delivery agents, qmgr_session.c answers qmgr/1 on public/qmgr.
 */
#include "qmgr_queue.h"
#include "qmgr_session.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "qmgr",
		.pre_jail = qmgr_queue_init,	/* lookup tables */
		.event = qmgr_session_start,
		.event_start = qmgr_queue_start,
		.long_lived = true,
	};

	return server_main(argc, argv, &def);
}
