/*
 * tclient.c - see tclient.h.
 */
#include "tclient.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static int read_file(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return (int)n;
}

int tserver_log_has(const struct tserver *s, const char *needle)
{
	static char text[1 << 20];

	if (read_file(s->log, text, sizeof text) < 0)
		return 0;
	return strstr(text, needle) != NULL;
}

static int tserver_spawn(struct tserver *s)
{
	static char text[1 << 20];
	long deadline = now_ms() + 15000;

	s->port = 0;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(s->bin, s->bin, "-c", s->ini, "serve", (char *)NULL);
		_exit(127);
	}
	/* The log's last "event=ready port=N" line says where it listens. */
	while (now_ms() < deadline) {
		char *p, *last = NULL;

		if (read_file(s->log, text, sizeof text) > 0) {
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
	fprintf(f, "[server]\ndomain = example.org\nlisten = 127.0.0.1:0\nlog_level = debug\n%s\n",
	        extra_ini ? extra_ini : "");
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
	long deadline = now_ms() + 10000;
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

void tserver_cleanup(struct tserver *s)
{
	char cmd[300];

	if (s->pid > 0)
		tserver_stop(s);
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
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
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
	mbedtls_ssl_conf_read_timeout(&t->conf, 5000);
	if (mbedtls_ssl_setup(&t->ssl, &t->conf) != 0)
		return -1;
	t->fd = tcp_connect(port);
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
	long deadline = now_ms() + timeout_ms;

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
	long deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		int r = tclient_recv(t, (int)(deadline - now_ms()));

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
