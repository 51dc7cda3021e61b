/*
 * pchat.c - main: the command line, start-up and shutdown of the server,
 * and the wiring of the modules around the one event loop.
 *
 * Signals arrive through a signalfd watched by the loop, so the only global
 * state is none: everything hangs off struct server below.
 */
#include "admin.h"
#include "compliance.h"
#include "config.h"
#include "control.h"
#include "files.h"
#include "frontend.h"
#include "web.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "sip_server.h"
#include "store.h"
#include "xccos.h"

#include <libxml/parser.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <grp.h>
#include <netdb.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <pwd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PCHAT_VERSION
#error "PCHAT_VERSION comes from debian/changelog's top entry (Makefile)"
#endif
#define PCHAT_DEFAULT_CONFIG "pchat.ini"

/* The one server context: owns every long-lived object of a running server. */
struct server {
	struct config cfg;
	struct loop *loop;
	struct store *store;
	struct net *net;
	struct sip_server *sip;
	struct xccos *chat;
	struct files *files;        /* NULL with [files] enabled = false */
	struct web *web;            /* room management on the files listener */
	struct compliance *compliance;
	struct control *control;    /* the local status and metrics socket */
	int sigfd;
	int lockfd;                 /* serve_lock's, held until exit */
};

/* One server per store: two would both export and both answer for the
 * same rooms.  An flock on STORE.lock, which holds the owner's pid; the
 * kernel drops it when the process dies, so a crash leaves nothing stale.
 * Returns the descriptor to keep open, or -1 with err naming the owner. */
static int serve_lock(const char *store_path, char *err, size_t errlen)
{
	char path[PATH_MAX + 8], pid[32] = "";
	int fd, n;

	if (snprintf(path, sizeof path, "%s.lock", store_path) >= (int)sizeof path) {
		snprintf(err, errlen, "store path too long");
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "cannot open the lock file: %s", strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "another pchat (pid %s) already serves this store", pid[0] ? pid : "?");
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("event=store-lock reason=\"cannot write the pid: %s\"", strerror(errno));
	return fd;
}

/* Where `pchat` looks for its ini without -c: the packaged one first, then
 * the one in the current folder (a source checkout, `make run`). */
#define PCHAT_INSTALLED_CONFIG "/etc/pchat/pchat.ini"
#define PCHAT_SERVICE_USER "pchat"

/* 1 when cfg is the packaged ini and the service user exists: a packaged
 * install, where the service runs as that user. */
static int installed_config(const struct config *cfg)
{
	char real[PATH_MAX];

	return cfg->file[0] && realpath(cfg->file, real) != NULL && strcmp(real, PCHAT_INSTALLED_CONFIG) == 0 &&
	       getpwnam(PCHAT_SERVICE_USER) != NULL;
}

/* queued_flush: something was queued for c since the last flush, i.e. in
 * this pass; what was queued earlier was committed before it was. */
static void drop_conn(struct conn *c, void *arg)
{
	(void)arg;
	if (c->queued_flush)
		conn_kill(c, "store commit failed: answers of this pass withdrawn");
}

/* Commit what this pass wrote before anything is flushed; if the commit
 * fails, no acknowledgement of it may leave, so every connection with
 * output queued in this pass is dropped (clients reconnect and resend);
 * the others keep their connections. */
static void server_commit(struct server *srv)
{
	if (store_pass_commit(srv->store) != STORE_OK) {
		net_each_conn(srv->net, sip_server_handlers(srv->sip), drop_conn, NULL);
		files_pass_failed(srv->files);
	}
}

/* Before each timed export: the exporter runs its own transactions, so the
 * pass's open one is committed first (with the usual drop on failure). */
static void server_before_sleep(struct loop *l, void *arg)
{
	struct server *srv = arg;

	(void)l;
	net_reap(srv->net);         /* dialogs of dead connections part their rooms */
	server_commit(srv);
	net_flush(srv->net);
	net_reap(srv->net);         /* connections that failed while flushing */
	server_commit(srv);
	net_flush(srv->net);
}

static void server_net_limits(const struct config *cfg, struct net_limits *lim)
{
	lim->max_input_bytes = cfg->max_input_bytes;
	lim->max_output_bytes = cfg->max_output_bytes;
	lim->max_connections = cfg->max_connections;
	lim->max_connections_per_ip = cfg->max_connections_per_ip;
	lim->max_anonymous = cfg->max_anonymous_connections;
	lim->max_anonymous_per_ip = cfg->max_anonymous_per_ip;
	lim->handshake_timeout_ms = (int64_t)cfg->handshake_timeout * 1000;
	lim->signin_timeout_ms = (int64_t)cfg->signin_timeout * 1000;
	lim->idle_timeout_ms = (int64_t)cfg->idle_timeout * 1000;
}

/* One log line per key that differs in the re-read ini; counts[live]++. */
static void reload_report(void *arg, const char *section, const char *name, const char *old,
                          const char *new, int live)
{
	int *counts = arg;

	counts[live ? 1 : 0]++;
	if (live)
		log_info("event=config-applied key=%s.%s old=\"%s\" new=\"%s\"", section, name, old, new);
	else
		log_warn("event=config-needs-restart key=%s.%s old=\"%s\" new=\"%s\" reason=\"needs restart; the running value stays\"",
		         section, name, old, new);
}

/* A reason fit for a quoted log value: double quotes become single ones. */
static const char *log_quote_safe(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '"')
			*p = '\'';
	return s;
}

/* SIGHUP: re-read the ini and the certificate.  All or nothing: a bad ini,
 * a mix that does not validate or a certificate that cannot serve leaves
 * everything as it runs.  Keys that cannot change under running clients are
 * logged as needing a restart (config_apply_live keeps their running value);
 * open connections are never dropped: they keep their TLS config (net.c). */
