/*
 * admin_rooms.c - `pchat category ...` and `pchat room ...` (see admin.h and
 * `pchat --help`).
 *
 * Every command parses and checks all of its options before it opens the
 * store, so a usage error (exit 2) or a bad value (exit 1) changes nothing.
 * A change then runs in one store transaction together with its ADMIN
 * compliance event, and the ethical wall of the room's category (its denied
 * and allowed lists) is checked after the change, inside that transaction:
 * whatever breaks the wall is rolled back, whichever way it was attempted
 * (a new member, a room moved to another category, a user newly denied).
 * Output is printed only after the commit.
 */
#include "admin.h"
#include "room_uri.h"
#include "wall.h"
#include "base.h"
#include "buf.h"
#include "compliance.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ADMIN_EVENT_MAX (4u << 20)      /* cap on one ADMIN event's text */

/* Which commands take an option (bits). */
enum { W_CAT_ADD = 1, W_CAT_SET = 2, W_ROOM_ADD = 4, W_ROOM_SET = 8 };
#define W_CAT (W_CAT_ADD | W_CAT_SET)
#define W_ROOM (W_ROOM_ADD | W_ROOM_SET)

/* Options.  Those before O_LISTS take one value (given at most once); the
 * rest name a user and may repeat, and are applied in command-line order. */
enum opt_id {
	O_DESCRIPTION, O_TOPIC, O_NAME, O_RENAME, O_CATEGORY, O_FILE_UPLOAD, O_HISTORY,
	O_INVITATIONS, O_PRIVACY, O_TYPE,
	O_LISTS,
	O_ALLOW = O_LISTS, O_DENY, O_CREATOR, O_UNALLOW, O_UNDENY, O_UNCREATOR,
	O_MEMBER, O_MANAGER, O_PRESENTER, O_REMOVE_MEMBER, O_REMOVE_MANAGER, O_REMOVE_PRESENTER
};

/* How an option's value is checked. */
enum val_kind { V_NAME, V_TEXT, V_ONOFF, V_INVITE, V_PRIVACY, V_TYPE, V_USER };

static const struct admin_opt {
	const char *name;
	enum opt_id id;
	enum val_kind kind;
	unsigned where;
} admin_opts[] = {
	{ "--description", O_DESCRIPTION, V_TEXT, W_CAT | W_ROOM },
	{ "--topic", O_TOPIC, V_TEXT, W_ROOM },
	{ "--name", O_NAME, V_NAME, W_ROOM_SET },
	{ "--rename", O_RENAME, V_NAME, W_CAT_SET },
	{ "--category", O_CATEGORY, V_NAME, W_ROOM },
	{ "--file-upload", O_FILE_UPLOAD, V_ONOFF, W_CAT },
	{ "--history", O_HISTORY, V_ONOFF, W_CAT },
	{ "--invitations", O_INVITATIONS, V_ONOFF, W_CAT },
	{ "--invitations", O_INVITATIONS, V_INVITE, W_ROOM },
	{ "--privacy", O_PRIVACY, V_PRIVACY, W_ROOM },
	{ "--type", O_TYPE, V_TYPE, W_ROOM },
	{ "--allow", O_ALLOW, V_USER, W_CAT },
	{ "--deny", O_DENY, V_USER, W_CAT },
	{ "--creator", O_CREATOR, V_USER, W_CAT },
	{ "--unallow", O_UNALLOW, V_USER, W_CAT_SET },
	{ "--undeny", O_UNDENY, V_USER, W_CAT_SET },
	{ "--uncreator", O_UNCREATOR, V_USER, W_CAT_SET },
	{ "--member", O_MEMBER, V_USER, W_ROOM },
	{ "--manager", O_MANAGER, V_USER, W_ROOM },
	{ "--presenter", O_PRESENTER, V_USER, W_ROOM },
	{ "--remove-member", O_REMOVE_MEMBER, V_USER, W_ROOM_SET },
	{ "--remove-manager", O_REMOVE_MANAGER, V_USER, W_ROOM_SET },
	{ "--remove-presenter", O_REMOVE_PRESENTER, V_USER, W_ROOM_SET },
	{ NULL, 0, 0, 0 }
};

/* Word lists for the enumerated values; the index is the stored value
 * (invitations are stored as index - 1: inherit = -1). */
static const char *const onoff_words[] = { "off", "on", NULL };
static const char *const invite_words[] = { "inherit", "off", "on", NULL };
static const char *const privacy_words[] = { "open", "closed", "secret", NULL };
static const char *const type_words[] = { "normal", "auditorium", NULL };

/* The parsed command line of one add/set: argv[first..argc) are option/value
 * pairs, all checked.  val/num hold the single-value options. */
struct opts {
	const char *cmd;                /* "room add", for messages */
	char **argv;
	int first, argc;
	const char *val[O_LISTS];       /* NULL = not given */
	int num[O_LISTS];               /* the enumerated values */
};

/* words[i], or "?" for a value out of range. */
static const char *word(const char *const *words, int i)
{
	if (i < 0)
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

/* 1 if s is well-formed UTF-8 without control characters (which would break
 * the line- and tab-separated output and the XML sent to clients). */
static int text_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, need, cp;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, past U+10FFFF */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		if (cp >= 0x80 && cp < 0xa0)    /* C1 controls */
			return 0;
		p += need + 1;
	}
	return 1;
}

