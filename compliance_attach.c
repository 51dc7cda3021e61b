/*
 * compliance_attach.c - see compliance_attach.h: the files of a batch's
 * FILEUPLOAD events, looked up in the store, written beside the batch,
 * listed in its manifest, and checked by `pchat verify`.
 *
 * Bytes go from SQLite to the folder through store_file_export (the file's
 * chunks in pieces of at most 64 KiB, from one snapshot), so no file is ever
 * whole in memory.  Each is written to a temporary file, fsynced and renamed, as the
 * batch itself is (Redis rdbSave's pattern), and the folder is fsynced once
 * all are in; compliance.c fsyncs the output folder after the manifest and
 * only then lets the store forget the events.  Static names carry an at_
 * prefix because tests/test_compliance.c includes this file beside
 * compliance.c.
 */
#include "compliance_attach.h"
#include "base.h"
#include "durable.h"
#include "log.h"

#include <mbedtls/sha256.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AT_LINE_MAX 512         /* a manifest line: "attachment", id, path, size, hash (under 360 bytes) */
#define AT_CHUNK 65536
#define AT_SAFE_MAX 100         /* bytes of the sanitised name */
#define AT_EXT_MAX 16           /* a longer "extension" is just part of the name */
#define AT_NAME_MAX 128         /* "ID-" + sanitised name + NUL */

/* One uploaded file of a batch. */
struct at_file {
	int64_t file_id;
	int present;                /* 0: listed as missing */
	uint64_t size;
	char sha256[STORE_SHA256_HEX];      /* of the bytes written */
	char name[AT_NAME_MAX];     /* inside the .ATTACH folder */
};

/* A batch's files, in file id order, one per file. */
struct at_list {
	struct at_file *a;
	size_t n, present;
};


static int at_safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

/* "ID-NAME", NAME sanitised and, when longer than AT_SAFE_MAX, cut in the
 * middle so that its extension (a last '.' within AT_EXT_MAX bytes of the
 * end) survives: "report...(long)....pdf" stays a .pdf.  A pure function of
 * the file's row. */
static void at_file_name(int64_t id, const char *name, char out[AT_NAME_MAX])
{
	int n = snprintf(out, AT_NAME_MAX, "%lld-", (long long)id);
	size_t o = n > 0 ? (size_t)n : 0, len = strlen(name), head = len, ext = 0;
	const char *dot = strrchr(name, '.');

	if (len > AT_SAFE_MAX) {
		if (dot != NULL && dot != name && (size_t)(name + len - dot) <= AT_EXT_MAX)
			ext = (size_t)(name + len - dot);
		head = AT_SAFE_MAX - ext;
	}
	for (size_t i = 0; i < head; i++)
		out[o++] = at_safe_char((unsigned char)name[i]) ? name[i] : '_';
	for (size_t i = len - ext; i < len; i++)
		out[o++] = at_safe_char((unsigned char)name[i]) ? name[i] : '_';
	out[o] = '\0';
}

/* The file id a name in the folder starts with ("42-...", as "%lld-"
 * writes it: no sign, no leading zero); -1 if none. */
static int64_t at_name_id(const char *name)
{
	size_t n = strspn(name, "0123456789");
	uint64_t v;

	if (name[0] == '0' || name[n] != '-' || parse_u64(name, n, INT64_MAX, &v) < 0 || v == 0)
		return -1;
	return (int64_t)v;
}

/* A name at_file_name could have made for id. */
static int at_name_ok(int64_t id, const char *name)
{
	const char *p = strchr(name, '-');
	size_t n;

	if (at_name_id(name) != id || p == NULL)
		return 0;
	n = strlen(++p);
	if (n == 0 || n > AT_SAFE_MAX)
		return 0;
	for (; *p; p++)
		if (!at_safe_char((unsigned char)*p))
			return 0;
	return 1;
}

