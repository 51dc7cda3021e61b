/*
 * e2e_registrar.c - sign-in, provisioning and dialogs against a real
 * ./pchat over real TLS, with pchat's own test client doing the client side
 * of NTLM (MS-SIPAE) and checking the signature on everything the server
 * sends.  usage: e2e_registrar PCHAT_BINARY
 */
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tserver srv;

static struct sip_str hdr(const struct tclient *t, const char *name)
{
	const struct sip_str *v = sip_msg_header(&t->msg, name, 0);

	return v ? *v : (struct sip_str){ "", 0 };
}

static int count_headers(const struct tclient *t, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < t->msg.nheaders; i++)
		n += sip_str_ieq(t->msg.headers[i].name, name);
	return n;
}

static int body_has(const struct tclient *t, const char *needle)
{
	return t->msg.body.len && memmem(t->msg.body.p, t->msg.body.len, needle, strlen(needle)) != NULL;
}

static int server_answers(void)
{
	struct tclient t;
	int ok = tclient_connect(&t, srv.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

static void add_user(const char *user, const char *password)
{
	char out[512], pw[128];

	snprintf(pw, sizeof pw, "%s\n", password);
	CHECK(tserver_cli(&srv, pw, out, sizeof out, "user", "add", user, "--password-stdin", NULL) == 0, "setup: user add");
}

static void test_sign_in(void)
{
	struct tclient t;

	CHECK(tclient_connect(&t, srv.port) == 0, "reg-1.1 connect");
	CHECK(tclient_register(&t, "sip:alice@example.org", NULL, NULL, "wonderland") == 200,
	      "reg-1.2 NTLM sign-in as alice@example.org (empty domain) -> 200 with a valid signature");
	CHECK(sip_str_eq(hdr(&t, "Expires"), "7200"), "reg-1.3 Expires: 7200");
	CHECK(count_headers(&t, "Supported") == 1 && sip_str_eq(hdr(&t, "Supported"), "msrtc-event-categories"),
	      "reg-1.4 Supported: msrtc-event-categories on its own line");
	CHECK(sip_str_eq(hdr(&t, "Allow-Events"), "vnd-microsoft-provisioning-v2"), "reg-1.5 Allow-Events without spaces");
	CHECK(memmem(hdr(&t, "Contact").p, hdr(&t, "Contact").len,
	             "gruu=\"sip:alice@example.org;opaque=user:epid:b7878522-d7fe-5c33-b30d-265f6618ae78;gruu\"", 82) != NULL,
	      "reg-1.6 Contact carries the GRUU");
	CHECK(sip_msg_header(&t.msg, "ms-keep-alive", 0) != NULL, "reg-1.7 ms-keep-alive present");

	CHECK(tclient_subscribe_provisioning(&t) == 200, "reg-2.1 provisioning SUBSCRIBE -> 200");
	CHECK(t.last_sig == 1, "reg-2.2 provisioning answer is signed");
	CHECK(sip_str_eq(hdr(&t, "Event"), "vnd-microsoft-provisioning-v2"), "reg-2.3 Event in the 200");
	CHECK(sip_str_eq(hdr(&t, "ms-piggyback-cseq"), "1"), "reg-2.4 ms-piggyback-cseq");
	CHECK(body_has(&t, "<property name=\"EnablePersistentChat\">true</property>") &&
	      body_has(&t, "<property name=\"DefaultPersistentChatPoolUri\">sip:ocschat@example.org</property>"),
	      "reg-2.5 body enables persistent chat at the lookup URI");

	/* Re-REGISTER inside the association is answered 200 (not a new challenge). */
	{
		char head[1024];

		snprintf(head, sizeof head,
		         "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKre\r\n"
		         "From: <sip:alice@example.org>;tag=re1\r\nTo: <sip:alice@example.org>\r\nCSeq: 9 REGISTER\r\n"
		         "Call-ID: %s\r\nContact: <sip:127.0.0.1:5555;transport=tls>\r\n", t.reg_call_id);
		CHECK(tclient_send_msg(&t, head, "", 0) == 0 && tclient_recv(&t, 5000) == 1 && t.msg.status == 200,
		      "reg-3.1 signed re-REGISTER -> 200");
	}
	CHECK(t.bad_sigs == 0, "reg-3.2 every server message so far carried a valid signature");
	tclient_close(&t);

	CHECK(tclient_connect(&t, srv.port) == 0 &&
	      tclient_register(&t, "sip:alice@example.org", "alice", "EXAMPLE", "wonderland") == 200,
	      "reg-3.3 NTLM sign-in as EXAMPLE\\alice -> 200");
	tclient_close(&t);
}

static void test_refusals(void)
{
	struct tclient t;
	struct tdialog d;
	char out[256];

	CHECK(tclient_connect(&t, srv.port) == 0, "reg-4.1 connect");
	CHECK(tclient_register(&t, "sip:alice@example.org", NULL, NULL, "wrong") == 403, "reg-4.2 wrong password -> 403");
	t.sa = 0;
	CHECK(tclient_subscribe_provisioning(&t) == 403, "reg-4.3 no session after a wrong password");
	CHECK(tclient_invite(&t, &d, "sip:pchat@example.org") == 403, "reg-4.4 INVITE before sign-in -> 403");
	tclient_close(&t);

	CHECK(tclient_connect(&t, srv.port) == 0 &&
	      tclient_register(&t, "sip:mallory@example.org", NULL, NULL, "x") == 403, "reg-4.5 unknown user -> 403");
	tclient_close(&t);

	/* From says carol, NTLM says alice: refused. */
	CHECK(tclient_connect(&t, srv.port) == 0 &&
	      tclient_register(&t, "sip:carol@example.org", "alice@example.org", "", "wonderland") == 403,
	      "reg-4.6 From not matching the NTLM user -> 403");
	tclient_close(&t);

	/* A user deleted while the server runs can no longer sign in. */
	add_user("dave", "pw-dave");
	CHECK(tclient_connect(&t, srv.port) == 0 && tclient_register(&t, "sip:dave@example.org", NULL, NULL, "pw-dave") == 200,
	      "reg-4.7 dave signs in");
	tclient_close(&t);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "user", "del", "dave", NULL) == 0, "reg-4.8 user del dave (server running)");
	CHECK(tclient_connect(&t, srv.port) == 0 && tclient_register(&t, "sip:dave@example.org", NULL, NULL, "pw-dave") == 403,
	      "reg-4.9 deleted user -> 403");
	tclient_close(&t);

	/* Replay: a valid AUTHENTICATE from one connection, on another. */
	{
		struct tclient a, b;
		char gss[4096], line[4600];

		CHECK(tclient_connect(&a, srv.port) == 0 && tclient_register(&a, "sip:alice@example.org", NULL, NULL, "wonderland") == 200,
		      "reg-5.1 sign-in to capture an AUTHENTICATE");
		snprintf(gss, sizeof gss, "%s", a.last_gss);
		/* Replayed on the same connection after success: no challenge is pending. */
		snprintf(line, sizeof line, "Authorization: NTLM qop=\"auth\", opaque=\"%s\", realm=\"%s\", targetname=\"%s\", "
		                            "gssapi-data=\"%s\", version=4\r\n", a.opaque, a.realm, a.targetname, gss);
		a.sa = 0;
		{
			char head[6000];

			snprintf(head, sizeof head, "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"
			                            "From: <sip:alice@example.org>;tag=x\r\nTo: <sip:alice@example.org>\r\n"
			                            "CSeq: 20 REGISTER\r\nCall-ID: replay-a\r\nContact: <sip:h>\r\n%s", line);
			CHECK(tclient_send_msg(&a, head, "", 0) == 0 && tclient_recv(&a, 5000) == 1 && a.msg.status == 403,
			      "reg-5.2 AUTHENTICATE replayed on the same connection -> 403");
		}
		tclient_close(&a);
		CHECK(tclient_connect(&b, srv.port) == 0, "reg-5.3 second connection");
		snprintf(b.aor, sizeof b.aor, "sip:alice@example.org");
		snprintf(b.reg_call_id, sizeof b.reg_call_id, "replay-b");
		{
			char head[6000];
			struct sip_str www, op;

			snprintf(head, sizeof head, "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"
			                            "From: <sip:alice@example.org>;tag=y\r\nTo: <sip:alice@example.org>\r\n"
			                            "CSeq: 1 REGISTER\r\nCall-ID: replay-b\r\nContact: <sip:h>\r\n"
			                            "Authorization: NTLM qop=\"auth\", realm=\"SIP Communications Service\", "
			                            "targetname=\"sip.example.org\", gssapi-data=\"\", version=4\r\n");
			CHECK(tclient_send_msg(&b, head, "", 0) == 0 && tclient_recv(&b, 5000) == 1 && b.msg.status == 401,
			      "reg-5.4 fresh challenge on the second connection");
			www = hdr(&b, "WWW-Authenticate");
			op = sip_auth_param(www, "opaque");
			snprintf(head, sizeof head, "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"
			                            "From: <sip:alice@example.org>;tag=z\r\nTo: <sip:alice@example.org>\r\n"
			                            "CSeq: 2 REGISTER\r\nCall-ID: replay-b\r\nContact: <sip:h>\r\n"
			                            "Authorization: NTLM qop=\"auth\", opaque=\"%.*s\", realm=\"SIP Communications Service\", "
			                            "targetname=\"sip.example.org\", gssapi-data=\"%s\", version=4\r\n",
			         (int)op.len, op.p, gss);
			CHECK(tclient_send_msg(&b, head, "", 0) == 0 && tclient_recv(&b, 5000) == 1 && b.msg.status == 403,
			      "reg-5.5 replayed AUTHENTICATE against a new challenge -> 403");
		}
		tclient_close(&b);
	}

	/* Garbage NTLM blobs. */
	{
		static const char *const blobs[] = { "!!!!", "AAAA", "TlRMTVNTUAADAAAA",
		                                     "TlRMTVNTUAADAAAAGAAYAP////8YABgAZAAAAA4ADgBIAAAACgAKAFYAAAA=" };

		for (size_t i = 0; i < sizeof blobs / sizeof blobs[0]; i++) {
			char head[2048], desc[100];
			struct sip_str op;

			CHECK(tclient_connect(&t, srv.port) == 0, "reg-6 connect");
			snprintf(head, sizeof head, "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"
			                            "From: <sip:alice@example.org>;tag=g\r\nTo: <sip:alice@example.org>\r\n"
			                            "CSeq: 1 REGISTER\r\nCall-ID: garbage\r\nContact: <sip:h>\r\n"
			                            "Authorization: NTLM qop=\"auth\", gssapi-data=\"\", version=4\r\n");
			tclient_send_msg(&t, head, "", 0);
			tclient_recv(&t, 5000);
			op = sip_auth_param(hdr(&t, "WWW-Authenticate"), "opaque");
			snprintf(head, sizeof head, "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"
			                            "From: <sip:alice@example.org>;tag=g\r\nTo: <sip:alice@example.org>\r\n"
			                            "CSeq: 2 REGISTER\r\nCall-ID: garbage\r\nContact: <sip:h>\r\n"
			                            "Authorization: NTLM qop=\"auth\", opaque=\"%.*s\", gssapi-data=\"%s\", version=4\r\n",
			         (int)op.len, op.p, blobs[i]);
			snprintf(desc, sizeof desc, "reg-6.%zu garbage AUTHENTICATE #%zu -> 403", i + 1, i + 1);
			CHECK(tclient_send_msg(&t, head, "", 0) == 0 && tclient_recv(&t, 5000) == 1 && t.msg.status == 403, desc);
			tclient_close(&t);
		}
		CHECK(server_answers(), "reg-6.9 server answers after garbage NTLM");
	}
}

