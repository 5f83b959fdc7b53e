/*
 * cleanup_service.c - the cleanup/1 conversation (lib/proto.h).
 *
 * One client at a time (a single server). The request is validated and
 * the queue file created before reply 1; the header block is buffered (at
 * most header_size_limit bytes: past it the rest is body, as in
 * Postfix), processed, and only then is the envelope written, because
 * sendmail -t and virtual aliases change the recipients; the body is
 * streamed. Reply 2 "ok" is sent only after queue_commit() has fsynced
 * and renamed the file. After a failure the rest of the content is read
 * and dropped so that the client hears the reason at its 0 chunk; a
 * client that goes away before the 0 chunk leaves nothing queued.
 *
 * Reply 1 is queued, not written: it goes out when we first wait for
 * more content, or with reply 2, so a message that came whole (smtpd
 * sends a small one in one write) is answered in one write.
 *
 * After reply 2 the client may send the next request on the same
 * connection (smtpd keeps a few open): we wait for it a little longer
 * than the client keeps it idle, and not at all when the process is to
 * finish; server_next_request() then shuts our reading side and we
 * serve only a request that had already arrived, so the client can tell
 * a request refused at its send (sent again on a new connection) from
 * one that was taken. After a refused request the connection ends,
 * since content may follow it.
 *
 * Parameters: myhostname, myorigin, header_checks, virtual_alias_maps,
 * virtual_alias_recursion_limit, virtual_alias_expansion_limit,
 * recipient_delimiter, hopcount_limit, header_size_limit,
 * message_size_limit, ipc_timeout.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_message.h"
#include "cleanup_service.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "proto.h"
#include "queue.h"
#include "rec.h"
#include "server.h"


static struct cleanup_settings cleanup_settings;
static char *cleanup_myhostname, *cleanup_myorigin, *cleanup_delimiter;
static int cleanup_timeout_ms;

static struct maplist *
cleanup_open_maps(const char *param)
{
	const char *specs = config_get(param);
	struct maplist *l;
	char *error = NULL;

	if (*specs == '\0')
		return NULL;
	if ((l = maplist_open(specs, &error)) == NULL)
		log_fatal("%s: %s", param, error ? error : "cannot open");
	return l;
}

void
cleanup_pre_jail(void)
{
	struct cleanup_settings *s = &cleanup_settings;
	long long timeout = config_get_time("ipc_timeout");

	tzset();	/* Date: and Received: in local time, after chroot too */
	cleanup_myhostname = xstrdup(config_get("myhostname"));
	cleanup_myorigin = xstrdup(config_get("myorigin"));
	cleanup_delimiter = xstrdup(config_get("recipient_delimiter"));
	s->myhostname = cleanup_myhostname;
	s->myorigin = *cleanup_myorigin ? cleanup_myorigin :
	    cleanup_myhostname;
	s->header_checks = cleanup_open_maps("header_checks");
	s->virtual_alias_maps = cleanup_open_maps("virtual_alias_maps");
	s->alias_limits.recursion =
	    config_get_int("virtual_alias_recursion_limit");
	s->alias_limits.expansion =
	    config_get_int("virtual_alias_expansion_limit");
	s->alias_limits.delimiter = cleanup_delimiter;
	s->hopcount_limit = config_get_int("hopcount_limit");
	s->header_size_limit = (size_t)config_get_int("header_size_limit");
	s->message_size_limit = (size_t)config_get_int("message_size_limit");
	if (s->header_size_limit < 1024)
		s->header_size_limit = 1024;
	if (timeout <= 0 || timeout > 86400)
		timeout = 3600;
	cleanup_timeout_ms = (int)(timeout * 1000);
}

/* A reply; queue_only leaves it for the next write or wait (reply 1). */
static void
cleanup_reply(struct conn *c, bool queue_only, const char *status,
    const char *qid, const char *dsn, const char *text)
{
	struct rec *r = rec_new();

	rec_put(r, "proto", PROTO_CLEANUP);
	rec_put(r, "status", status);
	if (qid != NULL)
		rec_put(r, "qid", qid);
	if (dsn != NULL)
		rec_put(r, "dsn", dsn);
	if (text != NULL)
		rec_put(r, "text", text);
	if ((queue_only ? rec_queue(c, r) : rec_write(c, r)) < 0)
		log_info("%s: cannot reply to client: %m", qid ? qid : "-");
	rec_free(&r);
}

static void
cleanup_reply_fail(struct conn *c, const struct cleanup_message *m)
{
	cleanup_reply(c, false, m->fail_status, m->qid, m->fail_dsn,
	    m->fail_text);
}

/* The end of the header block is in sight (or the limit reached). */
static bool
cleanup_headers_complete(const struct buf *h, size_t limit)
{
	return h->len >= limit || (h->len > 0 && h->data[0] == '\n') ||
	    memmem(h->data, h->len, "\n\n", 2) != NULL;
}

/* Process the buffered header block and write envelope, headers and the
 * body bytes that came with them. */
static int
cleanup_flush_headers(struct cleanup_message *m, struct queue_writer *w,
    struct buf *hbuf, bool at_end)
{
	size_t limit = m->settings->header_size_limit;
	size_t len = hbuf->len < limit ? hbuf->len : limit;
	struct buf *out = buf_new(limit + 64 * 1024);
	struct rec *env = rec_new();
	size_t used = 0;
	int result = -1;

