/*
 * smtpd_login.c - who owns a sender address (see smtpd_login.h).
 *
 * Postfix's semantics (smtpd_check.c, mail_addr_find()): the keys are
 * tried in order across all tables of the list, so an exact address in a
 * later table beats "@domain" in an earlier one; pattern tables (regexp:,
 * pcre:) are asked for the whole address only, since a pattern meant for
 * addresses would also match the partial keys. Keys are lower case (the
 * table types that fold case do it as well).
 */
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "mem.h"
#include "smtpd_login.h"
#include "smtpd_tables.h"

#define SMTPD_LOGIN_KEYS	5	/* see smtpd_login_keys() */

static bool
smtpd_login_pattern_table(struct map *map)
{
	const char *spec = map_spec(map);

	return strncasecmp(spec, "regexp:", 7) == 0 ||
	    strncasecmp(spec, "pcre:", 5) == 0;
}

/* The lookup keys of a sender address, Postfix's mail_addr_find() order.
 * Returns the count, or 0 after a lookup error (a local domain check). */
static size_t
smtpd_login_keys(const char *sender, char **keys)
{
	char *address, *local, *domain, *base, *ext;
	size_t n = 0;
	int local_domain;

	if (strchr(sender, '@') != NULL) {
		address = addr_lower(sender);
	} else {
		char *full = xasprintf("%s@%s", sender, config_get("myorigin"));

		address = addr_lower(full);
		xfree(&full);
	}
	addr_split(address, &local, &domain);
	addr_split_extension(local, config_get("recipient_delimiter"), &base,
	    &ext);
	local_domain = smtpd_tables_local_domain(domain);
	if (local_domain >= 0) {
		keys[n++] = xstrdup(address);
		if (ext != NULL)
			keys[n++] = xasprintf("%s@%s", base, domain);
		if (local_domain > 0) {
			if (ext != NULL)
				keys[n++] = xstrdup(local);
			keys[n++] = xstrdup(base);
		}
		keys[n++] = xasprintf("@%s", domain);
	}
	xfree(&address);
	xfree(&local);
	xfree(&domain);
	xfree(&base);
	xfree(&ext);
	return n;
}

enum smtpd_login_owners
smtpd_login_owners(const char *sender, char **owners_r)
{
	char **words = config_get_list("smtpd_sender_login_maps");
	char *keys[SMTPD_LOGIN_KEYS];
	size_t key_count, k, i;
	enum smtpd_login_owners result = SMTPD_LOGIN_NONE;

	*owners_r = NULL;
	for (i = 0; words[i] != NULL; i++) {
		if (smtpd_tables_map(words[i]) == NULL) {
			config_list_free(&words);
			return SMTPD_LOGIN_CONFIG;
		}
	}
	key_count = smtpd_login_keys(sender, keys);
	if (key_count == 0)
		result = SMTPD_LOGIN_RETRY;
	for (k = 0; k < key_count && result == SMTPD_LOGIN_NONE; k++) {
		for (i = 0; words[i] != NULL; i++) {
			struct map *map = smtpd_tables_map(words[i]);
			int r;

			if (k > 0 && smtpd_login_pattern_table(map))
				continue;
			r = map_lookup(map, keys[k], owners_r);
			if (r != 0) {
				result = r > 0 ? SMTPD_LOGIN_FOUND :
				    SMTPD_LOGIN_RETRY;
				break;
			}
		}
	}
	if (result != SMTPD_LOGIN_FOUND)
		xfree(owners_r);
	smtpd_tables_keys_free(keys, key_count);
	config_list_free(&words);
	return result;
}

bool
smtpd_login_self(const char *sender, const char *user)
{
	char *address, *local, *domain, *base, *ext;
	bool own = false;

	if (strchr(sender, '@') != NULL) {
		address = addr_lower(sender);
	} else {
		char *full = xasprintf("%s@%s", sender, config_get("myorigin"));

		address = addr_lower(full);
		xfree(&full);
	}
	if (strcasecmp(address, user) == 0) {
		xfree(&address);
		return true;
	}
	addr_split(address, &local, &domain);
	addr_split_extension(local, config_get("recipient_delimiter"), &base,
	    &ext);
	if (strchr(user, '@') == NULL && strcasecmp(base, user) == 0 &&
	    smtpd_tables_local_domain(domain) > 0)
		own = true;
	xfree(&address);
	xfree(&local);
	xfree(&domain);
	xfree(&base);
	xfree(&ext);
	return own;
}

bool
smtpd_login_listed(const char *owners, const char *user)
{
	static const char separators[] = ", \t\r\n";
	size_t user_len = strlen(user), len;
	const char *p = owners;

	for (;;) {
		p += strspn(p, separators);
		if (*p == '\0')
			return false;
		len = strcspn(p, separators);
		if (len == user_len && strncasecmp(p, user, len) == 0)
			return true;
		p += len;
	}
}
