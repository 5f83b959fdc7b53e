/*
 * pwcheck_test.c - the sasl daemon's request handling with a fake
 * checker (malformed requests, ok with and without a canonical name,
 * wrong password, temporary failure), and libsasl2 itself against a
 * sasldb made with saslpasswd2 when that program is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "mem.h"
#include "proto.h"
#include "pwcheck.h"
#include "rec.h"
#include "testing.h"

static enum pwcheck_result
fake_check(const char *user, const char *password, char **canonical_r,
    char **reason_r)
{
	*canonical_r = *reason_r = NULL;
	if (strcmp(password, "temp") == 0) {
		*reason_r = xstrdup("saslauthd not running");
		return PWCHECK_TEMP;
	}
	if (strcmp(password, "right") != 0) {
		*reason_r = xstrdup("authentication failure");
		return PWCHECK_FAIL;
	}
	if (strcmp(user, "Alice") == 0)
		*canonical_r = xstrdup("alice");
	return PWCHECK_OK;
}

static void
test_answer(void)
{
	static const struct {
		const char *proto, *user, *password;
		const char *status, *reply_user;
	} cases[] = {
		/* failures first */
		{ NULL, "alice", "right", "temp", NULL },
		{ "cleanup/1", "alice", "right", "temp", NULL },
		{ PROTO_SASL, NULL, "right", "temp", NULL },
		{ PROTO_SASL, "alice", NULL, "temp", NULL },
		{ PROTO_SASL, "", "right", "temp", NULL },
		{ PROTO_SASL, "alice", "wrong", "fail", NULL },
		{ PROTO_SASL, "alice", "temp", "temp", NULL },
		/* good */
		{ PROTO_SASL, "alice", "right", "ok", "alice" },
		{ PROTO_SASL, "Alice", "right", "ok", "alice" },
	};
	struct rec *req = rec_new(), *reply = rec_new();
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec_reset(req);
		if (cases[i].proto != NULL)
			rec_put(req, "proto", cases[i].proto);
		rec_put(req, "app", "smtpd");
		rec_put(req, "mechanism", "PLAIN");
		if (cases[i].user != NULL)
			rec_put(req, "user", cases[i].user);
		if (cases[i].password != NULL)
			rec_put(req, "password", cases[i].password);
		pwcheck_answer(req, reply, fake_check);
		CHECK_STR(rec_get(reply, "proto"), PROTO_SASL);
		CHECK_STR(rec_get(reply, "status"), cases[i].status);
		CHECK_STR(rec_get(reply, "user"), cases[i].reply_user);
		/* Never echo the password. */
		CHECK(rec_get(reply, "password") == NULL);
		if (strcmp(cases[i].status, "ok") != 0)
			CHECK(rec_get(reply, "reason") != NULL);
	}
	rec_free(&req);
	rec_free(&reply);
}

/* saslpasswd2 -p -c -f DB -u mx.example.test USER, password on stdin. */
static int
saslpasswd2(const char *db, const char *user, const char *password)
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/sbin/saslpasswd2", "saslpasswd2", "-p", "-c", "-f",
		    db, "-u", "mx.example.test", user, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	(void)!write(fds[1], password, strlen(password));
	(void)!write(fds[1], "\n", 1);
	close(fds[1]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* libsasl2 with a real sasldb (skipped without saslpasswd2). */
static void
test_cyrus_sasldb(void)
{
	char dir[] = "/tmp/pwcheck_test.XXXXXX", path[512], db[512];
	char *canonical, *reason;
	FILE *f;

	if (access("/usr/sbin/saslpasswd2", X_OK) != 0) {
		printf("skipped: no saslpasswd2\n");
		return;
	}
	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/smtpd.conf", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fprintf(f, "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
	    "sasldb_path: %s/sasldb2\nmech_list: PLAIN LOGIN\n", dir);
	fclose(f);
	snprintf(db, sizeof(db), "%s/sasldb2", dir);
	CHECK(saslpasswd2(db, "alice", "right") == 0);
	config_set("myhostname", "mx.example.test");
	config_set("smtpd_sasl_path", "smtpd");
	config_set("cyrus_sasl_config_path", dir);
	pwcheck_init();
	CHECK(pwcheck_cyrus("alice", "right", &canonical, &reason) ==
	    PWCHECK_OK);
	CHECK_STR(canonical, "alice");
	xfree(&canonical);
	xfree(&reason);
	CHECK(pwcheck_cyrus("alice", "wrong", &canonical, &reason) ==
	    PWCHECK_FAIL);
	CHECK(reason != NULL && strstr(reason, "wrong") == NULL);
	xfree(&canonical);
	xfree(&reason);
	CHECK(pwcheck_cyrus("nobody", "right", &canonical, &reason) ==
	    PWCHECK_FAIL);
	xfree(&canonical);
	xfree(&reason);
	unlink(db);
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

int
main(void)
{
	TEST_RUN(test_answer);
	TEST_RUN(test_cyrus_sasldb);
	return TEST_DONE();
}
