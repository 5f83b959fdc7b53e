/*
 * tls-source.c - an SMTP load generator over TLS, for bench/throughput.
 *
 *   tls-source [options] starttls|wrapper|hold|plain HOST:PORT
 *
 * smtp-source (Postfix) has no TLS; this tool is its TLS counterpart.
 * Modes:
 *   starttls  connect, EHLO, STARTTLS, full handshake, EHLO, then messages
 *             with MAIL/RCPT/DATA, QUIT. -m is the total number of messages
 *             (as smtp-source's -m); a connection carries one message, or
 *             as many as it can claim with -d (as smtp-source's -d).
 *             With -W the session starts in TLS (port 465) instead.
 *   wrapper   handshakes/s on an implicit-TLS port (465): connect, full
 *             handshake, read the greeting, QUIT. -m is the total number
 *             of handshakes.
 *   hold      open -s sessions (STARTTLS, or implicit TLS with -W), EHLO
 *             after TLS, print "ready" and keep them open until SIGTERM,
 *             SIGINT or SIGUSR1; then close them and print the summary.
 *   plain     as starttls without TLS (a sanity row against smtp-source).
 *
 * Every handshake is full: the client never offers a session to resume
 * (no ticket, no session id) unless -R is given. Certificates are not
 * verified (the bench uses a self-signed one); the handshake still
 * checks the server's signature, as a real client's does.
 *
 * -Q acknowledges every segment at once (TCP_QUICKACK after each read):
 * a server that writes one flight in several small segments without
 * TCP_NODELAY otherwise waits for the client's delayed ACK (40 ms on
 * Linux) under Nagle's algorithm; -Q shows its rate without that wait.
 *
 * Sessions are non-blocking on one epoll loop per thread (-j threads,
 * default 2); work (messages or handshakes) is claimed from one shared
 * atomic counter, so a slow session does not hold back the others.
 * Commands go one at a time, no PIPELINING, as smtp-source does. The
 * summary is one line of name=value pairs on stdout; exit status 1 if any
 * session failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mem.h"

#define TLS_SOURCE_IN_MAX	8192	/* one reply, EHLO's included */
#define TLS_SOURCE_CMD_MAX	512
#define TLS_SOURCE_ERRORS_SHOWN	10

enum tls_source_mode {
	TLS_SOURCE_STARTTLS,
	TLS_SOURCE_WRAPPER,
	TLS_SOURCE_HOLD,
	TLS_SOURCE_PLAIN,
};

enum tls_source_state {
	TLS_SOURCE_IDLE,	/* not connected */
	TLS_SOURCE_CONNECTING,
	TLS_SOURCE_HANDSHAKE,
	TLS_SOURCE_GREETING,
	TLS_SOURCE_EHLO,
	TLS_SOURCE_STARTTLS_REPLY,
	TLS_SOURCE_EHLO_TLS,
	TLS_SOURCE_MAIL,
	TLS_SOURCE_RCPT,
	TLS_SOURCE_DATA,
	TLS_SOURCE_DOT,
	TLS_SOURCE_QUIT,
	TLS_SOURCE_HELD,
	TLS_SOURCE_DONE,	/* finished or failed for good */
};

static const char *const tls_source_state_names[] = {
	"idle", "connect", "handshake", "greeting", "EHLO", "STARTTLS",
	"EHLO after TLS", "MAIL", "RCPT", "DATA", "end of data", "QUIT",
	"held", "done",
};
_Static_assert(sizeof(tls_source_state_names) /
    sizeof(tls_source_state_names[0]) == TLS_SOURCE_DONE + 1,
    "a name for every state");

struct tls_source_session {
	struct tls_source_thread *thread;
	int fd;
	SSL *ssl;
	SSL *spare;		/* SSL_clear()ed for the next connection */
	enum tls_source_state state;
	bool tls_done;		/* handshake done on this connection */
	bool in_setup;		/* counted in stat_setup */
	bool claimed;		/* holds one unit of work */
	unsigned messages_here;	/* sent on this connection */
	double deadline;
	const char *out;	/* pending output: cmd or the message */
	size_t out_len;
	size_t out_off;
	char cmd[TLS_SOURCE_CMD_MAX];
	char in[TLS_SOURCE_IN_MAX];
	size_t in_len;
};

