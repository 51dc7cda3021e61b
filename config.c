/*
 * config.c - the ini loader.  One table names every key with its type,
 * default and range; the inih handler looks keys up in it, so an unknown
 * section or key, a bad value or an out-of-range number is an error naming
 * FILE:LINE (inih reports the line of the first handler failure).  Relative
 * paths resolve against the ini file's folder, so a config and its store can
 * move together.
 */
#include "config.h"
#include "base.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum config_type { CT_STR, CT_PATH, CT_BOOL, CT_UINT, CT_LISTEN, CT_CHOICE };

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	size_t offset;
	size_t size;            /* bytes, for strings */
	const char *def;        /* default, in ini syntax */
	uint64_t min, max;      /* for CT_UINT */
	const char *choices;    /* for CT_CHOICE: "a|b|c" */
};

#define STR(sec, name, field, def) \
	{ sec, name, CT_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), def, 0, 0, NULL }
#define PATHK(sec, name, field, def) \
	{ sec, name, CT_PATH, offsetof(struct config, field), sizeof(((struct config *)0)->field), def, 0, 0, NULL }
#define UINT(sec, name, field, def, lo, hi) \
	{ sec, name, CT_UINT, offsetof(struct config, field), 0, def, lo, hi, NULL }

static const struct config_key config_keys[] = {
	STR("server", "domain", domain, "example.org"),
	{ "server", "listen", CT_LISTEN, offsetof(struct config, listen), CONFIG_STR_MAX, "0.0.0.0:5061", 0, 0, NULL },
	PATHK("server", "cert", cert, "pchat.crt"),
	PATHK("server", "key", key, "pchat.key"),
	STR("server", "lookup_uri", lookup_uri, ""),
	STR("server", "channel_uri", channel_uri, ""),
	STR("server", "display_name", display_name, "pchat"),
	PATHK("server", "control_socket", control_socket, "pchat.sock"),
	{ "server", "log_level", CT_CHOICE, offsetof(struct config, log_level), 16, "info", 0, 0, "error|warn|info|debug" },
	PATHK("store", "path", store_path, "pchat.db"),
	{ "compliance", "enabled", CT_BOOL, offsetof(struct config, compliance_enabled), 0, "true", 0, 0, NULL },
	UINT("compliance", "run_interval", run_interval, "900", 1, 2592000),
	PATHK("compliance", "output_dir", output_dir, "compliance"),
	{ "compliance", "format", CT_CHOICE, offsetof(struct config, compliance_format), 16, "lync", 0, 0, "lync|actiance" },
	UINT("compliance", "max_batch_events", max_batch_events, "10000", 1, 1000000),
	UINT("chat", "max_message_bytes", max_message_bytes, "8000", 16, 1048576),
	UINT("chat", "search_limit", search_limit, "200", 1, 10000),
	UINT("chat", "history_limit", history_limit, "100", 1, 10000),
	UINT("chat", "participant_update_limit", participant_update_limit, "75", 0, 1000000),
	{ "auth", "mode", CT_CHOICE, offsetof(struct config, auth_mode), 16, "ntlm", 0, 0, "ntlm|none" },
	STR("auth", "realm", realm, "SIP Communications Service"),
	STR("auth", "targetname", targetname, ""),
	UINT("auth", "register_expires", register_expires, "7200", 60, 86400),
	UINT("auth", "max_failures_per_connection", max_failures_per_connection, "3", 0, 1000),
	UINT("auth", "failure_delay_ms", failure_delay_ms, "1000", 0, 60000),
	UINT("auth", "lockout_threshold", lockout_threshold, "5", 0, 1000000),
	UINT("auth", "account_lockout_threshold", account_lockout_threshold, "20", 0, 1000000),
	UINT("auth", "address_lockout_threshold", address_lockout_threshold, "30", 0, 1000000),
	UINT("auth", "lockout_seconds", lockout_seconds, "300", 1, 86400),
	UINT("auth", "min_password_length", min_password_length, "8", 0, 128),
	UINT("limits", "max_header_bytes", max_header_bytes, "16384", 512, 1048576),
	UINT("limits", "max_headers", max_headers, "64", 8, 256),
	UINT("limits", "max_body_bytes", max_body_bytes, "65536", 1024, 16777216),
	UINT("limits", "max_input_bytes", max_input_bytes, "131072", 2048, 33554432),
	UINT("limits", "max_output_bytes", max_output_bytes, "1048576", 65536, 268435456),
	UINT("limits", "max_connections", max_connections, "10000", 1, 1000000),
	UINT("limits", "max_connections_per_ip", max_connections_per_ip, "1000", 1, 1000000),
	UINT("limits", "max_anonymous_connections", max_anonymous_connections, "1000", 1, 1000000),
	UINT("limits", "max_anonymous_per_ip", max_anonymous_per_ip, "256", 1, 1000000),
	UINT("limits", "handshake_timeout", handshake_timeout, "10", 1, 600),
	UINT("limits", "signin_timeout", signin_timeout, "30", 1, 3600),
	UINT("limits", "idle_timeout", idle_timeout, "600", 1, 86400),
	UINT("limits", "session_expires", session_expires, "1800", 90, 86400),
	{ "files", "enabled", CT_BOOL, offsetof(struct config, files_enabled), 0, "true", 0, 0, NULL },
	{ "files", "listen", CT_LISTEN, offsetof(struct config, files_listen), CONFIG_STR_MAX, "0.0.0.0:8443", 0, 0, NULL },
	/* SQLite keeps one value under 1e9 bytes (SQLITE_MAX_LENGTH). */
	UINT("files", "max_file_kb", files_max_file_kb, "20000", 1, 976000),
	UINT("files", "token_ttl", files_token_ttl, "300", 1, 86400),
	STR("files", "public_host", files_public_host, ""),
	UINT("files", "upload_deadline", files_upload_deadline, "3600", 0, 86400),
	UINT("files", "upload_min_rate", files_upload_min_rate, "1024", 0, 1073741824),
	UINT("files", "uploads_per_user", files_uploads_per_user, "4", 0, 1000),
	UINT("files", "user_quota_kb", files_user_quota_kb, "1048576", 0, 1073741824),
	UINT("files", "room_quota_kb", files_room_quota_kb, "10485760", 0, 1073741824),
	UINT("files", "max_request_kb", files_max_request_kb, "1024", 4, 65536),
	STR("web", "admins", web_admins, ""),
	STR("web", "external_url", web_external_url, ""),
	{ "web", "enabled", CT_BOOL, offsetof(struct config, web_enabled), 0, "true", 0, 0, NULL },
	UINT("web", "session_minutes", web_session_minutes, "480", 1, 10080),
	/* Behind a front end (frontend.h): "" = standalone only; Lync's port is 5041. */
	STR("frontend", "listen", fe_listen, ""),
	PATHK("frontend", "ca_file", fe_ca_file, ""),
	STR("frontend", "peers", fe_peers, ""),
	UINT("frontend", "max_message_bytes", fe_max_message_bytes, "57344", 8192, 4194304),
};
#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

