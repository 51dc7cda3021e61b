/*
 * store.c - the one SQLite file.  store_open switches the file to WAL (so an
 * admin command or a backup can read while the server writes), runs forward
 * migrations from a table of SQL scripts, and prepares every hot statement
 * once.  Each query binds with explicit lengths, resets its statement after
 * use and maps SQLite's result to a STORE_E_* code.  SQLite errors that have
 * no err buffer to go to are logged with sqlite3_errmsg; log.h is the only
 * other part of pchat used.  One connection, one thread (SQLITE_OPEN_NOMUTEX).
 * The chat data (rooms, messages, ...) lives in store_chat.c; struct store and
 * the helpers both files use are in store_internal.h.
 */
#include "store_internal.h"
#include "durable.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/*
 * Forward migrations: entry i takes the file from user_version i to i + 1.
 * Each runs in its own transaction together with the user_version bump, so a
 * crash leaves the file at one version or the next, never in between.  ":now"
 * is bound to the current UTC microseconds in every statement that names it.
 * Append new entries and raise STORE_SCHEMA_VERSION; never edit old ones.
 */
/* A random version-4 GUID, lower case, as SQL (evaluated once per row). */
#define STORE_GUID_SQL                                                                                  \
	"lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)" \
	" || '-' || substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || '-'"   \
	" || hex(randomblob(6)))"

