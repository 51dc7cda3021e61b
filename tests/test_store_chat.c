/*
 * test_store_chat.c - the chat half of the store (store_chat.c, migration 2)
 * against a temporary folder: categories and their principal lists, rooms
 * and GUIDs, roles, 1,000 messages and their history, FTS5 search fed
 * hostile words, follows and unread counts, invitations, compliance events,
 * cascades on room delete, over-long values, reopening, and a version-1 file
 * migrated by an open that migrates.
 */
#include "../base.c"
#include "../buf.c"
#include "../compliance_types.c"
#include "../durable.c"
#include "../store.c"
#include "../store_chat.c"
#include "../log.c"
#include "check.h"
#include "testutil.h"

#include <dirent.h>
#include <unistd.h>

static char dir[] = "/tmp/test_store_chat.XXXXXX";

static void path_in_dir(char *buf, size_t len, const char *name)
{
	test_path(buf, len, dir, name);
}

/* One integer from a query on the store's own connection; -1 if it fails. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* What the callbacks saw: up to 8 names or URIs, the ids and a number per row. */
struct seen {
	int n;
	char names[8][STORE_URI_MAX];
	int64_t ids[1024];
	int64_t nums[1024];
	int stop_after;         /* return 7 once this many were seen; 0 = never */
	struct store *st;       /* set to re-enter the store from the callback */
	int inner;              /* what the re-entrant calls found */
	int64_t room;           /* the room see_uri_roles re-enters with */
};

static int note(struct seen *w, const char *name, int64_t id, int64_t num)
{
	if (w->n < 8)
		snprintf(w->names[w->n], sizeof w->names[0], "%s", name);
	if (w->n < 1024) {
		w->ids[w->n] = id;
		w->nums[w->n] = num;
	}
	w->n++;
	return w->stop_after && w->n >= w->stop_after ? 7 : 0;
}

static int see_category(void *arg, const struct store_category *c)
{
	return note(arg, c->name, c->id, c->history);
}

static int see_uri(void *arg, const char *uri)
{
	return note(arg, uri, 0, 0);
}

static int see_uri_roles(void *arg, const char *uri, int roles)
{
	struct seen *w = arg;

	/* Re-enter: the role lookup and a nested role_each must not disturb this iteration. */
	if (w->st != NULL) {
		struct seen in = { 0 };

		w->inner += store_room_roles(w->st, w->room, uri) == roles;
		w->inner += store_room_role_each(w->st, w->room, see_uri_roles, &in) == STORE_OK && in.n == 3;
	}
	return note(w, uri, 0, roles);
}

static int see_room(void *arg, const struct store_room *r)
{
	struct seen *w = arg;

	if (w->st != NULL) {
		struct seen in = { 0 };

		w->inner += store_room_each(w->st, NULL, see_room, &in) == STORE_OK && in.n > 1;
	}
	return note(w, r->name, r->id, r->privacy);
}

static int see_room_roles(void *arg, const struct store_room *r, int roles)
{
	return note(arg, r->name, r->id, roles);
}

static int see_invite(void *arg, const struct store_room *r, const char *inviter, int64_t created_us)
{
	struct seen *w = arg;

	note(w, r->name, r->id, created_us);
	return strcmp(inviter, "sip:boss@example.org") == 0 ? 0 : 99;
}

static int see_follow(void *arg, const struct store_room *r, int64_t unread)
{
	return note(arg, r->name, r->id, unread);
}

static int see_message(void *arg, const struct store_message *m)
{
	struct seen *w = arg;
	char text[200];

	snprintf(text, sizeof text, "%.*s", (int)m->text_len, m->text);
	return note(w, text, m->id, m->room_id);
}

static int see_event(void *arg, const struct store_event *e)
{
	return note(arg, e->type, e->seq, e->message_id);
}

static struct store *open_store(const char *path)
{
	struct store *st = NULL;
	char err[512] = "";

	if (store_open(&st, path, err, sizeof err) != STORE_OK)
		printf("#   open %s: %s\n", path, err);
	return st;
}

static void test_open(struct store *st)
{
	int all = 1;

	CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION && STORE_SCHEMA_VERSION >= 2, "chat-1.1 schema version is current (>= 2)");
	CHECK(sqlite3_compileoption_used("ENABLE_FTS5"), "chat-1.2 libsqlite3 has FTS5");
	/* Statements are prepared lazily: make sure every one of them compiles. */
	for (int i = 0; i < SC_COUNT; i++) {
		sqlite3_stmt *s = NULL;

		all &= chat_sql[i] != NULL && stmt_get(st, i, &s) == STORE_OK && s == st->chat[i];
		stmt_put(st, i, s);
	}
	CHECK(all, "chat-1.3 every chat statement prepares");
	CHECK(query_int(st->db, "SELECT file_upload + invitations + history FROM categories WHERE name = 'default'") == 3,
	      "chat-1.4 default category flags default to 1");
}

