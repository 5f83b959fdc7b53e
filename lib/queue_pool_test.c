/*
 * queue_pool_test.c - tests for lib/queue_pool.c: a finished file goes to
 * free/ blanked and comes back as the next message; a file a cleanup
 * holds is left alone; what a crash leaves in free/ is recovered or
 * emptied, never claimed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "mem.h"
#include "queue.h"
#include "queue_pool.h"
#include "rec.h"
#include "testing.h"

static char top[] = "/tmp/queue_pool_test.XXXXXX";

/* Queue a message with content body; its queue ID in qid. */
static void
commit_message(const char *body, char qid[QUEUE_ID_MAX])
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();

	qid[0] = '\0';
	CHECK(w != NULL);
	if (w == NULL)
		return;
	rec_put(env, "sender", "a@example.com");
	rec_put(env, "rcpt", "b@example.com");
	snprintf(qid, QUEUE_ID_MAX, "%s", queue_writer_id(w));
	CHECK(queue_write_envelope(w, env) == 0);
	CHECK(queue_write_content(w, body, strlen(body)) == 0);
	CHECK(queue_commit(&w) == 0);
	rec_free(&env);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static ino_t
file_ino(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void
write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && io_write_all(fd, data, strlen(data)) == 0);
	if (fd >= 0)
		close(fd);
}

static int
claim(char *path, size_t size)
{
	struct stat st;

	return queue_pool_claim(path, size, &st);
}

