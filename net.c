/*
 * net.c - see net.h.  mbedTLS runs non-blocking: WANT_READ/WANT_WRITE from
 * any call just means "wait for the socket", and a write that asked to be
 * repeated is repeated with exactly the same length (out_pinned), because
 * mbedTLS has already encrypted that record.  Output is queued per
 * connection during a pass and written once in net_before_sleep, so a
 * fan-out to many members costs one record per connection, not one per
 * message.
 */
#include "net.h"
#include "base.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/sha256.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/x509_crt.h>

#define NET_MAX_LISTENERS 4
#define NET_READ_CHUNK 16384
#define NET_RX_CHUNK (16384 + 2048)         /* one recv: a whole TLS record and its overhead */
#define NET_WRITE_PER_PASS (256 * 1024)     /* fairness: bytes per connection per pass */
#define NET_ACCEPT_PER_EVENT 64

struct net_listener {
	int fd;
	uint16_t port;
	const struct net_handlers *handlers;
	struct net *net;
	struct net_tls *tls;        /* its own config (mutual TLS), or NULL: n->tls */
	size_t max_output_bytes;    /* 0: the limits' */
};

/* One certificate, its key and the mbedTLS config that serves them.  An
 * mbedtls_ssl_context keeps a pointer to its config for its whole life (the
 * record layer reads it after the handshake too), so every connection holds
 * a reference to the bundle it was set up with.  A reload builds a new bundle
 * for new connections; the old one is freed when its last connection closes. */
struct net_tls {
	unsigned refs;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_x509_crt ca;        /* client certificates must chain to it (mutual TLS) */
	char fingerprint[65];
};

struct net {
	struct loop *loop;
	struct net_limits lim;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	struct net_tls *tls;        /* what new connections are set up with; one reference */
	struct net_listener listeners[NET_MAX_LISTENERS];
	size_t nlisteners;
	struct conn *conns;         /* every live connection */
	size_t nconns;
	size_t ndead;               /* of them, CONN_DEAD ones net_reap has yet to free */
	struct conn **flush;        /* connections with output queued this pass */
	size_t nflush, flush_cap;
	uint64_t next_id;
	int64_t sweep_timer;
	int64_t reread_timer;       /* pending net_reread, or 0 */
	/* mbedTLS decrypts into this, and only the bytes that came are copied
	 * to the connection's input: a connection's buffer then holds its
	 * messages, not a full record's worth of room (16 KiB each, times every
	 * signed-in client).  One loop thread reads, so one scratch serves all. */
	unsigned char read_scratch[NET_READ_CHUNK];
	/* recv reads into this; what mbedTLS did not ask for yet moves to the
	 * connection's rx. */
	unsigned char rx_scratch[NET_RX_CHUNK];
};

/* TLS 1.2 curves, pinned: the library default starts with P-521, which
 * halves handshake throughput (design.md, measured). */
static const mbedtls_ecp_group_id net_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

static void net_tls_error(char *err, size_t errlen, const char *what, int rc)
{
	char msg[128];

	mbedtls_strerror(rc, msg, sizeof msg);
	snprintf(err, errlen, "%s: %s (-0x%04x)", what, msg, (unsigned)-rc);
}

int net_random(struct net *n, void *out, size_t len)
{
	return mbedtls_ctr_drbg_random(&n->drbg, out, len) == 0 ? 0 : -1;
}

const char *net_cert_fingerprint(const struct net *n) { return n->tls->fingerprint; }

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Write data to path, created with mode (never over an existing file). */
static int write_new_file(const char *path, const unsigned char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		done += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

static void format_x509_time(time_t t, char out[15])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}