struct tls_source_thread {
	pthread_t tid;
	int epoll_fd;
	struct tls_source_session *sessions;
	size_t session_count;
	size_t active;
};

static struct {
	enum tls_source_mode mode;
	bool wrapper;		/* TLS from the first byte */
	bool reuse;		/* -d: many messages per connection */
	bool resume;		/* -R: offer the last session again */
	bool quickack;		/* -Q: no delayed ACKs */
	size_t sessions;
	long long work;		/* messages or handshakes, in total */
	size_t size;
	size_t setup_max;	/* connections being set up at once */
	unsigned threads;
	double timeout;
	const char *from;
	const char *to;
	const char *helo;
	const char *sni;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	SSL_CTX *ctx;
	char *message;		/* the DATA payload, ending in ".\r\n" */
	size_t message_len;
} opt;

static atomic_llong work_left;
static atomic_llong stat_connections;
static atomic_llong stat_handshakes;
static atomic_llong stat_resumed;
static atomic_llong stat_messages;
static atomic_llong stat_errors;
static atomic_llong stat_held;
static atomic_llong stat_dropped;	/* held sessions the server closed */
static atomic_llong stat_setup;		/* connections being set up */
static atomic_int errors_shown;
static atomic_bool stopping;
static pthread_mutex_t resume_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_SESSION *resume_session;
static char tls_version[32];
static char tls_cipher[64];

static double
tls_source_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
tls_source_usage(void)
{
	fprintf(stderr,
	    "usage: tls-source [options] starttls|wrapper|hold|plain "
	    "HOST:PORT\n"
	    "  -s N     parallel sessions (hold: sessions to hold), default 1\n"
	    "  -m N     messages (starttls, plain) or handshakes (wrapper), "
	    "default 100\n"
	    "  -l BYTES message size, default 1024\n"
	    "  -d       many messages per connection (default: one)\n"
	    "  -W       implicit TLS from the first byte (starttls, hold)\n"
	    "  -Q       TCP_QUICKACK after every read (no delayed ACK)\n"
	    "  -R       resume the last TLS session (default: every "
	    "handshake full)\n"
	    "  -V 1.2|1.3  highest TLS version offered (default: 1.3)\n"
	    "  -j N     threads, default 2\n"
	    "  -p N     connections set up at once, default 100\n"
	    "  -f ADDR  sender, default bench@bench.test\n"
	    "  -t ADDR  recipient, default user@bench.test\n"
	    "  -H NAME  EHLO name, default tls-source.test\n"
	    "  -S NAME  SNI server name, default none\n"
	    "  -w SECS  timeout for each reply, default 30\n");
	exit(2);
}

static long long
tls_source_number(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "tls-source: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void
tls_source_resolve(const char *target)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	const char *colon = strrchr(target, ':');
	char *host;
	int err;

	if (colon == NULL || colon[1] == '\0') {
		fprintf(stderr, "tls-source: want HOST:PORT, not %s\n", target);
		exit(2);
	}
	host = xstrndup(target, (size_t)(colon - target));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err) {
		fprintf(stderr, "tls-source: %s: %s\n", target,
		    gai_strerror(err));
		exit(2);
	}
	memcpy(&opt.addr, res->ai_addr, res->ai_addrlen);
	opt.addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	xfree(&host);
}

/* Headers like smtp-source's, then 78-column body lines up to opt.size. */
static void
tls_source_build_message(void)
{
	size_t cap = opt.size + strlen(opt.from) + strlen(opt.to) + 256, len;
	char *m = xmalloc(cap);
	int n;

	n = snprintf(m, cap, "From: <%s>\r\nTo: <%s>\r\n"
	    "Subject: tls-source\r\nMessage-Id: <tls-source@bench.test>\r\n"
	    "\r\n", opt.from, opt.to);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "tls-source: address too long\n");
		exit(2);
	}
	len = (size_t)n;
	while (len < opt.size) {
		size_t line = opt.size - len > 78 ? 78 : opt.size - len;

		memset(m + len, 'x', line);
		len += line;
		memcpy(m + len, "\r\n", 2);
		len += 2;
	}
	memcpy(m + len, ".\r\n", 3);
	len += 3;
	opt.message = m;
	opt.message_len = len;
}

