/*
 * chat_out.h - the XCCOS envelopes the chat service sends, below both
 * xccos.c (the commands) and chat_rooms.c (rooms in use): begin and send an
 * envelope, a command's reply, the room URI, a rendered post.  It knows
 * nothing of rooms or commands.
 */
#ifndef PCHAT_CHAT_OUT_H
#define PCHAT_CHAT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "sip_server.h"
#include "xml_out.h"

#define XCCOS_NS "urn:parlano:xml:ns:xccos"
/* aib keys: an ordinary participant, a channel operator (xccos.md §4). */
#define ROLE_KEY_PARTICIPANT "3984"
#define ROLE_KEY_OPERATOR "12276"
#define REPLY_MAX (4u << 20)            /* hard cap on one envelope we send */

/* The one numbering of the envelopes we send, and the domain our room URIs
 * name.  Owned by the chat service (xccos.c) and shared with chat_rooms.c. */
struct chat_out {
	const char *domain;
	uint64_t next_envid;
};

/* Start o (capped at REPLY_MAX) with the next <xccos> envelope. */
void chat_out_begin(struct chat_out *co, struct xml_out *o);
/* Send the envelope in o to d, or log why not.  Never frees anything. */
void chat_out_send(struct sip_dialog *d, struct xml_out *o);

/* "ma-chan://DOMAIN/GUID", the domain escaped. */
void chat_out_room_uri(const struct chat_out *co, struct xml_out *o, const char *guid);

/* A reply to the command with this envid and seqid (seqid "" counts as
 * "1"): begin writes the envelope up to and including <data>; end closes
 * it, sends it to d and frees o; status is a reply with no data. */
void chat_out_reply_begin(struct chat_out *co, struct xml_out *o, const char *envid, const char *seqid,
                          const char *name, int code, const char *text);
void chat_out_reply_end(struct sip_dialog *d, struct xml_out *o);
void chat_out_reply_status(struct chat_out *co, struct sip_dialog *d, const char *envid, const char *seqid,
                           const char *name, int code, const char *text);

/* One post as <elem id="grpchat" ...> ("grpchat" live, "msg" in history):
 * the text escaped, extra (already-clean XML) copied as it is. */
void chat_out_post(const struct chat_out *co, struct xml_out *o, const char *elem, const char *guid,
                   const char *author, int64_t ts_us, int64_t id, const char *text, size_t text_len,
                   const char *extra, size_t extra_len);

/* The element a Lync client renders as a download link (UCMA's
 * MessagePartFileDownloadLink: FileName, FileSizeEstimate, FileUri), for
 * the announcement of an upload.  The one place its shape is written. */
void chat_out_file_link(struct xml_out *o, const char *name, uint64_t size, const char *uri);

/* The same with the client's own attributes of the post (already-clean
 * XML, each ` name="value"`), written after the server's. */
void chat_out_post_attrs(const struct chat_out *co, struct xml_out *o, const char *elem, const char *guid,
                         const char *author, int64_t ts_us, int64_t id, const char *attrs, size_t attrs_len,
                         const char *text, size_t text_len, const char *extra, size_t extra_len);

#endif
