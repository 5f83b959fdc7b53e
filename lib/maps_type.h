/*
 * maps_type.h - private interface between lib/maps.c and the table types.
 *
 * Each type lives in its own file (maps_lmdb.c, maps_inline.c, ...) and
 * exports one struct map_type; maps.c lists them in its registry. Adding
 * a type (pgsql:) is one new file plus one line there. Only lib/maps*.c,
 * lib/netlist.c and the map tests and fuzzers include this header.
 *
 * The text parsers are also reachable from memory (map_*_parse) so the
 * fuzzer and the tests can feed them without files.
 */
#ifndef POSTERN_MAPS_TYPE_H
#define POSTERN_MAPS_TYPE_H

#include <stdbool.h>
#include <stddef.h>

/* Largest source file a table type reads (cidr, regexp, build). */
#define MAP_SOURCE_MAX	(256u * 1024 * 1024)

struct map_type {
	const char *name;		/* "lmdb" */
	/* Also try the lower-cased key after an exact miss. */
	bool fold_case;
	/* Open the table named by the text after "type:". Returns the
	 * type's handle, or NULL with a fresh *error_r. */
	void *(*open)(const char *name, char **error_r);
	/* 1 found (fresh *value_r), 0 not found, -1 temporary error. */
	int (*lookup)(void *handle, const char *key, char **value_r);
	void (*close)(void *handle);
	/* true when the table's file was replaced since open (may be NULL:
	 * never). */
	bool (*changed)(void *handle);
};

extern const struct map_type map_type_lmdb;
extern const struct map_type map_type_inline;
extern const struct map_type map_type_static;
extern const struct map_type map_type_cidr;
extern const struct map_type map_type_regexp;
extern const struct map_type map_type_pcre;
extern const struct map_type map_type_unix;

/* Logical lines of a table source: "#" comment lines and blank lines are
 * skipped, a line starting with whitespace continues the previous one.
 * Calls fn(ctx, text, line_number) for each logical line (text without
 * the newline, trailing whitespace removed); stops at the first -1. */
int map_source_lines(const char *text, size_t len,
    int (*fn)(void *ctx, char *line, int line_number), void *ctx);

/* Split a list at commas and whitespace, keeping {...} groups (with the
 * text before them) together: "a, inline:{x=1, y=2} b" gives "a",
 * "inline:{x=1, y=2}", "b". Returns a NULL-terminated array of fresh
 * strings (free with map_split_free), or NULL with *error_r on unbalanced
 * braces. */
char **map_split_list(const char *list, char **error_r);
void map_split_free(char ***items_r);

/* Lower-case copy. */
char *map_lowercase(const char *s);

/* Parse a text source into key/value pairs for map_build: "key value"
 * lines, or aliases(5) "name: value, value" lines. fn gets each pair and
 * its line number; errors are "NAME, line N: text". When fn returns -1
 * parsing stops and *error_r is NULL (fn keeps its own error). */
int map_source_parse(const char *name, const char *text, size_t len,
    bool aliases, int (*fn)(void *ctx, const char *key, const char *value,
    int line_number), void *ctx, char **error_r);

/* Networks, shared by cidr: and lib/netlist. */
struct map_net {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network byte order */
	unsigned prefix;		/* bits */
};
/* "1.2.3.0/24", "1.2.3.4", "[::1]/128", "::1/128", "[2001:db8::]".
 * Host bits beyond the prefix are an error, as in Postfix. Returns 0, or
 * -1 with a fresh *error_r (no file/line: the caller adds them). */
int map_net_parse(const char *text, struct map_net *net, char **error_r);
/* An address to look up: "1.2.3.4", "::1", "[::1]"; "::ffff:1.2.3.4"
 * becomes IPv4. Returns 0, or -1 when text is not an address. */
int map_net_parse_addr(const char *text, struct map_net *addr);
bool map_net_match(const struct map_net *net, const struct map_net *addr);

/* Parse table text from memory (name is used in error messages). */
void *map_cidr_parse(const char *name, const char *text, size_t len,
    char **error_r);
void *map_regexp_parse(const char *name, const char *text, size_t len,
    bool pcre, char **error_r);

#endif
