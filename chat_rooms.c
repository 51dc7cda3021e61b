/*
 * chat_rooms.c - the rooms people are in, kept in memory (one entry per
 * joined dialog), the rules of who may find, join and post, join, part and
 * post as transactions with their compliance events, the join/part notices,
 * the one fan-out, and the periodic check that applies admin changes to
 * rooms in use.  See chat_rooms.h.
 */
#include "chat_rooms.h"
#include "base.h"
#include "compliance.h"
#include "files.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

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

/* Per channel dialog: the rooms it joined (ids), linked into the table's
 * list of open sessions. */
struct chat_session {
	int64_t *rooms;
	size_t n, cap;
	struct sip_dialog *d;
	struct chat_session *prev, *next;
};

struct chat_rooms {
	const struct config *cfg;
	struct store *store;
	struct loop *loop;
	struct chat_out *out;
	struct chat_room **rooms;
	size_t nrooms, cap;
	int64_t check_timer;
	struct chat_session *sessions;  /* every open channel dialog's */
};

static int64_t chat_check_rooms(struct loop *l, void *arg);

struct chat_rooms *chat_rooms_new(const struct config *cfg, struct store *st, struct loop *l, struct chat_out *co)
{
	struct chat_rooms *cs = calloc(1, sizeof *cs);

	if (cs == NULL)
		return NULL;
	cs->cfg = cfg;
	cs->store = st;
	cs->loop = l;
	cs->out = co;
	if (l)
		cs->check_timer = loop_add_timer(l, ROOM_CHECK_MS, chat_check_rooms, cs);
	return cs;
}

void chat_rooms_free(struct chat_rooms *cs)
{
	if (cs == NULL)
		return;
	if (cs->check_timer > 0)
		loop_del_timer(cs->loop, cs->check_timer);
	for (size_t i = 0; i < cs->nrooms; i++) {
		free(cs->rooms[i]->members);
		free(cs->rooms[i]);
	}
	free(cs->rooms);
	free(cs);
}

/* ---- transactions ------------------------------------------------------------------ */

/* Open one request's writes in the pass's transaction (store_pass_write);
 * STORE_OK or an error.  Every call is paired with chat_tx_done. */
static int chat_tx(struct chat_rooms *cs)
{
	int rc = store_pass_write(cs->store);

	if (rc != STORE_OK)
		log_warn("event=store-begin reason=\"%s\"", store_strerror(rc));
	return rc;
}

/* End the request's writes: rc is how they went; the result is what the
 * request may answer (its writes are taken back unless it is STORE_OK). */
static int chat_tx_done(struct chat_rooms *cs, int rc)
{
	return store_pass_write_end(cs->store, rc);
}

/* ---- rooms in memory ---------------------------------------------------------------- */

struct chat_room *chat_room_find(struct chat_rooms *cs, int64_t id)
{
	for (size_t i = 0; i < cs->nrooms; i++)
		if (cs->rooms[i]->id == id)
			return cs->rooms[i];
	return NULL;
}

struct chat_room *chat_room_find_guid(struct chat_rooms *cs, const char *guid)
{
	for (size_t i = 0; i < cs->nrooms; i++)
		if (strcmp(cs->rooms[i]->guid, guid) == 0)
			return cs->rooms[i];
	return NULL;
}

size_t chat_rooms_in_use(const struct chat_rooms *cs)
{
	return cs->nrooms;
}

size_t chat_room_count(struct chat_rooms *cs, int64_t id)
{
	struct chat_room *cr = chat_room_find(cs, id);

	return cr ? cr->n : 0;
}

size_t chat_room_size(const struct chat_room *cr)
{
	return cr->n;
}

const char *chat_room_member_user(const struct chat_room *cr, size_t i)
{
	return sip_dialog_user(cr->members[i].d);
}

int chat_room_member_roles(const struct chat_room *cr, size_t i)
{
	return cr->members[i].roles;
}

