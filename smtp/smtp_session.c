/*
 * smtp_session.c - one SMTP or LMTP conversation (RFC 5321, 2033, 2920,
 * 1870, 6152, 6531, 3461, 3207, 4954).
 *
 * Opening: greeting, EHLO (HELO after a 5xx; LMTP has only LHLO),
 * STARTTLS as the policy asks and EHLO again, then AUTH when a password
 * is configured for the destination (only over TLS). A transaction: MAIL,
 * every RCPT and DATA - in one write when the server offers PIPELINING -
 * then the replies in order, then the content, then one final reply
 * (SMTP) or one per accepted recipient (LMTP).
 *
 * Results: 2xx sent, 4xx deferred, 5xx bounced, per recipient, with the
 * server's words: "host mx[192.0.2.1] said: 550 5.1.1 ... (in reply to
 * RCPT TO command)". A 421, a timeout or a lost connection breaks the
 * session: recipients without a final answer are left pending for the
 * next MX host (smtp_deliver.c).
 *
 * The SASL password is sent to the server and nowhere else: the AUTH
 * lines are never logged, and a failure names only the server's reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "smtp.h"
#include "smtp_io.h"

struct smtp_settings smtp_settings = {
	.connect_timeout_ms = 30000,
	.helo_timeout_ms = 300000,
	.mail_timeout_ms = 300000,
	.rcpt_timeout_ms = 300000,
	.data_init_timeout_ms = 120000,
	.data_xfer_timeout_ms = 180000,
	.data_done_timeout_ms = 600000,
	.rset_timeout_ms = 20000,
	.mx_address_limit = 5,
	.helo_name = "localhost",
};

/* Read one whole reply with the given timeout. 0, or -1 with errno
 * (ETIMEDOUT, ECONNRESET, EMSGSIZE, EPROTO for a malformed reply). */
static int
smtp_read_reply(struct smtp_conn *c, struct smtp_reply *r, int timeout_ms)
{
	struct buf line;
	int ret = -1;

	buf_init(&line, SMTP_IO_LINE_MAX);
	c->io->timeout_ms = timeout_ms;
	smtp_reply_reset(r);
	for (;;) {
		int done;

		if (smtp_io_read_line(c->io, &line) < 0)
			break;
		done = smtp_reply_add_line(r, line.data, line.len);
		if (done < 0) {
			errno = EPROTO;
			break;
		}
		if (done > 0) {
			ret = 0;
			break;
		}
	}
	buf_release(&line);
	return ret;
}

/* A host's words as a reason: "host X[addr] said: 550 ... (in reply
 * to WHAT command)". */
static void
smtp_said(struct smtp_conn *c, struct smtp_failure *f,
    enum delivery_status status, const struct smtp_reply *r,
    const char *what)
{
	char *text = smtp_reply_string(r);
	char dsn[sizeof(r->dsn)];

	memcpy(dsn, r->dsn, sizeof(dsn));
	/* A deferral never carries a 5.x.x code, nor a bounce a 4.x.x. */
	dsn[0] = status == DELIVERY_BOUNCED ? '5' :
	    status == DELIVERY_DEFERRED ? '4' : '2';
	smtp_failure_set(f, status, dsn, "host %s said: %s (in reply to %s)",
	    c->host, text, what);
	free(text);
}

/* The connection failed while doing what: a failure for whatever is
 * still pending. */
static void
smtp_lost(struct smtp_conn *c, struct smtp_failure *f, const char *what)
{
	if (errno == ETIMEDOUT)
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.4.2", "conversation "
		    "with %s timed out while %s", c->host, what);
	else if (errno == EPROTO || errno == EMSGSIZE)
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.5.0", "malformed "
		    "reply from %s while %s", c->host, what);
	else
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.4.2", "lost "
		    "connection with %s while %s", c->host, what);
}

/* Send a command line and read its reply. 0 or -1 (errno as above). */
static int
smtp_command(struct smtp_conn *c, struct smtp_reply *r, int timeout_ms,
    const char *line)
{
	c->io->timeout_ms = timeout_ms;
	if (smtp_io_printf(c->io, "%s\r\n", line) < 0 ||
	    smtp_io_flush(c->io) < 0)
		return -1;
	return smtp_read_reply(c, r, timeout_ms);
}

