/*
 * queue.c - queue files: the one on-disk form of a message (see queue.h).
 *
 * Layout, all lib/rec framing:
 *   proto=queue/1\n qid=ID\n ...envelope... rcpt=ADDR\n ... \n
 *   LEN\n BYTES  ...  0\n
 *   end=SIZE\n \n
 *
 * The writer (cleanup) claims a blanked file in free/ and writes the
 * message in place (queue_pool.h), or creates one as
 * incoming/.tmp.PID.COUNTER (a name starting with '.' is never picked up
 * by qmgr); it buffers content into chunks of up to QUEUE_CHUNK bytes so
 * that content arriving in many small pieces costs one write(2) per
 * chunk, then on commit writes the end record (cutting what a longer
 * earlier message left after it), fsyncs and renames to incoming/QID.
 * Only then is the message accepted.
 *
 * The rename is not fsynced, to save a disk flush per message: the fsync
 * made the file durable under its temporary name (a new file's directory
 * entry goes with its fsync on ext4, XFS and btrfs), and a complete file
 * is a message wherever it lies. If a crash loses the rename, qmgr finds
 * the complete file: a .tmp file it renames to the ID its envelope names
 * (queue_tmp_recover), one in free/ it recovers when it starts
 * (queue_pool_recover). A .tmp file without its end record never got a
 * 250 and is removed once its writer is gone.
 *
 * The reader validates the whole file at open: version record first,
 * well-formed chunk framing, the end record last with nothing after it,
 * and the content size it names equal to the sum of the chunks. Anything
 * else is EPROTO: a truncated file (crash before the end record) is not a
 * message. Chunk data is skipped with offsets, not read, so opening a
 * large message is cheap. The first read at open takes up to REC_MAX
 * bytes (the envelope's limit); what it holds is not read again, and a
 * read-only open keeps it when it is the whole file (the content never
 * changes, and marking done needs a writable open, which keeps nothing).
 *
 * A recipient is marked done by overwriting its "rcpt" name with "done"
 * (same length) with pwrite and fdatasync: the file never changes size,
 * so a crash leaves either the old or the new name.
 *
 * Decisions where queue.h is silent:
 * - Envelope attributes "proto" and "qid" given by the caller are dropped;
 *   ours come first.
 * - The final rename refuses to replace an existing file (RENAME_NOREPLACE
 *   where the file system supports it), so a queue ID collision after a
 *   clock step backwards fails the commit instead of losing a message.
 * - queue_copy_content() adds a final LF when the content does not end
 *   with one (mailboxes expect whole lines).
 * - Queue IDs are accepted in either case of hex digits, 1 to
 *   QUEUE_ID_MAX - 1 characters.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "queue_pool.h"

#define QUEUE_PROTO	"queue/1"
#define QUEUE_CHUNK	(64 * 1024)
#define QUEUE_END_MAX	64	/* "end=" + digits + "\n\n" */
#define QUEUE_IMAGE_MAX	(64 * 1024)
#define QUEUE_CREATE_TRIES 100

struct queue_writer {
	int fd;
	char *tmp_path;
	bool pooled;		/* tmp_path is in free/, fd holds its lock */
	off_t stale;		/* a pooled file's blanked length */
	off_t written;
	char qid[QUEUE_ID_MAX];
	bool envelope_written;
	struct buf chunk;	/* content not yet written */
	size_t content_size;
};

static const struct {
	const char *name;
	mode_t mode;
} queue_dirs[] = {
	{ "incoming", 0700 },
	{ "active", 0700 },
	{ "deferred", 0700 },
	{ "hold", 0700 },
	{ "corrupt", 0700 },
	{ "free", 0700 },	/* emptied files for reuse: queue_pool.h */
	{ "maildrop", 01733 },	/* local users drop files, cannot list */
	{ "private", 0700 },
	{ "public", 0711 },	/* sockets local users may connect to */
	{ "pid", 0700 },
	{ "log", 0700 },
};

