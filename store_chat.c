/*
 * store_chat.c - the chat half of the store (schema migration 2): categories
 * and their principal lists, rooms, room roles, messages with their FTS5
 * index, invitations, follows and compliance events.  store.h holds the
 * contract of every function; store.c owns the connection, the migrations
 * and the users.
 *
 * Statements are prepared on first use and cached in struct store until
 * store_close.  A callback may re-enter the store (list rooms, then look up
 * each one's roles); when it needs a statement that is still in the middle
 * of the caller's iteration, stmt_get prepares a private copy rather than
 * reset the caller's.
 *
 * Every string that ends up in a fixed array is checked on write (too long:
 * STORE_E_INVALID, never truncated) and again on read (a row edited by hand
 * that would not fit is STORE_E_IO), so no row can overrun a struct.
 */
#include "base.h"
#include "compliance_types.h"
#include "store_internal.h"

#include <limits.h>
#include <stdlib.h>

/* Column lists, in the order row_to_category, row_to_room, row_to_message
 * and emit_event read them.  Rooms are always aliased r, messages m. */
#define CAT_COLUMNS "id, name, description, file_upload, invitations, history, created_us"
#define ROOM_COLUMNS "r.id, r.guid, r.name, r.description, r.topic, r.category_id, r.privacy, " \
	"r.type, r.invitations, r.disabled, r.created_us"
#define ROOM_NCOLS 11           /* extra columns of a room query start here */
#define MSG_COLUMNS "m.id, m.room_id, m.author, m.ts_us, m.text, m.extra, m.attrs"
#define EVENT_COLUMNS "seq, type, room_guid, room_name, user_uri, ts_us, message_id, content"

static const char *const chat_sql[SC_COUNT] = {
	[SC_CAT_ADD] = "INSERT INTO categories (name, description, file_upload, invitations, history, created_us)"
	               " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SC_CAT_UPDATE] = "UPDATE categories SET name = ?1, description = ?2, file_upload = ?3, invitations = ?4,"
	                  " history = ?5 WHERE id = ?6",
	[SC_CAT_GET] = "SELECT " CAT_COLUMNS " FROM categories WHERE name = ?1 COLLATE NOCASE",
	[SC_CAT_GET_ID] = "SELECT " CAT_COLUMNS " FROM categories WHERE id = ?1",
	[SC_CAT_ROOMS] = "SELECT 1 FROM rooms WHERE category_id = ?1 LIMIT 1",
	[SC_CAT_DEL] = "DELETE FROM categories WHERE id = ?1",
	[SC_CAT_EACH] = "SELECT " CAT_COLUMNS " FROM categories ORDER BY name COLLATE NOCASE, id",
	[SC_LIST_ADD] = "INSERT INTO category_principals (category_id, list, uri) VALUES (?1, ?2, ?3)"
	                " ON CONFLICT DO NOTHING",
	[SC_LIST_DEL] = "DELETE FROM category_principals WHERE category_id = ?1 AND list = ?2 AND uri = ?3",
	[SC_LIST_HAS] = "SELECT 1 FROM category_principals WHERE category_id = ?1 AND list = ?2 AND uri = ?3",
	[SC_LIST_EACH] = "SELECT uri FROM category_principals WHERE category_id = ?1 AND list = ?2 ORDER BY uri",
	[SC_ROOM_ADD] = "INSERT INTO rooms (guid, name, description, topic, category_id, privacy, type, invitations,"
	                " disabled, created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SC_ROOM_UPDATE] = "UPDATE rooms SET guid = ?1, name = ?2, description = ?3, topic = ?4, category_id = ?5,"
	                   " privacy = ?6, type = ?7, invitations = ?8, disabled = ?9 WHERE id = ?10",
	[SC_ROOM_GET_GUID] = "SELECT " ROOM_COLUMNS " FROM rooms r WHERE r.guid = ?1",
	[SC_ROOM_GET_NAME] = "SELECT " ROOM_COLUMNS " FROM rooms r WHERE r.name = ?1",
	[SC_ROOM_GET_ID] = "SELECT " ROOM_COLUMNS " FROM rooms r WHERE r.id = ?1",
	[SC_ROOM_DEL] = "DELETE FROM rooms WHERE id = ?1",
	/* lower() and the NOCASE collation of rooms.name both fold ASCII only. */
	[SC_ROOM_EACH] = "SELECT " ROOM_COLUMNS " FROM rooms r WHERE instr(lower(r.name), lower(?1)) > 0"
	                 " ORDER BY r.name, r.id",
	[SC_ROLE_ADD] = "INSERT INTO room_roles (room_id, uri, roles) VALUES (?1, ?2, ?3)"
	                " ON CONFLICT (room_id, uri) DO UPDATE SET roles = roles | excluded.roles",
	/* role_del: drop the row when no bit would be left (roles > 0 is a CHECK), else clear the bits. */
	[SC_ROLE_DROP] = "DELETE FROM room_roles WHERE room_id = ?1 AND uri = ?2"
	                 " AND (roles & ?3) != 0 AND (roles & ~?3) = 0",
	[SC_ROLE_CLEAR] = "UPDATE room_roles SET roles = roles & ~?3 WHERE room_id = ?1 AND uri = ?2"
	                  " AND (roles & ?3) != 0",
	[SC_ROLE_GET] = "SELECT roles FROM room_roles WHERE room_id = ?1 AND uri = ?2",
	[SC_ROLE_EACH] = "SELECT uri, roles FROM room_roles WHERE room_id = ?1 ORDER BY uri",
	[SC_USER_ROOMS] = "SELECT " ROOM_COLUMNS ", rr.roles FROM room_roles rr JOIN rooms r ON r.id = rr.room_id"
	                  " WHERE rr.uri = ?1 ORDER BY r.name, r.id",
	[SC_MSG_ADD] = "INSERT INTO messages (room_id, author, ts_us, text, extra) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SC_MSG_LAST] = "SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages m WHERE m.room_id = ?1"
	                " ORDER BY m.id DESC LIMIT ?2) ORDER BY id",
	[SC_MSG_SEARCH] = "SELECT " MSG_COLUMNS " FROM messages_fts f JOIN messages m ON m.id = f.rowid"
	                  " WHERE f.messages_fts MATCH ?1 AND (?2 = 0 OR m.room_id = ?2)"
	                  " ORDER BY f.rowid DESC LIMIT ?3",
	[SC_MSG_LATEST] = "SELECT coalesce(max(id), 0) FROM messages WHERE room_id = ?1",
	[SC_INVITE_ADD] = "INSERT INTO invitations (room_id, uri, inviter, created_us) VALUES (?1, ?2, ?3, ?4)",
	[SC_INVITE_DEL] = "DELETE FROM invitations WHERE room_id = ?1 AND uri = ?2",
	[SC_INVITE_EACH] = "SELECT " ROOM_COLUMNS ", i.inviter, i.created_us FROM invitations i"
	                   " JOIN rooms r ON r.id = i.room_id WHERE i.uri = ?1 ORDER BY i.created_us, i.rowid",
	[SC_FOLLOW_ADD] = "INSERT INTO follows (uri, room_id, last_read_id) VALUES (?1, ?2,"
	                  " (SELECT coalesce(max(id), 0) FROM messages WHERE room_id = ?2)) ON CONFLICT DO NOTHING",
	[SC_FOLLOW_DEL] = "DELETE FROM follows WHERE room_id = ?1 AND uri = ?2",
	/* Read marks only move forward: a late or repeated mark cannot resurrect unread messages. */
	[SC_FOLLOW_READ] = "UPDATE follows SET last_read_id = max(last_read_id, ?3) WHERE uri = ?1 AND room_id = ?2",
	[SC_FOLLOW_EACH] = "SELECT " ROOM_COLUMNS ", (SELECT count(*) FROM messages m WHERE m.room_id = f.room_id"
	                   " AND m.id > f.last_read_id) FROM follows f JOIN rooms r ON r.id = f.room_id"
	                   " WHERE f.uri = ?1 ORDER BY r.name, r.id",
	[SC_EVENT_ADD] = "INSERT INTO compliance_events (type, room_guid, room_name, user_uri, ts_us, message_id,"
	                 " content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SC_EVENT_EACH] = "SELECT " EVENT_COLUMNS " FROM compliance_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[SC_EVENT_DELETE] = "DELETE FROM compliance_events WHERE seq <= ?1",
};

