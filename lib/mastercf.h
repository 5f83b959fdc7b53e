/*
 * mastercf.h - master.cf: the service table in Postfix's columns.
 *
 *   service type private unpriv chroot wakeup maxproc command + args
 *
 * type is inet, unix or pass (fifo is refused). "-" means the default
 * (private y, unpriv y, chroot y, wakeup never, maxproc default_process_limit).
 * A line starting with whitespace continues the previous one; "#" starts a
 * comment. Arguments "-o name=value" become overrides for that service.
 */
#ifndef POSTERN_MASTERCF_H
#define POSTERN_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

struct mastercf_service {
	char *name;		/* "smtp", "127.0.0.1:2525", "cleanup" */
	char *type;		/* "inet" or "unix" */
	bool private_;		/* unix sockets under private/ vs public/ */
	bool unpriv;		/* run as mail_owner */
	bool chroot;		/* chroot to queue_directory */
	int wakeup;		/* seconds, 0 = never */
	int maxproc;		/* 0 = no limit */
	char *command;		/* "smtpd" */
	char **args;		/* NULL-terminated, "-o" pairs included */
	char **overrides;	/* NULL-terminated "name=value" from -o */
	int line;		/* line number in master.cf */
};

struct mastercf {
	struct mastercf_service *services;
	size_t count;
};

/* Parse path. On error returns -1 and sets *error_r to a fresh
 * "FILE, line N: text" message (the first problem found). */
int mastercf_load(const char *path, struct mastercf *out,
    char **error_r);
/* Parse from memory (tests, fuzzing); file names the source in errors. */
int mastercf_parse(const char *text, size_t len, const char *file,
    struct mastercf *out, char **error_r);
void mastercf_release(struct mastercf *m);
/* For inet services: split name "host:port" or "port" into fresh strings
 * (host "" = all addresses). -1 when malformed. */
int mastercf_inet_addr(const char *name, char **host_r, char **port_r);

#endif
