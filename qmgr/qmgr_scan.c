/*
 * qmgr_scan.c - finding work in the queue directories (see qmgr_scan.h).
 *
 * A file that lands in incoming/ is activated as the kernel tells us of
 * it (inotify IN_MOVED_TO: every commit is a rename), so cleanup need not
 * wake us and we need not read the directory per message; incoming/ is
 * still scanned on a qmgr/1 wakeup, when the inotify queue overflowed or
 * an event found no room, and every QMGR_SCAN_INCOMING_MS; deferred/ at the earliest retry time seen
 * (a deferred file's mtime is its next attempt) and at least every
 * queue_run_delay. A scan stops while qmgr_message_active_limit messages
 * are active; qmgr_queue.c calls us again when a slot frees. At start,
 * what a crash left in active/ goes back to incoming/, so do complete
 * files a crash left in free/ (queue_pool_recover), and .tmp files a
 * crashed cleanup left are recovered or removed (queue_tmp_recover), then
 * again every QUEUE_TMP_STALE seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "qmgr_queue.h"
#include "qmgr_scan.h"
#include "queue.h"
#include "queue_pool.h"

#define QMGR_SCAN_INCOMING_MS	1000
#define QMGR_SCAN_PATH_MAX	(NAME_MAX + 16)	/* "incoming/" + a name */

static struct event_loop *qmgr_scan_loop;
static struct event_timer qmgr_scan_incoming_timer;
static struct event_timer qmgr_scan_deferred_timer;
static struct event_timer qmgr_scan_tmp_timer;
static long long qmgr_scan_run_delay = 300;

bool
qmgr_scan_name_ok(const char *name)
{
	return name[0] != '.' && strlen(name) <= QUEUE_ID_MAX &&
	    queue_id_valid(name);
}


/* Activate the files of dir; with due_only, those whose mtime passed.
 * Returns the earliest mtime still in the future (0: none). */
static long long
qmgr_scan_dir(const char *dir, bool due_only)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long long now = (long long)time(NULL), next = 0;
	struct stat st;

	if (d == NULL) {
		log_warn("open %s: %m", dir);
		return 0;
	}
	while (qmgr_queue_has_room() &&
	    (de = readdir(d)) != NULL) {
		if (!qmgr_scan_name_ok(de->d_name))
			continue;
		if (due_only) {
			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
				continue;
			if ((long long)st.st_mtime > now) {
				if (next == 0 || (long long)st.st_mtime < next)
					next = (long long)st.st_mtime;
				continue;
			}
		}
		qmgr_queue_activate(dir, de->d_name);
	}
	closedir(d);
	return next;
}

static void
qmgr_scan_incoming(void *ctx)
{
	qmgr_scan_dir("incoming", false);
	event_timer_set(qmgr_scan_loop, &qmgr_scan_incoming_timer,
	    QMGR_SCAN_INCOMING_MS, qmgr_scan_incoming, NULL);
}