/* ---- Statements and steps ------------------------------------------------ */

/* Put the statement for id into *out: the cached one (prepared here on first
 * use), or, if that one is mid-iteration because a callback re-entered the
 * store, a private copy.  Hand it back with stmt_put. */
static int stmt_get(struct store *st, enum store_chat_stmt id, sqlite3_stmt **out)
{
	sqlite3_stmt *s = st->chat[id];
	int rc;

	*out = NULL;
	if (s != NULL && !sqlite3_stmt_busy(s)) {
		*out = s;
		return STORE_OK;
	}
	rc = sqlite3_prepare_v3(st->db, chat_sql[id], -1, s == NULL ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, "prepare", rc);
	if (s == NULL)
		st->chat[id] = *out;
	return STORE_OK;
}

/* Reset a cached statement (it then holds no locks and no bound pointers,
 * which are SQLITE_STATIC) or finalize a private copy.  Safe on NULL. */
static void stmt_put(struct store *st, enum store_chat_stmt id, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	if (s != st->chat[id]) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows.  A uniqueness conflict is
 * STORE_E_EXISTS and a foreign-key failure is fk_code (the referenced room
 * or category is missing, or still referenced); nothing else is expected,
 * so anything else is logged. */
static int exec_stmt(struct store *st, sqlite3_stmt *s, const char *op, int fk_code)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return STORE_E_EXISTS;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return fk_code;
	return store_fail(st, op, rc);
}

/* For UPDATE and DELETE by key: no row changed means there was none. */
static int changed(struct store *st, int ret)
{
	return ret == STORE_OK && sqlite3_changes(st->db) == 0 ? STORE_E_NOTFOUND : ret;
}

/* Step a statement that returns at most one row: STORE_OK with the row
 * current, STORE_E_NOTFOUND, or a logged error. */
static int row_stmt(struct store *st, sqlite3_stmt *s, const char *op)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_E_NOTFOUND;
	return store_fail(st, op, rc);
}

/* Step through every row, handing each to emit (which converts it and calls
 * the user's callback); the first non-zero result stops and is returned. */
static int each_row(struct store *st, sqlite3_stmt *s, const char *op,
                    int (*emit)(sqlite3_stmt *s, void *ctx), void *ctx)
{
	int rc, ret;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ret = emit(s, ctx)) != 0)
			return ret;
	}
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, op, rc);
}

/* Bind a NUL-terminated string the caller has already bounded; NULL binds NULL. */
static void bind_str(sqlite3_stmt *s, int idx, const char *str)
{
	if (str == NULL)
		sqlite3_bind_null(s, idx);
	else
		sqlite3_bind_text(s, idx, str, (int)strlen(str), SQLITE_STATIC);
}

/* ---- Checks and row copies ------------------------------------------------ */

