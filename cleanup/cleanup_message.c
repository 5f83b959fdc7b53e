/*
 * cleanup_message.c - what cleanup does to one message, without I/O.
 *
 * Order of work on the header block (the envelope is written after it,
 * since sendmail -t and virtual aliases change the recipients):
 *   1. split the block (cleanup_headers_split);
 *   2. header_checks on each header, the key being the whole header with
 *      its folded lines joined by "\n": IGNORE, REJECT, WARN, DUNNO/OK;
 *   3. Received: count against hopcount_limit (554 5.4.6);
 *   4. sendmail -t: recipients from Resent-To/Cc/Bcc when any is present,
 *      else To/Cc/Bcc; Bcc (and Resent-Bcc) removed;
 *   5. unqualified addresses get "@$myorigin" (Postfix's
 *      append_at_myorigin), then virtual_alias_maps;
 *   6. local_submit: missing From, Date, Message-ID added at the end;
 *   7. our Received: prepended (smtpd and pickup origins only; mail that
 *      local re-injects carries its Delivered-To instead).
 *
 * Request attributes that cleanup/1 does not define are logged and
 * ignored rather than refused, so that a newer client still gets its mail
 * through; a malformed request (no proto, no sender, orcpt before any
 * rcpt) is refused with 451 4.3.0.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "cleanup_headers.h"
#include "cleanup_message.h"
#include "log.h"
#include "mem.h"
#include "proto.h"

static const char *const cleanup_request_names[] = {
	"proto", "origin", "sender", "client_name", "client_addr",
	"client_port", "helo", "protocol", "tls", "sasl_user", "ret",
	"envid", "body", "smtputf8", "uid", "extract_recipients",
	"local_submit", "full_name", "rcpt", "orcpt", "notify", "sasl_header",
	"sasl_sender", NULL
};

/* Envelope attributes copied from the request into the queue file. */
static const char *const cleanup_envelope_names[] = {
	"client_name", "client_addr", "helo", "protocol", "ret", "envid",
	"body", "smtputf8", "sasl_user", "sasl_sender", NULL
};

void
cleanup_message_fail(struct cleanup_message *m, const char *status,
    const char *dsn, const char *text)
{
	if (m->fail_status != NULL)
		return;
	m->fail_status = status;
	m->fail_dsn = dsn;
	m->fail_text = xstrdup(text);
}

/* No control characters (they would break headers a delivery agent
 * writes from the address) and within ADDR_MAX. */
static bool
cleanup_address_ok(const char *address)
{
	size_t len = strlen(address);

	if (len >= ADDR_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)address[i] < 32 || address[i] == 127)
			return false;
	return true;
}

static bool
cleanup_known_name(const char *name)
{
	for (size_t i = 0; cleanup_request_names[i] != NULL; i++)
		if (strcmp(cleanup_request_names[i], name) == 0)
			return true;
	return false;
}

int
cleanup_message_start(struct cleanup_message *m,
    const struct cleanup_settings *s, const struct rec *req)
{
	const char *proto = rec_get(req, "proto");
	const char *sender = rec_get(req, "sender");
	const char *v;
	struct cleanup_rcpt *last = NULL;

	memset(m, 0, sizeof(*m));
	m->settings = s;
	m->req = req;
	m->now = time(NULL);
	m->origin = rec_get(req, "origin");
	if (m->origin == NULL)
		m->origin = "smtpd";
	if (proto == NULL || strcmp(proto, PROTO_CLEANUP) != 0 ||
	    sender == NULL || (strcmp(m->origin, "smtpd") != 0 &&
	    strcmp(m->origin, "pickup") != 0 &&
	    strcmp(m->origin, "local") != 0 &&
	    strcmp(m->origin, "bounce") != 0)) {
		cleanup_message_fail(m, "451", "4.3.0",
		    "Error: malformed cleanup request");
		return -1;
	}
	m->sender = xstrdup(sender);
	for (size_t i = 0; i < req->count; i++) {
		const char *name = req->attrs[i].name;

		if ((strcmp(name, "sender") == 0 || strcmp(name, "rcpt") == 0 ||
		    strcmp(name, "orcpt") == 0) &&
		    !cleanup_address_ok(req->attrs[i].value)) {
			cleanup_message_fail(m, "554", "5.1.3",
			    "Error: malformed address");
			return -1;
		}
	}
	v = rec_get(req, "extract_recipients");
	m->extract = v != NULL && strcmp(v, "1") == 0;
	v = rec_get(req, "local_submit");
	m->local_submit = v != NULL && strcmp(v, "1") == 0;
	for (size_t i = 0; i < req->count; i++) {
		const struct rec_attr *a = &req->attrs[i];

		if (strcmp(a->name, "rcpt") == 0) {
			if (*a->value == '\0') {
				last = NULL;
				continue;
			}
			last = cleanup_rcpts_add(&m->rcpts, a->value, NULL,
			    NULL) ? &m->rcpts.list[m->rcpts.count - 1] : NULL;
			m->request_rcpt_count++;
		} else if (strcmp(a->name, "orcpt") == 0 ||
		    strcmp(a->name, "notify") == 0) {
			if (m->request_rcpt_count == 0) {
				cleanup_message_fail(m, "451", "4.3.0",
				    "Error: malformed cleanup request");
				return -1;
			}
			if (last == NULL)
				continue;	/* a dropped duplicate's */
			if (a->name[0] == 'o') {
				xfree(&last->orcpt);
				last->orcpt = xstrdup(a->value);
			} else {
				xfree(&last->notify);
				last->notify = xstrdup(a->value);
			}
		} else if (!cleanup_known_name(a->name)) {
			log_warn("cleanup request: ignoring unknown "
			    "attribute \"%.64s\"", a->name);
		}
	}
	if (m->rcpts.count == 0 && !m->extract) {
		cleanup_message_fail(m, "554", "5.5.1",
		    "Error: no valid recipients");
		return -1;
	}
	return 0;
}