/* Generate a self-signed ECDSA P-256 certificate valid for ten years. */
static int net_generate_cert(struct net *n, const char *cert_path, const char *key_path,
                             const char *cn, char *err, size_t errlen)
{
	mbedtls_pk_context pk;
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char pem[4096], serial_bytes[16];
	char subject[300], from[15], to[15];
	time_t now = time(NULL);
	int rc = -1, r;

	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	if ((r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
	                             mbedtls_ctr_drbg_random, &n->drbg)) != 0) {
		net_tls_error(err, errlen, "generate key", r);
		goto out;
	}
	snprintf(subject, sizeof subject, "CN=%s,O=pchat", cn);
	format_x509_time(now - 86400, from);
	format_x509_time(now + 3650L * 86400, to);
	if (net_random(n, serial_bytes, sizeof serial_bytes) < 0)
		goto out;
	serial_bytes[0] &= 0x7f;    /* positive */
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, &pk);
	if ((r = mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof serial_bytes)) != 0 ||
	    (r = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
	    (r = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
	    (r = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
	    (r = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0 ||
	    (r = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0) {
		net_tls_error(err, errlen, "certificate fields", r);
		goto out;
	}
	if ((r = mbedtls_pk_write_key_pem(&pk, pem, sizeof pem)) != 0) {
		net_tls_error(err, errlen, "write key", r);
		goto out;
	}
	if (write_new_file(key_path, pem, strlen((char *)pem), 0600) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", key_path, strerror(errno));
		goto out;
	}
	if ((r = mbedtls_x509write_crt_pem(&crt, pem, sizeof pem, mbedtls_ctr_drbg_random, &n->drbg)) != 0) {
		net_tls_error(err, errlen, "write certificate", r);
		unlink(key_path);
		goto out;
	}
	if (write_new_file(cert_path, pem, strlen((char *)pem), 0644) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", cert_path, strerror(errno));
		unlink(key_path);
		goto out;
	}
	log_info("event=cert-generated cert=%s key=%s cn=%s", cert_path, key_path, cn);
	rc = 0;
out:
	mbedtls_platform_zeroize(pem, sizeof pem);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	return rc;
}

static void net_fingerprint(const mbedtls_x509_crt *crt, char out[65])
{
	unsigned char digest[32];

	mbedtls_sha256_ret(crt->raw.p, crt->raw.len, digest, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* Seconds since 1970 of an X.509 time (always UTC). */
static time_t x509_time_utc(const mbedtls_x509_time *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return timegm(&tm);
}

/* Parse cert_path and key_path into crt and pk and check that they belong
 * together.  Returns 0, or NET_CERT_MISMATCH or -1 with err naming the file
 * and the reason. */
static int net_parse_pair(const char *cert_path, const char *key_path, mbedtls_x509_crt *crt,
                          mbedtls_pk_context *pk, char *err, size_t errlen)
{
	int r;

	if ((r = mbedtls_x509_crt_parse_file(crt, cert_path)) != 0) {
		net_tls_error(err, errlen, cert_path, r);
		return -1;
	}
	if ((r = mbedtls_pk_parse_keyfile(pk, key_path, NULL)) != 0) {
		net_tls_error(err, errlen, key_path, r);
		return -1;
	}
	if ((r = mbedtls_pk_check_pair(&crt->pk, pk)) != 0) {
		net_tls_error(err, errlen, "certificate and key do not match", r);
		return NET_CERT_MISMATCH;
	}
	return 0;
}

int net_cert_inspect(const char *cert_path, const char *key_path, struct net_cert_info *info,
                     char *err, size_t errlen)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	time_t now = time(NULL), from, to;
	struct tm tm;
	int rc = -1;

	memset(info, 0, sizeof *info);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if ((rc = net_parse_pair(cert_path, key_path, &crt, &pk, err, errlen)) < 0)
		goto out;
	net_fingerprint(&crt, info->fingerprint);
	if (mbedtls_x509_dn_gets(info->subject, sizeof info->subject, &crt.subject) < 0)
		snprintf(info->subject, sizeof info->subject, "?");
	from = x509_time_utc(&crt.valid_from);
	to = x509_time_utc(&crt.valid_to);
	gmtime_r(&to, &tm);
	strftime(info->not_after, sizeof info->not_after, "%Y-%m-%d %H:%M:%S UTC", &tm);
	info->not_yet_valid = now < from;
	info->expired = now > to;
	/* Whole days left, rounded down; -1 and below once it has expired. */
	info->days_left = (long)((to - now) / 86400) - (to < now ? 1 : 0);
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

static void net_tls_free(struct net_tls *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_pk_free(&t->key);
	mbedtls_x509_crt_free(&t->cert);
	mbedtls_x509_crt_free(&t->ca);
	free(t);
}

/* Drop one reference; the last one frees the bundle. */
static void net_tls_release(struct net_tls *t)
{
	if (t != NULL && --t->refs == 0) {
		log_debug("event=tls-config-freed sha256=%s", t->fingerprint);
		net_tls_free(t);
	}
}

/* Load a certificate and key into a new bundle with one reference, ready for
 * mbedtls_ssl_setup.  Returns NULL with err set on failure. */
static struct net_tls *net_tls_new(struct net *n, const char *cert_path, const char *key_path,
                                   int endpoint, char *err, size_t errlen)
{
	struct net_tls *t = calloc(1, sizeof *t);
	int r;

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->refs = 1;
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->cert);
	mbedtls_pk_init(&t->key);
	mbedtls_x509_crt_init(&t->ca);
	if (net_parse_pair(cert_path, key_path, &t->cert, &t->key, err, errlen) < 0)
		goto fail;
	net_fingerprint(&t->cert, t->fingerprint);
	if ((r = mbedtls_ssl_config_defaults(&t->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                     MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		net_tls_error(err, errlen, "TLS defaults", r);
		goto fail;
	}
	/* The library's own suite order is kept: it is the server's preference
	 * (MBEDTLS_SSL_SRV_RESPECT_CLIENT_PREFERENCE is off in Debian's build)
	 * and starts with ChaCha20-Poly1305, the fast choice where AES has no
	 * hardware help (a Raspberry Pi) and, in this mbedTLS, on x86 too. */
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &n->drbg);
	mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_curves(&t->conf, net_curves);
	if ((r = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key)) != 0) {
		net_tls_error(err, errlen, "TLS certificate", r);
		goto fail;
	}
	return t;
fail:
	net_tls_free(t);
	return NULL;
}

/* A certificate outside its validity period is still served (refusing to
 * start helps nobody), but the log says so at every load. */
static void net_warn_validity(const char *cert_path, const mbedtls_x509_crt *crt)
{
	time_t now = time(NULL), to = x509_time_utc(&crt->valid_to);

	if (now < x509_time_utc(&crt->valid_from))
		log_warn("event=cert-not-yet-valid cert=%s", cert_path);
	else if (now > to)
		log_warn("event=cert-expired cert=%s reason=\"clients will refuse it; replace it and send SIGHUP\"", cert_path);
	else if (to - now < 30L * 86400)
		log_warn("event=cert-expires-soon cert=%s days_left=%ld", cert_path, (long)((to - now) / 86400));
}

static int64_t net_sweep(struct loop *l, void *arg);

struct net *net_new(struct loop *l, const struct net_limits *lim, const char *cert, const char *key,
                    const char *cn, char *err, size_t errlen)
{
	static const char pers[] = "pchat";
	struct net *n = calloc(1, sizeof *n);
	int r, have_cert = file_exists(cert), have_key = file_exists(key);

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->loop = l;
	n->lim = *lim;
	mbedtls_entropy_init(&n->entropy);
	mbedtls_ctr_drbg_init(&n->drbg);
	if ((r = mbedtls_ctr_drbg_seed(&n->drbg, mbedtls_entropy_func, &n->entropy,
	                               (const unsigned char *)pers, sizeof pers - 1)) != 0) {
		net_tls_error(err, errlen, "seed random generator", r);
		goto fail;
	}
	if (!have_cert && !have_key) {
		if (net_generate_cert(n, cert, key, cn, err, errlen) < 0)
			goto fail;
	} else if (!have_cert || !have_key) {
		snprintf(err, errlen, "%s exists but %s does not: give both or neither (neither generates a self-signed pair)",
		         have_cert ? cert : key, have_cert ? key : cert);
		goto fail;
	}
	if ((n->tls = net_tls_new(n, cert, key, MBEDTLS_SSL_IS_SERVER, err, errlen)) == NULL)
		goto fail;
	log_info("event=cert-loaded cert=%s sha256=%s", cert, n->tls->fingerprint);
	net_warn_validity(cert, &n->tls->cert);
	n->sweep_timer = loop_add_timer(l, 1000, net_sweep, n);
	return n;
fail:
	net_free(n);
	return NULL;
}

int net_reload_cert(struct net *n, const char *cert, const char *key, char *err, size_t errlen)
{
	struct net_tls *t;
	time_t now = time(NULL);

	if (!file_exists(cert) || !file_exists(key)) {
		snprintf(err, errlen, "%s: %s (a pair is generated only at start, when both are missing)",
		         file_exists(cert) ? key : cert, strerror(ENOENT));
		return -1;
	}
	if ((t = net_tls_new(n, cert, key, MBEDTLS_SSL_IS_SERVER, err, errlen)) == NULL)
		return -1;
	/* Swapping in a certificate clients will refuse would take the service
	 * down for every new connection; keep the one that works. */
	if (now > x509_time_utc(&t->cert.valid_to) || now < x509_time_utc(&t->cert.valid_from)) {
		snprintf(err, errlen, "%s is outside its validity period (expired or not yet valid)", cert);
		net_tls_free(t);
		return -1;
	}
	log_info("event=cert-reloaded cert=%s old=%s new=%s%s", cert, n->tls->fingerprint, t->fingerprint,
	         strcmp(n->tls->fingerprint, t->fingerprint) == 0 ? " unchanged=yes" : "");
	net_warn_validity(cert, &t->cert);
	net_tls_release(n->tls);    /* freed now, or when its last connection closes */
	n->tls = t;
	return 0;
}

void net_set_limits(struct net *n, const struct net_limits *lim)
{
	n->lim = *lim;
}

static void conn_free(struct conn *c);

void net_free(struct net *n)
{
	if (n == NULL)
		return;
	net_close_all(n);
	if (n->sweep_timer > 0)
		loop_del_timer(n->loop, n->sweep_timer);
	if (n->reread_timer > 0)
		loop_del_timer(n->loop, n->reread_timer);
	free(n->flush);
	net_tls_release(n->tls);
	mbedtls_ctr_drbg_free(&n->drbg);
	mbedtls_entropy_free(&n->entropy);
	free(n);
}

/* ---- socket I/O for mbedTLS ---- */

static int conn_bio_send(void *ctx, const unsigned char *p, size_t len)
{
	struct conn *c = ctx;
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);

	if (w >= 0)
		return (int)w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* mbedTLS asks for a record's header, then its body, then the next header:
 * read what the socket has in one call and serve those asks from it.  A
 * short read means the socket was empty, so the next ask waits for epoll
 * (level-triggered: it reports whatever arrived since) instead of a recv
 * that would only say EAGAIN. */
static int conn_bio_recv(void *ctx, unsigned char *p, size_t len)
{
	struct conn *c = ctx;
	unsigned char *scratch = c->net->rx_scratch;
	size_t got, give;
	ssize_t r;

	if (c->rx.len > 0) {
		give = c->rx.len < len ? c->rx.len : len;
		memcpy(p, buf_head(&c->rx), give);
		buf_consume(&c->rx, give);
		return (int)give;
	}
	if (c->rx_drained)
		return MBEDTLS_ERR_SSL_WANT_READ;
	r = recv(c->fd, scratch, NET_RX_CHUNK, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			c->rx_drained = errno != EINTR;
			return MBEDTLS_ERR_SSL_WANT_READ;
		}
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
	if (r == 0)
		return 0;       /* EOF, which mbedTLS reports as connection reset */
	got = (size_t)r;
	c->rx_drained = got < NET_RX_CHUNK;
	give = got < len ? got : len;
	memcpy(p, scratch, give);
	if (got > give && buf_append(&c->rx, scratch + give, got - give) < 0)
		return MBEDTLS_ERR_NET_RECV_FAILED;     /* out of memory: rx was empty, so its cap holds a chunk */
	return (int)give;
}

/* ---- connection state ---- */

static const char *conn_state_name(enum conn_state s)
{
	switch (s) {
	case CONN_HANDSHAKE: return "handshake";
	case CONN_OPEN: return "open";
	case CONN_CLOSING: return "closing";
	case CONN_DEAD: return "dead";
	}
	return "?";
}

static void conn_set_state(struct conn *c, enum conn_state s, const char *reason)
{
	if (c->state == s || c->state == CONN_DEAD)
		return;
	log_debug("conn=%llu event=state from=%s to=%s reason=\"%s\"", (unsigned long long)c->id,
	          conn_state_name(c->state), conn_state_name(s), reason);
	if (s == CONN_DEAD || s == CONN_CLOSING)
		log_info("conn=%llu event=%s peer=%s reason=\"%s\"", (unsigned long long)c->id,
		         s == CONN_DEAD ? "close" : "closing", c->peer, reason);
	if (s == CONN_DEAD)
		c->net->ndead++;
	c->state = s;
}

void conn_kill(struct conn *c, const char *reason) { conn_set_state(c, CONN_DEAD, reason); }

void conn_set_authenticated(struct conn *c, int authenticated)
{
	authenticated = authenticated != 0;
	if (c->authenticated == authenticated)
		return;
	c->authenticated = authenticated;
	c->active_ms = loop_now(c->net->loop);
	if (!authenticated)
		c->anonymous_since_ms = c->active_ms;
	log_debug("conn=%llu event=%s", (unsigned long long)c->id, authenticated ? "authenticated" : "anonymous");
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_OPEN || c->state == CONN_HANDSHAKE)
		conn_set_state(c, c->out.len ? CONN_CLOSING : CONN_DEAD, reason);
	if (c->state == CONN_CLOSING && !c->queued_flush) {
		/* make sure the flush pass visits it even with nothing new queued */
		conn_send(c, "", 0);
	}
}

static void conn_queue_flush(struct conn *c)
{
	struct net *n = c->net;

	if (c->queued_flush)
		return;
	if (array_reserve(&n->flush, &n->flush_cap, n->nflush, sizeof *n->flush, 64) < 0) {
		conn_kill(c, "out of memory");
		return;
	}
	n->flush[n->nflush++] = c;
	c->queued_flush = 1;
}

int conn_send(struct conn *c, const void *p, size_t len)
{
	if (c->state == CONN_DEAD)
		return -1;
	if (buf_append(&c->out, p, len) < 0) {
		log_warn("conn=%llu event=output-cap bytes=%zu cap=%zu", (unsigned long long)c->id,
		         c->out.len, c->out.max);
		conn_kill(c, "output queue over its cap (reader too slow)");
		return -1;
	}
	conn_queue_flush(c);
	return 0;
}

int conn_send_at(struct conn *c, size_t pos, const void *p, size_t len)
{
	if (c->state == CONN_DEAD)
		return -1;
	if (buf_insert(&c->out, pos, p, len) < 0) {
		log_warn("conn=%llu event=output-cap bytes=%zu cap=%zu", (unsigned long long)c->id,
		         c->out.len, c->out.max);
		conn_kill(c, "output queue over its cap (reader too slow)");
		return -1;
	}
	conn_queue_flush(c);
	return 0;
}

size_t conn_queued(const struct conn *c) { return c->out.len; }

static void conn_io(struct loop *l, int fd, unsigned events, void *arg);

static void conn_watch(struct conn *c, int want_write)
{
	if (loop_watch(c->net->loop, c->fd, LOOP_READ | (want_write ? LOOP_WRITE : 0), conn_io, c) < 0)
		conn_kill(c, "epoll failed");
}

/* Let a protocol that streams (on_writable) top up a queue that is below half
 * its cap.  queued_flush is held at 1 meanwhile so conn_send does not put c
 * on the flush list again: the caller, conn_flush, writes it right after. */
static void conn_refill(struct conn *c)
{
	int queued = c->queued_flush;

	if (c->handlers->on_writable == NULL || c->state != CONN_OPEN || c->out.len >= c->out.max / 2)
		return;
	c->queued_flush = 1;
	c->handlers->on_writable(c, c->handlers->arg);
	c->queued_flush = queued;
}

/* Write queued output, at most NET_WRITE_PER_PASS bytes. */
static void conn_flush(struct conn *c)
{
	size_t budget = NET_WRITE_PER_PASS;

	if (c->state == CONN_DEAD || c->state == CONN_HANDSHAKE)
		return;
	for (conn_refill(c); c->out.len > 0 && budget > 0; conn_refill(c)) {
		size_t n = c->out_pinned ? c->out_pinned : (c->out.len < NET_READ_CHUNK ? c->out.len : NET_READ_CHUNK);
		int r = mbedtls_ssl_write(&c->ssl, buf_head(&c->out), n);

		if (r > 0) {
			buf_consume(&c->out, (size_t)r);
			c->out_pinned = 0;
			budget = (size_t)r >= budget ? 0 : budget - (size_t)r;
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
			c->out_pinned = n;
			conn_watch(c, 1);
			return;
		}
		conn_kill(c, "write failed");
		return;
	}
	if (c->out.len > 0) {
		conn_watch(c, 1);   /* budget used up; continue when writable */
		return;
	}
	if (c->state == CONN_CLOSING) {
		mbedtls_ssl_close_notify(&c->ssl);
		conn_kill(c, "closed after flush");
		return;
	}
	conn_watch(c, 0);
}

static void conn_handshake(struct conn *c)
{
	int r = mbedtls_ssl_handshake(&c->ssl);

	if (r == 0) {
		c->active_ms = c->anonymous_since_ms = loop_now(c->net->loop);
		conn_set_state(c, CONN_OPEN, "handshake done");
		log_debug("conn=%llu event=tls version=%s suite=%s", (unsigned long long)c->id,
		          mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl));
		conn_watch(c, c->out.len > 0);  /* output queued while connecting (net_connect_mtls) */
		if (c->handlers->on_open)
			c->handlers->on_open(c, c->handlers->arg);
		return;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_READ) {
		conn_watch(c, 0);
	} else if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		conn_watch(c, 1);
	} else {
		char msg[160];

		net_tls_error(msg, sizeof msg, "TLS handshake", r);
		conn_kill(c, msg);
	}
}

/* Read what mbedTLS has into c->in; 1 if bytes arrived, 0 if none, -1 if the
 * connection ended.  Loops until WANT_READ because decrypted records can sit
 * inside mbedTLS while the socket reads as idle. */
static int conn_read(struct conn *c)
{
	int got = 0;

	for (;;) {
		size_t room = c->in.max - c->in.len;
		int r;

		if (room == 0)
			return got;     /* full: the protocol layer decides */
		if (room > sizeof c->net->read_scratch)
			room = sizeof c->net->read_scratch;
		r = mbedtls_ssl_read(&c->ssl, c->net->read_scratch, room);
		if (r > 0) {
			if (buf_append(&c->in, c->net->read_scratch, (size_t)r) < 0) {
				conn_kill(c, "out of memory");
				return -1;
			}
			got = 1;
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			return got;
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
			conn_watch(c, 1);
			return got;
		}
		conn_kill(c, r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == 0 ? "peer closed" : "read failed");
		return -1;
	}
}

static void conn_readable(struct conn *c);

/* Connections whose reading stopped at the round limit, next pass. */
static int64_t net_reread(struct loop *l, void *arg)
{
	struct net *n = arg;

	(void)l;
	n->reread_timer = 0;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (!c->read_deferred)
			continue;
		c->read_deferred = 0;
		if (c->state == CONN_OPEN)
			conn_readable(c);
	}
	return LOOP_NOMORE;
}

