/*
 * room_uri.c - see room_uri.h.
 */
#include "room_uri.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int room_uri_format(char *out, size_t outlen, const char *domain, const char *guid)
{
	int n = guid ? snprintf(out, outlen, ROOM_URI_SCHEME "%s/%s", domain, guid)
	             : snprintf(out, outlen, ROOM_URI_SCHEME "%s", domain);

	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

const char *room_uri_guid(const char *uri, size_t len, const char *domain)
{
	size_t slen = strlen(ROOM_URI_SCHEME), dlen = strlen(domain);

	if (len <= slen + dlen + 1 || len > slen + dlen + 1 + ROOM_URI_GUID_LEN ||
	    strncasecmp(uri, ROOM_URI_SCHEME, slen) != 0 ||
	    strncasecmp(uri + slen, domain, dlen) != 0 || uri[slen + dlen] != '/')
		return NULL;
	return uri + slen + dlen + 1;
}
