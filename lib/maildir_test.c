/*
 * maildir_test.c - tests for lib/maildir.c: a queue file written with
 * lib/queue delivered into fresh and existing Maildirs (through an
 * unnamed file, and the classic tmp/ way where /proc is missing), and the
 * permanent failures a broken path gives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

static char top[] = "/tmp/maildir_test.XXXXXX";

static const char content[] = "Subject: test\n\nline one\nlast line no LF";

static struct queue_file *
make_message(void)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();
	struct queue_file *q;
	char *path;

	CHECK(w != NULL);
	if (w == NULL) {
		rec_free(&env);
		return NULL;
	}
	rec_put(env, "arrival", "1700000000");
	rec_put(env, "sender", "a@example.com");
	rec_put(env, "rcpt", "b@example.com");
	CHECK(queue_write_envelope(w, env) == 0);
	CHECK(queue_write_content(w, content, strlen(content)) == 0);
	path = xasprintf("incoming/%s", queue_writer_id(w));
	CHECK(queue_commit(&w) == 0);
	q = queue_open(path, false);
	CHECK(q != NULL);
	xfree(&path);
	rec_free(&env);
	return q;
}

/* The names in dir (NULL-free count), first one into *first_r. */
static int
list_dir(const char *dir, char **first_r)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int count = 0;

	if (first_r != NULL)
		*first_r = NULL;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (count++ == 0 && first_r != NULL)
			*first_r = xstrdup(e->d_name);
	}
	closedir(d);
	return count;
}

static void
check_mode(const char *path, mode_t want)
{
	struct stat st;

	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == want);
}

/* Set dir's mtime to an old time, so that a later change shows. */
static void
age_dir(const char *dir)
{
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	CHECK(utimensat(AT_FDCWD, dir, old, 0) == 0);
}

static bool
dir_changed(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && st.st_mtim.tv_sec != 1000000000;
}

/* Deliver into maildir (made already) and report whether tmp/ saw a
 * name come and go. */
static bool
deliver_touches_tmp(const char *maildir, struct queue_file *q)
{
	char *tmp = xasprintf("%s/tmp", maildir), *error = NULL;
	bool temporary, touched;

	age_dir(tmp);
	CHECK(maildir_deliver(maildir, NULL, q, &error, &temporary) == 0);
	if (error != NULL)
		fprintf(stderr, "  %s\n", error);
	xfree(&error);
	touched = dir_changed(tmp);
	CHECK(list_dir(tmp, NULL) == 0);
	xfree(&tmp);
	return touched;
}

/* Without /proc (here a mount namespace with an empty /proc) the file is
 * written the classic way, through a name in tmp/. First of the tests:
 * a process decides this once, at its first delivery. */