	if (cleanup_message_headers(m, hbuf->data, len,
	    at_end && hbuf->len <= limit, out, &used) < 0)
		goto done;
	log_info("%s: message-id=%s", m->qid,
	    m->message_id ? m->message_id : "<>");
	cleanup_message_envelope(m, env);
	if (queue_write_envelope(w, env) < 0 ||
	    queue_write_content(w, out->data, out->len) < 0 ||
	    queue_write_content(w, hbuf->data + used, hbuf->len - used) < 0) {
		log_error("%s: queue file write error: %m", m->qid);
		cleanup_message_fail(m, "451", "4.3.0",
		    "Error: queue file write error");
		goto done;
	}
	result = 0;
done:
	buf_free(&out);
	rec_free(&env);
	return result;
}

/* Read the content up to its 0 chunk. -1 when the client went away. */
static int
cleanup_content(struct conn *c, struct cleanup_message *m,
    struct queue_writer *w)
{
	const struct cleanup_settings *s = m->settings;
	struct buf *chunk = buf_new(REC_CHUNK_MAX);
	struct buf *hbuf = buf_new(s->header_size_limit + REC_CHUNK_MAX);
	bool headers_done = false;
	size_t size = 0;
	ssize_t n;
	int result = -1;

	for (;;) {
		buf_reset(chunk);
		if ((n = rec_read_chunk(c, chunk)) < 0) {
			log_info("%s: lost connection with client (%m): "
			    "message discarded", m->qid);
			goto done;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (m->fail_status == NULL && s->message_size_limit > 0 &&
		    size > s->message_size_limit) {
			log_info("%s: reject: message size exceeds %zu "
			    "bytes", m->qid, s->message_size_limit);
			cleanup_message_fail(m, "552", "5.3.4",
			    "Error: message file too big");
		}
		if (m->fail_status != NULL)
			continue;	/* drain to the 0 chunk */
		if (headers_done) {
			if (queue_write_content(w, chunk->data, chunk->len) <
			    0) {
				log_error("%s: queue file write error: %m",
				    m->qid);
				cleanup_message_fail(m, "451", "4.3.0",
				    "Error: queue file write error");
			}
			continue;
		}
		if (buf_add(hbuf, chunk->data, chunk->len) < 0)
			log_panic("%s: header buffer overflow", m->qid);
		if (cleanup_headers_complete(hbuf, s->header_size_limit)) {
			headers_done = true;
			(void)cleanup_flush_headers(m, w, hbuf, false);
			buf_reset(hbuf);
		}
	}
	if (m->fail_status == NULL && !headers_done)
		(void)cleanup_flush_headers(m, w, hbuf, true);
	result = 0;
done:
	buf_free(&chunk);
	buf_free(&hbuf);
	return result;
}

/* One request; true when the connection is at the start of the next. */
static bool
cleanup_request(struct conn *c)
{
	struct cleanup_message m;
	struct queue_writer *w = NULL;
	struct rec *req = rec_new();
	bool more = false;

	memset(&m, 0, sizeof(m));
	if (rec_read(c, req) < 0) {
		log_warn("cannot read cleanup request: %m");
		goto out;
	}
	if (cleanup_message_start(&m, &cleanup_settings, req) < 0) {
		log_warn("cleanup request refused: %s", m.fail_text);
		cleanup_reply_fail(c, &m);
		goto out;
	}
	if ((w = queue_create()) == NULL) {
		log_error("cannot create queue file: %m");
		cleanup_message_fail(&m, "451", "4.3.0",
		    "Error: cannot create queue file");
		cleanup_reply_fail(c, &m);
		goto out;
	}
	cleanup_message_set_qid(&m, queue_writer_id(w));
	/* Reply 1 goes out when we first wait for content, or with reply
	 * 2: a small message sent whole costs the client one wakeup. */
	cleanup_reply(c, true, "ok", m.qid, NULL, NULL);
	if (cleanup_content(c, &m, w) < 0) {
		queue_abort(&w);
		goto out;
	}
	more = true;
	if (m.fail_status != NULL) {
		queue_abort(&w);
		cleanup_reply_fail(c, &m);
		goto out;
	}
	if (queue_commit(&w) < 0) {
		log_error("%s: cannot commit queue file: %m", m.qid);
		if (w != NULL)	/* queue_commit() frees it */
			queue_abort(&w);
		cleanup_message_fail(&m, "451", "4.3.0",
		    "Error: queue file write error");
		cleanup_reply_fail(c, &m);
		goto out;
	}
	cleanup_reply(c, false, "ok", m.qid, NULL, NULL);
out:
	cleanup_message_release(&m);
	rec_free(&req);
	return more;
}

/* The first bytes of a request are there; false at EOF, which is no
 * error: smtpd connects at DATA but writes only with the content, so a
 * client that leaves during DATA closes a connection it never used. */
static bool
cleanup_request_starts(struct conn *c)
{
	ssize_t n;

	if (c->in.len > 0)
		return true;
	if ((n = conn_fill(c)) < 0)
		log_warn("cannot read cleanup request: %m");
	return n > 0;
}

/* Wait for the next request; false when the client is done or idle. */
static bool
cleanup_next_request(struct conn *c)
{
	return server_next_request(c->fd, c->in.len > 0) &&
	    cleanup_request_starts(c);
}

void
cleanup_service(int fd)
{
	struct conn *c;
	int dup_fd = dup(fd);

	if (dup_fd < 0) {
		log_error("dup: %m");
		return;
	}
	c = conn_new(dup_fd, cleanup_timeout_ms);
	if (cleanup_request_starts(c))
		while (cleanup_request(c) && cleanup_next_request(c))
			;
	conn_free(&c);
}
