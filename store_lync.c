/*
 * store_lync.c - the part of the store that Lync-protocol clients need
 * beyond sipe (schema migration 7): category GUIDs and the root category's,
 * invitation ids, the client's attributes of a post, history queries in the
 * UCMA ChatHistoryQueryOptions forms, and per-user preference blobs.
 * store.h holds the contract of every function.
 *
 * These run once per command, not per message, so each statement is
 * prepared when used and finalized at once (nothing is cached in struct
 * store).  Static names carry an sl_ prefix: the unit tests #include every
 * store file into one program.
 */
#include "base.h"
#include "store_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Prepare sql into *out; STORE_OK or a logged error. */
static int sl_prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	return rc == SQLITE_OK ? STORE_OK : store_fail(st, "prepare-lync", rc);
}

static void sl_bind_text(sqlite3_stmt *s, int idx, const char *p, size_t n)
{
	sqlite3_bind_text(s, idx, p, (int)n, SQLITE_STATIC);
}

/* Step a one-row statement: STORE_OK with the row current, STORE_E_NOTFOUND,
 * or a logged error. */
static int sl_row(struct store *st, sqlite3_stmt *s, const char *op)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_E_NOTFOUND;
	return store_fail(st, op, rc);
}

/* A GUID column into out[STORE_GUID_LEN + 1]; STORE_E_IO if malformed. */
static int sl_guid_col(sqlite3_stmt *s, int col, char *out)
{
	const unsigned char *p = sqlite3_column_text(s, col);

	if (p == NULL || sqlite3_column_bytes(s, col) != STORE_GUID_LEN) {
		log_error("event=store-error op=read-guid reason=\"malformed row\"");
		return STORE_E_IO;
	}
	memcpy(out, p, STORE_GUID_LEN + 1);
	return STORE_OK;
}

/* ---- Category GUIDs ------------------------------------------------------- */

static int sl_guid_of(struct store *st, const char *sql, int64_t id, char *out)
{
	sqlite3_stmt *s = NULL;
	int ret = sl_prepare(st, sql, &s);

	out[0] = '\0';
	if (ret == STORE_OK) {
		sqlite3_bind_int64(s, 1, id);
		ret = sl_row(st, s, "category-guid");
		if (ret == STORE_OK)
			ret = sl_guid_col(s, 0, out);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_category_guid(struct store *st, int64_t category_id, char *out)
{
	return sl_guid_of(st, "SELECT guid FROM categories WHERE id = ?1", category_id, out);
}

int store_root_category_guid(struct store *st, char *out)
{
	return sl_guid_of(st, "SELECT value FROM store_meta WHERE name = 'root_category_guid' AND ?1 = ?1", 0, out);
}

/* ---- Invitations by id ------------------------------------------------------ */

int store_invite_since(struct store *st, const char *uri, int64_t after_id,
                       int (*fn)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us,
                                 int64_t invite_id),
                       void *arg)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if (!uri_ok(uri) || fn == NULL)
		return STORE_E_INVALID;
	/* The room by id, through the one room reader (store_room_get_id),
	 * after the rows are read: the callback may re-enter the store. */
	ret = sl_prepare(st, "SELECT room_id, inviter, created_us, invite_id FROM invitations"
	                     " WHERE uri = ?1 AND invite_id > ?2 ORDER BY invite_id", &s);
	if (ret != STORE_OK)
		return ret;
	sl_bind_text(s, 1, uri, strlen(uri));
	sqlite3_bind_int64(s, 2, after_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_room r;
		char inviter[STORE_URI_MAX];
		const unsigned char *iv = sqlite3_column_text(s, 1);
		int n = sqlite3_column_bytes(s, 1);

		if (iv == NULL || n < 0 || (size_t)n >= sizeof inviter) {
			ret = STORE_E_IO;
			break;
		}
		memcpy(inviter, iv, (size_t)n + 1);
		if ((ret = store_room_get_id(st, sqlite3_column_int64(s, 0), &r)) != STORE_OK)
			break;
		if ((ret = fn(arg, &r, inviter, sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3))) != 0)
			break;
	}
	if (ret == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_fail(st, "invite-since", rc);
	sqlite3_finalize(s);
	return ret;
}

/* ---- Post attributes --------------------------------------------------------- */

