/*
 * postern_show.c - `postern queue show ID`: one queued message, like
 * Postfix's `postcat -q ID`.
 *
 * Prints the envelope (queue, arrival, sender, size, the client and the
 * other envelope attributes cleanup recorded), each recipient with its
 * state (pending or done, and what the last attempt said, from log/QID),
 * then the message as it is queued, headers and body:
 *
 *   *** ENVELOPE deferred/QID ***
 *   queue_id: QID
 *   ...
 *   recipient: someone@example.org
 *       state: pending, deferred at DATE (dsn=4.4.1, relay=none): TEXT
 *   *** MESSAGE CONTENTS deferred/QID ***
 *   ...
 *   *** END OF MESSAGE deferred/QID ***
 *
 * Message content is private: only root and mail_owner may read it (the
 * queue is mail_owner's, mode 0700, and by design no program is
 * set-uid), so everyone else is refused before anything is opened; we
 * never ask qmgr for content. Every use is logged with the invoking user,
 * refusals included.
 *
 * Envelope values came from strangers (addresses, HELO, remote servers'
 * replies): control characters are shown as '?', as in the mailq listing.
 * The content is printed as queued, byte for byte, when stdout is a file
 * or a pipe (so it can be saved or fed back to sendmail); on a terminal,
 * control characters other than tab and newline are shown as '?' so a
 * message cannot drive the admin's terminal with escape sequences.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "postern.h"

#define POSTERN_SHOW_LOG_MAX	(4 * 1024 * 1024)	/* as qmgr's */

/* Where a message can be, in the order it goes through them. */
static const char *const postern_show_queues[] = {
	"incoming", "active", "deferred", "hold",
};
#define POSTERN_SHOW_QUEUES \
	(sizeof(postern_show_queues) / sizeof(postern_show_queues[0]))

/* Envelope attributes printed first or with the recipients. */
static const char *const postern_show_handled[] = {
	"proto", "qid", "arrival", "sender", "client_name", "client_addr",
	"rcpt", "done", "orcpt", "notify", NULL,
};

