/*
 * dns.h - DNS lookups through libldns: MX, A and AAAA.
 *
 * One resolver per process, read from a resolv.conf before the jail
 * (dns_init); afterwards lookups need only a socket. Time-outs are short
 * (2 s per try, 2 tries per server) and every result says whether the
 * name exists, has no data of the type asked, or could not be looked up:
 * a failed lookup is never reported as "no records".
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stddef.h>

enum dns_result {
	DNS_OK,			/* records found */
	DNS_NODATA,		/* the name exists, no records of this type */
	DNS_NOTFOUND,		/* NXDOMAIN: the name does not exist */
	DNS_TEMP,		/* SERVFAIL, timeout, no resolver: try later */
};

#define DNS_ADDR_MAX	64	/* an IPv6 address in text, with room */

struct dns_mx {
	char *host;		/* "mx1.example.com" (no trailing dot); "" for
				 * the root (a null MX, RFC 7505) */
	int preference;
};

struct dns_addr {
	int family;		/* AF_INET or AF_INET6 */
	char text[DNS_ADDR_MAX];	/* "192.0.2.1", "2001:db8::1" */
};

/* Read the resolver configuration (NULL: /etc/resolv.conf). Call before
 * the jail. 0, or -1 with *error_r fresh. Lookups before a successful
 * dns_init() answer DNS_TEMP. */
int dns_init(const char *resolv_conf, char **error_r);
/* Release the resolver (tests, reload). */
void dns_done(void);

/* The MX records of domain, in answer order (the caller sorts). On
 * DNS_OK *mx_r holds *count_r fresh entries (free with dns_mx_free);
 * otherwise *mx_r is NULL and *error_r (always set, fresh) says what
 * happened, e.g. "Name service error for name=x type=MX: Host not found,
 * try again". */
enum dns_result dns_lookup_mx(const char *domain, struct dns_mx **mx_r,
    size_t *count_r, char **error_r);
void dns_mx_free(struct dns_mx **mx_r, size_t count);

/* The addresses of host: family AF_INET (A), AF_INET6 (AAAA) or AF_UNSPEC
 * (both: AAAA first, then A; DNS_OK when either has records, DNS_TEMP
 * when one failed and the other had nothing). *addr_r is fresh (free()),
 * *error_r as for dns_lookup_mx. */
enum dns_result dns_lookup_addr(const char *host, int family,
    struct dns_addr **addr_r, size_t *count_r, char **error_r);

/* "Host not found", "No address associated with hostname", ... */
const char *dns_result_text(enum dns_result result);

#endif
