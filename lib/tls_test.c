/*
 * tls_test.c - unit tests for lib/tls.c: protocol lists, cipher grades,
 * loading chain files (keys and certificates made here, in a temporary
 * directory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mem.h"
#include "testing.h"
#include "tls.h"

static void
test_protocols(void)
{
	static const struct {
		const char *spec;
		int rc, min, max;
	} cases[] = {
		{ "TLSv1", -1, 0, 0 },	/* nothing at 1.2 or above */
		{ "TLSv1 TLSv1.1", -1, 0, 0 },
		{ "<=TLSv1.1", -1, 0, 0 },
		{ "!TLSv1.2 !TLSv1.3", -1, 0, 0 },
		{ "TLSv9", -1, 0, 0 },		/* unknown name */
		{ ">=", -1, 0, 0 },
		{ "", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_3 },
		{ ">=TLSv1", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_3 },
		{ "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", 0, TLS_PROTO_TLS1_2,
		    TLS_PROTO_TLS1_3 },
		{ "!SSLv2:!SSLv3", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_3 },
		{ ">=TLSv1.2", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_3 },
		{ ">=TLSv1.3", 0, TLS_PROTO_TLS1_3, TLS_PROTO_TLS1_3 },
		{ "<=TLSv1.2", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_2 },
		{ "TLSv1 TLSv1.2", 0, TLS_PROTO_TLS1_2, TLS_PROTO_TLS1_2 },
		{ "tlsv1.3", 0, TLS_PROTO_TLS1_3, TLS_PROTO_TLS1_3 },
		{ "!TLSv1.2", 0, TLS_PROTO_TLS1_3, TLS_PROTO_TLS1_3 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int min = 0, max = 0, rc;
		char *error = NULL;

		rc = tls_protocols_parse(cases[i].spec, &min, &max, &error);
		CHECK(rc == cases[i].rc);
		CHECK((rc < 0) == (error != NULL));
		if (rc == 0) {
			CHECK(min == cases[i].min);
			CHECK(max == cases[i].max);
		}
		if (rc != cases[i].rc)
			fprintf(stderr, "case \"%s\"\n", cases[i].spec);
		free(error);
	}
}

static void
test_ciphers(void)
{
	CHECK(tls_cipher_list("low") == NULL);
	CHECK(tls_cipher_list("export") == NULL);
	CHECK(tls_cipher_list("null") == NULL);
	CHECK(tls_cipher_list("") != NULL);
	CHECK(tls_cipher_list("medium") != NULL);
	CHECK(tls_cipher_list("HIGH") != NULL);
	CHECK(strstr(tls_cipher_list("medium"), "!kRSA") != NULL);
}

static char test_dir[] = "/tmp/tls_test.XXXXXX";

/* A self-signed certificate for a new key of the given type. */
static void
make_pair(const char *type, EVP_PKEY **key_r, X509 **cert_r)
{
	EVP_PKEY *key = strcmp(type, "rsa") == 0 ?
	    EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tls.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, key, EVP_sha256());
	*key_r = key;
	*cert_r = x;
}

static char *
write_pem(const char *name, EVP_PKEY *key, X509 *cert, mode_t mode)
{
	char *path = xasprintf("%s/%s", test_dir, name);
	FILE *fp = fopen(path, "w");

	if (key != NULL)
		PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	if (cert != NULL)
		PEM_write_X509(fp, cert);
	fclose(fp);
	chmod(path, mode);
	return path;
}

static void
test_server_context(void)
{
	EVP_PKEY *rsa_key, *ec_key;
	X509 *rsa_cert, *ec_cert;
	char *rsa_chain, *ec_chain, *cert_only, *key_only, *missing;
	char *files[3] = { NULL, NULL, NULL };
	struct tls_server_config c = { .protocols = "", .ciphers = "" };
	char *error = NULL;
	SSL_CTX *ctx;

	CHECK(mkdtemp(test_dir) != NULL);
	make_pair("rsa", &rsa_key, &rsa_cert);
	make_pair("ec", &ec_key, &ec_cert);
	rsa_chain = write_pem("rsa.pem", rsa_key, rsa_cert, 0600);
	ec_chain = write_pem("ec.pem", ec_key, ec_cert, 0600);
	cert_only = write_pem("cert.pem", NULL, rsa_cert, 0644);
	key_only = write_pem("key.pem", ec_key, NULL, 0600);
	missing = xasprintf("%s/missing.pem", test_dir);

	/* Failures first. */
	ctx = tls_server_context(&c, &error);	/* nothing configured */
	CHECK(ctx == NULL && error != NULL &&
	    strstr(error, "no certificate configured") != NULL);
	free(error);

	c.cert_file = missing;
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL &&
	    strstr(error, "missing.pem: cannot open") != NULL);
	free(error);

	c.cert_file = cert_only;		/* no key anywhere */
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL &&
	    strstr(error, "no private key") != NULL);
	free(error);

	c.key_file = key_only;			/* EC key, RSA cert */
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL);
	free(error);

	files[0] = key_only;		/* key without certificate */
	c.chain_files = files;
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL &&
	    strstr(error, "without a certificate") != NULL);
	free(error);

	c.chain_files = NULL;
	c.cert_file = rsa_chain;
	c.key_file = NULL;
	c.protocols = "TLSv1.1";
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL);
	free(error);
	c.protocols = "";
	c.ciphers = "export";
	ctx = tls_server_context(&c, &error);
	CHECK(ctx == NULL && error != NULL);
	free(error);
	c.ciphers = "";

	/* cert_file holding key and certificate. */
	ctx = tls_server_context(&c, &error);
	CHECK(ctx != NULL && error == NULL);
	if (ctx != NULL) {
		CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
		CHECK(SSL_CTX_get_options(ctx) &
		    SSL_OP_CIPHER_SERVER_PREFERENCE);
	}
	SSL_CTX_free(ctx);

	/* Separate cert and key files. */
	c.cert_file = cert_only;
	c.key_file = rsa_chain;
	ctx = tls_server_context(&c, &error);
	CHECK(ctx != NULL && error == NULL);
	SSL_CTX_free(ctx);

	/* RSA and ECDSA at once. */
	files[0] = rsa_chain;
	files[1] = ec_chain;
	c.chain_files = files;
	c.cert_file = NULL;
	c.protocols = ">=TLSv1.3";
	ctx = tls_server_context(&c, &error);
	CHECK(ctx != NULL && error == NULL);
	if (ctx != NULL) {
		int n = 0;

		CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_3_VERSION);
		if (SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST) == 1)
			do
				n++;
			while (SSL_CTX_set_current_cert(ctx,
			    SSL_CERT_SET_NEXT) == 1);
		CHECK(n == 2);
	}
	SSL_CTX_free(ctx);

	unlink(rsa_chain);
	unlink(ec_chain);
	unlink(cert_only);
	unlink(key_only);
	rmdir(test_dir);
	free(rsa_chain);
	free(ec_chain);
	free(cert_only);
	free(key_only);
	free(missing);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	X509_free(rsa_cert);
	X509_free(ec_cert);
}

static void
test_error_text(void)
{
	char *t;

	ERR_clear_error();
	t = tls_error_text("nothing queued");
	CHECK_STR(t, "nothing queued");
	free(t);
}

int
main(void)
{
	TEST_RUN(test_protocols);
	TEST_RUN(test_ciphers);
	TEST_RUN(test_server_context);
	TEST_RUN(test_error_text);
	return TEST_DONE();
}
