/*
 * compliance_xml.h - between compliance.c and compliance_xml.c only: one
 * export batch's events in memory, and the bytes of its file in either
 * archive format (the Lync XML adapter schema or Actiance FileDump XML,
 * doc/compliance-formats.md),
 * hashed while they are written.  Everything written is a function of the
 * events and the batch record alone (no clock, no config), which is what
 * makes a retried or concurrent export byte-identical.
 */
#ifndef PCHAT_COMPLIANCE_XML_H
#define PCHAT_COMPLIANCE_XML_H

#include <stddef.h>
#include <stdint.h>

#include "compliance_attach.h"
#include "compliance_types.h"
#include "store.h"

/* One event, its strings packed after it in the same allocation. */
struct xev {
	int64_t seq, ts_us, message_id;
	const char *type, *guid, *room, *user, *content;   /* guid/room NULL for no room */
	const struct compliance_type *kind;                /* type's row; NULL if unknown */
	size_t content_len;
};

struct xbatch {
	struct xev **ev;            /* seq order */
	size_t n, cap;
	size_t *order;              /* indexes into ev: grouped by room, groups by first seq */
	size_t *group_end;          /* group_end[g]: one past the last order[] index of group g */
	size_t ngroups;
	int oom;
	char *attach_lines;         /* the manifest's attachment lines (compliance_attachments_write) */
	char attach_note[COMPLIANCE_ATTACH_NOTE_MAX];  /* the batch file's third line, or "" */
};

/* store_batch_events' callback: append a copy of e to the xbatch arg.
 * Returns 0, or STORE_E_IO with xb->oom set. */
int xbatch_collect(void *arg, const struct store_event *e);

/* Fill xb->order and xb->group_end: one Conversation per room, rooms in the
 * order they first appear, each room's events in seq order.  0 or -1 (out
 * of memory). */
int xbatch_group(struct xbatch *xb);
void xbatch_free(struct xbatch *xb);

/* The first two lines of every batch file (see compliance_xml.c); `pchat
 * verify` compares them.  Returns the length, or -1 if out is too small. */
#define COMPLIANCE_HEADER_MAX 400
int compliance_header_text(const struct store_batch *b, char *out, size_t outlen);

/* Write text when it is not NULL, else batch b (events xb) in b->format,
 * to fd; digest gets the SHA-256 of every byte written.  Returns 0 or an
 * errno value (the first write error; EOVERFLOW for a header that cannot
 * fit, ENOMEM). */
int compliance_xml_write(int fd, const struct store_batch *b, const struct xbatch *xb, const char *text,
                         unsigned char digest[32]);

#endif
