/*
 * e2e_sec_accounts.c - accounts and sign-in against a running server, over
 * real TLS with NTLM, with the admin CLI run beside it (issue 12, items 1,
 * 9, 10 and 11):
 *   acc-1  a deleted, disabled or re-passworded user loses the live session
 *   acc-2  `user del` takes the account's roles, follows, invitations and
 *          category places with it, and records one ADMIN event
 *   acc-3  password guessing: connection closed after a few failures, held
 *          retries, locks per user+address, per user and per address, logged
 *   acc-4  the store and its side files are 0600; `pchat check` warns
 *   acc-6  `user import FILE|-`: USER,NTHASH lines added all or nothing with
 *          one ADMIN event; an imported user signs in over NTLM
 *   acc-5  [auth] min_password_length: user add / passwd refuse shorter
 *          passwords and store nothing; 0 turns the policy off
 * Usage: e2e_sec_accounts PCHAT_BINARY
 */
#include "check.h"
#include "tchat.h"
#include "../auth.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct tserver srv;
static char out[65536];

/* Small numbers so the locks come quickly; the address lock is kept out of
 * the way of the other tests by its own address. */
static const char ini_auth[] =
	"\n[auth]\n"
	"max_failures_per_connection = 3\n"
	"failure_delay_ms = 200\n"
	"lockout_threshold = 5\n"
	"account_lockout_threshold = 8\n"
	"address_lockout_threshold = 12\n"
	"lockout_seconds = 60\n";

static void add_user(const char *name, const char *pw)
{
	char in[64];

	snprintf(in, sizeof in, "%s\n", pw);
	tserver_cli(&srv, in, out, sizeof out, "user", "add", name, "--password-stdin", NULL);
}

/* Sign in as name with pw from src (NULL: 127.0.0.1) on a new connection;
 * the status (t stays open). */
static int sign_in_from(struct tclient *t, const char *src, const char *name, const char *pw)
{
	char aor[128];

	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	if ((src ? tclient_connect_from(t, srv.port, src) : tclient_connect(t, srv.port)) < 0)
		return -1;
	t->timeout_ms = 5000;
	return tclient_register(t, aor, NULL, NULL, pw);
}

/* One sign-in on its own connection; the status. */
static int try_once(const char *src, const char *name, const char *pw)
{
	struct tclient t;
	int st = sign_in_from(&t, src, name, pw);

	tclient_close(&t);
	return st;
}

static int user_in_room_list(struct tuser *u, const char *name)
{
	tchat_xccos(u, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"\" extended=\"false\"/></data></cmd>");
	return tchat_has(&u->in, name);
}

/* ---- acc-1: sessions end with their user ---------------------------------- */

