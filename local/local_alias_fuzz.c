/*
 * local_alias_fuzz.c - libFuzzer target for the parsers of alias values,
 * .forward and :include: text (written by users), commands and the mbox
 * quoting of message content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "local.h"
#include "mem.h"

static bool
fuzz_is_local(const char *domain)
{
	return strcasecmp(domain, "example.test") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct local_mbox_quoter m = { true, 0 };
	struct buf *out = buf_new(4 * size + 16);
	char *text = xstrndup((const char *)data, size);
	const char *error;
	char **list, **argv;
	size_t i;

	if ((list = local_list_parse(text, &error)) != NULL) {
		for (i = 0; list[i] != NULL; i++) {
			struct local_target t;

			if (local_target_classify(list[i], fuzz_is_local, &t,
			    &error) == 0) {
				if (t.type == LOCAL_TARGET_COMMAND &&
				    (argv = local_command_split(t.value,
				    &error)) != NULL)
					config_list_free(&argv);
				local_target_release(&t);
			}
		}
		config_list_free(&list);
	}
	if ((argv = local_command_split(text, &error)) != NULL)
		config_list_free(&argv);
	/* Quote in two pieces split at the first byte's value. */
	i = size > 0 ? data[0] % (size + 1) : 0;
	if (local_mbox_quote(&m, out, (const char *)data, i) < 0 ||
	    local_mbox_quote(&m, out, (const char *)data + i, size - i) < 0 ||
	    local_mbox_quote(&m, out, NULL, 0) < 0)
		abort();
	free(text);
	buf_free(&out);
	return 0;
}
