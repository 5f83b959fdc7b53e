/*
 * smtpd_cleanup.c - stream one message to cleanup without blocking (see
 * smtpd_cleanup.h).
 *
 * The connection is a non-blocking Unix socket; a full listen backlog
 * (EAGAIN) counts as "cannot be reached" rather than a wait, so the client
 * hears 451 at once and retries later. Replies are parsed with rec_parse()
 * from our own input buffer. Cleanup's reply text is passed to the client
 * only after checking its code and DSN and dropping control characters.
 *
 * Nothing is sent before the content reaches SMTPD_CLEANUP_BATCH or
 * ends: a small message goes out whole, envelope, content and end in one
 * write, and cleanup answers both replies in one (lib/proto.h), so each
 * side wakes once per message.
 *
 * A connection whose message was queued goes to the process's pool
 * (lib/connpool) and carries its next message: cleanup waits for another
 * request after its final reply. Cleanup may end a pooled connection
 * instead of reading the next request (idle, reload, stopping); it shuts
 * its reading side first and serves whatever had arrived, so a request
 * is either refused at the send (EPIPE: nothing of it was taken) or
 * served. Only the first case is retried, once, on a new connection;
 * after a byte has gone out a failure is the client's 451, never a
 * second copy of a message cleanup may have queued.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "connpool.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "smtpd_cleanup.h"

#define SMTPD_CLEANUP_OUT_MAX	(8 * 1024 * 1024)
#define SMTPD_CLEANUP_IN_MAX	(64 * 1024)
#define SMTPD_CLEANUP_CHUNK	(64 * 1024)
#define SMTPD_CLEANUP_BATCH	(16 * 1024)	/* below LOW */
#define SMTPD_CLEANUP_WRITE_ERROR "451 4.3.0 Error: queue file write error"
#define SMTPD_CLEANUP_POOL	16

struct smtpd_cleanup {
	struct event_loop *loop;
	int fd;
	enum smtpd_cleanup_state state;
	struct buf out;
	struct buf in;
	struct rec *reply_rec;
	char *qid;
	char *reply;
	bool above_high;	/* backlog passed HIGH: tell when it drains */
	bool reused;		/* the connection came from the pool */
	bool sent;		/* a byte of this message went out */
	bool blocked;		/* the last send would have blocked */
	int64_t born;		/* when the connection was made */
	smtpd_cleanup_fn fn;
	void *ctx;
};

/* Idle connections to cleanup, made with the first message. */
static struct connpool *smtpd_cleanup_pool;
static bool smtpd_cleanup_draining;	/* no pool once set */

static void smtpd_cleanup_event(int fd, int events, void *ctx);
static bool smtpd_cleanup_retry(struct smtpd_cleanup *c);

static void
smtpd_cleanup_fail(struct smtpd_cleanup *c, const char *reply,
    const char *why)
{
	if (c->state == SMTPD_CLEANUP_FAILED || c->state == SMTPD_CLEANUP_DONE)
		return;
	/* A pooled connection cleanup had ended: nothing was taken. */
	if (why != NULL && c->reused && !c->sent && smtpd_cleanup_retry(c))
		return;
	if (why != NULL)
		log_warn("%s%scleanup: %s", c->qid ? c->qid : "",
		    c->qid ? ": " : "", why);
	c->state = SMTPD_CLEANUP_FAILED;
	xfree(&c->reply);
	c->reply = xstrdup(reply ? reply : SMTPD_CLEANUP_WRITE_ERROR);
	buf_reset(&c->out);
	if (c->fd >= 0) {
		event_del(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
}

static void
smtpd_cleanup_watch(struct smtpd_cleanup *c)
{
	if (c->fd >= 0)
		(void)event_mod(c->loop, c->fd, EVENT_READ |
		    (c->blocked ? EVENT_WRITE : 0));
}

/* Write what we can; 0, or -1 after a failure. */
static int
smtpd_cleanup_flush(struct smtpd_cleanup *c)
{
	c->blocked = false;
	while (c->out.len > 0 && c->fd >= 0) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			c->sent = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->blocked = true;
			break;
		}
		smtpd_cleanup_fail(c, NULL, strerror(errno));
		return c->state == SMTPD_CLEANUP_FAILED ? -1 : 0;
	}
	smtpd_cleanup_watch(c);
	return 0;
}

static int
smtpd_cleanup_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(PROTO_CLEANUP_PATH) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, PROTO_CLEANUP_PATH, strlen(PROTO_CLEANUP_PATH));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("cleanup: socket: %m");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		log_warn("connect to %s: %m", PROTO_CLEANUP_PATH);
		close(fd);
		return -1;
	}
	return fd;
}

/* The same bytes, all still in out, on a new connection. false when
 * cleanup cannot be reached. */
