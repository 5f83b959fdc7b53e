/*
 * local_file.c - deliver to "/file" targets and mbox mailboxes.
 *
 * mbox as Postfix writes it: a "From sender date" line, the message with
 * every line that starts with "From " quoted as ">From " (mboxo: other
 * ">From " lines are left alone), then an empty line. The file is opened
 * O_APPEND without following symlinks, must be a regular file with one
 * link (no hard-link tricks), is locked with flock() (what Dovecot and
 * mutt use on Linux; no dot-lock), fsync'd, and truncated back to its old
 * size when a write fails, so a reader never sees half a message.
 *
 * A target ending in "/" is a Maildir (lib/maildir.h). "/dev/null" is
 * delivered by writing nothing.
 *
 * The caller has already become the user the file is written as.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"

#define LOCAL_FILE_FLUSH	(64 * 1024)
#define LOCAL_FILE_LOCK_TRIES	30	/* seconds */

static const char local_from[] = "From ";

int
local_mbox_quote(struct local_mbox_quoter *m, struct buf *out,
    const char *data, size_t len)
{
	const char *end = data + len, *nl;

	if (len == 0) {
		if (m->held > 0 && buf_add(out, local_from, m->held) < 0)
			return -1;
		m->held = 0;
		return 0;
	}
	while (data < end) {
		if (m->bol) {
			/* Match "From " bytewise: it may span pieces. */
			if (*data == local_from[m->held]) {
				data++;
				if (++m->held < sizeof(local_from) - 1)
					continue;
				if (buf_add(out, ">From ", 6) < 0)
					return -1;
				m->held = 0;
				m->bol = false;
				continue;
			}
			if (m->held > 0 &&
			    buf_add(out, local_from, m->held) < 0)
				return -1;
			m->held = 0;
			m->bol = false;
		}
		nl = memchr(data, '\n', (size_t)(end - data));
		if (nl == NULL) {
			if (buf_add(out, data, (size_t)(end - data)) < 0)
				return -1;
			break;
		}
		if (buf_add(out, data, (size_t)(nl + 1 - data)) < 0)
			return -1;
		data = nl + 1;
		m->bol = true;
	}
	return 0;
}

char *
local_mbox_from_line(const char *sender, time_t when)
{
	char date[64];
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		date[0] = '\0';
	return xasprintf("From %s  %s\n", sender[0] != '\0' ? sender :
	    "MAILER-DAEMON", date);
}

struct local_file_writer {
	int fd;
	struct buf *out;
	struct local_mbox_quoter quoter;
	bool last_nl;		/* the content ended with a newline */
};

static int
local_file_flush(struct local_file_writer *w)
{
	if (io_write_all(w->fd, w->out->data, w->out->len) < 0)
		return -1;
	buf_reset(w->out);
	return 0;
}

static int
local_file_content(void *ctx, const char *data, size_t len)
{
	struct local_file_writer *w = ctx;
	size_t piece;

	while (len > 0) {
		piece = len > LOCAL_FILE_FLUSH ? LOCAL_FILE_FLUSH : len;
		if (local_mbox_quote(&w->quoter, w->out, data, piece) < 0 ||
		    (w->out->len >= LOCAL_FILE_FLUSH &&
		    local_file_flush(w) < 0))
			return -1;
		w->last_nl = data[piece - 1] == '\n';
		data += piece;
		len -= piece;
	}
	return 0;
}

/* Postfix's mbox_dsn(): which errors are worth a retry. */
static void
local_file_error(struct rec *out, int error, const char *what,
    const char *path)
{
	char *reason = xasprintf("cannot %s file %s: %s", what, path,
	    strerror(error));
	enum delivery_status status = DELIVERY_BOUNCED;
	const char *dsn = "5.2.0";

	switch (error) {
	case EDQUOT:
	case EFBIG:
		dsn = "5.2.2";
		break;
	case ENOSPC:
	case EAGAIN:
	case EINTR:
	case EIO:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ESTALE:
	case ETIMEDOUT:
		status = DELIVERY_DEFERRED;
		dsn = "4.2.0";
		break;
	default:
		break;
	}
	delivery_result_put(out, status, dsn, reason);
	free(reason);
}

static int
local_file_lock(int fd)
{
	int i;

	for (i = 0; i < LOCAL_FILE_LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		sleep(1);
	}
	errno = EAGAIN;
	return -1;
}

void
local_file_deliver(const char *path, const char *sender,
    const char *prepend, struct queue_file *q, const char *reason_ok,
    struct rec *out)
{
	struct local_file_writer w = { .fd = -1, .quoter = { true, 0 } };
	struct stat st;
	char *from, *error;
	bool temporary;
	off_t start;
	int saved;

	if (strcmp(path, "/dev/null") == 0) {
		delivery_result_put(out, DELIVERY_SENT, "2.0.0", reason_ok);
		return;
	}
	if (path[0] != '\0' && path[strlen(path) - 1] == '/') {
		if (maildir_deliver(path, prepend, q, &error, &temporary) < 0) {
			delivery_result_put(out, temporary ? DELIVERY_DEFERRED :
			    DELIVERY_BOUNCED, temporary ? "4.2.0" : "5.2.0",
			    error);
			free(error);
		} else {
			delivery_result_put(out, DELIVERY_SENT, "2.0.0",
			    reason_ok);
		}
		return;
	}
	if ((w.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC, 0600)) < 0) {
		local_file_error(out, errno, "open", path);
		return;
	}
	if (fstat(w.fd, &st) < 0) {
		local_file_error(out, errno, "stat", path);
		close(w.fd);
		return;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		local_file_error(out, EPERM, "deliver to (not a regular file "
		    "with one link)", path);
		close(w.fd);
		return;
	}
	if (local_file_lock(w.fd) < 0) {
		local_file_error(out, errno == EWOULDBLOCK ? EAGAIN : errno,
		    "lock", path);
		close(w.fd);
		return;
	}
	if ((start = lseek(w.fd, 0, SEEK_END)) < 0) {
		local_file_error(out, errno, "seek", path);
		close(w.fd);
		return;
	}
	w.out = buf_new(2 * LOCAL_FILE_FLUSH + 64);
	w.last_nl = true;
	from = local_mbox_from_line(sender, time(NULL));
	errno = 0;
	if (buf_add_str(w.out, from) < 0 ||
	    local_file_content(&w, prepend, strlen(prepend)) < 0 ||
	    queue_read_content(q, local_file_content, &w) < 0 ||
	    local_mbox_quote(&w.quoter, w.out, NULL, 0) < 0 ||
	    (!w.last_nl && buf_add_char(w.out, '\n') < 0) ||
	    buf_add_char(w.out, '\n') < 0 || local_file_flush(&w) < 0 ||
	    fsync(w.fd) < 0) {
		saved = errno != 0 ? errno : EIO;
		/* Leave no half message behind for the reader. */
		if (ftruncate(w.fd, start) < 0)
			log_warn("cannot truncate %s after a failed write: %m",
			    path);
		local_file_error(out, saved, "write", path);
	} else {
		delivery_result_put(out, DELIVERY_SENT, "2.0.0", reason_ok);
	}
	free(from);
	buf_free(&w.out);
	close(w.fd);
}
