/*
 * testutil.h - small helpers more than one test program needs: a temporary
 * folder (made, a path in it, emptied and removed), a small text file read
 * or written whole, and a shell command run with its output captured.
 * Header-only (static inline), like check.h.
 */
#ifndef PCHAT_TESTUTIL_H
#define PCHAT_TESTUTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* mkdtemp on tmpl ("/tmp/NAME.XXXXXX", rewritten in place); 0, or -1 after
 * saying why on stderr. */
static inline int test_dir_make(char *tmpl)
{
	if (mkdtemp(tmpl) != NULL)
		return 0;
	perror("mkdtemp");
	return -1;
}

/* "DIR/NAME" into buf. */
static inline void test_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Remove the files in dir, then dir itself (the tests make no sub-folders).
 * 0, or -1 when dir could not be removed. */
static inline int test_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			test_path(p, sizeof p, dir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	return rmdir(dir);
}

/* The file at path, at most len - 1 bytes of it, NUL-terminated into text;
 * its length (0 and "" when it cannot be read). */
static inline size_t read_text(const char *path, char *text, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, len - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = '\0';
	return n;
}

/* Write text as the whole of the file at path; 0 or -1. */
static inline int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok = f && fputs(text, f) >= 0;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Run a shell command; stdout+stderr into out (NULL: discarded).  Returns
 * the exit status, or -1. */
static inline int run(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
	fflush(NULL);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL)
		n = fread(out, 1, outlen - 1, p);
	else
		while (fgetc(p) != EOF)
			;
	if (out != NULL)
		out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
