/*
 * store_compliance.c - the store's half of the compliance export (schema
 * migration 3): planning a batch, reading its events from one snapshot, and
 * finishing it (hash recorded, events deleted, and the files an
 * administrator deleted meanwhile purged once no waiting FILEUPLOAD event
 * names them: migration 5) in one transaction.  The
 * contracts are in store.h; compliance.c is the only caller.
 *
 * Why a planned-batch row rather than a lock: the row fixes the batch's
 * seq range, format, domain and previous hash before any file is written,
 * under SQLite's write lock (BEGIN IMMEDIATE).  Everything the exporter
 * writes is a pure function of that row and the events in its range, and
 * those events cannot change until the row is finished (new events get
 * higher seqs; only store_batch_finish deletes).  So an exporter that
 * crashed, or a second exporter running at the same time, rewrites the
 * same file name with the same bytes, and only one of them can finish the
 * row.  No lock is held while files are written, no lock can be left
 * behind by a crash, and the chat server's writes never wait for an fsync.
 *
 * Statements here run a few times per batch, so they are prepared per call
 * rather than cached in struct store.
 */
#include "store_internal.h"

#include <stdio.h>

#define BATCH_COLUMNS "number, first_seq, last_seq, events, format, domain, prev_sha256, " \
	"coalesce(sha256, ''), planned_us, coalesce(exported_us, 0)"

static const char zero_sha256[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* Prepare sql; on failure log and return the mapped error. */
static int prep(struct store *st, const char *sql, sqlite3_stmt **s, const char *op)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? STORE_OK : store_fail(st, op, rc);
}

/* Copy text column col into dst (size bytes); -1 if NULL or too long. */
static int col_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	int n = sqlite3_column_bytes(s, col);

	if (p == NULL || n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, p, (size_t)n);
	dst[n] = '\0';
	return 0;
}

/* BATCH_COLUMNS order. */
static int row_to_batch(sqlite3_stmt *s, struct store_batch *b)
{
	memset(b, 0, sizeof *b);
	b->number = sqlite3_column_int64(s, 0);
	b->first_seq = sqlite3_column_int64(s, 1);
	b->last_seq = sqlite3_column_int64(s, 2);
	b->events = sqlite3_column_int64(s, 3);
	if (col_text(s, 4, b->format, sizeof b->format) != 0 || col_text(s, 5, b->domain, sizeof b->domain) != 0 ||
	    col_text(s, 6, b->prev_sha256, sizeof b->prev_sha256) != 0 ||
	    col_text(s, 7, b->sha256, sizeof b->sha256) != 0) {
		log_error("event=store-error op=read-batch reason=\"malformed compliance_batches row\"");
		return STORE_E_IO;
	}
	b->planned_us = sqlite3_column_int64(s, 8);
	b->exported_us = sqlite3_column_int64(s, 9);
	return STORE_OK;
}

/* Run a one-row batch query (with ?1 bound to arg when the SQL names it). */
static int batch_query(struct store *st, const char *sql, int64_t arg, struct store_batch *out, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = prep(st, sql, &s, op)) != STORE_OK)
		return ret;
	if (sqlite3_bind_parameter_count(s) > 0)
		sqlite3_bind_int64(s, 1, arg);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = row_to_batch(s, out);
	else if (rc == SQLITE_DONE)
		ret = STORE_E_NOTFOUND;
	else
		ret = store_fail(st, op, rc);
	sqlite3_finalize(s);
	return ret;
}

int store_batch_get(struct store *st, int64_t number, struct store_batch *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return batch_query(st, "SELECT " BATCH_COLUMNS " FROM compliance_batches WHERE number = ?1", number, out,
	                   "batch-get");
}

int store_batch_last(struct store *st, struct store_batch *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return batch_query(st, "SELECT " BATCH_COLUMNS " FROM compliance_batches WHERE sha256 IS NOT NULL"
	                   " ORDER BY number DESC LIMIT 1", 0, out, "batch-last");
}

static int batch_planned(struct store *st, struct store_batch *out)
{
	return batch_query(st, "SELECT " BATCH_COLUMNS " FROM compliance_batches WHERE sha256 IS NULL", 0, out,
	                   "batch-planned");
}

/* Choose the range of a new batch after after_seq: count events and bytes
 * until either cap.  A FILEUPLOAD event counts its file's size too, because
 * the exporter writes the file beside the batch: that keeps one export (one
 * pass of the server's loop) bounded.  Fills first/last/events;
 * STORE_E_NOTFOUND when none. */
static int batch_range(struct store *st, int64_t after_seq, int64_t max_events, int64_t max_bytes,
                       struct store_batch *b)
{
	sqlite3_stmt *s = NULL;
	int64_t bytes = 0;
	int rc, ret;