void
smtp_session_close(struct smtp_conn **c_r, bool quit)
{
	struct smtp_conn *c = *c_r;

	if (c == NULL)
		return;
	if (quit && c->io != NULL) {
		/* Nothing depends on the answer: like Postfix's default
		 * smtp_skip_quit_response, we do not wait for it. */
		c->io->timeout_ms = 2000;
		if (smtp_io_write(c->io, "QUIT\r\n", 6) == 0)
			(void)smtp_io_flush(c->io);
	}
	smtp_io_free(&c->io);
	free(c->label);
	free(c->host);
	free(c->key);
	free(c);
	*c_r = NULL;
}

/* EHLO (or LHLO), HELO after a 5xx EHLO. 0, or -1 with *fail. */
static int
smtp_helo(struct smtp_conn *c, struct smtp_reply *r, struct smtp_failure *f)
{
	char *line = xasprintf("%s %s", c->lmtp ? "LHLO" : "EHLO",
	    smtp_settings.helo_name);
	int ret;

	ret = smtp_command(c, r, smtp_settings.helo_timeout_ms, line);
	free(line);
	if (ret < 0) {
		smtp_lost(c, f, c->lmtp ? "sending LHLO" : "sending EHLO");
		return -1;
	}
	if (r->code / 100 == 2) {
		smtp_ext_parse(r, &c->ext);
		return 0;
	}
	if (r->code / 100 == 5 && r->code != 421 && !c->lmtp) {
		line = xasprintf("HELO %s", smtp_settings.helo_name);
		ret = smtp_command(c, r, smtp_settings.helo_timeout_ms, line);
		free(line);
		if (ret < 0) {
			smtp_lost(c, f, "sending HELO");
			return -1;
		}
		memset(&c->ext, 0, sizeof(c->ext));
		if (r->code / 100 == 2)
			return 0;
		smtp_said(c, f, DELIVERY_DEFERRED, r, "HELO command");
		return -1;
	}
	smtp_said(c, f, DELIVERY_DEFERRED, r, c->lmtp ? "LHLO command" :
	    "EHLO command");
	return -1;
}

/* AUTH with the first password found under keys. 0 (authenticated, or
 * nothing to do), -1 with *fail. */
static int
smtp_auth(struct smtp_conn *c, struct smtp_reply *r,
    const char *const *keys, struct smtp_failure *f)
{
	char *value = NULL, *user = NULL, *password = NULL, *line = NULL;
	size_t i;
	int found = 0, ret = -1;

	if (!smtp_settings.sasl_enable || keys == NULL ||
	    smtp_settings.sasl_maps == NULL)
		return 0;
	for (i = 0; keys[i] != NULL && found == 0; i++) {
		found = maplist_lookup(smtp_settings.sasl_maps, keys[i],
		    &value);
		if (found < 0) {
			smtp_failure_set(f, DELIVERY_DEFERRED, "4.3.0",
			    "smtp_sasl_password_maps lookup failed");
			return -1;
		}
	}
	if (found == 0)
		return 0;	/* no password for this server: no AUTH */
	if (smtp_sasl_split(value, &user, &password) < 0) {
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.3.5",
		    "smtp_sasl_password_maps: value for %s is not "
		    "user:password", keys[i - 1]);
		goto out;
	}
	if (!c->tls) {
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.7.0", "SASL "
		    "authentication requires TLS, but %s did not offer it",
		    c->host);
		goto out;
	}
	if (!c->ext.auth_plain && !c->ext.auth_login) {
		smtp_failure_set(f, DELIVERY_DEFERRED, "4.7.0", "SASL "
		    "authentication failed: server %s offered no compatible "
		    "authentication mechanisms", c->host);
		goto out;
	}
	if (c->ext.auth_plain) {
		char *resp = smtp_sasl_plain(user, password);

		line = xasprintf("AUTH PLAIN %s", resp);
		explicit_bzero(resp, strlen(resp));
		free(resp);
		if (smtp_command(c, r, smtp_settings.helo_timeout_ms,
		    line) < 0) {
			smtp_lost(c, f, "sending AUTH");
			goto out;
		}
	} else {
		char *b64 = NULL;

		if (smtp_command(c, r, smtp_settings.helo_timeout_ms,
		    "AUTH LOGIN") < 0)
			goto lost;
		if (r->code == 334) {
			b64 = smtp_base64(user, strlen(user));
			ret = smtp_command(c, r, smtp_settings.helo_timeout_ms,
			    b64);
			free(b64);
			if (ret < 0)
				goto lost;
			ret = -1;
		}
		if (r->code == 334) {
			b64 = smtp_base64(password, strlen(password));
			ret = smtp_command(c, r, smtp_settings.helo_timeout_ms,
			    b64);
			explicit_bzero(b64, strlen(b64));
			free(b64);
			if (ret < 0)
				goto lost;
			ret = -1;
		}
	}
	if (r->code / 100 == 2) {
		log_info("%s: SASL authentication as %s succeeded", c->label,
		    user);
		ret = 0;
		goto out;
	}
	{
		char *text = smtp_reply_string(r);

		smtp_failure_set(f, DELIVERY_DEFERRED, "4.7.8", "SASL "
		    "authentication failed; server %s said: %s", c->host,
		    text);
		free(text);
	}
	goto out;
