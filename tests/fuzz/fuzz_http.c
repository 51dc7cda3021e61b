/*
 * fuzz_http.c - libFuzzer target: the web service's request parsing, in the
 * order web.c applies it: the head framed by sip_msg_parse (HTTP grammar),
 * the request target split and decoded, the session and sign-in cookies
 * out of Cookie, every field of the query and of the form body, and the
 * HTML escaper over the decoded values.  The input is copied into a buffer
 * of exactly its size, so ASan catches any read past the end.
 */
#include "../../http.h"
#include "../../sip.h"
#include "../../xml_out.h"

#include <stdlib.h>
#include <string.h>

static void form_all(const char *p, size_t len)
{
	char name[64], value[1024], one[256];
	size_t pos = 0;
	struct xml_out o;
	int rc;

	xo_init(&o, 8192);
	while ((rc = http_form_next(p, len, &pos, name, sizeof name, value, sizeof value)) != 0) {
		if (rc == 1)
			xo_esc(&o, value, strlen(value), 1);
		else if (rc == HTTP_E_MALFORMED)
			break;
	}
	buf_free(&o.b);
	(void)http_form_get(p, len, "csrf", one, sizeof one);
	(void)http_form_get(p, len, "user", one, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sip_limits lim = { 8192, 64, HTTP_FORM_MAX };
	struct sip_msg *m = malloc(sizeof *m);
	char *copy = malloc(size + 1);
	char path[HTTP_PATH_MAX], cookie[128];
	const char *query;
	size_t qlen;

	if (m == NULL || copy == NULL)
		goto out;
	memcpy(copy, data, size);
	/* The raw bytes as each piece, so the parsers see inputs the framing
	 * would have refused too. */
	(void)http_target_split(copy, size, path, sizeof path, &query, &qlen);
	(void)http_cookie_get(copy, size, "pchat_session", cookie, sizeof cookie);
	form_all(copy, size);
	if (sip_msg_parse(m, copy, size, &lim, "HTTP/") > 0 && m->kind == SIP_REQUEST) {
		const struct sip_str *c = sip_msg_header(m, "Cookie", 0);

		if (http_target_split(m->uri.p, m->uri.len, path, sizeof path, &query, &qlen) == HTTP_OK)
			form_all(query, qlen);
		if (c != NULL) {
			(void)http_cookie_get(c->p, c->len, "pchat_session", cookie, sizeof cookie);
			(void)http_cookie_get(c->p, c->len, "pchat_pre", cookie, 4);
		}
		form_all(m->body.p, m->body.len);
	}
out:
	free(copy);
	free(m);
	return 0;
}
