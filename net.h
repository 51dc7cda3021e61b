/*
 * net.h - TLS listeners and client connections on the event loop.
 *
 * net.c owns every struct conn: it accepts, runs the mbedTLS handshake,
 * reads decrypted bytes into conn->in, queues output in conn->out (with a
 * hard cap), flushes once per loop pass, enforces the handshake, sign-in and
 * idle timeouts and the connection caps, and frees connections only after
 * the dispatch pass (a handler that fails a connection marks it; it never
 * frees it).
 *
 * A connection is anonymous until its protocol says otherwise
 * (conn_set_authenticated: a SIP sign-in, a file token spent).  Anonymous
 * connections must authenticate within signin_timeout of the handshake, their
 * input does not count as activity (the protocol marks real progress by
 * setting active_ms), and they have their own caps, in all and per address.
 * When any cap is full, a new connection takes the place of the oldest
 * anonymous connection the cap counts; it is refused only when every such
 * connection has authenticated.  So anonymous clients can never keep
 * signed-in users out.  The protocol on top
 * (SIP, later HTTPS files) sees a connection through struct net_handlers and
 * keeps its own per-connection state in conn->proto.
 */
#ifndef PCHAT_NET_H
#define PCHAT_NET_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "buf.h"
#include "loop.h"

enum conn_state {
	CONN_HANDSHAKE,     /* TLS handshake in progress */
	CONN_OPEN,          /* exchanging records */
	CONN_CLOSING,       /* flush what is queued, then close */
	CONN_DEAD           /* reaped after this loop pass */
};

struct conn;
struct net;
struct net_tls;     /* a certificate, its key and their TLS config (net.c) */

struct net_handlers {
	void (*on_open)(struct conn *c, void *arg);     /* handshake done */
	void (*on_input)(struct conn *c, void *arg);    /* bytes were added to c->in */
	void (*on_close)(struct conn *c, void *arg);    /* about to be freed: drop c->proto */
	/* Optional: the output queue is below half its cap while flushing; queue
	 * more (a download streaming from the store).  What it queues goes out
	 * in the same flush. */
	void (*on_writable)(struct conn *c, void *arg);
	void *arg;
};

struct net_limits {
	size_t max_input_bytes;
	size_t max_output_bytes;
	size_t max_connections;
	size_t max_connections_per_ip;
	size_t max_anonymous;           /* connections not authenticated, in all */
	size_t max_anonymous_per_ip;    /* and from one address */
	int64_t handshake_timeout_ms;
	int64_t signin_timeout_ms;      /* from the handshake's end to authenticated */
	int64_t idle_timeout_ms;
};

struct conn {
	uint64_t id;
	int fd;
	enum conn_state state;
	mbedtls_ssl_context ssl;
	struct net_tls *tls;    /* the config ssl was set up with; one reference */
	struct buf in, out;
	/* Ciphertext one recv brought beyond what mbedTLS asked for (it asks
	 * for a record's 5-byte header, then its body): read ahead, one system
	 * call per burst instead of two per record. */
	struct buf rx;
	int rx_drained;         /* the last recv came back short: the socket is empty until epoll says otherwise */
	size_t out_pinned;      /* length of a write mbedTLS asked us to repeat */
	int64_t created_ms, active_ms;
	int64_t anonymous_since_ms;     /* the sign-in deadline counts from here */
	int authenticated;              /* conn_set_authenticated */
	char peer[64];          /* "ip:port" for logs */
	unsigned char peer_addr[16];
	size_t peer_addr_len;
	struct net *net;
	const struct net_handlers *handlers;
	void *proto;            /* owned by the protocol layer */
	struct conn *prev, *next;
	int queued_flush;
	int read_deferred;      /* decrypted input left for the next pass */
};

/* Initialise TLS from cert/key files, generating a self-signed ECDSA P-256
 * pair (key mode 0600) when both are missing; logs the certificate's SHA-256
 * fingerprint.  cn is the certificate's common name.  Returns 0 or -1 with
 * err set. */
struct net *net_new(struct loop *l, const struct net_limits *lim, const char *cert,
                    const char *key, const char *cn, char *err, size_t errlen);
void net_free(struct net *n);

/* Load cert and key again (SIGHUP).  New connections get the new pair;
 * connections already open keep the config they were set up with, which is
 * freed when the last of them closes.  A pair that cannot be read, does not
 * match, or is outside its validity period is refused: the old pair stays and
 * -1 is returned with err set.  Logs event=cert-reloaded with the old and new
 * SHA-256 fingerprints. */
int net_reload_cert(struct net *n, const char *cert, const char *key, char *err, size_t errlen);

