/*
 * smtpd_sasl.c - password checks through Dovecot's auth socket or
 * postern's sasl daemon, on the event loop (see smtpd_sasl.h).
 *
 * Dovecot (auth client protocol 1.x, as Postfix's xsasl_dovecot speaks
 * it): we send "VERSION\t1\t1" and "CPID\tPID", the server sends VERSION,
 * MECH, SPID, CUID, COOKIE lines and DONE. Then each check is
 *   AUTH\tID\tPLAIN\tservice=smtp\tnologin\t[secured\t]rip=A\t[lip=B\t]
 *   resp=BASE64(NUL user NUL password)
 * answered by OK\tID[\tuser=NAME...], FAIL\tID[\treason=...][\ttemp] or
 * CONT\tID\t... (not expected with an initial response: a failure). LOGIN
 * is turned into PLAIN here: smtpd collected both names already, and every
 * Dovecot passdb that accepts one accepts the other. A request is sent
 * only after DONE; requests queued meanwhile wait. Any protocol error,
 * EOF or I/O error closes the connection and fails every pending request
 * as temporary (454); the next check connects again.
 *
 * cyrus: one unix connection to PROTO_SASL_PATH per check, one sasl/1
 * record each way (lib/proto.h).
 *
 * Every request has a timer (SMTPD_SASL_TIMEOUT_MS). A result known at
 * once (the socket cannot be reached) is still delivered from the loop,
 * through the same timer armed at 0 ms. Passwords are wiped from our
 * buffers as soon as they are written.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "rec.h"
#include "smtpd_sasl.h"

#define SMTPD_SASL_TIMEOUT_MS	30000
#define SMTPD_SASL_LINE_MAX	8192
#define SMTPD_SASL_IN_MAX	(64 * 1024)
#define SMTPD_SASL_OUT_MAX	(256 * 1024)
#define SMTPD_SASL_FIELD_MAX	512

enum smtpd_sasl_backend {
	SMTPD_SASL_BACKEND_DOVECOT,
	SMTPD_SASL_BACKEND_CYRUS,
};

struct smtpd_sasl_request {
	enum smtpd_sasl_backend backend;
	struct event_loop *loop;
	unsigned long id;	/* dovecot */
	bool sent;		/* dovecot: AUTH line written */
	char *line;		/* dovecot: the AUTH line until sent */
	int fd;			/* cyrus: our own connection */
	struct buf out;		/* cyrus */
	struct buf in;		/* cyrus */
	struct event_timer timer;
	enum smtpd_sasl_result result;	/* delivered by the timer */
	char *reason;
	smtpd_sasl_fn fn;
	void *ctx;
	struct smtpd_sasl_request *next;	/* dovecot pending list */
};

/* The one Dovecot connection of this process. */
static struct {
	struct event_loop *loop;
	int fd;
	bool ready;		/* DONE seen */
	bool version_ok;
	struct buf in;
	struct buf out;
	unsigned long next_id;
	struct smtpd_sasl_request *pending;
} dovecot = { .fd = -1 };

static void smtpd_sasl_dovecot_event(int fd, int events, void *ctx);

/* -- small helpers ------------------------------------------------------ */

