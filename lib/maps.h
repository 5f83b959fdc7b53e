/*
 * maps.h - lookup tables behind one interface, named "type:name" as in
 * Postfix.
 *
 *   lmdb:/path      PATH.lmdb compiled from the text file PATH by
 *                   `postern map build` (postmap); reopened when the file
 *                   changes, so daemons see a new version without restart
 *   inline:{ k1=v1, { k2 = v2 } }
 *   static:value    every key maps to value
 *   cidr:/path      "network/prefix  value" lines, first match wins
 *   regexp:/path, pcre:/path   "/pattern/flags  value", first match wins
 *                   (PCRE2)
 *   unix:passwd.byname   the system password file; value is the passwd
 *                   line
 *
 * Keys are looked up as given and, for tables that fold case (all but
 * regexp/pcre), in lower case. Adding a type is one new file: a struct
 * map_type with open/lookup/close, registered in maps.c's table.
 */
#ifndef POSTERN_MAPS_H
#define POSTERN_MAPS_H

#include <stdbool.h>

struct map;

/* Open one table. NULL with a fresh message in *error_r ("lmdb:/x: file
 * not found"). Must be called before the jail for files outside it. */
struct map *map_open(const char *spec, char **error_r);
void map_close(struct map **m_r);
/* Look key up: 1 found (*value_r is a fresh string), 0 not found, -1
 * temporary error (logged) - the caller defers, never treats it as a
 * miss. */
int map_lookup(struct map *m, const char *key, char **value_r);
const char *map_spec(const struct map *m);
/* true when the file of any open table was replaced (renamed over) and
 * the new version could not be opened on the fly, typically because the
 * process is chrooted. The server skeleton then exits after the current
 * session so that the master starts a process that opens the new file. */
bool maps_changed(void);

/* A list of tables as in "alias_maps = lmdb:/etc/aliases, inline:{...}":
 * specs separated by commas or whitespace ({...} kept whole; NULL or ""
 * is an empty list). The first table that has the key answers; -1 from
 * any table (before one answers) is returned as -1. A NULL list finds
 * nothing. */
struct maplist;
struct maplist *maplist_open(const char *specs, char **error_r);
void maplist_close(struct maplist **l_r);
int maplist_lookup(struct maplist *l, const char *key, char **value_r);
bool maplist_empty(const struct maplist *l);

/* Compile the text source of spec ("lmdb:/etc/postern/virtual" or a bare
 * path) into PATH.lmdb atomically. aliases: "name: value" syntax (with
 * continuation lines) instead of "key value". Returns 0, or -1 with
 * *error_r naming file and line. */
int map_build(const char *spec, bool aliases, char **error_r);

#endif
