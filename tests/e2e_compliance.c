/*
 * e2e_compliance.c - the compliance service end to end: a real ./pchat with
 * a one-second export timer, users signed in with NTLM over real TLS who
 * join, read history, post and part; the batch files it writes parsed back
 * with libxml2; `pchat export --now` and `pchat verify` from the command line
 * while the server runs; an output folder that cannot be written (events
 * kept, chat unaffected, exported once it is fixed); a crash of the CLI
 * exporter at each step (PCHAT_EXPORT_CRASH_AT) followed by a normal export;
 * two CLI exporters at once; and [compliance] enabled = false.  Every batch
 * file read back is validated against the schema of its format
 * (tests/schema, xsd_check.h).
 * Needs the sqlite3 command-line tool to count the store's pending events.
 */
#include "check.h"
#include "tchat.h"
#include "xsd_check.h"

#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* Any free port for the file service, so tests can run side by side. */
#define FILES_INI "[files]\nlisten = 127.0.0.1:0\n"

static struct tserver srv;
static char outdir[400];
static char guid[40];

static long pending(void)
{
	return tchat_sql_count("SELECT count(*) FROM compliance_events");
}

/* Run the CLI; its exit status, output in out. */
static int cli(char *out, size_t outlen, const char *a, const char *b)
{
	out[0] = '\0';
	return tserver_cli(&srv, NULL, out, outlen, a, b, NULL);
}

/* (Re)write the ini with extra [compliance] lines. */
static int write_ini(const char *compliance)
{
	FILE *f = fopen(srv.ini, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "[auth]\nmin_password_length = 1\n[server]\ndomain = example.org\nlisten = 127.0.0.1:0\nlog_level = debug\n" FILES_INI "[compliance]\n%s",
	        compliance);
	return fclose(f);
}

/* ---- reading the batches back ---------------------------------------------------------- */

struct xmsg {
	char type[16], uri[80], content[200], id[24], chan[100], sender_id[24];
	int file;                   /* index of the batch file, in name order */
};

static struct xmsg msgs[4096];
static int nmsgs, nfiles, all_wellformed;
static int counts_match;        /* each file: Messages + pchat-admin instructions = its header's event count */
static struct xsd_check xsd;    /* every file loaded, validated against its format's schema */

