/*
 * test_migrate.c - upgrading stores of every earlier schema version.  Each
 * fixture (tests/store_fixture.h: built from store.c's own migration list,
 * filled with the rows a pchat of that schema held) is opened three ways:
 * as today's commands do (refused, with the message, and left as it was),
 * as backup does (as it is: the copy is at the old version), and as serve
 * and `pchat migrate` do: a copy beside it at the old version, one log line
 * per step, the current schema, every row kept, integrity ok.  Also: a
 * current or new store is not copied, a copy that cannot be made stops the
 * migration, and a store from a newer pchat is refused in every mode.
 * Migration 8 cuts a file's one blob into chunks of 512 KiB, same bytes.
 */
#include "../base.c"
#include "../buf.c"
#include "../compliance_types.c"
#include "../durable.c"
#include "../store.c"
#include "../store_chat.c"
#include "../store_files.c"
#include "../log.c"
#include "check.h"
#include "testutil.h"
#include "store_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_migrate.XXXXXX";

static void path_in_dir(char *buf, size_t len, const char *name)
{
	test_path(buf, len, dir, name);
}

/* Files in dir whose name starts with prefix (SQLite's -wal and -shm beside
 * a database not counted). */
static int count_prefix(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		     !(len > 4 && (!strcmp(e->d_name + len - 4, "-wal") || !strcmp(e->d_name + len - 4, "-shm")));
	}
	if (d)
		closedir(d);
	return n;
}

/* stderr (the log) into path until capture_end; returns the saved fd. */
static int capture_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	return saved;
}

static void capture_end(int saved)
{
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}

