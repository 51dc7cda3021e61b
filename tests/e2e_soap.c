/*
 * e2e_soap.c - the file web service as Lync and Skype for Business call it
 * (files_soap.c), end to end: tokens asked for over XCCOS in a real signed-in
 * channel dialog, then SOAP 1.1 POSTs to /PersistentChat/MGCWebService.asmx
 * over real TLS (tests/tsoap.c), stored in the real SQLite file.  Uploads
 * and downloads of 0 B, 1 B, several chunks, exactly the limit and one byte
 * over; wrong, used and expired tokens; a wrong channel; chunks out of order
 * and overlapping; a fault in the middle of a transfer that goes on; the
 * bytes compared by SHA-256; the announcement's download link; the
 * compliance events; an abandoned upload leaving nothing; never a 4xx.
 * Needs the CLI and sqlite3.
 */
#include "check.h"
#include "tchat.h"
#include "tsoap.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024u
#define MAX_KB 64u                      /* [files] max_file_kb */
#define REQ_KB 16u                      /* [files] max_request_kb */
#define CHUNK (8u * KIB)                /* bytes per AppendChunk: base64 fits REQ_KB */
#define TTL_S 3                         /* [files] token_ttl */
#define DEADLINE_S 6                    /* [files] upload_deadline */
#define QUOTA_KB 200u                   /* [files] user_quota_kb */

static struct tserver srv;
static char g_room[40], g_other[40];
static int uploads, downloads;          /* completed over SOAP, for the compliance counts */

/* Upload data as name over SOAP in CHUNK pieces; 1 when complete and the
 * store holds it with the right SHA-256. */
static int soap_upload(struct tuser *u, const char *name, const void *data, size_t len, char uname[64])
{
	struct ttoken tk;
	char sha[65];

	if (tchat_get_token(u, 1, g_room, name, &tk) != 200 || tsoap_upload(tk.port, tk.token, g_room, data, len, CHUNK, uname) != 200)
		return 0;
	uploads++;
	tchat_sha_hex(data, len, sha);
	return tchat_sql_countf("SELECT count(*) FROM files WHERE name = '%s' AND complete = 1 AND size = %zu AND sha256 = '%s'",
	                        name, len, sha) == 1;
}

/* Download name over SOAP in chunks of chunk bytes; 1 when the bytes have
 * want's SHA-256. */
static int soap_download_equal(struct tuser *u, const char *name, const char *repos, const void *want, size_t len,
                               size_t chunk)
{
	struct ttoken tk;
	struct buf got;
	char a[65], b[65];
	int ok;

	buf_init(&got, 64u << 20);
	ok = tchat_get_token(u, 0, g_room, name, &tk) == 200 && tsoap_download(tk.port, tk.token, g_room, repos, chunk, &got) == 200;
	if (ok) {
		downloads++;
		tchat_sha_hex(buf_head(&got), got.len, a);
		tchat_sha_hex(want, len, b);
		ok = got.len == len && strcmp(a, b) == 0;
	}
	buf_free(&got);
	return ok;
}

