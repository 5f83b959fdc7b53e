/*
 * rec_fuzz.c - libFuzzer target for rec_parse() and
 * rec_parse_chunk_header().
 *
 * Whatever parses must format back to a record that parses to the same
 * attributes (the writer and reader agree), and chunk headers must never
 * claim more than REC_CHUNK_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec *r = rec_new(), *back = rec_new();
	struct buf *out = buf_new(4 * REC_MAX);
	ssize_t n = rec_parse(r, (const char *)data, size);
	size_t chunk_len;

	if (n > 0) {
		if ((size_t)n > size || rec_format(r, out) < 0)
			abort();
		if (rec_parse(back, out->data, out->len) != (ssize_t)out->len)
			abort();
		if (back->count != r->count)
			abort();
		for (size_t i = 0; i < r->count; i++)
			if (strcmp(r->attrs[i].name, back->attrs[i].name) != 0 ||
			    strcmp(r->attrs[i].value, back->attrs[i].value) != 0)
				abort();
	}
	n = rec_parse_chunk_header((const char *)data, size, &chunk_len);
	if (n > 0 && ((size_t)n > size || chunk_len > REC_CHUNK_MAX))
		abort();
	rec_free(&r);
	rec_free(&back);
	buf_free(&out);
	return 0;
}
