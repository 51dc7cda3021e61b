/*
 * e2e_sec_chat.c - the chat service's security holes of issue 12, end to end
 * over real TLS with the CLI changing rooms while the server runs:
 *   4  getassociations lists only rooms the user may join now, and losing
 *      access drops the follow (getassociations and the follows bjoin);
 *   5  getinv lists only rooms the user may join; removing the last role
 *      deletes the invitation;
 *   7  a post's extra children: known formats are relayed and archived with
 *      the CHAT event, anything else (a forged <file> card) is dropped;
 *   8  what is relayed, live and in history, is namespace-well-formed
 *      (parsed back here with libxml2, namespace errors counted);
 *  12  every command answers a room the user may not see byte for byte like
 *      a missing room;
 *  13  bidi and format characters are refused in room names and topics.
 */
#include "check.h"
#include "tchat.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

static struct tserver srv;

#define MISSING_GUID "00000000-0000-4000-8000-00000000abcd"

static void add_users(void)
{
	const char *users[] = { "alice", "bob", "carol", "dave", "eve", "frank" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
}

/* room add NAME ARGS... (up to 6); the GUID into out[40] ("none" on failure). */
static void room_add(char *out, const char *name, const char *a, const char *b, const char *c, const char *d,
                     const char *e, const char *f)
{
	tchat_guid_of(tchat_cli("room", "add", name, a, b, c, d, e, f, NULL), out);
}

static int cli_ok(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	char out[1024];

	return tserver_cli(&srv, NULL, out, sizeof out, a, b, c, d, e, NULL) == 0;
}

/* The text of u->in from the last "<xccos " before needle to the "</xccos>"
 * after it (one INFO body), into out; 0, or -1 if needle is not there. */
static int envelope_with(const struct tuser *u, const char *needle, char *out, size_t outlen)
{
	const char *all = (const char *)buf_head(&u->in), *hit, *start = NULL, *end;
	size_t len = u->in.len;

	hit = len ? memmem(all, len, needle, strlen(needle)) : NULL;
	if (hit == NULL)
		return -1;
	for (const char *p = all; p < hit && (p = memmem(p, (size_t)(hit - p), "<xccos ", 7)) != NULL; p++)
		start = p;
	end = memmem(hit, len - (size_t)(hit - all), "</xccos>", 8);
	if (start == NULL || end == NULL || (size_t)(end + 8 - start) >= outlen)
		return -1;
	memcpy(out, start, (size_t)(end + 8 - start));
	out[end + 8 - start] = '\0';
	return 0;
}

/* 1 if text parses as namespace-well-formed XML (what .NET's XmlReader and
 * Python's ElementTree insist on). */
static int ns_well_formed(const char *text)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr doc;
	int ok;

	if (ctxt == NULL)
		return 0;
	doc = xmlCtxtReadMemory(ctxt, text, (int)strlen(text), NULL, "UTF-8",
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	ok = doc != NULL && ctxt->wellFormed && ctxt->nsWellFormed;
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ok;
}

/* The rpl:NAME in u->in with what legitimately differs taken out: envid
 * values and the room's GUID.  Empty if there is none. */
static void normalized_reply(const struct tuser *u, const char *name, const char *guid, char *out, size_t outlen)
{
	char start[64], *p;
	const char *all = (const char *)buf_head(&u->in), *h, *end;
	size_t n, o = 0;

	out[0] = '\0';
	snprintf(start, sizeof start, "<rpl id=\"rpl:%s\"", name);
	h = u->in.len ? memmem(all, u->in.len, start, strlen(start)) : NULL;
	end = h ? memmem(h, u->in.len - (size_t)(h - all), "</rpl>", 6) : NULL;
	if (end == NULL)
		return;
	n = (size_t)(end + 6 - h);
	for (size_t i = 0; i < n && o + 8 < outlen;) {
		if (strncmp(h + i, "envid=\"", 7) == 0) {
			memcpy(out + o, "envid=\"", 7), o += 7, i += 7;
			while (i < n && h[i] >= '0' && h[i] <= '9')
				i++;
		} else if (i + 36 <= n && strncmp(h + i, guid, 36) == 0) {
			memcpy(out + o, "ROOM", 4), o += 4, i += 36;
		} else {
			out[o++] = h[i++];
		}
	}
	out[o] = '\0';
	while ((p = strstr(out, "\r")) != NULL)
		*p = ' ';
}

/* 1 if the rpl:NAME in u->in holds needle (notifications that arrive
 * meanwhile, such as the ntc:part of a removal, do not count). */
static int rpl_has(const struct tuser *u, const char *name, const char *needle)
{
	char start[64];
	const char *all = (const char *)buf_head(&u->in), *h, *end;

	snprintf(start, sizeof start, "<rpl id=\"rpl:%s\"", name);
	h = u->in.len ? memmem(all, u->in.len, start, strlen(start)) : NULL;
	end = h ? memmem(h, u->in.len - (size_t)(h - all), "</rpl>", 6) : NULL;
	return end && memmem(h, (size_t)(end - h), needle, strlen(needle)) != NULL;
}

static int in_reply(struct tuser *u, const char *cmd_inner, const char *needle)
{
	const char *name = strstr(cmd_inner, "cmd:");

	tchat_xccos(u, "%s", cmd_inner);
	if (name == NULL)
		return 0;
	{
		char cmd[32];

		snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(name + 4, "\""), name + 4);
		return rpl_has(u, cmd, needle);
	}
}

