/*
 * compliance.c - see compliance.h.  Capture (compliance_record), the
 * exporter (a loop timer in the server, `pchat export` on the command line),
 * the two XML writers (Lync XML adapter schema, Actiance-style), the
 * manifests and their hash chain, and `pchat verify`.
 *
 * One export of one batch, in the order that makes a crash harmless:
 *   1. plan: the store fixes the batch's seq range, format, domain and the
 *      previous batch's SHA-256 (store_batch_plan, its own transaction);
 *   2. read its events from one snapshot and render the XML into
 *      .pchat-tmp-PID-NAME in output_dir, hashing the bytes as they go;
 *   3. fsync, close, rename to NAME; the same for NAME.manifest; fsync the
 *      folder (before all this, the files of the batch's FILEUPLOAD events
 *      go into a folder beside it: compliance_attach.c);
 *   4. one transaction: record the hash and delete the batch's events.
 * A crash before 4 commits leaves the plan in the store, and the next run
 * renders the same name with the same bytes (no clock, no config, no order
 * of iteration other than seq goes into them), so the file is overwritten by
 * an identical one: never loss, never two files holding one event.  Any
 * failure unlinks the temporary file and leaves the events where they were.
 *
 * Rule 18 of the style notes suggests a high-water mark; the planned-batch
 * row in store_compliance.c is that mark plus the range it is about to
 * cover, which is what makes a retried or concurrent export byte-identical.
 */
#include "compliance.h"
#include "base.h"
#include "compliance_attach.h"
#include "compliance_xml.h"
#include "durable.h"
#include "log.h"

#include <mbedtls/sha256.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX_BYTES (32 << 20)      /* content bytes in one batch (at least one event) */
#define MANIFEST_SUFFIX ".manifest"
#define MANIFEST_MAX 1024                       /* the batch's own lines */
#define MANIFEST_READ_MAX (256 << 20)           /* with attachment lines, when verified */
#define NAME_LEN 96                     /* "pchat-" + 3 numbers + ".xml.manifest" fits easily */
#define EXIT_CRASH 9
#define RETRY_MAX_MS 60000           /* a failed export is retried at least once a minute */
#define EXPORT_REST_MAX_MS 1000      /* the longest rest between two batches of a backlog */

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* The steps PCHAT_EXPORT_CRASH_AT can stop at (tests only). */
enum export_step { STEP_NONE = 0, STEP_BEFORE_WRITE, STEP_AFTER_WRITE, STEP_AFTER_RENAME, STEP_BEFORE_COMMIT };
static const char *const step_names[] = { "", "before-write", "after-write", "after-rename", "before-commit" };

struct compliance {
	struct config cfg_own;      /* a copy: the export keys need a restart anyway, and the
	                               worker must not read the struct a reload rewrites */
	const struct config *cfg;   /* &cfg_own */
	struct store *st;           /* the caller's; the worker's own connection once started */
	struct store *worker_st;    /* owned: opened by compliance_start */
	int64_t backoff_ms;         /* 0 = last run succeeded */
	int backlog_warned;         /* event=export-behind logged in this outage */
	char round_err[200];        /* the worker's last failure (export_round) */
	enum export_step crash_at;
	/* The export worker (compliance_start): a thread with its own SQLite
	 * connection, so rendering and writing batches never stall the loop. */
	pthread_t worker;
	int worker_running;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int stopping;               /* under mu */
	/* The worker's last round, under mu (compliance_last_result). */
	int64_t last_us;            /* 0 = no round yet */
	int last_ok;
	char last_why[200];
	/* Tests only: called once the batch's snapshot is read, to let another
	 * exporter and a file deletion run at the worst moment. */
	void (*after_read)(void *arg);
	void *after_read_arg;
};

/* ---- capture ------------------------------------------------------------------ */

int compliance_record(struct store *st, const struct config *cfg, const char *type,
                      const struct store_room *room, const char *user_uri, int64_t message_id,
                      const char *content, size_t content_len)
{
	struct store_event e = {
		.type = type,
		.room_guid = room ? room->guid : NULL,
		.room_name = room ? room->name : NULL,
		.user_uri = user_uri,
		.ts_us = wall_us(),
		.message_id = message_id,
		.content = content,
		.content_len = content ? content_len : 0,
	};

	if (!cfg->compliance_enabled)
		return STORE_OK;
	return store_event_add(st, &e);
}

/* ---- small helpers ---------------------------------------------------------------- */

void compliance_say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* "pchat-00000001-17-42.xml": the batch's file name. */
static void batch_name(const struct store_batch *b, char out[NAME_LEN])
{
	snprintf(out, NAME_LEN, "pchat-%08lld-%lld-%lld.xml", (long long)b->number, (long long)b->first_seq,
	         (long long)b->last_seq);
}

/* Decimal digits only (no sign, no space); advances *p past them.  -1 when
 * there are none or the value overflows.  Callers check the canonical form. */
static int parse_num(const char **p, int64_t *out)
{
	size_t n = strspn(*p, "0123456789");
	uint64_t v;

	if (parse_u64(*p, n, INT64_MAX, &v) < 0)
		return -1;
	*p += n;
	*out = (int64_t)v;
	return 0;
}

/* Parse the name of a batch file, its manifest or its attachment folder;
 * *kind says which (0, 1, 2).  The name must be exactly what batch_name
 * would produce for the numbers in it, with its suffix. */
static int parse_batch_name(const char *name, struct store_batch *b, int *kind)
{
	char canon[NAME_LEN];
	const char *p = name;
	size_t n;

	memset(b, 0, sizeof *b);
	if (strncmp(p, "pchat-", 6) != 0)
		return -1;
	p += 6;
	if (parse_num(&p, &b->number) < 0 || *p++ != '-' || parse_num(&p, &b->first_seq) < 0 || *p++ != '-' ||
	    parse_num(&p, &b->last_seq) < 0 || b->number < 1 || b->first_seq < 1 || b->last_seq < b->first_seq)
		return -1;
	batch_name(b, canon);
	n = strlen(canon) - 4;  /* without ".xml" */
	if (strncmp(name, canon, n) != 0)
		return -1;
	if (strcmp(name + n, ".xml") == 0)
		*kind = 0;
	else if (strcmp(name + n, ".xml" MANIFEST_SUFFIX) == 0)
		*kind = 1;
	else if (strcmp(name + n, COMPLIANCE_ATTACH_SUFFIX) == 0)
		*kind = 2;
	else
		return -1;
	return 0;
}

