/*
 * anvil_request.h - the anvil/1 conversation of lib/proto.h: check one
 * request record, build its reply.
 *
 * Requests come from postern's own smtpd processes, but a strict reader
 * costs nothing: the first attribute must be proto=anvil/1, then request,
 * service and ident exactly once each and nothing else. service and ident
 * are 1 to ANVIL_NAME_MAX printable bytes without spaces (a service may
 * be "127.0.0.1:2525").
 */
#ifndef ANVIL_REQUEST_H
#define ANVIL_REQUEST_H

#include "anvil_table.h"
#include "rec.h"

#define ANVIL_NAME_MAX	255

struct anvil_request {
	enum anvil_event event;
	const char *service;	/* point into the record */
	const char *ident;
};

/* Check r and fill *out. 0, or -1 with *error_r a static text for the
 * status=error reply. */
int anvil_request_parse(const struct rec *r, struct anvil_request *out,
    const char **error_r);
/* The request word of an event ("connect", "auth_fail"). */
const char *anvil_request_name(enum anvil_event event);
/* Replace reply with proto=anvil/1, status=ok and the counters. */
void anvil_request_reply(struct rec *reply, const struct anvil_counts *c);
/* Replace reply with proto=anvil/1, status=error, text. */
void anvil_request_error(struct rec *reply, const char *text);

#endif
