/*
 * rooms_manage.c - the rules of room and category management, for the CLI
 * and the web (see rooms_manage.h): values checked, the actor's right
 * checked where the change happens, the change applied with its ADMIN
 * compliance event in one transaction (or one savepoint of the server's
 * pass), the ethical wall checked after it, people in the room told.
 */
#include "rooms_manage.h"
#include "room_uri.h"
#include "wall.h"
#include "compliance_types.h"
#include "user_uri.h"
#include "base.h"
#include "buf.h"
#include "chat_rooms.h"
#include "compliance.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_EVENT_MAX (4u << 20)      /* cap on one ADMIN event's text */
#define HIDDEN "not found"              /* what a room the actor may not see answers */

enum val_kind { V_NAME, V_TEXT, V_ONOFF, V_INVITE, V_PRIVACY, V_TYPE, V_USER, V_KEY };

#define W_CAT (RM_FOR_CATEGORY_ADD | RM_FOR_CATEGORY_SET)
#define W_ROOM (RM_FOR_ROOM_ADD | RM_FOR_ROOM_SET)

static const struct rm_key_def {
	const char *name;
	enum val_kind room_kind, cat_kind;
	unsigned where;
} key_defs[RM_KEY_COUNT] = {
	[RM_DESCRIPTION] = { "description", V_TEXT, V_TEXT, W_CAT | W_ROOM },
	[RM_TOPIC] = { "topic", V_TEXT, V_TEXT, W_ROOM },
	[RM_NAME] = { "name", V_NAME, V_NAME, RM_FOR_ROOM_SET },
	[RM_RENAME] = { "rename", V_NAME, V_NAME, RM_FOR_CATEGORY_SET },
	[RM_CATEGORY] = { "category", V_NAME, V_NAME, W_ROOM },
	[RM_FILE_UPLOAD] = { "file-upload", V_ONOFF, V_ONOFF, W_CAT },
	[RM_HISTORY] = { "history", V_ONOFF, V_ONOFF, W_CAT },
	[RM_INVITATIONS] = { "invitations", V_INVITE, V_ONOFF, W_CAT | W_ROOM },
	[RM_PRIVACY] = { "privacy", V_PRIVACY, V_PRIVACY, W_ROOM },
	[RM_TYPE] = { "type", V_TYPE, V_TYPE, W_ROOM },
	[RM_GUID] = { "guid", V_KEY, V_KEY, RM_FOR_ROOM_ADD },
	[RM_ALLOW] = { "allow", V_USER, V_USER, W_CAT },
	[RM_DENY] = { "deny", V_USER, V_USER, W_CAT },
	[RM_CREATOR] = { "creator", V_USER, V_USER, W_CAT },
	[RM_UNALLOW] = { "unallow", V_USER, V_USER, RM_FOR_CATEGORY_SET },
	[RM_UNDENY] = { "undeny", V_USER, V_USER, RM_FOR_CATEGORY_SET },
	[RM_UNCREATOR] = { "uncreator", V_USER, V_USER, RM_FOR_CATEGORY_SET },
	[RM_MEMBER] = { "member", V_USER, V_USER, W_ROOM },
	[RM_MANAGER] = { "manager", V_USER, V_USER, W_ROOM },
	[RM_PRESENTER] = { "presenter", V_USER, V_USER, W_ROOM },
	[RM_REMOVE_MEMBER] = { "remove-member", V_USER, V_USER, RM_FOR_ROOM_SET },
	[RM_REMOVE_MANAGER] = { "remove-manager", V_USER, V_USER, RM_FOR_ROOM_SET },
	[RM_REMOVE_PRESENTER] = { "remove-presenter", V_USER, V_USER, RM_FOR_ROOM_SET },
};

/* The index is the stored value (room invitations are stored as index - 1). */
static const char *const onoff_words[] = { "off", "on", NULL };
static const char *const invite_words[] = { "inherit", "off", "on", NULL };
static const char *const privacy_words[] = { "open", "closed", "secret", NULL };
static const char *const type_words[] = { "normal", "auditorium", NULL };

static enum rm_result fail(struct rm_ctx *ctx, enum rm_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum rm_result fail(struct rm_ctx *ctx, enum rm_result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->why, sizeof ctx->why, fmt, ap);
	va_end(ap);
	return r;
}

const char *rm_result_name(enum rm_result r)
{
	switch (r) {
	case RM_OK: return "ok";
	case RM_BAD_VALUE: return "bad value";
	case RM_FORBIDDEN: return "forbidden";
	case RM_NOT_FOUND: return "not found";
	case RM_NAME_TAKEN: return "name taken";
	case RM_WALL: return "ethical wall";
	case RM_STORE: return "store error";
	}
	return "?";
}

/* ---- keys and values --------------------------------------------------------- */

const char *rm_key_name(enum rm_key key)
{
	return (unsigned)key < RM_KEY_COUNT ? key_defs[key].name : "?";
}

int rm_key_parse(const char *name)
{
	for (int k = 0; k < RM_KEY_COUNT; k++)
		if (strcmp(key_defs[k].name, name) == 0)
			return k;
	return -1;
}

int rm_key_allowed(enum rm_key key, unsigned where)
{
	return (unsigned)key < RM_KEY_COUNT && (key_defs[key].where & where) != 0;
}

static enum val_kind key_kind(enum rm_key key, unsigned where)
{
	return where & W_CAT ? key_defs[key].cat_kind : key_defs[key].room_kind;
}

const char *const *rm_key_words(enum rm_key key, unsigned where)
{
	if ((unsigned)key >= RM_KEY_COUNT)
		return NULL;
	switch (key_kind(key, where)) {
	case V_ONOFF: return onoff_words;
	case V_INVITE: return invite_words;
	case V_PRIVACY: return privacy_words;
	case V_TYPE: return type_words;
	default: return NULL;
	}
}

const char *rm_word(const char *const *words, int i)
{
	if (words == NULL || i < 0)
		return "?";
	for (int k = 0; k <= i; k++)
		if (words[k] == NULL)
			return "?";
	return words[i];
}

static int word_index(const char *const *words, const char *s)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], s) == 0)
			return i;
	return -1;
}

/* The stored number of a checked word value. */
static int word_value(enum rm_key key, unsigned where, const char *v)
{
	const char *const *words = rm_key_words(key, where);
	int k = words ? word_index(words, v) : -1;

	return key_kind(key, where) == V_INVITE ? k - 1 : k;
}

