/*
 * frontend.c - see frontend.h.
 */
#include "frontend.h"
#include "user_uri.h"
#include "log.h"
#include "sip_server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/oid.h>

#define ROUTE_SET_MAX FRONTEND_ROUTE_SET_MAX
#define FRONTEND_RETRY_MS 5000      /* a hop that failed is not tried again sooner */

int frontend_listen(const struct config *cfg, struct net *n, const struct net_handlers *h,
                    char *err, size_t errlen)
{
	char host[CONFIG_STR_MAX];
	uint16_t port;
	struct net_mtls m;

	if (cfg->fe_listen[0] == '\0')
		return 0;
	if (config_listen_split(cfg->fe_listen, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "[frontend] listen: expected HOST:PORT, got \"%s\"", cfg->fe_listen);
		return -1;
	}
	if (cfg->fe_ca_file[0] == '\0') {
		snprintf(err, errlen, "[frontend] listen is set but ca_file is empty: no front end's certificate could be checked");
		return -1;
	}
	if (cfg->fe_peers[0] == '\0') {
		snprintf(err, errlen, "[frontend] listen is set but peers is empty: no front end could connect");
		return -1;
	}
	m.cert = cfg->cert;
	m.key = cfg->key;
	m.ca_file = cfg->fe_ca_file;
	m.max_output_bytes = (size_t)cfg->max_output_bytes * FRONTEND_OUTPUT_FACTOR;
	if (net_listen_mtls(n, host, port, h, &m, err, errlen) < 0)
		return -1;
	log_info("event=frontend-listen listen=%s peers=\"%s\"", cfg->fe_listen, cfg->fe_peers);
	return 1;
}

/* 1 if name (len bytes) is one of the comma/space separated peers. */
static int peer_listed(const char *peers, const char *name, size_t len)
{
	const char *p = peers;

	while (*p) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n > 0 && n == len && strncasecmp(p, name, len) == 0)
			return 1;
		p += n;
	}
	return 0;
}

static void name_copy(char *out, size_t outlen, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = (p[i] > 0x20 && p[i] < 0x7f && p[i] != '"') ? (char)p[i] : '?';
	out[i] = '\0';
}

int frontend_peer_allowed(const char *peers, const mbedtls_x509_crt *crt, char *name, size_t namelen)
{
	const mbedtls_x509_sequence *san;
	const mbedtls_x509_name *dn;

	snprintf(name, namelen, "-");
	if (crt == NULL)
		return -1;
	for (san = &crt->subject_alt_names; san && san->buf.p; san = san->next) {
		if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME)
			continue;
		if (name[0] == '-')
			name_copy(name, namelen, san->buf.p, san->buf.len);
		if (peer_listed(peers, (const char *)san->buf.p, san->buf.len)) {
			name_copy(name, namelen, san->buf.p, san->buf.len);
			return 0;
		}
	}
	for (dn = &crt->subject; dn; dn = dn->next) {
		if (dn->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) != 0)
			continue;
		if (name[0] == '-')
			name_copy(name, namelen, dn->val.p, dn->val.len);
		if (peer_listed(peers, (const char *)dn->val.p, dn->val.len)) {
			name_copy(name, namelen, dn->val.p, dn->val.len);
			return 0;
		}
	}
	return -1;
}

