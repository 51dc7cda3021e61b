/*
 * user_uri.h - the one canonical form of a user's SIP URI, shared by the
 * SIP layer (registration, From) and the admin commands; it depends on
 * nothing above the store's size limits.
 */
#ifndef PCHAT_USER_URI_H
#define PCHAT_USER_URI_H

#include <stddef.h>

/* Canonical SIP URI for USER given as "alice", "alice@example.org" or
 * "sip:alice@example.org" (lower-cased).  Returns 0, or -1 with err set. */
int admin_user_uri(const char *user, const char *domain, char *out, size_t outlen,
                   char *err, size_t errlen);

#endif
