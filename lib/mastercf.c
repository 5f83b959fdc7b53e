/*
 * mastercf.c - parse master.cf, the service table (see mastercf.h).
 *
 *   service type private unpriv chroot wakeup maxproc command [args]
 *
 * As Postfix: "#" starts a comment line, a line starting with whitespace
 * continues the previous entry, "-" takes the default. postern's defaults
 * are those mastercf.h gives: private y, unpriv y, chroot y, wakeup 0
 * (never), maxproc -1, which the caller resolves to
 * $default_process_limit ("0" means no limit). A wakeup may end in "?"
 * (Postfix: only when used); the "?" is ignored.
 *
 * Arguments "-o name=value" (or "-oname=value") are kept in args and also
 * collected in overrides. As in Postfix 3, an argument may be written
 * "{ text with spaces }": the braces and the space inside them are
 * removed, and "-o { name = value }" becomes "name=value".
 *
 * Errors stop at the first problem and name file and line. A unix or pass
 * service name may not contain "/" (it names a socket under private/ or
 * public/). The same name and type twice is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "io.h"
#include "mastercf.h"
#include "mem.h"

#define MASTERCF_FILE_MAX	(1024 * 1024)
#define MASTERCF_LINE_MAX	(64 * 1024)

struct mastercf_tokens {
	char **items;
	size_t count;
};

static void
tokens_add(struct mastercf_tokens *t, const char *s, size_t len)
{
	t->items = xreallocarray(t->items, t->count + 2, sizeof(*t->items));
	t->items[t->count++] = xstrndup(s, len);
	t->items[t->count] = NULL;
}

static void
strings_free(char ***list_r)
{
	char **p;

	if (*list_r == NULL)
		return;
	for (p = *list_r; *p != NULL; p++)
		free(*p);
	xfree(list_r);
}

/* Split on whitespace; a token starting with "{" runs to its matching
 * "}" and loses the braces and the space inside them. -1 when a "{" is
 * not closed. */
static int
tokenize(const char *s, struct mastercf_tokens *t)
{
	const char *start, *end;
	size_t level;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			return 0;
		if (*s != '{') {
			start = s;
			while (*s != '\0' && !isspace((unsigned char)*s))
				s++;
			tokens_add(t, start, (size_t)(s - start));
			continue;
		}
		for (level = 0, start = s; *s != '\0'; s++) {
			if (*s == '{')
				level++;
			else if (*s == '}' && --level == 0)
				break;
		}
		if (*s == '\0')
			return -1;
		end = s++;
		for (start++; start < end && isspace((unsigned char)*start);
		    start++)
			;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		tokens_add(t, start, (size_t)(end - start));
	}
}