/* conn_readable stopped for fairness with decrypted bytes still inside
 * mbedTLS.  The socket may hold nothing more, so epoll would never wake us
 * for them (an upload's last bytes would wait forever): come back on the
 * next pass. */
static void conn_defer_read(struct conn *c)
{
	struct net *n = c->net;

	c->read_deferred = 1;
	if (n->reread_timer <= 0 && (n->reread_timer = loop_add_timer(n->loop, 0, net_reread, n)) < 0) {
		n->reread_timer = 0;
		conn_kill(c, "cannot add a timer");
	}
}

/* Input already off the socket, which epoll therefore will not announce:
 * decrypted bytes inside mbedTLS, or records read ahead into rx. */
static int conn_has_unread(struct conn *c)
{
	return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || c->rx.len > 0;
}

static void conn_readable(struct conn *c)
{
	/* Bounded: each round either consumes input or stops. */
	for (int round = 0; c->state == CONN_OPEN; round++) {
		size_t before;
		int r;

		if (round == 64) {
			if (conn_has_unread(c))
				conn_defer_read(c);
			return;
		}
		r = conn_read(c);
		if (r < 0 || (r == 0 && round > 0))
			return;
		before = c->in.len;
		c->handlers->on_input(c, c->handlers->arg);
		/* Activity is input the protocol took (a request, a keep-alive),
		 * not bytes: a peer trickling a request a byte at a time (or a TLS
		 * record in pieces) stays idle and meets idle_timeout.  Before
		 * sign-in nothing taken counts (keep-alives and OPTIONS cost an
		 * attacker nothing); the protocol marks real sign-in progress. */
		if (c->in.len < before && c->authenticated)
			c->active_ms = loop_now(c->net->loop);
		if (c->in.len == before || !conn_has_unread(c))
			return;
	}
}

