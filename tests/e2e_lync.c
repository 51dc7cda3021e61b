/*
 * e2e_lync.c - the XCCOS that Lync 2013 / Skype for Business clients speak
 * beyond pidgin-sipe (issue 16, section 2), end to end over real TLS with
 * pchat's own XCCOS client:
 *   1  the documented session start: INVITE the provisioned pool URI,
 *      getserverinfo, then bjoin and post on that same dialog;
 *   2  getserverinfo's displayName and a real, stable rootUri; every
 *      category has a ma-cat:// URI, named by chansrch and join;
 *   3  getpref / setpref: round trip, a stale seqid is a conflict, per
 *      user, bounded (label, content, labels per user);
 *   4  nodespermcreatechild for a creator and a non-creator;
 *   5  history beyond "last N": paging back by message id without
 *      duplicates, forward, order, date range, authors, words, exact
 *      phrase, case; an unknown form is refused, never answered;
 *   6  getinv: invitation ids and times, only those after inviteId;
 *   7  a post keeps the client's attributes (not the server's), bounded,
 *      in the fan-out, in history and in the compliance event;
 *   8  the rootUri survives a restart; an account's preferences go with it.
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

#define LOOKUP_URI "sip:ocschat@example.org"

static void add_users(void)
{
	const char *users[] = { "alice", "bob", "carol", "lena" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
}

/* `room add NAME A B C D` (NULLs end it): the GUID into out[40]. */
static void room_add(char *out, const char *name, const char *a, const char *b, const char *c, const char *d)
{
	tchat_guid_of(tchat_cli("room", "add", name, a, b, c, d, NULL), out);
}

/* The value of attribute attr in the first element at or after from (up to
 * its '>'), into out; 0, or -1 if it has none. */