static void server_reload(struct server *srv)
{
	struct config *next = malloc(sizeof *next), *mix = malloc(sizeof *mix);
	struct net_limits lim;
	char err[800];
	int counts[2] = { 0, 0 };

	log_info("event=reload config=%s", srv->cfg.file[0] ? srv->cfg.file : "(built-in defaults)");
	if (next == NULL || mix == NULL) {
		log_error("event=reload-failed reason=\"out of memory\" action=\"kept the running settings\"");
		goto out;
	}
	if (srv->cfg.file[0] == '\0') {
		*next = srv->cfg;       /* no ini to re-read: the certificate only */
	} else if (config_load(next, srv->cfg.file, err, sizeof err) < 0) {
		log_error("event=reload-failed reason=\"%s\" action=\"kept the running settings and certificate\"",
		          log_quote_safe(err));
		goto out;
	}
	*mix = srv->cfg;
	if (config_apply_live(mix, next, err, sizeof err) < 0 ||
	    net_reload_cert(srv->net, mix->cert, mix->key, err, sizeof err) < 0) {
		log_error("event=reload-failed reason=\"%s\" action=\"kept the running settings and certificate\"",
		          log_quote_safe(err));
		goto out;
	}
	config_each_change(&srv->cfg, next, reload_report, counts);
	srv->cfg = *mix;            /* the modules read srv->cfg in place */
	log_set_level((enum log_level)srv->cfg.log_level_id);
	server_net_limits(&srv->cfg, &lim);
	net_set_limits(srv->net, &lim);
	log_info("event=reloaded applied=%d needs_restart=%d", counts[1], counts[0]);
out:
	free(mix);
	free(next);
}

static void server_on_signal(struct loop *l, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("event=shutdown signal=%s", si.ssi_signo == SIGTERM ? "TERM" : "INT");
			loop_stop(l);
		} else if (si.ssi_signo == SIGHUP) {
			server_reload(arg);
		}
	}
}

static int server_signals(struct server *srv)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sigfd < 0)
		return -1;
	return loop_watch(srv->loop, srv->sigfd, LOOP_READ, server_on_signal, srv);
}

static void server_free(struct server *srv)
{
	control_free(srv->control);     /* removes the socket: `pchat status` says stopped */
	net_free(srv->net);     /* closes connections: dialogs end through sip and chat */
	sip_server_free(srv->sip);
	xccos_free(srv->chat);  /* commits the parts recorded just now */
	files_free(srv->files); /* after net_free: its listener's handlers live in it */
	web_free(srv->web);     /* after net_free: web connections point at it */
	compliance_free(srv->compliance);
	store_close(srv->store);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	if (srv->lockfd >= 0)
		close(srv->lockfd);     /* drops the flock: another server may start */
	loop_free(srv->loop);
	xmlCleanupParser();
}

/* The room-management pages live on the files listener, under
 * /PersistentChat/RM/ as Lync's did: provisioning and getserverinfo name
 * them. */
#define RM_PATH "/PersistentChat/RM/"
static void server_room_management_url(struct server *srv)
{
	char url[CONFIG_STR_MAX + 64];

	if (files_origin(srv->files, url, sizeof url - strlen(RM_PATH)) < 0)
		return;
	strcat(url, RM_PATH);
	sip_server_set_room_management_url(srv->sip, url);
	xccos_set_room_management_url(srv->chat, url);
}

static int cmd_serve(struct server *srv)
{
	struct config *cfg = &srv->cfg;
	struct net_cert_info ci;
	struct net_limits lim;
	struct files_mount web_app;
	char err[512], host[CONFIG_STR_MAX];
	uint16_t port;
	int rc = 1;

	log_set_level((enum log_level)cfg->log_level_id);
	srv->sigfd = -1;
	srv->lockfd = -1;
	log_info("event=start version=%s config=%s domain=%s", PCHAT_VERSION,
	         cfg->file[0] ? cfg->file : "(built-in defaults)", cfg->domain);
	if ((srv->lockfd = serve_lock(cfg->store_path, err, sizeof err)) < 0) {
		log_error("event=store-locked path=%s reason=\"%s\" action=\"not starting\"", cfg->store_path, err);
		goto out;
	}
	/* The service upgrades an older store (a copy is kept, each step logged). */
	if (store_open_ex(&srv->store, cfg->store_path, STORE_OPEN_MIGRATE, NULL, err, sizeof err) != STORE_OK) {
		log_error("event=store-open path=%s reason=\"%s\"", cfg->store_path, err);
		goto out;
	}
	srv->loop = loop_new();
	if (srv->loop == NULL || server_signals(srv) < 0) {
		log_error("event=loop-init reason=\"%s\"", strerror(errno));
		goto out;
	}
	/* As a reload does (net_reload_cert): a pair outside its validity
	 * period is refused, not served to clients that will refuse it. */
	if (access(cfg->cert, F_OK) == 0 && access(cfg->key, F_OK) == 0 &&
	    net_cert_inspect(cfg->cert, cfg->key, &ci, err, sizeof err) == 0 && (ci.expired || ci.not_yet_valid)) {
		log_error("event=tls-init cert=%s reason=\"%s %s\" action=\"not starting: install a valid pair (pchat check)\"",
		          cfg->cert, ci.expired ? "expired on" : "not valid yet; it expires on", ci.not_after);
		goto out;
	}
	server_net_limits(cfg, &lim);
	srv->net = net_new(srv->loop, &lim, cfg->cert, cfg->key, cfg->domain, err, sizeof err);
	if (srv->net == NULL) {
		log_error("event=tls-init reason=\"%s\"", err);
		goto out;
	}
	srv->sip = sip_server_new(cfg, srv->store, srv->net, srv->loop);
	if (srv->sip == NULL) {
		log_error("event=sip-init reason=\"out of memory\"");
		goto out;
	}
	xmlInitParser();
	srv->chat = xccos_new(cfg, srv->store, srv->loop);
	if (srv->chat == NULL) {
		log_error("event=chat-init reason=\"out of memory\"");
		goto out;
	}
	sip_server_set_callbacks(srv->sip, xccos_callbacks(srv->chat));
	if (config_listen_split(cfg->listen, host, sizeof host, &port) < 0 ||
	    net_listen(srv->net, host, port, sip_server_handlers(srv->sip), err, sizeof err) < 0) {
		log_error("event=listen-failed reason=\"%s\"", err);
		goto out;
	}
	if (frontend_listen(cfg, srv->net, sip_server_frontend_handlers(srv->sip), err, sizeof err) < 0) {
		log_error("event=frontend-listen-failed reason=\"%s\"", log_quote_safe(err));
		goto out;
	}
	/* After the SIP listener, which stays listener 0 (event=ready's port). */
	if (cfg->files_enabled) {
		srv->files = files_new(cfg, srv->store, srv->net, srv->loop, xccos_announce_file, srv->chat, err, sizeof err);
		if (srv->files == NULL) {
			log_error("event=files-init reason=\"%s\"", err);
			goto out;
		}
		xccos_set_files(srv->chat, srv->files);
		srv->web = web_new(cfg, srv->store, srv->loop, sip_server_lockout(srv->sip), err, sizeof err);
		if (srv->web == NULL) {
			log_error("event=web-init reason=\"%s\"", err);
			goto out;
		}
		web_set_chat(srv->web, xccos_chat_rooms(srv->chat));
		web_mount(srv->web, &web_app);
		files_mount(srv->files, &web_app);
		server_room_management_url(srv);
	} else {
		log_info("event=files-disabled reason=\"[files] enabled = false: file transfer answered 501\"");
	}
	if (!cfg->compliance_enabled)
		log_warn("event=compliance-disabled reason=\"[compliance] enabled = false: no events are captured\"");
	/* The export timer (none when disabled); freed before the store. */
	srv->compliance = compliance_new(cfg, srv->store);
	if (srv->compliance == NULL) {
		log_error("event=compliance-init reason=\"out of memory\"");
		goto out;
	}
	/* Before any event is recorded: a restored store must not number new
	 * events inside ranges the archive already holds (compliance_reconcile). */
	if (compliance_start(srv->compliance, err, sizeof err) < 0) {
		log_error("event=compliance-start-failed reason=\"%s\" action=\"not starting\"", log_quote_safe(err));
		goto out;
	}
	srv->control = control_new(srv->loop, &(struct control_sources){ cfg, PCHAT_VERSION, srv->net, srv->sip,
	                           srv->chat, srv->store, srv->compliance }, err, sizeof err);
	if (srv->control == NULL) {
		log_error("event=control-init reason=\"%s\" action=\"not starting\"", log_quote_safe(err));
		goto out;
	}
	loop_set_before_sleep(srv->loop, server_before_sleep, srv);
	log_info("event=ready port=%u store=%s", (unsigned)net_listen_port(srv->net, 0), cfg->store_path);
	if (loop_run(srv->loop) < 0) {
		log_error("event=loop-failed reason=\"%s\"", strerror(errno));
		goto out;
	}
	/* The loop stops before its last pass's before_sleep: commit that pass
	 * before net_free writes out its answers. */
	server_commit(srv);
	rc = 0;
	log_info("event=stopped");
out:
	server_free(srv);
	return rc;
}