static void test_categories(struct store *st)
{
	struct store_category c = { .name = "Sales", .description = "the sales floor", .file_upload = 0,
	                            .invitations = 1, .history = 1 };
	struct store_category d = { .name = "sales" }, got;
	struct store_room r = { .name = "Sales chat" };
	struct seen w = { 0 };

	CHECK(store_category_add(st, &c) == STORE_OK && c.id > 1 && c.created_us > 1600000000LL * 1000000,
	      "chat-2.1 add fills id and created_us");
	CHECK(store_category_add(st, &d) == STORE_E_EXISTS, "chat-2.2 names unique regardless of case");
	snprintf(d.name, sizeof d.name, "DEFAULT");
	CHECK(store_category_add(st, &d) == STORE_E_EXISTS, "chat-2.3 DEFAULT clashes with default");
	d.name[0] = '\0';
	CHECK(store_category_add(st, &d) == STORE_E_INVALID, "chat-2.4 empty name refused");
	memset(d.name, 'n', sizeof d.name);
	CHECK(store_category_add(st, &d) == STORE_E_INVALID, "chat-2.5 name filling the array (no NUL) refused");
	d.name[sizeof d.name - 1] = '\0';
	memset(d.description, 'd', sizeof d.description);
	CHECK(store_category_add(st, &d) == STORE_E_INVALID, "chat-2.6 over-long description refused");
	d.description[sizeof d.description - 1] = '\0';
	CHECK(store_category_add(st, &d) == STORE_OK, "chat-2.7 longest name and description fit");
	CHECK(store_category_get(st, "SALES", &got) == STORE_OK && got.id == c.id && strcmp(got.name, "Sales") == 0 &&
	      strcmp(got.description, "the sales floor") == 0 && got.file_upload == 0 && got.invitations == 1 && got.history == 1,
	      "chat-2.8 get by name ignores case and round-trips every field");
	CHECK(store_category_get_id(st, d.id, &got) == STORE_OK && strlen(got.name) == STORE_NAME_MAX - 1 &&
	      strlen(got.description) == STORE_TEXT_MAX - 1, "chat-2.9 get by id, longest values intact");
	CHECK(store_category_get(st, "nope", &got) == STORE_E_NOTFOUND && store_category_get_id(st, 999, &got) == STORE_E_NOTFOUND &&
	      store_category_get(st, NULL, &got) == STORE_E_INVALID, "chat-2.10 unknown NOTFOUND, NULL INVALID");

	c.history = 0;
	snprintf(c.description, sizeof c.description, "renamed");
	snprintf(c.name, sizeof c.name, "Sales EMEA");
	CHECK(store_category_update(st, &c) == STORE_OK && store_category_get(st, "sales emea", &got) == STORE_OK &&
	      got.history == 0 && strcmp(got.description, "renamed") == 0, "chat-2.11 update writes every field");
	snprintf(c.name, sizeof c.name, "Default");
	CHECK(store_category_update(st, &c) == STORE_E_EXISTS, "chat-2.12 update to a taken name: EXISTS");
	snprintf(c.name, sizeof c.name, "Sales EMEA");
	got = c;
	got.id = 999;
	CHECK(store_category_update(st, &got) == STORE_E_NOTFOUND, "chat-2.13 update of an unknown id: NOTFOUND");
	CHECK(store_category_get(st, "default", &got) == STORE_OK, "chat-2.14 get default");
	snprintf(got.name, sizeof got.name, "renamed default");
	CHECK(store_category_update(st, &got) == STORE_E_INVALID, "chat-2.15 default cannot be renamed away");
	snprintf(got.name, sizeof got.name, "default");
	got.file_upload = 0;
	CHECK(store_category_update(st, &got) == STORE_OK, "chat-2.16 default's other fields can change");

	CHECK(store_category_each(st, see_category, &w) == STORE_OK && w.n == 3 && strcmp(w.names[0], "default") == 0 &&
	      w.names[1][0] == 'n' && strcmp(w.names[2], "Sales EMEA") == 0, "chat-2.17 each in name order, case-folded");
	w = (struct seen){ .stop_after = 2 };
	CHECK(store_category_each(st, see_category, &w) == 7 && w.n == 2, "chat-2.18 each stops with fn's value");

	CHECK(store_category_del(st, "DeFault") == STORE_E_INVALID && store_category_del(st, "default") == STORE_E_INVALID,
	      "chat-2.19 default never deleted");
	CHECK(store_category_del(st, "nope") == STORE_E_NOTFOUND, "chat-2.20 del unknown: NOTFOUND");
	r.category_id = c.id;
	CHECK(store_room_add(st, &r) == STORE_OK, "chat-2.21 a room in the category");
	CHECK(store_category_del(st, "sales emea") == STORE_E_INUSE, "chat-2.22 del refused while a room uses it");
	CHECK(store_room_del(st, r.id) == STORE_OK && store_category_del(st, "sales emea") == STORE_OK &&
	      store_category_get(st, "Sales EMEA", &got) == STORE_E_NOTFOUND, "chat-2.23 del once the room is gone");
	CHECK(store_category_del(st, d.name) == STORE_OK, "chat-2.24 del the long-named one");
}

static void test_lists(struct store *st)
{
	struct store_category c = { .name = "Legal" }, got;
	struct seen w = { 0 };

	CHECK(store_category_add(st, &c) == STORE_OK, "chat-3.1 category for lists");
	CHECK(store_category_list_add(st, c.id, STORE_CAT_ALLOWED, "sip:bob@example.org") == STORE_OK &&
	      store_category_list_add(st, c.id, STORE_CAT_ALLOWED, "sip:alice@example.org") == STORE_OK &&
	      store_category_list_add(st, c.id, STORE_CAT_ALLOWED, "sip:alice@example.org") == STORE_OK,
	      "chat-3.2 add, and add again, is OK");
	CHECK(store_category_list_add(st, c.id, STORE_CAT_DENIED, "sip:mallory@example.org") == STORE_OK &&
	      store_category_list_add(st, c.id, STORE_CAT_CREATOR, "sip:alice@example.org") == STORE_OK,
	      "chat-3.3 the other two lists");
	CHECK(store_category_list_has(st, c.id, STORE_CAT_ALLOWED, "sip:alice@example.org") == 1 &&
	      store_category_list_has(st, c.id, STORE_CAT_DENIED, "sip:alice@example.org") == 0 &&
	      store_category_list_has(st, c.id, STORE_CAT_DENIED, "sip:mallory@example.org") == 1 &&
	      store_category_list_has(st, c.id, STORE_CAT_ALLOWED, "sip:ALICE@example.org") == 0,
	      "chat-3.4 has is per list and exact");
	CHECK(store_category_list_each(st, c.id, STORE_CAT_ALLOWED, see_uri, &w) == STORE_OK && w.n == 2 &&
	      strcmp(w.names[0], "sip:alice@example.org") == 0 && strcmp(w.names[1], "sip:bob@example.org") == 0,
	      "chat-3.5 each in URI order, no duplicate");
	CHECK(store_category_list_del(st, c.id, STORE_CAT_ALLOWED, "sip:bob@example.org") == STORE_OK &&
	      store_category_list_del(st, c.id, STORE_CAT_ALLOWED, "sip:bob@example.org") == STORE_E_NOTFOUND &&
	      store_category_list_has(st, c.id, STORE_CAT_ALLOWED, "sip:bob@example.org") == 0, "chat-3.6 del, then NOTFOUND");
	CHECK(store_category_list_add(st, 999, STORE_CAT_ALLOWED, "sip:bob@example.org") == STORE_E_NOTFOUND,
	      "chat-3.7 unknown category: NOTFOUND");
	CHECK(store_category_list_add(st, c.id, (enum store_cat_list)3, "sip:bob@example.org") == STORE_E_INVALID &&
	      store_category_list_add(st, c.id, STORE_CAT_ALLOWED, "") == STORE_E_INVALID &&
	      store_category_list_has(st, c.id, STORE_CAT_ALLOWED, NULL) == STORE_E_INVALID &&
	      store_category_list_each(st, c.id, (enum store_cat_list)-1, see_uri, &w) == STORE_E_INVALID,
	      "chat-3.8 bad list, empty or NULL URI refused");
	CHECK(store_category_del(st, "legal") == STORE_OK && store_category_get(st, "Legal", &got) == STORE_E_NOTFOUND &&
	      query_int(st->db, "SELECT count(*) FROM category_principals") == 0, "chat-3.9 lists go with the category");
}

