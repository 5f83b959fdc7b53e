/*
 * addr.c - mail addresses: SMTP paths and their parts (see addr.h).
 *
 * Input comes straight from SMTP clients, so everything is checked and
 * nothing is repaired: a path is accepted as given or refused with a short
 * reason for the 501 reply.
 *
 * Decisions where addr.h is silent:
 * - A path without a domain ("<postmaster>", "<user>") is accepted in both
 *   modes: whether an unqualified address is welcome is the restrictions'
 *   business (reject_non_fqdn_*), as in Postfix.
 * - Strict mode wants the RFC 5321 dot-string (no leading, trailing or
 *   doubled dots) and exactly one space before each parameter; non-strict
 *   mode accepts any dots in an unquoted local part (old mobile-phone
 *   addresses such as "a..b." exist), spaces after the colon, between
 *   parameters and at the end, and a missing bracket pair (no source route
 *   then).
 * - Bytes of 0x80 and above must form valid UTF-8 (no overlong forms, no
 *   surrogates, nothing past U+10FFFF) anywhere in the text; whether they
 *   are allowed at all (SMTPUTF8) is the caller's check.
 * - Parameter values follow RFC 5321 esmtp-value (printable, no '=', no
 *   space, UTF-8 allowed per RFC 6531) and may not be empty: "NAME=" is
 *   refused, "NAME" alone has a NULL value.
 * - Address literals are [IPv4] and [IPv6:...] (the tag in any case);
 *   general literals ("[tag:...]") are refused.
 * - addr_domain_fqdn() refuses a numeric top-level label ("1.2.3.4"
 *   without brackets), as Postfix's hostname check does.
 * - addr_split_extension() never splits "postmaster" or "mailer-daemon",
 *   nor "owner-foo"/"foo-request" (the list conventions Postfix keeps), nor
 *   at a delimiter in the first position.
 * - addr_xtext_decode() accepts lower-case hex too, and refuses a decoded
 *   NUL or control character: the result ends up in DSN headers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mem.h"

#define ADDR_DOMAIN_MAX	255
#define ADDR_LABEL_MAX	63

static const char addr_err_brackets[] = "Address must be in angle brackets";
static const char addr_err_unbalanced[] = "Unbalanced angle brackets";
static const char addr_err_quotes[] = "Unbalanced quotes in address";
static const char addr_err_control[] = "Control character in address";
static const char addr_err_utf8[] = "Invalid UTF-8 in address";
static const char addr_err_long[] = "Address too long";
static const char addr_err_syntax[] = "Bad address syntax";
static const char addr_err_domain[] = "Bad domain syntax in address";
static const char addr_err_route[] = "Bad source route in address";
static const char addr_err_missing[] = "Missing address";
static const char addr_err_param[] = "Bad parameter syntax";
static const char addr_err_params[] = "Too many parameters";

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static size_t
addr_utf8_len(const unsigned char *p)
{
	unsigned int c = p[0], min;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/* Control characters and malformed UTF-8 anywhere: 0 or -1. */
static int
addr_check_bytes(const char *text, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*error_r = addr_err_control;
			return -1;
		}
		if (*p < 0x80) {
			p++;
		} else if ((n = addr_utf8_len(p)) > 0) {
			p += n;
		} else {
			*error_r = addr_err_utf8;
			return -1;
		}
	}
	return 0;
}

static bool
addr_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 5322 atext, plus UTF-8 (RFC 6532; checked for validity before). */
static bool
addr_atext(unsigned char c)
{
	return addr_let_dig(c) || c >= 0x80 || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* An address literal "[...]" of len bytes. */
static bool
addr_literal_valid(const char *d, size_t len)
{
	char inner[64];
	unsigned char ip[16];

	if (len < 3 || d[0] != '[' || d[len - 1] != ']' ||
	    len - 2 >= sizeof(inner))
		return false;
	memcpy(inner, d + 1, len - 2);
	inner[len - 2] = '\0';
	if (strncasecmp(inner, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, inner + 5, ip) == 1;
	return inet_pton(AF_INET, inner, ip) == 1;
}

/*
 * A domain name of len bytes: labels of letters, digits, hyphens (and
 * UTF-8 for internationalised names), not starting or ending with a
 * hyphen, separated by single dots; or an address literal. Sets
 * *labels_r and *numeric_tld_r when not NULL.
 */
static bool
addr_domain_valid(const char *d, size_t len, size_t *labels_r,
    bool *numeric_tld_r)
{
	const unsigned char *p = (const unsigned char *)d;
	size_t label_len = 0, labels = 1;
	bool all_digits = true;

	if (len > 0 && d[0] == '[') {
		if (labels_r != NULL)
			*labels_r = 0;
		return addr_literal_valid(d, len);
	}
	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (label_len == 0 || p[i - 1] == '-')
				return false;
			label_len = 0;
			labels++;
			all_digits = true;
			continue;
		}
		if (p[i] >= 0x80) {
			size_t n = addr_utf8_len(p + i);

			if (n == 0 || i + n > len)
				return false;
			i += n - 1;
			label_len += n;
			all_digits = false;
		} else if (addr_let_dig(p[i]) || p[i] == '-') {
			if (p[i] == '-' && label_len == 0)
				return false;
			if (!(p[i] >= '0' && p[i] <= '9'))
				all_digits = false;
			label_len++;
		} else {
			return false;
		}
		if (label_len > ADDR_LABEL_MAX)
			return false;
	}
	if (label_len == 0 || p[len - 1] == '-')
		return false;
	if (labels_r != NULL)
		*labels_r = labels;
	if (numeric_tld_r != NULL)
		*numeric_tld_r = all_digits;
	return true;
}

