/*
 * smtpd_restrict.c - Postfix restriction lists (see smtpd_restrict.h).
 *
 * Semantics follow Postfix: a list is read left to right; permit ends
 * that list only (the next list still runs), reject ends everything, dunno
 * goes on. Reply texts are Postfix's, "<name>: Class rejected: text",
 * because admins and fail2ban filters know them. Access tables are
 * looked up with the keys Postfix uses (smtpd_access_maps is in the
 * default parent_domain_matches_subdomains: "example.com" matches
 * "sub.example.com"); the null sender's key is "<>".
 *
 * Decided here: a recipient without a domain is local (like Postfix,
 * which appends $myorigin); "localhost" is local only when mydestination
 * lists it, as in Postfix (make run serves it as a virtual domain); a table
 * that failed to open answers "451 4.3.5 Server configuration error"
 * for the checks that need it, so mail waits instead of being let in.
 *
 * Sender login checks (reject_*sender_login_mismatch) are Postfix's,
 * with the owners smtpd_login.c finds in smtpd_sender_login_maps; the
 * null sender is never checked. postern differs in one way: a check with
 * an empty smtpd_sender_login_maps logs a warning (Postfix silently
 * passes).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_login.h"
#include "smtpd_tables.h"
#include "smtpd_restrict.h"

enum {
	SMTPD_DUNNO,
	SMTPD_PERMIT,
	SMTPD_REJECT,
};

/* One evaluation: the stage whose list is running and the answer. */
struct smtpd_eval {
	const struct smtpd_check *check;
	enum smtpd_stage stage;
	char *reply;		/* set with SMTPD_REJECT */
};

struct smtpd_restriction {
	const char *name;
	int (*fn)(struct smtpd_eval *e, const char *arg);
	bool takes_table;	/* the next word is a type:table */
};

static char *
smtpd_config_error(void)
{
	return xstrdup("451 4.3.5 Server configuration error");
}

void
smtpd_restrict_init(void)
{
	char **words;
	size_t i;

	smtpd_tables_init();
	/* Before the jail: the tables may live outside it. */
	words = config_get_list("smtpd_sender_login_maps");
	for (i = 0; words[i] != NULL; i++)
		(void)smtpd_tables_map(words[i]);
	config_list_free(&words);
}

void
smtpd_restrict_free(void)
{
	smtpd_tables_free();
}

/* -- reply texts ------------------------------------------------------ */

static const char *
smtpd_stage_class(enum smtpd_stage stage)
{
	switch (stage) {
	case SMTPD_STAGE_CLIENT:
		return "Client host";
	case SMTPD_STAGE_HELO:
		return "Helo command";
	case SMTPD_STAGE_SENDER:
		return "Sender address";
	case SMTPD_STAGE_RECIPIENT:
		return "Recipient address";
	default:
		return "Data command";
	}
}

/* The "<name>" of a reply for the stage. */
static char *
smtpd_stage_name(const struct smtpd_check *c, enum smtpd_stage stage)
{
	switch (stage) {
	case SMTPD_STAGE_CLIENT:
		return xasprintf("%s[%s]", c->client_name ? c->client_name :
		    "unknown", c->client_addr ? c->client_addr : "");
	case SMTPD_STAGE_HELO:
		return xstrdup(c->helo ? c->helo : "");
	case SMTPD_STAGE_SENDER:
		return xstrdup(c->sender ? c->sender : "");
	case SMTPD_STAGE_RECIPIENT:
		return xstrdup(c->recipient ? c->recipient : "");
	default:
		return xstrdup("DATA");
	}
}

static int
smtpd_reject(struct smtpd_eval *e, enum smtpd_stage stage, int code,
    const char *dsn, const char *text)
{
	char *name = smtpd_stage_name(e->check, stage);

	xfree(&e->reply);
	e->reply = xasprintf("%d %s <%s>: %s rejected: %s", code, dsn, name,
	    smtpd_stage_class(stage), text);
	xfree(&name);
	return SMTPD_REJECT;
}

