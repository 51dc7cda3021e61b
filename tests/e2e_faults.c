/*
 * e2e_faults.c - storage faults under a running server.
 *
 *   faults-1  the disk holding the store fills up (the store on a small
 *             tmpfs, then a filler file takes the rest), and is freed again;
 *   faults-2  the store's files become unwritable (chattr +i on the store
 *             and its WAL, on an ext2 loop image), and writable again;
 *   faults-3  another process holds the store's write lock (BEGIN
 *             EXCLUSIVE) past the busy timeout, then releases it.
 *
 * During each fault a post is refused with SIP 503, never acknowledged and
 * never stored; other commands get an error reply; sign-in, reads and the
 * other clients go on; the log names the cause in one line.  When the fault
 * ends the server takes writes again by itself.  Afterwards every post
 * answered 200 is in the store (with its CHAT compliance event) and no
 * refused one is, and the server stops cleanly (no leaks under ASan).
 *
 * faults-1 and -2 need mount (root in a container with CAP_SYS_ADMIN) and,
 * for -2, mkfs.ext2 and chattr; without them they are skipped, and say so.
 */
#include "check.h"
#include "tchat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct tserver srv;
static const char *bin;
static char room_a[40], room_b[40];
static unsigned envid = 1;

/* ---- users ------------------------------------------------------------------------ */

struct user {
	struct tclient t;
	struct tdialog d;
	struct buf in;          /* bodies of server INFOs received */
	int up;
};

static int user_open(struct user *u, const char *name)
{
	char aor[64];

	memset(u, 0, sizeof *u);
	buf_init(&u->in, 4 << 20);
	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	u->up = tclient_connect(&u->t, srv.port) == 0 && tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	        tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200;
	return u->up;
}

static void user_close(struct user *u)
{
	tclient_close(&u->t);
	buf_free(&u->in);
	u->up = 0;
}

/* Read server INFOs until needle has arrived or ms pass. */
static int wait_for(struct user *u, const char *needle, int ms)
{
	long deadline = tchat_now_ms() + tclient_scale_ms(ms);

	while (!tchat_has(&u->in, needle) && tchat_now_ms() < deadline)
		if (tclient_wait_info(&u->t, &u->d, &u->in, 500) < 0)
			break;
	return tchat_has(&u->in, needle);
}

/* Send an XCCOS command (the inside of <cmd>, with %s for a room GUID) and
 * return the code of its rpl's resp, 0 if none came, -1 if the INFO itself
 * was not answered 200 (connection lost, or refused). */
static int command(struct user *u, const char *id, const char *data, const char *guid)
{
	char body[2048], inner[1024], want[64];
	const unsigned char *p;

	snprintf(inner, sizeof inner, data, guid ? guid : "");
	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">"
	                            "<cmd id=\"cmd:%s\" seqid=\"1\"><data>%s</data></cmd></xccos>", envid++, id, inner);
	buf_consume(&u->in, u->in.len);
	if (tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in) != 200)
		return -1;
	snprintf(want, sizeof want, "<rpl id=\"rpl:%s\"", id);
	if (!wait_for(u, want, 5000))
		return 0;
	p = memmem(buf_head(&u->in), u->in.len, want, strlen(want));
	p = memmem(p, (size_t)(buf_head(&u->in) + u->in.len - p), "<resp code=\"", 12);
	return p ? atoi((const char *)p + 12) : 0;
}

static int join(struct user *u, const char *guid)
{
	return command(u, "join", "<chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>", guid);
}

static int alive(struct user *u)
{
	return command(u, "getserverinfo", "<sib domain=\"example.org\" infoType=\"123\"/>", NULL) == 200;
}

/* ---- posts and what became of them ----------------------------------------------- */

#define MAX_POSTS 1024

static struct {
	char text[64];
	int status;             /* SIP status; -1 = no answer (connection dropped) */
} posts[MAX_POSTS];
static int nposts;

/* Post text to room; the SIP status, or -1 if no answer came.  Every post is
 * remembered for check_store. */
