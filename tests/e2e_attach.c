/*
 * e2e_attach.c - files posted in rooms in the compliance export, end to end:
 * users signed in over real TLS ask for tokens over XCCOS, upload and
 * download over the real HTTPS listener, and `pchat export --now` writes
 * each uploaded file beside the batch that holds its FILEUPLOAD event
 * (BATCH.ATTACH/ID-NAME) with a manifest line per file.  Checks the bytes,
 * the manifest, `pchat verify` against a changed, removed, added and forged
 * attachment, a re-export after a crash (PCHAT_EXPORT_CRASH_AT), `pchat file
 * del` of a file whose upload is not yet exported (bytes kept until the
 * export, then purged), and a file whose bytes were gone before the export
 * (listed as missing).  Needs the CLI and the sqlite3 tool.
 */
#include "check.h"
#include "tchat.h"
#include "xsd_check.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#define BIG_BYTES (300u * 1024 + 123)   /* "about 300 KB", not a multiple of the 64 KiB pieces */

static struct tserver srv;
static char outdir[400], guid[40];

/* Run the CLI (up to three arguments, NULL-terminated); the exit status,
 * stdout and stderr in out. */
static int cli(char *out, size_t outlen, const char *a, const char *b, const char *c)
{
	out[0] = '\0';
	return tserver_cli(&srv, NULL, out, outlen, a, b, c, NULL);
}

/* Upload data as name; 1 on a 201. */
static int upload(struct tuser *u, const char *name, const void *data, size_t len)
{
	struct ttoken tk;
	struct thttp h;
	int st;

	if (tchat_get_token(u, 1, guid, name, &tk) != 200)
		return 0;
	st = thttp_put_file(&tk, data, len, &h);
	thttp_close(&h);
	return st == 201;
}

/* Download name; 1 when the bytes equal want. */
static int download_equal(struct tuser *u, const char *name, const void *want, size_t len)
{
	struct ttoken tk;
	struct thttp h;
	int ok;

	if (tchat_get_token(u, 0, guid, name, &tk) != 200)
		return 0;
	ok = thttp_get_file(&tk, &h) == 200 && h.body_len == len && (len == 0 || !memcmp(h.body, want, len));
	thttp_close(&h);
	return ok;
}

/* ---- the output folder --------------------------------------------------------------- */

/* Read a whole file (up to cap bytes) into buf; its size, or -1. */
static long read_all(const char *path, void *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return (long)n;
}

