/*
 * test_store.c - the SQLite store against a temporary folder: open creates
 * and migrates, users round-trip, bad arguments are refused, transactions
 * keep or drop what they wrote, and a file from a newer pchat, a missing
 * folder or a non-database is an error rather than a crash.  Files
 * (store_files.c): a file written in uneven pieces is read back by any span
 * from its chunks, a gap in them is an error, start-up's purge keeps
 * complete files' chunks.
 */
#include "../base.c"
#include "../durable.c"
#include "../store.c"
#include "../store_files.c"
#include "../log.c"
#include "check.h"
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_store.XXXXXX";

static void path_in_dir(char *buf, size_t len, const char *name)
{
	test_path(buf, len, dir, name);
}

/* One integer from a query on a raw connection; -1 if it fails. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int query_text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *s = NULL;
	int same = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		same = sqlite3_column_text(s, 0) && strcmp((const char *)sqlite3_column_text(s, 0), want) == 0;
	sqlite3_finalize(s);
	return same;
}

struct collect {
	char uris[8][STORE_URI_MAX];
	int n;
	int stop_after;         /* return 7 once this many were seen; 0 = never */
};

static int collect_user(void *arg, const struct store_user *u)
{
	struct collect *c = arg;

	if (c->n < 8)
		snprintf(c->uris[c->n], STORE_URI_MAX, "%s", u->uri);
	c->n++;
	return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static void remove_dir(void)
{
	CHECK(test_dir_remove(dir) == 0, "store-9.1 temp folder removed");
}

static void test_open_and_schema(const char *db_path)
{
	struct store *st = NULL;
	struct stat sb;
	char err[512] = "";

	CHECK(store_open(&st, db_path, err, sizeof err) == STORE_OK && st != NULL, "store-1.1 open creates a new store");
	if (st == NULL) {
		printf("#   error was: %s\n", err);
		return;
	}
	CHECK(stat(db_path, &sb) == 0 && S_ISREG(sb.st_mode), "store-1.2 the file exists");
	CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION, "store-1.3 schema version is the current one");
	CHECK(query_int(st->db, "SELECT count(*) FROM categories WHERE name = 'default'") == 1,
	      "store-1.4 default category exists");
	CHECK(query_int(st->db, "SELECT created_us FROM categories WHERE name = 'default'") > 1600000000LL * 1000000,
	      "store-1.5 default category has a microsecond timestamp");
	CHECK(query_text_is(st->db, "PRAGMA journal_mode", "wal"), "store-1.6 journal mode is WAL");
	CHECK(query_int(st->db, "PRAGMA synchronous") == 2, "store-1.7 synchronous is FULL");
	CHECK(query_int(st->db, "PRAGMA foreign_keys") == 1, "store-1.8 foreign keys are on");
	CHECK(store_integrity_check(st, err, sizeof err) == STORE_OK, "store-1.9 integrity check passes");
	store_close(st);
	store_close(NULL);
	CHECK(1, "store-1.10 store_close(NULL) is a no-op");
}

