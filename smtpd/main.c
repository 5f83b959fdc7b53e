/*
 * main.c - smtpd, the SMTP server: one event server process serving many
 * sessions (smtpd_session.c), tables opened before the jail.
 */

#include "server.h"
#include "smtpd_restrict.h"
#include "smtpd_session.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "smtpd",
		.pre_jail = smtpd_restrict_init,	/* maps, mynetworks */
		.event = smtpd_session_new,		/* one SMTP session */
	};

	return server_main(argc, argv, &def);
}