static void test_sessions_end(const char *guid)
{
	static struct tuser eve = { .name = "eve" }, frank = { .name = "frank" }, gina = { .name = "gina" };
	struct tuser gina2 = { .name = "gina" };
	struct tclient t;
	long t0;

	CHECK(tchat_sign_in(&eve) == 0 && tchat_join(&eve, guid) == 200 && tchat_post(&eve, guid, "before") == 200,
	      "acc-1.1 eve signs in, joins and posts");
	CHECK(tchat_cli("user", "del", "eve", NULL) != NULL, "acc-1.2 user del eve while she is signed in");
	t0 = tchat_now_ms();
	CHECK(tclient_wait_closed(&eve.t, 5000), "acc-1.3 eve's connection is closed within 5 s of user del");
	CHECK(tchat_now_ms() - t0 < 5000, "acc-1.4 ... promptly");
	CHECK(tchat_post(&eve, guid, "after del") != 200, "acc-1.5 eve can no longer post");
	CHECK(tchat_log_count("event=session-ended user=sip:eve@example.org reason=\"user deleted\"") == 1,
	      "acc-1.6 the end of the session is logged with its reason");
	tchat_sign_out(&eve);

	CHECK(tchat_sign_in(&frank) == 0 && tchat_join(&frank, guid) == 200, "acc-1.7 frank signs in and joins");
	CHECK(tchat_cli("user", "disable", "frank", NULL) != NULL, "acc-1.8 user disable frank");
	CHECK(tclient_wait_closed(&frank.t, 5000), "acc-1.9 frank's connection is closed within 5 s of user disable");
	CHECK(tchat_post(&frank, guid, "after disable") != 200, "acc-1.10 frank can no longer post");
	tchat_sign_out(&frank);
	CHECK(try_once(NULL, "frank", "pw") == 403, "acc-1.11 a disabled user cannot sign in");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "user", "show", "frank", NULL) == 0 && strstr(out, "status\tdisabled"),
	      "acc-1.12 user show says disabled; the user is kept");
	CHECK(tchat_cli("user", "enable", "frank", NULL) != NULL && try_once(NULL, "frank", "pw") == 200,
	      "acc-1.13 user enable: frank signs in again");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "user", "disable", "nobody", NULL) == 1,
	      "acc-1.14 disabling an unknown user fails");

	CHECK(tchat_sign_in(&gina) == 0 && tchat_join(&gina, guid) == 200, "acc-1.15 gina signs in and joins");
	CHECK(tserver_cli(&srv, "pw2\n", out, sizeof out, "user", "passwd", "gina", "--password-stdin", NULL) == 0,
	      "acc-1.16 user passwd gina");
	CHECK(tclient_wait_closed(&gina.t, 5000), "acc-1.17 the session signed in with the old password is closed");
	CHECK(tchat_post(&gina, guid, "old password") != 200, "acc-1.18 ... and can no longer post");
	tchat_sign_out(&gina);
	CHECK(try_once(NULL, "gina", "pw") == 403, "acc-1.19 the old password no longer signs in");
	buf_init(&gina2.in, 1 << 20);
	CHECK(sign_in_from(&gina2.t, NULL, "gina", "pw2") == 200 &&
	      tclient_invite(&gina2.t, &gina2.d, "sip:pchat@example.org") == 200 && tchat_join(&gina2, guid) == 200,
	      "acc-1.20 the new password signs in");
	usleep(3000 * 1000);    /* more than one check cycle */
	CHECK(tchat_post(&gina2, guid, "new password") == 200, "acc-1.21 a session signed in after passwd stays");
	tchat_sign_out(&gina2);

	/* Deleted and added again with the same password: the old session is
	 * not the new account's. */
	CHECK(sign_in_from(&t, NULL, "frank", "pw") == 200, "acc-1.22 frank signs in");
	CHECK(tchat_cli("user", "del", "frank", NULL) != NULL, "acc-1.23 user del frank");
	add_user("frank", "pw");
	CHECK(tclient_wait_closed(&t, 5000), "acc-1.24 frank's old session ends although frank exists again");
	tclient_close(&t);
}

/* ---- acc-2: user del removes what the account held ----------------------- */