static enum rm_result check_text(struct rm_ctx *ctx, const char *what, const char *s, size_t max, int name)
{
	size_t n = strlen(s);

	if (name && n == 0)
		return fail(ctx, RM_BAD_VALUE, "%s must not be empty", what);
	if (n >= max)
		return fail(ctx, RM_BAD_VALUE, "%s is too long (%zu bytes; at most %zu)", what, n, max - 1);
	if (!utf8_text_ok(s, strlen(s), 0))
		return fail(ctx, RM_BAD_VALUE, "%s must be UTF-8 text without control characters (tabs, line breaks)", what);
	if (utf8_has_bidi_control(s, n))
		return fail(ctx, RM_BAD_VALUE, "%s must not hold bidi or format characters (U+200E, U+200F, "
		            "U+202A-U+202E, U+2066-U+2069)", what);
	if (name && strncasecmp(s, ROOM_URI_SCHEME, strlen(ROOM_URI_SCHEME)) == 0)
		return fail(ctx, RM_BAD_VALUE, "%s must not start with %s", what, ROOM_URI_SCHEME);
	return RM_OK;
}

enum rm_result rm_check_name(struct rm_ctx *ctx, const char *label, const char *name)
{
	return check_text(ctx, label, name, STORE_NAME_MAX, 1);
}

enum rm_result rm_user_uri(struct rm_ctx *ctx, const char *user, char out[STORE_URI_MAX])
{
	char err[256];

	if (admin_user_uri(user, ctx->cfg->domain, out, STORE_URI_MAX, err, sizeof err) < 0)
		return fail(ctx, RM_BAD_VALUE, "%s", err);
	return RM_OK;
}

/* A room address kept from another server (--guid): a GUID, a number as
 * older servers' ma-chan://DOMAIN/300, or either as the full address of this
 * domain.  key gets the stored form (lower-case GUID, or the digits). */
static enum rm_result room_key(struct rm_ctx *ctx, const char *v, char key[STORE_URI_MAX])
{
	size_t pl = strlen(ROOM_URI_SCHEME), dl = strlen(ctx->cfg->domain), n;
	const char *k = v;

	if (strncasecmp(v, ROOM_URI_SCHEME, pl) == 0) {
		if (strncasecmp(v + pl, ctx->cfg->domain, dl) != 0 || v[pl + dl] != '/')
			return fail(ctx, RM_BAD_VALUE, "%.128s is not a room address of this server (%s%s/GUID or /NUMBER)",
			            v, ROOM_URI_SCHEME, ctx->cfg->domain);
		k = v + pl + dl + 1;
	}
	n = strnlen(k, STORE_GUID_LEN + 1);
	if (store_room_key_form(k, n) == STORE_KEY_NONE || k[n] != '\0')
		return fail(ctx, RM_BAD_VALUE,
		            "--guid takes a GUID (8-4-4-4-12 hex digits), a number of 1 to %d digits without a leading "
		            "zero, or %s%s/ either; not \"%.128s\"", STORE_ROOM_NUMBER_DIGITS, ROOM_URI_SCHEME,
		            ctx->cfg->domain, v);
	for (size_t i = 0; i <= n; i++)
		key[i] = (char)(k[i] >= 'A' && k[i] <= 'F' ? k[i] + 32 : k[i]);
	return RM_OK;
}

/* Give new room r the address v names, unless another room has it. */
static enum rm_result room_key_take(struct rm_ctx *ctx, const char *v, struct store_room *r)
{
	char key[STORE_URI_MAX];
	struct store_room other;
	enum rm_result res;
	int rc;

	if ((res = room_key(ctx, v, key)) != RM_OK)
		return res;
	if ((rc = store_room_get_guid(ctx->st, key, &other)) == STORE_OK)
		return fail(ctx, RM_NAME_TAKEN, "the address %s%s/%s is taken by room %s", ROOM_URI_SCHEME,
		            ctx->cfg->domain, key, other.name);
	if (rc != STORE_E_NOTFOUND)
		return fail(ctx, RM_STORE, "room address %s: %s", key, store_strerror(rc));
	memcpy(r->guid, key, strlen(key) + 1);     /* room_key checked it fits */
	return RM_OK;
}

enum rm_result rm_check_value(struct rm_ctx *ctx, enum rm_key key, unsigned where, const char *label,
                              const char *v)
{
	char uri[STORE_URI_MAX];
	const char *const *words;

	if (!rm_key_allowed(key, where))
		return fail(ctx, RM_BAD_VALUE, "%s cannot be changed here", label);
	if (v == NULL)
		return fail(ctx, RM_BAD_VALUE, "%s needs a value", label);
	switch (key_kind(key, where)) {
	case V_NAME: return check_text(ctx, label, v, STORE_NAME_MAX, 1);
	case V_TEXT: return check_text(ctx, label, v, STORE_TEXT_MAX, 0);
	case V_USER: return rm_user_uri(ctx, v, uri);
	case V_KEY: return room_key(ctx, v, uri);
	default: break;
	}
	words = rm_key_words(key, where);
	if (word_index(words, v) < 0)
		return fail(ctx, RM_BAD_VALUE, "%s takes %s|%s%s%s, not \"%.64s\"", label, words[0], words[1],
		            words[2] ? "|" : "", words[2] ? words[2] : "", v);
	return RM_OK;
}

static enum rm_result check_change(struct rm_ctx *ctx, const struct rm_change *ch, unsigned where)
{
	for (size_t i = 0; ch && i < ch->n; i++) {
		enum rm_result r = rm_check_value(ctx, ch->items[i].key, where, rm_key_name(ch->items[i].key),
		                                  ch->items[i].value);

		if (r != RM_OK)
			return r;
	}
	return RM_OK;
}

/* The value of the last item with this key, or NULL. */
static const char *change_get(const struct rm_change *ch, enum rm_key key)
{
	const char *v = NULL;

	for (size_t i = 0; ch && i < ch->n; i++)
		if (ch->items[i].key == key)
			v = ch->items[i].value;
	return v;
}

int rm_is_site_admin(const struct config *cfg, const char *uri)
{
	const char *p = cfg->web_admins;

	if (uri == NULL || strncmp(uri, "sip:", 4) != 0)
		return 0;
	while (*p) {
		char name[STORE_URI_MAX], canon[STORE_URI_MAX], err[256];
		size_t n = strcspn(p, " ,\t");

		if (n > 0 && n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (admin_user_uri(name, cfg->domain, canon, sizeof canon, err, sizeof err) == 0 &&
			    strcmp(canon, uri) == 0)
				return 1;
		}
		p += n;
		p += strspn(p, " ,\t");
	}
	return 0;
}

