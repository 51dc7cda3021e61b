/*
 * e2e_sec_conn.c - connections that never sign in (issue 12, item 3), over
 * real TLS against a real server:
 *
 *   conn-1  an anonymous SIP connection is closed at signin_timeout after its
 *           handshake whatever it sends meanwhile (nothing, CRLF keep-alives,
 *           OPTIONS, NTLM challenge after challenge); users who sign in, at
 *           once or late but inside the deadline, are not cut;
 *   conn-2  the files listener: a request head trickled a byte at a time is
 *           cut at the same deadline; a download by a token holder outlives it;
 *   conn-3  20 anonymous connections from 4 addresses fill max_connections =
 *           20: a real user still connects and signs in, closing only the
 *           oldest anonymous one; more anonymous ones never close the user's;
 *   conn-4  max_anonymous_per_ip: one more from a full address closes that
 *           address's oldest anonymous connection; other addresses untouched;
 *   conn-5  max_anonymous_connections: a full pool closes the oldest anonymous
 *           connection of any address; users still sign in and stay;
 *   conn-6  max_connections_per_ip full of signed-in connections refuses a new
 *           one; with an anonymous one among them, the new one takes its place;
 *   conn-7  before sign-in, keep-alives and OPTIONS are not activity (such a
 *           connection meets idle_timeout); an NTLM challenge is; after
 *           sign-in keep-alives are.
 * Addresses 127.0.0.2 and up are other clients (the loopback is a /8).
 */
#include "check.h"
#include "tchat.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GETSERVERINFO "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/></data></cmd>"

static struct tserver srv;
static const char *bin;
static unsigned cseq = 1;

static int start(const char *extra)
{
	const char *names[] = { "alice", "bob", "carol" };
	char out[256];

	if (tserver_start(&srv, bin, extra) != 0)
		return -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", names[i], "--password-stdin", NULL) != 0)
			return -1;
	return 0;
}

static void stop(const char *what)
{
	CHECK(tserver_stop(&srv) == 0, what);
	tserver_cleanup(&srv);
}

/* An OPTIONS on t answered 200: the connection is open and served. */
static int served(struct tclient *t)
{
	return tclient_options(t, "probe", ++cseq) == 0 && tclient_recv(t, 5000) == 1 && t->msg.status == 200;
}

static int anon_from(struct tclient *t, const char *src)
{
	return tclient_connect_from(t, srv.port, src) == 0 && served(t);
}

static int user_in(struct tuser *u)
{
	return tchat_xccos(u, GETSERVERINFO) == 200 && tchat_has(&u->in, "<resp code=\"200\"");
}

/* Connect from src and sign in as name. */
static int signed_in_from(struct tclient *t, const char *src, const char *name)
{
	char aor[64];

	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	return tclient_connect_from(t, srv.port, src) == 0 && tclient_register(t, aor, NULL, NULL, "pw") == 200;
}

/* What an anonymous client does to look alive. */
enum pester { P_SILENT, P_CRLF, P_OPTIONS, P_CHALLENGE, P_KINDS };
static const char *const pester_what[P_KINDS] = {
	"says nothing", "sends CRLF keep-alives", "sends OPTIONS", "asks for NTLM challenge after challenge"
};

static int pester(struct tclient *t, enum pester how)
{
	char head[640];

	switch (how) {
	case P_SILENT:
		return 0;
	case P_CRLF:
		return tclient_send(t, "\r\n\r\n", 4);
	case P_OPTIONS:
		return tclient_options(t, "pester", ++cseq);
	case P_CHALLENGE:
		/* gssapi-data="" opens MS-SIPAE's connectionless NTLM: 401 with a challenge. */
		snprintf(head, sizeof head,
		         "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061\r\n"
		         "From: <sip:alice@example.org>;tag=p%u\r\nTo: <sip:alice@example.org>\r\nCall-ID: pester\r\n"
		         "CSeq: %u REGISTER\r\nContact: <sip:alice@127.0.0.1:5061;transport=tls>\r\n"
		         "Authorization: NTLM qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"\", "
		         "gssapi-data=\"\", version=4\r\n",
		         cseq, cseq);
		cseq++;
		return tclient_send_msg(t, head, "", 0);
	default:
		return -1;
	}
}