static void
test_classic_without_proc(void)
{
	struct queue_file *q;
	char *maildir;
	pid_t pid;
	int status = -1;

	if (geteuid() != 0) {
		fprintf(stderr, "  skipped: hiding /proc needs root\n");
		return;
	}
	if ((q = make_message()) == NULL)
		return;
	maildir = xasprintf("%s/classic", top);
	pid = fork();
	if (pid == 0) {
		char *error = NULL, *newdir = xasprintf("%s/new", maildir);
		bool temporary;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("none", "/proc", "tmpfs", 0, NULL) < 0)
			_exit(2);
		/* The first delivery makes the Maildir, the second shows
		 * the way. */
		if (maildir_deliver(maildir, NULL, q, &error, &temporary) < 0)
			_exit(3);
		_exit(deliver_touches_tmp(maildir, q) &&
		    list_dir(newdir, NULL) == 2 ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	xfree(&maildir);
	queue_close(&q);
}

static void
test_failures(void)
{
	struct queue_file *q = make_message();
	char *error = NULL, *file, *path, *maildir, *newfile;
	bool temporary = true;

	if (q == NULL)
		return;
	CHECK(maildir_deliver("", NULL, q, &error, &temporary) < 0);
	CHECK(!temporary && error != NULL);
	xfree(&error);

	/* A path through a regular file. */
	file = xasprintf("%s/plainfile", top);
	CHECK(io_write_file_atomic(file, "x", 1, 0600) == 0);
	path = xasprintf("%s/Maildir/", file);
	temporary = true;
	CHECK(maildir_deliver(path, NULL, q, &error, &temporary) < 0);
	CHECK(!temporary);
	CHECK(error != NULL && strstr(error, strerror(ENOTDIR)) != NULL);
	xfree(&error);

	/* tmp/ without new/ and cur/: completed, then delivered. */
	maildir = xasprintf("%s/half", top);
	CHECK(mkdir(maildir, 0700) == 0);
	newfile = xasprintf("%s/tmp", maildir);
	CHECK(mkdir(newfile, 0700) == 0);
	xfree(&newfile);
	CHECK(maildir_deliver(maildir, NULL, q, &error, &temporary) == 0);
	CHECK(error == NULL);
	newfile = xasprintf("%s/cur", maildir);
	CHECK(access(newfile, F_OK) == 0);
	xfree(&newfile);
	xfree(&maildir);

	/* new/ is a file. */
	maildir = xasprintf("%s/broken", top);
	CHECK(mkdir(maildir, 0700) == 0);
	newfile = xasprintf("%s/new", maildir);
	CHECK(io_write_file_atomic(newfile, "x", 1, 0600) == 0);
	temporary = true;
	CHECK(maildir_deliver(maildir, NULL, q, &error, &temporary) < 0);
	CHECK(!temporary);
	CHECK(error != NULL && strstr(error, "/broken/new") != NULL);
	xfree(&error);
	unlink(newfile);

	/* Permission problems are permanent. As root, try it as nobody in
	 * a child: top is 0700 and root's. */
	if (geteuid() == 0) {
		pid_t pid = fork();
		int status = -1;

		if (pid == 0) {
			char *inside = xasprintf("%s/locked/Maildir", top);

			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(2);
			temporary = true;
			_exit(maildir_deliver(inside, NULL, q, &error,
			    &temporary) < 0 && !temporary &&
			    strstr(error, strerror(EACCES)) != NULL ? 0 : 1);
		}
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	} else {
		char *locked = xasprintf("%s/locked", top), *inside;

		CHECK(mkdir(locked, 0500) == 0);
		inside = xasprintf("%s/Maildir", locked);
		temporary = true;
		CHECK(maildir_deliver(inside, NULL, q, &error, &temporary) < 0);
		CHECK(!temporary);
		xfree(&error);
		rmdir(locked);
		xfree(&inside);
		xfree(&locked);
	}
	xfree(&newfile);
	xfree(&maildir);
	xfree(&path);
	unlink(file);
	xfree(&file);
	queue_close(&q);
}

static void
test_deliver(void)
{
	static const char prepend[] = "Return-Path: <a@example.com>\n"
	    "Delivered-To: b@example.com\n";
	struct queue_file *q = make_message();
	char *error = NULL, *maildir, *path, *dir, *name = NULL, *file;
	char *second = NULL, host[256];
	bool temporary = false;
	struct buf *got = buf_new(1 << 20);
	struct stat st;

	if (q == NULL) {
		buf_free(&got);
		return;
	}
	/* Missing parents are created too. */
	maildir = xasprintf("%s/home/bob/Maildir", top);
	path = xasprintf("%s/", maildir);
	CHECK(maildir_deliver(path, prepend, q, &error, &temporary) == 0);
	CHECK(error == NULL);
	if (error != NULL)
		fprintf(stderr, "  %s\n", error);
	xfree(&error);
	check_mode(maildir, 0700);
	dir = xasprintf("%s/tmp", maildir);
	check_mode(dir, 0700);
	CHECK(list_dir(dir, NULL) == 0);
	xfree(&dir);
	dir = xasprintf("%s/cur", maildir);
	check_mode(dir, 0700);
	CHECK(list_dir(dir, NULL) == 0);
	xfree(&dir);
	dir = xasprintf("%s/new", maildir);
	CHECK(list_dir(dir, &name) == 1);
	if (name != NULL) {
		char *pid = xasprintf("P%ldQ", (long)getpid());
		const char *dot = strchr(name, '.');

		CHECK(strstr(name, ".M") == dot);
		CHECK(strstr(name, pid) != NULL);
		CHECK(gethostname(host, sizeof(host)) == 0);
		host[sizeof(host) - 1] = '\0';
		if (strchr(host, '/') == NULL && strchr(host, ':') == NULL) {
			size_t n = strlen(name), h = strlen(host);

			CHECK(n > h && strcmp(name + n - h, host) == 0 &&
			    name[n - h - 1] == '.');
		}
		xfree(&pid);
		file = xasprintf("%s/%s", dir, name);
		CHECK(io_read_file(file, 1 << 20, got) == 0);
		CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600 &&
		    st.st_nlink == 1);
		{
			char *want = xasprintf("%s%s\n", prepend, content);

			CHECK_STR(got->data, want);
			xfree(&want);
		}
		xfree(&file);
	}
	/* A second delivery into the now existing Maildir gets its own
	 * name; no prepend. */
	CHECK(maildir_deliver(maildir, NULL, q, &error, &temporary) == 0);
	xfree(&error);
	CHECK(list_dir(dir, &second) == 2);
	xfree(&second);
	/* The file was unnamed until it went into new/: tmp/ never changed. */
	CHECK(!deliver_touches_tmp(maildir, q));
	CHECK(list_dir(dir, NULL) == 3);
	xfree(&name);
	xfree(&dir);
	xfree(&path);
	xfree(&maildir);
	buf_free(&got);
	queue_close(&q);
}

static int
remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return remove(path);
}

int
main(void)
{
	char *queue_dir;
	int rc;

	log_init("maildir_test", true);
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	queue_dir = xasprintf("%s/queue", top);
	if (queue_make_dirs(queue_dir, (uid_t)-1, (gid_t)-1) < 0 ||
	    chdir(queue_dir) < 0) {
		perror(queue_dir);
		return 1;
	}
	TEST_RUN(test_classic_without_proc);
	TEST_RUN(test_failures);
	TEST_RUN(test_deliver);
	xfree(&queue_dir);
	rc = TEST_DONE();
	if (rc == 0)
		(void)nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
