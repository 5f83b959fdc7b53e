/*
 * main.c - sendmail, mailq, newaliases: the compatibility command.
 *
 * The work is in sendmail_cmd.c and the modules it calls.
 */
#include "sendmail_cmd.h"

int
main(int argc, char **argv)
{
	return sendmail_main(argc, argv);
}