/* One round of a pestering client: act, then read answers for a moment.
 * Returns -1 once the server has closed it; counts 200 and 401-with-a-
 * challenge answers in *answers. */
static int pester_round(struct tclient *t, enum pester how, int *answers)
{
	int r;

	if (pester(t, how) < 0)
		return -1;
	while ((r = tclient_recv(t, 100)) == 1) {
		const struct sip_str *www = sip_msg_header(&t->msg, "WWW-Authenticate", 0);

		if (t->msg.status == 200 ||
		    (t->msg.status == 401 && www && memmem(www->p, www->len, "gssapi-data=\"T", 14)))
			(*answers)++;
	}
	return r < 0 ? -1 : 0;
}

/* ---- conn-1: the sign-in deadline ------------------------------------------------ */

static void test_deadline(void)
{
	struct tclient a[P_KINDS];
	long closed[P_KINDS];
	int answers[P_KINDS] = { 0 }, left = P_KINDS, opened = 1, bob_in = -1;
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" };
	long t0 = tchat_now_ms(), limit = tclient_scale_ms(20000);
	char what[200];

	/* [limits] signin_timeout = 5 */
	for (int i = 0; i < P_KINDS; i++) {
		opened &= tclient_connect(&a[i], srv.port) == 0;
		closed[i] = -1;
	}
	CHECK(opened, "conn-1.1 four anonymous connections open");
	CHECK(tchat_sign_in(&alice) == 0, "conn-1.2 alice connects and signs in at once");
	buf_init(&bob.in, 1 << 20);
	CHECK(tclient_connect(&bob.t, srv.port) == 0, "conn-1.3 bob connects, not signed in yet");
	while (left > 0 && tchat_now_ms() - t0 < limit) {
		for (int i = 0; i < P_KINDS; i++) {
			if (closed[i] >= 0 || pester_round(&a[i], (enum pester)i, &answers[i]) == 0)
				continue;
			closed[i] = tchat_now_ms() - t0;
			left--;
		}
		if (bob_in < 0 && tchat_now_ms() - t0 >= tclient_scale_ms(1500))
			bob_in = tclient_register(&bob.t, "sip:bob@example.org", NULL, NULL, "pw") == 200 &&
			         tclient_invite(&bob.t, &bob.d, "sip:pchat@example.org") == 200;
	}
	for (int i = 0; i < P_KINDS; i++) {
		snprintf(what, sizeof what, "conn-1.4 an anonymous connection that %s is closed at signin_timeout (after %ld ms)",
		         pester_what[i], closed[i]);
		CHECK(closed[i] >= 4500 && closed[i] < limit, what);
		tclient_close(&a[i]);
	}
	CHECK(answers[P_OPTIONS] >= 2 && answers[P_CHALLENGE] >= 2,
	      "conn-1.5 its OPTIONS and challenge requests were answered meanwhile (200, 401 with a challenge)");
	CHECK(tserver_log_has(&srv, "reason=\"sign-in timeout\""), "conn-1.6 the log says sign-in timeout");
	CHECK(bob_in == 1, "conn-1.7 bob signs in 1.5 s after connecting, inside the deadline");
	/* Well past the deadline of connections opened with theirs. */
	while (tchat_now_ms() - t0 < tclient_scale_ms(9000))
		usleep(100000);
	CHECK(user_in(&alice), "conn-1.8 alice, signed in at once, is served past the deadline");
	CHECK(user_in(&bob), "conn-1.9 bob, signed in late, is served past the deadline");
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "conn-1.10 every server message to them was signed");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
}

/* ---- conn-2: the files listener ---------------------------------------------------- */

