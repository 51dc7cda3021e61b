/*
 * web_internal.h - what web.c (connections, sessions, sign-in) and
 * web_pages.c (the pages) share.  Not for other modules.
 */
#ifndef PCHAT_WEB_INTERNAL_H
#define PCHAT_WEB_INTERNAL_H

#include "http.h"
#include "sip.h"
#include "web.h"
#include "xml_out.h"

#define WEB_TOKEN_HEX 64            /* session ids and CSRF tokens: 32 random bytes */
#define WEB_PAGE_MAX (512u * 1024)  /* bytes of one answer's body */

struct web_session {
	char id[WEB_TOKEN_HEX + 1];     /* "" = free slot */
	char csrf[WEB_TOKEN_HEX + 1];
	char user[STORE_URI_MAX];
	int64_t user_created_us;
	uint8_t hash_tag[16];
	int64_t expires_ms;             /* loop clock */
};

/* One request being answered. */
struct web_req {
	struct web *w;
	struct conn *c;
	struct web_conn *wc;
	const struct sip_msg *m;
	const struct config *cfg;
	struct store *st;
	struct chat_rooms *chat;
	int post;
	char path[HTTP_PATH_MAX];       /* decoded */
	const char *sub;                /* path after WEB_PREFIX "/" ("" for the root) */
	const char *query;
	size_t qlen;
	const char *body;
	size_t blen;
	struct web_session *s;          /* the session, or NULL */
	const char *user;               /* signed-in user (session or NTLM), or NULL */
	int site_admin;
	int answered;
	struct xml_out out;             /* the body being built */
};

/* Answers (web.c).  Each adds the security headers every answer carries. */
void web_answer(struct web_req *r, int code, const char *reason, const char *ctype, const char *extra,
                const void *body, size_t len);
/* Send r->out as a text/html page with code. */
void web_send_page(struct web_req *r, int code, const char *reason);
/* 303 See Other to WEB_PREFIX "/" sub (sub may hold a query). */
void web_redirect(struct web_req *r, const char *sub, const char *extra);
/* A page with a title and one message (escaped). */
void web_message(struct web_req *r, int code, const char *reason, const char *title, const char *text);
/* The CSRF field of a POST matches the session's (constant time). */
int web_csrf_ok(const struct web_req *r);
/* A form (or query, when q) field, decoded; 1, 0 absent, < 0 bad. */
int web_field(const struct web_req *r, int q, const char *name, char *out, size_t cap);

/* Page layout (web_pages.c). */
void web_head(struct web_req *r, const char *title);
void web_tail(struct web_req *r);
/* Text escaped for HTML (xo_esc, one escaper). */
void web_text(struct web_req *r, const char *s);
/* The sign-in page; pre = the pre-sign-in token for its hidden field. */
void web_signin_page(struct web_req *r, int code, const char *reason, const char *pre, const char *error);
/* Every page of a signed-in user (web_pages.c). */
void web_route(struct web_req *r);
/* Compiled-in files: the stylesheet and the script. */
extern const char web_css[], web_js[];

#endif