/* Where each choice-typed key's word goes as a number (config.h's enums:
 * the index of the word in the key's choices), found by the text field. */
static const struct { size_t offset, id_offset; } config_choice_ids[] = {
	{ offsetof(struct config, log_level), offsetof(struct config, log_level_id) },
	{ offsetof(struct config, compliance_format), offsetof(struct config, compliance_format_id) },
	{ offsetof(struct config, auth_mode), offsetof(struct config, auth_mode_id) },
};
_Static_assert(LOG_ERROR == 0 && LOG_WARN == 1 && LOG_INFO == 2 && LOG_DEBUG == 3,
               "server.log_level's choices are in enum log_level's order");

/* The offset of the int that gets the index of choice-typed key k's word;
 * 0 (config.file's, never such an int) for a key without one. */
static size_t config_choice_id(const struct config_key *k)
{
	for (size_t i = 0; i < sizeof config_choice_ids / sizeof config_choice_ids[0]; i++)
		if (config_choice_ids[i].offset == k->offset)
			return config_choice_ids[i].id_offset;
	return 0;
}

struct config_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	int failed;         /* first handler error already recorded */
};

static const struct config_key *config_find(const char *section, const char *name, int *section_known)
{
	*section_known = 0;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		*section_known = 1;
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* Decimal only, no sign, no spaces, in [min, max] (strtonum in spirit). */
static int config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (parse_u64(s, strlen(s), max, &v) < 0 || v < min)
		return -1;
	*out = v;
	return 0;
}

