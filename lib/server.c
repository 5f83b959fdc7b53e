/*
 * server.c - the skeleton every daemon runs in (see server.h).
 *
 * Order of start-up, which matters for privilege separation: options,
 * log_init, main.cf, -o overrides, maillog_file and syslog_name, the
 * scheduling policy (daemon_batch_scheduling), the daemon's pre_jail
 * hook (keys, maps: anything outside the jail), chdir to
 * queue_directory, then (as root) chroot(".") for -j and the switch to
 * mail_owner for -u (with mail_owner's supplementary groups, as
 * initgroups() sets them), verified by checking that setuid(0) fails. Not
 * root: both are skipped and said once. Then post_jail and the serving
 * loop.
 *
 * Signals: SIGPIPE is ignored (peers vanish; writes report EPIPE). SIGTERM
 * (stop) and SIGHUP (the master retires us on reload) only set a flag: a
 * single server finishes the connection it is serving and exits; an event
 * server stops accepting and exits when its sessions are gone, or after
 * SERVER_GRACE_MS; retired with .drain_sessions, it waits for them
 * however long they take (a reloaded smtpd lets its sessions complete
 * with the old certificate; each session has its own timeout). Loops wake
 * at least once a second to look at the flag, so a signal that lands just
 * before epoll_wait() is seen within a second.
 *
 * The master learns BUSY/IDLE through the status pipe on SERVER_STATUS_FD:
 * each message is one non-blocking write(2) of a status byte and our pid,
 * smaller than PIPE_BUF and therefore atomic; when the pipe is full the
 * message is dropped (the master errs on the side of starting a process).
 * A process that stops accepting for good says RETIRING instead. An
 * event server says LEAVING once it has served half its max_use, so that
 * the master starts its successor while it still accepts: a start-up
 * (exec, TLS keys) takes milliseconds, and at max_use the successor is
 * ready rather than every client of that moment waiting for it.
 * A standalone run (-S) has no master: no status messages, no idle exit,
 * no max_use.
 *
 * A replaced lookup table (maps_changed()) ends the process gracefully
 * after its current work, so that the master starts a fresh one that
 * opens the new file from outside the jail (not with -S: nobody would
 * start a successor).
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "server.h"

#ifndef POSTERN_SYSCONF
#define POSTERN_SYSCONF "/etc/postern"
#endif

/* How long an event server's sessions may go on after SIGTERM. */
#define SERVER_GRACE_MS		5000
#define SERVER_TICK_MS		1000
/* server_next_request() waits $ipc_idle and this long. */
#define SERVER_IPC_GRACE_MS	5000
#define SERVER_SESSIONS_DEFAULT	1000

static const struct server_def *server_def;
static const char *server_service = "";
static const char *server_type = "";
static bool server_standalone;
static bool server_in_jail;
static bool server_status_open;
static volatile sig_atomic_t server_sigterm;

static struct event_loop *server_event_loop;
static struct event_timer server_tick;
static long long server_max_use;
static long long server_max_idle_ms;
static long long server_ipc_wait_ms = -1;	/* server_next_request() */
static long long server_used;
static int server_sessions;
static int server_max_sessions;
static bool server_busy;		/* listen socket paused, master told */
static bool server_draining;		/* no accepts; exit when empty */
static bool server_leaving;		/* said LEAVING */
static int64_t server_drain_deadline;	/* 0: wait for sessions forever */
static int64_t server_last_active;
static int64_t server_accept_paused_until;

static void
server_usage(void)
{
	log_fatal("usage: %s [-c config_dir] [-s service] [-t type] [-u] [-j] "
	    "[-S] [-v] [-o name=value]...", server_def->name);
}

static void
server_on_sigterm(int sig)
{
	/* SIGHUP never lowers a SIGTERM that came first. */
	if (sig == SIGTERM || server_sigterm == 0)
		server_sigterm = sig;
}

