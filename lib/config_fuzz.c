/*
 * config_fuzz.c - libFuzzer target for main.cf parsing and expansion.
 *
 * Loads the input as main.cf, then expands, type-checks and splits every
 * value that was set: parsing and expansion must neither crash nor hang
 * (loops and exponential growth are bounded).
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name, *raw;
	char **list;
	size_t iter = 0;

	(void)config_load_text((const char *)data, size, "fuzz");
	while (config_next_set(&iter, &name, &raw)) {
		list = config_get_list(name);
		config_list_free(&list);
		(void)config_get_int(name);
		(void)config_get_time(name);
		(void)config_get_bool(name);
	}
	(void)config_check();
	(void)config_get("mydomain");
	return 0;
}