static void test_user_del_holdings(void)
{
	static struct tuser ivan = { .name = "ivan" };
	char vault[40], closed[40];
	long rid;

	add_user("ivan", "pw");
	tchat_guid_of(tchat_cli("room", "add", "Vault", "--privacy", "secret", "--member", "ivan", "--manager", "ivan",
	                        NULL), vault);
	tchat_guid_of(tchat_cli("room", "add", "Closed9", "--privacy", "closed", NULL), closed);
	CHECK(tchat_cli("category", "add", "cat9", "--allow", "ivan", "--allow", "alice", "--creator", "ivan", NULL) != NULL &&
	      tchat_cli("category", "add", "only9", "--allow", "ivan", NULL) != NULL &&
	      tchat_cli("category", "add", "walled9", "--deny", "ivan", NULL) != NULL,
	      "acc-2.1 ivan: roles in Vault, on allowed and creator lists, denied in walled9");
	rid = tchat_sql_count("SELECT id FROM rooms WHERE name = 'Vault'");
	CHECK(rid > 0 && tchat_sql_exec("INSERT INTO follows (uri, room_id) SELECT 'sip:ivan@example.org', id FROM rooms "
	                                "WHERE name = 'Vault'") == 0 &&
	      tchat_sql_exec("INSERT INTO invitations (room_id, uri, inviter, created_us) SELECT id, "
	                     "'sip:ivan@example.org', 'sip:alice@example.org', 1 FROM rooms WHERE name = 'Closed9'") == 0,
	      "acc-2.2 ivan follows Vault and is invited to Closed9");
	CHECK(tchat_sign_in(&ivan) == 0 && tchat_join(&ivan, vault) == 200, "acc-2.3 ivan joins the secret room");
	tchat_sign_out(&ivan);

	CHECK(tchat_cli("user", "del", "ivan", NULL) != NULL, "acc-2.4 user del ivan");
	CHECK(tchat_sql_count("SELECT count(*) FROM room_roles WHERE uri = 'sip:ivan@example.org'") == 0,
	      "acc-2.5 his room roles are gone");
	CHECK(tchat_sql_count("SELECT count(*) FROM follows WHERE uri = 'sip:ivan@example.org'") == 0,
	      "acc-2.6 his follows are gone");
	CHECK(tchat_sql_count("SELECT count(*) FROM invitations WHERE uri = 'sip:ivan@example.org'") == 0,
	      "acc-2.7 his invitations are gone");
	CHECK(tchat_sql_count("SELECT count(*) FROM category_principals p JOIN categories c ON c.id = p.category_id "
	                      "WHERE p.uri = 'sip:ivan@example.org' AND p.list IN (0, 2) AND c.name = 'cat9'") == 0,
	      "acc-2.8 his places on allowed and creator lists are gone");
	CHECK(tchat_sql_count("SELECT count(*) FROM category_principals p JOIN categories c ON c.id = p.category_id "
	                      "WHERE p.list = 0 AND c.name = 'only9'") == 1,
	      "acc-2.8b the last entry of an allowed list stays, so the list still bounds the category");
	CHECK(tchat_sql_count("SELECT count(*) FROM category_principals WHERE uri = 'sip:ivan@example.org' "
	                      "AND list = 1") == 1, "acc-2.9 the ethical wall against the name stays");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE "
	                      "'user del sip:ivan@example.org%'") == 1 &&
	      tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content LIKE "
	                      "'user del sip:ivan@example.org%member=Vault%manager=Vault%follow=Vault%"
	                      "invitation=Closed9%allowed=cat9%creator=cat9%allowed_kept=only9%'") == 1,
	      "acc-2.10 one ADMIN event lists the roles, follows, invitations and lists removed");

	add_user("ivan", "pw");
	CHECK(tchat_sign_in(&ivan) == 0, "acc-2.11 a new ivan signs in");
	CHECK(!user_in_room_list(&ivan, "Vault"), "acc-2.12 the new ivan does not see the secret room");
	CHECK(tchat_join(&ivan, vault) != 200, "acc-2.13 ... nor join it");
	tchat_xccos(&ivan, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data><inv inviteId=\"1\" domain=\"example.org\"/></data></cmd>");
	CHECK(!tchat_has(&ivan.in, "Closed9"), "acc-2.14 ... and has no invitation of the old one");
	tchat_sign_out(&ivan);
	CHECK(tchat_sql_count("SELECT count(*) FROM room_roles WHERE uri = 'sip:ivan@example.org'") == 0,
	      "acc-2.15 the new ivan holds no roles");
}

/* ---- acc-3: password guessing --------------------------------------------- */