/* A string that fits a char[max] array with its NUL; empty allowed or not. */
static int fits(const char *s, size_t max, int allow_empty)
{
	size_t n = s ? strnlen(s, max) : max;

	return n < max && (allow_empty || n > 0);
}

int store_room_key_form(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return STORE_KEY_NONE;
	if (len == STORE_GUID_LEN) {
		for (i = 0; i < len; i++) {
			int dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			                           (s[i] >= 'A' && s[i] <= 'F')))
				return STORE_KEY_NONE;
		}
		return STORE_KEY_GUID;
	}
	if (len == 0 || len > STORE_ROOM_NUMBER_DIGITS || s[0] == '0')
		return STORE_KEY_NONE;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return STORE_KEY_NONE;
	return STORE_KEY_NUMBER;
}

/* A room key as store_room_add writes it: a lower-case GUID, or a number. */
static int guid_ok(const char *g)
{
	size_t n = strnlen(g, STORE_GUID_LEN + 1);
	int form = store_room_key_form(g, n);

	if (form == STORE_KEY_GUID)
		for (size_t i = 0; i < n; i++)
			if (g[i] >= 'A' && g[i] <= 'F')
				return 0;
	return form != STORE_KEY_NONE;
}

/* Copy text column col into dst[size]; -1 if it is NULL or would not fit. */
static int col_copy(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	int n = sqlite3_column_bytes(s, col);

	if (p == NULL || n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, p, (size_t)n);
	dst[n] = '\0';
	return 0;
}

/* A text column as a pointer into the row; "" for NULL (valid until the next step). */
static const char *col_str(sqlite3_stmt *s, int col)
{
	const char *p = (const char *)sqlite3_column_text(s, col);

	return p ? p : "";
}

static int malformed(const char *what)
{
	log_error("event=store-error op=read-%s reason=\"malformed row\"", what);
	return STORE_E_IO;
}

/* CAT_COLUMNS order. */
static int row_to_category(sqlite3_stmt *s, struct store_category *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(s, 0);
	if (col_copy(s, 1, c->name, sizeof c->name) != 0 || c->name[0] == '\0' ||
	    col_copy(s, 2, c->description, sizeof c->description) != 0)
		return malformed("category");
	c->file_upload = sqlite3_column_int(s, 3) != 0;
	c->invitations = sqlite3_column_int(s, 4) != 0;
	c->history = sqlite3_column_int(s, 5) != 0;
	c->created_us = sqlite3_column_int64(s, 6);
	return STORE_OK;
}

/* ROOM_COLUMNS order. */
static int row_to_room(sqlite3_stmt *s, struct store_room *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, 0);
	if (col_copy(s, 1, r->guid, sizeof r->guid) != 0 || col_copy(s, 2, r->name, sizeof r->name) != 0 ||
	    col_copy(s, 3, r->description, sizeof r->description) != 0 ||
	    col_copy(s, 4, r->topic, sizeof r->topic) != 0 || r->name[0] == '\0')
		return malformed("room");
	r->category_id = sqlite3_column_int64(s, 5);
	r->privacy = sqlite3_column_int(s, 6);
	r->type = sqlite3_column_int(s, 7);
	r->invitations = sqlite3_column_int(s, 8);
	r->disabled = sqlite3_column_int(s, 9) != 0;
	r->created_us = sqlite3_column_int64(s, 10);
	return STORE_OK;
}

/* MSG_COLUMNS order; the pointers stay valid until the next step. */
static void row_to_message(sqlite3_stmt *s, struct store_message *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->room_id = sqlite3_column_int64(s, 1);
	m->author = col_str(s, 2);
	m->ts_us = sqlite3_column_int64(s, 3);
	m->text = col_str(s, 4);
	m->text_len = (size_t)sqlite3_column_bytes(s, 4);
	m->extra = col_str(s, 5);
	m->extra_len = (size_t)sqlite3_column_bytes(s, 5);
	m->attrs = col_str(s, 6);
	m->attrs_len = (size_t)sqlite3_column_bytes(s, 6);
}

/* The callbacks a query can end in, and the arg they get.  Exactly one of
 * the function pointers is set; the row adapters below pick it. */
struct cb {
	int (*category)(void *arg, const struct store_category *c);
	int (*uri)(void *arg, const char *uri);
	int (*uri_roles)(void *arg, const char *uri, int roles);
	int (*room)(void *arg, const struct store_room *r);
	int (*room_roles)(void *arg, const struct store_room *r, int roles);
	int (*invite)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us);
	int (*follow)(void *arg, const struct store_room *r, int64_t unread);
	int (*message)(void *arg, const struct store_message *m);
	int (*event)(void *arg, const struct store_event *e);
	void *arg;
};

static int emit_category(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_category c;

	return row_to_category(s, &c) != STORE_OK ? STORE_E_IO : cb->category(cb->arg, &c);
}

/* Column 0 a URI, column 1 (role_each only) the role bits. */
static int emit_uri(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	const char *uri = col_str(s, 0);

	return cb->uri ? cb->uri(cb->arg, uri) : cb->uri_roles(cb->arg, uri, sqlite3_column_int(s, 1));
}

/* A room, then the columns from ROOM_NCOLS that the callback kind adds. */
static int emit_room(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_room r;

	if (row_to_room(s, &r) != STORE_OK)
		return STORE_E_IO;
	if (cb->room)
		return cb->room(cb->arg, &r);
	if (cb->room_roles)
		return cb->room_roles(cb->arg, &r, sqlite3_column_int(s, ROOM_NCOLS));
	if (cb->invite)
		return cb->invite(cb->arg, &r, col_str(s, ROOM_NCOLS), sqlite3_column_int64(s, ROOM_NCOLS + 1));
	return cb->follow(cb->arg, &r, sqlite3_column_int64(s, ROOM_NCOLS));
}