static void
server_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* SA_RESTART: a blocking service() keeps going; poll and epoll_wait
	 * return EINTR regardless, which is all our loops need. */
	sa.sa_handler = server_on_sigterm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* One atomic, non-blocking message to the master; dropped when the pipe
 * is full or gone. */
static void
server_status(char status)
{
	char msg[1 + sizeof(pid_t)];
	pid_t pid = getpid();

	if (!server_status_open)
		return;
	msg[0] = status;
	memcpy(msg + 1, &pid, sizeof(pid));
	if (write(SERVER_STATUS_FD, msg, sizeof(msg)) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		log_warn("status pipe to master: %m");
		server_status_open = false;
	}
}

static void
server_open_descriptors(void)
{
	if (fcntl(SERVER_LISTEN_FD, F_GETFD) < 0)
		log_fatal("no listening socket on descriptor %d",
		    SERVER_LISTEN_FD);
	/* Delivery children that run commands must not inherit these. */
	io_set_cloexec(SERVER_LISTEN_FD, true);
	/* Several processes share one listening socket: accept() must not
	 * block when another process took the connection. */
	io_set_nonblock(SERVER_LISTEN_FD, true);
	if (!server_standalone && fcntl(SERVER_STATUS_FD, F_GETFD) >= 0) {
		io_set_cloexec(SERVER_STATUS_FD, true);
		io_set_nonblock(SERVER_STATUS_FD, true);
		server_status_open = true;
	}
}

static void
server_config(const char *dir, char **overrides, size_t override_count)
{
	const struct config_error *errors;
	size_t count;
	const char *value;
	char *assignment;

	if (config_load(dir) < 0) {
		errors = config_errors(&count);
		for (size_t i = 0; i < count; i++)
			log_warn("%s, line %d: %s", errors[i].file,
			    errors[i].line, errors[i].text);
	}
	/* For "-o syslog_name=postern/$service_name", as in Postfix. As
	 * overrides they survive config_load() on reload. */
	assignment = xasprintf("service_name=%s", server_service);
	(void)config_override(assignment);
	xfree(&assignment);
	assignment = xasprintf("process_name=%s", server_def->name);
	(void)config_override(assignment);
	xfree(&assignment);
	for (size_t i = 0; i < override_count; i++)
		if (config_override(overrides[i]) < 0)
			log_fatal("bad -o option: %s", overrides[i]);
	value = config_get("maillog_file");
	if (*value != '\0')
		log_set_file(value);
	value = config_get("syslog_name");
	if (*value != '\0')
		log_set_prefix(value);
}

/* chdir, chroot, setuid, and the proof that root cannot come back. */
static void
server_jail(bool do_chroot, bool do_unpriv)
{
	const char *queue_dir = config_get("queue_directory");
	const char *owner;
	struct passwd *pw;
	gid_t groups[64];
	int groups_count;
	uid_t uid;
	gid_t gid;

	if (chdir(queue_dir) < 0)
		log_fatal("chdir %s: %m", queue_dir);
	if (geteuid() != 0) {
		log_warn("running as uid %d: chroot and setuid skipped",
		    (int)geteuid());
		server_in_jail = true;
		return;
	}
	owner = config_get("mail_owner");
	errno = 0;
	pw = getpwnam(owner);
	if (pw == NULL)
		log_fatal("mail_owner %s: %s", owner,
		    errno ? strerror(errno) : "no such user");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (do_unpriv && uid == 0)
		log_fatal("mail_owner %s has uid 0", owner);
	/* mail_owner's supplementary groups, as initgroups() would set them,
	 * looked up before the chroot hides /etc/group: `adduser postern
	 * sasl` lets the sasl daemon read /etc/sasldb2. */
	groups_count = (int)(sizeof(groups) / sizeof(groups[0]));
	if (getgrouplist(owner, gid, groups, &groups_count) < 0) {
		groups[0] = gid;
		groups_count = 1;
	}
	if (do_chroot) {
		if (chroot(".") < 0)
			log_fatal("chroot %s: %m", queue_dir);
		if (chdir("/") < 0)
			log_fatal("chdir / in chroot: %m");
	}
	if (do_unpriv) {
		if (setgroups((size_t)groups_count, groups) < 0)
			log_fatal("setgroups %d: %m", (int)gid);
		if (setgid(gid) < 0)
			log_fatal("setgid %d: %m", (int)gid);
		if (setuid(uid) < 0)
			log_fatal("setuid %d: %m", (int)uid);
		if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0)
			log_panic("privilege could be regained after setuid %d",
			    (int)uid);
	}
	server_in_jail = true;
}

