/*
 * pwcheck.c - answer sasl/1 requests with libsasl2 (see pwcheck.h).
 *
 * Trust: requests come from smtpd over private/sasl (mode 0600 or the
 * master's private socket directory), so only our own processes ask; the
 * user name and password are still the network client's, passed to
 * libsasl2 as opaque bytes of checked length. Neither is ever logged;
 * libsasl2's own messages go to our log through SASL_CB_LOG (they name
 * users at most).
 *
 * Results: SASL_OK is ok (the canonical name from SASL_USERNAME);
 * SASL_TRYAGAIN, SASL_UNAVAIL, SASL_FAIL and SASL_NOMEM are temporary
 * (saslauthd not running, sasldb unreadable: the client hears 454 and
 * tries again); everything else is a wrong user or password.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "pwcheck.h"

#define PWCHECK_FIELD_MAX	1024

static char *pwcheck_app;	/* the name sasl_server_init() was given */
static char *pwcheck_config_path;
static int pwcheck_timeout_ms = 30000;

static int
pwcheck_log(void *context, int level, const char *message)
{
	if (message == NULL)
		return SASL_OK;
	switch (level) {
	case SASL_LOG_ERR:
	case SASL_LOG_FAIL:
		log_warn("SASL: %s", message);
		break;
	case SASL_LOG_WARN:
		log_warn("SASL: %s", message);
		break;
	case SASL_LOG_NOTE:
		log_info("SASL: %s", message);
		break;
	default:
		break;
	}
	return SASL_OK;
}

static int
pwcheck_getconfpath(void *context, const char **path_r)
{
	*path_r = pwcheck_config_path;
	return SASL_OK;
}

void
pwcheck_init(void)
{
	static sasl_callback_t callbacks[3];
	long long t = config_get_time("ipc_timeout");
	int n = 0, rc;

	if (t > 0 && t < 3600)
		pwcheck_timeout_ms = (int)(t * 1000);
	pwcheck_app = xstrdup(config_get("smtpd_sasl_path"));
	pwcheck_config_path = xstrdup(config_get("cyrus_sasl_config_path"));
	callbacks[n].id = SASL_CB_LOG;
	callbacks[n].proc = (int (*)(void))(void (*)(void))pwcheck_log;
	callbacks[n++].context = NULL;
	if (*pwcheck_config_path != '\0') {
		callbacks[n].id = SASL_CB_GETCONFPATH;
		callbacks[n].proc =
		    (int (*)(void))(void (*)(void))pwcheck_getconfpath;
		callbacks[n++].context = NULL;
	}
	callbacks[n].id = SASL_CB_LIST_END;
	callbacks[n].proc = NULL;
	callbacks[n].context = NULL;
	if ((rc = sasl_server_init(callbacks, pwcheck_app)) != SASL_OK)
		log_fatal("SASL server initialization (application %s): %s",
		    pwcheck_app, sasl_errstring(rc, NULL, NULL));
}

enum pwcheck_result
pwcheck_cyrus(const char *user, const char *password, char **canonical_r,
    char **reason_r)
{
	sasl_conn_t *conn = NULL;
	const void *name = NULL;
	enum pwcheck_result result;
	int rc;

	*canonical_r = *reason_r = NULL;
	rc = sasl_server_new("smtp", config_get("myhostname"), NULL, NULL,
	    NULL, NULL, 0, &conn);
	if (rc != SASL_OK) {
		*reason_r = xasprintf("SASL per-connection initialization: "
		    "%s", sasl_errstring(rc, NULL, NULL));
		return PWCHECK_TEMP;
	}
	rc = sasl_checkpass(conn, user, (unsigned)strlen(user), password,
	    (unsigned)strlen(password));
	switch (rc) {
	case SASL_OK:
		result = PWCHECK_OK;
		if (sasl_getprop(conn, SASL_USERNAME, &name) == SASL_OK &&
		    name != NULL)
			*canonical_r = xstrdup(name);
		break;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
	case SASL_FAIL:
	case SASL_NOMEM:
		result = PWCHECK_TEMP;
		*reason_r = xstrdup(sasl_errdetail(conn));
		break;
	default:
		/* "user not found" would tell a guesser which names exist. */
		result = PWCHECK_FAIL;
		*reason_r = xstrdup(sasl_errstring(rc == SASL_NOUSER ?
		    SASL_BADAUTH : rc, NULL, NULL));
		break;
	}
	sasl_dispose(&conn);
	return result;
}

/* A field we pass on: present, not too long, no NUL (rec decodes %00). */
static const char *
pwcheck_field(const struct rec *r, const char *name)
{
	const char *v = rec_get(r, name);

	if (v == NULL || *v == '\0' || strlen(v) > PWCHECK_FIELD_MAX)
		return NULL;
	return v;
}

void
pwcheck_answer(const struct rec *request, struct rec *reply, pwcheck_fn fn)
{
	const char *proto = rec_get(request, "proto");
	const char *user = pwcheck_field(request, "user");
	const char *password = pwcheck_field(request, "password");
	const char *app = rec_get(request, "app");
	char *canonical = NULL, *reason = NULL;
	enum pwcheck_result result;

	rec_reset(reply);
	rec_put(reply, "proto", PROTO_SASL);
	if (proto == NULL || strcmp(proto, PROTO_SASL) != 0 ||
	    user == NULL || password == NULL) {
		rec_put(reply, "status", "temp");
		rec_put(reply, "reason", "malformed request");
		return;
	}
	if (app != NULL && pwcheck_app != NULL && strcmp(app, pwcheck_app) != 0)
		log_warn("smtpd asks for SASL application %s, but this sasl "
		    "service uses %s (smtpd_sasl_path in main.cf)", app,
		    pwcheck_app);
	result = fn(user, password, &canonical, &reason);
	switch (result) {
	case PWCHECK_OK:
		rec_put(reply, "status", "ok");
		rec_put(reply, "user", canonical ? canonical : user);
		break;
	case PWCHECK_FAIL:
		rec_put(reply, "status", "fail");
		rec_put(reply, "reason", reason ? reason :
		    "authentication failure");
		break;
	default:
		log_warn("SASL password check for %s failed: %s",
		    rec_get(request, "client_addr") ?
		    rec_get(request, "client_addr") : "unknown",
		    reason ? reason : "temporary failure");
		rec_put(reply, "status", "temp");
		rec_put(reply, "reason", "temporary failure");
		break;
	}
	xfree(&canonical);
	xfree(&reason);
}

/* The decoded password lives in the record: wipe it. */
static void
pwcheck_wipe(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (strcmp(r->attrs[i].name, "password") == 0)
			explicit_bzero(r->attrs[i].value,
			    strlen(r->attrs[i].value));
}

void
pwcheck_service(int fd)
{
	struct conn *c = conn_new(dup(fd), pwcheck_timeout_ms);
	struct rec *request = rec_new(), *reply = rec_new();

	for (;;) {
		if (rec_read(c, request) < 0) {
			if (errno != ECONNRESET)
				log_warn("reading a sasl/1 request: %m");
			break;
		}
		pwcheck_answer(request, reply, pwcheck_cyrus);
		pwcheck_wipe(request);
		if (rec_write(c, reply) < 0) {
			log_warn("writing a sasl/1 reply: %m");
			break;
		}
	}
	pwcheck_wipe(request);
	rec_free(&request);
	rec_free(&reply);
	conn_free(&c);
}
