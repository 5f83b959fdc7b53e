/*
 * master_run.c - the master's life: start, serve, reload, stop.
 *
 * One poll(2) loop watches a self-pipe that the signal handlers write to
 * (SIGHUP, SIGTERM, SIGINT, SIGCHLD: no work in handlers), the children's
 * status pipe, and the listening socket of every service that needs a
 * process: one with no idle process, under its maxproc and not throttled
 * after a crash. A readable socket then starts one process, which accepts
 * the connection itself: the master never accepts.
 *
 * A service with a wakeup time (qmgr, pickup) is started at once, kept
 * running (restarted after the back-off when it crashes) and triggered
 * every wakeup seconds with a qmgr/1 "request=wakeup" record on its
 * socket. XXX the trigger is written and the connection closed without
 * reading the reply, as Postfix's triggers do; inet services are never
 * triggered.
 *
 * SIGHUP: main.cf and master.cf are read again. A service whose socket
 * is unchanged keeps its open listening socket, so connections waiting
 * in its backlog are not lost; removed services are closed; added ones
 * bound. Every running process is told to finish (SIGHUP) and is then
 * "retired": it no longer counts as available, new processes use the new
 * configuration. A wakeup service is restarted only after its retired
 * process has exited, so two queue managers never overlap. A process that
 * retires itself (max_use, a changed lookup table) says so, and when no
 * other process of its service is idle its successor starts at once:
 * otherwise the next client would wait for a fork and exec. An event
 * server says LEAVING earlier, at half its max_use: it still accepts and
 * still counts against maxproc, but is no longer available, so its
 * successor is up before it stops. XXX a changed
 * queue_directory or inet_interfaces needs a stop and start.
 *
 * SIGTERM/SIGINT: every child gets SIGTERM, the master waits up to
 * MASTER_STOP_WAIT_MS for them, SIGKILLs the rest, removes its pid file
 * and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "queue.h"
#include "rec.h"
#include "master.h"

static const char *master_config_dir;
static char *master_queue_dir;
static char *master_daemon_dir;
static uid_t master_uid = (uid_t)-1;
static gid_t master_gid = (gid_t)-1;
static struct master_service *master_services;
static int master_status_pipe[2] = { -1, -1 };
static int master_signal_pipe[2] = { -1, -1 };

static void
master_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(master_signal_pipe[1], &c, 1) < 0) {
		/* Pipe full: a wakeup is already pending. */
	}
	errno = saved;
}

static void
master_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = master_on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void
master_load_main(void)
{
	const struct config_error *errors;
	size_t count;
	const char *value;

	if (config_load(master_config_dir) < 0) {
		errors = config_errors(&count);
		for (size_t i = 0; i < count; i++)
			log_warn("%s, line %d: %s", errors[i].file,
			    errors[i].line, errors[i].text);
	}
	master_import_environment(config_get("import_environment"));
	value = config_get("maillog_file");
	log_set_file(*value != '\0' ? value : NULL);
	value = config_get("syslog_name");
	if (*value != '\0')
		log_set_prefix(value);
	xfree(&master_daemon_dir);
	master_daemon_dir = xstrdup(config_get("daemon_directory"));
}

static int
master_load_services(struct master_service **list_r)
{
	char *path = xasprintf("%s/master.cf", master_config_dir);
	char *error = NULL;
	struct mastercf cf;
	long long limit;

	memset(&cf, 0, sizeof(cf));
	if (mastercf_load(path, &cf, &error) < 0) {
		log_error("%s", error != NULL ? error : path);
		xfree(&error);
		xfree(&path);
		return -1;
	}
	xfree(&path);
	limit = config_get_int("default_process_limit");
	if (limit < 0 || limit > 1000000)
		limit = 100;
	*list_r = master_services_from(&cf, (int)limit);
	mastercf_release(&cf);
	return 0;
}

