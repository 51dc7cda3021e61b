/*
 * e2e_status.c - `pchat status` and the Prometheus metrics end to end: a
 * real server with a signed-in user in a room, an anonymous connection and
 * compliance events waiting; the report and the metrics (parsed by a strict
 * exposition-format 0.0.4 parser) carry the numbers; the control socket is
 * 0660 and owned by the server's user, another uid cannot connect; garbage,
 * oversized, silent and surplus requests are refused while the server stays
 * up; a stopped server: exit 3, "not running", the backlog read from the
 * store without creating one; a stale socket is replaced at start; a failing
 * export shows as failed.
 * Usage: e2e_status PCHAT_BINARY
 */
#include "check.h"
#include "tchat.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#define CONTROL_TEST_SLOTS 4     /* control.h's CONTROL_MAX_CLIENTS */

static struct tserver srv, srv2;
static char g_room[40];

static char *sock_path(const struct tserver *s)
{
	static char path[400];

	snprintf(path, sizeof path, "%s/pchat.sock", s->dir);
	return path;
}

static void set_sun(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	if (n >= sizeof sa->sun_path)
		n = sizeof sa->sun_path - 1;
	memcpy(sa->sun_path, path, n);
	sa->sun_path[n] = '\0';
}

static int file_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* `pchat status ARGS` on s: exit status, output in out. */
static int status_of(const struct tserver *s, char *out, size_t outlen, const char *arg)
{
	return tserver_cli(s, NULL, out, outlen, "status", arg, NULL);
}

