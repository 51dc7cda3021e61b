/*
 * test_rooms_manage.c - the rules of room management (rooms_manage.c) and
 * the RMCommand handler (rm_command.c) on a real SQLite store, inside the
 * chat service of tests/chat_fixture.h, so the live notices a change sends
 * to people in the room are seen as the fake dialogs receive them.
 *
 * The fixture's world: categories open-cat, allowed-cat (allowed: alice,
 * bob, carol) and denied-cat (denied: carol); in every room bob is a
 * member, carol a manager, dave a presenter, alice nothing.  Here alice is
 * made a creator in open-cat.
 */
#include "chat_fixture.h"
#include "../auth.c"
#include "../user_uri.c"
#include "../admin.c"
#include "../rooms_manage.c"
#include "../rm_command.c"
#include "check.h"

static const struct rm_actor alice = { "sip:alice@example.org", 0 };
static const struct rm_actor bob = { "sip:bob@example.org", 0 };
static const struct rm_actor carol = { "sip:carol@example.org", 0 };
static const struct rm_actor dave = { "sip:dave@example.org", 0 };
static const struct rm_actor admin = { "admin:test", 1 };

static struct rm_ctx ctx;

/* One request of a loop pass, committed as pchat.c does after the pass. */
#define PASS(call) (rm_last = (call), store_pass_commit(ctx.st), rm_last)
static enum rm_result rm_last;

static enum rm_result set1(const struct rm_actor *a, const char *room, enum rm_key k, const char *v)
{
	struct rm_item it = { k, v };
	struct rm_change ch = { &it, 1 };

	return PASS(rm_room_modify(&ctx, a, room, &ch, NULL));
}

static int roles_of(const char *room, const char *uri)
{
	struct store_room r;

	if (store_room_get_name(ctx.st, room, &r) != STORE_OK)
		return -1;
	return store_room_roles(ctx.st, r.id, uri);
}

struct last_admin {
	char user[STORE_URI_MAX];
	char content[512];
};

static int last_admin_cb(void *arg, const struct store_event *e)
{
	struct last_admin *l = arg;

	if (strcmp(e->type, "ADMIN") == 0) {
		snprintf(l->user, sizeof l->user, "%s", e->user_uri);
		snprintf(l->content, sizeof l->content, "%.*s", (int)e->content_len, e->content);
	}
	return 0;
}

static void last_admin_event(struct last_admin *l)
{
	memset(l, 0, sizeof *l);
	store_event_each(ctx.st, 0, 100000, last_admin_cb, l);
}