/* ---- pchat check: one line per finding, "what: ok|WARNING|ERROR ..." and a
 * "fix:" line for each problem; the counts decide the exit status. */
struct check_tally {
	int errors, warnings;
};

static void check_say(struct check_tally *t, int error, const char *what, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void check_say(struct check_tally *t, int error, const char *what, const char *fix, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s", what, error ? "ERROR " : "WARNING ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (fix != NULL)
		printf("  fix: %s\n", fix);
	if (error)
		t->errors++;
	else
		t->warnings++;
}

/* The folder part of path ("." when there is none). */
static void check_dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, dirlen, ".");
	else
		snprintf(dir, dirlen, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* Run as root, files made now would belong to root while the service runs
 * as the owner of the folder (pchat): say so rather than break the service. */
static void check_owner(struct check_tally *t, const char *what, const char *path)
{
	struct stat f, d;
	char dir[PATH_MAX], fix[PATH_MAX + 64];

	check_dir_of(path, dir, sizeof dir);
	if (stat(path, &f) == 0 && stat(dir, &d) == 0 && f.st_uid != d.st_uid) {
		snprintf(fix, sizeof fix, "chown --reference=%s %s*", dir, path);
		check_say(t, 0, what, fix, "%s belongs to uid %u but its folder to uid %u: the service may not write it",
		          path, (unsigned)f.st_uid, (unsigned)d.st_uid);
	}
}

/* 1 when name (from a certificate) is domain or a name under it (what an
 * SRV record of the domain can point clients at), case aside. */
static int cert_name_covers(const unsigned char *name, size_t len, const char *domain)
{
	size_t dl = strlen(domain);

	if (len == dl)
		return strncasecmp((const char *)name, domain, dl) == 0;
	return len > dl && name[len - dl - 1] == '.' && strncasecmp((const char *)name + len - dl, domain, dl) == 0;
}

/* Clients check that the certificate names the host they connect to: the
 * domain itself or, through its SRV record, a host under it.  The names are
 * the DNS subject alternative names, or the common name when there are none
 * (as clients read them). */
static void check_cert_names(const struct config *cfg, struct check_tally *t)
{
	mbedtls_x509_crt crt;
	char names[512] = "", fix[300];
	int covered = 0, any_san = 0;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_file(&crt, cfg->cert) != 0) {
		mbedtls_x509_crt_free(&crt);
		return;         /* net_cert_inspect parsed it: not reached */
	}
	for (const mbedtls_x509_sequence *san = &crt.subject_alt_names; san != NULL && san->buf.p != NULL; san = san->next) {
		if (san->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		any_san = 1;
		covered |= cert_name_covers(san->buf.p, san->buf.len, cfg->domain);
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%.*s", names[0] ? ", " : "",
		         (int)san->buf.len, (const char *)san->buf.p);
	}
	for (const mbedtls_x509_name *n = &crt.subject; !any_san && n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		covered |= cert_name_covers(n->val.p, n->val.len, cfg->domain);
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%.*s", names[0] ? ", " : "",
		         (int)n->val.len, (const char *)n->val.p);
	}
	mbedtls_x509_crt_free(&crt);
	if (!covered) {
		snprintf(fix, sizeof fix, "get a certificate for %.64s or the host its SRV record names (sip.%.64s, ...),"
		         " or set [server] domain to the domain it is for", cfg->domain, cfg->domain);
		check_say(t, 1, "cert", fix, "%s names %s, neither %s nor a host under it: clients will refuse it",
		          cfg->cert, names[0] ? names : "no host", cfg->domain);
	}
}