/* al's entry for file id, or NULL (al is in id order, one per id). */
static const struct at_file *at_find(const struct at_list *al, int64_t id)
{
	size_t lo = 0, hi = al->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (al->a[mid].file_id == id)
			return &al->a[mid];
		if (al->a[mid].file_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* 1 when name is one of al's present attachments. */
static int at_listed(const struct at_list *al, const char *name)
{
	const struct at_file *a = at_find(al, at_name_id(name));

	return a != NULL && a->present && strcmp(a->name, name) == 0;
}

/* Entries of folder adfd that are not al's present attachments (names
 * starting with '.' are temporary files: skipped); the first is named in
 * first.  Returns how many. */
static size_t at_strays(int adfd, const struct at_list *al, char *first, size_t firstlen)
{
	int fd = openat(adfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || at_listed(al, de->d_name))
			continue;
		if (n++ == 0 && first != NULL)
			compliance_say(first, firstlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static void at_free(struct at_list *al)
{
	if (al == NULL)
		return;
	free(al->a);
	memset(al, 0, sizeof *al);
}

static int at_id_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return (a > b) - (a < b);
}

/* Look up each file of ids (see compliance_attach_batch) into *out, in id
 * order.  0, or -1 with err (out freed). */
static int at_plan(struct store *st, const int64_t *ids, size_t n, struct at_list *out, char *err, size_t errlen)
{
	struct store_file sf;
	int64_t *sorted = NULL;
	int r;

	memset(out, 0, sizeof *out);
	if (n == 0)
		return 0;
	sorted = malloc(n * sizeof *sorted);
	out->a = calloc(n, sizeof *out->a);
	if (sorted == NULL || out->a == NULL) {
		compliance_say(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(sorted, ids, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, at_id_cmp);
	for (size_t i = 0; i < n; i++) {
		struct at_file *a = &out->a[out->n];

		if (out->n > 0 && out->a[out->n - 1].file_id == sorted[i])
			continue;
		a->file_id = sorted[i];
		out->n++;
		if (a->file_id <= 0)
			continue;       /* recorded before events named their file */
		r = store_file_find(st, a->file_id, &sf);
		if (r == STORE_E_NOTFOUND)
			continue;       /* deleted before its bytes could be kept */
		if (r != STORE_OK) {
			compliance_say(err, errlen, "store: cannot look up file %lld: %s", (long long)a->file_id, store_strerror(r));
			goto fail;
		}
		a->present = 1;
		a->size = sf.size;
		memcpy(a->sha256, sf.sha256, sizeof a->sha256);
		at_file_name(a->file_id, sf.name, a->name);
		out->present++;
	}
	free(sorted);
	return 0;
fail:
	free(sorted);
	at_free(out);
	return -1;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Where store_file_export's pieces go: the temporary file, hashed on the way. */
struct at_sink {
	int fd;
	int err;                    /* errno of a failed write */
	uint64_t n;
	mbedtls_sha256_context sha;
};

/* Returns 1 (not a STORE_E_* code) on a failed write, so the caller can tell. */
static int at_sink_put(void *arg, const void *p, size_t len)
{
	struct at_sink *k = arg;
	const unsigned char *q = p;

	mbedtls_sha256_update_ret(&k->sha, q, len);
	k->n += len;
	while (len > 0) {
		ssize_t w = write(k->fd, q, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			k->err = w < 0 ? errno : EIO;
			return 1;
		}
		q += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write a's bytes into folder adfd as a->name: a temporary file in
 * tmp_dfd, fsynced, published without replacing (durable.h).  a's size and
 * sha256 become those of the bytes written; a whose row vanished since the
 * plan becomes missing.  0, 1 when a->name holds other bytes, or -1 with
 * err. */
static int at_write_one(struct store *st, int tmp_dfd, int adfd, struct at_file *a, char *err, size_t errlen)
{
	char tmp[DURABLE_TMP_MAX], sha[STORE_SHA256_HEX];
	unsigned char digest[32];
	struct at_sink k = { .fd = -1 };
	int r;

	if ((k.fd = durable_create(tmp_dfd, a->name, tmp)) < 0) {
		compliance_say(err, errlen, "cannot create a temporary file for %s: %s", a->name, strerror(errno));
		return -1;
	}
	mbedtls_sha256_init(&k.sha);
	mbedtls_sha256_starts_ret(&k.sha, 0);
	r = store_file_export(st, a->file_id, at_sink_put, &k);
	mbedtls_sha256_finish_ret(&k.sha, digest);
	mbedtls_sha256_free(&k.sha);
	hex_encode(digest, 32, sha);
	if (r == STORE_E_NOTFOUND) {
		/* Only a room's delete removes a file whose upload waits for export. */
		log_warn("event=export-attachment-missing file=%lld reason=\"deleted during the export\"", (long long)a->file_id);
		a->present = 0;
		close(k.fd);
		unlinkat(tmp_dfd, tmp, 0);
		return 0;
	}
	if (r == 1)
		compliance_say(err, errlen, "cannot write %s: %s", tmp, strerror(k.err));
	else if (r != STORE_OK)
		compliance_say(err, errlen, "store: cannot read file %lld: %s", (long long)a->file_id, store_strerror(r));
	if (r != STORE_OK) {
		close(k.fd);
		unlinkat(tmp_dfd, tmp, 0);
		return -1;
	}
	if (k.n != a->size || strcmp(sha, a->sha256) != 0)
		log_error("event=export-attachment-mismatch file=%lld bytes=%llu sha256=%s uploaded_bytes=%llu"
		          " uploaded_sha256=%s reason=\"the store's bytes differ from the upload; exported as they are\"",
		          (long long)a->file_id, (unsigned long long)k.n, sha, (unsigned long long)a->size, a->sha256);
	if (durable_sync_close(k.fd) < 0) {
		compliance_say(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
		unlinkat(tmp_dfd, tmp, 0);
		return -1;
	}
	if ((r = durable_publish(tmp_dfd, tmp, adfd, a->name, digest)) < 0) {
		compliance_say(err, errlen, "cannot move %s to %s: %s", tmp, a->name, strerror(errno));
		return -1;
	}
	a->size = k.n;
	memcpy(a->sha256, sha, sizeof a->sha256);
	return r == DURABLE_DIFFERENT;
}

/* Write al's present files into BASE.ATTACH (see compliance_attach_batch). */
static int at_write_all(struct store *st, int tmp_dfd, int dfd, const char *base, struct at_list *al, char *err,
                        size_t errlen)
{
	char dname[AT_LINE_MAX], stray[AT_NAME_MAX + 32];
	int adfd = -1, rc = -1, r;
	size_t strays;

	snprintf(dname, sizeof dname, "%s" COMPLIANCE_ATTACH_SUFFIX, base);
	if (al->present > 0 && mkdirat(dfd, dname, 0750) < 0 && errno != EEXIST) {
		compliance_say(err, errlen, "cannot create %s: %s", dname, strerror(errno));
		return -1;
	}
	adfd = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (adfd < 0) {
		if (al->present == 0 && errno == ENOENT)
			return 0;       /* nothing to write, and no folder left by an earlier attempt */
		compliance_say(err, errlen, "cannot open %s: %s", dname, strerror(errno));
		return -1;
	}
	durable_sweep(adfd);    /* temporary files of versions that wrote them here */
	for (size_t i = 0; i < al->n; i++) {
		struct at_file *a = &al->a[i];

		if (!a->present)
			continue;
		if ((r = at_write_one(st, tmp_dfd, adfd, a, err, errlen)) != 0) {
			rc = r;
			goto out;
		}
		if (!a->present)
			al->present--;
	}
	/* Never removed: the folder may be write-once, and what is there may be
	 * the only copy.  `pchat verify` names it. */
	if ((strays = at_strays(adfd, al, stray, sizeof stray)) > 0)
		log_warn("event=export-attachment-stray folder=%s name=%s count=%zu reason=\"not in the batch; left in place\"",
		         dname, stray, strays);
	if (fsync(adfd) < 0) {
		compliance_say(err, errlen, "cannot fsync %s: %s", dname, strerror(errno));
		goto out;
	}
	if (al->present == 0)
		unlinkat(dfd, dname, AT_REMOVEDIR);     /* only ever an empty folder of this attempt's */
	rc = 0;
out:
	close(adfd);
	return rc;
}

/* ---- the manifest's lines ------------------------------------------------------------ */

static int at_line(const char *base, const struct at_file *a, char *out, size_t outlen)
{
	int n;

	if (a->present)
		n = snprintf(out, outlen, "attachment %lld %s" COMPLIANCE_ATTACH_SUFFIX "/%s %llu %s\n",
		             (long long)a->file_id, base, a->name, (unsigned long long)a->size, a->sha256);
	else
		n = snprintf(out, outlen, "attachment %lld missing\n", (long long)a->file_id);
	return n > 0 && (size_t)n < outlen ? n : -1;
}

/* The manifest lines of al (malloc'd), or NULL when out of memory. */
static char *at_lines(const char *base, const struct at_list *al)
{
	size_t cap = al->n * AT_LINE_MAX + 1, o = 0;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < al->n; i++) {
		int n = at_line(base, &al->a[i], s + o, cap - o);

		if (n < 0) {
			free(s);
			return NULL;
		}
		o += (size_t)n;
	}
	return s;
}

void compliance_attach_note(const char *lines, char note[COMPLIANCE_ATTACH_NOTE_MAX])
{
	size_t files = 0, missing = 0, len = strlen(lines);
	unsigned char digest[32];
	char hex[STORE_SHA256_HEX];
	static const char gone[] = " missing\n";

	for (const char *p = lines; *p; files++) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);

		missing += n >= sizeof gone - 1 && memcmp(p + n - (sizeof gone - 1), gone, sizeof gone - 1) == 0;
		p += n;
	}
	note[0] = '\0';
	if (files == 0)
		return;
	mbedtls_sha256_ret((const unsigned char *)lines, len, digest, 0);
	hex_encode(digest, 32, hex);
	snprintf(note, COMPLIANCE_ATTACH_NOTE_MAX, COMPLIANCE_ATTACH_NOTE_PREFIX "%zu file%s (%zu missing), manifest lines sha256 %s -->\n",
	         files, files == 1 ? "" : "s", missing, hex);
}

int compliance_attach_batch(struct store *st, int tmp_dfd, int dfd, const char *base, const int64_t *ids, size_t n, char **lines,
                            char note[COMPLIANCE_ATTACH_NOTE_MAX], char *err, size_t errlen)
{
	struct at_list al;
	int rc = -1;

	*lines = NULL;
	note[0] = '\0';
	if (at_plan(st, ids, n, &al, err, errlen) < 0)
		return -1;
	if ((rc = at_write_all(st, tmp_dfd, dfd, base, &al, err, errlen)) == 0) {
		rc = -1;
		if ((*lines = at_lines(base, &al)) == NULL) {
			compliance_say(err, errlen, "out of memory");
		} else {
			compliance_attach_note(*lines, note);
			rc = 0;
		}
	}
	at_free(&al);
	return rc;
}

/* ---- verify --------------------------------------------------------------------------- */

/* Parse one manifest line (NUL-terminated, with its newline) into a; it
 * must be exactly what at_line writes.  0 or -1. */
static int at_parse_line(const char *base, const char *line, struct at_file *a)
{
	char path[AT_LINE_MAX], word[8], want[AT_LINE_MAX], prefix[AT_LINE_MAX];
	long long id;
	unsigned long long size;
	size_t plen;

	memset(a, 0, sizeof *a);
	if (sscanf(line, "attachment %lld %511s %llu %64s", &id, path, &size, a->sha256) == 4) {
		plen = (size_t)snprintf(prefix, sizeof prefix, "%s" COMPLIANCE_ATTACH_SUFFIX "/", base);
		if (strncmp(path, prefix, plen) != 0 || strlen(path + plen) >= sizeof a->name ||
		    strspn(a->sha256, "0123456789abcdef") != 64)
			return -1;
		memcpy(a->name, path + plen, strlen(path + plen) + 1);
		if (!at_name_ok(id, a->name))
			return -1;
		a->present = 1;
		a->size = size;
	} else if (sscanf(line, "attachment %lld %7s", &id, word) != 2 || strcmp(word, "missing") != 0) {
		return -1;
	}
	a->file_id = id;
	return at_line(base, a, want, sizeof want) > 0 && strcmp(want, line) == 0 ? 0 : -1;
}

/* Size and SHA-256 of the regular file name in adfd.  0, -1 with errno
 * (ENOENT: removed), or -2 (not a regular file). */
static int at_hash_file(int adfd, const char *name, uint64_t *size, char hex[STORE_SHA256_HEX])
{
	mbedtls_sha256_context sha;
	unsigned char digest[32];
	char *buf = NULL;
	struct stat sb;
	ssize_t r = 0;
	int fd = openat(adfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), e = 0;

	if (fd < 0)
		return errno == ELOOP ? -2 : -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (buf = malloc(AT_CHUNK)) == NULL) {
		e = fstat(fd, &sb) < 0 ? errno : S_ISREG(sb.st_mode) ? ENOMEM : 0;
		close(fd);
		errno = e;
		return e ? -1 : -2;
	}
	*size = 0;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	while ((r = read(fd, buf, AT_CHUNK)) > 0 || (r < 0 && errno == EINTR)) {
		if (r > 0) {
			mbedtls_sha256_update_ret(&sha, (unsigned char *)buf, (size_t)r);
			*size += (uint64_t)r;
		}
	}
	e = r < 0 ? errno : 0;
	mbedtls_sha256_finish_ret(&sha, digest);
	mbedtls_sha256_free(&sha);
	free(buf);
	close(fd);
	hex_encode(digest, 32, hex);
	errno = e;
	return r < 0 ? -1 : 0;
}

/* Read lines into *al (id order checked); 0 or 1 with msg. */
static int at_parse_all(const char *dir, const char *base, const char *mname, const char *lines,
                        struct at_list *al, char *msg, size_t msglen)
{
	char line[AT_LINE_MAX];
	size_t cap = 0, no = 0;

	for (const char *p = lines; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
		struct at_file a;

		no++;
		if (eol == NULL || len >= sizeof line) {
			compliance_say(msg, msglen, "%s/%s: changed (attachment line %zu is unterminated or too long)", dir, mname, no);
			return 1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len;
		if (at_parse_line(base, line, &a) < 0) {
			compliance_say(msg, msglen, "%s/%s: changed (attachment line %zu is not one pchat writes for this batch)", dir,
			       mname, no);
			return 1;
		}
		if (al->n > 0 && a.file_id <= al->a[al->n - 1].file_id) {
			compliance_say(msg, msglen, "%s/%s: changed (attachment line %zu is out of file id order)", dir, mname, no);
			return 1;
		}
		if (array_reserve(&al->a, &cap, al->n, sizeof *al->a, 16) < 0) {
			compliance_say(msg, msglen, "out of memory");
			return 1;
		}
		al->a[al->n++] = a;
		al->present += a.present;
	}
	return 0;
}

int compliance_attach_verify(const char *dir, int dfd, const char *base, const char *mname, const char *lines,
                             size_t *checked, char *msg, size_t msglen)
{
	struct at_list al = { 0 };
	char dname[AT_LINE_MAX], hex[STORE_SHA256_HEX], stray[256];
	struct stat sb;
	uint64_t size;
	int adfd = -1, rc = 1, r;

	*checked = 0;
	snprintf(dname, sizeof dname, "%s" COMPLIANCE_ATTACH_SUFFIX, base);
	if (at_parse_all(dir, base, mname, lines, &al, msg, msglen) != 0)
		goto out;
	if (al.present == 0) {
		if (fstatat(dfd, dname, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			compliance_say(msg, msglen, "%s/%s: %s lists no attachment for it (added)", dir, dname, mname);
			goto out;
		}
		rc = 0;
		goto out;
	}
	adfd = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (adfd < 0 && errno != ENOENT) {
		compliance_say(msg, msglen, "%s/%s: not a folder, or unreadable: %s", dir, dname, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < al.n; i++) {
		const struct at_file *a = &al.a[i];

		if (!a->present)
			continue;
		r = adfd < 0 ? -1 : at_hash_file(adfd, a->name, &size, hex);
		if (r == -1 && (adfd < 0 || errno == ENOENT)) {
			compliance_say(msg, msglen, "%s/%s/%s: removed (listed in %s)", dir, dname, a->name, mname);
			goto out;
		}
		if (r < 0) {
			compliance_say(msg, msglen, "%s/%s/%s: %s", dir, dname, a->name,
			       r == -2 ? "not a regular file (replaced)" : strerror(errno));
			goto out;
		}
		if (size != a->size || strcmp(hex, a->sha256) != 0) {
			compliance_say(msg, msglen, "%s/%s/%s: changed (%llu bytes with sha256 %s, %s says %llu bytes with %s)", dir,
			       dname, a->name, (unsigned long long)size, hex, mname, (unsigned long long)a->size, a->sha256);
			goto out;
		}
		(*checked)++;
	}
	if (at_strays(adfd, &al, stray, sizeof stray) > 0) {
		compliance_say(msg, msglen, "%s/%s/%s: not listed in %s (added file)", dir, dname, stray, mname);
		goto out;
	}
	rc = 0;
out:
	if (adfd >= 0)
		close(adfd);
	at_free(&al);
	return rc;
}