int store_message_set_attrs(struct store *st, int64_t id, const char *attrs, size_t attrs_len)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if (attrs == NULL || attrs_len > INT_MAX)
		return STORE_E_INVALID;
	if ((ret = sl_prepare(st, "UPDATE messages SET attrs = ?2 WHERE id = ?1", &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sl_bind_text(s, 2, attrs, attrs_len);
	rc = sqlite3_step(s);
	ret = rc == SQLITE_DONE ? (sqlite3_changes(st->db) ? STORE_OK : STORE_E_NOTFOUND) : store_fail(st, "msg-attrs", rc);
	sqlite3_finalize(s);
	return ret;
}

/* ---- History queries ------------------------------------------------------------ */

/* The words of text (split on ASCII space), as [start, len] pairs. */
struct sl_words {
	const char *p[STORE_QUERY_WORDS_MAX];
	size_t n[STORE_QUERY_WORDS_MAX];
	size_t count;
};

static int sl_split(const char *text, struct sl_words *w)
{
	w->count = 0;
	for (const char *t = text; *t;) {
		size_t len = 0;

		while (*t == ' ')
			t++;
		while (t[len] && t[len] != ' ')
			len++;
		if (len == 0)
			break;
		if (w->count == STORE_QUERY_WORDS_MAX)
			return -1;
		w->p[w->count] = t;
		w->n[w->count++] = len;
		t += len;
	}
	return 0;
}

int store_message_query(struct store *st, const struct store_history_query *q,
                        int (*fn)(void *arg, const struct store_message *m), void *arg)
{
	char sql[2048];
	struct sl_words words = { .count = 0 };
	sqlite3_stmt *s = NULL;
	size_t len;
	int ret, rc, idx, exact_text;
	const char *fold_l, *fold_r;

	if (q == NULL || fn == NULL || q->n_authors > STORE_QUERY_AUTHORS_MAX)
		return STORE_E_INVALID;
	fold_l = q->match_case ? "" : "lower(";
	fold_r = q->match_case ? "" : ")";
	if (q->limit <= 0)
		return STORE_OK;
	for (size_t i = 0; i < q->n_authors; i++)
		if (!uri_ok(q->authors[i]))
			return STORE_E_INVALID;
	exact_text = q->text && q->text[0] && q->exact;
	if (q->text && !q->exact && sl_split(q->text, &words) < 0)
		return STORE_E_INVALID;
	/* Built from fixed pieces only; every value is a bound parameter:
	 * ?1 room, ?2 start id or from, ?3 to, ?4 limit, then authors, then words. */
	len = (size_t)snprintf(sql, sizeof sql, "SELECT m.id, m.room_id, m.author, m.ts_us, m.text, m.extra, m.attrs"
	                       " FROM messages m WHERE m.room_id = ?1");
	if (q->start_id > 0)
		len += (size_t)snprintf(sql + len, sizeof sql - len, q->newest_first ? " AND m.id < ?2" : " AND m.id > ?2");
	else
		len += (size_t)snprintf(sql + len, sizeof sql - len, " AND (?2 = 0 OR m.ts_us >= ?2) AND (?3 = 0 OR m.ts_us <= ?3)");
	if (q->n_authors) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, " AND m.author IN (");
		for (size_t i = 0; i < q->n_authors; i++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?%zu", i ? ", " : "", 5 + i);
		len += (size_t)snprintf(sql + len, sizeof sql - len, ")");
	}
	for (size_t i = 0; i < (exact_text ? 1 : words.count); i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, " AND instr(%sm.text%s, %s?%zu%s) > 0", fold_l, fold_r,
		                        fold_l, 5 + q->n_authors + i, fold_r);
	len += (size_t)snprintf(sql + len, sizeof sql - len, " ORDER BY m.id %s LIMIT ?4", q->newest_first ? "DESC" : "ASC");
	if (len >= sizeof sql)
		return STORE_E_INVALID;
	if ((ret = sl_prepare(st, sql, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, q->room_id);
	sqlite3_bind_int64(s, 2, q->start_id > 0 ? q->start_id : q->from_us);
	sqlite3_bind_int64(s, 3, q->to_us);
	sqlite3_bind_int(s, 4, q->limit);
	idx = 5;
	for (size_t i = 0; i < q->n_authors; i++, idx++)
		sl_bind_text(s, idx, q->authors[i], strlen(q->authors[i]));
	if (exact_text)
		sl_bind_text(s, idx, q->text, strlen(q->text));
	else
		for (size_t i = 0; i < words.count; i++, idx++)
			sl_bind_text(s, idx, words.p[i], words.n[i]);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_message m;

		m.id = sqlite3_column_int64(s, 0);
		m.room_id = sqlite3_column_int64(s, 1);
		m.author = (const char *)sqlite3_column_text(s, 2);
		m.ts_us = sqlite3_column_int64(s, 3);
		m.text = (const char *)sqlite3_column_text(s, 4);
		m.text_len = (size_t)sqlite3_column_bytes(s, 4);
		m.extra = (const char *)sqlite3_column_text(s, 5);
		m.extra_len = (size_t)sqlite3_column_bytes(s, 5);
		m.attrs = (const char *)sqlite3_column_text(s, 6);
		m.attrs_len = (size_t)sqlite3_column_bytes(s, 6);
		if (m.author == NULL || m.text == NULL || m.extra == NULL || m.attrs == NULL) {
			ret = STORE_E_IO;
			break;
		}
		if ((ret = fn(arg, &m)) != 0)
			break;
	}
	if (ret == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_fail(st, "msg-query", rc);
	sqlite3_finalize(s);
	return ret;
}

/* ---- Preferences -------------------------------------------------------------------- */

static int sl_label_ok(const char *uri, const char *label)
{
	size_t n = label ? strnlen(label, STORE_PREF_LABEL_MAX) : 0;

	return uri_ok(uri) && n > 0 && n < STORE_PREF_LABEL_MAX;
}

int store_pref_get(struct store *st, const char *uri, const char *label, int64_t *seqid, char *content,
                   size_t cap)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if (!sl_label_ok(uri, label) || cap == 0)
		return STORE_E_INVALID;
	content[0] = '\0';
	if ((ret = sl_prepare(st, "SELECT seqid, content FROM prefs WHERE uri = ?1 AND label = ?2", &s)) != STORE_OK)
		return ret;
	sl_bind_text(s, 1, uri, strlen(uri));
	sl_bind_text(s, 2, label, strlen(label));
	ret = sl_row(st, s, "pref-get");
	if (ret == STORE_OK) {
		const unsigned char *p = sqlite3_column_text(s, 1);
		int n = sqlite3_column_bytes(s, 1);

		*seqid = sqlite3_column_int64(s, 0);
		if (p == NULL || n < 0 || (size_t)n >= cap)
			ret = STORE_E_IO;
		else
			memcpy(content, p, (size_t)n + 1);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_pref_set(struct store *st, const char *uri, const char *label, int64_t seqid, const char *content,
                   size_t len, int64_t *new_seqid)
{
	sqlite3_stmt *s = NULL;
	int64_t stored = 0;
	int ret, rc;

	if (!sl_label_ok(uri, label) || content == NULL || len > INT_MAX)
		return STORE_E_INVALID;
	/* Read and write in the caller's transaction, so nothing comes between. */
	if ((ret = sl_prepare(st, "SELECT seqid FROM prefs WHERE uri = ?1 AND label = ?2", &s)) != STORE_OK)
		return ret;
	sl_bind_text(s, 1, uri, strlen(uri));
	sl_bind_text(s, 2, label, strlen(label));
	ret = sl_row(st, s, "pref-seqid");
	if (ret == STORE_OK)
		stored = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (ret != STORE_OK && ret != STORE_E_NOTFOUND)
		return ret;
	if (ret == STORE_OK && stored != seqid) {
		*new_seqid = stored;
		return STORE_E_EXISTS;
	}
	if ((ret = sl_prepare(st, "INSERT INTO prefs (uri, label, seqid, content, updated_us) VALUES (?1, ?2, ?3, ?4, ?5)"
	                          " ON CONFLICT (uri, label) DO UPDATE SET seqid = excluded.seqid,"
	                          " content = excluded.content, updated_us = excluded.updated_us", &s)) != STORE_OK)
		return ret;
	sl_bind_text(s, 1, uri, strlen(uri));
	sl_bind_text(s, 2, label, strlen(label));
	sqlite3_bind_int64(s, 3, stored + 1);
	sl_bind_text(s, 4, content, len);
	sqlite3_bind_int64(s, 5, wall_us());
	rc = sqlite3_step(s);
	ret = rc == SQLITE_DONE ? STORE_OK : store_fail(st, "pref-set", rc);
	sqlite3_finalize(s);
	if (ret == STORE_OK)
		*new_seqid = stored + 1;
	return ret;
}

int store_pref_count(struct store *st, const char *uri, int64_t *count)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if (!uri_ok(uri))
		return STORE_E_INVALID;
	if ((ret = sl_prepare(st, "SELECT count(*) FROM prefs WHERE uri = ?1", &s)) != STORE_OK)
		return ret;
	sl_bind_text(s, 1, uri, strlen(uri));
	ret = sl_row(st, s, "pref-count");
	if (ret == STORE_OK)
		*count = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return ret;
}