static void test_files(void)
{
	enum { BIG = 16 << 20 };
	static struct tuser alice = { .name = "alice" };
	unsigned char *big = malloc(BIG);
	struct ttoken up, down;
	struct thttp h;
	char guid[40], req[256], what[200];
	long t0, closed = -1;
	int ok;

	if (!CHECK(big != NULL, "conn-2.0 memory for a 16 MiB file"))
		return;
	tchat_guid_of(tchat_cli("room", "add", "Files", "--privacy", "open", NULL), guid);
	tchat_fill(big, BIG, 3);
	ok = tchat_sign_in(&alice) == 0 && tchat_join(&alice, guid) == 200 &&
	     tchat_get_token(&alice, 1, guid, "big.bin", &up) == 200 && thttp_put_file(&up, big, BIG, &h) == 201;
	thttp_close(&h);
	if (!CHECK(ok, "conn-2.1 alice uploads a 16 MiB file"))
		goto out;

	/* A head that never completes: one byte every 500 ms. */
	t0 = tchat_now_ms();
	if (CHECK(thttp_open(&h, up.port) == 0 && tclient_send(&h.t, "GET /files/", 11) == 0,
	          "conn-2.2 a TLS connection to the files listener starts a request")) {
		while (closed < 0 && tchat_now_ms() - t0 < tclient_scale_ms(20000)) {
			if (tclient_send(&h.t, "a", 1) < 0 || tclient_wait_closed(&h.t, 500))
				closed = tchat_now_ms() - t0;
		}
	}
	thttp_close(&h);
	snprintf(what, sizeof what, "conn-2.3 a request head trickled a byte at a time is cut at signin_timeout (after %ld ms)",
	         closed);
	CHECK(closed >= 4500 && closed < tclient_scale_ms(20000), what);

	/* A token holder reading slowly: the download outlives the deadline. */
	ok = tchat_get_token(&alice, 0, guid, "big.bin", &down) == 200 && thttp_open(&h, down.port) == 0;
	snprintf(req, sizeof req, "GET /files/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", down.token);
	ok = ok && tclient_send(&h.t, req, strlen(req)) == 0;
	if (ok)
		usleep((useconds_t)tclient_scale_ms(7000) * 1000);
	ok = ok && thttp_read(&h, tclient_scale_ms(30000)) == 200 && h.body_len == BIG && memcmp(h.body, big, BIG) == 0;
	thttp_close(&h);
	CHECK(ok, "conn-2.4 a download whose client pauses 7 s (past signin_timeout) arrives whole: the token signed it in");
out:
	tchat_sign_out(&alice);
	free(big);
}

/* ---- conn-3: anonymous connections cannot keep a user out --------------------------- */

static void test_lockout(void)
{
	enum { N = 20, MORE = 5 };
	static struct tclient a[N], z[MORE];
	static struct tuser alice = { .name = "alice" };
	char src[16];
	int ok = 1, others = 1, gone = 1;

	/* [limits] max_connections = 20 (nothing else): the test. */
	for (int i = 0; i < N; i++) {
		snprintf(src, sizeof src, "127.0.0.%d", 2 + i % 4);
		ok &= anon_from(&a[i], src);
	}
	CHECK(ok, "conn-3.1 20 anonymous connections from 4 addresses fill max_connections = 20, each served");
	CHECK(tchat_sign_in(&alice) == 0, "conn-3.2 a real user still connects and signs in");
	CHECK(tclient_wait_closed(&a[0], 3000), "conn-3.3 the oldest anonymous connection made room");
	for (int i = 1; i < N; i++)
		others &= served(&a[i]);
	CHECK(others, "conn-3.4 the 19 others are still served");
	CHECK(tserver_log_has(&srv, "event=evict reason=max_connections "), "conn-3.5 the log says which cap closed it");
	ok = 1;
	for (int i = 0; i < MORE; i++)
		ok &= anon_from(&z[i], "127.0.0.2");
	for (int i = 1; i <= MORE; i++)
		gone &= tclient_wait_closed(&a[i], 3000);
	CHECK(ok && gone, "conn-3.6 five more anonymous connections each take the place of the oldest anonymous one");
	CHECK(user_in(&alice), "conn-3.7 never the signed-in user's: alice is still served");
	for (int i = 0; i < N; i++)
		tclient_close(&a[i]);
	for (int i = 0; i < MORE; i++)
		tclient_close(&z[i]);
	tchat_sign_out(&alice);
}

/* ---- conn-4 .. 6: the anonymous caps --------------------------------------------- */

