/*
 * local_deliver.c - the local delivery agent: Postfix local(8) semantics
 * for the domains in mydestination.
 *
 * One recipient at a time, in the root parent:
 *   1. loop check: a "Delivered-To: RCPT" header already in the message
 *      bounces 5.4.6;
 *   2. the local part, lower-cased ("Bob+X" -> "bob+x"), is looked up in
 *      alias_maps as "bob+x", then "bob" (recipient_delimiter);
 *   3. no alias: the user is getpwnam("bob") (unknown: 5.1.1); a
 *      forward_path file ($home/.forward) owned by the user and not
 *      group/world-writable replaces the mailbox with its targets;
 *   4. otherwise the mailbox: home_mailbox under $home ("Maildir/" is a
 *      Maildir, another name an mbox file), or mail_spool_directory/USER
 *      when home_mailbox is empty (created by root for the user, since
 *      users cannot create files in /var/mail).
 * Targets (local_alias.c) recurse: a local name starts again at 2, with
 * alias and .forward loops cut along the current expansion path (an
 * alias that names itself, "bob: bob, archive", reaches bob's mailbox, as
 * in Postfix) and identical deliveries done once per recipient.
 * Addresses in other domains are collected and resubmitted through
 * cleanup as one new message (origin=local, the original sender).
 *
 * Privilege: every mailbox, file, command and .forward/:include: read
 * happens in a child (delivery_run_as) that has become, for good: the
 * user for its mailbox and .forward targets, default_privs for alias
 * targets (the alias database is the admin's), the owner of an :include:
 * file for its targets (unless root: then the includer's). Never root:
 * a delivery that would run as root runs as default_privs, and root's own
 * mailbox is refused (alias root to a person, as Postfix advises).
 * allow_mail_to_commands and allow_mail_to_files decide which sources
 * ("alias", "forward", "include") may name commands and files.
 *
 * The results of one recipient's targets combine: any deferred target
 * defers the recipient (all of it is retried later, so a target may see
 * the message twice, as with Postfix), else any bounce bounces it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "conn.h"
#include "io.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "proto.h"

#define LOCAL_CHILD_TIMEOUT_MS	(15LL * 60 * 1000)
#define LOCAL_READ_TIMEOUT_MS	(60LL * 1000)
#define LOCAL_CLEANUP_TIMEOUT_MS	(5 * 60 * 1000)

struct passwd *(*local_getpwnam)(const char *name) = getpwnam;
struct passwd *(*local_getpwuid)(uid_t uid) = getpwuid;

static struct maplist *local_aliases;
static char *local_alias_error;	/* why alias_maps did not open */

struct local_user {
	uid_t uid;
	gid_t gid;
	char *name;
	char *home;
	char *shell;
};

/* Who runs a target, and where it came from. */
struct local_privs {
	const struct local_user *user;
	enum local_source source;
};

struct local_state {
	struct delivery_request *req;
	struct delivery_rcpt *rcpt;
	struct queue_file *q;
	char *recipient;	/* lower-cased address */
	char *local_part;	/* lower-cased, with extension */
	char *domain;
	char *prepend;		/* Return-Path, Delivered-To */
	const char *path[LOCAL_DEPTH_MAX + 1];	/* "alias:bob" ... */
	size_t depth;
	char **done;		/* deliveries made: "mailbox:bob" ... */
	size_t done_count;
	char **forwards;	/* remote addresses */
	size_t forward_count;
	size_t target_count;
	bool have_result;
	enum delivery_status status;
	char *dsn;
	char *reason;
	struct local_user default_privs;
	bool have_default_privs;
};

void
local_init(void)
{
	char *error = NULL;

	/* A missing alias database defers mail (logged each time) instead
	 * of a crash loop: mail waits until the admin runs newaliases. */
	local_aliases = maplist_open(config_get("alias_maps"), &error);
	if (local_aliases == NULL) {
		log_error("alias_maps: %s", error);
		local_alias_error = error;
	}
}

static void
local_user_release(struct local_user *u)
{
	xfree(&u->name);
	xfree(&u->home);
	xfree(&u->shell);
}

