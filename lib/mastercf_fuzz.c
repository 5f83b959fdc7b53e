/*
 * mastercf_fuzz.c - libFuzzer target for master.cf parsing.
 *
 * Parses the input as master.cf and splits every inet service name into
 * host and port, as the master does before it binds.
 */
#include <stddef.h>
#include <stdint.h>

#include "mastercf.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mastercf m;
	char *error = NULL, *host, *port;
	size_t i;

	if (mastercf_parse((const char *)data, size, "fuzz", &m, &error) < 0) {
		xfree(&error);
		return 0;
	}
	for (i = 0; i < m.count; i++) {
		if (mastercf_inet_addr(m.services[i].name, &host, &port) == 0) {
			xfree(&host);
			xfree(&port);
		}
	}
	mastercf_release(&m);
	return 0;
}
