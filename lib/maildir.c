/*
 * maildir.c - the Maildir writer local and virtual share (see maildir.h).
 *
 * Steps, each of which a crash may interrupt without losing or doubling
 * a message the queue still holds:
 *   1. create PATH/{tmp,new,cur} (0700, and missing parents) when tmp/
 *      or new/ is missing;
 *   2. write the prepended headers and the queue file's content into an
 *      unnamed file in tmp/ (O_TMPFILE), fsync;
 *   3. link it as new/UNIQUE, never replacing a file there, fsync new/.
 * Only after this returns 0 may the caller mark the recipient done. A
 * crash before step 3 leaves no name anywhere; the file system frees the
 * unnamed file.
 *
 * The unnamed file spares tmp/ a directory entry that is made, synced
 * and removed again for every message (fsync of a new file on ext4
 * without a journal writes its directory too). Where O_TMPFILE or hard
 * links are missing (NFS, some FUSE file systems) or /proc is, delivery
 * takes the classic way: create tmp/UNIQUE exclusively, write, fsync,
 * close (NFS reports quota at close), move to new/UNIQUE
 * (maildir_move()), fsync new/. A crash before the move leaves a file in
 * tmp/, which Maildir readers clean up after 36 hours.
 *
 * UNIQUE is "SECONDS.M<usec>P<pid>Q<counter>.<hostname>" as Dovecot and
 * the Maildir description suggest; "/" and ":" in the host name are
 * written as \057 and \072.
 *
 * Errors: a full disk, quota or I/O error is temporary (the queue
 * retries); a path that runs through a non-directory, a permission
 * problem, a name too long or a symlink loop is permanent (retrying
 * cannot help until an admin acts, and Postfix bounces these too). When
 * unsure: temporary.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "maildir.h"
#include "mem.h"

#define MAILDIR_NAME_TRIES	5

static unsigned long maildir_counter;

static bool
maildir_temporary(int error)
{
	switch (error) {
	case ENOTDIR:
	case EACCES:
	case EPERM:
	case ELOOP:
	case ENAMETOOLONG:
		return false;
	default:
		return true;	/* ENOSPC, EDQUOT, EIO, and the unknown */
	}
}

static int
maildir_fail(const char *what, const char *path, char **error_r,
    bool *temporary_r)
{
	int saved = errno;

	*error_r = xasprintf("%s %s: %s", what, path, strerror(saved));
	*temporary_r = maildir_temporary(saved);
	errno = saved;
	return -1;
}

/* The host name with "/" and ":" escaped, into out. */
static void
maildir_hostname(struct buf *out)
{
	char host[256];
	const char *p;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p != '\0'; p++) {
		if (*p == '/')
			(void)buf_add_str(out, "\\057");
		else if (*p == ':')
			(void)buf_add_str(out, "\\072");
		else
			(void)buf_add_char(out, *p);
	}
}

static char *
maildir_unique(void)
{
	struct timeval tv;
	struct buf name;
	char *unique;

	gettimeofday(&tv, NULL);
	buf_init(&name, 1024);
	(void)buf_printf(&name, "%lld.M%ldP%ldQ%lu.", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++maildir_counter);
	maildir_hostname(&name);
	unique = buf_strdup(&name);
	buf_release(&name);
	return unique;
}

static int
maildir_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int
maildir_make(const char *base, char **error_r, bool *temporary_r)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	struct stat st;
	size_t i;

	if (io_mkdirs(base, 0700) < 0)
		return maildir_fail("cannot create Maildir", base, error_r,
		    temporary_r);
	for (i = 0; i < 3; i++) {
		char *dir = xasprintf("%s/%s", base, subdirs[i]);
		int rc = mkdir(dir, 0700);

		if (rc < 0 && errno == EEXIST) {
			rc = stat(dir, &st);
			if (rc == 0 && !S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				rc = -1;
			}
		}
		if (rc < 0) {
			maildir_fail("cannot create Maildir directory", dir,
			    error_r, temporary_r);
			xfree(&dir);
			return -1;
		}
		xfree(&dir);
	}
	return 0;
}

/*
 * renameat2(RENAME_NOREPLACE) where the file system has it: one step,
 * where link() and unlink() cost two directory updates and two inode
 * updates. Else the Maildir way, link() then unlink(); else (no hard
 * links: some FUSE and DOS file systems) rename().
 */
static int
maildir_move(const char *tmp, const char *new_path)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, new_path,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (link(tmp, new_path) == 0) {
		(void)unlink(tmp);
		return 0;
	}
	if (errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP ||
	    errno == EMLINK)
		return rename(tmp, new_path);
	return -1;
}

/* Prepend and content into fd, then fsync. */
static int
maildir_write(int fd, const char *prepend, struct queue_file *q)
{
	if (prepend != NULL && io_write_all(fd, prepend, strlen(prepend)) < 0)
		return -1;
	if (queue_copy_content(q, fd) < 0)
		return -1;
	return fsync(fd);
}

/* What one delivery works with. */
struct maildir_job {
	const char *base;	/* the Maildir, no trailing "/" */
	const char *new_dir;
	const char *prepend;
	struct queue_file *q;
	bool made;		/* maildir_make() ran */
	char **error_r;
	bool *temporary_r;
};

/* Make the Maildir after ENOENT; callers do it once per delivery. */
static int
maildir_make_once(struct maildir_job *j)
{
	j->made = true;
	return maildir_make(j->base, j->error_r, j->temporary_r);
}

/* /proc/self/fd lets a process without CAP_DAC_READ_SEARCH link an
 * O_TMPFILE file (open(2)); a process without /proc uses tmp/ names. */
