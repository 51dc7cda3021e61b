/*
 * e2e_sec_files.c - the file service's security holes (issue 12, items 2, 6
 * and 13), end to end: tokens asked for over a real signed-in XCCOS dialog,
 * bodies over real HTTPS to the [files] listener, a real SQLite store.
 *
 *  - disk: an announced Content-Length takes no disk until the bytes come;
 *    a body that trickles is cut at [files] upload_deadline (or below
 *    upload_min_rate) and leaves no row and no bytes; quotas per user and per
 *    room refuse an upload before its body ([files] user_quota_kb,
 *    room_quota_kb, uploads in progress counted at their announced size);
 *    at most [files] uploads_per_user at once; a crash mid-upload leaves
 *    nothing after the restart.
 *  - tokens: spending one re-checks what issuing it checked (a removed
 *    member, a disabled room, a category's file switch turned off).
 *  - names: a download by id gets that file although a colleague uploaded
 *    the same name later; by name the answer names the uploader; names with
 *    bidirectional controls are refused.
 * Needs the CLI and sqlite3.
 */
#include "check.h"
#include "tchat.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

static struct tserver srv;
static char g_open[40], g_closed[40], g_switch[40], g_quota[40];

/* Bytes of the store file and its WAL on disk. */
static long long store_disk_bytes(void)
{
	const char *suffix[] = { "", "-wal" };
	long long total = 0;
	char path[400];
	struct stat st;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/pchat.db%s", srv.dir, suffix[i]);
		if (stat(path, &st) == 0)
			total += (long long)st.st_blocks * 512;
	}
	return total;
}

/* Open an upload on tk announcing len bytes and send the first sent bytes
 * of the body; the connection stays open (an upload in progress). */
static int put_begin(struct thttp *h, const struct ttoken *tk, unsigned long long len, const void *body, size_t sent)
{
	char head[512];

	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: %llu\r\n\r\n",
	         tk->token, tk->port, len);
	if (thttp_open(h, tk->port) < 0 || tclient_send(&h->t, head, strlen(head)) < 0 ||
	    (sent > 0 && tclient_send(&h->t, body, sent) < 0))
		return -1;
	return 0;
}

/* Upload data as name to room guid as u; the HTTP status (-1: no token). */
static int upload(struct tuser *u, const char *guid, const char *name, const void *data, size_t len)
{
	struct ttoken tk;
	struct thttp h;
	int st;

	if (tchat_get_token(u, 1, guid, name, &tk) != 200)
		return -1;
	st = thttp_put_file(&tk, data, len, &h);
	thttp_close(&h);
	return st;
}

/* 1 if the answer's body holds needle. */
static int body_has(const struct thttp *h, const char *needle)
{
	return h->body != NULL && memmem(h->body, h->body_len, needle, strlen(needle)) != NULL;
}

/* Rows of a file called name in any state, and chunk rows left anywhere but
 * in complete files (whose bytes they are). */
static long rows_named(const char *name)
{
	return tchat_sql_countf("SELECT count(*) FROM files WHERE name = '%s'", name);
}

static long chunk_rows(void)
{
	return tchat_sql_count("SELECT count(*) FROM file_chunks WHERE file_id NOT IN"
	                       " (SELECT id FROM files WHERE complete = 1)");
}

/* Wait up to ms until the query counts want. */
static int sql_wait(const char *query, long want, int ms)
{
	long end = tchat_now_ms() + tclient_scale_ms(ms);

	do {
		if (tchat_sql_count(query) == want)
			return 1;
		usleep(50 * 1000);
	} while (tchat_now_ms() < end);
	return 0;
}

