/*
 * bench_client.c - the client side of pchat-bench: many non-blocking TLS
 * clients on one epoll loop (see bench.h).
 *
 * A chat client does what tclient.c does with blocking calls, as a state
 * machine: TLS handshake, the three REGISTERs of NTLM sign-in (MS-SIPAE),
 * INVITE to the channel service and ACK, then one cmd:join per room.  Every
 * request it sends is signed; every INFO the server sends is answered with a
 * signed 200, as sipe answers them, so the server pays for reading and
 * checking those answers as it would in production.  Server signatures are
 * checked on every sign-in message and on one delivery in 256 (checking them
 * all would make the client, not the server, the bottleneck).
 *
 * As a front end (BC_MODE_FRONTEND), client 0 owns the one mutual-TLS
 * connection to pchat's [frontend] listener and every user's dialog rides on
 * it, as Kamailio or a Lync Front End pool carries its users: no REGISTER,
 * nothing signed, the user in P-Asserted-Identity, a Record-Route naming this
 * end on the INVITE.  Each user's Call-ID starts "u<index>." so that what the
 * server sends finds its user; the accounting (posts, deliveries, latency)
 * is the standalone clients' own, per user.
 *
 * Output is queued per connection and written once per pass, like the
 * server's; input is read through a per-connection read-ahead buffer so that
 * mbedTLS's small reads (record header, then body) cost one recv, not two.
 */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <mbedtls/base64.h>
#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>

#define BC_READ_AHEAD (32 * 1024)
#define BC_WRITE_CHUNK 16384
#define BC_SIG_SAMPLE 256           /* check one delivery signature in this many */
#define BC_MAX_EVENTS 512

struct bclient {
	size_t idx;
	int fd;
	enum bc_state state;
	unsigned evmask;                /* events registered with epoll; 0 = not added */
	int ssl_live;
	mbedtls_ssl_context ssl;
	struct buf in;                  /* decrypted bytes not yet framed */
	struct buf out;                 /* plaintext queued for this pass */
	size_t out_pinned;              /* length mbedTLS asked us to repeat */
	int dirty;
	int muted;                      /* beng_mute: reads nothing more, waits for the server's close */
	unsigned char *ra;              /* read-ahead for the BIO */
	size_t ra_len, ra_pos;
	int64_t ra_arrived_ns;          /* kernel receive time of ra's newest bytes (CLOCK_MONOTONIC), or 0 */
	/* SIP and NTLM */
	char aor[64];                   /* sip:u00001@example.org */
	char tag[12];
	char reg_call_id[24];
	unsigned reg_cseq;
	char realm[64], targetname[64], opaque[16];
	int sa;
	struct auth_keys keys;
	unsigned cnum;
	/* the channel dialog */
	char call_id[32];               /* front end: "u<index>." then random hex */
	char remote_tag[64];
	unsigned cseq;
	/* rooms and traffic */
	uint32_t *rooms;
	size_t nrooms, njoined, next_post;
	unsigned join_cseq, bcc_cseq, churn_cseq;
	unsigned in_flight;
	unsigned post_seq;
	int64_t bcc_sent_ns;
	enum { CHURN_IN, CHURN_PARTING, CHURN_OUT, CHURN_JOINING } churn;   /* beng_churn, first room */
	int64_t churn_sent_ns;
	unsigned sig_tick;
};

static const mbedtls_ecp_group_id bc_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

static const struct sip_limits bc_limits = { 1 << 20, SIP_HEADERS_CAP, 8 << 20 };
static struct sip_msg bc_msg;       /* the message being handled (one thread) */

static uint64_t bc_rand(struct beng *e)
{
	/* xorshift64*: nonces for tags and signatures, not secrets */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return e->rng * 2685821657736338717ull;
}

static void bc_hex(struct beng *e, char *out, size_t bytes)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < bytes; i++) {
		unsigned v = (unsigned)(bc_rand(e) >> 56);

		out[2 * i] = digits[v >> 4];
		out[2 * i + 1] = digits[v & 15];
	}
	out[2 * bytes] = '\0';
}

/* ---- connection plumbing ---- */

static void bc_watch(struct beng *e, struct bclient *c, unsigned mask)
{
	struct epoll_event ev;

	if (c->muted)
		mask = EPOLLRDHUP;      /* only the server's close */
	ev = (struct epoll_event){ .events = mask, .data.ptr = c };

	if (c->evmask == mask || c->fd < 0)
		return;
	if (epoll_ctl(e->ep, c->evmask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0)
		c->evmask = mask;
}

static int bc_in_progress(enum bc_state s)
{
	return s >= BC_CONNECTING && s < BC_READY;
}

/* Clients that speak SIP (the others only handshake or sink bytes). */
static int bc_chatty(const struct beng *e)
{
	return e->mode == BC_MODE_CHAT || e->mode == BC_MODE_FRONTEND;
}

/* The client whose connection carries c's traffic: client 0's as a front end. */
static struct bclient *bc_conn(struct beng *e, struct bclient *c)
{
	return e->mode == BC_MODE_FRONTEND ? &e->c[0] : c;
}

/* Close the connection; failure counts it as such.  The client stays in the
 * array (other code may still hold its index) and is never reused. */
static void bc_close(struct beng *e, struct bclient *c, const char *why, int failure)
{
	if (c->state == BC_DEAD || c->state == BC_IDLE)
		return;
	if (failure) {
		if (e->st.failures < 5)
			fprintf(stderr, "pchat-bench: client %zu: %s (state %d)\n", c->idx, why, (int)c->state);
		e->st.failures++;
	}
	if (bc_in_progress(c->state))
		e->in_progress--;
	else if (c->state == BC_READY)
		e->ready--;
	e->dead++;
	e->in_flight -= c->in_flight;
	c->in_flight = 0;
	c->state = BC_DEAD;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->evmask = 0;
	if (c->ssl_live)
		mbedtls_ssl_free(&c->ssl);
	c->ssl_live = 0;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c->ra);
	c->ra = NULL;
	c->ra_len = c->ra_pos = 0;
	c->out_pinned = 0;
	/* The front end's connection is gone: so is every user on it. */
	if (e->mode == BC_MODE_FRONTEND && c == &e->c[0])
		for (size_t i = 1; i < e->n; i++)
			bc_close(e, &e->c[i], "front-end connection lost", failure);
}

