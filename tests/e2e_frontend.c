/*
 * e2e_frontend.c - pchat behind a SIP front end (frontend.h, issue 19), with
 * a real Kamailio (tests/kamailio/pchat-front.cfg) started on free ports in
 * a temp folder and stopped after.  Certificates come from
 * tests/kamailio/certs.sh (openssl).  Kamailio missing is a failure.
 *
 * Through Kamailio, pchat's own test client (no NTLM: Kamailio's allow list
 * is the authentication) subscribes to provisioning, opens the channel,
 * joins, posts, receives fan-out, reads history and gets a file token, with
 * every user on Kamailio's one connection to pchat.  Directly, a test "front
 * end" with Kamailio's certificate checks what Kamailio does not show: the
 * refusals, OPTIONS, dialogs of two users with identical Call-ID and tags,
 * and dialogs that outlive their front-end connection.
 */
#include "check.h"
#include "tchat.h"
#include "tsipe.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#define KAMAILIO "/usr/sbin/kamailio"
#define CHANNEL "sip:pchat@example.org"

static struct tserver srv;
static char certs[200];         /* the test's own folder: certificates, Kamailio */
static uint16_t fe_port, kam_port;
static pid_t kam_pid = -1;

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The port the server logged for its mutual-TLS listener. */
static uint16_t logged_fe_port(void)
{
	char buf[65536];
	FILE *f = fopen(srv.log, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	const char *p;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "event=listen-mtls port=");
	return p ? (uint16_t)atoi(p + 23) : 0;
}

/* Copy template to out with @DIR@, @KAM_PORT@ and @PCHAT_FE@ replaced. */
static int render(const char *template, const char *out)
{
	char in[16384], res[20000], val[300];
	FILE *f = fopen(template, "r");
	size_t n = f ? fread(in, 1, sizeof in - 1, f) : 0, o = 0;

	if (f == NULL)
		return -1;
	fclose(f);
	in[n] = '\0';
	for (const char *p = in; *p && o + 300 < sizeof res;) {
		const char *v = NULL;
		size_t skip = 0;

		if (strncmp(p, "@DIR@", 5) == 0)
			v = certs, skip = 5;
		else if (strncmp(p, "@KAM_PORT@", 10) == 0)
			snprintf(val, sizeof val, "%u", (unsigned)kam_port), v = val, skip = 10;
		else if (strncmp(p, "@PCHAT_FE@", 10) == 0)
			snprintf(val, sizeof val, "127.0.0.1:%u", (unsigned)fe_port), v = val, skip = 10;
		if (v) {
			o += (size_t)snprintf(res + o, sizeof res - o, "%s", v);
			p += skip;
		} else {
			res[o++] = *p++;
		}
	}
	if ((f = fopen(out, "w")) == NULL)
		return -1;
	fwrite(res, 1, o, f);
	return fclose(f);
}

static int kamailio_start(void)
{
	char cfg[320], tls[320], run[320], pid[320], log[320];
	long deadline;

	if (access(KAMAILIO, X_OK) != 0) {
		printf("# %s is missing (make deps installs kamailio and kamailio-tls-modules)\n", KAMAILIO);
		return -1;
	}
	kam_port = free_port();
	snprintf(cfg, sizeof cfg, "%s/kamailio.cfg", certs);
	snprintf(tls, sizeof tls, "%s/tls.cfg", certs);
	snprintf(run, sizeof run, "%s/run", certs);
	snprintf(pid, sizeof pid, "%s/kamailio.pid", certs);
	snprintf(log, sizeof log, "%s/kamailio.log", certs);
	if (render("tests/kamailio/pchat-front.cfg", cfg) < 0 || render("tests/kamailio/tls.cfg", tls) < 0 ||
	    mkdir(run, 0700) < 0)
		return -1;
	kam_pid = fork();
	if (kam_pid < 0)
		return -1;
	if (kam_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);      /* its children die with it (kamailio_stop) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);   /* and with the test, if it is killed */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(KAMAILIO, "kamailio", "-f", cfg, "-DD", "-E", "-m", "48", "-M", "8", "-Y", run, "-P", pid, "-w", certs,
		      (char *)NULL);
		_exit(127);
	}
	setpgid(kam_pid, kam_pid);
	deadline = tchat_now_ms() + tclient_scale_ms(15000);
	while (tchat_now_ms() < deadline) {
		int fd = tcp_connect(kam_port);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(kam_pid, NULL, WNOHANG) == kam_pid) {
			kam_pid = -1;
			break;
		}
		usleep(100000);
	}
	printf("# kamailio did not start; its log is %s\n", log);
	return -1;
}

