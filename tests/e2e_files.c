/*
 * e2e_files.c - file transfer end to end: tokens asked for over XCCOS in a
 * real signed-in channel dialog (cmd:getfutok / cmd:getfdtok), bodies moved
 * over a real HTTPS connection to the [files] listener (mbedTLS, the test
 * client's TLS), stored in the real SQLite file; the room's announcement,
 * the compliance events, the admin CLI, refusals of every kind, a restart
 * that purges a crashed upload, token expiry, [files] enabled = false, and
 * the server's peak memory while a 20 MB file goes in and out.  Needs the
 * CLI and sqlite3.
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

#include <mbedtls/sha256.h>

#define KIB 1024u
#define MAX_KB 2048u                    /* [files] max_file_kb of the first server */
#define BIG_BYTES (20u * 1024 * 1024)   /* the memory test's file */

static struct tserver srv;
static int uploads, downloads;          /* successful transfers, for the compliance counts */

/* Upload data as name (XML-escaped in name_xml) to room guid; 1 on a 201. */
static int upload(struct tuser *u, const char *guid, const char *name_xml, const void *data, size_t len)
{
	struct ttoken tk;
	struct thttp h;
	int st;

	if (tchat_get_token(u, 1, guid, name_xml, &tk) != 200)
		return 0;
	st = thttp_put_file(&tk, data, len, &h);
	thttp_close(&h);
	if (st == 201)
		uploads++;
	return st == 201;
}

/* Download name and compare with want; 1 when the bytes are equal. */
static int download_equal(struct tuser *u, const char *guid, const char *name_xml, const void *want, size_t len)
{
	struct ttoken tk;
	struct thttp h;
	int ok;

	if (tchat_get_token(u, 0, guid, name_xml, &tk) != 200)
		return 0;
	ok = thttp_get_file(&tk, &h) == 200 && h.body_len == len && (len == 0 || memcmp(h.body, want, len) == 0) &&
	     strstr(h.head, "Content-Type: application/octet-stream\r\n") != NULL;
	if (h.status == 200)
		downloads++;
	thttp_close(&h);
	return ok;
}

static long vm_hwm_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- the tests ---------------------------------------------------------------------- */

static char g_files[40], g_private[40], g_noup[40], g_stage[40];
static unsigned char *mib, *max_file;