static int emit_message(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_message m;

	row_to_message(s, &m);
	return cb->message(cb->arg, &m);
}

/* EVENT_COLUMNS order; room_guid, room_name and content may be NULL. */
static int emit_event(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_event e;

	e.seq = sqlite3_column_int64(s, 0);
	e.type = col_str(s, 1);
	e.room_guid = (const char *)sqlite3_column_text(s, 2);
	e.room_name = (const char *)sqlite3_column_text(s, 3);
	e.user_uri = col_str(s, 4);
	e.ts_us = sqlite3_column_int64(s, 5);
	e.message_id = sqlite3_column_int64(s, 6);
	e.content = (const char *)sqlite3_column_text(s, 7);
	e.content_len = e.content ? (size_t)sqlite3_column_bytes(s, 7) : 0;
	return cb->event(cb->arg, &e);
}

/* ---- Categories ----------------------------------------------------------- */

static int is_default(const char *name)
{
	return sqlite3_stricmp(name, "default") == 0;
}

static int category_ok(const struct store_category *c)
{
	return fits(c->name, sizeof c->name, 0) && fits(c->description, sizeof c->description, 1);
}

/* Bind name, description and the three flags as ?1..?5. */
static void bind_category(sqlite3_stmt *s, const struct store_category *c)
{
	bind_str(s, 1, c->name);
	bind_str(s, 2, c->description);
	sqlite3_bind_int(s, 3, c->file_upload != 0);
	sqlite3_bind_int(s, 4, c->invitations != 0);
	sqlite3_bind_int(s, 5, c->history != 0);
}

int store_category_add(struct store *st, struct store_category *c)
{
	sqlite3_stmt *s;
	int64_t now = wall_us();
	int ret;

	if (st == NULL || c == NULL || !category_ok(c))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_CAT_ADD, &s)) != STORE_OK)
		return ret;
	bind_category(s, c);
	sqlite3_bind_int64(s, 6, now);
	if ((ret = exec_stmt(st, s, "category-add", STORE_E_IO)) == STORE_OK) {
		c->id = sqlite3_last_insert_rowid(st->db);
		c->created_us = now;
	}
	stmt_put(st, SC_CAT_ADD, s);
	return ret;
}

/* One category by name (?1 text) or id (?1 integer) into *out. */
static int category_get(struct store *st, enum store_chat_stmt id, const char *name, int64_t cid,
                        struct store_category *out)
{
	sqlite3_stmt *s;
	int ret;

	if ((ret = stmt_get(st, id, &s)) != STORE_OK)
		return ret;
	if (name != NULL)
		bind_str(s, 1, name);
	else
		sqlite3_bind_int64(s, 1, cid);
	if ((ret = row_stmt(st, s, "category-get")) == STORE_OK)
		ret = row_to_category(s, out);
	stmt_put(st, id, s);
	return ret;
}

int store_category_update(struct store *st, const struct store_category *c)
{
	struct store_category old;
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || c == NULL || !category_ok(c))
		return STORE_E_INVALID;
	if ((ret = category_get(st, SC_CAT_GET_ID, NULL, c->id, &old)) != STORE_OK)
		return ret;
	/* Renaming "default" away would leave rooms without their fallback and
	 * make the undeletable category a different one. */
	if (is_default(old.name) && !is_default(c->name))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_CAT_UPDATE, &s)) != STORE_OK)
		return ret;
	bind_category(s, c);
	sqlite3_bind_int64(s, 6, c->id);
	ret = changed(st, exec_stmt(st, s, "category-update", STORE_E_IO));
	stmt_put(st, SC_CAT_UPDATE, s);
	return ret;
}

int store_category_get(struct store *st, const char *name, struct store_category *out)
{
	if (st == NULL || !fits(name, STORE_NAME_MAX, 0) || out == NULL)
		return STORE_E_INVALID;
	return category_get(st, SC_CAT_GET, name, 0, out);
}

int store_category_get_id(struct store *st, int64_t id, struct store_category *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return category_get(st, SC_CAT_GET_ID, NULL, id, out);
}

/* Deleting "default" is refused as STORE_E_INVALID: it is the one category
 * every store must have, whether or not rooms use it. */
