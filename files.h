/*
 * files.h - files posted in rooms: one-time transfer tokens handed out over
 * XCCOS (cmd:getfutok / cmd:getfdtok -> rpl:getftok, xccos.md §5.12) and an
 * HTTPS endpoint on its own port ([files] listen, same certificate) where a
 * token is spent on one upload (PUT <serveruri>/<token>) or one download
 * (GET <serveruri>/<token>).  File bodies are streamed into and out of the
 * store with SQLite incremental blob I/O, never held whole in memory.
 *
 * xccos.c decides who may transfer (the room rules) and asks for a token;
 * files.c owns tokens, the listener and the bytes.  When an upload completes
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

#define FILES_TOKEN_LEN 36          /* GUID-shaped, from the CTR-DRBG */
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

/* Issue a single-use token for user to upload (upload = 1) or download
 * (upload = 0) the file called name in room_id; the caller has checked the
 * room rules.  Writes the token and the endpoint URL clients put it after
 * ("https://HOST:PORT/files").  Returns 0, or -1 (name invalid, or for a
 * download no such file) with a short reason in why (static text). */
int files_token_issue(struct files *f, const char *user, int64_t room_id, int upload, const char *name,
                      char token[FILES_TOKEN_LEN + 1], char *url, size_t urllen, const char **why);

#endif