static int post(struct user *u, const char *room, const char *text)
{
	char body[512];
	int st;

	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">"
	                            "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\">"
	                            "<chat>%s</chat></grpchat></xccos>", envid++, room, text);
	st = u->up ? tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in) : -1;
	if (st < 0)
		u->up = 0;
	if (nposts < MAX_POSTS) {
		snprintf(posts[nposts].text, sizeof posts[0].text, "%s", text);
		posts[nposts++].status = st;
	}
	return st;
}

/* Every post answered 200 is stored once, with one CHAT event; no other is
 * stored or has an event.  Returns the number of posts that break it. */
static int check_store(const char *db, int *acked)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *m = NULL, *e = NULL;
	int bad = 0;

	*acked = 0;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM messages WHERE text = ?1", -1, &m, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM compliance_events WHERE type = 'CHAT' AND content = ?1", -1, &e,
	                       NULL) != SQLITE_OK) {
		printf("# cannot read %s: %s\n", db, h ? sqlite3_errmsg(h) : "?");
		bad = nposts ? nposts : 1;
		goto out;
	}
	for (int i = 0; i < nposts; i++) {
		int want = posts[i].status == 200, nm = -1, ne = -1;

		*acked += want;
		sqlite3_bind_text(m, 1, posts[i].text, -1, SQLITE_STATIC);
		sqlite3_bind_text(e, 1, posts[i].text, -1, SQLITE_STATIC);
		if (sqlite3_step(m) == SQLITE_ROW)
			nm = sqlite3_column_int(m, 0);
		if (sqlite3_step(e) == SQLITE_ROW)
			ne = sqlite3_column_int(e, 0);
		sqlite3_reset(m);
		sqlite3_reset(e);
		if (nm != want || ne != want) {
			printf("# %s: answered %d, %d stored, %d CHAT events\n", posts[i].text, posts[i].status, nm, ne);
			bad++;
		}
	}
out:
	sqlite3_finalize(m);
	sqlite3_finalize(e);
	sqlite3_close(h);
	return bad;
}

/* Start a server whose store is db (NULL: beside the ini), with users and
 * the rooms A (alice, bob) and B (carol). */
static int start(const char *db)
{
	char ini[600], out[512], *slash;
	const char *names[] = { "alice", "bob", "carol", "dave" };

	snprintf(ini, sizeof ini, "[store]\npath = %s\n", db ? db : "pchat.db");
	nposts = 0;
	if (tserver_start(&srv, bin, ini) != 0)
		return -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", names[i], "--password-stdin", NULL);
	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Faults A", "--privacy", "open", NULL);
	slash = strrchr(out, '/');
	snprintf(room_a, sizeof room_a, "%.36s", slash ? slash + 1 : "none");
	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Faults B", "--privacy", "open", NULL);
	slash = strrchr(out, '/');
	snprintf(room_b, sizeof room_b, "%.36s", slash ? slash + 1 : "none");
	return 0;
}

static int server_answers(void)
{
	struct tclient t;
	int ok = tclient_connect(&t, srv.port) == 0 && tclient_options(&t, "alive", 1) == 0 &&
	         tclient_recv(&t, 5000) == 1 && t.msg.status == 200;

	tclient_close(&t);
	return ok;
}

/* ---- faults-1 and -2: the store cannot be written --------------------------------- */

struct fault {
	const char *id;         /* "faults-1" */
	const char *what;       /* "disk full" */
	const char *cause;      /* in the store-unwritable line */
	int (*apply)(const char *dir);
	int (*lift)(const char *dir);
};

