/*
 * qmgr_session_test.c - qmgr/1 request handling that needs no queue:
 * refusals and the reply's framing. (test/test_qmgr.py drives the rest
 * against a running qmgr.)
 */
#include <string.h>

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
		qmgr_session_handle(request, reply);
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

int
main(void)
{
	log_init("qmgr_session_test", false);
	TEST_RUN(test_handle);
	return TEST_DONE();
}