static int is_guid_v4(const char *g)
{
	int ok = strlen(g) == 36 && g[8] == '-' && g[13] == '-' && g[18] == '-' && g[23] == '-' && g[14] == '4' &&
	         strchr("89ab", g[19]) != NULL;

	for (int i = 0; i < 36 && ok; i++)
		ok = g[i] == '-' ? (i == 8 || i == 13 || i == 18 || i == 23) : strchr("0123456789abcdef", g[i]) != NULL;
	return ok;
}

/* Rooms used by the later tests: "Alpha", "beta", "Gamma ROOM" (in default). */
static void test_rooms(struct store *st, int64_t ids[3])
{
	struct store_room a = { .name = "Alpha", .topic = "first", .category_id = 1, .privacy = STORE_PRIVACY_OPEN };
	struct store_room b = { .name = "beta", .category_id = 1, .privacy = STORE_PRIVACY_SECRET,
	                        .guid = "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10", .invitations = STORE_INVITE_ON };
	struct store_room g = { .name = "Gamma ROOM", .category_id = 1, .privacy = STORE_PRIVACY_CLOSED,
	                        .type = STORE_ROOM_AUDITORIUM, .invitations = STORE_INVITE_INHERIT, .disabled = 1 };
	struct store_room x, got;
	struct seen w = { 0 };

	CHECK(store_room_add(st, &a) == STORE_OK && a.id > 0 && a.created_us > 0 && is_guid_v4(a.guid),
	      "chat-4.1 add generates a lower-case v4 GUID");
	CHECK(store_room_add(st, &b) == STORE_OK && strcmp(b.guid, "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10") == 0,
	      "chat-4.2 add keeps a given GUID");
	CHECK(store_room_add(st, &g) == STORE_OK && is_guid_v4(g.guid) && strcmp(g.guid, a.guid) != 0,
	      "chat-4.3 two generated GUIDs differ");
	ids[0] = a.id, ids[1] = b.id, ids[2] = g.id;

	x = (struct store_room){ .name = "ALPHA", .category_id = 1 };
	CHECK(store_room_add(st, &x) == STORE_E_EXISTS && x.guid[0] == '\0' && x.id == 0,
	      "chat-4.4 name taken regardless of case: EXISTS, nothing filled");
	x = (struct store_room){ .name = "delta", .category_id = 1, .guid = "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10" };
	CHECK(store_room_add(st, &x) == STORE_E_EXISTS, "chat-4.5 GUID taken: EXISTS");
	snprintf(x.guid, sizeof x.guid, "6F2D5C1E-0B7A-4E0D-9A55-3C1D2E7F9A11");
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.6 upper-case GUID refused on write");
	snprintf(x.guid, sizeof x.guid, "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a1");
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.7 35-character GUID refused");
	memset(x.guid, 'a', sizeof x.guid);
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.8 GUID array without NUL refused");
	x.guid[0] = '\0';
	x.category_id = 999;
	CHECK(store_room_add(st, &x) == STORE_E_NOTFOUND, "chat-4.9 unknown category: NOTFOUND");
	x.category_id = 1;
	x.privacy = 3;
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.10 privacy out of range refused");
	x.privacy = 0, x.invitations = 2;
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.11 invitations out of range refused");
	x.invitations = 0;
	memset(x.topic, 't', sizeof x.topic);
	CHECK(store_room_add(st, &x) == STORE_E_INVALID, "chat-4.12 over-long topic refused");
	x.topic[0] = '\0';
	x.name[0] = '\0';
	CHECK(store_room_add(st, &x) == STORE_E_INVALID && store_room_add(st, NULL) == STORE_E_INVALID,
	      "chat-4.13 empty name or NULL room refused");

	CHECK(store_room_get_guid(st, b.guid, &got) == STORE_OK && got.id == b.id && strcmp(got.name, "beta") == 0 &&
	      got.privacy == STORE_PRIVACY_SECRET && got.invitations == STORE_INVITE_ON, "chat-4.14 get by GUID");
	CHECK(store_room_get_guid(st, "6F2D5C1E-0B7A-4E0D-9A55-3C1D2E7F9A10", &got) == STORE_OK && got.id == b.id,
	      "chat-4.15 GUID lookup ignores case");
	CHECK(store_room_get_guid(st, "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a19", &got) == STORE_E_NOTFOUND &&
	      store_room_get_guid(st, "short", &got) == STORE_E_INVALID, "chat-4.16 unknown GUID NOTFOUND, short INVALID");
	CHECK(store_room_get_name(st, "gamma room", &got) == STORE_OK && got.id == g.id && got.type == STORE_ROOM_AUDITORIUM &&
	      got.disabled == 1 && got.invitations == STORE_INVITE_INHERIT && strcmp(got.guid, g.guid) == 0,
	      "chat-4.17 get by name ignores case, fields round-trip");
	CHECK(store_room_get_id(st, a.id, &got) == STORE_OK && strcmp(got.topic, "first") == 0 && got.created_us == a.created_us,
	      "chat-4.18 get by id");
	CHECK(store_room_get_id(st, 999, &got) == STORE_E_NOTFOUND && store_room_get_name(st, "nope", &got) == STORE_E_NOTFOUND,
	      "chat-4.19 unknown id or name: NOTFOUND");

	a.privacy = STORE_PRIVACY_CLOSED;
	snprintf(a.topic, sizeof a.topic, "second");
	snprintf(a.name, sizeof a.name, "alpha");
	CHECK(store_room_update(st, &a) == STORE_OK && store_room_get_id(st, a.id, &got) == STORE_OK &&
	      strcmp(got.name, "alpha") == 0 && strcmp(got.topic, "second") == 0 && got.privacy == STORE_PRIVACY_CLOSED,
	      "chat-4.20 update writes every field (a case-only rename is allowed)");
	snprintf(a.name, sizeof a.name, "BETA");
	CHECK(store_room_update(st, &a) == STORE_E_EXISTS, "chat-4.21 update to a taken name: EXISTS");
	snprintf(a.name, sizeof a.name, "Alpha");
	a.category_id = 999;
	CHECK(store_room_update(st, &a) == STORE_E_NOTFOUND, "chat-4.22 update to an unknown category: NOTFOUND");
	a.category_id = 1;
	x = a;
	x.id = 999;
	CHECK(store_room_update(st, &x) == STORE_E_NOTFOUND, "chat-4.23 update of an unknown room: NOTFOUND");
	CHECK(store_room_update(st, &a) == STORE_OK, "chat-4.24 name back to Alpha");

	CHECK(store_room_each(st, NULL, see_room, &w) == STORE_OK && w.n == 3 && strcmp(w.names[0], "Alpha") == 0 &&
	      strcmp(w.names[1], "beta") == 0 && strcmp(w.names[2], "Gamma ROOM") == 0, "chat-4.25 each: all, name order");
	w = (struct seen){ 0 };
	CHECK(store_room_each(st, "", see_room, &w) == STORE_OK && w.n == 3, "chat-4.26 each with \"\" is all");
	w = (struct seen){ 0 };
	CHECK(store_room_each(st, "A", see_room, &w) == STORE_OK && w.n == 3, "chat-4.27 'A' is in every name, any case");
	w = (struct seen){ 0 };
	CHECK(store_room_each(st, "room", see_room, &w) == STORE_OK && w.n == 1 && strcmp(w.names[0], "Gamma ROOM") == 0,
	      "chat-4.28 substring, case-insensitive");
	w = (struct seen){ 0 };
	CHECK(store_room_each(st, "%", see_room, &w) == STORE_OK && w.n == 0, "chat-4.29 % is not a wildcard");
	w = (struct seen){ .stop_after = 1 };
	CHECK(store_room_each(st, NULL, see_room, &w) == 7 && w.n == 1, "chat-4.30 each stops with fn's value");
	w = (struct seen){ .st = st };
	CHECK(store_room_each(st, NULL, see_room, &w) == STORE_OK && w.n == 3 && w.inner == 3,
	      "chat-4.31 a callback may run store_room_each again");
}

