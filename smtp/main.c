/*
 * main.c - the smtp/lmtp delivery agent: main() and wiring only.
 *
 * master.cf runs it as the smtp, relay and lmtp services (unprivileged;
 * smtp and relay chrooted). See smtp_deliver.c. As the lmtp service it
 * logs as postern/lmtp, like Postfix's lmtp.
 */
#include <string.h>

#include "server.h"
#include "smtp.h"

int
main(int argc, char **argv)
{
	static struct server_def def = {
		.name = "smtp",
		.pre_jail = smtp_init,	/* resolver, TLS context, maps */
		.service = smtp_service,	/* one delivery/1 request */
		.idle = smtp_idle,	/* the cached connection's time limit */
	};
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-s") == 0 &&
		    strcmp(argv[i + 1], "lmtp") == 0)
			def.name = "lmtp";
	return server_main(argc, argv, &def);
}
