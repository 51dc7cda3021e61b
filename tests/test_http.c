/* test_http.c - the web service's HTTP parsers (http.c): targets, cookies,
 * form bodies; each refuses rather than overruns or guesses. */
#include "../http.c"
#include "check.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
	char path[HTTP_PATH_MAX], out[64], name[32], value[32], small[4];
	const char *q;
	size_t qlen, pos = 0;
	const char *form = "a=1&&b=x+y%21&c&d=%E2%82%AC";

	CHECK(http_target_split("/PersistentChat/RM/room?id=ab%20c", 32, path, sizeof path, &q, &qlen) == HTTP_OK &&
	      strcmp(path, "/PersistentChat/RM/room") == 0 && qlen == 8 && memcmp(q, "id=ab%20c", 8) == 0,
	      "http-1.1 origin form: decoded path, raw query");
	CHECK(http_target_split("https://h:1/a%2Fb", 17, path, sizeof path, &q, &qlen) == HTTP_OK && strcmp(path, "/a/b") == 0 &&
	      qlen == 0, "http-1.2 absolute form: scheme and host dropped");
	CHECK(http_target_split("/a/../b", 7, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("/a/%2e%2e/b", 11, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("/a/.", 4, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED,
	      "http-1.3 dot segments (plain or escaped) are refused");
	CHECK(http_target_split("/a%00b", 6, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("/a%0ab", 6, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("/a%zz", 5, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("/a%4", 4, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED &&
	      http_target_split("a", 1, path, sizeof path, &q, &qlen) == HTTP_E_MALFORMED,
	      "http-1.4 NUL, CR/LF, bad or cut escapes and a relative path are refused");
	CHECK(http_target_split("/abcdef", 7, small, sizeof small, &q, &qlen) == HTTP_E_SPACE,
	      "http-1.5 a path longer than the buffer: HTTP_E_SPACE");
	/* Only the first 4 bytes are given: what follows must not be read. */
	CHECK(http_target_split("/ab?x=1", 4, path, sizeof path, &q, &qlen) == HTTP_OK && strcmp(path, "/ab?") != 0 &&
	      qlen == 0, "http-1.6 the length bounds the parse");

	CHECK(http_cookie_get("a=1; pchat_session=abc; b=2", 27, "pchat_session", out, sizeof out) == 1 &&
	      strcmp(out, "abc") == 0, "http-2.1 a cookie among others");
	CHECK(http_cookie_get("xpchat_session=1; pchat_session=\"q\"", 35, "pchat_session", out, sizeof out) == 1 &&
	      strcmp(out, "q") == 0, "http-2.2 a name that only ends the same is not it; quotes removed");
	CHECK(http_cookie_get("a=1", 3, "pchat_session", out, sizeof out) == 0, "http-2.3 absent: 0");
	CHECK(http_cookie_get("pchat_session=a b", 17, "pchat_session", out, sizeof out) == HTTP_E_MALFORMED &&
	      http_cookie_get("pchat_session=a,b", 17, "pchat_session", out, sizeof out) == HTTP_E_MALFORMED,
	      "http-2.4 bytes RFC 6265 does not allow: malformed");
	CHECK(http_cookie_get("pchat_session=abcdef", 20, "pchat_session", small, sizeof small) == HTTP_E_SPACE,
	      "http-2.5 too long: HTTP_E_SPACE");

	CHECK(http_form_next(form, strlen(form), &pos, name, sizeof name, value, sizeof value) == 1 &&
	      !strcmp(name, "a") && !strcmp(value, "1"), "http-3.1 first field");
	CHECK(http_form_next(form, strlen(form), &pos, name, sizeof name, value, sizeof value) == 1 &&
	      !strcmp(name, "b") && !strcmp(value, "x y!"), "http-3.2 empty pieces skipped, '+' and escapes decoded");
	CHECK(http_form_next(form, strlen(form), &pos, name, sizeof name, value, sizeof value) == 1 &&
	      !strcmp(name, "c") && value[0] == '\0', "http-3.3 a name without '=' has an empty value");
	CHECK(http_form_next(form, strlen(form), &pos, name, sizeof name, value, sizeof value) == 1 &&
	      !strcmp(value, "\xe2\x82\xac") &&
	      http_form_next(form, strlen(form), &pos, name, sizeof name, value, sizeof value) == 0,
	      "http-3.4 UTF-8 escapes, then the end");
	CHECK(http_form_get(form, strlen(form), "b", out, sizeof out) == 1 && !strcmp(out, "x y!") &&
	      http_form_get(form, strlen(form), "z", out, sizeof out) == 0, "http-3.5 a field by name; absent: 0");
	CHECK(http_form_get("csrf=a%00b", 10, "csrf", out, sizeof out) == HTTP_E_MALFORMED,
	      "http-3.6 a NUL in a value: malformed");
	CHECK(http_form_get("big=0123456789&csrf=ok", 22, "csrf", small, sizeof small) == 1 && !strcmp(small, "ok") &&
	      http_form_get("csrf=0123456789", 15, "csrf", small, sizeof small) == HTTP_E_SPACE,
	      "http-3.7 another field too long is skipped; the one asked for too long: HTTP_E_SPACE");
	CHECK(http_form_get("t=a%0D%0Ab", 10, "t", out, sizeof out) == 1 && !strcmp(out, "a\r\nb"),
	      "http-3.8 CR LF of a textarea pass through in form values");
	return check_done("http");
}
