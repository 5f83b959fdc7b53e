/*
 * smtpd_tables.c - the lookup tables smtpd's checks use (see
 * smtpd_tables.h).
 *
 * Domain lists follow Postfix: names compare case-insensitively,
 * ".example.com" matches subdomains, "type:table" entries are looked up
 * with the domain as key (virtual_alias_domains defaults to
 * $virtual_alias_maps that way). Recipient checks use Postfix's keys:
 * for local domains the whole address, the local part and the local part
 * without its extension; for virtual domains the address, the address
 * without extension, and "@domain".
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_tables.h"

/* Tables opened before the jail, by spec. */
struct smtpd_table {
	char *spec;
	struct map *map;	/* NULL: failed to open */
};

static struct smtpd_table *smtpd_tables;
static size_t smtpd_table_count;
static struct netlist *smtpd_mynetworks;
static struct maplist *smtpd_local_rcpt_maps;
static struct maplist *smtpd_virtual_mailbox_maps;
static struct maplist *smtpd_virtual_alias_maps;
static bool smtpd_maps_bad;

static const char *const smtpd_lists[] = {
	"smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_data_restrictions",
};

static const char *const smtpd_domain_lists[] = {
	"mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
	"relay_domains",
};

struct map *
smtpd_tables_map(const char *spec)
{
	char *error = NULL;
	size_t i;

	for (i = 0; i < smtpd_table_count; i++) {
		if (strcmp(smtpd_tables[i].spec, spec) == 0) {
			return smtpd_tables[i].map;
		}
	}
	smtpd_tables = xreallocarray(smtpd_tables, smtpd_table_count + 1,
	    sizeof(*smtpd_tables));
	smtpd_tables[smtpd_table_count].spec = xstrdup(spec);
	smtpd_tables[smtpd_table_count].map = map_open(spec, &error);
	if (smtpd_tables[smtpd_table_count].map == NULL) {
		log_warn("cannot open table %s: %s", spec,
		    error ? error : "unknown error");
		xfree(&error);
	}
	return smtpd_tables[smtpd_table_count++].map;
}

static struct maplist *
smtpd_open_maplist(const char *param)
{
	char *error = NULL;
	struct maplist *l;

	l = maplist_open(config_get(param), &error);
	if (l == NULL) {
		log_warn("cannot open %s: %s", param,
		    error ? error : "unknown error");
		xfree(&error);
		smtpd_maps_bad = true;
	}
	return l;
}

void
smtpd_tables_init(void)
{
	char *error = NULL;
	size_t i, j;

	smtpd_tables_free();
	smtpd_mynetworks = netlist_new(config_get("mynetworks"), &error);
	if (smtpd_mynetworks == NULL) {
		log_warn("bad mynetworks: %s", error ? error : "unknown error");
		xfree(&error);
	}
	smtpd_local_rcpt_maps = smtpd_open_maplist("local_recipient_maps");
	smtpd_virtual_mailbox_maps = smtpd_open_maplist("virtual_mailbox_maps");
	smtpd_virtual_alias_maps = smtpd_open_maplist("virtual_alias_maps");
	for (i = 0; i < sizeof(smtpd_lists) / sizeof(smtpd_lists[0]); i++) {
		char **words = config_get_list(smtpd_lists[i]);

		for (j = 0; words[j] != NULL; j++)
			if (strchr(words[j], ':') != NULL)
				(void)smtpd_tables_map(words[j]);
		config_list_free(&words);
	}
	for (i = 0; i < sizeof(smtpd_domain_lists) /
	    sizeof(smtpd_domain_lists[0]); i++) {
		char **words = config_get_list(smtpd_domain_lists[i]);

		for (j = 0; words[j] != NULL; j++)
			if (strchr(words[j], ':') != NULL)
				(void)smtpd_tables_map(words[j]);
		config_list_free(&words);
	}
}

void
smtpd_tables_free(void)
{
	size_t i;

	for (i = 0; i < smtpd_table_count; i++) {
		xfree(&smtpd_tables[i].spec);
		map_close(&smtpd_tables[i].map);
	}
	xfree(&smtpd_tables);
	smtpd_table_count = 0;
	netlist_free(&smtpd_mynetworks);
	maplist_close(&smtpd_local_rcpt_maps);
	maplist_close(&smtpd_virtual_mailbox_maps);
	maplist_close(&smtpd_virtual_alias_maps);
	smtpd_maps_bad = false;
}

/* A domain and its parents: "a.b.c", "b.c", "c". */
void
smtpd_tables_domain_keys(const char *domain, char **keys, size_t *n)
{
	const char *p = domain;

	while (*p != '\0' && *n < SMTPD_KEYS_MAX) {
		keys[(*n)++] = addr_lower(p);
		p = strchr(p, '.');
		if (p == NULL)
			break;
		p++;
	}
}

void
smtpd_tables_keys_free(char **keys, size_t n)
{
	while (n > 0)
		xfree(&keys[--n]);
}


