/*
 * pickup_file.c - feed maildrop files to cleanup.
 *
 * sendmail(1) writes each message to maildrop/ under a name starting
 * with "." and renames it when complete, so only names without a leading
 * dot are taken. The file is untrusted (any local user can write one):
 * it must be a regular file with one link that was not swapped between
 * lstat() and open(), and queue_open() validates its format. The
 * submitting user is the file's owner, never anything the file says.
 *
 * Outcomes: cleanup says ok -> the file is removed; the file is not a
 * message, or cleanup refuses it for good (5XX: header_checks REJECT,
 * too big, no recipients) -> it is moved to corrupt/ for the admin
 * (XXX: Postfix would bounce it to the sender; we have no bounce service
 * to call from here yet); cleanup unreachable or 4XX -> left for the
 * next scan.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "pickup_file.h"
#include "proto.h"

/* Names per scan: the rest waits a second. */
#define PICKUP_SCAN_MAX	1000

int
pickup_request(const struct queue_file *q, uid_t uid, struct rec *req)
{
	static const char *const copied[] = {
		"full_name", "ret", "envid", NULL
	};
	const char *sender = queue_get(q, "sender");
	const char *extract = queue_get(q, "extract_recipients");

	if (sender == NULL)
		return -1;
	rec_reset(req);
	rec_put(req, "proto", PROTO_CLEANUP);
	rec_put(req, "origin", "pickup");
	rec_put(req, "sender", sender);
	rec_put_int(req, "uid", (long long)uid);
	rec_put(req, "local_submit", "1");
	if (extract != NULL && strcmp(extract, "1") == 0)
		rec_put(req, "extract_recipients", "1");
	for (size_t i = 0; copied[i] != NULL; i++) {
		const char *v = queue_get(q, copied[i]);

		if (v != NULL)
			rec_put(req, copied[i], v);
	}
	for (size_t i = 0; i < q->rcpt_count; i++) {
		if (q->rcpts[i].done)
			continue;
		rec_put(req, "rcpt", q->rcpts[i].address);
		if (q->rcpts[i].orcpt != NULL)
			rec_put(req, "orcpt", q->rcpts[i].orcpt);
		if (q->rcpts[i].notify != NULL)
			rec_put(req, "notify", q->rcpts[i].notify);
	}
	return 0;
}

static enum pickup_result
pickup_corrupt(const char *path, const char *name, const char *why)
{
	char *dest = xasprintf("corrupt/%s", name);

	if (rename(path, dest) == 0) {
		log_warn("%s: %s: moved to %s", path, why, dest);
	} else {
		log_error("%s: %s: cannot move to %s (%m): removed", path,
		    why, dest);
		(void)unlink(path);
	}
	xfree(&dest);
	return PICKUP_CORRUPT;
}

static int
pickup_send_chunk(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;

	return len == 0 ? 0 : rec_write_chunk(c, data, len);
}

