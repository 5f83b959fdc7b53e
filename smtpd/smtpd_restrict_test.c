/*
 * smtpd_restrict_test.c - tests for restriction lists and recipient
 * checks, with inline: tables and configuration set by config_set().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mem.h"
#include "smtpd_restrict.h"
#include "testing.h"

#define INSIDE	"127.0.0.1"
#define OUTSIDE	"192.0.2.1"

static void
setup(void)
{
	config_set("mydestination", "example.test, $myhostname");
	config_set("myhostname", "mx.example.test");
	config_set("mynetworks", "127.0.0.0/8");
	config_set("relay_domains", "relay.test");
	config_set("recipient_delimiter", "+");
	config_set("local_recipient_maps", "inline:{ alice=1, postmaster=1 }");
	config_set("virtual_mailbox_domains", "virtual.test, catch.test");
	config_set("virtual_mailbox_maps",
	    "inline:{ carol@virtual.test=x, @catch.test=y }");
	config_set("virtual_alias_domains", "valias.test");
	config_set("virtual_alias_maps",
	    "inline:{ info@valias.test=carol@virtual.test }");
	config_set("smtpd_client_restrictions", "");
	config_set("smtpd_helo_restrictions", "");
	config_set("smtpd_sender_restrictions", "");
	config_set("smtpd_relay_restrictions",
	    "permit_mynetworks, permit_sasl_authenticated, "
	    "reject_unauth_destination");
	config_set("smtpd_recipient_restrictions", "");
	config_set("smtpd_data_restrictions", "");
	config_set("smtpd_delay_reject", "yes");
	config_set("smtpd_reject_unlisted_recipient", "yes");
	config_set("smtpd_reject_unlisted_sender", "no");
	smtpd_restrict_init();
}

static void
check_rcpt(const char *client, const char *sender, const char *rcpt,
    const char *want)
{
	struct smtpd_check c = {
		.client_name = "unknown", .client_addr = client,
		.helo = "client.test", .sender = sender, .recipient = rcpt,
	};
	char *got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want))
		fprintf(stderr, "rcpt %s from %s: got \"%s\"\n", rcpt, client,
		    got ? got : "(null)");
	CHECK_STR(got, want);
	xfree(&got);
}

static void
test_relay_and_unlisted(void)
{
	static const struct {
		const char *client, *rcpt, *want;
	} cases[] = {
		{ OUTSIDE, "x@elsewhere.test",
		  "554 5.7.1 <x@elsewhere.test>: Relay access denied" },
		{ OUTSIDE, "user%evil.test@relay.test",
		  "554 5.7.1 <user%evil.test@relay.test>: Relay access "
		  "denied" },
		{ OUTSIDE, "nobody@example.test",
		  "550 5.1.1 <nobody@example.test>: Recipient address "
		  "rejected: User unknown in local recipient table" },
		{ OUTSIDE, "nobody@mx.example.test",
		  "550 5.1.1 <nobody@mx.example.test>: Recipient address "
		  "rejected: User unknown in local recipient table" },
		{ OUTSIDE, "dave@virtual.test",
		  "550 5.1.1 <dave@virtual.test>: Recipient address "
		  "rejected: User unknown in virtual mailbox table" },
		{ OUTSIDE, "x@valias.test",
		  "550 5.1.1 <x@valias.test>: Recipient address rejected: "
		  "User unknown in virtual alias table" },
		{ INSIDE, "nobody@example.test",
		  "550 5.1.1 <nobody@example.test>: Recipient address "
		  "rejected: User unknown in local recipient table" },
		{ INSIDE, "x@elsewhere.test", NULL },
		{ OUTSIDE, "alice@example.test", NULL },
		{ OUTSIDE, "Alice+Tag@EXAMPLE.test", NULL },
		{ OUTSIDE, "postmaster", NULL },
		/* localhost is ours only when mydestination says so. */
		{ OUTSIDE, "alice@localhost", "554 5.7.1 <alice@localhost>: "
		  "Relay access denied" },
		{ OUTSIDE, "carol@virtual.test", NULL },
		{ OUTSIDE, "anyone@catch.test", NULL },
		{ OUTSIDE, "info@valias.test", NULL },
		{ OUTSIDE, "x@relay.test", NULL },
		{ OUTSIDE, "x@sub.relay.test", NULL },
	};
	size_t i;

	setup();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_rcpt(cases[i].client, "a@b.test", cases[i].rcpt,
		    cases[i].want);
	config_set("smtpd_relay_restrictions",
	    "permit_mynetworks, defer_unauth_destination");
	check_rcpt(OUTSIDE, "a@b.test", "x@elsewhere.test",
	    "454 4.7.1 <x@elsewhere.test>: Relay access denied");
	config_set("smtpd_relay_restrictions", "permit_auth_destination, "
	    "reject");
	check_rcpt(OUTSIDE, "a@b.test", "alice@example.test", NULL);
	check_rcpt(OUTSIDE, "a@b.test", "x@elsewhere.test",
	    "554 5.7.1 <x@elsewhere.test>: Recipient address rejected: "
	    "Access denied");
	config_set("smtpd_reject_unlisted_recipient", "no");
	config_set("smtpd_relay_restrictions", "permit_mynetworks, "
	    "reject_unauth_destination");
	check_rcpt(OUTSIDE, "a@b.test", "nobody@example.test", NULL);
	config_set("smtpd_recipient_restrictions", "reject_unlisted_recipient");
	check_rcpt(OUTSIDE, "a@b.test", "nobody@example.test",
	    "550 5.1.1 <nobody@example.test>: Recipient address "
	    "rejected: User unknown in local recipient table");
	config_set("local_recipient_maps", "");
	check_rcpt(OUTSIDE, "a@b.test", "nobody@example.test", NULL);
	smtpd_restrict_free();
}

