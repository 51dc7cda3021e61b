/*
 * e2e.c - end-to-end tests of the transport: a real ./pchat on 127.0.0.1
 * with its own temp folder, ini and store, spoken to over real TLS.
 * usage: e2e PCHAT_BINARY
 * Every hostile case is followed by a liveness check (a fresh OPTIONS).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <errno.h>
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct tserver srv;

static struct sip_str hdr(const struct tclient *t, const char *name)
{
	const struct sip_str *v = sip_msg_header(&t->msg, name, 0);

	return v ? *v : (struct sip_str){ "", 0 };
}

/* A fresh connection gets 200 to OPTIONS. */
static int server_answers(void)
{
	struct tclient t;
	int ok = tclient_connect(&t, srv.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

/* Send raw bytes on a TLS connection; expect one response with status and then close. */
static void expect_error_and_close(const char *what, const void *bytes, size_t len, int status)
{
	struct tclient t;
	char desc[200];

	snprintf(desc, sizeof desc, "%s: connects", what);
	if (!CHECK(tclient_connect(&t, srv.port) == 0, desc))
		return;
	tclient_send(&t, bytes, len);
	snprintf(desc, sizeof desc, "%s: answered %d", what, status);
	CHECK(tclient_recv(&t, 5000) == 1 && t.msg.status == status, desc);
	snprintf(desc, sizeof desc, "%s: connection closed after the error", what);
	CHECK(tclient_wait_closed(&t, 5000), desc);
	tclient_close(&t);
	snprintf(desc, sizeof desc, "%s: server still answers", what);
	CHECK(server_answers(), desc);
}

static void test_options(void)
{
	struct tclient t;

	CHECK(tclient_connect(&t, srv.port) == 0, "e2e-1.1 TLS handshake");
	CHECK(tclient_options(&t, "opt-1", 7) == 0, "e2e-1.2 send OPTIONS");
	CHECK(tclient_recv(&t, 5000) == 1, "e2e-1.3 a response arrives");
	CHECK(t.msg.kind == SIP_RESPONSE && t.msg.status == 200, "e2e-1.4 OPTIONS -> 200");
	CHECK(sip_str_eq(hdr(&t, "Call-ID"), "opt-1"), "e2e-1.5 Call-ID echoed");
	CHECK(sip_str_eq(hdr(&t, "CSeq"), "7 OPTIONS"), "e2e-1.6 CSeq echoed");
	CHECK(sip_header_param(hdr(&t, "To"), "tag").len > 0, "e2e-1.7 To tag added");
	CHECK(sip_str_eq(hdr(&t, "Via"), "SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKopt-17"), "e2e-1.8 Via echoed");
	CHECK(sip_str_eq(hdr(&t, "Content-Length"), "0"), "e2e-1.9 Content-Length: 0");
	CHECK(sip_msg_header(&t.msg, "Allow", 0) != NULL, "e2e-1.10 Allow listed");

	/* Two requests in one write, with keep-alive CRLFs before and between. */
	tclient_sendf(&t, "\r\n\r\n");
	tclient_sendf(&t, "OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                  "To: <sip:example.org>\r\nCall-ID: p1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	                  "\r\n"
	                  "OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                  "To: <sip:example.org>\r\nCall-ID: p2\r\nCSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	CHECK(tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), "p1"), "e2e-1.11 first pipelined answered");
	CHECK(tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), "p2"), "e2e-1.12 second pipelined answered");

	/* Compact header forms are understood on input (RFC 3261 §7.3.3). */
	tclient_sendf(&t, "OPTIONS sip:example.org SIP/2.0\r\nv: SIP/2.0/TLS h\r\nf: <sip:a@example.org>;tag=1\r\n"
	                  "t: <sip:example.org>\r\ni: compact\r\nCSeq: 3 OPTIONS\r\nl: 0\r\n\r\n");
	CHECK(tclient_recv(&t, 5000) == 1 && t.msg.status == 200 && sip_str_eq(hdr(&t, "Call-ID"), "compact"),
	      "e2e-1.13 compact headers accepted, long names sent back");

	/* One byte per TLS record: framing must not depend on record boundaries. */
	{
		const char *req = "OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
		                  "To: <sip:example.org>\r\nCall-ID: slow\r\nCSeq: 4 OPTIONS\r\nContent-Length: 0\r\n\r\n";
		for (size_t i = 0; i < strlen(req); i++)
			tclient_send(&t, req + i, 1);
		CHECK(tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), "slow"), "e2e-1.14 byte-at-a-time request");
	}

	/* A message with a body split across writes. */
	tclient_sendf(&t, "FOO sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                  "To: <sip:example.org>\r\nCall-ID: body\r\nCSeq: 5 FOO\r\nContent-Length: 10\r\n\r\n01234");
	CHECK(tclient_recv(&t, 300) == 0, "e2e-1.15 no answer before the body is complete");
	tclient_sendf(&t, "56789");
	CHECK(tclient_recv(&t, 5000) == 1 && t.msg.status == 501, "e2e-1.16 unknown method -> 501 once complete");

	/* A response from the client is absorbed, not answered. */
	tclient_sendf(&t, "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                  "To: <sip:example.org>;tag=2\r\nCall-ID: r\r\nCSeq: 9 INFO\r\nContent-Length: 0\r\n\r\n");
	tclient_options(&t, "after-response", 10);
	CHECK(tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), "after-response"),
	      "e2e-1.17 a stray response gets no answer; the next request does");

	/* ACK is never answered (RFC 3261 §17.2.1). */
	tclient_sendf(&t, "ACK sip:example.org SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                  "To: <sip:example.org>;tag=2\r\nCall-ID: ack\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
	tclient_options(&t, "after-ack", 11);
	CHECK(tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), "after-ack"), "e2e-1.18 ACK not answered");

	/* Missing mandatory headers: 400 but the stream is still in sync. */
	tclient_sendf(&t, "OPTIONS sip:example.org SIP/2.0\r\nContent-Length: 0\r\n\r\n");
	CHECK(tclient_recv(&t, 5000) == 1 && t.msg.status == 400, "e2e-1.19 request without Call-ID/CSeq -> 400");
	tclient_options(&t, "still-open", 12);
	CHECK(tclient_recv(&t, 5000) == 1 && t.msg.status == 200, "e2e-1.20 connection stays usable");

	/* 100 requests, a TLS record each, corked into a few TCP segments (22 KB,
	 * more than one read-ahead chunk): the server reads ahead of mbedTLS (one
	 * recv brings many records) and must answer every one without waiting
	 * for a socket that stays quiet.  (Not more: the answers of one pass
	 * must fit the 64 KiB output cap of a client that does not read.) */
	{
		int on = 1, off = 0, all = 1;
		char id[32];

		tclient_close(&t);
		CHECK(tclient_connect(&t, srv.port) == 0, "e2e-1.21a a fresh connection for the burst");
		setsockopt(t.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
		for (unsigned i = 0; i < 100; i++) {
			snprintf(id, sizeof id, "burst-%u", i);
			tclient_options(&t, id, 100 + i);
		}
		setsockopt(t.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
		for (unsigned i = 0; i < 100 && all; i++) {
			snprintf(id, sizeof id, "burst-%u", i);
			all = tclient_recv(&t, 5000) == 1 && sip_str_eq(hdr(&t, "Call-ID"), id);
			if (!all)
				printf("# burst: answer %u: status %d, Call-ID %.*s\n", i, t.msg.status, (int)hdr(&t, "Call-ID").len, hdr(&t, "Call-ID").p);
		}
		CHECK(all, "e2e-1.21b 100 records in one burst are all answered, in order");
	}
	tclient_close(&t);
}

static void test_malformed(void)
{
	static char big[40000];
	/* Arrays, not strings: some hold NUL bytes, and sizeof gives exact lengths. */
	static const char no_length[] = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nCall-ID: a\r\n\r\n";
	static const char garbage[] = "\x16\x03\x01garbage\x00\xff\r\n\r\n";
	static const char nul_in_header[] = "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\0b\r\nContent-Length: 0\r\n\r\n";
	static const char bare_lf[] = "OPTIONS sip:x SIP/2.0\nCall-ID: a\nContent-Length: 0\n\r\n\r\n";
	static const char space_in_name[] = "OPTIONS sip:x SIP/2.0\r\nCall ID: a\r\nContent-Length: 0\r\n\r\n";
	static const char empty_start[] = "\r\n\r\nX\r\n\r\n";
	char tmp[512];
	int n;

	expect_error_and_close("e2e-2.1 no Content-Length",
	                       no_length, sizeof no_length - 1, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: -5\r\n\r\n");
	expect_error_and_close("e2e-2.2 negative Content-Length", tmp, (size_t)n, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 12abc\r\n\r\n");
	expect_error_and_close("e2e-2.3 non-numeric Content-Length", tmp, (size_t)n, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
	expect_error_and_close("e2e-2.4 huge Content-Length", tmp, (size_t)n, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 70000\r\n\r\n");
	expect_error_and_close("e2e-2.5 body over max_body_bytes", tmp, (size_t)n, 513);
	expect_error_and_close("e2e-2.6 garbage",
	                       garbage, sizeof garbage - 1, 400);
	expect_error_and_close("e2e-2.7 NUL inside a header",
	                       nul_in_header, sizeof nul_in_header - 1, 400);
	expect_error_and_close("e2e-2.8 bare LF line endings",
	                       bare_lf, sizeof bare_lf - 1, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\nContent-Length: 4\r\n\r\n");
	expect_error_and_close("e2e-2.9 two different Content-Lengths", tmp, (size_t)n, 400);
	n = snprintf(tmp, sizeof tmp, "OPTIONS sip:x SIP/3.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n");
	expect_error_and_close("e2e-2.10 wrong SIP version", tmp, (size_t)n, 505);
	/* A header block that never ends: 513 once the cap is reached. */
	memset(big, 'a', sizeof big);
	memcpy(big, "OPTIONS sip:x SIP/2.0\r\nX-Long: ", 31);
	expect_error_and_close("e2e-2.11 header block over max_header_bytes", big, sizeof big, 513);
	/* Too many headers. */
	{
		size_t off = (size_t)snprintf(big, sizeof big, "OPTIONS sip:x SIP/2.0\r\n");

		for (int i = 0; i < 100; i++)
			off += (size_t)snprintf(big + off, sizeof big - off, "X-H%d: v\r\n", i);
		off += (size_t)snprintf(big + off, sizeof big - off, "Content-Length: 0\r\n\r\n");
		expect_error_and_close("e2e-2.12 more headers than max_headers", big, off, 513);
	}
	expect_error_and_close("e2e-2.13 space in header name",
	                       space_in_name, sizeof space_in_name - 1, 400);
	expect_error_and_close("e2e-2.14 empty start line",
	                       empty_start, sizeof empty_start - 1, 400);
}

/* Truncated messages, plain TCP garbage on the TLS port, silent sockets. */
static void test_raw_sockets(void)
{
	struct tclient t;
	int fd;
	char junk[256];

	CHECK(tclient_connect(&t, srv.port) == 0, "e2e-3.1 connect");
	tclient_sendf(&t, "OPTIONS sip:x SIP/2.0\r\nCall-ID: trunc\r\nContent-Le");
	tclient_close(&t);     /* drop mid-message */
	CHECK(server_answers(), "e2e-3.2 truncated message then disconnect: server answers");

	fd = tcp_connect(srv.port);
	memset(junk, 'G', sizeof junk);
	CHECK(fd >= 0 && write(fd, junk, sizeof junk) == (ssize_t)sizeof junk, "e2e-3.3 plain bytes on the TLS port");
	{
		char b[64];
		struct timeval tv = { 5, 0 };
		ssize_t r;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		/* mbedTLS may send an alert first; the stream must then end, by FIN
		 * or, since our bytes were left unread, by RST. */
		do
			r = read(fd, b, sizeof b);
		while (r > 0);
		CHECK(r == 0 || (r < 0 && errno == ECONNRESET), "e2e-3.4 server closes a non-TLS connection");
	}
	close(fd);
	CHECK(server_answers(), "e2e-3.5 server answers after non-TLS bytes");

	/* Handshake timeout (1 s in the test ini): a silent TCP client is dropped. */
	fd = tcp_connect(srv.port);
	{
		char b[16];
		ssize_t r = read(fd, b, sizeof b);   /* blocks until the server closes */
		CHECK(r == 0, "e2e-3.6 silent client dropped after handshake_timeout");
		CHECK(tserver_log_has(&srv, "handshake timeout"), "e2e-3.7 log says handshake timeout");
	}
	close(fd);

	/* Idle timeout (2 s in the test ini) after the handshake. */
	CHECK(tclient_connect(&t, srv.port) == 0, "e2e-3.8 connect for idle test");
	CHECK(tclient_wait_closed(&t, 6000), "e2e-3.9 idle connection closed after idle_timeout");
	tclient_close(&t);
	CHECK(tserver_log_has(&srv, "idle timeout"), "e2e-3.10 log says idle timeout");
}

/* Many connections at once, each served.  200 handshakes one after another
 * take about 2 s here under ASan and several times that on a loaded machine:
 * longer than the main server's 1 s handshake_timeout and 2 s idle_timeout
 * (which the timeout checks need), which would cut the first connections
 * before the last one is up.  So this check gets a server of its own with
 * timeouts that bound one handshake (6 s: more than the test client's own
 * 5 s wait for each step) and not the whole series, scaled by
 * PCHAT_TEST_TIME_SCALE like every timeout here: what it proves, 200
 * TLS connections open at the same moment and each answered on its own,
 * no longer depends on how fast the machine is.  The connects are
 * sequential and blocking, so the listen backlog never fills; the answers
 * are awaited connection by connection, each wait a fresh one. */
static void test_many_connections(const char *bin)
{
	enum { N = 200 };
	static struct tclient cs[N];
	struct tserver many;
	struct timespec t0, t1;
	int connected = 0, answered = 0;
	long rss_before, rss_after;
	const char *slack = getenv("PCHAT_TEST_RSS_SLACK_MB");
	long limit_kb = (32 + (slack ? atol(slack) : 0)) * 1024;

	if (!CHECK(tserver_start(&many, bin, "[limits]\nhandshake_timeout = 6\nidle_timeout = 600\n") == 0,
	           "e2e-4.0 server for the many-connections check starts")) {
		tserver_cleanup(&many);
		return;
	}
	rss_before = tserver_rss_kb(&many);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		if (tclient_connect(&cs[i], many.port) == 0)
			connected++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %d TLS handshakes in %ld ms\n", N,
	       (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	for (int i = 0; i < N; i++) {
		char id[32];

		snprintf(id, sizeof id, "many-%d", i);
		tclient_options(&cs[i], id, (unsigned)i + 1);
	}
	for (int i = 0; i < N; i++) {
		char id[32];

		snprintf(id, sizeof id, "many-%d", i);
		if (tclient_recv(&cs[i], 15000) == 1 && cs[i].msg.status == 200 && sip_str_eq(hdr(&cs[i], "Call-ID"), id))
			answered++;
	}
	CHECK(connected == N, "e2e-4.1 200 concurrent TLS connections accepted");
	CHECK(answered == N, "e2e-4.2 each of 200 connections answered with its own Call-ID");
	for (int i = 0; i < N; i++)
		tclient_close(&cs[i]);
	{
		struct tclient t;
		int ok = tclient_connect(&t, many.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
		         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

		tclient_close(&t);
		CHECK(ok, "e2e-4.3 server answers after 200 disconnects");
	}
	CHECK(!tserver_log_has(&many, "handshake timeout") && !tserver_log_has(&many, "idle timeout"),
	      "e2e-4.4 no connection was cut by a timeout meanwhile");
	rss_after = tserver_rss_kb(&many);
	printf("# many-connections server RSS %ld KiB before, %ld KiB after\n", rss_before, rss_after);
	CHECK(rss_before > 0 && rss_after - rss_before < limit_kb, "e2e-4.5 memory stays bounded after 200 connections");
	CHECK(tserver_stop(&many) == 0, "e2e-4.6 many-connections server: clean stop");
	tserver_cleanup(&many);
}

/* A client that sends and never reads is cut off at the output cap, and
 * others keep being served. */
static void test_slow_reader(void)
{
	struct tclient t;
	static char many[32 * 1024];
	size_t one, off = 0;
	int sent_ok = 1;

	CHECK(tclient_connect(&t, srv.port) == 0, "e2e-5.1 connect");
	one = (size_t)snprintf(many, sizeof many, "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:a@example.org>;tag=1\r\n"
	                       "To: <sip:x>\r\nCall-ID: flood\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	for (off = one; off + one < sizeof many; off += one)
		memcpy(many + off, many, one);
	/* ~300 bytes of answer per ~150-byte request: 4 MB of requests asks for
	 * far more output than the 64 KiB cap while we read nothing. */
	for (int i = 0; i < 128 && sent_ok; i++)
		sent_ok = tclient_send(&t, many, off) == 0;
	CHECK(server_answers(), "e2e-5.2 others served while a client does not read");
	sleep(1);
	CHECK(tserver_log_has(&srv, "event=output-cap"), "e2e-5.3 log shows the output cap hit");
	tclient_close(&t);
	CHECK(server_answers(), "e2e-5.4 server answers after the flooder is dropped");
}

static void test_cli(void)
{
	char out[4096];
	int rc;

	rc = tserver_cli(&srv, "s3cret\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	CHECK(rc == 0 && strstr(out, "sip:alice@example.org"), "e2e-6.1 user add alice (stdin password)");
	rc = tserver_cli(&srv, "x\n", out, sizeof out, "user", "add", "sip:Alice@example.org", "--password-stdin", NULL);
	CHECK(rc == 1 && strstr(out, "already exists"), "e2e-6.2 adding the same user again fails with exit 1");
	rc = tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "bob@example.org", "--password-stdin", NULL);
	CHECK(rc == 0, "e2e-6.3 user add bob@example.org");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "list", NULL);
	CHECK(rc == 0 && strcmp(out, "sip:alice@example.org\nsip:bob@example.org\n") == 0, "e2e-6.4 user list, one per line");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "show", "alice", NULL);
	CHECK(rc == 0 && strstr(out, "uri\tsip:alice@example.org") && !strstr(out, "s3cret"), "e2e-6.5 user show, no secret");
	rc = tserver_cli(&srv, "new\n", out, sizeof out, "user", "passwd", "alice", "--password-stdin", NULL);
	CHECK(rc == 0, "e2e-6.6 user passwd");
	rc = tserver_cli(&srv, "x\n", out, sizeof out, "user", "passwd", "carol", "--password-stdin", NULL);
	CHECK(rc == 1, "e2e-6.7 passwd of an unknown user fails");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "del", "bob", NULL);
	CHECK(rc == 0, "e2e-6.8 user del");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "show", "bob", NULL);
	CHECK(rc == 1, "e2e-6.9 deleted user is gone");
	rc = tserver_cli(&srv, "\n", out, sizeof out, "user", "add", "dave", "--password-stdin", NULL);
	CHECK(rc == 1 && strstr(out, "empty password"), "e2e-6.10 empty password refused");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "add", "dave", NULL);
	CHECK(rc == 1 && strstr(out, "--password-stdin"), "e2e-6.11 no terminal and no --password-stdin: clear error");
	rc = tserver_cli(&srv, "x\n", out, sizeof out, "user", "add", "bad name!", "--password-stdin", NULL);
	CHECK(rc == 1, "e2e-6.12 invalid user name refused");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "frob", NULL);
	CHECK(rc == 2 && strstr(out, "usage"), "e2e-6.13 unknown user verb is a usage error (2)");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "check", NULL);
	CHECK(rc == 0 && strstr(out, "server.domain = example.org") && strstr(out, "store: ok"), "e2e-6.14 check prints settings");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "--help", NULL);
	CHECK(rc == 0 && strstr(out, "user add|passwd"), "e2e-6.15 --help");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "nonsense", NULL);
	CHECK(rc == 2, "e2e-6.16 unknown command exits 2");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	long rss_before, rss_after;
	struct stat st;
	char path[400];

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(tserver_start(&srv, bin,
	                         "[limits]\nhandshake_timeout = 1\nidle_timeout = 2\nmax_output_bytes = 65536\n"
	                         "max_header_bytes = 16384\nmax_body_bytes = 65536\nmax_headers = 64\n") == 0,
	           "e2e-0.1 server starts on a free port")) {
		tserver_cleanup(&srv);
		return check_done("e2e");
	}
	snprintf(path, sizeof path, "%s/pchat.key", srv.dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "e2e-0.2 generated key file has mode 0600");
	snprintf(path, sizeof path, "%s/pchat.crt", srv.dir);
	CHECK(stat(path, &st) == 0, "e2e-0.3 certificate generated beside the ini");
	snprintf(path, sizeof path, "%s/pchat.db", srv.dir);
	CHECK(stat(path, &st) == 0, "e2e-0.4 store created beside the ini");
	CHECK(tserver_log_has(&srv, "sha256="), "e2e-0.5 certificate fingerprint logged");

	test_options();
	rss_before = tserver_rss_kb(&srv);
	test_malformed();
	test_raw_sockets();
	test_many_connections(bin);
	test_slow_reader();
	rss_after = tserver_rss_kb(&srv);
	printf("# server RSS before hostile cases %ld KiB, after %ld KiB\n", rss_before, rss_after);
	{
		/* Under AddressSanitizer freed memory sits in quarantine and has
		 * shadow pages; tests/run.sh passes the extra allowance it needs. */
		const char *slack = getenv("PCHAT_TEST_RSS_SLACK_MB");
		long limit_kb = (32 + (slack ? atol(slack) : 0)) * 1024;

		printf("# RSS growth limit %ld KiB\n", limit_kb);
		CHECK(rss_before > 0 && rss_after - rss_before < limit_kb, "e2e-7.1 memory stays bounded");
	}
	test_cli();
	CHECK(server_answers(), "e2e-7.2 server answers at the end");
	CHECK(tserver_stop(&srv) == 0, "e2e-7.3 SIGTERM: clean exit status 0");
	CHECK(tserver_log_has(&srv, "event=stopped"), "e2e-7.4 log says stopped");

	/* Restart on the same folder: existing certificate and store are reused. */
	CHECK(tserver_restart(&srv) == 0, "e2e-8.1 restart reuses certificate and store");
	CHECK(server_answers(), "e2e-8.2 restarted server answers");
	{
		char out[1024];
		int rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "list", NULL);
		CHECK(rc == 0 && strcmp(out, "sip:alice@example.org\n") == 0, "e2e-8.3 users survive a restart");
	}
	CHECK(tserver_stop(&srv) == 0, "e2e-8.4 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e");
}
