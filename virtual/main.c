/*
 * main.c - the virtual delivery agent: main() and wiring only.
 *
 * Runs as root without chroot (master.cf: unpriv=n chroot=n) so that each
 * delivery can become the uid/gid virtual_uid_maps/virtual_gid_maps give
 * (see virtual_deliver.c).
 */

#include "server.h"
#include "virtual.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "virtual",
		.pre_jail = virtual_init,	/* the maps */
		.service = virtual_service,	/* one delivery/1 request */
	};

	return server_main(argc, argv, &def);
}
