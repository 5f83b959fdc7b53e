/*
 * maps_cidr.c - the cidr: table type (Postfix cidr_table(5)) and the
 * network parsing lib/netlist shares.
 *
 *   192.168.0.0/16    value
 *   10.1.2.3          value       a bare address is a /32 (or /128)
 *   [2001:db8::]/32   value       brackets around IPv6 are optional
 *   !10.0.0.0/8       value       matches every address NOT in 10/8
 *   if 10.0.0.0/8                 the rules up to endif apply only inside
 *   endif                         (if !net negates; ifs nest)
 *
 * The first matching rule answers; the key is an address string. As in
 * Postfix, a network with host bits set beyond its prefix is an error, and
 * every error names file and line at open time. IPv4 keys never match
 * IPv6 rules and vice versa, not even negated ones; an IPv4-mapped IPv6
 * key (::ffff:1.2.3.4) is looked up as IPv4.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "io.h"
#include "maps_type.h"
#include "mem.h"

/* Strip "[...]" (and an "IPv6:" tag inside) into out; false when the
 * brackets do not pair up. */
static bool
net_unbracket(const char *text, size_t len, char *out, size_t out_size)
{
	if (len > 0 && text[0] == '[') {
		if (len < 2 || text[len - 1] != ']')
			return false;
		text++;
		len -= 2;
		if (len >= 5 && strncasecmp(text, "ipv6:", 5) == 0) {
			text += 5;
			len -= 5;
		}
	}
	if (len == 0 || len >= out_size || memchr(text, '[', len) != NULL ||
	    memchr(text, ']', len) != NULL)
		return false;
	memcpy(out, text, len);
	out[len] = '\0';
	return true;
}

static int
net_parse_address(const char *text, size_t len, struct map_net *net)
{
	char address[INET6_ADDRSTRLEN + 8];

	memset(net, 0, sizeof(*net));
	if (!net_unbracket(text, len, address, sizeof(address)))
		return -1;
	if (strchr(address, ':') == NULL) {
		if (inet_pton(AF_INET, address, net->addr) != 1)
			return -1;
		net->family = AF_INET;
		net->prefix = 32;
	} else {
		if (inet_pton(AF_INET6, address, net->addr) != 1)
			return -1;
		net->family = AF_INET6;
		net->prefix = 128;
	}
	return 0;
}

int
map_net_parse_addr(const char *text, struct map_net *addr)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (net_parse_address(text, strlen(text), addr) < 0)
		return -1;
	if (addr->family == AF_INET6 &&
	    memcmp(addr->addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr->addr, addr->addr + 12, 4);
		memset(addr->addr + 4, 0, 12);
		addr->family = AF_INET;
		addr->prefix = 32;
	}
	return 0;
}

int
map_net_parse(const char *text, struct map_net *net, char **error_r)
{
	const char *slash = strrchr(text, '/');
	size_t address_len = slash != NULL ? (size_t)(slash - text) :
	    strlen(text);
	unsigned prefix = 0, max, bit;
	const char *p;

	if (net_parse_address(text, address_len, net) < 0) {
		*error_r = xasprintf("\"%s\" is not an address or network",
		    text);
		return -1;
	}
	max = net->prefix;
	if (slash != NULL) {
		if (slash[1] == '\0') {
			*error_r = xasprintf("\"%s\": missing prefix length",
			    text);
			return -1;
		}
		for (p = slash + 1; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p) || prefix > max) {
				*error_r = xasprintf("\"%s\": bad prefix "
				    "length", text);
				return -1;
			}
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max) {
			*error_r = xasprintf("\"%s\": prefix length over %u",
			    text, max);
			return -1;
		}
		net->prefix = prefix;
	}
	for (bit = net->prefix; bit < max; bit++) {
		if (net->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*error_r = xasprintf("\"%s\": host bits set beyond "
			    "the /%u prefix", text, net->prefix);
			return -1;
		}
	}
	return 0;
}

bool
map_net_match(const struct map_net *net, const struct map_net *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != addr->family)
		return false;
	if (memcmp(net->addr, addr->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ addr->addr[full]) &
	    (unsigned char)(0xff00 >> rest)) == 0;
}

/* The table. */

enum cidr_kind { CIDR_RULE, CIDR_IF, CIDR_ENDIF };

struct cidr_rule {
	enum cidr_kind kind;
	struct map_net net;
	bool negate;
	char *result;		/* CIDR_RULE */
	size_t skip_to;		/* CIDR_IF: index of its endif */
	int line_number;
};

struct cidr_table {
	struct cidr_rule *rules;
	size_t count, cap;
	size_t *open_ifs;	/* stack while parsing */
	size_t open_count;
	const char *name;
	char *error;
};

static void
cidr_close(void *handle)
{
	struct cidr_table *t = handle;
	size_t i;

	for (i = 0; i < t->count; i++)
		xfree(&t->rules[i].result);
	xfree(&t->rules);
	xfree(&t->open_ifs);
	xfree(&t);
}

static struct cidr_rule *
cidr_add(struct cidr_table *t, enum cidr_kind kind, int line_number)
{
	struct cidr_rule *r;

	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rules = xreallocarray(t->rules, t->cap, sizeof(*t->rules));
		t->open_ifs = xreallocarray(t->open_ifs, t->cap,
		    sizeof(*t->open_ifs));
	}
	r = &t->rules[t->count++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->line_number = line_number;
	return r;
}