static int bc_bio_send(void *ctx, const unsigned char *p, size_t len)
{
	struct bclient *c = ctx;
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);

	if (w >= 0)
		return (int)w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* When the kernel received what recv just returned (SO_TIMESTAMPING, the
 * newest segment's software stamp), on CLOCK_MONOTONIC; 0 if none came.  A
 * delivery's latency measured to this instant leaves out the time this one
 * thread, playing every client, spends on the messages before it. */
static int64_t bc_real_minus_mono_ns;     /* CLOCK_REALTIME - CLOCK_MONOTONIC, set by beng_init */

static int64_t bc_arrival_ns(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		struct scm_timestamping ts;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPING ||
		    cm->cmsg_len < CMSG_LEN(sizeof ts))
			continue;
		memcpy(&ts, CMSG_DATA(cm), sizeof ts);
		if (ts.ts[0].tv_sec == 0 && ts.ts[0].tv_nsec == 0)
			return 0;
		return (int64_t)ts.ts[0].tv_sec * 1000000000 + ts.ts[0].tv_nsec - bc_real_minus_mono_ns;
	}
	return 0;
}

/* mbedTLS reads a record header and then its body; serve both from one recv. */
static int bc_bio_recv(void *ctx, unsigned char *p, size_t len)
{
	struct bclient *c = ctx;
	ssize_t r;
	size_t n;

	if (c->ra_pos == c->ra_len) {
		union { char buf[CMSG_SPACE(sizeof(struct scm_timestamping))]; struct cmsghdr align; } control;
		struct iovec iov;
		struct msghdr mh;

		if (c->ra == NULL && (c->ra = malloc(BC_READ_AHEAD)) == NULL)
			return MBEDTLS_ERR_NET_RECV_FAILED;
		iov = (struct iovec){ c->ra, BC_READ_AHEAD };
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof control.buf;
		r = recvmsg(c->fd, &mh, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
			                                                              : MBEDTLS_ERR_NET_RECV_FAILED;
		if (r == 0)
			return 0;
		c->ra_len = (size_t)r;
		c->ra_pos = 0;
		c->ra_arrived_ns = bc_arrival_ns(&mh);
	}
	n = c->ra_len - c->ra_pos < len ? c->ra_len - c->ra_pos : len;
	memcpy(p, c->ra + c->ra_pos, n);
	c->ra_pos += n;
	return (int)n;
}

static void bc_mark_dirty(struct beng *e, struct bclient *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		e->dirty[e->ndirty++] = c;
	}
}

static int bc_queue(struct beng *e, struct bclient *c, const void *p, size_t len)
{
	struct bclient *conn = bc_conn(e, c);

	if (c->state == BC_DEAD || conn->state == BC_DEAD || buf_append(&conn->out, p, len) < 0)
		return -1;
	bc_mark_dirty(e, conn);
	return 0;
}

static void bc_flush(struct beng *e, struct bclient *c)
{
	while (c->out.len > 0) {
		size_t n = c->out_pinned ? c->out_pinned : (c->out.len < BC_WRITE_CHUNK ? c->out.len : BC_WRITE_CHUNK);
		int r = mbedtls_ssl_write(&c->ssl, buf_head(&c->out), n);

		if (r > 0) {
			buf_consume(&c->out, (size_t)r);
			c->out_pinned = 0;
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
			c->out_pinned = n;
			bc_watch(e, c, EPOLLIN | EPOLLOUT);
			return;
		}
		bc_close(e, c, "TLS write failed", 1);
		return;
	}
	bc_watch(e, c, EPOLLIN);
}

/* ---- building and signing SIP messages ---- */

