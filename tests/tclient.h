/*
 * tclient.h - pchat's own test client: starts a real ./pchat on 127.0.0.1
 * with a temp folder, ini and store, and talks real TLS to it (mbedTLS),
 * framing what comes back with pchat's own SIP parser.  The end-to-end
 * tests, the hostile suite and the load generator build on it.
 */
#ifndef PCHAT_TCLIENT_H
#define PCHAT_TCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>

#include "../buf.h"
#include "../sip.h"

struct tserver {
	pid_t pid;
	char bin[512];
	char dir[256];
	char ini[320];
	char log[320];
	uint16_t port;
};

/* Make a temp folder, write pchat.ini there (listen on 127.0.0.1:0 plus
 * extra_ini lines, which may add sections), start bin and wait until its log
 * says which port it listens on.  Returns 0 or -1. */
int tserver_start(struct tserver *s, const char *bin, const char *extra_ini);
/* Start again with the same folder and ini (after a stop). */
int tserver_restart(struct tserver *s);
/* SIGTERM, wait up to 10 s (then SIGKILL).  Returns the exit status, or -1 if
 * it had to be killed or died of a signal. */
int tserver_stop(struct tserver *s);
/* Remove the temp folder. */
void tserver_cleanup(struct tserver *s);
/* Resident set size of the server in KiB, or -1. */
long tserver_rss_kb(const struct tserver *s);
/* 1 while the process exists and has not exited. */
int tserver_running(const struct tserver *s);
/* Run `bin -c ini ARGS...` (NULL-terminated) with stdin_text on its stdin;
 * stdout+stderr go to out.  Returns the exit status. */
int tserver_cli(const struct tserver *s, const char *stdin_text, char *out, size_t outlen, ...);
/* 1 if the server log contains needle. */
int tserver_log_has(const struct tserver *s, const char *needle);

struct tclient {
	int fd;
	int timeout_ms;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct buf in;          /* bytes received, not yet framed */
	struct buf msgbytes;    /* the last message returned, which msg points into */
	struct sip_msg msg;
	struct sip_limits limits;
};

/* TCP connect to 127.0.0.1:port without TLS (for raw tests). -1 on error. */
int tcp_connect(uint16_t port);

/* Connect and finish the TLS handshake.  Returns 0 or -1. */
int tclient_connect(struct tclient *t, uint16_t port);
void tclient_close(struct tclient *t);
/* Write all bytes.  Returns 0 or -1. */
int tclient_send(struct tclient *t, const void *p, size_t len);
int tclient_sendf(struct tclient *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Next complete SIP message into t->msg.  1 = got one, 0 = timeout,
 * -1 = connection closed or error. */
int tclient_recv(struct tclient *t, int timeout_ms);
/* 1 if the server closes the connection within timeout_ms (any pending
 * messages are read and dropped on the way). */
int tclient_wait_closed(struct tclient *t, int timeout_ms);

/* A complete OPTIONS request with the given Call-ID and CSeq number. */
int tclient_options(struct tclient *t, const char *call_id, unsigned cseq);

#endif
