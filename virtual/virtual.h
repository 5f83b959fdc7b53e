/*
 * virtual.h - the virtual delivery agent's modules (private to virtual/).
 */
#ifndef POSTERN_VIRTUAL_H
#define POSTERN_VIRTUAL_H

#include <stdbool.h>

/* Open virtual_mailbox_maps, virtual_uid_maps, virtual_gid_maps
 * (pre_jail). */
void virtual_init(void);
/* The service function (lib/server.h .service). */
void virtual_service(int fd);
/* Is value a safe mailbox path relative to virtual_mailbox_base (not
 * absolute, no ".." component, not empty)? */
bool virtual_path_safe(const char *value);

#endif
