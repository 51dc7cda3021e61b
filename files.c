/*
 * files.c - see files.h.  One-time tokens in a bounded table, and the
 * HTTPS endpoint where they are spent: one request per connection,
 *
 *   PUT /files/TOKEN   with Content-Length  -> 201 Created  (upload)
 *   GET /files/TOKEN                        -> 200 OK       (download)
 *
 * (also at SERVERURI/TOKEN, SERVERURI being /PersistentChat/MGCWebService.asmx,
 * the URL getftok hands out because Lync expects it there) and a one-line
 * text/plain answer with a 4xx/5xx status otherwise.  POSTs to SERVERURI
 * itself are the SOAP door Lync and Skype for Business use (files_soap.c),
 * one chunk per request on the same tokens; what both doors share (the
 * rules, the limits, the store steps) is written here once and declared in
 * files_internal.h.  Every
 * answer says "Connection: close" and the connection closes after it, so
 * nothing ever has to be framed after a body.
 *
 * Who may transfer: one function, files_transfer_allowed, checks it when a token
 * is issued, again when it is spent and again when an upload completes (the
 * user exists and is enabled, the room exists and is enabled, the room rules
 * of the chat service, given as the rights callback, let the user read it,
 * and for an upload post in it with the category's file switch on).  The
 * HTTP side has no SIP sign-in, so possession of the token is the
 * credential, as in Lync: 122 random bits from the server's CTR-DRBG, good
 * for one transfer of one file in one room, in one direction, for
 * [files] token_ttl seconds, and never written to the log.  The user it was
 * issued to is the one recorded as uploader and in the compliance events.
 *
 * Requests are framed by sip_msg_parse (RFC 7230 message syntax is the one
 * RFC 3261 §7 borrowed), so the header block has the same caps and checks
 * as SIP: [limits] max_header_bytes and max_headers.  A body is never held
 * whole, and takes disk only as it arrives: once the headers are in (and the
 * [files] quotas and uploads_per_user allow it) the upload's row is created
 * with its announced size and no bytes, and each read's bytes are appended
 * to it as one piece inside the loop pass's store transaction (the input
 * buffer, capped by [limits] max_input_bytes, is emptied on every read); the
 * SHA-256 is computed as the bytes pass.  The last byte completes the row
 * (its pieces become the file's data), records FILEUPLOAD and queues 201 in
 * the same pass, and pchat.c commits the pass before the 201 can leave.  A
 * body must arrive within [files] upload_deadline and keep upload_min_rate,
 * or it is cut.  A connection that ends early leaves an incomplete row,
 * deleted with its pieces when the connection is reaped (or at the next
 * start after a crash).  A download is read back in pieces as the
 * connection's output queue drains (net's on_writable), so the queue stays
 * under half its cap.
 */
#include "files.h"
#include "files_internal.h"
#include "base.h"
#include "compliance.h"
#include "log.h"
#include "sip.h"

#include <mbedtls/constant_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#ifndef PCHAT_VERSION
#define PCHAT_VERSION "0.1"
#endif
#define FILES_PATH "/files"             /* the endpoint; a token follows it */
#define FILES_TOKENS_PER_USER 64        /* pending tokens of one user */
#define FILES_QUEUE_TARGET (512u * 1024) /* a download keeps at most this much queued */
#define FILES_HEAD_TIMEOUT_MS 30000     /* the request head must arrive within this */
#define FILES_SWEEP_MS 1000
#define FILES_RATE_GRACE_MS 10000       /* [files] upload_min_rate applies after this */

_Static_assert(FILES_NAME_MAX == STORE_FILE_NAME_MAX, "a file name fits the store's");

/* ---- tokens ------------------------------------------------------------------ */

/* A file's name in its room: 1 .. FILES_NAME_MAX - 1 bytes, no control
 * characters (they would break logs and `pchat file list`), no '/', '\' or
 * '"' (it is a name, not a path, and Windows clients refuse those), and not
 * "." or "..".  A new upload's name also has no bidirectional controls
 * (utf8_has_bidi_control), which make the name shown differ from the bytes
 * ("report\u202Efdp.exe" shows as "reportexe.pdf"); a download may still
 * name a file stored before that rule. */
static int name_ok(const char *name, int upload)
{
	size_t n = strnlen(name, FILES_NAME_MAX);

	if (n == 0 || n == FILES_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '"')
			return 0;
	}
	return !upload || !utf8_has_bidi_control(name, n);
}

/* A file id as decimal text: 1 .. 2^63-1, digits only. */
static int64_t file_id_parse(const char *p, size_t len)
{
	uint64_t v;

	if (len == 0 || len > 18 || p[0] == '0' || parse_u64(p, len, INT64_MAX, &v) < 0)
		return -1;
	return (int64_t)v;
}

/* The one check behind every transfer: made when a token is issued, again
 * when it is spent (minutes may pass, and with them a removal, a disabled
 * room or user, a category's file switch turned off), and again when an
 * upload completes.  The user exists (unless [auth] mode = none, where
 * users need no account) and is not disabled; the room exists and is not
 * disabled; the room rules (rights callback) let the user read it, and for
 * an upload post in it with the category's file switch on.  A room the user
 * may not read answers like a missing one.  Returns 0, or the status to
 * answer (403, 404, 503) with why. */