static void test_users(struct store *st)
{
	const uint8_t h1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const uint8_t h2[16] = { 0xff, 0, 0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 };
	struct store_user u;
	struct timespec ts;
	int64_t before, after;
	char longuri[301], maxuri[STORE_URI_MAX];

	clock_gettime(CLOCK_REALTIME, &ts);
	before = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	CHECK(store_user_add(st, "sip:alice@example.org", h1) == STORE_OK, "store-2.1 add");
	clock_gettime(CLOCK_REALTIME, &ts);
	after = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	memset(&u, 0xaa, sizeof u);
	CHECK(store_user_get(st, "sip:alice@example.org", &u) == STORE_OK, "store-2.2 get");
	CHECK(strcmp(u.uri, "sip:alice@example.org") == 0 && memcmp(u.nt_hash, h1, 16) == 0 && u.disabled == 0,
	      "store-2.3 get returns uri, hash, enabled");
	CHECK(u.created_us >= before && u.created_us <= after, "store-2.4 created_us is now in UTC microseconds");
	CHECK(store_user_add(st, "sip:alice@example.org", h2) == STORE_E_EXISTS, "store-2.5 duplicate add is EXISTS");
	CHECK(store_user_get(st, "sip:alice@example.org", &u) == STORE_OK && memcmp(u.nt_hash, h1, 16) == 0,
	      "store-2.6 duplicate add left the hash alone");
	CHECK(store_user_set_hash(st, "sip:alice@example.org", h2) == STORE_OK, "store-2.7 set_hash");
	CHECK(store_user_get(st, "sip:alice@example.org", &u) == STORE_OK && memcmp(u.nt_hash, h2, 16) == 0,
	      "store-2.8 set_hash changed the hash");
	CHECK(store_user_del(st, "sip:alice@example.org") == STORE_OK, "store-2.9 del");
	CHECK(store_user_get(st, "sip:alice@example.org", &u) == STORE_E_NOTFOUND, "store-2.10 get after del is NOTFOUND");
	CHECK(store_user_set_hash(st, "sip:nobody@example.org", h1) == STORE_E_NOTFOUND, "store-2.11 set_hash on missing");
	CHECK(store_user_del(st, "sip:nobody@example.org") == STORE_E_NOTFOUND, "store-2.12 del on missing");
	CHECK(store_user_add(st, "sip:Alice@example.org", h1) == STORE_OK &&
	      store_user_get(st, "sip:alice@example.org", &u) == STORE_E_NOTFOUND &&
	      store_user_del(st, "sip:Alice@example.org") == STORE_OK, "store-2.13 URIs compare exactly (callers canonicalise)");

	memset(longuri, 'a', sizeof longuri - 1);
	longuri[sizeof longuri - 1] = '\0';
	memset(maxuri, 'b', sizeof maxuri - 1);
	maxuri[sizeof maxuri - 1] = '\0';       /* 255 characters: the longest allowed */
	CHECK(store_user_add(st, "", h1) == STORE_E_INVALID, "store-3.1 empty URI refused");
	CHECK(store_user_add(st, longuri, h1) == STORE_E_INVALID, "store-3.2 300-character URI refused");
	CHECK(store_user_get(st, longuri, &u) == STORE_E_INVALID && store_user_del(st, "") == STORE_E_INVALID &&
	      store_user_set_hash(st, longuri, h1) == STORE_E_INVALID, "store-3.3 get/del/set_hash refuse bad URIs");
	longuri[STORE_URI_MAX] = '\0';
	CHECK(store_user_add(st, longuri, h1) == STORE_E_INVALID, "store-3.4 URI of exactly STORE_URI_MAX refused");
	CHECK(store_user_add(st, maxuri, h1) == STORE_OK && store_user_get(st, maxuri, &u) == STORE_OK &&
	      strcmp(u.uri, maxuri) == 0 && store_user_del(st, maxuri) == STORE_OK, "store-3.5 255-character URI round-trips");
	CHECK(store_user_add(st, NULL, h1) == STORE_E_INVALID && store_user_add(st, "sip:x@y", NULL) == STORE_E_INVALID &&
	      store_user_set_hash(st, "sip:x@y", NULL) == STORE_E_INVALID && store_user_get(st, "sip:x@y", NULL) == STORE_E_INVALID,
	      "store-3.6 NULL URI, hash or result refused");
	CHECK(store_user_add(NULL, "sip:x@y", h1) == STORE_E_INVALID && store_user_get(NULL, "sip:x@y", &u) == STORE_E_INVALID &&
	      store_user_each(NULL, collect_user, NULL) == STORE_E_INVALID && store_user_each(st, NULL, NULL) == STORE_E_INVALID &&
	      store_begin(NULL) == STORE_E_INVALID && store_commit(NULL) == STORE_E_INVALID &&
	      store_rollback(NULL) == STORE_E_INVALID && store_schema_version(NULL) == STORE_E_INVALID &&
	      store_integrity_check(NULL, NULL, 0) == STORE_E_INVALID, "store-3.7 NULL store refused");
}

