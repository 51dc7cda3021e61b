/*
 * e2e_web.c - room management on the web end to end: a real server, its
 * [files] HTTPS listener, real TLS (the test client's mbedTLS) and the real
 * SQLite store.  Sign-in by the form (good, wrong, login CSRF, lockout) and
 * by HTTP NTLM on one kept-alive connection (the project's own NTLMv2
 * client code), the cookie's flags and the security headers, CSRF refusals,
 * a creator creating a room and a non-creator refused, a manager adding a
 * member and changing the topic while a signed-in chat client in the room
 * sees the notice, a room name holding <script> shown escaped, sessions
 * ended by `pchat user passwd` and `user disable`, RMCommand XML over HTTP
 * with NTLM, and [web] enabled = false.
 */
#include "check.h"
#include "tchat.h"

#include <mbedtls/base64.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RM "/PersistentChat/RM/"

static struct tserver srv;
static uint16_t web_port;

/* ---- a keep-alive HTTPS client over the test client's TLS ------------------------ */

struct wc {
	struct tclient t;
	int open;
	int status;
	char head[8192];
	char *body;
	size_t body_len;
	char cookie[200];       /* "pchat_session=..." once signed in */
	char pre[200];          /* "pchat_pre=..." */
	char csrf[80];
};

static int wc_open(struct wc *w)
{
	if (w->open)
		return 0;
	memset(&w->t, 0, sizeof w->t);
	if (tclient_connect(&w->t, web_port) < 0)
		return -1;
	w->open = 1;
	return 0;
}

static void wc_close(struct wc *w)
{
	if (w->open)
		tclient_close(&w->t);
	w->open = 0;
}

/* Read one response framed by Content-Length; the status, or -1. */
static int wc_read(struct wc *w, int timeout_ms)
{
	long deadline = tchat_now_ms() + tclient_scale_ms(timeout_ms);
	struct sip_limits lim = { 16384, 64, 1u << 20 };
	static struct sip_msg m;

	for (;;) {
		long used = sip_msg_parse(&m, (const char *)buf_head(&w->t.in), w->t.in.len, &lim, "HTTP/");
		unsigned char chunk[16384];
		int n;

		if (used > 0) {
			size_t hl = m.header_bytes < sizeof w->head ? m.header_bytes : sizeof w->head - 1;

			memcpy(w->head, buf_head(&w->t.in), hl);
			w->head[hl] = '\0';
			free(w->body);
			w->body = malloc(m.content_length + 1);
			memcpy(w->body, m.body.p ? m.body.p : "", m.content_length);
			w->body[m.content_length] = '\0';
			w->body_len = m.content_length;
			w->status = m.status;
			buf_consume(&w->t.in, (size_t)used);
			if (strstr(w->head, "Connection: close"))
				wc_close(w);
			return w->status;
		}
		if (used < 0 || tchat_now_ms() > deadline)
			return -1;
		n = mbedtls_ssl_read(&w->t.ssl, chunk, sizeof chunk);
		if (n > 0) {
			buf_append(&w->t.in, chunk, (size_t)n);
		} else if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) {
			struct pollfd p = { w->t.fd, POLLIN, 0 };

			poll(&p, 1, 50);
		} else {
			wc_close(w);
			return -1;
		}
	}
}

/* One request on w's connection (opened if needed); the status. */
static int wc_req(struct wc *w, const char *method, const char *path, const char *extra, const char *body)
{
	char head[4096];
	size_t blen = body ? strlen(body) : 0;
	char cookies[450] = "";

	if (w->cookie[0] || w->pre[0])
		snprintf(cookies, sizeof cookies, "Cookie: %s%s%s\r\n", w->cookie, w->cookie[0] && w->pre[0] ? "; " : "",
		         w->pre);
	snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%s%s\r\n", method, path,
	         (unsigned)web_port, cookies, extra ? extra : "",
	         body ? "Content-Type: application/x-www-form-urlencoded\r\n" : "");
	if (body) {
		size_t hl = strlen(head) - 2;

		snprintf(head + hl, sizeof head - hl, "Content-Length: %zu\r\n\r\n", blen);
	}
	if (wc_open(w) < 0 || tclient_send(&w->t, head, strlen(head)) < 0 || (blen && tclient_send(&w->t, body, blen) < 0))
		return -1;
	return wc_read(w, 10000);
}

