/*
 * bounce_dsn.c - build delivery status notifications, without I/O.
 *
 * The notice is RFC 6522 multipart/report; report-type=delivery-status:
 *   1. text/plain: what happened, in plain words, one paragraph per
 *      recipient with what the remote server (or postern) answered;
 *   2. message/delivery-status (RFC 3464): per-message fields, then one
 *      block per recipient (Final-Recipient, Original-Recipient, Action,
 *      Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date,
 *      Will-Retry-Until for delays);
 *   3. the original: message/rfc822 with the whole message when RET=FULL
 *      or RET was not given and it fits bounce_size_limit (as Postfix
 *      returns it), else text/rfc822-headers with its header block.
 *
 * Everything from the log and the envelope has its control characters
 * replaced (qmgr cleaned them already; this is the second fence), and
 * long field values are folded at spaces so no line passes 998 bytes.
 * Content lines end in LF, as in the queue; cleanup takes it that way.
 *
 * XXX a report about SMTPUTF8 addresses should be message/global-delivery-
 * status (RFC 6533); we send utf-8 in message/delivery-status, which
 * readers accept in practice.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounce_dsn.h"
#include "log.h"
#include "mem.h"
#include "rec.h"

#define BOUNCE_FOLD		78	/* fold header lines here */
#define BOUNCE_WRAP		72	/* wrap text lines here */
#define BOUNCE_LINE_MAX		900	/* hard cut of one unbreakable word */

