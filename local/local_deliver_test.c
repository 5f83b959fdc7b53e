/*
 * local_deliver_test.c - drive local_service() over a socketpair against
 * queue files in a temporary queue directory.
 *
 * The password lookups are replaced: "bob" and "carol" are fake users
 * whose homes live in the temporary directory. Run as root, they (and
 * default_privs "nobody") have nobody's uid, so every delivery really
 * switches uid; as a normal user everything runs as ourselves. A fake
 * cleanup server on private/cleanup receives forwarded mail.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "local.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "queue.h"
#include "rec.h"
#include "testing.h"

static char top[] = "/tmp/local_test.XXXXXX";
static uid_t test_uid;
static gid_t test_gid;
static struct passwd pw_bob, pw_carol, pw_nobody;

static struct passwd *
test_getpwnam(const char *name)
{
	errno = 0;
	if (strcmp(name, "bob") == 0)
		return &pw_bob;
	if (strcmp(name, "carol") == 0)
		return &pw_carol;
	if (strcmp(name, "nobody") == 0)
		return &pw_nobody;
	return NULL;
}

static struct passwd *
test_getpwuid(uid_t uid)
{
	errno = 0;
	return uid == test_uid ? &pw_nobody : NULL;
}

static void
test_user(struct passwd *pw, const char *name)
{
	pw->pw_name = xstrdup(name);
	pw->pw_uid = test_uid;
	pw->pw_gid = test_gid;
	pw->pw_dir = xasprintf("%s/%s", top, name);
	pw->pw_shell = xstrdup("/bin/sh");
	if (mkdir(pw->pw_dir, 0755) < 0 && errno != EEXIST)
		log_fatal("mkdir %s: %m", pw->pw_dir);
	if (chown(pw->pw_dir, test_uid, test_gid) < 0)
		log_fatal("chown %s: %m", pw->pw_dir);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	if (io_write_file_atomic(path, text, strlen(text), mode) < 0 ||
	    chown(path, test_uid, test_gid) < 0 || chmod(path, mode) < 0)
		log_fatal("write %s: %m", path);
}

static char *
read_text(const char *path)
{
	struct buf *b = buf_new(1024 * 1024);
	char *s;

	if (io_read_file(path, 1024 * 1024, b) < 0) {
		buf_free(&b);
		return xstrdup("");
	}
	s = buf_strdup(b);
	buf_free(&b);
	return s;
}

/* A queue file in incoming/ with this content; returns its qid. */
static char *
make_message(const char *sender, const char *content)
{
	struct queue_writer *w = queue_create();
	struct rec *env = rec_new();
	char *qid;

	if (w == NULL)
		log_fatal("queue_create: %m");
	rec_put(env, "sender", sender);
	rec_put(env, "rcpt", "x@example.test");
	if (queue_write_envelope(w, env) < 0 ||
	    queue_write_content(w, content, strlen(content)) < 0)
		log_fatal("queue write: %m");
	qid = xstrdup(queue_writer_id(w));
	if (queue_commit(&w) < 0)
		log_fatal("queue_commit: %m");
	rec_free(&env);
	return qid;
}

struct result {
	char status[16];
	char dsn[16];
	char reason[512];
};

/* Deliver qid to the recipients; results[i] per recipient. Returns the
 * number of results in the reply. */
static size_t
deliver(const char *qid, const char *sender, const char *const *rcpts,
    struct result *results)
{
	struct rec *r = rec_new();
	struct conn *c;
	char *path = xasprintf("incoming/%s", qid);
	size_t i, n = 0;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		log_fatal("socketpair: %m");
	c = conn_new(sv[0], 30000);
	rec_put(r, "proto", PROTO_DELIVERY);
	rec_put(r, "qid", qid);
	rec_put(r, "queue_file", path);
	rec_put(r, "sender", sender);
	rec_put(r, "nexthop", "example.test");
	for (i = 0; rcpts[i] != NULL; i++) {
		rec_put(r, "rcpt", rcpts[i]);
		rec_put_int(r, "index", (long long)i);
	}
	CHECK(rec_write(c, r) == 0);
	local_service(sv[1]);
	close(sv[1]);
	CHECK(rec_read(c, r) == 0);
	CHECK_STR(rec_get(r, "proto"), PROTO_DELIVERY);
	for (i = 0; i < r->count; i++) {
		const char *name = r->attrs[i].name, *value = r->attrs[i].value;

		if (strcmp(name, "rcpt") == 0) {
			memset(&results[n], 0, sizeof(results[n]));
			CHECK_STR(value, rcpts[n]);
			n++;
		} else if (n > 0 && strcmp(name, "status") == 0) {
			snprintf(results[n - 1].status,
			    sizeof(results[n - 1].status), "%s", value);
		} else if (n > 0 && strcmp(name, "dsn") == 0) {
			snprintf(results[n - 1].dsn,
			    sizeof(results[n - 1].dsn), "%s", value);
		} else if (n > 0 && strcmp(name, "reason") == 0) {
			snprintf(results[n - 1].reason,
			    sizeof(results[n - 1].reason), "%s", value);
		}
	}
	conn_free(&c);
	rec_free(&r);
	free(path);
	return n;
}