/* A file that is no message: empty, or zeros throughout. */
static bool
blank(const char *path)
{
	char data[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	bool zeros = fd >= 0;

	while (fd >= 0 && (n = read(fd, data, sizeof(data))) > 0)
		for (ssize_t i = 0; i < n; i++)
			zeros = zeros && data[i] == '\0';
	if (fd >= 0)
		close(fd);
	return zeros;
}

static int
collect(void *ctx, const char *data, size_t len)
{
	return buf_add(ctx, data, len);
}

static void
test_put_and_claim(void)
{
	char qid1[QUEUE_ID_MAX], qid2[QUEUE_ID_MAX], a[80], b[80];
	struct queue_file *q;
	struct buf *content = buf_new(1024);
	ino_t ino;

	commit_message("one, the longer\n", qid1);
	snprintf(a, sizeof(a), "incoming/%s", qid1);
	snprintf(b, sizeof(b), "active/%s", qid1);
	CHECK(rename(a, b) == 0);
	ino = file_ino(b);
	q = queue_open(b, true);
	CHECK(q != NULL);
	CHECK(queue_pool_put(b, q->fd) == 0);
	queue_close(&q);
	CHECK(access(b, F_OK) < 0 && errno == ENOENT);
	snprintf(a, sizeof(a), "free/%s", qid1);
	CHECK(blank(a) && file_ino(a) == ino);

	/* The next message reuses the file, under a new queue ID (once the
	 * first commit's look at an empty pool is a few milliseconds old),
	 * and ends where its own end record does. */
	usleep(20 * 1000);
	commit_message("two\n", qid2);
	CHECK(strcmp(qid1, qid2) != 0);
	CHECK(access(a, F_OK) < 0 && errno == ENOENT);
	snprintf(b, sizeof(b), "incoming/%s", qid2);
	CHECK(file_ino(b) == ino);
	q = queue_open(b, false);
	CHECK(q != NULL);
	if (q != NULL) {
		CHECK_STR(queue_get(q, "qid"), qid2);
		CHECK(queue_read_content(q, collect, content) == 0);
		CHECK(content->len == 4 && memcmp(content->data, "two\n",
		    4) == 0);
		queue_close(&q);
	}

	/* Without a descriptor the file is unlinked. */
	CHECK(queue_pool_put(b, -1) == 0);
	CHECK(access(b, F_OK) < 0 && errno == ENOENT);
	CHECK(access(a, F_OK) < 0 && errno == ENOENT);
	buf_free(&content);
}

static void
test_claim_skips_messages_and_held(void)
{
	char path[QUEUE_POOL_PATH_MAX], zeros[100] = { 0 };
	int fd, held, zero_fd;

	/* Ends like a message (an empty line): recovery's to judge. */
	write_file("free/ABC1", "proto=queue/1\n\n");
	write_file("free/ABC2", "");
	write_file("free/.hidden", "");
	fd = claim(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_STR(path, "free/ABC2");
	/* Held: another claim does not take it. */
	CHECK(claim(path, sizeof(path)) == -1);
	CHECK(queue_pool_release("free/ABC2", fd) == 0);
	/* Neither the leftover nor a name that is no queue ID. */
	CHECK(file_size("free/ABC1") == 15);
	CHECK(file_size("free/.hidden") == 0);
	CHECK(unlink("free/.hidden") == 0);

	/* A blanked file is claimed; one another process holds is not. */
	zero_fd = open("free/ABC3", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(zero_fd >= 0 && io_write_all(zero_fd, zeros,
	    sizeof(zeros)) == 0);
	held = open("free/ABC2", O_RDWR);
	CHECK(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0);
	sleep(1);	/* the last scan's names are stale */
	fd = claim(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_STR(path, "free/ABC3");
	if (fd >= 0)
		close(fd);
	if (held >= 0)
		close(held);
	if (zero_fd >= 0)
		close(zero_fd);
	CHECK(unlink("free/ABC2") == 0 && unlink("free/ABC3") == 0);
}

/* A claim that finds names held gives up after a few (cleanup then
 * creates a file) and goes on with the rest of its batch next time. */
static void
test_claim_gives_up(void)
{
	char path[QUEUE_POOL_PATH_MAX], name[32];
	int held[5], fd = -1, calls;

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "free/ABD%d", i);
		write_file(name, "");
		held[i] = open(name, O_RDWR);
		CHECK(held[i] >= 0 && flock(held[i], LOCK_EX | LOCK_NB) == 0);
	}
	sleep(1);	/* the last scan's names are stale */
	CHECK(claim(path, sizeof(path)) == -1);
	close(held[3]);
	for (calls = 1; calls <= 3 && fd < 0; calls++)
		fd = claim(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_STR(path, "free/ABD3");
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 5; i++) {
		if (i != 3)
			close(held[i]);
		snprintf(name, sizeof(name), "free/ABD%d", i);
		CHECK(unlink(name) == 0);
	}
}

/* What a cleanup that died while writing left (no message: it does not
 * end with an empty line) is claimed, and blanked before it is used. */
static void
test_claim_blanks_leftover(void)
{
	char path[QUEUE_POOL_PATH_MAX];
	int fd;

	write_file("free/ABC5", "proto=queue/1\nqid=ABC5\n\n5\nhel");
	sleep(1);	/* the last scan's names are stale */
	fd = claim(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_STR(path, "free/ABC5");
	CHECK(blank("free/ABC5"));
	if (fd >= 0)
		close(fd);
	CHECK(unlink("free/ABC5") == 0);
}

/* A message given up (abort) leaves its pool file blanked, claimable. */
static void
test_abort_returns_file(void)
{
	char path[QUEUE_POOL_PATH_MAX];
	struct queue_writer *w;
	struct rec *env = rec_new();
	int fd;

	write_file("free/ABC4", "");
	sleep(1);	/* the last scan's names are stale */
	w = queue_create();
	CHECK(w != NULL);
	rec_put(env, "sender", "a@example.com");
	CHECK(queue_write_envelope(w, env) == 0);
	CHECK(queue_write_content(w, "given up\n", 9) == 0);
	queue_abort(&w);
	rec_free(&env);
	CHECK(blank("free/ABC4"));
	sleep(1);	/* the last scan's names are stale */
	fd = claim(path, sizeof(path));
	CHECK(fd >= 0);
	CHECK_STR(path, "free/ABC4");
	if (fd >= 0)
		close(fd);
	CHECK(unlink("free/ABC4") == 0);
}

static void
test_recover(void)
{
	char qid[QUEUE_ID_MAX], qid2[QUEUE_ID_MAX], a[80], b[80];

	/* A committed message whose commit rename a crash undid. */
	commit_message("three\n", qid);
	snprintf(a, sizeof(a), "incoming/%s", qid);
	snprintf(b, sizeof(b), "free/%s", qid);
	CHECK(rename(a, b) == 0);
	/* A second name of a message that is in the queue as well. */
	commit_message("four\n", qid2);
	snprintf(a, sizeof(a), "incoming/%s", qid2);
	snprintf(b, sizeof(b), "free/%s", qid2);
	CHECK(link(a, b) == 0);

	CHECK(queue_pool_recover() == 1);
	snprintf(a, sizeof(a), "incoming/%s", qid);
	CHECK(file_size(a) > 0);
	snprintf(b, sizeof(b), "free/%s", qid);
	CHECK(access(b, F_OK) < 0);
	snprintf(a, sizeof(a), "incoming/%s", qid2);
	snprintf(b, sizeof(b), "free/%s", qid2);
	CHECK(file_size(a) > 0 && access(b, F_OK) < 0);
	/* An incomplete leftover (from the test above) is emptied. */
	CHECK(file_size("free/ABC1") == 0);
}

/* A complete message that a cleanup still holds is being written:
 * recovery leaves it alone. */
static void
test_recover_skips_held(void)
{
	char qid[QUEUE_ID_MAX], a[80], b[80];
	int held;

	commit_message("six\n", qid);
	snprintf(a, sizeof(a), "incoming/%s", qid);
	snprintf(b, sizeof(b), "free/%s", qid);
	CHECK(rename(a, b) == 0);
	held = open(b, O_RDWR);
	CHECK(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0);
	CHECK(queue_pool_recover() == 0);
	CHECK(access(b, F_OK) == 0 && access(a, F_OK) < 0);
	if (held >= 0)
		close(held);
	CHECK(queue_pool_recover() == 1);
	CHECK(access(a, F_OK) == 0);
	CHECK(unlink(a) == 0);
}

/* Scans go on through a large pool instead of reading its first names
 * again: with every name of the last batch held, the next claim finds
 * other files. */
static void
test_scan_goes_on(void)
{
	char path[QUEUE_POOL_PATH_MAX], name[32], first[33][QUEUE_POOL_PATH_MAX];
	int fds[33], n = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "free/C%05X", (unsigned)i);
		write_file(name, "");
	}
	sleep(1);	/* the last scan's names are stale */
	for (n = 0; n < 33; n++) {
		fds[n] = claim(path, sizeof(path));
		CHECK(fds[n] >= 0);
		if (fds[n] < 0)
			break;
		snprintf(first[n], sizeof(first[n]), "%s", path);
		for (int j = 0; j < n; j++)
			CHECK(strcmp(first[j], path) != 0);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "free/C%05X", (unsigned)i);
		CHECK(unlink(name) == 0);
	}
}

