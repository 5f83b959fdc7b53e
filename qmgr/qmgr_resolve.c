/*
 * qmgr_resolve.c - recipient address -> transport and nexthop.
 *
 * The decision Postfix's trivial-rewrite makes, in the same order:
 *   1. transport_maps, looked up as "user@domain", "domain", then
 *      ".parent.domain" for each parent (as transport(5) describes), then
 *      "*"; a value "transport:nexthop" where either part may be empty
 *      (empty transport: the one the address class gives; empty nexthop:
 *      the class's default nexthop);
 *   2. the domain (lower case, trailing dot removed) in mydestination, or
 *      no domain at all -> $local_transport;
 *   3. in virtual_mailbox_domains -> $virtual_transport;
 *   4. in relay_domains -> $relay_transport;
 *   5. anything else -> $default_transport.
 * A transport value may carry a nexthop: "local:host", "lmtp:unix:/path",
 * "smtp:[relay.example]:587" split at the first ':'. Without one, the
 * nexthop is $relayhost for relay and default classes when set, else the
 * recipient's domain ($myhostname for bare local names).
 *
 * Domain lists: literal names match exactly, ".example.com" matches
 * subdomains, and in relay_domains a plain name also matches its
 * subdomains (Postfix's parent_domain_matches_subdomains default). A
 * "type:name" entry is a lookup table keyed by the domain. Entries that
 * are files of patterns ("/path") or negations ("!x") are not supported:
 * a warning names them once and they match nothing.
 *
 * Bare names ("root") are local: cleanup qualifies addresses, so one
 * without a domain can only be ours. Virtual alias expansion is cleanup's
 * job, not ours.
 *
 * main.cf parameters read: mydestination, virtual_mailbox_domains,
 * relay_domains, transport_maps, local_transport, virtual_transport,
 * relay_transport, default_transport, relayhost, myhostname.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "qmgr_resolve.h"

struct qmgr_domain_list {
	char **names;		/* lower case, NULL-terminated */
	size_t name_count;
	struct maplist *maps;	/* NULL when the list names no table */
	bool parent_matches;	/* "example.com" matches "a.example.com" */
};

struct qmgr_resolver {
	struct qmgr_domain_list local;
	struct qmgr_domain_list virtual_domains;
	struct qmgr_domain_list relay;
	struct maplist *transport_maps;	/* NULL when unset */
	char *transport[4];	/* by enum qmgr_route_class */
	char *relayhost;
	char *myhostname;
};

static const char qmgr_resolve_lookup_failed[] =
	"4.3.0 address resolution failed: lookup table not available";
static const char qmgr_resolve_bad_transport[] =
	"4.3.5 mail system configuration error: bad transport name";

bool
qmgr_resolve_transport_valid(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '.'))
			return false;
	return true;
}

/* Lower case, without a trailing dot. */
static char *
qmgr_resolve_domain_key(const char *domain)
{
	char *key = addr_lower(domain);
	size_t len = strlen(key);

	if (len > 0 && key[len - 1] == '.')
		key[len - 1] = '\0';
	return key;
}

static int
qmgr_resolve_list_open(struct qmgr_domain_list *list, const char *param,
    bool parent_matches, char **error_r)
{
	char **items = config_get_list(param);
	struct buf specs;
	int ret = 0;

	buf_init(&specs, 64 * 1024);
	list->parent_matches = parent_matches;
	for (size_t i = 0; items[i] != NULL; i++) {
		const char *item = items[i];

		if (item[0] == '/' || item[0] == '!') {
			log_warn("%s: entry \"%s\" is not supported by "
			    "postern and matches nothing", param, item);
		} else if (item[0] != '[' && strchr(item, ':') != NULL) {
			if ((specs.len > 0 && buf_add_str(&specs, ", ") < 0) ||
			    buf_add_str(&specs, item) < 0) {
				*error_r = xasprintf("%s: too many tables",
				    param);
				ret = -1;
				goto out;
			}
		} else {
			list->names = xreallocarray(list->names,
			    list->name_count + 2, sizeof(*list->names));
			list->names[list->name_count++] =
			    qmgr_resolve_domain_key(item);
			list->names[list->name_count] = NULL;
		}
	}
	if (specs.len > 0) {
		char *error = NULL;

		list->maps = maplist_open(specs.data, &error);
		if (list->maps == NULL) {
			*error_r = xasprintf("%s: %s", param,
			    error != NULL ? error : "cannot open");
			free(error);
			ret = -1;
		}
	}
out:
	buf_release(&specs);
	config_list_free(&items);
	return ret;
}