static void attr(xmlNode *n, const char *name, char *out, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;

	snprintf(out, len, "%s", v ? (const char *)v : "");
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

/* Parse every batch file of outdir (in name order) into msgs[]. */
static void load_batches(void)
{
	char *names[1024], path[800];
	DIR *d = opendir(outdir);
	struct dirent *de;
	int n = 0;

	nmsgs = nfiles = 0;
	all_wellformed = counts_match = 1;
	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && !strstr(de->d_name, ".manifest") && n < 1024)
			names[n++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, (size_t)n, sizeof names[0], name_cmp);
	for (int i = 0; i < n; i++) {
		xmlDoc *doc;
		xmlNode *root;

		char why[400];
		long long events = -1;
		int in_file = nmsgs;
		FILE *f;

		snprintf(path, sizeof path, "%s/%s", outdir, names[i]);
		xsd.files++;
		if (xsd_validate(&xsd, path, why, sizeof why) < 0 && xsd.bad++ == 0)
			snprintf(xsd.first_bad, sizeof xsd.first_bad, "%s: %s", path, why);
		if ((f = fopen(path, "r")) != NULL) {
			char line[600];

			while (events < 0 && fgets(line, sizeof line, f))
				if (strstr(line, "<!-- pchat compliance export:"))
					sscanf(strstr(line, "events "), "events %lld", &events);
			fclose(f);
		}
		doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		if (root == NULL || strcmp((const char *)root->name, "Conversations") != 0)
			all_wellformed = 0;
		for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
			char chan[100];
			xmlNode *ms = child(c, "Messages");

			if (c->type != XML_ELEMENT_NODE)
				continue;
			attr(child(c, "Channel"), "uri", chan, sizeof chan);
			for (xmlNode *m = ms ? ms->children : NULL; m; m = m->next) {
				struct xmsg *x = &msgs[nmsgs];

				if (m->type != XML_ELEMENT_NODE || nmsgs >= 4096)
					continue;
				attr(m, "type", x->type, sizeof x->type);
				attr(m, "content", x->content, sizeof x->content);
				attr(m, "id", x->id, sizeof x->id);
				attr(child(m, "Sender"), "uri", x->uri, sizeof x->uri);
				attr(child(m, "Sender"), "id", x->sender_id, sizeof x->sender_id);
				snprintf(x->chan, sizeof x->chan, "%s", chan);
				x->file = i;
				nmsgs++;
			}
		}
		/* ADMIN events follow the root as <?pchat-admin ...?>, their
		 * values written like attributes: read them as such. */
		for (xmlNode *c = root ? root->next : NULL; c; c = c->next) {
			char el[1200];
			xmlDoc *pd;
			xmlNode *pe;

			if (c->type != XML_PI_NODE || strcmp((const char *)c->name, "pchat-admin") != 0 || nmsgs >= 4096)
				continue;
			snprintf(el, sizeof el, "<a %s/>", c->content ? (const char *)c->content : "");
			pd = xmlReadMemory(el, (int)strlen(el), "pi.xml", NULL, XML_PARSE_NONET);
			pe = pd ? xmlDocGetRootElement(pd) : NULL;
			snprintf(msgs[nmsgs].type, sizeof msgs[nmsgs].type, "ADMIN");
			attr(pe, "uri", msgs[nmsgs].uri, sizeof msgs[nmsgs].uri);
			attr(pe, "content", msgs[nmsgs].content, sizeof msgs[nmsgs].content);
			attr(pe, "channel", msgs[nmsgs].chan, sizeof msgs[nmsgs].chan);
			snprintf(msgs[nmsgs].id, sizeof msgs[nmsgs].id, "0");
			msgs[nmsgs].file = i;
			nmsgs++;
			xmlFreeDoc(pd);
		}
		if (root && events != nmsgs - in_file)
			counts_match = 0;
		xmlFreeDoc(doc);
		free(names[i]);
	}
	nfiles = n;
}

/* Index of the first exported message of type by uri (with content, if not
 * NULL) at or after from, or -1. */
static int find_msg(int from, const char *type, const char *uri, const char *content)
{
	for (int i = from < 0 ? 0 : from; i < nmsgs; i++)
		if (!strcmp(msgs[i].type, type) && !strcmp(msgs[i].uri, uri) && (content == NULL || !strcmp(msgs[i].content, content)))
			return i;
	return -1;
}

static int count_content(const char *content)
{
	int n = 0;

	for (int i = 0; i < nmsgs; i++)
		n += !strcmp(msgs[i].content, content);
	return n;
}

/* Every CHAT message id appears once across the folder. */
static int chat_ids_once(void)
{
	for (int i = 0; i < nmsgs; i++)
		for (int j = i + 1; j < nmsgs; j++)
			if (!strcmp(msgs[i].type, "CHAT") && !strcmp(msgs[j].type, "CHAT") && !strcmp(msgs[i].id, msgs[j].id))
				return 0;
	return 1;
}

/* Wait until no event is pending (up to ms); 1 if so. */
static int wait_exported(int ms)
{
	long deadline = tchat_now_ms() + ms;

	while (tchat_now_ms() < deadline) {
		if (pending() == 0)
			return 1;
		usleep(100000);
	}
	return pending() == 0;
}

static int first_batch(char *path, size_t len)
{
	DIR *d = opendir(outdir);
	struct dirent *de;
	char best[300] = "";

	while (d && (de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, "pchat-", 6) && !strstr(de->d_name, ".manifest") &&
		    (best[0] == '\0' || strcmp(de->d_name, best) < 0))
			snprintf(best, sizeof best, "%s", de->d_name);
	if (d)
		closedir(d);
	snprintf(path, len, "%s/%s", outdir, best);
	return best[0] ? 0 : -1;
}

/* ---- the scenarios ---------------------------------------------------------------------- */