/* One request on the control socket, everything until the server closes. */
static int ask_raw(const char *path, const void *req, size_t len, char *out, size_t outlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t got = 0;
	struct timeval tv = { 5, 0 };

	out[0] = '\0';
	set_sun(&sa, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (len && send(fd, req, len, MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = recv(fd, out + got, outlen - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == outlen - 1)
			break;
	}
	out[got] = '\0';
	close(fd);
	return (int)got;
}

/* ---- a strict reader of the Prometheus text format (0.0.4) ---- */

#define MAX_SAMPLES 64

struct sample {
	char name[80];
	char labels[160];   /* what is between the braces, "" when none */
	double value;
};

struct exposition {
	struct sample s[MAX_SAMPLES];
	size_t n;
	char help[MAX_SAMPLES][80], type[MAX_SAMPLES][80];
	size_t nhelp, ntype;
	char error[600];
};

static int name_ok(const char *p, size_t n)
{
	if (n == 0 || !(p[0] == '_' || p[0] == ':' || (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(p[i] == '_' || p[i] == ':' || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= '0' && p[i] <= '9')))
			return 0;
	return 1;
}

/* labels: name="value" pairs separated by commas, values with \\ \" \n
 * escapes only. */
static int labels_ok(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;

		while (i < n && p[i] != '=')
			i++;
		if (i >= n || !name_ok(p + start, i - start) || i + 1 >= n || p[i + 1] != '"')
			return 0;
		for (i += 2; i < n && p[i] != '"'; i++)
			if (p[i] == '\\' && (i + 1 >= n || !strchr("\\\"n", p[++i])))
				return 0;
		if (i >= n)
			return 0;
		i++;
		if (i < n && p[i++] != ',')
			return 0;
	}
	return 1;
}

static int seen(char list[][80], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return 1;
	return 0;
}

/* 0 when text is valid: every line a comment (# HELP/# TYPE NAME ...) or
 * "name{labels} value", every sample's name with a HELP and a TYPE before
 * it, a final newline. */
static int expo_parse(const char *text, struct exposition *e)
{
	memset(e, 0, sizeof *e);
	if (text[0] == '\0' || text[strlen(text) - 1] != '\n') {
		snprintf(e->error, sizeof e->error, "empty or no final newline");
		return -1;
	}
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		char buf[512], *sp, *end;

		if (len >= sizeof buf) {
			snprintf(e->error, sizeof e->error, "line too long");
			return -1;
		}
		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + 1;
		if (!strncmp(buf, "# HELP ", 7) || !strncmp(buf, "# TYPE ", 7)) {
			char *name = buf + 7, *rest = strchr(name, ' ');
			int help = buf[2] == 'H';

			if (rest == NULL || !name_ok(name, (size_t)(rest - name)) || rest[1] == '\0' ||
			    (!help && strcmp(rest + 1, "gauge") && strcmp(rest + 1, "counter") && strcmp(rest + 1, "untyped"))) {
				snprintf(e->error, sizeof e->error, "bad comment: %s", buf);
				return -1;
			}
			*rest = '\0';
			if (help ? e->nhelp >= MAX_SAMPLES : e->ntype >= MAX_SAMPLES)
				return -1;
			snprintf(help ? e->help[e->nhelp++] : e->type[e->ntype++], 80, "%.79s", name);
			continue;
		}
		if (buf[0] == '#' || buf[0] == '\0') {
			snprintf(e->error, sizeof e->error, "unexpected line: \"%s\"", buf);
			return -1;
		}
		if (e->n >= MAX_SAMPLES)
			return -1;
		{
			struct sample *s = &e->s[e->n];
			size_t nlen = strcspn(buf, "{ ");
			char *lb = buf + nlen;

			if (!name_ok(buf, nlen) || nlen >= sizeof s->name) {
				snprintf(e->error, sizeof e->error, "bad name: %s", buf);
				return -1;
			}
			memcpy(s->name, buf, nlen);
			s->name[nlen] = '\0';
			if (*lb == '{') {
				char *close = strstr(lb, "} ");

				if (close == NULL || !labels_ok(lb + 1, (size_t)(close - lb - 1)) ||
				    (size_t)(close - lb - 1) >= sizeof s->labels) {
					snprintf(e->error, sizeof e->error, "bad labels: %s", buf);
					return -1;
				}
				memcpy(s->labels, lb + 1, (size_t)(close - lb - 1));
				s->labels[close - lb - 1] = '\0';
				lb = close + 1;
			}
			sp = lb;
			if (*sp != ' ' || sp[1] == '\0') {
				snprintf(e->error, sizeof e->error, "no value: %s", buf);
				return -1;
			}
			errno = 0;
			s->value = strtod(sp + 1, &end);
			if (errno || *end != '\0' || end == sp + 1) {
				snprintf(e->error, sizeof e->error, "bad value: %s", buf);
				return -1;
			}
			if (!seen(e->help, e->nhelp, s->name) || !seen(e->type, e->ntype, s->name)) {
				snprintf(e->error, sizeof e->error, "%s without HELP and TYPE before it", s->name);
				return -1;
			}
			e->n++;
		}
	}
	return 0;
}

/* The value of name{labels}; -1e300 when absent. */
static double expo_value(const struct exposition *e, const char *name, const char *labels)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels ? labels : ""))
			return e->s[i].value;
	return -1e300;
}

static long wall_now(void)
{
	return (long)time(NULL);
}

/* The certificate's not-after as Unix time, read here with mbedTLS. */
static long cert_not_after(const char *path)
{
	mbedtls_x509_crt crt;
	struct tm tm = { 0 };
	long t = -1;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_file(&crt, path) == 0) {
		tm.tm_year = crt.valid_to.year - 1900;
		tm.tm_mon = crt.valid_to.mon - 1;
		tm.tm_mday = crt.valid_to.day;
		tm.tm_hour = crt.valid_to.hour;
		tm.tm_min = crt.valid_to.min;
		tm.tm_sec = crt.valid_to.sec;
		t = (long)timegm(&tm);
	}
	mbedtls_x509_crt_free(&crt);
	return t;
}

/* A child that drops to uid/gid 65534 and tries to connect: 1 when refused
 * with EACCES. */
static int other_uid_refused(const char *path)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		set_sun(&sa, path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			_exit(0);
		_exit(errno == EACCES ? 1 : 3);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 1;
}

