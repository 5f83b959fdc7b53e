/*
 * config.c - main.cf: parse, store, expand at lookup, typed getters.
 *
 * Syntax as Postfix: "name = value"; blank lines and lines whose first
 * non-space character is "#" are ignored (also between a line and its
 * continuations); a line that starts with whitespace continues the
 * previous logical line, joined with one space; name and value are
 * trimmed; the last of two settings of one name wins (logged).
 *
 * Expansion happens in config_get(): $name, ${name}, $(name), ${name?text}
 * (text when name's expanded value is not empty), ${name:text} (text when
 * it is empty), and Postfix 3's ${name?{text}}, ${name:{text}} and
 * ${name?{text1}:{text2}}; "$$" is a literal "$". A "$" not followed by
 * a name is kept literally. Nesting deeper than CONFIG_DEPTH_MAX (a loop such as
 * a = $b, b = $a), an unbalanced "{" or a result over CONFIG_VALUE_MAX
 * makes the whole value empty; config_get() logs that once and
 * config_check() reports it with file and line.
 * XXX Postfix 3.0's comparisons (${name==text?...}) are not implemented.
 *
 * Layers, highest first: overrides (config_override(), master.cf -o;
 * kept across config_load()), values from main.cf or config_set(), the
 * table default (config_params.c). A name outside the table is reported
 * by config_check() unless some value refers to it with $name, which is
 * how Postfix admins define their own macros.
 *
 * Strings returned by config_get() live until the next config_load():
 * config_set() and config_override() retire the cache instead of freeing
 * it, so a caller holding a value across them stays safe.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "mem.h"

#ifndef POSTERN_SYSCONF
#define POSTERN_SYSCONF "/etc/postern"
#endif

#define CONFIG_FILE_MAX		(4 * 1024 * 1024)
#define CONFIG_LINE_MAX		(256 * 1024)	/* one logical line */
#define CONFIG_VALUE_MAX	(1024 * 1024)	/* one value, expanded */
#define CONFIG_DEPTH_MAX	20
#define CONFIG_BUCKETS		256

struct config_entry {
	char *name;
	char *value;		/* main.cf or config_set(); NULL: unset */
	char *file;		/* where value came from */
	int line;
	char *override;		/* -o value; NULL: none */
	char *expanded;		/* config_get() cache */
	bool referenced;	/* some current value uses $name */
	bool warned;		/* problem with this name already logged */
	struct config_entry *next;	/* hash chain */
};

struct config_pair {
	char *name;
	char *value;
};

struct config_expand {
	char *error;		/* first problem, fresh string */
};

static struct config_entry **entries;	/* in order of creation */
static size_t entry_count, entry_cap;
static struct config_entry *buckets[CONFIG_BUCKETS];
static struct config_pair *overrides;
static size_t override_count;
static char **extra_refs;		/* from config_reference() */
static size_t extra_ref_count;
static char **retired;
static size_t retired_count, retired_cap;
static struct config_error *errors;
static size_t error_count, load_error_count;
static char *directory;
static char *hostname;

static int expand_text(const char *text, size_t len, struct buf *out,
    int depth, struct config_expand *st);

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static unsigned
hash_name(const char *name)
{
	unsigned h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % CONFIG_BUCKETS;
}

