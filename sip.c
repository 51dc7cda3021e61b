/*
 * sip.c - see sip.h.  Framing is two-phase (style note 11): find the blank
 * line within the header cap, split lines and check them, then require
 * Content-Length and wait for exactly that many body bytes.  Every scan is
 * bounded by the length it was given; NUL is never relied on, and a NUL or a
 * bare CR/LF inside the header block makes the message malformed.
 */
#include "sip.h"
#include "auth.h"
#include "base.h"

#include <string.h>

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int sip_str_eq(struct sip_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

int sip_str_ieq(struct sip_str s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct sip_str sip_str_trim(struct sip_str s)
{
	while (s.len > 0 && is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

int sip_parse_uint(struct sip_str s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	/* Over 20 digits is refused even with leading zeros, as it always was. */
	if (s.len > 20 || parse_u64(s.p, s.len, max, &v) < 0 || v < min)
		return -1;
	*out = v;
	return 0;
}

size_t sip_skip_crlf(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i;
}

/* Position of "\r\n\r\n" within buf[0..len), or -1. */
static long find_blank_line(const char *buf, size_t len)
{
	const char *p = buf;
	size_t left = len;

	while (left >= 4) {
		const char *cr = memchr(p, '\r', left - 3);

		if (cr == NULL)
			return -1;
		if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
			return (long)(cr - buf);
		left -= (size_t)(cr - p) + 1;
		p = cr + 1;
	}
	return -1;
}

/* RFC 3261 §25.1 token characters, which header names and methods use. */
static int is_token(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("-.!%*_+`'~", c) != NULL;
}

static int parse_start_line(struct sip_msg *m, const char *p, size_t n, const char *vprefix)
{
	const char *sp1 = memchr(p, ' ', n), *sp2;
	size_t vplen = strlen(vprefix);
	struct sip_str code;
	uint64_t status;

	if (sp1 == NULL || sp1 == p)
		return SIP_E_MALFORMED;
	if ((size_t)(sp1 - p) > vplen && memcmp(p, vprefix, vplen) == 0) {
		/* Response: VERSION SP CODE SP REASON (RFC 3261 §7.2) */
		m->kind = SIP_RESPONSE;
		m->version = (struct sip_str){ p, (size_t)(sp1 - p) };
		sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
		code.p = sp1 + 1;
		code.len = (sp2 ? (size_t)(sp2 - code.p) : n - (size_t)(code.p - p));
		if (code.len != 3 || sip_parse_uint(code, 100, 699, &status) < 0)
			return SIP_E_MALFORMED;
		m->status = (int)status;
		if (sp2)
			m->reason = (struct sip_str){ sp2 + 1, n - (size_t)(sp2 + 1 - p) };
		return 0;
	}
	/* Request: METHOD SP Request-URI SP VERSION (RFC 3261 §7.1) */
	m->kind = SIP_REQUEST;
	m->method = (struct sip_str){ p, (size_t)(sp1 - p) };
	for (size_t i = 0; i < m->method.len; i++)
		if (!is_token((unsigned char)p[i]))
			return SIP_E_MALFORMED;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return SIP_E_MALFORMED;
	m->uri = (struct sip_str){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	m->version = (struct sip_str){ sp2 + 1, n - (size_t)(sp2 + 1 - p) };
	if (m->version.len <= vplen || memcmp(m->version.p, vprefix, vplen) != 0)
		return SIP_E_MALFORMED;
	if (!sip_str_eq(m->version, "SIP/2.0") && !sip_str_eq(m->version, "HTTP/1.1") &&
	    !sip_str_eq(m->version, "HTTP/1.0"))
		return SIP_E_VERSION;
	for (size_t i = 0; i < m->uri.len; i++)
		if ((unsigned char)m->uri.p[i] <= ' ' || m->uri.p[i] == 0x7f)
			return SIP_E_MALFORMED;
	return 0;
}

/* One header line "Name: value" (RFC 3261 §7.3.1: HCOLON allows WS before ':'). */
static int parse_header_line(struct sip_header *h, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_token((unsigned char)p[i]))
		i++;
	if (i == 0)
		return SIP_E_MALFORMED;
	h->name = (struct sip_str){ p, i };
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i] != ':')
		return SIP_E_MALFORMED;
	h->value = sip_str_trim((struct sip_str){ p + i + 1, n - i - 1 });
	return 0;
}

/* Split the header block [0, end) into the start line and headers. */
static long parse_head(struct sip_msg *m, const char *buf, size_t end,
                       const struct sip_limits *lim, const char *vprefix)
{
	size_t pos = 0, cap = lim->max_headers < SIP_HEADERS_CAP ? lim->max_headers : SIP_HEADERS_CAP;
	int first = 1;

	while (pos < end) {
		const char *line = buf + pos;
		const char *crlf = memchr(line, '\r', end - pos);
		size_t n = crlf ? (size_t)(crlf - line) : end - pos;
		long rc;

		/* RFC 3261 §7: lines end in CRLF; NUL and bare LF are not allowed. */
		if (memchr(line, '\n', n) || memchr(line, '\0', n))
			return SIP_E_MALFORMED;
		if (crlf && (pos + n + 1 >= end || crlf[1] != '\n'))
			return SIP_E_MALFORMED;
		if (first) {
			rc = parse_start_line(m, line, n, vprefix);
			if (rc < 0)
				return rc;
			first = 0;
		} else if (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
			/* Folded continuation: extend the previous value over it. */
			struct sip_header *h;

			if (m->nheaders == 0)
				return SIP_E_MALFORMED;
			h = &m->headers[m->nheaders - 1];
			h->value = sip_str_trim((struct sip_str){ h->value.p, (size_t)(line + n - h->value.p) });
		} else {
			if (m->nheaders == cap)
				return SIP_E_TOO_MANY;
			rc = parse_header_line(&m->headers[m->nheaders], line, n);
			if (rc < 0)
				return rc;
			m->nheaders++;
		}
		pos += n + 2;
	}
	return first ? SIP_E_MALFORMED : 0;
}

static long parse_content_length(struct sip_msg *m, const struct sip_limits *lim)
{
	int seen = 0;

	for (size_t i = 0; i < m->nheaders; i++) {
		const struct sip_header *h = &m->headers[i];
		uint64_t v;

		if (!sip_str_ieq(h->name, "Content-Length") && !sip_str_ieq(h->name, "l"))
			continue;
		if (sip_parse_uint(h->value, 0, UINT64_MAX, &v) < 0)
			return SIP_E_MALFORMED;
		if (v > lim->max_body_bytes)
			return SIP_E_TOO_LARGE;
		if (seen && v != m->content_length)
			return SIP_E_MALFORMED;     /* two different lengths: refuse to guess */
		m->content_length = (size_t)v;
		seen = 1;
	}
	return seen ? 0 : SIP_E_NO_LENGTH;
}

long sip_msg_parse(struct sip_msg *m, const char *buf, size_t len,
                   const struct sip_limits *lim, const char *version_prefix)
{
	size_t scan = len < lim->max_header_bytes ? len : lim->max_header_bytes;
	long blank, rc;
	size_t head;

	/* headers[] is large and filled in order; clear only the rest. */
	memset(m, 0, offsetof(struct sip_msg, headers));
	m->content_length = 0;
	m->body = (struct sip_str){ NULL, 0 };
	m->header_bytes = 0;
	blank = find_blank_line(buf, scan);
	if (blank < 0) {
		/* No end of headers yet: a NUL or a full cap means it never will be. */
		if (memchr(buf, '\0', scan))
			return SIP_E_MALFORMED;
		return len >= lim->max_header_bytes ? SIP_E_TOO_LARGE : 0;
	}
	head = (size_t)blank + 4;
	rc = parse_head(m, buf, (size_t)blank + 2, lim, version_prefix);
	if (rc < 0)
		return rc;
	rc = parse_content_length(m, lim);
	if (rc < 0)
		return rc;
	m->header_bytes = head;
	if (len - head < m->content_length)
		return 0;
	m->body = (struct sip_str){ buf + head, m->content_length };
	return (long)(head + m->content_length);
}

const struct sip_str *sip_msg_header(const struct sip_msg *m, const char *name, char compact)
{
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct sip_header *h = &m->headers[i];

		if (sip_str_ieq(h->name, name) ||
		    (compact && h->name.len == 1 && lower((unsigned char)h->name.p[0]) == compact))
			return &h->value;
	}
	return NULL;
}

int sip_error_status(long err, const char **reason)
{
	switch (err) {
	case SIP_E_TOO_LARGE:
	case SIP_E_TOO_MANY:
		*reason = "Message Too Large";
		return 513;
	case SIP_E_VERSION:
		*reason = "Version Not Supported";
		return 505;
	case SIP_E_NO_LENGTH:
		*reason = "Bad Request (Content-Length required)";
		return 400;
	default:
		*reason = "Bad Request";
		return 400;
	}
}

struct sip_str sip_addr_uri(struct sip_str hdr)
{
	const char *lt = memchr(hdr.p, '<', hdr.len), *gt, *semi;

	if (lt) {
		size_t rest = hdr.len - (size_t)(lt + 1 - hdr.p);

		gt = memchr(lt + 1, '>', rest);
		if (gt == NULL)
			return (struct sip_str){ hdr.p, 0 };
		return (struct sip_str){ lt + 1, (size_t)(gt - lt - 1) };
	}
	semi = memchr(hdr.p, ';', hdr.len);
	return sip_str_trim((struct sip_str){ hdr.p, semi ? (size_t)(semi - hdr.p) : hdr.len });
}

struct sip_str sip_header_param(struct sip_str hdr, const char *name)
{
	const char *p = hdr.p, *end = hdr.p + hdr.len;
	const char *gt = memchr(hdr.p, '>', hdr.len);
	size_t nl = strlen(name);

	if (gt)
		p = gt + 1;     /* parameters of the header, not of the URI */
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *q, *vend;

		if (semi == NULL)
			break;
		q = semi + 1;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(end - q) > nl && q[nl] == '=' &&
		    sip_str_ieq((struct sip_str){ q, nl }, name)) {
			q += nl + 1;
			vend = q;
			while (vend < end && *vend != ';' && *vend != ',' && *vend != ' ')
				vend++;
			return (struct sip_str){ q, (size_t)(vend - q) };
		}
		p = q;
	}
	return (struct sip_str){ hdr.p, 0 };
}

