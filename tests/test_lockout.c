/*
 * test_lockout.c - the sign-in throttling table (lockout.c) on its own:
 * holds that double, the three locks and who they bind, the counting
 * window, IPv6 /64 and IPv4-mapped addresses, and a table that stays bounded
 * under a flood of fresh pairs.
 */
#include "check.h"

#include "../lockout.c"

#include <stdio.h>

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const unsigned char a1[4] = { 10, 0, 0, 1 }, a2[4] = { 10, 0, 0, 2 }, a3[4] = { 10, 0, 0, 3 };

static struct lockout_limits lim = { 1000, 5, 8, 12, 60000 };

static enum lockout_scope check(struct lockout *lo, const char *user, const unsigned char *a, size_t alen,
                                int64_t now, int64_t *until)
{
	return lockout_check(lo, &lim, user, a, alen, now, until);
}

static void fail(struct lockout *lo, const char *user, const unsigned char *a, size_t alen, int64_t now,
                 struct lockout_failure *f)
{
	lockout_fail(lo, &lim, user, a, alen, now, f);
}

int main(void)
{
	struct lockout *lo = lockout_new(key);
	struct lockout_failure f;
	int64_t until, now = 1000000;
	unsigned char v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 }, v6b[16], mapped[16] = { 0 };
	int ok;

	CHECK(lo != NULL, "lock-0.1 table made");
	CHECK(check(lo, "sip:a@x", a1, 4, now, &until) == LOCKOUT_NONE && until == 0, "lock-1.1 a clean pair goes on");
	fail(lo, "sip:a@x", a1, 4, now, &f);
	CHECK(f.pair_failures == 1 && f.newly_locked == 0, "lock-1.2 one failure counted, nothing locked");
	CHECK(check(lo, "sip:a@x", a1, 4, now, &until) == LOCKOUT_NONE && until == now + 1000,
	      "lock-1.3 the next attempt is held failure_delay_ms");
	fail(lo, "sip:a@x", a1, 4, now + 1000, &f);
	CHECK(check(lo, "sip:a@x", a1, 4, now + 1000, &until) == LOCKOUT_NONE && until == now + 3000,
	      "lock-1.4 the hold doubles");
	CHECK(check(lo, "sip:a@x", a2, 4, now, &until) == LOCKOUT_NONE && until == 0,
	      "lock-1.5 another address is not held");
	for (int i = 0; i < 3; i++)
		fail(lo, "sip:a@x", a1, 4, now + 5000, &f);
	CHECK(f.pair_failures == 5 && (f.newly_locked & (1u << LOCKOUT_PAIR)), "lock-1.6 the fifth failure locks the pair");
	CHECK(check(lo, "sip:a@x", a1, 4, now + 6000, &until) == LOCKOUT_PAIR && until == now + 65000,
	      "lock-1.7 the pair is locked for lockout_ms");
	CHECK(check(lo, "sip:a@x", a2, 4, now + 6000, &until) == LOCKOUT_NONE, "lock-1.8 the account is not locked elsewhere");
	CHECK(check(lo, "sip:a@x", a1, 4, now + 65000, &until) == LOCKOUT_NONE && until == 0,
	      "lock-1.9 after lockout_ms everything is forgotten");

	/* The account lock binds the addresses that failed for it. */
	for (int i = 0; i < 4; i++)
		fail(lo, "sip:b@x", a1, 4, now, &f);
	for (int i = 0; i < 4; i++)
		fail(lo, "sip:b@x", a2, 4, now, &f);
	CHECK(f.account_failures == 8 && (f.newly_locked & (1u << LOCKOUT_ACCOUNT)), "lock-2.1 eight failures lock the account");
	CHECK(check(lo, "sip:b@x", a1, 4, now, &until) == LOCKOUT_ACCOUNT &&
	      check(lo, "sip:b@x", a2, 4, now, &until) == LOCKOUT_ACCOUNT, "lock-2.2 refused where it failed");
	CHECK(check(lo, "sip:b@x", a3, 4, now, &until) == LOCKOUT_NONE, "lock-2.3 not where it did not");

	/* Success forgets the pair only. */
	fail(lo, "sip:c@x", a3, 4, now, &f);
	lockout_success(lo, "sip:c@x", a3, 4);
	CHECK(check(lo, "sip:c@x", a3, 4, now, &until) == LOCKOUT_NONE && until == 0, "lock-3.1 success clears the hold");

	/* Many users from one address lock the address (a3 has 1 failure). */
	for (int i = 0; i < 11; i++) {
		char user[32];

		snprintf(user, sizeof user, "sip:u%d@x", i);
		fail(lo, user, a3, 4, now, &f);
	}
	CHECK(f.address_failures == 12 && (f.newly_locked & (1u << LOCKOUT_ADDRESS)), "lock-4.1 twelve failures lock the address");
	CHECK(check(lo, "sip:new@x", a3, 4, now, &until) == LOCKOUT_ADDRESS, "lock-4.2 any user is refused from it");

	/* IPv6: one /64 is one address; IPv4-mapped is the IPv4 address. */
	memcpy(v6b, v6a, 16);
	v6a[15] = 1;
	v6b[15] = 2;
	fail(lo, "sip:d@x", v6a, 16, now, &f);
	CHECK(check(lo, "sip:d@x", v6b, 16, now, &until) == LOCKOUT_NONE && until == now + 1000,
	      "lock-5.1 another address of the same /64 is the same client");
	mapped[10] = mapped[11] = 0xff;
	memcpy(mapped + 12, a3, 4);
	CHECK(check(lo, "sip:new@x", mapped, 16, now, &until) == LOCKOUT_ADDRESS, "lock-5.2 IPv4-mapped is the IPv4 address");

	/* A flood of fresh pairs evicts old entries but never grows the table
	 * or disturbs a lock set just now. */
	for (int i = 0; i < 3 * LOCKOUT_ENTRIES; i++) {
		char user[32];
		unsigned char a[4] = { 192, 168, (unsigned char)(i >> 8), (unsigned char)i };

		snprintf(user, sizeof user, "sip:f%d@x", i);
		fail(lo, user, a, 4, now - 1000, &f);
	}
	for (int i = 0; i < 5; i++)
		fail(lo, "sip:z@x", a1, 4, now, &f);
	ok = check(lo, "sip:z@x", a1, 4, now, &until) == LOCKOUT_PAIR;
	CHECK(ok, "lock-6.1 a fresh lock holds after a flood of older entries");
	CHECK(sizeof *lo < (size_t)LOCKOUT_ENTRIES * 64, "lock-6.2 the table has a fixed size");
	lockout_free(lo);
	return check_done("lockout");
}