static int
smtpd_temp_failure(struct smtpd_eval *e, const char *name)
{
	xfree(&e->reply);
	e->reply = xasprintf("451 4.3.0 <%s>: Temporary lookup failure", name);
	return SMTPD_REJECT;
}

static bool
smtpd_is_dsn(const char *s, size_t *len_r)
{
	size_t n = 0;
	int part;

	for (part = 0; part < 3; part++) {
		size_t digits = 0;

		if (part > 0) {
			if (s[n] != '.')
				return false;
			n++;
		}
		while (isdigit((unsigned char)s[n]) && digits < 3) {
			n++;
			digits++;
		}
		if (digits == 0)
			return false;
	}
	if (s[n] != ' ' && s[n] != '\0')
		return false;
	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return false;
	*len_r = n;
	return true;
}

/* Apply an access table answer (Postfix access(5)). */
static int
smtpd_access_action(struct smtpd_eval *e, enum smtpd_stage stage,
    const char *table, const char *value)
{
	const char *text;
	char dsn[16];
	size_t dlen;
	int code;

	while (*value == ' ' || *value == '\t')
		value++;
	if (strcasecmp(value, "OK") == 0 ||
	    (*value != '\0' && strspn(value, "0123456789") == strlen(value)))
		return SMTPD_PERMIT;
	if (strcasecmp(value, "DUNNO") == 0)
		return SMTPD_DUNNO;
	if (strncasecmp(value, "REJECT", 6) == 0 &&
	    (value[6] == '\0' || value[6] == ' ')) {
		code = 554;
		text = value + 6;
		snprintf(dsn, sizeof(dsn), "5.7.1");
	} else if (strncasecmp(value, "DEFER", 5) == 0 &&
	    (value[5] == '\0' || value[5] == ' ')) {
		code = 450;
		text = value + 5;
		snprintf(dsn, sizeof(dsn), "4.7.1");
	} else if ((value[0] == '4' || value[0] == '5') &&
	    isdigit((unsigned char)value[1]) &&
	    isdigit((unsigned char)value[2]) &&
	    (value[3] == ' ' || value[3] == '\0')) {
		code = (value[0] - '0') * 100 + (value[1] - '0') * 10 +
		    (value[2] - '0');
		text = value + 3;
		snprintf(dsn, sizeof(dsn), "%c.7.1", value[0]);
	} else {
		log_warn("table %s: unknown action \"%s\"", table, value);
		xfree(&e->reply);
		e->reply = smtpd_config_error();
		return SMTPD_REJECT;
	}
	while (*text == ' ')
		text++;
	if (smtpd_is_dsn(text, &dlen) && dlen < sizeof(dsn) &&
	    text[0] == dsn[0]) {
		memcpy(dsn, text, dlen);
		dsn[dlen] = '\0';
		text += dlen;
		while (*text == ' ')
			text++;
	}
	return smtpd_reject(e, stage, code, dsn,
	    *text ? text : "Access denied");
}

/* Look keys up in order; the first hit decides. */
static int
smtpd_access(struct smtpd_eval *e, enum smtpd_stage stage, const char *spec,
    char **keys, size_t key_count)
{
	struct map *map;
	char *value = NULL;
	size_t i;
	int r, result = SMTPD_DUNNO;

	map = smtpd_tables_map(spec);
	if (map == NULL) {
		xfree(&e->reply);
		e->reply = smtpd_config_error();
		return SMTPD_REJECT;
	}
	for (i = 0; i < key_count; i++) {
		r = map_lookup(map, keys[i], &value);
		if (r < 0) {
			char *name = smtpd_stage_name(e->check, stage);

			result = smtpd_temp_failure(e, name);
			xfree(&name);
			break;
		}
		if (r > 0) {
			result = smtpd_access_action(e, stage, spec, value);
			xfree(&value);
			break;
		}
	}
	return result;
}

