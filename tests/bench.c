/*
 * bench.c - pchat-bench: the load generator and its scenarios.
 *
 * Each scenario starts its own ./pchat on a temp folder (users and rooms are
 * written straight into the temp store through store.h before the server
 * starts, which is much faster than the CLI for thousands of users), drives
 * it with the clients of bench_client.c, and reads the server's CPU time and
 * memory from /proc.  The raw limits (bench_raw.c) run in the same run, on
 * the same certificate, with the same client code, so the ratios compare
 * like with like on a noisy shared machine.
 *
 *   fanout     N clients in R rooms of M: every client keeps `window` posts
 *              in flight; delivered messages per second (wall and per second
 *              of server CPU), post-to-delivery latency; then the raw writer
 *              sends the same number of records of the same size over the
 *              same number of TLS connections (coalesced, and one write per
 *              record), and the ratio is reported
 *   frontend   the fanout window again, but every client's dialog carried
 *              over one mutual-TLS connection to pchat's [frontend] listener
 *              (as Kamailio or a Lync Front End pool carries its users; see
 *              bench_fe.c); next to fanout's figure when both run
 *   latency    the same clients posting at a fixed rate (default: half the
 *              target load), latency p50/p99/max
 *   handshake  a burst of new TLS connections against pchat and against a
 *              bare mbedTLS server with pchat's certificate and curves
 *   idle       many idle TLS connections: server RSS per connection; and the
 *              idle server's RSS
 *   bccontext  a room with 1,000,000 stored messages, "last 25" latency
 *   export     compliance export of N events (pchat export --now), when the
 *              binary has it
 *
 * Output: progress on stderr, a table of medians and one JSON line per
 * scenario and run on stdout.
 */
#include "bench.h"
#include "tchat.h"
#include "tsoap.h"
#include "tclient.h"
#include "../store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time, histograms ---- */

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double self_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t hist_index(int64_t v)
{
	int e;
	size_t idx;

	if (v < 2048)
		return v < 0 ? 0 : (size_t)v;
	e = 63 - __builtin_clzll((unsigned long long)v);
	idx = 2048 + (size_t)(e - 11) * 1024 + (size_t)((v >> (e - 10)) & 1023);
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static int64_t hist_value(size_t idx)
{
	size_t e, mant;

	if (idx < 2048)
		return (int64_t)idx;
	e = (idx - 2048) / 1024 + 11;
	mant = (idx - 2048) % 1024;
	return ((int64_t)(1024 + mant) << (e - 10)) + (((int64_t)1 << (e - 10)) / 2);
}

void hist_reset(struct hist *h) { memset(h, 0, sizeof *h); }

void hist_add(struct hist *h, int64_t ns)
{
	h->b[hist_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

int64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_value(i) < h->max ? hist_value(i) : h->max;
	}
	return h->max;
}

static double ms(int64_t ns) { return (double)ns / 1e6; }

/* ---- options ---- */

struct opts {
	const char *pchat;
	const char *scenario;
	size_t clients, rooms, members;
	double duration;            /* seconds of each measured window */
	double warmup;
	double rate;                /* posts/s for the latency window; 0 = half the target load */
	double sweep[16];           /* capacity: offered delivered/s, ascending */
	size_t nsweep;
	unsigned window;
	int runs;
	int json_only;
	int no_ack;
	size_t handshakes, hs_concurrency;
	size_t idle_conns[4];
	size_t nidle;
	long messages;              /* bccontext fill */
	int bcc_requests;
	long events;                /* export fill */
	long export_backlog;        /* chat scenarios: compliance events waiting when the server starts */
	int text_pad;
	size_t slow;                /* fanout: clients that stop reading when the window starts */
	size_t storm;               /* latency: clients that sign in during the window */
	int private_rooms;          /* --private: closed rooms, each client a member of its rooms */
	int auditorium;             /* --auditorium: each room's first seat presents, only presenters post */
	size_t churn;               /* latency: clients that part and rejoin their room during the window */
	double churn_rate;          /* their parts and joins per second, all together */
	size_t file_mb;             /* files: the size of the file moved */
	size_t file_clients;        /* files: downloads of it at once, in the parallel phase (0: none) */
	double storm_rate;          /* their sign-ins started per second */
	int skip_raw;
	const char *perf;           /* folder for perf record data, or NULL */
};

static struct opts opt = {
	.pchat = "./pchat",
	.scenario = "default",
	.clients = 1000,
	.rooms = 10,
	.members = 100,
	.duration = 10,
	.warmup = 2,
	.sweep = { 25000, 50000, 75000, 100000, 125000, 150000 },
	.nsweep = 6,
	.window = 1,
	.storm_rate = 100,
	.file_clients = 4,
	.churn_rate = 20,
	.runs = 1,
	.handshakes = 1000,
	.hs_concurrency = 128,
	.idle_conns = { 2000 },
	.nidle = 1,
	.messages = 1000000,
	.bcc_requests = 2000,
	.events = 200000,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: pchat-bench [options]\n"
	        "  --scenario NAME[,NAME...]  default (fanout+latency+handshake+idle, about a minute), all,\n"
	        "                    fanout, latency, capacity, handshake, idle, bccontext, export, frontend\n"
	        "                    (frontend: the fanout load with every client over ONE mutual-TLS\n"
	        "                    connection to pchat's [frontend] listener, as a SIP front end carries its\n"
	        "                    users; needs openssl and tests/kamailio/certs.sh, so run from the source\n"
	        "                    tree; `--scenario fanout,frontend` puts the two side by side)\n"
	        "  --pchat PATH      server binary (default ./pchat)\n"
	        "  --clients N       chat clients (default 1000)\n"
	        "  --rooms R         rooms (default 10)\n"
	        "  --members M       members per room (default 100; clients join several rooms when R*M > N)\n"
	        "  --duration S      seconds per measured window (default 10)\n"
	        "  --rate R          posts per second in the latency window (default: 75000/M, half the\n"
	        "                    150,000 delivered/s target)\n"
	        "  --sweep R,R,...   capacity: offered delivered msgs/s per step, ascending (default\n"
	        "                    25000,50000,75000,100000,125000,150000); the headline is the highest\n"
	        "                    step delivered in full with p99 <= 5 ms\n"
	        "  --window W        posts each client keeps in flight in the fanout window (default 1)\n"
	        "  --no-ack          do not answer server INFOs (sipe does; default answers them)\n"
	        "  --pad N           extra bytes of text per post (default 0)\n"
	        "  --file-mb N       files: the file's size in MiB (default 32, at most 40: the test\n"
	        "                    client holds a whole answer in memory, up to 48 MiB)\n"
	        "  --file-clients K  files: then K downloads of the file at once, one process each\n"
	        "                    (default 4; 1 skips that phase)\n"
	        "  --slow N          fanout: N clients, spread over the rooms, stop reading as the window\n"
	        "                    starts (slow readers); the others' figures and how many the\n"
	        "                    server's output cap closed (slow_cut) are reported\n"
	        "  --storm K         latency: K more clients sign in (TLS, NTLM, INVITE, join a room)\n"
	        "                    while the window is measured, --storm-rate per second (default 100)\n"
	        "  --private         chat scenarios: the rooms are closed and each client holds the member\n"
	        "                    role in its rooms (default: open rooms)\n"
	        "  --auditorium      chat scenarios: the rooms are auditoriums; each room's first member is\n"
	        "                    its presenter and only presenters post (fanout: each keeps --window x\n"
	        "                    clients/rooms posts in flight, so as many are queued as without it)\n"
	        "  --churn K         latency: K more clients, in the rooms from the start, part their room\n"
	        "                    and join it again during the window, --churn-rate of those per second\n"
	        "                    in all (default 20); the replies are timed (churn_p99_ms)\n"
	        "  --handshakes N    connections in the handshake burst (default 1000)\n"
	        "  --idle N[,N...]   idle connection counts (default 2000; `all` uses 2000,10000)\n"
	        "  --messages N      messages stored for bccontext (default 1000000)\n"
	        "  --requests N      bccontext requests measured (default 2000), and N/4 of each search\n"
	        "  --events N        compliance events for export (default 200000)\n"
	        "  --export-backlog N  chat scenarios: N compliance events wait when the server starts, which\n"
	        "                    its export worker writes out (10,000-event batches) while chat is measured\n"
	        "  --runs N          repeat every scenario N times; medians are reported (default 1)\n"
	        "  --no-raw          skip the raw limits\n"
	        "  --perf DIR        record the server with `perf record --call-graph dwarf` during measured windows\n"
	        "  --json-only       print only the JSON lines on stdout\n"
	        "  --help\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* The options without a value: where each sets 1, or NULL if a is none. */
static int *bench_flag(const char *a)
{
	static const struct { const char *name; int *set; } flags[] = {
		{ "--json-only", &opt.json_only }, { "--auditorium", &opt.auditorium },
		{ "--private", &opt.private_rooms }, { "--no-ack", &opt.no_ack }, { "--no-raw", &opt.skip_raw },
	};

	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (strcmp(a, flags[i].name) == 0)
			return flags[i].set;
	return NULL;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		size_t n;
		int *flag;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if ((flag = bench_flag(a)) != NULL) {
			*flag = 1;
			continue;
		}
		if (v == NULL)
			goto bad;
		i++;
		if (!strcmp(a, "--scenario"))
			opt.scenario = v;
		else if (!strcmp(a, "--pchat"))
			opt.pchat = v;
		else if (!strcmp(a, "--perf"))
			opt.perf = v;
		else if (!strcmp(a, "--clients") && parse_size(v, &n) == 0)
			opt.clients = n;
		else if (!strcmp(a, "--rooms") && parse_size(v, &n) == 0)
			opt.rooms = n;
		else if (!strcmp(a, "--members") && parse_size(v, &n) == 0)
			opt.members = n;
		else if (!strcmp(a, "--duration") && (opt.duration = atof(v)) > 0)
			;
		else if (!strcmp(a, "--rate") && (opt.rate = atof(v)) > 0)
			;
		else if (!strcmp(a, "--window") && parse_size(v, &n) == 0 && n < 1000)
			opt.window = (unsigned)n;
		else if (!strcmp(a, "--pad") && parse_size(v, &n) == 0 && n < 1000)
			opt.text_pad = (int)n;
		else if (!strcmp(a, "--file-mb") && parse_size(v, &n) == 0 && n >= 1 && n <= 40)
			opt.file_mb = n;
		else if (!strcmp(a, "--file-clients") && parse_size(v, &n) == 0 && n <= 16)
			opt.file_clients = n;
		else if (!strcmp(a, "--slow") && parse_size(v, &n) == 0)
			opt.slow = n;
		else if (!strcmp(a, "--storm") && parse_size(v, &n) == 0 && n <= 20000)
			opt.storm = n;
		else if (!strcmp(a, "--storm-rate") && (opt.storm_rate = atof(v)) > 0)
			;
		else if (!strcmp(a, "--churn") && parse_size(v, &n) == 0 && n <= 20000)
			opt.churn = n;
		else if (!strcmp(a, "--churn-rate") && (opt.churn_rate = atof(v)) > 0)
			;
		else if (!strcmp(a, "--handshakes") && parse_size(v, &n) == 0)
			opt.handshakes = n;
		else if (!strcmp(a, "--messages") && parse_size(v, &n) == 0)
			opt.messages = (long)n;
		else if (!strcmp(a, "--requests") && parse_size(v, &n) == 0)
			opt.bcc_requests = (int)n;
		else if (!strcmp(a, "--events") && parse_size(v, &n) == 0)
			opt.events = (long)n;
		else if (!strcmp(a, "--export-backlog") && parse_size(v, &n) == 0)
			opt.export_backlog = (long)n;
		else if (!strcmp(a, "--runs") && parse_size(v, &n) == 0 && n <= 100)
			opt.runs = (int)n;
		else if (!strcmp(a, "--sweep") && v) {
			char copy[256], *tok, *save = NULL;
			size_t step;

			opt.nsweep = 0;
			snprintf(copy, sizeof copy, "%s", v);
			for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (opt.nsweep == sizeof opt.sweep / sizeof opt.sweep[0] || parse_size(tok, &step) < 0 ||
				    (opt.nsweep > 0 && (double)step <= opt.sweep[opt.nsweep - 1]))
					goto bad;
				opt.sweep[opt.nsweep++] = (double)step;
			}
			if (opt.nsweep == 0)
				goto bad;
		} else if (!strcmp(a, "--idle") && v) {
			char copy[128], *tok, *save = NULL;

			opt.nidle = 0;
			snprintf(copy, sizeof copy, "%s", strcmp(v, "all") == 0 ? "2000,10000" : v);
			for (tok = strtok_r(copy, ",", &save); tok && opt.nidle < 4; tok = strtok_r(NULL, ",", &save))
				if (parse_size(tok, &opt.idle_conns[opt.nidle]) == 0)
					opt.nidle++;
			if (opt.nidle == 0)
				goto bad;
		} else
			goto bad;
		continue;
bad:
		fprintf(stderr, "pchat-bench: bad option %s%s%s (try --help)\n", a, v ? " " : "", v ? v : "");
		return -1;
	}
	return 0;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pchat-bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- results ---- */

#define MAXKV 96
struct result {
	char scenario[24];
	int n;
	char key[MAXKV][32];
	double val[MAXKV];
};

static struct result results[256];
static int nresults;

static struct result *result_new(const char *scenario)
{
	struct result *r;

	if (nresults == (int)(sizeof results / sizeof results[0]))
		return NULL;
	r = &results[nresults++];
	memset(r, 0, sizeof *r);
	snprintf(r->scenario, sizeof r->scenario, "%s", scenario);
	return r;
}

static void put(struct result *r, const char *key, double v)
{
	if (r == NULL || r->n == MAXKV)
		return;
	snprintf(r->key[r->n], sizeof r->key[r->n], "%s", key);
	r->val[r->n++] = v;
}

static void json_value(double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		printf("%.0f", v);
	else if (fabs(v) >= 100)
		printf("%.1f", v);
	else
		printf("%.4g", v);
}

static void print_json(const struct result *r, const char *run)
{
	printf("{\"scenario\":\"%s\",\"run\":%s", r->scenario, run);
	for (int i = 0; i < r->n; i++) {
		printf(",\"%s\":", r->key[i]);
		json_value(r->val[i]);
	}
	printf("}\n");
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over every run's result of this scenario; the key order of the
 * first run. */
static int result_median(const char *scenario, struct result *out)
{
	const struct result *first = NULL;
	double vals[256];

	for (int i = 0; i < nresults && first == NULL; i++)
		if (strcmp(results[i].scenario, scenario) == 0)
			first = &results[i];
	if (first == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	snprintf(out->scenario, sizeof out->scenario, "%s", scenario);
	for (int k = 0; k < first->n; k++) {
		int nv = 0;

		for (int i = 0; i < nresults; i++) {
			if (strcmp(results[i].scenario, scenario) != 0)
				continue;
			for (int j = 0; j < results[i].n; j++)
				if (strcmp(results[i].key[j], first->key[k]) == 0)
					vals[nv++] = results[i].val[j];
		}
		qsort(vals, (size_t)nv, sizeof vals[0], cmp_double);
		put(out, first->key[k], nv % 2 ? vals[nv / 2] : (vals[nv / 2 - 1] + vals[nv / 2]) / 2);
	}
	return 0;
}

static double get(const struct result *r, const char *key, int *found)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->key[i], key) == 0) {
			*found = 1;
			return r->val[i];
		}
	*found = 0;
	return 0;
}

