/*
 * e2e_lync_rules.c - the room rules of Lync Persistent Chat (issue 16,
 * section 2), end to end: a real server over real TLS, users signed in with
 * NTLM, the admin CLI changing rooms while it runs.
 *   1  who may join: membership; a manager or presenter who is not a member
 *      is refused until made one; a room with no members takes its
 *      category's allowed list (a non-empty one);
 *   2  large rooms ([chat] participant_update_limit = 3 here): the 4th
 *      joiner's arrival and departure are not announced, their roster is
 *      cut to themselves and the managers, with the count;
 *   3  a category with history off: posts fan out live and reach compliance
 *      but are not kept (history and search find nothing);
 *   4  `pchat message del ID [--replace TEXT]` and `pchat room clear ROOM
 *      --before DATE`: history, search and the ADMIN events; the removed
 *      content is still in the compliance export;
 *   5  `pchat room add --guid` with a GUID, a number and a URI; clients
 *      join, read and post by that address; taken or malformed refused.
 */
#include "check.h"
#include "tchat.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tserver srv;

#define MISSING_GUID "00000000-0000-4000-8000-00000000beef"

/* Run the CLI; its exit status, output in out. */
static int cli(char *out, size_t outlen, const char *a, const char *b, const char *c, const char *d, const char *e,
               const char *f, const char *g)
{
	return tserver_cli(&srv, NULL, out, outlen, a, b, c, d, e, f, g, NULL);
}

/* room add NAME ARGS... (up to 6); the GUID into out[40] ("none" on failure). */
static void room_add(char *out, const char *name, const char *a, const char *b, const char *c, const char *d,
                     const char *e, const char *f)
{
	tchat_guid_of(tchat_cli("room", "add", name, a, b, c, d, e, f, NULL), out);
}

/* cmd:join of key; the resp code (200, 403, 404...) or -1. */
static int join_code(struct tuser *u, const char *key)
{
	const char *p;

	tchat_xccos(u, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	            "</data></cmd>", key);
	p = memmem(buf_head(&u->in), u->in.len, "<resp code=\"", 12);
	return p ? atoi(p + 12) : -1;
}

/* The resp of u's last reply from "<resp" to "</resp>", into out. */
static void resp_of(const struct tuser *u, char *out, size_t outlen)
{
	const char *p = u->in.len ? memmem(buf_head(&u->in), u->in.len, "<resp", 5) : NULL;
	const char *e = p ? strstr(p, "</resp>") : NULL;

	snprintf(out, outlen, "%.*s", p && e ? (int)(e - p) : 0, p ? p : "");
}

