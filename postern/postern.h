/*
 * postern.h - the admin command's modules.
 *
 *   postern_cmd.c    argument dispatch and usage
 *   postern_ctl.c    start, stop, reload, status (pid and lock files)
 *   postern_check.c  configuration check
 *   postern_queue.c  queue list (mailq format), flush, hold/release/...
 *   postern_show.c   queue show (one message, like postcat -q)
 *   postern_map.c    map build / map query
 *
 * Every command prints one clear sentence per problem and returns its
 * exit status; the actions that change something are logged with the
 * invoking uid ("uid 0: flush requested").
 */
#ifndef POSTERN_POSTERN_H
#define POSTERN_POSTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "queue.h"
#include "rec.h"

#ifndef POSTERN_VERSION
#define POSTERN_VERSION "0.1"
#endif

/* postern_cmd.c: run "postern [-c DIR] ARGS..." after option parsing;
 * returns the exit status. */
int postern_dispatch(const char *config_dir, int argc, char **argv);
/* Load main.cf for a command (problems are left to `check`) and set up
 * logging from it. */
void postern_load_config(const char *config_dir);

/* postern_ctl.c */
/* 1 when a master holds the lock (pid in *pid_r, 0 if unknown), else 0. */
int postern_running(const char *queue_dir, pid_t *pid_r);
int postern_start(const char *config_dir);
int postern_stop(void);
int postern_reload(void);
int postern_status(void);

/* postern_check.c */
/* Check everything, print each problem to stderr; returns the number of
 * problems. */
int postern_check(const char *config_dir);
/* true when a list item names a lookup table ("cidr:/x"), not an address
 * ("::1/128", "[::1]/128", "10.0.0.0/8") or a domain. */
bool postern_is_table(const char *item);

/* postern_queue.c */
struct postern_queue_entry {
	const char *qid;
	char status;		/* '*' active, '!' hold, ' ' otherwise */
	size_t size;
	long long arrival;	/* unix seconds */
	const char *sender;	/* "" = null sender */
	char **rcpts;		/* pending recipients, NULL-terminated */
	/* Parallel to rcpts, entries may be NULL; the array may be
	 * NULL. */
	char **reasons;
	size_t omitted;		/* pending recipients not in rcpts */
};
/* Append one mailq-format entry (header line, reasons, recipients, blank
 * line) to out. */
void postern_queue_format(struct buf *out,
    const struct postern_queue_entry *e);
/* The listing's last line: "-- N Kbytes in M Requests." or "Mail queue
 * is empty". */
void postern_queue_trailer(struct buf *out, size_t total_bytes,
    size_t count);
/* From the text of a log/QID file (rec records with rcpt and reason
 * attributes), the reason for rcpt as a fresh string, or NULL. */
char *postern_queue_reason(const char *data, size_t len, const char *rcpt);
/* One message record of qmgr's list reply (proto=qmgr/1, qid, queue,
 * size, arrival, sender, rcpt with optional reason, omitted; nothing
 * else) as an entry whose strings point into r: 0, or -1 when malformed.
 * Free with postern_queue_entry_release(). */
int postern_queue_entry_from_rec(const struct rec *r,
    struct postern_queue_entry *e_r);
void postern_queue_entry_release(struct postern_queue_entry *e);
/* mailq: read the queue directly; when that is not allowed (EACCES: the
 * queue is mail_owner's, mode 0700), ask qmgr (request=list). */
int postern_queue_list(void);
/* Send a qmgr/1 request (flush, hold, release, delete, requeue) with an
 * optional qid. Logs "uid N (user): REQUEST [QID]". */
int postern_queue_request(const char *request, const char *qid);
/* `postern flush [DOMAIN]`: make deferred mail due now; with a domain,
 * only messages with a pending recipient in it. */
int postern_queue_flush(const char *domain);
/* "uid N (user)" for the invoking user, for the log (fresh string). */
char *postern_queue_who(void);

/* postern_show.c */
/* `postern queue show ID`: envelope, recipients and content of one
 * message, for root and mail_owner only. Exit status. */
int postern_show(const char *qid);
/* The envelope part of the listing: queue is where the file is,
 * next_attempt its mtime (shown for deferred/), log the text of log/QID
 * (may be empty). */
void postern_show_envelope(struct buf *out, const struct queue_file *q,
    const char *queue, long long next_attempt, const char *log,
    size_t log_len);
/* The log/QID record of recipient index with this address into out: true
 * when found (a record without an index matches by address). */
bool postern_show_log_find(const char *data, size_t len, size_t index,
    const char *address, struct rec *out);

/* postern_map.c */
/* "lmdb:FILE" for a bare FILE, else spec itself (fresh string). */
char *postern_map_spec(const char *file);
int postern_map_build(const char *file, bool aliases);
int postern_map_query(const char *map, const char *key);

#endif