/* Check a name or text value; prints the error.  Returns 0 or 1 (exit status). */
static int check_text(const char *what, const char *s, size_t max, int name)
{
	size_t n = strlen(s);

	if (name && n == 0) {
		fprintf(stderr, "pchat: %s must not be empty\n", what);
		return 1;
	}
	if (n >= max) {
		fprintf(stderr, "pchat: %s is too long (%zu bytes; at most %zu)\n", what, n, max - 1);
		return 1;
	}
	if (!text_clean(s)) {
		fprintf(stderr, "pchat: %s must be UTF-8 text without control characters (tabs, line breaks)\n", what);
		return 1;
	}
	if (utf8_has_bidi_control(s, n)) {
		fprintf(stderr, "pchat: %s must not hold bidi or format characters (U+200E, U+200F, U+202A-U+202E, "
		        "U+2066-U+2069)\n", what);
		return 1;
	}
	if (name && strncasecmp(s, ROOM_URI_SCHEME, strlen(ROOM_URI_SCHEME)) == 0) {
		fprintf(stderr, "pchat: %s must not start with %s\n", what, ROOM_URI_SCHEME);
		return 1;
	}
	return 0;
}

/* Parse argv[first..argc) as option pairs valid for `where`.  Returns 0, or
 * the exit status (2 usage, 1 bad value) after printing why. */
static int opts_parse(struct opts *o, const struct config *cfg, const char *cmd, unsigned where,
                      int argc, char **argv, int first)
{
	char uri[STORE_URI_MAX], err[256];

	memset(o, 0, sizeof *o);
	o->cmd = cmd;
	o->argv = argv;
	o->first = first;
	o->argc = argc;
	for (int i = first; i < argc; i += 2) {
		const struct admin_opt *d = admin_opts;
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *const *words = NULL;
		int known = 0;

		for (; d->name; d++) {
			if (strcmp(d->name, argv[i]) != 0)
				continue;
			known = 1;
			if (d->where & where)
				break;
		}
		if (d->name == NULL) {
			fprintf(stderr, argv[i][0] == '-' && known ? "pchat: %s: %s is not an option of this command\n" :
			        argv[i][0] == '-' ? "pchat: %s: unknown option %s\n" : "pchat: %s: unexpected argument \"%s\"\n",
			        cmd, argv[i]);
			return 2;
		}
		if (v == NULL) {
			fprintf(stderr, "pchat: %s: %s needs a value\n", cmd, d->name);
			return 2;
		}
		if (d->id < O_LISTS && o->val[d->id]) {
			fprintf(stderr, "pchat: %s: %s given twice\n", cmd, d->name);
			return 2;
		}
		switch (d->kind) {
		case V_NAME:
			if (check_text(d->name, v, STORE_NAME_MAX, 1))
				return 1;
			break;
		case V_TEXT:
			if (check_text(d->name, v, STORE_TEXT_MAX, 0))
				return 1;
			break;
		case V_USER:
			if (admin_user_uri(v, cfg->domain, uri, sizeof uri, err, sizeof err) < 0) {
				fprintf(stderr, "pchat: %s\n", err);
				return 1;
			}
			break;
		case V_ONOFF: words = onoff_words; break;
		case V_INVITE: words = invite_words; break;
		case V_PRIVACY: words = privacy_words; break;
		case V_TYPE: words = type_words; break;
		}
		if (words) {
			int k = word_index(words, v);

			if (k < 0) {
				fprintf(stderr, "pchat: %s: %s takes %s|%s%s%s, not \"%s\"\n", cmd, d->name, words[0],
				        words[1], words[2] ? "|" : "", words[2] ? words[2] : "", v);
				return 2;
			}
			o->num[d->id] = d->kind == V_INVITE ? k - 1 : k;
		}
		if (d->id < O_LISTS)
			o->val[d->id] = v;
	}
	return 0;
}

/* The option id of argv[i] (already checked by opts_parse). */
static enum opt_id opt_at(const struct opts *o, int i)
{
	const struct admin_opt *d = admin_opts;

	while (strcmp(d->name, o->argv[i]) != 0)
		d++;
	return d->id;
}

/* The canonical URI of a (checked) user value. */
static void user_uri(const struct config *cfg, const char *v, char *uri)
{
	char err[256];

	if (admin_user_uri(v, cfg->domain, uri, STORE_URI_MAX, err, sizeof err) < 0)
		uri[0] = '\0';  /* cannot happen: opts_parse checked it */
}

/* The ADMIN event text: "room set NAME privacy=open member=sip:..." with
 * users canonical and values holding spaces, quotes or '=' quoted. */
void admin_event_append(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, key ? " %s=" : " ", key ? key : "");
	if (*v && strcspn(v, " \"\\=") == strlen(v)) {
		buf_appends(b, v);
		return;
	}
	buf_appends(b, "\"");
	for (; *v; v++)
		buf_printf(b, "%s%c", *v == '"' || *v == '\\' ? "\\" : "", *v);
	buf_appends(b, "\"");
}

/* Build the event text for a command and its options (o may be NULL).
 * Returns 0, or -1 when out of memory. */
static int event_text(struct buf *b, const struct config *cfg, const char *cmd, const char *name,
                      const struct opts *o)
{
	char uri[STORE_URI_MAX];

	buf_init(b, ADMIN_EVENT_MAX);
	if (buf_printf(b, "%s", cmd) < 0)
		return -1;
	admin_event_append(b, NULL, name);
	for (int i = o ? o->first : 0; o && i + 1 < o->argc; i += 2) {
		enum opt_id id = opt_at(o, i);
		const char *v = o->argv[i + 1];

		if (id >= O_LISTS) {
			user_uri(cfg, v, uri);
			v = uri;
		}
		admin_event_append(b, o->argv[i] + 2, v);
	}
	return buf_append(b, "", 1);    /* NUL-terminate; fails if any append failed */
}