static void creators_and_managers(struct fx *f)
{
	struct rm_item items[] = { { RM_CATEGORY, "open-cat" }, { RM_TOPIC, "First" }, { RM_MEMBER, "bob" } };
	struct rm_change ch = { items, 3 };
	struct rm_item bad_cat = { RM_CATEGORY, "allowed-cat" };
	struct rm_change to_allowed = { &bad_cat, 1 };
	struct store_room r;
	struct last_admin ev;

	CHECK(store_category_list_add(f->st, f->cat[WALL_NONE], STORE_CAT_CREATOR, alice.uri) == STORE_OK, "seed creator");
	store_pass_commit(f->st);

	/* creator: in its own category only, and becomes the manager */
	if (PASS(rm_room_create(&ctx, &alice, "Alices", &ch, &r)) != RM_OK) printf("why: %s\n", ctx.why);
	CHECK(rm_last == RM_OK, "rm-1.1 a creator creates a room in its category");
	CHECK(roles_of("Alices", alice.uri) == STORE_ROLE_MANAGER, "rm-1.2 ... and becomes its manager");
	CHECK(roles_of("Alices", bob.uri) == STORE_ROLE_MEMBER, "rm-1.3 ... with the members it named");
	CHECK(PASS(rm_room_create(&ctx, &alice, "Elsewhere", &to_allowed, NULL)) == RM_FORBIDDEN &&
	      roles_of("Elsewhere", alice.uri) == -1, "rm-1.4 not in a category where it is no creator");
	CHECK(PASS(rm_room_create(&ctx, &bob, "Bobs", NULL, NULL)) == RM_FORBIDDEN && roles_of("Bobs", bob.uri) == -1,
	      "rm-1.5 a non-creator may not create rooms");
	last_admin_event(&ev);
	CHECK(strcmp(ev.user, alice.uri) == 0 && strstr(ev.content, "room add Alices") &&
	      strstr(ev.content, "manager=sip:alice@example.org"), "rm-1.6 the ADMIN event names the acting user");

	/* manager: every property but the category, roles, disable */
	CHECK(set1(&alice, "Alices", RM_TOPIC, "Second") == RM_OK, "rm-2.1 a manager changes the topic");
	CHECK(set1(&alice, "Alices", RM_DESCRIPTION, "About") == RM_OK && set1(&alice, "Alices", RM_PRIVACY, "open") == RM_OK &&
	      set1(&alice, "Alices", RM_TYPE, "auditorium") == RM_OK && set1(&alice, "Alices", RM_INVITATIONS, "on") == RM_OK,
	      "rm-2.2 ... description, privacy, type, invitations");
	CHECK(set1(&alice, "Alices", RM_CATEGORY, "allowed-cat") == RM_FORBIDDEN, "rm-2.3 ... but not the category");
	CHECK(set1(&alice, "Alices", RM_CATEGORY, "open-cat") == RM_OK, "rm-2.4 naming its own category is no move");
	CHECK(set1(&alice, "Alices", RM_MANAGER, "dave") == RM_OK && set1(&alice, "Alices", RM_PRESENTER, "carol") == RM_OK &&
	      roles_of("Alices", dave.uri) == STORE_ROLE_MANAGER && roles_of("Alices", carol.uri) == STORE_ROLE_PRESENTER,
	      "rm-2.5 ... adds managers and presenters");
	CHECK(set1(&alice, "Alices", RM_REMOVE_MEMBER, "bob") == RM_OK && roles_of("Alices", bob.uri) == 0 &&
	      set1(&alice, "Alices", RM_REMOVE_PRESENTER, "carol") == RM_OK && set1(&alice, "Alices", RM_REMOVE_MANAGER, "dave") == RM_OK &&
	      roles_of("Alices", dave.uri) == 0, "rm-2.6 ... and removes them");
	CHECK(set1(&alice, "Alices", RM_REMOVE_MEMBER, "bob") == RM_BAD_VALUE && strstr(ctx.why, "not a member"),
	      "rm-2.7 removing a role not held is a bad value");
	CHECK(PASS(rm_room_state(&ctx, &alice, "Alices", "disable", &r)) == RM_OK && r.disabled, "rm-2.8 a manager disables");
	CHECK(PASS(rm_room_state(&ctx, &alice, "Alices", "enable", &r)) == RM_OK && !r.disabled, "rm-2.9 ... and enables");
	CHECK(PASS(rm_room_state(&ctx, &alice, "Alices", "del", NULL)) == RM_FORBIDDEN, "rm-2.10 ... but may not delete");
	CHECK(set1(&alice, "Alices", RM_NAME, "Alices2") == RM_OK && roles_of("Alices2", alice.uri) == STORE_ROLE_MANAGER,
	      "rm-2.11 a manager renames");
	CHECK(set1(&alice, "Alices2", RM_NAME, "room-w0-p0-t0") == RM_NAME_TAKEN, "rm-2.12 onto a taken name: name taken");

	/* members and presenters manage nothing */
	CHECK(set1(&bob, "room-w0-p1-t0", RM_TOPIC, "x") == RM_FORBIDDEN, "rm-3.1 a member may not change a room");
	CHECK(set1(&dave, "room-w0-p1-t0", RM_MEMBER, "alice") == RM_FORBIDDEN, "rm-3.2 a presenter may not add members");
	CHECK(PASS(rm_room_state(&ctx, &bob, "room-w0-p1-t0", "disable", NULL)) == RM_FORBIDDEN,
	      "rm-3.3 a member may not disable");
	CHECK(set1(&carol, "room-w0-p1-t0", RM_TOPIC, "by carol") == RM_OK, "rm-3.4 the seeded manager may");

	/* hidden rooms answer exactly like missing ones */
	CHECK(set1(&alice, "room-w0-p2-t0", RM_TOPIC, "x") == RM_NOT_FOUND && strcmp(ctx.why, "not found") == 0,
	      "rm-4.1 a secret room the user is not in: \"not found\"");
	CHECK(set1(&alice, "no-such-room", RM_TOPIC, "x") == RM_NOT_FOUND && strcmp(ctx.why, "not found") == 0,
	      "rm-4.2 a missing room: the same words");
	CHECK(set1(&alice, "room-w0-p1-t0", RM_TOPIC, "x") == RM_FORBIDDEN, "rm-4.3 a closed room she may find: forbidden");
	CHECK(set1(&carol, "room-w2-p1-t0", RM_TOPIC, "x") == RM_NOT_FOUND && strcmp(ctx.why, "not found") == 0,
	      "rm-4.4 a manager the wall keeps out does not see the room");
	CHECK(set1(&dave, "room-w1-p0-t0", RM_TOPIC, "x") == RM_NOT_FOUND, "rm-4.5 nor one kept out by an allowed list");
}

