/*
 * log.c - syslog with a stderr and file fallback (see log.h).
 *
 * Each line is formatted once into a bounded buffer, then written with one
 * write(2) so that lines from many processes appending to one
 * maillog_file never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static char log_name[64] = "postern";
static char log_prefix[64] = "postern";
static char log_ident[130] = "postern";
static bool log_stderr;
static bool log_verbose = true;
static int log_fd = -1;
static bool log_syslog_open;
static char log_host[256] = "localhost";	/* short name, as syslog's */

static void
log_reopen_syslog(void)
{
	snprintf(log_ident, sizeof(log_ident), "%s/%s", log_prefix, log_name);
	if (log_syslog_open)
		closelog();
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog_open = true;
}

/* The process's pid, kept by log_init() and fork. */
static pid_t log_pid;

static void
log_forked(void)
{
	log_pid = getpid();
}

void
log_init(const char *name, bool to_stderr)
{
	static bool hooked;

	/* The pid on every maillog_file line, without a system call per
	 * line; delivery children learn theirs at fork. */
	log_pid = getpid();
	if (!hooked && pthread_atfork(NULL, NULL, log_forked) == 0)
		hooked = true;
	snprintf(log_name, sizeof(log_name), "%s", name);
	log_stderr = to_stderr;
	log_reopen_syslog();
}

void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
	log_reopen_syslog();
}

void
log_set_file(const char *path)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	if (path != NULL && *path != '\0')
		log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
	/* Before the jail: a chroot hides nothing gethostname() needs, but
	 * keep all set-up in one place. */
	if (gethostname(log_host, sizeof(log_host) - 1) < 0 ||
	    log_host[0] == '\0')
		snprintf(log_host, sizeof(log_host), "localhost");
	log_host[strcspn(log_host, ". \t")] = '\0';
}

void
log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

static void
log_write_fd(int fd, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/* %m must be expanded by hand: vsnprintf does not know it, and the
 * stderr and file copies need it too. */
static void
log_expand_m(char *out, size_t size, const char *fmt, int saved_errno)
{
	/* strerror() looks up a translation: only for lines that use it. */
	const char *err = strstr(fmt, "%m") != NULL ? strerror(saved_errno) :
	    "";
	size_t o = 0;

	for (; *fmt != '\0' && o + 1 < size; fmt++) {
		if (fmt[0] == '%' && fmt[1] == '%') {
			if (o + 2 >= size)
				break;
			out[o++] = '%';
			out[o++] = '%';
			fmt++;
		} else if (fmt[0] == '%' && fmt[1] == 'm') {
			for (const char *e = err; *e != '\0' && o + 1 < size;
			    e++)
				out[o++] = *e == '%' ? ' ' : *e;
			fmt++;
		} else {
			out[o++] = *fmt;
		}
	}
	out[o] = '\0';
}

static void
log_vlog(int priority, const char *fmt, va_list ap)
{
	char format[LOG_LINE_MAX], text[LOG_LINE_MAX], line[LOG_LINE_MAX + 256];
	const char *level = "";
	int saved_errno = errno;
	int n;

	if (!log_verbose && priority > LOG_WARNING)
		return;
	log_expand_m(format, sizeof(format), fmt, saved_errno);
	vsnprintf(text, sizeof(text), format, ap);
	/* Control characters from peers must not forge log lines. */
	for (char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	switch (priority) {
	case LOG_WARNING: level = "warning: "; break;
	case LOG_ERR: level = "error: "; break;
	case LOG_CRIT: level = "fatal: "; break;
	case LOG_ALERT: level = "panic: "; break;
	case LOG_DEBUG: level = "debug: "; break;
	}
	/* maillog_file replaces syslog, as in Postfix: one copy of each
	 * line, and no connect() to a missing /dev/log per line. */
	if (log_fd < 0) {
		if (!log_syslog_open)
			log_reopen_syslog();
		syslog(priority, "%s%s", level, text);
	} else {
		/* The second's stamp, formatted once per second. */
		static time_t stamp_sec = -1;
		static char stamp[64], zone[8];
		struct timespec ts;
		struct tm tm;

		/* RFC 3339 with microseconds, then host and program as
		 * rsyslog writes them: fail2ban, crowdsec and logwatch read
		 * this file as they read /var/log/mail.log. */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec != stamp_sec) {
			localtime_r(&ts.tv_sec, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S",
			    &tm);
			strftime(zone, sizeof(zone), "%z", &tm);
			stamp_sec = ts.tv_sec;
		}
		n = snprintf(line, sizeof(line),
		    "%s.%06ld%.3s:%.2s %s %s[%d]: %s%s\n", stamp,
		    ts.tv_nsec / 1000, zone, zone + 3, log_host, log_ident,
		    (int)(log_pid != 0 ? log_pid : getpid()), level, text);
		if (n > 0)
			log_write_fd(log_fd, line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1);
	}
	if (log_stderr) {
		n = snprintf(line, sizeof(line), "%s: %s%s\n", log_ident, level,
		    text);
		if (n > 0)
			log_write_fd(2, line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1);
	}
	errno = saved_errno;
}

#define LOG_FN(fn, prio) \
	void fn(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_vlog(prio, fmt, ap); \
		va_end(ap); \
	}
LOG_FN(log_debug, LOG_DEBUG)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_warn, LOG_WARNING)
LOG_FN(log_error, LOG_ERR)

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_ALERT, fmt, ap);
	va_end(ap);
	abort();
}