static void conn_io(struct loop *l, int fd, unsigned events, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)fd;
	if (c->state == CONN_DEAD)
		return;
	if (events & LOOP_READ)
		c->rx_drained = 0;
	if (c->state == CONN_HANDSHAKE) {
		conn_handshake(c);
		if (c->state != CONN_OPEN)
			return;
	}
	/* Output queued in this pass (queued_flush: an answer, or a fan-out from
	 * another connection's request) waits for before_sleep, which writes it
	 * after the pass's store commit; only older output may go out here. */
	if ((events & LOOP_WRITE) && c->out.len > 0 && !c->queued_flush)
		conn_flush(c);
	/* rx: a resumed handshake's last read may have brought the first request */
	if (((events & LOOP_READ) || c->rx.len > 0) && c->state == CONN_OPEN)
		conn_readable(c);
	else if ((events & LOOP_READ) && c->state == CONN_CLOSING) {
		/* Input is ignored while closing: drop it, or a full buffer would
		 * stop the drain and a peer still sending would keep the socket
		 * readable (a busy loop until the close timeout). */
		buf_consume(&c->in, c->in.len);
		conn_read(c);
	}
}

static void conn_free(struct conn *c)
{
	struct net *n = c->net;

	if (c->handlers->on_close)
		c->handlers->on_close(c, c->handlers->arg);
	loop_unwatch(n->loop, c->fd);
	close(c->fd);
	mbedtls_ssl_free(&c->ssl);
	net_tls_release(c->tls);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->rx);
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	n->nconns--;
	free(c);
}