void
cleanup_message_set_qid(struct cleanup_message *m, const char *qid)
{
	xfree(&m->qid);
	m->qid = xstrdup(qid);
}

/* "from client[addr]; from=<s> proto=P helo=<h>" for reject/warn logs. */
static char *
cleanup_log_context(const struct cleanup_message *m)
{
	const char *name = rec_get(m->req, "client_name");
	const char *addr = rec_get(m->req, "client_addr");
	const char *proto = rec_get(m->req, "protocol");
	const char *helo = rec_get(m->req, "helo");
	char *safe_name, *safe_addr, *safe_helo, *safe_sender, *result;

	safe_name = cleanup_header_safe(name ? name : "local", 255);
	safe_addr = cleanup_header_safe(addr ? addr : "127.0.0.1", 64);
	safe_helo = cleanup_header_safe(helo ? helo : "", 255);
	safe_sender = cleanup_header_safe(m->sender, 512);
	result = xasprintf("from %s[%s]; from=<%s> proto=%s helo=<%s>",
	    safe_name, safe_addr, safe_sender, proto ? proto : "local",
	    safe_helo);
	xfree(&safe_name);
	xfree(&safe_addr);
	xfree(&safe_helo);
	xfree(&safe_sender);
	return result;
}

/* A REJECT text may start with its own enhanced status code. */
static void
cleanup_reject(struct cleanup_message *m, const char *text)
{
	const char *p = text;
	static char dsn[16];

	if (*text == '\0')
		text = "message content rejected";
	if (p[0] == '5' && p[1] == '.' && isdigit((unsigned char)p[2])) {
		size_t n = strcspn(p, " \t");

		if (n < sizeof(dsn)) {
			memcpy(dsn, p, n);
			dsn[n] = '\0';
			p += n;
			while (*p == ' ' || *p == '\t')
				p++;
			cleanup_message_fail(m, "550", dsn,
			    *p ? p : "message content rejected");
			return;
		}
	}
	cleanup_message_fail(m, "550", "5.7.1", text);
}

static int
cleanup_header_checks(struct cleanup_message *m, struct cleanup_headers *h)
{
	struct maplist *checks = m->settings->header_checks;

	if (checks == NULL || maplist_empty(checks))
		return 0;
	for (size_t i = 0; i < h->count; i++) {
		struct cleanup_header *hdr = &h->list[i];
		char *value = NULL, *context, *safe;
		const char *text;
		int rc = maplist_lookup(checks, hdr->text, &value);

		if (rc < 0) {
			cleanup_message_fail(m, "451", "4.3.0",
			    "Error: header_checks lookup failed");
			return -1;
		}
		if (rc == 0)
			continue;
		context = cleanup_log_context(m);
		/* The header's name only: message content never reaches the
		 * log (DESIGN.md), unlike Postfix, which logs the value. */
		safe = cleanup_header_safe(hdr->text,
		    strcspn(hdr->text, ":") < 200 ? strcspn(hdr->text, ":") :
		    200);
		switch (cleanup_action_parse(value, &text)) {
		case CLEANUP_ACTION_IGNORE:
			hdr->deleted = true;
			break;
		case CLEANUP_ACTION_REJECT:
			cleanup_reject(m, text);
			log_info("%s: reject: header %s %s: %s %s", m->qid,
			    safe, context, m->fail_dsn, m->fail_text);
			break;
		case CLEANUP_ACTION_WARN:
			log_info("%s: warning: header %s %s: %s", m->qid,
			    safe, context, text);
			break;
		case CLEANUP_ACTION_UNSUPPORTED:
			log_warn("%s: header_checks: action \"%.40s\" is not "
			    "supported; treated as DUNNO", m->qid, value);
			break;
		case CLEANUP_ACTION_DUNNO:
			break;
		}
		xfree(&value);
		xfree(&context);
		xfree(&safe);
		if (m->fail_status != NULL)
			return -1;
	}
	return 0;
}

