/*
 * store.h - the one SQLite file: schema, migrations and every query.
 *
 * store.c depends on nothing else of pchat's.  A struct store is owned by
 * whoever opened it (the server context, or one admin command) and holds the
 * connection plus statements prepared once at open.  Functions return
 * STORE_OK or a negative STORE_E_* code; messages for the user go into a
 * caller-supplied err buffer where there is one.
 */
#ifndef PCHAT_STORE_H
#define PCHAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 2
#define STORE_URI_MAX 256

enum {
	STORE_OK = 0,
	STORE_E_IO = -1,        /* SQLite error; logged with sqlite3_errmsg */
	STORE_E_NOTFOUND = -2,
	STORE_E_EXISTS = -3,
	STORE_E_BUSY = -4,      /* locked by another process past the busy timeout */
	STORE_E_FULL = -5,      /* disk full or read-only: refuse, acknowledge nothing */
	STORE_E_VERSION = -6,   /* file is from a newer pchat */
	STORE_E_INVALID = -7,   /* argument refused: empty or over-long URI, NULL pointer */
	STORE_E_INUSE = -8      /* category still has rooms */
};

struct store;

struct store_user {
	char uri[STORE_URI_MAX];    /* "sip:alice@example.org" */
	uint8_t nt_hash[16];
	int disabled;
	int64_t created_us;         /* UTC microseconds */
};

/* Open (creating if missing) the store at path, switch to WAL, run forward
 * migrations up to STORE_SCHEMA_VERSION and prepare statements.  A default
 * category named "default" exists afterwards.  On failure *out is NULL and
 * err holds one line.  Returns STORE_OK, STORE_E_IO or STORE_E_VERSION. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);

/* Finalize statements and close. Safe on NULL. */
void store_close(struct store *st);

/* The schema version the open file is at (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Users.  uri is the canonical SIP URI ("sip:alice@example.org").
 * add: STORE_E_EXISTS if present.  set_hash/del/get: STORE_E_NOTFOUND if absent. */
