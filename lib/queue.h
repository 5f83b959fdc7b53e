/*
 * queue.h - queue files: the one on-disk form of a message.
 *
 * queue_directory holds incoming/ active/ deferred/ hold/ corrupt/
 * free/ (finished files for reuse, queue_pool.h), maildrop/ (pickup's
 * input), private/ and public/ (sockets), pid/ and log/ (per-message
 * delivery reasons for bounces and `queue list`).
 *
 * A queue file is three parts, all in lib/rec's format:
 *   1. the envelope record: proto=queue/1, then attributes (see below) and
 *      one "rcpt" line per recipient, each followed by its own "orcpt"
 *      and "notify" lines when the client gave them; ended by an empty line
 *   2. the content as rec chunks (the message as it will be delivered,
 *      headers and body, CRLF converted to LF), ended by a 0 chunk
 *   3. the end record: "end=SIZE" where SIZE is the content length, then an
 *      empty line. A file without its end record is not a message.
 *
 * Envelope attributes: qid, arrival (unix seconds), sender (may be empty:
 * the null sender), client_name, client_addr, helo, protocol, ret, envid,
 * body (7BIT/8BITMIME), smtputf8 (0/1), origin ("smtpd", "pickup").
 *
 * Recipient progress lives in the file: a delivered (or bounced)
 * recipient's line name "rcpt" is overwritten in place with "done" (same
 * length) and fdatasync'd, so a crash at any moment redelivers at most the
 * recipients not yet marked, and loses none.
 *
 * The queue ID is 9 hex digits of seconds, 5 of microseconds, then the
 * file's inode number in hex: unique while the file exists and sortable by
 * arrival. Only cleanup creates queue files; only qmgr moves and removes
 * them (commands ask qmgr, or act while it is stopped).
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rec.h"

#define QUEUE_ID_MAX	40

/* Create incoming/, active/, ... under queue_dir, owned by uid/gid,
 * mode 0700 (public/ 0711). uid -1 leaves ownership alone. */
int queue_make_dirs(const char *queue_dir, uid_t uid, gid_t gid);
/* The pid in queue_dir/pid/master.pid, or 0 when there is none (the
 * master and `postern` both read it). */
pid_t queue_master_pid(const char *queue_dir);
/* true when s looks like a queue ID (no '/', no '.', hex only). */
bool queue_id_valid(const char *s);

/* Writing (cleanup): paths are relative to the current directory, which
 * is queue_directory in every daemon. */
struct queue_writer;
/* Open a new file in incoming/ under a temporary name and pick its
 * queue ID. NULL with errno on failure. */
struct queue_writer *queue_create(void);
const char *queue_writer_id(const struct queue_writer *w);
/* The envelope record (must be first; "proto" and "qid" are added). */
int queue_write_envelope(struct queue_writer *w, const struct rec *env);
/* Content bytes, any number of calls. */
int queue_write_content(struct queue_writer *w, const void *data,
    size_t len);
/* End record, fsync, rename into incoming/QID (the rename is not fsynced:
 * see queue_tmp_recover). Only after this returns 0 may anyone tell the
 * client 250. Frees w. */
int queue_commit(struct queue_writer **w_r);
/* Remove the temporary file and free w. */
void queue_abort(struct queue_writer **w_r);

/*
 * A ".tmp." file in dir (incoming) that a crashed writer left: a complete
 * one is renamed to the queue ID its envelope names (a crash can undo the
 * commit's rename), an incomplete one is removed. Only when its writer is
 * gone (the pid in its name is not running), or when the file is older
 * than QUEUE_TMP_STALE seconds (complete) or QUEUE_TMP_ORPHAN seconds
 * (incomplete: pids are reused after a reboot). now is time(NULL).
 */
#define QUEUE_TMP_STALE		60
#define QUEUE_TMP_ORPHAN	(24 * 3600)
enum queue_tmp_fate {
	QUEUE_TMP_LEFT,		/* not a temporary file, or not yet */
	QUEUE_TMP_RECOVERED,
	QUEUE_TMP_REMOVED,
};
enum queue_tmp_fate queue_tmp_recover(const char *dir, const char *name,
    long long now);

/* Reading (qmgr, delivery agents, commands). */
struct queue_recipient {
	char *address;
	char *orcpt;		/* NULL when not given */
	char *notify;		/* NULL when not given */
	bool done;
	off_t offset;		/* of the "rcpt"/"done" name in the file */
};

struct queue_file {
	int fd;
	char *path;
	struct rec *env;	/* envelope attributes (rcpt lines included) */
	struct queue_recipient *rcpts;
	size_t rcpt_count;
	off_t content_offset;	/* first chunk header */
	size_t size;		/* content length from the end record */
	off_t file_size;
	/* A read-only open of a file of up to QUEUE_IMAGE_MAX bytes keeps
	 * the whole file, read at open anyway: reading the content then
	 * costs no system call. NULL otherwise. */
	char *image;
};

/* Open and validate path ("active/QID"); writable when marking done.
 * NULL with errno EPROTO when the file is not a complete queue file. */
struct queue_file *queue_open(const char *path, bool writable);
void queue_close(struct queue_file **q_r);
/* Envelope attribute shorthand. */
const char *queue_get(const struct queue_file *q, const char *name);
/* Mark recipient i done: overwrite and fdatasync. */
int queue_mark_done(struct queue_file *q, size_t i);
/* Copy the content to fd (blocking), each line ending LF. */
int queue_copy_content(struct queue_file *q, int fd);
/* Read the content chunk by chunk: calls fn(ctx, data, len) for each
 * piece; stops when fn returns -1. */
int queue_read_content(struct queue_file *q,
    int (*fn)(void *ctx, const char *data, size_t len), void *ctx);

#endif
