/*
 * base.c - see base.h.
 */
#include "base.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

size_t u64_dec(uint64_t v, char out[21])
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t u64_hex(uint64_t v, unsigned width, char out[17])
{
	static const char digits[] = "0123456789abcdef";
	size_t n = 1;

	if (width > 16)
		width = 16;
	while (n < 16 && (v >> (4 * n)) != 0)
		n++;
	if (n < width)
		n = width;
	for (size_t i = 0; i < n; i++)
		out[n - 1 - i] = digits[(v >> (4 * i)) & 15];
	out[n] = '\0';
	return n;
}

int random_bytes(void *out, size_t n)
{
	unsigned char *p = out;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int guid_v4(char out[BASE_GUID_LEN + 1])
{
	unsigned char b[16];
	char hex[33];
	size_t o = 0;

	if (random_bytes(b, sizeof b) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10 */
	hex_encode(b, sizeof b, hex);
	for (size_t i = 0; i < 32; i += 2) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hex[i];
		out[o++] = hex[i + 1];
	}
	out[o] = '\0';
	memset(b, 0, sizeof b);
	return 0;
}

int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int array_reserve(void *arrayp, size_t *cap, size_t n, size_t size, size_t first)
{
	void *old, *grown;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	if (want <= n || size == 0 || want > SIZE_MAX / size)
		return -1;
	memcpy(&old, arrayp, sizeof old);
	if ((grown = realloc(old, want * size)) == NULL)
		return -1;
	memcpy(arrayp, &grown, sizeof grown);
	*cap = want;
	return 0;
}

int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';

		if (d > 9 || d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	int neg = len > 0 && s[0] == '-';
	uint64_t mag, limit = neg ? (min < 0 ? (uint64_t)-(min + 1) + 1 : 0) : (max < 0 ? 0 : (uint64_t)max);
	int64_t v;

	if (min > max || (!neg && max < 0) || parse_u64(s + neg, len - (size_t)neg, limit, &mag) < 0)
		return -1;
	v = neg ? (mag == 0 ? 0 : -(int64_t)(mag - 1) - 1) : (int64_t)mag;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int strlist_add(void *list, const char *s)
{
	struct strlist *l = list;
	char *copy;

	if (array_reserve(&l->s, &l->cap, l->n, sizeof *l->s, 16) < 0)
		return -1;
	if ((copy = strdup(s)) == NULL)
		return -1;
	l->s[l->n++] = copy;
	return 0;
}

int strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->s[i], s) == 0)
			return 1;
	return 0;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof *l);
}
