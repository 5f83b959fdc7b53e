/*
 * master_env.c - the environment the daemons inherit.
 *
 * Like Postfix's master, postern passes on only what import_environment
 * names: "NAME" keeps NAME when it is set, "NAME=value" sets it. Anything
 * else a user or init system left in the environment (LD_PRELOAD, IFS,
 * ...) never reaches a daemon, and the master applies this before the
 * first fork and again on every reload.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "master.h"
#include "mem.h"

void
master_import_environment(const char *list)
{
	char **names = config_split_list(list);
	size_t count = 0;
	char **keep;

	for (char **n = names; *n != NULL; n++)
		count++;
	keep = xcalloc(count + 1, sizeof(*keep));
	count = 0;
	for (char **n = names; *n != NULL; n++) {
		const char *value;

		if (strchr(*n, '=') != NULL)
			keep[count++] = xstrdup(*n);
		else if ((value = getenv(*n)) != NULL)
			keep[count++] = xasprintf("%s=%s", *n, value);
	}
	clearenv();
	for (size_t i = 0; i < count; i++) {
		char *eq = strchr(keep[i], '=');

		*eq = '\0';
		setenv(keep[i], eq + 1, 1);
		xfree(&keep[i]);
	}
	xfree(&keep);
	config_list_free(&names);
}