char *
smtpd_sasl_base64(const void *data, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out = xmalloc(len / 3 * 4 + 5), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tab[p[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static void
smtpd_sasl_wipe(struct buf *b)
{
	if (b->data != NULL && b->cap > 0)
		explicit_bzero(b->data, b->cap);
	buf_reset(b);
}

static void
smtpd_sasl_wipe_string(char **s)
{
	if (*s != NULL)
		explicit_bzero(*s, strlen(*s));
	xfree(s);
}

/* A unix socket connected without blocking; -1 (logged) when the server
 * is not there or its backlog is full. */
static int
smtpd_sasl_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warn("SASL socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket: %m");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_warn("connect to SASL server %s: %m", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* -- delivering results ------------------------------------------------- */

static void
smtpd_sasl_request_free(struct smtpd_sasl_request **r_r)
{
	struct smtpd_sasl_request *r = *r_r;

	if (r == NULL)
		return;
	event_timer_cancel(r->loop, &r->timer);
	if (r->fd >= 0) {
		event_del(r->loop, r->fd);
		close(r->fd);
	}
	smtpd_sasl_wipe(&r->out);
	buf_release(&r->out);
	buf_release(&r->in);
	smtpd_sasl_wipe_string(&r->line);
	xfree(&r->reason);
	xfree(r_r);
}

/* Take r off the Dovecot pending list (if it is there). */
static void
smtpd_sasl_unlink(struct smtpd_sasl_request *r)
{
	struct smtpd_sasl_request **p;

	for (p = &dovecot.pending; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			r->next = NULL;
			return;
		}
}

/* Call the owner and free the request. */
static void
smtpd_sasl_finish(struct smtpd_sasl_request *r,
    enum smtpd_sasl_result result, const char *user, const char *reason)
{
	smtpd_sasl_fn fn = r->fn;
	void *ctx = r->ctx;

	smtpd_sasl_unlink(r);
	smtpd_sasl_request_free(&r);
	fn(ctx, result, user, reason);
}

static void
smtpd_sasl_deferred(void *ctx)
{
	struct smtpd_sasl_request *r = ctx;
	char *reason = r->reason;

	r->reason = NULL;
	smtpd_sasl_finish(r, r->result, NULL, reason);
	xfree(&reason);
}

/* Deliver a result from the loop (never inside the caller's call). */
static void
smtpd_sasl_later(struct smtpd_sasl_request *r,
    enum smtpd_sasl_result result, const char *reason)
{
	r->result = result;
	xfree(&r->reason);
	r->reason = reason ? xstrdup(reason) : NULL;
	event_timer_set(r->loop, &r->timer, 0, smtpd_sasl_deferred, r);
}

static void smtpd_sasl_dovecot_close(const char *why);

static void
smtpd_sasl_timeout(void *ctx)
{
	struct smtpd_sasl_request *r = ctx;
	bool dovecot_request = r->backend == SMTPD_SASL_BACKEND_DOVECOT;

	log_warn("SASL authentication server: timeout");
	smtpd_sasl_finish(r, SMTPD_SASL_TEMP, NULL,
	    "authentication server timeout");
	/* A Dovecot that does not answer one request will not answer the
	 * others: start afresh with the next check. */
	if (dovecot_request)
		smtpd_sasl_dovecot_close(NULL);
}

void
smtpd_sasl_cancel(struct smtpd_sasl_request **r_r)
{
	if (*r_r == NULL)
		return;
	/* A Dovecot request already sent stays unanswered on our side:
	 * its reply finds no request and is dropped. */
	smtpd_sasl_unlink(*r_r);
	smtpd_sasl_request_free(r_r);
}

/* -- Dovecot -------------------------------------------------------------- */

/* Dovecot's tab escaping: \001 followed by 1, t, r, n or 0. */
static char *
smtpd_sasl_dovecot_unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 1 && i + 1 < len) {
			switch (s[++i]) {
			case '1': c = 1; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			default: c = '?'; break;
			}
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static char *
smtpd_sasl_printable(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	return s;
}

static int
smtpd_sasl_number(const char *s, size_t len, unsigned long *n_r)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	*n_r = n;
	return 0;
}

void
smtpd_sasl_dovecot_release(struct smtpd_sasl_dovecot_reply *r)
{
	xfree(&r->user);
	xfree(&r->reason);
}

int
smtpd_sasl_dovecot_parse(const char *line,
    struct smtpd_sasl_dovecot_reply *out)
{
	const char *field[64];
	size_t flen[64], count = 0, i;
	const char *p = line;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *tab = strchr(p, '\t');
		size_t len = tab ? (size_t)(tab - p) : strlen(p);

		if (count == sizeof(field) / sizeof(field[0]))
			break;	/* extra fields are ignored */
		field[count] = p;
		flen[count++] = len;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (flen[0] == 7 && memcmp(field[0], "VERSION", 7) == 0) {
		out->kind = SMTPD_SASL_DOVECOT_VERSION;
		if (count < 3 ||
		    smtpd_sasl_number(field[1], flen[1], &out->major) < 0)
			return -1;
		return 0;
	}
	if (flen[0] == 4 && memcmp(field[0], "DONE", 4) == 0) {
		out->kind = SMTPD_SASL_DOVECOT_DONE;
		return 0;
	}
	if (flen[0] == 2 && memcmp(field[0], "OK", 2) == 0)
		out->kind = SMTPD_SASL_DOVECOT_OK;
	else if (flen[0] == 4 && memcmp(field[0], "FAIL", 4) == 0)
		out->kind = SMTPD_SASL_DOVECOT_FAIL;
	else if (flen[0] == 4 && memcmp(field[0], "CONT", 4) == 0)
		out->kind = SMTPD_SASL_DOVECOT_CONT;
	else
		return 0;	/* MECH, SPID, CUID, COOKIE, ... */
	if (count < 2 || smtpd_sasl_number(field[1], flen[1], &out->id) < 0)
		return -1;
	if (out->kind == SMTPD_SASL_DOVECOT_CONT)
		return 0;
	for (i = 2; i < count; i++) {
		if (flen[i] > SMTPD_SASL_FIELD_MAX) {
			smtpd_sasl_dovecot_release(out);
			return -1;
		}
		if (flen[i] > 5 && memcmp(field[i], "user=", 5) == 0) {
			xfree(&out->user);
			out->user = smtpd_sasl_printable(
			    smtpd_sasl_dovecot_unescape(field[i] + 5,
			    flen[i] - 5));
		} else if (flen[i] >= 7 &&
		    memcmp(field[i], "reason=", 7) == 0) {
			xfree(&out->reason);
			out->reason = smtpd_sasl_printable(
			    smtpd_sasl_dovecot_unescape(field[i] + 7,
			    flen[i] - 7));
		} else if (flen[i] == 4 && memcmp(field[i], "temp", 4) == 0) {
			out->temp = true;
		}
	}
	return 0;
}

static void
smtpd_sasl_dovecot_watch(void)
{
	if (dovecot.fd >= 0)
		(void)event_mod(dovecot.loop, dovecot.fd,
		    EVENT_READ | (dovecot.out.len > 0 ? EVENT_WRITE : 0));
}

/* Close the connection; every pending request fails (temporarily). */
static void
smtpd_sasl_dovecot_close(const char *why)
{
	struct smtpd_sasl_request *r;

	if (why != NULL)
		log_warn("SASL authentication server %s: %s",
		    config_get("smtpd_sasl_path"), why);
	if (dovecot.fd >= 0) {
		event_del(dovecot.loop, dovecot.fd);
		close(dovecot.fd);
		dovecot.fd = -1;
	}
	dovecot.ready = false;
	dovecot.version_ok = false;
	smtpd_sasl_wipe(&dovecot.out);
	buf_reset(&dovecot.in);
	/* Deliver from the loop: we may be inside a request's call. */
	while ((r = dovecot.pending) != NULL) {
		dovecot.pending = r->next;
		r->next = NULL;
		smtpd_sasl_later(r, SMTPD_SASL_TEMP,
		    "authentication server unavailable");
	}
}

/* Move the AUTH lines of unsent requests to the output. */
static void
smtpd_sasl_dovecot_send(void)
{
	struct smtpd_sasl_request *r;

	if (!dovecot.ready)
		return;
	for (r = dovecot.pending; r != NULL; r = r->next) {
		if (r->sent)
			continue;
		if (buf_add_str(&dovecot.out, r->line) < 0) {
			smtpd_sasl_dovecot_close("output buffer full");
			return;
		}
		smtpd_sasl_wipe_string(&r->line);
		r->sent = true;
	}
}

static void
smtpd_sasl_dovecot_line(const char *line)
{
	struct smtpd_sasl_dovecot_reply reply;
	struct smtpd_sasl_request *r;

	if (smtpd_sasl_dovecot_parse(line, &reply) < 0) {
		smtpd_sasl_dovecot_close("malformed reply");
		return;
	}
	switch (reply.kind) {
	case SMTPD_SASL_DOVECOT_VERSION:
		if (reply.major != 1) {
			smtpd_sasl_dovecot_close("protocol version mismatch");
			return;
		}
		dovecot.version_ok = true;
		break;
	case SMTPD_SASL_DOVECOT_DONE:
		if (!dovecot.version_ok) {
			smtpd_sasl_dovecot_close("no VERSION before DONE");
			return;
		}
		dovecot.ready = true;
		smtpd_sasl_dovecot_send();
		break;
	case SMTPD_SASL_DOVECOT_OK:
	case SMTPD_SASL_DOVECOT_FAIL:
	case SMTPD_SASL_DOVECOT_CONT:
		for (r = dovecot.pending; r != NULL; r = r->next)
			if (r->sent && r->id == reply.id)
				break;
		if (r == NULL)
			break;	/* cancelled meanwhile */
		if (reply.kind == SMTPD_SASL_DOVECOT_OK)
			smtpd_sasl_finish(r, SMTPD_SASL_OK, reply.user, NULL);
		else if (reply.kind == SMTPD_SASL_DOVECOT_CONT)
			smtpd_sasl_finish(r, SMTPD_SASL_FAIL, NULL,
			    "unexpected continuation");
		else
			smtpd_sasl_finish(r, reply.temp ? SMTPD_SASL_TEMP :
			    SMTPD_SASL_FAIL, NULL, reply.reason);
		break;
	default:
		break;
	}
	smtpd_sasl_dovecot_release(&reply);
}

static void
smtpd_sasl_dovecot_event(int fd, int events, void *ctx)
{
	char chunk[4096];
	ssize_t n;
	char *nl;

	if (dovecot.out.len > 0 && (events & (EVENT_WRITE | EVENT_ERROR))) {
		n = send(fd, dovecot.out.data, dovecot.out.len, MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&dovecot.out, (size_t)n);
			if (dovecot.out.len == 0)
				smtpd_sasl_wipe(&dovecot.out);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			smtpd_sasl_dovecot_close("write error");
			return;
		}
	}
	if (events & (EVENT_READ | EVENT_ERROR)) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			smtpd_sasl_dovecot_close("connection lost");
			return;
		}
		if (n > 0 && buf_add(&dovecot.in, chunk, (size_t)n) < 0) {
			smtpd_sasl_dovecot_close("reply too long");
			return;
		}
	}
	while (dovecot.fd >= 0 &&
	    (nl = memchr(dovecot.in.data, '\n', dovecot.in.len)) != NULL) {
		size_t len = (size_t)(nl - dovecot.in.data);
		char *line = xstrndup(dovecot.in.data, len);

		buf_consume(&dovecot.in, len + 1);
		if (memchr(line, '\0', len) != NULL)
			smtpd_sasl_dovecot_close("malformed reply");
		else
			smtpd_sasl_dovecot_line(line);
		xfree(&line);
	}
	if (dovecot.fd >= 0 && dovecot.in.len > SMTPD_SASL_LINE_MAX) {
		smtpd_sasl_dovecot_close("reply line too long");
		return;
	}
	smtpd_sasl_dovecot_watch();
}