/* What the caps count when a connection from addr arrives.  Dead
 * connections are leaving (freed at the end of the pass) and count for
 * nothing.  The list is newest first, so the last anonymous connection seen
 * is the oldest. */
struct net_census {
	size_t total, anonymous;                /* in all */
	size_t peer_total, peer_anonymous;      /* from addr */
	struct conn *oldest_anonymous, *oldest_peer_anonymous;
};

static void net_count(const struct net *n, const unsigned char *addr, size_t len, struct net_census *k)
{
	memset(k, 0, sizeof *k);
	for (struct conn *c = n->conns; c; c = c->next) {
		int peer = c->peer_addr_len == len && memcmp(c->peer_addr, addr, len) == 0;

		if (c->state == CONN_DEAD)
			continue;
		k->total++;
		k->peer_total += peer;
		if (c->authenticated)
			continue;
		k->anonymous++;
		k->oldest_anonymous = c;
		if (peer) {
			k->peer_anonymous++;
			k->oldest_peer_anonymous = c;
		}
	}
}

/* Make room for a connection from addr (peer, for logs): under every cap, or
 * by closing the oldest anonymous connection a full cap counts.  Returns 0,
 * or -1 (logged) when a full cap counts only authenticated connections. */
static int net_make_room(struct net *n, const unsigned char *addr, size_t len, const char *peer)
{
	const struct net_limits *lim = &n->lim;

	/* Each round closes one connection or ends.  One closing is enough
	 * unless a reload lowered a cap below what is open: then a few per
	 * accept bring the count down, and the rest of the way over the next. */
	for (int round = 0; round < 4; round++) {
		struct net_census k;
		struct conn *victim;
		const char *cap;
		size_t limit;

		net_count(n, addr, len, &k);
		if (k.peer_anonymous >= lim->max_anonymous_per_ip) {
			cap = "max_anonymous_per_ip", limit = lim->max_anonymous_per_ip, victim = k.oldest_peer_anonymous;
		} else if (k.peer_total >= lim->max_connections_per_ip) {
			cap = "max_connections_per_ip", limit = lim->max_connections_per_ip, victim = k.oldest_peer_anonymous;
		} else if (k.anonymous >= lim->max_anonymous) {
			cap = "max_anonymous_connections", limit = lim->max_anonymous, victim = k.oldest_anonymous;
		} else if (k.total >= lim->max_connections) {
			cap = "max_connections", limit = lim->max_connections, victim = k.oldest_anonymous;
		} else {
			return 0;
		}
		if (victim == NULL) {
			log_warn("event=refuse reason=%s limit=%zu peer=%s", cap, limit, peer);
			return -1;
		}
		log_warn("event=evict reason=%s limit=%zu conn=%llu peer=%s for=%s", cap, limit,
		         (unsigned long long)victim->id, victim->peer, peer);
		conn_kill(victim, "a cap is full: the oldest connection not signed in makes room for a new one");
	}
	log_warn("event=refuse reason=\"caps lowered below the open connections; closing the excess over several accepts\" peer=%s",
	         peer);
	return -1;
}

