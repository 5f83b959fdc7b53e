/*
 * bounce_dsn_fuzz.c - libFuzzer target: a log/QID file and an original
 * message (split at the first NUL byte) turned into a notice, as the
 * bounce daemon does; the notice must keep every line under 999 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce_dsn.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t log_len = nul != NULL ? (size_t)(nul - text) : size;
	const char *content = nul != NULL ? nul + 1 : "";
	size_t content_len = nul != NULL ? size - log_len - 1 : 0;
	struct bounce_rcpt *rcpts = NULL;
	size_t count = bounce_log_parse(text, log_len, &rcpts);
	struct bounce_notice n = {
		.warn = size % 2 == 0,
		.qid = "ABC",
		.myhostname = "mx.test",
		.sender = "s@x",
		.to = "s@x",
		.envid = "e",
		.ret = size % 3 == 0 ? "HDRS" : NULL,
		.arrival = 1,
		.now = 2,
		.retry_until = 3,
		.message_id = "<m@x>",
		.boundary = "B",
		.size_limit = 1000,
		.rcpts = rcpts,
		.rcpt_count = count,
		.content = content,
		.content_len = content_len,
		.content_size = content_len,
	};
	struct buf out;

	buf_init(&out, 4 * 1024 * 1024);
	if (bounce_dsn_build(&n, &out) == 0) {
		const char *p = out.data, *part3 = out.data;
		size_t line = 0;

		/* Our lines end where the returned original begins. */
		while ((p = memmem(p, out.len - (size_t)(p - out.data),
		    "\n--B\n", 5)) != NULL)
			part3 = ++p;
		for (const char *c = out.data; c < part3; c++) {
			line = *c == '\n' ? 0 : line + 1;
			if (line > 998)
				abort();
		}
	}
	buf_release(&out);
	bounce_rcpts_free(&rcpts, count);
	return 0;
}
