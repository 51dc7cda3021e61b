/*
 * compliance_xml.c - see compliance_xml.h.  The events of a batch in memory
 * (grouped by room), a buffered writer that hashes as it writes, one XML
 * text policy (markup escaped, control characters and invalid UTF-8 made
 * U+FFFD), and the two formats.
 */
#include "compliance_xml.h"

#include <mbedtls/sha256.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WRITE_CHUNK 65536
#define TICKS_AT_EPOCH 621355968000000000LL     /* .NET ticks (100 ns since 0001-01-01) at 1970-01-01 */
#define ISO_LEN 96                      /* "2024-01-01T00:00:00.000Z", with room for any int */

/* ---- the batch in memory ----------------------------------------------------------- */

static char *pack(char **p, const char *s, size_t n)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = *p;
	memcpy(r, s, n);
	r[n] = '\0';
	*p += n + 1;
	return r;
}

int xbatch_collect(void *arg, const struct store_event *e)
{
	struct xbatch *xb = arg;
	size_t glen = e->room_guid ? strlen(e->room_guid) : 0, rlen = e->room_name ? strlen(e->room_name) : 0;
	size_t tlen = strlen(e->type), ulen = strlen(e->user_uri), clen = e->content ? e->content_len : 0;
	struct xev *x;
	char *p;

	if (xb->n == xb->cap) {
		size_t cap = xb->cap ? xb->cap * 2 : 256;
		struct xev **nev = realloc(xb->ev, cap * sizeof *nev);

		if (nev == NULL)
			goto oom;
		xb->ev = nev;
		xb->cap = cap;
	}
	x = malloc(sizeof *x + glen + rlen + tlen + ulen + clen + 5);
	if (x == NULL)
		goto oom;
	p = (char *)(x + 1);
	x->seq = e->seq;
	x->ts_us = e->ts_us;
	x->message_id = e->message_id;
	x->type = pack(&p, e->type, tlen);
	x->guid = pack(&p, e->room_guid, glen);
	x->room = pack(&p, e->room_name ? e->room_name : (e->room_guid ? "" : NULL), rlen);
	x->user = pack(&p, e->user_uri, ulen);
	x->content = pack(&p, e->content ? e->content : "", clen);
	x->content_len = clen;
	xb->ev[xb->n++] = x;
	return 0;
oom:
	xb->oom = 1;
	return STORE_E_IO;
}

void xbatch_free(struct xbatch *xb)
{
	for (size_t i = 0; i < xb->n; i++)
		free(xb->ev[i]);
	free(xb->ev);
	free(xb->order);
	free(xb->group_end);
	free(xb->attach_lines);
	memset(xb, 0, sizeof *xb);
}