static void history(struct tuser *u, const char *key)
{
	tchat_xccos(u, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", key);
}

static void test_membership(struct tuser *alice, struct tuser *bob, struct tuser *carol, struct tuser *dave,
                            struct tuser *eve, struct tuser *frank)
{
	char closed[40], secret[40], counsel[40], counsel_b[40], bare[40], missing[256], got[256], out[512];

	room_add(closed, "Members Only", "--member", "bob", "--manager", "carol", "--presenter", "dave");
	room_add(secret, "Hidden Council", "--privacy", "secret", "--member", "bob", "--manager", "eve");
	CHECK(cli(out, sizeof out, "category", "add", "legal", "--allow", "alice", "--allow", "frank") == 0,
	      "lr-1.0 a category whose allowed list is alice and frank");
	room_add(counsel, "Counsel", "--category", "legal", NULL, NULL, NULL, NULL);
	room_add(counsel_b, "Counsel B", "--category", "legal", "--member", "frank", NULL, NULL);
	room_add(bare, "Bare Closed", NULL, NULL, NULL, NULL, NULL, NULL);
	CHECK(strlen(closed) == 36 && strlen(secret) == 36 && strlen(counsel) == 36 && strlen(counsel_b) == 36 &&
	      strlen(bare) == 36, "lr-1.1 the rooms are made");

	CHECK(join_code(bob, closed) == 200, "lr-1.2 a member joins a closed room");
	CHECK(join_code(carol, closed) == 403, "lr-1.3 a manager who is not a member is refused (403)");
	CHECK(join_code(dave, closed) == 403, "lr-1.4 a presenter who is not a member is refused (403)");
	CHECK(cli(out, sizeof out, "room", "set", "Members Only", "--member", "carol", "--member", "dave") == 0,
	      "lr-1.5 carol and dave made members");
	CHECK(join_code(carol, closed) == 200, "lr-1.6 the manager, now a member, joins");
	CHECK(join_code(dave, closed) == 200, "lr-1.7 the presenter, now a member, joins");

	/* A secret room: its manager learns it is there (403), anyone else
	 * gets exactly what a missing room gets. */
	CHECK(join_code(eve, secret) == 403, "lr-1.8 a secret room's manager who is not a member: 403");
	join_code(frank, MISSING_GUID);
	resp_of(frank, missing, sizeof missing);
	join_code(frank, secret);
	resp_of(frank, got, sizeof got);
	CHECK(missing[0] && strcmp(missing, got) == 0, "lr-1.9 a secret room answers an outsider like a missing one");

	/* No members: the category's allowed list joins. */
	CHECK(join_code(alice, counsel) == 200 && join_code(frank, counsel) == 200,
	      "lr-1.10 a room with no members: those on its category's allowed list join");
	join_code(bob, MISSING_GUID);
	resp_of(bob, missing, sizeof missing);
	join_code(bob, counsel);
	resp_of(bob, got, sizeof got);
	CHECK(strcmp(missing, got) == 0, "lr-1.11 ... someone outside the allowed list: like a missing room");
	CHECK(join_code(alice, counsel_b) == 403 && join_code(frank, counsel_b) == 200,
	      "lr-1.12 a room with members of its own does not take the allowed list");
	CHECK(join_code(alice, bare) == 403, "lr-1.13 an empty allowed list (no wall) makes nobody a member");
	CHECK(join_code(alice, counsel_b) == 403 && tchat_has(&alice->in, "ERR_NO_PERMISSION"),
	      "lr-1.14 the refusal says why (ERR_NO_PERMISSION)");
}

static void test_large_room(struct tuser *alice, struct tuser *bob, struct tuser *carol, struct tuser *dave)
{
	char hall[40];

	room_add(hall, "Big Hall", "--privacy", "open", "--manager", "carol", NULL, NULL);
	CHECK(strlen(hall) == 36, "lr-2.0 an open room managed by carol");
	CHECK(tchat_join(alice, hall) == 200, "lr-2.1 alice joins (1)");
	CHECK(tchat_join(bob, hall) == 200, "lr-2.2 bob joins (2)");
	CHECK(tchat_join(carol, hall) == 200, "lr-2.3 carol, its manager, joins (3)");
	CHECK(tchat_wait_for(alice, "uri=\"sip:carol@example.org\"", 3000),
	      "lr-2.4 at the limit, alice is told of carol's arrival");
	tchat_clear(alice);
	CHECK(tchat_join(dave, hall) == 200, "lr-2.5 dave joins (4, past the limit of 3)");
	CHECK(tchat_has(&dave->in, "uri=\"sip:dave@example.org\"") && tchat_has(&dave->in, "uri=\"sip:carol@example.org\"") &&
	      !tchat_has(&dave->in, "sip:alice@example.org") && !tchat_has(&dave->in, "sip:bob@example.org"),
	      "lr-2.6 dave's roster lists himself and the manager only");
	CHECK(tchat_has(&dave->in, "<info id=\"urn:parlano:ma:info:ucnt\">4</info>"),
	      "lr-2.7 ... with the number of people in the room");
	/* Notices and posts travel in order: once bob's post is in, a notice
	 * about dave would be too. */
	tchat_post(bob, hall, "after-dave-joined");
	CHECK(tchat_wait_for(alice, "after-dave-joined", 3000) && !tchat_has(&alice->in, "sip:dave@example.org"),
	      "lr-2.8 dave's arrival was not announced to alice");
	tchat_clear(alice);
	tchat_xccos(dave, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>",
	            hall);
	tchat_post(bob, hall, "after-dave-left");
	CHECK(tchat_wait_for(alice, "after-dave-left", 3000) && !tchat_has(&alice->in, "sip:dave@example.org"),
	      "lr-2.9 nor his departure");
	tchat_clear(alice);
	tchat_xccos(bob, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>",
	            hall);
	CHECK(tchat_wait_for(alice, "ntc:part", 3000) && tchat_has(&alice->in, "sip:bob@example.org"),
	      "lr-2.10 back at the limit, bob's part is announced");
}

static void test_history_off(struct tuser *alice, struct tuser *bob)
{
	char room[40], out[2048];

	CHECK(cli(out, sizeof out, "category", "add", "nohist", "--history", "off", NULL, NULL) == 0,
	      "lr-3.0 a category with history off");
	room_add(room, "Ephemeral", "--category", "nohist", "--privacy", "open", NULL, NULL);
	CHECK(tchat_join(alice, room) == 200 && tchat_join(bob, room) == 200, "lr-3.1 alice and bob join");
	CHECK(tchat_post(alice, room, "ephemeralword1") == 200, "lr-3.2 alice posts (200)");
	CHECK(tchat_wait_for(bob, "ephemeralword1", 3000), "lr-3.3 bob gets the post live");
	history(bob, room);
	CHECK(tchat_has(&bob->in, "<resp code=\"200\"") && !tchat_has(&bob->in, "ephemeralword1"),
	      "lr-3.4 history holds nothing of it");
	CHECK(cli(out, sizeof out, "search", "Ephemeral", "ephemeralword1", NULL, NULL, NULL, NULL) == 0 &&
	      !strstr(out, "ephemeralword1"), "lr-3.5 nor does a search: the message is not kept");
	CHECK(tchat_sql_count("SELECT count(*) FROM messages WHERE text LIKE '%ephemeralword1%'") == 0,
	      "lr-3.6 no row in the messages table");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND content LIKE "
	                      "'%ephemeralword1%' AND message_id > 0") == 1,
	      "lr-3.7 its CHAT event (with an id) waits for the compliance export");
}

