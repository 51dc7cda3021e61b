/*
 * e2e_admin.c - end-to-end tests of `pchat category ...` and `pchat room ...`
 * through the real binary, against the store of a running server (the admin
 * commands share its SQLite file in WAL mode), ending with a check that the
 * server still answers.  The ADMIN compliance events are read back from the
 * store.  Usage: e2e_admin PCHAT_BINARY
 */
#include "check.h"
#include "tclient.h"

#include "../store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URI_PREFIX "ma-chan://example.org/"

static struct tserver srv;
static char out[65536];

static int server_answers(void)
{
	struct tclient t;
	int ok = tclient_connect(&t, srv.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

#define CLI(...) tserver_cli(&srv, NULL, out, sizeof out, __VA_ARGS__, NULL)

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* 1 if s is exactly one line "ma-chan://example.org/<guid>\n"; copies the URI. */
static int is_room_uri_line(const char *s, char *uri, size_t urilen)
{
	size_t pl = strlen(URI_PREFIX);
	const char *g = s + pl;

	if (strncmp(s, URI_PREFIX, pl) != 0 || strlen(s) != pl + STORE_GUID_LEN + 1 || s[pl + STORE_GUID_LEN] != '\n')
		return 0;
	for (int i = 0; i < STORE_GUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? g[i] != '-' : !((g[i] >= '0' && g[i] <= '9') || (g[i] >= 'a' && g[i] <= 'f')))
			return 0;
	}
	snprintf(uri, urilen, "%.*s", (int)(pl + STORE_GUID_LEN), s);
	return 1;
}

/* The line of `room list` output naming room `name` (second field), or NULL. */
static const char *list_line(const char *list, const char *name, char *line, size_t linelen)
{
	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (tab && tab < p + n && strncmp(tab + 1, name, strlen(name)) == 0 && tab[1 + strlen(name)] == '\t') {
			snprintf(line, linelen, "%.*s", (int)n, p);
			return line;
		}
		p += n + (nl != NULL);
	}
	return NULL;
}

static char lobby_uri[128], deals_uri[128];

static void test_room_add(void)
{
	char line[1024], want[1024];
	int rc;

	rc = CLI("room", "add", "Lobby", "--privacy", "open", "--topic", "Hello all", "--description", "The lobby",
	         "--manager", "alice");
	CHECK(rc == 0 && is_room_uri_line(out, lobby_uri, sizeof lobby_uri),
	      "admin-1.1 room add prints exactly one line ma-chan://example.org/GUID");
	rc = CLI("room", "list");
	snprintf(want, sizeof want, "%s\tLobby\tdefault\topen\tnormal\tenabled", lobby_uri);
	CHECK(rc == 0 && list_line(out, "Lobby", line, sizeof line) && strcmp(line, want) == 0,
	      "admin-1.2 room list: URI, tab, name, category, privacy, type, enabled");
	rc = CLI("room", "add", "LOBBY");
	CHECK(rc == 1 && strstr(out, "already exists") && count_lines(out) == 1,
	      "admin-1.3 a name differing only in case is refused (exit 1, one line)");
	rc = CLI("room", "add", "Lobby", "--privacy", "closed");
	CHECK(rc == 1, "admin-1.4 the same name again is refused");
	rc = CLI("room", "add", "Second");
	CHECK(rc == 0 && strncmp(out, URI_PREFIX, strlen(URI_PREFIX)) == 0, "admin-1.5 room add with defaults");
	rc = CLI("room", "show", "Second");
	CHECK(rc == 0 && strstr(out, "category: default\n") && strstr(out, "privacy: closed\n") &&
	      strstr(out, "type: normal\n") && strstr(out, "invitations: inherit\n") && strstr(out, "disabled: no\n"),
	      "admin-1.6 defaults: category default, closed, normal, invitations inherit");
	rc = CLI("room", "add", "Nowhere", "--category", "nosuch");
	CHECK(rc == 1 && strstr(out, "no category"), "admin-1.7 unknown category refused");
	rc = CLI("room", "list");
	CHECK(rc == 0 && count_lines(out) == 2 && !strstr(out, "Nowhere") && !strstr(out, "LOBBY"),
	      "admin-1.8 refused rooms were not created");
}

