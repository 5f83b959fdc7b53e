/*
 * smtp_route.c - from a nexthop to the addresses to try.
 *
 * Nexthop forms (from qmgr: the domain, or transport_maps/relayhost):
 *   domain, domain:port     MX lookup (RFC 5321 5.1): lowest preference
 *                           first, random order among equal ones, every
 *                           address of each host (IPv6 and IPv4); no MX
 *                           records: the domain's own A/AAAA
 *   [host], [host]:port     no MX lookup (an address or a name)
 *   unix:/path              LMTP over a Unix socket
 *   inet:host[:port]        LMTP over TCP, no MX lookup
 * An lmtp service treats a bare host as Postfix's lmtp does: no MX.
 *
 * Results that end the delivery at once: a null MX (RFC 7505: one MX
 * "." preference 0) bounces 5.1.10; NXDOMAIN bounces 5.1.2; a failed
 * lookup defers 4.4.3. An MX host named like ourselves bounces 5.4.6 (a
 * loop), as Postfix's "mail for X loops back to myself".
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "mem.h"
#include "smtp.h"

void
smtp_failure_set(struct smtp_failure *f, enum delivery_status status,
    const char *dsn, const char *fmt, ...)
{
	va_list ap;
	char *reason;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		log_fatal("out of memory");
	va_end(ap);
	free(f->reason);
	f->reason = reason;
	f->status = status;
	snprintf(f->dsn, sizeof(f->dsn), "%s", dsn);
}

void
smtp_failure_release(struct smtp_failure *f)
{
	xfree(&f->reason);
}

void
smtp_nexthop_release(struct smtp_nexthop *n)
{
	xfree(&n->host);
	xfree(&n->path);
}

/* "1".."65535" at s (to the end). -1 when not. */
static int
smtp_port_parse(const char *s)
{
	int port = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		port = port * 10 + (*s - '0');
		if (port > 65535)
			return -1;
	}
	return port > 0 ? port : -1;
}

int
smtp_nexthop_parse(const char *text, bool lmtp, struct smtp_nexthop *n,
    const char **error_r)
{
	const char *host, *end, *port = NULL;

	memset(n, 0, sizeof(*n));
	n->lmtp = lmtp;
	if (strncmp(text, "unix:", 5) == 0) {
		if (text[5] == '\0') {
			*error_r = "empty unix socket path";
			return -1;
		}
		n->path = xstrdup(text + 5);
		n->lmtp = true;
		return 0;
	}
	if (strncmp(text, "inet:", 5) == 0) {
		text += 5;
		n->lmtp = true;
	}
	if (*text == '[') {
		if ((end = strchr(text, ']')) == NULL || end == text + 1) {
			*error_r = "malformed [host] in nexthop";
			return -1;
		}
		host = text + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*error_r = "garbage after ] in nexthop";
			return -1;
		}
		n->mx = false;
	} else {
		/* An IPv6 address needs brackets; host:port otherwise. */
		host = text;
		end = strrchr(text, ':');
		if (end != NULL && strchr(text, ':') != end) {
			*error_r = "IPv6 address in nexthop without []";
			return -1;
		}
		if (end != NULL)
			port = end + 1;
		else
			end = text + strlen(text);
		n->mx = !n->lmtp;
	}
	if (end == host || (size_t)(end - host) > 255) {
		*error_r = "empty or overlong host in nexthop";
		return -1;
	}
	n->host = xstrndup(host, (size_t)(end - host));
	if (strchr(n->host, '/') != NULL || strchr(n->host, ' ') != NULL) {
		*error_r = "malformed host in nexthop";
		return -1;
	}
	if (port != NULL) {
		if ((n->port = smtp_port_parse(port)) < 0) {
			*error_r = "bad port in nexthop";
			return -1;
		}
	} else {
		n->port = n->lmtp ? LMTP_PORT : SMTP_PORT;
	}
	return 0;
}

static int
smtp_mx_compare(const void *a, const void *b)
{
	const struct dns_mx *ma = a, *mb = b;

	return ma->preference - mb->preference;
}

void
smtp_mx_sort(struct dns_mx *mx, size_t count, size_t (*random_fn)(size_t n))
{
	size_t start, end, i;

	qsort(mx, count, sizeof(*mx), smtp_mx_compare);
	/* Fisher-Yates within each run of equal preference (RFC 5321 5.1:
	 * spread the load among equal MX hosts). */
	for (start = 0; start < count; start = end) {
		for (end = start + 1; end < count &&
		    mx[end].preference == mx[start].preference; end++)
			;
		for (i = end - 1; i > start; i--) {
			size_t j = start + random_fn(i - start + 1);
			struct dns_mx tmp = mx[i];

			mx[i] = mx[j];
			mx[j] = tmp;
		}
	}
}

static size_t
smtp_random(size_t n)
{
	return (size_t)random() % n;
}

void
smtp_targets_free(struct smtp_target **targets_r, size_t count)
{
	size_t i;

	if (*targets_r == NULL)
		return;
	for (i = 0; i < count; i++) {
		free((*targets_r)[i].host);
		free((*targets_r)[i].path);
	}
	free(*targets_r);
	*targets_r = NULL;
}

char *
smtp_target_label(const struct smtp_target *t)
{
	if (t->family == AF_UNIX)
		return xasprintf("%s[%s]", t->host, t->path);
	return xasprintf("%s[%s]:%d", t->host, t->addr, t->port);
}