static void
tls_source_ctx(const char *max_version)
{
	opt.ctx = SSL_CTX_new(TLS_client_method());
	if (opt.ctx == NULL) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_min_proto_version(opt.ctx, TLS1_2_VERSION);
	if (max_version && strcmp(max_version, "1.2") == 0)
		SSL_CTX_set_max_proto_version(opt.ctx, TLS1_2_VERSION);
	else if (max_version && strcmp(max_version, "1.3") != 0)
		tls_source_usage();
	SSL_CTX_set_verify(opt.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(opt.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!opt.resume) {
		SSL_CTX_set_options(opt.ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(opt.ctx, SSL_SESS_CACHE_OFF);
	} else {
		SSL_CTX_set_session_cache_mode(opt.ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL);
	}
}

static void
tls_source_fail(struct tls_source_session *s, const char *what)
{
	char reply[128];
	size_t n = s->in_len < sizeof(reply) ? s->in_len : sizeof(reply) - 1;
	unsigned long e = ERR_get_error();
	char tls_error[256] = "";

	if (e)
		ERR_error_string_n(e, tls_error, sizeof(tls_error));
	memcpy(reply, s->in, n);
	reply[n] = '\0';
	while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		reply[--n] = '\0';
	if (atomic_fetch_add(&errors_shown, 1) < TLS_SOURCE_ERRORS_SHOWN)
		fprintf(stderr, "tls-source: %s (at %s%s%s%s%s)\n", what,
		    tls_source_state_names[s->state], n ? ", reply: " : "",
		    reply,
		    e ? ", " : "", tls_error);
	ERR_clear_error();
	atomic_fetch_add(&stat_errors, 1);
}

/* The connection is set up (or gone): the next one may start. */
/* Send any ACK the kernel is holding back (see -Q). */
static void
tls_source_quickack(struct tls_source_session *s)
{
	int one = 1;

	if (opt.quickack)
		setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
}

static void
tls_source_setup_done(struct tls_source_session *s)
{
	if (s->in_setup) {
		atomic_fetch_sub(&stat_setup, 1);
		s->in_setup = false;
	}
}

static void
tls_source_close(struct tls_source_session *s)
{
	tls_source_setup_done(s);
	if (s->ssl) {
		/*
		 * SSL_new() costs the client about as much as the handshake's
		 * cryptography in OpenSSL 3; a cleared object is reused. The
		 * clear drops the session, so the next handshake stays full.
		 */
		if (s->spare == NULL && SSL_clear(s->ssl) == 1)
			s->spare = s->ssl;
		else
			SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	s->in_len = 0;
	s->out_len = s->out_off = 0;
	s->tls_done = false;
	s->messages_here = 0;
}

/* The session is over for good. */
static void
tls_source_finish(struct tls_source_session *s)
{
	tls_source_close(s);
	if (s->claimed) {
		/* Work it did not finish goes back for the others. */
		atomic_fetch_add(&work_left, 1);
		s->claimed = false;
	}
	s->state = TLS_SOURCE_DONE;
	s->thread->active--;
}

static bool
tls_source_claim(struct tls_source_session *s)
{
	if (atomic_load(&stopping))
		return false;
	if (atomic_fetch_sub(&work_left, 1) <= 0) {
		atomic_fetch_add(&work_left, 1);
		return false;
	}
	s->claimed = true;
	return true;
}

static void
tls_source_want(struct tls_source_session *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(s->thread->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev) < 0) {
		perror("tls-source: epoll_ctl");
		exit(1);
	}
}

static int
tls_source_connect(struct tls_source_session *s)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	int one = 1;

	s->fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		perror("tls-source: socket");
		exit(1);
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_fetch_add(&stat_connections, 1);
	atomic_fetch_add(&stat_setup, 1);
	s->in_setup = true;
	s->state = TLS_SOURCE_CONNECTING;
	s->deadline = tls_source_now() + opt.timeout;
	if (epoll_ctl(s->thread->epoll_fd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		perror("tls-source: epoll_ctl");
		exit(1);
	}
	if (connect(s->fd, (struct sockaddr *)&opt.addr, opt.addr_len) < 0 &&
	    errno != EINPROGRESS) {
		tls_source_fail(s, strerror(errno));
		return -1;
	}
	return 0;
}

static void
tls_source_send(struct tls_source_session *s, enum tls_source_state next,
    const char *fmt, const char *arg)
{
	int n = snprintf(s->cmd, sizeof(s->cmd), fmt, arg);

	if (n < 0 || (size_t)n >= sizeof(s->cmd)) {
		fprintf(stderr, "tls-source: command too long\n");
		exit(2);
	}
	s->out = s->cmd;
	s->out_len = (size_t)n;
	s->out_off = 0;
	s->state = next;
	s->deadline = tls_source_now() + opt.timeout;
}

static void
tls_source_ssl_new(struct tls_source_session *s)
{
	if (s->spare) {
		s->ssl = s->spare;
		s->spare = NULL;
	} else {
		s->ssl = SSL_new(opt.ctx);
	}
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	if (opt.sni)
		SSL_set_tlsext_host_name(s->ssl, opt.sni);
	if (opt.resume) {
		pthread_mutex_lock(&resume_lock);
		if (resume_session)
			SSL_set_session(s->ssl, resume_session);
		pthread_mutex_unlock(&resume_lock);
	}
	SSL_set_connect_state(s->ssl);
	s->state = TLS_SOURCE_HANDSHAKE;
	s->deadline = tls_source_now() + opt.timeout;
}

/* Map an SSL result to "wait for this event" (>0), failure (-1). */
static int
tls_source_ssl_wait(struct tls_source_session *s, int ret, const char *what)
{
	switch (SSL_get_error(s->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		tls_source_want(s, EPOLLIN);
		return 1;
	case SSL_ERROR_WANT_WRITE:
		tls_source_want(s, EPOLLOUT);
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		tls_source_fail(s, "TLS connection closed by server");
		return -1;
	case SSL_ERROR_SYSCALL:
		tls_source_fail(s, errno ? strerror(errno) :
		    "connection closed by server");
		return -1;
	default:
		tls_source_fail(s, what);
		return -1;
	}
}

/*
 * Write pending output. Returns 0 when all is written, 1 to wait,
 * -1 on failure.
 */
static int
tls_source_flush(struct tls_source_session *s)
{
	while (s->out_off < s->out_len) {
		const char *p = s->out + s->out_off;
		size_t left = s->out_len - s->out_off;
		ssize_t n;

		if (s->ssl) {
			int r = SSL_write(s->ssl, p, left > 1 << 30 ?
			    1 << 30 : (int)left);

			if (r <= 0)
				return tls_source_ssl_wait(s, r, "TLS write");
			n = r;
		} else {
			n = send(s->fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				tls_source_want(s, EPOLLOUT);
				return 1;
			}
			if (n < 0) {
				tls_source_fail(s, strerror(errno));
				return -1;
			}
		}
		s->out_off += (size_t)n;
	}
	return 0;
}

/*
 * Read until s->in holds one whole reply. Returns its code (>= 100),
 * 1 to wait, -1 on failure. The reply stays in s->in until
 * tls_source_consume().
 */
static int
tls_source_reply(struct tls_source_session *s)
{
	for (;;) {
		size_t start = 0;
		ssize_t n;

		while (start < s->in_len) {
			char *nl = memchr(s->in + start, '\n',
			    s->in_len - start);
			size_t line;

			if (nl == NULL)
				break;
			line = (size_t)(nl - (s->in + start)) + 1;
			if (line < 4 || s->in[start + 3] != '-') {
				int code = atoi(s->in + start);

				if (code < 100 || code > 599) {
					tls_source_fail(s, "not an SMTP reply");
					return -1;
				}
				return code;
			}
			start += line;
		}
		if (s->in_len == sizeof(s->in)) {
			tls_source_fail(s, "reply too long");
			return -1;
		}
		if (s->ssl) {
			int r = SSL_read(s->ssl, s->in + s->in_len,
			    (int)(sizeof(s->in) - s->in_len));

			tls_source_quickack(s);
			if (r <= 0)
				return tls_source_ssl_wait(s, r, "TLS read");
			n = r;
		} else {
			n = recv(s->fd, s->in + s->in_len,
			    sizeof(s->in) - s->in_len, 0);
			tls_source_quickack(s);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				tls_source_want(s, EPOLLIN);
				return 1;
			}
			if (n <= 0) {
				tls_source_fail(s, n ? strerror(errno) :
				    "connection closed by server");
				return -1;
			}
		}
		s->in_len += (size_t)n;
	}
}

/* Drop the reply just read (it ends at the first final line). */
static void
tls_source_consume(struct tls_source_session *s)
{
	size_t start = 0;

	while (start < s->in_len) {
		char *nl = memchr(s->in + start, '\n', s->in_len - start);
		size_t line = (size_t)(nl - (s->in + start)) + 1;
		bool last = line < 4 || s->in[start + 3] != '-';

		start += line;
		if (last)
			break;
	}
	memmove(s->in, s->in + start, s->in_len - start);
	s->in_len -= start;
}

static void
tls_source_tls_established(struct tls_source_session *s)
{
	static atomic_bool noted;

	s->tls_done = true;
	atomic_fetch_add(&stat_handshakes, 1);
	if (SSL_session_reused(s->ssl))
		atomic_fetch_add(&stat_resumed, 1);
	if (!atomic_exchange(&noted, true)) {
		snprintf(tls_version, sizeof(tls_version), "%s",
		    SSL_get_version(s->ssl));
		snprintf(tls_cipher, sizeof(tls_cipher), "%s",
		    SSL_get_cipher_name(s->ssl));
	}
}

/* The handshake (and EHLO) is over: the next step depends on the mode. */
static void
tls_source_ready(struct tls_source_session *s)
{
	tls_source_setup_done(s);
	if (opt.mode == TLS_SOURCE_HOLD) {
		s->state = TLS_SOURCE_HELD;
		atomic_fetch_add(&stat_held, 1);
		tls_source_want(s, EPOLLIN);
		return;
	}
	tls_source_send(s, TLS_SOURCE_MAIL, "MAIL FROM:<%s>\r\n", opt.from);
}

static void
tls_source_remember_session(struct tls_source_session *s)
{
	SSL_SESSION *sess;

	if (!opt.resume || s->ssl == NULL)
		return;
	sess = SSL_get1_session(s->ssl);
	if (sess == NULL)
		return;
	pthread_mutex_lock(&resume_lock);
	if (resume_session)
		SSL_SESSION_free(resume_session);
	resume_session = sess;
	pthread_mutex_unlock(&resume_lock);
}

/* Advance a session as far as it goes without waiting. */
static void
tls_source_run(struct tls_source_session *s)
{
	for (;;) {
		int code, r;

		if (s->state == TLS_SOURCE_IDLE) {
			if (opt.mode != TLS_SOURCE_HOLD &&
			    !tls_source_claim(s)) {
				tls_source_finish(s);
				return;
			}
			if (tls_source_connect(s) < 0)
				goto failed;
			return;
		}
		if (s->state == TLS_SOURCE_HELD) {
			char c;

			/* Only an EOF or a 421 from the server comes here. */
			if (s->ssl) {
				r = SSL_read(s->ssl, &c, 1);
				if (r <= 0 && SSL_get_error(s->ssl, r) ==
				    SSL_ERROR_WANT_READ)
					return;
			}
			atomic_fetch_sub(&stat_held, 1);
			atomic_fetch_add(&stat_dropped, 1);
			tls_source_fail(s, "held session closed by server");
			tls_source_finish(s);
			return;
		}
		if (s->state == TLS_SOURCE_HANDSHAKE) {
			r = SSL_do_handshake(s->ssl);
			tls_source_quickack(s);
			if (r != 1) {
				if (tls_source_ssl_wait(s, r, "TLS handshake")
				    > 0)
					return;
				goto failed;
			}
			tls_source_tls_established(s);
			if (opt.wrapper || opt.mode == TLS_SOURCE_WRAPPER)
				s->state = TLS_SOURCE_GREETING;
			else
				tls_source_send(s, TLS_SOURCE_EHLO_TLS,
				    "EHLO %s\r\n", opt.helo);
			continue;
		}
		if (s->state == TLS_SOURCE_CONNECTING) {
			int err = 0;
			socklen_t len = sizeof(err);

			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) < 0 || err) {
				errno = err;
				tls_source_fail(s, strerror(errno));
				goto failed;
			}
			if (opt.wrapper || opt.mode == TLS_SOURCE_WRAPPER) {
				tls_source_ssl_new(s);
				continue;
			}
			s->state = TLS_SOURCE_GREETING;
			tls_source_want(s, EPOLLIN);
			continue;
		}
		r = tls_source_flush(s);
		if (r > 0)
			return;
		if (r < 0)
			goto failed;
		code = tls_source_reply(s);
		if (code == 1)
			return;
		if (code < 0)
			goto failed;
		switch (s->state) {
		case TLS_SOURCE_GREETING:
			if (code != 220) {
				tls_source_fail(s, "greeting refused");
				goto failed;
			}
			tls_source_consume(s);
			if (opt.mode == TLS_SOURCE_WRAPPER) {
				tls_source_setup_done(s);
				tls_source_remember_session(s);
				tls_source_send(s, TLS_SOURCE_QUIT,
				    "QUIT\r\n", NULL);
			} else if (s->tls_done) {
				tls_source_send(s, TLS_SOURCE_EHLO_TLS,
				    "EHLO %s\r\n", opt.helo);
			} else {
				tls_source_send(s, TLS_SOURCE_EHLO,
				    "EHLO %s\r\n", opt.helo);
			}
			break;
		case TLS_SOURCE_EHLO:
			if (code != 250) {
				tls_source_fail(s, "EHLO refused");
				goto failed;
			}
			tls_source_consume(s);
			if (opt.mode == TLS_SOURCE_PLAIN) {
				tls_source_ready(s);
				break;
			}
			tls_source_send(s, TLS_SOURCE_STARTTLS_REPLY,
			    "STARTTLS\r\n", NULL);
			break;
		case TLS_SOURCE_STARTTLS_REPLY:
			if (code != 220) {
				tls_source_fail(s, "STARTTLS refused");
				goto failed;
			}
			tls_source_consume(s);
			if (s->in_len) {
				tls_source_fail(s, "server sent data after "
				    "its STARTTLS reply");
				goto failed;
			}
			tls_source_ssl_new(s);
			break;
		case TLS_SOURCE_EHLO_TLS:
			if (code != 250) {
				tls_source_fail(s, "EHLO after TLS refused");
				goto failed;
			}
			tls_source_consume(s);
			tls_source_remember_session(s);
			tls_source_ready(s);
			break;
		case TLS_SOURCE_MAIL:
			if (code != 250) {
				tls_source_fail(s, "MAIL refused");
				goto failed;
			}
			tls_source_consume(s);
			tls_source_send(s, TLS_SOURCE_RCPT, "RCPT TO:<%s>\r\n",
			    opt.to);
			break;
		case TLS_SOURCE_RCPT:
			if (code != 250) {
				tls_source_fail(s, "RCPT refused");
				goto failed;
			}
			tls_source_consume(s);
			tls_source_send(s, TLS_SOURCE_DATA, "DATA\r\n", NULL);
			break;
		case TLS_SOURCE_DATA:
			if (code != 354) {
				tls_source_fail(s, "DATA refused");
				goto failed;
			}
			tls_source_consume(s);
			s->out = opt.message;
			s->out_len = opt.message_len;
			s->out_off = 0;
			s->state = TLS_SOURCE_DOT;
			s->deadline = tls_source_now() + opt.timeout;
			break;
		case TLS_SOURCE_DOT:
			if (code != 250) {
				tls_source_fail(s, "message refused");
				goto failed;
			}
			tls_source_consume(s);
			s->claimed = false;
			s->messages_here++;
			atomic_fetch_add(&stat_messages, 1);
			if (opt.reuse && tls_source_claim(s))
				tls_source_send(s, TLS_SOURCE_MAIL,
				    "MAIL FROM:<%s>\r\n", opt.from);
			else
				tls_source_send(s, TLS_SOURCE_QUIT,
				    "QUIT\r\n", NULL);
			break;
		case TLS_SOURCE_QUIT:
			if (opt.mode == TLS_SOURCE_WRAPPER) {
				/* The handshake was the work. */
				s->claimed = false;
			}
			tls_source_close(s);
			s->state = TLS_SOURCE_IDLE;
			break;
		default:
			tls_source_fail(s, "internal: bad state");
			goto failed;
		}
	}
failed:
	tls_source_finish(s);
}