static int
smtpd_access_address(struct smtpd_eval *e, enum smtpd_stage stage,
    const char *spec, const char *address)
{
	char *keys[SMTPD_KEYS_MAX], *local, *domain;
	size_t n = 0;
	int r;

	if (*address == '\0') {
		keys[n++] = xstrdup("<>");
	} else {
		keys[n++] = addr_lower(address);
		addr_split(address, &local, &domain);
		smtpd_tables_domain_keys(domain, keys, &n);
		if (n < SMTPD_KEYS_MAX)
			keys[n++] = xasprintf("%s@", local);
		xfree(&local);
		xfree(&domain);
	}
	r = smtpd_access(e, stage, spec, keys, n);
	smtpd_tables_keys_free(keys, n);
	return r;
}

static int
smtpd_check_client_access(struct smtpd_eval *e, const char *spec)
{
	const struct smtpd_check *c = e->check;
	char *keys[SMTPD_KEYS_MAX];
	size_t n = 0;
	int r;

	if (c->client_name && strcmp(c->client_name, "unknown") != 0)
		smtpd_tables_domain_keys(c->client_name, keys, &n);
	if (c->client_addr && *c->client_addr) {
		char *addr = xstrdup(c->client_addr);
		char sep = strchr(addr, ':') ? ':' : '.';
		char *p;

		/* "1.2.3.4", "1.2.3", "1.2", "1" (and IPv6 by ':'). */
		while (n < SMTPD_KEYS_MAX) {
			keys[n++] = xstrdup(addr);
			p = strrchr(addr, sep);
			if (p == NULL || p == addr)
				break;
			*p = '\0';
			if (p[-1] == ':')
				break;
		}
		xfree(&addr);
	}
	r = smtpd_access(e, SMTPD_STAGE_CLIENT, spec, keys, n);
	smtpd_tables_keys_free(keys, n);
	return r;
}

static int
smtpd_check_helo_access(struct smtpd_eval *e, const char *spec)
{
	char *keys[SMTPD_KEYS_MAX];
	size_t n = 0;
	int r;

	if (e->check->helo == NULL || *e->check->helo == '\0')
		return SMTPD_DUNNO;
	smtpd_tables_domain_keys(e->check->helo, keys, &n);
	r = smtpd_access(e, SMTPD_STAGE_HELO, spec, keys, n);
	smtpd_tables_keys_free(keys, n);
	return r;
}

static int
smtpd_check_sender_access(struct smtpd_eval *e, const char *spec)
{
	if (e->check->sender == NULL)
		return SMTPD_DUNNO;
	return smtpd_access_address(e, SMTPD_STAGE_SENDER, spec,
	    e->check->sender);
}

static int
smtpd_check_recipient_access(struct smtpd_eval *e, const char *spec)
{
	if (e->check->recipient == NULL)
		return SMTPD_DUNNO;
	return smtpd_access_address(e, SMTPD_STAGE_RECIPIENT, spec,
	    e->check->recipient);
}

int
smtpd_restrict_our_domain(const char *domain)
{
	int r;

	if ((r = smtpd_tables_local_domain(domain)) != 0)
		return r;
	if ((r = smtpd_tables_domain_in("virtual_alias_domains", domain, false)) != 0)
		return r;
	if ((r = smtpd_tables_domain_in("virtual_mailbox_domains", domain, false)) != 0)
		return r;
	return smtpd_tables_domain_in("relay_domains", domain, true);
}


/* Is the address a known recipient? SMTPD_DUNNO or a reject in the
 * stage's words. */
