/*
 * buf.c - see buf.h.  Growth doubles up to max; a consumed prefix is moved
 * away only when the buffer needs room, so reading many small messages out
 * of one large read costs no copying.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->off = b->len = b->size = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b, b->max);
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t want, size;
	unsigned char *p;

	if (n > b->max || b->len > b->max - n)
		return -1;
	if (b->size - b->off - b->len >= n)
		return 0;
	want = b->len + n;
	if (b->off > 0 && b->size >= want) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		return 0;
	}
	size = b->size ? b->size : 256;
	while (size < want)
		size = size > b->max / 2 ? b->max : size * 2;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	p = realloc(b->data, size);
	if (p == NULL)
		return -1;
	b->data = p;
	b->size = size;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(buf_tail(b), p, n);
	b->len += n;
	return 0;
}

int buf_insert(struct buf *b, size_t pos, const void *p, size_t n)
{
	unsigned char *at;

	if (pos > b->len)
		pos = b->len;
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	at = b->data + b->off + pos;
	memmove(at + n, at, b->len - pos);
	memcpy(at, p, n);
	b->len += n;
	return 0;
}

int buf_appends(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_strs(struct buf *b, const char *const *parts)
{
	size_t len[32], total = 0, n, k;
	unsigned char *at;

	/* Each length is measured once (for the first 32 pieces). */
	for (n = 0; parts[n]; n++) {
		k = strlen(parts[n]);
		if (n < sizeof len / sizeof len[0])
			len[n] = k;
		total += k;
	}
	if (total == 0)
		return 0;
	if (buf_reserve(b, total) < 0)
		return -1;
	at = buf_tail(b);
	for (size_t i = 0; i < n; i++) {
		k = i < sizeof len / sizeof len[0] ? len[i] : strlen(parts[i]);
		memcpy(at, parts[i], k);
		at += k;
	}
	b->len += total;
	return 0;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	size_t room = buf_room(b);
	va_list ap2;
	int n;

	/* Format straight into the free space; only a text that does not fit
	 * is formatted a second time, after making room.  (Fan-out formats
	 * every header this way, so measuring first doubled its cost.) */
	va_copy(ap2, ap);
	n = vsnprintf(room ? (char *)buf_tail(b) : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0 || b->len + (size_t)n + 1 > b->max)
		return -1;
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	/* +1 for the NUL vsnprintf writes; it is not counted in len. */
	if (buf_reserve(b, (size_t)n + 1) < 0)
		return -1;
	vsnprintf((char *)buf_tail(b), (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len)
		b->len = n;
}

void buf_commit(struct buf *b, size_t n)
{
	if (n > buf_room(b))
		n = buf_room(b);
	b->len += n;
}

int utf8_has_bidi_control(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == 0xd8 && p[i + 1] == 0x9c)
			return 1;                       /* U+061C ARABIC LETTER MARK */
		if (p[i] != 0xe2 || i + 2 >= len)
			continue;
		if (p[i + 1] == 0x80 && (p[i + 2] == 0x8e || p[i + 2] == 0x8f || (p[i + 2] >= 0xaa && p[i + 2] <= 0xae)))
			return 1;                       /* U+200E, U+200F, U+202A..U+202E */
		if (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			return 1;                       /* U+2066..U+2069 */
	}
	return 0;
}

int utf8_text_ok(const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p, need, cp;

		if (c < 0x80) {
			if ((c < 0x20 && !((flags & UTF8_LINES) && (c == '\n' || c == '\t'))) || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		if ((size_t)(end - p) <= need)
			return 0;
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff || cp == 0xfffe || cp == 0xffff || (cp >= 0x80 && cp < 0xa0))
			return 0;
		p += need + 1;
	}
	return 1;
}