static void check_cert(const struct config *cfg, struct check_tally *t)
{
	struct net_cert_info ci;
	struct stat sb;
	char err[600], dir[PATH_MAX];
	int have_cert = stat(cfg->cert, &sb) == 0, have_key = stat(cfg->key, &sb) == 0, rc;

	if (!have_cert && !have_key) {
		check_dir_of(cfg->cert, dir, sizeof dir);
		if (access(dir, W_OK | X_OK) < 0)
			check_say(t, 1, "cert", "create the folder and let the service user write it, or put a PEM pair there",
			          "neither %s nor %s exists, and %s is not writable for generating them: %s",
			          cfg->cert, cfg->key, dir, strerror(errno));
		else
			printf("cert: none yet: a self-signed ECDSA P-256 pair is generated at the first start (%s, %s)\n",
			       cfg->cert, cfg->key);
		return;
	}
	if (!have_cert || !have_key) {
		check_say(t, 1, "cert", "put the missing file in place, or remove both to have a self-signed pair generated",
		          "%s exists but %s does not", have_cert ? cfg->cert : cfg->key, have_cert ? cfg->key : cfg->cert);
		return;
	}
	if ((rc = net_cert_inspect(cfg->cert, cfg->key, &ci, err, sizeof err)) < 0) {
		check_say(t, 1, "cert", rc == NET_CERT_MISMATCH
		          ? "install the key the certificate was issued for (openssl x509 -noout -pubkey -in CERT and openssl pkey -pubout -in KEY must print the same)"
		          : "give PEM files: a certificate (chain) in cert, its unencrypted private key in key",
		          "%s", err);
		return;
	}
	if (ci.expired)
		check_say(t, 1, "cert", "install a renewed certificate and key, then reload (systemctl reload pchat, or kill -HUP)",
		          "%s expired on %s (%ld days ago)", cfg->cert, ci.not_after, -ci.days_left);
	else if (ci.not_yet_valid)
		check_say(t, 1, "cert", "check the system clock, or install a certificate valid now",
		          "%s is not valid yet", cfg->cert);
	else if (ci.days_left < 30)
		check_say(t, 0, "cert", "renew it and reload (systemctl reload pchat, or kill -HUP): open connections stay",
		          "%s expires in %ld days (%s)", cfg->cert, ci.days_left, ci.not_after);
	else
		printf("cert: ok (%s, subject %s, sha256 %s, expires %s, %ld days left)\n", cfg->cert, ci.subject,
		       ci.fingerprint, ci.not_after, ci.days_left);
	check_cert_names(cfg, t);
	if (stat(cfg->key, &sb) == 0 && (sb.st_mode & 0077) != 0)
		check_say(t, 0, "key", "chmod 600 on the key file", "%s is readable by group or others (mode %03o)",
		          cfg->key, (unsigned)(sb.st_mode & 0777));
}

/* Compliance events waiting for export, and how old the oldest is: older
 * than two export intervals means the export is failing or stuck. */
static void check_backlog(const struct config *cfg, struct store *st, struct check_tally *t)
{
	struct timespec now;
	int64_t waiting, oldest_us, age_s;

	if (store_event_backlog(st, &waiting, &oldest_us) != STORE_OK)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	age_s = waiting > 0 ? (int64_t)now.tv_sec - oldest_us / 1000000 : 0;
	if (cfg->compliance_enabled && waiting > 0 && age_s > 2 * (int64_t)cfg->run_interval)
		check_say(t, 0, "compliance", "look for event=export-failed in the log; `pchat export --now` says why",
		          "%lld events wait for export, the oldest %lld s old (run_interval %llu s): the export is behind",
		          (long long)waiting, (long long)age_s, (unsigned long long)cfg->run_interval);
	else
		printf("compliance: %lld event%s waiting for export, the oldest %lld s old\n", (long long)waiting,
		       waiting == 1 ? "" : "s", (long long)age_s);
}

/* 1 when uid (with gid and its groups) may create files in the folder sb. */
static int dir_writable_by(const struct stat *sb, const struct passwd *pw)
{
	gid_t groups[64];
	int n = 64;

	if (pw->pw_uid == 0)
		return 1;
	if (sb->st_uid == pw->pw_uid)
		return (sb->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == sb->st_gid)
			return (sb->st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
	return (sb->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* SQLite makes pchat.db-wal and -shm beside the store, and the first start
 * makes the store itself: its folder must take new files from the user the
 * service runs as (pchat on a packaged install, else whoever runs this).
 * Returns 0 after an error. */
static int check_store_dir(const struct config *cfg, struct check_tally *t)
{
	const struct passwd *service = installed_config(cfg) ? getpwnam(PCHAT_SERVICE_USER) : NULL;
	char dir[PATH_MAX], fix[PATH_MAX + 80];
	struct stat sb;

	check_dir_of(cfg->store_path, dir, sizeof dir);
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(fix, sizeof fix, "create it (mkdir -p %s) for the service user, or correct [store] path", dir);
		check_say(t, 1, "store", fix, "the store's folder %s %s", dir, errno == ENOENT ? "does not exist" :
		          S_ISDIR(sb.st_mode) ? strerror(errno) : "is not a folder");
		return 0;
	}
	if (service ? !dir_writable_by(&sb, service) : access(dir, W_OK | X_OK) < 0) {
		snprintf(fix, sizeof fix, "chown %s %s (or give that user write access to it)",
		         service ? service->pw_name : "$(id -un)", dir);
		check_say(t, 1, "store", fix, "the store's folder %s is not writable for %s: SQLite makes the store's -wal"
		          " and -shm files there, and the first start the store", dir,
		          service ? "the service user " PCHAT_SERVICE_USER : "this user");
		return 0;
	}
	return 1;
}

static void check_store(const struct config *cfg, struct check_tally *t)
{
	struct store *st = NULL;
	char err[600];
	int rc;

	if (!check_store_dir(cfg, t))
		return;
	if (access(cfg->store_path, F_OK) < 0 && errno == ENOENT) {
		/* check only reads: the first start (or user add) creates it */
		printf("store: none yet: created at the first start (%s)\n", cfg->store_path);
		return;
	}
	if ((rc = store_open(&st, cfg->store_path, err, sizeof err)) != STORE_OK) {
		check_say(t, 1, "store", rc == STORE_E_OLD ? "pchat migrate, or start the service (pchat(8), UPGRADES)"
		          : "check the path and the folder's permissions; restore a backup if the file is damaged (pchat(8), RESTORE)",
		          "%s", err);
		return;
	}
	if (store_integrity_check(st, err, sizeof err) != STORE_OK)
		check_say(t, 1, "store", "stop the service and restore the latest backup (pchat(8), RESTORE)",
		          "integrity check failed: %s", err);
	else
		printf("store: ok (%s, schema version %d, integrity ok)\n", cfg->store_path, store_schema_version(st));
	check_backlog(cfg, st, t);
	store_close(st);
	check_owner(t, "store", cfg->store_path);
}

/* The store's NT hashes sign anyone in (pass the hash), so the store, its
 * -wal and -shm, and copies kept beside it (names starting with the store's
 * own, or ending in .db: backups, pchat.db.broken) must be the owner's
 * alone.  New stores are created 0600; older ones and copies may not be. */
static void check_store_modes(const struct config *cfg, struct check_tally *t)
{
	const char *slash = strrchr(cfg->store_path, '/'), *base = slash ? slash + 1 : cfg->store_path;
	char dir[PATH_MAX], path[PATH_MAX * 2], fix[PATH_MAX * 2 + 32];
	size_t blen = strlen(base), nlen;
	struct dirent *de;
	struct stat sb;
	int exposed = 0;
	DIR *d;

	check_dir_of(cfg->store_path, dir, sizeof dir);
	if ((d = opendir(dir)) == NULL)
		return;         /* check_store already said what is wrong with the path */
	while ((de = readdir(d)) != NULL) {
		nlen = strlen(de->d_name);
		if (strncmp(de->d_name, base, blen) != 0 && !(nlen > 3 && strcmp(de->d_name + nlen - 3, ".db") == 0))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 0077) == 0)
			continue;
		snprintf(fix, sizeof fix, "chmod 600 %s", path);
		check_say(t, 0, "store", fix, "%s is readable by group or others (mode %03o): its NT hashes sign users in",
		          path, (unsigned)(sb.st_mode & 0777));
		exposed++;
	}
	closedir(d);
	if (exposed == 0)
		printf("store files: ok (%s and the copies beside it are the owner's alone)\n", cfg->store_path);
}