#define GETASSOC "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>"
#define GETINV "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>"

static long follows(const char *user, const char *guid)
{
	return tchat_sql_countf("SELECT count(*) FROM follows WHERE uri = 'sip:%s@example.org' AND room_id = "
	                        "(SELECT id FROM rooms WHERE guid = '%s')", user, guid);
}

/* ---- 4: getassociations ---- */

static void test_associations(struct tuser *bob, struct tuser *carol, struct tuser *dave, struct tuser *eve,
                              const char *open)
{
	char members[40], walled[40], hush[40], quiet[40];

	room_add(members, "Sec4 Members", "--privacy", "closed", "--member", "bob", NULL, NULL);
	CHECK(cli_ok("category", "add", "sec4wall", NULL, NULL), "sec-4.0 a category for the wall");
	room_add(walled, "Sec4 Walled", "--privacy", "open", "--category", "sec4wall", NULL, NULL);
	room_add(hush, "Sec4 Hush", "--privacy", "open", NULL, NULL, NULL, NULL);
	room_add(quiet, "Sec4 Quiet", "--privacy", "open", NULL, NULL, NULL, NULL);
	CHECK(strlen(members) == 36 && strlen(walled) == 36 && strlen(hush) == 36 && strlen(quiet) == 36,
	      "sec-4.1 rooms created");
	CHECK(tchat_join(bob, members) == 200 && tchat_join(bob, open) == 200 && tchat_join(carol, walled) == 200 &&
	      tchat_join(dave, hush) == 200 && tchat_join(eve, quiet) == 200, "sec-4.2 each user joins (and so follows)");
	CHECK(in_reply(bob, GETASSOC, members) && tchat_has(&bob->in, "Sec4 Members") && in_reply(carol, GETASSOC, walled) &&
	      in_reply(dave, GETASSOC, hush), "sec-4.3 before: getassociations lists each room");

	/* A removed member, then the room renamed and described. */
	CHECK(cli_ok("room", "set", "Sec4 Members", "--remove-member", "bob"), "sec-4.4 bob removed from the closed room");
	CHECK(cli_ok("room", "set", "Sec4 Members", "--name", "Sec4 Renamed") &&
	      cli_ok("room", "set", "Sec4 Renamed", "--description", "after the removal"), "sec-4.5 the room renamed");
	tchat_xccos(bob, GETASSOC);
	CHECK(tchat_has(&bob->in, "<resp code=\"200\"") && !rpl_has(bob, "getassociations", members) &&
	      !rpl_has(bob, "getassociations", "Sec4 Renamed") && !rpl_has(bob, "getassociations", "after the removal"),
	      "sec-4.6 a removed member's getassociations no longer lists the room (nor its new name)");
	CHECK(rpl_has(bob, "getassociations", open), "sec-4.7 the rooms bob may still join are listed");
	CHECK(follows("bob", members) == 0 && follows("bob", open) == 1, "sec-4.8 the lost room's follow is dropped, the other kept");

	/* A new ethical wall. */
	CHECK(cli_ok("category", "set", "sec4wall", "--deny", "carol"), "sec-4.9 the category now denies carol");
	tchat_xccos(carol, GETASSOC);
	CHECK(tchat_has(&carol->in, "<rpl id=\"rpl:getassociations\"") && !rpl_has(carol, "getassociations", walled) &&
	      !rpl_has(carol, "getassociations", "Sec4 Walled"), "sec-4.10 a walled-off room is no longer listed");
	CHECK(follows("carol", walled) == 0, "sec-4.11 its follow is dropped");

	/* A room made secret. */
	CHECK(cli_ok("room", "set", "Sec4 Hush", "--privacy", "secret"), "sec-4.12 an open room made secret");
	tchat_xccos(dave, GETASSOC);
	CHECK(tchat_has(&dave->in, "<rpl id=\"rpl:getassociations\"") && !rpl_has(dave, "getassociations", hush) &&
	      !rpl_has(dave, "getassociations", "Sec4 Hush"), "sec-4.13 a room made secret is no longer listed");
	CHECK(follows("dave", hush) == 0, "sec-4.14 its follow is dropped");

	/* The follows bjoin (what Lync sends at sign-in) of a room made secret. */
	CHECK(cli_ok("room", "set", "Sec4 Quiet", "--privacy", "secret"), "sec-4.15 another room made secret");
	tchat_xccos(eve, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data/></cmd>");
	CHECK(tchat_has(&eve->in, "<rpl id=\"rpl:bjoin\"") && !rpl_has(eve, "bjoin", quiet),
	      "sec-4.16 the follows bjoin does not name a room made secret");
	CHECK(follows("eve", quiet) == 0, "sec-4.17 and drops its follow");
}

/* ---- 5: getinv ---- */

static void test_invitations(struct tuser *eve, struct tuser *frank)
{
	char secret[40], left[40];

	room_add(secret, "Sec5 Invite", "--privacy", "secret", "--invitations", "on", "--member", "eve");
	room_add(left, "Sec5 Leftover", "--privacy", "secret", "--invitations", "on", "--member", "frank");
	CHECK(strlen(secret) == 36 && strlen(left) == 36, "sec-5.1 rooms created");
	CHECK(in_reply(eve, GETINV, secret) && in_reply(frank, GETINV, left), "sec-5.2 before: each user is invited");

	CHECK(cli_ok("room", "set", "Sec5 Invite", "--remove-member", "eve"), "sec-5.3 eve removed before she joined");
	CHECK(tchat_sql_countf("SELECT count(*) FROM invitations WHERE uri = 'sip:eve@example.org' AND room_id = "
	                       "(SELECT id FROM rooms WHERE guid = '%s')", secret) == 0,
	      "sec-5.4 removing the role deletes the invitation");
	tchat_xccos(eve, GETINV);
	CHECK(tchat_has(&eve->in, "<rpl id=\"rpl:getinv\"") && !rpl_has(eve, "getinv", secret) &&
	      !rpl_has(eve, "getinv", "Sec5 Invite"), "sec-5.5 getinv no longer names the secret room");

	/* An invitation left behind by an older pchat (its role gone, the row
	 * still there): getinv itself checks the room. */
	{
		char sql[300];

		snprintf(sql, sizeof sql, "DELETE FROM room_roles WHERE uri = 'sip:frank@example.org' AND room_id = "
		                          "(SELECT id FROM rooms WHERE guid = '%s')", left);
		CHECK(tchat_sql_exec(sql) == 0 && tchat_sql_countf("SELECT count(*) FROM invitations WHERE uri = "
		                                                   "'sip:frank@example.org'") == 1,
		      "sec-5.6 a leftover invitation to a secret room frank has no role in");
	}
	tchat_xccos(frank, GETINV);
	CHECK(tchat_has(&frank->in, "<rpl id=\"rpl:getinv\"") && !rpl_has(frank, "getinv", left) &&
	      !rpl_has(frank, "getinv", "Sec5 Leftover"), "sec-5.7 getinv lists only rooms the user may join");
}

/* ---- 7 and 8: what a post carries ---- */

static void test_post_children(struct tuser *alice, struct tuser *bob, const char *open)
{
	static char env[1 << 20];
	int status;

	tchat_clear(bob);
	CHECK(tchat_join(alice, open) == 200, "sec-7.0 alice joins the open room");
	status = tchat_xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>s7 visible text</chat>"
	                     "<rtf fmt=\"1\">{\\rtf1 s7 rtf words}</rtf>"
	                     "<file id=\"999\" name=\"s7forged.exe\" size=\"1\" sha256=\"00\"/>"
	                     "<evil>s7 evil words</evil></grpchat>", open);
	CHECK(status == 200 && tchat_wait_for(bob, "s7 visible text", 5000), "sec-7.1 the post is relayed");
	CHECK(tchat_wait_for(bob, "</grpchat>", 2000) && tchat_has(&bob->in, "<rtf fmt=\"1\">{\\rtf1 s7 rtf words}</rtf>"),
	      "sec-7.2 a known format (rtf) is relayed as it came");
	CHECK(!tchat_has(&bob->in, "s7forged.exe") && !tchat_has(&bob->in, "s7 evil words"),
	      "sec-7.3 a forged <file> card and unknown children are not relayed");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND content LIKE 's7 visible text%'"
	                      " AND content LIKE '%s7 rtf words%'") == 1,
	      "sec-7.4 the CHAT event carries the text and the relayed rtf");
	{
		char out[2048], cmd[600];
		FILE *p;
		int files = -1;

		/* The export writers carry the event's content as it is. */
		snprintf(cmd, sizeof cmd, "grep -rl --include='*.xml' 's7 rtf words' '%s' | wc -l", srv.dir);
		if (tserver_cli(&srv, NULL, out, sizeof out, "export", "--now", NULL) == 0 && (p = popen(cmd, "r")) != NULL) {
			if (fscanf(p, "%d", &files) != 1)
				files = -1;
			pclose(p);
		}
		CHECK(files >= 1, "sec-7.4b the exported batch holds the rtf");
	}
	CHECK(tchat_sql_count("SELECT count(*) FROM messages WHERE extra LIKE '%s7forged%' OR extra LIKE '%s7 evil%'") == 0,
	      "sec-7.5 nothing unrelayed is stored either");
	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", open);
	CHECK(tchat_has(&bob->in, "s7 rtf words") && !tchat_has(&bob->in, "s7forged.exe"),
	      "sec-7.6 history: the rtf is there, the forged card is not");

	/* 8: prefixes declared on an ancestor, undeclared prefixes, prefixed
	 * attributes, a different default namespace. */
	tchat_clear(bob);
	status = tchat_xccos(alice, "<grpchat xmlns:p=\"urn:p\" id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\">"
	                     "<chat>s8 poison</chat><rtf p:a=\"1\" b=\"2\">s8a<p:x/>s8b</rtf>"
	                     "<html><p:y xmlns:p=\"urn:p\">s8c</p:y><b>s8d</b></html>"
	                     "<story xmlns=\"urn:other\"><t>s8e</t></story></grpchat>", open);
	CHECK(status == 200 && tchat_wait_for(bob, "s8 poison", 5000) && tchat_wait_for(bob, "</xccos>", 2000),
	      "sec-8.1 the post is relayed");
	CHECK(envelope_with(bob, "s8 poison", env, sizeof env) == 0 && ns_well_formed(env),
	      "sec-8.2 the relayed message parses with a namespace-aware parser");
	CHECK(strstr(env, "<rtf b=\"2\">s8as8b</rtf>") && strstr(env, "<b>s8d</b>"),
	      "sec-8.3 the plain formatting around the dropped parts survives");
	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", open);
	CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:bccontext\"") && envelope_with(bob, "<rpl id=\"rpl:bccontext\"", env, sizeof env) == 0 &&
	      strstr(env, "s8 poison") && ns_well_formed(env), "sec-8.4 the history reply parses with a namespace-aware parser");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND content LIKE 's8 poison%'"
	                      " AND content LIKE '%s8d%'") == 1, "sec-8.5 the CHAT event carries the relayed formatting");

	/* A message stored by an older pchat, before posts were checked: history
	 * rewrites it too. */
	{
		char sql[600];

		snprintf(sql, sizeof sql, "INSERT INTO messages (room_id, author, ts_us, text, extra) SELECT id, "
		         "'sip:alice@example.org', 1, 's8 stored before', '<rtf>s8f<p:x/>s8g</rtf><q:z xmlns:q=''urn:q''/>' "
		         "FROM rooms WHERE guid = '%s'", open);
		CHECK(tchat_sql_exec(sql) == 0, "sec-8.6 an unchecked message from an older pchat in the store");
	}
	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"25\"/></bcq></data></cmd>", open);
	CHECK(envelope_with(bob, "<rpl id=\"rpl:bccontext\"", env, sizeof env) == 0 && strstr(env, "s8 stored before") &&
	      strstr(env, "<rtf>s8fs8g</rtf>") && ns_well_formed(env), "sec-8.7 history rewrites it namespace-well-formed");
}

