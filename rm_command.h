/*
 * rm_command.h - the room-management web service's XML handler
 * (/PersistentChat/RM/Handler/ManagementHandler.ashx): an RMCommand document
 * in the namespace http://schemas.microsoft.com/2006/09/rtc/cwa, as Lync's
 * room-management page posted it, applied through rooms_manage.h and
 * answered in XML.  The shape is in doc/protocol-notes.md ("Room-management
 * web service"):
 *
 *   <RMCommand xmlns="http://schemas.microsoft.com/2006/09/rtc/cwa"
 *       Type="CreateRoom" RoomName="Sales" RoomDesc="..." Privacy="Closed"
 *       CategoryUri="ma-cat://example.org/Sales" Managers="alice; bob"
 *       Members="carol; dave" Notification="inherit"/>
 *
 * (also inside any one root element, as the first element child).  Type is
 * CreateRoom, ModifyRoom (RoomId: ma-chan://DOMAIN/GUID or the GUID; a
 * Managers or Members attribute there is the whole new list) or Landing
 * (the actor's rooms).
 */
#ifndef PCHAT_RM_COMMAND_H
#define PCHAT_RM_COMMAND_H

#include <stddef.h>

#include "buf.h"
#include "rooms_manage.h"

#define RM_COMMAND_MAX (64 * 1024)      /* bytes of one document */
#define RM_COMMAND_USERS_MAX 500        /* names in one Managers or Members list */
#define RM_CWA_NS "http://schemas.microsoft.com/2006/09/rtc/cwa"

enum rm_command_type { RMC_CREATE_ROOM, RMC_MODIFY_ROOM, RMC_LANDING };

/* A parsed command: every attribute copied, NULL when absent. */
struct rm_command {
	enum rm_command_type type;
	char *room_name, *room_desc, *privacy, *add_in, *category_uri, *notification, *room_id;
	char **managers, **members;     /* the lists split at ';' and ',' and trimmed */
	size_t n_managers, n_members;
	int has_managers, has_members;  /* the attribute was there (an empty list clears) */
};

/* Parse (body, len): no DTD, no network, at most RM_COMMAND_MAX bytes and a
 * few levels deep.  Returns 0, or -1 with why (one line) and *out empty. */
int rm_command_parse(const char *body, size_t len, struct rm_command *out, char *why, size_t whylen);
void rm_command_free(struct rm_command *c);

/* Parse, apply as actor a (ctx as for rooms_manage.h: the server passes its
 * store with own_tx 0 and live set) and write the XML answer into answer
 * (initialised here; the caller frees it) with the HTTP status to send:
 * 200, 400 (malformed, bad value), 403 (forbidden, ethical wall), 404 (not
 * found), 409 (name taken), 413 (too large), 503 (store).  Returns the
 * rooms_manage result (RM_BAD_VALUE for a malformed document), or -1 when
 * out of memory (nothing to send but a 500). */
int rm_command_handle(struct rm_ctx *ctx, const struct rm_actor *a, const char *body, size_t len,
                      struct buf *answer, int *http_status);

#endif
