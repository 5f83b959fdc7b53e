/*
 * sendmail_drop.c - write a message into maildrop/ for pickup.
 *
 * The file has the queue file format (lib/queue.h), written here with
 * rec_format() and rec_format_chunk() because queue_create() writes to
 * incoming/, which only cleanup may do. The name is the queue-ID form
 * (seconds, microseconds, inode in hex), unique while the file exists:
 * pickup takes names without a leading dot in order. Mode 0644 so that
 * pickup (mail_owner) can read a file that a user wrote; the queue
 * directory itself is not open to others.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "conn.h"
#include "io.h"
#include "mem.h"
#include "proto.h"
#include "sendmail_drop.h"

#define SENDMAIL_DROP_CHUNK	(64 * 1024)

struct sendmail_drop {
	int fd;
	char *dir;
	char *tmp_path;
	char *name;
	struct buf *pending;	/* content not yet framed as a chunk */
	struct buf *out;	/* framed bytes not yet written */
	size_t size;
	size_t size_limit;
};

static void
sendmail_drop_free(struct sendmail_drop **d_r)
{
	struct sendmail_drop *d = *d_r;

	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	xfree(&d->dir);
	xfree(&d->tmp_path);
	xfree(&d->name);
	buf_free(&d->pending);
	buf_free(&d->out);
	xfree(d_r);
}

static int
sendmail_drop_write_out(struct sendmail_drop *d)
{
	if (io_write_all(d->fd, d->out->data, d->out->len) < 0)
		return -1;
	buf_reset(d->out);
	return 0;
}

struct sendmail_drop *
sendmail_drop_open(const char *dir, const struct rec *env, size_t size_limit)
{
	struct sendmail_drop *d = xcalloc(1, sizeof(*d));
	struct rec *head = rec_new();
	struct timeval tv;
	struct stat st;
	int saved;

	d->fd = -1;
	d->dir = xstrdup(dir);
	d->size_limit = size_limit;
	d->pending = buf_new(SENDMAIL_DROP_CHUNK);
	d->out = buf_new(REC_MAX + SENDMAIL_DROP_CHUNK + 64);
	gettimeofday(&tv, NULL);
	d->tmp_path = xasprintf("%s/.tmp.%ld.%ld", dir, (long)getpid(),
	    (long)tv.tv_usec);
	d->fd = open(d->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	if (d->fd < 0)
		goto fail_nofile;
	(void)fchmod(d->fd, 0644);	/* whatever the umask */
	if (fstat(d->fd, &st) < 0)
		goto fail;
	d->name = xasprintf("%09llX%05lX%llX", (unsigned long long)tv.tv_sec,
	    (long)tv.tv_usec, (unsigned long long)st.st_ino);
	rec_put(head, "proto", "queue/1");
	rec_put(head, "qid", d->name);
	for (size_t i = 0; i < env->count; i++)
		if (strcmp(env->attrs[i].name, "proto") != 0 &&
		    strcmp(env->attrs[i].name, "qid") != 0)
			rec_put(head, env->attrs[i].name, env->attrs[i].value);
	if (rec_format(head, d->out) < 0)
		goto fail;
	rec_free(&head);
	return d;
fail:
	saved = errno;
	unlink(d->tmp_path);
	errno = saved;
fail_nofile:
	saved = errno;
	rec_free(&head);
	sendmail_drop_free(&d);
	errno = saved;
	return NULL;
}

static int
sendmail_drop_flush_chunk(struct sendmail_drop *d)
{
	if (d->pending->len == 0)
		return 0;
	if (rec_format_chunk(d->out, d->pending->data, d->pending->len) < 0)
		return -1;
	buf_reset(d->pending);
	return sendmail_drop_write_out(d);
}

int
sendmail_drop_content(struct sendmail_drop *d, const void *data,
    size_t len)
{
	const char *p = data;

	if (d->size_limit > 0 && (len > d->size_limit ||
	    d->size > d->size_limit - len)) {
		errno = EFBIG;
		return -1;
	}
	d->size += len;
	while (len > 0) {
		size_t room = SENDMAIL_DROP_CHUNK - d->pending->len;
		size_t n = len < room ? len : room;

		if (buf_add(d->pending, p, n) < 0)
			return -1;
		p += n;
		len -= n;
		if (d->pending->len == SENDMAIL_DROP_CHUNK &&
		    sendmail_drop_flush_chunk(d) < 0)
			return -1;
	}
	return 0;
}

int
sendmail_drop_commit(struct sendmail_drop **d_r, char **name_r)
{
	struct sendmail_drop *d = *d_r;
	struct rec *end = rec_new();
	char *path = xasprintf("%s/%s", d->dir, d->name);
	int saved;

	rec_put_size(end, "end", d->size);
	if (sendmail_drop_flush_chunk(d) < 0 ||
	    rec_format_chunk(d->out, NULL, 0) < 0 ||
	    rec_format(end, d->out) < 0 || sendmail_drop_write_out(d) < 0 ||
	    fsync(d->fd) < 0)
		goto fail;
	saved = close(d->fd);
	d->fd = -1;
	if (saved < 0)
		goto fail;
	/*
	 * rename(), not link() + unlink(): pickup must never see the final
	 * name with two links. The name holds this file's inode number, so
	 * no other file in maildrop/ can have it.
	 */
	if (rename(d->tmp_path, path) < 0)
		goto fail;
	/*
	 * A user may write to maildrop/ (mode 1733) but not read it, so
	 * the directory cannot be opened to fsync it: then the rename is
	 * as durable as the file system makes it (Postfix's postdrop does
	 * not fsync the directory either).
	 */
	if (io_fsync_parent(path) < 0 && errno != EACCES) {
		saved = errno;
		(void)unlink(path);
		errno = saved;
		goto fail;
	}
	*name_r = xstrdup(d->name);
	rec_free(&end);
	xfree(&path);
	sendmail_drop_free(d_r);
	return 0;
fail:
	saved = errno;
	(void)unlink(d->tmp_path);
	rec_free(&end);
	xfree(&path);
	sendmail_drop_free(d_r);
	errno = saved;
	return -1;
}

void
sendmail_drop_abort(struct sendmail_drop **d_r)
{
	if (*d_r == NULL)
		return;
	(void)unlink((*d_r)->tmp_path);
	sendmail_drop_free(d_r);
}

void
sendmail_poke_pickup(const char *pickup_path)
{
	struct conn *c;
	struct rec *r;
	int fd = io_unix_connect(pickup_path);

	if (fd < 0)
		return;
	c = conn_new(fd, 1000);
	r = rec_new();
	rec_put(r, "proto", PROTO_QMGR);
	rec_put(r, "request", "wakeup");
	(void)rec_write(c, r);
	rec_free(&r);
	conn_free(&c);
}