static void setup(void)
{
	const char *users[] = { "alice", "bob" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	tchat_guid_of(tchat_cli("room", "add", "Soap", "--privacy", "open", NULL), g_room);
	tchat_guid_of(tchat_cli("room", "add", "Other", "--privacy", "open", NULL), g_other);
	CHECK(strlen(g_room) == 36 && strlen(g_other) == 36, "soap-0.2 rooms created");
}

static void test_limits(uint16_t port)
{
	char out[256];

	CHECK(tsoap_simple(port, "GetMaxFileSizeInKB", "", out, sizeof out) == 200 && strcmp(out, "64") == 0,
	      "soap-1.1 GetMaxFileSizeInKB answers [files] max_file_kb");
	CHECK(tsoap_simple(port, "GetMaxRequestContentInKB", "", out, sizeof out) == 200 && strcmp(out, "16") == 0,
	      "soap-1.2 GetMaxRequestContentInKB answers [files] max_request_kb");
}

static void test_round_trips(struct tuser *alice, struct tuser *bob)
{
	static unsigned char several[40000], limit[MAX_KB * KIB];
	unsigned char one = 0xa5;
	char uname[64], repos[64], out[256];
	struct ttoken tk;
	struct thttp h;

	tchat_fill(several, sizeof several, 3);
	tchat_fill(limit, sizeof limit, 5);

	CHECK(tchat_get_token(alice, 1, g_room, "guid.txt", &tk) == 200 &&
	      tsoap_unique_name(tk.port, tk.token, g_room, uname, sizeof uname) == 200 && strlen(uname) == 40 &&
	      uname[8] == '-' && uname[14] == '4' && strcmp(uname + 36, ".txt") == 0,
	      "soap-2.1 RequestUniqueFilenameWithExtension answers GUID.ext with the name's extension");

	tchat_clear(alice);
	CHECK(soap_upload(alice, "empty.bin", "", 0, uname), "soap-2.2 upload of 0 bytes: one AppendChunk completes it");
	CHECK(tsoap_repos_of(alice, "empty.bin", repos) == 0 && strlen(repos) == 40 && strcmp(repos + 36, ".bin") == 0,
	      "soap-2.3 the announcement carries fileDownloadLink whose fileUri ends in a GUID-based repository name");
	CHECK(soap_download_equal(bob, "empty.bin", repos, "", 0, 4096), "soap-2.4 download of 0 bytes: equal");

	tchat_clear(alice);
	CHECK(soap_upload(alice, "one.bin", &one, 1, uname), "soap-2.5 upload of 1 byte");
	CHECK(tsoap_repos_of(alice, "one.bin", repos) == 0 && tchat_has(&alice->in, "fileSizeEstimate=\"1 bytes\""),
	      "soap-2.6 the link's fileSizeEstimate");
	CHECK(soap_download_equal(bob, "one.bin", repos, &one, 1, 4096), "soap-2.7 download of 1 byte: equal");

	tchat_clear(alice);
	CHECK(soap_upload(alice, "several.bin", several, sizeof several, uname),
	      "soap-2.8 upload of 40000 bytes in 5 chunks: stored with the same SHA-256");
	CHECK(tsoap_repos_of(alice, "several.bin", repos) == 0 && soap_download_equal(bob, "several.bin", repos, several,
	                                                                      sizeof several, 5000),
	      "soap-2.9 download in 8 chunks of 5000 bytes: same SHA-256");
	CHECK(tchat_has(&alice->in, "fileSizeEstimate=\"40 kilobytes\""), "soap-2.10 fileSizeEstimate in UCMA's words");

	tchat_clear(alice);
	CHECK(soap_upload(alice, "limit.bin", limit, sizeof limit, uname), "soap-2.11 upload of exactly max_file_kb");
	CHECK(tsoap_repos_of(alice, "limit.bin", repos) == 0 &&
	      soap_download_equal(bob, "limit.bin", repos, limit, sizeof limit, 1u << 20),
	      "soap-2.12 download of the largest file with a huge bufferSize (capped, several chunks): equal");

	/* One byte over: a fault on the first chunk, before anything is stored. */
	CHECK(tchat_get_token(alice, 1, g_room, "over.bin", &tk) == 200 &&
	      tsoap_unique_name(tk.port, tk.token, g_room, uname, sizeof uname) == 200,
	      "soap-3.1 token and name for the oversized file");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, limit, CHUNK, 0, MAX_KB * KIB + 1, out, sizeof out) == 500 &&
	      strstr(out, "ERR_FILE_TOO_LARGE") != NULL && strstr(out, "64 KiB") != NULL,
	      "soap-3.2 fileLength one byte over max_file_kb -> SOAP fault (500) naming the limit");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'over.bin'") == 0, "soap-3.3 nothing stored");

	/* A request over max_request_kb: a fault, never 413, before its body. */
	{
		char head[512];

		snprintf(head, sizeof head, "POST /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: x\r\n"
		         "SOAPAction: \"http://www.microsoft.com/AppendChunk\"\r\nContent-Length: %u\r\n\r\n", REQ_KB * KIB + 1);
		CHECK(thttp_do(&h, tk.port, head, NULL, 0) == 500 && tsoap_fault(&h, out, sizeof out) == 0 &&
		      strstr(out, "GetMaxRequestContentInKB") != NULL,
		      "soap-3.4 a request one byte over max_request_kb -> SOAP fault, not 413");
		thttp_close(&h);
	}

	/* PUT keeps working at serveruri/TOKEN. */
	{
		char head[512];

		CHECK(tchat_get_token(alice, 1, g_room, "put.bin", &tk) == 200, "soap-3.5 upload token for PUT");
		snprintf(head, sizeof head, "PUT /PersistentChat/MGCWebService.asmx/%s HTTP/1.1\r\nHost: x\r\n"
		         "Content-Length: 3\r\n\r\n", tk.token);
		CHECK(thttp_do(&h, tk.port, head, "abc", 3) == 201, "soap-3.6 PUT at serveruri/TOKEN -> 201");
		thttp_close(&h);
	}
}

