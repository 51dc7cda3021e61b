/*
 * lockout.h - sign-in throttling against password guessing.
 *
 * Failed sign-ins are counted per (account, address), per account and per
 * address, in memory, in one table of fixed size (the oldest entries are
 * evicted; a restart forgets everything).  An address is an IPv4 address or
 * an IPv6 /64, the block one host usually holds.
 *
 *   - After each failure of an (account, address) pair its next attempt is
 *     held back (not refused) for a delay that doubles with every failure.
 *   - Enough failures of a pair lock the pair; enough failures from an
 *     address lock the address (any account); enough failures of an account
 *     lock the account, but only for the addresses that have failed for it,
 *     so guessing from elsewhere cannot lock its owner out.
 *   - Failures are counted within lockout_ms of each other; a lock lasts
 *     lockout_ms from the failure that set it.  A success forgets the pair.
 *
 * Nothing here sleeps or logs: the caller holds attempts with a timer and
 * writes the log lines.
 */
#ifndef PCHAT_LOCKOUT_H
#define PCHAT_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

struct lockout;

/* From [auth]; a threshold of 0 never locks that scope. */
struct lockout_limits {
	uint64_t failure_delay_ms;      /* hold after the first failure of a pair; doubles after each */
	uint64_t pair_threshold;
	uint64_t account_threshold;
	uint64_t address_threshold;
	uint64_t lockout_ms;
};

enum lockout_scope { LOCKOUT_NONE = 0, LOCKOUT_PAIR = 1, LOCKOUT_ACCOUNT = 2, LOCKOUT_ADDRESS = 3 };

/* What a failure did. */
struct lockout_failure {
	uint64_t pair_failures, account_failures, address_failures;
	unsigned newly_locked;          /* bit (1 << scope) for each scope this failure locked */
};

/* key: 16 random bytes that key the table's hash (so nobody can aim
 * entries at one slot).  NULL when out of memory. */
struct lockout *lockout_new(const uint8_t key[16]);
void lockout_free(struct lockout *lo);

/* Before a password is checked.  Returns the scope that refuses the attempt
 * (LOCKOUT_NONE: it may go on), with *until_ms the end of that lock; with
 * LOCKOUT_NONE, *until_ms > now_ms means "hold the attempt until then".
 * addr is 4 (IPv4) or 16 (IPv6) bytes. */
enum lockout_scope lockout_check(struct lockout *lo, const struct lockout_limits *lim, const char *account,
                                 const unsigned char *addr, size_t addrlen, int64_t now_ms, int64_t *until_ms);
/* A wrong password (or an unknown account) for account from addr. */
void lockout_fail(struct lockout *lo, const struct lockout_limits *lim, const char *account,
                  const unsigned char *addr, size_t addrlen, int64_t now_ms, struct lockout_failure *out);
/* A successful sign-in: the pair's failures are forgotten (not the account's
 * or the address's, which a guesser holding one good password could reset). */
void lockout_success(struct lockout *lo, const char *account, const unsigned char *addr, size_t addrlen);

const char *lockout_scope_name(enum lockout_scope scope);

/* The limits as the [auth] keys set them (SIP and web sign-in alike). */
struct config;
void lockout_limits_from(const struct config *cfg, struct lockout_limits *lim);

#endif
