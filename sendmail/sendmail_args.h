/*
 * sendmail_args.h - the sendmail command line (and mailq, newaliases).
 */
#ifndef SENDMAIL_ARGS_H
#define SENDMAIL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

enum sendmail_mode {
	SENDMAIL_MODE_DELIVER,		/* read a message from stdin (-bm) */
	SENDMAIL_MODE_SMTP,		/* -bs */
	SENDMAIL_MODE_QUEUE_LIST,	/* -bp, mailq */
	SENDMAIL_MODE_ALIASES,		/* -bi, -I, newaliases */
	SENDMAIL_MODE_FLUSH,		/* -q */
};

struct sendmail_opts {
	enum sendmail_mode mode;
	const char *config_dir;		/* -C/-c, NULL: not given */
	bool extract;			/* -t */
	bool ignore_dots;		/* -i, -oi */
	bool verbose;			/* -v */
	const char *sender;		/* -f/-r, NULL: not given */
	const char *full_name;		/* -F */
	char *notify;			/* -N, upper case (fresh) */
	char *ret;			/* -R, upper case (fresh) */
	const char *envid;		/* -V */
	char **rcpts;			/* fresh strings from the arguments */
	size_t rcpt_count;
};

/* Parse argv (argv[0] names the mode: "mailq", "newaliases"). Returns 0,
 * or -1 with *error_r a fresh message for a usage error. */
int sendmail_args_parse(int argc, char **argv, struct sendmail_opts *o,
    char **error_r);
void sendmail_args_release(struct sendmail_opts *o);
/* Split a recipient argument ("a@x, <b@y>") into addresses appended to
 * o->rcpts. -1 when an address is malformed (control characters, too
 * long). */
int sendmail_args_add_rcpts(struct sendmail_opts *o, const char *arg);
/* "<a@x>" -> "a@x"; "<>" -> "". Fresh string, NULL when malformed. */
char *sendmail_args_address(const char *arg);

#endif
