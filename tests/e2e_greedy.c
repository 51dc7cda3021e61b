/*
 * e2e_greedy.c - greedy and slow clients against a real server: each takes
 * what the limits in [limits] allow and no more, and everyone else keeps
 * being served meanwhile.
 *
 *   greedy-1  one address holds max_connections_per_ip signed-in connections:
 *             more are refused; that address's open connections and other
 *             addresses are served (127.0.0.2, .3: the loopback is a /8);
 *   greedy-2  max_connections reached by signed-in connections: new ones are
 *             refused until one closes (anonymous ones would make room:
 *             e2e_sec_conn);
 *   greedy-3  a client trickling its TLS handshake one byte at a time is cut
 *             by handshake_timeout;
 *   greedy-4  a signed-in client trickling a request one byte per second is
 *             cut by idle_timeout, although bytes keep coming (activity is a
 *             request or keep-alive taken, not a byte); CRLF keep-alives keep
 *             a quiet client connected;
 *   greedy-5  a room member that never reads while others post is cut at its
 *             output cap; the other members get every message;
 *   greedy-6  a client flooding posts (reading its answers) in its own room:
 *             every post answered, every 200 stored, memory bounded, and two
 *             other users keep talking with a latency that is printed;
 *   greedy-7  a client flooding posts without reading anything is cut at the
 *             output cap, and the others are served.
 * (e2e_transport's e2e-5 is the unsigned version of -7: OPTIONS, never read.)
 */
#include "check.h"
#include "tchat.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct tserver srv;
static const char *bin;
static unsigned envid = 1;

/* OPTIONS on a fresh connection from src (NULL: 127.0.0.1) answered 200. */
static int answers_from(const char *src)
{
	struct tclient t;
	int ok = tclient_connect_from(&t, srv.port, src) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

static int options_ok(struct tclient *t)
{
	return tclient_options(t, "again", 2) == 0 && tclient_recv(t, 5000) == 1 && t->msg.status == 200;
}

/* ---- signed-in users -------------------------------------------------------------- */

struct user {
	struct tclient t;
	struct tdialog d;
	struct buf in;
};

static int user_open(struct user *u, const char *name)
{
	char aor[64];

	memset(u, 0, sizeof *u);
	buf_init(&u->in, 64 << 20);
	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	return tclient_connect(&u->t, srv.port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200;
}

static void user_close(struct user *u)
{
	tclient_close(&u->t);
	buf_free(&u->in);
}

static int wait_for(struct user *u, const char *needle, int ms)
{
	long deadline = tchat_now_ms() + tclient_scale_ms(ms);

	while (!tchat_has(&u->in, needle) && tchat_now_ms() < deadline)
		if (tclient_wait_info(&u->t, &u->d, &u->in, 200) < 0)
			break;
	return tchat_has(&u->in, needle);
}

static int join(struct user *u, const char *guid)
{
	char body[512];

	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:join\" "
	                            "seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd></xccos>",
	         envid++, guid);
	buf_consume(&u->in, u->in.len);
	return tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in) == 200 && wait_for(u, "<resp code=\"200\"", 5000);
}

/* The head and body of a post (without sending it). */
static void post_msg(struct user *u, const char *room, const char *text, char *head, size_t hlen, char *body, size_t blen)
{
	snprintf(head, hlen,
	         "INFO %s SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <%s>;tag=%s\r\nTo: <%s>;tag=%s\r\n"
	         "CSeq: %u INFO\r\nCall-ID: %s\r\nContent-Type: text/plain\r\n",
	         u->d.uri, u->t.aor, u->d.local_tag, u->d.uri, u->d.remote_tag, ++u->d.cseq, u->d.call_id);
	snprintf(body, blen, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\"><grpchat id=\"grpchat\" "
	                     "seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>%s</chat></grpchat></xccos>",
	         envid++, room, text);
}

static int post(struct user *u, const char *room, const char *text)
{
	char body[9000];

	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\"><grpchat id=\"grpchat\" "
	                            "seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>%s</chat></grpchat></xccos>",
	         envid++, room, text);
	return tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in);
}

static char *room_add(const char *name, char *guid)
{
	char out[512], *slash;

	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", name, "--privacy", "open", NULL);
	slash = strrchr(out, '/');
	snprintf(guid, 40, "%.36s", slash ? slash + 1 : "none");
	return guid;
}

