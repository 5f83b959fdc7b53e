/*
 * queue_test.c - tests for lib/queue.c, in a fresh temporary queue
 * directory (the test chdirs into it, as every daemon does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

static char top[] = "/tmp/queue_test.XXXXXX";

static void
test_id_valid(void)
{
	static const struct {
		const char *id;
		bool want;
	} cases[] = {
		{ "", false },
		{ ".tmp.1.2", false },
		{ "../etc", false },
		{ "ABC/DEF", false },
		{ "ABCG", false },
		{ "ALL", false },
		{ "0123456789ABCDEF0123456789ABCDEF01234567", false },
		{ "0123456789ABCDEF0123456789ABCDEF0123456", true },
		{ "06563A1F2000F1A2B", true },
		{ "abcdef0", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(queue_id_valid(cases[i].id) == cases[i].want);
}

static void
test_make_dirs(void)
{
	static const struct {
		const char *path;
		mode_t mode;
	} want[] = {
		{ "q", 0711 }, { "q/incoming", 0700 }, { "q/active", 0700 },
		{ "q/deferred", 0700 }, { "q/hold", 0700 },
		{ "q/corrupt", 0700 }, { "q/free", 0700 },
		{ "q/maildrop", 01733 },
		{ "q/private", 0700 }, { "q/public", 0711 },
		{ "q/pid", 0700 }, { "q/log", 0700 },
	};
	mode_t old = umask(077);
	struct stat st;

	CHECK(queue_make_dirs("q", (uid_t)-1, (gid_t)-1) == 0);
	CHECK(queue_make_dirs("q", (uid_t)-1, (gid_t)-1) == 0);	/* again */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(stat(want[i].path, &st) == 0 && S_ISDIR(st.st_mode));
		if ((st.st_mode & 07777) != want[i].mode)
			fprintf(stderr, "%s: mode %o\n", want[i].path,
			    st.st_mode & 07777);
		CHECK((st.st_mode & 07777) == want[i].mode);
	}
	CHECK(queue_make_dirs("q2/deeper", getuid(), getgid()) == 0);
	CHECK(stat("q2/deeper/maildrop", &st) == 0 && st.st_uid == getuid());
	/* A symlink where a directory should be is refused. */
	CHECK(mkdir("q3", 0700) == 0 && symlink("/tmp", "q3/incoming") == 0);
	CHECK(queue_make_dirs("q3", (uid_t)-1, (gid_t)-1) == -1);
	umask(old);
}

static void
make_envelope(struct rec *env)
{
	rec_put(env, "proto", "ignored/9");	/* replaced by ours */
	rec_put(env, "arrival", "1700000000");
	rec_put(env, "sender", "");
	rec_put(env, "helo", "client.example\r\nX");
	rec_put(env, "rcpt", "a@example.com");
	rec_put(env, "orcpt", "rfc822;A@example.com");
	rec_put(env, "notify", "FAILURE,DELAY");
	rec_put(env, "rcpt", "b@example.com");
	rec_put(env, "rcpt", "c@example.com");
	rec_put(env, "notify", "NEVER");
}

/* Write a message and return its path (fresh string). */
static char *
write_message(const char *content, size_t len, size_t piece)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();
	char *path;

	CHECK(w != NULL);
	make_envelope(env);
	CHECK(queue_write_envelope(w, env) == 0);
	for (size_t off = 0; off < len; off += piece)
		CHECK(queue_write_content(w, content + off,
		    len - off < piece ? len - off : piece) == 0);
	path = xasprintf("incoming/%s", queue_writer_id(w));
	CHECK(queue_commit(&w) == 0);
	CHECK(w == NULL);
	rec_free(&env);
	return path;
}

static int
collect(void *ctx, const char *data, size_t len)
{
	return buf_add(ctx, data, len);
}

static int
stop_early(void *ctx, const char *data, size_t len)
{
	(*(int *)ctx)++;
	return -1;
}