static size_t
count(const char *text, const char *what)
{
	size_t n = 0;

	while ((text = strstr(text, what)) != NULL) {
		n++;
		text++;
	}
	return n;
}

static void
show(const struct result *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "  %zu: %s %s %s\n", i, r[i].status, r[i].dsn,
		    r[i].reason);
}

static void
test_bad_requests(void)
{
	static const char *const reqs[] = {
		"proto=cleanup/1\nqid=1\n\n",
		"proto=delivery/1\nqid=A1\nqueue_file=/etc/passwd\n"
		    "rcpt=a@b\nindex=0\n\n",
		"proto=delivery/1\nqid=A1\nqueue_file=incoming/../../x\n"
		    "rcpt=a@b\nindex=0\n\n",
		"proto=delivery/1\nqid=A1\nqueue_file=incoming/A1\n"
		    "rcpt=a@b\n\n",
	};
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char data[16];
		int sv[2];

		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		CHECK(io_write_all(sv[0], reqs[i], strlen(reqs[i])) == 0);
		shutdown(sv[0], SHUT_WR);
		local_service(sv[1]);
		close(sv[1]);
		/* No reply: qmgr sees the connection close and defers. */
		CHECK(read(sv[0], data, sizeof(data)) == 0);
		close(sv[0]);
	}
}

static void
test_missing_queue_file(void)
{
	static const char *const rcpts[] = { "bob@example.test", NULL };
	struct result res[2];

	CHECK(deliver("ABC123", "s@remote.test", rcpts, res) == 1);
	CHECK_STR(res[0].status, "deferred");
	CHECK_STR(res[0].dsn, "4.3.0");
}

static void
test_mbox_and_bounces(void)
{
	static const char *const rcpts[] = {
		"nosuch@example.test",		/* unknown user */
		"Bob@Example.TEST",		/* mbox, case folded */
		"loop@example.test",		/* Delivered-To loop */
		"cmd@example.test",		/* alias to a command */
		"fail@example.test",		/* command exits 1 */
		"tempfail@example.test",	/* command exits 75 */
		"shell@example.test",		/* needs a shell: refused */
		"file@example.test",		/* alias to a file */
		"list@example.test",		/* alias list, nested */
		"restricted@example.test",	/* .forward names a command */
		NULL,
	};
	struct result res[16];
	char *qid, *mbox, *path, *text, *want;
	size_t n;

	config_set("home_mailbox", "mbox");
	config_set("allow_mail_to_commands", "alias");
	qid = make_message("s@remote.test", "Delivered-To: loop@example.test\n"
	    "Subject: t\n\nFrom the start\n>From quoted\nend\n");
	n = deliver(qid, "s@remote.test", rcpts, res);
	CHECK(n == 10);
	if (n != 10) {
		show(res, n);
		free(qid);
		return;
	}
	CHECK_STR(res[0].status, "bounced");
	CHECK_STR(res[0].dsn, "5.1.1");
	CHECK_STR(res[0].reason, "unknown user: \"nosuch\"");
	CHECK_STR(res[1].status, "sent");
	CHECK_STR(res[1].reason, "delivered to mailbox");
	CHECK_STR(res[2].status, "bounced");
	CHECK_STR(res[2].dsn, "5.4.6");
	CHECK_STR(res[2].reason, "mail forwarding loop for loop@example.test");
	CHECK_STR(res[3].status, "sent");
	CHECK(strncmp(res[3].reason, "delivered to command: /usr/bin/tee",
	    34) == 0);
	CHECK_STR(res[4].status, "bounced");
	CHECK_STR(res[4].dsn, "5.3.0");
	CHECK_STR(res[5].status, "deferred");
	CHECK_STR(res[5].dsn, "4.3.0");
	CHECK(strstr(res[5].reason, "status 75") != NULL);
	CHECK_STR(res[6].status, "deferred");
	CHECK_STR(res[6].dsn, "4.3.5");
	CHECK_STR(res[7].status, "sent");
	CHECK(strncmp(res[7].reason, "delivered to file: ", 19) == 0);
	CHECK_STR(res[8].status, "sent");
	CHECK_STR(res[9].status, "bounced");
	CHECK_STR(res[9].dsn, "5.7.1");
	CHECK_STR(res[9].reason, "mail to command is restricted");
	show(res, n);

	mbox = xasprintf("%s/bob/mbox", top);
	text = read_text(mbox);
	want = "Return-Path: <s@remote.test>\nDelivered-To: bob@example.test\n"
	    "Delivered-To: loop@example.test\nSubject: t\n\n>From the start\n"
	    ">From quoted\nend\n\n";
	CHECK(strncmp(text, "From s@remote.test  ", 20) == 0);
	CHECK(strchr(text, '\n') != NULL &&
	    strncmp(strchr(text, '\n') + 1, want, strlen(want)) == 0);
	/* list names bob three ways: one delivery. */
	CHECK(count(text, "Delivered-To: list@example.test\n") == 1);
	CHECK(count(text, "Delivered-To: bob@example.test\n") == 1);
	free(text);
	free(mbox);

	path = xasprintf("%s/pub/cmd.out", top);
	text = read_text(path);
	CHECK(strncmp(text, "Return-Path: <s@remote.test>\nDelivered-To: "
	    "cmd@example.test\n", 58) == 0);
	CHECK(strstr(text, "\nFrom the start\n") != NULL);
	free(text);
	free(path);

	path = xasprintf("%s/pub/archive", top);
	text = read_text(path);
	CHECK(strncmp(text, "From s@remote.test", 18) == 0);
	CHECK(strstr(text, "Delivered-To: file@example.test\n") != NULL);
	CHECK(strstr(text, "\n>From the start\n") != NULL);
	free(text);
	free(path);
	free(qid);
}

