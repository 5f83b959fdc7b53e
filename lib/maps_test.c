/*
 * maps_test.c - tests for lib/maps*.c: every table type, map_build and
 * replacement detection, malformed sources, map lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "maps.h"
#include "maps_type.h"
#include "mem.h"
#include "testing.h"

static char tmpdir[] = "/tmp/maps_test.XXXXXX";

static char *
tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const char *text)
{
	CHECK(io_write_file_atomic(path, text, strlen(text), 0644) == 0);
}

/* Look key up in m and compare: want NULL means "not found". */
static void
check_lookup(struct map *m, const char *key, const char *want, int line)
{
	char *value = NULL;
	int rc = map_lookup(m, key, &value);

	if (want == NULL ? rc != 0 : rc != 1 || value == NULL ||
	    strcmp(value, want) != 0) {
		fprintf(stderr, "maps_test.c:%d: %s \"%s\": rc %d value "
		    "\"%s\", want \"%s\"\n", line, map_spec(m), key, rc,
		    value ? value : "(null)", want ? want : "(not found)");
		testing_current_failed = 1;
	}
	xfree(&value);
}
#define LOOKUP(m, key, want) check_lookup((m), (key), (want), __LINE__)

/* Open must fail and the error contain part. */
static void
check_open_fails(const char *spec, const char *part, int line)
{
	char *error = NULL;
	struct map *m = map_open(spec, &error);

	if (m != NULL || error == NULL || strstr(error, part) == NULL) {
		fprintf(stderr, "maps_test.c:%d: open \"%s\": got %s, want "
		    "error with \"%s\"\n", line, spec,
		    m ? "success" : error ? error : "(no error)", part);
		testing_current_failed = 1;
	}
	map_close(&m);
	xfree(&error);
}
#define OPEN_FAILS(spec, part) check_open_fails((spec), (part), __LINE__)

static struct map *
open_ok(const char *spec)
{
	char *error = NULL;
	struct map *m = map_open(spec, &error);

	if (m == NULL) {
		fprintf(stderr, "open \"%s\": %s\n", spec, error);
		testing_current_failed = 1;
	}
	xfree(&error);
	return m;
}

static void
test_open_errors(void)
{
	OPEN_FAILS("nosuch:x", "unsupported table type \"nosuch\"");
	OPEN_FAILS("no-type-here", "expected type:name");
	OPEN_FAILS(":x", "expected type:name");
	OPEN_FAILS("lmdb:/nonexistent/postern/x", "file not found");
	OPEN_FAILS("lmdb:", "missing file name");
	OPEN_FAILS("inline:{a=b", "expected inline:{");
	OPEN_FAILS("inline:a=b", "expected inline:{");
	OPEN_FAILS("inline:{ ab }", "not key=value");
	OPEN_FAILS("inline:{ =b }", "empty key");
	OPEN_FAILS("inline:{ {a=b }", "unbalanced");
	OPEN_FAILS("static:{a", "unbalanced");
	OPEN_FAILS("unix:group.byname", "only unix:passwd.byname");
	OPEN_FAILS("cidr:/nonexistent/postern/x", "cannot read");
	OPEN_FAILS("regexp:/nonexistent/postern/x", "cannot read");
	OPEN_FAILS("pcre:/nonexistent/postern/x", "cannot read");
}

static void
test_inline_static(void)
{
	struct map *m;

	m = open_ok("inline:{ Key=Value, { b = value with, commas }, "
	    "dup=first,dup=second, {c=}}");
	if (m != NULL) {
		LOOKUP(m, "x", NULL);
		LOOKUP(m, "", NULL);
		LOOKUP(m, "key", "Value");
		LOOKUP(m, "KEY", "Value");
		LOOKUP(m, "b", "value with, commas");
		LOOKUP(m, "dup", "first");
		LOOKUP(m, "c", "");
		CHECK_STR(map_spec(m), "inline:{ Key=Value, { b = value with, "
		    "commas }, dup=first,dup=second, {c=}}");
	}
	map_close(&m);
	CHECK(m == NULL);
	m = open_ok("inline:{}");
	if (m != NULL)
		LOOKUP(m, "a", NULL);
	map_close(&m);
	m = open_ok("static:hello");
	if (m != NULL) {
		LOOKUP(m, "anything", "hello");
		LOOKUP(m, "", "hello");
	}
	map_close(&m);
	m = open_ok("static:{ a b }");
	if (m != NULL)
		LOOKUP(m, "x", "a b");
	map_close(&m);
}

