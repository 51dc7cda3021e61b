/*
 * http.h - the pieces of HTTP the web service needs beyond framing (which
 * sip_msg_parse does for SIP and HTTP alike): the request target split into
 * a percent-decoded path and a raw query, one cookie out of a Cookie header,
 * and the fields of an application/x-www-form-urlencoded body or query.
 * Pure functions over (buffer, length): no allocation, no state, nothing
 * read past the given length; fuzzed by tests/fuzz/fuzz_http.c.  HTML and
 * attribute text is escaped with xml_out.h's xo_esc (one escaper).
 */
#ifndef PCHAT_HTTP_H
#define PCHAT_HTTP_H

#include <stddef.h>

#define HTTP_PATH_MAX 512               /* bytes incl. NUL of a decoded path */
#define HTTP_FORM_MAX (64u * 1024)      /* bytes of a form body (or query) parsed */

enum {
	HTTP_OK = 0,
	HTTP_E_MALFORMED = -1,  /* a bad escape, a NUL or control byte, a bad shape */
	HTTP_E_SPACE = -2       /* the output buffer (or a cap) is too small */
};

/* Decode %XX escapes (and '+' as a space when plus_space) of in[0..len)
 * into out (cap bytes, always NUL-terminated when cap > 0).  A decoded NUL
 * or other control byte (< 0x20, 0x7f) other than TAB, CR and LF is
 * malformed, as is a '%' not followed by two hex digits.  Returns the
 * decoded length (>= 0), HTTP_E_MALFORMED or HTTP_E_SPACE. */
long http_pct_decode(const char *in, size_t len, int plus_space, char *out, size_t cap);

/* Split a request target (origin form "/a/b?q", or absolute form
 * "https://host/a/b?q", RFC 7230 §5.3) into the decoded path (into path,
 * cap bytes) and the query (*query, *qlen: a slice of t after '?', not
 * decoded; len 0 when absent).  The path must start with '/', hold no
 * control bytes, and no "." or ".." segment once decoded.  Returns
 * HTTP_OK, HTTP_E_MALFORMED or HTTP_E_SPACE. */
int http_target_split(const char *t, size_t len, char *path, size_t cap, const char **query, size_t *qlen);

/* The value of the first cookie called name in a Cookie header value
 * ("a=1; b=2", RFC 6265 §4.2.1), quotes removed, not decoded, into out
 * (cap bytes).  Returns 1 (found), 0 (absent), HTTP_E_MALFORMED (a value
 * with a byte RFC 6265 does not allow) or HTTP_E_SPACE. */
int http_cookie_get(const char *hdr, size_t len, const char *name, char *out, size_t cap);

/* The next field of a form body or query ("a=1&b=x%20y", at most
 * HTTP_FORM_MAX bytes) from *pos on: its decoded name and value into name
 * (ncap) and value (vcap); *pos moves past it.  Empty pieces ("&&") are
 * skipped.  Returns 1 (a field), 0 (no more), HTTP_E_MALFORMED or
 * HTTP_E_SPACE (then *pos has still moved past the field). */
int http_form_next(const char *body, size_t len, size_t *pos, char *name, size_t ncap, char *value, size_t vcap);

/* The first field called name, decoded into out (cap bytes).  Returns 1,
 * 0 (absent), HTTP_E_MALFORMED or HTTP_E_SPACE. */
int http_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

#endif
