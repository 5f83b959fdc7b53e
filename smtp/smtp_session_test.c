/*
 * smtp_session_test.c - smtp_session.c against a scripted server in a
 * child process on a Unix socket: the pipelined command group, per-
 * recipient results, dot-stuffing on the wire, LMTP's reply per
 * recipient, a 421 that breaks the session, SIZE refused before MAIL.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "delivery.h"
#include "io.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "smtp.h"
#include "testing.h"

struct script {
	const char *ehlo;	/* keywords after the first line, '\n'-joined */
	const char *bad_rcpt;	/* RCPT with this address gets rcpt_reply */
	const char *rcpt_reply;
	const char *final;	/* after the content */
	bool lmtp;
};

/* The server: answers line by line, appends what it read to log. */
static void
serve(int listen_fd, const struct script *s, const char *log_path)
{
	struct buf *in = buf_new(1 << 20);
	FILE *log = fopen(log_path, "w");
	int fd = accept(listen_fd, NULL, NULL);
	bool data = false;
	int accepted = 0;

	if (fd < 0 || log == NULL)
		_exit(2);
	dprintf(fd, "220 test ESMTP\r\n");
	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(in->data, '\n', in->len)) == NULL) {
			if (buf_reserve(in, 4096) < 0)
				_exit(3);
			n = read(fd, in->data + in->len, 4096);
			if (n <= 0)
				goto done;
			buf_commit(in, (size_t)n);
		}
		*nl = '\0';
		if (nl > in->data && nl[-1] == '\r')
			nl[-1] = '\0';
		fprintf(log, "%s\n", in->data);
		if (data) {
			if (strcmp(in->data, ".") == 0) {
				int i;

				/* LMTP: the second recipient is over quota. */
				data = false;
				for (i = 0; i < (s->lmtp ? accepted : 1); i++)
					dprintf(fd, "%s\r\n",
					    i == 1 && s->lmtp ?
					    "452 4.2.2 over quota" : s->final);
			}
		} else if (strncmp(in->data, "EHLO", 4) == 0 ||
		    strncmp(in->data, "LHLO", 4) == 0) {
			const char *p = s->ehlo, *e;

			dprintf(fd, "250-test\r\n");
			while ((e = strchr(p, '\n')) != NULL) {
				dprintf(fd, "250-%.*s\r\n", (int)(e - p), p);
				p = e + 1;
			}
			dprintf(fd, "250 %s\r\n", p);
		} else if (strncmp(in->data, "MAIL", 4) == 0) {
			dprintf(fd, "250 2.1.0 ok\r\n");
		} else if (strncmp(in->data, "RCPT", 4) == 0) {
			if (s->bad_rcpt != NULL &&
			    strstr(in->data, s->bad_rcpt) != NULL) {
				dprintf(fd, "%s\r\n", s->rcpt_reply);
				if (strncmp(s->rcpt_reply, "421", 3) == 0)
					goto done;
			} else {
				accepted++;
				dprintf(fd, "250 2.1.5 ok\r\n");
			}
		} else if (strncmp(in->data, "DATA", 4) == 0) {
			if (accepted == 0) {
				dprintf(fd, "554 5.5.1 no recipients\r\n");
			} else {
				data = true;
				dprintf(fd, "354 go\r\n");
			}
		} else if (strncmp(in->data, "RSET", 4) == 0) {
			accepted = 0;
			dprintf(fd, "250 2.0.0 ok\r\n");
		} else if (strncmp(in->data, "QUIT", 4) == 0) {
			dprintf(fd, "221 bye\r\n");
			goto done;
		} else {
			dprintf(fd, "502 5.5.2 what\r\n");
		}
		buf_consume(in, (size_t)(nl - in->data) + 1);
	}
done:
	fclose(log);
	_exit(0);
}

static bool with_dsn;	/* envelope and request carry DSN parameters */

/* A queue file with three recipients and content that needs stuffing. */
static struct queue_file *
make_message(void)
{
	static const char content[] = "Subject: t\n\n.dot\nline\n";
	struct queue_writer *w;
	struct rec *env = rec_new();
	struct queue_file *q;
	char *path;

	CHECK(queue_make_dirs(".", (uid_t)-1, (gid_t)-1) == 0);
	w = queue_create();
	CHECK(w != NULL);
	rec_put(env, "arrival", "1700000000");
	rec_put(env, "sender", "s@example.org");
	rec_put(env, "body", "8BITMIME");
	if (with_dsn) {
		rec_put(env, "ret", "HDRS");
		rec_put(env, "envid", "id+1=2");
		rec_put(env, "smtputf8", "1");
	}
	rec_put(env, "rcpt", "a@example.com");
	rec_put(env, "rcpt", "bad@example.com");
	rec_put(env, "rcpt", "c@example.com");
	CHECK(queue_write_envelope(w, env) == 0);
	CHECK(queue_write_content(w, content, strlen(content)) == 0);
	path = xasprintf("incoming/%s", queue_writer_id(w));
	CHECK(queue_commit(&w) == 0);
	q = queue_open(path, false);
	CHECK(q != NULL);
	free(path);
	rec_free(&env);
	return q;
}

