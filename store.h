/*
 * store.h - the one SQLite file: schema, migrations and every query.
 *
 * store.c depends on nothing else of pchat's.  A struct store is owned by
 * whoever opened it (the server context, or one admin command) and holds the
 * connection plus statements prepared once at open.  Functions return
 * STORE_OK or a negative STORE_E_* code; messages for the user go into a
 * caller-supplied err buffer where there is one.
 */
#ifndef PCHAT_STORE_H
#define PCHAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 8
#define STORE_URI_MAX 256

enum {
	STORE_OK = 0,
	STORE_E_IO = -1,        /* SQLite error; logged with sqlite3_errmsg */
	STORE_E_NOTFOUND = -2,
	STORE_E_EXISTS = -3,
	STORE_E_BUSY = -4,      /* locked by another process past the busy timeout */
	STORE_E_FULL = -5,      /* disk full or read-only: refuse, acknowledge nothing */
	STORE_E_VERSION = -6,   /* file is from a newer pchat */
	STORE_E_INVALID = -7,   /* argument refused: empty or over-long URI, NULL pointer */
	STORE_E_INUSE = -8,     /* category still has rooms */
	STORE_E_OLD = -9        /* file is from an older pchat: `pchat migrate` or serve upgrades it */
};

struct store;

struct store_user {
	char uri[STORE_URI_MAX];    /* "sip:alice@example.org" */
	uint8_t nt_hash[16];
	int disabled;
	int64_t created_us;         /* UTC microseconds */
};

/* Open (creating if missing) the store at path, switch to WAL, run forward
 * migrations up to STORE_SCHEMA_VERSION and prepare statements.  A default
 * category named "default" exists afterwards.  On failure *out is NULL and
 * err holds one line.  Returns STORE_OK, STORE_E_IO, STORE_E_VERSION or, for
 * a file at an older schema version, STORE_E_OLD (store_open_ex migrates). */
int store_open(struct store **out, const char *path, char *err, size_t errlen);

/* How store_open_ex treats a file at an older schema version (a new file is
 * created in every mode, a newer one is STORE_E_VERSION in every mode). */
enum store_open_mode {
	STORE_OPEN_CURRENT,     /* refuse it: STORE_E_OLD, err says to run `pchat migrate` */
	STORE_OPEN_MIGRATE,     /* keep a copy beside it, then migrate, one logged transaction per step */
	STORE_OPEN_AS_IS        /* open it unchanged: only for store_backup and store_schema_version */
};

/* What store_open_ex did to an older file: from == to when nothing; copy is
 * the copy kept before migrating ("" if none). */
struct store_migration {
	int from, to;
	char copy[4096];
};

/* store_open with a mode for older files; done (may be NULL) says what was
 * done.  store_open is store_open_ex(..., STORE_OPEN_CURRENT, NULL, ...).
 * STORE_OPEN_MIGRATE names the copy PATH.pre-vN-YYYYmmddTHHMMSSZ (N this
 * pchat's schema version, UTC) and logs event=store-backup, then one
 * event=store-migrate line per step.  Also returns STORE_E_OLD, and for
 * STORE_OPEN_MIGRATE what store_backup returns when the copy fails (nothing
 * is migrated then). */
int store_open_ex(struct store **out, const char *path, int mode, struct store_migration *done,
                  char *err, size_t errlen);

/* Finalize statements and close. Safe on NULL. */
void store_close(struct store *st);

/* The schema version the open file is at (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Users.  uri is the canonical SIP URI ("sip:alice@example.org").
 * add: STORE_E_EXISTS if present.  set_hash/set_disabled/del/get:
 * STORE_E_NOTFOUND if absent.  del also removes what the account held, so a
 * new account of the same name starts with nothing: its room roles, its
 * follows, the invitations addressed to it, and its places on categories'
 * creator and allowed lists, except where it is an allowed list's last
 * entry (an empty allowed list lets everyone in).  Denied lists keep it: an
 * ethical wall outlives the account.  All or nothing, inside or outside a
 * transaction. */
