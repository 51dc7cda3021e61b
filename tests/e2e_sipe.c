/*
 * e2e_sipe.c - the real client: pidgin-sipe 1.25, driven headless through
 * ../shared/tools/sipe-harness, against a real ./pchat.
 * usage: e2e_sipe PCHAT_BINARY [HARNESS_BINARY]
 * The harness trusts pchat's generated certificate the way libpurple does:
 * a copy in <userdir>/certificates/x509/tls_peers/127.0.0.1.
 */
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tserver srv;
static const char *harness = "build/sipe/sipe-harness";

static int file_has(const char *path, const char *needle)
{
	static char text[8 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

/* Run the harness as user with password and script text; returns its exit
 * status; its stdout goes to RUN/NAME.out and its debug log to RUN/NAME.log. */
static int run_client(const char *name, const char *user, const char *password, const char *script)
{
	char dir[300], path[1400], out[600], log[600], port[32], userdir[320];
	FILE *f;
	pid_t pid;
	int status;

	snprintf(dir, sizeof dir, "%s/%s", srv.dir, name);
	snprintf(path, sizeof path, "mkdir -p '%s/purple/certificates/x509/tls_peers' && cp '%s/pchat.crt' '%s/purple/certificates/x509/tls_peers/127.0.0.1'",
	         dir, srv.dir, dir);
	if (system(path) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/script", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(script, f);
	fclose(f);
	snprintf(out, sizeof out, "%s/%s.out", srv.dir, name);
	snprintf(log, sizeof log, "%s/%s.log", srv.dir, name);
	snprintf(port, sizeof port, "127.0.0.1:%u", srv.port);
	snprintf(userdir, sizeof userdir, "%s/purple", dir);
	pid = fork();
	if (pid == 0) {
		FILE *o = freopen(out, "w", stdout);

		(void)o;
		dup2(1, 2);
		execl(harness, harness, "--user", user, "--password", password, "--server", port, "--transport", "tls",
		      "--auth", "ntlm", "--userdir", userdir, "--debug-log", log, "--timeout", "40", "--script", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	char out[512], path[600], log[600];
	struct stat st;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2)
		harness = argv[2];
	if (!CHECK(stat(harness, &st) == 0, "sipe-0.1 harness built (make -C ../shared/tools/sipe-harness)"))
		return check_done("e2e_sipe");
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "sipe-0.2 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_sipe");
	}
	CHECK(tserver_cli(&srv, "wonderland\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL) == 0,
	      "sipe-0.3 user add alice");

	rc = run_client("alice", "alice@example.org", "wonderland", "wait signed-on 20\nsleep 3\nquit\n");
	snprintf(path, sizeof path, "%s/alice.out", srv.dir);
	snprintf(log, sizeof log, "%s/alice.log", srv.dir);
	CHECK(rc == 0 && file_has(path, "EVENT signed-on"), "sipe-1.1 pidgin-sipe signs on with NTLM");
	CHECK(file_has(log, "chatserver_response: 'rpl:requri' result (200)"), "sipe-1.2 client handled rpl:requri");
	CHECK(file_has(log, "chatserver_response_uri: 'sip:pchat@example.org'"), "sipe-1.3 client got the channel URI");
	CHECK(file_has(log, "INVITE sip:pchat@example.org SIP/2.0"), "sipe-1.4 client INVITEd the channel URI");
	CHECK(tserver_log_has(&srv, "event=dialog-start user=sip:alice@example.org role=channel"),
	      "sipe-1.5 server opened the channel dialog");
	CHECK(!file_has(log, "message without authentication data") && !file_has(log, "Invalid message signature"),
	      "sipe-1.6 client accepted every server signature");
	CHECK(tserver_log_has(&srv, "event=auth-ok user=sip:alice@example.org"), "sipe-1.7 server log: auth ok");

	rc = run_client("wrong", "alice@example.org", "not-the-password", "wait signed-on 15\nquit\n");
	snprintf(path, sizeof path, "%s/wrong.out", srv.dir);
	CHECK(rc != 0 && !file_has(path, "EVENT signed-on"), "sipe-2.1 a wrong password does not sign on");
	CHECK(file_has(path, "EVENT connection-error"), "sipe-2.2 the client reports a connection error");

	CHECK(tserver_stop(&srv) == 0, "sipe-9.1 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_sipe");
}