static void test_each(struct store *st)
{
	const uint8_t h[16] = { 7 };
	struct collect c;

	CHECK(store_user_add(st, "sip:carol@example.org", h) == STORE_OK && store_user_add(st, "sip:alice@example.org", h) == STORE_OK &&
	      store_user_add(st, "sip:bob@example.org", h) == STORE_OK, "store-4.1 add three users out of order");
	memset(&c, 0, sizeof c);
	CHECK(store_user_each(st, collect_user, &c) == STORE_OK && c.n == 3, "store-4.2 each visits every user");
	CHECK(strcmp(c.uris[0], "sip:alice@example.org") == 0 && strcmp(c.uris[1], "sip:bob@example.org") == 0 &&
	      strcmp(c.uris[2], "sip:carol@example.org") == 0, "store-4.3 each goes in URI order");
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	CHECK(store_user_each(st, collect_user, &c) == 7 && c.n == 2, "store-4.4 non-zero from the callback stops and is returned");
	memset(&c, 0, sizeof c);
	CHECK(store_user_each(st, collect_user, &c) == STORE_OK && c.n == 3, "store-4.5 each runs again after an early stop");
}

static void test_transactions(struct store *st, const char *db_path)
{
	const uint8_t h[16] = { 9 };
	struct store_user u;
	struct store *other = NULL;
	char err[512] = "";

	CHECK(store_commit(st) == STORE_E_IO, "store-5.1 commit without begin is an error");
	CHECK(store_rollback(st) == STORE_E_IO, "store-5.2 rollback without begin is an error");
	CHECK(store_begin(st) == STORE_OK, "store-5.3 begin");
	CHECK(store_begin(st) == STORE_E_IO, "store-5.4 nested begin is refused");
	CHECK(store_user_add(st, "sip:dave@example.org", h) == STORE_OK, "store-5.5 add inside a transaction");
	CHECK(store_rollback(st) == STORE_OK, "store-5.6 rollback");
	CHECK(store_user_get(st, "sip:dave@example.org", &u) == STORE_E_NOTFOUND, "store-5.7 rolled-back user is absent");
	CHECK(store_begin(st) == STORE_OK && store_user_add(st, "sip:erin@example.org", h) == STORE_OK &&
	      store_commit(st) == STORE_OK, "store-5.8 begin, add, commit");
	CHECK(store_user_get(st, "sip:erin@example.org", &u) == STORE_OK, "store-5.9 committed user is present");

	/* A second connection, as an admin command beside the server would be. */
	CHECK(store_open(&other, db_path, err, sizeof err) == STORE_OK, "store-5.10 second connection opens");
	if (other == NULL)
		return;
	CHECK(store_user_get(other, "sip:erin@example.org", &u) == STORE_OK, "store-5.11 commit is visible to another connection");
	sqlite3_busy_timeout(other->db, 0);     /* see BUSY at once instead of after 5 s */
	CHECK(store_begin(st) == STORE_OK, "store-5.12 first connection takes the write lock");
	CHECK(store_user_get(other, "sip:erin@example.org", &u) == STORE_OK, "store-5.13 WAL: reads go on during a write transaction");
	CHECK(store_user_add(other, "sip:frank@example.org", h) == STORE_E_BUSY, "store-5.14 a write while locked is BUSY");
	CHECK(store_begin(other) == STORE_E_BUSY && other->in_tx == 0, "store-5.15 begin while locked is BUSY");
	CHECK(store_rollback(st) == STORE_OK && store_begin(other) == STORE_OK && store_commit(other) == STORE_OK,
	      "store-5.16 lock released by rollback");
	store_close(other);
}

