/*
 * xccos.c - see xccos.h.
 *
 * Bodies are parsed by libxml2 from memory with an explicit length, network
 * access off and entity substitution off (no XML_PARSE_NOENT, no
 * XML_PARSE_HUGE); a document with a DTD is refused before and after
 * parsing, so no entity can expand.  The SIP layer has already capped the
 * body size.  Every identifier echoed back into XML is either checked to be
 * a short token or escaped.
 *
 * This file is the command face only: each handler parses and checks its
 * request without side effects, makes one call into chat_rooms.c (the rooms
 * in use, the rules, the transactions and the fan-out), and answers through
 * chat_out.c.  It never reaches into the room table.
 */
#include "xccos.h"
#include "base.h"
#include "chat_out.h"
#include "chat_rooms.h"
#include "files.h"
#include "xccos_lync.h"
#include "log.h"
#include "room_uri.h"
#include "xml_out.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define HISTORY_REPLY_BUDGET (256u << 10) /* history beyond this is cut, oldest first */
#define REPLY_ENVELOPE_ROOM 2048           /* of a dialog's max body: the envelope around a reply's list */

/* The chat service's one context, owned by pchat.c's server. */
struct xccos {
	const struct config *cfg;
	struct store *store;
	struct sip_callbacks cb;
	struct chat_out out;            /* the numbering of every envelope we send */
	struct chat_rooms *chat;        /* the rooms in use */
	struct files *files;
	char rm_url[CONFIG_STR_MAX + 64];   /* the room-management page; "" = none */
};

struct xccos_req {
	struct xccos *x;
	struct sip_dialog *d;
	const struct xccos_envelope *env;
	xmlNodePtr node;        /* the cmd (or grpchat) element */
	int status;             /* SIP status for the INFO */
};

/* ---- XML input ----------------------------------------------------------------- */