/* 1 found, 0 unknown, -1 the lookup failed (retry later). */
static int
local_user_copy(struct passwd *pw, struct local_user *u)
{
	bool failed = pw == NULL && errno != 0 && (errno == EIO ||
	    errno == EINTR || errno == EMFILE || errno == ENFILE ||
	    errno == ENOMEM || errno == EAGAIN);

	memset(u, 0, sizeof(*u));
	if (pw == NULL)
		return failed ? -1 : 0;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->name = xstrdup(pw->pw_name);
	u->home = xstrdup(pw->pw_dir != NULL ? pw->pw_dir : "/");
	u->shell = xstrdup(pw->pw_shell != NULL ? pw->pw_shell : "");
	return 1;
}

static int
local_user_get(const char *name, struct local_user *u)
{
	errno = 0;
	return local_user_copy(local_getpwnam(name), u);
}

static int
local_user_by_uid(uid_t uid, struct local_user *u)
{
	errno = 0;
	return local_user_copy(local_getpwuid(uid), u);
}

static void
local_result(struct local_state *s, enum delivery_status status,
    const char *dsn, const char *reason)
{
	if (s->have_result && status <= s->status)
		return;
	s->have_result = true;
	s->status = status;
	free(s->dsn);
	free(s->reason);
	s->dsn = xstrdup(dsn);
	s->reason = xstrdup(reason);
}

static void
local_result_rec(struct local_state *s, const struct rec *r)
{
	enum delivery_status status;
	const char *dsn, *reason;

	if (delivery_result_get(r, &status, &dsn, &reason) < 0)
		local_result(s, DELIVERY_DEFERRED, "4.3.0",
		    "delivery process sent no result");
	else
		local_result(s, status, dsn, reason);
}

/* Deliveries are made once per recipient. true when key is new. */
static bool
local_once(struct local_state *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->done_count; i++) {
		if (strcmp(s->done[i], key) == 0)
			return false;
	}
	s->done = xreallocarray(s->done, s->done_count + 1, sizeof(*s->done));
	s->done[s->done_count++] = xstrdup(key);
	return true;
}

static bool
local_on_path(const struct local_state *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->depth; i++) {
		if (strcmp(s->path[i], key) == 0)
			return true;
	}
	return false;
}

static bool
local_domain_is_local(const char *domain)
{
	char **list = config_get_list("mydestination");
	bool found = false;
	size_t i;

	for (i = 0; list[i] != NULL && !found; i++)
		found = strcasecmp(list[i], domain) == 0;
	config_list_free(&list);
	return found;
}

/* The user that alias targets run as. NULL (and a deferral) when
 * default_privs names no usable user. */
static const struct local_user *
local_default_privs(struct local_state *s)
{
	const char *name = config_get("default_privs");
	char *reason;

	if (s->have_default_privs)
		return &s->default_privs;
	if (local_user_get(name, &s->default_privs) <= 0 ||
	    s->default_privs.uid == 0) {
		local_user_release(&s->default_privs);
		reason = xasprintf("default_privs user \"%s\" unknown or root",
		    name);
		log_warn("%s: %s", s->req->qid, reason);
		local_result(s, DELIVERY_DEFERRED, "4.3.5", reason);
		free(reason);
		return NULL;
	}
	s->have_default_privs = true;
	return &s->default_privs;
}

/* The child side of every delivery. */
enum local_job_type {
	LOCAL_JOB_MAILBOX,
	LOCAL_JOB_FILE,
	LOCAL_JOB_COMMAND,
	LOCAL_JOB_READ,
};

struct local_job {
	enum local_job_type type;
	struct local_state *s;
	const char *arg;		/* path or command */
	const char *reason_ok;
	const struct local_user *user;
	const char *extension;
};