/* -- domains ------------------------------------------------------------ */

/* domain in the list parameter: 1, 0, -1 (lookup error or bad table). */
int
smtpd_tables_domain_in(const char *param, const char *domain, bool parents)
{
	char **words = config_get_list(param);
	int result = 0;
	size_t i;

	for (i = 0; words[i] != NULL && result == 0; i++) {
		const char *w = words[i];

		if (strchr(w, ':') != NULL) {
			char *keys[SMTPD_KEYS_MAX], *value = NULL;
			size_t n = 0, k;
			struct map *map;

			map = smtpd_tables_map(w);
			if (map == NULL) {
				result = -1;
				break;
			}
			if (parents)
				smtpd_tables_domain_keys(domain, keys, &n);
			else
				keys[n++] = addr_lower(domain);
			for (k = 0; k < n && result == 0; k++) {
				int r = map_lookup(map, keys[k], &value);

				if (r != 0)
					result = r;
				xfree(&value);
			}
			smtpd_tables_keys_free(keys, n);
		} else if (strcasecmp(w, domain) == 0) {
			result = 1;
		} else if (w[0] == '.' || parents) {
			/* ".example.com" or, for lists with parent
			 * matching, "example.com": any subdomain. */
			const char *suffix = w[0] == '.' ? w + 1 : w;
			size_t dl = strlen(domain), sl = strlen(suffix);

			if (sl > 0 && dl > sl && domain[dl - sl - 1] == '.' &&
			    strcasecmp(domain + dl - sl, suffix) == 0)
				result = 1;
		}
	}
	config_list_free(&words);
	return result;
}

int
smtpd_tables_local_domain(const char *domain)
{
	if (*domain == '\0')
		return 1;
	return smtpd_tables_domain_in("mydestination", domain, false);
}

/* Look the keys up in a maplist: 1 found, 0 not, -1 error. */
static int
smtpd_maplist_any(struct maplist *l, char **keys, size_t n)
{
	char *value = NULL;
	size_t i;
	int r;

	if (l == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		r = maplist_lookup(l, keys[i], &value);
		xfree(&value);
		if (r != 0)
			return r;
	}
	return 0;
}


/* The keys for a virtual address: the address, without its extension,
 * and the "@domain" catch-all, lower case. */
static size_t
smtpd_tables_virtual_keys(const char *address, const char *base,
    const char *ext, const char *domain, char **keys)
{
	size_t n = 0, i;

	keys[n++] = addr_lower(address);
	if (ext != NULL)
		keys[n++] = xasprintf("%s@%s", base, domain);
	keys[n++] = xasprintf("@%s", domain);
	for (i = 0; i < n; i++)
		for (char *p = keys[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return n;
}

int
smtpd_tables_listed(const char *address, const char **table_r,
    bool *config_error_r)
{
	char *local, *domain, *lower_local, *base, *ext, *keys[4];
	size_t n = 0;
	int found = 1, r;

	*table_r = NULL;
	*config_error_r = smtpd_maps_bad;
	addr_split(address, &local, &domain);
	lower_local = addr_lower(local);
	addr_split_extension(lower_local, config_get("recipient_delimiter"),
	    &base, &ext);
	if ((r = smtpd_tables_local_domain(domain)) != 0) {
		if (r < 0) {
			found = -1;
		} else if (config_get("local_recipient_maps")[0] != '\0') {
			/* An empty local_recipient_maps accepts every name. */
			*table_r = "local recipient table";
			keys[n++] = addr_lower(address);
			keys[n++] = xstrdup(lower_local);
			if (ext != NULL)
				keys[n++] = xstrdup(base);
			found = smtpd_maplist_any(smtpd_local_rcpt_maps,
			    keys, n);
			if (found == 0)
				found = smtpd_maplist_any(
				    smtpd_virtual_alias_maps, keys, 1);
		}
	} else {
		int alias = smtpd_tables_domain_in("virtual_alias_domains",
		    domain, false);
		int mailbox = alias != 0 ? 0 : smtpd_tables_domain_in(
		    "virtual_mailbox_domains", domain, false);

		n = smtpd_tables_virtual_keys(address, base, ext, domain, keys);
		if (alias < 0 || mailbox < 0) {
			found = -1;
		} else if (alias > 0) {
			*table_r = "virtual alias table";
			found = smtpd_maplist_any(smtpd_virtual_alias_maps,
			    keys, n);
		} else if (mailbox > 0) {
			*table_r = "virtual mailbox table";
			found = smtpd_maplist_any(smtpd_virtual_mailbox_maps,
			    keys, n);
			if (found == 0)
				found = smtpd_maplist_any(
				    smtpd_virtual_alias_maps, keys, n);
		}
	}
	smtpd_tables_keys_free(keys, n);
	xfree(&local);
	xfree(&domain);
	xfree(&lower_local);
	xfree(&base);
	xfree(&ext);
	return found;
}

const struct netlist *
smtpd_tables_mynetworks(void)
{
	return smtpd_mynetworks;
}