static void test_tokens(struct tuser *alice, struct tuser *bob)
{
	char uname[64], out[256], repos[64];
	unsigned char data[3 * CHUNK];
	struct ttoken tk, dl;
	struct thttp h;

	tchat_fill(data, sizeof data, 9);
	CHECK(tchat_get_token(alice, 1, g_room, "tok.bin", &tk) == 200, "soap-4.1 upload token");
	CHECK(tsoap_unique_name(tk.port, "00000000-0000-4000-8000-000000000000", g_room, out, sizeof out) == 500 &&
	      strstr(out, "ERR_BAD_TOKEN") != NULL, "soap-4.2 a made-up token -> fault");
	CHECK(tsoap_unique_name(tk.port, tk.token, g_other, out, sizeof out) == 500 && strstr(out, "ERR_NO_SUCH_CHANNEL") != NULL,
	      "soap-4.3 the token of another room's channelId -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_other, "0badc0de-0000-4000-8000-000000000000.bin", data, 1, 0, 1, out,
	                   sizeof out) == 500 && strstr(out, "ERR_NO_SUCH_CHANNEL") != NULL &&
	      tchat_sql_count("SELECT count(*) FROM files WHERE name = 'tok.bin'") == 0,
	      "soap-4.3a AppendChunk naming another room's channelId -> fault, nothing stored");
	tchat_clear(alice);
	CHECK(tsoap_upload(tk.port, tk.token, g_room, data, sizeof data, CHUNK, uname) == 200 &&
	      tsoap_repos_of(alice, "tok.bin", repos) == 0, "soap-4.4 the same token still uploads in its own room");
	uploads++;
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data, 1, 0, 1, out, sizeof out) == 500 &&
	      strstr(out, "ERR_BAD_TOKEN") != NULL, "soap-4.5 a used token -> fault");

	/* A download token is not an upload token, and spent by the last chunk. */
	CHECK(tchat_get_token(bob, 0, g_room, "tok.bin", &dl) == 200, "soap-4.6 download token");
	CHECK(tsoap_append(dl.port, dl.token, g_room, uname, data, 1, 0, 1, out, sizeof out) == 500 &&
	      strstr(out, "download token") != NULL, "soap-4.7 AppendChunk with a download token -> fault");
	CHECK(tsoap_file_size(dl.port, dl.token, g_room, "00000000-0000-4000-8000-000000000000.bin", out, sizeof out) == 500 &&
	      strstr(out, "ERR_NO_SUCH_FILE") != NULL, "soap-4.8 a reposFileName that is not the token's file -> fault");
	{
		struct buf got;

		buf_init(&got, 1u << 20);
		/* uname is the upload's name; the repository name comes from the link. */
		CHECK(tsoap_download_chunk(dl.port, dl.token, g_other, uname, 0, 10, &got, out, sizeof out) == 500,
		      "soap-4.9 DownloadChunk with another room's channelId -> fault");
		buf_free(&got);
	}

	/* Expired: no chunk within token_ttl. */
	CHECK(tchat_get_token(alice, 1, g_room, "late.bin", &tk) == 200 &&
	      tsoap_unique_name(tk.port, tk.token, g_room, uname, sizeof uname) == 200 &&
	      tsoap_append(tk.port, tk.token, g_room, uname, data, CHUNK, 0, sizeof data, out, sizeof out) == 200 &&
	      strcmp(out, "8192") == 0, "soap-5.1 an upload's first chunk is stored (answer: bytes so far)");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'late.bin' AND complete = 0") == 1,
	      "soap-5.2 the upload's row exists, incomplete");
	sleep(TTL_S + 2);
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data + CHUNK, CHUNK, CHUNK, sizeof data, out, sizeof out) == 500 &&
	      strstr(out, "ERR_BAD_TOKEN") != NULL, "soap-5.3 a chunk after token_ttl without one -> fault (expired)");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'late.bin'") == 0,
	      "soap-5.4 the abandoned upload left nothing in the store");
	CHECK(tchat_get_token(alice, 1, g_room, "late2.bin", &tk) == 200, "soap-5.5 a fresh token");
	sleep(TTL_S + 1);
	CHECK(tsoap_unique_name(tk.port, tk.token, g_room, out, sizeof out) == 500 && strstr(out, "ERR_BAD_TOKEN") != NULL,
	      "soap-5.6 a token never used within token_ttl -> fault (expired)");

	/* A download token a SOAP transfer has begun belongs to it: GET refuses
	 * it; the last chunk spends it. */
	{
		struct buf got;
		char head[256];

		buf_init(&got, 1u << 20);
		CHECK(tchat_get_token(bob, 0, g_room, "tok.bin", &dl) == 200, "soap-5.6a a fresh download token");
		CHECK(tsoap_file_size(dl.port, dl.token, g_room, repos, out, sizeof out) == 200 && strcmp(out, "24576") == 0,
		      "soap-5.7 GetFileSize on the download token");
		snprintf(head, sizeof head, "GET /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", dl.token);
		CHECK(thttp_do(&h, dl.port, head, NULL, 0) == 403, "soap-5.8 GET with a token SOAP has begun to spend -> 403");
		thttp_close(&h);
		CHECK(tsoap_download_chunk(dl.port, dl.token, g_room, repos, 0, sizeof data, &got, out, sizeof out) == 200 &&
		      got.len == REQ_KB * KIB / 4 * 3, "soap-5.9 a bufferSize of the whole file gets 3/4 of max_request_kb");
		CHECK(tsoap_download_chunk(dl.port, dl.token, g_room, repos, got.len, sizeof data, &got, out, sizeof out) == 200 &&
		      got.len == sizeof data && memcmp(buf_head(&got), data, sizeof data) == 0,
		      "soap-5.9a the next chunk reaches the end: equal");
		downloads++;
		CHECK(tsoap_download_chunk(dl.port, dl.token, g_room, repos, 0, 10, &got, out, sizeof out) == 500 &&
		      strstr(out, "ERR_BAD_TOKEN") != NULL, "soap-5.10 the chunk that reached the end spent the token");
		buf_free(&got);
	}
}