static void add_users(const struct tserver *s)
{
	char out[256];

	tserver_cli(s, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	tserver_cli(s, "pw\n", out, sizeof out, "user", "add", "bob", "--password-stdin", NULL);
}

/* ---- the tests ---- */

static void test_running(struct tuser *alice, struct tuser *alice2, struct tclient *anon)
{
	static char out[16384];
	struct exposition e;
	struct stat sb;
	char want[200];
	long waiting, cert_t;
	int rc;

	/* st-1: the report */
	waiting = tchat_sql_count("SELECT count(*) FROM compliance_events");
	rc = status_of(&srv, out, sizeof out, NULL);
	CHECK(rc == 0, "st-1.1 status exits 0 while the server runs");
	CHECK(strstr(out, ": running, up ") != NULL, "st-1.2 status says running, with the uptime");
	CHECK(strstr(out, "connections: 3 (2 signed in, 1 anonymous)") != NULL,
	      "st-1.3 connections: 3, two signed in (alice twice), one anonymous");
	CHECK(strstr(out, "users signed in: 1\n") != NULL, "st-1.4 one distinct user signed in");
	CHECK(strstr(out, "rooms in use: 1\n") != NULL, "st-1.5 one room in use");
	snprintf(want, sizeof want, "compliance backlog: %ld events waiting", waiting);
	CHECK(waiting >= 1 && strstr(out, want) != NULL, "st-1.6 the backlog is the store's count of waiting events");
	CHECK(strstr(out, "last export: none yet") != NULL, "st-1.7 no export has run yet");
	CHECK(strstr(out, "store: ") != NULL && strstr(out, "bytes free on its file system") != NULL,
	      "st-1.8 store size and free space");
	CHECK(strstr(out, "days left") != NULL, "st-1.9 certificate days left");
	if (check_failed)
		printf("%s", out);

	/* st-2: the metrics */
	rc = status_of(&srv, out, sizeof out, "--metrics");
	CHECK(rc == 0, "st-2.1 status --metrics exits 0");
	rc = expo_parse(out, &e);
	CHECK(rc == 0, "st-2.2 the metrics parse as Prometheus text, every metric with HELP and TYPE");
	if (rc != 0)
		printf("parse error: %s\n%s", e.error, out);
	CHECK(expo_value(&e, "pchat_up", NULL) == 1, "st-2.3 pchat_up 1");
	CHECK(expo_value(&e, "pchat_connections", "state=\"signed_in\"") == 2 &&
	      expo_value(&e, "pchat_connections", "state=\"anonymous\"") == 1, "st-2.4 pchat_connections by state");
	CHECK(expo_value(&e, "pchat_users_signed_in", NULL) == 1, "st-2.5 pchat_users_signed_in 1");
	CHECK(expo_value(&e, "pchat_rooms_in_use", NULL) == 1, "st-2.6 pchat_rooms_in_use 1");
	CHECK(expo_value(&e, "pchat_compliance_events_waiting", NULL) == (double)waiting,
	      "st-2.7 pchat_compliance_events_waiting = the store's count");
	CHECK(expo_value(&e, "pchat_compliance_oldest_event_age_seconds", NULL) >= 0 &&
	      expo_value(&e, "pchat_compliance_oldest_event_age_seconds", NULL) < 120, "st-2.8 oldest event age in seconds");
	CHECK(stat(srv.dir, &sb) == 0 && expo_value(&e, "pchat_store_bytes", NULL) > 0 &&
	      expo_value(&e, "pchat_store_free_bytes", NULL) > 0, "st-2.9 store bytes and free bytes");
	cert_t = cert_not_after(srv.dir[0] ? strcat(strcpy(want, srv.dir), "/pchat.crt") : "");
	CHECK(cert_t > wall_now() && expo_value(&e, "pchat_certificate_expiry_timestamp_seconds", NULL) == (double)cert_t,
	      "st-2.10 certificate expiry = the certificate's not-after");
	CHECK(expo_value(&e, "pchat_uptime_seconds", NULL) >= 0 && expo_value(&e, "pchat_uptime_seconds", NULL) < 600,
	      "st-2.11 uptime in seconds");
	tserver_cli(&srv, NULL, want, sizeof want, "--version", NULL);
	want[strcspn(want, "\n")] = '\0';
	{
		char label[120];

		const char *v = strchr(want, ' ') ? strchr(want, ' ') + 1 : "?";

		/* "pchat 0.2.0 (store schema v6)": the version is the second word. */
		snprintf(label, sizeof label, "version=\"%.*s\"", (int)strcspn(v, " "), v);
		CHECK(expo_value(&e, "pchat_build_info", label) == 1, "st-2.12 pchat_build_info{version=...} 1, the --version");
	}
	CHECK(expo_value(&e, "pchat_compliance_last_export_success", NULL) == -1e300,
	      "st-2.13 no last-export sample before any export");

	/* st-3: HTTP for curl --unix-socket */
	{
		static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n";
		char *body;

		ask_raw(sock_path(&srv), req, sizeof req - 1, out, sizeof out);
		body = strstr(out, "\r\n\r\n");
		CHECK(strncmp(out, "HTTP/1.0 200 OK\r\n", 17) == 0 && strstr(out, "text/plain; version=0.0.4") && body &&
		      expo_parse(body + 4, &e) == 0 && expo_value(&e, "pchat_rooms_in_use", NULL) == 1,
		      "st-3.1 GET /metrics is answered over HTTP with the metrics");
		ask_raw(sock_path(&srv), "GET / HTTP/1.0\r\n\r\n", 18, out, sizeof out);
		CHECK(strncmp(out, "HTTP/1.0 404", 12) == 0, "st-3.2 another HTTP path: 404");
	}

	/* st-4: after an export the backlog is gone and the export is known */
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "export", "--now", NULL) == 0, "st-4.1 pchat export --now");
	rc = status_of(&srv, out, sizeof out, NULL);
	CHECK(rc == 0 && strstr(out, "compliance backlog: 0 events waiting") && strstr(out, "last export: ok at "),
	      "st-4.2 status: nothing waits, the last export ok");
	status_of(&srv, out, sizeof out, "--metrics");
	CHECK(expo_parse(out, &e) == 0 && expo_value(&e, "pchat_compliance_events_waiting", NULL) == 0 &&
	      expo_value(&e, "pchat_compliance_last_export_success", NULL) == 1 &&
	      expo_value(&e, "pchat_compliance_last_export_timestamp_seconds", NULL) > wall_now() - 120 &&
	      expo_value(&e, "pchat_compliance_last_export_timestamp_seconds", NULL) <= wall_now(),
	      "st-4.3 metrics: 0 waiting, last export success 1 with its time");

	/* st-5: the socket is for the server's user and group only */
	CHECK(lstat(sock_path(&srv), &sb) == 0 && S_ISSOCK(sb.st_mode) && (sb.st_mode & 07777) == 0660,
	      "st-5.1 the control socket is a socket with mode 0660");
	CHECK(sb.st_uid == geteuid() && sb.st_gid == getegid(), "st-5.2 owned by the server's user and group");
	chmod(srv.dir, 0711);       /* the folder lets others through: only the socket's mode stops them */
	CHECK(other_uid_refused(sock_path(&srv)), "st-5.3 another uid (65534) cannot connect");
	chmod(srv.dir, 0700);

	(void)alice;
	(void)alice2;
	(void)anon;
}

