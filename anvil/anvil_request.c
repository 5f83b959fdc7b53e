/*
 * anvil_request.c - check anvil/1 requests and build replies (see
 * anvil_request.h).
 */
#include <string.h>

#include "anvil_request.h"
#include "proto.h"

static const struct {
	const char *name;
	enum anvil_event event;
} anvil_requests[] = {
	{ "connect", ANVIL_CONNECT },
	{ "disconnect", ANVIL_DISCONNECT },
	{ "message", ANVIL_MESSAGE },
	{ "rcpt", ANVIL_RCPT },
	{ "auth", ANVIL_AUTH },
	{ "auth_fail", ANVIL_AUTH_FAIL },
	{ "newtls", ANVIL_NEWTLS },
	{ "lookup", ANVIL_LOOKUP },
};

const char *
anvil_request_name(enum anvil_event event)
{
	size_t i;

	for (i = 0; i < sizeof(anvil_requests) / sizeof(anvil_requests[0]); i++)
		if (anvil_requests[i].event == event)
			return anvil_requests[i].name;
	return "unknown";
}

static bool
anvil_name_ok(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len > ANVIL_NAME_MAX)
		return false;
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch <= 0x20 || ch >= 0x7f)
			return false;
	}
	return true;
}

int
anvil_request_parse(const struct rec *r, struct anvil_request *out,
    const char **error_r)
{
	const char *request = NULL;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	if (r->count == 0 || strcmp(r->attrs[0].name, "proto") != 0 ||
	    strcmp(r->attrs[0].value, PROTO_ANVIL) != 0) {
		*error_r = "expected proto=" PROTO_ANVIL " first";
		return -1;
	}
	for (i = 1; i < r->count; i++) {
		const char *name = r->attrs[i].name, **slot;

		if (strcmp(name, "request") == 0)
			slot = &request;
		else if (strcmp(name, "service") == 0)
			slot = &out->service;
		else if (strcmp(name, "ident") == 0)
			slot = &out->ident;
		else {
			*error_r = "unknown attribute";
			return -1;
		}
		if (*slot != NULL) {
			*error_r = "repeated attribute";
			return -1;
		}
		*slot = r->attrs[i].value;
	}
	if (request == NULL || out->service == NULL || out->ident == NULL) {
		*error_r = "request, service and ident are required";
		return -1;
	}
	if (!anvil_name_ok(out->service) || !anvil_name_ok(out->ident)) {
		*error_r = "bad service or ident";
		return -1;
	}
	for (j = 0; j < sizeof(anvil_requests) / sizeof(anvil_requests[0]);
	    j++)
		if (strcmp(request, anvil_requests[j].name) == 0) {
			out->event = anvil_requests[j].event;
			return 0;
		}
	*error_r = "unknown request";
	return -1;
}

void
anvil_request_reply(struct rec *reply, const struct anvil_counts *c)
{
	rec_reset(reply);
	rec_put(reply, "proto", PROTO_ANVIL);
	rec_put(reply, "status", "ok");
	rec_put_int(reply, "count", c->count);
	rec_put_int(reply, "rate", c->rate);
	rec_put_int(reply, "message", c->message);
	rec_put_int(reply, "rcpt", c->rcpt);
	rec_put_int(reply, "auth", c->auth);
	rec_put_int(reply, "auth_fail", c->auth_fail);
	rec_put_int(reply, "newtls", c->newtls);
}

void
anvil_request_error(struct rec *reply, const char *text)
{
	rec_reset(reply);
	rec_put(reply, "proto", PROTO_ANVIL);
	rec_put(reply, "status", "error");
	rec_put(reply, "text", text);
}
