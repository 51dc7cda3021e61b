/*
 * files_internal.h - what the two doors of the file service share: files.c
 * (PUT/GET, one request per transfer) and files_soap.c (the SOAP service Lync
 * and Skype for Business call, one request per chunk).  The tokens, the
 * rules (transfer_allowed), the limits and the store steps of a transfer
 * live in files.c once; each door only frames requests and answers.
 */
#ifndef PCHAT_FILES_INTERNAL_H
#define PCHAT_FILES_INTERNAL_H

#include "files.h"
#include "sip.h"

#include <mbedtls/sha256.h>

#define FILES_TOKENS_MAX 1024           /* pending tokens in all */
/* Bytes read from the store at a time: one read per refill (files.c's
 * queue target).  A read costs the span it reads wherever it falls (store
 * schema 8 finds the stored pieces by offset); migration 8 cut older files
 * into pieces of this size.  BENCHMARKS.md, round three, has the figures
 * of the one-blob layout before it. */
#define FILES_CHUNK (512u * 1024)
/* The least an HTTP upload stores at a time (unless its body is all in, or
 * the connection's input buffer is full): each piece stored stays a row of
 * the file, so a client sending one byte per TLS record would otherwise
 * cost a row and its overhead per byte, far past its quota. */
#define FILES_PIECE_MIN (64u * 1024)
#define FILES_REPOS_MAX 64              /* a repository name: GUID + "." + extension, NUL */
#define FILES_SOAP_PATH "/PersistentChat/MGCWebService.asmx" /* the SOAP service, getftok's serveruri */

/* A token handed out and not yet spent; token[0] == '\0' marks a free slot.
 * A SOAP transfer spends its token over many requests: from its first chunk
 * (started) the token carries the transfer's state. */
struct files_token {
	char token[FILES_TOKEN_LEN + 1];
	int upload;
	int64_t room_id;
	int64_t file_id;                /* download: the file it reads; SOAP upload: its row once started */
	int64_t expires_ms;             /* loop clock */
	char user[STORE_URI_MAX];
	char name[FILES_NAME_MAX];
	/* SOAP only. */
	int started;                    /* upload: its row exists; download: FILEDOWNLOAD recorded */
	int64_t started_ms;
	uint64_t size, done;            /* upload: fileLength, bytes stored so far */
	char repos[FILES_REPOS_MAX];    /* upload: the uniqueFilename it was given ("" = none yet) */
	mbedtls_sha256_context sha;     /* upload, once started */
};

/* Where one connection is: waiting for its request head, receiving an
 * upload's body, sending a download, receiving a SOAP request's body, or
 * answered (input is then ignored). */
enum fc_state { FC_HEAD, FC_BODY, FC_SENDING, FC_DONE, FC_SOAP_BODY, FC_WEB };

struct files_conn {
	enum fc_state state;
	int64_t opened_ms;
	int64_t body_ms;                /* upload: when its head was accepted */
	/* The transfer, copied from the token when it is spent. */
	int64_t file_id, room_id;
	char user[STORE_URI_MAX];
	char name[FILES_NAME_MAX];
	uint64_t size, done;            /* bytes in all, bytes moved so far */
	mbedtls_sha256_context sha;     /* upload */
	struct buf soap;                /* a SOAP request's body as it arrives */
	void *mounted;                  /* FC_WEB: the mounted application's state */
	char soap_action[40];           /* its operation, from SOAPAction */
};

struct files {
	const struct config *cfg;
	struct store *store;
	struct net *net;
	struct loop *loop;
	files_announce_fn announce;
	void *announce_arg;
	files_rights_fn rights;
	void *rights_arg;
	struct files_mount mount;       /* the mounted application (claims NULL: none) */
	struct net_handlers handlers;
	uint16_t port;
	char url[CONFIG_STR_MAX + 64];  /* https://HOST:PORT/PersistentChat/MGCWebService.asmx */
	int64_t sweep_timer;
	struct sip_limits limits;
	struct sip_msg msg;             /* scratch for the request being parsed */
	unsigned char chunk[FILES_CHUNK];
	struct files_token tokens[FILES_TOKENS_MAX];
};

/* ---- shared by both doors (files.c) ---- */

/* The one rule check: 0, or 403/404/503 with why. */
int files_transfer_allowed(struct files *f, const char *user, int64_t room_id, int upload, const char **why);
/* The pending token equal to p[0..len), or NULL (unknown, spent or expired). */
struct files_token *files_token_find(struct files *f, const char *p, size_t len);
void files_token_drop(struct files *f, struct files_token *t, const char *why);
/* Would an upload of size bytes by user to room pass uploads_per_user (429),
 * a quota (507), or can the store not tell (503)?  0 when it may start;
 * text says why otherwise. */
int files_upload_limits(struct files *f, const char *user, int64_t room_id, uint64_t size, char *text,
                        size_t textlen);
/* The store steps of an upload, each in the pass's transaction; STORE_* codes. */
int files_upload_create(struct files *f, int64_t room_id, const char *name, const char *user, uint64_t size,
                        int64_t *file_id);
int files_upload_piece(struct files *f, int64_t file_id, uint64_t offset, const void *p, size_t n);
/* The last byte is in: the rules again, then complete the row and record
 * FILEUPLOAD.  0, or the status (403, 404, 503, 507) with why; the row is
 * discarded on failure.  info is filled for files_announce. */
int files_upload_complete(struct files *f, int64_t file_id, int64_t room_id, const char *user, const char *name,
                          uint64_t size, mbedtls_sha256_context *sha, struct files_upload_info *info,
                          const char **why);
void files_upload_discard(struct files *f, int64_t file_id, const char *why);
void files_announce(struct files *f, struct files_upload_info *info);
/* Record FILEDOWNLOAD of file_id (in this pass); a STORE_* code. */
int files_download_record(struct files *f, int64_t room_id, const char *user, int64_t file_id, const char *name);
/* 1 when [files] upload_deadline or upload_min_rate cut an upload that began
 * at begun_ms and has done bytes. */
int files_upload_too_slow(struct files *f, int64_t begun_ms, uint64_t done, const char **why);

/* The path of a request target in origin or absolute form; 0 or -1. */
int files_target_path(struct sip_str uri, struct sip_str *path);

/* ---- the SOAP door (files_soap.c) ---- */

/* 1 if a request target names the SOAP service. */
int files_soap_target(struct sip_str uri);
/* The head of a request to the SOAP service has been parsed (m, rc from
 * sip_msg_parse): check it and start taking its body. */
void files_soap_head(struct files *f, struct conn *c, struct files_conn *fc, const struct sip_msg *m, long rc);
/* More of its body arrived. */
void files_soap_body(struct files *f, struct conn *c, struct files_conn *fc);
/* The repository name of a stored file: GUID-based, as Lync names them. */
void files_repos_name(const struct store_file *sf, char out[FILES_REPOS_MAX]);

#endif
