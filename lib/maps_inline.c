/*
 * maps_inline.c - the inline: and static: table types.
 *
 *   inline:{ key=value, { key = value with, commas } }
 *   static:value   static:{ value with spaces }
 *
 * As in Postfix, inline: elements are separated by commas or whitespace;
 * an element in braces may hold both, with whitespace around "=" ignored.
 * Keys are stored lower-cased (maps.c tries the exact key, then lower
 * case); the first of duplicate keys wins. Tables are small, so lookup is
 * a linear scan.
 */
#include <ctype.h>
#include <string.h>

#include "maps_type.h"
#include "mem.h"

struct inline_table {
	char **keys;
	char **values;
	size_t count;
};

static char *
inline_trim(const char *start, size_t len)
{
	while (len > 0 && isspace((unsigned char)*start)) {
		start++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	return xstrndup(start, len);
}

/* "{ text }" -> "text" (fresh), or NULL when not braced. */
static char *
inline_unbrace(const char *s)
{
	size_t len = strlen(s);

	if (len < 2 || s[0] != '{' || s[len - 1] != '}')
		return NULL;
	return inline_trim(s + 1, len - 2);
}

static void
inline_close(void *handle)
{
	struct inline_table *t = handle;
	size_t i;

	for (i = 0; i < t->count; i++) {
		xfree(&t->keys[i]);
		xfree(&t->values[i]);
	}
	xfree(&t->keys);
	xfree(&t->values);
	xfree(&t);
}

static void *
inline_open(const char *name, char **error_r)
{
	struct inline_table *t;
	char *body, **items, *error = NULL;
	size_t count, i, j;

	body = inline_unbrace(name);
	if (body == NULL) {
		*error_r = xasprintf("inline:%s: expected inline:{ key=value, "
		    "... }", name);
		return NULL;
	}
	items = map_split_list(body, &error);
	xfree(&body);
	if (items == NULL) {
		*error_r = xasprintf("inline:%s: %s", name, error);
		xfree(&error);
		return NULL;
	}
	for (count = 0; items[count] != NULL; count++)
		;
	t = xcalloc(1, sizeof(*t));
	t->keys = xcalloc(count ? count : 1, sizeof(*t->keys));
	t->values = xcalloc(count ? count : 1, sizeof(*t->values));
	for (i = 0; i < count; i++) {
		char *element = inline_unbrace(items[i]);
		const char *text = element != NULL ? element : items[i];
		const char *eq = strchr(text, '=');
		char *key;
		bool duplicate = false;

		if (eq == NULL || (element == NULL && strchr(text, '{'))) {
			*error_r = xasprintf("inline:%s: \"%s\" is not "
			    "key=value", name, items[i]);
			xfree(&element);
			map_split_free(&items);
			inline_close(t);
			return NULL;
		}
		key = inline_trim(text, (size_t)(eq - text));
		if (*key == '\0') {
			*error_r = xasprintf("inline:%s: empty key in \"%s\"",
			    name, items[i]);
			xfree(&key);
			xfree(&element);
			map_split_free(&items);
			inline_close(t);
			return NULL;
		}
		{
			char *lower = map_lowercase(key);

			xfree(&key);
			key = lower;
		}
		for (j = 0; j < t->count; j++)
			duplicate |= strcmp(t->keys[j], key) == 0;
		if (duplicate) {
			xfree(&key);
		} else {
			t->keys[t->count] = key;
			t->values[t->count] = inline_trim(eq + 1,
			    strlen(eq + 1));
			t->count++;
		}
		xfree(&element);
	}
	map_split_free(&items);
	return t;
}

static int
inline_lookup(void *handle, const char *key, char **value_r)
{
	struct inline_table *t = handle;
	size_t i;

	for (i = 0; i < t->count; i++) {
		if (strcmp(t->keys[i], key) == 0) {
			*value_r = xstrdup(t->values[i]);
			return 1;
		}
	}
	return 0;
}

const struct map_type map_type_inline = {
	.name = "inline",
	.fold_case = true,
	.open = inline_open,
	.lookup = inline_lookup,
	.close = inline_close,
};

static void *
static_open(const char *name, char **error_r)
{
	char *value = inline_unbrace(name);

	if (value == NULL) {
		if (strchr(name, '{') != NULL || strchr(name, '}') != NULL) {
			*error_r = xasprintf("static:%s: unbalanced { } "
			    "braces", name);
			return NULL;
		}
		value = xstrdup(name);
	}
	return value;
}

static int
static_lookup(void *handle, const char *key, char **value_r)
{
	*value_r = xstrdup(handle);
	return 1;
}

static void
static_close(void *handle)
{
	xfree(&handle);
}

const struct map_type map_type_static = {
	.name = "static",
	.fold_case = false,
	.open = static_open,
	.lookup = static_lookup,
	.close = static_close,
};