static void setup_rooms(void)
{
	const char *users[] = { "alice", "bob", "carol" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	tchat_guid_of(tchat_cli("room", "add", "Files", "--privacy", "open", NULL), g_files);
	tchat_guid_of(tchat_cli("room", "add", "Private", "--privacy", "closed", "--member", "alice", NULL), g_private);
	CHECK(tchat_cli("category", "add", "nofiles", "--file-upload", "off", NULL) != NULL, "files-0.1 category with uploads off");
	tchat_guid_of(tchat_cli("room", "add", "NoUpload", "--privacy", "open", "--category", "nofiles", NULL), g_noup);
	tchat_guid_of(tchat_cli("room", "add", "Stage", "--privacy", "open", "--type", "auditorium", "--presenter", "alice", NULL),
	        g_stage);
	CHECK(strlen(g_files) == 36 && strlen(g_private) == 36 && strlen(g_noup) == 36 && strlen(g_stage) == 36,
	      "files-0.2 rooms created");
}

static void test_transfers(struct tuser *alice, struct tuser *bob)
{
	unsigned char one = 0x5a;
	char sha[65], want[200];
	struct ttoken tk;
	struct thttp h;

	CHECK(upload(alice, g_files, "empty.bin", "", 0), "files-1.1 upload of 0 bytes -> 201");
	CHECK(upload(alice, g_files, "one.bin", &one, 1), "files-1.2 upload of 1 byte -> 201");
	tchat_clear(bob);
	CHECK(upload(alice, g_files, "mib.bin", mib, 1u << 20), "files-1.3 upload of 1 MiB -> 201");
	CHECK(upload(alice, g_files, "max.bin", max_file, MAX_KB * KIB), "files-1.4 upload of exactly max_file_kb -> 201");
	tchat_sha_hex(mib, 1u << 20, sha);
	snprintf(want, sizeof want, "size=\"1048576\" sha256=\"%s\" name=\"mib.bin\"/>", sha);
	CHECK(tchat_wait_for(bob, want, 5000) && tchat_has(&bob->in, "<grpchat") && tchat_has(&bob->in, "author=\"sip:alice@example.org\"") &&
	      tchat_has(&bob->in, "shared the file"), "files-1.5 another member gets the announcement with <file> (size, sha256, name)");

	CHECK(download_equal(bob, g_files, "empty.bin", "", 0), "files-2.1 download of the 0-byte file: equal");
	CHECK(download_equal(bob, g_files, "one.bin", &one, 1), "files-2.2 download of the 1-byte file: equal");
	CHECK(download_equal(bob, g_files, "mib.bin", mib, 1u << 20), "files-2.3 download of the 1 MiB file: equal");
	CHECK(download_equal(alice, g_files, "max.bin", max_file, MAX_KB * KIB), "files-2.4 download of the largest file: equal");

	/* A name that needs escaping, and a newer upload of the same name. */
	CHECK(upload(alice, g_files, "a&amp;b &lt;c&gt;.txt", "first", 5) && upload(alice, g_files, "a&amp;b &lt;c&gt;.txt", "second!", 7),
	      "files-2.5 two uploads of a name with & < >");
	CHECK(download_equal(bob, g_files, "a&amp;b &lt;c&gt;.txt", "second!", 7), "files-2.6 download gets the latest upload of a name");

	/* Too large: 413 right after the headers; no body was sent. */
	CHECK(tchat_get_token(alice, 1, g_files, "over.bin", &tk) == 200, "files-3.1 upload token for the oversized file");
	{
		char head[512];

		snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", tk.token,
		         MAX_KB * KIB + 1);
		CHECK(thttp_do(&h, tk.port, head, NULL, 0) == 413 && h.body_len > 0 &&
		      memmem(h.body, h.body_len, "2048 KiB", 8) != NULL,
		      "files-3.2 one byte over max_file_kb -> 413 before any body is sent, with the limit in the text");
		thttp_close(&h);
	}
}