static void admins_and_walls(struct fx *f)
{
	struct rm_item deny_bob = { RM_DENY, "bob" };
	struct rm_change ch_deny = { &deny_bob, 1 };
	struct rm_item desc = { RM_DESCRIPTION, "d" };
	struct rm_change ch_desc = { &desc, 1 };
	struct rm_category_info ci;
	struct store_room r;

	(void)f;
	CHECK(PASS(rm_category_create(&ctx, &alice, "mine", &ch_desc, NULL)) == RM_FORBIDDEN,
	      "rm-5.1 only site admins change categories");
	CHECK(PASS(rm_category_create(&ctx, &admin, "legal", &ch_desc, NULL)) == RM_OK, "rm-5.2 a site admin creates one");
	CHECK(set1(&admin, "room-w0-p2-t1", RM_CATEGORY, "legal") == RM_OK, "rm-5.3 ... moves any room");
	CHECK(PASS(rm_room_state(&ctx, &admin, "room-w0-p2-t1", "disable", NULL)) == RM_OK, "rm-5.4 ... disables any room");
	CHECK(rm_category_get(&ctx, &alice, "legal", &ci) == RM_FORBIDDEN, "rm-5.5 category lists: site admins only");
	CHECK(rm_category_get(&ctx, &admin, "legal", &ci) == RM_OK && ci.rooms == 1, "rm-5.6 ... with its rooms");
	rm_category_info_free(&ci);

	/* the wall, whichever way */
	CHECK(set1(&admin, "room-w2-p0-t0", RM_MEMBER, "carol") == RM_WALL && strstr(ctx.why, "denied list"),
	      "rm-6.1 a denied user added as a member: refused");
	CHECK(set1(&carol, "room-w1-p0-t0", RM_MEMBER, "dave") == RM_WALL && roles_of("room-w1-p0-t0", dave.uri) == STORE_ROLE_PRESENTER,
	      "rm-6.2 a manager adding someone off the allowed list: refused, nothing kept");
	CHECK(set1(&admin, "room-w0-p0-t0", RM_CATEGORY, "denied-cat") == RM_WALL &&
	      store_room_get_name(ctx.st, "room-w0-p0-t0", &r) == STORE_OK && r.category_id != 0 &&
	      store_category_list_has(ctx.st, r.category_id, STORE_CAT_DENIED, carol.uri) == 0,
	      "rm-6.3 moving a room with a denied user into the category: refused");
	CHECK(PASS(rm_category_modify(&ctx, &admin, "open-cat", &ch_deny, NULL)) == RM_WALL &&
	      store_category_list_has(ctx.st, r.category_id, STORE_CAT_DENIED, bob.uri) == 0,
	      "rm-6.4 denying a user who is in a room of the category: refused");

	/* a refused change inside the pass takes back only itself */
	{
		struct rm_item t = { RM_TOPIC, "kept" }, m = { RM_MEMBER, "carol" };
		struct rm_change ct = { &t, 1 }, cm = { &m, 1 };

		CHECK(rm_room_modify(&ctx, &admin, "room-w0-p0-t1", &ct, NULL) == RM_OK &&
		      rm_room_modify(&ctx, &admin, "room-w2-p0-t1", &cm, NULL) == RM_WALL && store_pass_commit(ctx.st) == STORE_OK &&
		      store_room_get_name(ctx.st, "room-w0-p0-t1", &r) == STORE_OK && strcmp(r.topic, "kept") == 0 &&
		      roles_of("room-w2-p0-t1", carol.uri) == STORE_ROLE_MANAGER,
		      "rm-6.5 a wall refusal does not undo the pass's other writes");
	}
	/* values */
	CHECK(set1(&admin, "room-w0-p0-t1", RM_TOPIC, "line\nbreak") == RM_BAD_VALUE && strstr(ctx.why, "control"),
	      "rm-7.1 control characters refused");
	CHECK(set1(&admin, "room-w0-p0-t1", RM_PRIVACY, "public") == RM_BAD_VALUE && strstr(ctx.why, "open|closed|secret"),
	      "rm-7.2 an unknown word refused");
	CHECK(set1(&admin, "room-w0-p0-t1", RM_MEMBER, "bad name!") == RM_BAD_VALUE, "rm-7.3 a bad user name refused");
	CHECK(set1(&admin, "room-w0-p0-t1", RM_RENAME, "x") == RM_BAD_VALUE, "rm-7.4 a category key on a room refused");
}

