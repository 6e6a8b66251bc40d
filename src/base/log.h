/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - the process logger, the one global outside main.c.
 *
 * Lines go to stderr as "<time> <level> <message>", one write(2) per line so
 * threads never interleave. Verbosity follows klog's convention: errors,
 * warnings and info are always printed; log_v(n, ...) only when the
 * configured level (--v / VERBOSE, 0-5) is at least n.
 *
 * Never log a secret's value at any level.
 */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdbool.h>

void log_set_level(int level);
int log_level(void);
static inline bool log_enabled(int v) { return log_level() >= v; }

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_v(v, ...) do { if (log_enabled(v)) log_info(__VA_ARGS__); } while (0)

/* Log "fatal: ..." and exit(1). For start-up failures only. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken invariant: log with the location and abort. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
