/*
 * config_params.c - every main.cf parameter postern knows.
 *
 * One table: name, Postfix default (postconf(5)) unless noted, type, and
 * for times the unit of a bare number. config.c reads nothing else, so a
 * name missing here is reported as unknown by `postern check`: add a
 * parameter here before a module reads it.
 *
 * Where postern differs from Postfix:
 * - disable_vrfy_command = yes (Postfix: no).
 * - relay_domains is empty (Postfix < 3.0: $mydestination).
 * - alias_maps/alias_database use lmdb:$config_directory/aliases.
 * - smtpd_tls_auth_only = yes (Postfix: no): no AUTH without TLS.
 * - directories are postern's (/var/spool/postern, /var/lib/postern).
 * - smtpd_greet_pause is postern's (Postfix has only postscreen).
 *
 * A default of NULL is computed by config.c: myhostname (gethostname(),
 * plus ".localdomain" without a dot), mydomain (myhostname minus its first
 * label, else "localdomain"), config_directory (the loaded directory).
 *
 * CONFIG_NO_EFFECT marks names a Postfix main.cf commonly sets that
 * postern accepts but does not act on yet (TLS, SASL, milters, ...): the
 * check warns instead of failing. Remove the flag when a module reads it.
 *
 * Per-transport parameters (TRANSPORT_destination_concurrency_limit, ...)
 * are not listed one by one: config_param() matches their suffix, as
 * Postfix creates them for each master.cf service.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mem.h"

#ifndef POSTERN_LIBEXEC
#define POSTERN_LIBEXEC "/usr/local/lib/postern"
#endif

#define S(n, d)		{ n, d, CONFIG_STRING, 0, 0 }
#define I(n, d)		{ n, d, CONFIG_INT, 0, 0 }
#define T(n, d, u)	{ n, d, CONFIG_TIME, u, 0 }
#define B(n, d)		{ n, d, CONFIG_BOOL, 0, 0 }
#define L(n, d)		{ n, d, CONFIG_LIST, 0, 0 }
#define LATER(n, d, t)	{ n, d, t, 's', CONFIG_NO_EFFECT }

const struct config_param config_params[] = {
	/* Names and addresses. */
	S("myhostname", NULL),
	S("mydomain", NULL),
	S("myorigin", "$myhostname"),
	L("mydestination", "$myhostname, localhost.$mydomain, localhost"),
	L("mynetworks", "127.0.0.0/8 [::1]/128"),
	LATER("mynetworks_style", "host", CONFIG_STRING),
	L("inet_interfaces", "all"),
	L("inet_protocols", "all"),
	L("relay_domains", ""),
	S("relayhost", ""),
	LATER("append_dot_mydomain", "no", CONFIG_BOOL),
	S("mail_name", "postern"),
	S("smtpd_banner", "$myhostname ESMTP $mail_name"),
	S("double_bounce_sender", "double-bounce"),
	LATER("empty_address_recipient", "MAILER-DAEMON", CONFIG_STRING),
	B("smtputf8_enable", "yes"),
	S("compatibility_level", "0"),	/* accepted, no meaning in postern */
	/* Set by the server skeleton for each process, as Postfix does, so
	 * master.cf can say "-o syslog_name=postern/$service_name". */
	S("service_name", ""),
	S("process_name", ""),

	/* Directories, users, processes. */
	S("config_directory", NULL),
	S("queue_directory", "/var/spool/postern"),
	S("daemon_directory", POSTERN_LIBEXEC),
	S("command_directory", "/usr/sbin"),
	S("data_directory", "/var/lib/postern"),
	S("process_id_directory", "pid"),
	S("mail_owner", "postern"),
	S("default_privs", "nobody"),
	S("setgid_group", "postdrop"),
	S("sendmail_path", "/usr/sbin/sendmail"),
	S("newaliases_path", "/usr/bin/newaliases"),
	S("mailq_path", "/usr/bin/mailq"),
	S("manpage_directory", "/usr/local/share/man"),
	S("sample_directory", "/etc/postern"),
	S("readme_directory", "no"),
	S("html_directory", "no"),
	S("maillog_file", ""),
	S("syslog_name", "postern"),
	LATER("syslog_facility", "mail", CONFIG_STRING),
	L("import_environment", "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ "
	    "LANG=C"),
	LATER("export_environment", "TZ MAIL_CONFIG LANG", CONFIG_LIST),
	I("max_use", "100"),
	T("max_idle", "100s", 's'),
	B("daemon_batch_scheduling", "yes"),
	I("default_process_limit", "100"),
	T("ipc_timeout", "3600s", 's'),
	T("ipc_idle", "5s", 's'),
	T("ipc_ttl", "1000s", 's'),
	LATER("daemon_timeout", "18000s", CONFIG_TIME),
	T("service_throttle_time", "60s", 's'),
	T("command_time_limit", "1000s", 's'),
	LATER("in_flow_delay", "1s", CONFIG_TIME),
	LATER("authorized_submit_users", "static:anyone", CONFIG_LIST),
	LATER("authorized_mailq_users", "static:anyone", CONFIG_LIST),
	LATER("authorized_flush_users", "static:anyone", CONFIG_LIST),
	LATER("default_database_type", "lmdb", CONFIG_STRING),
	LATER("lmdb_map_size", "16777216", CONFIG_INT),

	/* Queue and scheduling. */
	T("minimal_backoff_time", "300s", 's'),
	T("maximal_backoff_time", "4000s", 's'),
	T("maximal_queue_lifetime", "5d", 'd'),
	T("bounce_queue_lifetime", "5d", 'd'),
	T("queue_run_delay", "300s", 's'),
	T("delay_warning_time", "0h", 'h'),
	LATER("queue_minfree", "0", CONFIG_INT),
	I("qmgr_message_active_limit", "20000"),
	LATER("qmgr_message_recipient_limit", "20000", CONFIG_INT),
	I("default_destination_concurrency_limit", "20"),
	I("initial_destination_concurrency", "5"),
	I("default_destination_recipient_limit", "50"),
	LATER("default_destination_rate_delay", "0s", CONFIG_TIME),
	I("local_destination_concurrency_limit", "2"),
	I("local_destination_recipient_limit", "1"),
	/* qmgr per-destination concurrency (issue 4, qmgr/qmgr_dest.c) */
	I("default_destination_concurrency_failed_cohort_limit", "1"),
	L("transport_maps", ""),
	S("local_transport", "local"),	/* Postfix: local:$myhostname */
	S("virtual_transport", "virtual"),
	S("default_transport", "smtp"),
	S("relay_transport", "relay"),
	LATER("content_filter", "", CONFIG_STRING),
	LATER("receive_override_options", "", CONFIG_LIST),

	/* Notices and bounces. */
	LATER("notify_classes", "resource, software", CONFIG_LIST),
	S("2bounce_notice_recipient", "postmaster"),
	LATER("bounce_notice_recipient", "postmaster", CONFIG_STRING),
	LATER("delay_notice_recipient", "postmaster", CONFIG_STRING),
	LATER("error_notice_recipient", "postmaster", CONFIG_STRING),
	/* bounce daemon (issue 4) */
	I("bounce_size_limit", "50000"),

	/* Message limits and content. */
	I("message_size_limit", "10240000"),
	I("header_size_limit", "102400"),
	I("hopcount_limit", "100"),
	LATER("line_length_limit", "2048", CONFIG_INT),
	L("header_checks", ""),
	L("body_checks", ""),
	LATER("always_bcc", "", CONFIG_LIST),
	LATER("sender_canonical_maps", "", CONFIG_LIST),
	LATER("recipient_canonical_maps", "", CONFIG_LIST),
	LATER("canonical_maps", "", CONFIG_LIST),
	LATER("masquerade_domains", "", CONFIG_LIST),

	/* Local delivery and aliases. */
	L("alias_maps", "lmdb:$config_directory/aliases"),
	L("alias_database", "lmdb:$config_directory/aliases"),
	S("home_mailbox", "Maildir/"),
	S("mail_spool_directory", "/var/mail"),
	S("recipient_delimiter", "+"),
	LATER("propagate_unmatched_extensions", "canonical, virtual", CONFIG_LIST),
	L("allow_mail_to_commands", "alias, forward"),
	L("allow_mail_to_files", "alias, forward"),
	L("forward_path", "$home/.forward"),
	L("local_recipient_maps", "unix:passwd.byname $alias_maps"),
	LATER("mailbox_command", "", CONFIG_STRING),
	LATER("mailbox_transport", "", CONFIG_STRING),
	LATER("fallback_transport", "", CONFIG_STRING),
	LATER("luser_relay", "", CONFIG_STRING),
	LATER("mailbox_size_limit", "51200000", CONFIG_INT),
	LATER("biff", "no", CONFIG_BOOL),
	LATER("expand_owner_alias", "no", CONFIG_BOOL),
	LATER("owner_request_special", "yes", CONFIG_BOOL),
	L("prepend_delivered_header", "command, file, forward"),
	S("local_command_shell", ""),

	/* Virtual domains. */
	L("virtual_mailbox_domains", "$virtual_mailbox_maps"),
	L("virtual_mailbox_maps", ""),
	S("virtual_mailbox_base", ""),
	L("virtual_uid_maps", ""),
	L("virtual_gid_maps", ""),
	I("virtual_minimum_uid", "100"),
	LATER("virtual_mailbox_limit", "51200000", CONFIG_INT),
	L("virtual_alias_maps", "$virtual_maps"),
	L("virtual_maps", ""),		/* Postfix's old name */
	L("virtual_alias_domains", "$virtual_alias_maps"),
	I("virtual_alias_recursion_limit", "1000"),
	I("virtual_alias_expansion_limit", "1000"),

	/* SMTP server. */
	I("smtpd_recipient_limit", "1000"),
	LATER("smtpd_recipient_overshoot_limit", "1000", CONFIG_INT),
	T("smtpd_timeout", "300s", 's'),
	I("smtpd_hard_error_limit", "20"),
	I("smtpd_soft_error_limit", "10"),
	T("smtpd_error_sleep_time", "1s", 's'),
	I("smtpd_junk_command_limit", "100"),
	T("smtpd_greet_pause", "0s", 's'),
	B("smtpd_helo_required", "no"),
	L("smtpd_client_restrictions", ""),
	L("smtpd_helo_restrictions", ""),
	L("smtpd_sender_restrictions", ""),
	L("smtpd_relay_restrictions", "permit_mynetworks, "
	    "permit_sasl_authenticated, defer_unauth_destination"),
	L("smtpd_recipient_restrictions", ""),
	L("smtpd_data_restrictions", ""),
	LATER("smtpd_end_of_data_restrictions", "", CONFIG_LIST),
	B("strict_rfc821_envelopes", "no"),
	B("disable_vrfy_command", "yes"),
	/* Abuse limits: smtpd asks anvil (anvil/, smtpd_anvil.c). */
	I("smtpd_client_connection_count_limit", "50"),
	I("smtpd_client_connection_rate_limit", "0"),
	I("smtpd_client_message_rate_limit", "0"),
	I("smtpd_client_recipient_rate_limit", "0"),
	I("smtpd_client_auth_rate_limit", "0"),
	I("smtpd_client_auth_failure_limit", "10"),	/* postern's */
	I("smtpd_client_new_tls_session_rate_limit", "0"),
	L("smtpd_client_event_limit_exceptions",
	    "${smtpd_client_connection_limit_exceptions:$mynetworks}"),
	L("smtpd_client_connection_limit_exceptions", ""),	/* old name */
	T("anvil_rate_time_unit", "60s", 's'),
	T("anvil_status_update_time", "600s", 's'),
	B("smtpd_delay_reject", "yes"),
	B("smtpd_reject_unlisted_recipient", "yes"),
	B("smtpd_reject_unlisted_sender", "no"),
	I("unknown_local_recipient_reject_code", "550"),
	L("smtpd_discard_ehlo_keywords", ""),
	LATER("relay_recipient_maps", "", CONFIG_LIST),
	L("smtpd_sender_login_maps", ""),
	B("smtpd_sender_login_self", "yes"),	/* postern's */

	/* SASL AUTH in smtpd (smtpd_auth.c, smtpd_sasl.c, sasl/). */
	B("smtpd_sasl_auth_enable", "no"),
	S("smtpd_sasl_type", "cyrus"),
	S("smtpd_sasl_path", "smtpd"),
	L("smtpd_sasl_security_options", "noanonymous"),
	B("broken_sasl_auth_clients", "no"),
	S("cyrus_sasl_config_path", ""),
	B("smtpd_sasl_authenticated_header", "no"),
	/* TLS in smtpd (smtpd_tls.c, lib/tls.c). Protocols: postern's
	 * defaults; nothing below TLSv1.2 is ever enabled. */
	S("smtpd_tls_security_level", ""),
	S("smtpd_tls_cert_file", ""),
	S("smtpd_tls_key_file", "$smtpd_tls_cert_file"),
	L("smtpd_tls_chain_files", ""),
	B("smtpd_tls_wrappermode", "no"),
	S("smtpd_tls_protocols", ">=TLSv1.2"),
	S("smtpd_tls_mandatory_protocols", ">=TLSv1.2"),
	S("smtpd_tls_ciphers", "medium"),
	S("smtpd_tls_mandatory_ciphers", "medium"),
	B("smtpd_tls_auth_only", "yes"),	/* postern: yes */
	I("smtpd_tls_loglevel", "0"),
	B("smtpd_tls_received_header", "no"),
	/* Not yet implemented: TLS session caches, milters. */
	LATER("smtpd_tls_session_cache_database", "", CONFIG_STRING),
	LATER("smtp_tls_session_cache_database", "", CONFIG_STRING),
	LATER("smtp_sasl_security_options", "noplaintext, noanonymous",
	    CONFIG_LIST),
	LATER("smtpd_milters", "", CONFIG_LIST),
	LATER("non_smtpd_milters", "", CONFIG_LIST),
	LATER("milter_default_action", "tempfail", CONFIG_STRING),
	LATER("milter_protocol", "6", CONFIG_INT),

	/* SMTP client: not yet implemented (see "smtp client (issue 4)"). */
	LATER("smtp_bind_address", "", CONFIG_STRING),
	LATER("smtp_bind_address6", "", CONFIG_STRING),

	/* smtp client (issue 4): smtp/ (smtp, relay and lmtp services).
	 * smtp_tls_security_level: postern's default is may (Postfix's is
	 * empty, meaning none); an explicit empty value means none. */
	T("smtp_connect_timeout", "30s", 's'),
	T("smtp_helo_timeout", "300s", 's'),
	T("smtp_mail_timeout", "300s", 's'),
	T("smtp_rcpt_timeout", "300s", 's'),
	T("smtp_data_init_timeout", "120s", 's'),
	T("smtp_data_xfer_timeout", "180s", 's'),
	T("smtp_data_done_timeout", "600s", 's'),
	T("smtp_rset_timeout", "20s", 's'),
	S("smtp_helo_name", "$myhostname"),
	T("smtp_connection_cache_time_limit", "2s", 's'),
	I("smtp_mx_address_limit", "5"),
	S("smtp_tls_security_level", "may"),
	L("smtp_tls_policy_maps", ""),
	S("smtp_tls_CAfile", ""),
	S("smtp_tls_CApath", ""),
	I("smtp_tls_loglevel", "0"),
	B("smtp_sasl_auth_enable", "no"),
	L("smtp_sasl_password_maps", ""),

	{ NULL, NULL, CONFIG_STRING, 0, 0 },
};