static int has(const struct wc *w, const char *needle)
{
	return w->body != NULL && strstr(w->body, needle) != NULL;
}

static int head_has(const struct wc *w, const char *needle)
{
	return strstr(w->head, needle) != NULL;
}

/* The value after "NAME=" in a Set-Cookie of the last answer, into out as
 * "NAME=VALUE" ("" if absent or cleared). */
static void take_cookie(const struct wc *w, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof pat, "Set-Cookie: %s=", name);
	if ((p = strstr(w->head, pat)) == NULL)
		return;
	p += strlen("Set-Cookie: ");
	n = strcspn(p, ";\r");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (out[strlen(name) + 1] == '\0')
		out[0] = '\0';
}

/* The value of the hidden field name in the last page. */
static void take_field(const struct wc *w, const char *name, char *out, size_t cap)
{
	char pat[80];
	const char *p;
	size_t n;

	out[0] = '\0';
	snprintf(pat, sizeof pat, "name=\"%s\" value=\"", name);
	if (w->body == NULL || (p = strstr(w->body, pat)) == NULL)
		return;
	p += strlen(pat);
	n = strcspn(p, "\"");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Form sign-in; the status of the POST (303 when signed in). */
static int form_sign_in(struct wc *w, const char *user, const char *password)
{
	char pre[80], body[400];

	w->cookie[0] = w->pre[0] = '\0';
	if (wc_req(w, "GET", RM, NULL, NULL) != 200)
		return -1;
	take_cookie(w, "pchat_pre", w->pre, sizeof w->pre);
	take_field(w, "pre", pre, sizeof pre);
	snprintf(body, sizeof body, "pre=%s&user=%s&password=%s", pre, user, password);
	if (wc_req(w, "POST", RM "signin", NULL, body) == 303)
		take_cookie(w, "pchat_session", w->cookie, sizeof w->cookie);
	return w->status;
}

/* The session's CSRF token, from my rooms page. */
static int load_csrf(struct wc *w)
{
	if (wc_req(w, "GET", RM, NULL, NULL) != 200)
		return -1;
	take_field(w, "csrf", w->csrf, sizeof w->csrf);
	return strlen(w->csrf) == 64 ? 0 : -1;
}

/* ---- NTLM over HTTP --------------------------------------------------------------- */

static const unsigned char negotiate[32] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 0x07, 0x82, 0x08, 0xa2 };

/* The three legs on w's connection, the third carrying method/path/body;
 * returns the last status (-2: no challenge came). */
static int ntlm_nokey;   /* send no encrypted session key, as browsers and curl (no KEY_EXCH) */