/* Put a newly committed message back, as qmgr does when it is done
 * with it; its queue ID in qid. */
static void
finish_message(const char *body, char qid[QUEUE_ID_MAX])
{
	char a[80], b[80];
	struct queue_file *q;

	commit_message(body, qid);
	snprintf(a, sizeof(a), "incoming/%s", qid);
	snprintf(b, sizeof(b), "active/%s", qid);
	CHECK(rename(a, b) == 0);
	q = queue_open(b, true);
	CHECK(q != NULL);
	CHECK(queue_pool_put(b, q != NULL ? q->fd : -1) == 0);
	queue_close(&q);
	CHECK(access(b, F_OK) < 0);
}

static void
test_pool_full(void)
{
	char name[32], qid[QUEUE_ID_MAX], a[80];

	for (int i = 0; i < QUEUE_POOL_MAX; i++) {
		snprintf(name, sizeof(name), "free/F%05X", (unsigned)i);
		write_file(name, "");
	}
	CHECK(queue_pool_recover() == 0);	/* counts the pool */
	/* Files claimed since (qmgr does not see claims): a count that
	 * reaches the limit is checked before anything is unlinked. */
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "free/F%05X", (unsigned)i);
		CHECK(unlink(name) == 0);
	}
	finish_message("five\n", qid);
	snprintf(a, sizeof(a), "free/%s", qid);
	CHECK(access(a, F_OK) == 0);

	/* Really full (one more than the pool holds: the commit takes
	 * one): the file is unlinked. */
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "free/E%05X", (unsigned)i);
		write_file(name, "");
	}
	CHECK(queue_pool_recover() == 0);
	finish_message("six\n", qid);
	snprintf(a, sizeof(a), "free/%s", qid);
	CHECK(access(a, F_OK) < 0);

	/* cleanup drains the pool meanwhile: within a few dozen puts, not
	 * after a pause, qmgr counts again and keeps files again. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "free/F%05X", (unsigned)i + 8);
		CHECK(unlink(name) == 0);
	}
	for (int i = 0; i < 64 && access(a, F_OK) < 0; i++) {
		finish_message("seven\n", qid);
		snprintf(a, sizeof(a), "free/%s", qid);
	}
	CHECK(access(a, F_OK) == 0);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

int
main(void)
{
	if (mkdtemp(top) == NULL || chdir(top) < 0 ||
	    queue_make_dirs(".", (uid_t)-1, (gid_t)-1) < 0) {
		perror(top);
		return 1;
	}
	TEST_RUN(test_put_and_claim);
	TEST_RUN(test_claim_skips_messages_and_held);
	TEST_RUN(test_claim_gives_up);
	TEST_RUN(test_claim_blanks_leftover);
	TEST_RUN(test_abort_returns_file);
	TEST_RUN(test_scan_goes_on);
	TEST_RUN(test_recover);
	TEST_RUN(test_recover_skips_held);
	TEST_RUN(test_pool_full);
	if (chdir("/") == 0)
		nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_DONE();
}
