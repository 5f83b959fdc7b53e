/*
 * sendmail_cmd.c - the sendmail command: mode dispatch after parsing.
 *
 * The configuration directory is -C/-c, else $MAIL_CONFIG (as Postfix),
 * else POSTERN_SYSCONF. Submission works while the daemons are stopped:
 * the file waits in maildrop/ until pickup runs.
 *
 * mailq (-bp) and -q run "postern -c DIR queue list" / "flush": the
 * postern next to this binary when there is one (a build tree, a test
 * instance), else $command_directory/postern. newaliases (-bi) builds
 * every alias_database table.
 *
 * Parameters: queue_directory, myhostname, myorigin, message_size_limit,
 * command_directory, alias_database.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "sendmail_args.h"
#include "sendmail_cmd.h"
#include "sendmail_submit.h"

static int
sendmail_run_postern(const char *dir, const char *verb1, const char *verb2)
{
	char self[PATH_MAX], *path = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *argv[7];
	int argc = 0;

	if (n > 0) {
		self[n] = '\0';
		path = xasprintf("%s/postern", dirname(self));
		if (access(path, X_OK) < 0)
			xfree(&path);
	}
	if (path == NULL)
		path = xasprintf("%s/postern", config_get("command_directory"));
	argv[argc++] = "postern";
	argv[argc++] = "-c";
	argv[argc++] = (char *)dir;
	argv[argc++] = (char *)verb1;
	if (verb2 != NULL)
		argv[argc++] = (char *)verb2;
	argv[argc] = NULL;
	fflush(NULL);
	execv(path, argv);
	fprintf(stderr, "sendmail: cannot run %s: %s\n", path,
	    strerror(errno));
	xfree(&path);
	return EX_UNAVAILABLE;
}

static int
sendmail_newaliases(void)
{
	char **list = config_get_list("alias_database");
	int result = EX_OK;

	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		char *error = NULL;

		if (map_build(list[i], true, &error) < 0) {
			fprintf(stderr, "newaliases: %s\n",
			    error ? error : list[i]);
			xfree(&error);
			result = EX_DATAERR;
		}
	}
	config_list_free(&list);
	return result;
}

int
sendmail_main(int argc, char **argv)
{
	struct sendmail_opts o;
	struct sendmail_site site;
	const char *dir;
	char *error = NULL;
	int result;

	log_init("sendmail", true);
	if (sendmail_args_parse(argc, argv, &o, &error) < 0) {
		fprintf(stderr, "sendmail: %s\n", error);
		xfree(&error);
		sendmail_args_release(&o);
		return EX_USAGE;
	}
	log_set_verbose(o.verbose);
	dir = o.config_dir ? o.config_dir : getenv("MAIL_CONFIG");
	if (dir == NULL || *dir == '\0')
		dir = POSTERN_SYSCONF;
	(void)config_load(dir);	/* problems are logged; values usable */
	switch (o.mode) {
	case SENDMAIL_MODE_QUEUE_LIST:
		result = sendmail_run_postern(dir, "queue", "list");
		break;
	case SENDMAIL_MODE_FLUSH:
		result = sendmail_run_postern(dir, "flush", NULL);
		break;
	case SENDMAIL_MODE_ALIASES:
		result = sendmail_newaliases();
		break;
	case SENDMAIL_MODE_DELIVER:
	case SENDMAIL_MODE_SMTP:
		if (chdir(config_get("queue_directory")) < 0) {
			fprintf(stderr, "sendmail: chdir %s: %s\n",
			    config_get("queue_directory"), strerror(errno));
			result = EX_TEMPFAIL;
			break;
		}
		site.myhostname = config_get("myhostname");
		site.myorigin = *config_get("myorigin") ?
		    config_get("myorigin") : site.myhostname;
		site.size_limit = (size_t)config_get_int("message_size_limit");
		if (o.mode == SENDMAIL_MODE_SMTP)
			result = sendmail_smtp(&site, 0, 1);
		else
			result = sendmail_submit_stdin(&o, &site, 0);
		break;
	default:
		result = EX_SOFTWARE;
		break;
	}
	sendmail_args_release(&o);
	return result;
}
