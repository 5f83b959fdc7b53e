/*
 * cleanup_service_test.c - the cleanup/1 conversation end to end over a
 * socketpair, in a temporary queue directory: replies, the queue file,
 * abort on EOF, message_size_limit, header_size_limit, several requests
 * on one connection, both replies in one write for a message sent whole.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup_service.h"
#include "config.h"
#include "conn.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

/* Files in incoming/ (temporary ones included). */
static size_t
incoming_count(char *name_r, size_t size)
{
	DIR *d = opendir("incoming");
	struct dirent *de;
	size_t n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(name_r, size, "incoming/%s", de->d_name);
		n++;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static int
collect(void *ctx, const char *data, size_t len)
{
	return buf_add(ctx, data, len);
}

/* A request from smtpd; without rcpt, one cleanup refuses. */
static struct rec *
request(bool with_rcpt)
{
	struct rec *r = rec_new();

	rec_put(r, "proto", "cleanup/1");
	rec_put(r, "origin", "smtpd");
	rec_put(r, "sender", "a@b.test");
	rec_put(r, "client_addr", "192.0.2.1");
	if (with_rcpt)
		rec_put(r, "rcpt", "c@d.test");
	return r;
}

/* Send the request and content (end: send the 0 chunk), run cleanup,
 * and return the status of the last reply ("" when none). */
static char *
converse(const char *content, bool end, char **qid_r)
{
	int sv[2];
	struct conn *client;
	struct rec *r = request(true);
	char *status = xstrdup("");
	size_t len = strlen(content);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	client = conn_new(sv[0], 5000);
	CHECK(rec_write(client, r) == 0);
	for (size_t off = 0; off < len; off += 1000)
		CHECK(rec_write_chunk(client, content + off,
		    len - off < 1000 ? len - off : 1000) == 0);
	if (end)
		CHECK(rec_write_chunk(client, NULL, 0) == 0);
	CHECK(conn_flush(client) == 0);
	shutdown(sv[0], SHUT_WR);
	cleanup_service(sv[1]);
	close(sv[1]);
	*qid_r = NULL;
	while (rec_read(client, r) == 0) {
		xfree(&status);
		status = xstrdup(rec_get(r, "status") ? rec_get(r, "status") :
		    "?");
		if (rec_get(r, "qid") != NULL) {
			xfree(qid_r);
			*qid_r = xstrdup(rec_get(r, "qid"));
		}
	}
	rec_free(&r);
	conn_free(&client);
	return status;
}

static void
test_service(void)
{
	char dir[] = "/tmp/cleanup_service_XXXXXX", name[512];
	char *cwd = getcwd(NULL, 0), *status, *qid = NULL, *path;
	struct buf *big = buf_new(1024 * 1024), *content;
	struct queue_file *q;

	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
	CHECK(mkdir("incoming", 0700) == 0);
	config_set("myhostname", "host.test");
	config_set("message_size_limit", "5000");
	config_set("header_size_limit", "1024");
	cleanup_pre_jail();

	/* Client gone before the 0 chunk: nothing queued, no reply 2
	 * (nor reply 1: cleanup never had to wait for content). */
	status = converse("Subject: x\n\nbody\n", false, &qid);
	CHECK_STR(status, "");
	CHECK(incoming_count(name, sizeof(name)) == 0);
	xfree(&status);
	xfree(&qid);

	/* Too big: 552, nothing queued. */
	for (int i = 0; i < 6000; i++)
		buf_add_char(big, i % 50 == 49 ? '\n' : 'x');
	status = converse(big->data, true, &qid);
	CHECK_STR(status, "552");
	CHECK(incoming_count(name, sizeof(name)) == 0);
	xfree(&status);
	xfree(&qid);

	/* A header block past header_size_limit: the rest is body. */
	buf_reset(big);
	for (int i = 0; i < 40; i++)
		buf_printf(big, "X-H%02d: %040d\n", i, i);
	buf_add_str(big, "\nbody\n");
	status = converse(big->data, true, &qid);
	CHECK_STR(status, "ok");
	CHECK(qid != NULL && incoming_count(name, sizeof(name)) == 1);
	path = xasprintf("incoming/%s", qid ? qid : "");
	CHECK_STR(name, path);
	q = queue_open(path, false);
	CHECK(q != NULL);
	if (q != NULL) {
		content = buf_new(1024 * 1024);
		CHECK(queue_read_content(q, collect, content) == 0);
		CHECK(strncmp(content->data, "Received: from unknown "
		    "(unknown [192.0.2.1])\n", 44) == 0);
		/* 1024 / 48 = 21 whole headers, then the inserted line. */
		CHECK(strstr(content->data, "X-H20: ") != NULL);
		CHECK(strstr(content->data, "\n\nX-H21: ") != NULL);
		CHECK(strstr(content->data, "X-H39: ") != NULL);
		CHECK_STR(queue_get(q, "sender"), "a@b.test");
		CHECK(q->rcpt_count == 1);
		CHECK_STR(q->rcpts[0].address, "c@d.test");
		CHECK(q->size == content->len);
		buf_free(&content);
		queue_close(&q);
	}
	unlink(path);
	xfree(&path);
	xfree(&status);
	xfree(&qid);

	/* Two messages on one connection (smtpd keeps them open), then a
	 * refused request ends it: what follows is not taken for another
	 * request. */
	{
		int sv[2], replies = 0, oks = 0;
		struct conn *client;
		struct rec *r = request(true), *bad = request(false);
		DIR *d;
		struct dirent *de;

		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		client = conn_new(sv[0], 5000);
		for (int i = 0; i < 2; i++) {
			CHECK(rec_write(client, r) == 0);
			CHECK(rec_write_chunk(client, "Subject: x\n\nbody\n",
			    17) == 0);
			CHECK(rec_write_chunk(client, NULL, 0) == 0);
		}
		CHECK(rec_write(client, bad) == 0);
		CHECK(rec_write(client, r) == 0);
		CHECK(conn_flush(client) == 0);
		shutdown(sv[0], SHUT_WR);
		cleanup_service(sv[1]);
		close(sv[1]);
		while (rec_read(client, bad) == 0) {
			replies++;
			if (rec_get(bad, "status") != NULL &&
			    strcmp(rec_get(bad, "status"), "ok") == 0)
				oks++;
		}
		CHECK(replies == 5);
		CHECK(oks == 4);
		CHECK(incoming_count(name, sizeof(name)) == 2);
		d = opendir("incoming");
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(name, sizeof(name), "incoming/%s",
			    de->d_name);
			unlink(name);
		}
		if (d != NULL)
			closedir(d);
		rec_free(&r);
		rec_free(&bad);
		conn_free(&client);
	}

	buf_free(&big);
	rmdir("incoming");
	CHECK(chdir(cwd) == 0);
	CHECK(rmdir(dir) == 0);
	free(cwd);
}