static void test_reopen(const char *db_path)
{
	struct store *st = NULL;
	struct store_user u;
	char err[512] = "";

	CHECK(store_open(&st, db_path, err, sizeof err) == STORE_OK, "store-6.1 reopen");
	if (st == NULL)
		return;
	CHECK(store_user_get(st, "sip:bob@example.org", &u) == STORE_OK && store_user_get(st, "sip:erin@example.org", &u) == STORE_OK,
	      "store-6.2 users persist across close and open");
	CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION, "store-6.3 version unchanged on reopen");
	CHECK(query_int(st->db, "SELECT count(*) FROM categories") == 1, "store-6.4 migration not run twice");
	CHECK(store_integrity_check(st, err, sizeof err) == STORE_OK, "store-6.5 integrity check passes after use");
	store_close(st);
}

static void test_bad_files(void)
{
	struct store *st = (struct store *)&st;     /* not NULL, to see it reset */
	sqlite3 *db = NULL;
	char path[512], err[512], want[64];
	FILE *f;
	int rc;

	path_in_dir(path, sizeof path, "newer.db");
	CHECK(store_open(&st, path, err, sizeof err) == STORE_OK, "store-7.1 create a store to age");
	store_close(st);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK,
	      "store-7.2 set user_version to 99 by hand");
	sqlite3_close(db);
	st = (struct store *)&st;
	err[0] = '\0';
	CHECK(store_open(&st, path, err, sizeof err) == STORE_E_VERSION && st == NULL, "store-7.3 newer file: VERSION, *out NULL");
	snprintf(want, sizeof want, "knows up to %d", STORE_SCHEMA_VERSION);
	if (!CHECK(strstr(err, "schema version 99") && strstr(err, want) && strstr(err, path), "store-7.4 version error says both versions"))
		printf("#   error was: %s\n", err);

	path_in_dir(path, sizeof path, "no/such/folder/p.db");
	st = (struct store *)&st;
	err[0] = '\0';
	CHECK(store_open(&st, path, err, sizeof err) == STORE_E_IO && st == NULL, "store-7.5 missing folder: IO, *out NULL");
	if (!CHECK(err[0] != '\0' && strstr(err, path) != NULL, "store-7.6 error names the path"))
		printf("#   error was: %s\n", err);

	path_in_dir(path, sizeof path, "garbage.db");
	f = fopen(path, "w");
	if (f) {
		for (int i = 0; i < 100; i++)
			fputs("this is not an SQLite database, only some text\n", f);
		fclose(f);
	}
	st = (struct store *)&st;
	err[0] = '\0';
	rc = store_open(&st, path, err, sizeof err);
	if (!CHECK(rc == STORE_E_IO && st == NULL && strstr(err, path) != NULL, "store-7.7 non-database file: IO naming the path, *out NULL"))
		printf("#   rc=%d error was: %s\n", rc, err);

	st = (struct store *)&st;
	CHECK(store_open(&st, "", err, sizeof err) == STORE_E_INVALID && st == NULL, "store-7.8 empty path refused");
	CHECK(store_open(NULL, "x.db", err, sizeof err) == STORE_E_INVALID, "store-7.9 NULL out refused");
	CHECK(store_open(&st, NULL, NULL, 0) == STORE_E_INVALID && st == NULL, "store-7.10 NULL path and err tolerated");
}

/* test_files: the pieces an upload arrives in (uneven on purpose: a chunk
 * of one byte, spans that start and end inside chunks). */
static const size_t file_pieces[] = { 1000, 70000, 1, 600000 };
#define FILE_BYTES (1000 + 70000 + 1 + 600000)

/* store_file_export's sink: append to a buffer, counting pieces and the largest. */
struct export_sink {
	unsigned char *buf;
	size_t len, cap, pieces, largest;
};

