/*
 * addr_fuzz.c - libFuzzer target for addr_parse_path() and the other
 * address helpers. The first byte picks strict or not; the rest is the
 * text after "MAIL FROM:". An accepted path must parse again, in brackets,
 * to the same address, and never carry a control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_path path, again;
	const char *error;
	char *text, *copy, *local, *domain, *base, *ext;
	bool strict;

	if (size == 0)
		return 0;
	strict = data[0] & 1;
	text = xstrndup((const char *)data + 1, size - 1);

	if (addr_parse_path(text, strict, &path, &error) == 0) {
		if (strlen(path.address) > ADDR_MAX ||
		    path.param_count > ADDR_PARAMS_MAX)
			abort();
		for (const char *p = path.address; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		copy = xasprintf("<%s>", path.address);
		if (addr_parse_path(copy, false, &again, &error) != 0 ||
		    strcmp(again.address, path.address) != 0)
			abort();
		addr_path_release(&again);
		xfree(&copy);
		addr_split(path.address, &local, &domain);
		addr_split_extension(local, "+-", &base, &ext);
		xfree(&local);
		xfree(&domain);
		xfree(&base);
		xfree(&ext);
		addr_path_release(&path);
	} else if (error == NULL || path.address != NULL) {
		abort();
	}
	(void)addr_domain_fqdn(text);
	copy = addr_xtext_decode(text);
	xfree(&copy);
	copy = addr_lower(text);
	xfree(&copy);
	xfree(&text);
	return 0;
}
