/*
 * smtp_deliver.c - the smtp/lmtp delivery agent's service: one delivery/1
 * request per connection from qmgr (lib/delivery.h does the request, the
 * reply and the per-recipient log line).
 *
 * For a request: parse the nexthop, pick the TLS policy, reuse the
 * cached connection when it goes to the same nexthop (RSET first), else
 * route (smtp_route.c) and try each address in order until every
 * recipient has a final answer. Recipients left when the addresses run
 * out get the last error, deferred.
 *
 * Connection reuse: after a good transaction the connection stays open
 * in a static for the next request of this process, for at most
 * smtp_connection_cache_time_limit: checked when the next request comes,
 * and by smtp_idle() while the process waits (at least once a second), so
 * that an idle process does not hold a remote server's connection until
 * it exits.
 *
 * LMTP: when the service is "lmtp" or the nexthop is "unix:" or "inet:".
 * XXX LMTP sessions use no TLS (Postfix's lmtp_tls_security_level
 * defaults to none too; there are no lmtp_* parameters yet).
 *
 * XXX DESIGN.md wants outbound agents on lib/event, many sessions per
 * process. This is a single server with blocking I/O and deadlines, one
 * delivery at a time per process (master runs several); moving it onto
 * the event loop is a later issue.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "delivery.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "server.h"
#include "smtp.h"

#define SMTP_TLS_FAILED_MAX	16
#define SMTP_TLS_FAILED_MS	(60 * 60 * 1000)	/* clear for 1 h */

static struct smtp_conn *smtp_cached;
static int64_t smtp_cache_time_ms = 2000;
static enum smtp_tls_level smtp_tls_default = SMTP_TLS_MAY;
static struct maplist *smtp_tls_policy_maps;
static const char *smtp_unavailable;	/* a table that did not open */
static char *smtp_myhostname;

/* Peers whose TLS handshake failed at "may": clear text for a while. */
static struct {
	char addr[DNS_ADDR_MAX];
	int64_t until;
} smtp_tls_failed[SMTP_TLS_FAILED_MAX];

static bool
smtp_tls_failed_recently(const char *addr)
{
	size_t i;

	for (i = 0; i < SMTP_TLS_FAILED_MAX; i++)
		if (smtp_tls_failed[i].until > io_now_ms() &&
		    strcmp(smtp_tls_failed[i].addr, addr) == 0)
			return true;
	return false;
}

static void
smtp_tls_failed_remember(const char *addr)
{
	size_t i, oldest = 0;

	for (i = 0; i < SMTP_TLS_FAILED_MAX; i++)
		if (smtp_tls_failed[i].until < smtp_tls_failed[oldest].until)
			oldest = i;
	memcpy(smtp_tls_failed[oldest].addr, addr,
	    strnlen(addr, DNS_ADDR_MAX - 1));
	smtp_tls_failed[oldest].addr[strnlen(addr, DNS_ADDR_MAX - 1)] = '\0';
	smtp_tls_failed[oldest].until = io_now_ms() + SMTP_TLS_FAILED_MS;
}

static int
smtp_ms(const char *name)
{
	long long s = config_get_time(name);

	if (s <= 0 || s > 24 * 3600)
		s = 300;
	return (int)(s * 1000);
}

static struct maplist *
smtp_open_maps(const char *name)
{
	struct maplist *l;
	char *error = NULL;

	if ((l = maplist_open(config_get(name), &error)) == NULL) {
		log_error("%s: %s", name, error);
		free(error);
		smtp_unavailable = name;
	}
	return l;
}