/* The manifest's exact text: every line is checkable by `pchat verify`. */
static int manifest_text(const struct store_batch *b, const char *name, const char *sha, const char *prev,
                         char *out, size_t outlen)
{
	int n = snprintf(out, outlen,
	                 "pchat-compliance-manifest 1\n"
	                 "batch %lld\n"
	                 "file %s\n"
	                 "first_seq %lld\n"
	                 "last_seq %lld\n"
	                 "sha256 %s\n"
	                 "prev_sha256 %s\n",
	                 (long long)b->number, name, (long long)b->first_seq, (long long)b->last_seq, sha, prev);

	return n > 0 && (size_t)n < outlen ? n : -1;
}


/* ---- durable files ------------------------------------------------------------------ */

/* Test hook: die at step, as a crash would (no cleanup, no atexit). */
static void maybe_crash(const struct compliance *c, enum export_step step)
{
	if (c->crash_at == step && step != STEP_NONE)
		_exit(EXIT_CRASH);
}

/* What to write: either rendered XML (b + xb) or a fixed text. */
struct content {
	const struct store_batch *b;
	const struct xbatch *xb;
	const char *text;
};

/* Write name into folder dfd durably and without replacing: a temporary
 * file in tmp_dfd, fsynced, then published (durable.h); the caller fsyncs
 * dfd once the batch's files are in.  sha_hex gets the SHA-256 of the
 * bytes.  Returns 0 (written, or already there with exactly these bytes),
 * 1 when name holds other bytes (left untouched), or -1 with err. */
