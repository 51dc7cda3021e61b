/*
 * admin.h - the administrative subcommands (users, categories, rooms,
 * files, search).  Each takes the loaded config and its arguments
 * after the subcommand word, prints results on stdout and one-line errors on
 * stderr, and returns the process exit status (0 ok, 1 user error, 2 usage:
 * the caller, pchat.c, then prints the subcommand's usage).
 */
#ifndef PCHAT_ADMIN_H
#define PCHAT_ADMIN_H

#include <stddef.h>

#include "config.h"

int admin_user(const struct config *cfg, int argc, char **argv);
/* argv[0] is "category" / "room"; see `pchat --help` and design.md. */
int admin_category(const struct config *cfg, int argc, char **argv);
int admin_room(const struct config *cfg, int argc, char **argv);
/* argv[0] is "search": search ROOM WORDS... [--limit N]. */
int admin_search(const struct config *cfg, int argc, char **argv);

/* argv[0] is "file": file list ROOM | file get ID OUT | file del ID
 * (admin_files.c). */
int admin_file(const struct config *cfg, int argc, char **argv);

struct store;
struct store_room;
/* Open the store of cfg for a CLI command; 0, or 1 after printing why. */
int admin_open_store(const struct config *cfg, struct store **st);
/* Find ROOM given as a name, a room key or a ma-chan:// URI of this domain,
 * for the commands in other files; prints why not on stderr.  Returns 0 or 1. */
int admin_room_find(struct store *st, const struct config *cfg, const char *arg, struct store_room *r);


/* Who ran this admin command, as an ADMIN compliance event's actor:
 * "admin:NAME", NAME the invoking OS user (SUDO_USER under sudo), with
 * anything outside [A-Za-z0-9._-] made '_'; written into buf. */
const char *admin_actor(char *buf, size_t len);

#include "compliance_types.h"
#include "user_uri.h"     /* admin_user_uri, once declared here */

/* admin_content.c: an administrator's removal of content (Lync's
 * Remove-CsPersistentChatMessage and Clear-CsPersistentChatRoom); kept room
 * addresses (room add --guid) are rooms_manage.c's.
 * admin_message: argv[0] is "message": message del ID [--replace TEXT].
 * admin_room_clear: argv is "room clear ROOM --before DATE". */
int admin_message(const struct config *cfg, int argc, char **argv);
int admin_room_clear(const struct config *cfg, int argc, char **argv);

#endif