static int ntlm(struct wc *w, const char *user, const char *password, const char *method, const char *path,
                const char *body, const char *ctype)
{
	unsigned char b64[4096], challenge[2048], msg[4096], ntlmhash[16], cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned char rsk[16] = { 9 };
	char extra[5000];
	const char *p;
	size_t blen, clen, mlen;
	struct auth_keys keys;

	mbedtls_base64_encode(b64, sizeof b64, &blen, negotiate, sizeof negotiate);
	snprintf(extra, sizeof extra, "Authorization: NTLM %s\r\n", (char *)b64);
	if (wc_req(w, "GET", path, extra, NULL) != 401 || (p = strstr(w->head, "WWW-Authenticate: NTLM ")) == NULL)
		return -2;
	p += strlen("WWW-Authenticate: NTLM ");
	if (mbedtls_base64_decode(challenge, sizeof challenge, &clen, (const unsigned char *)p, strcspn(p, "\r")) != 0)
		return -2;
	auth_nt_hash(password, strlen(password), ntlmhash);
	if (auth_ntlm_client_authenticate(challenge, clen, user, "", ntlmhash, cc, rsk, 0, msg, sizeof msg, &mlen, &keys) !=
	    AUTH_OK)
		return -2;
	if (ntlm_nokey)
		memset(msg + 52, 0, 4);         /* EncryptedRandomSessionKey: length 0 (the proof is unchanged) */
	mbedtls_base64_encode(b64, sizeof b64, &blen, msg, mlen);
	snprintf(extra, sizeof extra, "Authorization: NTLM %s\r\n%s", (char *)b64, ctype ? ctype : "");
	if (body && ctype) {
		char head[6000];
		snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Length: %zu\r\n\r\n", method,
		         path, (unsigned)web_port, extra, strlen(body));
		if (!w->open || tclient_send(&w->t, head, strlen(head)) < 0 || tclient_send(&w->t, body, strlen(body)) < 0)
			return -1;
		return wc_read(w, 10000);
	}
	return wc_req(w, method, path, extra, body);
}

/* ---- the tests -------------------------------------------------------------------- */

static char *cli1(const char *a, const char *b, const char *c, const char *d, const char *e, const char *f)
{
	return tchat_cli(a, b, c, d, e, f, NULL);
}

static void setup(void)
{
	const char *users[] = { "alice", "bob", "carol", "dave", "root", "erin", "frank" };
	char out[256];

	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", users[i], "--password-stdin", NULL);
	CHECK(cli1("category", "add", "team", "--creator", "alice", NULL) != NULL, "web-0.2 category team with creator alice");
}

static void test_signin(void)
{
	struct wc w = { 0 }, x = { 0 };
	int locked = 0;

	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "action=\"/PersistentChat/RM/signin\"") &&
	      has(&w, "name=\"password\""), "web-1.1 GET / without a session: 200 and the sign-in form");
	CHECK(head_has(&w, "Content-Security-Policy: default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self';") &&
	      head_has(&w, "form-action 'self'; frame-ancestors 'none'") && head_has(&w, "X-Content-Type-Options: nosniff\r\n") &&
	      head_has(&w, "Referrer-Policy: no-referrer\r\n") && head_has(&w, "Cache-Control: no-store\r\n"),
	      "web-1.2 strict CSP, nosniff, no-referrer and no-store on the page");
	CHECK(form_sign_in(&w, "alice", "pw") == 303 && strlen(w.cookie) == strlen("pchat_session=") + 64,
	      "web-1.3 the right password: 303 and a session cookie of 64 hex digits");
	CHECK(head_has(&w, "; Path=/PersistentChat/RM/; Secure; HttpOnly; SameSite=Strict") && head_has(&w, "Max-Age=28800"),
	      "web-1.4 the cookie is Secure, HttpOnly, SameSite=Strict, Path=/PersistentChat/RM/, expiring (480 min)");
	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "My rooms") && has(&w, "sip:alice@example.org"),
	      "web-1.5 with the cookie: my rooms, naming the user");
	CHECK(form_sign_in(&x, "alice", "wrong") == 403 && x.cookie[0] == '\0' && has(&x, "Wrong user name or password"),
	      "web-1.6 a wrong password: 403, no session");
	CHECK(form_sign_in(&x, "nobody", "pw") == 403 && x.cookie[0] == '\0', "web-1.7 an unknown user: the same 403");
	x.pre[0] = '\0';
	CHECK(wc_req(&x, "POST", RM "signin", NULL, "user=alice&password=pw") == 403 && !head_has(&x, "pchat_session="),
	      "web-1.8 a sign-in POST without the form's token (login CSRF): 403");
	/* [auth] lockout_threshold = 3 in this server's ini, failure_delay_ms = 0 */
	for (int i = 0; i < 3; i++)
		form_sign_in(&x, "dave", "bad");
	locked = form_sign_in(&x, "dave", "pw");
	CHECK(locked == 429 && x.cookie[0] == '\0' && has(&x, "Too many failed sign-ins"),
	      "web-1.9 after 3 wrong passwords even the right one is refused: 429 (the SIP sign-in's lockout)");
	CHECK(tserver_log_has(&srv, "event=auth-locked door=web scope=account+address user=sip:dave@example.org"),
	      "web-1.10 the lock is logged like a SIP one");
	wc_close(&w);
	wc_close(&x);
	free(w.body);
	free(x.body);
}

