/*
 * server.h - the skeleton every daemon runs in.
 *
 * master starts a daemon as
 *   DAEMON -c CONFIG_DIR -s SERVICE -t inet|unix [-u] [-j] [-o name=value]...
 * with the listening socket on descriptor SERVER_LISTEN_FD and a status
 * pipe to the master on SERVER_STATUS_FD. -u: drop to mail_owner; -j:
 * chroot to queue_directory (both as master.cf's unpriv and chroot
 * columns say). The skeleton loads main.cf, applies the overrides, calls
 * pre_jail (open keys, maps, sockets), chdirs to queue_directory, chroots,
 * drops privilege and checks it cannot be regained, then serves.
 *
 * When not started as root, chroot and setuid are skipped and logged once.
 *
 * Two shapes, like Postfix's single and event servers:
 * - .service: one connection at a time, blocking with deadlines (cleanup,
 *   local, virtual, pickup). The skeleton accepts, calls service(fd), and
 *   closes the descriptor after it returns.
 * - .event: the daemon registers sessions with lib/event; the skeleton
 *   owns the loop, accepts connections and hands each to event(loop, fd).
 *   The daemon calls server_session_done() when a session ends.
 *
 * A daemon exits after max_use connections or max_idle seconds without
 * one (when the master started it; a standalone -S run never exits idle).
 * The master learns when a process is busy or idle through the status
 * pipe so that it can start another one while all are busy.
 */
#ifndef POSTERN_SERVER_H
#define POSTERN_SERVER_H

#include <stdbool.h>

#include "event.h"

#define SERVER_LISTEN_FD	3
#define SERVER_STATUS_FD	4

/* Status bytes a child writes to the master's status pipe, each followed
 * by the child's pid as a native pid_t. */
#define SERVER_STATUS_IDLE	'I'
#define SERVER_STATUS_BUSY	'B'
/* Accepts no more (max_use, a changed table, a signal): count me out. */
#define SERVER_STATUS_RETIRING	'R'
/* An event server past half its max_use: still accepting, but do not
 * count on me; start my successor now, so that it is ready to accept
 * when I stop (its start-up then costs no client a wait). */
#define SERVER_STATUS_LEAVING	'L'

struct server_def {
	const char *name;		/* "smtpd": the log name */
	/* After config, before chroot and setuid. May be NULL. */
	void (*pre_jail)(void);
	/* After the jail, before the first connection. May be NULL. */
	void (*post_jail)(void);
	/* Single server: serve one connection on fd (closed afterwards). */
	void (*service)(int fd);
	/* Single server: called at least once a second while the process
	 * waits for a connection or for the next request on one, to let go
	 * of what must not be held idle for long (the smtp agent's cached
	 * connection). May be NULL. */
	void (*idle)(void);
	/* Event server: take over the new connection fd. */
	void (*event)(struct event_loop *loop, int fd);
	/* Event server: sessions a process serves at once before it tells
	 * the master it is busy (0: 1000). */
	int max_sessions;
	/* Event server with periodic work (qmgr): called once with the loop
	 * after the jail, may arm timers. May be NULL. */
	void (*event_start)(struct event_loop *loop);
	/* Never exit for idleness or max_use (qmgr). */
	bool long_lived;
	/* Event server: called once when the process stops accepting
	 * (max_use, reload, stop) to let go of what only new sessions
	 * would use, such as pooled connections that another process of
	 * the service's client could use. May be NULL. */
	void (*drain)(void);
	/* Event server: when a reload retires the process (SIGHUP), wait
	 * for the open sessions however long they take instead of
	 * SERVER_GRACE_MS; each session has its own timeout (smtpd). */
	bool drain_sessions;
};

/* Parse options, load config, jail, serve. Does not return. */
int server_main(int argc, char **argv, const struct server_def *def);
/* Event servers: a session ended (counts toward max_use and idleness). */
void server_session_done(void);
/* The service name from -s ("smtp", "submission", "127.0.0.1:2525"). */
const char *server_service_name(void);
/* true once the process is in its jail and unprivileged (or running as a
 * normal user). */
bool server_jailed(void);
/* The loop of an event server (NULL for single servers). */
struct event_loop *server_loop(void);
/* true after SIGTERM: finish the current session, then exit. */
bool server_stopping(void);
/* Single server whose clients may send several requests on one
 * connection: after answering one, wait for the next on fd (buffered: it
 * has been read already), a little longer than the client keeps an idle
 * connection ($ipc_idle). The connection counts once toward max_use,
 * however many requests it carries: the client closes it after $ipc_ttl.
 * true when there is something to read (the request, or EOF). When idle
 * too long, or when the process is to finish (SIGTERM, a reload, a
 * changed lookup table), the reading side is shut first (shutdown
 * SHUT_RD): a client's send from then on fails with EPIPE, so a client
 * knows that a request it could not send was not taken and may send it
 * on a new connection; a request that had already arrived is served
 * (true), so that a request sent is never dropped unanswered. false:
 * close the connection. */
bool server_next_request(int fd, bool buffered);

#endif