int store_category_del(struct store *st, const char *name)
{
	struct store_category c;
	sqlite3_stmt *s = NULL;
	int ret;

	if (st == NULL || !fits(name, STORE_NAME_MAX, 0) || is_default(name))
		return STORE_E_INVALID;
	if ((ret = category_get(st, SC_CAT_GET, name, 0, &c)) != STORE_OK)
		return ret;
	if ((ret = stmt_get(st, SC_CAT_ROOMS, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, c.id);
	ret = row_stmt(st, s, "category-del");
	stmt_put(st, SC_CAT_ROOMS, s);
	if (ret != STORE_E_NOTFOUND)
		return ret == STORE_OK ? STORE_E_INUSE : ret;
	if ((ret = stmt_get(st, SC_CAT_DEL, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, c.id);
	/* A room added by another process since the check still trips the foreign key. */
	ret = exec_stmt(st, s, "category-del", STORE_E_INUSE);
	stmt_put(st, SC_CAT_DEL, s);
	return ret;
}

int store_category_each(struct store *st, int (*fn)(void *arg, const struct store_category *c), void *arg)
{
	struct cb cb = { .category = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_CAT_EACH, &s)) != STORE_OK)
		return ret;
	ret = each_row(st, s, "category-each", emit_category, &cb);
	stmt_put(st, SC_CAT_EACH, s);
	return ret;
}

/* ---- Category principal lists ---------------------------------------------- */

/* Get statement id and bind (category, list, uri) as ?1..?3; uri may be NULL (each). */
static int list_stmt(struct store *st, enum store_chat_stmt id, int64_t category_id, enum store_cat_list list,
                     const char *uri, sqlite3_stmt **s)
{
	int ret;

	if (st == NULL || (int)list < STORE_CAT_ALLOWED || (int)list > STORE_CAT_CREATOR ||
	    (uri != NULL && !uri_ok(uri)))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, id, s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(*s, 1, category_id);
	sqlite3_bind_int(*s, 2, (int)list);
	if (uri != NULL)
		bind_str(*s, 3, uri);
	return STORE_OK;
}

int store_category_list_add(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri)
{
	sqlite3_stmt *s;
	int ret;

	if (uri == NULL)
		return STORE_E_INVALID;
	if ((ret = list_stmt(st, SC_LIST_ADD, category_id, list, uri, &s)) != STORE_OK)
		return ret;
	ret = exec_stmt(st, s, "category-list-add", STORE_E_NOTFOUND);
	stmt_put(st, SC_LIST_ADD, s);
	return ret;
}

int store_category_list_del(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri)
{
	sqlite3_stmt *s;
	int ret;

	if (uri == NULL)
		return STORE_E_INVALID;
	if ((ret = list_stmt(st, SC_LIST_DEL, category_id, list, uri, &s)) != STORE_OK)
		return ret;
	ret = changed(st, exec_stmt(st, s, "category-list-del", STORE_E_IO));
	stmt_put(st, SC_LIST_DEL, s);
	return ret;
}

int store_category_list_has(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri)
{
	sqlite3_stmt *s;
	int ret;

	if (uri == NULL)
		return STORE_E_INVALID;
	if ((ret = list_stmt(st, SC_LIST_HAS, category_id, list, uri, &s)) != STORE_OK)
		return ret;
	ret = row_stmt(st, s, "category-list-has");
	stmt_put(st, SC_LIST_HAS, s);
	return ret == STORE_OK ? 1 : ret == STORE_E_NOTFOUND ? 0 : ret;
}

int store_category_list_each(struct store *st, int64_t category_id, enum store_cat_list list,
                             int (*fn)(void *arg, const char *uri), void *arg)
{
	struct cb cb = { .uri = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (fn == NULL)
		return STORE_E_INVALID;
	if ((ret = list_stmt(st, SC_LIST_EACH, category_id, list, NULL, &s)) != STORE_OK)
		return ret;
	ret = each_row(st, s, "category-list-each", emit_uri, &cb);
	stmt_put(st, SC_LIST_EACH, s);
	return ret;
}

/* ---- Rooms ------------------------------------------------------------------ */

/* Everything but the GUID (checked by the caller: add may generate it). */
static int room_ok(const struct store_room *r)
{
	return fits(r->name, sizeof r->name, 0) && fits(r->description, sizeof r->description, 1) &&
	       fits(r->topic, sizeof r->topic, 1) &&
	       r->privacy >= STORE_PRIVACY_OPEN && r->privacy <= STORE_PRIVACY_SECRET &&
	       r->type >= STORE_ROOM_NORMAL && r->type <= STORE_ROOM_AUDITORIUM &&
	       r->invitations >= STORE_INVITE_INHERIT && r->invitations <= STORE_INVITE_ON;
}

/* Bind guid and the writable fields as ?1..?9 (SC_ROOM_ADD / SC_ROOM_UPDATE order). */
static void bind_room(sqlite3_stmt *s, const struct store_room *r, const char *guid)
{
	bind_str(s, 1, guid);
	bind_str(s, 2, r->name);
	bind_str(s, 3, r->description);
	bind_str(s, 4, r->topic);
	sqlite3_bind_int64(s, 5, r->category_id);
	sqlite3_bind_int(s, 6, r->privacy);
	sqlite3_bind_int(s, 7, r->type);
	sqlite3_bind_int(s, 8, r->invitations);
	sqlite3_bind_int(s, 9, r->disabled != 0);
}

int store_room_add(struct store *st, struct store_room *r)
{
	char guid[STORE_GUID_LEN + 1];
	sqlite3_stmt *s;
	int64_t now = wall_us();
	int ret;

	if (st == NULL || r == NULL || !room_ok(r))
		return STORE_E_INVALID;
	if (r->guid[0] == '\0') {
		if (guid_v4(guid) < 0)
			return STORE_E_IO;      /* no randomness from the kernel */
	} else if (guid_ok(r->guid))
		memcpy(guid, r->guid, sizeof guid);
	else
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_ROOM_ADD, &s)) != STORE_OK)
		return ret;
	bind_room(s, r, guid);
	sqlite3_bind_int64(s, 10, now);
	/* A missing category shows up as the foreign key on rooms.category_id. */
	if ((ret = exec_stmt(st, s, "room-add", STORE_E_NOTFOUND)) == STORE_OK) {
		r->id = sqlite3_last_insert_rowid(st->db);
		r->created_us = now;
		memcpy(r->guid, guid, sizeof guid);
	}
	stmt_put(st, SC_ROOM_ADD, s);
	return ret;
}

/* Every field but id and created_us, which are the room's identity and history. */
int store_room_update(struct store *st, const struct store_room *r)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || r == NULL || !room_ok(r) || !guid_ok(r->guid))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_ROOM_UPDATE, &s)) != STORE_OK)
		return ret;
	bind_room(s, r, r->guid);
	sqlite3_bind_int64(s, 10, r->id);
	ret = changed(st, exec_stmt(st, s, "room-update", STORE_E_NOTFOUND));
	stmt_put(st, SC_ROOM_UPDATE, s);
	return ret;
}

