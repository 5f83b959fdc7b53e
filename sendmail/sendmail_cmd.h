/*
 * sendmail_cmd.h - the sendmail command: mode dispatch after parsing.
 */
#ifndef SENDMAIL_CMD_H
#define SENDMAIL_CMD_H

/* Run sendmail (or mailq, newaliases) with argv; returns the exit code
 * (sysexits.h) unless it execs postern. */
int sendmail_main(int argc, char **argv);

#endif