int store_user_add(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_set_hash(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_del(struct store *st, const char *uri);
int store_user_get(struct store *st, const char *uri, struct store_user *out);

/* Call fn once per user in URI order; stops early and returns fn's value if it
 * returns non-zero.  Returns STORE_OK or STORE_E_IO otherwise. */
int store_user_each(struct store *st, int (*fn)(void *arg, const struct store_user *u), void *arg);

/* Group commits: the server opens one transaction per loop pass and commits it
 * before acknowledging anything written in it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* ---- Chat data (migration 2) ------------------------------------------------
 * Rooms are addressed on the wire as ma-chan://DOMAIN/GUID; the store keeps
 * the GUID only.  Names are unique case-insensitively.  Every text field is
 * UTF-8 and bounded by the array it is copied into; a longer value is refused
 * with STORE_E_INVALID, never truncated. */
#define STORE_NAME_MAX 128      /* bytes incl. NUL: room and category names */
#define STORE_TEXT_MAX 1024     /* bytes incl. NUL: descriptions, topics */
#define STORE_GUID_LEN 36       /* "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10" */

enum store_privacy { STORE_PRIVACY_OPEN = 0, STORE_PRIVACY_CLOSED = 1, STORE_PRIVACY_SECRET = 2 };
enum store_room_type { STORE_ROOM_NORMAL = 0, STORE_ROOM_AUDITORIUM = 1 };
enum store_invitations { STORE_INVITE_INHERIT = -1, STORE_INVITE_OFF = 0, STORE_INVITE_ON = 1 };
/* Room roles are bits: a user may hold several. */
enum { STORE_ROLE_MEMBER = 1, STORE_ROLE_MANAGER = 2, STORE_ROLE_PRESENTER = 4 };
/* A category's principal lists. allowed empty = everyone may be in its rooms;
 * denied wins over allowed (an "ethical wall"); creators may create rooms. */
enum store_cat_list { STORE_CAT_ALLOWED = 0, STORE_CAT_DENIED = 1, STORE_CAT_CREATOR = 2 };

struct store_category {
	int64_t id;
	char name[STORE_NAME_MAX];
	char description[STORE_TEXT_MAX];
	int file_upload;            /* 0/1, default 1 */
	int invitations;            /* 0/1, default 1 */
	int history;                /* 0/1, default 1: messages kept and served by bccontext */
	int64_t created_us;
};

struct store_room {
	int64_t id;
	char guid[STORE_GUID_LEN + 1];
	char name[STORE_NAME_MAX];
	char description[STORE_TEXT_MAX];
	char topic[STORE_TEXT_MAX];
	int64_t category_id;
	int privacy;                /* enum store_privacy, default CLOSED */
	int type;                   /* enum store_room_type */
	int invitations;            /* enum store_invitations */
	int disabled;
	int64_t created_us;
};

/* One stored post.  text/extra point into SQLite's row buffer and are valid
 * only during the callback.  extra is the original XML of child elements of
 * <grpchat> other than <chat> ("" when none), relayed verbatim. */
struct store_message {
	int64_t id;
	int64_t room_id;
	const char *author;
	int64_t ts_us;
	const char *text;
	size_t text_len;
	const char *extra;
	size_t extra_len;
};

/* Categories.  add fills c->id and c->created_us; STORE_E_EXISTS on a taken
 * name.  update writes every field by c->id.  del refuses with STORE_E_INUSE
 * while rooms use it and never deletes the category named "default". */
int store_category_add(struct store *st, struct store_category *c);
int store_category_update(struct store *st, const struct store_category *c);
int store_category_get(struct store *st, const char *name, struct store_category *out);
int store_category_get_id(struct store *st, int64_t id, struct store_category *out);
int store_category_del(struct store *st, const char *name);
int store_category_each(struct store *st, int (*fn)(void *arg, const struct store_category *c), void *arg);
/* Principal lists: add is idempotent (STORE_OK if already there); del gives
 * STORE_E_NOTFOUND if absent; has returns 1, 0 or a negative STORE_E_*; each
 * goes in URI order. */
int store_category_list_add(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_del(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_has(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_each(struct store *st, int64_t category_id, enum store_cat_list list,
                             int (*fn)(void *arg, const char *uri), void *arg);

/* Rooms.  add generates a random v4 GUID when r->guid is empty, fills r->id
 * and r->created_us; STORE_E_EXISTS on a taken name or GUID, STORE_E_NOTFOUND
 * for an unknown category.  update writes every field by r->id.  del removes
 * the room with its roles, messages, invitations and follows. */
int store_room_add(struct store *st, struct store_room *r);
int store_room_update(struct store *st, const struct store_room *r);
int store_room_get_guid(struct store *st, const char *guid, struct store_room *out);
int store_room_get_name(struct store *st, const char *name, struct store_room *out);
int store_room_get_id(struct store *st, int64_t id, struct store_room *out);
int store_room_del(struct store *st, int64_t room_id);
/* Rooms in name order whose name contains name_part (case-insensitive for
 * ASCII; NULL or "" = all), disabled ones included: callers apply the rules. */
int store_room_each(struct store *st, const char *name_part,
                    int (*fn)(void *arg, const struct store_room *r), void *arg);

/* Roles.  add ORs bits in (STORE_OK if already held); del clears bits
 * (STORE_E_NOTFOUND if none of them was held).  roles returns the bit set
 * (0 = none) or a negative STORE_E_*.  each goes in URI order with the bits;
 * user_rooms lists every room where uri holds any role (getassociations). */
int store_room_role_add(struct store *st, int64_t room_id, const char *uri, int roles);
int store_room_role_del(struct store *st, int64_t room_id, const char *uri, int roles);
int store_room_roles(struct store *st, int64_t room_id, const char *uri);
int store_room_role_each(struct store *st, int64_t room_id,
                         int (*fn)(void *arg, const char *uri, int roles), void *arg);
int store_user_rooms(struct store *st, const char *uri,
                     int (*fn)(void *arg, const struct store_room *r, int roles), void *arg);

/* Messages.  add assigns the id (monotonic 64-bit) into *id_out; text is
 * indexed for search.  last calls fn for the newest `count` messages of the
 * room, oldest first.  search finds messages whose text matches every word of
 * words (FTS5; words are quoted by the store, so no query syntax leaks
 * through), room_id 0 = all rooms, newest first, at most limit.  latest_id is
 * the room's newest message id (0 if none). */
int store_message_add(struct store *st, int64_t room_id, const char *author, int64_t ts_us,
                      const char *text, size_t text_len, const char *extra, size_t extra_len,
                      int64_t *id_out);
int store_message_last(struct store *st, int64_t room_id, int count,
                       int (*fn)(void *arg, const struct store_message *m), void *arg);
int store_message_search(struct store *st, int64_t room_id, const char *words, int limit,
                         int (*fn)(void *arg, const struct store_message *m), void *arg);
int store_message_latest_id(struct store *st, int64_t room_id, int64_t *id_out);

/* Invitations (one per room and invitee).  add: STORE_E_EXISTS if pending.
 * each lists a user's pending invitations, oldest first. */
int store_invite_add(struct store *st, int64_t room_id, const char *uri, const char *inviter);
int store_invite_del(struct store *st, int64_t room_id, const char *uri);
int store_invite_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us),
                      void *arg);

/* Followed rooms, kept per user.  add is idempotent and marks everything up
 * to now as read.  mark_read records the newest message the user has seen.
 * each gives, per followed room in name order, how many messages arrived
 * after the last one read (the unread figure). */
int store_follow_add(struct store *st, const char *uri, int64_t room_id);
int store_follow_del(struct store *st, const char *uri, int64_t room_id);
int store_follow_mark_read(struct store *st, const char *uri, int64_t room_id, int64_t message_id);
int store_follow_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, int64_t unread), void *arg);

/* Compliance events, appended in the caller's transaction (compliance.c is
 * the only caller).  type is "JOIN", "PART", "CHAT", "BACKCHAT",
 * "FILEUPLOAD", "FILEDOWNLOAD" or "ADMIN"; room_guid and content may be NULL.
 * message_id is the CHAT message's id, else 0. */
struct store_event {
	int64_t seq;
	const char *type;
	const char *room_guid;
	const char *room_name;
	const char *user_uri;
	int64_t ts_us;
	int64_t message_id;
	const char *content;
	size_t content_len;
};
int store_event_add(struct store *st, const struct store_event *e);
/* Oldest first, at most limit, with seq > after_seq; pointers valid during fn. */
int store_event_each(struct store *st, int64_t after_seq, int limit,
                     int (*fn)(void *arg, const struct store_event *e), void *arg);
/* Delete events with seq <= upto_seq (after their export is on disk). */
int store_event_delete_upto(struct store *st, int64_t upto_seq);

/* Run PRAGMA integrity_check; STORE_OK when it answers "ok". */
int store_integrity_check(struct store *st, char *err, size_t errlen);

/* One line describing a STORE_E_* code. */
const char *store_strerror(int code);

#endif