/* Room-less events (guid NULL) form their own group. */
static int guid_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int by_room_then_seq(const void *pa, const void *pb, void *ctx)
{
	const struct xbatch *xb = ctx;
	const struct xev *a = xb->ev[*(const size_t *)pa], *b = xb->ev[*(const size_t *)pb];
	int c = guid_cmp(a->guid, b->guid);

	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

struct group { size_t start, end; int64_t first_seq; };

static int by_first_seq(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	return (a->first_seq > b->first_seq) - (a->first_seq < b->first_seq);
}

/* One Conversation per room per batch, rooms in the order they first appear
 * in the batch, each room's events in seq order: a function of the events
 * alone.  Returns 0 or -1 (out of memory). */
int xbatch_group(struct xbatch *xb)
{
	size_t *sorted = NULL, ng = 0, k = 0;
	struct group *g = NULL;
	int rc = -1;

	if (xb->n == 0)
		return 0;
	sorted = malloc(xb->n * sizeof *sorted);
	g = malloc(xb->n * sizeof *g);
	xb->order = malloc(xb->n * sizeof *xb->order);
	xb->group_end = malloc(xb->n * sizeof *xb->group_end);
	if (sorted == NULL || g == NULL || xb->order == NULL || xb->group_end == NULL)
		goto out;
	for (size_t i = 0; i < xb->n; i++)
		sorted[i] = i;
	qsort_r(sorted, xb->n, sizeof *sorted, by_room_then_seq, xb);
	for (size_t i = 0; i < xb->n; i++) {
		if (i == 0 || guid_cmp(xb->ev[sorted[i]]->guid, xb->ev[sorted[i - 1]]->guid) != 0) {
			g[ng].start = i;
			g[ng].first_seq = xb->ev[sorted[i]]->seq;
			ng++;
		}
		g[ng - 1].end = i + 1;
	}
	qsort(g, ng, sizeof *g, by_first_seq);
	for (size_t j = 0; j < ng; j++) {
		for (size_t i = g[j].start; i < g[j].end; i++)
			xb->order[k++] = sorted[i];
		xb->group_end[j] = k;
	}
	xb->ngroups = ng;
	rc = 0;
out:
	free(sorted);
	free(g);
	return rc;
}

/* ---- hashing file writer ----------------------------------------------------------- */

/* Buffered write() to fd with a running SHA-256 of every byte; the first
 * error sticks (errno value in err) and later writes are dropped. */
struct writer {
	int fd;
	int err;
	size_t len;
	mbedtls_sha256_context sha;
	char buf[WRITE_CHUNK];
};

static void w_flush(struct writer *w)
{
	size_t off = 0;

	while (w->err == 0 && off < w->len) {
		ssize_t r = write(w->fd, w->buf + off, w->len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->err = r < 0 ? errno : EIO;
			break;
		}
		off += (size_t)r;
	}
	w->len = 0;
}

static void w_raw(struct writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	mbedtls_sha256_update_ret(&w->sha, (const unsigned char *)s, n);
	while (n > 0 && w->err == 0) {
		size_t room = sizeof w->buf - w->len, take = n < room ? n : room;

		memcpy(w->buf + w->len, s, take);
		w->len += take;
		s += take;
		n -= take;
		if (w->len == sizeof w->buf)
			w_flush(w);
	}
}

static void w_str(struct writer *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

static __attribute__((format(printf, 2, 3))) void w_fmt(struct writer *w, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		w->err = w->err ? w->err : EOVERFLOW;   /* callers format numbers and names only */
		return;
	}
	w_raw(w, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (of n bytes) that XML 1.0 allows
 * as a character, or 0.  RFC 3629 §4: no overlongs, no surrogates, nothing
 * past U+10FFFF; XML 1.0 §2.2 also excludes U+FFFE and U+FFFF. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

/* Write s (n bytes, any bytes at all) as XML text or as a double-quoted
 * attribute value.  Markup characters become references; tab, LF and CR
 * become character references (so attribute normalisation keeps them);
 * other control characters and bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always well-formed. */
static void w_esc(struct writer *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0, i = 0;

	while (i < n) {
		const char *rep = NULL;
		size_t len = 1;

		switch (p[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\t': rep = "&#9;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		default:
			if (p[i] < 0x20 || (len = utf8_char(p + i, n - i)) == 0) {
				rep = "\xef\xbf\xbd";
				len = 1;
			}
		}
		if (rep == NULL) {
			i += len;
			continue;
		}
		w_raw(w, s + run, i - run);
		w_str(w, rep);
		i += len;
		run = i;
	}
	w_raw(w, s + run, n - run);
}

static void w_attr(struct writer *w, const char *name, const char *v)
{
	w_fmt(w, " %s=\"", name);
	w_esc(w, v, strlen(v));
	w_raw(w, "\"", 1);
}

/* ---- what the writers share -------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ms since 1970, its ISO 8601 form with milliseconds, and .NET ticks. */
static void time_forms(int64_t ts_us, int64_t *ms, char iso[ISO_LEN], int64_t *ticks)
{
	struct tm tm;
	time_t secs;

	*ms = floor_div(ts_us, 1000);
	*ticks = *ms * 10000 + TICKS_AT_EPOCH;
	secs = (time_t)floor_div(*ms, 1000);
	if (gmtime_r(&secs, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(iso, ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(*ms - floor_div(*ms, 1000) * 1000));
}

/* The parts of a user's SIP URI the formats want: without "sip:", the part
 * before '@' and whether its domain is ours (a URI without '@', such as
 * "admin", is the server's own and counts as internal). */
struct who {
	const char *bare;           /* "alice@example.org" */
	char name[STORE_URI_MAX];   /* "alice" */
	const char *email;          /* bare, or "" without '@' */
	int internal;
};

static void who_of(const char *uri, const char *domain, struct who *w)
{
	const char *at;

	w->bare = strncasecmp(uri, "sip:", 4) == 0 ? uri + 4 : uri;
	at = strchr(w->bare, '@');
	snprintf(w->name, sizeof w->name, "%.*s", (int)(at ? (size_t)(at - w->bare) : strlen(w->bare)), w->bare);
	w->email = at ? w->bare : "";
	w->internal = at == NULL || strcasecmp(at + 1, domain) == 0;
}

static void w_chan_uri(struct writer *w, const struct store_batch *b, const struct xev *x)
{
	if (x->guid == NULL)
		return;
	w_str(w, "ma-chan://");
	w_esc(w, b->domain, strlen(b->domain));
	w_str(w, "/");
	w_esc(w, x->guid, strlen(x->guid));
}

/* The first two lines of every batch file: the prolog, and a comment saying
 * which batch this is and the SHA-256 of the batch before it.  They are
 * part of the hashed bytes, so each file carries the hash of its
 * predecessor (the chain proper; the manifests repeat it for tools), and a
 * file cannot be renamed into another place of the chain unnoticed.
 * Returns the length, or -1 if out is too small.  A batch with FILEUPLOAD
 * events has a third line, compliance_attach_note's comment with the
 * SHA-256 of its manifest's attachment lines, so the chain covers those. */
#define HEADER_FMT "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<!-- pchat compliance export: batch %lld, events %lld (seq %lld..%lld), format %s," \
	" previous batch sha256 %s -->\n"

int compliance_header_text(const struct store_batch *b, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, HEADER_FMT, (long long)b->number, (long long)b->events, (long long)b->first_seq,
	                 (long long)b->last_seq, b->format, b->prev_sha256);

	return n > 0 && (size_t)n < outlen ? n : -1;
}

static void w_header(struct writer *w, const struct store_batch *b, const struct xbatch *xb)
{
	char h[COMPLIANCE_HEADER_MAX];
	int n = compliance_header_text(b, h, sizeof h);

	if (n < 0)
		w->err = w->err ? w->err : EOVERFLOW;
	else
		w_raw(w, h, (size_t)n);
	w_str(w, xb->attach_note);
}

/* ---- Lync XML adapter schema ------------------------------------------------------- */

static void lync_time(struct writer *w, const char *indent, const char *elem, int64_t ts_us)
{
	int64_t ms, ticks;
	char iso[ISO_LEN];

	time_forms(ts_us, &ms, iso, &ticks);
	w_fmt(w, "%s<%s since1970=\"%lld\" string=\"%s\" long=\"%lld\"/>\n", indent, elem, (long long)ms, iso,
	      (long long)ticks);
}

/* <Message> or <FirstMessage>: type, content, id (the message id for CHAT,
 * else 0), the Sender and the time. */
static void lync_message(struct writer *w, const struct store_batch *b, const char *indent, const char *elem,
                         const struct xev *x)
{
	struct who who;
	char in2[16];

	who_of(x->user, b->domain, &who);
	snprintf(in2, sizeof in2, "%s  ", indent);
	w_fmt(w, "%s<%s", indent, elem);
	w_attr(w, "type", x->type);
	w_str(w, " content=\"");
	w_esc(w, x->content, x->content_len);
	w_fmt(w, "\" id=\"%lld\">\n", (long long)(strcmp(x->type, "CHAT") == 0 ? x->message_id : 0));
	w_fmt(w, "%s<Sender", in2);
	w_attr(w, "UserName", who.name);
	w_attr(w, "id", x->user);
	w_attr(w, "email", who.email);
	w_attr(w, "internal", who.internal ? "true" : "false");
	w_attr(w, "uri", who.bare);
	w_str(w, "/>\n");
	lync_time(w, in2, "DateTimeUTC", x->ts_us);
	w_fmt(w, "%s</%s>\n", indent, elem);
}

static void write_lync(struct writer *w, const struct store_batch *b, const struct xbatch *xb)
{
	size_t start = 0;

	w_header(w, b, xb);
	w_str(w, "<Conversations xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	         " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n");
	for (size_t g = 0; g < xb->ngroups; g++) {
		const struct xev *first = xb->ev[xb->order[start]], *last = xb->ev[xb->order[xb->group_end[g] - 1]];

		w_str(w, "  <Conversation>\n    <Channel uri=\"");
		w_chan_uri(w, b, first);
		w_str(w, "\"");
		w_attr(w, "name", first->room ? first->room : "");
		w_str(w, "/>\n");
		lync_message(w, b, "    ", "FirstMessage", first);
		w_str(w, "    <Messages>\n");
		for (size_t i = start; i < xb->group_end[g]; i++)
			lync_message(w, b, "      ", "Message", xb->ev[xb->order[i]]);
		w_str(w, "    </Messages>\n");
		lync_time(w, "    ", "StartTimeUTC", first->ts_us);
		lync_time(w, "    ", "EndTimeUTC", last->ts_us);
		w_str(w, "  </Conversation>\n");
		start = xb->group_end[g];
	}
	w_str(w, "</Conversations>\n");
}

/* ---- Actiance-style XML ------------------------------------------------------------ */

/* <NAME>text</NAME> on its own line. */
static void act_elem(struct writer *w, const char *indent, const char *name, const char *v, size_t n)
{
	w_fmt(w, "%s<%s>", indent, name);
	w_esc(w, v, n);
	w_fmt(w, "</%s>\n", name);
}

/* One event inside a Conversation: participants entering and leaving,
 * messages, file transfers; history reads and admin changes as Event. */
static void act_event(struct writer *w, const struct store_batch *b, const struct xev *x, const char *conv_id)
{
	const char *in = "      ";
	const char *elem;
	struct who who;
	char secs[24];

	who_of(x->user, b->domain, &who);
	snprintf(secs, sizeof secs, "%lld", (long long)floor_div(x->ts_us, 1000000));
	if (!strcmp(x->type, "JOIN"))
		elem = "ParticipantEntered";
	else if (!strcmp(x->type, "PART"))
		elem = "ParticipantLeft";
	else if (!strcmp(x->type, "CHAT"))
		elem = "Message";
	else if (!strcmp(x->type, "FILEUPLOAD") || !strcmp(x->type, "FILEDOWNLOAD"))
		elem = "FileTransfer";
	else
		elem = "Event";
	w_fmt(w, "    <%s>\n", elem);
	act_elem(w, in, "LoginName", who.bare, strlen(who.bare));
	act_elem(w, in, "DateTimeUTC", secs, strlen(secs));
	if (!strcmp(elem, "ParticipantEntered") || !strcmp(elem, "ParticipantLeft")) {
		act_elem(w, in, "InternalFlag", who.internal ? "true" : "false", who.internal ? 4 : 5);
	} else if (!strcmp(elem, "Message")) {
		w_fmt(w, "%s<MessageID>%lld</MessageID>\n", in, (long long)x->message_id);
		act_elem(w, in, "Content", x->content, x->content_len);
	} else if (!strcmp(elem, "FileTransfer")) {
		act_elem(w, in, "Direction", x->type[4] == 'U' ? "upload" : "download", x->type[4] == 'U' ? 6 : 8);
		act_elem(w, in, "FileName", x->content, x->content_len);
	} else {
		act_elem(w, in, "Type", x->type, strlen(x->type));
		act_elem(w, in, "Content", x->content, x->content_len);
	}
	act_elem(w, in, "ConversationID", conv_id, strlen(conv_id));
	w_fmt(w, "    </%s>\n", elem);
}

static void write_actiance(struct writer *w, const struct store_batch *b, const struct xbatch *xb)
{
	size_t start = 0;

	w_header(w, b, xb);
	w_str(w, "<FileDump>\n");
	for (size_t g = 0; g < xb->ngroups; g++) {
		const struct xev *first = xb->ev[xb->order[start]], *last = xb->ev[xb->order[xb->group_end[g] - 1]];
		const char *conv_id = first->guid ? first->guid : "server";

		w_str(w, "  <Conversation Perspective=\"pchat\">\n    <RoomID>");
		w_chan_uri(w, b, first);
		w_str(w, "</RoomID>\n");
		act_elem(w, "    ", "RoomName", first->room ? first->room : "", first->room ? strlen(first->room) : 0);
		w_fmt(w, "    <StartTimeUTC>%lld</StartTimeUTC>\n", (long long)floor_div(first->ts_us, 1000000));
		for (size_t i = start; i < xb->group_end[g]; i++)
			act_event(w, b, xb->ev[xb->order[i]], conv_id);
		w_fmt(w, "    <EndTimeUTC>%lld</EndTimeUTC>\n", (long long)floor_div(last->ts_us, 1000000));
		w_str(w, "  </Conversation>\n");
		start = xb->group_end[g];
	}
	w_str(w, "</FileDump>\n");
}

/* ---- one file ------------------------------------------------------------------------ */

int compliance_xml_write(int fd, const struct store_batch *b, const struct xbatch *xb, const char *text,
                         unsigned char digest[32])
{
	struct writer *w = malloc(sizeof *w);
	int err;

	if (w == NULL)
		return ENOMEM;
	w->fd = fd;
	w->err = 0;
	w->len = 0;
	mbedtls_sha256_init(&w->sha);
	mbedtls_sha256_starts_ret(&w->sha, 0);
	if (text != NULL)
		w_str(w, text);
	else if (!strcmp(b->format, "actiance"))
		write_actiance(w, b, xb);
	else
		write_lync(w, b, xb);
	w_flush(w);
	mbedtls_sha256_finish_ret(&w->sha, digest);
	mbedtls_sha256_free(&w->sha);
	err = w->err;
	free(w);
	return err;
}
