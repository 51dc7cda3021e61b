/*
 * xccos.h - the chat service: XCCOS envelopes (MS-XCCOSIP) carried in SIP
 * INFO bodies, one command table with the checks in one place, and replies
 * sent back as new INFOs in the same dialog.
 */
#ifndef PCHAT_XCCOS_H
#define PCHAT_XCCOS_H

#include "config.h"
#include "loop.h"
#include "sip_server.h"
#include "store.h"

struct xccos;

/* l may be NULL (no periodic room check, for tests). */
struct xccos *xccos_new(const struct config *cfg, struct store *st, struct loop *l);
/* Commits the pending transaction first. */
void xccos_free(struct xccos *x);

/* The file service, once it exists (NULL: file transfer answered 501). */
struct files;
void xccos_set_files(struct xccos *x, struct files *f);
/* The room-management page's URL for getserverinfo ("" or NULL: none). */
void xccos_set_room_management_url(struct xccos *x, const char *url);
/* The rooms in use, for in-process changes (rooms_manage.h's live). */
struct chat_rooms;
struct chat_rooms *xccos_chat_rooms(struct xccos *x);
/* files.c's announce callback (arg = the struct xccos): post a message about
 * an uploaded file to its room (stored, sent to everyone in the room;
 * chat_announce_file). */
struct files_upload_info;
void xccos_announce_file(void *arg, const struct files_upload_info *info);

/* The callbacks to register with sip_server_set_callbacks. */
/* Rooms someone has joined now (pchat status, metrics). */
size_t xccos_rooms_in_use(const struct xccos *x);

const struct sip_callbacks *xccos_callbacks(struct xccos *x);

/* Parse one envelope (exposed for tests and fuzzing): the first child of
 * <xccos>, its kind ("cmd", "grpchat", ...), id and seqid, and the envid.
 * Returns 0 or -1 (not XML, a DTD, not an xccos envelope). */
struct xccos_envelope {
	char envid[48];
	char kind[16];
	char id[48];        /* "cmd:requri"; "" for grpchat */
	char seqid[24];
};
int xccos_parse_envelope(const char *body, size_t len, struct xccos_envelope *out);

#endif
