/*
 * master_listen.c - the sockets the master binds for its services.
 *
 * inet: master.cf's name is "port", "host:port" or "[v6]:port"; a port
 * may be a service name ("smtp", resolved with getaddrinfo). With no host,
 * inet_interfaces chooses: "all" binds the wildcard through one
 * dual-stack IPv6 socket (IPv4 only when inet_protocols says ipv4 or IPv6
 * is unavailable), "loopback-only"/"localhost" binds 127.0.0.1, anything
 * else binds its first address. XXX a process gets one listening
 * descriptor (SERVER_LISTEN_FD), so a service listens on one address;
 * several inet_interfaces need one master.cf line each.
 *
 * unix: queue_directory/private/NAME (mode 0600) or public/NAME (0666),
 * owned by mail_owner when the master runs as root. "pass" services are
 * bound like unix ones.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"
#include "master.h"

int
master_inet_target(const char *name, const char *inet_interfaces,
    const char *inet_protocols, char **host_r, char **port_r, int *family_r)
{
	char *host = NULL, *port = NULL;
	char **list;

	if (mastercf_inet_addr(name, &host, &port) < 0 || port == NULL ||
	    *port == '\0') {
		xfree(&host);
		xfree(&port);
		return -1;
	}
	*family_r = AF_UNSPEC;
	if (strstr(inet_protocols, "ipv6") != NULL &&
	    strstr(inet_protocols, "ipv4") == NULL)
		*family_r = AF_INET6;
	else if (strstr(inet_protocols, "ipv4") != NULL &&
	    strstr(inet_protocols, "ipv6") == NULL)
		*family_r = AF_INET;
	if (host == NULL || *host == '\0') {
		xfree(&host);
		list = config_split_list(inet_interfaces);
		if (list[0] == NULL || strcmp(list[0], "all") == 0)
			host = xstrdup("");
		else if (strcmp(list[0], "loopback-only") == 0 ||
		    strcmp(list[0], "localhost") == 0)
			host = xstrdup(*family_r == AF_INET6 ? "::1" :
			    "127.0.0.1");
		else
			host = xstrdup(list[0]);
		if (list[0] != NULL && list[1] != NULL)
			log_warn("%s: inet_interfaces lists several "
			    "addresses; binding only %s", name, list[0]);
		config_list_free(&list);
	}
	/* "[::1]" as inet_interfaces writes it. */
	if (host[0] == '[') {
		size_t len = strlen(host);
		char *bare;

		if (len < 2 || host[len - 1] != ']') {
			xfree(&host);
			xfree(&port);
			return -1;
		}
		bare = xstrndup(host + 1, len - 2);
		xfree(&host);
		host = bare;
	}
	*host_r = host;
	*port_r = port;
	return 0;
}

static int
master_bind_addr(const struct addrinfo *ai, bool dual_stack)
{
	int fd, one = 1, zero = 0, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    dual_stack ? &zero : &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, MASTER_LISTEN_BACKLOG) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int
master_listen_inet(struct master_service *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, *port = NULL;
	int family, rc, fd = -1, saved = 0;
	bool wildcard;

	if (master_inet_target(s->name, config_get("inet_interfaces"),
	    config_get("inet_protocols"), &host, &port, &family) < 0) {
		log_error("master.cf, line %d: bad inet service name %s",
		    s->line, s->name);
		return -1;
	}
	wildcard = *host == '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	/* The wildcard for both families is one IPv6 socket that also takes
	 * IPv4 (V6ONLY off); IPv4 alone when IPv6 is not there. */
	hints.ai_family = wildcard && family == AF_UNSPEC ? AF_INET6 : family;
	rc = getaddrinfo(wildcard ? NULL : host, port, &hints, &res);
	if (rc == 0) {
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
			fd = master_bind_addr(ai, wildcard &&
			    family == AF_UNSPEC);
			if (fd < 0)
				saved = errno;
		}
		freeaddrinfo(res);
		res = NULL;
	}
	if (fd < 0 && wildcard && family == AF_UNSPEC) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, port, &hints, &res);
		if (rc == 0) {
			for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
				if ((fd = master_bind_addr(ai, false)) < 0)
					saved = errno;
			freeaddrinfo(res);
		}
	}
	if (fd < 0) {
		if (rc != 0)
			log_error("master.cf, line %d: service %s: %s",
			    s->line, s->name, gai_strerror(rc));
		else
			log_error("master.cf, line %d: bind %s: %s", s->line,
			    s->name, strerror(saved));
	}
	xfree(&host);
	xfree(&port);
	s->listen_fd = fd;
	return fd < 0 ? -1 : 0;
}

static int
master_listen_unix(struct master_service *s, const char *queue_dir,
    uid_t uid, gid_t gid)
{
	mode_t mode = s->private_ ? 0600 : 0666;
	int fd;

	if (strchr(s->name, '/') != NULL) {
		log_error("master.cf, line %d: bad unix service name %s",
		    s->line, s->name);
		return -1;
	}
	xfree(&s->socket_path);
	s->socket_path = xasprintf("%s/%s/%s", queue_dir,
	    s->private_ ? "private" : "public", s->name);
	fd = io_unix_listen(s->socket_path, mode, MASTER_LISTEN_BACKLOG);
	if (fd < 0) {
		log_error("master.cf, line %d: bind %s: %m", s->line,
		    s->socket_path);
		return -1;
	}
	if (uid != (uid_t)-1 && chown(s->socket_path, uid, gid) < 0) {
		log_error("chown %s: %m", s->socket_path);
		close(fd);
		return -1;
	}
	io_set_cloexec(fd, true);
	s->listen_fd = fd;
	return 0;
}

int
master_listen(struct master_service *s, const char *queue_dir, uid_t uid,
    gid_t gid)
{
	if (strcmp(s->type, "inet") == 0)
		return master_listen_inet(s);
	return master_listen_unix(s, queue_dir, uid, gid);
}

void
master_unlisten(struct master_service *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	if (s->socket_path != NULL)
		unlink(s->socket_path);
}

bool
master_same_socket(const struct master_service *a,
    const struct master_service *b)
{
	bool a_inet = strcmp(a->type, "inet") == 0;
	bool b_inet = strcmp(b->type, "inet") == 0;

	if (a_inet != b_inet || strcmp(a->name, b->name) != 0)
		return false;
	return a_inet || a->private_ == b->private_;
}
