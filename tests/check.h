/*
 * check.h - the one assertion helper of the C unit tests.
 * Each check prints "ok" or "FAIL file:line what" and is counted; a test
 * program ends with check_done(), which prints "RESULT passed=N failed=M"
 * for tests/run.sh to add up and returns the exit status.
 */
#ifndef PCHAT_CHECK_H
#define PCHAT_CHECK_H
#include <stdio.h>

static int check_passed, check_failed;

static int check_at(int cond, const char *file, int line, const char *what)
{
	if (cond) {
		check_passed++;
	} else {
		check_failed++;
		printf("FAIL %s:%d %s\n", file, line, what);
	}
	return cond;
}
#define CHECK(cond, what) check_at((cond) ? 1 : 0, __FILE__, __LINE__, (what))

static int check_done(const char *suite)
{
	printf("RESULT suite=%s passed=%d failed=%d\n", suite, check_passed, check_failed);
	return check_failed ? 1 : 0;
}
#endif