static const char *const store_migrations[] = {
	/* 1: users and categories, with the category every room falls back to. */
	"CREATE TABLE users ("
	"  uri TEXT PRIMARY KEY NOT NULL,"
	"  nt_hash BLOB NOT NULL CHECK (length(nt_hash) = 16),"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL);"
	"CREATE TABLE categories ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_us INTEGER NOT NULL);"
	"INSERT INTO categories (name, created_us) VALUES ('default', :now);",

	/* 2: chat data (store_chat.c).  Category names become unique regardless of
	 * case, as room names are.  Messages and compliance events use
	 * AUTOINCREMENT so an id or seq is never reused after a delete: follows
	 * and the export high-water mark compare against them.  messages_fts is
	 * an external-content FTS5 index over messages.text, kept in step by the
	 * triggers (a cascade from a room delete fires them too). */
	"ALTER TABLE categories ADD COLUMN file_upload INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE categories ADD COLUMN invitations INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE categories ADD COLUMN history INTEGER NOT NULL DEFAULT 1;"
	"CREATE UNIQUE INDEX categories_name_nocase ON categories (name COLLATE NOCASE);"
	"CREATE TABLE category_principals ("
	"  category_id INTEGER NOT NULL REFERENCES categories (id) ON DELETE CASCADE,"
	"  list INTEGER NOT NULL CHECK (list BETWEEN 0 AND 2),"
	"  uri TEXT NOT NULL,"
	"  PRIMARY KEY (category_id, list, uri)) WITHOUT ROWID;"
	"CREATE TABLE rooms ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  topic TEXT NOT NULL DEFAULT '',"
	"  category_id INTEGER NOT NULL REFERENCES categories (id),"
	"  privacy INTEGER NOT NULL DEFAULT 1,"
	"  type INTEGER NOT NULL DEFAULT 0,"
	"  invitations INTEGER NOT NULL DEFAULT -1,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL);"
	"CREATE INDEX rooms_category ON rooms (category_id);"
	"CREATE TABLE room_roles ("
	"  room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
	"  uri TEXT NOT NULL,"
	"  roles INTEGER NOT NULL CHECK (roles > 0),"
	"  PRIMARY KEY (room_id, uri)) WITHOUT ROWID;"
	"CREATE INDEX room_roles_uri ON room_roles (uri);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
	"  author TEXT NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  text TEXT NOT NULL,"
	"  extra TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX messages_room ON messages (room_id, id);"
	"CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'id');"
	"CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN"
	"  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);"
	" END;"
	"CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
	" END;"
	"CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
	"  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);"
	" END;"
	"CREATE TABLE invitations ("
	"  room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
	"  uri TEXT NOT NULL,"
	"  inviter TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (room_id, uri));"
	"CREATE INDEX invitations_uri ON invitations (uri, created_us);"
	"CREATE TABLE follows ("
	"  uri TEXT NOT NULL,"
	"  room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
	"  last_read_id INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (uri, room_id)) WITHOUT ROWID;"
	"CREATE INDEX follows_room ON follows (room_id);"
	"CREATE TABLE compliance_events ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type TEXT NOT NULL,"
	"  room_guid TEXT,"
	"  room_name TEXT,"
	"  user_uri TEXT NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  message_id INTEGER NOT NULL DEFAULT 0,"
	"  content TEXT);",

	/* 3: compliance export batches (store_compliance.c).  An exporter plans
	 * a batch (a row with sha256 NULL: its seq range is fixed from then on),
	 * writes the file, and completes the row in the transaction that deletes
	 * the batch's events.  The partial index allows one planned batch at a
	 * time, so every exporter works on the same one. */
	"CREATE TABLE compliance_batches ("
	"  number INTEGER PRIMARY KEY,"
	"  first_seq INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),"
	"  events INTEGER NOT NULL CHECK (events > 0),"
	"  format TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  prev_sha256 TEXT NOT NULL,"
	"  sha256 TEXT,"
	"  planned_us INTEGER NOT NULL,"
	"  exported_us INTEGER);"
	"CREATE UNIQUE INDEX compliance_batches_one_planned ON compliance_batches ((sha256 IS NULL))"
	"  WHERE sha256 IS NULL;",

	/* 4: files posted in rooms (store_files.c).  A row is created with its
	 * bytes zeroblob(size) when an upload starts (complete = 0) and the
	 * bytes are written in place; complete = 1 and sha256 once the last
	 * byte is in.  The bytes live in their own table: an UPDATE rewrites
	 * the whole row, so completing a row that held them would read the
	 * whole file into memory (twice, measured).  AUTOINCREMENT: a download
	 * reads a file by id piece by piece, so an id must never come back for
	 * another file after a delete. */
	"CREATE TABLE files ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  uploader TEXT NOT NULL,"
	"  size INTEGER NOT NULL CHECK (size >= 0),"
	"  sha256 TEXT,"
	"  created_us INTEGER NOT NULL,"
	"  complete INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX files_room_name ON files (room_id, name, id);"
	"CREATE TABLE file_data ("
	"  file_id INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,"
	"  data BLOB NOT NULL);",

	/* 5: compliance attachments.  FILEUPLOAD events name their file by id
	 * (message_id); `pchat file del` of a file whose upload event waits for
	 * export only marks it deleted, and the exporter deletes it once the
	 * event is exported (store_file_retire, store_batch_finish).  Both
	 * indexes are partial, so they cost nothing for other rows. */
	"ALTER TABLE files ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX files_deleted ON files (id) WHERE deleted = 1;"
	"CREATE INDEX compliance_events_file ON compliance_events (message_id) WHERE type = 'FILEUPLOAD';",

	/* 6: an upload's bytes arrive as chunks (one row per piece received),
	 * so a claimed Content-Length reserves no disk (until migration 8 they
	 * were copied into file_data once the last byte was in); quotas sum
	 * files by uploader. */
	"CREATE TABLE file_chunks ("
	"  file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,"
	"  offset INTEGER NOT NULL CHECK (offset >= 0),"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (file_id, offset));"
	"CREATE INDEX files_uploader ON files (uploader);",

	/* 7: what Lync-protocol clients ask for beyond sipe (store_lync.c).
	 * Each category gets a GUID for its ma-cat:// URI (new ones from a
	 * trigger, so store_category_add needs no change) and the root
	 * category one that stays (store_meta); invitations get ids that only
	 * grow (getinv's inviteId asks for newer ones, so an id never comes
	 * back after a delete; the first is 2, as sipe asks for those after
	 * 1); posts keep the client's attributes; each user gets an opaque
	 * preference store (getpref/setpref), deleted with the account. */
	"CREATE TABLE store_meta ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  value NOT NULL) WITHOUT ROWID;"
	"INSERT INTO store_meta (name, value) VALUES ('root_category_guid', " STORE_GUID_SQL ");"
	"ALTER TABLE categories ADD COLUMN guid TEXT;"
	"UPDATE categories SET guid = " STORE_GUID_SQL ";"
	"CREATE UNIQUE INDEX categories_guid ON categories (guid COLLATE NOCASE);"
	"CREATE TRIGGER categories_guid_ai AFTER INSERT ON categories WHEN new.guid IS NULL BEGIN"
	"  UPDATE categories SET guid = " STORE_GUID_SQL " WHERE id = new.id;"
	" END;"
	"ALTER TABLE invitations ADD COLUMN invite_id INTEGER NOT NULL DEFAULT 0;"
	"UPDATE invitations SET invite_id = rowid + 1;"
	"INSERT INTO store_meta (name, value) VALUES ('last_invite_id',"
	"  coalesce((SELECT max(invite_id) FROM invitations), 1));"
	"CREATE TRIGGER invitations_id_ai AFTER INSERT ON invitations BEGIN"
	"  UPDATE store_meta SET value = value + 1 WHERE name = 'last_invite_id';"
	"  UPDATE invitations SET invite_id = (SELECT value FROM store_meta WHERE name = 'last_invite_id')"
	"   WHERE rowid = new.rowid;"
	" END;"
	"CREATE INDEX invitations_uri_id ON invitations (uri, invite_id);"
	"ALTER TABLE messages ADD COLUMN attrs TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE prefs ("
	"  uri TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  seqid INTEGER NOT NULL CHECK (seqid > 0),"
	"  content TEXT NOT NULL,"
	"  updated_us INTEGER NOT NULL,"
	"  PRIMARY KEY (uri, label)) WITHOUT ROWID;"
	"CREATE TRIGGER users_prefs_ad AFTER DELETE ON users BEGIN"
	"  DELETE FROM prefs WHERE uri = old.uri;"
	" END;",

	/* 8: a complete file's bytes stay the chunks its upload arrived in
	 * (contiguous from 0, summing to files.size); file_data goes.  A read
	 * at an offset of one big blob walked its overflow pages from the
	 * start, so a download cost the square of the file's size; a chunk is
	 * found by its primary key.  migrate_v8_cut_files has already cut each
	 * old blob into chunks (store_migration_code). */
	"DROP TABLE file_data;",
};
_Static_assert(sizeof store_migrations / sizeof store_migrations[0] == STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* What each migration adds, for the event=store-migrate line of a store
 * upgraded in place (one entry per migration, same order). */
static const char *const store_migration_what[] = {
	"users and categories",
	"chat: category policy, rooms, roles, messages and their search index, invitations, follows, compliance events",
	"compliance export batches",
	"files posted in rooms",
	"compliance attachments: files marked deleted until exported",
	"uploads stored as chunks; usage by uploader",
	"Lync clients: category GUIDs, invitation ids, post attributes, user preferences",
	"complete files' bytes kept as chunks of at most 512 KiB (file_data dropped)",
};
_Static_assert(sizeof store_migration_what / sizeof store_migration_what[0] == STORE_SCHEMA_VERSION,
               "one description per migration");

/* The column order row_to_user reads. */
#define USER_COLUMNS "uri, nt_hash, disabled, created_us"

static const char *const store_stmt_sql[SS_COUNT] = {
	[SS_USER_ADD] = "INSERT INTO users (uri, nt_hash, created_us) VALUES (?1, ?2, ?3)",
	[SS_USER_SET_HASH] = "UPDATE users SET nt_hash = ?2 WHERE uri = ?1",
	[SS_USER_DEL] = "DELETE FROM users WHERE uri = ?1",
	[SS_USER_GET] = "SELECT " USER_COLUMNS " FROM users WHERE uri = ?1",
	[SS_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2 WHERE uri = ?1",
	[SS_DATA_VERSION] = "PRAGMA data_version",
	[SS_BEGIN] = "BEGIN IMMEDIATE",
	[SS_COMMIT] = "COMMIT",
	[SS_ROLLBACK] = "ROLLBACK",
	[SS_INTEGRITY] = "PRAGMA integrity_check",
	[SS_SAVEPOINT] = "SAVEPOINT pass_write",
	[SS_RELEASE] = "RELEASE pass_write",
	[SS_ROLLBACK_TO] = "ROLLBACK TO pass_write",
};

/* How long the server waits for another process's write lock; after one wait
 * ran out, only STORE_BUSY_RETRY_MS until a BEGIN succeeds again, so a lock
 * held for minutes costs each loop pass a short stall, not five seconds. */
#define STORE_BUSY_MS 5000
#define STORE_BUSY_RETRY_MS 100
#define STORE_BUSY_POLL_US 500

/* SQLite's own busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between
 * tries, so a lock held for 3 ms (the export worker's commit) could cost a
 * chat pass 10 ms or more.  Locks here are short: try every half
 * millisecond until the limit. */
static int store_busy_wait(void *arg, int tries)
{
	const struct store *st = arg;

	if ((int64_t)tries * STORE_BUSY_POLL_US >= (int64_t)st->busy_limit_ms * 1000)
		return 0;
	usleep(STORE_BUSY_POLL_US);
	return 1;
}

static void store_busy_limit(struct store *st, int ms)
{
	st->busy_limit_ms = ms;
	sqlite3_busy_handler(st->db, store_busy_wait, st);
}
/* After a storage fault, writes stay committed one request at a time for this
 * long past the last failure (a disk that is just full may take a few writes
 * and refuse the next). */
#define STORE_CAREFUL_MS 10000

static __attribute__((format(printf, 3, 4))) void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void store_fault_clear(struct store *st);

/* Run one prepared statement that returns no rows, then reset it so it holds
 * no locks and no bound pointers.  A uniqueness conflict is the caller's
 * STORE_E_EXISTS, not an error worth logging. */
static int step_done(struct store *st, enum store_stmt id, const char *op)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc = sqlite3_step(s), ret = STORE_OK;

	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = STORE_E_EXISTS;
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, op, rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* Run a migration script statement by statement; sqlite3_exec cannot bind
 * ":now", and created_us must come from the same clock as everything else. */
static int exec_script(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	const char *tail = sql;
	int rc = SQLITE_OK, now_idx;

	while (rc == SQLITE_OK && *tail != '\0') {
		rc = sqlite3_prepare_v2(db, tail, -1, &s, &tail);
		if (rc != SQLITE_OK || s == NULL)       /* s is NULL for trailing whitespace */
			break;
		now_idx = sqlite3_bind_parameter_index(s, ":now");
		if (now_idx > 0)
			sqlite3_bind_int64(s, now_idx, wall_us());
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sqlite3_finalize(s);
		s = NULL;
	}
	return rc;
}

/* Migration 8's data step: each file_data blob becomes chunks of 512 KiB
 * (what a download reads at a time), a 0-byte file none.  The blob is
 * authoritative for a complete file, so chunks a tool left beside it go
 * first.  Each blob is read in order through one handle, which follows its
 * overflow pages once: cutting it with substr() in SQL loads the whole blob
 * per piece, which measured 21 s for one 128 MiB file (the square of the
 * size), and a service manager's start timeout would kill such an upgrade
 * and roll it back at every start. */
static int migrate_v8_cut_files(sqlite3 *db)
{
	enum { PIECE = 512 * 1024 };
	sqlite3_stmt *list = NULL, *put = NULL;
	sqlite3_blob *blob = NULL;
	unsigned char *piece = malloc(PIECE);
	int rc;

	if (piece == NULL)
		return SQLITE_NOMEM;
	if ((rc = sqlite3_exec(db, "DELETE FROM file_chunks WHERE file_id IN (SELECT file_id FROM file_data)", NULL, NULL,
	                       NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db, "SELECT file_id, length(data) FROM file_data ORDER BY file_id", -1, &list,
	                             NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db, "INSERT INTO file_chunks (file_id, offset, data) VALUES (?1, ?2, ?3)", -1, &put,
	                             NULL)) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(list, 0);
		int size = sqlite3_column_int(list, 1);

		if (size <= 0)
			continue;
		if ((rc = sqlite3_blob_open(db, "main", "file_data", "data", id, 0, &blob)) != SQLITE_OK)
			goto out;
		for (int off = 0; off < size; off += PIECE) {
			int n = size - off < PIECE ? size - off : PIECE;

			if ((rc = sqlite3_blob_read(blob, piece, n, off)) != SQLITE_OK)
				goto out;
			sqlite3_bind_int64(put, 1, id);
			sqlite3_bind_int64(put, 2, off);
			sqlite3_bind_blob(put, 3, piece, n, SQLITE_STATIC);
			if ((rc = sqlite3_step(put)) != SQLITE_DONE)
				goto out;
			sqlite3_reset(put);
		}
		sqlite3_blob_close(blob);
		blob = NULL;
	}
	rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
out:
	sqlite3_blob_close(blob);
	sqlite3_finalize(put);
	sqlite3_finalize(list);
	free(piece);
	return rc;
}

/* Steps a migration needs in C, run in its transaction before its script
 * (NULL: none). */
static int (*const store_migration_code[STORE_SCHEMA_VERSION])(sqlite3 *db) = {
	[7] = migrate_v8_cut_files,
};

static int read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*version = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* One migration: take the file from user_version `from` to from + 1 in one
 * transaction.  The version is re-read under the write lock, so two
 * processes opening an old file cannot both run a step; *version is where
 * the file is afterwards (already past from if another process did it). */
static int migrate_step(sqlite3 *db, int from, int *version)
{
	char bump[64];
	int rc;

	if (from < 0 || from >= STORE_SCHEMA_VERSION)
		return SQLITE_MISUSE;
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = read_user_version(db, version)) != SQLITE_OK)
		goto out;
	if (*version != from) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return SQLITE_OK;
	}
	snprintf(bump, sizeof bump, "PRAGMA user_version = %d", from + 1);
	if ((store_migration_code[from] != NULL && (rc = store_migration_code[from](db)) != SQLITE_OK) ||
	    (rc = exec_script(db, store_migrations[from])) != SQLITE_OK ||
	    (rc = sqlite3_exec(db, bump, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		goto out;
	*version = from + 1;
out:
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The copy kept before an upgrade: PATH.pre-vTO-YYYYmmddTHHMMSSZ beside the
 * store, an online backup (store_backup: mode 0600, never overwrites). */
static int migrate_keep_copy(struct store *st, const char *path, int from, struct store_migration *done,
                             char *err, size_t errlen)
{
	char copy[PATH_MAX], stamp[32], why[PATH_MAX + 200];
	time_t now = time(NULL);
	struct tm tm;
	int n, ret;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	n = snprintf(copy, sizeof copy, "%s.pre-v%d-%s", path, STORE_SCHEMA_VERSION, stamp);
	if (n < 0 || (size_t)n >= sizeof copy) {
		set_err(err, errlen, "%s: path too long for the copy kept before migrating", path);
		return STORE_E_INVALID;
	}
	if ((ret = store_backup(st, copy, why, sizeof why)) != STORE_OK) {
		set_err(err, errlen, "%s: not migrated: the copy of schema v%d could not be kept: %s", path, from, why);
		return ret;
	}
	log_info("event=store-backup store=%s copy=%s schema=%d why=migrate", path, copy, from);
	if (done != NULL)
		snprintf(done->copy, sizeof done->copy, "%s", copy);
	return STORE_OK;
}

/* Bring the file to STORE_SCHEMA_VERSION as mode says.  A new file (version
 * 0) is created in any mode.  An older one: STORE_OPEN_CURRENT refuses it
 * (STORE_E_OLD), STORE_OPEN_AS_IS leaves it as it is, STORE_OPEN_MIGRATE
 * keeps a copy first, then runs each step in its own transaction and logs
 * it.  A newer one: STORE_E_VERSION in every mode.  Returns STORE_OK,
 * STORE_E_OLD, STORE_E_VERSION, or STORE_E_IO (STORE_E_EXISTS/FULL when the
 * copy cannot be made). */
static int migrate(struct store *st, const char *path, int mode, struct store_migration *done,
                   char *err, size_t errlen)
{
	sqlite3 *db = st->db;
	int rc, ret, version = 0, from;

	if ((rc = read_user_version(db, &version)) != SQLITE_OK)
		goto fail;
	from = version;
	if (done != NULL) {
		done->from = done->to = version;
		done->copy[0] = '\0';
	}
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		set_err(err, errlen, "store %s is schema version %d, this pchat knows up to %d",
		        path, version, STORE_SCHEMA_VERSION);
		return STORE_E_VERSION;
	}
	if (version > 0 && version < STORE_SCHEMA_VERSION) {
		if (mode == STORE_OPEN_AS_IS)
			return STORE_OK;
		if (mode != STORE_OPEN_MIGRATE) {
			set_err(err, errlen, "%s: the store is schema v%d, this pchat needs v%d: run `pchat migrate` "
			        "(a copy is kept) or start the service", path, version, STORE_SCHEMA_VERSION);
			return STORE_E_OLD;
		}
		if ((ret = migrate_keep_copy(st, path, version, done, err, errlen)) != STORE_OK)
			return ret;
	}
	while (version < STORE_SCHEMA_VERSION) {
		int step = version;

		if ((rc = migrate_step(db, step, &version)) != SQLITE_OK)
			goto fail;
		/* A new file is created, not upgraded: nothing to tell. */
		if (from > 0 && version == step + 1)
			log_info("event=store-migrate store=%s from=%d to=%d what=\"%s\"", path, step, version,
			         store_migration_what[step]);
		if (version < 0 || version > STORE_SCHEMA_VERSION) {
			set_err(err, errlen, "store %s became schema version %d meanwhile, this pchat knows up to %d",
			        path, version, STORE_SCHEMA_VERSION);
			return STORE_E_VERSION;
		}
	}
	if (done != NULL)
		done->to = version;
	return STORE_OK;
fail:
	set_err(err, errlen, "%s: migrating to schema version %d: %s", path, version + 1, sqlite3_errmsg(db));
	return STORE_E_IO;
}

/* Tests only (store_internal.h): a new file at schema version `version`, as
 * a pchat of that time made it, to test upgrades from every older schema. */
int store_create_at_version(const char *path, int version, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc, at = 0;

	if (path == NULL || version < 1 || version > STORE_SCHEMA_VERSION) {
		set_err(err, errlen, "store_create_at_version: no path or no such version");
		return STORE_E_INVALID;
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	while (rc == SQLITE_OK && at < version)
		rc = migrate_step(db, at, &at);
	if (rc != SQLITE_OK)
		set_err(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return rc == SQLITE_OK ? STORE_OK : STORE_E_IO;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	return store_open_ex(out, path, STORE_OPEN_CURRENT, NULL, err, errlen);
}

int store_open_ex(struct store **out, const char *path, int open_mode, struct store_migration *done,
                  char *err, size_t errlen)
{
	struct store *st = NULL;
	sqlite3_stmt *s = NULL;
	const char *mode;
	mode_t old_mask;
	int rc, ret = STORE_E_IO;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || path == NULL || path[0] == '\0') {
		set_err(err, errlen, "store: empty path or no result pointer");
		return STORE_E_INVALID;
	}
	if ((st = calloc(1, sizeof *st)) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		return STORE_E_IO;
	}
	/* Mode 0600: the NT hashes in the store sign anyone in (pass the hash).
	 * SQLite creates the -wal and -shm files with the store's own mode, so
	 * the mask only has to hold while the store itself may be created, and
	 * while switching to WAL creates the other two (pchat is one thread). */
	old_mask = umask(077);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(st->db, 1);
		store_busy_limit(st, STORE_BUSY_MS);
		/* The first statement is the first read of the file: a non-database fails here. */
		if ((rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL)) == SQLITE_OK)
			rc = sqlite3_step(s);
	}
	umask(old_mask);
	if (rc != SQLITE_ROW)
		goto sqlite_fail;
	/* WAL is what lets admin commands read while the server writes; refuse without it. */
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		set_err(err, errlen, "%s: cannot switch to WAL (journal mode is %s)", path, mode ? mode : "unknown");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	/* synchronous=FULL: a commit is on disk before the server acknowledges it. */
	if ((rc = sqlite3_exec(st->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL, NULL)) != SQLITE_OK)
		goto sqlite_fail;
	if ((ret = migrate(st, path, open_mode, done, err, errlen)) != STORE_OK)
		goto out;
	for (int i = 0; i < SS_COUNT; i++) {
		if ((rc = sqlite3_prepare_v2(st->db, store_stmt_sql[i], -1, &st->stmt[i], NULL)) != SQLITE_OK)
			goto sqlite_fail;
	}
	*out = st;
	return STORE_OK;
sqlite_fail:
	set_err(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	ret = STORE_E_IO;
out:
	sqlite3_finalize(s);
	store_close(st);
	return ret;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < SS_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < SC_COUNT; i++)
		sqlite3_finalize(st->chat[i]);
	/* An open transaction is rolled back by the close: nothing in it was acknowledged. */
	sqlite3_close(st->db);
	free(st);
}

int store_schema_version(struct store *st)
{
	int version = 0, rc;

	if (st == NULL)
		return STORE_E_INVALID;
	if ((rc = read_user_version(st->db, &version)) != SQLITE_OK)
		return store_fail(st, "schema-version", rc);
	return version;
}

/* Bind the URI (and the hash, for statements that take one) as ?1 and ?2.
 * SQLITE_STATIC is safe: step_done clears the bindings before returning. */
static void bind_user(struct store *st, enum store_stmt id, const char *uri, const uint8_t *nt_hash)
{
	sqlite3_bind_text(st->stmt[id], 1, uri, (int)strlen(uri), SQLITE_STATIC);
	if (nt_hash != NULL)
		sqlite3_bind_blob(st->stmt[id], 2, nt_hash, 16, SQLITE_STATIC);
}

int store_user_add(struct store *st, const char *uri, const uint8_t nt_hash[16])
{
	if (st == NULL || !uri_ok(uri) || nt_hash == NULL)
		return STORE_E_INVALID;
	bind_user(st, SS_USER_ADD, uri, nt_hash);
	sqlite3_bind_int64(st->stmt[SS_USER_ADD], 3, wall_us());
	return step_done(st, SS_USER_ADD, "user-add");
}

/* UPDATE or DELETE of one user; no row changed means there was no such user. */
static int user_change(struct store *st, enum store_stmt id, const char *uri, const uint8_t *nt_hash, const char *op)
{
	int ret;

	bind_user(st, id, uri, nt_hash);
	ret = step_done(st, id, op);
	return ret == STORE_OK && sqlite3_changes(st->db) == 0 ? STORE_E_NOTFOUND : ret;
}

int store_user_set_hash(struct store *st, const char *uri, const uint8_t nt_hash[16])
{
	if (st == NULL || !uri_ok(uri) || nt_hash == NULL)
		return STORE_E_INVALID;
	return user_change(st, SS_USER_SET_HASH, uri, nt_hash, "user-set-hash");
}

int store_user_set_disabled(struct store *st, const char *uri, int disabled)
{
	if (st == NULL || !uri_ok(uri))
		return STORE_E_INVALID;
	sqlite3_bind_int(st->stmt[SS_USER_SET_DISABLED], 2, disabled != 0);
	return user_change(st, SS_USER_SET_DISABLED, uri, NULL, "user-set-disabled");
}

/* What an account holds besides its row (store_user_del's contract); ?1 is
 * the URI.  Prepared per call: deleting a user is rare. */
static const char *const user_holdings_sql[] = {
	"DELETE FROM room_roles WHERE uri = ?1",
	"DELETE FROM follows WHERE uri = ?1",
	"DELETE FROM invitations WHERE uri = ?1",
	"DELETE FROM category_principals WHERE uri = ?1 AND list = 2",         /* creator */
	/* An allowed list left empty would let everyone in: the last entry stays. */
	("DELETE FROM category_principals WHERE uri = ?1 AND list = 0 AND EXISTS (SELECT 1 FROM category_principals o"
	 " WHERE o.category_id = category_principals.category_id AND o.list = 0 AND o.uri <> ?1)"),
};

int store_user_del(struct store *st, const char *uri)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, ret;

	if (st == NULL || !uri_ok(uri))
		return STORE_E_INVALID;
	/* A savepoint makes the deletes one change in or out of a transaction. */
	if ((rc = sqlite3_exec(st->db, "SAVEPOINT user_del", NULL, NULL, NULL)) != SQLITE_OK)
		return store_fail(st, "user-del", rc);
	ret = user_change(st, SS_USER_DEL, uri, NULL, "user-del");
	for (size_t i = 0; ret == STORE_OK && i < sizeof user_holdings_sql / sizeof user_holdings_sql[0]; i++) {
		if ((rc = sqlite3_prepare_v2(st->db, user_holdings_sql[i], -1, &s, NULL)) == SQLITE_OK) {
			sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
			rc = sqlite3_step(s);
		}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_DONE)
			ret = store_fail(st, "user-del", rc);
	}
	if (ret != STORE_OK)
		sqlite3_exec(st->db, "ROLLBACK TO user_del", NULL, NULL, NULL);
	if ((rc = sqlite3_exec(st->db, "RELEASE user_del", NULL, NULL, NULL)) != SQLITE_OK && ret == STORE_OK)
		ret = store_fail(st, "user-del", rc);
	return ret;
}