static void test_capture_and_export(struct tuser *alice, struct tuser *bob)
{
	char out[4096], alice_uri[] = "alice@example.org", bob_uri[] = "bob@example.org", chan[100];
	int j1, j2, bc, c1, c2, pt;

	CHECK(tchat_join(alice, guid) == 200 && tchat_join(bob, guid) == 200, "ce-1.1 alice and bob join");
	tchat_xccos(bob, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	           "<bcq><last cnt=\"5\"/></bcq></data></cmd>", guid);
	CHECK(tchat_has(&bob->in, "<rpl id=\"rpl:bccontext\""), "ce-1.2 bob reads the history");
	CHECK(tchat_post(alice, guid, "hello from alice &lt;&amp;&gt;") == 200 && tchat_post(bob, guid, "reply from bob") == 200,
	      "ce-1.3 both post");
	tchat_xccos(alice, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", guid);
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:part\""), "ce-1.4 alice parts");

	CHECK(wait_exported(15000), "ce-2.1 the timer exports everything (no event left in the store)");
	load_batches();
	snprintf(chan, sizeof chan, "ma-chan://example.org/%s", guid);
	CHECK(nfiles >= 1 && all_wellformed, "ce-2.2 batch files are well-formed Lync XML");
	j1 = find_msg(0, "JOIN", alice_uri, NULL);
	j2 = find_msg(0, "JOIN", bob_uri, NULL);
	bc = find_msg(0, "BACKCHAT", bob_uri, NULL);
	c1 = find_msg(0, "CHAT", alice_uri, "hello from alice <&>");
	c2 = find_msg(0, "CHAT", bob_uri, "reply from bob");
	pt = find_msg(0, "PART", alice_uri, NULL);
	CHECK(j1 >= 0 && j2 >= 0 && bc >= 0 && c1 >= 0 && c2 >= 0 && pt >= 0,
	      "ce-2.3 JOIN, BACKCHAT, CHAT and PART exported with the right senders and text");
	CHECK(j1 < j2 && j2 < bc && bc < c1 && c1 < c2 && c2 < pt, "ce-2.4 in the order they happened");
	CHECK(j1 >= 0 && !strcmp(msgs[j1].chan, chan) && pt >= 0 && !strcmp(msgs[pt].chan, chan),
	      "ce-2.5 under the room's channel URI");
	CHECK(c1 >= 0 && strcmp(msgs[c1].id, "0") != 0 && chat_ids_once(), "ce-2.6 CHAT carries its message id, each once");
	{
		struct passwd *pw = getpwuid(getuid());
		char actor[80];

		snprintf(actor, sizeof actor, "admin:%s", pw ? pw->pw_name : "?");
		CHECK(find_msg(0, "ADMIN", actor, NULL) >= 0, "ce-2.7 the admin CLI's room add is exported too (a pchat-admin instruction), naming the OS user");
		CHECK(find_msg(0, "ADMIN", actor, "user add sip:alice@example.org") >= 0 &&
		      find_msg(0, "ADMIN", actor, "user add sip:bob@example.org") >= 0,
		      "ce-2.7b `user add` is an ADMIN event naming who ran it");
	}
	CHECK(counts_match, "ce-2.9 each batch holds its header's event count: Messages plus pchat-admin instructions");
	{
		int ids_ok = j1 >= 0 && j2 >= 0 && strtoll(msgs[j1].sender_id, NULL, 10) > 0 &&
		             strcmp(msgs[j1].sender_id, msgs[j2].sender_id) != 0;

		for (int i = 0; i < nmsgs && ids_ok; i++)
			if (strcmp(msgs[i].type, "ADMIN") != 0 && !strcmp(msgs[i].uri, alice_uri))
				ids_ok = !strcmp(msgs[i].sender_id, msgs[j1].sender_id);
		CHECK(ids_ok, "ce-2.10 Sender/@id is a number, the same for all of alice's events, not bob's");
	}
	CHECK(tserver_log_has(&srv, "event=export file="), "ce-2.8 the server logs each batch");
	CHECK(find_msg(0, "BACKCHAT", bob_uri, "last cnt=5 returned=0") >= 0,
	      "ce-2.11 BACKCHAT says what was read (count asked and returned)");
	{
		int found = 0;

		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "search", "Export Room", "hello", NULL) == 0 &&
		      strstr(out, "hello from alice") && cli(out, sizeof out, "export", NULL) == 0,
		      "ce-2.12 an admin searches the room with `pchat search`");
		load_batches();
		for (int i = 0; i < nmsgs; i++)
			found |= !strcmp(msgs[i].type, "ADMIN") && !strncmp(msgs[i].uri, "admin:", 6) &&
			         !strcmp(msgs[i].content, "search \"Export Room\" words=hello limit=50 returned=1");
		CHECK(found, "ce-2.13 ... and that history read is an ADMIN event: room, words, limit, how many returned");
	}

	{
		int before = nfiles;

		CHECK(cli(out, sizeof out, "export", "--now") == 0 && out[0] == '\0', "ce-3.1 `export --now` afterwards: nothing to write");
		load_batches();
		CHECK(nfiles == before, "ce-3.2 no new file");
	}
}

