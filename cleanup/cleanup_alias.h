/*
 * cleanup_alias.h - virtual_alias_maps expansion of envelope recipients.
 *
 * Done in cleanup, as Postfix does, so that the queue file holds the final
 * recipients. See cleanup_alias.c for the lookup order.
 */
#ifndef CLEANUP_ALIAS_H
#define CLEANUP_ALIAS_H

#include <stddef.h>

#include "maps.h"

struct cleanup_rcpt {
	char *address;
	char *orcpt;		/* NULL when not given */
	char *notify;		/* NULL when not given */
};

struct cleanup_rcpts {
	struct cleanup_rcpt *list;
	size_t count;
	size_t cap;
};

/* Append a recipient (copies; orcpt and notify may be NULL). Exact
 * duplicates of an address already in the list (case-insensitive) are
 * dropped; returns true when it was added. */
bool cleanup_rcpts_add(struct cleanup_rcpts *r, const char *address,
    const char *orcpt, const char *notify);
void cleanup_rcpts_release(struct cleanup_rcpts *r);

struct cleanup_alias_limits {
	long recursion;		/* virtual_alias_recursion_limit */
	long expansion;		/* virtual_alias_expansion_limit */
	const char *delimiter;	/* recipient_delimiter, "" for none */
};

/* Replace the recipients in *r by their expansion through maps: each
 * result keeps the orcpt (the original address when the client gave
 * none) and notify of the recipient it came from. Returns 0, or -1 with
 * *error_r a static text when a lookup failed or a limit was passed (the
 * message must be deferred: 451 4.3.0); *r is then unchanged. */
int cleanup_alias_expand(struct maplist *maps,
    const struct cleanup_alias_limits *limits, struct cleanup_rcpts *r,
    const char **error_r);

#endif
