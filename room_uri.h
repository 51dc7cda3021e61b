/*
 * room_uri.h - a room's URI, "ma-chan://DOMAIN/KEY": its one build and its
 * one parse, for the wire (chat_out.c, xccos.c), both archive formats
 * (compliance_xml.c) and the CLI (admin_rooms.c).  Depends on nothing of
 * pchat's.
 */
#ifndef PCHAT_ROOM_URI_H
#define PCHAT_ROOM_URI_H

#include <stddef.h>

#define ROOM_URI_SCHEME "ma-chan://"
#define ROOM_URI_GUID_LEN 36
/* Room for a URI of a domain of up to 255 bytes (config.h) and a GUID. */
#define ROOM_URI_MAX (sizeof ROOM_URI_SCHEME + 256 + ROOM_URI_GUID_LEN + 1)

/* "ma-chan://DOMAIN/GUID" into out, or "ma-chan://DOMAIN" when guid is
 * NULL (the archives' name for events of no room); as text, the caller
 * escapes it.  Returns its length, or -1 when outlen is too small. */
int room_uri_format(char *out, size_t outlen, const char *domain, const char *guid);

/* The key of uri[0..len) when it is "ma-chan://DOMAIN/KEY" for this
 * domain (scheme and domain without regard to case) with 1 to
 * ROOM_URI_GUID_LEN bytes after the '/': a pointer into uri (the key runs
 * to uri + len); NULL when it is not.  The key is a GUID, or a number for a
 * room kept from an older server (ma-chan://DOMAIN/300): its form is the
 * caller's to check (store_room_key_form). */
const char *room_uri_guid(const char *uri, size_t len, const char *domain);

#endif
