/*
 * sendmail_input.h - reading lines and messages from standard input.
 */
#ifndef SENDMAIL_INPUT_H
#define SENDMAIL_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SENDMAIL_LINE_MAX	(64 * 1024)

struct sendmail_reader {
	int fd;
	struct buf in;		/* read, not yet returned */
	bool eof;
};

void sendmail_reader_init(struct sendmail_reader *r, int fd);
void sendmail_reader_release(struct sendmail_reader *r);
/* The next line into line (replacing it) without its "\n" or "\r\n".
 * *complete_r is false for the first SENDMAIL_LINE_MAX bytes of a longer
 * line (the rest comes next); a last line without newline is complete.
 * Returns 1, 0 at end of input, -1 on a read error. */
int sendmail_read_line(struct sendmail_reader *r, struct buf *line,
    bool *complete_r);

/* A message's lines as they arrive: at_line_start tracks whether the
 * next piece starts a line (only a whole line "." can end the input). */
struct sendmail_message {
	bool dot_ends;		/* no -i: a line "." ends the message */
	bool smtp;		/* -bs DATA: also undo dot-stuffing */
	bool at_line_start;
	bool ended;		/* the "." line was seen */
};

void sendmail_message_init(struct sendmail_message *m, bool dot_ends,
    bool smtp);
/* Add one piece from sendmail_read_line() to out, with "\n" after a
 * complete line. Returns 1 when the piece was the ending ".", else 0, or
 * -1 when out is full. */
int sendmail_message_line(struct sendmail_message *m, const char *data,
    size_t len, bool complete, struct buf *out);

#endif
