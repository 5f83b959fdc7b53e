/*
 * cleanup_headers_fuzz.c - libFuzzer target for the header block splitter
 * and the RFC 5322 address list parser (untrusted message content).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup_headers.h"
#include "mem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cleanup_headers h = { 0 };
	size_t used;

	used = cleanup_headers_split((const char *)data, size, size % 2 == 0,
	    &h);
	if (used > size)
		abort();
	for (size_t i = 0; i < h.count; i++) {
		char *value = cleanup_header_value(&h.list[i]);
		char **list = NULL;
		size_t count = 0;

		(void)cleanup_addr_list_parse(value, &list, &count);
		for (size_t j = 0; j < count; j++)
			if (list[j][0] == '\0')
				abort();
		cleanup_addr_list_free(&list, &count);
		xfree(&value);
	}
	cleanup_headers_release(&h);
	return 0;
}