/* Postfix's per-transport parameters: TRANSPORT + suffix. */
static const struct config_param transport_params[] = {
	I("*_destination_concurrency_limit",
	    "$default_destination_concurrency_limit"),
	I("*_destination_recipient_limit",
	    "$default_destination_recipient_limit"),
	I("*_initial_destination_concurrency",
	    "$initial_destination_concurrency"),
	/* qmgr per-destination concurrency (issue 4, qmgr/qmgr_dest.c) */
	I("*_destination_concurrency_failed_cohort_limit",
	    "$default_destination_concurrency_failed_cohort_limit"),
	T("*_destination_rate_delay", "$default_destination_rate_delay", 's'),
	T("*_time_limit", "$command_time_limit", 's'),
};

static const struct config_param **sorted;
static size_t sorted_count;

static int
param_compare(const void *a, const void *b)
{
	const struct config_param *const *pa = a, *const *pb = b;

	return strcmp((*pa)->name, (*pb)->name);
}

static void
sort_table(void)
{
	size_t i;

	for (sorted_count = 0; config_params[sorted_count].name != NULL;
	    sorted_count++)
		;
	sorted = xcalloc(sorted_count, sizeof(*sorted));
	for (i = 0; i < sorted_count; i++)
		sorted[i] = &config_params[i];
	qsort(sorted, sorted_count, sizeof(*sorted), param_compare);
}

static bool
transport_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= '0' && name[i] <= '9') && name[i] != '_')
			return false;
	return true;
}

const struct config_param *
config_param(const char *name)
{
	struct config_param key = { .name = name };
	const struct config_param *keyp = &key, **found;
	size_t i, len, suffix_len;

	if (sorted == NULL)
		sort_table();
	found = bsearch(&keyp, sorted, sorted_count, sizeof(*sorted),
	    param_compare);
	if (found != NULL)
		return *found;
	len = strlen(name);
	for (i = 0; i < sizeof(transport_params) / sizeof(transport_params[0]);
	    i++) {
		suffix_len = strlen(transport_params[i].name + 1);
		if (len > suffix_len && strcmp(name + len - suffix_len,
		    transport_params[i].name + 1) == 0 &&
		    transport_name_ok(name, len - suffix_len))
			return &transport_params[i];
	}
	return NULL;
}
