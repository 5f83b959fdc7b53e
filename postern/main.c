/*
 * main.c - postern: the administrator's command (see postern_cmd.c).
 */
#include <stdio.h>
#include <unistd.h>

#include "postern.h"

#ifndef POSTERN_SYSCONF
#define POSTERN_SYSCONF "/etc/postern"
#endif

int
main(int argc, char **argv)
{
	const char *dir = POSTERN_SYSCONF;
	int c;

	/* '+': options end at the command ("map build -a FILE"). */
	while ((c = getopt(argc, argv, "+c:")) != -1) {
		switch (c) {
		case 'c': dir = optarg; break;
		default: return postern_dispatch(dir, 0, NULL);
		}
	}
	return postern_dispatch(dir, argc - optind, argv + optind);
}