lost:
	smtp_lost(c, f, "sending AUTH");
out:
	if (line != NULL) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (value != NULL) {
		explicit_bzero(value, strlen(value));
		free(value);
	}
	free(user);
	return ret;
}

struct smtp_conn *
smtp_session_open(const struct smtp_target *t, bool lmtp,
    const struct smtp_tls_policy *policy, bool skip_tls,
    const char *const *sasl_keys, struct smtp_failure *fail,
    bool *tls_failed_r)
{
	struct smtp_conn *c;
	struct smtp_reply r;
	char *label = smtp_target_label(t), *error = NULL;
	bool quit = true;
	int fd;

	*tls_failed_r = false;
	fd = smtp_io_connect(t->family, t->addr, t->port, t->path,
	    smtp_settings.connect_timeout_ms);
	if (fd < 0) {
		int saved = errno;

		log_info("connect to %s: %s", label, saved == ETIMEDOUT ?
		    "Connection timed out" : strerror(saved));
		smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.1", "connect "
		    "to %s: %s", label, saved == ETIMEDOUT ?
		    "Connection timed out" : strerror(saved));
		free(label);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->io = smtp_io_new(fd, smtp_settings.helo_timeout_ms, t->host,
	    t->family == AF_UNIX ? t->path : t->addr, t->port);
	c->lmtp = lmtp;
	c->label = label;
	c->host = t->family == AF_UNIX ? xstrdup(label) :
	    xasprintf("%s[%s]", t->host, t->addr);
	smtp_reply_init(&r);

	if (smtp_read_reply(c, &r, smtp_settings.helo_timeout_ms) < 0) {
		smtp_lost(c, fail, "receiving the initial server greeting");
		quit = false;
		goto fail;
	}
	if (r.code != 220) {
		char *text = smtp_reply_string(&r);

		/* Postfix's words; the next MX host may do better. */
		log_info("host %s refused to talk to me: %s", c->host, text);
		smtp_failure_set(fail, DELIVERY_DEFERRED, r.dsn,
		    "host %s refused to talk to me: %s", c->host, text);
		fail->dsn[0] = '4';
		free(text);
		goto fail;
	}
	if (smtp_helo(c, &r, fail) < 0)
		goto fail;

	if (policy->level >= SMTP_TLS_ENCRYPT &&
	    (!c->ext.starttls || !smtp_tls_available())) {
		if (!smtp_tls_available())
			smtp_failure_set(fail, DELIVERY_DEFERRED, "4.7.5",
			    "TLS is required, but our TLS context is not "
			    "available");
		else
			smtp_failure_set(fail, DELIVERY_DEFERRED, "4.7.5",
			    "TLS is required, but was not offered by host %s",
			    c->host);
		goto fail;
	}
	/* skip_tls: a handshake with this peer failed lately; only "may"
	 * may then go in clear. */
	if (policy->level >= SMTP_TLS_MAY && c->ext.starttls &&
	    (!skip_tls || policy->level >= SMTP_TLS_ENCRYPT) &&
	    smtp_tls_available()) {
		int tls;

		if (smtp_command(c, &r, smtp_settings.helo_timeout_ms,
		    "STARTTLS") < 0) {
			smtp_lost(c, fail, "sending STARTTLS");
			quit = false;
			goto fail;
		}
		if (r.code != 220) {
			if (policy->level >= SMTP_TLS_ENCRYPT) {
				smtp_said(c, fail, DELIVERY_DEFERRED, &r,
				    "STARTTLS command");
				fail->dsn[0] = '4';
				goto fail;
			}
			/* "may": Postfix goes on in clear. */
		} else {
			/* Nothing the server sent before the handshake may
			 * count as protected (CVE-2011-0411's lesson). */
			smtp_io_drop_input(c->io);
			c->io->timeout_ms = smtp_settings.helo_timeout_ms;
			tls = smtp_io_starttls(c->io, policy, &error);
			if (tls == -1) {
				const char *why = error;

				if (strncmp(why, "TLS handshake failed: ", 22)
				    == 0)
					why += 22;
				smtp_failure_set(fail, DELIVERY_DEFERRED,
				    "4.7.5", "TLS is required, but our TLS "
				    "handshake with %s failed: %s", c->host,
				    why);
				log_info("%s: %s", c->label, error);
				*tls_failed_r = policy->level == SMTP_TLS_MAY;
				quit = false;
				goto fail;
			}
			if (tls == -2) {
				smtp_failure_set(fail, DELIVERY_DEFERRED,
				    "4.7.5", "%s: %s", c->host, error);
				goto fail;
			}
			c->tls = true;
			if (smtp_helo(c, &r, fail) < 0)
				goto fail;
		}
	}
	if (!c->lmtp && smtp_auth(c, &r, sasl_keys, fail) < 0)
		goto fail;
	free(error);
	smtp_reply_release(&r);
	return c;
fail:
	free(error);
	smtp_reply_release(&r);
	smtp_session_close(&c, quit);
	return NULL;
}

