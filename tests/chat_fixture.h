/*
 * chat_fixture.h - the chat service (xccos.c -> chat_rooms.c -> chat_out.c)
 * without SIP or TLS, for test_chat.c and fuzz/fuzz_chat.c: the sources
 * included whole, fakes of the few sip_dialog_* functions the service calls
 * (each fake dialog keeps every INFO body it was sent), stubs of the file
 * service (off: getftok answers 501), and a store in a temporary folder
 * seeded with one room of each privacy, in an open category, a category
 * whose allowed list names one user, and one whose denied list names one.
 */
#ifndef PCHAT_CHAT_FIXTURE_H
#define PCHAT_CHAT_FIXTURE_H

#include "../base.c"
#include "../compliance_types.c"
#include "../room_uri.c"
#include "../buf.c"
#include "../log.c"
#include "../loop.c"
#include "../config.c"
#include "../durable.c"
#include "../store.c"
#include "../store_chat.c"
#include "../store_lync.c"
#include "../store_compliance.c"
#include "../store_files.c"
#include "../store_rules.c"
#include "../compliance.c"
#include "../compliance_xml.c"
#include "../compliance_attach.c"
#include "../xml_out.c"
#include "../chat_out.c"
#include "../wall.c"
#include "../chat_rooms.c"
#include "../xccos_lync.c"
#include "../xccos.c"

#include <stdarg.h>
#include <unistd.h>

/* ---- fakes of sip_server.c -------------------------------------------------------- */

struct sip_dialog {
	uint64_t id;
	enum sip_dialog_role role;
	char user[64];
	void *app;
	struct buf infos;       /* every INFO body sent, each followed by a NUL */
	size_t n_infos;
	size_t last;            /* offset of the newest body in infos */
};

int sip_dialog_send_info(struct sip_dialog *d, const char *body, size_t len)
{
	static const char nul = 0;

	d->last = d->infos.len;
	if (buf_append(&d->infos, body, len) < 0 || buf_append(&d->infos, &nul, 1) < 0)
		return -1;
	d->n_infos++;
	return 0;
}

uint64_t sip_dialog_id(const struct sip_dialog *d) { return d->id; }
enum sip_dialog_role sip_dialog_role(const struct sip_dialog *d) { return d->role; }
const char *sip_dialog_user(const struct sip_dialog *d) { return d->user; }
size_t sip_dialog_max_body(const struct sip_dialog *d) { (void)d; return SIZE_MAX; }
const char *sip_dialog_local_uri(const struct sip_dialog *d) { (void)d; return "sip:chat@example.org"; }
void *sip_dialog_app(const struct sip_dialog *d) { return d->app; }
void sip_dialog_set_app(struct sip_dialog *d, void *app) { d->app = app; }

/* The file service is off in these tests (xccos->files stays NULL). */
void files_set_rights(struct files *f, files_rights_fn fn, void *arg) { (void)f; (void)fn; (void)arg; }
int files_token_issue(struct files *f, const char *user, int64_t room_id, int upload, const char *name,
                      const char *fid, char token[FILES_TOKEN_LEN + 1], char *url, size_t urllen, const char **why)
{
	(void)f; (void)user; (void)room_id; (void)upload; (void)name; (void)fid; (void)token; (void)url;
	(void)urllen;
	*why = "ERR_NOT_SUPPORTED";
	return 501;
}

/* ---- the seeded world ------------------------------------------------------------- */

enum { FX_USERS = 4, FX_WALLS = 3, FX_PRIVACIES = 3, FX_ROLES = 3 };
/* Walls: none, allowed = {alice, bob, carol} (dave kept out), denied = {carol}. */
enum { WALL_NONE, WALL_ALLOWED, WALL_DENIED };
static const char *const fx_users[FX_USERS] = { "sip:alice@example.org", "sip:bob@example.org",
                                                "sip:carol@example.org", "sip:dave@example.org" };
/* Role held in every room: alice none, bob member, carol manager, dave presenter. */
static const int fx_user_roles[FX_USERS] = { 0, STORE_ROLE_MEMBER, STORE_ROLE_MANAGER, STORE_ROLE_PRESENTER };

/* Rooms: wall x privacy x type (normal, auditorium). */
#define FX_ROOMS (FX_WALLS * FX_PRIVACIES * 2)
struct fx_room {
	int wall, privacy, type;
	struct store_room r;
};

struct fx {
	char dir[64];
	struct config cfg;
	struct store *st;
	struct xccos *x;
	const struct sip_callbacks *cb;
	struct fx_room rooms[FX_ROOMS];
	int64_t cat[FX_WALLS];
	unsigned envid;
	int keep_pass;          /* 1: leave the pass's transaction open (the fuzzer rolls it back) */
};

/* The rule the matrix expects (Lync's, issue 16): 0 nothing, 1 find, 2 join.
 * An open room is joined by anyone past the wall; a closed or secret one by
 * its members only, managers and presenters included; a room without
 * members of its own (has_members 0) takes the category's allowed list as
 * its members (a non-empty one: WALL_ALLOWED's alice, bob and carol).  A
 * closed room is found by anyone, a secret one by those holding a role. */