static void say(char *out, size_t len, const struct fault *f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(char *out, size_t len, const struct fault *f, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(out, len, "%s %s: ", f->id, f->what);

	va_start(ap, fmt);
	vsnprintf(out + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The store lives in dir (a mount made for it); f->apply breaks it and
 * f->lift mends it while the server runs. */
static void fault_run(const struct fault *f, const char *dir)
{
	struct user alice, bob, carol, dave;
	char db[400], text[64], what[300];
	int st, n503 = 0, n200 = 0, dropped = 0, trigger = 0, acked, code;

	snprintf(db, sizeof db, "%s/pchat.db", dir);
	say(what, sizeof what, f, "server starts with its store there");
	if (!CHECK(start(db) == 0, what))
		return;
	say(what, sizeof what, f, "users sign in and join");
	if (!CHECK(user_open(&alice, "alice") && user_open(&bob, "bob") && user_open(&carol, "carol") &&
	           join(&alice, room_a) == 200 && join(&bob, room_a) == 200 && join(&carol, room_b) == 200, what))
		goto out;
	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "[%s before %d]", f->id, i);
		n200 += post(&alice, room_a, text) == 200;
	}
	say(what, sizeof what, f, "posts before the fault: 200, delivered");
	CHECK(n200 == 3 && wait_for(&bob, text, 3000), what);

	say(what, sizeof what, f, "the fault is made");
	if (!CHECK(f->apply(dir) == 0, what))
		goto out;
	/* The first failing commit withdraws its pass's answers: carol posts
	 * alone in room B until that happens (a WAL with room left takes a few
	 * posts first, and those are stored for real). */
	for (int i = 0; i < 400 && carol.up; i++) {
		snprintf(text, sizeof text, "[%s trigger %d]", f->id, i);
		st = post(&carol, room_b, text);
		if (st != 200) {
			trigger = st;
			break;
		}
	}
	printf("# %s: the first failing post was answered %d (-1: connection dropped)\n", f->id, trigger);
	say(what, sizeof what, f, "a post fails, and is not answered 200");
	CHECK(trigger == 503 || trigger == -1, what);
	say(what, sizeof what, f, "one log line names the cause (%s)", f->cause);
	CHECK(tchat_log_count("event=store-unwritable") >= 1 && tserver_log_has(&srv, f->cause), what);

	/* Now the server knows: each post is committed on its own and refused
	 * alone; bob, in the room, loses nothing. */
	n503 = n200 = 0;
	for (int i = 1; i <= 5; i++) {
		snprintf(text, sizeof text, "[%s during %d]", f->id, i);
		st = post(&alice, room_a, text);
		n503 += st == 503;
		n200 += st == 200;
		dropped += st < 0;
	}
	printf("# %s: 5 posts during the fault: %d answered 503, %d answered 200 (stored), %d dropped\n", f->id, n503,
	       n200, dropped);
	say(what, sizeof what, f, "posts during the fault are answered 503, the poster keeps its connection");
	CHECK(n503 >= 4 && n503 + n200 == 5, what);
	say(what, sizeof what, f, "the room's other member is still connected and got no refused post");
	CHECK(alive(&bob) && (n200 > 0 || !tchat_has(&bob.in, "during")), what);

	/* Reads and sign-in go on; commands that must write get an error reply. */
	say(what, sizeof what, f, "a new client signs in");
	CHECK(user_open(&dave, "dave"), what);
	code = command(&dave, "chansrch", "<qib qtype=\"BYNAME\" criteria=\"Faults\" extended=\"false\"/>", NULL);
	say(what, sizeof what, f, "room search answered 200 (%d)", code);
	CHECK(code == 200 && tchat_has(&dave.in, room_a), what);
	code = join(&dave, room_a);
	say(what, sizeof what, f, "a join (it records a JOIN event) gets a reply, %d, and the connection stays", code);
	CHECK(code >= 200 && alive(&dave), what);
	code = command(&alice, "bccontext", "<chanib uri=\"ma-chan://example.org/%s\"/><bcq><last cnt=\"5\"/></bcq>", room_a);
	say(what, sizeof what, f, "a history read (it records a BACKCHAT event) gets a reply, %d", code);
	CHECK(code >= 200 && alive(&alice), what);
	say(what, sizeof what, f, "a fresh connection is answered");
	CHECK(server_answers(), what);

	say(what, sizeof what, f, "the fault is mended");
	CHECK(f->lift(dir) == 0, what);
	n200 = 0;
	for (int i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "[%s after %d]", f->id, i);
		n200 += post(&alice, room_a, text) == 200;
	}
	say(what, sizeof what, f, "posts after it are answered 200 and delivered, without a restart");
	CHECK(n200 == 3 && wait_for(&bob, text, 3000), what);
	say(what, sizeof what, f, "the log says the store takes writes again");
	CHECK(tserver_log_has(&srv, "event=store-writable"), what);
	if (!carol.up) {
		user_close(&carol);
		user_open(&carol, "carol");
		join(&carol, room_b);
	}
	snprintf(text, sizeof text, "[%s carol after]", f->id);
	say(what, sizeof what, f, "the client dropped at the first failure reconnects and posts");
	CHECK(post(&carol, room_b, text) == 200, what);
	printf("# %s: %d store-unwritable and %d store-writable log lines\n", f->id, tchat_log_count("event=store-unwritable"),
	       tchat_log_count("event=store-writable"));
	user_close(&dave);
out:
	user_close(&alice);
	user_close(&bob);
	user_close(&carol);
	say(what, sizeof what, f, "clean stop (exit 0; no leaks under ASan)");
	CHECK(tserver_stop(&srv) == 0, what);
	{
		int bad = check_store(db, &acked);

		printf("# %s: %d posts, %d answered 200\n", f->id, nposts, acked);
		say(what, sizeof what, f, "every post answered 200 is stored with its event, no other is");
		CHECK(nposts > 0 && bad == 0, what);
	}
	tserver_cleanup(&srv);
}

