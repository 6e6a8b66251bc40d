/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ndjson.h - split a byte stream into newline-delimited JSON lines, and
 * decode one watch event line.
 *
 * A watch response is a stream of JSON objects, one per line, that arrive
 * in chunks cut anywhere (mid-line, mid-UTF-8, between "\r" and "\n").
 * The splitter hands out each complete line exactly once, without copying
 * when a line lies whole inside one chunk, and keeps only the unfinished
 * tail, up to a cap. Pure functions: no I/O, no locks; one splitter per
 * stream, used by one thread.
 */
#ifndef KUBE_NDJSON_H
#define KUBE_NDJSON_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/* Longest watch event line accepted (one object, serialized). */
#define KUBE_WATCH_LINE_MAX ((size_t)16 << 20)

struct kube_ndjson {
	struct buf tail;	/* bytes of the line not yet terminated */
	size_t max_line;
};

/*
 * Called with one line, without its "\n" (and without a "\r" before it);
 * empty lines are skipped. `line` is valid only during the call and is not
 * NUL-terminated. A non-zero return stops kube_ndjson_feed, which returns
 * that value.
 */
typedef int (*kube_ndjson_line_fn)(void *ctx, const char *line, size_t len);

/* Caller owns `s`; max_line 0 means KUBE_WATCH_LINE_MAX. */
void kube_ndjson_init(struct kube_ndjson *s, size_t max_line);
/* Free the buffered tail. Accepts NULL. */
void kube_ndjson_release(struct kube_ndjson *s);

/*
 * Feed `n` bytes. Calls fn for each line completed by them. Returns 0; the
 * callback's non-zero value; or KUBE_ERR_TOO_LARGE (with `e` set) when a
 * line grows past max_line, after which the splitter must not be fed.
 */
int kube_ndjson_feed(struct kube_ndjson *s, const char *data, size_t n,
		     kube_ndjson_line_fn fn, void *ctx, struct err *e);

/* Bytes of an unterminated last line (a stream should end with "\n"). */
size_t kube_ndjson_pending(const struct kube_ndjson *s);

/*
 * Decode one watch event line {"type": "...", "object": {...}}.
 * On success the caller owns *event and frees it with json_decref on this
 * thread (it lives in the thread's arena, see json_arena.h: json_deep_copy
 * what is kept); *type and *object are borrowed from it. KUBE_ERR_DECODE if the line is not such an
 * object with a string type and an object value.
 */
int kube_watch_event_parse(const char *line, size_t len, json_t **event,
			   const char **type, json_t **object, struct err *e);

#endif
