/*
 * io_test.c - tests for lib/io.c: atomic file writes, bounded file reads,
 * writev with partial writes, mkdirs, waits with deadlines. Works in a fresh temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "mem.h"
#include "testing.h"

static char top[] = "/tmp/io_test.XXXXXX";

static void
test_write_file_atomic(void)
{
	struct buf *b = buf_new(1024);
	struct stat st;
	mode_t old = umask(077);

	/* Failures first. */
	CHECK(io_write_file_atomic("nodir/f", "x", 1, 0600) == -1);
	CHECK(errno == ENOENT);
	CHECK(access("nodir", F_OK) == -1);

	CHECK(io_write_file_atomic("f", "hello", 5, 0644) == 0);
	CHECK(io_read_file("f", 100, b) == 0);
	CHECK_STR(b->data, "hello");
	CHECK(stat("f", &st) == 0 && (st.st_mode & 0777) == 0644);

	/* Replaced as a whole, shorter content leaves nothing behind. */
	CHECK(io_write_file_atomic("f", "hi", 2, 0600) == 0);
	buf_reset(b);
	CHECK(io_read_file("f", 100, b) == 0);
	CHECK(b->len == 2);
	CHECK_STR(b->data, "hi");
	CHECK(stat("f", &st) == 0 && (st.st_mode & 0777) == 0600);

	/* No temporary file left over. */
	CHECK(access("f.tmp", F_OK) == -1);
	{
		char *tmp = xasprintf("f.tmp.%d", (int)getpid());

		CHECK(access(tmp, F_OK) == -1);
		/* A link planted under the temporary name is not followed. */
		CHECK(symlink("victim", tmp) == 0);
		CHECK(io_write_file_atomic("f", "x", 1, 0600) == -1);
		CHECK(access("victim", F_OK) == -1);
		unlink(tmp);
		xfree(&tmp);
	}

	/* Empty content is fine. */
	CHECK(io_write_file_atomic("empty", "", 0, 0600) == 0);
	CHECK(stat("empty", &st) == 0 && st.st_size == 0);
	umask(old);
	buf_free(&b);
}

/* Partial writes and a full socket buffer: everything arrives, in order,
 * empty pieces skipped. */
