/*
 * maps_fuzz.c - libFuzzer target for the table source parsers: cidr:,
 * regexp:/pcre:, the map_build text and aliases syntax, inline: specs
 * and netlist entries. The first byte picks the parser; a table that
 * parses is also queried with a few keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maps.h"
#include "maps_type.h"
#include "mem.h"
#include "netlist.h"

static const char *const fuzz_keys[] = {
	"", "1.2.3.4", "::1", "::ffff:10.0.0.1", "Subject: hello\n world",
	"From: a@example.com", "postmaster",
};

static int
fuzz_pair(void *ctx, const char *key, const char *value, int line_number)
{
	(*(size_t *)ctx) += strlen(key) + strlen(value);
	return 0;
}

static void
fuzz_query(const struct map_type *type, void *t)
{
	size_t i;

	for (i = 0; i < sizeof(fuzz_keys) / sizeof(fuzz_keys[0]); i++) {
		char *value = NULL;

		(void)type->lookup(t, fuzz_keys[i], &value);
		free(value);
	}
	type->close(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	const char *text;
	char *error = NULL, *copy;
	size_t len, total = 0;
	void *t;

	if (!initialised) {
		log_set_verbose(false);
		initialised = true;
	}
	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 6) {
	case 0:
		t = map_cidr_parse("fuzz", text, len, &error);
		if (t != NULL)
			fuzz_query(&map_type_cidr, t);
		break;
	case 1:
	case 2:
		t = map_regexp_parse("fuzz", text, len, data[0] % 6 == 2,
		    &error);
		if (t != NULL)
			fuzz_query(&map_type_pcre, t);
		break;
	case 3:
	case 4:
		(void)map_source_parse("fuzz", text, len, data[0] % 6 == 4,
		    fuzz_pair, &total, &error);
		break;
	case 5: {
		struct map *m;
		struct netlist *l;

		/* Specs are NUL-terminated strings. */
		copy = xstrndup(text, len);
		if (strncmp(copy, "inline:", 7) == 0 ||
		    strncmp(copy, "static:", 7) == 0) {
			m = map_open(copy, &error);
			if (m != NULL) {
				char *value = NULL;

				(void)map_lookup(m, "Key", &value);
				free(value);
				map_close(&m);
			}
		} else if (strchr(copy, '/') == NULL &&
		    strcasestr(copy, "lmdb:") == NULL &&
		    strcasestr(copy, "cidr:") == NULL &&
		    strcasestr(copy, "regexp:") == NULL &&
		    strcasestr(copy, "pcre:") == NULL) {
			/* No files, no tables that read files. */
			l = netlist_new(copy, &error);
			if (l != NULL) {
				(void)netlist_match(l, "10.1.2.3");
				(void)netlist_match(l, "2001:db8::1");
				netlist_free(&l);
			}
		}
		xfree(&copy);
		break;
	}
	}
	xfree(&error);
	return 0;
}