static size_t
count_tmp_files(void)
{
	DIR *d = opendir("incoming");
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".tmp.", 5) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_round_trip(void)
{
	size_t len = 200000;
	char *content = xmalloc(len);
	struct buf *back = buf_new(1024 * 1024);
	struct queue_file *q;
	char *path, qid[QUEUE_ID_MAX], *id_time;
	time_t now = time(NULL);
	int fd, calls = 0;

	for (size_t i = 0; i < len; i++)
		content[i] = i % 61 == 60 ? '\n' : (char)('A' + i % 53);
	path = write_message(content, len, 7);	/* many small pieces */
	CHECK(count_tmp_files() == 0);
	snprintf(qid, sizeof(qid), "%s", path + strlen("incoming/"));
	CHECK(queue_id_valid(qid) && strlen(qid) >= 15);
	id_time = xstrndup(qid, 9);
	CHECK(llabs(strtoll(id_time, NULL, 16) - (long long)now) <= 2);
	xfree(&id_time);

	q = queue_open(path, false);
	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK_STR(queue_get(q, "proto"), "queue/1");
	CHECK_STR(queue_get(q, "qid"), qid);
	CHECK_STR(queue_get(q, "sender"), "");
	CHECK_STR(queue_get(q, "helo"), "client.example\r\nX");
	CHECK(q->env->count == 11);	/* proto given by us was dropped */
	CHECK(q->size == len);
	CHECK(q->rcpt_count == 3);
	CHECK_STR(q->rcpts[0].address, "a@example.com");
	CHECK_STR(q->rcpts[0].orcpt, "rfc822;A@example.com");
	CHECK_STR(q->rcpts[0].notify, "FAILURE,DELAY");
	CHECK_STR(q->rcpts[1].address, "b@example.com");
	CHECK(q->rcpts[1].orcpt == NULL && q->rcpts[1].notify == NULL);
	CHECK_STR(q->rcpts[2].notify, "NEVER");
	CHECK(!q->rcpts[0].done && !q->rcpts[2].done);
	CHECK(queue_read_content(q, collect, back) == 0);
	CHECK(back->len == len && memcmp(back->data, content, len) == 0);
	CHECK(queue_read_content(q, stop_early, &calls) == -1 && calls == 1);

	/* Chunks are at most 64 KiB, whatever the writes were. */
	{
		struct buf *raw = buf_new(1024 * 1024);
		size_t off = (size_t)q->content_offset, n = 0, clen;
		ssize_t h;

		CHECK(io_read_file(path, 1024 * 1024, raw) == 0);
		while ((h = rec_parse_chunk_header(raw->data + off,
		    raw->len - off, &clen)) > 0 && clen > 0) {
			CHECK(clen <= 64 * 1024);
			off += (size_t)h + clen;
			n++;
		}
		CHECK(n == 4);
		buf_free(&raw);
	}

	/* queue_copy_content adds a missing final newline. */
	fd = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(queue_copy_content(q, fd) == 0);
	buf_reset(back);
	CHECK(io_read_file("copy", 1024 * 1024, back) == 0);
	CHECK(back->len == len + 1 && memcmp(back->data, content, len) == 0);
	CHECK(back->data[len] == '\n');
	close(fd);
	queue_close(&q);
	CHECK(q == NULL);
	xfree(&path);
	buf_free(&back);
	xfree(&content);
}

/* A small file opened read-only is read once: its content comes from
 * what the open read, even if the file changed since. A writable open,
 * or a larger file, reads the file. */