/* Reasons a process exits between connections. */
static bool
server_should_exit_now(void)
{
	if (server_sigterm)
		return true;
	/* Standalone: no master would start a successor. */
	if (!server_standalone && maps_changed()) {
		static bool said;

		if (!said)
			log_info("lookup table changed: exiting for a restart");
		said = true;
		return true;
	}
	return false;
}

/* Mail is no interactive work: under SCHED_BATCH a daemon that another
 * wakes (cleanup by smtpd, an agent by qmgr) does not preempt it, and the
 * waker finishes what else is ready first. Unprivileged, nice unchanged;
 * a refusal (a seccomp filter, say) only costs the saving. */
static void
server_scheduling(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (config_get_bool("daemon_batch_scheduling") &&
	    sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
		log_info("SCHED_BATCH refused: %m; default scheduling");
}

/* A single server waits: its idle hook may let go of what it holds. Unit
 * tests call server_next_request() without server_main(), so no def. */
static void
server_idle(void)
{
	if (server_def != NULL && server_def->idle != NULL)
		server_def->idle();
}

/* The connection is to end: no request can arrive after the shutdown;
 * true when one had already arrived. */
static bool
server_last_request(int fd, bool buffered)
{
	char byte;

	if (shutdown(fd, SHUT_RD) < 0)
		return false;
	return buffered || recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

bool
server_next_request(int fd, bool buffered)
{
	int64_t deadline, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	/* Longer than the client keeps a connection idle; looked up once. */
	if (server_ipc_wait_ms < 0)
		server_ipc_wait_ms = config_get_time("ipc_idle") * 1000 +
		    SERVER_IPC_GRACE_MS;
	deadline = io_now_ms() + server_ipc_wait_ms;

	/* Asked before each wait, and again once a request is there: the
	 * finish is noticed within a tick, and a reload is not kept waiting
	 * by a client that keeps sending. */
	for (;;) {
		if (server_should_exit_now() ||
		    (left = deadline - io_now_ms()) <= 0)
			return server_last_request(fd, buffered);
		if (buffered)
			return true;
		n = poll(&pfd, 1, left < SERVER_TICK_MS ? (int)left :
		    SERVER_TICK_MS);
		if (n > 0)
			buffered = true;
		else if (n < 0 && errno != EINTR)
			return false;
		else if (n == 0)
			server_idle();
	}
}

static void
server_single_loop(void)
{
	int64_t idle_deadline = io_now_ms() + server_max_idle_ms;
	/* One of the idle processes wakes per connection, not all of them
	 * (as poll() would, each to find the connection taken). */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	bool may_idle_exit = !server_standalone && !server_def->long_lived;
	bool busy = false;	/* as the master last heard */
	int ep = epoll_create1(EPOLL_CLOEXEC), fd, n;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, SERVER_LISTEN_FD, &ev) < 0)
		log_fatal("epoll: %m");
	for (;;) {
		if (server_should_exit_now())
			exit(0);
		/* Just busy: look for the next connection before waiting, so
		 * that under load the master hears neither IDLE nor BUSY. */
		if (!busy) {
			n = epoll_wait(ep, &ev, 1, SERVER_TICK_MS);
			if (n < 0 && errno != EINTR)
				log_fatal("epoll_wait: %m");
			if (n <= 0) {
				if (may_idle_exit &&
				    io_now_ms() >= idle_deadline)
					exit(0);
				if (n == 0)
					server_idle();
				continue;
			}
		}
		fd = accept4(SERVER_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOTSOCK || errno == EBADF ||
			    errno == EINVAL)
				log_fatal("descriptor %d is not a listening "
				    "socket: %m", SERVER_LISTEN_FD);
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED) {
				log_warn("accept: %m");
				sleep(1);
			}
			if (busy) {
				server_status(SERVER_STATUS_IDLE);
				busy = false;
				idle_deadline = io_now_ms() +
				    server_max_idle_ms;
			}
			continue;
		}
		/* Linux accept() never inherits O_NONBLOCK; be explicit. */
		io_set_nonblock(fd, false);
		if (!busy)
			server_status(SERVER_STATUS_BUSY);
		busy = true;
		server_def->service(fd);
		close(fd);
		server_used++;
		if (may_idle_exit && server_max_use > 0 &&
		    server_used >= server_max_use)
			exit(0);
	}
}