static void test_hostile(void)
{
	static char out[8192], big[5000];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[CONTROL_TEST_SLOTS + 2], busy = 0;
	long t0;

	ask_raw(sock_path(&srv), "\x01\x02garbage \xff\n", 12, out, sizeof out);
	CHECK(strncmp(out, "error: unknown request", 22) == 0, "st-6.1 garbage is answered with an error");
	memset(big, 'A', sizeof big);
	ask_raw(sock_path(&srv), big, sizeof big, out, sizeof out);
	CHECK(strncmp(out, "error: request too long", 23) == 0, "st-6.2 an oversized request is answered with an error");
	ask_raw(sock_path(&srv), "statusX\n", 8, out, sizeof out);
	CHECK(strncmp(out, "error:", 6) == 0, "st-6.3 a near-miss request is refused");

	/* A silent client is closed at the deadline, not waited for. */
	t0 = tchat_now_ms();
	CHECK(ask_raw(sock_path(&srv), "", 0, out, sizeof out) == 0 && tchat_now_ms() - t0 >= 1500 &&
	      tchat_now_ms() - t0 < 4500, "st-6.4 a silent client is closed at the deadline (2 s)");

	/* More clients than the control serves at once: the surplus is told busy. */
	set_sun(&sa, sock_path(&srv));
	for (int i = 0; i < CONTROL_TEST_SLOTS + 2; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0) {
			close(fds[i]);
			fds[i] = -1;
		}
		usleep(20000);
	}
	for (int i = 0; i < CONTROL_TEST_SLOTS + 2; i++) {
		struct timeval tv = { 0, 300000 };
		char b[64] = "";

		if (fds[i] < 0)
			continue;
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (recv(fds[i], b, sizeof b - 1, 0) > 0 && !strncmp(b, "error: busy", 11))
			busy++;
	}
	CHECK(busy == 2, "st-6.5 connections over the cap of 4 are answered busy");
	for (int i = 0; i < CONTROL_TEST_SLOTS + 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	CHECK(tserver_running(&srv) && status_of(&srv, out, sizeof out, NULL) == 0 && strstr(out, "rooms in use: 1"),
	      "st-6.6 the server is still up and answers status");
	{
		struct tuser bob = { .name = "bob" };

		CHECK(tchat_sign_in(&bob) == 0, "st-6.7 and still signs users in");
		tchat_sign_out(&bob);
	}
}

