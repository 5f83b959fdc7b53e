/*
 * smtpd_cmd.c - SMTP command line parsing (see smtpd_cmd.h).
 *
 * Paths are parsed by lib/addr; this file adds the command syntax around
 * them and validates the ESMTP parameters of RFC 1870 (SIZE), RFC 6152
 * (BODY), RFC 6531 (SMTPUTF8), RFC 3461 (RET, ENVID, NOTIFY, ORCPT) and
 * RFC 3030 (BDAT). An address given without angle brackets (allowed
 * unless strict_rfc821_envelopes) may not be followed by parameters:
 * "MAIL FROM:bad address" is a syntax error, not an unknown option.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mem.h"
#include "smtpd_cmd.h"

static const struct {
	const char *verb;
	enum smtpd_verb id;
} smtpd_cmd_verbs[] = {
	{ "HELO", SMTPD_VERB_HELO },
	{ "EHLO", SMTPD_VERB_EHLO },
	{ "STARTTLS", SMTPD_VERB_STARTTLS },
	{ "AUTH", SMTPD_VERB_AUTH },
	{ "MAIL", SMTPD_VERB_MAIL },
	{ "RCPT", SMTPD_VERB_RCPT },
	{ "DATA", SMTPD_VERB_DATA },
	{ "BDAT", SMTPD_VERB_BDAT },
	{ "RSET", SMTPD_VERB_RSET },
	{ "NOOP", SMTPD_VERB_NOOP },
	{ "QUIT", SMTPD_VERB_QUIT },
	{ "HELP", SMTPD_VERB_HELP },
	{ "VRFY", SMTPD_VERB_VRFY },
	{ "CONNECT", SMTPD_VERB_FORBIDDEN },
	{ "GET", SMTPD_VERB_FORBIDDEN },
	{ "POST", SMTPD_VERB_FORBIDDEN },
};

static const char *const smtpd_cmd_names[SMTPD_VERB_COUNT] = {
	[SMTPD_VERB_UNKNOWN] = "unknown",
	[SMTPD_VERB_HELO] = "helo",
	[SMTPD_VERB_EHLO] = "ehlo",
	[SMTPD_VERB_STARTTLS] = "starttls",
	[SMTPD_VERB_AUTH] = "auth",
	[SMTPD_VERB_MAIL] = "mail",
	[SMTPD_VERB_RCPT] = "rcpt",
	[SMTPD_VERB_DATA] = "data",
	[SMTPD_VERB_BDAT] = "bdat",
	[SMTPD_VERB_RSET] = "rset",
	[SMTPD_VERB_NOOP] = "noop",
	[SMTPD_VERB_QUIT] = "quit",
	[SMTPD_VERB_HELP] = "help",
	[SMTPD_VERB_VRFY] = "vrfy",
	[SMTPD_VERB_FORBIDDEN] = "unknown",
};

enum smtpd_verb
smtpd_cmd_verb(const char *line, const char **args_r)
{
	size_t len, i;

	while (*line == ' ' || *line == '\t')
		line++;
	len = strcspn(line, " \t");
	*args_r = line + len;
	while (**args_r == ' ' || **args_r == '\t')
		(*args_r)++;
	for (i = 0; i < sizeof(smtpd_cmd_verbs) / sizeof(smtpd_cmd_verbs[0]);
	    i++) {
		if (strlen(smtpd_cmd_verbs[i].verb) == len &&
		    strncasecmp(line, smtpd_cmd_verbs[i].verb, len) == 0)
			return smtpd_cmd_verbs[i].id;
	}
	return SMTPD_VERB_UNKNOWN;
}

const char *
smtpd_cmd_name(enum smtpd_verb verb)
{
	if ((int)verb < 0 || verb >= SMTPD_VERB_COUNT)
		return "unknown";
	return smtpd_cmd_names[verb];
}

static bool
smtpd_cmd_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Strip "FROM:" / "TO:" and check the bracket rule. Returns the path text
 * or NULL when the keyword is missing. */
static const char *
smtpd_cmd_path_text(const char *args, const char *keyword, bool strict,
    bool *ambiguous_r)
{
	size_t klen = strlen(keyword);
	const char *p;

	*ambiguous_r = false;
	if (strncasecmp(args, keyword, klen) != 0)
		return NULL;
	p = args + klen;
	if (!strict)
		while (*p == ' ' || *p == '\t')
			p++;
	if (*p != '<') {
		const char *end = p + strlen(p);

		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (memchr(p, ' ', (size_t)(end - p)) != NULL ||
		    memchr(p, '\t', (size_t)(end - p)) != NULL)
			*ambiguous_r = true;
	}
	return p;
}

static bool
smtpd_cmd_digits(const char *s, uint64_t *value_r)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;		/* saturate: still "too big" */
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*value_r = v;
	return true;
}

void
smtpd_mail_release(struct smtpd_mail *m)
{
	xfree(&m->sender);
	xfree(&m->body);
	xfree(&m->ret);
	xfree(&m->envid);
	xfree(&m->auth);
	memset(m, 0, sizeof(*m));
}

