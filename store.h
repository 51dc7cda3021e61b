/*
 * store.h - the one SQLite file: schema, migrations and every query.
 *
 * store.c depends on nothing else of pchat's.  A struct store is owned by
 * whoever opened it (the server context, or one admin command) and holds the
 * connection plus statements prepared once at open.  Functions return
 * STORE_OK or a negative STORE_E_* code; messages for the user go into a
 * caller-supplied err buffer where there is one.
 */
#ifndef PCHAT_STORE_H
#define PCHAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1
#define STORE_URI_MAX 256

enum {
	STORE_OK = 0,
	STORE_E_IO = -1,        /* SQLite error; logged with sqlite3_errmsg */
	STORE_E_NOTFOUND = -2,
	STORE_E_EXISTS = -3,
	STORE_E_BUSY = -4,      /* locked by another process past the busy timeout */
	STORE_E_FULL = -5,      /* disk full or read-only: refuse, acknowledge nothing */
	STORE_E_VERSION = -6,   /* file is from a newer pchat */
	STORE_E_INVALID = -7    /* argument refused: empty or over-long URI, NULL pointer */
};

struct store;

struct store_user {
	char uri[STORE_URI_MAX];    /* "sip:alice@example.org" */
	uint8_t nt_hash[16];
	int disabled;
	int64_t created_us;         /* UTC microseconds */
};

/* Open (creating if missing) the store at path, switch to WAL, run forward
 * migrations up to STORE_SCHEMA_VERSION and prepare statements.  A default
 * category named "default" exists afterwards.  On failure *out is NULL and
 * err holds one line.  Returns STORE_OK, STORE_E_IO or STORE_E_VERSION. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);

/* Finalize statements and close. Safe on NULL. */
void store_close(struct store *st);

/* The schema version the open file is at (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Users.  uri is the canonical SIP URI ("sip:alice@example.org").
 * add: STORE_E_EXISTS if present.  set_hash/del/get: STORE_E_NOTFOUND if absent. */
int store_user_add(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_set_hash(struct store *st, const char *uri, const uint8_t nt_hash[16]);
int store_user_del(struct store *st, const char *uri);
int store_user_get(struct store *st, const char *uri, struct store_user *out);

/* Call fn once per user in URI order; stops early and returns fn's value if it
 * returns non-zero.  Returns STORE_OK or STORE_E_IO otherwise. */
int store_user_each(struct store *st, int (*fn)(void *arg, const struct store_user *u), void *arg);

/* Group commits: the server opens one transaction per loop pass and commits it
 * before acknowledging anything written in it. */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* Run PRAGMA integrity_check; STORE_OK when it answers "ok". */
int store_integrity_check(struct store *st, char *err, size_t errlen);

/* One line describing a STORE_E_* code. */
const char *store_strerror(int code);

#endif
