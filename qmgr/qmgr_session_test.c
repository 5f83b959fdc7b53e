/*
 * qmgr_session_test.c - qmgr/1 request handling that needs no queue:
 * refusals, the reply's framing, and that list starts a listing (an
 * empty directory). (test/test_qmgr.py drives the rest against a running
 * qmgr; qmgr_list_test.c the list records.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmgr_session.h"
#include "testing.h"

static void
test_handle(void)
{
	static const struct {
		const char *request;
		const char *status;
	} cases[] = {
		{ "request=wakeup\n\n", "501" },		/* no proto */
		{ "proto=qmgr/2\nrequest=wakeup\n\n", "501" },
		{ "proto=qmgr/1\n\n", "501" },			/* no request */
		{ "proto=qmgr/1\nrequest=reboot\n\n", "501" },
		{ "proto=qmgr/1\nrequest=hold\n\n", "501" },	/* no qid */
		{ "proto=qmgr/1\nrequest=hold\nqid=../etc\n\n", "501" },
		{ "proto=qmgr/1\nrequest=delete\nqid=.x\n\n", "501" },
		{ "proto=qmgr/1\nrequest=release\nqid=AB/CD\n\n", "501" },
		{ "proto=qmgr/1\nrequest=wakeup\n\n", "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec *request = rec_new(), *reply = rec_new();

		CHECK(rec_parse(request, cases[i].request,
		    strlen(cases[i].request)) > 0);
		CHECK(qmgr_session_handle(request, reply) == NULL);
		CHECK(reply->count > 0);
		CHECK_STR(reply->count > 0 ? reply->attrs[0].name : NULL,
		    "proto");
		CHECK_STR(rec_get(reply, "proto"), "qmgr/1");
		CHECK_STR(rec_get(reply, "status"), cases[i].status);
		if (strcmp(cases[i].status, "ok") != 0) {
			CHECK(rec_get(reply, "dsn") != NULL);
			CHECK(rec_get(reply, "text") != NULL);
		}
		rec_free(&request);
		rec_free(&reply);
	}
}

static void
test_list(void)
{
	static const char request_text[] = "proto=qmgr/1\nrequest=list\n\n";
	char dir[] = "/tmp/qmgr_session_test.XXXXXX";
	struct rec *request = rec_new(), *reply = rec_new();
	struct buf *out = buf_new(REC_MAX);
	struct qmgr_list *list;

	if (mkdtemp(dir) == NULL || chdir(dir) < 0) {
		perror(dir);
		CHECK(false);
		return;
	}
	CHECK(rec_parse(request, request_text, strlen(request_text)) > 0);
	rec_put(reply, "stale", "1");
	list = qmgr_session_handle(request, reply);
	CHECK(list != NULL);
	CHECK(reply->count == 0);	/* the listing is the reply */
	if (list != NULL) {
		CHECK(qmgr_list_next(list, out, 10));
		CHECK_STR(out->data, "proto=qmgr/1\nstatus=ok\ncount=0\n\n");
		qmgr_list_free(&list);
	}
	CHECK(chdir("/") == 0 && rmdir(dir) == 0);
	rec_free(&request);
	rec_free(&reply);
	buf_free(&out);
}

int
main(void)
{
	log_init("qmgr_session_test", false);
	TEST_RUN(test_handle);
	TEST_RUN(test_list);
	return TEST_DONE();
}