static void setup(void)
{
	const char *users[] = { "alice", "bob", "carol" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	tchat_guid_of(tchat_cli("room", "add", "Open", "--privacy", "open", NULL), g_open);
	tchat_guid_of(tchat_cli("room", "add", "Closed", "--privacy", "closed", "--member", "alice", "--member", "bob", NULL),
	              g_closed);
	CHECK(tchat_cli("category", "add", "switchable", "--file-upload", "on", NULL) != NULL, "sf-0.1 a category with files on");
	tchat_guid_of(tchat_cli("room", "add", "Switch", "--privacy", "open", "--category", "switchable", NULL), g_switch);
	tchat_guid_of(tchat_cli("room", "add", "Quota", "--privacy", "open", NULL), g_quota);
	CHECK(strlen(g_open) == 36 && strlen(g_closed) == 36 && strlen(g_switch) == 36 && strlen(g_quota) == 36,
	      "sf-0.2 rooms created");
}

/* ---- item 13: names ------------------------------------------------------------ */

static void test_names(struct tuser *alice, struct tuser *bob, struct tuser *carol)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE: shows "reportexe.pdf". */
	const char *bidi[] = { "report\xe2\x80\xae" "fdp.exe", "a\xe2\x80\x8e" "b", "a\xe2\x80\x8f" "b", "a\xe2\x80\xaa" "b",
	                       "\xe2\x81\xa6" "x", "x\xe2\x81\xa9", "x\xd8\x9c" "y" };
	char id_alice[32], id_closed[32], ref[96];
	struct ttoken tk;
	struct thttp h;
	long id;
	int refused = 0;

	for (size_t i = 0; i < sizeof bidi / sizeof bidi[0]; i++)
		refused += tchat_get_token(alice, 1, g_open, bidi[i], &tk) == 400 && tchat_has(&alice->in, "ERR_BAD_FILE_NAME");
	CHECK(refused == (int)(sizeof bidi / sizeof bidi[0]),
	      "sf-13.1 upload names with bidi or format controls (U+202E, U+200E/F, U+202A, U+2066, U+2069, U+061C) -> 400 ERR_BAD_FILE_NAME");
	CHECK(upload(alice, g_open, "na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac.txt", "ok", 2) == 201,
	      "sf-13.2 other non-ASCII names are still accepted");

	/* Alice shares report.txt, then bob uploads his own report.txt. */
	CHECK(upload(alice, g_open, "report.txt", "from alice", 10) == 201, "sf-13.3 alice uploads report.txt");
	id = tchat_sql_count("SELECT id FROM files WHERE name = 'report.txt' AND uploader = 'sip:alice@example.org'");
	snprintf(id_alice, sizeof id_alice, "%ld", id);
	CHECK(upload(bob, g_open, "report.txt", "bob's fake", 10) == 201, "sf-13.4 bob uploads a file of the same name");

	/* By id (the announcement's <file id>): alice's file. */
	snprintf(ref, sizeof ref, "report.txt\" fileId=\"%s", id_alice);
	CHECK(id > 0 && tchat_get_token(carol, 0, g_open, ref, &tk) == 200 && thttp_get_file(&tk, &h) == 200 &&
	      h.body_len == 10 && memcmp(h.body, "from alice", 10) == 0 &&
	      strstr(h.head, "X-Pchat-Uploader: sip:alice@example.org\r\n") != NULL,
	      "sf-13.5 a download by fileId gets that file although a newer one has its name");
	thttp_close(&h);
	snprintf(ref, sizeof ref, "\" fileId=\"%s", id_alice);
	CHECK(tchat_get_token(carol, 0, g_open, ref, &tk) == 200 && thttp_get_file(&tk, &h) == 200 &&
	      h.body_len == 10 && memcmp(h.body, "from alice", 10) == 0, "sf-13.6 fileId alone (empty fileUrl) works too");
	thttp_close(&h);

	/* By name: the newest, and the answer names who uploaded it. */
	CHECK(tchat_get_token(carol, 0, g_open, "report.txt", &tk) == 200 && thttp_get_file(&tk, &h) == 200 &&
	      h.body_len == 10 && memcmp(h.body, "bob's fake", 10) == 0 &&
	      strstr(h.head, "X-Pchat-Uploader: sip:bob@example.org\r\n") != NULL,
	      "sf-13.7 a download by name says who uploaded the file it got");
	thttp_close(&h);

	/* An id names a file of the room the token is for, never another's. */
	CHECK(upload(alice, g_closed, "secret.txt", "closed room", 11) == 201, "sf-13.8 a file in a closed room");
	snprintf(id_closed, sizeof id_closed, "%ld", tchat_sql_count("SELECT id FROM files WHERE name = 'secret.txt'"));
	snprintf(ref, sizeof ref, "x\" fileId=\"%s", id_closed);
	CHECK(tchat_get_token(carol, 0, g_open, ref, &tk) == 404, "sf-13.9 its id through another room's channel -> 404");
	CHECK(tchat_get_token(carol, 0, g_open, "x\" fileId=\"12x", &tk) == 400, "sf-13.10 a fileId that is not a number -> 400");
}