int files_transfer_allowed(struct files *f, const char *user, int64_t room_id, int upload, const char **why)
{
	struct store_user u;
	struct store_room r;
	struct store_category cat;
	unsigned rights;
	int rc = store_user_get(f->store, user, &u), disabled = rc == STORE_OK && u.disabled;

	explicit_bzero(&u, sizeof u);       /* it holds the password hash */
	if (rc != STORE_OK && rc != STORE_E_NOTFOUND) {
		*why = "ERR_STORE: the store cannot be read now";
		return 503;
	}
	if (disabled || (rc == STORE_E_NOTFOUND && f->cfg->auth_mode_id != CONFIG_AUTH_NONE)) {
		*why = "ERR_NO_PERMISSION: no such user";
		return 403;
	}
	if ((rc = store_room_get_id(f->store, room_id, &r)) != STORE_OK && rc != STORE_E_NOTFOUND) {
		*why = "ERR_STORE: the store cannot be read now";
		return 503;
	}
	rights = rc != STORE_OK || r.disabled || f->rights == NULL ? 0 : f->rights(f->rights_arg, &r, user);
	if (!(rights & FILES_MAY_READ)) {
		*why = "ERR_NO_SUCH_CHANNEL";
		return 404;
	}
	if (!upload)
		return 0;
	if (!(rights & FILES_MAY_POST)) {
		*why = "ERR_NO_PERMISSION";
		return 403;
	}
	if ((rc = store_category_get_id(f->store, r.category_id, &cat)) != STORE_OK || !cat.file_upload) {
		*why = rc == STORE_OK || rc == STORE_E_NOTFOUND ? "ERR_NO_PERMISSION: files are off in this room's category"
		                                                : "ERR_STORE: the store cannot be read now";
		return rc == STORE_OK || rc == STORE_E_NOTFOUND ? 403 : 503;
	}
	return 0;
}

void files_mount(struct files *f, const struct files_mount *m)
{
	if (f == NULL)
		return;
	if (m)
		f->mount = *m;
	else
		memset(&f->mount, 0, sizeof f->mount);
}

void files_set_rights(struct files *f, files_rights_fn fn, void *arg)
{
	if (f != NULL) {
		f->rights = fn;
		f->rights_arg = arg;
	}
}

static void token_drop(struct files_token *t)
{
	mbedtls_sha256_free(&t->sha);
	explicit_bzero(t, sizeof *t);
}

/* A token leaves the table; a SOAP upload it was carrying is discarded
 * (its row and pieces), as a PUT's is when its connection ends. */
void files_token_drop(struct files *f, struct files_token *t, const char *why)
{
	if (t->upload && t->started && t->file_id > 0)
		files_upload_discard(f, t->file_id, why);
	token_drop(t);
}

/* Drop tokens past their time, and SOAP uploads past [files]
 * upload_deadline or under upload_min_rate. */
static void tokens_expire(struct files *f)
{
	int64_t now = loop_now(f->loop);
	const char *why;

	for (size_t i = 0; i < FILES_TOKENS_MAX; i++) {
		struct files_token *t = &f->tokens[i];

		if (!t->token[0])
			continue;
		if (now >= t->expires_ms)
			files_token_drop(f, t, "no chunk within [files] token_ttl");
		else if (t->upload && t->started && files_upload_too_slow(f, t->started_ms, t->done, &why))
			files_token_drop(f, t, why);
	}
}

/* The pending token equal to p[0..len), or NULL (unknown, spent or expired).
 * Every slot is compared, so the time taken says nothing about the token. */
struct files_token *files_token_find(struct files *f, const char *p, size_t len)
{
	struct files_token *found = NULL;

	if (len != FILES_TOKEN_LEN)
		return NULL;
	tokens_expire(f);
	for (size_t i = 0; i < FILES_TOKENS_MAX; i++)
		if (f->tokens[i].token[0] && mbedtls_ct_memcmp(f->tokens[i].token, p, FILES_TOKEN_LEN) == 0)
			found = &f->tokens[i];
	return found;
}

int files_token_issue(struct files *f, const char *user, int64_t room_id, int upload, const char *name,
                      const char *file_id, char token[FILES_TOKEN_LEN + 1], char *url, size_t urllen,
                      const char **why)
{
	struct files_token *slot = NULL;
	struct store_file sf;
	size_t mine = 0, idlen = file_id ? strnlen(file_id, 24) : 0;
	int64_t id = 0;
	int rc;

	token[0] = '\0';
	*why = "ERR_BAD_REQUEST";
	if (f == NULL || user == NULL || url == NULL || (name == NULL && idlen == 0))
		return 400;
	if (strnlen(user, STORE_URI_MAX) == 0 || strnlen(user, STORE_URI_MAX) == STORE_URI_MAX) {
		*why = "ERR_BAD_REQUEST: no user";
		return 400;
	}
	/* First, so a room the user may not see answers alike whatever else
	 * the request holds. */
	if ((rc = files_transfer_allowed(f, user, room_id, upload, why)) != 0)
		return rc;
	if (idlen > 0 && (upload || (id = file_id_parse(file_id, idlen)) < 0)) {
		*why = upload ? "ERR_BAD_REQUEST: fileId names a file to download" : "ERR_BAD_REQUEST: fileId is a file's number";
		return 400;
	}
	if (idlen == 0 && !name_ok(name, upload)) {
		*why = "ERR_BAD_FILE_NAME: a name of 1 to 255 bytes without control characters, bidirectional or format"
		       " controls, slashes or quotes";
		return 400;
	}
	memset(&sf, 0, sizeof sf);
	if (!upload) {
		/* By id it must be a file of this room: the rules were checked for
		 * this room only. */
		rc = id > 0 ? store_file_get(f->store, id, &sf) : store_file_latest(f->store, room_id, name, &sf);
		if (rc == STORE_OK && sf.room_id != room_id)
			rc = STORE_E_NOTFOUND;
		if (rc != STORE_OK) {
			*why = rc == STORE_E_NOTFOUND ? "ERR_NO_SUCH_FILE: no such file in the room"
			                              : "ERR_STORE: the file store cannot be read now";
			return rc == STORE_E_NOTFOUND ? 404 : 503;
		}
	}
	if (strlen(f->url) >= urllen) {
		*why = "ERR_INTERNAL: URL buffer too small";
		return 503;
	}
	tokens_expire(f);
	for (size_t i = 0; i < FILES_TOKENS_MAX; i++) {
		if (f->tokens[i].token[0] == '\0') {
			if (slot == NULL)
				slot = &f->tokens[i];
		} else if (strcmp(f->tokens[i].user, user) == 0) {
			mine++;
		}
	}
	if (mine >= FILES_TOKENS_PER_USER) {
		log_warn("event=file-token-refused user=%s reason=\"user has %d pending tokens\"", user,
		         FILES_TOKENS_PER_USER);
		*why = "ERR_TOO_MANY_TOKENS: you have too many pending file transfers; finish some or wait";
		return 503;
	}
	if (slot == NULL) {
		log_warn("event=file-token-refused user=%s reason=\"token table full (%d)\"", user, FILES_TOKENS_MAX);
		*why = "ERR_TOO_MANY_TOKENS: the server has too many pending file transfers; try again later";
		return 503;
	}
	if (guid_v4(slot->token) < 0) {
		token_drop(slot);
		*why = "ERR_INTERNAL: no random bytes";
		return 503;
	}
	slot->upload = upload != 0;
	slot->room_id = room_id;
	slot->file_id = upload ? 0 : sf.id;
	slot->expires_ms = loop_now(f->loop) + (int64_t)f->cfg->files_token_ttl * 1000;
	snprintf(slot->user, sizeof slot->user, "%s", user);
	snprintf(slot->name, sizeof slot->name, "%s", upload ? name : sf.name);
	memcpy(token, slot->token, FILES_TOKEN_LEN + 1);
	snprintf(url, urllen, "%s", f->url);
	log_info("event=file-token dir=%s user=%s room=%lld file=%lld ttl=%llu", upload ? "upload" : "download", user,
	         (long long)room_id, (long long)slot->file_id, (unsigned long long)f->cfg->files_token_ttl);
	return 0;
}

