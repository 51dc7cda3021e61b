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

/* Escape for element text (attr = 0) or a double-quoted attribute (attr = 1).
 * CR and, in attributes, LF and TAB become character references so XML
 * parsers do not normalise them away. */
void xo_esc(struct xml_out *o, const char *s, size_t n, int attr)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		case '\r': rep = "&#13;"; break;
		case '\n': rep = attr ? "&#10;" : NULL; break;
		case '\t': rep = attr ? "&#9;" : NULL; break;
		default:
			/* Control characters are not allowed in XML 1.0 at all. */
			if ((unsigned char)s[i] < 0x20)
				rep = "";
		}
		if (rep) {
			xo_raw(o, s + start, i - start);
			xo_str(o, rep);
			start = i + 1;
		}
	}
	xo_raw(o, s + start, n - start);
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