	ret = prep(st, "SELECT seq, coalesce(length(CAST(content AS BLOB)), 0) + length(CAST(user_uri AS BLOB))"
	               " + coalesce(length(CAST(room_name AS BLOB)), 0) + CASE WHEN type = 'FILEUPLOAD' THEN"
	               " coalesce((SELECT size FROM files WHERE files.id = message_id), 0) ELSE 0 END"
	               " FROM compliance_events WHERE seq > ?1 ORDER BY seq LIMIT ?2", &s, "batch-range");
	if (ret != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, after_seq);
	sqlite3_bind_int64(s, 2, max_events);
	b->events = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(s, 1);

		if (b->events > 0 && bytes + n > max_bytes)
			break;
		if (b->events == 0)
			b->first_seq = sqlite3_column_int64(s, 0);
		b->last_seq = sqlite3_column_int64(s, 0);
		b->events++;
		bytes += n;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "batch-range", rc);
	else if (b->events == 0)
		ret = STORE_E_NOTFOUND;
	sqlite3_finalize(s);
	return ret;
}

static int batch_insert(struct store *st, const struct store_batch *b)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	ret = prep(st, "INSERT INTO compliance_batches (number, first_seq, last_seq, events, format, domain,"
	               " prev_sha256, planned_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &s, "batch-plan");
	if (ret != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, b->number);
	sqlite3_bind_int64(s, 2, b->first_seq);
	sqlite3_bind_int64(s, 3, b->last_seq);
	sqlite3_bind_int64(s, 4, b->events);
	sqlite3_bind_text(s, 5, b->format, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, b->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, b->prev_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, b->planned_us);
	rc = sqlite3_step(s);
	ret = rc == SQLITE_DONE ? STORE_OK : store_fail(st, "batch-plan", rc);
	sqlite3_finalize(s);
	return ret;
}

int store_batch_plan(struct store *st, int64_t max_events, int64_t max_bytes, const char *format,
                     const char *domain, struct store_batch *out)
{
	struct store_batch last;
	int ret;

	if (st == NULL || out == NULL || format == NULL || domain == NULL || max_events <= 0 || max_bytes <= 0 ||
	    strlen(format) >= sizeof out->format || strlen(domain) >= sizeof out->domain)
		return STORE_E_INVALID;
	/* Most runs find nothing to do: look without taking the write lock. */
	if ((ret = batch_planned(st, out)) != STORE_E_NOTFOUND)
		return ret;
	if ((ret = store_begin(st)) != STORE_OK)
		return ret;
	/* Under the write lock: another exporter may have planned one meanwhile. */
	if ((ret = batch_planned(st, out)) != STORE_E_NOTFOUND)
		goto out;
	memset(out, 0, sizeof *out);
	ret = store_batch_last(st, &last);
	if (ret == STORE_E_NOTFOUND) {
		memset(&last, 0, sizeof last);
		memcpy(last.sha256, zero_sha256, sizeof zero_sha256);
	} else if (ret != STORE_OK) {
		goto out;
	}
	if ((ret = batch_range(st, last.last_seq, max_events, max_bytes, out)) != STORE_OK)
		goto out;
	out->number = last.number + 1;
	snprintf(out->format, sizeof out->format, "%s", format);
	snprintf(out->domain, sizeof out->domain, "%s", domain);
	memcpy(out->prev_sha256, last.sha256, sizeof out->prev_sha256);
	out->planned_us = wall_us();
	if ((ret = batch_insert(st, out)) != STORE_OK)
		goto out;
	return store_commit(st);
out:
	store_rollback(st);
	return ret;
}

/* sqlite3_exec for BEGIN/COMMIT of the read snapshot; logs failures. */
static int exec_sql(struct store *st, const char *sql, const char *op)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? STORE_OK : store_fail(st, op, rc);
}