/* ---- 12: rooms the user may not see answer like missing ones ---- */

struct probe {
	const char *cmd;        /* the rpl name */
	const char *label;
	const char *inner;      /* printf format, %s = the room GUID */
};

static void test_oracle(struct tuser *dave)
{
	static const struct probe probes[] = {
		{ "join", "join by chanid", "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd>" },
		{ "bjoin", "bjoin", "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd>" },
		{ "bccontext", "bccontext last", "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		               "<bcq><last cnt=\"25\"/></bcq></data></cmd>" },
		{ "bccontext", "bccontext search", "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		               "<bcq><search cnt=\"5\">hello</search></bcq></data></cmd>" },
		{ "bccontext", "bccontext empty search", "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		               "<bcq><search cnt=\"5\">   </search></bcq></data></cmd>" },
		{ "part", "part", "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>" },
		{ "getftok", "getfutok", "<cmd id=\"cmd:getfutok\" seqid=\"1\"><data><ftdb channelUri=\"ma-chan://example.org/%s\" fileUrl=\"a.txt\"/></data></cmd>" },
		{ "getftok", "getfdtok", "<cmd id=\"cmd:getfdtok\" seqid=\"1\"><data><ftdb channelUri=\"ma-chan://example.org/%s\" fileUrl=\"a.txt\"/></data></cmd>" },
	};
	char hidden[4][40], what[200];
	static char got_hidden[8192], got_missing[8192];
	const char *names[4] = { "a secret room", "an open room behind a denied list",
	                         "an open room behind an allowed list", "a disabled room" };

	room_add(hidden[0], "Sec12 Secret", "--privacy", "secret", "--member", "carol", NULL, NULL);
	CHECK(cli_ok("category", "add", "sec12wall", "--deny", "dave"), "sec-12.0 a category walling dave off");
	room_add(hidden[1], "Sec12 Walled", "--privacy", "open", "--category", "sec12wall", NULL, NULL);
	CHECK(cli_ok("category", "add", "sec12only", "--allow", "carol"), "sec-12.0b a category only carol may use");
	room_add(hidden[2], "Sec12 Allowed Only", "--privacy", "open", "--category", "sec12only", NULL, NULL);
	room_add(hidden[3], "Sec12 Off", "--privacy", "open", NULL, NULL, NULL, NULL);
	CHECK(cli_ok("room", "disable", "Sec12 Off", NULL, NULL), "sec-12.1 one room disabled");
	CHECK(strlen(hidden[0]) == 36 && strlen(hidden[1]) == 36 && strlen(hidden[2]) == 36 && strlen(hidden[3]) == 36,
	      "sec-12.2 rooms created");

	for (size_t h = 0; h < 4; h++) {
		for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
			tchat_xccos(dave, probes[i].inner, hidden[h]);
			normalized_reply(dave, probes[i].cmd, hidden[h], got_hidden, sizeof got_hidden);
			tchat_xccos(dave, probes[i].inner, MISSING_GUID);
			normalized_reply(dave, probes[i].cmd, MISSING_GUID, got_missing, sizeof got_missing);
			snprintf(what, sizeof what, "sec-12.3 %s for %s answers like a missing room", probes[i].label, names[h]);
			if (!CHECK(got_hidden[0] && strcmp(got_hidden, got_missing) == 0, what))
				printf("  hidden:  %s\n  missing: %s\n", got_hidden, got_missing);
		}
		{
			int st_hidden, st_missing;
			const char *post = "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>probe</chat></grpchat>";

			st_hidden = tchat_xccos(dave, post, hidden[h]);
			st_missing = tchat_xccos(dave, post, MISSING_GUID);
			snprintf(what, sizeof what, "sec-12.4 grpchat to %s answers like a missing room (%d, %d)", names[h], st_hidden,
			         st_missing);
			CHECK(st_hidden == st_missing && st_hidden != 200, what);
		}
	}
	/* The lists never name them. */
	tchat_xccos(dave, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"Sec12\" extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&dave->in, "<rpl id=\"rpl:chansrch\"") && !rpl_has(dave, "chansrch", "Sec12"), "sec-12.5 chansrch names none of them");
	tchat_xccos(dave, GETASSOC);
	CHECK(tchat_has(&dave->in, "<rpl id=\"rpl:getassociations\"") && !rpl_has(dave, "getassociations", "Sec12"),
	      "sec-12.6 getassociations names none of them");
	tchat_xccos(dave, GETINV);
	CHECK(tchat_has(&dave->in, "<rpl id=\"rpl:getinv\"") && !rpl_has(dave, "getinv", "Sec12"), "sec-12.7 getinv names none of them");
}