static int export_put(void *arg, const void *p, size_t n)
{
	struct export_sink *k = arg;

	if (n > k->cap - k->len)
		return 9;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->pieces++;
	k->largest = n > k->largest ? n : k->largest;
	return 0;
}

/* 1 when reading [off, off + len) of file id gives want's bytes there. */
static int read_equal(struct store *st, int64_t id, const unsigned char *want, uint64_t off, size_t len)
{
	static unsigned char back[FILE_BYTES];

	memset(back, 0xee, len);
	return store_file_read(st, id, off, back, len) == STORE_OK && memcmp(back, want + off, len) == 0;
}

/* A file written in pieces and completed, as the file service does; its id or -1. */
static int64_t file_put(struct store *st, int64_t room, const char *name, const unsigned char *data,
                        const size_t *pieces, size_t npieces)
{
	uint64_t size = 0, off = 0;
	int64_t id;

	for (size_t i = 0; i < npieces; i++)
		size += pieces[i];
	if (store_file_create(st, room, name, "sip:alice@example.org", size, &id) != STORE_OK)
		return -1;
	for (size_t i = 0; i < npieces; off += pieces[i], i++) {
		if (store_file_write(st, id, off, data + off, pieces[i]) != STORE_OK)
			return -1;
	}
	return store_file_complete(st, id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") == STORE_OK
	       ? id : -1;
}

static void test_files(struct store *st)
{
	static unsigned char data[FILE_BYTES], back[FILE_BYTES];
	static const struct { uint64_t off; size_t len; const char *what; } spans[] = {
		{ 0, 1000, "the first chunk exactly" },
		{ 10, 20, "inside the first chunk" },
		{ 990, 20, "across the end of the first chunk" },
		{ 500, 71000, "from inside the first chunk to inside the last, over the 1-byte one" },
		{ 71000, 1, "the 1-byte chunk alone" },
		{ 70999, 3, "the 1-byte chunk and one byte either side" },
		{ 71001 + 12345, 300000, "inside the last chunk" },
		{ FILE_BYTES - 7, 7, "up to the exact end" },
		{ 0, FILE_BYTES, "the whole file" },
	};
	struct export_sink k = { back, 0, sizeof back, 0, 0 };
	struct store_file f;
	char sql[256];
	int64_t room, id, id0, pending;
	int all = 1, count = -1;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	CHECK(sqlite3_exec(st->db, "INSERT INTO rooms (guid, name, category_id, created_us) VALUES"
	                   " ('6f1c2d3e-0001-4a5b-8c7d-0000000000f1', 'Files', 1, 0)", NULL, NULL, NULL) == SQLITE_OK,
	      "store-10.1 a room for files");
	room = sqlite3_last_insert_rowid(st->db);
	id = file_put(st, room, "uneven.bin", data, file_pieces, 4);
	CHECK(id > 0, "store-10.2 a file written in pieces of 1000, 70000, 1 and 600000 bytes, completed");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM file_chunks WHERE file_id = %lld", (long long)id);
	CHECK(query_int(st->db, sql) == 4 &&
	      query_int(st->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'file_data'") == 0,
	      "store-10.3 completing keeps its four chunks as they are (no file_data table, no copy)");
	for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
		if (!read_equal(st, id, data, spans[i].off, spans[i].len)) {
			printf("#   span %llu+%zu (%s) differs\n", (unsigned long long)spans[i].off, spans[i].len, spans[i].what);
			all = 0;
		}
	}
	CHECK(all, "store-10.4 spans inside, across and at the ends of chunks read back equal");
	for (uint64_t off = 0; off < FILE_BYTES; off += 524288)
		all &= read_equal(st, id, data, off, FILE_BYTES - off < 524288 ? FILE_BYTES - off : 524288);
	CHECK(all, "store-10.5 read 512 KiB at a time, as a download does, equal");
	CHECK(store_file_read(st, id, FILE_BYTES - 7, back, 8) == STORE_E_INVALID &&
	      store_file_read(st, id, FILE_BYTES, back, 1) == STORE_E_INVALID &&
	      store_file_read(st, id, UINT64_MAX, back, 1) == STORE_E_INVALID &&
	      store_file_read(st, id, 1, back, SIZE_MAX) == STORE_E_INVALID &&
	      store_file_read(st, id, FILE_BYTES, back, 0) == STORE_OK,
	      "store-10.6 a span past the end is refused (STORE_E_INVALID); an empty one is nothing to do");
	CHECK(store_file_read(st, id + 1000, 0, back, 1) == STORE_E_NOTFOUND, "store-10.7 no such file: STORE_E_NOTFOUND");
	CHECK(store_file_export(st, id, export_put, &k) == STORE_OK && k.len == FILE_BYTES && !memcmp(back, data, FILE_BYTES) &&
	      k.largest <= 65536 && k.pieces >= FILE_BYTES / 65536,
	      "store-10.8 export hands the whole file over in order, in pieces of at most 64 KiB");

	CHECK(store_file_create(st, room, "pending.bin", "sip:alice@example.org", 10, &pending) == STORE_OK &&
	      store_file_write(st, pending, 0, data, 4) == STORE_OK &&
	      store_file_read(st, pending, 0, back, 4) == STORE_E_NOTFOUND &&
	      store_file_export(st, pending, export_put, &k) == STORE_E_NOTFOUND,
	      "store-10.9 an upload in progress is not readable, though its chunk is stored");
	CHECK(sqlite3_exec(st->db, "PRAGMA foreign_keys = OFF; INSERT INTO file_chunks (file_id, offset, data)"
	                   " VALUES (999999, 0, x'00'); PRAGMA foreign_keys = ON", NULL, NULL, NULL) == SQLITE_OK &&
	      store_file_purge_incomplete(st, &count) == STORE_OK && count == 1,
	      "store-10.10 start-up's purge deletes the upload in progress");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM file_chunks WHERE file_id != %lld", (long long)id);
	CHECK(query_int(st->db, sql) == 0 && read_equal(st, id, data, 0, FILE_BYTES),
	      "store-10.11 ... and stray chunks, but keeps every chunk of the complete file: it reads back equal");

	snprintf(sql, sizeof sql, "UPDATE files SET deleted = 1 WHERE id = %lld", (long long)id);
	CHECK(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK && store_file_get(st, id, &f) == STORE_E_NOTFOUND &&
	      read_equal(st, id, data, 1000, 2000),
	      "store-10.12 a file marked deleted (kept for the compliance export) still reads");

	id0 = file_put(st, room, "empty.bin", data, NULL, 0);
	k.len = k.pieces = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM file_chunks WHERE file_id = %lld", (long long)id0);
	CHECK(id0 > 0 && query_int(st->db, sql) == 0 && store_file_read(st, id0, 0, back, 0) == STORE_OK &&
	      store_file_read(st, id0, 0, back, 1) == STORE_E_INVALID &&
	      store_file_export(st, id0, export_put, &k) == STORE_OK && k.len == 0 && k.pieces == 0,
	      "store-10.13 a 0-byte file: no chunk, reads nothing, exports nothing");

	/* A store edited by hand: the 1-byte chunk gone leaves a gap. */
	snprintf(sql, sizeof sql, "DELETE FROM file_chunks WHERE file_id = %lld AND offset = 71000", (long long)id);
	memset(back, 0, sizeof back);
	CHECK(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK && sqlite3_changes(st->db) == 1 &&
	      store_file_read(st, id, 70999, back, 3) == STORE_E_IO && store_file_read(st, id, 71000, back, 1) == STORE_E_IO &&
	      store_file_read(st, id, 0, back, FILE_BYTES) == STORE_E_IO,
	      "store-10.14 a gap in the chunks (made by SQL): a read over it is STORE_E_IO, not bytes");
	k.len = 0;
	CHECK(store_file_export(st, id, export_put, &k) == STORE_E_IO && k.len == 71000,
	      "store-10.15 ... an export stops at the gap with STORE_E_IO");
	CHECK(read_equal(st, id, data, 0, 71000) && read_equal(st, id, data, 71001, FILE_BYTES - 71001),
	      "store-10.16 ... spans beside the gap still read equal");
	snprintf(sql, sizeof sql, "UPDATE file_chunks SET data = substr(data, 1, 599999) WHERE file_id = %lld"
	         " AND offset = 71001", (long long)id);
	CHECK(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	      store_file_read(st, id, FILE_BYTES - 1, back, 1) == STORE_E_IO &&
	      store_file_read(st, id, FILE_BYTES - 10, back, 10) == STORE_E_IO,
	      "store-10.17 a last chunk cut short: reading its missing end is STORE_E_IO");
	snprintf(sql, sizeof sql, "DELETE FROM file_chunks WHERE file_id = %lld AND offset = 0", (long long)id);
	CHECK(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK && store_file_read(st, id, 0, back, 1) == STORE_E_IO &&
	      store_file_read(st, id, 999, back, 1) == STORE_E_IO,
	      "store-10.18 the first chunk gone: reading the file's start is STORE_E_IO");

	CHECK(store_file_del(st, id) == STORE_OK && store_file_read(st, id, 2000, back, 1) == STORE_E_NOTFOUND &&
	      query_int(st->db, "SELECT count(*) FROM file_chunks") == 0,
	      "store-10.19 deleting the file deletes its chunks (ON DELETE CASCADE)");
	id = file_put(st, room, "in-room.bin", data, file_pieces, 4);
	snprintf(sql, sizeof sql, "DELETE FROM rooms WHERE id = %lld", (long long)room);
	CHECK(id > 0 && query_int(st->db, "SELECT count(*) FROM file_chunks") == 4 &&
	      sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK && sqlite3_changes(st->db) == 1 &&
	      query_int(st->db, "SELECT count(*) FROM files") == 0 && query_int(st->db, "SELECT count(*) FROM file_chunks") == 0,
	      "store-10.20 deleting a room deletes its files and their chunks (cascade through files)");
}

static void test_strerror(void)
{
	static const int codes[] = { STORE_OK, STORE_E_IO, STORE_E_NOTFOUND, STORE_E_EXISTS, STORE_E_BUSY,
	                             STORE_E_FULL, STORE_E_VERSION, STORE_E_INVALID, STORE_E_INUSE, STORE_E_OLD };
	int good = 1;

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		const char *s = store_strerror(codes[i]);

		good &= s != NULL && s[0] != '\0' && strchr(s, '\n') == NULL && strcmp(s, "unknown error") != 0;
		for (size_t j = 0; j < i; j++)
			good &= strcmp(s, store_strerror(codes[j])) != 0;
	}
	CHECK(good, "store-8.1 every code has its own one-line text");
	CHECK(strcmp(store_strerror(42), "unknown error") == 0 && strcmp(store_strerror(-99), "unknown error") == 0,
	      "store-8.2 unknown codes");
}

int main(void)
{
	struct store *st = NULL;
	char db_path[512], err[512] = "";

	if (test_dir_make(dir) < 0)
		return 1;
	path_in_dir(db_path, sizeof db_path, "p.db");
	test_open_and_schema(db_path);
	if (store_open(&st, db_path, err, sizeof err) == STORE_OK) {
		test_users(st);
		test_each(st);
		test_transactions(st, db_path);
		test_files(st);
		store_close(st);
	} else {
		CHECK(0, "store-2.0 reopen for the user tests");
		printf("#   error was: %s\n", err);
	}
	test_reopen(db_path);
	test_bad_files();
	test_strerror();
	remove_dir();
	return check_done("store");
}