/* ---- item 6: a token is re-checked when spent ------------------------------------- */

static void test_token_recheck(struct tuser *alice, struct tuser *bob)
{
	struct ttoken down, up, tk;
	struct thttp h;
	char out[256];

	/* bob, a member of the closed room, takes tokens; then is removed. */
	CHECK(tchat_get_token(bob, 0, g_closed, "secret.txt", &down) == 200 &&
	      tchat_get_token(bob, 1, g_closed, "bob-late.txt", &up) == 200, "sf-6.1 member bob gets a download and an upload token");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "set", "Closed", "--remove-member", "bob", NULL) == 0,
	      "sf-6.2 bob is removed from the room");
	CHECK(thttp_get_file(&down, &h) == 403, "sf-6.3 the removed member's download token -> 403");
	thttp_close(&h);
	CHECK(thttp_put_file(&up, "late", 4, &h) == 403 && rows_named("bob-late.txt") == 0,
	      "sf-6.4 the removed member's upload token -> 403, nothing stored");
	thttp_close(&h);

	/* A room disabled after the token was issued. */
	CHECK(tchat_get_token(alice, 1, g_open, "disabled.txt", &tk) == 200, "sf-6.5 alice gets an upload token");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "disable", "Open", NULL) == 0, "sf-6.6 the room is disabled");
	CHECK(thttp_put_file(&tk, "nope", 4, &h) == 403 && rows_named("disabled.txt") == 0 &&
	      tchat_sql_count("SELECT count(*) FROM messages WHERE text LIKE '%disabled.txt%'") == 0 &&
	      tchat_sql_count("SELECT count(*) FROM compliance_events WHERE content = 'disabled.txt'") == 0,
	      "sf-6.7 an upload to a disabled room -> 403: not stored, announced nor archived");
	thttp_close(&h);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "room", "enable", "Open", NULL) == 0, "sf-6.8 the room is enabled again");

	/* The category's file switch turned off after the token was issued. */
	CHECK(tchat_join(alice, g_switch) == 200 && tchat_get_token(alice, 1, g_switch, "switch.txt", &tk) == 200,
	      "sf-6.9 upload token in a room whose category allows files");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "category", "set", "switchable", "--file-upload", "off", NULL) == 0,
	      "sf-6.10 the category's file switch is turned off");
	CHECK(thttp_put_file(&tk, "nope", 4, &h) == 403 && rows_named("switch.txt") == 0,
	      "sf-6.11 the token issued before -> 403, nothing stored");
	thttp_close(&h);
	CHECK(tchat_get_token(alice, 1, g_switch, "switch.txt", &tk) == 403, "sf-6.12 a new upload token is refused too");
	CHECK(upload(alice, g_open, "still.txt", "fine", 4) == 201, "sf-6.13 uploads elsewhere still work");
}

/* ---- item 2: disk, quotas, concurrency --------------------------------------------- */