static void test_roles(struct store *st, const int64_t ids[3])
{
	struct seen w = { 0 };

	CHECK(store_room_role_add(st, ids[0], "sip:bob@example.org", STORE_ROLE_MEMBER) == STORE_OK &&
	      store_room_role_add(st, ids[0], "sip:bob@example.org", STORE_ROLE_MANAGER) == STORE_OK &&
	      store_room_role_add(st, ids[0], "sip:bob@example.org", STORE_ROLE_MEMBER) == STORE_OK &&
	      store_room_roles(st, ids[0], "sip:bob@example.org") == (STORE_ROLE_MEMBER | STORE_ROLE_MANAGER),
	      "chat-5.1 add ORs bits in, re-adding is OK");
	CHECK(store_room_roles(st, ids[1], "sip:bob@example.org") == 0 && store_room_roles(st, ids[0], "sip:x@example.org") == 0,
	      "chat-5.2 no role is 0");
	CHECK(store_room_role_add(st, ids[0], "sip:bob@example.org", 8) == STORE_E_INVALID &&
	      store_room_role_add(st, ids[0], "sip:bob@example.org", 0) == STORE_E_INVALID &&
	      store_room_role_add(st, ids[0], "", STORE_ROLE_MEMBER) == STORE_E_INVALID, "chat-5.3 bad bits or URI refused");
	CHECK(store_room_role_add(st, 999, "sip:bob@example.org", STORE_ROLE_MEMBER) == STORE_E_NOTFOUND,
	      "chat-5.4 unknown room: NOTFOUND");
	CHECK(store_room_role_del(st, ids[0], "sip:bob@example.org", STORE_ROLE_PRESENTER) == STORE_E_NOTFOUND &&
	      store_room_role_del(st, ids[0], "sip:nobody@example.org", STORE_ROLE_MEMBER) == STORE_E_NOTFOUND,
	      "chat-5.5 del of bits not held: NOTFOUND");
	CHECK(store_room_role_del(st, ids[0], "sip:bob@example.org", STORE_ROLE_MEMBER | STORE_ROLE_PRESENTER) == STORE_OK &&
	      store_room_roles(st, ids[0], "sip:bob@example.org") == STORE_ROLE_MANAGER, "chat-5.6 del clears only held bits");
	CHECK(store_room_role_del(st, ids[0], "sip:bob@example.org", STORE_ROLE_MANAGER) == STORE_OK &&
	      store_room_roles(st, ids[0], "sip:bob@example.org") == 0 &&
	      query_int(st->db, "SELECT count(*) FROM room_roles") == 0, "chat-5.7 last bit gone: row gone");

	store_room_role_add(st, ids[0], "sip:carol@example.org", STORE_ROLE_MEMBER | STORE_ROLE_PRESENTER);
	store_room_role_add(st, ids[0], "sip:alice@example.org", STORE_ROLE_MANAGER);
	store_room_role_add(st, ids[0], "sip:bob@example.org", STORE_ROLE_MEMBER);
	store_room_role_add(st, ids[2], "sip:bob@example.org", STORE_ROLE_PRESENTER);
	w.room = ids[0];
	w.st = st;
	CHECK(store_room_role_each(st, ids[0], see_uri_roles, &w) == STORE_OK && w.n == 3 &&
	      strcmp(w.names[0], "sip:alice@example.org") == 0 && w.nums[0] == STORE_ROLE_MANAGER &&
	      strcmp(w.names[2], "sip:carol@example.org") == 0 && w.nums[2] == (STORE_ROLE_MEMBER | STORE_ROLE_PRESENTER),
	      "chat-5.8 role_each in URI order with bits");
	CHECK(w.inner == 6, "chat-5.9 role lookups and a nested role_each inside the callback");
	w = (struct seen){ 0 };
	CHECK(store_user_rooms(st, "sip:bob@example.org", see_room_roles, &w) == STORE_OK && w.n == 2 &&
	      strcmp(w.names[0], "Alpha") == 0 && w.nums[0] == STORE_ROLE_MEMBER &&
	      strcmp(w.names[1], "Gamma ROOM") == 0 && w.nums[1] == STORE_ROLE_PRESENTER, "chat-5.10 user_rooms with roles");
	w = (struct seen){ 0 };
	CHECK(store_user_rooms(st, "sip:nobody@example.org", see_room_roles, &w) == STORE_OK && w.n == 0,
	      "chat-5.11 user_rooms of a stranger is empty");
}

