/*
 * queue_pool_test.c - tests for lib/queue_pool.c: a finished file goes to
 * free/ emptied and comes back as the next message; what a crash leaves
 * in free/ is recovered or emptied, never claimed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

	commit_message("one\n", qid1);
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
	CHECK(file_size(a) == 0 && file_ino(a) == ino);

	/* The next message reuses the file, under a new queue ID (once the
	 * first commit's look at an empty pool is a second old). */
	sleep(1);
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
test_claim_skips_nonempty(void)
{
	int fd;

	write_file("free/ABC1", "proto=queue/1\n");
	write_file("free/ABC2", "");
	write_file("free/.hidden", "");
	fd = queue_pool_claim("incoming/.tmp.1.1");
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(access("free/ABC2", F_OK) < 0);
	CHECK(file_size("incoming/.tmp.1.1") == 0);
	/* Neither the leftover nor a name that is no queue ID. */
	CHECK(queue_pool_claim("incoming/.tmp.1.2") == -1);
	CHECK(file_size("free/ABC1") == 14);
	CHECK(file_size("free/.hidden") == 0);
	CHECK(unlink("incoming/.tmp.1.1") == 0);
	CHECK(unlink("free/.hidden") == 0);
}

static void
test_recover(void)
{
	char qid[QUEUE_ID_MAX], qid2[QUEUE_ID_MAX], a[80], b[80];

	/* A committed message whose claim rename a crash undid. */
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

static void
test_pool_full(void)
{
	char name[32], qid[QUEUE_ID_MAX], a[80], b[80];
	struct queue_file *q;

	for (int i = 0; i < QUEUE_POOL_MAX; i++) {
		snprintf(name, sizeof(name), "free/F%05X", (unsigned)i);
		write_file(name, "");
	}
	CHECK(queue_pool_recover() == 0);	/* counts the pool */
	commit_message("five\n", qid);
	snprintf(a, sizeof(a), "incoming/%s", qid);
	snprintf(b, sizeof(b), "active/%s", qid);
	CHECK(rename(a, b) == 0);
	q = queue_open(b, true);
	CHECK(q != NULL);
	CHECK(queue_pool_put(b, q != NULL ? q->fd : -1) == 0);
	queue_close(&q);
	snprintf(a, sizeof(a), "free/%s", qid);
	CHECK(access(b, F_OK) < 0 && access(a, F_OK) < 0);
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
	TEST_RUN(test_claim_skips_nonempty);
	TEST_RUN(test_recover);
	TEST_RUN(test_pool_full);
	if (chdir("/") == 0)
		nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_DONE();
}
