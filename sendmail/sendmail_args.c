/*
 * sendmail_args.c - the sendmail command line (and mailq, newaliases).
 *
 * Sendmail's options as Postfix's sendmail accepts them: -bX modes, -oX
 * options (only -oi means anything; the rest are accepted and ignored, as
 * Postfix does), -f/-r sender, -F full name, -t, -i, -N/-R/-V for DSN,
 * -q to flush, -C/-c for the configuration directory. Options that
 * sendmail accepts but that change nothing here (-B -e -G -h -L -m -n -p
 * -U -x -X) are ignored. Recipient arguments may hold comma-separated
 * lists.
 */
#include <ctype.h>
#include <getopt.h>
#include <libgen.h>
#include <string.h>

#include "addr.h"
#include "mem.h"
#include "sendmail_args.h"

static char *
sendmail_upper(const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return copy;
}

char *
sendmail_args_address(const char *arg)
{
	size_t len;

	while (*arg == ' ' || *arg == '\t')
		arg++;
	len = strlen(arg);
	while (len > 0 && (arg[len - 1] == ' ' || arg[len - 1] == '\t'))
		len--;
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len >= ADDR_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)arg[i] < 32 || arg[i] == 127 ||
		    arg[i] == '<' || arg[i] == '>')
			return NULL;
	return xstrndup(arg, len);
}

int
sendmail_args_add_rcpts(struct sendmail_opts *o, const char *arg)
{
	const char *p = arg;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char *piece = xstrndup(p, n), *a = sendmail_args_address(piece);

		xfree(&piece);
		if (a == NULL)
			return -1;
		if (*a != '\0') {
			o->rcpts = xreallocarray(o->rcpts, o->rcpt_count + 1,
			    sizeof(char *));
			o->rcpts[o->rcpt_count++] = a;
		} else {
			xfree(&a);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
sendmail_mode_b(struct sendmail_opts *o, const char *arg, char **error_r)
{
	static const struct {
		const char *name;
		enum sendmail_mode mode;
	} modes[] = {
		{ "m", SENDMAIL_MODE_DELIVER },
		{ "s", SENDMAIL_MODE_SMTP },
		{ "p", SENDMAIL_MODE_QUEUE_LIST },
		{ "i", SENDMAIL_MODE_ALIASES },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(arg, modes[i].name) == 0) {
			o->mode = modes[i].mode;
			return 0;
		}
	}
	*error_r = xasprintf("unsupported mode -b%s (use postern start for "
	    "the daemons)", arg);
	return -1;
}

int
sendmail_args_parse(int argc, char **argv, struct sendmail_opts *o,
    char **error_r)
{
	char *name = xstrdup(argc > 0 ? argv[0] : "sendmail");
	const char *base = basename(name);
	int ch;

	memset(o, 0, sizeof(*o));
	*error_r = NULL;
	if (strcmp(base, "mailq") == 0)
		o->mode = SENDMAIL_MODE_QUEUE_LIST;
	else if (strcmp(base, "newaliases") == 0)
		o->mode = SENDMAIL_MODE_ALIASES;
	xfree(&name);
	opterr = 0;
	optind = 0;	/* GNU: full reinitialisation (tests parse often) */
	while ((ch = getopt(argc, argv,
	    "B:b:C:c:e:F:f:Gh:IiL:mN:no:p:q::R:r:tUV:vX:x")) != -1) {
		switch (ch) {
		case 'b':
			if (sendmail_mode_b(o, optarg, error_r) < 0)
				return -1;
			break;
		case 'C':
		case 'c':
			o->config_dir = optarg;
			break;
		case 'F':
			o->full_name = optarg;
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'I':
			o->mode = SENDMAIL_MODE_ALIASES;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'N':
			xfree(&o->notify);
			o->notify = sendmail_upper(optarg);
			break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				o->ignore_dots = true;
			break;
		case 'q':
			o->mode = SENDMAIL_MODE_FLUSH;
			break;
		case 'R':
			xfree(&o->ret);
			o->ret = sendmail_upper(optarg);
			break;
		case 't':
			o->extract = true;
			break;
		case 'V':
			o->envid = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'B': case 'e': case 'G': case 'h': case 'L': case 'm':
		case 'n': case 'p': case 'U': case 'X': case 'x':
			break;
		default:
			if (optopt != 0 && strchr("BbCceFfhLNopRrVX", optopt))
				*error_r = xasprintf("option -%c requires a "
				    "value", optopt);
			else
				*error_r = xasprintf("unknown option -%c",
				    optopt ? optopt : '?');
			return -1;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (sendmail_args_add_rcpts(o, argv[i]) < 0) {
			*error_r = xasprintf("malformed recipient address: "
			    "%.100s", argv[i]);
			return -1;
		}
	}
	if (o->ret != NULL && strcmp(o->ret, "HDRS") != 0 &&
	    strcmp(o->ret, "FULL") != 0) {
		*error_r = xasprintf("-R takes hdrs or full");
		return -1;
	}
	return 0;
}

void
sendmail_args_release(struct sendmail_opts *o)
{
	for (size_t i = 0; i < o->rcpt_count; i++)
		xfree(&o->rcpts[i]);
	xfree(&o->rcpts);
	o->rcpt_count = 0;
	xfree(&o->notify);
	xfree(&o->ret);
}