static void test_verify(void)
{
	char out[4096], path[800], moved[800];
	FILE *f;
	int ch = EOF;

	CHECK(cli(out, sizeof out, "verify", NULL) == 0 && !strncmp(out, "verify: ok:", 11) && strstr(out, "matches the store"),
	      "ce-4.1 `pchat verify` passes");
	if (first_batch(path, sizeof path) == 0 && (f = fopen(path, "r+b")) != NULL) {
		if (fseek(f, 200, SEEK_SET) == 0 && (ch = fgetc(f)) != EOF) {
			fseek(f, 200, SEEK_SET);
			fputc(ch ^ 0x20, f);
		}
		fclose(f);
	}
	CHECK(ch != EOF && cli(out, sizeof out, "verify", NULL) == 1 && strstr(out, strrchr(path, '/') + 1) &&
	      strstr(out, "changed"), "ce-4.2 one byte flipped: verify exits 1 naming the file");
	if (ch != EOF && (f = fopen(path, "r+b")) != NULL) {
		fseek(f, 200, SEEK_SET);
		fputc(ch, f);
		fclose(f);
	}
	CHECK(cli(out, sizeof out, "verify", outdir) == 0, "ce-4.3 restored: verify DIR passes");
	snprintf(moved, sizeof moved, "%s/moved.xml", srv.dir);
	CHECK(rename(path, moved) == 0 && cli(out, sizeof out, "verify", NULL) == 1 && strstr(out, strrchr(path, '/') + 1),
	      "ce-4.4 a batch file removed: verify exits 1 naming it");
	rename(moved, path);
	CHECK(cli(out, sizeof out, "verify", NULL) == 0, "ce-4.5 put back: passes");
}

static void test_unwritable(struct tuser *alice, struct tuser *bob)
{
	char out[4096], saved[800], text[64];
	FILE *f;
	int once = 1;

	/* output_dir becomes a regular file: nothing can be created in it. */
	snprintf(saved, sizeof saved, "%s.saved", outdir);
	CHECK(rename(outdir, saved) == 0 && (f = fopen(outdir, "w")) != NULL && fclose(f) == 0,
	      "ce-5.1 output_dir replaced by a regular file");
	CHECK(tchat_join(alice, guid) == 200, "ce-5.2 alice joins again");
	tchat_clear(bob);
	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "during the outage %d", i);
		once &= tchat_post(alice, guid, text) == 200;
	}
	CHECK(once && tchat_wait_for(bob, "during the outage 3", 5000), "ce-5.3 chat keeps working (posts answered and delivered)");
	usleep(2500000);
	CHECK(tserver_log_has(&srv, "event=export-failed dir=") && tserver_log_has(&srv, "Not a directory"),
	      "ce-5.4 the log says the export failed and why");
	CHECK(pending() >= 4, "ce-5.5 the events stay in the store");
	CHECK(cli(out, sizeof out, "export", NULL) == 1 && strstr(out, "export failed") && pending() >= 4,
	      "ce-5.6 `pchat export` fails cleanly too (exit 1), losing nothing");
	for (int waited = 0; waited < 60 && !tserver_log_has(&srv, "event=export-behind waiting="); waited++)
		usleep(100000);
	CHECK(tserver_log_has(&srv, "event=export-behind waiting="),
	      "ce-5.6b once the oldest waiting event is older than run_interval, the log says the export is behind");
	/* check calls it "behind" past two run_intervals (2 s here). */
	for (int waited = 0; waited < 30; waited++) {
		if (tserver_cli(&srv, NULL, out, sizeof out, "check", NULL) >= 0 && strstr(out, "the export is behind"))
			break;
		usleep(200000);
	}
	CHECK(strstr(out, "events wait for export") && strstr(out, "the export is behind"),
	      "ce-5.6c `pchat check` reports the backlog and its age");
	CHECK(unlink(outdir) == 0 && rename(saved, outdir) == 0, "ce-5.7 the folder is fixed");
	CHECK(wait_exported(15000), "ce-5.8 the retrying timer exports the backlog");
	load_batches();
	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "during the outage %d", i);
		once &= count_content(text) == 1;
	}
	CHECK(once && chat_ids_once(), "ce-5.9 each outage message exported exactly once");
	CHECK(tserver_log_has(&srv, "event=export-recovered"), "ce-5.10 the recovery is logged");
	CHECK(cli(out, sizeof out, "verify", NULL) == 0, "ce-5.11 the chain is intact across the outage");
}