static int config_parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* The index of v among the words of choices ("a|b|c"), or -1. */
static int config_choice_index(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == vl && strncmp(p, v, n) == 0)
			return i;
		p += n + (bar ? 1 : 0);
	}
	return -1;
}

int config_listen_split(const char *listen, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(listen, ':');
	uint64_t p;
	size_t hl;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - listen);
	if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
		listen++;   /* [::1]:5061 */
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen || config_parse_uint(colon + 1, 0, 65535, &p) < 0)
		return -1;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* The listeners bind numeric addresses only (net_listen: AI_NUMERICHOST),
 * so a host name or a malformed address is refused here, at load, rather
 * than when the server starts.  An IPv6 address needs its brackets: in
 * ::1:5061 the port cannot be told from the address. */
static int config_listen_host_check(const char *listen, const char *host, char *why, size_t whylen)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int bracketed = listen[0] == '[';

	if (bracketed ? inet_pton(AF_INET6, host, addr) == 1 : inet_pton(AF_INET, host, addr) == 1)
		return 0;
	if (!bracketed && inet_pton(AF_INET6, host, addr) == 1)
		snprintf(why, whylen, "IPv6 address \"%.60s\" without brackets: write [%.60s]:PORT", host, host);
	else if (bracketed || strchr(host, ':'))
		snprintf(why, whylen, "\"%.60s\" is not an IPv6 address (write [::]:PORT or [::1]:PORT)", host);
	else
		snprintf(why, whylen, "\"%.60s\" is not a numeric address: write 0.0.0.0 (all), 127.0.0.1, an address of"
		         " this host, or [::] (host names are not resolved)", host);
	return -1;
}

/* Control characters never belong in a setting; they would end up in logs and
 * on the wire. */
static int config_text_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

static int config_set(struct config *c, const struct config_key *k, const char *v,
                      char *why, size_t whylen)
{
	char *field = (char *)c + k->offset;
	char host[CONFIG_STR_MAX];
	uint16_t port;
	int n, choice;

	if (!config_text_ok(v)) {
		snprintf(why, whylen, "control character in value");
		return -1;
	}
	switch (k->type) {
	case CT_UINT:
		if (config_parse_uint(v, k->min, k->max, (uint64_t *)field) < 0) {
			snprintf(why, whylen, "expected a whole number from %llu to %llu, got \"%s\"",
			         (unsigned long long)k->min, (unsigned long long)k->max, v);
			return -1;
		}
		return 0;
	case CT_BOOL:
		if (config_parse_bool(v, (int *)field) < 0) {
			snprintf(why, whylen, "expected true or false, got \"%s\"", v);
			return -1;
		}
		return 0;
	case CT_CHOICE:
		if ((choice = config_choice_index(k->choices, v)) < 0) {
			snprintf(why, whylen, "expected one of %s, got \"%s\"", k->choices, v);
			return -1;
		}
		if (config_choice_id(k) != 0)
			memcpy((char *)c + config_choice_id(k), &choice, sizeof choice);
		break;
	case CT_LISTEN:
		if (config_listen_split(v, host, sizeof host, &port) < 0) {
			snprintf(why, whylen, "expected HOST:PORT, got \"%s\"", v);
			return -1;
		}
		if (config_listen_host_check(v, host, why, whylen) < 0)
			return -1;
		break;
	case CT_PATH:
		/* Empty means "none" only for a path that has no default (a file
		 * the site must name, such as [frontend] ca_file). */
		if (*v == '\0' && k->def[0] == '\0') {
			field[0] = '\0';
			return 0;
		}
		if (*v == '\0') {
			snprintf(why, whylen, "empty path");
			return -1;
		}
		n = (*v == '/' || c->dir[0] == '\0')
		        ? snprintf(field, k->size, "%s", v)
		        : snprintf(field, k->size, "%s/%s", c->dir, v);
		if (n < 0 || (size_t)n >= k->size) {
			snprintf(why, whylen, "path too long");
			return -1;
		}
		return 0;
	case CT_STR:
		break;
	}
	if (strlen(v) >= k->size) {
		snprintf(why, whylen, "value longer than %zu bytes", k->size - 1);
		return -1;
	}
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *ctx = user;
	const struct config_key *k;
	char why[256];
	int known;

	if (ctx->failed)
		return 0;   /* keep only the first error; inih reports its line */
	k = config_find(section, name, &known);
	if (k == NULL) {
		if (known)
			snprintf(ctx->err, ctx->errlen, "unknown key \"%s\" in [%s]", name, section);
		else
			snprintf(ctx->err, ctx->errlen, "unknown section [%s] (key \"%s\")", section, name);
		ctx->failed = 1;
		return 0;
	}
	if (config_set(ctx->c, k, value, why, sizeof why) < 0) {
		snprintf(ctx->err, ctx->errlen, "%s.%s: %s", section, name, why);
		ctx->failed = 1;
		return 0;
	}
	return 1;
}