static void test_room_set(void)
{
	const char *guid = lobby_uri + strlen(URI_PREFIX);
	int rc;

	rc = CLI("room", "show", "Lobby");
	CHECK(rc == 0 && strncmp(out, "uri: ", 5) == 0 && strncmp(out + 5, lobby_uri, strlen(lobby_uri)) == 0 &&
	      strstr(out, "name: Lobby\n") && strstr(out, "topic: Hello all\n") &&
	      strstr(out, "description: The lobby\n") && strstr(out, "managers: sip:alice@example.org\n"),
	      "admin-2.1 room show by name: key: value lines");
	rc = CLI("room", "show", guid);
	CHECK(rc == 0 && strstr(out, "name: Lobby\n"), "admin-2.2 room show by GUID");
	rc = CLI("room", "show", lobby_uri);
	CHECK(rc == 0 && strstr(out, "name: Lobby\n"), "admin-2.3 room show by ma-chan:// URI");
	rc = CLI("room", "show", "lobby");
	CHECK(rc == 0 && strstr(out, "name: Lobby\n"), "admin-2.4 names are found case-insensitively");
	{
		char other[160];

		snprintf(other, sizeof other, "ma-chan://other.example/%s", guid);
		rc = CLI("room", "show", other);
		CHECK(rc == 1 && count_lines(out) == 1, "admin-2.5 a URI of another domain is refused");
	}
	rc = CLI("room", "set", "Lobby", "--privacy", "secret", "--topic", "New topic");
	CHECK(rc == 0, "admin-2.6 room set privacy and topic");
	rc = CLI("room", "show", "Lobby");
	CHECK(rc == 0 && strstr(out, "privacy: secret\n") && strstr(out, "topic: New topic\n") &&
	      strstr(out, "description: The lobby\n"), "admin-2.7 the change shows; other fields kept");
	rc = CLI("room", "set", lobby_uri, "--member", "bob", "--member", "carol@example.org", "--presenter",
	         "sip:dave@example.org", "--type", "auditorium");
	CHECK(rc == 0, "admin-2.8 room set adds members and a presenter (room given by URI)");
	rc = CLI("room", "show", "Lobby");
	CHECK(rc == 0 && strstr(out, "members: sip:bob@example.org sip:carol@example.org\n") &&
	      strstr(out, "managers: sip:alice@example.org\n") && strstr(out, "presenters: sip:dave@example.org\n") &&
	      strstr(out, "type: auditorium\n"), "admin-2.9 members, managers, presenters listed as canonical URIs");
	rc = CLI("room", "set", "Lobby", "--remove-member", "bob", "--remove-manager", "alice");
	CHECK(rc == 0, "admin-2.10 remove a member and a manager");
	rc = CLI("room", "show", "Lobby");
	CHECK(rc == 0 && strstr(out, "members: sip:carol@example.org\n") && strstr(out, "managers:\n"),
	      "admin-2.11 removals show");
	rc = CLI("room", "set", "Lobby", "--member", "erin", "--remove-presenter", "bob");
	CHECK(rc == 1 && strstr(out, "not a presenter"), "admin-2.12 removing a role not held is refused");
	rc = CLI("room", "show", "Lobby");
	CHECK(rc == 0 && strstr(out, "members: sip:carol@example.org\n"), "admin-2.13 ... and nothing of it applied");
	rc = CLI("room", "set", "Lobby", "--name", "Second");
	CHECK(rc == 1 && strstr(out, "already exists"), "admin-2.14 rename onto a taken name refused");
	rc = CLI("room", "set", "Lobby", "--name", "Foyer");
	CHECK(rc == 0, "admin-2.15 rename");
	CHECK(CLI("room", "show", "Lobby") == 1, "admin-2.16 the old name is gone");
	rc = CLI("room", "show", "Foyer");
	CHECK(rc == 0 && strstr(out, lobby_uri), "admin-2.17 the new name keeps the URI");
	rc = CLI("room", "set", "Foyer");
	CHECK(rc == 2, "admin-2.18 room set without changes is a usage error");
	rc = CLI("room", "set", "Nosuch", "--topic", "x");
	CHECK(rc == 1 && strstr(out, "no room"), "admin-2.19 room set of an unknown room");
}