static void server_accept(int fd, int events, void *ctx);

static void
server_listen_pause(void)
{
	event_mod(server_event_loop, SERVER_LISTEN_FD, 0);
}

static void
server_listen_resume(void)
{
	if (!server_draining && !server_busy &&
	    server_accept_paused_until == 0)
		event_mod(server_event_loop, SERVER_LISTEN_FD, EVENT_READ);
}

/* Accept no more connections; exit once the sessions are gone (or at
 * the deadline when grace_ms > 0). */
static void
server_drain(int64_t grace_ms)
{
	if (!server_draining) {
		server_draining = true;
		event_del(server_event_loop, SERVER_LISTEN_FD);
		/* The master must not count on us for new connections, and
		 * starts our successor now rather than when a client is
		 * already waiting for one. */
		server_status(SERVER_STATUS_RETIRING);
		server_busy = true;
		if (server_def->drain != NULL)
			server_def->drain();
	}
	if (grace_ms > 0 && server_drain_deadline == 0)
		server_drain_deadline = io_now_ms() + grace_ms;
	if (server_sessions == 0)
		exit(0);
}

static void
server_on_tick(void *ctx)
{
	int64_t now = io_now_ms();

	(void)ctx;
	if (server_sigterm)
		server_drain(server_sigterm == SIGHUP &&
		    server_def->drain_sessions ? 0 : SERVER_GRACE_MS);
	else if (!server_draining && !server_standalone && maps_changed()) {
		log_info("lookup table changed: exiting after current "
		    "sessions");
		server_drain(0);
	}
	if (server_draining && server_drain_deadline != 0 &&
	    now >= server_drain_deadline) {
		if (server_sessions > 0)
			log_info("stopping with %d sessions open",
			    server_sessions);
		exit(0);
	}
	if (!server_draining && !server_standalone &&
	    !server_def->long_lived && server_sessions == 0 &&
	    now - server_last_active >= server_max_idle_ms)
		exit(0);
	if (server_accept_paused_until != 0 &&
	    now >= server_accept_paused_until) {
		server_accept_paused_until = 0;
		server_listen_resume();
	}
	event_timer_set(server_event_loop, &server_tick, SERVER_TICK_MS,
	    server_on_tick, NULL);
}

static void
server_accept(int listen_fd, int events, void *ctx)
{
	int fd;

	(void)events;
	(void)ctx;
	while (!server_draining && !server_busy) {
		fd = accept4(listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == ENOTSOCK || errno == EBADF ||
			    errno == EINVAL)
				log_fatal("descriptor %d is not a listening "
				    "socket: %m", listen_fd);
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* EMFILE and friends: pause instead of
				 * spinning on a readable socket. */
				log_warn("accept: %m");
				server_accept_paused_until = io_now_ms() +
				    SERVER_TICK_MS;
				server_listen_pause();
			}
			return;
		}
		server_sessions++;
		server_last_active = io_now_ms();
		if (server_sessions >= server_max_sessions) {
			server_busy = true;
			server_listen_pause();
			server_status(SERVER_STATUS_BUSY);
		}
		server_def->event(server_event_loop, fd);
	}
}