static size_t read_all(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(out, 1, outlen - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return n;
}

/* How many times needle occurs in text. */
static int occurrences(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static int mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* PRAGMA integrity_check answers "ok" on a new read-only connection. */
static int integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ok = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		ok = sqlite3_column_text(s, 0) && strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ok;
}

static void say(int ok, const char *what, int version, const char *detail)
{
	char line[300];

	snprintf(line, sizeof line, "%s (from v%d)", what, version);
	if (!CHECK(ok, line) && detail != NULL)
		printf("#   %s\n", detail);
}

/* Refused as today's commands open it, then opened as it is for a backup:
 * neither changes it. */
static void test_refused_and_as_is(const char *path, int v)
{
	struct store *st = (struct store *)&st;
	char err[1024] = "", want[64], copy[600];
	const char *what = "";
	int rc;

	rc = store_open(&st, path, err, sizeof err);
	snprintf(want, sizeof want, "the store is schema v%d, this pchat needs v%d", v, STORE_SCHEMA_VERSION);
	say(rc == STORE_E_OLD && st == NULL, "migrate-2.1 store_open refuses an older store: STORE_E_OLD", v, err);
	say(strstr(err, want) && strstr(err, "run `pchat migrate` (a copy is kept) or start the service") &&
	    strstr(err, path), "migrate-2.2 the message names the store, both versions and what to do", v, err);
	snprintf(copy, sizeof copy, "%s.pre-", strrchr(path, '/') + 1);
	say(fixture_int(path, "PRAGMA user_version") == v && fixture_has(path, v, v, &what) && count_prefix(copy) == 0,
	    "migrate-2.3 refused: the store is as it was, no copy made", v, what);

	st = NULL;
	rc = store_open_ex(&st, path, STORE_OPEN_AS_IS, NULL, err, sizeof err);
	say(rc == STORE_OK && st != NULL && store_schema_version(st) == v, "migrate-3.1 as it is: opens at the old version", v,
	    err);
	snprintf(copy, sizeof copy, "%s.manual-backup", path);
	say(st != NULL && store_backup(st, copy, err, sizeof err) == STORE_OK, "migrate-3.2 a backup of the older store", v, err);
	store_close(st);
	say(fixture_int(copy, "PRAGMA user_version") == v && fixture_has(copy, v, v, &what),
	    "migrate-3.3 the backup is the old version with its rows", v, what);
	say(fixture_int(path, "PRAGMA user_version") == v && fixture_has(path, v, v, &what),
	    "migrate-3.4 the store itself is unchanged", v, what);
	unlink(copy);
}

static void test_migrate_from(int v)
{
	struct store_migration done;
	struct store_user u;
	struct store *st = NULL;
	char name[64], path[512], logpath[600], log[8192], err[1024] = "", prefix[600], want[1400];
	const char *what = "";
	int rc, saved, lines_ok = 1;

	snprintf(name, sizeof name, "v%d.db", v);
	path_in_dir(path, sizeof path, name);
	rc = fixture_make(path, v, err, sizeof err);
	say(rc == STORE_OK && fixture_int(path, "PRAGMA user_version") == v && fixture_has(path, v, v, &what),
	    "migrate-1.1 fixture built from migrations 1..N and filled", v, rc ? err : what);
	test_refused_and_as_is(path, v);

	snprintf(logpath, sizeof logpath, "%s/migrate-v%d.log", dir, v);
	memset(&done, 0, sizeof done);
	saved = capture_begin(logpath);
	rc = store_open_ex(&st, path, STORE_OPEN_MIGRATE, &done, err, sizeof err);
	capture_end(saved);
	read_all(logpath, log, sizeof log);
	say(rc == STORE_OK && st != NULL, "migrate-4.1 open to migrate succeeds", v, err);
	say(done.from == v && done.to == STORE_SCHEMA_VERSION, "migrate-4.2 it reports from and to", v, NULL);
	say(st != NULL && store_schema_version(st) == STORE_SCHEMA_VERSION, "migrate-4.3 the store is at the current version",
	    v, NULL);
	say(st != NULL && store_integrity_check(st, err, sizeof err) == STORE_OK, "migrate-4.4 integrity_check ok", v, err);
	say(fixture_has(path, v, STORE_SCHEMA_VERSION, &what), "migrate-4.5 every row kept (counts, values, search)", v, what);
	say(st != NULL && store_user_get(st, "sip:bob@example.org", &u) == STORE_OK && u.disabled &&
	    u.created_us == 1764000001000000, "migrate-4.6 today's code reads an old user", v, NULL);
	say(fixture_int(path, "SELECT file_upload + invitations + history FROM categories WHERE name = 'default'") == 3 &&
	    (v < 2 || fixture_int(path, "SELECT file_upload FROM categories WHERE name = 'Legal'") == 0),
	    "migrate-4.7 new category columns take their defaults, old values kept", v, NULL);
	say(v < 4 || fixture_int(path, "SELECT count(*) FROM files WHERE id = 1 AND deleted = 0") == 1,
	    "migrate-4.8 an old file is not marked deleted", v, NULL);
	store_close(st);

	snprintf(prefix, sizeof prefix, "%s.pre-v%d-", path, STORE_SCHEMA_VERSION);
	say(strncmp(done.copy, prefix, strlen(prefix)) == 0 && strlen(done.copy) == strlen(prefix) + 16 &&
	    done.copy[strlen(done.copy) - 1] == 'Z', "migrate-5.1 the copy is named NAME.pre-vN-YYYYmmddTHHMMSSZ", v, done.copy);
	say(mode_of(done.copy) == 0600, "migrate-5.2 the copy is mode 0600", v, done.copy);
	say(fixture_int(done.copy, "PRAGMA user_version") == v && fixture_has(done.copy, v, v, &what) &&
	    integrity_ok(done.copy),
	    "migrate-5.3 the copy is the old version with every row", v, what);
	snprintf(name, sizeof name, "v%d.db.pre-", v);
	say(count_prefix(name) == 1, "migrate-5.4 exactly one copy", v, NULL);

	snprintf(want, sizeof want, "event=store-backup store=%s copy=%s schema=%d", path, done.copy, v);
	say(occurrences(log, want) == 1, "migrate-6.1 the copy is logged", v, log);
	for (int k = 0; k < STORE_SCHEMA_VERSION; k++) {
		snprintf(want, sizeof want, "level=info event=store-migrate store=%s from=%d to=%d what=\"%s\"\n", path, k, k + 1,
		         store_migration_what[k]);
		lines_ok &= occurrences(log, want) == (k >= v);
	}
	say(lines_ok && occurrences(log, "event=store-migrate") == STORE_SCHEMA_VERSION - v,
	    "migrate-6.2 one log line per step, from the old version on", v, log);
	say(strstr(log, "event=store-backup") < strstr(log, "event=store-migrate"), "migrate-6.3 the copy comes first", v, log);

	st = NULL;
	rc = store_open(&st, path, err, sizeof err);
	say(rc == STORE_OK, "migrate-7.1 today's commands open it now", v, err);
	store_close(st);
	memset(&done, 0, sizeof done);
	saved = capture_begin(logpath);
	rc = store_open_ex(&st, path, STORE_OPEN_MIGRATE, &done, err, sizeof err);
	capture_end(saved);
	store_close(st);
	read_all(logpath, log, sizeof log);
	say(rc == STORE_OK && done.from == done.to && done.copy[0] == '\0' && count_prefix(name) == 1 && log[0] == '\0',
	    "migrate-7.2 migrating again: nothing done, no second copy, nothing logged", v, log);
}

/* A new store is created, not upgraded: no copy, nothing logged. */
static void test_new_store(void)
{
	struct store_migration done;
	struct store *st = NULL;
	char path[512], logpath[600], log[4096], err[512] = "";
	int rc, saved;

	path_in_dir(path, sizeof path, "new.db");
	path_in_dir(logpath, sizeof logpath, "new.log");
	memset(&done, 0xff, sizeof done);
	saved = capture_begin(logpath);
	rc = store_open_ex(&st, path, STORE_OPEN_MIGRATE, &done, err, sizeof err);
	capture_end(saved);
	store_close(st);
	read_all(logpath, log, sizeof log);
	CHECK(rc == STORE_OK && done.from == 0 && done.to == STORE_SCHEMA_VERSION && done.copy[0] == '\0',
	      "migrate-8.1 a new store: created at the current version, no copy");
	CHECK(count_prefix("new.db.pre-") == 0 && log[0] == '\0', "migrate-8.2 nothing copied, nothing logged");
}

/* No copy, no migration: a copy name already taken for every second this
 * can run in leaves the store at its version. */
static void test_copy_fails(void)
{
	struct store *st = NULL;
	char path[512], taken[700], stamp[32], err[1024] = "";
	time_t now = time(NULL);
	struct tm tm;
	int rc, saved;

	path_in_dir(path, sizeof path, "nocopy.db");
	CHECK(fixture_make(path, STORE_SCHEMA_VERSION - 1, err, sizeof err) == STORE_OK, "migrate-9.1 fixture");
	for (int s = 0; s < 5; s++) {
		time_t t = now + s;

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(taken, sizeof taken, "%s.pre-v%d-%s", path, STORE_SCHEMA_VERSION, stamp);
		close(open(taken, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	}
	path_in_dir(taken, sizeof taken, "nocopy.log");
	saved = capture_begin(taken);
	rc = store_open_ex(&st, path, STORE_OPEN_MIGRATE, NULL, err, sizeof err);
	capture_end(saved);
	if (!CHECK(rc == STORE_E_EXISTS && st == NULL && strstr(err, "not migrated"), "migrate-9.2 copy taken: refused, says so"))
		printf("#   rc=%d err=%s\n", rc, err);
	store_close(st);
	CHECK(fixture_int(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION - 1, "migrate-9.3 the store keeps its version");
}

/* A store from a newer pchat is refused whatever the mode. */
static void test_newer(void)
{
	static const int modes[] = { STORE_OPEN_CURRENT, STORE_OPEN_MIGRATE, STORE_OPEN_AS_IS };
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[512], err[512];
	int all = 1;

	path_in_dir(path, sizeof path, "newer.db");
	CHECK(store_create_at_version(path, STORE_SCHEMA_VERSION, err, sizeof err) == STORE_OK &&
	      sqlite3_open(path, &db) == SQLITE_OK &&
	      sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK, "migrate-10.1 a store at v99");
	sqlite3_close(db);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		all &= store_open_ex(&st, path, modes[i], NULL, err, sizeof err) == STORE_E_VERSION && st == NULL;
		store_close(st);
		st = NULL;
	}
	CHECK(all && count_prefix("newer.db.pre-") == 0, "migrate-10.2 newer: STORE_E_VERSION in every mode, no copy");
	CHECK(fixture_int(path, "PRAGMA user_version") == 99, "migrate-10.3 newer: left as it is");
}

/* store_file_export's sink: compare with the bytes expected, in order. */
struct compare_sink {
	const unsigned char *want;
	size_t len, at;
	int same;
};

static int compare_put(void *arg, const void *p, size_t n)
{
	struct compare_sink *k = arg;

	k->same &= n <= k->len - k->at && memcmp(k->want + k->at, p, n) == 0;
	k->at += n <= k->len - k->at ? n : 0;
	return 0;
}

/* Migration 8: a v7 store's file of ~1.5 MB (one file_data blob) becomes
 * three chunks of at most 512 KiB holding the same bytes; a 0-byte file
 * becomes none; file_data is gone. */
#define BIG_BLOB 1500000
static void test_blob_to_chunks(void)
{
	static unsigned char blob[BIG_BLOB];
	struct compare_sink k = { blob, BIG_BLOB, 0, 1 };
	struct store *st = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char path[512], err[1024] = "";
	size_t at = 0;
	int chunks = 0, same = 1, sizes_ok = 1;

	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (unsigned char)(i * 2246822519u >> 11);
	path_in_dir(path, sizeof path, "blob.db");
	CHECK(fixture_make(path, 7, err, sizeof err) == STORE_OK && sqlite3_open(path, &db) == SQLITE_OK &&
	      sqlite3_exec(db, "INSERT INTO files (id, room_id, name, uploader, size, sha256, created_us, complete) VALUES"
	                   " (10, 1, 'big.bin', 'sip:alice@example.org', 1500000, NULL, 1764000020000000, 1),"
	                   " (11, 1, 'empty.bin', 'sip:alice@example.org', 0, NULL, 1764000021000000, 1);"
	                   "INSERT INTO file_data (file_id, data) VALUES (11, zeroblob(0))", NULL, NULL, NULL) == SQLITE_OK &&
	      sqlite3_prepare_v2(db, "INSERT INTO file_data (file_id, data) VALUES (10, ?1)", -1, &s, NULL) == SQLITE_OK &&
	      sqlite3_bind_blob(s, 1, blob, BIG_BLOB, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE,
	      "migrate-12.1 a v7 store with a 1.5 MB file and a 0-byte file in file_data");
	sqlite3_finalize(s);
	sqlite3_close(db);
	db = NULL;
	s = NULL;
	CHECK(store_open_ex(&st, path, STORE_OPEN_MIGRATE, NULL, err, sizeof err) == STORE_OK && st != NULL &&
	      store_schema_version(st) == 8, "migrate-12.2 migrated to v8");
	if (st == NULL)
		return;
	if (sqlite3_prepare_v2(st->db, "SELECT offset, data FROM file_chunks WHERE file_id = 10 ORDER BY offset", -1, &s,
	                       NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			size_t n = (size_t)sqlite3_column_bytes(s, 1);

			sizes_ok &= n > 0 && n <= 524288 && sqlite3_column_int64(s, 0) == (int64_t)at &&
			            sqlite3_column_type(s, 1) == SQLITE_BLOB;
			same &= n <= BIG_BLOB - at && memcmp(sqlite3_column_blob(s, 1), blob + at, n) == 0;
			at += n;
			chunks++;
		}
	}
	sqlite3_finalize(s);
	CHECK(chunks == 3 && sizes_ok && at == BIG_BLOB && same,
	      "migrate-12.3 the 1.5 MB blob is 3 BLOB chunks of at most 512 KiB, contiguous, same bytes (memcmp)");
	CHECK(store_file_export(st, 10, compare_put, &k) == STORE_OK && k.same && k.at == BIG_BLOB,
	      "migrate-12.4 today's code exports the same bytes");
	k.at = 0;
	CHECK(store_file_export(st, 11, compare_put, &k) == STORE_OK && k.at == 0 &&
	      fixture_int(path, "SELECT count(*) FROM file_chunks WHERE file_id = 11") == 0,
	      "migrate-12.5 the 0-byte file has no chunk and exports nothing");
	CHECK(fixture_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'file_data'") == 0,
	      "migrate-12.6 file_data is gone");
	CHECK(store_integrity_check(st, err, sizeof err) == STORE_OK, "migrate-12.7 integrity_check ok");
	store_close(st);
}

static void remove_dir(void)
{
	CHECK(test_dir_remove(dir) == 0, "migrate-11.1 temp folder removed");
}

int main(void)
{
	if (test_dir_make(dir) < 0)
		return 1;
	CHECK(STORE_SCHEMA_VERSION >= 2, "migrate-0.1 there are earlier versions to test");
	for (int v = 1; v < STORE_SCHEMA_VERSION; v++)
		test_migrate_from(v);
	test_new_store();
	test_copy_fails();
	test_newer();
	test_blob_to_chunks();
	remove_dir();
	return check_done("migrate");
}
