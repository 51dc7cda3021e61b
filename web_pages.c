/*
 * web_pages.c - the pages of the room-management web service (web.h):
 * plain HTML built in one xml_out with every piece of user text escaped
 * (xo_esc), one stylesheet and one small script compiled in, forms that
 * work without the script and with the keyboard alone.  Every change goes
 * through rooms_manage.c (the rules the CLI shares), which also tells the
 * people in the room at once.
 */
#include "web_internal.h"
#include "base.h"
#include "log.h"
#include "rm_command.h"
#include "rooms_manage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- compiled-in files ------------------------------------------------------------- */

const char web_css[] =
	":root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0b5cad;--bad:#b3261e;--ok:#1a7f37}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);background:#f6f8fa}\n"
	"header{background:var(--accent);color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}\n"
	"header a{color:#fff}header .who{margin-left:auto}\n"
	"header form{display:inline;margin:0}\n"
	"main{max-width:56rem;margin:0 auto;padding:1rem}\n"
	"h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}\n"
	"section,.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:1rem;margin:0 0 1rem}\n"
	"section>h2:first-child{margin-top:0}\n"
	"label{display:block;font-weight:600;margin:.75rem 0 .25rem}\n"
	"input[type=text],input[type=password],input[type=search],textarea,select{width:100%;max-width:36rem;padding:.5rem;"
	"font:inherit;border:1px solid var(--muted);border-radius:4px;background:#fff}\n"
	"textarea{min-height:4rem}\n"
	"button,.button{font:inherit;padding:.45rem .9rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);"
	"color:#fff;cursor:pointer;margin:.5rem .5rem 0 0;text-decoration:none;display:inline-block}\n"
	"button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}\n"
	":focus-visible{outline:3px solid #f0a500;outline-offset:2px}\n"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid var(--line);"
	"vertical-align:top}\n"
	".msg{padding:.6rem;border-radius:4px;background:#fff4f4;border:1px solid var(--bad);color:var(--bad)}\n"
	".ok{padding:.6rem;border-radius:4px;background:#f0fff4;border:1px solid var(--ok);color:var(--ok)}\n"
	".muted{color:var(--muted)}.badge{display:inline-block;min-width:1.5rem;padding:0 .4rem;border-radius:1rem;"
	"background:var(--accent);color:#fff;text-align:center;font-size:.85rem}\n"
	".inline{display:inline}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}\n"
	"fieldset{border:1px solid var(--line);border-radius:4px;margin:.75rem 0;padding:.5rem 1rem}\n"
	"legend{font-weight:600}fieldset label{display:inline;font-weight:400;margin-right:1rem}\n"
	"ul.people{list-style:none;padding:0;margin:0}ul.people li{padding:.25rem 0;border-bottom:1px solid var(--line)}\n"
	"@media (max-width:40rem){main{padding:.5rem}th.opt,td.opt{display:none}}\n";

/* The user picker: the search field asks the users endpoint as the user
 * types and offers the answers in a datalist; without the script the field
 * takes a user name as typed. */
const char web_js[] =
	"'use strict';\n"
	"document.addEventListener('DOMContentLoaded', function () {\n"
	"  var csrf = document.querySelector('input[name=csrf]');\n"
	"  document.querySelectorAll('input[data-picker]').forEach(function (field) {\n"
	"    var list = document.getElementById(field.getAttribute('list'));\n"
	"    var timer = null;\n"
	"    field.addEventListener('input', function () {\n"
	"      clearTimeout(timer);\n"
	"      timer = setTimeout(function () {\n"
	"        if (!csrf || field.value.length < 1) return;\n"
	"        var body = 'csrf=' + encodeURIComponent(csrf.value) + '&q=' + encodeURIComponent(field.value);\n"
	"        fetch('users', {method: 'POST', credentials: 'same-origin',\n"
	"          headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: body})\n"
	"          .then(function (r) { return r.ok ? r.json() : []; })\n"
	"          .then(function (users) {\n"
	"            while (list.firstChild) list.removeChild(list.firstChild);\n"
	"            users.forEach(function (u) { var o = document.createElement('option'); o.value = u; list.appendChild(o); });\n"
	"          }).catch(function () {});\n"
	"      }, 200);\n"
	"    });\n"
	"  });\n"
	"  document.querySelectorAll('form[data-confirm]').forEach(function (form) {\n"
	"    form.addEventListener('submit', function (e) {\n"
	"      if (!window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();\n"
	"    });\n"
	"  });\n"
	"});\n";

/* ---- layout -------------------------------------------------------------------------- */

void web_text(struct web_req *r, const char *s)
{
	xo_esc(&r->out, s, strlen(s), 1);
}

void web_head(struct web_req *r, const char *title)
{
	xo_str(&r->out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	                "<title>");
	web_text(r, title);
	xo_str(&r->out, " - Persistent Chat</title><link rel=\"stylesheet\" href=\"" WEB_PREFIX "/pchat.css\">"
	                "<script src=\"" WEB_PREFIX "/pchat.js\" defer></script></head><body>"
	                "<header><a href=\"" WEB_PREFIX "/\"><strong>Persistent Chat</strong></a>");
	if (r->user != NULL) {
		xo_str(&r->out, "<nav><a href=\"" WEB_PREFIX "/\">My rooms</a> &middot; <a href=\"" WEB_PREFIX
		                "/create\">Create a room</a>");
		if (r->site_admin)
			xo_str(&r->out, " &middot; <a href=\"" WEB_PREFIX "/all\">All rooms</a> &middot; <a href=\"" WEB_PREFIX
			                "/categories\">Categories</a>");
		xo_str(&r->out, "</nav><span class=\"who\">");
		web_text(r, r->user);
		xo_str(&r->out, "</span>");
		if (r->s != NULL) {
			xo_str(&r->out, "<form method=\"post\" action=\"" WEB_PREFIX "/signout\"><input type=\"hidden\" "
			                "name=\"csrf\" value=\"");
			web_text(r, r->s->csrf);
			xo_str(&r->out, "\"><button class=\"secondary\" type=\"submit\">Sign out</button></form>");
		}
	}
	xo_str(&r->out, "</header><main id=\"main\"><h1>");
	web_text(r, title);
	xo_str(&r->out, "</h1>");
}

