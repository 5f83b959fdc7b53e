/*
 * dns.c - MX, A and AAAA lookups through libldns (see dns.h).
 *
 * The resolver comes from resolv.conf with search and default domains
 * off: a mail domain is always absolute. CNAMEs are followed by the
 * recursive server; we take the records of the asked type from the
 * answer section. Any rcode other than NOERROR and NXDOMAIN, and any
 * transport failure, is DNS_TEMP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "mem.h"

#define DNS_TIMEOUT_S	2
#define DNS_RETRY	2
#define DNS_NAME_MAX	255

static ldns_resolver *dns_resolver;

int
dns_init(const char *resolv_conf, char **error_r)
{
	ldns_resolver *r = NULL;
	ldns_status status;

	if (resolv_conf == NULL)
		resolv_conf = "/etc/resolv.conf";
	status = ldns_resolver_new_frm_file(&r, resolv_conf);
	if (status != LDNS_STATUS_OK) {
		*error_r = xasprintf("%s: %s", resolv_conf,
		    ldns_get_errorstr_by_id(status));
		return -1;
	}
	if (ldns_resolver_nameserver_count(r) == 0) {
		ldns_resolver_deep_free(r);
		*error_r = xasprintf("%s: no nameserver", resolv_conf);
		return -1;
	}
	ldns_resolver_set_timeout(r, (struct timeval){ DNS_TIMEOUT_S, 0 });
	ldns_resolver_set_retry(r, DNS_RETRY);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_recursive(r, true);
	dns_done();
	dns_resolver = r;
	return 0;
}

void
dns_done(void)
{
	if (dns_resolver != NULL)
		ldns_resolver_deep_free(dns_resolver);
	dns_resolver = NULL;
}

const char *
dns_result_text(enum dns_result result)
{
	switch (result) {
	case DNS_OK:
		return "Success";
	case DNS_NODATA:
		return "No address associated with hostname";
	case DNS_NOTFOUND:
		return "Host not found";
	case DNS_TEMP:
		break;
	}
	return "Host not found, try again";
}

static const char *
dns_type_name(ldns_rr_type type)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return "MX";
	case LDNS_RR_TYPE_A:
		return "A";
	case LDNS_RR_TYPE_AAAA:
		return "AAAA";
	default:
		return "?";
	}
}

/* Ask for name/type. DNS_OK with *list_r (free with
 * ldns_rr_list_deep_free) holding the answer records of that type. */