static void
local_job_read(const char *path, struct rec *out)
{
	struct buf *text = buf_new(LOCAL_LIST_MAX);
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rec_put(out, "found", "0");
		rec_put_int(out, "errno", errno);
		buf_free(&text);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rec_put(out, "found", "0");
		rec_put_int(out, "errno", EINVAL);
		close(fd);
		buf_free(&text);
		return;
	}
	close(fd);
	if (io_read_file(path, LOCAL_LIST_MAX, text) < 0) {
		rec_put(out, "found", "0");
		rec_put_int(out, "errno", errno);
		buf_free(&text);
		return;
	}
	rec_put(out, "found", "1");
	rec_put_int(out, "uid", st.st_uid);
	rec_put_int(out, "mode", st.st_mode);
	rec_put(out, "text", text->data);
	buf_free(&text);
}

static void
local_job_run(void *ctx, struct rec *out)
{
	struct local_job *job = ctx;
	struct local_state *s = job->s;
	struct local_command_env env;
	char *local_part, *domain;

	switch (job->type) {
	case LOCAL_JOB_MAILBOX:
	case LOCAL_JOB_FILE:
		local_file_deliver(job->arg, s->req->sender, s->prepend, s->q,
		    job->reason_ok, out);
		break;
	case LOCAL_JOB_COMMAND:
		addr_split(s->recipient, &local_part, &domain);
		env.home = job->user->home;
		env.user = job->user->name;
		env.shell = job->user->shell;
		env.sender = s->req->sender;
		env.recipient = s->recipient;
		env.extension = job->extension;
		env.local = local_part;
		env.domain = domain;
		local_command_run(job->arg, &env, s->prepend, s->q,
		    config_get_time("command_time_limit"), out);
		free(local_part);
		free(domain);
		break;
	case LOCAL_JOB_READ:
		local_job_read(job->arg, out);
		break;
	}
}

/* Run job as user; its result goes into r. 0, or -1 after recording a
 * deferral. */
static int
local_run(struct local_state *s, struct local_job *job,
    const struct local_user *user, int64_t timeout_ms, struct rec *r)
{
	struct delivery_user du = { user->uid, user->gid, user->name };
	char *error;

	job->s = s;
	job->user = user;
	if (delivery_run_as(&du, local_job_run, job, timeout_ms, r,
	    &error) < 0) {
		log_warn("%s: %s", s->req->qid, error);
		local_result(s, DELIVERY_DEFERRED, "4.3.0", error);
		free(error);
		return -1;
	}
	return 0;
}

/* The mail spool (/var/mail, root:mail 2775) is not writable by its
 * users: as Postfix does, root creates a missing mailbox file and gives
 * it to the user; the child then appends as the user. */
static void
local_spool_create(struct local_state *s, const char *path,
    const struct local_user *user)
{
	int fd;

	if (geteuid() != 0)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		if (errno != EEXIST)
			log_warn("%s: cannot create %s: %m", s->req->qid, path);
		return;
	}
	if (fchown(fd, user->uid, user->gid) < 0)
		log_warn("%s: cannot chown %s: %m", s->req->qid, path);
	close(fd);
}

static void
local_deliver_mailbox(struct local_state *s, const struct local_user *user)
{
	const char *home_mailbox = config_get("home_mailbox");
	struct local_job job = { .type = LOCAL_JOB_MAILBOX };
	struct rec *r;
	char *key, *path;

	key = xasprintf("mailbox:%s", user->name);
	if (!local_once(s, key)) {
		free(key);
		return;
	}
	free(key);
	if (user->uid == 0) {
		log_warn("%s: refusing to deliver to root's mailbox: alias "
		    "root to a user", s->req->qid);
		local_result(s, DELIVERY_DEFERRED, "4.3.0",
		    "will not deliver to root's mailbox: alias root to a user");
		return;
	}
	if (home_mailbox[0] != '\0') {
		path = xasprintf("%s/%s", user->home, home_mailbox);
	} else {
		path = xasprintf("%s/%s", config_get("mail_spool_directory"),
		    user->name);
		local_spool_create(s, path, user);
	}
	job.arg = path;
	job.reason_ok = path[strlen(path) - 1] == '/' ?
	    "delivered to maildir" : "delivered to mailbox";
	r = rec_new();
	if (local_run(s, &job, user, LOCAL_CHILD_TIMEOUT_MS, r) == 0)
		local_result_rec(s, r);
	rec_free(&r);
	free(path);
}