static struct config_entry *
entry_find(const char *name, bool create)
{
	unsigned h = hash_name(name);
	struct config_entry *e;

	for (e = buckets[h]; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	if (!create)
		return NULL;
	if (entry_count == entry_cap) {
		entry_cap = entry_cap ? entry_cap * 2 : 64;
		entries = xreallocarray(entries, entry_cap, sizeof(*entries));
	}
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->next = buckets[h];
	buckets[h] = e;
	entries[entry_count++] = e;
	return e;
}

static void
retire(char **s_r)
{
	if (*s_r == NULL)
		return;
	if (retired_count == retired_cap) {
		retired_cap = retired_cap ? retired_cap * 2 : 64;
		retired = xreallocarray(retired, retired_cap,
		    sizeof(*retired));
	}
	retired[retired_count++] = *s_r;
	*s_r = NULL;
}

/* A value changed: every cached expansion may be stale. */
static void
invalidate(void)
{
	size_t i;

	for (i = 0; i < entry_count; i++) {
		retire(&entries[i]->expanded);
		entries[i]->warned = false;
	}
}

static void
free_entries(void)
{
	size_t i;

	for (i = 0; i < entry_count; i++) {
		xfree(&entries[i]->name);
		xfree(&entries[i]->value);
		xfree(&entries[i]->file);
		xfree(&entries[i]->override);
		xfree(&entries[i]->expanded);
		xfree(&entries[i]);
	}
	entry_count = 0;
	memset(buckets, 0, sizeof(buckets));
	for (i = 0; i < retired_count; i++)
		xfree(&retired[i]);
	retired_count = 0;
}

static void
clear_errors(size_t keep)
{
	while (error_count > keep) {
		error_count--;
		xfree(&errors[error_count].file);
		xfree(&errors[error_count].text);
	}
}

static void __attribute__((format(printf, 3, 4)))
add_error(const char *file, int line, const char *fmt, ...)
{
	struct config_error *e;
	struct buf text;
	va_list ap;
	int saved_errno = errno;	/* for %m */

	errors = xreallocarray(errors, error_count + 1, sizeof(*errors));
	e = &errors[error_count++];
	e->file = xstrdup(file);
	e->line = line;
	buf_init(&text, 4096);
	errno = saved_errno;
	va_start(ap, fmt);
	(void)buf_vprintf(&text, fmt, ap);	/* truncated is fine */
	va_end(ap);
	e->text = buf_strdup(&text);
	buf_release(&text);
	if (line > 0)
		log_warn("%s, line %d: %s", file, line, e->text);
	else
		log_warn("%s: %s", file, e->text);
}

/* Quote at most 60 bytes of s for an error message. */
static char *
excerpt(const char *s, size_t len)
{
	if (len > 60)
		return xasprintf("%.60s...", s);
	return xstrndup(s, len);
}

static void
compute_hostname(void)
{
	char name[256];

	xfree(&hostname);
	if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	/* Postfix: a name without a dot gets ".localdomain". */
	if (strchr(name, '.') == NULL)
		hostname = xasprintf("%s.localdomain", name);
	else
		hostname = xstrdup(name);
}

/* Append the expanded value of name (one level deeper) to out. */
static int
expand_name(const char *name, struct buf *out, int depth,
    struct config_expand *st)
{
	struct config_entry *e = entry_find(name, false);
	const struct config_param *p;
	const char *raw = NULL, *dot;
	struct buf host;
	int r;

	if (depth >= CONFIG_DEPTH_MAX) {
		if (st->error == NULL)
			st->error = xasprintf("$%s: expansion nested more "
			    "than %d deep (a loop?)", name, CONFIG_DEPTH_MAX);
		return -1;
	}
	if (e != NULL)
		raw = e->override ? e->override : e->value;
	if (raw == NULL && (p = config_param(name)) != NULL)
		raw = p->default_value;
	if (raw != NULL)
		return expand_text(raw, strlen(raw), out, depth + 1, st);
	/* Computed defaults. */
	if (strcmp(name, "myhostname") == 0) {
		if (hostname == NULL)
			compute_hostname();
		raw = hostname;
	} else if (strcmp(name, "config_directory") == 0) {
		raw = config_dir();
	} else if (strcmp(name, "mydomain") == 0) {
		buf_init(&host, CONFIG_VALUE_MAX);
		r = expand_name("myhostname", &host, depth + 1, st);
		dot = strchr(host.data, '.');
		if (r == 0)
			r = buf_add_str(out, dot != NULL && dot[1] != '\0' ?
			    dot + 1 : "localdomain");
		buf_release(&host);
		return r;
	}
	if (raw != NULL && buf_add_str(out, raw) < 0)
		return -1;
	return 0;
}

static int
too_long(struct config_expand *st)
{
	if (st->error == NULL)
		st->error = xasprintf("value longer than %d bytes after "
		    "expansion", CONFIG_VALUE_MAX);
	return -1;
}

/* Length of the "{...}" group at text (text[0] == '{'), braces included;
 * 0 when it is not closed. */
static size_t
brace_group(const char *text, size_t len)
{
	size_t i, level = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '{')
			level++;
		else if (text[i] == '}' && --level == 0)
			return i + 1;
	}
	return 0;
}

static size_t
skip_space(const char *text, size_t i, size_t len)
{
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	return i;
}

