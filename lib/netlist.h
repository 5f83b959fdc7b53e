/*
 * netlist.h - mynetworks-style client address lists.
 *
 * A list of addresses and networks ("127.0.0.0/8, [::1]/128, 10.1.2.3,
 * 2001:db8::/32"), "type:table" lookup tables (the client address string
 * is the key; a cidr: table matches by network, any found value counts as
 * a match) and "/file/name" files holding more such entries. Entries are
 * separated by commas or whitespace; "!entry" excludes what it matches.
 * The first entry that matches decides, as in Postfix's match lists.
 * Host names are not supported (mynetworks rarely needs them and they
 * would cost a DNS lookup per client).
 */
#ifndef POSTERN_NETLIST_H
#define POSTERN_NETLIST_H

struct netlist;

/* Parse list (may be empty: matches nothing). Tables and files are opened
 * now, so call this before the jail. NULL with a fresh *error_r naming
 * the bad entry (and file and line for entries read from a file). */
struct netlist *netlist_new(const char *list, char **error_r);
/* 1 addr ("1.2.3.4", "::1", "[::1]", "::ffff:1.2.3.4") is in the list,
 * 0 not (or addr is not an address), -1 a table had a temporary error. */
int netlist_match(const struct netlist *l, const char *addr);
void netlist_free(struct netlist **l_r);

#endif
