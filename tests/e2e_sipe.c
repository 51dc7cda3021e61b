/*
 * e2e_sipe.c - the real client: pidgin-sipe 1.25, driven headless through
 * tests/sipe-harness (build/sipe/sipe-harness), against a real ./pchat.
 * usage: e2e_sipe PCHAT_BINARY [HARNESS_BINARY]
 * The harness trusts pchat's generated certificate the way libpurple does:
 * a copy in <userdir>/certificates/x509/tls_peers/127.0.0.1.
 */
#include "check.h"
#include "tsipe.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tserver srv;
static const char *harness = "build/sipe/sipe-harness";

static int file_has(const char *path, const char *needle)
{
	static char text[8 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

static int run_client(const char *name, const char *user, const char *password, const char *script)
{
	return tsipe_finish(tsipe_start(&srv, harness, name, user, password, script));
}

/* 1 if RUN/NAME.EXT contains needle. */
static int out_has(const char *name, const char *ext, const char *needle)
{
	char path[600];

	snprintf(path, sizeof path, "%s/%s.%s", srv.dir, name, ext);
	return file_has(path, needle);
}

static char room_uri[128], members_uri[128], stage_uri[128];

/* Rooms made with the admin CLI; each URI as `room add` printed it. */
static int make_room(char *uri, size_t len, const char *name, const char *a1, const char *a2, const char *a3,
                     const char *a4, const char *a5, const char *a6)
{
	char out[512];

	if (tserver_cli(&srv, NULL, out, sizeof out, "room", "add", name, a1, a2, a3, a4, a5, a6, NULL) != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	if (strlen(out) >= len)
		return -1;
	memcpy(uri, out, strlen(out) + 1);
	return strncmp(uri, "ma-chan://example.org/", 22) == 0 ? 0 : -1;
}

static void test_chat(void)
{
	char script[2048];
	pid_t bob;
	int rc_alice, rc_bob;

	CHECK(make_room(room_uri, sizeof room_uri, "Room One", "--privacy", "open", "--topic", "Welcome to room one",
	                "--description", "the first room") == 0 &&
	      make_room(members_uri, sizeof members_uri, "Members Only", "--privacy", "closed", "--member", "alice", NULL,
	                NULL) == 0 &&
	      make_room(stage_uri, sizeof stage_uri, "Stage", "--type", "auditorium", "--privacy", "open", "--presenter",
	                "alice") == 0, "sipe-3.1 rooms created with the CLI");

	/* bob lists rooms, joins, waits for alice's post, answers, leaves. */
	snprintf(script, sizeof script,
	         /* Join first: sipe queues it until group chat is up, so the room
	          * list that follows cannot be asked too early (on a loaded machine
	          * a fixed sleep was not always enough). */
	         "wait signed-on 20\njoin %s\nwait joined Room One 30\nroomlist\nwait room Room One 15\n"
	         "wait msg hello from alice 40\nsend bob saw it\nsleep 1\npart\nsleep 1\nquit\n", room_uri);
	bob = tsipe_start(&srv, harness, "bob", "bob@example.org", "bobpw", script);
	snprintf(script, sizeof script,
	         "wait signed-on 20\njoin %s\nwait joined Room One 20\nsleep 4\n"
	         "send hello from alice 1 < 2 & \"quoted\" caf\xc3\xa9\nwait msg hello from alice 10\nwait msg bob saw it 30\n"
	         "sleep 4\nquit\n", room_uri);
	rc_alice = run_client("alice-chat", "alice@example.org", "wonderland", script);
	rc_bob = tsipe_finish(bob);
	CHECK(rc_alice == 0 && rc_bob == 0, "sipe-3.2 both scripts completed");
	CHECK(out_has("bob", "out", "EVENT room Room One"), "sipe-3.3 room list shows Room One");
	CHECK(out_has("bob", "out", "EVENT chat-joined Room One") && out_has("bob", "out", "EVENT chat-topic Room One Welcome to room one"),
	      "sipe-3.4 bob joined, topic shown");
	CHECK(out_has("bob", "out", "EVENT chat-msg Room One sip:alice@example.org hello from alice"),
	      "sipe-3.5 bob received alice's post");
	CHECK(out_has("alice-chat", "out", "EVENT chat-msg Room One sip:alice@example.org hello from alice"),
	      "sipe-3.6 alice received her own post back (the echo)");
	CHECK(out_has("alice-chat", "out", "EVENT chat-msg Room One sip:bob@example.org bob saw it"),
	      "sipe-3.7 alice received bob's answer");
	CHECK(out_has("bob", "out", "hello from alice 1 &lt; 2 &amp; &quot;quoted&quot; caf\xc3\xa9") ||
	      out_has("bob", "out", "hello from alice 1 < 2 & \"quoted\" caf\xc3\xa9"),
	      "sipe-3.8 special characters and non-ASCII round-trip");
	CHECK(out_has("alice-chat", "out", "EVENT chat-user-left Room One sip:bob@example.org") ||
	      out_has("alice-chat", "log", "ntc:part"), "sipe-3.9 alice saw bob leave");
	CHECK(tserver_log_has(&srv, "event=part user=sip:bob@example.org"), "sipe-3.10 server recorded bob's part");

	/* Rules the real client can show. */
	snprintf(script, sizeof script, "wait signed-on 20\nsleep 2\njoin %s\nwait joined Members 8\nquit\n", members_uri);
	CHECK(run_client("bob-closed", "bob@example.org", "bobpw", script) != 0 &&
	      !out_has("bob-closed", "out", "EVENT chat-joined Members Only") &&
	      (out_has("bob-closed", "log", "<resp code=\"403\"") || out_has("bob-closed", "log", "<fib key=\"OPERATION_FAILED\"")),
	      "sipe-4.1 closed room: a non-member is refused");
	snprintf(script, sizeof script,
	         "wait signed-on 20\njoin %s\nwait joined Stage 20\nsend from the floor\nsleep 3\nquit\n", stage_uri);
	CHECK(run_client("bob-stage", "bob@example.org", "bobpw", script) == 0 &&
	      !out_has("bob-stage", "out", "EVENT chat-msg Stage sip:bob@example.org from the floor") &&
	      out_has("bob-stage", "log", "SIP/2.0 403 Forbidden"), "sipe-4.2 auditorium: a participant's post is refused");
}

/* After a restart, a third user joining sees the conversation as history. */
static void test_history_after_restart(void)
{
	char script[1024];

	CHECK(tserver_stop(&srv) == 0 && tserver_restart(&srv) == 0, "sipe-5.1 server restarted");
	snprintf(script, sizeof script, "wait signed-on 20\njoin %s\nwait joined Room One 20\nwait msg bob saw it 20\nquit\n",
	         room_uri);
	CHECK(run_client("carol", "carol@example.org", "carolpw", script) == 0 &&
	      out_has("carol", "out", "EVENT chat-msg Room One sip:alice@example.org hello from alice") &&
	      out_has("carol", "out", "EVENT chat-msg Room One sip:bob@example.org bob saw it"),
	      "sipe-5.2 history on join survives the restart");
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	char out[512], path[600], log[600];
	struct stat st;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2)
		harness = argv[2];
	if (!CHECK(stat(harness, &st) == 0, "sipe-0.1 harness built (make build/sipe/sipe-harness)"))
		return check_done("e2e_sipe");
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "sipe-0.2 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_sipe");
	}
	CHECK(tserver_cli(&srv, "wonderland\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL) == 0 &&
	      tserver_cli(&srv, "bobpw\n", out, sizeof out, "user", "add", "bob", "--password-stdin", NULL) == 0 &&
	      tserver_cli(&srv, "carolpw\n", out, sizeof out, "user", "add", "carol", "--password-stdin", NULL) == 0,
	      "sipe-0.3 users added");

	rc = run_client("alice", "alice@example.org", "wonderland", "wait signed-on 20\nsleep 3\nquit\n");
	snprintf(path, sizeof path, "%s/alice.out", srv.dir);
	snprintf(log, sizeof log, "%s/alice.log", srv.dir);
	CHECK(rc == 0 && file_has(path, "EVENT signed-on"), "sipe-1.1 pidgin-sipe signs on with NTLM");
	CHECK(file_has(log, "chatserver_response: 'rpl:requri' result (200)"), "sipe-1.2 client handled rpl:requri");
	CHECK(file_has(log, "chatserver_response_uri: 'sip:pchat@example.org'"), "sipe-1.3 client got the channel URI");
	CHECK(file_has(log, "INVITE sip:pchat@example.org SIP/2.0"), "sipe-1.4 client INVITEd the channel URI");
	CHECK(tserver_log_has(&srv, "event=dialog-start user=sip:alice@example.org role=channel"),
	      "sipe-1.5 server opened the channel dialog");
	CHECK(!file_has(log, "message without authentication data") && !file_has(log, "Invalid message signature"),
	      "sipe-1.6 client accepted every server signature");
	CHECK(tserver_log_has(&srv, "event=auth-ok user=sip:alice@example.org"), "sipe-1.7 server log: auth ok");

	rc = run_client("wrong", "alice@example.org", "not-the-password", "wait signed-on 15\nquit\n");
	snprintf(path, sizeof path, "%s/wrong.out", srv.dir);
	CHECK(rc != 0 && !file_has(path, "EVENT signed-on"), "sipe-2.1 a wrong password does not sign on");
	CHECK(file_has(path, "EVENT connection-error"), "sipe-2.2 the client reports a connection error");

	test_chat();
	test_history_after_restart();
	CHECK(!out_has("bob", "log", "Invalid message signature") && !out_has("carol", "log", "Invalid message signature"),
	      "sipe-6.1 no signature complaints in any chat run");

	CHECK(tserver_stop(&srv) == 0, "sipe-9.1 clean stop");
	tserver_cleanup(&srv);
	return check_done("e2e_sipe");
}
