/*
 * main.c - smtpd, the SMTP server: one event server process serving many
 * sessions (smtpd_session.c), tables opened before the jail.
 */

#include "server.h"
#include "smtpd_anvil.h"
#include "smtpd_cleanup.h"
#include "smtpd_restrict.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"

/* Before the jail: maps and mynetworks, the TLS key (root-only). */
static void
smtpd_pre_jail(void)
{
	smtpd_restrict_init();
	smtpd_tls_init();
	smtpd_anvil_init();	/* smtpd_client_event_limit_exceptions */
}

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "smtpd",
		.pre_jail = smtpd_pre_jail,
		.event = smtpd_session_new,		/* one SMTP session */
		/* After a reload, sessions finish on their own timeouts:
		 * the old process keeps serving them with the old
		 * certificate while new ones get the new. */
		.drain_sessions = true,
		.drain = smtpd_cleanup_drain,
	};

	return server_main(argc, argv, &def);
}