/* The table: what each scenario reports, and the targets. */
struct row {
	const char *scenario, *key, *label, *unit;
	char op;            /* '>' target is a floor, '<' a ceiling, 0 none */
	double target;
};

static const struct row rows[] = {
	{ "fanout", "delivered_per_s", "delivered msgs/s (wall)", "/s", 0, 0 },
	{ "fanout", "delivered_per_cpu_s", "delivered msgs per server CPU-second", "/cpu-s", '>', 150000 },
	{ "fanout", "server_cpu_pct", "server CPU", "%", 0, 0 },
	{ "fanout", "client_cpu_pct", "bench (client) CPU", "%", 0, 0 },
	{ "fanout", "others_cpu_pct", "other processes' CPU (noise)", "%", 0, 0 },
	{ "fanout", "lat_p50_ms", "post->delivery p50 (saturated)", "ms", 0, 0 },
	{ "fanout", "lat_p99_ms", "post->delivery p99 (saturated)", "ms", 0, 0 },
	{ "fanout", "info_bytes", "fan-out INFO size", "B", 0, 0 },
	{ "fanout", "raw_coalesced_per_s", "raw TLS records/s, 16 KiB writes (wall)", "/s", 0, 0 },
	{ "fanout", "raw_coalesced_per_cpu_s", "raw TLS records per writer CPU-s, 16 KiB writes", "/cpu-s", 0, 0 },
	{ "fanout", "raw_single_per_s", "raw TLS records/s, one write each (wall)", "/s", 0, 0 },
	{ "fanout", "raw_single_per_cpu_s", "raw TLS records per writer CPU-s, one write each", "/cpu-s", 0, 0 },
	{ "fanout", "ratio_wall", "pchat / raw coalesced (wall)", "x", 0, 0 },
	{ "fanout", "ratio_cpu", "pchat / raw coalesced (per CPU-s)", "x", 0, 0 },
	{ "fanout", "ratio_single_cpu", "pchat / raw one-write-per-record (per CPU-s)", "x", 0, 0 },
	{ "fanout", "rss_per_client_kib", "server RSS per signed-in client, 1 s after joining", "KiB", 0, 0 },
	{ "fanout", "rss_per_quiet_client_kib", "server RSS per signed-in joined client, quiet 3.5 s", "KiB", '<', 48 },
	{ "fanout", "signin_per_s", "sign-ins/s (TLS+NTLM+INVITE+join)", "/s", 0, 0 },
	{ "frontend", "delivered_per_s", "delivered msgs/s (wall), one front-end connection", "/s", 0, 0 },
	{ "frontend", "delivered_per_cpu_s", "delivered msgs per server CPU-second", "/cpu-s", 0, 0 },
	{ "frontend", "ratio_fanout_cpu", "front end / standalone fanout (per CPU-s)", "x", 0, 0 },
	{ "frontend", "ratio_fanout_wall", "front end / standalone fanout (wall)", "x", 0, 0 },
	{ "frontend", "server_cpu_pct", "server CPU", "%", 0, 0 },
	{ "frontend", "client_cpu_pct", "bench (front end) CPU", "%", 0, 0 },
	{ "frontend", "others_cpu_pct", "other processes' CPU (noise)", "%", 0, 0 },
	{ "frontend", "lat_p50_ms", "post->delivery p50 (saturated)", "ms", 0, 0 },
	{ "frontend", "lat_p99_ms", "post->delivery p99 (saturated)", "ms", 0, 0 },
	{ "frontend", "record_bytes", "plaintext per TLS record from the server", "B", 0, 0 },
	{ "frontend", "rss_per_quiet_client_kib", "server RSS per joined user (dialog only), quiet 3.5 s", "KiB", 0, 0 },
	{ "frontend", "signin_per_s", "users opened/s (INVITE+join, no TLS, no NTLM)", "/s", 0, 0 },
	{ "fanout", "slow_clients", "slow readers (--slow): clients that stopped reading", "", 0, 0 },
	{ "fanout", "slow_cut", "output-cap closes in the server's log", "", 0, 0 },
	{ "frontend", "conns_lost", "users lost (dialogs refused or connection gone)", "", 0, 0 },
	{ "latency", "delivered_per_s", "delivered msgs/s (offered load)", "/s", 0, 0 },
	{ "latency", "lat_p50_ms", "post->delivery p50", "ms", 0, 0 },
	{ "latency", "lat_p99_ms", "post->delivery p99", "ms", '<', 5 },
	{ "latency", "lat_max_ms", "post->delivery max", "ms", 0, 0 },
	{ "latency", "socket_p50_ms", "post->member's socket p50 (kernel stamp)", "ms", 0, 0 },
	{ "latency", "socket_p99_ms", "post->member's socket p99 (kernel stamp)", "ms", 0, 0 },
	{ "latency", "client_cpu_pct", "bench CPU (it plays every client)", "%", 0, 0 },
	{ "latency", "storm_clients", "clients signing in during the window (--storm)", "", 0, 0 },
	{ "latency", "storm_signed_in", "of them signed in and joined by the end", "", 0, 0 },
	{ "latency", "churn_per_s", "parts and joins answered/s (--churn)", "/s", 0, 0 },
	{ "latency", "churn_p99_ms", "part or join -> its reply, p99", "ms", 0, 0 },
	{ "latency", "churn_failed", "parts and joins refused", "", 0, 0 },
	{ "latency", "server_cpu_pct", "server CPU", "%", 0, 0 },
	{ "latency", "others_cpu_pct", "other processes' CPU (noise)", "%", 0, 0 },
	{ "capacity", "capacity_per_s", "highest delivered/s, p99 <= 5 ms at members' sockets", "/s", '>', 100000 },
	{ "capacity", "capacity_app_per_s", "the same, p99 once the bench parsed each", "/s", 0, 0 },
	{ "capacity", "raw_single_per_s", "raw TLS records/s, one write each (wall)", "/s", 0, 0 },
	{ "capacity", "raw_single_per_cpu_s", "raw TLS records per writer CPU-s, one write each", "/cpu-s", 0, 0 },
	{ "capacity", "ratio_single", "capacity / raw one-write-per-record (wall)", "x", 0, 0 },
	{ "capacity", "others_cpu_pct_max", "other processes' CPU, worst step (noise)", "%", '<', 10 },
	{ "handshake", "pchat_per_s", "pchat handshakes/s (wall)", "/s", 0, 0 },
	{ "handshake", "pchat_per_cpu_s", "pchat handshakes per server CPU-s", "/cpu-s", 0, 0 },
	{ "handshake", "raw_per_s", "bare mbedTLS handshakes/s (wall)", "/s", 0, 0 },
	{ "handshake", "raw_per_cpu_s", "bare mbedTLS handshakes per server CPU-s", "/cpu-s", 0, 0 },
	{ "handshake", "ratio_cpu", "pchat / bare (per CPU-s)", "x", '>', 0.9 },
	{ "handshake", "ratio_wall", "pchat / bare (wall)", "x", 0, 0 },
	{ "idle", "idle_server_rss_kib", "idle server RSS", "KiB", '<', 8192 },
	{ "idle", "rss_per_conn_kib", "server RSS per idle TLS connection", "KiB", '<', 40 },
	{ "idle", "conns", "idle connections held", "", 0, 0 },
	{ "files", "put_mib_s", "HTTPS PUT, MiB/s (wall)", "MiB/s", 0, 0 },
	{ "files", "put_mib_per_cpu_s", "HTTPS PUT, MiB per server CPU-s", "MiB", 0, 0 },
	{ "files", "get_mib_s", "HTTPS GET, MiB/s (wall)", "MiB/s", 0, 0 },
	{ "files", "get_mib_per_cpu_s", "HTTPS GET, MiB per server CPU-s", "MiB", 0, 0 },
	{ "files", "get_parallel_mib_s", "--file-clients HTTPS GETs at once, MiB/s in all", "MiB/s", 0, 0 },
	{ "files", "get_parallel_mib_per_cpu_s", "the same, MiB per server CPU-s", "MiB", 0, 0 },
	{ "files", "soap_up_mib_s", "SOAP upload (512 KiB chunks), MiB/s", "MiB/s", 0, 0 },
	{ "files", "soap_up_mib_per_cpu_s", "SOAP upload, MiB per server CPU-s", "MiB", 0, 0 },
	{ "files", "soap_down_mib_s", "SOAP download (512 KiB chunks), MiB/s", "MiB/s", 0, 0 },
	{ "files", "soap_down_mib_per_cpu_s", "SOAP download, MiB per server CPU-s", "MiB", 0, 0 },
	{ "bccontext", "fill_s", "store fill time", "s", 0, 0 },
	{ "bccontext", "fill_per_s", "store fill rate (store_message_add, FTS5)", "/s", 0, 0 },
	{ "bccontext", "p50_ms", "bccontext(25) p50", "ms", 0, 0 },
	{ "bccontext", "p99_ms", "bccontext(25) p99", "ms", '<', 1 },
	{ "bccontext", "max_ms", "bccontext(25) max", "ms", 0, 0 },
	{ "bccontext", "search_all_p50_ms", "search, a word in every message, p50", "ms", 0, 0 },
	{ "bccontext", "search_all_p99_ms", "search, a word in every message, p99", "ms", 0, 0 },
	{ "bccontext", "search_rare_p50_ms", "search, a number in ~10 messages, p50", "ms", 0, 0 },
	{ "bccontext", "search_rare_p99_ms", "search, a number in ~10 messages, p99", "ms", 0, 0 },
	{ "export", "events_per_s", "compliance export events/s", "/s", '>', 100000 },
	{ "export", "verify_events_per_s", "pchat verify of that folder, events/s", "/s", 0, 0 },
	{ "export", "verify_mib_per_s", "pchat verify, MiB of export files/s", "MiB/s", 0, 0 },
	{ NULL, NULL, NULL, NULL, 0, 0 }
};