static void test_caps(void)
{
	static struct tclient a[5], b[4], c[3], d[4], s[7], e, f;
	static struct tuser alice = { .name = "alice" };
	int ok = 1;

	/* [limits] max_connections = 40, max_connections_per_ip = 6,
	 * max_anonymous_connections = 10, max_anonymous_per_ip = 4. */
	for (int i = 0; i < 4; i++)
		ok &= anon_from(&a[i], "127.0.0.2");
	CHECK(ok, "conn-4.1 four anonymous connections from 127.0.0.2 (max_anonymous_per_ip) are served");
	CHECK(anon_from(&a[4], "127.0.0.2"), "conn-4.2 a fifth from that address is served too");
	CHECK(tclient_wait_closed(&a[0], 3000) && served(&a[1]) && served(&a[2]) && served(&a[3]),
	      "conn-4.3 in place of that address's oldest anonymous connection; the others stay");
	CHECK(tserver_log_has(&srv, "event=evict reason=max_anonymous_per_ip "), "conn-4.4 the log says why");
	ok = anon_from(&b[0], "127.0.0.3");
	for (int i = 1; i <= 4; i++)
		ok &= served(&a[i]);
	CHECK(ok, "conn-4.5 another address is served, and closes nothing of the first");

	/* Anonymous now: a1-a4, b0 (5). */
	ok = 1;
	for (int i = 1; i < 4; i++)
		ok &= anon_from(&b[i], "127.0.0.3");
	ok &= anon_from(&c[0], "127.0.0.4") && anon_from(&c[1], "127.0.0.4");
	CHECK(ok, "conn-5.1 ten anonymous connections from three addresses (max_anonymous_connections)");
	ok = anon_from(&c[2], "127.0.0.4") && tclient_wait_closed(&a[1], 3000);
	for (int i = 2; i <= 4; i++)
		ok &= served(&a[i]);
	for (int i = 0; i < 4; i++)
		ok &= served(&b[i]);
	ok &= served(&c[0]) && served(&c[1]);
	CHECK(ok, "conn-5.2 an eleventh closes the oldest anonymous connection of any address; the rest stay");
	CHECK(tserver_log_has(&srv, "event=evict reason=max_anonymous_connections "), "conn-5.3 the log says why");
	CHECK(tchat_sign_in(&alice) == 0 && tclient_wait_closed(&a[2], 3000),
	      "conn-5.4 with the pool full, alice connects (the oldest, a2, makes room) and signs in");
	ok = 1;
	for (int i = 0; i < 4; i++)
		ok &= anon_from(&d[i], "127.0.0.5");
	CHECK(ok && tclient_wait_closed(&a[3], 3000) && tclient_wait_closed(&a[4], 3000) && tclient_wait_closed(&b[0], 3000),
	      "conn-5.5 four more from a fourth address close the three oldest anonymous ones");
	CHECK(user_in(&alice), "conn-5.6 signed in, alice is never closed for them and is served");

	/* Per address, signed-in connections count and are never closed. */
	ok = 1;
	for (int i = 0; i < 6; i++)
		ok &= signed_in_from(&s[i], "127.0.0.6", i % 2 ? "bob" : "carol");
	CHECK(ok, "conn-6.1 six connections from 127.0.0.6 (max_connections_per_ip) sign in");
	CHECK(tclient_connect_from(&s[6], srv.port, "127.0.0.6") != 0, "conn-6.2 a seventh from there is refused");
	tclient_close(&s[6]);
	CHECK(tserver_log_has(&srv, "event=refuse reason=max_connections_per_ip limit=6 peer=127.0.0.6:"), "conn-6.3 the log says why");
	tclient_close(&s[5]);
	usleep(300000);         /* the server reaps it */
	CHECK(anon_from(&e, "127.0.0.6"), "conn-6.4 once one leaves, an anonymous connection from there takes its slot");
	CHECK(anon_from(&f, "127.0.0.6") && tclient_wait_closed(&e, 3000),
	      "conn-6.5 with the address full again, a new one takes the anonymous one's place");
	ok = 1;
	for (int i = 0; i < 5; i++)
		ok &= served(&s[i]);
	CHECK(ok && s[0].bad_sigs == 0, "conn-6.6 the five signed-in connections are still served");

	for (int i = 0; i < 5; i++)
		tclient_close(&a[i]);
	for (int i = 0; i < 4; i++) {
		tclient_close(&b[i]);
		tclient_close(&d[i]);
	}
	for (int i = 0; i < 3; i++)
		tclient_close(&c[i]);
	for (int i = 0; i < 6; i++)
		tclient_close(&s[i]);
	tclient_close(&e);
	tclient_close(&f);
	tchat_sign_out(&alice);
}

/* ---- conn-7: what counts as activity before sign-in --------------------------------- */

