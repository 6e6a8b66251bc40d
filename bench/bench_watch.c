// SPDX-License-Identifier: Apache-2.0
/*
 * bench_watch.c - the watcher's work per watch event, without the network:
 * N MODIFIED events of the real PV and PVC of bench/data (alternating, as
 * a provisioner's two busiest informers see them) fed as one NDJSON stream
 * in 16 KiB chunks to kube_ndjson_feed; each line parsed with
 * kube_watch_event_parse, decoded, packed into one block as the informer
 * caches it, and the tree and the decoded struct freed. Prints the time
 * per event; count the allocations with perf's uprobes on libc, e.g.
 *
 *   perf probe -x /lib/x86_64-linux-gnu/libc.so.6 -a malloc -a free
 *   perf stat -e probe_libc:malloc,probe_libc:free build-bench/bench_watch 20000
 *
 * (bench/results/alloc-decode.txt). Not a test: it prints figures.
 *
 *   bench/watch [N]      (default 20000)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/ndjson.h"
#include "kube/objects.h"

#define CHUNK ((size_t)16 << 10)

struct sink {
	size_t events, bytes;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (!f) {
		fprintf(stderr, "bench_watch: cannot open '%s'\n", path);
		exit(1);
	}
	buf_init(&b, (size_t)1 << 20);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(&b, tmp, n))
			BUG("'%s' is too large", path);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* The object on one line (the files are pretty-printed). */
static char *one_line(const char *path)
{
	char *text = slurp(path), *out;
	json_t *j = json_loads(text, 0, NULL);

	if (!j)
		BUG("'%s' is not JSON", path);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(text);
	return out;
}

/* The informer's view of a type: decode, pack, release. */
struct kind {
	const char *name;
	int (*decode)(json_t *obj, void *out, struct err *e);
	size_t (*packed_size)(const void *obj);
	void (*pack)(const void *obj, void *block);
	void (*release)(void *obj);
};

static int dec_pv(json_t *o, void *out, struct err *e) { return kube_pv_decode(o, out, e); }
static size_t size_pv(const void *p) { return kube_pv_packed_size(p); }
static void pack_pv(const void *p, void *b) { kube_pv_pack(p, b); }
static void rel_pv(void *p) { kube_pv_release(p); }
static int dec_pvc(json_t *o, void *out, struct err *e) { return kube_pvc_decode(o, out, e); }
static size_t size_pvc(const void *p) { return kube_pvc_packed_size(p); }
static void pack_pvc(const void *p, void *b) { kube_pvc_pack(p, b); }
static void rel_pvc(void *p) { kube_pvc_release(p); }

static const struct kind kinds[] = {
	{ "pv", dec_pv, size_pv, pack_pv, rel_pv },
	{ "pvc", dec_pvc, size_pvc, pack_pvc, rel_pvc },
};

static int on_line(void *ctx, const char *line, size_t len)
{
	struct sink *s = ctx;
	struct err e = ERR_INIT;
	const char *type;
	json_t *ev, *obj;
	const struct kind *k;
	_Alignas(max_align_t) char decoded[sizeof(struct kube_pv) > sizeof(struct kube_pvc) ?
					   sizeof(struct kube_pv) : sizeof(struct kube_pvc)];
	void *block;

	if (kube_watch_event_parse(line, len, &ev, &type, &obj, &e))
		BUG("event %zu: %s", s->events, err_msg(&e));
	k = &kinds[strcmp(json_string_value(json_object_get(obj, "kind")), "PersistentVolume") != 0];
	memset(decoded, 0, sizeof(decoded));
	if (k->decode(obj, decoded, &e))
		BUG("%s: %s", k->name, err_msg(&e));
	block = xmalloc(k->packed_size(decoded));
	k->pack(decoded, block);
	k->release(decoded);
	free(block);
	json_decref(ev);
	s->events++;
	s->bytes += len;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000, off;
	char *pv = one_line("bench/data/pv.json"), *pvc = one_line("bench/data/pvc.json");
	struct kube_ndjson nd;
	struct sink s = { 0, 0 };
	struct err e = ERR_INIT;
	struct buf stream;
	struct timespec t0, t1;
	double us;

	buf_init(&stream, (size_t)1 << 31);
	for (size_t i = 0; i < n; i++)
		if (buf_appendf(&stream, "{\"type\":\"MODIFIED\",\"object\":%s}\n", i % 2 ? pvc : pv))
			BUG("stream too large");
	kube_ndjson_init(&nd, 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (off = 0; off < stream.len; off += CHUNK) {
		size_t len = stream.len - off < CHUNK ? stream.len - off : CHUNK;

		if (kube_ndjson_feed(&nd, stream.data + off, len, on_line, &s, &e))
			BUG("feed: %s", err_msg(&e));
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	printf("events %zu  bytes/event %zu  %.2f us CPU/event\n", s.events,
	       s.events ? s.bytes / s.events : 0, s.events ? us / (double)s.events : 0);
	kube_ndjson_release(&nd);
	buf_release(&stream);
	free(pv);
	free(pvc);
	return 0;
}
