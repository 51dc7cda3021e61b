/*
 * log.h - one event per line on stderr, logfmt: "ts=TIME level=L key=value
 * ...".  Callers write the key=value part; a value that may hold spaces,
 * quotes or '=' goes through log_value.  Never pass secrets.
 */
#ifndef PCHAT_LOG_H
#define PCHAT_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are dropped; set once at start-up from the ini. */
void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* v as a logfmt value: v itself when it is a bare token, else v quoted
 * into buf ("..." with \" and \\ escaped, control characters made spaces,
 * cut to fit len). */
const char *log_value(char *buf, size_t len, const char *v);

/* Log at error level and exit(1); only for start-up failures. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