void config_defaults(struct config *c, const char *dir)
{
	char why[256];

	memset(c, 0, sizeof *c);
	snprintf(c->dir, sizeof c->dir, "%s", dir ? dir : "");
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (config_set(c, &config_keys[i], config_keys[i].def, why, sizeof why) < 0)
			fatal("event=config-default key=%s reason=\"%s\"", config_keys[i].name, why);
}

/* 1 when two listen values would bind the same port: the same address, or
 * one of them a wildcard of the other's family ([::] also takes IPv4 where
 * the system maps it).  Port 0 picks a free port each time: no clash. */
static int config_listen_clash(const char *a, const char *b)
{
	char ha[CONFIG_STR_MAX], hb[CONFIG_STR_MAX];
	uint16_t pa, pb;
	int va, vb, wa, wb;

	if (config_listen_split(a, ha, sizeof ha, &pa) < 0 || config_listen_split(b, hb, sizeof hb, &pb) < 0 ||
	    pa == 0 || pa != pb)
		return 0;
	va = strchr(ha, ':') != NULL;
	vb = strchr(hb, ':') != NULL;
	wa = !strcmp(ha, va ? "::" : "0.0.0.0");
	wb = !strcmp(hb, vb ? "::" : "0.0.0.0");
	return !strcmp(ha, hb) || (va == vb && (wa || wb)) || (va && wa) || (vb && wb);
}

/* Checks across keys, after every key is read. */
static int config_validate(struct config *c, char *why, size_t whylen)
{
	int n;

	if (c->max_body_bytes + c->max_header_bytes > c->max_input_bytes) {
		snprintf(why, whylen, "limits.max_input_bytes (%llu) must hold max_header_bytes + max_body_bytes (%llu)",
		         (unsigned long long)c->max_input_bytes,
		         (unsigned long long)(c->max_body_bytes + c->max_header_bytes));
		return -1;
	}
	for (const char *p = c->domain; *p; p++) {
		/* The domain goes into URIs that sipe puts into XML unescaped. */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-')) {
			snprintf(why, whylen, "server.domain \"%s\" may hold only letters, digits, '.' and '-'", c->domain);
			return -1;
		}
	}
	if (c->domain[0] == '\0') {
		snprintf(why, whylen, "server.domain is empty");
		return -1;
	}
	if (c->lookup_uri[0] == '\0')
		n = snprintf(c->lookup_uri, sizeof c->lookup_uri, "sip:ocschat@%s", c->domain);
	else
		n = 0;
	if (n < 0 || (size_t)n >= sizeof c->lookup_uri)
		goto long_domain;
	if (c->channel_uri[0] == '\0')
		n = snprintf(c->channel_uri, sizeof c->channel_uri, "sip:pchat@%s", c->domain);
	if (n < 0 || (size_t)n >= sizeof c->channel_uri)
		goto long_domain;
	if (c->targetname[0] == '\0')
		n = snprintf(c->targetname, sizeof c->targetname, "sip.%s", c->domain);
	if (n < 0 || (size_t)n >= sizeof c->targetname)
		goto long_domain;
	for (const char *p = c->files_public_host; *p; p++) {
		/* It goes into the https URL handed to clients: a host name, an
		 * address ([v6] bracketed) and an optional :port, nothing else. */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']')) {
			snprintf(why, whylen, "files.public_host \"%s\" may hold only a host name or address and :PORT",
			         c->files_public_host);
			return -1;
		}
	}
	if (c->files_enabled && config_listen_clash(c->listen, c->files_listen)) {
		snprintf(why, whylen, "server.listen (%.64s) and files.listen (%.64s) are the same port: give files its own"
		         " (8443 by default)", c->listen, c->files_listen);
		return -1;
	}
	if (strncmp(c->lookup_uri, "sip:", 4) != 0 || strncmp(c->channel_uri, "sip:", 4) != 0) {
		snprintf(why, whylen, "server.lookup_uri and server.channel_uri must start with sip:");
		return -1;
	}
	return 0;