/*
 * The mailbox s[0..len): a dot-string or quoted-string local part,
 * optionally "@domain". Returns NULL or the error text.
 */
static const char *
addr_mailbox_check(const char *s, size_t len, bool strict)
{
	size_t i = 0;

	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				i++;
				if (i == len)
					return addr_err_quotes;
			}
		}
		if (i == len)
			return addr_err_quotes;
		i++;		/* the closing quote */
	} else {
		for (; i < len && s[i] != '@'; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '.') {
				if (strict && (i == 0 || s[i - 1] == '.' ||
				    i + 1 == len || s[i + 1] == '@'))
					return addr_err_syntax;
				continue;
			}
			if (c == '"')
				return addr_err_quotes;
			if (!addr_atext(c))
				return addr_err_syntax;
		}
		if (i == 0)
			return addr_err_syntax;
	}
	if (i == len)
		return NULL;	/* no domain */
	if (s[i] != '@')
		return addr_err_syntax;
	if (!addr_domain_valid(s + i + 1, len - i - 1, NULL, NULL))
		return addr_err_domain;
	return NULL;
}

/* A source route "@a,@b:" at the start of s[0..len): its length
 * including the colon, or 0 when malformed. */
static size_t
addr_route_len(const char *s, size_t len)
{
	size_t i = 0;

	for (;;) {
		size_t start;

		if (i >= len || s[i] != '@')
			return 0;
		start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i == len ||
		    !addr_domain_valid(s + start, i - start, NULL, NULL))
			return 0;
		if (s[i++] == ':')
			return i;
	}
}

/* Parameters "NAME[=VALUE]" separated by spaces, from p. */
static const char *
addr_params_parse(const char *p, bool strict, struct addr_path *out)
{
	while (*p != '\0') {
		const char *start, *eq = NULL;
		struct addr_param *param;
		size_t name_len;

		if (*p != ' ')
			return addr_err_param;
		p++;
		if (!strict)
			while (*p == ' ')
				p++;
		if (*p == '\0') {
			if (strict)
				return addr_err_param;
			break;
		}
		if (out->param_count == ADDR_PARAMS_MAX)
			return addr_err_params;
		start = p;
		for (; *p != '\0' && *p != ' '; p++) {
			unsigned char c = (unsigned char)*p;

			if (eq == NULL && c == '=') {
				eq = p;
				continue;
			}
			if (eq == NULL ? !(addr_let_dig(c) ||
			    (c == '-' && p != start)) :
			    (c == '=' || c < 0x21))
				return addr_err_param;
		}
		name_len = (size_t)((eq != NULL ? eq : p) - start);
		if (name_len == 0 || (eq != NULL && eq + 1 == p))
			return addr_err_param;
		param = &out->params[out->param_count++];
		param->name = xstrndup(start, name_len);
		for (char *n = param->name; *n != '\0'; n++)
			*n = (char)toupper((unsigned char)*n);
		param->value = eq == NULL ? NULL :
		    xstrndup(eq + 1, (size_t)(p - eq - 1));
	}
	return NULL;
}

