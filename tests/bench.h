/*
 * bench.h - pchat-bench, the load generator: the pieces shared by its three
 * files.
 *
 *   bench.c         options, scenarios, the server under test, reporting
 *   bench_client.c  many non-blocking TLS clients on one epoll loop: NTLM
 *                   sign-in, channel dialog, join, post, answer every server
 *                   INFO signed (as sipe does), measure deliveries; or, as a
 *                   front end, every user's dialog over one mutual-TLS
 *                   connection to pchat's [frontend] listener
 *   bench_fe.c      the front-end scenario's set-up: certificates, the
 *                   [frontend] section, the listener's port
 *   bench_raw.c     the raw limits: a bare mbedTLS server (same certificate,
 *                   curves and TLS version as pchat) that either only
 *                   handshakes or writes pre-built INFO-sized records as fast
 *                   as it can; it runs in a forked child so its CPU time is
 *                   read from /proc like pchat's
 *
 * The client reuses pchat's own code: sip.c to frame and pick apart what the
 * server sends, auth.c for NTLM and MS-SIPAE signatures, buf.c for buffers.
 * Everything is single-threaded; one process drives every client.
 */
#ifndef PCHAT_BENCH_H
#define PCHAT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "../auth.h"
#include "../buf.h"
#include "../sip.h"

/* ---- time and statistics (bench.c) ---- */

/* CLOCK_MONOTONIC in nanoseconds; the one clock of the bench (the post time
 * carried in a message and its receipt time are read in this process). */
int64_t bench_now_ns(void);

/* Latency histogram in nanoseconds: exact below 2048 ns, then 1024 buckets
 * per power of two (relative error under 0.1%).  Fixed size, no allocation. */
#define HIST_BUCKETS (2048 + 53 * 1024)
struct hist {
	uint64_t count;
	int64_t max;
	uint32_t b[HIST_BUCKETS];
};
void hist_reset(struct hist *h);
void hist_add(struct hist *h, int64_t ns);
/* The value at quantile q (0..1) in ns; 0 when empty. */
int64_t hist_quantile(const struct hist *h, double q);

/* ---- the client engine (bench_client.c) ---- */

enum bc_mode {
	BC_MODE_TLS,        /* handshake only; the connection then stays idle */
	BC_MODE_SINK,       /* handshake, then count the bytes the raw writer sends */
	BC_MODE_CHAT,       /* sign in, open the channel dialog, join rooms, post */
	BC_MODE_FRONTEND    /* as CHAT, but every user over client 0's one mutual-TLS
	                     * connection, as a front end: no REGISTER, no signatures,
	                     * P-Asserted-Identity and Record-Route on the INVITE */
};

enum bc_state {
	BC_IDLE,            /* not started */
	BC_CONNECTING,      /* TCP connect in progress */
	BC_HANDSHAKE,       /* TLS handshake */
	BC_REG1,            /* REGISTER sent, waiting for the first 401 */
	BC_REG2,            /* NTLM negotiate sent, waiting for the challenge */
	BC_REG3,            /* AUTHENTICATE sent, waiting for 200 */
	BC_INVITE,          /* INVITE to the channel service sent */
	BC_JOIN,            /* joining its rooms, one cmd:join at a time */
	BC_READY,           /* signed in and in every room (CHAT), or handshaken (TLS, SINK) */
	BC_DEAD             /* failed or closed */
};

/* Counters the scenarios read and reset. */
struct bc_stats {
	uint64_t delivered;         /* grpchat INFOs received (author's echo included) */
	uint64_t delivered_bytes;   /* their size on the wire (SIP message, before TLS) */
	uint64_t tls_records, tls_bytes;    /* TLS records read (CHAT mode) and their plaintext */
	uint64_t posts_sent, posts_ok, posts_failed;
	uint64_t infos_other;       /* other server INFOs (notices, replies) */
	uint64_t sink_bytes;        /* BC_MODE_SINK */
	uint64_t bad_sigs;          /* sampled server signatures that did not verify */
	uint64_t sigs_checked;
	uint64_t handshakes;        /* completed since the last reset */
	uint64_t failures;          /* connections that died */
	uint64_t bcc_done;          /* bccontext replies received */
	uint64_t churn_done, churn_failed;  /* beng_churn's parts and joins answered, and refused */
	struct hist lat;            /* post -> delivery, other members only */
	struct hist lat_wire;       /* post -> the kernel's receipt at the member's socket */
	struct hist bcc;            /* bccontext request -> reply */
	struct hist churn;          /* cmd:part or cmd:join -> its reply (beng_churn) */
};

struct bclient;

