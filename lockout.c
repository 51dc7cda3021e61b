/*
 * lockout.c - see lockout.h.
 *
 * The table is open addressing over LOCKOUT_ENTRIES slots: an entry lives in
 * the LOCKOUT_PROBE slots after the one its key hashes to.  Keys are 64 bits
 * of a keyed SHA-256 of (kind, account, address), so no account name or
 * address is stored and nobody can crowd one window on purpose.  When a
 * window has no free slot the entry with the oldest failure is evicted: the
 * table never grows, and an eviction can only forget a counter (a guesser
 * would need thousands of fresh failing pairs to push its own lock out,
 * which the address counter locks long before).
 */
#include "lockout.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#define LOCKOUT_ENTRIES 8192            /* power of two; about 320 KiB */
#define LOCKOUT_PROBE 16
#define LOCKOUT_DELAY_CAP_MS 30000      /* the longest hold, well under any idle timeout */

enum lockout_kind { KIND_PAIR = 1, KIND_ACCOUNT = 2, KIND_ADDRESS = 3 };

struct lockout_entry {
	uint64_t key;                   /* 0 = free */
	uint64_t failures;
	int64_t last_ms;                /* the last failure */
	int64_t next_ms;                /* pairs: the next attempt waits until then */
	int64_t locked_until_ms;
};

struct lockout {
	uint8_t secret[16];
	struct lockout_entry slots[LOCKOUT_ENTRIES];
};

struct lockout *lockout_new(const uint8_t key[16])
{
	struct lockout *lo = calloc(1, sizeof *lo);

	if (lo != NULL)
		memcpy(lo->secret, key, sizeof lo->secret);
	return lo;
}

void lockout_free(struct lockout *lo)
{
	free(lo);
}

const char *lockout_scope_name(enum lockout_scope scope)
{
	switch (scope) {
	case LOCKOUT_PAIR: return "account+address";
	case LOCKOUT_ACCOUNT: return "account";
	case LOCKOUT_ADDRESS: return "address";
	default: return "none";
	}
}

/* The part of an address that names a client: IPv4 (also when mapped into
 * IPv6) or the /64 of an IPv6 address. */
static size_t addr_prefix(const unsigned char *addr, size_t addrlen, const unsigned char **p)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	*p = addr;
	if (addrlen == 16 && memcmp(addr, v4mapped, 12) == 0) {
		*p = addr + 12;
		return 4;
	}
	return addrlen == 16 ? 8 : addrlen;
}

static uint64_t entry_key(const struct lockout *lo, enum lockout_kind kind, const char *account,
                          const unsigned char *addr, size_t addrlen)
{
	mbedtls_sha256_context ctx;
	unsigned char digest[32], k = (unsigned char)kind;
	const unsigned char *prefix;
	size_t plen = addr_prefix(addr, addrlen, &prefix);
	uint64_t key;

	mbedtls_sha256_init(&ctx);
	mbedtls_sha256_starts_ret(&ctx, 0);
	mbedtls_sha256_update_ret(&ctx, lo->secret, sizeof lo->secret);
	mbedtls_sha256_update_ret(&ctx, &k, 1);
	if (kind != KIND_ADDRESS)
		mbedtls_sha256_update_ret(&ctx, (const unsigned char *)account, strlen(account) + 1);
	if (kind != KIND_ACCOUNT) {
		k = (unsigned char)plen;
		mbedtls_sha256_update_ret(&ctx, &k, 1);
		mbedtls_sha256_update_ret(&ctx, prefix, plen);
	}
	mbedtls_sha256_finish_ret(&ctx, digest);
	mbedtls_sha256_free(&ctx);
	memcpy(&key, digest, sizeof key);
	return key ? key : 1;
}

/* Nothing left to remember: no lock, no hold, and the last failure is
 * outside the counting window. */
static int entry_stale(const struct lockout_entry *e, const struct lockout_limits *lim, int64_t now_ms)
{
	return e->key == 0 || (now_ms >= e->locked_until_ms && now_ms >= e->next_ms &&
	                       now_ms - e->last_ms >= (int64_t)lim->lockout_ms);
}

/* The entry for key, or NULL; with create, a new one (free slot, stale slot,
 * or the oldest of the window evicted).  A stale entry of the same key
 * starts again from zero. */
static struct lockout_entry *entry_find(struct lockout *lo, const struct lockout_limits *lim, uint64_t key,
                                        int64_t now_ms, int create)
{
	struct lockout_entry *reuse = NULL, *oldest = NULL;

	for (size_t i = 0; i < LOCKOUT_PROBE; i++) {
		struct lockout_entry *e = &lo->slots[(key + i) & (LOCKOUT_ENTRIES - 1)];

		if (e->key == key) {
			if (entry_stale(e, lim, now_ms)) {
				memset(e, 0, sizeof *e);
				e->key = key;
			}
			return e;
		}
		if (reuse == NULL && entry_stale(e, lim, now_ms))
			reuse = e;
		if (oldest == NULL || e->last_ms < oldest->last_ms)
			oldest = e;
	}
	if (!create)
		return NULL;
	if (reuse == NULL)
		reuse = oldest;
	memset(reuse, 0, sizeof *reuse);
	reuse->key = key;
	return reuse;
}