static int
smtpd_sasl_dovecot_open(struct event_loop *loop)
{
	if (dovecot.fd >= 0)
		return 0;
	if (dovecot.in.limit == 0) {
		buf_init(&dovecot.in, SMTPD_SASL_IN_MAX);
		buf_init(&dovecot.out, SMTPD_SASL_OUT_MAX);
	}
	dovecot.loop = loop;
	dovecot.fd = smtpd_sasl_connect(config_get("smtpd_sasl_path"));
	if (dovecot.fd < 0)
		return -1;
	if (event_add(loop, dovecot.fd, EVENT_READ, smtpd_sasl_dovecot_event,
	    NULL) < 0) {
		close(dovecot.fd);
		dovecot.fd = -1;
		return -1;
	}
	(void)buf_printf(&dovecot.out, "VERSION\t1\t1\nCPID\t%ld\n",
	    (long)getpid());
	smtpd_sasl_dovecot_watch();
	return 0;
}

static void
smtpd_sasl_dovecot_start(struct smtpd_sasl_request *r,
    const struct smtpd_sasl_info *info, const char *user,
    const char *password)
{
	struct buf plain, line;
	char *resp;

	if (smtpd_sasl_dovecot_open(r->loop) < 0) {
		smtpd_sasl_later(r, SMTPD_SASL_TEMP,
		    "authentication server unavailable");
		return;
	}
	buf_init(&plain, 4096);
	(void)buf_add_char(&plain, '\0');
	(void)buf_add_str(&plain, user);
	(void)buf_add_char(&plain, '\0');
	(void)buf_add_str(&plain, password);
	resp = smtpd_sasl_base64(plain.data, plain.len);
	smtpd_sasl_wipe(&plain);
	buf_release(&plain);
	r->id = ++dovecot.next_id;
	if (dovecot.next_id >= 999999999UL)
		dovecot.next_id = 0;
	buf_init(&line, 16384);
	/* Addresses come from getpeername()/getsockname(): no tabs. */
	(void)buf_printf(&line, "AUTH\t%lu\tPLAIN\tservice=smtp\tnologin",
	    r->id);
	if (info->secured)
		(void)buf_add_str(&line, "\tsecured");
	if (info->client_addr != NULL && *info->client_addr != '\0')
		(void)buf_printf(&line, "\trip=%s", info->client_addr);
	if (info->local_addr != NULL && *info->local_addr != '\0')
		(void)buf_printf(&line, "\tlip=%s", info->local_addr);
	(void)buf_printf(&line, "\tresp=%s\n", resp);
	explicit_bzero(resp, strlen(resp));
	xfree(&resp);
	r->line = buf_strdup(&line);
	smtpd_sasl_wipe(&line);
	buf_release(&line);
	r->next = dovecot.pending;
	dovecot.pending = r;
	smtpd_sasl_dovecot_send();
	smtpd_sasl_dovecot_watch();
	event_timer_set(r->loop, &r->timer, SMTPD_SASL_TIMEOUT_MS,
	    smtpd_sasl_timeout, r);
}

