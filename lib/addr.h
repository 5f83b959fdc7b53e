/*
 * addr.h - mail addresses: SMTP paths and their parts.
 *
 * Parses the RFC 5321 forward-path and reverse-path as a client sends them
 * in MAIL FROM and RCPT TO (angle brackets, quoted local parts, source
 * routes which are dropped as RFC 5321 §4.1.1.3 allows, the null path
 * "<>") and the ESMTP parameters after them. Everything here is a pure
 * function; nothing looks anything up.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_MAX	512	/* longer paths are refused (RFC 5321: 256) */
#define ADDR_PARAMS_MAX	16

struct addr_param {
	char *name;		/* upper case: "SIZE", "BODY", "NOTIFY" */
	char *value;		/* NULL when the parameter has no "=" */
};

struct addr_path {
	char *address;		/* "user@example.com", "" for <> */
	struct addr_param params[ADDR_PARAMS_MAX];
	size_t param_count;
};

/* Parse "<path> params" (the text after "MAIL FROM:" or "RCPT TO:").
 * strict: RFC 821 form required (brackets, no spaces around).
 * Returns 0, or -1 with *error_r a static text suitable for a 501 reply. */
int addr_parse_path(const char *text, bool strict, struct addr_path *out,
    const char **error_r);
void addr_path_release(struct addr_path *p);
/* The parameter's value, or NULL (found_r tells a valueless one apart). */
const char *addr_param(const struct addr_path *p, const char *name,
    bool *found_r);

/* Split at the last '@' into fresh strings; domain is "" when there is
 * none. */
void addr_split(const char *address, char **local_r, char **domain_r);
/* The domain part (pointer into address) or "" . */
const char *addr_domain(const char *address);
/* Domain is a fully qualified name: has a dot, letters/digits/hyphens,
 * or an address literal [1.2.3.4]. */
bool addr_domain_fqdn(const char *domain);
/* Domain could follow an '@' as a command argument (postern flush
 * DOMAIN): 1 to 255 bytes, no white space, control characters, '@', '/',
 * '<', '>' or ','. Looser than addr_domain_fqdn: "localhost" passes. */
bool addr_domain_ok(const char *domain);
/* Split a local part at the first of the delimiter characters: "bob+x"
 * with "+" gives base "bob" and extension "x" (fresh strings; extension
 * NULL when there is none). */
void addr_split_extension(const char *local, const char *delimiters,
    char **base_r, char **extension_r);
/* Lower-case copy. */
char *addr_lower(const char *s);
/* xtext (RFC 3461) decode into a fresh string; NULL when malformed. */
char *addr_xtext_decode(const char *s);

#endif