int store_user_add(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_set_hash(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_set_disabled(struct store *st, const char *uri, int disabled);
int store_user_del(struct store *st, const char *uri);
int store_user_get(struct store *st, const char *uri, struct store_user *out);

/* PRAGMA data_version: changes when another connection (another process)
 * commits to the file, never for this connection's own commits. */
int store_data_version(struct store *st, int64_t *out);

/* Call fn once per user in URI order; stops early and returns fn's value if it
 * returns non-zero.  Returns STORE_OK or STORE_E_IO otherwise. */
int store_user_each(struct store *st, int (*fn)(void *arg, const struct store_user *u), void *arg);

/* Group commits: the server opens one transaction per loop pass and commits it
 * before acknowledging anything written in it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* ---- Chat data (migration 2) ------------------------------------------------
 * Rooms are addressed on the wire as ma-chan://DOMAIN/GUID; the store keeps
 * the GUID only.  Names are unique case-insensitively.  Every text field is
 * UTF-8 and bounded by the array it is copied into; a longer value is refused
 * with STORE_E_INVALID, never truncated. */
#define STORE_NAME_MAX 128      /* bytes incl. NUL: room and category names */
#define STORE_TEXT_MAX 1024     /* bytes incl. NUL: descriptions, topics */
#define STORE_GUID_LEN 36       /* "6f2d5c1e-0b7a-4e0d-9a55-3c1d2e7f9a10" */

enum store_privacy { STORE_PRIVACY_OPEN = 0, STORE_PRIVACY_CLOSED = 1, STORE_PRIVACY_SECRET = 2 };
enum store_room_type { STORE_ROOM_NORMAL = 0, STORE_ROOM_AUDITORIUM = 1 };
enum store_invitations { STORE_INVITE_INHERIT = -1, STORE_INVITE_OFF = 0, STORE_INVITE_ON = 1 };
/* Room roles are bits: a user may hold several. */
enum { STORE_ROLE_MEMBER = 1, STORE_ROLE_MANAGER = 2, STORE_ROLE_PRESENTER = 4 };
/* A category's principal lists. allowed empty = everyone may be in its rooms;
 * denied wins over allowed (an "ethical wall"); creators may create rooms. */
enum store_cat_list { STORE_CAT_ALLOWED = 0, STORE_CAT_DENIED = 1, STORE_CAT_CREATOR = 2 };

struct store_category {
	int64_t id;
	char name[STORE_NAME_MAX];
	char description[STORE_TEXT_MAX];
	int file_upload;            /* 0/1, default 1 */
	int invitations;            /* 0/1, default 1 */
	int history;                /* 0/1, default 1: messages kept and served by bccontext */
	int64_t created_us;
};

struct store_room {
	int64_t id;
	char guid[STORE_GUID_LEN + 1];
	char name[STORE_NAME_MAX];
	char description[STORE_TEXT_MAX];
	char topic[STORE_TEXT_MAX];
	int64_t category_id;
	int privacy;                /* enum store_privacy, default CLOSED */
	int type;                   /* enum store_room_type */
	int invitations;            /* enum store_invitations */
	int disabled;
	int64_t created_us;
};

/* One stored post.  text/extra point into SQLite's row buffer and are valid
 * only during the callback.  extra is the XML, as pchat rewrote it, of the
 * known formatting children of <grpchat> besides <chat>, or of the server's
 * own file card ("" when none); it is relayed with the post. */
struct store_message {
	int64_t id;
	int64_t room_id;
	const char *author;
	int64_t ts_us;
	const char *text;
	size_t text_len;
	const char *extra;
	size_t extra_len;
	const char *attrs;          /* the client's attributes of the post (migration 7): "" or ` name="value"`... */
	size_t attrs_len;
};

/* Categories.  add fills c->id and c->created_us; STORE_E_EXISTS on a taken
 * name.  update writes every field by c->id.  del refuses with STORE_E_INUSE
 * while rooms use it and never deletes the category named "default". */
int store_category_add(struct store *st, struct store_category *c);
int store_category_update(struct store *st, const struct store_category *c);
int store_category_get(struct store *st, const char *name, struct store_category *out);
int store_category_get_id(struct store *st, int64_t id, struct store_category *out);
int store_category_del(struct store *st, const char *name);
int store_category_each(struct store *st, int (*fn)(void *arg, const struct store_category *c), void *arg);
/* Principal lists: add is idempotent (STORE_OK if already there); del gives
 * STORE_E_NOTFOUND if absent; has returns 1, 0 or a negative STORE_E_*; each
 * goes in URI order. */
int store_category_list_add(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_del(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_has(struct store *st, int64_t category_id, enum store_cat_list list, const char *uri);
int store_category_list_each(struct store *st, int64_t category_id, enum store_cat_list list,
                             int (*fn)(void *arg, const char *uri), void *arg);

/* Rooms.  add generates a random v4 GUID when r->guid is empty, fills r->id
 * and r->created_us; STORE_E_EXISTS on a taken name or GUID, STORE_E_NOTFOUND
 * for an unknown category.  update writes every field by r->id.  del removes
 * the room with its roles, messages, invitations and follows. */
int store_room_add(struct store *st, struct store_room *r);
int store_room_update(struct store *st, const struct store_room *r);
int store_room_get_guid(struct store *st, const char *guid, struct store_room *out);
int store_room_get_name(struct store *st, const char *name, struct store_room *out);
int store_room_get_id(struct store *st, int64_t id, struct store_room *out);
int store_room_del(struct store *st, int64_t room_id);
/* Rooms in name order whose name contains name_part (case-insensitive for
 * ASCII; NULL or "" = all), disabled ones included: callers apply the rules. */
int store_room_each(struct store *st, const char *name_part,
                    int (*fn)(void *arg, const struct store_room *r), void *arg);

/* Roles.  add ORs bits in (STORE_OK if already held); del clears bits
 * (STORE_E_NOTFOUND if none of them was held).  roles returns the bit set
 * (0 = none) or a negative STORE_E_*.  each goes in URI order with the bits;
 * user_rooms lists every room where uri holds any role (getassociations). */
int store_room_role_add(struct store *st, int64_t room_id, const char *uri, int roles);
int store_room_role_del(struct store *st, int64_t room_id, const char *uri, int roles);
int store_room_roles(struct store *st, int64_t room_id, const char *uri);
int store_room_role_each(struct store *st, int64_t room_id,
                         int (*fn)(void *arg, const char *uri, int roles), void *arg);
int store_user_rooms(struct store *st, const char *uri,
                     int (*fn)(void *arg, const struct store_room *r, int roles), void *arg);

/* Messages.  add assigns the id (monotonic 64-bit) into *id_out; text is
 * indexed for search.  last calls fn for the newest `count` messages of the
 * room, oldest first.  search finds messages whose text matches every word of
 * words (FTS5; words are quoted by the store, so no query syntax leaks
 * through), room_id 0 = all rooms, newest first, at most limit.  latest_id is
 * the room's newest message id (0 if none). */
int store_message_add(struct store *st, int64_t room_id, const char *author, int64_t ts_us,
                      const char *text, size_t text_len, const char *extra, size_t extra_len,
                      int64_t *id_out);
int store_message_last(struct store *st, int64_t room_id, int count,
                       int (*fn)(void *arg, const struct store_message *m), void *arg);
int store_message_search(struct store *st, int64_t room_id, const char *words, int limit,
                         int (*fn)(void *arg, const struct store_message *m), void *arg);
int store_message_latest_id(struct store *st, int64_t room_id, int64_t *id_out);

/* Invitations (one per room and invitee).  add: STORE_E_EXISTS if pending.
 * each lists a user's pending invitations, oldest first. */
int store_invite_add(struct store *st, int64_t room_id, const char *uri, const char *inviter);
int store_invite_del(struct store *st, int64_t room_id, const char *uri);
int store_invite_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us),
                      void *arg);

/* Followed rooms, kept per user.  add is idempotent and marks everything up
 * to now as read.  mark_read records the newest message the user has seen.
 * each gives, per followed room in name order, how many messages arrived
 * after the last one read (the unread figure). */
int store_follow_add(struct store *st, const char *uri, int64_t room_id);
int store_follow_del(struct store *st, const char *uri, int64_t room_id);
int store_follow_mark_read(struct store *st, const char *uri, int64_t room_id, int64_t message_id);
int store_follow_each(struct store *st, const char *uri,
                      int (*fn)(void *arg, const struct store_room *r, int64_t unread), void *arg);

/* Compliance events, appended in the caller's transaction (compliance.c is
 * the only caller).  type is one of compliance_types.c's table ("JOIN",
 * "PART", "CHAT", ...); room_guid and content may be NULL.
 * message_id is the CHAT message's id, the file's id (store_file) for
 * FILEUPLOAD and FILEDOWNLOAD, else 0. */
struct store_event {
	int64_t seq;
	const char *type;
	const char *room_guid;
	const char *room_name;
	const char *user_uri;
	int64_t ts_us;
	int64_t message_id;
	const char *content;
	size_t content_len;
};
int store_event_add(struct store *st, const struct store_event *e);
/* Oldest first, at most limit, with seq > after_seq; pointers valid during fn. */
int store_event_each(struct store *st, int64_t after_seq, int limit,
                     int (*fn)(void *arg, const struct store_event *e), void *arg);
/* Delete events with seq <= upto_seq (after their export is on disk). */
int store_event_delete_upto(struct store *st, int64_t upto_seq);

/* The server's group commit: every write of a loop pass, from the chat
 * service or the file service, joins one transaction, opened by the first
 * of them and committed once before the pass's output is flushed
 * (store_pass_commit: STORE_OK when nothing was open; on failure the
 * transaction is rolled back and the caller withdraws the pass's answers).
 *
 * A request that writes brackets its writes with store_pass_write and
 * store_pass_write_end(st, rc), rc being how its writes went; what
 * write_end returns is what the request must answer.  rc != STORE_OK takes
 * the request's writes back (a savepoint) and leaves the pass's others.
 * Normally STORE_OK then means "in the pass, committed before any answer
 * leaves".  After a storage fault (disk full, read-only, I/O error: one log
 * line names the cause) the store is careful: each request's writes are
 * committed in write_end, so a failure is that request's 503 rather than a
 * withdrawn pass; this lasts until 10 s after the last failure.
 *
 * The first BEGIN that finds the store locked by another process waits the
 * busy timeout (5 s) and fails STORE_E_BUSY; later writes of the same pass
 * fail at once, and until a BEGIN succeeds again the wait is 100 ms. */
int store_pass_write(struct store *st);
int store_pass_write_end(struct store *st, int rc);
int store_pass_commit(struct store *st);

/* ---- Compliance export batches (migration 3, store_compliance.c) ----------
 * An export batch is a seq range of compliance events written to one file.
 * Its life: planned (a row with sha256 "" fixes the range, format and domain
 * and the previous batch's hash), then, once the file is durable, finished
 * (sha256 recorded and the range's events deleted, in one transaction).
 * At most one batch is planned at a time, and every exporter (the server's
 * timer, `pchat export`, a second `pchat export`) works on that one, so two
 * exporters can only ever write the same file with the same bytes. */
#define STORE_SHA256_HEX 65     /* 64 hex digits + NUL */
struct store_batch {
	int64_t number;             /* 1, 2, 3, ... */
	int64_t first_seq, last_seq;
	int64_t events;             /* events in [first_seq, last_seq] */
	char format[16];            /* "lync" or "actiance", fixed when planned */
	char domain[STORE_URI_MAX]; /* SIP domain for channel URIs, fixed when planned */
	char prev_sha256[STORE_SHA256_HEX]; /* the previous batch's, or 64 zeros for batch 1 */
	char sha256[STORE_SHA256_HEX];      /* "" while planned */
	int64_t planned_us, exported_us;    /* UTC microseconds; exported_us 0 while planned */
};
/* The batch to export next, in *out: the planned one if there is one (an
 * exporter crashed or is still at work), else a new one planned now in its
 * own BEGIN IMMEDIATE transaction: the oldest events after the last batch,
 * at most max_events of them and no more than max_bytes of content (but at
 * least one), with format and domain as given.  STORE_E_NOTFOUND when no
 * event waits.  Not inside a transaction. */
int store_batch_plan(struct store *st, int64_t max_events, int64_t max_bytes, const char *format,
                     const char *domain, struct store_batch *out);
/* Call fn for every event of planned batch b, oldest first, from one read
 * snapshot.  STORE_E_NOTFOUND if b is no longer planned (another exporter
 * finished it); STORE_E_IO if the events found are not exactly b->events.
 * Pointers are valid during fn only.  Not inside a transaction. */
int store_batch_events(struct store *st, const struct store_batch *b,
                       int (*fn)(void *arg, const struct store_event *e), void *arg);
/* Within the caller's transaction (store_begin .. store_commit): record
 * sha256 for planned batch b and delete its events; then delete the files
 * marked deleted (store_file_retire) that no waiting FILEUPLOAD event names
 * any more, bytes and all.  STORE_E_NOTFOUND if b is no longer planned
 * (finished by another exporter: roll back). */
int store_batch_finish(struct store *st, const struct store_batch *b, const char *sha256);
/* One read snapshot for an exporter: every read from store_read_begin to
 * store_read_end sees the store as it was at the first of them (WAL), so
 * a batch's events and the bytes of its files come from one moment even
 * when another exporter finishes the batch and a file is deleted
 * meanwhile.  Not inside a transaction; nothing may write in between. */
int store_read_begin(struct store *st);
void store_read_end(struct store *st);
/* Restore reconciliation: batch b (number, seq range, event count, format,
 * domain, prev_sha256 as the archive holds it, with SHA-256 sha256, its
 * file written at written_us) is in the archive but not recorded here (a
 * store restored from a backup taken before it was exported).  In one
 * transaction: record it as exported, delete this store's events in its
 * range (they were exported in it), drop a planned batch, and number new
 * events after its range.  *had gets how many events the store had in the
 * range.  STORE_E_EXISTS when the store holds more events in the range than
 * the batch, or one recorded after written_us: this store went on after the
 * backup and its events cannot be in the batch (nothing changed);
 * STORE_E_NOTFOUND when the store's last recorded batch is no longer
 * b->number - 1 (another exporter moved on: look again). */
int store_batch_adopt(struct store *st, const struct store_batch *b, const char *sha256, int64_t written_us,
                      int64_t *had);
/* Batch by number (planned or finished); STORE_E_NOTFOUND if none. */
int store_batch_get(struct store *st, int64_t number, struct store_batch *out);
/* The newest finished batch; STORE_E_NOTFOUND before the first export. */
int store_batch_last(struct store *st, struct store_batch *out);
/* Events waiting for export (planned batches included); < 0 on error. */
int64_t store_event_count(struct store *st);
/* Events waiting for export and the time of the oldest (0 when none). */
int store_event_backlog(struct store *st, int64_t *count, int64_t *oldest_ts_us);

/* ---- Files posted in rooms (migration 4, store_files.c) --------------------
 * An upload is a row created with room, name, uploader and announced size
 * (complete = 0, no bytes), whose body is appended piece by piece within the
 * caller's transactions as it arrives (migration 6: chunk rows), then
 * completed with its SHA-256; the chunks stay its bytes (migration 8), read
 * by offset through their primary key.  Only complete files are found by
 * get, latest, each, read and export, and get, latest and each skip files
 * marked deleted (migration 5); a room's delete removes its files, and a
 * file's delete its chunks.  Bytes move in pieces, never whole in memory. */
#define STORE_FILE_NAME_MAX 256 /* bytes incl. NUL of a file's name in its room */
struct store_file {
	int64_t id;
	int64_t room_id;
	char name[STORE_FILE_NAME_MAX];
	char uploader[STORE_URI_MAX];
	uint64_t size;
	char sha256[65];            /* lowercase hex; "" until complete */
	int64_t created_us;         /* UTC microseconds */
	int complete;
	int deleted;                /* retired, bytes kept for the compliance export */
};
/* create: a new incomplete row announcing size bytes (none stored yet); its
 * id into *id_out.  STORE_E_NOTFOUND for an unknown room, STORE_E_INVALID
 * for an empty or over-long name or URI or a size over SQLite's value
 * limit. */
int store_file_create(struct store *st, int64_t room_id, const char *name, const char *uploader, uint64_t size,
                      int64_t *id_out);
/* write: append len bytes at offset to incomplete file id (offset must be
 * where the pieces so far end, else STORE_E_INVALID; the disk grows by len).
 * read: len bytes at offset of complete file id's data (deleted or not).
 * STORE_E_NOTFOUND if the row is gone (or, for write, complete; for read,
 * incomplete), STORE_E_INVALID if the span is outside the announced size;
 * for read, STORE_E_IO if the stored chunks leave a gap in the span. */
int store_file_write(struct store *st, int64_t id, uint64_t offset, const void *p, size_t len);
int store_file_read(struct store *st, int64_t id, uint64_t offset, void *p, size_t len);
/* Mark incomplete file id complete with its SHA-256 (64 lowercase hex): its
 * pieces must add up to its announced size (else STORE_E_INVALID); they
 * stay its data, nothing is copied. */
int store_file_complete(struct store *st, int64_t id, const char *sha256_hex);
/* Complete file by id; the newest complete file called name in the room. */
int store_file_get(struct store *st, int64_t id, struct store_file *out);
int store_file_latest(struct store *st, int64_t room_id, const char *name, struct store_file *out);
/* A room's complete files, oldest first; fn returning non-zero stops. */
int store_file_each(struct store *st, int64_t room_id, int (*fn)(void *arg, const struct store_file *f), void *arg);
/* Hand complete file id's bytes to fn in pieces of at most 64 KiB, all from
 * one read snapshot (one statement); fn returning non-zero stops and is
 * returned; STORE_E_NOTFOUND without the file, STORE_E_IO for a gap. */
int store_file_export(struct store *st, int64_t id, int (*fn)(void *arg, const void *p, size_t len), void *arg);
/* For the compliance exporter: complete file id whether or not it is marked
 * deleted (out->deleted says); STORE_E_NOTFOUND when the row is gone. */
int store_file_find(struct store *st, int64_t id, struct store_file *out);
/* Delete file id as an administrator does (migration 5): while a FILEUPLOAD
 * event naming it waits for export, only mark it deleted, so get, latest
 * and each no longer find it but its bytes stay for the export (which
 * deletes it once that event is gone, in store_batch_finish), and set *kept
 * to 1; otherwise delete it as store_file_del does and set *kept to 0.
 * kept may be NULL.  Call within a transaction, so the check and the change
 * are one.  STORE_E_NOTFOUND if absent. */
int store_file_retire(struct store *st, int64_t id, int *kept);
/* How many of the room's files have an upload event not yet exported: their
 * bytes must reach a compliance export before the room may be deleted
 * (deleting a room deletes its files). */
int store_room_files_pending(struct store *st, int64_t room_id, int64_t *count);
/* Delete file id (complete or not); STORE_E_NOTFOUND if absent. */
int store_file_del(struct store *st, int64_t id);
/* Delete every incomplete file (uploads cut off by a crash) and every
 * chunk not of a complete file; *count gets how many files (count may be
 * NULL).  Only the server calls this, at start-up. */
int store_file_purge_incomplete(struct store *st, int *count);
/* Bytes the files of uploader (when not NULL) and of room_id (when > 0) take,
 * counting complete files and uploads in progress (at their announced size),
 * files marked deleted not: for the [files] quotas. */
int store_file_usage(struct store *st, const char *uploader, int64_t room_id, uint64_t *user_bytes,
                     uint64_t *room_bytes);

/* ---- The Lync rules (issue 16) -------------------------------------------
 * A room's address key, the last part of its ma-chan://DOMAIN/KEY URI and
 * what rooms.guid holds: a GUID (8-4-4-4-12 hex digits, what pchat mints)
 * or, for a room kept from an older server (ma-chan://DOMAIN/300), a
 * decimal number of 1 to STORE_ROOM_NUMBER_DIGITS digits without a leading
 * zero.  store_room_key_form (store_chat.c) says which s[0..len) is, either
 * case of hex accepted (the store compares keys case-insensitively);
 * store_room_add takes a GUID in lower case, or a number. */
#define STORE_ROOM_NUMBER_DIGITS 18
enum store_room_key { STORE_KEY_NONE = 0, STORE_KEY_GUID = 1, STORE_KEY_NUMBER = 2 };
int store_room_key_form(const char *s, size_t len);
/* store_rules.c.  has_members: 1 if someone holds the member role in the
 * room, 0 if nobody (the room then takes its category's allowed list as
 * its members), or a negative STORE_E_*. */
int store_room_has_members(struct store *st, int64_t room_id);
/* A message id for a post that is not kept (its category's history is
 * off): the next id of the messages' sequence, taken without a row, so ids
 * stay unique and increasing whether kept or not.  In a transaction. */
int store_message_skip_id(struct store *st, int64_t *id_out);
/* Message id, handed to fn (pointers valid during fn); STORE_E_NOTFOUND. */
int store_message_get(struct store *st, int64_t id, int (*fn)(void *arg, const struct store_message *m),
                      void *arg);
/* An administrator's removal of message id: replace NULL deletes the row,
 * else its text becomes replace (at most STORE_TEXT_MAX - 1 bytes) and its
 * formatting is dropped; the search index follows (triggers).  Compliance
 * events are not touched.  STORE_E_NOTFOUND if absent. */
int store_message_remove(struct store *st, int64_t id, const char *replace);
/* Delete every message of room_id posted before before_us (UTC
 * microseconds); *count gets how many, *first_id and *last_id the lowest
 * and highest id deleted (0 when none). */
int store_room_clear_before(struct store *st, int64_t room_id, int64_t before_us, int64_t *count,
                            int64_t *first_id, int64_t *last_id);

/* ---- What Lync-protocol clients ask for beyond sipe (migration 7, store_lync.c) ----
 * Category GUIDs (ma-cat:// URIs) and the root category's, invitation ids,
 * the client's attributes of a post, history queries in the forms of the
 * UCMA ChatHistoryQueryOptions, and a per-user store of opaque preference
 * blobs (getpref/setpref). */
/* The GUID of category id, or of the root category every category sits
 * under (stable: made once by the migration); out holds STORE_GUID_LEN + 1. */
int store_category_guid(struct store *st, int64_t category_id, char *out);
int store_root_category_guid(struct store *st, char *out);

/* A user's pending invitations with an id above after_id, oldest first
 * (ids only grow: an answered invitation's id is never reused). */
int store_invite_since(struct store *st, const char *uri, int64_t after_id,
                       int (*fn)(void *arg, const struct store_room *r, const char *inviter, int64_t created_us,
                                 int64_t invite_id),
                       void *arg);

/* Keep attrs (already-clean XML attributes, each " name=\"value\"") with
 * message id; store_message's attrs gives them back.  STORE_E_NOTFOUND if
 * there is no such message. */
int store_message_set_attrs(struct store *st, int64_t id, const char *attrs, size_t attrs_len);

/* A history query (UCMA ChatHistoryQueryOptions).  With start_id > 0 the
 * dates are ignored and the scan starts next to that message: newest first
 * means older messages (paging back), else newer ones.  Without it the scan
 * covers [from_us, to_us] (0 = open), from its newest end when newest_first.
 * authors (when n_authors > 0) keeps only their posts; text (when not NULL
 * or "") keeps posts holding every space-separated word, or the whole text
 * when exact, compared case-sensitively when match_case (else ASCII case is
 * folded).  fn gets at most limit rows in scan order.  STORE_E_INVALID for
 * more than STORE_QUERY_AUTHORS_MAX authors or STORE_QUERY_WORDS_MAX words. */
#define STORE_QUERY_AUTHORS_MAX 16
#define STORE_QUERY_WORDS_MAX 16
struct store_history_query {
	int64_t room_id;
	int64_t start_id;
	int64_t from_us, to_us;
	int newest_first;
	int limit;
	const char *const *authors;
	size_t n_authors;
	const char *text;
	int exact, match_case;
};
int store_message_query(struct store *st, const struct store_history_query *q,
                        int (*fn)(void *arg, const struct store_message *m), void *arg);

/* Preferences: one opaque blob per user and label, with a version (seqid)
 * that grows by one with each write.  get: STORE_E_NOTFOUND when absent;
 * content is NUL-terminated into content[cap] (STORE_E_IO if it does not
 * fit).  set: writes when the stored seqid equals seqid, or when there is
 * none (then seqid is ignored); STORE_E_EXISTS when another write came in
 * between (a conflict: *new_seqid gets the stored one); *new_seqid the
 * seqid written.  count: how many labels the user has. */
#define STORE_PREF_LABEL_MAX 128        /* bytes incl. NUL */
int store_pref_get(struct store *st, const char *uri, const char *label, int64_t *seqid, char *content,
                   size_t cap);
int store_pref_set(struct store *st, const char *uri, const char *label, int64_t seqid, const char *content,
                   size_t len, int64_t *new_seqid);
int store_pref_count(struct store *st, const char *uri, int64_t *count);

/* Run PRAGMA integrity_check; STORE_OK when it answers "ok". */
int store_integrity_check(struct store *st, char *err, size_t errlen);

/* Online copy of the whole store into the new file path, consistent as of
 * one moment even while a server writes (SQLite backup API from one read
 * transaction, in small steps).  The copy is written beside path and linked
 * into place when complete and synced, mode 0600.  Refuses an existing path
 * (STORE_E_EXISTS, err says so); any failure leaves no file behind.  Returns
 * STORE_OK, STORE_E_EXISTS, STORE_E_INVALID, STORE_E_FULL or STORE_E_IO. */
int store_backup(struct store *st, const char *path, char *err, size_t errlen);

/* One line describing a STORE_E_* code. */
const char *store_strerror(int code);

#endif
