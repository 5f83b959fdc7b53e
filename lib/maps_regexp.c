/*
 * maps_regexp.c - the regexp: and pcre: table types (Postfix
 * regexp_table(5), pcre_table(5)), both compiled with PCRE2.
 *
 *   /pattern/flags   result      first matching rule answers
 *   !/pattern/flags  result      matches when the pattern does not
 *   if /pattern/flags            rules up to endif apply only when the
 *   endif                        pattern matches (if !/.../ negates)
 *
 * Any non-alphanumeric, non-space character may delimit the pattern; a
 * backslash escapes it inside. The result may use $1..$9, ${n} and $(n)
 * for captured text (an unset group gives "") and $$ for a dollar; a
 * reference to a group the pattern lacks is an error at open time, as is
 * one in the result of a negated rule.
 *
 * Flags, as in Postfix: matching is case-insensitive by default and "i"
 * toggles that. regexp: "m" is POSIX REG_NEWLINE (^ and $ at line breaks,
 * "." stops at a newline; without it "." matches a newline as in POSIX).
 * pcre: i m s x A E U, X accepted and ignored (no PCRE2 equivalent).
 *
 * XXX regexp: is POSIX ERE run by PCRE2: the patterns admins write for
 * header_checks behave the same, but POSIX picks the longest of
 * alternatives where PCRE picks the first, which can change what $n
 * captures; the "x" flag (basic regular expressions) is refused.
 *
 * Keys are matched as given (no case folding in maps.c): header_checks
 * passes whole header lines, folded ones with "\n " inside. A match
 * error (backtracking limit) is a temporary failure.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "maps_type.h"
#include "mem.h"

#define REGEXP_MATCH_LIMIT	1000000
#define REGEXP_DEPTH_LIMIT	10000
#define REGEXP_RESULT_MAX	(1024 * 1024)

enum regexp_kind { REGEXP_RULE, REGEXP_IF, REGEXP_ENDIF };

struct regexp_rule {
	enum regexp_kind kind;
	pcre2_code *code;
	bool negate;
	char *result;
	size_t skip_to;		/* REGEXP_IF: index of its endif */
	int line_number;
};

struct regexp_table {
	struct regexp_rule *rules;
	size_t count, cap;
	size_t *open_ifs;
	size_t open_count;
	pcre2_match_context *match_context;
	pcre2_match_data *match_data;	/* sized for the largest pattern */
	uint32_t max_captures;
	bool pcre;
	const char *name;
	char *error;
};

static void
regexp_close(void *handle)
{
	struct regexp_table *t = handle;
	size_t i;

	for (i = 0; i < t->count; i++) {
		pcre2_code_free(t->rules[i].code);
		xfree(&t->rules[i].result);
	}
	pcre2_match_data_free(t->match_data);
	pcre2_match_context_free(t->match_context);
	xfree(&t->rules);
	xfree(&t->open_ifs);
	xfree(&t->error);
	xfree(&t);
}

static struct regexp_rule *
regexp_add(struct regexp_table *t, enum regexp_kind kind, int line_number)
{
	struct regexp_rule *r;

	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rules = xreallocarray(t->rules, t->cap, sizeof(*t->rules));
		t->open_ifs = xreallocarray(t->open_ifs, t->cap,
		    sizeof(*t->open_ifs));
	}
	r = &t->rules[t->count++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->line_number = line_number;
	return r;
}

static int
regexp_fail(struct regexp_table *t, int line_number, const char *text)
{
	t->error = xasprintf("%s, line %d: %s", t->name, line_number, text);
	return -1;
}

static int
regexp_flags(struct regexp_table *t, const char *flags, size_t len,
    uint32_t *options_r, int line_number)
{
	uint32_t options = PCRE2_CASELESS;
	size_t i;

	if (!t->pcre)
		options |= PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY;
	for (i = 0; i < len; i++) {
		switch (flags[i]) {
		case 'i':
			options ^= PCRE2_CASELESS;
			break;
		case 'm':
			options ^= PCRE2_MULTILINE;
			if (!t->pcre)
				options ^= PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY;
			break;
		case 's':
		case 'x':
		case 'A':
		case 'E':
		case 'U':
		case 'X':
			if (!t->pcre) {
				char *text = xasprintf("flag \"%c\" is not "
				    "supported in regexp: tables (use pcre:)",
				    flags[i]);

				regexp_fail(t, line_number, text);
				xfree(&text);
				return -1;
			}
			options ^= flags[i] == 's' ? PCRE2_DOTALL :
			    flags[i] == 'x' ? PCRE2_EXTENDED :
			    flags[i] == 'A' ? PCRE2_ANCHORED :
			    flags[i] == 'E' ? PCRE2_DOLLAR_ENDONLY :
			    flags[i] == 'U' ? PCRE2_UNGREEDY : 0;
			break;
		default: {
			char *text = xasprintf("unknown flag \"%c\"",
			    flags[i]);

			regexp_fail(t, line_number, text);
			xfree(&text);
			return -1;
		}
		}
	}
	*options_r = options;
	return 0;
}