static void
test_config_errors(void)
{
	setup();
	config_set("smtpd_recipient_restrictions", "no_such_restriction");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test",
	    "451 4.3.5 Server configuration error");
	config_set("smtpd_recipient_restrictions", "check_sender_access");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test",
	    "451 4.3.5 Server configuration error");
	config_set("smtpd_recipient_restrictions",
	    "check_recipient_access inline:{ alice@example.test=FROBNICATE }");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test",
	    "451 4.3.5 Server configuration error");
	config_set("smtpd_recipient_restrictions",
	    "check_recipient_access nosuchtype:/x");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test",
	    "451 4.3.5 Server configuration error");
	smtpd_restrict_free();
}

static void
test_access_tables(void)
{
	setup();
	config_set("smtpd_sender_restrictions",
	    "check_sender_access inline:{ { spam@bad.test = REJECT no spam }, "
	    "{ bad2.test = 550 5.7.0 go away }, { bad3.test = 450 slow down }, ok.test=OK, num.test=1234, "
	    "<>=DUNNO, { sub.test = REJECT } }, reject_non_fqdn_sender");
	config_set("smtpd_relay_restrictions", "permit");
	check_rcpt(OUTSIDE, "spam@bad.test", "alice@example.test",
	    "554 5.7.1 <spam@bad.test>: Sender address rejected: no spam");
	check_rcpt(OUTSIDE, "x@bad2.test", "alice@example.test",
	    "550 5.7.0 <x@bad2.test>: Sender address rejected: go away");
	check_rcpt(OUTSIDE, "x@bad3.test", "alice@example.test",
	    "450 4.7.1 <x@bad3.test>: Sender address rejected: slow down");
	check_rcpt(OUTSIDE, "x@num.test", "alice@example.test", NULL);
	check_rcpt(OUTSIDE, "x@a.sub.test", "alice@example.test",
	    "554 5.7.1 <x@a.sub.test>: Sender address rejected: Access "
	    "denied");
	check_rcpt(OUTSIDE, "a@b", "alice@example.test",
	    "504 5.5.2 <a@b>: Sender address rejected: need "
	    "fully-qualified address");
	check_rcpt(OUTSIDE, "x@ok.test", "alice@example.test", NULL);
	check_rcpt(OUTSIDE, "ok@fine.test", "alice@example.test", NULL);
	check_rcpt(OUTSIDE, "", "alice@example.test", NULL);

	config_set("smtpd_sender_restrictions", "");
	config_set("smtpd_client_restrictions",
	    "check_client_access inline:{ 192.0.2=REJECT }");
	check_rcpt(OUTSIDE, "a@b.test", "alice@example.test",
	    "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access "
	    "denied");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test", NULL);
	config_set("smtpd_client_restrictions", "permit_mynetworks, reject");
	check_rcpt(INSIDE, "a@b.test", "alice@example.test", NULL);
	check_rcpt(OUTSIDE, "a@b.test", "alice@example.test",
	    "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access "
	    "denied");
	config_set("smtpd_client_restrictions", "");
	config_set("smtpd_recipient_restrictions",
	    "inline:{ alice@example.test=DEFER }");
	check_rcpt(OUTSIDE, "a@b.test", "alice@example.test",
	    "450 4.7.1 <alice@example.test>: Recipient address rejected: "
	    "Access denied");
	smtpd_restrict_free();
}

