/*
 * sip_server.h - the SIP side of pchat on top of net.c: framing of the TLS
 * byte stream into messages, the method table with its "authenticated yet?"
 * gate, responses, and (with the registrar) REGISTER/NTLM, SUBSCRIBE,
 * dialogs.  It never calls the chat service directly: INFO bodies and dialog
 * ends go to callbacks registered at start-up.
 */
#ifndef PCHAT_SIP_SERVER_H
#define PCHAT_SIP_SERVER_H

#include "config.h"
#include "net.h"
#include "store.h"

struct sip_server;

/* cfg, st and n must outlive the server.  Returns NULL on out of memory. */
struct sip_server *sip_server_new(const struct config *cfg, struct store *st, struct net *n);
void sip_server_free(struct sip_server *s);

/* Handlers to pass to net_listen for the SIP listener. */
const struct net_handlers *sip_server_handlers(struct sip_server *s);

#endif
