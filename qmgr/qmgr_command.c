/*
 * qmgr_command.c - qmgr/1 hold, release, delete and requeue.
 *
 * Only qmgr moves queue files, so `postern queue ...` asks us. Files in
 * incoming/, deferred/ and hold/ are moved (or removed) at once; a
 * message in active/ cannot move while its deliveries run, so it is
 * flagged and handled when its last job ends (qmgr_queue.c).
 *   hold     incoming/, deferred/ -> hold/ (active: flagged)
 *   release  hold/ -> deferred/, due now
 *   delete   incoming/, deferred/, hold/ -> removed with log/QID
 *            (active: flagged)
 *   requeue  deferred/ -> incoming/ (retried now)
 *   flush    deferred/ due now: all, or with a domain only the messages
 *            with a pending recipient in that domain (Postfix's
 *            `postqueue -s`); other deferred mail keeps its time.
 * The postern command logs who asked; we log what happened to each file
 * ("QID: placed on hold"), and for a message in active/ that it will
 * happen when its deliveries end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "qmgr_command.h"
#include "qmgr_queue.h"
#include "qmgr_scan.h"
#include "queue.h"

#define QMGR_PATH_MAX		(NAME_MAX + 16)

enum qmgr_command {
	QMGR_COMMAND_HOLD,
	QMGR_COMMAND_RELEASE,
	QMGR_COMMAND_DELETE,
	QMGR_COMMAND_REQUEUE,
};

static const char *const qmgr_command_sources[][4] = {
	[QMGR_COMMAND_HOLD] = { "incoming", "deferred", NULL },
	[QMGR_COMMAND_RELEASE] = { "hold", NULL },
	[QMGR_COMMAND_DELETE] = { "incoming", "deferred", "hold", NULL },
	[QMGR_COMMAND_REQUEUE] = { "deferred", NULL },
};

/* Apply command to dir/qid: true when the file was there. */
static bool
qmgr_queue_apply(enum qmgr_command command, const char *dir, const char *qid)
{
	char from[QMGR_PATH_MAX], to[QMGR_PATH_MAX], log[QMGR_PATH_MAX];
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW },
	};

	snprintf(from, sizeof(from), "%s/%s", dir, qid);
	switch (command) {
	case QMGR_COMMAND_DELETE:
		if (unlink(from) < 0) {
			if (errno != ENOENT)
				log_warn("%s: unlink %s: %m", qid, from);
			return false;
		}
		snprintf(log, sizeof(log), "log/%s", qid);
		(void)unlink(log);
		log_info("%s: removed (deleted by request)", qid);
		return true;
	case QMGR_COMMAND_HOLD:
		snprintf(to, sizeof(to), "hold/%s", qid);
		break;
	case QMGR_COMMAND_RELEASE:
		/* Due now: the next deferred scan takes it. */
		if (utimensat(AT_FDCWD, from, times, 0) < 0) {
			if (errno != ENOENT)
				log_warn("%s: utimensat %s: %m", qid, from);
			return false;
		}
		snprintf(to, sizeof(to), "deferred/%s", qid);
		break;
	case QMGR_COMMAND_REQUEUE:
		snprintf(to, sizeof(to), "incoming/%s", qid);
		break;
	}
	if (rename(from, to) < 0) {
		if (errno != ENOENT)
			log_warn("%s: rename %s %s: %m", qid, from, to);
		return false;
	}
	log_info("%s: %s", qid, command == QMGR_COMMAND_HOLD ?
	    "placed on hold" : command == QMGR_COMMAND_RELEASE ?
	    "released from hold" : "requeued");
	return true;
}