/* A small appender over a fixed array: the first overflow sticks. */
struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void o_raw(struct out *o, const char *s, size_t n)
{
	if (o->failed || n > o->cap - o->len) {
		o->failed = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void o_str(struct out *o, const char *s) { o_raw(o, s, strlen(s)); }

static void o_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void o_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->failed = 1;
	else
		o->len += (size_t)n;
}

static struct auth_str as(const char *s) { return (struct auth_str){ s, strlen(s) }; }

/* Append "Authorization: NTLM ... response=MAC\r\n" for the signature fields
 * in f (rand, num, realm and targetname are filled here). */
static void bc_sign(struct beng *e, struct bclient *c, struct auth_sig_fields *f, const char *auth_extra,
                    struct out *o)
{
	char crand[9], cnum[12], str[4096], mac[33];
	size_t n;

	bc_hex(e, crand, 4);
	snprintf(cnum, sizeof cnum, "%u", ++c->cnum);
	f->rand = (struct auth_str){ crand, 8 };
	f->num = as(cnum);
	f->realm = as(c->realm);
	f->targetname = as(c->targetname);
	n = auth_sig_string(f, str, sizeof str);
	if (n >= sizeof str) {
		o->failed = 1;
		return;
	}
	auth_sign(&c->keys, 0, str, n, mac);
	o_fmt(o, "Authorization: NTLM qop=\"auth\", opaque=\"%s\", realm=\"%s\", targetname=\"%s\", %s"
	         "crand=\"%s\", cnum=\"%s\", response=\"%s\"\r\n",
	      c->opaque, c->realm, c->targetname, auth_extra ? auth_extra : "", crand, cnum, mac);
}

struct bc_req {
	const char *method, *ruri;
	const char *from_tag;
	const char *to_uri, *to_tag;    /* to_tag "" = none */
	const char *call_id;
	unsigned cseq;
	const char *extra;              /* complete header lines, or NULL */
	const char *auth_extra;         /* parameters added to a signed Authorization */
	const char *ctype;              /* NULL: no body */
	const char *body;
	size_t blen;
	int sign;
};

static int bc_send_request(struct beng *e, struct bclient *c, const struct bc_req *q)
{
	static char msg[96 * 1024];
	struct out o = { msg, 0, sizeof msg, 0 };
	char cseq[12];

	snprintf(cseq, sizeof cseq, "%u", q->cseq);
	o_fmt(&o, "%s %s SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5555\r\nFrom: <%s>;tag=%s;epid=0123456789\r\n"
	          "To: <%s>%s%s\r\nCSeq: %s %s\r\nCall-ID: %s\r\nMax-Forwards: 70\r\n",
	      q->method, q->ruri, c->aor, q->from_tag, q->to_uri, q->to_tag[0] ? ";tag=" : "", q->to_tag, cseq,
	      q->method, q->call_id);
	if (q->extra)
		o_str(&o, q->extra);
	if (e->mode == BC_MODE_FRONTEND)
		o_fmt(&o, "P-Asserted-Identity: <%s>\r\n", c->aor);     /* as Kamailio adds it */
	if (q->ctype)
		o_fmt(&o, "Content-Type: %s\r\n", q->ctype);
	if (q->sign && e->mode != BC_MODE_FRONTEND) {   /* no signatures on the front end's hop */
		struct auth_sig_fields f;

		memset(&f, 0, sizeof f);
		f.protocol = as("NTLM");
		f.call_id = as(q->call_id);
		f.cseq_num = as(cseq);
		f.method = as(q->method);
		f.from_uri = as(c->aor);
		f.from_tag = as(q->from_tag);
		f.to_uri = as(q->to_uri);
		f.to_tag = as(q->to_tag);
		bc_sign(e, c, &f, q->auth_extra, &o);
	}
	o_fmt(&o, "Content-Length: %zu\r\n\r\n", q->blen);
	o_raw(&o, q->body ? q->body : "", q->blen);
	if (o.failed)
		return -1;
	return bc_queue(e, c, msg, o.len);
}

/* A request in the channel dialog (INFO with an XCCOS body, or ACK). */
static int bc_in_dialog(struct beng *e, struct bclient *c, const char *method, unsigned cseq, const char *body,
                        size_t blen)
{
	char to[96];
	struct bc_req q;

	snprintf(to, sizeof to, "sip:pchat@%s", e->domain);
	q = (struct bc_req){ method, to, c->tag, to, c->remote_tag, c->call_id, cseq, NULL, NULL,
	                     body ? "text/plain" : NULL, body, blen, 1 };
	return bc_send_request(e, c, &q);
}

/* Answer the server's request in bc_msg with a signed 200 (RFC 3261
 * §8.2.6.2: Via, From, To, Call-ID and CSeq copied). */
static void bc_answer(struct beng *e, struct bclient *c, const struct sip_msg *m)
{
	static const char *const copied[] = { "Via", "From", "To", "Call-ID", "CSeq" };
	char msg[8192];
	struct out o = { msg, 0, sizeof msg, 0 };
	struct auth_sig_fields f;

	o_str(&o, "SIP/2.0 200 OK\r\n");
	for (size_t k = 0; k < 5; k++) {
		for (size_t i = 0; i < m->nheaders; i++) {
			if (!sip_str_ieq(m->headers[i].name, copied[k]))
				continue;
			o_str(&o, copied[k]);
			o_raw(&o, ": ", 2);
			o_raw(&o, m->headers[i].value.p, m->headers[i].value.len);
			o_raw(&o, "\r\n", 2);
			if (k != 0)
				break;
		}
	}
	sip_msg_sig_fields(m, &f);
	f.status = 200;
	if (e->mode != BC_MODE_FRONTEND)
		bc_sign(e, c, &f, NULL, &o);
	o_str(&o, "Content-Length: 0\r\n\r\n");
	if (o.failed || bc_queue(e, c, msg, o.len) < 0)
		bc_close(e, c, "cannot answer an INFO", 1);
}

/* Check the server's Authentication-Info on m (as tclient_check_sig). */
static void bc_check_sig(struct beng *e, struct bclient *c, const struct sip_msg *m)
{
	const struct sip_str *ai = sip_msg_header(m, "Authentication-Info", 0);
	struct auth_sig_fields f;
	struct sip_str mac, v;
	char str[4096];
	size_t n;

	if (e->mode == BC_MODE_FRONTEND)
		return;     /* the front end's hop carries no signatures */
	e->st.sigs_checked++;
	if (ai == NULL) {
		e->st.bad_sigs++;
		return;
	}
	sip_msg_sig_fields(m, &f);
	v = sip_auth_param(*ai, "srand");
	f.rand = (struct auth_str){ v.p, v.len };
	v = sip_auth_param(*ai, "snum");
	f.num = (struct auth_str){ v.p, v.len };
	v = sip_auth_param(*ai, "realm");
	f.realm = (struct auth_str){ v.p, v.len };
	v = sip_auth_param(*ai, "targetname");
	f.targetname = (struct auth_str){ v.p, v.len };
	mac = sip_auth_param(*ai, "rspauth");
	n = auth_sig_string(&f, str, sizeof str);
	if (n >= sizeof str || auth_check(&c->keys, 1, str, n, mac.p, mac.len) != AUTH_OK)
		e->st.bad_sigs++;
}

/* ---- sign-in ---- */

static int bc_register(struct beng *e, struct bclient *c, const char *auth_line, const char *auth_extra, int sign)
{
	char ruri[96], extra[2048];
	struct bc_req q;

	bc_hex(e, c->tag, 4);
	snprintf(ruri, sizeof ruri, "sip:%s", e->domain);
	snprintf(extra, sizeof extra,
	         "Contact: <sip:127.0.0.1:5555;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE, INFO, BYE\";"
	         "proxy=replace;+sip.instance=\"<urn:uuid:b7878522-d7fe-5c33-b30d-265f6618ae78>\"\r\n"
	         "Supported: gruu-10, adhoclist, msrtc-event-categories\r\nEvent: registration\r\n%s",
	         auth_line ? auth_line : "");
	q = (struct bc_req){ "REGISTER", ruri, c->tag, c->aor, "", c->reg_call_id, ++c->reg_cseq, extra, auth_extra,
	                     NULL, NULL, 0, sign };
	return bc_send_request(e, c, &q);
}

static void copy_param(char *dst, size_t cap, struct sip_str hdr, const char *name)
{
	struct sip_str v = sip_auth_param(hdr, name);

	snprintf(dst, cap, "%.*s", (int)v.len, v.p);
}

/* INVITE to the channel service.  As a front end, a Call-ID that names the
 * user and a Record-Route naming this end, so the server's INFOs come back. */
static void bc_invite(struct beng *e, struct bclient *c)
{
	static const char sdp[] = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	                          "m=message 5061 sip null\r\na=accept-types:text/plain\r\n";
	char to[96], extra[400];
	struct bc_req q;
	int fe = e->mode == BC_MODE_FRONTEND;
	size_t at = 0;

	snprintf(to, sizeof to, "sip:pchat@%s", e->domain);
	snprintf(extra, sizeof extra,
	         "Supported: ms-sender\r\nContact: <%s;opaque=user:epid:b7878522-d7fe-5c33-b30d-265f6618ae78;gruu>\r\n%s",
	         c->aor, fe ? e->fe_record_route : "");
	if (fe)
		at = (size_t)snprintf(c->call_id, sizeof c->call_id, "u%zu.", c->idx);
	if (at + 17 > sizeof c->call_id) {
		bc_close(e, c, "Call-ID does not fit", 1);
		return;
	}
	bc_hex(e, c->call_id + at, 8);
	bc_hex(e, c->tag, 4);
	c->cseq = 1;
	c->state = BC_INVITE;
	q = (struct bc_req){ "INVITE", to, c->tag, to, "", c->call_id, 1, extra, NULL, "application/sdp", sdp,
	                     sizeof sdp - 1, 1 };
	if (bc_send_request(e, c, &q) < 0)
		bc_close(e, c, "cannot queue INVITE", 1);
}

static void bc_on_register_reply(struct beng *e, struct bclient *c, const struct sip_msg *m)
{
	const struct sip_str *www = sip_msg_header(m, "WWW-Authenticate", 0);

	if (c->state == BC_REG1) {
		char line[600];

		if (m->status != 401 || www == NULL) {
			bc_close(e, c, "first REGISTER not challenged", 1);
			return;
		}
		copy_param(c->realm, sizeof c->realm, *www, "realm");
		copy_param(c->targetname, sizeof c->targetname, *www, "targetname");
		snprintf(line, sizeof line,
		         "Authorization: NTLM qop=\"auth\", realm=\"%s\", targetname=\"%s\", gssapi-data=\"\", version=4\r\n",
		         c->realm, c->targetname);
		c->state = BC_REG2;
		if (bc_register(e, c, line, NULL, 0) < 0)
			bc_close(e, c, "cannot queue REGISTER", 1);
	} else if (c->state == BC_REG2) {
		uint8_t challenge[1024], out[2048], cc[8], rsk[16];
		unsigned char b64[4096];
		char extra[4200];
		struct sip_str gss;
		size_t clen, olen, blen;

		if (m->status != 401 || www == NULL) {
			bc_close(e, c, "no NTLM challenge", 1);
			return;
		}
		gss = sip_auth_param(*www, "gssapi-data");
		copy_param(c->opaque, sizeof c->opaque, *www, "opaque");
		mbedtls_ctr_drbg_random(&e->drbg, cc, sizeof cc);
		mbedtls_ctr_drbg_random(&e->drbg, rsk, sizeof rsk);
		if (mbedtls_base64_decode(challenge, sizeof challenge, &clen, (const unsigned char *)gss.p, gss.len) != 0 ||
		    auth_ntlm_client_authenticate(challenge, clen, c->aor + 4, "", e->nt_hash, cc, rsk, 0, out, sizeof out,
		                                  &olen, &c->keys) != AUTH_OK ||
		    mbedtls_base64_encode(b64, sizeof b64, &blen, out, olen) != 0) {
			bc_close(e, c, "NTLM authenticate failed", 1);
			return;
		}
		/* The third REGISTER is already signed with the new keys (version=4). */
		snprintf(extra, sizeof extra, "gssapi-data=\"%s\", version=4, ", (char *)b64);
		c->sa = 1;
		c->state = BC_REG3;
		if (bc_register(e, c, NULL, extra, 1) < 0)
			bc_close(e, c, "cannot queue REGISTER", 1);
	} else {
		if (m->status != 200) {
			bc_close(e, c, "sign-in refused", 1);
			return;
		}
		bc_check_sig(e, c, m);
		bc_invite(e, c);
	}
}

static void bc_set_ready(struct beng *e, struct bclient *c)
{
	c->state = BC_READY;
	e->in_progress--;
	e->ready++;
}

/* The XCCOS body of a cmd:join (join = 1) or cmd:part of room into body;
 * its length, or -1 if it does not fit. */
static int bc_room_cmd(struct beng *e, int join, size_t room, char *body, size_t cap)
{
	const char *guid = e->room_guid[room];
	int n = join ? snprintf(body, cap,
	                        "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:join\" "
	                        "seqid=\"1\"><data><chanid key=\"0\" domain=\"%s\" value=\"%s\"/></data></cmd></xccos>",
	                        (unsigned long long)++e->envid, e->domain, guid)
	             : snprintf(body, cap,
	                        "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:part\" "
	                        "seqid=\"1\"><data><chanib uri=\"ma-chan://%s/%s\"/></data></cmd></xccos>",
	                        (unsigned long long)++e->envid, e->domain, guid);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static void bc_join_next(struct beng *e, struct bclient *c)
{
	char body[512];
	int n;

	if (c->njoined == c->nrooms) {
		bc_set_ready(e, c);
		return;
	}
	n = bc_room_cmd(e, 1, c->rooms[c->njoined], body, sizeof body);
	c->join_cseq = ++c->cseq;
	if (n < 0 || bc_in_dialog(e, c, "INFO", c->join_cseq, body, (size_t)n) < 0)
		bc_close(e, c, "cannot queue join", 1);
}

/* ---- what the server sends ---- */

static int64_t parse_i64(const char *p, const char *end)
{
	int64_t v = 0;

	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
}

/* A post delivered: "bench t=NS a=AUTHOR" in its text. */
static void bc_on_delivery(struct beng *e, struct bclient *c, const struct sip_msg *m, int64_t now)
{
	const char *b = m->body.p, *end = b + m->body.len, *t = memmem(b, m->body.len, "bench t=", 8);

	e->st.delivered++;
	e->st.delivered_bytes += m->header_bytes + m->body.len;
	if (e->sample == NULL && (e->sample = malloc(m->header_bytes + m->body.len)) != NULL) {
		e->sample_len = m->header_bytes + m->body.len;
		memcpy(e->sample, m->method.p, e->sample_len);  /* the message starts at its method */
	}
	if (t) {
		const char *a;
		int64_t sent = parse_i64(t + 8, end);

		a = memmem(t, (size_t)(end - t), " a=", 3);
		if (a && (size_t)parse_i64(a + 3, end) != c->idx) {
			hist_add(&e->st.lat, now - sent);
			/* stamped when the recv that brought it (or a later one) ran:
			 * never earlier than its true arrival */
			if (c->ra_arrived_ns > 0)
				hist_add(&e->st.lat_wire, c->ra_arrived_ns - sent);
		}
	}
	if (++c->sig_tick % BC_SIG_SAMPLE == 0)
		bc_check_sig(e, c, m);
}

static void bc_on_server_info(struct beng *e, struct bclient *c, const struct sip_msg *m, int64_t now)
{
	const char *b = m->body.p;
	size_t n = m->body.len;

	if (memmem(b, n, "<grpchat", 8)) {
		bc_on_delivery(e, c, m, now);
		return;
	}
	e->st.infos_other++;
	if (c->state == BC_JOIN && memmem(b, n, "<rpl id=\"rpl:join\"", 18)) {
		bc_check_sig(e, c, m);
		if (memmem(b, n, "<resp code=\"200\"", 16) == NULL) {
			bc_close(e, c, "join refused", 1);
			return;
		}
		c->njoined++;
		bc_join_next(e, c);
	} else if ((c->churn == CHURN_PARTING && memmem(b, n, "<rpl id=\"rpl:part\"", 18)) ||
	           (c->churn == CHURN_JOINING && memmem(b, n, "<rpl id=\"rpl:join\"", 18))) {
		hist_add(&e->st.churn, now - c->churn_sent_ns);
		e->st.churn_done++;
		if (memmem(b, n, "<resp code=\"200\"", 16) == NULL)
			e->st.churn_failed++;
		c->churn = c->churn == CHURN_PARTING ? CHURN_OUT : CHURN_IN;
	} else if (c->bcc_sent_ns && memmem(b, n, "<rpl id=\"rpl:bccontext\"", 23)) {
		hist_add(&e->st.bcc, now - c->bcc_sent_ns);
		c->bcc_sent_ns = 0;
		e->st.bcc_done++;
		if (memmem(b, n, "<resp code=\"200\"", 16) == NULL)
			e->st.failures++;
	}
}

static void bc_on_response(struct beng *e, struct bclient *c, const struct sip_msg *m)
{
	const struct sip_str *cs = sip_msg_header(m, "CSeq", 0);
	struct sip_str method;
	uint32_t num = 0;

	if (cs == NULL || sip_cseq_parse(*cs, &num, &method) < 0) {
		bc_close(e, c, "response without CSeq", 1);
		return;
	}
	if (sip_str_eq(method, "REGISTER")) {
		if (c->state >= BC_REG1 && c->state <= BC_REG3 && num == c->reg_cseq)
			bc_on_register_reply(e, c, m);
		return;
	}
	if (sip_str_eq(method, "INVITE")) {
		struct sip_str tag;

		if (c->state != BC_INVITE)
			return;
		if (m->status != 200) {
			bc_close(e, c, "INVITE refused", 1);
			return;
		}
		bc_check_sig(e, c, m);
		tag = sip_header_param(*sip_msg_header(m, "To", 't'), "tag");
		snprintf(c->remote_tag, sizeof c->remote_tag, "%.*s", (int)tag.len, tag.p);
		if (bc_in_dialog(e, c, "ACK", 1, NULL, 0) < 0) {
			bc_close(e, c, "cannot queue ACK", 1);
			return;
		}
		c->state = BC_JOIN;
		bc_join_next(e, c);
		return;
	}
	if (!sip_str_eq(method, "INFO"))
		return;
	if (num == c->join_cseq || num == c->bcc_cseq || num == c->churn_cseq) {
		if (m->status != 200)
			bc_close(e, c, "command INFO refused", 1);
		return;
	}
	/* A post's answer: 200 once it is committed. */
	if (c->in_flight) {
		c->in_flight--;
		e->in_flight--;
	}
	if (m->status == 200)
		e->st.posts_ok++;
	else
		e->st.posts_failed++;
	if (e->posting && c->in_flight < e->window)
		beng_post(e, c->idx);
}

/* As a front end: the user a message from the server is for, by the
 * "u<index>." its Call-ID starts with; NULL when it names none. */
static struct bclient *bc_fe_user(struct beng *e, const struct sip_msg *m)
{
	const struct sip_str *id = sip_msg_header(m, "Call-ID", 'i');
	size_t idx = 0, k = 1;

	if (id == NULL || id->len < 3 || id->p[0] != 'u')
		return NULL;
	while (k < id->len && k < 12 && id->p[k] >= '0' && id->p[k] <= '9')
		idx = idx * 10 + (size_t)(id->p[k++] - '0');
	if (k == 1 || k >= id->len || id->p[k] != '.' || idx >= e->n)
		return NULL;
	return &e->c[idx];
}

/* Messages on c's connection; as a front end each goes to its user. */
static void bc_handle_input(struct beng *e, struct bclient *c, int64_t now)
{
	while (c->state != BC_DEAD && c->in.len > 0) {
		const char *p = (const char *)buf_head(&c->in);
		size_t skip = sip_skip_crlf(p, c->in.len);
		struct bclient *u;
		long used;

		if (skip) {
			buf_consume(&c->in, skip);
			continue;
		}
		used = sip_msg_parse(&bc_msg, p, c->in.len, &bc_limits, "SIP/");
		if (used == 0)
			return;
		if (used < 0) {
			bc_close(e, c, "unparsable message from the server", 1);
			return;
		}
		u = e->mode == BC_MODE_FRONTEND ? bc_fe_user(e, &bc_msg) : c;
		if (u == NULL) {
			/* Not one of ours: a request still gets its 200 (on the front
			 * end's connection), a response is dropped. */
			if (bc_msg.kind != SIP_RESPONSE)
				bc_answer(e, c, &bc_msg);
		} else if (bc_msg.kind == SIP_RESPONSE) {
			bc_on_response(e, u, &bc_msg);
		} else {
			if (e->ack_infos || !sip_str_eq(bc_msg.method, "INFO"))
				bc_answer(e, u, &bc_msg);
			if (sip_str_eq(bc_msg.method, "INFO"))
				bc_on_server_info(e, u, &bc_msg, now);
		}
		if (c->state != BC_DEAD)
			buf_consume(&c->in, (size_t)used);
	}
}

static void bc_readable(struct beng *e, struct bclient *c)
{
	static unsigned char scratch[16384 + 512];

	for (;;) {
		int r;

		if (bc_chatty(e)) {
			if (buf_reserve(&c->in, 16384) < 0) {
				bc_close(e, c, "input over the cap", 1);
				return;
			}
			/* One call returns at most one record's plaintext. */
			r = mbedtls_ssl_read(&c->ssl, buf_tail(&c->in), 16384);
			if (r > 0) {
				buf_commit(&c->in, (size_t)r);
				e->st.tls_records++;
				e->st.tls_bytes += (uint64_t)r;
				/* A front end's one connection may never run dry: handle
				 * what arrived as it arrives, not after the last record. */
				if (e->mode == BC_MODE_FRONTEND && c->in.len >= 65536) {
					bc_handle_input(e, c, bench_now_ns());
					if (c->state == BC_DEAD)
						return;
				}
			}
		} else {
			r = mbedtls_ssl_read(&c->ssl, scratch, sizeof scratch);
			if (r > 0)
				e->st.sink_bytes += (uint64_t)r;
		}
		if (r > 0)
			continue;
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			break;
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
			bc_watch(e, c, EPOLLIN | EPOLLOUT);
			break;
		}
		bc_close(e, c, r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? "server closed" : "TLS read failed",
		         c->state != BC_READY || bc_chatty(e));
		return;
	}
	if (e->lean && c->ra_pos == c->ra_len) {
		free(c->ra);
		c->ra = NULL;
		c->ra_len = c->ra_pos = 0;
	}
	if (bc_chatty(e))
		bc_handle_input(e, c, bench_now_ns());
}

static void bc_handshake(struct beng *e, struct bclient *c)
{
	int r = mbedtls_ssl_handshake(&c->ssl);

	if (r == MBEDTLS_ERR_SSL_WANT_READ) {
		bc_watch(e, c, EPOLLIN);
		return;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		bc_watch(e, c, EPOLLIN | EPOLLOUT);
		return;
	}
	if (r != 0) {
		bc_close(e, c, "TLS handshake failed", 1);
		return;
	}
	e->st.handshakes++;
	if (e->suite == 0)
		e->suite = mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&c->ssl));
	bc_watch(e, c, EPOLLIN);
	if (!bc_chatty(e)) {
		bc_set_ready(e, c);
		if (e->close_after_handshake)
			bc_close(e, c, "done", 0);
		return;
	}
	if (e->mode == BC_MODE_FRONTEND) {
		struct sockaddr_in me;
		socklen_t len = sizeof me;

		/* Where the server's INFOs would come if this connection were gone
		 * (it is where they come now: the server reuses the connection). */
		if (getsockname(c->fd, (struct sockaddr *)&me, &len) < 0)
			me.sin_port = 0;
		snprintf(e->fe_record_route, sizeof e->fe_record_route,
		         "Record-Route: <sip:127.0.0.1:%u;transport=tls;lr>\r\n", (unsigned)ntohs(me.sin_port));
		bc_invite(e, c);
		return;
	}
	c->state = BC_REG1;
	bc_hex(e, c->reg_call_id, 8);
	if (bc_register(e, c, NULL, NULL, 0) < 0)
		bc_close(e, c, "cannot queue REGISTER", 1);
}

