/* test_buf.c - the checked buffer refuses rather than overruns. */
#include "../base.c"
#include "../buf.c"
#include "../xml_out.c"
#include "check.h"

int main(void)
{
	struct buf b;

	buf_init(&b, 16);
	CHECK(buf_append(&b, "0123456789", 10) == 0 && b.len == 10, "buf-1.1 append within cap");
	CHECK(buf_append(&b, "0123456789", 10) < 0 && b.len == 10, "buf-1.2 append over cap refused, unchanged");
	CHECK(buf_append(&b, "012345", 6) == 0 && b.len == 16, "buf-1.3 fill to exactly the cap");
	buf_consume(&b, 4);
	CHECK(b.len == 12 && memcmp(buf_head(&b), "456789", 6) == 0, "buf-1.4 consume moves the head");
	CHECK(buf_append(&b, "abcd", 4) == 0 && b.len == 16 && memcmp(buf_head(&b) + 12, "abcd", 4) == 0,
	      "buf-1.5 consumed space is reused");
	buf_consume(&b, 100);
	CHECK(b.len == 0, "buf-1.6 consume more than len empties");
	CHECK(buf_printf(&b, "%d-%s", 42, "x") == 0 && b.len == 4 && memcmp(buf_head(&b), "42-x", 4) == 0, "buf-1.7 printf");
	/* printf needs room for its NUL too, so it stops one byte short of the cap. */
	CHECK(buf_printf(&b, "%s", "0123456789ab") < 0 && b.len == 4, "buf-1.8 printf over cap refused");
	CHECK(buf_printf(&b, "%s", "0123456789a") == 0 && b.len == 15, "buf-1.8b printf up to the cap");
	buf_truncate(&b, 2);
	CHECK(b.len == 2, "buf-1.9 truncate");
	CHECK(buf_reserve(&b, (size_t)-1) < 0, "buf-1.10 reserve SIZE_MAX refused without overflow");
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0, "buf-1.11 free resets");
	buf_free(NULL);
	CHECK(1, "buf-1.12 buf_free(NULL) is a no-op");
	/* base.c: the ground floor's primitives. */
	{
		static const unsigned char bytes[] = { 0x00, 0x7f, 0xa5, 0xff };
		char hex[9], g1[BASE_GUID_LEN + 1], g2[BASE_GUID_LEN + 1];
		int *a = NULL, ok = 1;
		size_t cap = 0, huge = 0;
		void *big = NULL;

		hex_encode(bytes, sizeof bytes, hex);
		CHECK(strcmp(hex, "007fa5ff") == 0, "base-1 hex_encode: lower case, NUL-terminated");
		CHECK(guid_v4(g1) == 0 && guid_v4(g2) == 0 && strlen(g1) == 36 && g1[8] == '-' && g1[13] == '-' &&
		      g1[14] == '4' && strchr("89ab", g1[19]) != NULL && strcmp(g1, g2) != 0,
		      "base-2 guid_v4: version 4, variant 10, two differ");
		for (size_t n = 0; n < 1000 && ok; n++) {
			ok = array_reserve(&a, &cap, n, sizeof *a, 4) == 0 && cap > n && (n >= 4 || cap == 4);
			if (ok)
				a[n] = (int)n;
		}
		for (size_t n = 0; n < 1000 && ok; n++)
			ok = a[n] == (int)n;
		CHECK(ok && cap == 1024, "base-3 array_reserve doubles from first and keeps the elements");
		huge = SIZE_MAX / 8;
		CHECK(array_reserve(&big, &huge, huge, 16, 4) == -1 && big == NULL, "base-4 array_reserve refuses an overflowing size");
		CHECK(wall_us() > 1700000000000000LL, "base-5 wall_us is microseconds since 1970");
		free(a);
	}
	/* base.c and buf.c: the fan-out's header pieces, against printf. */
	{
		static const uint64_t vals[] = { 0, 1, 9, 10, 0xff, 0x1234abcd, 4294967295u, UINT64_MAX };
		char got[21], want[32];
		struct buf hb;
		int ok = 1;

		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
			snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
			ok &= u64_dec(vals[i], got) == strlen(want) && strcmp(got, want) == 0;
			snprintf(want, sizeof want, "%llx", (unsigned long long)vals[i]);
			ok &= u64_hex(vals[i], 1, got) == strlen(want) && strcmp(got, want) == 0;
			snprintf(want, sizeof want, "%08llx", (unsigned long long)vals[i]);
			ok &= u64_hex(vals[i], 8, got) == strlen(want) && strcmp(got, want) == 0;
		}
		CHECK(ok, "base-5.1 u64_dec and u64_hex write what %llu, %llx and %08llx do");
		buf_init(&hb, 12);
		CHECK(buf_append_strs(&hb, (const char *const[]){ "ab", "", "cde", NULL }) == 0 && hb.len == 5 &&
		      memcmp(buf_head(&hb), "abcde", 5) == 0, "buf-2.1 append_strs joins the pieces in order");
		CHECK(buf_append_strs(&hb, (const char *const[]){ "1234", "5678", NULL }) < 0 && hb.len == 5,
		      "buf-2.2 append_strs past the cap appends nothing");
		CHECK(buf_append_strs(&hb, (const char *const[]){ NULL }) == 0 && hb.len == 5, "buf-2.3 an empty list is a no-op");
		buf_free(&hb);
	}
	/* base.c: bounded decimal parsing. */
	{
		uint64_t u = 7;
		int64_t v = 7;

		CHECK(parse_u64("", 0, UINT64_MAX, &u) < 0 && u == 7, "base-6.1 parse_u64: empty refused, out untouched");
		CHECK(parse_u64("+1", 2, 9, &u) < 0 && parse_u64("-1", 2, 9, &u) < 0 && parse_u64(" 1", 2, 9, &u) < 0,
		      "base-6.2 parse_u64: no sign, no leading space");
		CHECK(parse_u64("12x", 3, 100, &u) < 0 && parse_u64("1 ", 2, 100, &u) < 0,
		      "base-6.3 parse_u64: trailing junk refused");
		CHECK(parse_u64("12x", 2, 100, &u) == 0 && u == 12, "base-6.4 parse_u64: reads only len bytes");
		CHECK(parse_u64("18446744073709551615", 20, UINT64_MAX, &u) == 0 && u == UINT64_MAX,
		      "base-6.5 parse_u64: UINT64_MAX itself");
		CHECK(parse_u64("18446744073709551616", 20, UINT64_MAX, &u) < 0 &&
		      parse_u64("99999999999999999999999", 23, UINT64_MAX, &u) < 0, "base-6.6 parse_u64: overflow refused");
		CHECK(parse_u64("100", 3, 100, &u) == 0 && u == 100 && parse_u64("101", 3, 100, &u) < 0 &&
		      parse_u64("5", 1, 4, &u) < 0 && parse_u64("0", 1, 0, &u) == 0 && u == 0,
		      "base-6.7 parse_u64: max is inclusive, one past it refused");
		CHECK(parse_u64("007", 3, 9, &u) == 0 && u == 7, "base-6.8 parse_u64: leading zeros are digits");
		CHECK(parse_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MIN &&
		      parse_i64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MAX,
		      "base-6.9 parse_i64: both ends of int64");
		CHECK(parse_i64("-9223372036854775809", 20, INT64_MIN, INT64_MAX, &v) < 0 &&
		      parse_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v) < 0, "base-6.10 parse_i64: overflow refused");
		CHECK(parse_i64("-", 1, -5, 5, &v) < 0 && parse_i64("+3", 2, -5, 5, &v) < 0 && parse_i64("", 0, -5, 5, &v) < 0 &&
		      parse_i64(" -3", 3, -5, 5, &v) < 0 && parse_i64("-3 ", 3, -5, 5, &v) < 0,
		      "base-6.11 parse_i64: lone '-', '+', empty, spaces refused");
		CHECK(parse_i64("-5", 2, -5, 5, &v) == 0 && v == -5 && parse_i64("-6", 2, -5, 5, &v) < 0 &&
		      parse_i64("6", 1, -5, 5, &v) < 0 && parse_i64("-0", 2, 0, 5, &v) == 0 && v == 0 &&
		      parse_i64("-1", 2, 1, 5, &v) < 0 && parse_i64("3", 1, -9, -1, &v) < 0,
		      "base-6.12 parse_i64: [min, max] inclusive, outside refused");
	}
	/* xml_out.c: the one XML text policy. */
	{
		struct xml_out o;
		char small[8], out[64];

		xo_init(&o, 256);
		xo_esc(&o, "a<b>&\"c\"\n\t\r\x01\xff\xc3\xa9", 15, 0);
		CHECK(o.b.len == strlen("a&lt;b&gt;&amp;\"c\"\n\t&#13;\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9") &&
		      memcmp(buf_head(&o.b), "a&lt;b&gt;&amp;\"c\"\n\t&#13;\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9", o.b.len) == 0,
		      "xml-1 text: markup escaped, quote/LF/TAB kept, CR referenced, control and bad UTF-8 become U+FFFD");
		buf_truncate(&o.b, 0);
		xo_esc(&o, "\"\n\t\xed\xa0\x80\xef\xbf\xbe", 9, 1);
		CHECK(o.b.len == strlen("&quot;&#10;&#9;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") &&
		      memcmp(buf_head(&o.b), "&quot;&#10;&#9;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", o.b.len) == 0,
		      "xml-2 attribute: quote, LF, TAB referenced; a surrogate and U+FFFE are not characters (U+FFFD a byte)");
		buf_free(&o.b);
		CHECK(xml_esc_str(out, sizeof out, "sip:a<b>&c@x", 0) == 22 && strcmp(out, "sip:a&lt;b&gt;&amp;c@x") == 0,
		      "xml-3 xml_esc_str escapes into a buffer");
		CHECK(xml_esc_str(small, sizeof small, "a&&b", 0) < 0 && xml_esc_str(small, sizeof small, "abcdefg", 0) == 7 &&
		      xml_esc_str(small, sizeof small, "abcdefgh", 0) < 0 && xml_esc_str(small, 1, "", 0) == 0,
		      "xml-4 xml_esc_str: -1 when the result and its NUL do not fit");
	}
	/* utf8_text_ok: one policy for names, topics and message text. */
	CHECK(utf8_text_ok("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 0), "utf8-1 UTF-8 of 2, 3 and 4 bytes");
	CHECK(!utf8_text_ok("a\nb", 3, 0) && utf8_text_ok("a\nb\tc", 5, UTF8_LINES), "utf8-2 line breaks only with UTF8_LINES");
	CHECK(!utf8_text_ok("a\rb", 3, UTF8_LINES) && !utf8_text_ok("a\x7f", 2, UTF8_LINES), "utf8-3 CR and DEL refused");
	CHECK(!utf8_text_ok("\xc2\x85", 2, UTF8_LINES), "utf8-4 a C1 control refused");
	CHECK(!utf8_text_ok("\xc0\xaf", 2, 0) && !utf8_text_ok("\xed\xa0\x80", 3, 0) &&
	      !utf8_text_ok("\xf4\x90\x80\x80", 4, 0) && !utf8_text_ok("\xef\xbf\xbf", 3, 0),
	      "utf8-5 overlong, surrogate, past U+10FFFF and U+FFFF refused");
	CHECK(!utf8_text_ok("\xe2\x82", 2, 0) && !utf8_text_ok("ab\xe2\x82\xac", 4, 0),
	      "utf8-6 a sequence cut by the length is refused (nothing read past it)");
	return check_done("buf");
}