/* Chunks out of order or overlapping, and a fault in the middle: each is a
 * fault that changes nothing, and the upload goes on to the right bytes. */
static void test_order(struct tuser *alice, struct tuser *bob)
{
	unsigned char data[4 * CHUNK];
	char uname[64], out[256], repos[64], sha[65];
	struct ttoken tk;
	int st;

	tchat_fill(data, sizeof data, 13);
	tchat_clear(alice);
	CHECK(tchat_get_token(alice, 1, g_room, "order.bin", &tk) == 200 &&
	      tsoap_unique_name(tk.port, tk.token, g_room, uname, sizeof uname) == 200, "soap-6.1 token and name");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data + CHUNK, CHUNK, CHUNK, sizeof data, out, sizeof out) == 500 &&
	      strstr(out, "ERR_BAD_OFFSET") != NULL && strstr(out, "next offset is 0") != NULL,
	      "soap-6.2 a second chunk first -> fault naming the next offset");
	CHECK(tsoap_append(tk.port, tk.token, g_room, "0badc0de-0000-4000-8000-000000000000.bin", data, CHUNK, 0, sizeof data,
	                   out, sizeof out) == 500 && strstr(out, "ERR_BAD_FILE_NAME") != NULL,
	      "soap-6.3 another uniqueFilename than the one given -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data, 200, 0, 100, out, sizeof out) == 500 &&
	      strstr(out, "past fileLength") != NULL, "soap-6.10 a chunk running past fileLength -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data, CHUNK, 0, sizeof data, out, sizeof out) == 200,
	      "soap-6.4 the first chunk");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data, CHUNK, 0, sizeof data, out, sizeof out) == 500 &&
	      strstr(out, "next offset is 8192") != NULL, "soap-6.5 the first chunk again (overlap) -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data + CHUNK / 2, CHUNK, CHUNK / 2, sizeof data, out,
	                   sizeof out) == 500, "soap-6.6 a chunk overlapping half of the first -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data + 2 * CHUNK, CHUNK, 2 * CHUNK, sizeof data, out,
	                   sizeof out) == 500, "soap-6.7 a chunk past a gap -> fault");
	CHECK(tsoap_append(tk.port, tk.token, g_room, uname, data + CHUNK, CHUNK, CHUNK, sizeof data + 1, out, sizeof out) == 500 &&
	      strstr(out, "fileLength changed") != NULL, "soap-6.8 fileLength changed midway -> fault");
	CHECK(tsoap_simple(tk.port, "AppendChunk", "<token>x</token><fileChunk>!!!notbase64</fileChunk>", out, sizeof out) == 500 &&
	      strstr(out, "base64") != NULL, "soap-6.9 a fault in the middle (a chunk that is not base64)");
	CHECK(tsoap_file_size(tk.port, tk.token, g_room, uname, out, sizeof out) == 200 && strcmp(out, "8192") == 0,
	      "soap-6.11 GetFileSize on the upload says how much is stored (resume point)");
	st = 200;
	for (size_t off = CHUNK; off < sizeof data && st == 200; off += CHUNK)
		st = tsoap_append(tk.port, tk.token, g_room, uname, data + off, CHUNK, off, sizeof data, out, sizeof out);
	uploads += st == 200;
	tchat_sha_hex(data, sizeof data, sha);
	CHECK(st == 200 && strcmp(out, "32768") == 0 &&
	      tchat_sql_countf("SELECT count(*) FROM files WHERE name = 'order.bin' AND complete = 1 AND sha256 = '%s'", sha) == 1,
	      "soap-6.12 after the faults the upload completes with the right bytes");
	CHECK(tsoap_repos_of(alice, "order.bin", repos) == 0 && soap_download_equal(bob, "order.bin", repos, data, sizeof data, CHUNK),
	      "soap-6.13 and downloads equal");
}