static struct chat_room *chat_room_get(struct chat_rooms *cs, const struct store_room *r)
{
	struct chat_room *cr = chat_room_find(cs, r->id);

	if (cr)
		return cr;
	if (array_reserve(&cs->rooms, &cs->cap, cs->nrooms, sizeof *cs->rooms, 16) < 0)
		return NULL;
	cr = calloc(1, sizeof *cr);
	if (cr == NULL)
		return NULL;
	cr->id = r->id;
	memcpy(cr->guid, r->guid, sizeof cr->guid);
	cs->rooms[cs->nrooms++] = cr;
	return cr;
}

static void chat_room_drop_if_empty(struct chat_rooms *cs, struct chat_room *cr)
{
	if (cr->n > 0)
		return;
	for (size_t i = 0; i < cs->nrooms; i++) {
		if (cs->rooms[i] == cr) {
			cs->rooms[i] = cs->rooms[--cs->nrooms];
			break;
		}
	}
	free(cr->members);
	free(cr);
}

static struct chat_member *chat_member_find(struct chat_room *cr, const struct sip_dialog *d)
{
	for (size_t i = 0; i < cr->n; i++)
		if (cr->members[i].d == d)
			return &cr->members[i];
	return NULL;
}

static int chat_member_add(struct chat_room *cr, struct sip_dialog *d, int roles)
{
	if (array_reserve(&cr->members, &cr->cap, cr->n, sizeof *cr->members, 8) < 0)
		return -1;
	cr->members[cr->n++] = (struct chat_member){ d, roles };
	return 0;
}

static void chat_member_remove(struct chat_room *cr, const struct sip_dialog *d)
{
	for (size_t i = 0; i < cr->n; i++) {
		if (cr->members[i].d == d) {
			cr->members[i] = cr->members[--cr->n];
			return;
		}
	}
}

static int chat_session_add(struct chat_session *s, int64_t room_id)
{
	if (array_reserve(&s->rooms, &s->cap, s->n, sizeof *s->rooms, 8) < 0)
		return -1;
	s->rooms[s->n++] = room_id;
	return 0;
}

static void chat_session_remove(struct chat_session *s, int64_t room_id)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->rooms[i] == room_id) {
			s->rooms[i] = s->rooms[--s->n];
			return;
		}
	}
}

/* The one fan-out of an envelope to a room (posts, file announcements,
 * notices): the hot path of a busy room, so nothing but the sends. */
void chat_room_send(const struct chat_room *cr, struct xml_out *o, const struct sip_dialog *skip)
{
	for (size_t i = 0; i < cr->n; i++)
		if (cr->members[i].d != skip)
			chat_out_send(cr->members[i].d, o);
}

/* ---- rules ---------------------------------------------------------------------------- */

/* Lync's membership: the member role, or, in a room where nobody holds it,
 * a place on the category's allowed list (a room with an empty member list
 * takes its category's, Set-CsPersistentChatRoom).  An empty allowed list
 * makes nobody a member: it only means the category has no wall.  1, 0, or
 * a negative STORE_E_*. */
static int chat_is_member(struct chat_rooms *cs, const struct store_room *r, const char *user, int roles)
{
	int rc;

	if (roles & STORE_ROLE_MEMBER)
		return 1;
	if ((rc = store_room_has_members(cs->store, r->id)) != 0)
		return rc > 0 ? 0 : rc;
	return store_category_list_has(cs->store, r->category_id, STORE_CAT_ALLOWED, user);
}

/* What user may do with room r: nothing, find it, or join (and so read and,
 * unless it is an auditorium, post).  *roles gets the user's role bits.
 * The one rule every command and the file service follow, as Lync's: an
 * open room is joined by anyone past the category's wall; a closed or
 * secret one only by its members, managers and presenters included (the
 * UCMA how-to "Join and leave a Persistent Chat room session": a manager
 * or presenter who is not a member cannot join).  A closed room is found by
 * anyone; a secret one only by those holding a role in it, so a manager or
 * presenter who is not a member learns the room is there but may not join. */
