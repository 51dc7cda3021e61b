/*
 * e2e_chat.c - the chat service end to end with pchat's own test client:
 * rooms made with the admin CLI, users signed in with NTLM over real TLS,
 * XCCOS commands in a real channel dialog, and the rules of who may find,
 * join, read and post.  Needs the CLI (`room add` etc.) and sqlite3 for the
 * compliance checks.
 */
#include "check.h"
#include "tchat.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct tserver srv;

static char g_open[40], g_closed[40], g_secret[40], g_stage[40], g_walled[40];

static void make_rooms(void)
{
	const char *users[] = { "alice", "bob", "carol", "dave", "eve" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	tchat_guid_of(tchat_cli("room", "add", "Open Room", "--privacy", "open", "--topic", "Welcome & hello", "--manager", NULL), g_open);
	CHECK(strlen(g_open) != 36, "chat-0.1 `room add --manager` without a value is refused");
	tchat_guid_of(tchat_cli("room", "add", "Open Room", "--privacy", "open", "--topic", "Welcome & hello", NULL), g_open);
	CHECK(strlen(g_open) == 36, "chat-0.2 room add prints a ma-chan URI");
	CHECK(tchat_cli("room", "set", "Open Room", "--manager", "alice", NULL) != NULL, "chat-0.3 alice manages Open Room");
	tchat_guid_of(tchat_cli("room", "add", "Closed Room", "--privacy", "closed", "--member", "bob", NULL), g_closed);
	tchat_guid_of(tchat_cli("room", "add", "Secret Room", "--privacy", "secret", "--member", "carol", NULL), g_secret);
	tchat_guid_of(tchat_cli("room", "add", "Stage", "--privacy", "open", "--type", "auditorium", "--presenter", "alice", NULL), g_stage);
	CHECK(tchat_cli("category", "add", "walled", "--deny", "dave", NULL) != NULL, "chat-0.4 category with a denied user");
	tchat_guid_of(tchat_cli("room", "add", "Walled", "--privacy", "open", "--category", "walled", NULL), g_walled);
	CHECK(strlen(g_closed) == 36 && strlen(g_secret) == 36 && strlen(g_stage) == 36 && strlen(g_walled) == 36,
	      "chat-0.5 all rooms created");
}

static int join(struct tuser *u, const char *guid)
{
	tchat_xccos(u, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd>",
	      guid);
	if (tchat_has(&u->in, "<resp code=\"200\""))
		return 200;
	if (tchat_has(&u->in, "<resp code=\"403\""))
		return 403;
	if (tchat_has(&u->in, "<resp code=\"404\""))
		return 404;
	return -1;
}

static int post(struct tuser *u, const char *guid, const char *text)
{
	return tchat_xccos(u, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" author=\"sip:%s@example.org\" "
	                "ts=\"2024-01-01T00:00:00Z\"><chat>%s</chat></grpchat>", guid, u->name, text);
}

static void test_discovery(struct tuser *alice, struct tuser *bob, struct tuser *carol, struct tuser *dave)
{
	tchat_xccos(alice, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/></data></cmd>");
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:getserverinfo\"") && tchat_has(&alice->in, "searchLimit=\"200\"") &&
	      tchat_has(&alice->in, "messageSizeLimit=\"8000\"") && tchat_has(&alice->in, "serverTime=\"20") &&
	      tchat_has(&alice->in, "rootUri=\"ma-cat://example.org/"), "chat-1.1 getserverinfo");

	tchat_xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&bob->in, "name=\"Open Room\"") && tchat_has(&bob->in, "name=\"Closed Room\"") && tchat_has(&bob->in, "name=\"Stage\""),
	      "chat-1.2 room list shows open and closed rooms");
	CHECK(!tchat_has(&bob->in, "Secret Room"), "chat-1.3 a secret room is hidden from non-members");
	CHECK(tchat_has(&bob->in, "urn:parlano:ma:info:visibilty\">public<") && tchat_has(&bob->in, "urn:parlano:ma:info:visibilty\">private<"),
	      "chat-1.4 visibilty info public/private");
	CHECK(tchat_has(&bob->in, "description=\"\"") && tchat_has(&bob->in, "urn:parlano:ma:prop:logged\">true<"), "chat-1.5 props");
	tchat_xccos(carol, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"secret\" extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&carol->in, "name=\"Secret Room\"") && !tchat_has(&carol->in, "Open Room"), "chat-1.6 member finds the secret room by name part");
	tchat_xccos(dave, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&dave->in, "Open Room") && !tchat_has(&dave->in, "Walled"), "chat-1.7 ethical wall hides the category's rooms");
	CHECK(join(dave, g_walled) != 200, "chat-1.8 a denied user cannot join");
	tchat_xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYDESC\" criteria=\"x\"/></data></cmd>");
	CHECK(tchat_has(&bob->in, "<resp code=\"400\""), "chat-1.9 unknown query type -> 400 in rpl");
}