static void test_disk(struct tuser *alice, struct tuser *bob)
{
	static unsigned char body[64 * 1024];
	struct ttoken tk, tk2;
	struct thttp h, h2, h3;
	long long before, during;

	tchat_fill(body, sizeof body, 5);
	/* A claimed 6 MiB (within max_file_kb and the quota) reserves nothing. */
	before = store_disk_bytes();
	CHECK(tchat_get_token(alice, 1, g_quota, "claimed.bin", &tk) == 200 && put_begin(&h, &tk, 6ull * MIB, body, 10) == 0,
	      "sf-2.1 an upload announcing 6 MiB sends 10 bytes and waits");
	CHECK(sql_wait("SELECT count(*) FROM files WHERE name = 'claimed.bin' AND complete = 0", 1, 3000),
	      "sf-2.2 the upload is in progress");
	usleep(300 * 1000);
	during = store_disk_bytes();
	printf("# store on disk: %lld bytes before, %lld during the 6 MiB upload\n", before, during);
	CHECK(during - before < 2ll * MIB, "sf-2.3 the store does not grow by the announced length");
	thttp_close(&h);
	CHECK(sql_wait("SELECT count(*) FROM files WHERE name = 'claimed.bin'", 0, 3000) && chunk_rows() == 0,
	      "sf-2.4 the cut-off upload leaves no row and no bytes");

	/* Quotas: user 8 MiB, room 12 MiB; uploads in progress count at their
	 * announced size. */
	before = store_disk_bytes();
	CHECK(tchat_get_token(alice, 1, g_quota, "over.bin", &tk) == 200 && put_begin(&h, &tk, 9ull * MIB, NULL, 0) == 0 &&
	      thttp_read(&h, tclient_scale_ms(3000)) == 507 && body_has(&h, "quota"),
	      "sf-2.5 an upload over the user's quota (9 MiB of 8) -> 507 before its body");
	thttp_close(&h);
	CHECK(rows_named("over.bin") == 0 && store_disk_bytes() - before < 2ll * MIB, "sf-2.6 ... and the store did not grow");
	CHECK(tchat_get_token(alice, 1, g_quota, "seven.bin", &tk) == 200 && put_begin(&h, &tk, 7ull * MIB, body, 100) == 0 &&
	      sql_wait("SELECT count(*) FROM files WHERE name = 'seven.bin' AND complete = 0", 1, 3000),
	      "sf-2.7 alice starts a 7 MiB upload");
	CHECK(tchat_get_token(alice, 1, g_quota, "two.bin", &tk2) == 200 && put_begin(&h2, &tk2, 2ull * MIB, NULL, 0) == 0 &&
	      thttp_read(&h2, tclient_scale_ms(3000)) == 507, "sf-2.8 a second one passing her quota together -> 507");
	thttp_close(&h2);
	CHECK(tchat_join(bob, g_quota) == 200 && tchat_get_token(bob, 1, g_quota, "six.bin", &tk2) == 200 &&
	      put_begin(&h2, &tk2, 6ull * MIB, NULL, 0) == 0 && thttp_read(&h2, tclient_scale_ms(3000)) == 507 &&
	      body_has(&h2, "room"), "sf-2.9 bob's 6 MiB would pass the room's 12 MiB -> 507");
	thttp_close(&h2);

	/* At most uploads_per_user = 2 at once. */
	CHECK(tchat_get_token(alice, 1, g_open, "second.bin", &tk2) == 200 && put_begin(&h2, &tk2, 1000, body, 10) == 0 &&
	      sql_wait("SELECT count(*) FROM files WHERE name = 'second.bin' AND complete = 0", 1, 3000),
	      "sf-2.10 alice's second upload at once is taken");
	CHECK(tchat_get_token(alice, 1, g_open, "third.bin", &tk) == 200 && put_begin(&h3, &tk, 1000, NULL, 0) == 0 &&
	      thttp_read(&h3, tclient_scale_ms(3000)) == 429 && rows_named("third.bin") == 0,
	      "sf-2.11 a third at once -> 429");
	thttp_close(&h3);
	CHECK(upload(bob, g_open, "bobs.bin", body, 1000) == 201, "sf-2.12 another user is not held back");
	CHECK(tclient_send(&h2.t, body + 10, 990) == 0 && thttp_read(&h2, tclient_scale_ms(5000)) == 201,
	      "sf-2.13 the second upload completes");
	thttp_close(&h2);
	CHECK(thttp_put_file(&tk, body, 1000, &h3) == 201, "sf-2.14 with one slot free, the refused token now uploads");
	thttp_close(&h3);
	thttp_close(&h);
	CHECK(sql_wait("SELECT count(*) FROM files WHERE complete = 0", 0, 3000) && chunk_rows() == 0,
	      "sf-2.15 the abandoned 7 MiB upload leaves nothing");
}

