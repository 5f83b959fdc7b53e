/*
 * delivery_test.c - delivery/1 request parsing, the reply, children that
 * report through a pipe, and the Delivered-To header check.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "delivery.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

static struct rec *
parse_rec(const char *text)
{
	struct rec *r = rec_new();

	if (rec_parse(r, text, strlen(text)) <= 0)
		log_fatal("test record does not parse: %s", text);
	return r;
}

static void
test_request_parse(void)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
		{ "proto=cleanup/1\nqid=A1\n\n", -1 },
		{ "qid=A1\nproto=delivery/1\n\n", -1 },
		{ "proto=delivery/1\nqueue_file=active/A1\nrcpt=a@b\n"
		    "index=0\n\n", -1 },		/* no qid */
		{ "proto=delivery/1\nqid=A/1\nqueue_file=active/A1\n"
		    "rcpt=a@b\nindex=0\n\n", -1 },	/* bad qid */
		{ "proto=delivery/1\nqid=A1\nqueue_file=/etc/shadow\n"
		    "rcpt=a@b\nindex=0\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/../../x\n"
		    "rcpt=a@b\nindex=0\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=..\n"
		    "rcpt=a@b\nindex=0\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n"
		    "rcpt=a@b\n\n", -1 },		/* no index */
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n"
		    "rcpt=a@b\nindex=x\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n"
		    "rcpt=a@b\nindex=-1\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n"
		    "rcpt=a@b\nrcpt=c@d\nindex=1\n\n", -1 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1\n"
		    "rcpt=a@b\nindex=0\n\n", 0 },
		{ "proto=delivery/1\nqid=A1\nqueue_file=active/A1..b\n"
		    "sender=\nnexthop=x\nfuture=1\nrcpt=a@b\nindex=3\n"
		    "orcpt=rfc822;A@b\nnotify=NEVER\nrcpt=c@d\nindex=7\n\n",
		    0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *r = parse_rec(cases[i].in);
		struct delivery_request req;
		const char *error = NULL;
		int ret = delivery_request_parse(r, &req, &error);

		if (ret != cases[i].want)
			fprintf(stderr, "case %zu\n", i);
		CHECK(ret == cases[i].want);
		CHECK(ret == 0 || error != NULL);
		delivery_request_release(&req);
		rec_free(&r);
	}
}

static void
test_reply(void)
{
	struct rec *r = parse_rec("proto=delivery/1\nqid=A1\n"
	    "queue_file=active/A1\nsender=s@x\nrcpt=a@b\nindex=3\n"
	    "orcpt=rfc822;A@b\nrcpt=c@d\nindex=7\n\n");
	struct delivery_request req;
	struct buf *out = buf_new(4096);
	const char *error;

	CHECK(delivery_request_parse(r, &req, &error) == 0);
	CHECK(req.rcpt_count == 2);
	CHECK_STR(req.sender, "s@x");
	CHECK_STR(req.nexthop, "");
	CHECK_STR(req.rcpts[0].orcpt, "rfc822;A@b");
	CHECK(req.rcpts[1].orcpt == NULL);
	delivery_set(&req.rcpts[0], DELIVERY_SENT, "2.0.0", "delivered to %s",
	    "maildir");
	delivery_reply_format(&req, r);
	CHECK(rec_format(r, out) == 0);
	CHECK_STR(out->data, "proto=delivery/1\n"
	    "rcpt=a@b\nindex=3\nstatus=sent\ndsn=2.0.0\n"
	    "reason=delivered to maildir\n"
	    "rcpt=c@d\nindex=7\nstatus=deferred\ndsn=4.3.0\n"
	    "reason=delivery not attempted\n\n");
	delivery_request_release(&req);
	buf_free(&out);
	rec_free(&r);
}

static void
child_ok(void *ctx, struct rec *out)
{
	char *text = xasprintf("uid %ld", (long)getuid());

	(void)ctx;
	delivery_result_put(out, DELIVERY_SENT, "2.0.0", text);
	free(text);
}