/* -- cyrus: postern's sasl daemon ---------------------------------------- */

static void
smtpd_sasl_cyrus_event(int fd, int events, void *ctx)
{
	struct smtpd_sasl_request *r = ctx;
	struct rec *reply;
	char chunk[4096];
	const char *status;
	ssize_t n;

	if (r->out.len > 0 && (events & (EVENT_WRITE | EVENT_ERROR))) {
		n = send(fd, r->out.data, r->out.len, MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&r->out, (size_t)n);
			if (r->out.len == 0)
				smtpd_sasl_wipe(&r->out);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			log_warn("SASL server %s: write error: %m",
			    PROTO_SASL_PATH);
			smtpd_sasl_finish(r, SMTPD_SASL_TEMP, NULL,
			    "authentication server unavailable");
			return;
		}
	}
	if (events & (EVENT_READ | EVENT_ERROR)) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    (n > 0 && buf_add(&r->in, chunk, (size_t)n) < 0)) {
			log_warn("SASL server %s: connection lost",
			    PROTO_SASL_PATH);
			smtpd_sasl_finish(r, SMTPD_SASL_TEMP, NULL,
			    "authentication server unavailable");
			return;
		}
	}
	reply = rec_new();
	n = rec_parse(reply, r->in.data, r->in.len);
	if (n < 0 || (n > 0 && (rec_get(reply, "proto") == NULL ||
	    strcmp(rec_get(reply, "proto"), PROTO_SASL) != 0 ||
	    (status = rec_get(reply, "status")) == NULL))) {
		log_warn("SASL server %s: malformed reply", PROTO_SASL_PATH);
		rec_free(&reply);
		smtpd_sasl_finish(r, SMTPD_SASL_TEMP, NULL,
		    "authentication server unavailable");
		return;
	}
	if (n > 0) {
		char *user = rec_get(reply, "user") ?
		    smtpd_sasl_printable(xstrdup(rec_get(reply, "user"))) :
		    NULL;
		char *reason = rec_get(reply, "reason") ?
		    smtpd_sasl_printable(xstrdup(rec_get(reply, "reason"))) :
		    NULL;

		if (strcmp(status, "ok") == 0)
			smtpd_sasl_finish(r, SMTPD_SASL_OK, user, NULL);
		else
			smtpd_sasl_finish(r, strcmp(status, "fail") == 0 ?
			    SMTPD_SASL_FAIL : SMTPD_SASL_TEMP, NULL, reason);
		xfree(&user);
		xfree(&reason);
		rec_free(&reply);
		return;
	}
	rec_free(&reply);
	(void)event_mod(r->loop, fd,
	    EVENT_READ | (r->out.len > 0 ? EVENT_WRITE : 0));
}