static void
smtp_target_add(struct smtp_target **targets_r, size_t *count_r,
    const char *host, const struct dns_addr *addr, int port)
{
	struct smtp_target *t;

	if (smtp_settings.mx_address_limit > 0 &&
	    *count_r >= smtp_settings.mx_address_limit)
		return;
	*targets_r = xreallocarray(*targets_r, *count_r + 1,
	    sizeof(**targets_r));
	t = &(*targets_r)[(*count_r)++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	t->family = addr->family;
	snprintf(t->addr, sizeof(t->addr), "%s", addr->text);
	t->port = port;
}

/* A numeric address as a dns_addr: true when host is one. */
static bool
smtp_numeric(const char *host, struct dns_addr *a)
{
	unsigned char bin[16];
	const char *h = host;

	if (strncasecmp(h, "ipv6:", 5) == 0)	/* [IPv6:...] literal */
		h += 5;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, h, bin) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, h, bin) == 1)
		a->family = AF_INET6;
	else
		return false;
	snprintf(a->text, sizeof(a->text), "%s", h);
	return true;
}

/* Add the addresses of host. The lookup's result. */
static enum dns_result
smtp_route_host(const char *host, int port, struct smtp_target **targets_r,
    size_t *count_r, char **error_r)
{
	struct dns_addr *addrs = NULL, one;
	size_t count = 0, i;
	enum dns_result r;

	*error_r = NULL;
	if (smtp_numeric(host, &one)) {
		smtp_target_add(targets_r, count_r, host, &one, port);
		return DNS_OK;
	}
	r = dns_lookup_addr(host, AF_UNSPEC, &addrs, &count, error_r);
	for (i = 0; i < count; i++)
		smtp_target_add(targets_r, count_r, host, &addrs[i], port);
	free(addrs);
	return r;
}

int
smtp_route(const struct smtp_nexthop *n, const char *myhostname,
    struct smtp_target **targets_r, size_t *count_r,
    struct smtp_failure *fail)
{
	struct dns_mx *mx = NULL;
	size_t mx_count = 0, i;
	enum dns_result r;
	char *error = NULL, *temp_error = NULL;

	*targets_r = NULL;
	*count_r = 0;
	if (n->path != NULL) {
		struct smtp_target *t = xcalloc(1, sizeof(*t));

		t->host = xstrdup("localhost");
		t->family = AF_UNIX;
		t->path = xstrdup(n->path);
		*targets_r = t;
		*count_r = 1;
		return 0;
	}
	if (!n->mx) {
		r = smtp_route_host(n->host, n->port, targets_r, count_r,
		    &error);
		goto host_result;
	}
	{
		struct dns_addr unused;

		/* "example.com" may be a bare address too: no MX for it. */
		if (smtp_numeric(n->host, &unused)) {
			r = smtp_route_host(n->host, n->port, targets_r,
			    count_r, &error);
			goto host_result;
		}
	}
	r = dns_lookup_mx(n->host, &mx, &mx_count, &error);
	switch (r) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain is its own mail host. */
		free(error);
		error = NULL;
		r = smtp_route_host(n->host, n->port, targets_r, count_r,
		    &error);
		goto host_result;
	case DNS_NOTFOUND:
		smtp_failure_set(fail, DELIVERY_BOUNCED, "5.1.2", "Host or "
		    "domain name not found. %s", error);
		free(error);
		return -1;
	case DNS_TEMP:
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.3", "Host or "
		    "domain name not found. %s", error);
		free(error);
		return -1;
	}
	/* RFC 7505 3: a single MX with an empty exchange is a null MX. */
	for (i = 0; i < mx_count; i++) {
		if (mx[i].host[0] == '\0' && mx_count == 1) {
			smtp_failure_set(fail, DELIVERY_BOUNCED, "5.1.10",
			    "Domain %s does not accept mail (nullMX)",
			    n->host);
			dns_mx_free(&mx, mx_count);
			return -1;
		}
	}
	smtp_mx_sort(mx, mx_count, smtp_random);
	for (i = 0; i < mx_count; i++) {
		if (mx[i].host[0] == '\0')
			continue;
		if (myhostname != NULL &&
		    strcasecmp(mx[i].host, myhostname) == 0) {
			/* RFC 5321 5.1: hosts at or after our own preference
			 * are not tried; if we are the best, it is a loop. */
			if (*count_r == 0) {
				smtp_failure_set(fail, DELIVERY_BOUNCED,
				    "5.4.6", "mail for %s loops back to "
				    "myself", n->host);
				dns_mx_free(&mx, mx_count);
				free(temp_error);
				return -1;
			}
			break;
		}
		r = smtp_route_host(mx[i].host, n->port, targets_r, count_r,
		    &error);
		if (r == DNS_TEMP && temp_error == NULL) {
			temp_error = error;
			error = NULL;
		}
		xfree(&error);
	}
	dns_mx_free(&mx, mx_count);
	if (*count_r > 0) {
		free(temp_error);
		return 0;
	}
	if (temp_error != NULL) {
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.3", "Host or "
		    "domain name not found. %s", temp_error);
		free(temp_error);
		return -1;
	}
	smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.4", "No MX host of "
	    "%s has an address", n->host);
	return -1;

host_result:
	if (*count_r > 0) {
		free(error);
		return 0;
	}
	if (r == DNS_TEMP)
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.3", "Host or "
		    "domain name not found. %s", error);
	else if (!n->mx)
		/* A configured [host] (relayhost, transport_maps) that does
		 * not resolve is the admin's to fix: mail waits. */
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.4", "Host or "
		    "domain name not found. %s", error != NULL ? error :
		    n->host);
	else
		smtp_failure_set(fail, DELIVERY_BOUNCED, r == DNS_NOTFOUND ?
		    "5.1.2" : "5.4.4", "Host or domain name not found. %s",
		    error != NULL ? error : n->host);
	free(error);
	return -1;
}
