/*
 * smtpd_proto.c - the SMTP commands (RFC 5321, with Postfix's replies).
 *
 * Each handler answers with exactly one reply (DATA: 354 first, then the
 * final reply from smtpd_session.c). Restrictions run as Postfix runs them
 * (smtpd_restrict.c); with smtpd_delay_reject=yes, the default, client,
 * helo and sender restrictions wait until RCPT so that the log shows the
 * recipient. Rejections by restrictions are logged in Postfix's
 * "NOQUEUE: reject: RCPT from ..." format that fail2ban knows.
 *
 * Decided here: HELP answers 214 with the command list (Postfix has no
 * HELP); VRFY, when enabled, answers 252 for a listed recipient and the
 * unlisted-recipient rejection otherwise; a BDAT with unusable arguments
 * cannot be skipped (its length is unknown), so it closes the session.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_auth.h"
#include "smtpd_restrict.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"

/* Postfix's smtpd_junk_command_limit: past it, each NOOP, RSET or VRFY
 * counts as an error, so a client idling on NOOPs meets the hard error
 * limit instead of holding its session forever. */
static void
smtpd_proto_junk(struct smtpd_session *s)
{
	long long limit = config_get_int("smtpd_junk_command_limit");

	if (limit > 0 && ++s->junk > limit)
		s->errors++;
}

static void
smtpd_proto_check_init(struct smtpd_session *s, struct smtpd_check *c)
{
	memset(c, 0, sizeof(*c));
	c->client_name = s->client_name;
	c->client_addr = s->client_addr;
	c->helo = s->helo;
	c->sender = s->have_mail ? s->mail.sender : NULL;
	c->sasl_user = s->sasl_user;
}

void
smtpd_proto_greet(struct smtpd_session *s, bool early_talker)
{
	if (early_talker) {
		smtpd_session_log_reject(s, "CONNECT",
		    "554 5.5.1 Error: SMTP protocol synchronization", NULL);
		smtpd_reply(s, "554 5.5.1 Error: SMTP protocol synchronization");
		smtpd_session_hangup(s);
		return;
	}
	if (!config_get_bool("smtpd_delay_reject")) {
		struct smtpd_check c;

		smtpd_proto_check_init(s, &c);
		s->client_reject = smtpd_restrict_check(SMTPD_STAGE_CLIENT, &c);
	}
	smtpd_reply(s, "220 %s", config_get("smtpd_banner"));
}

/* EHLO keyword is not in smtpd_discard_ehlo_keywords. */
static bool
smtpd_proto_keyword(char **discard, const char *keyword)
{
	size_t i;

	for (i = 0; discard[i] != NULL; i++)
		if (strcasecmp(discard[i], keyword) == 0)
			return false;
	return true;
}

