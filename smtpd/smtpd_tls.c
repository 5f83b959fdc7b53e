/*
 * smtpd_tls.c - TLS for smtpd (see smtpd_tls.h).
 *
 * Levels (smtpd_tls_security_level, per service with master.cf -o):
 *   "" or none  no STARTTLS
 *   may         STARTTLS offered (smtpd_tls_protocols, smtpd_tls_ciphers)
 *   encrypt     STARTTLS required before MAIL: "530 5.7.0 Must issue a
 *               STARTTLS command first" (smtpd_tls_mandatory_protocols,
 *               smtpd_tls_mandatory_ciphers)
 * smtpd_tls_wrappermode = yes: TLS from the first byte (port 465), the
 * handshake before the greeting, with the mandatory settings.
 *
 * STARTTLS injection (CVE-2011-0411): anything the client sent after the
 * STARTTLS line and that we already read is thrown away before the
 * handshake; bytes that arrive later are fed to the handshake and break
 * it. After the handshake the session forgets what it learned in
 * plaintext (RFC 3207 4.2): HELO name and mail transaction, so that the
 * client must send EHLO again. A SASL login made before STARTTLS (only
 * possible with smtpd_tls_auth_only = no) is forgotten as well.
 *
 * Log lines as Postfix writes them:
 *   Anonymous TLS connection established from unknown[192.0.2.1]:
 *     TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
 *   SSL_accept error from unknown[192.0.2.1]: -1
 *   warning: TLS library problem: error:0A00010B:SSL routines::wrong
 *     version number
 * smtpd_tls_loglevel 0 still logs the "established" line (Postfix needs
 * 1 for it): admins grep for it, and it costs one line per session.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"
#include "tls.h"

enum smtpd_tls_level {
	SMTPD_TLS_NONE,
	SMTPD_TLS_MAY,
	SMTPD_TLS_ENCRYPT,
};

static SSL_CTX *smtpd_tls_ctx;
static enum smtpd_tls_level smtpd_tls_level;
static bool smtpd_tls_wrappermode;

void
smtpd_tls_init(void)
{
	const char *level = config_get("smtpd_tls_security_level");
	struct tls_server_config c;
	bool mandatory;
	char *error = NULL;

	SSL_CTX_free(smtpd_tls_ctx);	/* called again: tests */
	smtpd_tls_ctx = NULL;
	smtpd_tls_wrappermode = config_get_bool("smtpd_tls_wrappermode");
	if (*level == '\0' || strcasecmp(level, "none") == 0)
		smtpd_tls_level = SMTPD_TLS_NONE;
	else if (strcasecmp(level, "may") == 0)
		smtpd_tls_level = SMTPD_TLS_MAY;
	else if (strcasecmp(level, "encrypt") == 0)
		smtpd_tls_level = SMTPD_TLS_ENCRYPT;
	else {
		/* Refuse mail rather than take it in plaintext when the
		 * admin may have meant something stricter. */
		log_warn("smtpd_tls_security_level \"%s\": only none, may or "
		    "encrypt; using encrypt", level);
		smtpd_tls_level = SMTPD_TLS_ENCRYPT;
	}
	if (smtpd_tls_level == SMTPD_TLS_NONE && !smtpd_tls_wrappermode)
		return;
	mandatory = smtpd_tls_level == SMTPD_TLS_ENCRYPT ||
	    smtpd_tls_wrappermode;
	memset(&c, 0, sizeof(c));
	c.chain_files = config_get_list("smtpd_tls_chain_files");
	c.cert_file = config_get("smtpd_tls_cert_file");
	c.key_file = config_get("smtpd_tls_key_file");
	c.protocols = config_get(mandatory ? "smtpd_tls_mandatory_protocols" :
	    "smtpd_tls_protocols");
	c.ciphers = config_get(mandatory ? "smtpd_tls_mandatory_ciphers" :
	    "smtpd_tls_ciphers");
	smtpd_tls_ctx = tls_server_context(&c, &error);
	if (smtpd_tls_ctx == NULL) {
		log_warn("%s: disabling TLS support", error);
		xfree(&error);
	} else {
		/* No TLS 1.3 session tickets: nothing could resume them. */
		SSL_CTX_set_num_tickets(smtpd_tls_ctx, 0);
	}
	config_list_free(&c.chain_files);
}

bool
smtpd_tls_wrapper(void)
{
	return smtpd_tls_wrappermode;
}

bool
smtpd_tls_required(void)
{
	return smtpd_tls_level == SMTPD_TLS_ENCRYPT || smtpd_tls_wrappermode;
}

bool
smtpd_tls_offer(const struct smtpd_session *s)
{
	return smtpd_tls_ctx != NULL && smtpd_tls_level != SMTPD_TLS_NONE &&
	    s->tls == NULL;
}

bool
smtpd_tls_active(const struct smtpd_session *s)
{
	return s->tls_active;
}

const char *
smtpd_tls_info(const struct smtpd_session *s)
{
	return s->tls_active ? s->tls_info : NULL;
}

