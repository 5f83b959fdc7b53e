/*
 * smtpd_sasl_test.c - the Dovecot auth client: the reply parser against
 * canned server lines, and whole conversations with a fake Dovecot on a
 * unix socket in a temporary directory (handshake, multiplexed requests
 * answered out of order, FAIL with temp, a server that dies), and the
 * cyrus backend's "server not there" path.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "event.h"
#include "mem.h"
#include "smtpd_sasl.h"
#include "testing.h"

static void
test_parse(void)
{
	static const struct {
		const char *line;
		int ret;
		enum smtpd_sasl_dovecot_kind kind;
		unsigned long id;
		const char *user;
		const char *reason;
		bool temp;
	} cases[] = {
		/* failures first */
		{ "VERSION", -1, 0, 0, NULL, NULL, false },
		{ "VERSION\tx\t2", -1, 0, 0, NULL, NULL, false },
		{ "OK", -1, 0, 0, NULL, NULL, false },
		{ "OK\t", -1, 0, 0, NULL, NULL, false },
		{ "OK\t12a", -1, 0, 0, NULL, NULL, false },
		{ "FAIL\t-1", -1, 0, 0, NULL, NULL, false },
		{ "CONT\t99999999999", -1, 0, 0, NULL, NULL, false },
		/* handshake */
		{ "VERSION\t1\t2", 0, SMTPD_SASL_DOVECOT_VERSION, 0, NULL, NULL,
		    false },
		{ "MECH\tPLAIN\tplaintext", 0, SMTPD_SASL_DOVECOT_OTHER, 0, NULL,
		    NULL, false },
		{ "SPID\t123", 0, SMTPD_SASL_DOVECOT_OTHER, 0, NULL, NULL,
		    false },
		{ "DONE", 0, SMTPD_SASL_DOVECOT_DONE, 0, NULL, NULL, false },
		/* answers */
		{ "OK\t7", 0, SMTPD_SASL_DOVECOT_OK, 7, NULL, NULL, false },
		{ "OK\t7\tuser=alice", 0, SMTPD_SASL_DOVECOT_OK, 7, "alice",
		    NULL, false },
		{ "OK\t8\tuser=a\001tb\tx=1", 0, SMTPD_SASL_DOVECOT_OK, 8,
		    "a?b", NULL, false },
		{ "FAIL\t3\tuser=bob", 0, SMTPD_SASL_DOVECOT_FAIL, 3, "bob", NULL,
		    false },
		{ "FAIL\t3\treason=Password expired\ttemp", 0,
		    SMTPD_SASL_DOVECOT_FAIL, 3, NULL, "Password expired", true },
		{ "FAIL\t4\treason=a\001nb", 0, SMTPD_SASL_DOVECOT_FAIL, 4, NULL,
		    "a?b", false },
		{ "CONT\t5\tVXNlcm5hbWU6", 0, SMTPD_SASL_DOVECOT_CONT, 5, NULL,
		    NULL, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_sasl_dovecot_reply r;
		int ret = smtpd_sasl_dovecot_parse(cases[i].line, &r);

		CHECK(ret == cases[i].ret);
		if (ret != cases[i].ret) {
			fprintf(stderr, "case %zu: %s\n", i, cases[i].line);
			continue;
		}
		if (ret == 0) {
			CHECK(r.kind == cases[i].kind);
			CHECK(r.id == cases[i].id);
			CHECK_STR(r.user, cases[i].user);
			CHECK_STR(r.reason, cases[i].reason);
			CHECK(r.temp == cases[i].temp);
		}
		smtpd_sasl_dovecot_release(&r);
	}
}

static void
test_parse_long_field(void)
{
	struct smtpd_sasl_dovecot_reply r;
	char line[2048];

	memcpy(line, "OK\t1\tuser=", 10);
	memset(line + 10, 'a', 1000);
	line[1010] = '\0';
	CHECK(smtpd_sasl_dovecot_parse(line, &r) == -1);
	smtpd_sasl_dovecot_release(&r);
}

static void
test_base64(void)
{
	static const struct { const char *in; size_t len; const char *out; }
	cases[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "\0alice\0pw", 9, "AGFsaWNlAHB3" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = smtpd_sasl_base64(cases[i].in, cases[i].len);

		CHECK_STR(got, cases[i].out);
		xfree(&got);
	}
}