static void test_removal(struct tuser *alice, struct tuser *bob)
{
	char room[40], archive[40], out[2048], idtext[24];
	long del_id, rep_id;

	room_add(room, "Lobby", "--privacy", "open", NULL, NULL, NULL, NULL);
	CHECK(tchat_join(alice, room) == 200 && tchat_join(bob, room) == 200, "lr-4.0 alice and bob in Lobby");
	tchat_post(alice, room, "deleteme1");
	tchat_post(alice, room, "replaceme1");
	tchat_post(alice, room, "keepme1");
	tchat_wait_for(bob, "keepme1", 3000);      /* the live copies are in before history is asked */
	del_id = tchat_sql_count("SELECT id FROM messages WHERE text = 'deleteme1'");
	rep_id = tchat_sql_count("SELECT id FROM messages WHERE text = 'replaceme1'");
	CHECK(del_id > 0 && rep_id > 0, "lr-4.1 three posts stored");
	snprintf(idtext, sizeof idtext, "%ld", del_id);
	CHECK(cli(out, sizeof out, "message", "del", idtext, NULL, NULL, NULL, NULL) == 0, "lr-4.2 `message del ID`");
	history(bob, room);
	CHECK(!tchat_has(&bob->in, "deleteme1") && tchat_has(&bob->in, "replaceme1") && tchat_has(&bob->in, "keepme1"),
	      "lr-4.3 history no longer shows it, the others stay");
	snprintf(idtext, sizeof idtext, "%ld", rep_id);
	CHECK(cli(out, sizeof out, "message", "del", idtext, "--replace", "Removed by the administrator", NULL, NULL) == 0,
	      "lr-4.4 `message del ID --replace TEXT`");
	history(bob, room);
	CHECK(!tchat_has(&bob->in, "replaceme1") && tchat_has(&bob->in, "Removed by the administrator"),
	      "lr-4.5 history shows the replacement text in its place");
	CHECK(cli(out, sizeof out, "search", "Lobby", "replaceme1", NULL, NULL, NULL, NULL) == 0 && !strstr(out, "replaceme1") &&
	      cli(out, sizeof out, "search", "Lobby", "administrator", NULL, NULL, NULL, NULL) == 0 && strstr(out, idtext),
	      "lr-4.6 the search index follows (old words gone, new ones found)");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE "
	                      "'message del %' AND user_uri LIKE 'admin:%'") == 1 &&
	      tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE "
	                      "'message replace %Removed by the administrator%'") == 1,
	      "lr-4.7 each removal is an ADMIN event naming admin:OSUSER and the message");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND "
	                      "(content = 'deleteme1' OR content = 'replaceme1')") == 2,
	      "lr-4.8 the removed content's CHAT events still wait for export");
	CHECK(cli(out, sizeof out, "message", "del", idtext, "--replace", "x", NULL, NULL) == 0 &&
	      cli(out, sizeof out, "message", "del", "999999", NULL, NULL, NULL, NULL) == 1 &&
	      cli(out, sizeof out, "message", "del", "abc", NULL, NULL, NULL, NULL) == 2,
	      "lr-4.9 a missing message: exit 1; not an id: exit 2");

	room_add(archive, "Archive", "--privacy", "open", NULL, NULL, NULL, NULL);
	CHECK(tchat_join(alice, archive) == 200, "lr-4.10 alice in Archive");
	tchat_post(alice, archive, "oldpost1");
	tchat_sql_exec("UPDATE messages SET ts_us = 946684800000000 WHERE text = 'oldpost1'");
	tchat_post(alice, archive, "newpost1");
	tchat_wait_for(alice, "newpost1", 3000);   /* both echoes in before history is asked */
	CHECK(cli(out, sizeof out, "room", "clear", "Archive", "--before", "2020-01-01", NULL, NULL) == 0 &&
	      strstr(out, "removed 1 "), "lr-4.11 `room clear --before 2020-01-01` removes the one older message");
	history(alice, archive);
	CHECK(!tchat_has(&alice->in, "oldpost1") && tchat_has(&alice->in, "newpost1"),
	      "lr-4.12 history keeps only the newer message");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE "
	                      "'room clear Archive before=2020-01-01 removed=1 %'") == 1,
	      "lr-4.13 an ADMIN event says what was cleared");
	CHECK(cli(out, sizeof out, "room", "clear", "Archive", "--before", "2020-13-01", NULL, NULL) == 2 &&
	      cli(out, sizeof out, "room", "clear", "Archive", NULL, NULL, NULL, NULL) == 2 &&
	      cli(out, sizeof out, "room", "clear", "Nowhere", "--before", "2020-01-01T10:00Z", NULL, NULL) == 1,
	      "lr-4.14 a bad date or none: exit 2; no such room: exit 1");
}

