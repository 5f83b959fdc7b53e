/*
 * smtpd_sasl_fuzz.c - libFuzzer target for the Dovecot auth reply
 * parser: the input is split into lines, each parsed as a server line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "smtpd_sasl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *line, *nl;

	for (line = text; line != NULL; line = nl) {
		struct smtpd_sasl_dovecot_reply r;

		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (smtpd_sasl_dovecot_parse(line, &r) == 0) {
			const char *p;

			/* What reaches the log is printable. */
			for (p = r.user; p != NULL && *p; p++)
				if ((unsigned char)*p < 0x20)
					abort();
			for (p = r.reason; p != NULL && *p; p++)
				if ((unsigned char)*p < 0x20)
					abort();
		}
		smtpd_sasl_dovecot_release(&r);
	}
	xfree(&text);
	return 0;
}
