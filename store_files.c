/*
 * store_files.c - files posted in rooms (schema migration 4): one row in
 * files per upload with its metadata, and its bytes as a BLOB in file_data
 * (same id; a separate table because an UPDATE of the metadata would
 * otherwise rewrite, and so read into memory, the whole file).  store.h
 * holds the contract of every function.
 *
 * The bytes never pass through memory whole, and an upload takes disk only
 * as its body arrives.  Its row is created when the size is announced
 * (complete = 0) with no bytes; each piece received is appended as a row of
 * file_chunks (migration 6) in the caller's transaction.  Completing it
 * checks the pieces add up to the size, copies them in order into a
 * zeroblob(size) in file_data with SQLite's incremental blob I/O
 * (sqlite3_blob_write), drops the chunks and sets the SHA-256 and
 * complete = 1.  Reads go through blob handles too (sqlite3_blob_read).  A
 * blob handle is opened and closed within one call, never kept across
 * calls: an open handle is a statement in progress, and the server commits
 * its pass transaction between pieces.
 *
 * Rows with complete = 0 are uploads in progress, or left by a crash (the
 * server deletes those, chunks and all, at start-up); every lookup and
 * listing skips them.

 * Rows with deleted = 1 (migration 5) were deleted by an administrator
 * while their FILEUPLOAD compliance event still waited for export: hidden
 * from get, latest and each (so no new download token names them), their
 * bytes kept for the exporter, which finds them with store_file_find and
 * deletes them when it finishes the batch holding that event
 * (store_batch_finish in store_compliance.c).
 *
 * Statements are prepared per call: file operations are rare next to chat
 * traffic (a few per transfer; the bytes go through blob handles, not
 * statements), and so this file needs nothing in struct store.  Static
 * names carry an sf_ prefix so a test may #include this file beside store.c
 * and store_chat.c.
 */
#include "store_internal.h"

#include <stdio.h>

/* The column order sf_row reads. */
#define FILE_COLUMNS "id, room_id, name, uploader, size, sha256, created_us, complete, deleted"

static int sf_prepare(struct store *st, const char *sql, sqlite3_stmt **s, const char *op)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	if (rc != SQLITE_OK) {
		*s = NULL;
		return store_fail(st, op, rc);
	}
	return STORE_OK;
}

/* Copy the current row (FILE_COLUMNS order) into f; a row edited by hand that
 * would not fit f is STORE_E_IO, never truncated. */
static int sf_row(sqlite3_stmt *s, struct store_file *f)
{
	const unsigned char *name = sqlite3_column_text(s, 2), *uploader = sqlite3_column_text(s, 3);
	const unsigned char *sha = sqlite3_column_text(s, 5);
	int nl = sqlite3_column_bytes(s, 2), ul = sqlite3_column_bytes(s, 3), hl = sqlite3_column_bytes(s, 5);
	sqlite3_int64 size = sqlite3_column_int64(s, 4);

	if (name == NULL || uploader == NULL || nl <= 0 || nl >= STORE_FILE_NAME_MAX || ul <= 0 ||
	    ul >= STORE_URI_MAX || size < 0 || (sha != NULL && hl != 64)) {
		log_error("event=store-error op=read-file reason=\"malformed files row\"");
		return STORE_E_IO;
	}
	memset(f, 0, sizeof *f);
	f->id = sqlite3_column_int64(s, 0);
	f->room_id = sqlite3_column_int64(s, 1);
	memcpy(f->name, name, (size_t)nl);
	memcpy(f->uploader, uploader, (size_t)ul);
	f->size = (uint64_t)size;
	if (sha != NULL)
		memcpy(f->sha256, sha, 64);
	f->created_us = sqlite3_column_int64(s, 6);
	f->complete = sqlite3_column_int(s, 7) != 0;
	f->deleted = sqlite3_column_int(s, 8) != 0;
	return STORE_OK;
}

/* A name worth storing: non-empty and shorter than STORE_FILE_NAME_MAX (the
 * file service checks the characters). */
static int sf_name_ok(const char *name)
{
	size_t n = name ? strnlen(name, STORE_FILE_NAME_MAX) : 0;

	return n > 0 && n < STORE_FILE_NAME_MAX;
}

/* Delete file id's row (its bytes go with it: ON DELETE CASCADE). */
static int sf_delete_row(struct store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, "DELETE FROM files WHERE id = ?1", &s, "file-del")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, "file-del", rc);
	else if (sqlite3_changes(st->db) == 0)
		ret = STORE_E_NOTFOUND;
	sqlite3_finalize(s);
	return ret;
}

