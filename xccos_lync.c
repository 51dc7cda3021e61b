/*
 * xccos_lync.c - see xccos_lync.h.
 *
 * Every value read here comes from a libxml2 tree xccos.c parsed with its
 * limits; each is checked for length and form before it is kept, and
 * nothing read here is ever written back unescaped.  Static names carry an
 * xl_ prefix: the unit tests #include the chat service into one program.
 */
#include "xccos_lync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HISTORY_DEFAULT_CNT 25  /* what sipe asks for, and the answer to a bare <bcq/> */

/* ---- small readers ---- */

/* The attribute as a string into out[outlen]: 1 if present and it fits, 0
 * if absent, -1 if longer. */
static int xl_attr(xmlNodePtr n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	size_t len;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	len = strlen((const char *)v);
	if (len >= outlen) {
		xmlFree(v);
		return -1;
	}
	memcpy(out, v, len + 1);
	xmlFree(v);
	return 1;
}

/* A non-negative decimal number of at most 18 digits. */
static int xl_number(const char *s, long long *out)
{
	long long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 18)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* "true"/"false" (also 1/0, as .NET's XmlConvert reads them). */
static int xl_bool(xmlNodePtr n, const char *name, int *out)
{
	char v[8];
	int rc = xl_attr(n, name, v, sizeof v);

	if (rc <= 0)
		return rc;      /* absent keeps the default */
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 1;
}

/* ISO 8601 UTC as xo_time writes it ("2024-02-29T09:03:12.4180000Z"; the
 * fraction optional, up to 7 digits) to microseconds. */
static int xl_time(const char *s, int64_t *us)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	long frac = 0;
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
		return -1;
	s += used;
	if (*s == '.') {
		int digits = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			if (digits >= 7)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
		if (digits == 0)
			return -1;
		for (int k = digits; k < 6; k++)
			frac *= 10;
		if (digits == 7)
			frac /= 10;
	}
	if (strcmp(s, "Z") != 0 || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*us = (int64_t)t * 1000000 + frac;
	return 0;
}

/* ---- history ---- */

static int xl_count(xmlNodePtr n, const char *name, long *out)
{
	char v[24];
	long long num;
	int rc = xl_attr(n, name, v, sizeof v);

	if (rc <= 0)
		return rc;
	/* sipe writes cnt="25"; a negative count asks for nothing. */
	if (v[0] == '-' && xl_number(v + 1, &num) == 0) {
		*out = 0;
		return 1;
	}
	/* A count past 18 digits is just large: the server's limit applies. */
	if (strspn(v, "0123456789") == strlen(v) && strlen(v) > 18) {
		*out = 1000000;
		return 1;
	}
	if (xl_number(v, &num) < 0)
		return -1;
	*out = num > 1000000 ? 1000000 : (long)num;
	return 1;
}

/* <query>: the UCMA ChatHistoryQueryOptions, one attribute per property
 * in lowerCamelCase, the authors as <author uri/> children (an unverified
 * guess: doc/protocol-notes.md). */
static int xl_query(xmlNodePtr n, struct lync_history *h)
{
	char v[64];
	long long num;
	int exact = 0, match_case = 0, newest = 0, sort_rev = 0, rc;

	h->form = HISTORY_QUERY;
	if ((rc = xl_attr(n, "startingMessageId", v, sizeof v)) < 0 || (rc > 0 && xl_number(v, &num) < 0))
		return -1;
	h->q.start_id = rc > 0 ? num : 0;
	if ((rc = xl_attr(n, "dateBeginning", v, sizeof v)) < 0 || (rc > 0 && xl_time(v, &h->q.from_us) < 0))
		return -1;
	if ((rc = xl_attr(n, "dateEnding", v, sizeof v)) < 0 || (rc > 0 && xl_time(v, &h->q.to_us) < 0))
		return -1;
	if (xl_count(n, "resultLimit", &h->cnt) < 0 || xl_bool(n, "searchOrderReversed", &newest) < 0 ||
	    xl_bool(n, "sortOrderReversed", &sort_rev) < 0 || xl_bool(n, "matchExactPhrase", &exact) < 0 ||
	    xl_bool(n, "matchCaseSensitive", &match_case) < 0)
		return -1;
	h->q.newest_first = newest;
	h->newest_first_out = sort_rev;
	h->q.exact = exact;
	h->q.match_case = match_case;
	if (xmlHasProp(n, (const xmlChar *)"searchString")) {
		xmlChar *s = xmlGetProp(n, (const xmlChar *)"searchString");

		if (s == NULL || strlen((const char *)s) >= STORE_TEXT_MAX) {
			xmlFree(s);
			return -1;
		}
		h->words = strdup((const char *)s);
		xmlFree(s);
		if (h->words == NULL)
			return -1;
		h->q.text = h->words;
	}
	for (xmlNodePtr c = n->children; c; c = c->next) {
		char uri[STORE_URI_MAX];

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, "author") != 0 || h->n_authors == STORE_QUERY_AUTHORS_MAX ||
		    xl_attr(c, "uri", uri, sizeof uri) != 1 || uri[0] == '\0')
			return -1;
		if ((h->authors[h->n_authors] = strdup(uri)) == NULL)
			return -1;
		h->n_authors++;
	}
	h->q.authors = (const char *const *)h->authors;
	h->q.n_authors = h->n_authors;
	return 0;
}

