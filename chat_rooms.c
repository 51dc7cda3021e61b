/*
 * chat_rooms.c - the rooms people are in, kept in memory (one entry per
 * joined dialog), the rules of who may find, join and post, the join/part
 * notifications, and the periodic check that applies admin changes to rooms
 * in use.  See xccos_internal.h.
 */
#include "xccos_internal.h"
#include "compliance.h"
#include "files.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* ---- rooms in memory ---------------------------------------------------------------- */

struct chat_room *chat_room_find(struct xccos *x, int64_t id)
{
	for (size_t i = 0; i < x->nrooms; i++)
		if (x->rooms[i]->id == id)
			return x->rooms[i];
	return NULL;
}

struct chat_room *chat_room_get(struct xccos *x, const struct store_room *r)
{
	struct chat_room *cr = chat_room_find(x, r->id);

	if (cr)
		return cr;
	if (x->nrooms == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct chat_room **p = realloc(x->rooms, cap * sizeof *p);

		if (p == NULL)
			return NULL;
		x->rooms = p;
		x->cap = cap;
	}
	cr = calloc(1, sizeof *cr);
	if (cr == NULL)
		return NULL;
	cr->id = r->id;
	memcpy(cr->guid, r->guid, sizeof cr->guid);
	x->rooms[x->nrooms++] = cr;
	return cr;
}

void chat_room_drop_if_empty(struct xccos *x, struct chat_room *cr)
{
	if (cr->n > 0)
		return;
	for (size_t i = 0; i < x->nrooms; i++) {
		if (x->rooms[i] == cr) {
			x->rooms[i] = x->rooms[--x->nrooms];
			break;
		}
	}
	free(cr->members);
	free(cr);
}

struct chat_member *chat_member_find(struct chat_room *cr, const struct sip_dialog *d)
{
	for (size_t i = 0; i < cr->n; i++)
		if (cr->members[i].d == d)
			return &cr->members[i];
	return NULL;
}

int chat_member_add(struct chat_room *cr, struct sip_dialog *d, int roles)
{
	if (cr->n == cr->cap) {
		size_t cap = cr->cap ? 2 * cr->cap : 8;
		struct chat_member *p = realloc(cr->members, cap * sizeof *p);

		if (p == NULL)
			return -1;
		cr->members = p;
		cr->cap = cap;
	}
	cr->members[cr->n++] = (struct chat_member){ d, roles };
	return 0;
}

void chat_member_remove(struct chat_room *cr, const struct sip_dialog *d)
{
	for (size_t i = 0; i < cr->n; i++) {
		if (cr->members[i].d == d) {
			cr->members[i] = cr->members[--cr->n];
			return;
		}
	}
}

int chat_session_add(struct chat_session *s, int64_t room_id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		int64_t *p = realloc(s->rooms, cap * sizeof *p);

		if (p == NULL)
			return -1;
		s->rooms = p;
		s->cap = cap;
	}
	s->rooms[s->n++] = room_id;
	return 0;
}

void chat_session_remove(struct chat_session *s, int64_t room_id)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->rooms[i] == room_id) {
			s->rooms[i] = s->rooms[--s->n];
			return;
		}
	}
}

/* ---- rules ---------------------------------------------------------------------------- */

static int stop_at_first(void *arg, const char *uri)
{
	(void)arg;
	(void)uri;
	return 1;
}

/* What user may do with room r: nothing, find it, or join (and so read and,
 * unless it is an auditorium, post).  *roles gets the user's role bits. */
enum chat_access chat_room_access(struct xccos *x, const struct store_room *r, const char *user, int *roles)
{
	int rc;