void web_tail(struct web_req *r)
{
	xo_str(&r->out, "</main></body></html>\n");
}

void web_signin_page(struct web_req *r, int code, const char *reason, const char *pre, const char *error)
{
	(void)code;
	(void)reason;
	web_head(r, "Sign in");
	if (error != NULL) {
		xo_str(&r->out, "<p class=\"msg\" role=\"alert\" id=\"signin-error\">");
		web_text(r, error);
		xo_str(&r->out, "</p>");
	}
	xo_str(&r->out, "<section><form method=\"post\" action=\"" WEB_PREFIX "/signin\">"
	                "<input type=\"hidden\" name=\"pre\" value=\"");
	web_text(r, pre);
	xo_str(&r->out, "\"><label for=\"user\">User name</label>"
	                "<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" required autofocus>"
	                "<label for=\"password\">Password</label>"
	                "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>"
	                "<div><button type=\"submit\" id=\"signin\">Sign in</button></div></form></section>"
	                "<p class=\"muted\">On a Windows computer of this site you may "
	                "<a href=\"" WEB_PREFIX "/ntlm\">sign in with your Windows account</a> (NTLM).</p>");
	web_tail(r);
}

/* ---- pieces -------------------------------------------------------------------------- */

#define PAGE_FIELD_MAX STORE_TEXT_MAX

static void csrf_field(struct web_req *r)
{
	xo_str(&r->out, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_text(r, r->s ? r->s->csrf : "");
	xo_str(&r->out, "\">");
}

static void notice(struct web_req *r, int good, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	xo_str(&r->out, good ? "<p class=\"ok\" role=\"status\">" : "<p class=\"msg\" role=\"alert\" id=\"error\">");
	web_text(r, text);
	xo_str(&r->out, "</p>");
}

/* A <select> of words with the current one selected. */
static void select_words(struct web_req *r, const char *name, const char *label, const char *const *words,
                         const char *current)
{
	xo_fmt(&r->out, "<label for=\"%s\">", name);
	web_text(r, label);
	xo_fmt(&r->out, "</label><select id=\"%s\" name=\"%s\">", name, name);
	for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
		xo_str(&r->out, "<option");
		if (current != NULL && strcmp(current, words[i]) == 0)
			xo_str(&r->out, " selected");
		xo_str(&r->out, ">");
		web_text(r, words[i]);
		xo_str(&r->out, "</option>");
	}
	xo_str(&r->out, "</select>");
}

static void text_input(struct web_req *r, const char *name, const char *label, const char *value, int textarea,
                       int required)
{
	xo_fmt(&r->out, "<label for=\"%s\">", name);
	web_text(r, label);
	if (textarea) {
		xo_fmt(&r->out, "</label><textarea id=\"%s\" name=\"%s\">", name, name);
		xo_esc(&r->out, value, strlen(value), 0);
		xo_str(&r->out, "</textarea>");
		return;
	}
	xo_fmt(&r->out, "</label><input type=\"text\" id=\"%s\" name=\"%s\"%s value=\"", name, name,
	       required ? " required" : "");
	web_text(r, value);
	xo_str(&r->out, "\">");
}

/* The HTTP status for a rules result. */
static int rm_status(enum rm_result rc, const char **reason)
{
	*reason = "Service Unavailable";
	switch (rc) {
	case RM_OK: *reason = "OK"; return 200;
	case RM_BAD_VALUE: *reason = "Bad Request"; return 400;
	case RM_FORBIDDEN: *reason = "Forbidden"; return 403;
	case RM_NOT_FOUND: *reason = "Not Found"; return 404;
	case RM_NAME_TAKEN:
	case RM_WALL: *reason = "Conflict"; return 409;
	default: return 503;
	}
}

/* A refused change or read as a page with the rules' reason. */
static void rm_refuse(struct web_req *r, enum rm_result rc, const char *title, const char *why)
{
	const char *reason;
	int code = rm_status(rc, &reason);

	web_message(r, code, reason, title, why[0] ? why : rm_result_name(rc));
}

static void ctx_init(struct web_req *r, struct rm_ctx *ctx, struct rm_actor *a)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->st = r->st;
	ctx->cfg = r->cfg;
	ctx->own_tx = 0;
	ctx->live = r->chat;
	a->uri = r->user;
	a->site_admin = r->site_admin;
}

static const char *role_names(int roles, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s%s", roles & STORE_ROLE_MANAGER ? "manager " : "",
	         roles & STORE_ROLE_PRESENTER ? "presenter " : "", roles & STORE_ROLE_MEMBER ? "member " : "",
	         roles ? "" : "-");
	return out;
}

/* ---- my rooms (and every room, for site admins) ---------------------------------------- */

/* Rooms per page of "My rooms" and "All rooms": the longest names and
 * categories, escaped, keep a page under WEB_PAGE_MAX. */
#define WEB_ROOMS_PER_PAGE 200

