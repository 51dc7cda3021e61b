/*
 * test_docs.c - the administrator's documentation keeps up with the code:
 * every ini key (config_each_key) has an entry with its default under its
 * section in man/pchat.ini.5, no entry there names a key that does not
 * exist, "(reload)" marks exactly the keys a SIGHUP applies, and every
 * subcommand in pchat.c's usage text (plus those of the design contract)
 * has its own entry under COMMANDS in man/pchat.8.  Both pages must also
 * format without groff warnings, and README's layout table names every .c
 * file at the top level.  Run from the repository root.
 */
#include "../base.c"
#include "../config.c"
#include "../log.c"
#include "check.h"
#include "include_graph.h"

#include <ctype.h>
#include <dirent.h>

static char ini5[65536], man8[65536], pchat_c[262144], readme[262144];

static size_t slurp(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, outlen - 1, f) : 0;

	if (f)
		fclose(f);
	out[n] = '\0';
	return n;
}

/* The text of ".SS [section]" up to the next .SS or .SH, as [*start, *end). */
static int section_span(const char *doc, const char *section, const char **start, const char **end)
{
	char head[80];
	const char *p, *q, *r;

	snprintf(head, sizeof head, "\n.SS [%s]\n", section);
	if ((p = strstr(doc, head)) == NULL)
		return -1;
	p += strlen(head) - 1;
	q = strstr(p, "\n.SS ");
	r = strstr(p, "\n.SH ");
	*start = p;
	*end = q && (!r || q < r) ? q : r ? r : p + strlen(p);
	return 0;
}

/* Find needle in [p, end). */
static const char *find_in(const char *p, const char *end, const char *needle)
{
	const char *hit = strstr(p, needle);

	return hit && hit < end ? hit : NULL;
}

struct key_state {
	int all_documented, reload_marks_right;
};

static void check_key(void *arg, const char *section, const char *name)
{
	struct key_state *ks = arg;
	const struct config_key *k;
	const char *s, *e, *entry, *next;
	char line[200];
	int known, marked;

	k = config_find(section, name, &known);
	if (k == NULL || section_span(ini5, section, &s, &e) < 0) {
		printf("#   pchat.ini.5 has no section [%s] (for key %s)\n", section, name);
		ks->all_documented = 0;
		return;
	}
	snprintf(line, sizeof line, "\n.B %s =%s%s\n", name, k->def[0] ? " " : "", k->def);
	if ((entry = find_in(s, e, line)) == NULL) {
		printf("#   pchat.ini.5 [%s] lacks the line \".B %s =%s%s\"\n", section, name, k->def[0] ? " " : "", k->def);
		ks->all_documented = 0;
		return;
	}
	/* The entry runs to the next .TP (or the end of the section). */
	next = find_in(entry + 1, e, "\n.TP");
	if (next == NULL)
		next = e;
	marked = find_in(entry, next, "(reload") != NULL;
	if (marked != config_is_live(k)) {
		printf("#   pchat.ini.5 %s.%s: %s\n", section, name,
		       marked ? "marked (reload) but a reload does not apply it" : "applied on reload but not marked (reload)");
		ks->reload_marks_right = 0;
	}
}

/* Every ".B KEY = ..." entry under a section must be a key pchat knows. */
static int no_stale_keys(void)
{
	const char *p = ini5;
	int ok = 1;

	while ((p = strstr(p, "\n.SS [")) != NULL) {
		char section[64], name[64];
		const char *s, *e, *q;
		size_t n = strcspn(p + 6, "]\n");

		snprintf(section, sizeof section, "%.*s", (int)(n < 63 ? n : 63), p + 6);
		if (section_span(ini5, section, &s, &e) < 0)
			break;
		for (q = s; (q = find_in(q, e, "\n.B ")) != NULL; q += 4) {
			size_t len = strspn(q + 4, "abcdefghijklmnopqrstuvwxyz_0123456789");
			int known;

			if (len == 0 || len >= sizeof name || strncmp(q + 4 + len, " =", 2) != 0)
				continue;
			snprintf(name, sizeof name, "%.*s", (int)len, q + 4);
			if (config_find(section, name, &known) == NULL) {
				printf("#   pchat.ini.5 documents [%s] %s, which pchat does not know\n", section, name);
				ok = 0;
			}
		}
		p = e;
	}
	return ok;
}