static void
local_deliver_target(struct local_state *s, enum local_target_type type,
    const char *value, const struct local_privs *privs, const char *ext)
{
	struct local_job job = { .extension = ext };
	const struct local_user *user = privs->user;
	char *key, *reason;
	struct rec *r;
	bool command = type == LOCAL_TARGET_COMMAND;

	if (!local_source_allowed(config_get(command ?
	    "allow_mail_to_commands" : "allow_mail_to_files"),
	    privs->source)) {
		local_result(s, DELIVERY_BOUNCED, "5.7.1", command ?
		    "mail to command is restricted" :
		    "mail to file is restricted");
		return;
	}
	if (user->uid == 0 && (user = local_default_privs(s)) == NULL)
		return;
	key = xasprintf("%s:%ld:%s", command ? "command" : "file",
	    (long)user->uid, value);
	if (!local_once(s, key)) {
		free(key);
		return;
	}
	free(key);
	job.type = command ? LOCAL_JOB_COMMAND : LOCAL_JOB_FILE;
	job.arg = value;
	reason = xasprintf("delivered to %s: %s", command ? "command" : "file",
	    value);
	job.reason_ok = reason;
	r = rec_new();
	if (local_run(s, &job, user, command ?
	    (config_get_time("command_time_limit") + 60) * 1000 :
	    LOCAL_CHILD_TIMEOUT_MS, r) == 0)
		local_result_rec(s, r);
	rec_free(&r);
	free(reason);
}

/* Read a .forward or :include: file as user. 1 read (text, owner, mode
 * set), 0 not there, -1 deferral recorded. */
