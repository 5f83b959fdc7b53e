/*
 * smtp.h - the smtp/lmtp delivery agent's modules.
 *
 *   smtp_reply.c    reply lines and EHLO keywords (pure; fuzzed)
 *   smtp_data.c     content writer (LF -> CRLF, dot-stuffing), xtext
 *   smtp_policy.c   TLS policy words, SASL PLAIN/LOGIN framing
 *   smtp_route.c    nexthop syntax, MX order, addresses to try (lib/dns)
 *   smtp_io.c       line I/O with deadlines (smtp_io.h)
 *   smtp_tls.c      OpenSSL context and STARTTLS handshake
 *   smtp_session.c  one SMTP/LMTP conversation
 *   smtp_deliver.c  the service: routes, tries targets, caches a connection
 */
#ifndef POSTERN_SMTP_H
#define POSTERN_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "delivery.h"
#include "dns.h"
#include "queue.h"

/* --- smtp_reply.c -------------------------------------------------- */

#define SMTP_REPLY_MAX	(64 * 1024)	/* all lines of one reply */

struct smtp_reply {
	int code;		/* 0 until the last line was added */
	char dsn[16];		/* "5.1.1" from the text, else "5.0.0" */
	struct buf text;	/* each line's text after "NNN-", '\n'-joined */
	size_t lines;
	int first_code;		/* of the first line, while incomplete */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_release(struct smtp_reply *r);
/* Add one line (without CRLF). 1: the reply is complete; 0: more lines
 * follow; -1: malformed (no 3-digit code 200..599, a code that differs
 * from the first line's, a bad separator, over SMTP_REPLY_MAX). */
int smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len);
/* "550 5.1.1 text" with the lines joined by spaces: fresh. */
char *smtp_reply_string(const struct smtp_reply *r);

/* What the server announced in its EHLO reply. */
struct smtp_ext {
	bool pipelining;
	bool size;		/* SIZE offered */
	unsigned long long size_max;	/* 0: no limit given */
	bool eightbitmime;
	bool smtputf8;
	bool dsn;
	bool starttls;
	bool auth_plain;
	bool auth_login;
};

/* Read the keywords of a complete EHLO/LHLO reply (lines after the
 * first). Unknown keywords are ignored. */
void smtp_ext_parse(const struct smtp_reply *r, struct smtp_ext *ext);

/* --- smtp_data.c --------------------------------------------------- */

struct smtp_data {
	bool bol;		/* at the beginning of a line */
	bool cr;		/* the last byte was a CR */
	unsigned long long lines;	/* line ends seen (for sizes) */
};

void smtp_data_init(struct smtp_data *d);
/* Append the SMTP form of len content bytes (LF line ends) to out: each
 * LF becomes CRLF, a '.' at the beginning of a line is doubled (RFC 5321
 * 4.5.2). A CR already before an LF is kept single. 0 or -1 (out full). */
int smtp_data_encode(struct smtp_data *d, const char *data, size_t len,
    struct buf *out);
/* End the content: CRLF if the last line had none, then ".\r\n". */
int smtp_data_finish(struct smtp_data *d, struct buf *out);
/* xtext (RFC 3461 4) of s: fresh. */
char *smtp_xtext_encode(const char *s);

/* --- smtp_policy.c ------------------------------------------------- */

enum smtp_tls_level {
	SMTP_TLS_NONE,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_VERIFY,
};

struct smtp_tls_policy {
	enum smtp_tls_level level;
	/* verify: names the certificate must match; "hostname" is the MX
	 * host name, "nexthop" the nexthop domain, "dot-nexthop" any
	 * subdomain of it, anything else a literal name. NULL-terminated;
	 * NULL means { "hostname" }. */
	char **match;
	const char *nexthop;	/* set by the caller, not owned */
};

/* "none", "may", "encrypt", "verify" (also "secure", taken as verify;
 * "dane" and "dane-only" are not supported yet: -1). */
int smtp_tls_level_parse(const char *word, enum smtp_tls_level *level_r);
const char *smtp_tls_level_name(enum smtp_tls_level level);
/* A smtp_tls_policy_maps value: "LEVEL [match=a:b:c] [other=...]".
 * Unknown attributes are ignored (ciphers=, protocols=, ...). 0, or -1
 * with *error_r fresh; release either way. */
int smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *p,
    char **error_r);
void smtp_tls_policy_release(struct smtp_tls_policy *p);

/* Split a smtp_sasl_password_maps value "user:password" at the first
 * colon. -1 when there is none or the user is empty. */
int smtp_sasl_split(const char *value, char **user_r, char **password_r);
/* The AUTH PLAIN initial response: base64("" NUL user NUL password).
 * Fresh. */
char *smtp_sasl_plain(const char *user, const char *password);
/* base64 of len bytes: fresh. */
char *smtp_base64(const void *data, size_t len);

/* --- smtp_route.c -------------------------------------------------- */

#define SMTP_PORT	25
#define LMTP_PORT	24

struct smtp_nexthop {
	char *host;		/* domain, host name or address; NULL: unix */
	char *path;		/* unix socket path (LMTP "unix:") */
	int port;
	bool mx;		/* look MX records up (no [brackets]) */
	bool lmtp;		/* "unix:"/"inet:" form, or an lmtp service */
};

