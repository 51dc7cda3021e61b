/*
 * sip_server.h - the SIP side of pchat on top of net.c: framing of the TLS
 * byte stream into messages, the method table with its "authenticated yet?"
 * gate, REGISTER with NTLM (MS-SIPAE) and message signing, provisioning
 * SUBSCRIBE, and the dialogs clients open to the lookup and chat URIs.
 *
 * It never calls the chat service: INFO bodies, dialog starts and dialog ends
 * go to callbacks registered at start-up (design.md), and the chat service
 * answers through sip_dialog_send_info.
 */
#ifndef PCHAT_SIP_SERVER_H
#define PCHAT_SIP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net.h"
#include "store.h"

struct sip_server;
struct sip_dialog;

enum sip_dialog_role { SIP_DIALOG_LOOKUP, SIP_DIALOG_CHANNEL };

/* What the chat service hears.  A dialog passed to on_dialog_close is freed
 * right after the call returns.  on_info gets the text/plain body of an INFO
 * and returns the SIP status to answer it with (200; 403, 413 for a refused
 * post; 503 when the store cannot take it); its replies, queued during the
 * call, go out in the same flush. */
struct sip_callbacks {
	void (*on_dialog_open)(void *arg, struct sip_dialog *d);
	int (*on_info)(void *arg, struct sip_dialog *d, const char *body, size_t len);
	void (*on_dialog_close)(void *arg, struct sip_dialog *d);
	void *arg;
};

/* cfg, st and n must outlive the server.  Returns NULL on out of memory. */
struct sip_server *sip_server_new(const struct config *cfg, struct store *st, struct net *n,
                                  struct loop *l);
void sip_server_free(struct sip_server *s);
/* The sign-in throttling table, shared with the web service's sign-in so
 * guesses count alike on both doors. */
struct lockout *sip_server_lockout(struct sip_server *s);
void sip_server_set_callbacks(struct sip_server *s, const struct sip_callbacks *cb);
/* The room-management page's internal URL (PersistentChatWebManagerUriInt
 * in provisioning; the external one is [web] external_url, else this);
 * "" or NULL: not served, neither is sent. */
void sip_server_set_room_management_url(struct sip_server *s, const char *url);

/* Handlers to pass to net_listen for the SIP listener. */
const struct net_handlers *sip_server_handlers(struct sip_server *s);
/* And for the [frontend] listener (frontend.h): mutual TLS from a named
 * peer, many users per connection, identity asserted by the peer. */
const struct net_handlers *sip_server_frontend_handlers(struct sip_server *s);

/* Distinct users signed in over SIP now (`pchat status`); -1 when out of
 * memory. */
long sip_server_users_signed_in(struct sip_server *s);

/* Send a server-originated INFO (Content-Type text/plain) in the dialog:
 * From = the URI the client invited, our own CSeq counter, signed when the
 * connection has a security association.  Queues only; never frees anything.
 * Returns 0, or -1 if the connection is gone or over its output cap. */
int sip_dialog_send_info(struct sip_dialog *d, const char *body, size_t len);

uint64_t sip_dialog_id(const struct sip_dialog *d);
enum sip_dialog_role sip_dialog_role(const struct sip_dialog *d);
/* The signed-in user's URI ("sip:alice@example.org"), and the URI it invited. */
const char *sip_dialog_user(const struct sip_dialog *d);
const char *sip_dialog_local_uri(const struct sip_dialog *d);
/* The most body one server INFO in d may carry so that it arrives: behind a
 * front end, [frontend] max_message_bytes (what the front end relays, less
 * room for the headers); SIZE_MAX on a client's own connection (only the
 * output cap applies). */
size_t sip_dialog_max_body(const struct sip_dialog *d);
/* Slot for the chat service's per-dialog state. */
void *sip_dialog_app(const struct sip_dialog *d);
void sip_dialog_set_app(struct sip_dialog *d, void *app);

#endif