/* ---- answers ----------------------------------------------------------------- */

/* Queue a complete answer: status line, our headers, extra (each line ending
 * in CRLF, or ""), and the one-line text body. */
static void http_answer(struct conn *c, int code, const char *reason, const char *extra, const char *text)
{
	char head[1024];
	size_t tlen = strlen(text) + 1;
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d %s\r\n"
	                 "Server: pchat/" PCHAT_VERSION "\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\n"
	                 "%s"
	                 "Connection: close\r\n\r\n",
	                 code, reason, tlen, extra);

	if (n < 0 || (size_t)n >= sizeof head) {
		conn_kill(c, "answer too long");
		return;
	}
	if (conn_send(c, head, (size_t)n) == 0 && conn_send(c, text, tlen - 1) == 0)
		conn_send(c, "\n", 1);
}

/* Refuse the request with one line of why, then close. */
static void refuse(struct conn *c, struct files_conn *fc, int code, const char *reason, const char *extra,
                   const char *text)
{
	log_info("conn=%llu event=file-refused status=%d reason=\"%s\"", (unsigned long long)c->id, code, text);
	http_answer(c, code, reason, extra, text);
	fc->state = FC_DONE;
	conn_close(c, reason);
}

/* A failed store call as an answer: full disk is 507, anything else 503. */
static void refuse_store(struct conn *c, struct files_conn *fc, int rc, const char *what)
{
	char text[160];

	snprintf(text, sizeof text, "%s: %s", what, store_strerror(rc));
	if (rc == STORE_E_FULL)
		refuse(c, fc, 507, "Insufficient Storage", "", text);
	else
		refuse(c, fc, 503, "Service Unavailable", "", text);
}

/* ---- uploads ------------------------------------------------------------------- */

/* Delete an upload's row (its transfer ended early, or the store refused a
 * piece), joining the pass transaction. */
void files_upload_discard(struct files *f, int64_t file_id, const char *why)
{
	int rc = store_pass_write(f->store);

	if (rc == STORE_OK)
		rc = store_pass_write_end(f->store, store_file_del(f->store, file_id));
	log_info("event=file-upload-discarded file=%lld reason=\"%s\"%s", (long long)file_id, why,
	         rc == STORE_OK || rc == STORE_E_NOTFOUND ? "" : " delete=failed (removed at next start)");
}

static void upload_discard(struct files *f, struct conn *c, struct files_conn *fc, const char *why)
{
	log_info("conn=%llu event=file-upload-cut file=%lld got=%llu of=%llu", (unsigned long long)c->id,
	         (long long)fc->file_id, (unsigned long long)fc->done, (unsigned long long)fc->size);
	files_upload_discard(f, fc->file_id, why);
	fc->state = FC_DONE;
}

int files_upload_create(struct files *f, int64_t room_id, const char *name, const char *user, uint64_t size,
                        int64_t *file_id)
{
	int rc = store_pass_write(f->store);

	return rc != STORE_OK ? rc
	                      : store_pass_write_end(f->store, store_file_create(f->store, room_id, name, user, size, file_id));
}

int files_upload_piece(struct files *f, int64_t file_id, uint64_t offset, const void *p, size_t n)
{
	int rc = store_pass_write(f->store);

	return rc != STORE_OK ? rc : store_pass_write_end(f->store, store_file_write(f->store, file_id, offset, p, n));
}

int files_upload_complete(struct files *f, int64_t file_id, int64_t room_id, const char *user, const char *name,
                          uint64_t size, mbedtls_sha256_context *sha, struct files_upload_info *info,
                          const char **why)
{
	struct store_room room;
	unsigned char digest[32];
	int rc, status;

	/* The rules may have changed while the body came in. */
	if ((status = files_transfer_allowed(f, user, room_id, 1, why)) != 0) {
		files_upload_discard(f, file_id, *why);
		*why = status == 503 ? "the store cannot be read now; try again" : "you may no longer upload files to this room";
		return status == 503 ? 503 : 403;
	}
	mbedtls_sha256_finish_ret(sha, digest);
	memset(info, 0, sizeof *info);
	hex_encode(digest, 32, info->sha256_hex);
	if ((rc = store_pass_write(f->store)) == STORE_OK) {
		if ((rc = store_room_get_id(f->store, room_id, &room)) == STORE_OK &&
		    (rc = store_file_complete(f->store, file_id, info->sha256_hex)) == STORE_OK)
			rc = compliance_record(f->store, f->cfg, "FILEUPLOAD", &room, user, file_id, name, strlen(name));
		rc = store_pass_write_end(f->store, rc);
	}
	if (rc != STORE_OK) {
		files_upload_discard(f, file_id, rc == STORE_E_NOTFOUND ? "room or file deleted during the upload"
		                                                         : "store refused completing it");
		*why = rc == STORE_E_NOTFOUND ? "the room was deleted during the upload"
		     : rc == STORE_E_FULL     ? "cannot store the file: the disk is full"
		                              : "cannot store the file now";
		return rc == STORE_E_NOTFOUND ? 404 : rc == STORE_E_FULL ? 507 : 503;
	}
	log_info("event=file-upload-done file=%lld room=%s user=%s bytes=%llu sha256=%s", (long long)file_id, room.guid,
	         user, (unsigned long long)size, info->sha256_hex);
	info->file_id = file_id;
	info->room_id = room_id;
	info->user = user;
	info->name = name;
	info->size = size;
	return 0;
}