enum chat_access chat_room_access(struct chat_rooms *cs, const struct store_room *r, const char *user, int *roles)
{
	int rc, member;

	*roles = 0;
	if (r->disabled)
		return ACCESS_NONE;
	rc = store_room_roles(cs->store, r->id, user);
	if (rc < 0)
		return ACCESS_NONE;
	*roles = rc;
	if (!chat_wall_admits(cs->store, r->category_id, user))
		return ACCESS_NONE;
	if (r->privacy == STORE_PRIVACY_OPEN)
		return ACCESS_JOIN;
	if ((member = chat_is_member(cs, r, user, *roles)) < 0)
		return ACCESS_NONE;
	if (member)
		return ACCESS_JOIN;
	return r->privacy == STORE_PRIVACY_CLOSED || *roles ? ACCESS_SEE : ACCESS_NONE;
}

int chat_may_post(const struct store_room *r, int roles)
{
	return r->type != STORE_ROOM_AUDITORIUM || (roles & (STORE_ROLE_PRESENTER | STORE_ROLE_MANAGER));
}

unsigned chat_file_rights(void *arg, const struct store_room *r, const char *user)
{
	int roles;

	if (chat_room_access(arg, r, user, &roles) != ACCESS_JOIN)
		return 0;
	return FILES_MAY_READ | (chat_may_post(r, roles) ? FILES_MAY_POST : 0u);
}

const char *chat_role_key(int roles)
{
	return roles & STORE_ROLE_MANAGER ? ROLE_KEY_OPERATOR : ROLE_KEY_PARTICIPANT;
}

/* ---- large rooms ---------------------------------------------------------------------- */

/* Lync's ParticipantUpdateLimit: a room with more joined clients than
 * [chat] participant_update_limit (0: no limit) is large.  There the
 * server "stops notifying users of changes to the participant list, and
 * does not send a participant list to new users" (UCMA ChatRoomSession,
 * BeginGetHiddenParticipantList).  pchat keeps the people who run the room
 * visible: its managers' and presenters' joins and parts still go to all,
 * and a roster lists the viewer, the managers and the presenters. */
static int chat_room_large(const struct chat_rooms *cs, size_t population)
{
	return cs->cfg->participant_update_limit > 0 && population > cs->cfg->participant_update_limit;
}

static int chat_roles_shown(int roles)
{
	return (roles & (STORE_ROLE_MANAGER | STORE_ROLE_PRESENTER)) != 0;
}

int chat_room_is_large(const struct chat_rooms *cs, const struct chat_room *cr)
{
	return chat_room_large(cs, cr->n);
}

int chat_roster_lists(const struct chat_rooms *cs, const struct chat_room *cr, size_t i,
                      const struct sip_dialog *viewer)
{
	return !chat_room_large(cs, cr->n) || chat_roles_shown(cr->members[i].roles) ||
	       strcmp(sip_dialog_user(cr->members[i].d), sip_dialog_user(viewer)) == 0;
}

/* ---- notifications ------------------------------------------------------------------- */

/* ntc:join about d's user to every other dialog in the room. */
static void chat_notify_join(struct chat_rooms *cs, struct chat_room *cr, struct sip_dialog *d, int roles)
{
	struct xml_out o;

	if (cr->n < 2 || (chat_room_large(cs, cr->n) && !chat_roles_shown(roles)))
		return;
	chat_out_begin(cs->out, &o);
	xo_str(&o, "<ntc id=\"ntc:join\" seqid=\"1\"><data><uib");
	xo_attr(&o, "uri", sip_dialog_user(d));
	xo_fmt(&o, "><aib key=\"%s\"", chat_role_key(roles));
	xo_attr(&o, "domain", cs->cfg->domain);
	xo_fmt(&o, " value=\"%s\"/></uib></data></ntc></xccos>", cr->guid);
	chat_room_send(cr, &o, d);
	buf_free(&o.b);
}

