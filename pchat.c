/*
 * pchat.c - main: the command line, start-up and shutdown of the server,
 * and the wiring of the modules around the one event loop.
 *
 * Signals arrive through a signalfd watched by the loop, so the only global
 * state is none: everything hangs off struct server below.
 */
#include "admin.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "sip_server.h"
#include "store.h"
#include "xccos.h"

#include <libxml/parser.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PCHAT_VERSION
#define PCHAT_VERSION "0.1"
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
	int sigfd;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "pchat %s - persistent group chat for Lync/Skype-protocol clients (XCCOS over SIP/TLS)\n"
	        "\n"
	        "usage: pchat [-c FILE] [serve]            run the server in the foreground, log to stderr\n"
	        "       pchat [-c FILE] check              validate the config and store, print effective settings\n"
	        "       pchat [-c FILE] user add|passwd USER [--password-stdin]\n"
	        "       pchat [-c FILE] user del|show USER\n"
	        "       pchat [-c FILE] user list\n"
	        "       pchat [-c FILE] category add NAME [--description TEXT] [--file-upload on|off]\n"
	        "                [--invitations on|off] [--history on|off]\n"
	        "                [--allow USER]... [--deny USER]... [--creator USER]...\n"
	        "       pchat [-c FILE] category set NAME [--rename NEW] [the options of add]\n"
	        "                [--unallow USER]... [--undeny USER]... [--uncreator USER]...\n"
	        "       pchat [-c FILE] category show|del NAME\n"
	        "       pchat [-c FILE] category list\n"
	        "       pchat [-c FILE] room add NAME [--category C] [--privacy open|closed|secret]\n"
	        "                [--type normal|auditorium] [--description TEXT] [--topic TEXT]\n"
	        "                [--invitations inherit|on|off] [--member USER]... [--manager USER]...\n"
	        "                [--presenter USER]...\n"
	        "       pchat [-c FILE] room set ROOM [--name NEW] [the options of add]\n"
	        "                [--remove-member USER]... [--remove-manager USER]... [--remove-presenter USER]...\n"
	        "       pchat [-c FILE] room show|disable|enable|del ROOM\n"
	        "       pchat [-c FILE] room list\n"
	        "       pchat --help | --version\n"
	        "\n"
	        "  -c FILE   the ini file (default ./%s; without one, built-in defaults are used\n"
	        "            and files are kept in the current folder)\n"
	        "  USER      alice, alice@example.org or sip:alice@example.org\n"
	        "  ROOM      a room's name, its GUID or its URI ma-chan://DOMAIN/GUID\n"
	        "  A category's allowed list (when not empty) and denied list bound who may be in\n"
	        "  its rooms; `room add` prints the new room's URI alone.\n"
	        "\n"
	        "Exit status: 0 success, 1 error (one line on stderr), 2 usage.\n",
	        PCHAT_VERSION, PCHAT_DEFAULT_CONFIG);
}

static void drop_conn(struct conn *c, void *arg)
{
	(void)arg;
	conn_kill(c, "store commit failed: answers of this pass withdrawn");
}

/* Commit what this pass wrote before anything is flushed; if the commit
 * fails, no acknowledgement of it may leave, so every connection with
 * output queued is dropped (clients reconnect and resend). */
static void server_commit(struct server *srv)
{
	if (xccos_commit(srv->chat) < 0)
		net_each_conn(srv->net, sip_server_handlers(srv->sip), drop_conn, NULL);
}

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

static void server_on_signal(struct loop *l, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("event=shutdown signal=%s", si.ssi_signo == SIGTERM ? "TERM" : "INT");
			loop_stop(l);
		} else if (si.ssi_signo == SIGHUP) {
			log_info("event=sighup action=none reason=\"reload is not implemented yet\"");
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
	net_free(srv->net);     /* closes connections: dialogs end through sip and chat */
	sip_server_free(srv->sip);
	xccos_free(srv->chat);  /* commits the parts recorded just now */
	store_close(srv->store);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	loop_free(srv->loop);
	xmlCleanupParser();
}