/* Parse errors name the source and line. */
static void
test_cidr_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "1.2.3.4/24 x\n", "t, line 1: \"1.2.3.4/24\": host bits" },
		{ "\n# c\n1.2.3.0/24\n", "t, line 3: no lookup result" },
		{ "10.0.0.0/8 a\n10.0.0.0/33 b\n", "t, line 2: " },
		{ "foo bar\n", "t, line 1: \"foo\" is not an address" },
		{ "[::1 x\n", "t, line 1: " },
		{ "if 10.0.0.0/8\n1.1.1.1 x\n", "t, line 1: if without endif" },
		{ "endif\n", "t, line 1: endif without if" },
		{ "if 10.0.0.0/8 x\nendif\n", "t, line 1: text after if" },
		{ "!\n", "t, line 1: " },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		void *t = map_cidr_parse("t", cases[i].text,
		    strlen(cases[i].text), &error);

		CHECK(t == NULL);
		if (t != NULL)
			map_type_cidr.close(t);
		CHECK(error != NULL && strstr(error, cases[i].error) != NULL);
		if (error == NULL || strstr(error, cases[i].error) == NULL)
			fprintf(stderr, "  cidr %zu: %s\n", i,
			    error ? error : "(none)");
		xfree(&error);
	}
}

static void
test_cidr(void)
{
	char *path = tmp_path("access.cidr"), *spec;
	struct map *m;

	write_file(path,
	    "# comment\n"
	    "192.168.1.5        REJECT one host\n"
	    "192.168.0.0/16     OK\n"
	    "  continued\n"
	    "[2001:db8::]/32    IPV6\n"
	    "::1                LOOPBACK6\n"
	    "if !10.0.0.0/8\n"
	    "0.0.0.0/0          OUTSIDE10\n"
	    "endif\n"
	    "!10.1.0.0/16       NOT101\n"
	    "10.1.2.3           HOST\n");
	spec = xasprintf("cidr:%s", path);
	m = open_ok(spec);
	if (m != NULL) {
		LOOKUP(m, "not an address", NULL);
		LOOKUP(m, "10.1.2.3", "HOST");
		LOOKUP(m, "10.1.2.4", NULL);
		LOOKUP(m, "192.168.1.5", "REJECT one host");
		LOOKUP(m, "192.168.7.7", "OK  continued");
		LOOKUP(m, "::ffff:192.168.7.7", "OK  continued");
		LOOKUP(m, "2001:db8:1::1", "IPV6");
		LOOKUP(m, "[2001:db8::2]", "IPV6");
		LOOKUP(m, "::1", "LOOPBACK6");
		LOOKUP(m, "::2", NULL);
		LOOKUP(m, "8.8.8.8", "OUTSIDE10");
		LOOKUP(m, "10.2.0.1", "NOT101");
	}
	map_close(&m);
	write_file(path, "10.0.0.0/8 OK\n\n10.0.0.1/8 BAD\n");
	{
		char *want = xasprintf("%s, line 3: ", path);

		OPEN_FAILS(spec, want);
		xfree(&want);
	}
	unlink(path);
	xfree(&spec);
	xfree(&path);
}

