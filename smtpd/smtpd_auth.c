/*
 * smtpd_auth.c - the SMTP AUTH command (see smtpd_auth.h).
 *
 * Replies, in Postfix's words where Postfix has them:
 *   503 5.5.1 Error: authentication not enabled   (smtpd_sasl_auth_enable=no)
 *   530 5.7.0 Must issue a STARTTLS command first (smtpd_tls_auth_only)
 *   503 5.5.1 Error: send HELO/EHLO first
 *   503 5.5.1 Error: already authenticated
 *   503 5.5.1 Error: MAIL transaction in progress
 *   501 5.5.4 Syntax: AUTH mechanism
 *   504 5.5.4 Unrecognized authentication type    (RFC 4954's text)
 *   334 ...                                       (PLAIN: "334 ", LOGIN:
 *                                                  Username:/Password:)
 *   501 5.7.0 Authentication aborted              (the client sent "*")
 *   501 5.5.2 Cannot decode response              (bad base64)
 *   235 2.7.0 Authentication successful
 *   535 5.7.8 Error: authentication failed: REASON (after
 *                                                  smtpd_error_sleep_time)
 *   454 4.7.0 Temporary authentication failure    (backend unavailable)
 * A failure is logged as "warning: NAME[ADDR]: SASL MECH authentication
 * failed: REASON", the line fail2ban's postfix-sasl filter matches; an
 * unreachable backend as "... failed: Connection lost to authentication
 * server", which that filter deliberately does not count.
 *
 * Decided here: a PLAIN authorization identity must be empty or equal to
 * the authentication identity (no proxy logins); LOGIN accepts an initial
 * response (the user name), as Postfix does. The delay before 535 is
 * smtpd_error_sleep_time, so that each guess costs the client time but
 * no other session waits.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_auth.h"
#include "smtpd_sasl.h"
#include "smtpd_session.h"

#define SMTPD_AUTH_DATA_MAX	4096	/* decoded response */
#define SMTPD_AUTH_REASON_MAX	200

enum smtpd_auth_step {
	SMTPD_AUTH_PLAIN,	/* "334 " sent, waiting for the response */
	SMTPD_AUTH_LOGIN_USER,	/* "334 VXNlcm5hbWU6" sent */
	SMTPD_AUTH_LOGIN_PASS,	/* "334 UGFzc3dvcmQ6" sent */
	SMTPD_AUTH_CHECK,	/* the backend is asked */
	SMTPD_AUTH_DELAY,	/* 535 after the delay */
};

struct smtpd_auth {
	struct smtpd_session *s;
	enum smtpd_auth_step step;
	const char *mechanism;	/* "PLAIN", "LOGIN" */
	char *user;		/* authcid */
	struct smtpd_sasl_request *req;
	struct event_timer delay;
	char *reply;		/* the 535 to send after the delay */
};

/* -- decoding ------------------------------------------------------------ */

static int
smtpd_auth_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
smtpd_auth_base64_decode(const char *in, struct buf *out)
{
	size_t len = strlen(in), i;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		unsigned char bytes[3];

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = smtpd_auth_b64_value(c)) < 0)
				return -1;
		}
		/* "x=y=" is not padding; bits past the data must be zero
		 * (one encoding per input, RFC 4648 3.5). */
		if (pad == 1 && in[i + 2] == '=')
			return -1;
		if ((pad == 2 && (v[1] & 15) != 0) ||
		    (pad == 1 && (v[2] & 3) != 0))
			return -1;
		bytes[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		bytes[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		bytes[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		if (buf_add(out, bytes, (size_t)(3 - pad)) < 0)
			return -1;
	}
	return 0;
}

int
smtpd_auth_plain_split(const char *data, size_t len, char **authzid_r,
    char **authcid_r, char **password_r)
{
	const char *nul1 = memchr(data, '\0', len), *nul2;
	size_t rest;

	*authzid_r = *authcid_r = *password_r = NULL;
	if (nul1 == NULL)
		return -1;
	rest = len - (size_t)(nul1 + 1 - data);
	nul2 = memchr(nul1 + 1, '\0', rest);
	if (nul2 == NULL || nul2 == nul1 + 1)
		return -1;	/* no second NUL, or an empty authcid */
	if (memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - data)) != NULL)
		return -1;
	if ((size_t)(nul2 + 1 - data) == len)
		return -1;	/* empty password */
	*authzid_r = xstrndup(data, (size_t)(nul1 - data));
	*authcid_r = xstrndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	*password_r = xstrndup(nul2 + 1, len - (size_t)(nul2 + 1 - data));
	return 0;
}