int sip_cseq_parse(struct sip_str v, uint32_t *num, struct sip_str *method)
{
	const char *sp = memchr(v.p, ' ', v.len);
	uint64_t n;

	if (sp == NULL)
		return -1;
	if (sip_parse_uint((struct sip_str){ v.p, (size_t)(sp - v.p) }, 0, 0xffffffffu, &n) < 0)
		return -1;
	*method = sip_str_trim((struct sip_str){ sp + 1, v.len - (size_t)(sp + 1 - v.p) });
	if (method->len == 0)
		return -1;
	for (size_t i = 0; i < method->len; i++)
		if (!is_token((unsigned char)method->p[i]))
			return -1;
	*num = (uint32_t)n;
	return 0;
}

struct sip_str sip_auth_param(struct sip_str v, const char *name)
{
	size_t nl = strlen(name), i = 0;

	/* Skip the scheme word ("NTLM"), then walk name=value pairs. */
	while (i < v.len && v.p[i] != ' ')
		i++;
	while (i < v.len) {
		size_t ns, ne, vs, ve;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == ','))
			i++;
		ns = i;
		while (i < v.len && v.p[i] != '=' && v.p[i] != ',' && v.p[i] != ' ')
			i++;
		ne = i;
		if (i >= v.len || v.p[i] != '=')
			continue;
		i++;
		if (i < v.len && v.p[i] == '"') {
			vs = ++i;
			while (i < v.len && v.p[i] != '"')
				i++;
			ve = i;
			if (i < v.len)
				i++;
		} else {
			vs = i;
			while (i < v.len && v.p[i] != ',' && v.p[i] != ' ')
				i++;
			ve = i;
		}
		if (ne - ns == nl && sip_str_ieq((struct sip_str){ v.p + ns, nl }, name))
			return (struct sip_str){ v.p + vs, ve - vs };
	}
	return (struct sip_str){ v.p, 0 };
}

