/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfmt.h - how one log line looks: escaping and the text / JSON layouts.
 *
 * Pure functions of their inputs (time and thread id are passed in), so
 * tests can check exact lines. The logger (log.c) decides where lines go.
 */
#ifndef BASE_LOGFMT_H
#define BASE_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Longest message kept; longer ones end in "[...]" so the cut is visible. */
#define LOGFMT_MSG_MAX 16384

struct logfmt_line {
	char sev;		/* 'I', 'W' or 'E' */
	int v;			/* verbosity of an info line */
	int64_t sec;		/* wall clock, UTC */
	long usec;
	long tid;		/* thread id for the text header */
	const char *file;	/* __FILE__ of the caller */
	int line;
	const char *msg;	/* not yet escaped */
	const char *const *kv;	/* key, value, ..., NULL; or NULL */
};

/*
 * Append `s` to b with control characters escaped for a text line: \n \r
 * \t, other C0 controls, DEL and C1 controls as \xNN / \u00NN, U+2028 and
 * U+2029 as \u2028 / \u2029. Other bytes, including invalid UTF-8, pass.
 */
void logfmt_escape_text(struct buf *b, const char *s, size_t n);

/* Append `s` as the body of a JSON string: valid JSON, invalid UTF-8 as \ufffd. */
void logfmt_escape_json(struct buf *b, const char *s, size_t n);

/* "src/provision/controller.c" -> "controller.c"; with dir: "provision/controller.c". */
const char *logfmt_base(const char *file, bool with_dir);

/* Append the whole line, newline included. */
void logfmt_text(struct buf *b, const struct logfmt_line *l);
void logfmt_json(struct buf *b, const struct logfmt_line *l);

#endif
