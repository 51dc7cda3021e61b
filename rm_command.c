/*
 * rm_command.c - RMCommand documents (see rm_command.h): parsed by libxml2
 * from memory with an explicit length, network access and entity
 * substitution off, a DTD refused before and after parsing, the size capped
 * before parsing; then mapped onto one rooms_manage.h change and answered.
 */
#include "rm_command.h"
#include "base.h"
#include "xml_out.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RM_ANSWER_MAX (1u << 20)
#define RM_DEPTH_MAX 8          /* element levels a command document may have */
#define RM_ATTR_MAX 16384       /* bytes of one attribute value */

/* ---- parsing ------------------------------------------------------------------- */

static int too_deep(xmlNodePtr n, int depth)
{
	if (depth > RM_DEPTH_MAX)
		return 1;
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && too_deep(c, depth + 1))
			return 1;
	return 0;
}

static xmlNodePtr cmd_first_element(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static int in_cwa_ns(xmlNodePtr n)
{
	return n->ns && n->ns->href && strcmp((const char *)n->ns->href, RM_CWA_NS) == 0;
}

/* The attribute's value copied (no namespace, name matched case-blind as
 * Microsoft's code does), NULL if absent; *bad set when over-long or out
 * of memory. */
static char *attr_copy(xmlNodePtr n, const char *name, int *bad)
{
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		xmlChar *v;
		char *copy;

		if (a->ns != NULL || strcasecmp((const char *)a->name, name) != 0)
			continue;
		if ((v = xmlNodeListGetString(n->doc, a->children, 1)) == NULL)
			v = xmlStrdup((const xmlChar *)"");
		if (v == NULL || strlen((const char *)v) >= RM_ATTR_MAX) {
			xmlFree(v);
			*bad = 1;
			return NULL;
		}
		copy = strdup((const char *)v);
		xmlFree(v);
		if (copy == NULL)
			*bad = 1;
		return copy;
	}
	return NULL;
}

/* Split "alice; bob, carol" into trimmed names (empty ones skipped). */
static int split_users(const char *s, char ***out, size_t *n)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, ";,");
		const char *b = s, *e = s + len;
		char *name;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			if (*n >= RM_COMMAND_USERS_MAX || array_reserve(out, &cap, *n, sizeof **out, 8) < 0 ||
			    (name = strndup(b, (size_t)(e - b))) == NULL)
				return -1;
			(*out)[(*n)++] = name;
		}
		s += len;
		if (*s)
			s++;
	}
	return 0;
}

void rm_command_free(struct rm_command *c)
{
	free(c->room_name);
	free(c->room_desc);
	free(c->privacy);
	free(c->add_in);
	free(c->category_uri);
	free(c->notification);
	free(c->room_id);
	rm_strings_free(c->managers, c->n_managers);
	rm_strings_free(c->members, c->n_members);
	memset(c, 0, sizeof *c);
}

