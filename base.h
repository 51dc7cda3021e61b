/*
 * base.h - the ground floor: small primitives with one home each, used by
 * every module and depending on nothing of pchat's.
 */
#ifndef PCHAT_BASE_H
#define PCHAT_BASE_H

#include <stddef.h>
#include <stdint.h>

#define BASE_GUID_LEN 36    /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */

/* n bytes as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* v in decimal, or in lower-case hex with at least `width` digits
 * (zero-padded), NUL-terminated in out; returns the digits written.  For
 * the per-delivery header fields, where snprintf costs more than the rest
 * of the header. */
size_t u64_dec(uint64_t v, char out[21]);
size_t u64_hex(uint64_t v, unsigned width, char out[17]);

/* n bytes from the kernel's CSPRNG (getrandom); 0, or -1 with errno. */
int random_bytes(void *out, size_t n);

/* A random (version 4, RFC 9562 §5.4) GUID in lower-case hex, from
 * random_bytes; 0, or -1 when the kernel gave no randomness. */
int guid_v4(char out[BASE_GUID_LEN + 1]);

/* Room for one more element in a growable array: *arrayp (a pointer to the
 * array's pointer, of any element type) holds n elements of size bytes in
 * room for *cap; when full it is doubled (first elements the first time).
 * 0, or -1 (out of memory, or the size would overflow) with the array as
 * it was. */
int array_reserve(void *arrayp, size_t *cap, size_t n, size_t size, size_t first);

/* The wall clock: microseconds since 1970-01-01 UTC (for records and the
 * wire; timeouts use the loop's monotonic clock). */
int64_t wall_us(void);

/* Bounded decimal parsing of s[0..len) (never past it, no NUL needed): at
 * least one digit and nothing else (no sign, no spaces, no trailing bytes),
 * the value at most max.  0 with *out set, or -1 with *out untouched. */
int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
/* The same with an optional leading '-' (no '+'), the value in [min, max]. */
int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* A growable list of copied strings, e.g. the URIs a store callback hands
 * out.  strlist_add has the callbacks' shape (list, string): 0, or -1 when
 * memory runs out.  Zero-initialised is empty; strlist_free empties it. */
struct strlist {
	char **s;
	size_t n, cap;
};
int strlist_add(void *list, const char *s);
int strlist_has(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

#endif
