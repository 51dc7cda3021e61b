/*
 * files.h - files posted in rooms: one-time transfer tokens handed out over
 * XCCOS (cmd:getfutok / cmd:getfdtok -> rpl:getftok, xccos.md §5.12) and an
 * HTTPS endpoint on its own port ([files] listen, same certificate) where a
 * token is spent on one upload (PUT <serveruri>/<token>) or one download
 * (GET <serveruri>/<token>), or, as Lync and Skype for Business do, over
 * many SOAP requests to <serveruri> itself (files_soap.h).  serveruri is
 * https://HOST:PORT/PersistentChat/MGCWebService.asmx.  File bodies are
 * streamed into the store as they arrive and out of it in pieces, never
 * held whole in memory.
 *
 * files.c decides who may transfer, when a token is issued and again when
 * it is spent, using the chat service's room rules (the rights callback);
 * it owns tokens, the listener and the bytes.  When an upload completes
 * files.c calls the announce callback so the chat service can post a message
 * about it in the room.
 */
#ifndef PCHAT_FILES_H
#define PCHAT_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "net.h"
#include "store.h"

#define FILES_TOKEN_LEN 36          /* GUID-shaped, from the kernel's CSPRNG (guid_v4) */
#define FILES_NAME_MAX 256          /* bytes incl. NUL of a file's name in its room */

struct files;

/* Called after an upload is committed: the chat service announces it. */
struct files_upload_info {
	int64_t file_id;
	int64_t room_id;
	const char *user;               /* the uploader's SIP URI */
	const char *name;               /* the file's name within the room */
	uint64_t size;
	char sha256_hex[65];
	char uri[CONFIG_STR_MAX + 160]; /* where a Lync client downloads it (FileDownloadLink's FileUri) */
};
typedef void (*files_announce_fn)(void *arg, const struct files_upload_info *info);

/* Create the file service and start listening on cfg's [files] listen with
 * n's certificate (a second listener of the same struct net).  Deletes the
 * incomplete uploads a crash left behind first.  Returns NULL with err set on
 * failure.  l: for token expiry and timeouts.  cfg, st, n and l must outlive
 * f; free f after net_free (the listener's handlers live in f) and before
 * store_close. */
struct files *files_new(const struct config *cfg, struct store *st, struct net *n, struct loop *l,
                        files_announce_fn announce, void *announce_arg, char *err, size_t errlen);
void files_free(struct files *f);

/* The pass's store transaction failed to commit (pchat.c): what file
 * connections wrote or answered in it is gone, so every open transfer is
 * dropped (an upload's row is discarded; the client tries again with a new
 * token).  Safe on NULL. */
void files_pass_failed(struct files *f);

/* The port the HTTPS listener got (for tests that listen on port 0). */
uint16_t files_port(const struct files *f);
/* "https://HOST:PORT" of the listener, as clients are given it (the file
 * URL without its path), for the pages served beside it; 0, or -1. */
int files_origin(const struct files *f, char *out, size_t len);

/* What the chat service's room rules let a user do in a room, from the
 * rights callback: read (and so download), post (and so upload, when the
 * room's category allows files).  0 = nothing (the room is hidden). */
#define FILES_MAY_READ 1u
#define FILES_MAY_POST 2u
typedef unsigned (*files_rights_fn)(void *arg, const struct store_room *r, const char *user);
/* Register the rights callback (xccos.c does, arg = the struct xccos);
 * until then every transfer is refused.  Safe on NULL f. */
void files_set_rights(struct files *f, files_rights_fn fn, void *arg);

/* An application mounted on the HTTPS listener (web.c's room management):
 * requests whose target it claims are handed over with their connection,
 * so the listener knows nothing of the application above it.
 *   claims: 1 when a request target (not decoded) is the application's.
 *   input: serve what c->in holds; *state is the application's state of
 *     this connection (NULL at first).  1 when the next request waiting is
 *     not the application's (it is left in c->in), else 0.
 *   idle: 1 when the connection has waited between requests longer than
 *     the application allows (the listener's sweep closes it).
 *   free_state: the connection ends. */
struct files_mount {
	int (*claims)(const char *target, size_t len);
	int (*input)(void *app, struct conn *c, void **state);
	int (*idle)(const void *app, const void *state);
	void (*free_state)(void *state);
	void *app;
};
/* Mount m (copied) on f; NULL unmounts. */
void files_mount(struct files *f, const struct files_mount *m);

/* Issue a single-use token for user to upload (upload = 1) or download
 * (upload = 0) a file in room_id: an upload names it (name); a download
 * names the file by its id (file_id, decimal text as the announcement's
 * <file id> gives it; "" or NULL = none) or else by name, the room's newest
 * upload of that name.  Who may transfer is checked here, by the same
 * function that checks again when the token is spent: the user exists and is
 * enabled, the room exists and is enabled, the rules let the user read it
 * (download) or post in it with the category's file switch on (upload).
 * Writes the token and the endpoint URL clients put it after
 * ("https://HOST:PORT/PersistentChat/MGCWebService.asmx").  Returns 0, or the status to answer (400, 403,
 * 404, 503) with a short reason in why (static text). */
int files_token_issue(struct files *f, const char *user, int64_t room_id, int upload, const char *name,
                      const char *file_id, char token[FILES_TOKEN_LEN + 1], char *url, size_t urllen,
                      const char **why);

#endif
