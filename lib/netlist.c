/*
 * netlist.c - mynetworks-style client address lists (see netlist.h).
 *
 * An entry is tried as an address or network first, so IPv6 text such as
 * "fe80::/10" never reaches the table code; what is left and looks like
 * "type:name" is opened with map_open(). Table keys are the address in
 * its canonical text form (inet_ntop; an IPv4-mapped IPv6 address as
 * IPv4), so "[::1]" and "::1" and "0:0::1" find the same entry.
 * "/file" entries are read once, here; their entries may not name more
 * files (no loops).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "io.h"
#include "maps.h"
#include "maps_type.h"
#include "mem.h"
#include "netlist.h"

#define NETLIST_FILE_MAX	(16u * 1024 * 1024)

struct netlist_entry {
	bool negate;
	bool is_map;
	struct map_net net;
	struct map *map;
};

struct netlist {
	struct netlist_entry *entries;
	size_t count, cap;
};

struct netlist_file {
	struct netlist *list;
	const char *path;
	char *error;
};

static int netlist_add_items(struct netlist *l, const char *text,
    bool in_file, char **error_r);

/* "fe80" in "fe80::1" is no table type: hex digits only. */
static bool
netlist_looks_like_table(const char *item)
{
	const char *colon = strchr(item, ':'), *p;
	bool hex_only = true;

	if (colon == NULL || colon == item || item[0] == '[' ||
	    !isalpha((unsigned char)item[0]))
		return false;
	for (p = item; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
		hex_only &= isxdigit((unsigned char)*p) != 0;
	}
	return !hex_only;
}

static struct netlist_entry *
netlist_entry_new(struct netlist *l)
{
	struct netlist_entry *e;

	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->entries = xreallocarray(l->entries, l->cap,
		    sizeof(*l->entries));
	}
	e = &l->entries[l->count];
	memset(e, 0, sizeof(*e));
	return e;
}

static int
netlist_file_line(void *ctx, char *line, int line_number)
{
	struct netlist_file *f = ctx;
	char *error = NULL;

	if (netlist_add_items(f->list, line, true, &error) < 0) {
		f->error = xasprintf("%s, line %d: %s", f->path, line_number,
		    error);
		xfree(&error);
		return -1;
	}
	return 0;
}

static int
netlist_add_file(struct netlist *l, const char *path, char **error_r)
{
	struct netlist_file f = { l, path, NULL };
	struct buf text;
	int rc;

	buf_init(&text, NETLIST_FILE_MAX);
	if (io_read_file(path, NETLIST_FILE_MAX, &text) < 0) {
		*error_r = xasprintf("%s: cannot read: %s", path,
		    strerror(errno));
		buf_release(&text);
		return -1;
	}
	rc = map_source_lines(text.data, text.len, netlist_file_line, &f);
	buf_release(&text);
	if (rc < 0) {
		*error_r = f.error;
		return -1;
	}
	return 0;
}

static int
netlist_add_item(struct netlist *l, const char *item, bool in_file,
    char **error_r)
{
	struct netlist_entry *e;
	bool negate = false;
	char *error = NULL;

	while (*item == '!') {
		negate = !negate;
		item++;
	}
	if (*item == '\0') {
		*error_r = xstrdup("\"!\" without an entry");
		return -1;
	}
	if (*item == '/') {
		if (in_file) {
			*error_r = xasprintf("%s: a file may not name another "
			    "file", item);
			return -1;
		}
		if (negate) {
			*error_r = xasprintf("!%s: a file cannot be negated",
			    item);
			return -1;
		}
		return netlist_add_file(l, item, error_r);
	}
	e = netlist_entry_new(l);
	e->negate = negate;
	if (map_net_parse(item, &e->net, &error) == 0) {
		l->count++;
		return 0;
	}
	if (!netlist_looks_like_table(item)) {
		*error_r = error;
		return -1;
	}
	xfree(&error);
	e->map = map_open(item, error_r);
	if (e->map == NULL)
		return -1;
	e->is_map = true;
	l->count++;
	return 0;
}

static int
netlist_add_items(struct netlist *l, const char *text, bool in_file,
    char **error_r)
{
	char **items;
	size_t i;

	items = map_split_list(text, error_r);
	if (items == NULL)
		return -1;
	for (i = 0; items[i] != NULL; i++) {
		if (netlist_add_item(l, items[i], in_file, error_r) < 0) {
			map_split_free(&items);
			return -1;
		}
	}
	map_split_free(&items);
	return 0;
}

struct netlist *
netlist_new(const char *list, char **error_r)
{
	struct netlist *l = xcalloc(1, sizeof(*l));

	*error_r = NULL;
	if (netlist_add_items(l, list != NULL ? list : "", false,
	    error_r) < 0) {
		netlist_free(&l);
		return NULL;
	}
	return l;
}

int
netlist_match(const struct netlist *l, const char *addr)
{
	struct map_net address;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	if (l == NULL || map_net_parse_addr(addr, &address) < 0)
		return 0;
	if (inet_ntop(address.family, address.addr, text,
	    sizeof(text)) == NULL)
		return 0;
	for (i = 0; i < l->count; i++) {
		const struct netlist_entry *e = &l->entries[i];
		char *value = NULL;
		int found;

		if (e->is_map) {
			found = map_lookup(e->map, text, &value);
			xfree(&value);
			if (found < 0)
				return -1;
		} else if (e->net.family != address.family) {
			continue;	/* "!1.2.3.4" says nothing of IPv6 */
		} else {
			found = map_net_match(&e->net, &address);
		}
		if (found)
			return e->negate ? 0 : 1;
	}
	return 0;
}

void
netlist_free(struct netlist **l_r)
{
	struct netlist *l = *l_r;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		map_close(&l->entries[i].map);
	xfree(&l->entries);
	xfree(l_r);
}