static void
smtpd_proto_helo(struct smtpd_session *s, const char *args, bool esmtp)
{
	char **discard, *reply;
	struct smtpd_check c;
	struct buf *ehlo;
	long long limit;
	char *end;

	/* The first word is the name; Postfix ignores any others. */
	end = xstrndup(args, strcspn(args, " \t"));
	if (!smtpd_cmd_helo_valid(end)) {
		xfree(&end);
		smtpd_reply(s, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	smtpd_proto_check_init(s, &c);
	c.helo = end;
	if (!config_get_bool("smtpd_delay_reject") &&
	    (reply = smtpd_restrict_check(SMTPD_STAGE_HELO, &c)) != NULL) {
		smtpd_session_log_reject(s, esmtp ? "EHLO" : "HELO", reply,
		    NULL);
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		xfree(&end);
		return;
	}
	smtpd_session_reset(s);
	xfree(&s->helo);
	s->helo = end;
	s->esmtp = esmtp;
	if (!esmtp) {
		smtpd_reply(s, "250 %s", config_get("myhostname"));
		return;
	}
	discard = config_get_list("smtpd_discard_ehlo_keywords");
	ehlo = buf_new(4096);
	(void)buf_printf(ehlo, "250-%s", config_get("myhostname"));
	if (smtpd_proto_keyword(discard, "PIPELINING"))
		(void)buf_add_str(ehlo, "\r\n250-PIPELINING");
	if (smtpd_proto_keyword(discard, "SIZE")) {
		limit = config_get_int("message_size_limit");
		if (limit > 0)
			(void)buf_printf(ehlo, "\r\n250-SIZE %lld", limit);
		else
			(void)buf_add_str(ehlo, "\r\n250-SIZE");
	}
	if (!config_get_bool("disable_vrfy_command") &&
	    smtpd_proto_keyword(discard, "VRFY"))
		(void)buf_add_str(ehlo, "\r\n250-VRFY");
	if (smtpd_tls_offer(s) && smtpd_proto_keyword(discard, "STARTTLS"))
		(void)buf_add_str(ehlo, "\r\n250-STARTTLS");
	if (smtpd_proto_keyword(discard, "AUTH"))
		smtpd_auth_ehlo(s, ehlo);
	if (smtpd_proto_keyword(discard, "ENHANCEDSTATUSCODES"))
		(void)buf_add_str(ehlo, "\r\n250-ENHANCEDSTATUSCODES");
	if (smtpd_proto_keyword(discard, "8BITMIME"))
		(void)buf_add_str(ehlo, "\r\n250-8BITMIME");
	if (smtpd_proto_keyword(discard, "DSN"))
		(void)buf_add_str(ehlo, "\r\n250-DSN");
	if (config_get_bool("smtputf8_enable") &&
	    smtpd_proto_keyword(discard, "SMTPUTF8"))
		(void)buf_add_str(ehlo, "\r\n250-SMTPUTF8");
	if (smtpd_proto_keyword(discard, "CHUNKING"))
		(void)buf_add_str(ehlo, "\r\n250-CHUNKING");
	/* The last line has a space after the code. */
	{
		char *last = strrchr(ehlo->data, '\n');

		if (last != NULL)
			last[4] = ' ';
		else
			ehlo->data[3] = ' ';
	}
	smtpd_reply(s, "%s", ehlo->data);
	buf_free(&ehlo);
	config_list_free(&discard);
}

static void
smtpd_proto_mail(struct smtpd_session *s, const char *args)
{
	struct smtpd_check c;
	char *reply = NULL;

	if (s->helo == NULL && config_get_bool("smtpd_helo_required")) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (smtpd_tls_required() && !smtpd_tls_active(s)) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (smtpd_cmd_mail(args, config_get_bool("strict_rfc821_envelopes"),
	    config_get_bool("smtputf8_enable"),
	    (uint64_t)config_get_int("message_size_limit"), &s->mail,
	    &reply) < 0) {
		if (strncmp(reply, "552", 3) == 0)
			smtpd_session_log_reject(s, "MAIL", reply, NULL);
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		return;
	}
	s->have_mail = true;
	smtpd_auth_mail(s);
	if (s->client_reject != NULL)
		reply = xstrdup(s->client_reject);
	else if (!config_get_bool("smtpd_delay_reject")) {
		smtpd_proto_check_init(s, &c);
		reply = smtpd_restrict_check(SMTPD_STAGE_SENDER, &c);
	}
	if (reply != NULL) {
		smtpd_session_log_reject(s, "MAIL", reply, NULL);
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		smtpd_session_reset(s);
		return;
	}
	smtpd_reply(s, "250 2.1.0 Ok");
}

static void
smtpd_proto_rcpt(struct smtpd_session *s, const char *args)
{
	struct smtpd_rcpt rcpt;
	struct smtpd_check c;
	char *reply = NULL;
	long long limit = config_get_int("smtpd_recipient_limit");

	if (!s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->bdat) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return;
	}
	s->rcpt_attempts++;
	if (limit > 0 && s->rcpt_count >= (size_t)limit) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtpd_cmd_rcpt(args, config_get_bool("strict_rfc821_envelopes"),
	    s->mail.smtputf8, &rcpt, &reply) < 0) {
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		return;
	}
	smtpd_proto_check_init(s, &c);
	c.recipient = rcpt.address;
	if (s->client_reject != NULL)
		reply = xstrdup(s->client_reject);
	else
		reply = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	if (reply != NULL) {
		smtpd_session_log_reject(s, "RCPT", reply, rcpt.address);
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		smtpd_rcpt_release(&rcpt);
		return;
	}
	if (s->rcpt_count == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_cap,
		    sizeof(*s->rcpts));
	}
	s->rcpts[s->rcpt_count++] = rcpt;
	smtpd_reply(s, "250 2.1.5 Ok");
}

/* Checks shared by DATA and the first BDAT; NULL when content may come. */
static char *
smtpd_proto_content_ok(struct smtpd_session *s, const char *stage)
{
	struct smtpd_check c;
	char *reply;

	if (!s->have_mail)
		return xstrdup("503 5.5.1 Error: need MAIL command");
	if (s->rcpt_count == 0)
		return xstrdup(s->rcpt_attempts == 0 ?
		    "503 5.5.1 Error: need RCPT command" :
		    "554 5.5.1 Error: no valid recipients");
	smtpd_proto_check_init(s, &c);
	if (s->rcpt_count == 1)
		c.recipient = s->rcpts[0].address;
	reply = smtpd_restrict_check(SMTPD_STAGE_DATA, &c);
	if (reply != NULL) {
		smtpd_session_log_reject(s, stage, reply, s->rcpts[0].address);
		return reply;
	}
	if (smtpd_session_open_cleanup(s) < 0)
		return xstrdup("451 4.3.0 Error: queue file write error");
	return NULL;
}

static void
smtpd_proto_data(struct smtpd_session *s, const char *args)
{
	char *reply;

	if (*args != '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->bdat) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if ((reply = smtpd_proto_content_ok(s, "DATA")) != NULL) {
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
		return;
	}
	smtpd_data_init(&s->data, (size_t)config_get_int("message_size_limit"));
	smtpd_session_start_data(s);
}

