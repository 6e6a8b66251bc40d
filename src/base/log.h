/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - the process logger, the one global outside main.c.
 *
 * Two formats, as the upstream sidecar's --logging-format:
 *   text  klog's header, "I1126 09:12:01.123456   12345 controller.c:42] msg"
 *         (severity I/W/E, month and day, UTC time, thread id, file:line);
 *   json  one object a line: {"ts":<ms since epoch>,"caller":"dir/file.c:42",
 *         "msg":"...","v":0} - "v" on info and warning lines, absent on
 *         errors, as component-base writes them - plus the keys of
 *         log_info_kv/log_error_kv.
 * Every message is escaped before it is written: control characters
 * (newline, carriage return, escape, C1 controls, U+2028/2029) become
 * \n, \r, \t or \xNN / \uNNNN, so a claim name or annotation can never
 * start a line of its own or repaint a terminal. Lines go to stderr, one
 * write(2) each; with split streams info lines go to stdout, optionally
 * through a buffer flushed at the flush frequency.
 *
 * Verbosity follows klog: errors, warnings and info are always written;
 * log_v(n, ...) only when --v is at least n, or when a --vmodule pattern
 * matching the calling source file (without ".c") sets at least n.
 *
 * Never log a secret's value at any level.
 */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct log_opts {
	enum log_format format;
	bool split_stream;	/* info to stdout, the rest to stderr */
	int64_t info_buffer;	/* with split_stream: bytes of info lines to buffer; 0 = none */
	int64_t flush_ms;	/* longest time a buffered line waits */
	int out_fd, err_fd;	/* normally 1 and 2; tests pass pipes */
};

/* Set the output. Call before other threads log. Resets the buffer (flushing it). */
void log_configure(const struct log_opts *o);

void log_set_level(int level);
int log_level(void);

/* Check "pattern=N,..." as klog does; returns 0 or -1 with a message. */
int log_vmodule_check(const char *spec, struct err *e);
/* Use it (NULL or "" clears). Returns 0 or -1 with a message, leaving the old one. */
int log_set_vmodule(const char *spec, struct err *e);

/* Whether a log_v(v) at `file` (a __FILE__) is written. */
bool log_v_on(int v, const char *file);
#define log_enabled(v) log_v_on((v), __FILE__)

/* Write out buffered info lines now; log_flush_due only when the flush frequency passed. */
void log_flush(void);
void log_flush_due(void);

void log_at(char sev, int v, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Structured: `kv` is key, value, ..., NULL; a NULL value prints as "" and ends the list. */
void log_kv_at(char sev, int v, const char *file, int line, const char *msg, const char *const *kv);

#define log_error(...) log_at('E', 0, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_at('W', 0, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_at('I', 0, __FILE__, __LINE__, __VA_ARGS__)
#define log_v(v, ...) \
	do { if (log_v_on((v), __FILE__)) log_at('I', (v), __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define log_info_kv(msg, ...) \
	log_kv_at('I', 0, __FILE__, __LINE__, (msg), (const char *const[]){ __VA_ARGS__, NULL })
#define log_error_kv(msg, ...) \
	log_kv_at('E', 0, __FILE__, __LINE__, (msg), (const char *const[]){ __VA_ARGS__, NULL })

/* Log "fatal: ..." and exit(1). For start-up failures only. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken invariant: log with the location and abort. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
