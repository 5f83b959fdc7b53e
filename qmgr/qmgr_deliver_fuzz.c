/*
 * qmgr_deliver_fuzz.c - libFuzzer target: a delivery agent's reply, as
 * qmgr parses and applies it.
 */
#include <stdint.h>
#include <string.h>

#include "qmgr_deliver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmgr_deliver_rcpt r[3];
	struct rec *reply = rec_new();

	memset(r, 0, sizeof(r));
	r[0].address = "a@x";
	r[0].index = 0;
	r[1].address = "b@x";
	r[1].index = 1;
	r[2].address = "c@x";
	r[2].index = 7;
	if (rec_parse(reply, (const char *)data, size) > 0)
		(void)qmgr_deliver_apply_reply(reply, "fuzz", r, 3);
	qmgr_deliver_rcpts_release(r, 3);
	rec_free(&reply);
	return 0;
}
