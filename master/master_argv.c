/*
 * master_argv.c - the command line a service's process is started with.
 *
 *   COMMAND -c CONFIG_DIR -s NAME -t TYPE [-u] [-j] ARGS...
 *
 * -u when master.cf's unpriv column is y, -j when chroot is y; ARGS are
 * master.cf's arguments verbatim ("-o name=value" pairs included), so
 * they come last and the daemon's getopt sees them as options too.
 */
#include <string.h>

#include "mem.h"
#include "master.h"

char **
master_argv_build(const struct master_service *s, const char *config_dir,
    const char *daemon_dir, char **path_r)
{
	size_t argc = 0, extra = 0, n = 0;
	char **argv;

	while (s->args != NULL && s->args[extra] != NULL)
		extra++;
	argc = 9 + extra;	/* cmd -c D -s N -t T -u -j */
	argv = xcalloc(argc + 1, sizeof(*argv));
	argv[n++] = xstrdup(s->command);
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup(config_dir);
	argv[n++] = xstrdup("-s");
	argv[n++] = xstrdup(s->name);
	argv[n++] = xstrdup("-t");
	argv[n++] = xstrdup(s->type);
	if (s->unpriv)
		argv[n++] = xstrdup("-u");
	if (s->chroot)
		argv[n++] = xstrdup("-j");
	for (size_t i = 0; i < extra; i++)
		argv[n++] = xstrdup(s->args[i]);
	argv[n] = NULL;
	if (path_r != NULL) {
		if (s->command[0] == '/')
			*path_r = xstrdup(s->command);
		else
			*path_r = xasprintf("%s/%s", daemon_dir, s->command);
	}
	return argv;
}

void
master_argv_free(char ***argv_r)
{
	char **argv = *argv_r;

	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		xfree(&argv[i]);
	xfree(argv_r);
}