static void
test_regexp_errors(void)
{
	static const struct {
		bool pcre;
		const char *text;
		const char *error;
	} cases[] = {
		{ true, "/abc x\n", "t, line 1: unterminated pattern" },
		{ true, "\n\n/a(/ x\n", "t, line 3: bad pattern" },
		{ true, "/a/\n", "t, line 1: no result" },
		{ true, "/a/q x\n", "t, line 1: unknown flag \"q\"" },
		{ true, "/a/ $1\n", "t, line 1: $ reference to a group" },
		{ true, "/(a)/ ${2}\n", "t, line 1: $ reference to a group" },
		{ true, "!/(a)/ $1\n", "t, line 1: $ reference in the result "
		    "of a negated" },
		{ true, "endif\n", "t, line 1: endif without if" },
		{ true, "if /a/\n/b/ x\n", "t, line 1: if without endif" },
		{ true, "abc x\n", "t, line 1: expected /pattern/" },
		{ false, "/a/x r\n", "t, line 1: flag \"x\" is not supported" },
		{ false, "/a/ r\n/b/s r\n", "t, line 2: flag \"s\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		void *t = map_regexp_parse("t", cases[i].text,
		    strlen(cases[i].text), cases[i].pcre, &error);

		CHECK(t == NULL);
		if (t != NULL)
			map_type_pcre.close(t);
		CHECK(error != NULL && strstr(error, cases[i].error) != NULL);
		if (error == NULL || strstr(error, cases[i].error) == NULL)
			fprintf(stderr, "  regexp %zu: %s\n", i,
			    error ? error : "(none)");
		xfree(&error);
	}
}

static void
test_regexp(void)
{
	static const char table[] =
	    "# header_checks\n"
	    "/^Subject:.*viagra/     REJECT spam\n"
	    "/^From: (.*)@example\\.com$/i  FROM $1 ${1} $(1) $$ $x\n"
	    "if /^X-/\n"
	    "/^X-Spam: yes/          DISCARD\n"
	    "!/^X-Keep/              OTHER-X\n"
	    "endif\n"
	    "/^Received:.*\\n.*by evil/  EVIL\n"
	    "#/^Received/ never\n"
	    "|^To: a/b|              SLASH\n"
	    "/^Cc: (x)?(y)/          [$1][$2]\n";
	char *path = tmp_path("header_checks"), *spec;
	struct map *m;
	int pass;

	write_file(path, table);
	for (pass = 0; pass < 2; pass++) {
		spec = xasprintf("%s:%s", pass ? "pcre" : "regexp", path);
		m = open_ok(spec);
		if (m == NULL) {
			xfree(&spec);
			continue;
		}
		LOOKUP(m, "Subject: hello", NULL);
		LOOKUP(m, "subject: cheap VIAGRA", "REJECT spam");
		/* i toggles case-insensitivity off. */
		LOOKUP(m, "From: bob@example.com", "FROM bob bob bob $ $x");
		LOOKUP(m, "FROM: bob@example.com", NULL);
		LOOKUP(m, "X-Spam: yes", "DISCARD");
		LOOKUP(m, "X-Other: 1", "OTHER-X");
		LOOKUP(m, "X-Keep: 1", NULL);
		LOOKUP(m, "Y-Spam: yes", NULL);
		LOOKUP(m, "Received: from a\n\tby evil.example", "EVIL");
		LOOKUP(m, "To: a/b", "SLASH");
		LOOKUP(m, "Cc: y", "[][y]");
		map_close(&m);
		xfree(&spec);
	}
	/* "." crosses a folded line in regexp: (POSIX) but not in pcre:
	 * unless "s"; "m" makes ^ match after a newline. */
	write_file(path, "/^Subject: a.b/ DOT\n/^b$/m LINE\n");
	spec = xasprintf("regexp:%s", path);
	m = open_ok(spec);
	if (m != NULL) {
		LOOKUP(m, "Subject: a\nb", "DOT");
		LOOKUP(m, "x\nb", "LINE");
	}
	map_close(&m);
	xfree(&spec);
	write_file(path, "/^Subject: a.b/ DOT\n/^Subject: a.b/s DOTALL\n"
	    "/^b$/m LINE\n");
	spec = xasprintf("pcre:%s", path);
	m = open_ok(spec);
	if (m != NULL) {
		LOOKUP(m, "Subject: a\nb", "DOTALL");
		LOOKUP(m, "Subject: axb", "DOT");
		LOOKUP(m, "x\nb", "LINE");
	}
	map_close(&m);
	xfree(&spec);
	/* Error path naming the file. */
	write_file(path, "/ok/ fine\n/bad(/ x\n");
	spec = xasprintf("pcre:%s", path);
	{
		char *want = xasprintf("%s, line 2: bad pattern", path);

		OPEN_FAILS(spec, want);
		xfree(&want);
	}
	xfree(&spec);
	unlink(path);
	xfree(&path);
}