int lync_history_parse(xmlNodePtr bcq, struct lync_history *h)
{
	xmlNodePtr form = NULL;

	memset(h, 0, sizeof *h);
	h->form = HISTORY_LAST;
	h->cnt = HISTORY_DEFAULT_CNT;
	h->q.newest_first = 1;
	for (xmlNodePtr c = bcq ? bcq->children : NULL; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (form != NULL)
			return -1;      /* two forms: which one was meant is unknown */
		form = c;
	}
	if (form == NULL)
		return 0;
	if (!strcmp((const char *)form->name, "last"))
		return xl_count(form, "cnt", &h->cnt) < 0 ? -1 : 0;
	if (!strcmp((const char *)form->name, "search")) {
		xmlChar *w = xmlNodeGetContent(form);

		h->form = HISTORY_SEARCH;
		if (w == NULL || strlen((const char *)w) >= STORE_TEXT_MAX || xl_count(form, "cnt", &h->cnt) < 0) {
			xmlFree(w);
			return -1;
		}
		h->words = strdup((const char *)w);
		xmlFree(w);
		return h->words ? 0 : -1;
	}
	if (!strcmp((const char *)form->name, "query"))
		return xl_query(form, h);
	return -1;
}

void lync_history_free(struct lync_history *h)
{
	free(h->words);
	for (size_t i = 0; i < h->n_authors; i++)
		free(h->authors[i]);
	h->words = NULL;
	h->n_authors = 0;
}

void lync_history_describe(const struct lync_history *h, size_t returned, struct xml_out *o)
{
	static const char *const names[] = { "last", "search", "query" };

	xo_fmt(o, "%s cnt=%ld returned=%zu", names[h->form], h->cnt, returned);
	if (h->form == HISTORY_QUERY) {
		xo_fmt(o, " start=%lld newest_first=%d from_us=%lld to_us=%lld exact=%d case=%d authors=%zu",
		       (long long)h->q.start_id, h->q.newest_first, (long long)h->q.from_us, (long long)h->q.to_us,
		       h->q.exact, h->q.match_case, h->n_authors);
		for (size_t i = 0; i < h->n_authors; i++)
			xo_fmt(o, "%s%s", i ? "," : " ", h->authors[i]);
	}
	if (h->words) {
		xo_str(o, " words=");
		xo_raw(o, h->words, strlen(h->words));
	}
}

/* ---- post attributes ---- */

/* The attributes the server writes on every post it sends. */
static const char *const server_owned[] = { "id", "seqid", "chanUri", "author", "ts", "msgId", NULL };

static int xl_server_owned(const char *name)
{
	for (size_t i = 0; server_owned[i]; i++)
		if (strcasecmp(server_owned[i], name) == 0)
			return 1;
	return strncasecmp(name, "xml", 3) == 0;
}

/* An XML name we can write back as it is: a letter or '_', then letters,
 * digits, '_', '-', '.'; no colon (no prefix). */
static int xl_plain_name(const char *s)
{
	size_t n = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= POST_ATTR_NAME_MAX ||
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

int lync_post_attrs(xmlNodePtr post, struct xml_out *o)
{
	size_t kept = 0;

	for (xmlAttrPtr a = post->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		xmlChar *v;
		int ok;

		if (a->ns != NULL || strchr(name, ':') || xl_server_owned(name))
			continue;
		if (!xl_plain_name(name) || ++kept > POST_ATTRS_MAX)
			return -1;
		v = xmlNodeGetContent((xmlNodePtr)a);
		ok = v != NULL && strlen((const char *)v) <= POST_ATTR_VALUE_MAX;
		if (ok)
			xo_attr(o, name, (const char *)v);
		xmlFree(v);
		if (!ok)
			return -1;
	}
	return o->failed ? -1 : 0;
}

/* ---- preferences ---- */

static int xl_base64(const xmlChar *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' || c == '/' ||
		      c == '='))
			return 0;
	}
	return 1;
}

int lync_pref_parse(xmlNodePtr pref, struct lync_pref *p)
{
	char seq[24];
	long long num;
	int rc;

	memset(p, 0, sizeof *p);
	p->seqid = -1;
	if (pref == NULL || xl_attr(pref, "label", p->label, sizeof p->label) != 1 || p->label[0] == '\0')
		return -1;
	/* Labels are echoed and keyed on: printable text only. */
	for (const unsigned char *c = (const unsigned char *)p->label; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return -1;
	if ((rc = xl_attr(pref, "seqid", seq, sizeof seq)) < 0 || (rc > 0 && xl_number(seq, &num) < 0))
		return -1;
	if (rc > 0)
		p->seqid = num;
	if (xl_bool(pref, "createdefault", &p->create_default) < 0)
		return -1;
	p->content = xmlGetProp(pref, (const xmlChar *)"content");
	if (p->content) {
		p->content_len = strlen((const char *)p->content);
		if (p->content_len > PREF_CONTENT_MAX || !xl_base64(p->content, p->content_len)) {
			xmlFree(p->content);
			p->content = NULL;
			return -1;
		}
	}
	return 0;
}