/* The export folder must exist and take files; a missing one is made (as
 * any command makes a missing store), owned like the folder it is in. */
static void check_output_dir(const struct config *cfg, struct check_tally *t)
{
	char probe[PATH_MAX + 32], parent[PATH_MAX], fix[PATH_MAX + 64];
	struct stat sb, pb;
	int fd;

	if (!cfg->compliance_enabled) {
		printf("output_dir: not used ([compliance] enabled = false)\n");
		return;
	}
	snprintf(fix, sizeof fix, "mkdir -p %s, owned by the service user (chown pchat: ...)", cfg->output_dir);
	if (stat(cfg->output_dir, &sb) < 0) {
		if (errno != ENOENT || mkdir(cfg->output_dir, 0750) < 0) {
			check_say(t, 1, "output_dir", fix, "%s: %s", cfg->output_dir, strerror(errno));
			return;
		}
		check_dir_of(cfg->output_dir, parent, sizeof parent);
		if (geteuid() == 0 && stat(parent, &pb) == 0 && chown(cfg->output_dir, pb.st_uid, pb.st_gid) < 0)
			check_say(t, 0, "output_dir", NULL, "created %s but could not give it to uid %u: %s", cfg->output_dir,
			          (unsigned)pb.st_uid, strerror(errno));
		printf("output_dir: created %s (mode 0750)\n", cfg->output_dir);
	} else if (!S_ISDIR(sb.st_mode)) {
		check_say(t, 1, "output_dir", "point [compliance] output_dir at a folder", "%s is not a folder", cfg->output_dir);
		return;
	}
	/* access() says yes to root everywhere; a real file says the truth
	 * (read-only file system, full disk, immutable folder). */
	snprintf(probe, sizeof probe, "%s/.pchat-check-XXXXXX", cfg->output_dir);
	if ((fd = mkstemp(probe)) < 0) {
		check_say(t, 1, "output_dir", fix, "%s is not writable: %s", cfg->output_dir, strerror(errno));
		return;
	}
	close(fd);
	unlink(probe);
	printf("output_dir: ok (%s, writable)\n", cfg->output_dir);
	check_owner(t, "output_dir", cfg->output_dir);
}

/* Try the bind the server will make (config.c already refused what is no
 * numeric address; a port in use, an address not on this host remain).
 * In use is a warning: while this pchat runs, its own port is in use. */
static void check_listen(struct check_tally *t, const char *what, const char *addr)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	char host[CONFIG_STR_MAX], portstr[8], fix[200];
	struct addrinfo *ai = NULL;
	uint16_t port;
	int fd = -1, one = 1, e = 0;

	if (config_listen_split(addr, host, sizeof host, &port) < 0 || port == 0)
		return;         /* port 0: a free port is picked at each start */
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0)
		return;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	snprintf(fix, sizeof fix, "ss -ltnp 'sport = :%u' shows who holds it; stop it or choose another port", (unsigned)port);
	if (e == EADDRINUSE)
		check_say(t, 0, what, fix, "%s is in use: a start would fail (fine if it is this pchat, running)", addr);
	else if (e == EACCES && port < 1024)
		check_say(t, 0, what, "run the service with CAP_NET_BIND_SERVICE (pchat(8), SYSTEMD)",
		          "%s: this user may not bind port %u", addr, (unsigned)port);
	else if (e != 0)
		check_say(t, 1, what, e == EADDRNOTAVAIL ? "use an address of this host (ip -brief address), or 0.0.0.0" : NULL,
		          "cannot listen on %s: %s", addr, strerror(e));
	else
		printf("%s: ok (%s is free)\n", what, addr);
}

/* The shipped ini's placeholder domain: users would be alice@example.org.
 * Fine for a test on the loopback; anywhere clients can reach, a warning. */
static void check_domain(const struct config *cfg, struct check_tally *t)
{
	char host[CONFIG_STR_MAX];
	uint16_t port;
	int loopback = config_listen_split(cfg->listen, host, sizeof host, &port) == 0 &&
	               (strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0);

	if (strcasecmp(cfg->domain, "example.org") == 0 && (installed_config(cfg) || !loopback))
		check_say(t, 0, "domain", "set [server] domain to your SIP domain (the part after @ in users' addresses)",
		          "[server] domain is still the placeholder example.org");
}

