/*
 * tchat.c - chat helpers for the end-to-end tests (tchat.h).
 */
#include "tchat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

static const struct tserver *srv;
static unsigned envid = 1000;

void tchat_use(const struct tserver *s)
{
	srv = s;
}

long tchat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int tchat_has(const struct buf *b, const char *needle)
{
	return b->len && memmem(buf_head(b), b->len, needle, strlen(needle)) != NULL;
}

long tchat_count_of(const struct buf *b, const char *needle)
{
	long n = 0;
	const unsigned char *p = buf_head(b), *end = p + b->len;
	size_t nl = strlen(needle);

	while ((p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

int tchat_log_count(const char *needle)
{
	static char text[8 << 20];
	FILE *f = fopen(srv->log, "r");
	size_t n;
	int count = 0;

	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	for (char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		count++;
	return count;
}

/* ---- a signed-in user ---- */

int tchat_open(struct tuser *u, const char *aor)
{
	buf_init(&u->in, 8 << 20);
	return tclient_connect(&u->t, srv->port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200 ? 0 : -1;
}

int tchat_sign_in(struct tuser *u)
{
	char aor[128];

	snprintf(aor, sizeof aor, "sip:%s@example.org", u->name);
	return tchat_open(u, aor);
}

void tchat_sign_out(struct tuser *u)
{
	tclient_close(&u->t);
	buf_free(&u->in);
}

int tchat_wait_for(struct tuser *u, const char *needle, int ms)
{
	long deadline = tchat_now_ms() + ms;

	while (!tchat_has(&u->in, needle)) {
		long left = deadline - tchat_now_ms();

		if (left <= 0 || tclient_wait_info(&u->t, &u->d, &u->in, (int)(left > 1000 ? 1000 : left)) < 0)
			return tchat_has(&u->in, needle);
	}
	return 1;
}

void tchat_clear(struct tuser *u)
{
	buf_consume(&u->in, u->in.len);
}

/* ---- XCCOS ---- */

#define INNER_MAX 70000

int tchat_send(struct tuser *u, const char *want, const char *inner)
{
	static char body[INNER_MAX + 200];
	int status;

	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">%s</xccos>",
	         ++envid, inner);
	tchat_clear(u);
	status = tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in);
	if (status == 200 && want)
		tchat_wait_for(u, want, 5000);
	return status;
}

int tchat_xccos_want(struct tuser *u, const char *want, const char *fmt, ...)
{
	static char inner[INNER_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	return tchat_send(u, want, inner);
}

int tchat_xccos(struct tuser *u, const char *fmt, ...)
{
	static char inner[INNER_MAX];
	char want[80], *want_p = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	if (strncmp(inner, "<cmd id=\"cmd:", 13) == 0) {
		const char *name = inner + 13;

		snprintf(want, sizeof want, "<rpl id=\"rpl:%.*s\"", (int)strcspn(name, "\""), name);
		want_p = want;
	}
	return tchat_send(u, want_p, inner);
}

int tchat_join(struct tuser *u, const char *guid)
{
	tchat_xccos(u, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	            "</data></cmd>", guid);
	return tchat_has(&u->in, "<resp code=\"200\"") ? 200 : -1;
}

int tchat_post(struct tuser *u, const char *guid, const char *text)
{
	return tchat_xccos(u, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" "
	                   "author=\"sip:%s@example.org\" ts=\"2024-01-01T00:00:00Z\"><chat>%s</chat></grpchat>",
	                   guid, u->name, text);
}

/* ---- the CLI and the store ---- */

char *tchat_cli(const char *first, ...)
{
	static char out[8192];
	const char *a[10] = { first };
	va_list ap;
	int n = 1;

	va_start(ap, first);
	while (n < 10 && (a[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	if (tserver_cli(srv, NULL, out, sizeof out, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
	                NULL) != 0)
		return NULL;
	out[strcspn(out, "\n")] = '\0';
	return out;
}

void tchat_guid_of(const char *uri, char *out)
{
	const char *slash = uri ? strrchr(uri, '/') : NULL;

	snprintf(out, 40, "%s", slash ? slash + 1 : "none");
}

long tchat_sql_count(const char *query)
{
	char cmd[1024];
	FILE *p;
	long n = -1;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv->dir, query);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

long tchat_sql_countf(const char *fmt, ...)
{
	char query[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(query, sizeof query, fmt, ap);
	va_end(ap);
	return tchat_sql_count(query);
}

int tchat_sql_exec(const char *sql)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv->dir, sql);
	return system(cmd);
}

/* ---- files ---- */

void tchat_fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

void tchat_sha_hex(const void *p, size_t n, char out[65])
{
	unsigned char d[32];

	mbedtls_sha256_ret(p, n, d, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The value of attr="..." in the len bytes at h, into out (cap bytes). */
static int attr_in(const unsigned char *h, size_t len, const char *attr, char *out, size_t cap)
{
	char fmt[16];
	const unsigned char *p = memmem(h, len, attr, strlen(attr));

	snprintf(fmt, sizeof fmt, "%%%zu[^\"]", cap - 1);
	return p != NULL && sscanf((const char *)p + strlen(attr), fmt, out) == 1 ? 0 : -1;
}

int tchat_get_token(struct tuser *u, int upload, const char *guid, const char *name_xml, struct ttoken *tk)
{
	const unsigned char *h, *p;
	const char *colon;
	size_t left;
	int code = -1;

	memset(tk, 0, sizeof *tk);
	tchat_xccos_want(u, "<rpl id=\"rpl:getftok\"", "<cmd id=\"cmd:getf%ctok\" seqid=\"1\"><data><ftdb "
	                 "channelUri=\"ma-chan://example.org/%s\" fileUrl=\"%s\"/></data></cmd>",
	                 upload ? 'u' : 'd', guid, name_xml);
	h = memmem(buf_head(&u->in), u->in.len, "<rpl id=\"rpl:getftok\"", 21);
	if (h == NULL)
		return -1;
	left = u->in.len - (size_t)(h - buf_head(&u->in));
	p = memmem(h, left, "<resp code=\"", 12);
	if (p == NULL || sscanf((const char *)p + 12, "%d", &code) != 1)
		return -1;
	if (code != 200)
		return code;
	if (attr_in(h, left, "token=\"", tk->token, sizeof tk->token) < 0 ||
	    attr_in(h, left, "serveruri=\"", tk->url, sizeof tk->url) < 0)
		return -1;
	colon = strrchr(tk->url, ':');
	tk->port = colon ? (uint16_t)atoi(colon + 1) : 0;
	return code;
}

int thttp_open(struct thttp *h, uint16_t port)
{
	memset(h, 0, sizeof *h);
	h->status = -1;
	buf_init(&h->raw, 48u << 20);
	return tclient_connect(&h->t, port);
}

void thttp_close(struct thttp *h)
{
	tclient_close(&h->t);
	buf_free(&h->raw);
}

int thttp_read(struct thttp *h, int timeout_ms)
{
	long deadline = tchat_now_ms() + timeout_ms;
	static struct sip_msg m;
	struct sip_limits lim = { 1 << 20, SIP_HEADERS_CAP, 64u << 20 };

	for (;;) {
		long left = deadline - tchat_now_ms();
		int r;

		if (left <= 0 || buf_reserve(&h->raw, 65536) < 0)
			break;
		mbedtls_ssl_conf_read_timeout(&h->t.conf, (uint32_t)left);
		r = mbedtls_ssl_read(&h->t.ssl, buf_tail(&h->raw), 65536);
		if (r > 0)
			buf_commit(&h->raw, (size_t)r);
		else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;      /* closed, reset or timed out */
	}
	h->status = -1;
	if (sip_msg_parse(&m, (const char *)buf_head(&h->raw), h->raw.len, &lim, "HTTP/") > 0 && m.kind == SIP_RESPONSE) {
		h->status = m.status;
		h->body = (const unsigned char *)m.body.p;
		h->body_len = m.body.len;
		snprintf(h->head, sizeof h->head, "%.*s", (int)m.header_bytes, (const char *)buf_head(&h->raw));
	}
	return h->status;
}

int thttp_do(struct thttp *h, uint16_t port, const char *head, const void *body, size_t blen)
{
	if (thttp_open(h, port) < 0 || tclient_send(&h->t, head, strlen(head)) < 0 ||
	    (blen && tclient_send(&h->t, body, blen) < 0))
		return -1;
	return thttp_read(h, 20000);
}

int thttp_put_file(const struct ttoken *tk, const void *data, size_t len, struct thttp *h)
{
	char head[512];

	snprintf(head, sizeof head, "PUT /files/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: %zu\r\n"
	         "Content-Type: application/octet-stream\r\n\r\n", tk->token, tk->port, len);
	return thttp_do(h, tk->port, head, data, len);
}

int thttp_get_file(const struct ttoken *tk, struct thttp *h)
{
	char head[512];

	snprintf(head, sizeof head, "GET /files/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", tk->token, tk->port);
	return thttp_do(h, tk->port, head, NULL, 0);
}
