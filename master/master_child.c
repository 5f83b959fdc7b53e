/*
 * master_child.c - starting, watching and reaping the services' processes.
 *
 * A child gets the service's socket on SERVER_LISTEN_FD and the shared
 * status pipe's write end on SERVER_STATUS_FD and nothing else: every
 * other descriptor is closed before execv, signal dispositions and the
 * signal mask are reset. A new child counts as idle until it says BUSY,
 * so one waiting connection starts one process, not several.
 *
 * A child that dies from a signal or exits non-zero is logged and its
 * service is throttled (master_backoff.c); a clean exit resets the
 * back-off. Children retired by a reload are reaped and logged but never
 * throttle the new generation.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "master.h"

#define MASTER_STATUS_SIZE	(1 + sizeof(pid_t))

void
master_throttle(struct master_service *s)
{
	s->backoff = master_backoff_next(s->backoff);
	s->throttle_until = io_now_ms() + (int64_t)s->backoff * 1000;
	log_warn("service %s: throttling for %d second%s", s->name,
	    s->backoff, s->backoff == 1 ? "" : "s");
}

static void
master_close_from(int lowest)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowest; fd < max; fd++)
		close(fd);
}

/* In the child: never returns. */
static void
master_exec_child(const struct master_service *s, int status_fd,
    const char *path, char **argv)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD,
		SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t none;
	int listen_copy, status_copy;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	/* ^C at a foreground master reaches the whole process group; the
	 * master stops the children in order instead. */
	signal(SIGINT, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the way first: the targets 3 and 4 may be either source. */
	listen_copy = fcntl(s->listen_fd, F_DUPFD, 10);
	status_copy = fcntl(status_fd, F_DUPFD, 10);
	if (listen_copy < 0 || status_copy < 0 ||
	    dup2(listen_copy, SERVER_LISTEN_FD) < 0 ||
	    dup2(status_copy, SERVER_STATUS_FD) < 0)
		_exit(126);
	master_close_from(SERVER_STATUS_FD + 1);
	execv(path, argv);
	_exit(127);
}

int
master_spawn(struct master_service *s, int status_fd,
    const char *config_dir, const char *daemon_dir)
{
	struct master_child *child;
	char *path = NULL;
	char **argv;
	pid_t pid;
	sigset_t all, old_mask;
	int saved_errno;

	argv = master_argv_build(s, config_dir, daemon_dir, &path);
	if (access(path, X_OK) < 0) {
		log_error("service %s: %s: %m", s->name, path);
		master_throttle(s);
		goto fail;
	}
	if (s->listen_fd < 0) {
		log_error("service %s: no socket", s->name);
		goto fail;
	}
	/* Block signals across fork(): until the child has reset its
	 * handlers, a signal for it (a reload retiring it at once) would run
	 * our handler there and write into the self-pipe it shares with us,
	 * and the master would act on the child's SIGTERM as its own. The
	 * child unblocks after resetting them (master_exec_child). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old_mask);
	pid = fork();
	if (pid == 0)
		master_exec_child(s, status_fd, path, argv);
	saved_errno = errno;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (pid < 0) {
		errno = saved_errno;
		log_error("fork: %m");
		master_throttle(s);
		goto fail;
	}
	child = xcalloc(1, sizeof(*child));
	s->last_start = io_now_ms();
	child->pid = pid;
	child->path = path;
	path = NULL;
	child->idle = true;
	child->next = s->children;
	s->children = child;
	s->child_count++;
	s->idle_count++;
	s->total_count++;
	master_argv_free(&argv);
	xfree(&path);
	return 0;
fail:
	master_argv_free(&argv);
	xfree(&path);
	return -1;
}

struct master_child *
master_child_find(struct master_service *list, pid_t pid,
    struct master_service **service_r)
{
	for (struct master_service *s = list; s != NULL; s = s->next)
		for (struct master_child *c = s->children; c != NULL;
		    c = c->next)
			if (c->pid == pid) {
				if (service_r != NULL)
					*service_r = s;
				return c;
			}
	return NULL;
}

static void
master_child_status(struct master_service *list, char status, pid_t pid)
{
	struct master_service *s;
	struct master_child *c = master_child_find(list, pid, &s);

	if (c == NULL || c->retired)
		return;
	if (status == SERVER_STATUS_RETIRING ||
	    (status == SERVER_STATUS_LEAVING && !c->leaving)) {
		/* No longer available: its successor starts now. A LEAVING
		 * one still accepts and counts against maxproc. */
		if (status == SERVER_STATUS_RETIRING) {
			c->retired = true;
			s->child_count--;
		}
		c->leaving = true;
		if (c->idle)
			s->idle_count--;
		c->idle = false;
		s->replace = true;
	} else if (status == SERVER_STATUS_BUSY && c->idle) {
		c->idle = false;
		s->idle_count--;
	} else if (status == SERVER_STATUS_IDLE && !c->idle &&
	    !c->leaving) {
		c->idle = true;
		s->idle_count++;
	}
}

void
master_read_status(struct master_service *list, int status_fd)
{
	/* Every write is one whole message (atomic, under PIPE_BUF) and
	 * reads ask for whole messages, so messages never split. */
	char buf[MASTER_STATUS_SIZE * 64];
	ssize_t n;
	pid_t pid;

	for (;;) {
		n = read(status_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (size_t off = 0; off + MASTER_STATUS_SIZE <= (size_t)n;
		    off += MASTER_STATUS_SIZE) {
			memcpy(&pid, buf + off + 1, sizeof(pid));
			master_child_status(list, buf[off], pid);
		}
	}
}

static void
master_child_remove(struct master_service *s, struct master_child *c)
{
	for (struct master_child **p = &s->children; *p != NULL;
	    p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (!c->retired) {
		s->child_count--;
		if (c->idle)
			s->idle_count--;
	}
	s->total_count--;
	xfree(&c->path);
	xfree(&c);
}

void
master_reap(struct master_service *list)
{
	struct master_service *s;
	struct master_child *c;
	char *path;
	bool retired;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		c = master_child_find(list, pid, &s);
		if (c == NULL)
			continue;
		retired = c->retired;
		path = c->path;
		c->path = NULL;
		master_child_remove(s, c);
		if (WIFSIGNALED(status)) {
			log_warn("process %s pid %d killed by signal %d",
			    path, (int)pid, WTERMSIG(status));
		} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			log_warn("process %s pid %d exit status %d",
			    path, (int)pid, WEXITSTATUS(status));
		} else {
			if (!retired)
				s->backoff = 0;
			xfree(&path);
			continue;
		}
		xfree(&path);
		if (!retired && !s->removed)
			master_throttle(s);
	}
}

void
master_signal_children(struct master_service *s, int sig, bool retire)
{
	for (struct master_child *c = s->children; c != NULL; c = c->next) {
		if (c->retired && retire)
			continue;
		kill(c->pid, sig);
		if (retire) {
			c->retired = true;
			s->child_count--;
			if (c->idle)
				s->idle_count--;
		}
	}
}