/* -- a fake Dovecot ----------------------------------------------------- */

struct fake {
	struct event_loop *loop;
	int listen_fd;
	int fd;			/* the accepted client */
	struct buf in;
	int accepts;
	char *auth_lines[8];	/* AUTH lines received */
	int auth_count;
	bool die;		/* close instead of answering */
};

struct result {
	int calls;
	enum smtpd_sasl_result result;
	char *user;
	char *reason;
};

static struct fake fake;

static void
fake_answer(void)
{
	char reply[512];
	int i;

	if (fake.auth_count < 2 && !fake.die)
		return;
	if (fake.die) {
		event_del(fake.loop, fake.fd);
		close(fake.fd);
		fake.fd = -1;
		return;
	}
	/* Out of order: the second request first. */
	for (i = fake.auth_count - 1; i >= 0; i--) {
		char *id = fake.auth_lines[i] + 5;
		size_t idlen = strcspn(id, "\t");
		bool good = strstr(fake.auth_lines[i],
		    "resp=AGFsaWNlAHJpZ2h0") != NULL;	/* \0alice\0right */

		snprintf(reply, sizeof(reply), good ? "OK\t%.*s\tuser=Alice\n" :
		    "FAIL\t%.*s\tuser=alice\n", (int)idlen, id);
		(void)!write(fake.fd, reply, strlen(reply));
	}
}

static void
fake_client_event(int fd, int events, void *ctx)
{
	char chunk[4096], *nl;
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n <= 0) {
		event_del(fake.loop, fd);
		close(fd);
		fake.fd = -1;
		return;
	}
	(void)buf_add(&fake.in, chunk, (size_t)n);
	while ((nl = memchr(fake.in.data, '\n', fake.in.len)) != NULL) {
		char *line = xstrndup(fake.in.data,
		    (size_t)(nl - fake.in.data));

		buf_consume(&fake.in, (size_t)(nl - fake.in.data) + 1);
		if (strncmp(line, "AUTH\t", 5) == 0 && fake.auth_count < 8) {
			fake.auth_lines[fake.auth_count++] = line;
			fake_answer();
		} else {
			xfree(&line);
		}
	}
}

static void
fake_accept(int fd, int events, void *ctx)
{
	static const char hello[] = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
	    "MECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\tab\nDONE\n";
	int c = accept(fd, NULL, NULL);

	if (c < 0)
		return;
	fake.accepts++;
	fake.fd = c;
	buf_reset(&fake.in);
	(void)!write(c, hello, sizeof(hello) - 1);
	(void)event_add(fake.loop, c, EVENT_READ, fake_client_event, NULL);
}

static void
record(void *ctx, enum smtpd_sasl_result result, const char *user,
    const char *reason)
{
	struct result *r = ctx;

	r->calls++;
	r->result = result;
	r->user = user ? xstrdup(user) : NULL;
	r->reason = reason ? xstrdup(reason) : NULL;
}

static void
run_until(struct event_loop *loop, struct result *a, struct result *b)
{
	int i;

	for (i = 0; i < 200 && (a->calls == 0 || (b && b->calls == 0)); i++)
		event_run_once(loop, 20);
}

static void
fake_reset(void)
{
	int i;

	for (i = 0; i < fake.auth_count; i++)
		xfree(&fake.auth_lines[i]);
	fake.auth_count = 0;
}

