/*
 * test_store_faults.c - the server's group commit under failures
 * (store_pass_write / store_pass_write_end / store_pass_commit, store.c
 * "Write faults"), against a temporary folder:
 *   - a request whose writes fail is taken back alone; the pass's others stay;
 *   - a statement refused for lack of space (PRAGMA max_page_count, set on
 *     the store's own connection: the same SQLITE_FULL a full disk gives)
 *     is the request's failure, logs the fault, and puts the store in
 *     careful mode, where each request is committed on its own;
 *   - once space is back, writes go through and the fault is over;
 *   - a store locked by another connection costs one busy wait per pass,
 *     and nothing written before it in the pass is lost.
 * The end-to-end side (a real full disk, a read-only file, a lock held by
 * another process) is tests/e2e_faults.c.
 */
#include "../base.c"
#include "../buf.c"
#include "../compliance_types.c"
#include "../durable.c"
#include "../store.c"
#include "../store_chat.c"
#include "../log.c"
#include "check.h"

#include <unistd.h>

static char dir[] = "/tmp/test_store_faults.XXXXXX";

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Messages whose text is text, seen from another connection (what is
 * committed, not what the store's own transaction holds). */
static int64_t stored(const char *db, const char *text)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM messages WHERE text = ?1", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* One request: a message (and, with fail_second, a second write that fails
 * with STORE_E_IO after it, as its compliance event might). */