/* -- policy -------------------------------------------------------------- */

static bool
smtpd_auth_plaintext_allowed(void)
{
	char **options = config_get_list("smtpd_sasl_security_options");
	bool allowed = true;
	size_t i;

	for (i = 0; options[i] != NULL; i++)
		if (strcasecmp(options[i], "noplaintext") == 0)
			allowed = false;
	config_list_free(&options);
	return allowed;
}

bool
smtpd_auth_offered(const struct smtpd_session *s)
{
	if (!config_get_bool("smtpd_sasl_auth_enable"))
		return false;
	if (config_get_bool("smtpd_tls_auth_only") && !s->tls_active)
		return false;
	return smtpd_auth_plaintext_allowed();
}

void
smtpd_auth_ehlo(const struct smtpd_session *s, struct buf *ehlo)
{
	if (!smtpd_auth_offered(s))
		return;
	(void)buf_add_str(ehlo, "\r\n250-AUTH PLAIN LOGIN");
	if (config_get_bool("broken_sasl_auth_clients"))
		(void)buf_add_str(ehlo, "\r\n250-AUTH=PLAIN LOGIN");
}

const char *
smtpd_auth_protocol(const struct smtpd_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->sasl_user != NULL)
		return s->tls_active ? "ESMTPSA" : "ESMTPA";
	return s->tls_active ? "ESMTPS" : "ESMTP";
}

void
smtpd_auth_envelope(const struct smtpd_session *s, struct rec *env)
{
	if (s->sasl_user == NULL)
		return;
	rec_put(env, "sasl_user", s->sasl_user);
	if (s->mail.auth != NULL)
		rec_put(env, "sasl_sender", s->mail.auth);
	if (config_get_bool("smtpd_sasl_authenticated_header"))
		rec_put(env, "sasl_header", "1");
}

