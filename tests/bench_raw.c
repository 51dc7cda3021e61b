/*
 * bench_raw.c - the raw limits pchat is compared with (see bench.h): a bare
 * non-blocking mbedTLS server in a forked child, configured as net.c
 * configures pchat's (same certificate and key files, TLS 1.2 minimum,
 * curves X25519, P-256, P-384; the ciphersuite the bench saw pchat pick),
 * with no SIP, no XML, no store.
 *
 * RAW_HANDSHAKE accepts, handshakes and holds each connection until the
 * client closes it.  RAW_BLAST waits until `conns` clients have completed the
 * handshake and sent "GO", then writes `per_conn` copies of a pre-built
 * record (a real fan-out INFO captured from pchat) to every connection as
 * fast as the sockets take them: `batch` records per mbedtls_ssl_write (1 =
 * one TLS record and one send() per record; 16384/len = full 16 KiB
 * records, the best case), round-robin with a per-pass budget like pchat's.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#define RAW_WRITE_PER_PASS (256 * 1024)

static const mbedtls_ecp_group_id raw_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

struct rconn {
	int fd;
	int open;               /* handshake done */
	int go;                 /* said GO */
	unsigned evmask;
	mbedtls_ssl_context ssl;
	uint64_t left;          /* bytes still to write */
	size_t pinned;
	char hello[4];
	size_t hello_len;
};

struct raw {
	const struct raw_opts *o;
	int suites[2];
	int ep, lfd;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	unsigned char *chunk;   /* batch copies of the record */
	size_t chunk_len;
	struct rconn **active;  /* connections with bytes left, once blasting */
	size_t nactive, ngo;
	int blasting;
};