enum lockout_scope lockout_check(struct lockout *lo, const struct lockout_limits *lim, const char *account,
                                 const unsigned char *addr, size_t addrlen, int64_t now_ms, int64_t *until_ms)
{
	struct lockout_entry *address = entry_find(lo, lim, entry_key(lo, KIND_ADDRESS, account, addr, addrlen), now_ms, 0);
	struct lockout_entry *pair = entry_find(lo, lim, entry_key(lo, KIND_PAIR, account, addr, addrlen), now_ms, 0);
	struct lockout_entry *acct = entry_find(lo, lim, entry_key(lo, KIND_ACCOUNT, account, addr, addrlen), now_ms, 0);

	*until_ms = 0;
	if (address != NULL && address->locked_until_ms > now_ms) {
		*until_ms = address->locked_until_ms;
		return LOCKOUT_ADDRESS;
	}
	if (pair != NULL && pair->locked_until_ms > now_ms) {
		*until_ms = pair->locked_until_ms;
		return LOCKOUT_PAIR;
	}
	/* The account lock binds only addresses that failed for it. */
	if (acct != NULL && acct->locked_until_ms > now_ms && pair != NULL && pair->failures > 0) {
		*until_ms = acct->locked_until_ms;
		return LOCKOUT_ACCOUNT;
	}
	if (pair != NULL)
		*until_ms = pair->next_ms;
	return LOCKOUT_NONE;
}

/* Count one failure in e; lock it for lockout_ms once threshold is reached
 * (each later failure restarts the lock).  Returns 1 if it was not locked
 * before. */
static int entry_fail(struct lockout_entry *e, const struct lockout_limits *lim, uint64_t threshold, int64_t now_ms)
{
	int was_locked = e->locked_until_ms > now_ms;

	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now_ms;
	if (threshold == 0 || e->failures < threshold)
		return 0;
	e->locked_until_ms = now_ms + (int64_t)lim->lockout_ms;
	return !was_locked;
}

void lockout_fail(struct lockout *lo, const struct lockout_limits *lim, const char *account,
                  const unsigned char *addr, size_t addrlen, int64_t now_ms, struct lockout_failure *out)
{
	struct lockout_entry *e;
	uint64_t delay;

	memset(out, 0, sizeof *out);
	e = entry_find(lo, lim, entry_key(lo, KIND_PAIR, account, addr, addrlen), now_ms, 1);
	if (entry_fail(e, lim, lim->pair_threshold, now_ms))
		out->newly_locked |= 1u << LOCKOUT_PAIR;
	delay = e->failures > 16 ? LOCKOUT_DELAY_CAP_MS : lim->failure_delay_ms << (e->failures - 1);
	e->next_ms = now_ms + (int64_t)(delay < LOCKOUT_DELAY_CAP_MS ? delay : LOCKOUT_DELAY_CAP_MS);
	out->pair_failures = e->failures;

	e = entry_find(lo, lim, entry_key(lo, KIND_ACCOUNT, account, addr, addrlen), now_ms, 1);
	if (entry_fail(e, lim, lim->account_threshold, now_ms))
		out->newly_locked |= 1u << LOCKOUT_ACCOUNT;
	out->account_failures = e->failures;

	e = entry_find(lo, lim, entry_key(lo, KIND_ADDRESS, account, addr, addrlen), now_ms, 1);
	if (entry_fail(e, lim, lim->address_threshold, now_ms))
		out->newly_locked |= 1u << LOCKOUT_ADDRESS;
	out->address_failures = e->failures;
}

void lockout_success(struct lockout *lo, const char *account, const unsigned char *addr, size_t addrlen)
{
	uint64_t key = entry_key(lo, KIND_PAIR, account, addr, addrlen);

	for (size_t i = 0; i < LOCKOUT_PROBE; i++) {
		struct lockout_entry *e = &lo->slots[(key + i) & (LOCKOUT_ENTRIES - 1)];

		if (e->key == key)
			memset(e, 0, sizeof *e);
	}
}

void lockout_limits_from(const struct config *cfg, struct lockout_limits *lim)
{
	lim->failure_delay_ms = cfg->failure_delay_ms;
	lim->pair_threshold = cfg->lockout_threshold;
	lim->account_threshold = cfg->account_lockout_threshold;
	lim->address_threshold = cfg->address_lockout_threshold;
	lim->lockout_ms = cfg->lockout_seconds * 1000;
}
