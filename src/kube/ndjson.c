// SPDX-License-Identifier: Apache-2.0
/*
 * ndjson.c - newline-delimited JSON splitting and watch event decoding
 * (see ndjson.h).
 */
#include "kube/ndjson.h"

#include <string.h>

#include "kube/json_arena.h"
#include "kube/json_lean.h"
#include "kube/status.h"

void kube_ndjson_init(struct kube_ndjson *s, size_t max_line)
{
	s->max_line = max_line ? max_line : KUBE_WATCH_LINE_MAX;
	/* One byte over the line cap holds the "\r" of a "\r\n" ending. */
	buf_init(&s->tail, s->max_line + 1);
}

void kube_ndjson_release(struct kube_ndjson *s)
{
	if (!s)
		return;
	buf_release(&s->tail);
}

size_t kube_ndjson_pending(const struct kube_ndjson *s)
{
	return s->tail.len;
}

static int emit(const char *line, size_t len, kube_ndjson_line_fn fn, void *ctx)
{
	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return 0;
	return fn(ctx, line, len);
}

static int too_large(const struct kube_ndjson *s, struct err *e)
{
	return err_set(e, KUBE_ERR_TOO_LARGE,
		       "watch event longer than %zu bytes", s->max_line);
}

int kube_ndjson_feed(struct kube_ndjson *s, const char *data, size_t n,
		     kube_ndjson_line_fn fn, void *ctx, struct err *e)
{
	const char *p = data, *end = data + n, *nl;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (buf_append(&s->tail, p, (size_t)(end - p)))
				return too_large(s, e);
			/* A trailing "\r" may still be followed by "\n". */
			if (s->tail.len > s->max_line &&
			    s->tail.data[s->tail.len - 1] != '\r')
				return too_large(s, e);
			return 0;
		}
		if (s->tail.len) {
			if (buf_append(&s->tail, p, (size_t)(nl - p)))
				return too_large(s, e);
			if (s->tail.len > s->max_line + (s->tail.data[s->tail.len - 1] == '\r'))
				return too_large(s, e);
			rc = emit(s->tail.data, s->tail.len, fn, ctx);
			buf_reset(&s->tail);
		} else {
			size_t len = (size_t)(nl - p);

			if (len > s->max_line + (len && nl[-1] == '\r'))
				return too_large(s, e);
			rc = emit(p, len, fn, ctx);
		}
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

int kube_watch_event_parse(const char *line, size_t len, json_t **event,
			   const char **type, json_t **object, struct err *e)
{
	json_error_t jerr;
	json_t *ev, *t, *o;

	/*
	 * every watcher decodes and drops the object: parse it lean, into the
	 * thread's arena (the caller frees it on this thread, json_arena.h)
	 */
	kube_json_arena_begin();
	ev = kube_json_loadb_lean(line, len, JSON_REJECT_DUPLICATES, &jerr);
	kube_json_arena_end();
	if (!ev)
		return err_set(e, KUBE_ERR_DECODE, "watch event is not JSON: %s (column %d)",
			       jerr.text, jerr.column);
	t = json_object_get(ev, "type");
	o = json_object_get(ev, "object");
	if (!json_is_object(ev) || !json_is_string(t) || !json_is_object(o)) {
		json_decref(ev);
		return err_set(e, KUBE_ERR_DECODE,
			       "watch event lacks a string 'type' and an object 'object'");
	}
	*event = ev;
	*type = json_string_value(t);
	*object = o;
	return 0;
}
