/*
 * store_fixture.h - stores as older pchats left them, for the upgrade tests
 * (tests/test_migrate.c, tests/e2e_ops.c).  fixture_make builds a new file
 * at schema version N from store.c's own migration list (migrations 1..N
 * only, store_create_at_version) and fills it with a few rows of what a
 * pchat of that schema held: users; from v2 a category with a policy, rooms,
 * roles, messages (searchable), an invitation, a follow and compliance
 * events; from v3 an exported batch (its event gone, as the exporter
 * leaves it); from v4 a posted file; from v5 a file deleted while its
 * upload event waits; from v6 an upload under way (v7 and v8 add no rows:
 * from v8 the files' bytes are in file_chunks).  fixture_want says what
 * must still be there after an upgrade.  Raw SQL on purpose: today's
 * store_* functions would write today's schema.
 */
#ifndef PCHAT_STORE_FIXTURE_H
#define PCHAT_STORE_FIXTURE_H

#include "../store_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What a fixture of some version holds, in rows (the counts the checks compare). */
struct fixture_want {
	int users, categories, rooms, messages, events, batches, files, chunks;
};

/* The rows each version adds, in order; a version runs every block up to its own. */
static const char *const fixture_sql[STORE_SCHEMA_VERSION] = {
	/* v1 */
	"INSERT INTO users (uri, nt_hash, disabled, created_us) VALUES"
	"  ('sip:alice@example.org', X'8846f7eaee8fb117ad06bdd830b7586c', 0, 1764000000000000),"
	"  ('sip:bob@example.org', X'32ed87bdb5fdc5e9cba88547376818d4', 1, 1764000001000000);",
	/* v2 */
	"INSERT INTO categories (id, name, description, file_upload, invitations, history, created_us)"
	"  VALUES (2, 'Legal', 'walled off', 0, 1, 1, 1764000002000000);"
	"INSERT INTO category_principals (category_id, list, uri) VALUES (2, 0, 'sip:alice@example.org'),"
	"  (2, 1, 'sip:bob@example.org');"
	"INSERT INTO rooms (id, guid, name, description, topic, category_id, privacy, created_us) VALUES"
	"  (1, '6f1c2d3e-0001-4a5b-8c7d-000000000001', 'Lobby', 'everyone', 'welcome', 1, 1, 1764000003000000),"
	"  (2, '6f1c2d3e-0002-4a5b-8c7d-000000000002', 'Deals', 'closed deals', '', 2, 2, 1764000004000000);"
	"INSERT INTO room_roles (room_id, uri, roles) VALUES (1, 'sip:alice@example.org', 3),"
	"  (2, 'sip:alice@example.org', 1);"
	"INSERT INTO messages (room_id, author, ts_us, text) VALUES"
	"  (1, 'sip:alice@example.org', 1764000005000000, 'good morning'),"
	"  (1, 'sip:bob@example.org', 1764000006000000, 'the quarterly figures are in'),"
	"  (2, 'sip:alice@example.org', 1764000007000000, 'signed at last');"
	"INSERT INTO invitations (room_id, uri, inviter, created_us) VALUES"
	"  (2, 'sip:bob@example.org', 'sip:alice@example.org', 1764000008000000);"
	"INSERT INTO follows (uri, room_id, last_read_id) VALUES ('sip:alice@example.org', 1, 2);"
	"INSERT INTO compliance_events (seq, type, room_guid, room_name, user_uri, ts_us, message_id, content) VALUES"
	"  (1, 'JOIN', '6f1c2d3e-0001-4a5b-8c7d-000000000001', 'Lobby', 'sip:alice@example.org', 1764000005000000, 0, NULL),"
	"  (2, 'MESSAGE', '6f1c2d3e-0001-4a5b-8c7d-000000000001', 'Lobby', 'sip:bob@example.org', 1764000006000000, 2,"
	"   'the quarterly figures are in'),"
	"  (3, 'MESSAGE', '6f1c2d3e-0002-4a5b-8c7d-000000000002', 'Deals', 'sip:alice@example.org', 1764000007000000, 3,"
	"   'signed at last');",
	/* v3: batch 1 exported event 1 (the exporter deletes what it exported) */
	"INSERT INTO compliance_batches (number, first_seq, last_seq, events, format, domain, prev_sha256, sha256,"
	"  planned_us, exported_us) VALUES (1, 1, 1, 1, 'lync', 'example.org',"
	"  '0000000000000000000000000000000000000000000000000000000000000000',"
	"  '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 1764000009000000, 1764000009500000);"
	"DELETE FROM compliance_events WHERE seq = 1;",
	/* v4: a file posted in the Lobby */
	"INSERT INTO files (id, room_id, name, uploader, size, sha256, created_us, complete) VALUES"
	"  (1, 1, 'agenda.txt', 'sip:alice@example.org', 11,"
	"   '64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c', 1764000010000000, 1);"
	"INSERT INTO file_data (file_id, data) VALUES (1, CAST('hello world' AS BLOB));",
	/* v5: a file deleted by an administrator while its upload event waits for export */
	"INSERT INTO files (id, room_id, name, uploader, size, sha256, created_us, complete, deleted) VALUES"
	"  (2, 2, 'draft.pdf', 'sip:alice@example.org', 4,"
	"   '1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f53', 1764000011000000, 1, 1);"
	"INSERT INTO file_data (file_id, data) VALUES (2, X'25504446');"
	"INSERT INTO compliance_events (seq, type, room_guid, room_name, user_uri, ts_us, message_id, content) VALUES"
	"  (4, 'FILEUPLOAD', '6f1c2d3e-0002-4a5b-8c7d-000000000002', 'Deals', 'sip:alice@example.org',"
	"   1764000011000000, 2, 'draft.pdf');",
	/* v6: an upload under way, one chunk in */
	"INSERT INTO files (id, room_id, name, uploader, size, created_us, complete) VALUES"
	"  (3, 1, 'photo.png', 'sip:bob@example.org', 8, 1764000012000000, 0);"
	"INSERT INTO file_chunks (file_id, offset, data) VALUES (3, 0, X'89504e47');",
	/* v7 */
	"",
	/* v8 */
	"",
};

