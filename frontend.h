/*
 * frontend.h - pchat as the chat pool behind a SIP front end (a Lync/SfB
 * Front End pool, Kamailio, OpenSIPS): the [frontend] listener, which takes
 * mutual TLS from the named peers only, and the rules of that hop.
 *
 * The front end has signed its users in; on its connection each request
 * speaks for the user it asserts (P-Asserted-Identity, else From), with no
 * NTLM and no MS-SIPAE signatures.  Users the store does not know are created
 * on first sight with a random password hash nobody knows, so they exist for
 * roles, history and files but cannot sign in standalone.  The SIP side
 * (sip_server.c) keys the dialogs of that hop by Call-ID, tags and user, and
 * routes its own INFOs by the route set the front end recorded.
 */
#ifndef PCHAT_FRONTEND_H
#define PCHAT_FRONTEND_H

#include <stddef.h>

#include <mbedtls/x509_crt.h>

#include "config.h"
#include "net.h"
#include "sip.h"
#include "store.h"

/* The front-end connection's output cap, in multiples of [limits]
 * max_output_bytes: one connection carries many users' fan-out. */
#define FRONTEND_OUTPUT_FACTOR 64

/* Start the [frontend] listener when listen is set.  Returns 1 listening, 0
 * not configured, -1 with err set. */
int frontend_listen(const struct config *cfg, struct net *n, const struct net_handlers *h,
                    char *err, size_t errlen);

/* 0 if the certificate names one of peers (a dNSName of its subjectAltName,
 * or its subject CN, case-insensitively), with that name in name; else -1
 * with the first name the certificate carries (or "-") in name, for logs. */
int frontend_peer_allowed(const char *peers, const mbedtls_x509_crt *crt, char *name, size_t namelen);

/* The user a request from the front end speaks for: P-Asserted-Identity
 * when present, else From, canonical (admin_user_uri).  Created in the store
 * when unknown.  Returns 0, or -1 with *why set (no usable URI, disabled,
 * store error). */
int frontend_user(struct store *st, struct net *n, const char *domain, const struct sip_msg *m,
                  char *uri, size_t urilen, const char **why);

/* The route set of a dialog the front end opened (RFC 3261 §12.1.1: the
 * Record-Route values of the request, in order) as "Route: ...\r\n" lines,
 * malloc'd ("" when there are none); NULL when out of memory or when a
 * value is unsafe to copy. */
char *frontend_route_set(const struct sip_msg *m);
#define FRONTEND_ROUTE_SET_MAX 4096
/* The request's Record-Route headers, copied for its 2xx, into out ("" when
 * they do not fit; frontend_route_set has refused unsafe ones already). */
void frontend_record_route(const struct sip_msg *m, char *out, size_t outlen);

#endif