/* 1,000 posts to beta in one transaction, then the history tail. */
static void test_messages(struct store *st, const int64_t ids[3])
{
	static int64_t posted[1000];
	struct seen w = { 0 };
	char text[64];
	int64_t id = 0, latest = -1;
	int ok = 1, rising = 1;

	CHECK(store_message_latest_id(st, ids[1], &latest) == STORE_OK && latest == 0, "chat-6.1 latest of an empty room is 0");
	CHECK(store_begin(st) == STORE_OK, "chat-6.2 begin");
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(text, sizeof text, "bulk message number %d", i);

		ok &= store_message_add(st, ids[1], "sip:bob@example.org", 1700000000000000LL + i, text, (size_t)n,
		                        i == 7 ? "<x/>" : NULL, i == 7 ? 4 : 0, &posted[i]) == STORE_OK;
		rising &= i == 0 || posted[i] > posted[i - 1];
	}
	CHECK(ok && rising && store_commit(st) == STORE_OK, "chat-6.3 1000 adds, ids rising, committed");
	CHECK(store_message_latest_id(st, ids[1], &latest) == STORE_OK && latest == posted[999], "chat-6.4 latest is the last post");
	CHECK(store_message_last(st, ids[1], 25, see_message, &w) == STORE_OK && w.n == 25, "chat-6.5 last 25: 25 rows");
	ok = 1;
	for (int i = 0; i < 25 && w.n == 25; i++)
		ok &= w.ids[i] == posted[975 + i] && w.nums[i] == ids[1];
	CHECK(ok, "chat-6.6 the newest 25, oldest first, exact ids");
	CHECK(strcmp(w.names[0], "bulk message number 975") == 0, "chat-6.7 text of the first of them");
	w = (struct seen){ 0 };
	CHECK(store_message_last(st, ids[1], 0, see_message, &w) == STORE_OK &&
	      store_message_last(st, ids[1], -5, see_message, &w) == STORE_OK && w.n == 0, "chat-6.8 count <= 0 gives none");
	CHECK(store_message_last(st, ids[1], 5000, see_message, &w) == STORE_OK && w.n == 1000 && w.ids[0] == posted[0] &&
	      w.ids[999] == posted[999], "chat-6.9 more than there are: all, oldest first");
	w = (struct seen){ .stop_after = 3 };
	CHECK(store_message_last(st, ids[1], 10, see_message, &w) == 7 && w.n == 3, "chat-6.10 stops with fn's value");

	/* Explicit lengths: text need not end in NUL, and may hold one. */
	CHECK(store_message_add(st, ids[0], "sip:alice@example.org", 5, "hello worldXXXX", 11, "<a/>\0<b/>", 9, &id) == STORE_OK &&
	      id > posted[999], "chat-6.11 add with explicit lengths");
	CHECK(query_int(st->db, "SELECT length(text) = 11 AND length(CAST(extra AS BLOB)) = 9 FROM messages ORDER BY id DESC LIMIT 1") == 1,
	      "chat-6.12 lengths stored exactly");
	CHECK(store_message_add(st, 999, "sip:alice@example.org", 5, "x", 1, NULL, 0, &id) == STORE_E_NOTFOUND,
	      "chat-6.13 unknown room: NOTFOUND");
	CHECK(store_message_add(st, ids[0], "", 5, "x", 1, NULL, 0, &id) == STORE_E_INVALID &&
	      store_message_add(st, ids[0], "sip:a@b", 5, NULL, 0, NULL, 0, &id) == STORE_E_INVALID,
	      "chat-6.14 empty author or NULL text refused");
}

