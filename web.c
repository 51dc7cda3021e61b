/*
 * web.c - see web.h.  Connections, sessions and sign-in of the web service;
 * the pages are in web_pages.c.
 *
 * A connection handed over by files.c stays here: requests are framed one
 * after the other by sip_msg_parse with the web's own body cap
 * (HTTP_FORM_MAX), each answered with Content-Length, and the connection is
 * kept for the next one (HTTP NTLM authenticates a connection in three
 * legs) up to WEB_REQUESTS_PER_CONN requests, or closed after any framing
 * error, an HTTP/1.0 request or "Connection: close".  Between requests a
 * connection may idle WEB_IDLE_MS (files.c's sweep asks web_conn_idle).
 *
 * Sessions live in one table of WEB_SESSIONS_MAX slots, keyed by 32 random
 * bytes (hex) compared in constant time over every slot; a full table drops
 * the session closest to its end.  A session remembers its user's row
 * (created_us and a keyed tag of the NT hash) and ends when the row no
 * longer matches: checked on every request, and for the whole table
 * whenever PRAGMA data_version says another process (the admin CLI) wrote,
 * as sip_server.c does for SIP sessions.
 */
#include "web.h"
#include "web_internal.h"
#include "files.h"
#include "user_uri.h"
#include "auth.h"
#include "base.h"
#include "lockout.h"
#include "log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/sha256.h>

#define WEB_SESSIONS_MAX 1024
#define WEB_REQUESTS_PER_CONN 100
#define WEB_IDLE_MS 30000
#define WEB_CHECK_MS 2000           /* the users table watch, as SIP_USER_CHECK_MS */
#define WEB_PRE_SECONDS 900         /* the pre-sign-in cookie */
#define WEB_NTLM_MAX 2048           /* bytes of a decoded NTLM message */
#define SESSION_COOKIE "pchat_session"
#define PRE_COOKIE "pchat_pre"
#define COOKIE_ATTRS "; Path=" WEB_PREFIX "/; Secure; HttpOnly; SameSite=Strict"

struct web_conn {
	int64_t last_ms;
	unsigned requests;
	int challenged;                 /* an NTLM challenge was sent on this connection */
	uint8_t challenge[8];
	char ntlm_user[STORE_URI_MAX];  /* signed in by NTLM on this connection, or "" */
	int64_t ntlm_created_us;
	uint8_t ntlm_tag[16];
};

struct web {
	const struct config *cfg;
	struct store *st;
	struct loop *loop;
	struct lockout *lockout;
	struct chat_rooms *chat;
	struct sip_limits limits;
	struct sip_msg msg;
	uint8_t secret[16];             /* keys the NT hash tags */
	char nb_domain[16];
	int64_t timer;
	int64_t users_version;
	int users_version_known;
	struct web_session sessions[WEB_SESSIONS_MAX];
};

/* ---- small things ------------------------------------------------------------ */

static int64_t now_ms(const struct web *w)
{
	return loop_now(w->loop);
}