static void
postern_show_put_printable(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		buf_add_char(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static void
postern_show_field(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, "%s: ", name);
	postern_show_put_printable(out, value);
	buf_add_char(out, '\n');
}

static void
postern_show_date(struct buf *out, long long when)
{
	time_t t = (time_t)when;
	struct tm tm;
	char text[64];

	if (localtime_r(&t, &tm) != NULL && strftime(text, sizeof(text),
	    "%a, %d %b %Y %H:%M:%S %z", &tm) > 0)
		buf_add_str(out, text);
	else
		buf_printf(out, "%lld", when);
}

bool
postern_show_log_find(const char *data, size_t len, size_t index,
    const char *address, struct rec *out)
{
	size_t off = 0;
	ssize_t n;

	while (off < len &&
	    (n = rec_parse(out, data + off, len - off)) > 0) {
		const char *rcpt = rec_get(out, "rcpt");
		long long at;

		off += (size_t)n;
		if (rcpt == NULL || strcmp(rcpt, address) != 0)
			continue;
		/* The index tells apart a recipient listed twice; an
		 * older record without one matches by address. */
		if (rec_get(out, "index") == NULL ||
		    (rec_get_int(out, "index", 0, LLONG_MAX, &at) == 0 &&
		    (size_t)at == index))
			return true;
	}
	rec_reset(out);
	return false;
}

/* The state line of recipient i. */
static void
postern_show_state(struct buf *out, const struct queue_recipient *r,
    size_t i, const char *log, size_t log_len)
{
	struct rec *record = rec_new();
	const char *status, *value;
	long long when;

	buf_printf(out, "    state: %s", r->done ? "done" : "pending");
	if (postern_show_log_find(log, log_len, i, r->address, record) &&
	    (status = rec_get(record, "status")) != NULL) {
		buf_add_str(out, ", ");
		postern_show_put_printable(out, status);
		if (rec_get_int(record, "time", 0, LLONG_MAX, &when) == 0) {
			buf_add_str(out, " at ");
			postern_show_date(out, when);
		}
		if ((value = rec_get(record, "dsn")) != NULL) {
			buf_add_str(out, " (dsn=");
			postern_show_put_printable(out, value);
			if ((value = rec_get(record, "relay")) != NULL) {
				buf_add_str(out, ", relay=");
				postern_show_put_printable(out, value);
			}
			buf_add_char(out, ')');
		}
		if ((value = rec_get(record, "reason")) != NULL) {
			buf_add_str(out, ": ");
			postern_show_put_printable(out, value);
		}
	}
	buf_add_char(out, '\n');
	rec_free(&record);
}

void
postern_show_envelope(struct buf *out, const struct queue_file *q,
    const char *queue, long long next_attempt, const char *log,
    size_t log_len)
{
	const char *qid = queue_get(q, "qid");
	const char *value, *addr;
	long long arrival;

	buf_printf(out, "*** ENVELOPE %s/", queue);
	postern_show_put_printable(out, qid != NULL ? qid : "?");
	buf_add_str(out, " ***\n");
	if (qid != NULL)
		postern_show_field(out, "queue_id", qid);
	buf_printf(out, "queue: %s", queue);
	if (strcmp(queue, "hold") == 0) {
		buf_add_str(out, " (on hold until released)");
	} else if (strcmp(queue, "deferred") == 0 && next_attempt > 0) {
		buf_add_str(out, " (next attempt ");
		postern_show_date(out, next_attempt);
		buf_add_char(out, ')');
	}
	buf_add_char(out, '\n');
	if ((value = queue_get(q, "arrival")) != NULL) {
		arrival = strtoll(value, NULL, 10);
		buf_add_str(out, "arrival: ");
		postern_show_date(out, arrival);
		buf_add_char(out, '\n');
	}
	value = queue_get(q, "sender");
	postern_show_field(out, "sender", value == NULL || *value == '\0' ?
	    "<> (the null sender)" : value);
	buf_printf(out, "size: %zu\n", q->size);
	value = queue_get(q, "client_name");
	addr = queue_get(q, "client_addr");
	if (value != NULL || addr != NULL) {
		buf_add_str(out, "client: ");
		postern_show_put_printable(out, value != NULL ? value :
		    "unknown");
		if (addr != NULL) {
			buf_add_char(out, '[');
			postern_show_put_printable(out, addr);
			buf_add_char(out, ']');
		}
		buf_add_char(out, '\n');
	}
	/* Whatever else cleanup recorded, in file order. */
	for (size_t i = 0; i < q->env->count; i++) {
		const struct rec_attr *a = &q->env->attrs[i];
		size_t k;

		for (k = 0; postern_show_handled[k] != NULL; k++)
			if (strcmp(a->name, postern_show_handled[k]) == 0)
				break;
		if (postern_show_handled[k] == NULL)
			postern_show_field(out, a->name, a->value);
	}
	for (size_t i = 0; i < q->rcpt_count; i++) {
		const struct queue_recipient *r = &q->rcpts[i];

		postern_show_field(out, "recipient", r->address);
		if (r->orcpt != NULL) {
			buf_add_str(out, "    ");
			postern_show_field(out, "orcpt", r->orcpt);
		}
		if (r->notify != NULL) {
			buf_add_str(out, "    ");
			postern_show_field(out, "notify", r->notify);
		}
		postern_show_state(out, r, i, log, log_len);
	}
}

/* queue_read_content callback: the content to stdout. */
struct postern_show_writer {
	bool terminal;
	bool ends_with_newline;
	int error;		/* errno of a failed write, else 0 */
};

static int
postern_show_write(void *ctx, const char *data, size_t len)
{
	struct postern_show_writer *w = ctx;
	char safe[4096];

	if (len == 0)
		return 0;
	w->ends_with_newline = data[len - 1] == '\n';
	while (len > 0) {
		size_t n = len < sizeof(safe) ? len : sizeof(safe);

		memcpy(safe, data, n);
		if (w->terminal)
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)safe[i];

				if ((c < 0x20 && c != '\t' && c != '\n') ||
				    c == 0x7f)
					safe[i] = '?';
			}
		if (fwrite(safe, 1, n, stdout) != n) {
			w->error = errno != 0 ? errno : EIO;
			return -1;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* true when the invoking user may read queued messages. */
static bool
postern_show_allowed(void)
{
	struct passwd *pw;
	uid_t uid = getuid();

	if (uid == 0)
		return true;
	pw = getpwnam(config_get("mail_owner"));
	return pw != NULL && pw->pw_uid == uid;
}

/* Open QID where it is now (qmgr may move it while we look: try each
 * queue twice). NULL when it is in none of them. */
static struct queue_file *
postern_show_open(const char *qid, const char **queue_r, struct stat *st_r)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < POSTERN_SHOW_QUEUES; i++) {
			char *path = xasprintf("%s/%s",
			    postern_show_queues[i], qid);
			struct queue_file *q = queue_open(path, false);

			if (q != NULL) {
				if (fstat(q->fd, st_r) < 0)
					memset(st_r, 0, sizeof(*st_r));
				*queue_r = postern_show_queues[i];
				xfree(&path);
				return q;
			}
			if (errno != ENOENT)
				fprintf(stderr, "postern: %s/%s: %s\n",
				    config_get("queue_directory"), path,
				    errno == EPROTO ? "not a complete queue "
				    "file" : strerror(errno));
			xfree(&path);
		}
	return NULL;
}