static void test_dialogs(void)
{
	struct tclient t;
	struct tdialog look, chan;
	struct buf info;

	buf_init(&info, 1 << 20);
	CHECK(tclient_connect(&t, srv.port) == 0 &&
	      tclient_register(&t, "sip:alice@example.org", NULL, NULL, "wonderland") == 200, "dlg-1.1 sign in");
	CHECK(tclient_invite(&t, &look, "sip:ocschat@example.org") == 200, "dlg-1.2 INVITE lookup URI -> 200");
	CHECK(look.remote_tag[0] != '\0', "dlg-1.3 200 has a To tag");
	CHECK(sip_str_eq(hdr(&t, "Contact"), "<sip:ocschat@example.org>"), "dlg-1.4 Contact is the invited URI");
	CHECK(memmem(hdr(&t, "Session-Expires").p, hdr(&t, "Session-Expires").len, "1800", 4) != NULL, "dlg-1.5 Session-Expires");
	CHECK(tclient_in_dialog(&t, &look, "INFO",
	                        "<xccos ver=\"1\" envid=\"745605823\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:requri\" seqid=\"1\"><data/></cmd></xccos>",
	                        &info) == 200, "dlg-2.1 INFO cmd:requri -> 200");
	if (info.len == 0)
		tclient_wait_info(&t, &look, &info, 5000);
	CHECK(info.len > 0 && memmem(buf_head(&info), info.len, "<rpl id=\"rpl:requri\"", 20) &&
	      memmem(buf_head(&info), info.len, "<uib uri=\"sip:pchat@example.org\"/>", 34) &&
	      memmem(buf_head(&info), info.len, "envid=\"745605823\"", 17) &&
	      memmem(buf_head(&info), info.len, "<resp code=\"200\">", 17),
	      "dlg-2.2 rpl:requri names the channel URI and references the command");
	CHECK(sip_str_eq(sip_addr_uri(hdr(&t, "From")), "sip:ocschat@example.org"), "dlg-2.3 server INFO From = the invited URI");
	CHECK(t.last_sig == 1, "dlg-2.4 server INFO signed");
	CHECK(tclient_in_dialog(&t, &look, "BYE", NULL, NULL) == 200, "dlg-2.5 BYE lookup -> 200");
	CHECK(tclient_in_dialog(&t, &look, "INFO", "<xccos/>", NULL) == 481, "dlg-2.6 INFO after BYE -> 481");

	CHECK(tclient_invite(&t, &chan, "sip:pchat@example.org") == 200, "dlg-3.1 INVITE channel URI -> 200");
	CHECK(tclient_in_dialog(&t, &chan, "UPDATE", NULL, NULL) == 200, "dlg-3.2 UPDATE refresh -> 200");
	buf_consume(&info, info.len);
	CHECK(tclient_in_dialog(&t, &chan, "INFO",
	                        "<xccos ver=\"1\" envid=\"9\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:frobnicate\" seqid=\"4\"><data/></cmd></xccos>",
	                        &info) == 200, "dlg-3.3 unknown command INFO -> 200");
	if (info.len == 0)
		tclient_wait_info(&t, &chan, &info, 5000);
	CHECK(memmem(buf_head(&info), info.len, "rpl:frobnicate", 14) && memmem(buf_head(&info), info.len, "<resp code=\"501\"", 16),
	      "dlg-3.4 unknown command answered rpl:frobnicate with 501");
	buf_consume(&info, info.len);
	CHECK(tclient_in_dialog(&t, &chan, "INFO", "<xccos><cmd id=\"cmd:requri\"", &info) == 200, "dlg-3.5 malformed XML INFO -> 200");
	if (info.len == 0)
		tclient_wait_info(&t, &chan, &info, 5000);
	CHECK(memmem(buf_head(&info), info.len, "<resp code=\"400\"", 16) != NULL, "dlg-3.6 malformed XML answered 400 in a rpl");
	buf_consume(&info, info.len);
	CHECK(tclient_in_dialog(&t, &chan, "INFO",
	                        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
	                        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><xccos envid=\"1\"><cmd id=\"cmd:&c;\" seqid=\"1\"/></xccos>",
	                        &info) == 200, "dlg-3.7 entity-expansion XML INFO -> 200");
	if (info.len == 0)
		tclient_wait_info(&t, &chan, &info, 5000);
	CHECK(memmem(buf_head(&info), info.len, "<resp code=\"400\"", 16) != NULL &&
	      memmem(buf_head(&info), info.len, "aaaa", 4) == NULL, "dlg-3.8 DTD refused, nothing expanded");
	CHECK(tclient_in_dialog(&t, &chan, "INFO", "<xccos/>", NULL) == 200, "dlg-3.9 dialog still usable");
	/* A request with a broken signature is refused. */
	t.keys.client_mac.inner.state[0] ^= 1;
	CHECK(tclient_in_dialog(&t, &chan, "INFO", "<xccos/>", NULL) == 403, "dlg-4.1 INFO with a bad signature -> 403");
	t.keys.client_mac.inner.state[0] ^= 1;
	{
		struct tdialog x;

		CHECK(tclient_invite(&t, &x, "sip:nobody@example.org") == 404, "dlg-4.2 INVITE to an unknown URI -> 404");
	}
	{
		char head[512];

		snprintf(head, sizeof head, "SERVICE sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:alice@example.org>;tag=s\r\n"
		                            "To: <sip:example.org>\r\nCSeq: 1 SERVICE\r\nCall-ID: svc\r\n");
		CHECK(tclient_send_msg(&t, head, "", 0) == 0 && tclient_recv(&t, 5000) == 1 && t.msg.status == 501,
		      "dlg-4.3 SERVICE gets a final 501");
		snprintf(head, sizeof head, "SUBSCRIBE sip:alice@example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:alice@example.org>;tag=s\r\n"
		                            "To: <sip:alice@example.org>\r\nCSeq: 1 SUBSCRIBE\r\nCall-ID: sub2\r\nEvent: presence\r\n");
		CHECK(tclient_send_msg(&t, head, "", 0) == 0 && tclient_recv(&t, 5000) == 1 && t.msg.status == 489,
		      "dlg-4.4 SUBSCRIBE to another event -> 489");
	}
	CHECK(t.bad_sigs == 0, "dlg-4.5 every server message carried a valid signature");
	CHECK(tclient_in_dialog(&t, &chan, "BYE", NULL, NULL) == 200, "dlg-4.6 BYE channel -> 200");
	tclient_close(&t);
	buf_free(&info);
	CHECK(server_answers(), "dlg-4.7 server answers");
}

