/*
 * postern_ctl.c - start, stop, reload and status of an instance.
 *
 * Whether a master runs is decided by its lock, not by the pid file
 * alone: the master holds queue_directory/pid/master.lock with flock(2)
 * for its whole life, so a stale pid file after a crash never looks like
 * a running mail system. The pid to signal comes from
 * queue_directory/pid/master.pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "postern.h"

#define POSTERN_START_WAIT_MS	10000
/* The master itself waits up to 10 s for its children. */
#define POSTERN_STOP_WAIT_MS	20000

int
postern_running(const char *queue_dir, pid_t *pid_r)
{
	char *path = xasprintf("%s/pid/master.lock", queue_dir);
	int fd, locked;

	*pid_r = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	xfree(&path);
	if (fd < 0)
		return 0;
	locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	if (!locked)
		return 0;
	*pid_r = queue_master_pid(queue_dir);
	return 1;
}

int
postern_status(void)
{
	pid_t pid;

	if (postern_running(config_get("queue_directory"), &pid)) {
		if (pid > 0)
			printf("postern is running (pid %d)\n", (int)pid);
		else
			printf("postern is running\n");
		return 0;
	}
	printf("postern is not running\n");
	return 1;
}

int
postern_start(const char *config_dir)
{
	const char *queue_dir = config_get("queue_directory");
	char *path;
	int64_t deadline;
	pid_t pid, child;
	int status, problems;

	if (postern_running(queue_dir, &pid)) {
		fprintf(stderr, "postern is already running (pid %d)\n",
		    (int)pid);
		return 1;
	}
	problems = postern_check(config_dir);
	if (problems > 0) {
		fprintf(stderr, "postern: not starting: %d configuration "
		    "problem%s (see above)\n", problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	postern_load_config(config_dir);
	queue_dir = config_get("queue_directory");
	log_info("uid %d: start requested", (int)getuid());
	path = xasprintf("%s/master", config_get("daemon_directory"));
	child = fork();
	if (child < 0) {
		fprintf(stderr, "postern: fork: %s\n", strerror(errno));
		xfree(&path);
		return 1;
	}
	if (child == 0) {
		char *argv[] = { "master", "-c", (char *)config_dir, NULL };

		execv(path, argv);
		fprintf(stderr, "postern: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	xfree(&path);
	/* The master forks its daemon and exits 0 once its sockets are
	 * bound; problems before that are on our stderr already. */
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "postern: the master did not start\n");
		return 1;
	}
	deadline = io_now_ms() + POSTERN_START_WAIT_MS;
	while (io_now_ms() < deadline) {
		pid = queue_master_pid(queue_dir);
		if (pid > 0 && kill(pid, 0) == 0) {
			printf("postern: started\n");
			return 0;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "postern: the master did not start within %d "
	    "seconds (see the mail log)\n", POSTERN_START_WAIT_MS / 1000);
	return 1;
}

int
postern_stop(void)
{
	const char *queue_dir = config_get("queue_directory");
	int64_t deadline;
	pid_t pid, now_pid;

	if (!postern_running(queue_dir, &pid) || pid <= 0) {
		fprintf(stderr, "postern is not running\n");
		return 1;
	}
	log_info("uid %d: stop requested", (int)getuid());
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "postern: kill %d: %s\n", (int)pid,
		    strerror(errno));
		return 1;
	}
	deadline = io_now_ms() + POSTERN_STOP_WAIT_MS;
	while (io_now_ms() < deadline) {
		if (!postern_running(queue_dir, &now_pid)) {
			printf("postern: stopped\n");
			return 0;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "postern: the master (pid %d) did not stop within "
	    "%d seconds\n", (int)pid, POSTERN_STOP_WAIT_MS / 1000);
	return 1;
}

int
postern_reload(void)
{
	pid_t pid;

	if (!postern_running(config_get("queue_directory"), &pid) ||
	    pid <= 0) {
		fprintf(stderr, "postern is not running\n");
		return 1;
	}
	log_info("uid %d: reload requested", (int)getuid());
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "postern: kill %d: %s\n", (int)pid,
		    strerror(errno));
		return 1;
	}
	printf("postern: reloading\n");
	return 0;
}
