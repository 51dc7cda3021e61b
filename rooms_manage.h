/*
 * rooms_manage.h - the one set of rules for managing categories and rooms,
 * shared by the admin CLI (admin_rooms.c) and the room-management web
 * service (its pages and the RMCommand handler, rm_command.h).
 *
 * A change names who makes it (struct rm_actor) and is a list of key/value
 * items applied in order, e.g. { RM_TOPIC, "Hello" }, { RM_MEMBER, "bob" }.
 * Each call checks every value, then the actor's right (Lync roles: a site
 * admin may do everything; a category's creator may create rooms in it and
 * becomes the new room's manager; a room's manager may change every property
 * of the room except its category, its members, managers and presenters, and
 * disable or enable it; members and presenters may manage nothing), then
 * applies the change with its ADMIN compliance event (naming the actor) and
 * checks the category's ethical wall (allowed and denied lists) after it:
 * whatever breaks the wall is taken back, whichever way it was attempted.
 * A room the actor may not see answers RM_NOT_FOUND, "not found", exactly as
 * a missing one.
 *
 * Transactions: with own_tx set (the CLI) each call opens and commits a
 * transaction of its own; without it (in the server) the change is one
 * request's savepoint in the loop pass's transaction (store_pass_write), so
 * a refused change is taken back without undoing the rest of the pass, and
 * the pass's commit makes it durable before any answer leaves.  With live
 * set (in the server) people in the room learn of the change at once
 * (chat_room_changed).
 */
#ifndef PCHAT_ROOMS_MANAGE_H
#define PCHAT_ROOMS_MANAGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct chat_rooms;

enum rm_result {
	RM_OK = 0,
	RM_BAD_VALUE,           /* a value refused (empty, too long, not text, unknown word or user) */
	RM_FORBIDDEN,           /* the actor may see the room or category but not do this */
	RM_NOT_FOUND,           /* no such room/category, or one the actor may not see */
	RM_NAME_TAKEN,          /* a room or category of that name exists */
	RM_WALL,                /* someone in a room would break its category's allowed/denied lists */
	RM_STORE                /* the store failed (busy, full, I/O); nothing changed */
};

/* Who acts.  uri: a SIP URI ("sip:alice@example.org") for a web user, or the
 * ADMIN event's actor text for the CLI ("admin:OSUSER").  site_admin: may do
 * everything (the CLI; web users named in [web] admins). */
struct rm_actor {
	const char *uri;
	int site_admin;
};

#define RM_WHY_MAX 320

/* The context of one or more calls. */
struct rm_ctx {
	struct store *st;
	const struct config *cfg;
	int own_tx;                 /* 1: a transaction of its own per call (CLI); 0: the server's pass */
	struct chat_rooms *live;    /* NULL: nobody to tell (CLI, tests) */
	char why[RM_WHY_MAX];       /* after a result other than RM_OK: why, one line without "pchat: " */
	int64_t room_id;            /* after a room change: the room's id (0 otherwise) */
	unsigned changed;           /* after a room change: CHAT_CHANGED_* bits of what changed */
};

/* The keys of a change.  Their names (rm_key_name) are the CLI's option
 * names without "--" and the ADMIN event's keys. */
enum rm_key {
	RM_DESCRIPTION, RM_TOPIC, RM_NAME, RM_RENAME, RM_CATEGORY, RM_FILE_UPLOAD, RM_HISTORY,
	RM_INVITATIONS, RM_PRIVACY, RM_TYPE,
	RM_ALLOW, RM_DENY, RM_CREATOR, RM_UNALLOW, RM_UNDENY, RM_UNCREATOR,
	RM_MEMBER, RM_MANAGER, RM_PRESENTER, RM_REMOVE_MEMBER, RM_REMOVE_MANAGER, RM_REMOVE_PRESENTER,
	RM_KEY_COUNT
};
/* Which change a key belongs to (bits). */
enum { RM_FOR_CATEGORY_ADD = 1, RM_FOR_CATEGORY_SET = 2, RM_FOR_ROOM_ADD = 4, RM_FOR_ROOM_SET = 8 };

struct rm_item {
	enum rm_key key;
	const char *value;      /* text, a word (on/off, inherit/off/on, open/closed/secret, normal/auditorium) or a user */
};
struct rm_change {
	const struct rm_item *items;
	size_t n;
};

/* "description", "remove-member", ...; rm_key_parse is the reverse (-1 if unknown). */
const char *rm_key_name(enum rm_key key);
int rm_key_parse(const char *name);
/* 1 if key may appear in a change for `where` (RM_FOR_* bits). */
int rm_key_allowed(enum rm_key key, unsigned where);
/* The words a key takes (NULL-terminated: "off","on" / "inherit","off","on" /
 * "open","closed","secret" / "normal","auditorium"), NULL for text and users. */