static void chat_part_notice(struct chat_rooms *cs, struct xml_out *o, const char *guid, const char *user)
{
	chat_out_begin(cs->out, o);
	xo_str(o, "<ntc id=\"ntc:part\" seqid=\"1\"><data><chanib uri=\"");
	chat_out_room_uri(cs->out, o, guid);
	xo_str(o, "\"><uib");
	xo_attr(o, "uri", user);
	xo_str(o, "/></chanib></data></ntc></xccos>");
}

/* ntc:part about user to every dialog in the room except skip. */
static void chat_notify_part(struct chat_rooms *cs, struct chat_room *cr, const char *user, const struct sip_dialog *skip)
{
	struct xml_out o;

	chat_part_notice(cs, &o, cr->guid, user);
	chat_room_send(cr, &o, skip);
	buf_free(&o.b);
}

/* ---- join and part ------------------------------------------------------------------- */

/* Take d out of room cr: record PART, remember what the user has read, tell
 * the others.  unfollow: the user parted on purpose. */
static void chat_leave(struct chat_rooms *cs, struct chat_room *cr, struct sip_dialog *d, int unfollow)
{
	const char *user = sip_dialog_user(d);
	struct chat_session *s = sip_dialog_app(d);
	struct chat_member *me = chat_member_find(cr, d);
	struct store_room r;
	int64_t latest = 0;
	/* Whether the room was large with the user still in it, as for the join. */
	int announce = !chat_room_large(cs, cr->n) || (me && chat_roles_shown(me->roles));

	chat_member_remove(cr, d);
	if (s)
		chat_session_remove(s, cr->id);
	if (chat_tx(cs) == STORE_OK) {
		int rc = store_room_get_id(cs->store, cr->id, &r);

		if (rc == STORE_OK)
			rc = compliance_record(cs->store, cs->cfg, "PART", &r, user, 0, NULL, 0);
		if (rc == STORE_OK && unfollow)
			rc = store_follow_del(cs->store, user, cr->id);
		else if (rc == STORE_OK && store_message_latest_id(cs->store, cr->id, &latest) == STORE_OK)
			rc = store_follow_mark_read(cs->store, user, cr->id, latest);
		if ((rc = chat_tx_done(cs, rc == STORE_E_NOTFOUND ? STORE_OK : rc)) != STORE_OK)
			log_warn("dialog=%llu event=part-not-recorded room=%s reason=\"%s\"", (unsigned long long)sip_dialog_id(d),
			         cr->guid, store_strerror(rc));
	}
	log_info("dialog=%llu event=part user=%s room=%s", (unsigned long long)sip_dialog_id(d), user, cr->guid);
	if (announce)
		chat_notify_part(cs, cr, user, d);
	chat_room_drop_if_empty(cs, cr);
}

enum join_result chat_join(struct chat_rooms *cs, struct sip_dialog *d, const char *guid, struct store_room *r,
                           struct chat_room **out)
{
	const char *user = sip_dialog_user(d);
	struct chat_session *s = sip_dialog_app(d);
	struct chat_room *cr;
	enum chat_access access;
	int roles;