static int cmd_serve(struct server *srv)
{
	struct config *cfg = &srv->cfg;
	struct net_limits lim;
	char err[512], host[CONFIG_STR_MAX];
	uint16_t port;
	int rc = 1;
	enum log_level level;

	if (log_level_parse(cfg->log_level, &level) == 0)
		log_set_level(level);
	srv->sigfd = -1;
	log_info("event=start version=%s config=%s domain=%s", PCHAT_VERSION,
	         cfg->file[0] ? cfg->file : "(built-in defaults)", cfg->domain);
	if (store_open(&srv->store, cfg->store_path, err, sizeof err) != STORE_OK) {
		log_error("event=store-open path=%s reason=\"%s\"", cfg->store_path, err);
		goto out;
	}
	srv->loop = loop_new();
	if (srv->loop == NULL || server_signals(srv) < 0) {
		log_error("event=loop-init reason=\"%s\"", strerror(errno));
		goto out;
	}
	lim.max_input_bytes = cfg->max_input_bytes;
	lim.max_output_bytes = cfg->max_output_bytes;
	lim.max_connections = cfg->max_connections;
	lim.max_connections_per_ip = cfg->max_connections_per_ip;
	lim.handshake_timeout_ms = (int64_t)cfg->handshake_timeout * 1000;
	lim.idle_timeout_ms = (int64_t)cfg->idle_timeout * 1000;
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
	if (!cfg->compliance_enabled)
		log_warn("event=compliance-disabled reason=\"[compliance] enabled = false: no events are captured\"");
	loop_set_before_sleep(srv->loop, server_before_sleep, srv);
	log_info("event=ready port=%u store=%s", (unsigned)net_listen_port(srv->net, 0), cfg->store_path);
	if (loop_run(srv->loop) < 0) {
		log_error("event=loop-failed reason=\"%s\"", strerror(errno));
		goto out;
	}
	rc = 0;
	log_info("event=stopped");
out:
	server_free(srv);
	return rc;
}

static int cmd_check(const struct config *cfg)
{
	struct store *st = NULL;
	char err[512];
	int rc = 0;

	config_print(cfg, stdout);
	if (store_open(&st, cfg->store_path, err, sizeof err) != STORE_OK) {
		printf("store: ERROR %s\n", err);
		return 1;
	}
	if (store_integrity_check(st, err, sizeof err) != STORE_OK) {
		printf("store: ERROR integrity check failed: %s\n", err);
		rc = 1;
	} else {
		printf("store: ok (%s, schema version %d)\n", cfg->store_path, store_schema_version(st));
	}
	store_close(st);
	return rc;
}

static int file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

int main(int argc, char **argv)
{
	static struct server srv;   /* static: large, and lives for the whole run */
	const char *config_file = NULL, *cmd;
	char err[600];
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("pchat %s\n", PCHAT_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config_file = argv[++i];
			continue;
		}
		fprintf(stderr, "pchat: unknown option %s (try --help)\n", argv[i]);
		return 2;
	}
	cmd = i < argc ? argv[i] : "serve";
	if (config_file == NULL && file_exists(PCHAT_DEFAULT_CONFIG))
		config_file = PCHAT_DEFAULT_CONFIG;
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
	if (!strcmp(cmd, "serve") && i + 1 >= argc)
		return cmd_serve(&srv);
	if (!strcmp(cmd, "check") && i + 1 >= argc)
		return cmd_check(&srv.cfg);
	if (!strcmp(cmd, "user"))
		return admin_user(&srv.cfg, argc - i, argv + i);
	if (!strcmp(cmd, "category"))
		return admin_category(&srv.cfg, argc - i, argv + i);
	if (!strcmp(cmd, "room"))
		return admin_room(&srv.cfg, argc - i, argv + i);
	if (!strcmp(cmd, "export") ||
	    !strcmp(cmd, "verify") || !strcmp(cmd, "backup")) {
		fprintf(stderr, "pchat: '%s' is not available in this version yet\n", cmd);
		return 1;
	}
	fprintf(stderr, "pchat: unknown command '%s' (try --help)\n", cmd);
	return 2;
}