static int
smtpd_unlisted(struct smtpd_eval *e, enum smtpd_stage stage,
    const char *address)
{
	const char *table;
	bool config_error;
	int found;

	if (*address == '\0')
		return SMTPD_DUNNO;
	found = smtpd_tables_listed(address, &table, &config_error);
	if (found < 0 && config_error) {
		xfree(&e->reply);
		e->reply = smtpd_config_error();
		return SMTPD_REJECT;
	}
	if (found < 0)
		return smtpd_temp_failure(e, address);
	if (found == 0) {
		char *text = xasprintf("User unknown in %s", table);
		long long code = strcmp(table, "local recipient table") == 0 ?
		    config_get_int("unknown_local_recipient_reject_code") : 550;

		if (code != 450 && code != 550)
			code = 550;
		smtpd_reject(e, stage, (int)code, code == 450 ? "4.1.1" :
		    "5.1.1", text);
		xfree(&text);
		return SMTPD_REJECT;
	}
	return SMTPD_DUNNO;
}

/* -- restrictions ------------------------------------------------------- */

static int
smtpd_r_permit(struct smtpd_eval *e, const char *arg)
{
	return SMTPD_PERMIT;
}

static int
smtpd_r_reject(struct smtpd_eval *e, const char *arg)
{
	return smtpd_reject(e, e->stage, 554, "5.7.1", "Access denied");
}

static int
smtpd_r_defer(struct smtpd_eval *e, const char *arg)
{
	return smtpd_reject(e, e->stage, 450, "4.7.1", "Try again later");
}

static int
smtpd_r_permit_mynetworks(struct smtpd_eval *e, const char *arg)
{
	int r;

	if (smtpd_tables_mynetworks() == NULL) {
		xfree(&e->reply);
		e->reply = smtpd_config_error();
		return SMTPD_REJECT;
	}
	if (e->check->client_addr == NULL)
		return SMTPD_DUNNO;
	r = netlist_match(smtpd_tables_mynetworks(), e->check->client_addr);
	if (r < 0) {
		char *name = smtpd_stage_name(e->check, SMTPD_STAGE_CLIENT);

		smtpd_temp_failure(e, name);
		xfree(&name);
		return SMTPD_REJECT;
	}
	return r > 0 ? SMTPD_PERMIT : SMTPD_DUNNO;
}

static int
smtpd_r_permit_sasl_authenticated(struct smtpd_eval *e, const char *arg)
{
	const char *user = e->check->sasl_user;

	return user != NULL && *user != '\0' ? SMTPD_PERMIT : SMTPD_DUNNO;
}

/* Our domain, or -1 (answered with a temporary failure). */
static int
smtpd_rcpt_domain_ours(struct smtpd_eval *e, bool *ours_r)
{
	const char *rcpt = e->check->recipient;
	const char *domain = addr_domain(rcpt);
	int r = smtpd_restrict_our_domain(domain);

	if (r < 0) {
		smtpd_temp_failure(e, rcpt);
		return -1;
	}
	*ours_r = r > 0;
	/* Sender-specified routing through a relay domain (allow_untrusted_
	 * routing=no): "user%elsewhere@relay.domain" is not ours. */
	if (*ours_r && strpbrk(rcpt, "%!") != NULL &&
	    smtpd_tables_local_domain(domain) == 0 &&
	    smtpd_tables_domain_in("relay_domains", domain, true) > 0)
		*ours_r = false;
	return 0;
}

static int
smtpd_r_unauth_destination(struct smtpd_eval *e, bool defer)
{
	bool ours;

	if (e->check->recipient == NULL)
		return SMTPD_DUNNO;
	if (smtpd_rcpt_domain_ours(e, &ours) < 0)
		return SMTPD_REJECT;
	if (ours)
		return SMTPD_DUNNO;
	xfree(&e->reply);
	e->reply = xasprintf("%s <%s>: Relay access denied",
	    defer ? "454 4.7.1" : "554 5.7.1", e->check->recipient);
	return SMTPD_REJECT;
}

static int
smtpd_r_reject_unauth_destination(struct smtpd_eval *e, const char *arg)
{
	return smtpd_r_unauth_destination(e, false);
}