/* Set mode and owner of an existing directory, refusing symlinks. */
static int
queue_fix_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int saved;

	if (fd < 0)
		return -1;
	if ((uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) ||
	    fchmod(fd, mode) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

int
queue_make_dirs(const char *queue_dir, uid_t uid, gid_t gid)
{
	/* Parents above the queue directory are not ours: plain 0755. */
	if (io_mkdirs(queue_dir, 0755) < 0 ||
	    queue_fix_dir(queue_dir, 0711, uid, gid) < 0) {
		log_error("queue directory %s: %m", queue_dir);
		return -1;
	}
	for (size_t i = 0; i < sizeof(queue_dirs) / sizeof(queue_dirs[0]);
	    i++) {
		char *path = xasprintf("%s/%s", queue_dir, queue_dirs[i].name);

		/* chmod after mkdir: the umask would have cut 01733. */
		if ((mkdir(path, 0700) < 0 && errno != EEXIST) ||
		    queue_fix_dir(path, queue_dirs[i].mode, uid, gid) < 0) {
			log_error("queue directory %s: %m", path);
			xfree(&path);
			return -1;
		}
		xfree(&path);
	}
	return 0;
}

bool
queue_id_valid(const char *s)
{
	size_t len = 0;

	for (; s[len] != '\0'; len++) {
		char c = s[len];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
		    (c >= 'a' && c <= 'f')))
			return false;
		if (len + 1 >= QUEUE_ID_MAX)
			return false;
	}
	return len > 0;
}

/* Writing. */

struct queue_writer *
queue_create(void)
{
	static unsigned long counter;
	struct queue_writer *w;
	struct stat st;
	struct timeval tv;
	char pooled[QUEUE_POOL_PATH_MAX];
	char *path = NULL;
	int fd, saved;
	bool from_pool;

	/* A finished file from free/ first: see queue_pool.h. */
	fd = queue_pool_claim(pooled, sizeof(pooled), &st);
	if ((from_pool = fd >= 0))
		path = xstrdup(pooled);
	for (int tries = 0; fd < 0 && tries < QUEUE_CREATE_TRIES; tries++) {
		path = xasprintf("incoming/.tmp.%ld.%lu", (long)getpid(),
		    counter++);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		/* A leftover of an earlier process with our PID. */
		xfree(&path);
	}
	if (fd < 0 || (!from_pool && fstat(fd, &st) < 0))
		goto fail;
	gettimeofday(&tv, NULL);
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->tmp_path = path;
	w->pooled = from_pool;
	w->stale = st.st_size;
	snprintf(w->qid, sizeof(w->qid), "%09llX%05lX%llX",
	    (unsigned long long)tv.tv_sec, (unsigned long)tv.tv_usec,
	    (unsigned long long)st.st_ino);
	buf_init(&w->chunk, QUEUE_CHUNK);
	return w;
fail:
	saved = errno;
	if (from_pool)
		queue_pool_release(path, fd);
	else if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	xfree(&path);
	errno = saved;
	return NULL;
}

const char *
queue_writer_id(const struct queue_writer *w)
{
	return w->qid;
}

int
queue_write_envelope(struct queue_writer *w, const struct rec *env)
{
	struct rec *r;
	struct buf *out;
	int rc = -1;

	if (w->envelope_written) {
		errno = EINVAL;
		return -1;
	}
	r = rec_new();
	out = buf_new(REC_MAX);
	rec_put(r, "proto", QUEUE_PROTO);
	rec_put(r, "qid", w->qid);
	for (size_t i = 0; i < env->count; i++) {
		const struct rec_attr *a = &env->attrs[i];

		if (strcmp(a->name, "proto") != 0 && strcmp(a->name, "qid") != 0)
			rec_put(r, a->name, a->value);
	}
	if (rec_format(r, out) == 0 && io_write_all(w->fd, out->data,
	    out->len) == 0) {
		w->written += (off_t)out->len;
		w->envelope_written = true;
		rc = 0;
	}
	rec_free(&r);
	buf_free(&out);
	return rc;
}

