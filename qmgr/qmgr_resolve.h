/*
 * qmgr_resolve.h - which transport and nexthop a recipient goes to.
 *
 * Pure apart from the lookup tables it opens: the answer depends only on
 * the address and the configuration read by qmgr_resolve_open().
 */
#ifndef QMGR_RESOLVE_H
#define QMGR_RESOLVE_H

#include <stdbool.h>

/* Address classes, as Postfix's trivial-rewrite names them. */
enum qmgr_route_class {
	QMGR_ROUTE_LOCAL,	/* domain in mydestination (or no domain) */
	QMGR_ROUTE_VIRTUAL,	/* domain in virtual_mailbox_domains */
	QMGR_ROUTE_RELAY,	/* domain in relay_domains */
	QMGR_ROUTE_DEFAULT,	/* anything else: outbound */
};

struct qmgr_route {
	enum qmgr_route_class route_class;
	char *transport;	/* "local", "virtual", "smtp", ... */
	char *nexthop;		/* "" when none */
};

struct qmgr_resolver;

/* Read the configuration (mydestination, virtual_mailbox_domains,
 * relay_domains, the *_transport parameters, relayhost, transport_maps)
 * and open the lookup tables these name. Call before the jail. NULL with
 * a fresh message in *error_r when a table cannot be opened. */
struct qmgr_resolver *qmgr_resolve_open(char **error_r);
void qmgr_resolve_close(struct qmgr_resolver **r_r);

/* Resolve address into *route_r (fresh strings; release them with
 * qmgr_route_release()). Returns 0, or -1 with *reason_r a static text
 * ("4.3.0 ...") when a lookup failed temporarily or a transport name is
 * unusable: the recipient is deferred, never guessed. */
int qmgr_resolve(struct qmgr_resolver *r, const char *address,
    struct qmgr_route *route_r, const char **reason_r);
void qmgr_route_release(struct qmgr_route *route);

/* true when name can be a transport (a socket name under private/):
 * [A-Za-z0-9_.-]+, not starting with '.'. */
bool qmgr_resolve_transport_valid(const char *name);

#endif