int
smtp_session_rset(struct smtp_conn *c)
{
	struct smtp_reply r;
	int ret;

	smtp_reply_init(&r);
	ret = smtp_command(c, &r, smtp_settings.rset_timeout_ms, "RSET") < 0 ||
	    r.code != 250 ? -1 : 0;
	smtp_reply_release(&r);
	return ret;
}

/* The content pass: LF -> CRLF, dot-stuffing, into the connection. */
struct smtp_content {
	struct smtp_conn *c;
	struct smtp_data data;
	struct buf out;
	bool write_failed;
};

static int
smtp_content_piece(void *ctx, const char *data, size_t len)
{
	struct smtp_content *s = ctx;

	buf_reset(&s->out);
	if (smtp_data_encode(&s->data, data, len, &s->out) < 0 ||
	    smtp_io_write(s->c->io, s->out.data, s->out.len) < 0) {
		s->write_failed = true;
		return -1;
	}
	return 0;
}

static int
smtp_count_piece(void *ctx, const char *data, size_t len)
{
	struct smtp_data *d = ctx;
	const char *p = data, *end = data + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		d->lines++;
		p++;
	}
	d->bol = len > 0 ? data[len - 1] == '\n' : d->bol;
	return 0;
}

/* The size on the wire, near enough for SIZE= (RFC 1870 allows an
 * estimate): content plus one CR per line, before dot-stuffing. */
static unsigned long long
smtp_content_size(struct queue_file *q)
{
	struct smtp_data d;

	smtp_data_init(&d);
	if (queue_read_content(q, smtp_count_piece, &d) < 0)
		return q->size;
	return q->size + d.lines + (d.bol ? 0 : 2);
}

/* A final result for recipient i. */
static void
smtp_result(struct smtp_conn *c, struct delivery_request *req, bool *pending,
    size_t i, const struct smtp_failure *f)
{
	struct delivery_rcpt *rcpt = &req->rcpts[i];

	delivery_set(rcpt, f->status, f->dsn, "%s", f->reason);
	free(rcpt->relay);
	rcpt->relay = xstrdup(c->label);
	pending[i] = false;
}

static bool
smtp_line_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/* MAIL FROM with the extensions the envelope needs and the server has. */
static void
smtp_mail_line(struct smtp_conn *c, struct delivery_request *req,
    struct queue_file *q, unsigned long long size, struct buf *line)
{
	const char *body = queue_get(q, "body");
	const char *smtputf8 = queue_get(q, "smtputf8");
	const char *ret = queue_get(q, "ret");
	const char *envid = queue_get(q, "envid");