	if (store_room_get_guid(cs->store, guid, r) != STORE_OK || r->disabled)
		return JOIN_NOT_FOUND;
	/* A room the user may not see (secret, walled) answers like a missing
	 * one; only a room they may find can be refused. */
	if ((access = chat_room_access(cs, r, user, &roles)) != ACCESS_JOIN)
		return access == ACCESS_NONE ? JOIN_NOT_FOUND : JOIN_DENIED;
	cr = chat_room_get(cs, r);
	if (cr == NULL || s == NULL)
		return JOIN_ERROR;
	*out = cr;
	if (chat_member_find(cr, d))
		return JOIN_OK;         /* a rejoin: same answer, no new events */
	/* Joining answers a pending invitation to the room. */
	if (chat_tx(cs) != STORE_OK) {
		chat_room_drop_if_empty(cs, cr);
		return JOIN_ERROR;
	}
	{
		int rc = compliance_record(cs->store, cs->cfg, "JOIN", r, user, 0, NULL, 0);

		if (rc == STORE_OK)
			rc = store_follow_add(cs->store, user, r->id);
		if (rc == STORE_OK && store_invite_del(cs->store, r->id, user) == STORE_E_IO)
			rc = STORE_E_IO;
		if (chat_tx_done(cs, rc) != STORE_OK) {
			chat_room_drop_if_empty(cs, cr);
			return JOIN_ERROR;
		}
	}
	if (chat_member_add(cr, d, roles) < 0 || chat_session_add(s, r->id) < 0) {
		chat_member_remove(cr, d);
		chat_room_drop_if_empty(cs, cr);
		return JOIN_ERROR;
	}
	log_info("dialog=%llu event=join user=%s room=%s", (unsigned long long)sip_dialog_id(d), user, r->guid);
	chat_notify_join(cs, cr, d, roles);
	return JOIN_OK;
}

int chat_part(struct chat_rooms *cs, struct sip_dialog *d, const char *guid)
{
	struct chat_room *cr = chat_room_find_guid(cs, guid);

	if (cr == NULL || chat_member_find(cr, d) == NULL)
		return -1;
	chat_leave(cs, cr, d, 1);
	return 0;
}

void chat_session_open(struct chat_rooms *cs, struct sip_dialog *d)
{
	struct chat_session *s = calloc(1, sizeof *s);

	if (s) {
		s->d = d;
		s->next = cs->sessions;
		if (cs->sessions)
			cs->sessions->prev = s;
		cs->sessions = s;
	}
	sip_dialog_set_app(d, s);
}

void chat_session_close(struct chat_rooms *cs, struct sip_dialog *d)
{
	struct chat_session *s = sip_dialog_app(d);

	if (s == NULL)
		return;
	while (s->n > 0) {
		struct chat_room *cr = chat_room_find(cs, s->rooms[s->n - 1]);

		if (cr == NULL) {
			s->n--;
			continue;
		}
		chat_leave(cs, cr, d, 0);
	}
	if (s->prev)
		s->prev->next = s->next;
	else if (cs->sessions == s)
		cs->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->rooms);
	free(s);
	sip_dialog_set_app(d, NULL);
}

/* ---- posts --------------------------------------------------------------------------- */

struct chat_room *chat_post_check(struct chat_rooms *cs, struct sip_dialog *d, const char *guid,
                                  struct store_room *r)
{
	struct chat_room *cr = chat_room_find_guid(cs, guid);
	struct chat_member *me = cr ? chat_member_find(cr, d) : NULL;

	if (me == NULL || store_room_get_id(cs->store, cr->id, r) != STORE_OK || r->disabled ||
	    !chat_may_post(r, me->roles))
		return NULL;
	return cr;
}

/* Keep a post for users (with the client's attributes of it), or, in a category with history off, only give it
 * an id: it still reaches the room and compliance (its CHAT event), but no
 * history read or search finds it. */
static int chat_keep_message(struct chat_rooms *cs, const struct store_room *r, const char *author, int64_t ts,
                             const char *text, size_t text_len, const char *extra, size_t extra_len,
                             const char *attrs, size_t attrs_len, int64_t *id)
{
	struct store_category c;
	int rc = store_category_get_id(cs->store, r->category_id, &c);

	if (rc != STORE_OK)
		return rc;
	if (!c.history)
		return store_message_skip_id(cs->store, id);
	rc = store_message_add(cs->store, r->id, author, ts, text, text_len, extra, extra_len, id);
	if (rc == STORE_OK && attrs_len)
		rc = store_message_set_attrs(cs->store, *id, attrs, attrs_len);
	return rc;
}

