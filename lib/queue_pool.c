/*
 * queue_pool.c - free/, the pool of finished queue files (see
 * queue_pool.h).
 *
 * Files in free/ are named by the queue ID of the message they last held
 * (unique: the ID contains the inode number). Several cleanup processes
 * claim from the pool at once: each keeps up to QUEUE_POOL_BATCH names
 * per directory scan and tries them in turn; a name another cleanup has
 * written and moved on is gone (ENOENT), one it is writing is locked.
 * A scan reads one chunk of the directory, on from where the process's
 * last scan stopped, and starts over at the end: were every scan to read
 * the first chunk, all cleanups would fight over the same few hundred
 * files while the rest of a large pool sat unseen, and failed claims
 * would create files (measured: a third of all messages). Within a
 * chunk all see the same names in the same order, so if all took the
 * first names, each would find most of its batch gone (some five failed
 * opens per message with ten cleanups). So names are dealt into
 * QUEUE_POOL_LANES lanes by a hash of the name, a process takes the
 * names of its own lane (by pid) first and the others' only after
 * them, starting at a place of its own. Under load most files are in
 * flight and the few in free/ are fought over: a name found gone says
 * the batch is old (other cleanups took the rest too), so the claim
 * reads anew, once; a claim that finds QUEUE_POOL_TRIES names gone or
 * held gives up, and cleanup creates a file, which the pool keeps
 * afterwards, so it grows until claims rarely fail. A scan that finds
 * the pool empty is not repeated for QUEUE_POOL_EMPTY_MS, so a pool
 * that has run dry costs a few readdirs a second, not one per message;
 * short, because qmgr refills it within milliseconds under load, and
 * every file created meanwhile is one that qmgr will find the pool too
 * full to keep.
 *
 * qmgr alone puts files back. It counts the pool when it starts and adds
 * what it puts; cleanup's claims go unseen, so when the count reaches
 * QUEUE_POOL_MAX it counts again before it unlinks anything. A count
 * that finds the pool full holds for QUEUE_POOL_BATCH puts, not for a
 * time: under load cleanup drains a full pool quickly, and a pool that
 * kept unlinking while it drained would run dry, send cleanup back to
 * creating files and fill up again (measured: a quarter of all messages
 * created and unlinked a file).
 *
 * Crash safety (see the invariant in queue_pool.h): blanking, like a
 * truncation, changes only metadata (the blocks become unwritten
 * extents), so on a journalling file system it reaches the disk before
 * the rename into free/ that follows it: a file reaches free/ only
 * blank, and a crash between the two leaves a blank file in active/,
 * which qmgr removes (queue_pool_put again) when it finds one. Unwritten
 * extents read as zeros until the next message's data has reached them,
 * so a crash while a message is written never shows an earlier
 * message's bytes under the new envelope. The commit fsyncs the file in
 * free/ and renames it to incoming/ without a second flush: a crash that
 * loses the rename leaves the complete message in free/, where
 * queue_pool_recover() finds it. Without a journal (ext4 -O
 * ^has_journal) nothing is ordered: a crash may also leave a finished
 * message unblanked in free/, delivered once more after recovery.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "queue_pool.h"

#define QUEUE_POOL_BATCH	32
#define QUEUE_POOL_LANES	8
/* Names a claim tries before it creates a file instead. */
#define QUEUE_POOL_TRIES	3
#define QUEUE_POOL_EMPTY_MS	10
/* A batch older than this is mostly gone: read anew. */
#define QUEUE_POOL_STALE_MS	1000
/* Blocks of files up to this size stay with them in the pool. */
#define QUEUE_POOL_KEEP		(128 * 1024)

/* cleanup's batch of names from the last scan, in the order tried: the
 * own lane's, then the others'. */
static char queue_pool_names[QUEUE_POOL_BATCH][QUEUE_ID_MAX];
static size_t queue_pool_tried, queue_pool_count;
static int64_t queue_pool_scanned_at;
static int64_t queue_pool_empty_at = -QUEUE_POOL_EMPTY_MS;

/* qmgr's estimate of the files in free/. */
static size_t queue_pool_size;
static bool queue_pool_size_known;
static size_t queue_pool_unlinks_left;	/* before the next count */

static bool
queue_pool_name_ok(const char *name)
{
	return strlen(name) < QUEUE_ID_MAX && queue_id_valid(name);
}

static unsigned
queue_pool_lane(const char *name)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % QUEUE_POOL_LANES;
}