static int
smtpd_r_defer_unauth_destination(struct smtpd_eval *e, const char *arg)
{
	return smtpd_r_unauth_destination(e, true);
}

static int
smtpd_r_permit_auth_destination(struct smtpd_eval *e, const char *arg)
{
	bool ours;

	if (e->check->recipient == NULL)
		return SMTPD_DUNNO;
	if (smtpd_rcpt_domain_ours(e, &ours) < 0)
		return SMTPD_REJECT;
	return ours ? SMTPD_PERMIT : SMTPD_DUNNO;
}

static int
smtpd_r_reject_unlisted_recipient(struct smtpd_eval *e, const char *arg)
{
	if (e->check->recipient == NULL)
		return SMTPD_DUNNO;
	return smtpd_unlisted(e, SMTPD_STAGE_RECIPIENT, e->check->recipient);
}

static int
smtpd_r_reject_unlisted_sender(struct smtpd_eval *e, const char *arg)
{
	if (e->check->sender == NULL)
		return SMTPD_DUNNO;
	return smtpd_unlisted(e, SMTPD_STAGE_SENDER, e->check->sender);
}

static int
smtpd_non_fqdn(struct smtpd_eval *e, enum smtpd_stage stage,
    const char *address)
{
	if (address == NULL || *address == '\0')
		return SMTPD_DUNNO;
	if (strchr(address, '@') != NULL &&
	    addr_domain_fqdn(addr_domain(address)))
		return SMTPD_DUNNO;
	return smtpd_reject(e, stage, 504, "5.5.2",
	    "need fully-qualified address");
}

static int
smtpd_r_reject_non_fqdn_sender(struct smtpd_eval *e, const char *arg)
{
	return smtpd_non_fqdn(e, SMTPD_STAGE_SENDER, e->check->sender);
}

static int
smtpd_r_reject_non_fqdn_recipient(struct smtpd_eval *e, const char *arg)
{
	return smtpd_non_fqdn(e, SMTPD_STAGE_RECIPIENT, e->check->recipient);
}

/* A host name (letters, digits, '-', dots between labels; a trailing dot
 * is allowed) or an address literal. */
