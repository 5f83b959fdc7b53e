/*
 * smtpd_cmd.h - SMTP command line parsing: verbs, MAIL and RCPT
 * arguments and their ESMTP parameters, BDAT arguments.
 *
 * Pure functions over one command line (CRLF already removed); nothing
 * here looks anything up or keeps state. Replies for malformed input are
 * fresh strings in Postfix's words ("501 5.1.7 Bad sender address syntax").
 */
#ifndef SMTPD_CMD_H
#define SMTPD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtpd_verb {
	SMTPD_VERB_UNKNOWN,
	SMTPD_VERB_HELO,
	SMTPD_VERB_EHLO,
	SMTPD_VERB_STARTTLS,
	SMTPD_VERB_AUTH,
	SMTPD_VERB_MAIL,
	SMTPD_VERB_RCPT,
	SMTPD_VERB_DATA,
	SMTPD_VERB_BDAT,
	SMTPD_VERB_RSET,
	SMTPD_VERB_NOOP,
	SMTPD_VERB_QUIT,
	SMTPD_VERB_HELP,
	SMTPD_VERB_VRFY,
	SMTPD_VERB_FORBIDDEN,	/* CONNECT, GET, POST: not a mail client */
	SMTPD_VERB_COUNT
};

/* The verb of line and (*args_r) the text after it and its spaces. */
enum smtpd_verb smtpd_cmd_verb(const char *line, const char **args_r);
/* Lower-case name for the disconnect statistics ("ehlo", "unknown"). */
const char *smtpd_cmd_name(enum smtpd_verb verb);

struct smtpd_mail {
	char *sender;		/* "" for the null sender */
	uint64_t size;		/* SIZE=, 0 when not given */
	char *body;		/* "7BIT", "8BITMIME" or NULL */
	bool smtputf8;
	char *ret;		/* "FULL", "HDRS" or NULL */
	char *envid;		/* decoded xtext or NULL */
	char *auth;		/* AUTH= (RFC 4954), decoded; NULL for <> */
};

struct smtpd_rcpt {
	char *address;
	char *orcpt;		/* "rfc822;addr" (xtext decoded) or NULL */
	char *notify;		/* "NEVER" or "SUCCESS,FAILURE,DELAY" or NULL */
};

/* Parse the arguments of MAIL ("FROM:<a@b> SIZE=10"). size_limit is
 * message_size_limit (0: none). Returns 0, or -1 with *reply_r a fresh
 * reply ("501 ...", "552 5.3.4 ...", "555 5.5.4 ..."). */
int smtpd_cmd_mail(const char *args, bool strict, bool smtputf8_enable,
    uint64_t size_limit, struct smtpd_mail *out, char **reply_r);
void smtpd_mail_release(struct smtpd_mail *m);

/* Parse the arguments of RCPT ("TO:<a@b> NOTIFY=NEVER"). smtputf8: the
 * transaction declared SMTPUTF8 (allows non-ASCII addresses). */
int smtpd_cmd_rcpt(const char *args, bool strict, bool smtputf8,
    struct smtpd_rcpt *out, char **reply_r);
void smtpd_rcpt_release(struct smtpd_rcpt *r);

/* Parse "SIZE [LAST]" of BDAT. Returns 0 or -1. */
int smtpd_cmd_bdat(const char *args, uint64_t *size_r, bool *last_r);

/* A HELO/EHLO argument: non-empty, one word of printable ASCII. */
bool smtpd_cmd_helo_valid(const char *name);

#endif