long_domain:
	snprintf(why, whylen, "server.domain is too long");
	return -1;
}

static int config_finish(struct config *c, int rc, const char *name, struct config_ctx *ctx)
{
	char why[512];

	if (rc == -1) {
		snprintf(ctx->err, ctx->errlen, "%s: cannot open: %s", name, strerror(errno));
		return -1;
	}
	if (rc == -2) {
		snprintf(ctx->err, ctx->errlen, "%s: out of memory", name);
		return -1;
	}
	if (rc > 0) {
		/* inih's line of the first error; our handler's message, or a syntax error */
		char msg[512];

		snprintf(msg, sizeof msg, "%s", ctx->failed ? ctx->err : "syntax error (expected [section] or key = value)");
		snprintf(ctx->err, ctx->errlen, "%s:%d: %s", name, rc, msg);
		return -1;
	}
	if (config_validate(c, why, sizeof why) < 0) {
		snprintf(ctx->err, ctx->errlen, "%s: %s", name, why);
		return -1;
	}
	return 0;
}

static void config_dir_of(const char *file, char *dir, size_t dirlen)
{
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		snprintf(dir, dirlen, ".");
	else if (slash == file)
		snprintf(dir, dirlen, "/");
	else
		snprintf(dir, dirlen, "%.*s", (int)(slash - file), file);
}

int config_load(struct config *c, const char *file, char *err, size_t errlen)
{
	struct config_ctx ctx = { c, err, errlen, 0 };
	char dir[PATH_MAX];
	struct stat sb;
	int rc;

	if (strlen(file) >= sizeof c->file) {
		snprintf(err, errlen, "config path too long");
		return -1;
	}
	/* inih reads a folder as an empty ini: every default, silently. */
	if (stat(file, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is a folder: -c takes the ini file (such as %s/pchat.ini)", file, file);
		return -1;
	}
	config_dir_of(file, dir, sizeof dir);
	config_defaults(c, dir);
	snprintf(c->file, sizeof c->file, "%s", file);
	errno = 0;
	rc = ini_parse(file, config_handler, &ctx);
	return config_finish(c, rc, file, &ctx);
}

int config_load_string(struct config *c, const char *text, const char *name,
                       const char *dir, char *err, size_t errlen)
{
	struct config_ctx ctx = { c, err, errlen, 0 };
	int rc;

	config_defaults(c, dir);
	snprintf(c->file, sizeof c->file, "%s", name);
	rc = ini_parse_string(text, config_handler, &ctx);
	return config_finish(c, rc, name, &ctx);
}

void config_print(const struct config *c, FILE *out)
{
	fprintf(out, "# effective settings (%s)\n", c->file[0] ? c->file : "built-in defaults");
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *field = (const char *)c + k->offset;

		fprintf(out, "%s.%s = ", k->section, k->name);
		if (k->type == CT_UINT)
			fprintf(out, "%llu\n", (unsigned long long)*(const uint64_t *)field);
		else if (k->type == CT_BOOL)
			fprintf(out, "%s\n", *(const int *)field ? "true" : "false");
		else
			fprintf(out, "%s\n", field);
	}
}

