/*
 * tchat.h - chat helpers for the end-to-end tests, on top of tclient: a user
 * signed in with an open channel dialog, XCCOS envelopes, waiting for what
 * the server sends, the CLI, the store (sqlite3 tool), and the HTTPS file
 * endpoint.  Call tchat_use(&srv) once the server is started.
 */
#ifndef PCHAT_TCHAT_H
#define PCHAT_TCHAT_H

#include <stddef.h>
#include <stdint.h>

#include "tclient.h"

/* A signed-in user with its channel dialog. */
struct tuser {
	const char *name;       /* "alice" (sip:alice@example.org) */
	struct tclient t;
	struct tdialog d;
	struct buf in;          /* server INFO bodies received, not yet consumed */
};

/* The server the helpers below talk to. */
void tchat_use(const struct tserver *s);

long tchat_now_ms(void);
/* 1 if b holds needle. */
int tchat_has(const struct buf *b, const char *needle);
/* How many times needle is in b. */
long tchat_count_of(const struct buf *b, const char *needle);
/* Lines of the server log holding needle. */
int tchat_log_count(const char *needle);

/* Connect, sign in as aor (password "pw") and INVITE the channel; 0 or -1.
 * tchat_sign_in uses sip:NAME@example.org. */
int tchat_open(struct tuser *u, const char *aor);
int tchat_sign_in(struct tuser *u);
void tchat_sign_out(struct tuser *u);

/* Read server INFOs into u->in until needle shows up (1) or ms pass (0). */
int tchat_wait_for(struct tuser *u, const char *needle, int ms);
void tchat_clear(struct tuser *u);

/* Send one XCCOS envelope holding inner (u->in cleared first); then wait for
 * want if not NULL.  Returns the SIP status. */
int tchat_send(struct tuser *u, const char *want, const char *inner);
/* The same, printf-style; _want waits for want, tchat_xccos for the rpl of a
 * <cmd id="cmd:NAME"> inner. */
int tchat_xccos_want(struct tuser *u, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int tchat_xccos(struct tuser *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cmd:join room guid; 200 if its resp is 200, else -1. */
int tchat_join(struct tuser *u, const char *guid);
/* grpchat text to room guid as u; the SIP status. */
int tchat_post(struct tuser *u, const char *guid, const char *text);

/* Run the CLI (up to 10 arguments, NULL-terminated); its first output line
 * (a static buffer), or NULL if it failed. */
char *tchat_cli(const char *first, ...);
/* The GUID part of a room URI ("none" if uri is NULL), into out[40]. */
void tchat_guid_of(const char *uri, char *out);

/* sqlite3 on the server's store: the first number the query prints (-1 on
 * error; _countf builds the query printf-style), or the exit status of a
 * statement. */
long tchat_sql_count(const char *query);
long tchat_sql_countf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tchat_sql_exec(const char *sql);

/* ---- files: tokens over XCCOS and the HTTPS endpoint ---- */

/* Deterministic bytes (xorshift), so any offset error shows. */
void tchat_fill(unsigned char *p, size_t n, uint32_t seed);
void tchat_sha_hex(const void *p, size_t n, char out[65]);

struct ttoken {
	char token[40];
	char url[160];
	uint16_t port;
};

/* Ask for an upload (upload = 1) or download token for name_xml in room
 * guid.  Returns the resp code (200 with *tk filled), or -1. */
int tchat_get_token(struct tuser *u, int upload, const char *guid, const char *name_xml, struct ttoken *tk);

struct thttp {
	struct tclient t;
	struct buf raw;         /* everything received */
	int status;
	const unsigned char *body;
	size_t body_len;
	char head[2048];        /* the response head as text */
};

int thttp_open(struct thttp *h, uint16_t port);
void thttp_close(struct thttp *h);
/* Read until the server closes (or timeout), then split status, head, body. */
int thttp_read(struct thttp *h, int timeout_ms);
/* A whole request on a new connection; the status (h holds the rest). */
int thttp_do(struct thttp *h, uint16_t port, const char *head, const void *body, size_t blen);
int thttp_put_file(const struct ttoken *tk, const void *data, size_t len, struct thttp *h);
int thttp_get_file(const struct ttoken *tk, struct thttp *h);

#endif