/* A crash in the middle of an upload: nothing of it after the restart. */
static void test_crash(struct tuser *alice)
{
	static unsigned char body[200 * 1024];
	struct ttoken tk;
	struct thttp h;

	tchat_fill(body, sizeof body, 9);
	CHECK(tchat_get_token(alice, 1, g_open, "crash.bin", &tk) == 200 &&
	      put_begin(&h, &tk, 1ull * MIB, body, sizeof body) == 0 &&
	      sql_wait("SELECT count(*) > 0 FROM file_chunks WHERE file_id IN"
	               " (SELECT id FROM files WHERE complete = 0)", 1, 3000),
	      "sf-2.16 an upload in progress has its received bytes in the store");
	tserver_kill(&srv);
	thttp_close(&h);
	tchat_sign_out(alice);
	/* sqlite3 runs without foreign keys: a piece of no file at all. */
	CHECK(tchat_sql_exec("INSERT INTO file_chunks (file_id, offset, data) VALUES (999999, 0, x'00')") == 0,
	      "sf-2.17 an orphan piece, as a tool without foreign keys could leave");
	CHECK(tserver_restart(&srv) == 0 && rows_named("crash.bin") == 0 && chunk_rows() == 0,
	      "sf-2.18 after a crash and restart, no row and no bytes of it (nor the orphan) remain");
}

/* A body that trickles in is cut; the upload leaves nothing. */
static void test_trickle(struct tuser *alice, int deadline)
{
	struct ttoken tk;
	struct thttp h;
	long t0 = tchat_now_ms(), end = t0 + tclient_scale_ms(deadline ? 8000 : 16000);
	const char *name = deadline ? "trickle.bin" : "slow.bin";
	int cut = 0;

	CHECK(tchat_get_token(alice, 1, g_open, name, &tk) == 200 && put_begin(&h, &tk, 100000, "x", 1) == 0,
	      deadline ? "sf-2.19 an upload that trickles one byte at a time" : "sf-2.22 an upload below the minimum rate");
	/* Send a byte every 200 ms until the server answers. */
	while (!cut && tchat_now_ms() < end) {
		struct pollfd p = { .fd = h.t.fd, .events = POLLIN };

		if (poll(&p, 1, 200) != 0)
			cut = 1;
		else if (tclient_send(&h.t, "x", 1) < 0)
			cut = 1;
	}
	CHECK(thttp_read(&h, tclient_scale_ms(3000)) == 408 && tchat_now_ms() < end,
	      deadline ? "sf-2.20 is cut with 408 after [files] upload_deadline" : "sf-2.23 is cut with 408 by [files] upload_min_rate");
	printf("# cut after %ld ms\n", tchat_now_ms() - t0);
	thttp_close(&h);
	CHECK(sql_wait("SELECT count(*) FROM files WHERE complete = 0", 0, 3000) && rows_named(name) == 0 && chunk_rows() == 0,
	      deadline ? "sf-2.21 and leaves no row and no bytes" : "sf-2.24 and leaves no row and no bytes");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" };
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin,
	                         "[files]\nlisten = 127.0.0.1:0\nmax_file_kb = 16384\nupload_deadline = 0\nupload_min_rate = 0\n"
	                         "uploads_per_user = 2\nuser_quota_kb = 8192\nroom_quota_kb = 12288\n") == 0,
	           "sf-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_sec_files");
	}
	setup();
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_sign_in(&carol) == 0, "sf-0.3 three users sign in");
	CHECK(tchat_join(&alice, g_open) == 200 && tchat_join(&bob, g_open) == 200 && tchat_join(&carol, g_open) == 200 &&
	      tchat_join(&alice, g_closed) == 200 && tchat_join(&bob, g_closed) == 200 && tchat_join(&alice, g_quota) == 200,
	      "sf-0.4 they join");

	test_names(&alice, &bob, &carol);
	test_token_recheck(&alice, &bob);
	test_disk(&alice, &bob);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	test_crash(&alice);

	/* Slow bodies: a 2 s deadline, then (deadline off) a 1 KiB/s rate. */
	CHECK(tserver_stop(&srv) == 0, "sf-0.5 clean stop");
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\nupload_deadline = 2\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && tchat_sign_in(&alice) == 0 && tchat_join(&alice, g_open) == 200,
	      "sf-0.6 restart with upload_deadline = 2");
	test_trickle(&alice, 1);
	tchat_sign_out(&alice);
	CHECK(tserver_stop(&srv) == 0, "sf-0.7 clean stop");
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\nupload_deadline = 0\nupload_min_rate = 1024\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && tchat_sign_in(&alice) == 0 && tchat_join(&alice, g_open) == 200,
	      "sf-0.8 restart with upload_min_rate = 1024");
	test_trickle(&alice, 0);
	tchat_sign_out(&alice);
	CHECK(tserver_stop(&srv) == 0, "sf-0.9 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_sec_files");
}