/* One room by GUID or name (key, text) or id into *out. */
static int room_get(struct store *st, enum store_chat_stmt id, const char *key, int64_t rid, struct store_room *out)
{
	sqlite3_stmt *s;
	int ret;

	if ((ret = stmt_get(st, id, &s)) != STORE_OK)
		return ret;
	if (key != NULL)
		bind_str(s, 1, key);
	else
		sqlite3_bind_int64(s, 1, rid);
	if ((ret = row_stmt(st, s, "room-get")) == STORE_OK)
		ret = row_to_room(s, out);
	stmt_put(st, id, s);
	return ret;
}

/* The GUID compares case-insensitively (the column is NOCASE), so a client
 * that upper-cases the ma-chan URI still finds its room. */
int store_room_get_guid(struct store *st, const char *guid, struct store_room *out)
{
	if (st == NULL || guid == NULL || store_room_key_form(guid, strnlen(guid, STORE_GUID_LEN + 1)) == STORE_KEY_NONE ||
	    out == NULL)
		return STORE_E_INVALID;
	return room_get(st, SC_ROOM_GET_GUID, guid, 0, out);
}

int store_room_get_name(struct store *st, const char *name, struct store_room *out)
{
	if (st == NULL || !fits(name, STORE_NAME_MAX, 0) || out == NULL)
		return STORE_E_INVALID;
	return room_get(st, SC_ROOM_GET_NAME, name, 0, out);
}

int store_room_get_id(struct store *st, int64_t id, struct store_room *out)
{
	if (st == NULL || out == NULL)
		return STORE_E_INVALID;
	return room_get(st, SC_ROOM_GET_ID, NULL, id, out);
}

/* Roles, messages (and their index entries, by trigger), invitations and
 * follows go with the room through ON DELETE CASCADE. */
int store_room_del(struct store *st, int64_t room_id)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_ROOM_DEL, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	ret = changed(st, exec_stmt(st, s, "room-del", STORE_E_IO));
	stmt_put(st, SC_ROOM_DEL, s);
	return ret;
}

int store_room_each(struct store *st, const char *name_part,
                    int (*fn)(void *arg, const struct store_room *r), void *arg)
{
	struct cb cb = { .room = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (name_part == NULL)
		name_part = "";         /* instr(x, '') is 1: every room */
	if (st == NULL || fn == NULL || !fits(name_part, STORE_NAME_MAX, 1))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_ROOM_EACH, &s)) != STORE_OK)
		return ret;
	bind_str(s, 1, name_part);
	ret = each_row(st, s, "room-each", emit_room, &cb);
	stmt_put(st, SC_ROOM_EACH, s);
	return ret;
}

/* ---- Roles -------------------------------------------------------------------- */

#define ROLE_ALL (STORE_ROLE_MEMBER | STORE_ROLE_MANAGER | STORE_ROLE_PRESENTER)

/* Get statement id with (room, uri, roles) bound as ?1..?3; roles < 0 leaves ?3 unbound. */
static int role_stmt(struct store *st, enum store_chat_stmt id, int64_t room_id, const char *uri, int roles,
                     sqlite3_stmt **s)
{
	int ret;

	if (st == NULL || !uri_ok(uri) || (roles >= 0 && (roles == 0 || (roles & ~ROLE_ALL) != 0)))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, id, s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(*s, 1, room_id);
	bind_str(*s, 2, uri);
	if (roles >= 0)
		sqlite3_bind_int(*s, 3, roles);
	return STORE_OK;
}

int store_room_role_add(struct store *st, int64_t room_id, const char *uri, int roles)
{
	sqlite3_stmt *s;
	int ret;

	if (roles < 0)
		return STORE_E_INVALID;
	if ((ret = role_stmt(st, SC_ROLE_ADD, room_id, uri, roles, &s)) != STORE_OK)
		return ret;
	ret = exec_stmt(st, s, "role-add", STORE_E_NOTFOUND);
	stmt_put(st, SC_ROLE_ADD, s);
	return ret;
}

int store_room_role_del(struct store *st, int64_t room_id, const char *uri, int roles)
{
	static const enum store_chat_stmt steps[] = { SC_ROLE_DROP, SC_ROLE_CLEAR };
	sqlite3_stmt *s;
	int ret = STORE_E_NOTFOUND;

	if (roles < 0)
		return STORE_E_INVALID;
	/* Drop the row if no bit would be left, else clear the bits; neither
	 * touching a row means none of the bits was held. */
	for (size_t i = 0; i < 2 && ret == STORE_E_NOTFOUND; i++) {
		if ((ret = role_stmt(st, steps[i], room_id, uri, roles, &s)) != STORE_OK)
			return ret;
		ret = changed(st, exec_stmt(st, s, "role-del", STORE_E_IO));
		stmt_put(st, steps[i], s);
	}
	return ret;
}

int store_room_roles(struct store *st, int64_t room_id, const char *uri)
{
	sqlite3_stmt *s;
	int ret;

	if ((ret = role_stmt(st, SC_ROLE_GET, room_id, uri, -1, &s)) != STORE_OK)
		return ret;
	if ((ret = row_stmt(st, s, "room-roles")) == STORE_OK)
		ret = sqlite3_column_int(s, 0) & ROLE_ALL;
	else if (ret == STORE_E_NOTFOUND)
		ret = 0;
	stmt_put(st, SC_ROLE_GET, s);
	return ret;
}

