/*
 * main.c - anvil, the connection and rate counter service (Postfix's
 * anvil(8)): one long-lived event server that smtpd asks on
 * private/anvil (lib/proto.h, anvil/1).
 */
#include "anvil_server.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "anvil",
		.event = anvil_server_session,
		.event_start = anvil_server_start,
		.long_lived = true,
	};

	return server_main(argc, argv, &def);
}
