/*
 * e2e_ops.c - operations end to end: `make install DESTDIR=...` lays out the
 * expected tree and a unit that `systemd-analyze verify` accepts; SIGHUP
 * swaps the certificate for new connections while an open one keeps
 * working, applies live ini keys (seen by a signed-in client), reports the
 * ones that need a restart and refuses a bad ini or a bad pair; `pchat
 * backup` copies a store that is being written to, refuses to overwrite,
 * and the documented restore brings the copy back; `pchat check` finds
 * expired, expiring and mismatched certificates, a broken store and an
 * unusable export folder; upgrades: `pchat --version` is debian/changelog's
 * version, every command but backup refuses a store of an older schema and
 * leaves it alone, `pchat migrate` and serve upgrade it keeping a copy.
 * Run from the repository root (it runs make).
 * Usage: e2e_ops PCHAT_BINARY
 */
#include "check.h"
#include "testutil.h"
#include "tclient.h"
#include "store_fixture.h"

#include "../config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

static const char *bin;
static char binabs[PATH_MAX];
static struct tserver srv;
static char orig_ini[4096];     /* the ini tserver_start wrote */
static unsigned envid = 500;

/* ---- small helpers ---- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* Occurrences of needle in the server log. */
static int log_count(const char *needle)
{
	static char text[1 << 20];
	int n = 0;

	read_text(srv.log, text, sizeof text);
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Wait until the log holds needle at least `times` times. */
static int log_wait(const char *needle, int times, int ms)
{
	long deadline = now_ms() + ms;

	while (log_count(needle) < times) {
		if (now_ms() > deadline)
			return 0;
		usleep(20000);
	}
	return 1;
}

static void hex32(const unsigned char d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* SHA-256 of the certificate the server showed t. */
static int peer_fp(struct tclient *t, char fp[65])
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&t->ssl);
	unsigned char d[32];

	if (crt == NULL)
		return -1;
	mbedtls_sha256_ret(crt->raw.p, crt->raw.len, d, 0);
	hex32(d, fp);
	return 0;
}

static int options_ok(struct tclient *t, unsigned cseq)
{
	return tclient_options(t, "ops-alive", cseq) == 0 && tclient_recv(t, 5000) == 1 && t->msg.status == 200;
}

/* Connect a new client; its view of the server's certificate in fp. */
static int connect_fp(struct tclient *t, char fp[65])
{
	if (tclient_connect(t, srv.port) != 0)
		return -1;
	return peer_fp(t, fp);
}

/* ---- certificates made here, with any validity period ---- */

static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;

static void x509_time(time_t t, char out[15])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static int write_file_mode(const char *path, const unsigned char *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ok = fd >= 0 && write(fd, p, len) == (ssize_t)len;

	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Write a new self-signed ECDSA P-256 pair valid from `from` to `to`; its
 * SHA-256 fingerprint in fp. */
static int make_pair(const char *crt_path, const char *key_path, time_t from, time_t to, char fp[65])
{
	mbedtls_pk_context pk;
	mbedtls_x509write_cert w;
	mbedtls_x509_crt parsed;
	mbedtls_mpi serial;
	unsigned char pem[4096], d[32];
	char a[15], b[15];
	int rc = -1;

	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509_crt_init(&parsed);
	mbedtls_mpi_init(&serial);
	x509_time(from, a);
	x509_time(to, b);
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random, &g_drbg) != 0 ||
	    mbedtls_mpi_fill_random(&serial, 12, mbedtls_ctr_drbg_random, &g_drbg) != 0)
		goto out;
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &pk);
	mbedtls_x509write_crt_set_issuer_key(&w, &pk);
	if (mbedtls_x509write_crt_set_serial(&w, &serial) != 0 ||
	    mbedtls_x509write_crt_set_subject_name(&w, "CN=ops.example.org,O=pchat-test") != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&w, "CN=ops.example.org,O=pchat-test") != 0 ||
	    mbedtls_x509write_crt_set_validity(&w, a, b) != 0)
		goto out;
	if (mbedtls_pk_write_key_pem(&pk, pem, sizeof pem) != 0 ||
	    write_file_mode(key_path, pem, strlen((char *)pem), 0600) != 0)
		goto out;
	if (mbedtls_x509write_crt_pem(&w, pem, sizeof pem, mbedtls_ctr_drbg_random, &g_drbg) != 0 ||
	    write_file_mode(crt_path, pem, strlen((char *)pem), 0644) != 0 ||
	    mbedtls_x509_crt_parse(&parsed, pem, strlen((char *)pem) + 1) != 0)
		goto out;
	mbedtls_sha256_ret(parsed.raw.p, parsed.raw.len, d, 0);
	hex32(d, fp);
	rc = 0;
out:
	mbedtls_mpi_free(&serial);
	mbedtls_x509_crt_free(&parsed);
	mbedtls_x509write_crt_free(&w);
	mbedtls_pk_free(&pk);
	return rc;
}

/* Put a pair in place the way an administrator should: new names, then rename. */
static int install_pair(const char *dir, const char *crt_src, const char *key_src)
{
	char crt[600], key[600];

	snprintf(crt, sizeof crt, "%s/pchat.crt", dir);
	snprintf(key, sizeof key, "%s/pchat.key", dir);
	return rename(key_src, key) == 0 && rename(crt_src, crt) == 0 ? 0 : -1;
}

/* ---- a signed-in chat user on the test server ---- */

struct user {
	struct tclient t;
	struct tdialog d;
	struct buf in;
};

static int has(const struct buf *b, const char *needle)
{
	return b->len && memmem(buf_head(b), b->len, needle, strlen(needle)) != NULL;
}

/* One XCCOS envelope; for a cmd, wait for its rpl.  Returns the SIP status. */
static int xccos(struct user *u, const char *inner)
{
	static char body[8192];
	int status;

	snprintf(body, sizeof body, "<xccos ver=\"1\" envid=\"%u\" xmlns=\"urn:parlano:xml:ns:xccos\">%s</xccos>",
	         ++envid, inner);
	buf_consume(&u->in, u->in.len);
	status = tclient_in_dialog(&u->t, &u->d, "INFO", body, &u->in);
	if (status == 200 && strncmp(inner, "<cmd id=\"cmd:", 13) == 0) {
		char want[80];
		long deadline = now_ms() + 5000;

		snprintf(want, sizeof want, "<rpl id=\"rpl:%.*s\"", (int)strcspn(inner + 13, "\""), inner + 13);
		while (!has(&u->in, want) && now_ms() < deadline)
			if (tclient_wait_info(&u->t, &u->d, &u->in, 1000) < 0)
				break;
	}
	return status;
}