/* A message sent whole, in one write, is answered in one write: reply 1
 * waits for reply 2 (SOCK_SEQPACKET shows the writes). */
static void
test_one_write(void)
{
	char dir[] = "/tmp/cleanup_service_XXXXXX", name[512], in[4096];
	char *cwd = getcwd(NULL, 0);
	struct rec *r = request(true);
	struct buf *out = buf_new(64 * 1024);
	const char *p;
	int sv[2], oks = 0;
	ssize_t n;

	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
	CHECK(mkdir("incoming", 0700) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHECK(rec_format(r, out) == 0);
	CHECK(rec_format_chunk(out, "Subject: x\n\nbody\n", 17) == 0);
	CHECK(rec_format_chunk(out, NULL, 0) == 0);
	CHECK(send(sv[0], out->data, out->len, 0) == (ssize_t)out->len);
	shutdown(sv[0], SHUT_WR);
	cleanup_service(sv[1]);
	close(sv[1]);
	n = recv(sv[0], in, sizeof(in) - 1, 0);
	CHECK(n > 0);
	in[n > 0 ? n : 0] = '\0';
	for (p = in; (p = strstr(p, "status=ok\n")) != NULL; p++)
		oks++;
	CHECK(oks == 2);
	CHECK(recv(sv[0], in, sizeof(in), 0) == 0);
	close(sv[0]);
	CHECK(incoming_count(name, sizeof(name)) == 1);
	unlink(name);
	rmdir("incoming");
	CHECK(chdir(cwd) == 0);
	CHECK(rmdir(dir) == 0);
	free(cwd);
	buf_free(&out);
	rec_free(&r);
}

int
main(void)
{
	TEST_RUN(test_service);
	TEST_RUN(test_one_write);
	return TEST_DONE();
}
