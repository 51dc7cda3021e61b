/*
 * buf.h - the one checked byte buffer.  Every bound is checked here, so
 * callers never do pointer arithmetic on network data.
 *
 * Valid bytes are data[off .. off+len).  Appends refuse (return -1) rather
 * than grow past max; consuming from the front just moves off, and space is
 * reclaimed by buf_reserve when it needs room.  Memory is owned by the buf
 * and released by buf_free.
 */
#ifndef PCHAT_BUF_H
#define PCHAT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	unsigned char *data;
	size_t off;     /* start of the valid bytes */
	size_t len;     /* number of valid bytes */
	size_t size;    /* allocated bytes */
	size_t max;     /* hard cap on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);

/* Make room for n more bytes at the end; -1 if len+n would pass max or
 * memory runs out.  Pointers from buf_head/buf_tail are invalid afterwards. */
int buf_reserve(struct buf *b, size_t n);

int buf_append(struct buf *b, const void *p, size_t n);
/* Insert n bytes before the valid byte at pos (clamped to len). */
int buf_insert(struct buf *b, size_t pos, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
/* Append the strings of the NULL-terminated list parts, in order, with one
 * reservation: the fan-out builds a header block per delivery this way, at
 * a fraction of what printf's format parsing costs. */
int buf_append_strs(struct buf *b, const char *const *parts);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Drop n bytes from the front (n is clamped to len). */
void buf_consume(struct buf *b, size_t n);
/* Drop everything after the first n bytes (n is clamped to len). */
void buf_truncate(struct buf *b, size_t n);

/* An empty buffer that never grew has no data: its head is "" rather than
 * NULL + 0, which C leaves undefined (clang's UBSan stops there). */
static inline const unsigned char *buf_head(const struct buf *b)
{
	return b->data ? b->data + b->off : (const unsigned char *)"";
}
static inline unsigned char *buf_tail(struct buf *b) { return b->data + b->off + b->len; }
/* Free bytes after the tail without reallocating. */
static inline size_t buf_room(const struct buf *b) { return b->size - b->off - b->len; }
/* Mark n bytes written at buf_tail (n <= buf_room). */
void buf_commit(struct buf *b, size_t n);

/* 1 if s[0..len) is text pchat keeps and shows: well-formed UTF-8 (no
 * overlong forms, surrogates or code points past U+10FFFF), no U+FFFE or
 * U+FFFF, and no control characters (C0, DEL, C1), except line breaks and
 * tabs when flags has UTF8_LINES (message text).  Else 0.  Control
 * characters would break the CLI's line- and tab-separated output, and XML
 * cannot carry them. */
#define UTF8_LINES 1u
int utf8_text_ok(const char *s, size_t len, unsigned flags);

/* 1 if the UTF-8 text s[0..len) holds a bidirectional control or format
 * character that can make displayed text differ from its bytes (U+061C,
 * U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), else 0.  For names and
 * topics users choose: "abc\u202Efdp.exe" shows as "abcexe.pdf".  Only
 * these exact 3-byte (2-byte for U+061C) encodings are looked for; the
 * input's other bytes need not be valid UTF-8. */
int utf8_has_bidi_control(const char *s, size_t len);

#endif
