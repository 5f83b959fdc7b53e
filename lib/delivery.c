/*
 * delivery.c - the delivery/1 server side and privilege-dropping children
 * shared by local and virtual (see delivery.h).
 *
 * Trust: the request comes from qmgr (mail_owner) over a private socket,
 * but it is still checked: the queue file path must stay inside
 * queue_directory, every recipient carries its index. A child reports
 * through a pipe as one lib/rec record; anything else from it (no record,
 * a crash, a timeout) is a temporary failure, so mail waits and is never
 * lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "delivery.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "proto.h"
#include "server.h"

#define DELIVERY_CONN_TIMEOUT_MS	(5 * 60 * 1000)
#define DELIVERY_HEADER_MAX		(1024 * 1024)

static bool
delivery_path_safe(const char *path)
{
	const char *p;

	if (path[0] == '\0' || path[0] == '/')
		return false;
	for (p = path; *p != '\0'; p++) {
		if (p[0] == '.' && p[1] == '.' && (p == path || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	return true;
}

static struct delivery_rcpt *
delivery_add_rcpt(struct delivery_request *req, const char *address)
{
	struct delivery_rcpt *rcpt;

	req->rcpts = xreallocarray(req->rcpts, req->rcpt_count + 1,
	    sizeof(*req->rcpts));
	rcpt = &req->rcpts[req->rcpt_count++];
	memset(rcpt, 0, sizeof(*rcpt));
	rcpt->address = xstrdup(address);
	rcpt->index = -1;
	rcpt->status = DELIVERY_DEFERRED;
	rcpt->dsn = xstrdup("4.3.0");
	rcpt->reason = xstrdup("delivery not attempted");
	return rcpt;
}

int
delivery_request_parse(const struct rec *r, struct delivery_request *req,
    const char **error_r)
{
	struct delivery_rcpt *rcpt = NULL;
	size_t i;

	memset(req, 0, sizeof(*req));
	if (r->count == 0 || strcmp(r->attrs[0].name, "proto") != 0 ||
	    strcmp(r->attrs[0].value, PROTO_DELIVERY) != 0) {
		*error_r = "not a delivery/1 request";
		return -1;
	}
	for (i = 1; i < r->count; i++) {
		const char *name = r->attrs[i].name, *value = r->attrs[i].value;

		if (strcmp(name, "rcpt") == 0) {
			if (rcpt != NULL && rcpt->index < 0)
				break;
			rcpt = delivery_add_rcpt(req, value);
		} else if (rcpt != NULL && strcmp(name, "index") == 0) {
			char *end;

			errno = 0;
			rcpt->index = strtoll(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' ||
			    rcpt->index < 0) {
				*error_r = "bad recipient index";
				return -1;
			}
		} else if (rcpt != NULL && strcmp(name, "orcpt") == 0) {
			free(rcpt->orcpt);
			rcpt->orcpt = xstrdup(value);
		} else if (rcpt != NULL && strcmp(name, "notify") == 0) {
			free(rcpt->notify);
			rcpt->notify = xstrdup(value);
		} else if (rcpt == NULL && strcmp(name, "qid") == 0) {
			free(req->qid);
			req->qid = xstrdup(value);
		} else if (rcpt == NULL && strcmp(name, "queue_file") == 0) {
			free(req->queue_file);
			req->queue_file = xstrdup(value);
		} else if (rcpt == NULL && strcmp(name, "sender") == 0) {
			free(req->sender);
			req->sender = xstrdup(value);
		} else if (rcpt == NULL && strcmp(name, "nexthop") == 0) {
			free(req->nexthop);
			req->nexthop = xstrdup(value);
		}
		/* Unknown attributes are newer qmgr features: ignored. */
	}
	if (rcpt != NULL && rcpt->index < 0) {
		*error_r = "recipient without index";
		return -1;
	}
	if (req->qid == NULL || !queue_id_valid(req->qid)) {
		*error_r = "missing or bad qid";
		return -1;
	}
	if (req->queue_file == NULL || !delivery_path_safe(req->queue_file)) {
		*error_r = "missing or unsafe queue_file";
		return -1;
	}
	if (req->rcpt_count == 0) {
		*error_r = "no recipients";
		return -1;
	}
	if (req->sender == NULL)
		req->sender = xstrdup("");
	if (req->nexthop == NULL)
		req->nexthop = xstrdup("");
	return 0;
}

