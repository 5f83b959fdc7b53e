/*
 * server_test.c - the daemon skeleton, run in child processes the way the
 * master runs it: a Unix listening socket on SERVER_LISTEN_FD, a status
 * pipe on SERVER_STATUS_FD, a private config directory. No network.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "io.h"
#include "mem.h"
#include "server.h"
#include "testing.h"

static char test_dir[] = "/tmp/server_test.XXXXXX";

static void
echo_service(int fd)
{
	(void)io_write_all(fd, "ok\n", 3);
}

/* Answers "ok" to the connection, then to each request on it. */
static void
repeat_service(int fd)
{
	char b[8];

	(void)io_write_all(fd, "ok\n", 3);
	while (server_next_request(fd, false)) {
		if (read(fd, b, sizeof(b)) <= 0)
			return;
		(void)io_write_all(fd, "ok\n", 3);
	}
}

/* Answers with the process's scheduling policy. */
static void
policy_service(int fd)
{
	char b[16];
	int n = snprintf(b, sizeof(b), "%d\n", sched_getscheduler(0));

	(void)io_write_all(fd, b, (size_t)n);
}

/* repeat_service, slow to look for the next request: one can arrive
 * together with the order to finish. */
static void
slow_repeat_service(int fd)
{
	char b[8];

	(void)io_write_all(fd, "ok\n", 3);
	for (;;) {
		usleep(300 * 1000);
		if (!server_next_request(fd, false) || read(fd, b, 1) <= 0)
			return;
		(void)io_write_all(fd, "ok\n", 3);
	}
}

static void
event_read(int fd, int events, void *ctx)
{
	char b[64];
	ssize_t n = read(fd, b, sizeof(b));

	(void)events;
	if (n > 0 || (n < 0 && errno == EAGAIN))
		return;
	event_del(ctx, fd);
	close(fd);
	server_session_done();
}

static void
event_session(struct event_loop *loop, int fd)
{
	(void)io_write_all(fd, "ok\n", 3);
	event_add(loop, fd, EVENT_READ, event_read, loop);
}

/* The drain hook leaves a file in the queue directory (our cwd). */
static void
event_drain(void)
{
	int fd = open("drained", O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd >= 0) {
		(void)io_write_all(fd, "d", 1);
		close(fd);
	}
}

/* Times the drain hook ran (it is removed). */
static off_t
drained(void)
{
	char *path = xasprintf("%s/drained", test_dir);
	struct stat st;
	off_t n = stat(path, &st) == 0 ? st.st_size : 0;

	unlink(path);
	xfree(&path);
	return n;
}

static void
write_config(const char *extra)
{
	char *path = xasprintf("%s/main.cf", test_dir);
	char *text = xasprintf("queue_directory = %s\nmail_owner = root\n%s",
	    test_dir, extra);
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	xfree(&text);
	xfree(&path);
}

struct child {
	pid_t pid;
	int status_fd;		/* read end */
	char *socket_path;
};

/* Start a server like the master does. */
static struct child
start(const struct server_def *def)
{
	struct child c = { 0 };
	int listen_fd, pipe_fd[2];
	char *argv[] = { (char *)def->name, "-c", test_dir, NULL };

	c.socket_path = xasprintf("%s/sock", test_dir);
	listen_fd = io_unix_listen(c.socket_path, 0600, 16);
	CHECK(listen_fd >= 0);
	CHECK(pipe(pipe_fd) == 0);
	c.pid = fork();
	if (c.pid == 0) {
		int l = fcntl(listen_fd, F_DUPFD, 10);
		int s = fcntl(pipe_fd[1], F_DUPFD, 10);

		dup2(l, SERVER_LISTEN_FD);
		dup2(s, SERVER_STATUS_FD);
		for (int fd = SERVER_STATUS_FD + 1; fd < 64; fd++)
			close(fd);
		server_main(3, argv, def);
		_exit(99);
	}
	close(listen_fd);
	close(pipe_fd[1]);
	c.status_fd = pipe_fd[0];
	return c;
}

static int
talk(struct child *c, bool close_now)
{
	char b[8] = { 0 };
	int fd = io_unix_connect(c->socket_path);

	if (fd < 0)
		return -1;
	if (io_wait(fd, POLLIN, io_now_ms() + 5000) < 0 ||
	    read(fd, b, sizeof(b) - 1) != 3 || strcmp(b, "ok\n") != 0) {
		close(fd);
		return -1;
	}
	if (close_now) {
		close(fd);
		return 0;
	}
	return fd;
}