/* Identifiers we echo must be short tokens: digits, letters, ':' '-' '_' '.'. */
static int token_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		char c = *s;

		if (n >= max || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                  c == ':' || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static int copy_attr(xmlNodePtr n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	int ok;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	ok = token_ok((const char *)v, outlen - 1);
	if (ok)
		snprintf(out, outlen, "%s", (const char *)v);
	xmlFree(v);
	return ok ? 0 : -1;
}

/* Any attribute value up to outlen-1 bytes; -1 if absent or longer. */
static int copy_text_attr(xmlNodePtr n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	int ok = v && strlen((const char *)v) < outlen;

	out[0] = '\0';
	if (ok)
		memcpy(out, v, strlen((const char *)v) + 1);
	xmlFree(v);
	return ok ? 0 : -1;
}

static xmlDocPtr xccos_read(const char *body, size_t len)
{
	xmlDocPtr doc;

	/* A DTD is never legitimate here; refusing it up front means no
	 * entity declaration is ever processed. */
	if (len > 0x7fffffff || memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!ENTITY", 8))
		return NULL;
	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc && (doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* The first child element called name, or NULL. */
static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

static xmlNodePtr next_named(xmlNodePtr n, const char *name)
{
	for (n = n ? n->next : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* Fill env from doc; returns the command element or NULL. */
static xmlNodePtr envelope_of(xmlDocPtr doc, struct xccos_envelope *env)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), cmd;

	memset(env, 0, sizeof *env);
	if (root == NULL || strcmp((const char *)root->name, "xccos") != 0)
		return NULL;
	if (copy_attr(root, "envid", env->envid, sizeof env->envid) < 0)
		return NULL;
	cmd = first_element(root->children);
	if (cmd == NULL || strlen((const char *)cmd->name) >= sizeof env->kind)
		return NULL;
	snprintf(env->kind, sizeof env->kind, "%s", (const char *)cmd->name);
	if (copy_attr(cmd, "id", env->id, sizeof env->id) < 0 ||
	    copy_attr(cmd, "seqid", env->seqid, sizeof env->seqid) < 0)
		return NULL;
	return cmd;
}

int xccos_parse_envelope(const char *body, size_t len, struct xccos_envelope *out)
{
	xmlDocPtr doc = xccos_read(body, len);
	int rc;

	if (doc == NULL)
		return -1;
	rc = envelope_of(doc, out) ? 0 : -1;
	xmlFreeDoc(doc);
	return rc;
}

/* A room key (a GUID, or the number of a room kept from an older server)
 * from "ma-chan://DOMAIN/KEY" of our domain; -1 otherwise. */
static int guid_from_uri(struct xccos *x, const char *uri, char guid[STORE_GUID_LEN + 1])
{
	const char *k = room_uri_guid(uri, strlen(uri), x->cfg->domain);
	size_t klen = k ? strlen(k) : 0;

	if (k == NULL || store_room_key_form(k, klen) == STORE_KEY_NONE)
		return -1;
	memcpy(guid, k, klen + 1);
	return 0;
}

/* ---- replies (chat_out.c, addressed to this request) ------------------------------- */

static void begin_reply(struct xccos_req *q, struct xml_out *o, const char *name, int code, const char *text)
{
	chat_out_reply_begin(&q->x->out, o, q->env->envid, q->env->seqid, name, code, text);
}

static void end_reply(struct xccos_req *q, struct xml_out *o)
{
	chat_out_reply_end(q->d, o);
}

/* A reply with no data. */
static void reply_status(struct xccos_req *q, const char *name, int code, const char *text)
{
	chat_out_reply_status(&q->x->out, q->d, q->env->envid, q->env->seqid, name, code, text);
}

/* ---- commands ------------------------------------------------------------------------- */

/* cmd:requri - the lookup service names the channel service (xccos.md §5.1). */
static void do_requri(struct xccos_req *q)
{
	struct xml_out o;

	begin_reply(q, &o, "requri", 200, "SUCCESS_OK");
	xo_str(&o, "<uib");
	xo_attr(&o, "uri", q->x->cfg->channel_uri);
	xo_str(&o, "/>");
	end_reply(q, &o);
}

static void do_getserverinfo(struct xccos_req *q)
{
	struct xml_out o;
	char ts[64], info_type[24] = "123";
	const struct config *cfg = q->x->cfg;
	xmlNodePtr sib = child(child(q->node, "data"), "sib");
	char root[STORE_GUID_LEN + 1];

	if (sib && copy_attr(sib, "infoType", info_type, sizeof info_type) < 0)
		snprintf(info_type, sizeof info_type, "123");
	if (store_root_category_guid(q->x->store, root) != STORE_OK) {
		reply_status(q, "getserverinfo", 500, "ERR_SERVER");
		return;
	}
	xo_time(wall_us(), ts);
	begin_reply(q, &o, "getserverinfo", 200, "SUCCESS_OK");
	xo_fmt(&o, "<sib infoType=\"%s\" serverTime=\"%s\" searchLimit=\"%llu\" messageSizeLimit=\"%llu\" "
	            "storySizeLimit=\"%llu\" rootUri=\"ma-cat://",
	        info_type[0] ? info_type : "123", ts, (unsigned long long)cfg->search_limit,
	        (unsigned long long)cfg->max_message_bytes, (unsigned long long)cfg->max_message_bytes);
	xo_esc(&o, cfg->domain, strlen(cfg->domain), 1);
	/* The root category's GUID is made once (store migration 7); the
	 * schema version identifies the database layout. */
	xo_fmt(&o, "/%s\" dbVersion=\"00000000-0000-0000-0000-%012d\"", root, store_schema_version(q->x->store));
	/* UCMA PersistentChatServerConfiguration.DisplayName; the attribute
	 * name is a guess (doc/protocol-notes.md). */
	xo_attr(&o, "displayName", cfg->display_name);
	/* UCMA's PersistentChatServerConfiguration.RoomManagementUrl; the
	 * attribute's name is a guess (doc/protocol-notes.md). */
	if (q->x->rm_url[0])
		xo_attr(&o, "roomManagementUrl", q->x->rm_url);
	xo_str(&o, "/>");
	end_reply(q, &o);
}

/* ` catUri="ma-cat://DOMAIN/GUID"`: the room's category (UCMA
 * ParentCategoryUri); the attribute name is a guess by analogy with chanUri
 * (doc/protocol-notes.md).  Nothing when the category has no GUID. */
static void out_category_uri(struct xccos *x, struct xml_out *o, int64_t category_id)
{
	char guid[STORE_GUID_LEN + 1];

	if (store_category_guid(x->store, category_id, guid) != STORE_OK)
		return;
	xo_str(o, " catUri=\"ma-cat://");
	xo_esc(o, x->cfg->domain, strlen(x->cfg->domain), 1);
	xo_fmt(o, "/%s\"", guid);
}

/* One <chanib> for a room in a search or association list. */
static void out_room_summary(struct xccos *x, struct xml_out *o, const struct store_room *r)
{
	struct store_category c;
	int invite;

	if (store_category_get_id(x->store, r->category_id, &c) != STORE_OK)
		memset(&c, 0, sizeof c);
	invite = r->invitations == STORE_INVITE_INHERIT ? c.invitations : r->invitations == STORE_INVITE_ON;
	xo_str(o, "<chanib");
	xo_attr(o, "name", r->name);
	xo_attr(o, "description", r->description);
	xo_str(o, " uri=\"");
	chat_out_room_uri(&x->out, o, r->guid);
	xo_str(o, "\"");
	out_category_uri(x, o, r->category_id);
	xo_fmt(o, "><info id=\"urn:parlano:ma:info:ucnt\">%zu</info>", chat_room_count(x->chat, r->id));
	/* "visibilty" is how clients spell it (xccos.md §5.3). */
	xo_fmt(o, "<info id=\"urn:parlano:ma:info:visibilty\">%s</info>",
	        r->privacy == STORE_PRIVACY_OPEN ? "public" : "private");
	xo_fmt(o, "<prop id=\"urn:parlano:ma:prop:filepost\">%s</prop>", c.file_upload ? "true" : "false");
	xo_fmt(o, "<prop id=\"urn:parlano:ma:prop:invite\">%s</prop>", invite ? "true" : "false");
	xo_fmt(o, "<prop id=\"urn:parlano:ma:prop:logged\">%s</prop>", c.history ? "true" : "false");
}

/* Bytes a reply's list (rooms, messages) may take in q's dialog: what its
 * path relays less the envelope, and at most cap.  A front end drops a
 * reply over its limit whole, so lists are cut to fit instead. */
static size_t reply_budget(const struct xccos_req *q, size_t cap)
{
	size_t budget = sip_dialog_max_body(q->d) - REPLY_ENVELOPE_ROOM;

	return budget < cap ? budget : cap;
}

struct search_ctx {
	struct xccos_req *q;
	struct xml_out *o;
	uint64_t found;
	size_t budget;          /* bytes of rooms the dialog's path relays in one reply */
};

/* One room the user may see, while the reply stays within its budget: a
 * room that would pass it is taken back and ends the list (a front end
 * would drop the whole reply; the client can narrow its search). */
static int search_one(void *arg, const struct store_room *r)
{
	struct search_ctx *sc = arg;
	size_t before = sc->o->b.len;
	int roles;

	if (chat_room_access(sc->q->x->chat, r, sip_dialog_user(sc->q->d), &roles) == ACCESS_NONE)
		return 0;
	out_room_summary(sc->q->x, sc->o, r);
	xo_str(sc->o, "</chanib>");
	if (sc->o->b.len > sc->budget) {
		buf_truncate(&sc->o->b, before);
		return 1;
	}
	return ++sc->found >= sc->q->x->cfg->search_limit;
}

static void do_chansrch(struct xccos_req *q)
{
	struct xml_out o;
	struct search_ctx sc = { q, &o, 0, reply_budget(q, SIZE_MAX) };
	char criteria[STORE_NAME_MAX] = "";
	xmlNodePtr qib = child(child(q->node, "data"), "qib");
	xmlChar *qtype = qib ? xmlGetProp(qib, (const xmlChar *)"qtype") : NULL;
	int bad = qib == NULL || (qtype && strcmp((const char *)qtype, "BYNAME") != 0) ||
	          (xmlHasProp(qib, (const xmlChar *)"criteria") &&
	           copy_text_attr(qib, "criteria", criteria, sizeof criteria) < 0);

	xmlFree(qtype);
	if (bad) {
		reply_status(q, "chansrch", 400, "ERR_BAD_REQUEST");
		return;
	}
	begin_reply(q, &o, "chansrch", 200, "SUCCESS_OK");
	if (store_room_each(q->x->store, criteria, search_one, &sc) < 0) {
		buf_free(&o.b);
		reply_status(q, "chansrch", 500, "ERR_SERVER");
		return;
	}
	end_reply(q, &o);
}

/* Room ids collected while the store walks a list (it cannot be written
 * to until the walk is over). */
struct room_ids {
	int64_t *ids;
	size_t n, cap;
};

static int room_ids_add(struct room_ids *l, int64_t id)
{
	if (array_reserve(&l->ids, &l->cap, l->n, sizeof *l->ids, 8) < 0)
		return -1;
	l->ids[l->n++] = id;
	return 0;
}

/* Followed rooms the user may no longer join are unfollowed
 * (chat_unfollow_lost says why). */
static void unfollow_lost(struct xccos_req *q, const struct room_ids *lost)
{
	chat_unfollow_lost(q->x->chat, q->d, lost->ids, lost->n);
}

struct assoc_ctx {
	struct xccos *x;
	struct xml_out *o;
	const char *user;
	struct room_ids lost;   /* followed rooms the user may no longer join */
};

static int assoc_one(void *arg, const struct store_room *r, int roles)
{
	struct assoc_ctx *ac = arg;
	int now_roles;

	/* A role does not admit past an ethical wall: list only what the user
	 * may join now. */
	if (chat_room_access(ac->x->chat, r, ac->user, &now_roles) != ACCESS_JOIN)
		return 0;
	out_room_summary(ac->x, ac->o, r);
	xo_fmt(ac->o, "<info id=\"urn:pchat:info:roles\">%s%s%s</info></chanib>",
	        roles & STORE_ROLE_MEMBER ? "member " : "", roles & STORE_ROLE_MANAGER ? "manager " : "",
	        roles & STORE_ROLE_PRESENTER ? "presenter" : "");
	return 0;
}

static int follow_one(void *arg, const struct store_room *r, int64_t unread)
{
	struct assoc_ctx *ac = arg;
	int roles;

	if (r->disabled)
		return 0;
	if (chat_room_access(ac->x->chat, r, ac->user, &roles) != ACCESS_JOIN)
		return room_ids_add(&ac->lost, r->id);
	out_room_summary(ac->x, ac->o, r);
	xo_fmt(ac->o, "<info id=\"urn:pchat:info:followed\">true</info>"
	               "<info id=\"urn:pchat:info:unread\">%lld</info></chanib>", (long long)unread);
	return 0;
}

/* Rooms the user holds a role in, then the rooms they follow with the
 * number of messages posted since they last read each (new content). */
static void do_getassociations(struct xccos_req *q)
{
	struct xml_out o;
	struct assoc_ctx ac = { q->x, &o, sip_dialog_user(q->d), { NULL, 0, 0 } };

	begin_reply(q, &o, "getassociations", 200, "SUCCESS_OK");
	if (store_user_rooms(q->x->store, ac.user, assoc_one, &ac) < 0 ||
	    store_follow_each(q->x->store, ac.user, follow_one, &ac) < 0) {
		buf_free(&o.b);
		reply_status(q, "getassociations", 500, "ERR_SERVER");
		goto out;
	}
	end_reply(q, &o);
	unfollow_lost(q, &ac.lost);
out:
	free(ac.lost.ids);
}

/* Roster of a joined room: aib lists per role key, then uib entries numbered
 * from *next_id, one per distinct user (bjoin shares one id space). */
struct roster {
	struct xml_out uibs;
	int next_id;
	const struct chat_rooms *chat;      /* who is listed to whom (large rooms) */
	const struct sip_dialog *viewer;
};

static void out_roster(struct xml_out *o, const struct chat_room *cr, struct roster *ro)
{
	size_t n = chat_room_size(cr);
	int *ids = calloc(n ? n : 1, sizeof *ids);

	if (ids == NULL) {
		o->failed = 1;
		return;
	}
	/* One id per distinct user: a user on two clients is listed once. */
	for (size_t i = 0; i < n; i++) {
		const char *u = chat_room_member_user(cr, i);

		ids[i] = -1;
		if (!chat_roster_lists(ro->chat, cr, i, ro->viewer)) {
			ids[i] = -2;    /* a large room: not listed */
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(chat_room_member_user(cr, j), u) == 0) {
				ids[i] = ids[j];
				break;
			}
		}
		if (ids[i] == -1) {
			ids[i] = ro->next_id++;
			xo_fmt(&ro->uibs, "<uib id=\"%d\"", ids[i]);
			xo_attr(&ro->uibs, "uri", u);
			xo_str(&ro->uibs, "/>");
		}
	}
	for (int op = 0; op < 2; op++) {
		int any = 0;

		for (size_t i = 0; i < n; i++) {
			int is_op = (chat_room_member_roles(cr, i) & STORE_ROLE_MANAGER) != 0, dup = 0;

			for (size_t j = 0; j < i; j++)
				dup |= ids[j] == ids[i];
			if (is_op != op || dup || ids[i] < 0)
				continue;
			if (any)
				xo_fmt(o, ",%d", ids[i]);
			else
				xo_fmt(o, "<aib key=\"%s\" value=\"%d", op ? ROLE_KEY_OPERATOR : ROLE_KEY_PARTICIPANT, ids[i]);
			any = 1;
		}
		if (any)
			xo_str(o, "\"/>");
	}
	free(ids);
}

static void out_joined_room(struct xccos *x, struct xml_out *o, const struct store_room *r,
                            const struct chat_room *cr, struct roster *ro)
{
	xo_str(o, "<chanib uri=\"");
	chat_out_room_uri(&x->out, o, r->guid);
	xo_str(o, "\"");
	xo_attr(o, "name", r->name);
	xo_attr(o, "topic", r->topic);
	out_category_uri(x, o, r->category_id);
	xo_str(o, ">");
	/* A large room's roster is cut: the count says how many are in it
	 * (unverified guess, doc/protocol-notes.md "Notices"). */
	if (chat_room_is_large(x->chat, cr))
		xo_fmt(o, "<info id=\"urn:parlano:ma:info:ucnt\">%zu</info>", chat_room_size(cr));
	out_roster(o, cr, ro);
	xo_str(o, "</chanib>");
}

/* The GUID named by <chanid domain value> (or a chanib uri); -1 if not ours. */
static int chanid_guid(struct xccos *x, xmlNodePtr n, char guid[STORE_GUID_LEN + 1])
{
	char domain[CONFIG_STR_MAX], uri[CONFIG_STR_MAX + 64];

	if (strcmp((const char *)n->name, "chanib") == 0)
		return copy_text_attr(n, "uri", uri, sizeof uri) == 0 ? guid_from_uri(x, uri, guid) : -1;
	if (copy_text_attr(n, "value", guid, STORE_GUID_LEN + 1) < 0 ||
	    store_room_key_form(guid, strlen(guid)) == STORE_KEY_NONE)
		return -1;
	if (copy_text_attr(n, "domain", domain, sizeof domain) == 0 && strcasecmp(domain, x->cfg->domain) != 0)
		return -1;
	return 0;
}

static void do_join(struct xccos_req *q)
{
	struct xml_out o;
	struct roster ro = { .next_id = 0, .chat = q->x->chat, .viewer = q->d };
	struct store_room r;
	struct chat_room *cr = NULL;
	char guid[STORE_GUID_LEN + 1];
	xmlNodePtr id = child(child(q->node, "data"), "chanid");

	if (id == NULL || chanid_guid(q->x, id, guid) < 0) {
		reply_status(q, "join", 404, "ERR_NO_SUCH_CHANNEL");
		return;
	}
	switch (chat_join(q->x->chat, q->d, guid, &r, &cr)) {
	case JOIN_OK: break;
	case JOIN_NOT_FOUND: reply_status(q, "join", 404, "ERR_NO_SUCH_CHANNEL"); return;
	case JOIN_DENIED: reply_status(q, "join", 403, "ERR_NO_PERMISSION"); return;
	default: reply_status(q, "join", 500, "ERR_SERVER"); return;
	}
	xo_init(&ro.uibs, REPLY_MAX);
	begin_reply(q, &o, "join", 200, "SUCCESS_OK");
	out_joined_room(q->x, &o, &r, cr, &ro);
	xo_raw(&o, (const char *)buf_head(&ro.uibs.b), ro.uibs.b.len);
	o.failed |= ro.uibs.failed;
	end_reply(q, &o);
	buf_free(&ro.uibs.b);
}

struct follow_list {
	struct xccos *x;
	const char *user;
	char (*guids)[STORE_GUID_LEN + 1];
	size_t n, cap;
	struct room_ids lost;   /* followed rooms the user may no longer join */
};

static int collect_follow(void *arg, const struct store_room *r, int64_t unread)
{
	struct follow_list *fl = arg;
	int roles;

	(void)unread;
	if (!r->disabled && chat_room_access(fl->x->chat, r, fl->user, &roles) != ACCESS_JOIN)
		return room_ids_add(&fl->lost, r->id);
	if (array_reserve(&fl->guids, &fl->cap, fl->n, sizeof *fl->guids, 16) < 0)
		return -1;
	memcpy(fl->guids[fl->n++], r->guid, STORE_GUID_LEN + 1);
	return 0;
}

static void bjoin_one(struct xccos_req *q, struct xml_out *o, struct roster *ro, const char *guid)
{
	struct store_room r;
	struct chat_room *cr;

	if (chat_join(q->x->chat, q->d, guid, &r, &cr) == JOIN_OK) {
		out_joined_room(q->x, o, &r, cr, ro);
		return;
	}
	/* A room that cannot be joined is a failure block in its place. */
	xo_str(o, "<fib key=\"OPERATION_FAILED\"");
	xo_attr(o, "value", guid);
	xo_attr(o, "domain", q->x->cfg->domain);
	xo_str(o, "/>");
}

/* Batch join: the listed rooms, or with none listed the user's followed
 * rooms (what Lync asks for at sign-in). */
static void do_bjoin(struct xccos_req *q)
{
	struct xml_out o;
	struct roster ro = { .next_id = 0, .chat = q->x->chat, .viewer = q->d };
	struct follow_list fl = { q->x, sip_dialog_user(q->d), NULL, 0, 0, { NULL, 0, 0 } };
	xmlNodePtr data = child(q->node, "data"), id = child(data, "chanid");
	char guid[STORE_GUID_LEN + 1];

	xo_init(&ro.uibs, REPLY_MAX);
	begin_reply(q, &o, "bjoin", 200, "SUCCESS_OK");
	if (id == NULL) {
		if (store_follow_each(q->x->store, sip_dialog_user(q->d), collect_follow, &fl) < 0)
			o.failed = 1;
		for (size_t i = 0; i < fl.n; i++)
			bjoin_one(q, &o, &ro, fl.guids[i]);
		unfollow_lost(q, &fl.lost);
		free(fl.guids);
		free(fl.lost.ids);
	}
	for (; id; id = next_named(id, "chanid")) {
		if (chanid_guid(q->x, id, guid) == 0) {
			bjoin_one(q, &o, &ro, guid);
		} else {
			char value[64];

			xo_str(&o, "<fib key=\"OPERATION_FAILED\"");
			if (copy_text_attr(id, "value", value, sizeof value) == 0)
				xo_attr(&o, "value", value);
			xo_str(&o, "/>");
		}
	}
	/* No room joined: no roster, and no buffer to read from. */
	if (ro.uibs.b.len)
		xo_raw(&o, (const char *)buf_head(&ro.uibs.b), ro.uibs.b.len);
	o.failed |= ro.uibs.failed;
	end_reply(q, &o);
	buf_free(&ro.uibs.b);
}

static void do_part(struct xccos_req *q)
{
	struct xml_out o;
	char guid[STORE_GUID_LEN + 1];
	xmlNodePtr ib = child(child(q->node, "data"), "chanib");

	if (ib == NULL || chanid_guid(q->x, ib, guid) < 0) {
		reply_status(q, "part", 404, "ERR_NO_SUCH_CHANNEL");
		return;
	}
	if (chat_part(q->x->chat, q->d, guid) < 0) {
		reply_status(q, "part", 404, "ERR_USER_NOT_JOINED");
		return;
	}
	begin_reply(q, &o, "part", 200, "SUCCESS_OK");
	xo_str(&o, "<chanib uri=\"");
	chat_out_room_uri(&q->x->out, &o, guid);
	xo_str(&o, "\"/>");
	end_reply(q, &o);
}

struct history_ctx {
	struct xccos *x;
	struct xml_out msgs;
	size_t *starts;         /* offset of each message in msgs */
	size_t n, cap;
	const char *guid;
};

static void stored_extra_clean(struct xml_out *o, const char *extra, size_t len);

static int history_one(void *arg, const struct store_message *m)
{
	struct history_ctx *h = arg;
	struct xml_out extra;

	if (array_reserve(&h->starts, &h->cap, h->n, sizeof *h->starts, 32) < 0)
		return -1;
	h->starts[h->n++] = h->msgs.b.len;
	xo_init(&extra, 6 * m->extra_len + 64);      /* room for escaping every byte */
	stored_extra_clean(&extra, m->extra, m->extra_len);
	if (extra.failed)
		buf_truncate(&extra.b, 0);
	chat_out_post_attrs(&h->x->out, &h->msgs, "msg", h->guid, m->author, m->ts_us, m->id, m->attrs, m->attrs_len,
	                    m->text, m->text_len, extra.b.len ? (const char *)buf_head(&extra.b) : "", extra.b.len);
	buf_free(&extra.b);
	return h->msgs.failed ? -1 : 0;
}

/* Search results arrive newest first; replies list oldest first. */
static void history_reverse(struct history_ctx *h)
{
	struct xml_out sorted;
	size_t *starts = malloc((h->n ? h->n : 1) * sizeof *starts);

	if (starts == NULL) {
		h->msgs.failed = 1;
		return;
	}
	xo_init(&sorted, REPLY_MAX);
	for (size_t i = h->n; i-- > 0;) {
		size_t end = i + 1 < h->n ? h->starts[i + 1] : h->msgs.b.len;

		starts[h->n - 1 - i] = sorted.b.len;
		xo_raw(&sorted, (const char *)buf_head(&h->msgs.b) + h->starts[i], end - h->starts[i]);
	}
	sorted.failed |= h->msgs.failed;
	buf_free(&h->msgs.b);
	free(h->starts);
	h->msgs = sorted;
	h->starts = starts;
	h->cap = h->n;
}

/* History, one room per reply.  The <bcq> forms (xccos_lync.h): the last N
 * messages; pchat's own full-text <search cnt>words</search>; or a <query>
 * with the UCMA ChatHistoryQueryOptions (paging from a message id, a date
 * range, order, limit, authors, words or an exact phrase, case).  Oldest
 * first unless the query asks otherwise.  An unknown form is refused (400),
 * never answered as another: a client paging back would get the newest
 * messages again.  Reading history is a BACKCHAT compliance event. */
static void do_bccontext(struct xccos_req *q)
{
	struct xccos *x = q->x;
	struct xml_out o, what = { 0 };
	struct history_ctx h = { .x = x };
	struct lync_history form;
	struct store_room r;
	struct store_category c;
	char guid[STORE_GUID_LEN + 1];
	xmlNodePtr data = child(q->node, "data"), ib = child(data, "chanib");
	int roles, rc, newest_first_in;
	long cnt;
	enum chat_access access;
	size_t from = 0, budget;

	/* A room the user may not see answers exactly like a missing one. */
	if (ib == NULL || chanid_guid(x, ib, guid) < 0 || store_room_get_guid(x->store, guid, &r) != STORE_OK ||
	    (access = chat_room_access(x->chat, &r, sip_dialog_user(q->d), &roles)) == ACCESS_NONE) {
		reply_status(q, "bccontext", 404, "ERR_NO_SUCH_CHANNEL");
		return;
	}
	if (access != ACCESS_JOIN) {
		reply_status(q, "bccontext", 403, "ERR_NO_PERMISSION");
		return;
	}
	if (lync_history_parse(child(data, "bcq"), &form) < 0) {
		lync_history_free(&form);
		reply_status(q, "bccontext", 400, "ERR_BAD_REQUEST");
		return;
	}
	cnt = form.cnt;
	if ((uint64_t)cnt > x->cfg->history_limit)
		cnt = (long)x->cfg->history_limit;
	if (store_category_get_id(x->store, r.category_id, &c) == STORE_OK && !c.history)
		cnt = 0;
	form.cnt = cnt;
	h.guid = r.guid;
	xo_init(&h.msgs, REPLY_MAX);
	form.q.room_id = r.id;
	form.q.limit = (int)cnt;
	switch (form.form) {
	case HISTORY_SEARCH:
		rc = store_message_search(x->store, r.id, form.words, (int)cnt, history_one, &h);
		newest_first_in = 1;
		break;
	case HISTORY_QUERY:
		rc = store_message_query(x->store, &form.q, history_one, &h);
		newest_first_in = form.q.newest_first;
		break;
	default:
		rc = store_message_last(x->store, r.id, (int)cnt, history_one, &h);
		newest_first_in = 0;
		break;
	}
	if (rc == STORE_E_INVALID) {
		reply_status(q, "bccontext", 400, "ERR_BAD_REQUEST");
		goto out;
	}
	if (newest_first_in != form.newest_first_out)
		history_reverse(&h);
	/* Keep the last messages of the reply's order within the budget. */
	budget = reply_budget(q, HISTORY_REPLY_BUDGET);
	while (from < h.n && h.msgs.b.len - h.starts[from] > budget)
		from++;
	/* The record says what was read: the form, how many asked and
	 * returned, the words and authors. */
	xo_init(&what, STORE_TEXT_MAX + STORE_QUERY_AUTHORS_MAX * STORE_URI_MAX + 256);
	lync_history_describe(&form, h.n - from, &what);
	if (rc < 0 || what.failed ||
	    chat_history_read(x->chat, &r, sip_dialog_user(q->d), (const char *)buf_head(&what.b), what.b.len) != STORE_OK) {
		reply_status(q, "bccontext", 500, "ERR_SERVER");
		goto out;
	}
	begin_reply(q, &o, "bccontext", 200, "SUCCESS_OK");
	xo_str(&o, "<chanib uri=\"");
	chat_out_room_uri(&x->out, &o, r.guid);
	xo_str(&o, "\">");
	if (from < h.n)
		xo_raw(&o, (const char *)buf_head(&h.msgs.b) + h.starts[from], h.msgs.b.len - h.starts[from]);
	xo_str(&o, "</chanib>");
	end_reply(q, &o);
out:
	lync_history_free(&form);
	buf_free(&what.b);
	buf_free(&h.msgs.b);
	free(h.starts);
}

/* One pending invitation, in the shape of the UCMA ChatRoomInvitation
 * (InvId, CreatedOn, a ChatRoomSnapshot: the room's summary with its
 * participant count); the names are guesses (doc/protocol-notes.md). */
static int invite_one(void *arg, const struct store_room *r, const char *inviter, int64_t created_us,
                      int64_t invite_id)
{
	struct assoc_ctx *ac = arg;
	char ts[64];
	int roles;

	/* An invitation names the room: only to someone who may join it now. */
	if (chat_room_access(ac->x->chat, r, ac->user, &roles) != ACCESS_JOIN)
		return 0;
	xo_time(created_us, ts);
	xo_fmt(ac->o, "<inv inviteId=\"%lld\" chanUri=\"", (long long)invite_id);
	chat_out_room_uri(&ac->x->out, ac->o, r->guid);
	xo_str(ac->o, "\"");
	xo_attr(ac->o, "name", r->name);
	xo_attr(ac->o, "inviter", inviter);
	xo_fmt(ac->o, " ts=\"%s\">", ts);
	out_room_summary(ac->x, ac->o, r);
	xo_str(ac->o, "</chanib></inv>");
	return 0;
}

/* Pending invitations newer than the request's <inv inviteId> (sipe sends
 * 1, UCMA the last id it received; none: all of them). */
static void do_getinv(struct xccos_req *q)
{
	struct xml_out o;
	struct assoc_ctx ac = { q->x, &o, sip_dialog_user(q->d), { NULL, 0, 0 } };
	xmlNodePtr inv = child(child(q->node, "data"), "inv");
	char after[24] = "";
	char *end = NULL;
	long long after_id = 0;

	if (inv && copy_attr(inv, "inviteId", after, sizeof after) < 0)
		after[0] = 'x';
	if (after[0] && ((after_id = strtoll(after, &end, 10)) < 0 || end == after || *end != '\0')) {
		reply_status(q, "getinv", 400, "ERR_BAD_REQUEST");
		return;
	}
	begin_reply(q, &o, "getinv", 200, "SUCCESS_OK");
	if (store_invite_since(q->x->store, ac.user, after_id, invite_one, &ac) < 0) {
		buf_free(&o.b);
		reply_status(q, "getinv", 500, "ERR_SERVER");
		return;
	}
	end_reply(q, &o);
}

/* ---- preferences (getpref / setpref) ---- */

/* <pref label seqid content/> in a reply. */
static void out_pref(struct xml_out *o, const char *label, int64_t seqid, const char *content)
{
	xo_str(o, "<pref");
	xo_attr(o, "label", label);
	xo_fmt(o, " seqid=\"%lld\"", (long long)seqid);
	if (content)
		xo_attr(o, "content", content);
	xo_str(o, "/>");
}

/* One write of a preference in the pass's transaction; what the store said. */
static int pref_write(struct xccos_req *q, const struct lync_pref *p, const char *content, size_t len,
                      int64_t *seqid)
{
	struct store *st = q->x->store;
	int rc = store_pass_write(st);

	if (rc != STORE_OK)
		return rc;
	return store_pass_write_end(st, store_pref_set(st, sip_dialog_user(q->d), p->label, p->seqid, content, len, seqid));
}

/* A new label past the per-user cap is refused (the store stays bounded). */
static int pref_room_for(struct xccos_req *q, const char *label)
{
	char none[1];
	int64_t n = 0, seq;
	int rc = store_pref_get(q->x->store, sip_dialog_user(q->d), label, &seq, none, sizeof none);

	if (rc == STORE_OK || rc == STORE_E_IO)
		return 1;       /* it exists (STORE_E_IO: its content did not fit one byte) */
	return store_pref_count(q->x->store, sip_dialog_user(q->d), &n) == STORE_OK && n < PREFS_PER_USER;
}

/* getpref: the user's blob under label; with createdefault="true" a missing
 * one is created empty (seqid 1), else it is 404. */
static void do_getpref(struct xccos_req *q)
{
	struct lync_pref p = { .content = NULL };
	struct xml_out o;
	char *content = malloc(PREF_CONTENT_MAX + 1);
	int64_t seqid = 0;
	int rc;

	if (content == NULL || lync_pref_parse(child(child(q->node, "data"), "pref"), &p) < 0) {
		reply_status(q, "getpref", content ? 400 : 500, content ? "ERR_BAD_REQUEST" : "ERR_SERVER");
		goto out;
	}
	rc = store_pref_get(q->x->store, sip_dialog_user(q->d), p.label, &seqid, content, PREF_CONTENT_MAX + 1);
	if (rc == STORE_E_NOTFOUND && p.create_default) {
		if (!pref_room_for(q, p.label)) {
			reply_status(q, "getpref", 413, "ERR_LIMIT_EXCEEDED");
			goto out;
		}
		content[0] = '\0';
		rc = pref_write(q, &p, "", 0, &seqid);
	}
	if (rc == STORE_E_NOTFOUND) {
		reply_status(q, "getpref", 404, "ERR_NO_SUCH_PREF");
		goto out;
	}
	if (rc != STORE_OK) {
		reply_status(q, "getpref", 500, "ERR_SERVER");
		goto out;
	}
	begin_reply(q, &o, "getpref", 200, "SUCCESS_OK");
	out_pref(&o, p.label, seqid, content);
	end_reply(q, &o);
out:
	xmlFree(p.content);
	free(content);
}

/* setpref: write content under label if seqid is the stored one (or there
 * is none yet); the reply carries the new seqid.  A stale seqid is a
 * conflict: 409 with the stored seqid and content, nothing written. */
static void do_setpref(struct xccos_req *q)
{
	struct lync_pref p = { .content = NULL };
	struct xml_out o;
	char *stored = NULL;
	int64_t seqid = 0;
	int rc;

	if (lync_pref_parse(child(child(q->node, "data"), "pref"), &p) < 0 || p.content == NULL) {
		reply_status(q, "setpref", 400, "ERR_BAD_REQUEST");
		goto out;
	}
	if (!pref_room_for(q, p.label)) {
		reply_status(q, "setpref", 413, "ERR_LIMIT_EXCEEDED");
		goto out;
	}
	rc = pref_write(q, &p, (const char *)p.content, p.content_len, &seqid);
	if (rc == STORE_E_EXISTS && (stored = malloc(PREF_CONTENT_MAX + 1)) != NULL &&
	    store_pref_get(q->x->store, sip_dialog_user(q->d), p.label, &seqid, stored, PREF_CONTENT_MAX + 1) == STORE_OK) {
		begin_reply(q, &o, "setpref", 409, "ERR_DATA_COLLISION");
		out_pref(&o, p.label, seqid, stored);
		end_reply(q, &o);
		goto out;
	}
	if (rc != STORE_OK) {
		reply_status(q, "setpref", 500, "ERR_SERVER");
		goto out;
	}
	begin_reply(q, &o, "setpref", 200, "SUCCESS_OK");
	out_pref(&o, p.label, seqid, NULL);
	end_reply(q, &o);
out:
	free(stored);
	xmlFree(p.content);
}

/* nodespermcreatechild: may the user create rooms?  200 with empty data,
 * as the real server answered (S1's TODO sample), when some category the
 * user's wall admits lists them as a creator; else 403. */
struct creator_ctx {
	struct store *st;
	const char *user;
	int found;
};

static int creator_in(void *arg, const struct store_category *c)
{
	struct creator_ctx *cc = arg;

	cc->found = store_category_list_has(cc->st, c->id, STORE_CAT_CREATOR, cc->user) == 1 &&
	            chat_wall_admits(cc->st, c->id, cc->user);
	return cc->found;
}

static void do_nodespermcreatechild(struct xccos_req *q)
{
	struct creator_ctx cc = { q->x->store, sip_dialog_user(q->d), 0 };

	if (store_category_each(q->x->store, creator_in, &cc) < 0) {
		reply_status(q, "nodespermcreatechild", 500, "ERR_SERVER");
		return;
	}
	if (!cc.found) {
		reply_status(q, "nodespermcreatechild", 403, "ERR_NO_PERMISSION");
		return;
	}
	reply_status(q, "nodespermcreatechild", 200, "SUCCESS_OK");
}

/* The children of <grpchat> besides <chat> that are kept: the formatted
 * renderings of the text that Lync-protocol clients send (RTF, an HTML-like
 * alternative, a story post; xccos.md §5.9, lync-fidelity.md E2).  They are
 * stored, relayed and archived with the CHAT event.  Anything else is
 * dropped, since what members are shown must be what compliance receives;
 * this includes <file>, which only the server writes (xccos_announce_file). */
static const char *const post_formats[] = { "rtf", "html", "story", NULL };
#define POST_FORMAT_DEPTH 16    /* nesting kept inside one format element */

static int post_format_known(const char *name)
{
	for (size_t i = 0; post_formats[i]; i++)
		if (strcmp(post_formats[i], name) == 0)
			return 1;
	return 0;
}

/* An element we can write back without any namespace declaration: in the
 * envelope's default (XCCOS) namespace and without a prefix.  An undeclared
 * prefix leaves its colon in the name, so that is refused too. */
static int plain_element(xmlNodePtr n)
{
	return n->type == XML_ELEMENT_NODE && strchr((const char *)n->name, ':') == NULL &&
	       (n->ns == NULL || (n->ns->prefix == NULL && n->ns->href && strcmp((const char *)n->ns->href, XCCOS_NS) == 0));
}

/* Write n again from its parsed form: plain elements, their unprefixed
 * attributes and their text, all escaped by us.  Prefixed elements and
 * attributes, comments and processing instructions are left out, so what
 * is stored and relayed is namespace-well-formed under the envelope's one
 * default namespace, whatever declarations the post leaned on. */
static void write_plain(struct xml_out *o, xmlNodePtr n, int depth)
{
	if (!plain_element(n) || depth > POST_FORMAT_DEPTH)
		return;
	xo_fmt(o, "<%s", (const char *)n->name);
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		xmlChar *v;

		if (a->ns || strchr((const char *)a->name, ':'))
			continue;
		v = xmlNodeGetContent((xmlNodePtr)a);
		xo_attr(o, (const char *)a->name, v ? (const char *)v : "");
		xmlFree(v);
	}
	if (n->children == NULL) {
		xo_str(o, "/>");
		return;
	}
	xo_str(o, ">");
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content)
				xo_esc(o, (const char *)c->content, strlen((const char *)c->content), 0);
		} else if (c->type == XML_ELEMENT_NODE) {
			write_plain(o, c, depth + 1);
		}
	}
	xo_fmt(o, "</%s>", (const char *)n->name);
}