	buf_reset(line);
	buf_printf(line, "MAIL FROM:<%s>", req->sender);
	if (c->ext.size)
		buf_printf(line, " SIZE=%llu", size);
	/* Without 8BITMIME on the other side the message goes as it is,
	 * as Postfix does by default (RFC 6152 leaves the choice). */
	if (c->ext.eightbitmime && body != NULL &&
	    strcasecmp(body, "8BITMIME") == 0)
		buf_add_str(line, " BODY=8BITMIME");
	if (c->ext.smtputf8 && smtputf8 != NULL && strcmp(smtputf8, "1") == 0)
		buf_add_str(line, " SMTPUTF8");
	if (c->ext.dsn && ret != NULL && (strcmp(ret, "FULL") == 0 ||
	    strcmp(ret, "HDRS") == 0))
		buf_printf(line, " RET=%s", ret);
	if (c->ext.dsn && envid != NULL && *envid != '\0') {
		char *x = smtp_xtext_encode(envid);

		buf_printf(line, " ENVID=%s", x);
		free(x);
	}
	buf_add_str(line, "\r\n");
}

static void
smtp_rcpt_line(struct smtp_conn *c, const struct delivery_rcpt *rcpt,
    struct buf *line)
{
	buf_reset(line);
	buf_printf(line, "RCPT TO:<%s>", rcpt->address);
	if (c->ext.dsn && rcpt->notify != NULL && *rcpt->notify != '\0')
		buf_printf(line, " NOTIFY=%s", rcpt->notify);
	if (c->ext.dsn && rcpt->orcpt != NULL) {
		const char *semi = strchr(rcpt->orcpt, ';');

		if (semi != NULL && semi[1] != '\0') {
			char *x = smtp_xtext_encode(semi + 1);

			buf_printf(line, " ORCPT=%.*s;%s",
			    (int)(semi - rcpt->orcpt), rcpt->orcpt, x);
			free(x);
		}
	}
	buf_add_str(line, "\r\n");
}

int
smtp_session_deliver(struct smtp_conn *c, struct delivery_request *req,
    struct queue_file *q, bool *pending, struct smtp_failure *fail)
{
	size_t n = req->rcpt_count, i, tried_count = 0, accepted_count = 0;
	bool *tried = xcalloc(n ? n : 1, sizeof(bool));
	bool *accepted = xcalloc(n ? n : 1, sizeof(bool));
	bool pipelining = c->ext.pipelining, mail_ok = true, broken = false;
	const char *smtputf8 = queue_get(q, "smtputf8");
	struct smtp_failure f = { 0 };
	struct smtp_reply r;
	struct buf *line = buf_new(SMTP_IO_LINE_MAX * 4);
	unsigned long long size = 0;
	int ret = 0;

	smtp_reply_init(&r);
	c->uses++;
	for (i = 0; i < n; i++)
		tried[i] = pending[i];

	/* Checks that need no command. */
	if (!smtp_line_safe(req->sender)) {
		smtp_failure_set(&f, DELIVERY_BOUNCED, "5.1.7", "bad sender "
		    "address syntax");
		goto all_pending;
	}
	if (smtputf8 != NULL && strcmp(smtputf8, "1") == 0 &&
	    !c->ext.smtputf8) {
		smtp_failure_set(&f, DELIVERY_BOUNCED, "5.6.7", "SMTPUTF8 is "
		    "required, but was not offered by host %s", c->host);
		goto all_pending;
	}
	if (c->ext.size) {
		size = smtp_content_size(q);
		if (c->ext.size_max > 0 && size > c->ext.size_max) {
			smtp_failure_set(&f, DELIVERY_BOUNCED, "5.3.4",
			    "message size %llu exceeds size limit %llu of "
			    "server %s", size, c->ext.size_max, c->host);
			goto all_pending;
		}
	}
	for (i = 0; i < n; i++) {
		if (tried[i] && !smtp_line_safe(req->rcpts[i].address)) {
			smtp_failure_set(&f, DELIVERY_BOUNCED, "5.1.3",
			    "bad recipient address syntax");
			smtp_result(c, req, pending, i, &f);
			tried[i] = false;
		}
	}
	for (i = 0; i < n; i++)
		if (tried[i])
			tried_count++;
	if (tried_count == 0)
		goto out;