static int sign_in(struct user *u, const char *name)
{
	char aor[128], out[512];

	snprintf(aor, sizeof aor, "sip:%s@example.org", name);
	buf_init(&u->in, 1 << 20);
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", name, "--password-stdin", NULL);
	return tclient_connect(&u->t, srv.port) == 0 &&
	       tclient_register(&u->t, aor, NULL, NULL, "pw") == 200 &&
	       tclient_invite(&u->t, &u->d, "sip:pchat@example.org") == 200 ? 0 : -1;
}

static int post(struct user *u, const char *guid, const char *text)
{
	char inner[2048];

	snprintf(inner, sizeof inner,
	         "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" author=\"sip:ops@example.org\" "
	         "ts=\"2024-01-01T00:00:00Z\"><chat>%s</chat></grpchat>", guid, text);
	return xccos(u, inner);
}

static int server_info_has(struct user *u, const char *needle)
{
	xccos(u, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/></data></cmd>");
	return has(&u->in, needle);
}

/* ---- ops-1: make install ---- */

static int make_install(const char *root, const char *vars)
{
	char out[8192];
	int rc = run(out, sizeof out, "make -s --no-print-directory -o %s install INSTALL_BIN=%s DESTDIR=%s %s", bin, bin,
	             root, vars);

	if (rc != 0)
		printf("#   make install: %s\n", out);
	return rc;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_install(const char *tmp)
{
	char root[600], p[800], text[16384], err[600];
	struct config cfg;
	char *printed = NULL;
	size_t plen = 0;
	FILE *mem;

	snprintf(root, sizeof root, "%s/root", tmp);
	CHECK(make_install(root, "PREFIX=/usr") == 0, "ops-1.1 make install DESTDIR=... PREFIX=/usr succeeds");
	snprintf(p, sizeof p, "%s/usr/sbin/pchat", root);
	CHECK(mode_of(p) == 0755 && run(text, sizeof text, "%s --version", p) == 0 && strncmp(text, "pchat ", 6) == 0,
	      "ops-1.2 usr/sbin/pchat installed 0755 and runs");
	snprintf(p, sizeof p, "%s/usr/share/man/man8/pchat.8", root);
	CHECK(mode_of(p) == 0644, "ops-1.3 man page pchat.8 in usr/share/man/man8");
	snprintf(p, sizeof p, "%s/usr/share/man/man5/pchat.ini.5", root);
	CHECK(mode_of(p) == 0644, "ops-1.4 man page pchat.ini.5 in usr/share/man/man5");
	snprintf(p, sizeof p, "%s/usr/lib/systemd/system/pchat.service", root);
	CHECK(mode_of(p) == 0644 && read_text(p, text, sizeof text) > 0 &&
	      strstr(text, "\nExecStart=/usr/sbin/pchat -c /etc/pchat/pchat.ini serve\n") &&
	      strstr(text, "\nExecReload=/bin/kill -HUP $MAINPID\n") && strstr(text, "\nUser=pchat\n") &&
	      strstr(text, "\nProtectSystem=strict\n") && strstr(text, "\nReadWritePaths=/var/lib/pchat\n") &&
	      strstr(text, "\nNoNewPrivileges=yes\n") && strstr(text, "\nPrivateTmp=yes\n") &&
	      strstr(text, "\nProtectHome=yes\n") && strstr(text, "\nSystemCallFilter=@system-service\n") &&
	      strstr(text, "\nRestart=on-failure\n"),
	      "ops-1.5 unit in usr/lib/systemd/system with the hardening and paths expected");
	snprintf(p, sizeof p, "%s/etc/pchat/pchat.ini", root);
	CHECK(mode_of(p) == 0644 && config_load(&cfg, p, err, sizeof err) == 0, "ops-1.6 etc/pchat/pchat.ini installed and loads");
	CHECK(strcmp(cfg.store_path, "/var/lib/pchat/pchat.db") == 0 && strcmp(cfg.cert, "/var/lib/pchat/pchat.crt") == 0 &&
	      strcmp(cfg.key, "/var/lib/pchat/pchat.key") == 0 && strcmp(cfg.output_dir, "/var/lib/pchat/compliance") == 0,
	      "ops-1.7 installed ini keeps store, cert, key and exports in /var/lib/pchat");
	/* No path may still be relative: it would resolve into /etc/pchat,
	 * which the unit makes read-only. */
	if ((mem = open_memstream(&printed, &plen)) != NULL) {
		config_print(&cfg, mem);
		fclose(mem);
	}
	snprintf(text, sizeof text, "= %s/etc/pchat/", root);
	CHECK(printed != NULL && strstr(printed, text) == NULL, "ops-1.8 no setting of the installed ini points into /etc/pchat");
	free(printed);
	/* Only what a site changes is in /etc; the commented reference is documentation. */
	snprintf(p, sizeof p, "%s/etc/pchat/pchat.ini", root);
	CHECK(read_text(p, text, sizeof text) > 0 && count_char(text, '\n') < 40 && strstr(text, "\ndomain = ") &&
	      strstr(text, "/usr/share/doc/pchat/examples/pchat.ini"),
	      "ops-1.14 the installed ini is short (under 40 lines), names the domain and points to the reference");
	snprintf(p, sizeof p, "%s/usr/share/doc/pchat/examples/pchat.ini", root);
	CHECK(mode_of(p) == 0644 && config_load(&cfg, p, err, sizeof err) == 0 &&
	      strcmp(cfg.store_path, "/var/lib/pchat/pchat.db") == 0 && read_text(p, text, sizeof text) > 0 &&
	      strstr(text, "\nmin_password_length = 8\n") && strstr(text, "\n[limits]\n"),
	      "ops-1.15 the full commented reference in usr/share/doc/pchat/examples loads, with the same paths");
	/* A second install keeps the administrator's ini. */
	snprintf(p, sizeof p, "%s/etc/pchat/pchat.ini", root);
	CHECK(write_text(p, "[server]\ndomain = local.example\n") == 0 && make_install(root, "PREFIX=/usr") == 0 &&
	      read_text(p, text, sizeof text) > 0 && strcmp(text, "[server]\ndomain = local.example\n") == 0,
	      "ops-1.9 make install keeps an existing /etc/pchat/pchat.ini");
	/* The default prefix. */
	snprintf(root, sizeof root, "%s/root2", tmp);
	CHECK(make_install(root, "") == 0, "ops-1.10 make install with the default PREFIX");
	snprintf(p, sizeof p, "%s/usr/local/lib/systemd/system/pchat.service", root);
	CHECK(read_text(p, text, sizeof text) > 0 && strstr(text, "\nExecStart=/usr/local/sbin/pchat -c /etc/pchat/pchat.ini serve\n"),
	      "ops-1.11 PREFIX=/usr/local: unit in /usr/local/lib/systemd/system starts /usr/local/sbin/pchat");
	snprintf(p, sizeof p, "%s/usr/local/sbin/pchat", root);
	CHECK(mode_of(p) == 0755, "ops-1.12 PREFIX=/usr/local: binary in /usr/local/sbin");
	snprintf(p, sizeof p, "%s/usr/local/share/man/man8/pchat.8", root);
	CHECK(mode_of(p) == 0644, "ops-1.13 PREFIX=/usr/local: man page in /usr/local/share/man/man8");
}

/* ---- ops-2: systemd-analyze verify ---- */

static void test_unit_verify(const char *tmp)
{
	char out[8192], vars[2048];

	if (run(NULL, 0, "command -v systemd-analyze") != 0) {
		printf("# systemd-analyze not installed: unit not verified\n");
		return;
	}
	/* Installed with every path inside tmp, so the binary and the man
	 * pages the unit names exist where it says. */
	snprintf(vars, sizeof vars, "PREFIX=%s/v/usr SYSCONFDIR=%s/v/etc STATEDIR=%s/v/var/lib/pchat", tmp, tmp, tmp);
	CHECK(make_install("", vars) == 0, "ops-2.1 install into a private prefix for verification");
	CHECK(run(out, sizeof out, "cd / && MANPATH=%s/v/usr/share/man systemd-analyze verify %s/v/usr/lib/systemd/system/pchat.service",
	          tmp, tmp) == 0 && out[0] == '\0',
	      "ops-2.2 systemd-analyze verify accepts pchat.service");
	if (out[0])
		printf("#   %s\n", out);
}

/* ---- ops-3: reload ---- */

static void write_ini(const char *extra)
{
	char text[8192];

	snprintf(text, sizeof text, "%s\n%s", orig_ini, extra);
	write_text(srv.ini, text);
}

static int reload(int n_reloaded, int n_failed)
{
	kill(srv.pid, SIGHUP);
	return log_wait("event=reloaded ", n_reloaded, 5000) && log_wait("event=reload-failed ", n_failed, 5000) &&
	       log_count("event=reloaded ") == n_reloaded && log_count("event=reload-failed ") == n_failed;
}

static char g_guid[40];

static void test_reload(struct user *alice)
{
	struct tclient a, b, c, d;
	char fp_a[65] = "", fp_new[65] = "", fp[65] = "", want[400], tmpc[600], tmpk[600], out[4096];
	const char *uri;
	time_t now = time(NULL);

	CHECK(connect_fp(&a, fp_a) == 0 && options_ok(&a, 1), "ops-3.1 client A connects and gets 200 to OPTIONS");
	snprintf(want, sizeof want, "event=cert-loaded cert=%s/./pchat.crt sha256=%s", srv.dir, fp_a);
	if (!CHECK(log_count(fp_a) > 0, "ops-3.2 the log shows the fingerprint A saw"))
		printf("#   wanted %s\n", want);
	/* The chat user signs in before the reload: live keys must reach a
	 * client that was already there. */
	CHECK(sign_in(alice, "alice") == 0, "ops-3.3 alice signs in and opens the channel");
	/* Left anonymous, A would meet signin_timeout on a slow run. */
	CHECK(tclient_register(&a, "sip:alice@example.org", NULL, NULL, "pw") == 200, "ops-3.3b A signs in too (as alice)");
	CHECK(server_info_has(alice, "messageSizeLimit=\"8000\""), "ops-3.4 getserverinfo shows the default message size limit");
	uri = tserver_cli(&srv, NULL, out, sizeof out, "room", "add", "Ops", "--privacy", "open", NULL) == 0 ? out : "";
	snprintf(g_guid, sizeof g_guid, "%.36s", strrchr(uri, '/') ? strrchr(uri, '/') + 1 : "none");
	{
		char inner[300];

		snprintf(inner, sizeof inner, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" "
		         "value=\"%s\"/></data></cmd>", g_guid);
		xccos(alice, inner);
		CHECK(has(&alice->in, "<resp code=\"200\""), "ops-3.5 alice joins room Ops");
	}

	/* A new pair in place, live keys and one restart-only key changed. */
	snprintf(tmpc, sizeof tmpc, "%s/new.crt", srv.dir);
	snprintf(tmpk, sizeof tmpk, "%s/new.key", srv.dir);
	CHECK(make_pair(tmpc, tmpk, now - 3600, now + 400L * 86400, fp_new) == 0 && install_pair(srv.dir, tmpc, tmpk) == 0,
	      "ops-3.6 a new certificate and key replace the files");
	write_ini("[chat]\nmax_message_bytes = 500\n[limits]\nidle_timeout = 3000\n[server]\nlisten = 127.0.0.1:1\n");
	CHECK(reload(1, 0), "ops-3.7 SIGHUP: event=reloaded, no failure");
	snprintf(want, sizeof want, "old=%s new=%s", fp_a, fp_new);
	CHECK(log_count("event=cert-reloaded ") == 1 && log_count(want) == 1, "ops-3.8 event=cert-reloaded with the old and new fingerprints");
	CHECK(log_count("event=config-applied key=chat.max_message_bytes old=\"8000\" new=\"500\"") == 1 &&
	      log_count("event=config-applied key=limits.idle_timeout old=\"600\" new=\"3000\"") == 1,
	      "ops-3.9 live keys logged as applied");
	CHECK(log_count("event=config-needs-restart key=server.listen old=\"127.0.0.1:0\" new=\"127.0.0.1:1\"") == 1 &&
	      log_count("event=reloaded applied=2 needs_restart=1") == 1,
	      "ops-3.10 listen reported as needing a restart; counts right");
	CHECK(connect_fp(&b, fp) == 0 && strcmp(fp, fp_new) == 0 && options_ok(&b, 1),
	      "ops-3.11 a new connection gets the new certificate");
	CHECK(options_ok(&a, 2), "ops-3.12 the connection opened before the reload still works (OPTIONS 200)");
	CHECK(server_info_has(alice, "messageSizeLimit=\"500\""), "ops-3.13 the signed-in client sees the new message size limit");
	{
		char big[700];

		memset(big, 'x', 600);
		big[600] = '\0';
		CHECK(post(alice, g_guid, big) == 413 && post(alice, g_guid, "small one") == 200,
		      "ops-3.14 a 600-byte post is refused with 413 after the reload, a small one stored");
	}
	snprintf(want, sizeof want, "event=tls-config-freed sha256=%s", fp_a);
	CHECK(log_count(want) == 0, "ops-3.15 the old TLS config lives while a connection uses it");

	/* Live connection cap: A, B and alice are open, B not signed in.  With 3,
	 * a fourth takes B's place; once all three have signed in, one more is
	 * refused. */
	write_ini("[chat]\nmax_message_bytes = 500\n[limits]\nmax_connections = 3\n");
	CHECK(reload(2, 0), "ops-3.16 SIGHUP with max_connections = 3");
	CHECK(tclient_connect(&c, srv.port) == 0 && log_wait("event=evict reason=max_connections limit=3", 1, 3000) &&
	      tclient_wait_closed(&b, 3000), "ops-3.17 a fourth connection takes the place of B, the one not signed in");
	CHECK(tclient_register(&c, "sip:alice@example.org", NULL, NULL, "pw") == 200 && tclient_connect(&d, srv.port) != 0 &&
	      log_wait("event=refuse reason=max_connections limit=3", 1, 3000),
	      "ops-3.17b with all three signed in, a fourth is refused at once");
	tclient_close(&d);
	tclient_close(&c);
	CHECK(options_ok(&a, 3) && server_info_has(alice, "messageSizeLimit=\"500\""),
	      "ops-3.18 the signed-in connections are untouched");
	tclient_close(&a);
	tclient_close(&b);
	usleep(300000);
	CHECK(log_count(want) == 0, "ops-3.19 the old TLS config stays while alice (connected before the reload) uses it");
	tclient_close(&alice->t);
	buf_free(&alice->in);
	CHECK(log_wait(want, 1, 5000), "ops-3.20 and is freed when its last connection closes");
	{
		char inner[300];

		snprintf(inner, sizeof inner, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" "
		         "value=\"%s\"/></data></cmd>", g_guid);
		CHECK(sign_in(alice, "alice") == 0 && xccos(alice, inner) == 200 && has(&alice->in, "<resp code=\"200\""),
		      "ops-3.21 alice signs in again (new certificate) and rejoins");
	}

	/* Refused reloads change nothing. */
	write_ini("[server]\nbogus = 1\n[chat]\nmax_message_bytes = 900\n");
	CHECK(reload(2, 1) && log_count("event=reload-failed reason=\"") == 1 && log_count("unknown key") == 1,
	      "ops-3.22 a bad ini: event=reload-failed naming the key");
	CHECK(server_info_has(alice, "messageSizeLimit=\"500\""), "ops-3.23 after a bad ini the running settings stay");
	/* The same ini again (no key changes) from here on. */
	write_ini("[chat]\nmax_message_bytes = 500\n[limits]\nmax_connections = 3\n");
	snprintf(tmpc, sizeof tmpc, "%s/other.crt", srv.dir);
	snprintf(tmpk, sizeof tmpk, "%s/other.key", srv.dir);
	snprintf(want, sizeof want, "%s/pchat.crt", srv.dir);
	CHECK(make_pair(tmpc, tmpk, now - 3600, now + 400L * 86400, fp) == 0 && rename(tmpc, want) == 0 && unlink(tmpk) == 0,
	      "ops-3.24 a new certificate beside the old key");
	CHECK(reload(2, 2) && log_count("do not match") == 1, "ops-3.25 mismatched pair refused: event=reload-failed");
	snprintf(tmpc, sizeof tmpc, "%s/old.crt", srv.dir);
	snprintf(tmpk, sizeof tmpk, "%s/old.key", srv.dir);
	CHECK(make_pair(tmpc, tmpk, now - 400L * 86400, now - 86400, fp) == 0 && install_pair(srv.dir, tmpc, tmpk) == 0,
	      "ops-3.26 an expired pair replaces the files");
	CHECK(reload(2, 3) && log_count("outside its validity period") == 1, "ops-3.27 expired pair refused");
	CHECK(connect_fp(&c, fp) == 0 && strcmp(fp, fp_new) == 0 && options_ok(&c, 1),
	      "ops-3.28 after three refused reloads new connections still get the last good certificate");
	tclient_close(&c);
	/* Back to a valid pair for the rest. */
	snprintf(tmpc, sizeof tmpc, "%s/good.crt", srv.dir);
	snprintf(tmpk, sizeof tmpk, "%s/good.key", srv.dir);
	CHECK(make_pair(tmpc, tmpk, now - 3600, now + 400L * 86400, fp) == 0 && install_pair(srv.dir, tmpc, tmpk) == 0 &&
	      reload(3, 3), "ops-3.29 a good pair reloads again");
}

/* ---- ops-4: backup while serving, and restore ---- */

static long sql_long(const char *db, const char *query)
{
	char out[256];

	if (run(out, sizeof out, "sqlite3 -cmd '.timeout 5000' '%s' \"%s\"", db, query) != 0)
		return -1;
	return strtol(out, NULL, 10);
}

static void test_backup(struct user *alice)
{
	char copy[600], out[4096], store[600], text[600], real[PATH_MAX];
	long before, after, in_copy, users_before, users_copy, users_after;
	int posted = 0, rc, status;
	pid_t pid, writer;

	snprintf(copy, sizeof copy, "%s/backup.db", srv.dir);
	snprintf(store, sizeof store, "%s/pchat.db", srv.dir);
	for (int i = 0; i < 150; i++) {
		snprintf(text, sizeof text, "history line %d %0300d", i, i);
		posted += post(alice, g_guid, text) == 200;
	}
	CHECK(posted == 150, "ops-4.1 150 messages posted");
	before = sql_long(store, "SELECT count(*) FROM messages");
	users_before = sql_long(store, "SELECT count(*) FROM users");
	/* Writers while the copy runs: the server (posts) and another process
	 * (the admin CLI adding users). */
	fflush(NULL);
	if ((writer = fork()) == 0) {
		for (int i = 0; i < 15; i++) {
			char cmd[PATH_MAX + 600];

			snprintf(cmd, sizeof cmd, "echo pw | '%s' -c '%s' user add writer%d --password-stdin >/dev/null 2>&1",
			         binabs, srv.ini, i);
			if (system(cmd) != 0)
				_exit(1);
		}
		_exit(0);
	}
	if ((pid = fork()) == 0) {
		int fd = open(strcat(strcpy(text, srv.dir), "/backup.out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(binabs, binabs, "-c", srv.ini, "backup", copy, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof text, "during the backup %d", i);
		posted += post(alice, g_guid, text) == 200;
	}
	waitpid(pid, &status, 0);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	waitpid(writer, &status, 0);
	after = sql_long(store, "SELECT count(*) FROM messages");
	users_after = sql_long(store, "SELECT count(*) FROM users");
	read_text(strcat(strcpy(text, srv.dir), "/backup.out"), out, sizeof out);
	CHECK(rc == 0 && realpath(copy, real) != NULL && strncmp(out, real, strlen(real)) == 0 && out[strlen(real)] == '\n',
	      "ops-4.2 pchat backup while serving exits 0 and prints the copy's path");
	if (rc != 0)
		printf("#   backup said: %s\n", out);
	CHECK(mode_of(copy) == 0600, "ops-4.3 the copy has mode 0600");
	CHECK(run(out, sizeof out, "sqlite3 '%s' 'PRAGMA integrity_check'", copy) == 0 && strcmp(out, "ok\n") == 0,
	      "ops-4.4 PRAGMA integrity_check of the copy: ok");
	CHECK(run(out, sizeof out, "sqlite3 '%s' \"INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')\"", copy) == 0 &&
	      out[0] == '\0', "ops-4.4b the copy's full-text index matches its messages (one point in time)");
	in_copy = sql_long(copy, "SELECT count(*) FROM messages");
	users_copy = sql_long(copy, "SELECT count(*) FROM users");
	CHECK(before >= 151 && in_copy >= before && in_copy <= after && after == before + 40,
	      "ops-4.5 the copy holds every message committed before it started, none beyond the end");
	printf("# messages: %ld before, %ld in the copy, %ld after; users %ld / %ld / %ld\n", before, in_copy, after,
	       users_before, users_copy, users_after);
	CHECK(users_copy >= users_before && users_copy <= users_after && users_after == users_before + 15,
	      "ops-4.6 a concurrent writer in another process: the copy is a consistent point between");
	CHECK(sql_long(copy, "SELECT count(*) FROM messages WHERE text LIKE 'history line 149 %'") == 1,
	      "ops-4.7 the copy holds the messages' text");
	CHECK(run(out, sizeof out, "ls '%s' | grep -c 'backup.db.tmp-'", srv.dir) == 1 && strcmp(out, "0\n") == 0,
	      "ops-4.8 no temporary file left beside the copy");
	{
		struct stat s1, s2;

		stat(copy, &s1);
		CHECK(tserver_cli(&srv, NULL, out, sizeof out, "backup", copy, NULL) == 1 && strstr(out, "already exists") &&
		      stat(copy, &s2) == 0 && s1.st_size == s2.st_size && s1.st_mtime == s2.st_mtime && s1.st_ino == s2.st_ino,
		      "ops-4.9 a second backup to the same file is refused and leaves it alone");
	}
	CHECK(tserver_cli(&srv, NULL, out, sizeof out, "backup", NULL) == 2 &&
	      tserver_cli(&srv, NULL, out, sizeof out, "backup", "/nonexistent-dir/x.db", NULL) == 1,
	      "ops-4.10 backup without FILE is a usage error; an unwritable place an error");

	/* The restore of pchat(8): stop, set the store aside, remove -wal and
	 * -shm, copy the backup over, check, start. */
	CHECK(tserver_stop(&srv) == 0, "ops-4.11 the server stops cleanly (exit 0)");
	CHECK(run(out, sizeof out, "cd '%s' && mv pchat.db pchat.db.broken && rm -f pchat.db-wal pchat.db-shm && "
	                        "cp backup.db pchat.db", srv.dir) == 0 &&
	      tserver_cli(&srv, NULL, out, sizeof out, "check", NULL) == 0, "ops-4.12 restore by the documented steps; check passes");
	CHECK(tserver_restart(&srv) == 0 && sql_long(store, "SELECT count(*) FROM messages") == in_copy,
	      "ops-4.13 the server starts on the restored store, which holds the copy's messages");
	{
		struct tclient t;

		CHECK(tclient_connect(&t, srv.port) == 0 && options_ok(&t, 1), "ops-4.14 and answers");
		tclient_close(&t);
	}
}

/* ---- ops-5: pchat check ---- */

static int check_run(const char *dir, char *out, size_t outlen)
{
	return run(out, outlen, "'%s' -c '%s/pchat.ini' check", binabs, dir);
}

static void test_check(const char *tmp)
{
	char dir[600], crt[700], key[700], out[16384], fp[65];
	time_t now = time(NULL);

	snprintf(dir, sizeof dir, "%s/chk", tmp);
	snprintf(crt, sizeof crt, "%s/pchat.crt", dir);
	snprintf(key, sizeof key, "%s/pchat.key", dir);
	mkdir(dir, 0755);
	write_text(strcat(strcpy(out, dir), "/pchat.ini"), "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n[auth]\nmin_password_length = 1\n");
	CHECK(check_run(dir, out, sizeof out) == 0 && strstr(out, "cert: none yet") && strstr(out, "output_dir: created") &&
	      strstr(out, "check: 0 errors, 0 warnings"),
	      "ops-5.1 check on a fresh folder: no pair yet (generated at start), export folder created, exit 0");
	CHECK(strstr(out, "store: none yet") && access(strcat(strcpy(out, dir), "/pchat.db"), F_OK) < 0 &&
	      run(out, sizeof out, "echo pw | '%s' -c '%s/pchat.ini' user add alice --password-stdin", binabs, dir) == 0,
	      "ops-5.1b check creates no store (it only reads); user add does");
	CHECK(make_pair(crt, key, now - 3600, now + 200L * 86400, fp) == 0 && check_run(dir, out, sizeof out) == 0 &&
	      strstr(out, "cert: ok") && strstr(out, fp) && strstr(out, "days left") && strstr(out, "store: ok") &&
	      strstr(out, "integrity ok") && strstr(out, "output_dir: ok"),
	      "ops-5.2 a valid pair: cert ok with fingerprint and days left, store and export folder ok");
	CHECK(make_pair(crt, key, now - 3600, now + 10L * 86400 - 3600, fp) == 0 && check_run(dir, out, sizeof out) == 0 &&
	      strstr(out, "cert: WARNING") && strstr(out, "expires in 9 days") && strstr(out, "fix: renew"),
	      "ops-5.3 ten days left: a warning with the fix, exit 0");
	CHECK(make_pair(crt, key, now - 90L * 86400, now - 2L * 86400, fp) == 0 && check_run(dir, out, sizeof out) == 1 &&
	      strstr(out, "cert: ERROR") && strstr(out, "expired on") && strstr(out, "fix:") && strstr(out, "check: 1 error,"),
	      "ops-5.4 an expired certificate: error with the fix, exit 1");
	{
		char other_key[720];

		snprintf(other_key, sizeof other_key, "%s/other.key", dir);
		CHECK(make_pair(crt, key, now - 3600, now + 200L * 86400, fp) == 0 &&
		      make_pair(strcat(strcpy(out, dir), "/other.crt"), other_key, now - 3600, now + 200L * 86400, fp) == 0 &&
		      rename(other_key, key) == 0 && check_run(dir, out, sizeof out) == 1 && strstr(out, "do not match") &&
		      strstr(out, "fix: install the key"),
		      "ops-5.5 a key that does not match the certificate: error with the fix, exit 1");
	}
	CHECK(make_pair(crt, key, now - 3600, now + 200L * 86400, fp) == 0 && chmod(key, 0644) == 0 &&
	      check_run(dir, out, sizeof out) == 0 && strstr(out, "key: WARNING") && strstr(out, "chmod 600"),
	      "ops-5.6 a key readable by others: a warning");
	chmod(key, 0600);
	CHECK(unlink(key) == 0 && check_run(dir, out, sizeof out) == 1 && strstr(out, "exists but"),
	      "ops-5.7 a certificate without its key: error, exit 1");
	make_pair(crt, key, now - 3600, now + 200L * 86400, fp);
	snprintf(out, sizeof out, "%s/compliance", dir);
	CHECK(rmdir(out) == 0 && write_text(out, "not a folder\n") == 0 && check_run(dir, out, sizeof out) == 1 &&
	      strstr(out, "output_dir: ERROR") && strstr(out, "is not a folder"),
	      "ops-5.8 an export folder that is a file: error, exit 1");
	snprintf(out, sizeof out, "%s/compliance", dir);
	unlink(out);
	mkdir(out, 0750);
	snprintf(out, sizeof out, "%s/pchat.db", dir);
	{
		/* Damage a page in the middle of the store (not the header). */
		int fd = open(out, O_WRONLY);
		static char junk[4096];

		memset(junk, 0x5a, sizeof junk);
		CHECK(fd >= 0 && pwrite(fd, junk, sizeof junk, 4096 * 3) == (ssize_t)sizeof junk && close(fd) == 0 &&
		      check_run(dir, out, sizeof out) == 1 && strstr(out, "store: ERROR") && strstr(out, "restore"),
		      "ops-5.9 a damaged store: error pointing at the restore, exit 1");
	}
	if (strstr(out, "store: ERROR") == NULL)
		printf("#   check said: %s\n", out);
}

/* ---- ops-8: check refuses what cannot start (issue 14.6) ---- */

/* check in a fresh folder DIR/name holding only an ini with `ini`. */
static int check_ini(const char *tmp, const char *name, const char *ini, char *out, size_t outlen)
{
	char dir[600], path[700];

	snprintf(dir, sizeof dir, "%s/%s", tmp, name);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/pchat.ini", dir);
	write_text(path, ini);
	return check_run(dir, out, outlen);
}

static void test_check_start(const char *tmp)
{
	char out[16384], ini[1200], dir[600], crt[700], key[700], fp[65];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	time_t now = time(NULL);
	int fd;

	CHECK(check_ini(tmp, "c1", "[server]\nlisten = localhost:5061\n", out, sizeof out) == 1 &&
	      strstr(out, "pchat.ini:2: server.listen: \"localhost\" is not a numeric address"),
	      "ops-8.1 a host name as listen address: check names FILE:LINE and says to use an address, exit 1");
	CHECK(check_ini(tmp, "c2", "[server]\nlisten = ::1:5061\n", out, sizeof out) == 1 &&
	      strstr(out, "without brackets: write [::1]:PORT") &&
	      check_ini(tmp, "c2", "[files]\nlisten = [fe80::zz]:8443\n", out, sizeof out) == 1 &&
	      strstr(out, "files.listen: \"fe80::zz\" is not an IPv6 address"),
	      "ops-8.2 an IPv6 listen address without brackets, or malformed: exit 1 with the form to use");
	CHECK(check_ini(tmp, "c3", "[server]\nlisten = 0.0.0.0:9443\n[files]\nlisten = 127.0.0.1:9443\n", out, sizeof out) == 1 &&
	      strstr(out, "are the same port"),
	      "ops-8.3 SIP and files on one port: exit 1");
	/* A port some other program holds. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0 &&
	          getsockname(fd, (struct sockaddr *)&sa, &sl) == 0, "ops-8.4a a port held by the test")) {
		snprintf(ini, sizeof ini, "[server]\nlisten = 127.0.0.1:%u\n[files]\nenabled = false\n", ntohs(sa.sin_port));
		CHECK(check_ini(tmp, "c4", ini, out, sizeof out) == 0 && strstr(out, "listen: WARNING") &&
		      strstr(out, "is in use: a start would fail") && strstr(out, "fix: ss -ltnp"),
		      "ops-8.4 a port already in use: a warning naming it, with how to see who holds it");
	}
	if (fd >= 0)
		close(fd);
	CHECK(check_ini(tmp, "c5", "[server]\nlisten = 192.0.2.1:5061\n[files]\nenabled = false\n", out, sizeof out) == 1 &&
	      strstr(out, "listen: ERROR cannot listen on 192.0.2.1:5061"),
	      "ops-8.5 an address that is not on this host: error, exit 1");
	/* A store folder the service user cannot write (0555).  Root writes
	 * anywhere, so as root check runs without the capabilities that
	 * override file modes (still uid 0: the folders above stay open to it). */
	snprintf(dir, sizeof dir, "%s/c6", tmp);
	mkdir(dir, 0755);
	snprintf(ini, sizeof ini, "%s/ro", dir);
	mkdir(ini, 0555);
	chmod(ini, 0555);
	snprintf(ini, sizeof ini, "%s/pchat.ini", dir);
	write_text(ini, "[server]\nlisten = 127.0.0.1:0\n[store]\npath = ro/pchat.db\n[files]\nenabled = false\n");
	CHECK(run(out, sizeof out, "%s'%s' -c '%s/pchat.ini' check",
	          geteuid() == 0 ? "setpriv --bounding-set=-dac_override,-dac_read_search " : "", binabs, dir) == 1 &&
	      strstr(out, "store: ERROR the store's folder") && strstr(out, "/ro is not writable") && strstr(out, "fix: chown"),
	      "ops-8.6 a store folder the service user cannot write: error with the chown, exit 1");
	CHECK(check_ini(tmp, "c7", "[server]\nlisten = 0.0.0.0:0\n[files]\nenabled = false\n", out, sizeof out) == 0 &&
	      strstr(out, "domain: WARNING [server] domain is still the placeholder example.org") &&
	      check_ini(tmp, "c7", "[server]\nlisten = 0.0.0.0:0\ndomain = corp.test\n[files]\nenabled = false\n", out, sizeof out) == 0 &&
	      !strstr(out, "domain: WARNING"),
	      "ops-8.7 the placeholder domain where clients can reach: a warning (not on the loopback)");
	/* A certificate for another domain. */
	snprintf(dir, sizeof dir, "%s/c8", tmp);
	snprintf(crt, sizeof crt, "%s/pchat.crt", dir);
	snprintf(key, sizeof key, "%s/pchat.key", dir);
	mkdir(dir, 0755);
	CHECK(make_pair(crt, key, now - 3600, now + 200L * 86400, fp) == 0 &&
	      check_ini(tmp, "c8", "[server]\nlisten = 127.0.0.1:0\ndomain = corp.test\n[files]\nenabled = false\n", out, sizeof out) == 1 &&
	      strstr(out, "cert: ERROR") && strstr(out, "names ops.example.org, neither corp.test nor a host under it") &&
	      check_ini(tmp, "c8", "[server]\nlisten = 127.0.0.1:0\ndomain = example.org\n[files]\nenabled = false\n", out, sizeof out) == 0 &&
	      strstr(out, "cert: ok"),
	      "ops-8.8 a certificate whose names do not cover the domain: error (a host under the domain is fine)");
	/* serve refuses an expired pair, as reload does. */
	CHECK(make_pair(crt, key, now - 90L * 86400, now - 2L * 86400, fp) == 0 &&
	      run(out, sizeof out, "cd '%s' && timeout 20 '%s' -c pchat.ini serve", dir, binabs) == 1 &&
	      strstr(out, "event=tls-init") && strstr(out, "expired on") && strstr(out, "not starting"),
	      "ops-8.9 serve refuses an expired certificate (as reload does), exit 1");
}

/* ---- ops-7: the reload rules of config.c, directly ---- */

struct change_log {
	char text[2048];
};

static void note_change(void *arg, const char *section, const char *name, const char *old, const char *new, int live)
{
	struct change_log *l = arg;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof l->text - n, "%s.%s:%s->%s:%s;", section, name, old, new, live ? "live" : "restart");
}

static void test_reload_rules(void)
{
	static struct config cur, next, before;
	struct change_log log = { "" };
	char err[600];

	config_load_string(&cur, "", "cur.ini", "/srv", err, sizeof err);
	CHECK(config_load_string(&next, "[server]\nlisten = 0.0.0.0:5062\nlog_level = debug\n[limits]\nidle_timeout = 60\n"
	                         "max_header_bytes = 512\n", "next.ini", "/srv", err, sizeof err) == 0,
	      "ops-7.1 a changed ini loads");
	config_each_change(&cur, &next, note_change, &log);
	CHECK(strcmp(log.text, "server.listen:0.0.0.0:5061->0.0.0.0:5062:restart;server.log_level:info->debug:live;"
	                       "limits.max_header_bytes:16384->512:restart;limits.idle_timeout:600->60:live;") == 0,
	      "ops-7.2 each change reported once, live or needing a restart");
	if (strstr(log.text, "listen") == NULL || strstr(log.text, "idle_timeout") == NULL)
		printf("#   changes: %s\n", log.text);
	CHECK(config_apply_live(&cur, &next, err, sizeof err) == 0 && cur.idle_timeout == 60 &&
	      strcmp(cur.log_level, "debug") == 0 && strcmp(cur.listen, "0.0.0.0:5061") == 0 && cur.max_header_bytes == 16384,
	      "ops-7.3 apply copies the live keys and keeps the running value of the others");
	/* Valid alone, but not beside the running SIP caps (16384 + 65536). */
	CHECK(config_load_string(&next, "[limits]\nmax_header_bytes = 512\nmax_body_bytes = 1024\nmax_input_bytes = 2048\n",
	                         "next.ini", "/srv", err, sizeof err) == 0, "ops-7.4 small caps load on their own");
	before = cur;
	CHECK(config_apply_live(&cur, &next, err, sizeof err) < 0 && strstr(err, "max_input_bytes") &&
	      memcmp(&before, &cur, sizeof cur) == 0,
	      "ops-7.5 a mix that does not validate is refused and changes nothing");
}

/* ---- ops-9: upgrades (issue 14.8) ---- */

/* The whole file into out (binary); its length, or -1. */
static long read_bytes(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(out, 1, outlen, f) : 0;
	int more = f && fgetc(f) != EOF;

	if (f)
		fclose(f);
	return f && !more ? (long)n : -1;
}

/* The files beside the store whose names start with pchat.db.pre-v. */
static int copies_in(const char *dir)
{
	char out[64];

	if (run(out, sizeof out, "ls '%s' | grep -c '^pchat.db.pre-v[0-9]*-[0-9]\\{8\\}T[0-9]\\{6\\}Z$'", dir) > 1)
		return -1;
	return atoi(out);
}

static void test_version(void)
{
	char out[512], changelog[512], man[512], want[600], version[64] = "";

	read_text("debian/changelog", changelog, sizeof changelog);
	sscanf(changelog, "pchat (%63[^)])", version);
	snprintf(want, sizeof want, "pchat %s (store schema v%d)\n", version, STORE_SCHEMA_VERSION);
	CHECK(version[0] != '\0' && strcmp(version, "0.1") != 0 && run(out, sizeof out, "'%s' --version", binabs) == 0 &&
	      strcmp(out, want) == 0, "ops-9.1 --version prints debian/changelog's version and the schema version");
	if (strcmp(out, want) != 0)
		printf("#   --version said: %s#   wanted: %s", out, want);
	read_text("man/pchat.8", man, sizeof man);
	snprintf(want, sizeof want, "\"pchat %s\"", version);
	CHECK(strstr(man, want) != NULL, "ops-9.2 pchat(8)'s title names the same version");
}

static void test_upgrade(const char *tmp)
{
	static char before[1 << 20], after[1 << 20];
	static const char *const refusers[] = { "check", "user list", "category list", "room list", "search Lobby figures",
	                                        "file list Lobby", "export", "verify" };
	char dir[600], db[700], crt[700], key[700], copy[700], out[16384], fp[65], want[1200], *p;
	const char *what = "";
	const int old = STORE_SCHEMA_VERSION - 1;
	time_t now = time(NULL);
	long n_before, n_after;
	int all, rc;

	snprintf(dir, sizeof dir, "%s/upg", tmp);
	snprintf(db, sizeof db, "%s/pchat.db", dir);
	snprintf(crt, sizeof crt, "%s/pchat.crt", dir);
	snprintf(key, sizeof key, "%s/pchat.key", dir);
	mkdir(dir, 0755);
	write_text(strcat(strcpy(out, dir), "/pchat.ini"), "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n");
	CHECK(make_pair(crt, key, now - 3600, now + 200L * 86400, fp) == 0 && fixture_make(db, old, out, sizeof out) == STORE_OK &&
	      fixture_has(db, old, old, &what), "ops-9.3 a store as the previous schema left it, with rows");
	n_before = read_bytes(db, before, sizeof before);

	snprintf(want, sizeof want, "the store is schema v%d, this pchat needs v%d: run `pchat migrate` (a copy is kept) or "
	         "start the service", old, STORE_SCHEMA_VERSION);
	rc = check_run(dir, out, sizeof out);
	CHECK(rc == 1 && strstr(out, "store: ERROR") && strstr(out, want) && strstr(out, "fix: pchat migrate"),
	      "ops-9.4 check on an older store: error with the message and the fix, exit 1");
	if (!strstr(out, want))
		printf("#   check said: %s\n", out);
	n_after = read_bytes(db, after, sizeof after);
	CHECK(n_before > 0 && n_after == n_before && memcmp(before, after, (size_t)n_before) == 0 && copies_in(dir) == 0 &&
	      fixture_int(db, "PRAGMA user_version") == old, "ops-9.5 check left the store byte for byte as it was, no copy");
	all = 1;
	for (size_t i = 0; i < sizeof refusers / sizeof refusers[0]; i++) {
		rc = run(out, sizeof out, "'%s' -c '%s/pchat.ini' %s", binabs, dir, refusers[i]);
		if (rc != 1 || strstr(out, want) == NULL) {
			printf("#   %s: exit %d: %s\n", refusers[i], rc, out);
			all = 0;
		}
	}
	n_after = read_bytes(db, after, sizeof after);
	CHECK(all && n_after == n_before && memcmp(before, after, (size_t)n_before) == 0 && copies_in(dir) == 0,
	      "ops-9.6 user, category, room, search, file, export, verify refuse it with the message and change nothing");

	snprintf(copy, sizeof copy, "%s/before-upgrade.db", dir);
	rc = run(out, sizeof out, "'%s' -c '%s/pchat.ini' backup '%s'", binabs, dir, copy);
	n_after = read_bytes(db, after, sizeof after);
	CHECK(rc == 0 && fixture_int(copy, "PRAGMA user_version") == old && fixture_has(copy, old, old, &what) &&
	      n_after == n_before && memcmp(before, after, (size_t)n_before) == 0,
	      "ops-9.7 backup copies the older store as it is and leaves it alone");

	rc = run(out, sizeof out, "'%s' -c '%s/pchat.ini' migrate", binabs, dir);
	snprintf(want, sizeof want, "migrated from schema v%d to v%d; the copy from before is %s.pre-v%d-", old,
	         STORE_SCHEMA_VERSION, db, STORE_SCHEMA_VERSION);
	CHECK(rc == 0 && strstr(out, want), "ops-9.8 pchat migrate: exit 0, says from, to and the copy");
	if (rc != 0 || !strstr(out, want))
		printf("#   migrate said: %s\n", out);
	snprintf(want, sizeof want, "level=info event=store-migrate store=%s from=%d to=%d what=\"", db, old,
	         STORE_SCHEMA_VERSION);
	CHECK(strstr(out, "level=info event=store-backup") && strstr(out, want),
	      "ops-9.9 it logs the copy and the step (event=store-migrate from to what)");
	p = strstr(out, "the copy from before is ");
	snprintf(copy, sizeof copy, "%.*s", p ? (int)strcspn(p + 24, "\n") : 0, p ? p + 24 : "");
	CHECK(copies_in(dir) == 1 && mode_of(copy) == 0600 && fixture_int(copy, "PRAGMA user_version") == old &&
	      fixture_has(copy, old, old, &what), "ops-9.10 the copy beside the store: mode 0600, the old version, every row");
	CHECK(fixture_int(db, "PRAGMA user_version") == STORE_SCHEMA_VERSION && fixture_has(db, old, STORE_SCHEMA_VERSION, &what),
	      "ops-9.11 the store is at the current version with every row");
	rc = check_run(dir, out, sizeof out);
	snprintf(want, sizeof want, "schema version %d, integrity ok", STORE_SCHEMA_VERSION);
	CHECK(rc == 0 && strstr(out, "store: ok") && strstr(out, want), "ops-9.12 check passes after the migration");
	if (rc != 0)
		printf("#   check said: %s\n", out);
	CHECK(run(out, sizeof out, "'%s' -c '%s/pchat.ini' migrate", binabs, dir) == 0 && strstr(out, "nothing to migrate") &&
	      copies_in(dir) == 1, "ops-9.13 migrate again: nothing to do, no second copy");
}

/* The service upgrades the store it starts on (srv is stopped). */
static void test_serve_upgrades(void)
{
	char db[400], want[800], out[256];
	const char *what = "";
	const int from = 2;

	snprintf(db, sizeof db, "%s/pchat.db", srv.dir);
	CHECK(run(out, sizeof out, "cd '%s' && rm -f pchat.db pchat.db-wal pchat.db-shm pchat.db.pre-v*", srv.dir) == 0 &&
	      fixture_make(db, from, out, sizeof out) == STORE_OK, "ops-9.14 the server's store replaced by a v2 store");
	CHECK(tserver_restart(&srv) == 0, "ops-9.15 the server starts on it");
	for (int k = from; k < STORE_SCHEMA_VERSION; k++) {
		snprintf(want, sizeof want, "event=store-migrate store=%s from=%d to=%d what=", db, k, k + 1);
		if (!CHECK(log_count(want) == 1, "ops-9.16 serve logs each step once"))
			printf("#   missing: %s\n", want);
	}
	CHECK(log_count("event=store-backup") == 1 && copies_in(srv.dir) == 1, "ops-9.17 serve kept one copy first");
	CHECK(fixture_int(db, "PRAGMA user_version") == STORE_SCHEMA_VERSION && fixture_has(db, from, STORE_SCHEMA_VERSION, &what),
	      "ops-9.18 the served store is current with every row");
}

int main(int argc, char **argv)
{
	static struct user alice;
	char tmp[] = "/tmp/pchat-ops-XXXXXX", cmd[100];

	signal(SIGPIPE, SIG_IGN);
	bin = argc > 1 ? argv[1] : "./pchat";
	if (realpath(bin, binabs) == NULL || mkdtemp(tmp) == NULL) {
		CHECK(0, "ops-0.0 binary and a temp folder");
		return check_done("e2e_ops");
	}
	/* make runs from here; the outer make's flags must not reach it. */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	mbedtls_entropy_init(&g_entropy);
	mbedtls_ctr_drbg_init(&g_drbg);
	mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy, (const unsigned char *)"ops", 3);

	test_reload_rules();
	test_install(tmp);
	test_unit_verify(tmp);
	test_check(tmp);
	test_check_start(tmp);
	test_version();
	test_upgrade(tmp);

	if (CHECK(tserver_start(&srv, binabs, "[files]\nlisten = 127.0.0.1:0\n") == 0, "ops-3.0 server starts")) {
		read_text(srv.ini, orig_ini, sizeof orig_ini);
		test_reload(&alice);
		test_backup(&alice);
		tclient_close(&alice.t);
		buf_free(&alice.in);
		if (CHECK(tserver_stop(&srv) == 0, "ops-9.0 the server stops before its store is replaced"))
			test_serve_upgrades();
		CHECK(tserver_stop(&srv) == 0, "ops-6.1 the server stops cleanly at the end (exit 0: no leak under ASan)");
	}
	tserver_cleanup(&srv);
	mbedtls_ctr_drbg_free(&g_drbg);
	mbedtls_entropy_free(&g_entropy);
	if (getenv("PCHAT_KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmp);
	}
	return check_done("e2e_ops");
}