static void *
tls_source_thread_main(void *arg)
{
	struct tls_source_thread *t = arg;
	struct epoll_event events[64];
	size_t next = 0;

	t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epoll_fd < 0) {
		perror("tls-source: epoll_create1");
		exit(1);
	}
	t->active = t->session_count;
	while (t->active > 0) {
		double now;
		int n, i;

		/* Start idle sessions, a few at a time (the listen queue). */
		while (next < t->session_count && !atomic_load(&stopping) &&
		    atomic_load(&stat_setup) < (long long)opt.setup_max) {
			tls_source_run(&t->sessions[next]);
			next++;
		}
		if (next < t->session_count && atomic_load(&stopping)) {
			for (; next < t->session_count; next++)
				tls_source_finish(&t->sessions[next]);
			continue;
		}
		n = epoll_wait(t->epoll_fd, events, 64, 200);
		if (n < 0 && errno != EINTR) {
			perror("tls-source: epoll_wait");
			exit(1);
		}
		for (i = 0; i < n; i++)
			tls_source_run(events[i].data.ptr);
		now = tls_source_now();
		for (size_t k = 0; k < next; k++) {
			struct tls_source_session *s = &t->sessions[k];

			if (s->state == TLS_SOURCE_DONE)
				continue;
			if (s->state == TLS_SOURCE_HELD) {
				if (atomic_load(&stopping)) {
					atomic_fetch_sub(&stat_held, 1);
					if (s->ssl)
						SSL_shutdown(s->ssl);
					tls_source_finish(s);
				}
				continue;
			}
			if (now > s->deadline) {
				tls_source_fail(s, "timeout");
				tls_source_finish(s);
			}
		}
	}
	close(t->epoll_fd);
	return NULL;
}