/* ---- small collections ------------------------------------------------------- */

void rm_strings_free(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

struct idlist {
	int64_t category_id;
	int64_t *id;
	size_t n, cap;
};

static int idlist_add_room(void *arg, const struct store_room *r)
{
	struct idlist *l = arg;

	if (l->category_id && r->category_id != l->category_id)
		return 0;
	if (array_reserve(&l->id, &l->cap, l->n, sizeof *l->id, 16) < 0)
		return -1;
	l->id[l->n++] = r->id;
	return 0;
}

/* ---- the ethical wall -------------------------------------------------------- */

struct wall {
	struct rm_ctx *ctx;
	int64_t category_id;
	const char *category;
	const char *room;
	struct strlist allowed, denied;
	int broken;
};

static int wall_role_cb(void *arg, const char *uri, int roles)
{
	struct wall *w = arg;

	(void)roles;
	if (!chat_wall_admits(w->ctx->st, w->category_id, uri)) {       /* the predicate the server applies */
		fail(w->ctx, RM_WALL, strlist_has(&w->denied, uri)
		     ? "%s is on the denied list of category %s, so cannot be in room %s"
		     : "%s is not on the allowed list of category %s, so cannot be in room %s",
		     uri, w->category, w->room);
		w->broken = 1;
	}
	return w->broken;
}

/* Check the role holders of the given rooms (NULL ids: every room of the
 * category) against the category's denied and allowed lists. */
static enum rm_result wall_check(struct rm_ctx *ctx, const struct store_category *c, const int64_t *ids, size_t nids)
{
	struct wall w = { .ctx = ctx, .category_id = c->id, .category = c->name };
	struct idlist rooms = { .category_id = c->id };
	struct store_room r;
	enum rm_result res = RM_STORE;

	if (store_category_list_each(ctx->st, c->id, STORE_CAT_ALLOWED, strlist_add, &w.allowed) != STORE_OK ||
	    store_category_list_each(ctx->st, c->id, STORE_CAT_DENIED, strlist_add, &w.denied) != STORE_OK)
		goto io;
	if (w.allowed.n == 0 && w.denied.n == 0) {
		res = RM_OK;
		goto out;
	}
	if (ids == NULL) {
		if (store_room_each(ctx->st, NULL, idlist_add_room, &rooms) != STORE_OK)
			goto io;
		ids = rooms.id;
		nids = rooms.n;
	}
	for (size_t i = 0; i < nids; i++) {
		if (store_room_get_id(ctx->st, ids[i], &r) != STORE_OK)
			goto io;
		w.room = r.name;
		if (store_room_role_each(ctx->st, r.id, wall_role_cb, &w) != STORE_OK) {
			if (!w.broken)
				goto io;
			res = RM_WALL;
			goto out;
		}
	}
	res = RM_OK;
	goto out;
io:
	fail(ctx, RM_STORE, "cannot check category %s's allowed and denied lists (store error)", c->name);
out:
	strlist_free(&w.allowed);
	strlist_free(&w.denied);
	free(rooms.id);
	return res;
}

/* ---- transactions and the ADMIN event ------------------------------------------ */


static enum rm_result tx_open(struct rm_ctx *ctx)
{
	int rc = ctx->own_tx ? store_begin(ctx->st) : store_pass_write(ctx->st);

	ctx->room_id = 0;
	ctx->changed = 0;
	if (rc != STORE_OK)
		return fail(ctx, RM_STORE, "cannot start a change: %s", store_strerror(rc));
	return RM_OK;
}

/* The event text: "room set NAME privacy=open member=sip:..." with users
 * canonical; extra_manager (may be NULL) is the creator made manager. */
static int event_text(struct rm_ctx *ctx, struct buf *b, const char *cmd, const char *name,
                      const struct rm_change *ch, unsigned where, const char *extra_manager)
{
	char uri[STORE_URI_MAX];

	buf_init(b, ADMIN_EVENT_MAX);
	if (buf_printf(b, "%s", cmd) < 0)
		return -1;
	admin_event_append(b, NULL, name);
	for (size_t i = 0; ch && i < ch->n; i++) {
		const char *v = ch->items[i].value;

		if (key_kind(ch->items[i].key, where) == V_USER) {
			if (rm_user_uri(ctx, v, uri) != RM_OK)
				uri[0] = '\0';  /* cannot happen: checked before */
			v = uri;
		}
		admin_event_append(b, rm_key_name(ch->items[i].key), v);
	}
	if (extra_manager)
		admin_event_append(b, "manager", extra_manager);
	return buf_append(b, "", 1);    /* NUL-terminate; fails if any append failed */
}

/* Record the ADMIN event when res is RM_OK and end the transaction (commit,
 * or release the savepoint); otherwise take the change back. */
static enum rm_result tx_close(struct rm_ctx *ctx, const struct rm_actor *a, enum rm_result res,
                               const struct store_room *room, const char *cmd, const char *name,
                               const struct rm_change *ch, unsigned where, const char *extra_manager)
{
	struct buf text;
	int rc = STORE_OK;

	if (res == RM_OK) {
		if (event_text(ctx, &text, cmd, name, ch, where, extra_manager) < 0) {
			res = fail(ctx, RM_STORE, "out of memory");
		} else if ((rc = compliance_record(ctx->st, ctx->cfg, "ADMIN", room, a->uri, 0,
		                                   (const char *)buf_head(&text), text.len - 1)) != STORE_OK) {
			res = fail(ctx, RM_STORE, "cannot record the compliance event: %s", store_strerror(rc));
		}
		buf_free(&text);
	}
	if (ctx->own_tx) {
		if (res == RM_OK && (rc = store_commit(ctx->st)) != STORE_OK)
			res = fail(ctx, RM_STORE, "cannot commit: %s", store_strerror(rc));
		if (res != RM_OK)
			store_rollback(ctx->st);        /* a no-op when SQLite already rolled back */
	} else {
		rc = store_pass_write_end(ctx->st, res == RM_OK ? STORE_OK : STORE_E_INVALID);
		if (res == RM_OK && rc != STORE_OK)
			res = fail(ctx, RM_STORE, "cannot write the change: %s", store_strerror(rc));
	}
	if (res != RM_OK) {
		ctx->changed = 0;
		return res;
	}
	if (ctx->live && ctx->room_id && ctx->changed)
		chat_room_changed(ctx->live, ctx->room_id, ctx->changed);
	return RM_OK;
}

/* ---- who may see and manage a room ----------------------------------------------- */

/* 1 if room_find may answer with r for this actor. */
static int may_see(struct rm_ctx *ctx, const struct rm_actor *a, const struct store_room *r, int *roles_out)
{
	int roles = 0;

	if (roles_out)
		*roles_out = 0;
	if (a->uri && strncmp(a->uri, "sip:", 4) == 0 && (roles = store_room_roles(ctx->st, r->id, a->uri)) < 0)
		return 0;
	if (roles_out)
		*roles_out = roles;
	if (a->site_admin)
		return 1;
	if (a->uri == NULL)
		return 0;
	if (!chat_wall_admits(ctx->st, r->category_id, a->uri))
		return 0;
	if (roles & STORE_ROLE_MANAGER)
		return 1;               /* a manager sees a disabled room, to enable it */
	if (r->disabled)
		return 0;
	return roles != 0 || r->privacy != STORE_PRIVACY_SECRET;
}

int rm_may_manage(struct rm_ctx *ctx, const struct rm_actor *a, const struct store_room *r)
{
	int roles;

	if (a->site_admin)
		return 1;
	if (!may_see(ctx, a, r, &roles))
		return 0;
	return (roles & STORE_ROLE_MANAGER) != 0;
}

/* 1 if s is a GUID: 8-4-4-4-12 hex digits. */
/* A room key: a GUID, or the number of a room kept from an older server. */
static int guid_form(const char *s)
{
	return store_room_key_form(s, strnlen(s, STORE_GUID_LEN + 1)) != STORE_KEY_NONE;
}

/* Find a room by name, GUID or ma-chan:// URI, whether or not the actor
 * may see it (the CLI's wording for a missing room). */
static enum rm_result room_lookup(struct rm_ctx *ctx, const char *arg, struct store_room *r)
{
	char guid[STORE_GUID_LEN + 1];
	const char *p = arg;
	int rc;

	if (strncasecmp(p, ROOM_URI_SCHEME, strlen(ROOM_URI_SCHEME)) == 0) {
		p = room_uri_guid(arg, strlen(arg), ctx->cfg->domain);
		if (p == NULL || !guid_form(p))
			return fail(ctx, RM_NOT_FOUND, "%s is not a room URI of this server (%s%s/GUID or /NUMBER)", arg,
			            ROOM_URI_SCHEME, ctx->cfg->domain);
	}
	if (guid_form(p)) {
		for (size_t i = 0; i <= STORE_GUID_LEN && (i == 0 || p[i - 1]); i++)
			guid[i] = (char)(p[i] >= 'A' && p[i] <= 'F' ? p[i] + 32 : p[i]);
		rc = store_room_get_guid(ctx->st, guid, r);
		if (rc == STORE_E_NOTFOUND && p == arg)
			rc = store_room_get_name(ctx->st, arg, r);
	} else {
		rc = store_room_get_name(ctx->st, arg, r);
	}
	if (rc == STORE_E_NOTFOUND || rc == STORE_E_INVALID)
		return fail(ctx, RM_NOT_FOUND, "no room %s", arg);
	if (rc != STORE_OK)
		return fail(ctx, RM_STORE, "room %s: %s", arg, store_strerror(rc));
	return RM_OK;
}

enum rm_result rm_room_find(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, struct store_room *out)
{
	enum rm_result res = room_lookup(ctx, room, out);

	if (a->site_admin)
		return res;
	/* Missing and hidden answer alike, and without echoing the name. */
	if (res == RM_NOT_FOUND || (res == RM_OK && !may_see(ctx, a, out, NULL)))
		return fail(ctx, RM_NOT_FOUND, HIDDEN);
	return res;
}

static enum rm_result category_lookup(struct rm_ctx *ctx, const char *name, struct store_category *c)
{
	int rc = store_category_get(ctx->st, name, c);

	if (rc == STORE_E_NOTFOUND || rc == STORE_E_INVALID)
		return fail(ctx, RM_NOT_FOUND, "no category named %s", name);
	if (rc != STORE_OK)
		return fail(ctx, RM_STORE, "category %s: %s", name, store_strerror(rc));
	return RM_OK;
}

/* ---- rooms ------------------------------------------------------------------------ */

/* Someone given a role in a room whose invitations are on (its own setting
 * or its category's) gets an invitation, which clients fetch with getinv
 * and which joining the room consumes. */
static int room_invite(struct rm_ctx *ctx, const struct rm_actor *a, const struct store_room *r,
                       const struct store_category *c, const char *uri)
{
	int on = r->invitations == STORE_INVITE_INHERIT ? c->invitations : r->invitations == STORE_INVITE_ON;
	int rc;

	if (!on)
		return STORE_OK;
	/* The CLI's invitations say "admin"; a web user's name the user. */
	rc = store_invite_add(ctx->st, r->id, uri, strncmp(a->uri, "sip:", 4) == 0 ? a->uri : "admin");
	if (rc == STORE_OK)
		ctx->changed |= CHAT_CHANGED_INVITES;
	return rc == STORE_E_EXISTS ? STORE_OK : rc;
}

/* Apply the role items in order. */
static enum rm_result room_roles(struct rm_ctx *ctx, const struct rm_actor *a, const struct rm_change *ch,
                                 const struct store_room *r, const struct store_category *c)
{
	char uri[STORE_URI_MAX];

	for (size_t i = 0; ch && i < ch->n; i++) {
		enum rm_key key = ch->items[i].key;
		int rc, bit, del = key >= RM_REMOVE_MEMBER;
		const char *role;

		if (key < RM_MEMBER)
			continue;
		switch (del ? key - RM_REMOVE_MEMBER + RM_MEMBER : key) {
		case RM_MEMBER: bit = STORE_ROLE_MEMBER, role = "member"; break;
		case RM_MANAGER: bit = STORE_ROLE_MANAGER, role = "manager"; break;
		default: bit = STORE_ROLE_PRESENTER, role = "presenter"; break;
		}
		if (rm_user_uri(ctx, ch->items[i].value, uri) != RM_OK)
			return RM_BAD_VALUE;
		rc = del ? store_room_role_del(ctx->st, r->id, uri, bit) : store_room_role_add(ctx->st, r->id, uri, bit);
		if (rc == STORE_E_NOTFOUND)
			return fail(ctx, RM_BAD_VALUE, "%s is not a %s of room %s", uri, role, r->name);
		if (rc == STORE_OK && !del)
			rc = room_invite(ctx, a, r, c, uri);
		/* An invitation goes with the last role: it would name the room
		 * (even a secret one) to someone no longer in it. */
		if (rc == STORE_OK && del && store_room_roles(ctx->st, r->id, uri) == 0 &&
		    (rc = store_invite_del(ctx->st, r->id, uri)) == STORE_E_NOTFOUND)
			rc = STORE_OK;
		if (rc != STORE_OK)
			return fail(ctx, RM_STORE, "room %s: %s", r->name, store_strerror(rc));
		ctx->changed |= CHAT_CHANGED_ROLES;
	}
	return RM_OK;
}

/* Copy the single-value items into r. */
static void room_fields(struct rm_ctx *ctx, const struct rm_change *ch, struct store_room *r, unsigned where)
{
	for (size_t i = 0; ch && i < ch->n; i++) {
		const char *v = ch->items[i].value;

		switch (ch->items[i].key) {
		case RM_NAME:
			snprintf(r->name, sizeof r->name, "%s", v);
			ctx->changed |= CHAT_CHANGED_INFO;
			break;
		case RM_DESCRIPTION:
			snprintf(r->description, sizeof r->description, "%s", v);
			ctx->changed |= CHAT_CHANGED_INFO;
			break;
		case RM_TOPIC:
			snprintf(r->topic, sizeof r->topic, "%s", v);
			ctx->changed |= CHAT_CHANGED_INFO;
			break;
		case RM_PRIVACY:
			r->privacy = word_value(RM_PRIVACY, where, v);
			ctx->changed |= CHAT_CHANGED_ACCESS;
			break;
		case RM_TYPE:
			r->type = word_value(RM_TYPE, where, v);
			ctx->changed |= CHAT_CHANGED_ROLES;
			break;
		case RM_INVITATIONS:
			r->invitations = word_value(RM_INVITATIONS, where, v);
			break;
		default:
			break;
		}
	}
}

/* Create or change room r (adding: r holds the name) inside the transaction. */
static enum rm_result room_change(struct rm_ctx *ctx, const struct rm_actor *a, const struct rm_change *ch,
                                  int adding, struct store_room *r, const char **made_manager)
{
	struct store_category c;
	const char *cat = change_get(ch, RM_CATEGORY);
	unsigned where = adding ? RM_FOR_ROOM_ADD : RM_FOR_ROOM_SET;
	enum rm_result res;
	int rc;

	if (adding && cat == NULL)
		cat = "default";
	if (cat) {
		if ((res = category_lookup(ctx, cat, &c)) != RM_OK)
			return res;
	} else if (store_category_get_id(ctx->st, r->category_id, &c) != STORE_OK) {
		return fail(ctx, RM_STORE, "room %s: cannot read its category (store error)", r->name);
	}
	if (!a->site_admin) {
		/* Creators create in their category; managers may not move a room. */
		if (adding && (rc = store_category_list_has(ctx->st, c.id, STORE_CAT_CREATOR, a->uri)) != 1)
			return rc < 0 ? fail(ctx, RM_STORE, "category %s: %s", c.name, store_strerror(rc))
			              : fail(ctx, RM_FORBIDDEN, "you may not create rooms in category %s", c.name);
		if (!adding && c.id != r->category_id)
			return fail(ctx, RM_FORBIDDEN, "only a site admin may move a room to another category");
	}
	if (!adding && c.id != r->category_id)
		ctx->changed |= CHAT_CHANGED_ACCESS;
	r->category_id = c.id;
	room_fields(ctx, ch, r, where);
	if (adding && change_get(ch, RM_GUID)) {
		/* Keeping an address from another server is a migration step. */
		if (!a->site_admin)
			return fail(ctx, RM_FORBIDDEN, "only a site admin may choose a room's address");
		if ((res = room_key_take(ctx, change_get(ch, RM_GUID), r)) != RM_OK)
			return res;
	}
	rc = adding ? store_room_add(ctx->st, r) : store_room_update(ctx->st, r);
	if (rc == STORE_E_EXISTS)
		return fail(ctx, RM_NAME_TAKEN, "a room named %s already exists", r->name);
	if (rc != STORE_OK)
		return fail(ctx, RM_STORE, "room %s: %s", r->name, store_strerror(rc));
	ctx->room_id = r->id;
	if ((res = room_roles(ctx, a, ch, r, &c)) != RM_OK)
		return res;
	/* The creator becomes the new room's manager (Lync's rule). */
	if (adding && !a->site_admin) {
		if ((rc = store_room_role_add(ctx->st, r->id, a->uri, STORE_ROLE_MANAGER)) != STORE_OK)
			return fail(ctx, RM_STORE, "room %s: %s", r->name, store_strerror(rc));
		*made_manager = a->uri;
	}
	return wall_check(ctx, &c, &r->id, 1);
}

enum rm_result rm_room_create(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                              const struct rm_change *ch, struct store_room *out)
{
	struct store_room r;
	const char *made_manager = NULL;
	enum rm_result res;

	if ((res = rm_check_name(ctx, "a room name", name)) != RM_OK ||
	    (res = check_change(ctx, ch, RM_FOR_ROOM_ADD)) != RM_OK)
		return res;
	if (!a->site_admin && (a->uri == NULL || strncmp(a->uri, "sip:", 4) != 0))
		return fail(ctx, RM_FORBIDDEN, "sign in to create rooms");
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", name);
	r.privacy = STORE_PRIVACY_CLOSED;
	r.type = STORE_ROOM_NORMAL;
	r.invitations = STORE_INVITE_INHERIT;
	if ((res = tx_open(ctx)) != RM_OK)
		return res;
	res = room_change(ctx, a, ch, 1, &r, &made_manager);
	ctx->changed = 0;       /* nobody is in a new room yet; invitations are fetched at sign-in */
	if (res == RM_OK)
		ctx->changed = CHAT_CHANGED_INVITES;
	res = tx_close(ctx, a, res, res == RM_OK ? &r : NULL, "room add", name, ch, RM_FOR_ROOM_ADD, made_manager);
	if (res == RM_OK && out)
		*out = r;
	return res;
}

enum rm_result rm_room_modify(struct rm_ctx *ctx, const struct rm_actor *a, const char *room,
                              const struct rm_change *ch, struct store_room *out)
{
	struct store_room r;
	const char *unused = NULL;
	enum rm_result res;

	if ((res = check_change(ctx, ch, RM_FOR_ROOM_SET)) != RM_OK)
		return res;
	if ((res = tx_open(ctx)) != RM_OK)
		return res;
	res = rm_room_find(ctx, a, room, &r);
	if (res == RM_OK && !rm_may_manage(ctx, a, &r))
		res = fail(ctx, RM_FORBIDDEN, "only the managers of room %s may change it", r.name);
	if (res == RM_OK)
		res = room_change(ctx, a, ch, 0, &r, &unused);
	res = tx_close(ctx, a, res, res == RM_OK ? &r : NULL, "room set", room, ch, RM_FOR_ROOM_SET, NULL);
	if (res == RM_OK && out)
		*out = r;
	return res;
}

enum rm_result rm_room_state(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, const char *verb,
                             struct store_room *out)
{
	char cmd[32];
	struct store_room r;
	enum rm_result res;
	int del = strcmp(verb, "del") == 0, s;

	if (!del && strcmp(verb, "disable") != 0 && strcmp(verb, "enable") != 0)
		return fail(ctx, RM_BAD_VALUE, "unknown room state change \"%.32s\"", verb);
	memset(&r, 0, sizeof r);
	if ((res = tx_open(ctx)) != RM_OK)
		return res;
	res = rm_room_find(ctx, a, room, &r);
	if (res == RM_OK && del && !a->site_admin)
		res = fail(ctx, RM_FORBIDDEN, "only a site admin may delete a room; its managers may disable it");
	else if (res == RM_OK && !rm_may_manage(ctx, a, &r))
		res = fail(ctx, RM_FORBIDDEN, "only the managers of room %s may change it", r.name);
	if (res == RM_OK && del) {
		int64_t pending = 0;

		s = store_room_files_pending(ctx->st, r.id, &pending);
		if (s == STORE_OK && pending > 0)
			res = fail(ctx, RM_FORBIDDEN, "room %s has %lld file(s) whose upload is not in a compliance export yet;"
			           " run `pchat export` first (or disable the room)", r.name, (long long)pending);
		else if (s != STORE_OK || (s = store_room_del(ctx->st, r.id)) != STORE_OK)
			res = fail(ctx, RM_STORE, "room %s: %s", r.name, store_strerror(s));
	} else if (res == RM_OK) {
		r.disabled = verb[0] == 'd';
		if ((s = store_room_update(ctx->st, &r)) != STORE_OK)
			res = fail(ctx, RM_STORE, "room %s: %s", r.name, store_strerror(s));
	}
	if (res == RM_OK) {
		ctx->room_id = r.id;
		ctx->changed = CHAT_CHANGED_ACCESS | (r.disabled || del ? 0 : CHAT_CHANGED_INVITES);
	}
	snprintf(cmd, sizeof cmd, "room %s", verb);
	res = tx_close(ctx, a, res, res == RM_OK || r.id ? &r : NULL, cmd, r.name, NULL, RM_FOR_ROOM_SET, NULL);
	if (res == RM_OK && out)
		*out = r;
	return res;
}

/* ---- categories ---------------------------------------------------------------------- */

static enum rm_result category_write(struct rm_ctx *ctx, const struct rm_change *ch, struct store_category *c,
                                     int adding)
{
	const char *rename = change_get(ch, RM_RENAME);
	const char *name = rename ? rename : c->name;
	unsigned where = adding ? RM_FOR_CATEGORY_ADD : RM_FOR_CATEGORY_SET;
	int rc;

	if (rename && strcasecmp(c->name, "default") == 0)
		return fail(ctx, RM_FORBIDDEN, "the category \"default\" cannot be renamed");
	for (size_t i = 0; ch && i < ch->n; i++) {
		const char *v = ch->items[i].value;

		switch (ch->items[i].key) {
		case RM_RENAME: snprintf(c->name, sizeof c->name, "%s", v); break;
		case RM_DESCRIPTION: snprintf(c->description, sizeof c->description, "%s", v); break;
		case RM_FILE_UPLOAD: c->file_upload = word_value(RM_FILE_UPLOAD, where, v); break;
		case RM_INVITATIONS: c->invitations = word_value(RM_INVITATIONS, where, v); break;
		case RM_HISTORY: c->history = word_value(RM_HISTORY, where, v); break;
		default: break;
		}
	}
	rc = adding ? store_category_add(ctx->st, c) : store_category_update(ctx->st, c);
	if (rc == STORE_E_EXISTS)
		return fail(ctx, RM_NAME_TAKEN, "a category named %s already exists", name);
	if (rc != STORE_OK)
		return fail(ctx, RM_STORE, "category %s: %s", name, store_strerror(rc));
	return RM_OK;
}

static enum rm_result category_lists(struct rm_ctx *ctx, const struct rm_change *ch, const struct store_category *c)
{
	static const char *const what[] = { "allowed", "denied", "creators" };
	char uri[STORE_URI_MAX];

	for (size_t i = 0; ch && i < ch->n; i++) {
		enum store_cat_list list;
		int rc, del = 0;

		switch (ch->items[i].key) {
		case RM_ALLOW: list = STORE_CAT_ALLOWED; break;
		case RM_DENY: list = STORE_CAT_DENIED; break;
		case RM_CREATOR: list = STORE_CAT_CREATOR; break;
		case RM_UNALLOW: list = STORE_CAT_ALLOWED, del = 1; break;
		case RM_UNDENY: list = STORE_CAT_DENIED, del = 1; break;
		case RM_UNCREATOR: list = STORE_CAT_CREATOR, del = 1; break;
		default: continue;
		}
		if (rm_user_uri(ctx, ch->items[i].value, uri) != RM_OK)
			return RM_BAD_VALUE;
		rc = del ? store_category_list_del(ctx->st, c->id, list, uri)
		         : store_category_list_add(ctx->st, c->id, list, uri);
		if (rc == STORE_E_NOTFOUND)
			return fail(ctx, RM_BAD_VALUE, "%s is not on the %s list of category %s", uri, what[list], c->name);
		if (rc != STORE_OK)
			return fail(ctx, RM_STORE, "category %s: %s", c->name, store_strerror(rc));
	}
	return RM_OK;
}

/* Tell the rooms of a category in use that their access may have changed. */
static void category_rooms_changed(struct rm_ctx *ctx, int64_t category_id)
{
	struct idlist rooms = { .category_id = category_id };

	if (ctx->live == NULL || store_room_each(ctx->st, NULL, idlist_add_room, &rooms) != STORE_OK) {
		free(rooms.id);
		return;
	}
	for (size_t i = 0; i < rooms.n; i++)
		chat_room_changed(ctx->live, rooms.id[i], CHAT_CHANGED_ACCESS);
	free(rooms.id);
}

static enum rm_result category_change(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                                      const struct rm_change *ch, struct store_category *out, int adding)
{
	struct store_category c;
	unsigned where = adding ? RM_FOR_CATEGORY_ADD : RM_FOR_CATEGORY_SET;
	enum rm_result res;

	if ((adding && (res = rm_check_name(ctx, "a category name", name)) != RM_OK) ||
	    (res = check_change(ctx, ch, where)) != RM_OK)
		return res;
	if (!a->site_admin)
		return fail(ctx, RM_FORBIDDEN, "only a site admin may change categories");
	if ((res = tx_open(ctx)) != RM_OK)
		return res;
	if (adding) {
		memset(&c, 0, sizeof c);
		snprintf(c.name, sizeof c.name, "%s", name);
		c.file_upload = c.invitations = c.history = 1;
		res = category_write(ctx, ch, &c, 1);
	} else if ((res = category_lookup(ctx, name, &c)) == RM_OK) {
		res = category_write(ctx, ch, &c, 0);
	}
	if (res == RM_OK && (res = category_lists(ctx, ch, &c)) == RM_OK)
		res = wall_check(ctx, &c, NULL, 0);
	res = tx_close(ctx, a, res, NULL, adding ? "category add" : "category set", name, ch, where, NULL);
	if (res == RM_OK && !adding)
		category_rooms_changed(ctx, c.id);
	if (res == RM_OK && out)
		*out = c;
	return res;
}

enum rm_result rm_category_create(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                                  const struct rm_change *ch, struct store_category *out)
{
	return category_change(ctx, a, name, ch, out, 1);
}

enum rm_result rm_category_modify(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                                  const struct rm_change *ch, struct store_category *out)
{
	return category_change(ctx, a, name, ch, out, 0);
}

enum rm_result rm_category_delete(struct rm_ctx *ctx, const struct rm_actor *a, const char *name)
{
	struct store_category c;
	enum rm_result res;
	int rc;

	memset(&c, 0, sizeof c);
	if (!a->site_admin)
		return fail(ctx, RM_FORBIDDEN, "only a site admin may change categories");
	if (strcasecmp(name, "default") == 0)
		return fail(ctx, RM_FORBIDDEN, "the category \"default\" cannot be deleted");
	if ((res = tx_open(ctx)) != RM_OK)
		return res;
	if ((res = category_lookup(ctx, name, &c)) == RM_OK) {
		rc = store_category_del(ctx->st, c.name);
		if (rc == STORE_E_INUSE)
			res = fail(ctx, RM_FORBIDDEN, "category %s still has rooms; move them (room set ROOM --category C) "
			           "or delete them first", c.name);
		else if (rc != STORE_OK)
			res = fail(ctx, RM_STORE, "category %s: %s", c.name, store_strerror(rc));
	}
	return tx_close(ctx, a, res, NULL, "category del", c.name, NULL, RM_FOR_CATEGORY_SET, NULL);
}

/* ---- reads ----------------------------------------------------------------------------- */

struct roles_out {
	struct strlist of[3];     /* members, managers, presenters */
};

static int roles_collect(void *arg, const char *uri, int roles)
{
	struct roles_out *ro = arg;

	for (int i = 0; i < 3; i++)
		if ((roles & (1 << i)) && strlist_add(&ro->of[i], uri) < 0)
			return -1;
	return 0;
}

enum rm_result rm_room_get(struct rm_ctx *ctx, const struct rm_actor *a, const char *room, struct rm_room_info *out)
{
	struct roles_out ro;
	enum rm_result res;

	memset(out, 0, sizeof *out);
	memset(&ro, 0, sizeof ro);
	if ((res = rm_room_find(ctx, a, room, &out->room)) != RM_OK)
		return res;
	if (store_category_get_id(ctx->st, out->room.category_id, &out->category) != STORE_OK ||
	    store_room_role_each(ctx->st, out->room.id, roles_collect, &ro) != STORE_OK) {
		for (int i = 0; i < 3; i++)
			strlist_free(&ro.of[i]);
		return fail(ctx, RM_STORE, "cannot read room %s (store error)", out->room.name);
	}
	out->members = ro.of[0].s, out->n_members = ro.of[0].n;
	out->managers = ro.of[1].s, out->n_managers = ro.of[1].n;
	out->presenters = ro.of[2].s, out->n_presenters = ro.of[2].n;
	out->may_manage = rm_may_manage(ctx, a, &out->room);
	if (a->uri && strncmp(a->uri, "sip:", 4) == 0) {
		int roles = store_room_roles(ctx->st, out->room.id, a->uri);

		out->actor_roles = roles > 0 ? roles : 0;
	}
	return RM_OK;
}

void rm_room_info_free(struct rm_room_info *info)
{
	rm_strings_free(info->members, info->n_members);
	rm_strings_free(info->managers, info->n_managers);
	rm_strings_free(info->presenters, info->n_presenters);
	memset(info, 0, sizeof *info);
}

enum rm_result rm_category_get(struct rm_ctx *ctx, const struct rm_actor *a, const char *name,
                               struct rm_category_info *out)
{
	struct strlist l[3];
	struct idlist rooms = { 0 };
	enum rm_result res;

	memset(out, 0, sizeof *out);
	memset(l, 0, sizeof l);
	if (!a->site_admin)
		return fail(ctx, RM_FORBIDDEN, "only a site admin may see a category's lists");
	if ((res = category_lookup(ctx, name, &out->category)) != RM_OK)
		return res;
	rooms.category_id = out->category.id;
	for (int i = 0; i < 3; i++)
		if (store_category_list_each(ctx->st, out->category.id, (enum store_cat_list)i, strlist_add, &l[i]) != STORE_OK)
			res = RM_STORE;
	if (res == RM_OK && store_room_each(ctx->st, NULL, idlist_add_room, &rooms) != STORE_OK)
		res = RM_STORE;
	free(rooms.id);
	if (res != RM_OK) {
		for (int i = 0; i < 3; i++)
			strlist_free(&l[i]);
		return fail(ctx, RM_STORE, "cannot read category %s (store error)", name);
	}
	out->allowed = l[0].s, out->n_allowed = l[0].n;
	out->denied = l[1].s, out->n_denied = l[1].n;
	out->creators = l[2].s, out->n_creators = l[2].n;
	out->rooms = rooms.n;
	return RM_OK;
}

void rm_category_info_free(struct rm_category_info *info)
{
	rm_strings_free(info->allowed, info->n_allowed);
	rm_strings_free(info->denied, info->n_denied);
	rm_strings_free(info->creators, info->n_creators);
	memset(info, 0, sizeof *info);
}

struct entries {
	struct rm_room_entry *e;
	size_t n, cap;
};

static struct rm_room_entry *entry_for(struct entries *l, const struct store_room *r)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].room.id == r->id)
			return &l->e[i];
	if (array_reserve(&l->e, &l->cap, l->n, sizeof *l->e, 16) < 0)
		return NULL;
	memset(&l->e[l->n], 0, sizeof l->e[l->n]);
	l->e[l->n].room = *r;
	return &l->e[l->n++];
}