static void test_ntlm(void)
{
	struct wc w = { 0 }, x = { 0 };
	int st;

	st = ntlm(&w, "carol@example.org", "pw", "GET", RM "ntlm", NULL, NULL);
	CHECK(st == 303 && head_has(&w, "Set-Cookie: pchat_session=") && head_has(&w, "Location: /PersistentChat/RM/"),
	      "web-2.1 HTTP NTLM on one connection (NEGOTIATE, CHALLENGE, AUTHENTICATE): 303 with a session");
	take_cookie(&w, "pchat_session", w.cookie, sizeof w.cookie);
	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "sip:carol@example.org"),
	      "web-2.2 the NTLM session shows carol's rooms");
	CHECK(ntlm(&x, "carol@example.org", "nope", "GET", RM "ntlm", NULL, NULL) == 401 && !head_has(&x, "pchat_session="),
	      "web-2.3 NTLM with a wrong password: 401, no session");
	CHECK(wc_req(&x, "GET", RM "ntlm", NULL, NULL) == 401 && head_has(&x, "WWW-Authenticate: NTLM\r\n"),
	      "web-2.4 the NTLM page without credentials asks for NTLM");
	wc_close(&x);
	ntlm_nokey = 1;
	CHECK(ntlm(&x, "carol@example.org", "pw", "GET", RM "ntlm", NULL, NULL) == 303 && head_has(&x, "pchat_session="),
	      "web-2.5 an AUTHENTICATE without a session key (browsers, curl --ntlm) signs in too");
	ntlm_nokey = 0;
	wc_close(&w);
	wc_close(&x);
	free(w.body);
	free(x.body);
}

static char g_room[40];

static void test_create(struct wc *alice, struct wc *bob)
{
	char body[600];
	const char *loc = NULL;

	CHECK(form_sign_in(alice, "alice", "pw") == 303 && load_csrf(alice) == 0, "web-3.0 alice signed in, CSRF token read");
	CHECK(form_sign_in(bob, "bob", "pw") == 303 && load_csrf(bob) == 0, "web-3.0b bob signed in");
	CHECK(wc_req(alice, "POST", RM "create", NULL, "name=NoToken&category=team") == 403 &&
	      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'NoToken'") == 0,
	      "web-3.1 POST create without the CSRF token: 403, nothing created");
	snprintf(body, sizeof body, "csrf=%064d&name=BadToken&category=team", 0);
	CHECK(wc_req(alice, "POST", RM "create", NULL, body) == 403 &&
	      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'BadToken'") == 0,
	      "web-3.2 POST create with a wrong CSRF token: 403, nothing created");
	CHECK(wc_req(alice, "GET", RM "create", NULL, NULL) == 200 && has(alice, "<option>team</option>"),
	      "web-3.3 the create page offers alice's category");
	snprintf(body, sizeof body, "csrf=%s&name=Plans&category=team&privacy=closed&type=normal&description=d&topic=t",
	         alice->csrf);
	CHECK(wc_req(alice, "POST", RM "create", NULL, body) == 303 && (loc = strstr(alice->head, "Location: " RM "room?id=")),
	      "web-3.4 a creator creates a room: 303 to its settings page");
	CHECK(tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'Plans'") == 1 &&
	      tchat_sql_count("SELECT count(*) FROM room_roles r JOIN rooms m ON m.id = r.room_id WHERE m.name = 'Plans' "
	                      "AND r.uri = 'sip:alice@example.org' AND (r.roles & 2) = 2") == 1,
	      "web-3.5 the room exists and alice manages it");
	if (loc)
		snprintf(g_room, sizeof g_room, "%.36s", loc + strlen("Location: " RM "room?id="));
	CHECK(wc_req(bob, "GET", RM "create", NULL, NULL) == 403 && has(bob, "not a creator"),
	      "web-3.6 a non-creator is told he may not create rooms");
	snprintf(body, sizeof body, "csrf=%s&name=Sneaky&category=team", bob->csrf);
	CHECK(wc_req(bob, "POST", RM "create", NULL, body) == 403 &&
	      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'Sneaky'") == 0,
	      "web-3.7 a non-creator's POST is refused (403) and nothing is created");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND user_uri = "
	                      "'sip:alice@example.org'") >= 1,
	      "web-3.8 an ADMIN event names alice, not \"admin\"");
	{
		char path[120];

		snprintf(path, sizeof path, RM "room?id=%s", g_room);
		CHECK(wc_req(bob, "GET", path, NULL, NULL) == 403 || bob->status == 404,
		      "web-3.9 bob may not open the settings of alice's room");
	}
}