/* Parse "domain", "domain:port", "[host]", "[host]:port", "unix:/path",
 * "inet:host:port", "inet:[host]:port", "inet:host". lmtp: the service
 * speaks LMTP (default port 24, "host" means no MX lookup as in Postfix's
 * lmtp). 0, or -1 with *error_r static. Release with
 * smtp_nexthop_release() either way. */
int smtp_nexthop_parse(const char *text, bool lmtp, struct smtp_nexthop *n,
    const char **error_r);
void smtp_nexthop_release(struct smtp_nexthop *n);

/* Sort by preference, lowest first, and put equal preferences in random
 * order using random_fn (returns a value in [0, n)). */
void smtp_mx_sort(struct dns_mx *mx, size_t count,
    size_t (*random_fn)(size_t n));

struct smtp_target {
	char *host;		/* name for logs and certificate checks */
	char addr[DNS_ADDR_MAX];	/* "" for a unix socket */
	int family;		/* AF_INET, AF_INET6, AF_UNIX */
	int port;
	char *path;		/* AF_UNIX only */
};

/* Why a nexthop gave no target: everybody gets this result. */
struct smtp_failure {
	enum delivery_status status;
	char dsn[16];
	char *reason;		/* fresh */
};

void smtp_failure_set(struct smtp_failure *f, enum delivery_status status,
    const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void smtp_failure_release(struct smtp_failure *f);

/* The addresses to try for n, in order: MX hosts by preference (every
 * address of each, at most smtp_settings.mx_address_limit in all), or
 * the host itself. 0 with *targets_r (free with
 * smtp_targets_free), or -1 with *fail set (bounce for a null MX 5.1.10
 * or NXDOMAIN 5.1.2, defer 4.4.3 for a failed lookup). myhostname: an MX
 * host by that name makes the mail bounce 5.4.6 (a loop). */
int smtp_route(const struct smtp_nexthop *n, const char *myhostname,
    struct smtp_target **targets_r, size_t *count_r,
    struct smtp_failure *fail);
void smtp_targets_free(struct smtp_target **targets_r, size_t count);
/* "host[addr]:port" or "host[path]" for logs: fresh. */
char *smtp_target_label(const struct smtp_target *t);

/* --- smtp_tls.c ---------------------------------------------------- */

/* The client context: TLS 1.2+, CA file/path from smtp_tls_CAfile and
 * smtp_tls_CApath (else the system bundle). Before the jail. 0 or -1
 * with *error_r fresh (TLS then stays off: "may" goes in clear,
 * "encrypt" defers). */
int smtp_tls_init(char **error_r);
bool smtp_tls_available(void);

/* --- smtp_session.c ------------------------------------------------ */

struct smtp_io;

struct smtp_conn {
	struct smtp_io *io;
	bool lmtp;
	bool tls;
	struct smtp_ext ext;
	char *label;		/* "host[addr]:port" */
	char *host;		/* for "host X said" */
	char *key;		/* nexthop text: reuse only for the same one */
	int64_t idle_since;	/* io_now_ms() when the last request ended */
	unsigned uses;		/* requests served */
};

/* Timeouts and names the session uses (from main.cf; smtp_deliver.c). */
struct smtp_settings {
	int connect_timeout_ms;
	int helo_timeout_ms;
	int mail_timeout_ms;
	int rcpt_timeout_ms;
	int data_init_timeout_ms;
	int data_xfer_timeout_ms;
	int data_done_timeout_ms;
	int rset_timeout_ms;
	const char *helo_name;
	size_t mx_address_limit;	/* addresses tried per request; 0: all */
	bool sasl_enable;
	struct maplist *sasl_maps;	/* may be NULL */
	unsigned tls_loglevel;
};

extern struct smtp_settings smtp_settings;

/* Connect to t, read the greeting, EHLO/LHLO (HELO after a 5xx EHLO),
 * STARTTLS and AUTH as policy and settings ask. NULL with *fail set when
 * this target failed: fail->status deferred means try the next target
 * (the last error is what the recipients get when none is left);
 * *tls_failed_r is set when a TLS handshake failed at "may" (the caller
 * reconnects in clear). sasl_keys: names to look passwords up under,
 * NULL-terminated, may be NULL. */
struct smtp_conn *smtp_session_open(const struct smtp_target *t, bool lmtp,
    const struct smtp_tls_policy *policy, bool skip_tls,
    const char *const *sasl_keys, struct smtp_failure *fail,
    bool *tls_failed_r);

/* One mail transaction for the recipients whose pending[i] is true: sets
 * their results and clears pending[i] for each final one. Returns 0 when
 * the connection can serve another transaction, -1 when it broke (421,
 * timeout, lost connection, protocol error): *fail then tells what the
 * still-pending recipients get if no other target takes them. */
int smtp_session_deliver(struct smtp_conn *c, struct delivery_request *req,
    struct queue_file *q, bool *pending, struct smtp_failure *fail);
/* RSET before reuse: 0 when the server answered 250. */
int smtp_session_rset(struct smtp_conn *c);
/* QUIT (without waiting long), close, free. */
void smtp_session_close(struct smtp_conn **c_r, bool quit);

/* --- smtp_deliver.c ------------------------------------------------ */

/* pre_jail: resolver, TLS context, maps, settings. */
void smtp_init(void);
/* .service: one delivery/1 request. */
void smtp_service(int fd);
/* .idle: close (QUIT) a cached connection idle for
 * smtp_connection_cache_time_limit. */
void smtp_idle(void);
/* The delivery itself (delivery_serve's callback). */
void smtp_deliver(struct delivery_request *req, struct queue_file *q);

#endif
