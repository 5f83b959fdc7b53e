/*
 * master_lock.c - one master per configuration: lock file and pid file.
 *
 * queue_directory/pid/master.lock is held with flock(2) for the master's
 * whole life (the descriptor is close-on-exec and children close it, so
 * only the master holds it; the lock goes away with the process, however
 * it dies). queue_directory/pid/master.pid holds the daemon's pid for
 * `postern stop|reload|status`; it is removed before the daemon forks so
 * that a stale file never looks like a fresh start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "master.h"

static int master_lock_fd = -1;

int
master_lock(const char *queue_dir, pid_t *pid_r)
{
	char *path = xasprintf("%s/pid/master.lock", queue_dir);
	char *pid_path;
	int fd;

	*pid_r = 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("open %s: %m", path);
		xfree(&path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			*pid_r = queue_master_pid(queue_dir);
		else
			log_error("lock %s: %m", path);
		close(fd);
		xfree(&path);
		return -1;
	}
	xfree(&path);
	master_lock_fd = fd;
	pid_path = xasprintf("%s/pid/master.pid", queue_dir);
	unlink(pid_path);
	xfree(&pid_path);
	return 0;
}

int
master_write_pid(const char *queue_dir)
{
	char *path = xasprintf("%s/pid/master.pid", queue_dir);
	char *text = xasprintf("%d\n", (int)getpid());
	int rc;

	rc = io_write_file_atomic(path, text, strlen(text), 0644);
	if (rc < 0)
		log_error("write %s: %m", path);
	xfree(&text);
	xfree(&path);
	return rc;
}

void
master_remove_pid(const char *queue_dir)
{
	char *path = xasprintf("%s/pid/master.pid", queue_dir);

	unlink(path);
	xfree(&path);
}

void
master_daemonize(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		log_fatal("fork: %m");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		log_fatal("setsid: %m");
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		log_fatal("open /dev/null: %m");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}