static void
make_request(struct delivery_request *req)
{
	static const char *const rcpts[] = { "a@example.com",
	    "bad@example.com", "c@example.com" };
	struct rec *r = rec_new();
	const char *error;
	size_t i;

	rec_put(r, "proto", "delivery/1");
	rec_put(r, "qid", "ABCDEF");
	rec_put(r, "queue_file", "incoming/x");
	rec_put(r, "sender", "s@example.org");
	for (i = 0; i < 3; i++) {
		rec_put(r, "rcpt", rcpts[i]);
		rec_put_int(r, "index", (long long)i);
		if (with_dsn && i == 0) {
			rec_put(r, "orcpt", "rfc822;A+B@example.com");
			rec_put(r, "notify", "SUCCESS,FAILURE");
		}
	}
	CHECK(delivery_request_parse(r, req, &error) == 0);
	rec_free(&r);
}

/* Run one transaction against script s; the session's return value,
 * the server's log in *log_r (fresh). */
static int
run(const struct script *s, struct delivery_request *req, bool *pending,
    struct smtp_failure *fail, char **log_r)
{
	struct smtp_target t = { .host = "test", .family = AF_UNIX,
	    .path = "smtp.sock" };
	struct smtp_tls_policy policy = { .level = SMTP_TLS_NONE };
	struct queue_file *q = make_message();
	struct smtp_failure open_fail = { 0 };
	struct smtp_conn *c;
	struct buf *log = buf_new(1 << 20);
	bool tls_failed;
	int listen_fd, ret = -9, status;
	pid_t pid;