/* The known formatting children of the post, rewritten (write_plain). */
static int extra_children(xmlNodePtr post, struct xml_out *extra)
{
	for (xmlNodePtr n = post->children; n; n = n->next)
		if (plain_element(n) && post_format_known((const char *)n->name))
			write_plain(extra, n, 0);
	return extra->failed ? -1 : 0;
}

/* What history sends of a stored message's extra children.  Messages stored
 * by an older pchat were never checked, so they go through the same rewrite
 * as a new post (the server's own <file> card passes: it is written the way
 * write_plain writes it), and one old post cannot break every history reply. */
static void stored_extra_clean(struct xml_out *o, const char *extra, size_t len)
{
	static const char head[] = "<x xmlns=\"" XCCOS_NS "\">", tail[] = "</x>";
	struct xml_out wrapped;
	xmlDocPtr doc;

	if (len == 0)
		return;
	xo_init(&wrapped, len + sizeof head + sizeof tail);
	xo_raw(&wrapped, head, sizeof head - 1);
	xo_raw(&wrapped, extra, len);
	xo_raw(&wrapped, tail, sizeof tail - 1);
	doc = wrapped.failed ? NULL : xccos_read((const char *)buf_head(&wrapped.b), wrapped.b.len);
	buf_free(&wrapped.b);
	if (doc == NULL)
		return;         /* not well-formed: nothing of it is sent */
	for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next)
		if (plain_element(n) && (post_format_known((const char *)n->name) || strcmp((const char *)n->name, "file") == 0))
			write_plain(o, n, 0);
	xmlFreeDoc(doc);
}