static void kamailio_stop(void)
{
	long deadline = tchat_now_ms() + 5000;

	if (kam_pid <= 0)
		return;
	kill(-kam_pid, SIGTERM);
	while (tchat_now_ms() < deadline && waitpid(kam_pid, NULL, WNOHANG) == 0)
		usleep(50000);
	kill(-kam_pid, SIGKILL);
	waitpid(kam_pid, NULL, 0);
	kam_pid = -1;
}

/* A direct connection to the front-end listener presenting NAME.crt (NULL:
 * no certificate).  0 when the handshake completed. */
static mbedtls_x509_crt own_crt;
static mbedtls_pk_context own_key;

/* tclient's socket callbacks (static there), for a client with a certificate. */
static int fe_send(void *ctx, const unsigned char *p, size_t len)
{
	struct tclient *t = ctx;
	ssize_t w = send(t->fd, p, len, MSG_NOSIGNAL);

	return w >= 0 ? (int)w : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int fe_recv_timeout(void *ctx, unsigned char *p, size_t len, uint32_t timeout)
{
	struct tclient *t = ctx;
	struct pollfd pfd = { t->fd, POLLIN, 0 };
	int pr = poll(&pfd, 1, timeout ? (int)timeout : -1);
	ssize_t r;

	if (pr == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	if (pr < 0)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	r = recv(t->fd, p, len, 0);
	return r >= 0 ? (int)r : MBEDTLS_ERR_NET_RECV_FAILED;
}

static int fe_connect(struct tclient *t, const char *name)
{
	char crt[320], key[320];
	int r;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_ssl_init(&t->ssl);
	buf_init(&t->in, 4 << 20);
	buf_init(&t->msgbytes, 4 << 20);
	t->limits.max_header_bytes = 1 << 20;
	t->limits.max_headers = SIP_HEADERS_CAP;
	t->limits.max_body_bytes = 2 << 20;
	if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, NULL, 0) != 0 ||
	    mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return -1;
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_read_timeout(&t->conf, (uint32_t)tclient_scale_ms(5000));
	if (name) {
		mbedtls_x509_crt_free(&own_crt);
		mbedtls_pk_free(&own_key);
		mbedtls_x509_crt_init(&own_crt);
		mbedtls_pk_init(&own_key);
		snprintf(crt, sizeof crt, "%s/%s.crt", certs, name);
		snprintf(key, sizeof key, "%s/%s.key", certs, name);
		if (mbedtls_x509_crt_parse_file(&own_crt, crt) != 0 || mbedtls_pk_parse_keyfile(&own_key, key, NULL) != 0 ||
		    mbedtls_ssl_conf_own_cert(&t->conf, &own_crt, &own_key) != 0)
			return -1;
	}
	if (mbedtls_ssl_setup(&t->ssl, &t->conf) != 0 || (t->fd = tcp_connect(fe_port)) < 0)
		return -1;
	mbedtls_ssl_set_bio(&t->ssl, t, fe_send, NULL, fe_recv_timeout);
	while ((r = mbedtls_ssl_handshake(&t->ssl)) != 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			return -1;
	return 0;
}

/* 1 when an OPTIONS over a direct front-end connection gets 200. */
static int fe_options_ok(struct tclient *t)
{
	return tclient_options(t, "fe-options-1", 1) == 0 && tclient_recv(t, 3000) == 1 && t->msg.status == 200;
}

/* Refused: no certificate, a peer not named, a CA not configured. */
static void test_refusals(void)
{
	struct tclient t;
	int ok;

	ok = fe_connect(&t, NULL) == 0 && fe_options_ok(&t);
	tclient_close(&t);
	CHECK(!ok, "fe-2.1 a front-end connection without a client certificate is refused");
	ok = fe_connect(&t, "stranger") == 0 && fe_options_ok(&t);
	tclient_close(&t);
	CHECK(!ok && tserver_log_has(&srv, "event=frontend-refused") && tserver_log_has(&srv, "name=\"stranger.test\""),
	      "fe-2.2 a certificate from the CA naming a peer not in [frontend] peers is refused, logged");
	ok = fe_connect(&t, "rogue") == 0 && fe_options_ok(&t);
	tclient_close(&t);
	CHECK(!ok, "fe-2.3 a certificate naming kamailio.test from a CA not configured is refused");
	ok = fe_connect(&t, "kamailio") == 0 && fe_options_ok(&t);
	tclient_close(&t);
	CHECK(ok, "fe-2.4 the named peer with the configured CA gets 200 to OPTIONS");
}

/* A user over a direct front-end connection: From (no P-Asserted-Identity)
 * or pai speaks for it. */
static int fe_user_open(struct tuser *u, const char *aor)
{
	buf_init(&u->in, 8 << 20);
	if (fe_connect(&u->t, "kamailio") < 0)
		return -1;
	snprintf(u->t.aor, sizeof u->t.aor, "%s", aor);
	return tclient_invite(&u->t, &u->d, CHANNEL) == 200 ? 0 : -1;
}

/* An INVITE with a given Call-ID and From tag asserting pai; the status,
 * with d filled for the dialog. */
static int fe_invite_rr(struct tclient *t, struct tdialog *d, const char *pai, const char *call_id, const char *tag,
                        const char *rr)
{
	static const char sdp[] = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	                          "m=message 5061 sip null\r\na=accept-types:text/plain\r\n";
	char head[1024];

	memset(d, 0, sizeof *d);
	snprintf(d->call_id, sizeof d->call_id, "%s", call_id);
	snprintf(d->local_tag, sizeof d->local_tag, "%s", tag);
	snprintf(d->uri, sizeof d->uri, CHANNEL);
	d->cseq = 1;
	snprintf(head, sizeof head,
	         "INVITE " CHANNEL " SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKsame\r\n"
	         "Record-Route: %s\r\n"
	         "From: <sip:someone@example.org>;tag=%s\r\n"
	         "To: <" CHANNEL ">\r\n"
	         "P-Asserted-Identity: <%s>\r\n"
	         "CSeq: 1 INVITE\r\n"
	         "Call-ID: %s\r\n"
	         "Contact: <sip:127.0.0.1:5555;transport=tls>\r\n"
	         "Content-Type: application/sdp\r\n",
	         rr, tag, pai, call_id);
	if (tclient_send_msg(t, head, sdp, sizeof sdp - 1) < 0 || tclient_recv(t, 3000) != 1)
		return -1;
	if (t->msg.status == 200 && sip_msg_header(&t->msg, "To", 't')) {
		struct sip_str tag2 = sip_header_param(*sip_msg_header(&t->msg, "To", 't'), "tag");

		snprintf(d->remote_tag, sizeof d->remote_tag, "%.*s", (int)tag2.len, tag2.p);
	}
	return t->msg.status;
}

static int fe_invite_as(struct tclient *t, struct tdialog *d, const char *pai, const char *call_id, const char *tag)
{
	return fe_invite_rr(t, d, pai, call_id, tag, "<sip:127.0.0.1:5555;transport=tls;lr>");
}

/* Identical Call-ID and tags from two users stay two dialogs; a dialog
 * outlives its front-end connection. */
static void test_direct(const char *guid)
{
	static struct tuser erin = { .name = "erin" }, frank = { .name = "frank" };
	static struct tuser dave = { .name = "dave" };
	struct tdialog d1, d2;
	struct buf got;
	char out[512];

	CHECK(fe_user_open(&erin, "sip:erin@example.org") == 0, "fe-3.1 a direct front end opens a dialog for From (no PAI)");
	CHECK(tchat_sql_count("SELECT count(*) FROM users WHERE uri='sip:erin@example.org'") == 1,
	      "fe-3.2 the unknown user is created on first sight");
	CHECK(tchat_join(&erin, guid) == 200, "fe-3.3 erin joins through the front end");
	/* The same Call-ID, From tag and branch for two users (pidgin-sipe
	 * seeds its random numbers with the time in seconds). */
	buf_init(&frank.in, 8 << 20);
	CHECK(fe_connect(&frank.t, "kamailio") == 0 &&
	      fe_invite_as(&frank.t, &d1, "sip:frank@example.org", "samecallid", "sametag") == 200 &&
	      fe_invite_as(&frank.t, &d2, "sip:grace@example.org", "samecallid", "sametag") == 200 &&
	      strcmp(d1.remote_tag, d2.remote_tag) != 0,
	      "fe-3.5 two users with the same Call-ID and tags get two dialogs");
	CHECK(tserver_log_has(&srv, "user=sip:frank@example.org role=channel") &&
	      tserver_log_has(&srv, "user=sip:grace@example.org role=channel"),
	      "fe-3.6 each dialog belongs to its asserted user");
	snprintf(frank.t.aor, sizeof frank.t.aor, "sip:frank@example.org");
	tclient_in_dialog(&frank.t, &d1, "ACK", NULL, NULL);
	frank.d = d1;
	CHECK(tchat_join(&frank, guid) == 200, "fe-3.7 frank joins in his dialog");
	/* erin's front-end connection goes; her dialog stays and her fan-out
	 * takes another of the front end's connections. */
	tclient_close(&erin.t);
	usleep(300000);
	CHECK(!tserver_log_has(&srv, "user=sip:erin@example.org reason=\"connection closed\""),
	      "fe-3.8 losing the front-end connection does not end its dialogs");
	/* dave, standalone, posts: erin's copy goes over frank's connection,
	 * the front end's only one left. */
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "dave", "--password-stdin", NULL);
	CHECK(tchat_sign_in(&dave) == 0 && tchat_join(&dave, guid) == 200, "fe-3.9 dave joins standalone");
	CHECK(tchat_post(&dave, guid, "after erin went") == 200, "fe-3.10 dave posts");
	buf_init(&got, 1 << 20);
	for (int i = 0; i < 10 && !tchat_has(&got, "after erin went"); i++)
		if (tclient_wait_info(&frank.t, &erin.d, &got, 1000) < 0)
			break;
	CHECK(tchat_has(&got, "after erin went"),
	      "fe-3.11 erin's fan-out takes the front end's other connection (her dialog lived on)");
	buf_free(&got);
	tchat_sign_out(&dave);
	tchat_sign_out(&frank);
	buf_free(&erin.in);
}

/* A front end that falls behind: its connection's queue reaches the cap
 * (64 x [limits] max_output_bytes).  Standalone, a connection over its cap is
 * cut; this one carries everyone, so the INFOs that do not fit are dropped,
 * their dialogs ended at the next sweep, and the connection lives on. */
static void test_slow_frontend(void)
{
	static struct tuser jack = { .name = "jack" }, dave = { .name = "dave" };
	char text[7900], guid[40];
	int posted = 0, alive = 0;
	long deadline;

	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	/* Its own room: the others' history stays small (Kamailio relays no
	 * message over its tcp_rd_buf_size). */
	tchat_guid_of(tchat_cli("room", "add", "Flood Room", "--privacy", "open", NULL), guid);
	CHECK(fe_user_open(&jack, "sip:jack@example.org") == 0 && tchat_join(&jack, guid) == 200,
	      "fe-10.1 jack joins over a front-end connection, which then stops reading");
	CHECK(tchat_sign_in(&dave) == 0 && tchat_join(&dave, guid) == 200, "fe-10.2 (setup) dave");
	/* 4 MiB of queue plus what the sockets hold: 1,500 posts of 8 kB. */
	deadline = tchat_now_ms() + tclient_scale_ms(60000);
	while (posted < 1500 && tchat_now_ms() < deadline && !tserver_log_has(&srv, "event=frontend-output-full")) {
		for (int i = 0; i < 50; i++)
			posted += tchat_post(&dave, guid, text) == 200;
		tchat_clear(&dave);
	}
	CHECK(tserver_log_has(&srv, "event=frontend-output-full user=sip:jack@example.org"),
	      "fe-10.3 jack's INFOs over the cap are dropped");
	/* The front end reads again: its connection is still there. */
	tclient_options(&jack.t, "slow-alive", 1);
	deadline = tchat_now_ms() + tclient_scale_ms(30000);
	while (!alive && tchat_now_ms() < deadline && tclient_recv(&jack.t, 2000) == 1)
		alive = jack.t.msg.kind == SIP_RESPONSE && sip_msg_header(&jack.t.msg, "Call-ID", 'i') &&
		        sip_str_eq(*sip_msg_header(&jack.t.msg, "Call-ID", 'i'), "slow-alive") && jack.t.msg.status == 200;
	CHECK(alive, "fe-10.4 the front end's connection was not cut");
	tchat_sign_out(&jack);
	tchat_sign_out(&dave);
}

/* The dialog limit is per user on a front end's connection, which carries
 * more dialogs than one standalone connection may. */
static void test_dialog_limit(void)
{
	struct tclient t;
	struct tdialog d;
	char call_id[32];
	int ok = fe_connect(&t, "kamailio") == 0;

	for (int i = 0; ok && i < 16; i++) {
		snprintf(call_id, sizeof call_id, "lou-%d", i);
		ok = fe_invite_as(&t, &d, "sip:lou@example.org", call_id, "loutag") == 200;
	}
	CHECK(ok, "fe-9.1 one user opens 16 dialogs over a front end's connection");
	CHECK(fe_invite_as(&t, &d, "sip:lou@example.org", "lou-16", "loutag") == 403, "fe-9.2 the 17th of that user is refused");
	CHECK(fe_invite_as(&t, &d, "sip:max@example.org", "max-0", "maxtag") == 200,
	      "fe-9.3 another user's dialog on the same connection (its 17th) is accepted");
	tclient_close(&t);
}

/* A user an admin disables loses the dialogs a front end opened for them,
 * and what the front end still sends for them is refused. */
static void test_disable(const char *guid)
{
	static struct tuser ivy = { .name = "ivy" };
	char out[512];
	long deadline;

	CHECK(fe_user_open(&ivy, "sip:ivy@example.org") == 0 && tchat_join(&ivy, guid) == 200,
	      "fe-8.1 ivy joins through a front end");
	tserver_cli(&srv, NULL, out, sizeof out, "user", "disable", "ivy", NULL);
	deadline = tchat_now_ms() + tclient_scale_ms(6000);
	while (tchat_now_ms() < deadline && !tserver_log_has(&srv, "user=sip:ivy@example.org reason=\"user disabled\""))
		usleep(100000);
	CHECK(tserver_log_has(&srv, "user=sip:ivy@example.org reason=\"user disabled\""),
	      "fe-8.2 disabling ivy ends her front-end dialog");
	CHECK(tclient_in_dialog(&ivy.t, &ivy.d, "UPDATE", NULL, NULL) == 403, "fe-8.3 her next request is refused (403)");
	tchat_sign_out(&ivy);
}

/* The test as the front end's listener: accept one connection within ms,
 * handshake as kamailio.test requiring a client certificate from the test
 * CA, and read until needle arrives.  1 if it did; the client's CN into cn. */
static int fe_server_expect(int lfd, const char *needle, int ms, char *got, size_t gotlen, char *cn, size_t cnlen)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	mbedtls_net_context conn = { -1 };
	char path[320];
	struct pollfd pfd = { lfd, POLLIN, 0 };
	struct timeval tv = { 1, 0 };
	size_t len = 0;
	long deadline = tchat_now_ms() + ms;
	int r, found = 0;

	got[0] = cn[0] = '\0';
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	snprintf(path, sizeof path, "%s/kamailio.crt", certs);
	r = mbedtls_x509_crt_parse_file(&crt, path);
	snprintf(path, sizeof path, "%s/kamailio.key", certs);
	r = r || mbedtls_pk_parse_keyfile(&key, path, NULL);
	snprintf(path, sizeof path, "%s/ca.crt", certs);
	r = r || mbedtls_x509_crt_parse_file(&ca, path);
	if (r || mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
	    mbedtls_ssl_conf_own_cert(&conf, &crt, &key) != 0)
		goto out;
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	if (mbedtls_ssl_setup(&ssl, &conf) != 0 || poll(&pfd, 1, ms) != 1 || (conn.fd = accept(lfd, NULL, NULL)) < 0)
		goto out;
	setsockopt(conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	mbedtls_ssl_set_bio(&ssl, &conn, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
		if ((r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) || tchat_now_ms() > deadline)
			goto out;
	if (mbedtls_ssl_get_peer_cert(&ssl))
		mbedtls_x509_dn_gets(cn, cnlen, &mbedtls_ssl_get_peer_cert(&ssl)->subject);
	while (!found && len + 1 < gotlen && tchat_now_ms() < deadline) {
		r = mbedtls_ssl_read(&ssl, (unsigned char *)got + len, gotlen - len - 1);
		if (r > 0) {
			len += (size_t)r;
			got[len] = '\0';
			found = strstr(got, needle) != NULL;
		} else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
			break;
		}
	}
out:
	mbedtls_net_free(&conn);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return found;
}

/* Every front-end connection gone: pchat opens one to the route set's first
 * hop, with its certificate, to deliver a dialog's INFO. */
static void test_outbound(const char *guid)
{
	static struct tuser henry = { .name = "henry" }, dave = { .name = "dave" };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char rr[128], got[65536], cn[256], want[160];

	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0 &&
	           getsockname(lfd, (struct sockaddr *)&a, &alen) == 0, "fe-6.0 (setup) the test's front-end listener"))
		return;
	snprintf(rr, sizeof rr, "<sip:127.0.0.1:%u;transport=tls;lr>", (unsigned)ntohs(a.sin_port));
	buf_init(&henry.in, 8 << 20);
	CHECK(fe_connect(&henry.t, "kamailio") == 0 &&
	      fe_invite_rr(&henry.t, &henry.d, "sip:henry@example.org", "henry-call", "henrytag", rr) == 200,
	      "fe-6.1 henry's dialog, record-routed through the test's listener");
	snprintf(henry.t.aor, sizeof henry.t.aor, "sip:henry@example.org");
	tclient_in_dialog(&henry.t, &henry.d, "ACK", NULL, NULL);
	CHECK(tchat_join(&henry, guid) == 200, "fe-6.2 henry joins");
	tchat_sign_out(&henry);
	usleep(200000);
	CHECK(tchat_sign_in(&dave) == 0 && tchat_join(&dave, guid) == 200 && tchat_post(&dave, guid, "outbound hello") == 200,
	      "fe-6.3 dave posts");
	snprintf(want, sizeof want, "Route: %s", rr);
	CHECK(fe_server_expect(lfd, "outbound hello", tclient_scale_ms(5000), got, sizeof got, cn, sizeof cn) &&
	      strstr(got, "Call-ID: henry-call") && strstr(got, want) && strstr(cn, "CN=pchat.test"),
	      "fe-6.4 pchat connects to the first hop with its certificate and sends henry's INFO with the route set");
	tchat_sign_out(&dave);
	close(lfd);
}