static int entry_role(void *arg, const struct store_room *r, int roles)
{
	struct rm_room_entry *e = entry_for(arg, r);

	if (e == NULL)
		return -1;
	e->roles = roles;
	return 0;
}

static int entry_follow(void *arg, const struct store_room *r, int64_t unread)
{
	struct rm_room_entry *e = entry_for(arg, r);

	if (e == NULL)
		return -1;
	e->followed = 1;
	e->unread = unread;
	return 0;
}

static int entry_any(void *arg, const struct store_room *r)
{
	return entry_for(arg, r) ? 0 : -1;
}

static int entry_by_name(const void *x, const void *y)
{
	const struct rm_room_entry *a = x, *b = y;

	return strcasecmp(a->room.name, b->room.name);
}

enum rm_result rm_my_rooms(struct rm_ctx *ctx, const struct rm_actor *a, int all_rooms,
                           struct rm_room_entry **out, size_t *n)
{
	struct entries l = { 0 };
	int user = a->uri && strncmp(a->uri, "sip:", 4) == 0;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (all_rooms && !a->site_admin)
		return fail(ctx, RM_FORBIDDEN, "only a site admin may list every room");
	/* Collect first, so no store call nests in another's callback. */
	if ((all_rooms && store_room_each(ctx->st, NULL, entry_any, &l) != STORE_OK) ||
	    (user && store_user_rooms(ctx->st, a->uri, entry_role, &l) != STORE_OK) ||
	    (user && store_follow_each(ctx->st, a->uri, entry_follow, &l) != STORE_OK)) {
		free(l.e);
		return fail(ctx, RM_STORE, "cannot list rooms (store error)");
	}
	for (size_t i = 0; i < l.n; i++) {
		struct rm_room_entry *e = &l.e[i];
		struct store_category c;
		int roles;

		if (!may_see(ctx, a, &e->room, &roles))
			continue;       /* a follow or role left from before a wall went up */
		e->roles = roles;
		e->may_manage = a->site_admin || (roles & STORE_ROLE_MANAGER);
		if (store_category_get_id(ctx->st, e->room.category_id, &c) == STORE_OK)
			snprintf(e->category, sizeof e->category, "%s", c.name);
		l.e[k++] = *e;
	}
	if (k > 1)
		qsort(l.e, k, sizeof *l.e, entry_by_name);
	if (k == 0) {
		free(l.e);
		l.e = NULL;
	}
	*out = l.e;
	*n = k;
	return RM_OK;
}