static void
test_unix(void)
{
	struct map *m = open_ok("unix:passwd.byname");
	char *value = NULL;

	if (m == NULL)
		return;
	LOOKUP(m, "no-such-user-postern", NULL);
	CHECK(map_lookup(m, "root", &value) == 1);
	CHECK(value != NULL && strncmp(value, "root:x:0:0:", 11) == 0);
	xfree(&value);
	CHECK(map_lookup(m, "ROOT", &value) == 1);
	xfree(&value);
	map_close(&m);
}

static void
test_build_errors(void)
{
	static const struct {
		bool aliases;
		const char *text;
		const char *error;	/* after "PATH, " */
	} cases[] = {
		{ false, "a 1\n\n# c\nlonely\n", "line 4: need \"key value\"" },
		{ true, "a: b\nno colon here\n",
		    "line 2: need \"name: value\"" },
		{ true, "\"quoted: x\n", "line 1: unterminated quoted name" },
		{ true, ": x\n", "line 1: empty name" },
		{ true, "a:\n", "line 1: no value for \"a\"" },
	};
	char *path = tmp_path("bad"), *error = NULL, *target;
	size_t i;
	struct stat st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *want = xasprintf("%s, %s", path, cases[i].error);

		write_file(path, cases[i].text);
		CHECK(map_build(path, cases[i].aliases, &error) < 0);
		CHECK(error != NULL && strstr(error, want) != NULL);
		if (error == NULL || strstr(error, want) == NULL)
			fprintf(stderr, "  build %zu: %s\n", i,
			    error ? error : "(none)");
		xfree(&error);
		xfree(&want);
	}
	target = xasprintf("%s.lmdb", path);
	CHECK(stat(target, &st) < 0 && errno == ENOENT);
	xfree(&target);
	CHECK(map_build("/nonexistent/postern/src", false, &error) < 0);
	CHECK(error != NULL && strstr(error, "cannot read") != NULL);
	xfree(&error);
	CHECK(map_build("cidr:/etc/x", false, &error) < 0);
	CHECK(error != NULL && strstr(error, "only lmdb:") != NULL);
	xfree(&error);
	unlink(path);
	xfree(&path);
}

static void
test_lmdb(void)
{
	char *path = tmp_path("virtual"), *spec, *db, *aside, *error = NULL;
	struct map *m;
	struct stat st;

	write_file(path,
	    "# virtual\n"
	    "Alice@Example.COM   alice\n"
	    "bob@example.com     bob, carol,\n"
	    "    dave\n"
	    "bob@example.com     second-ignored\n"
	    "@example.org        catch all\n");
	chmod(path, 0640);
	spec = xasprintf("lmdb:%s", path);
	CHECK(map_build(spec, false, &error) == 0);
	CHECK(error == NULL);
	xfree(&error);
	db = xasprintf("%s.lmdb", path);
	CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0640);
	m = open_ok(spec);
	if (m == NULL)
		goto done;
	LOOKUP(m, "nobody@example.com", NULL);
	LOOKUP(m, "", NULL);
	LOOKUP(m, "alice@example.com", "alice");
	LOOKUP(m, "ALICE@example.com", "alice");
	LOOKUP(m, "bob@example.com", "bob, carol,    dave");
	LOOKUP(m, "@example.org", "catch all");
	CHECK(!maps_changed());

	/* A new version renamed over the old one is picked up on the fly
	 * while the path is reachable. */
	write_file(path, "alice@example.com alice2\n");
	CHECK(map_build(path, false, &error) == 0);
	xfree(&error);
	LOOKUP(m, "alice@example.com", "alice2");
	LOOKUP(m, "bob@example.com", NULL);
	CHECK(!maps_changed());

	/* As in a chroot: the path no longer leads to the new file. The
	 * old version keeps answering and maps_changed() says so. */
	write_file(path, "alice@example.com alice3\n");
	CHECK(map_build(path, false, &error) == 0);
	xfree(&error);
	aside = xasprintf("%s.aside", db);
	CHECK(rename(db, aside) == 0);
	CHECK(maps_changed());
	LOOKUP(m, "alice@example.com", "alice2");
	CHECK(maps_changed());
	CHECK(rename(aside, db) == 0);
	CHECK(!maps_changed());
	LOOKUP(m, "alice@example.com", "alice3");
	map_close(&m);
	CHECK(!maps_changed());
	xfree(&aside);