static struct fixture_want fixture_want(int version)
{
	struct fixture_want w = { .users = 2, .categories = 1 };

	if (version >= 2) {
		w.categories = 2;
		w.rooms = 2;
		w.messages = 3;
		w.events = 3;
	}
	if (version >= 3) {
		w.batches = 1;
		w.events = 2;
	}
	if (version >= 4)
		w.files = 1;
	if (version >= 5) {
		w.files = 2;
		w.events = 3;
	}
	if (version >= 6) {
		w.files = 3;
		w.chunks = 1;
	}
	return w;
}

/* A new store at path as a pchat of schema `version` left it; STORE_OK or an
 * error with err set. */
static int fixture_make(const char *path, int version, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = store_create_at_version(path, version, err, errlen)) != STORE_OK)
		return rc;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (int v = 0; rc == SQLITE_OK && v < version; v++)
		rc = sqlite3_exec(db, fixture_sql[v], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s: filling v%d: %s", path, version, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return rc == SQLITE_OK ? STORE_OK : STORE_E_IO;
}

/* One integer from a query on a new read-only connection; -1 if it fails. */
static int64_t fixture_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* 1 when the file at path, now at schema `schema`, holds what a fixture of
 * `version` held (tables it did not have yet must be empty); what names the
 * first difference.  From schema 8 on, the complete files' bytes (v4's and
 * v5's) are one chunk each beside v6's upload piece. */
static int fixture_has(const char *path, int version, int schema, const char **what)
{
	struct fixture_want w = fixture_want(version);
	int chunks = w.chunks + (schema >= 8 ? w.files - (version >= 6) : 0);
	struct { const char *sql; int want; } q[] = {
		{ "SELECT count(*) FROM users", w.users },
		{ "SELECT count(*) FROM users WHERE uri = 'sip:bob@example.org' AND disabled = 1"
		  " AND nt_hash = X'32ed87bdb5fdc5e9cba88547376818d4'", 1 },
		{ "SELECT count(*) FROM categories", w.categories },
		{ "SELECT count(*) FROM rooms", w.rooms },
		{ "SELECT count(*) FROM messages", w.messages },
		{ "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'quarterly'", w.messages ? 1 : 0 },
		{ "SELECT count(*) FROM compliance_events", w.events },
		{ "SELECT count(*) FROM compliance_batches WHERE sha256 LIKE '9f86d081%'", w.batches },
		{ "SELECT count(*) FROM files", w.files },
		{ "SELECT count(*) FROM file_data WHERE file_id = 1 AND data = CAST('hello world' AS BLOB)", w.files ? 1 : 0 },
		{ "SELECT count(*) FROM file_chunks", chunks },
		{ "SELECT count(*) FROM file_chunks WHERE file_id = 1 AND offset = 0 AND data = CAST('hello world' AS BLOB)",
		  w.files ? 1 : 0 },
		{ "SELECT count(*) FROM file_chunks WHERE file_id = 2 AND offset = 0 AND data = X'25504446'",
		  w.files > 1 ? 1 : 0 },
	};
	/* The schemas each query needs: first v1, then the ones of v2, v3, v4,
	 * v6; file_data is gone from v8 on, its bytes in file_chunks. */
	static const int since[] = { 1, 1, 1, 2, 2, 2, 2, 3, 4, 4, 6, 8, 8 };
	static const int until[] = { 99, 99, 99, 99, 99, 99, 99, 99, 99, 7, 99, 99, 99 };

	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		if (schema < since[i] || schema > until[i])
			continue;
		if (fixture_int(path, q[i].sql) != q[i].want) {
			*what = q[i].sql;
			return 0;
		}
	}
	return 1;
}

#endif