struct beng {
	int live;                   /* between beng_init and beng_free */
	int ep;
	uint16_t port;
	enum bc_mode mode;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	struct bclient *c;          /* n clients */
	size_t n;
	size_t started, ready, dead, in_progress;
	/* chat set-up */
	const char *domain;
	char (*room_guid)[40];      /* rooms' GUIDs, nrooms of them */
	size_t nrooms;
	uint8_t nt_hash[16];        /* every bench user has the same password */
	/* behaviour */
	int posting;                /* 1: READY chat clients keep `window` posts in flight */
	unsigned window;
	int ack_infos;              /* answer server INFOs with a signed 200 (sipe does) */
	int close_after_handshake;  /* handshake scenario */
	int lean;                   /* free per-connection read-ahead when drained (idle scenario) */
	int text_pad;               /* extra bytes of text per post */
	uint64_t rng;
	uint64_t envid;
	uint64_t in_flight;         /* posts sent and not answered, all clients */
	struct bc_stats st;
	int suite;                  /* ciphersuite id of the first handshake (to mirror in the raw server) */
	/* a copy of one delivered INFO, the template for the raw writer */
	unsigned char *sample;
	size_t sample_len;
	struct bclient **dirty;     /* clients with output queued this pass */
	size_t ndirty;
	/* BC_MODE_FRONTEND: the front end's client certificate */
	mbedtls_x509_crt fe_crt;
	mbedtls_pk_context fe_key;
	char fe_record_route[96];   /* "Record-Route: <sip:127.0.0.1:PORT;...>\r\n", our end */
};

/* Set up n clients for 127.0.0.1:port (nothing is connected yet).  For
 * BC_MODE_CHAT and BC_MODE_FRONTEND, room_guid/nrooms name the rooms and
 * bc_assign the clients' rooms.  Returns 0 or -1. */
int beng_init(struct beng *e, enum bc_mode mode, uint16_t port, size_t n);
/* BC_MODE_FRONTEND: present this certificate and key (PEM files) in the
 * handshake.  Returns 0 or -1. */
int beng_client_cert(struct beng *e, const char *crt_path, const char *key_path);
void beng_free(struct beng *e);
/* Client i joins room r (call before starting it). */
int beng_assign(struct beng *e, size_t i, size_t room);
/* Start up to `more` idle clients, keeping at most max_in_progress between
 * connect and READY.  Returns how many were started. */
size_t beng_start(struct beng *e, size_t more, size_t max_in_progress);
/* One pass: wait up to timeout_ms for events, handle them, flush output. */
void beng_poll(struct beng *e, int timeout_ms);
/* Client i stops reading (a slow reader that never catches up) and stops
 * posting.  Its socket fills, then the server's output queue. */
void beng_mute(struct beng *e, size_t i);
/* Queue one post from client i (to its next room).  Returns 0 or -1. */
int beng_post(struct beng *e, size_t i);
/* Queue a bccontext (last cnt) for client i's first room; the reply is
 * counted in st.bcc_done and timed in st.bcc. */
int beng_bccontext(struct beng *e, size_t i, int cnt, const char *words);
/* Client i (READY) parts its first room, or joins it again if it parted
 * before: the reply is counted in st.churn_done and timed in st.churn.
 * -1 while the previous one is unanswered. */
int beng_churn(struct beng *e, size_t i);
/* Send `text` raw (plaintext over TLS) on every READY client (SINK mode). */
void beng_broadcast(struct beng *e, const char *text);
/* Posts in flight (sent, not answered) over all clients. */
uint64_t beng_in_flight(const struct beng *e);
/* Close every connection (the clients stay allocated). */
void beng_close_all(struct beng *e);
/* Reset counters and histograms. */
void beng_reset_stats(struct beng *e);

/* ---- the front-end scenario's set-up (bench_fe.c) ---- */

/* Generate the test CA and the front end's certificate into dir (with
 * tests/kamailio/certs.sh, as e2e_frontend does) and append the [frontend]
 * section naming them to the open pchat.ini.  Returns 0 or -1 (said why on
 * stderr). */
int bench_fe_prepare(const char *dir, FILE *ini);
/* The front end's certificate and key in dir (after bench_fe_prepare). */
void bench_fe_cert_paths(const char *dir, char *crt, char *key, size_t len);
/* The port pchat logged for its [frontend] listener, or 0. */
uint16_t bench_fe_port(const char *log_path);

/* ---- the raw limits (bench_raw.c) ---- */

enum raw_mode {
	RAW_HANDSHAKE,      /* accept, handshake, hold until the client closes */
	RAW_BLAST           /* once `conns` clients said GO, write `per_conn` records to each */
};

struct raw_opts {
	enum raw_mode mode;
	const char *cert, *key;
	size_t conns;
	uint64_t per_conn;          /* records per connection (BLAST) */
	const unsigned char *record;
	size_t record_len;
	size_t batch;               /* records per mbedtls_ssl_write (1 = one record per write) */
	int suite;                  /* the only ciphersuite offered (what pchat negotiated); 0 = defaults */
};

struct raw_server {
	pid_t pid;
	uint16_t port;
};

/* Fork a child running the raw server; returns 0 with pid and port set once
 * it listens, or -1. */
int raw_start(struct raw_server *r, const struct raw_opts *o);
/* SIGTERM and reap. */
void raw_stop(struct raw_server *r);

#endif