static void
smtpd_proto_bdat(struct smtpd_session *s, const char *args)
{
	uint64_t size;
	bool last;

	if (smtpd_cmd_bdat(args, &size, &last) < 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
		log_info("BDAT syntax error from %s[%s]: closing",
		    s->client_name, s->client_addr);
		smtpd_session_hangup(s);
		return;
	}
	if (!s->bdat) {
		/* The first chunk of a transaction (or a chunk without one:
		 * it is read, discarded and answered with the error). */
		xfree(&s->bdat_error);
		s->bdat_error = smtpd_proto_content_ok(s, "BDAT");
		smtpd_data_init(&s->data,
		    (size_t)config_get_int("message_size_limit"));
		s->bdat = s->have_mail;
	}
	smtpd_session_start_bdat(s, size, last);
}

static void
smtpd_proto_vrfy(struct smtpd_session *s, const char *args)
{
	struct smtpd_check c;
	struct addr_path path;
	const char *error;
	char *reply = NULL;

	if (config_get_bool("disable_vrfy_command")) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	if (*args == '\0' || addr_parse_path(args, false, &path, &error) < 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	if (*path.address == '\0') {
		addr_path_release(&path);
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	smtpd_proto_check_init(s, &c);
	c.recipient = path.address;
	if (config_get_bool("smtpd_reject_unlisted_recipient")) {
		int ours = smtpd_restrict_our_domain(addr_domain(path.address));

		if (ours > 0)
			reply = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT,
			    &c);
	}
	if (reply != NULL) {
		smtpd_session_log_reject(s, "VRFY", reply, path.address);
		smtpd_reply(s, "%s", reply);
		xfree(&reply);
	} else {
		smtpd_reply(s, "252 2.0.0 %s", path.address);
	}
	addr_path_release(&path);
}

/* A command line that is not printable is logged without its bytes. */
static char *
smtpd_proto_printable(const char *line)
{
	char *copy = xstrndup(line, 100), *p;

	for (p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return copy;
}

void
smtpd_proto_command(struct smtpd_session *s, const char *line)
{
	const char *args;
	enum smtpd_verb verb = smtpd_cmd_verb(line, &args);
	char *shown;

	if (smtpd_auth_continuing(s)) {
		/* A response inside an AUTH exchange, not a command. */
		s->stat_verb = SMTPD_VERB_AUTH;
		smtpd_auth_response(s, line);
		return;
	}
	if (smtpd_anvil_gate(s, verb, line))
		return;		/* MAIL, RCPT, AUTH, STARTTLS: limits first */
	s->stat_verb = verb;
	switch (verb) {
	case SMTPD_VERB_HELO:
		s->last_command = "HELO";
		smtpd_proto_helo(s, args, false);
		break;
	case SMTPD_VERB_EHLO:
		s->last_command = "EHLO";
		smtpd_proto_helo(s, args, true);
		break;
	case SMTPD_VERB_AUTH:
		s->last_command = "AUTH";
		smtpd_auth_command(s, args);
		break;
	case SMTPD_VERB_STARTTLS:
		s->last_command = "STARTTLS";
		smtpd_tls_starttls(s, args);
		break;
	case SMTPD_VERB_MAIL:
		s->last_command = "MAIL";
		smtpd_proto_mail(s, args);
		break;
	case SMTPD_VERB_RCPT:
		s->last_command = "RCPT";
		smtpd_proto_rcpt(s, args);
		break;
	case SMTPD_VERB_DATA:
		s->last_command = "DATA";
		smtpd_proto_data(s, args);
		break;
	case SMTPD_VERB_BDAT:
		s->last_command = "BDAT";
		smtpd_proto_bdat(s, args);
		break;
	case SMTPD_VERB_RSET:
		s->last_command = "RSET";
		smtpd_proto_junk(s);
		if (*args != '\0') {
			smtpd_reply(s, "501 5.5.4 Syntax: RSET");
			break;
		}
		smtpd_session_reset(s);
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTPD_VERB_NOOP:
		s->last_command = "NOOP";
		smtpd_proto_junk(s);
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTPD_VERB_QUIT:
		s->last_command = "QUIT";
		smtpd_reply(s, "221 2.0.0 Bye");
		smtpd_session_hangup(s);
		break;
	case SMTPD_VERB_HELP:
		s->last_command = "HELP";
		smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH "
		    "MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY");
		break;
	case SMTPD_VERB_VRFY:
		s->last_command = "VRFY";
		smtpd_proto_junk(s);
		smtpd_proto_vrfy(s, args);
		break;
	case SMTPD_VERB_FORBIDDEN:
		shown = smtpd_proto_printable(line);
		log_warn("non-SMTP command from %s[%s]: %s", s->client_name,
		    s->client_addr, shown);
		xfree(&shown);
		s->stat_verb = -1;	/* a failed "unknown" command */
		s->stats[SMTPD_VERB_UNKNOWN][1]++;
		smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. "
		    "Goodbye.");
		smtpd_session_hangup(s);
		break;
	default:
		s->last_command = "UNKNOWN";
		smtpd_reply(s, "502 5.5.2 Error: command not recognized");
		break;
	}
}
