/*
 * config.h - main.cf: Postfix's syntax, Postfix's names.
 *
 * main.cf is "name = value" lines, "#" comments, indented continuation
 * lines, and $name / ${name} expansion at lookup time (with Postfix's
 * ${name?value} and ${name:value} forms). Every parameter postern knows is
 * in one table with its Postfix default (config_params.c); a name not in
 * the table is an error for `postern check` and a warning for daemons.
 * Values set with -o name=value (master.cf) override main.cf.
 *
 * The configuration is process-global: daemons load it once at start (and
 * again on reload) before they jail themselves.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* One problem found while reading: file, line, text. */
struct config_error {
	char *file;
	int line;
	char *text;
};

/* Read DIR/main.cf (a missing file means all defaults). Replaces any
 * earlier configuration but keeps -o overrides. Problems are appended to
 * the list returned by config_errors(); returns 0 when there were none,
 * -1 otherwise (the values that parsed are still usable). */
int config_load(const char *dir);
/* The configuration directory last loaded ("/etc/postern" by default). */
const char *config_dir(void);
/* Problems from the last config_load() and config_check(). */
const struct config_error *config_errors(size_t *count_r);
/* Check values: numbers, times, sizes, booleans parse; unknown names are
 * reported. Returns 0 or -1 and appends to config_errors(). */
int config_check(void);

/* Set a value from "name=value" (an -o override). -1 when malformed. */
int config_override(const char *assignment);
/* Set a value directly (tests, make-run defaults). */
void config_set(const char *name, const char *value);

/* The expanded value: main.cf or override, else the default, else "".
 * The string lives until the next config_load()/config_set(). */
const char *config_get(const char *name);
/* The raw, unexpanded value (postconf -n style), or NULL when unset. */
const char *config_get_raw(const char *name);
bool config_is_set(const char *name);
/* Typed getters; a malformed value logs a warning and gives the default.
 * Times take Postfix's units s, m, h, d, w (default unit: seconds unless
 * the parameter's default says otherwise). Sizes are bytes. */
long long config_get_int(const char *name);
long long config_get_time(const char *name);	/* seconds */
bool config_get_bool(const char *name);		/* yes/no, true/false */
/* Split a list value on commas and/or whitespace into a NULL-terminated
 * array of fresh strings; free with config_list_free(). */
char **config_get_list(const char *name);
char **config_split_list(const char *value);
void config_list_free(char ***list_r);

/* Iterate parameters set in main.cf or overrides, in file order; returns
 * false at the end. For `postern check` and `postern config -n`. */
bool config_next_set(size_t *iter, const char **name_r, const char **raw_r);
/* true when postern knows the parameter. */
bool config_known(const char *name);

/* Like config_load() but from memory: text of len bytes named file in
 * errors (fuzzing, tests). The configuration directory is unchanged. */
int config_load_text(const char *text, size_t len, const char *file);
/* Note the $names a value uses (postern check passes master.cf -o values)
 * so a user-defined parameter used only there is not reported unknown. A
 * name that is not in the table is accepted when a value refers to it, as
 * Postfix does ("mua_client_restrictions = ..." for submission). */
void config_reference(const char *value);

/* The parameter table (config_params.c), the single source of truth for
 * names, defaults and types. */
enum config_type {
	CONFIG_STRING,
	CONFIG_INT,		/* decimal, sizes in bytes */
	CONFIG_TIME,		/* number with an optional unit s m h d w */
	CONFIG_BOOL,		/* yes/no, true/false, 1/0 */
	CONFIG_LIST,		/* comma/space separated, {...} one item */
};

/* Known to Postfix users and accepted, but postern does nothing with it
 * yet: config_check() logs a warning (never silently ignored). */
#define CONFIG_NO_EFFECT	0x1

struct config_param {
	const char *name;
	const char *default_value;	/* NULL: computed (myhostname, ...) */
	enum config_type type;
	char unit;			/* CONFIG_TIME: unit of a bare number */
	int flags;
};

/* The table, ended by an entry whose name is NULL. */
extern const struct config_param config_params[];
/* The entry for name, or NULL. Per-transport names such as
 * "smtp_destination_concurrency_limit" resolve to a static entry whose
 * default refers to the default_ parameter. */
const struct config_param *config_param(const char *name);
/* The raw default (postconf -d), computed ones included; "" when unknown.
 * The string lives until the next config_load(). */
const char *config_default(const char *name);

#endif
