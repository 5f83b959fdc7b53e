/*
 * smtpd_login.h - who owns a sender address: smtpd_sender_login_maps.
 *
 * The lookups behind reject_sender_login_mismatch and its variants
 * (smtpd_restrict.c), with Postfix's keys and owner lists. The tables are
 * opened through smtpd_tables.c (smtpd_restrict_init() opens them before
 * the jail).
 */
#ifndef SMTPD_LOGIN_H
#define SMTPD_LOGIN_H

#include <stdbool.h>

enum smtpd_login_owners {
	SMTPD_LOGIN_NONE,	/* no table lists the address */
	SMTPD_LOGIN_FOUND,	/* *owners_r holds the owner list */
	SMTPD_LOGIN_RETRY,	/* lookup error: try again later */
	SMTPD_LOGIN_CONFIG,	/* a table in the list cannot be opened */
};

/* The owner list of sender (not "") in smtpd_sender_login_maps: a fresh
 * string in *owners_r with SMTPD_LOGIN_FOUND, else NULL. Keys, first hit
 * wins: the address (with @$myorigin when it has no domain), the address
 * without its extension, for local domains the local part with and
 * without extension, then "@domain"; regexp: and pcre: tables see the
 * whole address only. */
enum smtpd_login_owners smtpd_login_owners(const char *sender,
    char **owners_r);

/* smtpd_sender_login_self: user owns sender because it is the address
 * user logged in with, or, in a local domain (mydestination), an address
 * whose local part without extension is user. */
bool smtpd_login_self(const char *sender, const char *user);

/* user is one of owners (separated by commas or white space), compared
 * case-insensitively. */
bool smtpd_login_listed(const char *owners, const char *user);

#endif
