/*
 * sendmail_smtp.c - sendmail -bs: a minimal SMTP server on stdin/stdout.
 *
 * For programs that submit mail by speaking SMTP to a pipe (some MUAs
 * and cron replacements). HELO, EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT;
 * each message goes to maildrop/ like a plain sendmail run. The peer is
 * a local user, who could write to maildrop anyway, so this is a small
 * parser of its own (smtpd's is not in lib/); paths are parsed with
 * lib/addr. No AUTH, no STARTTLS, no pipelining promises beyond what a
 * blocking reader gives for free.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "io.h"
#include "mem.h"
#include "proto.h"
#include "sendmail_drop.h"
#include "sendmail_submit.h"

#define SENDMAIL_SMTP_LINE_MAX	2048
#define SENDMAIL_SMTP_RCPT_MAX	1000

struct sendmail_smtp_state {
	const struct sendmail_site *site;
	int out;
	struct rec *env;	/* NULL: no MAIL yet */
	size_t rcpt_count;
};

static void
sendmail_smtp_reply(struct sendmail_smtp_state *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sendmail_smtp_reply(struct sendmail_smtp_state *s, const char *fmt, ...)
{
	struct buf *b = buf_new(4096);
	va_list ap;

	va_start(ap, fmt);
	(void)buf_vprintf(b, fmt, ap);
	va_end(ap);
	(void)buf_add_str(b, "\r\n");
	(void)io_write_all(s->out, b->data, b->len);
	buf_free(&b);
}

char *
sendmail_smtp_verb(const char *line, const char **arg_r)
{
	size_t n = strcspn(line, " ");
	char *verb = xstrndup(line, n);

	for (char *p = verb; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	line += n;
	while (*line == ' ')
		line++;
	*arg_r = line;
	return verb;
}

static void
sendmail_smtp_reset(struct sendmail_smtp_state *s)
{
	rec_free(&s->env);
	s->rcpt_count = 0;
}

/* "FROM:<a> params" -> the text after the keyword, or NULL. */
static const char *
sendmail_smtp_keyword(const char *arg, const char *keyword)
{
	size_t n = strlen(keyword);

	if (strncasecmp(arg, keyword, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return arg;
}

static void
sendmail_smtp_mail(struct sendmail_smtp_state *s, const char *arg)
{
	struct addr_path path;
	const char *text = sendmail_smtp_keyword(arg, "FROM:"), *error;

	if (s->env != NULL) {
		sendmail_smtp_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (text == NULL) {
		sendmail_smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	memset(&path, 0, sizeof(path));
	if (addr_parse_path(text, false, &path, &error) < 0) {
		sendmail_smtp_reply(s, "501 5.1.7 %s", error);
		return;
	}
	s->env = rec_new();
	rec_put(s->env, "sender", path.address);
	addr_path_release(&path);
	sendmail_smtp_reply(s, "250 2.1.0 Ok");
}

static void
sendmail_smtp_rcpt(struct sendmail_smtp_state *s, const char *arg)
{
	struct addr_path path;
	const char *text = sendmail_smtp_keyword(arg, "TO:"), *error;
	const char *notify;

	if (s->env == NULL) {
		sendmail_smtp_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (text == NULL) {
		sendmail_smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (s->rcpt_count >= SENDMAIL_SMTP_RCPT_MAX) {
		sendmail_smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	memset(&path, 0, sizeof(path));
	if (addr_parse_path(text, false, &path, &error) < 0) {
		sendmail_smtp_reply(s, "501 5.1.3 %s", error);
		return;
	}
	if (*path.address == '\0') {
		addr_path_release(&path);
		sendmail_smtp_reply(s, "501 5.1.3 Bad recipient address "
		    "syntax");
		return;
	}
	rec_put(s->env, "rcpt", path.address);
	if ((notify = addr_param(&path, "NOTIFY", NULL)) != NULL)
		rec_put(s->env, "notify", notify);
	s->rcpt_count++;
	addr_path_release(&path);
	sendmail_smtp_reply(s, "250 2.1.5 Ok");
}

/* Returns -1 when the input ended inside the message. */
static int
sendmail_smtp_data(struct sendmail_smtp_state *s, struct sendmail_reader *r)
{
	struct sendmail_message m;
	char *name = NULL;
	int result = 0;

	if (s->env == NULL || s->rcpt_count == 0) {
		sendmail_smtp_reply(s, "503 5.5.1 Error: need RCPT command");
		return 0;
	}
	sendmail_smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	sendmail_message_init(&m, true, true);
	if (sendmail_write_message(r, &m, s->env, s->site->size_limit,
	    &name) == 0) {
		sendmail_smtp_reply(s, "250 2.0.0 Ok: queued as %s", name);
		sendmail_poke_pickup(PROTO_PICKUP_PATH);
	} else if (errno == EPIPE || !m.ended) {
		result = -1;
	} else if (errno == EFBIG) {
		sendmail_smtp_reply(s, "552 5.3.4 Error: message file too "
		    "big");
	} else {
		sendmail_smtp_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
	}
	xfree(&name);
	sendmail_smtp_reset(s);
	return result;
}

int
sendmail_smtp(const struct sendmail_site *site, int in, int out)
{
	struct sendmail_smtp_state s = { .site = site, .out = out };
	struct sendmail_reader r;
	struct buf *line = buf_new(SENDMAIL_LINE_MAX);
	bool complete, long_line = false;
	int rc, result = EX_OK;

	sendmail_reader_init(&r, in);
	sendmail_smtp_reply(&s, "220 %s ESMTP postern", site->myhostname);
	while ((rc = sendmail_read_line(&r, line, &complete)) > 0) {
		const char *arg;
		char *verb;

		if (!complete || long_line || line->len >
		    SENDMAIL_SMTP_LINE_MAX) {
			/* Answer once, at the end of the long line. */
			long_line = !complete;
			if (complete)
				sendmail_smtp_reply(&s, "500 5.5.0 Error: line "
				    "too long");
			continue;
		}
		verb = sendmail_smtp_verb(line->data, &arg);
		if (strcmp(verb, "HELO") == 0 || strcmp(verb, "EHLO") == 0) {
			sendmail_smtp_reset(&s);
			if (*arg == '\0')
				sendmail_smtp_reply(&s, "501 5.5.4 Syntax: %s "
				    "hostname", verb);
			else if (verb[0] == 'E')
				sendmail_smtp_reply(&s, "250-%s\r\n"
				    "250-PIPELINING\r\n250-8BITMIME\r\n"
				    "250 ENHANCEDSTATUSCODES",
				    site->myhostname);
			else
				sendmail_smtp_reply(&s, "250 %s",
				    site->myhostname);
		} else if (strcmp(verb, "MAIL") == 0) {
			sendmail_smtp_mail(&s, arg);
		} else if (strcmp(verb, "RCPT") == 0) {
			sendmail_smtp_rcpt(&s, arg);
		} else if (strcmp(verb, "DATA") == 0) {
			if (sendmail_smtp_data(&s, &r) < 0) {
				xfree(&verb);
				result = EX_DATAERR;
				break;
			}
		} else if (strcmp(verb, "RSET") == 0) {
			sendmail_smtp_reset(&s);
			sendmail_smtp_reply(&s, "250 2.0.0 Ok");
		} else if (strcmp(verb, "NOOP") == 0) {
			sendmail_smtp_reply(&s, "250 2.0.0 Ok");
		} else if (strcmp(verb, "QUIT") == 0) {
			sendmail_smtp_reply(&s, "221 2.0.0 Bye");
			xfree(&verb);
			break;
		} else if (strcmp(verb, "VRFY") == 0) {
			sendmail_smtp_reply(&s, "502 5.5.1 VRFY command is "
			    "disabled");
		} else {
			sendmail_smtp_reply(&s, "502 5.5.2 Error: command not "
			    "recognized");
		}
		xfree(&verb);
	}
	if (rc < 0)
		result = EX_IOERR;
	sendmail_smtp_reset(&s);
	sendmail_reader_release(&r);
	buf_free(&line);
	return result;
}