static int
tls_source_hold_wait(double t0)
{
	sigset_t set;
	bool ready = false;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		long long held = atomic_load(&stat_held);

		if (!ready && held == (long long)opt.sessions) {
			printf("ready held=%lld elapsed=%.3f\n", held,
			    tls_source_now() - t0);
			fflush(stdout);
			ready = true;
		}
		if (!ready && held + atomic_load(&stat_errors) >=
		    (long long)opt.sessions && atomic_load(&stat_setup) == 0) {
			printf("failed held=%lld errors=%lld\n", held,
			    atomic_load(&stat_errors));
			fflush(stdout);
			ready = true;
		}
		if (sigtimedwait(&set, NULL, &tick) > 0)
			break;
	}
	atomic_store(&stopping, true);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tls_source_thread *threads;
	const char *max_version = NULL;
	sigset_t set;
	double t0, elapsed;
	long long work;
	size_t per;
	int c;

	opt.sessions = 1;
	opt.work = 100;
	opt.size = 1024;
	opt.threads = 2;
	opt.setup_max = 100;
	opt.timeout = 30;
	opt.from = "bench@bench.test";
	opt.to = "user@bench.test";
	opt.helo = "tls-source.test";
	while ((c = getopt(argc, argv, "s:m:l:dWQRV:j:p:f:t:H:S:w:")) != -1) {
		switch (c) {
		case 's':
			opt.sessions = (size_t)tls_source_number(optarg, 1,
			    1000000);
			break;
		case 'm':
			opt.work = tls_source_number(optarg, 0, 1LL << 40);
			break;
		case 'l':
			opt.size = (size_t)tls_source_number(optarg, 0,
			    1 << 30);
			break;
		case 'd':
			opt.reuse = true;
			break;
		case 'W':
			opt.wrapper = true;
			break;
		case 'R':
			opt.resume = true;
			break;
		case 'Q':
			opt.quickack = true;
			break;
		case 'V':
			max_version = optarg;
			break;
		case 'j':
			opt.threads = (unsigned)tls_source_number(optarg, 1,
			    256);
			break;
		case 'p':
			opt.setup_max = (size_t)tls_source_number(optarg, 1,
			    1000000);
			break;
		case 'f':
			opt.from = optarg;
			break;
		case 't':
			opt.to = optarg;
			break;
		case 'H':
			opt.helo = optarg;
			break;
		case 'S':
			opt.sni = optarg;
			break;
		case 'w':
			opt.timeout = (double)tls_source_number(optarg, 1,
			    86400);
			break;
		default:
			tls_source_usage();
		}
	}
	if (argc - optind != 2)
		tls_source_usage();
	if (strcmp(argv[optind], "starttls") == 0)
		opt.mode = TLS_SOURCE_STARTTLS;
	else if (strcmp(argv[optind], "wrapper") == 0)
		opt.mode = TLS_SOURCE_WRAPPER;
	else if (strcmp(argv[optind], "hold") == 0)
		opt.mode = TLS_SOURCE_HOLD;
	else if (strcmp(argv[optind], "plain") == 0)
		opt.mode = TLS_SOURCE_PLAIN;
	else
		tls_source_usage();
	if (opt.mode == TLS_SOURCE_PLAIN && opt.wrapper)
		tls_source_usage();
	tls_source_resolve(argv[optind + 1]);
	tls_source_build_message();
	tls_source_ctx(max_version);
	if (opt.threads > opt.sessions)
		opt.threads = (unsigned)opt.sessions;

	/* Hold mode's signals are taken by sigtimedwait() alone. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	atomic_store(&work_left, opt.mode == TLS_SOURCE_HOLD ?
	    (long long)opt.sessions : opt.work);
	threads = xcalloc(opt.threads, sizeof(*threads));
	per = opt.sessions / opt.threads;
	for (unsigned i = 0; i < opt.threads; i++) {
		struct tls_source_thread *t = &threads[i];

		t->session_count = per + (i < opt.sessions % opt.threads);
		t->sessions = xcalloc(t->session_count, sizeof(*t->sessions));
		for (size_t k = 0; k < t->session_count; k++) {
			t->sessions[k].thread = t;
			t->sessions[k].fd = -1;
		}
	}
	t0 = tls_source_now();
	for (unsigned i = 0; i < opt.threads; i++)
		if (pthread_create(&threads[i].tid, NULL,
		    tls_source_thread_main, &threads[i]) != 0) {
			fprintf(stderr, "tls-source: pthread_create failed\n");
			return 1;
		}
	if (opt.mode == TLS_SOURCE_HOLD)
		tls_source_hold_wait(t0);
	for (unsigned i = 0; i < opt.threads; i++)
		pthread_join(threads[i].tid, NULL);
	elapsed = tls_source_now() - t0;
	work = opt.mode == TLS_SOURCE_WRAPPER ?
	    atomic_load(&stat_handshakes) : atomic_load(&stat_messages);
	printf("mode=%s sessions=%zu connections=%lld handshakes=%lld "
	    "resumed=%lld messages=%lld errors=%lld dropped=%lld elapsed=%.3f "
	    "rate=%.1f tls=%s cipher=%s\n", argv[optind], opt.sessions,
	    atomic_load(&stat_connections), atomic_load(&stat_handshakes),
	    atomic_load(&stat_resumed),
	    atomic_load(&stat_messages), atomic_load(&stat_errors),
	    atomic_load(&stat_dropped), elapsed,
	    elapsed > 0 ? (double)work / elapsed : 0.0,
	    tls_version[0] ? tls_version : "-",
	    tls_cipher[0] ? tls_cipher : "-");
	for (unsigned i = 0; i < opt.threads; i++) {
		for (size_t k = 0; k < threads[i].session_count; k++)
			SSL_free(threads[i].sessions[k].spare);
		xfree(&threads[i].sessions);
	}
	xfree(&threads);
	xfree(&opt.message);
	SSL_CTX_free(opt.ctx);
	return atomic_load(&stat_errors) ? 1 : 0;
}