static long count_stored(const char *like)
{
	char db[400];
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long n = -1;

	snprintf(db, sizeof db, "%s/pchat.db", srv.dir);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM messages WHERE text LIKE ?1", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, like, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* ---- greedy-1 .. -4: the connection limits and the timeouts ----------------------- */

/* 1 once the peer has closed fd (FIN or RST), 0 if still open after ms. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b[4096];

	if (poll(&p, 1, ms) <= 0)
		return 0;
	for (;;) {
		ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return 1;
		if (r < 0)
			return 0;
	}
}

/* Connect from src (NULL: 127.0.0.1) and sign in as name. */
static int signed_in_from(struct tclient *t, const char *src, const char *name)
{
	char aor[64];

	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	return tclient_connect_from(t, srv.port, src) == 0 && tclient_register(t, aor, NULL, NULL, "pw") == 200;
}

static void test_limits(void)
{
	static const char *const names[] = { "alice", "bob", "carol", "dave" };
	struct tclient a[4], b[2], c;
	int ok = 1, refused;

	/* [limits] of this server: max_connections = 6, max_connections_per_ip = 4. */
	for (int i = 0; i < 4; i++)
		ok &= signed_in_from(&a[i], NULL, names[i]);
	CHECK(ok, "greedy-1.1 four connections from 127.0.0.1 (the per-address limit) are accepted and sign in");
	refused = tclient_connect(&c, srv.port) != 0;
	tclient_close(&c);
	CHECK(refused, "greedy-1.2 a fifth from the same address is refused");
	CHECK(tserver_log_has(&srv, "reason=max_connections_per_ip"), "greedy-1.3 the log says why");
	CHECK(options_ok(&a[0]) && options_ok(&a[3]), "greedy-1.4 that address's open connections are still served");
	ok = signed_in_from(&b[0], "127.0.0.2", "erin") && options_ok(&b[0]);
	CHECK(ok, "greedy-1.5 another address is served");

	ok = signed_in_from(&b[1], "127.0.0.2", "alice") && options_ok(&b[1]);
	CHECK(ok, "greedy-2.1 six connections in all (max_connections) are served");
	refused = tclient_connect_from(&c, srv.port, "127.0.0.3") != 0;
	tclient_close(&c);
	CHECK(refused, "greedy-2.2 a seventh, from a third address, is refused");
	CHECK(tserver_log_has(&srv, "reason=max_connections limit"), "greedy-2.3 the log says why");
	tclient_close(&a[3]);
	usleep(200000);         /* the server reaps the closed one */
	ok = tclient_connect_from(&c, srv.port, "127.0.0.3") == 0 && options_ok(&c);
	tclient_close(&c);
	CHECK(ok, "greedy-2.4 once one closes, a new connection is accepted and served");
	for (int i = 0; i < 3; i++)
		tclient_close(&a[i]);
	tclient_close(&b[0]);
	tclient_close(&b[1]);
	usleep(200000);
}

static void test_tricklers(void)
{
	static const char hello[] = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03";
	static const char req[] = "OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                          "To: <sip:example.org>\r\nCall-ID: trickle\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct tclient t, k;
	long t0, took = -1;
	int fd, served = 1, kept;
	char what[160];

	/* [limits] handshake_timeout = 2, idle_timeout = 3. */
	fd = tcp_connect(srv.port);
	t0 = tchat_now_ms();
	for (size_t i = 0; fd >= 0 && i < sizeof hello - 1 && tchat_now_ms() - t0 < tclient_scale_ms(10000); i++) {
		if (send(fd, hello + i, 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 700)) {
			took = tchat_now_ms() - t0;
			break;
		}
		served &= answers_from("127.0.0.2");
	}
	if (took < 0 && fd >= 0 && closed_within(fd, tclient_scale_ms(5000)))
		took = tchat_now_ms() - t0;
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof what, "greedy-3.1 a handshake trickled a byte at a time is cut by handshake_timeout (%ld ms)", took);
	CHECK(took >= 1500 && took < tclient_scale_ms(5000), what);
	CHECK(served, "greedy-3.2 others are served meanwhile");

	/* After sign-in: one byte of a request per TLS record, every 700 ms. */
	took = -1;
	if (CHECK(signed_in_from(&t, NULL, "alice"), "greedy-4.1 connect and sign in")) {
		t0 = tchat_now_ms();
		for (size_t i = 0; i < sizeof req - 1 && tchat_now_ms() - t0 < tclient_scale_ms(15000); i++) {
			if (tclient_send(&t, req + i, 1) < 0 || tclient_recv(&t, 700) < 0) {
				took = tchat_now_ms() - t0;
				break;
			}
		}
	}
	tclient_close(&t);
	snprintf(what, sizeof what, "greedy-4.2 a request trickled a byte per 700 ms is cut by idle_timeout (%ld ms)", took);
	CHECK(took >= 2500 && took < tclient_scale_ms(6000), what);
	CHECK(tserver_log_has(&srv, "idle timeout"), "greedy-4.3 the log says idle timeout");

	/* Keep-alives (RFC 5626 §4.4.1 CRLFCRLF) are activity: 5 s with one a second. */
	kept = signed_in_from(&k, NULL, "bob");
	for (int i = 0; kept && i < 5; i++) {
		kept = tclient_send(&k, "\r\n\r\n", 4) == 0 && tclient_recv(&k, 1000) == 0;
	}
	CHECK(kept && options_ok(&k), "greedy-4.4 a signed-in client sending CRLF keep-alives stays connected past idle_timeout");
	tclient_close(&k);
}