struct cats {
	struct store_category *c;
	size_t n, cap;
};

static int cat_add(void *arg, const struct store_category *c)
{
	struct cats *l = arg;

	if (array_reserve(&l->c, &l->cap, l->n, sizeof *l->c, 8) < 0)
		return -1;
	l->c[l->n++] = *c;
	return 0;
}

static int cat_by_name(const void *x, const void *y)
{
	const struct store_category *a = x, *b = y;

	return strcasecmp(a->name, b->name);
}

enum rm_result rm_creator_categories(struct rm_ctx *ctx, const struct rm_actor *a, struct store_category **out,
                                     size_t *n)
{
	struct cats l = { 0 };
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (store_category_each(ctx->st, cat_add, &l) != STORE_OK) {
		free(l.c);
		return fail(ctx, RM_STORE, "cannot list categories (store error)");
	}
	for (size_t i = 0; i < l.n; i++) {
		int rc = a->site_admin ? 1 : a->uri ? store_category_list_has(ctx->st, l.c[i].id, STORE_CAT_CREATOR, a->uri) : 0;

		if (rc < 0) {
			free(l.c);
			return fail(ctx, RM_STORE, "cannot list categories (store error)");
		}
		if (rc == 1)
			l.c[k++] = l.c[i];
	}
	if (k > 1)
		qsort(l.c, k, sizeof *l.c, cat_by_name);
	if (k == 0) {
		free(l.c);
		l.c = NULL;
	}
	*out = l.c;
	*n = k;
	return RM_OK;
}