static void
qmgr_resolve_list_close(struct qmgr_domain_list *list)
{
	for (size_t i = 0; i < list->name_count; i++)
		free(list->names[i]);
	xfree(&list->names);
	list->name_count = 0;
	if (list->maps != NULL)
		maplist_close(&list->maps);
}

/* true when name (a list entry) covers domain. */
static bool
qmgr_resolve_name_matches(const char *name, const char *domain,
    bool parent_matches)
{
	size_t name_len = strlen(name), domain_len = strlen(domain);

	if (strcmp(name, domain) == 0)
		return true;
	if (name[0] == '.')
		return domain_len > name_len &&
		    strcmp(domain + domain_len - name_len, name) == 0;
	return parent_matches && domain_len > name_len + 1 &&
	    domain[domain_len - name_len - 1] == '.' &&
	    strcmp(domain + domain_len - name_len, name) == 0;
}

/* 1 when domain is in the list, 0 when not, -1 when a table failed. */
static int
qmgr_resolve_list_match(const struct qmgr_domain_list *list,
    const char *domain)
{
	char *value = NULL;
	int found;

	for (size_t i = 0; i < list->name_count; i++)
		if (qmgr_resolve_name_matches(list->names[i], domain,
		    list->parent_matches))
			return 1;
	if (list->maps == NULL)
		return 0;
	found = maplist_lookup(list->maps, domain, &value);
	free(value);
	if (found != 0)
		return found;
	for (const char *p = strchr(domain, '.'); p != NULL;
	    p = strchr(p + 1, '.')) {
		value = NULL;
		found = maplist_lookup(list->maps, p, &value);
		free(value);
		if (found == 0 && list->parent_matches && p[1] != '\0') {
			value = NULL;
			found = maplist_lookup(list->maps, p + 1, &value);
			free(value);
		}
		if (found != 0)
			return found;
	}
	return 0;
}

struct qmgr_resolver *
qmgr_resolve_open(char **error_r)
{
	struct qmgr_resolver *r = xcalloc(1, sizeof(*r));
	const char *transport_maps = config_get("transport_maps");

	*error_r = NULL;
	if (qmgr_resolve_list_open(&r->local, "mydestination", false,
	    error_r) < 0 ||
	    qmgr_resolve_list_open(&r->virtual_domains,
	    "virtual_mailbox_domains", false, error_r) < 0 ||
	    qmgr_resolve_list_open(&r->relay, "relay_domains", true,
	    error_r) < 0)
		goto fail;
	if (transport_maps[0] != '\0') {
		char *error = NULL;

		r->transport_maps = maplist_open(transport_maps, &error);
		if (r->transport_maps == NULL) {
			*error_r = xasprintf("transport_maps: %s",
			    error != NULL ? error : "cannot open");
			free(error);
			goto fail;
		}
	}
	r->transport[QMGR_ROUTE_LOCAL] = xstrdup(config_get("local_transport"));
	r->transport[QMGR_ROUTE_VIRTUAL] =
	    xstrdup(config_get("virtual_transport"));
	r->transport[QMGR_ROUTE_RELAY] = xstrdup(config_get("relay_transport"));
	r->transport[QMGR_ROUTE_DEFAULT] =
	    xstrdup(config_get("default_transport"));
	r->relayhost = xstrdup(config_get("relayhost"));
	r->myhostname = xstrdup(config_get("myhostname"));
	return r;
fail:
	qmgr_resolve_close(&r);
	return NULL;
}

void
qmgr_resolve_close(struct qmgr_resolver **r_r)
{
	struct qmgr_resolver *r = *r_r;

	if (r == NULL)
		return;
	qmgr_resolve_list_close(&r->local);
	qmgr_resolve_list_close(&r->virtual_domains);
	qmgr_resolve_list_close(&r->relay);
	if (r->transport_maps != NULL)
		maplist_close(&r->transport_maps);
	for (size_t i = 0; i < 4; i++)
		free(r->transport[i]);
	free(r->relayhost);
	free(r->myhostname);
	free(r);
	*r_r = NULL;
}

