/*
 * anvil_table.h - anvil's counters: per (service, client) connection
 * counts and event rates, in memory.
 *
 * Each entry counts, for one "service:ident" key, the sessions open now
 * (connect minus disconnect) and the events of the current time window:
 * connections, messages (MAIL), recipients (RCPT), AUTH commands and new
 * TLS sessions. A window starts with the first event after the previous
 * one ended and lasts unit_ms (anvil_rate_time_unit), as in Postfix's
 * anvil: when it is over the rates start again from zero. AUTH failures
 * (postern's addition) are counted until the client has gone a whole
 * unit_ms without a failure.
 *
 * An entry with no open session and no event for unit_ms is idle and is
 * removed by anvil_table_expire(). The table holds at most max_entries:
 * a new key then replaces the least recently updated idle entry (or, when
 * every entry has open sessions, the least recently updated one).
 *
 * Times are io_now_ms() values passed in by the caller, so tests can
 * move the clock.
 */
#ifndef ANVIL_TABLE_H
#define ANVIL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define ANVIL_KEY_MAX	512	/* "service:ident" */

enum anvil_event {
	ANVIL_CONNECT,
	ANVIL_DISCONNECT,
	ANVIL_MESSAGE,
	ANVIL_RCPT,
	ANVIL_AUTH,
	ANVIL_AUTH_FAIL,
	ANVIL_NEWTLS,
	ANVIL_LOOKUP,		/* read only: creates nothing */
};

/* One entry's counters after an event. */
struct anvil_counts {
	unsigned count;		/* sessions open now */
	unsigned rate;		/* connections in this window */
	unsigned message;
	unsigned rcpt;
	unsigned auth;
	unsigned auth_fail;
	unsigned newtls;
};

/* The largest value of one counter since the last anvil_table_stats(). */
struct anvil_max {
	unsigned value;		/* 0: nothing seen */
	char key[ANVIL_KEY_MAX];
	int64_t when;		/* io_now_ms() time */
};

struct anvil_stats {
	struct anvil_max count, rate, message, rcpt, auth, newtls;
	size_t cache_size;	/* most entries at once */
	int64_t cache_when;
};

struct anvil_table;

/* A table of at most max_entries (>= 1) with windows of unit_ms (>= 1). */
struct anvil_table *anvil_table_new(size_t max_entries, int64_t unit_ms);
void anvil_table_free(struct anvil_table **t_r);
/* Apply event to the entry of (service, ident) at time now and copy its
 * counters to *out. DISCONNECT never goes below zero; DISCONNECT and
 * LOOKUP of an unknown key create nothing and give zeros. The key is
 * truncated to ANVIL_KEY_MAX - 1 bytes. */
void anvil_table_update(struct anvil_table *t, const char *service,
    const char *ident, enum anvil_event event, int64_t now,
    struct anvil_counts *out);
/* Remove the idle entries; returns how many. */
size_t anvil_table_expire(struct anvil_table *t, int64_t now);
size_t anvil_table_size(const struct anvil_table *t);
/* Entries replaced because the table was full, since it was created. */
size_t anvil_table_evicted(const struct anvil_table *t);
/* Copy the maxima since the last call to *out and start again. */
void anvil_table_stats(struct anvil_table *t, struct anvil_stats *out);

#endif