/* Have the room told about a committed upload, with the link Lync renders. */
void files_announce(struct files *f, struct files_upload_info *info)
{
	struct store_file sf;
	char repos[FILES_REPOS_MAX];

	if (f->announce == NULL || store_file_get(f->store, info->file_id, &sf) != STORE_OK)
		return;
	files_repos_name(&sf, repos);
	snprintf(info->uri, sizeof info->uri, "%s/%s", f->url, repos);
	f->announce(f->announce_arg, info);
}

/* The last byte is in: complete the row, record FILEUPLOAD, answer 201 and
 * have the room told, all in this pass's transaction. */
static void upload_finish(struct files *f, struct conn *c, struct files_conn *fc)
{
	struct files_upload_info info;
	char text[FILES_NAME_MAX + 160];
	const char *why;
	int status;

	if ((status = files_upload_complete(f, fc->file_id, fc->room_id, fc->user, fc->name, fc->size, &fc->sha, &info,
	                                    &why)) != 0) {
		fc->state = FC_DONE;
		refuse(c, fc, status, status == 403 ? "Forbidden" : status == 404 ? "Not Found"
		                    : status == 507 ? "Insufficient Storage" : "Service Unavailable", "", why);
		return;
	}
	snprintf(text, sizeof text, "stored %s (%llu bytes, SHA-256 %s)", fc->name, (unsigned long long)fc->size,
	         info.sha256_hex);
	http_answer(c, 201, "Created", "", text);
	fc->state = FC_DONE;
	conn_close(c, "upload complete");
	files_announce(f, &info);
}

/* Move what has arrived of the body into the row, FILES_PIECE_MIN or more
 * at a time; the input buffer is emptied every time it is stored, so it
 * never holds more than that or one read. */
static void upload_body(struct files *f, struct conn *c, struct files_conn *fc)
{
	size_t n = c->in.len;
	int rc;

	if ((uint64_t)n > fc->size - fc->done)
		n = (size_t)(fc->size - fc->done);     /* bytes past the body are ignored (one request) */
	if ((uint64_t)n < fc->size - fc->done && n < FILES_PIECE_MIN && c->in.len < c->in.max)
		return;                                 /* more is on its way */
	if (n > 0) {
		if ((rc = files_upload_piece(f, fc->file_id, fc->done, buf_head(&c->in), n)) != STORE_OK) {
			upload_discard(f, c, fc, "store refused a piece");
			refuse_store(c, fc, rc, "cannot store the file");
			return;
		}
		mbedtls_sha256_update_ret(&fc->sha, buf_head(&c->in), n);
		fc->done += n;
	}
	buf_consume(&c->in, c->in.len);
	if (fc->done == fc->size)
		upload_finish(f, c, fc);
}

/* Headers accepted: create the row (zero bytes of the full size) and start
 * taking the body.  head is the header block's length in c->in. */
static void upload_start(struct files *f, struct conn *c, struct files_conn *fc, size_t head, int expect_continue)
{
	int rc;

	if ((rc = files_upload_create(f, fc->room_id, fc->name, fc->user, fc->size, &fc->file_id)) != STORE_OK) {
		if (rc == STORE_E_NOTFOUND)
			refuse(c, fc, 404, "Not Found", "", "the room no longer exists");
		else
			refuse_store(c, fc, rc, "cannot store the file");
		return;
	}
	buf_consume(&c->in, head);
	fc->state = FC_BODY;
	fc->body_ms = loop_now(f->loop);
	fc->done = 0;
	mbedtls_sha256_starts_ret(&fc->sha, 0);
	log_info("conn=%llu event=file-upload-start file=%lld room=%lld user=%s size=%llu", (unsigned long long)c->id,
	         (long long)fc->file_id, (long long)fc->room_id, fc->user, (unsigned long long)fc->size);
	/* RFC 7231 §5.1.1: the client waits for this before sending the body. */
	if (expect_continue && fc->size > 0 && c->in.len == 0)
		conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	upload_body(f, c, fc);
}

/* ---- downloads ------------------------------------------------------------------ */

/* Queue the next pieces of the file until the output queue holds about
 * FILES_QUEUE_TARGET (or half its cap); close once everything is queued. */
static void download_fill(struct files *f, struct conn *c, struct files_conn *fc)
{
	size_t target = c->out.max / 2 < FILES_QUEUE_TARGET ? c->out.max / 2 : FILES_QUEUE_TARGET;
	struct store_file sf;
	int rc;

	/* A file deleted since the download began sends nothing more, although
	 * its bytes may still be in the store for the compliance export. */
	if (fc->state == FC_SENDING && fc->done < fc->size &&
	    (rc = store_file_get(f->store, fc->file_id, &sf)) != STORE_OK) {
		log_warn("conn=%llu event=file-download-failed file=%lld sent=%llu reason=\"%s\"", (unsigned long long)c->id,
		         (long long)fc->file_id, (unsigned long long)fc->done,
		         rc == STORE_E_NOTFOUND ? "file deleted meanwhile" : store_strerror(rc));
		fc->state = FC_DONE;
		conn_kill(c, "file deleted");
		return;
	}
	while (fc->state == FC_SENDING && fc->done < fc->size && conn_queued(c) < target) {
		size_t n = sizeof f->chunk, room = c->out.max - conn_queued(c);

		if (n > room)
			n = room;
		if ((uint64_t)n > fc->size - fc->done)
			n = (size_t)(fc->size - fc->done);
		if ((rc = store_file_read(f->store, fc->file_id, fc->done, f->chunk, n)) != STORE_OK) {
			log_warn("conn=%llu event=file-download-failed file=%lld sent=%llu reason=\"%s\"",
			         (unsigned long long)c->id, (long long)fc->file_id, (unsigned long long)fc->done,
			         rc == STORE_E_NOTFOUND ? "file deleted meanwhile" : store_strerror(rc));
			fc->state = FC_DONE;
			conn_kill(c, "file read failed");
			return;
		}
		if (conn_send(c, f->chunk, n) < 0) {
			fc->state = FC_DONE;
			return;
		}
		fc->done += n;
	}
	if (fc->state == FC_SENDING && fc->done == fc->size) {
		log_info("conn=%llu event=file-download-queued file=%lld bytes=%llu", (unsigned long long)c->id,
		         (long long)fc->file_id, (unsigned long long)fc->size);
		fc->state = FC_DONE;
		conn_close(c, "download complete");
	}
}

