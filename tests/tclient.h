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

#include "../auth.h"
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

/* Make a temp folder, write pchat.ini there (listen, and [files] listen, on
 * 127.0.0.1:0, plus extra_ini lines in [server], which may add sections),
 * start bin and wait until its log says which port it listens on.  Returns 0
 * or -1.  With PCHAT_TEST_WRAPPER set (e.g. "valgrind --error-exitcode=99"),
 * the server runs under it, split on spaces; CLI commands do not.  With
 * PCHAT_TEST_TIME_SCALE, handshake_timeout, signin_timeout and idle_timeout
 * lines in extra_ini are scaled like the client's waits (tclient_scale_ms). */
int tserver_start(struct tserver *s, const char *bin, const char *extra_ini);
/* Start again with the same folder and ini (after a stop). */
int tserver_restart(struct tserver *s);
/* SIGTERM, wait up to 10 s (then SIGKILL).  Returns the exit status, or -1 if
 * it had to be killed or died of a signal. */
int tserver_stop(struct tserver *s);
/* SIGKILL, no chance to clean up (crash tests). */
void tserver_kill(struct tserver *s);
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
	int timeout_ms;         /* wait for an answer in tclient_in_dialog (0: 5000) */
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct buf in;          /* bytes received, not yet framed */
	struct buf msgbytes;    /* the last message returned, which msg points into */
	struct sip_msg msg;
	struct sip_limits limits;
	/* NTLM security association, once signed in */
	int sa;
	struct auth_keys keys;
	unsigned cnum;
	char opaque[16];
	char realm[128];
	char targetname[128];
	char aor[128];          /* "sip:alice@example.org" */
	char reg_call_id[48];
	unsigned reg_cseq;
	int last_sig;           /* last message: -1 unsigned, 0 bad signature, 1 good */
	int bad_sigs;           /* messages with a bad or missing signature while signed in */
	char last_gss[4096];    /* base64 AUTHENTICATE of the last sign-in (replay tests) */
};

/* One dialog the test client opened. */
struct tdialog {
	char call_id[48];
	char local_tag[24];
	char remote_tag[64];
	char uri[128];          /* the URI invited */
	unsigned cseq;
};

/* TCP connect to 127.0.0.1:port without TLS (for raw tests). -1 on error.
 * _from binds the local end to src first ("127.0.0.2": another client
 * address on the loopback, for per-IP limits). */
int tcp_connect(uint16_t port);
int tcp_connect_from(uint16_t port, const char *src);

/* Connect and finish the TLS handshake.  Returns 0 or -1. */
int tclient_connect(struct tclient *t, uint16_t port);
int tclient_connect_from(struct tclient *t, uint16_t port, const char *src);

/* ms times PCHAT_TEST_TIME_SCALE (default 1; e.g. 20 under valgrind).  The
 * client's waits (tclient_recv, wait_info, wait_closed, the server's start
 * and stop) are scaled already; tests scale their own deadlines with it. */
int tclient_scale_ms(int ms);
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

/* Send head (start line + headers, no Content-Length) plus body, signed
 * (Authorization with crand/cnum/response) when signed in. */
int tclient_send_msg(struct tclient *t, const char *head, const char *body, size_t blen);

/* Sign in as aor ("sip:alice@example.org") with NTLM, sending user/domain
 * as the NTLM names (NULL user: aor without "sip:", domain "").  Returns 200
 * when signed in with a valid server signature, else the status that ended
 * the handshake (401, 403, ...) or -1. */
int tclient_register(struct tclient *t, const char *aor, const char *user, const char *domain,
                     const char *password);
/* REGISTER without NTLM (for [auth] mode = none); returns the status. */
int tclient_register_plain(struct tclient *t, const char *aor);

/* SUBSCRIBE to provisioning-v2; returns the status (body in t->msg). */
int tclient_subscribe_provisioning(struct tclient *t);
/* INVITE uri; fills d; returns the status. */
int tclient_invite(struct tclient *t, struct tdialog *d, const char *uri);
/* Send a request in d (INFO with text/plain body, BYE, UPDATE, ACK); returns
 * the status of its response, 0 for ACK, -1 on error.  Server INFOs that
 * arrive first are answered and kept in *info (if not NULL). */
int tclient_in_dialog(struct tclient *t, struct tdialog *d, const char *method, const char *body,
                      struct buf *info);
/* Wait for a server INFO in d, answer it 200 (signed), append its body to
 * out.  Returns 1, 0 on timeout, -1 on error. */
int tclient_wait_info(struct tclient *t, struct tdialog *d, struct buf *out, int timeout_ms);

#endif