static void test_activity(void)
{
	static struct tclient k[3];
	static struct tuser alice = { .name = "alice" };
	long t0, closed[3] = { -1, -1, -1 }, challenged = -1, limit = tclient_scale_ms(15000);
	int answers[3] = { 0 }, left = 3, kept;
	char what[200];

	/* [limits] idle_timeout = 3 (signin_timeout at its default, 30). */
	t0 = tchat_now_ms();
	for (int i = 0; i < 3; i++)
		CHECK(tclient_connect(&k[i], srv.port) == 0, "conn-7.1 anonymous connection opens");
	while (left > 0 && tchat_now_ms() - t0 < limit) {
		for (int i = 0; i < 2; i++) {
			if (closed[i] >= 0 || pester_round(&k[i], i == 0 ? P_CRLF : P_OPTIONS, &answers[i]) == 0)
				continue;
			closed[i] = tchat_now_ms() - t0;
			left--;
		}
		/* The third asks for one challenge, 2 s in, then nothing. */
		if (closed[2] < 0) {
			int r = 0;

			if (challenged < 0 && tchat_now_ms() - t0 >= tclient_scale_ms(2000)) {
				challenged = tchat_now_ms() - t0;
				r = pester_round(&k[2], P_CHALLENGE, &answers[2]);
			} else {
				r = tclient_recv(&k[2], 100) < 0 ? -1 : 0;
			}
			if (r < 0) {
				closed[2] = tchat_now_ms() - t0;
				left--;
			}
		}
	}
	snprintf(what, sizeof what, "conn-7.2 an anonymous connection sending CRLF keep-alives meets idle_timeout (after %ld ms)",
	         closed[0]);
	CHECK(closed[0] >= 2500 && closed[0] < limit, what);
	snprintf(what, sizeof what, "conn-7.3 an anonymous connection sending OPTIONS (%d answered) meets idle_timeout (after %ld ms)",
	         answers[1], closed[1]);
	CHECK(answers[1] >= 2 && closed[1] >= 2500 && closed[1] < limit, what);
	snprintf(what, sizeof what, "conn-7.4 an NTLM challenge is sign-in progress: idle_timeout counts from it (challenge at %ld ms, "
	         "closed after %ld ms)", challenged, closed[2]);
	CHECK(answers[2] == 1 && challenged >= 0 && closed[2] >= challenged + tclient_scale_ms(3000) - 300 && closed[2] < limit,
	      what);
	CHECK(tserver_log_has(&srv, "reason=\"idle timeout\""), "conn-7.5 the log says idle timeout");
	for (int i = 0; i < 3; i++)
		tclient_close(&k[i]);

	/* Signed in, the same keep-alives are activity. */
	kept = tchat_sign_in(&alice) == 0;
	for (int i = 0; kept && i < 6; i++) {
		kept = tclient_send(&alice.t, "\r\n\r\n", 4) == 0 && tclient_recv(&alice.t, 1000) == 0;
	}
	CHECK(kept && user_in(&alice), "conn-7.6 signed in, a client sending CRLF keep-alives stays past idle_timeout");
	tchat_sign_out(&alice);
}

int main(int argc, char **argv)
{
	bin = argc > 1 ? argv[1] : "./pchat";
	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);

	if (CHECK(start("[limits]\nsignin_timeout = 5\n") == 0, "conn-0.1 a server with signin_timeout = 5 starts")) {
		test_deadline();
		test_files();
	}
	stop("conn-0.2 clean stop");
	if (CHECK(start("[limits]\nmax_connections = 20\n") == 0, "conn-0.3 a server with max_connections = 20 starts"))
		test_lockout();
	stop("conn-0.4 clean stop");
	if (CHECK(start("[limits]\nmax_connections = 40\nmax_connections_per_ip = 6\nmax_anonymous_connections = 10\n"
	                "max_anonymous_per_ip = 4\nsignin_timeout = 300\n") == 0,
	          "conn-0.5 a server with anonymous caps starts"))
		test_caps();
	stop("conn-0.6 clean stop");
	if (CHECK(start("[limits]\nidle_timeout = 3\n") == 0, "conn-0.7 a server with idle_timeout = 3 starts"))
		test_activity();
	stop("conn-0.8 clean stop (no leaks under ASan)");
	return check_done("e2e_sec_conn");
}
