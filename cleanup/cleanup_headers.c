/*
 * cleanup_headers.c - pure functions on a message's header block.
 *
 * The input is untrusted message content: every scan is bounded by the
 * length given, nothing recurses on input (comment nesting is a counter),
 * and the address list parser caps the number and length of addresses.
 *
 * Decisions:
 * - A header name is printable ASCII except ':' followed by optional
 *   white space and ':' (RFC 5322 2.2, plus the obsolete space before the
 *   colon). A line that is neither a header nor a continuation ends the
 *   header block, as in Postfix; cleanup then inserts the empty line.
 * - Address lists: a quoted local part keeps its quotes; a source route
 *   in an angle address is dropped (RFC 5322 4.4 obs-route).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cleanup_headers.h"
#include "mem.h"

/* Length of the header name at the start of line[0..len), or 0 when the
 * line is not a header. *colon_r is the offset of the colon. */
static size_t
cleanup_header_name_len(const char *line, size_t len, size_t *colon_r)
{
	size_t i = 0, name_len;

	while (i < len && (unsigned char)line[i] > 32 &&
	    (unsigned char)line[i] < 127 && line[i] != ':')
		i++;
	name_len = i;
	if (name_len == 0)
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != ':')
		return 0;
	*colon_r = i;
	return name_len;
}

static void
cleanup_headers_push(struct cleanup_headers *h, char *name, char *text)
{
	if (h->count == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->list = xreallocarray(h->list, h->cap, sizeof(*h->list));
	}
	h->list[h->count].name = name;
	h->list[h->count].text = text;
	h->list[h->count].deleted = false;
	h->count++;
}

/* Store the header at data[start..end) without its final newline. */
static void
cleanup_headers_close(struct cleanup_headers *h, const char *data,
    size_t start, size_t end, size_t name_len)
{
	if (end > start && data[end - 1] == '\n')
		end--;
	cleanup_headers_push(h, xstrndup(data + start, name_len),
	    xstrndup(data + start, end - start));
}

size_t
cleanup_headers_split(const char *data, size_t len, bool at_end,
    struct cleanup_headers *h)
{
	size_t pos = 0, start = 0, colon = 0, name_len = 0;
	bool open = false;	/* a header is being collected at start */

	for (;;) {
		const char *nl = pos < len ? memchr(data + pos, '\n',
		    len - pos) : NULL;
		size_t line_len, next;

		if (nl != NULL) {
			line_len = (size_t)(nl - (data + pos));
			next = pos + line_len + 1;
		} else if (at_end && pos < len) {
			line_len = len - pos;
			next = len;
		} else {
			break;
		}
		if (open && line_len > 0 &&
		    (data[pos] == ' ' || data[pos] == '\t')) {
			pos = next;
			continue;
		}
		if (open) {
			cleanup_headers_close(h, data, start, pos, name_len);
			open = false;
		}
		if (line_len == 0)
			return next;	/* the empty line ends the block */
		name_len = cleanup_header_name_len(data + pos, line_len,
		    &colon);
		if (name_len == 0)
			return pos;	/* body starts with this line */
		open = true;
		start = pos;
		pos = next;
	}
	if (open)
		cleanup_headers_close(h, data, start, pos, name_len);
	return pos;
}

void
cleanup_headers_release(struct cleanup_headers *h)
{
	for (size_t i = 0; i < h->count; i++) {
		xfree(&h->list[i].name);
		xfree(&h->list[i].text);
	}
	xfree(&h->list);
	h->count = h->cap = 0;
}

void
cleanup_headers_add(struct cleanup_headers *h, const char *text)
{
	size_t colon = 0, name_len;

	name_len = cleanup_header_name_len(text, strlen(text), &colon);
	cleanup_headers_push(h, xstrndup(text, name_len), xstrdup(text));
}

bool
cleanup_header_is(const struct cleanup_header *hdr, const char *name)
{
	return strcasecmp(hdr->name, name) == 0;
}

struct cleanup_header *
cleanup_headers_find(struct cleanup_headers *h, const char *name)
{
	for (size_t i = 0; i < h->count; i++)
		if (!h->list[i].deleted && cleanup_header_is(&h->list[i], name))
			return &h->list[i];
	return NULL;
}