static int random_hex(char *out, size_t bytes)
{
	unsigned char raw[64];

	if (bytes > sizeof raw || random_bytes(raw, bytes) < 0)
		return -1;
	hex_encode(raw, bytes, out);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

static int is_token(const char *s)
{
	size_t n = strnlen(s, WEB_TOKEN_HEX + 1);

	if (n != WEB_TOKEN_HEX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void hash_tag(const struct web *w, const uint8_t nt_hash[16], uint8_t tag[16])
{
	unsigned char in[32], digest[32];

	memcpy(in, w->secret, 16);
	memcpy(in + 16, nt_hash, 16);
	mbedtls_sha256_ret(in, sizeof in, digest, 0);
	memcpy(tag, digest, 16);
	explicit_bzero(in, sizeof in);
	explicit_bzero(digest, sizeof digest);
}

static const char *peer_ip(const struct conn *c, char *out, size_t outlen)
{
	if (inet_ntop(c->peer_addr_len == 16 ? AF_INET6 : AF_INET, c->peer_addr, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "-");
	return out;
}

int web_claims(const char *t, size_t len)
{
	size_t plen = strlen(WEB_PREFIX);

	if ((len > 8 && strncasecmp(t, "https://", 8) == 0) || (len > 7 && strncasecmp(t, "http://", 7) == 0)) {
		size_t skip = t[4] == ':' ? 7 : 8;
		const char *slash = memchr(t + skip, '/', len - skip);

		if (slash == NULL)
			return 0;
		len -= (size_t)(slash - t);
		t = slash;
	}
	return len >= plen && memcmp(t, WEB_PREFIX, plen) == 0 && (len == plen || t[plen] == '/' || t[plen] == '?');
}

/* ---- sessions ---------------------------------------------------------------- */

static void session_drop(struct web_session *s)
{
	explicit_bzero(s, sizeof *s);
}

/* Why the session of user (created_us, tag) may not go on, or NULL.  A
 * store error is no verdict: NULL with *failed set. */
static const char *user_revoked(struct web *w, const char *user, int64_t created_us, const uint8_t tag[16],
                                int *failed)
{
	struct store_user u;
	uint8_t now_tag[16];
	int rc = store_user_get(w->st, user, &u);

	if (rc == STORE_E_NOTFOUND)
		return "user deleted";
	if (rc != STORE_OK) {
		*failed = 1;
		return NULL;
	}
	hash_tag(w, u.nt_hash, now_tag);
	explicit_bzero(u.nt_hash, sizeof u.nt_hash);
	if (u.disabled)
		return "user disabled";
	if (u.created_us != created_us)
		return "user deleted and added again";
	if (memcmp(now_tag, tag, sizeof now_tag) != 0)
		return "password changed";
	return NULL;
}

static void sessions_check(struct web *w, int all, int *failed)
{
	int64_t now = now_ms(w);

	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
		struct web_session *s = &w->sessions[i];
		const char *why;

		if (s->id[0] == '\0')
			continue;
		if (now >= s->expires_ms) {
			log_info("event=web-session-ended user=%s reason=\"expired\"", s->user);
			session_drop(s);
			continue;
		}
		if (all && (why = user_revoked(w, s->user, s->user_created_us, s->hash_tag, failed)) != NULL) {
			log_info("event=web-session-ended user=%s reason=\"%s\"", s->user, why);
			session_drop(s);
		}
	}
}

/* Every WEB_CHECK_MS: expired sessions go; when another process wrote to
 * the store, every session is checked against its users row. */
static int64_t web_tick(struct loop *l, void *arg)
{
	struct web *w = arg;
	int64_t version;
	int failed = 0, changed;

	(void)l;
	changed = store_data_version(w->st, &version) == STORE_OK &&
	          (!w->users_version_known || version != w->users_version);
	sessions_check(w, changed, &failed);
	if (changed) {
		w->users_version = version;
		w->users_version_known = !failed;
	}
	return WEB_CHECK_MS;
}

/* The session named by the request's cookie, still valid, or NULL. */
static struct web_session *session_of(struct web *w, const struct sip_msg *m)
{
	const struct sip_str *cookie = sip_msg_header(m, "Cookie", 0);
	struct web_session *found = NULL;
	char id[WEB_TOKEN_HEX + 1];
	const char *why;
	int failed = 0;

	if (cookie == NULL || http_cookie_get(cookie->p, cookie->len, SESSION_COOKIE, id, sizeof id) != 1 ||
	    !is_token(id))
		return NULL;
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
		if (w->sessions[i].id[0] && mbedtls_ct_memcmp(w->sessions[i].id, id, WEB_TOKEN_HEX) == 0)
			found = &w->sessions[i];
	if (found == NULL)
		return NULL;
	if (now_ms(w) >= found->expires_ms) {
		session_drop(found);
		return NULL;
	}
	if ((why = user_revoked(w, found->user, found->user_created_us, found->hash_tag, &failed)) != NULL) {
		log_info("event=web-session-ended user=%s reason=\"%s\"", found->user, why);
		session_drop(found);
		return NULL;
	}
	return failed ? NULL : found;
}

/* A new session for user; NULL when no randomness. */
static struct web_session *session_new(struct web *w, const char *user, int64_t created_us, const uint8_t tag[16])
{
	struct web_session *slot = NULL;

	sessions_check(w, 0, NULL);
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
		struct web_session *s = &w->sessions[i];

		if (s->id[0] == '\0') {
			slot = s;
			break;
		}
		if (slot == NULL || s->expires_ms < slot->expires_ms)
			slot = s;
	}
	if (slot->id[0])
		log_warn("event=web-session-evicted user=%s reason=\"table full (%d)\"", slot->user, WEB_SESSIONS_MAX);
	session_drop(slot);
	if (random_hex(slot->id, WEB_TOKEN_HEX / 2) < 0 || random_hex(slot->csrf, WEB_TOKEN_HEX / 2) < 0) {
		session_drop(slot);
		return NULL;
	}
	snprintf(slot->user, sizeof slot->user, "%s", user);
	slot->user_created_us = created_us;
	memcpy(slot->hash_tag, tag, 16);
	slot->expires_ms = now_ms(w) + (int64_t)w->cfg->web_session_minutes * 60000;
	return slot;
}

/* ---- answers ------------------------------------------------------------------- */

void web_answer(struct web_req *r, int code, const char *reason, const char *ctype, const char *extra,
                const void *body, size_t len)
{
	char head[2048];
	int keep = r->wc->requests < WEB_REQUESTS_PER_CONN && r->c->state == CONN_OPEN;
	const struct sip_str *conn_h = sip_msg_header(r->m, "Connection", 0);
	int n;

	if (!sip_str_eq(r->m->version, "HTTP/1.1") || (conn_h != NULL && sip_str_ieq(*conn_h, "close")))
		keep = 0;
	n = snprintf(head, sizeof head,
	             "HTTP/1.1 %d %s\r\n"
	             "Server: pchat\r\n"
	             "Content-Type: %s\r\n"
	             "Content-Length: %zu\r\n"
	             "Content-Security-Policy: default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
	             "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	             "X-Content-Type-Options: nosniff\r\n"
	             "X-Frame-Options: DENY\r\n"
	             "Referrer-Policy: no-referrer\r\n"
	             "Cache-Control: no-store\r\n"
	             "%s"
	             "Connection: %s\r\n\r\n",
	             code, reason, ctype, len, extra ? extra : "", keep ? "keep-alive" : "close");
	r->answered = 1;
	if (n < 0 || (size_t)n >= sizeof head) {
		conn_kill(r->c, "answer head too long");
		return;
	}
	{
		char raw[16], method[24], path[HTTP_PATH_MAX + 8];

		snprintf(raw, sizeof raw, "%.*s", (int)(r->m->method.len < 15 ? r->m->method.len : 15), r->m->method.p);
		log_info("conn=%llu event=web-request method=%s path=%s status=%d user=%s", (unsigned long long)r->c->id,
		         log_value(method, sizeof method, raw), log_value(path, sizeof path, r->path[0] ? r->path : "-"),
		         code, r->user ? r->user : "-");
	}
	if (conn_send(r->c, head, (size_t)n) < 0 || (len > 0 && conn_send(r->c, body, len) < 0))
		return;
	if (!keep)
		conn_close(r->c, "web answer complete");
}

void web_send_page(struct web_req *r, int code, const char *reason)
{
	if (r->out.failed) {
		static const char text[] = "the page is too large\n";

		web_answer(r, 500, "Internal Server Error", "text/plain; charset=utf-8", NULL, text, sizeof text - 1);
		return;
	}
	web_answer(r, code, reason, "text/html; charset=utf-8", NULL, buf_head(&r->out.b), r->out.b.len);
}

static void web_send_page_extra(struct web_req *r, int code, const char *reason, const char *extra)
{
	if (r->out.failed) {
		web_send_page(r, code, reason);
		return;
	}
	web_answer(r, code, reason, "text/html; charset=utf-8", extra, buf_head(&r->out.b), r->out.b.len);
}

void web_redirect(struct web_req *r, const char *sub, const char *extra)
{
	char hdr[1400];

	snprintf(hdr, sizeof hdr, "Location: " WEB_PREFIX "/%s\r\n%s", sub, extra ? extra : "");
	web_answer(r, 303, "See Other", "text/plain; charset=utf-8", hdr, "", 0);
}

void web_message(struct web_req *r, int code, const char *reason, const char *title, const char *text)
{
	buf_truncate(&r->out.b, 0);
	r->out.failed = 0;
	web_head(r, title);
	xo_str(&r->out, "<p class=\"msg\" role=\"alert\">");
	web_text(r, text);
	xo_str(&r->out, "</p><p><a href=\"" WEB_PREFIX "/\">Back to my rooms</a></p>");
	web_tail(r);
	web_send_page(r, code, reason);
}

int web_field(const struct web_req *r, int q, const char *name, char *out, size_t cap)
{
	return q ? http_form_get(r->query, r->qlen, name, out, cap) : http_form_get(r->body, r->blen, name, out, cap);
}

/* The token comes in the form's csrf field, or for a script posting XML to
 * the handler with the session cookie, in an X-CSRF-Token header. */
int web_csrf_ok(const struct web_req *r)
{
	char tok[WEB_TOKEN_HEX + 1];
	const struct sip_str *h = sip_msg_header(r->m, "X-CSRF-Token", 0);

	if (r->s == NULL)
		return 0;
	if (h != NULL && h->len == WEB_TOKEN_HEX) {
		memcpy(tok, h->p, WEB_TOKEN_HEX);
		tok[WEB_TOKEN_HEX] = '\0';
	} else if (web_field(r, 0, "csrf", tok, sizeof tok) != 1) {
		return 0;
	}
	return is_token(tok) && mbedtls_ct_memcmp(tok, r->s->csrf, WEB_TOKEN_HEX) == 0;
}

/* ---- sign-in ---------------------------------------------------------------------- */

/* Before a password of uri is checked: 0 to go on, else the seconds to
 * wait (a lock, or the hold after a recent failure; the attempt is not
 * checked and not counted).  Runs before the user is looked up. */
static int64_t signin_throttled(struct web_req *r, const char *uri)
{
	struct lockout_limits lim;
	int64_t now = now_ms(r->w), until;
	enum lockout_scope scope;
	char ip[INET6_ADDRSTRLEN];

	lockout_limits_from(r->cfg, &lim);
	scope = lockout_check(r->w->lockout, &lim, uri, r->c->peer_addr, r->c->peer_addr_len, now, &until);
	if (scope == LOCKOUT_NONE && until <= now)
		return 0;
	log_info("conn=%llu event=auth-failed door=web addr=%s user=%s reason=\"%s %s for %lld more s\"",
	         (unsigned long long)r->c->id, peer_ip(r->c, ip, sizeof ip), uri,
	         scope != LOCKOUT_NONE ? "locked" : "held", scope != LOCKOUT_NONE ? lockout_scope_name(scope) : "after a failure",
	         (long long)((until - now + 999) / 1000));
	return (until - now + 999) / 1000;
}

static void signin_failed(struct web_req *r, const char *uri, const char *why)
{
	static const enum lockout_scope scopes[] = { LOCKOUT_PAIR, LOCKOUT_ACCOUNT, LOCKOUT_ADDRESS };
	struct lockout_limits lim;
	struct lockout_failure f;
	char ip[INET6_ADDRSTRLEN];

	lockout_limits_from(r->cfg, &lim);
	lockout_fail(r->w->lockout, &lim, uri, r->c->peer_addr, r->c->peer_addr_len, now_ms(r->w), &f);
	log_info("conn=%llu event=auth-failed door=web addr=%s user=%s reason=\"%s\"", (unsigned long long)r->c->id,
	         peer_ip(r->c, ip, sizeof ip), uri, why);
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
		if (f.newly_locked & (1u << scopes[i]))
			log_warn("conn=%llu event=auth-locked door=web scope=%s user=%s addr=%s seconds=%llu",
			         (unsigned long long)r->c->id, lockout_scope_name(scopes[i]), uri, ip,
			         (unsigned long long)r->cfg->lockout_seconds);
}

/* The pre-sign-in token of the request's cookie, or a new one; 0 or -1. */
static int pre_token(const struct web_req *r, char out[WEB_TOKEN_HEX + 1], int *fresh)
{
	const struct sip_str *cookie = sip_msg_header(r->m, "Cookie", 0);

	*fresh = 0;
	if (cookie != NULL && http_cookie_get(cookie->p, cookie->len, PRE_COOKIE, out, WEB_TOKEN_HEX + 1) == 1 &&
	    is_token(out))
		return 0;
	*fresh = 1;
	return random_hex(out, WEB_TOKEN_HEX / 2);
}

static void signin_form(struct web_req *r, int code, const char *reason, const char *error)
{
	char pre[WEB_TOKEN_HEX + 1], extra[256];
	int fresh;

	if (pre_token(r, pre, &fresh) < 0) {
		web_message(r, 503, "Service Unavailable", "Sign in", "no random bytes; try again");
		return;
	}
	snprintf(extra, sizeof extra, "Set-Cookie: " PRE_COOKIE "=%s; Max-Age=%d" COOKIE_ATTRS "\r\n", pre,
	         WEB_PRE_SECONDS);
	buf_truncate(&r->out.b, 0);
	r->out.failed = 0;
	web_signin_page(r, code, reason, pre, error);
	web_send_page_extra(r, code, reason, fresh ? extra : NULL);
	explicit_bzero(pre, sizeof pre);
}

/* Signed in as uri (row u): a session, its cookie, and the way in. */
static void signin_done(struct web_req *r, const char *uri, int64_t created_us, const uint8_t tag[16], const char *how)
{
	struct web_session *s = session_new(r->w, uri, created_us, tag);
	char extra[512];

	if (s == NULL) {
		web_message(r, 503, "Service Unavailable", "Sign in", "no random bytes; try again");
		return;
	}
	lockout_success(r->w->lockout, uri, r->c->peer_addr, r->c->peer_addr_len);
	if (strcmp(how, "ntlm") != 0)       /* ntlm_step logged it */
		log_info("conn=%llu event=auth-ok door=web how=%s user=%s", (unsigned long long)r->c->id, how, uri);
	snprintf(extra, sizeof extra,
	         "Set-Cookie: " SESSION_COOKIE "=%s; Max-Age=%llu" COOKIE_ATTRS "\r\n"
	         "Set-Cookie: " PRE_COOKIE "=; Max-Age=0" COOKIE_ATTRS "\r\n",
	         s->id, (unsigned long long)r->cfg->web_session_minutes * 60);
	r->user = s->user;
	web_redirect(r, "", extra);
	explicit_bzero(extra, sizeof extra);
}

/* POST signin: user, password and the pre-sign-in token (login CSRF). */
static void signin_post(struct web_req *r)
{
	char pre[WEB_TOKEN_HEX + 1], form_pre[WEB_TOKEN_HEX + 1], name[STORE_URI_MAX], uri[STORE_URI_MAX];
	char password[512], err[200], text[160];
	const struct sip_str *cookie = sip_msg_header(r->m, "Cookie", 0);
	struct store_user u;
	uint8_t hash[AUTH_NT_HASH_LEN], tag[16];
	int64_t wait;
	int found, ok;

	if (cookie == NULL || http_cookie_get(cookie->p, cookie->len, PRE_COOKIE, pre, sizeof pre) != 1 ||
	    !is_token(pre) || web_field(r, 0, "pre", form_pre, sizeof form_pre) != 1 || !is_token(form_pre) ||
	    mbedtls_ct_memcmp(pre, form_pre, WEB_TOKEN_HEX) != 0) {
		web_message(r, 403, "Forbidden", "Sign in", "the sign-in form was not the one this server gave out (CSRF); "
		            "load the sign-in page again");
		return;
	}
	if (web_field(r, 0, "user", name, sizeof name) != 1 || name[0] == '\0' ||
	    web_field(r, 0, "password", password, sizeof password) != 1 ||
	    admin_user_uri(name, r->cfg->domain, uri, sizeof uri, err, sizeof err) < 0) {
		signin_form(r, 400, "Bad Request", "Give your user name and password.");
		return;
	}
	if ((wait = signin_throttled(r, uri)) > 0) {
		snprintf(text, sizeof text, "Too many failed sign-ins. Try again in %lld seconds.", (long long)wait);
		signin_form(r, 429, "Too Many Requests", text);
		explicit_bzero(password, sizeof password);
		return;
	}
	found = store_user_get(r->st, uri, &u) == STORE_OK && !u.disabled;
	/* The hash is computed for unknown users too: the time taken says
	 * nothing about which users exist. */
	ok = auth_nt_hash(password, strlen(password), hash) == AUTH_OK && found &&
	     mbedtls_ct_memcmp(hash, u.nt_hash, sizeof hash) == 0;
	if (found)
		hash_tag(r->w, u.nt_hash, tag);
	explicit_bzero(password, sizeof password);
	explicit_bzero(hash, sizeof hash);
	explicit_bzero(u.nt_hash, sizeof u.nt_hash);
	if (!ok) {
		signin_failed(r, uri, found ? "wrong password" : "unknown or disabled user");
		signin_form(r, 403, "Forbidden", "Wrong user name or password.");
		return;
	}
	signin_done(r, uri, u.created_us, tag, "form");
}

static uint64_t filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static void ntlm_ask(struct web_req *r, const char *why)
{
	static const char text[] = "Sign in with NTLM, or use the form at " WEB_PREFIX "/\n";

	(void)why;
	web_answer(r, 401, "Unauthorized", "text/plain; charset=utf-8", "WWW-Authenticate: NTLM\r\n", text,
	           sizeof text - 1);
}

/* HTTP NTLM (the connection-oriented form of MS-NLMP over HTTP): a
 * NEGOTIATE gets a CHALLENGE on this connection, the AUTHENTICATE is
 * verified (NTLMv2, auth.c) through the same throttling as the form.
 * Returns 1 when the connection is signed in (wc->ntlm_user), 0 when an
 * answer was sent (challenge or refusal). */
static int ntlm_step(struct web_req *r, struct sip_str auth)
{
	struct web_conn *wc = r->wc;
	uint8_t msg[WEB_NTLM_MAX];
	unsigned char b64[WEB_NTLM_MAX * 2];
	struct auth_ntlm_authenticate a;
	struct store_user u;
	char uri[STORE_URI_MAX], err[200], extra[WEB_NTLM_MAX * 2 + 64];
	size_t mlen, blen;
	int64_t wait;
	int found, ok;

	auth = sip_str_trim((struct sip_str){ auth.p + 4, auth.len - 4 });
	if (mbedtls_base64_decode(msg, sizeof msg, &mlen, (const unsigned char *)auth.p, auth.len) != 0 || mlen < 12 ||
	    memcmp(msg, "NTLMSSP\0", 8) != 0) {
		ntlm_ask(r, "malformed NTLM message");
		return 0;
	}
	if (msg[8] == 1) {
		/* NEGOTIATE: the challenge, kept for this connection only. */
		if (random_bytes(wc->challenge, sizeof wc->challenge) < 0 ||
		    auth_ntlm_make_challenge(wc->challenge, filetime_now(), r->w->nb_domain, "PCHAT", r->cfg->domain,
		                             r->cfg->domain, msg, sizeof msg, &mlen) != AUTH_OK ||
		    mbedtls_base64_encode(b64, sizeof b64, &blen, msg, mlen) != 0) {
			web_message(r, 500, "Internal Server Error", "Sign in", "cannot make an NTLM challenge");
			return 0;
		}
		wc->challenged = 1;
		snprintf(extra, sizeof extra, "WWW-Authenticate: NTLM %s\r\n", (const char *)b64);
		web_answer(r, 401, "Unauthorized", "text/plain; charset=utf-8", extra, "", 0);
		return 0;
	}
	if (msg[8] != 3 || !wc->challenged || auth_ntlm_parse_authenticate_http(msg, mlen, &a) != AUTH_OK ||
	    admin_user_uri(a.user, r->cfg->domain, uri, sizeof uri, err, sizeof err) < 0) {
		wc->challenged = 0;
		ntlm_ask(r, "AUTHENTICATE without a challenge, or malformed");
		return 0;
	}
	wc->challenged = 0;     /* one AUTHENTICATE per challenge: no replay */
	if ((wait = signin_throttled(r, uri)) > 0) {
		char text[120];

		snprintf(text, sizeof text, "Too many failed sign-ins. Try again in %lld seconds.", (long long)wait);
		web_message(r, 429, "Too Many Requests", "Sign in", text);
		return 0;
	}
	found = store_user_get(r->st, uri, &u) == STORE_OK && !u.disabled;
	ok = found && auth_ntlm_verify_proof(&a, wc->challenge, u.nt_hash) == AUTH_OK;
	if (found)
		hash_tag(r->w, u.nt_hash, wc->ntlm_tag);
	explicit_bzero(u.nt_hash, sizeof u.nt_hash);
	if (!ok) {
		signin_failed(r, uri, found ? "wrong password (NTLM)" : "unknown or disabled user (NTLM)");
		ntlm_ask(r, "denied");
		return 0;
	}
	lockout_success(r->w->lockout, uri, r->c->peer_addr, r->c->peer_addr_len);
	snprintf(wc->ntlm_user, sizeof wc->ntlm_user, "%s", uri);
	wc->ntlm_created_us = u.created_us;
	log_info("conn=%llu event=auth-ok door=web how=ntlm user=%s", (unsigned long long)r->c->id, uri);
	return 1;
}

/* ---- requests ----------------------------------------------------------------------- */

/* Who the request is from: its session, or NTLM on this connection (checked
 * against the users row each time, as a session is). */
static void identify(struct web_req *r)
{
	struct web_conn *wc = r->wc;
	int failed = 0;

	r->s = session_of(r->w, r->m);
	if (r->s != NULL) {
		r->user = r->s->user;
		return;
	}
	if (wc->ntlm_user[0]) {
		if (user_revoked(r->w, wc->ntlm_user, wc->ntlm_created_us, wc->ntlm_tag, &failed) == NULL && !failed)
			r->user = wc->ntlm_user;
		else
			wc->ntlm_user[0] = '\0';
	}
}

static int is_sub(const struct web_req *r, const char *name)
{
	return strcmp(r->sub, name) == 0;
}

static void handle(struct web_req *r)
{
	const struct sip_str *auth = sip_msg_header(r->m, "Authorization", 0);
	int ntlm_path, handler;

	if (!r->cfg->web_enabled) {
		web_message(r, 404, "Not Found", "Not here", "room management on the web is switched off ([web] enabled)");
		return;
	}
	if (http_target_split(r->m->uri.p, r->m->uri.len, r->path, sizeof r->path, &r->query, &r->qlen) != HTTP_OK ||
	    r->qlen > HTTP_FORM_MAX) {
		r->path[0] = '\0';
		web_message(r, 400, "Bad Request", "Bad request", "the address is not one this server understands");
		return;
	}
	if (strcmp(r->path, WEB_PREFIX) == 0) {
		web_redirect(r, "", NULL);
		return;
	}
	if (strncmp(r->path, WEB_PREFIX "/", strlen(WEB_PREFIX) + 1) != 0) {
		web_message(r, 404, "Not Found", "Not found", "there is no such page");
		return;
	}
	r->sub = r->path + strlen(WEB_PREFIX) + 1;
	r->post = sip_str_eq(r->m->method, "POST");
	if (!r->post && !sip_str_eq(r->m->method, "GET")) {
		web_answer(r, 405, "Method Not Allowed", "text/plain; charset=utf-8", "Allow: GET, POST\r\n", "", 0);
		return;
	}
	/* The stylesheet and the script need no sign-in. */
	if (!r->post && is_sub(r, "pchat.css")) {
		web_answer(r, 200, "OK", "text/css; charset=utf-8", NULL, web_css, strlen(web_css));
		return;
	}
	if (!r->post && is_sub(r, "pchat.js")) {
		web_answer(r, 200, "OK", "text/javascript; charset=utf-8", NULL, web_js, strlen(web_js));
		return;
	}
	identify(r);
	ntlm_path = is_sub(r, "ntlm");
	handler = is_sub(r, "Handler/ManagementHandler.ashx");
	if ((ntlm_path || handler) && r->s == NULL && auth != NULL && auth->len > 5 &&
	    sip_str_ieq((struct sip_str){ auth->p, 5 }, "NTLM ")) {
		if (!ntlm_step(r, *auth))
			return;
		r->user = r->wc->ntlm_user;
	}
	if (ntlm_path) {
		/* Signed in by NTLM: a session for the pages that follow. */
		if (r->user == NULL)
			ntlm_ask(r, "no credentials");
		else if (r->s != NULL)
			web_redirect(r, "", NULL);
		else
			signin_done(r, r->wc->ntlm_user, r->wc->ntlm_created_us, r->wc->ntlm_tag, "ntlm");
		return;
	}
	if (r->post && is_sub(r, "signin")) {
		signin_post(r);
		return;
	}
	if (r->user == NULL) {
		if (handler)
			ntlm_ask(r, "no credentials");
		else if (r->post)
			web_message(r, 403, "Forbidden", "Signed out", "your session has ended; sign in again");
		else
			signin_form(r, 200, "OK", NULL);
		return;
	}
	conn_set_authenticated(r->c, 1);
	/* Every change carries the session's CSRF token; the handler signed in
	 * by NTLM on this connection has no session and needs none (a browser
	 * never sends NTLM cross-site without the user's own request). */
	if (r->post && !(handler && r->s == NULL) && !web_csrf_ok(r)) {
		web_message(r, 403, "Forbidden", "Refused", "the form's security token is missing or wrong (CSRF); "
		            "load the page again");
		return;
	}
	if (r->post && is_sub(r, "signout")) {
		char extra[200];

		log_info("conn=%llu event=web-signout user=%s", (unsigned long long)r->c->id, r->user);
		session_drop(r->s);
		r->s = NULL;
		snprintf(extra, sizeof extra, "Set-Cookie: " SESSION_COOKIE "=; Max-Age=0" COOKIE_ATTRS "\r\n");
		web_redirect(r, "", extra);
		return;
	}
	web_route(r);
}

/* The head's length when the parser stopped before counting it (no
 * Content-Length). */
static size_t head_length(const char *p, size_t len)
{
	const char *end = memmem(p, len, "\r\n\r\n", 4);

	return end ? (size_t)(end - p) + 4 : 0;
}

int web_input(struct web *w, struct conn *c, struct web_conn **wcp)
{
	if (*wcp == NULL && (*wcp = calloc(1, sizeof **wcp)) == NULL) {
		conn_kill(c, "out of memory");
		return 0;
	}
	while (c->state == CONN_OPEN && c->in.len > 0) {
		struct web_conn *wc = *wcp;
		struct sip_msg *m = &w->msg;
		const char *p = (const char *)buf_head(&c->in);
		struct web_req r;
		const char *reason = NULL;
		int code = 0;
		long used = sip_msg_parse(m, p, c->in.len, &w->limits, "HTTP/");

		wc->last_ms = now_ms(w);
		if (used == 0)
			return 0;       /* more to come */
		if (used == SIP_E_NO_LENGTH && m->kind == SIP_REQUEST) {
			used = (long)head_length(p, c->in.len);
			if (sip_str_eq(m->method, "POST")) {
				code = 411;
				reason = "Length Required";
			}
		} else if (used < 0 || m->kind != SIP_REQUEST) {
			code = used == SIP_E_TOO_LARGE && m->kind == SIP_REQUEST ? 413 : used == SIP_E_VERSION ? 505 : 400;
			reason = code == 413 ? "Content Too Large" : code == 505 ? "HTTP Version Not Supported" : "Bad Request";
		}
		if (code == 0 && sip_msg_header(m, "Transfer-Encoding", 0) != NULL) {
			code = 501;
			reason = "Not Implemented";
		}
		if (code == 0 && sip_str_eq(m->version, "HTTP/1.1") && sip_msg_header(m, "Host", 0) == NULL) {
			code = 400;
			reason = "Bad Request";
		}
		/* A later request on the connection for another service goes back
		 * to files.c, which answers it (and closes) as it always does. */
		if (code == 0 && !web_claims(m->uri.p, m->uri.len))
			return 1;
		memset(&r, 0, sizeof r);
		r.w = w;
		r.c = c;
		r.wc = wc;
		r.m = m;
		r.cfg = w->cfg;
		r.st = w->st;
		r.chat = w->chat;
		wc->requests++;
		if (code != 0) {
			static const char text[] = "malformed or unsupported request\n";

			/* After a framing error nothing later on the stream can be
			 * trusted: answer and close. */
			wc->requests = WEB_REQUESTS_PER_CONN;
			if (m->kind != SIP_REQUEST)
				m->version = (struct sip_str){ "HTTP/1.0", 8 };
			web_answer(&r, code, reason, "text/plain; charset=utf-8", NULL, text, sizeof text - 1);
			conn_close(c, "web framing error");
			buf_consume(&c->in, c->in.len);
			return 0;
		}
		r.body = m->body.p ? m->body.p : "";
		r.blen = m->body.len;
		xo_init(&r.out, WEB_PAGE_MAX);
		handle(&r);
		buf_free(&r.out.b);
		if (!r.answered)
			conn_kill(c, "web request not answered");
		buf_consume(&c->in, (size_t)used);
		if (c->state != CONN_OPEN)
			buf_consume(&c->in, c->in.len);
	}
	return 0;
}

int web_conn_idle(const struct web *w, const struct web_conn *wc)
{
	return wc == NULL || now_ms(w) - wc->last_ms > WEB_IDLE_MS;
}

void web_conn_free(struct web_conn *wc)
{
	if (wc != NULL) {
		explicit_bzero(wc, sizeof *wc);
		free(wc);
	}
}

void web_set_chat(struct web *w, struct chat_rooms *chat)
{
	if (w != NULL)
		w->chat = chat;
}

struct web *web_new(const struct config *cfg, struct store *st, struct loop *l, struct lockout *lo, char *err,
                    size_t errlen)
{
	struct web *w = calloc(1, sizeof *w);
	size_t i;

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = cfg;
	w->st = st;
	w->loop = l;
	w->lockout = lo;
	w->limits.max_header_bytes = cfg->max_header_bytes;
	w->limits.max_headers = cfg->max_headers;
	w->limits.max_body_bytes = HTTP_FORM_MAX;
	for (i = 0; i < 15 && cfg->domain[i] && cfg->domain[i] != '.'; i++)
		w->nb_domain[i] = (char)(cfg->domain[i] >= 'a' && cfg->domain[i] <= 'z' ? cfg->domain[i] - 32 : cfg->domain[i]);
	w->nb_domain[i] = '\0';
	if (random_bytes(w->secret, sizeof w->secret) < 0 || (w->timer = loop_add_timer(l, WEB_CHECK_MS, web_tick, w)) < 0) {
		snprintf(err, errlen, "cannot start the web service (randomness or timer)");
		free(w);
		return NULL;
	}
	log_info("event=web-ready path=" WEB_PREFIX "/ enabled=%d session_minutes=%llu", cfg->web_enabled,
	         (unsigned long long)cfg->web_session_minutes);
	return w;
}

void web_free(struct web *w)
{
	if (w == NULL)
		return;
	if (w->timer > 0)
		loop_del_timer(w->loop, w->timer);
	explicit_bzero(w, sizeof *w);
	free(w);
}

/* files.c's view of the web service (files_mount): the listener below
 * calls up through these without knowing web.h. */
static int mount_input(void *app, struct conn *c, void **state)
{
	struct web_conn *wc = *state;
	int rc = web_input(app, c, &wc);

	*state = wc;
	return rc;
}

static int mount_idle(const void *app, const void *state)
{
	return web_conn_idle(app, state);
}

static void mount_free(void *state)
{
	web_conn_free(state);
}

void web_mount(struct web *w, struct files_mount *m)
{
	m->claims = web_claims;
	m->input = mount_input;
	m->idle = mount_idle;
	m->free_state = mount_free;
	m->app = w;
}