static void
child_crash(void *ctx, struct rec *out)
{
	(void)ctx;
	(void)out;
	abort();
}

static void
child_exit(void *ctx, struct rec *out)
{
	(void)ctx;
	(void)out;
	_exit(3);
}

static void
child_slow(void *ctx, struct rec *out)
{
	(void)ctx;
	(void)out;
	sleep(30);
}

static void
test_run_as(void)
{
	struct delivery_user nobody = { 65534, 65534, NULL };
	struct delivery_user root = { 0, 0, NULL };
	struct rec *r = rec_new();
	enum delivery_status status;
	const char *dsn, *reason;
	char *error = NULL, *want;
	int64_t start;

	CHECK(delivery_run_as(NULL, child_ok, NULL, 5000, r, &error) == 0);
	CHECK(delivery_result_get(r, &status, &dsn, &reason) == 0);
	CHECK(status == DELIVERY_SENT);
	want = xasprintf("uid %ld", (long)getuid());
	CHECK_STR(reason, want);
	free(want);

	CHECK(delivery_run_as(&nobody, child_ok, NULL, 5000, r, &error) == 0);
	CHECK(delivery_result_get(r, &status, &dsn, &reason) == 0);
	want = xasprintf("uid %ld", geteuid() == 0 ? 65534L : (long)getuid());
	CHECK_STR(reason, want);
	free(want);

	/* uid 0 is never a delivery user (only checked when root). */
	if (geteuid() == 0) {
		CHECK(delivery_run_as(&root, child_ok, NULL, 5000, r,
		    &error) == 0);
		CHECK(delivery_result_get(r, &status, &dsn, &reason) == 0);
		CHECK(status == DELIVERY_DEFERRED);
	}

	CHECK(delivery_run_as(NULL, child_crash, NULL, 5000, r, &error) < 0);
	CHECK(error != NULL && strstr(error, "signal") != NULL);
	xfree(&error);
	CHECK(delivery_run_as(NULL, child_exit, NULL, 5000, r, &error) < 0);
	CHECK(error != NULL && strstr(error, "status 3") != NULL);
	xfree(&error);
	start = io_now_ms();
	CHECK(delivery_run_as(NULL, child_slow, NULL, 300, r, &error) < 0);
	CHECK(error != NULL && strstr(error, "timed out") != NULL);
	CHECK(io_now_ms() - start < 5000);
	xfree(&error);
	rec_free(&r);
}

static char top[] = "/tmp/delivery_test.XXXXXX";

static struct queue_file *
message(const char *content)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();
	struct queue_file *q;
	char *path;

	rec_put(env, "sender", "");
	rec_put(env, "rcpt", "a@b");
	if (w == NULL || queue_write_envelope(w, env) < 0 ||
	    queue_write_content(w, content, strlen(content)) < 0)
		log_fatal("queue write: %m");
	path = xasprintf("incoming/%s", queue_writer_id(w));
	if (queue_commit(&w) < 0 || (q = queue_open(path, false)) == NULL)
		log_fatal("queue: %m");
	free(path);
	rec_free(&env);
	return q;
}