static void
test_helo(void)
{
	static const struct {
		const char *helo, *want;
	} cases[] = {
		{ "bad_helo!", "501 5.5.2 <bad_helo!>: Helo command rejected: "
		  "Invalid name" },
		{ "-x.test", "501 5.5.2 <-x.test>: Helo command rejected: "
		  "Invalid name" },
		{ "localhost", "504 5.5.2 <localhost>: Helo command rejected: "
		  "need fully-qualified hostname" },
		{ "client.test", NULL },
		{ "client.test.", NULL },
		{ "[192.0.2.1]", NULL },
	};
	size_t i;

	setup();
	config_set("smtpd_helo_restrictions", "reject_invalid_helo_hostname, "
	    "reject_non_fqdn_helo_hostname");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_check c = {
			.client_name = "unknown", .client_addr = OUTSIDE,
			.helo = cases[i].helo,
		};
		char *got = smtpd_restrict_check(SMTPD_STAGE_HELO, &c);

		CHECK_STR(got, cases[i].want);
		xfree(&got);
	}
	smtpd_restrict_free();
}

static void
test_stages(void)
{
	struct smtpd_check c = {
		.client_name = "unknown", .client_addr = OUTSIDE,
		.helo = "client.test", .sender = "a@b.test",
	};
	char *got;

	setup();
	config_set("smtpd_client_restrictions", "reject");
	config_set("smtpd_data_restrictions", "reject");
	got = smtpd_restrict_check(SMTPD_STAGE_CLIENT, &c);
	CHECK_STR(got, "554 5.7.1 <unknown[192.0.2.1]>: Client host "
	    "rejected: Access denied");
	xfree(&got);
	got = smtpd_restrict_check(SMTPD_STAGE_DATA, &c);
	CHECK_STR(got, "554 5.7.1 <DATA>: Data command rejected: Access "
	    "denied");
	xfree(&got);
	/* smtpd_delay_reject=no: the client list does not run at RCPT. */
	config_set("smtpd_delay_reject", "no");
	check_rcpt(OUTSIDE, "a@b.test", "alice@example.test", NULL);
	config_set("smtpd_reject_unlisted_sender", "yes");
	got = smtpd_restrict_check(SMTPD_STAGE_SENDER, &c);
	CHECK(got == NULL);	/* b.test is not ours: not checked */
	xfree(&got);
	c.sender = "ghost@example.test";
	got = smtpd_restrict_check(SMTPD_STAGE_SENDER, &c);
	CHECK_STR(got, "550 5.1.1 <ghost@example.test>: Sender address "
	    "rejected: User unknown in local recipient table");
	xfree(&got);
	smtpd_restrict_free();
}

/* Sender login checks: each case runs one restriction in
 * smtpd_sender_restrictions (evaluated at RCPT, smtpd_delay_reject=yes). */
#define NOT_OWNED(a, u)	"553 5.7.1 <" a ">: Sender address rejected: " \
	"not owned by user " u
#define NOT_LOGGED_IN(a) "553 5.7.1 <" a ">: Sender address rejected: " \
	"not logged in"