/* ---- transactions ---------------------------------------------------------- */

static int tx_begin(struct store *st)
{
	int rc = store_begin(st);

	if (rc != STORE_OK)
		fprintf(stderr, "pchat: cannot start a change: %s\n", store_strerror(rc));
	return rc == STORE_OK ? 0 : 1;
}

/* Record the ADMIN event and commit when rc is 0; roll back otherwise.
 * Returns the exit status. */
static int tx_end(struct store *st, const struct config *cfg, int rc, const struct store_room *room,
                  const char *cmd, const char *name, const struct opts *o)
{
	struct buf text;
	char actor[64];
	int r;

	if (rc == 0) {
		if (event_text(&text, cfg, cmd, name, o) < 0) {
			fprintf(stderr, "pchat: out of memory\n");
			rc = 1;
		} else if ((r = compliance_record(st, cfg, "ADMIN", room, admin_actor(actor, sizeof actor), 0,
		                                  (const char *)buf_head(&text), text.len - 1)) != STORE_OK) {
			fprintf(stderr, "pchat: cannot record the compliance event: %s\n", store_strerror(r));
			rc = 1;
		} else if ((r = store_commit(st)) != STORE_OK) {
			fprintf(stderr, "pchat: cannot commit: %s\n", store_strerror(r));
			rc = 1;
		}
		buf_free(&text);
	}
	if (rc != 0)
		store_rollback(st);     /* a no-op when SQLite already rolled back */
	return rc;
}

static int open_store(const struct config *cfg, struct store **st)
{
	char err[512];

	if (store_open(st, cfg->store_path, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	return 0;
}

/* ---- small collections ----------------------------------------------------- */

/* A list of URIs copied out of the store. */
struct ulist {
	char **uri;
	size_t n, cap;
};

static int ulist_add(void *arg, const char *uri)
{
	struct ulist *l = arg;
	char *copy;

	if (array_reserve(&l->uri, &l->cap, l->n, sizeof *l->uri, 16) < 0)
		return -1;
	if ((copy = strdup(uri)) == NULL)
		return -1;
	l->uri[l->n++] = copy;
	return 0;
}

static int ulist_has(const struct ulist *l, const char *uri)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->uri[i], uri) == 0)
			return 1;
	return 0;
}

static void ulist_free(struct ulist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->uri[i]);
	free(l->uri);
	memset(l, 0, sizeof *l);
}

/* Every category, copied (few; loaded first so no store call nests in another). */
struct catlist {
	struct store_category *c;
	size_t n, cap;
};

static int catlist_add(void *arg, const struct store_category *c)
{
	struct catlist *l = arg;

	if (array_reserve(&l->c, &l->cap, l->n, sizeof *l->c, 8) < 0)
		return -1;
	l->c[l->n++] = *c;
	return 0;
}

static const char *catlist_name(const struct catlist *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].id == id)
			return l->c[i].name;
	return "?";
}

/* Room ids of one category (category_id 0 = all rooms). */
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

static int count_cb(void *arg, const char *uri)
{
	(void)uri;
	(*(size_t *)arg)++;
	return 0;
}

/* ---- the ethical wall ------------------------------------------------------ */

struct wall {
	struct store *st;
	int64_t category_id;
	const char *category;
	const char *room;
	struct ulist allowed, denied;
	int broken;
};

static int wall_role_cb(void *arg, const char *uri, int roles)
{
	struct wall *w = arg;

	(void)roles;
	if (!chat_wall_admits(w->st, w->category_id, uri)) {     /* the predicate the server applies */
		fprintf(stderr, ulist_has(&w->denied, uri)
		        ? "pchat: %s is on the denied list of category %s, so cannot be in room %s\n"
		        : "pchat: %s is not on the allowed list of category %s, so cannot be in room %s\n",
		        uri, w->category, w->room);
		w->broken = 1;
	}
	return w->broken;
}

/* Check the role holders of the given rooms (NULL ids: every room of the
 * category) against the category's denied and allowed lists.  Returns 0, or
 * 1 after printing the first user who breaks the wall. */
static int wall_check(struct store *st, const struct store_category *c, const int64_t *ids, size_t nids)
{
	struct wall w = { .st = st, .category_id = c->id, .category = c->name };
	struct idlist rooms = { .category_id = c->id };
	struct store_room r;
	int rc = 1;

	if (store_category_list_each(st, c->id, STORE_CAT_ALLOWED, ulist_add, &w.allowed) != STORE_OK ||
	    store_category_list_each(st, c->id, STORE_CAT_DENIED, ulist_add, &w.denied) != STORE_OK)
		goto io;
	if (w.allowed.n == 0 && w.denied.n == 0) {
		rc = 0;
		goto out;
	}
	if (ids == NULL) {
		if (store_room_each(st, NULL, idlist_add_room, &rooms) != STORE_OK)
			goto io;
		ids = rooms.id;
		nids = rooms.n;
	}
	for (size_t i = 0; i < nids; i++) {
		if (store_room_get_id(st, ids[i], &r) != STORE_OK)
			goto io;
		w.room = r.name;
		if (store_room_role_each(st, r.id, wall_role_cb, &w) != STORE_OK) {
			if (!w.broken)
				goto io;
			goto out;
		}
	}
	rc = 0;
	goto out;
io:
	fprintf(stderr, "pchat: cannot check category %s's allowed and denied lists (store error)\n", c->name);
out:
	ulist_free(&w.allowed);
	ulist_free(&w.denied);
	free(rooms.id);
	return rc;
}

