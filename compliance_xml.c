/*
 * compliance_xml.c - see compliance_xml.h.  The events of a batch in memory
 * (grouped by room), a buffered writer that hashes as it writes (escaping
 * by xml_out.c's one XML text policy), and the two formats.
 */
#include "compliance_xml.h"
#include "base.h"
#include "room_uri.h"
#include "xml_out.h"

#include <mbedtls/sha256.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
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

	if (array_reserve(&xb->ev, &xb->cap, xb->n, sizeof *xb->ev, 256) < 0)
		goto oom;
	x = malloc(sizeof *x + glen + rlen + tlen + ulen + clen + 5);
	if (x == NULL)
		goto oom;
	p = (char *)(x + 1);
	x->seq = e->seq;
	x->ts_us = e->ts_us;
	x->message_id = e->message_id;
	x->type = pack(&p, e->type, tlen);
	x->kind = compliance_type_find(x->type);
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

/* Write s (n bytes, any bytes at all) as a double-quoted attribute value
 * or as text, by xml_out.c's one policy (so the output is always
 * well-formed; both formats escape text as attribute values). */
static void w_esc(struct writer *w, const char *s, size_t n)
{
	while (n > 0) {
		const char *rep;
		size_t skip, run = xml_esc_span(s, n, 1, &rep, &skip);

		w_raw(w, s, run);
		if (run == n)
			break;
		w_str(w, rep);
		s += run + skip;
		n -= run + skip;
	}
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

/* room_uri.c's "ma-chan://DOMAIN/GUID" ("ma-chan://DOMAIN" for no room), escaped. */
static void w_room_uri(struct writer *w, const struct store_batch *b, const char *guid)
{
	char uri[ROOM_URI_MAX];
	int n = room_uri_format(uri, sizeof uri, b->domain, guid);

	if (n < 0)
		w->err = w->err ? w->err : EOVERFLOW;
	else
		w_esc(w, uri, (size_t)n);
}

static void w_chan_uri(struct writer *w, const struct store_batch *b, const struct xev *x)
{
	if (x->guid != NULL)
		w_room_uri(w, b, x->guid);
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

/* The schema's xs:int, the type of Sender/@id and Message/@id. */
#define XS_INT_MAX 2147483647LL

/* An event the schema has no type for (ADMIN): a processing instruction. */
static int is_admin(const struct xev *x)
{
	return x->kind != NULL && x->kind->lync_type == NULL;
}

/*
 * Sender/@id: the schema wants a number per user (xs:int).  pchat has none
 * that never changes: a deleted user's row id comes back for the next user
 * added (the users table has no AUTOINCREMENT), "admin" and users of other
 * domains have no row at all, and a look-up in the store would make the
 * bytes depend on more than the events (a user deleted between a crashed
 * export and its retry would change a planned batch).  So the id is the
 * URI's alone: the first four bytes of the SHA-256 of the bare URI (without
 * "sip:", as written in Sender/@uri), big-endian, modulo 2^31 - 1, plus 1.
 * The same user has the same id in every batch, for good; two of n users
 * share one with a probability near n^2 / 2^32 (doc/compliance-formats.md),
 * which is why Sender/@uri stays the key to match users on.
 */
static int64_t lync_user_id(const char *bare)
{
	unsigned char d[32];
	uint32_t v;

	mbedtls_sha256_ret((const unsigned char *)bare, strlen(bare), d, 0);
	v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | (uint32_t)d[3];
	return (int64_t)(v % XS_INT_MAX) + 1;
}

/* Message/@id: a CHAT's message id, 0 for the other types (as Lync does).
 * An id past the xs:int range (2^31 messages) wraps into 1..2^31-1:
 * ((id - 1) mod (2^31 - 1)) + 1; a negative one (never written) likewise. */
static int64_t lync_message_id(const struct xev *x)
{
	if (x->kind == NULL || !x->kind->message_id)
		return 0;
	if (x->message_id >= 0 && x->message_id <= XS_INT_MAX)
		return x->message_id;
	if (x->message_id > XS_INT_MAX)
		return (x->message_id - 1) % XS_INT_MAX + 1;
	return x->message_id % XS_INT_MAX + XS_INT_MAX;
}

static void lync_time(struct writer *w, const char *indent, const char *elem, int64_t ts_us)
{
	int64_t ms, ticks;
	char iso[ISO_LEN];

	time_forms(ts_us, &ms, iso, &ticks);
	w_fmt(w, "%s<%s since1970=\"%lld\" string=\"%s\" long=\"%lld\"/>\n", indent, elem, (long long)ms, iso,
	      (long long)ticks);
}

/* <Message> or <FirstMessage>: type, content, id, the Sender and the time. */
static void lync_message(struct writer *w, const struct store_batch *b, const char *indent, const char *elem,
                         const struct xev *x)
{
	struct who who;
	char in2[16];

	who_of(x->user, b->domain, &who);
	snprintf(in2, sizeof in2, "%s  ", indent);
	w_fmt(w, "%s<%s", indent, elem);
	w_attr(w, "type", x->kind ? x->kind->lync_type : x->type);
	w_str(w, " content=\"");
	w_esc(w, x->content, x->content_len);
	w_fmt(w, "\" id=\"%lld\">\n", (long long)lync_message_id(x));
	w_fmt(w, "%s<Sender", in2);
	w_attr(w, "UserName", who.name);
	w_fmt(w, " id=\"%lld\"", (long long)lync_user_id(who.bare));
	w_attr(w, "email", who.email);
	w_attr(w, "internal", who.internal ? "true" : "false");
	w_attr(w, "uri", who.bare);
	w_str(w, "/>\n");
	lync_time(w, in2, "DateTimeUTC", x->ts_us);
	w_fmt(w, "%s</%s>\n", indent, elem);
}

/*
 * An ADMIN event, for which the schema's type enumeration has no value, as
 * a processing instruction after the root element, in seq order:
 *   <?pchat-admin seq="7" since1970="..." string="..." uri="admin"
 *       channel="ma-chan://DOMAIN/GUID" name="Room A" content="..."?>
 * Schema validation and XSLT pass over it, and it is in the batch file, so
 * it is exported exactly once and covered by the batch's SHA-256 and the
 * chain like every other byte.  Its values are escaped as attribute values
 * (w_esc writes '>' as "&gt;"), so "?>" cannot occur inside.
 */
static void lync_admin(struct writer *w, const struct store_batch *b, const struct xev *x)
{
	int64_t ms, ticks;
	char iso[ISO_LEN];
	struct who who;

	who_of(x->user, b->domain, &who);
	time_forms(x->ts_us, &ms, iso, &ticks);
	w_fmt(w, "<?pchat-admin seq=\"%lld\" since1970=\"%lld\" string=\"%s\"", (long long)x->seq, (long long)ms, iso);
	w_attr(w, "uri", who.bare);
	w_str(w, " channel=\"");
	w_chan_uri(w, b, x);
	w_str(w, "\"");
	w_attr(w, "name", x->room ? x->room : "");
	w_str(w, " content=\"");
	w_esc(w, x->content, x->content_len);
	w_str(w, "\"?>\n");
}

/* One Conversation per room of the events other than ADMIN (a room with
 * only ADMIN events has none), then the ADMIN events. */
static void write_lync(struct writer *w, const struct store_batch *b, const struct xbatch *xb)
{
	size_t start = 0;

	w_header(w, b, xb);
	w_str(w, "<Conversations xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	         " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n");
	for (size_t g = 0; g < xb->ngroups; start = xb->group_end[g], g++) {
		const struct xev *first = NULL, *last = NULL;

		for (size_t i = start; i < xb->group_end[g]; i++) {
			const struct xev *x = xb->ev[xb->order[i]];

			if (!is_admin(x)) {
				first = first ? first : x;
				last = x;
			}
		}
		if (first == NULL)
			continue;
		w_str(w, "  <Conversation>\n    <Channel uri=\"");
		w_chan_uri(w, b, first);
		w_str(w, "\"");
		w_attr(w, "name", first->room ? first->room : "");
		w_str(w, "/>\n");
		lync_message(w, b, "    ", "FirstMessage", first);
		w_str(w, "    <Messages>\n");
		for (size_t i = start; i < xb->group_end[g]; i++)
			if (!is_admin(xb->ev[xb->order[i]]))
				lync_message(w, b, "      ", "Message", xb->ev[xb->order[i]]);
		w_str(w, "    </Messages>\n");
		lync_time(w, "    ", "StartTimeUTC", first->ts_us);
		lync_time(w, "    ", "EndTimeUTC", last->ts_us);
		w_str(w, "  </Conversation>\n");
	}
	w_str(w, "</Conversations>\n");
	for (size_t i = 0; i < xb->n; i++)
		if (is_admin(xb->ev[i]))
			lync_admin(w, b, xb->ev[i]);
}

/* ---- Actiance (Smarsh) FileDump XML ------------------------------------------------ */

#define ACT_IN "      "

/* <NAME>text</NAME> on its own line. */
static void act_elem(struct writer *w, const char *name, const char *v, size_t n)
{
	w_fmt(w, ACT_IN "<%s>", name);
	w_esc(w, v, n);
	w_fmt(w, "</%s>\n", name);
}

/* Times are milliseconds since 1970 (UTC), the since1970 of the Lync form. */
static void act_time(struct writer *w, const char *indent, const char *name, int64_t ts_us)
{
	w_fmt(w, "%s<%s>%lld</%s>\n", indent, name, (long long)floor_div(ts_us, 1000), name);
}

/* The room's channel URI; "ma-chan://DOMAIN" for events of no room. */
static void act_room_id(struct writer *w, const struct store_batch *b, const struct xev *x)
{
	w_room_uri(w, b, x->guid);
}

/* ParticipantEntered or ParticipantLeft of user at ts_us in the
 * conversation of event conv. */
static void act_participant(struct writer *w, const struct store_batch *b, const char *elem, const char *user,
                            int64_t ts_us, const struct xev *conv)
{
	struct who who;

	who_of(user, b->domain, &who);
	w_fmt(w, "    <%s>\n", elem);
	act_elem(w, "LoginName", who.bare, strlen(who.bare));
	act_elem(w, "UserType", "user", 4);
	act_time(w, ACT_IN, "DateTimeUTC", ts_us);
	act_elem(w, "InternalFlag", who.internal ? "true" : "false", who.internal ? 4 : 5);
	w_str(w, ACT_IN "<ConversationID>");
	act_room_id(w, b, conv);
	w_str(w, "</ConversationID>\n");
	act_elem(w, "CorporateEmailID", who.email, strlen(who.email));
	w_fmt(w, "    </%s>\n", elem);
}

/* The path of file id's copy as this batch's manifest names it
 * ("BASE.ATTACH/ID-NAME"), in *p and *n; 0 when it has none. */
static int attach_path(const struct xbatch *xb, int64_t id, const char **p, size_t *n)
{
	char key[40];
	int klen = snprintf(key, sizeof key, "attachment %lld ", (long long)id);

	for (const char *l = xb->attach_lines; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len > (size_t)klen && memcmp(l, key, (size_t)klen) == 0) {
			const char *path = l + klen, *sp = memchr(path, ' ', len - (size_t)klen);

			if (sp == NULL)
				return 0;       /* "attachment ID missing" */
			*p = path;
			*n = (size_t)(sp - path);
			return 1;
		}
		l += len + (nl != NULL);
	}
	return 0;
}

/* One event inside a Conversation: JOIN and PART as participants entering
 * and leaving, a file upload or download as FileTransferStarted and
 * FileTransferEnded (an upload's FileName is its archived copy: the only
 * mark of direction the format leaves), everything else (CHAT, BACKCHAT,
 * ADMIN) as Message. */
static void act_event(struct writer *w, const struct store_batch *b, const struct xbatch *xb, const struct xev *x,
                      const struct xev *conv)
{
	struct who who;

	enum compliance_actiance act = x->kind ? x->kind->actiance : COMPLIANCE_ACT_MESSAGE;

	if (act == COMPLIANCE_ACT_ENTERED || act == COMPLIANCE_ACT_LEFT) {
		act_participant(w, b, x->kind->actiance_elem, x->user, x->ts_us, conv);
		return;
	}
	who_of(x->user, b->domain, &who);
	if (act == COMPLIANCE_ACT_FILE) {
		const char *path = x->content;
		size_t plen = x->content_len;

		if (x->kind->attachment)
			attach_path(xb, x->message_id, &path, &plen);
		for (int end = 0; end < 2; end++) {
			w_fmt(w, end ? "    <%sEnded>\n" : "    <%sStarted>\n", x->kind->actiance_elem);
			act_elem(w, "LoginName", who.bare, strlen(who.bare));
			act_time(w, ACT_IN, "DateTimeUTC", x->ts_us);
			act_elem(w, "UserFileName", x->content, x->content_len);
			act_elem(w, "FileName", path, plen);
			if (end)
				act_elem(w, "Status", "Completed", 9);
			w_fmt(w, end ? "    </%sEnded>\n" : "    </%sStarted>\n", x->kind->actiance_elem);
		}
		return;
	}
	w_str(w, "    <Message>\n");
	if (x->kind != NULL && x->kind->message_id) {
		w_fmt(w, ACT_IN "<MessageId>%lld</MessageId>\n", (long long)x->message_id);
	} else {
		char kind[24];
		size_t k;

		for (k = 0; x->type[k] != '\0' && k < sizeof kind - 1; k++)
			kind[k] = (char)tolower((unsigned char)x->type[k]);
		kind[k] = '\0';
		w_str(w, ACT_IN "<MessageId>pchat-");
		w_esc(w, kind, k);
		w_fmt(w, "-%lld</MessageId>\n", (long long)x->seq);
	}
	act_elem(w, "LoginName", who.bare, strlen(who.bare));
	act_elem(w, "UserType", "user", 4);
	act_time(w, ACT_IN, "DateTimeUTC", x->ts_us);
	act_elem(w, "Content", x->content, x->content_len);
	w_str(w, "    </Message>\n");
}

/* A user of one conversation: where the user first and last appears. */
struct act_user {
	const struct xev *first, *last;
};

static int by_user_then_seq(const void *pa, const void *pb)
{
	const struct xev *a = *(const struct xev *const *)pa, *b = *(const struct xev *const *)pb;
	int c = strcmp(a->user, b->user);

	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int by_first_appearance(const void *pa, const void *pb)
{
	const struct act_user *a = pa, *b = pb;

	return (a->first->seq > b->first->seq) - (a->first->seq < b->first->seq);
}

/* The users of events ev[0..n), each with its first and last event, in the
 * order they first appear; the count, or -1 when out of memory. */
static ptrdiff_t act_users(const struct xev **ev, size_t n, struct act_user **out)
{
	const struct xev **by_user = malloc(n * sizeof *by_user);
	struct act_user *u = malloc(n * sizeof *u);
	size_t k = 0;

	if (by_user == NULL || u == NULL) {
		free(by_user);
		free(u);
		return -1;
	}
	memcpy(by_user, ev, n * sizeof *by_user);
	qsort(by_user, n, sizeof *by_user, by_user_then_seq);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(by_user[i]->user, by_user[i - 1]->user) != 0)
			u[k++].first = by_user[i];
		u[k - 1].last = by_user[i];
	}
	free(by_user);
	qsort(u, k, sizeof *u, by_first_appearance);
	*out = u;
	return (ptrdiff_t)k;
}

/*
 * One Conversation per room (rooms in the order they first appear), as the
 * Actiance import wants a chat room's period: the roster first (a
 * ParticipantEntered at StartTimeUTC for everyone seen in the room whose
 * first event is not a JOIN: they were there when the period began), the
 * events in seq order, and the roster last (a ParticipantLeft at EndTimeUTC
 * for everyone whose last event is not a PART: still there at its end).
 * Presence is known from events only: a member who did nothing in the
 * period is not in its roster.
 */
static void write_actiance(struct writer *w, const struct store_batch *b, const struct xbatch *xb)
{
	const struct xev **ev = xb->n ? malloc(xb->n * sizeof *ev) : NULL;
	size_t start = 0;

	if (xb->n && ev == NULL) {
		w->err = w->err ? w->err : ENOMEM;
		return;
	}
	w_header(w, b, xb);
	w_str(w, "<FileDump xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
	for (size_t g = 0; g < xb->ngroups && w->err == 0; start = xb->group_end[g], g++) {
		size_t n = xb->group_end[g] - start;
		const struct xev *first, *last;
		struct act_user *users = NULL;
		ptrdiff_t nu;

		for (size_t i = 0; i < n; i++)
			ev[i] = xb->ev[xb->order[start + i]];
		first = ev[0];
		last = ev[n - 1];
		if ((nu = act_users(ev, n, &users)) < 0) {
			w->err = w->err ? w->err : ENOMEM;
			break;
		}
		w_str(w, "  <Conversation");
		w_attr(w, "Perspective", first->guid == NULL ? "pchat server" : first->room && first->room[0] ? first->room
		                                                                                            : first->guid);
		w_str(w, ">\n    <RoomID>");
		act_room_id(w, b, first);
		w_str(w, "</RoomID>\n");
		act_time(w, "    ", "StartTimeUTC", first->ts_us);
		for (ptrdiff_t u = 0; u < nu; u++)
			if (users[u].first->kind == NULL || users[u].first->kind->actiance != COMPLIANCE_ACT_ENTERED)
				act_participant(w, b, "ParticipantEntered", users[u].first->user, first->ts_us, first);
		for (size_t i = 0; i < n; i++)
			act_event(w, b, xb, ev[i], first);
		for (ptrdiff_t u = 0; u < nu; u++)
			if (users[u].last->kind == NULL || users[u].last->kind->actiance != COMPLIANCE_ACT_LEFT)
				act_participant(w, b, "ParticipantLeft", users[u].first->user, last->ts_us, first);
		act_time(w, "    ", "EndTimeUTC", last->ts_us);
		w_str(w, "  </Conversation>\n");
		free(users);
	}
	w_str(w, "</FileDump>\n");
	free(ev);
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