static int write_durably(const struct compliance *c, int tmp_dfd, int dfd, const char *name,
                         const struct content *what, char sha_hex[STORE_SHA256_HEX], char *err, size_t errlen)
{
	char tmp[DURABLE_TMP_MAX];
	unsigned char digest[32];
	int fd, e, r;

	if ((fd = durable_create(tmp_dfd, name, tmp)) < 0) {
		compliance_say(err, errlen, "cannot create a temporary file for %s: %s", name, strerror(errno));
		return -1;
	}
	e = compliance_xml_write(fd, what->b, what->xb, what->text, digest);
	if (e != 0) {
		compliance_say(err, errlen, "cannot write %s: %s", tmp, strerror(e));
		close(fd);
		goto fail;
	}
	if (durable_sync_close(fd) < 0) {
		compliance_say(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (what->text == NULL)
		maybe_crash(c, STEP_AFTER_WRITE);
	if ((r = durable_publish(tmp_dfd, tmp, dfd, name, digest)) < 0) {
		compliance_say(err, errlen, "cannot move %s to %s: %s", tmp, name, strerror(errno));
		return -1;
	}
	hex_encode(digest, 32, sha_hex);
	return r == DURABLE_DIFFERENT;
fail:
	unlinkat(tmp_dfd, tmp, 0);
	return -1;
}

/*
 * The files of the batch's FILEUPLOAD events (message_id is the file's id,
 * store migration 5), written into NAME.ATTACH beside the batch (NAME the
 * batch file's name without ".xml") by compliance_attach.c.  Called before
 * the batch file is written: the batch file's third line carries the
 * SHA-256 of the manifest lines listing them, so the chain covers them, and
 * once the batch file is in place everything it names is too.  The bytes
 * come from the store by id, never from a live path, so a re-export after
 * a crash writes the same names and bytes.  Fills xb->attach_lines and
 * xb->attach_note.  Returns 0, 1 when a name is taken by other bytes, or
 * -1 with err.
 */
static int compliance_attachments_write(const struct compliance *c, int tmp_dfd, int dfd, const struct store_batch *b,
                                        struct xbatch *xb, char *err, size_t errlen)
{
	char base[NAME_LEN];
	int64_t *ids;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < xb->n; i++)
		n += xb->ev[i]->kind != NULL && xb->ev[i]->kind->attachment;
	if (n == 0)
		return 0;
	if ((ids = malloc(n * sizeof *ids)) == NULL) {
		compliance_say(err, errlen, "out of memory");
		return -1;
	}
	n = 0;
	for (size_t i = 0; i < xb->n; i++)
		if (xb->ev[i]->kind != NULL && xb->ev[i]->kind->attachment)
			ids[n++] = xb->ev[i]->message_id;
	batch_name(b, base);
	base[strlen(base) - 4] = '\0';        /* without ".xml" */
	rc = compliance_attach_batch(c->st, tmp_dfd, dfd, base, ids, n, &xb->attach_lines, xb->attach_note, err, errlen);
	free(ids);
	return rc;
}

/* ---- one export ------------------------------------------------------------------------ */

static int reconcile_all(struct compliance *c, int dfd, char *err, size_t errlen);

/* The exporter's temporary folder, ".NAME.pchat-tmp" beside output_dir
 * NAME: on the same file system (files are renamed into the archive), but
 * outside it, so write-once storage never holds a temporary name. */
static int tmp_dir_of(const char *dir, char *out, size_t outlen)
{
	size_t n = strlen(dir);
	const char *slash;
	int w;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	slash = memrchr(dir, '/', n);
	if (slash == NULL)
		w = snprintf(out, outlen, ".%.*s.pchat-tmp", (int)n, dir);
	else
		w = snprintf(out, outlen, "%.*s/.%.*s.pchat-tmp", (int)(slash - dir), dir, (int)(n - (size_t)(slash - dir) - 1),
		             slash + 1);
	return w > 0 && (size_t)w < outlen && n > 1 ? 0 : -1;
}

/* A name of batch b's was found holding other bytes.  If another exporter
 * finished b meanwhile, its files are the record (they came from an
 * earlier snapshot of the same events): 2.  Otherwise -1 with err: the
 * archive is never overwritten, so a person has to look. */
static int export_conflict(const struct compliance *c, const struct store_batch *b, const char *name, char *err,
                           size_t errlen)
{
	struct store_batch now;

	if (store_batch_get(c->st, b->number, &now) == STORE_OK && now.sha256[0] != '\0')
		return 2;
	compliance_say(err, errlen, "%s/%s already exists with other contents and is never replaced (a store restored from"
	               " an older backup? see RESTORE in pchat(8))", c->cfg->output_dir, name);
	return -1;
}

int compliance_export_one(struct compliance *c, char *path, size_t pathlen, char *err, size_t errlen)
{
	const char *dir = c->cfg->output_dir;
	struct xbatch xb = { 0 };
	struct store_batch b;
	struct content what;
	char name[NAME_LEN], mname[NAME_LEN + 16], sha[STORE_SHA256_HEX], msha[STORE_SHA256_HEX];
	char mtext[MANIFEST_MAX], *mfull = NULL, tmpdir[PATH_MAX];
	int dfd = -1, tdfd = -1, rc = -1, r;

	if (path && pathlen)
		path[0] = '\0';
	/* A folder that held recorded batches and is gone (an unmounted
	 * volume, a mistake) is not silently replaced by an empty one. */
	if (access(dir, F_OK) < 0 && errno == ENOENT && store_batch_last(c->st, &b) == STORE_OK) {
		compliance_say(err, errlen, "%s is missing, but the store recorded %lld batch%s exported there: mount or restore"
		               " it (or create it by hand to go on in an empty folder)", dir, (long long)b.number,
		               b.number == 1 ? "" : "es");
		goto out;
	}
	if (durable_make_dirs(dir, 0750) < 0 || (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		compliance_say(err, errlen, "cannot use the output folder: %s", strerror(errno));
		goto out;
	}
	if (tmp_dir_of(dir, tmpdir, sizeof tmpdir) < 0) {
		compliance_say(err, errlen, "output_dir %s has no parent folder for temporary files", dir);
		goto out;
	}
	if ((mkdir(tmpdir, 0750) < 0 && errno != EEXIST) ||
	    (tdfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		compliance_say(err, errlen, "cannot use the temporary folder %s (beside output_dir, on its file system): %s",
		               tmpdir, strerror(errno));
		goto out;
	}
	if (reconcile_all(c, dfd, err, errlen) < 0)
		goto out;
	r = store_batch_plan(c->st, (int64_t)c->cfg->max_batch_events, BATCH_MAX_BYTES, c->cfg->compliance_format,
	                     c->cfg->domain, &b);
	if (r == STORE_E_NOTFOUND) {
		rc = 0;
		goto out;
	}
	if (r != STORE_OK) {
		compliance_say(err, errlen, "store: cannot plan a batch: %s", store_strerror(r));
		goto out;
	}
	if (strcmp(b.format, "lync") != 0 && strcmp(b.format, "actiance") != 0) {
		compliance_say(err, errlen, "batch %lld was planned in an unknown format \"%s\"", (long long)b.number, b.format);
		goto out;
	}
	/* The events and the bytes of their files from one snapshot: a file
	 * deleted after another exporter finished this batch is still here. */
	if ((r = store_read_begin(c->st)) != STORE_OK) {
		compliance_say(err, errlen, "store: %s", store_strerror(r));
		goto out;
	}
	r = store_batch_events(c->st, &b, xbatch_collect, &xb);
	if (r == STORE_E_NOTFOUND) {
		rc = 2;         /* another exporter finished it between our plan and our read */
		goto out;
	}
	if (r != STORE_OK || xb.oom || xbatch_group(&xb) < 0) {
		compliance_say(err, errlen, "cannot read batch %lld: %s", (long long)b.number,
		    xb.oom || r == STORE_OK ? "out of memory" : store_strerror(r));
		goto out;
	}
	if (c->after_read != NULL)
		c->after_read(c->after_read_arg);
	maybe_crash(c, STEP_BEFORE_WRITE);
	durable_sweep(tdfd);
	durable_sweep(dfd);     /* temporary files of versions that wrote them into the archive */
	batch_name(&b, name);
	if ((r = compliance_attachments_write(c, tdfd, dfd, &b, &xb, err, errlen)) != 0) {
		store_read_end(c->st);  /* export_conflict must see the store as it is now */
		rc = r < 0 ? -1 : export_conflict(c, &b, name, err, errlen);
		goto out;
	}
	store_read_end(c->st);
	what = (struct content){ .b = &b, .xb = &xb };
	if ((r = write_durably(c, tdfd, dfd, name, &what, sha, err, errlen)) != 0) {
		rc = r < 0 ? -1 : export_conflict(c, &b, name, err, errlen);
		goto out;
	}
	maybe_crash(c, STEP_AFTER_RENAME);
	snprintf(mname, sizeof mname, "%s" MANIFEST_SUFFIX, name);
	if (manifest_text(&b, name, sha, b.prev_sha256, mtext, sizeof mtext) < 0) {
		compliance_say(err, errlen, "manifest too long");
		goto out;
	}
	if (xb.attach_lines != NULL) {
		if ((mfull = malloc(strlen(mtext) + strlen(xb.attach_lines) + 1)) == NULL) {
			compliance_say(err, errlen, "out of memory");
			goto out;
		}
		strcat(strcpy(mfull, mtext), xb.attach_lines);
	}
	what = (struct content){ .text = mfull ? mfull : mtext };
	if ((r = write_durably(c, tdfd, dfd, mname, &what, msha, err, errlen)) != 0) {
		rc = r < 0 ? -1 : export_conflict(c, &b, mname, err, errlen);
		goto out;
	}
	if (fsync(dfd) < 0) {
		compliance_say(err, errlen, "cannot fsync the output folder: %s", strerror(errno));
		goto out;
	}
	/* The files are durable: now, and only now, the events may go. */
	if ((r = store_begin(c->st)) != STORE_OK) {
		compliance_say(err, errlen, "store: %s", store_strerror(r));
		goto out;
	}
	r = store_batch_finish(c->st, &b, sha);
	if (r == STORE_OK)
		maybe_crash(c, STEP_BEFORE_COMMIT);
	if (r == STORE_OK && (r = store_commit(c->st)) == STORE_OK) {
		rc = 1;
	} else {
		store_rollback(c->st);
		if (r == STORE_E_NOTFOUND) {
			rc = 2;     /* finished by another exporter: our file was byte-identical */
		} else {
			compliance_say(err, errlen, "store: cannot record batch %lld: %s", (long long)b.number, store_strerror(r));
			goto out;
		}
	}
	if (path && pathlen)
		snprintf(path, pathlen, "%s/%s", dir, name);
	/* Published off the host by the log (journald, syslog forwarding): a
	 * copy of the archive can be checked against it (verify --head). */
	if (rc == 1)
		log_info("event=compliance-chain-head batch=%lld sha256=%s file=%s events=%lld", (long long)b.number, sha, name,
		         (long long)b.events);
out:
	store_read_end(c->st);
	free(mfull);
	xbatch_free(&xb);
	if (tdfd >= 0)
		close(tdfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* ---- the export worker ------------------------------------------------------------------ */

/* One round of the worker: export one batch.  Returns the delay before the
 * next round in ms: while a backlog lasts, as long as the batch took (at
 * most EXPORT_REST_MAX_MS); run_interval when nothing waits; after a failure 1 s, 2 s, 4 s, ... capped at run_interval and
 * at RETRY_MAX_MS. */
static int64_t export_round(struct compliance *c)
{
	int64_t interval_ms = (int64_t)c->cfg->run_interval * 1000, took_ms;
	char path[PATH_MAX + NAME_LEN], err[512];
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = compliance_export_one(c, path, sizeof path, err, sizeof err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (r < 0) {
		int64_t waiting, oldest_us, age_s;

		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 1000;
		if (c->backoff_ms > interval_ms)
			c->backoff_ms = interval_ms;
		if (c->backoff_ms > RETRY_MAX_MS)
			c->backoff_ms = RETRY_MAX_MS;
		snprintf(c->round_err, sizeof c->round_err, "%.199s", err);
		log_error("event=export-failed dir=%s reason=\"%s\" retry_ms=%lld", c->cfg->output_dir, err,
		          (long long)c->backoff_ms);
		/* Once per outage: the oldest waiting event is older than one
		 * run_interval, so the archive is behind (an alert can key on this). */
		if (!c->backlog_warned && store_event_backlog(c->st, &waiting, &oldest_us) == STORE_OK && waiting > 0 &&
		    (age_s = (wall_us() - oldest_us) / 1000000) > (int64_t)c->cfg->run_interval) {
			log_warn("event=export-behind waiting=%lld oldest_age_s=%lld run_interval_s=%llu", (long long)waiting,
			         (long long)age_s, (unsigned long long)c->cfg->run_interval);
			c->backlog_warned = 1;
		}
		return c->backoff_ms;
	}
	if (c->backoff_ms)
		log_info("event=export-recovered dir=%s", c->cfg->output_dir);
	c->backoff_ms = 0;
	c->backlog_warned = 0;
	if (r == 1)
		log_info("event=export file=%s", path);
	/* While a backlog lasts, rest as long as the batch took: the worker
	 * then uses at most half a core, and on a small box (two cores, one
	 * for the chat loop) chat keeps its core and its latency. */
	if (r > 0)
		return took_ms < EXPORT_REST_MAX_MS ? took_ms : EXPORT_REST_MAX_MS;
	return interval_ms;
}

static void *export_worker(void *arg)
{
	struct compliance *c = arg;
	int64_t delay_ms = (int64_t)c->cfg->run_interval * 1000;
	struct timespec until;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += delay_ms / 1000;
		until.tv_nsec += (delay_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!c->stopping && delay_ms > 0 && pthread_cond_timedwait(&c->wake, &c->mu, &until) == 0)
			;
		if (c->stopping)
			break;
		pthread_mutex_unlock(&c->mu);
		delay_ms = export_round(c);
		pthread_mutex_lock(&c->mu);
		c->last_us = wall_us();
		c->last_ok = c->backoff_ms == 0;
		snprintf(c->last_why, sizeof c->last_why, "%s", c->last_ok ? "" : c->round_err);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct compliance *compliance_new(const struct config *cfg, struct store *st)
{
	struct compliance *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->cfg_own = *cfg;
	c->cfg = &c->cfg_own;
	c->st = st;
	return c;
}

int compliance_start(struct compliance *c, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int e;

	if (compliance_reconcile(c, err, errlen) < 0)
		return -1;
	if (!c->cfg->compliance_enabled)
		return 0;
	if (store_open(&c->worker_st, c->cfg->store_path, err, errlen) != STORE_OK)
		return -1;
	c->st = c->worker_st;       /* from now on only the worker uses c */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	if ((e = pthread_create(&c->worker, NULL, export_worker, c)) != 0) {
		compliance_say(err, errlen, "cannot start the export worker: %s", strerror(e));
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		return -1;
	}
	c->worker_running = 1;
	log_info("event=compliance-export interval_s=%llu dir=%s format=%s max_batch_events=%llu",
	         (unsigned long long)c->cfg->run_interval, c->cfg->output_dir, c->cfg->compliance_format,
	         (unsigned long long)c->cfg->max_batch_events);
	return 0;
}

int compliance_last_result(struct compliance *c, int64_t *when_us, int *ok, char *why, size_t whylen)
{
	int have;

	if (c == NULL || !c->worker_running)
		return 0;
	pthread_mutex_lock(&c->mu);
	have = c->last_us != 0;
	*when_us = c->last_us;
	*ok = c->last_ok;
	snprintf(why, whylen, "%s", c->last_why);
	pthread_mutex_unlock(&c->mu);
	return have;
}

void compliance_free(struct compliance *c)
{
	if (c == NULL)
		return;
	if (c->worker_running) {
		/* The batch in hand is finished first: an export is never cut. */
		pthread_mutex_lock(&c->mu);
		c->stopping = 1;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->worker, NULL);
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
	}
	store_close(c->worker_st);
	free(c);
}

/* ---- verify ----------------------------------------------------------------------------- */

/* One batch as found in the folder: its file and/or its manifest. */
struct vent {
	struct store_batch b;       /* number and seq range from the name */
	char name[NAME_LEN];        /* the batch file's name */
	int has_file, has_manifest, has_attach;
};

static int vent_cmp(const void *pa, const void *pb)
{
	const struct vent *a = pa, *b = pb;

	if (a->b.number != b->b.number)
		return a->b.number < b->b.number ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int file_sha256(int dfd, const char *name, char hex[STORE_SHA256_HEX], char *why, size_t whylen)
{
	unsigned char digest[32];

	if (durable_file_sha256(dfd, name, digest) < 0) {
		compliance_say(why, whylen, "cannot read: %s", strerror(errno));
		return -1;
	}
	hex_encode(digest, 32, hex);
	return 0;
}

/* Read a small file whole (NUL-terminated); -1 if unreadable or too big. */
static int read_small(int dfd, const char *name, char *out, size_t outlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t got = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (got < outlen - 1 && ((r = read(fd, out + got, outlen - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	close(fd);
	out[got] = '\0';
	return got < outlen - 1 ? 0 : -1;
}

/* A manifest whole, NUL-terminated, into *out (malloc'd; the caller frees
 * it); -1 if unreadable, over MANIFEST_READ_MAX or holding a NUL byte. */
static int read_manifest(int dfd, const char *name, char **out)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	size_t got = 0;
	ssize_t r = 0;
	char *p = NULL;

	*out = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > MANIFEST_READ_MAX ||
	    (p = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)sb.st_size && ((r = read(fd, p + got, (size_t)sb.st_size - got)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	close(fd);
	p[got] = '\0';
	if (r < 0 || strlen(p) != got) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* Value of "key VALUE\n" in a manifest, into out (size 65+); "" if absent. */
static void manifest_field(const char *text, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			snprintf(out, outlen, "%.*s", (int)strcspn(p + kl + 1, "\n"), p + kl + 1);
			return;
		}
	}
}

/* List dir into *out (sorted by batch number).  Returns the count, or -1
 * with msg set (an unexpected name, or an unreadable folder).  A missing
 * folder is an empty one. */
static int verify_list(const char *dir, struct vent **out, char *odd, size_t oddlen, char *msg, size_t msglen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct vent *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		compliance_say(msg, msglen, "%s: cannot read the folder: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct store_batch b;
		size_t i;
		int kind;

		if (de->d_name[0] == '.') {
			/* ".", "..", and temporary files of earlier versions' exporters
			 * pass; anything else hidden is named (a warning, not a failure). */
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
			    strncmp(de->d_name, DURABLE_TMP_PREFIX, strlen(DURABLE_TMP_PREFIX)) != 0 && odd[0] == '\0')
				compliance_say(odd, oddlen, "%s", de->d_name);
			continue;
		}
		if (parse_batch_name(de->d_name, &b, &kind) < 0) {
			compliance_say(msg, msglen, "%s/%s: not a batch of this chain (added file)", dir, de->d_name);
			goto fail;
		}
		for (i = 0; i < n; i++)
			if (v[i].b.number == b.number && v[i].b.first_seq == b.first_seq && v[i].b.last_seq == b.last_seq)
				break;
		if (i == n) {
			if (array_reserve(&v, &cap, n, sizeof *v, 64) < 0) {
				compliance_say(msg, msglen, "out of memory");
				goto fail;
			}
			memset(&v[n], 0, sizeof v[n]);
			v[n].b = b;
			batch_name(&b, v[n].name);
			n++;
		}
		if (kind == 2)
			v[i].has_attach = 1;
		else if (kind == 1)
			v[i].has_manifest = 1;
		else
			v[i].has_file = 1;
	}
	closedir(d);
	qsort(v, n, sizeof *v, vent_cmp);
	*out = v;
	return (int)n;
fail:
	closedir(d);
	free(v);
	return -1;
}

/* The batch file's header (header_text) must name this batch, its seq
 * range and prev as the hash of the batch before it: 0, or -1.  Its third
 * line must be note (compliance_attach_note of the manifest's attachment
 * lines), or, when note is "", not an attachment note at all: else -2.
 * Its event count must fill its seq range: else -3. */
static int check_header(int dfd, const struct vent *e, const char *prev, const char *note)
{
	struct store_batch b = e->b;
	char have[COMPLIANCE_HEADER_MAX + COMPLIANCE_ATTACH_NOTE_MAX], want[COMPLIANCE_HEADER_MAX], fmt[16], prev_in[STORE_SHA256_HEX];
	long long number, events, first, last;
	const char *line2, *line3;

	have[0] = '\0';
	if (read_small(dfd, e->name, have, sizeof have) < 0 && strlen(have) + 1 < sizeof have)
		return -1;      /* unreadable; a long file only fills the buffer */
	line2 = strchr(have, '\n');
	if (line2 == NULL ||
	    sscanf(line2 + 1, "<!-- pchat compliance export: batch %lld, events %lld (seq %lld..%lld), format %15[a-z],"
	           " previous batch sha256 %64[0-9a-f] -->", &number, &events, &first, &last, fmt, prev_in) != 6)
		return -1;
	b.events = events;
	snprintf(b.format, sizeof b.format, "%s", fmt);
	snprintf(b.prev_sha256, sizeof b.prev_sha256, "%s", prev);
	if (compliance_header_text(&b, want, sizeof want) < 0 || strncmp(have, want, strlen(want)) != 0 || events < 1)
		return -1;
	if (events != e->b.last_seq - e->b.first_seq + 1)
		return -3;      /* seq numbers are never skipped: a gap means events were taken out */
	line3 = have + strlen(want);
	if (note[0] ? strncmp(line3, note, strlen(note)) != 0
	            : strncmp(line3, COMPLIANCE_ATTACH_NOTE_PREFIX, strlen(COMPLIANCE_ATTACH_NOTE_PREFIX)) == 0)
		return -2;
	return 0;
}

/* Check one batch found in the folder against the chain so far (prev hash,
 * previous last seq) and the store, and its attachments (how many into
 * *attached); 0 or 1 with msg. */
static int verify_one(const char *dir, int dfd, const struct vent *e, const char *prev, int64_t prev_last,
                      struct store *st, char sha[STORE_SHA256_HEX], size_t *attached, char *msg, size_t msglen)
{
	char mname[NAME_LEN + 16], base[NAME_LEN], want[MANIFEST_MAX], field[80], why[200];
	char note[COMPLIANCE_ATTACH_NOTE_MAX], *have = NULL;
	struct store_batch rec;
	size_t wlen;
	int rc = 1, r;

	snprintf(mname, sizeof mname, "%s" MANIFEST_SUFFIX, e->name);
	snprintf(base, sizeof base, "%.*s", (int)strlen(e->name) - 4, e->name);
	if (!e->has_file && !e->has_manifest) {
		compliance_say(msg, msglen, "%s/%s" COMPLIANCE_ATTACH_SUFFIX ": attachments of a batch that is not there (added, or"
		    " the batch removed)", dir, base);
		return 1;
	}
	if (!e->has_file) {
		compliance_say(msg, msglen, "%s/%s: removed (its manifest is still there)", dir, e->name);
		return 1;
	}
	if (!e->has_manifest) {
		compliance_say(msg, msglen, "%s/%s: no manifest beside it (added, or its manifest removed)", dir, e->name);
		return 1;
	}
	if (e->b.first_seq <= prev_last) {
		compliance_say(msg, msglen, "%s/%s: out of order (its events start at seq %lld, the batch before ended at %lld):"
		    " reordered or renamed", dir, e->name, (long long)e->b.first_seq, (long long)prev_last);
		return 1;
	}
	if (prev_last > 0 && e->b.first_seq != prev_last + 1) {
		compliance_say(msg, msglen, "%s/%s: events missing between batches (it starts at seq %lld, the batch before"
		    " ended at %lld)", dir, e->name, (long long)e->b.first_seq, (long long)prev_last);
		return 1;
	}
	if (file_sha256(dfd, e->name, sha, why, sizeof why) < 0) {
		compliance_say(msg, msglen, "%s/%s: %s", dir, e->name, why);
		return 1;
	}
	if (read_manifest(dfd, mname, &have) < 0) {
		compliance_say(msg, msglen, "%s/%s: unreadable or too long", dir, mname);
		return 1;
	}
	manifest_field(have, "sha256", field, sizeof field);
	if (strcmp(field, sha) != 0) {
		compliance_say(msg, msglen, "%s/%s: changed (its sha256 is %s, the manifest says %s)", dir, e->name, sha,
		    field[0] ? field : "nothing");
		goto out;
	}
	manifest_field(have, "prev_sha256", field, sizeof field);
	if (strcmp(field, prev) != 0) {
		compliance_say(msg, msglen, "%s/%s: hash chain broken (it follows a batch with sha256 %s, the batch before it here"
		    " has %s): a batch before it was removed, replaced or reordered", dir, e->name,
		    field[0] ? field : "nothing", prev);
		goto out;
	}
	manifest_text(&e->b, e->name, sha, prev, want, sizeof want);
	wlen = strlen(want);
	if (strncmp(want, have, wlen) != 0) {
		compliance_say(msg, msglen, "%s/%s: changed (does not describe %s)", dir, mname, e->name);
		goto out;
	}
	/* After the batch's own lines: its attachments, if any. */
	if (compliance_attach_verify(dir, dfd, base, mname, have + wlen, attached, msg, msglen) != 0)
		goto out;
	compliance_attach_note(have + wlen, note);
	r = check_header(dfd, e, prev, note);
	if (r == -2) {
		compliance_say(msg, msglen, "%s/%s: changed (its attachment lines are not the ones %s names: an attachment"
		    " and its line changed together?)", dir, mname, e->name);
		goto out;
	}
	if (r == -3) {
		compliance_say(msg, msglen, "%s/%s: fewer events than its seq range %lld..%lld (events taken out)", dir, e->name,
		    (long long)e->b.first_seq, (long long)e->b.last_seq);
		goto out;
	}
	if (r != 0) {
		compliance_say(msg, msglen, "%s/%s: its own header names another batch or predecessor: moved or re-chained",
		    dir, e->name);
		goto out;
	}
	if (st != NULL && store_batch_get(st, e->b.number, &rec) == STORE_OK && rec.sha256[0] != '\0' &&
	    (strcmp(rec.sha256, sha) != 0 || rec.first_seq != e->b.first_seq || rec.last_seq != e->b.last_seq)) {
		compliance_say(msg, msglen, "%s/%s: differs from batch %lld as the store recorded it (sha256 %s): replaced", dir,
		    e->name, (long long)e->b.number, rec.sha256);
		goto out;
	}
	rc = 0;
out:
	free(have);
	return rc;
}

int compliance_verify(const char *dir, struct store *st, char *msg, size_t msglen)
{
	return compliance_verify_anchored(dir, st, NULL, msg, msglen);
}

int compliance_verify_anchored(const char *dir, struct store *st, const struct compliance_anchor *a, char *msg,
                               size_t msglen)
{
	struct vent *v = NULL;
	struct store_batch last;
	char prev[STORE_SHA256_HEX], sha[STORE_SHA256_HEX], name[NAME_LEN + 16], more[64] = "", odd[NAME_MAX + 1] = "";
	char proven[400] = "", head_seen[STORE_SHA256_HEX] = "";
	int64_t expect = 1, prev_last = 0, first_seq = 0;
	size_t attached = 0, total = 0;
	int n, dfd = -1, rc = 1;

	memcpy(prev, zero_hash, sizeof prev);
	if (a != NULL && a->from_batch > 1) {
		expect = a->from_batch;
		memcpy(prev, a->from_prev, sizeof prev);
	}
	if ((n = verify_list(dir, &v, odd, sizeof odd, msg, msglen)) < 0)
		return 1;
	if (n > 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		compliance_say(msg, msglen, "%s: cannot open: %s", dir, strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct vent *e = &v[i];

		if (e->b.number < expect) {
			/* Name what is there: the file, else its manifest, else its folder. */
			snprintf(name, sizeof name, "%.*s%s", (int)strlen(e->name) - (e->has_file ? 0 : 4), e->name,
			         e->has_file ? "" : e->has_manifest ? ".xml" MANIFEST_SUFFIX : COMPLIANCE_ATTACH_SUFFIX);
			compliance_say(msg, msglen, "%s/%s: a second file for batch %lld: added or renamed", dir, name,
			    (long long)e->b.number);
			goto out;
		}
		if (e->b.number > expect) {
			compliance_say(msg, msglen, "%s: batch %lld is missing before %s: removed or renamed%s", dir, (long long)expect,
			    e->name, i == 0 && expect == 1 ? " (batches moved away? verify --from N:SHA256)" : "");
			goto out;
		}
		if (verify_one(dir, dfd, e, prev, prev_last, st, sha, &attached, msg, msglen) != 0)
			goto out;
		total += attached;
		if (i == 0)
			first_seq = e->b.first_seq;
		memcpy(prev, sha, sizeof prev);
		prev_last = e->b.last_seq;
		if (a != NULL && a->head_batch == e->b.number)
			memcpy(head_seen, sha, sizeof head_seen);
		expect++;
	}
	if (st != NULL && store_batch_last(st, &last) == STORE_OK && last.number >= expect) {
		batch_name(&last, name);
		compliance_say(msg, msglen, "%s/%s: missing: the store recorded batch %lld as exported (removed?)", dir, name,
		    (long long)expect);
		goto out;
	}
	if (a != NULL && a->head_batch > 0) {
		if (head_seen[0] == '\0') {
			compliance_say(msg, msglen, "%s: batch %lld, the known chain head, is not there: newer batches removed", dir,
			    (long long)a->head_batch);
			goto out;
		}
		if (strcmp(head_seen, a->head_sha) != 0) {
			compliance_say(msg, msglen, "%s: batch %lld has sha256 %s, the known chain head says %s: the chain was"
			    " replaced and re-chained", dir, (long long)a->head_batch, head_seen, a->head_sha);
			goto out;
		}
	}
	/* Say what this proves: the chain alone cannot tell a copy whose newest
	 * batches were removed, or replaced by a re-chained suffix. */
	if (st != NULL)
		snprintf(proven, sizeof proven, ", matches the store");
	else if (a != NULL && a->head_batch > 0)
		snprintf(proven, sizeof proven, "; batches up to %lld match the known head; any after it are proven only by"
		         " the chain", (long long)a->head_batch);
	else if (n > 0)
		snprintf(proven, sizeof proven, "; not proven without the store or a known head (--head N:SHA256): that no"
		         " newer batch was removed or re-chained");
	if (a != NULL && a->from_batch > 1 && n > 0)
		snprintf(proven + strlen(proven), sizeof proven - strlen(proven), "; batches before %lld not checked here",
		         (long long)a->from_batch);
	if (odd[0] != '\0')
		snprintf(proven + strlen(proven), sizeof proven - strlen(proven), "; warning: hidden file .../%s is not the"
		         " exporter's", odd);
	if (total > 0)
		snprintf(more, sizeof more, ", %zu attachment%s", total, total == 1 ? "" : "s");
	if (n == 0)
		compliance_say(msg, msglen, "verify: ok: no batches in %s%s%s", dir, st ? " (the store recorded none)" : "", proven);
	else
		compliance_say(msg, msglen, "verify: ok: %d batch%s (%lld..%lld), seq %lld..%lld%s, chain head sha256 %s, %s%s", n,
		    n == 1 ? "" : "es", (long long)(expect - n), (long long)(expect - 1), (long long)first_seq,
		    (long long)prev_last, more, prev, dir, proven);
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(v);
	return rc;
}

/* ---- restore: the archive ahead of the store ------------------------------------------- */

/* The batch file of batch number in folder dfd, into *b (number and seq
 * range from its name) and name: 1 when there, 0 when not, -1 with err. */
static int archive_find(int dfd, int64_t number, struct store_batch *b, char name[NAME_LEN], char *err, size_t errlen)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int found = 0, kind;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		compliance_say(err, errlen, "cannot read the output folder: %s", strerror(errno));
		return -1;
	}
	while (!found && (de = readdir(d)) != NULL)
		if (parse_batch_name(de->d_name, b, &kind) == 0 && kind == 0 && b->number == number) {
			batch_name(b, name);    /* the name parse_batch_name found canonical */
			found = 1;
		}
	closedir(d);
	return found;
}

/* Batch last.number + 1 is in the archive but the store never recorded it:
 * the store was restored from a backup taken before that export.  Check
 * that the file is intact and follows the store's last batch, then let the
 * store adopt it (store_batch_adopt).  1 when adopted, 0 when there is no
 * such file, -1 with err (the export, and the server's start, stop: a
 * person has to decide). */
static int reconcile_next(struct compliance *c, int dfd, char *err, size_t errlen)
{
	struct store_batch last, b, planned;
	char name[NAME_LEN], mname[NAME_LEN + 16], sha[STORE_SHA256_HEX], field[80], why[200];
	char head[COMPLIANCE_HEADER_MAX], fmt[16], prev_in[STORE_SHA256_HEX], *mtext = NULL;
	long long number, events, first, last_seq;
	const char *line2;
	struct stat sb;
	int64_t had = 0;
	int r, rc = -1;

	r = store_batch_last(c->st, &last);
	if (r == STORE_E_NOTFOUND) {
		memset(&last, 0, sizeof last);
		memcpy(last.sha256, zero_hash, sizeof last.sha256);
	} else if (r != STORE_OK) {
		compliance_say(err, errlen, "store: %s", store_strerror(r));
		return -1;
	}
	if ((r = archive_find(dfd, last.number + 1, &b, name, err, errlen)) <= 0)
		return r;
	/* The batch this store planned (an export that crashed after writing
	 * it): the export renders it again and compares, as after any crash. */
	if (store_batch_get(c->st, b.number, &planned) == STORE_OK && planned.sha256[0] == '\0' &&
	    planned.first_seq == b.first_seq && planned.last_seq == b.last_seq)
		return 0;
	snprintf(mname, sizeof mname, "%s" MANIFEST_SUFFIX, name);
	if (file_sha256(dfd, name, sha, why, sizeof why) < 0 || fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    read_manifest(dfd, mname, &mtext) < 0) {
		compliance_say(err, errlen, "%s/%s is in the archive but the store never recorded it, and it or its manifest"
		               " cannot be read", c->cfg->output_dir, name);
		goto out;
	}
	manifest_field(mtext, "sha256", field, sizeof field);
	head[0] = '\0';
	read_small(dfd, name, head, sizeof head);
	line2 = strchr(head, '\n');
	if (strcmp(field, sha) != 0 || line2 == NULL ||
	    sscanf(line2 + 1, "<!-- pchat compliance export: batch %lld, events %lld (seq %lld..%lld), format %15[a-z],"
	           " previous batch sha256 %64[0-9a-f] -->", &number, &events, &first, &last_seq, fmt, prev_in) != 6 ||
	    number != b.number || first != b.first_seq || last_seq != b.last_seq || events < 1) {
		compliance_say(err, errlen, "%s/%s is in the archive but the store never recorded it, and it does not match"
		               " its manifest or its name: run `pchat verify`", c->cfg->output_dir, name);
		goto out;
	}
	if (strcmp(prev_in, last.sha256) != 0 || b.first_seq <= last.last_seq) {
		compliance_say(err, errlen, "%s/%s does not follow batch %lld as the store recorded it (sha256 %s): the archive"
		               " and the store are from different histories", c->cfg->output_dir, name, (long long)last.number,
		               last.sha256);
		goto out;
	}
	b.events = events;
	snprintf(b.format, sizeof b.format, "%s", fmt);
	snprintf(b.domain, sizeof b.domain, "%.*s", (int)sizeof b.domain - 1, c->cfg->domain);
	memcpy(b.prev_sha256, prev_in, sizeof b.prev_sha256);
	r = store_batch_adopt(c->st, &b, sha, (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000, &had);
	if (r == STORE_E_NOTFOUND) {
		rc = 1;         /* recorded meanwhile by another exporter: look again */
		goto out;
	}
	if (r == STORE_E_EXISTS) {
		compliance_say(err, errlen, "%s/%s (seq %lld..%lld) was exported after the backup this store was restored from,"
		               " and the store has since recorded other events in that range: move batches %lld and later out"
		               " of %s (they remain a valid record, verified with `pchat verify DIR`), then start again",
		               c->cfg->output_dir, name, (long long)b.first_seq, (long long)b.last_seq, (long long)b.number,
		               c->cfg->output_dir);
		goto out;
	}
	if (r != STORE_OK) {
		compliance_say(err, errlen, "store: cannot record batch %lld: %s", (long long)b.number, store_strerror(r));
		goto out;
	}
	log_warn("event=compliance-reconciled batch=%lld file=%s store_had=%lld archived=%lld sha256=%s"
	         " reason=\"the archive was ahead of the store (restored from an older backup): recorded as exported\"",
	         (long long)b.number, name, (long long)had, (long long)b.events, sha);
	rc = 1;
out:
	free(mtext);
	return rc;
}

static int reconcile_all(struct compliance *c, int dfd, char *err, size_t errlen)
{
	int r;

	while ((r = reconcile_next(c, dfd, err, errlen)) == 1)
		;
	return r;
}

int compliance_reconcile(struct compliance *c, char *err, size_t errlen)
{
	int dfd, r;

	if (!c->cfg->compliance_enabled)
		return 0;
	if ((dfd = open(c->cfg->output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;       /* nothing exported there (a missing folder is the export's business) */
	r = reconcile_all(c, dfd, err, errlen);
	close(dfd);
	return r < 0 ? -1 : 0;
}

/* ---- command line ---------------------------------------------------------------------- */

int compliance_cmd_export(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct compliance *c = NULL;
	const char *crash = getenv("PCHAT_EXPORT_CRASH_AT");
	char path[PATH_MAX + NAME_LEN], err[600];
	int rc = 0, r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") != 0) {
			fprintf(stderr, "pchat: export: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (store_open(&st, cfg->store_path, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	if ((c = compliance_new(cfg, st)) == NULL) {
		fprintf(stderr, "pchat: out of memory\n");
		store_close(st);
		return 1;
	}
	for (int s = STEP_BEFORE_WRITE; crash && crash[0] && s <= STEP_BEFORE_COMMIT; s++)
		if (!strcmp(crash, step_names[s]))
			c->crash_at = (enum export_step)s;
	if (crash && crash[0] && c->crash_at == STEP_NONE) {
		fprintf(stderr, "pchat: PCHAT_EXPORT_CRASH_AT must be before-write, after-write, after-rename or"
		        " before-commit\n");
		rc = 2;
		goto out;
	}
	/* Every waiting event, batch after batch; "--now" is what export always does. */
	while ((r = compliance_export_one(c, path, sizeof path, err, sizeof err)) != 0) {
		if (r < 0) {
			fprintf(stderr, "pchat: export failed: %s: %s (the events stay in the store)\n", cfg->output_dir, err);
			rc = 1;
			break;
		}
		if (r == 1) {
			printf("%s\n", path);
			fflush(stdout);
		}
	}
out:
	compliance_free(c);
	store_close(st);
	return rc;
}

/* 1 when a and b name the same existing folder. */
static int same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* "N:SHA256" (N >= 1, 64 lower-case hex digits). */
static int parse_anchor(const char *s, int64_t *number, char sha[STORE_SHA256_HEX])
{
	const char *p = s;

	if (parse_num(&p, number) < 0 || *number < 1 || *p++ != ':' || strlen(p) != 64 || strspn(p, "0123456789abcdef") != 64)
		return -1;
	memcpy(sha, p, STORE_SHA256_HEX);
	return 0;
}

int compliance_cmd_verify(const struct config *cfg, int argc, char **argv)
{
	const char *dir = NULL;
	int dir_given;
	struct compliance_anchor anchor = { 0 };
	struct store *st = NULL;
	char msg[1024], err[600];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			if (parse_anchor(argv[++i], &anchor.from_batch, anchor.from_prev) < 0 || anchor.from_batch < 2) {
				fprintf(stderr, "pchat: verify: --from wants N:SHA256, N >= 2 the first batch here and SHA256 the"
				        " sha256 line of batch N-1's manifest\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--head") && i + 1 < argc) {
			if (parse_anchor(argv[++i], &anchor.head_batch, anchor.head_sha) < 0) {
				fprintf(stderr, "pchat: verify: --head wants N:SHA256 (from an event=compliance-chain-head log line)\n");
				return 2;
			}
		} else if (argv[i][0] != '-' && dir == NULL) {
			dir = argv[i];
		} else {
			fprintf(stderr, "pchat: verify: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	dir_given = dir != NULL;
	if (dir == NULL)
		dir = cfg->output_dir;
	/* The store knows every batch it exported to output_dir; for any other
	 * folder (an archive copy, another server's) only the chain is checked. */
	if (!dir_given || same_dir(dir, cfg->output_dir)) {
		if (access(cfg->store_path, F_OK) < 0 && !dir_given) {
			fprintf(stderr, "pchat: verify: no store at %s (a command that only reads creates none): check -c,"
			        " or name the export folder to verify its chain alone\n", cfg->store_path);
			return 1;
		}
		if (access(cfg->store_path, F_OK) == 0 && store_open(&st, cfg->store_path, err, sizeof err) != STORE_OK) {
			fprintf(stderr, "pchat: %s\n", err);
			return 1;
		}
	}
	rc = compliance_verify_anchored(dir, st, &anchor, msg, sizeof msg);
	store_close(st);
	if (rc == 0)
		printf("%s\n", msg);
	else
		fprintf(stderr, "pchat: verify: %s\n", msg);
	return rc == 0 ? 0 : 1;
}
