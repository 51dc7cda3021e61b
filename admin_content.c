/*
 * admin_content.c - an administrator's removal of content, as Lync's
 * Remove-CsPersistentChatMessage and Clear-CsPersistentChatRoom did
 * (`pchat message del ID [--replace TEXT]`, `pchat room clear ROOM --before
 * DATE`), and the room addresses kept from an older server (`room add
 * --guid`).  See admin.h.
 *
 * A removal runs in one store transaction with its ADMIN compliance event
 * (actor admin:OSUSER, naming what was removed).  It deletes or rewrites
 * rows of the messages table only (the search index follows by trigger):
 * the CHAT events that carry what was posted stay until they are exported,
 * so the compliance archive keeps the removed content.
 */
#include "admin.h"
#include "buf.h"
#include "chat_out.h"
#include "compliance.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- shared ------------------------------------------------------------------- */

static void iso_time(int64_t us, char out[32])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Record the ADMIN event whose text is b (about room r) and commit; roll
 * back on any failure.  Returns the exit status. */
static int content_commit(struct store *st, const struct config *cfg, const struct store_room *r, struct buf *b)
{
	char actor[64];
	int rc;

	if (buf_append(b, "", 1) < 0) {
		fprintf(stderr, "pchat: out of memory\n");
		store_rollback(st);
		return 1;
	}
	rc = compliance_record(st, cfg, "ADMIN", r, admin_actor(actor, sizeof actor), 0, (const char *)buf_head(b),
	                       b->len - 1);
	if (rc != STORE_OK)
		fprintf(stderr, "pchat: cannot record the compliance event: %s\n", store_strerror(rc));
	else if ((rc = store_commit(st)) != STORE_OK)
		fprintf(stderr, "pchat: cannot commit: %s\n", store_strerror(rc));
	if (rc != STORE_OK)
		store_rollback(st);
	return rc == STORE_OK ? 0 : 1;
}

/* ---- message del --------------------------------------------------------------- */

struct found_message {
	int64_t room_id, ts_us;
	char author[STORE_URI_MAX];
};

static int message_found(void *arg, const struct store_message *m)
{
	struct found_message *f = arg;

	f->room_id = m->room_id;
	f->ts_us = m->ts_us;
	snprintf(f->author, sizeof f->author, "%s", m->author);
	return 0;
}

/* 1 if s is text a message may hold (line breaks and tabs allowed) with no
 * bidi overrides. */
static int message_text_ok(const char *s)
{
	return utf8_text_ok(s, strlen(s), UTF8_LINES) && !utf8_has_bidi_control(s, strlen(s));
}

static int message_del(struct store *st, const struct config *cfg, int64_t id, const char *replace)
{
	struct found_message f;
	struct store_room r;
	struct buf b;
	char num[24], when[32];
	int rc;

	if (store_begin(st) != STORE_OK) {
		fprintf(stderr, "pchat: cannot start a change\n");
		return 1;
	}
	rc = store_message_get(st, id, message_found, &f);
	if (rc == STORE_OK)
		rc = store_room_get_id(st, f.room_id, &r);
	if (rc == STORE_OK)
		rc = store_message_remove(st, id, replace);
	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: message %lld: %s\n", (long long)id,
		        rc == STORE_E_NOTFOUND ? "no such message (removed, or its room's history is off)"
		                               : store_strerror(rc));
		store_rollback(st);
		return 1;
	}
	buf_init(&b, 2 * STORE_TEXT_MAX + 1024);
	buf_printf(&b, "message %s", replace ? "replace" : "del");
	snprintf(num, sizeof num, "%lld", (long long)id);
	admin_event_append(&b, NULL, num);
	admin_event_append(&b, "room", r.name);
	admin_event_append(&b, "author", f.author);
	iso_time(f.ts_us, when);
	admin_event_append(&b, "posted", when);
	if (replace)
		admin_event_append(&b, "text", replace);
	rc = content_commit(st, cfg, &r, &b);
	buf_free(&b);
	if (rc == 0)
		printf("%s message %lld in room %s\n", replace ? "replaced" : "deleted", (long long)id, r.name);
	return rc;
}