/* "Page 2 of 5" with links to the pages before and after. */
static void rooms_pager(struct web_req *r, int all, uint64_t page, uint64_t pages)
{
	const char *sub = all ? WEB_PREFIX "/all" : WEB_PREFIX "/";

	if (pages <= 1)
		return;
	xo_str(&r->out, "<nav aria-label=\"Pages\" class=\"pager\">");
	if (page > 1)
		xo_fmt(&r->out, "<a href=\"%s?page=%llu\" rel=\"prev\">Previous</a> ", sub, (unsigned long long)(page - 1));
	xo_fmt(&r->out, "<span id=\"page\">Page %llu of %llu</span>", (unsigned long long)page, (unsigned long long)pages);
	if (page < pages)
		xo_fmt(&r->out, " <a href=\"%s?page=%llu\" rel=\"next\">Next</a>", sub, (unsigned long long)(page + 1));
	xo_str(&r->out, "</nav>");
}

static void rooms_page(struct web_req *r, int all)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct rm_room_entry *rooms = NULL;
	size_t n = 0, first, end;
	enum rm_result rc;
	char done[64] = "", page_text[24];
	const char *title = all ? "All rooms" : "My rooms";
	uint64_t page = 1, pages;
	int got;

	ctx_init(r, &ctx, &a);
	if (all && !r->site_admin) {
		web_message(r, 403, "Forbidden", "All rooms", "only site admins see every room");
		return;
	}
	got = web_field(r, 1, "page", page_text, sizeof page_text);
	if (got < 0 || (got == 1 && (parse_u64(page_text, strlen(page_text), UINT32_MAX, &page) < 0 || page == 0))) {
		web_message(r, 400, "Bad Request", title, "page must be a whole number from 1");
		return;
	}
	if ((rc = rm_my_rooms(&ctx, &a, all, &rooms, &n)) != RM_OK) {

		rm_refuse(r, rc, title, ctx.why);
		return;
	}
	pages = n ? (n + WEB_ROOMS_PER_PAGE - 1) / WEB_ROOMS_PER_PAGE : 1;
	if (page > pages) {
		free(rooms);
		web_message(r, 404, "Not Found", title, "there is no such page");
		return;
	}
	first = (size_t)(page - 1) * WEB_ROOMS_PER_PAGE;
	end = n - first < WEB_ROOMS_PER_PAGE ? n : first + WEB_ROOMS_PER_PAGE;
	web_head(r, title);
	if (web_field(r, 1, "done", done, sizeof done) == 1 && strcmp(done, "deleted") == 0)
		notice(r, 1, "The room was deleted.");
	xo_str(&r->out, "<p><a class=\"button\" href=\"" WEB_PREFIX "/create\">Create a room</a></p>");
	if (n == 0) {
		xo_str(&r->out, "<p class=\"muted\" id=\"no-rooms\">You have no rooms yet: none you manage, are a member "
		                "of or follow.</p>");
	} else {
		xo_fmt(&r->out, "<section><table id=\"rooms\"><caption class=\"muted\">%s</caption><thead>",
		       all ? "Every room of the site" : "Rooms you manage, are in or follow");
		xo_str(&r->out, "<tr><th scope=\"col\">Room</th><th scope=\"col\" class=\"opt\">Category</th>"
		                "<th scope=\"col\">Your role</th><th scope=\"col\">Unread</th></tr></thead><tbody>");
		for (size_t i = first; i < end; i++) {
			const struct rm_room_entry *e = &rooms[i];
			char roles[64];

			xo_str(&r->out, "<tr><td>");
			if (e->may_manage) {
				xo_str(&r->out, "<a href=\"" WEB_PREFIX "/room?id=");
				web_text(r, e->room.guid);
				xo_str(&r->out, "\">");
				web_text(r, e->room.name);
				xo_str(&r->out, "</a>");
			} else {
				web_text(r, e->room.name);
			}
			if (e->room.disabled)
				xo_str(&r->out, " <span class=\"muted\">(disabled)</span>");
			xo_str(&r->out, "</td><td class=\"opt\">");
			web_text(r, e->category);
			xo_str(&r->out, "</td><td>");
			web_text(r, role_names(e->roles, roles, sizeof roles));
			if (e->followed)
				xo_str(&r->out, "<span class=\"muted\">(following)</span>");
			xo_str(&r->out, "</td><td>");
			if (e->followed && e->unread > 0)
				xo_fmt(&r->out, "<span class=\"badge\" aria-label=\"%lld unread\">%lld</span>", (long long)e->unread,
				       (long long)e->unread);
			else
				xo_str(&r->out, "<span class=\"muted\">0</span>");
			xo_str(&r->out, "</td></tr>");
		}
		xo_str(&r->out, "</tbody></table></section>");
		rooms_pager(r, all, page, pages);
	}
	web_tail(r);
	free(rooms);
	web_send_page(r, 200, "OK");
}

/* ---- create a room ----------------------------------------------------------------------- */

