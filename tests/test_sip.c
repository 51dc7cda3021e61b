/*
 * test_sip.c - table-driven tests of the SIP parser (sip.c is included, so
 * statics are reachable).  Each row: an input, the expected return (bytes
 * consumed, 0 = need more, or a SIP_E_* code) and what the message holds.
 */
#include "../base.c"
#include "../sip.c"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

static const struct sip_limits lim = { 1024, 16, 4096 };

struct parse_case {
	int line;
	const char *desc;
	const char *in;
	long len;           /* -1: strlen(in) */
	long want;          /* -100: the whole input */
	const char *method; /* for requests */
	int status;         /* for responses */
	size_t nheaders;
	const char *body;
};

#define ALL (-100)
static const struct parse_case cases[] = {
	{ __LINE__, "minimal request", "OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n", -1, ALL, "OPTIONS", 0, 1, "" },
	{ __LINE__, "request with body", "INFO sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhello", -1, ALL, "INFO", 0, 1, "hello" },
	{ __LINE__, "body not complete", "INFO sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhel", -1, 0, NULL, 0, 0, NULL },
	{ __LINE__, "pipelined: only the first", "A sip:a SIP/2.0\r\nl: 1\r\n\r\nxB sip:b SIP/2.0\r\n", -1, 26, "A", 0, 1, "x" },
	{ __LINE__, "headers not complete", "OPTIONS sip:a SIP/2.0\r\nContent-Len", -1, 0, NULL, 0, 0, NULL },
	{ __LINE__, "response", "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", -1, ALL, NULL, 200, 1, "" },
	{ __LINE__, "response without reason", "SIP/2.0 486\r\nContent-Length: 0\r\n\r\n", -1, ALL, NULL, 486, 1, "" },
	{ __LINE__, "response code 2 digits", "SIP/2.0 20 OK\r\nContent-Length: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "response code 700", "SIP/2.0 700 X\r\nContent-Length: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "no Content-Length", "OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n", -1, SIP_E_NO_LENGTH, NULL, 0, 0, NULL },
	{ __LINE__, "Content-Length over limit", "A sip:a SIP/2.0\r\nContent-Length: 4097\r\n\r\n", -1, SIP_E_TOO_LARGE, NULL, 0, 0, NULL },
	{ __LINE__, "Content-Length at limit, waits", "A sip:a SIP/2.0\r\nContent-Length: 4096\r\n\r\n", -1, 0, NULL, 0, 0, NULL },
	{ __LINE__, "negative Content-Length", "A sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "hex Content-Length", "A sip:a SIP/2.0\r\nContent-Length: 0x10\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "empty Content-Length", "A sip:a SIP/2.0\r\nContent-Length:\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "21-digit Content-Length", "A sip:a SIP/2.0\r\nContent-Length: 123456789012345678901\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "2^64 Content-Length", "A sip:a SIP/2.0\r\nContent-Length: 18446744073709551616\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "same Content-Length twice", "A sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 1\r\n\r\nx", -1, ALL, "A", 0, 2, "x" },
	{ __LINE__, "conflicting Content-Length", "A sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nxy", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "NUL in header", "A sip:a SIP/2.0\r\nX: a\0b\r\nl: 0\r\n\r\n", 33, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "NUL before blank line arrives", "A sip:a SIP/2.0\r\nX: a\0", 22, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "bare LF inside header block", "A sip:a SIP/2.0\nX: a\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "bare CR inside header block", "A sip:a SIP/2.0\r\nX: a\rb\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "space before colon allowed", "A sip:a SIP/2.0\r\nX-A : v\r\nl: 0\r\n\r\n", -1, ALL, "A", 0, 2, "" },
	{ __LINE__, "space inside header name", "A sip:a SIP/2.0\r\nX A: v\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "header without colon", "A sip:a SIP/2.0\r\nXA\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "folded header", "A sip:a SIP/2.0\r\nSubject: a\r\n b\r\nl: 0\r\n\r\n", -1, ALL, "A", 0, 2, "" },
	{ __LINE__, "fold before any header", "A sip:a SIP/2.0\r\n b\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "method with bad char", "A<B sip:a SIP/2.0\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "missing version", "A sip:a\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "SIP/3.0", "A sip:a SIP/3.0\r\nl: 0\r\n\r\n", -1, SIP_E_VERSION, NULL, 0, 0, NULL },
	{ __LINE__, "two spaces after method", "A  sip:a SIP/2.0\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "control char in URI", "A sip:\x01 SIP/2.0\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "empty start line", "\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
	{ __LINE__, "header block at cap without end", NULL, 1024, SIP_E_TOO_LARGE, NULL, 0, 0, NULL },
	{ __LINE__, "17 headers (cap 16)", "A sip:a SIP/2.0\r\nA:1\r\nB:1\r\nC:1\r\nD:1\r\nE:1\r\nF:1\r\nG:1\r\nH:1\r\nI:1\r\nJ:1\r\nK:1\r\nQ:1\r\nM:1\r\nN:1\r\nO:1\r\nP:1\r\nl: 0\r\n\r\n", -1, SIP_E_TOO_MANY, NULL, 0, 0, NULL },
	{ __LINE__, "16 headers", "A sip:a SIP/2.0\r\nA:1\r\nB:1\r\nC:1\r\nD:1\r\nE:1\r\nF:1\r\nG:1\r\nH:1\r\nI:1\r\nJ:1\r\nK:1\r\nQ:1\r\nM:1\r\nN:1\r\nO:1\r\nl: 0\r\n\r\n", -1, ALL, "A", 0, 16, "" },
	{ __LINE__, "HTTP version refused for SIP", "GET / HTTP/1.1\r\nl: 0\r\n\r\n", -1, SIP_E_MALFORMED, NULL, 0, 0, NULL },
};

static void run_parse_cases(void)
{
	static char big[1100];
	struct sip_msg m;
	char desc[200];

	memset(big, 'x', sizeof big);
	memcpy(big, "A sip:a SIP/2.0\r\nX: ", 20);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct parse_case *c = &cases[i];
		const char *in = c->in ? c->in : big;
		size_t len = c->len >= 0 ? (size_t)c->len : strlen(in);
		long want = c->want == ALL ? (long)len : c->want;
		long got = sip_msg_parse(&m, in, len, &lim, "SIP/");

		snprintf(desc, sizeof desc, "sip-1.%zu (line %d) %s: returns %ld, got %ld", i + 1, c->line, c->desc, want, got);
		if (!CHECK(got == want, desc) || got <= 0)
			continue;
		snprintf(desc, sizeof desc, "sip-1.%zu (line %d) %s: fields", i + 1, c->line, c->desc);
		CHECK((c->method ? (m.kind == SIP_REQUEST && sip_str_eq(m.method, c->method))
		                 : (m.kind == SIP_RESPONSE && m.status == c->status)) &&
		      m.nheaders == c->nheaders && sip_str_eq(m.body, c->body), desc);
	}
}

/* Every prefix of a valid message needs more (0); never an error, never a read past len. */
static void run_prefixes(void)
{
	const char *msg = "INVITE sip:pchat@example.org SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.4:5\r\n"
	                  "From: <sip:alice@example.org>;tag=7d;epid=3a\r\nTo: <sip:pchat@example.org>\r\n"
	                  "CSeq: 1 INVITE\r\nCall-ID: 4c0b\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\n"
	                  "v=0\r\no=- 0";
	size_t len = strlen(msg);
	struct sip_msg m;
	int ok = 1;

	for (size_t n = 0; n < len; n++) {
		/* a heap copy of exactly n bytes lets ASan catch any over-read */
		char *p = malloc(n ? n : 1);

		memcpy(p, msg, n);
		if (sip_msg_parse(&m, p, n, &lim, "SIP/") != 0)
			ok = 0;
		free(p);
	}
	CHECK(ok, "sip-2.1 every strict prefix returns 0 (need more)");
	CHECK(sip_msg_parse(&m, msg, len, &lim, "SIP/") == (long)len, "sip-2.2 the whole message parses");
	CHECK(sip_str_eq(*sip_msg_header(&m, "call-id", 'i'), "4c0b"), "sip-2.3 header lookup is case-insensitive");
	CHECK(sip_msg_header(&m, "Contact", 'm') == NULL, "sip-2.4 absent header is NULL");
	CHECK(sip_str_eq(sip_addr_uri(*sip_msg_header(&m, "From", 'f')), "sip:alice@example.org"), "sip-2.5 From URI");
	CHECK(sip_str_eq(sip_header_param(*sip_msg_header(&m, "From", 'f'), "tag"), "7d"), "sip-2.6 From tag");
	CHECK(sip_str_eq(sip_header_param(*sip_msg_header(&m, "From", 'f'), "epid"), "3a"), "sip-2.7 From epid");
	CHECK(sip_header_param(*sip_msg_header(&m, "To", 't'), "tag").len == 0, "sip-2.8 no To tag");
	CHECK(sip_str_eq(m.uri, "sip:pchat@example.org"), "sip-2.9 request URI");
}

static void run_helpers(void)
{
	uint32_t n;
	struct sip_str meth, v;
	uint64_t u;

	CHECK(sip_cseq_parse((struct sip_str){ "12 INFO", 7 }, &n, &meth) == 0 && n == 12 && sip_str_eq(meth, "INFO"), "sip-3.1 CSeq");
	CHECK(sip_cseq_parse((struct sip_str){ "12", 2 }, &n, &meth) < 0, "sip-3.2 CSeq without method");
	CHECK(sip_cseq_parse((struct sip_str){ "x INFO", 6 }, &n, &meth) < 0, "sip-3.3 CSeq non-numeric");
	CHECK(sip_cseq_parse((struct sip_str){ "4294967296 INFO", 15 }, &n, &meth) < 0, "sip-3.4 CSeq over 2^32-1");
	v = (struct sip_str){ "sip:bob@example.org;tag=1", 25 };
	CHECK(sip_str_eq(sip_addr_uri(v), "sip:bob@example.org"), "sip-3.5 URI without brackets ends at ';'");
	v = (struct sip_str){ "<sip:bob@example.org;transport=tls>;tag=abc", 43 };
	CHECK(sip_str_eq(sip_header_param(v, "tag"), "abc"), "sip-3.6 tag after <...>");
	CHECK(sip_header_param(v, "transport").len == 0, "sip-3.7 URI parameters are not header parameters");
	v = (struct sip_str){ "<sip:bob@example.org", 20 };
	CHECK(sip_addr_uri(v).len == 0, "sip-3.8 unterminated < gives empty URI");
	v = (struct sip_str){ "NTLM qop=\"auth\", opaque=\"EF90\", gssapi-data=\"\", version=4", 57 };
	CHECK(sip_str_eq(sip_auth_param(v, "opaque"), "EF90"), "sip-3.9 auth param quoted");
	CHECK(sip_str_eq(sip_auth_param(v, "version"), "4"), "sip-3.10 auth param bare");
	CHECK(sip_auth_param(v, "gssapi-data").len == 0 && sip_auth_param(v, "gssapi-data").p != NULL, "sip-3.11 empty auth param");
	CHECK(sip_auth_param(v, "qo").len == 0, "sip-3.12 no prefix match");
	v = (struct sip_str){ "NTLM opaque=\"unterminated", 25 };
	CHECK(sip_str_eq(sip_auth_param(v, "opaque"), "unterminated"), "sip-3.13 unterminated quote stays in bounds");
	CHECK(sip_parse_uint((struct sip_str){ "18446744073709551615", 20 }, 0, UINT64_MAX, &u) == 0 && u == UINT64_MAX, "sip-3.14 uint max");
	CHECK(sip_parse_uint((struct sip_str){ "", 0 }, 0, 10, &u) < 0, "sip-3.15 empty number");
	CHECK(sip_parse_uint((struct sip_str){ "11", 2 }, 0, 10, &u) < 0, "sip-3.16 over max");
	CHECK(sip_skip_crlf("\r\n\r\nX", 5) == 4, "sip-3.17 keep-alive CRLFs skipped");
	{
		const char *reason;
		CHECK(sip_error_status(SIP_E_TOO_LARGE, &reason) == 513, "sip-3.18 too large -> 513");
		CHECK(sip_error_status(SIP_E_MALFORMED, &reason) == 400, "sip-3.19 malformed -> 400");
	}
}

/* HTTP requests share the grammar: the file endpoint parses with "HTTP/". */
static void run_http(void)
{
	const char *req = "PUT /files/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	struct sip_msg m;

	CHECK(sip_msg_parse(&m, req, strlen(req), &lim, "HTTP/") == (long)strlen(req), "sip-4.1 HTTP request parses");
	CHECK(sip_str_eq(m.method, "PUT") && sip_str_eq(m.uri, "/files/abc") && sip_str_eq(m.body, "abc"), "sip-4.2 HTTP fields");
}

int main(void)
{
	run_parse_cases();
	run_prefixes();
	run_helpers();
	run_http();
	return check_done("sip");
}