/* The CHAT event's content: the text, then (each after a line break) the
 * client's attributes of the post as <attributes .../> and the formatting
 * relayed with it, so the archive holds all members were sent. */
static int chat_event_content(struct xml_out *c, const char *text, size_t text_len, const char *extra,
                              size_t extra_len, const char *attrs, size_t attrs_len)
{
	xo_raw(c, text, text_len);
	if (attrs_len) {
		xo_str(c, "\n<attributes");
		xo_raw(c, attrs, attrs_len);
		xo_str(c, "/>");
	}
	if (extra_len) {
		xo_str(c, "\n");
		xo_raw(c, extra, extra_len);
	}
	return c->failed ? -1 : 0;
}

enum post_result chat_post(struct chat_rooms *cs, struct chat_room *cr, struct sip_dialog *d,
                           const struct store_room *r, const char *text, size_t text_len, const char *extra,
                           size_t extra_len, const char *attrs, size_t attrs_len)
{
	const char *user = sip_dialog_user(d);
	struct xml_out content, o;
	enum post_result result = POST_OK;
	int64_t id, ts = wall_us();
	int rc;

	xo_init(&content, text_len + 1 + cs->cfg->max_message_bytes + attrs_len + 16);
	if (chat_event_content(&content, text, text_len, extra, extra_len, attrs, attrs_len) < 0) {
		result = POST_TOO_LARGE;
		goto out;
	}
	rc = chat_tx(cs);
	if (rc == STORE_OK) {
		rc = chat_keep_message(cs, r, user, ts, text, text_len, extra, extra_len, attrs, attrs_len, &id);
		if (rc == STORE_OK)
			rc = compliance_record(cs->store, cs->cfg, "CHAT", r, user, id,
			                       content.b.len ? (const char *)buf_head(&content.b) : "", content.b.len);
		/* A message without its CHAT event, or one answered 503, never stays. */
		rc = chat_tx_done(cs, rc);
	}
	if (rc != STORE_OK) {
		log_error("dialog=%llu event=post-failed room=%s reason=\"%s\"", (unsigned long long)sip_dialog_id(d),
		          r->guid, store_strerror(rc));
		result = POST_ERROR;
		goto out;
	}
	chat_out_begin(cs->out, &o);
	chat_out_post_attrs(cs->out, &o, "grpchat", r->guid, user, ts, id, attrs, attrs_len, text, text_len, extra,
	                    extra_len);
	xo_str(&o, "</xccos>");
	chat_room_send(cr, &o, NULL);
	buf_free(&o.b);
	log_debug("dialog=%llu event=post room=%s id=%lld bytes=%zu fanout=%zu", (unsigned long long)sip_dialog_id(d),
	          r->guid, (long long)id, text_len, cr->n);
out:
	buf_free(&content.b);
	return result;
}

int chat_history_read(struct chat_rooms *cs, const struct store_room *r, const char *user, const char *what,
                      size_t what_len)
{
	int rc = chat_tx(cs);

	if (rc != STORE_OK)
		return rc;
	return chat_tx_done(cs, compliance_record(cs->store, cs->cfg, "BACKCHAT", r, user, 0, what, what_len));
}

/* Losing access to a followed room (a role removed, an ethical wall, the
 * room made secret) drops the follow, so the room no longer shows up in
 * the user's lists, renamed or not.  A disabled room keeps its followers
 * for when it is enabled again. */