/* Search over Alpha ("hello world" from test_messages) plus these, and beta's bulk. */
static void test_search(struct store *st, const int64_t ids[3])
{
	static const char *const posts[] = {
		"the quick brown fox",
		"a\" OR b* quoted stuff",
		"NEAR( parenthesis",
		"Ünïcode straße café",
		"hello again, world",
	};
	static const char *const hostile[] = {
		"a\" OR b*", "\"", "\"\"", "\"\"\"", "*", "**", "NEAR(", "NEAR(a b)", "NEAR", "OR", "AND", "NOT",
		"(", ")", "()", "^hello", "hello:", "text:hello", "{text}: hello", "-hello", "+", "'", "\\", "a OR",
		"OR OR OR", "hello NOT world", "\"hello\" OR \"x", "col:", ":", "ünïcode", "日本語", "\xf0\x9f\x98\x80",
		"\xff\xfe bad utf8", "a\x01" "b", "hello*", "*hello", "hello\"world", "NEAR(hello world, 2)",
	};
	int64_t mid[5];
	struct seen w = { 0 };
	int ok = 1;

	for (int i = 0; i < 5; i++)
		ok &= store_message_add(st, ids[i == 4 ? 2 : 0], "sip:carol@example.org", 10 + i, posts[i], strlen(posts[i]),
		                        NULL, 0, &mid[i]) == STORE_OK;
	CHECK(ok, "chat-7.1 posts for searching");
	CHECK(store_message_search(st, 0, "hello", 10, see_message, &w) == STORE_OK && w.n == 2 && w.ids[0] == mid[4] &&
	      w.ids[1] < w.ids[0], "chat-7.2 one word, all rooms, newest first");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, ids[0], "hello", 10, see_message, &w) == STORE_OK && w.n == 1 &&
	      strcmp(w.names[0], "hello world") == 0 && w.nums[0] == ids[0], "chat-7.3 scoped to one room");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "WORLD   hello", 10, see_message, &w) == STORE_OK && w.n == 2,
	      "chat-7.4 words ANDed in any order, any case, extra spaces");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "hello zebra", 10, see_message, &w) == STORE_OK && w.n == 0,
	      "chat-7.5 every word must match");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "OR", 10, see_message, &w) == STORE_OK && w.n == 1 && w.ids[0] == mid[1],
	      "chat-7.6 OR is a word, not an operator");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "a\" OR b*", 10, see_message, &w) == STORE_OK && w.n == 1 && w.ids[0] == mid[1],
	      "chat-7.7 quotes and * searched as text");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "NEAR(", 10, see_message, &w) == STORE_OK && w.n == 1 && w.ids[0] == mid[2],
	      "chat-7.8 NEAR( searched as text");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "STRASSE", 10, see_message, &w) == STORE_OK && w.n == 0 &&
	      store_message_search(st, 0, "ÜNÏCODE café", 10, see_message, &w) == STORE_OK && w.n == 1 && w.ids[0] == mid[3],
	      "chat-7.9 unicode words found, folded by the tokenizer");
	ok = 1;
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		int rc = store_message_search(st, 0, hostile[i], 10, see_message, &(struct seen){ 0 });

		if (rc != STORE_OK) {
			printf("#   search for [%s] returned %d\n", hostile[i], rc);
			ok = 0;
		}
	}
	CHECK(ok, "chat-7.10 hostile words never make an FTS5 error");
	CHECK(store_message_search(st, 0, "", 10, see_message, &w) == STORE_E_INVALID &&
	      store_message_search(st, 0, " \t\r\n ", 10, see_message, &w) == STORE_E_INVALID &&
	      store_message_search(st, 0, NULL, 10, see_message, &w) == STORE_E_INVALID, "chat-7.11 no words: INVALID");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, ids[1], "number", 4, see_message, &w) == STORE_OK && w.n == 4 &&
	      strcmp(w.names[0], "bulk message number 999") == 0 && strcmp(w.names[3], "bulk message number 996") == 0,
	      "chat-7.12 limit keeps the newest");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, ids[1], "number", 0, see_message, &w) == STORE_OK && w.n == 0,
	      "chat-7.13 limit 0 gives none");
	CHECK(store_message_search(st, ids[2], "number", 5, see_message, &w) == STORE_OK && w.n == 0,
	      "chat-7.14 another room's words are not found");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, 0, "world ! *", 10, see_message, &w) == STORE_OK && w.n == 2,
	      "chat-7.15 a word with nothing indexable does not empty the result");
}

static void test_follows(struct store *st, const int64_t ids[3])
{
	const char *u = "sip:dave@example.org";
	struct seen w = { 0 };
	int64_t m[3];

	CHECK(store_follow_add(st, u, ids[1]) == STORE_OK && store_follow_add(st, u, ids[0]) == STORE_OK,
	      "chat-8.1 follow two rooms");
	CHECK(store_follow_each(st, u, see_follow, &w) == STORE_OK && w.n == 2 && strcmp(w.names[0], "Alpha") == 0 &&
	      w.nums[0] == 0 && strcmp(w.names[1], "beta") == 0 && w.nums[1] == 0, "chat-8.2 existing messages count as read");
	for (int i = 0; i < 3; i++)
		store_message_add(st, ids[1], "sip:bob@example.org", 1, "new", 3, NULL, 0, &m[i]);
	w = (struct seen){ 0 };
	CHECK(store_follow_each(st, u, see_follow, &w) == STORE_OK && w.n == 2 && w.nums[0] == 0 && w.nums[1] == 3,
	      "chat-8.3 three posts: beta has 3 unread");
	CHECK(store_follow_mark_read(st, u, ids[1], m[1]) == STORE_OK, "chat-8.4 mark the second read");
	w = (struct seen){ 0 };
	CHECK(store_follow_each(st, u, see_follow, &w) == STORE_OK && w.nums[1] == 1, "chat-8.5 one unread left");
	CHECK(store_follow_mark_read(st, u, ids[1], m[0]) == STORE_OK && store_follow_add(st, u, ids[1]) == STORE_OK,
	      "chat-8.6 an older mark and a repeated follow are accepted");
	w = (struct seen){ 0 };
	CHECK(store_follow_each(st, u, see_follow, &w) == STORE_OK && w.nums[1] == 1,
	      "chat-8.7 ... and change nothing: still one unread");
	CHECK(store_follow_mark_read(st, u, ids[2], m[2]) == STORE_E_NOTFOUND &&
	      store_follow_add(st, u, 999) == STORE_E_NOTFOUND && store_follow_mark_read(st, u, ids[1], -1) == STORE_E_INVALID,
	      "chat-8.8 unfollowed or unknown room: NOTFOUND; negative id INVALID");
	CHECK(store_follow_del(st, u, ids[0]) == STORE_OK && store_follow_del(st, u, ids[0]) == STORE_E_NOTFOUND,
	      "chat-8.9 unfollow, then NOTFOUND");
	w = (struct seen){ 0 };
	CHECK(store_follow_each(st, u, see_follow, &w) == STORE_OK && w.n == 1 && strcmp(w.names[0], "beta") == 0,
	      "chat-8.10 one followed room left");
}