/* A client of Kamailio: connect, REGISTER (answered by Kamailio), open the
 * channel dialog. */
static int kam_open(struct tuser *u)
{
	char aor[128];

	buf_init(&u->in, 8 << 20);
	snprintf(aor, sizeof aor, "sip:%s@example.org", u->name);
	return tclient_connect(&u->t, kam_port) == 0 && tclient_register_plain(&u->t, aor) == 200 &&
	       tclient_invite(&u->t, &u->d, CHANNEL) == 200 ? 0 : -1;
}

static void test_kamailio(const char *guid)
{
	static struct tuser alice = { .name = "alice" }, bob = { .name = "bob" }, carol = { .name = "carol" },
	                   mallory = { .name = "mallory" };
	struct ttoken tk;
	struct thttp h;
	int peers_before = tchat_log_count("event=frontend-peer ");

	CHECK(kam_open(&alice) == 0 && kam_open(&bob) == 0 && kam_open(&carol) == 0,
	      "fe-4.1 three clients open the channel through Kamailio");
	CHECK(tchat_log_count("event=frontend-peer ") == peers_before + 1,
	      "fe-4.2 all three ride Kamailio's one connection to pchat");
	CHECK(tserver_log_has(&srv, "user=sip:carol@example.org role=channel"),
	      "fe-4.3 the dialog is carol's (Kamailio's P-Asserted-Identity)");
	CHECK(tclient_subscribe_provisioning(&alice.t) == 200 && memmem(alice.t.msg.body.p, alice.t.msg.body.len, "persistentChatConfiguration", 27) != NULL,
	      "fe-4.4 the provisioning SUBSCRIBE is answered through Kamailio");
	CHECK(tchat_join(&alice, guid) == 200 && tchat_join(&bob, guid) == 200 && tchat_join(&carol, guid) == 200,
	      "fe-4.5 the three join the room");
	tchat_clear(&bob);
	tchat_clear(&carol);
	CHECK(tchat_post(&alice, guid, "hello through kamailio") == 200, "fe-4.6 alice posts");
	CHECK(tchat_wait_for(&bob, "hello through kamailio", 5000) && tchat_wait_for(&carol, "hello through kamailio", 5000),
	      "fe-4.7 bob and carol receive the fan-out over Kamailio");
	tchat_xccos(&carol, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	            "<bcq><last cnt=\"10\"/></bcq></data></cmd>", guid);
	CHECK(tchat_has(&carol.in, "<rpl id=\"rpl:bccontext\"") && tchat_has(&carol.in, "hello through kamailio") &&
	      tchat_has(&carol.in, "sip:alice@example.org"),
	      "fe-4.8 carol reads the history, the post alice's");
	{
		/* Twelve posts of 7,000 bytes: a reply with all of them would
		 * pass Kamailio's 64 KiB and be lost whole. */
		static char text[7100];
		int ok = 1;

		for (int i = 1; i <= 12 && ok; i++) {
			memset(text, 'a' + i, 7000);
			snprintf(text, sizeof text, "long-%02d ", i);
			text[8] = 'x';
			text[7000] = '\0';
			ok = tchat_post(&alice, guid, text) == 200;
		}
		CHECK(ok && tchat_wait_for(&carol, "long-12 ", 5000), "fe-4.8a alice posts twelve messages of 7,000 bytes");
		tchat_clear(&carol);
		tchat_xccos(&carol, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		            "<bcq><last cnt=\"20\"/></bcq></data></cmd>", guid);
		CHECK(tchat_has(&carol.in, "<rpl id=\"rpl:bccontext\"") && tchat_has(&carol.in, "SUCCESS_OK") &&
		      tchat_has(&carol.in, "long-12 ") && tchat_has(&carol.in, "long-07 "),
		      "fe-4.8b a history reply of 84 kB reaches her through Kamailio, with the newest that fit "
		      "[frontend] max_message_bytes");
		CHECK(carol.in.len < 57344 && !tchat_has(&carol.in, "long-01 ") &&
		      !tchat_has(&carol.in, "hello through kamailio"),
		      "fe-4.8c the oldest that did not fit are left out (she can page back to them)");
	}
	/* 150 open rooms with long descriptions: a search listing them all
	 * would pass what Kamailio relays. */
	CHECK(tchat_sql_exec("WITH RECURSIVE k (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 150)"
	                     " INSERT INTO rooms (guid, name, description, category_id, privacy, created_us)"
	                     " SELECT printf('6f1c2d3e-%04d-4a5b-8c7d-%012d', i, i), printf('Many %03d', i),"
	                     " printf('%.300c', 'd'), (SELECT min(id) FROM categories), 0, 1 FROM k") == 0,
	      "fe-4.8d (setup) 150 open rooms named Many NNN with 300-byte descriptions");
	tchat_clear(&carol);
	tchat_xccos(&carol, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"Many\" "
	            "extended=\"false\"/></data></cmd>");
	CHECK(tchat_has(&carol.in, "<rpl id=\"rpl:chansrch\"") && tchat_has(&carol.in, "SUCCESS_OK") &&
	      tchat_has(&carol.in, "Many 001") && carol.in.len < 57344,
	      "fe-4.8e a room search of 150 long rooms reaches her through Kamailio, cut to what fits");
	CHECK(tchat_sql_exec("DELETE FROM rooms WHERE name LIKE 'Many %'") == 0, "fe-4.8f (cleanup) the rooms go");
	CHECK(tchat_sql_count("SELECT count(*) FROM users WHERE uri IN ('sip:alice@example.org','sip:bob@example.org',"
	                      "'sip:carol@example.org')") == 3,
	      "fe-4.9 the three users exist in the store");
	CHECK(tchat_get_token(&bob, 1, guid, "fe.txt", &tk) == 200 && thttp_put_file(&tk, "front end", 9, &h) == 201,
	      "fe-4.10 bob gets an upload token through Kamailio and uploads");
	thttp_close(&h);
	CHECK(tchat_sql_count("SELECT count(*) FROM files WHERE name='fe.txt' AND uploader='sip:bob@example.org' AND complete=1") == 1,
	      "fe-4.11 the file is bob's (the token carried the asserted user)");
	CHECK(kam_open(&mallory) < 0, "fe-4.12 Kamailio refuses a user not on its allow list");
	tchat_sign_out(&alice);
	tchat_sign_out(&bob);
	tchat_sign_out(&carol);
	tchat_sign_out(&mallory);
}