/* A post: parsed and checked here (404 an unknown room, 403 not joined or
 * not allowed to post, 413 too long), then stored with its CHAT event and
 * sent to the room by chat_post.  Refusals are SIP statuses, since that is
 * what clients report. */
static void do_grpchat(struct xccos_req *q)
{
	struct xccos *x = q->x;
	char uri[CONFIG_STR_MAX + 64], guid[STORE_GUID_LEN + 1];
	struct store_room r;
	struct chat_room *cr;
	struct xml_out extra, attrs = { 0 };
	xmlChar *text = NULL;
	size_t text_len;

	if (copy_text_attr(q->node, "chanUri", uri, sizeof uri) < 0 || guid_from_uri(x, uri, guid) < 0) {
		q->status = 404;
		return;
	}
	if ((cr = chat_post_check(x->chat, q->d, guid, &r)) == NULL) {
		q->status = 403;
		return;
	}
	text = xmlNodeGetContent(child(q->node, "chat"));
	text_len = text ? strlen((const char *)text) : 0;
	if (text_len > x->cfg->max_message_bytes) {
		xmlFree(text);
		q->status = 413;
		return;
	}
	xo_init(&extra, x->cfg->max_message_bytes);
	xo_init(&attrs, POST_ATTRS_MAX * (POST_ATTR_NAME_MAX + 6 * POST_ATTR_VALUE_MAX + 4));
	if (extra_children(q->node, &extra) < 0 || lync_post_attrs(q->node, &attrs) < 0) {
		q->status = 413;
		goto out;
	}
	switch (chat_post(x->chat, cr, q->d, &r, text ? (const char *)text : "", text_len,
	                  extra.b.len ? (const char *)buf_head(&extra.b) : "", extra.b.len,
	                  attrs.b.len ? (const char *)buf_head(&attrs.b) : "", attrs.b.len)) {
	case POST_OK: break;
	case POST_TOO_LARGE: q->status = 413; break;
	default: q->status = 503; break;
	}
out:
	buf_free(&extra.b);
	buf_free(&attrs.b);
	xmlFree(text);
}