/* ---- categories ------------------------------------------------------------ */

static int category_get(struct store *st, const char *name, struct store_category *c)
{
	int rc = store_category_get(st, name, c);

	if (rc == STORE_E_NOTFOUND || rc == STORE_E_INVALID)
		fprintf(stderr, "pchat: no category named %s\n", name);
	else if (rc != STORE_OK)
		fprintf(stderr, "pchat: category %s: %s\n", name, store_strerror(rc));
	return rc == STORE_OK ? 0 : 1;
}

/* Copy the single-value options into c and write it (add or update). */
static int category_write(struct store *st, const struct opts *o, struct store_category *c, int adding)
{
	const char *name = o->val[O_RENAME] ? o->val[O_RENAME] : c->name;
	int rc;

	if (o->val[O_RENAME] && strcasecmp(c->name, "default") == 0) {
		fprintf(stderr, "pchat: the category \"default\" cannot be renamed\n");
		return 1;
	}
	if (o->val[O_RENAME])
		snprintf(c->name, sizeof c->name, "%s", o->val[O_RENAME]);
	if (o->val[O_DESCRIPTION])
		snprintf(c->description, sizeof c->description, "%s", o->val[O_DESCRIPTION]);
	if (o->val[O_FILE_UPLOAD])
		c->file_upload = o->num[O_FILE_UPLOAD];
	if (o->val[O_INVITATIONS])
		c->invitations = o->num[O_INVITATIONS];
	if (o->val[O_HISTORY])
		c->history = o->num[O_HISTORY];
	rc = adding ? store_category_add(st, c) : store_category_update(st, c);
	if (rc == STORE_E_EXISTS)
		fprintf(stderr, "pchat: a category named %s already exists\n", name);
	else if (rc != STORE_OK)
		fprintf(stderr, "pchat: category %s: %s\n", name, store_strerror(rc));
	return rc == STORE_OK ? 0 : 1;
}

/* Apply the list options in command-line order. */
static int category_lists(struct store *st, const struct config *cfg, const struct opts *o,
                          const struct store_category *c)
{
	static const char *const what[] = { "allowed", "denied", "creators" };
	char uri[STORE_URI_MAX];

	for (int i = o->first; i + 1 < o->argc; i += 2) {
		enum opt_id id = opt_at(o, i);
		enum store_cat_list list;
		int rc, del = 0;

		switch (id) {
		case O_ALLOW: list = STORE_CAT_ALLOWED; break;
		case O_DENY: list = STORE_CAT_DENIED; break;
		case O_CREATOR: list = STORE_CAT_CREATOR; break;
		case O_UNALLOW: list = STORE_CAT_ALLOWED, del = 1; break;
		case O_UNDENY: list = STORE_CAT_DENIED, del = 1; break;
		case O_UNCREATOR: list = STORE_CAT_CREATOR, del = 1; break;
		default: continue;
		}
		user_uri(cfg, o->argv[i + 1], uri);
		rc = del ? store_category_list_del(st, c->id, list, uri) : store_category_list_add(st, c->id, list, uri);
		if (rc == STORE_E_NOTFOUND) {
			fprintf(stderr, "pchat: %s is not on the %s list of category %s\n", uri, what[list], c->name);
			return 1;
		}
		if (rc != STORE_OK) {
			fprintf(stderr, "pchat: category %s: %s\n", c->name, store_strerror(rc));
			return 1;
		}
	}
	return 0;
}

static int category_list(struct store *st)
{
	struct catlist cats = { 0 };
	int rc = 1;

	if (store_category_each(st, catlist_add, &cats) != STORE_OK) {
		fprintf(stderr, "pchat: cannot list categories (store error)\n");
		goto out;
	}
	for (size_t i = 0; i < cats.n; i++) {
		const struct store_category *c = &cats.c[i];
		size_t n[3] = { 0, 0, 0 };

		for (int l = STORE_CAT_ALLOWED; l <= STORE_CAT_CREATOR; l++)
			if (store_category_list_each(st, c->id, (enum store_cat_list)l, count_cb, &n[l]) != STORE_OK)
				goto out;
		printf("%s\t%s\tfile-upload=%s\tinvitations=%s\thistory=%s\tallowed=%zu\tdenied=%zu\tcreators=%zu\n",
		       c->name, c->description, word(onoff_words, !!c->file_upload), word(onoff_words, !!c->invitations),
		       word(onoff_words, !!c->history), n[0], n[1], n[2]);
	}
	rc = 0;
out:
	free(cats.c);
	return rc;
}

static void print_ulist(const char *key, const struct ulist *l)
{
	printf("%s:", key);
	for (size_t i = 0; i < l->n; i++)
		printf(" %s", l->uri[i]);
	printf("\n");
}