static void test_invites(struct store *st, const int64_t ids[3])
{
	const char *u = "sip:erin@example.org", *boss = "sip:boss@example.org";
	struct seen w = { 0 };

	CHECK(store_invite_add(st, ids[2], u, boss) == STORE_OK && store_invite_add(st, ids[0], u, boss) == STORE_OK,
	      "chat-9.1 two invitations");
	CHECK(store_invite_add(st, ids[2], u, "sip:other@example.org") == STORE_E_EXISTS, "chat-9.2 pending: EXISTS");
	CHECK(store_invite_add(st, 999, u, boss) == STORE_E_NOTFOUND && store_invite_add(st, ids[0], u, "") == STORE_E_INVALID,
	      "chat-9.3 unknown room NOTFOUND, empty inviter INVALID");
	CHECK(store_invite_each(st, u, see_invite, &w) == STORE_OK && w.n == 2 && strcmp(w.names[0], "Gamma ROOM") == 0 &&
	      strcmp(w.names[1], "Alpha") == 0 && w.nums[0] <= w.nums[1], "chat-9.4 each oldest first, with the inviter");
	CHECK(store_invite_del(st, ids[2], u) == STORE_OK && store_invite_del(st, ids[2], u) == STORE_E_NOTFOUND,
	      "chat-9.5 del, then NOTFOUND");
	w = (struct seen){ 0 };
	CHECK(store_invite_each(st, u, see_invite, &w) == STORE_OK && w.n == 1 && w.ids[0] == ids[0], "chat-9.6 one left");
}

/* Gamma ROOM has a role, a message, an invitation and a follower by now. */
static void test_room_del(struct store *st, const int64_t ids[3])
{
	struct store_room got;
	struct seen w = { 0 };
	int64_t id = 0, before = query_int(st->db, "SELECT max(id) FROM messages");

	store_invite_add(st, ids[2], "sip:erin@example.org", "sip:boss@example.org");
	store_follow_add(st, "sip:erin@example.org", ids[2]);
	CHECK(store_room_del(st, ids[2]) == STORE_OK && store_room_get_id(st, ids[2], &got) == STORE_E_NOTFOUND,
	      "chat-10.1 del");
	CHECK(query_int(st->db, "SELECT (SELECT count(*) FROM room_roles WHERE room_id = 3) +"
	                        " (SELECT count(*) FROM messages WHERE room_id = 3) +"
	                        " (SELECT count(*) FROM invitations WHERE room_id = 3) +"
	                        " (SELECT count(*) FROM follows WHERE room_id = 3)") == 0 && ids[2] == 3,
	      "chat-10.2 roles, messages, invitations and follows went with it");
	/* rank 1: check the index against the messages table, not just itself. */
	CHECK(sqlite3_exec(st->db, "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
	                   NULL, NULL, NULL) == SQLITE_OK &&
	      query_int(st->db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'again'") == 0,
	      "chat-10.3 the FTS index lost the room's messages too");
	CHECK(store_message_search(st, 0, "again", 10, see_message, &w) == STORE_OK && w.n == 0,
	      "chat-10.4 its messages are no longer found");
	CHECK(store_room_del(st, ids[2]) == STORE_E_NOTFOUND, "chat-10.5 del again: NOTFOUND");
	CHECK(store_message_add(st, ids[0], "sip:a@example.org", 1, "after", 5, NULL, 0, &id) == STORE_OK && id > before,
	      "chat-10.6 message ids keep rising after a delete");
}

static void test_events(struct store *st)
{
	static const char *const types[] = { "JOIN", "CHAT", "PART", "ADMIN" };
	struct store_event e = { .room_guid = "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10", .room_name = "beta",
	                         .user_uri = "sip:bob@example.org", .ts_us = 1 };
	struct seen w = { 0 };
	int ok = 1;

	for (int i = 0; i < 4; i++) {
		e.type = types[i];
		e.message_id = i == 1 ? 42 : 0;
		e.content = i == 1 ? "hi there" : NULL;
		e.content_len = i == 1 ? 8 : 0;
		if (i == 3)
			e.room_guid = NULL, e.room_name = NULL;
		ok &= store_event_add(st, &e) == STORE_OK;
	}
	CHECK(ok, "chat-11.1 four events (one with no room)");
	e.type = "BOGUS";
	CHECK(store_event_add(st, &e) == STORE_E_INVALID, "chat-11.2 unknown type refused");
	e.type = "JOIN", e.user_uri = NULL;
	CHECK(store_event_add(st, &e) == STORE_E_INVALID && store_event_add(st, NULL) == STORE_E_INVALID,
	      "chat-11.3 no user or no event refused");
	e.user_uri = "sip:bob@example.org", e.room_guid = "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10-too-long";
	CHECK(store_event_add(st, &e) == STORE_E_INVALID, "chat-11.4 over-long GUID refused");
	CHECK(store_event_each(st, 0, 100, see_event, &w) == STORE_OK && w.n == 4 && strcmp(w.names[0], "JOIN") == 0 &&
	      strcmp(w.names[1], "CHAT") == 0 && w.nums[1] == 42 && strcmp(w.names[3], "ADMIN") == 0 &&
	      w.ids[0] < w.ids[1] && w.ids[1] < w.ids[2] && w.ids[2] < w.ids[3], "chat-11.5 each oldest first");
	{
		struct seen v = { 0 };

		CHECK(store_event_each(st, w.ids[0], 2, see_event, &v) == STORE_OK && v.n == 2 && v.ids[0] == w.ids[1] &&
		      v.ids[1] == w.ids[2], "chat-11.6 after_seq and limit");
		CHECK(store_event_delete_upto(st, w.ids[1]) == STORE_OK, "chat-11.7 delete up to the second");
		v = (struct seen){ 0 };
		CHECK(store_event_each(st, 0, 100, see_event, &v) == STORE_OK && v.n == 2 && v.ids[0] == w.ids[2],
		      "chat-11.8 the two later ones are left, in order");
		CHECK(store_event_delete_upto(st, w.ids[3]) == STORE_OK && store_event_add(st, &(struct store_event){
		      .type = "JOIN", .user_uri = "sip:bob@example.org" }) == STORE_OK, "chat-11.9 delete all, add one");
		v = (struct seen){ 0 };
		CHECK(store_event_each(st, 0, 100, see_event, &v) == STORE_OK && v.n == 1 && v.ids[0] > w.ids[3],
		      "chat-11.10 sequence numbers are never reused");
	}
}

/* A row written behind the store's back that would not fit the struct. */
static void test_overlong_rows(struct store *st)
{
	struct store_room got;
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO rooms (guid, name, category_id, created_us) VALUES"
	         " ('00000000-0000-4000-8000-000000000000', printf('%%.%dc', 'x'), 1, 0)", STORE_NAME_MAX);
	CHECK(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK, "chat-12.1 insert an over-long name by hand");
	CHECK(store_room_get_guid(st, "00000000-0000-4000-8000-000000000000", &got) == STORE_E_IO,
	      "chat-12.2 reading it is IO, not an overrun");
	CHECK(sqlite3_exec(st->db, "DELETE FROM rooms WHERE guid = '00000000-0000-4000-8000-000000000000'", NULL, NULL, NULL) == SQLITE_OK,
	      "chat-12.3 remove it");
}