/* RFC 8187 value-chars: attr-char stays, everything else is %XX. */
static void disposition(const char *name, char *out, size_t outlen)
{
	static const char keep[] = "!#$&+-.^_`|~";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 4 < outlen; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(keep, *p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *p);
	}
	out[o] = '\0';
}

int files_download_record(struct files *f, int64_t room_id, const char *user, int64_t file_id, const char *name)
{
	struct store_room room;
	int rc;

	if ((rc = store_room_get_id(f->store, room_id, &room)) != STORE_OK || (rc = store_pass_write(f->store)) != STORE_OK)
		return rc;
	return store_pass_write_end(f->store, compliance_record(f->store, f->cfg, "FILEDOWNLOAD", &room, user, file_id,
	                                                        name, strlen(name)));
}

/* Token spent on a GET: record FILEDOWNLOAD and start sending. */
static void download_start(struct files *f, struct conn *c, struct files_conn *fc)
{
	struct store_file sf;
	struct store_room room;
	char head[1200 + STORE_URI_MAX], enc[3 * FILES_NAME_MAX + 1];
	int rc, n;

	if ((rc = store_file_get(f->store, fc->file_id, &sf)) != STORE_OK ||
	    (rc = store_room_get_id(f->store, fc->room_id, &room)) != STORE_OK) {
		if (rc == STORE_E_NOTFOUND)
			refuse(c, fc, 404, "Not Found", "", "the file has been deleted");
		else
			refuse_store(c, fc, rc, "cannot read the file");
		return;
	}
	/* Recorded in this pass, which commits before the first byte leaves. */
	if ((rc = files_download_record(f, fc->room_id, fc->user, fc->file_id, fc->name)) != STORE_OK) {
		refuse_store(c, fc, rc, "cannot record the download");
		return;
	}
	disposition(sf.name, enc, sizeof enc);
	n = snprintf(head, sizeof head,
	             "HTTP/1.1 200 OK\r\n"
	             "Server: pchat/" PCHAT_VERSION "\r\n"
	             "Content-Type: application/octet-stream\r\n"
	             "Content-Length: %llu\r\n"
	             "Content-Disposition: attachment; filename*=UTF-8''%s\r\n"
	             "X-Pchat-File-Id: %lld\r\n"
	             "X-Pchat-Uploader: %s\r\n"
	             "Connection: close\r\n\r\n",
	             (unsigned long long)sf.size, enc, (long long)sf.id, sf.uploader);
	if (n < 0 || (size_t)n >= sizeof head || conn_send(c, head, (size_t)n) < 0) {
		conn_kill(c, "answer too long");
		return;
	}
	log_info("conn=%llu event=file-download-start file=%lld room=%s user=%s size=%llu", (unsigned long long)c->id,
	         (long long)sf.id, room.guid, fc->user, (unsigned long long)sf.size);
	fc->size = sf.size;
	fc->done = 0;
	fc->state = FC_SENDING;
	download_fill(f, c, fc);
}

/* ---- requests ------------------------------------------------------------------- */

/* The path of a request target, origin form or absolute form ("https://HOST/PATH",
 * RFC 7230 §5.3.2).  Returns 0, or -1 for an absolute form without a path. */
int files_target_path(struct sip_str uri, struct sip_str *path)
{
	if (uri.len > 8 && (sip_str_ieq((struct sip_str){ uri.p, 8 }, "https://") ||
	                    sip_str_ieq((struct sip_str){ uri.p, 7 }, "http://"))) {
		const char *slash;
		size_t skip = uri.p[4] == ':' ? 7 : 8;

		slash = memchr(uri.p + skip, '/', uri.len - skip);
		if (slash == NULL)
			return -1;
		uri.len -= (size_t)(slash - uri.p);
		uri.p = slash;
	}
	*path = uri;
	return 0;
}

/* The token in a request target "/files/TOKEN" or, below the SOAP service's
 * URL that getftok hands out as serveruri, "/PersistentChat/MGCWebService.asmx/TOKEN"
 * (origin or absolute form).  Returns 0 and the token slice, or -1. */
static int target_token(struct sip_str uri, struct sip_str *tok)
{
	static const char *const prefixes[] = { FILES_PATH "/", FILES_SOAP_PATH "/" };
	struct sip_str path;

	if (files_target_path(uri, &path) < 0)
		return -1;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t plen = strlen(prefixes[i]);

		if (path.len == plen + FILES_TOKEN_LEN && memcmp(path.p, prefixes[i], plen) == 0) {
			*tok = (struct sip_str){ path.p + plen, FILES_TOKEN_LEN };
			return 0;
		}
	}
	return -1;
}

/* How many uploads of user are in progress (net_each_conn callback). */
struct upload_count {
	const char *user;
	uint64_t n;
};

static void count_upload(struct conn *c, void *arg)
{
	struct upload_count *uc = arg;
	const struct files_conn *fc = c->proto;

	if (fc != NULL && fc->state == FC_BODY && strcmp(fc->user, uc->user) == 0)
		uc->n++;
}

/* 1 when adding size bytes to used would pass quota_kb (0: no quota); the
 * subtraction form cannot overflow. */
static int over_quota(uint64_t used, uint64_t size, uint64_t quota_kb)
{
	return quota_kb > 0 && (used > quota_kb * 1024 || size > quota_kb * 1024 - used);
}

/* The quotas count uploads in progress at their announced size, so uploads
 * at once cannot pass them together; uploads in progress are PUT bodies and
 * started SOAP uploads alike. */
