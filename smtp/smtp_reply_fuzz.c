/*
 * smtp_reply_fuzz.c - libFuzzer target for smtp_reply.c: the input is
 * what a remote server sends, split into lines and fed as replies, each
 * complete reply also read as an EHLO answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct smtp_reply r;
	struct smtp_ext ext;

	smtp_reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		int got;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		got = smtp_reply_add_line(&r, p, len);
		if (got < 0) {
			smtp_reply_reset(&r);
		} else if (got > 0) {
			char *s = smtp_reply_string(&r);

			smtp_ext_parse(&r, &ext);
			free(s);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	smtp_reply_release(&r);
	return 0;
}