/* Postfix 3's "{value}" and "{value1}:{value2}" (only after "?") forms
 * of conditional text: the parts without their braces. false when text
 * is not in that form, and is then taken as it stands. */
static bool
braced_conditional(const char *text, size_t len, char op,
    const char **part1_r, size_t *len1_r, const char **part2_r,
    size_t *len2_r)
{
	size_t i = skip_space(text, 0, len), n;

	if (i >= len || text[i] != '{' || (n = brace_group(text + i,
	    len - i)) == 0)
		return false;
	*part1_r = text + i + 1;
	*len1_r = n - 2;
	*part2_r = NULL;
	*len2_r = 0;
	i = skip_space(text, i + n, len);
	if (i == len)
		return true;
	/* The caller uses the outputs only when this returns true. */
	if (op != '?' || text[i] != ':')
		return false;
	i = skip_space(text, i + 1, len);
	if (i >= len || text[i] != '{' || (n = brace_group(text + i,
	    len - i)) == 0 || skip_space(text, i + n, len) != len)
		return false;
	*part2_r = text + i + 1;
	*len2_r = n - 2;
	return true;
}

/* ${name?text} / ${name:text}: text runs to the matching close. */
static int
expand_conditional(const char *name, char op, const char *text, size_t len,
    struct buf *out, int depth, struct config_expand *st)
{
	const char *part1, *part2 = NULL;
	size_t len1, len2 = 0;
	struct buf value;
	bool nonempty;
	int r;

	buf_init(&value, CONFIG_VALUE_MAX);
	r = expand_name(name, &value, depth, st);
	nonempty = value.len > 0;
	buf_release(&value);
	if (r < 0)
		return -1;
	if (braced_conditional(text, len, op, &part1, &len1, &part2, &len2)) {
		text = part1;
		len = len1;
	}
	if ((op == '?') == nonempty)
		return expand_text(text, len, out, depth, st);
	if (part2 != NULL)
		return expand_text(part2, len2, out, depth, st);
	return 0;
}

/* Expand "{name}", "{name?text}", "(name)" after a "$"; *used_r is the
 * length consumed from text (which starts at the open bracket). */
static int
expand_bracket(const char *text, size_t len, size_t *used_r,
    struct buf *out, int depth, struct config_expand *st)
{
	char open = text[0], close = open == '{' ? '}' : ')';
	size_t i = 1, start, level;
	char *name;
	int r;

	while (i < len && name_char(text[i]))
		i++;
	if (i == 1 || i >= len || (text[i] != close && text[i] != '?' &&
	    text[i] != ':')) {
		if (st->error == NULL)
			st->error = xasprintf("bad or unbalanced $%c...%c",
			    open, close);
		return -1;
	}
	name = xstrndup(text + 1, i - 1);
	if (text[i] == close) {
		r = expand_name(name, out, depth, st);
		*used_r = i + 1;
		xfree(&name);
		return r;
	}
	start = i + 1;
	for (level = 1, i = start; i < len; i++) {
		if (text[i] == open)
			level++;
		else if (text[i] == close && --level == 0)
			break;
	}
	if (i >= len) {
		if (st->error == NULL)
			st->error = xasprintf("unbalanced $%c%s%c", open,
			    name, text[start - 1]);
		xfree(&name);
		return -1;
	}
	r = expand_conditional(name, text[start - 1], text + start,
	    i - start, out, depth, st);
	*used_r = i + 1;
	xfree(&name);
	return r;
}

static int
expand_text(const char *text, size_t len, struct buf *out, int depth,
    struct config_expand *st)
{
	size_t i = 0, j, used;
	char *name;
	int r;

	while (i < len) {
		if (text[i] != '$' || i + 1 >= len) {
			if (buf_add_char(out, text[i++]) < 0)
				return too_long(st);
			continue;
		}
		i++;
		if (text[i] == '$') {
			if (buf_add_char(out, '$') < 0)
				return too_long(st);
			i++;
		} else if (text[i] == '{' || text[i] == '(') {
			if (expand_bracket(text + i, len - i, &used, out,
			    depth, st) < 0)
				return -1;
			i += used;
		} else if (name_char(text[i])) {
			for (j = i; j < len && name_char(text[j]); j++)
				;
			name = xstrndup(text + i, j - i);
			r = expand_name(name, out, depth, st);
			xfree(&name);
			if (r < 0)
				return st->error ? -1 : too_long(st);
			i = j;
		} else if (buf_add_char(out, '$') < 0) {
			return too_long(st);
		}
	}
	return 0;
}