static void test_auth_none(const char *bin)
{
	struct tserver s2;
	struct tclient t;
	struct tdialog d;

	CHECK(tserver_start(&s2, bin, "[auth]\nmode = none\n") == 0, "none-1.1 server with [auth] mode = none");
	CHECK(tclient_connect(&t, s2.port) == 0 && tclient_register_plain(&t, "sip:bob@example.org") == 200,
	      "none-1.2 REGISTER answered 200 without a challenge");
	CHECK(sip_msg_header(&t.msg, "Authentication-Info", 0) == NULL, "none-1.3 nothing signed");
	CHECK(tclient_subscribe_provisioning(&t) == 200 && tclient_invite(&t, &d, "sip:ocschat@example.org") == 200,
	      "none-1.4 provisioning and INVITE work unsigned");
	tclient_close(&t);
	CHECK(tserver_stop(&s2) == 0, "none-1.5 clean stop");
	tserver_cleanup(&s2);
}

/* The provisioning body carries config URIs as XML text: escaped by the one
 * XML text policy (xml_out.c), never formatted in as they are. */
static void test_provisioning_escaped(const char *bin)
{
	struct tserver s3;
	struct tclient t;

	CHECK(tserver_start(&s3, bin, "lookup_uri = sip:a<b>&c@example.org\n[auth]\nmode = none\n") == 0,
	      "prov-1.1 server with markup characters in server.lookup_uri");
	CHECK(tclient_connect(&t, s3.port) == 0 && tclient_register_plain(&t, "sip:bob@example.org") == 200 &&
	      tclient_subscribe_provisioning(&t) == 200, "prov-1.2 provisioning SUBSCRIBE -> 200");
	CHECK(body_has(&t, "<property name=\"DefaultPersistentChatPoolUri\">sip:a&lt;b&gt;&amp;c@example.org</property>") &&
	      body_has(&t, "<property name=\"PersistentChatPoolUris\">sip:a&lt;b&gt;&amp;c@example.org</property>") &&
	      !body_has(&t, "a<b>&c"), "prov-1.3 the pool URIs are XML-escaped in the body");
	tclient_close(&t);
	CHECK(tserver_stop(&s3) == 0, "prov-1.4 clean stop");
	tserver_cleanup(&s3);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "reg-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_registrar");
	}
	add_user("alice", "wonderland");
	test_sign_in();
	test_refusals();
	test_dialogs();
	test_provisioning_escaped(bin);
	CHECK(tserver_stop(&srv) == 0, "reg-9.1 clean stop (no leaks under ASan)");
	tserver_cleanup(&srv);
	test_auth_none(bin);
	return check_done("e2e_registrar");
}