static void create_page(struct web_req *r, int code, const char *reason, const char *error)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct store_category *cats = NULL;
	size_t n = 0;
	enum rm_result rc;
	char name[STORE_NAME_MAX] = "", desc[PAGE_FIELD_MAX] = "", topic[PAGE_FIELD_MAX] = "";
	char cat[STORE_NAME_MAX] = "", privacy[16] = "closed", type[16] = "normal";

	ctx_init(r, &ctx, &a);
	if ((rc = rm_creator_categories(&ctx, &a, &cats, &n)) != RM_OK) {
		rm_refuse(r, rc, "Create a room", ctx.why);
		return;
	}
	if (n == 0) {
		free(cats);
		web_message(r, 403, "Forbidden", "Create a room",
		            "You may not create rooms: you are not a creator in any category. Ask your site admin to "
		            "add you to a category's creators.");
		return;
	}
	if (r->post) {
		web_field(r, 0, "name", name, sizeof name);
		web_field(r, 0, "description", desc, sizeof desc);
		web_field(r, 0, "topic", topic, sizeof topic);
		web_field(r, 0, "category", cat, sizeof cat);
		web_field(r, 0, "privacy", privacy, sizeof privacy);
		web_field(r, 0, "type", type, sizeof type);
	}
	web_head(r, "Create a room");
	notice(r, 0, error);
	xo_str(&r->out, "<section><form method=\"post\" action=\"" WEB_PREFIX "/create\">");
	csrf_field(r);
	text_input(r, "name", "Name", name, 0, 1);
	text_input(r, "description", "Description", desc, 1, 0);
	text_input(r, "topic", "Topic", topic, 0, 0);
	xo_str(&r->out, "<label for=\"category\">Category</label><select id=\"category\" name=\"category\">");
	for (size_t i = 0; i < n; i++) {
		xo_str(&r->out, "<option");
		if (strcmp(cat, cats[i].name) == 0)
			xo_str(&r->out, " selected");
		xo_str(&r->out, ">");
		web_text(r, cats[i].name);
		xo_str(&r->out, "</option>");
	}
	xo_str(&r->out, "</select>");
	select_words(r, "privacy", "Privacy", rm_key_words(RM_PRIVACY, RM_FOR_ROOM_ADD), privacy);
	select_words(r, "type", "Type", rm_key_words(RM_TYPE, RM_FOR_ROOM_ADD), type);
	xo_str(&r->out, "<p class=\"muted\">You become the room's manager; add members on the next page.</p>"
	                "<button type=\"submit\" id=\"create\">Create the room</button></form></section>");
	web_tail(r);
	free(cats);
	web_send_page(r, code, reason);
}

static void create_post(struct web_req *r)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct rm_item items[5];
	struct store_room room;
	char name[STORE_NAME_MAX * 2], desc[PAGE_FIELD_MAX * 2], topic[PAGE_FIELD_MAX * 2], cat[STORE_NAME_MAX * 2];
	char privacy[16], type[16], where[80];
	size_t n = 0;
	enum rm_result rc;
	const char *reason;

	ctx_init(r, &ctx, &a);
	if (web_field(r, 0, "name", name, sizeof name) != 1 || web_field(r, 0, "category", cat, sizeof cat) != 1) {
		create_page(r, 400, "Bad Request", "Give the room a name and a category.");
		return;
	}
	if (web_field(r, 0, "description", desc, sizeof desc) < 0 || web_field(r, 0, "topic", topic, sizeof topic) < 0) {
		create_page(r, 400, "Bad Request", "A field is too long or holds characters that are not allowed.");
		return;
	}
	items[n++] = (struct rm_item){ RM_CATEGORY, cat };
	if (desc[0])
		items[n++] = (struct rm_item){ RM_DESCRIPTION, desc };
	if (topic[0])
		items[n++] = (struct rm_item){ RM_TOPIC, topic };
	if (web_field(r, 0, "privacy", privacy, sizeof privacy) == 1)
		items[n++] = (struct rm_item){ RM_PRIVACY, privacy };
	if (web_field(r, 0, "type", type, sizeof type) == 1)
		items[n++] = (struct rm_item){ RM_TYPE, type };
	rc = rm_room_create(&ctx, &a, name, &(struct rm_change){ items, n }, &room);
	if (rc != RM_OK) {
		int code = rm_status(rc, &reason);

		create_page(r, code, reason, ctx.why);
		return;
	}
	log_info("conn=%llu event=web-room-created user=%s room=%s", (unsigned long long)r->c->id, r->user, room.guid);
	snprintf(where, sizeof where, "room?id=%s&done=created", room.guid);
	web_redirect(r, where, NULL);
}

/* ---- a room's settings ----------------------------------------------------------------------- */

static const char *const role_words[] = { "member", "manager", "presenter", NULL };

static void people_list(struct web_req *r, const char *guid, const char *role, const char *title, char **uris,
                        size_t n)
{
	xo_fmt(&r->out, "<h3>%s</h3>", title);
	if (n == 0) {
		xo_str(&r->out, "<p class=\"muted\">None.</p>");
		return;
	}
	xo_fmt(&r->out, "<ul class=\"people\" id=\"%ss\">", role);
	for (size_t i = 0; i < n; i++) {
		xo_str(&r->out, "<li>");
		web_text(r, uris[i]);
		xo_str(&r->out, " <form class=\"inline\" method=\"post\" action=\"" WEB_PREFIX "/room\">");
		csrf_field(r);
		xo_str(&r->out, "<input type=\"hidden\" name=\"id\" value=\"");
		web_text(r, guid);
		xo_fmt(&r->out, "\"><input type=\"hidden\" name=\"action\" value=\"remove\"><input type=\"hidden\" name=\"role\" "
		                "value=\"%s\"><input type=\"hidden\" name=\"user\" value=\"", role);
		web_text(r, uris[i]);
		xo_str(&r->out, "\"><button class=\"secondary\" type=\"submit\" aria-label=\"Remove ");
		web_text(r, uris[i]);
		xo_fmt(&r->out, " as %s\">Remove</button></form></li>", role);
	}
	xo_str(&r->out, "</ul>");
}