int files_upload_limits(struct files *f, const char *user, int64_t room_id, uint64_t size, char *text,
                        size_t textlen)
{
	const struct config *cfg = f->cfg;
	struct upload_count uc = { user, 0 };
	uint64_t user_bytes, room_bytes;
	int rc;

	if (cfg->files_uploads_per_user > 0) {
		net_each_conn(f->net, &f->handlers, count_upload, &uc);
		for (size_t i = 0; i < FILES_TOKENS_MAX; i++)
			if (f->tokens[i].token[0] && f->tokens[i].upload && f->tokens[i].started &&
			    strcmp(f->tokens[i].user, user) == 0)
				uc.n++;
		if (uc.n >= cfg->files_uploads_per_user) {
			snprintf(text, textlen, "you have %llu uploads in progress already; the limit is %llu",
			         (unsigned long long)uc.n, (unsigned long long)cfg->files_uploads_per_user);
			return 429;
		}
	}
	if (cfg->files_user_quota_kb == 0 && cfg->files_room_quota_kb == 0)
		return 0;
	if ((rc = store_file_usage(f->store, user, room_id, &user_bytes, &room_bytes)) != STORE_OK) {
		snprintf(text, textlen, "cannot check the quota: %s", store_strerror(rc));
		return 503;
	}
	if (over_quota(user_bytes, size, cfg->files_user_quota_kb)) {
		snprintf(text, textlen, "quota exceeded: your files hold %llu bytes of your %llu KiB",
		         (unsigned long long)user_bytes, (unsigned long long)cfg->files_user_quota_kb);
		return 507;
	}
	if (over_quota(room_bytes, size, cfg->files_room_quota_kb)) {
		snprintf(text, textlen, "quota exceeded: the room's files hold %llu bytes of its %llu KiB",
		         (unsigned long long)room_bytes, (unsigned long long)cfg->files_room_quota_kb);
		return 507;
	}
	return 0;
}

/* An upload of size bytes on token t would pass [files] uploads_per_user
 * (429) or a quota (507): refuse it and return 1, the token left unspent so
 * the client may try again once an upload ends or files are deleted. */
static int upload_over_limits(struct files *f, struct conn *c, struct files_conn *fc, const struct files_token *t,
                              uint64_t size)
{
	char text[200];
	int status = files_upload_limits(f, t->user, t->room_id, size, text, sizeof text);

	if (status == 0)
		return 0;
	refuse(c, fc, status, status == 429 ? "Too Many Requests" : status == 507 ? "Insufficient Storage"
	                                                                          : "Service Unavailable",
	       status == 429 ? "Retry-After: 10\r\n" : "", text);
	return 1;
}

/* 1 when [files] upload_deadline has passed since begun_ms, or past its
 * first seconds the upload averages under upload_min_rate. */
int files_upload_too_slow(struct files *f, int64_t begun_ms, uint64_t done, const char **why)
{
	int64_t ran_ms = loop_now(f->loop) - begun_ms;
	uint64_t deadline = f->cfg->files_upload_deadline, rate = f->cfg->files_upload_min_rate;

	if (deadline > 0 && ran_ms > (int64_t)deadline * 1000) {
		*why = "body not received by [files] upload_deadline";
		return 1;
	}
	if (rate > 0 && ran_ms > FILES_RATE_GRACE_MS && done < rate * (uint64_t)(ran_ms / 1000)) {
		*why = "body slower than [files] upload_min_rate";
		return 1;
	}
	return 0;
}

/* Frame and check the request head; spend the token and start the transfer
 * once it is acceptable.  Framing errors are answered at once; a request
 * with a valid token but the wrong shape (method, length) leaves the token
 * unspent, so a client that fixes its request may try again. */
