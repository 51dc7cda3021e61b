/*
 * store_internal.h - private to the store: shared by store.c and store_chat.c
 * only; nothing else in pchat includes it.  It holds struct store (so both
 * files reach the connection and their prepared statements) and the few
 * helpers both need: the clock, the URI check and the SQLite-to-STORE_E_*
 * mapping.  Everything here is static inline so the unit tests, which
 * #include both .c files into one program, see one definition.
 */
#ifndef PCHAT_STORE_INTERNAL_H
#define PCHAT_STORE_INTERNAL_H

#include "base.h"
#include "store.h"
#include "log.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

/* store.c's statements, prepared once at open; index into struct store's stmt[]. */
enum store_stmt {
	SS_USER_ADD, SS_USER_SET_HASH, SS_USER_DEL, SS_USER_GET, SS_USER_SET_DISABLED, SS_DATA_VERSION,
	SS_BEGIN, SS_COMMIT, SS_ROLLBACK, SS_INTEGRITY,
	SS_SAVEPOINT, SS_RELEASE, SS_ROLLBACK_TO,
	SS_COUNT
};

/* store_chat.c's statements (SQL in store_chat.c's chat_sql[]), prepared on
 * first use and cached in struct store's chat[] until store_close.  Lazy, so
 * store.c (and its unit test) does not depend on store_chat.c. */
enum store_chat_stmt {
	SC_CAT_ADD, SC_CAT_UPDATE, SC_CAT_GET, SC_CAT_GET_ID, SC_CAT_ROOMS, SC_CAT_DEL, SC_CAT_EACH,
	SC_LIST_ADD, SC_LIST_DEL, SC_LIST_HAS, SC_LIST_EACH,
	SC_ROOM_ADD, SC_ROOM_UPDATE, SC_ROOM_GET_GUID, SC_ROOM_GET_NAME, SC_ROOM_GET_ID, SC_ROOM_DEL,
	SC_ROOM_EACH,
	SC_ROLE_ADD, SC_ROLE_DROP, SC_ROLE_CLEAR, SC_ROLE_GET, SC_ROLE_EACH, SC_USER_ROOMS,
	SC_MSG_ADD, SC_MSG_LAST, SC_MSG_SEARCH, SC_MSG_LATEST,
	SC_INVITE_ADD, SC_INVITE_DEL, SC_INVITE_EACH,
	SC_FOLLOW_ADD, SC_FOLLOW_DEL, SC_FOLLOW_READ, SC_FOLLOW_EACH,
	SC_EVENT_ADD, SC_EVENT_EACH, SC_EVENT_DELETE,
	SC_COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[SS_COUNT];
	sqlite3_stmt *chat[SC_COUNT];   /* NULL until first used */
	int in_tx;              /* between a successful store_begin and its commit/rollback */
	/* Storage faults (store.c, "Write faults"): */
	int fault;              /* STORE_E_FULL/IO while writes fail; STORE_OK again after a commit that wrote */
	int64_t careful_until_ms;   /* until then each write is committed on its own (store_pass_write_end) */
	int busy;               /* the last BEGIN found the store locked: short busy timeout meanwhile */
	int busy_limit_ms;      /* how long a statement waits for a lock (store_busy_wait) */
	int changes_at_begin;   /* sqlite3_total_changes at BEGIN: did the transaction write? */
	/* The pass (store_pass_*): */
	int pass_lost;          /* writes of this pass were rolled back: the pass commit must fail */
	int pass_busy;          /* BEGIN was busy in this pass: later writes fail fast */
	int tx_own;             /* the open transaction holds no writes but the current request's */
	int in_write;           /* a request's savepoint is open (store_pass_write) */
	int in_read;            /* a read snapshot is open (store_read_begin) */
};

/* store.c: note a storage error (disk full, read-only, I/O) from op; the
 * first one of a fault logs one line naming its cause. */
void store_fault_note(struct store *st, const char *op, int rc);

/* store.c, for tests only: create path at schema version `version` by
 * running migrations 1..version, as the pchat of that schema did. */
int store_create_at_version(const char *path, int version, char *err, size_t errlen);

/* Map a SQLite result code to STORE_E_*.  Disk full can also surface as an
 * I/O error whose errno says so; both must refuse rather than acknowledge. */
static inline int store_code(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY: case SQLITE_LOCKED:
		return STORE_E_BUSY;
	case SQLITE_FULL: case SQLITE_READONLY:
		return STORE_E_FULL;
	case SQLITE_IOERR: {
		int e = db ? sqlite3_system_errno(db) : 0;

		return e == ENOSPC || e == EDQUOT || e == EROFS ? STORE_E_FULL : STORE_E_IO;
	}
	default:
		return STORE_E_IO;
	}
}

/* 1 for the errors that say the file cannot be written: full, read-only, I/O. */
static inline int store_storage_error(int rc)
{
	return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_IOERR;
}

/* Log a failed SQLite call (the caller has no err buffer) and map it.  While
 * a storage fault or a lock is known (its one line is logged), repeats go to
 * debug. */
static inline int store_fail(struct store *st, const char *op, int rc)
{
	int code = store_code(st->db, rc);

	if ((store_storage_error(rc) && st->fault != STORE_OK) || ((rc & 0xff) == SQLITE_BUSY && st->busy))
		log_debug("event=store-error op=%s code=%d reason=\"%s\"", op, rc, sqlite3_errmsg(st->db));
	else
		log_error("event=store-error op=%s code=%d reason=\"%s\"", op, rc, sqlite3_errmsg(st->db));
	if (store_storage_error(rc))
		store_fault_note(st, op, rc);
	return code;
}

/* A URI worth storing: non-NULL, non-empty, shorter than STORE_URI_MAX. */
static inline int uri_ok(const char *uri)
{
	size_t n = uri ? strnlen(uri, STORE_URI_MAX) : 0;

	return n > 0 && n < STORE_URI_MAX;
}

#endif