int admin_message(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	const char *replace = NULL;
	char *end;
	long long id;
	int rc;

	if (argc < 3 || strcmp(argv[1], "del") != 0) {
		if (argc > 1 && strcmp(argv[1], "del") != 0)
			fprintf(stderr, "pchat: unknown message command '%s'\n", argv[1]);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--replace") != 0 || i + 1 >= argc || replace) {
			fprintf(stderr, "pchat: message del: %s\n", strcmp(argv[i], "--replace") ? "unexpected argument"
			                                              : replace ? "--replace given twice" : "--replace needs a TEXT");
			return 2;
		}
		replace = argv[++i];
	}
	id = strtoll(argv[2], &end, 10);
	if (argv[2][0] < '0' || argv[2][0] > '9' || *end || id <= 0) {
		fprintf(stderr, "pchat: \"%s\" is not a message id (the first column of `pchat search`)\n", argv[2]);
		return 2;
	}
	if (replace && (strlen(replace) >= STORE_TEXT_MAX || !message_text_ok(replace))) {
		fprintf(stderr, "pchat: --replace takes UTF-8 text of at most %d bytes without control characters\n",
		        STORE_TEXT_MAX - 1);
		return 1;
	}
	if (admin_open_store(cfg, &st))
		return 1;
	rc = message_del(st, cfg, (int64_t)id, replace);
	store_close(st);
	return rc;
}

/* ---- room clear -------------------------------------------------------------------- */

/* DATE as ISO 8601 UTC: YYYY-MM-DD (midnight) or YYYY-MM-DDTHH:MM[:SS]Z;
 * UTC microseconds into *us.  -1 if malformed or not a real time. */
static int parse_utc(const char *s, int64_t *us)
{
	struct tm tm, back;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	if (s[n] == 'T') {
		int m = 0;

		if (sscanf(s + n, "T%2d:%2d%n", &h, &mi, &m) != 2 || m != 6)
			return -1;
		n += m;
		if (s[n] == ':') {
			if (sscanf(s + n, ":%2d%n", &sec, &m) != 1 || m != 3)
				return -1;
			n += m;
		}
		if (s[n++] != 'Z')
			return -1;
	}
	if (s[n] != '\0' || y < 1970 || h > 23 || mi > 59 || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
	    back.tm_mon != mo - 1 || back.tm_year != y - 1900)
		return -1;
	*us = (int64_t)t * 1000000;
	return 0;
}

int admin_room_clear(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_room r;
	struct buf b;
	int64_t before = 0, count = 0, first = 0, last = 0;
	char num[48];
	int rc;

	if (argc != 5 || strcmp(argv[3], "--before") != 0) {
		fprintf(stderr, "pchat: room clear takes a ROOM and --before DATE\n");
		return 2;
	}
	if (parse_utc(argv[4], &before) < 0) {
		fprintf(stderr, "pchat: --before takes a UTC date, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, not \"%s\"\n",
		        argv[4]);
		return 2;
	}
	if (admin_open_store(cfg, &st))
		return 1;
	if (store_begin(st) != STORE_OK) {
		fprintf(stderr, "pchat: cannot start a change\n");
		store_close(st);
		return 1;
	}
	if (admin_room_find(st, cfg, argv[2], &r) != 0) {
		store_rollback(st);
		store_close(st);
		return 1;
	}
	if ((rc = store_room_clear_before(st, r.id, before, &count, &first, &last)) != STORE_OK) {
		fprintf(stderr, "pchat: room %s: %s\n", r.name, store_strerror(rc));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	buf_init(&b, STORE_NAME_MAX + 1024);
	buf_printf(&b, "room clear");
	admin_event_append(&b, NULL, r.name);
	admin_event_append(&b, "before", argv[4]);
	snprintf(num, sizeof num, "%lld", (long long)count);
	admin_event_append(&b, "removed", num);
	if (count > 0) {
		snprintf(num, sizeof num, "%lld..%lld", (long long)first, (long long)last);
		admin_event_append(&b, "ids", num);
	}
	rc = content_commit(st, cfg, &r, &b);
	buf_free(&b);
	store_close(st);
	if (rc == 0)
		printf("removed %lld message(s) from room %s\n", (long long)count, r.name);
	return rc;
}