static void request_head(struct files *f, struct conn *c, struct files_conn *fc)
{
	struct sip_msg *m = &f->msg;
	const struct sip_str *hdr;
	struct sip_str tok;
	struct files_token *t;
	uint64_t max = f->cfg->files_max_file_kb * 1024;
	char text[160];
	const char *why;
	long rc;
	int put, expect, status;

	/* The larger of the two caps; each door checks its own below. */
	f->limits.max_body_bytes = (size_t)(max > f->cfg->files_max_request_kb * 1024 ? max
	                                                                               : f->cfg->files_max_request_kb * 1024);
	rc = sip_msg_parse(m, (const char *)buf_head(&c->in), c->in.len, &f->limits, "HTTP/");
	if (rc == 0 && m->header_bytes == 0)
		return;     /* the head is still arriving (its size is capped by the parser) */
	switch (rc) {
	case SIP_E_MALFORMED:
		refuse(c, fc, 400, "Bad Request", "", "malformed request (HTTP/1.1 request line and headers expected)");
		return;
	case SIP_E_VERSION:
		refuse(c, fc, 505, "HTTP Version Not Supported", "", "HTTP/1.1 or HTTP/1.0 only");
		return;
	case SIP_E_TOO_MANY:
		refuse(c, fc, 431, "Request Header Fields Too Large", "", "too many header lines");
		return;
	case SIP_E_TOO_LARGE:
		/* The parser reaches the length check only after the whole head
		 * parsed as a request; before that, the head itself is too big. */
		if (m->kind != SIP_REQUEST) {
			refuse(c, fc, 431, "Request Header Fields Too Large", "", "request head too large");
			return;
		}
		break;
	default:
		break;
	}
	if (m->kind != SIP_REQUEST) {
		refuse(c, fc, 400, "Bad Request", "", "a request was expected");
		return;
	}
	/* A mounted application (room management) frames and answers from here on. */
	if (f->mount.claims != NULL && f->mount.claims(m->uri.p, m->uri.len)) {
		fc->state = FC_WEB;
		if (f->mount.input(f->mount.app, c, &fc->mounted) == 1)
			conn_kill(c, "web hand-back loop");     /* claims said yes: cannot happen */
		return;
	}
	/* RFC 7230 §5.4: an HTTP/1.1 request without Host gets 400. */
	if (sip_str_eq(m->version, "HTTP/1.1") && sip_msg_header(m, "Host", 0) == NULL) {
		refuse(c, fc, 400, "Bad Request", "", "Host header missing");
		return;
	}
	if (files_soap_target(m->uri)) {
		files_soap_head(f, c, fc, m, rc);
		return;
	}
	if (target_token(m->uri, &tok) < 0) {
		refuse(c, fc, 404, "Not Found", "", "no such resource (" FILES_PATH "/TOKEN expected)");
		return;
	}
	/* A token a SOAP transfer has begun to spend belongs to that transfer. */
	if ((t = files_token_find(f, tok.p, tok.len)) == NULL || t->started) {
		refuse(c, fc, 403, "Forbidden", "", "token unknown, already used or expired; ask for a new one");
		return;
	}
	put = sip_str_eq(m->method, "PUT");
	if (t->upload ? !put : !sip_str_eq(m->method, "GET")) {
		refuse(c, fc, 405, "Method Not Allowed", t->upload ? "Allow: PUT\r\n" : "Allow: GET\r\n",
		       t->upload ? "this is an upload token: use PUT" : "this is a download token: use GET");
		return;
	}
	if (put) {
		/* RFC 7230 §3.3.3: we take no transfer coding, so a body must be
		 * framed by Content-Length alone. */
		if (sip_msg_header(m, "Transfer-Encoding", 0) != NULL) {
			refuse(c, fc, 501, "Not Implemented", "", "Transfer-Encoding is not supported; send Content-Length");
			return;
		}
		if (rc == SIP_E_NO_LENGTH) {
			refuse(c, fc, 411, "Length Required", "", "Content-Length is required");
			return;
		}
		if (rc == SIP_E_TOO_LARGE || m->content_length > max) {
			/* Answered now, before any of the body is read. */
			snprintf(text, sizeof text, "file too large: the limit is %llu KiB (%llu bytes)",
			         (unsigned long long)f->cfg->files_max_file_kb, (unsigned long long)max);
			refuse(c, fc, 413, "Content Too Large", "", text);
			return;
		}
	}
	/* Everything issuing the token checked, checked again: when it no
	 * longer holds, the token is void (a store error leaves it for a retry). */
	if ((status = files_transfer_allowed(f, t->user, t->room_id, t->upload, &why)) == 503) {
		refuse(c, fc, 503, "Service Unavailable", "", "the store cannot be read now; try again");
		return;
	}
	if (status != 0) {
		log_info("conn=%llu event=file-token-void user=%s room=%lld reason=\"%s\"", (unsigned long long)c->id,
		         t->user, (long long)t->room_id, why);
		files_token_drop(f, t, why);
		refuse(c, fc, 403, "Forbidden", "", "you may no longer transfer files in this room");
		return;
	}
	if (put && upload_over_limits(f, c, fc, t, m->content_length))
		return;
	hdr = sip_msg_header(m, "Expect", 0);
	expect = hdr != NULL && sip_str_ieq(*hdr, "100-continue");
	/* Spend the token: from here the transfer belongs to this connection. */
	fc->room_id = t->room_id;
	fc->file_id = t->file_id;
	fc->size = put ? m->content_length : 0;
	memcpy(fc->user, t->user, sizeof fc->user);
	memcpy(fc->name, t->name, sizeof fc->name);
	token_drop(t);
	conn_set_authenticated(c, 1);   /* the token was the credential: no sign-in deadline now */
	if (put)
		upload_start(f, c, fc, m->header_bytes, expect);
	else
		download_start(f, c, fc);
}

/* ---- connections ---------------------------------------------------------------- */

static void files_on_open(struct conn *c, void *arg)
{
	struct files *f = arg;
	struct files_conn *fc = calloc(1, sizeof *fc);

	if (fc == NULL) {
		conn_kill(c, "out of memory");
		return;
	}
	fc->state = FC_HEAD;
	fc->opened_ms = loop_now(f->loop);
	mbedtls_sha256_init(&fc->sha);
	c->proto = fc;
}

static void files_on_input(struct conn *c, void *arg)
{
	struct files *f = arg;
	struct files_conn *fc = c->proto;

	if (fc == NULL)
		return;
	if (fc->state == FC_HEAD)
		request_head(f, c, fc);
	else if (fc->state == FC_BODY)
		upload_body(f, c, fc);
	else if (fc->state == FC_SOAP_BODY)
		files_soap_body(f, c, fc);
	else if (fc->state == FC_WEB && f->mount.input(f->mount.app, c, &fc->mounted) == 1) {
		fc->state = FC_HEAD;    /* a kept-alive web connection asks for a file: one request, as ever */
		request_head(f, c, fc);
	}
	if (fc->state == FC_SENDING || fc->state == FC_DONE)
		buf_consume(&c->in, c->in.len);     /* one request per connection: the rest is ignored */
}

/* The output queue drained below half: the client is reading, which counts
 * as activity for net's idle timeout (a long download sends nothing our way). */
static void files_on_writable(struct conn *c, void *arg)
{
	struct files *f = arg;
	struct files_conn *fc = c->proto;

	if (fc != NULL && fc->state == FC_SENDING) {
		c->active_ms = loop_now(f->loop);
		download_fill(f, c, fc);
	}
}

static void files_on_close(struct conn *c, void *arg)
{
	struct files *f = arg;
	struct files_conn *fc = c->proto;

	if (fc == NULL)
		return;
	if (fc->state == FC_BODY)
		upload_discard(f, c, fc, "connection closed before the whole body arrived");
	else if (fc->state == FC_SENDING)
		log_info("conn=%llu event=file-download-cut file=%lld sent=%llu of=%llu", (unsigned long long)c->id,
		         (long long)fc->file_id, (unsigned long long)fc->done, (unsigned long long)fc->size);
	mbedtls_sha256_free(&fc->sha);
	buf_free(&fc->soap);
	if (fc->mounted && f->mount.free_state)
		f->mount.free_state(fc->mounted);
	explicit_bzero(fc, sizeof *fc);
	free(fc);
	c->proto = NULL;
}

static void kill_conn(struct conn *c, void *arg)
{
	(void)arg;
	conn_kill(c, "store commit failed: transfer withdrawn");
}

/* A SOAP transfer in progress lost what this pass wrote (a piece, its row
 * or its FILEDOWNLOAD event), so its token goes too; an upload's row, if
 * any was committed, is removed at the next start. */