static void test_kept_addresses(struct tuser *alice, struct tuser *bob)
{
	char out[2048], *line;

	line = tchat_cli("room", "add", "Migrated", "--privacy", "open", "--guid", "6F2D5C1E-0B7A-4E0D-9A55-3C1D2E7F9A10",
	                 NULL);
	CHECK(line && !strcmp(line, "ma-chan://example.org/6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10"),
	      "lr-5.1 `room add --guid GUID` keeps the address (lower case)");
	CHECK(tchat_join(alice, "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10") == 200 &&
	      tchat_has(&alice->in, "name=\"Migrated\""), "lr-5.2 a client joins by it");
	line = tchat_cli("room", "add", "Legacy", "--privacy", "open", "--guid", "300", NULL);
	CHECK(line && !strcmp(line, "ma-chan://example.org/300"), "lr-5.3 `room add --guid 300`: ma-chan://DOMAIN/300");
	CHECK(tchat_join(alice, "300") == 200 && tchat_has(&alice->in, "uri=\"ma-chan://example.org/300\""),
	      "lr-5.4 join with chanid value 300");
	tchat_xccos(bob, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"300\"/>"
	            "</data></cmd>");
	CHECK(tchat_has(&bob->in, "name=\"Legacy\"") && !tchat_has(&bob->in, "OPERATION_FAILED"), "lr-5.5 bjoin by it");
	CHECK(tchat_post(alice, "300", "legacy-hello") == 200 && tchat_wait_for(bob, "legacy-hello", 3000),
	      "lr-5.6 a post to ma-chan://example.org/300 reaches the room");
	history(bob, "300");
	CHECK(tchat_has(&bob->in, "<resp code=\"200\"") && tchat_has(&bob->in, "legacy-hello") &&
	      tchat_has(&bob->in, "chanUri=\"ma-chan://example.org/300\""), "lr-5.7 bccontext by that address");
	line = tchat_cli("room", "add", "Legacy URI", "--privacy", "open", "--guid", "ma-chan://example.org/301", NULL);
	CHECK(line && !strcmp(line, "ma-chan://example.org/301"), "lr-5.8 --guid takes the full URI too");
	CHECK(cli(out, sizeof out, "room", "add", "Legacy Two", "--guid", "300", NULL, NULL) == 1 && strstr(out, "taken"),
	      "lr-5.9 an address in use is refused");
	CHECK(cli(out, sizeof out, "room", "add", "Legacy Three", "--guid", "0300", NULL, NULL) == 1 &&
	      cli(out, sizeof out, "room", "add", "Legacy Three", "--guid", "12g4", NULL, NULL) == 1 &&
	      cli(out, sizeof out, "room", "add", "Legacy Three", "--guid", "ma-chan://other.org/302", NULL, NULL) == 1 &&
	      cli(out, sizeof out, "room", "add", "Legacy Three", "--guid", "6f2d5c1e0b7a4e0d9a553c1d2e7f9a10", NULL, NULL) == 1,
	      "lr-5.10 malformed addresses are refused (leading zero, not a number, other domain, GUID without dashes)");
	CHECK(cli(out, sizeof out, "room", "show", "300", NULL, NULL, NULL, NULL) == 0 && strstr(out, "name: Legacy\n"),
	      "lr-5.11 the CLI finds the room by its number");
	CHECK(cli(out, sizeof out, "room", "set", "Legacy", "--guid", "301", NULL, NULL) == 2,
	      "lr-5.12 an address is not changed afterwards");
}