static void
test_writev_all(void)
{
	static char a[150000], b[70000];
	struct iovec iov[4];
	struct buf *got = buf_new(sizeof(a) + sizeof(b) + 16);
	char chunk[4096];
	ssize_t n;
	int sv[2], status;
	pid_t pid;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(io_set_nonblock(sv[1], true) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		iov[0] = (struct iovec){ .iov_base = a, .iov_len = sizeof(a) };
		iov[1] = (struct iovec){ .iov_base = b, .iov_len = 0 };
		iov[2] = (struct iovec){ .iov_base = b, .iov_len = sizeof(b) };
		iov[3] = (struct iovec){ .iov_base = "end", .iov_len = 3 };
		_exit(io_writev_all(sv[1], iov, 4) == 0 ? 0 : 1);
	}
	close(sv[1]);
	while ((n = read(sv[0], chunk, sizeof(chunk))) > 0)
		CHECK(buf_add(got, chunk, (size_t)n) == 0);
	close(sv[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	CHECK(got->len == sizeof(a) + sizeof(b) + 3);
	CHECK(got->len > sizeof(a) && memcmp(got->data, a, sizeof(a)) == 0 &&
	    memcmp(got->data + sizeof(a), b, sizeof(b)) == 0 &&
	    memcmp(got->data + got->len - 3, "end", 3) == 0);
	buf_free(&got);
}

static void
test_read_file(void)
{
	struct buf *b = buf_new(1024 * 1024);
	struct buf *small = buf_new(4);
	char *data = xmalloc(100000);

	CHECK(io_read_file("missing", 10, b) == -1 && errno == ENOENT);
	memset(data, 'q', 100000);
	CHECK(io_write_file_atomic("big", data, 100000, 0600) == 0);
	CHECK(io_read_file("big", 99999, b) == -1 && errno == EMSGSIZE);
	buf_reset(b);
	CHECK(io_read_file("big", 100000, b) == 0 && b->len == 100000);
	CHECK(memcmp(b->data, data, 100000) == 0);
	/* Appends to what is there. */
	CHECK(io_read_file("f", 10, b) == 0 && b->len == 100002);
	/* The buffer's own limit also holds. */
	CHECK(io_read_file("f", 10, small) == 0);
	CHECK(io_read_file("f", 10, small) == 0);
	CHECK(io_read_file("f", 10, small) == -1 && errno == EMSGSIZE);
	/* A directory is an error, not an empty file. */
	CHECK(io_read_file(".", 10, b) == -1);
	xfree(&data);
	buf_free(&b);
	buf_free(&small);
}

static void
test_mkdirs(void)
{
	struct stat st;
	char *abs;

	CHECK(io_mkdirs("", 0700) == -1 && errno == ENOENT);
	CHECK(io_write_file_atomic("file", "x", 1, 0600) == 0);
	CHECK(io_mkdirs("file", 0700) == -1 && errno == ENOTDIR);
	CHECK(io_mkdirs("file/sub", 0700) == -1);

	CHECK(io_mkdirs("a/b/c", 0700) == 0);
	CHECK(stat("a/b/c", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(io_mkdirs("a/b/c", 0700) == 0);		/* exists */
	CHECK(io_mkdirs("a/b/c/", 0700) == 0);		/* trailing slash */
	CHECK(io_mkdirs("a//d", 0700) == 0);
	CHECK(stat("a/d", &st) == 0 && S_ISDIR(st.st_mode));
	abs = xasprintf("%s/x/y", top);
	CHECK(io_mkdirs(abs, 0700) == 0);
	CHECK(stat("x/y", &st) == 0 && S_ISDIR(st.st_mode));
	xfree(&abs);
	CHECK(io_mkdirs("/", 0700) == 0);
}

static void
test_fsync_parent(void)
{
	CHECK(io_fsync_parent("f") == 0);
	CHECK(io_fsync_parent("a/b/c") == 0);
	CHECK(io_fsync_parent("/etc") == 0);
	CHECK(io_fsync_parent("nodir/f") == -1);
}

static void
test_wait(void)
{
	int sv[2];
	int64_t start;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	start = io_now_ms();
	CHECK(io_wait(sv[0], POLLIN, start + 50) == -1 && errno == ETIMEDOUT);
	CHECK(io_now_ms() - start >= 45);
	CHECK(io_wait(sv[0], POLLIN, start - 1) == -1 && errno == ETIMEDOUT);
	CHECK(io_wait(sv[0], POLLOUT, io_now_ms() + 1000) == 0);
	CHECK(io_write_all(sv[1], "x", 1) == 0);
	CHECK(io_wait(sv[0], POLLIN, -1) == 0);
	CHECK(io_set_nonblock(sv[0], true) == 0);
	CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
	CHECK(io_set_nonblock(sv[0], false) == 0);
	CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) == 0);
	CHECK(io_set_cloexec(sv[0], true) == 0);
	CHECK((fcntl(sv[0], F_GETFD) & FD_CLOEXEC) != 0);
	close(sv[0]);
	close(sv[1]);
}

static void
test_unix_socket(void)
{
	int listen_fd, client, server;
	struct stat st;
	char buf[8];

	CHECK(io_unix_connect("nosock") == -1);
	listen_fd = io_unix_listen("sock", 0666, 5);
	CHECK(listen_fd >= 0);
	CHECK(stat("sock", &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((st.st_mode & 0777) == 0666);
	client = io_unix_connect("sock");
	CHECK(client >= 0);
	server = accept(listen_fd, NULL, NULL);
	CHECK(server >= 0);
	CHECK(io_write_all(client, "ping", 4) == 0);
	CHECK(read(server, buf, sizeof(buf)) == 4);
	close(client);
	close(server);
	close(listen_fd);
	/* Listening again replaces the old socket file. */
	listen_fd = io_unix_listen("sock", 0600, 5);
	CHECK(listen_fd >= 0);
	close(listen_fd);
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

	if (mkdtemp(top) == NULL || chdir(top) < 0) {
		perror(top);
		return 1;
	}
	TEST_RUN(test_write_file_atomic);
	TEST_RUN(test_writev_all);
	TEST_RUN(test_read_file);
	TEST_RUN(test_mkdirs);
	TEST_RUN(test_fsync_parent);
	TEST_RUN(test_wait);
	TEST_RUN(test_unix_socket);
	rc = TEST_DONE();
	if (chdir("/") < 0 ||
	    nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror(top);
	return rc;
}
