/*
 * xccos_internal.h - shared by xccos.c (envelopes, the command table) and
 * chat_rooms.c (rooms in memory, the rules, notifications) only.  The chat
 * service's one context, struct xccos, is owned by pchat.c's server through
 * xccos_new/xccos_free; a joined room (struct chat_room) lives while someone
 * is in it; a channel dialog's struct chat_session hangs off its app slot.
 */
#ifndef PCHAT_XCCOS_INTERNAL_H
#define PCHAT_XCCOS_INTERNAL_H

#include <libxml/tree.h>

#include "xccos.h"
#include "xml_out.h"

#define CHAN_PREFIX "ma-chan://"
/* aib keys: an ordinary participant, a channel operator (xccos.md §4). */
#define ROLE_KEY_PARTICIPANT "3984"
#define ROLE_KEY_OPERATOR "12276"
#define REPLY_MAX (4u << 20)            /* hard cap on one envelope we send */
#define ROOM_CHECK_MS 2000              /* how often admin changes reach rooms in use */

struct chat_member {
	struct sip_dialog *d;
	int roles;
};

/* A room someone has joined.  Freed when its last member leaves. */
struct chat_room {
	int64_t id;
	char guid[STORE_GUID_LEN + 1];
	struct chat_member *members;
	size_t n, cap;
};

/* Per channel dialog: the rooms it joined (ids). */
struct chat_session {
	int64_t *rooms;
	size_t n, cap;
};

struct xccos {
	const struct config *cfg;
	struct store *store;
	struct loop *loop;
	struct sip_callbacks cb;
	uint64_t next_envid;
	struct chat_room **rooms;
	size_t nrooms, cap;
	int64_t check_timer;
	struct files *files;
};

struct xccos_req {
	struct xccos *x;
	struct sip_dialog *d;
	const struct xccos_envelope *env;
	xmlNodePtr node;        /* the cmd (or grpchat) element */
	int status;             /* SIP status for the INFO */
};

/* What a user may do with a room: nothing, find it, or join (and so read,
 * and post unless it is an auditorium). */
enum chat_access { ACCESS_NONE = 0, ACCESS_SEE = 1, ACCESS_JOIN = 2 };
enum join_result { JOIN_OK, JOIN_NOT_FOUND, JOIN_DENIED, JOIN_ERROR };

/* xccos.c: envelopes and the request's share of the pass transaction. */
void xccos_begin_envelope(struct xccos *x, struct xml_out *o);
void xccos_send_envelope(struct sip_dialog *d, struct xml_out *o);
void xccos_room_uri(struct xml_out *o, struct xccos *x, const char *guid);
int xccos_tx(struct xccos *x);
int xccos_tx_done(struct xccos *x, int rc);

/* chat_rooms.c */
struct chat_room *chat_room_find(struct xccos *x, int64_t id);
struct chat_room *chat_room_get(struct xccos *x, const struct store_room *r);
void chat_room_drop_if_empty(struct xccos *x, struct chat_room *cr);
struct chat_member *chat_member_find(struct chat_room *cr, const struct sip_dialog *d);
int chat_member_add(struct chat_room *cr, struct sip_dialog *d, int roles);
void chat_member_remove(struct chat_room *cr, const struct sip_dialog *d);
int chat_session_add(struct chat_session *s, int64_t room_id);
void chat_session_remove(struct chat_session *s, int64_t room_id);
enum chat_access chat_room_access(struct xccos *x, const struct store_room *r, const char *user, int *roles);
int chat_may_post(const struct store_room *r, int roles);
const char *chat_role_key(int roles);
void chat_notify_join(struct xccos *x, struct chat_room *cr, struct sip_dialog *d, int roles);
void chat_part_notice(struct xccos *x, struct xml_out *o, const char *guid, const char *user);
void chat_notify_part(struct xccos *x, struct chat_room *cr, const char *user, const struct sip_dialog *skip);
void chat_leave(struct xccos *x, struct chat_room *cr, struct sip_dialog *d, int unfollow);
/* Join d to the room with this GUID; on success r holds the room and *out
 * its in-memory entry. */
enum join_result chat_join(struct xccos *x, struct sip_dialog *d, const char *guid, struct store_room *r,
                           struct chat_room **out);
/* The loop timer (every ROOM_CHECK_MS) that applies admin changes. */
int64_t chat_check_rooms(struct loop *l, void *arg);

#endif