void
qmgr_command(const char *request, const char *qid, struct rec *reply)
{
	enum qmgr_command command;
	bool all;
	size_t count = 0;

	if (strcmp(request, "hold") == 0)
		command = QMGR_COMMAND_HOLD;
	else if (strcmp(request, "release") == 0)
		command = QMGR_COMMAND_RELEASE;
	else if (strcmp(request, "delete") == 0)
		command = QMGR_COMMAND_DELETE;
	else if (strcmp(request, "requeue") == 0)
		command = QMGR_COMMAND_REQUEUE;
	else {
		rec_put(reply, "status", "501");
		rec_put(reply, "dsn", "5.5.4");
		rec_put(reply, "text", "unknown request");
		return;
	}
	if (qid == NULL || (strcmp(qid, "ALL") != 0 &&
	    !qmgr_scan_name_ok(qid))) {
		rec_put(reply, "status", "501");
		rec_put(reply, "dsn", "5.5.4");
		rec_put(reply, "text", "missing or malformed qid");
		return;
	}
	all = strcmp(qid, "ALL") == 0;
	if (command == QMGR_COMMAND_HOLD || command == QMGR_COMMAND_DELETE) {
		size_t flagged = qmgr_queue_flag_active(qid,
		    command == QMGR_COMMAND_HOLD,
		    command == QMGR_COMMAND_DELETE);

		if (flagged > 0 && !all)
			log_info("%s: %s requested while it is being "
			    "delivered: done when its deliveries end", qid,
			    request);
		else if (flagged > 0)
			log_info("%s requested for %zu message(s) being "
			    "delivered: done when their deliveries end",
			    request, flagged);
		count += flagged;
	}
	for (size_t i = 0; qmgr_command_sources[command][i] != NULL; i++) {
		const char *dir = qmgr_command_sources[command][i];
		DIR *d;
		struct dirent *de;

		if (!all) {
			count += qmgr_queue_apply(command, dir, qid);
			continue;
		}
		if ((d = opendir(dir)) == NULL) {
			log_warn("open %s: %m", dir);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (qmgr_scan_name_ok(de->d_name))
				count += qmgr_queue_apply(command, dir,
				    de->d_name);
		closedir(d);
	}
	if (command == QMGR_COMMAND_RELEASE)
		qmgr_scan_deferred_soon();
	if (command == QMGR_COMMAND_REQUEUE)
		qmgr_scan_wakeup();
	if (count == 0 && !all) {
		rec_put(reply, "status", "550");
		rec_put(reply, "dsn", "5.0.0");
		rec_put(reply, "text", "no such message in the queue");
		return;
	}
	rec_put(reply, "status", "ok");
	rec_put_size(reply, "count", count);
}

/* true when deferred/NAME has a pending recipient in domain (ctx). */
static bool
qmgr_command_wants(const char *name, const void *ctx)
{
	const char *domain = ctx;
	char path[QMGR_PATH_MAX];
	struct queue_file *q;
	bool found = false;

	snprintf(path, sizeof(path), "deferred/%s", name);
	if ((q = queue_open(path, false)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s: open %s: %m", name, path);
		return false;
	}
	for (size_t i = 0; i < q->rcpt_count && !found; i++) {
		const char *at = strrchr(q->rcpts[i].address, '@');

		found = !q->rcpts[i].done && at != NULL &&
		    strcasecmp(at + 1, domain) == 0;
	}
	queue_close(&q);
	return found;
}

void
qmgr_command_flush(const char *domain, struct rec *reply)
{
	size_t count;

	if (domain == NULL) {
		count = qmgr_scan_flush(NULL, NULL);
		log_info("flush requested: %zu deferred message(s) due now",
		    count);
	} else if (!addr_domain_ok(domain)) {
		rec_put(reply, "status", "501");
		rec_put(reply, "dsn", "5.5.4");
		rec_put(reply, "text", "malformed domain");
		return;
	} else {
		/* XXX opens every file in deferred/ on the event loop;
		 * Postfix keeps per-domain logs (fast_flush_domains)
		 * instead. Fine for the queues we expect. */
		count = qmgr_scan_flush(qmgr_command_wants, domain);
		log_info("flush requested for %s: %zu deferred message(s) "
		    "due now", domain, count);
	}
	rec_put(reply, "status", "ok");
	rec_put_size(reply, "count", count);
}
