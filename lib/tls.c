/*
 * tls.c - TLS policy, certificates and log lines shared by smtpd and smtp
 * (see tls.h).
 *
 * Certificate files are read with PEM_read_bio() one object at a time, so
 * that a file may mix keys and certificates in Postfix's chain-file order:
 * a private key starts a new group, the first certificate after it is that
 * key's certificate and the following ones its chain. Objects of other
 * types (EC PARAMETERS, ...) are skipped. Encrypted keys are refused: a
 * daemon has nobody to ask for a passphrase.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "mem.h"
#include "tls.h"

/* Forward secrecy only: ECDHE or DHE key exchange, AEAD first. */
#define TLS_CIPHERS_HIGH \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:" \
	"!aNULL:!eNULL:!PSK:!SRP:!DSS:!kRSA"
#define TLS_CIPHERS_MEDIUM \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:" \
	"ECDHE+AES:DHE+AES:!aNULL:!eNULL:!PSK:!SRP:!DSS:!kRSA:!SHA1"

int
tls_init(void)
{
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1)
		return -1;
	return 0;
}

char *
tls_error_text(const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256];

	if (e == 0)
		return xstrdup(what);
	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return xasprintf("%s: %s", what, text);
}

/* -- protocols ------------------------------------------------------------ */

static const struct {
	const char *name;
	int version;
} tls_protocol_names[] = {
	{ "SSLv2", 0x0002 },
	{ "SSLv3", 0x0300 },
	{ "TLSv1", 0x0301 },
	{ "TLSv1.1", 0x0302 },
	{ "TLSv1.2", TLS_PROTO_TLS1_2 },
	{ "TLSv1.3", TLS_PROTO_TLS1_3 },
};
#define TLS_PROTOCOL_COUNT \
	(sizeof(tls_protocol_names) / sizeof(tls_protocol_names[0]))