/* ---- greedy-5 .. -7: output caps and floods -------------------------------------- */

static void drain(struct user *u, int ms)
{
	while (tclient_recv(&u->t, ms) == 1)
		;
}

/* Send n posts pipelined (text "PREFIX N", padded to pad bytes); 0 or -1. */
static int flood_send(struct user *u, const char *room, const char *prefix, int *next, int n, size_t pad)
{
	static char text[9000], head[1024], body[9500];

	for (int i = 0; i < n; i++) {
		int len = snprintf(text, sizeof text, "%s %d ", prefix, (*next)++);

		if (pad > (size_t)len && pad < sizeof text) {
			memset(text + len, 'p', pad - (size_t)len);
			text[pad] = '\0';
		}
		post_msg(u, room, text, head, sizeof head, body, sizeof body);
		if (tclient_send_msg(&u->t, head, body, strlen(body)) < 0)
			return -1;
	}
	return 0;
}

/* Read until n answers have come; the number answered 200, or -1. */
static int flood_collect(struct user *u, int n)
{
	int ok = 0;

	while (n > 0) {
		if (tclient_recv(&u->t, 10000) != 1)
			return -1;
		if (u->t.msg.kind != SIP_RESPONSE)
			continue;       /* the echoes of the posts */
		n--;
		ok += u->t.msg.status == 200;
	}
	return ok;
}

static int flood(struct user *u, const char *room, const char *prefix, int *next, int n, size_t pad)
{
	return flood_send(u, room, prefix, next, n, pad) < 0 ? -1 : flood_collect(u, n);
}

static void test_lazy_member(void)
{
	struct user alice, bob, lazy;
	char room[40], marker[64];
	int next = 0, ok = 0, sent = 0, closed, caps;

	room_add("Greedy Lazy", room);
	if (!CHECK(user_open(&alice, "alice") && user_open(&bob, "bob") && user_open(&lazy, "dave") &&
	           join(&alice, room) && join(&bob, room) && join(&lazy, room), "greedy-5.1 three members join"))
		goto out;
	/* 2 KB posts, ten per round trip (the poster's own answers and echoes
	 * stay well under the cap), until well past what the kernel buffers
	 * and the 64 KiB cap hold for the member who never reads. */
	caps = tchat_log_count("event=output-cap");
	for (int batch = 0; batch < 1500 && tchat_log_count("event=output-cap") == caps; batch++) {
		int r = flood(&alice, room, "lazy", &next, 10, 2000);

		if (r < 0)
			break;
		ok += r;
		sent += 10;
		drain(&bob, 2);
		buf_consume(&bob.in, bob.in.len);
	}
	printf("# greedy-5: %d posts of 2 KB sent, %d answered 200\n", sent, ok);
	CHECK(tchat_log_count("event=output-cap") == caps + 1, "greedy-5.2 the member who never reads hits the output cap");
	closed = tclient_wait_closed(&lazy.t, 20000);
	CHECK(closed, "greedy-5.3 ... and is disconnected (what was sent before is still readable)");
	snprintf(marker, sizeof marker, "[after lazy %d]", next);
	CHECK(ok == sent && post(&alice, room, marker) == 200 && wait_for(&bob, marker, 5000),
	      "greedy-5.4 the poster and the other member are served throughout");
out:
	user_close(&alice);
	user_close(&bob);
	user_close(&lazy);
}