int store_batch_events(struct store *st, const struct store_batch *b,
                       int (*fn)(void *arg, const struct store_event *e), void *arg)
{
	struct store_batch now;
	struct store_event e;
	sqlite3_stmt *s = NULL;
	int64_t seen = 0;
	int rc, ret;

	if (st == NULL || b == NULL || fn == NULL)
		return STORE_E_INVALID;
	if (st->in_tx) {
		log_error("event=store-error op=batch-events reason=\"called inside a transaction\"");
		return STORE_E_IO;
	}
	/* One read transaction: the planned check and the rows come from the
	 * same WAL snapshot, so a concurrent finish cannot cut the batch short.
	 * Inside the caller's snapshot (store_read_begin) that one is used. */
	if (!st->in_read && (ret = exec_sql(st, "BEGIN", "batch-events")) != STORE_OK)
		return ret;
	ret = batch_planned(st, &now);
	if (ret == STORE_OK && (now.number != b->number || now.first_seq != b->first_seq || now.last_seq != b->last_seq))
		ret = STORE_E_NOTFOUND;
	if (ret != STORE_OK)
		goto out;
	ret = prep(st, "SELECT seq, type, room_guid, room_name, user_uri, ts_us, message_id, content"
	               " FROM compliance_events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq", &s, "batch-events");
	if (ret != STORE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, b->first_seq);
	sqlite3_bind_int64(s, 2, b->last_seq);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(s, 1), *user = (const char *)sqlite3_column_text(s, 4);

		e.seq = sqlite3_column_int64(s, 0);
		e.type = type ? type : "";
		e.room_guid = (const char *)sqlite3_column_text(s, 2);
		e.room_name = (const char *)sqlite3_column_text(s, 3);
		e.user_uri = user ? user : "";
		e.ts_us = sqlite3_column_int64(s, 5);
		e.message_id = sqlite3_column_int64(s, 6);
		e.content = (const char *)sqlite3_column_text(s, 7);
		e.content_len = e.content ? (size_t)sqlite3_column_bytes(s, 7) : 0;
		seen++;
		if ((ret = fn(arg, &e)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, "batch-events", rc);
	} else if (seen != b->events) {
		log_error("event=store-error op=batch-events batch=%lld reason=\"planned %lld events, found %lld\"",
		          (long long)b->number, (long long)b->events, (long long)seen);
		ret = STORE_E_IO;
	}
out:
	sqlite3_finalize(s);
	if (!st->in_read)
		exec_sql(st, "COMMIT", "batch-events");    /* a read: nothing to lose */
	return ret;
}

int store_read_begin(struct store *st)
{
	int ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if (st->in_tx || st->in_read) {
		log_error("event=store-error op=read-begin reason=\"already in a transaction\"");
		return STORE_E_IO;
	}
	if ((ret = exec_sql(st, "BEGIN", "read-begin")) == STORE_OK)
		st->in_read = 1;
	return ret;
}

void store_read_end(struct store *st)
{
	if (st == NULL || !st->in_read)
		return;
	exec_sql(st, "COMMIT", "read-end");         /* a read: nothing to lose */
	st->in_read = 0;
}

/* Files deleted while their upload waited for export: the batch that held
 * the event is durable now, so their bytes may go (their file_chunks go
 * with the row: ON DELETE CASCADE; the exporter's connection, made by
 * store_open, has foreign keys on).  Same condition as store_file_retire's,
 * in the same transaction as the events' delete. */
static int purge_exported_files(struct store *st, const struct store_batch *b)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	ret = prep(st, "DELETE FROM files WHERE deleted = 1 AND NOT EXISTS (SELECT 1 FROM compliance_events e"
	               " WHERE e.type = 'FILEUPLOAD' AND e.message_id = files.id)", &s, "batch-finish");
	if (ret != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "batch-finish", rc);
	if (sqlite3_changes(st->db) > 0)
		log_info("event=files-purged batch=%lld count=%d reason=\"deleted files whose upload is now exported\"",
		         (long long)b->number, sqlite3_changes(st->db));
	return STORE_OK;
}

/* Run one statement with up to two integer parameters; STORE_OK or an error. */
static int exec_ints(struct store *st, const char *sql, int64_t a, int64_t b, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = prep(st, sql, &s, op)) != STORE_OK)
		return ret;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, op, rc);
}