/* transport_maps: 1 with *value_r, 0 no entry, -1 failure. */
static int
qmgr_resolve_transport_map(struct qmgr_resolver *r, const char *address,
    const char *domain, char **value_r)
{
	char *key;
	int found;

	key = addr_lower(address);
	found = maplist_lookup(r->transport_maps, key, value_r);
	free(key);
	if (found != 0 || domain[0] == '\0')
		return found;
	found = maplist_lookup(r->transport_maps, domain, value_r);
	for (const char *p = strchr(domain, '.'); found == 0 && p != NULL;
	    p = strchr(p + 1, '.'))
		found = maplist_lookup(r->transport_maps, p, value_r);
	if (found == 0)
		found = maplist_lookup(r->transport_maps, "*", value_r);
	return found;
}

/* Split "transport[:nexthop]" into fresh strings. */
static void
qmgr_resolve_split(const char *spec, char **transport_r, char **nexthop_r)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL) {
		*transport_r = xstrdup(spec);
		*nexthop_r = xstrdup("");
	} else {
		*transport_r = xstrndup(spec, (size_t)(colon - spec));
		*nexthop_r = xstrdup(colon + 1);
	}
}

int
qmgr_resolve(struct qmgr_resolver *r, const char *address,
    struct qmgr_route *route_r, const char **reason_r)
{
	const char *at = strrchr(address, '@');
	char *domain, *map_value = NULL, *transport, *nexthop;
	int found;

	memset(route_r, 0, sizeof(*route_r));
	domain = qmgr_resolve_domain_key(at != NULL ? at + 1 : "");

	if (domain[0] == '\0')
		found = 1;
	else
		found = qmgr_resolve_list_match(&r->local, domain);
	if (found > 0) {
		route_r->route_class = QMGR_ROUTE_LOCAL;
	} else if (found == 0 && (found = qmgr_resolve_list_match(
	    &r->virtual_domains, domain)) > 0) {
		route_r->route_class = QMGR_ROUTE_VIRTUAL;
	} else if (found == 0 && (found = qmgr_resolve_list_match(&r->relay,
	    domain)) > 0) {
		route_r->route_class = QMGR_ROUTE_RELAY;
	} else if (found == 0) {
		route_r->route_class = QMGR_ROUTE_DEFAULT;
	}
	if (found < 0)
		goto lookup_failed;

	qmgr_resolve_split(r->transport[route_r->route_class], &transport,
	    &nexthop);
	if (r->transport_maps != NULL) {
		found = qmgr_resolve_transport_map(r, address, domain,
		    &map_value);
		if (found < 0) {
			free(transport);
			free(nexthop);
			goto lookup_failed;
		}
		if (found > 0) {
			char *map_transport, *map_nexthop;

			qmgr_resolve_split(map_value, &map_transport,
			    &map_nexthop);
			if (map_transport[0] != '\0') {
				free(transport);
				transport = map_transport;
			} else {
				free(map_transport);
			}
			/* A map entry naming only a transport keeps the
			 * class's default nexthop, not the parameter's. */
			free(nexthop);
			nexthop = map_nexthop;
			free(map_value);
		}
	}
	if (nexthop[0] == '\0') {
		free(nexthop);
		if ((route_r->route_class == QMGR_ROUTE_RELAY ||
		    route_r->route_class == QMGR_ROUTE_DEFAULT) &&
		    r->relayhost[0] != '\0')
			nexthop = xstrdup(r->relayhost);
		else if (domain[0] != '\0')
			nexthop = xstrdup(domain);
		else
			nexthop = xstrdup(r->myhostname);
	}
	free(domain);
	route_r->transport = transport;
	route_r->nexthop = nexthop;
	if (!qmgr_resolve_transport_valid(transport)) {
		log_warn("bad transport name \"%s\" for <%s>", transport,
		    address);
		qmgr_route_release(route_r);
		*reason_r = qmgr_resolve_bad_transport;
		return -1;
	}
	return 0;

lookup_failed:
	free(domain);
	*reason_r = qmgr_resolve_lookup_failed;
	return -1;
}

void
qmgr_route_release(struct qmgr_route *route)
{
	xfree(&route->transport);
	xfree(&route->nexthop);
}
