/*
 * main.c - sasl: check SMTP AUTH passwords with libsasl2 for smtpd
 * (smtpd_sasl_type = cyrus), so that no password check runs inside the
 * process that talks to the network. main() and wiring only; the work is
 * in pwcheck.c.
 *
 * A single server, unprivileged but not chrooted, because libsasl2 needs
 * its plugins, its smtpd.conf, /etc/sasldb2 and the saslauthd socket:
 * master.cf "sasl unix - - n - - sasl". It runs as mail_owner with
 * mail_owner's supplementary groups, so `adduser postern sasl` lets it
 * read /etc/sasldb2.
 */
#include "pwcheck.h"
#include "server.h"

int
main(int argc, char **argv)
{
	static const struct server_def def = {
		.name = "sasl",
		.pre_jail = pwcheck_init,	/* libsasl2, smtpd.conf */
		.service = pwcheck_service,	/* one sasl/1 request */
	};

	return server_main(argc, argv, &def);
}