static void test_categories(void)
{
	char line[1024];
	int rc;

	rc = CLI("category", "list");
	CHECK(rc == 0 && strncmp(out, "default\t", 8) == 0 && strstr(out, "\tfile-upload=on\t"),
	      "admin-3.1 the default category is listed");
	rc = CLI("category", "add", "legal", "--description", "Legal team", "--allow", "alice", "--allow", "bob",
	         "--deny", "mallory", "--file-upload", "off");
	CHECK(rc == 0, "admin-3.2 category add with lists");
	rc = CLI("category", "list");
	CHECK(rc == 0 && strstr(out, "legal\tLegal team\tfile-upload=off\tinvitations=on\thistory=on\t"
	                            "allowed=2\tdenied=1\tcreators=0\n"), "admin-3.3 category list line");
	rc = CLI("category", "add", "LEGAL");
	CHECK(rc == 1 && strstr(out, "already exists"), "admin-3.4 duplicate category (case) refused");
	rc = CLI("category", "show", "legal");
	CHECK(rc == 0 && strstr(out, "allowed: sip:alice@example.org sip:bob@example.org\n") &&
	      strstr(out, "denied: sip:mallory@example.org\n") && strstr(out, "rooms: 0\n"),
	      "admin-3.5 category show with its lists");

	/* The ethical wall. */
	rc = CLI("room", "add", "Deals", "--category", "legal", "--member", "alice", "--member", "mallory");
	CHECK(rc == 1 && strstr(out, "sip:mallory@example.org") && strstr(out, "denied") && count_lines(out) == 1,
	      "admin-3.6 a denied user is refused as member");
	rc = CLI("room", "add", "Deals", "--category", "legal", "--presenter", "carol");
	CHECK(rc == 1 && strstr(out, "allowed list"), "admin-3.7 a user not on the allowed list is refused");
	rc = CLI("room", "list");
	CHECK(rc == 0 && !strstr(out, "Deals"), "admin-3.8 ... and no room was created");
	rc = CLI("room", "add", "Deals", "--category", "legal", "--member", "alice", "--manager", "bob");
	CHECK(rc == 0 && is_room_uri_line(out, deals_uri, sizeof deals_uri), "admin-3.9 allowed users accepted");
	rc = CLI("room", "set", "Deals", "--member", "mallory");
	CHECK(rc == 1 && strstr(out, "denied"), "admin-3.10 room set: denied user refused");
	rc = CLI("room", "show", "Deals");
	CHECK(rc == 0 && strstr(out, "members: sip:alice@example.org\n"), "admin-3.11 ... members unchanged");
	rc = CLI("room", "set", "Foyer", "--category", "legal");
	CHECK(rc == 1 && strstr(out, "allowed list"), "admin-3.12 moving a room across the wall refused");
	rc = CLI("room", "show", "Foyer");
	CHECK(rc == 0 && strstr(out, "category: default\n"), "admin-3.13 ... room stays in its category");
	rc = CLI("category", "set", "legal", "--deny", "alice");
	CHECK(rc == 1 && strstr(out, "sip:alice@example.org") && strstr(out, "Deals"),
	      "admin-3.14 denying a user who is in a room of the category refused");
	rc = CLI("category", "show", "legal");
	CHECK(rc == 0 && strstr(out, "denied: sip:mallory@example.org\n"), "admin-3.15 ... denied list unchanged");

	rc = CLI("category", "set", "legal", "--history", "off", "--creator", "alice", "--undeny", "mallory",
	         "--rename", "counsel");
	CHECK(rc == 0, "admin-3.16 category set: settings, lists and rename");
	rc = CLI("category", "list");
	CHECK(rc == 0 && strstr(out, "counsel\tLegal team\tfile-upload=off\tinvitations=on\thistory=off\t"
	                            "allowed=2\tdenied=0\tcreators=1\n") && !strstr(out, "legal\t"),
	      "admin-3.17 category list shows the changes");
	rc = CLI("room", "list");
	CHECK(rc == 0 && list_line(out, "Deals", line, sizeof line) && strstr(line, "\tcounsel\t"),
	      "admin-3.18 the room follows the renamed category");
	rc = CLI("category", "set", "counsel", "--unallow", "zed");
	CHECK(rc == 1 && strstr(out, "not on the allowed list"), "admin-3.19 unallow of an absent user refused");
	rc = CLI("category", "set", "default", "--rename", "other");
	CHECK(rc == 1, "admin-3.20 the default category cannot be renamed");
	rc = CLI("category", "del", "counsel");
	CHECK(rc == 1 && strstr(out, "still has rooms") && count_lines(out) == 1,
	      "admin-3.21 category del refused while a room uses it");
	rc = CLI("category", "show", "counsel");
	CHECK(rc == 0 && strstr(out, "rooms: 1\n"), "admin-3.22 ... it is still there");
	rc = CLI("category", "del", "default");
	CHECK(rc == 1 && strstr(out, "default"), "admin-3.23 the default category cannot be deleted");
	rc = CLI("category", "add", "temp");
	CHECK(rc == 0, "admin-3.24 category add without options");
	rc = CLI("category", "del", "temp");
	CHECK(rc == 0, "admin-3.25 an unused category is deleted");
	rc = CLI("category", "list");
	CHECK(rc == 0 && !strstr(out, "temp\t") && count_lines(out) == 2, "admin-3.26 ... and gone from the list");
	CHECK(CLI("category", "del", "temp") == 1, "admin-3.27 deleting an unknown category is exit 1");
}