/* "[!]/pattern/flags" at *p: compile into r->code, advance past it. */
static int
regexp_pattern(struct regexp_table *t, char **p, struct regexp_rule *r,
    int line_number)
{
	char *q = *p, delimiter, *pattern, *flags;
	size_t pattern_len;
	uint32_t options;
	int error_code;
	PCRE2_SIZE error_offset;

	if (*q == '!') {
		r->negate = true;
		q++;
		while (isspace((unsigned char)*q))
			q++;
	}
	delimiter = *q;
	if (delimiter == '\0' || isalnum((unsigned char)delimiter) ||
	    isspace((unsigned char)delimiter) || delimiter == '\\')
		return regexp_fail(t, line_number,
		    "expected /pattern/ (a pattern between delimiters)");
	pattern = ++q;
	while (*q != '\0' && *q != delimiter) {
		if (*q == '\\' && q[1] != '\0')
			q++;
		q++;
	}
	if (*q != delimiter)
		return regexp_fail(t, line_number, "unterminated pattern");
	pattern_len = (size_t)(q - pattern);
	flags = ++q;
	while (*q != '\0' && !isspace((unsigned char)*q))
		q++;
	if (regexp_flags(t, flags, (size_t)(q - flags), &options,
	    line_number) < 0)
		return -1;
	r->code = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, options,
	    &error_code, &error_offset, NULL);
	if (r->code == NULL) {
		PCRE2_UCHAR message[256];
		char *text;

		if (pcre2_get_error_message(error_code, message,
		    sizeof(message)) < 0)
			snprintf((char *)message, sizeof(message), "error %d",
			    error_code);
		text = xasprintf("bad pattern at offset %zu: %s",
		    (size_t)error_offset, (char *)message);
		regexp_fail(t, line_number, text);
		xfree(&text);
		return -1;
	}
	{
		uint32_t captures = 0;

		(void)pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT,
		    &captures);
		if (captures > t->max_captures)
			t->max_captures = captures;
	}
	while (isspace((unsigned char)*q))
		q++;
	*p = q;
	return 0;
}

/* A "$n", "${n}" or "$(n)" reference at p (which points at the "$"):
 * its group number and length, or 0 when p is not one ("$$" is handled
 * by the callers; any other "$" is literal text). */
static size_t
regexp_reference(const char *p, unsigned *n_r)
{
	if (isdigit((unsigned char)p[1])) {
		*n_r = (unsigned)(p[1] - '0');
		return 2;
	}
	if ((p[1] == '{' && isdigit((unsigned char)p[2]) && p[3] == '}') ||
	    (p[1] == '(' && isdigit((unsigned char)p[2]) && p[3] == ')')) {
		*n_r = (unsigned)(p[2] - '0');
		return 4;
	}
	return 0;
}

/* Check $n references in r->result against the pattern. */
static int
regexp_check_result(struct regexp_table *t, struct regexp_rule *r)
{
	uint32_t captures = 0;
	const char *p;
	size_t len;
	unsigned n;

	(void)pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &captures);
	for (p = r->result; *p != '\0'; p++) {
		if (*p != '$')
			continue;
		if (p[1] == '$') {
			p++;
			continue;
		}
		len = regexp_reference(p, &n);
		if (len == 0)
			continue;
		if (r->negate)
			return regexp_fail(t, r->line_number,
			    "$ reference in the result of a negated pattern");
		if (n == 0 || n > captures)
			return regexp_fail(t, r->line_number,
			    "$ reference to a group the pattern does not have");
		p += len - 1;
	}
	return 0;
}

/* Postfix: "if" and "endif" end at anything but a letter or digit. */
static bool
regexp_word(char **p, const char *word)
{
	size_t len = strlen(word);

	if (strncasecmp(*p, word, len) != 0 ||
	    isalnum((unsigned char)(*p)[len]))
		return false;
	*p += len;
	while (isspace((unsigned char)**p))
		(*p)++;
	return true;
}

static int
regexp_line(void *ctx, char *line, int line_number)
{
	struct regexp_table *t = ctx;
	struct regexp_rule *r;
	char *p = line;

	while (isspace((unsigned char)*p))
		p++;
	if (regexp_word(&p, "endif")) {
		if (*p != '\0')
			return regexp_fail(t, line_number, "text after endif");
		if (t->open_count == 0)
			return regexp_fail(t, line_number, "endif without if");
		regexp_add(t, REGEXP_ENDIF, line_number);
		t->rules[t->open_ifs[--t->open_count]].skip_to = t->count - 1;
		return 0;
	}
	if (regexp_word(&p, "if")) {
		r = regexp_add(t, REGEXP_IF, line_number);
		if (regexp_pattern(t, &p, r, line_number) < 0)
			return -1;
		if (*p != '\0')
			return regexp_fail(t, line_number,
			    "text after if /pattern/");
		t->open_ifs[t->open_count++] = t->count - 1;
		return 0;
	}
	r = regexp_add(t, REGEXP_RULE, line_number);
	if (regexp_pattern(t, &p, r, line_number) < 0)
		return -1;
	if (*p == '\0')
		return regexp_fail(t, line_number, "no result after pattern");
	r->result = xstrdup(p);
	return regexp_check_result(t, r);
}