static void reads(struct fx *f)
{
	struct rm_room_entry *e = NULL;
	struct store_category *cats = NULL;
	char **found = NULL;
	size_t n = 0;
	int seen = 0;
	uint8_t hash[16] = { 0 };
	struct rm_room_info info;

	CHECK(rm_my_rooms(&ctx, &alice, 0, &e, &n) == RM_OK, "rm-8.1 my rooms");
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].room.name, "Alices2") == 0 && e[i].may_manage && (e[i].roles & STORE_ROLE_MANAGER))
			seen = 1;
	CHECK(seen && n == 1, "rm-8.2 ... lists the room she manages, and only hers");
	free(e);
	CHECK(rm_my_rooms(&ctx, &alice, 1, &e, &n) == RM_FORBIDDEN, "rm-8.3 every room: site admins only");
	CHECK(rm_my_rooms(&ctx, &admin, 1, &e, &n) == RM_OK && n == FX_ROOMS + 1, "rm-8.4 ... who see all");
	free(e);
	seen = 0;
	CHECK(rm_my_rooms(&ctx, &carol, 0, &e, &n) == RM_OK && n == FX_ROOMS - 6,
	      "rm-8.5 a wall hides rooms even from their managers");
	for (size_t i = 0; i < n; i++)
		seen |= e[i].room.disabled && strcmp(e[i].room.name, "room-w0-p2-t1") == 0;
	CHECK(seen, "rm-8.6 ... who do see their disabled rooms (to enable them)");
	free(e);
	seen = 0;
	CHECK(rm_my_rooms(&ctx, &bob, 0, &e, &n) == RM_OK, "rm-8.7 a member's rooms");
	for (size_t i = 0; i < n; i++)
		seen |= strcmp(e[i].room.name, "room-w0-p2-t1") == 0;
	CHECK(!seen && n > 0, "rm-8.8 ... leave out a disabled room");
	free(e);
	CHECK(rm_creator_categories(&ctx, &alice, &cats, &n) == RM_OK && n == 1 && strcmp(cats[0].name, "open-cat") == 0,
	      "rm-8.9 categories where she is a creator");
	free(cats);
	CHECK(rm_creator_categories(&ctx, &bob, &cats, &n) == RM_OK && n == 0, "rm-8.10 none for a non-creator");
	free(cats);
	CHECK(rm_room_get(&ctx, &alice, "Alices2", &info) == RM_OK && info.may_manage && info.n_managers == 1 &&
	      strcmp(info.managers[0], alice.uri) == 0 && strcmp(info.category.name, "open-cat") == 0,
	      "rm-8.11 a room's settings and role lists");
	rm_room_info_free(&info);
	CHECK(rm_room_get(&ctx, &alice, "room-w0-p2-t0", &info) == RM_NOT_FOUND, "rm-8.12 ... not of a hidden room");

	for (int i = 0; i < 60; i++) {
		char uri[64];

		snprintf(uri, sizeof uri, "sip:user%02d@example.org", i);
		store_user_add(f->st, uri, hash);
	}
	store_user_add(f->st, alice.uri, hash);
	store_user_add(f->st, "sip:albert@example.org", hash);
	store_user_set_disabled(f->st, "sip:albert@example.org", 1);
	CHECK(rm_user_search(&ctx, &bob, "AL", 10, &found, &n) == RM_OK && n == 1 && strcmp(found[0], alice.uri) == 0,
	      "rm-9.1 user search: prefix, any case, disabled users left out");
	rm_strings_free(found, n);
	CHECK(rm_user_search(&ctx, &bob, "sip:user", 1000, &found, &n) == RM_OK && n == RM_SEARCH_MAX,
	      "rm-9.2 ... bounded");
	rm_strings_free(found, n);

	snprintf(f->cfg.web_admins, sizeof f->cfg.web_admins, "Eve, sip:Frank@example.org  grace@other.org");
	CHECK(rm_is_site_admin(&f->cfg, "sip:eve@example.org") && rm_is_site_admin(&f->cfg, "sip:frank@example.org") &&
	      rm_is_site_admin(&f->cfg, "sip:grace@other.org") && !rm_is_site_admin(&f->cfg, alice.uri),
	      "rm-9.3 [web] admins: names canonicalised like other users");
	f->cfg.web_admins[0] = '\0';
}