static char *
cleanup_qualify(const struct cleanup_message *m, const char *address)
{
	if (*address == '\0' || strchr(address, '@') != NULL)
		return xstrdup(address);
	return xasprintf("%s@%s", address, m->settings->myorigin);
}

/* sendmail -t (RFC 5322 3.6.6 for the Resent- fields). */
static void
cleanup_extract(struct cleanup_message *m, struct cleanup_headers *h)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = {
		"Resent-To", "Resent-Cc", "Resent-Bcc", NULL
	};
	const char *const *names = plain;

	for (size_t i = 0; i < h->count; i++)
		for (size_t j = 0; resent[j] != NULL; j++)
			if (!h->list[i].deleted &&
			    cleanup_header_is(&h->list[i], resent[j]))
				names = resent;
	for (size_t i = 0; i < h->count; i++) {
		struct cleanup_header *hdr = &h->list[i];
		char **list = NULL, *value;
		size_t count = 0;
		bool wanted = false;

		if (hdr->deleted)
			continue;
		for (size_t j = 0; names[j] != NULL; j++)
			if (cleanup_header_is(hdr, names[j]))
				wanted = true;
		if (cleanup_header_is(hdr, "Bcc") ||
		    cleanup_header_is(hdr, "Resent-Bcc"))
			hdr->deleted = true;
		if (!wanted)
			continue;
		value = cleanup_header_value(hdr);
		if (cleanup_addr_list_parse(value, &list, &count) < 0)
			log_warn("%s: %s: address list cut short", m->qid,
			    hdr->name);
		for (size_t j = 0; j < count; j++) {
			char *a = cleanup_qualify(m, list[j]);

			if (cleanup_address_ok(a))
				cleanup_rcpts_add(&m->rcpts, a, NULL, NULL);
			xfree(&a);
		}
		cleanup_addr_list_free(&list, &count);
		xfree(&value);
	}
}

/* A display name as an RFC 5322 phrase: atoms and spaces as they are,
 * anything else quoted. */
static char *
cleanup_phrase(const char *name)
{
	struct buf b;
	bool plain = true;
	char *result;

	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != ' ' &&
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			plain = false;
	if (plain)
		return cleanup_header_safe(name, 200);
	buf_init(&b, 1024);
	(void)buf_add_char(&b, '"');
	for (const char *p = name; *p != '\0' && b.len < 400; p++) {
		if ((unsigned char)*p < 32 || *p == 127)
			continue;
		if (*p == '"' || *p == '\\')
			(void)buf_add_char(&b, '\\');
		(void)buf_add_char(&b, *p);
	}
	(void)buf_add_char(&b, '"');
	result = buf_strdup(&b);
	buf_release(&b);
	return result;
}

static void
cleanup_add_missing(struct cleanup_message *m, struct cleanup_headers *h)
{
	const char *full_name = rec_get(m->req, "full_name");
	char date[64], *text;

	if (cleanup_headers_find(h, "From") == NULL && *m->sender != '\0') {
		char *sender = cleanup_header_safe(m->sender, 512);

		if (full_name != NULL && *full_name != '\0') {
			char *phrase = cleanup_phrase(full_name);

			text = xasprintf("From: %s <%s>", phrase, sender);
			xfree(&phrase);
		} else {
			text = xasprintf("From: %s", sender);
		}
		cleanup_headers_add(h, text);
		xfree(&text);
		xfree(&sender);
	}
	if (cleanup_headers_find(h, "Date") == NULL) {
		cleanup_date(m->now, date, sizeof(date));
		text = xasprintf("Date: %s", date);
		cleanup_headers_add(h, text);
		xfree(&text);
	}
	if (cleanup_headers_find(h, "Message-ID") == NULL) {
		text = xasprintf("Message-ID: <%s@%s>", m->qid,
		    m->settings->myhostname);
		cleanup_headers_add(h, text);
		xfree(&text);
	}
}