/* The PUT door's limits hold for SOAP uploads: uploads_per_user counts
 * started SOAP uploads, the quota counts them at fileLength, the deadline
 * cuts one that goes on too long, and what is cut leaves nothing. */
static void test_limits_apply(struct tuser *alice)
{
	static unsigned char data[50000];
	char n1[64], n2[64], n3[64], out[256];
	struct ttoken t1, t2, t3;
	long used = tchat_sql_count("SELECT sum(size) FROM files WHERE uploader = 'sip:alice@example.org'");

	tchat_fill(data, sizeof data, 17);
	CHECK(used > 0 && used + (long)sizeof data > (long)QUOTA_KB * 1024, "soap-10.0 alice's files so far leave less than 50000 bytes of her quota");
	CHECK(tchat_get_token(alice, 1, g_room, "quota.bin", &t1) == 200 &&
	      tsoap_unique_name(t1.port, t1.token, g_room, n1, sizeof n1) == 200 &&
	      tsoap_append(t1.port, t1.token, g_room, n1, data, 100, 0, sizeof data, out, sizeof out) == 500 &&
	      strstr(out, "quota exceeded") != NULL, "soap-10.1 a first chunk whose fileLength passes the user quota -> fault");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name = 'quota.bin'") == 0, "soap-10.2 nothing stored");

	CHECK(tsoap_append(t1.port, t1.token, g_room, n1, data, 100, 0, 200, out, sizeof out) == 200 &&
	      tchat_get_token(alice, 1, g_room, "second.bin", &t2) == 200 &&
	      tsoap_unique_name(t2.port, t2.token, g_room, n2, sizeof n2) == 200 &&
	      tsoap_append(t2.port, t2.token, g_room, n2, data, 100, 0, 200, out, sizeof out) == 200,
	      "soap-10.3 two uploads started (the same token, now small enough, and another)");
	CHECK(tchat_get_token(alice, 1, g_room, "third.bin", &t3) == 200 &&
	      tsoap_unique_name(t3.port, t3.token, g_room, n3, sizeof n3) == 200 &&
	      tsoap_append(t3.port, t3.token, g_room, n3, data, 100, 0, 200, out, sizeof out) == 500 &&
	      strstr(out, "uploads in progress") != NULL, "soap-10.4 a third at once passes uploads_per_user = 2 -> fault");
	CHECK(tsoap_append(t2.port, t2.token, g_room, n2, data + 100, 100, 100, 200, out, sizeof out) == 200,
	      "soap-10.5 one of them completes");
	uploads++;
	CHECK(tsoap_append(t3.port, t3.token, g_room, n3, data, 100, 0, 200, out, sizeof out) == 200,
	      "soap-10.6 and the third may start now");
	/* Keep the first alive with a byte every 2 s (inside token_ttl) until
	 * upload_deadline, counted from its first chunk, cuts it. */
	{
		long t0 = tchat_now_ms(), cut_ms = -1;
		int ok_chunks = 0;

		for (uint64_t off = 100; off < 110 && cut_ms < 0; off++) {
			sleep(2);
			if (tsoap_append(t1.port, t1.token, g_room, n1, data + off, 1, off, 200, out, sizeof out) == 200)
				ok_chunks++;
			else if (strstr(out, "ERR_BAD_TOKEN") != NULL)
				cut_ms = tchat_now_ms() - t0;
		}
		CHECK(ok_chunks >= 2, "soap-10.7 chunks 2 s apart keep an upload alive past token_ttl");
		CHECK(cut_ms >= (DEADLINE_S - 1) * 1000 && cut_ms <= (DEADLINE_S + 5) * 1000,
		      "soap-10.8 upload_deadline cuts it: the next chunk finds its token gone");
	}
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name IN ('quota.bin', 'third.bin')") == 0,
	      "soap-10.9 the cut upload and the abandoned one (token_ttl) left nothing");
}

