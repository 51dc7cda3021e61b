/*
 * sip.h - SIP messages: a pure parser over (buffer, length) that returns
 * slices into the buffer, header lookup, and the pieces used to build
 * messages.  Nothing here allocates, keeps state or touches the network, so
 * it is unit-tested by tables and fuzzed directly.  The HTTP file endpoint
 * shares the grammar (RFC 3261 §7 follows HTTP/1.1), and this parser.
 */
#ifndef PCHAT_SIP_H
#define PCHAT_SIP_H

#include <stddef.h>
#include <stdint.h>

#define SIP_HEADERS_CAP 256     /* compile-time ceiling; the ini sets the live cap */

/* A view into someone else's bytes; never NUL-terminated. */
struct sip_str {
	const char *p;
	size_t len;
};

struct sip_header {
	struct sip_str name;
	struct sip_str value;   /* trimmed; a folded value spans its CRLF+WS */
};

struct sip_limits {
	size_t max_header_bytes;    /* start line + headers + the blank line */
	size_t max_headers;
	size_t max_body_bytes;
};

enum sip_kind { SIP_REQUEST = 1, SIP_RESPONSE = 2 };

/* Errors; each maps to one status code (sip_error_status). */
enum {
	SIP_E_MALFORMED = -1,   /* 400 */
	SIP_E_TOO_LARGE = -2,   /* 513: header block or body over the limits */
	SIP_E_NO_LENGTH = -3,   /* 400: RFC 3261 §18.3 Content-Length is mandatory on streams */
	SIP_E_VERSION = -4,     /* 505 */
	SIP_E_TOO_MANY = -5     /* 513: more headers than max_headers */
};

struct sip_msg {
	enum sip_kind kind;
	struct sip_str method;      /* request */
	struct sip_str uri;         /* request */
	struct sip_str version;     /* "SIP/2.0" or "HTTP/1.1" */
	int status;                 /* response */
	struct sip_str reason;      /* response */
	size_t nheaders;
	struct sip_header headers[SIP_HEADERS_CAP];
	size_t content_length;
	struct sip_str body;
	size_t header_bytes;        /* bytes up to and including the blank line */
};

/* Number of CR/LF bytes at the start of buf (keep-alives between messages). */
size_t sip_skip_crlf(const char *buf, size_t len);

/* Parse one message from the start of buf (which must not start with CR/LF).
 * version_prefix is "SIP/" or "HTTP/".  Returns the bytes the message takes
 * (> 0), 0 if more bytes are needed, or a SIP_E_* code.  m holds slices into
 * buf, valid while buf is unchanged. */
long sip_msg_parse(struct sip_msg *m, const char *buf, size_t len,
                   const struct sip_limits *lim, const char *version_prefix);

/* First header with this name (case-insensitive; compact is the RFC 3261
 * §7.3.3 one-letter form, or 0).  Returns NULL if absent. */
const struct sip_str *sip_msg_header(const struct sip_msg *m, const char *name, char compact);

/* Status code and reason phrase for a SIP_E_* code. */
int sip_error_status(long err, const char **reason);

/* Slice helpers. */
int sip_str_eq(struct sip_str s, const char *lit);          /* exact */
int sip_str_ieq(struct sip_str s, const char *lit);         /* ASCII case-insensitive */
struct sip_str sip_str_trim(struct sip_str s);
/* Decimal, in [min, max]; 0 or -1.  The only way numbers leave the wire. */
int sip_parse_uint(struct sip_str s, uint64_t min, uint64_t max, uint64_t *out);

/* Pieces of name-addr headers (From, To, Contact; RFC 3261 §20.10):
 * the URI inside <...> (or up to the first ';' without brackets), and the
 * value of ;name= parameter after it (";tag=" ...). */
struct sip_str sip_addr_uri(struct sip_str hdr);
struct sip_str sip_header_param(struct sip_str hdr, const char *name);
/* CSeq "N METHOD": number and method; 0 or -1. */
int sip_cseq_parse(struct sip_str v, uint32_t *num, struct sip_str *method);

/* The parameter named name inside an auth header value such as
 * `NTLM qop="auth", opaque="x"` (quotes removed); len 0 if absent. */
struct sip_str sip_auth_param(struct sip_str v, const char *name);

/* The fields of m that an MS-SIPAE signature covers (MS-SIPAE §3.2.5.5):
 * Call-ID, CSeq number and method, From/To URI and tag, P-Asserted-Identity,
 * Expires, and the status of a response, as slices of m.  protocol is set
 * to "NTLM"; rand, num, realm and targetname are left for the caller. */
struct auth_sig_fields;
void sip_msg_sig_fields(const struct sip_msg *m, struct auth_sig_fields *f);

#endif