void
smtpd_tls_starttls(struct smtpd_session *s, const char *args)
{
	if (*args != '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls != NULL) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (!smtpd_tls_offer(s)) {
		smtpd_reply(s, "454 4.7.0 TLS not available due to local "
		    "problem");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	/* CVE-2011-0411: nothing sent in plaintext after STARTTLS counts. */
	buf_reset(&s->in);
	s->discard_line = false;
	s->wait = SMTPD_WAIT_TLS;
}

int
smtpd_tls_start(struct smtpd_session *s)
{
	if (smtpd_tls_ctx == NULL) {
		log_warn("%s[%s]: TLS is not available (see the earlier "
		    "certificate error)", s->client_name, s->client_addr);
		return -1;
	}
	ERR_clear_error();
	if ((s->tls = SSL_new(smtpd_tls_ctx)) == NULL ||
	    SSL_set_fd(s->tls, s->fd) != 1) {
		char *error = tls_error_text("cannot start TLS");

		log_warn("%s[%s]: %s", s->client_name, s->client_addr, error);
		xfree(&error);
		SSL_free(s->tls);
		s->tls = NULL;
		return -1;
	}
	SSL_set_accept_state(s->tls);
	s->tls_want = EVENT_READ;
	s->wait = SMTPD_WAIT_TLS;
	return 0;
}

/* Every queued OpenSSL error as Postfix's "TLS library problem". */
static void
smtpd_tls_log_errors(void)
{
	unsigned long e;
	char text[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		log_warn("TLS library problem: %s", text);
	}
}

int
smtpd_tls_handshake(struct smtpd_session *s)
{
	char info[256], peer[512];
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(s->tls);
	if (r != 1) {
		int error = SSL_get_error(s->tls, r);

		if (error == SSL_ERROR_WANT_READ) {
			s->tls_want = EVENT_READ;
			return 0;
		}
		if (error == SSL_ERROR_WANT_WRITE) {
			s->tls_want = EVENT_WRITE;
			return 0;
		}
		if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			log_info("SSL_accept error from %s[%s]: %s",
			    s->client_name, s->client_addr,
			    r == 0 || errno == 0 ? "lost connection" :
			    strerror(errno));
		} else if (ERR_GET_REASON(ERR_peek_error()) ==
		    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			/* Gone before or during the handshake (a port
			 * probe): Postfix's words, no library problem. */
			ERR_clear_error();
			log_info("SSL_accept error from %s[%s]: lost "
			    "connection", s->client_name, s->client_addr);
		} else
			log_info("SSL_accept error from %s[%s]: %d",
			    s->client_name, s->client_addr, r);
		smtpd_tls_log_errors();
		return -1;
	}
	s->tls_want = 0;
	s->tls_active = true;
	tls_describe(s->tls, info, sizeof(info));
	xfree(&s->tls_info);
	s->tls_info = xstrdup(info);
	snprintf(peer, sizeof(peer), "%s[%s]", s->client_name,
	    s->client_addr);
	tls_log_established(s->tls, "Anonymous", "from", peer);
	if (!SSL_session_reused(s->tls))
		smtpd_anvil_new_tls(s);	/* the new TLS session rate */
	if (s->state != SMTPD_STATE_GREET) {
		/* STARTTLS: RFC 3207 4.2, start over with EHLO; a login
		 * made in plaintext (smtpd_tls_auth_only = no) is forgotten
		 * too. */
		smtpd_session_reset(s);
		xfree(&s->helo);
		xfree(&s->sasl_user);
		xfree(&s->sasl_method);
	}
	return 1;
}

ssize_t
smtpd_tls_read(struct smtpd_session *s, void *buf, size_t size)
{
	int n;

	ERR_clear_error();
	n = SSL_read(s->tls, buf, size > INT_MAX ? INT_MAX : (int)size);
	if (n > 0) {
		s->tls_want = 0;
		return n;
	}
	switch (SSL_get_error(s->tls, n)) {
	case SSL_ERROR_WANT_READ:
		s->tls_want = 0;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->tls_want = EVENT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

ssize_t
smtpd_tls_write(struct smtpd_session *s, const void *buf, size_t size)
{
	int n;

	ERR_clear_error();
	n = SSL_write(s->tls, buf, size > INT_MAX ? INT_MAX : (int)size);
	if (n > 0) {
		s->tls_want = 0;
		return n;
	}
	switch (SSL_get_error(s->tls, n)) {
	case SSL_ERROR_WANT_READ:
		s->tls_want = EVENT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->tls_want = 0;
		errno = EAGAIN;
		return -1;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

bool
smtpd_tls_pending(const struct smtpd_session *s)
{
	return s->tls_active && SSL_pending(s->tls) > 0;
}

bool
smtpd_tls_early_talker(struct smtpd_session *s)
{
	char byte;
	int n;

	if (!s->tls_active)
		return false;
	ERR_clear_error();
	n = SSL_peek(s->tls, &byte, 1);
	ERR_clear_error();
	return n > 0;
}

void
smtpd_tls_close(struct smtpd_session *s)
{
	if (s->tls != NULL) {
		ERR_clear_error();
		if (s->tls_active)
			(void)SSL_shutdown(s->tls);	/* close_notify */
		ERR_clear_error();
		SSL_free(s->tls);
		s->tls = NULL;
	}
	s->tls_active = false;
	xfree(&s->tls_info);
}