/* The real client: pidgin-sipe answers Kamailio's 407 with Digest, learns
 * the chat pool from the provisioning pchat answers through Kamailio, and
 * chats with another sipe user over Kamailio's connection to pchat. */
static int run_wrong_password(const struct tserver *front, const char *harness, const char *room)
{
	char script[512];

	snprintf(script, sizeof script, "wait signed-on 15\njoin %s\nwait joined Front Room 10\nquit\n", room);
	return tsipe_finish(tsipe_start(front, harness, "sam-wrong", "sam@example.org", "not-sampw", script));
}

static void test_sipe(const char *guid, const char *harness)
{
	struct tserver front = srv;     /* what tsipe sees as "the server": Kamailio */
	char cmd[1200], script[1024], room[128];
	pid_t tess;
	int rc_sam, rc_tess;

	snprintf(front.dir, sizeof front.dir, "%s/sipe", certs);
	front.port = kam_port;
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/kamailio.crt' '%s/pchat.crt'", front.dir, certs, front.dir);
	if (!CHECK(system(cmd) == 0, "fe-7.0 (setup) the sipe clients trust Kamailio's certificate"))
		return;
	snprintf(room, sizeof room, "ma-chan://example.org/%s", guid);
	snprintf(script, sizeof script,
	         "wait signed-on 30\njoin %s\nwait joined Front Room 30\nwait msg hello from sam 40\nsend tess saw it\nsleep 1\nquit\n",
	         room);
	tess = tsipe_start(&front, harness, "tess", "tess@example.org", "tesspw", script);
	snprintf(script, sizeof script,
	         "wait signed-on 30\njoin %s\nwait joined Front Room 30\nsleep 4\nsend hello from sam\nwait msg tess saw it 30\nquit\n",
	         room);
	rc_sam = tsipe_finish(tsipe_start(&front, harness, "sam", "sam@example.org", "sampw", script));
	rc_tess = tsipe_finish(tess);
	CHECK(rc_sam == 0 && rc_tess == 0,
	      "fe-7.1 two pidgin-sipe clients sign in to Kamailio (Digest), join and chat through it");
	CHECK(tserver_log_has(&srv, "user=sip:sam@example.org role=channel") &&
	      tchat_sql_count("SELECT count(*) FROM users WHERE uri IN ('sip:sam@example.org','sip:tess@example.org')") == 2,
	      "fe-7.2 their dialogs and users are theirs (Kamailio's assertion)");
	CHECK(run_wrong_password(&front, harness, room) != 0, "fe-7.3 a wrong Digest password gets no chat");
}