int rm_command_parse(const char *body, size_t len, struct rm_command *out, char *why, size_t whylen)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr cmd;
	char *type = NULL, *list;
	int bad = 0, rc = -1;

	memset(out, 0, sizeof *out);
	if (body == NULL || len == 0) {
		snprintf(why, whylen, "an RMCommand document is expected");
		return -1;
	}
	if (len > RM_COMMAND_MAX) {
		snprintf(why, whylen, "the document is too large (at most %d bytes)", RM_COMMAND_MAX);
		return -1;
	}
	/* A DTD is never legitimate here; refusing it up front means no entity
	 * declaration is ever processed. */
	if (memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!ENTITY", 8)) {
		snprintf(why, whylen, "a document type declaration is not allowed");
		return -1;
	}
	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || doc->intSubset || doc->extSubset || (cmd = xmlDocGetRootElement(doc)) == NULL) {
		snprintf(why, whylen, "the body is not well-formed XML");
		goto out;
	}
	if (too_deep(cmd, 1)) {
		snprintf(why, whylen, "the document is nested too deeply (at most %d levels)", RM_DEPTH_MAX);
		goto out;
	}
	/* The command is the root, or the root's first element child. */
	if (strcmp((const char *)cmd->name, "RMCommand") != 0 && cmd_first_element(cmd->children))
		cmd = cmd_first_element(cmd->children);
	if (!in_cwa_ns(cmd)) {
		snprintf(why, whylen, "the command must be in the namespace %s", RM_CWA_NS);
		goto out;
	}
	type = attr_copy(cmd, "Type", &bad);
	if (type == NULL || bad) {
		snprintf(why, whylen, "the command has no Type");
		goto out;
	}
	if (strcasecmp(type, "CreateRoom") == 0)
		out->type = RMC_CREATE_ROOM;
	else if (strcasecmp(type, "ModifyRoom") == 0)
		out->type = RMC_MODIFY_ROOM;
	else if (strcasecmp(type, "Landing") == 0)
		out->type = RMC_LANDING;
	else {
		snprintf(why, whylen, "unknown command Type (CreateRoom, ModifyRoom or Landing)");
		goto out;
	}
	out->room_name = attr_copy(cmd, "RoomName", &bad);
	out->room_desc = attr_copy(cmd, "RoomDesc", &bad);
	out->privacy = attr_copy(cmd, "Privacy", &bad);
	out->add_in = attr_copy(cmd, "AddIn", &bad);
	out->category_uri = attr_copy(cmd, "CategoryUri", &bad);
	out->notification = attr_copy(cmd, "Notification", &bad);
	out->room_id = attr_copy(cmd, "RoomId", &bad);
	if ((list = attr_copy(cmd, "Managers", &bad)) != NULL) {
		out->has_managers = 1;
		if (split_users(list, &out->managers, &out->n_managers) < 0)
			bad = 1;
		free(list);
	}
	if ((list = attr_copy(cmd, "Members", &bad)) != NULL) {
		out->has_members = 1;
		if (split_users(list, &out->members, &out->n_members) < 0)
			bad = 1;
		free(list);
	}
	if (bad) {
		snprintf(why, whylen, "an attribute is too long (at most %d bytes, %d names)", RM_ATTR_MAX - 1,
		         RM_COMMAND_USERS_MAX);
		goto out;
	}
	if (out->type == RMC_CREATE_ROOM && out->room_name == NULL) {
		snprintf(why, whylen, "CreateRoom needs a RoomName");
		goto out;
	}
	if (out->type == RMC_MODIFY_ROOM && out->room_id == NULL) {
		snprintf(why, whylen, "ModifyRoom needs a RoomId");
		goto out;
	}
	rc = 0;
out:
	free(type);
	xmlFreeDoc(doc);
	if (rc < 0)
		rm_command_free(out);
	return rc;
}

/* ---- mapping onto a change ---------------------------------------------------------- */

struct items {
	struct rm_item *v;
	size_t n, cap;
};

static int item_add(struct items *l, enum rm_key key, const char *value)
{
	if (array_reserve(&l->v, &l->cap, l->n, sizeof *l->v, 16) < 0)
		return -1;
	l->v[l->n].key = key;
	l->v[l->n].value = value;
	l->n++;
	return 0;
}

/* Privacy and Notification as Lync wrote them ("Closed", "inherit",
 * "true"); anything else is passed on for rooms_manage to refuse. */
static const char *privacy_word(const char *v)
{
	static const char *const words[] = { "open", "closed", "secret" };

	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(v, words[i]) == 0)
			return words[i];
	return v;
}

static const char *notification_word(const char *v)
{
	if (strcasecmp(v, "inherit") == 0)
		return "inherit";
	if (strcasecmp(v, "on") == 0 || strcasecmp(v, "true") == 0)
		return "on";
	if (strcasecmp(v, "off") == 0 || strcasecmp(v, "false") == 0)
		return "off";
	return v;
}

/* "ma-cat://DOMAIN/NAME" or a plain NAME (pchat's categories have names,
 * not GUIDs). */
static const char *category_name(const struct config *cfg, const char *uri)
{
	size_t dl = strlen(cfg->domain);

	if (strncasecmp(uri, "ma-cat://", 9) == 0 && strncasecmp(uri + 9, cfg->domain, dl) == 0 && uri[9 + dl] == '/')
		return uri + 10 + dl;
	return uri;
}

static int in_list(char **l, size_t n, const char *uri)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], uri) == 0)
			return 1;
	return 0;
}

/* A ModifyRoom list is the whole new list: add who is new, remove who is
 * gone.  Names are canonicalised into owned (freed by the caller). */