/* The conversation; returns the outcome for the file. */
static enum pickup_result
pickup_converse(struct conn *c, struct queue_file *q, const struct rec *req,
    const char *path, const char *name, uid_t uid)
{
	struct rec *reply = rec_new();
	const char *status, *qid;
	enum pickup_result result = PICKUP_RETRY;
	char *why;

	if (rec_write(c, req) < 0 || rec_read(c, reply) < 0) {
		log_warn("%s: cleanup not answering: %m", path);
		goto done;
	}
	status = rec_get(reply, "status");
	if (status == NULL || strcmp(status, "ok") != 0)
		goto refused;
	qid = rec_get(reply, "qid");
	/* cleanup refused control characters in the sender already. */
	log_info("%s: uid=%lu from=<%.512s>", qid ? qid : "?",
	    (unsigned long)uid, queue_get(q, "sender"));
	if (queue_read_content(q, pickup_send_chunk, c) < 0) {
		/* Closing without the 0 chunk makes cleanup drop it. */
		if (errno == EPROTO) {
			result = pickup_corrupt(path, name,
			    "malformed content");
			goto done;
		}
		log_warn("%s: cannot send content to cleanup: %m", path);
		goto done;
	}
	if (rec_write_chunk(c, NULL, 0) < 0 || rec_read(c, reply) < 0) {
		log_warn("%s: cleanup not answering: %m", path);
		goto done;
	}
	status = rec_get(reply, "status");
	if (status != NULL && strcmp(status, "ok") == 0) {
		if (unlink(path) < 0)
			log_error("%s: cannot remove: %m", path);
		result = PICKUP_DONE;
		goto done;
	}
refused:
	why = xasprintf("cleanup refused it: %s %s %s",
	    status ? status : "?", rec_get(reply, "dsn") ?
	    rec_get(reply, "dsn") : "", rec_get(reply, "text") ?
	    rec_get(reply, "text") : "");
	if (status != NULL && status[0] == '5')
		result = pickup_corrupt(path, name, why);
	else
		log_warn("%s: %s; will try again", path, why);
	xfree(&why);
done:
	rec_free(&reply);
	return result;
}

enum pickup_result
pickup_file(const char *name, const char *cleanup_path, int timeout_ms)
{
	char *path = xasprintf("maildrop/%s", name);
	struct stat link_st, st;
	struct queue_file *q = NULL;
	struct rec *req = NULL;
	struct conn *c = NULL;
	enum pickup_result result = PICKUP_RETRY;
	int fd;

	if (lstat(path, &link_st) < 0) {
		if (errno != ENOENT)
			log_warn("%s: %m", path);
		goto done;
	}
	if (!S_ISREG(link_st.st_mode) || link_st.st_nlink != 1) {
		result = pickup_corrupt(path, name,
		    "not a regular file with one link");
		goto done;
	}
	if ((q = queue_open(path, false)) == NULL) {
		if (errno == ENOENT)
			goto done;
		result = pickup_corrupt(path, name, "not a message file");
		goto done;
	}
	if (fstat(q->fd, &st) < 0 || st.st_dev != link_st.st_dev ||
	    st.st_ino != link_st.st_ino || st.st_nlink != 1) {
		result = pickup_corrupt(path, name, "file changed while "
		    "opening");
		goto done;
	}
	req = rec_new();
	if (pickup_request(q, st.st_uid, req) < 0) {
		result = pickup_corrupt(path, name, "no sender");
		goto done;
	}
	if ((fd = io_unix_connect(cleanup_path)) < 0) {
		log_warn("cannot connect to %s: %m", cleanup_path);
		goto done;
	}
	c = conn_new(fd, timeout_ms);
	result = pickup_converse(c, q, req, path, name, st.st_uid);
done:
	conn_free(&c);
	rec_free(&req);
	queue_close(&q);
	xfree(&path);
	return result;
}

static int
pickup_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pickup_scan(const char *cleanup_path, int timeout_ms)
{
	DIR *dir = opendir("maildrop");
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	int queued = 0;

	if (dir == NULL) {
		log_warn("maildrop: %m");
		return 0;
	}
	names = xcalloc(PICKUP_SCAN_MAX, sizeof(char *));
	while (count < PICKUP_SCAN_MAX && (de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			names[count++] = xstrdup(de->d_name);
	closedir(dir);
	/* Names are time-based: oldest first. */
	qsort(names, count, sizeof(char *), pickup_name_cmp);
	for (size_t i = 0; i < count; i++) {
		enum pickup_result r = queued < 0 ? PICKUP_RETRY :
		    pickup_file(names[i], cleanup_path, timeout_ms);

		if (r == PICKUP_DONE)
			queued++;
		else if (r == PICKUP_RETRY)
			queued = -1;	/* cleanup trouble: stop here */
		xfree(&names[i]);
	}
	xfree(&names);
	return queued;
}