int
cleanup_headers_format(const struct cleanup_headers *h, struct buf *out)
{
	for (size_t i = 0; i < h->count; i++) {
		if (h->list[i].deleted)
			continue;
		if (buf_add_str(out, h->list[i].text) < 0 ||
		    buf_add_char(out, '\n') < 0)
			return -1;
	}
	return 0;
}

char *
cleanup_header_value(const struct cleanup_header *hdr)
{
	const char *p = strchr(hdr->text, ':');
	struct buf b;
	char *value;

	buf_init(&b, strlen(hdr->text) + 1);
	for (p = p ? p + 1 : ""; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r')
			(void)buf_add_char(&b, *p);
	p = b.data;
	while (*p == ' ' || *p == '\t')
		p++;
	value = xstrdup(p);
	for (size_t n = strlen(value); n > 0 &&
	    (value[n - 1] == ' ' || value[n - 1] == '\t'); n--)
		value[n - 1] = '\0';
	buf_release(&b);
	return value;
}

/* Address list parsing: the current mailbox's plain words and its angle
 * address, emitted at ',' ';' or the end. */
struct cleanup_addr_state {
	struct buf plain;
	struct buf angle;
	bool have_angle;
	bool too_long;
	char ***list_r;
	size_t *count_r;
	size_t cap;
	int result;
};

static void
cleanup_addr_emit(struct cleanup_addr_state *st)
{
	const char *a;

	if (st->have_angle) {
		a = st->angle.data;
		if (*a == '@') {	/* obs-route "@a,@b:user@c" */
			const char *colon = strchr(a, ':');

			a = colon ? colon + 1 : "";
		}
	} else {
		a = st->plain.data;
	}
	if (*a != '\0' && !st->too_long) {
		if (*st->count_r >= CLEANUP_ADDR_LIST_MAX) {
			st->result = -1;
		} else {
			if (*st->count_r == st->cap || *st->list_r == NULL) {
				st->cap = *st->count_r + 16;
				*st->list_r = xreallocarray(*st->list_r,
				    st->cap, sizeof(char *));
			}
			(*st->list_r)[(*st->count_r)++] = xstrdup(a);
		}
	} else if (st->too_long) {
		st->result = -1;
	}
	buf_reset(&st->plain);
	buf_reset(&st->angle);
	st->have_angle = false;
	st->too_long = false;
}

static void
cleanup_addr_add(struct cleanup_addr_state *st, struct buf *b, char c)
{
	if (buf_add_char(b, c) < 0)
		st->too_long = true;
}

int
cleanup_addr_list_parse(const char *value, char ***list_r, size_t *count_r)
{
	struct cleanup_addr_state st = { .list_r = list_r,
	    .count_r = count_r, .cap = *count_r };
	bool in_angle = false;
	const char *p = value;

	buf_init(&st.plain, ADDR_MAX);
	buf_init(&st.angle, ADDR_MAX);
	while (*p != '\0') {
		char c = *p;

		if (c == '(') {		/* comment, nested, with escapes */
			int depth = 0;

			for (; *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')' && --depth == 0)
					break;
			}
			if (*p != '\0')
				p++;
			continue;
		}
		if (c == '"') {		/* quoted string, kept with quotes */
			struct buf *b = in_angle ? &st.angle : &st.plain;

			cleanup_addr_add(&st, b, '"');
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0') {
					cleanup_addr_add(&st, b, *p);
					p++;
				}
				if (*p != '\r' && *p != '\n')
					cleanup_addr_add(&st, b, *p);
			}
			cleanup_addr_add(&st, b, '"');
			if (*p != '\0')
				p++;
			continue;
		}
		p++;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (in_angle) {
			if (c == '>')
				in_angle = false;
			else
				cleanup_addr_add(&st, &st.angle, c);
			continue;
		}
		switch (c) {
		case '<':
			in_angle = true;
			st.have_angle = true;
			buf_reset(&st.angle);
			break;
		case ':':	/* group display name: not an address */
			if (!st.have_angle) {
				buf_reset(&st.plain);
				st.too_long = false;
			}
			break;
		case ',':
		case ';':
			cleanup_addr_emit(&st);
			break;
		default:
			cleanup_addr_add(&st, &st.plain, c);
			break;
		}
	}
	cleanup_addr_emit(&st);
	buf_release(&st.plain);
	buf_release(&st.angle);
	return st.result;
}