static void test_room_state(void)
{
	char line[1024];
	int rc;

	rc = CLI("room", "disable", "Deals");
	CHECK(rc == 0, "admin-4.1 room disable");
	rc = CLI("room", "list");
	CHECK(rc == 0 && list_line(out, "Deals", line, sizeof line) && strstr(line, "\tdisabled") &&
	      list_line(out, "Foyer", line, sizeof line) && strstr(line, "\tenabled"),
	      "admin-4.2 room list shows it disabled (others enabled)");
	rc = CLI("room", "show", "Deals");
	CHECK(rc == 0 && strstr(out, "disabled: yes\n"), "admin-4.3 room show: disabled");
	rc = CLI("room", "enable", "Deals");
	CHECK(rc == 0, "admin-4.4 room enable");
	rc = CLI("room", "list");
	CHECK(rc == 0 && list_line(out, "Deals", line, sizeof line) && strstr(line, "\tenabled"),
	      "admin-4.5 room list shows it enabled again");
	rc = CLI("room", "del", deals_uri);
	CHECK(rc == 0, "admin-4.6 room del (by URI)");
	rc = CLI("room", "show", "Deals");
	CHECK(rc == 1 && strstr(out, "no room") && count_lines(out) == 1, "admin-4.7 show after del: exit 1");
	CHECK(CLI("room", "del", "Deals") == 1, "admin-4.8 deleting it again: exit 1");
	rc = CLI("category", "del", "counsel");
	CHECK(rc == 0, "admin-4.9 the category is free to delete once its room is gone");
}

