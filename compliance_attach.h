/*
 * compliance_attach.h - between compliance.c and compliance_attach.c only;
 * nothing else includes it.  The files posted in rooms, written beside the
 * export batch that holds their FILEUPLOAD events, the way Lync's compliance
 * adapter keeps a ".ATTACH" folder beside its XML:
 *
 *   pchat-00000007-120-160.xml            the batch
 *   pchat-00000007-120-160.ATTACH/        one file per upload: ID-NAME
 *   pchat-00000007-120-160.xml.manifest   the batch's lines, then one line
 *                                         per uploaded file, in id order:
 *     attachment 42 pchat-00000007-120-160.ATTACH/42-report.pdf 31337 SHA256
 *     attachment 43 missing               (its bytes were gone before export)
 *
 * ID is the file's row id (a FILEUPLOAD event's message_id); NAME is the
 * file's name with every byte outside [A-Za-z0-9._-] made '_' and cut to
 * 100 bytes, so the manifest needs no quoting and no name can escape the
 * folder.  The batch file carries the SHA-256 of those
 * lines in a comment on its third line (compliance_attach_note), so the hash
 * chain covers the attachments too: an attachment changed together with its
 * manifest line is still caught.  Everything written is a function of the
 * store's rows (a file's bytes, name and id never change), never of the
 * clock, so a re-export after a crash writes the same names and bytes.
 */
#ifndef PCHAT_COMPLIANCE_ATTACH_H
#define PCHAT_COMPLIANCE_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define COMPLIANCE_ATTACH_SUFFIX ".ATTACH"
#define COMPLIANCE_ATTACH_NOTE_MAX 200
#define COMPLIANCE_ATTACH_NOTE_PREFIX "<!-- pchat compliance attachments: "

/* Write the files of a batch's FILEUPLOAD events beside it.  ids are the
 * events' message_ids (any order, repeats allowed); base is the batch
 * file's name without ".xml".  Each file is looked up in st (files marked
 * deleted included) and streamed from the store into a temporary file in
 * tmp_dfd, fsynced and published into dfd's folder BASE.ATTACH (created
 * 0750) without replacing anything (durable.h); then the folder is
 * fsynced; the caller fsyncs dfd.  Nothing in the folder is ever removed:
 * a name not in the batch is logged.  The caller holds one read snapshot
 * (store_read_begin) across this call and its read of the events.  A file
 * whose row is gone, or an id <= 0 (recorded before events named their
 * file), is listed as missing, and with no file present no folder is made.
 * *lines gets the manifest's attachment lines (malloc'd; the caller frees
 * them) and note the batch file's third line (compliance_attach_note).
 * Returns 0; 1 when a name in the folder holds other bytes (left as it
 * is); or -1 with err (temporary files removed; a store error is never
 * turned into a "missing" on record: the export is retried). */
int compliance_attach_batch(struct store *st, int tmp_dfd, int dfd, const char *base, const int64_t *ids, size_t n, char **lines,
                            char note[COMPLIANCE_ATTACH_NOTE_MAX], char *err, size_t errlen);

/* The batch file's third line for manifest lines `lines` (as above, or as
 * read back): "" when there are none, else a comment with their count and
 * SHA-256, ending in a newline. */
void compliance_attach_note(const char *lines, char note[COMPLIANCE_ATTACH_NOTE_MAX]);

/* `pchat verify` for one batch: lines is the manifest's text after the
 * batch's own lines, mname the manifest's name, base as above, dfd the
 * folder dir.  Every line must be canonical and in id order, every present
 * attachment in BASE.ATTACH with its size and SHA-256, and nothing else
 * there (names starting with '.' are temporary files and ignored); without
 * a present attachment there must be no BASE.ATTACH.  Returns 0 with the
 * number of attachments checked in *checked, or 1 with a line naming the
 * first bad file in msg. */
int compliance_attach_verify(const char *dir, int dfd, const char *base, const char *mname, const char *lines,
                             size_t *checked, char *msg, size_t msglen);

/* Shared by both files: write a message into an optional err buffer. */
void compliance_say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
