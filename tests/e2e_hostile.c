/*
 * e2e_hostile.c - hostile input end to end over real TLS: before sign-in
 * (raw bytes), during the NTLM handshake, and inside a signed-in chat dialog
 * (XML bombs, forged identities, rooms the user may not see, bursts).  After
 * every case the server must still answer a fresh client, and at the end its
 * memory must be bounded and every acknowledged post stored.
 */
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tserver srv;
static int cases;

static int server_answers(void)
{
	struct tclient t;
	int ok = tclient_connect(&t, srv.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 10000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

/* One raw pre-authentication case: bytes in, an answer with one of the
 * statuses in want (0-terminated; empty = any or none), server alive after. */
struct raw_case {
	const char *name;
	const char *bytes;
	size_t len;             /* 0: strlen */
	int want[3];
};

static void run_raw(const struct raw_case *c)
{
	struct tclient t;
	char what[160];
	int got = -1, ok = 1;

	cases++;
	if (tclient_connect(&t, srv.port) == 0) {
		tclient_send(&t, c->bytes, c->len ? c->len : strlen(c->bytes));
		if (tclient_recv(&t, 5000) == 1)
			got = t.msg.status;
		tclient_close(&t);
	}
	if (c->want[0]) {
		ok = 0;
		for (int i = 0; i < 3 && c->want[i]; i++)
			ok |= got == c->want[i];
	}
	snprintf(what, sizeof what, "hostile %s: answered %d%s, server alive", c->name, got, ok ? "" : " (unexpected)");
	CHECK(ok && server_answers(), what);
}

static char big_header[20000], many_headers[8000], huge_gss[12000];

static void test_pre_auth(void)
{
	static const char nul_body[] = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x>\r\n"
	                               "Call-ID: n\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\n\0\0\0\0";
	struct raw_case raw[] = {
		{ "garbage start line", "\x01\x02\x03 nonsense\r\n\r\n", 0, { 400 } },
		{ "HTTP on the SIP port", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0, { 400, 505 } },
		{ "header block over the cap", big_header, 0, { 513 } },
		{ "too many headers", many_headers, 0, { 513 } },
		{ "CSeq overflow", "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x>\r\n"
		                   "Call-ID: c\r\nCSeq: 99999999999999999999999 OPTIONS\r\nContent-Length: 0\r\n\r\n", 0, { 400 } },
		{ "negative Content-Length", "OPTIONS sip:x SIP/2.0\r\nCall-ID: c\r\nContent-Length: -1\r\n\r\n", 0, { 400 } },
		{ "Content-Length over the body cap", "OPTIONS sip:x SIP/2.0\r\nCall-ID: c\r\nContent-Length: 900000\r\n\r\n", 0, { 513 } },
		{ "control character in the Request-URI", "OPTIONS sip:x\x07y SIP/2.0\r\nCall-ID: c\r\nContent-Length: 0\r\n\r\n", 0, { 400 } },
		{ "folded header line", "OPTIONS sip:x SIP/2.0\r\nCall-ID: c\r\n  folded\r\nContent-Length: 0\r\n\r\n", 0, { 400, 200 } },
		{ "invalid UTF-8 in a header", "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:\xff\xfe@x>;tag=1\r\n"
		                               "To: <sip:x>\r\nCall-ID: \xc3\x28\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", 0, { 200, 400 } },
		{ "method name of 200 bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		                              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		                              " sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x>\r\nCall-ID: c\r\n"
		                              "CSeq: 1 AAAA\r\nContent-Length: 0\r\n\r\n", 0, { 501, 400 } },
		{ "INVITE before sign-in", "INVITE sip:pchat@example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
		                           "To: <sip:pchat@example.org>\r\nCall-ID: i\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", 0, { 401, 403 } },
		{ "INFO before sign-in", "INFO sip:pchat@example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
		                         "To: <sip:pchat@example.org>;tag=2\r\nCall-ID: i\r\nCSeq: 1 INFO\r\nContent-Type: text/plain\r\n"
		                         "Content-Length: 7\r\n\r\n<xccos/>", 0, { 401, 403 } },
		{ "SUBSCRIBE before sign-in", "SUBSCRIBE sip:a@example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
		                              "To: <sip:a@example.org>\r\nCall-ID: s\r\nCSeq: 1 SUBSCRIBE\r\nEvent: vnd-microsoft-provisioning-v2\r\n"
		                              "Content-Length: 0\r\n\r\n", 0, { 401, 403 } },
		{ "REGISTER with non-base64 gssapi-data",
		  "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\n"
		  "Call-ID: r\r\nCSeq: 3 REGISTER\r\nAuthorization: NTLM qop=\"auth\", opaque=\"00000000\", realm=\"SIP Communications Service\", "
		  "targetname=\"sip.example.org\", gssapi-data=\"!!!not base64!!!\", version=4\r\nContent-Length: 0\r\n\r\n", 0, { 401, 403 } },
		{ "REGISTER with random NTLM bytes",
		  "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\n"
		  "Call-ID: r\r\nCSeq: 3 REGISTER\r\nAuthorization: NTLM qop=\"auth\", opaque=\"00000000\", realm=\"SIP Communications Service\", "
		  "targetname=\"sip.example.org\", gssapi-data=\"TlRMTVNTUAADAAAAGAAYAP////8=\", version=4\r\nContent-Length: 0\r\n\r\n", 0, { 401, 403 } },
		{ "REGISTER with an 11 KB gssapi-data", huge_gss, 0, { 401, 403, 400 } },
		{ "REGISTER with an unterminated quoted parameter",
		  "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\n"
		  "Call-ID: r\r\nCSeq: 1 REGISTER\r\nAuthorization: NTLM gssapi-data=\"abc\r\nContent-Length: 0\r\n\r\n", 0, { 401, 403, 400 } },
		{ "NUL bytes in the body", nul_body, sizeof nul_body - 1, { 200 } },
		{ "only keep-alive CRLFs", "\r\n\r\n\r\n\r\n", 0, { 0 } },
	};
	size_t n = sizeof raw / sizeof raw[0];

	memset(big_header, 'a', sizeof big_header - 1);
	memcpy(big_header, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	{
		size_t off = (size_t)snprintf(many_headers, sizeof many_headers, "OPTIONS sip:x SIP/2.0\r\n");

		for (int i = 0; i < 300 && off + 32 < sizeof many_headers; i++)
			off += (size_t)snprintf(many_headers + off, sizeof many_headers - off, "X-%d: y\r\n", i);
		snprintf(many_headers + off, sizeof many_headers - off, "Content-Length: 0\r\n\r\n");
	}
	{
		size_t off = (size_t)snprintf(huge_gss, sizeof huge_gss,
		                              "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
		                              "To: <sip:a@example.org>\r\nCall-ID: r\r\nCSeq: 3 REGISTER\r\nAuthorization: NTLM opaque=\"0\", gssapi-data=\"");

		while (off < sizeof huge_gss - 200)
			huge_gss[off++] = 'A';
		snprintf(huge_gss + off, sizeof huge_gss - off, "\", version=4\r\nContent-Length: 0\r\n\r\n");
	}
	for (size_t i = 0; i < n; i++)
		run_raw(&raw[i]);

	/* A TLS record cut in half, then silence: the handshake timeout ends it. */
	{
		int fd = tcp_connect(srv.port);

		cases++;
		if (fd >= 0) {
			const char hello_start[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

			if (write(fd, hello_start, sizeof hello_start - 1) < 0)
				perror("write");
			close(fd);
		}
		CHECK(server_answers(), "hostile half a ClientHello then close: server alive");
	}
	/* Sign-in refusals: unknown user, wrong password, forged From. */
	{
		struct tclient t;

		cases += 3;
		CHECK(tclient_connect(&t, srv.port) == 0 &&
		      tclient_register(&t, "sip:nobody@example.org", NULL, NULL, "pw") == 403, "hostile unknown user: 403");
		tclient_close(&t);
		CHECK(tclient_connect(&t, srv.port) == 0 &&
		      tclient_register(&t, "sip:mallory@example.org", NULL, NULL, "wrong") == 403, "hostile wrong password: 403");
		tclient_close(&t);
		/* NTLM as mallory, From claiming alice. */
		CHECK(tclient_connect(&t, srv.port) == 0 &&
		      tclient_register(&t, "sip:alice@example.org", "mallory@example.org", "", "pw") != 200,
		      "hostile NTLM identity differs from From: refused");
		tclient_close(&t);
		CHECK(server_answers(), "hostile sign-in refusals: server alive");
	}
}

/* ---- inside a signed-in dialog ---- */

struct session {
	struct tclient t;
	struct tdialog d;
	struct buf in;
};

static int open_session(struct session *s, const char *aor)
{
	buf_init(&s->in, 8 << 20);
	return tclient_connect(&s->t, srv.port) == 0 && tclient_register(&s->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&s->t, &s->d, "sip:pchat@example.org") == 200 ? 0 : -1;
}

static void close_session(struct session *s)
{
	tclient_close(&s->t);
	buf_free(&s->in);
}

static int has(const struct buf *b, const char *needle)
{
	return b->len && memmem(buf_head(b), b->len, needle, strlen(needle)) != NULL;
}

/* Send body as an INFO; returns the SIP status; server INFOs (replies) that
 * arrive within a moment are collected in s->in. */
static int info(struct session *s, const char *body)
{
	int status;

	buf_consume(&s->in, s->in.len);
	status = tclient_in_dialog(&s->t, &s->d, "INFO", body, &s->in);
	if (status == 200 && s->in.len == 0)
		tclient_wait_info(&s->t, &s->d, &s->in, 2000);
	return status;
}

static char room_open[40], room_secret[40];

static void room_guid(char *out, const char *name, const char *a, const char *b, const char *c, const char *d)
{
	char text[512], *slash;

	if (tserver_cli(&srv, NULL, text, sizeof text, "room", "add", name, a, b, c, d, NULL) != 0 ||
	    (slash = strrchr(text, '/')) == NULL) {
		snprintf(out, 40, "none");
		return;
	}
	snprintf(out, 40, "%.36s", slash + 1);
}

struct xml_case {
	const char *name;
	const char *body;       /* printf format; %s = the open room GUID (used at most twice) */
	int sip_status;         /* expected SIP status of the INFO */
	const char *must;       /* must appear in the replies (NULL: no check) */
	const char *must_not;   /* must not appear */
};

static void run_xml(struct session *s, const struct xml_case *c)
{
	char body[200000], what[200];

	cases++;
	snprintf(body, sizeof body, c->body, room_open, room_open);
	{
		int status = info(s, body);
		int ok = status == c->sip_status && (c->must == NULL || has(&s->in, c->must)) &&
		         (c->must_not == NULL || !has(&s->in, c->must_not));

		snprintf(what, sizeof what, "hostile %s: SIP %d%s", c->name, status, ok ? "" : " (unexpected reply)");
		CHECK(ok && server_answers(), what);
	}
}

static char deep[60000], many_chanids[120000];

static void test_in_dialog(void)
{
	struct session a, b;
	struct xml_case xml[] = {
		{ "billion laughs",
		  "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		  "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"&d;\"/></data></cmd></xccos>",
		  200, "<resp code=\"400\"", "aaaaaaaaaa" },
		{ "external entity",
		  "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xccos ver=\"1\" envid=\"1\">"
		  "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"&e;\"/></data></cmd></xccos>",
		  200, "<resp code=\"400\"", "root:" },
		{ "parameter entity in a DTD",
		  "<!DOCTYPE x [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x\"> %p;]><xccos/>", 200, "<resp code=\"400\"", NULL },
		{ "not well-formed", "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:join\"", 200, "<resp code=\"400\"", NULL },
		{ "not XML at all", "hello there", 200, "<resp code=\"400\"", NULL },
		{ "deeply nested elements", deep, 200, "<rpl", NULL },
		{ "envid with a quote", "<xccos ver=\"1\" envid=\"1&quot;2\"><cmd id=\"cmd:getserverinfo\" seqid=\"1\"/></xccos>",
		  200, "<resp code=\"400\"", "1\"2" },
		{ "seqid of 500 characters",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:getserverinfo\" seqid=\"11111111111111111111111111111111111111111111111111"
		  "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111\"/></xccos>",
		  200, "<resp code=\"400\"", NULL },
		{ "unknown command", "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:dropdatabase\" seqid=\"1\"><data/></cmd></xccos>",
		  200, "<resp code=\"501\"", NULL },
		{ "a notification sent by a client", "<xccos ver=\"1\" envid=\"1\"><ntc id=\"ntc:join\" seqid=\"1\"><data/></ntc></xccos>",
		  200, "<resp code=\"501\"", NULL },
		{ "join a secret room the user may not see",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"SECRET\"/></data></cmd></xccos>",
		  200, "<resp code=\"404\"", "Hidden Secret" },
		{ "history of a secret room",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/SECRET\"/>"
		  "<bcq><last cnt=\"25\"/></bcq></data></cmd></xccos>", 200, "<resp code=\"404\"", "<msg" },
		{ "join with a 3,000-character room id",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"LONGVALUE\"/></data></cmd></xccos>",
		  200, "<resp code=\"404\"", NULL },
		{ "room search with control characters",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"&#9;&#10;x\"/></data></cmd></xccos>",
		  200, "<resp code=\"200\"", NULL },
		{ "post to another domain's room",
		  "<xccos ver=\"1\" envid=\"1\"><grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://evil.org/%s\"><chat>x</chat></grpchat></xccos>",
		  404, NULL, NULL },
		{ "post without joining",
		  "<xccos ver=\"1\" envid=\"1\"><grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>x</chat></grpchat></xccos>",
		  403, NULL, NULL },
		{ "invalid UTF-8 in a post",
		  "<xccos ver=\"1\" envid=\"1\"><grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>\xff\xfe\xc3</chat></grpchat></xccos>",
		  200, "<resp code=\"400\"", NULL },
		{ "a forbidden character reference in a post",
		  "<xccos ver=\"1\" envid=\"1\"><grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>&#1;</chat></grpchat></xccos>",
		  200, "<resp code=\"400\"", NULL },
		{ "history count of -5",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		  "<bcq><last cnt=\"-5\"/></bcq></data></cmd></xccos>", 200, "<resp code=\"200\"", "<msg" },
		{ "history count of 10^20",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		  "<bcq><last cnt=\"100000000000000000000\"/></bcq></data></cmd></xccos>", 200, "<resp code=\"200\"", NULL },
		{ "bjoin of 600 rooms", many_chanids, 200, "<rpl id=\"rpl:bjoin\"", NULL },
		{ "part of a room never joined",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd></xccos>",
		  200, "<rpl id=\"rpl:part\"", "<resp code=\"200\"" },
		{ "empty envelope", "<xccos/>", 200, "<resp code=\"400\"", NULL },
		{ "two commands in one envelope",
		  "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:getserverinfo\" seqid=\"1\"/><cmd id=\"cmd:getserverinfo\" seqid=\"2\"/></xccos>",
		  200, "<rpl id=\"rpl:getserverinfo\"", NULL },
	};
	char head[1024];

	/* Inputs built at run time. */
	{
		size_t off = (size_t)snprintf(deep, sizeof deep, "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data>");

		for (int i = 0; i < 5000 && off + 16 < sizeof deep; i++)
			off += (size_t)snprintf(deep + off, sizeof deep - off, "<a>");
		snprintf(deep + off, sizeof deep - off, "</data></cmd></xccos>");
	}
	{
		size_t off = (size_t)snprintf(many_chanids, sizeof many_chanids,
		                              "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:bjoin\" seqid=\"1\"><data>");

		/* 600 fit under the 64 KiB body cap of the test server. */
		for (int i = 0; i < 600 && off + 120 < sizeof many_chanids; i++)
			off += (size_t)snprintf(many_chanids + off, sizeof many_chanids - off,
			                        "<chanid key=\"%d\" domain=\"example.org\" value=\"00000000-0000-4000-8000-%012d\"/>", i, i);
		snprintf(many_chanids + off, sizeof many_chanids - off, "</data></cmd></xccos>");
	}
	for (size_t i = 0, used = 0; i < sizeof xml / sizeof xml[0] && used < 4; i++) {
		static char bodies[4][4096];
		char *rewritten = bodies[used];
		const char *p;

		/* SECRET and LONGVALUE stand for values known only now. */
		if ((p = strstr(xml[i].body, "SECRET")) != NULL) {
			snprintf(rewritten, sizeof bodies[0], "%.*s%s%s", (int)(p - xml[i].body), xml[i].body, room_secret, p + 6);
			xml[i].body = rewritten;
			used++;
		} else if ((p = strstr(xml[i].body, "LONGVALUE")) != NULL) {
			char *longv = malloc(5001);

			memset(longv, 'z', 5000);
			longv[5000] = '\0';
			snprintf(rewritten, sizeof bodies[0], "%.*s%.3000s%s", (int)(p - xml[i].body), xml[i].body, longv, p + 9);
			free(longv);
			xml[i].body = rewritten;
			used++;
		}
	}

	if (!CHECK(open_session(&a, "sip:alice@example.org") == 0 && open_session(&b, "sip:bob@example.org") == 0,
	           "hostile: two users sign in"))
		return;
	for (size_t i = 0; i < sizeof xml / sizeof xml[0]; i++)
		run_xml(&a, &xml[i]);

	/* Someone else's dialog, from alice's connection: no such dialog. */
	cases += 4;
	CHECK(tclient_in_dialog(&a.t, &b.d, "INFO", "<xccos/>", NULL) == 481, "hostile INFO on another user's dialog: 481");
	CHECK(tclient_in_dialog(&a.t, &b.d, "BYE", NULL, NULL) == 481, "hostile BYE of another user's dialog: 481");
	{
		struct tdialog fake = a.d;

		snprintf(fake.remote_tag, sizeof fake.remote_tag, "nottheirs");
		CHECK(tclient_in_dialog(&a.t, &fake, "UPDATE", NULL, NULL) == 481, "hostile UPDATE of an unknown dialog: 481");
	}
	{
		struct tdialog extra[17];
		int refused = 0;

		for (int i = 0; i < 17; i++)
			refused += tclient_invite(&a.t, &extra[i], "sip:ocschat@example.org") == 403;
		CHECK(refused >= 1, "hostile more dialogs than allowed on one connection: refused");
	}
	/* A forged From inside the dialog: the post is still alice's. */
	cases++;
	{
		char body[512];

		snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" "
		                            "domain=\"example.org\" value=\"%s\"/></data></cmd></xccos>", room_open);
		info(&a, body);
		snprintf(head, sizeof head,
		         "INFO %s SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:bob@example.org>;tag=%s\r\nTo: <%s>;tag=%s\r\n"
		         "CSeq: %u INFO\r\nCall-ID: %s\r\nContent-Type: text/plain\r\n",
		         a.d.uri, a.d.local_tag, a.d.uri, a.d.remote_tag, ++a.d.cseq, a.d.call_id);
		snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"2\"><grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" "
		                            "author=\"sip:bob@example.org\"><chat>forged</chat></grpchat></xccos>", room_open);
		buf_consume(&a.in, a.in.len);
		tclient_send_msg(&a.t, head, body, strlen(body));
		tclient_wait_info(&a.t, &a.d, &a.in, 3000);
		CHECK(!has(&a.in, "author=\"sip:bob@example.org\""), "hostile forged From/author: the post is not bob's");
	}
	/* Wrong Content-Type for INFO, and an empty body. */
	cases += 2;
	snprintf(head, sizeof head,
	         "INFO %s SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:alice@example.org>;tag=%s\r\nTo: <%s>;tag=%s\r\n"
	         "CSeq: %u INFO\r\nCall-ID: %s\r\nContent-Type: application/octet-stream\r\n",
	         a.d.uri, a.d.local_tag, a.d.uri, a.d.remote_tag, ++a.d.cseq, a.d.call_id);
	CHECK(tclient_send_msg(&a.t, head, "\x01\x02", 2) == 0 && tclient_recv(&a.t, 5000) == 1 && a.t.msg.status == 415,
	      "hostile INFO with a binary Content-Type: 415");
	CHECK(tclient_in_dialog(&a.t, &a.d, "INFO", "", NULL) == 200, "hostile INFO with an empty body: 200");

	/* 10,000 posts in a burst: each gets a final answer, each 200 is stored. */
	cases++;
	{
		char body[512], line[512];
		int ok200 = 0, answered = 0, sent = 0;
		long stored;
		FILE *p;

		for (int batch = 0; batch < 20; batch++) {
			int want = 0;

			for (int i = 0; i < 500; i++, sent++) {
				snprintf(head, sizeof head,
				         "INFO %s SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:alice@example.org>;tag=%s\r\nTo: <%s>;tag=%s\r\n"
				         "CSeq: %u INFO\r\nCall-ID: %s\r\nContent-Type: text/plain\r\n",
				         a.d.uri, a.d.local_tag, a.d.uri, a.d.remote_tag, ++a.d.cseq, a.d.call_id);
				snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%d\"><grpchat id=\"grpchat\" seqid=\"1\" "
				                            "chanUri=\"ma-chan://example.org/%s\"><chat>burst %d</chat></grpchat></xccos>",
				         sent, room_open, sent);
				if (tclient_send_msg(&a.t, head, body, strlen(body)) == 0)
					want++;
			}
			while (want > 0 && tclient_recv(&a.t, 10000) == 1) {
				if (a.t.msg.kind != SIP_RESPONSE)
					continue;       /* the echoes of the posts */
				answered++;
				want--;
				ok200 += a.t.msg.status == 200;
			}
		}
		/* .timeout: the server may still be checkpointing the burst's WAL. */
		snprintf(line, sizeof line, "sqlite3 -cmd '.timeout 10000' '%s/pchat.db' "
		                            "\"SELECT count(*) FROM messages WHERE text LIKE 'burst %%'\" 2>&1", srv.dir);
		p = popen(line, "r");
		stored = -1;
		if (p) {
			if (fgets(line, sizeof line, p) == NULL || sscanf(line, "%ld", &stored) != 1)
				printf("# burst: the count query said: %s\n", line);
			pclose(p);
		}
		printf("# burst: %d sent, %d answered, %d answered 200, %ld stored\n", sent, answered, ok200, stored);
		CHECK(answered == sent && ok200 > 0 && stored == ok200, "hostile 10,000 posts in a burst: every 200 is stored");
	}
	CHECK(a.t.bad_sigs == 0, "hostile: every server message stayed signed");
	close_session(&a);
	close_session(&b);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	const char *users[] = { "alice", "bob", "mallory" };
	char out[512];
	long rss_before, rss_after;

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(tserver_start(&srv, bin, "[limits]\nmax_connections_per_ip = 100000\n") == 0, "hostile: server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_hostile");
	}
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	room_guid(room_open, "Hostile Open", "--privacy", "open", NULL, NULL);
	room_guid(room_secret, "Hidden Secret", "--privacy", "secret", "--member", "bob");
	{
		char longname[300];

		memset(longname, 'N', sizeof longname - 1);
		longname[sizeof longname - 1] = '\0';
		cases++;
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "add", longname, NULL) == 1, "hostile 299-byte room name refused by the CLI");
	}
	rss_before = tserver_rss_kb(&srv);
	test_pre_auth();
	test_in_dialog();
	rss_after = tserver_rss_kb(&srv);
	printf("# %d hostile cases; server RSS %ld KiB before, %ld KiB after\n", cases, rss_before, rss_after);
	{
		const char *slack = getenv("PCHAT_TEST_RSS_SLACK_MB");
		long limit_kb = (48 + (slack ? atol(slack) : 0)) * 1024;

		CHECK(cases >= 50, "hostile: at least 50 cases ran");
		CHECK(rss_before > 0 && rss_after - rss_before < limit_kb, "hostile: memory stays bounded");
	}
	CHECK(tserver_stop(&srv) == 0, "hostile: clean stop (no leaks under ASan)");
	tserver_cleanup(&srv);
	return check_done("e2e_hostile");
}