static void room_page(struct web_req *r, const char *room, int code, const char *reason, const char *error)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct rm_room_info info;
	enum rm_result rc;
	const struct store_room *rm;
	char done[32] = "";

	ctx_init(r, &ctx, &a);
	memset(&info, 0, sizeof info);
	if ((rc = rm_room_get(&ctx, &a, room, &info)) != RM_OK) {
		rm_refuse(r, rc, "Room settings", ctx.why);
		return;
	}
	if (!info.may_manage) {
		rm_room_info_free(&info);
		web_message(r, 403, "Forbidden", "Room settings", "You do not manage this room: only its managers (and site "
		            "admins) may change it.");
		return;
	}
	rm = &info.room;
	web_head(r, rm->name);
	if (web_field(r, 1, "done", done, sizeof done) == 1)
		notice(r, 1, strcmp(done, "created") == 0 ? "The room was created; you are its manager." : "Saved.");
	notice(r, 0, error);
	xo_str(&r->out, "<p class=\"muted\">Category ");
	web_text(r, info.category.name);
	xo_str(&r->out, rm->disabled ? " &middot; <strong>disabled</strong>" : " &middot; enabled");
	xo_str(&r->out, "</p><section><h2>Settings</h2><form method=\"post\" action=\"" WEB_PREFIX "/room\">");
	csrf_field(r);
	xo_str(&r->out, "<input type=\"hidden\" name=\"id\" value=\"");
	web_text(r, rm->guid);
	xo_str(&r->out, "\"><input type=\"hidden\" name=\"action\" value=\"save\">");
	text_input(r, "name", "Name", rm->name, 0, 1);
	text_input(r, "description", "Description", rm->description, 1, 0);
	text_input(r, "topic", "Topic", rm->topic, 0, 0);
	select_words(r, "privacy", "Privacy", rm_key_words(RM_PRIVACY, RM_FOR_ROOM_SET),
	             rm_word(rm_key_words(RM_PRIVACY, RM_FOR_ROOM_SET), rm->privacy));
	select_words(r, "type", "Type", rm_key_words(RM_TYPE, RM_FOR_ROOM_SET),
	             rm_word(rm_key_words(RM_TYPE, RM_FOR_ROOM_SET), rm->type));
	select_words(r, "invitations", "Invitations", rm_key_words(RM_INVITATIONS, RM_FOR_ROOM_SET),
	             rm_word(rm_key_words(RM_INVITATIONS, RM_FOR_ROOM_SET), rm->invitations + 1));
	xo_str(&r->out, "<div><button type=\"submit\" id=\"save\">Save</button></div></form></section>");

	xo_str(&r->out, "<section><h2>People</h2><form method=\"post\" action=\"" WEB_PREFIX "/room\" class=\"row\">");
	csrf_field(r);
	xo_str(&r->out, "<input type=\"hidden\" name=\"id\" value=\"");
	web_text(r, rm->guid);
	xo_str(&r->out, "\"><input type=\"hidden\" name=\"action\" value=\"add\"><div><label for=\"user\">Person</label>"
	                "<input type=\"search\" id=\"user\" name=\"user\" list=\"user-list\" data-picker "
	                "autocomplete=\"off\" placeholder=\"name or sip:name@domain\" required>"
	                "<datalist id=\"user-list\"></datalist></div><div>");
	select_words(r, "role", "Role", role_words, "member");
	xo_str(&r->out, "</div><div><button type=\"submit\" id=\"add\">Add</button></div></form>");
	people_list(r, rm->guid, "manager", "Managers", info.managers, info.n_managers);
	people_list(r, rm->guid, "member", "Members", info.members, info.n_members);
	people_list(r, rm->guid, "presenter", "Presenters", info.presenters, info.n_presenters);
	xo_str(&r->out, "</section><section><h2>State</h2><form method=\"post\" action=\"" WEB_PREFIX "/room\"");
	if (!rm->disabled)
		xo_str(&r->out, " data-confirm=\"Disable this room? Nobody can enter it until it is enabled again.\"");
	xo_str(&r->out, ">");
	csrf_field(r);
	xo_str(&r->out, "<input type=\"hidden\" name=\"id\" value=\"");
	web_text(r, rm->guid);
	xo_fmt(&r->out, "\"><input type=\"hidden\" name=\"action\" value=\"%s\"><p>%s</p>"
	                "<button type=\"submit\" id=\"state\" class=\"%s\">%s</button></form></section>",
	       rm->disabled ? "enable" : "disable",
	       rm->disabled ? "The room is disabled: nobody can enter it." : "The room is enabled.",
	       rm->disabled ? "" : "danger", rm->disabled ? "Enable the room" : "Disable the room");
	web_tail(r);
	rm_room_info_free(&info);
	web_send_page(r, code, reason);
}

static int role_key(const char *role, int remove, enum rm_key *key)
{
	if (strcmp(role, "member") == 0)
		*key = remove ? RM_REMOVE_MEMBER : RM_MEMBER;
	else if (strcmp(role, "manager") == 0)
		*key = remove ? RM_REMOVE_MANAGER : RM_MANAGER;
	else if (strcmp(role, "presenter") == 0)
		*key = remove ? RM_REMOVE_PRESENTER : RM_PRESENTER;
	else
		return -1;
	return 0;
}

