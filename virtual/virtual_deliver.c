/*
 * virtual_deliver.c - the virtual delivery agent: Postfix virtual(8) for
 * the domains in virtual_mailbox_domains (hosting: users with no system
 * account).
 *
 * For "User+Ext@Example.COM" the tables virtual_mailbox_maps,
 * virtual_uid_maps and virtual_gid_maps are each asked for
 * "user+ext@example.com", then "user@example.com", then "@example.com"
 * (a catch-all), all lower-cased. The mailbox is virtual_mailbox_base/
 * VALUE; VALUE must end in "/" (Maildir; mbox is not supported and
 * bounces 5.3.5) and may not be absolute or hold "..". The uid must not
 * be 0 nor below virtual_minimum_uid (a configuration error: deferred
 * 4.3.0, so nothing is lost while the admin fixes it).
 *
 * Delivery runs in this process with the recipient's effective uid/gid
 * (no supplementary groups) and becomes root again afterwards, as
 * Postfix's virtual(8) does: it runs no program, so a fork per message
 * would buy nothing but cost. Through lib/maildir.h. A message that already
 * has "Delivered-To: RCPT" bounces 5.4.6 as in local.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "delivery.h"
#include "log.h"
#include "maildir.h"
#include "maps.h"
#include "mem.h"
#include "virtual.h"


static struct maplist *virtual_mailbox_maps;
static struct maplist *virtual_uid_maps;
static struct maplist *virtual_gid_maps;
static const char *virtual_unavailable;	/* a table that did not open */

static struct maplist *
virtual_open(const char *name)
{
	struct maplist *l;
	char *error = NULL;

	/* A table that does not open defers mail (virtual_unavailable)
	 * instead of a crash loop. */
	if ((l = maplist_open(config_get(name), &error)) == NULL) {
		log_error("%s: %s", name, error);
		free(error);
		virtual_unavailable = name;
	}
	return l;
}

void
virtual_init(void)
{
	virtual_mailbox_maps = virtual_open("virtual_mailbox_maps");
	virtual_uid_maps = virtual_open("virtual_uid_maps");
	virtual_gid_maps = virtual_open("virtual_gid_maps");
}