/* "[!]network" at *p, advancing past it. */
static int
cidr_pattern(struct cidr_table *t, char **p, struct cidr_rule *r,
    int line_number)
{
	char *start, saved, *error = NULL;
	int rc;

	if (**p == '!') {
		r->negate = true;
		(*p)++;
		while (isspace((unsigned char)**p))
			(*p)++;
	}
	start = *p;
	while (**p != '\0' && !isspace((unsigned char)**p))
		(*p)++;
	saved = **p;
	**p = '\0';
	rc = map_net_parse(start, &r->net, &error);
	**p = saved;
	if (rc < 0) {
		t->error = xasprintf("%s, line %d: %s", t->name, line_number,
		    error);
		xfree(&error);
		return -1;
	}
	while (isspace((unsigned char)**p))
		(*p)++;
	return 0;
}

static bool
cidr_word(char **p, const char *word)
{
	size_t len = strlen(word);

	if (strncasecmp(*p, word, len) != 0 ||
	    (((*p)[len] != '\0') && !isspace((unsigned char)(*p)[len]) &&
	    (*p)[len] != '!'))
		return false;
	*p += len;
	while (isspace((unsigned char)**p))
		(*p)++;
	return true;
}

static int
cidr_line(void *ctx, char *line, int line_number)
{
	struct cidr_table *t = ctx;
	struct cidr_rule *r;
	char *p = line;

	while (isspace((unsigned char)*p))
		p++;
	if (cidr_word(&p, "endif")) {
		if (*p != '\0') {
			t->error = xasprintf("%s, line %d: text after endif",
			    t->name, line_number);
			return -1;
		}
		if (t->open_count == 0) {
			t->error = xasprintf("%s, line %d: endif without if",
			    t->name, line_number);
			return -1;
		}
		cidr_add(t, CIDR_ENDIF, line_number);
		t->rules[t->open_ifs[--t->open_count]].skip_to = t->count - 1;
		return 0;
	}
	if (cidr_word(&p, "if")) {
		r = cidr_add(t, CIDR_IF, line_number);
		if (cidr_pattern(t, &p, r, line_number) < 0)
			return -1;
		if (*p != '\0') {
			t->error = xasprintf("%s, line %d: text after if "
			    "network", t->name, line_number);
			return -1;
		}
		t->open_ifs[t->open_count++] = t->count - 1;
		return 0;
	}
	r = cidr_add(t, CIDR_RULE, line_number);
	if (cidr_pattern(t, &p, r, line_number) < 0)
		return -1;
	if (*p == '\0') {
		t->error = xasprintf("%s, line %d: no lookup result",
		    t->name, line_number);
		return -1;
	}
	r->result = xstrdup(p);
	return 0;
}

void *
map_cidr_parse(const char *name, const char *text, size_t len,
    char **error_r)
{
	struct cidr_table *t = xcalloc(1, sizeof(*t));

	t->name = name;
	if (map_source_lines(text, len, cidr_line, t) < 0) {
		*error_r = t->error;
		t->error = NULL;
		cidr_close(t);
		return NULL;
	}
	if (t->open_count > 0) {
		*error_r = xasprintf("%s, line %d: if without endif", name,
		    t->rules[t->open_ifs[t->open_count - 1]].line_number);
		cidr_close(t);
		return NULL;
	}
	t->name = NULL;
	xfree(&t->open_ifs);
	return t;
}

static void *
cidr_open(const char *name, char **error_r)
{
	struct buf text;
	void *t;

	buf_init(&text, MAP_SOURCE_MAX);
	if (io_read_file(name, MAP_SOURCE_MAX, &text) < 0) {
		*error_r = xasprintf("cidr:%s: cannot read: %s", name,
		    strerror(errno));
		buf_release(&text);
		return NULL;
	}
	t = map_cidr_parse(name, text.data, text.len, error_r);
	buf_release(&text);
	return t;
}

/* As in Postfix, a rule of the other address family never matches,
 * negated or not. */
static bool
cidr_applies(const struct cidr_rule *r, const struct map_net *addr)
{
	return r->net.family == addr->family &&
	    map_net_match(&r->net, addr) != r->negate;
}

static int
cidr_lookup(void *handle, const char *key, char **value_r)
{
	struct cidr_table *t = handle;
	struct map_net addr;
	size_t i;

	if (map_net_parse_addr(key, &addr) < 0)
		return 0;
	for (i = 0; i < t->count; i++) {
		struct cidr_rule *r = &t->rules[i];

		switch (r->kind) {
		case CIDR_ENDIF:
			break;
		case CIDR_IF:
			if (!cidr_applies(r, &addr))
				i = r->skip_to;
			break;
		case CIDR_RULE:
			if (cidr_applies(r, &addr)) {
				*value_r = xstrdup(r->result);
				return 1;
			}
			break;
		}
	}
	return 0;
}

const struct map_type map_type_cidr = {
	.name = "cidr",
	.fold_case = false,
	.open = cidr_open,
	.lookup = cidr_lookup,
	.close = cidr_close,
};
