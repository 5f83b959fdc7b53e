/*
 * anvil_request_fuzz.c - libFuzzer target for anvil's request loop:
 * record parsing, request checks and table updates on arbitrary input.
 *
 * Whatever is used must lie within the input, every reply must parse
 * back, and the table must never grow beyond its cap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "anvil_server.h"
#include "anvil_table.h"
#include "buf.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct anvil_table *t = anvil_table_new(4, 1000);
	struct buf *out = buf_new(8 * 1024 * 1024);
	struct rec *reply = rec_new();
	long used;
	ssize_t n;
	size_t off = 0;

	used = anvil_server_input(t, (const char *)data, size, out, 0);
	if (used > (long)size)
		abort();
	while (off < out->len) {
		n = rec_parse(reply, out->data + off, out->len - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (anvil_table_size(t) > 4)
		abort();
	(void)anvil_table_expire(t, 5000);
	rec_free(&reply);
	buf_free(&out);
	anvil_table_free(&t);
	return 0;
}