bool
virtual_path_safe(const char *value)
{
	const char *p;

	if (value[0] == '\0' || value[0] == '/')
		return false;
	for (p = value; *p != '\0'; p++) {
		if (p[0] == '.' && p[1] == '.' &&
		    (p == value || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	return true;
}

/* The keys to try, most specific first; NULL entries are skipped. */
struct virtual_keys {
	char *key[3];
};

static void
virtual_keys_make(const char *address, struct virtual_keys *k)
{
	char *lower = addr_lower(address), *local_part, *domain, *base, *ext;

	addr_split(lower, &local_part, &domain);
	addr_split_extension(local_part, config_get("recipient_delimiter"),
	    &base, &ext);
	k->key[0] = lower;
	k->key[1] = ext != NULL ? xasprintf("%s@%s", base, domain) : NULL;
	k->key[2] = xasprintf("@%s", domain);
	free(local_part);
	free(domain);
	free(base);
	free(ext);
}

static void
virtual_keys_release(struct virtual_keys *k)
{
	size_t i;

	for (i = 0; i < 3; i++)
		xfree(&k->key[i]);
}

static int
virtual_lookup(struct maplist *l, const struct virtual_keys *k,
    char **value_r)
{
	size_t i;
	int found;

	for (i = 0; i < 3; i++) {
		if (k->key[i] == NULL)
			continue;
		if ((found = maplist_lookup(l, k->key[i], value_r)) != 0)
			return found;
	}
	return 0;
}

/* A uid or gid from a table value. -1 when not a number. */
static long long
virtual_id(const char *value)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || id < 0 ||
	    id > 0x7fffffffLL)
		return -1;
	return id;
}

struct virtual_job {
	const char *path;
	const char *prepend;
	struct queue_file *q;
};

static void
virtual_job_run(void *ctx, struct rec *out)
{
	struct virtual_job *job = ctx;
	char *error;
	bool temporary;

	if (maildir_deliver(job->path, job->prepend, job->q, &error,
	    &temporary) < 0) {
		delivery_result_put(out, temporary ? DELIVERY_DEFERRED :
		    DELIVERY_BOUNCED, temporary ? "4.2.0" : "5.2.0", error);
		free(error);
		return;
	}
	delivery_result_put(out, DELIVERY_SENT, "2.0.0",
	    "delivered to maildir");
}

static void
virtual_deliver_rcpt(struct delivery_request *req, struct delivery_rcpt *rcpt,
    struct queue_file *q)
{
	const char *base = config_get("virtual_mailbox_base");
	long long min_uid = config_get_int("virtual_minimum_uid"), uid, gid;
	struct virtual_keys keys;
	struct virtual_job job = { .q = q };
	struct delivery_user user;
	enum delivery_status status;
	const char *dsn, *reason;
	char *recipient, *mailbox = NULL, *uid_value = NULL, *gid_value = NULL;
	char *path = NULL, *prepend = NULL, *error;
	struct rec *r = NULL;
	int found;

	recipient = addr_lower(rcpt->address);
	virtual_keys_make(rcpt->address, &keys);
	if ((found = delivery_header_has(q, "Delivered-To", recipient)) != 0) {
		if (found < 0)
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "cannot read queue file");
		else
			delivery_set(rcpt, DELIVERY_BOUNCED, "5.4.6",
			    "mail forwarding loop for %s", recipient);
		goto out;
	}
	if (virtual_unavailable != NULL) {
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
		    "%s unavailable", virtual_unavailable);
		goto out;
	}
	if ((found = virtual_lookup(virtual_mailbox_maps, &keys,
	    &mailbox)) <= 0) {
		if (found < 0)
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "virtual_mailbox_maps lookup failed");
		else
			delivery_set(rcpt, DELIVERY_BOUNCED, "5.1.1",
			    "unknown user: \"%s\"", recipient);
		goto out;
	}
	if (!virtual_path_safe(mailbox)) {
		log_warn("%s: virtual_mailbox_maps: bad mailbox \"%s\" for "
		    "%s", req->qid, mailbox, recipient);
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.5",
		    "bad mailbox path in virtual_mailbox_maps");
		goto out;
	}
	if (mailbox[strlen(mailbox) - 1] != '/') {
		delivery_set(rcpt, DELIVERY_BOUNCED, "5.3.5",
		    "mbox delivery not supported");
		goto out;
	}
	if (base[0] == '\0') {
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.5",
		    "virtual_mailbox_base is not set");
		goto out;
	}
	if ((found = virtual_lookup(virtual_uid_maps, &keys,
	    &uid_value)) <= 0 || (uid = virtual_id(uid_value)) <= 0 ||
	    uid < min_uid) {
		if (found < 0)
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "virtual_uid_maps lookup failed");
		else
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "recipient %s: invalid uid \"%s\" in "
			    "virtual_uid_maps (minimum %lld)", recipient,
			    uid_value != NULL ? uid_value : "", min_uid);
		goto out;
	}
	if ((found = virtual_lookup(virtual_gid_maps, &keys,
	    &gid_value)) <= 0 || (gid = virtual_id(gid_value)) < 0) {
		if (found < 0)
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "virtual_gid_maps lookup failed");
		else
			delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
			    "recipient %s: invalid gid \"%s\" in "
			    "virtual_gid_maps", recipient,
			    gid_value != NULL ? gid_value : "");
		goto out;
	}
	path = xasprintf("%s/%s", base, mailbox);
	prepend = xasprintf("Return-Path: <%s>\nDelivered-To: %s\n",
	    req->sender, recipient);
	job.path = path;
	job.prepend = prepend;
	user.uid = (uid_t)uid;
	user.gid = (gid_t)gid;
	user.name = NULL;
	r = rec_new();
	/* Effective ids only, no fork: virtual runs no program and follows
	 * no user-controlled instructions, like Postfix's virtual(8). */
	if (delivery_as_user(&user, virtual_job_run, &job, r, &error) < 0) {
		log_warn("%s: %s", req->qid, error);
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0", "%s", error);
		free(error);
	} else if (delivery_result_get(r, &status, &dsn, &reason) < 0) {
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
		    "delivery process sent no result");
	} else {
		delivery_set(rcpt, status, dsn, "%s", reason);
	}
out:
	rec_free(&r);
	free(recipient);
	free(mailbox);
	free(uid_value);
	free(gid_value);
	free(path);
	free(prepend);
	virtual_keys_release(&keys);
}

static void
virtual_deliver(struct delivery_request *req, struct queue_file *q)
{
	size_t i;

	for (i = 0; i < req->rcpt_count; i++)
		virtual_deliver_rcpt(req, &req->rcpts[i], q);
}

void
virtual_service(int fd)
{
	delivery_serve(fd, "virtual", virtual_deliver);
}