static char *
bounce_clean(const char *s)
{
	char *copy = xstrdup(s != NULL ? s : "");

	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

static void
bounce_rcpt_release(struct bounce_rcpt *r)
{
	xfree(&r->address);
	xfree(&r->status);
	xfree(&r->dsn);
	xfree(&r->reason);
	xfree(&r->relay);
	xfree(&r->orcpt);
	xfree(&r->notify);
}

void
bounce_rcpts_free(struct bounce_rcpt **rcpts_r, size_t count)
{
	if (*rcpts_r == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		bounce_rcpt_release(&(*rcpts_r)[i]);
	xfree(rcpts_r);
}

static long long
bounce_number(const char *s, long long fallback)
{
	char *end;
	long long n;

	if (s == NULL || *s < '0' || *s > '9')
		return fallback;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return fallback;
	return n;
}

size_t
bounce_log_parse(const char *data, size_t len, struct bounce_rcpt **rcpts_r)
{
	struct bounce_rcpt *list = NULL;
	size_t count = 0, cap = 0, at = 0;
	struct rec *r = rec_new();
	ssize_t used;

	while (at < len && (used = rec_parse(r, data + at, len - at)) > 0) {
		const char *address = rec_get(r, "rcpt");
		const char *status = rec_get(r, "status");
		struct bounce_rcpt *b;

		at += (size_t)used;
		if (address == NULL || status == NULL)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			list = xreallocarray(list, cap, sizeof(*list));
		}
		b = &list[count++];
		memset(b, 0, sizeof(*b));
		b->address = bounce_clean(address);
		b->index = bounce_number(rec_get(r, "index"), -1);
		b->status = bounce_clean(status);
		b->dsn = bounce_clean(rec_get(r, "dsn"));
		b->reason = bounce_clean(rec_get(r, "reason"));
		b->relay = bounce_clean(rec_get(r, "relay"));
		b->time = bounce_number(rec_get(r, "time"), 0);
	}
	rec_free(&r);
	*rcpts_r = list;
	return count;
}

bool
bounce_notify_wants(const char *notify, bool warn)
{
	const char *want = warn ? "DELAY" : "FAILURE";
	size_t want_len = strlen(want);
	const char *p = notify;

	if (notify == NULL || *notify == '\0')
		return true;	/* RFC 3461 4.1: the MTA's default */
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == want_len && strncasecmp(p, want, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

void
bounce_diagnostic(const char *reason, const char *relay, char **host_r,
    char **diagnostic_r, bool *smtp_r)
{
	const char *text = reason != NULL ? reason : "";
	const char *said, *bracket;
	size_t len;

	*host_r = NULL;
	*smtp_r = false;
	if (strncmp(text, "host ", 5) == 0 &&
	    (said = strstr(text, " said: ")) != NULL && said > text + 5 &&
	    (bracket = memchr(text + 5, '[', (size_t)(said - text - 5))) !=
	    NULL && bracket > text + 5) {
		const char *reply = said + 7;
		const char *in_reply = strstr(reply, " (in reply to ");

		*host_r = xstrndup(text + 5, (size_t)(bracket - text - 5));
		len = in_reply != NULL ? (size_t)(in_reply - reply) :
		    strlen(reply);
		*diagnostic_r = xstrndup(reply, len);
		*smtp_r = true;
	} else {
		*diagnostic_r = xstrdup(text);
		*smtp_r = (text[0] == '4' || text[0] == '5') &&
		    isdigit((unsigned char)text[1]) &&
		    isdigit((unsigned char)text[2]) &&
		    (text[3] == ' ' || text[3] == '-' || text[3] == '\0');
	}
	if (*host_r == NULL && relay != NULL &&
	    (bracket = strchr(relay, '[')) != NULL && bracket > relay)
		*host_r = xstrndup(relay, (size_t)(bracket - relay));
	for (char *p = *diagnostic_r; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (*host_r != NULL)
		for (char *p = *host_r; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f ||
			    *p == ';')
				*p = '?';
}

void
bounce_date(long long t, char *out, size_t size)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	time_t when = (time_t)t;
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d +0000",
	    days[(unsigned)tm.tm_wday % 7], tm.tm_mday,
	    months[(unsigned)tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

size_t
bounce_header_length(const char *content, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *nl;

		if (content[at] == '\n')
			return at + 1;
		nl = memchr(content + at, '\n', len - at);
		if (nl == NULL)
			return len;
		at = (size_t)(nl - content) + 1;
	}
	return len;
}

/* Append text, breaking it at spaces into lines of at most width bytes;
 * the first line starts after first_len bytes already on it, later ones
 * start with indent. A word longer than BOUNCE_LINE_MAX is cut. */
static int
bounce_wrap(struct buf *out, const char *text, size_t first_len,
    const char *indent, size_t width)
{
	size_t column = first_len, indent_len = strlen(indent);
	const char *p = text;
	bool line_empty = true;

	while (*p == ' ')
		p++;
	while (*p != '\0') {
		size_t word = strcspn(p, " ");

		if (word > BOUNCE_LINE_MAX)
			word = BOUNCE_LINE_MAX;
		if (!line_empty && column + 1 + word > width) {
			if (buf_add_char(out, '\n') < 0 ||
			    buf_add_str(out, indent) < 0)
				return -1;
			column = indent_len;
			line_empty = true;
		}
		if (!line_empty) {
			if (buf_add_char(out, ' ') < 0)
				return -1;
			column++;
		}
		if (buf_add(out, p, word) < 0)
			return -1;
		column += word;
		line_empty = false;
		p += word;
		while (*p == ' ')
			p++;
	}
	return buf_add_char(out, '\n');
}

/* One header field "Name: value", folded. */
static int
bounce_field(struct buf *out, const char *name, const char *value)
{
	char *clean = bounce_clean(value);
	int result;

	result = buf_printf(out, "%s:", name) < 0 ? -1 :
	    (*clean == '\0' ? buf_add_char(out, '\n') :
	    (buf_add_char(out, ' ') < 0 ? -1 :
	    bounce_wrap(out, clean, strlen(name) + 2, "\t", BOUNCE_FOLD)));
	free(clean);
	return result;
}

static bool
bounce_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* "X.Y.Z" with the class the action needs, else the class's default. */
static const char *
bounce_status_code(const char *dsn, bool warn)
{
	const char *p = dsn;
	int parts = 0;

	if (dsn == NULL || dsn[0] != (warn ? '4' : '5'))
		return warn ? "4.0.0" : "5.0.0";
	for (;;) {
		size_t digits = 0;

		while (isdigit((unsigned char)*p) && digits < 4) {
			p++;
			digits++;
		}
		if (digits == 0 || isdigit((unsigned char)*p))
			return warn ? "4.0.0" : "5.0.0";
		parts++;
		if (*p == '\0')
			break;
		if (*p != '.' || parts == 3)
			return warn ? "4.0.0" : "5.0.0";
		p++;
	}
	return parts == 3 ? dsn : (warn ? "4.0.0" : "5.0.0");
}

/* Whole hours or days, for the warning text. */
static void
bounce_duration(long long seconds, char *out, size_t size)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds >= 2 * 86400)
		snprintf(out, size, "%lld days", seconds / 86400);
	else if (seconds >= 2 * 3600)
		snprintf(out, size, "%lld hours", seconds / 3600);
	else if (seconds >= 120)
		snprintf(out, size, "%lld minutes", seconds / 60);
	else
		snprintf(out, size, "%lld seconds", seconds);
}

static int
bounce_text_part(const struct bounce_notice *n, struct buf *out,
    bool full)
{
	char when[64], until[64];
	int result = 0;

	if (buf_printf(out, "This is the mail system at host %s.\n\n",
	    n->myhostname) < 0)
		return -1;
	if (n->warn) {
		bounce_duration(n->now - n->arrival, when, sizeof(when));
		bounce_date(n->retry_until, until, sizeof(until));
		if (buf_add_str(out,
		    "####################################################"
		    "################\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND "
		    "YOUR MESSAGE. #\n"
		    "####################################################"
		    "################\n\n") < 0 ||
		    buf_printf(out, "Your message could not be delivered "
		    "for %s to the\nrecipients listed below. The mail system "
		    "will keep trying\nuntil %s; if it still fails by "
		    "then, you will\nreceive another message.\n\n", when,
		    until) < 0)
			return -1;
	} else if (n->postmaster) {
		if (buf_add_str(out, "A message without a return address (a "
		    "delivery notice or other\nautomatic mail) could not be "
		    "delivered. It cannot go back to a\nsender, so it comes "
		    "to you, the postmaster.\n\n") < 0)
			return -1;
	} else {
		if (buf_printf(out, "I'm sorry to have to tell you that your "
		    "message could not be\ndelivered to one or more "
		    "recipients. This is a permanent failure:\nthe mail "
		    "system has given up and will not try again. %s\n\n"
		    "For further help, write to postmaster@%s and\n"
		    "include this report.\n\n",
		    full ? "Your message\nis attached below." :
		    "The headers\nof your message are attached below.",
		    n->myhostname) < 0)
			return -1;
	}
	if (buf_add_str(out, "                   The mail system\n\n") < 0)
		return -1;
	for (size_t i = 0; i < n->rcpt_count && result == 0; i++) {
		const struct bounce_rcpt *r = &n->rcpts[i];
		char *host, *diagnostic, *line;
		bool smtp;

		bounce_diagnostic(r->reason, r->relay, &host, &diagnostic,
		    &smtp);
		if (host != NULL && smtp)
			line = xasprintf("<%s>: the mail server %s answered: "
			    "%s", r->address, host, diagnostic);
		else if (smtp)
			line = xasprintf("<%s>: the receiving mail server "
			    "answered: %s", r->address, diagnostic);
		else
			line = xasprintf("<%s>: %s (%s)", r->address,
			    diagnostic, bounce_status_code(r->dsn, n->warn));
		result = bounce_wrap(out, line, 0, "    ", BOUNCE_WRAP);
		if (result == 0)
			result = buf_add_char(out, '\n');
		free(line);
		free(host);
		free(diagnostic);
	}
	return result;
}

static int
bounce_status_part(const struct bounce_notice *n, struct buf *out)
{
	char date[64];
	char *value;
	int result = 0;

	value = xasprintf("dns; %s", n->myhostname);
	result |= bounce_field(out, "Reporting-MTA", value);
	free(value);
	result |= bounce_field(out, "X-Postern-Queue-ID", n->qid);
	value = xasprintf("rfc822; %s", n->sender);
	result |= bounce_field(out, "X-Postern-Sender", value);
	free(value);
	if (n->envid != NULL && *n->envid != '\0')
		result |= bounce_field(out, "Original-Envelope-Id", n->envid);
	bounce_date(n->arrival, date, sizeof(date));
	result |= bounce_field(out, "Arrival-Date", date);
	for (size_t i = 0; i < n->rcpt_count && result == 0; i++) {
		const struct bounce_rcpt *r = &n->rcpts[i];
		char *host, *diagnostic;
		bool smtp;

		result |= buf_add_char(out, '\n');
		value = xasprintf("rfc822; %s", r->address);
		result |= bounce_field(out, "Final-Recipient", value);
		free(value);
		if (r->orcpt != NULL && strchr(r->orcpt, ';') != NULL) {
			size_t type = strcspn(r->orcpt, ";");

			value = xasprintf("%.*s; %s", (int)type, r->orcpt,
			    r->orcpt + type + 1);
			result |= bounce_field(out, "Original-Recipient",
			    value);
			free(value);
		}
		result |= bounce_field(out, "Action",
		    n->warn ? "delayed" : "failed");
		result |= bounce_field(out, "Status",
		    bounce_status_code(r->dsn, n->warn));
		bounce_diagnostic(r->reason, r->relay, &host, &diagnostic,
		    &smtp);
		if (host != NULL) {
			value = xasprintf("dns; %s", host);
			result |= bounce_field(out, "Remote-MTA", value);
			free(value);
		}
		value = xasprintf("%s; %s", smtp ? "smtp" : "x-postern",
		    diagnostic);
		result |= bounce_field(out, "Diagnostic-Code", value);
		free(value);
		free(host);
		free(diagnostic);
		if (r->time > 0) {
			bounce_date(r->time, date, sizeof(date));
			result |= bounce_field(out, "Last-Attempt-Date", date);
		}
		if (n->warn) {
			bounce_date(n->retry_until, date, sizeof(date));
			result |= bounce_field(out, "Will-Retry-Until", date);
		}
	}
	return result != 0 ? -1 : 0;
}

/* true when the whole original goes back (see the file header). */
static bool
bounce_return_full(const struct bounce_notice *n)
{
	if (n->ret != NULL && strcasecmp(n->ret, "HDRS") == 0)
		return false;
	return n->content_size <= n->size_limit &&
	    n->content_len == n->content_size;
}

int
bounce_dsn_build(const struct bounce_notice *n, struct buf *out)
{
	bool full = bounce_return_full(n);
	size_t original_len = full ? n->content_len :
	    bounce_header_length(n->content, n->content_len);
	struct buf text;
	bool eight_bit;
	char date[64];
	const char *subject;
	int result = 0;

	if (n->rcpt_count == 0)
		return -1;
	buf_init(&text, REC_MAX);
	if (bounce_text_part(n, &text, full) < 0) {
		buf_release(&text);
		return -1;
	}
	eight_bit = bounce_has_8bit(text.data, text.len) ||
	    bounce_has_8bit(n->content, original_len);
	if (n->warn)
		subject = "Delayed Mail (still being retried)";
	else if (n->postmaster)
		subject = "Postmaster Copy: Undelivered Mail";
	else
		subject = "Undelivered Mail Returned to Sender";
	bounce_date(n->now, date, sizeof(date));
	result |= buf_printf(out, "From: Mail Delivery System "
	    "<MAILER-DAEMON@%s>\n", n->myhostname);
	result |= buf_printf(out, "To: <%s>\n", n->to);
	result |= buf_printf(out, "Subject: %s\n", subject);
	result |= buf_printf(out, "Date: %s\n", date);
	result |= buf_printf(out, "Message-ID: %s\n", n->message_id);
	result |= buf_add_str(out, "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n");
	result |= buf_printf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"%s\"\n", n->boundary);
	if (eight_bit)
		result |= buf_add_str(out, "Content-Transfer-Encoding: 8bit\n");
	result |= buf_add_str(out, "\nThis is a MIME-encapsulated message.\n");

	result |= buf_printf(out, "\n--%s\n", n->boundary);
	result |= buf_add_str(out, "Content-Description: Notification\n");
	if (bounce_has_8bit(text.data, text.len))
		result |= buf_add_str(out, "Content-Type: text/plain; "
		    "charset=utf-8\nContent-Transfer-Encoding: 8bit\n");
	else
		result |= buf_add_str(out, "Content-Type: text/plain; "
		    "charset=us-ascii\n");
	result |= buf_add_char(out, '\n');
	result |= buf_add(out, text.data, text.len);
	buf_release(&text);

	result |= buf_printf(out, "\n--%s\n", n->boundary);
	result |= buf_add_str(out, "Content-Description: Delivery report\n");
	result |= buf_add_str(out, "Content-Type: message/delivery-status\n"
	    "\n");
	if (result == 0)
		result = bounce_status_part(n, out);

	result |= buf_printf(out, "\n--%s\n", n->boundary);
	if (full)
		result |= buf_printf(out, "Content-Description: %s\n"
		    "Content-Type: message/rfc822\n", n->warn ?
		    "Delayed Message" : "Undelivered Message");
	else
		result |= buf_printf(out, "Content-Description: %s\n"
		    "Content-Type: text/rfc822-headers\n", n->warn ?
		    "Delayed Message Headers" :
		    "Undelivered Message Headers");
	if (bounce_has_8bit(n->content, original_len))
		result |= buf_add_str(out, "Content-Transfer-Encoding: 8bit\n");
	result |= buf_add_char(out, '\n');
	result |= buf_add(out, n->content, original_len);
	if (original_len > 0 && n->content[original_len - 1] != '\n')
		result |= buf_add_char(out, '\n');
	result |= buf_printf(out, "\n--%s--\n", n->boundary);
	return result != 0 ? -1 : 0;
}