/* The next status byte from the child, or 0 on timeout. */
static char
status_next(struct child *c, int timeout_ms)
{
	char msg[1 + sizeof(pid_t)];
	pid_t pid;

	if (io_wait(c->status_fd, POLLIN, io_now_ms() + timeout_ms) < 0 ||
	    read(c->status_fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return 0;
	memcpy(&pid, msg + 1, sizeof(pid));
	return pid == c->pid ? msg[0] : '?';
}

/* Exit status within timeout_ms, or -1 (the child is then killed). */
static int
wait_exit(struct child *c, int timeout_ms)
{
	int64_t deadline = io_now_ms() + timeout_ms;
	int status;

	while (io_now_ms() < deadline) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		usleep(20 * 1000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	return -1;
}

static void
finish(struct child *c)
{
	close(c->status_fd);
	unlink(c->socket_path);
	xfree(&c->socket_path);
}

static void
test_single_max_use(void)
{
	static const struct server_def def = { .name = "single",
		.service = echo_service };
	struct child c;

	write_config("max_use = 2\nmax_idle = 100s\n");
	c = start(&def);
	CHECK(talk(&c, true) == 0);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_BUSY);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_IDLE);
	CHECK(talk(&c, true) == 0);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_BUSY);
	CHECK(wait_exit(&c, 3000) == 0);	/* max_use reached */
	finish(&c);
}

/* Send a request on fd: 1 when answered "ok", 0 when the server closed
 * the connection instead, -1 otherwise. */
static int
request(int fd)
{
	char b[8] = { 0 };
	ssize_t n;

	if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
		return errno == EPIPE ? 0 : -1;
	if (io_wait(fd, POLLIN, io_now_ms() + 5000) < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	/* Closed with our request unread: ECONNRESET. */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 0;
	return n == 3 && strcmp(b, "ok\n") == 0 ? 1 : -1;
}

/* A repeat_service child under config, and a connection it greeted. */
static int
start_repeat(const char *config, struct child *c)
{
	static const struct server_def def = { .name = "single",
		.service = repeat_service };
	int fd;

	write_config(config);
	*c = start(&def);
	fd = talk(c, false);
	CHECK(fd >= 0);
	return fd;
}

/* A connection counts once toward max_use, however many requests. */
static void
test_requests_max_use(void)
{
	struct child c;
	int fd;

	fd = start_repeat("max_use = 2\nmax_idle = 100s\n", &c);
	for (int i = 0; i < 5; i++)
		CHECK(request(fd) == 1);
	close(fd);
	fd = talk(&c, false);	/* still serving: one use so far */
	CHECK(fd >= 0);
	CHECK(request(fd) == 1);
	close(fd);
	CHECK(wait_exit(&c, 3000) == 0);	/* the second use */
	finish(&c);
}

/* Idle for longer than $ipc_idle plus a grace: closed. */
static void
test_requests_idle(void)
{
	struct child c;
	int fd;
	int64_t t0;

	fd = start_repeat("ipc_idle = 0\nmax_idle = 100s\n", &c);
	t0 = io_now_ms();
	CHECK(io_wait(fd, POLLIN, t0 + 10000) == 0);
	CHECK(request(fd) == 0);
	CHECK(io_now_ms() - t0 >= 4500);
	close(fd);
	kill(c.pid, SIGTERM);
	CHECK(wait_exit(&c, 3000) == 0);
	finish(&c);
}

/* A reload while waiting for the next request ends the connection then,
 * not after the next request with the old configuration. */
static void
test_requests_reload(void)
{
	struct child c;
	int fd;
	int64_t t0;

	fd = start_repeat("max_idle = 100s\n", &c);
	CHECK(request(fd) == 1);
	t0 = io_now_ms();
	kill(c.pid, SIGHUP);
	CHECK(wait_exit(&c, 3000) == 0);
	CHECK(io_now_ms() - t0 < 2500);
	CHECK(request(fd) <= 0);
	close(fd);
	finish(&c);
}

/* A request that was there when the reload came is served; the reading
 * side is shut before the connection ends, so a request sent after that
 * fails at the send (EPIPE: the client knows it was not taken). */
static void
test_requests_raced(void)
{
	static const struct server_def def = { .name = "single",
		.service = slow_repeat_service };
	struct child c;
	char b[8] = { 0 };
	int fd;

	write_config("max_idle = 100s\n");
	c = start(&def);
	fd = talk(&c, false);
	CHECK(fd >= 0);
	CHECK(send(fd, "x", 1, MSG_NOSIGNAL) == 1);
	kill(c.pid, SIGHUP);
	CHECK(io_wait(fd, POLLIN, io_now_ms() + 5000) == 0);
	CHECK(read(fd, b, sizeof(b) - 1) == 3 && strcmp(b, "ok\n") == 0);
	errno = 0;
	CHECK(send(fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE);
	close(fd);
	CHECK(wait_exit(&c, 3000) == 0);
	finish(&c);
}

/* The policy a daemon runs under: SCHED_BATCH unless turned off. */
static int
policy_of(const char *config)
{
	static const struct server_def def = { .name = "single",
		.service = policy_service };
	struct child c;
	char b[16] = { 0 };
	int fd, policy = -1;

	write_config(config);
	c = start(&def);
	fd = io_unix_connect(c.socket_path);
	if (fd >= 0 && io_wait(fd, POLLIN, io_now_ms() + 5000) == 0 &&
	    read(fd, b, sizeof(b) - 1) > 0)
		policy = atoi(b);
	if (fd >= 0)
		close(fd);
	kill(c.pid, SIGTERM);
	CHECK(wait_exit(&c, 3000) == 0);
	finish(&c);
	return policy;
}

static void
test_batch_scheduling(void)
{
	CHECK(policy_of("max_idle = 100s\n") == SCHED_BATCH);
	CHECK(policy_of("max_idle = 100s\ndaemon_batch_scheduling = no\n") ==
	    SCHED_OTHER);
}

static void
test_single_idle_exit(void)
{
	static const struct server_def def = { .name = "single",
		.service = echo_service };
	struct child c;
	int64_t t0;

	write_config("max_idle = 1s\n");
	t0 = io_now_ms();
	c = start(&def);
	CHECK(wait_exit(&c, 4000) == 0);
	CHECK(io_now_ms() - t0 >= 900);
	finish(&c);
}

static void
test_single_sigterm(void)
{
	static const struct server_def def = { .name = "single",
		.service = echo_service };
	struct child c;

	write_config("max_idle = 100s\n");
	c = start(&def);
	CHECK(talk(&c, true) == 0);	/* it is up and serving */
	kill(c.pid, SIGTERM);
	CHECK(wait_exit(&c, 3000) == 0);
	finish(&c);
}

static void
test_event_busy_idle(void)
{
	static const struct server_def def = { .name = "event",
		.event = event_session, .max_sessions = 1,
		.drain = event_drain };
	struct child c;
	int fd;

	write_config("max_use = 2\nmax_idle = 100s\n");
	c = start(&def);
	fd = talk(&c, false);
	CHECK(fd >= 0);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_BUSY);
	close(fd);
	/* Half its max_use: its successor may start now. */
	CHECK(status_next(&c, 3000) == SERVER_STATUS_LEAVING);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_IDLE);
	fd = talk(&c, false);
	CHECK(fd >= 0);
	CHECK(status_next(&c, 3000) == SERVER_STATUS_BUSY);
	CHECK(drained() == 0);
	close(fd);
	CHECK(wait_exit(&c, 3000) == 0);	/* max_use after it ended */
	CHECK(drained() == 1);
	finish(&c);
}