static void
test_image(void)
{
	static const char content[] = "Subject: s\n\nsmall\n";
	char *path = write_message(content, sizeof(content) - 1, 5);
	struct buf *back = buf_new(128 * 1024);
	struct queue_file *ro = queue_open(path, false);
	struct queue_file *rw = queue_open(path, true);
	char *big = xmalloc(70 * 1024);
	char *big_path;
	int fd;

	CHECK(ro != NULL && rw != NULL);
	if (ro == NULL || rw == NULL)
		return;
	CHECK(ro->image != NULL && rw->image == NULL);
	/* Same length, other bytes, where the content lies. */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "XXXXX", 5, ro->content_offset + 3) == 5);
	close(fd);
	CHECK(queue_read_content(ro, collect, back) == 0);
	CHECK(back->len == sizeof(content) - 1 &&
	    memcmp(back->data, content, back->len) == 0);
	buf_reset(back);
	CHECK(queue_read_content(rw, collect, back) == 0);
	CHECK(back->len == sizeof(content) - 1 &&
	    memcmp(back->data, content, back->len) != 0);
	queue_close(&ro);
	queue_close(&rw);
	unlink(path);
	xfree(&path);

	memset(big, 'b', 70 * 1024);
	big_path = write_message(big, 70 * 1024, 4096);
	ro = queue_open(big_path, false);
	CHECK(ro != NULL && ro->image == NULL);
	buf_reset(back);
	CHECK(ro != NULL && queue_read_content(ro, collect, back) == 0);
	CHECK(back->len == 70 * 1024 && memcmp(back->data, big, back->len) == 0);
	queue_close(&ro);
	unlink(big_path);
	xfree(&big_path);
	xfree(&big);
	buf_free(&back);
}

