/*
 * smtpd_auth_fuzz.c - libFuzzer target for AUTH's decoding: the input is
 * one client response line, base64-decoded strictly; what decodes is
 * split as a PLAIN response and re-encoded to check the round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "smtpd_auth.h"
#include "smtpd_sasl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xstrndup((const char *)data, size);
	char *authzid, *authcid, *password, *again;
	struct buf out;

	buf_init(&out, 4096);
	if (smtpd_auth_base64_decode(line, &out) == 0) {
		again = smtpd_sasl_base64(out.data ? out.data : "", out.len);
		if (strcmp(again, line) != 0)
			abort();
		xfree(&again);
		if (smtpd_auth_plain_split(out.data ? out.data : "", out.len,
		    &authzid, &authcid, &password) == 0) {
			if (*authcid == '\0' || *password == '\0')
				abort();
			xfree(&authzid);
			xfree(&authcid);
			xfree(&password);
		}
	}
	buf_release(&out);
	xfree(&line);
	return 0;
}
