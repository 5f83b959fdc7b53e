/*
 * maps_lmdb.c - the lmdb: table type and map_build() (postmap).
 *
 * "lmdb:/path" reads /path.lmdb, compiled from the text file /path. The
 * database is opened read-only with MDB_NOSUBDIR and MDB_NOLOCK: that is
 * safe because a table file is never modified in place; map_build writes
 * PATH.lmdb.tmp.PID, syncs it and renames it over PATH.lmdb. Keys are
 * stored lower-cased and without a NUL, values as the text after the key
 * (no NUL either).
 *
 * Replacement: an open table keeps reading the old version through its
 * descriptor and memory map. When the file was renamed over, fstat() on
 * the open descriptor shows st_nlink == 0. If the path is still reachable
 * (no chroot) the new version is opened on the fly; otherwise the table
 * reports itself changed and maps_changed() tells the server skeleton to
 * finish the session and exit, so the master starts a fresh process that
 * opens the new file before its jail.
 *
 * map_build: duplicate keys are logged and the first one wins, like
 * postmap. The output gets the source file's permission bits.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "maps_type.h"
#include "mem.h"

#define LMDB_SUFFIX	".lmdb"
#define LMDB_MAPSIZE_MAX	((size_t)1 << 40)

struct lmdb_table {
	char *name;		/* as given after "lmdb:" */
	char *path;		/* name + ".lmdb" */
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev;
	ino_t ino;
	bool replaced;		/* renamed over and not reopened */
};

static int
lmdb_env_open(const char *name, const char *path, MDB_env **env_r,
    MDB_dbi *dbi_r, struct stat *st, char **error_r)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int rc, fd;

	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_open(env, path,
		    MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0644);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, dbi_r);
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc == 0)
		rc = mdb_env_get_fd(env, &fd);
	if (rc == 0 && fstat(fd, st) < 0)
		rc = errno;
	if (rc != 0) {
		if (txn != NULL)
			mdb_txn_abort(txn);
		if (env != NULL)
			mdb_env_close(env);
		*error_r = xasprintf("lmdb:%s: %s: %s", name, path,
		    rc == ENOENT ? "file not found (build it with "
		    "\"postern map build\")" : mdb_strerror(rc));
		return -1;
	}
	*env_r = env;
	return 0;
}

static void *
lmdb_open(const char *name, char **error_r)
{
	struct lmdb_table *t;
	struct stat st;

	if (name[0] == '\0') {
		*error_r = xstrdup("lmdb:: missing file name");
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->path = xasprintf("%s%s", name, LMDB_SUFFIX);
	if (lmdb_env_open(name, t->path, &t->env, &t->dbi, &st,
	    error_r) < 0) {
		xfree(&t->name);
		xfree(&t->path);
		xfree(&t);
		return NULL;
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return t;
}

static void
lmdb_close(void *handle)
{
	struct lmdb_table *t = handle;

	mdb_env_close(t->env);
	xfree(&t->name);
	xfree(&t->path);
	xfree(&t);
}

/* Notice a replaced file and, when the path leads to the new one, switch
 * to it. Returns true while the table still reads an old version. */
static bool
lmdb_changed(void *handle)
{
	struct lmdb_table *t = handle;
	struct stat st;
	MDB_env *env;
	MDB_dbi dbi;
	char *error = NULL;
	int fd;

	if (!t->replaced) {
		if (mdb_env_get_fd(t->env, &fd) != 0 || fstat(fd, &st) < 0 ||
		    st.st_nlink > 0)
			return false;
		t->replaced = true;
		log_info("lmdb:%s: the table file was replaced", t->name);
	}
	/* Inside a chroot the path is gone (or is not ours): keep the old
	 * version until the process restarts. */
	if (stat(t->path, &st) < 0 ||
	    (st.st_dev == t->dev && st.st_ino == t->ino))
		return true;
	if (lmdb_env_open(t->name, t->path, &env, &dbi, &st, &error) < 0) {
		log_warn("%s", error);
		xfree(&error);
		return true;
	}
	mdb_env_close(t->env);
	t->env = env;
	t->dbi = dbi;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->replaced = false;
	log_info("lmdb:%s: opened the new version", t->name);
	return false;
}

static int
lmdb_lookup(void *handle, const char *key, char **value_r)
{
	struct lmdb_table *t = handle;
	MDB_txn *txn;
	MDB_val k, v;
	size_t len = strlen(key);
	int rc;

	(void)lmdb_changed(t);
	if (len == 0 || len > (size_t)mdb_env_get_maxkeysize(t->env))
		return 0;
	rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		log_warn("lmdb:%s: %s", t->name, mdb_strerror(rc));
		return -1;
	}
	k.mv_data = (void *)key;
	k.mv_size = len;
	rc = mdb_get(txn, t->dbi, &k, &v);
	if (rc == 0)
		*value_r = xstrndup(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		log_warn("lmdb:%s: %s", t->name, mdb_strerror(rc));
		return -1;
	}
	return 1;
}

const struct map_type map_type_lmdb = {
	.name = "lmdb",
	.fold_case = true,
	.open = lmdb_open,
	.lookup = lmdb_lookup,
	.close = lmdb_close,
	.changed = lmdb_changed,
};

/* map_build */

struct build_state {
	const char *source;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t max_key;
	int rc;			/* LMDB error that stopped the build */
	char *error;
	size_t count;
};

static int
build_put(void *ctx, const char *key, const char *value, int line_number)
{
	struct build_state *s = ctx;
	char *lower = map_lowercase(key);
	MDB_val k, v;
	int rc;

	k.mv_data = lower;
	k.mv_size = strlen(lower);
	v.mv_data = (void *)value;
	v.mv_size = strlen(value);
	if (k.mv_size > s->max_key) {
		s->error = xasprintf("%s, line %d: key longer than %zu bytes",
		    s->source, line_number, s->max_key);
		xfree(&lower);
		return -1;
	}
	rc = mdb_put(s->txn, s->dbi, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		log_warn("%s, line %d: duplicate entry \"%s\" ignored (the "
		    "first one wins)", s->source, line_number, lower);
		rc = 0;
	} else if (rc == 0) {
		s->count++;
	}
	xfree(&lower);
	if (rc != 0) {
		s->rc = rc;
		return -1;
	}
	return 0;
}

/* One attempt with the given map size. Returns 0, -1 with *error_r, or
 * MDB_MAP_FULL (try again bigger). */
static int
build_once(const char *source, const char *tmp, size_t mapsize,
    const struct buf *text, bool aliases, mode_t mode, char **error_r)
{
	struct build_state s = { source, NULL, 0, 0, 0, NULL, 0 };
	MDB_env *env = NULL;
	char *error = NULL;
	int rc;

	(void)unlink(tmp);
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, mapsize);
	if (rc == 0)
		rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK, mode);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &s.txn);
	if (rc == 0)
		rc = mdb_dbi_open(s.txn, NULL, 0, &s.dbi);
	if (rc == 0) {
		s.max_key = (size_t)mdb_env_get_maxkeysize(env);
		if (map_source_parse(source, text->data, text->len, aliases,
		    build_put, &s, &error) < 0) {
			if (error == NULL && s.error != NULL) {
				error = s.error;
				s.error = NULL;
			}
			rc = s.rc != 0 ? s.rc : -1;
		}
	}
	if (rc == 0) {
		rc = mdb_txn_commit(s.txn);
		s.txn = NULL;
	}
	if (rc == 0)
		rc = mdb_env_sync(env, 1);
	if (s.txn != NULL)
		mdb_txn_abort(s.txn);
	if (env != NULL)
		mdb_env_close(env);
	if (rc == MDB_MAP_FULL) {
		xfree(&error);
		return MDB_MAP_FULL;
	}
	if (rc != 0) {
		(void)unlink(tmp);
		*error_r = error != NULL ? error :
		    xasprintf("%s: %s", tmp, mdb_strerror(rc));
		return -1;
	}
	log_debug("%s: %zu entries", source, s.count);
	return 0;
}

