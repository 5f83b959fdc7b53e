/*
 * pickup_file_test.c - tests for pickup_file.c: the cleanup request
 * built from a maildrop file, and a whole pickup of a file written the
 * way sendmail writes it, against a fake cleanup in a child process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "io.h"
#include "mem.h"
#include "pickup_file.h"
#include "testing.h"

static void
test_request(void)
{
	struct queue_file q = { 0 };
	struct queue_recipient rcpts[2] = {
		{ .address = "a@x", .notify = "NEVER" },
		{ .address = "b@y", .orcpt = "rfc822;b@y" },
	};
	struct rec *req = rec_new();

	q.env = rec_new();
	rec_put(q.env, "proto", "queue/1");
	CHECK(pickup_request(&q, 1000, req) == -1);	/* no sender */
	rec_put(q.env, "sender", "joe@x");
	rec_put(q.env, "full_name", "Joe");
	rec_put(q.env, "extract_recipients", "1");
	rec_put(q.env, "origin", "forged");
	q.rcpts = rcpts;
	q.rcpt_count = 2;
	CHECK(pickup_request(&q, 1000, req) == 0);
	CHECK_STR(rec_get(req, "proto"), "cleanup/1");
	CHECK_STR(rec_get(req, "origin"), "pickup");
	CHECK_STR(rec_get(req, "uid"), "1000");
	CHECK_STR(rec_get(req, "sender"), "joe@x");
	CHECK_STR(rec_get(req, "full_name"), "Joe");
	CHECK_STR(rec_get(req, "local_submit"), "1");
	CHECK_STR(rec_get(req, "extract_recipients"), "1");
	CHECK_STR(rec_get(req, "notify"), "NEVER");
	CHECK_STR(rec_get(req, "orcpt"), "rfc822;b@y");
	CHECK_STR(req->attrs[req->count - 2].value, "b@y");
	rec_free(&req);
	rec_free(&q.env);
}

/* A fake cleanup that answers ok/ok (or status for reply 2) and
 * writes what it received to out_path. */
static void
fake_cleanup(int listen_fd, const char *status2, const char *out_path)
{
	int fd = accept(listen_fd, NULL, NULL);
	struct conn *c = conn_new(fd, 5000);
	struct rec *r = rec_new();
	struct buf *content = buf_new(1024 * 1024);
	ssize_t n;
	FILE *f = fopen(out_path, "w");

	if (rec_read(c, r) < 0)
		_exit(1);
	for (size_t i = 0; i < r->count; i++)
		fprintf(f, "%s=%s\n", r->attrs[i].name, r->attrs[i].value);
	rec_reset(r);
	rec_put(r, "proto", "cleanup/1");
	rec_put(r, "status", "ok");
	rec_put(r, "qid", "ABC");
	rec_write(c, r);
	while ((n = rec_read_chunk(c, content)) > 0)
		;
	fprintf(f, "content=%s", content->data);
	fclose(f);
	rec_reset(r);
	rec_put(r, "proto", "cleanup/1");
	rec_put(r, "status", status2);
	rec_write(c, r);
	_exit(n == 0 ? 0 : 1);
}

static void
test_pickup_file(void)
{
	char dir[] = "/tmp/pickup_test_XXXXXX", *cwd = getcwd(NULL, 0);
	static const char file[] =
	    "proto=queue/1\nqid=ABCDEF\nsender=joe@x\nrcpt=a@x\n\n"
	    "6\nHello\n0\nend=6\n\n";
	static const struct {
		const char *status2;
		enum pickup_result want;
		bool left_in_maildrop;
		bool in_corrupt;
	} cases[] = {
		{ "451", PICKUP_RETRY, true, false },
		{ "550", PICKUP_CORRUPT, false, true },
		{ "ok", PICKUP_DONE, false, false },
	};
	struct stat st;

	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
	CHECK(mkdir("maildrop", 0700) == 0 && mkdir("corrupt", 0700) == 0);
	CHECK(mkdir("private", 0700) == 0);
	/* Not a message: straight to corrupt/. */
	CHECK(io_write_file_atomic("maildrop/BAD", "junk\n", 5, 0644) == 0);
	CHECK(pickup_file("BAD", "private/cleanup", 5000) == PICKUP_CORRUPT);
	CHECK(stat("corrupt/BAD", &st) == 0);
	/* No cleanup listening: left alone. */
	CHECK(io_write_file_atomic("maildrop/M1", file, sizeof(file) - 1,
	    0644) == 0);
	CHECK(pickup_file("M1", "private/cleanup", 5000) == PICKUP_RETRY);
	CHECK(stat("maildrop/M1", &st) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int lfd = io_unix_listen("private/cleanup", 0600, 5), status;
		pid_t pid = fork();

		if (pid == 0)
			fake_cleanup(lfd, cases[i].status2, "seen");
		close(lfd);
		CHECK(pickup_file("M1", "private/cleanup", 5000) ==
		    cases[i].want);
		CHECK(waitpid(pid, &status, 0) == pid && status == 0);
		CHECK((stat("maildrop/M1", &st) == 0) ==
		    cases[i].left_in_maildrop);
		CHECK((stat("corrupt/M1", &st) == 0) == cases[i].in_corrupt);
		if (cases[i].in_corrupt)
			CHECK(rename("corrupt/M1", "maildrop/M1") == 0);
	}
	{
		struct buf *seen = buf_new(65536);
		char *want = xasprintf("proto=cleanup/1\norigin=pickup\n"
		    "sender=joe@x\nuid=%lu\nlocal_submit=1\nrcpt=a@x\n"
		    "content=Hello\n", (unsigned long)getuid());

		CHECK(io_read_file("seen", 65536, seen) == 0);
		CHECK_STR(seen->data, want);
		xfree(&want);
		buf_free(&seen);
	}
	unlink("seen");
	unlink("corrupt/BAD");
	unlink("private/cleanup");
	rmdir("maildrop");
	rmdir("corrupt");
	rmdir("private");
	CHECK(chdir(cwd) == 0);
	CHECK(rmdir(dir) == 0);
	free(cwd);
}

int
main(void)
{
	TEST_RUN(test_request);
	TEST_RUN(test_pickup_file);
	return TEST_DONE();
}