static bool
maildir_proc_fd(void)
{
	static int ok = -1;

	if (ok < 0)
		ok = access("/proc/self/fd", X_OK) == 0;
	return ok == 1;
}

/* Steps 2 and 3 with an unnamed file. Returns 0 (in new/), -1 (failed),
 * or 1 when this file system cannot do it (nothing is in new/). */
static int
maildir_deliver_unnamed(struct maildir_job *j)
{
	char *tmp_dir = xasprintf("%s/tmp", j->base), *unique = NULL;
	char *new_path = NULL, proc[64];
	int fd, tries, rc = -1;

	if (!maildir_proc_fd()) {
		xfree(&tmp_dir);
		return 1;
	}
	while ((fd = open(tmp_dir, O_TMPFILE | O_WRONLY | O_CLOEXEC,
	    0600)) < 0 && errno == ENOENT && !j->made)
		if (maildir_make_once(j) < 0)
			goto done;
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			rc = 1;
		else
			maildir_fail("cannot create a file in", tmp_dir,
			    j->error_r, j->temporary_r);
		goto done;
	}
	if (maildir_write(fd, j->prepend, j->q) < 0) {
		maildir_fail("cannot write a file in", tmp_dir, j->error_r,
		    j->temporary_r);
		goto done;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (tries = 0; rc < 0; tries++) {
		xfree(&unique);
		xfree(&new_path);
		unique = maildir_unique();
		new_path = xasprintf("%s/%s", j->new_dir, unique);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, new_path,
		    AT_SYMLINK_FOLLOW) == 0) {
			rc = 0;
		} else if (errno == ENOENT && !j->made) {
			/* tmp/ was there, new/ is not. */
			if (maildir_make_once(j) < 0)
				break;
		} else if (errno == EXDEV || errno == EPERM ||
		    errno == EMLINK || errno == EOPNOTSUPP) {
			rc = 1;		/* no hard links here */
		} else if (errno != EEXIST || tries + 1 >= MAILDIR_NAME_TRIES) {
			maildir_fail("cannot move message to", new_path,
			    j->error_r, j->temporary_r);
			break;
		}
	}
	if (close(fd) < 0 && rc == 0) {
		maildir_fail("cannot write", new_path, j->error_r,
		    j->temporary_r);
		(void)unlink(new_path);
		rc = -1;
	}
done:
	xfree(&new_path);
	xfree(&unique);
	xfree(&tmp_dir);
	return rc;
}

/* Steps 2 and 3 the classic way, through tmp/UNIQUE. */
static int
maildir_deliver_named(struct maildir_job *j)
{
	char *unique = NULL, *tmp = NULL, *new_path = NULL;
	int fd = -1, tries, rc = -1, moved;
	bool created = false;	/* tmp is ours to remove on failure */

	for (tries = 0; fd < 0 && tries < MAILDIR_NAME_TRIES; tries++) {
		xfree(&unique);
		xfree(&tmp);
		unique = maildir_unique();
		tmp = xasprintf("%s/tmp/%s", j->base, unique);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd < 0 && errno == ENOENT && !j->made) {
			/* A new mailbox: make it only now, not on every
			 * delivery (that costs four lookups and mkdirs). */
			if (maildir_make_once(j) < 0)
				goto done;
			tries--;
			continue;
		}
		if (fd < 0 && errno != EEXIST) {
			maildir_fail("cannot create", tmp, j->error_r,
			    j->temporary_r);
			goto done;
		}
	}
	if (fd < 0) {
		maildir_fail("cannot create", tmp, j->error_r, j->temporary_r);
		goto done;
	}
	created = true;
	if (maildir_write(fd, j->prepend, j->q) < 0) {
		maildir_fail("cannot write", tmp, j->error_r, j->temporary_r);
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		maildir_fail("cannot write", tmp, j->error_r, j->temporary_r);
		goto done;
	}
	fd = -1;

	new_path = xasprintf("%s/%s", j->new_dir, unique);
	moved = maildir_move(tmp, new_path);
	if (moved < 0 && errno == ENOENT && !j->made) {
		/* tmp/ was there, new/ is not. */
		if (maildir_make_once(j) < 0)
			goto done;
		moved = maildir_move(tmp, new_path);
	}
	if (moved < 0) {
		maildir_fail("cannot move message to", new_path, j->error_r,
		    j->temporary_r);
		goto done;
	}
	created = false;	/* delivered: nothing to clean up */
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (created)
		(void)unlink(tmp);
	xfree(&tmp);
	xfree(&new_path);
	xfree(&unique);
	return rc;
}

int
maildir_deliver(const char *path, const char *prepend,
    struct queue_file *q, char **error_r, bool *temporary_r)
{
	struct maildir_job j = {
		.prepend = prepend, .q = q,
		.error_r = error_r, .temporary_r = temporary_r,
	};
	size_t len = strlen(path);
	char *base, *new_dir;
	int rc;

	*error_r = NULL;
	*temporary_r = true;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0) {
		*error_r = xstrdup("empty Maildir path");
		*temporary_r = false;
		return -1;
	}
	j.base = base = xstrndup(path, len);
	j.new_dir = new_dir = xasprintf("%s/new", base);
	rc = maildir_deliver_unnamed(&j);
	if (rc > 0)
		rc = maildir_deliver_named(&j);
	if (rc == 0 && maildir_fsync_dir(new_dir) < 0) {
		/* The message is in new/ but may not survive a crash: the
		 * queue retries and the user may see it twice, which beats
		 * losing it. */
		maildir_fail("cannot fsync", new_dir, error_r, temporary_r);
		*temporary_r = true;
		rc = -1;
	}
	xfree(&new_dir);
	xfree(&base);
	return rc;
}
