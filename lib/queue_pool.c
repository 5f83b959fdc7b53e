/*
 * queue_pool.c - free/, the pool of emptied queue files (see queue_pool.h).
 *
 * Files in free/ are named by the queue ID of the message they last held
 * (unique: the ID contains the inode number). Several cleanup processes
 * claim from the pool at once: each reads up to QUEUE_POOL_BATCH names
 * per directory scan and claims one by renaming it away, so a name
 * another process took first fails with ENOENT and the next is tried.
 * All read the names in the same order, so each starts at a place of
 * its own in its batch (by pid) rather than racing for the first. A
 * scan that finds the pool empty is not repeated for
 * QUEUE_POOL_EMPTY_MS, so a quiet pool costs one readdir per interval,
 * not one per message.
 *
 * qmgr alone puts files back. It counts the pool when it starts and adds
 * what it puts; cleanup's claims go unseen, so when the count reaches
 * QUEUE_POOL_MAX it counts again (at most once per QUEUE_POOL_EMPTY_MS)
 * before it starts unlinking.
 *
 * Crash safety (see the invariant in queue_pool.h): the truncation comes
 * before the rename into free/, so on a journalling file system a file
 * reaches free/ only empty; a crash between the two leaves an empty file
 * in active/, which qmgr removes (queue_pool_put again) when it finds
 * one. cleanup's claim renames the file into incoming/ before the first
 * write and the commit fsyncs it, which on ext4 (journal), XFS and btrfs
 * makes the rename durable with it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "queue_pool.h"

#define QUEUE_POOL_DIR		"free"
#define QUEUE_POOL_BATCH	32
#define QUEUE_POOL_EMPTY_MS	1000
#define QUEUE_POOL_PATH_MAX	(sizeof(QUEUE_POOL_DIR) + QUEUE_ID_MAX + 1)

/* cleanup's batch of names from the last scan, tried from
 * queue_pool_first round to queue_pool_first - 1. */
static char queue_pool_names[QUEUE_POOL_BATCH][QUEUE_ID_MAX];
static size_t queue_pool_first, queue_pool_tried, queue_pool_count;
static int64_t queue_pool_empty_at = -QUEUE_POOL_EMPTY_MS;

/* qmgr's estimate of the files in free/. */
static size_t queue_pool_size;
static bool queue_pool_size_known;
static int64_t queue_pool_counted_at = -QUEUE_POOL_EMPTY_MS;

static bool
queue_pool_name_ok(const char *name)
{
	return strlen(name) < QUEUE_ID_MAX && queue_id_valid(name);
}

/* Read the next batch of names; false when there is none. */
static bool
queue_pool_scan(void)
{
	int64_t now = io_now_ms();
	/* Not readdir(): its 32 KiB getdents64 makes the kernel walk a
	 * full pool (some 800 entries) to give us QUEUE_POOL_BATCH. */
	char buf[QUEUE_POOL_BATCH * 64] __attribute__((aligned(8)));
	ssize_t n = 0;
	int fd;

	queue_pool_tried = queue_pool_count = 0;
	if (now - queue_pool_empty_at < QUEUE_POOL_EMPTY_MS)
		return false;
	fd = open(QUEUE_POOL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0 && queue_pool_count < QUEUE_POOL_BATCH &&
	    (n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n &&
		    queue_pool_count < QUEUE_POOL_BATCH; ) {
			const struct dirent64 *de =
			    (const struct dirent64 *)(buf + off);

			off += de->d_reclen;
			if (queue_pool_name_ok(de->d_name))
				memcpy(queue_pool_names[queue_pool_count++],
				    de->d_name, strlen(de->d_name) + 1);
		}
	}
	if (fd >= 0)
		close(fd);
	if (queue_pool_count == 0)
		queue_pool_empty_at = now;
	else
		queue_pool_first = (size_t)getpid() % queue_pool_count;
	return queue_pool_count > 0;
}