static void peer_describe(const struct sockaddr_storage *ss, char *out, size_t outlen,
                          unsigned char addr[16], size_t *addrlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	*addrlen = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
		memcpy(addr, &sin->sin_addr, 4);
		*addrlen = 4;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		memcpy(addr, &sin6->sin6_addr, 16);
		*addrlen = 16;
	}
	snprintf(out, outlen, "%s:%u", host, port);
}

static void net_accept_one(struct net_listener *ls, int fd, const struct sockaddr_storage *ss)
{
	struct net *n = ls->net;
	struct conn *c;
	int one = 1, r;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		return;
	}
	peer_describe(ss, c->peer, sizeof c->peer, c->peer_addr, &c->peer_addr_len);
	if (net_make_room(n, c->peer_addr, c->peer_addr_len, c->peer) < 0) {
		free(c);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->id = ++n->next_id;
	c->fd = fd;
	c->net = n;
	c->handlers = ls->handlers;
	c->state = CONN_HANDSHAKE;
	c->created_ms = c->active_ms = c->anonymous_since_ms = loop_now(n->loop);
	buf_init(&c->in, n->lim.max_input_bytes);
	buf_init(&c->rx, NET_RX_CHUNK);
	buf_init(&c->out, n->lim.max_output_bytes);
	if (ls->max_output_bytes)
		buf_init(&c->out, ls->max_output_bytes);
	c->tls = ls->tls ? ls->tls : n->tls;
	mbedtls_ssl_init(&c->ssl);
	if ((r = mbedtls_ssl_setup(&c->ssl, &c->tls->conf)) != 0) {
		mbedtls_ssl_free(&c->ssl);
		free(c);
		close(fd);
		return;
	}
	/* the config must outlive c->ssl (net_tls) */
	c->tls->refs++;
	mbedtls_ssl_set_bio(&c->ssl, c, conn_bio_send, conn_bio_recv, NULL);
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	n->nconns++;
	log_info("conn=%llu event=accept peer=%s", (unsigned long long)c->id, c->peer);
	conn_watch(c, 0);
}

