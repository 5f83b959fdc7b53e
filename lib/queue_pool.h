/*
 * queue_pool.h - free/, the pool of finished queue files.
 *
 * A finished message's file is not unlinked: qmgr blanks it and moves it
 * to free/, and cleanup's next queue_create() writes the next message
 * into it there instead of creating a file. Each message then costs the
 * file system no inode allocation and no inode free (on ext4 without a
 * journal, an allocation skips every inode freed in the last minutes,
 * which made file creation the most expensive step of accepting mail).
 * Blanking keeps the file's blocks (up to QUEUE_POOL_KEEP bytes): freeing
 * them would cost an allocation in cleanup and, on a file system mounted
 * with online discard, a wait for the device in qmgr, for every message.
 * The pool holds at most QUEUE_POOL_MAX files; past that, files are
 * unlinked as before.
 *
 * Claims: cleanup holds the file it writes with flock(2) from its claim
 * until the message has left free/ (renamed to incoming/QID) or the file
 * is blank again. The message is written in place, under the free/
 * name: a claim costs no rename, and a name another cleanup holds costs
 * one failed lock, not a failed rename.
 *
 * Invariant: every file in free/ that no cleanup holds is blank (empty,
 * or zeros throughout) in normal operation. A finished file is blanked
 * before it is moved there, and a cleanup that does not commit its
 * message blanks the file before it lets go. So any other file in free/
 * that nobody holds is what a crash left: a message whose commit rename
 * was lost after its fsync (it may have had its 250), a message its
 * writer never finished, or a finished file whose blanking was lost.
 * queue_pool_recover() turns each complete one back into a message (a
 * duplicate delivery at worst, never a loss) and empties the rest.
 * cleanup claims only files that cannot be a complete message: every
 * queue file ends with an empty line.
 *
 * Paths are relative to queue_directory, as in queue.h.
 */
#ifndef POSTERN_QUEUE_POOL_H
#define POSTERN_QUEUE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "queue.h"

#define QUEUE_POOL_MAX	1024
#define QUEUE_POOL_DIR	"free"
#define QUEUE_POOL_PATH_MAX	(sizeof(QUEUE_POOL_DIR "/") + QUEUE_ID_MAX)

/* cleanup: claim an empty file in free/: its fd, open read-write and
 * locked, with its path in path (size bytes, QUEUE_POOL_PATH_MAX is
 * enough) and its fstat() in *st_r, or -1 when the pool has none (then
 * create a file). Commit the message by renaming path away before
 * closing fd; or give the file back with queue_pool_release(). */
int queue_pool_claim(char *path, size_t size, struct stat *st_r);
/* Blank a claimed file and close fd, which lets it go. -1 (logged) when
 * it cannot be blanked: it stays for queue_pool_recover(). */
int queue_pool_release(const char *path, int fd);
/* qmgr: a finished queue file at path, open read-write as fd: blank it
 * and move it to free/ while the pool has room, else unlink it. -1 with
 * errno when the file is still in place. */
int queue_pool_put(const char *path, int fd);
/* Whether fd's file is empty or zeros throughout, as queue_pool_put()
 * leaves a finished file: no message. */
bool queue_pool_is_blank(int fd);
/* qmgr at start: complete files in free/ that no cleanup holds go back
 * to incoming/ under the queue ID their envelope names; other files that
 * are not blank are emptied. Returns the number of messages recovered. */
size_t queue_pool_recover(void);

#endif
