/*
 * sip_server.c - see sip_server.h.
 *
 * Each connection's input is framed by sip_msg_parse (Content-Length is
 * mandatory on a stream, RFC 3261 §18.3); CR/LF keep-alives between messages
 * are skipped.  Malformed input gets one 400 (513 when too large) and the
 * connection is closed, because after a framing error nothing later on the
 * stream can be trusted.
 *
 * Security: with [auth] mode = ntlm a connection is signed in only by the
 * connectionless NTLMv2 handshake of MS-SIPAE on REGISTER; from then on every
 * message we send carries an Authentication-Info signature (the client drops
 * unsigned ones) and every message the client sends must carry a valid one.
 * The security association lives and dies with the TLS connection.
 * Password guessing meets lockout.h: an attempt of a pair that failed
 * lately is held back with a timer (the connection's input waits; nothing
 * sleeps), locked pairs, accounts and addresses are refused, and a
 * connection is closed after [auth] max_failures_per_connection refusals.
 * A session lasts only as long as its user: every SIP_USER_CHECK_MS, when
 * another process (the admin CLI) has changed the store, each signed-in
 * connection is checked against its users row and ended if the user was
 * deleted, disabled, re-created or given a new password; a re-REGISTER
 * checks the same.
 *
 * Transactions are matched the RFC 2543 way (Call-ID, CSeq, tags): sipe puts
 * no Via branch on requests inside a dialog.
 */
#include "sip_server.h"
#include "base.h"
#include "user_uri.h"
#include "auth.h"
#include "frontend.h"
#include "sip_server_internal.h"
#include "lockout.h"
#include "log.h"
#include "sip.h"
#include "xml_out.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#ifndef PCHAT_VERSION
#define PCHAT_VERSION "0.1"
#endif
#define SERVER_HEADER "Server: RTC/5.0 pchat/" PCHAT_VERSION "\r\n"
#define SIP_ALLOW "Allow: REGISTER, SUBSCRIBE, INVITE, ACK, INFO, UPDATE, BYE, CANCEL, OPTIONS\r\n"
/* ---- small helpers ---- */