static int
tls_protocol_index(const char *name, size_t len)
{
	for (size_t i = 0; i < TLS_PROTOCOL_COUNT; i++)
		if (strlen(tls_protocol_names[i].name) == len &&
		    strncasecmp(tls_protocol_names[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int
tls_protocols_parse(const char *spec, int *min_r, int *max_r,
    char **error_r)
{
	bool include[TLS_PROTOCOL_COUNT] = { false };
	bool exclude[TLS_PROTOCOL_COUNT] = { false };
	bool any_include = false;
	size_t lower = 0, upper = TLS_PROTOCOL_COUNT - 1;
	const char *p = spec ? spec : "";
	int low = -1, high = -1;

	*error_r = NULL;
	while (*p != '\0') {
		size_t len = strcspn(p, " \t,:");
		const char *word = p;
		int kind = 0, i;	/* 0 include, 1 !, 2 >=, 3 <= */

		if (len == 0) {
			p++;
			continue;
		}
		p += len;
		if (word[0] == '!') {
			kind = 1;
			word++;
			len--;
		} else if (len >= 2 && strncmp(word, ">=", 2) == 0) {
			kind = 2;
			word += 2;
			len -= 2;
		} else if (len >= 2 && strncmp(word, "<=", 2) == 0) {
			kind = 3;
			word += 2;
			len -= 2;
		}
		if ((i = tls_protocol_index(word, len)) < 0) {
			*error_r = xasprintf("unknown TLS protocol \"%.*s\"",
			    (int)(len > 40 ? 40 : len), word);
			return -1;
		}
		switch (kind) {
		case 0: include[i] = true; any_include = true; break;
		case 1: exclude[i] = true; break;
		case 2: if ((size_t)i > lower) lower = (size_t)i; break;
		case 3: if ((size_t)i < upper) upper = (size_t)i; break;
		}
	}
	for (size_t i = 0; i < TLS_PROTOCOL_COUNT; i++) {
		int v = tls_protocol_names[i].version;

		if ((any_include && !include[i]) || exclude[i] || i < lower ||
		    i > upper || v < TLS_PROTO_TLS1_2)
			continue;
		if (low < 0)
			low = v;
		high = v;
	}
	if (low < 0) {
		*error_r = xasprintf("\"%s\" leaves no protocol at TLSv1.2 or "
		    "above", spec ? spec : "");
		return -1;
	}
	/* One range: TLSv1.2 and 1.3 are neighbours, so no gap can hide. */
	*min_r = low;
	*max_r = high;
	return 0;
}

const char *
tls_cipher_list(const char *grade)
{
	if (grade == NULL || *grade == '\0' || strcasecmp(grade, "medium") == 0)
		return TLS_CIPHERS_MEDIUM;
	if (strcasecmp(grade, "high") == 0)
		return TLS_CIPHERS_HIGH;
	return NULL;
}

/* -- contexts ------------------------------------------------------------- */

static SSL_CTX *
tls_context(const SSL_METHOD *method, char **error_r)
{
	SSL_CTX *ctx;

	if (tls_init() < 0 || (ctx = SSL_CTX_new(method)) == NULL) {
		*error_r = tls_error_text("cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_client_context(char **error_r)
{
	*error_r = NULL;
	/* OpenSSL's default cipher list: see tls.h. */
	return tls_context(TLS_client_method(), error_r);
}

/* A key and its certificates while a file is read. */
struct tls_group {
	EVP_PKEY *key;
	STACK_OF(X509) *certs;	/* leaf first */
	const char *file;	/* where the key was */
};

static void
tls_group_clear(struct tls_group *g)
{
	EVP_PKEY_free(g->key);
	sk_X509_pop_free(g->certs, X509_free);
	memset(g, 0, sizeof(*g));
}

/* Install one key with its certificate and chain. */
static int
tls_group_use(SSL_CTX *ctx, struct tls_group *g, char **error_r)
{
	X509 *leaf;

	if (g->key == NULL)
		return 0;
	if (g->certs == NULL || sk_X509_num(g->certs) == 0) {
		*error_r = xasprintf("%s: private key without a certificate",
		    g->file);
		return -1;
	}
	leaf = sk_X509_value(g->certs, 0);
	if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, g->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char *what = xasprintf("%s: certificate and key", g->file);

		*error_r = tls_error_text(what);
		xfree(&what);
		return -1;
	}
	/* The chain of the certificate just installed (per key type). */
	SSL_CTX_clear_chain_certs(ctx);
	for (int i = 1; i < sk_X509_num(g->certs); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(g->certs,
		    i)) != 1) {
			char *what = xasprintf("%s: chain", g->file);

			*error_r = tls_error_text(what);
			xfree(&what);
			return -1;
		}
	return 0;
}

/* Read the PEM objects of file into the current group (*g), starting a
 * new group at each key (the finished one is installed). keys: take
 * private keys from this file; certs: take certificates. */
static int
tls_read_pem(SSL_CTX *ctx, const char *file, bool keys, bool certs,
    struct tls_group *g, int *keys_r, int *certs_r, char **error_r)
{
	FILE *fp = fopen(file, "r");
	BIO *bio;
	int rc = 0;

	if (fp == NULL) {
		*error_r = xasprintf("%s: cannot open: %s", file,
		    strerror(errno));
		return -1;
	}
	if ((bio = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		fclose(fp);
		*error_r = tls_error_text(file);
		return -1;
	}
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		const unsigned char *p;
		long len = 0;
		size_t n;

		if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				ERR_clear_error();	/* end of file */
			else {
				*error_r = tls_error_text(file);
				rc = -1;
			}
			break;
		}
		p = data;
		n = strlen(name);
		if (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "TRUSTED CERTIFICATE") == 0) {
			X509 *x = d2i_X509(NULL, &p, len);

			if (x == NULL) {
				*error_r = tls_error_text(file);
				rc = -1;
			} else if (!certs) {
				X509_free(x);
			} else {
				if (g->certs == NULL)
					g->certs = sk_X509_new_null();
				if (g->certs == NULL ||
				    !sk_X509_push(g->certs, x)) {
					X509_free(x);
					*error_r = tls_error_text(file);
					rc = -1;
				}
				++*certs_r;
			}
		} else if (n >= 11 && strcmp(name + n - 11, "PRIVATE KEY") ==
		    0 && keys) {
			EVP_PKEY *k = NULL;

			if (strstr(name, "ENCRYPTED") != NULL ||
			    strstr(header, "ENCRYPTED") != NULL) {
				*error_r = xasprintf("%s: the private key is "
				    "encrypted (a daemon cannot ask for a "
				    "passphrase)", file);
				rc = -1;
			} else if ((k = d2i_AutoPrivateKey(NULL, &p, len)) ==
			    NULL) {
				*error_r = tls_error_text(file);
				rc = -1;
			} else {
				if (tls_group_use(ctx, g, error_r) < 0) {
					EVP_PKEY_free(k);
					rc = -1;
				} else {
					tls_group_clear(g);
					g->key = k;
					g->file = file;
					++*keys_r;
				}
			}
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (rc < 0)
			break;
	}
	BIO_free(bio);
	return rc;
}

/* Load the certificates and keys of c into ctx. */
static int
tls_load_keys(SSL_CTX *ctx, const struct tls_server_config *c,
    char **error_r)
{
	struct tls_group g = { 0 };
	int keys = 0, certs = 0, rc = 0;

	if (c->chain_files != NULL && c->chain_files[0] != NULL) {
		for (size_t i = 0; c->chain_files[i] != NULL && rc == 0; i++)
			rc = tls_read_pem(ctx, c->chain_files[i], true, true,
			    &g, &keys, &certs, error_r);
		if (rc == 0 && keys == 0) {
			*error_r = xasprintf("%s: no private key",
			    c->chain_files[0]);
			rc = -1;
		}
	} else if (c->cert_file != NULL && *c->cert_file != '\0') {
		const char *key_file = c->key_file != NULL &&
		    *c->key_file != '\0' ? c->key_file : c->cert_file;
		int ignored = 0;

		/* The key first, so that the certificates join its group. */
		rc = tls_read_pem(ctx, key_file, true, false, &g, &keys,
		    &ignored, error_r);
		if (rc == 0 && keys == 0) {
			*error_r = xasprintf("%s: no private key", key_file);
			rc = -1;
		}
		if (rc == 0)
			rc = tls_read_pem(ctx, c->cert_file, false, true, &g,
			    &ignored, &certs, error_r);
		if (rc == 0 && certs == 0) {
			*error_r = xasprintf("%s: no certificate",
			    c->cert_file);
			rc = -1;
		}
		g.file = c->cert_file;
	} else {
		*error_r = xstrdup("no certificate configured "
		    "(smtpd_tls_chain_files or smtpd_tls_cert_file)");
		return -1;
	}
	if (rc == 0)
		rc = tls_group_use(ctx, &g, error_r);
	tls_group_clear(&g);
	return rc;
}

SSL_CTX *
tls_server_context(const struct tls_server_config *c, char **error_r)
{
	const char *ciphers = tls_cipher_list(c->ciphers);
	int min, max;
	SSL_CTX *ctx;

	*error_r = NULL;
	if (ciphers == NULL) {
		*error_r = xasprintf("cipher grade \"%s\": only medium or "
		    "high", c->ciphers);
		return NULL;
	}
	if (tls_protocols_parse(c->protocols, &min, &max, error_r) < 0)
		return NULL;
	if ((ctx = tls_context(TLS_server_method(), error_r)) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TICKET);
	/* No session cache: every process is short-lived and jailed;
	 * resumption would need a shared cache (Postfix's tlsmgr). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		*error_r = tls_error_text("cipher list");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls_load_keys(ctx, c, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* -- log ------------------------------------------------------------------ */

void
tls_describe(SSL *ssl, char *out, size_t size)
{
	int alg_bits = 0;
	int bits = SSL_get_cipher_bits(ssl, &alg_bits);

	snprintf(out, size, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl), bits, alg_bits);
}

void
tls_log_established(SSL *ssl, const char *trust, const char *direction,
    const char *peer)
{
	char text[256];

	tls_describe(ssl, text, sizeof(text));
	log_info("%s TLS connection established %s %s: %s", trust, direction,
	    peer, text);
}

void
tls_context_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}
