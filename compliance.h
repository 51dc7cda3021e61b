/*
 * compliance.h - the compliance service: every event a compliance officer
 * needs (JOIN, PART, CHAT, BACKCHAT, FILEUPLOAD, FILEDOWNLOAD, ADMIN) is
 * recorded through compliance_record, at the place it happens and in the same
 * store transaction as the change it describes.  The exporter writes the
 * events to [compliance] output_dir in bounded batches (one XML file plus a
 * .manifest each, chained by SHA-256) and only then deletes them; nothing
 * else in pchat deletes an event that has not been exported.
 *
 * Batch files are named pchat-NUMBER-FIRSTSEQ-LASTSEQ.xml (NUMBER zero-padded
 * to 8 digits, so names sort in export order).  A batch's name and bytes are
 * a pure function of its planned row in the store (number, seq range, format,
 * domain, previous hash) and its events, so re-exporting after a crash, or
 * a second exporter racing the first, rewrites the same file identically.
 * The files uploaded by a batch's FILEUPLOAD events (message_id = the
 * file's id) go into pchat-NUMBER-FIRSTSEQ-LASTSEQ.ATTACH beside it, listed
 * in its manifest; they too are a function of the store's rows, which never
 * change while an event names them (compliance_attach.h).
 */
#ifndef PCHAT_COMPLIANCE_H
#define PCHAT_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct compliance;

/* Record one event (a no-op returning STORE_OK when [compliance] enabled is
 * false).  room may be NULL for events about no room; content may be NULL;
 * message_id is the CHAT message's id or the FILEUPLOAD/FILEDOWNLOAD file's
 * id, else 0.
 * Returns STORE_OK or the store's error, which the caller must treat like a
 * failed write of the change itself. */
int compliance_record(struct store *st, const struct config *cfg, const char *type,
                      const struct store_room *room, const char *user_uri, int64_t message_id,
                      const char *content, size_t content_len);

/* The exporter over st with a copy of cfg's settings; st must outlive it.
 * Returns NULL when out of memory.  compliance_free(NULL) is a no-op; free
 * it before the store.  The CLI and the tests call compliance_export_one
 * on it directly. */
struct compliance *compliance_new(const struct config *cfg, struct store *st);

/* The server's exporter: reconcile the store with the archive
 * (compliance_reconcile), then, with [compliance] enabled, start a worker
 * thread with its own store connection that exports every run_interval
 * seconds (batch after batch while a backlog lasts; after a failure it
 * retries after 1 s, 2 s, 4 s, ... capped at run_interval and at one
 * minute).  The loop is never blocked by an export; the worker sees what
 * the loop committed.  After it, only the worker uses c (and
 * compliance_free, which lets the batch in hand finish).  0, or -1 with
 * err: the server must not start. */
int compliance_start(struct compliance *c, char *err, size_t errlen);
void compliance_free(struct compliance *c);

/* The worker's last export round (from the loop thread; safe while the
 * worker runs): 1 with its wall-clock time in *when_us (UTC microseconds),
 * *ok (a round that found nothing to export is ok) and, when it failed, the
 * reason in why; 0 when no round has run yet or no worker was started. */
int compliance_last_result(struct compliance *c, int64_t *when_us, int *ok, char *why, size_t whylen);

/* Export the next batch now.  Returns 1 when a batch file was written (its
 * path in path), 2 when another exporter finished the batch first (call
 * again), 0 when no event waits, -1 on failure with one line in err (the
 * events stay in the store, to be exported by a later run). */
int compliance_export_one(struct compliance *c, char *path, size_t pathlen, char *err, size_t errlen);

/* Bring the store up to date with batches in output_dir that it never
 * recorded (a store restored from a backup taken before they were
 * exported): each intact batch that follows the store's last one is
 * recorded as exported and its events (still in the restored store) are
 * deleted, so nothing is exported twice and the chain goes on.  Every
 * export does this first; the server does it before it serves, and does
 * not start on failure.  0, or -1 with err saying what to do. */
int compliance_reconcile(struct compliance *c, char *err, size_t errlen);

/* Walk dir's hash chain from batch 1: every batch file must be present,
 * unchanged, in order and described by its manifest, and so must every
 * attachment its manifest lists, and nothing else may be there (names
 * starting with '.' are ignored: temporary files).  When st is
 * not NULL the batches are also checked against the hashes the store
 * recorded, which catches a removed newest batch.  Returns 0 with a one-line
 * summary in msg, or 1 with a line naming the first bad file. */
int compliance_verify(const char *dir, struct store *st, char *msg, size_t msglen);

/* What a copy of the archive is checked against when the store is not at
 * hand.  from: the folder starts at batch from_batch (the older ones moved
 * to cold storage), whose predecessor had SHA-256 from_prev (the sha256
 * line of that predecessor's manifest); 0 = starts at batch 1.  head: a
 * chain head published when it was exported (the event=compliance-chain-
 * head log line): batch head_batch must be there with SHA-256 head_sha;
 * 0 = none known. */
struct compliance_anchor {
	int64_t from_batch;
	char from_prev[STORE_SHA256_HEX];
	int64_t head_batch;
	char head_sha[STORE_SHA256_HEX];
};

/* compliance_verify with an anchor (NULL: none).  The ok line says what was
 * proven and what was not.  Names starting with '.' that are not the
 * exporter's temporary files are mentioned in the ok line as a warning. */
int compliance_verify_anchored(const char *dir, struct store *st, const struct compliance_anchor *a, char *msg,
                               size_t msglen);

/* The command line: `pchat export [--now]` (exports every waiting event
 * now, prints each file written; safe while the server runs) and
 * `pchat verify [DIR] [--from N:SHA256] [--head N:SHA256]` (DIR defaults
 * to output_dir).  argv[0] is the
 * command's name.  Return the exit status (0, 1, 2 for usage).
 * PCHAT_EXPORT_CRASH_AT=before-write|after-write|after-rename|before-commit
 * makes `pchat export` _exit(9) at that step (for the crash-safety tests). */
int compliance_cmd_export(const struct config *cfg, int argc, char **argv);
int compliance_cmd_verify(const struct config *cfg, int argc, char **argv);

#endif