int store_batch_adopt(struct store *st, const struct store_batch *b, const char *sha256, int64_t written_us,
                      int64_t *had)
{
	struct store_batch adopted;
	sqlite3_stmt *s = NULL;
	int64_t newest = 0;
	int rc, ret;

	if (st == NULL || b == NULL || sha256 == NULL || had == NULL || strlen(sha256) != STORE_SHA256_HEX - 1)
		return STORE_E_INVALID;
	if ((ret = store_begin(st)) != STORE_OK)
		return ret;
	/* Under the write lock: another exporter may have recorded it (or a
	 * later one) since the caller looked. */
	ret = prep(st, "SELECT coalesce(max(number), 0) FROM compliance_batches WHERE sha256 IS NOT NULL", &s, "batch-adopt");
	if (ret != STORE_OK)
		goto out;
	rc = sqlite3_step(s);
	newest = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	s = NULL;
	if (newest != b->number - 1) {
		ret = rc == SQLITE_ROW ? STORE_E_NOTFOUND : store_fail(st, "batch-adopt", rc);
		goto out;
	}
	ret = prep(st, "SELECT count(*), coalesce(max(ts_us), 0) FROM compliance_events WHERE seq BETWEEN ?1 AND ?2", &s,
	           "batch-adopt");
	if (ret != STORE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, b->first_seq);
	sqlite3_bind_int64(s, 2, b->last_seq);
	rc = sqlite3_step(s);
	*had = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	newest = rc == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_ROW) {
		ret = store_fail(st, "batch-adopt", rc);
		goto out;
	}
	/* More events than the archived batch holds, or one recorded after its
	 * file was written: this store went on from the backup on its own. */
	if (*had > b->events || newest > written_us) {
		ret = STORE_E_EXISTS;
		goto out;
	}
	if ((ret = exec_ints(st, "DELETE FROM compliance_batches WHERE sha256 IS NULL", 0, 0, "batch-adopt")) != STORE_OK)
		goto out;
	/* Recorded as a plan that is at once finished with the archive's hash. */
	adopted = *b;
	adopted.planned_us = written_us;
	if ((ret = batch_insert(st, &adopted)) != STORE_OK)
		goto out;
	ret = prep(st, "UPDATE compliance_batches SET sha256 = ?2, exported_us = ?3 WHERE number = ?1", &s, "batch-adopt");
	if (ret != STORE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, b->number);
	sqlite3_bind_text(s, 2, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, written_us);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, "batch-adopt", rc);
		goto out;
	}
	/* The events go as on a finished export, and new ones are numbered
	 * after the archived range, never inside it. */
	if ((ret = exec_ints(st, "DELETE FROM compliance_events WHERE seq BETWEEN ?1 AND ?2", b->first_seq, b->last_seq,
	                     "batch-adopt")) != STORE_OK ||
	    (ret = exec_ints(st, "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'compliance_events' AND seq < ?1",
	                     b->last_seq, 0, "batch-adopt")) != STORE_OK ||
	    (ret = exec_ints(st, "INSERT INTO sqlite_sequence (name, seq) SELECT 'compliance_events', ?1 WHERE NOT EXISTS"
	                         " (SELECT 1 FROM sqlite_sequence WHERE name = 'compliance_events')", b->last_seq, 0,
	                     "batch-adopt")) != STORE_OK ||
	    (ret = purge_exported_files(st, b)) != STORE_OK)
		goto out;
	return store_commit(st);
out:
	store_rollback(st);
	return ret;
}

int store_batch_finish(struct store *st, const struct store_batch *b, const char *sha256)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL || b == NULL || sha256 == NULL || strlen(sha256) != STORE_SHA256_HEX - 1)
		return STORE_E_INVALID;
	if (!st->in_tx) {
		log_error("event=store-error op=batch-finish reason=\"no transaction\"");
		return STORE_E_IO;
	}
	ret = prep(st, "UPDATE compliance_batches SET sha256 = ?2, exported_us = ?3"
	               " WHERE number = ?1 AND sha256 IS NULL", &s, "batch-finish");
	if (ret != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, b->number);
	sqlite3_bind_text(s, 2, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, wall_us());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_DONE)
		return store_fail(st, "batch-finish", rc);
	if (sqlite3_changes(st->db) == 0)
		return STORE_E_NOTFOUND;
	ret = prep(st, "DELETE FROM compliance_events WHERE seq BETWEEN ?1 AND ?2", &s, "batch-finish");
	if (ret != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, b->first_seq);
	sqlite3_bind_int64(s, 2, b->last_seq);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "batch-finish", rc);
	if (sqlite3_changes(st->db) != b->events) {
		/* Only a hand-edited file gets here; refuse rather than record a lie. */
		log_error("event=store-error op=batch-finish batch=%lld reason=\"deleted %d events, planned %lld\"",
		          (long long)b->number, sqlite3_changes(st->db), (long long)b->events);
		return STORE_E_IO;
	}
	return purge_exported_files(st, b);
}

int64_t store_event_count(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int64_t n = -1;
	int rc;

	if (st == NULL)
		return STORE_E_INVALID;
	if (prep(st, "SELECT count(*) FROM compliance_events", &s, "event-count") != STORE_OK)
		return STORE_E_IO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	else
		n = store_fail(st, "event-count", rc);
	sqlite3_finalize(s);
	return n;
}

int store_event_backlog(struct store *st, int64_t *count, int64_t *oldest_ts_us)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if (st == NULL || count == NULL || oldest_ts_us == NULL)
		return STORE_E_INVALID;
	if ((ret = prep(st, "SELECT count(*), coalesce(min(ts_us), 0) FROM compliance_events", &s, "event-backlog")) != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(s, 0);
		*oldest_ts_us = sqlite3_column_int64(s, 1);
		ret = STORE_OK;
	} else {
		ret = store_fail(st, "event-backlog", rc);
	}
	sqlite3_finalize(s);
	return ret;
}