/* Files renamed into incoming/: activate each by name. */
static void
qmgr_scan_on_inotify(int fd, int events, void *ctx)
{
	char data[16 * 1024] __attribute__((aligned(
	    __alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	bool rescan = false;

	while ((n = read(fd, data, sizeof(data))) > 0) {
		for (char *p = data; p < data + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				rescan = true;
			else if (ev->len == 0 ||
			    !qmgr_scan_name_ok(ev->name))
				continue;
			else if (qmgr_queue_has_room())
				qmgr_queue_activate("incoming", ev->name);
			else
				rescan = true;	/* when a slot frees */
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		log_warn("inotify: %m; scanning incoming/ every %d ms",
		    QMGR_SCAN_INCOMING_MS);
		event_del(qmgr_scan_loop, fd);
		close(fd);
	}
	if (rescan)
		qmgr_scan_wakeup();
}

/* Watch incoming/ for commits. Without inotify (the per-user limit
 * reached, say) the periodic scan finds them, a second later at most. */
static void
qmgr_scan_watch_incoming(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0 || inotify_add_watch(fd, "incoming", IN_MOVED_TO) < 0 ||
	    event_add(qmgr_scan_loop, fd, EVENT_READ, qmgr_scan_on_inotify,
	    NULL) < 0) {
		log_warn("cannot watch incoming/ (inotify: %m): scanning it "
		    "every %d ms", QMGR_SCAN_INCOMING_MS);
		if (fd >= 0)
			close(fd);
	}
}

static void
qmgr_scan_deferred(void *ctx)
{
	long long next = qmgr_scan_dir("deferred", true);
	long long now = (long long)time(NULL);

	/* Wake for the earliest file we saw, or after queue_run_delay for
	 * files others put there (release, requeue while we ran). */
	if (next == 0 || next > now + qmgr_scan_run_delay)
		next = now + qmgr_scan_run_delay;
	qmgr_scan_deferred_at(next);
}

/* Scan deferred/ at due (unix seconds) unless a scan comes sooner. */
void
qmgr_scan_deferred_at(long long due)
{
	long long now = (long long)time(NULL);
	int64_t ms = due > now ? (int64_t)(due - now) * 1000 : 0;

	if (event_timer_armed(&qmgr_scan_deferred_timer) &&
	    qmgr_scan_deferred_timer.when <= io_now_ms() + ms)
		return;
	event_timer_set(qmgr_scan_loop, &qmgr_scan_deferred_timer, ms,
	    qmgr_scan_deferred, NULL);
}

/* After a crash, active/ holds messages nobody is delivering. */
static void
qmgr_scan_recover(void)
{
	DIR *d = opendir("active");
	struct dirent *de;
	char from[QMGR_SCAN_PATH_MAX], to[QMGR_SCAN_PATH_MAX];
	size_t count = 0;

	if (d == NULL) {
		log_warn("open active: %m");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qmgr_scan_name_ok(de->d_name))
			continue;
		snprintf(from, sizeof(from), "active/%s", de->d_name);
		snprintf(to, sizeof(to), "incoming/%s", de->d_name);
		if (rename(from, to) < 0)
			log_warn("rename %s %s: %m", from, to);
		else
			count++;
	}
	closedir(d);
	if (count > 0)
		log_info("recovered %zu message(s) from active/", count);
}

/* Files a crashed cleanup left in incoming/ under their temporary names:
 * at start (a system crash may have undone a commit's rename) and then
 * every QUEUE_TMP_STALE seconds (a killed cleanup's partial file). */
static void
qmgr_scan_tmp(void *ctx)
{
	DIR *d = opendir("incoming");
	struct dirent *de;
	long long now = (long long)time(NULL);
	bool recovered = false;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] == '.' && queue_tmp_recover("incoming",
			    de->d_name, now) == QUEUE_TMP_RECOVERED)
				recovered = true;
		closedir(d);
	}
	if (recovered)
		qmgr_scan_wakeup();
	event_timer_set(qmgr_scan_loop, &qmgr_scan_tmp_timer,
	    QUEUE_TMP_STALE * 1000, qmgr_scan_tmp, NULL);
}

void
qmgr_scan_start(struct event_loop *loop)
{
	qmgr_scan_loop = loop;
	qmgr_scan_run_delay = config_get_time("queue_run_delay");
	if (qmgr_scan_run_delay < 1)
		qmgr_scan_run_delay = 1;
	/* Before the first scan, so no commit falls between the two. */
	qmgr_scan_watch_incoming();
	qmgr_scan_recover();
	if (queue_pool_recover() > 0)
		log_info("recovered message(s) from free/");
	qmgr_scan_tmp(NULL);
	event_timer_set(loop, &qmgr_scan_incoming_timer, 0,
	    qmgr_scan_incoming, NULL);
	event_timer_set(loop, &qmgr_scan_deferred_timer, 0,
	    qmgr_scan_deferred, NULL);
}

void
qmgr_scan_wakeup(void)
{
	if (qmgr_scan_loop != NULL)
		event_timer_set(qmgr_scan_loop, &qmgr_scan_incoming_timer, 0,
		    qmgr_scan_incoming, NULL);
}

size_t
qmgr_scan_flush(bool (*wants)(const char *name, const void *ctx),
    const void *ctx)
{
	DIR *d = opendir("deferred");
	struct dirent *de;
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW },
	};
	size_t count = 0;

	if (d == NULL) {
		log_warn("open deferred: %m");
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qmgr_scan_name_ok(de->d_name) ||
		    (wants != NULL && !wants(de->d_name, ctx)))
			continue;
		if (utimensat(dirfd(d), de->d_name, times, 0) == 0)
			count++;
	}
	closedir(d);
	if (count > 0 || wants == NULL)
		qmgr_scan_deferred_soon();
	return count;
}

void
qmgr_scan_deferred_soon(void)
{
	if (qmgr_scan_loop != NULL)
		event_timer_set(qmgr_scan_loop, &qmgr_scan_deferred_timer, 0,
		    qmgr_scan_deferred, NULL);
}
