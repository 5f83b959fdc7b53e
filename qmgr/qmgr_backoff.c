/*
 * qmgr_backoff.c - retry intervals for deferred mail.
 *
 * Postfix's rule, kept because admins tune minimal_backoff_time and
 * maximal_backoff_time expecting it: the next attempt waits as long as the
 * message is old, within [minimal_backoff_time, maximal_backoff_time].
 * With attempts at arrival + 300, 600, 1200, 2400, ... the wait doubles
 * each time until it reaches the maximum. The deferred file's mtime holds
 * the time of the next attempt (see qmgr_queue.c).
 */
#include "qmgr_backoff.h"

long long
qmgr_backoff_delay(long long arrival, long long now, long long min_backoff,
    long long max_backoff)
{
	long long age = now - arrival;

	if (min_backoff < 1)
		min_backoff = 1;
	if (max_backoff < min_backoff)
		max_backoff = min_backoff;
	if (age < min_backoff)	/* also a clock that went backwards */
		return min_backoff;
	if (age > max_backoff)
		return max_backoff;
	return age;
}

bool
qmgr_backoff_expired(long long arrival, long long now, long long lifetime)
{
	if (lifetime <= 0)
		return true;
	return now - arrival >= lifetime;
}