static void
test_sender_login(void)
{
	static const struct {
		const char *restriction, *user, *sender, *want;
	} cases[] = {
		/* Refused: someone else's address, an unlisted one, a listed
		 * one without AUTH. */
		{ "reject_sender_login_mismatch", "alice", "bob@example.test",
		  NOT_OWNED("bob@example.test", "alice") },
		{ "reject_sender_login_mismatch", "alice", "x@elsewhere.test",
		  NOT_OWNED("x@elsewhere.test", "alice") },
		{ "reject_sender_login_mismatch", NULL, "alice@example.test",
		  NOT_LOGGED_IN("alice@example.test") },
		{ "reject_sender_login_mismatch", "carol", "x@shared.test",
		  NOT_OWNED("x@shared.test", "carol") },
		/* The local part alone is a key for local domains only. */
		{ "reject_sender_login_mismatch", "alice",
		  "postmaster@elsewhere.test",
		  NOT_OWNED("postmaster@elsewhere.test", "alice") },
		/* regexp: tables see the whole address only. */
		{ "reject_sender_login_mismatch", "dave@ex.test",
		  "exact+x@pattern.test",
		  NOT_OWNED("exact+x@pattern.test", "dave@ex.test") },
		{ "reject_authenticated_sender_login_mismatch", "alice",
		  "bob@example.test", NOT_OWNED("bob@example.test", "alice") },
		{ "reject_authenticated_sender_login_mismatch", "alice",
		  "nobody@elsewhere.test",
		  NOT_OWNED("nobody@elsewhere.test", "alice") },
		{ "reject_known_sender_login_mismatch", "alice",
		  "bob@example.test", NOT_OWNED("bob@example.test", "alice") },
		{ "reject_known_sender_login_mismatch", NULL,
		  "bob@example.test", NOT_LOGGED_IN("bob@example.test") },
		{ "reject_unauthenticated_sender_login_mismatch", NULL,
		  "bob+tag@example.test", NOT_LOGGED_IN("bob+tag@example.test") },
		/* A login name that could break a reply line is shown
		 * harmless. */
		{ "reject_sender_login_mismatch", "eve\r\n250 ok",
		  "bob@example.test", NOT_OWNED("bob@example.test",
		  "eve??250 ok") },
		/* Accepted. */
		{ "reject_sender_login_mismatch", "alice", "alice@example.test",
		  NULL },
		{ "reject_sender_login_mismatch", "ALICE", "Alice@Example.TEST",
		  NULL },
		{ "reject_sender_login_mismatch", "alice",
		  "alice+lists@example.test", NULL },	/* no extension */
		{ "reject_sender_login_mismatch", "alice",
		  "postmaster@example.test", NULL },	/* local part */
		{ "reject_sender_login_mismatch", "alice", "postmaster",
		  NULL },	/* @$myorigin, a local domain */
		{ "reject_sender_login_mismatch", "bob", "team@example.test",
		  NULL },	/* second of "alice, bob" */
		{ "reject_sender_login_mismatch", "carol", "carol@shared.test",
		  NULL },	/* the address before "@shared.test" */
		{ "reject_sender_login_mismatch", "dave", "x@shared.test",
		  NULL },	/* "@shared.test" */
		{ "reject_sender_login_mismatch", "dave@ex.test",
		  "exact@pattern.test", NULL },	/* regexp: */
		{ "reject_sender_login_mismatch", "alice", "", NULL },
		{ "reject_sender_login_mismatch", NULL, "x@elsewhere.test",
		  NULL },	/* no owner, no login */
		{ "reject_authenticated_sender_login_mismatch", NULL,
		  "alice@example.test", NULL },
		{ "reject_known_sender_login_mismatch", "alice",
		  "x@elsewhere.test", NULL },	/* unknown: allowed */
		{ "reject_unauthenticated_sender_login_mismatch", "alice",
		  "bob@example.test", NULL },
		{ "reject_unauthenticated_sender_login_mismatch", NULL,
		  "x@elsewhere.test", NULL },
	};
	char dir[] = "/tmp/smtpd_restrict_test.XXXXXX", *path, *spec;
	FILE *f;
	size_t i;

	CHECK(mkdtemp(dir) != NULL);
	path = xasprintf("%s/login.regexp", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs("/^exact@pattern\\.test$/\tdave@ex.test\n", f);
	fclose(f);
	spec = xasprintf("inline:{ { alice@example.test = alice }, "
	    "{ bob@example.test = bob }, { team@example.test = alice, bob }, "
	    "postmaster=alice, "
	    "{ carol@shared.test = carol }, { @shared.test = dave } }, "
	    "regexp:%s", path);
	setup();
	config_set("smtpd_sender_login_maps", spec);
	config_set("smtpd_relay_restrictions", "permit");
	smtpd_restrict_init();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpd_check c = {
			.client_name = "unknown", .client_addr = OUTSIDE,
			.helo = "client.test", .sender = cases[i].sender,
			.recipient = "alice@example.test",
			.sasl_user = cases[i].user,
		};
		char *got;

		config_set("smtpd_sender_restrictions", cases[i].restriction);
		got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
		if (cases[i].want == NULL ? got != NULL : got == NULL ||
		    strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "%s user=%s sender=%s: got \"%s\"\n",
			    cases[i].restriction, cases[i].user ?
			    cases[i].user : "(none)", cases[i].sender,
			    got ? got : "(null)");
		CHECK_STR(got, cases[i].want);
		xfree(&got);
	}
	smtpd_restrict_free();
	unlink(path);
	rmdir(dir);
	xfree(&path);
	xfree(&spec);
}

