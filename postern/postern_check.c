/*
 * postern_check.c - `postern check`: everything that would stop the mail
 * system from starting or working, each problem one line on stderr.
 *
 * Checked: main.cf syntax and values (config_check: every error as
 * "FILE, line N: text"), master.cf, that every daemon master.cf names is
 * executable, that queue_directory exists or can be created, that
 * mail_owner exists (when run as root), that every lookup table named
 * by a map parameter opens, and for each smtpd service (main.cf with its
 * -o overrides) that its TLS certificates and keys load and that Cyrus
 * SASL has its sasl service. Nothing is created or changed. These last
 * are "warning:" lines, not counted: `postern start` runs this check, and
 * a service without its certificate (an expired renewal, a fresh install)
 * must not keep mail on port 25 from flowing.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "maps.h"
#include "mastercf.h"
#include "mem.h"
#include "postern.h"
#include "tls.h"

/* Parameters whose values may name lookup tables. */
static const char *const postern_map_params[] = {
	"alias_maps", "virtual_alias_maps", "virtual_mailbox_maps",
	"virtual_mailbox_domains", "virtual_alias_domains",
	"virtual_uid_maps", "virtual_gid_maps", "header_checks",
	"body_checks", "local_recipient_maps", "mynetworks",
	"transport_maps", "relay_domains", "relay_recipient_maps",
	"smtpd_sender_login_maps", "canonical_maps",
	"sender_canonical_maps", "recipient_canonical_maps",
	NULL,
};

bool
postern_is_table(const char *item)
{
	const char *colon = strchr(item, ':');
	bool non_hex = false;

	if (colon == NULL || colon == item)
		return false;
	for (const char *p = item; p < colon; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return false;
		if ((*p >= 'g' && *p <= 'z') || *p == '_')
			non_hex = true;
	}
	/* "dead:beef::1" is an address: every letter is a hex digit. */
	return non_hex;
}

static int
postern_check_config(void)
{
	const struct config_error *errors;
	size_t count;

	config_check();
	errors = config_errors(&count);
	for (size_t i = 0; i < count; i++) {
		if (errors[i].line > 0)
			fprintf(stderr, "%s, line %d: %s\n", errors[i].file,
			    errors[i].line, errors[i].text);
		else
			fprintf(stderr, "%s: %s\n", errors[i].file,
			    errors[i].text);
	}
	return (int)count;
}

static int
postern_check_mastercf(const char *config_dir)
{
	char *path = xasprintf("%s/master.cf", config_dir);
	const char *daemon_dir = config_get("daemon_directory");
	char *error = NULL, *daemon;
	struct mastercf cf;
	int problems = 0;

	memset(&cf, 0, sizeof(cf));
	if (mastercf_load(path, &cf, &error) < 0) {
		fprintf(stderr, "%s\n", error != NULL ? error : path);
		xfree(&error);
		xfree(&path);
		return 1;
	}
	for (size_t i = 0; i < cf.count; i++) {
		const struct mastercf_service *s = &cf.services[i];

		if (s->command[0] == '/')
			daemon = xstrdup(s->command);
		else
			daemon = xasprintf("%s/%s", daemon_dir, s->command);
		if (access(daemon, X_OK) < 0) {
			fprintf(stderr, "%s, line %d: service %s: %s: %s\n",
			    path, s->line, s->name, daemon,
			    errno == ENOENT ? "no such program" :
			    strerror(errno));
			problems++;
		}
		xfree(&daemon);
	}
	mastercf_release(&cf);
	xfree(&path);
	return problems;
}

static int
postern_check_queue_dir(void)
{
	const char *queue_dir = config_get("queue_directory");
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (*queue_dir != '/') {
		fprintf(stderr, "main.cf: queue_directory = %s: not an "
		    "absolute path\n", queue_dir);
		return 1;
	}
	if (stat(queue_dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		fprintf(stderr, "main.cf: queue_directory = %s: not a "
		    "directory\n", queue_dir);
		return 1;
	}
	if (strlen(queue_dir) >= sizeof(parent)) {
		fprintf(stderr, "main.cf: queue_directory: path too long\n");
		return 1;
	}
	/* Missing: it can be created when its nearest existing ancestor is
	 * a writable directory. */
	memcpy(parent, queue_dir, strlen(queue_dir) + 1);
	while ((slash = strrchr(parent, '/')) != NULL) {
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(parent, &st) == 0)
			break;
		if (slash == parent)
			break;
	}
	if (!S_ISDIR(st.st_mode) || access(parent, W_OK | X_OK) < 0) {
		fprintf(stderr, "main.cf: queue_directory = %s: does not exist "
		    "and cannot be created in %s\n", queue_dir, parent);
		return 1;
	}
	return 0;
}

static int
postern_check_owner(void)
{
	const char *owner = config_get("mail_owner");
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;	/* everything runs as the invoking user */
	pw = getpwnam(owner);
	if (pw == NULL) {
		fprintf(stderr, "main.cf: mail_owner = %s: no such user\n",
		    owner);
		return 1;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "main.cf: mail_owner = %s: must not be "
		    "root\n", owner);
		return 1;
	}
	return 0;
}

/* A table named twice ($alias_maps in local_recipient_maps) is checked
 * once. */
