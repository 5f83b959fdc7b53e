/*
 * maildir.h - the Maildir writer local and virtual share.
 *
 * Delivery follows the Maildir rules: write a file in tmp/ (unnamed where
 * the file system allows), fsync, link or rename it to new/UNIQUE, fsync
 * new/. The caller has already switched
 * to the recipient's uid/gid; missing Maildir directories are created.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include "queue.h"

/* Deliver q's content into the Maildir at path (ending in "/" or not),
 * preceded by the header lines in prepend ("Return-Path: <..>\n
 * Delivered-To: ...\n"). Returns 0, or -1 with *error_r a fresh text
 * and *temporary_r telling whether retrying may help (disk full: yes; not
 * a directory: no). */
int maildir_deliver(const char *path, const char *prepend,
    struct queue_file *q, char **error_r, bool *temporary_r);

#endif
