/*
 * cleanup_service.h - the cleanup/1 conversation (lib/proto.h).
 */
#ifndef CLEANUP_SERVICE_H
#define CLEANUP_SERVICE_H

/* Read main.cf parameters and open header_checks and virtual_alias_maps
 * (before the jail). Fatal when a table cannot be opened. */
void cleanup_pre_jail(void);
/* Serve one client connection on fd (the caller closes fd). */
void cleanup_service(int fd);

#endif
