/*
 * tls.h - what the SMTP server and client share about TLS (OpenSSL).
 *
 * Policy: TLS 1.2 or newer only, for smtpd and smtp (never SSLv3, TLS 1.0
 * or 1.1, whatever the configuration says). A server context allows only
 * forward-secret cipher suites (ECDHE or DHE key exchange for TLS 1.2;
 * TLS 1.3 suites are all forward secret) in the server's preference
 * order. A client context keeps OpenSSL's default list: opportunistic
 * TLS to an old server without ECDHE still beats plaintext.
 *
 * Certificates and keys are read here, before the jail (the key is
 * usually root-only): Postfix's smtpd_tls_chain_files (each file holds a
 * private key followed by its certificate chain, leaf first; several keys,
 * such as RSA and ECDSA, may be loaded at once), or the older
 * smtpd_tls_cert_file (certificate, then chain) with smtpd_tls_key_file.
 *
 * Errors come back as one fresh string naming the file and OpenSSL's
 * reason; nothing here logs except tls_log_established().
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* OpenSSL's types without its headers (SSL, SSL_CTX). */
struct ssl_st;
struct ssl_ctx_st;

/* Protocol versions, as tls_protocols_parse() returns them. */
#define TLS_PROTO_TLS1_2	0x0303	/* TLS1_2_VERSION */
#define TLS_PROTO_TLS1_3	0x0304	/* TLS1_3_VERSION */

/* OpenSSL library initialisation; idempotent. Returns 0 or -1. */
int tls_init(void);

/* Parse a Postfix protocol list (smtpd_tls_protocols syntax: "TLSv1.2
 * TLSv1.3", "!SSLv2, !SSLv3, !TLSv1", ">=TLSv1.2", "<=TLSv1.3"; separators
 * are spaces, commas and colons; empty means all) into the range of
 * versions it allows, clamped to TLS 1.2 and up. Returns 0 with *min_r
 * and *max_r set to TLS_PROTO_*, or -1 with *error_r a fresh string (an
 * unknown name, or nothing at TLS 1.2 or above left). */
int tls_protocols_parse(const char *spec, int *min_r, int *max_r,
    char **error_r);

/* The TLS 1.2 cipher list for a Postfix cipher grade ("medium", the
 * default, or "high"; "low", "export" and "null" are refused). Every entry
 * is forward secret. Returns a static string, or NULL for a bad grade. */
const char *tls_cipher_list(const char *grade);

struct tls_server_config {
	char **chain_files;	/* NULL-terminated, may be NULL or empty */
	const char *cert_file;	/* used when chain_files is empty */
	const char *key_file;	/* "" or NULL: the key is in cert_file */
	const char *protocols;	/* tls_protocols_parse() syntax */
	const char *ciphers;	/* tls_cipher_list() grade; "" = medium */
};

/* A server context with the policy above and the certificates and keys of
 * c (each private key checked against its certificate). Returns the
 * context, or NULL with *error_r a fresh string such as
 * "/etc/ssl/private/x.key: cannot open: Permission denied" or "no
 * certificate configured". */
struct ssl_ctx_st *tls_server_context(const struct tls_server_config *c,
    char **error_r);

/* Free a context from either function above; NULL is fine. */
void tls_context_free(struct ssl_ctx_st *ctx);
/* A client context with the protocol policy (no certificate checks set
 * up: the caller adds its CA locations and verification). NULL with
 * *error_r on failure. */
struct ssl_ctx_st *tls_client_context(char **error_r);

/* "what: OpenSSL's first queued error" (or just "what" when the queue is
 * empty), into a fresh string; the error queue is cleared. */
char *tls_error_text(const char *what);

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" for an
 * established connection, into out (truncated to size). */
void tls_describe(struct ssl_st *ssl, char *out, size_t size);

/* Postfix's line for an established connection:
 *   "TRUST TLS connection established DIRECTION PEER: DESCRIPTION"
 * trust is "Anonymous", "Untrusted", "Trusted" or "Verified"; direction
 * "from" (server) or "to" (client); peer "name[addr]" or
 * "name[addr]:port". */
void tls_log_established(struct ssl_st *ssl, const char *trust,
    const char *direction, const char *peer);

#endif
