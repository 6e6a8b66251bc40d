// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_watch.c - libFuzzer target for the watch stream: the NDJSON
 * splitter, the watch event parser and the Status error decoder. The first
 * byte picks a chunk size; the rest is the stream. Property: the lines the
 * splitter hands out do not depend on how the stream is cut (whole, or in
 * chunks of the chosen size).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "kube/ndjson.h"
#include "kube/status.h"

#define LINE_MAX_FUZZ 4096

struct sink {
	struct buf all;		/* every line, each followed by '\n' */
};

static int on_line(void *ctx, const char *line, size_t len)
{
	struct sink *s = ctx;
	struct err e = ERR_INIT;
	const char *type;
	json_t *ev, *obj;

	if (memchr(line, '\n', len))
		BUG("a line with a newline inside");
	buf_append(&s->all, line, len);
	buf_append(&s->all, "\n", 1);
	if (kube_watch_event_parse(line, len, &ev, &type, &obj, &e) == 0) {
		if (!type || !json_is_object(obj))
			BUG("parsed an event without a type or an object");
		if (!strcmp(type, "ERROR")) {
			struct err se = ERR_INIT;
			int code = kube_status_error_json(obj, "watch", &se);

			if (!code || !se.msg)
				BUG("an ERROR event that is not an error");
			err_release(&se);
		}
		json_decref(ev);
	}
	err_release(&e);
	return 0;
}

/* Split `data` into chunks of `step` bytes; the lines, or -1 on overflow. */
static int split(const uint8_t *data, size_t size, size_t step, struct sink *s)
{
	struct kube_ndjson nd;
	struct err e = ERR_INIT;
	size_t off;
	int rc = 0;

	kube_ndjson_init(&nd, LINE_MAX_FUZZ);
	for (off = 0; off < size && !rc; off += step) {
		size_t n = size - off < step ? size - off : step;

		rc = kube_ndjson_feed(&nd, (const char *)data + off, n, on_line, s, &e);
	}
	if (!rc && kube_ndjson_pending(&nd))
		rc = kube_ndjson_feed(&nd, "\n", 1, on_line, s, &e);
	err_release(&e);
	kube_ndjson_release(&nd);
	return rc ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink whole, chunked;
	size_t step;
	int a, b;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	buf_init(&whole.all, (size_t)1 << 20);
	buf_init(&chunked.all, (size_t)1 << 20);
	a = split(data, size, size ? size : 1, &whole);
	b = split(data, size, step, &chunked);
	/* a line too long is caught either way; otherwise the same lines */
	if (a != b || (!a && (whole.all.len != chunked.all.len ||
			      memcmp(whole.all.data ? whole.all.data : "",
				     chunked.all.data ? chunked.all.data : "", whole.all.len))))
		BUG("splitting in chunks of %zu changed the lines", step);
	buf_release(&whole.all);
	buf_release(&chunked.all);
	{
		struct err e = ERR_INIT;

		kube_status_error(403, (const char *)data, size, "GET", "/x", &e);
		err_release(&e);
	}
	return 0;
}
