/*
 * admin.h - the administrative subcommands (users now; categories and rooms
 * with the chat service).  Each takes the loaded config and its arguments
 * after the subcommand word, prints results on stdout and one-line errors on
 * stderr, and returns the process exit status (0 ok, 1 user error, 2 usage).
 */
#ifndef PCHAT_ADMIN_H
#define PCHAT_ADMIN_H

#include <stddef.h>

#include "config.h"

int admin_user(const struct config *cfg, int argc, char **argv);
/* argv[0] is "category" / "room"; see `pchat --help` and design.md. */
int admin_category(const struct config *cfg, int argc, char **argv);
int admin_room(const struct config *cfg, int argc, char **argv);

/* Canonical SIP URI for USER given as "alice", "alice@example.org" or
 * "sip:alice@example.org" (lower-cased).  Returns 0, or -1 with err set. */
int admin_user_uri(const char *user, const char *domain, char *out, size_t outlen,
                   char *err, size_t errlen);

#endif