static void test_guessing(void)
{
	struct tclient t;
	long t0, held;
	int st[3], closed, right;

	/* One connection: the third refusal closes it. */
	CHECK(tclient_connect(&t, srv.port) == 0, "acc-3.1 connect");
	t.timeout_ms = 5000;
	t0 = tchat_now_ms();
	st[0] = tclient_register(&t, "sip:alice@example.org", NULL, NULL, "guess0");
	st[1] = tclient_register(&t, "sip:alice@example.org", NULL, NULL, "guess1");
	held = tchat_now_ms() - t0;
	st[2] = tclient_register(&t, "sip:alice@example.org", NULL, NULL, "guess2");
	closed = tclient_wait_closed(&t, 3000);
	tclient_close(&t);
	CHECK(st[0] == 403 && st[1] == 403 && st[2] == 403, "acc-3.2 three wrong passwords: 403 each");
	CHECK(held >= 200, "acc-3.3 the retry after a failure was held back (failure_delay_ms)");
	CHECK(closed, "acc-3.4 the connection is closed after max_failures_per_connection failures");
	CHECK(tchat_log_count("event=auth-failed peer=127.0.0.1:") >= 3 &&
	      tchat_log_count("addr=127.0.0.1 user=sip:alice@example.org reason=\"wrong password\"") >= 3,
	      "acc-3.5 each failure is logged with the address");

	/* Two more: the fifth locks alice on 127.0.0.1. */
	CHECK(try_once(NULL, "alice", "guess3") == 403 && try_once(NULL, "alice", "guess4") == 403,
	      "acc-3.6 fourth and fifth wrong password on new connections");
	right = try_once(NULL, "alice", "pw");
	CHECK(right == 403, "acc-3.7 while locked, the right password from the guessing address is refused");
	CHECK(tchat_log_count("event=auth-locked scope=account+address user=sip:alice@example.org addr=127.0.0.1 "
	                      "failures=5") == 1, "acc-3.8 the lock is logged");
	CHECK(tchat_log_count("user=sip:alice@example.org reason=\"locked (account+address)") >= 1,
	      "acc-3.9 the refusal while locked is logged");
	CHECK(try_once("127.0.0.2", "alice", "pw") == 200, "acc-3.10 alice still signs in from another address");

	/* Guessing one user from several addresses locks the user there only. */
	for (int i = 0; i < 4; i++)
		try_once("127.0.0.4", "bob", "nope");
	for (int i = 0; i < 4; i++)
		try_once("127.0.0.5", "bob", "nope");
	CHECK(tchat_log_count("event=auth-locked scope=account user=sip:bob@example.org") == 1,
	      "acc-3.11 eight failures for bob from two addresses lock the account (logged)");
	CHECK(try_once("127.0.0.4", "bob", "pw") == 403 && try_once("127.0.0.5", "bob", "pw") == 403,
	      "acc-3.12 bob's right password is refused from the addresses that guessed");
	CHECK(try_once("127.0.0.6", "bob", "pw") == 200, "acc-3.13 bob signs in from an address that did not guess");

	/* Spraying many users from one address locks the address. */
	for (int i = 0; i < 12; i++) {
		char name[32];

		snprintf(name, sizeof name, "spray%d", i);
		try_once("127.0.0.7", name, "pw");
	}
	CHECK(tchat_log_count("event=auth-locked scope=address") == 1 &&
	      tchat_log_count("addr=127.0.0.7 failures=12") == 1, "acc-3.14 twelve failures from one address lock it (logged)");
	CHECK(try_once("127.0.0.7", "carol", "pw") == 403, "acc-3.15 nobody signs in from the locked address");
	CHECK(try_once("127.0.0.8", "carol", "pw") == 200, "acc-3.16 carol signs in from elsewhere");
}

/* ---- acc-4: file modes ------------------------------------------------------ */

static int mode_of(const char *suffix)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof path, "%s/pchat.db%s", srv.dir, suffix);
	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 0777) : -1;
}

static void test_file_modes(void)
{
	char path[512];
	FILE *f;

	CHECK(mode_of("") == 0600, "acc-4.1 pchat.db is created 0600");
	CHECK(mode_of("-wal") == 0600, "acc-4.2 pchat.db-wal is 0600");
	CHECK(mode_of("-shm") == 0600, "acc-4.3 pchat.db-shm is 0600");
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "check", NULL) == 0 && !strstr(out, "readable by group or others"),
	      "acc-4.4 check finds nothing to say about the store's modes");
	snprintf(path, sizeof path, "%s/pchat.db", srv.dir);
	chmod(path, 0644);
	snprintf(path, sizeof path, "%s/nightly-backup.db", srv.dir);
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	chmod(path, 0640);
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "check", NULL) == 0 &&
	      strstr(out, "pchat.db is readable by group or others (mode 644)") &&
	      strstr(out, "nightly-backup.db is readable by group or others (mode 640)") && strstr(out, "fix: chmod 600"),
	      "acc-4.5 check warns about a store and a backup readable by others");
	snprintf(path, sizeof path, "%s/pchat.db", srv.dir);
	chmod(path, 0600);
}