static void
test_empty_content(void)
{
	char *path = write_message("", 0, 1);
	struct queue_file *q = queue_open(path, false);
	int fd;
	struct stat st;

	CHECK(q != NULL && q->size == 0);
	fd = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(queue_copy_content(q, fd) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
	close(fd);
	queue_close(&q);
	xfree(&path);
}

static void
test_mark_done(void)
{
	const char *msg = "Subject: x\n\nbody\n";
	char *path = write_message(msg, strlen(msg), 3);
	struct queue_file *q = queue_open(path, true), *ro;
	struct stat before, after;

	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK(stat(path, &before) == 0);
	CHECK(queue_mark_done(q, 3) == -1 && errno == EINVAL);
	CHECK(queue_mark_done(q, 1) == 0);
	CHECK(q->rcpts[1].done);
	CHECK(queue_mark_done(q, 1) == 0);	/* twice is harmless */
	CHECK(stat(path, &after) == 0 && after.st_size == before.st_size);
	queue_close(&q);

	q = queue_open(path, true);
	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK(!q->rcpts[0].done && q->rcpts[1].done && !q->rcpts[2].done);
	CHECK_STR(q->rcpts[1].address, "b@example.com");
	CHECK(queue_mark_done(q, 0) == 0 && queue_mark_done(q, 2) == 0);
	CHECK(rec_get(q->env, "rcpt") == NULL);	/* envelope kept in step */
	CHECK_STR(q->rcpts[2].notify, "NEVER");
	queue_close(&q);

	ro = queue_open(path, false);
	CHECK(ro != NULL && ro->rcpts[0].done && ro->rcpts[2].done);
	CHECK(ro->size == strlen(msg));
	queue_close(&ro);
	xfree(&path);
}

/* Every proper prefix of a queue file is refused with EPROTO. */
static void
check_truncations(const char *path, size_t step_small_after)
{
	struct buf *raw = buf_new(4 * 1024 * 1024);
	struct queue_file *q;
	int fd;

	CHECK(io_read_file(path, raw->limit, raw) == 0);
	fd = open("trunc", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(io_write_all(fd, raw->data, raw->len) == 0);
	for (size_t len = raw->len; len-- > 0; ) {
		/* Long files: every length near the ends, sparse between. */
		if (len > step_small_after && len < raw->len - 200 &&
		    len % 997 != 0)
			continue;
		CHECK(ftruncate(fd, (off_t)len) == 0);
		errno = 0;
		q = queue_open("trunc", false);
		if (q != NULL || errno != EPROTO)
			fprintf(stderr, "truncated at %zu of %zu: %s\n", len,
			    raw->len, q ? "accepted" : strerror(errno));
		CHECK(q == NULL && errno == EPROTO);
		queue_close(&q);
	}
	close(fd);
	buf_free(&raw);
}

static void
test_truncated(void)
{
	const char *msg = "Subject: hi\n\nshort body\n";
	char *path = write_message(msg, strlen(msg), 5);
	size_t len = 150000;
	char *content = xcalloc(1, len);

	check_truncations(path, SIZE_MAX);
	xfree(&path);
	memset(content, 'x', len);
	path = write_message(content, len, 4096);
	check_truncations(path, 2000);
	xfree(&path);
	xfree(&content);
}

/* Write raw bytes as a queue file and try to open it. */
static int
open_raw(const char *raw)
{
	struct queue_file *q;
	int rc;

	CHECK(io_write_file_atomic("raw", raw, strlen(raw), 0600) == 0);
	errno = 0;
	q = queue_open("raw", false);
	rc = q == NULL ? -1 : 0;
	if (q == NULL)
		CHECK(errno == EPROTO);
	queue_close(&q);
	return rc;
}

static void
test_corrupt(void)
{
	static const struct {
		const char *raw;
		int want;
	} cases[] = {
		{ "", -1 },
		{ "\n0\nend=0\n\n", -1 },				/* no proto */
		{ "proto=queue/2\nqid=AB\n\n0\nend=0\n\n", -1 },	/* version */
		{ "qid=AB\nproto=queue/1\n\n0\nend=0\n\n", -1 },	/* order */
		{ "proto=queue/1\n\n0\nend=0\n\n", -1 },		/* no qid */
		{ "proto=queue/1\nqid=../x\n\n0\nend=0\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=4\n\n", -1 },	/* size */
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=2\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n4\nabc0\nend=3\n\n", -1 },	/* length */
		{ "proto=queue/1\nqid=AB\n\n2\nabc0\nend=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n03\nabc0\nend=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n+3\nabc0\nend=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3 \nabc0\nend=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n99999999\nabc0\nend=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc\nend=3\n\n", -1 },	/* no 0 */
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=3\n\nx", -1 },	/* after */
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=3\n\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=3\nx=1\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nend=-3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\nsize=3\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n3\nabc0\n\n", -1 },
		{ "proto=queue/1\nqid=AB\norcpt=x\nrcpt=a\n\n0\nend=0\n\n", -1 },
		{ "proto=queue/1\nqid=AB\nrcpt=a\nnotify=x\nnotify=y\n\n"
		  "0\nend=0\n\n", -1 },
		{ "proto=queue/1\nqid=AB\nbad name=1\n\n0\nend=0\n\n", -1 },
		{ "proto=queue/1\nqid=AB\n\n0\nend=0\n\n", 0 },
		{ "proto=queue/1\nqid=AB\nrcpt=a\ndone=b\n\n"
		  "3\nabc2\nde0\nend=5\n\n", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = open_raw(cases[i].raw);

		if (got != cases[i].want)
			fprintf(stderr, "corrupt case %zu: got %d\n", i, got);
		CHECK(got == cases[i].want);
	}
	/* Not a regular file; missing file keeps its errno. */
	CHECK(queue_open("incoming", false) == NULL && errno == EPROTO);
	CHECK(queue_open("nonexistent", false) == NULL && errno == ENOENT);
}

/* "incoming/NAME" in a static buffer. */
static const char *
incoming(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "incoming/%s", name);
	return path;
}

/* A crashed writer's .tmp files: complete ones come back under their ID,
 * partial ones go, and nothing is touched while its writer may be alive. */
static void
test_tmp_recover(void)
{
	const char *msg = "Subject: hi\n\nbody\n";
	long long now = (long long)time(NULL);
	char *path = write_message(msg, strlen(msg), 4);
	char dead[64], alive[64];
	pid_t child = fork();

	/* A pid that is surely not running: a reaped child's. */
	if (child == 0)
		_exit(0);
	CHECK(child > 0);
	waitpid(child, NULL, 0);
	snprintf(dead, sizeof(dead), ".tmp.%ld.7", (long)child);
	snprintf(alive, sizeof(alive), ".tmp.%ld.7", (long)getpid());

	CHECK(queue_tmp_recover("incoming", "ABCDEF", now) == QUEUE_TMP_LEFT);
	CHECK(queue_tmp_recover("incoming", ".tmp.x.1", now) ==
	    QUEUE_TMP_LEFT);
	CHECK(queue_tmp_recover("incoming", dead, now) == QUEUE_TMP_LEFT);

	/* Complete, writer alive and the file fresh: left alone. */
	CHECK(rename(path, incoming(alive)) == 0);
	CHECK(queue_tmp_recover("incoming", alive, now) == QUEUE_TMP_LEFT);
	CHECK(access(path, F_OK) < 0);
	/* ... but recovered once it is stale. */
	CHECK(queue_tmp_recover("incoming", alive, now + QUEUE_TMP_STALE + 1)
	    == QUEUE_TMP_RECOVERED);
	CHECK(access(path, F_OK) == 0);

	/* Complete, writer gone: recovered at once, under its own ID. */
	CHECK(rename(path, incoming(dead)) == 0);
	CHECK(queue_tmp_recover("incoming", dead, now) == QUEUE_TMP_RECOVERED);
	CHECK(access(path, F_OK) == 0);

	/* An ID that exists already is never replaced. */
	CHECK(link(path, incoming(dead)) == 0);
	CHECK(queue_tmp_recover("incoming", dead, now) == QUEUE_TMP_LEFT);
	CHECK(unlink(incoming(dead)) == 0);

	/* Incomplete (no end record): removed when the writer is gone, or
	 * when it is a day old; otherwise left to its writer. */
	CHECK(truncate(path, 40) == 0);
	CHECK(rename(path, incoming(alive)) == 0);
	CHECK(queue_tmp_recover("incoming", alive, now + QUEUE_TMP_STALE + 1)
	    == QUEUE_TMP_LEFT);
	CHECK(queue_tmp_recover("incoming", alive, now + QUEUE_TMP_ORPHAN + 1)
	    == QUEUE_TMP_REMOVED);
	CHECK(io_write_file_atomic(incoming(dead),
	    "proto=queue/1\n", 14, 0600) == 0);
	CHECK(queue_tmp_recover("incoming", dead, now) == QUEUE_TMP_REMOVED);
	CHECK(access(incoming(dead), F_OK) < 0);
	xfree(&path);
}

static void
test_writer_errors(void)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();

	CHECK(w != NULL);
	CHECK(queue_write_content(w, "x", 1) == -1 && errno == EINVAL);
	CHECK(count_tmp_files() == 1);
	queue_abort(&w);
	CHECK(w == NULL && count_tmp_files() == 0);
	queue_abort(&w);

	w = queue_create();
	CHECK(queue_commit(&w) == -1 && errno == EINVAL && w == NULL);
	CHECK(count_tmp_files() == 0);

	/* A bad attribute name fails the envelope. */
	w = queue_create();
	rec_put(env, "bad name", "x");
	CHECK(queue_write_envelope(w, env) == -1);
	queue_abort(&w);
	rec_free(&env);

	/* Outside a queue directory: no incoming/. */
	CHECK(chdir("q") == 0 && rmdir("incoming") == 0);
	CHECK(queue_create() == NULL && errno == ENOENT);
	CHECK(chdir("..") == 0);
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
	int rc;

	if (mkdtemp(top) == NULL || chdir(top) < 0 ||
	    mkdir("incoming", 0700) < 0) {
		perror(top);
		return 1;
	}
	TEST_RUN(test_id_valid);
	TEST_RUN(test_make_dirs);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_image);
	TEST_RUN(test_empty_content);
	TEST_RUN(test_mark_done);
	TEST_RUN(test_truncated);
	TEST_RUN(test_corrupt);
	TEST_RUN(test_tmp_recover);
	TEST_RUN(test_writer_errors);
	rc = TEST_DONE();
	if (chdir("/") < 0 ||
	    nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror(top);
	return rc;
}