static struct sip_str hdr_or_empty(const struct sip_msg *m, const char *name, char compact)
{
	const struct sip_str *v = sip_msg_header(m, name, compact);

	return v ? *v : (struct sip_str){ "", 0 };
}

void sip_msg_sig_fields(const struct sip_msg *m, struct auth_sig_fields *f)
{
	struct sip_str from = hdr_or_empty(m, "From", 'f'), to = hdr_or_empty(m, "To", 't');
	struct sip_str pai = hdr_or_empty(m, "P-Asserted-Identity", 0), method;
	uint32_t num;

	memset(f, 0, sizeof *f);
	f->protocol = (struct auth_str){ "NTLM", 4 };
	f->call_id = (struct auth_str){ hdr_or_empty(m, "Call-ID", 'i').p, hdr_or_empty(m, "Call-ID", 'i').len };
	{
		struct sip_str cseq = hdr_or_empty(m, "CSeq", 0);
		const char *sp = memchr(cseq.p, ' ', cseq.len);

		if (sip_cseq_parse(cseq, &num, &method) == 0 && sp) {
			f->cseq_num = (struct auth_str){ cseq.p, (size_t)(sp - cseq.p) };
			f->method = (struct auth_str){ method.p, method.len };
		}
	}
	f->from_uri = (struct auth_str){ sip_addr_uri(from).p, sip_addr_uri(from).len };
	f->from_tag = (struct auth_str){ sip_header_param(from, "tag").p, sip_header_param(from, "tag").len };
	f->to_uri = (struct auth_str){ sip_addr_uri(to).p, sip_addr_uri(to).len };
	f->to_tag = (struct auth_str){ sip_header_param(to, "tag").p, sip_header_param(to, "tag").len };
	if (pai.len) {
		struct sip_str u = sip_addr_uri(pai);

		if (u.len >= 4 && memcmp(u.p, "tel:", 4) == 0)
			f->pai_tel = (struct auth_str){ u.p, u.len };
		else
			f->pai_sip = (struct auth_str){ u.p, u.len };
	}
	{
		struct sip_str e = hdr_or_empty(m, "Expires", 0);

		f->expires = (struct auth_str){ e.p, e.len };
	}
	f->status = m->kind == SIP_RESPONSE ? m->status : 0;
}