int store_room_role_each(struct store *st, int64_t room_id,
                         int (*fn)(void *arg, const char *uri, int roles), void *arg)
{
	struct cb cb = { .uri_roles = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_ROLE_EACH, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	ret = each_row(st, s, "role-each", emit_uri, &cb);
	stmt_put(st, SC_ROLE_EACH, s);
	return ret;
}

/* Run a room query keyed by one URI (?1), ending in the callback set in cb. */
static int rooms_by_uri(struct store *st, enum store_chat_stmt id, const char *uri, struct cb *cb, const char *op)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || !uri_ok(uri))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, id, &s)) != STORE_OK)
		return ret;
	bind_str(s, 1, uri);
	ret = each_row(st, s, op, emit_room, cb);
	stmt_put(st, id, s);
	return ret;
}

int store_user_rooms(struct store *st, const char *uri,
                     int (*fn)(void *arg, const struct store_room *r, int roles), void *arg)
{
	struct cb cb = { .room_roles = fn, .arg = arg };

	if (fn == NULL)
		return STORE_E_INVALID;
	return rooms_by_uri(st, SC_USER_ROOMS, uri, &cb, "user-rooms");
}

/* ---- Messages ----------------------------------------------------------------- */

int store_message_add(struct store *st, int64_t room_id, const char *author, int64_t ts_us,
                      const char *text, size_t text_len, const char *extra, size_t extra_len,
                      int64_t *id_out)
{
	sqlite3_stmt *s;
	int ret;

	if (extra == NULL)
		extra_len = 0;
	if (st == NULL || !uri_ok(author) || text == NULL || text_len > INT_MAX || extra_len > INT_MAX)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_MSG_ADD, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	bind_str(s, 2, author);
	sqlite3_bind_int64(s, 3, ts_us);
	sqlite3_bind_text(s, 4, text, (int)text_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, extra ? extra : "", (int)extra_len, SQLITE_STATIC);
	if ((ret = exec_stmt(st, s, "message-add", STORE_E_NOTFOUND)) == STORE_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	stmt_put(st, SC_MSG_ADD, s);
	return ret;
}

int store_message_last(struct store *st, int64_t room_id, int count,
                       int (*fn)(void *arg, const struct store_message *m), void *arg)
{
	struct cb cb = { .message = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if (count <= 0)
		return STORE_OK;
	if ((ret = stmt_get(st, SC_MSG_LAST, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	sqlite3_bind_int(s, 2, count);
	ret = each_row(st, s, "message-last", emit_message, &cb);
	stmt_put(st, SC_MSG_LAST, s);
	return ret;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Turn user words into an FTS5 query that can only mean "every one of these
 * words": each whitespace-separated word becomes an FTS5 string ("..." with
 * any " doubled, FTS5 §3.1 "strings"), and strings written one after another
 * are ANDed (§3.7 implicit AND).  So `a" OR b*` or `NEAR(` are searched for
 * as text, never parsed as operators.  The implicit AND, not the keyword,
 * because a word with no indexable characters ("*", "!") is then skipped
 * rather than making the whole query match nothing.  *out is malloc'd;
 * STORE_E_INVALID when there is no word.
 */
static int fts_query(const char *words, char **out, size_t *out_len)
{
	size_t n = strlen(words), o = 0;
	char *q;

	*out = NULL;
	if (n > (size_t)INT_MAX / 4)
		return STORE_E_INVALID;
	/* Worst case per input byte: a doubled quote (2), plus 3 per word. */
	if ((q = malloc(4 * n + 4)) == NULL) {
		log_error("event=store-error op=message-search reason=\"out of memory\"");
		return STORE_E_IO;
	}
	for (size_t i = 0; i < n;) {
		if (is_space(words[i])) {
			i++;
			continue;
		}
		if (o > 0)
			q[o++] = ' ';
		q[o++] = '"';
		for (; i < n && !is_space(words[i]); i++) {
			if (words[i] == '"')
				q[o++] = '"';
			q[o++] = words[i];
		}
		q[o++] = '"';
	}
	if (o == 0) {
		free(q);
		return STORE_E_INVALID;
	}
	q[o] = '\0';
	*out = q;
	*out_len = o;
	return STORE_OK;
}

int store_message_search(struct store *st, int64_t room_id, const char *words, int limit,
                         int (*fn)(void *arg, const struct store_message *m), void *arg)
{
	struct cb cb = { .message = fn, .arg = arg };
	sqlite3_stmt *s;
	char *q = NULL;
	size_t q_len = 0;
	int ret;

	if (st == NULL || words == NULL || fn == NULL)
		return STORE_E_INVALID;
	if ((ret = fts_query(words, &q, &q_len)) != STORE_OK)
		return ret;
	if (limit <= 0)
		goto out;
	if ((ret = stmt_get(st, SC_MSG_SEARCH, &s)) != STORE_OK)
		goto out;
	sqlite3_bind_text(s, 1, q, (int)q_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, room_id);
	sqlite3_bind_int(s, 3, limit);
	ret = each_row(st, s, "message-search", emit_message, &cb);
	stmt_put(st, SC_MSG_SEARCH, s);
out:
	free(q);
	return ret;
}

int store_message_latest_id(struct store *st, int64_t room_id, int64_t *id_out)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || id_out == NULL)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_MSG_LATEST, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	if ((ret = row_stmt(st, s, "message-latest")) == STORE_OK)
		*id_out = sqlite3_column_int64(s, 0);
	stmt_put(st, SC_MSG_LATEST, s);
	return ret;
}

/* ---- Invitations ------------------------------------------------------------------ */

int store_invite_add(struct store *st, int64_t room_id, const char *uri, const char *inviter)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || !uri_ok(uri) || !uri_ok(inviter))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_INVITE_ADD, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	bind_str(s, 2, uri);
	bind_str(s, 3, inviter);
	sqlite3_bind_int64(s, 4, wall_us());
	ret = exec_stmt(st, s, "invite-add", STORE_E_NOTFOUND);
	stmt_put(st, SC_INVITE_ADD, s);
	return ret;
}

/* Delete the row keyed by room ?1 and uri ?2; STORE_E_NOTFOUND when there was none. */
static int del_room_uri(struct store *st, enum store_chat_stmt id, int64_t room_id, const char *uri, const char *op)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || !uri_ok(uri))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, id, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, room_id);
	bind_str(s, 2, uri);
	ret = changed(st, exec_stmt(st, s, op, STORE_E_IO));
	stmt_put(st, id, s);
	return ret;
}