/* An RMCommand round trip; returns the status, answer in *out (freed by caller). */
static int rmc(const struct rm_actor *a, const char *xml, struct buf *out)
{
	int status = 0;

	rm_command_handle(&ctx, a, xml, strlen(xml), out, &status);
	store_pass_commit(ctx.st);
	buf_append(out, "", 1);
	return status;
}

static void rm_commands(void)
{
	struct buf b;
	const char *ans;
	struct store_room r;
	char xml[1024];

	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"CreateRoom\" RoomName=\"Scripted &amp; Co\" "
	                  "RoomDesc=\"by script\" Privacy=\"Closed\" AddIn=\"\" CategoryUri=\"ma-cat://example.org/open-cat\" "
	                  "Managers=\"\" Members=\"bob; dave, \" Notification=\"inherit\"/>", &b) == 200,
	      "rm-10.1 RMCommand CreateRoom: 200");
	ans = (const char *)buf_head(&b);
	CHECK(strstr(ans, "<CreateResult><Success>true</Success>") && strstr(ans, "<RoomName>Scripted &amp; Co</RoomName>") &&
	      strstr(ans, "<RoomId>ma-chan://example.org/"), "rm-10.2 ... answers CreateResult with the room");
	buf_free(&b);
	CHECK(store_room_get_name(ctx.st, "Scripted & Co", &r) == STORE_OK && r.privacy == STORE_PRIVACY_CLOSED &&
	      strcmp(r.description, "by script") == 0 && roles_of("Scripted & Co", alice.uri) == STORE_ROLE_MANAGER &&
	      roles_of("Scripted & Co", bob.uri) == STORE_ROLE_MEMBER && roles_of("Scripted & Co", dave.uri) == STORE_ROLE_MEMBER,
	      "rm-10.3 ... the room as asked, the creator its manager");

	snprintf(xml, sizeof xml, "<Request><RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"ModifyRoom\" RoomId=\"ma-chan://example.org/%s\" "
	         "RoomName=\"Scripted\" Privacy=\"Open\" Members=\"dave\"/></Request>", r.guid);
	CHECK(rmc(&alice, xml, &b) == 200 && strstr((const char *)buf_head(&b), "<EditResult><Success>true"),
	      "rm-10.4 RMCommand ModifyRoom (inside a root element): 200");
	buf_free(&b);
	CHECK(store_room_get_guid(ctx.st, r.guid, &r) == STORE_OK && strcmp(r.name, "Scripted") == 0 &&
	      r.privacy == STORE_PRIVACY_OPEN && roles_of("Scripted", bob.uri) == 0 &&
	      roles_of("Scripted", dave.uri) == STORE_ROLE_MEMBER, "rm-10.5 ... Members is the whole new list");
	CHECK(rmc(&bob, xml, &b) == 403 && strstr((const char *)buf_head(&b), "<Success>false</Success>") &&
	      strstr((const char *)buf_head(&b), "code=\"forbidden\""), "rm-10.6 ... by someone who does not manage it: 403");
	buf_free(&b);
	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"Landing\"/>", &b) == 200 &&
	      strstr((const char *)buf_head(&b), "<LandingResult><Success>true") &&
	      strstr((const char *)buf_head(&b), "<RoomName>Scripted</RoomName>"), "rm-10.7 Landing lists her rooms");
	buf_free(&b);

	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"CreateRoom\" RoomName=\"x\"", &b) == 400 &&
	      strstr((const char *)buf_head(&b), "not well-formed XML"), "rm-11.1 malformed XML: 400 with a clear error");
	buf_free(&b);
	CHECK(rmc(&alice, "<!DOCTYPE x [<!ENTITY e \"y\">]><RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"Landing\"/>", &b) == 400 &&
	      strstr((const char *)buf_head(&b), "document type"), "rm-11.2 a DTD: refused");
	buf_free(&b);
	CHECK(rmc(&alice, "<RMCommand Type=\"Landing\"/>", &b) == 400 && strstr((const char *)buf_head(&b), "namespace"),
	      "rm-11.3 the wrong namespace: refused");
	buf_free(&b);
	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"DropTable\"/>", &b) == 400 &&
	      strstr((const char *)buf_head(&b), "unknown command Type"), "rm-11.4 an unknown Type: refused");
	buf_free(&b);
	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"CreateRoom\" RoomName=\"Y\" Privacy=\"public\"/>", &b) == 400 &&
	      strstr((const char *)buf_head(&b), "code=\"bad value\"") && roles_of("Y", alice.uri) == -1,
	      "rm-11.5 a bad value: 400, nothing created");
	buf_free(&b);
	CHECK(rmc(&alice, "<RMCommand xmlns=\"" RM_CWA_NS "\" Type=\"ModifyRoom\" RoomId=\"ma-chan://example.org/"
	                  "00000000-0000-0000-0000-000000000000\" RoomName=\"Z\"/>", &b) == 404, "rm-11.6 an unknown room: 404");
	buf_free(&b);
}

