/*
 * control.c - the local control socket (status and Prometheus metrics) and
 * `pchat status` (control.h).
 *
 * The numbers are gathered into one struct control_stats, by the server
 * from its live objects or by `pchat status` from the files when no server
 * answers, and written out by one formatter per output, so the report, the
 * metrics and the stopped-server report cannot drift apart.
 */
#include "control.h"

#include "buf.h"
#include "compliance.h"
#include "log.h"
#include "net.h"
#include "sip_server.h"
#include "store.h"
#include "xccos.h"

#include <mbedtls/x509_crt.h>
#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_ANSWER_MAX (64u << 10)
#define CONTROL_CLI_TIMEOUT_MS 5000

/* ---- the numbers ------------------------------------------------------------------------ */

struct control_stats {
	int running;
	const char *version;
	/* live only (running) */
	size_t conns_signed_in, conns_anonymous;
	long users_signed_in;           /* -1 unknown */
	size_t rooms_in_use;
	int64_t uptime_s;
	/* the store */
	int have_backlog;
	int64_t events_waiting, oldest_event_us;
	int have_export;                /* a last export result is known */
	int export_ok;
	int64_t export_us;
	char export_why[200];
	const char *export_source;      /* "worker" or "store" */
	int have_store;
	int64_t store_bytes;
	int have_free;
	int64_t store_free_bytes;
	/* the certificate file */
	int have_cert;
	int64_t cert_not_after;         /* UTC seconds */
	char cert_why[160];
};

static int64_t wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void format_utc(int64_t seconds, char *out, size_t outlen)
{
	time_t t = (time_t)seconds;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)seconds);
}

/* The store's size (main file and write-ahead log) and the space left on
 * its file system. */