void config_each_key(void (*fn)(void *arg, const char *section, const char *name), void *arg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		fn(arg, config_keys[i].section, config_keys[i].name);
}

/* ---- reload (SIGHUP) ---- */

/* Keys a running server takes without dropping anyone: they are read where
 * they are used, or apply to what starts after the reload (new connections,
 * the next request, the next sweep).  Every other key, including any added
 * later and not listed here, needs a restart: listen, domain and store.path
 * are bound at start, the SIP caps size every parser, the NTLM names and
 * session lengths were promised to signed-in clients, and compliance
 * capture must not change silently under a running export. */
static const char *const config_live_keys[] = {
	"server.cert", "server.key", "server.log_level",
	"chat.max_message_bytes", "chat.search_limit", "chat.history_limit", "chat.participant_update_limit",
	"frontend.max_message_bytes",
	"auth.register_expires", "auth.max_failures_per_connection", "auth.failure_delay_ms",
	"auth.lockout_threshold", "auth.account_lockout_threshold", "auth.address_lockout_threshold",
	"auth.lockout_seconds",
	"limits.max_input_bytes", "limits.max_output_bytes", "limits.max_connections",
	"limits.max_connections_per_ip", "limits.handshake_timeout", "limits.idle_timeout",
	"limits.max_anonymous_connections", "limits.max_anonymous_per_ip", "limits.signin_timeout",
};

static int config_is_live(const struct config_key *k)
{
	char full[128];

	snprintf(full, sizeof full, "%s.%s", k->section, k->name);
	for (size_t i = 0; i < sizeof config_live_keys / sizeof config_live_keys[0]; i++)
		if (strcmp(config_live_keys[i], full) == 0)
			return 1;
	return 0;
}

static void config_value_text(const struct config *c, const struct config_key *k, char *out, size_t outlen)
{
	const char *field = (const char *)c + k->offset;

	if (k->type == CT_UINT)
		snprintf(out, outlen, "%llu", (unsigned long long)*(const uint64_t *)field);
	else if (k->type == CT_BOOL)
		snprintf(out, outlen, "%s", *(const int *)field ? "true" : "false");
	else
		snprintf(out, outlen, "%s", field);
}

void config_each_change(const struct config *cur, const struct config *next,
                        void (*fn)(void *arg, const char *section, const char *name,
                                   const char *old, const char *new, int live),
                        void *arg)
{
	char a[PATH_MAX], b[PATH_MAX];

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		config_value_text(cur, &config_keys[i], a, sizeof a);
		config_value_text(next, &config_keys[i], b, sizeof b);
		if (strcmp(a, b) != 0)
			fn(arg, config_keys[i].section, config_keys[i].name, a, b, config_is_live(&config_keys[i]));
	}
}

int config_apply_live(struct config *cur, const struct config *next, char *err, size_t errlen)
{
	struct config *mix = malloc(sizeof *mix);
	char why[512];

	if (mix == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*mix = *cur;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (config_is_live(k))
			memcpy((char *)mix + k->offset, (const char *)next + k->offset,
			       k->type == CT_UINT ? sizeof(uint64_t) : k->type == CT_BOOL ? sizeof(int) : k->size);
		if (config_is_live(k) && k->type == CT_CHOICE && config_choice_id(k) != 0)
			memcpy((char *)mix + config_choice_id(k), (const char *)next + config_choice_id(k), sizeof(int));
	}
	/* New values next to the running ones of restart-only keys must still
	 * make sense together (max_input_bytes against the running SIP caps). */
	if (config_validate(mix, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s (with the settings that need a restart kept as they run)",
		         next->file, why);
		free(mix);
		return -1;
	}
	*cur = *mix;
	free(mix);
	return 0;
}
