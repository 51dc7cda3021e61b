/*
 * e2e_chat.c - the chat service end to end with pchat's own test client:
 * rooms made with the admin CLI, users signed in with NTLM over real TLS,
 * XCCOS commands in a real channel dialog, and the rules of who may find,
 * join, read and post.  Needs the CLI (`room add` etc.) and sqlite3 for the
 * compliance checks.
 */
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct tserver srv;
static unsigned envid = 1000;

struct user {
	const char *name;
	struct tclient t;
	struct tdialog d;
	struct buf in;          /* server INFO bodies received and not yet consumed */
};

static int has(const struct buf *b, const char *needle)
{
	return b->len && memmem(buf_head(b), b->len, needle, strlen(needle)) != NULL;
}

static long count_of(const struct buf *b, const char *needle)
{
	long n = 0;
	const unsigned char *p = buf_head(b), *end = p + b->len;
	size_t nl = strlen(needle);

	while ((p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

/* Wait until needle shows up in u->in (reading server INFOs), up to ms. */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int wait_for(struct user *u, const char *needle, int ms)
{
	long deadline = now_ms() + ms;

	while (!has(&u->in, needle)) {
		long left = deadline - now_ms();

		if (left <= 0 || tclient_wait_info(&u->t, &u->d, &u->in, (int)(left > 1000 ? 1000 : left)) < 0)
			return has(&u->in, needle);
	}
	return 1;
}

static void clear(struct user *u)
{
	buf_consume(&u->in, u->in.len);
}

/* Send one XCCOS envelope holding inner; returns the SIP status.  If the
 * inner is a cmd, wait for its rpl as well. */
static int xccos(struct user *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xccos(struct user *u, const char *fmt, ...)
{
	char inner[70000], body[70200];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">%s</xccos>",
	         ++envid, inner);
	clear(u);
	status = tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in);
	if (status == 200 && strncmp(inner, "<cmd id=\"cmd:", 13) == 0) {
		char want[80];
		const char *name = inner + 13;

		snprintf(want, sizeof want, "<rpl id=\"rpl:%.*s\"", (int)strcspn(name, "\""), name);
		wait_for(u, want, 5000);
	}
	return status;
}

static int sign_in(struct user *u)
{
	char aor[128];

	snprintf(aor, sizeof aor, "sip:%s@example.org", u->name);
	buf_init(&u->in, 4 << 20);
	return tclient_connect(&u->t, srv.port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200 ? 0 : -1;
}

static void sign_out(struct user *u)
{
	tclient_close(&u->t);
	buf_free(&u->in);
}

/* Run the CLI with up to 10 arguments (NULL-terminated); its first output
 * line, or NULL if it failed. */
static char *cli(const char *first, ...)
{
	static char out[4096];
	const char *a[10] = { first };
	va_list ap;
	int n = 1;

	va_start(ap, first);
	while (n < 10 && (a[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	if (tserver_cli(&srv, NULL, out, sizeof out, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
	                NULL) != 0)
		return NULL;
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* The GUID part of a room URI printed by `room add`. */
static void guid_of(const char *uri, char *out)
{
	const char *slash = uri ? strrchr(uri, '/') : NULL;

	snprintf(out, 40, "%s", slash ? slash + 1 : "none");
}

static char g_open[40], g_closed[40], g_secret[40], g_stage[40], g_walled[40];

static void make_rooms(void)
{
	const char *users[] = { "alice", "bob", "carol", "dave", "eve" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	guid_of(cli("room", "add", "Open Room", "--privacy", "open", "--topic", "Welcome & hello", "--manager", NULL), g_open);
	CHECK(strlen(g_open) != 36, "chat-0.1 `room add --manager` without a value is refused");
	guid_of(cli("room", "add", "Open Room", "--privacy", "open", "--topic", "Welcome & hello", NULL), g_open);
	CHECK(strlen(g_open) == 36, "chat-0.2 room add prints a ma-chan URI");
	CHECK(cli("room", "set", "Open Room", "--manager", "alice", NULL) != NULL, "chat-0.3 alice manages Open Room");
	guid_of(cli("room", "add", "Closed Room", "--privacy", "closed", "--member", "bob", NULL), g_closed);
	guid_of(cli("room", "add", "Secret Room", "--privacy", "secret", "--member", "carol", NULL), g_secret);
	guid_of(cli("room", "add", "Stage", "--privacy", "open", "--type", "auditorium", "--presenter", "alice", NULL), g_stage);
	CHECK(cli("category", "add", "walled", "--deny", "dave", NULL) != NULL, "chat-0.4 category with a denied user");
	guid_of(cli("room", "add", "Walled", "--privacy", "open", "--category", "walled", NULL), g_walled);
	CHECK(strlen(g_closed) == 36 && strlen(g_secret) == 36 && strlen(g_stage) == 36 && strlen(g_walled) == 36,
	      "chat-0.5 all rooms created");
}

static int join(struct user *u, const char *guid)
{
	xccos(u, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd>",
	      guid);
	if (has(&u->in, "<resp code=\"200\""))
		return 200;
	if (has(&u->in, "<resp code=\"403\""))
		return 403;
	if (has(&u->in, "<resp code=\"404\""))
		return 404;
	return -1;
}

static int post(struct user *u, const char *guid, const char *text)
{
	return xccos(u, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" author=\"sip:%s@example.org\" "
	                "ts=\"2024-01-01T00:00:00Z\"><chat>%s</chat></grpchat>", guid, u->name, text);
}

static void test_discovery(struct user *alice, struct user *bob, struct user *carol, struct user *dave)
{
	xccos(alice, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/></data></cmd>");
	CHECK(has(&alice->in, "<rpl id=\"rpl:getserverinfo\"") && has(&alice->in, "searchLimit=\"200\"") &&
	      has(&alice->in, "messageSizeLimit=\"8000\"") && has(&alice->in, "serverTime=\"20") &&
	      has(&alice->in, "rootUri=\"ma-cat://example.org/"), "chat-1.1 getserverinfo");

	xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(has(&bob->in, "name=\"Open Room\"") && has(&bob->in, "name=\"Closed Room\"") && has(&bob->in, "name=\"Stage\""),
	      "chat-1.2 room list shows open and closed rooms");
	CHECK(!has(&bob->in, "Secret Room"), "chat-1.3 a secret room is hidden from non-members");
	CHECK(has(&bob->in, "urn:parlano:ma:info:visibilty\">public<") && has(&bob->in, "urn:parlano:ma:info:visibilty\">private<"),
	      "chat-1.4 visibilty info public/private");
	CHECK(has(&bob->in, "description=\"\"") && has(&bob->in, "urn:parlano:ma:prop:logged\">true<"), "chat-1.5 props");
	xccos(carol, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"secret\" extended=\"false\"/></data></cmd>");
	CHECK(has(&carol->in, "name=\"Secret Room\"") && !has(&carol->in, "Open Room"), "chat-1.6 member finds the secret room by name part");
	xccos(dave, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(has(&dave->in, "Open Room") && !has(&dave->in, "Walled"), "chat-1.7 ethical wall hides the category's rooms");
	CHECK(join(dave, g_walled) != 200, "chat-1.8 a denied user cannot join");
	xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYDESC\" criteria=\"x\"/></data></cmd>");
	CHECK(has(&bob->in, "<resp code=\"400\""), "chat-1.9 unknown query type -> 400 in rpl");
}

static void test_join_post(struct user *alice, struct user *bob, struct user *carol, struct user *eve)
{
	char big[9000];

	CHECK(join(alice, g_open) == 200, "chat-2.1 alice joins the open room");
	CHECK(has(&alice->in, "name=\"Open Room\"") && has(&alice->in, "topic=\"Welcome &amp; hello\"") &&
	      has(&alice->in, "<uib id=\"0\" uri=\"sip:alice@example.org\"/>") && has(&alice->in, "<aib key=\"12276\" value=\"0\"/>"),
	      "chat-2.2 join reply: name, escaped topic, roster with alice as operator");
	clear(alice);
	CHECK(join(bob, g_open) == 200, "chat-2.3 bob joins");
	CHECK(has(&bob->in, "sip:alice@example.org") && has(&bob->in, "sip:bob@example.org") &&
	      has(&bob->in, "<aib key=\"3984\""), "chat-2.4 bob sees both, himself as participant");
	CHECK(wait_for(alice, "<ntc id=\"ntc:join\"", 5000) && has(&alice->in, "<uib uri=\"sip:bob@example.org\"><aib key=\"3984\""),
	      "chat-2.5 alice told that bob joined");
	CHECK(join(bob, g_closed) == 200, "chat-2.6 member joins a closed room");
	CHECK(join(alice, g_closed) == 403, "chat-2.7 non-member refused from a closed room (403)");
	CHECK(join(eve, g_secret) == 404, "chat-2.8 non-member of a secret room: no such room (404)");
	CHECK(join(carol, g_secret) == 200, "chat-2.9 member joins the secret room");
	CHECK(join(alice, "00000000-0000-4000-8000-000000000000") == 404, "chat-2.10 unknown room -> 404");

	clear(alice);
	clear(bob);
	CHECK(post(alice, g_open, "a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93") == 200, "chat-3.1 post answered 200");
	CHECK(wait_for(bob, "<grpchat", 5000) && has(&bob->in, "<chat>a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93</chat>") &&
	      has(&bob->in, "author=\"sip:alice@example.org\"") && has(&bob->in, "msgId=\""),
	      "chat-3.2 bob receives it, text intact and escaped");
	CHECK(wait_for(alice, "<grpchat", 5000), "chat-3.3 the author receives the echo");
	CHECK(post(alice, g_open, "second") == 200 && post(bob, g_open, "third&lt;x&gt;y&lt;/x&gt;") == 200,
	      "chat-3.4 more posts");
	CHECK(post(bob, g_open, "<b>rich</b>") == 200, "chat-3.5 post with a child element in chat is accepted");
	clear(bob);
	CHECK(xccos(bob, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>plain</chat>"
	                 "<rtf fmt=\"1\">{\\rtf1 x}</rtf></grpchat>", g_open) == 200 &&
	      wait_for(bob, "<rtf fmt=\"1\">{\\rtf1 x}</rtf>", 5000), "chat-3.6 unknown child elements are relayed verbatim");

	xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"3\"/></bcq></data></cmd>", g_open);
	{
		const unsigned char *h = buf_head(&bob->in);
		const unsigned char *third = memmem(h, bob->in.len, "<chat>third&lt;x&gt;y&lt;/x&gt;</chat>", 38);
		const unsigned char *fifth = memmem(h, bob->in.len, "<chat>plain</chat>", 18);

		CHECK(has(&bob->in, "<rpl id=\"rpl:bccontext\"") && count_of(&bob->in, "<msg id=\"grpchat\"") == 3 &&
		      third && fifth && third < fifth && !has(&bob->in, "<chat>second</chat>"),
		      "chat-3.7 history: last 3, oldest first");
		CHECK(has(&bob->in, "<rtf fmt=\"1\">"), "chat-3.8 history keeps the extra elements");
	}
	xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"99999999\"/></bcq></data></cmd>", g_open);
	CHECK(count_of(&bob->in, "<msg id=\"grpchat\"") == 5, "chat-3.9 a huge count is clamped, everything there returned");
	xccos(eve, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"5\"/></bcq></data></cmd>", g_closed);
	CHECK(has(&eve->in, "<resp code=\"403\"") && !has(&eve->in, "<msg"), "chat-3.10 no history of a closed room for a non-member");

	CHECK(post(eve, g_open, "not joined") == 403, "chat-4.1 post to a room not joined -> 403");
	CHECK(join(bob, g_stage) == 200 && post(bob, g_stage, "from the floor") == 403,
	      "chat-4.2 auditorium: a participant may not post (403)");
	CHECK(join(alice, g_stage) == 200 && post(alice, g_stage, "from the stage") == 200,
	      "chat-4.3 auditorium: the presenter posts");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(post(alice, g_open, big) == 413, "chat-4.4 a post over max_message_bytes -> 413");
	CHECK(xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://elsewhere.org/%s\"><chat>x</chat></grpchat>",
	            g_open) == 404, "chat-4.5 post to a foreign room URI -> 404");
}

static void test_part_and_more(struct user *alice, struct user *bob, struct user *carol)
{
	clear(alice);
	xccos(bob, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g_open);
	CHECK(has(&bob->in, "<rpl id=\"rpl:part\"") && has(&bob->in, "<resp code=\"200\"") &&
	      has(&bob->in, "<chanib uri=\"ma-chan://example.org/"), "chat-5.1 part echoes the room");
	CHECK(wait_for(alice, "<ntc id=\"ntc:part\"", 5000) && has(&alice->in, "<uib uri=\"sip:bob@example.org\"/>"),
	      "chat-5.2 alice told that bob left");
	CHECK(post(bob, g_open, "after part") == 403, "chat-5.3 no posting after part");
	xccos(bob, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g_open);
	CHECK(has(&bob->in, "<rpl id=\"rpl:part\"") && !has(&bob->in, "<resp code=\"200\""), "chat-5.4 second part: non-200");

	xccos(bob, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	           "<chanid key=\"1\" domain=\"example.org\" value=\"%s\"/></data></cmd>", g_open, g_secret);
	CHECK(has(&bob->in, "<rpl id=\"rpl:bjoin\"") && has(&bob->in, "<resp code=\"200\"") &&
	      has(&bob->in, "name=\"Open Room\"") && has(&bob->in, "<fib key=\"OPERATION_FAILED\" value=\"") &&
	      count_of(&bob->in, "<uib id=") >= 2, "chat-5.5 bjoin: one room joined, the other a fib");

	xccos(alice, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
	CHECK(has(&alice->in, "<rpl id=\"rpl:getassociations\"") && has(&alice->in, "name=\"Open Room\"") &&
	      has(&alice->in, "manager") && has(&alice->in, "name=\"Stage\""), "chat-5.6 getassociations lists alice's rooms");
	xccos(alice, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(has(&alice->in, "<rpl id=\"rpl:getinv\"") && has(&alice->in, "<resp code=\"200\""), "chat-5.7 getinv answered");
	xccos(alice, "<cmd id=\"cmd:nosuch\" seqid=\"1\"><data/></cmd>");
	CHECK(has(&alice->in, "<rpl id=\"rpl:nosuch\"") && has(&alice->in, "<resp code=\"501\""), "chat-5.8 unknown command -> 501");
	xccos(alice, "<cmd id=\"cmd:join\" seqid=\"1\"><data/></cmd>");
	CHECK(has(&alice->in, "<rpl id=\"rpl:join\"") && !has(&alice->in, "<resp code=\"200\""), "chat-5.9 join without a room: error rpl");

	/* Transport loss is an implicit part, and the room stays followed. */
	CHECK(join(carol, g_open) == 200, "chat-6.1 carol joins");
	clear(alice);
	tclient_close(&carol->t);
	CHECK(wait_for(alice, "<uib uri=\"sip:carol@example.org\"/>", 5000), "chat-6.2 carol's disconnect parts her");
	CHECK(post(alice, g_open, "while carol is away 1") == 200 && post(alice, g_open, "while carol is away 2") == 200,
	      "chat-6.3 posts while carol is away");
	buf_free(&carol->in);
	CHECK(sign_in(carol) == 0, "chat-6.4 carol signs in again");
	xccos(carol, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
	CHECK(has(&carol->in, "urn:pchat:info:unread\">2<"), "chat-6.5 followed room shows 2 unread");
	xccos(carol, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data/></cmd>");
	CHECK(has(&carol->in, "<rpl id=\"rpl:bjoin\"") && has(&carol->in, "name=\"Open Room\""),
	      "chat-6.6 empty bjoin joins the followed rooms");
}

/* Full-text history search over XCCOS and the CLI; invitations. */
static void test_search_invite(struct user *alice, struct user *eve)
{
	char out[2048], guid[40];

	xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">carol away</search></bcq></data></cmd>", g_open);
	{
		/* Echoes of earlier posts may still be queued: look inside the reply only. */
		const unsigned char *h = memmem(buf_head(&alice->in), alice->in.len, "<rpl id=\"rpl:bccontext\"", 23);
		size_t left = h ? alice->in.len - (size_t)(h - buf_head(&alice->in)) : 0;
		const unsigned char *one = h ? memmem(h, left, "while carol is away 1", 21) : NULL;
		const unsigned char *two = h ? memmem(h, left, "while carol is away 2", 21) : NULL;

		CHECK(has(&alice->in, "<resp code=\"200\"") && count_of(&alice->in, "<msg id=\"grpchat\"") == 2 && one &&
		      two && one < two, "chat-8.1 history search finds both messages, oldest first");
	}
	xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">\"a\" OR NEAR( * ^</search></bcq></data></cmd>", g_open);
	CHECK(has(&alice->in, "<rpl id=\"rpl:bccontext\""), "chat-8.2 search syntax in the words is inert");
	xccos(alice, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	             "<bcq><search cnt=\"10\">   </search></bcq></data></cmd>", g_open);
	CHECK(has(&alice->in, "<resp code=\"400\""), "chat-8.3 empty search -> 400");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "search", "Open Room", "carol", "away", NULL) == 0 &&
	      strstr(out, "while carol is away 2\n") && strstr(out, "while carol is away 2") < strstr(out, "while carol is away 1") &&
	      strstr(out, "\tsip:alice@example.org\t"), "chat-8.4 pchat search prints matches, newest first");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "search", "Open Room", NULL) == 2, "chat-8.5 search without words: usage");

	guid_of(cli("room", "add", "Invite Room", "--invitations", "on", "--member", "eve", NULL), guid);
	xccos(eve, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(has(&eve->in, "name=\"Invite Room\"") && has(&eve->in, guid) && has(&eve->in, "inviter=\"admin\""),
	      "chat-8.6 a new member of a room with invitations on is invited");
	CHECK(join(eve, guid) == 200, "chat-8.7 the invitee joins");
	xccos(eve, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(has(&eve->in, "<rpl id=\"rpl:getinv\"") && !has(&eve->in, "Invite Room"), "chat-8.8 joining consumes the invitation");
}

static void test_admin_changes(struct user *alice, struct user *bob)
{
	char out[256];

	clear(alice);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "disable", "Stage", NULL) == 0, "chat-7.1 disable Stage via CLI");
	CHECK(wait_for(alice, "<ntc id=\"ntc:part\"", 6000) && has(&alice->in, g_stage),
	      "chat-7.2 participants of a disabled room are removed");
	CHECK(post(alice, g_stage, "still here?") == 403, "chat-7.3 no posting to a disabled room");
	CHECK(join(bob, g_stage) == 404, "chat-7.4 a disabled room cannot be joined");
	xccos(bob, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	CHECK(has(&bob->in, "Open Room") && !has(&bob->in, "Stage"), "chat-7.5 nor found");
}

static long sql_count(const char *query)
{
	char cmd[1024];
	FILE *p;
	long n = -1;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv.dir, query);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct user alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                   dave = { .name = "dave" }, eve = { .name = "eve" };

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "chat-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_chat");
	}
	make_rooms();
	CHECK(sign_in(&alice) == 0 && sign_in(&bob) == 0 && sign_in(&carol) == 0 && sign_in(&dave) == 0 &&
	      sign_in(&eve) == 0, "chat-0.6 five users sign in and open the channel");
	test_discovery(&alice, &bob, &carol, &dave);
	test_join_post(&alice, &bob, &carol, &eve);
	test_part_and_more(&alice, &bob, &carol);
	test_search_invite(&alice, &eve);
	test_admin_changes(&alice, &bob);
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "chat-8.9 every server message was signed correctly");
	sign_out(&alice);
	sign_out(&bob);
	sign_out(&carol);
	sign_out(&dave);
	sign_out(&eve);

	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type='CHAT'") >= 8, "chat-9.1 CHAT events recorded");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type='JOIN'") >= 6, "chat-9.2 JOIN events recorded");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type='PART'") >= 3, "chat-9.3 PART events recorded");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type='BACKCHAT'") >= 2, "chat-9.4 BACKCHAT events recorded");

	/* Everything acknowledged survives a restart. */
	CHECK(tserver_stop(&srv) == 0, "chat-9.5 clean stop");
	CHECK(tserver_restart(&srv) == 0 && sign_in(&bob) == 0, "chat-9.6 restart and sign in");
	CHECK(join(&bob, g_open) == 200, "chat-9.7 rejoin after restart");
	xccos(&bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", g_open);
	CHECK(has(&bob.in, "<chat>a&lt;b &amp; \"q\" caf\xc3\xa9 \xe2\x9c\x93</chat>") && has(&bob.in, "while carol is away 2"),
	      "chat-9.8 history is still there after a restart");
	sign_out(&bob);
	CHECK(tserver_stop(&srv) == 0, "chat-9.9 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_chat");
}