static bool
smtpd_cleanup_retry(struct smtpd_cleanup *c)
{
	int fd;

	event_del(c->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->reused = false;
	if ((fd = smtpd_cleanup_connect()) < 0)
		return false;
	if (event_add(c->loop, fd, EVENT_READ, smtpd_cleanup_event, c) < 0) {
		close(fd);
		return false;
	}
	c->fd = fd;
	c->born = io_now_ms();
	buf_reset(&c->in);
	rec_free(&c->reply_rec);
	c->reply_rec = rec_new();
	/* Sent now only if it would have been: a small message still
	 * waits for its end. */
	if (c->state == SMTPD_CLEANUP_FINISHING ||
	    c->out.len >= SMTPD_CLEANUP_BATCH)
		(void)smtpd_cleanup_flush(c);
	return true;
}

void
smtpd_cleanup_drain(void)
{
	smtpd_cleanup_draining = true;
	connpool_free(&smtpd_cleanup_pool);
}

struct smtpd_cleanup *
smtpd_cleanup_open(struct event_loop *loop, const struct rec *envelope,
    smtpd_cleanup_fn fn, void *ctx)
{
	struct smtpd_cleanup *c = xcalloc(1, sizeof(*c));

	if (smtpd_cleanup_pool == NULL && !smtpd_cleanup_draining)
		smtpd_cleanup_pool = connpool_new_ipc(loop,
		    SMTPD_CLEANUP_POOL);
	c->loop = loop;
	c->fn = fn;
	c->ctx = ctx;
	c->state = SMTPD_CLEANUP_WAIT_QID;
	buf_init(&c->out, SMTPD_CLEANUP_OUT_MAX);
	buf_init(&c->in, SMTPD_CLEANUP_IN_MAX);
	c->reply_rec = rec_new();
	/* Watching for reading only, as in the pool: the first flush below
	 * writes at once and watches for writing only if it must wait. */
	c->fd = smtpd_cleanup_pool == NULL ? -1 :
	    connpool_take(smtpd_cleanup_pool, PROTO_CLEANUP_PATH,
	    EVENT_READ, smtpd_cleanup_event, c, &c->born);
	c->reused = c->fd >= 0;
	if (!c->reused) {
		int fd = smtpd_cleanup_connect();

		if (fd < 0 || event_add(loop, fd, EVENT_READ,
		    smtpd_cleanup_event, c) < 0) {
			if (fd >= 0) {
				log_warn("cleanup: event_add: %m");
				close(fd);
			}
			smtpd_cleanup_close(&c);
			return NULL;
		}
		c->fd = fd;
		c->born = io_now_ms();
	}
	/* Sent with the content (smtpd_cleanup_write()). */
	if (rec_format(envelope, &c->out) < 0) {
		log_warn("cleanup: envelope too large");
		smtpd_cleanup_close(&c);
		return NULL;
	}
	return c;
}

void
smtpd_cleanup_close(struct smtpd_cleanup **c_r)
{
	struct smtpd_cleanup *c = *c_r;

	if (c == NULL)
		return;
	if (c->fd >= 0) {
		event_del(c->loop, c->fd);
		close(c->fd);
	}
	buf_release(&c->out);
	buf_release(&c->in);
	rec_free(&c->reply_rec);
	xfree(&c->qid);
	xfree(&c->reply);
	xfree(c_r);
}

enum smtpd_cleanup_state
smtpd_cleanup_state(const struct smtpd_cleanup *c)
{
	return c->state;
}

const char *
smtpd_cleanup_qid(const struct smtpd_cleanup *c)
{
	return c->qid;
}

const char *
smtpd_cleanup_reply(const struct smtpd_cleanup *c)
{
	return c->reply;
}

size_t
smtpd_cleanup_pending(const struct smtpd_cleanup *c)
{
	return c->out.len;
}

void
smtpd_cleanup_write(struct smtpd_cleanup *c, const char *data, size_t len)
{
	if (c->state != SMTPD_CLEANUP_WAIT_QID &&
	    c->state != SMTPD_CLEANUP_READY)
		return;
	while (len > 0) {
		size_t n = len > SMTPD_CLEANUP_CHUNK ? SMTPD_CLEANUP_CHUNK :
		    len;

		if (rec_format_chunk(&c->out, data, n) < 0) {
			smtpd_cleanup_fail(c, NULL, "output backlog overflow");
			return;
		}
		data += n;
		len -= n;
	}
	if (c->out.len >= SMTPD_CLEANUP_HIGH)
		c->above_high = true;
	/* A small message goes out with its end, in one write. */
	if (c->out.len >= SMTPD_CLEANUP_BATCH)
		(void)smtpd_cleanup_flush(c);
}

void
smtpd_cleanup_finish(struct smtpd_cleanup *c)
{
	if (c->state != SMTPD_CLEANUP_WAIT_QID &&
	    c->state != SMTPD_CLEANUP_READY)
		return;
	if (rec_format_chunk(&c->out, NULL, 0) < 0) {
		smtpd_cleanup_fail(c, NULL, "output backlog overflow");
		return;
	}
	c->state = SMTPD_CLEANUP_FINISHING;
	c->above_high = false;
	(void)smtpd_cleanup_flush(c);
}

/* A reply for the client from cleanup's status, dsn and text. */
static char *
smtpd_cleanup_client_reply(const struct rec *r)
{
	const char *status = rec_get(r, "status");
	const char *dsn = rec_get(r, "dsn");
	const char *text = rec_get(r, "text");
	char *reply, *p;

	if (status == NULL || strlen(status) != 3 ||
	    (status[0] != '4' && status[0] != '5') ||
	    !isdigit((unsigned char)status[1]) ||
	    !isdigit((unsigned char)status[2]))
		return xstrdup(SMTPD_CLEANUP_WRITE_ERROR);
	if (dsn == NULL || dsn[0] != status[0] || dsn[1] != '.' ||
	    strlen(dsn) > 12 || strspn(dsn, "0123456789.") != strlen(dsn))
		dsn = status[0] == '4' ? "4.3.0" : "5.3.0";
	if (text == NULL || *text == '\0')
		text = "Error: message not accepted";
	reply = xasprintf("%s %s %.400s", status, dsn, text);
	for (p = reply; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	return reply;
}

/* Handle one parsed reply; returns false when the stream is over. */
static bool
smtpd_cleanup_got_reply(struct smtpd_cleanup *c)
{
	const struct rec *r = c->reply_rec;
	const char *proto = rec_get(r, "proto");
	const char *status = rec_get(r, "status");
	const char *qid = rec_get(r, "qid");

	if (proto == NULL || strcmp(proto, PROTO_CLEANUP) != 0 ||
	    status == NULL) {
		smtpd_cleanup_fail(c, NULL, "malformed reply");
		return false;
	}
	if (strcmp(status, "ok") != 0) {
		char *reply = smtpd_cleanup_client_reply(r);

		smtpd_cleanup_fail(c, reply, NULL);
		xfree(&reply);
		return false;
	}
	if (qid == NULL || *qid == '\0' || strlen(qid) > 64 ||
	    strspn(qid, "0123456789ABCDEFabcdef") != strlen(qid)) {
		smtpd_cleanup_fail(c, NULL, "reply without a valid qid");
		return false;
	}
	if (c->qid == NULL) {
		c->qid = xstrdup(qid);
		if (c->state == SMTPD_CLEANUP_WAIT_QID)
			c->state = SMTPD_CLEANUP_READY;
		return true;
	}
	if (c->state != SMTPD_CLEANUP_FINISHING || c->out.len > 0) {
		smtpd_cleanup_fail(c, NULL, "final reply before the end");
		return false;
	}
	c->state = SMTPD_CLEANUP_DONE;
	xfree(&c->reply);
	c->reply = xasprintf("250 2.0.0 Ok: queued as %s", c->qid);
	if (c->in.len == 0 && smtpd_cleanup_pool != NULL)
		/* nothing unasked-for after it */
		connpool_put(smtpd_cleanup_pool, PROTO_CLEANUP_PATH, c->fd,
		    c->born);
	else {
		event_del(c->loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	return false;
}

static void
smtpd_cleanup_event(int fd, int events, void *ctx)
{
	struct smtpd_cleanup *c = ctx;
	bool notify = false;

	if (events & (EVENT_READ | EVENT_ERROR)) {
		for (;;) {
			ssize_t n, used;
			bool drained;

			if (buf_reserve(&c->in, 512) < 0) {
				smtpd_cleanup_fail(c, NULL, "reply too long");
				break;
			}
			n = read(fd, c->in.data + c->in.len, 512);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				smtpd_cleanup_fail(c, NULL, n == 0 ?
				    "connection closed" : strerror(errno));
				break;
			}
			buf_commit(&c->in, (size_t)n);
			drained = n < 512;
			while (c->fd >= 0 && (used = rec_parse(c->reply_rec,
			    c->in.data, c->in.len)) > 0) {
				buf_consume(&c->in, (size_t)used);
				notify = true;
				if (!smtpd_cleanup_got_reply(c))
					break;
			}
			if (c->fd >= 0 && used < 0) {
				smtpd_cleanup_fail(c, NULL, "bad reply framing");
				break;
			}
			/* A short read emptied the socket: no read just to
			 * hear EAGAIN. */
			if (c->fd < 0 || drained)
				break;
		}
		if (c->fd < 0)
			notify = true;
	}
	if (c->fd >= 0 && (events & EVENT_WRITE)) {
		if (smtpd_cleanup_flush(c) < 0)
			notify = true;
	} else if (c->fd >= 0) {
		smtpd_cleanup_watch(c);
	}
	if (c->above_high && c->out.len < SMTPD_CLEANUP_LOW) {
		c->above_high = false;
		notify = true;
	}
	if (notify && c->fn != NULL)
		c->fn(c->ctx);	/* may free c: nothing after this */
}
