/*
 * sendmail_submit.h - the ways sendmail submits mail: a message on
 * standard input (the default), or an SMTP conversation (-bs).
 */
#ifndef SENDMAIL_SUBMIT_H
#define SENDMAIL_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "rec.h"
#include "sendmail_args.h"
#include "sendmail_input.h"

/* What a submission needs from main.cf. The current directory is
 * queue_directory. */
struct sendmail_site {
	const char *myhostname;
	const char *myorigin;
	size_t size_limit;	/* message_size_limit, 0: none */
};

/* The login name of the invoking user "@" myorigin (fresh). */
char *sendmail_default_sender(const struct sendmail_site *site);
/* Copy one message from r into maildrop with envelope env; m says how
 * it ends. Returns 0 (*name_r fresh: the maildrop name), or -1 with
 * errno (EFBIG: too big; EPIPE: input ended before the "." in SMTP). */
int sendmail_write_message(struct sendmail_reader *r,
    struct sendmail_message *m, const struct rec *env, size_t size_limit,
    char **name_r);
/* Read the message from fd and queue it as o says. Returns a sysexits
 * code, having printed the reason on stderr. */
int sendmail_submit_stdin(const struct sendmail_opts *o,
    const struct sendmail_site *site, int fd);
/* Speak SMTP on in/out (sendmail -bs). Returns a sysexits code. */
int sendmail_smtp(const struct sendmail_site *site, int in, int out);

/* Split "MAIL FROM:<a> X=y" into the verb (upper case, fresh) and the
 * argument (pointer into line, "" when none). */
char *sendmail_smtp_verb(const char *line, const char **arg_r);

#endif