static void fmt_num(char *out, size_t len, double v)
{
	if (fabs(v) >= 1000 || (v == floor(v) && fabs(v) < 1e15))
		snprintf(out, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(out, len, "%.1f", v);
	else
		snprintf(out, len, "%.3g", v);
}

/* Distinct scenario names in the order results arrived ("idle-2000", ...). */
static int scenario_names(const char *names[], int cap)
{
	int n = 0;

	for (int i = 0; i < nresults; i++) {
		int seen = 0;

		for (int k = 0; k < n; k++)
			seen |= !strcmp(names[k], results[i].scenario);
		if (!seen && n < cap)
			names[n++] = results[i].scenario;
	}
	return n;
}

/* A row for "idle" applies to "idle-2000" too. */
static int row_applies(const char *row, const char *scenario)
{
	size_t n = strlen(row);

	return strncmp(row, scenario, n) == 0 && (scenario[n] == '\0' || scenario[n] == '-');
}

static void print_table(void)
{
	const char *names[64];
	int nn = scenario_names(names, 64);

	printf("\n%-10s %-50s %14s  %-16s %s\n", "scenario", "measure", "median", "target", "verdict");
	for (int s = 0; s < nn; s++) {
		struct result med;

		if (result_median(names[s], &med) < 0)
			continue;
		for (const struct row *r = rows; r->scenario; r++) {
			char val[32], tgt[32] = "";
			int found;
			double v;

			if (!row_applies(r->scenario, names[s]))
				continue;
			v = get(&med, r->key, &found);
			if (!found)
				continue;
			fmt_num(val, sizeof val, v);
			if (r->op) {
				char t[24];

				fmt_num(t, sizeof t, r->target);
				snprintf(tgt, sizeof tgt, "%s %s", r->op == '>' ? ">=" : "<=", t);
			}
			printf("%-10s %-50s %11s %-3s %-16s %s\n", names[s], r->label, val, r->unit, tgt,
			       !r->op ? "" : (r->op == '>' ? v >= r->target : v <= r->target) ? "meets" : "MISSES");
		}
	}
	printf("(medians of %d run%s; JSON lines above carry every figure)\n", opt.runs, opt.runs == 1 ? "" : "s");
}

/* ---- the server under test ---- */

static int proc_cpu(pid_t pid, double *sec)
{
	char path[64], text[2048], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	/* Fields after the ")" ending comm: state is field 3, utime 14, stime 15. */
	if ((p = strrchr(text, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*sec = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
static double machine_busy_s(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
	           &v[7]);
	fclose(f);
	if (n < 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_cpu_or0(pid_t pid)
{
	double s = 0;

	proc_cpu(pid, &s);
	return s;
}

static long proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

/* A temp folder with pchat.ini (and, for the front-end scenario, the
 * certificates and the [frontend] listener); the store is filled by the
 * caller before srv_launch.  The folder name lets tserver_cleanup remove it. */
static int srv_prepare_as(struct tserver *s, int frontend)
{
	FILE *f;

	memset(s, 0, sizeof *s);
	snprintf(s->bin, sizeof s->bin, "%s", opt.pchat);
	snprintf(s->dir, sizeof s->dir, "/tmp/pchat-test-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->ini, sizeof s->ini, "%s/pchat.ini", s->dir);
	snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
	if ((f = fopen(s->ini, "w")) == NULL)
		return -1;
	/* info logs a line per connection, nothing per message. */
	fprintf(f, "[server]\ndomain = example.org\nlisten = 127.0.0.1:0\nlog_level = info\n"
	           "[limits]\nmax_connections = 30000\nmax_connections_per_ip = 30000\n"
	           "max_anonymous_connections = 30000\nmax_anonymous_per_ip = 30000\n"
	           "handshake_timeout = 120\nsignin_timeout = 3600\nidle_timeout = 3600\n");
	if (frontend) {
		/* The front end's one connection may queue 64 x max_output_bytes
		 * (FRONTEND_OUTPUT_FACTOR); give it what the standalone clients'
		 * connections may queue together, N x the default 1 MiB, or the
		 * first burst of fan-out (N posts x M copies) cuts it. */
		size_t mib = (opt.clients + 63) / 64;

		fprintf(f, "max_output_bytes = %zu\n", (mib < 1 ? 1 : mib > 256 ? 256 : mib) << 20);
	}
	fprintf(f, "[files]\nlisten = 127.0.0.1:0\n");   /* any free port: benches may run beside tests */
	fprintf(f, "max_file_kb = %zu\n", (opt.file_mb ? opt.file_mb : 32) * 1024 + 1);
	if (opt.export_backlog > 0)
		fprintf(f, "[compliance]\nrun_interval = 1\nmax_batch_events = 10000\n");
	if (frontend && bench_fe_prepare(s->dir, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int srv_prepare(struct tserver *s)
{
	return srv_prepare_as(s, 0);
}

static int srv_launch(struct tserver *s)
{
	if (tserver_restart(s) < 0) {
		char line[512], last[512] = "";
		FILE *f = fopen(s->log, "r");

		while (f && fgets(line, sizeof line, f))
			memcpy(last, line, sizeof last);
		if (f)
			fclose(f);
		last[strcspn(last, "\n")] = '\0';
		progress("server did not start; the last line of its log: %s", last);
		return -1;
	}
	return 0;
}

static void srv_path(const struct tserver *s, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", s->dir, name);
}

/* Who sits where, for the chat scenarios: room r holds clients r*M ..
 * r*M+M-1 (mod N), so with R*M = N every client is in one room and with
 * more each is in several; the extra (--churn, then --storm) clients N,
 * N+1, .. join room k mod R.  fn(arg, client, room) for each seat; -1 as
 * soon as one fails. */
static int each_seat(size_t clients, size_t extra, size_t rooms, size_t members,
                     int (*fn)(void *arg, size_t client, size_t room), void *arg)
{
	for (size_t r = 0; r < rooms && clients > 0; r++)
		for (size_t j = 0; j < members && j < clients; j++)
			if (fn(arg, (r * members + j) % clients, r) < 0)
				return -1;
	for (size_t k = 0; k < extra && rooms > 0; k++)
		if (fn(arg, clients + k, k % rooms) < 0)
			return -1;
	return 0;
}

/* Room r's presenter under --auditorium: its first seat. */
static size_t presenter_of(size_t r, size_t clients)
{
	return (r * opt.members) % clients;
}

/* Who posts: every client, or under --auditorium the rooms' presenters.
 * poster(k) for k = 0, 1, .. goes round them. */
static size_t posters(size_t clients)
{
	return opt.auditorium ? (opt.rooms < clients ? opt.rooms : clients) : clients;
}

static size_t poster(size_t k, size_t clients)
{
	return opt.auditorium ? presenter_of(k % posters(clients), clients) : k % clients;
}

struct seat_store {
	struct store *st;
	const int64_t *room_ids;
};

/* each_seat's fn for --private: the member role in a closed room. */
static int seat_member(void *arg, size_t client, size_t room)
{
	struct seat_store *ss = arg;
	char uri[64];

	snprintf(uri, sizeof uri, "sip:u%05zu@example.org", client);
	return store_room_role_add(ss->st, ss->room_ids[room], uri, STORE_ROLE_MEMBER) == STORE_OK ? 0 : -1;
}

/* Users u00000.. (password "pw"), clients + extra of them, and rooms
 * bench-0.. (open, or closed with each_seat's members under --private);
 * GUIDs out. */
static int srv_populate(struct tserver *s, size_t clients, size_t extra, size_t rooms, char (*guid)[40])
{
	struct store *st = NULL;
	struct store_category cat;
	int64_t *room_ids = calloc(rooms ? rooms : 1, sizeof *room_ids);
	uint8_t hash[16];
	char path[400], err[256], uri[64];
	int rc = -1;

	srv_path(s, "pchat.db", path, sizeof path);
	if (room_ids == NULL || store_open(&st, path, err, sizeof err) != STORE_OK) {
		progress("store_open: %s", room_ids ? err : "out of memory");
		free(room_ids);
		return -1;
	}
	if (auth_nt_hash("pw", 2, hash) != AUTH_OK || store_begin(st) != STORE_OK ||
	    store_category_get(st, "default", &cat) != STORE_OK)
		goto out;
	for (size_t i = 0; i < clients + extra; i++) {
		snprintf(uri, sizeof uri, "sip:u%05zu@example.org", i);
		if (store_user_add(st, uri, hash) != STORE_OK)
			goto out;
	}
	for (size_t r = 0; r < rooms; r++) {
		struct store_room room;

		memset(&room, 0, sizeof room);
		snprintf(room.name, sizeof room.name, "bench-%zu", r);
		room.category_id = cat.id;
		room.privacy = opt.private_rooms ? STORE_PRIVACY_CLOSED : STORE_PRIVACY_OPEN;
		room.type = opt.auditorium ? STORE_ROOM_AUDITORIUM : STORE_ROOM_NORMAL;
		room.invitations = STORE_INVITE_INHERIT;
		if (store_room_add(st, &room) != STORE_OK)
			goto out;
		snprintf(guid[r], 40, "%s", room.guid);
		room_ids[r] = room.id;
		snprintf(uri, sizeof uri, "sip:u%05zu@example.org", presenter_of(r, clients));
		if (opt.auditorium && store_room_role_add(st, room.id, uri, STORE_ROLE_PRESENTER) != STORE_OK)
			goto out;
	}
	if (opt.private_rooms &&
	    each_seat(clients, extra, rooms, opt.members, seat_member, &(struct seat_store){ st, room_ids }) < 0)
		goto out;
	rc = store_commit(st) == STORE_OK ? 0 : -1;
out:
	if (rc < 0)
		progress("could not fill the store");
	store_close(st);
	free(room_ids);
	return rc;
}

/* `perf record` attached to pid while a window is measured (--perf). */
static pid_t perf_start(pid_t pid, const char *name)
{
	char file[512], ps[16];
	pid_t p;

	if (opt.perf == NULL)
		return 0;
	mkdir(opt.perf, 0755);
	snprintf(file, sizeof file, "%s/%s.perf.data", opt.perf, name);
	snprintf(ps, sizeof ps, "%d", (int)pid);
	fflush(NULL);
	if ((p = fork()) == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("perf", "perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p", ps, "-o", file,
		       (char *)NULL);
		_exit(127);
	}
	return p;
}

static void perf_stop(pid_t p)
{
	if (p > 0) {
		kill(p, SIGINT);
		waitpid(p, NULL, 0);
	}
}

/* ---- engine helpers ---- */

static void poll_for(struct beng *e, double seconds)
{
	int64_t end = bench_now_ns() + (int64_t)(seconds * 1e9);

	while (bench_now_ns() < end)
		beng_poll(e, 5);
}

/* Start every client (at most max_in_progress at a time) and wait until
 * none is in progress.  Returns the seconds it took, or -1 on timeout. */
static double start_all(struct beng *e, size_t count, size_t max_in_progress, double timeout_s)
{
	int64_t t0 = bench_now_ns(), end = t0 + (int64_t)(timeout_s * 1e9);

	while (e->started < count || e->in_progress > 0) {
		beng_start(e, count - e->started, max_in_progress);
		beng_poll(e, 5);
		if (bench_now_ns() > end)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / 1e9;
}

/* ---- fanout + latency (+ the raw writer) ---- */

struct window {
	double wall, server_cpu, client_cpu;
	double others_cpu;          /* what the rest of the machine used: the noise */
	uint64_t churn_skipped;     /* --churn: parts or joins not sent, the previous one unanswered */
	struct bc_stats st;
};

static double busy0;

static struct window win;       /* large (histograms): static */

static void measure_begin(struct beng *e, pid_t server, double *cpu0, double *self0, int64_t *t0)
{
	beng_reset_stats(e);
	*cpu0 = proc_cpu_or0(server);
	*self0 = self_cpu_s();
	busy0 = machine_busy_s();
	*t0 = bench_now_ns();
}

static void measure_end(struct beng *e, pid_t server, double cpu0, double self0, int64_t t0)
{
	win.wall = (double)(bench_now_ns() - t0) / 1e9;
	win.server_cpu = proc_cpu_or0(server) - cpu0;
	win.client_cpu = self_cpu_s() - self0;
	win.others_cpu = machine_busy_s() - busy0 - win.server_cpu - win.client_cpu;
	if (win.others_cpu < 0)
		win.others_cpu = 0;
	win.st = e->st;
}

/* Stop posting and wait for every post in flight to be answered. */
static void drain(struct beng *e)
{
	int64_t end = bench_now_ns() + 20 * (int64_t)1000000000;

	e->posting = 0;
	while (beng_in_flight(e) > 0 && bench_now_ns() < end)
		beng_poll(e, 5);
	poll_for(e, 0.3);
}

/* The raw writer: `records` records like sample over n TLS connections. */
static int raw_blast(const struct tserver *s, size_t n, const unsigned char *sample, size_t len, uint64_t records,
                     size_t batch, int suite, double *per_s, double *per_cpu_s)
{
	static struct beng e;
	struct raw_server rs;
	struct raw_opts ro;
	char cert[400], key[400];
	uint64_t per_conn = (records + n - 1) / n, want;
	double cpu0, cpu1;
	int64_t t0, end;
	int rc = -1;

	srv_path(s, "pchat.crt", cert, sizeof cert);
	srv_path(s, "pchat.key", key, sizeof key);
	ro = (struct raw_opts){ RAW_BLAST, cert, key, n, per_conn, sample, len, batch, suite };
	if (raw_start(&rs, &ro) < 0)
		return -1;
	if (beng_init(&e, BC_MODE_SINK, rs.port, n) < 0 || start_all(&e, n, 128, 300) < 0 || e.ready != n) {
		progress("raw writer: only %zu of %zu connections", e.ready, n);
		goto out;
	}
	want = per_conn * len * n;
	cpu0 = proc_cpu_or0(rs.pid);
	beng_reset_stats(&e);
	t0 = bench_now_ns();
	end = t0 + 600 * (int64_t)1000000000;
	beng_broadcast(&e, "GO\n");
	while (e.st.sink_bytes < want && bench_now_ns() < end && e.ready == n)
		beng_poll(&e, 5);
	if (e.st.sink_bytes < want) {
		progress("raw writer: got %llu of %llu bytes", (unsigned long long)e.st.sink_bytes, (unsigned long long)want);
		goto out;
	}
	*per_s = (double)(per_conn * n) / ((double)(bench_now_ns() - t0) / 1e9);
	cpu1 = proc_cpu_or0(rs.pid);
	*per_cpu_s = cpu1 > cpu0 ? (double)(per_conn * n) / (cpu1 - cpu0) : 0;
	rc = 0;
out:
	beng_free(&e);
	raw_stop(&rs);
	return rc;
}

/* each_seat's fn for the bench's clients. */
static int seat_client(void *arg, size_t client, size_t room)
{
	return beng_assign(arg, client, room);
}

static void window_results(struct result *r, size_t members)
{
	const struct bc_stats *st = &win.st;

	put(r, "seconds", win.wall);
	put(r, "posts_per_s", (double)st->posts_ok / win.wall);
	put(r, "delivered", (double)st->delivered);
	put(r, "delivered_per_s", (double)st->delivered / win.wall);
	put(r, "delivered_per_cpu_s", win.server_cpu > 0 ? (double)st->delivered / win.server_cpu : 0);
	put(r, "expected_fanout", (double)members);
	put(r, "server_cpu_pct", 100 * win.server_cpu / win.wall);
	put(r, "client_cpu_pct", 100 * win.client_cpu / win.wall);
	put(r, "others_cpu_pct", 100 * win.others_cpu / win.wall);
	put(r, "lat_samples", (double)st->lat.count);
	put(r, "lat_p50_ms", ms(hist_quantile(&st->lat, 0.50)));
	put(r, "lat_p99_ms", ms(hist_quantile(&st->lat, 0.99)));
	put(r, "lat_max_ms", ms(st->lat.max));
	put(r, "socket_p50_ms", ms(hist_quantile(&st->lat_wire, 0.50)));
	put(r, "socket_p99_ms", ms(hist_quantile(&st->lat_wire, 0.99)));
	put(r, "info_bytes", st->delivered ? (double)st->delivered_bytes / (double)st->delivered : 0);
	/* How much the server coalesces: plaintext per TLS record it sent. */
	put(r, "record_bytes", st->tls_records ? (double)st->tls_bytes / (double)st->tls_records : 0);
	put(r, "posts_failed", (double)st->posts_failed);
	put(r, "conns_lost", (double)st->failures);     /* e.g. dropped by the server's output cap */
	put(r, "bad_sigs", (double)st->bad_sigs);
	put(r, "sigs_checked", (double)st->sigs_checked);
}

/* The fanout window: every client keeps opt.window posts in flight. */
static void fanout_window(struct beng *e, pid_t server, size_t n, const char *name)
{
	double cpu0, self0;
	int64_t t0;
	pid_t perf;

	e->posting = 1;
	/* as many posts queued with few posters (--auditorium) as with all */
	e->window = opt.window * (unsigned)(n / posters(n));
	for (size_t k = 0; k < opt.slow && k < n; k++)
		beng_mute(e, k * n / opt.slow);
	for (size_t k = 0; k < posters(n); k++)
		for (unsigned w = 0; w < e->window; w++)
			beng_post(e, poster(k, n));
	poll_for(e, opt.warmup);
	perf = perf_start(server, name);
	measure_begin(e, server, &cpu0, &self0, &t0);
	poll_for(e, opt.duration);
	measure_end(e, server, cpu0, self0, t0);
	perf_stop(perf);
	drain(e);
	progress("%s: %.0f delivered/s, %.0f per server CPU-s (server CPU %.0f%%, client CPU %.0f%%, others %.0f%%), "
	         "p50 %.2f ms p99 %.2f ms",
	         name, (double)win.st.delivered / win.wall, win.server_cpu > 0 ? (double)win.st.delivered / win.server_cpu : 0,
	         100 * win.server_cpu / win.wall, 100 * win.client_cpu / win.wall, 100 * win.others_cpu / win.wall,
	         ms(hist_quantile(&win.st.lat, 0.5)), ms(hist_quantile(&win.st.lat, 0.99)));
}

/* The latency window: posts paced at `rate` per second, round-robin over
 * the clients; the warm-up is paced too but not counted.  Returns the posts
 * that could not be sent. */
static uint64_t latency_window(struct beng *e, pid_t server, size_t n, double rate)
{
	int64_t interval = (int64_t)(1e9 / rate), next, end, now, t0 = 0;
	double cpu0 = 0, self0 = 0;
	uint64_t skipped = 0, churn_due = 0, churn_skipped = 0;
	size_t rr = 0, churn_rr = 0;
	pid_t perf = 0;

	e->posting = 0;
	for (int phase = 0; phase < 2; phase++) {
		end = bench_now_ns() + (int64_t)((phase ? opt.duration : opt.warmup) * 1e9);
		next = bench_now_ns();
		if (phase) {
			perf = perf_start(server, "latency");
			measure_begin(e, server, &cpu0, &self0, &t0);
		}
		while ((now = bench_now_ns()) < end) {
			while (next <= now) {
				if (beng_in_flight(e) > 100000 || beng_post(e, poster(rr++, n)) < 0)
					skipped++;
				next += interval;
			}
			/* --churn: parts and joins, round the churn clients, from the window's start */
			for (; phase && opt.churn && churn_due < (uint64_t)((double)(now - t0) / 1e9 * opt.churn_rate);
			     churn_due++)
				if (beng_churn(e, n + churn_rr++ % opt.churn) < 0)
					churn_skipped++;
			/* --storm: the extra clients, at their pace, from the window's start */
			if (phase && e->started < e->n) {
				size_t due = n + opt.churn + (size_t)((double)(now - t0) / 1e9 * opt.storm_rate);

				if (due > e->started)
					beng_start(e, due - e->started, 256);
			}
			beng_poll(e, (int)((next - now) / 1000000));
		}
	}
	measure_end(e, server, cpu0, self0, t0);
	win.churn_skipped = churn_skipped;
	perf_stop(perf);
	drain(e);
	progress("latency: %.0f posts/s -> %.0f delivered/s, p50 %.2f ms p99 %.2f ms max %.2f ms; at the socket p50 %.2f "
	         "p99 %.2f ms (server CPU %.0f%%, bench %.0f%%, others %.0f%%)",
	         rate, (double)win.st.delivered / win.wall, ms(hist_quantile(&win.st.lat, 0.5)),
	         ms(hist_quantile(&win.st.lat, 0.99)), ms(win.st.lat.max), ms(hist_quantile(&win.st.lat_wire, 0.5)),
	         ms(hist_quantile(&win.st.lat_wire, 0.99)), 100 * win.server_cpu / win.wall,
	         100 * win.client_cpu / win.wall, 100 * win.others_cpu / win.wall);
	return skipped;
}

/* The raw writer against what pchat did in the fanout window (in rf). */
static void raw_ratios(struct result *rf, const struct tserver *s, size_t n, const unsigned char *sample,
                       size_t sample_len, int suite)
{
	int found;
	double delivered = get(rf, "delivered", &found), pchat_cpu = get(rf, "delivered_per_cpu_s", &found);
	double pchat_wall = get(rf, "delivered_per_s", &found), c_s = 0, c_cpu = 0, s_s = 0, s_cpu = 0;
	size_t batch = 16384 / sample_len;

	progress("raw: %.0f records of %zu bytes over %zu TLS connections (%s)", delivered, sample_len, n,
	         mbedtls_ssl_get_ciphersuite_name(suite));
	if (raw_blast(s, n, sample, sample_len, (uint64_t)delivered, batch ? batch : 1, suite, &c_s, &c_cpu) < 0 ||
	    raw_blast(s, n, sample, sample_len, (uint64_t)delivered, 1, suite, &s_s, &s_cpu) < 0)
		return;
	put(rf, "suite", suite);
	put(rf, "raw_records", delivered);
	put(rf, "raw_coalesced_per_s", c_s);
	put(rf, "raw_coalesced_per_cpu_s", c_cpu);
	put(rf, "raw_single_per_s", s_s);
	put(rf, "raw_single_per_cpu_s", s_cpu);
	put(rf, "ratio_wall", c_s > 0 ? pchat_wall / c_s : 0);
	put(rf, "ratio_cpu", c_cpu > 0 ? pchat_cpu / c_cpu : 0);
	put(rf, "ratio_single_cpu", s_cpu > 0 ? pchat_cpu / s_cpu : 0);
	progress("raw: coalesced %.0f/s (%.0f per CPU-s), one write per record %.0f/s (%.0f per CPU-s)", c_s, c_cpu,
	         s_s, s_cpu);
}

/* The raw writer's one-record-per-send limit, for the capacity headline:
 * as many records as the sweep's top step offered in one window. */
static void raw_single(struct result *r, const struct tserver *s, size_t n, const unsigned char *sample,
                       size_t sample_len, int suite)
{
	int found;
	double records = opt.sweep[opt.nsweep - 1] * opt.duration, best = get(r, "capacity_per_s", &found);
	double s_s = 0, s_cpu = 0;

	if (raw_blast(s, n, sample, sample_len, (uint64_t)records, 1, suite, &s_s, &s_cpu) < 0)
		return;
	put(r, "raw_single_per_s", s_s);
	put(r, "raw_single_per_cpu_s", s_cpu);
	put(r, "ratio_single", s_s > 0 ? best / s_s : 0);
	progress("raw: one write per record %.0f/s (%.0f per CPU-s); capacity / raw = %.2f", s_s, s_cpu,
	         s_s > 0 ? best / s_s : 0);
}

/* Lines of the server's log that contain needle. */
static long log_count(const char *log, const char *needle)
{
	FILE *f = fopen(log, "r");
	char line[2048];
	long n = 0;

	while (f && fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

static void chat_params(struct result *r, size_t n)
{
	put(r, "clients", (double)n);
	put(r, "rooms", (double)opt.rooms);
	put(r, "members", (double)opt.members);
	put(r, "acks", !opt.no_ack);
	put(r, "private", opt.private_rooms);
	put(r, "auditorium", opt.auditorium);
	put(r, "posters", (double)posters(n));
}

/* n CHAT compliance events of room guid into the store at path. */
static int fill_events(const char *path, const char *guid, long n)
{
	struct store *st = NULL;
	char err[256], text[160];
	int rc = -1;

	if (store_open(&st, path, err, sizeof err) != STORE_OK) {
		progress("events: store_open: %s", err);
		return -1;
	}
	for (long i = 0; i < n;) {
		if (store_begin(st) != STORE_OK)
			goto out;
		for (long k = 0; k < 20000 && i < n; k++, i++) {
			int len = snprintf(text, sizeof text, "compliance line %ld: the quick brown fox", i);
			struct store_event ev = { 0, "CHAT", guid, "bench-0", "sip:u00000@example.org",
			                          1700000000000000 + i * 1000, i + 1, text, (size_t)len };

			if (store_event_add(st, &ev) != STORE_OK)
				goto out;
		}
		if (store_commit(st) != STORE_OK)
			goto out;
	}
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* Compliance events still waiting in s's store (the server runs: WAL lets
 * this read beside it); -1 on error. */
static long events_waiting(const struct tserver *s)
{
	struct store *st = NULL;
	char path[400], err[256];
	long n = -1;

	snprintf(path, sizeof path, "%s/pchat.db", s->dir);
	if (store_open(&st, path, err, sizeof err) == STORE_OK)
		n = (long)store_event_count(st);
	store_close(st);
	return n;
}

/* fanout and/or latency on one server with one set of signed-in clients;
 * then, with the server stopped, the raw writer. */
/* The capacity sweep: latency windows at each offered delivered rate of
 * --sweep on the clients already signed in; the headline is the highest
 * step delivered in full (nothing skipped, at least 98% of the offered
 * rate) with p99 <= 5 ms.  Steps past the first failure still run: on a
 * noisy machine one bad step is not the end, and the table shows them. */
static void capacity_sweep(struct beng *e, pid_t server, size_t n, struct result *r)
{
	double best = 0, best_app = 0, worst_noise = 0;

	for (size_t i = 0; i < opt.nsweep; i++) {
		double offered = opt.sweep[i], delivered, p99, p99_app, noise;
		uint64_t skipped = latency_window(e, server, n, offered / (double)opt.members);
		char key[32];

		delivered = (double)win.st.delivered / win.wall;
		p99 = ms(hist_quantile(&win.st.lat_wire, 0.99));
		p99_app = ms(hist_quantile(&win.st.lat, 0.99));
		noise = 100 * win.others_cpu / win.wall;
		worst_noise = noise > worst_noise ? noise : worst_noise;
		snprintf(key, sizeof key, "step%u_offered", (unsigned)(i + 1) % 100);
		put(r, key, offered);
		snprintf(key, sizeof key, "step%u_delivered_per_s", (unsigned)(i + 1) % 100);
		put(r, key, delivered);
		snprintf(key, sizeof key, "step%u_p50_ms", (unsigned)(i + 1) % 100);
		put(r, key, ms(hist_quantile(&win.st.lat, 0.5)));
		snprintf(key, sizeof key, "step%u_p99_ms", (unsigned)(i + 1) % 100);
		put(r, key, p99_app);
		snprintf(key, sizeof key, "step%u_socket_p50_ms", (unsigned)(i + 1) % 100);
		put(r, key, ms(hist_quantile(&win.st.lat_wire, 0.5)));
		snprintf(key, sizeof key, "step%u_socket_p99_ms", (unsigned)(i + 1) % 100);
		put(r, key, p99);
		snprintf(key, sizeof key, "step%u_bench_cpu_pct", (unsigned)(i + 1) % 100);
		put(r, key, 100 * win.client_cpu / win.wall);
		snprintf(key, sizeof key, "step%u_server_cpu_pct", (unsigned)(i + 1) % 100);
		put(r, key, 100 * win.server_cpu / win.wall);
		snprintf(key, sizeof key, "step%u_others_cpu_pct", (unsigned)(i + 1) % 100);
		put(r, key, noise);
		if (skipped == 0 && delivered >= 0.98 * offered && p99 <= 5.0 && offered > best)
			best = offered;
		if (skipped == 0 && delivered >= 0.98 * offered && p99_app <= 5.0 && offered > best_app)
			best_app = offered;
	}
	put(r, "capacity_per_s", best);
	put(r, "capacity_app_per_s", best_app);
	put(r, "others_cpu_pct_max", worst_noise);
	progress("capacity: highest step delivered in full within p99 5 ms: %.0f delivered/s at the members' sockets, "
	         "%.0f once the bench has parsed them (noise up to %.0f%%)", best, best_app, worst_noise);
}

/* frontend: the fanout window only, every client over one front-end
 * connection (BC_MODE_FRONTEND), reported as "frontend". */
static int scenario_chat(int want_fanout, int want_latency, int want_capacity, int frontend)
{
	static struct beng e;
	static char guids[10000][40];
	struct tserver s;
	struct result *rf = NULL, *r = NULL;
	unsigned char *sample = NULL;
	size_t sample_len = 0, n = opt.clients;
	double signin, rate;
	long rss0, rss1, rss_quiet;
	const char *name = frontend ? "frontend" : "fanout";
	uint16_t port;
	int rc = -1, suite;

	if (opt.rooms > sizeof guids / sizeof guids[0]) {
		progress("at most %zu rooms", sizeof guids / sizeof guids[0]);
		return -1;
	}
	progress("%s: %zu clients, %zu rooms of %zu members%s", frontend ? "frontend" : "chat", n, opt.rooms,
	         opt.members, frontend ? ", over one front-end connection" : "");
	if (srv_prepare_as(&s, frontend) < 0 || srv_populate(&s, n, opt.churn + opt.storm, opt.rooms, guids) < 0)
		goto out;
	if (opt.export_backlog > 0) {
		char path[400];

		progress("chat: %ld compliance events wait for the server's export worker", opt.export_backlog);
		srv_path(&s, "pchat.db", path, sizeof path);
		if (fill_events(path, guids[0], opt.export_backlog) < 0)
			goto out;
	}
	if (srv_launch(&s) < 0)
		goto out;
	usleep(300000);
	rss0 = proc_kb(s.pid, "VmRSS");
	port = frontend ? bench_fe_port(s.log) : s.port;
	if (port == 0) {
		progress("frontend: the server logged no [frontend] listener port (see %s)", s.log);
		goto out;
	}
	if (beng_init(&e, frontend ? BC_MODE_FRONTEND : BC_MODE_CHAT, port, n + opt.churn + opt.storm) < 0)
		goto out;
	if (frontend) {
		char crt[400], key[400];

		bench_fe_cert_paths(s.dir, crt, key, sizeof crt);
		if (beng_client_cert(&e, crt, key) < 0) {
			progress("frontend: cannot load %s / %s", crt, key);
			goto out;
		}
	}
	e.room_guid = guids;
	e.nrooms = opt.rooms;
	e.ack_infos = !opt.no_ack;
	e.text_pad = opt.text_pad;
	if (each_seat(n, opt.churn + opt.storm, opt.rooms, opt.members, seat_client, &e) < 0)
		goto out;
	signin = start_all(&e, n + opt.churn, 200, 600);
	if (signin < 0 || e.ready != n + opt.churn) {
		progress("chat: only %zu of %zu clients signed in and joined", e.ready, n + opt.churn);
		goto out;
	}
	poll_for(&e, 1.0);      /* join notices settle */
	rss1 = proc_kb(s.pid, "VmRSS");
	poll_for(&e, 2.5);      /* quiet: the server's 1 s sweep gives back idle buffers */
	rss_quiet = proc_kb(s.pid, "VmRSS");
	progress("chat: %zu clients signed in and joined in %.1f s; server RSS %ld -> %ld KiB, %ld KiB when quiet", n,
	         signin, rss0, rss1, rss_quiet);
	if (want_fanout) {
		fanout_window(&e, s.pid, n, name);
		rf = result_new(name);
		chat_params(rf, n);
		put(rf, "window", opt.window);
		window_results(rf, opt.members);
		if (opt.slow) {
			put(rf, "slow_clients", (double)opt.slow);
			put(rf, "slow_cut", (double)log_count(s.log, "event=output-cap"));
		}
		put(rf, "signin_s", signin);
		put(rf, "signin_per_s", (double)n / signin);
		put(rf, "server_rss_idle_kib", (double)rss0);
		put(rf, "server_rss_kib", (double)proc_kb(s.pid, "VmRSS"));
		put(rf, "server_hwm_kib", (double)proc_kb(s.pid, "VmHWM"));
		put(rf, "rss_per_client_kib", (double)(rss1 - rss0) / (double)n);
		put(rf, "rss_per_quiet_client_kib", (double)(rss_quiet - rss0) / (double)n);
		if (e.sample && (sample = malloc(e.sample_len)) != NULL) {
			memcpy(sample, e.sample, e.sample_len);
			sample_len = e.sample_len;
		}
	}
	if (want_latency) {
		uint64_t skipped;

		long before = opt.export_backlog > 0 ? events_waiting(&s) : 0, after;

		rate = opt.rate > 0 ? opt.rate : 75000.0 / (double)opt.members;
		skipped = latency_window(&e, s.pid, n, rate);
		after = opt.export_backlog > 0 ? events_waiting(&s) : 0;
		r = result_new("latency");
		chat_params(r, n);
		put(r, "rate_posts_per_s", rate);
		if (opt.export_backlog > 0) {
			/* The export must really run through the window. */
			progress("latency: export backlog %ld events before the window, %ld after", before, after);
			put(r, "export_backlog_before", (double)before);
			put(r, "export_backlog_after", (double)after);
		}
		window_results(r, opt.members);
		put(r, "skipped_posts", (double)skipped);
		if (opt.storm) {
			put(r, "storm_clients", (double)opt.storm);
			put(r, "storm_signed_in", (double)(e.ready - n - opt.churn));
			progress("latency: %zu of %zu storm clients signed in and joined", e.ready - n - opt.churn, opt.storm);
		}
		if (opt.churn) {
			put(r, "churn_clients", (double)opt.churn);
			put(r, "churn_per_s", (double)win.st.churn_done / win.wall);
			put(r, "churn_failed", (double)win.st.churn_failed);
			put(r, "churn_skipped", (double)win.churn_skipped);
			put(r, "churn_p50_ms", ms(hist_quantile(&win.st.churn, 0.50)));
			put(r, "churn_p99_ms", ms(hist_quantile(&win.st.churn, 0.99)));
			put(r, "churn_max_ms", ms(win.st.churn.max));
			put(r, "notices_per_s", (double)win.st.infos_other / win.wall);
			progress("latency: %.1f parts and joins/s answered (%llu refused, %llu not sent), reply p50 %.2f ms "
			         "p99 %.2f ms; other INFOs (notices) %.0f/s",
			         (double)win.st.churn_done / win.wall, (unsigned long long)win.st.churn_failed,
			         (unsigned long long)win.churn_skipped, ms(hist_quantile(&win.st.churn, 0.5)),
			         ms(hist_quantile(&win.st.churn, 0.99)), (double)win.st.infos_other / win.wall);
		}
	}
	if (want_capacity) {
		r = result_new("capacity");
		chat_params(r, n);
		capacity_sweep(&e, s.pid, n, r);
		if (sample == NULL && e.sample && (sample = malloc(e.sample_len)) != NULL) {
			memcpy(sample, e.sample, e.sample_len);
			sample_len = e.sample_len;
		}
	}
	suite = e.suite;
	beng_free(&e);
	tserver_stop(&s);
	if (rf && !frontend && !opt.skip_raw && sample)
		raw_ratios(rf, &s, n, sample, sample_len, suite);
	if (want_capacity && !opt.skip_raw && sample)
		raw_single(r, &s, n, sample, sample_len, suite);
	rc = 0;
out:
	free(sample);
	beng_free(&e);
	tserver_cleanup(&s);
	return rc;
}

/* ---- handshakes ---- */

static int handshake_burst(uint16_t port, pid_t server, double *per_s, double *per_cpu_s, double *client_cpu_pct,
                           double *server_cpu_pct, int *suite)
{
	static struct beng e;
	double cpu0, self0, wall;
	int64_t t0;
	int rc = -1;

	if (beng_init(&e, BC_MODE_TLS, port, opt.handshakes) < 0)
		goto out;
	e.close_after_handshake = 1;
	cpu0 = proc_cpu_or0(server);
	self0 = self_cpu_s();
	t0 = bench_now_ns();
	if (start_all(&e, opt.handshakes, opt.hs_concurrency, 300) < 0)
		goto out;
	wall = (double)(bench_now_ns() - t0) / 1e9;
	if (e.st.handshakes != opt.handshakes) {
		progress("handshake: %llu of %zu completed", (unsigned long long)e.st.handshakes, opt.handshakes);
		goto out;
	}
	*per_s = (double)e.st.handshakes / wall;
	*suite = e.suite;
	*client_cpu_pct = 100 * (self_cpu_s() - self0) / wall;
	*server_cpu_pct = 100 * (proc_cpu_or0(server) - cpu0) / wall;
	usleep(200000);     /* let the server finish closing them */
	*per_cpu_s = (double)e.st.handshakes / (proc_cpu_or0(server) - cpu0);
	rc = 0;
out:
	beng_free(&e);
	return rc;
}

static int scenario_handshake(void)
{
	struct tserver s;
	struct raw_server rs = { 0, 0 };
	struct raw_opts ro;
	struct result *r;
	char cert[400], key[400];
	double p_s = 0, p_cpu = 0, p_cc = 0, p_sc = 0, b_s = 0, b_cpu = 0, b_cc = 0, b_sc = 0;
	pid_t perf;
	int rc = -1, suite = 0, suite2 = 0;

	progress("handshake: bursts of %zu connections, %zu at a time", opt.handshakes, opt.hs_concurrency);
	if (srv_prepare(&s) < 0 || srv_launch(&s) < 0)
		goto out;
	perf = perf_start(s.pid, "handshake");
	rc = handshake_burst(s.port, s.pid, &p_s, &p_cpu, &p_cc, &p_sc, &suite);
	perf_stop(perf);
	if (rc < 0)
		goto out;
	srv_path(&s, "pchat.crt", cert, sizeof cert);
	srv_path(&s, "pchat.key", key, sizeof key);
	ro = (struct raw_opts){ RAW_HANDSHAKE, cert, key, 0, 0, NULL, 0, 1, suite };
	rc = -1;
	if (raw_start(&rs, &ro) < 0 || handshake_burst(rs.port, rs.pid, &b_s, &b_cpu, &b_cc, &b_sc, &suite2) < 0)
		goto out;
	if (suite2 != suite)
		progress("handshake: the bare server picked another ciphersuite (%d, pchat %d)", suite2, suite);
	r = result_new("handshake");
	put(r, "connections", (double)opt.handshakes);
	put(r, "concurrency", (double)opt.hs_concurrency);
	put(r, "pchat_per_s", p_s);
	put(r, "pchat_per_cpu_s", p_cpu);
	put(r, "pchat_client_cpu_pct", p_cc);
	put(r, "pchat_server_cpu_pct", p_sc);
	put(r, "raw_per_s", b_s);
	put(r, "raw_per_cpu_s", b_cpu);
	put(r, "raw_client_cpu_pct", b_cc);
	put(r, "raw_server_cpu_pct", b_sc);
	put(r, "ratio_wall", b_s > 0 ? p_s / b_s : 0);
	put(r, "ratio_cpu", b_cpu > 0 ? p_cpu / b_cpu : 0);
	put(r, "suite", suite);
	progress("handshake: pchat %.0f/s (%.0f per CPU-s), bare mbedTLS %.0f/s (%.0f per CPU-s); %s", p_s, p_cpu, b_s,
	         b_cpu, mbedtls_ssl_get_ciphersuite_name(suite));
	rc = 0;
out:
	if (rs.pid > 0)
		raw_stop(&rs);
	tserver_cleanup(&s);
	return rc;
}

/* ---- idle connections ---- */

static int scenario_idle(size_t count)
{
	static struct beng e;
	struct tserver s;
	struct result *r;
	char name[24];
	long rss0, rss1;
	double secs;
	int rc = -1;

	progress("idle: %zu TLS connections", count);
	if (srv_prepare(&s) < 0 || srv_launch(&s) < 0)
		goto out;
	usleep(500000);
	rss0 = proc_kb(s.pid, "VmRSS");
	if (beng_init(&e, BC_MODE_TLS, s.port, count) < 0)
		goto out;
	e.lean = 1;
	secs = start_all(&e, count, 256, 600);
	if (secs < 0)
		goto out;
	poll_for(&e, 1.0);
	rss1 = proc_kb(s.pid, "VmRSS");
	snprintf(name, sizeof name, "idle-%zu", count);
	r = result_new(name);
	put(r, "conns", (double)e.ready);
	put(r, "wanted", (double)count);
	put(r, "idle_server_rss_kib", (double)rss0);
	put(r, "server_rss_kib", (double)rss1);
	put(r, "server_hwm_kib", (double)proc_kb(s.pid, "VmHWM"));
	put(r, "rss_per_conn_kib", e.ready ? (double)(rss1 - rss0) / (double)e.ready : 0);
	put(r, "connect_s", secs);
	progress("idle: %zu connections held; server RSS %ld -> %ld KiB, %.1f KiB each", e.ready, rss0, rss1,
	         e.ready ? (double)(rss1 - rss0) / (double)e.ready : 0.0);
	rc = e.ready == count ? 0 : -1;
out:
	beng_free(&e);
	tserver_cleanup(&s);
	return rc;
}

/* ---- bccontext over a big room ---- */

static int fill_messages(const struct tserver *s, const char *guid_room, long count, double *secs)
{
	struct store *st = NULL;
	struct store_room room;
	char path[400], err[256], text[200];
	int64_t t0 = bench_now_ns(), id;
	int rc = -1;

	srv_path(s, "pchat.db", path, sizeof path);
	if (store_open(&st, path, err, sizeof err) != STORE_OK) {
		progress("bccontext: store_open: %s", err);
		return -1;
	}
	if (store_room_get_guid(st, guid_room, &room) != STORE_OK)
		goto out;
	for (long i = 0; i < count;) {
		if (store_begin(st) != STORE_OK)
			goto out;
		for (long k = 0; k < 20000 && i < count; k++, i++) {
			int n = snprintf(text, sizeof text, "history line %ld: the quick brown fox jumps over the lazy dog %ld",
			                 i, i * 7919 % 100003);

			if (store_message_add(st, room.id, "sip:u00000@example.org", 1700000000000000 + i * 1000, text,
			                      (size_t)n, "", 0, &id) != STORE_OK)
				goto out;
		}
		if (store_commit(st) != STORE_OK)
			goto out;
	}
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	rc = 0;
out:
	if (rc < 0)
		progress("bccontext: could not fill the store");
	store_close(st);
	return rc;
}

/* count bccontext requests one after another, each awaited (10 s at most):
 * the newest 25, or with words a full-text search for them, or with
 * numbered a search for a different number each time (one that stands in
 * about ten of the filled messages). */
static void bcc_requests(struct beng *e, int count, const char *words, int numbered)
{
	for (int i = 0; i < count && e->ready == 1; i++) {
		uint64_t before = e->st.bcc_done;
		int64_t end = bench_now_ns() + 10 * (int64_t)1000000000;
		char number[24];

		if (numbered) {
			snprintf(number, sizeof number, "%d", (i * 7919 + 13) % 100003);
			words = number;
		}
		beng_bccontext(e, 0, 25, words);
		while (e->st.bcc_done == before && bench_now_ns() < end && e->ready == 1)
			beng_poll(e, 10);
	}
}

/* A search window after the bccontext one, for words (NULL: a rare number
 * each time): its p50/p99 under name_p50_ms and name_p99_ms. */
static void search_phase(struct beng *e, struct result *r, const char *name, const char *words)
{
	char key[32];
	int count = opt.bcc_requests / 4 > 0 ? opt.bcc_requests / 4 : 1;

	beng_reset_stats(e);
	bcc_requests(e, count, words, words == NULL);
	snprintf(key, sizeof key, "%s_p50_ms", name);
	put(r, key, ms(hist_quantile(&e->st.bcc, 0.5)));
	snprintf(key, sizeof key, "%s_p99_ms", name);
	put(r, key, ms(hist_quantile(&e->st.bcc, 0.99)));
	snprintf(key, sizeof key, "%s_requests", name);
	put(r, key, (double)e->st.bcc_done);
	progress("bccontext: search for %s: p50 %.3f ms p99 %.3f ms over %llu requests", words ? words : "a rare number",
	         ms(hist_quantile(&e->st.bcc, 0.5)), ms(hist_quantile(&e->st.bcc, 0.99)),
	         (unsigned long long)e->st.bcc_done);
}

static int scenario_bccontext(void)
{
	static struct beng e;
	static char guids[1][40];
	struct tserver s;
	struct result *r;
	double fill = 0;
	pid_t perf;
	int rc = -1;

	progress("bccontext: filling a room with %ld messages", opt.messages);
	if (srv_prepare(&s) < 0 || srv_populate(&s, 1, 0, 1, guids) < 0 ||
	    fill_messages(&s, guids[0], opt.messages, &fill) < 0 || srv_launch(&s) < 0)
		goto out;
	progress("bccontext: fill took %.1f s (%.0f messages/s)", fill, (double)opt.messages / fill);
	if (beng_init(&e, BC_MODE_CHAT, s.port, 1) < 0)
		goto out;
	e.room_guid = guids;
	e.nrooms = 1;
	beng_assign(&e, 0, 0);
	if (start_all(&e, 1, 1, 60) < 0 || e.ready != 1)
		goto out;
	perf = 0;
	for (int phase = 0; phase < 2; phase++) {
		int count = phase ? opt.bcc_requests : 100;

		if (phase) {
			perf = perf_start(s.pid, "bccontext");
			beng_reset_stats(&e);
		}
		bcc_requests(&e, count, NULL, 0);
	}
	perf_stop(perf);
	r = result_new("bccontext");
	put(r, "messages", (double)opt.messages);
	put(r, "fill_s", fill);
	put(r, "fill_per_s", (double)opt.messages / fill);
	put(r, "requests", (double)e.st.bcc_done);
	put(r, "p50_ms", ms(hist_quantile(&e.st.bcc, 0.5)));
	put(r, "p99_ms", ms(hist_quantile(&e.st.bcc, 0.99)));
	put(r, "max_ms", ms(e.st.bcc.max));
	put(r, "failures", (double)e.st.failures);
	put(r, "server_rss_kib", (double)proc_kb(s.pid, "VmRSS"));
	progress("bccontext: p50 %.3f ms p99 %.3f ms max %.3f ms over %llu requests", ms(hist_quantile(&e.st.bcc, 0.5)),
	         ms(hist_quantile(&e.st.bcc, 0.99)), ms(e.st.bcc.max), (unsigned long long)e.st.bcc_done);
	rc = e.st.bcc_done == (uint64_t)opt.bcc_requests ? 0 : -1;
	/* Full-text search (FTS5) in the same room: a word in every message
	 * (the newest 25 of 1,000,000 matches) and a number in about ten. */
	search_phase(&e, r, "search_all", "fox");
	search_phase(&e, r, "search_rare", NULL);
out:
	beng_free(&e);
	tserver_cleanup(&s);
	return rc;
}

/* ---- file transfer: HTTPS PUT/GET and the SOAP service ---- */

/* One transfer, timed from files_begin to files_end. */
struct files_xfer {
	pid_t server;
	double cpu0;
	int64_t t0;
};

static void files_begin(struct files_xfer *x, pid_t server)
{
	x->server = server;
	x->cpu0 = proc_cpu_or0(server);
	x->t0 = bench_now_ns();
}

/* Its wall time and server CPU into r as NAME_mib_s and NAME_mib_per_cpu_s
 * (0 unless ok: it completed and the bytes matched); returns ok. */
static int files_end(const struct files_xfer *x, struct result *r, const char *name, double mib, int ok)
{
	double wall = (double)(bench_now_ns() - x->t0) / 1e9, cpu = proc_cpu_or0(x->server) - x->cpu0;
	char key[32];

	snprintf(key, sizeof key, "%s_mib_s", name);
	put(r, key, ok && wall > 0 ? mib / wall : 0);
	snprintf(key, sizeof key, "%s_mib_per_cpu_s", name);
	put(r, key, ok && cpu > 0 ? mib / cpu : 0);
	progress("files: %s %.0f MiB: %s, %.1f MiB/s, %.1f MiB per server CPU-s", name, mib, ok ? "ok" : "FAILED",
	         wall > 0 ? mib / wall : 0, cpu > 0 ? mib / cpu : 0);
	return ok;
}

/* --file-clients K downloads of bench.bin at once, each in its own process
 * with its own token and connection, each checking every byte: the
 * aggregate MiB/s and MiB per server CPU-s as get_parallel. */
static int files_get_parallel(const struct tserver *s, struct tuser *u, const char *guid, const unsigned char *data,
                              size_t len, struct result *r)
{
	struct ttoken tk[16];
	pid_t kids[16];
	struct files_xfer x;
	size_t k, started = 0, good = 0;
	int status;

	files_begin(&x, s->pid);
	for (k = 0; k < opt.file_clients; k++)
		if (tchat_get_token(u, 0, guid, "bench.bin", &tk[k]) != 200)
			return files_end(&x, r, "get_parallel", 0, 0);
	fflush(NULL);
	files_begin(&x, s->pid);
	for (k = 0; k < opt.file_clients; k++) {
		if ((kids[k] = fork()) == 0) {
			struct thttp h;
			int ok = thttp_get_file(&tk[k], &h) == 200 && h.body_len == len && memcmp(h.body, data, len) == 0;

			thttp_close(&h);
			_exit(ok ? 0 : 1);
		}
		started += kids[k] > 0;
	}
	for (k = 0; k < opt.file_clients; k++)
		if (kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			good++;
	put(r, "get_parallel_clients", (double)opt.file_clients);
	put(r, "get_parallel_ok", (double)good);
	return files_end(&x, r, "get_parallel", (double)(len >> 20) * (double)opt.file_clients,
	                 good == opt.file_clients && started == good);
}

/* A signed-in user moves one file of --file-mb MiB: up and down over HTTPS
 * (PUT/GET), then up and down over the SOAP service in 512 KiB chunks.
 * The bench's one blocking client encrypts, decrypts and (for SOAP) base64
 * codes every byte too, so MiB per server CPU-second is the server's figure.
 * -1 if a transfer failed. */
static int scenario_files(void)
{
	static char guids[1][40];
	static struct tuser u = { .name = "u00000" };
	size_t mib = opt.file_mb ? opt.file_mb : 32, len = mib << 20;
	unsigned char *data = malloc(len);
	struct files_xfer x;
	struct tserver s;
	struct result *r;
	struct ttoken tk;
	struct thttp h;
	struct buf got;
	char uname[64], repos[64];
	int ok, st, all = 1, rc = -1;

	buf_init(&got, len + (1u << 20));      /* room for a chunk's base64 before it is decoded */
	if (data == NULL || srv_prepare(&s) < 0 || srv_populate(&s, 1, 0, 1, guids) < 0 || srv_launch(&s) < 0)
		goto out;
	tchat_use(&s);
	tchat_fill(data, len, 7);
	if (tchat_sign_in(&u) < 0 || tchat_join(&u, guids[0]) != 200) {
		progress("files: could not sign in and join");
		goto out;
	}
	r = result_new("files");
	put(r, "file_mib", (double)mib);

	/* thttp_put_file and thttp_get_file set h up, so h is closed only after them */
	ok = tchat_get_token(&u, 1, guids[0], "bench.bin", &tk) == 200;
	files_begin(&x, s.pid);
	if (ok) {
		ok = thttp_put_file(&tk, data, len, &h) == 201;
		thttp_close(&h);
	}
	all &= files_end(&x, r, "put", (double)mib, ok);

	ok = tchat_get_token(&u, 0, guids[0], "bench.bin", &tk) == 200;
	files_begin(&x, s.pid);
	if (ok) {
		ok = thttp_get_file(&tk, &h) == 200 && h.body_len == len && memcmp(h.body, data, len) == 0;
		thttp_close(&h);
	}
	all &= files_end(&x, r, "get", (double)mib, ok);
	if (opt.file_clients > 1)
		all &= files_get_parallel(&s, &u, guids[0], data, len, r);

	ok = tchat_get_token(&u, 1, guids[0], "soap.bin", &tk) == 200;
	files_begin(&x, s.pid);
	ok = ok && tsoap_upload(tk.port, tk.token, guids[0], data, len, 512 << 10, uname) == 200;
	all &= files_end(&x, r, "soap_up", (double)mib, ok);

	/* downloads name the repository file the announcement gave */
	ok = ok && tsoap_repos_of(&u, "soap.bin", repos) == 0 && tchat_get_token(&u, 0, guids[0], "soap.bin", &tk) == 200;
	files_begin(&x, s.pid);
	if (ok && (st = tsoap_download(tk.port, tk.token, guids[0], repos, 512 << 10, &got)) != 200) {
		progress("files: SOAP download answered %d after %zu bytes", st, got.len);
		ok = 0;
	}
	all &= files_end(&x, r, "soap_down", (double)mib, ok && got.len == len && memcmp(buf_head(&got), data, len) == 0);
	put(r, "server_rss_kib", (double)proc_kb(s.pid, "VmRSS"));
	rc = all ? 0 : -1;
out:
	tchat_sign_out(&u);
	buf_free(&got);
	free(data);
	tserver_cleanup(&s);
	return rc;
}

/* ---- compliance export ---- */

static int count_event(void *arg, const struct store_event *ev)
{
	(void)ev;
	++*(long *)arg;
	return 0;
}

/* Bytes in the regular files of folder dir (not below it). */
static double dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	char path[1024];
	double total = 0;

	while (d && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			total += (double)sb.st_size;
	}
	if (d)
		closedir(d);
	return total;
}

static int scenario_export(void)
{
	struct tserver s;
	struct store *st = NULL;
	struct result *r;
	char path[400], err[256], out[4096];
	static char guids[1][40];
	double fill, secs, mib;
	int64_t t0;
	long left = 0;
	int status, rc = -1;

	if (srv_prepare(&s) < 0 || srv_populate(&s, 1, 0, 1, guids) < 0)
		goto out;
	/* Does this pchat have `export --now` yet?  Ask it on an empty store. */
	status = tserver_cli(&s, NULL, out, sizeof out, "export", "--now", NULL);
	if (status != 0) {
		out[strcspn(out, "\n")] = '\0';
		progress("export: not measured: `pchat export --now` answered %d (%s)", status, out);
		r = result_new("export");
		put(r, "available", 0);
		rc = 0;
		goto out;
	}
	progress("export: filling %ld compliance events", opt.events);
	srv_path(&s, "pchat.db", path, sizeof path);
	t0 = bench_now_ns();
	if (fill_events(path, guids[0], opt.events) < 0)
		goto out;
	fill = (double)(bench_now_ns() - t0) / 1e9;
	t0 = bench_now_ns();
	status = tserver_cli(&s, NULL, out, sizeof out, "export", "--now", NULL);
	secs = (double)(bench_now_ns() - t0) / 1e9;
	if (status != 0) {
		progress("export: failed (%d): %s", status, out);
		goto out;
	}
	/* Everything exported is deleted from the store: nothing may be left. */
	if (store_open(&st, path, err, sizeof err) != STORE_OK || store_event_each(st, 0, 10, count_event, &left) < 0 ||
	    left != 0) {
		progress("export: %ld events still in the store after the export", left);
		goto out;
	}
	r = result_new("export");
	put(r, "available", 1);
	put(r, "events", (double)opt.events);
	put(r, "fill_s", fill);
	put(r, "export_s", secs);
	put(r, "events_per_s", (double)opt.events / secs);
	progress("export: %ld events in %.2f s (%.0f/s)", opt.events, secs, (double)opt.events / secs);
	/* What an auditor's `pchat verify` of that folder costs. */
	t0 = bench_now_ns();
	status = tserver_cli(&s, NULL, out, sizeof out, "verify", NULL);
	secs = (double)(bench_now_ns() - t0) / 1e9;
	if (status != 0) {
		progress("export: verify failed (%d): %s", status, out);
		goto out;
	}
	srv_path(&s, "compliance", path, sizeof path);
	mib = dir_bytes(path) / 1048576.0;
	put(r, "export_mib", mib);
	put(r, "verify_s", secs);
	put(r, "verify_events_per_s", (double)opt.events / secs);
	put(r, "verify_mib_per_s", mib / secs);
	progress("export: pchat verify checked them (%.1f MiB) in %.2f s (%.0f events/s, %.0f MiB/s)", mib, secs,
	         (double)opt.events / secs, mib / secs);
	rc = 0;
out:
	if (rc < 0)
		progress("export: failed");
	store_close(st);
	tserver_cleanup(&s);
	return rc;
}

/* ---- main ---- */

/* 1 when the --scenario list names `name`, or `all`, or `default` and
 * default includes it. */
static int wants(const char *name)
{
	const char *p = opt.scenario;
	size_t len = strlen(name);
	int in_default = strcmp(name, "bccontext") != 0 && strcmp(name, "export") != 0 && strcmp(name, "files") != 0 &&
	                 strcmp(name, "capacity") != 0 && strcmp(name, "frontend") != 0;

	while (*p) {
		size_t n = strcspn(p, ",");

		if ((n == len && strncmp(p, name, n) == 0) || (n == 3 && strncmp(p, "all", 3) == 0) ||
		    (in_default && n == 7 && strncmp(p, "default", 7) == 0))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* 0 when every name of the comma-separated --scenario list is known (none
 * empty); else -1 with the first bad one said on stderr. */
static int check_scenarios(const char *list)
{
	static const char *const known[] = { "default", "all", "fanout", "latency", "capacity", "handshake", "idle",
		                             "bccontext", "export", "frontend", "files" };
	const char *p = list;

	if (strlen(list) > 200) {
		fprintf(stderr, "pchat-bench: --scenario list too long (try --help)\n");
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		int ok = 0;

		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok |= n == strlen(known[i]) && strncmp(p, known[i], n) == 0;
		if (!ok) {
			fprintf(stderr, "pchat-bench: unknown scenario \"%.*s\" (try --help)\n", (int)n, p);
			return -1;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* The run's front-end figures next to its standalone fanout figures (the
 * same invocation, so the same machine and moment): results [first, end). */
static void frontend_ratios(int first)
{
	struct result *fan = NULL, *fe = NULL;
	double fan_cpu, fan_wall, fe_cpu, fe_wall;
	int found;

	for (int i = first; i < nresults; i++) {
		if (!strcmp(results[i].scenario, "fanout"))
			fan = &results[i];
		else if (!strcmp(results[i].scenario, "frontend"))
			fe = &results[i];
	}
	if (fan == NULL || fe == NULL)
		return;
	fan_cpu = get(fan, "delivered_per_cpu_s", &found);
	fan_wall = get(fan, "delivered_per_s", &found);
	fe_cpu = get(fe, "delivered_per_cpu_s", &found);
	fe_wall = get(fe, "delivered_per_s", &found);
	put(fe, "ratio_fanout_cpu", fan_cpu > 0 ? fe_cpu / fan_cpu : 0);
	put(fe, "ratio_fanout_wall", fan_wall > 0 ? fe_wall / fan_wall : 0);
	progress("frontend / fanout: %.2fx per server CPU-s, %.2fx wall", fan_cpu > 0 ? fe_cpu / fan_cpu : 0,
	         fan_wall > 0 ? fe_wall / fan_wall : 0);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int failed = 0;

	if (parse_args(argc, argv) < 0 || check_scenarios(opt.scenario) < 0)
		return 2;
	if (access(opt.pchat, X_OK) != 0) {
		fprintf(stderr, "pchat-bench: %s: not an executable (use --pchat)\n", opt.pchat);
		return 2;
	}
	if (!strcmp(opt.scenario, "all") && opt.nidle == 1 && opt.idle_conns[0] == 2000) {
		opt.idle_conns[1] = 10000;
		opt.nidle = 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Many connections: both ends run in processes we start. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int run = 1; run <= opt.runs; run++) {
		int first = nresults;
		char rs[16];

		if (opt.runs > 1)
			progress("run %d of %d", run, opt.runs);
		if (wants("fanout") || wants("latency") || wants("capacity"))
			failed |= scenario_chat(wants("fanout"), wants("latency"), wants("capacity"), 0) < 0;
		if (wants("frontend")) {
			failed |= scenario_chat(1, 0, 0, 1) < 0;
			frontend_ratios(first);
		}
		if (wants("handshake"))
			failed |= scenario_handshake() < 0;
		for (size_t i = 0; wants("idle") && i < opt.nidle; i++) {
			if (opt.idle_conns[i] + 64 > (size_t)rl.rlim_cur)
				progress("idle: %zu connections need more file descriptors than the limit %llu", opt.idle_conns[i],
				         (unsigned long long)rl.rlim_cur);
			else
				failed |= scenario_idle(opt.idle_conns[i]) < 0;
		}
		if (wants("bccontext"))
			failed |= scenario_bccontext() < 0;
		if (wants("export"))
			failed |= scenario_export() < 0;
		if (wants("files"))
			failed |= scenario_files() < 0;
		snprintf(rs, sizeof rs, "%d", run);
		for (int i = first; i < nresults; i++)
			print_json(&results[i], rs);
	}
	if (opt.runs > 1) {
		const char *names[64];
		int nn = scenario_names(names, 64);

		for (int i = 0; i < nn; i++) {
			struct result med;

			if (result_median(names[i], &med) == 0) {
				put(&med, "runs", opt.runs);
				print_json(&med, "\"median\"");
			}
		}
	}
	if (!opt.json_only)
		print_table();
	return failed ? 1 : 0;
}