struct search {
	const char *prefix;
	size_t plen, max;
	struct strlist found;
};

static int search_user(void *arg, const struct store_user *u)
{
	struct search *s = arg;
	const char *name = strncmp(u->uri, "sip:", 4) == 0 ? u->uri + 4 : u->uri;

	if (u->disabled || strncasecmp(name, s->prefix, s->plen) != 0)
		return 0;
	if (strlist_add(&s->found, u->uri) < 0)
		return -1;
	return s->found.n >= s->max;    /* enough: stop */
}

enum rm_result rm_user_search(struct rm_ctx *ctx, const struct rm_actor *a, const char *prefix, size_t max,
                              char ***out, size_t *n)
{
	struct search s = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if (!a->site_admin && (a->uri == NULL || strncmp(a->uri, "sip:", 4) != 0))
		return fail(ctx, RM_FORBIDDEN, "sign in to search users");
	if (prefix == NULL)
		prefix = "";
	if (strncasecmp(prefix, "sip:", 4) == 0)
		prefix += 4;
	s.prefix = prefix;
	s.plen = strlen(prefix);
	if (s.plen >= STORE_URI_MAX)
		return fail(ctx, RM_BAD_VALUE, "search text too long");
	s.max = max == 0 || max > RM_SEARCH_MAX ? RM_SEARCH_MAX : max;
	rc = store_user_each(ctx->st, search_user, &s);
	if (rc < 0) {
		strlist_free(&s.found);
		return fail(ctx, RM_STORE, "cannot search users (store error)");
	}
	*out = s.found.s;
	*n = s.found.n;
	return RM_OK;
}