/* The subcommands named in pchat.c's usage: the word after each
 * "pchat [-c FILE] " ("[serve]" counts as serve). */
static size_t usage_commands(char words[][32], size_t max)
{
	static const char mark[] = "pchat [-c FILE] ";
	size_t n = 0;

	for (const char *p = pchat_c; (p = strstr(p, mark)) != NULL && n < max;) {
		size_t len;
		int dup = 0;

		p += sizeof mark - 1;
		if (*p == '[')
			p++;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		if (len == 0 || len >= 32)
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= strncmp(words[i], p, len) == 0 && words[i][len] == '\0';
		if (!dup)
			snprintf(words[n++], 32, "%.*s", (int)len, p);
	}
	return n;
}

static int man8_has_command(const char *word)
{
	const char *cmds = strstr(man8, "\n.SH COMMANDS\n"), *end;
	char head[48];

	if (cmds == NULL)
		return 0;
	end = strstr(cmds + 1, "\n.SH ");
	if (end == NULL)
		end = cmds + strlen(cmds);
	snprintf(head, sizeof head, "\n.SS %s\n", word);
	return find_in(cmds, end, head) != NULL;
}

/* groff's own warnings (-ww) on a page; 1 if clean or groff is missing. */
static int formats_cleanly(const char *page)
{
	char cmd[300], out[2048];
	FILE *p;
	size_t n;

	if (system("command -v groff >/dev/null 2>&1") != 0) {
		printf("# groff not installed: formatting of %s not checked\n", page);
		return 1;
	}
	snprintf(cmd, sizeof cmd, "LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 %s 2>&1", page);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	if (pclose(p) != 0 || n > 0) {
		printf("#   groff on %s: %s\n", page, n ? out : "(failed)");
		return 0;
	}
	return 1;
}

/* 1 if a row of README's "## Layout" table names file in its first cell
 * ("| a.c | ..." or "| a.c, b.c | ..."). */
static int layout_names(const char *file)
{
	const char *sec = strstr(readme, "\n## Layout\n"), *end, *row;
	size_t flen = strlen(file);

	if (sec == NULL)
		return 0;
	end = strstr(sec + 1, "\n## ");
	if (end == NULL)
		end = sec + strlen(sec);
	for (row = sec; (row = find_in(row + 1, end, "\n| ")) != NULL;) {
		const char *cell = row + 3, *bar = strchr(cell, '|');

		if (bar == NULL || bar > end)
			break;
		/* The cell's names, separated by ", ", the last followed by " |". */
		for (const char *p = cell; p < bar;) {
			size_t len = strcspn(p, ", |");

			if (len == flen && strncmp(p, file, flen) == 0)
				return 1;
			p += len;
			p += strspn(p, ", ");
			if (*p == '|')
				break;
		}
	}
	return 0;
}

/* Every *.c at the top level is in README's layout table; how many were
 * checked goes to *count. */
static int layout_complete(size_t *count)
{
	DIR *dir = opendir(".");
	struct dirent *e;
	int ok = 1;

	*count = 0;
	if (dir == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
			continue;
		++*count;
		if (!layout_names(e->d_name)) {
			printf("#   README.md's layout table does not name %s\n", e->d_name);
			ok = 0;
		}
	}
	closedir(dir);
	return ok;
}