static void stats_store_files(const struct config *cfg, struct control_stats *k)
{
	char wal[PATH_MAX + 8], dir[PATH_MAX];
	struct stat sb;
	struct statvfs vfs;
	char *slash;

	if (stat(cfg->store_path, &sb) == 0) {
		k->have_store = 1;
		k->store_bytes = (int64_t)sb.st_size;
		snprintf(wal, sizeof wal, "%s-wal", cfg->store_path);
		if (stat(wal, &sb) == 0)
			k->store_bytes += (int64_t)sb.st_size;
	}
	snprintf(dir, sizeof dir, "%s", cfg->store_path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if (statvfs(dir, &vfs) == 0) {
		k->have_free = 1;
		k->store_free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	}
}

static void stats_cert(const struct config *cfg, struct control_stats *k)
{
	mbedtls_x509_crt crt;
	struct tm tm;
	int rc;

	mbedtls_x509_crt_init(&crt);
	rc = mbedtls_x509_crt_parse_file(&crt, cfg->cert);
	if (rc != 0) {
		snprintf(k->cert_why, sizeof k->cert_why, "%s",
		         access(cfg->cert, F_OK) < 0 ? strerror(errno) : "not a PEM certificate");
	} else {
		memset(&tm, 0, sizeof tm);
		tm.tm_year = crt.valid_to.year - 1900;
		tm.tm_mon = crt.valid_to.mon - 1;
		tm.tm_mday = crt.valid_to.day;
		tm.tm_hour = crt.valid_to.hour;
		tm.tm_min = crt.valid_to.min;
		tm.tm_sec = crt.valid_to.sec;
		k->cert_not_after = (int64_t)timegm(&tm);
		k->have_cert = 1;
	}
	mbedtls_x509_crt_free(&crt);
}

/* ---- output: the report and the metrics ------------------------------------------------- */

static void status_text(const struct control_stats *k, const struct config *cfg, struct buf *o)
{
	char when[48];
	int64_t now = wall_seconds();

	if (k->running) {
		buf_printf(o, "pchat %s: running, up %lld s\n", k->version, (long long)k->uptime_s);
		buf_printf(o, "connections: %zu (%zu signed in, %zu anonymous)\n", k->conns_signed_in + k->conns_anonymous,
		           k->conns_signed_in, k->conns_anonymous);
		if (k->users_signed_in >= 0)
			buf_printf(o, "users signed in: %ld\n", k->users_signed_in);
		buf_printf(o, "rooms in use: %zu\n", k->rooms_in_use);
	}
	if (k->have_backlog)
		buf_printf(o, "compliance backlog: %lld event%s waiting, the oldest %lld s old (run_interval %llu s)%s\n",
		           (long long)k->events_waiting, k->events_waiting == 1 ? "" : "s",
		           (long long)(k->events_waiting ? now - k->oldest_event_us / 1000000 : 0),
		           (unsigned long long)cfg->run_interval, cfg->compliance_enabled ? "" : ", export disabled");
	else
		buf_printf(o, "compliance backlog: unknown (the store cannot be read)\n");
	if (k->have_export) {
		format_utc(k->export_us / 1000000, when, sizeof when);
		if (k->export_ok)
			buf_printf(o, "last export: ok at %s%s\n", when,
			           strcmp(k->export_source, "store") == 0 ? " (the newest batch in the store)" : "");
		else
			buf_printf(o, "last export: FAILED at %s: %s\n", when, k->export_why);
	} else {
		buf_printf(o, "last export: none yet\n");
	}
	if (k->have_store)
		buf_printf(o, "store: %s, %lld bytes", cfg->store_path, (long long)k->store_bytes);
	else
		buf_printf(o, "store: none at %s", cfg->store_path);
	if (k->have_free)
		buf_printf(o, ", %lld bytes free on its file system\n", (long long)k->store_free_bytes);
	else
		buf_printf(o, "\n");
	if (k->have_cert) {
		format_utc(k->cert_not_after, when, sizeof when);
		buf_printf(o, "certificate: %s expires %s, %lld days left\n", cfg->cert, when,
		           (long long)((k->cert_not_after - now) / 86400));
	} else {
		buf_printf(o, "certificate: %s unreadable (%s)\n", cfg->cert, k->cert_why);
	}
}

static void metric_head(struct buf *o, const char *name, const char *help)
{
	buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* A label value: backslash, double quote and newline escaped (format 0.0.4). */
static void metric_label(struct buf *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(o, "\\%c", *v);
		else if (*v == '\n')
			buf_appends(o, "\\n");
		else
			buf_append(o, v, 1);
	}
}

static void metrics_text(const struct control_stats *k, struct buf *o)
{
	int64_t now = wall_seconds();

	metric_head(o, "pchat_up", "1 when the server answered on its control socket, 0 when it is not running.");
	buf_printf(o, "pchat_up %d\n", k->running);
	if (k->running) {
		metric_head(o, "pchat_connections", "Open client connections (SIP and files) by state.");
		buf_printf(o, "pchat_connections{state=\"signed_in\"} %zu\n", k->conns_signed_in);
		buf_printf(o, "pchat_connections{state=\"anonymous\"} %zu\n", k->conns_anonymous);
		if (k->users_signed_in >= 0) {
			metric_head(o, "pchat_users_signed_in", "Distinct users signed in over SIP.");
			buf_printf(o, "pchat_users_signed_in %ld\n", k->users_signed_in);
		}
		metric_head(o, "pchat_rooms_in_use", "Rooms at least one client has joined.");
		buf_printf(o, "pchat_rooms_in_use %zu\n", k->rooms_in_use);
		metric_head(o, "pchat_uptime_seconds", "Seconds since the server became ready.");
		buf_printf(o, "pchat_uptime_seconds %lld\n", (long long)k->uptime_s);
	}
	if (k->have_backlog) {
		metric_head(o, "pchat_compliance_events_waiting", "Compliance events waiting for export.");
		buf_printf(o, "pchat_compliance_events_waiting %lld\n", (long long)k->events_waiting);
		metric_head(o, "pchat_compliance_oldest_event_age_seconds",
		            "Age of the oldest event waiting for export (0 when none waits).");
		buf_printf(o, "pchat_compliance_oldest_event_age_seconds %lld\n",
		           (long long)(k->events_waiting ? now - k->oldest_event_us / 1000000 : 0));
	}
	if (k->have_export) {
		metric_head(o, "pchat_compliance_last_export_success", "1 when the last export run succeeded, else 0.");
		buf_printf(o, "pchat_compliance_last_export_success %d\n", k->export_ok);
		metric_head(o, "pchat_compliance_last_export_timestamp_seconds", "When the last export run ended (Unix time).");
		buf_printf(o, "pchat_compliance_last_export_timestamp_seconds %lld\n", (long long)(k->export_us / 1000000));
	}
	if (k->have_store) {
		metric_head(o, "pchat_store_bytes", "Size of the store file and its write-ahead log.");
		buf_printf(o, "pchat_store_bytes %lld\n", (long long)k->store_bytes);
	}
	if (k->have_free) {
		metric_head(o, "pchat_store_free_bytes", "Bytes available on the store's file system.");
		buf_printf(o, "pchat_store_free_bytes %lld\n", (long long)k->store_free_bytes);
	}
	if (k->have_cert) {
		metric_head(o, "pchat_certificate_expiry_timestamp_seconds", "When the certificate file expires (Unix time).");
		buf_printf(o, "pchat_certificate_expiry_timestamp_seconds %lld\n", (long long)k->cert_not_after);
	}
	metric_head(o, "pchat_build_info", "The version of pchat, as a label.");
	buf_appends(o, "pchat_build_info{version=\"");
	metric_label(o, k->version);
	buf_appends(o, "\"} 1\n");
}

/* ---- the server side -------------------------------------------------------------------- */

struct control_client {
	struct control *ctl;
	int fd;
	int64_t timer;
	char in[CONTROL_REQUEST_MAX];
	size_t inlen;
	struct buf out;
	int answering;          /* out holds the whole answer; input is no longer read */
};

struct control {
	struct loop *loop;
	struct control_sources src;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;              /* the socket file we made: only it is removed */
	ino_t ino;
	int64_t ready_ms;
	struct control_client *clients[CONTROL_MAX_CLIENTS];
};

static void stats_live(const struct control *c, struct control_stats *k)
{
	const struct control_sources *s = &c->src;
	struct store_batch b;

	memset(k, 0, sizeof *k);
	k->running = 1;
	k->version = s->version;
	net_conn_census(s->net, &k->conns_signed_in, &k->conns_anonymous);
	k->users_signed_in = sip_server_users_signed_in(s->sip);
	k->rooms_in_use = xccos_rooms_in_use(s->chat);
	k->uptime_s = (loop_clock_ms() - c->ready_ms) / 1000;
	k->have_backlog = store_event_backlog(s->store, &k->events_waiting, &k->oldest_event_us) == STORE_OK;
	if (compliance_last_result(s->compliance, &k->export_us, &k->export_ok, k->export_why, sizeof k->export_why)) {
		k->have_export = 1;
		k->export_source = "worker";
	} else if (store_batch_last(s->store, &b) == STORE_OK) {
		k->have_export = 1;
		k->export_ok = 1;
		k->export_us = b.exported_us;
		k->export_source = "store";
	}
	stats_store_files(s->cfg, k);
	stats_cert(s->cfg, k);
}

static void client_close(struct control_client *cl)
{
	struct control *c = cl->ctl;
	char drain[512];

	/* Unread input would turn the peer's end of file into a reset. */
	for (int i = 0; i < 128 && read(cl->fd, drain, sizeof drain) > 0; i++)
		;
	loop_unwatch(c->loop, cl->fd);
	close(cl->fd);
	if (cl->timer > 0)
		loop_del_timer(c->loop, cl->timer);
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	buf_free(&cl->out);
	free(cl);
}

static void client_on_event(struct loop *l, int fd, unsigned events, void *arg);

/* Write what the socket takes; close once all of it is out. */
static void client_flush(struct control_client *cl)
{
	while (cl->out.len > 0) {
		ssize_t n = write(cl->fd, buf_head(&cl->out), cl->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (loop_watch(cl->ctl->loop, cl->fd, LOOP_WRITE, client_on_event, cl) < 0)
				client_close(cl);
			return;
		}
		if (n <= 0) {
			client_close(cl);
			return;
		}
		buf_consume(&cl->out, (size_t)n);
	}
	client_close(cl);
}

/* 1 when the request in cl->in is complete: a line, or an HTTP request's
 * head. */
static int request_complete(const struct control_client *cl)
{
	if (cl->inlen >= 4 && memcmp(cl->in, "GET ", 4) == 0)
		return memmem(cl->in, cl->inlen, "\r\n\r\n", 4) != NULL || memmem(cl->in, cl->inlen, "\n\n", 2) != NULL;
	return memchr(cl->in, '\n', cl->inlen) != NULL;
}

/* Check, act, answer: the request's first line decides. */
static void client_answer(struct control_client *cl, int too_long)
{
	struct control *c = cl->ctl;
	struct control_stats k;
	struct buf body;
	size_t n = 0;
	int http;

	while (n < cl->inlen && cl->in[n] != '\n' && cl->in[n] != '\r')
		n++;
	http = n >= 4 && memcmp(cl->in, "GET ", 4) == 0;
	cl->answering = 1;
	loop_unwatch(c->loop, cl->fd);
	buf_init(&body, CONTROL_ANSWER_MAX);
	if (too_long) {
		log_info("event=control-refused reason=\"request over %u bytes\"", (unsigned)CONTROL_REQUEST_MAX);
		buf_printf(&cl->out, "error: request too long (at most %u bytes)\n", (unsigned)CONTROL_REQUEST_MAX);
	} else if (http) {
		int metrics = n >= 12 && memcmp(cl->in, "GET /metrics", 12) == 0 && (n == 12 || cl->in[12] == ' ');

		if (metrics) {
			stats_live(c, &k);
			metrics_text(&k, &body);
		} else {
			buf_appends(&body, "error: not found (GET /metrics)\n");
		}
		buf_printf(&cl->out, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		           "Content-Length: %zu\r\nConnection: close\r\n\r\n", metrics ? "200 OK" : "404 Not Found", body.len);
		buf_append(&cl->out, buf_head(&body), body.len);
	} else if (n == 6 && memcmp(cl->in, "status", 6) == 0) {
		stats_live(c, &k);
		status_text(&k, c->src.cfg, &cl->out);
	} else if (n == 7 && memcmp(cl->in, "metrics", 7) == 0) {
		stats_live(c, &k);
		metrics_text(&k, &cl->out);
	} else {
		log_info("event=control-refused reason=\"unknown request\"");
		buf_appends(&cl->out, "error: unknown request (send \"status\" or \"metrics\", one line)\n");
	}
	buf_free(&body);
	if (cl->out.len == 0)   /* out of memory: the client sees the close */
		buf_appends(&cl->out, "error: out of memory\n");
	client_flush(cl);
}

static void client_on_event(struct loop *l, int fd, unsigned events, void *arg)
{
	struct control_client *cl = arg;
	ssize_t n;

	(void)l;
	(void)fd;
	(void)events;
	if (cl->answering) {
		client_flush(cl);
		return;
	}
	for (;;) {
		n = read(cl->fd, cl->in + cl->inlen, sizeof cl->in - cl->inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 || (n == 0 && cl->inlen == 0)) {
			client_close(cl);
			return;
		}
		if (n == 0) {                   /* end of input: what came is the request */
			client_answer(cl, 0);
			return;
		}
		cl->inlen += (size_t)n;
		if (request_complete(cl)) {
			client_answer(cl, 0);
			return;
		}
		if (cl->inlen == sizeof cl->in) {
			client_answer(cl, 1);
			return;
		}
	}
}

static int64_t client_deadline(struct loop *l, void *arg)
{
	struct control_client *cl = arg;

	(void)l;
	cl->timer = 0;          /* this timer ends with this call */
	log_info("event=control-timeout after_ms=%d", CONTROL_DEADLINE_MS);
	client_close(cl);
	return LOOP_NOMORE;
}

static void control_on_accept(struct loop *l, int fd, unsigned events, void *arg)
{
	struct control *c = arg;

	(void)events;
	for (int round = 0; round < 16; round++) {
		struct control_client *cl;
		size_t slot = CONTROL_MAX_CLIENTS;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;         /* EAGAIN, or an error the next wake-up sees again */
		for (size_t i = 0; i < CONTROL_MAX_CLIENTS && slot == CONTROL_MAX_CLIENTS; i++)
			if (c->clients[i] == NULL)
				slot = i;
		cl = slot < CONTROL_MAX_CLIENTS ? calloc(1, sizeof *cl) : NULL;
		if (cl == NULL) {
			static const char busy[] = "error: busy, try again\n";

			if (write(cfd, busy, sizeof busy - 1) < 0)
				log_debug("event=control-busy reason=\"%s\"", strerror(errno));
			close(cfd);
			continue;
		}
		cl->ctl = c;
		cl->fd = cfd;
		buf_init(&cl->out, CONTROL_ANSWER_MAX);
		cl->timer = loop_add_timer(l, CONTROL_DEADLINE_MS, client_deadline, cl);
		if (cl->timer < 0 || loop_watch(l, cfd, LOOP_READ, client_on_event, cl) < 0) {
			if (cl->timer > 0)
				loop_del_timer(l, cl->timer);
			close(cfd);
			buf_free(&cl->out);
			free(cl);
			continue;
		}
		c->clients[slot] = cl;
	}
}

/* 1 when a server answers on path (connect succeeds). */
static int socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), alive;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return alive;
}