static int
local_read_as(struct local_state *s, const struct local_user *user,
    const char *path, char **text_r, uid_t *owner_r, mode_t *mode_r)
{
	struct local_job job = { .type = LOCAL_JOB_READ, .arg = path };
	struct rec *r = rec_new();
	const char *found, *text;
	long long uid, mode, error = 0;
	char *reason;
	int ret = -1;

	if (local_run(s, &job, user, LOCAL_READ_TIMEOUT_MS, r) < 0) {
		rec_free(&r);
		return -1;
	}
	found = rec_get(r, "found");
	text = rec_get(r, "text");
	if (found != NULL && strcmp(found, "1") == 0 && text != NULL &&
	    rec_get_int(r, "uid", 0, 0xffffffffLL, &uid) == 0 &&
	    rec_get_int(r, "mode", 0, 0xffffffffLL, &mode) == 0) {
		*text_r = xstrdup(text);
		*owner_r = (uid_t)uid;
		*mode_r = (mode_t)mode;
		ret = 1;
	} else if (found != NULL && strcmp(found, "0") == 0 &&
	    (rec_get_int(r, "errno", 0, 100000, &error) < 0 ||
	    error == ENOENT || error == ENOTDIR || error == EACCES ||
	    error == EINVAL || error == ELOOP)) {
		if (error == EACCES || error == EINVAL)
			log_warn("%s: ignoring %s: %s", s->req->qid, path,
			    error == EACCES ? "permission denied" :
			    "not a regular file");
		ret = 0;
	} else {
		reason = xasprintf("cannot read %s: %s", path,
		    strerror((int)error));
		local_result(s, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
	}
	rec_free(&r);
	return ret;
}

static void local_deliver_name(struct local_state *, const char *);
static void local_expand(struct local_state *, const char *,
    const struct local_privs *, const char *, const char *);

static void
local_include(struct local_state *s, const char *path,
    const struct local_privs *privs, const char *ext)
{
	struct local_user owner_user;
	struct local_privs inc = { privs->user, LOCAL_SOURCE_INCLUDE };
	char *text = NULL, *key;
	uid_t owner;
	mode_t mode;
	int found;

	key = xasprintf("include:%s", path);
	if (local_on_path(s, key)) {
		free(key);
		return;
	}
	if (!local_source_allowed(config_get("allow_mail_to_files"),
	    privs->source) && !local_source_allowed(
	    config_get("allow_mail_to_commands"), privs->source)) {
		free(key);
		local_result(s, DELIVERY_BOUNCED, "5.7.1",
		    ":include: is restricted");
		return;
	}
	if ((found = local_read_as(s, privs->user, path, &text, &owner,
	    &mode)) <= 0) {
		free(key);
		if (found == 0) {
			char *reason = xasprintf("cannot open include file "
			    "%s", path);

			local_result(s, DELIVERY_BOUNCED, "5.3.0", reason);
			free(reason);
		}
		return;
	}
	memset(&owner_user, 0, sizeof(owner_user));
	if (owner != 0) {
		/* Postfix: an include file's targets run as its owner. */
		if (local_user_by_uid(owner, &owner_user) <= 0) {
			char *reason = xasprintf("include file %s: owner %ld "
			    "unknown", path, (long)owner);

			local_result(s, DELIVERY_DEFERRED, "4.3.0", reason);
			free(reason);
			free(text);
			free(key);
			return;
		}
		inc.user = &owner_user;
	}
	local_expand(s, text, &inc, key, ext);
	local_user_release(&owner_user);
	free(text);
	free(key);
}

/* Substitute $home, $user, $shell, $local, $domain, $extension,
 * $recipient, $recipient_delimiter (also ${name}) in one forward_path
 * entry. NULL when a name is unknown or empty: the entry is skipped, as
 * in Postfix. */
static char *
local_forward_expand(const char *pattern, const struct local_state *s,
    const struct local_user *user, const char *ext)
{
	struct buf *out = buf_new(4096);
	const char *p = pattern;
	char *result = NULL;

	while (*p != '\0') {
		const char *name, *value = NULL;
		size_t len;

		if (*p != '$') {
			if (buf_add_char(out, *p++) < 0)
				goto out;
			continue;
		}
		p++;
		if (*p == '{') {
			name = ++p;
			while (*p != '\0' && *p != '}')
				p++;
			if (*p != '}')
				goto out;
			len = (size_t)(p++ - name);
		} else {
			name = p;
			while (*p == '_' || (*p >= 'a' && *p <= 'z'))
				p++;
			len = (size_t)(p - name);
		}
#define LOCAL_IS(n) (len == strlen(n) && strncmp(name, n, len) == 0)
		if (LOCAL_IS("home"))
			value = user->home;
		else if (LOCAL_IS("user"))
			value = user->name;
		else if (LOCAL_IS("shell"))
			value = user->shell;
		else if (LOCAL_IS("local"))
			value = s->local_part;
		else if (LOCAL_IS("domain"))
			value = s->domain;
		else if (LOCAL_IS("extension"))
			value = ext;
		else if (LOCAL_IS("recipient"))
			value = s->recipient;
		else if (LOCAL_IS("recipient_delimiter"))
			value = config_get("recipient_delimiter");
#undef LOCAL_IS
		if (value == NULL || value[0] == '\0' ||
		    buf_add_str(out, value) < 0)
			goto out;
	}
	result = buf_strdup(out);
out:
	buf_free(&out);
	return result;
}

/* The user's forward_path file, if usable. 1 handled, 0 none, -1
 * deferral recorded. */
static int
local_forward(struct local_state *s, const struct local_user *user,
    const char *ext)
{
	const char *raw = config_get_raw("forward_path");
	struct local_privs privs = { user, LOCAL_SOURCE_FORWARD };
	char **paths, *key, *path, *text;
	uid_t owner;
	mode_t mode;
	int found = 0;
	size_t i;

	key = xasprintf("forward:%s", user->name);
	if (local_on_path(s, key)) {
		free(key);
		return 0;
	}
	paths = config_split_list(raw != NULL ? raw : "$home/.forward");
	for (i = 0; paths[i] != NULL && found == 0; i++) {
		if ((path = local_forward_expand(paths[i], s, user,
		    ext)) == NULL)
			continue;
		found = local_read_as(s, user, path, &text, &owner, &mode);
		if (found == 1 && (owner != user->uid || (mode & 022) != 0)) {
			log_warn("%s: ignoring %s: not owned by %s or "
			    "writable by others", s->req->qid, path,
			    user->name);
			free(text);
			found = 0;
		} else if (found == 1) {
			char **targets;
			const char *error;

			/* An empty .forward means the mailbox. */
			targets = local_list_parse(text, &error);
			if (targets != NULL && targets[0] == NULL)
				found = 0;
			config_list_free(&targets);
			if (found == 1)
				local_expand(s, text, &privs, key, ext);
			free(text);
		}
		free(path);
	}
	config_list_free(&paths);
	free(key);
	return found;
}

/* A local name ("bob+x"): alias, else user with .forward or mailbox. */
static void
local_deliver_name(struct local_state *s, const char *name)
{
	const char *delimiter = config_get("recipient_delimiter");
	const struct local_user *privs_user;
	struct local_user user;
	char *base, *ext, *key, *value = NULL, *reason;
	int found = 0;

	addr_split_extension(name, delimiter, &base, &ext);
	key = xasprintf("alias:%s", name);
	if (local_aliases == NULL) {
		reason = xasprintf("alias database unavailable: %s",
		    local_alias_error != NULL ? local_alias_error : "not open");
		local_result(s, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
		goto out;
	}
	if (!maplist_empty(local_aliases) && !local_on_path(s, key)) {
		found = maplist_lookup(local_aliases, name, &value);
		if (found == 0 && ext != NULL) {
			free(key);
			key = xasprintf("alias:%s", base);
			if (!local_on_path(s, key))
				found = maplist_lookup(local_aliases, base,
				    &value);
		}
		if (found < 0) {
			local_result(s, DELIVERY_DEFERRED, "4.3.0",
			    "alias database unavailable");
			goto out;
		}
		if (found > 0) {
			if ((privs_user = local_default_privs(s)) != NULL) {
				struct local_privs privs = { privs_user,
				    LOCAL_SOURCE_ALIAS };

				local_expand(s, value, &privs, key, ext);
			}
			goto out;
		}
	}
	found = local_user_get(base, &user);
	if (found < 0) {
		local_result(s, DELIVERY_DEFERRED, "4.3.0",
		    "password database unavailable");
		goto out;
	}
	if (found == 0) {
		reason = xasprintf("unknown user: \"%s\"", base);
		local_result(s, DELIVERY_BOUNCED, "5.1.1", reason);
		free(reason);
		goto out;
	}
	if (local_forward(s, &user, ext) == 0)
		local_deliver_mailbox(s, &user);
	local_user_release(&user);
out:
	free(value);
	free(key);
	free(base);
	free(ext);
}

/* Deliver to every target in text, which came from key (pushed on the
 * expansion path meanwhile). */
static void
local_expand(struct local_state *s, const char *text,
    const struct local_privs *privs, const char *key, const char *ext)
{
	struct local_target t;
	struct local_user user;
	const char *error;
	char **targets, *reason;
	size_t i;

	if (s->depth >= LOCAL_DEPTH_MAX) {
		reason = xasprintf("alias/forward expansion deeper than %d "
		    "levels at %s", LOCAL_DEPTH_MAX, key);
		local_result(s, DELIVERY_BOUNCED, "5.4.6", reason);
		free(reason);
		return;
	}
	if ((targets = local_list_parse(text, &error)) == NULL) {
		reason = xasprintf("%s: %s", key, error);
		log_warn("%s: %s", s->req->qid, reason);
		local_result(s, DELIVERY_DEFERRED, "4.3.5", reason);
		free(reason);
		return;
	}
	s->path[s->depth++] = key;
	for (i = 0; targets[i] != NULL; i++) {
		if (++s->target_count > LOCAL_TARGETS_MAX) {
			local_result(s, DELIVERY_BOUNCED, "5.4.6",
			    "too many alias/forward targets");
			break;
		}
		if (local_target_classify(targets[i], local_domain_is_local,
		    &t, &error) < 0) {
			reason = xasprintf("%s: bad target \"%s\": %s", key,
			    targets[i], error);
			log_warn("%s: %s", s->req->qid, reason);
			local_result(s, DELIVERY_DEFERRED, "4.3.5", reason);
			free(reason);
			continue;
		}
		switch (t.type) {
		case LOCAL_TARGET_COMMAND:
		case LOCAL_TARGET_FILE:
			local_deliver_target(s, t.type, t.value, privs, ext);
			break;
		case LOCAL_TARGET_INCLUDE:
			local_include(s, t.value, privs, ext);
			break;
		case LOCAL_TARGET_MAILBOX:
			switch (local_user_get(t.value, &user)) {
			case 1:
				local_deliver_mailbox(s, &user);
				local_user_release(&user);
				break;
			case 0:
				reason = xasprintf("unknown user: \"%s\"",
				    t.value);
				local_result(s, DELIVERY_BOUNCED, "5.1.1",
				    reason);
				free(reason);
				break;
			default:
				local_result(s, DELIVERY_DEFERRED, "4.3.0",
				    "password database unavailable");
				break;
			}
			break;
		case LOCAL_TARGET_LOCAL:
			local_deliver_name(s, t.value);
			break;
		case LOCAL_TARGET_REMOTE:
			reason = addr_lower(t.value);
			if (local_once(s, reason) ) {
				s->forwards = xreallocarray(s->forwards,
				    s->forward_count + 1, sizeof(*s->forwards));
				s->forwards[s->forward_count++] =
				    xstrdup(t.value);
			}
			free(reason);
			break;
		}
		local_target_release(&t);
	}
	s->depth--;
	config_list_free(&targets);
}

struct local_forward_ctx {
	struct conn *c;
};

static int
local_forward_chunk(void *ctx, const char *data, size_t len)
{
	struct local_forward_ctx *f = ctx;

	return len == 0 ? 0 : rec_write_chunk(f->c, data, len);
}

static void
local_forward_reply(struct local_state *s, const struct rec *r,
    const char *what)
{
	const char *status = rec_get(r, "status");
	const char *dsn = rec_get(r, "dsn"), *text = rec_get(r, "text");
	char *reason;

	reason = xasprintf("cannot forward (%s): %s", what,
	    text != NULL ? text : status != NULL ? status : "no status");
	local_result(s, status != NULL && status[0] == '5' ?
	    DELIVERY_BOUNCED : DELIVERY_DEFERRED,
	    dsn != NULL ? dsn : status != NULL && status[0] == '5' ?
	    "5.3.0" : "4.3.0", reason);
	free(reason);
}

/* Resubmit the message to the collected remote addresses as one new
 * message through cleanup, with our Delivered-To on top. */
static void
local_forward_send(struct local_state *s)
{
	struct local_forward_ctx f;
	struct rec *r;
	const char *status, *qid, *value;
	char *line, *reason;
	size_t i;
	int fd;

	if (s->forward_count == 0)
		return;
	if ((fd = io_unix_connect(PROTO_CLEANUP_PATH)) < 0) {
		reason = xasprintf("cannot forward: connect to %s: %s",
		    PROTO_CLEANUP_PATH, strerror(errno));
		local_result(s, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
		return;
	}
	f.c = conn_new(fd, LOCAL_CLEANUP_TIMEOUT_MS);
	r = rec_new();
	rec_put(r, "proto", PROTO_CLEANUP);
	rec_put(r, "origin", "local");
	rec_put(r, "sender", s->req->sender);
	if ((value = queue_get(s->q, "ret")) != NULL)
		rec_put(r, "ret", value);
	if ((value = queue_get(s->q, "envid")) != NULL)
		rec_put(r, "envid", value);
	if ((value = queue_get(s->q, "body")) != NULL)
		rec_put(r, "body", value);
	if ((value = queue_get(s->q, "smtputf8")) != NULL)
		rec_put(r, "smtputf8", value);
	for (i = 0; i < s->forward_count; i++)
		rec_put(r, "rcpt", s->forwards[i]);
	if (rec_write(f.c, r) < 0 || rec_read(f.c, r) < 0) {
		local_result(s, DELIVERY_DEFERRED, "4.3.0",
		    "cannot forward: cleanup not answering");
		goto out;
	}
	if ((status = rec_get(r, "status")) == NULL ||
	    strcmp(status, "ok") != 0) {
		local_forward_reply(s, r, "request");
		goto out;
	}
	line = xasprintf("Delivered-To: %s\n", s->recipient);
	if (rec_write_chunk(f.c, line, strlen(line)) < 0 ||
	    queue_read_content(s->q, local_forward_chunk, &f) < 0 ||
	    rec_write_chunk(f.c, NULL, 0) < 0 || rec_read(f.c, r) < 0) {
		free(line);
		local_result(s, DELIVERY_DEFERRED, "4.3.0",
		    "cannot forward: lost connection to cleanup");
		goto out;
	}
	free(line);
	if ((status = rec_get(r, "status")) == NULL ||
	    strcmp(status, "ok") != 0 || (qid = rec_get(r, "qid")) == NULL) {
		local_forward_reply(s, r, "content");
		goto out;
	}
	reason = xasprintf("forwarded as %s", qid);
	log_info("%s: forwarded as %s", s->req->qid, qid);
	local_result(s, DELIVERY_SENT, "2.0.0", reason);
	free(reason);
out:
	rec_free(&r);
	conn_free(&f.c);
}

static void
local_state_release(struct local_state *s)
{
	size_t i;

	for (i = 0; i < s->done_count; i++)
		free(s->done[i]);
	free(s->done);
	for (i = 0; i < s->forward_count; i++)
		free(s->forwards[i]);
	free(s->forwards);
	free(s->recipient);
	free(s->local_part);
	free(s->domain);
	free(s->prepend);
	free(s->dsn);
	free(s->reason);
	if (s->have_default_privs)
		local_user_release(&s->default_privs);
}

static void
local_deliver_rcpt(struct delivery_request *req, struct delivery_rcpt *rcpt,
    struct queue_file *q)
{
	struct local_state s;
	char *reason;
	int loop;

	memset(&s, 0, sizeof(s));
	s.req = req;
	s.rcpt = rcpt;
	s.q = q;
	s.recipient = addr_lower(rcpt->address);
	addr_split(s.recipient, &s.local_part, &s.domain);
	s.prepend = xasprintf("Return-Path: <%s>\nDelivered-To: %s\n",
	    req->sender, s.recipient);

	if ((loop = delivery_header_has(q, "Delivered-To", s.recipient)) < 0) {
		delivery_set(rcpt, DELIVERY_DEFERRED, "4.3.0",
		    "cannot read queue file");
	} else if (loop > 0) {
		delivery_set(rcpt, DELIVERY_BOUNCED, "5.4.6",
		    "mail forwarding loop for %s", s.recipient);
	} else if (s.local_part[0] == '\0') {
		delivery_set(rcpt, DELIVERY_BOUNCED, "5.1.3",
		    "empty local part");
	} else {
		local_deliver_name(&s, s.local_part);
		/* Forward only when nothing needs a retry: a deferred
		 * recipient is delivered again later, forwards included. */
		if (!s.have_result || s.status != DELIVERY_DEFERRED)
			local_forward_send(&s);
		if (!s.have_result) {
			reason = xasprintf("no deliverable targets for %s",
			    s.recipient);
			local_result(&s, DELIVERY_BOUNCED, "5.1.1", reason);
			free(reason);
		}
		delivery_set(rcpt, s.status, s.dsn, "%s", s.reason);
	}
	local_state_release(&s);
}

static void
local_deliver(struct delivery_request *req, struct queue_file *q)
{
	size_t i;

	for (i = 0; i < req->rcpt_count; i++)
		local_deliver_rcpt(req, &req->rcpts[i], q);
}

void
local_service(int fd)
{
	delivery_serve(fd, "local", local_deliver);
}
