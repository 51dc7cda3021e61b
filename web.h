/*
 * web.h - the room-management web service ("Persistent Chat web service for
 * chat room management"), on the HTTPS listener of files.c: every request
 * whose path is under /PersistentChat/RM/ comes here (mounted with files_mount).
 *
 * Sign-in by a password form or HTTP NTLM (NTLMv2, auth.c), both against
 * the users in the store and through the SIP sign-in's throttling
 * (lockout.h, the same table); a session cookie (random, Secure, HttpOnly,
 * SameSite=Strict, [web] session_minutes) in a bounded table, revoked when
 * the user's row changes (password, disabled, deleted); a CSRF token per
 * session on every POST.  The pages (web_pages.c) and the RMCommand handler
 * (rm_command.c) change rooms only through rooms_manage.c, the rules the
 * CLI shares.
 */
#ifndef PCHAT_WEB_H
#define PCHAT_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "net.h"
#include "store.h"

#define WEB_PREFIX "/PersistentChat/RM"

struct web;
struct web_conn;
struct lockout;

/* The web service over st; lo is the SIP sign-in's lockout table (shared,
 * so guesses count alike on both doors).  NULL with err set on failure. */
struct web *web_new(const struct config *cfg, struct store *st, struct loop *l, struct lockout *lo, char *err,
                    size_t errlen);
void web_free(struct web *w);

/* The chat service, for live notices of changes (rooms_manage / chat_rooms). */
struct chat_rooms;
void web_set_chat(struct web *w, struct chat_rooms *chat);

/* 1 when a request target (origin or absolute form, not decoded) is the
 * web service's: WEB_PREFIX, or a path under WEB_PREFIX "/". */
int web_claims(const char *target, size_t len);

/* Serve the request(s) waiting in c->in (files.c calls this once the head
 * of a claimed request is in, and on every input after).  *wc is the
 * connection's state, made on the first call; the connection stays open
 * for more requests (keep-alive, for the NTLM handshake) up to a bound.
 * Returns 1 when the next request waiting is not the web service's (it is
 * left in c->in for files.c), else 0. */
int web_input(struct web *w, struct conn *c, struct web_conn **wc);
/* 1 when the connection has been idle between requests longer than its
 * keep-alive allows (files.c's sweep closes it). */
int web_conn_idle(const struct web *w, const struct web_conn *wc);
void web_conn_free(struct web_conn *wc);

/* The web service as an application of the files listener (files_mount). */
struct files_mount;
void web_mount(struct web *w, struct files_mount *m);

#endif
