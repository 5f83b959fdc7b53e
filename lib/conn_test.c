/*
 * conn_test.c - tests for lib/conn.c over socketpairs and pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "io.h"
#include "mem.h"
#include "testing.h"

static void
test_timeout(void)
{
	int sv[2];
	struct conn *c;
	struct buf *out = buf_new(100);
	int64_t start;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	c = conn_new(sv[0], 100);
	start = io_now_ms();
	CHECK(conn_fill(c) == -1 && errno == ETIMEDOUT);
	CHECK(io_now_ms() - start >= 90);
	CHECK(conn_read_exact(c, 1, out) == -1 && errno == ETIMEDOUT);
	conn_free(&c);
	close(sv[1]);
	buf_free(&out);
}

static void
test_eof_and_close(void)
{
	int sv[2];
	struct conn *c;
	struct buf *out = buf_new(100);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "abc", 3) == 3);
	close(sv[1]);
	c = conn_new(sv[0], 1000);
	CHECK(conn_read_exact(c, 2, out) == 0);
	CHECK_STR(out->data, "ab");
	CHECK(conn_read_exact(c, 2, out) == -1 && errno == ECONNRESET);
	CHECK(conn_fill(c) == 0);
	conn_free(&c);
	CHECK(c == NULL);
	conn_free(&c);		/* NULL is fine */
	/* conn_free closed the descriptor. */
	CHECK(fcntl(sv[0], F_GETFD) == -1 && errno == EBADF);
	buf_free(&out);
}

static void
test_out_limit(void)
{
	int sv[2];
	struct conn *c;
	struct buf *out = buf_new(4);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "abcdef", 6) == 6);
	c = conn_new(sv[0], 1000);
	/* The caller's buffer limit is honoured. */
	CHECK(conn_read_exact(c, 6, out) == -1 && errno == EMSGSIZE);
	conn_free(&c);
	close(sv[1]);
	buf_free(&out);
}

/* Write a large stream in odd pieces; a child echoes it back; compare. */
static void
test_large_stream(int use_pipe)
{
	size_t total = 5 * 1024 * 1024 + 17;
	char *data = xmalloc(total);
	struct buf *back = buf_new(total);
	int to_child[2], from_child[2], status;
	struct conn *w, *r;
	pid_t pid;

	for (size_t i = 0; i < total; i++)
		data[i] = (char)(i % 253);
	if (use_pipe) {
		CHECK(pipe(to_child) == 0 && pipe(from_child) == 0);
	} else {
		/* to_child[0] and from_child[1] are the child's end. */
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, to_child) == 0);
		from_child[0] = dup(to_child[1]);
		from_child[1] = dup(to_child[0]);
	}
	pid = fork();
	if (pid == 0) {
		/* Echo everything from to_child[0] to from_child[1]. */
		struct conn *in = conn_new(to_child[0], 5000);
		struct conn *out = conn_new(from_child[1], 5000);
		ssize_t n;

		close(to_child[1]);
		close(from_child[0]);
		while ((n = conn_fill(in)) > 0) {
			if (conn_write(out, in->in.data, in->in.len) < 0 ||
			    conn_flush(out) < 0)
				_exit(2);
			buf_reset(&in->in);
		}
		_exit(n == 0 && conn_flush(out) == 0 ? 0 : 3);
	}
	close(to_child[0]);
	close(from_child[1]);
	w = conn_new(to_child[1], 5000);
	r = conn_new(from_child[0], 5000);
	if (use_pipe) {
		/*
		 * A pipe has one direction: write everything from a second
		 * child so that neither side blocks on a full pipe.
		 */
		pid_t writer = fork();

		if (writer == 0) {
			size_t off = 0, step = 1;

			while (off < total) {
				size_t n = step < total - off ? step :
				    total - off;

				if (conn_write(w, data + off, n) < 0)
					_exit(2);
				off += n;
				step = step * 3 % 200003 + 1;
			}
			_exit(conn_flush(w) == 0 ? 0 : 3);
		}
		conn_free(&w);
		CHECK(conn_read_exact(r, total, back) == 0);
		CHECK(waitpid(writer, &status, 0) == writer);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	} else {
		/* A socketpair buffers enough only if we read as we go. */
		size_t off = 0;

		CHECK(io_set_nonblock(r->fd, true) == 0);
		while (off < total) {
			size_t n = total - off < 70000 ? total - off : 70000;

			CHECK(conn_write(w, data + off, n) == 0);
			CHECK(conn_flush(w) == 0);
			CHECK(conn_read_exact(r, n, back) == 0);
			off += n;
		}
		CHECK(shutdown(w->fd, SHUT_WR) == 0);
		conn_free(&w);
	}
	CHECK(back->len == total && memcmp(back->data, data, total) == 0);
	CHECK(conn_fill(r) == 0);	/* EOF after the child exits */
	conn_free(&r);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	xfree(&data);
	buf_free(&back);
}

static void
test_large_socket(void)
{
	test_large_stream(0);
}

static void
test_large_pipe(void)
{
	test_large_stream(1);
}

static void
test_peer_gone(void)
{
	int sv[2];
	struct conn *c;
	char big[100000];

	/* Writing to a closed peer is EPIPE, not a SIGPIPE. */
	memset(big, 'x', sizeof(big));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	c = conn_new(sv[0], 1000);
	CHECK(conn_write(c, big, sizeof(big)) == -1 && errno == EPIPE);
	CHECK(conn_write(c, "x", 1) == 0);
	CHECK(conn_flush(c) == -1 && errno == EPIPE);
	CHECK(c->out.len == 0);
	conn_free(&c);
}

int
main(void)
{
	TEST_RUN(test_timeout);
	TEST_RUN(test_eof_and_close);
	TEST_RUN(test_out_limit);
	TEST_RUN(test_large_socket);
	TEST_RUN(test_large_pipe);
	TEST_RUN(test_peer_gone);
	return TEST_DONE();
}