static int write_all(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (n && fwrite(buf, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* The base name ("pchat-N-A-B") of the last batch file `export` printed. */
static int last_batch(const char *out, char *base, size_t len)
{
	const char *p = out, *found = NULL;
	size_t n = 0;

	for (; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t l = strcspn(p, "\n");

		const char *name = p + l;

		while (name > p && name[-1] != '/')
			name--;
		if (l > 4 && !strncmp(p + l - 4, ".xml", 4) && !strncmp(name, "pchat-", 6)) {
			found = name;
			n = l - (size_t)(found - p) - 4;
		}
	}
	if (found == NULL || n >= len)
		return -1;
	snprintf(base, len, "%.*s", (int)n, found);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The names in dir (all of them but "." and ".."), sorted, "\n"-joined. */
static int list_names(const char *dir, char *out, size_t len)
{
	static char names[64][256];
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t o = 0;
	int n = 0;

	out[0] = '\0';
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < 64)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(names[n++], sizeof names[0], "%s", de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], name_cmp);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, len - o, "%s\n", names[i]);
	return n;
}

static int exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Flip one byte of a file in place; 0 on success. */
static int flip(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	int c = EOF;

	if (f != NULL && fseek(f, off, SEEK_SET) == 0 && (c = fgetc(f)) != EOF) {
		fseek(f, off, SEEK_SET);
		fputc(c ^ 0x01, f);
	}
	if (f != NULL)
		fclose(f);
	return c == EOF ? -1 : 0;
}

/* ---- the scenarios ----------------------------------------------------------------------- */

static unsigned char *big, *crash_data, *keep_data;
static long id_empty, id_big;

static void test_export(struct tuser *alice, struct tuser *bob)
{
	static unsigned char back[BIG_BYTES + 16];
	char out[8192], base[128], adir[600], p1[900], p2[900], mpath[600], xpath[600], line[900], sha[65], names[2048];
	static char text[65536];
	long n;

	CHECK(upload(alice, "empty.bin", "", 0), "att-1.1 alice uploads a file of 0 bytes");
	CHECK(upload(alice, "big report (v2).pdf", big, BIG_BYTES), "att-1.2 and one of about 300 KB");
	id_empty = tchat_sql_countf("SELECT id FROM files WHERE name = 'empty.bin'");
	id_big = tchat_sql_countf("SELECT id FROM files WHERE name = 'big report (v2).pdf'");
	CHECK(id_empty > 0 && id_big > id_empty &&
	      tchat_sql_countf("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND message_id = %ld", id_empty) == 1 &&
	      tchat_sql_countf("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND message_id = %ld", id_big) == 1,
	      "att-1.3 each FILEUPLOAD event carries its file's id");
	CHECK(download_equal(bob, "big report (v2).pdf", big, BIG_BYTES), "att-1.4 bob downloads the big one");
	CHECK(tchat_sql_countf("SELECT count(*) FROM compliance_events WHERE type = 'FILEDOWNLOAD' AND message_id = %ld", id_big) == 1,
	      "att-1.5 the FILEDOWNLOAD event carries the file's id");
	CHECK(cli(out, sizeof out, "room", "del", "Attach Room") == 1 && strstr(out, "not in a compliance export yet") &&
	      tchat_sql_countf("SELECT count(*) FROM rooms WHERE name = 'Attach Room'") == 1,
	      "att-1.6 a room whose uploads are not exported yet cannot be deleted (its files would go with it)");

	CHECK(cli(out, sizeof out, "export", "--now", NULL) == 0 && last_batch(out, base, sizeof base) == 0,
	      "att-2.1 `pchat export --now` writes a batch");
	snprintf(adir, sizeof adir, "%s/%s.ATTACH", outdir, base);
	snprintf(mpath, sizeof mpath, "%s/%s.xml.manifest", outdir, base);
	snprintf(xpath, sizeof xpath, "%s/%s.xml", outdir, base);
	snprintf(p1, sizeof p1, "%s/%ld-empty.bin", adir, id_empty);
	snprintf(p2, sizeof p2, "%s/%ld-big_report__v2_.pdf", adir, id_big);
	snprintf(line, sizeof line, "%ld-empty.bin\n%ld-big_report__v2_.pdf\n", id_empty, id_big);     /* ids of one width */
	CHECK(list_names(adir, names, sizeof names) == 2 && !strcmp(names, line),
	      "att-2.2 BATCH.ATTACH beside the batch holds exactly ID-NAME per upload, the name made safe");
	CHECK(read_all(p1, back, sizeof back) == 0, "att-2.3 the 0-byte file is there with 0 bytes");
	n = read_all(p2, back, sizeof back);
	CHECK(n == (long)BIG_BYTES && !memcmp(back, big, BIG_BYTES), "att-2.4 the big file is there, byte for byte");
	n = read_all(mpath, text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	tchat_sha_hex("", 0, sha);
	snprintf(line, sizeof line, "\nattachment %ld %s.ATTACH/%ld-empty.bin 0 %s\n", id_empty, base, id_empty, sha);
	CHECK(strstr(text, line) != NULL, "att-2.5 the manifest lists the empty file: path, size 0, its sha256");
	tchat_sha_hex(big, BIG_BYTES, sha);
	snprintf(line, sizeof line, "\nattachment %ld %s.ATTACH/%ld-big_report__v2_.pdf %u %s\n", id_big, base, id_big,
	         BIG_BYTES, sha);
	CHECK(strstr(text, line) != NULL && strstr(text, line) > strstr(text, "\nattachment "),
	      "att-2.6 ... and the big one after it (file id order) with its size and sha256");
	n = read_all(xpath, text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	CHECK(n > 0 && strstr(text, "-->\n<!-- pchat compliance attachments: 2 files (0 missing), manifest lines sha256 ") &&
	      strstr(text, "type=\"FILEUPLOAD\" content=\"big report (v2).pdf\""),
	      "att-2.7 the batch file's third line carries the hash of the attachment lines");
	CHECK(cli(out, sizeof out, "verify", NULL, NULL) == 0 && strstr(out, "verify: ok:") && strstr(out, "2 attachments"),
	      "att-2.8 `pchat verify` passes and counts the attachments");

	/* Tampering, each undone before the next. */
	CHECK(flip(p2, 150000) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 1 &&
	      strstr(out, strrchr(p2, '/') + 1) && strstr(out, "changed"),
	      "att-3.1 a byte flipped in an attachment: verify exits 1 naming it");
	CHECK(flip(p2, 150000) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-3.2 flipped back: passes");
	CHECK(unlink(p1) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 1 && strstr(out, strrchr(p1, '/') + 1) &&
	      strstr(out, "removed"), "att-3.3 an attachment removed: verify exits 1 naming it");
	CHECK(write_all(p1, "", 0) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-3.4 put back: passes");
	snprintf(line, sizeof line, "%s/notes.txt", adir);
	CHECK(write_all(line, "x", 1) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 1 && strstr(out, "notes.txt") &&
	      strstr(out, "added"), "att-3.5 a file added to the folder: verify exits 1 naming it");
	CHECK(unlink(line) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-3.6 removed again: passes");
	{
		/* A forger who changes an attachment and its manifest line together:
		 * the batch file's note (inside the hash chain) still tells. */
		static char m2[65536];
		char nsha[65], osha[65], *at;
		long mn = read_all(mpath, m2, sizeof m2 - 1);
		int ok = mn > 0 && flip(p2, 10) == 0 && read_all(p2, back, sizeof back) == (long)BIG_BYTES;

		m2[mn > 0 ? mn : 0] = '\0';
		tchat_sha_hex(big, BIG_BYTES, osha);
		tchat_sha_hex(back, BIG_BYTES, nsha);
		ok = ok && (at = strstr(m2, osha)) != NULL;
		if (ok) {
			memcpy(at, nsha, 64);
			ok = write_all(mpath, m2, (size_t)mn) == 0;
		}
		CHECK(ok && cli(out, sizeof out, "verify", NULL, NULL) == 1 && strstr(out, ".xml.manifest: changed") &&
		      strstr(out, "attachment lines"),
		      "att-3.7 an attachment and its manifest line changed together: verify exits 1 (the chained note)");
		if (ok) {
			memcpy(at, osha, 64);
			write_all(mpath, m2, (size_t)mn);
		}
		CHECK(flip(p2, 10) == 0 && cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-3.8 both restored: passes");
	}
	CHECK(cli(out, sizeof out, "file", "list", "Attach Room") == 0 && strstr(out, "\tempty.bin\t") &&
	      strstr(out, "\tbig report (v2).pdf\t"), "att-3.9 exported files stay in the room");
}

/* A crash of the exporter, then a normal export: same names, same bytes. */
static void test_crash(struct tuser *alice, const char *step, const char *name, int round)
{
	static unsigned char back[64 * 1024];
	static char before_m[65536], after_m[65536];
	char out[8192], base[128], adir[600], path[900], n1[2048], n2[2048], what[160];
	long id, n, mb = -1, ma = -2;
	int rc;

	CHECK(upload(alice, name, crash_data, 50000 + (size_t)round), "att-4.1 an upload before the crash");
	id = tchat_sql_countf("SELECT id FROM files WHERE name = '%s'", name);
	setenv("PCHAT_EXPORT_CRASH_AT", step, 1);
	rc = cli(out, sizeof out, "export", NULL, NULL);
	unsetenv("PCHAT_EXPORT_CRASH_AT");
	snprintf(what, sizeof what, "att-4.2 export crashes %s (exit 9), leaving the events", step);
	CHECK(rc == 9 && tchat_sql_countf("SELECT count(*) FROM compliance_events WHERE type = 'FILEUPLOAD' AND message_id = %ld", id) == 1,
	      what);
	/* The planned batch is the one named in the store. */
	snprintf(base, sizeof base, "pchat-%08ld-%ld-%ld", tchat_sql_countf("SELECT number FROM compliance_batches WHERE sha256 IS NULL"),
	         tchat_sql_countf("SELECT first_seq FROM compliance_batches WHERE sha256 IS NULL"),
	         tchat_sql_countf("SELECT last_seq FROM compliance_batches WHERE sha256 IS NULL"));
	snprintf(adir, sizeof adir, "%s/%s.ATTACH", outdir, base);
	snprintf(path, sizeof path, "%s/%ld-%s", adir, id, name);
	n = read_all(path, back, sizeof back);
	CHECK(list_names(adir, n1, sizeof n1) == 1 && n == 50000 + round && !memcmp(back, crash_data, (size_t)n),
	      "att-4.3 the attachment was already in place when the exporter died");
	snprintf(path, sizeof path, "%s/%s.xml.manifest", outdir, base);
	if (!strcmp(step, "before-commit"))
		mb = read_all(path, before_m, sizeof before_m);
	CHECK(cli(out, sizeof out, "export", "--now", NULL) == 0 && strstr(out, base) != NULL &&
	      tchat_sql_countf("SELECT count(*) FROM compliance_events") == 0, "att-4.4 the next export finishes the same batch");
	snprintf(path, sizeof path, "%s/%ld-%s", adir, id, name);
	n = read_all(path, back, sizeof back);
	CHECK(list_names(adir, n2, sizeof n2) == 1 && !strcmp(n1, n2) && n == 50000 + round &&
	      !memcmp(back, crash_data, (size_t)n), "att-4.5 re-export: the same names and the same bytes, no stray files");
	if (!strcmp(step, "before-commit")) {
		snprintf(path, sizeof path, "%s/%s.xml.manifest", outdir, base);
		ma = read_all(path, after_m, sizeof after_m);
		CHECK(mb > 0 && ma == mb && !memcmp(before_m, after_m, (size_t)ma),
		      "att-4.6 the manifest written before the crash is byte-identical to the re-export's");
	}
	CHECK(cli(out, sizeof out, "verify", NULL, NULL) == 0 && strstr(out, "verify: ok:") != NULL,
	      "att-4.7 verify passes after the crash and re-export");
}

static void test_retention(struct tuser *alice, struct tuser *bob)
{
	static unsigned char back[64 * 1024];
	char out[8192], base[128], ids[24], path[900], sha[65], line[600];
	static char text[65536];
	struct ttoken tk;
	long id, n;

	CHECK(upload(alice, "keep.bin", keep_data, 40000), "att-5.1 an upload not yet exported");
	id = tchat_sql_countf("SELECT id FROM files WHERE name = 'keep.bin'");
	snprintf(ids, sizeof ids, "%ld", id);
	CHECK(cli(out, sizeof out, "file", "del", ids) == 0 && strstr(out, "deleted file") && strstr(out, "kept"),
	      "att-5.2 `pchat file del` says the bytes are kept until exported");
	CHECK(cli(out, sizeof out, "file", "list", "Attach Room") == 0 && !strstr(out, "keep.bin"),
	      "att-5.3 the file is no longer listed");
	CHECK(tchat_get_token(bob, 0, guid, "keep.bin", &tk) == 404, "att-5.4 a download token for it is refused (404)");
	snprintf(path, sizeof path, "%s/got.bin", srv.dir);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "file", "get", ids, path, NULL) == 1 && !exists(path),
	      "att-5.5 `pchat file get` refuses it too");
	CHECK(tchat_sql_countf("SELECT deleted FROM files WHERE id = %ld", id) == 1 &&
	      tchat_sql_countf("SELECT sum(length(data)) FROM file_chunks WHERE file_id = %ld", id) == 40000,
	      "att-5.6 its bytes are still in the store");
	CHECK(cli(out, sizeof out, "export", "--now", NULL) == 0 && last_batch(out, base, sizeof base) == 0,
	      "att-5.7 export");
	snprintf(path, sizeof path, "%s/%s.ATTACH/%ld-keep.bin", outdir, base, id);
	n = read_all(path, back, sizeof back);
	CHECK(n == 40000 && !memcmp(back, keep_data, 40000), "att-5.8 the deleted file's bytes are in the export");
	snprintf(path, sizeof path, "%s/%s.xml.manifest", outdir, base);
	n = read_all(path, text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	tchat_sha_hex(keep_data, 40000, sha);
	snprintf(line, sizeof line, "attachment %ld %s.ATTACH/%ld-keep.bin 40000 %s\n", id, base, id, sha);
	CHECK(strstr(text, line) != NULL, "att-5.9 ... listed in the manifest");
	CHECK(tchat_sql_countf("SELECT count(*) FROM file_chunks WHERE file_id = %ld", id) == 0 &&
	      tchat_sql_countf("SELECT count(*) FROM files WHERE id = %ld", id) == 0,
	      "att-5.10 once exported, its bytes and row are gone from the store");
	snprintf(ids, sizeof ids, "%ld", id_big);
	CHECK(cli(out, sizeof out, "file", "del", ids) == 0 && !strstr(out, "kept") &&
	      tchat_sql_countf("SELECT count(*) FROM file_chunks WHERE file_id = %ld", id_big) == 0,
	      "att-5.11 deleting a file whose upload is already exported deletes its bytes at once");
	CHECK(cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-5.12 verify passes (the archive keeps its copies)");
}

/* A file whose bytes were gone before the export (deleted before this
 * feature kept them): listed as missing, the export goes on. */
static void test_missing(struct tuser *alice)
{
	char out[8192], base[128], path[900], line[128], sql[256];
	static char text[65536];
	long id, n;

	CHECK(upload(alice, "gone.bin", "gone", 4), "att-6.1 an upload");
	id = tchat_sql_countf("SELECT id FROM files WHERE name = 'gone.bin'");
	snprintf(sql, sizeof sql, "PRAGMA foreign_keys = ON; DELETE FROM files WHERE id = %ld", id);
	CHECK(id > 0 && tchat_sql_exec(sql) == 0 && tchat_sql_countf("SELECT count(*) FROM file_chunks WHERE file_id = %ld", id) == 0,
	      "att-6.2 its row and bytes removed behind pchat's back");
	CHECK(cli(out, sizeof out, "export", "--now", NULL) == 0 && last_batch(out, base, sizeof base) == 0,
	      "att-6.3 the export does not fail");
	snprintf(path, sizeof path, "%s/%s.xml.manifest", outdir, base);
	n = read_all(path, text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	snprintf(line, sizeof line, "\nattachment %ld missing\n", id);
	snprintf(path, sizeof path, "%s/%s.ATTACH", outdir, base);
	CHECK(strstr(text, line) != NULL && !exists(path), "att-6.4 the manifest lists it as missing; no folder for it");
	CHECK(cli(out, sizeof out, "verify", NULL, NULL) == 0, "att-6.5 verify passes");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" };
	char out[4096];
	const char *slash;

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	big = malloc(BIG_BYTES);
	crash_data = malloc(64 * 1024);
	keep_data = malloc(40000);
	tchat_fill(big, BIG_BYTES, 5);
	tchat_fill(crash_data, 64 * 1024, 9);
	tchat_fill(keep_data, 40000, 13);
	/* The CLI is the only exporter: the server's timer never fires here. */
	if (!CHECK(tserver_start(&srv, bin, "[files]\nlisten = 127.0.0.1:0\n[compliance]\nrun_interval = 2592000\n") == 0,
	           "att-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_attach");
	}
	snprintf(outdir, sizeof outdir, "%s/compliance", srv.dir);
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "bob", "--password-stdin", NULL);
	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Attach Room", "--privacy", "open", NULL);
	slash = strrchr(out, '/');
	snprintf(guid, sizeof guid, "%.36s", slash ? slash + 1 : "none");
	CHECK(strlen(guid) == 36 && tchat_sign_in(&alice) == 0 && tchat_sign_in(&bob) == 0 && tchat_join(&alice, guid) == 200 && tchat_join(&bob, guid) == 200,
	      "att-0.2 a room; alice and bob sign in and join");

	test_export(&alice, &bob);
	test_crash(&alice, "after-rename", "crash1.bin", 1);
	test_crash(&alice, "before-commit", "crash2.bin", 2);
	test_retention(&alice, &bob);
	test_missing(&alice);
	CHECK(alice.t.bad_sigs == 0 && bob.t.bad_sigs == 0, "att-7.1 every server SIP message was signed correctly");
	{
		struct xsd_check x;

		xsd_init(&x);
		xsd_check_tree(&x, outdir);
		CHECK(x.loaded && x.files >= 3 && x.bad == 0, "att-7.1b every batch written (attachments included) validates"
		      " against its format's schema");
		if (x.bad)
			printf("# %d invalid, the first: %s\n", x.bad, x.first_bad);
		xsd_free(&x);
	}
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	CHECK(tserver_stop(&srv) == 0, "att-7.2 clean stop");
	tserver_cleanup(&srv);
	free(big);
	free(crash_data);
	free(keep_data);
	return check_done("e2e_attach");
}
