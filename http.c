/*
 * http.c - see http.h.
 */
#include "http.h"

#include <string.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A byte no decoded text may hold: NUL and the controls but TAB, CR, LF
 * (a textarea sends CR LF). */
static int control_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

long http_pct_decode(const char *in, size_t len, int plus_space, char *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return HTTP_E_SPACE;
	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = hex_value(in[i + 1])) < 0 || (lo = hex_value(in[i + 2])) < 0)
				return HTTP_E_MALFORMED;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (control_byte(c))
			return HTTP_E_MALFORMED;
		if (n + 1 >= cap)
			return HTTP_E_SPACE;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

int http_target_split(const char *t, size_t len, char *path, size_t cap, const char **query, size_t *qlen)
{
	const char *q;
	size_t plen;
	long n;

	*query = t + len;
	*qlen = 0;
	if (cap > 0)
		path[0] = '\0';
	/* Absolute form: drop the scheme and authority. */
	if ((len > 8 && strncasecmp(t, "https://", 8) == 0) || (len > 7 && strncasecmp(t, "http://", 7) == 0)) {
		size_t skip = t[4] == ':' ? 7 : 8;
		const char *slash = memchr(t + skip, '/', len - skip);

		if (slash == NULL)
			return HTTP_E_MALFORMED;
		len -= (size_t)(slash - t);
		t = slash;
	}
	if (len == 0 || t[0] != '/')
		return HTTP_E_MALFORMED;
	q = memchr(t, '?', len);
	plen = q ? (size_t)(q - t) : len;
	if (q) {
		*query = q + 1;
		*qlen = len - plen - 1;
	}
	if (memchr(t, '#', plen) != NULL)
		return HTTP_E_MALFORMED;
	if ((n = http_pct_decode(t, plen, 0, path, cap)) < 0)
		return (int)n;
	/* No CR/LF/TAB either (control_byte lets those through for form text),
	 * and no dot segments: a path names one thing. */
	for (long i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x20)
			return HTTP_E_MALFORMED;
		if (c == '/' && path[i + 1] == '.' &&
		    (path[i + 2] == '/' || path[i + 2] == '\0' ||
		     (path[i + 2] == '.' && (path[i + 3] == '/' || path[i + 3] == '\0'))))
			return HTTP_E_MALFORMED;
	}
	return HTTP_OK;
}

/* RFC 6265 §4.1.1 cookie-octet. */
static int cookie_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
	       (c >= 0x5d && c <= 0x7e);
}

int http_cookie_get(const char *hdr, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), i = 0;

	if (cap > 0)
		out[0] = '\0';
	while (i < len) {
		size_t start, end, vstart, vend;

		while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == ';'))
			i++;
		start = i;
		while (i < len && hdr[i] != ';')
			i++;
		end = i;
		/* One pair: NAME=VALUE within [start, end). */
		{
			const char *eq = memchr(hdr + start, '=', end - start);

			if (eq == NULL)
				continue;       /* not a pair: ignored, as browsers do */
			vstart = (size_t)(eq - hdr) + 1;
			vend = end;
			while (vend > vstart && (hdr[vend - 1] == ' ' || hdr[vend - 1] == '\t'))
				vend--;
			if ((size_t)(eq - hdr) - start != nlen || memcmp(hdr + start, name, nlen) != 0)
				continue;
		}
		if (vend - vstart >= 2 && hdr[vstart] == '"' && hdr[vend - 1] == '"') {
			vstart++;
			vend--;
		}
		for (size_t k = vstart; k < vend; k++)
			if (!cookie_octet((unsigned char)hdr[k]))
				return HTTP_E_MALFORMED;
		if (vend - vstart >= cap)
			return HTTP_E_SPACE;
		memcpy(out, hdr + vstart, vend - vstart);
		out[vend - vstart] = '\0';
		return 1;
	}
	return 0;
}

int http_form_next(const char *body, size_t len, size_t *pos, char *name, size_t ncap, char *value, size_t vcap)
{
	if (len > HTTP_FORM_MAX)
		return HTTP_E_SPACE;
	while (*pos < len) {
		size_t start = *pos, end, eq;
		const char *amp = memchr(body + start, '&', len - start);
		long rn, rv;

		end = amp ? (size_t)(amp - body) : len;
		*pos = amp ? end + 1 : len;
		if (end == start)
			continue;
		{
			const char *e = memchr(body + start, '=', end - start);

			eq = e ? (size_t)(e - body) : end;
		}
		rn = http_pct_decode(body + start, eq - start, 1, name, ncap);
		rv = eq < end ? http_pct_decode(body + eq + 1, end - eq - 1, 1, value, vcap)
		              : http_pct_decode("", 0, 1, value, vcap);
		if (rn == HTTP_E_MALFORMED || rv == HTTP_E_MALFORMED)
			return HTTP_E_MALFORMED;
		if (rn < 0 || rv < 0)
			return HTTP_E_SPACE;
		return 1;
	}
	return 0;
}

int http_form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
	char fname[64];
	size_t pos = 0;
	int rc;

	if (cap > 0)
		out[0] = '\0';
	for (;;) {
		size_t before = pos;

		rc = http_form_next(body, len, &pos, fname, sizeof fname, out, cap);
		if (rc == 0 || rc == HTTP_E_MALFORMED)
			return rc;
		if (rc == HTTP_E_SPACE) {
			/* Too long for us: fatal only if it is the field asked for. */
			size_t nlen = strlen(name);
			const char *piece = body + before;

			while ((size_t)(piece - body) < len && *piece == '&')
				piece++;
			if (len - (size_t)(piece - body) > nlen && memcmp(piece, name, nlen) == 0 && piece[nlen] == '=')
				return HTTP_E_SPACE;
			if (pos == before || len > HTTP_FORM_MAX)
				return HTTP_E_SPACE;
			continue;
		}
		if (strcmp(fname, name) == 0)
			return 1;
	}
}
