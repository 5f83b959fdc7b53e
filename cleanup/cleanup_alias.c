/*
 * cleanup_alias.c - virtual_alias_maps expansion of envelope recipients.
 *
 * For each address the tables are asked, in Postfix's order: the full
 * address "user+ext@domain", then (with a recipient_delimiter) the
 * address without extension "user@domain" whose results get "+ext"
 * appended to their local part (propagate_unmatched_extensions), then the
 * catch-all "@domain". A value is a list of addresses (commas and/or
 * spaces); each is expanded again until virtual_alias_recursion_limit.
 * An address that maps to itself (directly, "a@x -> a@x, b@y") stops
 * there. Duplicate results are dropped; more than
 * virtual_alias_expansion_limit results, a nesting loop or a failed
 * lookup defer the message (the caller answers 451 4.3.0), never a
 * silent pass.
 *
 * A value that lists no address at all leaves the recipient unchanged
 * (XXX: Postfix would drop it; keeping it cannot lose mail).
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cleanup_alias.h"
#include "config.h"
#include "mem.h"

/* Also bounds the work a fan-out loop ("a -> b c", "b -> a c") causes. */
#define CLEANUP_ALIAS_LOOKUP_MAX	100000

bool
cleanup_rcpts_add(struct cleanup_rcpts *r, const char *address,
    const char *orcpt, const char *notify)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcasecmp(r->list[i].address, address) == 0)
			return false;
	if (r->count == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->list = xreallocarray(r->list, r->cap, sizeof(*r->list));
	}
	r->list[r->count].address = xstrdup(address);
	r->list[r->count].orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->list[r->count].notify = notify ? xstrdup(notify) : NULL;
	r->count++;
	return true;
}

void
cleanup_rcpts_release(struct cleanup_rcpts *r)
{
	for (size_t i = 0; i < r->count; i++) {
		xfree(&r->list[i].address);
		xfree(&r->list[i].orcpt);
		xfree(&r->list[i].notify);
	}
	xfree(&r->list);
	r->count = r->cap = 0;
}

struct cleanup_alias_ctx {
	struct maplist *maps;
	const struct cleanup_alias_limits *limits;
	struct cleanup_rcpts *out;
	const char *orcpt;
	const char *notify;
	long lookups;
	const char *error;
};

/* Look address up in Postfix's order. 1 found (*value_r fresh, *ext_r a
 * fresh extension to propagate or NULL), 0 not found, -1 failure. */
static int
cleanup_alias_lookup(struct cleanup_alias_ctx *ctx, const char *address,
    char **value_r, char **ext_r)
{
	char *local = NULL, *domain = NULL, *base = NULL, *key;
	int rc;

	*ext_r = NULL;
	rc = maplist_lookup(ctx->maps, address, value_r);
	if (rc != 0)
		return rc;
	addr_split(address, &local, &domain);
	if (ctx->limits->delimiter != NULL && *ctx->limits->delimiter != '\0')
		addr_split_extension(local, ctx->limits->delimiter, &base,
		    ext_r);
	if (*ext_r != NULL) {
		key = *domain ? xasprintf("%s@%s", base, domain) :
		    xstrdup(base);
		rc = maplist_lookup(ctx->maps, key, value_r);
		xfree(&key);
		if (rc != 0)
			goto done;
		xfree(ext_r);
	}
	if (*domain != '\0') {
		key = xasprintf("@%s", domain);
		rc = maplist_lookup(ctx->maps, key, value_r);
		xfree(&key);
	}
done:
	if (rc != 1)
		xfree(ext_r);
	xfree(&local);
	xfree(&domain);
	xfree(&base);
	return rc;
}

/* "user@dom" + "ext" -> "user+ext@dom" (the first delimiter character). */
static char *
cleanup_alias_add_ext(const char *address, const char *ext,
    const char *delimiter)
{
	const char *at = strrchr(address, '@');

	if (at == NULL)
		return xasprintf("%s%c%s", address, delimiter[0], ext);
	return xasprintf("%.*s%c%s%s", (int)(at - address), address,
	    delimiter[0], ext, at);
}

static int
cleanup_alias_one(struct cleanup_alias_ctx *ctx, const char *address,
    long depth)
{
	char *value = NULL, *ext = NULL, **items;
	int rc, result = 0;
	size_t n = 0;

	if (depth > ctx->limits->recursion) {
		ctx->error = "virtual alias recursion limit exceeded";
		return -1;
	}
	if (++ctx->lookups > CLEANUP_ALIAS_LOOKUP_MAX) {
		ctx->error = "virtual alias expansion too large";
		return -1;
	}
	rc = cleanup_alias_lookup(ctx, address, &value, &ext);
	if (rc < 0) {
		ctx->error = "virtual_alias_maps lookup failed";
		return -1;
	}
	items = rc == 1 ? config_split_list(value) : NULL;
	while (items != NULL && items[n] != NULL)
		n++;
	if (n == 0) {
		cleanup_rcpts_add(ctx->out, address, ctx->orcpt, ctx->notify);
	} else {
		for (size_t i = 0; i < n && result == 0; i++) {
			char *item = ext ? cleanup_alias_add_ext(items[i], ext,
			    ctx->limits->delimiter) : xstrdup(items[i]);

			if (strcasecmp(item, address) == 0)
				cleanup_rcpts_add(ctx->out, item, ctx->orcpt,
				    ctx->notify);
			else
				result = cleanup_alias_one(ctx, item,
				    depth + 1);
			xfree(&item);
		}
	}
	if (items != NULL)
		config_list_free(&items);
	xfree(&value);
	xfree(&ext);
	if (result == 0 && (long)ctx->out->count > ctx->limits->expansion) {
		ctx->error = "virtual alias expansion limit exceeded";
		result = -1;
	}
	return result;
}

int
cleanup_alias_expand(struct maplist *maps,
    const struct cleanup_alias_limits *limits, struct cleanup_rcpts *r,
    const char **error_r)
{
	struct cleanup_rcpts out = { 0 };
	struct cleanup_alias_ctx ctx = { .maps = maps, .limits = limits,
	    .out = &out };

	if (maps == NULL || maplist_empty(maps))
		return 0;
	for (size_t i = 0; i < r->count; i++) {
		size_t before = out.count;
		char *orcpt = r->list[i].orcpt ? xstrdup(r->list[i].orcpt) :
		    NULL;

		ctx.notify = r->list[i].notify;
		ctx.orcpt = NULL;
		if (cleanup_alias_one(&ctx, r->list[i].address, 0) < 0) {
			*error_r = ctx.error;
			xfree(&orcpt);
			cleanup_rcpts_release(&out);
			return -1;
		}
		/* The original recipient, for DSN Original-Recipient. */
		if (orcpt == NULL && (out.count != before + 1 ||
		    strcasecmp(out.list[before].address,
		    r->list[i].address) != 0))
			orcpt = xasprintf("rfc822;%s", r->list[i].address);
		for (size_t j = before; j < out.count; j++) {
			xfree(&out.list[j].orcpt);
			out.list[j].orcpt = orcpt ? xstrdup(orcpt) : NULL;
		}
		xfree(&orcpt);
	}
	cleanup_rcpts_release(r);
	*r = out;
	return 0;
}