static void room_post(struct web_req *r)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct rm_item items[6];
	struct store_room before, after;
	char guid[STORE_GUID_LEN + 8], action[16], name[STORE_NAME_MAX * 2], desc[PAGE_FIELD_MAX * 2];
	char topic[PAGE_FIELD_MAX * 2], privacy[16], type[16], inv[16], user[STORE_URI_MAX], role[16], where[96];
	size_t n = 0;
	enum rm_key key;
	enum rm_result rc;
	const char *reason;

	ctx_init(r, &ctx, &a);
	if (web_field(r, 0, "id", guid, sizeof guid) != 1 || web_field(r, 0, "action", action, sizeof action) != 1) {
		web_message(r, 400, "Bad Request", "Room settings", "which room, and what to do?");
		return;
	}
	if ((rc = rm_room_find(&ctx, &a, guid, &before)) != RM_OK) {
		rm_refuse(r, rc, "Room settings", ctx.why);
		return;
	}
	if (strcmp(action, "save") == 0) {
		int has_name = web_field(r, 0, "name", name, sizeof name);
		int has_desc = web_field(r, 0, "description", desc, sizeof desc);
		int has_topic = web_field(r, 0, "topic", topic, sizeof topic);

		if (has_name < 0 || has_desc < 0 || has_topic < 0) {
			room_page(r, guid, 400, "Bad Request", "A field is too long or holds characters that are not allowed.");
			return;
		}
		/* Only what changed, so the ADMIN event and the notices say what did. */
		if (has_name && strcmp(name, before.name) != 0)
			items[n++] = (struct rm_item){ RM_RENAME, name };
		if (has_desc && strcmp(desc, before.description) != 0)
			items[n++] = (struct rm_item){ RM_DESCRIPTION, desc };
		if (has_topic && strcmp(topic, before.topic) != 0)
			items[n++] = (struct rm_item){ RM_TOPIC, topic };
		if (web_field(r, 0, "privacy", privacy, sizeof privacy) == 1)
			items[n++] = (struct rm_item){ RM_PRIVACY, privacy };
		if (web_field(r, 0, "type", type, sizeof type) == 1)
			items[n++] = (struct rm_item){ RM_TYPE, type };
		if (web_field(r, 0, "invitations", inv, sizeof inv) == 1)
			items[n++] = (struct rm_item){ RM_INVITATIONS, inv };
		rc = rm_room_modify(&ctx, &a, guid, &(struct rm_change){ items, n }, &after);
	} else if (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0) {
		if (web_field(r, 0, "user", user, sizeof user) != 1 || web_field(r, 0, "role", role, sizeof role) != 1 ||
		    role_key(role, action[0] == 'r', &key) < 0) {
			room_page(r, guid, 400, "Bad Request", "Name a person and a role.");
			return;
		}
		items[n++] = (struct rm_item){ key, user };
		rc = rm_room_modify(&ctx, &a, guid, &(struct rm_change){ items, n }, &after);
	} else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0) {
		rc = rm_room_state(&ctx, &a, guid, action, &after);
	} else {
		web_message(r, 400, "Bad Request", "Room settings", "unknown action");
		return;
	}
	if (rc != RM_OK) {
		int code = rm_status(rc, &reason);

		if (rc == RM_NOT_FOUND)
			web_message(r, code, reason, "Room settings", ctx.why);
		else
			room_page(r, guid, code, reason, ctx.why);
		return;
	}
	log_info("conn=%llu event=web-room-changed user=%s room=%s action=%s", (unsigned long long)r->c->id, r->user,
	         before.guid, action);
	snprintf(where, sizeof where, "room?id=%s&done=saved", before.guid);
	web_redirect(r, where, NULL);
}

/* ---- the user picker's search ------------------------------------------------------------ */

/* s as a JSON string's contents (RFC 8259 §7). */
static void json_esc(struct xml_out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			xo_fmt(o, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			xo_fmt(o, "\\u%04x", c);
		else
			xo_raw(o, s, 1);
	}
}

static void users_post(struct web_req *r)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	char q[STORE_URI_MAX], **found = NULL;
	size_t n = 0;
	enum rm_result rc;
	const char *reason;

	ctx_init(r, &ctx, &a);
	if (web_field(r, 0, "q", q, sizeof q) != 1) {
		web_answer(r, 400, "Bad Request", "application/json", NULL, "[]", 2);
		return;
	}
	if ((rc = rm_user_search(&ctx, &a, q, 20, &found, &n)) != RM_OK) {
		{
			int code = rm_status(rc, &reason);

			web_answer(r, code, reason, "application/json", NULL, "[]", 2);
		}
		return;
	}
	xo_str(&r->out, "[");
	for (size_t i = 0; i < n; i++) {
		xo_str(&r->out, i ? ",\"" : "\"");
		json_esc(&r->out, found[i]);
		xo_str(&r->out, "\"");
	}
	xo_str(&r->out, "]");
	rm_strings_free(found, n);
	web_answer(r, 200, "OK", "application/json", NULL, buf_head(&r->out.b), r->out.b.len);
}

/* ---- categories (site admins) --------------------------------------------------------------- */

struct cat_names {
	char (*names)[STORE_NAME_MAX];
	size_t n, cap;
};

static int cat_name_add(void *arg, const struct store_category *c)
{
	struct cat_names *cn = arg;

	if (array_reserve(&cn->names, &cn->cap, cn->n, sizeof cn->names[0], 8) < 0)
		return -1;
	memcpy(cn->names[cn->n++], c->name, STORE_NAME_MAX);
	return 0;
}