done:
	unlink(db);
	unlink(path);
	xfree(&db);
	xfree(&spec);
	xfree(&path);
}

static void
test_aliases(void)
{
	char *path = tmp_path("aliases"), *spec, *db, *error = NULL;
	struct map *m;

	write_file(path,
	    "# aliases\n"
	    "postmaster: root\n"
	    "Root:  bob,\n"
	    "\talice\n"
	    "\"quoted name\": x\n"
	    "list: :include:/etc/postern/list, |\"/usr/bin/prog arg\"\n"
	    "postmaster: second\n");
	CHECK(map_build(path, true, &error) == 0);
	if (error != NULL)
		fprintf(stderr, "  %s\n", error);
	xfree(&error);
	spec = xasprintf("lmdb:%s", path);
	db = xasprintf("%s.lmdb", path);
	m = open_ok(spec);
	if (m != NULL) {
		LOOKUP(m, "postmaster", "root");
		LOOKUP(m, "root", "bob,\talice");
		LOOKUP(m, "quoted name", "x");
		LOOKUP(m, "list", ":include:/etc/postern/list, "
		    "|\"/usr/bin/prog arg\"");
	}
	map_close(&m);
	/* An empty source gives an empty table. */
	write_file(path, "# nothing yet\n");
	CHECK(map_build(path, true, &error) == 0);
	xfree(&error);
	m = open_ok(spec);
	if (m != NULL)
		LOOKUP(m, "postmaster", NULL);
	map_close(&m);
	unlink(db);
	unlink(path);
	xfree(&db);
	xfree(&spec);
	xfree(&path);
}

/* Large enough to need more than the first map size. */
static void
test_lmdb_big(void)
{
	char *path = tmp_path("big"), *spec, *db, *error = NULL, key[64];
	struct buf *text = buf_new(64u * 1024 * 1024);
	struct map *m;
	int i;

	for (i = 0; i < 50000; i++)
		CHECK(buf_printf(text, "key%d value-%d-%s\n", i, i,
		    "padding padding padding padding padding padding") == 0);
	CHECK(io_write_file_atomic(path, text->data, text->len, 0644) == 0);
	buf_free(&text);
	CHECK(map_build(path, false, &error) == 0);
	xfree(&error);
	spec = xasprintf("lmdb:%s", path);
	db = xasprintf("%s.lmdb", path);
	m = open_ok(spec);
	if (m != NULL) {
		char *want;

		snprintf(key, sizeof(key), "key%d", 49999);
		want = xasprintf("value-49999-%s", "padding padding padding "
		    "padding padding padding");
		LOOKUP(m, key, want);
		xfree(&want);
	}
	map_close(&m);
	unlink(db);
	unlink(path);
	xfree(&db);
	xfree(&spec);
	xfree(&path);
}

