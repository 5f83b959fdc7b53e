/*
 * smtpd_restrict.h - Postfix restriction lists (smtpd_*_restrictions).
 *
 * One evaluator for every stage: a list of restriction words from main.cf,
 * each a function that answers permit, dunno or reject (a reject carries
 * the full reply, 4xx for defer). Names are looked up in one table that
 * later features extend (permit_sasl_authenticated, check_policy_service,
 * reject_rbl_client, ...). An unknown name is a configuration error:
 * logged, and the client gets "451 4.3.5 Server configuration error".
 *
 * Tables (check_*_access, local_recipient_maps, virtual_*_maps, domain
 * lists that name tables) and mynetworks are opened by
 * smtpd_restrict_init() before the jail.
 */
#ifndef SMTPD_RESTRICT_H
#define SMTPD_RESTRICT_H

#include <stdbool.h>

enum smtpd_stage {
	SMTPD_STAGE_CLIENT,	/* smtpd_client_restrictions */
	SMTPD_STAGE_HELO,	/* smtpd_helo_restrictions */
	SMTPD_STAGE_SENDER,	/* smtpd_sender_restrictions */
	SMTPD_STAGE_RECIPIENT,	/* relay, then recipient restrictions */
	SMTPD_STAGE_DATA,	/* smtpd_data_restrictions */
};

/* What the restrictions may look at. NULL: not known (yet). */
struct smtpd_check {
	const char *client_name;	/* "unknown" without a name */
	const char *client_addr;
	const char *helo;
	const char *sender;		/* "" for the null sender */
	const char *recipient;
	const char *sasl_user;
};

/* Open mynetworks and every table the restrictions and recipient checks
 * name (before the jail). Problems are logged; a table that cannot be
 * opened makes the checks that need it answer 451. */
void smtpd_restrict_init(void);
/* Close everything (tests, reload). */
void smtpd_restrict_free(void);

/* Run the checks of one stage as Postfix does. At SMTPD_STAGE_RECIPIENT
 * with smtpd_delay_reject=yes the client, helo and sender lists run first;
 * after the lists, smtpd_reject_unlisted_recipient applies. At
 * SMTPD_STAGE_SENDER, smtpd_reject_unlisted_sender applies. Returns NULL
 * to accept, or a fresh reply ("554 5.7.1 <x@y>: Relay access denied"). */
char *smtpd_restrict_check(enum smtpd_stage stage,
    const struct smtpd_check *c);

/* The domain is one we accept mail for (mydestination, localhost, virtual
 * alias/mailbox domains, relay_domains): 1 yes, 0 no, -1 lookup error. */
int smtpd_restrict_our_domain(const char *domain);

#endif