	*roles = 0;
	if (r->disabled)
		return ACCESS_NONE;
	rc = store_room_roles(x->store, r->id, user);
	if (rc < 0)
		return ACCESS_NONE;
	*roles = rc;
	/* The category's ethical wall: denied wins, and a non-empty allowed
	 * list admits only those on it. */
	if (store_category_list_has(x->store, r->category_id, STORE_CAT_DENIED, user) != 0)
		return ACCESS_NONE;
	if (store_category_list_each(x->store, r->category_id, STORE_CAT_ALLOWED, stop_at_first, NULL) != 0 &&
	    store_category_list_has(x->store, r->category_id, STORE_CAT_ALLOWED, user) != 1)
		return ACCESS_NONE;
	if (*roles)
		return ACCESS_JOIN;
	switch (r->privacy) {
	case STORE_PRIVACY_OPEN: return ACCESS_JOIN;
	case STORE_PRIVACY_CLOSED: return ACCESS_SEE;
	default: return ACCESS_NONE;
	}
}

int chat_may_post(const struct store_room *r, int roles)
{
	return r->type != STORE_ROOM_AUDITORIUM || (roles & (STORE_ROLE_PRESENTER | STORE_ROLE_MANAGER));
}

unsigned xccos_file_rights(void *arg, const struct store_room *r, const char *user)
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

/* ---- notifications ------------------------------------------------------------------- */

/* ntc:join about d's user to every other dialog in the room. */
void chat_notify_join(struct xccos *x, struct chat_room *cr, struct sip_dialog *d, int roles)
{
	struct xml_out o;

	if (cr->n < 2)
		return;
	xccos_begin_envelope(x, &o);
	xo_str(&o, "<ntc id=\"ntc:join\" seqid=\"1\"><data><uib");
	xo_attr(&o, "uri", sip_dialog_user(d));
	xo_fmt(&o, "><aib key=\"%s\"", chat_role_key(roles));
	xo_attr(&o, "domain", x->cfg->domain);
	xo_fmt(&o, " value=\"%s\"/></uib></data></ntc></xccos>", cr->guid);
	for (size_t i = 0; i < cr->n; i++)
		if (cr->members[i].d != d)
			xccos_send_envelope(cr->members[i].d, &o);
	buf_free(&o.b);
}

void chat_part_notice(struct xccos *x, struct xml_out *o, const char *guid, const char *user)
{
	xccos_begin_envelope(x, o);
	xo_str(o, "<ntc id=\"ntc:part\" seqid=\"1\"><data><chanib uri=\"");
	xccos_room_uri(o, x, guid);
	xo_str(o, "\"><uib");
	xo_attr(o, "uri", user);
	xo_str(o, "/></chanib></data></ntc></xccos>");
}

/* ntc:part about user to every dialog in the room except skip. */
void chat_notify_part(struct xccos *x, struct chat_room *cr, const char *user, const struct sip_dialog *skip)
{
	struct xml_out o;

	chat_part_notice(x, &o, cr->guid, user);
	for (size_t i = 0; i < cr->n; i++)
		if (cr->members[i].d != skip)
			xccos_send_envelope(cr->members[i].d, &o);
	buf_free(&o.b);
}

/* Take d out of room cr: record PART, remember what the user has read, tell
 * the others.  unfollow: the user parted on purpose. */
void chat_leave(struct xccos *x, struct chat_room *cr, struct sip_dialog *d, int unfollow)
{
	const char *user = sip_dialog_user(d);
	struct chat_session *s = sip_dialog_app(d);
	struct store_room r;
	int64_t latest = 0;

	chat_member_remove(cr, d);
	if (s)
		chat_session_remove(s, cr->id);
	if (xccos_tx(x) == STORE_OK) {
		int rc = store_room_get_id(x->store, cr->id, &r);

		if (rc == STORE_OK)
			rc = compliance_record(x->store, x->cfg, "PART", &r, user, 0, NULL, 0);
		if (rc == STORE_OK && unfollow)
			rc = store_follow_del(x->store, user, cr->id);
		else if (rc == STORE_OK && store_message_latest_id(x->store, cr->id, &latest) == STORE_OK)
			rc = store_follow_mark_read(x->store, user, cr->id, latest);
		if ((rc = xccos_tx_done(x, rc == STORE_E_NOTFOUND ? STORE_OK : rc)) != STORE_OK)
			log_warn("dialog=%llu event=part-not-recorded room=%s reason=\"%s\"", (unsigned long long)sip_dialog_id(d),
			         cr->guid, store_strerror(rc));
	}
	log_info("dialog=%llu event=part user=%s room=%s", (unsigned long long)sip_dialog_id(d), user, cr->guid);
	chat_notify_part(x, cr, user, d);
	chat_room_drop_if_empty(x, cr);
}