static void
test_split(void)
{
	static const struct {
		const char *in;
		const char *want;	/* items joined by "|" */
	} cases[] = {
		{ "a, {b", NULL },
		{ "a}", NULL },
		{ "", "" },
		{ " , ,", "" },
		{ "a", "a" },
		{ "a,b c\t\nd", "a|b|c|d" },
		{ "lmdb:/x, inline:{ a=1, {b = 2, 3} } static:{x y}",
		    "lmdb:/x|inline:{ a=1, {b = 2, 3} }|static:{x y}" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL, **items = map_split_list(cases[i].in,
		    &error);
		struct buf *joined = buf_new(1024);

		if (cases[i].want == NULL) {
			CHECK(items == NULL && error != NULL);
		} else {
			CHECK(items != NULL);
			for (j = 0; items != NULL && items[j] != NULL; j++) {
				if (j > 0)
					buf_add_char(joined, '|');
				buf_add_str(joined, items[j]);
			}
			CHECK_STR(joined->data, cases[i].want);
		}
		map_split_free(&items);
		buf_free(&joined);
		xfree(&error);
	}
}

static void
test_maplist(void)
{
	char *error = NULL, *value = NULL, *path, *specs;
	struct maplist *l;

	l = maplist_open("inline:{a=1}, nosuch:x", &error);
	CHECK(l == NULL);
	CHECK(error != NULL && strstr(error, "nosuch") != NULL);
	xfree(&error);
	l = maplist_open("inline:{a=1", &error);
	CHECK(l == NULL && error != NULL);
	xfree(&error);

	l = maplist_open("", &error);
	CHECK(l != NULL && maplist_empty(l));
	CHECK(l != NULL && maplist_lookup(l, "a", &value) == 0);
	maplist_close(&l);
	CHECK(maplist_empty(NULL));

	l = maplist_open("inline:{ a=1, {c = x, y} }, inline:{a=2, b=2}\n"
	    "static:fallback", &error);
	CHECK(l != NULL && !maplist_empty(l));
	if (l != NULL) {
		CHECK(maplist_lookup(l, "A", &value) == 1);
		CHECK_STR(value, "1");
		xfree(&value);
		CHECK(maplist_lookup(l, "b", &value) == 1);
		CHECK_STR(value, "2");
		xfree(&value);
		CHECK(maplist_lookup(l, "c", &value) == 1);
		CHECK_STR(value, "x, y");
		xfree(&value);
		CHECK(maplist_lookup(l, "zzz", &value) == 1);
		CHECK_STR(value, "fallback");
		xfree(&value);
	}
	maplist_close(&l);
	CHECK(l == NULL);

	/* A temporary failure (backtracking limit) stops the list. */
	path = tmp_path("slow");
	write_file(path, "/^(a|aa)+$/ SLOW\n");
	specs = xasprintf("pcre:%s static:never", path);
	l = maplist_open(specs, &error);
	CHECK(l != NULL);
	if (l != NULL) {
		CHECK(maplist_lookup(l, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", &value) == -1);
		CHECK(value == NULL);
		CHECK(maplist_lookup(l, "aaaa", &value) == 1);
		CHECK_STR(value, "SLOW");
		xfree(&value);
	}
	maplist_close(&l);
	unlink(path);
	xfree(&specs);
	xfree(&path);
}

static int
count_line(void *ctx, char *line, int line_number)
{
	struct buf *out = ctx;

	buf_printf(out, "%d[%s]", line_number, line);
	return 0;
}

static void
test_source_lines(void)
{
	static const char text[] = "# c\r\na 1 \r\n  cont\n# mid\n\tmore\n\n"
	    "b 2\nc";
	struct buf *out = buf_new(1024);

	CHECK(map_source_lines(text, strlen(text), count_line, out) == 0);
	CHECK_STR(out->data, "2[a 1   cont\tmore]7[b 2]8[c]");
	buf_free(&out);
}

int
main(void)
{
	log_init("maps_test", true);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_open_errors);
	TEST_RUN(test_split);
	TEST_RUN(test_source_lines);
	TEST_RUN(test_inline_static);
	TEST_RUN(test_cidr_errors);
	TEST_RUN(test_cidr);
	TEST_RUN(test_regexp_errors);
	TEST_RUN(test_regexp);
	TEST_RUN(test_unix);
	TEST_RUN(test_build_errors);
	TEST_RUN(test_lmdb);
	TEST_RUN(test_aliases);
	TEST_RUN(test_lmdb_big);
	TEST_RUN(test_maplist);
	rmdir(tmpdir);
	return TEST_DONE();
}