void
smtp_init(void)
{
	const char *level = config_get("smtp_tls_security_level");
	char *error = NULL;

	smtp_settings.connect_timeout_ms = smtp_ms("smtp_connect_timeout");
	smtp_settings.helo_timeout_ms = smtp_ms("smtp_helo_timeout");
	smtp_settings.mail_timeout_ms = smtp_ms("smtp_mail_timeout");
	smtp_settings.rcpt_timeout_ms = smtp_ms("smtp_rcpt_timeout");
	smtp_settings.data_init_timeout_ms = smtp_ms("smtp_data_init_timeout");
	smtp_settings.data_xfer_timeout_ms = smtp_ms("smtp_data_xfer_timeout");
	smtp_settings.data_done_timeout_ms = smtp_ms("smtp_data_done_timeout");
	smtp_settings.rset_timeout_ms = smtp_ms("smtp_rset_timeout");
	smtp_settings.helo_name = xstrdup(config_get("smtp_helo_name"));
	smtp_settings.mx_address_limit =
	    (size_t)config_get_int("smtp_mx_address_limit");
	smtp_settings.sasl_enable = config_get_bool("smtp_sasl_auth_enable");
	smtp_settings.tls_loglevel =
	    (unsigned)config_get_int("smtp_tls_loglevel");
	smtp_cache_time_ms =
	    config_get_time("smtp_connection_cache_time_limit") * 1000;
	smtp_myhostname = xstrdup(config_get("myhostname"));
	if (*level != '\0' &&
	    smtp_tls_level_parse(level, &smtp_tls_default) < 0) {
		log_error("smtp_tls_security_level: unsupported level \"%s\"; "
		    "mail waits until it is fixed", level);
		smtp_unavailable = "smtp_tls_security_level";
	}
	if (*level == '\0')
		smtp_tls_default = SMTP_TLS_NONE;	/* Postfix's empty */
	smtp_tls_policy_maps = smtp_open_maps("smtp_tls_policy_maps");
	if (smtp_settings.sasl_enable)
		smtp_settings.sasl_maps =
		    smtp_open_maps("smtp_sasl_password_maps");
	if (dns_init(NULL, &error) < 0) {
		/* Lookups then fail temporarily: mail waits. */
		log_error("DNS resolver: %s", error);
		xfree(&error);
	}
	if (smtp_tls_init(&error) < 0) {
		log_error("TLS: %s", error);
		xfree(&error);
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
}

void
smtp_service(int fd)
{
	delivery_serve(fd, server_service_name(), smtp_deliver);
}

void
smtp_idle(void)
{
	if (smtp_cached != NULL &&
	    io_now_ms() - smtp_cached->idle_since >= smtp_cache_time_ms)
		smtp_session_close(&smtp_cached, true);
}

/* Every pending recipient gets f; relay is "none" or the last peer. */
static void
smtp_fail_pending(struct delivery_request *req, bool *pending,
    const struct smtp_failure *f, const char *relay)
{
	size_t i;

	for (i = 0; i < req->rcpt_count; i++) {
		if (!pending[i])
			continue;
		delivery_set(&req->rcpts[i], f->status, f->dsn, "%s",
		    f->reason);
		free(req->rcpts[i].relay);
		req->rcpts[i].relay = xstrdup(relay);
		pending[i] = false;
	}
}

static bool
smtp_any(const bool *pending, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pending[i])
			return true;
	return false;
}

/* The TLS policy for nexthop: smtp_tls_policy_maps under the nexthop as
 * qmgr gave it ("[host]:port" or the domain), then the bare host; else
 * smtp_tls_security_level. 0, or -1 with *fail. */
static int
smtp_policy_for(const char *nexthop, const struct smtp_nexthop *n,
    struct smtp_tls_policy *p, struct smtp_failure *fail)
{
	char *value = NULL, *error = NULL;
	int found = 0;

	memset(p, 0, sizeof(*p));
	p->level = n->lmtp ? SMTP_TLS_NONE : smtp_tls_default;
	if (n->lmtp || smtp_tls_policy_maps == NULL)
		return 0;
	found = maplist_lookup(smtp_tls_policy_maps, nexthop, &value);
	if (found == 0 && n->host != NULL && strcmp(n->host, nexthop) != 0)
		found = maplist_lookup(smtp_tls_policy_maps, n->host, &value);
	if (found < 0) {
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.3.0",
		    "smtp_tls_policy_maps lookup failed");
		return -1;
	}
	if (found == 0)
		return 0;
	if (smtp_tls_policy_parse(value, p, &error) < 0) {
		log_warn("smtp_tls_policy_maps: %s: %s", nexthop, error);
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.7.5",
		    "TLS policy for %s is invalid: %s", nexthop, error);
		free(error);
		free(value);
		smtp_tls_policy_release(p);
		return -1;
	}
	free(value);
	return 0;
}

