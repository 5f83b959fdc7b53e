/*
 * master.h - the master's modules and their shared state.
 *
 * The master is the one process that stays root: it reads main.cf and
 * master.cf, binds every service's socket, and forks the daemons with the
 * socket on SERVER_LISTEN_FD and the status pipe on SERVER_STATUS_FD
 * (lib/server.h). Modules:
 *   master_backoff.c  restart back-off after a crash (pure)
 *   master_argv.c     a child's exec path and argv (pure)
 *   master_listen.c   binding inet and unix sockets
 *   master_service.c  the service table and its merge on reload
 *   master_child.c    spawning, status messages, reaping
 *   master_lock.c     lock file, pid file, daemonizing
 *   master_run.c      the event loop, wakeups, reload and stop
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mastercf.h"

#ifndef POSTERN_VERSION
#define POSTERN_VERSION "0.1"
#endif

#define MASTER_BACKOFF_MAX	60	/* seconds */
#define MASTER_STOP_WAIT_MS	10000	/* SIGTERM to SIGKILL on stop */
#define MASTER_LISTEN_BACKLOG	128

struct master_child {
	pid_t pid;
	char *path;		/* what was executed, for the log */
	bool idle;		/* told us IDLE (new children start idle) */
	bool retired;		/* told to finish (reload, removal) */
	bool leaving;		/* said LEAVING: never idle again */
	struct master_child *next;
};

struct master_service {
	/* From master.cf (owned copies). */
	char *name;
	char *type;		/* "inet", "unix" or "pass" */
	bool private_;
	bool unpriv;
	bool chroot;
	int wakeup;		/* seconds, 0 = on demand */
	int maxproc;		/* resolved: 0 = no limit */
	char *command;
	char **args;
	int line;

	char *socket_path;	/* unix: absolute socket path; NULL: inet */
	int listen_fd;		/* -1 when not bound */
	struct master_child *children;
	int child_count;	/* not retired */
	int idle_count;		/* not retired and idle */
	int total_count;	/* retired included */
	int backoff;		/* current back-off, seconds (0: none) */
	int64_t throttle_until;	/* io_now_ms(); 0 = not throttled */
	int64_t next_wakeup;	/* io_now_ms() of the next trigger */
	int64_t last_start;	/* io_now_ms() of the last fork */
	bool removed;		/* gone from master.cf; freed when empty */
	bool replace;		/* a child retired itself: start another */
	struct master_service *next;
};

/* master_env.c: keep only the variables the import_environment list
 * names ("NAME" or "NAME=value"). */
void master_import_environment(const char *list);

/* master_backoff.c: the delay after the previous one (0: none yet):
 * 1 s, doubling, at most MASTER_BACKOFF_MAX. */
int master_backoff_next(int previous);

/* master_argv.c: the path to execute and a fresh NULL-terminated argv
 *   COMMAND -c DIR -s NAME -t TYPE [-u] [-j] ARGS...
 * A command starting with '/' is used as is, otherwise it lives in
 * daemon_dir. Free with master_argv_free(). */
char **master_argv_build(const struct master_service *s,
    const char *config_dir, const char *daemon_dir, char **path_r);
void master_argv_free(char ***argv_r);

/* master_listen.c */
/* The address an inet service binds: name "host:port" or "port" (the
 * host then comes from inet_interfaces). *host_r is a fresh string, ""
 * for all addresses; *family_r AF_INET, AF_INET6 or AF_UNSPEC (both,
 * through one dual-stack socket). -1 when malformed. */
int master_inet_target(const char *name, const char *inet_interfaces,
    const char *inet_protocols, char **host_r, char **port_r,
    int *family_r);
/* Bind s (sets listen_fd and, for unix services, socket_path). uid and
 * gid own unix sockets when not -1. 0, or -1 logged. */
int master_listen(struct master_service *s, const char *queue_dir,
    uid_t uid, gid_t gid);
/* Close the socket (and remove a unix socket file). */
void master_unlisten(struct master_service *s);
/* true when two services would bind the same address. */
bool master_same_socket(const struct master_service *a,
    const struct master_service *b);

/* master_child.c */
/* Fork and exec one child of s. 0, or -1 (logged; s is throttled). */
int master_spawn(struct master_service *s, int status_fd,
    const char *config_dir, const char *daemon_dir);
/* Apply status messages read from the pipe (non-blocking read end). */
void master_read_status(struct master_service *list, int status_fd);
/* Reap exited children: log crashes and throttle their services. */
void master_reap(struct master_service *list);
/* Send sig to every child of s; mark them retired when retire. */
void master_signal_children(struct master_service *s, int sig,
    bool retire);
/* Remove a child from its service's list (after waitpid). */
struct master_child *master_child_find(struct master_service *list,
    pid_t pid, struct master_service **service_r);
/* Throttle s after a failure (logs the back-off). */
void master_throttle(struct master_service *s);

/* master_lock.c */
/* Lock queue_dir/pid/master.lock. 0 locked, -1 another master runs
 * (its pid in *pid_r, or 0 when unknown) or an error (logged). */
int master_lock(const char *queue_dir, pid_t *pid_r);
int master_write_pid(const char *queue_dir);
void master_remove_pid(const char *queue_dir);
/* fork, setsid, stdio to /dev/null; the parent exits 0. */
void master_daemonize(void);

/* master_service.c */
/* Services from a parsed master.cf (fresh list; nothing bound). */
struct master_service *master_services_from(const struct mastercf *cf,
    int default_maxproc);
void master_service_free(struct master_service **s_r);
/* Reload: merge the running list with a fresh one (both consumed) and
 * return the new list. Every running process gets SIGTERM and is retired;
 * sockets of unchanged services move to the new entries; removed
 * services are closed and kept (removed) while processes remain. New
 * services are left unbound (listen_fd -1). */
struct master_service *master_services_merge(struct master_service *current,
    struct master_service *fresh);

/* master_run.c: the whole master; does not return. */
void master_run(const char *config_dir, bool foreground);

#endif
