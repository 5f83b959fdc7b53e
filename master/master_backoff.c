/*
 * master_backoff.c - how long a crashing service waits before its next
 * process.
 *
 * Like Postfix's service throttling, but adaptive: the first crash waits
 * 1 s, each further crash in a row doubles the wait up to
 * MASTER_BACKOFF_MAX; a clean exit resets it (master_child.c).
 */
#include "master.h"

int
master_backoff_next(int previous)
{
	if (previous <= 0)
		return 1;
	if (previous >= MASTER_BACKOFF_MAX / 2)
		return MASTER_BACKOFF_MAX;
	return previous * 2;
}