/* Changes reach people in the room at once. */
static void live(struct fx *f)
{
	struct sip_dialog *bd = fx_dialog(f, 1, SIP_DIALOG_CHANNEL), *dd = fx_dialog(f, 3, SIP_DIALOG_CHANNEL);
	struct sip_dialog *ad = fx_dialog(f, 0, SIP_DIALOG_CHANNEL);
	struct store_room r;
	/* alice manages it and, to join it as Lync requires, is a member too. */
	struct rm_item m[] = { { RM_CATEGORY, "open-cat" }, { RM_MEMBER, "bob" }, { RM_MEMBER, "alice" } };
	struct rm_change cm = { m, 3 };
	size_t from;

	CHECK(PASS(rm_room_create(&ctx, &alice, "Live", &cm, &r)) == RM_OK, "live-0 a room with bob in it");
	fx_send(f, bd, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	               "</data></cmd>", r.guid);
	CHECK(chat_room_count(xccos_chat_rooms(f->x), r.id) == 1, "live-1 bob has joined");

	from = bd->infos.len;
	CHECK(set1(&alice, "Live", RM_TOPIC, "Fresh <topic>") == RM_OK, "live-2 the manager changes the topic");
	CHECK(fx_received(bd, from, "ntc:chanupd") && fx_received(bd, from, "topic=\"Fresh &lt;topic&gt;\""),
	      "live-3 ... and bob, in the room, is told at once");

	from = dd->infos.len;
	CHECK(set1(&alice, "Live", RM_MEMBER, "dave") == RM_OK, "live-4 dave, online, becomes a member");
	CHECK(fx_received(dd, from, "ntc:inv") && fx_received(dd, from, r.guid) &&
	      fx_received(dd, from, "inviter=\"sip:alice@example.org\""), "live-5 ... and gets the invitation pushed");

	fx_send(f, ad, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	               "</data></cmd>", r.guid);
	from = ad->infos.len;
	CHECK(set1(&alice, "Live", RM_MANAGER, "bob") == RM_OK, "live-6 bob becomes a manager");
	CHECK(fx_received(ad, from, "ntc:join") && fx_received(ad, from, "uri=\"sip:bob@example.org\"") &&
	      fx_received(ad, from, "key=\"" ROLE_KEY_OPERATOR "\""), "live-6b ... and alice, in the room, learns it at once");
	from = bd->infos.len;
	CHECK(set1(&alice, "Live", RM_REMOVE_MEMBER, "bob") == RM_OK && set1(&alice, "Live", RM_REMOVE_MANAGER, "bob") == RM_OK,
	      "live-7 the manager removes bob");
	CHECK(fx_received(bd, from, "ntc:part") && fx_received(bd, from, "uri=\"sip:bob@example.org\"") &&
	      chat_room_count(xccos_chat_rooms(f->x), r.id) == 1, "live-8 ... who is parted at once, and told");
	fx_dialog_free(f, bd);
	fx_dialog_free(f, dd);
	fx_dialog_free(f, ad);
}

int main(void)
{
	struct fx f;

	(void)fx_expect_access;
	log_set_level(LOG_ERROR);
	xmlInitParser();
	if (!CHECK(fx_open(&f, 1) == 0, "fixture"))
		return check_done("test_rooms_manage");
	store_pass_commit(f.st);
	memset(&ctx, 0, sizeof ctx);
	ctx.st = f.st;
	ctx.cfg = &f.cfg;
	ctx.live = getenv("RM_TEST_NO_LIVE") ? NULL : xccos_chat_rooms(f.x);
	creators_and_managers(&f);
	admins_and_walls(&f);
	reads(&f);
	rm_commands();
	live(&f);
	fx_close(&f);
	xmlCleanupParser();
	return check_done("test_rooms_manage");
}
