/*
 * master_service_test.c - building the service table and merging it on
 * reload: sockets kept, removed, added; processes retired.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem.h"
#include "testing.h"
#include "master.h"

static struct master_service *
service(const char *name, const char *type, bool private_, int fd)
{
	struct master_service *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(name);
	s->type = xstrdup(type);
	s->private_ = private_;
	s->command = xstrdup("x");
	s->listen_fd = fd;
	return s;
}

static struct master_service *
find(struct master_service *list, const char *name, bool private_)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->name, name) == 0 &&
		    list->private_ == private_)
			return list;
	return NULL;
}

static int
open_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
test_from_mastercf(void)
{
	char *args[] = { "-o", "a=b", NULL };
	struct mastercf_service m[2] = {
		{ .name = "smtp", .type = "inet", .private_ = false,
		  .unpriv = true, .chroot = true, .wakeup = 0, .maxproc = -1,
		  .command = "smtpd", .args = args, .line = 3 },
		{ .name = "qmgr", .type = "unix", .private_ = false,
		  .unpriv = true, .chroot = true, .wakeup = 300, .maxproc = 1,
		  .command = "qmgr", .args = NULL, .line = 4 },
	};
	struct mastercf cf = { .services = m, .count = 2 };
	struct master_service *list = master_services_from(&cf, 100), *next;

	CHECK(list != NULL && list->next != NULL &&
	    list->next->next == NULL);
	if (list == NULL || list->next == NULL)
		return;
	CHECK_STR(list->name, "smtp");
	CHECK(list->maxproc == 100);	/* "-": default_process_limit */
	CHECK(list->listen_fd == -1);
	CHECK_STR(list->args[1], "a=b");
	CHECK(list->args[2] == NULL);
	CHECK(list->line == 3);
	CHECK(list->next->wakeup == 300 && list->next->maxproc == 1);
	CHECK(list->next->args != NULL && list->next->args[0] == NULL);
	for (; list != NULL; list = next) {
		next = list->next;
		master_service_free(&list);
	}
}

static void
test_merge(void)
{
	int smtp_fd = open_fd(), cleanup_fd = open_fd(), gone_fd = open_fd();
	struct master_service *smtp = service("smtp", "inet", false, smtp_fd);
	struct master_service *cleanup = service("cleanup", "unix", true,
	    cleanup_fd);
	struct master_service *gone = service("gone", "unix", true, gone_fd);
	struct master_service *fresh, *list, *s, *next;
	struct master_child *child = xcalloc(1, sizeof(*child));
	pid_t pid;
	int status;

	/* A live process of "gone" that must be told to finish. */
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	child->pid = pid;
	child->idle = true;
	gone->children = child;
	gone->child_count = gone->idle_count = gone->total_count = 1;
	smtp->next = cleanup;
	cleanup->next = gone;

	fresh = service("smtp", "inet", false, -1);
	fresh->next = service("cleanup", "unix", false, -1);	/* public */
	fresh->next->next = service("qmgr", "unix", false, -1);

	list = master_services_merge(smtp, fresh);

	s = find(list, "smtp", false);
	CHECK(s != NULL && s->listen_fd == smtp_fd);	/* kept open */
	CHECK(fcntl(smtp_fd, F_GETFD) >= 0);
	s = find(list, "cleanup", false);
	CHECK(s != NULL && s->listen_fd == -1);		/* to be bound */
	CHECK(find(list, "cleanup", true) == NULL);	/* freed */
	CHECK(fcntl(cleanup_fd, F_GETFD) < 0 && errno == EBADF);
	s = find(list, "qmgr", false);
	CHECK(s != NULL && s->listen_fd == -1 && !s->removed);
	s = find(list, "gone", true);
	CHECK(s != NULL && s->removed && s->listen_fd == -1);
	CHECK(fcntl(gone_fd, F_GETFD) < 0);
	CHECK(s != NULL && s->total_count == 1 && s->child_count == 0 &&
	    s->idle_count == 0);
	CHECK(s != NULL && s->children != NULL && s->children->retired);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP);

	/* The next reload keeps the removed service until it is empty. */
	if (s != NULL) {
		xfree(&s->children);
		s->total_count = 0;
	}
	fresh = service("smtp", "inet", false, -1);
	list = master_services_merge(list, fresh);
	CHECK(list != NULL && list->next == NULL);
	CHECK(list != NULL && list->listen_fd == smtp_fd);
	for (; list != NULL; list = next) {
		next = list->next;
		master_service_free(&list);
	}
	CHECK(fcntl(smtp_fd, F_GETFD) < 0);
}

int
main(void)
{
	TEST_RUN(test_from_mastercf);
	TEST_RUN(test_merge);
	return TEST_DONE();
}