int
queue_pool_claim(const char *tmp_path)
{
	char from[QUEUE_POOL_PATH_MAX];
	struct stat st;
	bool scanned = false;
	int fd;

	for (;;) {
		if (queue_pool_tried == queue_pool_count) {
			/* One scan per call: its names may all be taken
			 * or leftovers. */
			if (scanned || !queue_pool_scan())
				return -1;
			scanned = true;
		}
		snprintf(from, sizeof(from), "%s/%s", QUEUE_POOL_DIR,
		    queue_pool_names[(queue_pool_first + queue_pool_tried++) %
		    queue_pool_count]);
		if (io_rename_new(from, tmp_path) < 0)
			continue;	/* another cleanup was first */
		fd = open(tmp_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;	/* an empty .tmp: qmgr removes it */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == 0 && st.st_nlink == 1)
			return fd;
		/* A crash's leftover (qmgr's to judge) or changed under us:
		 * give it back unread. */
		close(fd);
		if (rename(tmp_path, from) < 0)
			log_warn("rename %s %s: %m", tmp_path, from);
	}
}

/* Count free/ (qmgr): at start, and when the estimate says full. */
static void
queue_pool_recount(void)
{
	DIR *d = opendir(QUEUE_POOL_DIR);
	struct dirent *de;

	queue_pool_counted_at = io_now_ms();
	queue_pool_size = 0;
	queue_pool_size_known = true;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (queue_pool_name_ok(de->d_name))
			queue_pool_size++;
	closedir(d);
}

int
queue_pool_put(const char *path, int fd)
{
	const char *name = strrchr(path, '/');
	char to[QUEUE_POOL_PATH_MAX];

	name = name != NULL ? name + 1 : path;
	if (!queue_pool_size_known || (queue_pool_size >= QUEUE_POOL_MAX &&
	    io_now_ms() - queue_pool_counted_at >= QUEUE_POOL_EMPTY_MS))
		queue_pool_recount();
	if (queue_pool_size < QUEUE_POOL_MAX && fd >= 0 &&
	    queue_pool_name_ok(name)) {
		snprintf(to, sizeof(to), "%s/%s", QUEUE_POOL_DIR, name);
		if (ftruncate(fd, 0) == 0 && io_rename_new(path, to) == 0) {
			queue_pool_size++;
			return 0;
		}
		/* Emptied or not, the file is done with: unlink it. */
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* A non-empty file in free/: recover it as a message or empty it. */
static bool
queue_pool_recover_one(const char *name)
{
	char path[QUEUE_POOL_PATH_MAX], to[sizeof("incoming/") + QUEUE_ID_MAX];
	struct queue_file *q;
	const char *qid;
	bool recovered = false;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", QUEUE_POOL_DIR, name);
	if ((q = queue_open(path, false)) != NULL) {
		/* Complete: never emptied here, whatever happens next. */
		qid = queue_get(q, "qid");
		if (qid == NULL || !queue_id_valid(qid) ||
		    strlen(qid) >= QUEUE_ID_MAX) {
			log_warn("%s: complete queue file without a valid "
			    "queue ID: left alone", path);
		} else if (snprintf(to, sizeof(to), "incoming/%s", qid),
		    io_rename_new(path, to) == 0) {
			log_info("%s: recovered from %s", qid, path);
			recovered = true;
		} else {
			log_warn("%s: rename %s %s: %m", qid, path, to);
		}
		queue_close(&q);
		return recovered;
	}
	if (errno != EPROTO)
		return false;
	/* Not a complete message: nobody was ever told 250 for it. */
	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    ftruncate(fd, 0) < 0)
		log_warn("cannot empty %s: %m", path);
	else
		log_info("emptied incomplete queue file %s", path);
	if (fd >= 0)
		close(fd);
	return false;
}

size_t
queue_pool_recover(void)
{
	DIR *d = opendir(QUEUE_POOL_DIR);
	struct dirent *de;
	struct stat st;
	size_t count = 0;

	if (d == NULL) {
		if (errno != ENOENT)
			log_warn("open %s: %m", QUEUE_POOL_DIR);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_pool_name_ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size == 0)
			continue;
		if (st.st_nlink > 1) {
			/* A second name of a file that is elsewhere in the
			 * queue (a file system check after a crash may leave
			 * both names of a rename): drop this one. */
			if (unlinkat(dirfd(d), de->d_name, 0) < 0)
				log_warn("unlink %s/%s: %m", QUEUE_POOL_DIR,
				    de->d_name);
			continue;
		}
		if (queue_pool_recover_one(de->d_name))
			count++;
	}
	closedir(d);
	queue_pool_recount();
	return count;
}