static void principal_list(struct web_req *r, const char *cat, const char *list, const char *title, char **uris,
                           size_t n)
{
	xo_fmt(&r->out, "<h4>%s</h4>", title);
	if (n == 0)
		xo_str(&r->out, "<p class=\"muted\">None.</p>");
	for (size_t i = 0; i < n; i++) {
		xo_str(&r->out, "<form class=\"inline\" method=\"post\" action=\"" WEB_PREFIX "/category\">");
		csrf_field(r);
		xo_str(&r->out, "<input type=\"hidden\" name=\"name\" value=\"");
		web_text(r, cat);
		xo_fmt(&r->out, "\"><input type=\"hidden\" name=\"action\" value=\"remove\"><input type=\"hidden\" "
		                "name=\"list\" value=\"%s\"><input type=\"hidden\" name=\"user\" value=\"", list);
		web_text(r, uris[i]);
		xo_str(&r->out, "\">");
		web_text(r, uris[i]);
		xo_str(&r->out, " <button class=\"secondary\" type=\"submit\">Remove</button></form><br>");
	}
}

static const char *const list_words[] = { "allowed", "denied", "creator", NULL };

static void categories_page(struct web_req *r, int code, const char *reason, const char *error)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct cat_names cn = { NULL, 0, 0 };
	char done[16] = "";

	ctx_init(r, &ctx, &a);
	if (!r->site_admin) {
		web_message(r, 403, "Forbidden", "Categories", "only site admins manage categories");
		return;
	}
	if (store_category_each(r->st, cat_name_add, &cn) != STORE_OK) {
		free(cn.names);
		web_message(r, 503, "Service Unavailable", "Categories", "the store cannot be read now");
		return;
	}
	web_head(r, "Categories");
	if (web_field(r, 1, "done", done, sizeof done) == 1)
		notice(r, 1, "Saved.");
	notice(r, 0, error);
	xo_str(&r->out, "<section><h2>New category</h2><form method=\"post\" action=\"" WEB_PREFIX "/category\" class=\"row\">");
	csrf_field(r);
	xo_str(&r->out, "<input type=\"hidden\" name=\"action\" value=\"create\"><div>");
	text_input(r, "new-name", "Name", "", 0, 1);
	xo_str(&r->out, "</div><div><button type=\"submit\">Create</button></div></form></section>");
	for (size_t i = 0; i < cn.n; i++) {
		struct rm_category_info info;
		const struct store_category *c;
		char id[24];

		memset(&info, 0, sizeof info);
		if (rm_category_get(&ctx, &a, cn.names[i], &info) != RM_OK)
			continue;
		c = &info.category;
		snprintf(id, sizeof id, "c%zu", i);
		xo_str(&r->out, "<section><h2>");
		web_text(r, c->name);
		xo_fmt(&r->out, "</h2><p class=\"muted\">%zu room%s</p><form method=\"post\" action=\"" WEB_PREFIX "/category\">",
		       info.rooms, info.rooms == 1 ? "" : "s");
		csrf_field(r);
		xo_str(&r->out, "<input type=\"hidden\" name=\"action\" value=\"save\"><input type=\"hidden\" name=\"name\" value=\"");
		web_text(r, c->name);
		xo_fmt(&r->out, "\"><label for=\"%s-d\">Description</label><input type=\"text\" id=\"%s-d\" name=\"description\" "
		                "value=\"", id, id);
		web_text(r, c->description);
		xo_str(&r->out, "\"><div class=\"row\">");
		{
			const char *keys[] = { "file-upload", "invitations", "history" };
			const char *labels[] = { "File upload", "Invitations", "History" };
			int vals[] = { c->file_upload, c->invitations, c->history };

			for (size_t k = 0; k < 3; k++) {
				xo_fmt(&r->out, "<div><label for=\"%s-%s\">%s</label><select id=\"%s-%s\" name=\"%s\">", id, keys[k],
				       labels[k], id, keys[k], keys[k]);
				xo_fmt(&r->out, "<option%s>off</option><option%s>on</option></select></div>",
				       vals[k] ? "" : " selected", vals[k] ? " selected" : "");
			}
		}
		xo_str(&r->out, "</div><button type=\"submit\">Save</button></form>");
		principal_list(r, c->name, "allowed", "Allowed (empty: everyone)", info.allowed, info.n_allowed);
		principal_list(r, c->name, "denied", "Denied", info.denied, info.n_denied);
		principal_list(r, c->name, "creator", "Creators", info.creators, info.n_creators);
		xo_str(&r->out, "<form method=\"post\" action=\"" WEB_PREFIX "/category\" class=\"row\">");
		csrf_field(r);
		xo_str(&r->out, "<input type=\"hidden\" name=\"action\" value=\"add\"><input type=\"hidden\" name=\"name\" value=\"");
		web_text(r, c->name);
		xo_fmt(&r->out, "\"><div><label for=\"%s-u\">Person</label><input type=\"search\" id=\"%s-u\" name=\"user\" "
		                "list=\"%s-l\" data-picker autocomplete=\"off\" required><datalist id=\"%s-l\"></datalist></div><div>",
		       id, id, id, id);
		xo_fmt(&r->out, "<label for=\"%s-list\">List</label><select id=\"%s-list\" name=\"list\">", id, id);
		for (size_t k = 0; list_words[k]; k++)
			xo_fmt(&r->out, "<option>%s</option>", list_words[k]);
		xo_str(&r->out, "</select></div><div><button type=\"submit\">Add</button></div></form></section>");
		rm_category_info_free(&info);
	}
	free(cn.names);
	web_tail(r);
	web_send_page(r, code, reason);
}

