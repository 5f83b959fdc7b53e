/*
 * sendmail_submit.c - queue a message read from standard input.
 *
 * The envelope goes into maildrop/ as sendmail wrote it: sender (-f, or
 * the invoking user's login name @$myorigin), full_name (-F, else the
 * passwd gecos field), extract_recipients=1 for -t, ret/envid (-R/-V),
 * and the recipients, each with notify (-N). pickup adds the uid from the
 * file's owner; cleanup adds From/Date/Message-ID and does -t.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "mem.h"
#include "proto.h"
#include "sendmail_drop.h"
#include "sendmail_submit.h"

char *
sendmail_default_sender(const struct sendmail_site *site)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw == NULL || pw->pw_name == NULL || *pw->pw_name == '\0')
		return xasprintf("uid%lu@%s", (unsigned long)getuid(),
		    site->myorigin);
	return xasprintf("%s@%s", pw->pw_name, site->myorigin);
}

/* The gecos field up to the first comma, or NULL. */
static char *
sendmail_gecos_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	size_t n;

	if (pw == NULL || pw->pw_gecos == NULL)
		return NULL;
	n = strcspn(pw->pw_gecos, ",");
	return n > 0 ? xstrndup(pw->pw_gecos, n) : NULL;
}

int
sendmail_write_message(struct sendmail_reader *r,
    struct sendmail_message *m, const struct rec *env, size_t size_limit,
    char **name_r)
{
	struct sendmail_drop *d = sendmail_drop_open("maildrop", env,
	    size_limit);
	struct buf *line, *out;
	bool complete, too_big = false;
	int rc, saved;

	if (d == NULL)
		return -1;
	line = buf_new(SENDMAIL_LINE_MAX);
	out = buf_new(SENDMAIL_LINE_MAX + 1);
	while ((rc = sendmail_read_line(r, line, &complete)) > 0) {
		buf_reset(out);
		if ((rc = sendmail_message_line(m, line->data, line->len,
		    complete, out)) != 0)
			break;
		if (!too_big && sendmail_drop_content(d, out->data,
		    out->len) < 0) {
			if (errno != EFBIG)
				goto fail;
			too_big = true;	/* read on to the end */
		}
	}
	if (rc < 0)
		goto fail;
	if (m->smtp && !m->ended) {
		errno = EPIPE;
		goto fail;
	}
	if (too_big) {
		errno = EFBIG;
		goto fail;
	}
	buf_free(&line);
	buf_free(&out);
	return sendmail_drop_commit(&d, name_r);
fail:
	saved = errno;
	buf_free(&line);
	buf_free(&out);
	sendmail_drop_abort(&d);
	errno = saved;
	return -1;
}

int
sendmail_submit_stdin(const struct sendmail_opts *o,
    const struct sendmail_site *site, int fd)
{
	struct sendmail_reader r;
	struct sendmail_message m;
	struct rec *env = rec_new();
	char *sender, *full_name, *name = NULL;
	int result = EX_OK;

	if (o->rcpt_count == 0 && !o->extract) {
		fprintf(stderr, "sendmail: no recipient addresses\n");
		rec_free(&env);
		return EX_USAGE;
	}
	sender = o->sender ? sendmail_args_address(o->sender) :
	    sendmail_default_sender(site);
	if (sender == NULL) {
		fprintf(stderr, "sendmail: malformed sender address: %.100s\n",
		    o->sender);
		rec_free(&env);
		return EX_USAGE;
	}
	full_name = o->full_name ? xstrdup(o->full_name) :
	    sendmail_gecos_name();
	rec_put(env, "sender", sender);
	if (full_name != NULL)
		rec_put(env, "full_name", full_name);
	if (o->extract)
		rec_put(env, "extract_recipients", "1");
	if (o->ret != NULL)
		rec_put(env, "ret", o->ret);
	if (o->envid != NULL)
		rec_put(env, "envid", o->envid);
	for (size_t i = 0; i < o->rcpt_count; i++) {
		rec_put(env, "rcpt", o->rcpts[i]);
		if (o->notify != NULL)
			rec_put(env, "notify", o->notify);
	}
	sendmail_reader_init(&r, fd);
	sendmail_message_init(&m, !o->ignore_dots, false);
	if (sendmail_write_message(&r, &m, env, site->size_limit,
	    &name) < 0) {
		if (errno == EFBIG) {
			fprintf(stderr, "sendmail: message file too big "
			    "(message_size_limit %zu)\n", site->size_limit);
			result = EX_DATAERR;
		} else {
			fprintf(stderr, "sendmail: cannot write to "
			    "maildrop: %s\n", strerror(errno));
			result = EX_TEMPFAIL;
		}
	} else {
		if (o->verbose)
			fprintf(stderr, "sendmail: queued as maildrop/%s\n",
			    name);
		sendmail_poke_pickup(PROTO_PICKUP_PATH);
	}
	sendmail_reader_release(&r);
	xfree(&name);
	xfree(&sender);
	xfree(&full_name);
	rec_free(&env);
	return result;
}
