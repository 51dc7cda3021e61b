/* test_buf.c - the checked buffer refuses rather than overruns. */
#include "../buf.c"
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
	return check_done("buf");
}