void
smtpd_auth_mail(struct smtpd_session *s)
{
	const char *p;

	if (s->mail.auth == NULL)
		return;
	for (p = s->mail.auth; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			break;
	/* RFC 4954 5: from an unauthenticated client, AUTH= is ignored. */
	if (s->sasl_user == NULL || *p != '\0')
		xfree(&s->mail.auth);
}

/* -- the exchange -------------------------------------------------------- */

void
smtpd_auth_free(struct smtpd_session *s)
{
	struct smtpd_auth *a = s->auth;

	if (a == NULL)
		return;
	smtpd_sasl_cancel(&a->req);
	event_timer_cancel(s->loop, &a->delay);
	xfree(&a->user);
	xfree(&a->reply);
	xfree(&s->auth);
	if (s->wait == SMTPD_WAIT_AUTH)
		s->wait = SMTPD_WAIT_NONE;
}

bool
smtpd_auth_continuing(const struct smtpd_session *s)
{
	return s->auth != NULL && s->auth->step < SMTPD_AUTH_CHECK;
}

static void
smtpd_auth_delay_done(void *ctx)
{
	struct smtpd_session *s = ctx;
	char *reply = s->auth->reply;

	s->auth->reply = NULL;
	smtpd_auth_free(s);
	smtpd_reply(s, "%s", reply);
	xfree(&reply);
	smtpd_session_wake(s);
}

static void
smtpd_auth_result(void *ctx, enum smtpd_sasl_result result,
    const char *user, const char *reason)
{
	struct smtpd_session *s = ctx;
	struct smtpd_auth *a = s->auth;
	long long pause;

	a->req = NULL;
	switch (result) {
	case SMTPD_SASL_OK:
		s->sasl_user = xstrdup(user != NULL && *user != '\0' ? user :
		    a->user);
		xfree(&s->sasl_method);
		s->sasl_method = xstrdup(a->mechanism);
		smtpd_auth_free(s);
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		break;
	case SMTPD_SASL_TEMP:
		log_warn("%s[%s]: SASL %s authentication failed: Connection "
		    "lost to authentication server", s->client_name,
		    s->client_addr, a->mechanism);
		smtpd_auth_free(s);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	case SMTPD_SASL_FAIL:
	default:
		if (reason == NULL || *reason == '\0')
			reason = "authentication failure";
		log_warn("%s[%s]: SASL %s authentication failed: %.*s",
		    s->client_name, s->client_addr, a->mechanism,
		    SMTPD_AUTH_REASON_MAX, reason);
		smtpd_anvil_auth_failed(s);	/* the AUTH failure limit */
		a->reply = xasprintf("535 5.7.8 Error: authentication failed: "
		    "%.*s", SMTPD_AUTH_REASON_MAX, reason);
		a->step = SMTPD_AUTH_DELAY;
		pause = config_get_time("smtpd_error_sleep_time");
		event_timer_set(s->loop, &a->delay, pause > 0 ? pause * 1000 :
		    0, smtpd_auth_delay_done, s);
		return;
	}
	smtpd_session_wake(s);
}

/* A failure found before asking the backend (a malformed response): the
 * same log line and the same delayed 535. */
static void
smtpd_auth_fail_now(struct smtpd_session *s, const char *reason)
{
	s->wait = SMTPD_WAIT_AUTH;
	s->auth->step = SMTPD_AUTH_CHECK;
	smtpd_auth_result(s, SMTPD_SASL_FAIL, NULL, reason);
}

static void
smtpd_auth_local_addr(const struct smtpd_session *s, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*out = '\0';
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
		    (socklen_t)size);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out,
			    (socklen_t)size);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)size);
	}
}

/* Ask the backend about a->user and password. */
static void
smtpd_auth_check(struct smtpd_session *s, const char *password)
{
	struct smtpd_auth *a = s->auth;
	char local[INET6_ADDRSTRLEN];
	struct smtpd_sasl_info info;

	smtpd_auth_local_addr(s, local, sizeof(local));
	memset(&info, 0, sizeof(info));
	info.mechanism = a->mechanism;
	info.client_addr = s->client_addr;
	info.local_addr = local;
	info.secured = s->tls_active;
	a->step = SMTPD_AUTH_CHECK;
	s->wait = SMTPD_WAIT_AUTH;
	a->req = smtpd_sasl_check(s->loop, &info, a->user, password,
	    smtpd_auth_result, s);
}