static void
server_event_main(void)
{
	server_event_loop = event_new();
	if (server_event_loop == NULL)
		log_fatal("event loop: %m");
	server_max_sessions = server_def->max_sessions > 0 ?
	    server_def->max_sessions : SERVER_SESSIONS_DEFAULT;
	server_last_active = io_now_ms();
	if (event_add(server_event_loop, SERVER_LISTEN_FD,
	    EVENT_READ | EVENT_EXCLUSIVE, server_accept, NULL) < 0)
		log_fatal("event_add listen socket: %m");
	event_timer_set(server_event_loop, &server_tick, SERVER_TICK_MS,
	    server_on_tick, NULL);
	if (server_def->event_start != NULL)
		server_def->event_start(server_event_loop);
	if (event_run(server_event_loop) < 0)
		log_fatal("event loop: %m");
	exit(0);
}

void
server_session_done(void)
{
	if (server_sessions <= 0) {
		log_warn("server_session_done without a session");
		return;
	}
	server_sessions--;
	server_used++;
	server_last_active = io_now_ms();
	if (server_draining) {
		if (server_sessions == 0)
			exit(0);
		return;
	}
	if (!server_standalone && !server_def->long_lived &&
	    server_max_use > 0) {
		if (server_used >= server_max_use) {
			server_drain(0);
			return;
		}
		if (!server_leaving && server_used * 2 >= server_max_use) {
			server_leaving = true;
			server_status(SERVER_STATUS_LEAVING);
		}
	}
	if (server_busy && server_sessions < server_max_sessions) {
		server_busy = false;
		server_status(SERVER_STATUS_IDLE);
		server_listen_resume();
	}
}

int
server_main(int argc, char **argv, const struct server_def *def)
{
	const char *dir = POSTERN_SYSCONF;
	char **overrides = xcalloc((size_t)argc + 1, sizeof(*overrides));
	size_t override_count = 0;
	bool do_chroot = false, do_unpriv = false, verbose = false;
	int c;

	server_def = def;
	if ((def->service == NULL) == (def->event == NULL))
		log_panic("%s: a server has .service or .event", def->name);
	opterr = 0;
	while ((c = getopt(argc, argv, "c:s:t:ujo:Sv")) != -1) {
		switch (c) {
		case 'c': dir = optarg; break;
		case 's': server_service = optarg; break;
		case 't': server_type = optarg; break;
		case 'u': do_unpriv = true; break;
		case 'j': do_chroot = true; break;
		case 'o': overrides[override_count++] = optarg; break;
		case 'S': server_standalone = true; break;
		case 'v': verbose = true; break;
		default:
			log_init(def->name, true);
			server_usage();
		}
	}
	if (optind != argc) {
		log_init(def->name, true);
		server_usage();
	}
	log_init(def->name, server_standalone || verbose);
	if (*server_service == '\0')
		server_service = def->name;
	server_config(dir, overrides, override_count);
	xfree(&overrides);
	server_open_descriptors();
	server_max_use = config_get_int("max_use");
	server_max_idle_ms = config_get_time("max_idle") * 1000;
	if (server_max_idle_ms <= 0)
		server_max_idle_ms = 100 * 1000;
	server_signals();
	server_scheduling();
	if (def->pre_jail != NULL)
		def->pre_jail();
	server_jail(do_chroot, do_unpriv);
	if (def->post_jail != NULL)
		def->post_jail();
	if (def->service != NULL)
		server_single_loop();
	else
		server_event_main();
	exit(0);
}

const char *
server_service_name(void)
{
	return server_service;
}

bool
server_jailed(void)
{
	return server_in_jail;
}

struct event_loop *
server_loop(void)
{
	return server_event_loop;
}

bool
server_stopping(void)
{
	return server_sigterm != 0;
}
