/*
 * e2e_compliance_sipe.c - a real-client session exported with the right
 * event types: pidgin-sipe 1.25 (driven headless through
 * tests/sipe-harness, as in tests/e2e_sipe.c) joins a room, posts
 * and leaves against a real ./pchat whose export timer runs every second;
 * the batch files are parsed back with libxml2.
 * usage: e2e_compliance_sipe PCHAT_BINARY [HARNESS_BINARY]
 */
#include "check.h"
#include "tsipe.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

static struct tserver srv;
static const char *harness = "build/sipe/sipe-harness";

/* What the batch files hold: "TYPE URI CONTENT" lines, in file order. */
static char seen[1 << 16];

static void attr_cat(xmlNode *n, const char *name)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	size_t len = strlen(seen);

	snprintf(seen + len, sizeof seen - len, "%s", v ? (const char *)v : "");
	xmlFree(v);
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
			return c;
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parse every batch of dir into seen; returns 1 if all were well-formed. */
static int load(const char *dir)
{
	char *names[256], path[800];
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, ok = 1;

	seen[0] = '\0';
	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && !strstr(de->d_name, ".manifest") && n < 256)
			names[n++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, (size_t)n, sizeof names[0], name_cmp);
	for (int i = 0; i < n; i++) {
		xmlDoc *doc;
		xmlNode *root;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		ok &= root != NULL;
		for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
			xmlNode *ms = child(c, "Messages");

			for (xmlNode *m = ms ? ms->children : NULL; m; m = m->next) {
				size_t len;

				if (m->type != XML_ELEMENT_NODE)
					continue;
				attr_cat(m, "type");
				len = strlen(seen);
				snprintf(seen + len, sizeof seen - len, " ");
				attr_cat(child(m, "Sender"), "uri");
				len = strlen(seen);
				snprintf(seen + len, sizeof seen - len, " ");
				attr_cat(m, "content");
				len = strlen(seen);
				snprintf(seen + len, sizeof seen - len, "\n");
			}
		}
		xmlFreeDoc(doc);
		free(names[i]);
	}
	return ok && n > 0;
}

/* Position of line prefix in seen, or -1. */
static long at(const char *prefix)
{
	char want[300];
	const char *p;

	snprintf(want, sizeof want, "\n%s", prefix);
	if (!strncmp(seen, prefix, strlen(prefix)))
		return 0;
	p = strstr(seen, want);
	return p ? (long)(p - seen) + 1 : -1;
}

static long pending(void)
{
	char cmd[600];
	FILE *p;
	long n = -1;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' 'SELECT count(*) FROM compliance_events'", srv.dir);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	char out[512], room[128], script[1024], dir[400];
	struct stat st;
	pid_t bob;
	int rc_alice, rc_bob, exported = 0;
	long ja, jb, ca, cb, pb;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2)
		harness = argv[2];
	if (!CHECK(stat(harness, &st) == 0, "csipe-0.1 harness built (make build/sipe/sipe-harness)"))
		return check_done("e2e_compliance_sipe");
	if (!CHECK(tserver_start(&srv, bin, "[files]\nlisten = 127.0.0.1:0\n[compliance]\nrun_interval = 1\n") == 0, "csipe-0.2 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_compliance_sipe");
	}
	xmlInitParser();
	snprintf(dir, sizeof dir, "%s/compliance", srv.dir);
	CHECK(tserver_cli(&srv, "wonderland\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL) == 0 &&
	      tserver_cli(&srv, "bobpw\n", out, sizeof out, "user", "add", "bob", "--password-stdin", NULL) == 0 &&
	      tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Audit Room", "--privacy", "open", NULL) == 0,
	      "csipe-0.3 users and a room");
	snprintf(room, sizeof room, "%.*s", (int)strcspn(out, "\n"), out);

	/* bob joins, waits for alice's post, answers, leaves; alice joins and posts. */
	snprintf(script, sizeof script, "wait signed-on 20\njoin %s\nwait joined Audit Room 20\n"
	         "wait msg audited hello 40\nsend bob audited too\nsleep 1\npart\nsleep 1\nquit\n", room);
	bob = tsipe_start(&srv, harness, "bob", "bob@example.org", "bobpw", script);
	snprintf(script, sizeof script, "wait signed-on 20\njoin %s\nwait joined Audit Room 20\nsleep 4\n"
	         "send audited hello\nwait msg bob audited too 30\nsleep 2\nquit\n", room);
	rc_alice = tsipe_finish(tsipe_start(&srv, harness, "alice", "alice@example.org", "wonderland", script));
	rc_bob = tsipe_finish(bob);
	CHECK(rc_alice == 0 && rc_bob == 0, "csipe-1.1 both real-client scripts completed");

	for (int i = 0; i < 100 && !exported; i++) {
		exported = pending() == 0 && load(dir) && strstr(seen, "bob audited too");
		if (!exported)
			usleep(100000);
	}
	CHECK(exported, "csipe-1.2 the session was exported (well-formed batches, nothing left in the store)");
	ja = at("JOIN alice@example.org ");
	jb = at("JOIN bob@example.org ");
	ca = at("CHAT alice@example.org audited hello");
	cb = at("CHAT bob@example.org bob audited too");
	pb = at("PART bob@example.org ");
	CHECK(ja >= 0 && jb >= 0, "csipe-1.3 JOIN of both real clients");
	CHECK(ca >= 0 && cb >= 0, "csipe-1.4 CHAT with the right senders and text");
	CHECK(pb >= 0 && pb > cb, "csipe-1.5 bob's PART, after his post");
	CHECK(jb >= 0 && at("BACKCHAT bob@example.org ") > jb && at("BACKCHAT alice@example.org ") > ja,
	      "csipe-1.6 the history each client read on joining is BACKCHAT, after its JOIN");
	printf("# events exported from the real-client session:\n");
	for (char *p = seen, *nl; *p && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		printf("#   %.*s\n", (int)(nl - p), p);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "verify", NULL) == 0, "csipe-1.7 verify passes");
	CHECK(tserver_stop(&srv) == 0, "csipe-9.1 clean stop");
	tserver_cleanup(&srv);
	xmlCleanupParser();
	return check_done("e2e_compliance_sipe");
}
