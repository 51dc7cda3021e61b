/*
 * admin_rooms.c - `pchat category ...` and `pchat room ...` (see admin.h and
 * `pchat --help`): the command line read and checked, the results printed.
 * The changes themselves go through rooms_manage.h, the rules the web
 * service uses too, with the CLI as a site admin.
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
#include "base.h"
#include "buf.h"
#include "compliance.h"
#include "rooms_manage.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


#define onoff_words rm_key_words(RM_HISTORY, RM_FOR_CATEGORY_SET)
#define invite_words rm_key_words(RM_INVITATIONS, RM_FOR_ROOM_SET)
#define privacy_words rm_key_words(RM_PRIVACY, RM_FOR_ROOM_SET)
#define type_words rm_key_words(RM_TYPE, RM_FOR_ROOM_SET)
#define word rm_word

/* The parsed command line of one add/set: argv[first..argc) are option/value
 * pairs, all checked, as the items of one change in command-line order. */
struct opts {
	const char *cmd;                /* "room add", for messages */
	struct rm_item *items;
	struct rm_change change;
};

static void opts_free(struct opts *o)
{
	free(o->items);
	memset(o, 0, sizeof *o);
}

/* Parse argv[first..argc) as option pairs valid for `where` (RM_FOR_*).
 * Returns 0, or the exit status (2 usage, 1 bad value) after printing why. */
static int opts_parse(struct opts *o, struct rm_ctx *ctx, const char *cmd, unsigned where, int argc, char **argv,
                      int first)
{
	int given[RM_KEY_COUNT] = { 0 };

	memset(o, 0, sizeof *o);
	o->cmd = cmd;
	if (argc > first && (o->items = calloc((size_t)(argc - first + 1) / 2, sizeof *o->items)) == NULL) {
		fprintf(stderr, "pchat: out of memory\n");
		return 1;
	}
	for (int i = first; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int key = strncmp(argv[i], "--", 2) == 0 ? rm_key_parse(argv[i] + 2) : -1;
		const char *const *words;

		if (key < 0 || !rm_key_allowed((enum rm_key)key, where)) {
			fprintf(stderr, argv[i][0] == '-' && key >= 0 ? "pchat: %s: %s is not an option of this command\n" :
			        argv[i][0] == '-' ? "pchat: %s: unknown option %s\n" : "pchat: %s: unexpected argument \"%s\"\n",
			        cmd, argv[i]);
			return 2;
		}
		if (v == NULL) {
			fprintf(stderr, "pchat: %s: %s needs a value\n", cmd, argv[i]);
			return 2;
		}
		if (key < RM_ALLOW && given[key]++) {
			fprintf(stderr, "pchat: %s: %s given twice\n", cmd, argv[i]);
			return 2;
		}
		/* A word outside the list is a usage error; text and users are values. */
		words = rm_key_words((enum rm_key)key, where);
		if (words) {
			int k = 0;

			while (words[k] && strcmp(words[k], v) != 0)
				k++;
			if (words[k] == NULL) {
				fprintf(stderr, "pchat: %s: %s takes %s|%s%s%s, not \"%s\"\n", cmd, argv[i], words[0],
				        words[1], words[2] ? "|" : "", words[2] ? words[2] : "", v);
				return 2;
			}
		} else if (rm_check_value(ctx, (enum rm_key)key, where, argv[i], v) != RM_OK) {
			fprintf(stderr, "pchat: %s\n", ctx->why);
			return 1;
		}
		o->items[o->change.n].key = (enum rm_key)key;
		o->items[o->change.n].value = v;
		o->change.n++;
	}
	o->change.items = o->items;
	return 0;
}

/* ---- small collections ----------------------------------------------------- */

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

/* The CLI's side of the rules: its own transactions, a site admin named
 * after the invoking OS user. */
static void cli_ctx(struct rm_ctx *ctx, const struct config *cfg, struct store *st)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->st = st;
	ctx->cfg = cfg;
	ctx->own_tx = 1;
}