void
smtp_deliver(struct delivery_request *req, struct queue_file *q)
{
	struct smtp_nexthop n;
	struct smtp_tls_policy policy = { 0 };
	struct smtp_failure fail = { 0 };
	struct smtp_target *targets = NULL;
	size_t target_count = 0, i;
	bool *pending = xcalloc(req->rcpt_count, sizeof(bool));
	bool lmtp_service = strcmp(server_service_name(), "lmtp") == 0;
	const char *nexthop = req->nexthop, *error;
	char *bracket_port = NULL, *last_relay = xstrdup("none");
	const char *sasl_keys[4] = { NULL, NULL, NULL, NULL };

	for (i = 0; i < req->rcpt_count; i++)
		pending[i] = true;
	if (*nexthop == '\0')
		nexthop = addr_domain(req->rcpts[0].address);
	if (smtp_unavailable != NULL) {
		smtp_failure_set(&fail, DELIVERY_DEFERRED, "4.3.0", "%s is "
		    "unavailable (see the log)", smtp_unavailable);
		smtp_fail_pending(req, pending, &fail, "none");
		goto out_early;
	}
	if (smtp_nexthop_parse(nexthop, lmtp_service, &n, &error) < 0) {
		smtp_failure_set(&fail, DELIVERY_DEFERRED, "4.3.5", "bad "
		    "nexthop \"%s\": %s", nexthop, error);
		smtp_fail_pending(req, pending, &fail, "none");
		smtp_nexthop_release(&n);
		goto out_early;
	}

	/* A cached connection is for its nexthop, and for a short time. */
	if (smtp_cached != NULL && (strcmp(smtp_cached->key, nexthop) != 0 ||
	    io_now_ms() - smtp_cached->idle_since > smtp_cache_time_ms))
		smtp_session_close(&smtp_cached, true);

	if (smtp_policy_for(nexthop, &n, &policy, &fail) < 0) {
		smtp_fail_pending(req, pending, &fail, "none");
		goto out;
	}
	policy.nexthop = n.host;

	/* SASL passwords: "[host]:port", then "host", then the nexthop. */
	if (n.host != NULL) {
		bracket_port = xasprintf("[%s]:%d", n.host, n.port);
		sasl_keys[0] = bracket_port;
		sasl_keys[1] = n.host;
		sasl_keys[2] = strcmp(nexthop, bracket_port) != 0 &&
		    strcmp(nexthop, n.host) != 0 ? nexthop : NULL;
	}

	if (smtp_cached != NULL) {
		struct smtp_conn *c = smtp_cached;

		smtp_cached = NULL;
		if (smtp_session_rset(c) < 0) {
			smtp_session_close(&c, false);
		} else if (smtp_session_deliver(c, req, q, pending,
		    &fail) < 0) {
			free(last_relay);
			last_relay = xstrdup(c->label);
			smtp_session_close(&c, false);
		} else {
			c->idle_since = io_now_ms();
			smtp_cached = c;
		}
	}
	if (!smtp_any(pending, req->rcpt_count))
		goto out;

	if (smtp_route(&n, smtp_myhostname, &targets, &target_count,
	    &fail) < 0) {
		smtp_fail_pending(req, pending, &fail, "none");
		goto out;
	}
	for (i = 0; i < target_count && smtp_any(pending, req->rcpt_count);
	    i++) {
		const struct smtp_target *t = &targets[i];
		bool skip_tls = smtp_tls_failed_recently(t->addr);
		bool tls_failed = false;
		struct smtp_conn *c;

		free(last_relay);
		last_relay = smtp_target_label(t);
		c = smtp_session_open(t, n.lmtp, &policy, skip_tls, sasl_keys,
		    &fail, &tls_failed);
		if (c == NULL && tls_failed) {
			/* "may": the handshake failed, so clear text it is
			 * (and for a while, for this peer). */
			log_info("%s: TLS handshake failed; trying again "
			    "without TLS", last_relay);
			smtp_tls_failed_remember(t->addr);
			c = smtp_session_open(t, n.lmtp, &policy, true,
			    sasl_keys, &fail, &tls_failed);
		}
		if (c == NULL)
			continue;
		c->key = xstrdup(nexthop);
		if (smtp_session_deliver(c, req, q, pending, &fail) < 0) {
			smtp_session_close(&c, false);
			continue;
		}
		c->idle_since = io_now_ms();
		if (smtp_cached != NULL)
			smtp_session_close(&smtp_cached, true);
		smtp_cached = c;
	}
	if (smtp_any(pending, req->rcpt_count)) {
		if (fail.reason == NULL)
			smtp_failure_set(&fail, DELIVERY_DEFERRED, "4.4.1",
			    "no server for %s could be reached", nexthop);
		/* The last error, but never a bounce for a session
		 * problem: another try may reach a better server. */
		if (fail.status != DELIVERY_DEFERRED) {
			fail.status = DELIVERY_DEFERRED;
			fail.dsn[0] = '4';
		}
		smtp_fail_pending(req, pending, &fail, last_relay);
	}
	/* A cached connection that cannot be reused in time is closed now
	 * rather than held by an idle process. */
	if (smtp_cached != NULL && smtp_cache_time_ms <= 0)
		smtp_session_close(&smtp_cached, true);
out:
	smtp_targets_free(&targets, target_count);
	smtp_tls_policy_release(&policy);
	smtp_nexthop_release(&n);
out_early:
	smtp_failure_release(&fail);
	free(bracket_port);
	free(last_relay);
	free(pending);
}