static void bc_connected(struct beng *e, struct bclient *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		bc_close(e, c, "connect failed", 1);
		return;
	}
	mbedtls_ssl_init(&c->ssl);
	c->ssl_live = 1;
	if (mbedtls_ssl_setup(&c->ssl, &e->conf) != 0) {
		bc_close(e, c, "mbedtls_ssl_setup failed", 1);
		return;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bc_bio_send, bc_bio_recv, NULL);
	c->state = BC_HANDSHAKE;
	bc_handshake(e, c);
}

static void bc_io(struct beng *e, struct bclient *c, unsigned events)
{
	switch (c->state) {
	case BC_CONNECTING:
		bc_connected(e, c);
		return;
	case BC_HANDSHAKE:
		bc_handshake(e, c);
		return;
	case BC_IDLE:
	case BC_DEAD:
		return;
	default:
		break;
	}
	if (c->muted) {
		/* The server's close seldom shows: its FIN waits behind the
		 * bytes this client never reads.  The server's log counts. */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			bc_close(e, c, "muted, closed by the server", 0);
		return;
	}
	if ((events & EPOLLOUT) && c->out.len > 0)
		bc_flush(e, c);
	if (c->state != BC_DEAD && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		bc_readable(e, c);
}

void beng_mute(struct beng *e, size_t i)
{
	struct bclient *c = &e->c[i];

	if (c->state != BC_READY || c->muted)
		return;
	c->muted = 1;
	e->in_flight -= c->in_flight;   /* its answers will never be read */
	c->in_flight = 0;
	bc_watch(e, c, 0);
}

static int bc_connect(struct beng *e, struct bclient *c)
{
	struct sockaddr_in sin;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPING, &(int){ SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE },
	           sizeof(int));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(e->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->state = BC_CONNECTING;
	e->in_progress++;
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS) {
		bc_close(e, c, "connect failed", 1);
		return -1;
	}
	bc_watch(e, c, EPOLLOUT);
	return 0;
}