static void test_join_post(struct tuser *alice, struct tuser *bob, struct tuser *carol, struct tuser *eve)
{
	char big[9000];

	CHECK(join(alice, g_open) == 200, "chat-2.1 alice joins the open room");
	CHECK(tchat_has(&alice->in, "name=\"Open Room\"") && tchat_has(&alice->in, "topic=\"Welcome &amp; hello\"") &&
	      tchat_has(&alice->in, "<uib id=\"0\" uri=\"sip:alice@example.org\"/>") && tchat_has(&alice->in, "<aib key=\"12276\" value=\"0\"/>"),
	      "chat-2.2 join reply: name, escaped topic, roster with alice as operator");
	tchat_clear(alice);
	CHECK(join(bob, g_open) == 200, "chat-2.3 bob joins");
	CHECK(tchat_has(&bob->in, "sip:alice@example.org") && tchat_has(&bob->in, "sip:bob@example.org") &&
	      tchat_has(&bob->in, "<aib key=\"3984\""), "chat-2.4 bob sees both, himself as participant");
	CHECK(tchat_wait_for(alice, "<ntc id=\"ntc:join\"", 5000) && tchat_has(&alice->in, "<uib uri=\"sip:bob@example.org\"><aib key=\"3984\""),
	      "chat-2.5 alice told that bob joined");
	CHECK(join(bob, g_closed) == 200, "chat-2.6 member joins a closed room");
	CHECK(join(alice, g_closed) == 403, "chat-2.7 non-member refused from a closed room (403)");
	CHECK(join(eve, g_secret) == 404, "chat-2.8 non-member of a secret room: no such room (404)");
	CHECK(join(carol, g_secret) == 200, "chat-2.9 member joins the secret room");
	CHECK(join(alice, "00000000-0000-4000-8000-000000000000") == 404, "chat-2.10 unknown room -> 404");

	tchat_clear(alice);
	tchat_clear(bob);
	CHECK(post(alice, g_open, "a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93") == 200, "chat-3.1 post answered 200");
	CHECK(tchat_wait_for(bob, "<grpchat", 5000) && tchat_has(&bob->in, "<chat>a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93</chat>") &&
	      tchat_has(&bob->in, "author=\"sip:alice@example.org\"") && tchat_has(&bob->in, "msgId=\""),
	      "chat-3.2 bob receives it, text intact and escaped");
	CHECK(tchat_wait_for(alice, "<grpchat", 5000), "chat-3.3 the author receives the echo");
	CHECK(post(alice, g_open, "second") == 200 && post(bob, g_open, "third&lt;x&gt;y&lt;/x&gt;") == 200,
	      "chat-3.4 more posts");
	CHECK(post(bob, g_open, "<b>rich</b>") == 200, "chat-3.5 post with a child element in chat is accepted");
	tchat_clear(bob);
	CHECK(tchat_xccos(bob, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>plain</chat>"
	                 "<rtf fmt=\"1\">{\\rtf1 x}</rtf></grpchat>", g_open) == 200 &&
	      tchat_wait_for(bob, "<rtf fmt=\"1\">{\\rtf1 x}</rtf>", 5000), "chat-3.6 a known formatting child (rtf) is relayed as it came");

	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"3\"/></bcq></data></cmd>", g_open);
	{
		const unsigned char *h = buf_head(&bob->in);
		const unsigned char *third = memmem(h, bob->in.len, "<chat>third&lt;x&gt;y&lt;/x&gt;</chat>", 38);
		const unsigned char *fifth = memmem(h, bob->in.len, "<chat>plain</chat>", 18);

		CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:bccontext\"") && tchat_count_of(&bob->in, "<msg id=\"grpchat\"") == 3 &&
		      third && fifth && third < fifth && !tchat_has(&bob->in, "<chat>second</chat>"),
		      "chat-3.7 history: last 3, oldest first");
		CHECK(tchat_has(&bob->in, "<rtf fmt=\"1\">"), "chat-3.8 history keeps the extra elements");
	}
	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"99999999\"/></bcq></data></cmd>", g_open);
	CHECK(tchat_count_of(&bob->in, "<msg id=\"grpchat\"") == 5, "chat-3.9 a huge count is clamped, everything there returned");
	tchat_xccos(eve, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"5\"/></bcq></data></cmd>", g_closed);
	CHECK(tchat_has(&eve->in, "<resp code=\"403\"") && !tchat_has(&eve->in, "<msg"), "chat-3.10 no history of a closed room for a non-member");

	CHECK(post(eve, g_open, "not joined") == 403, "chat-4.1 post to a room not joined -> 403");
	CHECK(join(bob, g_stage) == 200 && post(bob, g_stage, "from the floor") == 403,
	      "chat-4.2 auditorium: a participant may not post (403)");
	CHECK(join(alice, g_stage) == 200 && post(alice, g_stage, "from the stage") == 200,
	      "chat-4.3 auditorium: the presenter posts");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(post(alice, g_open, big) == 413, "chat-4.4 a post over max_message_bytes -> 413");
	CHECK(tchat_xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://elsewhere.org/%s\"><chat>x</chat></grpchat>",
	            g_open) == 404, "chat-4.5 post to a foreign room URI -> 404");
}