void chat_unfollow_lost(struct chat_rooms *cs, struct sip_dialog *d, const int64_t *ids, size_t n)
{
	const char *user = sip_dialog_user(d);
	int rc = STORE_OK;

	if (n == 0 || chat_tx(cs) != STORE_OK)
		return;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		if ((rc = store_follow_del(cs->store, user, ids[i])) == STORE_E_NOTFOUND)
			rc = STORE_OK;
	if ((rc = chat_tx_done(cs, rc)) != STORE_OK)
		log_warn("dialog=%llu event=unfollow-failed reason=\"%s\"", (unsigned long long)sip_dialog_id(d),
		         store_strerror(rc));
	else
		log_info("dialog=%llu event=unfollow-lost user=%s rooms=%zu", (unsigned long long)sip_dialog_id(d), user, n);
}

/* A message about an uploaded file, so every client sees it, with a <file>
 * element richer clients can use.  The upload itself is the FILEUPLOAD
 * compliance event (files.c); this message is not a CHAT event. */
void chat_announce_file(struct chat_rooms *cs, const struct files_upload_info *info)
{
	struct xml_out text, extra, o;
	struct store_room r;
	struct chat_room *cr = chat_room_find(cs, info->room_id);
	int64_t id, ts = wall_us();

	if (store_room_get_id(cs->store, info->room_id, &r) != STORE_OK)
		return;
	xo_init(&text, STORE_TEXT_MAX + FILES_NAME_MAX);
	xo_fmt(&text, "%s shared the file \"%s\" (%llu bytes, SHA-256 %s)", info->user, info->name,
	       (unsigned long long)info->size, info->sha256_hex);
	xo_init(&extra, 4 * FILES_NAME_MAX + sizeof info->uri + 512);
	xo_fmt(&extra, "<file id=\"%lld\" size=\"%llu\" sha256=\"%s\"", (long long)info->file_id,
	       (unsigned long long)info->size, info->sha256_hex);
	xo_attr(&extra, "name", info->name);
	xo_str(&extra, "/>");
	chat_out_file_link(&extra, info->name, info->size, info->uri);
	if (text.failed || extra.failed || chat_tx(cs) != STORE_OK ||
	    chat_tx_done(cs, chat_keep_message(cs, &r, info->user, ts, (const char *)buf_head(&text.b), text.b.len,
	                                       (const char *)buf_head(&extra.b), extra.b.len, NULL, 0, &id)) != STORE_OK) {
		log_error("event=file-announce-failed room=%s file=%lld", r.guid, (long long)info->file_id);
		goto out;
	}
	if (cr) {
		chat_out_begin(cs->out, &o);
		chat_out_post(cs->out, &o, "grpchat", r.guid, info->user, ts, id, (const char *)buf_head(&text.b),
		              text.b.len, (const char *)buf_head(&extra.b), extra.b.len);
		xo_str(&o, "</xccos>");
		chat_room_send(cr, &o, NULL);
		buf_free(&o.b);
	}
out:
	buf_free(&text.b);
	buf_free(&extra.b);
}

/* ---- admin changes ------------------------------------------------------------------- */

/* Apply a change of room cr (deleted, disabled, walls, roles) to the
 * people in it: a participant who lost the right to be there is removed
 * (and told, so the client drops the room); roles are refreshed, and with
 * announce the others learn of a role that changed (ntc:join with the new
 * key).  cr may be freed on return. */
static void chat_room_recheck(struct chat_rooms *cs, struct chat_room *cr, int announce)
{
	struct store_room r;
	int found = store_room_get_id(cs->store, cr->id, &r) == STORE_OK;

	for (size_t k = cr->n; k-- > 0;) {
		struct sip_dialog *d = cr->members[k].d;
		int roles;

		if (!found || chat_room_access(cs, &r, sip_dialog_user(d), &roles) != ACCESS_JOIN) {
			struct xml_out o;
			int last = cr->n == 1;

			/* Tell the removed user too, so the client drops the room. */
			chat_part_notice(cs, &o, cr->guid, sip_dialog_user(d));
			chat_out_send(d, &o);
			buf_free(&o.b);
			chat_leave(cs, cr, d, 0);
			if (last)
				return;         /* chat_leave freed the room */
		} else if (cr->members[k].roles != roles) {
			cr->members[k].roles = roles;
			if (announce)
				chat_notify_join(cs, cr, d, roles);
		}
	}
}

