/*
 * compliance.h - the compliance service: every event a compliance officer
 * needs (JOIN, PART, CHAT, BACKCHAT, FILEUPLOAD, FILEDOWNLOAD, ADMIN) is
 * recorded through compliance_record, at the place it happens and in the same
 * store transaction as the change it describes.  The exporter that writes the
 * events to [compliance] output_dir and then deletes them lives here too.
 */
#ifndef PCHAT_COMPLIANCE_H
#define PCHAT_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* Record one event (a no-op returning STORE_OK when [compliance] enabled is
 * false).  room may be NULL for events about no room; content may be NULL.
 * Returns STORE_OK or the store's error, which the caller must treat like a
 * failed write of the change itself. */
int compliance_record(struct store *st, const struct config *cfg, const char *type,
                      const struct store_room *room, const char *user_uri, int64_t message_id,
                      const char *content, size_t content_len);

#endif