/* A decoded name must be a usable, printable string for logs and maps. */
static bool
smtpd_auth_name_ok(const char *name)
{
	const unsigned char *p;

	if (*name == '\0' || strlen(name) > 255)
		return false;
	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* The decoded data of one client response: continue or finish. */
static void
smtpd_auth_step(struct smtpd_session *s, const char *data, size_t len)
{
	struct smtpd_auth *a = s->auth;
	char *authzid, *authcid, *password;

	switch (a->step) {
	case SMTPD_AUTH_PLAIN:
		if (smtpd_auth_plain_split(data, len, &authzid, &authcid,
		    &password) < 0) {
			smtpd_auth_fail_now(s, "bad protocol / cancel");
			return;
		}
		if (!smtpd_auth_name_ok(authcid) || (*authzid != '\0' &&
		    strcmp(authzid, authcid) != 0)) {
			const char *why = smtpd_auth_name_ok(authcid) ?
			    "authorization failure" : "bad protocol / cancel";

			xfree(&authzid);
			xfree(&authcid);
			explicit_bzero(password, strlen(password));
			xfree(&password);
			smtpd_auth_fail_now(s, why);
			return;
		}
		xfree(&authzid);
		a->user = authcid;
		smtpd_auth_check(s, password);
		explicit_bzero(password, strlen(password));
		xfree(&password);
		return;
	case SMTPD_AUTH_LOGIN_USER:
		if (memchr(data, '\0', len) != NULL) {
			smtpd_auth_fail_now(s, "bad protocol / cancel");
			return;
		}
		a->user = xstrndup(data, len);
		if (!smtpd_auth_name_ok(a->user)) {
			smtpd_auth_fail_now(s, "bad protocol / cancel");
			return;
		}
		a->step = SMTPD_AUTH_LOGIN_PASS;
		smtpd_reply(s, "334 UGFzc3dvcmQ6");
		return;
	case SMTPD_AUTH_LOGIN_PASS:
		if (len == 0 || memchr(data, '\0', len) != NULL) {
			smtpd_auth_fail_now(s, "bad protocol / cancel");
			return;
		}
		password = xstrndup(data, len);
		smtpd_auth_check(s, password);
		explicit_bzero(password, len);
		xfree(&password);
		return;
	default:
		return;
	}
}

/* Base64 text from the client (initial response or a line). */
static void
smtpd_auth_input(struct smtpd_session *s, const char *text)
{
	struct buf data;

	if (strcmp(text, "*") == 0) {
		smtpd_auth_free(s);
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return;
	}
	buf_init(&data, SMTPD_AUTH_DATA_MAX);
	/* RFC 4954 4: "=" is an empty initial response. */
	if (strcmp(text, "=") != 0 &&
	    smtpd_auth_base64_decode(text, &data) < 0) {
		if (data.data != NULL)
			explicit_bzero(data.data, data.cap);
		buf_release(&data);
		smtpd_auth_free(s);
		smtpd_reply(s, "501 5.5.2 Cannot decode response");
		return;
	}
	smtpd_auth_step(s, data.data != NULL ? data.data : "", data.len);
	if (data.data != NULL)
		explicit_bzero(data.data, data.cap);
	buf_release(&data);
}

void
smtpd_auth_response(struct smtpd_session *s, const char *line)
{
	smtpd_auth_input(s, line);
}

void
smtpd_auth_command(struct smtpd_session *s, const char *args)
{
	char mechanism[32];
	const char *initial;
	size_t len;

	if (!config_get_bool("smtpd_sasl_auth_enable")) {
		smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (config_get_bool("smtpd_tls_auth_only") && !s->tls_active) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->helo == NULL) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->sasl_user != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	len = strcspn(args, " \t");
	if (len == 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	initial = args + len;
	while (*initial == ' ' || *initial == '\t')
		initial++;
	if (len >= sizeof(mechanism) || strchr(initial, ' ') != NULL) {
		smtpd_reply(s, len >= sizeof(mechanism) ?
		    "504 5.5.4 Unrecognized authentication type" :
		    "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(mechanism, args, len);
	mechanism[len] = '\0';
	if (!smtpd_auth_plaintext_allowed() ||
	    (strcasecmp(mechanism, "PLAIN") != 0 &&
	    strcasecmp(mechanism, "LOGIN") != 0)) {
		smtpd_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	s->auth = xcalloc(1, sizeof(*s->auth));
	s->auth->s = s;
	if (strcasecmp(mechanism, "PLAIN") == 0) {
		s->auth->mechanism = "PLAIN";
		s->auth->step = SMTPD_AUTH_PLAIN;
		if (*initial == '\0')
			smtpd_reply(s, "334 ");
		else
			smtpd_auth_input(s, initial);
	} else {
		s->auth->mechanism = "LOGIN";
		s->auth->step = SMTPD_AUTH_LOGIN_USER;
		if (*initial == '\0')
			smtpd_reply(s, "334 VXNlcm5hbWU6");
		else
			smtpd_auth_input(s, initial);
	}
}
