/*
 * maps_unix.c - the unix:passwd.byname table type.
 *
 * The password database is read once at open time (setpwent/getpwent)
 * into memory, so lookups keep working inside the chroot where
 * /etc/passwd and NSS modules are out of reach. The value is the passwd
 * line "name:x:uid:gid:gecos:dir:shell" with the password field always
 * "x": no hash ever leaves this module. A daemon sees accounts added
 * later after its restart (max_use). Only passwd.byname exists, as in
 * Postfix; unix:group.byname is refused.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "maps_type.h"
#include "mem.h"

struct unix_entry {
	char *name;
	char *line;
	size_t order;		/* position in the database */
};

struct unix_table {
	struct unix_entry *entries;	/* sorted by name */
	size_t count;
};

static int
unix_compare(const void *a, const void *b)
{
	const struct unix_entry *x = a, *y = b;
	int rc = strcmp(x->name, y->name);

	if (rc != 0)
		return rc;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* bsearch compares by name only. */
static int
unix_compare_name(const void *a, const void *b)
{
	const struct unix_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
unix_close(void *handle)
{
	struct unix_table *t = handle;
	size_t i;

	for (i = 0; i < t->count; i++) {
		xfree(&t->entries[i].name);
		xfree(&t->entries[i].line);
	}
	xfree(&t->entries);
	xfree(&t);
}

static void *
unix_open(const char *name, char **error_r)
{
	struct unix_table *t;
	struct passwd *pw;
	size_t cap = 0, i, kept;

	if (strcmp(name, "passwd.byname") != 0) {
		*error_r = xasprintf("unix:%s: unsupported table (only "
		    "unix:passwd.byname)", name);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	setpwent();
	for (;;) {
		errno = 0;
		pw = getpwent();
		if (pw == NULL)
			break;
		if (pw->pw_name == NULL || pw->pw_name[0] == '\0')
			continue;
		if (t->count == cap) {
			cap = cap ? cap * 2 : 64;
			t->entries = xreallocarray(t->entries, cap,
			    sizeof(*t->entries));
		}
		t->entries[t->count].order = t->count;
		t->entries[t->count].name = xstrdup(pw->pw_name);
		t->entries[t->count].line = xasprintf("%s:x:%lu:%lu:%s:%s:%s",
		    pw->pw_name, (unsigned long)pw->pw_uid,
		    (unsigned long)pw->pw_gid,
		    pw->pw_gecos ? pw->pw_gecos : "",
		    pw->pw_dir ? pw->pw_dir : "",
		    pw->pw_shell ? pw->pw_shell : "");
		t->count++;
	}
	endpwent();
	if (t->count == 0) {
		*error_r = xasprintf("unix:%s: cannot read the password "
		    "database", name);
		unix_close(t);
		return NULL;
	}
	qsort(t->entries, t->count, sizeof(*t->entries), unix_compare);
	/* The first of duplicate names wins, as with getpwnam(). */
	for (i = 1, kept = 1; i < t->count; i++) {
		const char *previous = t->entries[kept - 1].name;

		if (strcmp(t->entries[i].name, previous) == 0) {
			xfree(&t->entries[i].name);
			xfree(&t->entries[i].line);
			continue;
		}
		t->entries[kept++] = t->entries[i];
	}
	t->count = kept;
	return t;
}

static int
unix_lookup(void *handle, const char *key, char **value_r)
{
	struct unix_table *t = handle;
	struct unix_entry probe = { (char *)key, NULL, 0 }, *found;

	found = bsearch(&probe, t->entries, t->count, sizeof(*t->entries),
	    unix_compare_name);
	if (found == NULL)
		return 0;
	*value_r = xstrdup(found->line);
	return 1;
}

const struct map_type map_type_unix = {
	.name = "unix",
	.fold_case = true,
	.open = unix_open,
	.lookup = unix_lookup,
	.close = unix_close,
};
