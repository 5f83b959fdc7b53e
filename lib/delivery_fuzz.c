/*
 * delivery_fuzz.c - libFuzzer target for delivery/1 request parsing.
 */
#include <stdint.h>

#include "delivery.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec *r = rec_new(), *reply = rec_new();
	struct delivery_request req;
	const char *error;

	if (rec_parse(r, (const char *)data, size) > 0) {
		if (delivery_request_parse(r, &req, &error) == 0)
			delivery_reply_format(&req, reply);
		delivery_request_release(&req);
	}
	rec_free(&r);
	rec_free(&reply);
	return 0;
}