int control_check(const struct config *cfg, char *msg, size_t msglen, const char **fix)
{
	const char *path = cfg->control_socket;
	struct stat sb;

	*fix = "";
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(msg, msglen, "%s is longer than a UNIX socket path may be (%zu bytes): the server will not start",
		         path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		*fix = "set [server] control_socket to a shorter path, e.g. in the store's folder";
		return -1;
	}
	if (lstat(path, &sb) < 0) {
		snprintf(msg, msglen, "%s (made when the server starts)", path);
		return 0;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(msg, msglen, "%s exists and is not a socket: the server will not start", path);
		*fix = "move the file away, or set [server] control_socket to another path";
		return -1;
	}
	snprintf(msg, msglen, "%s (%s)", path,
	         socket_alive(path) ? "a server answers on it: pchat status" : "left by a server that stopped: replaced at start");
	return 0;
}

struct control *control_new(struct loop *l, const struct control_sources *src, char *err, size_t errlen)
{
	struct control *c;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = src->cfg->control_socket;
	struct stat sb;
	mode_t old_mask;
	int rc;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "[server] control_socket %s: path too long for a UNIX socket (at most %zu bytes)", path,
		         sizeof sa.sun_path - 1);
		return NULL;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "[server] control_socket %s exists and is not a socket: move it away or set another path",
			         path);
			return NULL;
		}
		if (socket_alive(path)) {
			snprintf(err, errlen, "[server] control_socket %s: another server answers on it (stop it first)", path);
			return NULL;
		}
		log_warn("event=control-stale path=%s action=\"replaced the socket a stopped server left\"", path);
		unlink(path);
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = l;
	c->src = *src;
	snprintf(c->path, sizeof c->path, "%s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	/* Born 0660: no moment where another user could connect. */
	old_mask = umask(0117);
	rc = bind(c->fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old_mask);
	if (rc < 0 || chmod(path, 0660) < 0 || stat(path, &sb) < 0 || listen(c->fd, 8) < 0 ||
	    loop_watch(l, c->fd, LOOP_READ, control_on_accept, c) < 0) {
		snprintf(err, errlen, "[server] control_socket %s: %s", path, strerror(errno));
		if (rc == 0)
			unlink(path);
		close(c->fd);
		free(c);
		return NULL;
	}
	c->dev = sb.st_dev;
	c->ino = sb.st_ino;
	c->ready_ms = loop_clock_ms();
	log_info("event=control-listen path=%s mode=0660", path);
	return c;
}