int main(void)
{
	size_t nsources;

	static const char *const contract[] = { "serve", "check", "user", "category", "room",
	                                        "export", "verify", "backup" };
	struct key_state ks = { 1, 1 };
	char words[64][32];
	size_t nwords;
	int all = 1;

	CHECK(slurp("man/pchat.ini.5", ini5, sizeof ini5) > 0, "docs-1.1 man/pchat.ini.5 readable");
	CHECK(slurp("man/pchat.8", man8, sizeof man8) > 0, "docs-1.2 man/pchat.8 readable");
	CHECK(slurp("pchat.c", pchat_c, sizeof pchat_c) > 0, "docs-1.3 pchat.c readable");

	config_each_key(check_key, &ks);
	CHECK(ks.all_documented, "docs-2.1 pchat.ini.5 documents every key, with its default, under its section");
	CHECK(ks.reload_marks_right, "docs-2.2 pchat.ini.5 marks (reload) exactly the keys a SIGHUP applies");
	CHECK(no_stale_keys(), "docs-2.3 pchat.ini.5 documents no key pchat does not know");

	nwords = usage_commands(words, 64);
	CHECK(nwords >= 6, "docs-3.1 pchat.c's usage names the subcommands");
	for (size_t i = 0; i < sizeof contract / sizeof contract[0] && nwords < 64; i++) {
		int dup = 0;

		for (size_t j = 0; j < nwords; j++)
			dup |= strcmp(words[j], contract[i]) == 0;
		if (!dup)
			snprintf(words[nwords++], 32, "%s", contract[i]);
	}
	for (size_t i = 0; i < nwords; i++) {
		if (!man8_has_command(words[i])) {
			printf("#   pchat.8 has no \".SS %s\" under COMMANDS\n", words[i]);
			all = 0;
		}
	}
	CHECK(all, "docs-3.2 pchat.8 has an entry for every subcommand");
	CHECK(strstr(man8, "\n.SH SIGNALS\n") && strstr(man8, "SIGHUP") && strstr(man8, "\n.SH BACKUP AND RESTORE\n"),
	      "docs-3.3 pchat.8 explains reload and restore");

	CHECK(formats_cleanly("man/pchat.8"), "docs-4.1 pchat.8 formats without warnings");
	CHECK(formats_cleanly("man/pchat.ini.5"), "docs-4.2 pchat.ini.5 formats without warnings");

	CHECK(slurp("README.md", readme, sizeof readme) > 0, "docs-5.1 README.md readable");
	CHECK(layout_complete(&nsources) && nsources >= 20, "docs-5.2 README's layout table names every .c file at the top level");
	CHECK(!layout_names("no_such_file.c") && layout_names("pchat.c") && layout_names("log.c"),
	      "docs-5.3 the layout check reads the table's first cells (single and listed names)");
	{
		/* The layering: no two of our modules include each other, however
		 * indirectly (issue 18). */
		static struct include_graph g, t;
		const char *a = NULL, *b = NULL;

		CHECK(ig_load_dir(&g, ".") == 0 && !g.full && g.n >= 20, "docs-6.1 the project's .c and .h files read");
		if (!CHECK(!ig_circle(&g, &a, &b), "docs-6.2 no include circle between the project's modules"))
			printf("#   %s and %s include each other (through their .c/.h files)\n", a, b);
		ig_add_file(&t, "store_internal.h", "#include \"store.h\"\n");
		ig_add_file(&t, "store.c", "#include \"store_internal.h\"\n#include \"log.h\"\n");
		ig_add_file(&t, "a.c", "#include \"a.h\"\n#include \"store.h\"\n#include <b.h>\n// #include \"c.h\"\n");
		ig_add_file(&t, "c.c", "#include \"a.h\"\n");
		CHECK(!ig_circle(&t, &a, &b) && t.edge[ig_node(&t, "a")][ig_node(&t, "store")] &&
		      !t.edge[ig_node(&t, "a")][ig_node(&t, "c")], "docs-6.3 the check reads includes at line starts, private headers as their module");
		ig_add_file(&t, "log.h", "#include \"c.h\"\n");
		CHECK(ig_circle(&t, &a, &b) && t.n == 4, "docs-6.4 the check finds a circle through four modules");
	}
	return check_done("docs");
}
