/*
 * maps.c - lookup tables: the type registry, map_open/lookup, map lists
 * and the text helpers the table types share (see maps.h, maps_type.h).
 *
 * Every open table is on one list so that maps_changed() can ask each
 * whether its file was replaced; the server skeleton then ends the process
 * after the current session and the master starts a fresh one that opens
 * the new version (this works inside the chroot, where the path is gone).
 *
 * Keys: for every type except regexp/pcre the key is looked up as given,
 * then lower-cased, as Postfix does for tables built with case folding.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "maps.h"
#include "maps_type.h"
#include "mem.h"

static const struct map_type *const map_types[] = {
	&map_type_lmdb,
	&map_type_inline,
	&map_type_static,
	&map_type_cidr,
	&map_type_regexp,
	&map_type_pcre,
	&map_type_unix,
};

struct map {
	char *spec;
	const struct map_type *type;
	void *handle;
	struct map *prev, *next;	/* all open maps, for maps_changed */
};

static struct map *map_all;

struct map *
map_open(const char *spec, char **error_r)
{
	const char *colon = strchr(spec, ':');
	const struct map_type *type = NULL;
	struct map *m;
	size_t len, i;
	char *error = NULL;
	void *handle;

	*error_r = NULL;
	if (colon == NULL || colon == spec) {
		*error_r = xasprintf("%s: not a table (expected type:name)",
		    spec);
		return NULL;
	}
	len = (size_t)(colon - spec);
	for (i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++) {
		if (strlen(map_types[i]->name) == len &&
		    strncasecmp(map_types[i]->name, spec, len) == 0) {
			type = map_types[i];
			break;
		}
	}
	if (type == NULL) {
		*error_r = xasprintf("%s: unsupported table type \"%.*s\"",
		    spec, (int)len, spec);
		return NULL;
	}
	handle = type->open(colon + 1, &error);
	if (handle == NULL) {
		*error_r = error != NULL ? error :
		    xasprintf("%s: cannot open table", spec);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->spec = xstrdup(spec);
	m->type = type;
	m->handle = handle;
	m->next = map_all;
	if (map_all != NULL)
		map_all->prev = m;
	map_all = m;
	return m;
}

void
map_close(struct map **m_r)
{
	struct map *m = *m_r;

	if (m == NULL)
		return;
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		map_all = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	m->type->close(m->handle);
	xfree(&m->spec);
	xfree(m_r);
}

char *
map_lowercase(const char *s)
{
	char *copy = xstrdup(s), *p;

	for (p = copy; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return copy;
}

int
map_lookup(struct map *m, const char *key, char **value_r)
{
	char *lower;
	int rc;

	*value_r = NULL;
	rc = m->type->lookup(m->handle, key, value_r);
	if (rc != 0 || !m->type->fold_case)
		return rc;
	lower = map_lowercase(key);
	if (strcmp(lower, key) != 0)
		rc = m->type->lookup(m->handle, lower, value_r);
	xfree(&lower);
	return rc;
}

const char *
map_spec(const struct map *m)
{
	return m->spec;
}

bool
maps_changed(void)
{
	struct map *m;

	for (m = map_all; m != NULL; m = m->next) {
		if (m->type->changed != NULL && m->type->changed(m->handle))
			return true;
	}
	return false;
}

/* Lists of tables. */

struct maplist {
	struct map **maps;
	size_t count;
};

struct maplist *
maplist_open(const char *specs, char **error_r)
{
	struct maplist *l;
	char **items;
	size_t count, i;

	*error_r = NULL;
	items = map_split_list(specs != NULL ? specs : "", error_r);
	if (items == NULL)
		return NULL;
	for (count = 0; items[count] != NULL; count++)
		;
	l = xcalloc(1, sizeof(*l));
	l->maps = xcalloc(count ? count : 1, sizeof(*l->maps));
	for (i = 0; i < count; i++) {
		l->maps[i] = map_open(items[i], error_r);
		if (l->maps[i] == NULL) {
			map_split_free(&items);
			maplist_close(&l);
			return NULL;
		}
		l->count++;
	}
	map_split_free(&items);
	return l;
}

void
maplist_close(struct maplist **l_r)
{
	struct maplist *l = *l_r;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		map_close(&l->maps[i]);
	xfree(&l->maps);
	xfree(l_r);
}

int
maplist_lookup(struct maplist *l, const char *key, char **value_r)
{
	size_t i;
	int rc;

	*value_r = NULL;
	if (l == NULL)
		return 0;
	for (i = 0; i < l->count; i++) {
		rc = map_lookup(l->maps[i], key, value_r);
		if (rc != 0)
			return rc;
	}
	return 0;
}

bool
maplist_empty(const struct maplist *l)
{
	return l == NULL || l->count == 0;
}

/* Text helpers. */

static void
map_trim_trailing(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
}

int
map_source_lines(const char *text, size_t len,
    int (*fn)(void *ctx, char *line, int line_number), void *ctx)
{
	struct buf logical;
	size_t pos = 0;
	int line_number = 0, start_line = 0, rc = 0;
	bool have = false;

	buf_init(&logical, MAP_SOURCE_MAX);
	while (pos < len && rc == 0) {
		const char *line = text + pos, *nl;
		size_t line_len;

		nl = memchr(line, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL);
		line_number++;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		{
			size_t i = 0;

			while (i < line_len && isspace((unsigned char)line[i]))
				i++;
			/* Blank and comment lines end nothing: Postfix lets a
			 * comment sit inside a continued entry. */
			if (i == line_len || line[i] == '#')
				continue;
			if (i > 0 && have) {
				(void)buf_add(&logical, line, line_len);
				continue;
			}
		}
		if (have) {
			map_trim_trailing(logical.data);
			rc = fn(ctx, logical.data, start_line);
		}
		buf_reset(&logical);
		/* An embedded NUL would cut the line short; keep it as is,
		 * the parsers see the text before it. */
		(void)buf_add(&logical, line, line_len);
		have = true;
		start_line = line_number;
	}
	if (have && rc == 0) {
		map_trim_trailing(logical.data);
		rc = fn(ctx, logical.data, start_line);
	}
	buf_release(&logical);
	return rc;
}

char **
map_split_list(const char *list, char **error_r)
{
	char **items = NULL;
	size_t count = 0, cap = 0;
	const char *p = list;

	*error_r = NULL;
	for (;;) {
		const char *start;
		int depth = 0;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0') {
			if (*p == '{')
				depth++;
			else if (*p == '}') {
				if (depth == 0)
					break;
				depth--;
			} else if (depth == 0 &&
			    (*p == ',' || isspace((unsigned char)*p)))
				break;
			p++;
		}
		if (depth != 0 || *p == '}') {
			*error_r = xasprintf("\"%s\": unbalanced { } braces",
			    list);
			if (items != NULL) {
				items[count] = NULL;
				map_split_free(&items);
			}
			return NULL;
		}
		if (count + 2 > cap) {
			cap = cap ? cap * 2 : 8;
			items = xreallocarray(items, cap, sizeof(*items));
		}
		items[count++] = xstrndup(start, (size_t)(p - start));
	}
	if (items == NULL)
		items = xcalloc(1, sizeof(*items));
	items[count] = NULL;
	return items;
}

void
map_split_free(char ***items_r)
{
	char **items = *items_r;
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; items[i] != NULL; i++)
		free(items[i]);
	xfree(items_r);
}