static bool
postern_seen(char ***seen_r, size_t *count_r, const char *spec)
{
	for (size_t i = 0; i < *count_r; i++)
		if (strcmp((*seen_r)[i], spec) == 0)
			return true;
	*seen_r = xreallocarray(*seen_r, *count_r + 1, sizeof(**seen_r));
	(*seen_r)[(*count_r)++] = xstrdup(spec);
	return false;
}

static int
postern_check_maps(void)
{
	char **seen = NULL;
	size_t seen_count = 0;
	int problems = 0;

	for (size_t i = 0; postern_map_params[i] != NULL; i++) {
		const char *param = postern_map_params[i];
		char **items;

		if (!config_known(param))
			continue;
		items = config_get_list(param);
		for (size_t j = 0; items[j] != NULL; j++) {
			char *error = NULL;
			struct map *m;

			if (!postern_is_table(items[j]) ||
			    postern_seen(&seen, &seen_count, items[j]))
				continue;
			m = map_open(items[j], &error);
			if (m == NULL) {
				fprintf(stderr, "main.cf: %s: %s\n", param,
				    error != NULL ? error : items[j]);
				problems++;
			}
			map_close(&m);
			xfree(&error);
		}
		config_list_free(&items);
	}
	for (size_t i = 0; i < seen_count; i++)
		xfree(&seen[i]);
	xfree(&seen);
	return problems;
}

/* A parameter as an smtpd service sees it: its -o override, else main.cf. */
static const char *
postern_service_param(const struct mastercf_service *s, const char *name)
{
	size_t len = strlen(name);

	for (char **o = s->overrides; o != NULL && *o != NULL; o++)
		if (strncmp(*o, name, len) == 0 && (*o)[len] == '=')
			return *o + len + 1;
	return config_get(name);
}

static bool
postern_yes(const char *value)
{
	return strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0;
}

/* TLS and SASL settings of one smtpd service: warnings only. */
static void
postern_check_smtpd(const char *path, const struct mastercf_service *s,
    bool have_sasl_service)
{
	const char *level = postern_service_param(s, "smtpd_tls_security_level");
	bool wrapper = postern_yes(postern_service_param(s,
	    "smtpd_tls_wrappermode"));
	bool required = wrapper || strcmp(level, "encrypt") == 0;

	if (required || strcmp(level, "may") == 0) {
		char **chains = config_split_list(postern_service_param(s,
		    "smtpd_tls_chain_files"));
		struct tls_server_config c = {
			.chain_files = chains,
			.cert_file = postern_service_param(s,
			    "smtpd_tls_cert_file"),
			.key_file = postern_service_param(s,
			    "smtpd_tls_key_file"),
			.protocols = postern_service_param(s,
			    "smtpd_tls_protocols"),
			.ciphers = postern_service_param(s, "smtpd_tls_ciphers"),
		};
		char *error = NULL;
		struct ssl_ctx_st *ctx = tls_init() < 0 ? NULL :
		    tls_server_context(&c, &error);

		if (ctx == NULL)
			fprintf(stderr, "warning: %s, line %d: service %s: "
			    "TLS: %s%s\n", path, s->line, s->name,
			    error != NULL ? error : "OpenSSL does not start",
			    required ? " (the service refuses every client)" :
			    " (STARTTLS is not offered)");
		tls_context_free(ctx);
		xfree(&error);
		config_list_free(&chains);
	}
	if (postern_yes(postern_service_param(s, "smtpd_sasl_auth_enable")) &&
	    strcmp(postern_service_param(s, "smtpd_sasl_type"), "cyrus") ==
	    0 && !have_sasl_service) {
		fprintf(stderr, "warning: %s, line %d: service %s: "
		    "smtpd_sasl_type = cyrus needs the sasl service (\"sasl "
		    "unix - - n - - sasl\") in master.cf\n", path, s->line,
		    s->name);
	}
}

static void
postern_check_smtpd_services(const char *config_dir)
{
	char *path = xasprintf("%s/master.cf", config_dir);
	char *error = NULL;
	struct mastercf cf;
	bool have_sasl = false;

	memset(&cf, 0, sizeof(cf));
	if (mastercf_load(path, &cf, &error) < 0) {
		/* postern_check_mastercf() said it. */
		xfree(&error);
		xfree(&path);
		return;
	}
	for (size_t i = 0; i < cf.count; i++)
		if (strcmp(cf.services[i].name, "sasl") == 0)
			have_sasl = true;
	for (size_t i = 0; i < cf.count; i++) {
		const char *cmd = strrchr(cf.services[i].command, '/');

		cmd = cmd != NULL ? cmd + 1 : cf.services[i].command;
		if (strcmp(cmd, "smtpd") == 0)
			postern_check_smtpd(path, &cf.services[i], have_sasl);
	}
	mastercf_release(&cf);
	xfree(&path);
}

int
postern_check(const char *config_dir)
{
	int problems;

	config_load(config_dir);
	problems = postern_check_config();
	problems += postern_check_mastercf(config_dir);
	problems += postern_check_queue_dir();
	problems += postern_check_owner();
	problems += postern_check_maps();
	postern_check_smtpd_services(config_dir);
	return problems;
}