	/* MAIL, RCPT..., DATA: one write with PIPELINING (RFC 2920 3.1),
	 * else one round trip each. */
	c->io->timeout_ms = smtp_settings.mail_timeout_ms;
	smtp_mail_line(c, req, q, size, line);
	if (smtp_io_write(c->io, line->data, line->len) < 0)
		goto lost_sending;
	if (!pipelining) {
		if (smtp_io_flush(c->io) < 0)
			goto lost_sending;
		if (smtp_read_reply(c, &r, smtp_settings.mail_timeout_ms) < 0) {
			smtp_lost(c, &f, "receiving the MAIL FROM reply");
			goto broken;
		}
		if (r.code == 421)
			goto said_421_mail;
		if (r.code / 100 != 2) {
			smtp_said(c, &f, r.code / 100 == 5 ? DELIVERY_BOUNCED :
			    DELIVERY_DEFERRED, &r, "MAIL FROM command");
			goto all_pending;
		}
	}
	for (i = 0; i < n; i++) {
		if (!tried[i])
			continue;
		smtp_rcpt_line(c, &req->rcpts[i], line);
		c->io->timeout_ms = smtp_settings.rcpt_timeout_ms;
		if (smtp_io_write(c->io, line->data, line->len) < 0)
			goto lost_sending;
		if (pipelining)
			continue;
		if (smtp_io_flush(c->io) < 0)
			goto lost_sending;
		if (smtp_read_reply(c, &r, smtp_settings.rcpt_timeout_ms) < 0) {
			smtp_lost(c, &f, "receiving the RCPT TO reply");
			goto broken;
		}
		if (r.code == 421) {
			smtp_said(c, &f, DELIVERY_DEFERRED, &r,
			    "RCPT TO command");
			goto broken;
		}
		if (r.code / 100 == 2) {
			accepted[i] = true;
			accepted_count++;
		} else {
			smtp_said(c, &f, r.code / 100 == 5 ? DELIVERY_BOUNCED :
			    DELIVERY_DEFERRED, &r, "RCPT TO command");
			smtp_result(c, req, pending, i, &f);
		}
	}
	if (!pipelining && accepted_count == 0) {
		/* Nobody to send to: RSET keeps the connection usable. */
		if (smtp_session_rset(c) < 0)
			broken = true;
		goto out;
	}
	c->io->timeout_ms = smtp_settings.data_init_timeout_ms;
	if (smtp_io_write(c->io, "DATA\r\n", 6) < 0 ||
	    smtp_io_flush(c->io) < 0)
		goto lost_sending;
	if (pipelining) {
		/* Replies in command order. */
		if (smtp_read_reply(c, &r, smtp_settings.mail_timeout_ms) < 0) {
			smtp_lost(c, &f, "receiving the MAIL FROM reply");
			goto broken;
		}
		if (r.code == 421)
			goto said_421_mail;
		if (r.code / 100 != 2) {
			mail_ok = false;
			smtp_said(c, &f, r.code / 100 == 5 ? DELIVERY_BOUNCED :
			    DELIVERY_DEFERRED, &r, "MAIL FROM command");
			for (i = 0; i < n; i++)
				if (tried[i] && pending[i])
					smtp_result(c, req, pending, i, &f);
		}
		for (i = 0; i < n; i++) {
			if (!tried[i])
				continue;
			if (smtp_read_reply(c, &r,
			    smtp_settings.rcpt_timeout_ms) < 0) {
				smtp_lost(c, &f, "receiving the RCPT TO reply");
				goto broken;
			}
			if (!mail_ok)
				continue;
			if (r.code == 421) {
				smtp_said(c, &f, DELIVERY_DEFERRED, &r,
				    "RCPT TO command");
				goto broken;
			}
			if (r.code / 100 == 2) {
				accepted[i] = true;
				accepted_count++;
			} else {
				smtp_said(c, &f, r.code / 100 == 5 ?
				    DELIVERY_BOUNCED : DELIVERY_DEFERRED, &r,
				    "RCPT TO command");
				smtp_result(c, req, pending, i, &f);
			}
		}
	}
	if (smtp_read_reply(c, &r, smtp_settings.data_init_timeout_ms) < 0) {
		smtp_lost(c, &f, "receiving the DATA reply");
		goto broken;
	}
	if (r.code / 100 == 3 && accepted_count == 0) {
		/* RFC 2920 3.1: the server took DATA though nobody was
		 * accepted; an empty message ends it. */
		if (smtp_io_write(c->io, ".\r\n", 3) < 0 ||
		    smtp_io_flush(c->io) < 0 ||
		    smtp_read_reply(c, &r,
		    smtp_settings.data_done_timeout_ms) < 0)
			broken = true;
		goto out;
	}
	if (accepted_count == 0)
		goto out;	/* DATA refused, as it should be */
	if (r.code / 100 != 3) {
		if (r.code == 421) {
			smtp_said(c, &f, DELIVERY_DEFERRED, &r, "DATA command");
			goto broken;
		}
		smtp_said(c, &f, r.code / 100 == 5 ? DELIVERY_BOUNCED :
		    DELIVERY_DEFERRED, &r, "DATA command");
		for (i = 0; i < n; i++)
			if (accepted[i])
				smtp_result(c, req, pending, i, &f);
		goto out;
	}