int store_file_create(struct store *st, int64_t room_id, const char *name, const char *uploader, uint64_t size,
                      int64_t *id_out)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL || !sf_name_ok(name) || !uri_ok(uploader) || id_out == NULL ||
	    size > (uint64_t)sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, -1))
		return STORE_E_INVALID;
	/* The size is only announced: no bytes are set aside for it. */
	if ((ret = sf_prepare(st, "INSERT INTO files (room_id, name, uploader, size, created_us, complete)"
	                          " VALUES (?1, ?2, ?3, ?4, ?5, 0)", &s, "file-create")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	sqlite3_bind_text(s, 2, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_text(s, 3, uploader, (int)strlen(uploader), SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 5, wall_us());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return STORE_E_NOTFOUND;        /* no such room */
	if (rc != SQLITE_DONE)
		return store_fail(st, "file-create", rc);
	*id_out = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/* The announced size of incomplete file id. */
static int sf_pending_size(struct store *st, int64_t id, uint64_t *size, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, "SELECT size FROM files WHERE id = ?1 AND complete = 0", &s, op)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(s, 0);
	else
		ret = rc == SQLITE_DONE ? STORE_E_NOTFOUND : store_fail(st, op, rc);
	sqlite3_finalize(s);
	return ret;
}

/* Open the data of file id (complete ones have it; completing writes it). */
static int sf_blob_open(struct store *st, int64_t id, int writing, sqlite3_blob **b, const char *op)
{
	int rc = sqlite3_blob_open(st->db, "main", "file_data", "data", id, writing, b);

	if (rc == SQLITE_OK)
		return STORE_OK;
	*b = NULL;
	/* SQLITE_ERROR is what a missing row gives (deleted meanwhile). */
	if (rc == SQLITE_ERROR)
		return STORE_E_NOTFOUND;
	return store_fail(st, op, rc);
}

/* Bounds shared by completion and read: the piece must lie inside the blob. */
static int sf_span_ok(sqlite3_blob *b, uint64_t offset, size_t len)
{
	uint64_t size = (uint64_t)sqlite3_blob_bytes(b);

	return len <= (size_t)INT32_MAX && offset <= size && len <= size - offset;
}

/* Where file id's pieces end: the next piece must start there, so the
 * pieces are contiguous (the primary key index answers it). */
static int sf_chunks_end(struct store *st, int64_t id, uint64_t *end)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	*end = 0;
	if ((ret = sf_prepare(st, "SELECT offset + length(data) FROM file_chunks WHERE file_id = ?1"
	                          " ORDER BY offset DESC LIMIT 1", &s, "file-write")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*end = (uint64_t)sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, "file-write", rc);
	sqlite3_finalize(s);
	return ret;
}

int store_file_write(struct store *st, int64_t id, uint64_t offset, const void *p, size_t len)
{
	sqlite3_stmt *s = NULL;
	uint64_t size, end;
	int rc, ret;

	if (st == NULL || (p == NULL && len > 0) || len > (size_t)INT32_MAX)
		return STORE_E_INVALID;
	if (len == 0)
		return STORE_OK;
	if ((ret = sf_pending_size(st, id, &size, "file-write")) != STORE_OK ||
	    (ret = sf_chunks_end(st, id, &end)) != STORE_OK)
		return ret;
	if (offset != end || offset > size || len > size - offset)
		return STORE_E_INVALID;
	if ((ret = sf_prepare(st, "INSERT INTO file_chunks (file_id, offset, data) VALUES (?1, ?2, ?3)", &s,
	                      "file-write")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)offset);
	sqlite3_bind_blob(s, 3, p, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, "file-write", rc);
}

int store_file_read(struct store *st, int64_t id, uint64_t offset, void *p, size_t len)
{
	sqlite3_blob *b = NULL;
	int rc, ret;

	if (st == NULL || (p == NULL && len > 0))
		return STORE_E_INVALID;
	if (len == 0)
		return STORE_OK;
	if ((ret = sf_blob_open(st, id, 0, &b, "file-read")) != STORE_OK)
		return ret;
	if (!sf_span_ok(b, offset, len))
		ret = STORE_E_INVALID;
	else if ((rc = sqlite3_blob_read(b, p, (int)len, (int)offset)) != SQLITE_OK)
		ret = rc == SQLITE_ABORT ? STORE_E_NOTFOUND : store_fail(st, "file-read", rc);
	sqlite3_blob_close(b);
	return ret;
}

/* Total bytes in file id's chunks. */
static int sf_chunk_bytes(struct store *st, int64_t id, uint64_t *bytes)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, "SELECT coalesce(sum(length(data)), 0) FROM file_chunks WHERE file_id = ?1", &s,
	                      "file-complete")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "file-complete", rc);
	sqlite3_finalize(s);
	return ret;
}

/* Run one statement bound to id as ?1 (if it has parameters) and, when
 * size >= 0, size as ?2. */
