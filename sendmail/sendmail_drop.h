/*
 * sendmail_drop.h - write a message into maildrop/ for pickup.
 */
#ifndef SENDMAIL_DROP_H
#define SENDMAIL_DROP_H

#include <stddef.h>

#include "rec.h"

struct sendmail_drop;

/* Create a file in dir ("maildrop") under a temporary name starting
 * with "." and write the envelope: proto=queue/1, qid (the final name),
 * then env's attributes. size_limit 0: none. NULL with errno. */
struct sendmail_drop *sendmail_drop_open(const char *dir,
    const struct rec *env, size_t size_limit);
/* Content bytes (LF line ends). -1 with errno (EFBIG past the limit). */
int sendmail_drop_content(struct sendmail_drop *d, const void *data,
    size_t len);
/* The 0 chunk and end record, fsync, rename to dir/NAME, fsync dir.
 * Frees d; *name_r is a fresh copy of NAME. 0 or -1 with errno (the
 * temporary file is removed). */
int sendmail_drop_commit(struct sendmail_drop **d_r, char **name_r);
/* Remove the temporary file and free d. */
void sendmail_drop_abort(struct sendmail_drop **d_r);

/* Tell pickup (socket path pickup_path) to scan now; failure is fine:
 * pickup scans maildrop/ every second while it runs. */
void sendmail_poke_pickup(const char *pickup_path);

#endif