static void test_stopped(struct tuser *alice)
{
	static char out[8192];
	char path[600], want[600];
	long waiting;
	int rc;

	CHECK(tchat_post(alice, g_room, "one more for the backlog") == 200, "st-7.0 alice posts (an event waits)");
	tchat_sign_out(alice);
	CHECK(tserver_stop(&srv) == 0, "st-7.1 clean stop");
	CHECK(!file_exists(sock_path(&srv)), "st-7.2 a clean stop removes the socket");
	waiting = tchat_sql_count("SELECT count(*) FROM compliance_events");
	rc = status_of(&srv, out, sizeof out, NULL);
	CHECK(rc == 3, "st-7.3 status exits 3 when the server is not running");
	CHECK(strstr(out, "not running") != NULL, "st-7.4 and says it is not running");
	snprintf(want, sizeof want, "compliance backlog: %ld event%s waiting", waiting, waiting == 1 ? "" : "s");
	CHECK(waiting >= 1 && strstr(out, want) != NULL, "st-7.5 the backlog is read from the store");
	snprintf(path, sizeof path, "%s/pchat.db-shm", srv.dir);
	CHECK(!file_exists(path), "st-7.6 reading the stopped store leaves no -shm file");
	rc = status_of(&srv, out, sizeof out, "--metrics");
	{
		struct exposition e;

		CHECK(rc == 3 && expo_parse(out, &e) == 0 && expo_value(&e, "pchat_up", NULL) == 0 &&
		      expo_value(&e, "pchat_compliance_events_waiting", NULL) == (double)waiting &&
		      expo_value(&e, "pchat_rooms_in_use", NULL) == -1e300,
		      "st-7.7 --metrics when stopped: pchat_up 0, the backlog, no live numbers, exit 3");
	}

	/* No store: nothing is created. */
	snprintf(path, sizeof path, "%s/pchat.db", srv.dir);
	snprintf(want, sizeof want, "%s/moved.db", srv.dir);
	rename(path, want);
	rc = status_of(&srv, out, sizeof out, NULL);
	CHECK(rc == 3 && strstr(out, "store: none at") != NULL && !file_exists(path),
	      "st-7.8 without a store: exit 3, \"none\", and no store is created");
	rename(want, path);

	/* st-8: a stale socket (a crash) is replaced at start */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		set_sun(&sa, sock_path(&srv));
		CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "st-8.0 a stale socket file is left");
		close(fd);
	}
	CHECK(tserver_restart(&srv) == 0, "st-8.1 the server starts over a stale socket");
	CHECK(tserver_log_has(&srv, "event=control-stale"), "st-8.2 and logs that it replaced it");
	if (!CHECK(status_of(&srv, out, sizeof out, NULL) == 0 && strstr(out, "running"), "st-8.3 status answers again")) {
		char cmd[600];

		printf("%s", out);
		snprintf(cmd, sizeof cmd, "tail -20 %s", srv.log);
		fflush(stdout);
		if (system(cmd) != 0)
			printf("(no log)\n");
	}
	CHECK(tserver_stop(&srv) == 0, "st-8.4 clean stop");

	/* A file that is not a socket is never removed: the server refuses. */
	{
		FILE *f = fopen(sock_path(&srv), "w");

		if (f)
			fclose(f);
	}
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "check", NULL) == 1 && strstr(out, "control_socket: ERROR") &&
	      strstr(out, "is not a socket"), "st-8.5 pchat check: a regular file at control_socket is an error");
	CHECK(tserver_restart(&srv) != 0 && file_exists(sock_path(&srv)), "st-8.6 a regular file there: no start, file kept");
	tserver_stop(&srv);
	unlink(sock_path(&srv));
}

