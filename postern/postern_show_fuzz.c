/*
 * postern_show_fuzz.c - libFuzzer target: `postern queue show` formatting
 * an envelope (the first record of the input, as from a queue file whose
 * values came from strangers) with a log/QID (the rest of the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "queue.h"
#include "rec.h"
#include "postern.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_file q = { .fd = -1 };
	struct buf *out = buf_new(16 * 1024 * 1024);
	const char *text = (const char *)data;
	ssize_t used;

	q.env = rec_new();
	used = rec_parse(q.env, text, size);
	if (used <= 0)
		goto done;
	/* Recipients as queue_open() would see them: each rcpt/done. */
	q.rcpts = xcalloc(q.env->count + 1, sizeof(*q.rcpts));
	for (size_t i = 0; i < q.env->count; i++) {
		const struct rec_attr *a = &q.env->attrs[i];

		if (strcmp(a->name, "rcpt") == 0 ||
		    strcmp(a->name, "done") == 0) {
			q.rcpts[q.rcpt_count].address = a->value;
			q.rcpts[q.rcpt_count].done = a->name[0] == 'd';
			q.rcpt_count++;
		} else if (strcmp(a->name, "orcpt") == 0 && q.rcpt_count > 0) {
			q.rcpts[q.rcpt_count - 1].orcpt = a->value;
		}
	}
	postern_show_envelope(out, &q, "deferred", 1, text + used,
	    size - (size_t)used);
	free(q.rcpts);
done:
	rec_free(&q.env);
	buf_free(&out);
	return 0;
}