int frontend_user(struct store *st, struct net *n, const char *domain, const struct sip_msg *m,
                  char *uri, size_t urilen, const char **why)
{
	const struct sip_str *pai = sip_msg_header(m, "P-Asserted-Identity", 0);
	const struct sip_str *from = sip_msg_header(m, "From", 'f');
	struct sip_str asserted = sip_addr_uri(pai ? *pai : from ? *from : (struct sip_str){ "", 0 });
	char raw[STORE_URI_MAX], err[200];
	struct store_user u;
	uint8_t unusable[16];
	int rc;

	*why = "no usable P-Asserted-Identity or From URI";
	if (asserted.len == 0 || asserted.len >= sizeof raw || memchr(asserted.p, '\0', asserted.len))
		return -1;
	memcpy(raw, asserted.p, asserted.len);
	raw[asserted.len] = '\0';
	if (admin_user_uri(raw, domain, uri, urilen, err, sizeof err) < 0)
		return -1;
	rc = store_user_get(st, uri, &u);
	if (rc == STORE_OK) {
		explicit_bzero(u.nt_hash, sizeof u.nt_hash);
		*why = "user disabled";
		return u.disabled ? -1 : 0;
	}
	*why = "store error";
	if (rc != STORE_E_NOTFOUND)
		return -1;
	/* A hash of no password: the user exists for roles and history, and
	 * can sign in standalone only once an admin sets a password. */
	if (net_random(n, unusable, sizeof unusable) < 0)
		return -1;
	rc = store_user_add(st, uri, unusable);
	explicit_bzero(unusable, sizeof unusable);
	if (rc != STORE_OK && rc != STORE_E_EXISTS)
		return -1;
	log_info("event=frontend-user-created user=%s", uri);
	return 0;
}

char *frontend_route_set(const struct sip_msg *m)
{
	char *out = malloc(ROUTE_SET_MAX);
	size_t len = 0;

	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct sip_header *h = &m->headers[i];
		int n;

		if (!sip_str_ieq(h->name, "Record-Route"))
			continue;
		if (memchr(h->value.p, '\r', h->value.len) || memchr(h->value.p, '\n', h->value.len) ||
		    memchr(h->value.p, '\0', h->value.len))
			goto fail;
		n = snprintf(out + len, ROUTE_SET_MAX - len, "Route: %.*s\r\n", (int)h->value.len, h->value.p);
		if (n < 0 || (size_t)n >= ROUTE_SET_MAX - len)
			goto fail;
		len += (size_t)n;
	}
	return out;
fail:
	free(out);
	return NULL;
}

void frontend_record_route(const struct sip_msg *m, char *out, size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct sip_header *h = &m->headers[i];
		int n;

		if (!sip_str_ieq(h->name, "Record-Route"))
			continue;
		n = snprintf(out + len, outlen - len, "Record-Route: %.*s\r\n", (int)h->value.len, h->value.p);
		if (n < 0 || (size_t)n >= outlen - len) {
			out[0] = '\0';
			return;
		}
		len += (size_t)n;
	}
}

/* ---- the front-end hop of the SIP server (sip_internal.h) ---- */

size_t frontend_user_dialogs(const struct sip_server *s, const char *user)
{
	size_t n = 0;

	for (const struct sip_dialog *d = s->fe_dialogs; d; d = d->next)
		n += strcmp(d->remote_uri, user) == 0;
	return n;
}

int frontend_request_user(struct sip_request_ctx *r)
{
	const char *why;

	if (frontend_user(r->s->store, r->s->net, r->s->cfg->domain, r->m, r->fe_user, sizeof r->fe_user, &why) < 0) {
		log_info("conn=%llu event=frontend-identity-refused method=%.*s reason=\"%s\"",
		         (unsigned long long)r->c->id, (int)r->m->method.len, r->m->method.p, why);
		return -1;
	}
	r->user = r->fe_user;
	return 0;
}

struct fe_pick {
	struct conn *c;
};

/* A connection of a verified front end. */
static void pick_open(struct conn *c, void *arg)
{
	struct fe_pick *p = arg;

	if (p->c == NULL && c->proto)
		p->c = c;
}

