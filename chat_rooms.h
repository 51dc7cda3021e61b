/*
 * chat_rooms.h - the rooms in use, below the command face (xccos.c): the
 * table of rooms someone has joined (struct chat_room, one entry per joined
 * dialog), each channel dialog's session (the rooms it joined, hung off the
 * dialog's app slot), the rules of who may find, join and post, join, part
 * and post as transactions with their compliance events, the notices, and
 * the one fan-out of an envelope to a room.  It sends envelopes through
 * chat_out.h and knows nothing of commands.
 *
 * Every store write joins the pass's transaction (store_pass_write), which
 * pchat.c commits before any answer is flushed.
 */
#ifndef PCHAT_CHAT_ROOMS_H
#define PCHAT_CHAT_ROOMS_H

#include "chat_out.h"
#include "config.h"
#include "loop.h"
#include "sip_server.h"
#include "store.h"
#include "wall.h"

struct chat_rooms;
struct chat_room;               /* a room someone is in; opaque */

/* l may be NULL (no periodic check of admin changes, for tests).  co, the
 * envelope numbering, must outlive the table. */
struct chat_rooms *chat_rooms_new(const struct config *cfg, struct store *st, struct loop *l, struct chat_out *co);
void chat_rooms_free(struct chat_rooms *cs);

/* ---- the table ---- */
struct chat_room *chat_room_find(struct chat_rooms *cs, int64_t id);
struct chat_room *chat_room_find_guid(struct chat_rooms *cs, const char *guid);
/* How many dialogs are in the room with this id (0 if nobody). */
/* How many rooms someone has joined now (for status and metrics). */
size_t chat_rooms_in_use(const struct chat_rooms *cs);
size_t chat_room_count(struct chat_rooms *cs, int64_t id);
/* The dialogs in a room, for rosters: i < chat_room_size(cr). */
size_t chat_room_size(const struct chat_room *cr);
const char *chat_room_member_user(const struct chat_room *cr, size_t i);
int chat_room_member_roles(const struct chat_room *cr, size_t i);

/* ---- sessions (one per channel dialog) ---- */
/* Give a new channel dialog its (empty) session; the table knows every
 * open session, to push invitations to users who are online. */
void chat_session_open(struct chat_rooms *cs, struct sip_dialog *d);
/* The dialog is going (BYE, idle expiry, lost connection): an implicit part
 * of every room it is in, the rooms stay followed. */
void chat_session_close(struct chat_rooms *cs, struct sip_dialog *d);

/* ---- the rules ---- */
/* What a user may do with a room: nothing, find it, or join (and so read,
 * and post unless it is an auditorium). */
enum chat_access { ACCESS_NONE = 0, ACCESS_SEE = 1, ACCESS_JOIN = 2 };
enum chat_access chat_room_access(struct chat_rooms *cs, const struct store_room *r, const char *user, int *roles);
/* chat_wall_admits, the category's ethical wall: wall.h. */
int chat_may_post(const struct store_room *r, int roles);
/* Large rooms ([chat] participant_update_limit): 1 when cr holds more
 * joined clients than the limit.  roster_lists: whether member i of cr
 * belongs in a roster sent to viewer (in a large room only the viewer's own
 * entries and the managers and presenters do). */
int chat_room_is_large(const struct chat_rooms *cs, const struct chat_room *cr);
int chat_roster_lists(const struct chat_rooms *cs, const struct chat_room *cr, size_t i,
                      const struct sip_dialog *viewer);
const char *chat_role_key(int roles);
/* files.c's rights callback (arg = the struct chat_rooms): what the room
 * rules let user do in r, as FILES_MAY_READ | FILES_MAY_POST. */
unsigned chat_file_rights(void *arg, const struct store_room *r, const char *user);

/* ---- actions ---- */
enum join_result { JOIN_OK, JOIN_NOT_FOUND, JOIN_DENIED, JOIN_ERROR };
/* Join d to the room with this GUID; on success r holds the room and *out
 * its in-memory entry. */
enum join_result chat_join(struct chat_rooms *cs, struct sip_dialog *d, const char *guid, struct store_room *r,
                           struct chat_room **out);
/* d parts the room with this GUID on purpose (the room is unfollowed);
 * 0, or -1 if d is not in it. */
int chat_part(struct chat_rooms *cs, struct sip_dialog *d, const char *guid);

/* The room with this GUID if d is in it and may post there now (r is
 * filled in), else NULL.  No side effect. */
struct chat_room *chat_post_check(struct chat_rooms *cs, struct sip_dialog *d, const char *guid,
                                  struct store_room *r);
enum post_result { POST_OK, POST_TOO_LARGE, POST_ERROR };
/* A post that passed chat_post_check: stored with its CHAT event in the
 * pass's transaction, then sent to every dialog in the room, the author's
 * included (clients do not echo locally).  extra is the clean formatting
 * kept with the text, attrs the client's own attributes of the post (clean
 * XML, each ` name="value"`; "" when none): what members are shown is what
 * compliance receives, so the CHAT event holds the text, then a line with
 * <attributes .../> when there are attrs, then the formatting. */
enum post_result chat_post(struct chat_rooms *cs, struct chat_room *cr, struct sip_dialog *d,
                           const struct store_room *r, const char *text, size_t text_len, const char *extra,
                           size_t extra_len, const char *attrs, size_t attrs_len);

/* Reading r's history is a BACKCHAT event whose content says what was
 * read (what, what_len: "last cnt=N returned=M" or "search ... words=...");
 * STORE_OK or why not. */
int chat_history_read(struct chat_rooms *cs, const struct store_room *r, const char *user, const char *what,
                      size_t what_len);
/* Drop d's user's follows of these rooms (access to them was lost). */
void chat_unfollow_lost(struct chat_rooms *cs, struct sip_dialog *d, const int64_t *ids, size_t n);

/* files.c's announce (through the command face's callback): a message about an
 * uploaded file, stored and sent to everyone in its room. */
struct files_upload_info;
void chat_announce_file(struct chat_rooms *cs, const struct files_upload_info *info);

/* ---- changes made in this process (room management, rooms_manage.h) ----
 * Applied at once rather than at the next periodic check: what changed, as
 * bits.  ACCESS: privacy, category, disabled, roles or walls: whoever lost
 * the right to be in the room is parted (and told); ROLES: participants
 * learn of role changes (ntc:join with the new key); INFO: participants
 * learn the new name, description and topic; INVITES: pending invitations
 * to the room are pushed to their users' open channel dialogs.  Called
 * after the change is in the pass's transaction; the notices are flushed
 * after its commit. */
enum { CHAT_CHANGED_INFO = 1, CHAT_CHANGED_ROLES = 2, CHAT_CHANGED_ACCESS = 4, CHAT_CHANGED_INVITES = 8 };
void chat_room_changed(struct chat_rooms *cs, int64_t room_id, unsigned what);

/* The one fan-out: the envelope in o to every dialog in the room except
 * skip (NULL: everyone).  o is not freed. */
void chat_room_send(const struct chat_room *cr, struct xml_out *o, const struct sip_dialog *skip);

#endif