/* Write the buffered content as one chunk, then tail (the end record
 * at commit: one system call for a small message). */
static int
queue_flush_chunk(struct queue_writer *w, const char *tail, size_t tail_len)
{
	char header[32];
	struct iovec iov[3];
	int n = 0;

	if (w->chunk.len > 0)
		n = snprintf(header, sizeof(header), "%zu\n", w->chunk.len);
	iov[0] = (struct iovec){ .iov_base = header, .iov_len = (size_t)n };
	iov[1] = (struct iovec){ .iov_base = w->chunk.data,
		.iov_len = w->chunk.len };
	iov[2] = (struct iovec){ .iov_base = (char *)tail,
		.iov_len = tail_len };
	if (io_writev_all(w->fd, iov, 3) < 0)
		return -1;
	w->written += (off_t)(iov[0].iov_len + iov[1].iov_len + tail_len);
	buf_reset(&w->chunk);
	return 0;
}

int
queue_write_content(struct queue_writer *w, const void *data, size_t len)
{
	const char *p = data;

	if (!w->envelope_written) {
		errno = EINVAL;
		return -1;
	}
	if (len > SIZE_MAX - w->content_size) {
		errno = EFBIG;
		return -1;
	}
	while (len > 0) {
		size_t room = QUEUE_CHUNK - w->chunk.len;
		size_t n = len < room ? len : room;

		if (buf_add(&w->chunk, p, n) < 0)
			return -1;
		p += n;
		len -= n;
		w->content_size += n;
		if (w->chunk.len == QUEUE_CHUNK &&
		    queue_flush_chunk(w, NULL, 0) < 0)
			return -1;
	}
	return 0;
}

static void
queue_writer_free(struct queue_writer **w_r)
{
	xfree(&(*w_r)->tmp_path);
	buf_release(&(*w_r)->chunk);
	xfree(w_r);
}

/* Drop the unfinished file: a pooled one goes back to free/ blank, a
 * created one is removed. Then free w. */
static void
queue_writer_discard(struct queue_writer **w_r)
{
	struct queue_writer *w = *w_r;

	if (w->pooled)
		queue_pool_release(w->tmp_path, w->fd);
	else {
		close(w->fd);
		unlink(w->tmp_path);
	}
	queue_writer_free(w_r);
}

int
queue_commit(struct queue_writer **w_r)
{
	struct queue_writer *w = *w_r;
	char end[QUEUE_END_MAX];
	char *path = xasprintf("incoming/%s", w->qid);
	int n, saved;

	if (!w->envelope_written) {
		errno = EINVAL;
		goto fail;
	}
	n = snprintf(end, sizeof(end), "0\nend=%zu\n\n", w->content_size);
	/* A blanked pool file longer than the message: the end record
	 * must be last. */
	if (queue_flush_chunk(w, end, (size_t)n) < 0 ||
	    (w->stale > w->written && ftruncate(w->fd, w->written) < 0) ||
	    fsync(w->fd) < 0 || io_rename_new(w->tmp_path, path) < 0)
		goto fail;
	/* Renamed before closed: a pooled file's lock must cover its time
	 * in free/. After the fsync, close cannot lose data. */
	close(w->fd);
	queue_writer_free(w_r);
	xfree(&path);
	return 0;
fail:
	saved = errno;
	log_warn("%s: cannot commit queue file: %m", w->qid);
	xfree(&path);
	queue_writer_discard(w_r);
	errno = saved;
	return -1;
}

void
queue_abort(struct queue_writer **w_r)
{
	if (*w_r == NULL)
		return;
	queue_writer_discard(w_r);
}

/* Recovering temporary files. */

/* The writer's pid from ".tmp.PID.COUNTER"; 0 when the name is not ours. */
static pid_t
queue_tmp_pid(const char *name)
{
	const char *p;
	char *end;
	long pid;

	if (strncmp(name, ".tmp.", 5) != 0)
		return 0;
	p = name + 5;
	pid = strtol(p, &end, 10);
	if (end == p || *end != '.' || pid <= 0 || pid > INT_MAX)
		return 0;
	return (pid_t)pid;
}