/* Host and port of the first hop of a route set ("Route: <sip:HOST:PORT;...>"). */
static int route_first_hop(const char *route, char *host, size_t hostlen, uint16_t *port)
{
	const char *p = strstr(route, "<sip:"), *end, *colon;
	size_t n;

	if (p == NULL)
		return -1;
	p += 5;
	end = p + strcspn(p, ";>?");
	for (const char *at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;     /* a user part, if any */
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return -1;
		n = (size_t)(rb - p - 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	*port = 5061;
	if (colon) {
		unsigned long v = strtoul(colon + 1, NULL, 10);

		if (v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}

/* No connection of the front end is left: open one to the dialog's first
 * hop, presenting our certificate (RFC 3261 §18.1.1: a new connection when
 * none is open). */
static struct conn *frontend_connect(struct sip_server *s, const struct sip_dialog *d)
{
	const struct config *cfg = s->cfg;
	struct net_mtls m = { cfg->cert, cfg->key, cfg->fe_ca_file, (size_t)cfg->max_output_bytes * FRONTEND_OUTPUT_FACTOR };
	char host[CONFIG_STR_MAX], hop[CONFIG_STR_MAX + 8], err[256];
	int64_t now = loop_now(s->loop);
	struct fe_hop *free_slot = NULL;
	uint16_t port;
	size_t i;

	if (route_first_hop(d->route, host, sizeof host, &port) < 0)
		return NULL;    /* no route set: wait for the front end to come back */
	snprintf(hop, sizeof hop, "%s:%u", host, (unsigned)port);
	for (i = 0; i < sizeof s->fe_hops / sizeof s->fe_hops[0]; i++) {
		struct fe_hop *h = &s->fe_hops[i];

		if (h->hop[0] && strcmp(h->hop, hop) == 0) {
			if (h->c || now < h->retry_ms)
				return h->c;    /* under way, or failed lately */
			free_slot = h;
			break;
		}
		if (free_slot == NULL && (h->hop[0] == '\0' || (h->c == NULL && now >= h->retry_ms)))
			free_slot = h;
	}
	if (free_slot == NULL)
		return NULL;
	snprintf(free_slot->hop, sizeof free_slot->hop, "%s", hop);
	free_slot->retry_ms = now + FRONTEND_RETRY_MS;
	free_slot->c = net_connect_mtls(s->net, host, port, &s->fe_handlers, &m, err, sizeof err);
	if (free_slot->c == NULL)
		log_warn("dialog=%llu event=frontend-connect-failed hop=%s reason=\"%s\"", (unsigned long long)d->id, hop, err);
	return free_slot->c;
}

/* c's handshake is over (done or failed): it is no longer a hop under way. */
static void frontend_hop_settled(struct sip_server *s, const struct conn *c, int ok)
{
	for (size_t i = 0; i < sizeof s->fe_hops / sizeof s->fe_hops[0]; i++) {
		if (s->fe_hops[i].c == c) {
			s->fe_hops[i].c = NULL;
			if (ok)
				s->fe_hops[i].hop[0] = '\0';
		}
	}
}

/* RFC 3261 §12.2.1.1: Request-URI the remote target, Route the route set,
 * sent over the connection the user's requests came on, or another of the
 * front end's while that one is gone.  No signature on this hop. */
int frontend_send_info(struct sip_server *s, struct sip_dialog *d, const char *body, size_t len)
{
	struct buf *out = &s->scratch;
	struct conn *c = d->conn;
	char cseq[12];
	int rc;

	if (s->stopping)
		return -1;
	if (c == NULL || c->state != CONN_OPEN) {
		struct fe_pick p = { NULL };

		/* Or the one we are opening: its peer is checked when the handshake
		 * ends, before anything queued on it leaves. */
		net_each_conn(s->net, &s->fe_handlers, pick_open, &p);
		if (p.c == NULL && (p.c = frontend_connect(s, d)) == NULL)
			return -1;      /* the dialog waits for its session timer or a new connection */
		d->conn = c = p.c;
		d->sc = c->proto;
	}
	/* One connection carries every user: one user's backlog must not take
	 * it down for the others (conn_send kills a connection over its cap).
	 * The INFO is dropped and the dialog left to end at the next sweep, as
	 * a standalone client over its cap would be disconnected.  INFOs may
	 * fill half the queue only: the other half is for the answers to the
	 * front end's own requests, which are not dropped (one over the cap
	 * would close the connection of every user on it). */
	if (conn_queued(c) + len > c->out.max / 2) {
		log_warn("conn=%llu dialog=%llu event=frontend-output-full user=%s", (unsigned long long)c->id,
		         (unsigned long long)d->id, d->remote_uri);
		d->active_ms = INT64_MIN / 2;
		return -1;
	}
	snprintf(cseq, sizeof cseq, "%u", ++d->cseq_out);
	buf_truncate(out, 0);
	rc = buf_printf(out,
	                "INFO %s SIP/2.0\r\n"
	                "Via: SIP/2.0/TLS %s;branch=z9hG4bK%llx.%s;rport\r\n"
	                "%s"
	                "From: <%s>;tag=%s\r\n"
	                "To: <%s>;tag=%s\r\n"
	                "Call-ID: %s\r\n"
	                "CSeq: %s INFO\r\n"
	                "Max-Forwards: 70\r\n"
	                "Content-Type: text/plain\r\n"
	                "Content-Length: %zu\r\n\r\n",
	                d->remote_contact, s->cfg->domain, (unsigned long long)d->id, cseq, d->route,
	                d->local_uri, d->local_tag, d->remote_uri, d->remote_tag, d->call_id, cseq, len);
	if (rc == 0)
		rc = buf_append(out, body, len);
	if (rc == 0)
		rc = conn_send(c, buf_head(out), out->len);
	return rc;
}

void frontend_sweep(struct sip_server *s)
{
	int64_t limit = ((int64_t)s->cfg->session_expires + 60) * 1000, now = loop_now(s->loop);
	struct sip_dialog *d, *next;

	for (d = s->fe_dialogs; d; d = next) {
		next = d->next;
		if (now - d->active_ms > limit)
			dialog_close(s, d, d->active_ms < 0 ? "front-end output full" : "idle past Session-Expires");
	}
}

void frontend_check_users(struct sip_server *s)
{
	struct sip_dialog *d, *next;

	for (d = s->fe_dialogs; d; d = next) {
		struct store_user u;
		int rc = store_user_get(s->store, d->remote_uri, &u);

		next = d->next;
		if (rc == STORE_OK)
			explicit_bzero(u.nt_hash, sizeof u.nt_hash);
		if (rc == STORE_E_NOTFOUND || (rc == STORE_OK && u.disabled)) {
			/* (Its next request would re-create a deleted user: disabling
			 * is what keeps a front end's user out.) */
			dialog_close(s, d, rc == STORE_OK ? "user disabled" : "user deleted");
		} else if (rc != STORE_OK) {
			s->users_check_failed = 1;
		}
	}
}

/* Only the peers [frontend] peers names get in; the CA check is done. */
void sip_fe_on_open(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc;
	char name[128];

	if (frontend_peer_allowed(s->cfg->fe_peers, conn_peer_cert(c), name, sizeof name) < 0) {
		frontend_hop_settled(s, c, 0);      /* ours, to a hop that is not a named peer: retried later */
		log_warn("conn=%llu event=frontend-refused peer=%s name=\"%s\" reason=\"certificate names no peer in [frontend] peers\"",
		         (unsigned long long)c->id, c->peer, name);
		conn_kill(c, "front-end peer not named in [frontend] peers");
		return;
	}
	frontend_hop_settled(s, c, 1);
	sip_on_open(c, arg);
	if ((sc = c->proto) == NULL)
		return;
	sc->frontend = 1;
	conn_set_authenticated(c, 1);
	log_info("conn=%llu event=frontend-peer peer=%s name=%s", (unsigned long long)c->id, c->peer, name);
}

/* The dialogs outlive the connection: the front end reconnects (or we send
 * over another of its connections) and their session timer ends them. */
void sip_fe_on_close(struct conn *c, void *arg)
{
	struct sip_server *s = arg;

	frontend_hop_settled(s, c, 0);
	for (struct sip_dialog *d = s->fe_dialogs; d; d = d->next) {
		if (d->conn == c) {
			d->conn = NULL;
			d->sc = NULL;
		}
	}
	sip_on_close(c, arg);
}