/* The expanded value of name into a fresh string; NULL with *error_r set
 * on a problem. */
static char *
expand_value(const char *name, char **error_r)
{
	struct config_expand st = { NULL };
	struct buf out;
	char *s;

	buf_init(&out, CONFIG_VALUE_MAX);
	if (expand_name(name, &out, -1, &st) < 0) {
		if (st.error == NULL)
			st.error = xasprintf("value longer than %d bytes "
			    "after expansion", CONFIG_VALUE_MAX);
		*error_r = st.error;
		buf_release(&out);
		return NULL;
	}
	s = buf_strdup(&out);
	buf_release(&out);
	return s;
}

/* Mark every $name that value uses as referenced. */
static void
scan_references(const char *value, bool persistent)
{
	const char *p = value, *start;
	char *name;
	struct config_entry *e;

	while ((p = strchr(p, '$')) != NULL) {
		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(')
			p++;
		for (start = p; name_char(*p); p++)
			;
		if (p == start)
			continue;
		name = xstrndup(start, (size_t)(p - start));
		if (persistent) {
			extra_refs = xreallocarray(extra_refs,
			    extra_ref_count + 1, sizeof(*extra_refs));
			extra_refs[extra_ref_count++] = name;
		} else {
			e = entry_find(name, true);
			e->referenced = true;
			xfree(&name);
		}
	}
}

static bool
is_referenced(const struct config_entry *e)
{
	size_t i;

	if (e->referenced)
		return true;
	for (i = 0; i < extra_ref_count; i++)
		if (strcmp(extra_refs[i], e->name) == 0)
			return true;
	return false;
}

static void
trim(const char **s_r, size_t *len_r)
{
	const char *s = *s_r;
	size_t len = *len_r;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	*s_r = s;
	*len_r = len;
}

/* One logical line "name = value". */
static void
parse_assignment(const char *text, size_t len, const char *file, int line)
{
	const char *eq = memchr(text, '=', len), *name = text, *value;
	size_t name_len, value_len, i;
	struct config_entry *e;
	char *bad, *name_str;

	if (eq == NULL) {
		bad = excerpt(text, len);
		add_error(file, line, "missing '=' in \"%s\"", bad);
		xfree(&bad);
		return;
	}
	name_len = (size_t)(eq - text);
	trim(&name, &name_len);
	value = eq + 1;
	value_len = len - (size_t)(value - text);
	trim(&value, &value_len);
	for (i = 0; i < name_len && name_char(name[i]); i++)
		;
	if (name_len == 0 || i < name_len) {
		bad = excerpt(name, name_len);
		add_error(file, line, "bad parameter name \"%s\"", bad);
		xfree(&bad);
		return;
	}
	name_str = xstrndup(name, name_len);
	e = entry_find(name_str, true);
	xfree(&name_str);
	if (e->value != NULL)
		log_warn("%s, line %d: %s is set again (line %d); the later "
		    "value wins", file, line, e->name, e->line);
	xfree(&e->value);
	xfree(&e->file);
	e->value = xstrndup(value, value_len);
	e->file = xstrdup(file);
	e->line = line;
}

static void
parse_text(const char *text, size_t len, const char *file)
{
	struct buf logical;
	const char *line, *end, *content;
	size_t line_len, content_len;
	int line_number = 0, logical_line = 0;
	bool have = false, broken = false;

	buf_init(&logical, CONFIG_LINE_MAX);
	for (line = text; line < text + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (end == NULL)
			end = text + len;
		line_len = (size_t)(end - line);
		line_number++;
		content = line;
		content_len = line_len;
		trim(&content, &content_len);
		if (content_len == 0 || content[0] == '#')
			continue;
		if (memchr(line, '\0', line_len) != NULL) {
			add_error(file, line_number, "NUL character in line");
			broken = true;
			continue;
		}
		if (content != line) {
			if (!have) {
				add_error(file, line_number, "line starting "
				    "with whitespace but no parameter before "
				    "it");
				continue;
			}
			if (!broken && (buf_add_char(&logical, ' ') < 0 ||
			    buf_add(&logical, content, content_len) < 0)) {
				add_error(file, logical_line, "logical line "
				    "longer than %d bytes", CONFIG_LINE_MAX);
				broken = true;
			}
			continue;
		}
		if (have && !broken)
			parse_assignment(logical.data, logical.len, file,
			    logical_line);
		buf_reset(&logical);
		have = true;
		broken = false;
		logical_line = line_number;
		if (buf_add(&logical, content, content_len) < 0) {
			add_error(file, line_number, "line longer than %d "
			    "bytes", CONFIG_LINE_MAX);
			broken = true;
		}
	}
	if (have && !broken)
		parse_assignment(logical.data, logical.len, file, logical_line);
	buf_release(&logical);
}

static void
apply_override(const char *name, const char *value)
{
	struct config_entry *e = entry_find(name, true);

	xfree(&e->override);
	e->override = xstrdup(value);
}

/* Parse text as the whole main.cf; errors already reset by the caller. */
static int
load_text(const char *text, size_t len, const char *file)
{
	struct config_entry *e;
	size_t i;

	free_entries();
	compute_hostname();
	parse_text(text, len, file);
	for (i = 0; i < override_count; i++)
		apply_override(overrides[i].name, overrides[i].value);
	for (i = 0; i < entry_count; i++) {
		e = entries[i];
		if (e->value != NULL)
			scan_references(e->value, false);
		if (e->override != NULL)
			scan_references(e->override, false);
	}
	for (i = 0; i < entry_count; i++) {
		e = entries[i];
		if (e->value != NULL && !config_known(e->name) &&
		    !is_referenced(e))
			log_warn("%s, line %d: unknown parameter %s", e->file,
			    e->line, e->name);
	}
	load_error_count = error_count;
	return error_count > 0 ? -1 : 0;
}

int
config_load_text(const char *text, size_t len, const char *file)
{
	clear_errors(0);
	return load_text(text, len, file);
}

int
config_load(const char *dir)
{
	struct buf text;
	char *path;
	int r;

	clear_errors(0);
	if (dir != directory) {
		xfree(&directory);
		directory = xstrdup(dir);
	}
	path = xasprintf("%s/main.cf", dir);
	buf_init(&text, CONFIG_FILE_MAX);
	if (io_read_file(path, CONFIG_FILE_MAX, &text) < 0) {
		if (errno != ENOENT)
			add_error(path, 0, "cannot read: %m");
		buf_reset(&text);
	}
	r = load_text(text.data, text.len, path);
	buf_release(&text);
	xfree(&path);
	return r;
}

const char *
config_dir(void)
{
	return directory != NULL ? directory : POSTERN_SYSCONF;
}

const struct config_error *
config_errors(size_t *count_r)
{
	*count_r = error_count;
	return errors;
}

static int
parse_int(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
parse_time(const char *s, char unit, long long *out)
{
	long long n = 0, scale;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (*p != '\0') {
		unit = *p++;
		if (*p != '\0')
			return -1;
	}
	switch (unit) {
	case 's': scale = 1; break;
	case 'm': scale = 60; break;
	case 'h': scale = 3600; break;
	case 'd': scale = 86400; break;
	case 'w': scale = 604800; break;
	default: return -1;
	}
	if (n > LLONG_MAX / scale)
		return -1;
	*out = n * scale;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* Check one value against its parameter's type: 0 or -1. */
static int
check_type(const struct config_param *p, const char *value)
{
	long long n;
	bool b;

	switch (p->type) {
	case CONFIG_INT:
		return parse_int(value, &n);
	case CONFIG_TIME:
		return parse_time(value, p->unit ? p->unit : 's', &n);
	case CONFIG_BOOL:
		return parse_bool(value, &b);
	default:
		return 0;
	}
}

static const char *
type_name(enum config_type type)
{
	switch (type) {
	case CONFIG_INT:
		return "number";
	case CONFIG_TIME:
		return "time (a number with unit s, m, h, d or w)";
	case CONFIG_BOOL:
		return "yes or no";
	default:
		return "value";
	}
}

int
config_check(void)
{
	const struct config_param *p;
	struct config_entry *e;
	const char *file;
	char *value, *error;
	size_t i;
	int line;

	clear_errors(load_error_count);
	for (i = 0; i < entry_count; i++) {
		e = entries[i];
		if (e->value == NULL && e->override == NULL)
			continue;
		file = e->override != NULL ? "override" : e->file;
		line = e->override != NULL ? 0 : e->line;
		p = config_param(e->name);
		if (p == NULL && !is_referenced(e)) {
			add_error(file, line, "unknown parameter %s", e->name);
			continue;
		}
		if (p != NULL && (p->flags & CONFIG_NO_EFFECT) && line > 0)
			log_warn("%s, line %d: %s is not implemented in "
			    "postern yet and has no effect", file, line,
			    e->name);
		else if (p != NULL && (p->flags & CONFIG_NO_EFFECT))
			log_warn("%s: %s is not implemented in postern yet "
			    "and has no effect", file, e->name);
		error = NULL;
		value = expand_value(e->name, &error);
		if (value == NULL) {
			add_error(file, line, "%s: %s", e->name, error);
			xfree(&error);
			continue;
		}
		if (p != NULL && check_type(p, value) < 0)
			add_error(file, line, "%s: bad %s \"%s\"", e->name,
			    type_name(p->type), value);
		xfree(&value);
	}
	return error_count > 0 ? -1 : 0;
}

int
config_override(const char *assignment)
{
	const char *eq = strchr(assignment, '='), *name = assignment, *value;
	size_t name_len, value_len, i;

	if (eq == NULL)
		return -1;
	name_len = (size_t)(eq - assignment);
	trim(&name, &name_len);
	for (i = 0; i < name_len && name_char(name[i]); i++)
		;
	if (name_len == 0 || i < name_len)
		return -1;
	value = eq + 1;
	value_len = strlen(value);
	trim(&value, &value_len);
	for (i = 0; i < override_count; i++)
		if (strlen(overrides[i].name) == name_len &&
		    memcmp(overrides[i].name, name, name_len) == 0)
			break;
	if (i == override_count) {
		overrides = xreallocarray(overrides, override_count + 1,
		    sizeof(*overrides));
		overrides[override_count].name = xstrndup(name, name_len);
		overrides[override_count++].value = NULL;
	}
	xfree(&overrides[i].value);
	overrides[i].value = xstrndup(value, value_len);
	invalidate();
	apply_override(overrides[i].name, overrides[i].value);
	scan_references(overrides[i].value, false);
	return 0;
}

void
config_set(const char *name, const char *value)
{
	struct config_entry *e = entry_find(name, true);
	size_t i;

	invalidate();
	xfree(&e->value);
	xfree(&e->file);
	e->value = xstrdup(value);
	e->file = xstrdup("config_set");
	e->line = 0;
	/* What was just set is what config_get() must return. */
	xfree(&e->override);
	for (i = 0; i < override_count; i++)
		if (strcmp(overrides[i].name, name) == 0) {
			xfree(&overrides[i].name);
			xfree(&overrides[i].value);
			overrides[i] = overrides[--override_count];
			break;
		}
	scan_references(value, false);
}

void
config_reference(const char *value)
{
	scan_references(value, true);
}

const char *
config_get(const char *name)
{
	struct config_entry *e = entry_find(name, true);
	char *error = NULL;

	if (e->expanded != NULL)
		return e->expanded;
	if (e->value == NULL && e->override == NULL &&
	    config_param(name) == NULL && !e->warned) {
		log_warn("parameter %s is not known to postern", name);
		e->warned = true;
	}
	e->expanded = expand_value(name, &error);
	if (e->expanded == NULL) {
		if (!e->warned)
			log_warn("%s: %s; using an empty value", name, error);
		e->warned = true;
		xfree(&error);
		e->expanded = xstrdup("");
	}
	return e->expanded;
}

const char *
config_get_raw(const char *name)
{
	struct config_entry *e = entry_find(name, false);

	if (e == NULL)
		return NULL;
	return e->override != NULL ? e->override : e->value;
}

bool
config_is_set(const char *name)
{
	return config_get_raw(name) != NULL;
}

const char *
config_default(const char *name)
{
	const struct config_param *p = config_param(name);
	const char *host;
	char *s;

	if (p == NULL)
		return "";
	if (p->default_value != NULL)
		return p->default_value;
	if (strcmp(name, "config_directory") == 0)
		return config_dir();
	if (hostname == NULL)
		compute_hostname();
	if (strcmp(name, "myhostname") == 0)
		return hostname;
	/* mydomain: from the effective myhostname, as Postfix. */
	host = config_get("myhostname");
	s = strchr(host, '.');
	s = xstrdup(s != NULL && s[1] != '\0' ? s + 1 : "localdomain");
	retire(&s);		/* lives until the next config_load() */
	return retired[retired_count - 1];
}

/* The expanded default of name for a getter whose value was malformed. */
static char *
expanded_default(const struct config_param *p)
{
	struct config_expand st = { NULL };
	struct buf out;
	char *s;

	buf_init(&out, CONFIG_VALUE_MAX);
	if (p->default_value == NULL || expand_text(p->default_value,
	    strlen(p->default_value), &out, 0, &st) < 0)
		buf_reset(&out);
	xfree(&st.error);
	s = buf_strdup(&out);
	buf_release(&out);
	return s;
}

static void
warn_malformed(const char *name, const char *value, const char *what)
{
	struct config_entry *e = entry_find(name, true);

	if (e->warned)
		return;
	e->warned = true;
	log_warn("%s: bad %s \"%s\"; using the default", name, what, value);
}

long long
config_get_int(const char *name)
{
	const struct config_param *p = config_param(name);
	const char *value = config_get(name);
	long long n = 0;
	char *def;

	if (parse_int(value, &n) == 0)
		return n;
	warn_malformed(name, value, type_name(CONFIG_INT));
	if (p == NULL)
		return 0;
	def = expanded_default(p);
	if (parse_int(def, &n) < 0)
		n = 0;
	xfree(&def);
	return n;
}

long long
config_get_time(const char *name)
{
	const struct config_param *p = config_param(name);
	const char *value = config_get(name);
	char unit = p != NULL && p->unit ? p->unit : 's';
	long long n = 0;
	char *def;

	if (parse_time(value, unit, &n) == 0)
		return n;
	warn_malformed(name, value, type_name(CONFIG_TIME));
	if (p == NULL)
		return 0;
	def = expanded_default(p);
	if (parse_time(def, unit, &n) < 0)
		n = 0;
	xfree(&def);
	return n;
}

bool
config_get_bool(const char *name)
{
	const struct config_param *p = config_param(name);
	const char *value = config_get(name);
	bool b = false;
	char *def;

	if (parse_bool(value, &b) == 0)
		return b;
	warn_malformed(name, value, type_name(CONFIG_BOOL));
	if (p == NULL)
		return false;
	def = expanded_default(p);
	if (parse_bool(def, &b) < 0)
		b = false;
	xfree(&def);
	return b;
}

static bool
list_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

char **
config_split_list(const char *value)
{
	char **list = xcalloc(1, sizeof(*list));
	size_t count = 0, level;
	const char *p = value, *start, *item;
	size_t item_len;

	for (;;) {
		while (*p != '\0' && list_separator(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		for (level = 0; *p != '\0'; p++) {
			if (*p == '{')
				level++;
			else if (*p == '}' && level > 0)
				level--;
			else if (level == 0 && list_separator(*p))
				break;
		}
		item = start;
		item_len = (size_t)(p - start);
		/* Postfix: "{ text }" as a whole is one item, braces and
		 * surrounding space removed ("{ inet:host:port, a=b }"). */
		if (item_len >= 2 && item[0] == '{' &&
		    item[item_len - 1] == '}') {
			item++;
			item_len -= 2;
			trim(&item, &item_len);
		}
		list = xreallocarray(list, count + 2, sizeof(*list));
		list[count++] = xstrndup(item, item_len);
		list[count] = NULL;
	}
	return list;
}

char **
config_get_list(const char *name)
{
	return config_split_list(config_get(name));
}

void
config_list_free(char ***list_r)
{
	char **p;

	if (*list_r == NULL)
		return;
	for (p = *list_r; *p != NULL; p++)
		free(*p);
	xfree(list_r);
}

bool
config_next_set(size_t *iter, const char **name_r, const char **raw_r)
{
	struct config_entry *e;

	while (*iter < entry_count) {
		e = entries[(*iter)++];
		if (e->value == NULL && e->override == NULL)
			continue;
		*name_r = e->name;
		*raw_r = e->override != NULL ? e->override : e->value;
		return true;
	}
	return false;
}

bool
config_known(const char *name)
{
	return config_param(name) != NULL;
}