/* The CLI reads the ini on each run: a later line wins. */
static void set_min_password_length(unsigned n)
{
	FILE *f = fopen(srv.ini, "a");

	if (f != NULL) {
		fprintf(f, "\n[auth]\nmin_password_length = %u\n", n);
		fclose(f);
	}
}

static int cli_password(const char *verb, const char *name, const char *pw)
{
	char in[64];

	snprintf(in, sizeof in, "%s\n", pw);
	return tserver_cli(&srv, in, out, sizeof out, "user", verb, name, "--password-stdin", NULL);
}

static void test_password_policy(void)
{
	int rc;

	set_min_password_length(8);
	rc = cli_password("add", "shorty", "1234567");
	CHECK(rc == 1 && strstr(out, "password too short: at least 8 characters"),
	      "acc-5.1 user add with a 7-character password: exit 1, says why");
	CHECK(tchat_sql_count("SELECT count(*) FROM users WHERE uri = 'sip:shorty@example.org'") == 0,
	      "acc-5.2 ... and the user is not created");
	CHECK(cli_password("add", "exact", "12345678") == 0 &&
	      tchat_sql_count("SELECT count(*) FROM users WHERE uri = 'sip:exact@example.org'") == 1,
	      "acc-5.3 exactly 8 characters: accepted");
	CHECK(cli_password("add", "accented", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") == 1,
	      "acc-5.4 7 characters in 14 bytes: refused (characters count, not bytes)");
	rc = cli_password("passwd", "exact", "short");
	CHECK(rc == 1 && strstr(out, "password too short") && try_once("127.0.0.20", "exact", "12345678") == 200,
	      "acc-5.5 user passwd to a short password: refused, the old password still works");
	set_min_password_length(0);
	CHECK(cli_password("add", "tiny", "x") == 0 &&
	      tchat_sql_count("SELECT count(*) FROM users WHERE uri = 'sip:tiny@example.org'") == 1,
	      "acc-5.6 min_password_length = 0: a 1-character password is accepted");
	set_min_password_length(1);
}

/* "name,<NT hash of pw in hex>\n" */
static void hash_line(char *outp, size_t len, const char *name, const char *pw)
{
	uint8_t hash[AUTH_NT_HASH_LEN];
	int o;

	auth_nt_hash(pw, strlen(pw), hash);
	o = snprintf(outp, len, "%s,", name);
	for (int i = 0; i < AUTH_NT_HASH_LEN; i++)
		o += snprintf(outp + o, len - (size_t)o, "%02x", hash[i]);
	snprintf(outp + o, len - (size_t)o, "\n");
}

static long imported(void)
{
	return tchat_sql_count("SELECT count(*) FROM users WHERE uri LIKE 'sip:imp%'");
}

static void test_import(void)
{
	char l1[128], l2[128], text[1024], path[512];
	long events = tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND "
	                              "content LIKE 'user import %'");
	FILE *f;
	int rc;

	hash_line(l1, sizeof l1, "imp1", "import-pass-1");
	hash_line(l2, sizeof l2, "sip:imp2@example.org", "import-pass-2");
	snprintf(text, sizeof text, "# from the old server\n\n%s%simp3,0123456789abcdef0123456789abcde\n", l1, l2);
	rc = tserver_cli(&srv, text, out, sizeof out, "user", "import", "-", NULL);
	CHECK(rc == 1 && strstr(out, "stdin:5: the NT hash must be 32 hex digits") && imported() == 0,
	      "acc-6.1 a 31-digit hash on line 5: exit 1, the line named, nobody added");
	snprintf(text, sizeof text, "%s%s", l1, "bad name!,0123456789abcdef0123456789abcdef\n");
	rc = tserver_cli(&srv, text, out, sizeof out, "user", "import", "-", NULL);
	CHECK(rc == 1 && strstr(out, "stdin:2:") && imported() == 0, "acc-6.2 a bad user name: refused, nobody added");
	snprintf(text, sizeof text, "%s%ssip:imp1@example.org,00000000000000000000000000000000\n", l1, l2);
	rc = tserver_cli(&srv, text, out, sizeof out, "user", "import", "-", NULL);
	CHECK(rc == 1 && strstr(out, "line 3: sip:imp1@example.org already named on line 1") && imported() == 0,
	      "acc-6.3 a user named twice (as imp1 and sip:imp1@...): refused, nobody added");
	snprintf(text, sizeof text, "%s%salice,00000000000000000000000000000000\n", l1, l2);
	rc = tserver_cli(&srv, text, out, sizeof out, "user", "import", "-", NULL);
	CHECK(rc == 1 && strstr(out, "user sip:alice@example.org already exists") && imported() == 0 &&
	      try_once("127.0.0.21", "alice", "pw") == 200,
	      "acc-6.4 an existing user: refused, nobody added, alice's password unchanged");
	snprintf(path, sizeof path, "%s/users.csv", srv.dir);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "# USER,NTHASH\r\n%s\n%s", l1, l2);
		fclose(f);
	}
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "import", path, NULL);
	CHECK(rc == 0 && imported() == 2, "acc-6.5 a good file (comments, blank lines, CRLF): both users added");
	CHECK(tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND content = "
	                      "'user import 2 users: sip:imp1@example.org sip:imp2@example.org'") == 1 &&
	      tchat_sql_count("SELECT count(*) FROM compliance_events WHERE type = 'ADMIN' AND "
	                      "content LIKE 'user import %'") == events + 1,
	      "acc-6.6 one ADMIN event names them all (and the refused imports recorded none)");
	CHECK(try_once("127.0.0.22", "imp1", "import-pass-1") == 200 && try_once("127.0.0.22", "imp2", "import-pass-2") == 200,
	      "acc-6.7 the imported users sign in over NTLM with the passwords whose hashes were imported");
	CHECK(try_once("127.0.0.23", "imp1", "import-pass-2") == 403, "acc-6.8 ... and not with another password");
	rc = tserver_cli(&srv, NULL, out, sizeof out, "user", "import", path, NULL);
	CHECK(rc == 1 && strstr(out, "already exists") && imported() == 2, "acc-6.9 importing the same file again: refused");
	/* USER,PASSWORD lines with --passwords, on stdin: hashed here, the
	 * password policy applied. */
	set_min_password_length(8);
	rc = tserver_cli(&srv, "imp4,long-enough-4\nimp5,short\n", out, sizeof out, "user", "import", "-", "--passwords", NULL);
	CHECK(rc == 1 && strstr(out, "stdin:2: password too short") && imported() == 2,
	      "acc-6.10 --passwords: a password under min_password_length refuses the import, nobody added");
	rc = tserver_cli(&srv, "imp4,long-enough-4\nimp5,long-enough-5\n", out, sizeof out, "user", "import", "-", "--passwords",
	                 NULL);
	CHECK(rc == 0 && imported() == 4 && try_once("127.0.0.24", "imp4", "long-enough-4") == 200 &&
	      try_once("127.0.0.24", "imp5", "long-enough-5") == 200,
	      "acc-6.11 --passwords from stdin: both added, each signs in with its password over NTLM");
	set_min_password_length(1);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	const char *users[] = { "alice", "bob", "carol", "eve", "frank", "gina" };
	char open_guid[40];

	signal(SIGPIPE, SIG_IGN);
	umask(022);     /* what a service's files would get without pchat's care */
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, ini_auth) == 0, "acc-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_sec_accounts");
	}
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		add_user(users[i], "pw");
	tchat_guid_of(tchat_cli("room", "add", "Lobby", "--privacy", "open", NULL), open_guid);
	CHECK(strlen(open_guid) == 36, "acc-0.2 an open room");

	test_file_modes();
	test_sessions_end(open_guid);
	test_user_del_holdings();
	test_guessing();
	test_password_policy();
	test_import();

	CHECK(tserver_stop(&srv) == 0, "acc-9.1 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_sec_accounts");
}
