/*
 * qmgr_deliver_test.c - tests for qmgr_deliver.c: the request record, how
 * a reply maps to recipient results, and reused agent connections against
 * an agent played on the same event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "mem.h"
#include "qmgr_deliver.h"
#include "testing.h"

#define D QMGR_DELIVER_DEFERRED
#define S QMGR_DELIVER_SENT
#define B QMGR_DELIVER_BOUNCED

static void
init_rcpts(struct qmgr_deliver_rcpt *r)
{
	static const char *const addrs[] = { "a@x", "b@x", "c@x" };
	static const size_t indexes[] = { 0, 3, 5 };

	memset(r, 0, 3 * sizeof(*r));
	for (size_t i = 0; i < 3; i++) {
		r[i].address = addrs[i];
		r[i].index = indexes[i];
	}
	r[1].orcpt = "rfc822;B@x";
	r[1].notify = "FAILURE";
}

static void
test_apply_reply(void)
{
	static const struct {
		const char *reply;
		int want;
		enum qmgr_deliver_status status[3];
		const char *dsn[3];
		const char *reason1;	/* of the second recipient */
	} cases[] = {
		{ "proto=cleanup/1\nrcpt=a@x\nindex=0\nstatus=sent\n\n", -1,
		    { D, D, D }, { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t: malformed reply" },
		{ "proto=delivery/1\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		{ "proto=delivery/1\nreason=out of memory\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient: "
		    "out of memory" },
		/* wrong address for index 3, unknown status for 5 */
		{ "proto=delivery/1\nrcpt=a@x\nindex=0\nstatus=sent\n"
		    "rcpt=z@x\nindex=3\nstatus=sent\n"
		    "rcpt=c@x\nindex=5\nstatus=maybe\n\n", 0, { S, D, D },
		    { "2.0.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		/* bad index forms */
		{ "proto=delivery/1\nrcpt=b@x\nindex=-3\nstatus=sent\n"
		    "rcpt=b@x\nindex=3x\nstatus=sent\n"
		    "rcpt=b@x\nstatus=sent\n\n", 0, { D, D, D },
		    { "4.3.0", "4.3.0", "4.3.0" },
		    "delivery agent t gave no status for this recipient" },
		/* the first status for a recipient wins */
		{ "proto=delivery/1\nrcpt=b@x\nindex=3\nstatus=deferred\n"
		    "dsn=4.2.2\nreason=mailbox full\n"
		    "rcpt=b@x\nindex=3\nstatus=sent\n\n", 0, { D, D, D },
		    { "4.3.0", "4.2.2", "4.3.0" }, "mailbox full" },
		/* dsn classes follow the status; controls are cleaned */
		{ "proto=delivery/1\nrcpt=a@x\nindex=0\nstatus=sent\n"
		    "dsn=5.1.1\nreason=delivered to maildir\n"
		    "rcpt=b@x\nindex=3\nstatus=bounced\ndsn=5.1.1\n"
		    "reason=unknown%0Auser\n"
		    "rcpt=c@x\nindex=5\nstatus=deferred\n\n", 0, { S, B, D },
		    { "2.0.0", "5.1.1", "4.0.0" }, "unknown user" },
		{ "proto=delivery/1\nrcpt=c@x\nindex=5\nstatus=bounced\n"
		    "rcpt=b@x\nindex=3\nstatus=sent\ndsn=2.1.5\nreason=ok\n"
		    "rcpt=a@x\nindex=0\nstatus=sent\n\n", 0, { S, S, B },
		    { "2.0.0", "2.1.5", "5.0.0" }, "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmgr_deliver_rcpt r[3];
		struct rec *reply = rec_new();
		int got;

		init_rcpts(r);
		CHECK(rec_parse(reply, cases[i].reply,
		    strlen(cases[i].reply)) > 0);
		got = qmgr_deliver_apply_reply(reply, "t", r, 3);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: got %d\n", i, got);
		CHECK(got == cases[i].want);
		for (size_t j = 0; j < 3; j++) {
			if (r[j].status != cases[i].status[j])
				fprintf(stderr, "case %zu rcpt %zu: status "
				    "%d\n", i, j, (int)r[j].status);
			CHECK(r[j].status == cases[i].status[j]);
			CHECK_STR(r[j].dsn, cases[i].dsn[j]);
			CHECK(r[j].reason != NULL);
		}
		CHECK_STR(r[1].reason, cases[i].reason1);
		qmgr_deliver_rcpts_release(r, 3);
		CHECK(r[0].dsn == NULL && r[0].reason == NULL);
		rec_free(&reply);
	}
}

static void
test_build(void)
{
	struct qmgr_deliver_rcpt r[3];
	struct qmgr_deliver_request req = {
		.transport = "local", .qid = "ABC", .queue_file = "active/ABC",
		.sender = "", .nexthop = "example.com", .rcpts = r,
		.rcpt_count = 3,
	};
	struct rec *out = rec_new();
	struct buf *wire = buf_new(4096);
	static const char want[] =
	    "proto=delivery/1\nqid=ABC\nqueue_file=active/ABC\nsender=\n"
	    "nexthop=example.com\nrcpt=a@x\nindex=0\nrcpt=b@x\nindex=3\n"
	    "orcpt=rfc822;B@x\nnotify=FAILURE\nrcpt=c@x\nindex=5\n\n";

	init_rcpts(r);
	qmgr_deliver_build(&req, out);
	CHECK(rec_format(out, wire) == 0);
	CHECK_STR(wire->data, want);
	buf_free(&wire);
	rec_free(&out);
}

static void
test_fail_all(void)
{
	struct qmgr_deliver_rcpt r[3];

	init_rcpts(r);
	r[0].status = S;
	qmgr_deliver_fail_all(r, 3, "4.3.0", "agent crashed\n");
	for (size_t j = 0; j < 3; j++) {
		CHECK(r[j].status == D);
		CHECK_STR(r[j].dsn, "4.3.0");
		CHECK_STR(r[j].reason, "agent crashed ");
	}
	qmgr_deliver_rcpts_release(r, 3);
}

/* The agent: answers each request on a connection with "sent", except
 * that with drop_request = N it closes the connection unanswered when
 * the Nth request on it arrives. */
struct agent {
	struct event_loop *loop;
	int listen_fd;
	int accepts;
	int requests;		/* answered, in all */
	int drop_request;	/* 0: never */
};

struct agent_conn {
	struct agent *agent;
	struct buf in;
	int requests;		/* on this connection */
};

static void
agent_conn_event(int fd, int events, void *ctx)
{
	struct agent_conn *ac = ctx;
	struct rec *r;
	ssize_t n, used;
	char reply[256];

	(void)events;
	if (buf_reserve(&ac->in, 4096) < 0)
		goto close;
	n = read(fd, ac->in.data + ac->in.len, 4096);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		goto close;
	buf_commit(&ac->in, (size_t)n);
	r = rec_new();
	while ((used = rec_parse(r, ac->in.data, ac->in.len)) > 0) {
		buf_consume(&ac->in, (size_t)used);
		if (++ac->requests == ac->agent->drop_request) {
			rec_free(&r);
			goto close;
		}
		snprintf(reply, sizeof(reply), "proto=delivery/1\n"
		    "rcpt=%s\nindex=%s\nstatus=sent\ndsn=2.0.0\n"
		    "reason=ok\n\n", rec_get(r, "rcpt"), rec_get(r, "index"));
		CHECK(io_write_all(fd, reply, strlen(reply)) == 0);
		ac->agent->requests++;
	}
	rec_free(&r);
	return;
close:
	event_del(ac->agent->loop, fd);
	close(fd);
	buf_release(&ac->in);
	free(ac);
}

static void
agent_accept(int fd, int events, void *ctx)
{
	struct agent *a = ctx;
	struct agent_conn *ac;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (c < 0)
		return;
	a->accepts++;
	ac = xcalloc(1, sizeof(*ac));
	ac->agent = a;
	buf_init(&ac->in, 65536);
	CHECK(event_add(a->loop, c, EVENT_READ, agent_conn_event, ac) == 0);
}

struct outcome {
	bool done;
	struct qmgr_deliver_rcpt rcpt;
};

static void
outcome_done(void *ctx, struct qmgr_deliver_rcpt *rcpts, size_t count)
{
	struct outcome *o = ctx;

	CHECK(count == 1 && rcpts == &o->rcpt);
	o->done = true;
}

/* One delivery of one recipient; its status. */
static enum qmgr_deliver_status
deliver_one(struct event_loop *loop, struct connpool *pool)
{
	struct outcome o = { 0 };
	struct qmgr_deliver_request req = {
		.transport = "fake", .qid = "ABC", .queue_file = "active/ABC",
		.sender = "s@x", .nexthop = "", .rcpts = &o.rcpt,
		.rcpt_count = 1, .connect_timeout_ms = 1000,
		.timeout_ms = 3000, .pool = pool,
	};
	int64_t deadline = io_now_ms() + 5000;

	o.rcpt.address = "a@x";
	qmgr_deliver_start(loop, &req, outcome_done, &o);
	while (!o.done && io_now_ms() < deadline)
		CHECK(event_run_once(loop, 100) == 0);
	CHECK(o.done);
	qmgr_deliver_rcpts_release(&o.rcpt, 1);
	return o.rcpt.status;
}

static void
test_reused_connections(void)
{
	char dir[] = "/tmp/qmgr_deliver_test.XXXXXX";
	struct event_loop *loop = event_new();
	struct connpool *pool = connpool_new(loop, 4, 10000, 60000);
	struct agent a = { .loop = loop };
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
	CHECK(mkdir("private", 0700) == 0);
	a.listen_fd = io_unix_listen("private/fake", 0600, 16);
	CHECK(a.listen_fd >= 0);
	CHECK(event_add(loop, a.listen_fd, EVENT_READ, agent_accept, &a) == 0);

	/* Two deliveries, one connection. */
	CHECK(deliver_one(loop, pool) == S);
	CHECK(connpool_count(pool) == 1);
	CHECK(deliver_one(loop, pool) == S);
	CHECK(a.accepts == 1 && a.requests == 2);

	/* The agent closes the idle connection as the request arrives:
	 * sent again on a new connection, and delivered once. */
	a.drop_request = 3;
	CHECK(deliver_one(loop, pool) == S);
	CHECK(a.accepts == 2 && a.requests == 3);
	CHECK(connpool_count(pool) == 1);

	/* On a new connection, the same failure is the agent's crash: the
	 * recipient is deferred, not sent again. */
	a.drop_request = 1;
	connpool_free(&pool);
	pool = connpool_new(loop, 4, 10000, 60000);
	CHECK(deliver_one(loop, pool) == D);
	CHECK(a.accepts == 3 && a.requests == 3);
	CHECK(connpool_count(pool) == 0);

	/* Without a pool: a connection per delivery. */
	a.drop_request = 0;
	CHECK(deliver_one(loop, NULL) == S);
	CHECK(deliver_one(loop, NULL) == S);
	CHECK(a.accepts == 5);

	connpool_free(&pool);
	/* Let the agent side see the closes and free its connections. */
	for (int i = 0; i < 5; i++)
		CHECK(event_run_once(loop, 10) == 0);
	event_del(loop, a.listen_fd);
	close(a.listen_fd);
	unlink("private/fake");
	rmdir("private");
	CHECK(fchdir(cwd) == 0);
	close(cwd);
	rmdir(dir);
	event_free(&loop);
}

int
main(void)
{
	TEST_RUN(test_apply_reply);
	TEST_RUN(test_build);
	TEST_RUN(test_fail_all);
	TEST_RUN(test_reused_connections);
	return TEST_DONE();
}