const char *const *rm_key_words(enum rm_key key, unsigned where);
/* The word for a stored value: rm_word(rm_key_words(k, w), v) ("?" if out of range;
 * invitations of a room are stored as index - 1). */
const char *rm_word(const char *const *words, int index);

/* Check one value as rm_* calls will: RM_OK or RM_BAD_VALUE with why
 * (e.g. "--topic is too long (N bytes; at most M)", label names the value). */
enum rm_result rm_check_value(struct rm_ctx *ctx, enum rm_key key, unsigned where, const char *label,
                              const char *value);
/* Check a room or category name given on its own (label: "a room name"). */
enum rm_result rm_check_name(struct rm_ctx *ctx, const char *label, const char *name);
/* The canonical URI of a user ("alice", "alice@x", "sip:alice@x"); RM_BAD_VALUE with why. */
enum rm_result rm_user_uri(struct rm_ctx *ctx, const char *user, char out[STORE_URI_MAX]);
/* 1 if uri is named in [web] admins (names canonicalised like other users). */
int rm_is_site_admin(const struct config *cfg, const char *uri);

/* ---- changes ---- */
/* Rooms are named by name, GUID or ma-chan://DOMAIN/GUID.  out (may be NULL)
 * gets the room as it is after the change. */
enum rm_result rm_room_create(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                              const struct rm_change *ch, struct store_room *out);
enum rm_result rm_room_modify(struct rm_ctx *ctx, const struct rm_actor *a, const char *room,
                              const struct rm_change *ch, struct store_room *out);
/* verb: "disable", "enable" (site admins and the room's managers) or "del"
 * (site admins only; refused while its files await a compliance export). */
enum rm_result rm_room_state(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, const char *verb,
                             struct store_room *out);
/* Categories: site admins only. */
enum rm_result rm_category_create(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                                  const struct rm_change *ch, struct store_category *out);
enum rm_result rm_category_modify(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                                  const struct rm_change *ch, struct store_category *out);
enum rm_result rm_category_delete(struct rm_ctx *ctx, const struct rm_actor *a, const char *name);

/* ---- reads for the pages (no transaction needed) ---- */
/* Find a room the actor may see (site admin: any; else a room where the
 * actor holds a role, or one the chat rules let them find).  RM_NOT_FOUND
 * otherwise. */
enum rm_result rm_room_find(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, struct store_room *out);
/* 1 if the actor may manage the room (site admin or its manager). */
int rm_may_manage(struct rm_ctx *ctx, const struct rm_actor *a, const struct store_room *r);

/* A room with its settings and role lists (URIs, in URI order). */
struct rm_room_info {
	struct store_room room;
	struct store_category category;
	char **members, **managers, **presenters;
	size_t n_members, n_managers, n_presenters;
	int may_manage;             /* the actor may change it */
	int actor_roles;            /* STORE_ROLE_* bits the actor holds */
};
enum rm_result rm_room_get(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, struct rm_room_info *out);
void rm_room_info_free(struct rm_room_info *info);

/* A category with its lists (site admins only). */
struct rm_category_info {
	struct store_category category;
	char **allowed, **denied, **creators;
	size_t n_allowed, n_denied, n_creators;
	size_t rooms;
};
enum rm_result rm_category_get(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                               struct rm_category_info *out);
void rm_category_info_free(struct rm_category_info *info);

/* "My rooms": every room where the actor holds a role or that the actor
 * follows, in name order, each once; disabled rooms only where the actor
 * manages them.  all_rooms (site admins): every room instead. */
struct rm_room_entry {
	struct store_room room;
	char category[STORE_NAME_MAX];
	int roles;                  /* STORE_ROLE_* bits the actor holds */
	int followed;
	int64_t unread;             /* messages after the last one read (followed rooms), else 0 */
	int may_manage;
};
enum rm_result rm_my_rooms(struct rm_ctx *ctx, const struct rm_actor *a, int all_rooms,
                           struct rm_room_entry **out, size_t *n);
/* Categories the actor may create rooms in (creator; site admins: all), name order. */
enum rm_result rm_creator_categories(struct rm_ctx *ctx, const struct rm_actor *a, struct store_category **out,
                                     size_t *n);
/* Up to max (at most RM_SEARCH_MAX) enabled users whose URI, or the URI
 * without "sip:", starts with prefix (case-insensitive), in URI order.
 * Free with rm_strings_free. */
#define RM_SEARCH_MAX 50
enum rm_result rm_user_search(struct rm_ctx *ctx, const struct rm_actor *a, const char *prefix, size_t max,
                              char ***out, size_t *n);
void rm_strings_free(char **s, size_t n);

/* Short text of a result ("ok", "bad value", "forbidden", "not found", ...). */
const char *rm_result_name(enum rm_result r);

#endif
