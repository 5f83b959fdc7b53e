/*
 * main.c - the local delivery agent: main() and wiring only.
 *
 * Runs as root without chroot (master.cf: unpriv=n chroot=n); every
 * delivery happens in a child that has become its recipient (see
 * local_deliver.c).
 */
#include "local.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "local",
		.pre_jail = local_init,		/* alias_maps */
		.service = local_service,	/* one delivery/1 request */
	};

	return server_main(argc, argv, &def);
}