void files_pass_failed(struct files *f)
{
	if (f == NULL)
		return;
	net_each_conn(f->net, &f->handlers, kill_conn, NULL);
	for (size_t i = 0; i < FILES_TOKENS_MAX; i++)
		if (f->tokens[i].token[0] && f->tokens[i].started)
			token_drop(&f->tokens[i]);
}

/* A request head that has not arrived in time gets 408. */
static void sweep_conn(struct conn *c, void *arg)
{
	struct files *f = arg;
	struct files_conn *fc = c->proto;

	int64_t now = loop_now(f->loop);
	const char *why;

	if (fc == NULL)
		return;
	if (fc->state == FC_HEAD && now - fc->opened_ms > FILES_HEAD_TIMEOUT_MS) {
		refuse(c, fc, 408, "Request Timeout", "", "the request was not received in time");
		return;
	}
	/* A SOAP request is one chunk, bounded by [files] max_request_kb. */
	if (fc->state == FC_SOAP_BODY && now - fc->opened_ms > 4 * FILES_HEAD_TIMEOUT_MS) {
		fc->state = FC_DONE;
		conn_kill(c, "SOAP request not received in time");
		return;
	}
	if (fc->state == FC_WEB && f->mount.idle(f->mount.app, fc->mounted))
		conn_close(c, "web connection idle");
	if (fc->state != FC_BODY)
		return;
	/* A body that trickles in holds a connection and an upload slot, so it
	 * must meet a deadline and, past its first seconds, keep a rate: of
	 * what arrived, stored or still waiting for FILES_PIECE_MIN. */
	if (files_upload_too_slow(f, fc->body_ms, fc->done + c->in.len, &why)) {
		upload_discard(f, c, fc, why);
		refuse(c, fc, 408, "Request Timeout", "", strstr(why, "deadline") ? "the body was not received in time ([files] upload_deadline)"
		                                                                  : "the body arrived too slowly ([files] upload_min_rate)");
	}
}

static int64_t files_sweep(struct loop *l, void *arg)
{
	struct files *f = arg;

	(void)l;
	tokens_expire(f);
	net_each_conn(f->net, &f->handlers, sweep_conn, f);
	return FILES_SWEEP_MS;
}

/* The https URL clients are given: [files] public_host (with the listener's
 * port unless it names one), else the listen address when it is a specific
 * one, else server.domain. */
static void files_url(struct files *f, const char *listen_host)
{
	const struct config *cfg = f->cfg;
	const char *h = cfg->files_public_host;
	const char *colon;
	int has_port = 0, v6;

	if (h[0] == '\0')
		h = strcmp(listen_host, "0.0.0.0") && strcmp(listen_host, "::") ? listen_host : cfg->domain;
	colon = strchr(h, ':');
	v6 = colon != NULL && strchr(colon + 1, ':') != NULL && h[0] != '[';
	if (h[0] == '[')
		has_port = strstr(h, "]:") != NULL;
	else if (!v6)
		has_port = colon != NULL;
	if (has_port)
		snprintf(f->url, sizeof f->url, "https://%s" FILES_SOAP_PATH, h);
	else
		snprintf(f->url, sizeof f->url, v6 ? "https://[%s]:%u" FILES_SOAP_PATH : "https://%s:%u" FILES_SOAP_PATH, h,
		         (unsigned)f->port);
}

struct files *files_new(const struct config *cfg, struct store *st, struct net *n, struct loop *l,
                        files_announce_fn announce, void *announce_arg, char *err, size_t errlen)
{
	struct files *f;
	char host[CONFIG_STR_MAX];
	uint16_t port;
	size_t index = 0;
	int rc, purged = 0;

	if (config_listen_split(cfg->files_listen, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "files.listen: expected HOST:PORT, got \"%s\"", cfg->files_listen);
		return NULL;
	}
	if ((f = calloc(1, sizeof *f)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->store = st;
	f->net = n;
	f->loop = l;
	f->announce = announce;
	f->announce_arg = announce_arg;
	f->limits.max_header_bytes = cfg->max_header_bytes;
	f->limits.max_headers = cfg->max_headers;
	f->handlers.on_open = files_on_open;
	f->handlers.on_input = files_on_input;
	f->handlers.on_writable = files_on_writable;
	f->handlers.on_close = files_on_close;
	f->handlers.arg = f;
	if ((rc = store_file_purge_incomplete(st, &purged)) != STORE_OK) {
		snprintf(err, errlen, "deleting incomplete uploads: %s", store_strerror(rc));
		goto fail;
	}
	if (purged > 0)
		log_info("event=files-purged count=%d reason=\"uploads cut off by a stop or crash\"", purged);
	if ((f->sweep_timer = loop_add_timer(l, FILES_SWEEP_MS, files_sweep, f)) < 0) {
		snprintf(err, errlen, "cannot add a timer");
		goto fail;
	}
	/* Last: once it listens, connections may point at f. */
	while (net_listen_port(n, index) != 0)
		index++;
	if (net_listen(n, host, port, &f->handlers, err, errlen) < 0)
		goto fail;
	f->port = net_listen_port(n, index);
	files_url(f, host);
	log_info("event=files-listen port=%u url=%s max_file_kb=%llu token_ttl=%llu", (unsigned)f->port, f->url,
	         (unsigned long long)cfg->files_max_file_kb, (unsigned long long)cfg->files_token_ttl);
	return f;
fail:
	files_free(f);
	return NULL;
}

void files_free(struct files *f)
{
	if (f == NULL)
		return;
	if (f->sweep_timer > 0)
		loop_del_timer(f->loop, f->sweep_timer);
	for (size_t i = 0; i < FILES_TOKENS_MAX; i++)
		token_drop(&f->tokens[i]);
	free(f);
}

uint16_t files_port(const struct files *f)
{
	return f ? f->port : 0;
}

int files_origin(const struct files *f, char *out, size_t len)
{
	size_t n = f ? strlen(f->url) - strlen(FILES_PATH) : 0;

	if (f == NULL || n + 1 > len)
		return -1;
	memcpy(out, f->url, n);
	out[n] = '\0';
	return 0;
}
