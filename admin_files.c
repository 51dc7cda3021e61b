/*
 * admin_files.c - `pchat file list|get|del` (see admin.h and `pchat --help`):
 * the files posted in rooms, straight from the store (WAL lets this run
 * beside the server).
 *
 *   file list ROOM    one line per file: id, name, size, uploader, UTC time,
 *                     sha256, tab-separated, oldest first
 *   file get ID OUT   copy the file into the new file OUT (never over an
 *                     existing one), checking its SHA-256 on the way
 *   file del ID       delete the file (see below)
 *
 * get and del are recorded as ADMIN compliance events, committed before the
 * file is written or in the delete's own transaction.  A deleted file's
 * FILEUPLOAD and FILEDOWNLOAD events are separate rows and stay until they
 * are exported.  While its FILEUPLOAD event waits for export, del only
 * marks the file deleted (gone from list, get and downloads) and keeps its
 * bytes, which the exporter writes beside the batch and then deletes
 * (store_file_retire): a compliance archive never misses a file because it
 * was deleted early.
 */
#include "admin.h"
#include "base.h"
#include "compliance.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

/* A file id: decimal, 1 .. INT64_MAX.  0 or -1. */
static int parse_id(const char *s, int64_t *out)
{
	uint64_t v;

	if (parse_u64(s, strlen(s), INT64_MAX, &v) < 0 || v == 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int list_print(void *arg, const struct store_file *f)
{
	time_t secs = (time_t)(f->created_us / 1000000);
	struct tm tm;
	char when[32];

	(void)arg;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Names hold no control characters (files.c checks them), so a tab
	 * cannot split a line. */
	printf("%lld\t%s\t%llu\t%s\t%s\t%s\n", (long long)f->id, f->name, (unsigned long long)f->size, f->uploader, when,
	       f->sha256);
	return 0;
}

static int file_list(struct store *st, const struct config *cfg, const char *room)
{
	struct store_room r;
	int rc;

	if (admin_room_find(st, cfg, room, &r))
		return 1;
	if ((rc = store_file_each(st, r.id, list_print, NULL)) != STORE_OK) {
		fprintf(stderr, "pchat: file list: %s\n", store_strerror(rc));
		return 1;
	}
	return 0;
}

/* Record an ADMIN event "file VERB ID NAME" about file sf in its own
 * transaction, with change(st, id, arg) (if not NULL) run first in the same
 * one.  Returns the exit status. */
static int file_admin_tx(struct store *st, const struct config *cfg, const struct store_file *sf, const char *verb,
                         int (*change)(struct store *st, int64_t id, int *arg), int *arg)
{
	struct store_room r, *room = NULL;
	char text[STORE_FILE_NAME_MAX + 64], actor[64];
	int rc;

	if ((rc = store_begin(st)) != STORE_OK) {
		fprintf(stderr, "pchat: cannot start a change: %s\n", store_strerror(rc));
		return 1;
	}
	if (store_room_get_id(st, sf->room_id, &r) == STORE_OK)
		room = &r;
	snprintf(text, sizeof text, "file %s %lld %s", verb, (long long)sf->id, sf->name);
	if ((change != NULL && (rc = change(st, sf->id, arg)) != STORE_OK) ||
	    (rc = compliance_record(st, cfg, "ADMIN", room, admin_actor(actor, sizeof actor), 0, text, strlen(text))) !=
	            STORE_OK ||
	    (rc = store_commit(st)) != STORE_OK) {
		fprintf(stderr, "pchat: file %s %lld: %s\n", verb, (long long)sf->id, store_strerror(rc));
		store_rollback(st);     /* a no-op when SQLite already rolled back */
		return 1;
	}
	return 0;
}

struct get_ctx {
	int fd;
	uint64_t written;
	mbedtls_sha256_context sha;
};

static int get_write(void *arg, const void *p, size_t len)
{
	struct get_ctx *g = arg;
	const unsigned char *q = p;

	mbedtls_sha256_update_ret(&g->sha, q, len);
	while (len > 0) {
		ssize_t w = write(g->fd, q, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		q += w;
		len -= (size_t)w;
		g->written += (uint64_t)w;
	}
	return 0;
}

static int file_get(struct store *st, const struct config *cfg, int64_t id, const char *out)
{
	struct store_file sf;
	struct get_ctx g;
	unsigned char digest[32];
	char hex[65];
	int rc, fail = 1;

	if ((rc = store_file_get(st, id, &sf)) != STORE_OK) {
		fprintf(stderr, "pchat: file %lld: %s\n", (long long)id, rc == STORE_E_NOTFOUND ? "no such file"
		                                                                                 : store_strerror(rc));
		return 1;
	}
	memset(&g, 0, sizeof g);
	g.fd = -1;
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "pchat: %s already exists (file get never overwrites; choose a new name)\n", out);
		return 1;
	}
	/* Nothing leaves the store before the event that says so is committed. */
	if (file_admin_tx(st, cfg, &sf, "get", NULL, NULL))
		return 1;
	g.fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g.fd < 0) {
		fprintf(stderr, "pchat: %s: %s\n", out, errno == EEXIST ? "already exists (file get never overwrites)"
		                                                         : strerror(errno));
		return 1;
	}
	mbedtls_sha256_init(&g.sha);
	mbedtls_sha256_starts_ret(&g.sha, 0);
	rc = store_file_export(st, id, get_write, &g);
	mbedtls_sha256_finish_ret(&g.sha, digest);
	mbedtls_sha256_free(&g.sha);
	hex_encode(digest, 32, hex);
	if (rc == -1)
		fprintf(stderr, "pchat: writing %s: %s\n", out, strerror(errno));
	else if (rc != STORE_OK)
		fprintf(stderr, "pchat: reading file %lld: %s\n", (long long)id, store_strerror(rc));
	else if (g.written != sf.size || strcmp(hex, sf.sha256) != 0)
		fprintf(stderr, "pchat: file %lld: read %llu bytes with SHA-256 %s, expected %llu bytes with %s\n",
		        (long long)id, (unsigned long long)g.written, hex, (unsigned long long)sf.size, sf.sha256);
	else if (fsync(g.fd) < 0)
		fprintf(stderr, "pchat: %s: %s\n", out, strerror(errno));
	else
		fail = 0;
	if (close(g.fd) < 0 && !fail) {
		fprintf(stderr, "pchat: %s: %s\n", out, strerror(errno));
		fail = 1;
	}
	if (fail) {
		unlink(out);
		return 1;
	}
	printf("wrote %llu bytes to %s (%s, sha256 %s)\n", (unsigned long long)g.written, out, sf.name, hex);
	return 0;
}

