/*
 * e2e_cli.c - the command line as an administrator meets it: every
 * subcommand that `pchat --help` lists takes --help (exit 0, its usage on
 * stdout, nothing read or made) and refuses an option it does not know
 * (exit 2, usage on stderr, no file and no store made); the EXAMPLES of
 * man/pchat.8 run as written, in order, in a folder holding a pchat.ini;
 * without -c the tool names the ini it uses; -c naming a folder is refused;
 * commands that only read never create a store.  Run from the repository
 * root (it reads man/pchat.8).
 * Usage: e2e_cli PCHAT_BINARY
 */
#include "check.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[400];
static char cap[440];                     /* where stdout and stderr are captured */
static char out[65536], err[65536];

/* Run a shell command in dir, with PATH starting at the capture folder
 * (where `pchat` is the binary under test); stdout into out, stderr into
 * err.  A hung command (a serve that should not have started) is killed. */
static int run_in(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_in(const char *dir, const char *fmt, ...)
{
	char cmd[8192], line[12288];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "cd '%s' && PATH='%s/bin':\"$PATH\" timeout 20 sh -c '%s' >'%s/out' 2>'%s/err' </dev/null",
	         dir, cap, cmd, cap, cap);
	fflush(NULL);
	st = system(line);
	read_text(strcat(strcpy(line, cap), "/out"), out, sizeof out);
	read_text(strcat(strcpy(line, cap), "/err"), err, sizeof err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The names in dir other than "." and "..", "pchat.ini" and keep, joined. */
static void listing(const char *dir, const char *keep, char *names, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	names[0] = '\0';
	while (d && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "pchat.ini") ||
		    (keep && !strcmp(de->d_name, keep)))
			continue;
		strncat(names, de->d_name, len - strlen(names) - 2);
		strcat(names, " ");
	}
	if (d)
		closedir(d);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The subcommands `pchat --help` lists under "commands:". */
static int help_commands(char names[][16], int max)
{
	const char *p;
	int n = 0;

	if (run_in("/", "pchat --help") != 0 || (p = strstr(out, "\ncommands:\n")) == NULL)
		return 0;
	for (p += 11; n < max && p[0] == ' ' && p[1] == ' ' && p[2] != ' ';) {
		size_t len = strcspn(p + 2, " \n");

		snprintf(names[n++], 16, "%.*s", (int)(len < 15 ? len : 15), p + 2);
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return n;
}

static void test_help_and_unknown(const char *tmp)
{
	static const char *const contract[] = { "serve", "check", "user", "category", "room", "search", "file",
	                                        "export", "verify", "backup" };
	char names[32][16], dir[512], text[4096], what[200], usage_mark[600], files[1024];
	int n = help_commands(names, 22), help_ok = 1, unknown_ok = 1, pos_ok = 1, listed = 0;

	/* Those --help lists, and the documented ones it should list. */
	for (size_t c = 0; c < sizeof contract / sizeof contract[0]; c++) {
		int found = 0;

		for (int k = 0; k < n; k++)
			found |= !strcmp(names[k], contract[c]);
		listed += found;
		if (!found)
			snprintf(names[n++], 16, "%s", contract[c]);
	}
	CHECK(listed == (int)(sizeof contract / sizeof contract[0]),
	      "cli-1.1 pchat --help lists the subcommands (serve check user category room search file export verify backup)");
	snprintf(dir, sizeof dir, "%s/opts", tmp);
	mkdir(dir, 0755);
	snprintf(text, sizeof text, "%s/pchat.ini", dir);
	write_text(text, "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n");
	for (int i = 0; i < n; i++) {
		int rc;

		snprintf(usage_mark, sizeof usage_mark, "usage: pchat [-c FILE] %s%s", !strcmp(names[i], "serve") ? "[" : "",
		         names[i]);
		rc = run_in(dir, "pchat -c pchat.ini %s --help", names[i]);
		listing(dir, NULL, files, sizeof files);
		if (rc != 0 || strncmp(out, usage_mark, strlen(usage_mark)) != 0 || err[0] != '\0' || files[0] != '\0') {
			printf("#   %s --help: exit %d, stdout \"%.80s\", stderr \"%.80s\", made \"%s\"\n", names[i], rc, out, err,
			       files);
			help_ok = 0;
		}
		rc = run_in(dir, "pchat -c pchat.ini %s --no-such-option", names[i]);
		listing(dir, NULL, files, sizeof files);
		if (rc != 2 || out[0] != '\0' || !strstr(err, "unknown option --no-such-option") || !strstr(err, usage_mark) ||
		    files[0] != '\0') {
			printf("#   %s --no-such-option: exit %d, stdout \"%.80s\", stderr \"%.200s\", made \"%s\"\n", names[i], rc,
			       out, err, files);
			unknown_ok = 0;
		}
		/* After the words a command takes, too (backup would take it as FILE). */
		rc = run_in(dir, "pchat -c pchat.ini %s %s -x", names[i],
		            !strcmp(names[i], "user") ? "add alice" : !strcmp(names[i], "room") || !strcmp(names[i], "category")
		            ? "add Z" : !strcmp(names[i], "file") ? "get 1 out" : !strcmp(names[i], "search") ? "Z word" : "");
		listing(dir, NULL, files, sizeof files);
		if (rc != 2 || !strstr(err, "unknown option -x") || files[0] != '\0') {
			printf("#   %s ... -x: exit %d, stderr \"%.200s\", made \"%s\"\n", names[i], rc, err, files);
			pos_ok = 0;
		}
	}
	CHECK(n > 0 && help_ok, "cli-1.2 every subcommand: --help prints its usage on stdout, exit 0, nothing on stderr, nothing made");
	CHECK(n > 0 && unknown_ok, "cli-1.3 every subcommand: an unknown option is refused (exit 2, usage on stderr), no file, no store");
	CHECK(n > 0 && pos_ok, "cli-1.4 every subcommand: an unknown option after its words is refused too, nothing made");

	CHECK(run_in(dir, "pchat -c pchat.ini backup --help") == 0 && access(strcat(strcpy(text, dir), "/--help"), F_OK) < 0,
	      "cli-1.5 backup --help makes no file named --help");
	CHECK(run_in(dir, "pchat -c pchat.ini serve --help") == 0 && strstr(out, "usage: pchat [-c FILE] [serve]") &&
	      !strstr(err, "unknown command"),
	      "cli-1.6 serve --help prints the usage of serve");
	CHECK(run_in(dir, "pchat --help") == 0 && strstr(out, "usage: pchat") && err[0] == '\0' &&
	      run_in(dir, "pchat -h") == 0 && strstr(out, "usage: pchat"),
	      "cli-1.7 pchat --help and -h: exit 0, usage on stdout");
	CHECK(run_in(dir, "pchat --frob") == 2 && out[0] == '\0' && strstr(err, "--frob") &&
	      run_in(dir, "pchat -c pchat.ini frob") == 2 && strstr(err, "unknown command"),
	      "cli-1.8 an unknown global option or command: exit 2, stderr only");
	/* An option's value may look like an option. */
	snprintf(what, sizeof what, "pchat -c pchat.ini room add Q --description --help");
	CHECK(run_in(dir, "%s", what) == 0 && strstr(out, "ma-chan://") && run_in(dir, "pchat -c pchat.ini room show Q") == 0 &&
	      strstr(out, "--help"),
	      "cli-1.9 an option value that starts with - is a value (room add --description --help)");
	CHECK(run_in(dir, "pchat -c pchat.ini room frob") == 2 && strstr(err, "usage: pchat [-c FILE] room") &&
	      count_lines(err) > 2,
	      "cli-1.10 a usage error inside a subcommand prints that subcommand's usage on stderr");
}

/* Un-roff one line of the EXAMPLES section (the escapes it uses). */
static void unroff(const char *in, char *o, size_t len)
{
	size_t n = 0;

	while (*in && n + 1 < len) {
		if (!strncmp(in, "\\-", 2)) {
			o[n++] = '-';
			in += 2;
		} else if (!strncmp(in, "\\(aq", 4)) {
			o[n++] = '\'';
			in += 4;
		} else if (!strncmp(in, "\\e", 2)) {
			o[n++] = '\\';
			in += 2;
		} else if (!strncmp(in, "\\f", 2) && in[2]) {
			in += 3;
		} else {
			o[n++] = *in++;
		}
	}
	o[n] = '\0';
}

static void test_man_examples(const char *tmp)
{
	static char man[1 << 18];
	char dir[512], ini[600], line[2048], cmd[2048], quoted[4096];
	const char *p, *end;
	int ran = 0, failed = 0, root_lines = 0;

	CHECK(read_text("man/pchat.8", man, sizeof man) > 0, "cli-2.0 man/pchat.8 readable (run from the repository root)");
	p = strstr(man, "\n.SH EXAMPLES\n");
	end = p ? strstr(p + 1, "\n.SH ") : NULL;
	if (!CHECK(p && end, "cli-2.1 man/pchat.8 has an EXAMPLES section"))
		return;
	snprintf(dir, sizeof dir, "%s/examples", tmp);
	mkdir(dir, 0755);
	snprintf(ini, sizeof ini, "%s/pchat.ini", dir);
	write_text(ini, "[server]\ndomain = example.org\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n");
	for (p++; p < end; p = strchr(p, '\n') + 1) {
		size_t len = strcspn(p, "\n");

		snprintf(line, sizeof line, "%.*s", (int)len, p);
		unroff(line, cmd, sizeof cmd);
		if (cmd[0] == '#' && cmd[1] == ' ')
			root_lines++;
		if (cmd[0] != '$' || cmd[1] != ' ')
			continue;
		/* sh -c '...': the example's own single quotes become '\'' */
		quoted[0] = '\0';
		for (const char *c = cmd + 2; *c && strlen(quoted) + 5 < sizeof quoted; c++)
			strncat(quoted, *c == '\'' ? "'\\''" : (char[2]){ *c, '\0' }, sizeof quoted - strlen(quoted) - 1);
		ran++;
		if (run_in(dir, "%s", quoted) != 0) {
			printf("#   example failed: %s\n#   stdout: %.300s\n#   stderr: %.300s\n", cmd + 2, out, err);
			failed++;
		}
	}
	CHECK(ran >= 10 && failed == 0, "cli-2.2 every $ line of man/pchat.8's EXAMPLES runs as written, exit 0");
	CHECK(root_lines >= 1, "cli-2.3 the EXAMPLES show the packaged form (# sudo -u pchat pchat ...)");
	CHECK(run_in(dir, "pchat user list") == 0 && strstr(out, "sip:alice@example.org") &&
	      strstr(out, "sip:bob@example.org") && access(strcat(strcpy(line, dir), "/pchat-backup.db"), F_OK) == 0,
	      "cli-2.4 the examples did what they say: the users are in the store, the backup was written");
}

static void test_defaults(const char *tmp)
{
	char dir[512], empty[512], files[1024], path[600];
	static const char *const readers[] = {
		"check", "user list", "user show alice", "category list", "category show default", "room list",
		"room show X", "search X word", "file list X", "file get 1 copy", "export", "verify", "backup b.db",
		"user del alice", "room del X",
	};
	int all = 1, installed = access("/etc/pchat/pchat.ini", F_OK) == 0;

	snprintf(dir, sizeof dir, "%s/defaults", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/pchat.ini", dir);
	write_text(path, "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n[auth]\nmin_password_length = 1\n");

	CHECK(run_in(dir, "pchat -c . check") == 1 && strstr(err, "is a folder") && count_lines(err) == 1,
	      "cli-3.1 -c naming a folder: refused with one line saying so, exit 1");
	CHECK(run_in(dir, "pchat -c \"$PWD\" user list") == 1 && strstr(err, "is a folder"),
	      "cli-3.2 -c naming a folder by its absolute path: refused");
	for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
		int rc = run_in(dir, "pchat -c pchat.ini %s", readers[i]);

		listing(dir, "compliance", files, sizeof files);
		if (files[0] != '\0' || (i > 0 && (rc != 1 || !strstr(err, "pchat.db")))) {
			printf("#   %s: exit %d, made \"%s\", stderr \"%.200s\"\n", readers[i], rc, files, err);
			all = 0;
		}
	}
	CHECK(all, "cli-3.3 commands that only read (and those that change what must exist) create no store; they name the missing store");
	CHECK(run_in(dir, "pchat -c pchat.ini check") == 0 && strstr(out, "store: none yet") && strstr(out, "pchat.db"),
	      "cli-3.4 check on a folder without a store: says one is created at the first start, exit 0");
	CHECK(run_in(dir, "echo pw | pchat -c pchat.ini user add alice --password-stdin") == 0 &&
	      access(strcat(strcpy(path, dir), "/pchat.db"), F_OK) == 0,
	      "cli-3.5 user add creates the store");
	CHECK(run_in(dir, "pchat user list") == 0 && strstr(out, "sip:alice@") &&
	      strstr(err, installed ? "/etc/pchat/pchat.ini" : "using pchat.ini") && count_lines(err) == 1,
	      "cli-3.6 without -c: the ini used is named in one line on stderr (./pchat.ini here)");
	snprintf(empty, sizeof empty, "%s/none", tmp);
	mkdir(empty, 0755);
	if (!installed) {
		CHECK(run_in(empty, "pchat room list") == 1 && strstr(err, "built-in defaults") && strstr(err, "no store at") &&
		      (listing(empty, NULL, files, sizeof files), files[0] == '\0'),
		      "cli-3.7 without -c nor ./pchat.ini: says built-in defaults are used, and room list makes no store");
	}
	CHECK(run_in(dir, "pchat -c pchat.ini user list") == 0 && err[0] == '\0',
	      "cli-3.8 with -c: nothing extra on stderr");
}

/* One server per store: a second `serve` on the same store refuses at
 * once, naming the first one's pid; once the first stops, one may start. */
static void test_single_instance(const char *tmp)
{
	char dir[600], ini[700], lock[700], pidtext[32] = "";
	pid_t first;
	int status = -1, rc;

	snprintf(dir, sizeof dir, "%s/single", tmp);
	snprintf(ini, sizeof ini, "%s/pchat.ini", dir);
	snprintf(lock, sizeof lock, "%s/pchat.db.lock", dir);
	mkdir(dir, 0700);
	write_text(ini, "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n");
	fflush(NULL);
	if ((first = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "-c", ini, "serve", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && read_text(lock, pidtext, sizeof pidtext) == 0; i++)
		usleep(50000);
	CHECK(first > 0 && atol(pidtext) == (long)first, "cli-4.1 a serving pchat holds STORE.lock with its pid");
	rc = run_in(dir, "pchat -c ./pchat.ini serve");
	CHECK(rc == 1 && strstr(err, "already serves this store") && strstr(err, pidtext[0] ? strtok(pidtext, "\n") : "?"),
	      "cli-4.2 a second serve on the same store refuses, naming the first one's pid");
	rc = run_in(dir, "pchat -c ./pchat.ini migrate");
	CHECK(rc == 1 && strstr(err, "already serves this store") && strstr(err, "stop it first"),
	      "cli-4.2b `pchat migrate` refuses while a server serves the store");
	if (first > 0) {
		kill(first, SIGTERM);
		waitpid(first, &status, 0);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cli-4.3 the first stops cleanly");
	rc = run_in(dir, "timeout -s TERM 2 pchat -c ./pchat.ini serve; test $? -eq 124");
	CHECK(rc == 0 && strstr(err, "event=ready"), "cli-4.4 then another may serve the store (the lock went with it)");
}

/* `make uninstall` takes back what `make install` put in place, and keeps
 * the site's ini (and state, which install never creates). */
static void test_uninstall(const char *tmp)
{
	char root[600], p[800];
	int rc;

	snprintf(root, sizeof root, "%s/root", tmp);
	rc = run_in(".", "make -s --no-print-directory -o %s install INSTALL_BIN=%s DESTDIR=%s PREFIX=/usr", bin, bin, root);
	snprintf(p, sizeof p, "%s/usr/sbin/pchat", root);
	CHECK(rc == 0 && access(p, X_OK) == 0, "cli-5.1 make install DESTDIR=... puts pchat in place");
	rc = run_in(".", "make -s --no-print-directory uninstall DESTDIR=%s PREFIX=/usr", root);
	CHECK(rc == 0 && access(p, F_OK) != 0, "cli-5.2 make uninstall removes the program");
	snprintf(p, sizeof p, "%s/usr/share/man/man8/pchat.8", root);
	CHECK(access(p, F_OK) != 0, "cli-5.3 ... the man pages");
	snprintf(p, sizeof p, "%s/usr/lib/systemd/system/pchat.service", root);
	CHECK(access(p, F_OK) != 0, "cli-5.4 ... and the unit");
	snprintf(p, sizeof p, "%s/etc/pchat/pchat.ini", root);
	CHECK(access(p, F_OK) == 0 && strstr(out, "kept"), "cli-5.5 and keeps the site's ini, saying so");
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/pchat-cli-XXXXXX", cmd[2048], real[PATH_MAX];

	if (realpath(argc > 1 ? argv[1] : "./pchat", real) == NULL || strlen(real) >= sizeof bin || mkdtemp(tmp) == NULL) {
		CHECK(0, "cli-0.0 the binary and a temp folder");
		return check_done("e2e_cli");
	}
	snprintf(bin, sizeof bin, "%s", real);
	/* `pchat` on PATH is the binary under test, so commands run as written. */
	snprintf(cap, sizeof cap, "%s/cap", tmp);
	if (access("/etc/pchat/pchat.ini", F_OK) == 0)   /* installed here: the examples' default would be it */
		snprintf(cmd, sizeof cmd, "mkdir -p '%s/bin' && printf '#!/bin/sh\\nexec %s -c ./pchat.ini \"$@\"\\n' >'%s/bin/pchat' &&"
		         " chmod 755 '%s/bin/pchat'", cap, bin, cap, cap);
	else
		snprintf(cmd, sizeof cmd, "mkdir -p '%s/bin' && ln -s '%s' '%s/bin/pchat'", cap, bin, cap);
	if (!CHECK(system(cmd) == 0, "cli-0.1 pchat on PATH"))
		return check_done("e2e_cli");
	test_help_and_unknown(tmp);
	test_man_examples(tmp);
	test_defaults(tmp);
	test_single_instance(tmp);
	test_uninstall(tmp);
	if (getenv("PCHAT_KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmp);
	}
	return check_done("e2e_cli");
}