static void
test_header_has(void)
{
	static const struct {
		const char *content;
		int want;
	} cases[] = {
		{ "", 0 },
		{ "Subject: x\n\nDelivered-To: a@b.test\n", 0 }, /* body */
		{ "\nDelivered-To: a@b.test\n", 0 },
		{ "Delivered-To: a@b.test.x\n\n", 0 },
		{ "X-Delivered-To: a@b.test\n\n", 0 },
		{ "Delivered-To: a@b.test\n\nbody\n", 1 },
		{ "Subject: x\ndelivered-to:A@B.Test  \n\n", 1 },
		{ "Subject: x\nDelivered-To: a@b.test", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_file *q = message(cases[i].content);

		if (delivery_header_has(q, "Delivered-To", "a@b.test") !=
		    cases[i].want)
			fprintf(stderr, "case %zu\n", i);
		CHECK(delivery_header_has(q, "Delivered-To", "a@b.test") ==
		    cases[i].want);
		queue_close(&q);
	}
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void
as_user_fn(void *ctx, struct rec *out)
{
	(void)ctx;
	rec_put_int(out, "euid", (long long)geteuid());
	rec_put_int(out, "uid", (long long)getuid());
}

static void
test_as_user(void)
{
	struct delivery_user nobody = { .uid = 65534, .gid = 65534 };
	struct delivery_user root = { .uid = 0, .gid = 0 };
	struct rec *r = rec_new();
	char *error = NULL;
	long long euid = -1;

	CHECK(delivery_as_user(&nobody, as_user_fn, NULL, r, &error) == 0);
	CHECK(rec_get_int(r, "euid", 0, 1LL << 32, &euid) == 0);
	if (getuid() == 0) {
		CHECK(euid == 65534);		/* switched while fn ran */
		CHECK(geteuid() == 0);		/* and back afterwards */
		CHECK(getegid() == 0);
		CHECK(delivery_as_user(&root, as_user_fn, NULL, r,
		    &error) == -1);
		CHECK(error != NULL && strstr(error, "root") != NULL);
		xfree(&error);
	} else {
		CHECK(euid == (long long)geteuid());
	}
	rec_free(&r);
}

static int serve_calls;

static void
serve_deliver(struct delivery_request *req, struct queue_file *q)
{
	(void)q;
	serve_calls++;
	delivery_set(&req->rcpts[0], DELIVERY_SENT, "2.0.0", "call %d",
	    serve_calls);
}

/* One connection carries request after request, each answered in turn,
 * until the client closes it. */
static void
test_serve_requests(void)
{
	struct queue_writer *w = queue_create();
	struct conn *c;
	struct rec *r = rec_new();
	char *path, *request;
	int sv[2], status;
	pid_t pid;

	/* A queue file delivery_serve can open. */
	CHECK(w != NULL);
	rec_put(r, "sender", "s@x");
	CHECK(queue_write_envelope(w, r) == 0);
	CHECK(queue_write_content(w, "x\n", 2) == 0);
	path = xasprintf("incoming/%s", queue_writer_id(w));
	request = xasprintf("proto=delivery/1\nqid=%s\nqueue_file=%s\n"
	    "sender=s@x\nrcpt=r@x\nindex=0\n\n", queue_writer_id(w), path);
	CHECK(queue_commit(&w) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		delivery_serve(sv[1], "test", serve_deliver);
		_exit(serve_calls == 3 ? 0 : 1);
	}
	close(sv[1]);
	c = conn_new(sv[0], 5000);
	for (int i = 1; i <= 3; i++) {
		char want[16];

		CHECK(conn_write(c, request, strlen(request)) == 0);
		CHECK(conn_flush(c) == 0);
		CHECK(rec_read(c, r) == 0);
		CHECK_STR(rec_get(r, "status"), "sent");
		snprintf(want, sizeof(want), "call %d", i);
		CHECK_STR(rec_get(r, "reason"), want);
	}
	conn_free(&c);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
	xfree(&path);
	xfree(&request);
	rec_free(&r);
}

int
main(void)
{
	int ret;

	log_init("delivery_test", false);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(top) == NULL || chdir(top) < 0 ||
	    queue_make_dirs(".", (uid_t)-1, (gid_t)-1) < 0)
		log_fatal("setup: %m");
	TEST_RUN(test_request_parse);
	TEST_RUN(test_reply);
	TEST_RUN(test_run_as);
	TEST_RUN(test_as_user);
	TEST_RUN(test_header_has);
	TEST_RUN(test_serve_requests);
	ret = TEST_DONE();
	if (chdir("/") == 0)
		nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}