static bool
queue_pid_alive(pid_t pid)
{
	/* EPERM: alive, but another user's (a reused pid). */
	return kill(pid, 0) == 0 || errno == EPERM;
}

enum queue_tmp_fate
queue_tmp_recover(const char *dir, const char *name, long long now)
{
	char path[PATH_MAX], to[PATH_MAX];
	struct queue_file *q;
	struct stat st;
	pid_t pid = queue_tmp_pid(name);
	bool writer_gone, old;
	const char *qid;

	if (pid == 0 || (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    name) >= sizeof(path) || lstat(path, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return QUEUE_TMP_LEFT;
	writer_gone = !queue_pid_alive(pid);
	old = now - (long long)st.st_mtime > QUEUE_TMP_STALE;
	q = queue_open(path, false);
	if (q == NULL) {
		/* Incomplete: its writer never accepted it. Pids are reused
		 * (after a reboot), hence also the age. */
		if (errno != EPROTO || !(writer_gone ||
		    now - (long long)st.st_mtime > QUEUE_TMP_ORPHAN))
			return QUEUE_TMP_LEFT;
		if (unlink(path) < 0)
			return QUEUE_TMP_LEFT;
		log_info("removed incomplete queue file %s", path);
		return QUEUE_TMP_REMOVED;
	}
	/* Complete: a live writer renames it within microseconds. */
	qid = queue_get(q, "qid");
	if (!(writer_gone || old) || (size_t)snprintf(to, sizeof(to),
	    "%s/%s", dir, qid) >= sizeof(to)) {
		queue_close(&q);
		return QUEUE_TMP_LEFT;
	}
	if (io_rename_new(path, to) < 0) {
		log_warn("%s: rename %s %s: %m", qid, path, to);
		queue_close(&q);
		return QUEUE_TMP_LEFT;
	}
	log_info("%s: recovered from %s", qid, path);
	queue_close(&q);
	return QUEUE_TMP_RECOVERED;
}

/* Reading. */

/* pread all of len bytes at off; short files are EPROTO. */
static int
queue_pread(int fd, void *data, size_t len, off_t off)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPROTO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The len bytes at off of the bytes read at open (image, image_len),
 * or NULL when they are not all there. */
static const char *
queue_image_at(const char *image, size_t image_len, off_t off, size_t len)
{
	if (image == NULL || off < 0 || (size_t)off > image_len ||
	    len > image_len - (size_t)off)
		return NULL;
	return image + off;
}

/* len bytes at off into data, from image when it holds them. */
static int
queue_read_at(const struct queue_file *q, const char *image,
    size_t image_len, void *data, size_t len, off_t off)
{
	const char *p = queue_image_at(image, image_len, off, len);

	if (p == NULL)
		return queue_pread(q->fd, data, len, off);
	memcpy(data, p, len);
	return 0;
}

/* Read and check the chunk header at *off; sets *len_r and advances
 * *off past the header. */
static int
queue_chunk_header(const struct queue_file *q, const char *image,
    size_t image_len, off_t *off, size_t *len_r)
{
	char header[16];
	size_t want = sizeof(header);
	ssize_t n;

	if (*off >= q->file_size) {
		errno = EPROTO;
		return -1;
	}
	if ((off_t)want > q->file_size - *off)
		want = (size_t)(q->file_size - *off);
	if (queue_read_at(q, image, image_len, header, want, *off) < 0)
		return -1;
	n = rec_parse_chunk_header(header, want, len_r);
	if (n <= 0) {
		errno = EPROTO;
		return -1;
	}
	*off += n;
	return 0;
}

/* Build q->rcpts from the envelope and the raw bytes it came from (the
 * attributes are in line order, so line i is attribute i). */
static int
queue_load_recipients(struct queue_file *q, const char *raw, size_t len)
{
	struct queue_recipient *cur = NULL;
	off_t line = 0;

	q->rcpts = xcalloc(q->env->count, sizeof(*q->rcpts));
	for (size_t i = 0; i < q->env->count; i++) {
		const struct rec_attr *a = &q->env->attrs[i];
		const char *nl = memchr(raw + line, '\n', len - (size_t)line);

		if (nl == NULL)
			return -1;

		if (strcmp(a->name, "rcpt") == 0 ||
		    strcmp(a->name, "done") == 0) {
			cur = &q->rcpts[q->rcpt_count++];
			cur->address = xstrdup(a->value);
			cur->done = a->name[0] == 'd';
			cur->offset = line;
		} else if (strcmp(a->name, "orcpt") == 0 ||
		    strcmp(a->name, "notify") == 0) {
			char **field;

			if (cur == NULL)
				return -1;	/* before any recipient */
			field = a->name[0] == 'o' ? &cur->orcpt : &cur->notify;
			if (*field != NULL)
				return -1;
			*field = xstrdup(a->value);
		}
		line = (off_t)(nl - raw) + 1;
	}
	return 0;
}

struct queue_file *
queue_open(const char *path, bool writable)
{
	struct queue_file *q = xcalloc(1, sizeof(*q));
	struct rec *end = rec_new();
	struct buf *head = buf_new(REC_MAX);
	char tail[QUEUE_END_MAX];
	struct stat st;
	size_t want, total = 0, chunk_len;
	long long size;
	off_t off;
	ssize_t used;
	const char *qid;
	int saved;

	q->fd = -1;
	q->path = xstrdup(path);
	q->env = rec_new();
	q->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
	    O_NOFOLLOW);
	if (q->fd < 0 || fstat(q->fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode))
		goto bad;

	/* 1. The envelope record. */
	want = st.st_size < REC_MAX ? (size_t)st.st_size : REC_MAX;
	if (buf_reserve(head, want) < 0 ||
	    queue_pread(q->fd, head->data, want, 0) < 0)
		goto fail;
	buf_commit(head, want);
	used = rec_parse(q->env, head->data, head->len);
	if (used <= 0 || q->env->count == 0 ||
	    strcmp(q->env->attrs[0].name, "proto") != 0 ||
	    strcmp(q->env->attrs[0].value, QUEUE_PROTO) != 0)
		goto bad;
	qid = rec_get(q->env, "qid");
	if (qid == NULL || !queue_id_valid(qid))
		goto bad;
	if (queue_load_recipients(q, head->data, (size_t)used) < 0)
		goto bad;
	q->content_offset = used;
	q->file_size = st.st_size;

	/* 2. The content chunks, skipped by their lengths. */
	off = used;
	for (;;) {
		if (queue_chunk_header(q, head->data, head->len, &off,
		    &chunk_len) < 0)
			goto fail;
		if (chunk_len == 0)
			break;
		if ((off_t)chunk_len > st.st_size - off)
			goto bad;
		off += (off_t)chunk_len;
		total += chunk_len;
	}

	/* 3. The end record, and nothing after it. */
	if (st.st_size - off > (off_t)sizeof(tail) || st.st_size == off)
		goto bad;
	want = (size_t)(st.st_size - off);
	if (queue_read_at(q, head->data, head->len, tail, want, off) < 0)
		goto fail;
	if (rec_parse(end, tail, want) != (ssize_t)want || end->count != 1 ||
	    rec_get_int(end, "end", 0, LLONG_MAX, &size) < 0 ||
	    (unsigned long long)size != total)
		goto bad;
	q->size = total;
	if (!writable && head->len == (size_t)st.st_size &&
	    st.st_size <= QUEUE_IMAGE_MAX)
		q->image = buf_detach(head);
	rec_free(&end);
	buf_free(&head);
	return q;
bad:
	errno = EPROTO;
fail:
	saved = errno;
	rec_free(&end);
	buf_free(&head);
	queue_close(&q);
	errno = saved == EMSGSIZE ? EPROTO : saved;
	return NULL;
}

void
queue_close(struct queue_file **q_r)
{
	struct queue_file *q = *q_r;

	if (q == NULL)
		return;
	if (q->fd >= 0)
		close(q->fd);
	for (size_t i = 0; i < q->rcpt_count; i++) {
		xfree(&q->rcpts[i].address);
		xfree(&q->rcpts[i].orcpt);
		xfree(&q->rcpts[i].notify);
	}
	xfree(&q->rcpts);
	rec_free(&q->env);
	xfree(&q->path);
	xfree(&q->image);
	xfree(q_r);
}

const char *
queue_get(const struct queue_file *q, const char *name)
{
	return rec_get(q->env, name);
}

int
queue_mark_done(struct queue_file *q, size_t i)
{
	struct queue_recipient *r;
	char name[5];
	size_t seen = 0;

	if (i >= q->rcpt_count) {
		errno = EINVAL;
		return -1;
	}
	r = &q->rcpts[i];
	if (r->done)
		return 0;
	/* Never overwrite anything but the name we parsed at open. */
	if (queue_pread(q->fd, name, sizeof(name), r->offset) < 0)
		return -1;
	if (memcmp(name, "rcpt=", 5) != 0) {
		errno = EPROTO;
		return -1;
	}
	for (;;) {
		ssize_t n = pwrite(q->fd, "done", 4, r->offset);

		if (n == 4)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	if (fdatasync(q->fd) < 0)
		return -1;
	r->done = true;
	/* Keep the envelope copy in step with the file. */
	for (size_t a = 0; a < q->env->count; a++) {
		char *attr_name = q->env->attrs[a].name;

		if (strcmp(attr_name, "rcpt") != 0 &&
		    strcmp(attr_name, "done") != 0)
			continue;
		if (seen++ == i) {
			memcpy(attr_name, "done", 4);
			break;
		}
	}
	return 0;
}

int
queue_read_content(struct queue_file *q,
    int (*fn)(void *ctx, const char *data, size_t len), void *ctx)
{
	size_t image_len = q->image != NULL ? (size_t)q->file_size : 0;
	char *data = NULL;
	off_t off = q->content_offset;
	size_t chunk_len;
	int rc = -1;

	for (;;) {
		if (queue_chunk_header(q, q->image, image_len, &off,
		    &chunk_len) < 0)
			goto done;
		if (chunk_len == 0)
			break;
		while (chunk_len > 0) {
			size_t n = chunk_len < QUEUE_CHUNK ? chunk_len :
			    QUEUE_CHUNK;
			const char *piece = queue_image_at(q->image,
			    image_len, off, n);

			if (piece == NULL) {
				if (data == NULL)
					data = xmalloc(QUEUE_CHUNK);
				if (queue_pread(q->fd, data, n, off) < 0)
					goto done;
				piece = data;
			}
			if (fn(ctx, piece, n) < 0)
				goto done;
			off += (off_t)n;
			chunk_len -= n;
		}
	}
	rc = 0;
done:
	xfree(&data);
	return rc;
}

struct queue_copy {
	int fd;
	char last;
};

static int
queue_copy_piece(void *ctx, const char *data, size_t len)
{
	struct queue_copy *copy = ctx;

	if (len == 0)
		return 0;
	copy->last = data[len - 1];
	return io_write_all(copy->fd, data, len);
}

int
queue_copy_content(struct queue_file *q, int fd)
{
	struct queue_copy copy = { .fd = fd, .last = '\n' };

	if (queue_read_content(q, queue_copy_piece, &copy) < 0)
		return -1;
	if (copy.last != '\n')
		return io_write_all(fd, "\n", 1);
	return 0;
}

pid_t
queue_master_pid(const char *queue_dir)
{
	char *path = xasprintf("%s/pid/master.pid", queue_dir);
	struct buf *b = buf_new(64);
	long pid = 0;

	if (io_read_file(path, 64, b) == 0)
		pid = strtol(b->data, NULL, 10);
	buf_free(&b);
	xfree(&path);
	return pid > 0 ? (pid_t)pid : 0;
}