/* Standalone: no trust in P-Asserted-Identity; created users cannot sign in. */
static void test_standalone(void)
{
	static struct tuser dave = { .name = "dave" };
	struct tclient t;
	char head[1024];
	static const char sdp[] = "v=0\r\n";

	CHECK(tchat_sign_in(&dave) == 0, "fe-5.1 dave signs in standalone");
	snprintf(head, sizeof head,
	         "INVITE " CHANNEL " SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555\r\n"
	         "From: <sip:dave@example.org>;tag=paitest\r\n"
	         "To: <" CHANNEL ">\r\n"
	         "P-Asserted-Identity: <sip:zoe@example.org>\r\n"
	         "CSeq: 1 INVITE\r\n"
	         "Call-ID: standalone-pai\r\n"
	         "Contact: <sip:127.0.0.1:5555;transport=tls>\r\n"
	         "Content-Type: application/sdp\r\n");
	CHECK(tclient_send_msg(&dave.t, head, sdp, sizeof sdp - 1) == 0 && tclient_recv(&dave.t, 3000) == 1 &&
	      dave.t.msg.status == 200 && !tserver_log_has(&srv, "user=sip:zoe@example.org") &&
	      tchat_sql_count("SELECT count(*) FROM users WHERE uri='sip:zoe@example.org'") == 0,
	      "fe-5.2 standalone: P-Asserted-Identity is ignored (the dialog is dave's)");
	tchat_sign_out(&dave);
	CHECK(tclient_connect(&t, srv.port) == 0 && tclient_register(&t, "sip:carol@example.org", NULL, NULL, "pw") != 200,
	      "fe-5.3 a user created by the front end cannot sign in standalone");
	tclient_close(&t);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	const char *harness = argc > 2 ? argv[2] : "build/sipe/sipe-harness";
	char cmd[600], ini[2048], guid[40];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	snprintf(certs, sizeof certs, "/tmp/pchat-fe-XXXXXX");
	if (!CHECK(mkdtemp(certs) != NULL, "fe-0.1 temp folder"))
		return check_done("e2e_frontend");
	snprintf(cmd, sizeof cmd, "sh tests/kamailio/certs.sh %s", certs);
	CHECK(system(cmd) == 0, "fe-0.2 test certificates (openssl)");
	snprintf(ini, sizeof ini,
	         "cert = %s/pchat.crt\nkey = %s/pchat.key\n"
	         "[limits]\nmax_output_bytes = 65536\n"
	         "[frontend]\nlisten = 127.0.0.1:0\nca_file = %s/ca.crt\npeers = pchat-pool.test, kamailio.test\n",
	         certs, certs, certs);
	if (!CHECK(tserver_start(&srv, bin, ini) == 0 && (fe_port = logged_fe_port()) != 0,
	           "fe-1.1 the server starts with a [frontend] listener")) {
		tserver_cleanup(&srv);
		return check_done("e2e_frontend");
	}
	tchat_guid_of(tchat_cli("room", "add", "Front Room", "--privacy", "open", NULL), guid);
	CHECK(strlen(guid) == 36, "fe-1.2 (setup) an open room");
	test_refusals();
	test_direct(guid);
	test_outbound(guid);
	test_disable(guid);
	test_dialog_limit();
	test_slow_frontend();
	if (CHECK(kamailio_start() == 0, "fe-4.0 kamailio starts")) {
		test_kamailio(guid);
		test_sipe(guid, harness);
	}
	kamailio_stop();
	test_standalone();
	CHECK(tserver_stop(&srv) == 0, "fe-9.9 clean stop");
	if (getenv("PCHAT_TEST_KEEP") == NULL)
		tserver_cleanup(&srv);
	mbedtls_x509_crt_free(&own_crt);
	mbedtls_pk_free(&own_key);
	snprintf(cmd, sizeof cmd, "rm -rf %s", certs);
	if (getenv("PCHAT_TEST_KEEP") == NULL && system(cmd) != 0)
		printf("# could not remove %s\n", certs);
	return check_done("e2e_frontend");
}
