/*
 * tsipe.c - the pidgin-sipe harness as a test client (tsipe.h).
 */
#include "tsipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* DIR/purple with pchat's certificate trusted, and DIR/script; 0 or -1. */
static int prepare(const struct tserver *s, const char *dir, const char *script, char *path, size_t plen)
{
	char cmd[1400];
	FILE *f;

	snprintf(cmd, sizeof cmd, "mkdir -p '%s/purple/certificates/x509/tls_peers' && cp '%s/pchat.crt' '%s/purple/certificates/x509/tls_peers/127.0.0.1'",
	         dir, s->dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(path, plen, "%s/script", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(script, f);
	fclose(f);
	return 0;
}

pid_t tsipe_start(const struct tserver *s, const char *harness, const char *name, const char *user,
                  const char *password, const char *script)
{
	char dir[300], path[600], out[600], log[600], port[32], userdir[320];
	pid_t pid;

	snprintf(dir, sizeof dir, "%s/%s", s->dir, name);
	if (prepare(s, dir, script, path, sizeof path) < 0)
		return -1;
	snprintf(out, sizeof out, "%s/%s.out", s->dir, name);
	snprintf(log, sizeof log, "%s/%s.log", s->dir, name);
	snprintf(port, sizeof port, "127.0.0.1:%u", s->port);
	snprintf(userdir, sizeof userdir, "%s/purple", dir);
	fflush(NULL);    /* or the child would write our buffered output again */
	pid = fork();
	if (pid == 0) {
		FILE *o = freopen(out, "w", stdout);

		(void)o;
		dup2(1, 2);
		execl(harness, harness, "--user", user, "--password", password, "--server", port, "--transport", "tls",
		      "--auth", "ntlm", "--userdir", userdir, "--debug-log", log, "--timeout", "60", "--script", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int tsipe_finish(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