static void test_crashes(struct tuser *alice)
{
	static const char *const steps[] = { "before-write", "after-write", "after-rename", "before-commit" };
	char out[4096], text[80];

	for (int k = 0; k < 4; k++) {
		int ok = 1, rc;

		for (int i = 1; i <= 3; i++) {
			snprintf(text, sizeof text, "crash %s %d", steps[k], i);
			ok &= tchat_post(alice, guid, text) == 200;
		}
		setenv("PCHAT_EXPORT_CRASH_AT", steps[k], 1);
		rc = cli(out, sizeof out, "export", NULL);
		unsetenv("PCHAT_EXPORT_CRASH_AT");
		CHECK(ok && rc == 9, k == 0 ? "ce-6.1 export crashes before-write (exit 9)" :
		      k == 1 ? "ce-6.2 export crashes after-write (exit 9)" :
		      k == 2 ? "ce-6.3 export crashes after-rename (exit 9)" : "ce-6.4 export crashes before-commit (exit 9)");
		CHECK(pending() >= 3, "ce-6.5 nothing was deleted by the crashed export");
		CHECK(cli(out, sizeof out, "export", "--now") == 0 && strstr(out, "pchat-") && pending() == 0,
		      "ce-6.6 a normal export afterwards writes the rest");
		load_batches();
		for (int j = 0; j <= k; j++) {
			for (int i = 1; i <= 3; i++) {
				snprintf(text, sizeof text, "crash %s %d", steps[j], i);
				ok &= count_content(text) == 1;
			}
		}
		CHECK(ok && chat_ids_once() && all_wellformed, "ce-6.7 every event exactly once across the folder");
		CHECK(cli(out, sizeof out, "verify", NULL) == 0, "ce-6.8 verify passes after the crash");
	}
}

static void test_two_exporters(struct tuser *alice)
{
	char out[4096], text[64];
	pid_t kids[2];
	int ok = 1, clean = 1;

	for (int i = 1; i <= 20; i++) {
		snprintf(text, sizeof text, "race %d", i);
		ok &= tchat_post(alice, guid, text) == 200;
	}
	fflush(NULL);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			char o[4096];

			_exit(cli(o, sizeof o, "export", NULL));
		}
	}
	for (int k = 0; k < 2; k++) {
		int status = 1;

		clean &= kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k] && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK(ok && clean && pending() == 0, "ce-7.1 two `pchat export` at once (server running) both succeed");
	load_batches();
	for (int i = 1; i <= 20; i++) {
		snprintf(text, sizeof text, "race %d", i);
		ok &= count_content(text) == 1;
	}
	CHECK(ok && chat_ids_once(), "ce-7.2 every event in exactly one file");
	CHECK(cli(out, sizeof out, "verify", NULL) == 0, "ce-7.3 one intact chain");
}