/* cmd:getfutok / cmd:getfdtok: a one-time token for the file endpoint.
 * files_token_issue checks the room rules (the same check runs again when
 * the token is spent).  A download names its file by fileId (the
 * announcement's <file id>) or fileUrl (its name: the newest upload). */
static void getftok(struct xccos_req *q, int upload)
{
	struct xccos *x = q->x;
	xmlNodePtr ftdb = child(child(q->node, "data"), "ftdb");
	char uri[CONFIG_STR_MAX + 64], guid[STORE_GUID_LEN + 1], name[FILES_NAME_MAX], fid[24] = "";
	char token[FILES_TOKEN_LEN + 1], url[CONFIG_STR_MAX + 64];
	struct store_room r;
	const char *why = "ERR_BAD_REQUEST";
	struct xml_out o;
	int status;

	if (x->files == NULL) {
		reply_status(q, "getftok", 501, "ERR_NOT_SUPPORTED");
		return;
	}
	/* "channelUri", not "chanUri", in this element (xccos.md §5.12). */
	if (ftdb == NULL || copy_text_attr(ftdb, "channelUri", uri, sizeof uri) < 0 || guid_from_uri(x, uri, guid) < 0 ||
	    (xmlHasProp(ftdb, (const xmlChar *)"fileId") && copy_text_attr(ftdb, "fileId", fid, sizeof fid) < 0) ||
	    (copy_text_attr(ftdb, "fileUrl", name, sizeof name) < 0 && fid[0] == '\0')) {
		reply_status(q, "getftok", 400, "ERR_BAD_REQUEST");
		return;
	}
	if (store_room_get_guid(x->store, guid, &r) != STORE_OK) {
		reply_status(q, "getftok", 404, "ERR_NO_SUCH_CHANNEL");
		return;
	}
	if ((status = files_token_issue(x->files, sip_dialog_user(q->d), r.id, upload, name, fid, token, url, sizeof url,
	                                &why)) != 0) {
		reply_status(q, "getftok", status, why);
		return;
	}
	begin_reply(q, &o, "getftok", 200, "SUCCESS_OK");
	xo_fmt(&o, "<token token=\"%s\"", token);
	xo_attr(&o, "serveruri", url);
	xo_str(&o, "/>");
	end_reply(q, &o);
}

