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
#include "tclient.h"

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
static unsigned envid = 1000;
static int uploads, downloads;          /* successful transfers, for the compliance counts */

struct user {
	const char *name;
	struct tclient t;
	struct tdialog d;
	struct buf in;          /* server INFO bodies received and not yet consumed */
};

/* ---- small helpers (after e2e_chat.c) ---------------------------------------- */

static int has(const struct buf *b, const char *needle)
{
	return b->len && memmem(buf_head(b), b->len, needle, strlen(needle)) != NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int wait_for(struct user *u, const char *needle, int ms)
{
	long deadline = now_ms() + ms;

	while (!has(&u->in, needle)) {
		long left = deadline - now_ms();

		if (left <= 0 || tclient_wait_info(&u->t, &u->d, &u->in, (int)(left > 1000 ? 1000 : left)) < 0)
			return has(&u->in, needle);
	}
	return 1;
}

static void clear(struct user *u)
{
	buf_consume(&u->in, u->in.len);
}

/* Send one XCCOS envelope holding inner, then wait for want (if not NULL). */
static int xccos(struct user *u, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int xccos(struct user *u, const char *want, const char *fmt, ...)
{
	char inner[4096], body[4300];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">%s</xccos>",
	         ++envid, inner);
	clear(u);
	status = tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in);
	if (status == 200 && want)
		wait_for(u, want, 5000);
	return status;
}