/* faults-1: a tmpfs just big enough, then filled by another file. */
static int fill_disk(const char *dir)
{
	static char chunk[65536];
	char path[400];
	int fd;
	size_t sizes[] = { sizeof chunk, 4096, 512 };

	snprintf(path, sizeof path, "%s/filler", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		while (write(fd, chunk, sizes[i]) > 0)
			;
	close(fd);
	return errno == ENOSPC ? 0 : -1;
}

static int free_disk(const char *dir)
{
	char path[400];

	snprintf(path, sizeof path, "%s/filler", dir);
	return unlink(path);
}

/* faults-2: the store and its WAL made immutable (writes fail with EPERM,
 * as they would on a file system gone read-only under the server). */
static int chattr(const char *dir, const char *op)
{
	char cmd[1000];

	snprintf(cmd, sizeof cmd, "chattr %s '%s/pchat.db' '%s/pchat.db-wal' 2>&1", op, dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int make_immutable(const char *dir) { return chattr(dir, "+i"); }
static int make_mutable(const char *dir) { return chattr(dir, "-i"); }

static void faults_disk_full(void)
{
	static const struct fault f = { "faults-1", "disk full", "cause=\"disk full", fill_disk, free_disk };
	char dir[] = "/tmp/pchat-faults-XXXXXX";

	if (mkdtemp(dir) == NULL)
		return;
	if (mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700") != 0) {
		printf("# faults-1 skipped: cannot mount a tmpfs (%s); needs root with CAP_SYS_ADMIN\n", strerror(errno));
		rmdir(dir);
		return;
	}
	fault_run(&f, dir);
	if (umount(dir) != 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}

static void faults_read_only(void)
{
	static const struct fault f = { "faults-2", "store not writable", "Operation not permitted", make_immutable,
	                                make_mutable };
	char dir[] = "/tmp/pchat-faults-XXXXXX", img[64], cmd[300];

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(img, sizeof img, "%s.img", dir);
	snprintf(cmd, sizeof cmd, "truncate -s 16M '%s' && mkfs.ext2 -q -F '%s' >/dev/null 2>&1 && mount -o loop '%s' '%s' 2>&1",
	         img, img, img, dir);
	if (system(cmd) != 0) {
		printf("# faults-2 skipped: cannot make and loop-mount an ext2 image (needs mkfs.ext2, loop devices, root)\n");
		unlink(img);
		rmdir(dir);
		return;
	}
	fault_run(&f, dir);
	make_mutable(dir);
	if (umount(dir) != 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	unlink(img);
}

/* ---- faults-3: another process holds the write lock ------------------------------- */

static void faults_busy(void)
{
	struct user alice, bob;
	sqlite3 *locker = NULL;
	char db[400], what[200];
	long t0, first_ms, second_ms, read_ms;
	int st1, st2, acked, bad, locked;

	if (!CHECK(start(NULL) == 0, "faults-3.0 server starts"))
		return;
	snprintf(db, sizeof db, "%s/pchat.db", srv.dir);
	if (!CHECK(user_open(&alice, "alice") && user_open(&bob, "bob") && join(&alice, room_a) == 200 &&
	           join(&bob, room_a) == 200, "faults-3.1 users sign in and join"))
		goto out;
	CHECK(post(&alice, room_a, "[faults-3 before]") == 200, "faults-3.2 a post before the lock: 200");
	sqlite3_open_v2(db, &locker, SQLITE_OPEN_READWRITE, NULL);
	sqlite3_busy_timeout(locker, 10000);
	locked = sqlite3_exec(locker, "BEGIN EXCLUSIVE; INSERT INTO users (uri, nt_hash, created_us) "
	                              "VALUES ('sip:locker@example.org', zeroblob(16), 0)", NULL, NULL, NULL) == SQLITE_OK;
	if (!CHECK(locked, "faults-3.3 another process takes the write lock (BEGIN EXCLUSIVE)"))
		goto out;
	/* The server waits its busy timeout (5 s) for the lock, then refuses. */
	alice.t.timeout_ms = 20000;
	t0 = tchat_now_ms();
	st1 = post(&alice, room_a, "[faults-3 locked 1]");
	first_ms = tchat_now_ms() - t0;
	t0 = tchat_now_ms();
	st2 = post(&alice, room_a, "[faults-3 locked 2]");
	second_ms = tchat_now_ms() - t0;
	t0 = tchat_now_ms();
	CHECK(alive(&bob), "faults-3.4 another client is served while the lock is held");
	read_ms = tchat_now_ms() - t0;
	printf("# faults-3: posts under the lock answered %d after %ld ms, %d after %ld ms; a read took %ld ms\n", st1,
	       first_ms, st2, second_ms, read_ms);
	snprintf(what, sizeof what, "faults-3.5 a post under the lock: 503 within the 5 s busy timeout plus 3 s (%ld ms)",
	         first_ms);
	CHECK(st1 == 503 && first_ms < tclient_scale_ms(8000), what);
	snprintf(what, sizeof what, "faults-3.6 the next post: 503 at once, no second 5 s wait (%ld ms)", second_ms);
	CHECK(st2 == 503 && second_ms < tclient_scale_ms(2000), what);
	CHECK(read_ms < tclient_scale_ms(2000), "faults-3.7 reads are not held up by the lock");
	CHECK(tserver_log_has(&srv, "event=store-busy"), "faults-3.8 the log says the store is locked");
	sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(locker);
	locker = NULL;
	CHECK(post(&alice, room_a, "[faults-3 after]") == 200 && wait_for(&bob, "[faults-3 after]", 3000),
	      "faults-3.9 after the lock is released a post is answered 200 and delivered");
	CHECK(tserver_log_has(&srv, "event=store-unlocked"), "faults-3.10 the log says the lock is gone");
out:
	if (locker) {
		sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(locker);
	}
	user_close(&alice);
	user_close(&bob);
	CHECK(tserver_stop(&srv) == 0, "faults-3.11 clean stop");
	bad = check_store(db, &acked);
	printf("# faults-3: %d posts, %d answered 200\n", nposts, acked);
	CHECK(nposts > 0 && bad == 0, "faults-3.12 every post answered 200 is stored with its event, no other is");
	tserver_cleanup(&srv);
}

int main(int argc, char **argv)
{
	bin = argc > 1 ? argv[1] : "./pchat";
	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	faults_disk_full();
	faults_read_only();
	faults_busy();
	return check_done("e2e_faults");
}
