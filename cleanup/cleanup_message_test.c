/*
 * cleanup_message_test.c - tests for cleanup_message.c and
 * cleanup_alias.c: request validation, header processing, sendmail -t,
 * virtual alias expansion with inline: tables, header_checks with a
 * regexp: table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup_alias.h"
#include "cleanup_message.h"
#include "mem.h"
#include "testing.h"

static struct cleanup_settings settings = {
	.myhostname = "host.test",
	.myorigin = "origin.test",
	.alias_limits = { .recursion = 20, .expansion = 10,
	    .delimiter = "+" },
	.hopcount_limit = 3,
	.header_size_limit = 102400,
	.message_size_limit = 10240000,
};

/* A request from "name=value" pairs separated by "|". */
static struct rec *
request(const char *spec)
{
	struct rec *r = rec_new();
	char *copy = xstrdup(spec), *p = copy;

	while (p != NULL && *p != '\0') {
		char *bar = strchr(p, '|'), *eq;

		if (bar != NULL)
			*bar = '\0';
		eq = strchr(p, '=');
		*eq = '\0';
		rec_put(r, p, eq + 1);
		p = bar ? bar + 1 : NULL;
	}
	xfree(&copy);
	return r;
}

static char *
rcpt_list(const struct cleanup_rcpts *r)
{
	struct buf *b = buf_new(65536);
	char *s;

	for (size_t i = 0; i < r->count; i++)
		buf_printf(b, "%s%s", i ? " " : "", r->list[i].address);
	s = buf_strdup(b);
	buf_free(&b);
	return s;
}

static void
test_start(void)
{
	static const struct {
		const char *req;
		int want;
		const char *status;
	} cases[] = {
		{ "proto=cleanup/0|sender=a@b|rcpt=c@d", -1, "451" },
		{ "proto=cleanup/1|rcpt=c@d", -1, "451" },
		{ "proto=cleanup/1|sender=a@b", -1, "554" },
		{ "proto=cleanup/1|sender=a@b|orcpt=x|rcpt=c@d", -1, "451" },
		{ "proto=cleanup/1|origin=mars|sender=|rcpt=c@d", -1, "451" },
		{ "proto=cleanup/1|sender=a@b|rcpt=c\n@d", -1, "554" },
		{ "proto=cleanup/1|sender=a\r@b|rcpt=c@d", -1, "554" },
		{ "proto=cleanup/1|sender=|rcpt=c@d|notify=NEVER", 0, NULL },
		{ "proto=cleanup/1|sender=a|extract_recipients=1", 0, NULL },
		{ "proto=cleanup/1|sender=a|rcpt=c@d|future=1", 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *req = request(cases[i].req);
		struct cleanup_message m;

		CHECK(cleanup_message_start(&m, &settings, req) ==
		    cases[i].want);
		CHECK_STR(m.fail_status, cases[i].status);
		cleanup_message_release(&m);
		rec_free(&req);
	}
}

/* Run the header processing on content; returns the output headers. */
static char *
run(const char *req_spec, const char *content, int want,
    struct cleanup_message *m, struct rec **req_r)
{
	struct buf *out = buf_new(1024 * 1024);
	size_t used = 0;
	char *s;

	*req_r = request(req_spec);
	CHECK(cleanup_message_start(m, &settings, *req_r) == 0);
	cleanup_message_set_qid(m, "QID1");
	m->now = 1795459651;
	CHECK(cleanup_message_headers(m, content, strlen(content), true, out,
	    &used) == want);
	s = buf_strdup(out);
	buf_free(&out);
	return s;
}

static void
test_headers_smtpd(void)
{
	struct cleanup_message m;
	struct rec *req;
	char *out, *list;

	out = run("proto=cleanup/1|origin=smtpd|sender=a@b|helo=mx.ex|"
	    "client_name=c.ex|client_addr=192.0.2.9|protocol=ESMTP|"
	    "rcpt=bob@test", "Subject: hi\n\nbody\n", 0, &m, &req);
	CHECK_STR(out, "Received: from mx.ex (c.ex [192.0.2.9])\n"
	    "\tby host.test (postern) with ESMTP id QID1\n"
	    "\tfor <bob@test>; Mon, 23 Nov 2026 18:47:31 +0000\n"
	    "Subject: hi\n\n");
	list = rcpt_list(&m.rcpts);
	CHECK_STR(list, "bob@test");
	CHECK(m.message_id == NULL);
	xfree(&list);
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);

	/* Too many hops: 4 Received: headers, limit 3. */
	out = run("proto=cleanup/1|sender=a@b|rcpt=bob@test",
	    "Received: 1\nReceived: 2\nreceived: 3\nReceived: 4\n\nx\n", -1,
	    &m, &req);
	CHECK_STR(m.fail_status, "554");
	CHECK_STR(m.fail_dsn, "5.4.6");
	CHECK_STR(m.fail_text, "Too many hops");
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);
}