static int sign_in(struct user *u)
{
	char aor[128];

	snprintf(aor, sizeof aor, "sip:%s@example.org", u->name);
	buf_init(&u->in, 4 << 20);
	return tclient_connect(&u->t, srv.port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200 ? 0 : -1;
}

static void sign_out(struct user *u)
{
	tclient_close(&u->t);
	buf_free(&u->in);
}

/* Run the CLI (NULL-terminated arguments); its first output line, or NULL
 * if it failed. */
static char *cli(const char *first, ...)
{
	static char out[8192];
	const char *a[10] = { first };
	va_list ap;
	int n = 1;

	va_start(ap, first);
	while (n < 10 && (a[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	if (tserver_cli(&srv, NULL, out, sizeof out, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
	                NULL) != 0)
		return NULL;
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void guid_of(const char *uri, char *out)
{
	const char *slash = uri ? strrchr(uri, '/') : NULL;

	snprintf(out, 40, "%s", slash ? slash + 1 : "none");
}

static long sql_count(const char *query)
{
	char cmd[1024];
	FILE *p;
	long n = -1;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv.dir, query);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

/* Run one SQL statement on the store; 0 on success. */
static int sql_exec(const char *sql)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv.dir, sql);
	return system(cmd);
}

static int join(struct user *u, const char *guid)
{
	xccos(u, "<rpl id=\"rpl:join\"", "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" "
	      "value=\"%s\"/></data></cmd>", guid);
	return has(&u->in, "<resp code=\"200\"") ? 200 : -1;
}

/* Deterministic bytes (xorshift), so any offset error shows. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static void sha_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char d[32];

	mbedtls_sha256_ret(p, n, d, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- tokens over XCCOS ----------------------------------------------------------- */

struct token {
	char token[40];
	char url[160];
	uint16_t port;
};

/* Ask for an upload (upload = 1) or download token for name in room guid.
 * Returns the resp code (200 with *t filled), or -1. */
static int get_token(struct user *u, int upload, const char *guid, const char *name_xml, struct token *t)
{
	const unsigned char *h, *p;
	size_t left;
	int code = -1;

	memset(t, 0, sizeof *t);
	xccos(u, "<rpl id=\"rpl:getftok\"", "<cmd id=\"cmd:getf%ctok\" seqid=\"1\"><data><ftdb channelUri=\"ma-chan://example.org/%s\" "
	      "fileUrl=\"%s\"/></data></cmd>", upload ? 'u' : 'd', guid, name_xml);
	h = memmem(buf_head(&u->in), u->in.len, "<rpl id=\"rpl:getftok\"", 21);
	if (h == NULL)
		return -1;
	left = u->in.len - (size_t)(h - buf_head(&u->in));
	p = memmem(h, left, "<resp code=\"", 12);
	if (p == NULL || sscanf((const char *)p + 12, "%d", &code) != 1)
		return -1;
	if (code != 200)
		return code;
	p = memmem(h, left, "token=\"", 7);
	if (p == NULL || sscanf((const char *)p + 7, "%39[^\"]", t->token) != 1)
		return -1;
	p = memmem(h, left, "serveruri=\"", 11);
	if (p == NULL || sscanf((const char *)p + 11, "%159[^\"]", t->url) != 1)
		return -1;
	{
		const char *colon = strrchr(t->url, ':');

		t->port = colon ? (uint16_t)atoi(colon + 1) : 0;
	}
	return code;
}

/* ---- a tiny HTTPS client over the test client's TLS ------------------------------- */

struct http {
	struct tclient t;
	struct buf raw;         /* everything received */
	int status;
	const unsigned char *body;
	size_t body_len;
	char head[2048];        /* the response head as text */
};

static int http_open(struct http *h, uint16_t port)
{
	memset(h, 0, sizeof *h);
	buf_init(&h->raw, 48u << 20);
	return tclient_connect(&h->t, port);
}

static void http_close(struct http *h)
{
	tclient_close(&h->t);
	buf_free(&h->raw);
}

/* Read until the server closes (or timeout), then split status, head, body. */
static int http_read(struct http *h, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	static struct sip_msg m;
	struct sip_limits lim = { 1 << 20, SIP_HEADERS_CAP, 64u << 20 };
	long used;

	for (;;) {
		long left = deadline - now_ms();
		int r;

		if (left <= 0)
			break;
		mbedtls_ssl_conf_read_timeout(&h->t.conf, (uint32_t)left);
		if (buf_reserve(&h->raw, 65536) < 0)
			break;
		r = mbedtls_ssl_read(&h->t.ssl, buf_tail(&h->raw), 65536);
		if (r > 0)
			buf_commit(&h->raw, (size_t)r);
		else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;      /* closed, reset or timed out */
	}
	h->status = -1;
	used = sip_msg_parse(&m, (const char *)buf_head(&h->raw), h->raw.len, &lim, "HTTP/");
	if (used > 0 && m.kind == SIP_RESPONSE) {
		h->status = m.status;
		h->body = (const unsigned char *)m.body.p;
		h->body_len = m.body.len;
		snprintf(h->head, sizeof h->head, "%.*s", (int)m.header_bytes, (const char *)buf_head(&h->raw));
	}
	return h->status;
}

/* A whole request on a new connection; returns the status (h holds the rest). */
static int http_do(struct http *h, uint16_t port, const char *head, const void *body, size_t blen)
{
	if (http_open(h, port) < 0 || tclient_send(&h->t, head, strlen(head)) < 0 ||
	    (blen && tclient_send(&h->t, body, blen) < 0))
		return -1;
	return http_read(h, 20000);
}

static int put_file(const struct token *tk, const void *data, size_t len, struct http *h)
{
	char head[512];

	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: %zu\r\n"
	         "Content-Type: application/octet-stream\r\n\r\n", tk->token, tk->port, len);
	return http_do(h, tk->port, head, data, len);
}

static int get_file(const struct token *tk, struct http *h)
{
	char head[512];

	snprintf(head, sizeof head, "GET /files/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", tk->token, tk->port);
	return http_do(h, tk->port, head, NULL, 0);
}

/* Upload data as name (XML-escaped in name_xml) to room guid; 1 on a 201. */
static int upload(struct user *u, const char *guid, const char *name_xml, const void *data, size_t len)
{
	struct token tk;
	struct http h;
	int st;

	if (get_token(u, 1, guid, name_xml, &tk) != 200)
		return 0;
	st = put_file(&tk, data, len, &h);
	http_close(&h);
	if (st == 201)
		uploads++;
	return st == 201;
}

/* Download name and compare with want; 1 when the bytes are equal. */
static int download_equal(struct user *u, const char *guid, const char *name_xml, const void *want, size_t len)
{
	struct token tk;
	struct http h;
	int ok;

	if (get_token(u, 0, guid, name_xml, &tk) != 200)
		return 0;
	ok = get_file(&tk, &h) == 200 && h.body_len == len && (len == 0 || memcmp(h.body, want, len) == 0) &&
	     strstr(h.head, "Content-Type: application/octet-stream\r\n") != NULL;
	if (h.status == 200)
		downloads++;
	http_close(&h);
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
	guid_of(cli("room", "add", "Files", "--privacy", "open", NULL), g_files);
	guid_of(cli("room", "add", "Private", "--privacy", "closed", "--member", "alice", NULL), g_private);
	CHECK(cli("category", "add", "nofiles", "--file-upload", "off", NULL) != NULL, "files-0.1 category with uploads off");
	guid_of(cli("room", "add", "NoUpload", "--privacy", "open", "--category", "nofiles", NULL), g_noup);
	guid_of(cli("room", "add", "Stage", "--privacy", "open", "--type", "auditorium", "--presenter", "alice", NULL),
	        g_stage);
	CHECK(strlen(g_files) == 36 && strlen(g_private) == 36 && strlen(g_noup) == 36 && strlen(g_stage) == 36,
	      "files-0.2 rooms created");
}

static void test_transfers(struct user *alice, struct user *bob)
{
	unsigned char one = 0x5a;
	char sha[65], want[200];
	struct token tk;
	struct http h;

	CHECK(upload(alice, g_files, "empty.bin", "", 0), "files-1.1 upload of 0 bytes -> 201");
	CHECK(upload(alice, g_files, "one.bin", &one, 1), "files-1.2 upload of 1 byte -> 201");
	clear(bob);
	CHECK(upload(alice, g_files, "mib.bin", mib, 1u << 20), "files-1.3 upload of 1 MiB -> 201");
	CHECK(upload(alice, g_files, "max.bin", max_file, MAX_KB * KIB), "files-1.4 upload of exactly max_file_kb -> 201");
	sha_hex(mib, 1u << 20, sha);
	snprintf(want, sizeof want, "size=\"1048576\" sha256=\"%s\" name=\"mib.bin\"/>", sha);
	CHECK(wait_for(bob, want, 5000) && has(&bob->in, "<grpchat") && has(&bob->in, "author=\"sip:alice@example.org\"") &&
	      has(&bob->in, "shared the file"), "files-1.5 another member gets the announcement with <file> (size, sha256, name)");

	CHECK(download_equal(bob, g_files, "empty.bin", "", 0), "files-2.1 download of the 0-byte file: equal");
	CHECK(download_equal(bob, g_files, "one.bin", &one, 1), "files-2.2 download of the 1-byte file: equal");
	CHECK(download_equal(bob, g_files, "mib.bin", mib, 1u << 20), "files-2.3 download of the 1 MiB file: equal");
	CHECK(download_equal(alice, g_files, "max.bin", max_file, MAX_KB * KIB), "files-2.4 download of the largest file: equal");

	/* A name that needs escaping, and a newer upload of the same name. */
	CHECK(upload(alice, g_files, "a&amp;b &lt;c&gt;.txt", "first", 5) && upload(alice, g_files, "a&amp;b &lt;c&gt;.txt", "second!", 7),
	      "files-2.5 two uploads of a name with & < >");
	CHECK(download_equal(bob, g_files, "a&amp;b &lt;c&gt;.txt", "second!", 7), "files-2.6 download gets the latest upload of a name");

	/* Too large: 413 right after the headers; no body was sent. */
	CHECK(get_token(alice, 1, g_files, "over.bin", &tk) == 200, "files-3.1 upload token for the oversized file");
	{
		char head[512];

		snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", tk.token,
		         MAX_KB * KIB + 1);
		CHECK(http_do(&h, tk.port, head, NULL, 0) == 413 && h.body_len > 0 &&
		      memmem(h.body, h.body_len, "2048 KiB", 8) != NULL,
		      "files-3.2 one byte over max_file_kb -> 413 before any body is sent, with the limit in the text");
		http_close(&h);
	}
}

/* Every way a request can be refused. */
static void test_refusals(struct user *alice, struct user *bob)
{
	struct token up, down, tk;
	struct http h;
	char head[512];

	/* Token-time refusals (xccos.c's rules). */
	CHECK(get_token(bob, 1, g_private, "x.bin", &tk) != 200 && tk.token[0] == '\0',
	      "files-4.1 a non-member of a closed room gets no upload token");
	CHECK(get_token(bob, 0, g_private, "x.bin", &tk) != 200 && tk.token[0] == '\0',
	      "files-4.2 nor a download token");
	CHECK(get_token(alice, 1, g_noup, "x.bin", &tk) == 403, "files-4.3 category with file upload off: 403 at token time");
	CHECK(get_token(bob, 1, g_stage, "x.bin", &tk) == 403, "files-4.4 auditorium: a participant may not upload (403)");
	CHECK(upload(alice, g_stage, "slides.pdf", "%PDF", 4) && download_equal(bob, g_stage, "slides.pdf", "%PDF", 4),
	      "files-4.5 auditorium: the presenter uploads, a participant downloads");
	CHECK(get_token(bob, 0, g_files, "nosuch.bin", &tk) == 404, "files-4.6 download token for a name never uploaded: 404");
	CHECK(get_token(alice, 1, g_files, "../etc/passwd", &tk) == 400 && get_token(alice, 1, g_files, "", &tk) != 200,
	      "files-4.7 a name with a slash, or an empty one, is refused");

	/* Spent tokens. */
	CHECK(get_token(alice, 1, g_files, "twice.bin", &up) == 200, "files-5.1 upload token");
	CHECK(put_file(&up, "abc", 3, &h) == 201, "files-5.2 first use -> 201");
	uploads++;
	CHECK(h.body_len > 0 && memmem(h.body, h.body_len, "stored twice.bin (3 bytes", 25) != NULL &&
	      strstr(h.head, "Connection: close\r\n") != NULL, "files-5.3 201 says what was stored");
	http_close(&h);
	CHECK(put_file(&up, "xyz", 3, &h) == 403, "files-5.4 the same upload token again -> 403");
	http_close(&h);
	CHECK(get_token(bob, 0, g_files, "twice.bin", &down) == 200 && get_file(&down, &h) == 200, "files-5.5 download once");
	downloads++;
	http_close(&h);
	CHECK(get_file(&down, &h) == 403 && h.body_len > 0 && memmem(h.body, h.body_len, "token", 5),
	      "files-5.6 the same download token again -> 403 with a one-line reason");
	http_close(&h);

	/* Wrong method, shape or framing: refused, and the token is not spent. */
	CHECK(get_token(alice, 1, g_files, "shape.bin", &up) == 200, "files-6.1 upload token");
	CHECK(get_file(&up, &h) == 405 && strstr(h.head, "Allow: PUT\r\n"), "files-6.2 GET with an upload token -> 405 Allow: PUT");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 411, "files-6.3 PUT without Content-Length -> 411");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	         up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 501, "files-6.4 chunked PUT -> 501");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 400, "files-6.5 HTTP/1.1 without Host -> 400");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost x\r\nContent-Length: 1\r\n\r\nx", up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 400, "files-6.6 a header line without a colon -> 400");
	http_close(&h);
	CHECK(http_do(&h, up.port, "GARBAGE\r\n\r\n", NULL, 0) == 400, "files-6.7 garbage -> 400");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
	         up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 400, "files-6.8 two different Content-Lengths -> 400");
	http_close(&h);
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", up.token);
	CHECK(http_do(&h, up.port, head, NULL, 0) == 400, "files-6.9 negative Content-Length -> 400");
	http_close(&h);
	CHECK(http_do(&h, up.port, "PUT /etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", NULL, 0) == 404,
	      "files-6.10 a path outside /files -> 404");
	http_close(&h);
	CHECK(http_do(&h, up.port, "GET /files/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0) == 403,
	      "files-6.11 a made-up token -> 403");
	http_close(&h);
	{
		static char big[20000];

		memset(big, 'a', sizeof big - 1);
		memcpy(big, "GET /files/x HTTP/1.1\r\nX-Pad: ", 30);
		CHECK(http_do(&h, up.port, big, NULL, 0) == 431, "files-6.12 a head over max_header_bytes -> 431");
		http_close(&h);
	}
	/* Expect: 100-continue, and absolute-form target; the token survived all of the above. */
	snprintf(head, sizeof head, "PUT https://127.0.0.1:%u/files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	         "Expect: 100-continue\r\n\r\n", up.port, up.token);
	if (CHECK(http_open(&h, up.port) == 0 && tclient_send(&h.t, head, strlen(head)) == 0, "files-6.14 connect")) {
		unsigned char got[64];
		int r;

		mbedtls_ssl_conf_read_timeout(&h.t.conf, 5000);
		r = mbedtls_ssl_read(&h.t.ssl, got, sizeof got - 1);
		CHECK(r == 25 && memcmp(got, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0,
		      "files-6.15 Expect: 100-continue -> 100 Continue before the body");
		CHECK(tclient_send(&h.t, "hello", 5) == 0 && http_read(&h, 5000) == 201,
		      "files-6.16 the unspent token still uploads after the refusals -> 201");
		uploads++;
	}
	http_close(&h);

	/* Truncated body: the partial upload is discarded. */
	CHECK(get_token(alice, 1, g_files, "cut.bin", &up) == 200, "files-7.1 upload token");
	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", up.token);
	if (http_open(&h, up.port) == 0 && tclient_send(&h.t, head, strlen(head)) == 0 &&
	    tclient_send(&h.t, mib, 5000) == 0) {
		long deadline = now_ms() + 3000;

		while (sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") != 1 && now_ms() < deadline)
			usleep(20000);
		CHECK(sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin' AND complete = 0") == 1,
		      "files-7.2 while the body arrives the row exists, incomplete");
		http_close(&h);     /* cut mid-body */
		deadline = now_ms() + 5000;
		while (sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") != 0 && now_ms() < deadline)
			usleep(20000);
		CHECK(sql_count("SELECT count(*) FROM files WHERE name = 'cut.bin'") == 0,
		      "files-7.3 connection closed mid-body: the partial upload is deleted");
	} else {
		CHECK(0, "files-7.2 partial upload sent");
		http_close(&h);
	}
	CHECK(get_token(bob, 0, g_files, "cut.bin", &tk) == 404, "files-7.4 its name cannot be downloaded (404)");
	CHECK(put_file(&up, "x", 1, &h) == 403, "files-7.5 the cut upload spent its token");
	http_close(&h);
	CHECK(cli("room", "list", NULL) != NULL, "files-7.6 server and CLI alive after the hostile requests");
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
		sha_hex(mib, 1u << 20, sha);
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
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE 'file del %mib.bin'") == 1 &&
	      sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE 'file get %mib.bin'") == 1,
	      "files-8.12 file get and file del recorded as ADMIN events");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "list", "No Such Room", NULL) == 1, "files-8.13 unknown room: error");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct user alice = { .name = "alice" }, bob = { .name = "bob" };
	struct token tk;
	struct http h;
	char extra[256];
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	mib = malloc(1u << 20);
	max_file = malloc(MAX_KB * KIB);
	fill(mib, 1u << 20, 7);
	fill(max_file, MAX_KB * KIB, 11);
	snprintf(extra, sizeof extra, "[files]\nlisten = 127.0.0.1:0\nmax_file_kb = %u\ntoken_ttl = 300\n", MAX_KB);
	if (!CHECK(tserver_start(&srv, bin, extra) == 0, "files-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_files");
	}
	CHECK(tserver_log_has(&srv, "event=files-listen port="), "files-0.3 log says event=files-listen port=N");
	setup_rooms();
	CHECK(sign_in(&alice) == 0 && sign_in(&bob) == 0, "files-0.4 alice and bob sign in");
	CHECK(join(&alice, g_files) == 200 && join(&bob, g_files) == 200, "files-0.5 both join the room");
	CHECK(get_token(&alice, 1, g_files, "probe", &tk) == 200 && strlen(tk.token) == 36 && tk.port != 0 &&
	      strncmp(tk.url, "https://127.0.0.1:", 18) == 0 && strstr(tk.url, "/files") != NULL,
	      "files-0.6 a token is a GUID and serveruri the listener's https URL");

	test_transfers(&alice, &bob);
	test_refusals(&alice, &bob);
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "files-7.7 every server SIP message was signed correctly");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD'") == uploads,
	      "files-9.1 one FILEUPLOAD event per completed upload");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEDOWNLOAD'") == downloads,
	      "files-9.2 one FILEDOWNLOAD event per download");
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND content = 'mib.bin' "
	                "AND user_uri = 'sip:alice@example.org'") == 1, "files-9.3 FILEUPLOAD names the file and the uploader");
	test_cli();
	CHECK(sql_count("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD'") == uploads,
	      "files-9.4 deleting a file keeps its FILEUPLOAD event");
	sign_out(&alice);
	sign_out(&bob);

	/* Restart: an incomplete row (a crashed upload) is purged; short tokens,
	 * a larger cap for the memory test. */
	CHECK(tserver_stop(&srv) == 0, "files-10.1 clean stop");
	{
		char sql[512];

		snprintf(sql, sizeof sql, "PRAGMA foreign_keys = ON; INSERT INTO files (room_id, name, uploader, size, created_us, complete) "
		         "SELECT id, 'crashed.bin', 'sip:alice@example.org', 10, 0, 0 FROM rooms WHERE name = 'Files'; "
		         "INSERT INTO file_data (file_id, data) VALUES (last_insert_rowid(), zeroblob(10))");
		CHECK(sql_exec(sql) == 0 && sql_count("SELECT count(*) FROM files WHERE complete = 0") == 1 &&
		      sql_count("SELECT count(*) FROM file_data WHERE file_id NOT IN (SELECT id FROM files)") == 0,
		      "files-10.2 an incomplete row, as a crash would leave");
	}
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\ntoken_ttl = 1\nmax_file_kb = 25000\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && sign_in(&alice) == 0 && sign_in(&bob) == 0, "files-10.3 restart, sign in");
	CHECK(sql_count("SELECT count(*) FROM files WHERE complete = 0") == 0 && tserver_log_has(&srv, "event=files-purged count=1") &&
	      sql_count("SELECT count(*) FROM file_data") == sql_count("SELECT count(*) FROM files"),
	      "files-10.4 incomplete uploads are deleted at start-up");
	CHECK(download_equal(&bob, g_files, "one.bin", "\x5a", 1), "files-10.5 stored files survive the restart");
	CHECK(get_token(&alice, 1, g_files, "late.bin", &tk) == 200, "files-10.6 token with token_ttl = 1");
	usleep(2200 * 1000);
	CHECK(put_file(&tk, "late", 4, &h) == 403, "files-10.7 an expired token -> 403");
	http_close(&h);

	{
		unsigned char *big = malloc(BIG_BYTES);
		long before, after_up, after_down, slack = getenv("PCHAT_TEST_RSS_SLACK_MB") ? atol(getenv("PCHAT_TEST_RSS_SLACK_MB")) : 0;
		char sha[65], want[160];
		long t0;

		fill(big, BIG_BYTES, 23);
		before = vm_hwm_kb();
		t0 = now_ms();
		CHECK(upload(&alice, g_files, "big.bin", big, BIG_BYTES), "files-11.1 a 20 MB upload -> 201");
		after_up = vm_hwm_kb();
		printf("# 20 MB upload took %ld ms\n", now_ms() - t0);
		sha_hex(big, BIG_BYTES, sha);
		snprintf(want, sizeof want, "sha256=\"%s\" name=\"big.bin\"", sha);
		CHECK(sql_count("SELECT count(*) FROM files WHERE name = 'big.bin' AND complete = 1 AND size = 20971520") == 1,
		      "files-11.2 stored complete with its size");
		t0 = now_ms();
		CHECK(download_equal(&bob, g_files, "big.bin", big, BIG_BYTES), "files-11.3 the 20 MB file downloads equal");
		printf("# 20 MB download took %ld ms\n", now_ms() - t0);
		after_down = vm_hwm_kb();
		printf("# server peak RSS (VmHWM): before %ld kB, after 20 MB upload %ld kB, after download %ld kB "
		       "(growth %ld kB)\n", before, after_up, after_down, after_down - before);
		CHECK(before > 0 && after_down - before < (16 + slack) * 1024,
		      "files-11.4 server memory does not grow with file size (VmHWM growth < 16 MiB)");
		free(big);
	}
	sign_out(&alice);
	sign_out(&bob);

	/* [files] enabled = false: no listener, tokens answered 501. */
	CHECK(tserver_stop(&srv) == 0, "files-12.1 clean stop");
	if ((f = fopen(srv.ini, "a")) != NULL) {
		fprintf(f, "[files]\nenabled = false\n");
		fclose(f);
	}
	CHECK(tserver_restart(&srv) == 0 && sign_in(&alice) == 0, "files-12.2 restart with files disabled");
	CHECK(get_token(&alice, 1, g_files, "x.bin", &tk) == 501 && tk.token[0] == '\0', "files-12.3 token request -> 501");
	CHECK(tserver_log_has(&srv, "event=files-disabled"), "files-12.4 the log says so");
	sign_out(&alice);
	CHECK(tserver_stop(&srv) == 0, "files-12.5 clean stop");
	tserver_cleanup(&srv);
	free(mib);
	free(max_file);
	return check_done("e2e_files");
}
