/*
 * store_rules.c - the store's part of the Lync rules (issue 16): whether a
 * room has members of its own (else it takes its category's allowed list),
 * the ids of posts not kept (a category with history off), and an
 * administrator's removal of messages (Remove-CsPersistentChatMessage,
 * Clear-CsPersistentChatRoom).  store.h holds the contracts.
 *
 * These run rarely or cheaply, so their statements are prepared per call
 * rather than cached in struct store.  Removal never touches the compliance
 * events: what was posted stays there until it is exported.
 */
#include "store_internal.h"

/* Prepare sql; STORE_OK or a logged error. */
static int lync_prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	if (rc != SQLITE_OK) {
		*out = NULL;
		return store_fail(st, "prepare", rc);
	}
	return STORE_OK;
}

int store_room_has_members(struct store *st, int64_t room_id)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if ((ret = lync_prepare(st, "SELECT 1 FROM room_roles WHERE room_id = ?1 AND (roles & 1) != 0 LIMIT 1",
	                        &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	rc = sqlite3_step(s);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_fail(st, "room-has-members", rc);
	sqlite3_finalize(s);
	return ret;
}

/* The messages table is AUTOINCREMENT: its next id is one past
 * sqlite_sequence's, which SQLite lets a program move (it never hands out
 * an id at or below it again). */
int store_message_skip_id(struct store *st, int64_t *id_out)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st == NULL || id_out == NULL)
		return STORE_E_INVALID;
	if ((ret = lync_prepare(st, "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'messages' RETURNING seq",
	                        &s)) != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id_out = sqlite3_column_int64(s, 0);
	ret = rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_E_NOTFOUND : store_fail(st, "message-skip-id", rc);
	/* Step to the end so the UPDATE is complete before the statement goes. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_fail(st, "message-skip-id", rc);
	sqlite3_finalize(s);
	if (ret != STORE_E_NOTFOUND)
		return ret;
	/* No message was ever stored: the sequence has no row yet. */
	if ((ret = lync_prepare(st, "INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', 1)", &s)) != STORE_OK)
		return ret;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "message-skip-id", rc);
	*id_out = 1;
	return STORE_OK;
}

int store_message_get(struct store *st, int64_t id, int (*fn)(void *arg, const struct store_message *m), void *arg)
{
	sqlite3_stmt *s;
	struct store_message m;
	int rc, ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if ((ret = lync_prepare(st, "SELECT id, room_id, author, ts_us, text, extra FROM messages WHERE id = ?1",
	                        &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		m.id = sqlite3_column_int64(s, 0);
		m.room_id = sqlite3_column_int64(s, 1);
		m.author = (const char *)sqlite3_column_text(s, 2);
		m.ts_us = sqlite3_column_int64(s, 3);
		m.text = (const char *)sqlite3_column_text(s, 4);
		m.text_len = (size_t)sqlite3_column_bytes(s, 4);
		m.extra = (const char *)sqlite3_column_text(s, 5);
		m.extra_len = (size_t)sqlite3_column_bytes(s, 5);
		if (m.author == NULL || m.text == NULL || m.extra == NULL)
			ret = STORE_E_IO;
		else
			ret = fn(arg, &m);
	} else {
		ret = rc == SQLITE_DONE ? STORE_E_NOTFOUND : store_fail(st, "message-get", rc);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_message_remove(struct store *st, int64_t id, const char *replace)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st == NULL || (replace != NULL && strnlen(replace, STORE_TEXT_MAX) >= STORE_TEXT_MAX))
		return STORE_E_INVALID;
	ret = lync_prepare(st, replace ? "UPDATE messages SET text = ?2, extra = '' WHERE id = ?1"
	                               : "DELETE FROM messages WHERE id = ?1", &s);
	if (ret != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	if (replace)
		sqlite3_bind_text(s, 2, replace, (int)strlen(replace), SQLITE_STATIC);
	rc = sqlite3_step(s);
	ret = rc != SQLITE_DONE ? store_fail(st, "message-remove", rc)
	      : sqlite3_changes(st->db) == 0 ? STORE_E_NOTFOUND : STORE_OK;
	sqlite3_finalize(s);
	return ret;
}

int store_room_clear_before(struct store *st, int64_t room_id, int64_t before_us, int64_t *count,
                            int64_t *first_id, int64_t *last_id)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st == NULL || count == NULL || first_id == NULL || last_id == NULL)
		return STORE_E_INVALID;
	*count = *first_id = *last_id = 0;
	if ((ret = lync_prepare(st, "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM messages"
	                            " WHERE room_id = ?1 AND ts_us < ?2", &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	sqlite3_bind_int64(s, 2, before_us);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*count = sqlite3_column_int64(s, 0);
		*first_id = sqlite3_column_int64(s, 1);
		*last_id = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "room-clear", rc);
	if (*count == 0)
		return STORE_OK;
	if ((ret = lync_prepare(st, "DELETE FROM messages WHERE room_id = ?1 AND ts_us < ?2", &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	sqlite3_bind_int64(s, 2, before_us);
	rc = sqlite3_step(s);
	ret = rc == SQLITE_DONE ? STORE_OK : store_fail(st, "room-clear", rc);
	sqlite3_finalize(s);
	return ret;
}
