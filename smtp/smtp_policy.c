/*
 * smtp_policy.c - TLS policy words and SASL client framing.
 *
 * smtp_tls_security_level and smtp_tls_policy_maps values use Postfix's
 * words: none, may, encrypt, verify (secure is taken as verify: both
 * need a trusted chain and a matching name; postern has no separate
 * "secure" name rules yet). dane and dane-only are refused rather than
 * silently weakened. SASL PLAIN (RFC 4616) and LOGIN are simple enough
 * to frame here; the password only ever goes to the server.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "config.h"
#include "mem.h"
#include "smtp.h"

static const char *const smtp_tls_level_names[] = {
	[SMTP_TLS_NONE] = "none",
	[SMTP_TLS_MAY] = "may",
	[SMTP_TLS_ENCRYPT] = "encrypt",
	[SMTP_TLS_VERIFY] = "verify",
};

int
smtp_tls_level_parse(const char *word, enum smtp_tls_level *level_r)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_tls_level_names) /
	    sizeof(smtp_tls_level_names[0]); i++) {
		if (strcasecmp(word, smtp_tls_level_names[i]) == 0) {
			*level_r = (enum smtp_tls_level)i;
			return 0;
		}
	}
	if (strcasecmp(word, "secure") == 0) {
		*level_r = SMTP_TLS_VERIFY;
		return 0;
	}
	return -1;
}

const char *
smtp_tls_level_name(enum smtp_tls_level level)
{
	if ((size_t)level < sizeof(smtp_tls_level_names) /
	    sizeof(smtp_tls_level_names[0]))
		return smtp_tls_level_names[level];
	return "?";
}

int
smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *p,
    char **error_r)
{
	char **words = config_split_list(value);
	size_t i;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	*error_r = NULL;
	if (words == NULL || words[0] == NULL) {
		*error_r = xstrdup("empty TLS policy");
		goto out;
	}
	if (smtp_tls_level_parse(words[0], &p->level) < 0) {
		*error_r = xasprintf("unsupported TLS security level \"%s\"",
		    words[0]);
		goto out;
	}
	for (i = 1; words[i] != NULL; i++) {
		if (strncasecmp(words[i], "match=", 6) == 0) {
			const char *m = words[i] + 6, *colon;
			size_t n = 0;

			if (*m == '\0') {
				*error_r = xstrdup("empty match= in TLS "
				    "policy");
				goto out;
			}
			config_list_free(&p->match);
			for (colon = m; colon != NULL;
			    colon = strchr(colon + 1, ':'))
				n++;
			p->match = xcalloc(n + 1, sizeof(*p->match));
			for (n = 0; *m != '\0'; n++) {
				colon = strchr(m, ':');
				p->match[n] = colon != NULL ?
				    xstrndup(m, (size_t)(colon - m)) :
				    xstrdup(m);
				m = colon != NULL ? colon + 1 : m + strlen(m);
			}
		}
		/* ciphers=, protocols=, exclude=: Postfix's, not ours. */
	}
	ret = 0;
out:
	config_list_free(&words);
	return ret;
}

void
smtp_tls_policy_release(struct smtp_tls_policy *p)
{
	config_list_free(&p->match);
	memset(p, 0, sizeof(*p));
}

int
smtp_sasl_split(const char *value, char **user_r, char **password_r)
{
	const char *colon = strchr(value, ':');

	*user_r = *password_r = NULL;
	if (colon == NULL || colon == value)
		return -1;
	*user_r = xstrndup(value, (size_t)(colon - value));
	*password_r = xstrdup(colon + 1);
	return 0;
}

char *
smtp_base64(const void *data, size_t len)
{
	char *out;
	int n;

	if (len > (size_t)(1 << 28))
		len = 0;	/* never happens: credentials are short */
	out = xmalloc((len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[n < 0 ? 0 : n] = '\0';
	return out;
}

char *
smtp_sasl_plain(const char *user, const char *password)
{
	size_t user_len = strlen(user), pass_len = strlen(password);
	size_t len = 1 + user_len + 1 + pass_len;
	char *raw = xmalloc(len), *out;

	raw[0] = '\0';	/* no authorization identity */
	memcpy(raw + 1, user, user_len);
	raw[1 + user_len] = '\0';
	memcpy(raw + 2 + user_len, password, pass_len);
	out = smtp_base64(raw, len);
	explicit_bzero(raw, len);
	free(raw);
	return out;
}