int
addr_parse_path(const char *text, bool strict, struct addr_path *out,
    const char **error_r)
{
	const char *p = text, *content, *error = NULL;
	size_t len, route;
	bool bracketed;

	memset(out, 0, sizeof(*out));
	if (addr_check_bytes(text, &error) < 0)
		goto fail;
	if (!strict)
		while (*p == ' ')
			p++;
	bracketed = *p == '<';
	if (!bracketed && strict) {
		error = addr_err_brackets;
		goto fail;
	}
	content = bracketed ? p + 1 : p;
	/* Find the end of the path; '<', '>' and ' ' inside quotes are
	 * part of the local part. */
	{
		bool quoted = false;

		for (p = content; *p != '\0'; p++) {
			if (quoted) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '"')
					quoted = false;
				continue;
			}
			if (*p == '"')
				quoted = true;
			else if (*p == '<' || *p == '>' ||
			    (*p == ' ' && !bracketed))
				break;
		}
		if (quoted) {
			error = addr_err_quotes;
			goto fail;
		}
		if (*p == '<' || (bracketed ? *p != '>' : *p == '>')) {
			error = addr_err_unbalanced;
			goto fail;
		}
	}
	len = (size_t)(p - content);
	if (bracketed)
		p++;		/* the '>' */
	if (len > ADDR_MAX) {
		error = addr_err_long;
		goto fail;
	}
	if (len == 0 && !bracketed) {
		error = addr_err_missing;
		goto fail;
	}
	route = 0;
	if (len > 0 && content[0] == '@') {
		route = bracketed ? addr_route_len(content, len) : 0;
		if (route == 0 || route == len) {
			error = addr_err_route;
			goto fail;
		}
	}
	if (len > 0 && (error = addr_mailbox_check(content + route,
	    len - route, strict)) != NULL)
		goto fail;
	if ((error = addr_params_parse(p, strict, out)) != NULL)
		goto fail;
	out->address = xstrndup(content + route, len - route);
	return 0;
fail:
	addr_path_release(out);
	*error_r = error;
	return -1;
}

void
addr_path_release(struct addr_path *p)
{
	xfree(&p->address);
	for (size_t i = 0; i < p->param_count; i++) {
		xfree(&p->params[i].name);
		xfree(&p->params[i].value);
	}
	p->param_count = 0;
}

const char *
addr_param(const struct addr_path *p, const char *name, bool *found_r)
{
	for (size_t i = 0; i < p->param_count; i++) {
		if (strcasecmp(p->params[i].name, name) == 0) {
			if (found_r != NULL)
				*found_r = true;
			return p->params[i].value;
		}
	}
	if (found_r != NULL)
		*found_r = false;
	return NULL;
}

void
addr_split(const char *address, char **local_r, char **domain_r)
{
	const char *at = strrchr(address, '@');

	if (at == NULL) {
		*local_r = xstrdup(address);
		*domain_r = xstrdup("");
		return;
	}
	*local_r = xstrndup(address, (size_t)(at - address));
	*domain_r = xstrdup(at + 1);
}

const char *
addr_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at == NULL ? "" : at + 1;
}

bool
addr_domain_ok(const char *domain)
{
	size_t len = strlen(domain);

	if (len == 0 || len > 255)
		return false;
	for (const char *p = domain; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == '@' || c == '/' ||
		    c == '<' || c == '>' || c == ',')
			return false;
	}
	return true;
}

bool
addr_domain_fqdn(const char *domain)
{
	size_t labels;
	bool numeric_tld;

	if (!addr_domain_valid(domain, strlen(domain), &labels, &numeric_tld))
		return false;
	return labels == 0 || (labels >= 2 && !numeric_tld);
}

void
addr_split_extension(const char *local, const char *delimiters,
    char **base_r, char **extension_r)
{
	size_t len;

	*extension_r = NULL;
	if (delimiters == NULL || *delimiters == '\0' ||
	    strcasecmp(local, "postmaster") == 0 ||
	    strcasecmp(local, "mailer-daemon") == 0)
		goto whole;
	len = strcspn(local, delimiters);
	if (len == 0 || local[len] == '\0')
		goto whole;
	if (local[len] == '-' && (strncasecmp(local, "owner-", 6) == 0 ||
	    strcasecmp(local + len, "-request") == 0))
		goto whole;
	*base_r = xstrndup(local, len);
	*extension_r = xstrdup(local + len + 1);
	return;
whole:
	*base_r = xstrdup(local);
}

char *
addr_lower(const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return copy;
}

static int
addr_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
addr_xtext_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	    p++) {
		unsigned char c = *p;

		if (c == '+') {
			int hi = addr_hex(p[1]), lo = hi < 0 ? -1 : addr_hex(p[2]);

			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
			if (c < 0x20 || c == 0x7f)
				goto bad;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			goto bad;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	xfree(&out);
	return NULL;
}