static void test_manage(struct wc *alice)
{
	static struct tuser carol = { .name = "carol" };
	char body[600], path[120];

	CHECK(tchat_sign_in(&carol) == 0, "web-4.0 carol signs in over SIP");
	snprintf(body, sizeof body, "csrf=%s&id=%s&action=add&role=member&user=carol", alice->csrf, g_room);
	CHECK(wc_req(alice, "POST", RM "room", NULL, body) == 303 &&
	      tchat_sql_count("SELECT count(*) FROM room_roles r JOIN rooms m ON m.id = r.room_id WHERE m.name = 'Plans' "
	                      "AND r.uri = 'sip:carol@example.org' AND (r.roles & 1) = 1") == 1,
	      "web-4.1 the manager adds carol as a member");
	CHECK(tchat_join(&carol, g_room) == 200, "web-4.2 carol joins the room");
	tchat_clear(&carol);
	snprintf(body, sizeof body, "csrf=%s&id=%s&action=save&name=Plans&description=d&topic=Web+topic+42&privacy=closed"
	                            "&type=normal&invitations=inherit", alice->csrf, g_room);
	CHECK(wc_req(alice, "POST", RM "room", NULL, body) == 303, "web-4.3 the manager changes the topic: 303");
	CHECK(tchat_wait_for(&carol, "Web topic 42", 3000), "web-4.4 carol, joined, sees the new topic at once");
	snprintf(path, sizeof path, RM "room?id=%s&done=saved", g_room);
	CHECK(wc_req(alice, "GET", path, NULL, NULL) == 200 && has(alice, "value=\"Web topic 42\"") &&
	      has(alice, "sip:carol@example.org"), "web-4.5 the settings page shows the topic and the new member");
	tchat_sign_out(&carol);
}