static void
test_dovecot_conversation(void)
{
	char dir[] = "/tmp/smtpd_sasl_test.XXXXXX", path[256];
	struct smtpd_sasl_info info = { .mechanism = "PLAIN",
	    .client_addr = "192.0.2.1", .local_addr = "192.0.2.2",
	    .secured = true };
	struct result a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct smtpd_sasl_request *rc;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/auth", dir);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		CHECK(0);
		return;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	memset(&fake, 0, sizeof(fake));
	fake.fd = -1;
	buf_init(&fake.in, 65536);
	fake.loop = event_new();
	fake.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fake.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(fake.listen_fd, 5) == 0);
	(void)event_add(fake.loop, fake.listen_fd, EVENT_READ, fake_accept,
	    NULL);
	config_set("smtpd_sasl_type", "dovecot");
	config_set("smtpd_sasl_path", path);

	/* Two requests at once, answered out of order, on one connection. */
	(void)smtpd_sasl_check(fake.loop, &info, "alice", "right", record, &a);
	(void)smtpd_sasl_check(fake.loop, &info, "alice", "wrong", record, &b);
	CHECK(a.calls == 0 && b.calls == 0);	/* never synchronous */
	run_until(fake.loop, &a, &b);
	CHECK(a.calls == 1 && a.result == SMTPD_SASL_OK);
	CHECK_STR(a.user, "Alice");
	CHECK(b.calls == 1 && b.result == SMTPD_SASL_FAIL);
	CHECK(fake.accepts == 1);
	CHECK(fake.auth_count == 2);
	if (fake.auth_count == 2) {
		CHECK(strstr(fake.auth_lines[0], "\tPLAIN\tservice=smtp\t")
		    != NULL);
		CHECK(strstr(fake.auth_lines[0], "\tsecured\t") != NULL);
		CHECK(strstr(fake.auth_lines[0], "\trip=192.0.2.1\t") != NULL);
		CHECK(strstr(fake.auth_lines[0], "\tlip=192.0.2.2\t") != NULL);
		CHECK(strcmp(fake.auth_lines[0], fake.auth_lines[1]) != 0);
	}
	fake_reset();

	/* The server dies: pending requests are temporary failures, and
	 * the next check connects again. */
	fake.die = true;
	(void)smtpd_sasl_check(fake.loop, &info, "alice", "right", record, &c);
	run_until(fake.loop, &c, NULL);
	CHECK(c.calls == 1 && c.result == SMTPD_SASL_TEMP);
	fake.die = false;
	fake_reset();

	/* A cancelled request never calls back. */
	rc = smtpd_sasl_check(fake.loop, &info, "alice", "right", record, &d);
	smtpd_sasl_cancel(&rc);
	CHECK(rc == NULL);
	for (int i = 0; i < 10; i++)
		event_run_once(fake.loop, 10);
	CHECK(d.calls == 0);
	fake_reset();

	/* No server at all: temporary, from the loop. */
	if (fake.fd >= 0) {
		event_del(fake.loop, fake.fd);
		close(fake.fd);
		fake.fd = -1;
	}
	for (int i = 0; i < 10; i++)
		event_run_once(fake.loop, 10);
	memset(&d, 0, sizeof(d));
	config_set("smtpd_sasl_path", "/nonexistent/auth");
	(void)smtpd_sasl_check(fake.loop, &info, "alice", "right", record, &d);
	CHECK(d.calls == 0);
	run_until(fake.loop, &d, NULL);
	CHECK(d.calls == 1 && d.result == SMTPD_SASL_TEMP);

	xfree(&a.user);
	xfree(&a.reason);
	xfree(&b.user);
	xfree(&b.reason);
	xfree(&c.user);
	xfree(&c.reason);
	xfree(&d.user);
	xfree(&d.reason);
	fake_reset();
	event_del(fake.loop, fake.listen_fd);
	close(fake.listen_fd);
	if (fake.fd >= 0) {
		event_del(fake.loop, fake.fd);
		close(fake.fd);
	}
	buf_release(&fake.in);
	unlink(path);
	rmdir(dir);
}

static void
test_cyrus_unreachable(void)
{
	struct event_loop *loop = event_new();
	struct smtpd_sasl_info info = { .mechanism = "LOGIN",
	    .client_addr = "192.0.2.1" };
	struct result r = { 0 };

	/* The cwd has no private/sasl socket. */
	config_set("smtpd_sasl_type", "cyrus");
	(void)smtpd_sasl_check(loop, &info, "alice", "pw", record, &r);
	CHECK(r.calls == 0);
	run_until(loop, &r, NULL);
	CHECK(r.calls == 1 && r.result == SMTPD_SASL_TEMP);
	xfree(&r.user);
	xfree(&r.reason);
	event_free(&loop);
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_parse_long_field);
	TEST_RUN(test_base64);
	TEST_RUN(test_dovecot_conversation);
	TEST_RUN(test_cyrus_unreachable);
	return TEST_DONE();
}