void *
map_regexp_parse(const char *name, const char *text, size_t len,
    bool pcre, char **error_r)
{
	struct regexp_table *t = xcalloc(1, sizeof(*t));

	t->name = name;
	t->pcre = pcre;
	if (map_source_lines(text, len, regexp_line, t) < 0) {
		*error_r = t->error;
		t->error = NULL;
		regexp_close(t);
		return NULL;
	}
	if (t->open_count > 0) {
		*error_r = xasprintf("%s, line %d: if without endif", name,
		    t->rules[t->open_ifs[t->open_count - 1]].line_number);
		regexp_close(t);
		return NULL;
	}
	xfree(&t->open_ifs);
	t->name = NULL;
	t->match_context = pcre2_match_context_create(NULL);
	if (t->match_context == NULL)
		log_fatal("pcre2_match_context_create: out of memory");
	pcre2_set_match_limit(t->match_context, REGEXP_MATCH_LIMIT);
	pcre2_set_depth_limit(t->match_context, REGEXP_DEPTH_LIMIT);
	t->match_data = pcre2_match_data_create(t->max_captures + 1, NULL);
	if (t->match_data == NULL)
		log_fatal("pcre2_match_data_create: out of memory");
	return t;
}

static void *
regexp_open_file(const char *name, bool pcre, char **error_r)
{
	struct buf text;
	void *t;

	buf_init(&text, MAP_SOURCE_MAX);
	if (io_read_file(name, MAP_SOURCE_MAX, &text) < 0) {
		*error_r = xasprintf("%s:%s: cannot read: %s",
		    pcre ? "pcre" : "regexp", name, strerror(errno));
		buf_release(&text);
		return NULL;
	}
	t = map_regexp_parse(name, text.data, text.len, pcre, error_r);
	buf_release(&text);
	return t;
}

static void *
regexp_open(const char *name, char **error_r)
{
	return regexp_open_file(name, false, error_r);
}

static void *
pcre_open(const char *name, char **error_r)
{
	return regexp_open_file(name, true, error_r);
}

/* 1 match, 0 no match, -1 error (logged). */
static int
regexp_match(struct regexp_table *t, struct regexp_rule *r, const char *key,
    size_t key_len)
{
	int rc = pcre2_match(r->code, (PCRE2_SPTR)key, key_len, 0, 0,
	    t->match_data, t->match_context);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	{
		PCRE2_UCHAR message[256];

		if (pcre2_get_error_message(rc, message, sizeof(message)) < 0)
			snprintf((char *)message, sizeof(message), "error %d",
			    rc);
		log_warn("regular expression at line %d: %s", r->line_number,
		    (char *)message);
	}
	return -1;
}

static char *
regexp_expand(struct regexp_table *t, struct regexp_rule *r,
    const char *key)
{
	PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(t->match_data);
	uint32_t pairs = pcre2_get_ovector_count(t->match_data);
	struct buf out;
	const char *p;
	char *result;

	buf_init(&out, REGEXP_RESULT_MAX);
	for (p = r->result; *p != '\0'; p++) {
		size_t len;
		unsigned n;

		if (*p == '$' && p[1] == '$') {
			(void)buf_add_char(&out, '$');
			p++;
			continue;
		}
		len = *p == '$' ? regexp_reference(p, &n) : 0;
		if (len == 0) {
			(void)buf_add_char(&out, *p);
			continue;
		}
		p += len - 1;
		if (n < pairs && ovector[2 * n] != PCRE2_UNSET &&
		    ovector[2 * n + 1] >= ovector[2 * n])
			(void)buf_add(&out, key + ovector[2 * n],
			    ovector[2 * n + 1] - ovector[2 * n]);
	}
	result = buf_strdup(&out);
	buf_release(&out);
	return result;
}

static int
regexp_lookup(void *handle, const char *key, char **value_r)
{
	struct regexp_table *t = handle;
	size_t key_len = strlen(key), i;
	int matched;

	for (i = 0; i < t->count; i++) {
		struct regexp_rule *r = &t->rules[i];

		if (r->kind == REGEXP_ENDIF)
			continue;
		matched = regexp_match(t, r, key, key_len);
		if (matched < 0)
			return -1;
		if (r->kind == REGEXP_IF) {
			if ((matched == 1) == r->negate)
				i = r->skip_to;
			continue;
		}
		if ((matched == 1) != r->negate) {
			*value_r = regexp_expand(t, r, key);
			return 1;
		}
	}
	return 0;
}

const struct map_type map_type_regexp = {
	.name = "regexp",
	.fold_case = false,
	.open = regexp_open,
	.lookup = regexp_lookup,
	.close = regexp_close,
};

const struct map_type map_type_pcre = {
	.name = "pcre",
	.fold_case = false,
	.open = pcre_open,
	.lookup = regexp_lookup,
	.close = regexp_close,
};