/* LEAVING comes once, at half of max_use, and the process goes on
 * accepting until max_use; then RETIRING, and it exits. */
static void
test_event_leaving(void)
{
	static const struct server_def def = { .name = "event",
		.event = event_session };
	struct child c;
	int fd;

	write_config("max_use = 5\nmax_idle = 100s\n");
	c = start(&def);
	for (int i = 1; i <= 5; i++) {
		fd = talk(&c, false);
		CHECK(fd >= 0);
		close(fd);
		if (i == 2)	/* nothing said before half of 5 */
			CHECK(status_next(&c, 300) == 0);
		if (i == 3) {
			CHECK(status_next(&c, 3000) == SERVER_STATUS_LEAVING);
			CHECK(status_next(&c, 300) == 0);
			CHECK(waitpid(c.pid, NULL, WNOHANG) == 0);
		}
	}
	CHECK(status_next(&c, 3000) == SERVER_STATUS_RETIRING);
	CHECK(wait_exit(&c, 3000) == 0);
	finish(&c);
}

static void
test_event_sigterm_drains(void)
{
	static const struct server_def def = { .name = "event",
		.event = event_session, .drain = event_drain };
	struct child c;
	int fd;

	write_config("max_idle = 100s\n");
	c = start(&def);
	fd = talk(&c, false);
	CHECK(fd >= 0);
	kill(c.pid, SIGTERM);
	/* Still serving its session: no exit while the session lives. */
	CHECK(waitpid(c.pid, NULL, WNOHANG) == 0);
	usleep(1500 * 1000);
	CHECK(waitpid(c.pid, NULL, WNOHANG) == 0);
	/* Told to let go of what only new sessions would use. */
	CHECK(drained() == 1);
	close(fd);
	CHECK(wait_exit(&c, 3000) == 0);
	CHECK(drained() == 0);
	finish(&c);
}

int
main(void)
{
	char *path;

	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_single_max_use);
	TEST_RUN(test_requests_max_use);
	TEST_RUN(test_requests_reload);
	TEST_RUN(test_requests_raced);
	TEST_RUN(test_batch_scheduling);
	TEST_RUN(test_requests_idle);
	TEST_RUN(test_single_idle_exit);
	TEST_RUN(test_single_sigterm);
	TEST_RUN(test_event_busy_idle);
	TEST_RUN(test_event_leaving);
	TEST_RUN(test_event_sigterm_drains);
	path = xasprintf("%s/main.cf", test_dir);
	unlink(path);
	xfree(&path);
	rmdir(test_dir);
	return TEST_DONE();
}
