/*
 * e2e_crash.c - crash safety: a client posts as fast as the server answers
 * while the server is killed with SIGKILL at random moments, many times.
 * After each restart every post that was answered 200 must be in the store,
 * and the store must pass PRAGMA integrity_check.  (The durability setting
 * that makes this hold: WAL with synchronous=FULL, one group commit per loop
 * pass, answers flushed only after the commit; see README.)
 */
#include "check.h"
#include "tclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 8
#define MAX_POSTS 200000

static struct tserver srv;
static unsigned char acked[MAX_POSTS];  /* 1: answered 200 */
static int next_post;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Post until the server dies (or the deadline passes); remember each 200. */
static void post_until_killed(const char *room, long kill_at_ms)
{
	struct tclient t;
	struct tdialog d;
	char head[1024], body[512], join[512];
	int cseq_of[4096], inflight = 0, killed = 0;

	if (tclient_connect(&t, srv.port) != 0 || tclient_register(&t, "sip:alice@example.org", NULL, NULL, "pw") != 200 ||
	    tclient_invite(&t, &d, "sip:pchat@example.org") != 200)
		return;
	snprintf(join, sizeof join, "<xccos ver=\"1\" envid=\"1\"><cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" "
	                            "domain=\"example.org\" value=\"%s\"/></data></cmd></xccos>", room);
	tclient_in_dialog(&t, &d, "INFO", join, NULL);
	while (next_post < MAX_POSTS - 64) {
		/* Keep up to 32 posts in flight, each numbered by its CSeq. */
		while (inflight < 32 && !killed) {
			snprintf(head, sizeof head,
			         "INFO %s SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nFrom: <sip:alice@example.org>;tag=%s\r\nTo: <%s>;tag=%s\r\n"
			         "CSeq: %u INFO\r\nCall-ID: %s\r\nContent-Type: text/plain\r\n",
			         d.uri, d.local_tag, d.uri, d.remote_tag, ++d.cseq, d.call_id);
			snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%d\"><grpchat id=\"grpchat\" seqid=\"1\" "
			                            "chanUri=\"ma-chan://example.org/%s\"><chat>crash %d</chat></grpchat></xccos>",
			         next_post, room, next_post);
			if (tclient_send_msg(&t, head, body, strlen(body)) < 0)
				break;
			cseq_of[d.cseq % 4096] = next_post++;
			inflight++;
		}
		if (!killed && now_ms() >= kill_at_ms) {
			tserver_kill(&srv);
			killed = 1;
		}
		if (tclient_recv(&t, killed ? 2000 : 5000) != 1)
			break;
		if (t.msg.kind == SIP_RESPONSE && sip_msg_header(&t.msg, "CSeq", 0)) {
			uint32_t n;
			struct sip_str m;

			if (sip_cseq_parse(*sip_msg_header(&t.msg, "CSeq", 0), &n, &m) == 0 && sip_str_eq(m, "INFO") && n > 1) {
				inflight--;
				if (t.msg.status == 200)
					acked[cseq_of[n % 4096]] = 1;
			}
		}
	}
	tclient_close(&t);
	if (!killed)
		tserver_kill(&srv);
}

static int sql(const char *query, char *out, size_t outlen)
{
	char cmd[1024];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s/pchat.db' \"%s\"", srv.dir, query);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	static char stored_text[16 << 20];
	static unsigned char stored[MAX_POSTS];
	char out[512], room[40], *p;
	int missing = 0, total_acked = 0, integrity_ok = 1;
	unsigned seed = (unsigned)time(NULL);

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "crash-0.1 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_crash");
	}
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Crash Room", "--privacy", "open", NULL);
	p = strrchr(out, '/');
	snprintf(room, sizeof room, "%.36s", p ? p + 1 : "none");
	printf("# seed %u\n", seed);
	for (int round = 0; round < ROUNDS; round++) {
		if (round > 0 && !CHECK(tserver_restart(&srv) == 0, "crash-1.x restart after SIGKILL"))
			break;
		post_until_killed(room, now_ms() + 150 + rand_r(&seed) % 600);
		if (sql("PRAGMA integrity_check", out, sizeof out) != 0 || strncmp(out, "ok", 2) != 0)
			integrity_ok = 0;
	}
	CHECK(integrity_ok, "crash-2.1 integrity_check passes after every SIGKILL");
	if (sql("SELECT substr(text, 7) FROM messages WHERE text LIKE 'crash %'", stored_text, sizeof stored_text) == 0) {
		for (char *line = strtok(stored_text, "\n"); line; line = strtok(NULL, "\n")) {
			long n = strtol(line, NULL, 10);

			if (n >= 0 && n < MAX_POSTS)
				stored[n] = 1;
		}
	}
	for (int i = 0; i < next_post; i++) {
		total_acked += acked[i];
		missing += acked[i] && !stored[i];
	}
	printf("# %d rounds, %d posts sent, %d answered 200, %d of those missing\n", ROUNDS, next_post, total_acked, missing);
	CHECK(total_acked > 0, "crash-2.2 posts were acknowledged");
	CHECK(missing == 0, "crash-2.3 every post answered 200 survived SIGKILL");
	CHECK(tserver_restart(&srv) == 0 && tserver_stop(&srv) == 0, "crash-2.4 the store opens and the server stops cleanly");
	tserver_cleanup(&srv);
	return check_done("e2e_crash");
}