static int file_del(struct store *st, const struct config *cfg, int64_t id)
{
	struct store_file sf;
	int rc, kept = 0;

	if ((rc = store_file_get(st, id, &sf)) != STORE_OK) {
		fprintf(stderr, "pchat: file %lld: %s\n", (long long)id, rc == STORE_E_NOTFOUND ? "no such file"
		                                                                                 : store_strerror(rc));
		return 1;
	}
	if (file_admin_tx(st, cfg, &sf, "del", store_file_retire, &kept))
		return 1;
	printf("deleted file %lld (%s)%s\n", (long long)id, sf.name,
	       kept ? "; its bytes are kept until its upload is in a compliance export" : "");
	return 0;
}

int admin_file(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	const char *verb = argc > 1 ? argv[1] : "";
	int64_t id = 0;
	int rc;

	if (!((!strcmp(verb, "list") && argc == 3) || (!strcmp(verb, "get") && argc == 4) ||
	      (!strcmp(verb, "del") && argc == 3))) {
		if (argc > 1 && strcmp(verb, "list") && strcmp(verb, "get") && strcmp(verb, "del"))
			fprintf(stderr, "pchat: unknown file command '%s'\n", verb);
		return 2;       /* the caller prints the usage */
	}
	if (strcmp(verb, "list") && parse_id(argv[2], &id) < 0) {
		fprintf(stderr, "pchat: \"%s\" is not a file id (a number from `pchat file list ROOM`)\n", argv[2]);
		return 2;
	}
	if (admin_open_store(cfg, &st))
		return 1;
	if (!strcmp(verb, "list"))
		rc = file_list(st, cfg, argv[2]);
	else if (!strcmp(verb, "get"))
		rc = file_get(st, cfg, id, argv[3]);
	else
		rc = file_del(st, cfg, id);
	store_close(st);
	return rc;
}