static void test_xss(struct wc *alice)
{
	char body[600];

	snprintf(body, sizeof body, "csrf=%s&name=%%3Cscript%%3Ealert(1)%%3C%%2Fscript%%3E%%22x&category=team", alice->csrf);
	CHECK(wc_req(alice, "POST", RM "create", NULL, body) == 303, "web-5.1 a room named <script>...: created");
	CHECK(wc_req(alice, "GET", RM, NULL, NULL) == 200 && has(alice, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;x") &&
	      !has(alice, "<script>alert"), "web-5.2 my rooms shows the name escaped, never as markup");
}

static void test_handler(void)
{
	struct wc w = { 0 };
	const char *xml = "<RMCommand xmlns=\"http://schemas.microsoft.com/2006/09/rtc/cwa\" Type=\"CreateRoom\" "
	                  "RoomName=\"Scripted\" RoomDesc=\"by curl\" Privacy=\"Open\" CategoryUri=\"team\"/>";
	int st = ntlm(&w, "alice@example.org", "pw", "POST", RM "Handler/ManagementHandler.ashx", xml,
	              "Content-Type: text/xml\r\n");

	CHECK(st == 200 && tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'Scripted'") == 1,
	      "web-6.1 RMCommand CreateRoom over HTTP with NTLM: 200 and the room exists");
	CHECK(strstr(w.head, "Content-Type: text/xml") != NULL, "web-6.2 the handler answers XML");
	CHECK(strstr(w.body, "<Success>true</Success>") != NULL && strstr(w.body, "<UserName>sip:alice@example.org</UserName>"),
	      "web-6.2b the answer says success and names alice");
	wc_close(&w);
	CHECK(wc_req(&w, "POST", RM "Handler/ManagementHandler.ashx", NULL, "x") == 401 &&
	      head_has(&w, "WWW-Authenticate: NTLM"), "web-6.3 the handler without credentials asks for NTLM");
	wc_close(&w);
	free(w.body);
}

/* The handler with the session cookie: the CSRF token in X-CSRF-Token. */
static void test_handler_session(struct wc *alice, struct wc *bob)
{
	const char *xml = "<RMCommand xmlns=\"http://schemas.microsoft.com/2006/09/rtc/cwa\" Type=\"CreateRoom\" "
	                  "RoomName=\"ByCookie\" CategoryUri=\"team\"/>";
	{
		const char *bobxml = "<RMCommand xmlns=\"http://schemas.microsoft.com/2006/09/rtc/cwa\" Type=\"CreateRoom\" "
		                     "RoomName=\"ByBob00\" CategoryUri=\"team\"/>";
		char head[4096];

		snprintf(head, sizeof head, "POST " RM "Handler/ManagementHandler.ashx HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
		         "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n%s", alice->cookie, strlen(xml), xml);
		CHECK(wc_open(alice) == 0 && tclient_send(&alice->t, head, strlen(head)) == 0 && wc_read(alice, 10000) == 403 &&
		      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'ByCookie'") == 0,
		      "web-6.5 the handler with the cookie but no CSRF token: 403, nothing created");
		snprintf(head, sizeof head, "POST " RM "Handler/ManagementHandler.ashx HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
		         "X-CSRF-Token: %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n\r\n%s", alice->cookie,
		         alice->csrf, strlen(xml), xml);
		CHECK(wc_open(alice) == 0 && tclient_send(&alice->t, head, strlen(head)) == 0 && wc_read(alice, 10000) == 200 &&
		      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'ByCookie'") == 1,
		      "web-6.6 the handler with the cookie and X-CSRF-Token: 200, the room exists");
		snprintf(head, sizeof head, "POST " RM "Handler/ManagementHandler.ashx HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
		         "X-CSRF-Token: %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n\r\n%s", bob->cookie,
		         bob->csrf, strlen(bobxml), bobxml);
		CHECK(wc_open(bob) == 0 && tclient_send(&bob->t, head, strlen(head)) == 0 && wc_read(bob, 10000) == 403 &&
		      tchat_sql_count("SELECT count(*) FROM rooms WHERE name = 'ByBob00'") == 0,
		      "web-6.7 a non-creator's RMCommand CreateRoom: 403, nothing created");
	}
}

static void test_revoke(void)
{
	struct wc w = { 0 }, n = { 0 };
	char out[256];

	CHECK(form_sign_in(&w, "erin", "pw") == 303 && wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "My rooms"),
	      "web-7.0 erin signed in");
	CHECK(ntlm(&n, "erin@example.org", "pw", "GET", RM "ntlm", NULL, NULL) == 303, "web-7.0b erin signed in by NTLM too");
	tserver_cli(&srv, "pw2\n", out, sizeof out, "user", "passwd", "erin", "--password-stdin", NULL);
	usleep(100000);
	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "name=\"password\"") && !has(&w, "My rooms"),
	      "web-7.1 after `pchat user passwd` the session is gone: the sign-in form again");
	CHECK(wc_req(&n, "GET", RM "create", NULL, NULL) == 200 && has(&n, "name=\"password\""),
	      "web-7.2 ... and the NTLM-signed connection is no longer signed in");
	CHECK(form_sign_in(&w, "erin", "pw2") == 303 && wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "My rooms"),
	      "web-7.3 erin signs in with the new password");
	tserver_cli(&srv, NULL, out, sizeof out, "user", "disable", "erin", NULL);
	usleep(100000);
	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && !has(&w, "My rooms"),
	      "web-7.4 after `pchat user disable` the session is gone");
	CHECK(form_sign_in(&w, "frank", "pw") == 303 && wc_req(&w, "GET", RM, NULL, NULL) == 200 && has(&w, "My rooms"),
	      "web-7.5 frank signed in");
	tserver_cli(&srv, NULL, out, sizeof out, "user", "del", "frank", NULL);
	usleep(100000);
	CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 200 && !has(&w, "My rooms") && has(&w, "name=\"password\""),
	      "web-7.6 after `pchat user del` the session is gone");
	wc_close(&w);
	wc_close(&n);
	free(w.body);
	free(n.body);
}