/* Poke a wakeup service: one record, fire and forget. */
static void
master_trigger(const struct master_service *s)
{
	struct sockaddr_un sun;
	struct buf *out;
	struct rec *r;
	int fd;

	if (s->socket_path == NULL ||
	    strlen(s->socket_path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, s->socket_path, strlen(s->socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_warn("trigger %s: %m", s->socket_path);
		close(fd);
		return;
	}
	r = rec_new();
	out = buf_new(1024);
	rec_put(r, "proto", PROTO_QMGR);
	rec_put(r, "request", "wakeup");
	if (rec_format(r, out) == 0 && write(fd, out->data, out->len) < 0)
		log_warn("trigger %s: %m", s->socket_path);
	buf_free(&out);
	rec_free(&r);
	close(fd);
}

static bool
master_wants_listen(const struct master_service *s, int64_t now)
{
	if (s->listen_fd < 0 || s->removed || s->idle_count > 0 ||
	    now < s->throttle_until)
		return false;
	if (s->maxproc > 0 && s->child_count >= s->maxproc)
		return false;
	/* A wakeup service waits for its retired process to go. */
	if (s->wakeup > 0 && s->total_count > s->child_count)
		return false;
	return true;
}

static void
master_spawn_one(struct master_service *s)
{
	master_spawn(s, master_status_pipe[1], master_config_dir,
	    master_daemon_dir);
}

/* Wakeup services, freeing removed services; returns the poll timeout. */
static int
master_tend(int64_t now)
{
	int64_t wait = 1000;

	for (struct master_service **p = &master_services; *p != NULL; ) {
		struct master_service *s = *p;

		if (s->removed && s->total_count == 0) {
			*p = s->next;
			master_service_free(&s);
			continue;
		}
		p = &s->next;
		if (s->removed || s->wakeup <= 0)
			continue;
		/* At most one start a second, even after clean exits. */
		if (s->total_count == 0 && now >= s->throttle_until &&
		    now - s->last_start >= 1000 && s->listen_fd >= 0) {
			master_spawn_one(s);
			s->next_wakeup = now + (int64_t)s->wakeup * 1000;
		} else if (s->child_count > 0 && now >= s->next_wakeup) {
			master_trigger(s);
			s->next_wakeup = now + (int64_t)s->wakeup * 1000;
		}
		if (s->throttle_until > now && s->throttle_until - now < wait)
			wait = s->throttle_until - now;
		if (s->next_wakeup > now && s->next_wakeup - now < wait)
			wait = s->next_wakeup - now;
	}
	return (int)(wait < 10 ? 10 : wait);
}

static void
master_reload(void)
{
	struct master_service *fresh = NULL, *s;

	log_info("reload -- configuration %s", master_config_dir);
	master_load_main();
	if (master_load_services(&fresh) < 0) {
		log_error("master.cf not reloaded: keeping the old services");
		for (s = master_services; s != NULL; s = s->next)
			master_signal_children(s, SIGHUP, true);
		return;
	}
	master_services = master_services_merge(master_services, fresh);
	for (s = master_services; s != NULL; s = s->next)
		if (!s->removed && s->listen_fd < 0 &&
		    master_listen(s, master_queue_dir, master_uid,
		    master_gid) == 0)
			log_info("service %s added", s->name);
}

static void
master_stop(int sig)
{
	int64_t deadline = io_now_ms() + MASTER_STOP_WAIT_MS;
	struct master_service *s;
	bool left;

	log_info("terminating on signal %d", sig);
	/* Retired ones too: a draining smtpd stops its sessions now. */
	for (s = master_services; s != NULL; s = s->next)
		master_signal_children(s, SIGTERM, false);
	for (;;) {
		master_reap(master_services);
		left = false;
		for (s = master_services; s != NULL; s = s->next)
			if (s->total_count > 0)
				left = true;
		if (!left || io_now_ms() >= deadline)
			break;
		poll(NULL, 0, 50);
	}
	if (left) {
		for (s = master_services; s != NULL; s = s->next)
			master_signal_children(s, SIGKILL, false);
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
	}
	master_remove_pid(master_queue_dir);
	exit(0);
}

static void
master_loop(void)
{
	struct pollfd *pfds = NULL;
	struct master_service **owners = NULL;
	size_t cap = 0, n;
	unsigned char sigs[64];
	bool hup, term, chld;
	int timeout, term_sig = SIGTERM;
	ssize_t got;

	for (;;) {
		int64_t now = io_now_ms();
		size_t count = 2;

		timeout = master_tend(now);
		for (struct master_service *s = master_services; s != NULL;
		    s = s->next)
			count++;
		if (count > cap) {
			cap = count * 2;
			pfds = xreallocarray(pfds, cap, sizeof(*pfds));
			owners = xreallocarray(owners, cap, sizeof(*owners));
		}
		pfds[0] = (struct pollfd){ .fd = master_signal_pipe[0],
			.events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = master_status_pipe[0],
			.events = POLLIN };
		n = 2;
		for (struct master_service *s = master_services; s != NULL;
		    s = s->next) {
			if (!master_wants_listen(s, now))
				continue;
			owners[n] = s;
			pfds[n++] = (struct pollfd){ .fd = s->listen_fd,
				.events = POLLIN };
		}
		if (poll(pfds, n, timeout) < 0) {
			if (errno != EINTR)
				log_fatal("poll: %m");
			continue;
		}
		hup = term = chld = false;
		while ((got = read(master_signal_pipe[0], sigs,
		    sizeof(sigs))) > 0) {
			for (ssize_t i = 0; i < got; i++) {
				if (sigs[i] == SIGHUP)
					hup = true;
				else if (sigs[i] == SIGTERM ||
				    sigs[i] == SIGINT) {
					term = true;
					term_sig = sigs[i];
				} else if (sigs[i] == SIGCHLD)
					chld = true;
			}
		}
		(void)chld;	/* reaped below in any case */
		/* Status first, whatever poll() saw: a child that said
		 * RETIRING and exited at once is still known then, so its
		 * successor starts now. */
		master_read_status(master_services, master_status_pipe[0]);
		master_reap(master_services);
		if (term)
			master_stop(term_sig);
		if (hup) {
			master_reload();
			continue;	/* owners[] may point at freed ones */
		}
		now = io_now_ms();
		for (struct master_service *s = master_services; s != NULL;
		    s = s->next) {
			if (s->replace && master_wants_listen(s, now))
				master_spawn_one(s);
			s->replace = false;
		}
		for (size_t i = 2; i < n; i++)
			if ((pfds[i].revents & (POLLIN | POLLERR)) != 0 &&
			    master_wants_listen(owners[i], now))
				master_spawn_one(owners[i]);
	}
}

static void
master_owner(void)
{
	const char *owner = config_get("mail_owner");
	struct passwd *pw;

	if (geteuid() != 0) {
		log_warn("running as uid %d: children run as this user too",
		    (int)geteuid());
		return;
	}
	pw = getpwnam(owner);
	if (pw == NULL)
		log_fatal("mail_owner %s: no such user", owner);
	if (pw->pw_uid == 0)
		log_fatal("mail_owner %s must not have uid 0", owner);
	master_uid = pw->pw_uid;
	master_gid = pw->pw_gid;
}

/* pid/ holds the file that `postern stop` (root) sends signals by: it
 * must belong to root, not to mail_owner, or a subverted daemon could
 * point it at any process. */
static void
master_secure_pid_dir(void)
{
	char *path;

	if (geteuid() != 0)
		return;
	path = xasprintf("%s/pid", master_queue_dir);
	if (chown(path, 0, 0) < 0 || chmod(path, 0755) < 0)
		log_fatal("secure %s: %m", path);
	xfree(&path);
}

void
master_run(const char *config_dir, bool foreground)
{
	struct stat st;
	pid_t other;

	master_config_dir = config_dir;
	log_init("master", true);
	master_load_main();
	if (master_load_services(&master_services) < 0)
		exit(1);
	master_queue_dir = xstrdup(config_get("queue_directory"));
	master_owner();
	if (stat(master_queue_dir, &st) < 0 &&
	    io_mkdirs(master_queue_dir, 0755) < 0)
		log_fatal("create %s: %m", master_queue_dir);
	if (queue_make_dirs(master_queue_dir, master_uid, master_gid) < 0)
		log_fatal("create queue directories in %s: %m",
		    master_queue_dir);
	/* Like every daemon, the master lives in the queue directory: it
	 * holds no other directory busy, and core files land there. */
	if (chdir(master_queue_dir) < 0)
		log_fatal("chdir %s: %m", master_queue_dir);
	master_secure_pid_dir();
	if (master_lock(master_queue_dir, &other) < 0) {
		if (other > 0)
			fprintf(stderr, "postern is already running "
			    "(pid %d)\n", (int)other);
		else
			fprintf(stderr, "postern is already running\n");
		exit(1);
	}
	for (struct master_service *s = master_services; s != NULL;
	    s = s->next)
		if (master_listen(s, master_queue_dir, master_uid,
		    master_gid) < 0)
			exit(1);
	if (pipe2(master_status_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(master_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	if (!foreground)
		master_daemonize();
	log_init("master", foreground);
	master_signals();
	if (master_write_pid(master_queue_dir) < 0)
		exit(1);
	log_info("daemon started -- version %s, configuration %s",
	    POSTERN_VERSION, config_dir);
	master_loop();
}
