/*
 * postern_cmd.c - which command runs, and its usage.
 *
 *   postern [-c DIR] start|stop|reload|status|check
 *   postern [-c DIR] queue list | flush [DOMAIN] | show ID
 *   postern [-c DIR] flush [DOMAIN]
 *   postern [-c DIR] queue hold|release|delete|requeue ID|ALL
 *   postern [-c DIR] map build [-a] FILE | map query MAP KEY
 *
 * Exit status: 0 success, 1 failure (or "not running", "not found"),
 * 2 usage errors and temporary lookup errors.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "postern.h"

static int
postern_usage(void)
{
	fprintf(stderr,
	    "usage: postern [-c config_dir] command\n"
	    "  start | stop | reload | status | check\n"
	    "  queue list | queue show ID | flush [DOMAIN]\n"
	    "  queue hold|release|delete|requeue ID|ALL\n"
	    "  map build [-a] FILE | map query MAP KEY\n");
	return 2;
}

void
postern_load_config(const char *config_dir)
{
	const char *value;

	config_load(config_dir);	/* problems: see `postern check` */
	value = config_get("maillog_file");
	if (*value != '\0')
		log_set_file(value);
	value = config_get("syslog_name");
	if (*value != '\0')
		log_set_prefix(value);
}

static int
postern_queue_cmd(int argc, char **argv)
{
	static const char *const actions[] = { "hold", "release", "delete",
		"requeue", NULL };

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return postern_queue_list();
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "flush") == 0)
		return postern_queue_flush(argc == 3 ? argv[2] : NULL);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return postern_show(argv[2]);
	for (size_t i = 0; argc == 3 && actions[i] != NULL; i++)
		if (strcmp(argv[1], actions[i]) == 0)
			return postern_queue_request(actions[i], argv[2]);
	return postern_usage();
}

static int
postern_map_cmd(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "build") == 0)
		return postern_map_build(argv[2], false);
	if (argc == 4 && strcmp(argv[1], "build") == 0 &&
	    strcmp(argv[2], "-a") == 0)
		return postern_map_build(argv[3], true);
	if (argc == 4 && strcmp(argv[1], "query") == 0)
		return postern_map_query(argv[2], argv[3]);
	return postern_usage();
}

int
postern_dispatch(const char *config_dir, int argc, char **argv)
{
	const char *cmd;

	if (argc < 1)
		return postern_usage();
	cmd = argv[0];
	log_init("postern", false);
	if (strcmp(cmd, "check") == 0)
		return argc == 1 ? (postern_check(config_dir) > 0 ? 1 : 0) :
		    postern_usage();
	postern_load_config(config_dir);
	if (strcmp(cmd, "start") == 0 && argc == 1)
		return postern_start(config_dir);
	if (strcmp(cmd, "stop") == 0 && argc == 1)
		return postern_stop();
	if (strcmp(cmd, "reload") == 0 && argc == 1)
		return postern_reload();
	if (strcmp(cmd, "status") == 0 && argc == 1)
		return postern_status();
	if (strcmp(cmd, "flush") == 0 && (argc == 1 || argc == 2))
		return postern_queue_flush(argc == 2 ? argv[1] : NULL);
	if (strcmp(cmd, "queue") == 0)
		return postern_queue_cmd(argc, argv);
	if (strcmp(cmd, "map") == 0)
		return postern_map_cmd(argc, argv);
	return postern_usage();
}
