/*
 * main.c - bounce: build delivery status notifications (RFC 3464) for
 * qmgr and queue them through cleanup. main() and wiring only; the work
 * is in bounce_service.c and bounce_dsn.c.
 *
 * A single server (one bounce/1 request per connection), chrooted and
 * unprivileged: master.cf "bounce unix - - y - 0 bounce".
 */
#include "bounce_service.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "bounce",
		.pre_jail = bounce_service_init,
		.service = bounce_service,
	};

	return server_main(argc, argv, &def);
}