static enum dns_result
dns_query(const char *name, ldns_rr_type type, ldns_rr_list **list_r,
    char **error_r)
{
	enum dns_result result = DNS_TEMP;
	ldns_pkt *pkt = NULL;
	ldns_rdf *dname;
	ldns_status status;
	char *absolute;
	size_t len = strlen(name);

	*list_r = NULL;
	*error_r = NULL;
	if (len == 0 || len > DNS_NAME_MAX || strchr(name, ' ') != NULL) {
		*error_r = xasprintf("Name service error for name=%s type=%s: "
		    "%s", name, dns_type_name(type), "malformed name");
		return DNS_NOTFOUND;
	}
	if (dns_resolver == NULL) {
		*error_r = xasprintf("Name service error for name=%s type=%s: "
		    "no resolver configured", name, dns_type_name(type));
		return DNS_TEMP;
	}
	absolute = name[len - 1] == '.' ? xstrdup(name) :
	    xasprintf("%s.", name);
	dname = ldns_dname_new_frm_str(absolute);
	free(absolute);
	if (dname == NULL) {
		*error_r = xasprintf("Name service error for name=%s type=%s: "
		    "%s", name, dns_type_name(type), "malformed name");
		return DNS_NOTFOUND;
	}
	status = ldns_resolver_query_status(&pkt, dns_resolver, dname, type,
	    LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(dname);
	if (status != LDNS_STATUS_OK || pkt == NULL) {
		result = DNS_TEMP;
	} else {
		switch (ldns_pkt_get_rcode(pkt)) {
		case LDNS_RCODE_NOERROR:
			*list_r = ldns_pkt_rr_list_by_type(pkt, type,
			    LDNS_SECTION_ANSWER);
			if (*list_r != NULL &&
			    ldns_rr_list_rr_count(*list_r) > 0) {
				result = DNS_OK;
			} else {
				ldns_rr_list_deep_free(*list_r);
				*list_r = NULL;
				result = DNS_NODATA;
			}
			break;
		case LDNS_RCODE_NXDOMAIN:
			result = DNS_NOTFOUND;
			break;
		default:
			result = DNS_TEMP;
			break;
		}
	}
	if (pkt != NULL)
		ldns_pkt_free(pkt);
	if (result != DNS_OK)
		*error_r = xasprintf("Name service error for name=%s type=%s: "
		    "%s", name, dns_type_name(type), dns_result_text(result));
	return result;
}

/* A domain name rdf as text without the trailing dot (the root: ""). */
static char *
dns_name_text(const ldns_rdf *rdf)
{
	char *text = ldns_rdf2str(rdf), *copy;
	size_t len;

	if (text == NULL)
		return xstrdup("");
	len = strlen(text);
	if (len > 0 && text[len - 1] == '.')
		len--;
	copy = xstrndup(text, len);
	free(text);
	return copy;
}

enum dns_result
dns_lookup_mx(const char *domain, struct dns_mx **mx_r, size_t *count_r,
    char **error_r)
{
	ldns_rr_list *list;
	enum dns_result result;
	size_t i, n;

	*mx_r = NULL;
	*count_r = 0;
	if ((result = dns_query(domain, LDNS_RR_TYPE_MX, &list, error_r)) !=
	    DNS_OK)
		return result;
	n = ldns_rr_list_rr_count(list);
	*mx_r = xcalloc(n, sizeof(**mx_r));
	for (i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rdf *pref = ldns_rr_mx_preference(rr);
		ldns_rdf *exchange = ldns_rr_mx_exchange(rr);

		if (pref == NULL || exchange == NULL)
			continue;
		(*mx_r)[*count_r].preference = ldns_rdf2native_int16(pref);
		(*mx_r)[*count_r].host = dns_name_text(exchange);
		(*count_r)++;
	}
	ldns_rr_list_deep_free(list);
	if (*count_r == 0) {
		free(*mx_r);
		*mx_r = NULL;
		*error_r = xasprintf("Name service error for name=%s type=MX: "
		    "malformed reply", domain);
		return DNS_TEMP;
	}
	return DNS_OK;
}

void
dns_mx_free(struct dns_mx **mx_r, size_t count)
{
	size_t i;

	if (*mx_r == NULL)
		return;
	for (i = 0; i < count; i++)
		free((*mx_r)[i].host);
	free(*mx_r);
	*mx_r = NULL;
}

/* Append the addresses of one type; returns the lookup's result. */
static enum dns_result
dns_lookup_family(const char *host, int family, struct dns_addr **addr_r,
    size_t *count_r, char **error_r)
{
	ldns_rr_type type = family == AF_INET6 ? LDNS_RR_TYPE_AAAA :
	    LDNS_RR_TYPE_A;
	size_t want = family == AF_INET6 ? 16 : 4;
	ldns_rr_list *list;
	enum dns_result result;
	size_t i, n;

	if ((result = dns_query(host, type, &list, error_r)) != DNS_OK)
		return result;
	n = ldns_rr_list_rr_count(list);
	*addr_r = xreallocarray(*addr_r, *count_r + n, sizeof(**addr_r));
	for (i = 0; i < n; i++) {
		ldns_rdf *rdf = ldns_rr_rdf(ldns_rr_list_rr(list, i), 0);
		struct dns_addr *a = &(*addr_r)[*count_r];

		if (rdf == NULL || ldns_rdf_size(rdf) != want)
			continue;
		a->family = family;
		if (inet_ntop(family, ldns_rdf_data(rdf), a->text,
		    sizeof(a->text)) == NULL)
			continue;
		(*count_r)++;
	}
	ldns_rr_list_deep_free(list);
	return DNS_OK;
}

enum dns_result
dns_lookup_addr(const char *host, int family, struct dns_addr **addr_r,
    size_t *count_r, char **error_r)
{
	enum dns_result r6 = DNS_NODATA, r4 = DNS_NODATA;
	char *error6 = NULL, *error4 = NULL;

	*addr_r = NULL;
	*count_r = 0;
	*error_r = NULL;
	if (family == AF_INET6 || family == AF_UNSPEC)
		r6 = dns_lookup_family(host, AF_INET6, addr_r, count_r,
		    &error6);
	/* NXDOMAIN for AAAA holds for A as well: one query saved. */
	if ((family == AF_INET || family == AF_UNSPEC) && r6 != DNS_NOTFOUND)
		r4 = dns_lookup_family(host, AF_INET, addr_r, count_r,
		    &error4);
	if (*count_r > 0) {
		free(error6);
		free(error4);
		return DNS_OK;
	}
	free(*addr_r);
	*addr_r = NULL;
	if (family == AF_INET6) {
		*error_r = error6;
		free(error4);
		return r6;
	}
	if (r4 == DNS_TEMP || (r4 != DNS_NOTFOUND && r6 == DNS_TEMP)) {
		*error_r = r4 == DNS_TEMP ? error4 : error6;
		if (r4 == DNS_TEMP)
			free(error6);
		else
			free(error4);
		return DNS_TEMP;
	}
	if (r6 == DNS_NOTFOUND) {
		*error_r = error6;
		free(error4);
		return DNS_NOTFOUND;
	}
	*error_r = error4 != NULL ? error4 : xasprintf("Name service error "
	    "for name=%s type=A: %s", host, dns_result_text(r4));
	free(error6);
	return r4;
}
