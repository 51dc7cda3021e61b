/*
 * compliance_types.h - the one table of compliance event types: the name
 * stored and passed to compliance_record, and what each becomes in the two
 * archive formats (doc/compliance-formats.md).  The store's whitelist
 * (store_chat.c) and both writers (compliance_xml.c) read it; it depends on
 * nothing of pchat's.
 */
#ifndef PCHAT_COMPLIANCE_TYPES_H
#define PCHAT_COMPLIANCE_TYPES_H

#include <stddef.h>

/* What an event becomes in an Actiance FileDump Conversation. */
enum compliance_actiance {
	COMPLIANCE_ACT_MESSAGE,         /* <Message> */
	COMPLIANCE_ACT_ENTERED,         /* <ParticipantEntered> */
	COMPLIANCE_ACT_LEFT,            /* <ParticipantLeft> */
	COMPLIANCE_ACT_FILE,            /* <FileTransferStarted> then <FileTransferEnded> */
};

struct compliance_type {
	const char *name;               /* stored and passed in: "JOIN", "CHAT", ... */
	const char *lync_type;          /* the Lync schema's Message/@type; NULL: not in the
	                                 * schema, written as a <?pchat-admin?> instruction */
	enum compliance_actiance actiance;
	const char *actiance_elem;      /* the element's name ("FileTransfer": the two above) */
	int message_id;                 /* message_id is a chat message's: Message/@id, MessageId */
	int attachment;                 /* message_id is a file archived beside the batch */
};

/* The type named name (a NUL-terminated string), or NULL for a name not in
 * the table (an event the store refuses; a writer treats one read from an
 * older store as a plain message). */
const struct compliance_type *compliance_type_find(const char *name);

/* Append " key=v" (or " v" when key is NULL) to an ADMIN event's text,
 * quoting v when it is empty or holds spaces, quotes, backslashes or '='. */
struct buf;
void admin_event_append(struct buf *b, const char *key, const char *v);

#endif
