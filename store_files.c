/*
 * store_files.c - files posted in rooms (schema migration 4): one row in
 * files per upload with its metadata, and its bytes as rows of file_chunks
 * (migration 6; since migration 8 the only layout): (file_id, offset, data),
 * contiguous from offset 0 and summing to files.size, in a table of their
 * own because an UPDATE of the metadata would otherwise rewrite, and so
 * read into memory, the whole file.  store.h holds the contract of every
 * function.
 *
 * The bytes never pass through memory whole, and an upload takes disk only
 * as its body arrives.  Its row is created when the size is announced
 * (complete = 0) with no bytes; each piece received is appended as a chunk
 * in the caller's transaction.  Completing it checks the pieces add up to
 * the size and sets the SHA-256 and complete = 1: the chunks stay as they
 * are.  A read finds the chunks that overlap its span through the primary
 * key, so its cost is that of the span, not of its offset (one big blob,
 * until migration 8, was read by walking its overflow pages from the
 * start: a whole download cost the square of the file's size).  Each read
 * and each export is one statement, so one snapshot of the store.
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
 * traffic (one per piece of a transfer, each moving up to a chunk's worth
 * of bytes), and so this file needs nothing in struct store.  Static
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

/* Delete file id's row (its chunks go with it: ON DELETE CASCADE, and every
 * connection store_open makes has foreign keys on). */
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

/* The file's size (complete files only, deleted ones too: the compliance
 * exporter reads those) in column 0, then the chunks overlapping
 * [?2, ?2 + ?3) in order, each as offset and data; a file with no such
 * chunk gives one row with NULLs after the size.  The first chunk is the
 * one holding byte ?2 (the greatest offset <= ?2); both lookups go by the
 * primary key (file_id, offset), so their cost does not grow with ?2. */
#define SF_SPAN_SQL                                                                                     \
	"SELECT f.size, c.offset, c.data FROM files f LEFT JOIN file_chunks c ON c.file_id = ?1"        \
	" AND c.offset >= coalesce((SELECT offset FROM file_chunks WHERE file_id = ?1 AND offset <= ?2" \
	" ORDER BY offset DESC LIMIT 1), 0) AND c.offset < ?2 + ?3 WHERE f.id = ?1 AND f.complete = 1"  \
	" ORDER BY c.offset"

/* Hand the bytes [offset, offset + len) of complete file id to put in
 * order, all from one statement (so one snapshot); len < 0: to the end of
 * the file.  STORE_E_NOTFOUND without such a file, STORE_E_INVALID for a
 * span past its end, STORE_E_IO when its chunks leave a gap in the span (a
 * store edited by hand: the bytes missing must be an error, never whatever
 * the caller's buffer held); put returning non-zero stops and is returned. */
static int sf_span_each(struct store *st, int64_t id, uint64_t offset, int64_t len,
                        int (*put)(void *arg, const unsigned char *p, size_t n), void *arg, const char *op)
{
	sqlite3_stmt *s = NULL;
	uint64_t pos = offset, end = 0;
	int rc, ret, first = 1;

	if ((ret = sf_prepare(st, SF_SPAN_SQL, &s, op)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)offset);
	sqlite3_bind_int64(s, 3, len < 0 ? INT64_MAX - (sqlite3_int64)offset : len);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *data;
		sqlite3_int64 at;
		uint64_t bytes, skip, take;

		if (first) {
			sqlite3_int64 size = sqlite3_column_int64(s, 0);

			first = 0;
			end = len < 0 ? (uint64_t)size : offset + (uint64_t)len;
			if (size < 0 || end > (uint64_t)size) {
				ret = size < 0 ? STORE_E_IO : STORE_E_INVALID;
				goto out;
			}
		}
		if (sqlite3_column_type(s, 1) == SQLITE_NULL || pos == end)
			continue;
		at = sqlite3_column_int64(s, 1);
		data = sqlite3_column_blob(s, 2);
		bytes = (uint64_t)sqlite3_column_bytes(s, 2);
		if (at < 0 || (uint64_t)at > pos || (data == NULL && bytes > 0))
			break;              /* a gap before this chunk */
		/* A chunk wholly before pos (only an edit by hand overlaps them) adds nothing. */
		if ((skip = pos - (uint64_t)at) >= bytes)
			continue;
		take = bytes - skip < end - pos ? bytes - skip : end - pos;
		if ((ret = put(arg, data + skip, (size_t)take)) != 0)
			goto out;
		pos += take;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = store_fail(st, op, rc);
	} else if (first) {
		ret = STORE_E_NOTFOUND;
	} else if (pos != end) {
		log_error("event=store-error op=%s file=%lld reason=\"its chunks leave a gap at byte %llu\"", op,
		          (long long)id, (unsigned long long)pos);
		ret = STORE_E_IO;
	}
out:
	sqlite3_finalize(s);
	return ret;
}

/* store_file_read's put: copy into the caller's buffer. */
static int sf_put_copy(void *arg, const unsigned char *p, size_t n)
{
	unsigned char **next = arg;

	memcpy(*next, p, n);
	*next += n;
	return 0;
}

int store_file_read(struct store *st, int64_t id, uint64_t offset, void *p, size_t len)
{
	unsigned char *next = p;

	if (st == NULL || (p == NULL && len > 0))
		return STORE_E_INVALID;
	if (len == 0)
		return STORE_OK;
	/* Past any size a file can have (SQLite's integers are signed). */
	if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
		return STORE_E_INVALID;
	return sf_span_each(st, id, offset, (int64_t)len, sf_put_copy, &next, "file-read");
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
	 * the size, so they cover it exactly: they are the file's bytes. */
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

/* store_file_export's put: the caller's fn, in pieces of at most 64 KiB. */
struct sf_export {
	int (*fn)(void *arg, const void *p, size_t len);
	void *arg;
};

static int sf_put_export(void *arg, const unsigned char *p, size_t n)
{
	struct sf_export *e = arg;
	int ret;

	for (size_t done = 0; done < n; done += 65536) {
		if ((ret = e->fn(e->arg, p + done, n - done < 65536 ? n - done : 65536)) != 0)
			return ret;
	}
	return 0;
}

int store_file_export(struct store *st, int64_t id, int (*fn)(void *arg, const void *p, size_t len), void *arg)
{
	struct sf_export e = { fn, arg };

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	/* One statement over every chunk: one snapshot of the file even while
	 * a server writes to the store. */
	return sf_span_each(st, id, 0, -1, sf_put_export, &e, "file-export");
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

/* Run one statement without parameters. */
static int sf_exec(struct store *st, const char *sql, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = sf_prepare(st, sql, &s, op)) != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, op, rc);
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
	/* With no upload left in progress only complete files' chunks may
	 * remain: not a piece a tool run without foreign keys left behind. */
	if (ret == STORE_OK)
		ret = sf_exec(st, "DELETE FROM file_chunks WHERE file_id NOT IN (SELECT id FROM files WHERE complete = 1)",
		              "file-purge");
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