static void
test_headers_pickup(void)
{
	struct cleanup_message m;
	struct rec *req;
	char *out, *list;

	out = run("proto=cleanup/1|origin=pickup|sender=joe|uid=1000|"
	    "local_submit=1|extract_recipients=1|full_name=Joe Q. User|"
	    "rcpt=extra", "To: A <a@x>, b@y\nCc: grp: c@z;\n"
	    "Bcc: secret@x\nSubject: s\n\nbody", 0, &m, &req);
	CHECK_STR(out, "Received: by host.test (postern, from userid 1000)\n"
	    "\tid QID1; Mon, 23 Nov 2026 18:47:31 +0000\n"
	    "To: A <a@x>, b@y\nCc: grp: c@z;\nSubject: s\n"
	    "From: \"Joe Q. User\" <joe@origin.test>\n"
	    "Date: Mon, 23 Nov 2026 18:47:31 +0000\n"
	    "Message-ID: <QID1@host.test>\n\n");
	list = rcpt_list(&m.rcpts);
	CHECK_STR(list, "extra@origin.test a@x b@y c@z secret@x");
	CHECK_STR(m.sender, "joe@origin.test");
	CHECK_STR(m.message_id, "<QID1@host.test>");
	xfree(&list);
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);

	/* Resent- headers win; existing From/Date/Message-ID are kept. */
	out = run("proto=cleanup/1|origin=pickup|sender=joe@x|uid=0|"
	    "local_submit=1|extract_recipients=1",
	    "From: j@x\nDate: d\nMessage-ID: <m@x>\nTo: old@x\n"
	    "Resent-To: new@x\nResent-Bcc: hidden@x\n\n", 0, &m, &req);
	list = rcpt_list(&m.rcpts);
	CHECK_STR(list, "new@x hidden@x");
	CHECK(strstr(out, "Resent-Bcc") == NULL);
	CHECK(strstr(out, "To: old@x\n") != NULL);
	CHECK(strstr(out, "Message-ID: <QID1") == NULL);
	CHECK_STR(m.message_id, "<m@x>");
	xfree(&list);
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);

	/* -t without any recipient anywhere. */
	out = run("proto=cleanup/1|origin=pickup|sender=joe@x|"
	    "extract_recipients=1", "Subject: none\n\n", -1, &m, &req);
	CHECK_STR(m.fail_dsn, "5.1.3");
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);
}

static void
test_aliases(void)
{
	static const struct {
		const char *rcpts;	/* space separated */
		int want;
		const char *result;
	} cases[] = {
		{ "loop1@x", -1, NULL },	/* loop1 -> loop2 -> loop1 */
		{ "big@x", -1, NULL },		/* 11 results, limit 10 */
		{ "none@x", 0, "none@x" },
		{ "a@x", 0, "b@y c@z" },
		{ "A@X", 0, "b@y c@z" },
		{ "self@x", 0, "self@x other@y" },
		{ "list@x", 0, "b@y c@z d@w" },	/* list -> a, d; dup */
		{ "a@x c@z", 0, "b@y c@z" },
		{ "anyone@catch.test", 0, "postmaster@y" },
		{ "a+tag@x", 0, "b@y c@z" },
		{ "base+tag@x", 0, "u+tag@y" },
	};
	const char *spec = "inline:{ {a@x = b@y, c@z}, "
	    "{self@x = self@x other@y}, {list@x = a@x, d@w, c@z}, "
	    "loop1@x=loop2@x, loop2@x=loop1@x, @catch.test=postmaster@y, "
	    "base@x=u@y, {a+tag@x = b@y c@z}, "
	    "{big@x = 1@a 2@a 3@a 4@a 5@a 6@a 7@a 8@a 9@a 10@a 11@a} }";
	char *error = NULL;
	struct maplist *maps = maplist_open(spec, &error);

	CHECK(maps != NULL);
	if (maps == NULL) {
		fprintf(stderr, "maplist_open: %s\n", error);
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cleanup_rcpts r = { 0 };
		char *copy = xstrdup(cases[i].rcpts), *save = NULL, *list;
		const char *why = NULL;

		for (char *t = strtok_r(copy, " ", &save); t != NULL;
		    t = strtok_r(NULL, " ", &save))
			cleanup_rcpts_add(&r, t, NULL, "NEVER");
		CHECK(cleanup_alias_expand(maps, &settings.alias_limits, &r,
		    &why) == cases[i].want);
		if (cases[i].result != NULL) {
			list = rcpt_list(&r);
			CHECK_STR(list, cases[i].result);
			xfree(&list);
			CHECK_STR(r.list[0].notify, "NEVER");
		} else {
			CHECK(why != NULL);
		}
		cleanup_rcpts_release(&r);
		xfree(&copy);
	}
	{	/* orcpt: kept when given, else the original address */
		struct cleanup_rcpts r = { 0 };
		const char *why;

		cleanup_rcpts_add(&r, "a@x", NULL, NULL);
		cleanup_rcpts_add(&r, "list@x", "rfc822;orig@x", NULL);
		CHECK(cleanup_alias_expand(maps, &settings.alias_limits, &r,
		    &why) == 0);
		CHECK(r.count == 3);
		CHECK_STR(r.list[0].orcpt, "rfc822;a@x");
		CHECK_STR(r.list[1].orcpt, "rfc822;a@x");
		CHECK_STR(r.list[2].orcpt, "rfc822;orig@x");	/* d@w */
		cleanup_rcpts_release(&r);
	}
	maplist_close(&maps);
}

