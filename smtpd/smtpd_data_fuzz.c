/*
 * smtpd_data_fuzz.c - libFuzzer target for the DATA/BDAT decoder.
 *
 * Decodes the input in one piece and again split at a position taken from
 * the first byte; both must agree on the content, the end and the
 * verdict (the split invariance the smuggling defence relies on).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtpd_data.h"

static size_t
decode(const char *in, size_t len, size_t split, struct buf *out,
    struct smtpd_data *d, bool *done_r)
{
	size_t pos = 0;

	smtpd_data_init(d, 4096);
	*done_r = false;
	while (pos < len && !*done_r) {
		size_t n = len - pos;
		long used;

		if (pos < split && split < len)
			n = split - pos;
		used = smtpd_data_feed(d, in + pos, n, out, done_r);
		if (used < 0)
			abort();
		pos += (size_t)used;
	}
	return pos;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *a, *b;
	struct smtpd_data da, db;
	size_t split, pa, pb;
	bool done_a, done_b;

	if (size < 1)
		return 0;
	split = data[0] % size;
	a = buf_new(1 << 20);
	b = buf_new(1 << 20);
	pa = decode((const char *)data + 1, size - 1, (size_t)-1, a, &da,
	    &done_a);
	pb = decode((const char *)data + 1, size - 1, split, b, &db, &done_b);
	if (pa != pb || done_a != done_b || a->len != b->len ||
	    memcmp(a->data, b->data, a->len) != 0 ||
	    smtpd_data_error(&da) != smtpd_data_error(&db) ||
	    da.size != db.size)
		abort();
	/* Accepted content never holds a CR. */
	if (done_a && smtpd_data_error(&da) == NULL &&
	    memchr(a->data, '\r', a->len) != NULL)
		abort();
	buf_reset(a);
	smtpd_data_init(&da, 0);
	if (smtpd_data_bdat(&da, (const char *)data, size, a) < 0 ||
	    smtpd_data_bdat_end(&da, a) < 0 || da.size != a->len)
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}