static int fx_expect_access(int wall, int privacy, int roles, int user, int has_members)
{
	int member = (roles & STORE_ROLE_MEMBER) || (!has_members && wall == WALL_ALLOWED && user < 3);

	if (wall == WALL_ALLOWED && user == 3)
		return 0;
	if (wall == WALL_DENIED && user == 2)
		return 0;
	if (privacy == STORE_PRIVACY_OPEN || member)
		return 2;
	return privacy == STORE_PRIVACY_CLOSED || roles ? 1 : 0;
}

static int fx_open(struct fx *f, int with_roles)
{
	char path[128], err[256];
	static const char *const wall_names[FX_WALLS] = { "open-cat", "allowed-cat", "denied-cat" };

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/pchat_chat.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg, f->dir);
	snprintf(f->cfg.domain, sizeof f->cfg.domain, "example.org");
	snprintf(path, sizeof path, "%s/pchat.db", f->dir);
	if (store_open(&f->st, path, err, sizeof err) != STORE_OK)
		return -1;
	for (int w = 0; w < FX_WALLS; w++) {
		struct store_category c = { .file_upload = 1, .invitations = 1, .history = 1 };

		snprintf(c.name, sizeof c.name, "%s", wall_names[w]);
		if (store_category_add(f->st, &c) != STORE_OK)
			return -1;
		f->cat[w] = c.id;
		if (w == WALL_ALLOWED)
			for (int u = 0; u < 3; u++)
				if (store_category_list_add(f->st, c.id, STORE_CAT_ALLOWED, fx_users[u]) != STORE_OK)
					return -1;
		if (w == WALL_DENIED && store_category_list_add(f->st, c.id, STORE_CAT_DENIED, fx_users[2]) != STORE_OK)
			return -1;
	}
	for (int i = 0; i < FX_ROOMS; i++) {
		struct fx_room *fr = &f->rooms[i];

		fr->wall = i / (FX_PRIVACIES * 2);
		fr->privacy = i / 2 % FX_PRIVACIES;
		fr->type = i % 2;
		snprintf(fr->r.name, sizeof fr->r.name, "room-w%d-p%d-t%d", fr->wall, fr->privacy, fr->type);
		snprintf(fr->r.description, sizeof fr->r.description, "desc-%d", i);
		snprintf(fr->r.topic, sizeof fr->r.topic, "topic-%d", i);
		fr->r.category_id = f->cat[fr->wall];
		fr->r.privacy = fr->privacy;
		fr->r.type = fr->type;
		fr->r.invitations = STORE_INVITE_INHERIT;
		if (store_room_add(f->st, &fr->r) != STORE_OK)
			return -1;
		for (int u = 0; with_roles && u < FX_USERS; u++)
			if (fx_user_roles[u] && store_room_role_add(f->st, fr->r.id, fx_users[u], fx_user_roles[u]) != STORE_OK)
				return -1;
		/* Everyone is invited everywhere: getinv must filter. */
		for (int u = 0; u < FX_USERS; u++)
			if (store_invite_add(f->st, fr->r.id, fx_users[u], "sip:admin@example.org") != STORE_OK)
				return -1;
	}
	if ((f->x = xccos_new(&f->cfg, f->st, NULL)) == NULL)
		return -1;
	f->cb = xccos_callbacks(f->x);
	return 0;
}

static void fx_close(struct fx *f)
{
	char cmd[128];

	xccos_free(f->x);
	store_close(f->st);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
}

static struct sip_dialog *fx_dialog(struct fx *f, int user, enum sip_dialog_role role)
{
	static uint64_t next_id = 1;
	struct sip_dialog *d = calloc(1, sizeof *d);

	if (d == NULL)
		abort();
	d->id = next_id++;
	buf_init(&d->infos, (size_t)1 << 30);
	d->role = role;
	snprintf(d->user, sizeof d->user, "%s", fx_users[user]);
	f->cb->on_dialog_open(f->cb->arg, d);
	return d;
}

static void fx_dialog_free(struct fx *f, struct sip_dialog *d)
{
	f->cb->on_dialog_close(f->cb->arg, d);
	buf_free(&d->infos);
	free(d);
}

/* Send one envelope (inner XML) as an INFO; the SIP status on_info answers.
 * The pass's transaction is committed as pchat.c does after each pass. */
static int fx_send(struct fx *f, struct sip_dialog *d, const char *fmt, ...)
{
	char inner[4096], body[4400];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">%s</xccos>",
	         ++f->envid, inner);
	status = f->cb->on_info(f->cb->arg, d, body, strlen(body));
	if (!f->keep_pass)
		store_pass_commit(f->st);
	return status;
}

/* The newest body d received after offset `from`, or "" if none. */
static inline const char *fx_last(const struct sip_dialog *d, size_t from)
{
	if (d->infos.len <= from || d->last < from)
		return "";
	return (const char *)buf_head(&d->infos) + d->last;
}

/* Whether s occurs in any body d received from offset `from` on. */
static inline int fx_received(const struct sip_dialog *d, size_t from, const char *s)
{
	const char *p;

	if (d->infos.len == 0)
		return 0;
	p = (const char *)buf_head(&d->infos);
	for (size_t off = from; off < d->infos.len; off += strlen(p + off) + 1)
		if (strstr(p + off, s))
			return 1;
	return 0;
}

#endif
