/*
 * smtpd_tables.h - the lookup tables smtpd's checks use, opened once.
 *
 * Private to smtpd_restrict.c: mynetworks, the tables named in
 * restriction lists and domain lists, and the recipient maps
 * (local_recipient_maps, virtual_mailbox_maps, virtual_alias_maps). All
 * are opened by smtpd_tables_init() before the jail; a table first named
 * later is opened on demand (which may fail inside the jail).
 */
#ifndef SMTPD_TABLES_H
#define SMTPD_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "maps.h"
#include "netlist.h"

#define SMTPD_KEYS_MAX	24

void smtpd_tables_init(void);
void smtpd_tables_free(void);
/* The open table for spec, or NULL when it cannot be opened (logged). */
struct map *smtpd_tables_map(const char *spec);
/* mynetworks, or NULL when it is malformed (logged). */
const struct netlist *smtpd_tables_mynetworks(void);
/* domain is in the domain list parameter ("mydestination"): 1, 0, or -1
 * (lookup error or a table that cannot be opened). parents: "example.com"
 * also matches its subdomains (relay_domains). */
int smtpd_tables_domain_in(const char *param, const char *domain,
    bool parents);
/* mydestination, "localhost", or no domain at all: 1, 0, -1. */
int smtpd_tables_local_domain(const char *domain);
/* Append lower-case keys "a.b.c", "b.c", "c" to keys[*n]. */
void smtpd_tables_domain_keys(const char *domain, char **keys, size_t *n);
void smtpd_tables_keys_free(char **keys, size_t n);
/* Is address a known recipient of our domains? 1 yes (or not ours to
 * check), 0 no (*table_r names the table: "local recipient table"), -1
 * lookup error; *config_error_r tells a table that never opened. */
int smtpd_tables_listed(const char *address, const char **table_r,
    bool *config_error_r);

#endif