	listen_fd = io_unix_listen("smtp.sock", 0600, 1);
	CHECK(listen_fd >= 0);
	if ((pid = fork()) == 0)
		serve(listen_fd, s, "server.log");
	close(listen_fd);
	c = smtp_session_open(&t, s->lmtp, &policy, false, NULL, &open_fail,
	    &tls_failed);
	CHECK(c != NULL);
	if (c != NULL) {
		ret = smtp_session_deliver(c, req, q, pending, fail);
		smtp_session_close(&c, ret == 0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(io_read_file("server.log", 1 << 20, log) == 0);
	*log_r = buf_strdup(log);
	buf_free(&log);
	smtp_failure_release(&open_fail);
	queue_close(&q);
	return ret;
}

static void
test_pipelined_one_rejected(void)
{
	static const struct script s = {
		.ehlo = "PIPELINING\nSIZE 100000\n8BITMIME",
		.bad_rcpt = "bad@",
		.rcpt_reply = "550 5.1.1 <bad@example.com>: User unknown",
		.final = "250 2.0.0 Ok: queued as X1",
	};
	struct delivery_request req;
	struct smtp_failure fail = { 0 };
	bool pending[3] = { true, true, true };
	char *log;

	make_request(&req);
	CHECK(run(&s, &req, pending, &fail, &log) == 0);
	CHECK(!pending[0] && !pending[1] && !pending[2]);
	CHECK(req.rcpts[0].status == DELIVERY_SENT);
	CHECK_STR(req.rcpts[0].reason, "250 2.0.0 Ok: queued as X1");
	CHECK(req.rcpts[1].status == DELIVERY_BOUNCED);
	CHECK_STR(req.rcpts[1].dsn, "5.1.1");
	CHECK_STR(req.rcpts[1].reason, "host test[smtp.sock] said: 550 5.1.1 "
	    "<bad@example.com>: User unknown (in reply to RCPT TO command)");
	CHECK_STR(req.rcpts[1].relay, "test[smtp.sock]");
	CHECK(req.rcpts[2].status == DELIVERY_SENT);
	/* BODY= and SIZE= (content + a CR per line), dot-stuffing. */
	CHECK(strstr(log, "MAIL FROM:<s@example.org> SIZE=26 BODY=8BITMIME\n"
	    "RCPT TO:<a@example.com>\nRCPT TO:<bad@example.com>\n"
	    "RCPT TO:<c@example.com>\nDATA\nSubject: t\n\n..dot\nline\n.\n")
	    != NULL);
	free(log);
	smtp_failure_release(&fail);
	delivery_request_release(&req);
}

static void
test_421_breaks_session(void)
{
	static const struct script s = {
		.ehlo = "SIZE", .bad_rcpt = "bad@",
		.rcpt_reply = "421 4.3.2 shutting down",
		.final = "250 ok",
	};
	struct delivery_request req;
	struct smtp_failure fail = { 0 };
	bool pending[3] = { true, true, true };
	char *log;

	make_request(&req);
	CHECK(run(&s, &req, pending, &fail, &log) == -1);
	/* Nothing final: every recipient may go to the next MX. */
	CHECK(pending[0] && pending[1] && pending[2]);
	CHECK(fail.status == DELIVERY_DEFERRED);
	CHECK(fail.reason != NULL && strstr(fail.reason, "421 4.3.2") != NULL);
	free(log);
	smtp_failure_release(&fail);
	delivery_request_release(&req);
}

static void
test_lmtp_per_recipient(void)
{
	static const struct script s = {
		.ehlo = "PIPELINING", .lmtp = true,
		.final = "250 2.0.0 delivered",
	};
	struct delivery_request req;
	struct smtp_failure fail = { 0 };
	bool pending[3] = { true, true, true };
	char *log;

	make_request(&req);
	CHECK(run(&s, &req, pending, &fail, &log) == 0);
	CHECK(strncmp(log, "LHLO ", 5) == 0);
	CHECK(req.rcpts[0].status == DELIVERY_SENT);
	CHECK(req.rcpts[1].status == DELIVERY_DEFERRED);	/* 452 */
	CHECK_STR(req.rcpts[1].dsn, "4.2.2");
	CHECK(req.rcpts[2].status == DELIVERY_SENT);
	free(log);
	smtp_failure_release(&fail);
	delivery_request_release(&req);
}

static void
test_size_refused_before_mail(void)
{
	static const struct script s = { .ehlo = "SIZE 10", .final = "250" };
	struct delivery_request req;
	struct smtp_failure fail = { 0 };
	bool pending[3] = { true, true, true };
	char *log;

	make_request(&req);
	CHECK(run(&s, &req, pending, &fail, &log) == 0);
	CHECK(req.rcpts[0].status == DELIVERY_BOUNCED);
	CHECK_STR(req.rcpts[0].dsn, "5.3.4");
	CHECK(strstr(log, "MAIL") == NULL);
	free(log);
	smtp_failure_release(&fail);
	delivery_request_release(&req);
}

static int
remove_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void
test_dsn_and_smtputf8(void)
{
	static const struct script s = {
		.ehlo = "DSN\nSMTPUTF8", .final = "250 ok",
	};
	static const struct script no_utf8 = { .ehlo = "DSN", .final = "250" };
	struct delivery_request req;
	struct smtp_failure fail = { 0 };
	bool pending[3] = { true, true, true };
	char *log;

	with_dsn = true;
	make_request(&req);
	CHECK(run(&s, &req, pending, &fail, &log) == 0);
	/* No 8BITMIME offered: BODY= is left out, the mail goes anyway. */
	CHECK(strstr(log, "MAIL FROM:<s@example.org> SMTPUTF8 RET=HDRS "
	    "ENVID=id+2B1+3D2\n") != NULL);
	CHECK(strstr(log, "RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;A+2BB@example.com\n") != NULL);
	CHECK(strstr(log, "RCPT TO:<bad@example.com>\n") != NULL);
	CHECK(req.rcpts[2].status == DELIVERY_SENT);
	free(log);
	delivery_request_release(&req);

	/* SMTPUTF8 mail to a server without it bounces 5.6.7. */
	memset(pending, 1, sizeof(pending));
	make_request(&req);
	CHECK(run(&no_utf8, &req, pending, &fail, &log) == 0);
	CHECK(req.rcpts[0].status == DELIVERY_BOUNCED);
	CHECK_STR(req.rcpts[0].dsn, "5.6.7");
	CHECK(strstr(log, "MAIL") == NULL);
	free(log);
	delivery_request_release(&req);
	with_dsn = false;
	smtp_failure_release(&fail);
}

int
main(void)
{
	char dir[] = "/tmp/smtp_session_test.XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	smtp_settings.helo_name = "client.test";
	smtp_settings.connect_timeout_ms = 5000;
	smtp_settings.helo_timeout_ms = smtp_settings.mail_timeout_ms =
	    smtp_settings.rcpt_timeout_ms = smtp_settings.data_init_timeout_ms =
	    smtp_settings.data_xfer_timeout_ms =
	    smtp_settings.data_done_timeout_ms = 5000;
	if (mkdtemp(dir) == NULL || chdir(dir) < 0)
		return 1;
	TEST_RUN(test_pipelined_one_rejected);
	TEST_RUN(test_421_breaks_session);
	TEST_RUN(test_lmtp_per_recipient);
	TEST_RUN(test_size_refused_before_mail);
	TEST_RUN(test_dsn_and_smtputf8);
	if (chdir("/") == 0)
		nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_DONE();
}