static void
smtpd_sasl_cyrus_start(struct smtpd_sasl_request *r,
    const struct smtpd_sasl_info *info, const char *user,
    const char *password)
{
	struct rec *req;

	r->fd = smtpd_sasl_connect(PROTO_SASL_PATH);
	if (r->fd < 0) {
		smtpd_sasl_later(r, SMTPD_SASL_TEMP,
		    "authentication server unavailable");
		return;
	}
	if (event_add(r->loop, r->fd, EVENT_READ | EVENT_WRITE,
	    smtpd_sasl_cyrus_event, r) < 0) {
		close(r->fd);
		r->fd = -1;
		smtpd_sasl_later(r, SMTPD_SASL_TEMP,
		    "authentication server unavailable");
		return;
	}
	req = rec_new();
	rec_put(req, "proto", PROTO_SASL);
	rec_put(req, "app", config_get("smtpd_sasl_path"));
	rec_put(req, "service", "smtp");
	rec_put(req, "mechanism", info->mechanism);
	if (info->client_addr != NULL)
		rec_put(req, "client_addr", info->client_addr);
	if (info->local_addr != NULL)
		rec_put(req, "local_addr", info->local_addr);
	rec_put(req, "user", user);
	rec_put(req, "password", password);
	(void)rec_format(req, &r->out);
	/* rec keeps copies: wipe the password there too. */
	for (size_t i = 0; i < req->count; i++)
		if (strcmp(req->attrs[i].name, "password") == 0)
			explicit_bzero(req->attrs[i].value,
			    strlen(req->attrs[i].value));
	rec_free(&req);
	event_timer_set(r->loop, &r->timer, SMTPD_SASL_TIMEOUT_MS,
	    smtpd_sasl_timeout, r);
}

/* -- the interface -------------------------------------------------------- */

struct smtpd_sasl_request *
smtpd_sasl_check(struct event_loop *loop, const struct smtpd_sasl_info *info,
    const char *user, const char *password, smtpd_sasl_fn fn, void *ctx)
{
	struct smtpd_sasl_request *r = xcalloc(1, sizeof(*r));
	const char *type = config_get("smtpd_sasl_type");

	r->loop = loop;
	r->fd = -1;
	r->fn = fn;
	r->ctx = ctx;
	buf_init(&r->out, SMTPD_SASL_OUT_MAX);
	buf_init(&r->in, SMTPD_SASL_IN_MAX);
	if (strcmp(type, "dovecot") == 0) {
		r->backend = SMTPD_SASL_BACKEND_DOVECOT;
		smtpd_sasl_dovecot_start(r, info, user, password);
	} else if (strcmp(type, "cyrus") == 0) {
		r->backend = SMTPD_SASL_BACKEND_CYRUS;
		smtpd_sasl_cyrus_start(r, info, user, password);
	} else {
		log_warn("unsupported smtpd_sasl_type: %s", type);
		smtpd_sasl_later(r, SMTPD_SASL_TEMP,
		    "authentication server unavailable");
	}
	return r;
}
