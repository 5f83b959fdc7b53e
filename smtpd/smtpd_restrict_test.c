/*
 * smtpd_restrict_test.c - tests for restriction lists and recipient
 * checks, with inline: tables and configuration set by config_set().
 */
#include <stdio.h>
#include <string.h>

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
	return TEST_DONE();
}