/* Everything on the service's path is 200 or a fault: never a 4xx. */
static void test_never_4xx(uint16_t port)
{
	struct thttp h;
	char out[256];

	CHECK(thttp_do(&h, port, "GET /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0) == 500 &&
	      h.body != NULL && memmem(h.body, h.body_len, "<soap:Fault>", 12) != NULL,
	      "soap-7.1 a GET -> SOAP fault (500)");
	thttp_close(&h);
	CHECK(thttp_do(&h, port, "POST /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
	               "<a", 2) == 500, "soap-7.2 no SOAPAction -> fault");
	thttp_close(&h);
	CHECK(thttp_do(&h, port, "POST /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: x\r\n"
	               "SOAPAction: \"http://www.microsoft.com/AppendChunk\"\r\n\r\n", NULL, 0) == 500,
	      "soap-7.3 no Content-Length -> fault");
	thttp_close(&h);
	{
		const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]><s:Envelope "
		                  "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>";
		char head[256];

		snprintf(head, sizeof head, "POST /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: x\r\n"
		         "SOAPAction: http://www.microsoft.com/GetMaxFileSizeInKB\r\nContent-Length: %zu\r\n\r\n", strlen(dtd));
		CHECK(thttp_do(&h, port, head, dtd, strlen(dtd)) == 500, "soap-7.4 a body with a DTD -> fault");
		thttp_close(&h);
	}
	CHECK(tsoap_simple(port, "DownloadChunk", "<token>1</token><token>2</token>", out, sizeof out) == 500 &&
	      strstr(out, "twice") != NULL, "soap-7.5 a parameter twice -> fault");
	CHECK(tsoap_simple(port, "DownloadChunk", "<offset>-1</offset>", out, sizeof out) == 500,
	      "soap-7.6 a negative offset -> fault");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" };
	struct ttoken tk;
	char extra[512];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	snprintf(extra, sizeof extra, "[files]\nlisten = 127.0.0.1:0\nmax_file_kb = %u\nmax_request_kb = %u\ntoken_ttl = %d\n"
	         "upload_deadline = %d\nuser_quota_kb = %u\nuploads_per_user = 2\n", MAX_KB, REQ_KB, TTL_S, DEADLINE_S, QUOTA_KB);
	if (!CHECK(tserver_start(&srv, bin, extra) == 0, "soap-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_soap");
	}
	setup();
	CHECK(tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0, "soap-0.3 alice and bob sign in");
	CHECK(tchat_join(&alice, g_room) == 200 && tchat_join(&bob, g_room) == 200, "soap-0.4 both join the room");
	CHECK(tchat_get_token(&alice, 1, g_room, "probe", &tk) == 200 &&
	      strstr(tk.url, "/PersistentChat/MGCWebService.asmx") != NULL, "soap-0.5 serveruri is the .asmx URL");

	test_limits(tk.port);
	test_round_trips(&alice, &bob);
	test_tokens(&alice, &bob);
	test_order(&alice, &bob);
	test_never_4xx(tk.port);
	test_limits_apply(&alice);

	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD'") == uploads + 1,
	      "soap-8.1 one FILEUPLOAD event per completed upload (SOAP ones and the PUT)");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEDOWNLOAD'") == downloads,
	      "soap-8.2 one FILEDOWNLOAD event per download token used, not per chunk");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND content = 'several.bin' "
	                      "AND user_uri = 'sip:alice@example.org'") == 1,
	      "soap-8.3 FILEUPLOAD names the file and the uploader");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEDOWNLOAD' AND content = 'several.bin' "
	                      "AND user_uri = 'sip:bob@example.org'") == 1,
	      "soap-8.4 FILEDOWNLOAD names the file and the downloader");
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE complete = 0") == 0, "soap-8.5 no incomplete row is left");
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "soap-8.6 every server SIP message was signed correctly");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	CHECK(tserver_stop(&srv) == 0, "soap-9.1 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_soap");
}