/* ---- the engine ---- */

int beng_init(struct beng *e, enum bc_mode mode, uint16_t port, size_t n)
{
	static const char pers[] = "pchat-bench";

	memset(e, 0, sizeof *e);
	e->live = 1;
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	e->port = port;
	e->mode = mode;
	e->n = n;
	e->domain = "example.org";
	e->window = 1;
	e->ack_infos = 1;
	e->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)bench_now_ns();
	{
		struct timespec real;

		clock_gettime(CLOCK_REALTIME, &real);
		bc_real_minus_mono_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - bench_now_ns();
	}
	mbedtls_entropy_init(&e->entropy);
	mbedtls_ctr_drbg_init(&e->drbg);
	mbedtls_ssl_config_init(&e->conf);
	mbedtls_x509_crt_init(&e->fe_crt);
	mbedtls_pk_init(&e->fe_key);
	e->c = calloc(n ? n : 1, sizeof *e->c);
	e->dirty = calloc(n ? n : 1, sizeof *e->dirty);
	if (e->ep < 0 || e->c == NULL || e->dirty == NULL ||
	    mbedtls_ctr_drbg_seed(&e->drbg, mbedtls_entropy_func, &e->entropy, (const unsigned char *)pers,
	                          sizeof pers - 1) != 0 ||
	    mbedtls_ssl_config_defaults(&e->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
	    auth_nt_hash("pw", 2, e->nt_hash) != AUTH_OK)
		return -1;
	/* Like tclient: trust what the server presents.  The curves are pchat's. */
	mbedtls_ssl_conf_authmode(&e->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&e->conf, mbedtls_ctr_drbg_random, &e->drbg);
	mbedtls_ssl_conf_curves(&e->conf, bc_curves);
	for (size_t i = 0; i < n; i++) {
		struct bclient *c = &e->c[i];

		c->idx = i;
		c->fd = -1;
		c->state = BC_IDLE;
		/* A front end's one connection carries everyone's traffic. */
		buf_init(&c->in, mode == BC_MODE_FRONTEND && i == 0 ? 256u << 20 : 16u << 20);
		buf_init(&c->out, mode == BC_MODE_FRONTEND && i == 0 ? 256u << 20 : 16u << 20);
		snprintf(c->aor, sizeof c->aor, "sip:u%05zu@%s", i, e->domain);
	}
	return 0;
}