/* Append n names from names to the batch, starting at names[first % n]. */
static void
queue_pool_deal(char (*names)[QUEUE_ID_MAX], size_t n, size_t first)
{
	for (size_t i = 0; i < n && queue_pool_count < QUEUE_POOL_BATCH; i++) {
		const char *name = names[(first + i) % n];

		memcpy(queue_pool_names[queue_pool_count++], name,
		    strlen(name) + 1);
	}
}

/* free/, open for the whole life of a cleanup: its position is where
 * the next scan goes on. */
static int queue_pool_dir_fd = -1;

/* The next chunk of free/'s entries into buf, starting over once at the
 * end: its length, 0 when free/ is empty, or -1. */
static ssize_t
queue_pool_read(char *buf, size_t size)
{
	ssize_t n;

	if (queue_pool_dir_fd < 0 && (queue_pool_dir_fd = open(QUEUE_POOL_DIR,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	n = getdents64(queue_pool_dir_fd, buf, size);
	if (n == 0 && lseek(queue_pool_dir_fd, 0, SEEK_SET) == 0)
		n = getdents64(queue_pool_dir_fd, buf, size);
	return n;
}

/* Read the next batch of names; false when there is none. */
static bool
queue_pool_scan(void)
{
	int64_t now = io_now_ms();
	/* One getdents64 of about QUEUE_POOL_LANES batches: enough to fill
	 * ours, without making the kernel walk all of a full pool (as
	 * readdir()'s 32 KiB would). */
	char buf[QUEUE_POOL_BATCH * QUEUE_POOL_LANES * 48]
	    __attribute__((aligned(8)));
	char own[QUEUE_POOL_BATCH][QUEUE_ID_MAX];
	char other[QUEUE_POOL_BATCH][QUEUE_ID_MAX];
	size_t pid = (size_t)getpid(), owns = 0, others = 0;
	unsigned lane = (unsigned)(pid % QUEUE_POOL_LANES);
	ssize_t n;

	queue_pool_tried = queue_pool_count = 0;
	if (now - queue_pool_empty_at < QUEUE_POOL_EMPTY_MS)
		return false;
	queue_pool_scanned_at = now;
	if ((n = queue_pool_read(buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n && owns < QUEUE_POOL_BATCH; ) {
			const struct dirent64 *de =
			    (const struct dirent64 *)(buf + off);
			size_t len = strlen(de->d_name) + 1;

			off += de->d_reclen;
			if (!queue_pool_name_ok(de->d_name))
				continue;
			if (queue_pool_lane(de->d_name) == lane)
				memcpy(own[owns++], de->d_name, len);
			else if (others < QUEUE_POOL_BATCH)
				memcpy(other[others++], de->d_name, len);
		}
	}
	/* Processes sharing a lane start at different places in it. */
	queue_pool_deal(own, owns, pid / QUEUE_POOL_LANES);
	queue_pool_deal(other, others, pid);
	if (queue_pool_count == 0)
		queue_pool_empty_at = now;
	return queue_pool_count > 0;
}

/* Make fd's file no message: zeros where its bytes were, its blocks
 * kept (converted to unwritten extents, which read as zeros until
 * written again: a crash cannot show the old bytes under a new
 * message). A file over QUEUE_POOL_KEEP bytes, or one on a file system
 * without FALLOC_FL_ZERO_RANGE, is truncated instead. */
static int
queue_pool_blank(int fd)
{
	struct stat st;
	off_t len;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	/* Whole blocks: a partial one would be zeroed through the page
	 * cache, and written back, rather than converted. */
	len = st.st_blksize > 0 ? (st.st_size + st.st_blksize - 1) /
	    st.st_blksize * st.st_blksize : st.st_size;
	if (st.st_size <= QUEUE_POOL_KEEP && fallocate(fd,
	    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, len) == 0)
		return 0;
	return ftruncate(fd, 0);
}

/* What the last two bytes of a file of size bytes, open as fd, say. */
enum queue_pool_tail {
	QUEUE_POOL_BLANK,	/* empty, or ends with zeros: blanked */
	QUEUE_POOL_LEFTOVER,	/* no message, but bytes of one */
	QUEUE_POOL_MESSAGE,	/* may be a complete message: every queue
				 * file ends with an empty line */
};

static enum queue_pool_tail
queue_pool_tail(int fd, off_t size)
{
	char tail[2];

	if (size == 0)
		return QUEUE_POOL_BLANK;
	if (size < 2)
		return QUEUE_POOL_LEFTOVER;
	if (pread(fd, tail, sizeof(tail), size - 2) != 2 ||
	    memcmp(tail, "\n\n", 2) == 0)
		return QUEUE_POOL_MESSAGE;
	return tail[1] == '\0' ? QUEUE_POOL_BLANK : QUEUE_POOL_LEFTOVER;
}

/* Take free/name if it is a pool file nobody holds and no message: its
 * fd, locked, with its fstat() in *st, or -1 (errno ENOENT: gone). */
static int
queue_pool_take(const char *path, struct stat *st)
{
	struct stat named;
	enum queue_pool_tail tail;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;	/* another cleanup wrote it and moved it on */
	/* The lock is the claim: held until the message leaves free/ (or
	 * the file is blank again), dropped by the kernel if we die. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, st) < 0 ||
	    !S_ISREG(st->st_mode) || st->st_nlink != 1 ||
	    stat(path, &named) < 0 || named.st_ino != st->st_ino ||
	    named.st_dev != st->st_dev ||
	    (tail = queue_pool_tail(fd, st->st_size)) == QUEUE_POOL_MESSAGE ||
	    (tail == QUEUE_POOL_LEFTOVER && (queue_pool_blank(fd) < 0 ||
	    fstat(fd, st) < 0))) {
		/* Being written, maybe a message a crash left (qmgr's to
		 * judge), or taken, used and put back under another name
		 * since our open. */
		close(fd);
		errno = EBUSY;
		return -1;
	}
	/* A leftover (a cleanup died writing it) is blanked first, so
	 * that no byte of it can show under the new envelope. */
	return fd;
}

int
queue_pool_claim(char *path, size_t size, struct stat *st_r)
{
	bool scanned = false;
	int fd;

	if (io_now_ms() - queue_pool_scanned_at >= QUEUE_POOL_STALE_MS)
		queue_pool_tried = queue_pool_count;
	for (int tries = 0; tries < QUEUE_POOL_TRIES; tries++) {
		if (queue_pool_tried == queue_pool_count) {
			/* One scan per call: its names may all be taken
			 * or leftovers. */
			if (scanned || !queue_pool_scan())
				return -1;
			scanned = true;
		}
		if ((size_t)snprintf(path, size, "%s/%s", QUEUE_POOL_DIR,
		    queue_pool_names[queue_pool_tried++]) >= size)
			return -1;
		if ((fd = queue_pool_take(path, st_r)) >= 0)
			return fd;
		if (errno == ENOENT && !scanned)
			queue_pool_tried = queue_pool_count;	/* old batch */
	}
	return -1;
}

bool
queue_pool_is_blank(int fd)
{
	char data[8192];
	struct stat st;
	off_t off = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size > QUEUE_POOL_KEEP)
		return false;
	while (off < st.st_size &&
	    (n = pread(fd, data, sizeof(data), off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (data[i] != '\0')
				return false;
		off += n;
	}
	return off >= st.st_size;
}

int
queue_pool_release(const char *path, int fd)
{
	int rc = queue_pool_blank(fd);

	if (rc < 0)
		log_warn("cannot blank %s: %m", path);
	close(fd);
	return rc;
}

/* Count free/ (qmgr): at start, and when the estimate says full. */
static void
queue_pool_recount(void)
{
	DIR *d = opendir(QUEUE_POOL_DIR);
	struct dirent *de;

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
	    queue_pool_unlinks_left == 0)) {
		queue_pool_recount();
		queue_pool_unlinks_left = queue_pool_size >= QUEUE_POOL_MAX ?
		    QUEUE_POOL_BATCH : 0;
	}
	if (queue_pool_size < QUEUE_POOL_MAX && fd >= 0 &&
	    queue_pool_name_ok(name)) {
		snprintf(to, sizeof(to), "%s/%s", QUEUE_POOL_DIR, name);
		if (queue_pool_blank(fd) == 0 &&
		    io_rename_new(path, to) == 0) {
			queue_pool_size++;
			return 0;
		}
		/* Blanked or not, the file is done with: unlink it. */
	} else if (queue_pool_size >= QUEUE_POOL_MAX) {
		queue_pool_unlinks_left--;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* A non-empty file in free/: recover it as a message or empty it,
 * unless a cleanup holds it (a message being written) or qmgr blanked
 * it. */
static bool
queue_pool_recover_one(const char *name)
{
	char path[QUEUE_POOL_PATH_MAX], to[sizeof("incoming/") + QUEUE_ID_MAX];
	struct queue_file *q;
	const char *qid;
	bool recovered = false;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", QUEUE_POOL_DIR, name);
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || queue_pool_is_blank(fd)) {
		close(fd);
		return false;
	}
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
	} else if (errno == EPROTO) {
		/* Not a complete message: nobody was ever told 250 for
		 * it. */
		if (ftruncate(fd, 0) < 0)
			log_warn("cannot empty %s: %m", path);
		else
			log_info("emptied incomplete queue file %s", path);
	}
	close(fd);
	return recovered;
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
