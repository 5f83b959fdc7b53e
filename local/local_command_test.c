/*
 * local_command_test.c - command splitting without a shell.
 */
#include <string.h>

#include "buf.h"
#include "config.h"
#include "local.h"
#include "testing.h"

static void
test_split(void)
{
	static const struct {
		const char *in;
		const char *want;	/* argv joined by " ; ", NULL: error */
	} cases[] = {
		{ "", NULL },
		{ "   ", NULL },
		{ "cat | grep x", NULL },
		{ "prog > /tmp/x", NULL },
		{ "prog; rm -rf /", NULL },
		{ "prog $HOME", NULL },
		{ "prog `id`", NULL },
		{ "prog \"$HOME\"", NULL },
		{ "prog 'unbalanced", NULL },
		{ "prog && x", NULL },
		{ "/usr/bin/procmail", "/usr/bin/procmail" },
		{ "/usr/bin/procmail -a  $", NULL },
		{ " /usr/bin/vacation -a bob  bob ", "/usr/bin/vacation ; -a ; "
		    "bob ; bob" },
		{ "prog 'a b' \"c d\" e\\ f", "prog ; a b ; c d ; e f" },
		{ "prog '$HOME|x;y'", "prog ; $HOME|x;y" },
		{ "prog \\| \\$x", "prog ; | ; $x" },
		{ "prog \"a\\\"b\" ''", "prog ; a\"b ; " },
	};
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		char **argv = local_command_split(cases[i].in, &error);
		struct buf *joined;

		if (cases[i].want == NULL) {
			if (argv != NULL)
				fprintf(stderr, "case %s\n", cases[i].in);
			CHECK(argv == NULL);
			CHECK(error != NULL);
			config_list_free(&argv);
			continue;
		}
		CHECK(argv != NULL);
		if (argv == NULL) {
			fprintf(stderr, "case %s: %s\n", cases[i].in, error);
			continue;
		}
		joined = buf_new(4096);
		for (j = 0; argv[j] != NULL; j++) {
			if (j > 0)
				buf_add_str(joined, " ; ");
			buf_add_str(joined, argv[j]);
		}
		CHECK_STR(joined->data, cases[i].want);
		buf_free(&joined);
		config_list_free(&argv);
	}
}

int
main(void)
{
	TEST_RUN(test_split);
	return TEST_DONE();
}