static void
test_header_checks(void)
{
	char path[] = "/tmp/cleanup_test_XXXXXX";
	int fd = mkstemp(path);
	const char *table =
	    "/^Subject: .*viagra/	REJECT 5.7.0 no spam here\n"
	    "/^Subject: plain reject/	REJECT\n"
	    "/^X-Drop:/	IGNORE\n"
	    "/^X-Warn:/	WARN looked at it\n"
	    "/^X-Odd:/	FILTER smtp:x\n"
	    "/^X-Fold: a\\n\\tb/	IGNORE\n";
	char *spec, *error = NULL, *out;
	struct cleanup_message m;
	struct rec *req;

	CHECK(fd >= 0 && write(fd, table, strlen(table)) ==
	    (ssize_t)strlen(table));
	close(fd);
	spec = xasprintf("regexp:%s", path);
	settings.header_checks = maplist_open(spec, &error);
	CHECK(settings.header_checks != NULL);
	if (settings.header_checks == NULL) {
		fprintf(stderr, "%s\n", error);
		goto done;
	}
	out = run("proto=cleanup/1|sender=a@b|rcpt=c@d",
	    "Subject: cheap viagra\n\n", -1, &m, &req);
	CHECK_STR(m.fail_status, "550");
	CHECK_STR(m.fail_dsn, "5.7.0");
	CHECK_STR(m.fail_text, "no spam here");
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);

	out = run("proto=cleanup/1|sender=a@b|rcpt=c@d",
	    "Subject: plain reject\n\n", -1, &m, &req);
	CHECK_STR(m.fail_dsn, "5.7.1");
	CHECK_STR(m.fail_text, "message content rejected");
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);

	out = run("proto=cleanup/1|origin=local|sender=a@b|rcpt=c@d",
	    "X-Drop: 1\nX-Warn: 2\nX-Odd: 3\nX-Fold: a\n\tb\nX-Keep: 4\n\n",
	    0, &m, &req);
	CHECK_STR(out, "X-Warn: 2\nX-Odd: 3\nX-Keep: 4\n\n");
	xfree(&out);
	cleanup_message_release(&m);
	rec_free(&req);
	maplist_close(&settings.header_checks);
done:
	unlink(path);
	xfree(&spec);
	xfree(&error);
}

static void
test_envelope(void)
{
	struct cleanup_message m;
	struct rec *req, *env = rec_new();
	char *out;

	out = run("proto=cleanup/1|origin=smtpd|sender=a@b|client_addr=1.2.3.4|"
	    "helo=h|rcpt=c@d|orcpt=rfc822;c@d|notify=NEVER|rcpt=e@f|"
	    "tls=1|uid=5", "\n", 0, &m, &req);
	cleanup_message_envelope(&m, env);
	CHECK_STR(rec_get(env, "sender"), "a@b");
	CHECK_STR(rec_get(env, "client_addr"), "1.2.3.4");
	CHECK_STR(rec_get(env, "origin"), "smtpd");
	CHECK_STR(rec_get(env, "orcpt"), "rfc822;c@d");
	CHECK_STR(rec_get(env, "notify"), "NEVER");
	CHECK(rec_get(env, "tls") == NULL);
	CHECK(env->count == 9);
	CHECK_STR(env->attrs[env->count - 1].value, "e@f");
	CHECK(strstr(out, "\tby host.test (postern) with SMTP id QID1;\n")
	    != NULL);
	xfree(&out);
	rec_free(&env);
	cleanup_message_release(&m);
	rec_free(&req);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	TEST_RUN(test_start);
	TEST_RUN(test_headers_smtpd);
	TEST_RUN(test_headers_pickup);
	TEST_RUN(test_aliases);
	TEST_RUN(test_header_checks);
	TEST_RUN(test_envelope);
	return TEST_DONE();
}