void
delivery_request_release(struct delivery_request *req)
{
	size_t i;

	for (i = 0; i < req->rcpt_count; i++) {
		free(req->rcpts[i].address);
		free(req->rcpts[i].orcpt);
		free(req->rcpts[i].notify);
		free(req->rcpts[i].dsn);
		free(req->rcpts[i].reason);
		free(req->rcpts[i].relay);
	}
	free(req->rcpts);
	free(req->qid);
	free(req->queue_file);
	free(req->sender);
	free(req->nexthop);
	memset(req, 0, sizeof(*req));
}

void
delivery_set(struct delivery_rcpt *rcpt, enum delivery_status status,
    const char *dsn, const char *fmt, ...)
{
	va_list ap;
	char *reason;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		log_fatal("out of memory");
	va_end(ap);
	free(rcpt->dsn);
	free(rcpt->reason);
	rcpt->status = status;
	rcpt->dsn = xstrdup(dsn);
	rcpt->reason = reason;
}

void
delivery_set_all(struct delivery_request *req, enum delivery_status status,
    const char *dsn, const char *reason)
{
	size_t i;

	for (i = 0; i < req->rcpt_count; i++)
		delivery_set(&req->rcpts[i], status, dsn, "%s", reason);
}

const char *
delivery_status_name(enum delivery_status status)
{
	switch (status) {
	case DELIVERY_SENT:
		return "sent";
	case DELIVERY_BOUNCED:
		return "bounced";
	case DELIVERY_DEFERRED:
		break;
	}
	return "deferred";
}

int
delivery_status_parse(const char *name, enum delivery_status *status_r)
{
	if (strcmp(name, "sent") == 0)
		*status_r = DELIVERY_SENT;
	else if (strcmp(name, "bounced") == 0)
		*status_r = DELIVERY_BOUNCED;
	else if (strcmp(name, "deferred") == 0)
		*status_r = DELIVERY_DEFERRED;
	else
		return -1;
	return 0;
}

void
delivery_reply_format(const struct delivery_request *req, struct rec *out)
{
	size_t i;

	rec_reset(out);
	rec_put(out, "proto", PROTO_DELIVERY);
	for (i = 0; i < req->rcpt_count; i++) {
		const struct delivery_rcpt *rcpt = &req->rcpts[i];

		rec_put(out, "rcpt", rcpt->address);
		rec_put_int(out, "index", rcpt->index);
		rec_put(out, "status", delivery_status_name(rcpt->status));
		rec_put(out, "dsn", rcpt->dsn);
		rec_put(out, "reason", rcpt->reason);
	}
}

/* Serve one request on c; false when the connection is done. */
static bool
delivery_serve_request(struct conn *c, const char *agent,
    void (*deliver)(struct delivery_request *req, struct queue_file *q))
{
	struct delivery_request req;
	struct queue_file *q = NULL;
	struct rec *r = rec_new();
	const char *error;
	int64_t start;
	size_t i;
	bool ok = false;

	if (rec_read(c, r) < 0) {
		log_warn("%s: cannot read delivery request: %m", agent);
		goto out;
	}
	if (delivery_request_parse(r, &req, &error) < 0) {
		log_warn("%s: bad delivery request: %s", agent, error);
		delivery_request_release(&req);
		goto out;
	}
	start = io_now_ms();
	if ((q = queue_open(req.queue_file, false)) == NULL) {
		log_warn("%s: cannot open queue file %s: %m", req.qid,
		    req.queue_file);
		delivery_set_all(&req, DELIVERY_DEFERRED, "4.3.0",
		    "queue file unreadable");
	} else {
		const char *arrival = queue_get(q, "arrival");
		long long when;

		/* Postfix's delay= counts from arrival, not from now. */
		if (arrival != NULL && (when = atoll(arrival)) > 0 &&
		    when <= (long long)time(NULL))
			start -= ((long long)time(NULL) - when) * 1000;
		deliver(&req, q);
		queue_close(&q);
	}
	for (i = 0; i < req.rcpt_count; i++) {
		const struct delivery_rcpt *rcpt = &req.rcpts[i];

		log_info("%s: to=<%s>,%s%s%s relay=%s, delay=%.2f, dsn=%s, "
		    "status=%s (%s)", req.qid, rcpt->address,
		    rcpt->orcpt != NULL ? " orig_to=<" : "",
		    rcpt->orcpt != NULL ? rcpt->orcpt : "",
		    rcpt->orcpt != NULL ? ">," : "",
		    rcpt->relay != NULL ? rcpt->relay : agent,
		    (double)(io_now_ms() - start) / 1000.0, rcpt->dsn,
		    delivery_status_name(rcpt->status), rcpt->reason);
	}
	delivery_reply_format(&req, r);
	if (rec_write(c, r) < 0)
		log_warn("%s: cannot send delivery reply: %m", req.qid);
	else
		ok = true;
	delivery_request_release(&req);
out:
	rec_free(&r);
	return ok;
}