static int category_show(struct store *st, const char *name)
{
	static const char *const keys[] = { "allowed", "denied", "creators" };
	struct store_category c;
	struct idlist rooms = { 0 };
	int rc = 1;

	if (category_get(st, name, &c))
		return 1;
	rooms.category_id = c.id;
	if (store_room_each(st, NULL, idlist_add_room, &rooms) != STORE_OK)
		goto io;
	printf("name: %s\ndescription: %s\nfile-upload: %s\ninvitations: %s\nhistory: %s\nrooms: %zu\n", c.name,
	       c.description, word(onoff_words, !!c.file_upload), word(onoff_words, !!c.invitations),
	       word(onoff_words, !!c.history), rooms.n);
	for (int l = STORE_CAT_ALLOWED; l <= STORE_CAT_CREATOR; l++) {
		struct ulist u = { 0 };
		int r = store_category_list_each(st, c.id, (enum store_cat_list)l, ulist_add, &u);

		if (r == STORE_OK)
			print_ulist(keys[l], &u);
		ulist_free(&u);
		if (r != STORE_OK)
			goto io;
	}
	rc = 0;
	goto out;
io:
	fprintf(stderr, "pchat: cannot read category %s (store error)\n", name);
out:
	free(rooms.id);
	return rc;
}

static int category_del(struct store *st, const struct config *cfg, const char *name)
{
	struct store_category c;
	int rc;

	memset(&c, 0, sizeof c);
	if (strcasecmp(name, "default") == 0) {
		fprintf(stderr, "pchat: the category \"default\" cannot be deleted\n");
		return 1;
	}
	if (tx_begin(st))
		return 1;
	if ((rc = category_get(st, name, &c)) == 0) {
		int r = store_category_del(st, c.name);

		if (r == STORE_E_INUSE)
			fprintf(stderr, "pchat: category %s still has rooms; move them (room set ROOM --category C) "
			        "or delete them first\n", c.name);
		else if (r != STORE_OK)
			fprintf(stderr, "pchat: category %s: %s\n", c.name, store_strerror(r));
		rc = r == STORE_OK ? 0 : 1;
	}
	rc = tx_end(st, cfg, rc, NULL, "category del", c.name, NULL);
	if (rc == 0)
		printf("deleted category %s\n", c.name);
	return rc;
}

int admin_category(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_category c;
	struct opts o;
	const char *verb = argc > 1 ? argv[1] : "";
	int adding = !strcmp(verb, "add"), rc;

	if (!((!strcmp(verb, "list") && argc == 2) ||
	      ((!strcmp(verb, "show") || !strcmp(verb, "del")) && argc == 3) ||
	      ((adding || !strcmp(verb, "set")) && argc >= 3))) {
		if (argc > 1 && strcmp(verb, "add") && strcmp(verb, "set") && strcmp(verb, "show") &&
		    strcmp(verb, "del") && strcmp(verb, "list"))
			fprintf(stderr, "pchat: unknown category command '%s'\n", verb);
		return 2;       /* the caller prints the usage */
	}
	if (adding || !strcmp(verb, "set")) {
		if ((rc = opts_parse(&o, cfg, adding ? "category add" : "category set", adding ? W_CAT_ADD : W_CAT_SET,
		                     argc, argv, 3)) != 0) {
			return rc;
		}
		if (adding && check_text("a category name", argv[2], STORE_NAME_MAX, 1))
			return 1;
		if (!adding && argc == 3) {
			fprintf(stderr, "pchat: category set %s: nothing to change\n", argv[2]);
			return 2;
		}
	}
	if (open_store(cfg, &st))
		return 1;
	if (!strcmp(verb, "list")) {
		rc = category_list(st);
	} else if (!strcmp(verb, "show")) {
		rc = category_show(st, argv[2]);
	} else if (!strcmp(verb, "del")) {
		rc = category_del(st, cfg, argv[2]);
	} else if (tx_begin(st)) {
		rc = 1;
	} else {
		if (adding) {
			memset(&c, 0, sizeof c);
			snprintf(c.name, sizeof c.name, "%s", argv[2]);
			c.file_upload = c.invitations = c.history = 1;
			rc = category_write(st, &o, &c, 1);
		} else {
			rc = category_get(st, argv[2], &c) || category_write(st, &o, &c, 0);
		}
		if (rc == 0)
			rc = category_lists(st, cfg, &o, &c) || wall_check(st, &c, NULL, 0);
		rc = tx_end(st, cfg, rc, NULL, o.cmd, argv[2], &o);
		if (rc == 0)
			printf("%s category %s\n", adding ? "added" : "updated", c.name);
	}
	store_close(st);
	return rc;
}

/* ---- rooms ----------------------------------------------------------------- */

