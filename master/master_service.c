/*
 * master_service.c - the service table: built from master.cf, merged
 * with the running one on reload.
 *
 * On reload a new service whose socket equals a running one's (same
 * type and name, and for unix sockets the same private/public side)
 * takes over the open listening socket, so connections waiting in its
 * backlog are not lost, together with the old processes, which are told
 * to finish (SIGTERM) and become "retired". A service no longer in
 * master.cf is closed; it stays in the list, marked removed, until its
 * last process is reaped.
 */
#include <signal.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "master.h"

struct master_service *
master_services_from(const struct mastercf *cf, int default_maxproc)
{
	struct master_service *head = NULL, **tail = &head;

	for (size_t i = 0; i < cf->count; i++) {
		const struct mastercf_service *m = &cf->services[i];
		struct master_service *s = xcalloc(1, sizeof(*s));
		size_t n = 0;

		s->name = xstrdup(m->name);
		s->type = xstrdup(m->type);
		s->private_ = m->private_;
		s->unpriv = m->unpriv;
		s->chroot = m->chroot;
		s->wakeup = m->wakeup > 0 ? m->wakeup : 0;
		s->maxproc = m->maxproc < 0 ? default_maxproc : m->maxproc;
		if (s->maxproc < 0)
			s->maxproc = 0;
		s->command = xstrdup(m->command);
		while (m->args != NULL && m->args[n] != NULL)
			n++;
		s->args = xcalloc(n + 1, sizeof(*s->args));
		for (size_t j = 0; j < n; j++)
			s->args[j] = xstrdup(m->args[j]);
		s->line = m->line;
		s->listen_fd = -1;
		*tail = s;
		tail = &s->next;
	}
	return head;
}

void
master_service_free(struct master_service **s_r)
{
	struct master_service *s = *s_r;

	if (s == NULL)
		return;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	while (s->children != NULL) {
		struct master_child *c = s->children;

		s->children = c->next;
		xfree(&c->path);
		xfree(&c);
	}
	xfree(&s->name);
	xfree(&s->type);
	xfree(&s->command);
	master_argv_free(&s->args);
	xfree(&s->socket_path);
	xfree(s_r);
}

struct master_service *
master_services_merge(struct master_service *current,
    struct master_service *fresh)
{
	struct master_service *old, *next, *s;

	for (old = current; old != NULL; old = next) {
		next = old->next;
		old->next = NULL;
		master_signal_children(old, SIGHUP, true);
		for (s = fresh; s != NULL; s = s->next)
			if (!old->removed && !s->removed &&
			    s->listen_fd < 0 && master_same_socket(old, s))
				break;
		if (s == NULL) {
			if (!old->removed) {
				log_info("service %s removed", old->name);
				master_unlisten(old);
				old->removed = true;
			}
			if (old->total_count == 0) {
				master_service_free(&old);
			} else {
				old->next = fresh;
				fresh = old;
			}
			continue;
		}
		/* Same socket: take it over with the old processes. */
		s->listen_fd = old->listen_fd;
		old->listen_fd = -1;
		s->socket_path = old->socket_path;
		old->socket_path = NULL;
		s->children = old->children;
		old->children = NULL;
		s->total_count = old->total_count;
		s->backoff = old->backoff;
		s->throttle_until = old->throttle_until;
		s->last_start = old->last_start;
		s->next_wakeup = old->next_wakeup;
		master_service_free(&old);
	}
	return fresh;
}