static void check_control(const struct config *cfg, struct check_tally *t)
{
	char msg[PATH_MAX + 200];
	const char *fix;

	if (control_check(cfg, msg, sizeof msg, &fix) < 0)
		check_say(t, 1, "control_socket", fix, "%s", msg);
	else
		printf("control_socket: ok %s\n", msg);
}

/* Validate everything a start depends on.  The config itself was loaded
 * (strictly) before this runs; a bad one never gets here. */
static int cmd_check(const struct config *cfg)
{
	struct check_tally t = { 0, 0 };
	char host[CONFIG_STR_MAX];
	uint16_t port;

	config_print(cfg, stdout);
	printf("config: ok (%s)\n", cfg->file[0] ? cfg->file : "built-in defaults");
	if (config_listen_split(cfg->listen, host, sizeof host, &port) == 0 && port > 0 && port < 1024)
		printf("listen: note: port %u is below 1024: the service needs CAP_NET_BIND_SERVICE (pchat(8), SYSTEMD)\n",
		       (unsigned)port);
	check_listen(&t, "listen", cfg->listen);
	if (cfg->files_enabled)
		check_listen(&t, "files.listen", cfg->files_listen);
	if (cfg->fe_listen[0])
		check_listen(&t, "frontend.listen", cfg->fe_listen);
	check_domain(cfg, &t);
	check_cert(cfg, &t);
	check_store(cfg, &t);
	check_store_modes(cfg, &t);
	check_output_dir(cfg, &t);
	check_control(cfg, &t);
	printf("check: %d error%s, %d warning%s\n", t.errors, t.errors == 1 ? "" : "s", t.warnings,
	       t.warnings == 1 ? "" : "s");
	return t.errors ? 1 : 0;
}

/* pchat backup FILE: an online copy of the store; prints the copy's path. */
static int cmd_backup(const struct config *cfg, const char *file)
{
	struct store *st = NULL;
	char err[PATH_MAX + 200], abs[PATH_MAX];
	int rc;

	/* As it is: an administrator backs up an older store before upgrading. */
	if (store_open_ex(&st, cfg->store_path, STORE_OPEN_AS_IS, NULL, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	rc = store_backup(st, file, err, sizeof err);
	store_close(st);
	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: backup: %s\n", err);
		return 1;
	}
	printf("%s\n", realpath(file, abs) ? abs : file);
	return 0;
}

/* pchat migrate: bring an older store to this pchat's schema (as serve does
 * at start), keeping a copy of it first; says what it did. */
static int cmd_migrate(const struct config *cfg)
{
	struct store_migration done = { 0 };
	struct store *st = NULL;
	char err[PATH_MAX + 300];
	int lockfd, rc;

	log_set_level((enum log_level)cfg->log_level_id);
	/* Never under a running server: hold its lock while migrating. */
	if ((lockfd = serve_lock(cfg->store_path, err, sizeof err)) < 0) {
		fprintf(stderr, "pchat: %s: stop it first (systemctl stop pchat)\n", err);
		return 1;
	}
	rc = store_open_ex(&st, cfg->store_path, STORE_OPEN_MIGRATE, &done, err, sizeof err);
	store_close(st);
	close(lockfd);
	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	if (done.from == done.to)
		printf("%s: schema v%d already, nothing to migrate\n", cfg->store_path, done.to);
	else if (done.copy[0] == '\0')     /* an empty file: made a store, nothing to keep */
		printf("%s: created at schema v%d\n", cfg->store_path, done.to);
	else
		printf("%s: migrated from schema v%d to v%d; the copy from before is %s\n", cfg->store_path, done.from,
		       done.to, done.copy);
	return 0;
}

static int no_arguments(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	fprintf(stderr, "pchat: %s takes no arguments (got \"%s\")\n", argv[0], argv[1]);
	return 2;
}

static int run_serve(struct server *srv, int argc, char **argv)
{
	return no_arguments(argc, argv) ? 2 : cmd_serve(srv);
}

static int run_check(struct server *srv, int argc, char **argv)
{
	return no_arguments(argc, argv) ? 2 : cmd_check(&srv->cfg);
}

static int run_user(struct server *srv, int argc, char **argv)
{
	return admin_user(&srv->cfg, argc, argv);
}

static int run_category(struct server *srv, int argc, char **argv)
{
	return admin_category(&srv->cfg, argc, argv);
}

static int run_room(struct server *srv, int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "clear"))
		return admin_room_clear(&srv->cfg, argc, argv);
	return admin_room(&srv->cfg, argc, argv);
}

static int run_message(struct server *srv, int argc, char **argv)
{
	return admin_message(&srv->cfg, argc, argv);
}

static int run_search(struct server *srv, int argc, char **argv)
{
	return admin_search(&srv->cfg, argc, argv);
}

static int run_file(struct server *srv, int argc, char **argv)
{
	return admin_file(&srv->cfg, argc, argv);
}

static int run_export(struct server *srv, int argc, char **argv)
{
	return compliance_cmd_export(&srv->cfg, argc, argv);
}

static int run_verify(struct server *srv, int argc, char **argv)
{
	return compliance_cmd_verify(&srv->cfg, argc, argv);
}

static int run_status(struct server *srv, int argc, char **argv)
{
	return control_cmd_status(&srv->cfg, PCHAT_VERSION, argc, argv);
}

static int run_backup(struct server *srv, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "pchat: backup takes one FILE, the new copy\n");
		return 2;
	}
	return cmd_backup(&srv->cfg, argv[1]);
}

static int run_migrate(struct server *srv, int argc, char **argv)
{
	return no_arguments(argc, argv) ? 2 : cmd_migrate(&srv->cfg);
}

/* ---- the command line: one table of subcommands ------------------------- */

struct subcommand {
	const char *name;
	int (*run)(struct server *srv, int argc, char **argv);
	const char *usage;          /* its lines, each "pchat [-c FILE] NAME ..." */
	const char *summary;        /* one line for `pchat --help` */
	/* The options it knows, space-separated; "=" after one: it takes a value. */
	const char *options;
	/* Which verbs may create a missing store: "*" any (the command sees to
	 * it), "add" the add verb, NULL none: a missing store is refused. */
	const char *creates;
	int min_args;               /* fewer words after NAME: a usage error, whatever the store */
};