/* After everything: `pchat export` writes the removed and the unkept posts
 * and the ADMIN events. */
static void test_export(void)
{
	char out[4096], path[1024];
	struct buf all;
	const char *p;

	buf_init(&all, 64u << 20);
	CHECK(cli(out, sizeof out, "export", "--now", NULL, NULL, NULL, NULL, NULL) == 0 && strstr(out, ".xml"),
	      "lr-6.1 `pchat export --now` writes a batch");
	for (p = out; *p;) {
		size_t n = strcspn(p, "\n");
		FILE *f;

		snprintf(path, sizeof path, "%.*s", (int)n, p);
		if ((f = fopen(path, "r")) != NULL) {
			char chunk[4096];
			size_t got;

			while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
				buf_append(&all, chunk, got);
			fclose(f);
		}
		p += n + (p[n] == '\n');
	}
	CHECK(tchat_has(&all, "ephemeralword1"), "lr-6.2 the post of a history-off room is in the export");
	CHECK(tchat_has(&all, "deleteme1") && tchat_has(&all, "replaceme1") && tchat_has(&all, "oldpost1"),
	      "lr-6.3 the removed posts are in the export");
	CHECK(tchat_has(&all, "content=\"message del ") && tchat_has(&all, "content=\"message replace ") &&
	      tchat_has(&all, "content=\"room clear Archive") && tchat_has(&all, "uri=\"admin:"),
	      "lr-6.4 with the ADMIN events of the removals");
	buf_free(&all);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                    dave = { .name = "dave" }, eve = { .name = "eve" }, frank = { .name = "frank" };
	const char *users[] = { "alice", "bob", "carol", "dave", "eve", "frank" };
	char out[256];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "[chat]\nparticipant_update_limit = 3\n") == 0, "lr-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_lync_rules");
	}
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_sign_in(&carol) == 0 &&
	      tchat_sign_in(&dave) == 0 && tchat_sign_in(&eve) == 0 && tchat_sign_in(&frank) == 0,
	      "lr-0.2 six users sign in");
	test_membership(&alice, &bob, &carol, &dave, &eve, &frank);
	test_large_room(&alice, &bob, &carol, &dave);
	test_history_off(&alice, &bob);
	test_removal(&alice, &bob);
	test_kept_addresses(&alice, &bob);
	test_export();
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	tchat_sign_out(&dave);
	tchat_sign_out(&eve);
	tchat_sign_out(&frank);
	CHECK(tserver_stop(&srv) == 0, "lr-9.1 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_lync_rules");
}