void control_free(struct control *c)
{
	struct stat sb;

	if (c == NULL)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] != NULL)
			client_close(c->clients[i]);
	loop_unwatch(c->loop, c->fd);
	close(c->fd);
	/* Only our own socket: a server started since may own the path now. */
	if (stat(c->path, &sb) == 0 && sb.st_dev == c->dev && sb.st_ino == c->ino)
		unlink(c->path);
	free(c);
}

/* ---- pchat status ----------------------------------------------------------------------- */

/* The store as a read-only SQLite URI.  Unless both its -wal and -shm
 * files exist (a server stopped without closing it), it is opened immutable,
 * so reading it creates no -shm or -wal file (one made by root would stop
 * the service). */
static int store_uri(const char *path, char *out, size_t outlen)
{
	char wal[PATH_MAX + 8], shm[PATH_MAX + 8];
	size_t n = 0;
	int immutable;

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	immutable = access(wal, F_OK) < 0 || access(shm, F_OK) < 0;
	n = (size_t)snprintf(out, outlen, "file:");
	for (const char *p = path; *p; p++) {
		if (n + 4 >= outlen)
			return -1;
		n += (size_t)(*p == '%' || *p == '?' || *p == '#'
		              ? snprintf(out + n, outlen - n, "%%%02X", (unsigned char)*p)
		              : snprintf(out + n, outlen - n, "%c", *p));
	}
	return snprintf(out + n, outlen - n, "?%s", immutable ? "immutable=1" : "mode=ro") < (int)(outlen - n) ? 0 : -1;
}