static void random_hex(struct sip_server *s, char *out, size_t bytes)
{
	unsigned char r[16];

	if (bytes > sizeof r)
		bytes = sizeof r;
	if (net_random(s->net, r, bytes) < 0)
		memset(r, 0, bytes);
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Copy a slice into a C string; -1 if it does not fit or holds a NUL/CR/LF. */
static int copy_str(char *dst, size_t dstlen, struct sip_str v)
{
	if (v.len >= dstlen || memchr(v.p, '\0', v.len) || memchr(v.p, '\r', v.len) || memchr(v.p, '\n', v.len))
		return -1;
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

static struct sip_str header_or_empty(const struct sip_msg *m, const char *name, char compact)
{
	const struct sip_str *v = sip_msg_header(m, name, compact);

	return v ? *v : (struct sip_str){ "", 0 };
}

static int uri_ieq(struct sip_str a, const char *b)
{
	return sip_str_ieq(a, b);
}

/* ---- signatures (MS-SIPAE §3.2.5.5) ---- */

/* Check the client's signature (crand/cnum/response in Authorization). */
static int sip_verify_client(const struct sip_conn *sc, const struct sip_msg *m)
{
	const struct sip_str *auth = sip_msg_header(m, "Authorization", 0);
	struct auth_sig_fields f;
	struct sip_str resp;
	char str[4096];
	size_t n;

	if (auth == NULL || sc->sa != SA_ESTABLISHED)
		return -1;
	resp = sip_auth_param(*auth, "response");
	if (resp.len == 0)
		return -1;
	sip_msg_sig_fields(m, &f);
	f.rand = (struct auth_str){ sip_auth_param(*auth, "crand").p, sip_auth_param(*auth, "crand").len };
	f.num = (struct auth_str){ sip_auth_param(*auth, "cnum").p, sip_auth_param(*auth, "cnum").len };
	f.realm = (struct auth_str){ sip_auth_param(*auth, "realm").p, sip_auth_param(*auth, "realm").len };
	f.targetname = (struct auth_str){ sip_auth_param(*auth, "targetname").p, sip_auth_param(*auth, "targetname").len };
	n = auth_sig_string(&f, str, sizeof str);
	if (n >= sizeof str)
		return -1;
	return auth_check(&sc->keys, 0, str, n, resp.p, resp.len) == AUTH_OK ? 0 : -1;
}

/* Queue a message built in head (start line and headers, no Content-Length)
 * plus body, signing it when the connection has a security association.
 * Consumes head's contents.  Returns 0 or -1. */
static int sip_send_built(struct sip_server *s, struct sip_conn *sc, struct buf *head,
                          const char *body, size_t blen)
{
	size_t mark = head->len;
	int rc = 0;

	if (sc->sa == SA_ESTABLISHED) {
		struct auth_sig_fields f;
		char str[4096], mac[33], srand[9], snum[12];
		size_t n;

		/* Parse our own header block to sign exactly the bytes sent. */
		if (buf_appends(head, "Content-Length: 0\r\n\r\n") < 0 ||
		    sip_msg_parse(&s->out_msg, (const char *)buf_head(head), head->len, &s->limits, "SIP/") <= 0)
			return -1;
		random_hex(s, srand, 4);
		snprintf(snum, sizeof snum, "%u", ++sc->snum);
		sip_msg_sig_fields(&s->out_msg, &f);
		f.rand = (struct auth_str){ srand, 8 };
		f.num = (struct auth_str){ snum, strlen(snum) };
		f.realm = (struct auth_str){ s->cfg->realm, strlen(s->cfg->realm) };
		f.targetname = (struct auth_str){ s->cfg->targetname, strlen(s->cfg->targetname) };
		n = auth_sig_string(&f, str, sizeof str);
		if (n >= sizeof str)
			return -1;
		auth_sign(&sc->keys, 1, str, n, mac);
		buf_truncate(head, mark);
		if (buf_printf(head, "Authentication-Info: NTLM rspauth=\"%s\", srand=\"%s\", snum=\"%s\", "
		                     "opaque=\"%s\", qop=\"auth\", targetname=\"%s\", realm=\"%s\"\r\n",
		               mac, srand, snum, sc->opaque, s->cfg->targetname, s->cfg->realm) < 0)
			return -1;
	}
	if (buf_printf(head, "Content-Length: %zu\r\n\r\n", blen) < 0 || buf_append(head, body, blen) < 0)
		rc = -1;
	if (rc == 0 && sc->send_at_mark)
		rc = conn_send_at(sc->conn, sc->out_mark, buf_head(head), head->len);
	else if (rc == 0)
		rc = conn_send(sc->conn, buf_head(head), head->len);
	sc->send_at_mark = 0;
	return rc;
}

/* ---- responses ---- */

static int append_header(struct buf *b, const char *name, struct sip_str v)
{
	if (buf_printf(b, "%s: ", name) < 0 || buf_append(b, v.p, v.len) < 0)
		return -1;
	return buf_append(b, "\r\n", 2);
}

/* Start a response to req (RFC 3261 §8.2.6.2: copy Via, From, To, Call-ID,
 * CSeq; add a To tag when the request had none).  extra is zero or more
 * complete header lines.  No Content-Length yet (sip_send_built adds it). */
static int sip_response_head(struct buf *out, const struct sip_msg *req, int code,
                             const char *reason, const char *to_tag, const char *extra)
{
	static const char *const copied[] = { "Via", "From", "To", "Call-ID", "CSeq" };
	static const char compact[] = { 'v', 'f', 't', 'i', 0 };

	if (buf_printf(out, "SIP/2.0 %d %s\r\n", code, reason) < 0)
		return -1;
	for (size_t k = 0; k < 5; k++) {
		for (size_t i = 0; i < req->nheaders; i++) {
			const struct sip_header *h = &req->headers[i];

			if (!sip_str_ieq(h->name, copied[k]) &&
			    !(compact[k] && h->name.len == 1 && (h->name.p[0] | 0x20) == compact[k]))
				continue;
			if (append_header(out, copied[k], h->value) < 0)
				return -1;
			if (k == 2 && to_tag && sip_header_param(h->value, "tag").len == 0) {
				buf_truncate(out, out->len - 2);
				if (buf_printf(out, ";tag=%s\r\n", to_tag) < 0)
					return -1;
			}
			if (k != 0)
				break;  /* every Via, but one of the others */
		}
	}
	if (extra && buf_appends(out, extra) < 0)
		return -1;
	return buf_appends(out, SERVER_HEADER);
}

/* Answer the request being handled.  ctype may be NULL when there is no body. */
static void sip_reply_tag(struct sip_request_ctx *r, int code, const char *reason, const char *to_tag,
                          const char *extra, const char *ctype, const char *body, size_t blen)
{
	struct buf out;
	int rc;

	buf_init(&out, r->c->out.max);
	rc = sip_response_head(&out, r->m, code, reason, to_tag ? to_tag : r->sc->tag, extra);
	if (rc == 0 && blen > 0)
		rc = buf_printf(&out, "Content-Type: %s\r\n", ctype);
	if (rc == 0)
		rc = sip_send_built(r->s, r->sc, &out, body, blen);
	if (rc < 0)
		conn_kill(r->c, "cannot queue response");
	buf_free(&out);
}

static void sip_reply(struct sip_request_ctx *r, int code, const char *reason)
{
	sip_reply_tag(r, code, reason, NULL, NULL, NULL, NULL, 0);
}

/* A response that must go out unsigned: 401 challenges and refusals of a
 * handshake, which sipe accepts without a signature. */
static void sip_reply_unsigned(struct sip_request_ctx *r, int code, const char *reason, const char *extra)
{
	enum sa_state saved = r->sc->sa;

	if (saved == SA_ESTABLISHED)
		r->sc->sa = SA_NONE;
	sip_reply_tag(r, code, reason, NULL, extra, NULL, NULL, 0);
	r->sc->sa = saved;
}

/* ---- dialogs ---- */

/* On a front end's connection the user is part of the key: two sipe clients
 * started in the same second send the same Call-ID and tags. */
static struct sip_dialog *dialog_find(struct sip_conn *sc, const char *user, struct sip_str call_id,
                                      struct sip_str remote_tag, struct sip_str local_tag)
{
	for (struct sip_dialog *d = sc->frontend ? sc->server->fe_dialogs : sc->dialogs; d; d = d->next) {
		if (sip_str_eq(call_id, d->call_id) && sip_str_eq(remote_tag, d->remote_tag) &&
		    (local_tag.len == 0 || sip_str_eq(local_tag, d->local_tag)) &&
		    (!sc->frontend || strcmp(user, d->remote_uri) == 0))
			return d;
	}
	return NULL;
}

/* Unlink, tell the chat service, free.  Never called from a fan-out: only
 * from request handlers of this dialog's own connection, the idle sweep and
 * connection teardown. */
void dialog_close(struct sip_server *s, struct sip_dialog *d, const char *why)
{
	struct sip_dialog **pp;

	for (pp = d->frontend ? &s->fe_dialogs : &d->sc->dialogs; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = d->next;
	if (!d->frontend)
		d->sc->ndialogs--;
	log_info("conn=%llu dialog=%llu event=dialog-end user=%s reason=\"%s\"",
	         (unsigned long long)(d->conn ? d->conn->id : 0), (unsigned long long)d->id, d->remote_uri, why);
	if (s->cb.on_dialog_close)
		s->cb.on_dialog_close(s->cb.arg, d);
	free(d->route);
	free(d);
}

uint64_t sip_dialog_id(const struct sip_dialog *d) { return d->id; }
enum sip_dialog_role sip_dialog_role(const struct sip_dialog *d) { return d->role; }
const char *sip_dialog_user(const struct sip_dialog *d) { return d->remote_uri; }
const char *sip_dialog_local_uri(const struct sip_dialog *d) { return d->local_uri; }
size_t sip_dialog_max_body(const struct sip_dialog *d)
{
	return d->frontend ? (size_t)d->server->cfg->fe_max_message_bytes : SIZE_MAX;
}
void *sip_dialog_app(const struct sip_dialog *d) { return d->app; }
void sip_dialog_set_app(struct sip_dialog *d, void *app) { d->app = app; }

/* The Authentication-Info header of a server INFO in d, from the dialog's
 * own fields: the fan-out path signs what it built without parsing it back.
 * srand only has to differ between messages; a per-connection random base
 * plus the counter does that without drawing randomness per delivery. */
static int sign_dialog_info(struct sip_server *s, struct sip_conn *sc, const struct sip_dialog *d,
                            const char *cseq, struct buf *out)
{
	struct auth_sig_fields f;
	char str[2048], mac[33], srand[17], snum[21];
	size_t n, snum_len;

	sc->snum++;
	u64_hex((uint32_t)(sc->srand_base + sc->snum), 8, srand);
	snum_len = u64_dec(sc->snum, snum);
	memset(&f, 0, sizeof f);
	f.protocol = (struct auth_str){ "NTLM", 4 };
	f.rand = (struct auth_str){ srand, 8 };
	f.num = (struct auth_str){ snum, snum_len };
	f.realm = (struct auth_str){ s->cfg->realm, strlen(s->cfg->realm) };
	f.targetname = (struct auth_str){ s->cfg->targetname, strlen(s->cfg->targetname) };
	f.call_id = (struct auth_str){ d->call_id, strlen(d->call_id) };
	f.cseq_num = (struct auth_str){ cseq, strlen(cseq) };
	f.method = (struct auth_str){ "INFO", 4 };
	f.from_uri = (struct auth_str){ d->local_uri, strlen(d->local_uri) };
	f.from_tag = (struct auth_str){ d->local_tag, strlen(d->local_tag) };
	f.to_uri = (struct auth_str){ d->remote_uri, strlen(d->remote_uri) };
	f.to_tag = (struct auth_str){ d->remote_tag, strlen(d->remote_tag) };
	n = auth_sig_string(&f, str, sizeof str);
	if (n >= sizeof str)
		return -1;
	auth_sign(&sc->keys, 1, str, n, mac);
	return buf_append_strs(out, (const char *const[]){ "Authentication-Info: NTLM rspauth=\"", mac, "\", srand=\"",
	                                                   srand, "\", snum=\"", snum, "\", opaque=\"", sc->opaque,
	                                                   "\", qop=\"auth\", targetname=\"", s->cfg->targetname,
	                                                   "\", realm=\"", s->cfg->realm, "\"\r\n", NULL });
}

int sip_dialog_send_info(struct sip_dialog *d, const char *body, size_t len)
{
	struct sip_server *s = d->server;
	struct buf *out = &s->scratch;
	char cseq[21], id[17], length[21];
	int rc;

	if (d->frontend)
		return frontend_send_info(s, d, body, len);
	if (d->conn->state != CONN_OPEN)
		return -1;
	u64_dec(++d->cseq_out, cseq);
	u64_hex(d->id, 1, id);
	u64_dec(len, length);
	buf_truncate(out, 0);
	/* MS-XCCOS over SIP: From must be the exact URI the client invited, or
	 * sipe drops the INFO (xccos.md §2.6). */
	rc = buf_append_strs(out, (const char *const[]){
		"INFO ", d->remote_contact, " SIP/2.0\r\n",
		"Via: SIP/2.0/TLS ", s->cfg->domain, ":5061;branch=z9hG4bK", id, ".", cseq, "\r\n",
		"From: <", d->local_uri, ">;tag=", d->local_tag, "\r\n",
		"To: <", d->remote_uri, ">;tag=", d->remote_tag, "\r\n",
		"Call-ID: ", d->call_id, "\r\n",
		"CSeq: ", cseq, " INFO\r\n",
		"Max-Forwards: 70\r\n",
		"Content-Type: text/plain\r\n", NULL });
	if (rc == 0 && d->sc->sa == SA_ESTABLISHED)
		rc = sign_dialog_info(s, d->sc, d, cseq, out);
	if (rc == 0)
		rc = buf_append_strs(out, (const char *const[]){ "Content-Length: ", length, "\r\n\r\n", NULL });
	if (rc == 0)
		rc = buf_append(out, body, len);
	if (rc == 0)
		rc = conn_send(d->conn, buf_head(out), out->len);
	return rc;
}

/* ---- REGISTER and NTLM ---- */

static uint64_t filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* 100 ns intervals since 1601-01-01 (MS-DTYP FILETIME) */
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static void sip_send_challenge(struct sip_request_ctx *r)
{
	struct sip_server *s = r->s;
	struct sip_conn *sc = r->sc;
	uint8_t msg[512];
	unsigned char b64[1024];
	char extra[2048];
	size_t mlen, blen;
	int n;
	unsigned char op[4];

	if (net_random(s->net, sc->challenge, sizeof sc->challenge) < 0 || net_random(s->net, op, 4) < 0 ||
	    auth_ntlm_make_challenge(sc->challenge, filetime_now(), s->nb_domain, "PCHAT", s->cfg->domain,
	                             s->cfg->targetname, msg, sizeof msg, &mlen) != AUTH_OK ||
	    mbedtls_base64_encode(b64, sizeof b64, &blen, msg, mlen) != 0) {
		sip_reply_unsigned(r, 500, "Server Internal Error", NULL);
		return;
	}
	snprintf(sc->opaque, sizeof sc->opaque, "%02X%02X%02X%02X", op[0], op[1], op[2], op[3]);
	sc->sa = SA_CHALLENGED;
	n = snprintf(extra, sizeof extra,
	             "WWW-Authenticate: NTLM opaque=\"%s\", gssapi-data=\"%s\", targetname=\"%s\", realm=\"%s\", version=4\r\n",
	             sc->opaque, (char *)b64, s->cfg->targetname, s->cfg->realm);
	if (n < 0 || (size_t)n >= sizeof extra) {
		sip_reply_unsigned(r, 500, "Server Internal Error", NULL);
		return;
	}
	sip_reply_unsigned(r, 401, "Unauthorized", extra);
}

static void sip_register_ok(struct sip_request_ctx *r)
{
	struct sip_server *s = r->s;
	const struct sip_msg *m = r->m;
	struct sip_str contact = header_or_empty(m, "Contact", 'm');
	struct sip_str curi = sip_addr_uri(contact), expires_h = header_or_empty(m, "Expires", 0);
	char extra[2048], instance[128] = "", gruu[STORE_URI_MAX + 2 * 128 + 80] = "";
	uint64_t expires = s->cfg->register_expires;
	const char *inst;
	int n;

	if (expires_h.len && sip_parse_uint(expires_h, 0, UINT32_MAX, &expires) == 0 && expires > s->cfg->register_expires)
		expires = s->cfg->register_expires;
	if (expires_h.len == 0)
		expires = s->cfg->register_expires;
	/* GRUU (RFC 5627) from the client's +sip.instance: sipe then uses it as
	 * its Contact, which becomes the Request-URI of our INFOs. */
	inst = contact.len ? memmem(contact.p, contact.len, "+sip.instance=\"<urn:uuid:", 25) : NULL;
	if (inst) {
		const char *start = inst + 25, *gt = memchr(start, '>', contact.len - (size_t)(start - contact.p));

		if (gt && (size_t)(gt - start) < 64 && memchr(start, '"', (size_t)(gt - start)) == NULL) {
			snprintf(instance, sizeof instance, "%.*s", (int)(gt - start), start);
			snprintf(gruu, sizeof gruu, ";+sip.instance=\"<urn:uuid:%s>\";gruu=\"%s;opaque=user:epid:%s;gruu\"",
			         instance, r->sc->user, instance);
		}
	}
	if (curi.len == 0 || curi.len > SIP_CONTACT_MAX || memchr(curi.p, '"', curi.len)) {
		sip_reply(r, 400, "Bad Request (Contact)");
		return;
	}
	r->sc->registered = expires > 0;
	n = snprintf(extra, sizeof extra,
	             "Contact: <%.*s>;expires=%llu%s\r\n"
	             "Expires: %llu\r\n"
	             "Allow-Events: vnd-microsoft-provisioning-v2\r\n"
	             "Supported: msrtc-event-categories\r\n"
	             "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-point=no; timeout=300\r\n",
	             (int)curi.len, curi.p, (unsigned long long)expires, gruu, (unsigned long long)expires);
	if (n < 0 || (size_t)n >= sizeof extra) {
		sip_reply(r, 500, "Server Internal Error");
		return;
	}
	log_info("conn=%llu event=%s user=%s expires=%llu", (unsigned long long)r->c->id,
	         expires ? "register" : "unregister", r->sc->user, (unsigned long long)expires);
	sip_reply_tag(r, 200, "OK", NULL, extra, NULL, NULL, 0);
}

/* The canonical URI for the NTLM user/domain the client sent. */
static int ntlm_user_uri(const struct sip_server *s, const struct auth_ntlm_authenticate *a,
                         char *uri, size_t urilen)
{
	char err[200];

	/* "alice@example.org" with an empty domain, or "alice" in "EXAMPLE" */
	return admin_user_uri(a->user, s->cfg->domain, uri, urilen, err, sizeof err);
}

/* The client's address without the port, for logs. */
static const char *peer_ip(const struct conn *c, char *out, size_t outlen)
{
	if (inet_ntop(c->peer_addr_len == 16 ? AF_INET6 : AF_INET, c->peer_addr, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "-");
	return out;
}

/* Every refused sign-in: one log line, 403, and the connection closed once
 * it has had max_failures_per_connection of them. */
static void sip_register_refuse(struct sip_request_ctx *r, const char *why, const char *user)
{
	const struct config *cfg = r->s->cfg;
	char ip[INET6_ADDRSTRLEN];

	r->sc->auth_failures++;
	log_info("conn=%llu event=auth-failed peer=%s addr=%s user=%s reason=\"%s\" conn_failures=%u",
	         (unsigned long long)r->c->id, r->c->peer, peer_ip(r->c, ip, sizeof ip), user, why,
	         r->sc->auth_failures);
	r->sc->sa = SA_NONE;
	auth_keys_wipe(&r->sc->keys);
	sip_reply_unsigned(r, 403, "Forbidden", NULL);
	if (cfg->max_failures_per_connection && r->sc->auth_failures >= cfg->max_failures_per_connection)
		conn_close(r->c, "too many failed sign-ins on one connection");
}

/* Before the password of uri is checked: 1 if the attempt was refused
 * (locked) or is to be held back (r->sc->hold_until_ms set), 0 to go on.
 * It runs before the user is looked up, so the answer is the same whether
 * the user exists or not. */
static int sip_signin_throttled(struct sip_request_ctx *r, const char *uri)
{
	struct lockout_limits lim;
	int64_t now = loop_now(r->s->loop), until;
	enum lockout_scope scope;
	char why[96];

	lockout_limits_from(r->s->cfg, &lim);
	scope = lockout_check(r->s->lockout, &lim, uri, r->c->peer_addr, r->c->peer_addr_len, now, &until);
	if (scope != LOCKOUT_NONE) {
		snprintf(why, sizeof why, "locked (%s) for %lld more s", lockout_scope_name(scope),
		         (long long)((until - now + 999) / 1000));
		sip_register_refuse(r, why, uri);
		return 1;
	}
	if (until > now) {
		r->sc->hold_until_ms = until;
		log_debug("conn=%llu event=auth-held user=%s ms=%lld", (unsigned long long)r->c->id, uri,
		          (long long)(until - now));
		return 1;
	}
	return 0;
}

/* A wrong password (or no such user): count it, log the locks it sets, refuse. */
static void sip_register_wrong(struct sip_request_ctx *r, const char *why, const char *uri)
{
	static const enum lockout_scope scopes[] = { LOCKOUT_PAIR, LOCKOUT_ACCOUNT, LOCKOUT_ADDRESS };
	struct lockout_limits lim;
	struct lockout_failure f;
	char ip[INET6_ADDRSTRLEN];

	lockout_limits_from(r->s->cfg, &lim);
	lockout_fail(r->s->lockout, &lim, uri, r->c->peer_addr, r->c->peer_addr_len, loop_now(r->s->loop), &f);
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
		uint64_t n = scopes[i] == LOCKOUT_PAIR ? f.pair_failures
		             : scopes[i] == LOCKOUT_ACCOUNT ? f.account_failures : f.address_failures;

		if (f.newly_locked & (1u << scopes[i]))
			log_warn("conn=%llu event=auth-locked scope=%s user=%s addr=%s failures=%llu seconds=%llu",
			         (unsigned long long)r->c->id, lockout_scope_name(scopes[i]), uri,
			         peer_ip(r->c, ip, sizeof ip), (unsigned long long)n,
			         (unsigned long long)r->s->cfg->lockout_seconds);
	}
	sip_register_refuse(r, why, uri);
}

/* A keyed digest of an NT hash: enough to see that a password changed
 * without keeping a password equivalent for the session's lifetime. */
static void hash_tag(const struct sip_server *s, const uint8_t nt_hash[16], uint8_t tag[HASH_TAG_LEN])
{
	unsigned char in[32], digest[32];

	memcpy(in, s->secret, 16);
	memcpy(in + 16, nt_hash, 16);
	mbedtls_sha256_ret(in, sizeof in, digest, 0);
	memcpy(tag, digest, HASH_TAG_LEN);
	explicit_bzero(in, sizeof in);
}

/* Why sc's session may not go on ("user deleted", ...), or NULL while its
 * users row is the one it signed in with.  A store error is no verdict:
 * NULL with *failed set. */
static const char *session_revoked(struct sip_server *s, const struct sip_conn *sc, int *failed)
{
	struct store_user u;
	uint8_t tag[HASH_TAG_LEN];
	int rc = store_user_get(s->store, sc->user, &u);

	if (rc == STORE_E_NOTFOUND)
		return "user deleted";
	if (rc != STORE_OK) {
		*failed = 1;
		return NULL;
	}
	hash_tag(s, u.nt_hash, tag);
	explicit_bzero(u.nt_hash, sizeof u.nt_hash);
	if (u.disabled)
		return "user disabled";
	if (u.created_us != sc->user_created_us)
		return "user deleted and added again";
	if (memcmp(tag, sc->hash_tag, sizeof tag) != 0)
		return "password changed";
	return NULL;
}

static void sip_register_authenticate(struct sip_request_ctx *r, struct sip_str auth, struct sip_str gss)
{
	struct sip_server *s = r->s;
	struct sip_conn *sc = r->sc;
	uint8_t msg[NTLM_MSG_MAX];
	struct auth_ntlm_authenticate a;
	struct store_user u;
	struct auth_keys keys;
	char uri[STORE_URI_MAX];
	struct sip_str from_uri = sip_addr_uri(header_or_empty(r->m, "From", 'f'));
	size_t mlen;
	int ok;

	if (sc->sa != SA_CHALLENGED || !sip_str_eq(sip_auth_param(auth, "opaque"), sc->opaque)) {
		sip_register_refuse(r, "AUTHENTICATE without a matching challenge (stale or replayed)", "-");
		return;
	}
	if (mbedtls_base64_decode(msg, sizeof msg, &mlen, (const unsigned char *)gss.p, gss.len) != 0 ||
	    auth_ntlm_parse_authenticate(msg, mlen, &a) != AUTH_OK) {
		sip_register_refuse(r, "malformed NTLM AUTHENTICATE", "-");
		return;
	}
	if (ntlm_user_uri(s, &a, uri, sizeof uri) < 0) {
		sip_register_refuse(r, "unusable user name", "-");
		return;
	}
	/* The signed-in user must be the one the REGISTER speaks for. */
	if (!uri_ieq(from_uri, uri)) {
		sip_register_refuse(r, "From does not match the NTLM user", uri);
		return;
	}
	if (sip_signin_throttled(r, uri))
		return;
	if (store_user_get(s->store, uri, &u) != STORE_OK || u.disabled) {
		/* Same answer as a wrong password: don't reveal which users exist. */
		sip_register_wrong(r, "unknown or disabled user", uri);
		return;
	}
	ok = auth_ntlm_verify(&a, sc->challenge, u.nt_hash, &keys) == AUTH_OK;
	hash_tag(s, u.nt_hash, sc->hash_tag);
	explicit_bzero(u.nt_hash, sizeof u.nt_hash);
	if (!ok) {
		sip_register_wrong(r, "wrong password", uri);
		return;
	}
	lockout_success(s->lockout, uri, r->c->peer_addr, r->c->peer_addr_len);
	sc->user_created_us = u.created_us;
	sc->keys = keys;
	auth_keys_wipe(&keys);
	sc->sa = SA_ESTABLISHED;
	/* The final REGISTER is signed with the new keys (version=4). */
	if (sip_auth_param(auth, "response").len && sip_verify_client(sc, r->m) < 0) {
		sip_register_refuse(r, "bad signature on the final REGISTER", uri);
		return;
	}
	snprintf(sc->user, sizeof sc->user, "%s", uri);
	sc->snum = 0;
	log_info("conn=%llu event=auth-ok user=%s", (unsigned long long)r->c->id, uri);
	sip_register_ok(r);
}

static void sip_on_register(struct sip_request_ctx *r)
{
	const struct sip_str *auth = sip_msg_header(r->m, "Authorization", 0);
	struct sip_str gss;

	if (r->sc->frontend) {
		sip_reply(r, 403, "Forbidden (the front end registers its users)");
		return;
	}
	if (r->s->cfg->auth_mode_id == CONFIG_AUTH_NONE) {
		/* Lab mode: whoever registers is who they say (README warns). */
		char uri[STORE_URI_MAX], err[200];
		char from[STORE_URI_MAX];

		if (copy_str(from, sizeof from, sip_addr_uri(header_or_empty(r->m, "From", 'f'))) < 0 ||
		    admin_user_uri(from, r->s->cfg->domain, uri, sizeof uri, err, sizeof err) < 0) {
			sip_reply(r, 400, "Bad Request (From)");
			return;
		}
		snprintf(r->sc->user, sizeof r->sc->user, "%s", uri);
		sip_register_ok(r);
		return;
	}
	if (auth == NULL || auth->len < 4 || !sip_str_ieq((struct sip_str){ auth->p, 4 }, "NTLM")) {
		char extra[600];

		snprintf(extra, sizeof extra, "WWW-Authenticate: NTLM realm=\"%s\", targetname=\"%s\", version=4\r\n",
		         r->s->cfg->realm, r->s->cfg->targetname);
		sip_reply_unsigned(r, 401, "Unauthorized", extra);
		return;
	}
	gss = sip_auth_param(*auth, "gssapi-data");
	if (gss.len > 0) {
		sip_register_authenticate(r, *auth, gss);
		return;
	}
	if (sip_auth_param(*auth, "response").len > 0) {
		/* A re-REGISTER (or Expires: 0) signed within the association,
		 * from a user who still exists with the same password. */
		const char *revoked;
		int failed = 0;

		if (sip_verify_client(r->sc, r->m) < 0) {
			sip_register_refuse(r, "bad signature on REGISTER", r->sc->user[0] ? r->sc->user : "-");
			return;
		}
		if (r->sc->user[0] && (revoked = session_revoked(r->s, r->sc, &failed)) != NULL) {
			log_info("conn=%llu event=session-ended user=%s reason=\"%s\"", (unsigned long long)r->c->id,
			         r->sc->user, revoked);
			sip_reply(r, 403, "Forbidden");
			conn_close(r->c, revoked);
			return;
		}
		sip_register_ok(r);
		return;
	}
	sip_send_challenge(r);     /* gssapi-data="": start of connectionless NTLM */
}

/* ---- SUBSCRIBE (provisioning) ---- */

static void sip_on_subscribe(struct sip_request_ctx *r)
{
	struct sip_str event = header_or_empty(r->m, "Event", 'o'), cseq = header_or_empty(r->m, "CSeq", 0);
	const struct config *cfg = r->s->cfg;
	const char *rm_ext = cfg->web_external_url[0] ? cfg->web_external_url : r->s->rm_url;
	struct xml_out body;
	char extra[256];
	const char *sp = memchr(cseq.p, ' ', cseq.len);

	if (!sip_str_ieq(event, "vnd-microsoft-provisioning-v2")) {
		struct sip_str e = header_or_empty(r->m, "Expires", 0);

		if (sip_str_eq(e, "0"))
			sip_reply(r, 200, "OK");     /* unsubscribing from anything is fine */
		else
			sip_reply_tag(r, 489, "Bad Event", NULL, "Allow-Events: vnd-microsoft-provisioning-v2\r\n", NULL, NULL, 0);
		return;
	}
	/* MS-SIPREGE §2.2.2.5.11; piggy-backed on the 200 (ms-piggyback-cseq),
	 * never also in a NOTIFY: each body restarts sipe's group chat.  The
	 * room-management page's addresses are there for "Create a chat room". */
	xo_init(&body, 8192);
	xo_str(&body, "<provisionGroupList xmlns=\"http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification\">"
	              "<provisionGroup name=\"ServerConfiguration\"></provisionGroup>"
	              "<provisionGroup name=\"persistentChatConfiguration\"><propertyEntryList>"
	              "<property name=\"EnablePersistentChat\">true</property>"
	              "<property name=\"DefaultPersistentChatPoolUri\">");
	xo_esc(&body, cfg->lookup_uri, strlen(cfg->lookup_uri), 0);
	xo_str(&body, "</property><property name=\"PersistentChatPoolUris\">");
	xo_esc(&body, cfg->lookup_uri, strlen(cfg->lookup_uri), 0);
	xo_str(&body, "</property>");
	if (r->s->rm_url[0]) {
		xo_str(&body, "<property name=\"PersistentChatWebManagerUriInt\">");
		xo_esc(&body, r->s->rm_url, strlen(r->s->rm_url), 0);
		xo_str(&body, "</property><property name=\"PersistentChatWebManagerUriExt\">");
		xo_esc(&body, rm_ext, strlen(rm_ext), 0);
		xo_str(&body, "</property>");
	}
	xo_str(&body, "</propertyEntryList></provisionGroup></provisionGroupList>");
	if (body.failed) {
		buf_free(&body.b);
		sip_reply(r, 500, "Server Internal Error");
		return;
	}
	snprintf(extra, sizeof extra,
	         "Event: vnd-microsoft-provisioning-v2\r\n"
	         "subscription-state: terminated;expires=0\r\n"
	         "ms-piggyback-cseq: %.*s\r\n"
	         "Expires: 0\r\n",
	         sp ? (int)(sp - cseq.p) : 1, sp ? cseq.p : "1");
	sip_reply_tag(r, 200, "OK", NULL, extra, "application/vnd-microsoft-roaming-provisioning-v2+xml",
	              (const char *)buf_head(&body.b), body.b.len);
	buf_free(&body.b);
}

/* ---- INVITE, ACK, INFO, UPDATE, BYE, CANCEL ---- */

static const char sdp_answer[] =
	"v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=session\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	"m=message 5061 sip null\r\na=accept-types:text/plain\r\n";

static void sip_invite_ok(struct sip_request_ctx *r, const struct sip_dialog *d)
{
	char extra[600 + FRONTEND_ROUTE_SET_MAX];
	int n = snprintf(extra, sizeof extra, "Contact: <%s>\r\nSession-Expires: %llu;refresher=uac\r\n",
	                 d->local_uri, (unsigned long long)r->s->cfg->session_expires);

	/* RFC 3261 §12.1.1: the 2xx carries the Record-Route the proxies set. */
	if (d->frontend && n > 0 && (size_t)n < sizeof extra)
		frontend_record_route(r->m, extra + n, sizeof extra - (size_t)n);
	sip_reply_tag(r, 200, "OK", d->local_tag, extra, "application/sdp", sdp_answer, sizeof sdp_answer - 1);
}

static void sip_on_invite(struct sip_request_ctx *r)
{
	struct sip_server *s = r->s;
	const struct sip_msg *m = r->m;
	struct sip_str from = header_or_empty(m, "From", 'f'), to = header_or_empty(m, "To", 't');
	struct sip_str call_id = header_or_empty(m, "Call-ID", 'i'), to_uri = sip_addr_uri(to);
	struct sip_str from_tag = sip_header_param(from, "tag"), to_tag = sip_header_param(to, "tag");
	struct sip_str contact = sip_addr_uri(header_or_empty(m, "Contact", 'm'));
	struct sip_dialog *d;
	enum sip_dialog_role role;

	if (uri_ieq(to_uri, s->cfg->lookup_uri))
		role = SIP_DIALOG_LOOKUP;
	else if (uri_ieq(to_uri, s->cfg->channel_uri))
		role = SIP_DIALOG_CHANNEL;
	else {
		sip_reply(r, 404, "Not Found");
		return;
	}
	d = dialog_find(r->sc, r->user, call_id, from_tag, to_tag);
	if (d) {
		d->active_ms = loop_now(s->loop);
		sip_invite_ok(r, d);     /* retransmission or re-INVITE: same answer */
		return;
	}
	if (to_tag.len) {
		sip_reply(r, 481, "Call/Transaction Does Not Exist");
		return;
	}
	if (from_tag.len == 0) {
		sip_reply(r, 400, "Bad Request (From tag)");
		return;
	}
	if ((r->sc->frontend ? frontend_user_dialogs(s, r->user) : r->sc->ndialogs) >= SIP_DIALOGS_PER_CONN) {
		sip_reply(r, 403, "Forbidden (too many dialogs)");
		return;
	}
	d = calloc(1, sizeof *d);
	if (d == NULL) {
		sip_reply(r, 503, "Service Unavailable");
		return;
	}
	if (copy_str(d->call_id, sizeof d->call_id, call_id) < 0 ||
	    copy_str(d->remote_tag, sizeof d->remote_tag, from_tag) < 0 ||
	    copy_str(d->local_uri, sizeof d->local_uri, to_uri) < 0 ||
	    copy_str(d->remote_uri, sizeof d->remote_uri, sip_addr_uri(from)) < 0 ||
	    copy_str(d->remote_contact, sizeof d->remote_contact, contact.len ? contact : sip_addr_uri(from)) < 0 ||
	    memchr(d->remote_contact, '>', strlen(d->remote_contact)) || memchr(d->remote_uri, '>', strlen(d->remote_uri)) ||
	    (r->sc->frontend && (d->route = frontend_route_set(m)) == NULL)) {
		free(d);
		sip_reply(r, 400, "Bad Request (dialog identifiers)");
		return;
	}
	d->id = ++s->next_dialog_id;
	d->role = role;
	d->conn = r->c;
	d->sc = r->sc;
	d->server = s;
	d->active_ms = loop_now(s->loop);
	d->cseq_out = 0;
	random_hex(s, d->local_tag, 4);
	if (r->sc->frontend) {
		d->frontend = 1;
		d->next = s->fe_dialogs;
		s->fe_dialogs = d;
	} else {
		d->next = r->sc->dialogs;
		r->sc->dialogs = d;
		r->sc->ndialogs++;
	}
	/* The dialog belongs to the signed-in (or asserted) user, whatever From says. */
	snprintf(d->remote_uri, sizeof d->remote_uri, "%s", r->user);
	log_info("conn=%llu dialog=%llu event=dialog-start user=%s role=%s", (unsigned long long)r->c->id,
	         (unsigned long long)d->id, d->remote_uri, role == SIP_DIALOG_LOOKUP ? "lookup" : "channel");
	sip_invite_ok(r, d);
	if (s->cb.on_dialog_open)
		s->cb.on_dialog_open(s->cb.arg, d);
}

/* The dialog an in-dialog request belongs to, or NULL. */
static struct sip_dialog *request_dialog(struct sip_request_ctx *r)
{
	const struct sip_msg *m = r->m;
	struct sip_dialog *d = dialog_find(r->sc, r->user, header_or_empty(m, "Call-ID", 'i'),
	                                   sip_header_param(header_or_empty(m, "From", 'f'), "tag"),
	                                   sip_header_param(header_or_empty(m, "To", 't'), "tag"));

	if (d && sip_header_param(header_or_empty(m, "To", 't'), "tag").len == 0)
		d = NULL;       /* in-dialog requests always carry our tag */
	if (d)
		d->active_ms = loop_now(r->s->loop);
	if (d && d->frontend) {
		d->conn = r->c;     /* connection reuse: answer over the latest one */
		d->sc = r->sc;
	}
	return d;
}

static void sip_on_ack(struct sip_request_ctx *r)
{
	(void)request_dialog(r);     /* refreshes activity; never answered */
}

static const char *sip_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 413: return "Request Entity Too Large";
	case 481: return "Call/Transaction Does Not Exist";
	case 503: return "Service Unavailable";
	default: return "Server Internal Error";
	}
}

static void sip_on_info(struct sip_request_ctx *r)
{
	struct sip_dialog *d = request_dialog(r);
	int status = 200;
	struct sip_str ctype = header_or_empty(r->m, "Content-Type", 'c');

	if (d == NULL) {
		sip_reply(r, 481, "Call/Transaction Does Not Exist");
		return;
	}
	/* XCCOS rides in text/plain, exactly (xccos.md §2.5). */
	if (!sip_str_ieq(ctype, "text/plain")) {
		sip_reply_tag(r, 415, "Unsupported Media Type", NULL, "Accept: text/plain\r\n", NULL, NULL, 0);
		return;
	}
	/* The chat service decides the status: a post is answered 200 only once
	 * it is in the store's open transaction, which pchat.c commits before
	 * this answer is flushed. */
	size_t mark = conn_queued(r->c);

	if (r->s->cb.on_info && r->m->body.len > 0)
		status = r->s->cb.on_info(r->s->cb.arg, d, r->m->body.p, r->m->body.len);
	/* The answer goes before the replies queued meanwhile: clients see 200,
	 * then the rpl INFO, as from a Lync server. */
	r->sc->send_at_mark = 1;
	r->sc->out_mark = mark;
	sip_reply(r, status, sip_status_text(status));
	r->sc->send_at_mark = 0;
}

static void sip_on_update(struct sip_request_ctx *r)
{
	if (request_dialog(r) == NULL)
		sip_reply(r, 481, "Call/Transaction Does Not Exist");
	else
		sip_reply(r, 200, "OK");
}

static void sip_on_bye(struct sip_request_ctx *r)
{
	struct sip_dialog *d = request_dialog(r);

	if (d == NULL) {
		sip_reply(r, 481, "Call/Transaction Does Not Exist");
		return;
	}
	sip_reply(r, 200, "OK");
	dialog_close(r->s, d, "BYE");
}

static void sip_on_cancel(struct sip_request_ctx *r)
{
	/* INVITEs are answered at once, so nothing is ever pending. */
	sip_reply(r, 481, "Call/Transaction Does Not Exist");
}

/* RFC 3261 §11.2: OPTIONS is answered like an INVITE would be; load
 * balancers and monitors use it as a health check. */
static void sip_on_options(struct sip_request_ctx *r)
{
	sip_reply_tag(r, 200, "OK", NULL, SIP_ALLOW "Accept: application/sdp, text/plain\r\n", NULL, NULL, 0);
}

/* ---- dispatch ---- */

enum { M_OPEN = 0, M_SIGNED_IN = 1 };

struct sip_method {
	const char *name;
	void (*handle)(struct sip_request_ctx *r);
	unsigned flags;
};

static const struct sip_method sip_methods[] = {
	{ "OPTIONS", sip_on_options, M_OPEN },
	{ "REGISTER", sip_on_register, M_OPEN },
	{ "SUBSCRIBE", sip_on_subscribe, M_SIGNED_IN },
	{ "INVITE", sip_on_invite, M_SIGNED_IN },
	{ "ACK", sip_on_ack, M_SIGNED_IN },
	{ "INFO", sip_on_info, M_SIGNED_IN },
	{ "UPDATE", sip_on_update, M_SIGNED_IN },
	{ "BYE", sip_on_bye, M_SIGNED_IN },
	{ "CANCEL", sip_on_cancel, M_SIGNED_IN },
	{ NULL, NULL, 0 }
};

/* RFC 3261 §8.1.1.5: CSeq is "number method", the method the request's. */
static int cseq_matches(const struct sip_msg *m)
{
	struct sip_str method;
	uint32_t num;

	return sip_cseq_parse(header_or_empty(m, "CSeq", 0), &num, &method) == 0 &&
	       method.len == m->method.len && memcmp(method.p, m->method.p, method.len) == 0;
}

static int signed_in(const struct sip_server *s, const struct sip_conn *sc)
{
	if (sc->frontend)
		return 1;   /* a front end whose certificate passed (sip_fe_on_open) */
	if (s->cfg->auth_mode_id == CONFIG_AUTH_NONE)
		return sc->user[0] != '\0';
	return sc->sa == SA_ESTABLISHED && sc->user[0] != '\0';
}

/* The one gate: well-formed enough to answer, signed in, signature valid. */
static void sip_dispatch_request(struct sip_request_ctx *r)
{
	const struct sip_msg *m = r->m;
	const struct sip_method *sm;
	int is_ack = sip_str_eq(m->method, "ACK");

	/* RFC 3261 §8.1.1: a request without these cannot be answered sensibly. */
	if (!sip_msg_header(m, "Call-ID", 'i') || !sip_msg_header(m, "CSeq", 0) ||
	    !sip_msg_header(m, "From", 'f') || !sip_msg_header(m, "To", 't') ||
	    !sip_msg_header(m, "Via", 'v')) {
		if (!is_ack)
			sip_reply_unsigned(r, 400, "Bad Request (missing Via, From, To, Call-ID or CSeq)", NULL);
		return;
	}
	if (!cseq_matches(m)) {
		if (!is_ack)
			sip_reply_unsigned(r, 400, "Bad Request (CSeq)", NULL);
		return;
	}
	for (sm = sip_methods; sm->name; sm++)
		if (sip_str_eq(m->method, sm->name))
			break;
	if (sm->name == NULL) {
		/* SERVICE, PUBLISH, MESSAGE, NOTIFY, ...: a final answer, never silence. */
		sip_reply_tag(r, 501, "Not Implemented", NULL, SIP_ALLOW, NULL, NULL, 0);
		return;
	}
	if (sm->flags & M_SIGNED_IN) {
		if (!signed_in(r->s, r->sc)) {
			if (!is_ack)
				sip_reply_unsigned(r, 403, "Forbidden (sign in first)", NULL);
			return;
		}
		if (!r->sc->frontend && r->s->cfg->auth_mode_id == CONFIG_AUTH_NTLM && sip_verify_client(r->sc, m) < 0) {
			log_info("conn=%llu event=bad-signature method=%.*s", (unsigned long long)r->c->id,
			         (int)m->method.len, m->method.p);
			if (!is_ack)
				sip_reply(r, 403, "Forbidden (bad or missing signature)");
			return;
		}
		if (r->sc->frontend && frontend_request_user(r) < 0) {
			if (!is_ack)
				sip_reply(r, 403, "Forbidden (identity)");
			return;
		}
	}
	sm->handle(r);
}

/* A response from the client to one of our INFOs.  Errors (481, 487, ...)
 * mean the client no longer has the dialog (xccos.md gotcha 22). */
static void sip_handle_response(struct sip_server *s, struct conn *c, const struct sip_msg *m)
{
	struct sip_conn *sc = c->proto;
	struct sip_dialog *d;

	/* A success answer to our INFO changes nothing, so its signature is not
	 * worth checking (it was a fifth of fan-out CPU); an error answer ends
	 * the dialog and must be genuine. */
	char user[STORE_URI_MAX] = "";

	if (m->status < 300)
		return;
	if (!sc->frontend && s->cfg->auth_mode_id == CONFIG_AUTH_NTLM && sip_verify_client(sc, m) < 0) {
		log_info("conn=%llu event=bad-signature response=%d", (unsigned long long)c->id, m->status);
		return;
	}
	/* Our INFOs name the dialog's user in To; the front end passes it back. */
	if (sc->frontend && copy_str(user, sizeof user, sip_addr_uri(header_or_empty(m, "To", 't'))) < 0)
		return;
	/* In our requests From carries our tag and To the client's. */
	d = dialog_find(sc, user, header_or_empty(m, "Call-ID", 'i'), sip_header_param(header_or_empty(m, "To", 't'), "tag"),
	                sip_header_param(header_or_empty(m, "From", 'f'), "tag"));
	if (d == NULL)
		return;
	dialog_close(s, d, "client answered an INFO with an error");
}

/* Answer a framing error once and close: the stream position is lost. */
static void sip_framing_error(struct conn *c, long err)
{
	const char *reason;
	int code = sip_error_status(err, &reason);
	char line[160];
	int n = snprintf(line, sizeof line, "SIP/2.0 %d %s\r\n" SERVER_HEADER "Content-Length: 0\r\n\r\n",
	                 code, reason);

	log_info("conn=%llu event=bad-input status=%d reason=\"%s\"", (unsigned long long)c->id, code, reason);
	if (n > 0 && (size_t)n < sizeof line)
		conn_send(c, line, (size_t)n);
	conn_close(c, reason);
}


/* A held sign-in's time has come: handle it, and whatever came after it. */
static int64_t sip_resume(struct loop *l, void *arg)
{
	struct sip_conn *sc = arg;

	(void)l;
	sc->hold_timer = 0;
	sip_on_input(sc->conn, sc->server);
	return LOOP_NOMORE;
}

/* net's view of this connection follows ours: signed in or anonymous.
 * Before sign-in net counts no input as activity; a REGISTER that moved the
 * NTLM handshake on (a first challenge, a verified answer) does. */
static void sip_track_signin(struct sip_server *s, struct conn *c, const struct sip_conn *sc, enum sa_state before)
{
	if (!c->authenticated && sc->sa != before && sc->sa != SA_NONE)
		c->active_ms = loop_now(s->loop);
	conn_set_authenticated(c, signed_in(s, sc));
}

void sip_on_input(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = c->proto;

	if (sc->hold_timer > 0) {
		/* Nothing is read past a held sign-in; a client that fills its
		 * input meanwhile is not waiting for the answer. */
		if (c->in.len >= c->in.max)
			conn_kill(c, "input filled while a sign-in was held back");
		return;
	}
	while (c->state == CONN_OPEN && c->in.len > 0) {
		const char *p = (const char *)buf_head(&c->in);
		size_t skip = sip_skip_crlf(p, c->in.len);
		long used;

		if (skip > 0) {
			buf_consume(&c->in, skip);      /* keep-alive CRLFs */
			continue;
		}
		if (sc->need > c->in.len)
			return;     /* the body is still arriving; don't re-parse */
		used = sip_msg_parse(&s->msg, p, c->in.len, &s->limits, "SIP/");
		if (used == 0) {
			/* Headers complete: remember the total so partial bodies
			 * are not re-parsed on every read. */
			sc->need = s->msg.header_bytes ? s->msg.header_bytes + s->msg.content_length : 0;
			return;
		}
		if (used < 0) {
			sip_framing_error(c, used);
			return;
		}
		sc->need = 0;
		if (s->msg.kind == SIP_RESPONSE) {
			sip_handle_response(s, c, &s->msg);
		} else {
			struct sip_request_ctx r = { s, c, sc, &s->msg, sc->user, "" };
			enum sa_state sa_before = sc->sa;

			log_debug("conn=%llu event=request method=%.*s", (unsigned long long)c->id,
			          (int)s->msg.method.len, s->msg.method.p);
			sc->hold_until_ms = 0;
			sip_dispatch_request(&r);
			if (sc->hold_until_ms > 0) {
				/* The request stays in c->in and is handled again then. */
				int64_t wait = sc->hold_until_ms - loop_now(s->loop);

				sc->hold_until_ms = 0;
				sc->hold_timer = loop_add_timer(s->loop, wait > 0 ? wait : 1, sip_resume, sc);
				if (sc->hold_timer <= 0)
					conn_kill(c, "cannot hold a sign-in (out of memory)");
				return;
			}
			sip_track_signin(s, c, sc, sa_before);
		}
		buf_consume(&c->in, (size_t)used);
	}
}

void sip_on_open(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = calloc(1, sizeof *sc);

	if (sc == NULL) {
		conn_kill(c, "out of memory");
		return;
	}
	sc->server = s;
	sc->conn = c;
	random_hex(s, sc->tag, 4);
	if (net_random(s->net, &sc->srand_base, sizeof sc->srand_base) < 0)
		sc->srand_base = (uint32_t)c->id;
	c->proto = sc;
}

void sip_on_close(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = c->proto;

	if (sc == NULL)
		return;
	if (sc->hold_timer > 0)
		loop_del_timer(s->loop, sc->hold_timer);
	while (sc->dialogs)
		dialog_close(s, sc->dialogs, "connection closed");
	auth_keys_wipe(&sc->keys);
	explicit_bzero(sc->challenge, sizeof sc->challenge);
	free(sc);
	c->proto = NULL;
}

/* Every 10 s: drop dialogs idle past Session-Expires silently; the client's
 * next request on one gets 481 and it reconnects (xccos.md §7.9). */
static void sip_sweep_conn(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = c->proto;
	int64_t limit = ((int64_t)s->cfg->session_expires + 60) * 1000;
	struct sip_dialog *d, *next;

	if (sc == NULL)
		return;
	for (d = sc->dialogs; d; d = next) {
		next = d->next;
		if (loop_now(s->loop) - d->active_ms > limit)
			dialog_close(s, d, "idle past Session-Expires");
	}
}

static int64_t sip_sweep(struct loop *l, void *arg)
{
	struct sip_server *s = arg;

	(void)l;
	net_each_conn(s->net, &s->handlers, sip_sweep_conn, s);
	frontend_sweep(s);
	return 10000;
}

/* End c's session if its user is gone, disabled, re-created or has a new
 * password (the admin CLI changed the row). */
static void sip_check_conn_user(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = c->proto;
	const char *revoked;

	if (sc == NULL || !signed_in(s, sc) || c->state != CONN_OPEN || sc->frontend)
		return;
	revoked = session_revoked(s, sc, &s->users_check_failed);
	if (revoked == NULL)
		return;
	log_info("conn=%llu event=session-ended user=%s reason=\"%s\"", (unsigned long long)c->id, sc->user, revoked);
	conn_kill(c, revoked);
}

/* Every SIP_USER_CHECK_MS.  PRAGMA data_version changes only when another
 * connection commits, so the signed-in users are read again only after an
 * admin command (or an export) wrote; a failed read retries next time. */
static int64_t sip_check_users(struct loop *l, void *arg)
{
	struct sip_server *s = arg;
	int64_t version;

	(void)l;
	if (s->cfg->auth_mode_id != CONFIG_AUTH_NTLM || store_data_version(s->store, &version) != STORE_OK)
		return SIP_USER_CHECK_MS;
	if (s->users_version_known && version == s->users_version)
		return SIP_USER_CHECK_MS;
	s->users_check_failed = 0;
	net_each_conn(s->net, &s->handlers, sip_check_conn_user, s);
	frontend_check_users(s);
	s->users_version = version;
	s->users_version_known = !s->users_check_failed;
	return SIP_USER_CHECK_MS;
}

struct sip_server *sip_server_new(const struct config *cfg, struct store *st, struct net *n,
                                  struct loop *l)
{
	struct sip_server *s = calloc(1, sizeof *s);
	size_t i;

	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->store = st;
	s->net = n;
	s->loop = l;
	/* Header block + signature + body of one INFO; bodies are capped by
	 * the chat service's reply cap, well under the output cap. */
	buf_init(&s->scratch, cfg->max_output_bytes);
	s->limits.max_header_bytes = cfg->max_header_bytes;
	s->limits.max_headers = cfg->max_headers;
	s->limits.max_body_bytes = cfg->max_body_bytes;
	s->handlers.on_open = sip_on_open;
	s->handlers.on_input = sip_on_input;
	s->handlers.on_close = sip_on_close;
	s->handlers.arg = s;
	s->fe_handlers.on_open = sip_fe_on_open;
	s->fe_handlers.on_input = sip_on_input;
	s->fe_handlers.on_close = sip_fe_on_close;
	s->fe_handlers.arg = s;
	/* NetBIOS domain for the challenge: the first label, upper-cased, 15 max. */
	for (i = 0; i < 15 && cfg->domain[i] && cfg->domain[i] != '.'; i++)
		s->nb_domain[i] = (char)((cfg->domain[i] >= 'a' && cfg->domain[i] <= 'z') ? cfg->domain[i] - 32 : cfg->domain[i]);
	s->nb_domain[i] = '\0';
	if (net_random(n, s->secret, sizeof s->secret) < 0 || (s->lockout = lockout_new(s->secret)) == NULL) {
		buf_free(&s->scratch);
		free(s);
		return NULL;
	}
	s->sweep_timer = loop_add_timer(l, 10000, sip_sweep, s);
	s->user_timer = loop_add_timer(l, SIP_USER_CHECK_MS, sip_check_users, s);
	return s;
}

struct lockout *sip_server_lockout(struct sip_server *s)
{
	return s ? s->lockout : NULL;
}

void sip_server_free(struct sip_server *s)
{
	if (s == NULL)
		return;
	if (s->sweep_timer > 0)
		loop_del_timer(s->loop, s->sweep_timer);
	if (s->user_timer > 0)
		loop_del_timer(s->loop, s->user_timer);
	s->stopping = 1;    /* net_free ran first: the parts of these dialogs go nowhere */
	while (s->fe_dialogs)
		dialog_close(s, s->fe_dialogs, "server shutdown");
	lockout_free(s->lockout);
	explicit_bzero(s->secret, sizeof s->secret);
	buf_free(&s->scratch);
	free(s);
}

void sip_server_set_callbacks(struct sip_server *s, const struct sip_callbacks *cb)
{
	s->cb = *cb;
}

void sip_server_set_room_management_url(struct sip_server *s, const char *url)
{
	snprintf(s->rm_url, sizeof s->rm_url, "%s", url ? url : "");
}

const struct net_handlers *sip_server_handlers(struct sip_server *s)
{
	return &s->handlers;
}

const struct net_handlers *sip_server_frontend_handlers(struct sip_server *s)
{
	return &s->fe_handlers;
}

/* ---- sip_server_users_signed_in: distinct users over the SIP connections ---- */

struct user_census {
	const struct sip_server *s;
	const char **users;
	size_t n, cap;
	int failed;
};

static void census_add(struct conn *c, void *arg)
{
	struct user_census *k = arg;
	const struct sip_conn *sc = c->proto;

	if (sc == NULL || sc->frontend || !signed_in(k->s, sc) || k->failed)
		return;
	if (array_reserve(&k->users, &k->cap, k->n, sizeof *k->users, 64) < 0) {
		k->failed = 1;
		return;
	}
	k->users[k->n++] = sc->user;
}

static int census_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

long sip_server_users_signed_in(struct sip_server *s)
{
	struct user_census k = { .s = s };
	long distinct = 0;

	net_each_conn(s->net, &s->handlers, census_add, &k);
	for (const struct sip_dialog *d = s->fe_dialogs; d && !k.failed; d = d->next) {
		if (array_reserve(&k.users, &k.cap, k.n, sizeof *k.users, 64) < 0)
			k.failed = 1;
		else
			k.users[k.n++] = d->remote_uri;
	}
	if (!k.failed && k.n > 0) {
		qsort(k.users, k.n, sizeof *k.users, census_cmp);
		for (size_t i = 0; i < k.n; i++)
			distinct += i == 0 || strcmp(k.users[i - 1], k.users[i]) != 0;
	}
	free(k.users);
	return k.failed ? -1 : distinct;
}
