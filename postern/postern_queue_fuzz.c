/*
 * postern_queue_fuzz.c - libFuzzer target: qmgr's list records as
 * `postern queue list` reads and formats them.
 */
#include <stdint.h>

#include "buf.h"
#include "rec.h"
#include "postern.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec *r = rec_new();
	struct buf *out = buf_new(16 * 1024 * 1024);
	struct postern_queue_entry e;
	size_t at = 0;
	ssize_t used;

	while (at < size && (used = rec_parse(r, (const char *)data + at,
	    size - at)) > 0) {
		at += (size_t)used;
		if (postern_queue_entry_from_rec(r, &e) == 0) {
			postern_queue_format(out, &e);
			postern_queue_entry_release(&e);
		}
		buf_reset(out);
	}
	rec_free(&r);
	buf_free(&out);
	return 0;
}