static void net_accept(struct loop *l, int fd, unsigned events, void *arg)
{
	struct net_listener *ls = arg;

	(void)l;
	(void)events;
	for (int i = 0; i < NET_ACCEPT_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("event=accept-failed errno=\"%s\"", strerror(errno));
			return;
		}
		net_accept_one(ls, cfd, &ss);
	}
}

int net_listen(struct net *n, const char *host, uint16_t port,
               const struct net_handlers *h, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[8];
	struct net_listener *ls;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, one = 1, r;

	if (n->nlisteners == NET_MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	if ((r = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen address %s: %s (use a numeric address)", host, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "listen on %s:%u: %s", host, (unsigned)port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	ls = &n->listeners[n->nlisteners];
	ls->fd = fd;
	ls->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                          : ((struct sockaddr_in *)&ss)->sin_port);
	ls->handlers = h;
	ls->net = n;
	if (loop_watch(n->loop, fd, LOOP_READ, net_accept, ls) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(fd);
		return -1;
	}
	ls->tls = NULL;
	ls->max_output_bytes = 0;
	n->nlisteners++;
	log_info("event=listen addr=%s port=%u", host, (unsigned)ls->port);
	return 0;
}

/* A config for mutual TLS, either end: own certificate, and the peer's
 * required, chaining to ca_file.  No certificate, or one that does not chain:
 * the handshake fails.  Which peer it names is the protocol's check
 * (on_open). */
static struct net_tls *net_tls_mtls(struct net *n, const struct net_mtls *m, int endpoint, char *err, size_t errlen)
{
	struct net_tls *t = net_tls_new(n, m->cert, m->key, endpoint, err, errlen);
	int r;

	if (t == NULL)
		return NULL;
	if ((r = mbedtls_x509_crt_parse_file(&t->ca, m->ca_file)) != 0) {
		net_tls_error(err, errlen, m->ca_file, r);
		net_tls_free(t);
		return NULL;
	}
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	return t;
}

int net_listen_mtls(struct net *n, const char *host, uint16_t port, const struct net_handlers *h,
                    const struct net_mtls *m, char *err, size_t errlen)
{
	struct net_tls *t;
	struct net_listener *ls;

	if ((t = net_tls_mtls(n, m, MBEDTLS_SSL_IS_SERVER, err, errlen)) == NULL)
		return -1;
	if (net_listen(n, host, port, h, err, errlen) < 0) {
		net_tls_free(t);
		return -1;
	}
	ls = &n->listeners[n->nlisteners - 1];
	ls->tls = t;
	ls->max_output_bytes = m->max_output_bytes;
	log_info("event=listen-mtls port=%u ca=%s", (unsigned)ls->port, m->ca_file);
	return 0;
}

struct conn *net_connect_mtls(struct net *n, const char *host, uint16_t port, const struct net_handlers *h,
                              const struct net_mtls *m, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	char portstr[8];
	struct conn *c = NULL;
	struct net_tls *t;
	int fd = -1, one = 1, r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	/* Numeric only: a name would need a DNS lookup, which blocks the loop. */
	if ((r = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		snprintf(err, errlen, "connect to %s: %s (numeric addresses only)", host, gai_strerror(r));
		return NULL;
	}
	if ((t = net_tls_mtls(n, m, MBEDTLS_SSL_IS_CLIENT, err, errlen)) == NULL) {
		freeaddrinfo(ai);
		return NULL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) ||
	    (c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "connect to %s:%u: %s", host, (unsigned)port, c ? "out of memory" : strerror(errno));
		goto fail;
	}
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	peer_describe(&ss, c->peer, sizeof c->peer, c->peer_addr, &c->peer_addr_len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->id = ++n->next_id;
	c->fd = fd;
	c->net = n;
	c->handlers = h;
	c->state = CONN_HANDSHAKE;
	c->created_ms = c->active_ms = c->anonymous_since_ms = loop_now(n->loop);
	buf_init(&c->in, n->lim.max_input_bytes);
	buf_init(&c->rx, NET_RX_CHUNK);
	buf_init(&c->out, m->max_output_bytes ? m->max_output_bytes : n->lim.max_output_bytes);
	mbedtls_ssl_init(&c->ssl);
	if ((r = mbedtls_ssl_setup(&c->ssl, &t->conf)) != 0) {
		net_tls_error(err, errlen, "TLS setup", r);
		mbedtls_ssl_free(&c->ssl);
		goto fail;
	}
	c->tls = t;     /* its one reference */
	mbedtls_ssl_set_bio(&c->ssl, c, conn_bio_send, conn_bio_recv, NULL);
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	n->nconns++;
	freeaddrinfo(ai);
	log_info("conn=%llu event=connect peer=%s", (unsigned long long)c->id, c->peer);
	conn_watch(c, 1);   /* writable once connected: the handshake starts */
	return c;
fail:
	free(c);
	if (fd >= 0)
		close(fd);
	net_tls_free(t);
	freeaddrinfo(ai);
	return NULL;
}

const mbedtls_x509_crt *conn_peer_cert(const struct conn *c)
{
	return mbedtls_ssl_get_peer_cert(&c->ssl);
}

uint16_t net_listen_port(const struct net *n, size_t index)
{
	return index < n->nlisteners ? n->listeners[index].port : 0;
}

size_t net_conn_count(const struct net *n) { return n->nconns; }

void net_conn_census(const struct net *n, size_t *authenticated, size_t *anonymous)
{
	*authenticated = *anonymous = 0;
	for (const struct conn *c = n->conns; c; c = c->next)
		if (c->state != CONN_DEAD)
			++*(c->authenticated ? authenticated : anonymous);
}

void net_each_conn(struct net *n, const struct net_handlers *h, void (*fn)(struct conn *c, void *arg), void *arg)
{
	for (struct conn *c = n->conns; c; c = c->next)
		if (c->handlers == h && c->state == CONN_OPEN)
			fn(c, arg);
}

/* Write everything queued this pass.  Flushing can mark connections dead;
 * nothing is freed here, so the array stays valid. */
static void net_flush_queued(struct net *n)
{
	for (size_t i = 0; i < n->nflush; i++) {
		n->flush[i]->queued_flush = 0;
		conn_flush(n->flush[i]);
	}
	n->nflush = 0;
}

void net_flush(struct net *n)
{
	net_flush_queued(n);
}

void net_reap(struct net *n)
{
	struct conn *c, *next;

	/* Callers flush first, so the flush list holds no dead connection and
	 * freeing cannot leave it dangling.  on_close handlers may queue output
	 * to live connections (a part notice, say); dead ones refuse it.  Most
	 * passes have no dead connection: the count spares them a walk over
	 * every connection (measured: 16% of the server's CPU at 10,000
	 * deliveries/s with 1,000 clients, before the count). */
	for (c = n->conns; c && n->ndead > 0; c = next) {
		next = c->next;
		if (c->state == CONN_DEAD) {
			n->ndead--;
			for (size_t i = 0; i < n->nflush; i++)
				if (n->flush[i] == c)
					n->flush[i] = n->flush[--n->nflush];
			conn_free(c);
		}
	}
}

void net_before_sleep(struct net *n)
{
	net_flush(n);
	net_reap(n);
	net_flush(n);
}

/* A connection quiet for a second gives back the memory its buffers grew
 * to under load (a burst of fan-out leaves tens of KiB each); they grow
 * again on demand.  Only empty buffers with no write in progress. */
static void conn_trim(struct conn *c)
{
	if (c->in.len == 0 && c->in.size > 0)
		buf_free(&c->in);
	if (c->rx.len == 0 && c->rx.size > 0)
		buf_free(&c->rx);
	if (c->out.len == 0 && c->out.size > 0 && !c->out_pinned && !c->queued_flush)
		buf_free(&c->out);
}

/* Once a second: handshake, sign-in and idle timeouts. */
static int64_t net_sweep(struct loop *l, void *arg)
{
	struct net *n = arg;
	int64_t now = loop_now(l);

	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->state == CONN_HANDSHAKE && now - c->created_ms > n->lim.handshake_timeout_ms)
			conn_kill(c, "handshake timeout");
		else if (c->state == CONN_OPEN && !c->authenticated &&
		         now - c->anonymous_since_ms > n->lim.signin_timeout_ms)
			conn_kill(c, "sign-in timeout");
		else if (c->state == CONN_OPEN && now - c->active_ms > n->lim.idle_timeout_ms)
			conn_kill(c, "idle timeout");
		else if (c->state == CONN_CLOSING && now - c->active_ms > n->lim.handshake_timeout_ms)
			conn_kill(c, "close timeout");
		else if (c->state == CONN_OPEN && now - c->active_ms >= 1000)
			conn_trim(c);
	}
	return 1000;
}

void net_close_all(struct net *n)
{
	for (size_t i = 0; i < n->nlisteners; i++) {
		loop_unwatch(n->loop, n->listeners[i].fd);
		close(n->listeners[i].fd);
		net_tls_release(n->listeners[i].tls);   /* open connections keep theirs */
		n->listeners[i].tls = NULL;
	}
	n->nlisteners = 0;
	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->state == CONN_OPEN) {
			conn_flush(c);
			if (c->state != CONN_DEAD)
				mbedtls_ssl_close_notify(&c->ssl);
		}
		conn_kill(c, "server shutdown");
	}
	n->nflush = 0;
	while (n->conns)
		conn_free(n->conns);
	n->ndead = 0;
}