static bool
smtpd_valid_hostname(const char *name)
{
	size_t label = 0, len = strlen(name);
	const char *p;

	if (len == 0 || len > 255)
		return false;
	if (name[0] == '[')
		return name[len - 1] == ']' && addr_domain_fqdn(name);
	for (p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '_' ||
		    (*p == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label == 0 || p[-1] != '-';
}

static int
smtpd_r_reject_invalid_helo_hostname(struct smtpd_eval *e, const char *arg)
{
	const char *helo = e->check->helo;

	if (helo == NULL || smtpd_valid_hostname(helo))
		return SMTPD_DUNNO;
	return smtpd_reject(e, SMTPD_STAGE_HELO, 501, "5.5.2", "Invalid name");
}

static int
smtpd_r_reject_non_fqdn_helo_hostname(struct smtpd_eval *e, const char *arg)
{
	const char *helo = e->check->helo;
	char *copy;
	size_t len;
	bool fqdn;

	if (helo == NULL || *helo == '\0')
		return SMTPD_DUNNO;
	copy = xstrdup(helo);
	len = strlen(copy);
	if (len > 1 && copy[len - 1] == '.')
		copy[len - 1] = '\0';
	fqdn = addr_domain_fqdn(copy);
	xfree(&copy);
	if (fqdn)
		return SMTPD_DUNNO;
	return smtpd_reject(e, SMTPD_STAGE_HELO, 504, "5.5.2",
	    "need fully-qualified hostname");
}

/* -- sender login checks (lookups in smtpd_login.c) ---------------------- */

/* A sender login check runs: smtpd_sender_login_maps is set (a check
 * without it is a configuration mistake: said once) and the sender is
 * not the null sender. */
static bool
smtpd_sender_login_applies(const struct smtpd_eval *e)
{
	static bool warned;

	if (e->check->sender == NULL || *e->check->sender == '\0')
		return false;
	if (config_get("smtpd_sender_login_maps")[0] != '\0' ||
	    config_get_bool("smtpd_sender_login_self"))
		return true;
	if (!warned) {
		log_warn("smtpd_sender_login_maps is empty and "
		    "smtpd_sender_login_self is off: sender login checks "
		    "(reject_*sender_login_mismatch) accept every sender");
		warned = true;
	}
	return false;
}

/* The owners lookup failed: 451, for a temporary error or a table that
 * does not open. */
static int
smtpd_sender_login_failed(struct smtpd_eval *e, int owners)
{
	if (owners == SMTPD_LOGIN_CONFIG) {
		xfree(&e->reply);
		e->reply = smtpd_config_error();
		return SMTPD_REJECT;
	}
	return smtpd_temp_failure(e, e->check->sender);
}

/* Postfix's reject_auth_sender_login_mismatch: an authenticated client
 * must own the sender address; allow_unknown lets addresses that no table
 * lists pass (reject_known_sender_login_mismatch). */
static int
smtpd_sender_login_auth(struct smtpd_eval *e, bool allow_unknown)
{
	const char *user = e->check->sasl_user;
	char *owners = NULL, *text, *shown, *p;
	int r;

	if (user == NULL || *user == '\0')
		return SMTPD_DUNNO;
	if (config_get_bool("smtpd_sender_login_self") &&
	    smtpd_login_self(e->check->sender, user))
		return SMTPD_DUNNO;
	r = smtpd_login_owners(e->check->sender, &owners);
	if (r == SMTPD_LOGIN_RETRY || r == SMTPD_LOGIN_CONFIG)
		return smtpd_sender_login_failed(e, r);
	if (r == SMTPD_LOGIN_NONE && allow_unknown)
		return SMTPD_DUNNO;
	if (r == SMTPD_LOGIN_FOUND && smtpd_login_listed(owners, user)) {
		xfree(&owners);
		return SMTPD_DUNNO;
	}
	xfree(&owners);
	/* The login name goes into a reply and the log: nothing there may
	 * break a line. */
	shown = xstrndup(user, 100);
	for (p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	text = xasprintf("not owned by user %s", shown);
	r = smtpd_reject(e, SMTPD_STAGE_SENDER, 553, "5.7.1", text);
	xfree(&text);
	xfree(&shown);
	return r;
}

/* Postfix's reject_unauth_sender_login_mismatch: a client that has not
 * authenticated may not use an address that has an owner. */
static int
smtpd_sender_login_unauth(struct smtpd_eval *e)
{
	const char *user = e->check->sasl_user;
	char *owners = NULL;
	int r;

	if (user != NULL && *user != '\0')
		return SMTPD_DUNNO;
	r = smtpd_login_owners(e->check->sender, &owners);
	xfree(&owners);
	if (r == SMTPD_LOGIN_RETRY || r == SMTPD_LOGIN_CONFIG)
		return smtpd_sender_login_failed(e, r);
	if (r == SMTPD_LOGIN_NONE)
		return SMTPD_DUNNO;
	return smtpd_reject(e, SMTPD_STAGE_SENDER, 553, "5.7.1",
	    "not logged in");
}

static int
smtpd_r_reject_sender_login_mismatch(struct smtpd_eval *e, const char *arg)
{
	int r;

	if (!smtpd_sender_login_applies(e))
		return SMTPD_DUNNO;
	r = smtpd_sender_login_auth(e, false);
	if (r == SMTPD_DUNNO)
		r = smtpd_sender_login_unauth(e);
	return r;
}

static int
smtpd_r_reject_authenticated_sender_login_mismatch(struct smtpd_eval *e,
    const char *arg)
{
	if (!smtpd_sender_login_applies(e))
		return SMTPD_DUNNO;
	return smtpd_sender_login_auth(e, false);
}

static int
smtpd_r_reject_known_sender_login_mismatch(struct smtpd_eval *e,
    const char *arg)
{
	const char *user = e->check->sasl_user;

	if (!smtpd_sender_login_applies(e))
		return SMTPD_DUNNO;
	if (user != NULL && *user != '\0')
		return smtpd_sender_login_auth(e, true);
	return smtpd_sender_login_unauth(e);
}

static int
smtpd_r_reject_unauthenticated_sender_login_mismatch(struct smtpd_eval *e,
    const char *arg)
{
	if (!smtpd_sender_login_applies(e))
		return SMTPD_DUNNO;
	return smtpd_sender_login_unauth(e);
}

/* The table of restriction names. New restrictions are one line here. */
static const struct smtpd_restriction smtpd_restrictions[] = {
	{ "permit", smtpd_r_permit, false },
	{ "reject", smtpd_r_reject, false },
	{ "defer", smtpd_r_defer, false },
	{ "permit_mynetworks", smtpd_r_permit_mynetworks, false },
	{ "permit_sasl_authenticated", smtpd_r_permit_sasl_authenticated,
	  false },
	{ "reject_unauth_destination", smtpd_r_reject_unauth_destination,
	  false },
	{ "defer_unauth_destination", smtpd_r_defer_unauth_destination,
	  false },
	{ "permit_auth_destination", smtpd_r_permit_auth_destination, false },
	{ "reject_unlisted_recipient", smtpd_r_reject_unlisted_recipient,
	  false },
	{ "reject_unlisted_sender", smtpd_r_reject_unlisted_sender, false },
	{ "reject_non_fqdn_sender", smtpd_r_reject_non_fqdn_sender, false },
	{ "reject_non_fqdn_recipient", smtpd_r_reject_non_fqdn_recipient,
	  false },
	{ "reject_non_fqdn_helo_hostname",
	  smtpd_r_reject_non_fqdn_helo_hostname, false },
	{ "reject_non_fqdn_hostname", smtpd_r_reject_non_fqdn_helo_hostname,
	  false },
	{ "reject_invalid_helo_hostname",
	  smtpd_r_reject_invalid_helo_hostname, false },
	{ "reject_invalid_hostname", smtpd_r_reject_invalid_helo_hostname,
	  false },
	{ "reject_sender_login_mismatch",
	  smtpd_r_reject_sender_login_mismatch, false },
	{ "reject_authenticated_sender_login_mismatch",
	  smtpd_r_reject_authenticated_sender_login_mismatch, false },
	{ "reject_known_sender_login_mismatch",
	  smtpd_r_reject_known_sender_login_mismatch, false },
	{ "reject_unauthenticated_sender_login_mismatch",
	  smtpd_r_reject_unauthenticated_sender_login_mismatch, false },
	{ "check_client_access", smtpd_check_client_access, true },
	{ "check_helo_access", smtpd_check_helo_access, true },
	{ "check_sender_access", smtpd_check_sender_access, true },
	{ "check_recipient_access", smtpd_check_recipient_access, true },
};

/* A bare "type:table" in a list: the access check of the list's stage. */
static int
smtpd_stage_access(struct smtpd_eval *e, const char *spec)
{
	switch (e->stage) {
	case SMTPD_STAGE_CLIENT:
		return smtpd_check_client_access(e, spec);
	case SMTPD_STAGE_HELO:
		return smtpd_check_helo_access(e, spec);
	case SMTPD_STAGE_SENDER:
		return smtpd_check_sender_access(e, spec);
	case SMTPD_STAGE_RECIPIENT:
		return smtpd_check_recipient_access(e, spec);
	default:
		return SMTPD_DUNNO;
	}
}

/* Run the list in param. Returns SMTPD_PERMIT, SMTPD_DUNNO (the list ran
 * out) or SMTPD_REJECT with e->reply. */
static int
smtpd_run_list(struct smtpd_eval *e, const char *param,
    enum smtpd_stage stage)
{
	char **words = config_get_list(param);
	int result = SMTPD_DUNNO;
	size_t i, k;

	e->stage = stage;
	for (i = 0; words[i] != NULL && result == SMTPD_DUNNO; i++) {
		const char *w = words[i];
		const struct smtpd_restriction *r = NULL;

		for (k = 0; k < sizeof(smtpd_restrictions) /
		    sizeof(smtpd_restrictions[0]); k++) {
			if (strcasecmp(w, smtpd_restrictions[k].name) == 0) {
				r = &smtpd_restrictions[k];
				break;
			}
		}
		if (r == NULL && strchr(w, ':') != NULL) {
			result = smtpd_stage_access(e, w);
			continue;
		}
		if (r == NULL) {
			log_warn("%s: unknown restriction \"%s\"", param, w);
			xfree(&e->reply);
			e->reply = smtpd_config_error();
			result = SMTPD_REJECT;
			break;
		}
		if (r->takes_table) {
			if (words[i + 1] == NULL) {
				log_warn("%s: %s needs a table", param, w);
				xfree(&e->reply);
				e->reply = smtpd_config_error();
				result = SMTPD_REJECT;
				break;
			}
			result = r->fn(e, words[++i]);
		} else {
			result = r->fn(e, NULL);
		}
	}
	config_list_free(&words);
	return result;
}

char *
smtpd_restrict_check(enum smtpd_stage stage, const struct smtpd_check *c)
{
	struct smtpd_eval e = { .check = c };
	bool delay = config_get_bool("smtpd_delay_reject");

	switch (stage) {
	case SMTPD_STAGE_CLIENT:
		(void)smtpd_run_list(&e, "smtpd_client_restrictions", stage);
		break;
	case SMTPD_STAGE_HELO:
		(void)smtpd_run_list(&e, "smtpd_helo_restrictions", stage);
		break;
	case SMTPD_STAGE_SENDER:
		if (smtpd_run_list(&e, "smtpd_sender_restrictions", stage) !=
		    SMTPD_REJECT && config_get_bool(
		    "smtpd_reject_unlisted_sender") && c->sender != NULL)
			(void)smtpd_unlisted(&e, SMTPD_STAGE_SENDER, c->sender);
		break;
	case SMTPD_STAGE_RECIPIENT:
		if (delay) {
			if (smtpd_run_list(&e, "smtpd_client_restrictions",
			    SMTPD_STAGE_CLIENT) == SMTPD_REJECT ||
			    smtpd_run_list(&e, "smtpd_helo_restrictions",
			    SMTPD_STAGE_HELO) == SMTPD_REJECT)
				break;
			if (smtpd_run_list(&e, "smtpd_sender_restrictions",
			    SMTPD_STAGE_SENDER) == SMTPD_REJECT)
				break;
			if (config_get_bool("smtpd_reject_unlisted_sender") &&
			    c->sender != NULL && smtpd_unlisted(&e,
			    SMTPD_STAGE_SENDER, c->sender) == SMTPD_REJECT)
				break;
		}
		if (smtpd_run_list(&e, "smtpd_relay_restrictions", stage) ==
		    SMTPD_REJECT)
			break;
		if (smtpd_run_list(&e, "smtpd_recipient_restrictions",
		    stage) == SMTPD_REJECT)
			break;
		if (config_get_bool("smtpd_reject_unlisted_recipient") &&
		    c->recipient != NULL)
			(void)smtpd_unlisted(&e, SMTPD_STAGE_RECIPIENT,
			    c->recipient);
		break;
	case SMTPD_STAGE_DATA:
		(void)smtpd_run_list(&e, "smtpd_data_restrictions", stage);
		break;
	}
	return e.reply;
}
