/*
 * qmgr_backoff.h - when to try a deferred message again, and when to give
 * up on it. Pure functions of times in seconds; no clock, no config.
 */
#ifndef QMGR_BACKOFF_H
#define QMGR_BACKOFF_H

#include <stdbool.h>

/* Seconds from now until the next attempt on a message that arrived at
 * arrival (unix seconds) and was deferred at now. Like Postfix: the
 * message's age clamped to [min_backoff, max_backoff], so the interval
 * doubles with every attempt from min_backoff up to max_backoff. A
 * max_backoff below min_backoff counts as min_backoff; the result is at
 * least 1. */
long long qmgr_backoff_delay(long long arrival, long long now,
    long long min_backoff, long long max_backoff);
/* true when a message that arrived at arrival has been in the queue for
 * lifetime seconds or longer at now (lifetime 0: after the first failed
 * attempt, as in Postfix). */
bool qmgr_backoff_expired(long long arrival, long long now,
    long long lifetime);

#endif