/* What the files say when no server runs; the store is opened read-only
 * and only when it exists. */
static void stats_offline(const struct config *cfg, const char *version, struct control_stats *k)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char uri[3 * PATH_MAX + 32];

	memset(k, 0, sizeof *k);
	k->version = version;
	k->users_signed_in = -1;
	stats_store_files(cfg, k);
	stats_cert(cfg, k);
	if (!k->have_store || store_uri(cfg->store_path, uri, sizeof uri) < 0 ||
	    sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(min(ts_us), 0) FROM compliance_events", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		k->have_backlog = 1;
		k->events_waiting = sqlite3_column_int64(s, 0);
		k->oldest_event_us = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(exported_us, 0) FROM compliance_batches WHERE sha256 IS NOT NULL"
	                       " ORDER BY number DESC LIMIT 1", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		k->have_export = 1;
		k->export_ok = 1;
		k->export_us = sqlite3_column_int64(s, 0);
		k->export_source = "store";
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* Ask the server; the answer into out.  Returns 0, 1 when no server
 * answers (why in err), -1 on another failure (err). */
static int status_ask(const char *path, const char *request, struct buf *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	size_t len = strlen(request);
	int fd, rc = -1;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "%s: path too long for a UNIX socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;

		snprintf(err, errlen, "nothing answers on %s: %s", path, strerror(e));
		if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "%s: %s (run as root or as the service user, or add yourself to its group)", path,
			         strerror(e));
		close(fd);
		return e == ENOENT || e == ECONNREFUSED ? 1 : -1;
	}
	if (write(fd, request, len) != (ssize_t)len) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		ssize_t n;

		if (poll(&pfd, 1, CONTROL_CLI_TIMEOUT_MS) <= 0) {
			snprintf(err, errlen, "%s: no answer within %d ms", path, CONTROL_CLI_TIMEOUT_MS);
			goto out;
		}
		if (buf_reserve(out, 4096) < 0) {
			snprintf(err, errlen, "answer too long");
			goto out;
		}
		n = read(fd, buf_tail(out), 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET && out->len > 0))
			break;
		if (n < 0) {
			snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		buf_commit(out, (size_t)n);
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int control_cmd_status(const struct config *cfg, const char *version, int argc, char **argv)
{
	struct control_stats k;
	struct buf answer;
	char err[PATH_MAX + 200];
	int metrics = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--metrics") != 0) {
			fprintf(stderr, "pchat: status: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
		metrics = 1;
	}
	buf_init(&answer, CONTROL_ANSWER_MAX + 4096);
	rc = status_ask(cfg->control_socket, metrics ? "metrics\n" : "status\n", &answer, err, sizeof err);
	if (rc == 0) {
		int refused = answer.len >= 6 && memcmp(buf_head(&answer), "error:", 6) == 0;

		fwrite(buf_head(&answer), 1, answer.len, refused ? stderr : stdout);
		buf_free(&answer);
		return refused ? 1 : 0;
	}
	buf_free(&answer);
	if (rc < 0) {
		fprintf(stderr, "pchat: status: %s\n", err);
		return 1;
	}
	/* Not running: what the files tell, and 3 as systemctl status says for
	 * a stopped unit. */
	stats_offline(cfg, version, &k);
	buf_init(&answer, CONTROL_ANSWER_MAX);
	if (metrics) {
		metrics_text(&k, &answer);
	} else {
		buf_printf(&answer, "pchat %s: not running (%s)\n", version, err);
		status_text(&k, cfg, &answer);
	}
	fwrite(buf_head(&answer), 1, answer.len, stdout);
	buf_free(&answer);
	return 3;
}