static void test_part_and_more(struct tuser *alice, struct tuser *bob, struct tuser *carol)
{
	tchat_clear(alice);
	tchat_xccos(bob, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g_open);
	CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:part\"") && tchat_has(&bob->in, "<resp code=\"200\"") &&
	      tchat_has(&bob->in, "<chanib uri=\"ma-chan://example.org/"), "chat-5.1 part echoes the room");
	CHECK(tchat_wait_for(alice, "<ntc id=\"ntc:part\"", 5000) && tchat_has(&alice->in, "<uib uri=\"sip:bob@example.org\"/>"),
	      "chat-5.2 alice told that bob left");
	CHECK(post(bob, g_open, "after part") == 403, "chat-5.3 no posting after part");
	tchat_xccos(bob, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g_open);
	CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:part\"") && !tchat_has(&bob->in, "<resp code=\"200\""), "chat-5.4 second part: non-200");

	tchat_xccos(bob, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	           "<chanid key=\"1\" domain=\"example.org\" value=\"%s\"/></data></cmd>", g_open, g_secret);
	CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:bjoin\"") && tchat_has(&bob->in, "<resp code=\"200\"") &&
	      tchat_has(&bob->in, "name=\"Open Room\"") && tchat_has(&bob->in, "<fib key=\"OPERATION_FAILED\" value=\"") &&
	      tchat_count_of(&bob->in, "<uib id=") >= 2, "chat-5.5 bjoin: one room joined, the other a fib");

	tchat_xccos(alice, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:getassociations\"") && tchat_has(&alice->in, "name=\"Open Room\"") &&
	      tchat_has(&alice->in, "manager") && tchat_has(&alice->in, "name=\"Stage\""), "chat-5.6 getassociations lists alice's rooms");
	tchat_xccos(alice, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:getinv\"") && tchat_has(&alice->in, "<resp code=\"200\""), "chat-5.7 getinv answered");
	tchat_xccos(alice, "<cmd id=\"cmd:nosuch\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:nosuch\"") && tchat_has(&alice->in, "<resp code=\"501\""), "chat-5.8 unknown command -> 501");
	tchat_xccos(alice, "<cmd id=\"cmd:join\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:join\"") && !tchat_has(&alice->in, "<resp code=\"200\""), "chat-5.9 join without a room: error rpl");

	/* Transport loss is an implicit part, and the room stays followed. */
	CHECK(join(carol, g_open) == 200, "chat-6.1 carol joins");
	tchat_clear(alice);
	tclient_close(&carol->t);
	CHECK(tchat_wait_for(alice, "<uib uri=\"sip:carol@example.org\"/>", 5000), "chat-6.2 carol's disconnect parts her");
	CHECK(post(alice, g_open, "while carol is away 1") == 200 && post(alice, g_open, "while carol is away 2") == 200,
	      "chat-6.3 posts while carol is away");
	buf_free(&carol->in);
	CHECK(tchat_sign_in(carol) == 0, "chat-6.4 carol signs in again");
	tchat_xccos(carol, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&carol->in, "urn:pchat:info:unread\">2<"), "chat-6.5 followed room shows 2 unread");
	tchat_xccos(carol, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&carol->in, "<rpl id=\"rpl:bjoin\"") && tchat_has(&carol->in, "name=\"Open Room\""),
	      "chat-6.6 empty bjoin joins the followed rooms");
}