/* A backup taken before the last export, restored: the server reconciles
 * the store with the archive before it serves, so nothing is exported twice
 * or lost and the chain goes on. */
static void test_restore(struct tuser *alice)
{
	char out[4096], text[64], backup[600], cmd[2000];
	int ok = 1;

	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "before backup %d", i);
		ok &= tchat_post(alice, guid, text) == 200;
	}
	snprintf(backup, sizeof backup, "%s/backup.db", srv.dir);
	CHECK(ok && cli(out, sizeof out, "backup", backup) == 0, "ce-10.1 three posts, then `pchat backup`");
	for (int i = 1; i <= 2; i++) {
		snprintf(text, sizeof text, "after backup %d", i);
		ok &= tchat_post(alice, guid, text) == 200;
	}
	CHECK(ok && cli(out, sizeof out, "export", NULL) == 0 && pending() == 0, "ce-10.2 two more posts, all exported");
	tchat_sign_out(alice);
	snprintf(cmd, sizeof cmd, "cd '%s' && rm -f pchat.db-wal pchat.db-shm && cp backup.db pchat.db", srv.dir);
	CHECK(tserver_stop(&srv) == 0 && system(cmd) == 0 && truncate(srv.log, 0) == 0 && tserver_restart(&srv) == 0,
	      "ce-10.3 stopped, the backup restored over the store, started again");
	CHECK(tserver_log_has(&srv, "event=compliance-reconciled") && pending() == 0,
	      "ce-10.4 the server recorded the batches exported after the backup; none of their events waits again");
	CHECK(tchat_sign_in(alice) == 0 && tchat_join(alice, guid) == 200 && tchat_post(alice, guid, "after restore") == 200 &&
	      cli(out, sizeof out, "export", NULL) == 0 && pending() == 0, "ce-10.5 a new post after the restore, exported");
	load_batches();
	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "before backup %d", i);
		ok &= count_content(text) == 1;
	}
	ok &= count_content("after backup 1") == 1 && count_content("after backup 2") == 1;
	CHECK(ok && count_content("after restore") == 1, "ce-10.6 every post in exactly one batch: no duplicate, no loss");
	CHECK(cli(out, sizeof out, "verify", NULL) == 0 && strstr(out, "matches the store"), "ce-10.7 verify: one valid chain");
	if (!strstr(out, "verify: ok"))
		printf("# %s\n", out);
}

/* format = actiance end to end: the CLI exporter's batch, validated and
 * read back; the chain goes on across the format change. */
