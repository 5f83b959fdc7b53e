/*
 * main.c - cleanup: normalise a message and write it to the queue.
 *
 * A single server (one client at a time; the master runs several). The
 * work is in cleanup_service.c and cleanup_message.c.
 */
#include "cleanup_service.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "cleanup",
		.pre_jail = cleanup_pre_jail,	/* tables, before chroot */
		.service = cleanup_service,	/* one client connection */
	};

	return server_main(argc, argv, &def);
}
