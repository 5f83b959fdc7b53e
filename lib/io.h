/*
 * io.h - safe file and socket I/O helpers.
 *
 * Writes loop over short writes and EINTR; every blocking wait has a
 * deadline (milliseconds on the monotonic clock); files are written under a
 * temporary name, fsynced, then renamed.
 */
#ifndef POSTERN_IO_H
#define POSTERN_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "buf.h"

/* Milliseconds on the monotonic clock. */
int64_t io_now_ms(void);
/* Write all len bytes (blocking fd). 0 or -1 with errno. */
int io_write_all(int fd, const void *data, size_t len);
/* The same for iov[0..n), which it changes as it goes. */
int io_writev_all(int fd, struct iovec *iov, int n);
/* Wait until fd is ready for events (POLLIN/POLLOUT) or the deadline
 * passes: 0 ready, -1 with errno ETIMEDOUT or other. deadline < 0 waits
 * forever. */
int io_wait(int fd, short events, int64_t deadline);
/* Read a whole file of at most max bytes into out (appended). -1 with
 * EMSGSIZE when larger. */
int io_read_file(const char *path, size_t max, struct buf *out);
/* Write data to path atomically: path.tmp.PID, fsync, rename, fsync dir. */
int io_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode);
/* rename(2) that fails with EEXIST instead of replacing an existing to
 * (RENAME_NOREPLACE, or a check first where the file system lacks it). */
int io_rename_new(const char *from, const char *to);
/* fsync the directory that holds path (a file path, not the dir). */
int io_fsync_parent(const char *path);
int io_set_nonblock(int fd, bool on);
int io_set_cloexec(int fd, bool on);
/* Connect to a Unix stream socket, blocking. Returns fd or -1. */
int io_unix_connect(const char *path);
/* Bind and listen on a Unix stream socket (an old socket file is removed
 * first) with the given mode. Returns fd or -1. */
int io_unix_listen(const char *path, mode_t mode, int backlog);
/* Bind and listen on host:port (numeric host, "" or "*" for all).
 * Returns fd or -1. */
int io_inet_listen(const char *host, const char *port, int backlog);
/* mkdir -p with mode for the created levels. */
int io_mkdirs(const char *path, mode_t mode);

#endif