static int run_serve(struct server *srv, int argc, char **argv);
static int run_check(struct server *srv, int argc, char **argv);
static int run_user(struct server *srv, int argc, char **argv);
static int run_category(struct server *srv, int argc, char **argv);
static int run_room(struct server *srv, int argc, char **argv);
static int run_search(struct server *srv, int argc, char **argv);
static int run_message(struct server *srv, int argc, char **argv);
static int run_file(struct server *srv, int argc, char **argv);
static int run_export(struct server *srv, int argc, char **argv);
static int run_verify(struct server *srv, int argc, char **argv);
static int run_backup(struct server *srv, int argc, char **argv);
static int run_migrate(struct server *srv, int argc, char **argv);
static int run_status(struct server *srv, int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "serve", run_serve,
	  "pchat [-c FILE] [serve]\n",
	  "run the server in the foreground, log to stderr (the default command)", "", "*", 0 },
	{ "check", run_check,
	  "pchat [-c FILE] check\n",
	  "validate config, listen addresses, certificate, store and export folder; exit 1 on errors", "", "*", 0 },
	{ "user", run_user,
	  "pchat [-c FILE] user add|passwd USER [--password-stdin]\n"
	  "pchat [-c FILE] user del|show|disable|enable USER\n"
	  "pchat [-c FILE] user list\n"
	  "pchat [-c FILE] user import FILE|- [--passwords]\n",
	  "manage the users who may sign in", "--password-stdin --passwords", "add", 1 },
	{ "category", run_category,
	  "pchat [-c FILE] category add NAME [--description TEXT] [--file-upload on|off]\n"
	  "         [--invitations on|off] [--history on|off]\n"
	  "         [--allow USER]... [--deny USER]... [--creator USER]...\n"
	  "pchat [-c FILE] category set NAME [--rename NEW] [the options of add]\n"
	  "         [--unallow USER]... [--undeny USER]... [--uncreator USER]...\n"
	  "pchat [-c FILE] category show|del NAME\n"
	  "pchat [-c FILE] category list\n",
	  "categories of rooms and their policy (an allowed and a denied list bound who may be in its rooms)",
	  "--description= --file-upload= --invitations= --history= --allow= --deny= --creator= --rename= "
	  "--unallow= --undeny= --uncreator=", "add", 1 },
	{ "room", run_room,
	  "pchat [-c FILE] room add NAME [--category C] [--privacy open|closed|secret]\n"
	  "         [--type normal|auditorium] [--description TEXT] [--topic TEXT]\n"
	  "         [--invitations inherit|on|off] [--member USER]... [--manager USER]...\n"
	  "         [--presenter USER]... [--guid GUID|NUMBER]\n"
	  "pchat [-c FILE] room set ROOM [--name NEW] [the options of add but --guid]\n"
	  "         [--remove-member USER]... [--remove-manager USER]... [--remove-presenter USER]...\n"
	  "pchat [-c FILE] room show|disable|enable|del ROOM\n"
	  "pchat [-c FILE] room clear ROOM --before DATE\n"
	  "pchat [-c FILE] room list\n",
	  "rooms, joined as in Lync: closed and secret ones by members only (managers and presenters too), a room "
	  "without members by its category's allowed list; `add` prints the URI (--guid keeps an old one), `clear` "
	  "drops messages before DATE (UTC, YYYY-MM-DD[THH:MM[:SS]Z])",
	  "--category= --privacy= --type= --description= --topic= --invitations= --member= --manager= "
	  "--presenter= --name= --remove-member= --remove-manager= --remove-presenter= --guid= --before=", "add", 1 },
	{ "search", run_search,
	  "pchat [-c FILE] search ROOM WORDS... [--limit N]\n",
	  "messages of ROOM holding every word, newest first", "--limit=", NULL, 2 },
	{ "message", run_message,
	  "pchat [-c FILE] message del ID [--replace TEXT]\n",
	  "remove message ID (as `search` prints it) from history, or --replace its text; compliance keeps it",
	  "--replace=", NULL, 2 },
	{ "file", run_file,
	  "pchat [-c FILE] file list ROOM\n"
	  "pchat [-c FILE] file get ID OUT\n"
	  "pchat [-c FILE] file del ID\n",
	  "files posted in rooms: list (id, name, size, uploader, time, sha256), copy into the new file OUT, delete",
	  "", NULL, 2 },
	{ "export", run_export,
	  "pchat [-c FILE] export [--now]\n",
	  "export waiting compliance events now, print the files written", "--now", NULL, 0 },
	{ "verify", run_verify,
	  "pchat [-c FILE] verify [DIR] [--from N:SHA256] [--head N:SHA256]\n",
	  "check an export folder's hash chain (default [compliance] output_dir)", "--from= --head=", "*", 0 },
	{ "backup", run_backup,
	  "pchat [-c FILE] backup FILE\n",
	  "online copy of the store into the new FILE (never overwrites)", "", NULL, 1 },
	{ "migrate", run_migrate,
	  "pchat [-c FILE] migrate\n",
	  "upgrade an older store to this pchat's schema, keeping a copy of it first", "", NULL, 0 },
	{ "status", run_status,
	  "pchat [-c FILE] status [--metrics]\n",
	  "ask the running server (control socket): connections, users, rooms, export backlog, store, certificate;"
	  " exit 3 when it is not running", "--metrics", "*", 0 },
};
#define N_SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

/* The usage lines, "usage: " before the first and aligned below it. */
static void usage_lines(FILE *out, const char *lines, int first)
{
	for (const char *p = lines; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(out, "%s%.*s\n", first ? "usage: " : "       ", (int)n, p);
		first = 0;
		p += n + (p[n] == '\n');
	}
}

static void usage(FILE *out)
{
	fprintf(out, "pchat %s - persistent group chat for Lync/Skype-protocol clients (XCCOS over SIP/TLS)\n\n",
	        PCHAT_VERSION);
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		usage_lines(out, subcommands[i].usage, i == 0);
	fprintf(out, "       pchat COMMAND --help\n"
	             "       pchat --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(out, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n"
	        "  -c FILE   the ini file; without -c, %s when it exists, else ./pchat.ini,\n"
	        "            else built-in defaults with every file in the current folder\n"
	        "            (the file used is named on stderr)\n"
	        "  USER      alice, alice@example.org or sip:alice@example.org\n"
	        "  ROOM      a room's name, its GUID (or kept number) or its URI ma-chan://DOMAIN/GUID\n"
	        "\n"
	        "Exit status: 0 success, 1 error (one line on stderr), 2 usage.\n",
	        PCHAT_INSTALLED_CONFIG);
}

