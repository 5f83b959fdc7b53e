/*
 * postern_map.c - `postern map build` (postmap, newaliases) and
 * `postern map query` (postmap -q).
 *
 * A bare FILE means lmdb:FILE. build compiles FILE into FILE.lmdb
 * atomically; aliases(5) syntax with -a or when the file's name ends in
 * "aliases". query prints the value and exits 0, exits 1 when the key is
 * not found, 2 on errors.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "maps.h"
#include "mem.h"
#include "postern.h"

char *
postern_map_spec(const char *file)
{
	if (postern_is_table(file))
		return xstrdup(file);
	return xasprintf("lmdb:%s", file);
}

int
postern_map_build(const char *file, bool aliases)
{
	char *spec = postern_map_spec(file);
	const char *base = strrchr(file, '/');
	size_t len;
	char *error = NULL;
	int rc = 0;

	base = base != NULL ? base + 1 : file;
	len = strlen(base);
	if (len >= 7 && strcmp(base + len - 7, "aliases") == 0)
		aliases = true;
	if (map_build(spec, aliases, &error) < 0) {
		fprintf(stderr, "postern: %s\n", error != NULL ? error : spec);
		rc = 1;
	} else {
		log_info("uid %d: map build %s", (int)getuid(), spec);
	}
	xfree(&error);
	xfree(&spec);
	return rc;
}

int
postern_map_query(const char *map, const char *key)
{
	char *spec = postern_map_spec(map);
	char *error = NULL, *value = NULL;
	struct map *m = map_open(spec, &error);
	int rc;

	if (m == NULL) {
		fprintf(stderr, "postern: %s\n", error != NULL ? error : spec);
		xfree(&error);
		xfree(&spec);
		return 2;
	}
	switch (map_lookup(m, key, &value)) {
	case 1:
		printf("%s\n", value);
		rc = 0;
		break;
	case 0:
		rc = 1;
		break;
	default:
		fprintf(stderr, "postern: %s: lookup of %s failed\n", spec,
		    key);
		rc = 2;
	}
	xfree(&value);
	map_close(&m);
	xfree(&spec);
	return rc;
}