static void test_actiance(struct tuser *alice)
{
	char out[4096], path[800], shape[2048];
	size_t used = 0;
	xmlDoc *doc;
	xmlNode *root, *conv = NULL;

	CHECK(tserver_stop(&srv) == 0 && write_ini("run_interval = 2592000\nformat = actiance\n") == 0 &&
	      tserver_restart(&srv) == 0 && tchat_sign_in(alice) == 0 && tchat_join(alice, guid) == 200 &&
	      tchat_post(alice, guid, "in actiance") == 200, "ce-11.1 restart with format = actiance; alice joins and posts");
	tchat_xccos(alice, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", guid);
	CHECK(tchat_has(&alice->in, "<rpl id=\"rpl:part\"") && cli(out, sizeof out, "export", "--now") == 0 && pending() == 0,
	      "ce-11.2 alice parts; `export --now` writes the batch");
	{
		const char *at = strstr(out, outdir);      /* the printed file, among log lines */

		snprintf(path, sizeof path, "%.*s", at ? (int)strcspn(at, "\n") : 0, at ? at : "");
	}
	xsd.files++;
	if (xsd_validate(&xsd, path, shape, sizeof shape) < 0 && xsd.bad++ == 0)
		snprintf(xsd.first_bad, sizeof xsd.first_bad, "%s: %s", path, shape);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	for (xmlNode *c = root ? root->children : NULL; c && conv == NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			conv = c;
	shape[0] = '\0';
	for (xmlNode *c = conv ? conv->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && used < sizeof shape)
			used += (size_t)snprintf(shape + used, sizeof shape - used, "%s ", (const char *)c->name);
	{
		/* Her sign-out's PART may come first: then a start roster entry for it. */
		static const char tail[] = "ParticipantEntered Message ParticipantLeft EndTimeUTC ";
		int entered = 0, left = 0;

		for (const char *p = shape; (p = strstr(p, "Participant")) != NULL; p++) {
			if (p[11] == 'E')
				entered++;
			else
				left++;
		}
		CHECK(root && !strcmp((const char *)root->name, "FileDump") && !strncmp(shape, "RoomID StartTimeUTC ", 20) &&
		      used >= sizeof tail - 1 && !strcmp(shape + used - (sizeof tail - 1), tail) && entered == left,
		      "ce-11.3 a FileDump: alice enters, posts and leaves, as often in as out, between start and end times");
		printf("# actiance conversation: %s\n", shape);
	}
	xmlFreeDoc(doc);
	CHECK(cli(out, sizeof out, "verify", NULL) == 0, "ce-11.4 verify: one chain across lync and actiance batches");
	tchat_sign_out(alice);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" };
	char out[4096];
	const char *slash;
	long base;

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	xmlInitParser();
	xsd_init(&xsd);
	if (!CHECK(tserver_start(&srv, bin, FILES_INI "[compliance]\nrun_interval = 1\nmax_batch_events = 4\n") == 0,
	           "ce-0.1 server starts with a one-second export timer")) {
		tserver_cleanup(&srv);
		return check_done("e2e_compliance");
	}
	snprintf(outdir, sizeof outdir, "%s/compliance", srv.dir);
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "bob", "--password-stdin", NULL);
	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Export Room", "--privacy", "open", NULL);
	slash = strrchr(out, '/');
	snprintf(guid, sizeof guid, "%.36s", slash ? slash + 1 : "none");
	CHECK(strlen(guid) == 36 && tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0, "ce-0.2 a room; alice and bob sign in");

	test_capture_and_export(&alice, &bob);
	test_verify();
	test_unwritable(&alice, &bob);
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);

	/* The CLI exporter on its own: a timer that never fires while we test. */
	CHECK(tserver_stop(&srv) == 0 && write_ini("run_interval = 2592000\nmax_batch_events = 2\n") == 0 &&
	      tserver_restart(&srv) == 0 && tchat_sign_in(&alice) == 0 && tchat_join(&alice, guid) == 200,
	      "ce-6.0 restart with a long run_interval; alice back in the room");
	test_crashes(&alice);
	test_two_exporters(&alice);
	test_restore(&alice);
	tchat_sign_out(&alice);
	test_actiance(&alice);

	/* Disabled: nothing captured, no timer. */
	CHECK(tserver_stop(&srv) == 0 && truncate(srv.log, 0) == 0 &&
	      write_ini("enabled = false\nrun_interval = 1\n") == 0 && tserver_restart(&srv) == 0,
	      "ce-8.1 restart with [compliance] enabled = false");
	base = pending();       /* alice's implicit PART on sign-out above was captured before */
	CHECK(tchat_sign_in(&alice) == 0 && tchat_join(&alice, guid) == 200 && tchat_post(&alice, guid, "not captured") == 200,
	      "ce-8.2 alice joins and posts");
	usleep(1500000);
	load_batches();
	CHECK(base >= 0 && pending() == base && count_content("not captured") == 0,
	      "ce-8.3 nothing captured, nothing exported");
	CHECK(tserver_log_has(&srv, "event=compliance-disabled") && !tserver_log_has(&srv, "event=compliance-export "),
	      "ce-8.4 the log says so, and no export timer was started");
	tchat_sign_out(&alice);
	CHECK(tserver_stop(&srv) == 0, "ce-9.1 clean stop");
	printf("# %d batch files read back and validated\n", xsd.files);
	CHECK(xsd.loaded && xsd.files >= 5 && xsd.bad == 0, "ce-9.2 every batch file read back validates against its format's schema");
	if (xsd.bad)
		printf("# %d invalid, the first: %s\n", xsd.bad, xsd.first_bad);
	xsd_free(&xsd);
	tserver_cleanup(&srv);
	xmlCleanupParser();
	return check_done("e2e_compliance");
}
