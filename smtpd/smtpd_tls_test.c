/*
 * smtpd_tls_test.c - unit tests for smtpd_tls.c: STARTTLS replies, the
 * discarded plaintext (CVE-2011-0411), levels, and a whole non-blocking
 * handshake and data exchange over a socketpair against an OpenSSL
 * client (no network).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "mem.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"
#include "testing.h"

static char test_dir[] = "/tmp/smtpd_tls_test.XXXXXX";
static char *chain_file;

static void
session_init(struct smtpd_session *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->state = SMTPD_STATE_COMMAND;
	s->stat_verb = -1;
	buf_init(&s->in, 4096);
	buf_init(&s->out, 4096);
	s->client_name = xstrdup("unknown");
	s->client_addr = xstrdup("192.0.2.1");
}

static void
session_release(struct smtpd_session *s)
{
	smtpd_tls_close(s);
	buf_release(&s->in);
	buf_release(&s->out);
	xfree(&s->client_name);
	xfree(&s->client_addr);
	xfree(&s->helo);
}

/* A key and self-signed certificate in one chain file. */
static void
make_chain_file(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *fp;

	CHECK(mkdtemp(test_dir) != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"smtpd.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, key, EVP_sha256());
	chain_file = xasprintf("%s/chain.pem", test_dir);
	fp = fopen(chain_file, "w");
	PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	PEM_write_X509(fp, x);
	fclose(fp);
	chmod(chain_file, 0600);
	EVP_PKEY_free(key);
	X509_free(x);
}

static void
test_without_context(void)
{
	struct smtpd_session s;

	/* No certificate could be loaded: not offered, 454. */
	config_set("smtpd_tls_security_level", "may");
	config_set("smtpd_tls_chain_files", "/nonexistent/smtpd_tls_test.pem");
	smtpd_tls_init();
	session_init(&s);
	CHECK(!smtpd_tls_offer(&s));
	smtpd_tls_starttls(&s, "extra");
	CHECK(strncmp(s.out.data, "501 5.5.4", 9) == 0);
	buf_reset(&s.out);
	smtpd_tls_starttls(&s, "");
	CHECK(strncmp(s.out.data, "454 4.7.0", 9) == 0);
	CHECK(s.wait == SMTPD_WAIT_NONE);
	CHECK(!smtpd_tls_required());
	CHECK(!smtpd_tls_active(&s));
	CHECK(smtpd_tls_info(&s) == NULL);
	session_release(&s);
}

static void
test_starttls_reply(void)
{
	struct smtpd_session s;

	config_set("smtpd_tls_chain_files", chain_file);
	smtpd_tls_init();
	session_init(&s);
	CHECK(smtpd_tls_offer(&s));
	/* Pipelined plaintext after STARTTLS is thrown away. */
	(void)buf_add_str(&s.in, "RSET\r\nMAIL FROM:<evil@example.org>\r\n");
	smtpd_tls_starttls(&s, "");
	CHECK_STR(s.out.data, "220 2.0.0 Ready to start TLS\r\n");
	CHECK(s.in.len == 0);
	CHECK(s.wait == SMTPD_WAIT_TLS);
	session_release(&s);
}

static void
test_levels(void)
{
	config_set("smtpd_tls_security_level", "encrypt");
	smtpd_tls_init();
	CHECK(smtpd_tls_required());
	CHECK(!smtpd_tls_wrapper());
	config_set("smtpd_tls_security_level", "");
	config_set("smtpd_tls_wrappermode", "yes");
	smtpd_tls_init();
	CHECK(smtpd_tls_required());
	CHECK(smtpd_tls_wrapper());
	config_set("smtpd_tls_wrappermode", "no");
	config_set("smtpd_tls_security_level", "may");
	smtpd_tls_init();
	CHECK(!smtpd_tls_required());
}

/* One step of the client's handshake or I/O; true when it needs more. */
static bool
client_again(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static void
test_handshake_and_data(void)
{
	struct smtpd_session s;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *client;
	int sv[2], server_done = 0, client_done = 0, i, r;
	char buf[64];
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	session_init(&s);
	s.fd = sv[0];
	s.helo = xstrdup("before.tls");
	client = SSL_new(cctx);
	SSL_set_fd(client, sv[1]);
	SSL_set_connect_state(client);

	CHECK(smtpd_tls_start(&s) == 0);
	CHECK(s.wait == SMTPD_WAIT_TLS);
	for (i = 0; i < 100 && !(server_done && client_done); i++) {
		if (!client_done) {
			r = SSL_do_handshake(client);
			if (r == 1)
				client_done = 1;
			else
				CHECK(client_again(client, r));
		}
		if (!server_done) {
			r = smtpd_tls_handshake(&s);
			CHECK(r >= 0);
			if (r == 1)
				server_done = 1;
			else
				CHECK(s.tls_want != 0);
		}
	}
	CHECK(server_done && client_done);
	CHECK(smtpd_tls_active(&s));
	CHECK(s.helo == NULL);		/* RFC 3207: EHLO again */
	CHECK(smtpd_tls_info(&s) != NULL &&
	    strncmp(smtpd_tls_info(&s), "TLSv1.3 with cipher TLS_", 24) == 0);

	/* Nothing to read yet: EAGAIN, no extra event needed. */
	n = smtpd_tls_read(&s, buf, sizeof(buf));
	CHECK(n < 0 && errno == EAGAIN && s.tls_want == 0);
	CHECK(SSL_write(client, "EHLO c\r\n", 8) == 8);
	n = smtpd_tls_read(&s, buf, 3);
	CHECK(n == 3 && memcmp(buf, "EHL", 3) == 0);
	CHECK(smtpd_tls_pending(&s));	/* the rest waits inside OpenSSL */
	n = smtpd_tls_read(&s, buf, sizeof(buf));
	CHECK(n == 5 && memcmp(buf, "O c\r\n", 5) == 0);
	CHECK(!smtpd_tls_pending(&s));
	CHECK(smtpd_tls_write(&s, "250 ok\r\n", 8) == 8);
	for (i = 0; i < 10; i++) {
		r = SSL_read(client, buf, sizeof(buf));
		if (r > 0 || !client_again(client, r))
			break;
	}
	CHECK(r == 8 && memcmp(buf, "250 ok\r\n", 8) == 0);
	/* The client's close_notify reads as EOF. */
	(void)SSL_shutdown(client);
	n = smtpd_tls_read(&s, buf, sizeof(buf));
	CHECK(n == 0);

	smtpd_tls_close(&s);
	CHECK(s.tls == NULL && !s.tls_active && s.tls_info == NULL);
	close(sv[0]);
	s.fd = -1;
	session_release(&s);
	SSL_free(client);
	SSL_CTX_free(cctx);
	close(sv[1]);
}

static void
test_handshake_failure(void)
{
	struct smtpd_session s;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	session_init(&s);
	s.fd = sv[0];
	CHECK(smtpd_tls_start(&s) == 0);
	/* A plaintext client after STARTTLS, then EOF. */
	CHECK(write(sv[1], "RSET\r\nQUIT\r\n", 12) == 12);
	close(sv[1]);
	CHECK(smtpd_tls_handshake(&s) < 0);
	CHECK(!smtpd_tls_active(&s));
	close(sv[0]);
	s.fd = -1;
	session_release(&s);
}

int
main(void)
{
	make_chain_file();
	TEST_RUN(test_without_context);
	TEST_RUN(test_starttls_reply);
	TEST_RUN(test_levels);
	config_set("smtpd_tls_chain_files", chain_file);
	smtpd_tls_init();
	TEST_RUN(test_handshake_and_data);
	TEST_RUN(test_handshake_failure);
	unlink(chain_file);
	rmdir(test_dir);
	xfree(&chain_file);
	return TEST_DONE();
}
