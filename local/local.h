/*
 * local.h - the local delivery agent's modules (private to local/).
 *
 * local_deliver.c  the delivery/1 service: one recipient at a time through
 *                  aliases, ~/.forward and the mailbox
 * local_alias.c    target lists (aliases, .forward, :include:) parsed and
 *                  classified: pure functions
 * local_command.c  "|command" targets: argv without a shell
 * local_file.c     "/file" targets and mbox mailboxes
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include <pwd.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "delivery.h"
#include "queue.h"
#include "rec.h"

#define LOCAL_DEPTH_MAX		20	/* nested aliases/.forward/:include: */
#define LOCAL_TARGETS_MAX	1000	/* targets one recipient expands to */
#define LOCAL_LIST_MAX		(256 * 1024)	/* .forward, :include: size */

/* Where a target came from: decides allow_mail_to_commands/_files. */
enum local_source {
	LOCAL_SOURCE_ALIAS = 1,
	LOCAL_SOURCE_FORWARD = 2,
	LOCAL_SOURCE_INCLUDE = 4,
};

enum local_target_type {
	LOCAL_TARGET_COMMAND,	/* "|cmd args" -> value "cmd args" */
	LOCAL_TARGET_FILE,	/* "/path" (ends in "/": a Maildir) */
	LOCAL_TARGET_INCLUDE,	/* ":include:/path" -> value "/path" */
	LOCAL_TARGET_MAILBOX,	/* "\user" -> value "user" */
	LOCAL_TARGET_LOCAL,	/* "user" or "user@local.domain" -> "user" */
	LOCAL_TARGET_REMOTE,	/* "user@other.domain" */
};

struct local_target {
	enum local_target_type type;
	char *value;
};

/* local_alias.c */
/* Split an alias value, .forward or :include: text into targets: commas
 * and newlines separate, double quotes group ("|cmd, with comma"), lines
 * starting with '#' are comments, space around a target is dropped, and
 * one pair of quotes or angle brackets around a whole target is removed.
 * Returns a NULL-terminated array of fresh strings (free with
 * config_list_free()), or NULL with *error_r static (unbalanced quote,
 * more than LOCAL_TARGETS_MAX targets). */
char **local_list_parse(const char *text, const char **error_r);
/* Classify one target. is_local(domain) says whether a domain is ours
 * (mydestination). Returns 0, or -1 with *error_r static (empty target,
 * ":include:" of a relative path, a file path with "/../"). */
int local_target_classify(const char *target,
    bool (*is_local)(const char *domain), struct local_target *out,
    const char **error_r);
void local_target_release(struct local_target *t);
/* Is "name" in the comma/space list value (allow_mail_to_commands)? The
 * names are "alias", "forward", "include". */
bool local_source_allowed(const char *list, enum local_source source);

/* local_command.c */
/* Split a command into argv: whitespace separates, '...' and "..."
 * quote, backslash escapes. Unquoted shell syntax (| & ; < > ( ) $ `)
 * is refused: we run no shell (*error_r static). Returns a
 * NULL-terminated array (config_list_free()) or NULL. */
char **local_command_split(const char *command, const char **error_r);
struct local_command_env {
	const char *home, *user, *shell;
	const char *sender, *recipient, *extension, *local, *domain;
};
/* In a child already running as the target's user: run the command with
 * the message on stdin and the environment Postfix gives (HOME USER
 * LOGNAME SHELL PATH SENDER RECIPIENT EXTENSION LOCAL DOMAIN), kill it
 * after time_limit seconds, and put the result into out: exit 0 sent,
 * 75 (EX_TEMPFAIL) and 71 (EX_OSERR) deferred, a signal or the time
 * limit deferred, anything else bounced with the command's first output
 * line in the reason. */
void local_command_run(const char *command,
    const struct local_command_env *env, const char *prepend,
    struct queue_file *q, long long time_limit, struct rec *out);

/* local_file.c */
/* mbox "From " quoting of a stream that arrives in pieces: a line that
 * starts with "From " gets a '>' in front. Start zeroed with bol true. */
struct local_mbox_quoter {
	bool bol;		/* at the beginning of a line */
	size_t held;		/* bytes of "From " seen at bol, not yet out */
};
/* Append data, quoted, to out; len 0 flushes what is held (the end).
 * 0, or -1 when out's limit is reached. */
int local_mbox_quote(struct local_mbox_quoter *m, struct buf *out,
    const char *data, size_t len);
/* The "From sender date" line (asctime date, "MAILER-DAEMON" for <>). */
char *local_mbox_from_line(const char *sender, time_t when);
/* In a child already running as the right user: append q to the mbox
 * file at path (created 0600 when missing), flock'd, with the From line,
 * prepend, quoting and a blank line after, fsync'd; a failed write is
 * truncated away. A path ending in "/" is a Maildir. /dev/null is
 * accepted and nothing is written. Puts the result in out; reason_ok is
 * the reason for success. */
void local_file_deliver(const char *path, const char *sender,
    const char *prepend, struct queue_file *q, const char *reason_ok,
    struct rec *out);

/* local_deliver.c */
/* The service function (lib/server.h .service). */
void local_service(int fd);
/* Open alias_maps (pre_jail). */
void local_init(void);
/* The password lookup; tests replace it. Returns NULL when unknown. */
extern struct passwd *(*local_getpwnam)(const char *name);
extern struct passwd *(*local_getpwuid)(uid_t uid);

#endif