static void test_flooder(void)
{
	struct user alice, bob, carol;
	char room_f[40], room_g[40], marker[64];
	int next = 0, ok = 0, sent = 0, got = 0, rounds = 200;
	long rss_before, rss_after, worst = 0, total = 0;

	room_add("Greedy Flood", room_f);
	room_add("Greedy Talk", room_g);
	if (!CHECK(user_open(&alice, "alice") && user_open(&bob, "bob") && user_open(&carol, "carol") &&
	           join(&alice, room_f) && join(&bob, room_g) && join(&carol, room_g), "greedy-6.1 users sign in and join"))
		goto out;
	rss_before = tserver_rss_kb(&srv);
	/* Each round: 30 posts in flight from alice (what one pass answers
	 * stays under the 64 KiB cap), bob's message to carol while they are,
	 * then alice reads her answers. */
	for (int r = 0; r < rounds; r++) {
		long t0;
		int n;

		if (flood_send(&alice, room_f, "flood", &next, 30, 0) < 0)
			break;
		sent += 30;
		if (r % 10 == 0) {
			snprintf(marker, sizeof marker, "[bob says %d]", r / 10);
			t0 = tchat_now_ms();
			if (post(&bob, room_g, marker) == 200 && wait_for(&carol, marker, 10000)) {
				long lat = tchat_now_ms() - t0;

				got++;
				total += lat;
				worst = lat > worst ? lat : worst;
			}
			buf_consume(&carol.in, carol.in.len);
			drain(&bob, 1);
		}
		if ((n = flood_collect(&alice, 30)) < 0)
			break;
		ok += n;
	}
	rounds /= 10;
	rss_after = tserver_rss_kb(&srv);
	printf("# greedy-6: %d flood posts, %d answered 200, %ld stored; %d of %d others' messages delivered, "
	       "latency avg %ld ms, worst %ld ms; server RSS %ld -> %ld KiB\n",
	       sent, ok, count_stored("flood %"), got, rounds, got ? total / got : -1, worst, rss_before, rss_after);
	CHECK(sent >= 5000 && ok == sent, "greedy-6.2 every flood post is answered 200");
	CHECK(count_stored("flood %") == ok, "greedy-6.3 every 200 is stored");
	CHECK(got == rounds && worst < tclient_scale_ms(3000),
	      "greedy-6.4 the others' messages all arrive during the flood, each within 3 s");
	{
		const char *slack = getenv("PCHAT_TEST_RSS_SLACK_MB");
		long limit_kb = (32 + (slack ? atol(slack) : 0)) * 1024;

		CHECK(rss_before > 0 && rss_after - rss_before < limit_kb, "greedy-6.5 server memory stays bounded");
	}
out:
	user_close(&alice);
	user_close(&bob);
	user_close(&carol);
}

static void test_blind_flooder(void)
{
	struct user erin, bob, carol;
	char room[40], head[1024], body[9000], text[64];
	struct timeval tv = { 5, 0 };
	int sent = 0, caps = 0;

	room_add("Greedy Blind", room);
	if (!CHECK(user_open(&erin, "erin") && user_open(&bob, "bob") && user_open(&carol, "carol") &&
	           join(&erin, room) && join(&bob, room) && join(&carol, room), "greedy-7.1 users sign in and join"))
		goto out;
	setsockopt(erin.t.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	caps = tchat_log_count("event=output-cap");
	/* Posts as fast as the socket takes them; never a read. */
	for (int i = 0; i < 40000; i++) {
		snprintf(text, sizeof text, "blind %d", i);
		post_msg(&erin, room, text, head, sizeof head, body, sizeof body);
		if (tclient_send_msg(&erin.t, head, body, strlen(body)) < 0)
			break;
		sent++;
		if (i % 500 == 0) {
			drain(&bob, 1);
			drain(&carol, 1);
			if (tchat_log_count("event=output-cap") > caps)
				break;
		}
	}
	printf("# greedy-7: %d posts sent without reading\n", sent);
	CHECK(tchat_log_count("event=output-cap") > caps, "greedy-7.2 the blind flooder hits its output cap");
	CHECK(tclient_wait_closed(&erin.t, 20000), "greedy-7.3 ... and is disconnected");
	drain(&bob, 50);
	drain(&carol, 50);
	buf_consume(&carol.in, carol.in.len);
	CHECK(post(&bob, room, "[bob after blind]") == 200 && wait_for(&carol, "[bob after blind]", 5000),
	      "greedy-7.4 the other members are served");
out:
	user_close(&erin);
	user_close(&bob);
	user_close(&carol);
}

static int start(const char *limits)
{
	const char *names[] = { "alice", "bob", "carol", "dave", "erin" };
	char out[256];

	if (tserver_start(&srv, bin, limits) != 0)
		return -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", names[i], "--password-stdin", NULL);
	return 0;
}

int main(int argc, char **argv)
{
	bin = argc > 1 ? argv[1] : "./pchat";
	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);

	if (CHECK(start("[limits]\nmax_connections = 6\nmax_connections_per_ip = 4\nhandshake_timeout = 2\n"
	                "idle_timeout = 3\n") == 0, "greedy-0.1 a server with small limits starts")) {
		test_limits();
		test_tricklers();
		CHECK(answers_from(NULL), "greedy-0.2 it answers at the end");
		CHECK(tserver_stop(&srv) == 0, "greedy-0.3 clean stop");
	}
	tserver_cleanup(&srv);

	/* The output cap at its minimum, so the queues fill fast. */
	if (CHECK(start("[limits]\nmax_output_bytes = 65536\n") == 0, "greedy-0.4 a server with a 64 KiB output cap starts")) {
		test_lazy_member();
		test_flooder();
		test_blind_flooder();
		CHECK(answers_from(NULL), "greedy-0.5 it answers at the end");
		CHECK(tserver_stop(&srv) == 0, "greedy-0.6 clean stop (no leaks under ASan)");
	}
	tserver_cleanup(&srv);
	return check_done("e2e_greedy");
}