/* Print why a change failed; returns the exit status. */
static int cli_result(const struct rm_ctx *ctx, enum rm_result r)
{
	if (r == RM_OK)
		return 0;
	fprintf(stderr, "pchat: %s\n", ctx->why);
	return 1;
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

static void print_list(const char *key, const struct strlist *l)
{
	printf("%s:", key);
	for (size_t i = 0; i < l->n; i++)
		printf(" %s", l->s[i]);
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
		struct strlist u = { 0 };
		int r = store_category_list_each(st, c.id, (enum store_cat_list)l, strlist_add, &u);

		if (r == STORE_OK)
			print_list(keys[l], &u);
		strlist_free(&u);
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

int admin_category(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_category c;
	struct rm_ctx ctx;
	struct opts o;
	char actor_text[64];
	struct rm_actor actor = { admin_actor(actor_text, sizeof actor_text), 1 };
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
	cli_ctx(&ctx, cfg, NULL);
	memset(&o, 0, sizeof o);
	if (adding || !strcmp(verb, "set")) {
		if ((rc = opts_parse(&o, &ctx, adding ? "category add" : "category set",
		                     adding ? RM_FOR_CATEGORY_ADD : RM_FOR_CATEGORY_SET, argc, argv, 3)) != 0) {
			opts_free(&o);
			return rc;
		}
		if (adding && rm_check_name(&ctx, "a category name", argv[2]) != RM_OK) {
			opts_free(&o);
			return cli_result(&ctx, RM_BAD_VALUE);
		}
		if (!adding && argc == 3) {
			fprintf(stderr, "pchat: category set %s: nothing to change\n", argv[2]);
			return 2;
		}
	}
	if (admin_open_store(cfg, &st)) {
		opts_free(&o);
		return 1;
	}
	ctx.st = st;
	if (!strcmp(verb, "list")) {
		rc = category_list(st);
	} else if (!strcmp(verb, "show")) {
		rc = category_show(st, argv[2]);
	} else if (!strcmp(verb, "del")) {
		/* Printed as stored, whatever case it was given in. */
		if (store_category_get(st, argv[2], &c) != STORE_OK)
			snprintf(c.name, sizeof c.name, "%s", argv[2]);
		rc = cli_result(&ctx, rm_category_delete(&ctx, &actor, argv[2]));
		if (rc == 0)
			printf("deleted category %s\n", c.name);
	} else {
		rc = cli_result(&ctx, adding ? rm_category_create(&ctx, &actor, argv[2], &o.change, &c)
		                             : rm_category_modify(&ctx, &actor, argv[2], &o.change, &c));
		if (rc == 0)
			printf("%s category %s\n", adding ? "added" : "updated", c.name);
	}
	opts_free(&o);
	store_close(st);
	return rc;
}

/* ---- rooms ----------------------------------------------------------------- */

/* Find ROOM given as a name, a room key or a ma-chan:// URI of this domain
 * (rooms_manage.c's one lookup, as a site admin).  Prints why not.
 * Returns 0 or 1. */
static int room_find(struct store *st, const struct config *cfg, const char *arg, struct store_room *r)
{
	static const struct rm_actor admin = { NULL, 1 };
	struct rm_ctx ctx;

	cli_ctx(&ctx, cfg, st);
	return cli_result(&ctx, rm_room_find(&ctx, &admin, arg, r));
}

int admin_room_find(struct store *st, const struct config *cfg, const char *arg, struct store_room *r)
{
	return room_find(st, cfg, arg, r);
}

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
		print_list(keys[i], &ro.of[i]);
	printf("created: %s\n", when);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		strlist_free(&ro.of[i]);
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

int admin_room(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_room r;
	struct rm_ctx ctx;
	struct opts o;
	char actor_text[64];
	struct rm_actor actor = { admin_actor(actor_text, sizeof actor_text), 1 };
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
	cli_ctx(&ctx, cfg, NULL);
	memset(&o, 0, sizeof o);
	if (adding || !strcmp(verb, "set")) {
		if ((rc = opts_parse(&o, &ctx, adding ? "room add" : "room set", adding ? RM_FOR_ROOM_ADD : RM_FOR_ROOM_SET,
		                     argc, argv, 3)) != 0) {
			opts_free(&o);
			return rc;
		}
		if (adding && rm_check_name(&ctx, "a room name", argv[2]) != RM_OK) {
			opts_free(&o);
			return cli_result(&ctx, RM_BAD_VALUE);
		}
		if (!adding && argc == 3) {
			fprintf(stderr, "pchat: room set %s: nothing to change\n", argv[2]);
			return 2;
		}
	}
	if (admin_open_store(cfg, &st)) {
		opts_free(&o);
		return 1;
	}
	ctx.st = st;
	if (!strcmp(verb, "list")) {
		rc = room_list(st, cfg);
	} else if (!strcmp(verb, "show")) {
		rc = room_show(st, cfg, argv[2]);
	} else if (!adding && strcmp(verb, "set")) {
		rc = cli_result(&ctx, rm_room_state(&ctx, &actor, argv[2], verb, &r));
		if (rc == 0)
			printf("%s room %s\n", !strcmp(verb, "del") ? "deleted" : verb[0] == 'd' ? "disabled" : "enabled",
			       r.name);
	} else {
		rc = cli_result(&ctx, adding ? rm_room_create(&ctx, &actor, argv[2], &o.change, &r)
		                             : rm_room_modify(&ctx, &actor, argv[2], &o.change, &r));
		if (rc == 0 && adding)
			printf("%s%s/%s\n", ROOM_URI_SCHEME, cfg->domain, r.guid);
		else if (rc == 0)
			printf("updated room %s\n", r.name);
	}
	opts_free(&o);
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
	if (admin_open_store(cfg, &st) == 0 && room_find(st, cfg, argv[1], &r) == 0) {
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
