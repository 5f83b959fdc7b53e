/*
 * pickup_file.h - feed maildrop files to cleanup.
 */
#ifndef PICKUP_FILE_H
#define PICKUP_FILE_H

#include <sys/types.h>

#include "queue.h"
#include "rec.h"

enum pickup_result {
	PICKUP_DONE,		/* queued by cleanup and removed */
	PICKUP_CORRUPT,		/* moved to corrupt/ */
	PICKUP_RETRY,		/* left for the next scan */
};

/* The cleanup/1 request for maildrop file q submitted by uid. Returns 0,
 * or -1 when the file lacks a sender. */
int pickup_request(const struct queue_file *q, uid_t uid, struct rec *req);
/* Feed maildrop/NAME to cleanup on cleanup_path (relative to the queue
 * directory, the current directory). */
enum pickup_result pickup_file(const char *name, const char *cleanup_path,
    int timeout_ms);
/* Scan maildrop/ once; returns the number of files queued, or -1 when
 * cleanup could not be reached (the scan stops early). */
int pickup_scan(const char *cleanup_path, int timeout_ms);

#endif