/* Every couple of seconds: apply changes made with the admin CLI (another
 * process) to rooms in use. */
static int64_t chat_check_rooms(struct loop *l, void *arg)
{
	struct chat_rooms *cs = arg;

	(void)l;
	for (size_t i = cs->nrooms; i-- > 0;)
		chat_room_recheck(cs, cs->rooms[i], 0);
	return ROOM_CHECK_MS;
}

/* ---- changes made in this process ------------------------------------------------------ */

/* ntc:chanupd: the room's name, description and topic, to everyone in it
 * (shape unverified: doc/protocol-notes.md, Notices). */
static void chat_notify_info(struct chat_rooms *cs, struct chat_room *cr, const struct store_room *r)
{
	struct xml_out o;

	chat_out_begin(cs->out, &o);
	xo_str(&o, "<ntc id=\"ntc:chanupd\" seqid=\"1\"><data><chanib uri=\"");
	chat_out_room_uri(cs->out, &o, r->guid);
	xo_str(&o, "\"");
	xo_attr(&o, "name", r->name);
	xo_attr(&o, "description", r->description);
	xo_attr(&o, "topic", r->topic);
	xo_str(&o, "/></data></ntc></xccos>");
	chat_room_send(cr, &o, NULL);
	buf_free(&o.b);
}

struct invite_push {
	struct chat_rooms *cs;
	struct chat_session *s;
	int64_t room_id;
};

/* ntc:inv: one pending invitation, as getinv lists it (shape unverified). */
static int chat_push_invite(void *arg, const struct store_room *r, const char *inviter, int64_t created_us)
{
	struct invite_push *p = arg;
	const char *user = sip_dialog_user(p->s->d);
	struct chat_room *cr = chat_room_find(p->cs, r->id);
	struct xml_out o;
	char ts[64];
	int roles;

	if (r->id != p->room_id || (cr && chat_member_find(cr, p->s->d)))
		return 0;
	/* An invitation names the room: only to someone who may join it now. */
	if (chat_room_access(p->cs, r, user, &roles) != ACCESS_JOIN)
		return 0;
	xo_time(created_us, ts);
	chat_out_begin(p->cs->out, &o);
	xo_str(&o, "<ntc id=\"ntc:inv\" seqid=\"1\"><data><inv chanUri=\"");
	chat_out_room_uri(p->cs->out, &o, r->guid);
	xo_str(&o, "\"");
	xo_attr(&o, "name", r->name);
	xo_attr(&o, "inviter", inviter);
	xo_fmt(&o, " ts=\"%s\"/></data></ntc></xccos>", ts);
	chat_out_send(p->s->d, &o);
	buf_free(&o.b);
	return 0;
}

void chat_room_changed(struct chat_rooms *cs, int64_t room_id, unsigned what)
{
	struct chat_room *cr;
	struct store_room r;

	if (cs == NULL)
		return;
	cr = chat_room_find(cs, room_id);
	if (cr && (what & (CHAT_CHANGED_ACCESS | CHAT_CHANGED_ROLES)))
		chat_room_recheck(cs, cr, 1);
	if (store_room_get_id(cs->store, room_id, &r) != STORE_OK)
		return;
	if ((what & CHAT_CHANGED_INFO) && (cr = chat_room_find(cs, room_id)) != NULL)
		chat_notify_info(cs, cr, &r);
	if (what & CHAT_CHANGED_INVITES) {
		/* Each online user's pending invitations, those to this room pushed:
		 * a user's list is short, and the store has no per-room index. */
		for (struct chat_session *s = cs->sessions; s; s = s->next) {
			struct invite_push p = { cs, s, room_id };

			if (store_invite_each(cs->store, sip_dialog_user(s->d), chat_push_invite, &p) < 0)
				break;
		}
	}
}