/* Full-text history search over XCCOS and the CLI; invitations. */
static void test_search_invite(struct tuser *alice, struct tuser *eve)
{
	char out[2048], guid[40];

	tchat_xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">carol away</search></bcq></data></cmd>", g_open);
	{
		/* Echoes of earlier posts may still be queued: look inside the reply only. */
		const unsigned char *h = memmem(buf_head(&alice->in), alice->in.len, "<rpl id=\"rpl:bccontext\"", 23);
		size_t left = h ? alice->in.len - (size_t)(h - buf_head(&alice->in)) : 0;
		const unsigned char *one = h ? memmem(h, left, "while carol is away 1", 21) : NULL;
		const unsigned char *two = h ? memmem(h, left, "while carol is away 2", 21) : NULL;

		CHECK(tchat_has(&alice->in, "<resp code=\"200\"") && tchat_count_of(&alice->in, "<msg id=\"grpchat\"") == 2 && one &&
		      two && one < two, "chat-8.1 history search finds both messages, oldest first");
	}
	tchat_xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">\"a\" OR NEAR( * ^</search></bcq></data></cmd>", g_open);
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:bccontext\""), "chat-8.2 search syntax in the words is inert");
	tchat_xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">   </search></bcq></data></cmd>", g_open);
	CHECK(tchat_has(&alice->in, "<resp code=\"400\""), "chat-8.3 empty search -> 400");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "search", "Open Room", "carol", "away", NULL) == 0 &&
	      strstr(out, "while carol is away 2\n") && strstr(out, "while carol is away 2") < strstr(out, "while carol is away 1") &&
	      strstr(out, "\tsip:alice@example.org\t"), "chat-8.4 pchat search prints matches, newest first");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "search", "Open Room", NULL) == 2, "chat-8.5 search without words: usage");

	tchat_guid_of(tchat_cli("room", "add", "Invite Room", "--invitations", "on", "--member", "eve", NULL), guid);
	tchat_xccos(eve, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(tchat_has(&eve->in, "name=\"Invite Room\"") && tchat_has(&eve->in, guid) && tchat_has(&eve->in, "inviter=\"admin\""),
	      "chat-8.6 a new member of a room with invitations on is invited");
	CHECK(join(eve, guid) == 200, "chat-8.7 the invitee joins");
	tchat_xccos(eve, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(tchat_has(&eve->in, "<rpl id=\"rpl:getinv\"") && !tchat_has(&eve->in, "Invite Room"), "chat-8.8 joining consumes the invitation");
}

static void test_admin_changes(struct tuser *alice, struct tuser *bob)
{
	char out[256];

	tchat_clear(alice);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "disable", "Stage", NULL) == 0, "chat-7.1 disable Stage via CLI");
	CHECK(tchat_wait_for(alice, "<ntc id=\"ntc:part\"", 6000) && tchat_has(&alice->in, g_stage),
	      "chat-7.2 participants of a disabled room are removed");
	CHECK(post(alice, g_stage, "still here?") == 403, "chat-7.3 no posting to a disabled room");
	CHECK(join(bob, g_stage) == 404, "chat-7.4 a disabled room cannot be joined");
	tchat_xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&bob->in, "Open Room") && !tchat_has(&bob->in, "Stage"), "chat-7.5 nor found");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                   dave = { .name = "dave" }, eve = { .name = "eve" };

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "chat-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_chat");
	}
	make_rooms();
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_sign_in(&carol) == 0 && tchat_sign_in(&dave) == 0 &&
	      tchat_sign_in(&eve) == 0, "chat-0.6 five users sign in and open the channel");
	test_discovery(&alice, &bob, &carol, &dave);
	test_join_post(&alice, &bob, &carol, &eve);
	test_part_and_more(&alice, &bob, &carol);
	test_search_invite(&alice, &eve);
	test_admin_changes(&alice, &bob);
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "chat-8.9 every server message was signed correctly");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	tchat_sign_out(&dave);
	tchat_sign_out(&eve);

	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type='CHAT'") >= 8, "chat-9.1 CHAT events recorded");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type='JOIN'") >= 6, "chat-9.2 JOIN events recorded");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type='PART'") >= 3, "chat-9.3 PART events recorded");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type='BACKCHAT'") >= 2, "chat-9.4 BACKCHAT events recorded");

	/* Everything acknowledged survives a restart. */
	CHECK(tserver_stop(&srv) == 0, "chat-9.5 clean stop");
	CHECK(tserver_restart(&srv) == 0 && tchat_sign_in(&bob) == 0, "chat-9.6 restart and sign in");
	CHECK(join(&bob, g_open) == 200, "chat-9.7 rejoin after restart");
	tchat_xccos(&bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", g_open);
	CHECK(tchat_has(&bob.in, "<chat>a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93</chat>") && tchat_has(&bob.in, "while carol is away 2"),
	      "chat-9.8 history is still there after a restart");
	tchat_sign_out(&bob);
	CHECK(tserver_stop(&srv) == 0, "chat-9.9 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_chat");
}