static void test_usage(void)
{
	char name[300], text[1100];
	int rc;

	rc = CLI("room", "add", "X", "--frobnicate", "1");
	CHECK(rc == 2 && strstr(out, "unknown option --frobnicate") && strstr(out, "usage"),
	      "admin-5.1 unknown option: exit 2 with a hint");
	rc = CLI("room", "add", "X", "--privacy");
	CHECK(rc == 2 && strstr(out, "needs a value"), "admin-5.2 missing option value: exit 2");
	rc = CLI("room", "add", "X", "--privacy", "public");
	CHECK(rc == 2 && strstr(out, "open|closed|secret"), "admin-5.3 bad privacy word: exit 2");
	rc = CLI("room", "add", "X", "--privacy", "open", "--privacy", "closed");
	CHECK(rc == 2 && strstr(out, "twice"), "admin-5.4 an option given twice: exit 2");
	rc = CLI("room", "add", "X", "--remove-member", "bob");
	CHECK(rc == 2 && strstr(out, "not an option of this command"), "admin-5.5 a set-only option on add: exit 2");
	rc = CLI("category", "add", "c", "--member", "bob");
	CHECK(rc == 2, "admin-5.6 a room option on category add: exit 2");
	rc = CLI("room", "add", "X", "stray");
	CHECK(rc == 2 && strstr(out, "unexpected argument"), "admin-5.7 stray argument: exit 2");
	CHECK(CLI("room") == 2, "admin-5.8 room without a command: exit 2");
	CHECK(CLI("room", "frob") == 2, "admin-5.9 unknown room command: exit 2");
	CHECK(CLI("room", "show") == 2, "admin-5.10 room show without ROOM: exit 2");
	CHECK(CLI("room", "list", "extra") == 2, "admin-5.11 room list with an argument: exit 2");
	CHECK(CLI("category", "frob") == 2, "admin-5.12 unknown category command: exit 2");
	CHECK(CLI("category", "del") == 2, "admin-5.13 category del without NAME: exit 2");
	rc = CLI("room", "--help");
	CHECK(rc == 0 && strstr(out, "room add NAME"), "admin-5.14 room --help");
	rc = CLI("--help");
	CHECK(rc == 0 && strstr(out, "room add NAME") && strstr(out, "category add NAME"),
	      "admin-5.15 pchat --help lists room and category");

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	rc = CLI("room", "add", name);
	CHECK(rc == 1 && strstr(out, "too long") && count_lines(out) == 1, "admin-5.16 over-long room name: exit 1");
	memset(name, 'n', STORE_NAME_MAX - 1);
	name[STORE_NAME_MAX - 1] = '\0';
	rc = CLI("room", "add", "Y", "--name", name);
	CHECK(rc == 2, "admin-5.17 --name is not an option of room add");
	memset(text, 't', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	rc = CLI("room", "add", "X", "--topic", text);
	CHECK(rc == 1 && strstr(out, "too long"), "admin-5.18 over-long topic: exit 1");
	rc = CLI("category", "add", "c", "--description", text);
	CHECK(rc == 1 && strstr(out, "too long"), "admin-5.19 over-long description: exit 1");
	rc = CLI("room", "set", "Foyer", "--name", name);
	CHECK(rc == 0, "admin-5.20 a name of exactly the maximum length is accepted");
	rc = CLI("room", "set", name, "--name", "Foyer");
	CHECK(rc == 0, "admin-5.21 ... and found by it");
	rc = CLI("room", "add", "Tab\there");
	CHECK(rc == 1 && strstr(out, "control"), "admin-5.22 control characters in a name refused");
	rc = CLI("room", "add", "Bad\xc3");
	CHECK(rc == 1, "admin-5.23 invalid UTF-8 refused");
	rc = CLI("room", "add", "");
	CHECK(rc == 1 && strstr(out, "empty"), "admin-5.24 empty name refused");
	rc = CLI("room", "add", "X", "--member", "bad name!");
	CHECK(rc == 1 && count_lines(out) == 1, "admin-5.25 invalid user name refused");
	rc = CLI("room", "add", "Caf\xc3\xa9", "--topic", "\xe2\x82\xac 5");
	CHECK(rc == 0, "admin-5.26 UTF-8 names and topics accepted");
	rc = CLI("room", "list");
	CHECK(rc == 0 && count_lines(out) == 3 && !strstr(out, "\tX\t") && !strstr(out, "\tY\t"),
	      "admin-5.27 nothing was created by the refused commands");
}

struct events {
	int total, room_add_lobby, set_privacy, wall_refusal, cat_del, room_del;
};

static int event_cb(void *arg, const struct store_event *e)
{
	struct events *ev = arg;
	char text[4096];

	if (strcmp(e->type, "ADMIN") != 0)
		return 0;
	snprintf(text, sizeof text, "%.*s", (int)e->content_len, e->content ? e->content : "");
	ev->total++;
	if (strstr(text, "room add Lobby privacy=open topic=\"Hello all\"") &&
	    strstr(text, "manager=sip:alice@example.org") && e->room_guid &&
	    strcmp(e->room_guid, lobby_uri + strlen(URI_PREFIX)) == 0)
		ev->room_add_lobby++;
	if (strstr(text, "room set Lobby privacy=secret"))
		ev->set_privacy++;
	if (strstr(text, "mallory") && strstr(text, "room add"))
		ev->wall_refusal++;
	if (strstr(text, "category del counsel"))
		ev->cat_del++;
	if (strstr(text, "room del Deals") && e->room_guid)
		ev->room_del++;
	return 0;
}

static void test_events(void)
{
	struct store *st = NULL;
	struct events ev = { 0 };
	char path[400], err[256];

	snprintf(path, sizeof path, "%s/pchat.db", srv.dir);
	if (!CHECK(store_open(&st, path, err, sizeof err) == STORE_OK, "admin-6.1 open the store beside the server"))
		return;
	CHECK(store_event_each(st, 0, 100000, event_cb, &ev) == STORE_OK, "admin-6.2 read the compliance events");
	printf("# %d ADMIN events\n", ev.total);
	CHECK(ev.room_add_lobby == 1, "admin-6.3 room add recorded with its options and the room's GUID");
	CHECK(ev.set_privacy == 1, "admin-6.4 room set recorded");
	CHECK(ev.wall_refusal == 0, "admin-6.5 refused changes recorded nothing");
	CHECK(ev.cat_del == 1 && ev.room_del == 1, "admin-6.6 deletions recorded");
	store_close(st);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";

	signal(SIGPIPE, SIG_IGN);
	/* A long export interval keeps the ADMIN events in the store for 6.x. */
	if (!CHECK(tserver_start(&srv, bin, "[compliance]\nrun_interval = 2592000\n") == 0,
	           "admin-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_admin");
	}
	CHECK(server_answers(), "admin-0.2 server answers");
	test_room_add();
	test_room_set();
	test_categories();
	test_room_state();
	test_usage();
	test_events();
	CHECK(tserver_running(&srv) && server_answers(), "admin-7.1 the server still answers after the admin commands");
	CHECK(tserver_stop(&srv) == 0, "admin-7.2 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_admin");
}
