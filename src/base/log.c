// SPDX-License-Identifier: Apache-2.0
/* log.c - the process logger (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int level;

void log_set_level(int v)
{
	atomic_store(&level, v);
}

int log_level(void)
{
	return atomic_load(&level);
}

static void emit(char tag, const char *fmt, va_list ap)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	int n, m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%c%02d%02d %02d:%02d:%02d.%06ld ", tag,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)tv.tv_usec);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2) {
		/* Say so rather than cut silently. */
		memcpy(line + sizeof(line) - 6, "[...]", 5);
		n = sizeof(line) - 1;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}

#define DEFINE_LOG(fn, tag) \
	void fn(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		emit(tag, fmt, ap); \
		va_end(ap); \
	}

DEFINE_LOG(log_error, 'E')
DEFINE_LOG(log_warn, 'W')
DEFINE_LOG(log_info, 'I')

void die(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_error("fatal: %s", msg ? msg : fmt);
	exit(1);
}

void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_error("BUG: %s:%d: %s", file, line, msg ? msg : fmt);
	abort();
}