void beng_free(struct beng *e)
{
	if (!e->live)
		return;     /* never set up, or already freed */
	if (e->c) {
		for (size_t i = 0; i < e->n; i++) {
			bc_close(e, &e->c[i], "end", 0);
			free(e->c[i].rooms);
		}
	}
	free(e->c);
	free(e->dirty);
	free(e->sample);
	mbedtls_ssl_config_free(&e->conf);
	mbedtls_x509_crt_free(&e->fe_crt);
	mbedtls_pk_free(&e->fe_key);
	mbedtls_ctr_drbg_free(&e->drbg);
	mbedtls_entropy_free(&e->entropy);
	if (e->ep >= 0)
		close(e->ep);
	memset(e, 0, sizeof *e);
}

int beng_client_cert(struct beng *e, const char *crt_path, const char *key_path)
{
	if (mbedtls_x509_crt_parse_file(&e->fe_crt, crt_path) != 0 ||
	    mbedtls_pk_parse_keyfile(&e->fe_key, key_path, NULL) != 0 ||
	    mbedtls_ssl_conf_own_cert(&e->conf, &e->fe_crt, &e->fe_key) != 0)
		return -1;
	return 0;
}

int beng_assign(struct beng *e, size_t i, size_t room)
{
	struct bclient *c = &e->c[i];
	uint32_t *p = realloc(c->rooms, (c->nrooms + 1) * sizeof *p);

	if (p == NULL)
		return -1;
	c->rooms = p;
	c->rooms[c->nrooms++] = (uint32_t)room;
	return 0;
}

