/*
 * wall.h - the ethical wall of a category, as one predicate on the store:
 * the chat service (chat_rooms.c) asks it before a user finds, joins or
 * reads a room, and the CLI (admin_rooms.c) before it lets a change stand.
 * It depends on the store alone, so either can include it.
 */
#ifndef PCHAT_WALL_H
#define PCHAT_WALL_H

#include <stdint.h>

struct store;

/* The category's ethical wall: 1 if it lets user through (denied wins, and
 * a non-empty allowed list admits only those on it), 0 if not. */
int chat_wall_admits(struct store *st, int64_t category_id, const char *user);

#endif