/* st-9: a failing export shows in status and the metrics. */
static void test_export_failure(void)
{
	static char out[8192];
	struct tuser bob = { .name = "bob" };
	char dir[400], moved[420];
	struct exposition e;
	long deadline;
	int rc, moved_it;

	if (!CHECK(tserver_start(&srv2, srv.bin, "[compliance]\nrun_interval = 1\n") == 0, "st-9.0 second server starts"))
		return;
	tchat_use(&srv2);
	add_users(&srv2);
	snprintf(dir, sizeof dir, "%s/compliance", srv2.dir);
	snprintf(moved, sizeof moved, "%s/compliance.away", srv2.dir);
	moved_it = rename(dir, moved) == 0;     /* the folder is made at the first export */
	CHECK(fclose(fopen(dir, "w")) == 0, "st-9.1 the export folder becomes a file");
	CHECK(tchat_sign_in(&bob) == 0, "st-9.2 bob signs in (events to export)");
	deadline = tchat_now_ms() + 8000;
	while (!tserver_log_has(&srv2, "event=export-failed") && tchat_now_ms() < deadline)
		usleep(100000);
	rc = status_of(&srv2, out, sizeof out, NULL);
	CHECK(rc == 0 && strstr(out, "last export: FAILED at ") != NULL, "st-9.3 status: the last export failed, with why");
	status_of(&srv2, out, sizeof out, "--metrics");
	CHECK(expo_parse(out, &e) == 0 && expo_value(&e, "pchat_compliance_last_export_success", NULL) == 0,
	      "st-9.4 pchat_compliance_last_export_success 0");
	unlink(dir);
	if (moved_it)
		rename(moved, dir);
	deadline = tchat_now_ms() + 8000;
	do {
		usleep(200000);
		status_of(&srv2, out, sizeof out, "--metrics");
	} while (!(expo_parse(out, &e) == 0 && expo_value(&e, "pchat_compliance_last_export_success", NULL) == 1) &&
	         tchat_now_ms() < deadline);
	CHECK(expo_value(&e, "pchat_compliance_last_export_success", NULL) == 1 &&
	      expo_value(&e, "pchat_compliance_events_waiting", NULL) == 0, "st-9.5 once the folder is back: success 1, 0 waiting");
	tchat_sign_out(&bob);
	CHECK(tserver_stop(&srv2) == 0, "st-9.6 clean stop");
	tserver_cleanup(&srv2);
	tchat_use(&srv);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, alice2 = { .name = "alice" };
	static struct tclient anon;
	char out[256];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	/* The worker would export before the checks look: an hour apart. */
	if (!CHECK(tserver_start(&srv, bin, "[compliance]\nrun_interval = 3600\n") == 0, "st-0.0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_status");
	}
	add_users(&srv);
	tchat_guid_of(tchat_cli("room", "add", "Ops Room", "--privacy", "open", NULL), g_room);
	CHECK(strlen(g_room) == 36, "st-0.1 a room");
	CHECK(tchat_sign_in(&alice) == 0 && tchat_join(&alice, g_room) == 200, "st-0.2 alice signs in and joins");
	CHECK(tchat_post(&alice, g_room, "hello") == 200, "st-0.3 alice posts");
	CHECK(tchat_sign_in(&alice2) == 0, "st-0.4 alice signs in a second time (another device)");
	CHECK(tclient_connect(&anon, srv.port) == 0, "st-0.5 an anonymous TLS connection");
	(void)out;
	test_running(&alice, &alice2, &anon);
	test_hostile();
	tclient_close(&anon);
	tchat_sign_out(&alice2);
	test_stopped(&alice);
	test_export_failure();
	tserver_cleanup(&srv);
	return check_done("e2e_status");
}