	{
		struct smtp_content s = { .c = c };

		smtp_data_init(&s.data);
		buf_init(&s.out, 2 * 64 * 1024 + 16);
		c->io->timeout_ms = smtp_settings.data_xfer_timeout_ms;
		if (queue_read_content(q, smtp_content_piece, &s) < 0) {
			buf_release(&s.out);
			if (s.write_failed)
				goto lost_sending;
			/* Our own file: a temporary failure, connection
			 * unusable mid-DATA. */
			smtp_failure_set(&f, DELIVERY_DEFERRED, "4.3.0",
			    "cannot read queue file: %s", strerror(errno));
			goto broken;
		}
		buf_reset(&s.out);
		if (smtp_data_finish(&s.data, &s.out) < 0 ||
		    smtp_io_write(c->io, s.out.data, s.out.len) < 0 ||
		    smtp_io_flush(c->io) < 0) {
			buf_release(&s.out);
			goto lost_sending;
		}
		buf_release(&s.out);
	}

	/* SMTP: one reply for everybody; LMTP (RFC 2033 4.2): one per
	 * accepted recipient, in RCPT order. */
	for (i = 0; i < n; i++) {
		if (!accepted[i] || !pending[i])
			continue;
		if (smtp_read_reply(c, &r, smtp_settings.data_done_timeout_ms)
		    < 0) {
			smtp_lost(c, &f, "receiving the final reply");
			goto broken;
		}
		if (r.code / 100 == 2) {
			char *text = smtp_reply_string(&r);

			smtp_failure_set(&f, DELIVERY_SENT, r.dsn, "%s", text);
			free(text);
		} else {
			smtp_said(c, &f, r.code / 100 == 5 ?
			    DELIVERY_BOUNCED : DELIVERY_DEFERRED, &r,
			    "end of DATA command");
			if (r.code == 421)
				broken = true;
		}
		if (c->lmtp) {
			smtp_result(c, req, pending, i, &f);
			continue;
		}
		for (; i < n; i++)
			if (accepted[i])
				smtp_result(c, req, pending, i, &f);
	}
	goto out;

said_421_mail:
	smtp_said(c, &f, DELIVERY_DEFERRED, &r, "MAIL FROM command");
	goto broken;
lost_sending:
	smtp_lost(c, &f, "sending the message");
broken:
	ret = -1;
	smtp_failure_release(fail);
	*fail = f;
	f.reason = NULL;
	goto out;
all_pending:
	for (i = 0; i < n; i++)
		if (tried[i] && pending[i])
			smtp_result(c, req, pending, i, &f);
out:
	if (broken && ret == 0) {
		ret = -1;
		if (fail->reason == NULL)
			smtp_failure_set(fail, DELIVERY_DEFERRED, "4.4.2",
			    "lost connection with %s", c->host);
	}
	smtp_failure_release(&f);
	smtp_reply_release(&r);
	buf_free(&line);
	free(tried);
	free(accepted);
	return ret;
}