static void test_keepalive_and_limits(void)
{
	struct wc w = { 0 };
	char big[200];

	CHECK(wc_req(&w, "GET", RM "pchat.css", NULL, NULL) == 200 && head_has(&w, "Content-Type: text/css") &&
	      head_has(&w, "Connection: keep-alive") && w.open, "web-8.1 the stylesheet; the connection is kept");
	CHECK(wc_req(&w, "GET", RM "pchat.js", NULL, NULL) == 200 && head_has(&w, "Content-Type: text/javascript"),
	      "web-8.2 a second request on the same connection: the script");
	CHECK(wc_req(&w, "GET", RM "..%2Ffiles", NULL, NULL) == 400, "web-8.3 a dot segment in the path: 400");
	CHECK(wc_req(&w, "GET", "/favicon.ico", NULL, NULL) == 404 && has(&w, "no such resource") && !w.open,
	      "web-8.3b another path on a kept web connection goes back to the file service (404, closed)");
	snprintf(big, sizeof big, "Content-Length: %u\r\n", 70000u);
	CHECK(wc_req(&w, "POST", RM "signin", big, NULL) == 413 && !w.open, "web-8.4 a body over 64 KiB: 413 and closed");
	CHECK(wc_req(&w, "GET", "/files/x", NULL, NULL) == 404, "web-8.5 other paths still go to the file service");
	wc_close(&w);
	free(w.body);
}

static uint16_t files_port_from_log(void)
{
	char line[1024];
	unsigned port = 0;
	FILE *f = fopen(srv.log, "r");

	while (f && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "event=files-listen port=");

		if (p)
			port = (unsigned)atoi(p + strlen("event=files-listen port="));
	}
	if (f)
		fclose(f);
	return (uint16_t)port;
}

/* Rows of the rooms table in w's page. */
static int room_rows(const struct wc *w)
{
	int rows = 0;

	for (const char *p = w->body; p && (p = strstr(p, "</td></tr>")) != NULL; p++)
		rows++;
	return rows;
}

/* A site with thousands of rooms: "All rooms" comes in pages of 200 (one
 * page of them all passed the 512 KiB a page may take, and answered 500). */