/* Join d to the room with this GUID; on success r holds the room and its
 * in-memory entry is *out. */
enum join_result chat_join(struct xccos *x, struct sip_dialog *d, const char *guid, struct store_room *r,
                                   struct chat_room **out)
{
	const char *user = sip_dialog_user(d);
	struct chat_session *s = sip_dialog_app(d);
	struct chat_room *cr;
	enum chat_access access;
	int roles;

	if (store_room_get_guid(x->store, guid, r) != STORE_OK || r->disabled)
		return JOIN_NOT_FOUND;
	/* A room the user may not see (secret, walled) answers like a missing
	 * one; only a room they may find can be refused. */
	if ((access = chat_room_access(x, r, user, &roles)) != ACCESS_JOIN)
		return access == ACCESS_NONE ? JOIN_NOT_FOUND : JOIN_DENIED;
	cr = chat_room_get(x, r);
	if (cr == NULL || s == NULL)
		return JOIN_ERROR;
	*out = cr;
	if (chat_member_find(cr, d))
		return JOIN_OK;         /* a rejoin: same answer, no new events */
	/* Joining answers a pending invitation to the room. */
	if (xccos_tx(x) != STORE_OK) {
		chat_room_drop_if_empty(x, cr);
		return JOIN_ERROR;
	}
	{
		int rc = compliance_record(x->store, x->cfg, "JOIN", r, user, 0, NULL, 0);

		if (rc == STORE_OK)
			rc = store_follow_add(x->store, user, r->id);
		if (rc == STORE_OK && store_invite_del(x->store, r->id, user) == STORE_E_IO)
			rc = STORE_E_IO;
		if (xccos_tx_done(x, rc) != STORE_OK) {
			chat_room_drop_if_empty(x, cr);
			return JOIN_ERROR;
		}
	}
	if (chat_member_add(cr, d, roles) < 0 || chat_session_add(s, r->id) < 0) {
		chat_member_remove(cr, d);
		chat_room_drop_if_empty(x, cr);
		return JOIN_ERROR;
	}
	log_info("dialog=%llu event=join user=%s room=%s", (unsigned long long)sip_dialog_id(d), user, r->guid);
	chat_notify_join(x, cr, d, roles);
	return JOIN_OK;
}

/* Every couple of seconds: apply changes made with the admin CLI to rooms in
 * use.  A room deleted or disabled loses its participants; a participant who
 * lost the right to be there is removed; roles are refreshed. */
int64_t chat_check_rooms(struct loop *l, void *arg)
{
	struct xccos *x = arg;

	(void)l;
	for (size_t i = x->nrooms; i-- > 0;) {
		struct chat_room *cr = x->rooms[i];
		struct store_room r;
		int found = store_room_get_id(x->store, cr->id, &r) == STORE_OK;

		for (size_t k = cr->n; k-- > 0;) {
			struct sip_dialog *d = cr->members[k].d;
			int roles;

			if (!found || chat_room_access(x, &r, sip_dialog_user(d), &roles) != ACCESS_JOIN) {
				struct xml_out o;
				int last = cr->n == 1;

				/* Tell the removed user too, so the client drops the room. */
				chat_part_notice(x, &o, cr->guid, sip_dialog_user(d));
				xccos_send_envelope(d, &o);
				buf_free(&o.b);
				chat_leave(x, cr, d, 0);
				if (last)
					break;  /* chat_leave freed the room */
			} else {
				cr->members[k].roles = roles;
			}
		}
	}
	return ROOM_CHECK_MS;
}

