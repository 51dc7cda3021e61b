/*
 * config.h - the settings of one pchat instance, loaded from an ini file by a
 * strict inih handler driven by one table of keys (config.c), so defaults,
 * range checks, `pchat check` and the documentation test share one source.
 */
#ifndef PCHAT_CONFIG_H
#define PCHAT_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_STR_MAX 256

/* The choice-typed keys as the code reads them, set at load: each value is
 * the index of the word in the key's choices (config.c), so the order here
 * is that of the words there.  log_level is log.h's enum log_level. */
enum config_auth_mode { CONFIG_AUTH_NTLM = 0, CONFIG_AUTH_NONE = 1 };
enum config_format { CONFIG_FORMAT_LYNC = 0, CONFIG_FORMAT_ACTIANCE = 1 };

struct config {
	char file[PATH_MAX];        /* the ini it was read from; "" = built-in defaults */
	char dir[PATH_MAX];         /* folder relative paths resolve against */
	/* [server] */
	char domain[CONFIG_STR_MAX];
	char listen[CONFIG_STR_MAX];        /* host:port */
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char lookup_uri[CONFIG_STR_MAX];
	char channel_uri[CONFIG_STR_MAX];
	char display_name[CONFIG_STR_MAX];  /* the service's name in getserverinfo */
	char log_level[16];
	int log_level_id;                   /* enum log_level */
	char control_socket[PATH_MAX];      /* `pchat status` and metrics (control.h) */
	/* [store] */
	char store_path[PATH_MAX];
	/* [compliance] */
	int compliance_enabled;
	uint64_t run_interval;
	char output_dir[PATH_MAX];
	char compliance_format[16];         /* "lync" or "actiance", as batches record it */
	int compliance_format_id;           /* enum config_format */
	uint64_t max_batch_events;
	/* [chat] */
	uint64_t max_message_bytes;
	uint64_t search_limit;
	uint64_t history_limit;
	uint64_t participant_update_limit;  /* past it no join/part notices to all, roster cut; 0 = none */
	/* [auth] */
	char auth_mode[16];                 /* "ntlm" or "none" */
	int auth_mode_id;                   /* enum config_auth_mode */
	char realm[CONFIG_STR_MAX];
	char targetname[CONFIG_STR_MAX];
	uint64_t register_expires;
	uint64_t max_failures_per_connection;   /* sign-in throttling (lockout.h); 0 = off */
	uint64_t failure_delay_ms;
	uint64_t lockout_threshold;
	uint64_t account_lockout_threshold;
	uint64_t address_lockout_threshold;
	uint64_t lockout_seconds;
	uint64_t min_password_length;   /* characters; 0 = no minimum */
	/* [limits] */
	uint64_t max_header_bytes;
	uint64_t max_headers;
	uint64_t max_body_bytes;
	uint64_t max_input_bytes;
	uint64_t max_output_bytes;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	uint64_t max_anonymous_connections; /* not signed in yet, in all */
	uint64_t max_anonymous_per_ip;
	uint64_t handshake_timeout;
	uint64_t signin_timeout;            /* seconds from TLS handshake to sign-in */
	uint64_t idle_timeout;
	uint64_t session_expires;
	/* [files] */
	int files_enabled;
	char files_listen[CONFIG_STR_MAX];  /* host:port */
	uint64_t files_max_file_kb;
	uint64_t files_token_ttl;           /* seconds */
	char files_public_host[CONFIG_STR_MAX]; /* "" = derived (files.c) */
	uint64_t files_upload_deadline;     /* seconds for a whole body; 0 = none */
	uint64_t files_upload_min_rate;     /* bytes/s a body must average; 0 = any */
	uint64_t files_uploads_per_user;    /* uploads at once per user; 0 = any */
	uint64_t files_user_quota_kb;       /* KiB a user's files may hold; 0 = any */
	uint64_t files_room_quota_kb;       /* KiB a room's files may hold; 0 = any */
	uint64_t files_max_request_kb;      /* KiB of one SOAP request (one chunk), GetMaxRequestContentInKB */
	/* [web] (room management) */
	char web_admins[4096];              /* site admins: user names or URIs, space/comma separated */
	char web_external_url[CONFIG_STR_MAX]; /* PersistentChatWebManagerUriExt; "" = the internal one */
	/* [web] (web.c: sign-in and sessions) */
	int web_enabled;
	uint64_t web_session_minutes;       /* a web session's lifetime */
	/* [frontend] */
	char fe_listen[CONFIG_STR_MAX];     /* host:port; "" = no front-end listener */
	char fe_ca_file[PATH_MAX];          /* CA the front end's client certificate chains to */
	char fe_peers[CONFIG_STR_MAX];      /* FQDNs allowed, comma or space separated */
	uint64_t fe_max_message_bytes;      /* body of one INFO to a user behind it: what it relays */
};

/* Fill c with the built-in defaults, paths resolved against dir. */
void config_defaults(struct config *c, const char *dir);

/* Load file over the defaults (relative paths resolve against the file's
 * folder).  On error returns -1 with "FILE:LINE: what" (or "FILE: why") in
 * err; c is then unspecified. */
int config_load(struct config *c, const char *file, char *err, size_t errlen);

/* Same, from a string (for tests); name is used in messages, dir for paths. */
int config_load_string(struct config *c, const char *text, const char *name,
                       const char *dir, char *err, size_t errlen);

/* Print every effective setting as "section.key = value", one per line. */
void config_print(const struct config *c, FILE *out);

/* Call fn for every known key (for documentation checks). */
void config_each_key(void (*fn)(void *arg, const char *section, const char *name), void *arg);

/* Reload: call fn for every key whose value differs between cur (running)
 * and next (just loaded), with both values as text and live = 1 when a
 * running server can take the new value (config_apply_live copies it) or 0
 * when it needs a restart. */
void config_each_change(const struct config *cur, const struct config *next,
                        void (*fn)(void *arg, const char *section, const char *name,
                                   const char *old, const char *new, int live),
                        void *arg);

/* Copy the live keys of next into cur, keep the others, and check the
 * result as a whole.  Returns 0, or -1 with err set and cur unchanged. */
int config_apply_live(struct config *cur, const struct config *next, char *err, size_t errlen);

/* Split c->listen into host and port.  Returns 0 or -1. */
int config_listen_split(const char *listen, char *host, size_t hostlen, uint16_t *port);

#endif
