/*
 * sip_server_internal.h - the SIP server's own state, shared by sip_server.c and
 * frontend.c (the front-end hop's dialogs, routing and identity) and by no
 * one else.
 */
#ifndef PCHAT_SIP_SERVER_INTERNAL_H
#define PCHAT_SIP_SERVER_INTERNAL_H

#include "auth.h"
#include "lockout.h"
#include "sip.h"
#include "sip_server.h"

#define SIP_ID_MAX 128          /* bytes of Call-ID and tags we keep */
#define SIP_CONTACT_MAX 512
#define SIP_DIALOGS_PER_CONN 16
#define NTLM_MSG_MAX 4096
#define SIP_USER_CHECK_MS 2000  /* as often as admin changes reach rooms (xccos) */
#define HASH_TAG_LEN 8

enum sa_state { SA_NONE, SA_CHALLENGED, SA_ESTABLISHED };

struct sip_dialog {
	uint64_t id;
	enum sip_dialog_role role;
	struct conn *conn;
	struct sip_conn *sc;
	char call_id[SIP_ID_MAX];
	char remote_tag[SIP_ID_MAX];
	char local_tag[17];
	char local_uri[CONFIG_STR_MAX];     /* the URI the client invited */
	char remote_uri[STORE_URI_MAX];     /* the client's From URI */
	char remote_contact[SIP_CONTACT_MAX];
	uint32_t cseq_out;
	int64_t active_ms;
	void *app;
	struct sip_dialog *next;
	struct sip_server *server;
	/* Behind a front end (frontend.h): the dialog is the server's, not its
	 * connection's; conn and sc are where its user's requests came last
	 * (NULL once that connection is gone), route its route set. */
	int frontend;
	char *route;
};

/* Per-connection SIP state, in conn->proto. */
struct sip_conn {
	struct sip_server *server;
	struct conn *conn;
	size_t need;                /* bytes the message at the head needs; 0 = unknown */
	enum sa_state sa;
	uint8_t challenge[8];
	char opaque[9];
	struct auth_keys keys;
	uint32_t snum;              /* our signed-message counter */
	uint32_t srand_base;        /* random; srand of dialog INFOs = base + snum */
	int send_at_mark;           /* 1: the next message goes to out_mark, not the end */
	size_t out_mark;
	char user[STORE_URI_MAX];   /* signed-in user; "" = nobody yet */
	/* The users row the session was signed in with: a row re-created or
	 * given a new password no longer matches (session_revoked). */
	int64_t user_created_us;
	uint8_t hash_tag[HASH_TAG_LEN];
	unsigned auth_failures;     /* sign-ins refused on this connection */
	int64_t hold_until_ms;      /* set by a handler: leave the request in c->in until then */
	int64_t hold_timer;         /* > 0 while a held request waits; input is not read meanwhile */
	char tag[9];                /* To tag for responses outside dialogs */
	int registered;
	struct sip_dialog *dialogs;
	size_t ndialogs;
	int frontend;               /* a verified front end's connection: many users */
};

struct sip_server {
	const struct config *cfg;
	struct store *store;
	struct net *net;
	struct loop *loop;
	struct net_handlers handlers;
	struct sip_callbacks cb;
	struct sip_limits limits;
	struct sip_msg msg;         /* the inbound message being handled */
	struct sip_msg out_msg;     /* our own message, parsed for its signature */
	struct buf scratch;         /* dialog INFOs are built here, then queued */
	uint64_t next_dialog_id;
	int64_t sweep_timer;
	char nb_domain[16];
	struct lockout *lockout;
	uint8_t secret[16];         /* keys hash_tag */
	int64_t user_timer;
	int64_t users_version;      /* store_data_version at the last complete check */
	int users_version_known;
	int users_check_failed;
	char rm_url[CONFIG_STR_MAX + 64];   /* room management, internal; "" = not served */
	struct net_handlers fe_handlers;    /* the [frontend] listener's */
	struct sip_dialog *fe_dialogs;      /* every dialog opened through a front end */
	int stopping;               /* sip_server_free: net is gone, nothing more is sent */
	/* Our connections to front-end hops, in their handshake, and hops that
	 * failed lately (not retried before retry_ms: no storm of connects
	 * towards a front end that is down). */
	struct fe_hop {
		char hop[CONFIG_STR_MAX + 8];   /* "host:port"; "" = free */
		struct conn *c;
		int64_t retry_ms;
	} fe_hops[4];
};

struct sip_request_ctx {
	struct sip_server *s;
	struct conn *c;
	struct sip_conn *sc;
	const struct sip_msg *m;
	const char *user;           /* who the request speaks for: sc->user, or the front end's word */
	char fe_user[STORE_URI_MAX];
};

/* sip_server.c */
void dialog_close(struct sip_server *s, struct sip_dialog *d, const char *why);
void sip_on_open(struct conn *c, void *arg);
void sip_on_close(struct conn *c, void *arg);
void sip_on_input(struct conn *c, void *arg);

/* frontend.c: the front-end hop */
size_t frontend_user_dialogs(const struct sip_server *s, const char *user);
/* Set r->user from the front end's word; 0, or -1 (logged). */
int frontend_request_user(struct sip_request_ctx *r);
int frontend_send_info(struct sip_server *s, struct sip_dialog *d, const char *body, size_t len);
/* End the front-end dialogs of users deleted or disabled (the admin CLI). */
void frontend_check_users(struct sip_server *s);
/* End the front-end dialogs idle past Session-Expires. */
void frontend_sweep(struct sip_server *s);
void sip_fe_on_open(struct conn *c, void *arg);
void sip_fe_on_close(struct conn *c, void *arg);

#endif