static void category_post(struct web_req *r)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct rm_item items[4];
	char action[16], name[STORE_NAME_MAX * 2], desc[PAGE_FIELD_MAX * 2], fu[8], inv[8], hist[8], list[16];
	char user[STORE_URI_MAX];
	size_t n = 0;
	enum rm_result rc;
	const char *reason;

	ctx_init(r, &ctx, &a);
	if (web_field(r, 0, "action", action, sizeof action) != 1) {
		web_message(r, 400, "Bad Request", "Categories", "what to do?");
		return;
	}
	if (strcmp(action, "create") == 0) {
		if (web_field(r, 0, "new-name", name, sizeof name) != 1) {
			categories_page(r, 400, "Bad Request", "Give the category a name.");
			return;
		}
		rc = rm_category_create(&ctx, &a, name, &(struct rm_change){ items, 0 }, NULL);
	} else if (web_field(r, 0, "name", name, sizeof name) != 1) {
		web_message(r, 400, "Bad Request", "Categories", "which category?");
		return;
	} else if (strcmp(action, "save") == 0) {
		if (web_field(r, 0, "description", desc, sizeof desc) == 1)
			items[n++] = (struct rm_item){ RM_DESCRIPTION, desc };
		if (web_field(r, 0, "file-upload", fu, sizeof fu) == 1)
			items[n++] = (struct rm_item){ RM_FILE_UPLOAD, fu };
		if (web_field(r, 0, "invitations", inv, sizeof inv) == 1)
			items[n++] = (struct rm_item){ RM_INVITATIONS, inv };
		if (web_field(r, 0, "history", hist, sizeof hist) == 1)
			items[n++] = (struct rm_item){ RM_HISTORY, hist };
		rc = rm_category_modify(&ctx, &a, name, &(struct rm_change){ items, n }, NULL);
	} else if (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0) {
		int rem = action[0] == 'r';
		enum rm_key key;

		if (web_field(r, 0, "user", user, sizeof user) != 1 || web_field(r, 0, "list", list, sizeof list) != 1) {
			categories_page(r, 400, "Bad Request", "Name a person and a list.");
			return;
		}
		if (strcmp(list, "allowed") == 0)
			key = rem ? RM_UNALLOW : RM_ALLOW;
		else if (strcmp(list, "denied") == 0)
			key = rem ? RM_UNDENY : RM_DENY;
		else if (strcmp(list, "creator") == 0)
			key = rem ? RM_UNCREATOR : RM_CREATOR;
		else {
			categories_page(r, 400, "Bad Request", "unknown list");
			return;
		}
		items[n++] = (struct rm_item){ key, user };
		rc = rm_category_modify(&ctx, &a, name, &(struct rm_change){ items, n }, NULL);
	} else {
		web_message(r, 400, "Bad Request", "Categories", "unknown action");
		return;
	}
	if (rc != RM_OK) {
		int code = rm_status(rc, &reason);

		categories_page(r, code, reason, ctx.why);
		return;
	}
	{
		char cat[STORE_NAME_MAX * 2 + 8];

		log_info("conn=%llu event=web-category-changed user=%s category=%s action=%s", (unsigned long long)r->c->id,
		         r->user, log_value(cat, sizeof cat, name), action);
	}
	web_redirect(r, "categories?done=saved", NULL);
}

/* ---- the XML handler -------------------------------------------------------------------------- */

static void handler_post(struct web_req *r)
{
	struct rm_ctx ctx;
	struct rm_actor a;
	struct buf answer;
	int status = 500, rc;

	ctx_init(r, &ctx, &a);
	buf_init(&answer, WEB_PAGE_MAX);
	rc = rm_command_handle(&ctx, &a, r->body, r->blen, &answer, &status);
	if (rc < 0) {
		static const char text[] = "out of memory\n";

		web_answer(r, 500, "Internal Server Error", "text/plain; charset=utf-8", NULL, text, sizeof text - 1);
	} else {
		const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 403 ? "Forbidden"
		                     : status == 404 ? "Not Found" : status == 409 ? "Conflict"
		                     : status == 413 ? "Content Too Large" : "Service Unavailable";

		log_info("conn=%llu event=web-rmcommand user=%s result=%d status=%d", (unsigned long long)r->c->id, r->user,
		         rc, status);
		web_answer(r, status, reason, "text/xml; charset=utf-8", NULL, buf_head(&answer), answer.len);
	}
	buf_free(&answer);
}

/* ---- routes ----------------------------------------------------------------------------------- */

void web_route(struct web_req *r)
{
	const char *sub = r->sub;
	char room[STORE_GUID_LEN * 2 + 64];

	r->site_admin = rm_is_site_admin(r->cfg, r->user);
	if (!r->post && (sub[0] == '\0' || strcmp(sub, "default.aspx") == 0)) {
		rooms_page(r, 0);
	} else if (!r->post && strcmp(sub, "all") == 0) {
		rooms_page(r, 1);
	} else if (strcmp(sub, "create") == 0) {
		if (r->post)
			create_post(r);
		else
			create_page(r, 200, "OK", NULL);
	} else if (!r->post && strcmp(sub, "room") == 0) {
		if (web_field(r, 1, "id", room, sizeof room) != 1)
			web_message(r, 400, "Bad Request", "Room settings", "which room? (room?id=GUID)");
		else
			room_page(r, room, 200, "OK", NULL);
	} else if (r->post && strcmp(sub, "room") == 0) {
		room_post(r);
	} else if (r->post && strcmp(sub, "users") == 0) {
		users_post(r);
	} else if (!r->post && strcmp(sub, "categories") == 0) {
		categories_page(r, 200, "OK", NULL);
	} else if (r->post && strcmp(sub, "category") == 0) {
		category_post(r);
	} else if (r->post && strcmp(sub, "Handler/ManagementHandler.ashx") == 0) {
		handler_post(r);
	} else {
		web_message(r, 404, "Not Found", "Not found", "there is no such page");
	}
}