int store_data_version(struct store *st, int64_t *out)
{
	sqlite3_stmt *s;
	int rc, ret = STORE_OK;

	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	s = st->stmt[SS_DATA_VERSION];
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "data-version", rc);
	sqlite3_reset(s);
	return ret;
}

/* Copy the current row (USER_COLUMNS order) into u.  The schema guarantees
 * the shapes, but a file edited by hand must not overrun u. */
static int row_to_user(sqlite3_stmt *s, struct store_user *u)
{
	const unsigned char *uri = sqlite3_column_text(s, 0);
	int uri_len = sqlite3_column_bytes(s, 0);
	const void *hash = sqlite3_column_blob(s, 1);

	if (uri == NULL || uri_len <= 0 || uri_len >= STORE_URI_MAX || hash == NULL || sqlite3_column_bytes(s, 1) != 16) {
		log_error("event=store-error op=read-user reason=\"malformed users row\"");
		return STORE_E_IO;
	}
	memset(u, 0, sizeof *u);
	memcpy(u->uri, uri, (size_t)uri_len);
	memcpy(u->nt_hash, hash, 16);
	u->disabled = sqlite3_column_int(s, 2) != 0;
	u->created_us = sqlite3_column_int64(s, 3);
	return STORE_OK;
}

int store_user_get(struct store *st, const char *uri, struct store_user *out)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st == NULL || !uri_ok(uri) || out == NULL)
		return STORE_E_INVALID;
	s = st->stmt[SS_USER_GET];
	bind_user(st, SS_USER_GET, uri, NULL);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = row_to_user(s, out);
	else if (rc == SQLITE_DONE)
		ret = STORE_E_NOTFOUND;
	else
		ret = store_fail(st, "user-get", rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_user_each(struct store *st, int (*fn)(void *arg, const struct store_user *u), void *arg)
{
	struct store_user u;
	sqlite3_stmt *s = NULL;
	int rc, ret = STORE_OK;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	/* Prepared per call, not at open, so fn may itself call store_user_each. */
	rc = sqlite3_prepare_v2(st->db, "SELECT " USER_COLUMNS " FROM users ORDER BY uri", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = store_fail(st, "user-each", rc);
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ret = row_to_user(s, &u)) != STORE_OK || (ret = fn(arg, &u)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(st, "user-each", rc);
out:
	sqlite3_finalize(s);
	return ret;
}

/* Transactions.  BEGIN IMMEDIATE takes the write lock up front, so a busy
 * store shows up here (as STORE_E_BUSY) rather than halfway through a pass.
 * Nesting is refused: begin inside a transaction, or commit/rollback outside
 * one, is a caller bug and returns STORE_E_IO. */
int store_begin(struct store *st)
{
	int ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if (st->in_tx) {
		log_error("event=store-error op=begin reason=\"already in a transaction\"");
		return STORE_E_IO;
	}
	if ((ret = step_done(st, SS_BEGIN, "begin")) == STORE_OK) {
		st->in_tx = 1;
		st->changes_at_begin = sqlite3_total_changes(st->db);
	}
	return ret;
}

/* COMMIT or ROLLBACK the transaction store_begin opened. */
static int tx_end(struct store *st, enum store_stmt id, const char *op)
{
	int ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if (!st->in_tx) {
		log_error("event=store-error op=%s reason=\"no transaction\"", op);
		return STORE_E_IO;
	}
	if (!sqlite3_get_autocommit(st->db)) {
		int wrote = sqlite3_total_changes(st->db) != st->changes_at_begin;

		ret = step_done(st, id, op);
		if (ret == STORE_OK && id == SS_COMMIT && wrote)
			store_fault_clear(st);
	} else if (id == SS_COMMIT) {
		/* SQLite rolled back by itself after an error (full, I/O, busy): the
		 * writes are gone, so the commit must not look like a success. */
		log_error("event=store-error op=commit reason=\"rolled back by an earlier error\"");
		ret = st->fault != STORE_OK ? st->fault : STORE_E_IO;
	} else {
		ret = STORE_OK;         /* already rolled back: nothing left to undo */
	}
	/* A busy COMMIT leaves the transaction open for a retry or a rollback. */
	st->in_tx = !sqlite3_get_autocommit(st->db);
	return ret;
}

int store_commit(struct store *st)
{
	return tx_end(st, SS_COMMIT, "commit");
}

int store_rollback(struct store *st)
{
	return tx_end(st, SS_ROLLBACK, "rollback");
}

/* ---- Write faults -------------------------------------------------------------
 * A full disk, a read-only file or an I/O error makes writes fail, mostly at
 * COMMIT (WAL frames are written there).  The first failure logs one line
 * naming the cause and puts the store in a careful mode: each request's
 * writes are committed on their own before it is answered
 * (store_pass_write_end), so a failure is that request's 503 instead of the
 * withdrawal of every answer of the pass.  The first commit that writes again
 * logs that the store recovered; careful mode lasts STORE_CAREFUL_MS more. */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why writes fail, in a few words: what the file system and the files say,
 * else SQLite's message. */
static void fault_cause(struct store *st, int rc, char *out, size_t outlen)
{
	const char *path = sqlite3_db_filename(st->db, "main");
	char file[PATH_MAX + 8];
	struct statvfs vfs;
	int fd;

	if (path != NULL && path[0] != '\0' && statvfs(path, &vfs) == 0) {
		unsigned long long free_kb = (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024;

		if (vfs.f_flag & ST_RDONLY) {
			snprintf(out, outlen, "read-only file system");
			return;
		}
		if (free_kb < 1024) {
			snprintf(out, outlen, "disk full (%llu KiB free)", free_kb);
			return;
		}
		if ((rc & 0xff) == SQLITE_FULL) {
			snprintf(out, outlen, "store full: a size limit, not the disk (%llu KiB free)", free_kb);
			return;
		}
	}
	/* As root, access() says yes to everything; opening for writing tells
	 * (an immutable file, a file made read-only under the server). */
	for (int i = 0; path != NULL && path[0] != '\0' && i < 2; i++) {
		snprintf(file, sizeof file, "%s%s", path, i == 0 ? "-wal" : "");
		if ((fd = open(file, O_WRONLY | O_CLOEXEC)) >= 0) {
			close(fd);
		} else if (errno != ENOENT) {
			snprintf(out, outlen, "cannot write %s: %s", file, strerror(errno));
			return;
		}
	}
	snprintf(out, outlen, "%s", (rc & 0xff) == SQLITE_READONLY ? "store is read-only" : sqlite3_errstr(rc));
}

void store_fault_note(struct store *st, const char *op, int rc)
{
	char cause[PATH_MAX + 64];

	st->careful_until_ms = mono_ms() + STORE_CAREFUL_MS;
	if (st->fault != STORE_OK)
		return;
	st->fault = store_code(st->db, rc) == STORE_E_FULL ? STORE_E_FULL : STORE_E_IO;
	fault_cause(st, rc, cause, sizeof cause);
	log_error("event=store-unwritable op=%s cause=\"%s\" sqlite=\"%s\" action=\"writes are refused (503), "
	          "nothing unstored is acknowledged, reads go on; retried with every write\"",
	          op, cause, sqlite3_errstr(rc));
}

/* A commit that wrote something went through. */
static void store_fault_clear(struct store *st)
{
	if (st->fault == STORE_OK)
		return;
	st->fault = STORE_OK;
	log_warn("event=store-writable reason=\"a commit succeeded again\"");
}

static int store_careful(const struct store *st)
{
	return st->fault != STORE_OK || mono_ms() < st->careful_until_ms;
}

/* The pass's transaction for a writer: join it, or open it.  Refuses at once
 * when the pass is already lost or found the store locked (one busy wait per
 * pass).  In careful mode the writes of earlier requests are committed first,
 * so what follows is the caller's alone.  *opened: the transaction holds no
 * writes of earlier requests. */
static int pass_open(struct store *st, int *opened)
{
	int ret;

	*opened = 0;
	if (st->pass_lost != STORE_OK)
		return st->pass_lost;
	if (st->in_tx && sqlite3_get_autocommit(st->db))
		return st->fault != STORE_OK ? st->fault : STORE_E_IO;  /* rolled back by SQLite: the pass is lost */
	if (st->in_tx && !store_careful(st))
		return STORE_OK;
	if (st->in_tx) {
		if ((ret = store_commit(st)) != STORE_OK) {
			if (st->in_tx)
				store_rollback(st);
			st->pass_lost = ret;
			return ret;
		}
	}
	if (st->pass_busy)
		return STORE_E_BUSY;
	ret = store_begin(st);
	if (ret == STORE_E_BUSY) {
		st->pass_busy = 1;
		if (!st->busy) {
			st->busy = 1;
			store_busy_limit(st, STORE_BUSY_RETRY_MS);
			log_warn("event=store-busy reason=\"locked by another process past %d ms\" "
			         "action=\"writes are refused (503) until the lock is released\"", STORE_BUSY_MS);
		}
	} else if (ret == STORE_OK) {
		*opened = 1;
		if (st->busy) {
			st->busy = 0;
			store_busy_limit(st, STORE_BUSY_MS);
			log_info("event=store-unlocked");
		}
	}
	return ret;
}

int store_pass_write(struct store *st)
{
	int opened, ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if (st->in_write) {
		log_error("event=store-error op=pass-write reason=\"a request's writes are already open\"");
		return STORE_E_IO;
	}
	if ((ret = pass_open(st, &opened)) != STORE_OK)
		return ret;
	if (opened)
		st->tx_own = 1;
	if ((ret = step_done(st, SS_SAVEPOINT, "savepoint")) == STORE_OK)
		st->in_write = 1;
	return ret;
}

int store_pass_write_end(struct store *st, int rc)
{
	int own, ret;

	if (st == NULL || !st->in_write)
		return rc;
	st->in_write = 0;
	own = st->tx_own;
	st->tx_own = 0;
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite rolled the whole transaction back.  If it held no one
		 * else's writes the loss is the caller's alone; else the pass is
		 * lost and its commit will say so (in_tx stays set). */
		if (own)
			st->in_tx = 0;
		return rc != STORE_OK ? rc : st->fault != STORE_OK ? st->fault : STORE_E_IO;
	}
	if (rc == STORE_OK && (rc = step_done(st, SS_RELEASE, "release")) == STORE_OK) {
		if (!store_careful(st))
			return STORE_OK;
		/* Careful mode: commit now, so a failure is this request's answer.
		 * pass_open committed earlier requests' writes first, unless the
		 * fault began during this request: then their loss loses the pass. */
		if ((ret = store_commit(st)) != STORE_OK) {
			if (st->in_tx)
				store_rollback(st);
			if (!own)
				st->pass_lost = ret;
		}
		return ret;
	}
	/* Take back this request's writes; the pass's others stay. */
	if (step_done(st, SS_ROLLBACK_TO, "rollback-to") != STORE_OK || step_done(st, SS_RELEASE, "release") != STORE_OK) {
		if (st->in_tx && !sqlite3_get_autocommit(st->db))
			store_rollback(st);
		if (!own)
			st->pass_lost = rc;
	}
	return rc;
}

int store_pass_commit(struct store *st)
{
	int ret = STORE_OK;

	if (st == NULL)
		return STORE_OK;
	if (st->in_tx) {
		ret = store_commit(st);
		if (ret != STORE_OK && st->in_tx)
			store_rollback(st);
	}
	if (ret == STORE_OK && st->pass_lost != STORE_OK)
		ret = st->pass_lost;
	st->pass_lost = STORE_OK;
	st->pass_busy = 0;
	st->tx_own = 0;
	st->in_write = 0;
	return ret;
}

int store_integrity_check(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const char *first;
	int rc, ret = STORE_OK;

	if (st == NULL)
		return STORE_E_INVALID;
	s = st->stmt[SS_INTEGRITY];
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		set_err(err, errlen, "integrity check: %s", sqlite3_errmsg(st->db));
		ret = store_code(st->db, rc);
		if (ret == STORE_OK)
			ret = STORE_E_IO;       /* a check that answers nothing is no pass */
		goto out;
	}
	first = (const char *)sqlite3_column_text(s, 0);
	if (first == NULL)
		first = "integrity check answered NULL";
	if (strcmp(first, "ok") != 0) {
		/* Only the first problem: one line is what the caller prints. */
		set_err(err, errlen, "%.*s", (int)strcspn(first, "\n"), first);
		ret = STORE_E_IO;
	}
out:
	sqlite3_reset(s);
	return ret;
}

/* Pages per sqlite3_backup_step: small steps keep each call short, and a
 * retry after a busy answer cheap. */
#define STORE_BACKUP_PAGES 128
#define STORE_BACKUP_BUSY_TRIES 250     /* x 20 ms */

int store_backup(struct store *st, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	struct stat sb;
	int fd, rc = SQLITE_OK, ret = STORE_E_IO, snapshot = 0, busy = 0, n;

	if (st == NULL || path == NULL || path[0] == '\0' || st->in_tx) {
		set_err(err, errlen, "backup: no store, no path, or a transaction is open");
		return STORE_E_INVALID;
	}
	if (lstat(path, &sb) == 0) {
		set_err(err, errlen, "%s already exists (a backup never overwrites; choose a new name)", path);
		return STORE_E_EXISTS;
	}
	n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		set_err(err, errlen, "%s: path too long", path);
		return STORE_E_INVALID;
	}
	/* The copy is built beside FILE and published at the end (durable.c:
	 * fsync, a rename that never replaces, fsync of the folder), so FILE
	 * never exists half-written and a file that appeared meanwhile stays.
	 * Mode 0600: it holds the whole history. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		return errno == ENOSPC || errno == EROFS ? STORE_E_FULL : STORE_E_IO;
	}
	close(fd);
	if ((rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto out;
	}
	/* One read transaction on the source for the whole copy.  In WAL mode it
	 * pins one snapshot, so the copy is consistent although the server keeps
	 * committing, and it never blocks the server's writes (without it, a
	 * write by another process between two steps restarts the copy). */
	if ((rc = sqlite3_exec(st->db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL)) != SQLITE_OK) {
		set_err(err, errlen, "backup: read transaction: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	snapshot = 1;
	if ((b = sqlite3_backup_init(dst, "main", st->db, "main")) == NULL) {
		set_err(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	do {
		rc = sqlite3_backup_step(b, STORE_BACKUP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			if (++busy > STORE_BACKUP_BUSY_TRIES)
				break;
			sqlite3_sleep(20);
		}
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "backup: copy failed: %s", sqlite3_errstr(rc));
		ret = store_code(dst, rc);
		if (ret == STORE_OK)
			ret = STORE_E_IO;
		goto out;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot close: %s", tmp, sqlite3_errstr(rc));
		goto out;
	}
	if (durable_publish_path(tmp, path) < 0) {
		int e = errno;

		set_err(err, errlen, "%s: %s", path, e == EEXIST ? "appeared during the backup; not replaced" : strerror(e));
		ret = e == EEXIST ? STORE_E_EXISTS : STORE_E_IO;
		goto out;
	}
	ret = STORE_OK;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (snapshot)
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(dst);
	if (ret != STORE_OK) {
		unlink(tmp);
		if (strlen(tmp) + 9 < sizeof tmp) {
			strcat(tmp, "-journal");        /* left by a copy that failed halfway */
			unlink(tmp);
		}
	}
	return ret;
}

const char *store_strerror(int code)
{
	switch (code) {
	case STORE_OK: return "success";
	case STORE_E_IO: return "store error (see the log)";
	case STORE_E_NOTFOUND: return "not found";
	case STORE_E_EXISTS: return "already exists";
	case STORE_E_BUSY: return "store is busy (locked by another process)";
	case STORE_E_FULL: return "store is full or read-only";
	case STORE_E_VERSION: return "store is from a newer pchat";
	case STORE_E_INVALID: return "invalid argument";
	case STORE_E_INUSE: return "in use (the category still has rooms)";
	case STORE_E_OLD: return "store is from an older pchat (run pchat migrate)";
	default: return "unknown error";
	}
}