int
smtpd_cmd_mail(const char *args, bool strict, bool smtputf8_enable,
    uint64_t size_limit, struct smtpd_mail *out, char **reply_r)
{
	struct addr_path path;
	const char *text, *error;
	bool ambiguous;
	size_t i;

	memset(out, 0, sizeof(*out));
	*reply_r = NULL;
	text = smtpd_cmd_path_text(args, "FROM:", strict, &ambiguous);
	if (text == NULL) {
		*reply_r = xstrdup("501 5.5.4 Syntax: MAIL FROM:<address>");
		return -1;
	}
	if (ambiguous || addr_parse_path(text, strict, &path, &error) < 0) {
		*reply_r = xstrdup("501 5.1.7 Bad sender address syntax");
		return -1;
	}
	out->sender = xstrdup(path.address);
	for (i = 0; i < path.param_count && *reply_r == NULL; i++) {
		const char *name = path.params[i].name;
		const char *value = path.params[i].value;

		if (strcmp(name, "SIZE") == 0) {
			if (!smtpd_cmd_digits(value, &out->size))
				*reply_r = xstrdup("501 5.5.4 Bad message "
				    "size syntax");
			else if (size_limit > 0 && out->size > size_limit)
				*reply_r = xstrdup("552 5.3.4 Message size "
				    "exceeds fixed limit");
		} else if (strcmp(name, "BODY") == 0) {
			if (value != NULL && (strcasecmp(value, "7BIT") == 0 ||
			    strcasecmp(value, "8BITMIME") == 0)) {
				xfree(&out->body);
				out->body = xstrdup(strcasecmp(value, "7BIT")
				    == 0 ? "7BIT" : "8BITMIME");
			} else if (value != NULL &&
			    strcasecmp(value, "BINARYMIME") == 0) {
				*reply_r = xstrdup("555 5.5.4 Unsupported "
				    "option: BODY=BINARYMIME");
			} else {
				*reply_r = xstrdup("501 5.5.4 Bad BODY "
				    "keyword value");
			}
		} else if (strcmp(name, "SMTPUTF8") == 0) {
			if (!smtputf8_enable)
				*reply_r = xstrdup("555 5.5.4 Unsupported "
				    "option: SMTPUTF8");
			else if (value != NULL)
				*reply_r = xstrdup("501 5.5.4 Bad SMTPUTF8 "
				    "parameter syntax");
			else
				out->smtputf8 = true;
		} else if (strcmp(name, "RET") == 0) {
			if (value != NULL && (strcasecmp(value, "FULL") == 0 ||
			    strcasecmp(value, "HDRS") == 0)) {
				xfree(&out->ret);
				out->ret = xstrdup(strcasecmp(value, "FULL")
				    == 0 ? "FULL" : "HDRS");
			} else {
				*reply_r = xstrdup("501 5.5.4 Bad RET "
				    "parameter syntax");
			}
		} else if (strcmp(name, "ENVID") == 0) {
			char *envid = value != NULL && *value != '\0' &&
			    strlen(value) <= 100 ?
			    addr_xtext_decode(value) : NULL;

			if (envid == NULL) {
				*reply_r = xstrdup("501 5.5.4 Bad ENVID "
				    "parameter syntax");
			} else {
				xfree(&out->envid);
				out->envid = envid;
			}
		} else if (strcmp(name, "AUTH") == 0) {
			/* RFC 4954 5: xtext; "<>" is no identity. The
			 * session ignores it unless the client authenticated
			 * (smtpd_auth.c). */
			char *auth = value != NULL && *value != '\0' &&
			    strlen(value) <= 1000 ?
			    addr_xtext_decode(value) : NULL;

			if (auth == NULL) {
				*reply_r = xstrdup("501 5.5.4 Bad AUTH "
				    "parameter syntax");
			} else if (strcmp(auth, "<>") == 0 ||
			    !smtpd_cmd_ascii(auth)) {
				xfree(&auth);
				xfree(&out->auth);
			} else {
				xfree(&out->auth);
				out->auth = auth;
			}
		} else {
			*reply_r = xasprintf("555 5.5.4 Unsupported option: "
			    "%s", name);
		}
	}
	if (*reply_r == NULL && !out->smtputf8 &&
	    !smtpd_cmd_ascii(out->sender))
		*reply_r = xstrdup("553 5.6.7 Must declare SMTPUTF8 to send "
		    "unicode address");
	addr_path_release(&path);
	if (*reply_r != NULL) {
		smtpd_mail_release(out);
		return -1;
	}
	return 0;
}

void
smtpd_rcpt_release(struct smtpd_rcpt *r)
{
	xfree(&r->address);
	xfree(&r->orcpt);
	xfree(&r->notify);
}

/* NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1). */
static char *
smtpd_cmd_notify(const char *value)
{
	char *copy, *p, *word, *result = NULL;
	bool never = false, other = false, seen[3] = { false, false, false };
	static const char *const names[3] = { "SUCCESS", "FAILURE", "DELAY" };
	size_t i;

	if (value == NULL || *value == '\0')
		return NULL;
	copy = xstrdup(value);
	for (word = copy; word != NULL; word = p) {
		p = strchr(word, ',');
		if (p != NULL)
			*p++ = '\0';
		if (strcasecmp(word, "NEVER") == 0) {
			never = true;
			continue;
		}
		for (i = 0; i < 3; i++)
			if (strcasecmp(word, names[i]) == 0)
				break;
		if (i == 3)
			goto out;
		seen[i] = true;
		other = true;
	}
	if (never && other)
		goto out;
	if (never) {
		result = xstrdup("NEVER");
	} else {
		result = xasprintf("%s%s%s%s%s",
		    seen[0] ? "SUCCESS" : "",
		    seen[0] && (seen[1] || seen[2]) ? "," : "",
		    seen[1] ? "FAILURE" : "",
		    seen[1] && seen[2] ? "," : "",
		    seen[2] ? "DELAY" : "");
	}
out:
	xfree(&copy);
	return result;
}

/* ORCPT=addr-type;xtext (RFC 3461 4.2), kept as "type;decoded". */
static char *
smtpd_cmd_orcpt(const char *value)
{
	const char *semi;
	char *decoded, *result;
	size_t i;

	if (value == NULL || strlen(value) > 500)
		return NULL;
	semi = strchr(value, ';');
	if (semi == NULL || semi == value)
		return NULL;
	for (i = 0; value + i < semi; i++)
		if (!isalnum((unsigned char)value[i]) && value[i] != '-')
			return NULL;
	decoded = addr_xtext_decode(semi + 1);
	if (decoded == NULL || *decoded == '\0') {
		xfree(&decoded);
		return NULL;
	}
	result = xasprintf("%.*s;%s", (int)(semi - value), value, decoded);
	xfree(&decoded);
	return result;
}

int
smtpd_cmd_rcpt(const char *args, bool strict, bool smtputf8,
    struct smtpd_rcpt *out, char **reply_r)
{
	struct addr_path path;
	const char *text, *error;
	bool ambiguous;
	size_t i;

	memset(out, 0, sizeof(*out));
	*reply_r = NULL;
	text = smtpd_cmd_path_text(args, "TO:", strict, &ambiguous);
	if (text == NULL) {
		*reply_r = xstrdup("501 5.5.4 Syntax: RCPT TO:<address>");
		return -1;
	}
	if (ambiguous || addr_parse_path(text, strict, &path, &error) < 0) {
		*reply_r = xstrdup("501 5.1.3 Bad recipient address syntax");
		return -1;
	}
	if (*path.address == '\0') {
		addr_path_release(&path);
		*reply_r = xstrdup("501 5.1.3 Bad recipient address syntax");
		return -1;
	}
	out->address = xstrdup(path.address);
	for (i = 0; i < path.param_count && *reply_r == NULL; i++) {
		const char *name = path.params[i].name;
		const char *value = path.params[i].value;

		if (strcmp(name, "NOTIFY") == 0) {
			xfree(&out->notify);
			out->notify = smtpd_cmd_notify(value);
			if (out->notify == NULL)
				*reply_r = xstrdup("501 5.5.4 Error: Bad "
				    "NOTIFY parameter syntax");
		} else if (strcmp(name, "ORCPT") == 0) {
			xfree(&out->orcpt);
			out->orcpt = smtpd_cmd_orcpt(value);
			if (out->orcpt == NULL)
				*reply_r = xstrdup("501 5.5.4 Error: Bad "
				    "ORCPT parameter syntax");
		} else {
			*reply_r = xasprintf("555 5.5.4 Unsupported option: "
			    "%s", name);
		}
	}
	if (*reply_r == NULL && !smtputf8 && !smtpd_cmd_ascii(out->address))
		*reply_r = xstrdup("553 5.6.7 Must declare SMTPUTF8 to send "
		    "unicode address");
	addr_path_release(&path);
	if (*reply_r != NULL) {
		smtpd_rcpt_release(out);
		return -1;
	}
	return 0;
}

int
smtpd_cmd_bdat(const char *args, uint64_t *size_r, bool *last_r)
{
	size_t len = strspn(args, "0123456789");
	const char *p = args + len;
	char digits[24];

	*last_r = false;
	if (len == 0 || len >= sizeof(digits) || (*p != ' ' && *p != '\0'))
		return -1;
	memcpy(digits, args, len);
	digits[len] = '\0';
	if (!smtpd_cmd_digits(digits, size_r))
		return -1;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	if (strncasecmp(p, "LAST", 4) != 0)
		return -1;
	p += 4;
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return -1;
	*last_r = true;
	return 0;
}

bool
smtpd_cmd_helo_valid(const char *name)
{
	if (*name == '\0')
		return false;
	for (; *name; name++)
		if ((unsigned char)*name <= ' ' || (unsigned char)*name >= 0x7f)
			return false;
	return true;
}