/* Replace the limits.  Caps on buffers apply to connections accepted from
 * now on; counts and timeouts apply at once. */
void net_set_limits(struct net *n, const struct net_limits *lim);

/* What `pchat check` reports about a certificate. */
struct net_cert_info {
	char fingerprint[65];   /* lowercase hex SHA-256 of the DER certificate */
	char subject[256];
	char not_after[32];     /* "2035-01-01 00:00:00 UTC" */
	long days_left;         /* whole days until not-after; negative once expired */
	int expired;
	int not_yet_valid;
};

/* Read cert and key without serving them: parse both, check that they
 * belong together, and fill info.  Returns 0, or with err naming the file
 * and the reason NET_CERT_MISMATCH (both read, but the key is not the
 * certificate's) or -1 (anything else). */
#define NET_CERT_MISMATCH (-2)
int net_cert_inspect(const char *cert, const char *key, struct net_cert_info *info,
                     char *err, size_t errlen);

/* Listen on host:port (port 0 picks a free one; net_listen_port tells which). */
int net_listen(struct net *n, const char *host, uint16_t port,
               const struct net_handlers *h, char *err, size_t errlen);
uint16_t net_listen_port(const struct net *n, size_t index);

/* A listener for servers, not clients (frontend.h): mutual TLS with its own
 * config serving cert/key, which requires a client certificate chaining to
 * ca_file.  max_output_bytes (0: the limits') is its connections' output cap:
 * one connection carries many users.  Not renewed by net_reload_cert. */
struct net_mtls {
	const char *cert, *key, *ca_file;
	size_t max_output_bytes;
};
int net_listen_mtls(struct net *n, const char *host, uint16_t port, const struct net_handlers *h,
                    const struct net_mtls *m, char *err, size_t errlen);
/* Connect to host:port (numeric) with mutual TLS, as the client: m's
 * certificate presented, the server's checked against m->ca_file.  The
 * connection is returned at once, in its handshake; what conn_send queues
 * goes out after it, and h's on_open runs when it is done.  NULL with err
 * set on failure. */
struct conn *net_connect_mtls(struct net *n, const char *host, uint16_t port, const struct net_handlers *h,
                              const struct net_mtls *m, char *err, size_t errlen);
/* The certificate the peer presented (mutual TLS), or NULL. */
const mbedtls_x509_crt *conn_peer_cert(const struct conn *c);

/* Queue bytes for c; they go out when the loop pass ends.  Over the output
 * cap the connection is marked dead (a reader that falls behind is dropped,
 * not buffered forever) and -1 is returned. */
int conn_send(struct conn *c, const void *p, size_t len);
/* Queue bytes at position pos of the unsent output (a mark taken with
 * conn_queued earlier in the same pass), so an answer can precede what was
 * queued while it was being decided.  Same errors as conn_send. */
int conn_send_at(struct conn *c, size_t pos, const void *p, size_t len);
size_t conn_queued(const struct conn *c);
/* The protocol's word on c: 1 = signed in (or holding a credential such as
 * a file token), 0 = anonymous again, with a fresh sign-in deadline.  Only an
 * authenticated connection's input counts as activity, and only anonymous
 * ones count against (and may be closed for) the anonymous caps. */
void conn_set_authenticated(struct conn *c, int authenticated);
/* Mark c to close once its queued output is written. */
void conn_close(struct conn *c, const char *reason);
/* Mark c dead now; queued output is dropped. */
void conn_kill(struct conn *c, const char *reason);

/* The loop's before-sleep work: flush queued output, reap dead connections.
 * net_before_sleep = flush, reap, flush; pchat.c interleaves the store
 * commit instead, so nothing acknowledged leaves before it is durable. */
void net_before_sleep(struct net *n);
void net_flush(struct net *n);
/* Free dead connections (their on_close handlers run here). */
void net_reap(struct net *n);
/* Close every connection and listener (shutdown). */
void net_close_all(struct net *n);
size_t net_conn_count(const struct net *n);
/* Live connections of every listener, signed in (or holding a file token)
 * and anonymous (`pchat status`). */
void net_conn_census(const struct net *n, size_t *authenticated, size_t *anonymous);
/* Call fn for each open connection accepted with handlers h.  fn may mark
 * connections dead but must not free them (reaping does). */
void net_each_conn(struct net *n, const struct net_handlers *h, void (*fn)(struct conn *c, void *arg), void *arg);

/* The DRBG seeded at start, for tokens, tags and challenges. */
int net_random(struct net *n, void *out, size_t len);
/* Lowercase hex SHA-256 of the certificate in use (65 bytes with NUL). */
const char *net_cert_fingerprint(const struct net *n);

#endif