/* Every way a request can be refused. */
static void test_refusals(struct tuser *alice, struct tuser *bob)
{
	struct ttoken up, down, tk;
	struct thttp h;
	char head[512];

	/* Token-time refusals (xccos.c's rules). */
	CHECK(tchat_get_token(bob, 1, g_private, "x.bin", &tk) != 200 && tk.token[0] == '\0',
	      "files-4.1 a non-member of a closed room gets no upload token");
	CHECK(tchat_get_token(bob, 0, g_private, "x.bin", &tk) != 200 && tk.token[0] == '\0',
	      "files-4.2 nor a download token");
	CHECK(tchat_get_token(alice, 1, g_noup, "x.bin", &tk) == 403, "files-4.3 category with file upload off: 403 at token time");
	CHECK(tchat_get_token(bob, 1, g_stage, "x.bin", &tk) == 403, "files-4.4 auditorium: a participant may not upload (403)");
	CHECK(upload(alice, g_stage, "slides.pdf", "%PDF", 4) && download_equal(bob, g_stage, "slides.pdf", "%PDF", 4),
	      "files-4.5 auditorium: the presenter uploads, a participant downloads");
	CHECK(tchat_get_token(bob, 0, g_files, "nosuch.bin", &tk) == 404, "files-4.6 download token for a name never uploaded: 404");
	CHECK(tchat_get_token(alice, 1, g_files, "../etc/passwd", &tk) == 400 && tchat_get_token(alice, 1, g_files, "", &tk) != 200,
	      "files-4.7 a name with a slash, or an empty one, is refused");

	/* Spent tokens. */
	CHECK(tchat_get_token(alice, 1, g_files, "twice.bin", &up) == 200, "files-5.1 upload token");
	CHECK(thttp_put_file(&up, "abc", 3, &h) == 201, "files-5.2 first use -> 201");
	uploads++;
	CHECK(h.body_len > 0 && memmem(h.body, h.body_len, "stored twice.bin (3 bytes", 25) != NULL &&
	      strstr(h.head, "Connection: close\r\n") != NULL, "files-5.3 201 says what was stored");
	thttp_close(&h);
	CHECK(thttp_put_file(&up, "xyz", 3, &h) == 403, "files-5.4 the same upload token again -> 403");
	thttp_close(&h);
	CHECK(tchat_get_token(bob, 0, g_files, "twice.bin", &down) == 200 && thttp_get_file(&down, &h) == 200, "files-5.5 download once");
	downloads++;
	thttp_close(&h);
	CHECK(thttp_get_file(&down, &h) == 403 && h.body_len > 0 && memmem(h.body, h.body_len, "token", 5),
	      "files-5.6 the same download token again -> 403 with a one-line reason");
	thttp_close(&h);

	/* Wrong method, shape or framing: refused, and the token is not spent. */
	CHECK(tchat_get_token(alice, 1, g_files, "shape.bin", &up) == 200, "files-6.1 upload token");
	CHECK(thttp_get_file(&up, &h) == 405 && strstr(h.head, "Allow: PUT\r\n"), "files-6.2 GET with an upload token -> 405 Allow: PUT");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 411, "files-6.3 PUT without Content-Length -> 411");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	         up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 501, "files-6.4 chunked PUT -> 501");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 400, "files-6.5 HTTP/1.1 without Host -> 400");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost x\r\nContent-Length: 1\r\n\r\nx", up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 400, "files-6.6 a header line without a colon -> 400");
	thttp_close(&h);
	CHECK(thttp_do(&h, up.port, "GARBAGE\r\n\r\n", NULL, 0) == 400, "files-6.7 garbage -> 400");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
	         up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 400, "files-6.8 two different Content-Lengths -> 400");
	thttp_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", up.token);
	CHECK(thttp_do(&h, up.port, head, NULL, 0) == 400, "files-6.9 negative Content-Length -> 400");
	thttp_close(&h);
	CHECK(thttp_do(&h, up.port, "PUT /etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", NULL, 0) == 404,
	      "files-6.10 a path outside /files -> 404");
	thttp_close(&h);
	CHECK(thttp_do(&h, up.port, "GET /files/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0) == 403,
	      "files-6.11 a made-up token -> 403");
	thttp_close(&h);
	{
		static char big[20000];

		memset(big, 'a', sizeof big - 1);
		memcpy(big, "GET /files/x HTTP/1.1\r\nX-Pad: ", 30);
		CHECK(thttp_do(&h, up.port, big, NULL, 0) == 431, "files-6.12 a head over max_header_bytes -> 431");
		thttp_close(&h);
	}
	/* Expect: 100-continue, and absolute-form target; the token survived all of the above. */
	snprintf(head, sizeof head, "PUT https://127.0.0.1:%u/files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	         "Expect: 100-continue\r\n\r\n", up.port, up.token);
	if (CHECK(thttp_open(&h, up.port) == 0 && tclient_send(&h.t, head, strlen(head)) == 0, "files-6.14 connect")) {
		unsigned char got[64];
		int r;

		mbedtls_ssl_conf_read_timeout(&h.t.conf, 5000);
		r = mbedtls_ssl_read(&h.t.ssl, got, sizeof got - 1);
		CHECK(r == 25 && memcmp(got, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0,
		      "files-6.15 Expect: 100-continue -> 100 Continue before the body");
		CHECK(tclient_send(&h.t, "hello", 5) == 0 && thttp_read(&h, 5000) == 201,
		      "files-6.16 the unspent token still uploads after the refusals -> 201");
		uploads++;
	}
	thttp_close(&h);

	/* Truncated body: the partial upload is discarded. */
	CHECK(tchat_get_token(alice, 1, g_files, "cut.bin", &up) == 200, "files-7.1 upload token");
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", up.token);
	if (thttp_open(&h, up.port) == 0 && tclient_send(&h.t, head, strlen(head)) == 0 &&
	    tclient_send(&h.t, mib, 5000) == 0) {
		long deadline = tchat_now_ms() + 3000;

		while (tchat_sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") != 1 && tchat_now_ms() < deadline)
			usleep(20000);
		CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin' AND complete = 0") == 1,
		      "files-7.2 while the body arrives the row exists, incomplete");
		thttp_close(&h);     /* cut mid-body */
		deadline = tchat_now_ms() + 5000;
		while (tchat_sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") != 0 && tchat_now_ms() < deadline)
			usleep(20000);
		CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") == 0,
		      "files-7.3 connection closed mid-body: the partial upload is deleted");
	} else {
		CHECK(0, "files-7.2 partial upload sent");
		thttp_close(&h);
	}
	CHECK(tchat_get_token(bob, 0, g_files, "cut.bin", &tk) == 404, "files-7.4 its name cannot be downloaded (404)");
	CHECK(thttp_put_file(&up, "x", 1, &h) == 403, "files-7.5 the cut upload spent its token");
	thttp_close(&h);
	CHECK(tchat_cli("room", "list", NULL) != NULL, "files-7.6 server and CLI alive after the hostile requests");
}

/* A body sent in many small TLS records, each likely read in its own pass:
 * the file's stored pieces are few (FILES_PIECE_MIN), not one per record,
 * and the file is whole. */
static void test_dribble(struct tuser *alice, struct tuser *bob)
{
	struct ttoken up;
	struct thttp h;
	char head[512];
	int sent = 1;

	CHECK(tchat_get_token(alice, 1, g_files, "dribble.bin", &up) == 200, "files-7.8 upload token");
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n", up.token);
	if (thttp_open(&h, up.port) < 0 || tclient_send(&h.t, head, strlen(head)) < 0)
		sent = 0;
	for (int i = 0; i < 60 && sent; i++) {
		sent = tclient_send(&h.t, mib + i * 100, 100) == 0;
		usleep(3000);
	}
	CHECK(sent && thttp_read(&h, 5000) == 201, "files-7.9 6,000 bytes in 60 TLS records of 100 -> 201");
	thttp_close(&h);
	uploads += sent;
	CHECK(tchat_sql_count("SELECT count(*) FROM file_chunks WHERE file_id = (SELECT id FROM files WHERE name ="
	                      " 'dribble.bin')") == 1,
	      "files-7.10 stored as one piece, not one row per record");
	CHECK(download_equal(bob, g_files, "dribble.bin", mib, 6000), "files-7.11 and downloads whole");
}

static void test_cli(void)
{
	char out[8192], path[400];
	const char *line;
	long id = 0;
	FILE *f;
	static unsigned char back[1u << 20];
	size_t n = 0;

	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "list", "Files", NULL) == 0, "files-8.1 file list runs");
	line = strstr(out, "\tmib.bin\t1048576\tsip:alice@example.org\t");
	CHECK(line != NULL && strstr(out, "\tempty.bin\t0\t") && strstr(out, "\tone.bin\t1\t") &&
	      !strstr(out, "cut.bin") && !strstr(out, "over.bin"),
	      "files-8.2 list: id, name, size, uploader, tab-separated; nothing cut or refused listed");
	if (line) {
		char sha[65];

		while (line > out && line[-1] != '\n')
			line--;
		id = atol(line);
		tchat_sha_hex(mib, 1u << 20, sha);
		CHECK(strstr(line, sha) != NULL && strstr(line, "\t20") != NULL, "files-8.3 list shows time and sha256");
	}
	snprintf(path, sizeof path, "%s/out.bin", srv.dir);
	{
		char ids[24];

		snprintf(ids, sizeof ids, "%ld", id);
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "get", ids, path, NULL) == 0 &&
		      strstr(out, "wrote 1048576 bytes"), "files-8.4 file get writes the file");
		if ((f = fopen(path, "rb")) != NULL) {
			n = fread(back, 1, sizeof back, f);
			fclose(f);
		}
		CHECK(n == sizeof back && memcmp(back, mib, n) == 0, "files-8.5 ... with the same bytes");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "get", ids, path, NULL) == 1 &&
		      strstr(out, "already exists"), "files-8.6 file get refuses to overwrite");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "get", "999999", path, NULL) == 1 &&
		      strstr(out, "no such file"), "files-8.7 file get of an unknown id: error");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "del", "zero", NULL) == 2, "files-8.8 bad id: usage");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "del", ids, NULL) == 0 && strstr(out, "deleted file"),
		      "files-8.9 file del");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "list", "Files", NULL) == 0 && !strstr(out, "\tmib.bin\t"),
		      "files-8.10 the deleted file is no longer listed");
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "del", ids, NULL) == 1, "files-8.11 deleting it again: error");
	}
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE 'file del %mib.bin'") == 1 &&
	      tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE 'file get %mib.bin'") == 1,
	      "files-8.12 file get and file del recorded as ADMIN events");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "list", "No Such Room", NULL) == 1, "files-8.13 unknown room: error");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" };
	struct ttoken tk;
	struct thttp h;
	char extra[256];
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	mib = malloc(1u << 20);
	max_file = malloc(MAX_KB * KIB);
	tchat_fill(mib, 1u << 20, 7);
	tchat_fill(max_file, MAX_KB * KIB, 11);
	snprintf(extra, sizeof extra, "[files]\nlisten = 127.0.0.1:0\nmax_file_kb = %u\ntoken_ttl = 300\n", MAX_KB);
	if (!CHECK(tserver_start(&srv, bin, extra) == 0, "files-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_files");
	}
	CHECK(tserver_log_has(&srv, "event=files-listen port="), "files-0.3 log says event=files-listen port=N");
	setup_rooms();
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0, "files-0.4 alice and bob sign in");
	CHECK(tchat_join(&alice, g_files) == 200 && tchat_join(&bob, g_files) == 200, "files-0.5 both join the room");
	CHECK(tchat_get_token(&alice, 1, g_files, "probe", &tk) == 200 && strlen(tk.token) == 36 && tk.port != 0 &&
	      strncmp(tk.url, "https://127.0.0.1:", 18) == 0 && strstr(tk.url, "/PersistentChat/MGCWebService.asmx") != NULL,
	      "files-0.6 a token is a GUID and serveruri the listener's https URL of the SOAP service");

	test_transfers(&alice, &bob);
	test_refusals(&alice, &bob);
	test_dribble(&alice, &bob);
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "files-7.7 every server SIP message was signed correctly");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD'") == uploads,
	      "files-9.1 one FILEUPLOAD event per completed upload");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEDOWNLOAD'") == downloads,
	      "files-9.2 one FILEDOWNLOAD event per download");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND content = 'mib.bin' "
	                "AND user_uri = 'sip:alice@example.org'") == 1, "files-9.3 FILEUPLOAD names the file and the uploader");
	test_cli();
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD'") == uploads,
	      "files-9.4 deleting a file keeps its FILEUPLOAD event");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);

	/* Restart: an incomplete row (a crashed upload) is purged; short tokens,
	 * a larger cap for the memory test. */
	CHECK(tserver_stop(&srv) == 0, "files-10.1 clean stop");
	{
		char sql[512];

		snprintf(sql, sizeof sql, "PRAGMA foreign_keys = ON; INSERT INTO files (room_id, name, uploader, size, created_us, complete) "
		         "SELECT id, 'crashed.bin', 'sip:alice@example.org', 10, 0, 0 FROM rooms WHERE name = 'Files'; "
		         "INSERT INTO file_chunks (file_id, offset, data) VALUES (last_insert_rowid(), 0, zeroblob(10))");
		CHECK(tchat_sql_exec(sql) == 0 && tchat_sql_count("SELECT count(*) FROM files WHERE complete = 0") == 1 &&
		      tchat_sql_count("SELECT count(*) FROM file_chunks WHERE file_id NOT IN (SELECT id FROM files)") == 0,
		      "files-10.2 an incomplete row, as a crash would leave");
	}
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\ntoken_ttl = 1\nmax_file_kb = 25000\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0, "files-10.3 restart, sign in");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE complete = 0") == 0 && tserver_log_has(&srv, "event=files-purged count=1") &&
	      tchat_sql_count("SELECT count(*) FROM file_chunks WHERE file_id NOT IN (SELECT id FROM files)") == 0 &&
	      tchat_sql_count("SELECT count(*) FROM files f WHERE size != (SELECT coalesce(sum(length(data)), 0)"
	                      " FROM file_chunks WHERE file_id = f.id)") == 0,
	      "files-10.4 incomplete uploads are deleted at start-up, every complete file keeps all its bytes");
	CHECK(download_equal(&bob, g_files, "one.bin", "\x5a", 1), "files-10.5 stored files survive the restart");
	CHECK(download_equal(&bob, g_files, "max.bin", max_file, MAX_KB * KIB),
	      "files-10.5b a file of many chunks downloads equal after the restart");
	CHECK(tchat_get_token(&alice, 1, g_files, "late.bin", &tk) == 200, "files-10.6 token with token_ttl = 1");
	usleep(2200 * 1000);
	CHECK(thttp_put_file(&tk, "late", 4, &h) == 403, "files-10.7 an expired token -> 403");
	thttp_close(&h);

	{
		unsigned char *big = malloc(BIG_BYTES);
		long before, after_up, after_down, slack = getenv("PCHAT_TEST_RSS_SLACK_MB") ? atol(getenv("PCHAT_TEST_RSS_SLACK_MB")) : 0;
		char sha[65], want[160];
		long t0;

		tchat_fill(big, BIG_BYTES, 23);
		before = vm_hwm_kb();
		t0 = tchat_now_ms();
		CHECK(upload(&alice, g_files, "big.bin", big, BIG_BYTES), "files-11.1 a 20 MB upload -> 201");
		after_up = vm_hwm_kb();
		printf("# 20 MB upload took %ld ms\n", tchat_now_ms() - t0);
		tchat_sha_hex(big, BIG_BYTES, sha);
		snprintf(want, sizeof want, "sha256=\"%s\" name=\"big.bin\"", sha);
		CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'big.bin' AND complete = 1 AND size = 20971520") == 1,
		      "files-11.2 stored complete with its size");
		t0 = tchat_now_ms();
		CHECK(download_equal(&bob, g_files, "big.bin", big, BIG_BYTES), "files-11.3 the 20 MB file downloads equal");
		printf("# 20 MB download took %ld ms\n", tchat_now_ms() - t0);
		after_down = vm_hwm_kb();
		printf("# server peak RSS (VmHWM): before %ld kB, after 20 MB upload %ld kB, after download %ld kB "
		       "(growth %ld kB)\n", before, after_up, after_down, after_down - before);
		CHECK(before > 0 && after_down - before < (16 + slack) * 1024,
		      "files-11.4 server memory does not grow with file size (VmHWM growth < 16 MiB)");
		free(big);
	}
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);

	/* [files] enabled = false: no listener, tokens answered 501. */
	CHECK(tserver_stop(&srv) == 0, "files-12.1 clean stop");
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\nenabled = false\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && tchat_sign_in(&alice) == 0, "files-12.2 restart with files disabled");
	CHECK(tchat_get_token(&alice, 1, g_files, "x.bin", &tk) == 501 && tk.token[0] == '\0', "files-12.3 token request -> 501");
	CHECK(tserver_log_has(&srv, "event=files-disabled"), "files-12.4 the log says so");
	tchat_sign_out(&alice);
	CHECK(tserver_stop(&srv) == 0, "files-12.5 clean stop");
	tserver_cleanup(&srv);
	free(mib);
	free(max_file);
	return check_done("e2e_files");
}