/* Source parsing for map_build. */

struct source_state {
	const char *name;
	bool aliases;
	int (*fn)(void *ctx, const char *key, const char *value,
	    int line_number);
	void *ctx;
	char *error;
};

/* aliases(5): name: value, value. The name may be quoted ("a b": x). */
static int
source_alias_line(struct source_state *s, char *line, int line_number)
{
	struct buf name;
	char *p = line, *value;
	int rc;

	buf_init(&name, MAP_SOURCE_MAX);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '"') {
		p++;
		while (*p != '\0' && *p != '"') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			(void)buf_add_char(&name, *p++);
		}
		if (*p != '"') {
			s->error = xasprintf("%s, line %d: unterminated quoted "
			    "name", s->name, line_number);
			buf_release(&name);
			return -1;
		}
		p++;
		while (isspace((unsigned char)*p))
			p++;
	} else {
		while (*p != '\0' && *p != ':')
			(void)buf_add_char(&name, *p++);
		while (name.len > 0 &&
		    isspace((unsigned char)name.data[name.len - 1]))
			buf_truncate(&name, name.len - 1);
	}
	if (*p != ':') {
		s->error = xasprintf("%s, line %d: need \"name: value\"",
		    s->name, line_number);
		buf_release(&name);
		return -1;
	}
	if (name.len == 0) {
		s->error = xasprintf("%s, line %d: empty name", s->name,
		    line_number);
		buf_release(&name);
		return -1;
	}
	value = p + 1;
	while (isspace((unsigned char)*value))
		value++;
	if (*value == '\0') {
		s->error = xasprintf("%s, line %d: no value for \"%s\"",
		    s->name, line_number, name.data);
		buf_release(&name);
		return -1;
	}
	rc = s->fn(s->ctx, name.data, value, line_number);
	buf_release(&name);
	return rc;
}

static int
source_line(void *ctx, char *line, int line_number)
{
	struct source_state *s = ctx;
	char *p = line, *key, *value;
	int rc;

	if (s->aliases)
		return source_alias_line(s, line, line_number);
	while (isspace((unsigned char)*p))
		p++;
	key = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p == '\0') {
		s->error = xasprintf("%s, line %d: need \"key value\"",
		    s->name, line_number);
		return -1;
	}
	*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	value = p;
	rc = s->fn(s->ctx, key, value, line_number);
	return rc;
}

int
map_source_parse(const char *name, const char *text, size_t len,
    bool aliases, int (*fn)(void *ctx, const char *key, const char *value,
    int line_number), void *ctx, char **error_r)
{
	struct source_state s = { name, aliases, fn, ctx, NULL };

	*error_r = NULL;
	if (map_source_lines(text, len, source_line, &s) < 0) {
		*error_r = s.error;	/* NULL: fn failed, its own error */
		return -1;
	}
	return 0;
}
