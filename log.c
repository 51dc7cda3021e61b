/*
 * log.c - levelled, one-line, key=value logging to stderr (journald adds
 * its own timestamps, but a foreground run and the tests read these lines).
 * The level is the only state; it is set once at start-up.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_max = LOG_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level) { log_max = level; }

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? log_names[level] : "?";
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Under systemd (JOURNAL_STREAM names our stderr), each line starts with
 * its syslog priority, "<3>" to "<7>", which journald strips and keeps, so
 * `journalctl -p err` shows the errors.  Decided once. */
static int log_journal = -1;
static const char *const log_prio[] = { "<3>", "<4>", "<6>", "<7>" };

static int log_to_journal(void)
{
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;
	return log_journal;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%sts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
	             log_to_journal() && (unsigned)level < 4 ? log_prio[level] : "",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	             tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(level));
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	/* One write per event keeps lines whole when several processes share stderr. */
	fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *log_value(char *buf, size_t len, const char *v)
{
	size_t o = 0;
	int bare = v[0] != '\0';

	for (const unsigned char *p = (const unsigned char *)v; *p && bare; p++)
		bare = *p > ' ' && *p != '"' && *p != '=' && *p != '\\' && *p < 0x7f;
	if (bare)
		return v;
	if (len < 3)
		return "\"\"";
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)v; *p && o + 3 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < ' ' || *p == 0x7f) {
			buf[o++] = ' ';         /* one event, one line */
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