static int
parse_flag(const char *s, bool *out)
{
	if (strcmp(s, "-") == 0 || strcmp(s, "y") == 0)
		*out = true;
	else if (strcmp(s, "n") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* Decimal 0..INT_MAX, the whole of s[0..len). */
static int
parse_number(const char *s, size_t len, int *out)
{
	long long n = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
		if (n > INT_MAX)
			return -1;
	}
	*out = (int)n;
	return 0;
}

/* "name=value" from an -o argument, spaces around "=" removed; NULL when
 * it is not an assignment. */
static char *
override_text(const char *arg)
{
	const char *eq = strchr(arg, '='), *value;
	size_t name_len;

	if (eq == NULL || eq == arg)
		return NULL;
	name_len = (size_t)(eq - arg);
	while (name_len > 0 && isspace((unsigned char)arg[name_len - 1]))
		name_len--;
	if (name_len == 0)
		return NULL;
	for (value = eq + 1; isspace((unsigned char)*value); value++)
		;
	return xasprintf("%.*s=%s", (int)name_len, arg, value);
}

static void
service_release(struct mastercf_service *s)
{
	xfree(&s->name);
	xfree(&s->type);
	xfree(&s->command);
	strings_free(&s->args);
	strings_free(&s->overrides);
}

/* One logical line into *s; on error a fresh message in *error_r. */
static int
parse_service(const char *text, int line, struct mastercf_service *s,
    char **error_r)
{
	struct mastercf_tokens t = { NULL, 0 };
	const char *field, *arg;
	size_t i, override_count = 0, len;
	char *override;
	int r = -1;

	memset(s, 0, sizeof(*s));
	s->line = line;
	if (tokenize(text, &t) < 0) {
		*error_r = xstrdup("unbalanced \"{\"");
		goto out;
	}
	if (t.count < 8) {
		*error_r = xasprintf("too few columns (%zu, want at least 8: "
		    "service type private unpriv chroot wakeup maxproc "
		    "command)", t.count);
		goto out;
	}
	s->name = xstrdup(t.items[0]);
	s->type = xstrdup(t.items[1]);
	if (strcmp(s->type, "inet") != 0 && strcmp(s->type, "unix") != 0 &&
	    strcmp(s->type, "pass") != 0) {
		*error_r = xasprintf("unknown service type \"%s\" (want inet, "
		    "unix or pass)", s->type);
		goto out;
	}
	if (s->name[0] == '\0' || (strcmp(s->type, "inet") != 0 &&
	    (strchr(s->name, '/') != NULL || strcmp(s->name, ".") == 0 ||
	    strcmp(s->name, "..") == 0))) {
		*error_r = xasprintf("bad service name \"%s\"", s->name);
		goto out;
	}
	for (i = 2; i <= 4; i++) {
		bool *flag = i == 2 ? &s->private_ : i == 3 ? &s->unpriv :
		    &s->chroot;
		static const char *const names[] = { "private", "unpriv",
		    "chroot" };

		if (parse_flag(t.items[i], flag) < 0) {
			*error_r = xasprintf("bad %s field \"%s\" (want y, n "
			    "or -)", names[i - 2], t.items[i]);
			goto out;
		}
	}
	field = t.items[5];
	len = strlen(field);
	if (len > 0 && field[len - 1] == '?')
		len--;
	if (strcmp(field, "-") == 0)
		s->wakeup = 0;
	else if (parse_number(field, len, &s->wakeup) < 0) {
		*error_r = xasprintf("bad wakeup time \"%s\"", field);
		goto out;
	}
	field = t.items[6];
	if (strcmp(field, "-") == 0)
		s->maxproc = -1;
	else if (parse_number(field, strlen(field), &s->maxproc) < 0) {
		*error_r = xasprintf("bad process limit \"%s\"", field);
		goto out;
	}
	s->command = xstrdup(t.items[7]);
	s->args = xcalloc(t.count - 8 + 1, sizeof(*s->args));
	s->overrides = xcalloc(t.count - 8 + 1, sizeof(*s->overrides));
	for (i = 8; i < t.count; i++) {
		s->args[i - 8] = xstrdup(t.items[i]);
		if (strncmp(t.items[i], "-o", 2) != 0)
			continue;
		arg = t.items[i] + 2;
		if (*arg == '\0') {
			if (i + 1 >= t.count) {
				*error_r = xstrdup("-o without name=value");
				goto out;
			}
			i++;
			s->args[i - 8] = xstrdup(t.items[i]);
			arg = t.items[i];
		}
		if ((override = override_text(arg)) == NULL) {
			*error_r = xasprintf("-o \"%s\" is not name=value",
			    arg);
			goto out;
		}
		s->overrides[override_count++] = override;
	}
	r = 0;
out:
	strings_free(&t.items);
	if (r < 0)
		service_release(s);
	return r;
}

static int
add_service(struct mastercf *out, const char *text, int line,
    const char *file, char **error_r)
{
	struct mastercf_service s;
	char *error = NULL;
	size_t i;

	if (parse_service(text, line, &s, &error) < 0) {
		*error_r = xasprintf("%s, line %d: %s", file, line, error);
		xfree(&error);
		return -1;
	}
	for (i = 0; i < out->count; i++)
		if (strcmp(out->services[i].name, s.name) == 0 &&
		    strcmp(out->services[i].type, s.type) == 0) {
			*error_r = xasprintf("%s, line %d: duplicate service "
			    "%s/%s (first on line %d)", file, line, s.name,
			    s.type, out->services[i].line);
			service_release(&s);
			return -1;
		}
	out->services = xreallocarray(out->services, out->count + 1,
	    sizeof(*out->services));
	out->services[out->count++] = s;
	return 0;
}

int
mastercf_parse(const char *text, size_t len, const char *file,
    struct mastercf *out, char **error_r)
{
	struct buf logical;
	const char *line, *end, *content;
	size_t line_len;
	int line_number = 0, logical_line = 0, r = 0;
	bool have = false;

	out->services = NULL;
	out->count = 0;
	*error_r = NULL;
	buf_init(&logical, MASTERCF_LINE_MAX);
	for (line = text; line < text + len && r == 0; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (end == NULL)
			end = text + len;
		line_len = (size_t)(end - line);
		line_number++;
		for (content = line; content < end &&
		    isspace((unsigned char)*content); content++)
			;
		if (content == end || *content == '#')
			continue;
		if (memchr(line, '\0', line_len) != NULL) {
			*error_r = xasprintf("%s, line %d: NUL character in "
			    "line", file, line_number);
			r = -1;
		} else if (content != line) {
			if (!have) {
				*error_r = xasprintf("%s, line %d: line "
				    "starting with whitespace but no service "
				    "before it", file, line_number);
				r = -1;
			} else if (buf_add_char(&logical, ' ') < 0 ||
			    buf_add(&logical, content,
			    (size_t)(end - content)) < 0) {
				*error_r = xasprintf("%s, line %d: entry "
				    "longer than %d bytes", file, logical_line,
				    MASTERCF_LINE_MAX);
				r = -1;
			}
		} else {
			if (have)
				r = add_service(out, logical.data,
				    logical_line, file, error_r);
			buf_reset(&logical);
			have = true;
			logical_line = line_number;
			if (r == 0 && buf_add(&logical, line, line_len) < 0) {
				*error_r = xasprintf("%s, line %d: line "
				    "longer than %d bytes", file, line_number,
				    MASTERCF_LINE_MAX);
				r = -1;
			}
		}
	}
	if (r == 0 && have)
		r = add_service(out, logical.data, logical_line, file,
		    error_r);
	buf_release(&logical);
	if (r < 0)
		mastercf_release(out);
	return r;
}

int
mastercf_load(const char *path, struct mastercf *out, char **error_r)
{
	struct buf text;
	int r;

	buf_init(&text, MASTERCF_FILE_MAX);
	if (io_read_file(path, MASTERCF_FILE_MAX, &text) < 0) {
		*error_r = xasprintf("%s: cannot read: %m", path);
		out->services = NULL;
		out->count = 0;
		buf_release(&text);
		return -1;
	}
	r = mastercf_parse(text.data, text.len, path, out, error_r);
	buf_release(&text);
	return r;
}

void
mastercf_release(struct mastercf *m)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		service_release(&m->services[i]);
	xfree(&m->services);
	m->count = 0;
}

static bool
port_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return false;
	return true;
}

static bool
host_ok(const char *s, size_t len, bool bracketed)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_' &&
		    !(bracketed && (s[i] == ':' || s[i] == '%')))
			return false;
	return true;
}

int
mastercf_inet_addr(const char *name, char **host_r, char **port_r)
{
	const char *colon, *close, *host = name, *port;
	size_t host_len;

	*host_r = *port_r = NULL;
	if (name[0] == '[') {
		close = strchr(name, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host = name + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
		if (!host_ok(host, host_len, true))
			return -1;
	} else if ((colon = strrchr(name, ':')) != NULL) {
		host_len = (size_t)(colon - name);
		port = colon + 1;
		if (host_len == 1 && name[0] == '*')
			host_len = 0;	/* "*:25": all addresses */
		else if (!host_ok(host, host_len, false))
			return -1;
	} else {
		host_len = 0;
		port = name;
	}
	if (!port_ok(port, strlen(port)))
		return -1;
	*host_r = xstrndup(host, host_len);
	*port_r = xstrdup(port);
	return 0;
}