static int attr_of(const char *from, const char *attr, char *out, size_t outlen)
{
	char key[64];
	const char *end, *p, *q;

	out[0] = '\0';
	if (from == NULL || (end = strchr(from, '>')) == NULL)
		return -1;
	snprintf(key, sizeof key, " %s=\"", attr);
	if ((p = strstr(from, key)) == NULL || p > end)
		return -1;
	p += strlen(key);
	if ((q = strchr(p, '"')) == NULL || (size_t)(q - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

/* u->in as a string (the INFO bodies received since the last send). */
static const char *in_text(struct tuser *u)
{
	static const char none[] = "";

	if (u->in.len == 0)
		return none;
	buf_append(&u->in, "", 1);      /* a NUL after the bodies, not counted */
	u->in.len--;
	return (const char *)buf_head(&u->in);
}

/* The rpl:NAME in u->in, or NULL. */
static const char *reply_of(struct tuser *u, const char *name)
{
	char start[64];

	snprintf(start, sizeof start, "<rpl id=\"rpl:%s\"", name);
	return strstr(in_text(u), start);
}

/* The resp code of rpl:NAME in u->in, or -1. */
static int resp_code(struct tuser *u, const char *name)
{
	const char *r = reply_of(u, name), *resp = r ? strstr(r, "<resp code=\"") : NULL;

	return resp ? atoi(resp + 12) : -1;
}

/* The last rpl:bccontext received (history), alone: posts echoed meanwhile
 * are not in it. */
static char hist_reply[1 << 20];

/* bccontext for room guid with the <bcq> content given; the resp code.  The
 * reply goes to hist_reply. */
static int history(struct tuser *u, const char *guid, const char *bcq)
{
	const char *r, *end;

	tchat_xccos(u, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq>%s</bcq></data></cmd>", guid, bcq);
	hist_reply[0] = '\0';
	if ((r = reply_of(u, "bccontext")) != NULL && (end = strstr(r, "</rpl>")) != NULL &&
	    (size_t)(end - r) < sizeof hist_reply) {
		memcpy(hist_reply, r, (size_t)(end - r));
		hist_reply[end - r] = '\0';
	}
	return resp_code(u, "bccontext");
}

/* The msgId of every message in the last history reply, in order; how many. */
static size_t msg_ids(long long *ids, size_t max)
{
	size_t n = 0;

	for (const char *p = hist_reply; n < max && (p = strstr(p, " msgId=\"")) != NULL; p += 8)
		ids[n++] = atoll(p + 8);
	return n;
}

/* 1 if the last INFO body holding needle parses as namespace-well-formed XML. */
static int body_well_formed(struct tuser *u, const char *needle)
{
	const char *all = in_text(u), *hit = strstr(all, needle), *start = NULL, *end;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int ok;

	if (hit == NULL)
		return 0;
	for (const char *p = all; (p = strstr(p, "<xccos ")) != NULL && p < hit; p++)
		start = p;
	if (start == NULL || (end = strstr(hit, "</xccos>")) == NULL || (ctxt = xmlNewParserCtxt()) == NULL)
		return 0;
	doc = xmlCtxtReadMemory(ctxt, start, (int)(end + 8 - start), NULL, "UTF-8",
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	ok = doc != NULL && ctxt->wellFormed && ctxt->nsWellFormed;
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ok;
}

/* ---- 1: the documented session start ---- */

/* Sign in as NAME and INVITE the pool URI provisioning names (the lookup
 * URI): what a Lync 2013 client does, with no requri and no second INVITE. */
static int open_on_pool(struct tuser *u)
{
	char aor[128];
	int ok;

	snprintf(aor, sizeof aor, "sip:%s@example.org", u->name);
	buf_init(&u->in, 8 << 20);
	ok = tclient_connect(&u->t, srv.port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	     tclient_subscribe_provisioning(&u->t) == 200 && u->t.msg.body.len > 0 &&
	     memmem(u->t.msg.body.p, u->t.msg.body.len, LOOKUP_URI, strlen(LOOKUP_URI)) != NULL;
	return ok && tclient_invite(&u->t, &u->d, LOOKUP_URI) == 200 ? 0 : -1;
}

static void test_session_start(struct tuser *lena, const char *room)
{
	char name[64];

	CHECK(open_on_pool(lena) == 0, "lync-1.1 lena signs in, is provisioned the pool URI and INVITEs it");
	tchat_xccos(lena, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/>"
	            "</data></cmd>");
	CHECK(resp_code(lena, "getserverinfo") == 200, "lync-1.2 getserverinfo on the pool dialog: 200");
	tchat_xccos(lena, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	            "</data></cmd>", room);
	CHECK(resp_code(lena, "bjoin") == 200 && attr_of(strstr(in_text(lena), "<chanib "), "name", name, sizeof name) == 0 &&
	      strcmp(name, "Lobby") == 0 && !strstr(in_text(lena), "OPERATION_FAILED"),
	      "lync-1.3 bjoin on that same dialog joins the room (no ERR_NOT_ON_THIS_SERVICE)");
	CHECK(tchat_post(lena, room, "hello from the pool dialog") == 200 &&
	      tchat_wait_for(lena, "hello from the pool dialog", 3000), "lync-1.4 a post on that dialog is stored and echoed");
	CHECK(history(lena, room, "<last cnt=\"5\"/>") == 200 && strstr(in_text(lena), "hello from the pool dialog"),
	      "lync-1.5 history on that dialog");
}

/* ---- 2: getserverinfo, category URIs ---- */

static void test_server_info(struct tuser *alice, const char *room, char *root_out)
{
	const char *sib;
	char v[128], want[160], cat_guid[40];
	long n;

	tchat_xccos(alice, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/>"
	            "</data></cmd>");
	sib = strstr(in_text(alice), "<sib ");
	CHECK(attr_of(sib, "displayName", v, sizeof v) == 0 && strcmp(v, "Lync Test Chat") == 0,
	      "lync-2.1 displayName is [server] display_name");
	CHECK(attr_of(sib, "rootUri", v, sizeof v) == 0 && strncmp(v, "ma-cat://example.org/", 21) == 0 &&
	      strlen(v + 21) == 36 && strcmp(v + 21, "00000000-0000-0000-0000-000000000000") != 0,
	      "lync-2.2 rootUri is ma-cat://DOMAIN/GUID with a real GUID");
	snprintf(root_out, 40, "%.36s", strlen(v) > 21 ? v + 21 : "none");
	n = tchat_sql_countf("SELECT count(*) FROM store_meta WHERE name = 'root_category_guid' AND value = '%s'", root_out);
	CHECK(n == 1, "lync-2.3 the root GUID is kept in the store");
	CHECK(attr_of(sib, "searchLimit", v, sizeof v) == 0 && attr_of(sib, "messageSizeLimit", v, sizeof v) == 0 &&
	      attr_of(sib, "serverTime", v, sizeof v) == 0, "lync-2.4 the other attributes are still there");

	CHECK(tchat_cli("category", "add", "Projects", NULL) != NULL &&
	      tchat_sql_count("SELECT count(*) FROM categories WHERE guid IS NULL OR length(guid) != 36") == 0 &&
	      tchat_sql_count("SELECT count(DISTINCT guid) FROM categories") == tchat_sql_count("SELECT count(*) FROM categories"),
	      "lync-2.5 every category, old and new, has its own GUID");
	tchat_xccos(alice, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"Lobby\" "
	            "extended=\"false\"/></data></cmd>");
	cat_guid[0] = '\0';
	if (attr_of(strstr(in_text(alice), "<chanib "), "catUri", v, sizeof v) == 0 && strlen(v) > 21)
		snprintf(cat_guid, sizeof cat_guid, "%.36s", v + 21);
	CHECK(strncmp(v, "ma-cat://example.org/", 21) == 0 &&
	      tchat_sql_countf("SELECT count(*) FROM categories c JOIN rooms r ON r.category_id = c.id "
	                       "WHERE r.guid = '%s' AND c.guid = '%s'", room, cat_guid) == 1,
	      "lync-2.6 chansrch names the room's category by its ma-cat:// URI");
	snprintf(want, sizeof want, "catUri=\"ma-cat://example.org/%s\"", cat_guid);
	CHECK(tchat_join(alice, room) == 200 && strstr(reply_of(alice, "join") ? reply_of(alice, "join") : "", want),
	      "lync-2.7 the join reply names it too");
}

/* ---- 3: getpref / setpref ---- */

static int pref_cmd(struct tuser *u, const char *cmd, const char *attrs)
{
	tchat_xccos(u, "<cmd id=\"cmd:%s\" seqid=\"1\"><data><pref %s/></data></cmd>", cmd, attrs);
	return resp_code(u, cmd);
}

static void test_prefs(struct tuser *alice, struct tuser *bob)
{
	static char big[70000];
	char v[64];
	int ok = 1;

	CHECK(pref_cmd(alice, "getpref", "label=\"alice.GroupChannels\" seqid=\"0\" createdefault=\"false\"") == 404,
	      "lync-3.1 getpref of a missing label without createdefault: 404");
	CHECK(pref_cmd(alice, "getpref", "label=\"alice.GroupChannels\" seqid=\"0\" createdefault=\"true\"") == 200 &&
	      attr_of(strstr(in_text(alice), "<pref "), "seqid", v, sizeof v) == 0 && strcmp(v, "1") == 0 &&
	      strstr(in_text(alice), "content=\"\""), "lync-3.2 createdefault makes it, empty, seqid 1");
	CHECK(pref_cmd(alice, "setpref", "label=\"alice.GroupChannels\" seqid=\"1\" createdefault=\"false\" "
	                                 "content=\"PGNoYW5uZWxzLz4=\"") == 200 &&
	      attr_of(strstr(in_text(alice), "<pref "), "seqid", v, sizeof v) == 0 && strcmp(v, "2") == 0,
	      "lync-3.3 setpref with the current seqid: 200, the answer carries seqid 2");
	CHECK(pref_cmd(alice, "getpref", "label=\"alice.GroupChannels\" seqid=\"2\" createdefault=\"true\"") == 200 &&
	      strstr(in_text(alice), "content=\"PGNoYW5uZWxzLz4=\"") && strstr(in_text(alice), "seqid=\"2\""),
	      "lync-3.4 getpref gives the content back");
	CHECK(pref_cmd(alice, "setpref", "label=\"alice.GroupChannels\" seqid=\"1\" createdefault=\"false\" "
	                                 "content=\"c3RhbGU=\"") == 409 &&
	      strstr(in_text(alice), "ERR_DATA_COLLISION") && strstr(in_text(alice), "seqid=\"2\"") &&
	      strstr(in_text(alice), "content=\"PGNoYW5uZWxzLz4=\""),
	      "lync-3.5 a stale seqid is a conflict: 409 with the stored seqid and content");
	CHECK(pref_cmd(alice, "getpref", "label=\"alice.GroupChannels\" createdefault=\"false\"") == 200 &&
	      strstr(in_text(alice), "content=\"PGNoYW5uZWxzLz4=\""), "lync-3.6 ... and nothing was written");
	CHECK(pref_cmd(bob, "getpref", "label=\"alice.GroupChannels\" createdefault=\"false\"") == 404,
	      "lync-3.7 preferences are per user");
	CHECK(tchat_sql_count("SELECT count(*) FROM prefs WHERE uri = 'sip:alice@example.org' AND seqid = 2 "
	                      "AND content = 'PGNoYW5uZWxzLz4='") == 1, "lync-3.8 kept in the store");
	CHECK(pref_cmd(alice, "setpref", "label=\"x\" content=\"not base64!\"") == 400, "lync-3.9 content not base64: 400");
	memset(big, 'A', 32769);
	big[32769] = '\0';
	tchat_xccos(alice, "<cmd id=\"cmd:setpref\" seqid=\"1\"><data><pref label=\"big\" content=\"%s\"/></data></cmd>", big);
	CHECK(resp_code(alice, "setpref") == 400, "lync-3.10 content over 32 KiB: 400");
	memset(big, 'l', 200);
	big[200] = '\0';
	tchat_xccos(alice, "<cmd id=\"cmd:setpref\" seqid=\"1\"><data><pref label=\"%s\" content=\"QQ==\"/></data></cmd>", big);
	CHECK(resp_code(alice, "setpref") == 400, "lync-3.11 a label over 127 bytes: 400");
	CHECK(pref_cmd(alice, "setpref", "content=\"QQ==\"") == 400 && pref_cmd(alice, "setpref", "label=\"nocontent\"") == 400,
	      "lync-3.12 no label, or setpref without content: 400");
	for (int i = 1; i < 64 && ok; i++) {
		char a[96];

		snprintf(a, sizeof a, "label=\"label-%d\" seqid=\"0\" content=\"QQ==\"", i);
		ok = pref_cmd(bob, "setpref", a) == 200;
	}
	CHECK(ok && tchat_sql_count("SELECT count(*) FROM prefs WHERE uri = 'sip:bob@example.org'") == 63,
	      "lync-3.13 bob keeps 63 labels");
	CHECK(pref_cmd(bob, "getpref", "label=\"label-64\" createdefault=\"true\"") == 200,
	      "lync-3.14 the 64th (createdefault) is kept");
	CHECK(pref_cmd(bob, "setpref", "label=\"label-65\" content=\"QQ==\"") == 413 &&
	      pref_cmd(bob, "getpref", "label=\"label-66\" createdefault=\"true\"") == 413 &&
	      tchat_sql_count("SELECT count(*) FROM prefs WHERE uri = 'sip:bob@example.org'") == 64,
	      "lync-3.15 a 65th label is refused (413), by setpref or createdefault");
	CHECK(pref_cmd(bob, "setpref", "label=\"label-3\" seqid=\"1\" content=\"Qg==\"") == 200,
	      "lync-3.16 an existing label can still be written at the cap");
}

/* ---- 4: nodespermcreatechild ---- */

static void test_create_rights(struct tuser *alice, struct tuser *bob)
{
	CHECK(tchat_cli("category", "add", "Makers", "--creator", "alice", NULL) != NULL, "lync-4.1 alice may create in Makers");
	tchat_xccos(alice, "<cmd id=\"cmd:nodespermcreatechild\" seqid=\"1\"><data/></cmd>");
	CHECK(resp_code(alice, "nodespermcreatechild") == 200 && strstr(in_text(alice), "SUCCESS_OK"),
	      "lync-4.2 a creator: 200 SUCCESS_OK");
	tchat_xccos(bob, "<cmd id=\"cmd:nodespermcreatechild\" seqid=\"1\"><data/></cmd>");
	CHECK(resp_code(bob, "nodespermcreatechild") == 403, "lync-4.3 not a creator anywhere: 403");
}

/* ---- 5: history ---- */

static void test_history(struct tuser *alice, struct tuser *bob, const char *room)
{
	long long last[8], page[8], all[16], ids[8];
	size_t n, total = 0;
	char text[64], ts4[64], ts6[64], q[512];
	int ok = 1, dup = 0;
	const char *m;

	ok = tchat_post(bob, room, "from bob") == 200;
	for (int i = 1; i <= 10 && ok; i++) {
		usleep(2000);
		snprintf(text, sizeof text, "hist-%02d", i);
		ok = tchat_post(alice, room, text) == 200;
	}
	CHECK(ok, "lync-5.0 bob posts one message, then alice 10");
	CHECK(history(alice, room, "<last cnt=\"3\"/>") == 200 && msg_ids(last, 8) == 3 &&
	      strstr(hist_reply, "hist-09") && strstr(hist_reply, "hist-10") && last[0] < last[1] && last[1] < last[2],
	      "lync-5.1 last 3, oldest first, each with a msgId");
	/* Page back from the oldest message of the last page until nothing is left. */
	all[total++] = last[0];
	for (long long start = last[0]; total < 16;) {
		snprintf(q, sizeof q, "<query startingMessageId=\"%lld\" searchOrderReversed=\"true\" resultLimit=\"3\"/>", start);
		if (history(alice, room, q) != 200 || (n = msg_ids(page, 8)) == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < total; k++)
				dup |= all[k] == page[i];
			dup |= (i > 0 && page[i] <= page[i - 1]) || page[i] >= start;
			all[total++] = page[i];
		}
		start = page[0];
	}
	CHECK(total == 9 && !dup && strstr(hist_reply, "hist-01") == NULL,
	      "lync-5.2 paging back 3 at a time from the last page: the 8 older ones, in order, no duplicates, then none");
	snprintf(q, sizeof q, "<query startingMessageId=\"%lld\" searchOrderReversed=\"true\" resultLimit=\"3\"/>", last[0]);
	CHECK(history(alice, room, q) == 200 && msg_ids(page, 8) == 3 && strstr(hist_reply, "hist-05") &&
	      strstr(hist_reply, "hist-07") && !strstr(hist_reply, "hist-08"),
	      "lync-5.3 the page before hist-08 is hist-05..07");
	snprintf(q, sizeof q, "<query startingMessageId=\"%lld\" resultLimit=\"2\"/>", last[0]);
	CHECK(history(alice, room, q) == 200 && msg_ids(page, 8) == 2 && page[0] > last[0] &&
	      strstr(hist_reply, "hist-09") && strstr(hist_reply, "hist-10"),
	      "lync-5.4 forward from a message id (searchOrderReversed false)");
	CHECK(history(alice, room, "<query searchOrderReversed=\"true\" sortOrderReversed=\"true\" resultLimit=\"3\"/>") == 200 &&
	      msg_ids(page, 8) == 3 && page[0] > page[1] && page[1] > page[2] && strstr(hist_reply, "hist-10") &&
	      strstr(hist_reply, "hist-10") < strstr(hist_reply, "hist-08"),
	      "lync-5.5 sortOrderReversed: newest first");
	CHECK(history(alice, room, "<query resultLimit=\"2\"/>") == 200 && strstr(hist_reply, "from bob") &&
	      strstr(hist_reply, "hist-01") && !strstr(hist_reply, "hist-02"),
	      "lync-5.6 no start, searchOrderReversed false: the oldest first");
	/* A date range: the timestamps of hist-04 and hist-06 as the server wrote them. */
	history(alice, room, "<query resultLimit=\"10\"/>");
	m = strstr(hist_reply, "hist-04");
	while (m && m > hist_reply && strncmp(m, "<msg ", 5) != 0)
		m--;
	ok = m && attr_of(m, "ts", ts4, sizeof ts4) == 0;
	m = strstr(hist_reply, "hist-06");
	while (m && m > hist_reply && strncmp(m, "<msg ", 5) != 0)
		m--;
	ok &= m && attr_of(m, "ts", ts6, sizeof ts6) == 0;
	snprintf(q, sizeof q, "<query dateBeginning=\"%s\" dateEnding=\"%s\" resultLimit=\"50\"/>", ts4, ts6);
	CHECK(ok && history(alice, room, q) == 200 && msg_ids(ids, 8) == 3 && strstr(hist_reply, "hist-04") &&
	      strstr(hist_reply, "hist-05") && strstr(hist_reply, "hist-06"),
	      "lync-5.7 a date range (dateBeginning, dateEnding) gives exactly the posts in it");
	CHECK(history(alice, room, "<query searchOrderReversed=\"true\" resultLimit=\"50\"><author uri=\"sip:bob@example.org\"/>"
	                           "</query>") == 200 && msg_ids(ids, 8) == 1 && strstr(hist_reply, "from bob"),
	      "lync-5.8 authors: only bob's post");
	ok = tchat_post(alice, room, "Alpha beta gamma") == 200 && tchat_post(alice, room, "alpha gamma") == 200 &&
	     tchat_post(alice, room, "beta alone") == 200;
	CHECK(ok && history(alice, room, "<query searchOrderReversed=\"true\" resultLimit=\"50\" searchString=\"gamma alpha\"/>")
	                    == 200 && msg_ids(ids, 8) == 2,
	      "lync-5.9 searchString: every word, case folded (2 posts)");
	CHECK(history(alice, room, "<query searchOrderReversed=\"true\" resultLimit=\"50\" searchString=\"alpha gamma\" "
	                           "matchExactPhrase=\"true\"/>") == 200 && msg_ids(ids, 8) == 1 &&
	      strstr(hist_reply, ">alpha gamma<"), "lync-5.10 matchExactPhrase: the phrase only (1 post)");
	CHECK(history(alice, room, "<query searchOrderReversed=\"true\" resultLimit=\"50\" searchString=\"Alpha\" "
	                           "matchCaseSensitive=\"true\"/>") == 200 && msg_ids(ids, 8) == 1 &&
	      strstr(hist_reply, "Alpha beta gamma"), "lync-5.11 matchCaseSensitive (1 post)");
	CHECK(history(alice, room, "<query searchOrderReversed=\"true\" resultLimit=\"1\" searchString=\"beta\"/>") == 200 &&
	      msg_ids(ids, 8) == 1 && strstr(hist_reply, "beta alone"), "lync-5.12 resultLimit bounds a search");
	CHECK(history(alice, room, "<search cnt=\"5\">alone</search>") == 200 && strstr(hist_reply, "beta alone"),
	      "lync-5.13 pchat's own <search> still works");
	CHECK(history(alice, room, "<before id=\"5\" cnt=\"3\"/>") == 400 && msg_ids(ids, 8) == 0,
	      "lync-5.14 an unknown bcq form: 400 and no messages (never the newest again)");
	CHECK(history(alice, room, "<last cnt=\"3\"/><query resultLimit=\"3\"/>") == 400 && msg_ids(ids, 8) == 0,
	      "lync-5.15 two forms at once: 400");
	CHECK(history(alice, room, "<query dateBeginning=\"yesterday\"/>") == 400 &&
	      history(alice, room, "<query startingMessageId=\"-3\"/>") == 400 &&
	      history(alice, room, "<query searchOrderReversed=\"maybe\"/>") == 400 &&
	      history(alice, room, "<query><nonsense/></query>") == 400, "lync-5.16 malformed query values: 400");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'BACKCHAT' AND content LIKE 'query %'") > 0,
	      "lync-5.17 a query is a BACKCHAT compliance event saying what was asked");
}

/* ---- 6: getinv ---- */

static void test_invitations(struct tuser *carol)
{
	char r1[40], r2[40], v[64], q[256];
	long long id1 = 0, id2 = 0;
	const char *i1, *i2;

	room_add(r1, "Invite One", "--invitations", "on", "--member", "carol");
	room_add(r2, "Invite Two", "--invitations", "on", "--member", "carol");
	tchat_xccos(carol, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data/></cmd>");
	i1 = strstr(in_text(carol), r1);
	i2 = strstr(in_text(carol), r2);
	while (i1 && i1 > in_text(carol) && strncmp(i1, "<inv ", 5) != 0)
		i1--;
	while (i2 && i2 > in_text(carol) && strncmp(i2, "<inv ", 5) != 0)
		i2--;
	if (i1 && attr_of(i1, "inviteId", v, sizeof v) == 0)
		id1 = atoll(v);
	if (i2 && attr_of(i2, "inviteId", v, sizeof v) == 0)
		id2 = atoll(v);
	CHECK(id1 > 1 && id2 > id1, "lync-6.1 each invitation has an id, growing, above sipe's inviteId=\"1\"");
	CHECK(i1 && attr_of(i1, "ts", v, sizeof v) == 0 && strlen(v) == 28 && v[27] == 'Z',
	      "lync-6.2 ... and its creation time");
	CHECK(i1 && strstr(i1, "<chanib ") && strstr(i1, "urn:parlano:ma:info:ucnt"), "lync-6.3 ... and the room's summary");
	tchat_xccos(carol, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(strstr(in_text(carol), r1) && strstr(in_text(carol), r2), "lync-6.4 sipe's inviteId=\"1\": both");
	snprintf(q, sizeof q, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"%lld\" domain=\"example.org\"/>"
	         "</data></cmd>", id1);
	tchat_xccos(carol, "%s", q);
	CHECK(resp_code(carol, "getinv") == 200 && !strstr(in_text(carol), r1) && strstr(in_text(carol), r2),
	      "lync-6.5 inviteId = the first id: only the newer one");
	snprintf(q, sizeof q, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"%lld\" domain=\"example.org\"/>"
	         "</data></cmd>", id2);
	tchat_xccos(carol, "%s", q);
	CHECK(resp_code(carol, "getinv") == 200 && !strstr(in_text(carol), "<inv "), "lync-6.6 inviteId = the newest: none");
	tchat_xccos(carol, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"x1\"/></data></cmd>");
	CHECK(resp_code(carol, "getinv") == 400, "lync-6.7 a malformed inviteId: 400");
	CHECK(tchat_join(carol, r1) == 200, "lync-6.8 carol joins Invite One (answering it)");
	snprintf(q, sizeof q, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"0\"/></data></cmd>");
	tchat_xccos(carol, "%s", q);
	CHECK(!strstr(in_text(carol), r1) && strstr(in_text(carol), r2), "lync-6.9 an answered invitation is gone");
}

/* ---- 7: post attributes ---- */

static void test_post_attrs(struct tuser *alice, struct tuser *bob, const char *room)
{
	static char many[4096], inner[8192];
	const char *g;
	char v[512];
	size_t n = 0;

	CHECK(tchat_join(bob, room) == 200, "lync-7.0 bob is in the room");
	tchat_clear(bob);
	tchat_xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" author=\"sip:mallory@example.org\" "
	            "ts=\"2001-01-01T00:00:00Z\" msgId=\"999\" alert=\"true\" storytitle=\"Release &amp; &quot;notes&quot;\" "
	            "chatId=\"c-42\" xmlns:x=\"urn:x\" x:evil=\"1\"><chat>attrs post</chat></grpchat>", room);
	CHECK(tchat_wait_for(bob, "attrs post", 3000), "lync-7.1 bob receives the post");
	g = strstr(in_text(bob), "<grpchat ");
	CHECK(attr_of(g, "alert", v, sizeof v) == 0 && strcmp(v, "true") == 0 && attr_of(g, "chatId", v, sizeof v) == 0 &&
	      strcmp(v, "c-42") == 0 && attr_of(g, "storytitle", v, sizeof v) == 0 &&
	      strcmp(v, "Release &amp; &quot;notes&quot;") == 0, "lync-7.2 alert, storytitle and chatId kept in the fan-out");
	CHECK(attr_of(g, "author", v, sizeof v) == 0 && strcmp(v, "sip:alice@example.org") == 0 &&
	      attr_of(g, "msgId", v, sizeof v) == 0 && strcmp(v, "999") != 0 && attr_of(g, "ts", v, sizeof v) == 0 &&
	      strncmp(v, "2001", 4) != 0 && !strstr(g, "evil"), "lync-7.3 author, ts and msgId are the server's; prefixed dropped");
	CHECK(body_well_formed(bob, "attrs post"), "lync-7.4 the fan-out is namespace-well-formed");
	CHECK(history(bob, room, "<last cnt=\"1\"/>") == 200 && (g = strstr(in_text(bob), "<msg ")) != NULL &&
	      attr_of(g, "alert", v, sizeof v) == 0 && strcmp(v, "true") == 0 && attr_of(g, "storytitle", v, sizeof v) == 0 &&
	      strcmp(v, "Release &amp; &quot;notes&quot;") == 0 && body_well_formed(bob, "attrs post"),
	      "lync-7.5 history replays them");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND content LIKE "
	                      "'attrs post' || char(10) || '<attributes alert=' || char(34) || 'true' || char(34) || "
	                      "'%c-42%'") == 1,
	      "lync-7.6 the CHAT compliance event holds them");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, " a%d=\"%d\"", i, i);
	snprintf(inner, sizeof inner, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"%s>"
	         "<chat>too many attrs</chat></grpchat>", room, many);
	CHECK(tchat_send(alice, NULL, inner) == 413, "lync-7.7 17 client attributes: 413");
	memset(v, 'v', 300);
	v[300] = '\0';
	CHECK(tchat_xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" long=\"%s\">"
	                  "<chat>too long attr</chat></grpchat>", room, v) == 413, "lync-7.8 a 300-byte value: 413");
	CHECK(tchat_sql_count("SELECT count(*) FROM messages WHERE text LIKE 'too %'") == 0, "lync-7.9 neither was stored");
	CHECK(tchat_xccos(alice, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\">"
	                  "<chat>plain post</chat></grpchat>", room) == 200 &&
	      tchat_sql_count("SELECT count(*) FROM messages WHERE text = 'plain post' AND attrs = ''") == 1,
	      "lync-7.10 a post without attributes keeps none");
}

/* The root category's GUID survives a restart. */
static void test_root_stable(struct tuser *alice, const char *root)
{
	char v[128];

	tchat_sign_out(alice);
	CHECK(tserver_stop(&srv) == 0 && tserver_restart(&srv) == 0, "lync-8.1 restart");
	CHECK(tchat_sign_in(alice) == 0, "lync-8.2 alice signs in again");
	tchat_xccos(alice, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/>"
	            "</data></cmd>");
	CHECK(attr_of(strstr(in_text(alice), "<sib "), "rootUri", v, sizeof v) == 0 && strlen(v) > 21 &&
	      strcmp(v + 21, root) == 0, "lync-8.3 the rootUri is the same after a restart");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                    lena = { .name = "lena" };
	char lobby[40], hist[40], root[40] = "none";

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "display_name = Lync Test Chat\n") == 0, "lync-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_lync");
	}
	add_users();
	room_add(lobby, "Lobby", "--privacy", "open", NULL, NULL);
	room_add(hist, "History", "--privacy", "open", NULL, NULL);
	CHECK(strlen(lobby) == 36 && strlen(hist) == 36, "lync-0.2 two open rooms");
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_sign_in(&carol) == 0,
	      "lync-0.3 alice, bob and carol sign in (the sipe way: the channel URI)");
	test_session_start(&lena, lobby);
	test_server_info(&alice, lobby, root);
	test_prefs(&alice, &bob);
	test_create_rights(&alice, &bob);
	CHECK(tchat_join(&alice, hist) == 200 && tchat_join(&bob, hist) == 200, "lync-5.x alice and bob join History");
	test_history(&alice, &bob, hist);
	test_invitations(&carol);
	test_post_attrs(&alice, &bob, lobby);
	test_root_stable(&alice, root);
	CHECK(tchat_cli("user", "del", "bob", NULL) != NULL &&
	      tchat_sql_count("SELECT count(*) FROM prefs WHERE uri = 'sip:bob@example.org'") == 0,
	      "lync-8.4 deleting an account deletes its preferences");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	tchat_sign_out(&lena);
	CHECK(tserver_stop(&srv) == 0, "lync-9.1 clean stop");
	tserver_cleanup(&srv);
	xmlCleanupParser();
	return check_done("e2e_lync");
}