static int raw_bio_send(void *ctx, const unsigned char *p, size_t len)
{
	struct rconn *c = ctx;
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);

	if (w >= 0)
		return (int)w;
	return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int raw_bio_recv(void *ctx, unsigned char *p, size_t len)
{
	struct rconn *c = ctx;
	ssize_t r = recv(c->fd, p, len, 0);

	if (r >= 0)
		return (int)r;
	return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

static void raw_watch(struct raw *r, struct rconn *c, unsigned mask)
{
	struct epoll_event ev = { .events = mask, .data.ptr = c };

	if (c->evmask == mask)
		return;
	if (epoll_ctl(r->ep, c->evmask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0)
		c->evmask = mask;
}

static void raw_free_conn(struct raw *r, struct rconn *c)
{
	epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	mbedtls_ssl_free(&c->ssl);
	for (size_t i = 0; i < r->nactive; i++)
		if (r->active[i] == c)
			r->active[i] = r->active[--r->nactive];
	free(c);
}

/* Write until the socket is full, the budget is spent or nothing is left.
 * Returns 1 if it should be visited again next pass. */
static int raw_write(struct raw *r, struct rconn *c)
{
	size_t budget = RAW_WRITE_PER_PASS;

	while (c->left > 0 && budget > 0) {
		size_t n = c->pinned ? c->pinned : (c->left < r->chunk_len ? (size_t)c->left : r->chunk_len);
		int w = mbedtls_ssl_write(&c->ssl, r->chunk, n);

		if (w > 0) {
			c->left -= (uint64_t)w;
			c->pinned = 0;
			budget = (size_t)w >= budget ? 0 : budget - (size_t)w;
			continue;
		}
		if (w == MBEDTLS_ERR_SSL_WANT_WRITE || w == MBEDTLS_ERR_SSL_WANT_READ) {
			c->pinned = n;
			raw_watch(r, c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		c->left = 0;
		return 0;
	}
	raw_watch(r, c, EPOLLIN);
	return c->left > 0;
}

static void raw_readable(struct raw *r, struct rconn *c)
{
	unsigned char tmp[4096];

	for (;;) {
		int n = mbedtls_ssl_read(&c->ssl, tmp, sizeof tmp);

		if (n > 0) {
			/* BLAST: the client's "GO\n" arrives once, possibly split. */
			for (int i = 0; i < n && !c->go; i++)
				if (tmp[i] == '\n') {
					c->go = 1;
					c->left = r->o->per_conn * r->o->record_len;
					r->active[r->nactive++] = c;
					if (++r->ngo == r->o->conns)
						r->blasting = 1;
				}
			continue;
		}
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		raw_free_conn(r, c);
		return;
	}
}

static void raw_io(struct raw *r, struct rconn *c, unsigned events)
{
	if (!c->open) {
		int h = mbedtls_ssl_handshake(&c->ssl);

		if (h == MBEDTLS_ERR_SSL_WANT_READ) {
			raw_watch(r, c, EPOLLIN);
			return;
		}
		if (h == MBEDTLS_ERR_SSL_WANT_WRITE) {
			raw_watch(r, c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (h != 0) {
			raw_free_conn(r, c);
			return;
		}
		c->open = 1;
		raw_watch(r, c, EPOLLIN);
		events = EPOLLIN;
	}
	if ((events & EPOLLOUT) && r->blasting && c->left > 0)
		raw_write(r, c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		raw_readable(r, c);
}

static void raw_accept(struct raw *r)
{
	for (;;) {
		int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct rconn *c;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		mbedtls_ssl_init(&c->ssl);
		if (mbedtls_ssl_setup(&c->ssl, &r->conf) != 0) {
			mbedtls_ssl_free(&c->ssl);
			close(fd);
			free(c);
			continue;
		}
		mbedtls_ssl_set_bio(&c->ssl, c, raw_bio_send, raw_bio_recv, NULL);
		raw_watch(r, c, EPOLLIN);
	}
}

static int raw_setup(struct raw *r, int report_fd)
{
	static const char pers[] = "pchat-bench-raw";
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	uint16_t port;
	int rc;

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	mbedtls_ssl_config_init(&r->conf);
	mbedtls_x509_crt_init(&r->cert);
	mbedtls_pk_init(&r->key);
	if ((rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, (const unsigned char *)pers,
	                                sizeof pers - 1)) != 0 ||
	    (rc = mbedtls_x509_crt_parse_file(&r->cert, r->o->cert)) != 0 ||
	    (rc = mbedtls_pk_parse_keyfile(&r->key, r->o->key, NULL)) != 0 ||
	    (rc = mbedtls_ssl_config_defaults(&r->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                      MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		fprintf(stderr, "pchat-bench: raw server: TLS set-up (%s, %s): -0x%04x\n", r->o->cert, r->o->key,
		        (unsigned)-rc);
		return -1;
	}
	mbedtls_ssl_conf_rng(&r->conf, mbedtls_ctr_drbg_random, &r->drbg);
	mbedtls_ssl_conf_min_version(&r->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_curves(&r->conf, raw_curves);
	if (r->o->suite) {
		r->suites[0] = r->o->suite;
		r->suites[1] = 0;
		mbedtls_ssl_conf_ciphersuites(&r->conf, r->suites);
	}
	if (mbedtls_ssl_conf_own_cert(&r->conf, &r->cert, &r->key) != 0)
		return -1;
	if (r->o->mode == RAW_BLAST) {
		size_t batch = r->o->batch ? r->o->batch : 1;

		r->chunk_len = batch * r->o->record_len;
		if ((r->chunk = malloc(r->chunk_len)) == NULL || (r->active = calloc(r->o->conns + 1, sizeof *r->active)) == NULL) {
			fprintf(stderr, "pchat-bench: raw server: out of memory\n");
			return -1;
		}
		for (size_t i = 0; i < batch; i++)
			memcpy(r->chunk + i * r->o->record_len, r->o->record, r->o->record_len);
	}
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (r->ep < 0 || r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(r->lfd, 511) < 0 ||
	    getsockname(r->lfd, (struct sockaddr *)&sin, &sl) < 0) {
		fprintf(stderr, "pchat-bench: raw server: listen: %s\n", strerror(errno));
		return -1;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->lfd, &ev) < 0)
			return -1;
	}
	port = ntohs(sin.sin_port);
	return write(report_fd, &port, sizeof port) == (ssize_t)sizeof port ? 0 : -1;
}

/* The child's main loop; ends when the parent sends SIGTERM. */
static int raw_main(const struct raw_opts *o, int report_fd)
{
	static struct raw r;
	struct epoll_event ev[256];
	int busy = 0;       /* some connection can take more without waiting */

	r.o = o;
	if (raw_setup(&r, report_fd) < 0) {
		fprintf(stderr, "pchat-bench: raw server set-up failed\n");
		return 1;
	}
	close(report_fd);
	for (;;) {
		int n = epoll_wait(r.ep, ev, 256, busy ? 0 : 1000);

		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				raw_accept(&r);
			else
				raw_io(&r, ev[i].data.ptr, ev[i].events);
		}
		if (r.blasting) {
			/* One pass over every connection that has bytes left and is
			 * not waiting for the socket (those are in epoll). */
			busy = 0;
			for (size_t i = 0; i < r.nactive;) {
				struct rconn *c = r.active[i];

				if (c->pinned) {
					i++;
					continue;
				}
				if (raw_write(&r, c)) {
					busy = 1;
					i++;
				} else if (c->pinned)
					i++;
				else
					r.active[i] = r.active[--r.nactive];
			}
		}
	}
}

int raw_start(struct raw_server *r, const struct raw_opts *o)
{
	int p[2];
	uint16_t port = 0;
	struct pollfd pfd;

	r->pid = 0;
	r->port = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (r->pid == 0) {
		/* Drop every inherited descriptor (client sockets above all), so the
		 * parent's closes are seen by their peers. */
		for (int fd = 3; fd < 65536; fd++)
			if (fd != p[1])
				close(fd);
		signal(SIGTERM, SIG_DFL);
		_exit(raw_main(o, p[1]));
	}
	close(p[1]);
	pfd = (struct pollfd){ p[0], POLLIN, 0 };
	if (poll(&pfd, 1, 10000) != 1 || read(p[0], &port, sizeof port) != (ssize_t)sizeof port) {
		close(p[0]);
		raw_stop(r);
		return -1;
	}
	close(p[0]);
	r->port = port;
	return 0;
}

void raw_stop(struct raw_server *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}
