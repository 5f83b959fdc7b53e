/*
 * io.c - safe file and socket I/O helpers (see io.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "mem.h"

int64_t
io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
io_write_all(int fd, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return io_writev_all(fd, &iov, 1);
}

int
io_writev_all(int fd, struct iovec *iov, int n)
{
	for (;;) {
		ssize_t done;

		while (n > 0 && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (n == 0)
			return 0;
		done = writev(fd, iov, n);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (io_wait(fd, POLLOUT, -1) < 0)
					return -1;
				continue;
			}
			return -1;
		}
		for (; n > 0 && (size_t)done >= iov->iov_len; iov++, n--)
			done -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
}

int
io_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int timeout = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - io_now_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&pfd, 1, timeout);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int
io_read_file(const char *path, size_t max, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[8192];
	size_t total = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max) {
			errno = EMSGSIZE;
			goto fail;
		}
		if (buf_add(out, chunk, (size_t)n) < 0)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	{
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

int
io_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".") :
	    slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -1;

	if (fd >= 0) {
		r = fsync(fd);
		close(fd);
	}
	xfree(&dir);
	return r;
}

int
io_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd, saved;

	/* O_NOFOLLOW: never write through a link planted under our name.
	 * fchmod: the file gets mode exactly, whatever the umask. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || io_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	xfree(&tmp);
	return io_fsync_parent(path);
fail:
	saved = errno;
	xfree(&tmp);
	errno = saved;
	return -1;
}

int
io_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

int
io_set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -1;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags);
}

static int
io_unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int
io_unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (io_unix_addr(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;

		if (saved == EINTR)
			continue;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
io_unix_listen(const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (io_unix_addr(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, backlog) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
io_inet_listen(const char *host, const char *port, int backlog)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, one = 1, saved;

	if (host != NULL && (*host == '\0' || strcmp(host, "*") == 0))
		host = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, backlog) < 0)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	errno = saved;
	return -1;
}

int
io_mkdirs(const char *path, mode_t mode)
{
	char *copy;
	struct stat st;

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	copy = xstrdup(path);
	for (char *p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				xfree(&copy);
				return -1;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	xfree(&copy);
	/* mkdir's EEXIST also covers a file where the directory should be. */
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* Rename without replacing; falls back to rename(2) where the file
 * system does not support RENAME_NOREPLACE. */
int
io_rename_new(const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (access(to, F_OK) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}