static void do_getfutok(struct xccos_req *q) { getftok(q, 1); }
static void do_getfdtok(struct xccos_req *q) { getftok(q, 0); }

void xccos_set_room_management_url(struct xccos *x, const char *url)
{
	snprintf(x->rm_url, sizeof x->rm_url, "%s", url ? url : "");
}

struct chat_rooms *xccos_chat_rooms(struct xccos *x)
{
	return x->chat;
}

void xccos_set_files(struct xccos *x, struct files *f)
{
	x->files = f;
	files_set_rights(f, chat_file_rights, x->chat);
}

void xccos_announce_file(void *arg, const struct files_upload_info *info)
{
	struct xccos *x = arg;

	chat_announce_file(x->chat, info);
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* The one command table.  Every dialog serves every command: a Lync 2013
 * client INVITEs the provisioned pool URI (the lookup URI), asks
 * getserverinfo and then bjoins on that same dialog ([MS-OCSPROT] 2.5.21),
 * while sipe asks requri there and moves to the channel URI; both dialogs
 * belong to the signed-in user, so nothing is gained by refusing either. */
struct xccos_cmd {
	const char *name;           /* without "cmd:" */
	void (*run)(struct xccos_req *q);
};

static const struct xccos_cmd xccos_cmds[] = {
	{ "requri", do_requri },
	{ "getserverinfo", do_getserverinfo },
	{ "getassociations", do_getassociations },
	{ "chansrch", do_chansrch },
	{ "join", do_join },
	{ "bjoin", do_bjoin },
	{ "part", do_part },
	{ "bccontext", do_bccontext },
	{ "getinv", do_getinv },
	{ "getfutok", do_getfutok },
	{ "getfdtok", do_getfdtok },
	{ "getpref", do_getpref },
	{ "setpref", do_setpref },
	{ "nodespermcreatechild", do_nodespermcreatechild },
	{ NULL, NULL }
};

static void xccos_dispatch(struct xccos_req *q)
{
	const char *name = q->env->id;
	const struct xccos_cmd *c;

	if (strcmp(q->env->kind, "grpchat") == 0) {
		do_grpchat(q);
		return;
	}
	if (strcmp(q->env->kind, "cmd") != 0 || strncmp(name, "cmd:", 4) != 0) {
		reply_status(q, q->env->kind[0] && token_ok(q->env->kind, 15) ? q->env->kind : "unknown", 501,
		             "ERR_NOT_SUPPORTED");
		return;
	}
	name += 4;
	for (c = xccos_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			break;
	if (c->name == NULL) {
		/* Never silence: the client would wait forever (xccos.md §5.15). */
		log_info("dialog=%llu event=xccos-unknown id=%s", (unsigned long long)sip_dialog_id(q->d), q->env->id);
		reply_status(q, name, 501, "ERR_NOT_SUPPORTED");
		return;
	}
	c->run(q);
}

static int xccos_on_info(void *arg, struct sip_dialog *d, const char *body, size_t len)
{
	struct xccos *x = arg;
	struct xccos_envelope env;
	struct xccos_req q = { x, d, &env, NULL, 200 };
	xmlDocPtr doc = xccos_read(body, len);

	if (doc == NULL || (q.node = envelope_of(doc, &env)) == NULL) {
		log_info("dialog=%llu event=xccos-malformed user=%s bytes=%zu", (unsigned long long)sip_dialog_id(d),
		         sip_dialog_user(d), len);
		memset(&env, 0, sizeof env);
		reply_status(&q, "unknown", 400, "ERR_BAD_REQUEST");
		xmlFreeDoc(doc);
		return 200;
	}
	log_debug("dialog=%llu event=xccos kind=%s id=%s", (unsigned long long)sip_dialog_id(d), env.kind, env.id);
	xccos_dispatch(&q);
	xmlFreeDoc(doc);
	return q.status;
}

/* Every dialog may join rooms (see xccos_cmds), so each gets a session. */
static void xccos_on_dialog_open(void *arg, struct sip_dialog *d)
{
	struct xccos *x = arg;

	/* Every dialog is a chat session: the pool URI's too ([MS-OCSPROT] 2.5.21). */
	chat_session_open(x->chat, d);
}

/* BYE, idle expiry or a lost connection: an implicit part of every room,
 * the rooms stay followed. */
static void xccos_on_dialog_close(void *arg, struct sip_dialog *d)
{
	struct xccos *x = arg;

	chat_session_close(x->chat, d);
}

struct xccos *xccos_new(const struct config *cfg, struct store *st, struct loop *l)
{
	struct xccos *x = calloc(1, sizeof *x);

	if (x == NULL)
		return NULL;
	x->cfg = cfg;
	x->store = st;
	x->out.domain = cfg->domain;
	x->cb.on_dialog_open = xccos_on_dialog_open;
	x->cb.on_info = xccos_on_info;
	x->cb.on_dialog_close = xccos_on_dialog_close;
	x->cb.arg = x;
	if ((x->chat = chat_rooms_new(cfg, st, l, &x->out)) == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

void xccos_free(struct xccos *x)
{
	if (x == NULL)
		return;
	store_pass_commit(x->store);
	chat_rooms_free(x->chat);
	free(x);
}

size_t xccos_rooms_in_use(const struct xccos *x)
{
	return chat_rooms_in_use(x->chat);
}

const struct sip_callbacks *xccos_callbacks(struct xccos *x)
{
	return &x->cb;
}