size_t beng_start(struct beng *e, size_t more, size_t max_in_progress)
{
	size_t done = 0;

	while (done < more && e->started < e->n && e->in_progress < max_in_progress) {
		struct bclient *c = &e->c[e->started];

		if (e->mode == BC_MODE_FRONTEND && e->started > 0) {
			/* Users 1.. open their dialogs once client 0's connection is
			 * up, or never if it failed. */
			if (e->c[0].state < BC_INVITE)
				break;
			e->started++;
			done++;
			if (e->c[0].state == BC_DEAD) {
				c->state = BC_DEAD;
				e->dead++;
				continue;
			}
			e->in_progress++;
			bc_invite(e, c);
			continue;
		}
		e->started++;
		bc_connect(e, c);
		done++;
	}
	return done;
}

static void bc_flush_dirty(struct beng *e)
{
	for (size_t i = 0; i < e->ndirty; i++) {
		struct bclient *c = e->dirty[i];

		c->dirty = 0;
		if (c->state != BC_DEAD && c->state >= BC_REG1)
			bc_flush(e, c);
	}
	e->ndirty = 0;
}

void beng_poll(struct beng *e, int timeout_ms)
{
	struct epoll_event ev[BC_MAX_EVENTS];
	int n;

	bc_flush_dirty(e);      /* what the caller queued since the last pass */
	n = epoll_wait(e->ep, ev, BC_MAX_EVENTS, timeout_ms);
	for (int i = 0; i < n; i++)
		bc_io(e, ev[i].data.ptr, ev[i].events);
	bc_flush_dirty(e);
}

