/*
 * pwcheck.h - the sasl daemon's one job: answer sasl/1 requests (see
 * lib/proto.h) with libsasl2's sasl_checkpass().
 *
 * libsasl2 is set up as Postfix sets it up: the application name is
 * smtpd_sasl_path ("smtpd"), so its configuration is smtpd.conf, looked
 * up in cyrus_sasl_config_path (libsasl2's default path when empty); the
 * service name is "smtp" and the server name myhostname. pwcheck_method
 * in that file decides: saslauthd, or auxprop with sasldb.
 *
 * (Not "sasl_*": that prefix is libsasl2's.)
 */
#ifndef PWCHECK_H
#define PWCHECK_H

#include "rec.h"

enum pwcheck_result {
	PWCHECK_OK,
	PWCHECK_FAIL,		/* wrong user or password */
	PWCHECK_TEMP,		/* the backend failed: try later */
};

/* Check user and password; on PWCHECK_OK *canonical_r may be set to a
 * fresh canonical user name, otherwise *reason_r to a fresh reason for
 * the log (never containing the password). */
typedef enum pwcheck_result (*pwcheck_fn)(const char *user,
    const char *password, char **canonical_r, char **reason_r);

/* Before the jail: sasl_server_init() with the configured application
 * name and configuration path (fatal when libsasl2 refuses). */
void pwcheck_init(void);
/* Serve one connection: sasl/1 requests until EOF. */
void pwcheck_service(int fd);
/* Answer one request into reply (reset first), checking with fn. A
 * request that is not sasl/1 or lacks user or password gets
 * status=temp. */
void pwcheck_answer(const struct rec *request, struct rec *reply,
    pwcheck_fn fn);
/* The libsasl2 checker (after pwcheck_init()). */
enum pwcheck_result pwcheck_cyrus(const char *user, const char *password,
    char **canonical_r, char **reason_r);

#endif
