/*
 * tclient.c - see tclient.h.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include "tclient.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int tclient_scale_ms(int ms)
{
	static int scale;

	if (scale == 0) {
		const char *e = getenv("PCHAT_TEST_TIME_SCALE");

		scale = e ? atoi(e) : 1;
		if (scale < 1 || scale > 100)
			scale = 1;
	}
	return ms > 0 && ms < INT32_MAX / scale ? ms * scale : ms;
}

/* What is left until deadline, in the unscaled ms tclient_recv takes. */
static int unscaled_left(long deadline)
{
	long left = (deadline - now_ms()) / tclient_scale_ms(1);

	return left > 0 ? (int)left : 1;
}

static int read_file_from(const char *path, long offset, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	if (fseek(f, offset, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return (int)n;
}

static int read_file(const char *path, char *out, size_t outlen)
{
	return read_file_from(path, 0, out, outlen);
}

int tserver_log_has(const struct tserver *s, const char *needle)
{
	static char text[1 << 20];

	if (read_file(s->log, text, sizeof text) < 0)
		return 0;
	return strstr(text, needle) != NULL;
}

/* exec the server: `bin -c ini serve`, or `$PCHAT_TEST_WRAPPER bin -c ini
 * serve` (the wrapper split on spaces: valgrind and its options). */
static void tserver_exec(const char *bin, const char *ini)
{
	static char words[1024];
	const char *wrapper = getenv("PCHAT_TEST_WRAPPER");
	char *argv[40];
	int n = 0;

	if (wrapper && *wrapper) {
		snprintf(words, sizeof words, "%s", wrapper);
		for (char *w = strtok(words, " "); w && n < 34; w = strtok(NULL, " "))
			argv[n++] = w;
	}
	argv[n++] = (char *)bin;
	argv[n++] = "-c";
	argv[n++] = (char *)ini;
	argv[n++] = "serve";
	argv[n] = NULL;
	execvp(argv[0], argv);
}

static int tserver_spawn(struct tserver *s)
{
	static char text[1 << 20];
	long deadline = now_ms() + tclient_scale_ms(15000);
	/* The log is appended to across restarts: only lines after here count. */
	struct stat st;
	long start = stat(s->log, &st) == 0 ? (long)st.st_size : 0;

	s->port = 0;
	fflush(NULL);   /* the child must not repeat our buffered output */
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* If the test itself dies (a crash, a failed assertion's abort), its
		 * server must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		tserver_exec(s->bin, s->ini);
		_exit(127);
	}
	/* The log's last "event=ready port=N" line says where it listens. */
	while (now_ms() < deadline) {
		char *p, *last = NULL;

		if (read_file_from(s->log, start, text, sizeof text) > 0) {
			for (p = strstr(text, "event=ready port="); p; p = strstr(p + 1, "event=ready port="))
				last = p;
			if (last && (s->port = (uint16_t)atoi(last + 17)) != 0)
				return 0;
		}
		if (!tserver_running(s))
			return -1;
		usleep(20000);
	}
	return -1;
}

/* extra_ini into f, line by line.  Under PCHAT_TEST_TIME_SCALE the server's
 * own timeouts are stretched like the client's waits, so a slowed-down
 * server (valgrind) does not cut clients a test expects to keep. */
static void write_extra(FILE *f, const char *extra)
{
	int scale = tclient_scale_ms(1);

	for (const char *p = extra; p && *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		char key[32];
		unsigned v;

		if (scale > 1 && sscanf(p, "%31[a-z_] = %u", key, &v) == 2 &&
		    (strcmp(key, "handshake_timeout") == 0 || strcmp(key, "idle_timeout") == 0 ||
		     strcmp(key, "signin_timeout") == 0))
			fprintf(f, "%s = %u\n", key, v * (unsigned)scale);
		else
			fprintf(f, "%.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

int tserver_start(struct tserver *s, const char *bin, const char *extra_ini)
{
	FILE *f;

	memset(s, 0, sizeof *s);
	snprintf(s->bin, sizeof s->bin, "%s", bin);
	snprintf(s->dir, sizeof s->dir, "/tmp/pchat-test-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->ini, sizeof s->ini, "%s/pchat.ini", s->dir);
	snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
	f = fopen(s->ini, "w");
	if (f == NULL)
		return -1;
	/* The file listener on a free port too (extra_ini may override it), so
	 * servers of tests running side by side never fight over 8443.  Tests add
	 * users with short passwords ("pw"): the password policy is relaxed here
	 * (a suite that tests it sets its own [auth] min_password_length). */
	fprintf(f, "[auth]\nmin_password_length = 1\n[files]\nlisten = 127.0.0.1:0\n[server]\ndomain = example.org\nlisten = 127.0.0.1:0\nlog_level = debug\n");
	write_extra(f, extra_ini);
	fclose(f);
	return tserver_spawn(s);
}

int tserver_restart(struct tserver *s) { return tserver_spawn(s); }

int tserver_running(const struct tserver *s)
{
	return s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == 0;
}

int tserver_stop(struct tserver *s)
{
	long deadline = now_ms() + tclient_scale_ms(10000);
	int status;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	while (now_ms() < deadline) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);

		if (r == s->pid) {
			s->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return -1;
}

void tserver_kill(struct tserver *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void tserver_cleanup(struct tserver *s)
{
	char cmd[1200];
	const char *keep_logs = getenv("PCHAT_TEST_LOGS");

	if (s->pid > 0)
		tserver_stop(s);
	/* tests/run.sh collects every server log; tests/logfmt_check.py then
	 * parses each line as strict logfmt. */
	if (keep_logs != NULL && keep_logs[0] != '\0' && s->log[0] && strchr(keep_logs, '\'') == NULL) {
		snprintf(cmd, sizeof cmd, "cp '%s' '%s/%d-%ld.log' 2>/dev/null", s->log, keep_logs, (int)getpid(), now_ms());
		if (system(cmd) != 0)
			fprintf(stderr, "could not keep %s\n", s->log);
	}
	if (s->dir[0] && strncmp(s->dir, "/tmp/pchat-test-", 16) == 0 && getenv("PCHAT_KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", s->dir);
	}
}

long tserver_rss_kb(const struct tserver *s)
{
	char path[64], text[4096], *p;

	snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
	if (read_file(path, text, sizeof text) < 0 || (p = strstr(text, "VmRSS:")) == NULL)
		return -1;
	return atol(p + 6);
}

int tserver_cli(const struct tserver *s, const char *stdin_text, char *out, size_t outlen, ...)
{
	const char *argv[32];
	int in[2], outp[2], status, n = 0;
	size_t got = 0;
	va_list ap;
	pid_t pid;

	argv[n++] = s->bin;
	argv[n++] = "-c";
	argv[n++] = s->ini;
	va_start(ap, outlen);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(in) < 0 || pipe(outp) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(in[1]);
		close(outp[0]);
		execv(s->bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (stdin_text && write(in[1], stdin_text, strlen(stdin_text)) < 0)
		perror("write");
	close(in[1]);
	for (;;) {
		ssize_t r = read(outp[0], out + got, outlen - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == outlen - 1)
			break;
	}
	out[got] = '\0';
	close(outp[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tcp_connect(uint16_t port)
{
	return tcp_connect_from(port, NULL);
}

int tcp_connect_from(uint16_t port, const char *src)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	if (src && (inet_pton(AF_INET, src, &sin.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)) {
		close(fd);
		return -1;
	}
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int tc_send(void *ctx, const unsigned char *p, size_t len)
{
	struct tclient *t = ctx;
	ssize_t w = send(t->fd, p, len, MSG_NOSIGNAL);

	return w >= 0 ? (int)w : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int tc_recv_timeout(void *ctx, unsigned char *p, size_t len, uint32_t timeout)
{
	struct tclient *t = ctx;
	struct pollfd pfd = { t->fd, POLLIN, 0 };
	ssize_t r;
	int pr = poll(&pfd, 1, timeout ? (int)timeout : -1);

	if (pr == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	if (pr < 0)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	r = recv(t->fd, p, len, 0);
	return r >= 0 ? (int)r : MBEDTLS_ERR_NET_RECV_FAILED;
}

int tclient_connect(struct tclient *t, uint16_t port)
{
	return tclient_connect_from(t, port, NULL);
}

int tclient_connect_from(struct tclient *t, uint16_t port, const char *src)
{
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
	/* The test trusts whatever the server presents; the real-client test
	 * checks the certificate the way sipe does. */
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_read_timeout(&t->conf, (uint32_t)tclient_scale_ms(5000));
	if (mbedtls_ssl_setup(&t->ssl, &t->conf) != 0)
		return -1;
	t->fd = tcp_connect_from(port, src);
	if (t->fd < 0)
		return -1;
	mbedtls_ssl_set_bio(&t->ssl, t, tc_send, NULL, tc_recv_timeout);
	while ((r = mbedtls_ssl_handshake(&t->ssl)) != 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			return -1;
	return 0;
}

void tclient_close(struct tclient *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	mbedtls_ssl_free(&t->ssl);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	buf_free(&t->in);
	buf_free(&t->msgbytes);
}

int tclient_send(struct tclient *t, const void *p, size_t len)
{
	const unsigned char *q = p;

	while (len > 0) {
		int w = mbedtls_ssl_write(&t->ssl, q, len);

		if (w == MBEDTLS_ERR_SSL_WANT_WRITE || w == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (w <= 0)
			return -1;
		q += w;
		len -= (size_t)w;
	}
	return 0;
}

int tclient_sendf(struct tclient *t, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int rc;

	buf_init(&b, 4 << 20);
	va_start(ap, fmt);
	rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = tclient_send(t, buf_head(&b), b.len);
	buf_free(&b);
	return rc;
}

/* Frame one message out of t->in; 1 if one was taken. */
static int tclient_take(struct tclient *t)
{
	size_t skip = sip_skip_crlf((const char *)buf_head(&t->in), t->in.len);
	long used;

	buf_consume(&t->in, skip);
	if (t->in.len == 0)
		return 0;
	used = sip_msg_parse(&t->msg, (const char *)buf_head(&t->in), t->in.len, &t->limits, "SIP/");
	if (used <= 0)
		return used < 0 ? -1 : 0;
	/* Copy it out so t->msg's slices survive further reads into t->in. */
	buf_consume(&t->msgbytes, t->msgbytes.len);
	if (buf_append(&t->msgbytes, buf_head(&t->in), (size_t)used) < 0)
		return -1;
	buf_consume(&t->in, (size_t)used);
	return sip_msg_parse(&t->msg, (const char *)buf_head(&t->msgbytes), t->msgbytes.len,
	                     &t->limits, "SIP/") > 0 ? 1 : -1;
}

int tclient_recv(struct tclient *t, int timeout_ms)
{
	long deadline = now_ms() + tclient_scale_ms(timeout_ms);

	for (;;) {
		int r = tclient_take(t);
		long left;

		if (r != 0)
			return r;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		mbedtls_ssl_conf_read_timeout(&t->conf, (uint32_t)left);
		if (buf_reserve(&t->in, 16384) < 0)
			return -1;
		r = mbedtls_ssl_read(&t->ssl, buf_tail(&t->in), 16384);
		if (r > 0)
			buf_commit(&t->in, (size_t)r);
		else if (r == MBEDTLS_ERR_SSL_TIMEOUT)
			return 0;
		else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			return -1;
	}
}

int tclient_wait_closed(struct tclient *t, int timeout_ms)
{
	long deadline = now_ms() + tclient_scale_ms(timeout_ms);

	while (now_ms() < deadline) {
		int r = tclient_recv(t, unscaled_left(deadline));

		if (r < 0)
			return 1;
		if (r == 0)
			return 0;
	}
	return 0;
}

int tclient_options(struct tclient *t, const char *call_id, unsigned cseq)
{
	return tclient_sendf(t,
	                     "OPTIONS sip:example.org SIP/2.0\r\n"
	                     "Via: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bK%s%u\r\n"
	                     "From: <sip:probe@example.org>;tag=t%u\r\n"
	                     "To: <sip:example.org>\r\n"
	                     "Call-ID: %s\r\n"
	                     "CSeq: %u OPTIONS\r\n"
	                     "Max-Forwards: 70\r\n"
	                     "Content-Length: 0\r\n\r\n",
	                     call_id, cseq, cseq, call_id, cseq);
}

/* ---- signing and NTLM sign-in ---- */

#include <mbedtls/base64.h>

static void hex_random(struct tclient *t, char *out, size_t bytes)
{
	unsigned char r[16];

	mbedtls_ctr_drbg_random(&t->drbg, r, bytes);
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Check the server's Authentication-Info on t->msg. */
static void tclient_check_sig(struct tclient *t)
{
	const struct sip_str *ai = sip_msg_header(&t->msg, "Authentication-Info", 0);
	struct auth_sig_fields f;
	struct sip_str mac;
	char str[4096];
	size_t n;

	if (!t->sa) {
		t->last_sig = ai ? 1 : -1;
		return;
	}
	if (ai == NULL) {
		t->last_sig = -1;
		t->bad_sigs++;
		return;
	}
	sip_msg_sig_fields(&t->msg, &f);
	f.rand = (struct auth_str){ sip_auth_param(*ai, "srand").p, sip_auth_param(*ai, "srand").len };
	f.num = (struct auth_str){ sip_auth_param(*ai, "snum").p, sip_auth_param(*ai, "snum").len };
	f.realm = (struct auth_str){ sip_auth_param(*ai, "realm").p, sip_auth_param(*ai, "realm").len };
	f.targetname = (struct auth_str){ sip_auth_param(*ai, "targetname").p, sip_auth_param(*ai, "targetname").len };
	mac = sip_auth_param(*ai, "rspauth");
	n = auth_sig_string(&f, str, sizeof str);
	t->last_sig = n < sizeof str && auth_check(&t->keys, 1, str, n, mac.p, mac.len) == AUTH_OK;
	if (!t->last_sig)
		t->bad_sigs++;
}

int tclient_send_msg(struct tclient *t, const char *head, const char *body, size_t blen)
{
	struct buf b;
	int rc = -1;

	buf_init(&b, 4 << 20);
	if (buf_appends(&b, head) < 0)
		goto out;
	if (t->sa) {
		static struct sip_msg m;
		struct sip_limits lim = { 1 << 20, SIP_HEADERS_CAP, 0 };
		struct auth_sig_fields f;
		char str[4096], mac[33], crand[9], cnum[12];
		size_t mark = b.len, n;

		if (buf_appends(&b, "Content-Length: 0\r\n\r\n") < 0 ||
		    sip_msg_parse(&m, (const char *)buf_head(&b), b.len, &lim, "SIP/") <= 0)
			goto out;
		hex_random(t, crand, 4);
		snprintf(cnum, sizeof cnum, "%u", ++t->cnum);
		sip_msg_sig_fields(&m, &f);
		f.rand = (struct auth_str){ crand, 8 };
		f.num = (struct auth_str){ cnum, strlen(cnum) };
		f.realm = (struct auth_str){ t->realm, strlen(t->realm) };
		f.targetname = (struct auth_str){ t->targetname, strlen(t->targetname) };
		n = auth_sig_string(&f, str, sizeof str);
		auth_sign(&t->keys, 0, str, n, mac);
		buf_truncate(&b, mark);
		if (buf_printf(&b, "Authorization: NTLM qop=\"auth\", opaque=\"%s\", realm=\"%s\", targetname=\"%s\", "
		                   "crand=\"%s\", cnum=\"%s\", response=\"%s\"\r\n",
		               t->opaque, t->realm, t->targetname, crand, cnum, mac) < 0)
			goto out;
	}
	if (buf_printf(&b, "Content-Length: %zu\r\n\r\n", blen) < 0 || buf_append(&b, body, blen) < 0)
		goto out;
	rc = tclient_send(t, buf_head(&b), b.len);
out:
	buf_free(&b);
	return rc;
}

/* Next message, signature-checked. */
static int tclient_next(struct tclient *t, int timeout_ms)
{
	int r = tclient_recv(t, timeout_ms);

	if (r == 1)
		tclient_check_sig(t);
	return r;
}

static int tclient_register_once(struct tclient *t, const char *auth_line)
{
	char head[2048];
	char tag[9];

	hex_random(t, tag, 4);
	snprintf(head, sizeof head,
	         "REGISTER sip:example.org SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKr%u\r\n"
	         "From: <%s>;tag=%s;epid=0123456789\r\n"
	         "To: <%s>\r\n"
	         "Max-Forwards: 70\r\n"
	         "CSeq: %u REGISTER\r\n"
	         "Call-ID: %s\r\n"
	         "Contact: <sip:127.0.0.1:5555;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE, INFO, BYE\";"
	         "proxy=replace;+sip.instance=\"<urn:uuid:b7878522-d7fe-5c33-b30d-265f6618ae78>\"\r\n"
	         "Supported: gruu-10, adhoclist, msrtc-event-categories\r\n"
	         "Event: registration\r\n"
	         "%s",
	         t->reg_cseq + 1, t->aor, tag, t->aor, t->reg_cseq + 1, t->reg_call_id, auth_line ? auth_line : "");
	t->reg_cseq++;
	if (tclient_send_msg(t, head, "", 0) < 0 || tclient_next(t, 5000) != 1)
		return -1;
	return t->msg.status;
}

int tclient_register_plain(struct tclient *t, const char *aor)
{
	snprintf(t->aor, sizeof t->aor, "%s", aor);
	hex_random(t, t->reg_call_id, 8);
	return tclient_register_once(t, NULL);
}

int tclient_register(struct tclient *t, const char *aor, const char *user, const char *domain,
                     const char *password)
{
	uint8_t challenge[1024], out[2048], nt_hash[16], cc[8], rsk[16];
	unsigned char b64[4096];
	char line[4600];
	struct sip_str www, gss;
	size_t clen, olen, blen;
	int st;

	snprintf(t->aor, sizeof t->aor, "%s", aor);
	hex_random(t, t->reg_call_id, 8);
	t->sa = 0;
	st = tclient_register_once(t, NULL);
	if (st != 401 || sip_msg_header(&t->msg, "WWW-Authenticate", 0) == NULL)
		return st;
	www = *sip_msg_header(&t->msg, "WWW-Authenticate", 0);
	snprintf(t->realm, sizeof t->realm, "%.*s", (int)sip_auth_param(www, "realm").len, sip_auth_param(www, "realm").p);
	snprintf(t->targetname, sizeof t->targetname, "%.*s", (int)sip_auth_param(www, "targetname").len,
	         sip_auth_param(www, "targetname").p);
	snprintf(line, sizeof line, "Authorization: NTLM qop=\"auth\", realm=\"%s\", targetname=\"%s\", gssapi-data=\"\", version=4\r\n",
	         t->realm, t->targetname);
	st = tclient_register_once(t, line);
	if (st != 401 || sip_msg_header(&t->msg, "WWW-Authenticate", 0) == NULL)
		return st;
	www = *sip_msg_header(&t->msg, "WWW-Authenticate", 0);
	gss = sip_auth_param(www, "gssapi-data");
	snprintf(t->opaque, sizeof t->opaque, "%.*s", (int)sip_auth_param(www, "opaque").len, sip_auth_param(www, "opaque").p);
	if (mbedtls_base64_decode(challenge, sizeof challenge, &clen, (const unsigned char *)gss.p, gss.len) != 0)
		return -1;
	mbedtls_ctr_drbg_random(&t->drbg, cc, sizeof cc);
	mbedtls_ctr_drbg_random(&t->drbg, rsk, sizeof rsk);
	if (auth_nt_hash(password, strlen(password), nt_hash) != AUTH_OK ||
	    auth_ntlm_client_authenticate(challenge, clen, user ? user : aor + 4, domain ? domain : "", nt_hash, cc, rsk,
	                                  0, out, sizeof out, &olen, &t->keys) != AUTH_OK ||
	    mbedtls_base64_encode(b64, sizeof b64, &blen, out, olen) != 0)
		return -1;
	snprintf(t->last_gss, sizeof t->last_gss, "%s", (char *)b64);
	/* The third REGISTER is already signed with the new keys (version=4). */
	t->sa = 1;
	t->cnum = 0;
	{
		char head[2048], tag[9], crand[9], mac[33], str[4096];
		static struct sip_msg m;
		struct sip_limits lim = { 1 << 20, SIP_HEADERS_CAP, 0 };
		struct auth_sig_fields f;
		size_t n;
		struct buf b;

		hex_random(t, tag, 4);
		hex_random(t, crand, 4);
		t->reg_cseq++;
		snprintf(head, sizeof head,
		         "REGISTER sip:example.org SIP/2.0\r\n"
		         "Via: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKr%u\r\n"
		         "From: <%s>;tag=%s;epid=0123456789\r\n"
		         "To: <%s>\r\n"
		         "CSeq: %u REGISTER\r\n"
		         "Call-ID: %s\r\n"
		         "Contact: <sip:127.0.0.1:5555;transport=tls>;+sip.instance=\"<urn:uuid:b7878522-d7fe-5c33-b30d-265f6618ae78>\"\r\n"
		         "Content-Length: 0\r\n\r\n",
		         t->reg_cseq, t->aor, tag, t->aor, t->reg_cseq, t->reg_call_id);
		sip_msg_parse(&m, head, strlen(head), &lim, "SIP/");
		sip_msg_sig_fields(&m, &f);
		f.rand = (struct auth_str){ crand, 8 };
		f.num = (struct auth_str){ "1", 1 };
		f.realm = (struct auth_str){ t->realm, strlen(t->realm) };
		f.targetname = (struct auth_str){ t->targetname, strlen(t->targetname) };
		n = auth_sig_string(&f, str, sizeof str);
		auth_sign(&t->keys, 0, str, n, mac);
		t->cnum = 1;
		buf_init(&b, 1 << 16);
		buf_append(&b, head, strlen(head) - 21);        /* drop "Content-Length: 0\r\n\r\n" */
		buf_printf(&b, "Authorization: NTLM qop=\"auth\", opaque=\"%s\", realm=\"%s\", targetname=\"%s\", "
		               "gssapi-data=\"%s\", version=4, crand=\"%s\", cnum=\"1\", response=\"%s\"\r\n"
		               "Content-Length: 0\r\n\r\n",
		           t->opaque, t->realm, t->targetname, (char *)b64, crand, mac);
		n = (size_t)tclient_send(t, buf_head(&b), b.len);
		buf_free(&b);
		if (n != 0 || tclient_next(t, 5000) != 1)
			return -1;
	}
	if (t->msg.status != 200) {
		t->sa = 0;
		return t->msg.status;
	}
	return t->last_sig == 1 ? 200 : -1;
}

int tclient_subscribe_provisioning(struct tclient *t)
{
	char head[1024], callid[17], tag[9];

	hex_random(t, callid, 8);
	hex_random(t, tag, 4);
	snprintf(head, sizeof head,
	         "SUBSCRIBE %s SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bKs\r\n"
	         "From: <%s>;tag=%s;epid=0123456789\r\n"
	         "To: <%s>\r\n"
	         "CSeq: 1 SUBSCRIBE\r\n"
	         "Call-ID: %s\r\n"
	         "Event: vnd-microsoft-provisioning-v2\r\n"
	         "Proxy-Require: ms-benotify\r\n"
	         "Expires: 0\r\n"
	         "Content-Type: application/vnd-microsoft-roaming-provisioning-v2+xml\r\n",
	         t->aor, t->aor, tag, t->aor, callid);
	if (tclient_send_msg(t, head, "<provisioningGroupList/>", 24) < 0 || tclient_next(t, 5000) != 1)
		return -1;
	return t->msg.status;
}

int tclient_invite(struct tclient *t, struct tdialog *d, const char *uri)
{
	static const char sdp[] = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	                          "m=message 5061 sip null\r\na=accept-types:text/plain\r\n";
	char head[1024];

	memset(d, 0, sizeof *d);
	hex_random(t, d->call_id, 8);
	hex_random(t, d->local_tag, 4);
	snprintf(d->uri, sizeof d->uri, "%s", uri);
	d->cseq = 1;
	snprintf(head, sizeof head,
	         "INVITE %s SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555\r\n"
	         "From: <%s>;tag=%s;epid=0123456789\r\n"
	         "To: <%s>\r\n"
	         "CSeq: 1 INVITE\r\n"
	         "Call-ID: %s\r\n"
	         "Supported: ms-sender\r\n"
	         "Contact: <%s;opaque=user:epid:b7878522-d7fe-5c33-b30d-265f6618ae78;gruu>\r\n"
	         "Content-Type: application/sdp\r\n",
	         uri, t->aor, d->local_tag, uri, d->call_id, t->aor);
	if (tclient_send_msg(t, head, sdp, sizeof sdp - 1) < 0 || tclient_next(t, 5000) != 1)
		return -1;
	if (t->msg.status == 200 && sip_msg_header(&t->msg, "To", 't')) {
		struct sip_str tag = sip_header_param(*sip_msg_header(&t->msg, "To", 't'), "tag");

		snprintf(d->remote_tag, sizeof d->remote_tag, "%.*s", (int)tag.len, tag.p);
		tclient_in_dialog(t, d, "ACK", NULL, NULL);
	}
	return t->msg.status;
}

/* Answer a server request with 200 (signed). */
static int tclient_answer(struct tclient *t)
{
	struct buf b;
	const struct sip_msg *m = &t->msg;
	static const char *const copy[] = { "Via", "From", "To", "Call-ID", "CSeq" };
	int rc;

	buf_init(&b, 1 << 16);
	buf_appends(&b, "SIP/2.0 200 OK\r\n");
	for (size_t k = 0; k < 5; k++) {
		const struct sip_str *v = sip_msg_header(m, copy[k], 0);

		if (v)
			buf_printf(&b, "%s: %.*s\r\n", copy[k], (int)v->len, v->p);
	}
	buf_appends(&b, "");
	{
		char head[4096];

		snprintf(head, sizeof head, "%.*s", (int)b.len, (const char *)buf_head(&b));
		rc = tclient_send_msg(t, head, "", 0);
	}
	buf_free(&b);
	return rc;
}

int tclient_in_dialog(struct tclient *t, struct tdialog *d, const char *method, const char *body,
                      struct buf *info)
{
	char head[1024];
	unsigned cseq = strcmp(method, "ACK") == 0 ? 1 : ++d->cseq;
	char cseq_s[16];

	snprintf(cseq_s, sizeof cseq_s, "%u", cseq);
	snprintf(head, sizeof head,
	         "%s %s SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:5555\r\n"
	         "From: <%s>;tag=%s;epid=0123456789\r\n"
	         "To: <%s>;tag=%s\r\n"
	         "CSeq: %u %s\r\n"
	         "Call-ID: %s\r\n"
	         "%s",
	         method, d->uri, t->aor, d->local_tag, d->uri, d->remote_tag, cseq, method, d->call_id,
	         body ? "Content-Type: text/plain\r\n" : "");
	if (tclient_send_msg(t, head, body ? body : "", body ? strlen(body) : 0) < 0)
		return -1;
	if (strcmp(method, "ACK") == 0)
		return 0;
	for (;;) {
		if (tclient_next(t, t->timeout_ms > 0 ? t->timeout_ms : 5000) != 1)
			return -1;
		if (t->msg.kind == SIP_REQUEST) {
			if (info)
				buf_append(info, t->msg.body.p, t->msg.body.len);
			tclient_answer(t);
			continue;
		}
		if (sip_msg_header(&t->msg, "Call-ID", 'i') == NULL || sip_msg_header(&t->msg, "CSeq", 0) == NULL)
			return t->msg.status;    /* an error answer to a request it could not parse */
		if (sip_str_eq(*sip_msg_header(&t->msg, "Call-ID", 'i'), d->call_id)) {
			struct sip_str v = *sip_msg_header(&t->msg, "CSeq", 0);

			if (v.len > strlen(cseq_s) && memcmp(v.p, cseq_s, strlen(cseq_s)) == 0 && v.p[strlen(cseq_s)] == ' ')
				return t->msg.status;
		}
	}
}

int tclient_wait_info(struct tclient *t, struct tdialog *d, struct buf *out, int timeout_ms)
{
	long deadline = now_ms() + tclient_scale_ms(timeout_ms);

	for (;;) {
		long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = tclient_next(t, unscaled_left(deadline));
		if (r != 1)
			return r;
		if (t->msg.kind != SIP_REQUEST || !sip_str_eq(t->msg.method, "INFO"))
			continue;
		tclient_answer(t);
		if (d == NULL || (sip_msg_header(&t->msg, "Call-ID", 'i') &&
		                  sip_str_eq(*sip_msg_header(&t->msg, "Call-ID", 'i'), d->call_id))) {
			buf_append(out, t->msg.body.p, t->msg.body.len);
			return 1;
		}
	}
}
