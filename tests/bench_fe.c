/*
 * bench_fe.c - the front-end scenario's set-up (see bench.h): certificates
 * and the [frontend] section for the server under test, and the port its
 * mutual-TLS listener took.
 *
 * The certificates are e2e_frontend's: tests/kamailio/certs.sh (openssl)
 * makes a test CA and kamailio.test's client certificate in the scenario's
 * temp folder; pchat trusts that CA on its [frontend] listener and names
 * kamailio.test as its one peer.  The bench then connects as that front end.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FE_CERTS_SCRIPT "tests/kamailio/certs.sh"
#define FE_PEER "kamailio"

int bench_fe_prepare(const char *dir, FILE *ini)
{
	pid_t pid;
	int status;

	if (access(FE_CERTS_SCRIPT, R_OK) != 0) {
		fprintf(stderr, "pchat-bench: frontend: %s not found (run the bench from the source tree)\n",
		        FE_CERTS_SCRIPT);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("sh", "sh", FE_CERTS_SCRIPT, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pchat-bench: frontend: %s %s failed (is openssl installed?)\n", FE_CERTS_SCRIPT, dir);
		return -1;
	}
	/* Any free port: benches may run beside tests. */
	if (fprintf(ini, "[frontend]\nlisten = 127.0.0.1:0\nca_file = %s/ca.crt\npeers = " FE_PEER ".test\n", dir) < 0)
		return -1;
	return 0;
}

void bench_fe_cert_paths(const char *dir, char *crt, char *key, size_t len)
{
	snprintf(crt, len, "%s/" FE_PEER ".crt", dir);
	snprintf(key, len, "%s/" FE_PEER ".key", dir);
}

uint16_t bench_fe_port(const char *log_path)
{
	static const char needle[] = "event=listen-mtls port=";
	char line[1024];
	FILE *f = fopen(log_path, "r");
	unsigned long port = 0;

	if (f == NULL)
		return 0;
	while (port == 0 && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, needle);
		char *end;

		if (p == NULL)
			continue;
		port = strtoul(p + sizeof needle - 1, &end, 10);
		if (end == p + sizeof needle - 1 || port > 65535)
			port = 0;
	}
	fclose(f);
	return (uint16_t)port;
}
