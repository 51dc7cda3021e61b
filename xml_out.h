/*
 * xml_out.h - building XML text for the wire: a buf whose first failure
 * sticks (so a builder appends freely and checks once, before sending), and
 * escaping for element text and attributes.  "xo" = XML output.
 */
#ifndef PCHAT_XML_OUT_H
#define PCHAT_XML_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A reply under construction: a buf whose first failure sticks, so builders
 * append freely and check once. */
struct xml_out {
	struct buf b;
	int failed;
};

/* Start empty with a hard cap of max bytes; release with buf_free(&o->b). */
void xo_init(struct xml_out *o, size_t max);
/* Append bytes as they are (already XML). */
void xo_raw(struct xml_out *o, const char *s, size_t n);
void xo_str(struct xml_out *o, const char *s);
void xo_fmt(struct xml_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The one XML text policy of everything pchat writes (the wire, both
 * archive formats, provisioning): any bytes in, well-formed XML out.
 * Markup characters become references; CR always, and in attributes also
 * LF, TAB and '"', become character references (so parsers keep them);
 * other control characters, and bytes that are not a valid UTF-8 character
 * XML 1.0 allows, become U+FFFD.  The archives write everything as
 * attribute text (attr = 1).
 *
 * xml_esc_span: the length of the run at s[0..n) that is written as it is;
 * when that is less than n, the *skip bytes after it are written as *rep
 * (at n, *rep is "" and *skip 0).
 */
size_t xml_esc_span(const char *s, size_t n, int attr, const char **rep, size_t *skip);
/* Append s escaped by that policy, as element text (attr = 0) or a
 * double-quoted attribute value (attr = 1). */
void xo_esc(struct xml_out *o, const char *s, size_t n, int attr);
/* The NUL-terminated s escaped the same way into out (at most 6 bytes per
 * byte of s, plus the NUL): its length, or -1 when out is too small. */
int xml_esc_str(char *out, size_t outlen, const char *s, int attr);
/* Append ` name="value"` with value escaped. */
void xo_attr(struct xml_out *o, const char *name, const char *value);
/* ISO 8601 UTC with 7 fraction digits ("2024-02-29T09:03:12.4180000Z"), as
 * Lync servers send; out must hold 64 bytes. */
void xo_time(int64_t ts_us, char out[64]);

#endif
