/*
 * smtpd_cmd_fuzz.c - libFuzzer target for SMTP command parsing: the input
 * is one command line, run through every parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "smtpd_cmd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xstrndup((const char *)data, size);
	const char *args;
	struct smtpd_mail m;
	struct smtpd_rcpt r;
	char *reply = NULL;
	uint64_t chunk;
	bool last;
	enum smtpd_verb verb = smtpd_cmd_verb(line, &args);

	(void)smtpd_cmd_name(verb);
	if (smtpd_cmd_mail(args, size & 1, true, 1000, &m, &reply) == 0) {
		if (reply != NULL || m.sender == NULL)
			abort();
		smtpd_mail_release(&m);
	} else if (reply == NULL) {
		abort();
	}
	xfree(&reply);
	if (smtpd_cmd_rcpt(args, size & 1, size & 2, &r, &reply) == 0) {
		if (reply != NULL || r.address == NULL || *r.address == '\0')
			abort();
		smtpd_rcpt_release(&r);
	} else if (reply == NULL) {
		abort();
	}
	xfree(&reply);
	(void)smtpd_cmd_bdat(args, &chunk, &last);
	(void)smtpd_cmd_helo_valid(args);
	xfree(&line);
	return 0;
}