int
postern_show(const char *qid)
{
	const char *queue_dir = config_get("queue_directory");
	struct postern_show_writer writer = { .terminal = isatty(1),
	    .ends_with_newline = true };
	struct queue_file *q;
	const char *queue = NULL;
	struct buf *out, *log;
	struct stat st;
	char *who, *log_path;
	int rc = 0;

	if (!queue_id_valid(qid)) {
		fprintf(stderr, "postern: %s: not a queue ID\n", qid);
		return 2;
	}
	who = postern_queue_who();
	if (!postern_show_allowed()) {
		log_warn("%s: show %s refused: not root or mail_owner", who,
		    qid);
		fprintf(stderr, "postern: permission denied: only root and "
		    "the mail owner may read queued messages\n");
		xfree(&who);
		return 1;
	}
	log_info("%s: show %s", who, qid);
	xfree(&who);
	if (chdir(queue_dir) < 0) {
		fprintf(stderr, "postern: queue_directory %s: %s\n", queue_dir,
		    strerror(errno));
		return 1;
	}
	if ((q = postern_show_open(qid, &queue, &st)) == NULL) {
		fprintf(stderr, "postern: %s: no such message in the queue\n",
		    qid);
		return 1;
	}
	log = buf_new(POSTERN_SHOW_LOG_MAX);
	log_path = xasprintf("log/%s", qid);
	if (io_read_file(log_path, POSTERN_SHOW_LOG_MAX, log) < 0)
		buf_reset(log);
	xfree(&log_path);
	out = buf_new(POSTERN_SHOW_LOG_MAX + REC_MAX);
	postern_show_envelope(out, q, queue, (long long)st.st_mtime,
	    log->data, log->len);
	buf_printf(out, "*** MESSAGE CONTENTS %s/%s ***\n", queue, qid);
	fwrite(out->data, 1, out->len, stdout);
	if (queue_read_content(q, postern_show_write, &writer) < 0) {
		fflush(stdout);
		fprintf(stderr, "postern: %s/%s: %s\n", queue, qid,
		    writer.error != 0 ? strerror(writer.error) :
		    "cannot read the content (the message was removed?)");
		rc = 1;
	} else {
		if (!writer.ends_with_newline)
			putchar('\n');
		printf("*** END OF MESSAGE %s/%s ***\n", queue, qid);
	}
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "postern: write: %s\n", strerror(errno));
		rc = 1;
	}
	buf_free(&out);
	buf_free(&log);
	queue_close(&q);
	return rc;
}