int store_invite_del(struct store *st, int64_t room_id, const char *uri)
{
	return del_room_uri(st, SC_INVITE_DEL, room_id, uri, "invite-del");
}

int store_invite_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us),
                      void *arg)
{
	struct cb cb = { .invite = fn, .arg = arg };

	if (fn == NULL)
		return STORE_E_INVALID;
	return rooms_by_uri(st, SC_INVITE_EACH, uri, &cb, "invite-each");
}

/* ---- Follows ------------------------------------------------------------------------ */

/* Following a room already followed changes nothing (its read mark stays). */
int store_follow_add(struct store *st, const char *uri, int64_t room_id)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || !uri_ok(uri))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_FOLLOW_ADD, &s)) != STORE_OK)
		return ret;
	bind_str(s, 1, uri);
	sqlite3_bind_int64(s, 2, room_id);
	ret = exec_stmt(st, s, "follow-add", STORE_E_NOTFOUND);
	stmt_put(st, SC_FOLLOW_ADD, s);
	return ret;
}

int store_follow_del(struct store *st, const char *uri, int64_t room_id)
{
	return del_room_uri(st, SC_FOLLOW_DEL, room_id, uri, "follow-del");
}

/* STORE_E_NOTFOUND when uri does not follow the room. */
int store_follow_mark_read(struct store *st, const char *uri, int64_t room_id, int64_t message_id)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || !uri_ok(uri) || message_id < 0)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_FOLLOW_READ, &s)) != STORE_OK)
		return ret;
	bind_str(s, 1, uri);
	sqlite3_bind_int64(s, 2, room_id);
	sqlite3_bind_int64(s, 3, message_id);
	ret = changed(st, exec_stmt(st, s, "follow-mark-read", STORE_E_IO));
	stmt_put(st, SC_FOLLOW_READ, s);
	return ret;
}

int store_follow_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, int64_t unread), void *arg)
{
	struct cb cb = { .follow = fn, .arg = arg };

	if (fn == NULL)
		return STORE_E_INVALID;
	return rooms_by_uri(st, SC_FOLLOW_EACH, uri, &cb, "follow-each");
}

/* ---- Compliance events ----------------------------------------------------------- */

static int event_ok(const struct store_event *e)
{
	int known = compliance_type_find(e->type) != NULL;

	/* room_name is NULL with room_guid for events about no room (compliance_record). */
	return known && uri_ok(e->user_uri) && e->message_id >= 0 && e->content_len <= INT_MAX &&
	       (e->room_guid == NULL || fits(e->room_guid, STORE_GUID_LEN + 1, 0)) &&
	       (e->room_name == NULL || fits(e->room_name, STORE_NAME_MAX, 0));
}

/* e->seq is ignored: the store assigns it. */
int store_event_add(struct store *st, const struct store_event *e)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || e == NULL || !event_ok(e))
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_EVENT_ADD, &s)) != STORE_OK)
		return ret;
	bind_str(s, 1, e->type);
	bind_str(s, 2, e->room_guid);
	bind_str(s, 3, e->room_name);
	bind_str(s, 4, e->user_uri);
	sqlite3_bind_int64(s, 5, e->ts_us);
	sqlite3_bind_int64(s, 6, e->message_id);
	if (e->content != NULL)
		sqlite3_bind_text(s, 7, e->content, (int)e->content_len, SQLITE_STATIC);
	ret = exec_stmt(st, s, "event-add", STORE_E_IO);
	stmt_put(st, SC_EVENT_ADD, s);
	return ret;
}

int store_event_each(struct store *st, int64_t after_seq, int limit,
                     int (*fn)(void *arg, const struct store_event *e), void *arg)
{
	struct cb cb = { .event = fn, .arg = arg };
	sqlite3_stmt *s;
	int ret;

	if (st == NULL || fn == NULL)
		return STORE_E_INVALID;
	if (limit <= 0)
		return STORE_OK;
	if ((ret = stmt_get(st, SC_EVENT_EACH, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, after_seq);
	sqlite3_bind_int(s, 2, limit);
	ret = each_row(st, s, "event-each", emit_event, &cb);
	stmt_put(st, SC_EVENT_EACH, s);
	return ret;
}

int store_event_delete_upto(struct store *st, int64_t upto_seq)
{
	sqlite3_stmt *s;
	int ret;

	if (st == NULL)
		return STORE_E_INVALID;
	if ((ret = stmt_get(st, SC_EVENT_DELETE, &s)) != STORE_OK)
		return ret;
	sqlite3_bind_int64(s, 1, upto_seq);
	ret = exec_stmt(st, s, "event-delete", STORE_E_IO);
	stmt_put(st, SC_EVENT_DELETE, s);
	return ret;
}