static enum rm_result list_diff(struct rm_ctx *ctx, struct items *it, struct items *owned, char **want, size_t nwant,
                                char **have, size_t nhave, enum rm_key add, enum rm_key del)
{
	char uri[STORE_URI_MAX];
	char **canon = calloc(nwant + 1, sizeof *canon);
	enum rm_result res = RM_OK;

	if (canon == NULL)
		return RM_STORE;
	for (size_t i = 0; i < nwant && res == RM_OK; i++) {
		if ((res = rm_user_uri(ctx, want[i], uri)) != RM_OK)
			break;
		if ((canon[i] = strdup(uri)) == NULL || item_add(owned, add, canon[i]) < 0) {
			free(canon[i]);
			res = RM_STORE;
			break;
		}
		if (!in_list(have, nhave, uri) && item_add(it, add, canon[i]) < 0)
			res = RM_STORE;
	}
	for (size_t i = 0; i < nhave && res == RM_OK; i++)
		if (!in_list(canon, nwant, have[i]) && item_add(it, del, have[i]) < 0)
			res = RM_STORE;
	free(canon);        /* the strings live on in owned */
	return res;
}

static int status_of(enum rm_result r)
{
	switch (r) {
	case RM_OK: return 200;
	case RM_BAD_VALUE: return 400;
	case RM_FORBIDDEN:
	case RM_WALL: return 403;
	case RM_NOT_FOUND: return 404;
	case RM_NAME_TAKEN: return 409;
	case RM_STORE: return 503;
	}
	return 500;
}

/* ---- answers ------------------------------------------------------------------------- */

static void answer_begin(struct xml_out *o, const char *result, int ok, const struct rm_actor *a)
{
	xo_fmt(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?><RMResponse xmlns=\"%s\"><%s><Success>%s</Success>",
	       RM_CWA_NS, result, ok ? "true" : "false");
	xo_str(o, "<UserName>");
	xo_esc(o, a->uri ? a->uri : "", a->uri ? strlen(a->uri) : 0, 0);
	xo_str(o, "</UserName>");
}

static void answer_text(struct xml_out *o, const char *elem, const char *text)
{
	xo_fmt(o, "<%s>", elem);
	xo_esc(o, text, strlen(text), 0);
	xo_fmt(o, "</%s>", elem);
}

static void answer_error(struct xml_out *o, enum rm_result r, const char *why)
{
	xo_str(o, "<Error");
	xo_attr(o, "code", rm_result_name(r));
	xo_str(o, ">");
	xo_esc(o, why, strlen(why), 0);
	xo_str(o, "</Error>");
}

static void answer_room(struct xml_out *o, const struct config *cfg, const struct store_room *r, const char *category)
{
	char uri[STORE_URI_MAX + 64];

	snprintf(uri, sizeof uri, "ma-chan://%s/%s", cfg->domain, r->guid);
	answer_text(o, "RoomId", uri);
	snprintf(uri, sizeof uri, "ma-cat://%s/%s", cfg->domain, category);
	answer_text(o, "CategoryUri", uri);
	answer_text(o, "RoomName", r->name);
	answer_text(o, "RoomDesc", r->description);
	answer_text(o, "Privacy", rm_word(rm_key_words(RM_PRIVACY, RM_FOR_ROOM_SET), r->privacy));
	answer_text(o, "Disabled", r->disabled ? "true" : "false");
}

static enum rm_result do_landing(struct rm_ctx *ctx, const struct rm_actor *a, struct xml_out *o)
{
	struct rm_room_entry *rooms = NULL;
	size_t n = 0;
	enum rm_result res = rm_my_rooms(ctx, a, 0, &rooms, &n);

	answer_begin(o, "LandingResult", res == RM_OK, a);
	for (size_t i = 0; i < n; i++) {
		xo_str(o, "<ChatRoomTag>");
		answer_room(o, ctx->cfg, &rooms[i].room, rooms[i].category);
		answer_text(o, "Role", rooms[i].roles & STORE_ROLE_MANAGER ? "manager" :
		            rooms[i].roles & STORE_ROLE_PRESENTER ? "presenter" : rooms[i].roles ? "member" : "follower");
		xo_fmt(o, "<Unread>%lld</Unread></ChatRoomTag>", (long long)rooms[i].unread);
	}
	if (res != RM_OK)
		answer_error(o, res, ctx->why);
	xo_str(o, "</LandingResult></RMResponse>");
	free(rooms);
	return res;
}

static enum rm_result do_change(struct rm_ctx *ctx, const struct rm_actor *a, const struct rm_command *c,
                                struct xml_out *o)
{
	struct items it = { 0 }, owned = { 0 };
	struct rm_room_info info;
	struct store_room r;
	enum rm_result res = RM_OK;
	int create = c->type == RMC_CREATE_ROOM;
	const char *cat = c->category_uri ? category_name(ctx->cfg, c->category_uri) : NULL;