void
delivery_serve(int fd, const char *agent,
    void (*deliver)(struct delivery_request *req, struct queue_file *q))
{
	struct conn *c;
	int dup_fd;

	/* conn owns its descriptor; the skeleton closes fd itself. */
	if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		log_error("dup: %m");
		return;
	}
	c = conn_new(dup_fd, DELIVERY_CONN_TIMEOUT_MS);
	while (delivery_serve_request(c, agent, deliver) &&
	    server_next_request(c->fd, c->in.len > 0) &&
	    (c->in.len > 0 || conn_fill(c) > 0))
		;
	conn_free(&c);
}

int
delivery_drop_privileges(const struct delivery_user *u)
{
	if (geteuid() != 0 && getuid() != 0)
		return 0;	/* not root: we deliver as ourselves */
	if (u->uid == 0) {
		errno = EPERM;
		return -1;
	}
	if (u->name != NULL ? initgroups(u->name, u->gid) < 0 :
	    setgroups(1, &u->gid) < 0)
		return -1;
	if (setgid(u->gid) < 0 || setuid(u->uid) < 0)
		return -1;
	if (setuid(0) == 0 || getuid() != u->uid || geteuid() != u->uid ||
	    getgid() != u->gid || getegid() != u->gid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
delivery_as_user(const struct delivery_user *u,
    void (*fn)(void *ctx, struct rec *out), void *ctx, struct rec *result,
    char **error_r)
{
	bool root = geteuid() == 0;

	rec_reset(result);
	if (root) {
		if (u->uid == 0) {
			*error_r = xstrdup("refusing to deliver as root");
			return -1;
		}
		if (setgroups(1, &u->gid) < 0 || setegid(u->gid) < 0 ||
		    seteuid(u->uid) < 0) {
			*error_r = xasprintf("cannot change to uid %ld gid "
			    "%ld: %s", (long)u->uid, (long)u->gid,
			    strerror(errno));
			if (seteuid(0) < 0 || setegid(0) < 0 ||
			    setgroups(0, NULL) < 0)
				log_fatal("cannot become root again: %m");
			return -1;
		}
	}
	fn(ctx, result);
	if (root && (seteuid(0) < 0 || setegid(0) < 0 ||
	    setgroups(0, NULL) < 0))
		log_fatal("cannot become root again: %m");
	return 0;
}

void
delivery_result_put(struct rec *out, enum delivery_status status,
    const char *dsn, const char *reason)
{
	rec_put(out, "status", delivery_status_name(status));
	rec_put(out, "dsn", dsn);
	rec_put(out, "reason", reason);
}

int
delivery_result_get(const struct rec *r, enum delivery_status *status_r,
    const char **dsn_r, const char **reason_r)
{
	const char *status = rec_get(r, "status");

	*dsn_r = rec_get(r, "dsn");
	*reason_r = rec_get(r, "reason");
	if (status == NULL || *dsn_r == NULL || *reason_r == NULL ||
	    delivery_status_parse(status, status_r) < 0)
		return -1;
	return 0;
}

static void
delivery_child(int fd, const struct delivery_user *u,
    void (*fn)(void *ctx, struct rec *out), void *ctx)
{
	struct rec *out = rec_new();
	struct buf *b = buf_new(REC_MAX);

	if (u != NULL && delivery_drop_privileges(u) < 0) {
		char *reason = xasprintf("cannot change to uid %ld gid %ld: %s",
		    (long)u->uid, (long)u->gid, strerror(errno));

		log_error("%s", reason);
		delivery_result_put(out, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
	} else {
		fn(ctx, out);
	}
	if (rec_format(out, b) < 0 || io_write_all(fd, b->data, b->len) < 0)
		_exit(1);
	_exit(0);
}

int
delivery_run_as(const struct delivery_user *u,
    void (*fn)(void *ctx, struct rec *out), void *ctx, int64_t timeout_ms,
    struct rec *result, char **error_r)
{
	struct buf *in = buf_new(REC_MAX + 1);
	int64_t deadline = io_now_ms() + timeout_ms;
	int pipe_fd[2], status = 0, ret = -1;
	bool timed_out = false;
	pid_t pid;

	*error_r = NULL;
	if (pipe2(pipe_fd, O_CLOEXEC) < 0) {
		*error_r = xasprintf("cannot create pipe: %s", strerror(errno));
		buf_free(&in);
		return -1;
	}
	if ((pid = fork()) < 0) {
		*error_r = xasprintf("cannot fork: %s", strerror(errno));
		close(pipe_fd[0]);
		close(pipe_fd[1]);
		buf_free(&in);
		return -1;
	}
	if (pid == 0) {
		close(pipe_fd[0]);
		delivery_child(pipe_fd[1], u, fn, ctx);
	}
	close(pipe_fd[1]);
	for (;;) {
		ssize_t n;

		if (io_wait(pipe_fd[0], POLLIN, deadline) < 0) {
			timed_out = errno == ETIMEDOUT;
			break;
		}
		if (buf_reserve(in, 65536) < 0 &&
		    buf_reserve(in, in->limit - in->len) < 0)
			break;
		if (in->len == in->limit)
			break;
		n = read(pipe_fd[0], in->data + in->len, in->limit - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(in, (size_t)n);
	}
	close(pipe_fd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		*error_r = xasprintf("delivery timed out after %lld s",
		    (long long)(timeout_ms / 1000));
	else if (rec_parse(result, in->data, in->len) <= 0)
		*error_r = WIFSIGNALED(status) ?
		    xasprintf("delivery process killed by signal %d",
		    WTERMSIG(status)) :
		    xasprintf("delivery process failed (status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else
		ret = 0;
	buf_free(&in);
	return ret;
}

struct delivery_header_state {
	struct buf *head;
	bool done;
};

static int
delivery_header_collect(void *ctx, const char *data, size_t len)
{
	struct delivery_header_state *s = ctx;
	size_t i, start = s->head->len;
	bool full = false;

	/* A header over the limit is looked at up to the limit only. */
	if (len > s->head->limit - s->head->len) {
		len = s->head->limit - s->head->len;
		full = true;
	}
	if (buf_add(s->head, data, len) < 0)
		return -1;
	/* Stop at the first empty line: the header is complete. */
	for (i = start > 0 ? start - 1 : 0; i < s->head->len; i++) {
		if (s->head->data[i] == '\n' &&
		    (i == 0 || (i + 1 < s->head->len &&
		    s->head->data[i + 1] == '\n'))) {
			buf_truncate(s->head, i + 1);
			s->done = true;
			return -1;
		}
	}
	if (full) {
		s->done = true;
		return -1;
	}
	return 0;
}

int
delivery_header_has(struct queue_file *q, const char *name,
    const char *value)
{
	struct delivery_header_state s = { buf_new(DELIVERY_HEADER_MAX),
	    false };
	size_t name_len = strlen(name), value_len = strlen(value);
	const char *line, *end;
	int found = 0;

	if (queue_read_content(q, delivery_header_collect, &s) < 0 &&
	    !s.done) {
		buf_free(&s.head);
		return -1;
	}
	/* Unfolded lines are enough: Delivered-To is never folded. */
	for (line = s.head->data; *line != '\0' && *line != '\n';
	    line = end + 1) {
		const char *p, *v, *ve;

		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		if ((size_t)(end - line) > name_len && line[name_len] == ':' &&
		    strncasecmp(line, name, name_len) == 0) {
			for (v = line + name_len + 1; v < end &&
			    (*v == ' ' || *v == '\t'); v++)
				;
			for (ve = end; ve > v && (ve[-1] == ' ' ||
			    ve[-1] == '\t' || ve[-1] == '\r'); ve--)
				;
			p = v;
			if ((size_t)(ve - p) == value_len &&
			    strncasecmp(p, value, value_len) == 0) {
				found = 1;
				break;
			}
		}
		if (*end == '\0')
			break;
	}
	buf_free(&s.head);
	return found;
}
