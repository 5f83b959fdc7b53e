/*
 * anvil_table.c - anvil's counters in memory (see anvil_table.h).
 *
 * A chained hash table (FNV-1a over the key, a fixed power-of-two bucket
 * count sized for max_entries) plus a list of the entries in order of
 * their last update, oldest first. Expiry walks that list from the old
 * end and stops at the first entry updated within the window; eviction
 * takes the first idle entry near the old end. Both are therefore cheap
 * however large the table is.
 */
#include <string.h>

#include "anvil_table.h"
#include "mem.h"

/* How far eviction looks from the old end for an entry without open
 * sessions before it takes the oldest one regardless. */
#define ANVIL_EVICT_SCAN	64

struct anvil_entry {
	struct anvil_entry *hash_next;
	struct anvil_entry *older;	/* update order */
	struct anvil_entry *newer;
	uint32_t hash;
	int64_t window_start;
	int64_t last_update;
	int64_t auth_fail_last;
	struct anvil_counts c;
	char key[];
};

struct anvil_table {
	struct anvil_entry **buckets;
	size_t bucket_count;		/* a power of two */
	size_t size;
	size_t max_entries;
	size_t evicted;
	int64_t unit_ms;
	struct anvil_entry *oldest;
	struct anvil_entry *newest;
	struct anvil_stats stats;
};

static uint32_t
anvil_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h;
}

struct anvil_table *
anvil_table_new(size_t max_entries, int64_t unit_ms)
{
	struct anvil_table *t = xcalloc(1, sizeof(*t));

	t->max_entries = max_entries > 0 ? max_entries : 1;
	t->unit_ms = unit_ms > 0 ? unit_ms : 1;
	t->bucket_count = 16;
	while (t->bucket_count < t->max_entries && t->bucket_count < (1u << 24))
		t->bucket_count *= 2;
	t->buckets = xcalloc(t->bucket_count, sizeof(*t->buckets));
	return t;
}

