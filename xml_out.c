/*
 * xml_out.c - see xml_out.h.
 */
#include "xml_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


void xo_init(struct xml_out *o, size_t max)
{
	buf_init(&o->b, max);
	o->failed = 0;
}

void xo_raw(struct xml_out *o, const char *s, size_t n)
{
	if (!o->failed && buf_append(&o->b, s, n) < 0)
		o->failed = 1;
}

void xo_str(struct xml_out *o, const char *s)
{
	xo_raw(o, s, strlen(s));
}

void xo_fmt(struct xml_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->failed)
		return;
	va_start(ap, fmt);
	if (buf_vprintf(&o->b, fmt, ap) < 0)
		o->failed = 1;
	va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (of n > 0 bytes) that XML 1.0
 * allows as a character, or 0.  RFC 3629 §4: no overlongs, no surrogates,
 * nothing past U+10FFFF; XML 1.0 §2.2 also excludes U+FFFE and U+FFFF. */
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

size_t xml_esc_span(const char *s, size_t n, int attr, const char **rep, size_t *skip)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		*skip = 1;
		switch (p[i]) {
		case '&': *rep = "&amp;"; return i;
		case '<': *rep = "&lt;"; return i;
		case '>': *rep = "&gt;"; return i;
		case '\r': *rep = "&#13;"; return i;
		case '"':
			if (attr) {
				*rep = "&quot;";
				return i;
			}
			break;
		case '\n':
			if (attr) {
				*rep = "&#10;";
				return i;
			}
			break;
		case '\t':
			if (attr) {
				*rep = "&#9;";
				return i;
			}
			break;
		default:
			if (p[i] < 0x20 || (len = utf8_char(p + i, n - i)) == 0) {
				*rep = "\xef\xbf\xbd";       /* U+FFFD */
				return i;
			}
			i += len;
			continue;
		}
		i++;
	}
	*rep = "";
	*skip = 0;
	return n;
}

void xo_esc(struct xml_out *o, const char *s, size_t n, int attr)
{
	while (n > 0) {
		const char *rep;
		size_t skip, run = xml_esc_span(s, n, attr, &rep, &skip);

		xo_raw(o, s, run);
		if (run == n)
			break;
		xo_str(o, rep);
		s += run + skip;
		n -= run + skip;
	}
}

int xml_esc_str(char *out, size_t outlen, const char *s, int attr)
{
	size_t n = strlen(s), o = 0;

	while (n > 0) {
		const char *rep;
		size_t skip, run = xml_esc_span(s, n, attr, &rep, &skip), rlen = strlen(rep);

		if (run + rlen >= outlen - o)
			return -1;
		memcpy(out + o, s, run);
		memcpy(out + o + run, rep, rlen);
		o += run + rlen;
		s += run + skip;
		n -= run + skip;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

void xo_attr(struct xml_out *o, const char *name, const char *value)
{
	xo_fmt(o, " %s=\"", name);
	xo_esc(o, value, strlen(value), 1);
	xo_raw(o, "\"", 1);
}


/* ISO 8601 UTC with 7 fraction digits, as Lync servers send. */
void xo_time(int64_t ts_us, char out[64])
{
	time_t secs = (time_t)(ts_us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%07uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ts_us % 1000000) % 1000000u * 10u);
}