int beng_post(struct beng *e, size_t i)
{
	struct bclient *c = &e->c[i];
	char body[2048], pad[1024];
	size_t room;
	int n, padn = e->text_pad < (int)sizeof pad ? e->text_pad : (int)sizeof pad - 1;

	if (c->state != BC_READY || c->nrooms == 0 || c->muted)
		return -1;
	memset(pad, 'x', (size_t)padn);
	pad[padn] = '\0';
	room = c->rooms[c->next_post++ % c->nrooms];
	n = snprintf(body, sizeof body,
	             "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"urn:parlano:xml:ns:xccos\"><grpchat id=\"grpchat\" seqid=\"1\" "
	             "chanUri=\"ma-chan://%s/%s\" author=\"%s\" ts=\"2024-01-01T00:00:00Z\"><chat>bench t=%lld a=%zu s=%u%s"
	             "</chat></grpchat></xccos>",
	             (unsigned long long)++e->envid, e->domain, e->room_guid[room], c->aor, (long long)bench_now_ns(),
	             c->idx, ++c->post_seq, pad);
	if (n < 0 || (size_t)n >= sizeof body || bc_in_dialog(e, c, "INFO", ++c->cseq, body, (size_t)n) < 0)
		return -1;
	c->in_flight++;
	e->in_flight++;
	e->st.posts_sent++;
	return 0;
}

int beng_bccontext(struct beng *e, size_t i, int cnt, const char *words)
{
	struct bclient *c = &e->c[i];
	char body[768], form[256];
	int n;

	if (c->state != BC_READY || c->nrooms == 0)
		return -1;
	n = words ? snprintf(form, sizeof form, "<search cnt=\"%d\">%s</search>", cnt, words)
	          : snprintf(form, sizeof form, "<last cnt=\"%d\"/>", cnt);
	if (n < 0 || (size_t)n >= sizeof form)
		return -1;
	n = snprintf(body, sizeof body,
	             "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"urn:parlano:xml:ns:xccos\"><cmd id=\"cmd:bccontext\" seqid=\"1\">"
	             "<data><chanib uri=\"ma-chan://%s/%s\"/><bcq>%s</bcq></data></cmd></xccos>",
	             (unsigned long long)++e->envid, e->domain, e->room_guid[c->rooms[0]], form);
	if (n < 0 || (size_t)n >= sizeof body)
		return -1;
	c->bcc_cseq = ++c->cseq;
	c->bcc_sent_ns = bench_now_ns();
	return bc_in_dialog(e, c, "INFO", c->bcc_cseq, body, (size_t)n);
}

int beng_churn(struct beng *e, size_t i)
{
	struct bclient *c = &e->c[i];
	char body[512];
	int n, parting;

	if (c->state != BC_READY || c->nrooms == 0 || (c->churn != CHURN_IN && c->churn != CHURN_OUT))
		return -1;
	parting = c->churn == CHURN_IN;
	if ((n = bc_room_cmd(e, !parting, c->rooms[0], body, sizeof body)) < 0)
		return -1;
	c->churn_cseq = ++c->cseq;
	c->churn_sent_ns = bench_now_ns();
	if (bc_in_dialog(e, c, "INFO", c->churn_cseq, body, (size_t)n) < 0)
		return -1;
	c->churn = parting ? CHURN_PARTING : CHURN_JOINING;
	return 0;
}

void beng_broadcast(struct beng *e, const char *text)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->c[i].state == BC_READY)
			bc_queue(e, &e->c[i], text, strlen(text));
}

uint64_t beng_in_flight(const struct beng *e)
{
	return e->in_flight;
}

void beng_close_all(struct beng *e)
{
	for (size_t i = 0; i < e->n; i++)
		bc_close(e, &e->c[i], "end", 0);
}

void beng_reset_stats(struct beng *e)
{
	memset(&e->st, 0, sizeof e->st);
}