/* ---- 13: bidi and format characters in room names and topics ---- */

static void test_bidi(void)
{
	static const char *const bidi[] = { "\xe2\x80\x8e", "\xe2\x80\x8f", "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",
	                                    "\xe2\x80\xad", "\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8",
	                                    "\xe2\x81\xa9" };
	/* Neighbours that stay allowed: U+200D (joiner), U+202F, U+2065, U+206A. */
	static const char *const fine[] = { "plain", "caf\xc3\xa9", "\xe2\x80\x8d", "\xe2\x80\xaf", "\xe2\x81\xa5",
	                                    "\xe2\x81\xaa" };
	char out[1024], name[64];
	int all = 1, none = 1, rc;

	for (size_t i = 0; i < sizeof bidi / sizeof bidi[0]; i++) {
		snprintf(name, sizeof name, "ab%scd", bidi[i]);
		all &= utf8_has_bidi_control(name, strlen(name)) == 1;
	}
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
		none &= utf8_has_bidi_control(fine[i], strlen(fine[i])) == 0;
	/* The length bounds the scan: U+200E cut after two bytes is not read on. */
	none &= utf8_has_bidi_control(bidi[0], 2) == 0;
	CHECK(all && none, "sec-13.1 utf8_has_bidi_control finds each of the 11 controls, and nothing else");

	rc = tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Sec13 \xe2\x80\xae" "exe.txt", NULL);
	CHECK(rc != 0 && strstr(out, "bidi"), "sec-13.2 room add with U+202E in the name: refused with a clear error");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Sec13 Plain", "--topic", "left\xe2\x81\xa6right", NULL);
	CHECK(rc != 0 && strstr(out, "bidi"), "sec-13.3 room add with U+2066 in the topic: refused");
	CHECK(cli_ok("room", "add", "Sec13 Plain", "--topic", "plain topic"), "sec-13.4 a plain room is still accepted");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "room", "set", "Sec13 Plain", "--name", "Sec13 \xe2\x80\x8fPlain", NULL);
	CHECK(rc != 0 && strstr(out, "bidi"), "sec-13.5 room set --name with U+200F: refused");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "room", "set", "Sec13 Plain", "--topic", "x\xe2\x80\xaay", NULL);
	CHECK(rc != 0 && strstr(out, "bidi"), "sec-13.6 room set --topic with U+202A: refused");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "show", "Sec13 Plain", NULL) == 0 && strstr(out, "plain topic") &&
	      tchat_sql_count("SELECT count(*) FROM rooms WHERE name LIKE 'Sec13%'") == 1,
	      "sec-13.7 nothing refused reached the store");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                    dave = { .name = "dave" }, eve = { .name = "eve" }, frank = { .name = "frank" };
	char open[40];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "sec-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_sec_chat");
	}
	add_users();
	room_add(open, "Sec Open", "--privacy", "open", NULL, NULL, NULL, NULL);
	CHECK(strlen(open) == 36, "sec-0.2 an open room");
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_sign_in(&carol) == 0 && tchat_sign_in(&dave) == 0 &&
	      tchat_sign_in(&eve) == 0 && tchat_sign_in(&frank) == 0, "sec-0.3 six users sign in");
	test_associations(&bob, &carol, &dave, &eve, open);
	test_invitations(&eve, &frank);
	test_post_children(&alice, &bob, open);
	test_oracle(&dave);
	test_bidi();
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	tchat_sign_out(&dave);
	tchat_sign_out(&eve);
	tchat_sign_out(&frank);
	CHECK(tserver_stop(&srv) == 0, "sec-9.1 clean stop");
	tserver_cleanup(&srv);
	xmlCleanupParser();
	return check_done("e2e_sec_chat");
}