/* 1 if s is a GUID: 8-4-4-4-12 hex digits. */
static int guid_form(const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < STORE_GUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		                           (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	return i == STORE_GUID_LEN && s[i] == '\0';
}

/* Find ROOM given as a name, a GUID or a ma-chan:// URI of this domain.
 * Prints why not.  Returns 0 or 1. */
static int room_find(struct store *st, const struct config *cfg, const char *arg, struct store_room *r)
{
	char guid[STORE_GUID_LEN + 1];
	const char *p = arg;
	size_t sl = strlen(ROOM_URI_SCHEME);
	int rc;

	if (strncasecmp(p, ROOM_URI_SCHEME, sl) == 0) {
		p = room_uri_guid(arg, strlen(arg), cfg->domain);
		if (p == NULL || !guid_form(p)) {
			fprintf(stderr, "pchat: %s is not a room URI of this server (%s%s/GUID)\n", arg,
			        ROOM_URI_SCHEME, cfg->domain);
			return 1;
		}
	}
	if (guid_form(p)) {
		for (size_t i = 0; i <= STORE_GUID_LEN; i++)
			guid[i] = (char)(p[i] >= 'A' && p[i] <= 'F' ? p[i] + 32 : p[i]);
		rc = store_room_get_guid(st, guid, r);
		if (rc == STORE_E_NOTFOUND && p == arg)
			rc = store_room_get_name(st, arg, r);
	} else {
		rc = store_room_get_name(st, arg, r);
	}
	if (rc == STORE_E_NOTFOUND || rc == STORE_E_INVALID)
		fprintf(stderr, "pchat: no room %s\n", arg);
	else if (rc != STORE_OK)
		fprintf(stderr, "pchat: room %s: %s\n", arg, store_strerror(rc));
	return rc == STORE_OK ? 0 : 1;
}

int admin_room_find(struct store *st, const struct config *cfg, const char *arg, struct store_room *r)
{
	return room_find(st, cfg, arg, r);
}

/* Copy the single-value options into r (category already resolved). */
static void room_fields(const struct opts *o, struct store_room *r)
{
	if (o->val[O_NAME])
		snprintf(r->name, sizeof r->name, "%s", o->val[O_NAME]);
	if (o->val[O_DESCRIPTION])
		snprintf(r->description, sizeof r->description, "%s", o->val[O_DESCRIPTION]);
	if (o->val[O_TOPIC])
		snprintf(r->topic, sizeof r->topic, "%s", o->val[O_TOPIC]);
	if (o->val[O_PRIVACY])
		r->privacy = o->num[O_PRIVACY];
	if (o->val[O_TYPE])
		r->type = o->num[O_TYPE];
	if (o->val[O_INVITATIONS])
		r->invitations = o->num[O_INVITATIONS];
}

/* Someone given a role in a room whose invitations are on (its own setting
 * or its category's) gets an invitation, which clients fetch with getinv
 * and which joining the room consumes. */
static int room_invite(struct store *st, const struct store_room *r, const char *uri)
{
	struct store_category c;
	int on = r->invitations == STORE_INVITE_ON;
	int rc;

	if (r->invitations == STORE_INVITE_INHERIT) {
		rc = store_category_get_id(st, r->category_id, &c);
		if (rc != STORE_OK)
			return rc;
		on = c.invitations;
	}
	if (!on)
		return STORE_OK;
	rc = store_invite_add(st, r->id, uri, "admin");
	return rc == STORE_E_EXISTS ? STORE_OK : rc;
}

/* Apply the role options in command-line order. */
static int room_roles(struct store *st, const struct config *cfg, const struct opts *o, const struct store_room *r)
{
	char uri[STORE_URI_MAX];

	for (int i = o->first; i + 1 < o->argc; i += 2) {
		enum opt_id id = opt_at(o, i);
		int rc, bit, del = id >= O_REMOVE_MEMBER;
		const char *role;

		if (id < O_MEMBER)
			continue;
		switch (del ? id - O_REMOVE_MEMBER + O_MEMBER : id) {
		case O_MEMBER: bit = STORE_ROLE_MEMBER, role = "member"; break;
		case O_MANAGER: bit = STORE_ROLE_MANAGER, role = "manager"; break;
		default: bit = STORE_ROLE_PRESENTER, role = "presenter"; break;
		}
		user_uri(cfg, o->argv[i + 1], uri);
		rc = del ? store_room_role_del(st, r->id, uri, bit) : store_room_role_add(st, r->id, uri, bit);
		if (rc == STORE_E_NOTFOUND) {
			fprintf(stderr, "pchat: %s is not a %s of room %s\n", uri, role, r->name);
			return 1;
		}
		if (rc == STORE_OK && !del)
			rc = room_invite(st, r, uri);
		/* An invitation goes with the last role: it would name the room
		 * (even a secret one) to someone no longer in it. */
		if (rc == STORE_OK && del && store_room_roles(st, r->id, uri) == 0 &&
		    (rc = store_invite_del(st, r->id, uri)) == STORE_E_NOTFOUND)
			rc = STORE_OK;
		if (rc != STORE_OK) {
			fprintf(stderr, "pchat: room %s: %s\n", r->name, store_strerror(rc));
			return 1;
		}
	}
	return 0;
}

/* room add NAME / room set ROOM, inside the transaction.  Returns 0 or 1. */
static int room_change(struct store *st, const struct config *cfg, const struct opts *o, int adding,
                       const char *arg, struct store_room *r)
{
	struct store_category c;
	const char *cat = o->val[O_CATEGORY];
	int rc;

	if (adding) {
		memset(r, 0, sizeof *r);
		snprintf(r->name, sizeof r->name, "%s", arg);
		r->privacy = STORE_PRIVACY_CLOSED;
		r->type = STORE_ROOM_NORMAL;
		r->invitations = STORE_INVITE_INHERIT;
		if (cat == NULL)
			cat = "default";
	} else if (room_find(st, cfg, arg, r)) {
		return 1;
	}
	if (cat) {
		if (category_get(st, cat, &c))
			return 1;
	} else if (store_category_get_id(st, r->category_id, &c) != STORE_OK) {
		fprintf(stderr, "pchat: room %s: cannot read its category (store error)\n", r->name);
		return 1;
	}
	r->category_id = c.id;
	room_fields(o, r);
	rc = adding ? store_room_add(st, r) : store_room_update(st, r);
	if (rc == STORE_E_EXISTS) {
		fprintf(stderr, "pchat: a room named %s already exists\n", r->name);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: room %s: %s\n", r->name, store_strerror(rc));
		return 1;
	}
	return room_roles(st, cfg, o, r) || wall_check(st, &c, &r->id, 1);
}

struct roles_out {
	struct ulist of[3];     /* members, managers, presenters */
};

static int roles_collect(void *arg, const char *uri, int roles)
{
	struct roles_out *ro = arg;

	for (int i = 0; i < 3; i++)
		if ((roles & (1 << i)) && ulist_add(&ro->of[i], uri) < 0)
			return -1;
	return 0;
}

static int room_show(struct store *st, const struct config *cfg, const char *arg)
{
	static const char *const keys[] = { "members", "managers", "presenters" };
	struct store_room r;
	struct store_category c;
	struct roles_out ro;
	char when[32];
	time_t t;
	struct tm tm;
	int rc = 1;

	if (room_find(st, cfg, arg, &r))
		return 1;
	memset(&ro, 0, sizeof ro);
	if (store_category_get_id(st, r.category_id, &c) != STORE_OK ||
	    store_room_role_each(st, r.id, roles_collect, &ro) != STORE_OK) {
		fprintf(stderr, "pchat: cannot read room %s (store error)\n", r.name);
		goto out;
	}
	t = (time_t)(r.created_us / 1000000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("uri: %s%s/%s\nname: %s\ncategory: %s\nprivacy: %s\ntype: %s\ninvitations: %s\ndisabled: %s\n"
	       "description: %s\ntopic: %s\n",
	       ROOM_URI_SCHEME, cfg->domain, r.guid, r.name, c.name, word(privacy_words, r.privacy),
	       word(type_words, r.type), word(invite_words, r.invitations + 1), r.disabled ? "yes" : "no",
	       r.description, r.topic);
	for (int i = 0; i < 3; i++)
		print_ulist(keys[i], &ro.of[i]);
	printf("created: %s\n", when);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		ulist_free(&ro.of[i]);
	return rc;
}

struct room_lister {
	const struct config *cfg;
	const struct catlist *cats;
};

static int room_print(void *arg, const struct store_room *r)
{
	const struct room_lister *rl = arg;

	printf("%s%s/%s\t%s\t%s\t%s\t%s\t%s\n", ROOM_URI_SCHEME, rl->cfg->domain, r->guid, r->name,
	       catlist_name(rl->cats, r->category_id), word(privacy_words, r->privacy), word(type_words, r->type),
	       r->disabled ? "disabled" : "enabled");
	return 0;
}

static int room_list(struct store *st, const struct config *cfg)
{
	struct catlist cats = { 0 };
	struct room_lister rl = { cfg, &cats };
	int rc = 0;

	if (store_category_each(st, catlist_add, &cats) != STORE_OK ||
	    store_room_each(st, NULL, room_print, &rl) != STORE_OK) {
		fprintf(stderr, "pchat: cannot list rooms (store error)\n");
		rc = 1;
	}
	free(cats.c);
	return rc;
}

/* room disable|enable|del ROOM. */
static int room_state(struct store *st, const struct config *cfg, const char *verb, const char *arg)
{
	char cmd[32];
	struct store_room r;
	int rc;

	memset(&r, 0, sizeof r);
	if (tx_begin(st))
		return 1;
	if ((rc = room_find(st, cfg, arg, &r)) == 0) {
		int64_t pending = 0;
		int s;

		if (!strcmp(verb, "del")) {
			s = store_room_files_pending(st, r.id, &pending);
			if (s == STORE_OK && pending > 0) {
				fprintf(stderr, "pchat: room %s has %lld file(s) whose upload is not in a compliance export yet;"
				                " run `pchat export` first (or disable the room)\n", r.name, (long long)pending);
				s = STORE_E_INUSE;
			} else if (s == STORE_OK) {
				s = store_room_del(st, r.id);
			}
		} else {
			r.disabled = verb[0] == 'd';
			s = store_room_update(st, &r);
		}
		if (s != STORE_OK && s != STORE_E_INUSE)
			fprintf(stderr, "pchat: room %s: %s\n", r.name, store_strerror(s));
		rc = s == STORE_OK ? 0 : 1;
	}
	snprintf(cmd, sizeof cmd, "room %s", verb);
	rc = tx_end(st, cfg, rc, &r, cmd, r.name, NULL);
	if (rc == 0)
		printf("%s room %s\n", !strcmp(verb, "del") ? "deleted" : verb[0] == 'd' ? "disabled" : "enabled", r.name);
	return rc;
}

int admin_room(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_room r;
	struct opts o;
	const char *verb = argc > 1 ? argv[1] : "";
	int adding = !strcmp(verb, "add"), rc;

	if (!((!strcmp(verb, "list") && argc == 2) ||
	      ((!strcmp(verb, "show") || !strcmp(verb, "disable") || !strcmp(verb, "enable") ||
	        !strcmp(verb, "del")) && argc == 3) ||
	      ((adding || !strcmp(verb, "set")) && argc >= 3))) {
		if (argc > 1 && strcmp(verb, "add") && strcmp(verb, "set") && strcmp(verb, "show") &&
		    strcmp(verb, "disable") && strcmp(verb, "enable") && strcmp(verb, "del") && strcmp(verb, "list"))
			fprintf(stderr, "pchat: unknown room command '%s'\n", verb);
		return 2;       /* the caller prints the usage */
	}
	if (adding || !strcmp(verb, "set")) {
		if ((rc = opts_parse(&o, cfg, adding ? "room add" : "room set", adding ? W_ROOM_ADD : W_ROOM_SET,
		                     argc, argv, 3)) != 0) {
			return rc;
		}
		if (adding && check_text("a room name", argv[2], STORE_NAME_MAX, 1))
			return 1;
		if (!adding && argc == 3) {
			fprintf(stderr, "pchat: room set %s: nothing to change\n", argv[2]);
			return 2;
		}
	}
	if (open_store(cfg, &st))
		return 1;
	if (!strcmp(verb, "list")) {
		rc = room_list(st, cfg);
	} else if (!strcmp(verb, "show")) {
		rc = room_show(st, cfg, argv[2]);
	} else if (!adding && strcmp(verb, "set")) {
		rc = room_state(st, cfg, verb, argv[2]);
	} else if (tx_begin(st)) {
		rc = 1;
	} else {
		rc = room_change(st, cfg, &o, adding, argv[2], &r);
		rc = tx_end(st, cfg, rc, rc == 0 ? &r : NULL, o.cmd, argv[2], &o);
		if (rc == 0 && adding)
			printf("%s%s/%s\n", ROOM_URI_SCHEME, cfg->domain, r.guid);
		else if (rc == 0)
			printf("updated room %s\n", r.name);
	}
	store_close(st);
	return rc;
}

/* ---- search ------------------------------------------------------------------ */

/* Print one message as ID, UTC time, author, text; tabs and line breaks in
 * the text are written as \t and \n so each match stays one line. */
static int search_print(void *arg, const struct store_message *m)
{
	time_t secs = (time_t)(m->ts_us / 1000000);
	struct tm tm;
	char when[32];

	(*(long *)arg)++;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%lld\t%s\t%s\t", (long long)m->id, when, m->author);
	for (size_t i = 0; i < m->text_len; i++) {
		char c = m->text[i];

		if (c == '\n' || c == '\t' || c == '\\')
			printf("\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : '\\');
		else if (c != '\r')
			putchar(c);
	}
	putchar('\n');
	return 0;
}

/* The ADMIN event of `pchat search`: "search ROOM words=... limit=N
 * returned=M" in its own transaction.  Returns the exit status. */
static int search_record(struct store *st, const struct config *cfg, const struct store_room *r, const char *words,
                         long limit, long found)
{
	char actor[64], num[24];
	struct buf text;
	int rc;

	buf_init(&text, STORE_TEXT_MAX + 1024);
	buf_printf(&text, "search");
	admin_event_append(&text, NULL, r->name);
	admin_event_append(&text, "words", words);
	snprintf(num, sizeof num, "%ld", limit);
	admin_event_append(&text, "limit", num);
	snprintf(num, sizeof num, "%ld", found);
	admin_event_append(&text, "returned", num);
	if (buf_append(&text, "", 1) < 0 || (rc = store_begin(st)) != STORE_OK) {
		buf_free(&text);
		return 1;
	}
	rc = compliance_record(st, cfg, "ADMIN", r, admin_actor(actor, sizeof actor), 0, (const char *)buf_head(&text),
	                       text.len - 1);
	rc = rc == STORE_OK ? store_commit(st) : (store_rollback(st), rc);
	buf_free(&text);
	return rc == STORE_OK ? 0 : 1;
}

/* pchat search ROOM WORDS... [--limit N]: the newest messages of ROOM
 * holding every word (full-text index), newest first. */
int admin_search(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_room r;
	struct buf words;
	int64_t limit = 50;
	int rc = 1;

	buf_init(&words, STORE_TEXT_MAX);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--limit")) {
			if (i + 1 >= argc || parse_i64(argv[i + 1], strlen(argv[i + 1]), 1, 10000, &limit) < 0) {
				fprintf(stderr, "pchat: --limit takes a number from 1 to 10000\n");
				buf_free(&words);
				return 2;
			}
			i++;
		} else if ((words.len && buf_append(&words, " ", 1) < 0) || buf_appends(&words, argv[i]) < 0) {
			fprintf(stderr, "pchat: search words too long (at most %d bytes)\n", STORE_TEXT_MAX - 1);
			buf_free(&words);
			return 1;
		}
	}
	if (argc < 3 || words.len == 0 || buf_append(&words, "", 1) < 0) {
		fprintf(stderr, "pchat: search: a ROOM and at least one word, please\n");
		buf_free(&words);
		return 2;
	}
	if (open_store(cfg, &st) == 0 && room_find(st, cfg, argv[1], &r) == 0) {
		long found = 0;
		int s = store_message_search(st, r.id, (const char *)buf_head(&words), (int)limit, search_print, &found);

		if (s == STORE_E_INVALID)
			fprintf(stderr, "pchat: nothing to search for in \"%s\"\n", (const char *)buf_head(&words));
		else if (s != STORE_OK)
			fprintf(stderr, "pchat: search: %s\n", store_strerror(s));
		/* An admin reading a room's history is on the record, like a
		 * member's history read (BACKCHAT). */
		if (s == STORE_OK && (rc = search_record(st, cfg, &r, (const char *)buf_head(&words), limit, found)) != 0)
			fprintf(stderr, "pchat: search: the results above were read but could not be recorded\n");
		else
			rc = s == STORE_OK ? 0 : 1;
	}
	store_close(st);
	buf_free(&words);
	return rc;
}