	memset(&info, 0, sizeof info);
	memset(&r, 0, sizeof r);
	if (!create && (res = rm_room_get(ctx, a, c->room_id, &info)) != RM_OK)
		goto answer;
	if (!create && c->room_name && strcmp(c->room_name, info.room.name) != 0 && item_add(&it, RM_NAME, c->room_name) < 0)
		goto oom;
	if (c->room_desc && item_add(&it, RM_DESCRIPTION, c->room_desc) < 0)
		goto oom;
	if (c->privacy && item_add(&it, RM_PRIVACY, privacy_word(c->privacy)) < 0)
		goto oom;
	if (c->notification && item_add(&it, RM_INVITATIONS, notification_word(c->notification)) < 0)
		goto oom;
	/* A manager may not move a room; naming its own category is no move. */
	if (cat && (create || strcasecmp(cat, info.category.name) != 0) && item_add(&it, RM_CATEGORY, cat) < 0)
		goto oom;
	if (create) {
		for (size_t i = 0; i < c->n_managers; i++)
			if (item_add(&it, RM_MANAGER, c->managers[i]) < 0)
				goto oom;
		for (size_t i = 0; i < c->n_members; i++)
			if (item_add(&it, RM_MEMBER, c->members[i]) < 0)
				goto oom;
	} else {
		if (c->has_managers && (res = list_diff(ctx, &it, &owned, c->managers, c->n_managers, info.managers,
		                                        info.n_managers, RM_MANAGER, RM_REMOVE_MANAGER)) != RM_OK)
			goto answer;
		if (c->has_members && (res = list_diff(ctx, &it, &owned, c->members, c->n_members, info.members,
		                                       info.n_members, RM_MEMBER, RM_REMOVE_MEMBER)) != RM_OK)
			goto answer;
	}
	{
		struct rm_change ch = { it.v, it.n };

		if (create)
			res = rm_room_create(ctx, a, c->room_name, &ch, &r);
		else if (it.n == 0)
			r = info.room;      /* nothing to change: the room as it is */
		else
			res = rm_room_modify(ctx, a, info.room.guid, &ch, &r);
	}
	goto answer;
oom:
	res = RM_STORE;
	snprintf(ctx->why, sizeof ctx->why, "out of memory");
answer:
	answer_begin(o, create ? "CreateResult" : "EditResult", res == RM_OK, a);
	if (res == RM_OK) {
		struct rm_room_info now;

		if (rm_room_get(ctx, a, r.guid, &now) == RM_OK) {
			answer_room(o, ctx->cfg, &now.room, now.category.name);
			rm_room_info_free(&now);
		}
	} else {
		answer_error(o, res, ctx->why);
	}
	xo_str(o, create ? "</CreateResult></RMResponse>" : "</EditResult></RMResponse>");
	for (size_t i = 0; i < owned.n; i++)
		free((char *)owned.v[i].value);
	free(owned.v);
	free(it.v);
	rm_room_info_free(&info);
	return res;
}

int rm_command_handle(struct rm_ctx *ctx, const struct rm_actor *a, const char *body, size_t len,
                      struct buf *answer, int *http_status)
{
	struct rm_command c;
	struct xml_out o;
	char why[RM_WHY_MAX];
	enum rm_result res;

	xo_init(&o, RM_ANSWER_MAX);
	if (rm_command_parse(body, len, &c, why, sizeof why) < 0) {
		res = RM_BAD_VALUE;
		snprintf(ctx->why, sizeof ctx->why, "%s", why);
		*http_status = len > RM_COMMAND_MAX ? 413 : 400;
		xo_fmt(&o, "<?xml version=\"1.0\" encoding=\"utf-8\"?><RMResponse xmlns=\"%s\">", RM_CWA_NS);
		answer_error(&o, res, why);
		xo_str(&o, "</RMResponse>");
	} else {
		res = c.type == RMC_LANDING ? do_landing(ctx, a, &o) : do_change(ctx, a, &c, &o);
		*http_status = status_of(res);
		rm_command_free(&c);
	}
	if (o.failed) {
		buf_free(&o.b);
		buf_init(answer, 0);
		*http_status = 500;
		return -1;
	}
	*answer = o.b;
	return (int)res;
}