/* Sender login checks without a usable map. */
static void
test_sender_login_config(void)
{
	struct smtpd_check c = {
		.client_name = "unknown", .client_addr = OUTSIDE,
		.helo = "client.test", .sender = "bob@example.test",
		.recipient = "alice@example.test", .sasl_user = "alice",
	};
	char *got;

	setup();
	config_set("smtpd_relay_restrictions", "permit");
	config_set("smtpd_sender_restrictions",
	    "reject_sender_login_mismatch");
	/* A table that does not open: mail waits. */
	config_set("smtpd_sender_login_maps", "lmdb:/nonexistent/logins");
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK_STR(got, "451 4.3.5 Server configuration error");
	xfree(&got);
	/* No table: alice owns only her own addresses
	 * (smtpd_sender_login_self), not bob's ... */
	config_set("smtpd_sender_login_maps", "");
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK_STR(got, "553 5.7.1 <bob@example.test>: Sender address "
	    "rejected: not owned by user alice");
	xfree(&got);
	c.sender = "alice+x@example.test";
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK(got == NULL);
	xfree(&got);
	c.sender = "bob@example.test";
	/* ... and with that off too, Postfix accepts every sender (and
	 * postern warns). */
	config_set("smtpd_sender_login_self", "no");
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK(got == NULL);
	xfree(&got);
	config_set("smtpd_sender_login_self", "yes");
	/* permit_sasl_authenticated matches a login only. */
	config_set("smtpd_sender_restrictions", "");
	config_set("smtpd_relay_restrictions",
	    "permit_sasl_authenticated, reject");
	c.recipient = "x@elsewhere.test";
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK(got == NULL);
	xfree(&got);
	c.sasl_user = "";
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK_STR(got, "554 5.7.1 <x@elsewhere.test>: Recipient address "
	    "rejected: Access denied");
	xfree(&got);
	c.sasl_user = NULL;
	got = smtpd_restrict_check(SMTPD_STAGE_RECIPIENT, &c);
	CHECK_STR(got, "554 5.7.1 <x@elsewhere.test>: Recipient address "
	    "rejected: Access denied");
	xfree(&got);
	smtpd_restrict_free();
}

int
main(void)
{
	log_init("smtpd_restrict_test", false);
	log_set_verbose(false);
	TEST_RUN(test_relay_and_unlisted);
	TEST_RUN(test_config_errors);
	TEST_RUN(test_access_tables);
	TEST_RUN(test_helo);
	TEST_RUN(test_stages);
	TEST_RUN(test_sender_login);
	TEST_RUN(test_sender_login_config);
	return TEST_DONE();
}
