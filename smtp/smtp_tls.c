/*
 * smtp_tls.c - STARTTLS for the SMTP client, with OpenSSL.
 *
 * One client context per process, made before the jail by lib/tls (TLS
 * 1.2 or newer, the log line format shared with smtpd), with the CA file
 * and path from smtp_tls_CAfile/smtp_tls_CApath, or the system bundle
 * (loaded as a file: a hashed directory cannot be read from inside the
 * chroot). The handshake never fails on the certificate
 * itself (SSL_VERIFY_NONE); afterwards the chain result and the name
 * check decide what the policy allows, and the log says which it was:
 *   Untrusted  no valid chain to a trusted CA
 *   Trusted    valid chain, name not checked or not matching
 *   Verified   valid chain and a name from the policy's match list
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "smtp.h"
#include "smtp_io.h"
#include "tls.h"

static SSL_CTX *smtp_tls_ctx;

int
smtp_tls_init(char **error_r)
{
	const char *cafile = config_get("smtp_tls_CAfile");
	const char *capath = config_get("smtp_tls_CApath");
	SSL_CTX *ctx;

	*error_r = NULL;
	if ((ctx = tls_client_context(error_r)) == NULL)
		return -1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (*cafile != '\0' || *capath != '\0') {
		if (SSL_CTX_load_verify_locations(ctx,
		    *cafile != '\0' ? cafile : NULL,
		    *capath != '\0' ? capath : NULL) != 1) {
			*error_r = tls_error_text(*cafile != '\0' ?
			    cafile : capath);
			SSL_CTX_free(ctx);
			return -1;
		}
	} else if (SSL_CTX_load_verify_file(ctx,
	    X509_get_default_cert_file()) != 1) {
		/* No system bundle: "may" still works, verify cannot. */
		ERR_clear_error();
		log_warn("no CA bundle at %s: certificates will not verify "
		    "(set smtp_tls_CAfile)", X509_get_default_cert_file());
	}
	smtp_tls_ctx = ctx;
	return 0;
}

bool
smtp_tls_available(void)
{
	return smtp_tls_ctx != NULL;
}

/* Does the certificate match one of the policy's names? */
static bool
smtp_tls_name_match(X509 *cert, const struct smtp_tls_policy *p,
    const char *peer_name)
{
	static const char *const hostname_only[] = { "hostname", NULL };
	const char *const *match = p->match != NULL ?
	    (const char *const *)p->match : hostname_only;
	size_t i;

	for (i = 0; match[i] != NULL; i++) {
		const char *name = match[i];
		char *dot = NULL;
		int r;

		if (strcasecmp(name, "hostname") == 0)
			name = peer_name;
		else if (strcasecmp(name, "nexthop") == 0)
			name = p->nexthop;
		else if (strcasecmp(name, "dot-nexthop") == 0 &&
		    p->nexthop != NULL)
			name = dot = xasprintf(".%s", p->nexthop);
		if (name == NULL || *name == '\0')
			continue;
		/* A leading dot matches any subdomain (Postfix's rule). */
		r = X509_check_host(cert, name, strlen(name), name[0] == '.' ?
		    X509_CHECK_FLAG_SINGLE_LABEL_SUBDOMAINS : 0, NULL);
		free(dot);
		if (r == 1)
			return true;
	}
	return false;
}

int
smtp_io_starttls(struct smtp_io *io, const struct smtp_tls_policy *p,
    char **error_r)
{
	int64_t deadline = io_now_ms() + io->timeout_ms;
	unsigned char bin[16];
	const char *trust;
	X509 *cert;
	bool trusted, verified;
	SSL *ssl;

	*error_r = NULL;
	if (smtp_tls_ctx == NULL) {
		*error_r = xstrdup("TLS is not available (no context)");
		return -1;
	}
	if ((ssl = SSL_new(smtp_tls_ctx)) == NULL ||
	    SSL_set_fd(ssl, io->fd) != 1) {
		*error_r = tls_error_text("cannot start TLS");
		SSL_free(ssl);
		return -1;
	}
	/* SNI with the MX name (never an address: RFC 6066 3). */
	if (inet_pton(AF_INET, io->peer_name, bin) != 1 &&
	    inet_pton(AF_INET6, io->peer_name, bin) != 1)
		SSL_set_tlsext_host_name(ssl, io->peer_name);
	SSL_set_connect_state(ssl);
	for (;;) {
		int r = SSL_connect(ssl);
		short wait_for;

		if (r == 1)
			break;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			wait_for = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			wait_for = POLLOUT;
			break;
		default:
			*error_r = tls_error_text("TLS handshake failed");
			SSL_free(ssl);
			return -1;
		}
		if (io_wait(io->fd, wait_for, deadline) < 0) {
			*error_r = xasprintf("TLS handshake failed: %s",
			    strerror(errno));
			SSL_free(ssl);
			return -1;
		}
	}
	io->ssl = ssl;
	cert = SSL_get1_peer_certificate(ssl);
	trusted = cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
	verified = trusted && smtp_tls_name_match(cert, p, io->peer_name);
	trust = verified ? "Verified" : trusted ? "Trusted" : "Untrusted";
	{
		char peer[512];

		snprintf(peer, sizeof(peer), "%s[%s]:%d", io->peer_name,
		    io->peer_addr, io->peer_port);
		tls_log_established(ssl, trust, "to", peer);
	}
	if (p->level == SMTP_TLS_VERIFY && !verified) {
		if (cert == NULL)
			*error_r = xstrdup("Server certificate not verified: "
			    "no certificate");
		else if (!trusted)
			*error_r = xasprintf("Server certificate not verified: "
			    "%s", X509_verify_cert_error_string(
			    SSL_get_verify_result(ssl)));
		else
			*error_r = xstrdup("Server certificate not verified: "
			    "name does not match");
		X509_free(cert);
		return -2;
	}
	X509_free(cert);
	return 0;
}
