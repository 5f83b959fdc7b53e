/*
 * virtual_deliver_test.c - mailbox paths, and virtual_service() driven
 * over a socketpair against a queue file in a temporary queue directory.
 * As root the Maildirs are written as nobody; otherwise as ourselves.
 */
#include <errno.h>
#include <dirent.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"
#include "virtual.h"

static char top[] = "/tmp/virtual_test.XXXXXX";
static uid_t test_uid;
static gid_t test_gid;

static void
test_path_safe(void)
{
	static const struct {
		const char *in;
		bool want;
	} cases[] = {
		{ "", false },
		{ "/etc/", false },
		{ "../x/", false },
		{ "a/../../x/", false },
		{ "a/..", false },
		{ "..", false },
		{ "carol/", true },
		{ "example.com/carol/", true },
		{ "a..b/", true },
		{ "..a/", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(virtual_path_safe(cases[i].in) == cases[i].want);
}

/* Count the files in dir/new and check their owner; -1 when missing. */
static int
count_new(const char *dir, char **first_r)
{
	char *path = xasprintf("%s/new", dir);
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		free(path);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *file;

		if (e->d_name[0] == '.')
			continue;
		file = xasprintf("%s/%s", path, e->d_name);
		CHECK(stat(file, &st) == 0 && st.st_uid == test_uid);
		if (n++ == 0 && first_r != NULL) {
			struct buf *b = buf_new(1024 * 1024);

			CHECK(io_read_file(file, 1024 * 1024, b) == 0);
			*first_r = buf_strdup(b);
			buf_free(&b);
		}
		free(file);
	}
	closedir(d);
	free(path);
	return n;
}

static void
test_deliver(void)
{
	static const char *const rcpts[] = {
		"nobody-here@virtual.test",	/* 5.1.1 */
		"Carol@Virtual.TEST",		/* carol/ */
		"carol+tag@virtual.test",	/* carol/ via the base */
		"anyone@catch.test",		/* catch-all */
		"mbox@virtual.test",		/* 5.3.5 */
		"evil@virtual.test",		/* path with .. */
		"rootuid@virtual.test",		/* uid 0 */
		"lowuid@virtual.test",		/* under virtual_minimum_uid */
		"loop@virtual.test",		/* Delivered-To */
		NULL,
	};
	static const char *const want[][2] = {
		{ "bounced", "5.1.1" },
		{ "sent", "2.0.0" },
		{ "sent", "2.0.0" },
		{ "sent", "2.0.0" },
		{ "bounced", "5.3.5" },
		{ "deferred", "4.3.5" },
		{ "deferred", "4.3.0" },
		{ "deferred", "4.3.0" },
		{ "bounced", "5.4.6" },
	};
	const char *content = "Delivered-To: loop@virtual.test\nSubject: v\n"
	    "\nhello\n";
	struct queue_writer *w = queue_create();
	struct rec *r = rec_new();
	struct conn *c;
	char *qid, *path, *dir, *text = NULL;
	size_t i, n = 0;
	int sv[2];

	rec_put(r, "sender", "s@remote.test");
	rec_put(r, "rcpt", "x");
	CHECK(w != NULL && queue_write_envelope(w, r) == 0 &&
	    queue_write_content(w, content, strlen(content)) == 0);
	qid = xstrdup(queue_writer_id(w));
	CHECK(queue_commit(&w) == 0);
	path = xasprintf("incoming/%s", qid);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	c = conn_new(sv[0], 30000);
	rec_reset(r);
	rec_put(r, "proto", PROTO_DELIVERY);
	rec_put(r, "qid", qid);
	rec_put(r, "queue_file", path);
	rec_put(r, "sender", "s@remote.test");
	for (i = 0; rcpts[i] != NULL; i++) {
		rec_put(r, "rcpt", rcpts[i]);
		rec_put_int(r, "index", (long long)i + 10);
	}
	CHECK(rec_write(c, r) == 0);
	virtual_service(sv[1]);
	close(sv[1]);
	CHECK(rec_read(c, r) == 0);
	for (i = 0; i < r->count; i++) {
		const char *name = r->attrs[i].name, *value = r->attrs[i].value;

		if (strcmp(name, "rcpt") == 0) {
			CHECK(n < 9);
			if (n >= 9)
				break;
			CHECK_STR(value, rcpts[n]);
			n++;
		} else if (strcmp(name, "status") == 0) {
			CHECK_STR(value, want[n - 1][0]);
		} else if (strcmp(name, "dsn") == 0) {
			CHECK_STR(value, want[n - 1][1]);
		} else if (strcmp(name, "index") == 0) {
			char idx[16];

			snprintf(idx, sizeof(idx), "%zu", n - 1 + 10);
			CHECK_STR(value, idx);
		}
	}
	CHECK(n == 9);
	conn_free(&c);

	dir = xasprintf("%s/mail/carol", top);
	CHECK(count_new(dir, &text) == 2);
	CHECK(text != NULL && strncmp(text, "Return-Path: <s@remote.test>\n"
	    "Delivered-To: ", 43) == 0);
	CHECK(text != NULL && strstr(text, "\nSubject: v\n\nhello\n") != NULL);
	free(text);
	free(dir);
	dir = xasprintf("%s/mail/catchall", top);
	CHECK(count_new(dir, NULL) == 1);
	free(dir);
	free(path);
	free(qid);
	rec_free(&r);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

int
main(void)
{
	struct passwd *nobody = getpwnam("nobody");
	char *value;
	int ret;

	log_init("virtual_test", true);
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() == 0 && nobody != NULL) {
		test_uid = nobody->pw_uid;
		test_gid = nobody->pw_gid;
	} else {
		test_uid = getuid();
		test_gid = getgid();
	}
	if (mkdtemp(top) == NULL || chmod(top, 0755) < 0 || chdir(top) < 0 ||
	    queue_make_dirs(".", (uid_t)-1, (gid_t)-1) < 0 ||
	    mkdir("mail", 0755) < 0 || chown("mail", test_uid, test_gid) < 0)
		log_fatal("setup: %m");
	value = xasprintf("%s/mail", top);
	config_set("virtual_mailbox_base", value);
	free(value);
	config_set("virtual_mailbox_maps", "inline:{ "
	    "carol@virtual.test=carol/, mbox@virtual.test=mboxfile, "
	    "evil@virtual.test=../../etc/, "
	    "rootuid@virtual.test=r/, lowuid@virtual.test=l/, "
	    "loop@virtual.test=carol/, @catch.test=catchall/ }");
	value = xasprintf("inline:{ rootuid@virtual.test=0, "
	    "lowuid@virtual.test=99 }, static:%ld", (long)test_uid);
	config_set("virtual_uid_maps", value);
	free(value);
	value = xasprintf("static:%ld", (long)test_gid);
	config_set("virtual_gid_maps", value);
	free(value);
	config_set("virtual_minimum_uid", "100");
	config_set("recipient_delimiter", "+");
	virtual_init();
	TEST_RUN(test_path_safe);
	TEST_RUN(test_deliver);
	ret = TEST_DONE();
	if (chdir("/") == 0)
		nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}