static int sf_exec_id(struct store *st, const char *sql, int64_t id, sqlite3_int64 size, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, sql, &s, op)) != STORE_OK)
		return ret;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, id);
	if (size >= 0)
		sqlite3_bind_int64(s, 2, size);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, op, rc);
}

/* Copy file id's chunks in order into its file_data blob (of their total size). */
static int sf_chunks_to_data(struct store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	sqlite3_blob *b = NULL;
	int rc, ret;

	if ((ret = sf_blob_open(st, id, 1, &b, "file-complete")) != STORE_OK)
		return ret;
	if ((ret = sf_prepare(st, "SELECT offset, data FROM file_chunks WHERE file_id = ?1 ORDER BY offset", &s,
	                      "file-complete")) != STORE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 off = sqlite3_column_int64(s, 0);
		const void *p = sqlite3_column_blob(s, 1);
		int n = sqlite3_column_bytes(s, 1);

		if (n == 0)
			continue;
		if (p == NULL || off < 0 || !sf_span_ok(b, (uint64_t)off, (size_t)n)) {
			ret = STORE_E_INVALID;
			goto out;
		}
		if ((rc = sqlite3_blob_write(b, p, n, (int)off)) != SQLITE_OK) {
			ret = store_fail(st, "file-complete", rc);
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(st, "file-complete", rc);
out:
	sqlite3_finalize(s);
	sqlite3_blob_close(b);
	return ret;
}

int store_file_complete(struct store *st, int64_t id, const char *sha256_hex)
{
	sqlite3_stmt *s = NULL;
	uint64_t size = 0, got = 0;
	int rc, ret;

	if (st == NULL || sha256_hex == NULL || strnlen(sha256_hex, 65) != 64)
		return STORE_E_INVALID;
	if ((ret = sf_pending_size(st, id, &size, "file-complete")) != STORE_OK ||
	    (ret = sf_chunk_bytes(st, id, &got)) != STORE_OK)
		return ret;
	if (got != size)
		return STORE_E_INVALID;
	/* The pieces are contiguous from 0 (store_file_write) and add up to
	 * the size, so they cover it exactly. */
	if ((ret = sf_exec_id(st, "INSERT INTO file_data (file_id, data) VALUES (?1, zeroblob(?2))", id,
	                      (sqlite3_int64)size, "file-complete")) != STORE_OK ||
	    (ret = sf_chunks_to_data(st, id)) != STORE_OK ||
	    (ret = sf_exec_id(st, "DELETE FROM file_chunks WHERE file_id = ?1", id, -1, "file-complete")) != STORE_OK)
		return ret;
	if ((ret = sf_prepare(st, "UPDATE files SET sha256 = ?2, complete = 1 WHERE id = ?1 AND complete = 0", &s,
	                      "file-complete")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, sha256_hex, 64, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, "file-complete", rc);
	else if (sqlite3_changes(st->db) == 0)
		ret = STORE_E_NOTFOUND;
	sqlite3_finalize(s);
	return ret;
}

/* Run a query expected to give at most one file row, bound to id as ?1, or
 * (when name is not NULL) to room_id and name as ?1 and ?2. */
static int sf_get_one(struct store *st, const char *sql, int64_t id, int64_t room_id, const char *name,
                      struct store_file *out, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, sql, &s, op)) != STORE_OK)
		return ret;
	if (name != NULL) {
		sqlite3_bind_int64(s, 1, room_id);
		sqlite3_bind_text(s, 2, name, (int)strlen(name), SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(s, 1, id);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = sf_row(s, out);
	else if (rc == SQLITE_DONE)
		ret = STORE_E_NOTFOUND;
	else
		ret = store_fail(st, op, rc);
	sqlite3_finalize(s);
	return ret;
}

int store_file_get(struct store *st, int64_t id, struct store_file *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return sf_get_one(st, "SELECT " FILE_COLUMNS " FROM files WHERE id = ?1 AND complete = 1 AND deleted = 0", id, 0,
	                  NULL, out, "file-get");
}

int store_file_find(struct store *st, int64_t id, struct store_file *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return sf_get_one(st, "SELECT " FILE_COLUMNS " FROM files WHERE id = ?1 AND complete = 1", id, 0, NULL, out,
	                  "file-find");
}

int store_file_latest(struct store *st, int64_t room_id, const char *name, struct store_file *out)
{
	if (st == NULL || out == NULL || !sf_name_ok(name))
		return STORE_E_INVALID;
	return sf_get_one(st, "SELECT " FILE_COLUMNS " FROM files WHERE room_id = ?1 AND name = ?2 AND complete = 1"
	                      " AND deleted = 0 ORDER BY id DESC LIMIT 1", 0, room_id, name, out, "file-latest");
}

int store_file_each(struct store *st, int64_t room_id, int (*fn)(void *arg, const struct store_file *f), void *arg)
{
	struct store_file f;
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if ((ret = sf_prepare(st, "SELECT " FILE_COLUMNS " FROM files WHERE room_id = ?1 AND complete = 1 AND deleted = 0"
	                          " ORDER BY id",
	                      &s, "file-each")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ret = sf_row(s, &f)) != STORE_OK || (ret = fn(arg, &f)) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? STORE_OK : store_fail(st, "file-each", rc);
out:
	sqlite3_finalize(s);
	return ret;
}

int store_file_export(struct store *st, int64_t id, int (*fn)(void *arg, const void *p, size_t len), void *arg)
{
	unsigned char chunk[65536];
	sqlite3_blob *b = NULL;
	uint64_t size, off = 0;
	int rc, ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	/* One handle for the whole file: it reads one snapshot even while a
	 * server writes to the store. */
	if ((ret = sf_blob_open(st, id, 0, &b, "file-export")) != STORE_OK)
		return ret;
	size = (uint64_t)sqlite3_blob_bytes(b);
	while (off < size) {
		size_t n = size - off < sizeof chunk ? (size_t)(size - off) : sizeof chunk;

		if ((rc = sqlite3_blob_read(b, chunk, (int)n, (int)off)) != SQLITE_OK) {
			ret = store_fail(st, "file-export", rc);
			break;
		}
		if ((ret = fn(arg, chunk, n)) != 0)
			break;
		off += n;
	}
	sqlite3_blob_close(b);
	return ret;
}

int store_file_del(struct store *st, int64_t id)
{
	if (st == NULL)
		return STORE_E_INVALID;
	return sf_delete_row(st, id);
}

int store_file_retire(struct store *st, int64_t id, int *kept)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (kept != NULL)
		*kept = 0;
	if (st == NULL)
		return STORE_E_INVALID;
	/* The condition is the one store_batch_finish purges by, so a file is
	 * kept exactly as long as an event that the exporter will attach names
	 * it (the partial index compliance_events_file answers it). */
	if ((ret = sf_prepare(st, "UPDATE files SET deleted = 1 WHERE id = ?1 AND EXISTS (SELECT 1 FROM compliance_events"
	                          " WHERE type = 'FILEUPLOAD' AND message_id = ?1)", &s, "file-retire")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "file-retire", rc);
	if (sqlite3_changes(st->db) > 0) {
		if (kept != NULL)
			*kept = 1;
		return STORE_OK;
	}
	return sf_delete_row(st, id);
}

int store_room_files_pending(struct store *st, int64_t room_id, int64_t *count)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL || count == NULL)
		return STORE_E_INVALID;
	*count = 0;
	if ((ret = sf_prepare(st, "SELECT count(*) FROM files f WHERE f.room_id = ?1 AND EXISTS (SELECT 1 FROM"
	                          " compliance_events WHERE type = 'FILEUPLOAD' AND message_id = f.id)", &s,
	                      "room-files-pending")) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "room-files-pending", rc);
	sqlite3_finalize(s);
	return ret;
}

int store_file_purge_incomplete(struct store *st, int *count)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if ((ret = sf_prepare(st, "DELETE FROM files WHERE complete = 0", &s, "file-purge")) != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, "file-purge", rc);
	else if (count != NULL)
		*count = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	/* With no upload left in progress no piece may remain, whatever a tool
	 * run without foreign keys left behind. */
	if (ret == STORE_OK)
		ret = sf_exec_id(st, "DELETE FROM file_chunks", 0, -1, "file-purge");
	return ret;
}

/* The sum of the sizes one query gives, bound to text or id as ?1. */
static int sf_sum(struct store *st, const char *sql, const char *text, int64_t id, uint64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, sql, &s, "file-usage")) != STORE_OK)
		return ret;
	if (text != NULL)
		sqlite3_bind_text(s, 1, text, (int)strlen(text), SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "file-usage", rc);
	sqlite3_finalize(s);
	return ret;
}

int store_file_usage(struct store *st, const char *uploader, int64_t room_id, uint64_t *user_bytes,
                     uint64_t *room_bytes)
{
	int ret = STORE_OK;

	if (st == NULL || user_bytes == NULL || room_bytes == NULL)
		return STORE_E_INVALID;
	*user_bytes = *room_bytes = 0;
	if (uploader != NULL)
		ret = sf_sum(st, "SELECT coalesce(sum(size), 0) FROM files WHERE uploader = ?1 AND deleted = 0", uploader, 0,
		             user_bytes);
	if (ret == STORE_OK && room_id > 0)
		ret = sf_sum(st, "SELECT coalesce(sum(size), 0) FROM files WHERE room_id = ?1 AND deleted = 0", NULL, room_id,
		             room_bytes);
	return ret;
}