static void
anvil_list_unlink(struct anvil_table *t, struct anvil_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void
anvil_list_append(struct anvil_table *t, struct anvil_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
anvil_remove(struct anvil_table *t, struct anvil_entry *e)
{
	struct anvil_entry **p = &t->buckets[e->hash & (t->bucket_count - 1)];

	while (*p != NULL && *p != e)
		p = &(*p)->hash_next;
	if (*p == e)
		*p = e->hash_next;
	anvil_list_unlink(t, e);
	t->size--;
	xfree(&e);
}

void
anvil_table_free(struct anvil_table **t_r)
{
	struct anvil_table *t = *t_r;

	if (t == NULL)
		return;
	while (t->oldest != NULL)
		anvil_remove(t, t->oldest);
	xfree(&t->buckets);
	xfree(t_r);
}

static struct anvil_entry *
anvil_find(struct anvil_table *t, const char *key, uint32_t hash)
{
	struct anvil_entry *e = t->buckets[hash & (t->bucket_count - 1)];

	for (; e != NULL; e = e->hash_next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void
anvil_evict(struct anvil_table *t)
{
	struct anvil_entry *e = t->oldest;
	int scanned = 0;

	while (e != NULL && e->c.count > 0 && scanned++ < ANVIL_EVICT_SCAN)
		e = e->newer;
	if (e == NULL || e->c.count > 0)
		e = t->oldest;
	if (e != NULL) {
		anvil_remove(t, e);
		t->evicted++;
	}
}

static struct anvil_entry *
anvil_create(struct anvil_table *t, const char *key, uint32_t hash,
    int64_t now)
{
	size_t len = strlen(key);
	struct anvil_entry *e;
	size_t b;

	while (t->size >= t->max_entries)
		anvil_evict(t);
	e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = hash;
	e->window_start = now;
	e->last_update = now;
	b = hash & (t->bucket_count - 1);
	e->hash_next = t->buckets[b];
	t->buckets[b] = e;
	anvil_list_append(t, e);
	t->size++;
	if (t->size > t->stats.cache_size) {
		t->stats.cache_size = t->size;
		t->stats.cache_when = now;
	}
	return e;
}

static void
anvil_max_note(struct anvil_max *m, unsigned value, const char *key,
    int64_t now)
{
	size_t len;

	if (value <= m->value)
		return;
	m->value = value;
	m->when = now;
	len = strlen(key);
	if (len >= sizeof(m->key))
		len = sizeof(m->key) - 1;
	memcpy(m->key, key, len);
	m->key[len] = '\0';
}

/* Start a new window when the old one is over. */
static void
anvil_window(struct anvil_table *t, struct anvil_entry *e, int64_t now)
{
	if (now - e->window_start >= t->unit_ms || now < e->window_start) {
		e->window_start = now;
		e->c.rate = e->c.message = e->c.rcpt = e->c.auth = 0;
		e->c.newtls = 0;
	}
	if (e->c.auth_fail > 0 && now - e->auth_fail_last >= t->unit_ms)
		e->c.auth_fail = 0;
}

void
anvil_table_update(struct anvil_table *t, const char *service,
    const char *ident, enum anvil_event event, int64_t now,
    struct anvil_counts *out)
{
	char key[ANVIL_KEY_MAX];
	struct anvil_entry *e;
	uint32_t hash;
	size_t sl = strlen(service), il = strlen(ident);

	if (sl > sizeof(key) - 2)
		sl = sizeof(key) - 2;
	if (il > sizeof(key) - 2 - sl)
		il = sizeof(key) - 2 - sl;
	memcpy(key, service, sl);
	key[sl] = ':';
	memcpy(key + sl + 1, ident, il);
	key[sl + 1 + il] = '\0';
	hash = anvil_hash(key);
	memset(out, 0, sizeof(*out));
	e = anvil_find(t, key, hash);
	if (e == NULL) {
		if (event == ANVIL_LOOKUP || event == ANVIL_DISCONNECT)
			return;
		e = anvil_create(t, key, hash, now);
	}
	anvil_window(t, e, now);
	if (event != ANVIL_LOOKUP) {
		e->last_update = now;
		anvil_list_unlink(t, e);
		anvil_list_append(t, e);
	}
	switch (event) {
	case ANVIL_CONNECT:
		e->c.count++;
		e->c.rate++;
		anvil_max_note(&t->stats.count, e->c.count, key, now);
		anvil_max_note(&t->stats.rate, e->c.rate, key, now);
		break;
	case ANVIL_DISCONNECT:
		if (e->c.count > 0)
			e->c.count--;
		break;
	case ANVIL_MESSAGE:
		e->c.message++;
		anvil_max_note(&t->stats.message, e->c.message, key, now);
		break;
	case ANVIL_RCPT:
		e->c.rcpt++;
		anvil_max_note(&t->stats.rcpt, e->c.rcpt, key, now);
		break;
	case ANVIL_AUTH:
		e->c.auth++;
		anvil_max_note(&t->stats.auth, e->c.auth, key, now);
		break;
	case ANVIL_AUTH_FAIL:
		e->c.auth_fail++;
		e->auth_fail_last = now;
		break;
	case ANVIL_NEWTLS:
		e->c.newtls++;
		anvil_max_note(&t->stats.newtls, e->c.newtls, key, now);
		break;
	case ANVIL_LOOKUP:
		break;
	}
	*out = e->c;
}

size_t
anvil_table_expire(struct anvil_table *t, int64_t now)
{
	struct anvil_entry *e = t->oldest, *next;
	size_t removed = 0;

	while (e != NULL && now - e->last_update >= t->unit_ms) {
		next = e->newer;
		if (e->c.count == 0) {
			anvil_remove(t, e);
			removed++;
		}
		e = next;
	}
	return removed;
}

size_t
anvil_table_size(const struct anvil_table *t)
{
	return t->size;
}

size_t
anvil_table_evicted(const struct anvil_table *t)
{
	return t->evicted;
}

void
anvil_table_stats(struct anvil_table *t, struct anvil_stats *out)
{
	*out = t->stats;
	memset(&t->stats, 0, sizeof(t->stats));
}
