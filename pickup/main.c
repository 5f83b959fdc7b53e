/*
 * main.c - pickup: feed mail that local users drop in maildrop/ to
 * cleanup.
 *
 * A long-lived event server: scans every second and at once when poked
 * on public/pickup. The work is in pickup_file.c.
 */
#include "pickup_event.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "pickup",
		.pre_jail = pickup_pre_jail,
		.event = pickup_event,
		.event_start = pickup_event_start,
		.long_lived = true,
	};

	return server_main(argc, argv, &def);
}