static void
test_forward_file(void)
{
	static const char *const rcpts[] = { "carol+x@example.test", NULL };
	struct result res[2];
	char *qid, *path, *text;

	config_set("home_mailbox", "mbox");
	config_set("allow_mail_to_commands", "alias, forward");
	qid = make_message("", "Subject: fwd\n\nbody\n");
	CHECK(deliver(qid, "", rcpts, res) == 1);
	show(res, 1);
	CHECK_STR(res[0].status, "sent");
	path = xasprintf("%s/carol/mbox", top);
	text = read_text(path);
	CHECK(strstr(text, "\nFrom MAILER-DAEMON  ") != NULL);
	CHECK(strstr(text, "Return-Path: <>\nDelivered-To: "
	    "carol+x@example.test\n") != NULL);
	free(text);
	free(path);
	path = xasprintf("%s/pub/carol.env", top);
	text = read_text(path);
	CHECK(strstr(text, "EXTENSION=x\n") != NULL);
	CHECK(strstr(text, "RECIPIENT=carol+x@example.test\n") != NULL);
	CHECK(strstr(text, "USER=carol\n") != NULL);
	CHECK(strstr(text, "PATH=/usr/bin:/bin\n") != NULL);
	free(text);
	free(path);
	free(qid);
}

/* A fake cleanup: one connection, records what it got in fwd.out. */
static pid_t
fake_cleanup(void)
{
	int lfd = io_unix_listen(PROTO_CLEANUP_PATH, 0666, 5);
	pid_t pid;

	if (lfd < 0)
		log_fatal("listen: %m");
	if ((pid = fork()) == 0) {
		struct rec *r = rec_new();
		struct buf *content = buf_new(1024 * 1024), *out;
		struct conn *c;
		int fd = accept(lfd, NULL, NULL);
		ssize_t n;

		c = conn_new(fd, 10000);
		if (rec_read(c, r) < 0)
			_exit(1);
		out = buf_new(2 * 1024 * 1024);
		rec_format(r, out);
		rec_reset(r);
		rec_put(r, "proto", PROTO_CLEANUP);
		rec_put(r, "status", "ok");
		rec_put(r, "qid", "F0RWARD");
		rec_write(c, r);
		while ((n = rec_read_chunk(c, content)) > 0)
			;
		if (n < 0)
			_exit(1);
		buf_add(out, content->data, content->len);
		io_write_file_atomic("fwd.out", out->data, out->len, 0644);
		rec_write(c, r);
		conn_free(&c);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
test_forward_remote(void)
{
	static const char *const rcpts[] = { "remote@example.test", NULL };
	struct result res[2];
	char *qid, *text;
	pid_t pid = fake_cleanup();
	int status;

	qid = make_message("s@remote.test", "Subject: r\n\nbody\n");
	CHECK(deliver(qid, "s@remote.test", rcpts, res) == 1);
	show(res, 1);
	CHECK_STR(res[0].status, "sent");
	CHECK_STR(res[0].reason, "forwarded as F0RWARD");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	text = read_text("fwd.out");
	CHECK(strstr(text, "proto=cleanup/1\norigin=local\n"
	    "sender=s@remote.test\n") != NULL);
	CHECK(strstr(text, "rcpt=Someone@Remote.test\n") != NULL);
	CHECK(strstr(text, "rcpt=other@remote.test\n") != NULL);
	CHECK(strstr(text, "\n\nDelivered-To: remote@example.test\n"
	    "Subject: r\n\nbody\n") != NULL);
	free(text);
	free(qid);
	unlink(PROTO_CLEANUP_PATH);
}

static void
test_maildir(void)
{
	static const char *const rcpts[] = { "bob@example.test", NULL };
	struct result res[2];
	char *qid;

	config_set("home_mailbox", "Maildir/");
	qid = make_message("s@remote.test", "Subject: m\n\nbody\n");
	CHECK(deliver(qid, "s@remote.test", rcpts, res) == 1);
	show(res, 1);
	CHECK_STR(res[0].status, "sent");
	CHECK_STR(res[0].reason, "delivered to maildir");
	free(qid);
}

/* An empty home_mailbox means mail_spool_directory/USER, which only
 * root may create: the parent creates it for the user. */
static void
test_spool(void)
{
	static const char *const rcpts[] = { "bob@example.test", NULL };
	struct result res[2];
	struct stat st;
	char *qid, *spool, *path, *text;

	spool = xasprintf("%s/spool", top);
	CHECK(mkdir(spool, 0755) == 0);
	config_set("mail_spool_directory", spool);
	config_set("home_mailbox", "");
	qid = make_message("s@remote.test", "Subject: spool\n\nbody\n");
	CHECK(deliver(qid, "s@remote.test", rcpts, res) == 1);
	show(res, 1);
	CHECK_STR(res[0].status, "sent");
	CHECK_STR(res[0].reason, "delivered to mailbox");
	path = xasprintf("%s/bob", spool);
	CHECK(stat(path, &st) == 0 && st.st_uid == test_uid &&
	    (st.st_mode & 0777) == 0600);
	text = read_text(path);
	CHECK(strstr(text, "Subject: spool\n\nbody\n\n") != NULL);
	free(text);
	free(path);
	free(spool);
	free(qid);
}

static void
setup(void)
{
	struct passwd *nobody = getpwnam("nobody");
	char *aliases, *path, *text;

	if (mkdtemp(top) == NULL || chmod(top, 0755) < 0 || chdir(top) < 0 ||
	    queue_make_dirs(".", (uid_t)-1, (gid_t)-1) < 0 ||
	    mkdir("pub", 01777) < 0 ||
	    chmod("pub", 01777) < 0)
		log_fatal("setup %s: %m", top);
	if (geteuid() == 0 && nobody != NULL) {
		test_uid = nobody->pw_uid;
		test_gid = nobody->pw_gid;
	} else {
		test_uid = getuid();
		test_gid = getgid();
	}
	test_user(&pw_bob, "bob");
	test_user(&pw_carol, "carol");
	test_user(&pw_nobody, "nobody");
	local_getpwnam = test_getpwnam;
	local_getpwuid = test_getpwuid;

	path = xasprintf("%s/carol/.forward", top);
	text = xasprintf("# carol's forward\n\\carol,\n"
	    "\"|/bin/sh -c 'env > %s/pub/carol.env'\"\n", top);
	write_file(path, text, 0644);
	free(text);
	free(path);

	aliases = xasprintf("inline:{ "
	    "{cmd=|/usr/bin/tee %s/pub/cmd.out}, "
	    "{fail=|/bin/false}, "
	    "{tempfail=|/bin/sh -c 'exit 75'}, "
	    "{shell=|/bin/cat > /tmp/x}, "
	    "{file=%s/pub/archive}, "
	    "{list=bob, \\bob, alias2}, "
	    "{alias2=bob@localhost}, "
	    "{restricted=carol}, "
	    "{remote=Someone@Remote.test, other@remote.test, "
	    "someone@remote.test} }", top, top);
	config_set("alias_maps", aliases);
	free(aliases);
	config_set("mydestination", "example.test, localhost");
	config_set("default_privs", "nobody");
	config_set("recipient_delimiter", "+");
	local_init();
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
	int ret;

	log_init("local_test", true);
	signal(SIGPIPE, SIG_IGN);
	setup();
	TEST_RUN(test_bad_requests);
	TEST_RUN(test_missing_queue_file);
	TEST_RUN(test_mbox_and_bounces);
	TEST_RUN(test_forward_file);
	TEST_RUN(test_forward_remote);
	TEST_RUN(test_maildir);
	TEST_RUN(test_spool);
	ret = TEST_DONE();
	if (chdir("/") == 0)
		nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}