static int request(struct store *st, int64_t room, const char *text, int fail_second)
{
	int64_t id;
	int rc = store_pass_write(st);

	if (rc != STORE_OK)
		return rc;
	rc = store_message_add(st, room, "sip:alice@example.org", 1, text, strlen(text), NULL, 0, &id);
	if (rc == STORE_OK && fail_second)
		rc = STORE_E_IO;
	return store_pass_write_end(st, rc);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
	struct store *st = NULL;
	struct store_room r = { .name = "Faults", .category_id = 1, .privacy = STORE_PRIVACY_OPEN };
	char db[128], err[256], big[200000];
	sqlite3 *other = NULL;
	struct timespec t0;
	long ms;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/pchat.db", dir);
	if (!CHECK(store_open(&st, db, err, sizeof err) == STORE_OK && store_room_add(st, &r) == STORE_OK,
	           "faults-0.1 store and a room"))
		return check_done("store_faults");

	/* 1: taken back alone. */
	CHECK(request(st, r.id, "kept 1", 0) == STORE_OK, "faults-1.1 a request's writes: ok");
	CHECK(request(st, r.id, "taken back", 1) == STORE_E_IO, "faults-1.2 a request whose second write fails: its error");
	CHECK(request(st, r.id, "kept 2", 0) == STORE_OK, "faults-1.3 the next request: ok");
	CHECK(stored(db, "kept 1") == 0, "faults-1.4 nothing is committed before the pass ends");
	CHECK(store_pass_commit(st) == STORE_OK, "faults-1.5 the pass commits");
	CHECK(stored(db, "kept 1") == 1 && stored(db, "kept 2") == 1 && stored(db, "taken back") == 0,
	      "faults-1.6 the failed request left nothing, the others are stored");
	CHECK(store_pass_commit(st) == STORE_OK, "faults-1.7 a pass that wrote nothing commits nothing");

	/* 2: no room for a new page (the SQLITE_FULL of a full disk). */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(request(st, r.id, "before full", 0) == STORE_OK, "faults-2.1 a small request in the pass");
	{
		char pragma[64];

		snprintf(pragma, sizeof pragma, "PRAGMA max_page_count = %lld",
		         (long long)query_int(st->db, "PRAGMA page_count"));
		sqlite3_exec(st->db, pragma, NULL, NULL, NULL);
	}
	CHECK(request(st, r.id, big, 0) == STORE_E_FULL, "faults-2.2 a request that needs new pages: STORE_E_FULL");
	CHECK(st->fault == STORE_E_FULL && store_careful(st), "faults-2.3 the store knows it is full (careful mode)");
	CHECK(store_pass_commit(st) == STORE_OK && stored(db, "before full") == 1 && stored(db, big) == 0,
	      "faults-2.4 the pass's other request is committed, the refused one is not");
	CHECK(request(st, r.id, big, 0) == STORE_E_FULL, "faults-2.5 still full: refused again");
	CHECK(request(st, r.id, "small while full", 0) == STORE_OK && stored(db, "small while full") == 1,
	      "faults-2.6 careful mode: a request that fits is committed at once, before its answer");
	CHECK(st->fault == STORE_OK && store_careful(st), "faults-2.7 a commit that wrote ends the fault; careful for a while");
	CHECK(request(st, r.id, big, 0) == STORE_E_FULL && st->fault == STORE_E_FULL, "faults-2.8 full again");
	sqlite3_exec(st->db, "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL);
	CHECK(request(st, r.id, big, 0) == STORE_OK && stored(db, big) == 1 && st->fault == STORE_OK,
	      "faults-2.9 space is back: the big request is stored, committed at once");
	CHECK(store_pass_commit(st) == STORE_OK, "faults-2.10 the pass commit has nothing left to do");
	st->careful_until_ms = 0;       /* as if 10 s had passed */
	CHECK(request(st, r.id, "group again", 0) == STORE_OK && stored(db, "group again") == 0 &&
	      store_pass_commit(st) == STORE_OK && stored(db, "group again") == 1,
	      "faults-2.11 after the careful period writes are grouped in the pass again");

	/* 3: another connection holds the write lock. */
	sqlite3_busy_timeout(st->db, 300);      /* the test's stand-in for the 5 s */
	CHECK(request(st, r.id, "before lock", 0) == STORE_OK, "faults-3.1 a request before the lock (pass open)");
	sqlite3_open_v2(db, &other, SQLITE_OPEN_READWRITE, NULL);
	sqlite3_busy_timeout(other, 2000);
	/* The store's pass holds the lock: the other connection waits, so commit first. */
	CHECK(store_pass_commit(st) == STORE_OK && stored(db, "before lock") == 1, "faults-3.2 the pass commits");
	CHECK(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK, "faults-3.3 another connection locks");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(request(st, r.id, "locked 1", 0) == STORE_E_BUSY, "faults-3.4 a request under the lock: STORE_E_BUSY");
	ms = ms_since(&t0);
	CHECK(ms >= 250 && st->busy && st->pass_busy, "faults-3.5 after waiting the busy timeout");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(request(st, r.id, "locked 2", 0) == STORE_E_BUSY && ms_since(&t0) < 50,
	      "faults-3.6 the next request of the pass: refused at once");
	CHECK(store_pass_commit(st) == STORE_OK && !st->pass_busy, "faults-3.7 the pass lost nothing: its commit is ok");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(request(st, r.id, "locked 3", 0) == STORE_E_BUSY && ms_since(&t0) < 250,
	      "faults-3.8 next pass, still locked: a short wait (STORE_BUSY_RETRY_MS), not the full one");
	store_pass_commit(st);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	CHECK(request(st, r.id, "unlocked", 0) == STORE_OK && !st->busy && store_pass_commit(st) == STORE_OK &&
	      stored(db, "unlocked") == 1 && stored(db, "locked 1") + stored(db, "locked 2") + stored(db, "locked 3") == 0,
	      "faults-3.9 lock released: writes go through, the refused ones are not there");

	/* 4: misuse is refused, not nested. */
	CHECK(store_pass_write(st) == STORE_OK && store_pass_write(st) == STORE_E_IO &&
	      store_pass_write_end(st, STORE_OK) == STORE_OK && store_pass_commit(st) == STORE_OK,
	      "faults-4.1 a second store_pass_write inside one is refused");
	CHECK(store_pass_write_end(st, STORE_E_NOTFOUND) == STORE_E_NOTFOUND,
	      "faults-4.2 write_end without write_begin returns the caller's code");
	store_close(st);
	{
		char cmd[200];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return check_done("store_faults");
}
