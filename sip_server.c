/*
 * sip_server.c - see sip_server.h.  Each connection's input is framed by
 * sip_msg_parse (Content-Length is mandatory on a stream, RFC 3261 §18.3);
 * CR/LF keep-alives between messages are skipped.  Malformed input gets one
 * 400 (513 when too large) and the connection is closed, because after a
 * framing error nothing later on the stream can be trusted.
 */
#include "sip_server.h"
#include "log.h"
#include "sip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCHAT_SERVER_HEADER "Server: pchat/" PCHAT_VERSION "\r\n"
#ifndef PCHAT_VERSION
#define PCHAT_VERSION "0.1"
#endif
#define SIP_ALLOW "Allow: REGISTER, SUBSCRIBE, INVITE, ACK, INFO, UPDATE, BYE, CANCEL, OPTIONS\r\n"

struct sip_server {
	const struct config *cfg;
	struct store *store;
	struct net *net;
	struct net_handlers handlers;
	struct sip_limits limits;
	struct sip_msg msg;         /* the message being handled; one at a time */
};

/* Per-connection SIP state, in conn->proto. */
struct sip_conn {
	size_t need;        /* bytes the message at the head needs; 0 = unknown */
	uint64_t requests;
};

struct sip_request_ctx {
	struct sip_server *s;
	struct conn *c;
	const struct sip_msg *m;
};

/* ---- responses ---- */

static int append_header(struct buf *b, const char *name, struct sip_str v)
{
	if (buf_printf(b, "%s: ", name) < 0 || buf_append(b, v.p, v.len) < 0)
		return -1;
	return buf_append(b, "\r\n", 2);
}

/* Build a response to req (RFC 3261 §8.2.6.2: copy Via, From, To, Call-ID,
 * CSeq; add a To tag when the request had none).  extra is zero or more
 * complete header lines.  Returns 0 or -1 (output cap). */
static int sip_build_response(struct buf *out, const struct sip_msg *req, int code,
                              const char *reason, const char *to_tag, const char *extra,
                              const char *ctype, const char *body, size_t blen)
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
			if (k == 2 && to_tag && sip_header_param(h->value, "tag").len == 0 &&
			    (buf_truncate(out, out->len - 2), buf_printf(out, ";tag=%s\r\n", to_tag) < 0))
				return -1;
			if (k != 0)
				break;  /* every Via, but one of the others */
		}
	}
	if (extra && buf_appends(out, extra) < 0)
		return -1;
	if (buf_appends(out, PCHAT_SERVER_HEADER) < 0)
		return -1;
	if (blen > 0 && buf_printf(out, "Content-Type: %s\r\n", ctype) < 0)
		return -1;
	if (buf_printf(out, "Content-Length: %zu\r\n\r\n", blen) < 0)
		return -1;
	return buf_append(out, body, blen);
}

/* Send a response on the request's connection. */
static void sip_reply(struct sip_request_ctx *r, int code, const char *reason, const char *extra,
                      const char *ctype, const char *body, size_t blen)
{
	struct buf out;

	buf_init(&out, r->c->out.max);
	if (sip_build_response(&out, r->m, code, reason, code > 100 ? "pchat" : NULL, extra,
	                       ctype, body, blen) < 0 ||
	    conn_send(r->c, buf_head(&out), out.len) < 0)
		conn_kill(r->c, "response too large");
	buf_free(&out);
}

/* ---- methods ---- */

/* RFC 3261 §11.2: OPTIONS is answered like an INVITE would be; load
 * balancers and monitors use it as a health check. */
static void sip_on_options(struct sip_request_ctx *r)
{
	sip_reply(r, 200, "OK", SIP_ALLOW "Accept: application/sdp, text/plain\r\n"
	          "Supported: ms-benotify, msrtc-event-categories\r\n", NULL, NULL, 0);
}

struct sip_method {
	const char *name;
	void (*handle)(struct sip_request_ctx *r);
};

static const struct sip_method sip_methods[] = {
	{ "OPTIONS", sip_on_options },
	{ NULL, NULL }
};

static void sip_dispatch_request(struct sip_request_ctx *r)
{
	const struct sip_msg *m = r->m;

	/* RFC 3261 §8.2: a request without these cannot be answered sensibly. */
	if (!sip_msg_header(m, "Call-ID", 'i') || !sip_msg_header(m, "CSeq", 0) ||
	    !sip_msg_header(m, "From", 'f') || !sip_msg_header(m, "To", 't') ||
	    !sip_msg_header(m, "Via", 'v')) {
		sip_reply(r, 400, "Bad Request (missing Via, From, To, Call-ID or CSeq)", NULL, NULL, NULL, 0);
		return;
	}
	for (const struct sip_method *sm = sip_methods; sm->name; sm++) {
		if (sip_str_eq(m->method, sm->name)) {
			sm->handle(r);
			return;
		}
	}
	if (sip_str_eq(m->method, "ACK"))
		return;     /* never answered (RFC 3261 §17.2.1) */
	sip_reply(r, 501, "Not Implemented", SIP_ALLOW, NULL, NULL, 0);
}

static void sip_handle_message(struct sip_server *s, struct conn *c, const struct sip_msg *m)
{
	struct sip_request_ctx r = { s, c, m };

	if (m->kind == SIP_RESPONSE) {
		log_debug("conn=%llu event=response status=%d", (unsigned long long)c->id, m->status);
		return;
	}
	log_debug("conn=%llu event=request method=%.*s", (unsigned long long)c->id,
	          (int)m->method.len, m->method.p);
	sip_dispatch_request(&r);
}

/* Answer a framing error once and close: the stream position is lost. */
static void sip_framing_error(struct conn *c, long err)
{
	const char *reason;
	int code = sip_error_status(err, &reason);
	char line[128];
	int n = snprintf(line, sizeof line, "SIP/2.0 %d %s\r\n" PCHAT_SERVER_HEADER "Content-Length: 0\r\n\r\n",
	                 code, reason);

	log_info("conn=%llu event=bad-input status=%d reason=\"%s\"", (unsigned long long)c->id, code, reason);
	if (n > 0 && (size_t)n < sizeof line)
		conn_send(c, line, (size_t)n);
	conn_close(c, reason);
}

static void sip_on_input(struct conn *c, void *arg)
{
	struct sip_server *s = arg;
	struct sip_conn *sc = c->proto;

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
		sc->requests++;
		sip_handle_message(s, c, &s->msg);
		buf_consume(&c->in, (size_t)used);
	}
}

static void sip_on_open(struct conn *c, void *arg)
{
	(void)arg;
	c->proto = calloc(1, sizeof(struct sip_conn));
	if (c->proto == NULL)
		conn_kill(c, "out of memory");
}

static void sip_on_close(struct conn *c, void *arg)
{
	(void)arg;
	free(c->proto);
	c->proto = NULL;
}

struct sip_server *sip_server_new(const struct config *cfg, struct store *st, struct net *n)
{
	struct sip_server *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->store = st;
	s->net = n;
	s->limits.max_header_bytes = cfg->max_header_bytes;
	s->limits.max_headers = cfg->max_headers;
	s->limits.max_body_bytes = cfg->max_body_bytes;
	s->handlers.on_open = sip_on_open;
	s->handlers.on_input = sip_on_input;
	s->handlers.on_close = sip_on_close;
	s->handlers.arg = s;
	return s;
}

void sip_server_free(struct sip_server *s)
{
	free(s);
}

const struct net_handlers *sip_server_handlers(struct sip_server *s)
{
	return &s->handlers;
}