static void test_reopen(const char *path)
{
	struct store *st = open_store(path);
	struct store_room got;
	struct seen w = { 0 };
	char err[256];

	if (!CHECK(st != NULL, "chat-13.1 reopen"))
		return;
	CHECK(store_room_get_name(st, "beta", &got) == STORE_OK && strcmp(got.guid, "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10") == 0,
	      "chat-13.2 rooms kept");
	CHECK(store_message_last(st, got.id, 2, see_message, &w) == STORE_OK && w.n == 2 && strcmp(w.names[1], "new") == 0,
	      "chat-13.3 messages kept");
	w = (struct seen){ 0 };
	CHECK(store_follow_each(st, "sip:dave@example.org", see_follow, &w) == STORE_OK && w.n == 1 && w.nums[0] == 1,
	      "chat-13.4 follows and read marks kept");
	w = (struct seen){ 0 };
	CHECK(store_message_search(st, got.id, "number 500", 5, see_message, &w) == STORE_OK && w.n == 1,
	      "chat-13.5 the search index kept");
	CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION && store_integrity_check(st, err, sizeof err) == STORE_OK,
	      "chat-13.6 current version, integrity check passes");
	store_close(st);
}

/* A file written by the version-1 pchat: only migration 1, with a user. */
static void test_migrate_v1(void)
{
	struct store *st;
	struct store_user u;
	struct store_category c;
	struct store_room r = { .name = "after upgrade", .category_id = 1 };
	sqlite3 *db = NULL;
	char path[512];

	path_in_dir(path, sizeof path, "v1.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && exec_script(db, store_migrations[0]) == SQLITE_OK &&
	      sqlite3_exec(db, "INSERT INTO users (uri, nt_hash, created_us) VALUES ('sip:old@example.org', zeroblob(16), 1);"
	                       "PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK, "chat-14.1 write a version-1 file");
	sqlite3_close(db);
	st = NULL;
	store_open_ex(&st, path, STORE_OPEN_MIGRATE, NULL, NULL, 0);
	if (!CHECK(st != NULL, "chat-14.2 open to migrate migrates it"))
		return;
	CHECK(store_schema_version(st) == STORE_SCHEMA_VERSION, "chat-14.3 now the current version");
	CHECK(store_user_get(st, "sip:old@example.org", &u) == STORE_OK && u.created_us == 1, "chat-14.4 its user kept");
	CHECK(store_category_get(st, "default", &c) == STORE_OK && c.id == 1 && c.file_upload && c.invitations && c.history,
	      "chat-14.5 default category kept, new flags on");
	CHECK(store_room_add(st, &r) == STORE_OK && store_message_add(st, r.id, "sip:old@example.org", 1, "x", 1, NULL, 0, NULL) == STORE_OK,
	      "chat-14.6 chat tables usable");
	store_close(st);
}

/* Room keys (issue 16): a GUID, or the number of a room kept from an older
 * server; the store takes both and finds both. */
static void test_room_keys(struct store *st)
{
	struct store_room n = { .name = "Kept 300", .category_id = 1, .guid = "300" }, got;

	CHECK(store_room_key_form("300", 3) == STORE_KEY_NUMBER &&
	      store_room_key_form("6F2D5C1E-0B7A-4E0D-9A55-3C1D2E7F9A10", 36) == STORE_KEY_GUID &&
	      store_room_key_form("0300", 4) == STORE_KEY_NONE && store_room_key_form("", 0) == STORE_KEY_NONE &&
	      store_room_key_form("1234567890123456789", 19) == STORE_KEY_NONE &&
	      store_room_key_form("6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a1g", 36) == STORE_KEY_NONE &&
	      store_room_key_form("6f2d5c1e00b7a-4e0d-9a55-3c1d2e7f9a10", 36) == STORE_KEY_NONE,
	      "chat-13.1 key forms: GUID either case, number without a leading zero, nothing else");
	CHECK(store_room_add(st, &n) == STORE_OK && strcmp(n.guid, "300") == 0 &&
	      store_room_get_guid(st, "300", &got) == STORE_OK && got.id == n.id,
	      "chat-13.2 a room keeps a numeric key and is found by it");
	n = (struct store_room){ .name = "Kept again", .category_id = 1, .guid = "300" };
	CHECK(store_room_add(st, &n) == STORE_E_EXISTS, "chat-13.3 a numeric key in use: EXISTS");
	n = (struct store_room){ .name = "Upper", .category_id = 1, .guid = "6F2D5C1E-0B7A-4E0D-9A55-3C1D2E7F9A12" };
	CHECK(store_room_add(st, &n) == STORE_E_INVALID, "chat-13.4 add takes a GUID in lower case only");
	CHECK(store_room_get_guid(st, "300", &got) == STORE_OK && store_room_del(st, got.id) == STORE_OK,
	      "chat-13.5 removed again");
}

static void remove_dir(void)
{
	CHECK(test_dir_remove(dir) == 0, "chat-15.1 temp folder removed");
}

int main(void)
{
	struct store *st;
	char path[512];
	int64_t ids[3] = { 0 };

	if (test_dir_make(dir) < 0)
		return 1;
	path_in_dir(path, sizeof path, "chat.db");
	st = open_store(path);
	if (CHECK(st != NULL, "chat-1.0 open a new store")) {
		test_open(st);
		test_categories(st);
		test_lists(st);
		test_rooms(st, ids);
		test_roles(st, ids);
		test_messages(st, ids);
		test_search(st, ids);
		test_follows(st, ids);
		test_invites(st, ids);
		test_room_del(st, ids);
		test_events(st);
		test_overlong_rows(st);
		test_room_keys(st);
		store_close(st);
		test_reopen(path);
	}
	test_migrate_v1();
	remove_dir();
	return check_done("store_chat");
}
