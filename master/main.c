/*
 * main.c - master: the supervisor of every postern daemon.
 *
 *   master [-c config_dir] [-f]
 *
 * -f stays in the foreground (logging to stderr too); otherwise the
 * master daemonizes. See master_run.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "master.h"

#ifndef POSTERN_SYSCONF
#define POSTERN_SYSCONF "/etc/postern"
#endif

int
main(int argc, char **argv)
{
	const char *dir = POSTERN_SYSCONF;
	bool foreground = false;
	int c;

	while ((c = getopt(argc, argv, "c:f")) != -1) {
		switch (c) {
		case 'c': dir = optarg; break;
		case 'f': foreground = true; break;
		default:
			fprintf(stderr, "usage: master [-c config_dir] [-f]\n");
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: master [-c config_dir] [-f]\n");
		return 1;
	}
	master_run(dir, foreground);
	return 0;
}
