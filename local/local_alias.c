/*
 * local_alias.c - target lists of aliases, ~/.forward and :include: files.
 *
 * Postfix's syntax: targets separated by commas (and, in files, by
 * newlines), double quotes around a target that holds commas or spaces
 * ("|/usr/bin/vacation -a bob, x"), '#' comment lines. A target is
 * "|command", "/file" (a trailing "/" makes it a Maildir),
 * ":include:/file", "\user" (the user's own mailbox, no further
 * expansion) or an address; an address in a mydestination domain, or
 * without a domain, is a local name and is expanded again by the caller.
 *
 * Pure functions: the caller decides trust (which source may name
 * commands and files) and does every lookup.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "local.h"
#include "mem.h"

/* Trim, then remove one pair of quotes (undoing backslash escapes inside)
 * or angle brackets around the whole target. */
static char *
local_list_clean(const char *start, size_t len)
{
	char *out, *o;
	size_t i;

	while (len > 0 && isspace((unsigned char)start[0])) {
		start++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	if (len >= 2 && start[0] == '"' && start[len - 1] == '"') {
		out = o = xmalloc(len);
		for (i = 1; i + 1 < len; i++) {
			if (start[i] == '\\' && i + 2 < len)
				i++;
			*o++ = start[i];
		}
		*o = '\0';
		return out;
	}
	if (len >= 2 && start[0] == '<' && start[len - 1] == '>')
		return xstrndup(start + 1, len - 2);
	return xstrndup(start, len);
}

char **
local_list_parse(const char *text, const char **error_r)
{
	char **list = xcalloc(1, sizeof(*list));
	size_t count = 0;
	const char *p = text, *start = text;
	bool quoted = false, line_start = true;

	for (;; p++) {
		if (line_start && !quoted) {
			const char *q = p;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '#') {
				while (*q != '\0' && *q != '\n')
					q++;
				p = q;
				start = q;
			}
			line_start = false;
		}
		if (*p == '\0' || (!quoted && (*p == ',' || *p == '\n'))) {
			char *target = local_list_clean(start,
			    (size_t)(p - start));

			if (target[0] == '\0') {
				free(target);
			} else if (count >= LOCAL_TARGETS_MAX) {
				free(target);
				config_list_free(&list);
				*error_r = "too many targets";
				return NULL;
			} else {
				list = xreallocarray(list, count + 2,
				    sizeof(*list));
				list[count++] = target;
				list[count] = NULL;
			}
			if (*p == '\0')
				break;
			if (*p == '\n')
				line_start = true;
			start = p + 1;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '\\' && quoted && p[1] != '\0') {
			p++;
		}
	}
	if (quoted) {
		config_list_free(&list);
		*error_r = "unbalanced quote";
		return NULL;
	}
	return list;
}

static bool
local_path_safe(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || strstr(path, "/../") != NULL)
		return false;
	return !(len >= 3 && strcmp(path + len - 3, "/..") == 0);
}

int
local_target_classify(const char *target,
    bool (*is_local)(const char *domain), struct local_target *out,
    const char **error_r)
{
	const char *p;
	char *local_part, *domain;

	memset(out, 0, sizeof(*out));
	if (target[0] == '\0') {
		*error_r = "empty target";
		return -1;
	}
	if (target[0] == '|') {
		for (p = target + 1; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0') {
			*error_r = "empty command";
			return -1;
		}
		out->type = LOCAL_TARGET_COMMAND;
		out->value = xstrdup(p);
		return 0;
	}
	if (strncasecmp(target, ":include:", 9) == 0) {
		for (p = target + 9; *p == ' ' || *p == '\t'; p++)
			;
		if (!local_path_safe(p)) {
			*error_r = ":include: needs an absolute path";
			return -1;
		}
		out->type = LOCAL_TARGET_INCLUDE;
		out->value = xstrdup(p);
		return 0;
	}
	if (target[0] == '/') {
		if (!local_path_safe(target)) {
			*error_r = "file path with \"..\"";
			return -1;
		}
		out->type = LOCAL_TARGET_FILE;
		out->value = xstrdup(target);
		return 0;
	}
	if (target[0] == '\\') {
		addr_split(target + 1, &local_part, &domain);
		free(domain);
		if (local_part[0] == '\0') {
			free(local_part);
			*error_r = "empty user name";
			return -1;
		}
		out->type = LOCAL_TARGET_MAILBOX;
		out->value = addr_lower(local_part);
		free(local_part);
		return 0;
	}
	addr_split(target, &local_part, &domain);
	if (local_part[0] == '\0') {
		free(local_part);
		free(domain);
		*error_r = "empty local part";
		return -1;
	}
	if (domain[0] == '\0' || is_local(domain)) {
		out->type = LOCAL_TARGET_LOCAL;
		out->value = addr_lower(local_part);
	} else {
		out->type = LOCAL_TARGET_REMOTE;
		out->value = xstrdup(target);
	}
	free(local_part);
	free(domain);
	return 0;
}

void
local_target_release(struct local_target *t)
{
	xfree(&t->value);
}

bool
local_source_allowed(const char *list, enum local_source source)
{
	const char *want = source == LOCAL_SOURCE_ALIAS ? "alias" :
	    source == LOCAL_SOURCE_FORWARD ? "forward" : "include";
	char **names = config_split_list(list);
	bool found = false;
	size_t i;

	for (i = 0; names[i] != NULL && !found; i++)
		found = strcasecmp(names[i], want) == 0;
	config_list_free(&names);
	return found;
}
