/*
 * log.h - logging to syslog (facility mail) with a stderr fallback.
 *
 * Lines look like Postfix's: "postern/smtpd[PID]: QUEUEID: text". A line
 * about a message starts with its queue ID; the caller writes it. %m is
 * strerror(errno). Passwords and message content never reach the log.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>

/* Name this process ("smtpd"); logs go to syslog as "postern/NAME" (or
 * SYSLOG_NAME/NAME when syslog_name is set). to_stderr also copies each
 * line to stderr (commands, foreground runs, tests). */
void log_init(const char *name, bool to_stderr);
/* Change the syslog ident prefix ("postern" by default). */
void log_set_prefix(const char *prefix);
/* Append lines to this file instead of sending them to syslog (Postfix's
 * maillog_file); NULL goes back to syslog. */
void log_set_file(const char *path);
/* Messages below warning are suppressed when false (quiet commands). */
void log_set_verbose(bool verbose);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Log and abort() for a core dump: a bug. */
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