static void subcommand_usage(FILE *out, const struct subcommand *sc)
{
	usage_lines(out, sc->usage, 1);
	fprintf(out, "  %s\n", sc->summary);
}

/* How the option arg is known to sc: 0 unknown, 1 a flag, 2 takes a value. */
static int subcommand_option(const struct subcommand *sc, const char *arg)
{
	size_t n = strlen(arg);

	for (const char *p = sc->options; *p;) {
		size_t len = strcspn(p, " ");
		int takes = len > 0 && p[len - 1] == '=';

		if (len - (size_t)takes == n && strncmp(p, arg, n) == 0)
			return 1 + takes;
		p += len + (p[len] == ' ');
	}
	return 0;
}

/* Before anything is read or created: --help anywhere (not as an option's
 * value) prints the usage, exit 0; an option sc does not know is refused,
 * exit 2.  Returns -1 to go on. */
static int subcommand_scan(const struct subcommand *sc, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int kind;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			subcommand_usage(stdout, sc);
			return 0;
		}
		if (a[0] != '-' || a[1] == '\0')
			continue;       /* a word, or "-" */
		if ((kind = subcommand_option(sc, a)) == 0) {
			fprintf(stderr, "pchat: %s: unknown option %s\n", sc->name, a);
			subcommand_usage(stderr, sc);
			return 2;
		}
		if (kind == 2)
			i++;            /* its value, whatever it looks like */
	}
	return -1;
}

static int file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* 1 when this run would use the packaged ini as root with the service user
 * present: whatever it writes would belong to root, and the service (which
 * runs as that user) could no longer open its store. */
static int root_on_installed(const struct config *cfg)
{
	return geteuid() == 0 && installed_config(cfg);
}

/* Print the command that runs this as the service user, shell-quoted. */
static void print_as_service_user(FILE *out, const char *config_file, int argc, char **argv, int first)
{
	fprintf(out, "sudo -u %s pchat -c %s", PCHAT_SERVICE_USER, config_file);
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@:/._,+=-") ==
		    strlen(a)) {
			fprintf(out, " %s", a);
			continue;
		}
		fputs(" '", out);
		for (; *a; a++)
			fputs(*a == '\'' ? "'\\''" : (char[2]){ *a, '\0' }, out);
		fputc('\'', out);
	}
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	static struct server srv;   /* static: large, and lives for the whole run */
	const struct subcommand *sc = NULL;
	const char *config_file = NULL, *cmd, *verb;
	char err[600];
	int i = 1, sub_argc, rc;
	char **sub_argv;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("pchat %s (store schema v%d)\n", PCHAT_VERSION, STORE_SCHEMA_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config_file = argv[++i];
			continue;
		}
		fprintf(stderr, "pchat: %s %s (try pchat --help)\n", argv[i],
		        !strcmp(argv[i], "-c") ? "needs a FILE" : "is not an option (they go after the command)");
		return 2;
	}
	cmd = i < argc ? argv[i] : "serve";
	for (size_t k = 0; k < N_SUBCOMMANDS && sc == NULL; k++)
		if (!strcmp(cmd, subcommands[k].name))
			sc = &subcommands[k];
	if (sc == NULL) {
		fprintf(stderr, "pchat: unknown command '%s' (try pchat --help)\n", cmd);
		return 2;
	}
	/* argv[0] of a subcommand is its name (also when serve is implied). */
	sub_argv = i < argc ? argv + i : (char *[]){ "serve", NULL };
	sub_argc = i < argc ? argc - i : 1;
	if ((rc = subcommand_scan(sc, sub_argc, sub_argv)) >= 0)
		return rc;

	if (config_file == NULL) {
		config_file = file_exists(PCHAT_INSTALLED_CONFIG) ? PCHAT_INSTALLED_CONFIG
		              : file_exists(PCHAT_DEFAULT_CONFIG) ? PCHAT_DEFAULT_CONFIG : NULL;
		if (sc->run != run_serve)   /* serve logs it in event=start */
			fprintf(stderr, config_file ? "pchat: using %s (no -c given)\n"
			                : "pchat: no %s or ./pchat.ini: built-in defaults, files in the current folder\n",
			        config_file ? config_file : PCHAT_INSTALLED_CONFIG);
	}
	if (config_file) {
		if (config_load(&srv.cfg, config_file, err, sizeof err) < 0) {
			fprintf(stderr, "pchat: %s\n", err);
			return 1;
		}
	} else {
		config_defaults(&srv.cfg, ".");
		if (config_load_string(&srv.cfg, "", "built-in defaults", ".", err, sizeof err) < 0) {
			fprintf(stderr, "pchat: %s\n", err);
			return 1;
		}
	}
	/* status writes nothing (control.c opens the store so as to create no
	 * file), so root may ask, as admins do. */
	if (root_on_installed(&srv.cfg) && sc->run != run_status) {
		fprintf(stderr, "pchat: not as root with %s: files made now would belong to root and the service"
		        " (user %s) could not open them; run it as the service user:\n  ", PCHAT_INSTALLED_CONFIG,
		        PCHAT_SERVICE_USER);
		print_as_service_user(stderr, PCHAT_INSTALLED_CONFIG, argc, argv, i);
		return 1;
	}
	/* A command that only reads never creates a store (a wrong -c, or none,
	 * would otherwise leave an empty store behind and report on it). */
	verb = sub_argc > 1 ? sub_argv[1] : "";
	if (sub_argc - 1 >= sc->min_args && !(sc->creates && (!strcmp(sc->creates, "*") || !strcmp(sc->creates, verb))) &&
	    !file_exists(srv.cfg.store_path)) {
		fprintf(stderr, "pchat: no store at %s (%s): `%s` does not create one; check the config%s\n",
		        srv.cfg.store_path, srv.cfg.file[0] ? srv.cfg.file : "built-in defaults", sc->name,
		        config_file ? "" : " (-c FILE)");
		return 1;
	}
	rc = sc->run(&srv, sub_argc, sub_argv);
	if (rc == 2)
		subcommand_usage(stderr, sc);
	return rc;
}