void
cleanup_addr_list_free(char ***list_r, size_t *count_r)
{
	for (size_t i = 0; i < *count_r; i++)
		xfree(&(*list_r)[i]);
	xfree(list_r);
	*count_r = 0;
}

enum cleanup_action
cleanup_action_parse(const char *value, const char **text_r)
{
	static const struct {
		const char *word;
		enum cleanup_action action;
	} actions[] = {
		{ "DUNNO", CLEANUP_ACTION_DUNNO },
		{ "OK", CLEANUP_ACTION_DUNNO },
		{ "IGNORE", CLEANUP_ACTION_IGNORE },
		{ "REJECT", CLEANUP_ACTION_REJECT },
		{ "WARN", CLEANUP_ACTION_WARN },
	};
	size_t n;

	while (*value == ' ' || *value == '\t')
		value++;
	n = strcspn(value, " \t");
	*text_r = value + n;
	while (**text_r == ' ' || **text_r == '\t')
		(*text_r)++;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strlen(actions[i].word) == n &&
		    strncasecmp(value, actions[i].word, n) == 0)
			return actions[i].action;
	return CLEANUP_ACTION_UNSUPPORTED;
}

void
cleanup_date(time_t t, char *out, size_t size)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&t, &tm) == NULL) {
		gmtime_r(&t, &tm);
		tm.tm_gmtoff = 0;
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    off / 60, off % 60);
}

char *
cleanup_header_safe(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *copy = xstrndup(s, n);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] < 32 || copy[i] == 127)
			copy[i] = '?';
	return copy;
}

char *
cleanup_received_format(const struct cleanup_received *r)
{
	struct buf b;
	char date[64], *result;
	char *helo, *name, *addr, *proto, *rcpt, *tls;

	cleanup_date(r->now, date, sizeof(date));
	buf_init(&b, 4096);
	if (strcmp(r->origin, "pickup") == 0) {
		char *uid = cleanup_header_safe(r->uid ? r->uid : "unknown",
		    32);

		(void)buf_printf(&b, "Received: by %s (postern, from userid "
		    "%s)\n\tid %s; %s", r->myhostname, uid, r->qid, date);
		xfree(&uid);
		result = buf_strdup(&b);
		buf_release(&b);
		return result;
	}
	name = cleanup_header_safe(r->client_name && *r->client_name ?
	    r->client_name : "unknown", 255);
	addr = cleanup_header_safe(r->client_addr && *r->client_addr ?
	    r->client_addr : "unknown", 64);
	helo = cleanup_header_safe(r->helo && *r->helo ? r->helo : name,
	    255);
	proto = cleanup_header_safe(r->protocol && *r->protocol ?
	    r->protocol : "SMTP", 32);
	(void)buf_printf(&b, "Received: from %s (%s [%s])", helo, name, addr);
	if (r->tls != NULL && *r->tls != '\0' && strcmp(r->tls, "0") != 0) {
		tls = cleanup_header_safe(strcmp(r->tls, "1") == 0 ? "TLS" :
		    r->tls, 200);
		(void)buf_printf(&b, "\n\t(using %s)", tls);
		xfree(&tls);
	}
	if (r->sasl_user != NULL && *r->sasl_user != '\0') {
		char *user = cleanup_header_safe(r->sasl_user, 255);

		(void)buf_printf(&b, "\n\t(Authenticated sender: %s)", user);
		xfree(&user);
	}
	(void)buf_printf(&b, "\n\tby %s (postern) with %s id %s",
	    r->myhostname, proto, r->qid);
	if (r->rcpt != NULL) {
		rcpt = cleanup_header_safe(r->rcpt, ADDR_MAX);
		(void)buf_printf(&b, "\n\tfor <%s>; %s", rcpt, date);
		xfree(&rcpt);
	} else {
		(void)buf_printf(&b, ";\n\t%s", date);
	}
	xfree(&helo);
	xfree(&name);
	xfree(&addr);
	xfree(&proto);
	result = buf_strdup(&b);
	buf_release(&b);
	return result;
}
