/*
 * queue_pool.h - free/, the pool of emptied queue files.
 *
 * A finished message's file is not unlinked: qmgr empties it and moves it
 * to free/, and cleanup's next queue_create() takes it from there instead
 * of creating a file. Each message then costs the file system no inode
 * allocation and no inode free (on ext4 without a journal, an allocation
 * skips every inode freed in the last minutes, which made file creation
 * the most expensive step of accepting mail). The pool holds at most
 * QUEUE_POOL_MAX files; past that, files are unlinked as before.
 *
 * Invariant: in normal operation every file in free/ is empty. A finished
 * file is truncated before it is moved there, and cleanup renames a file
 * out of free/ (to its temporary name in incoming/) before writing it.
 * So a non-empty file in free/ is what a system crash left: a message
 * whose claim rename was lost after its fsync (it may have had its 250),
 * or a finished file whose truncation was lost. queue_pool_recover()
 * turns each complete one back into a message (a duplicate delivery at
 * worst, never a loss) and empties the rest; cleanup never claims a
 * non-empty file.
 *
 * Paths are relative to queue_directory, as in queue.h.
 */
#ifndef POSTERN_QUEUE_POOL_H
#define POSTERN_QUEUE_POOL_H

#include <stddef.h>

#define QUEUE_POOL_MAX	1024

/* cleanup: rename an empty file from free/ to tmp_path and open it for
 * writing. The fd, or -1 when the pool has none (then create a file). */
int queue_pool_claim(const char *tmp_path);
/* qmgr: a finished queue file at path, open read-write as fd: empty it
 * and move it to free/ while the pool has room, else unlink it. -1 with
 * errno when the file is still in place. */
int queue_pool_put(const char *path, int fd);
/* qmgr at start: complete non-empty files in free/ go back to incoming/
 * under the queue ID their envelope names; other non-empty files are
 * emptied. Returns the number of messages recovered. */
size_t queue_pool_recover(void);

#endif