int
cleanup_message_headers(struct cleanup_message *m, const char *data,
    size_t len, bool at_end, struct buf *out, size_t *used_r)
{
	const struct cleanup_settings *s = m->settings;
	struct cleanup_headers h = { 0 };
	struct cleanup_header *hdr;
	long hops = 0;
	const char *error;
	int result = -1;

	*used_r = cleanup_headers_split(data, len, at_end, &h);
	if (cleanup_header_checks(m, &h) < 0)
		goto done;
	for (size_t i = 0; i < h.count; i++)
		if (cleanup_header_is(&h.list[i], "Received"))
			hops++;
	if (hops > s->hopcount_limit) {
		cleanup_message_fail(m, "554", "5.4.6", "Too many hops");
		log_info("%s: reject: %ld Received: headers: 5.4.6 Too many "
		    "hops", m->qid, hops);
		goto done;
	}
	if (m->extract)
		cleanup_extract(m, &h);
	{
		char *sender = cleanup_qualify(m, m->sender);

		xfree(&m->sender);
		m->sender = sender;
	}
	for (size_t i = 0; i < m->rcpts.count; i++) {
		char *a = cleanup_qualify(m, m->rcpts.list[i].address);

		xfree(&m->rcpts.list[i].address);
		m->rcpts.list[i].address = a;
	}
	if (m->rcpts.count == 0) {
		cleanup_message_fail(m, "554", "5.1.3",
		    "No recipient addresses found in message header");
		goto done;
	}
	if (cleanup_alias_expand(s->virtual_alias_maps, &s->alias_limits,
	    &m->rcpts, &error) < 0) {
		log_warn("%s: %s", m->qid, error);
		cleanup_message_fail(m, "451", "4.3.0", error);
		goto done;
	}
	if (m->local_submit)
		cleanup_add_missing(m, &h);
	if ((hdr = cleanup_headers_find(&h, "Message-ID")) != NULL) {
		char *value = cleanup_header_value(hdr);

		m->message_id = cleanup_header_safe(value, 200);
		xfree(&value);
	}
	if (strcmp(m->origin, "smtpd") == 0 ||
	    strcmp(m->origin, "pickup") == 0) {
		struct cleanup_received r = {
			.origin = m->origin,
			.helo = rec_get(m->req, "helo"),
			.client_name = rec_get(m->req, "client_name"),
			.client_addr = rec_get(m->req, "client_addr"),
			.protocol = rec_get(m->req, "protocol"),
			.tls = rec_get(m->req, "tls"),
			.sasl_user = rec_get(m->req, "sasl_header") != NULL &&
			    strcmp(rec_get(m->req, "sasl_header"), "1") == 0 ?
			    rec_get(m->req, "sasl_user") : NULL,
			.uid = rec_get(m->req, "uid"),
			.myhostname = s->myhostname,
			.qid = m->qid,
			.rcpt = m->request_rcpt_count == 1 ?
			    rec_get(m->req, "rcpt") : NULL,
			.now = m->now,
		};
		char *received = cleanup_received_format(&r);

		if (buf_add_str(out, received) < 0 ||
		    buf_add_char(out, '\n') < 0) {
			xfree(&received);
			goto too_big;
		}
		xfree(&received);
	}
	if (cleanup_headers_format(&h, out) < 0 || buf_add_char(out, '\n') < 0)
		goto too_big;
	result = 0;
	goto done;
too_big:
	cleanup_message_fail(m, "552", "5.3.4",
	    "Message header too large");
done:
	cleanup_headers_release(&h);
	return result;
}

void
cleanup_message_envelope(const struct cleanup_message *m, struct rec *env)
{
	rec_put_int(env, "arrival", (long long)m->now);
	rec_put(env, "sender", m->sender);
	for (size_t i = 0; cleanup_envelope_names[i] != NULL; i++) {
		const char *v = rec_get(m->req, cleanup_envelope_names[i]);

		if (v != NULL)
			rec_put(env, cleanup_envelope_names[i], v);
	}
	rec_put(env, "origin", m->origin);
	for (size_t i = 0; i < m->rcpts.count; i++) {
		rec_put(env, "rcpt", m->rcpts.list[i].address);
		if (m->rcpts.list[i].orcpt != NULL)
			rec_put(env, "orcpt", m->rcpts.list[i].orcpt);
		if (m->rcpts.list[i].notify != NULL)
			rec_put(env, "notify", m->rcpts.list[i].notify);
	}
}

void
cleanup_message_release(struct cleanup_message *m)
{
	xfree(&m->qid);
	xfree(&m->sender);
	xfree(&m->message_id);
	xfree(&m->fail_text);
	cleanup_rcpts_release(&m->rcpts);
}