static void test_many_rooms(void)
{
	struct wc w = { 0 };
	char path[128], want[64];
	int64_t n, pages;

	CHECK(tchat_sql_exec("WITH RECURSIVE k (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 3000)"
	                     " INSERT INTO rooms (guid, name, category_id, privacy, created_us)"
	                     " SELECT printf('6f1c2d3e-%04d-4a5b-8c7d-%012d', i, i),"
	                     " printf('A room among very many rooms, number %04d', i), (SELECT min(id) FROM categories),"
	                     " 0, 1 FROM k") == 0,
	      "web-8.1 (setup) 3,000 rooms more");
	n = tchat_sql_count("SELECT count(*) FROM rooms");
	pages = (n + 199) / 200;
	CHECK(form_sign_in(&w, "root", "pw") == 303, "web-8.2 the site admin signs in");
	snprintf(want, sizeof want, "Page 1 of %lld", (long long)pages);
	CHECK(wc_req(&w, "GET", RM "all", NULL, NULL) == 200 && room_rows(&w) == 200 && has(&w, want) &&
	      has(&w, "href=\"/PersistentChat/RM/all?page=2\" rel=\"next\"") && !has(&w, "rel=\"prev\""),
	      "web-8.3 All rooms: the first 200, page 1 of N, a link to the next");
	snprintf(path, sizeof path, RM "all?page=%lld", (long long)pages);
	snprintf(want, sizeof want, "Page %lld of %lld", (long long)pages, (long long)pages);
	CHECK(wc_req(&w, "GET", path, NULL, NULL) == 200 && room_rows(&w) == (int)(n - (pages - 1) * 200) &&
	      has(&w, want) && has(&w, "rel=\"prev\"") && !has(&w, "rel=\"next\"") &&
	      has(&w, "number 3000"),
	      "web-8.4 the last page: the rest, a link back, none forward");
	snprintf(path, sizeof path, RM "all?page=%lld", (long long)pages + 1);
	CHECK(wc_req(&w, "GET", path, NULL, NULL) == 404, "web-8.5 past the last page: 404");
	CHECK(wc_req(&w, "GET", RM "all?page=0", NULL, NULL) == 400 && wc_req(&w, "GET", RM "all?page=x", NULL, NULL) == 400 &&
	      wc_req(&w, "GET", RM "all?page=99999999999", NULL, NULL) == 400,
	      "web-8.6 page 0, a word or a huge number: 400");
	CHECK(tchat_sql_exec("DELETE FROM rooms WHERE name LIKE 'A room among very many rooms%'") == 0,
	      "web-8.7 (cleanup) the rooms go");
	wc_close(&w);
	free(w.body);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	struct wc alice = { 0 }, bob = { 0 }, w = { 0 };

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "[auth]\nlockout_threshold = 3\nfailure_delay_ms = 0\n[web]\nadmins = root\n") == 0,
	           "web-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_web");
	}
	web_port = files_port_from_log();
	CHECK(web_port != 0, "web-0.1 the files listener's port");
	setup();
	test_signin();
	test_ntlm();
	test_create(&alice, &bob);
	test_manage(&alice);
	test_xss(&alice);
	test_handler();
	test_handler_session(&alice, &bob);
	test_revoke();
	test_keepalive_and_limits();
	test_many_rooms();
	wc_close(&alice);
	wc_close(&bob);
	free(alice.body);
	free(bob.body);
	CHECK(tserver_stop(&srv) == 0, "web-9.1 the server stops cleanly");
	tserver_cleanup(&srv);

	/* [web] enabled = false: the pages answer 404, files still work. */
	if (CHECK(tserver_start(&srv, bin, "[web]\nenabled = false\n") == 0, "web-10.0 a server with the web off")) {
		web_port = files_port_from_log();
		CHECK(wc_req(&w, "GET", RM, NULL, NULL) == 404 && !has(&w, "name=\"password\""),
		      "web-10.1 [web] enabled = false: 404, no sign-in form");
		wc_close(&w);
		free(w.body);
		CHECK(tserver_stop(&srv) == 0, "web-10.2 it stops cleanly");
		tserver_cleanup(&srv);
	}
	return check_done("e2e_web");
}