int
map_build(const char *spec, bool aliases, char **error_r)
{
	const char *source = spec, *colon = strchr(spec, ':');
	const char *slash = strchr(spec, '/');
	struct buf text;
	struct stat st;
	char *target, *tmp;
	size_t mapsize;
	int rc;

	*error_r = NULL;
	if (colon != NULL && (slash == NULL || colon < slash)) {
		if (strncmp(spec, "lmdb:", 5) != 0) {
			*error_r = xasprintf("%s: only lmdb: tables are "
			    "built from a source file", spec);
			return -1;
		}
		source = spec + 5;
	}
	if (source[0] == '\0') {
		*error_r = xasprintf("%s: missing file name", spec);
		return -1;
	}
	buf_init(&text, MAP_SOURCE_MAX);
	if (stat(source, &st) < 0 ||
	    io_read_file(source, MAP_SOURCE_MAX, &text) < 0) {
		*error_r = xasprintf("%s: cannot read: %s", source,
		    strerror(errno));
		buf_release(&text);
		return -1;
	}
	target = xasprintf("%s%s", source, LMDB_SUFFIX);
	tmp = xasprintf("%s.tmp.%ld", target, (long)getpid());
	/* Leaf and branch pages hold each entry plus overhead; start with
	 * room for several times the text and grow when LMDB says full. */
	mapsize = (size_t)1 << 20;
	while (mapsize < text.len * 4 && mapsize < LMDB_MAPSIZE_MAX)
		mapsize *= 2;
	for (;;) {
		rc = build_once(source, tmp, mapsize, &text, aliases,
		    st.st_mode & 0777, error_r);
		if (rc != MDB_MAP_FULL)
			break;
		if (mapsize >= LMDB_MAPSIZE_MAX) {
			(void)unlink(tmp);
			*error_r = xasprintf("%s: table too large", source);
			rc = -1;
			break;
		}
		mapsize *= 2;
	}
	buf_release(&text);
	if (rc == 0 && chmod(tmp, st.st_mode & 0777) < 0) {
		*error_r = xasprintf("%s: chmod: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		rc = -1;
	}
	if (rc == 0 && rename(tmp, target) < 0) {
		*error_r = xasprintf("%s: rename to %s: %s", tmp, target,
		    strerror(errno));
		(void)unlink(tmp);
		rc = -1;
	}
	if (rc == 0 && io_fsync_parent(target) < 0) {
		*error_r = xasprintf("%s: fsync directory: %s", target,
		    strerror(errno));
		rc = -1;
	}
	xfree(&tmp);
	xfree(&target);
	return rc;
}
