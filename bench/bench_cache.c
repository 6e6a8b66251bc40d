// SPDX-License-Identifier: Apache-2.0
/*
 * bench_cache.c - how fast src/kube decodes, and how small the informer
 * cache keeps, N PersistentVolumes and N PersistentVolumeClaims.
 *
 * The inputs are real objects captured from a local cluster after our
 * provisioner bound a claim (bench/data/pv.json, bench/data/pvc.json: with
 * managedFields, a last-applied annotation, claimRef and nodeAffinity, as
 * the API server sends them), copied N times with distinct names, UIDs and
 * resourceVersions, and served as 500-item list pages, as the informer
 * lists them. Timed: parse each page (jansson), decode every item into a
 * heap struct (the informer's cached object: a 16-byte header and the
 * struct), insert it into a hash map by key, drop the page. Memory: heap
 * bytes still in use afterwards (mallinfo2) and resident set growth, per
 * cached object, next to the object's JSON size.
 *
 * As the informer does now, pages are parsed lean (kube_json_loadb_lean:
 * without managedFields and the last-applied annotation) and each object is
 * cached packed into one block (kube_pv_pack), and the list ends with
 * malloc_trim(0); "classic" does what it did
 * before both: jansson on the whole text, the decoded struct cached as is.
 *
 *   bench/bench_cache [N [classic]]     (default 10000)
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/json_lean.h"
#include "kube/objects.h"

#define PAGE 500

/* The informer's cached object (informer.c struct iobj): refs, packed, type, data. */
struct cached {
	atomic_int refs;
	bool packed;
	const void *type;
	char data[];
};

static bool classic;

struct kind {
	const char *name;
	const char *file;
	size_t size;
	int (*decode)(json_t *, void *, struct err *);
	void (*release)(void *);
	/* give copy i a distinct identity */
	void (*vary)(json_t *obj, size_t i);
	size_t (*packed_size)(const void *obj);
	void (*pack)(const void *obj, void *block);
};

static int dec_pv(json_t *o, void *out, struct err *e) { return kube_pv_decode(o, out, e); }
static void rel_pv(void *p) { kube_pv_release(p); }
static int dec_pvc(json_t *o, void *out, struct err *e) { return kube_pvc_decode(o, out, e); }
static void rel_pvc(void *p) { kube_pvc_release(p); }
static size_t size_pv(const void *p) { return kube_pv_packed_size(p); }
static void pack_pv(const void *p, void *b) { kube_pv_pack(p, b); }
static size_t size_pvc(const void *p) { return kube_pvc_packed_size(p); }
static void pack_pvc(const void *p, void *b) { kube_pvc_pack(p, b); }

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

static void uid_of(size_t i, char *out, size_t n, unsigned salt)
{
	snprintf(out, n, "%08x-%04x-4%03x-8%03x-%012zx", 0x5eed0000u + salt, (unsigned)(i & 0xffff),
		 (unsigned)(i % 4096), (unsigned)((i * 7) % 4096), i * 2654435761u);
}

static void vary_pv(json_t *pv, size_t i)
{
	json_t *md = json_object_get(pv, "metadata");
	json_t *ref = json_object_get(json_object_get(pv, "spec"), "claimRef");
	char claim[64], uid[64], name[96], rv[32], cname[64];

	uid_of(i, claim, sizeof(claim), 1);
	uid_of(i, uid, sizeof(uid), 2);
	snprintf(name, sizeof(name), "pvc-%s", claim);
	snprintf(rv, sizeof(rv), "%zu", 100000 + i);
	snprintf(cname, sizeof(cname), "data-postgres-%zu", i);
	set_str(md, "name", name);
	set_str(md, "uid", uid);
	set_str(md, "resourceVersion", rv);
	set_str(ref, "uid", claim);
	set_str(ref, "name", cname);
	set_str(json_object_get(json_object_get(pv, "spec"), "csi"), "volumeHandle", uid);
}

static void vary_pvc(json_t *pvc, size_t i)
{
	json_t *md = json_object_get(pvc, "metadata");
	char uid[64], name[64], rv[32], vol[96];

	uid_of(i, uid, sizeof(uid), 1);
	snprintf(name, sizeof(name), "data-postgres-%zu", i);
	snprintf(rv, sizeof(rv), "%zu", 200000 + i);
	snprintf(vol, sizeof(vol), "pvc-%s", uid);
	set_str(md, "name", name);
	set_str(md, "uid", uid);
	set_str(md, "resourceVersion", rv);
	set_str(json_object_get(pvc, "spec"), "volumeName", vol);
}

static const struct kind kinds[] = {
	{ "PersistentVolume", "bench/data/pv.json", sizeof(struct kube_pv), dec_pv, rel_pv, vary_pv,
	  size_pv, pack_pv },
	{ "PersistentVolumeClaim", "bench/data/pvc.json", sizeof(struct kube_pvc), dec_pvc,
	  rel_pvc, vary_pvc, size_pvc, pack_pvc },
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_used(void)
{
	return mallinfo2().uordblks;
}

static size_t rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* Build the list pages as text: what the API server sends. */
static char **make_pages(const struct kind *k, size_t n, size_t *npages, size_t *json_bytes)
{
	json_error_t jerr;
	json_t *tmpl = json_load_file(k->file, 0, &jerr);
	char **pages;
	size_t p, i;

	if (!tmpl)
		die("cannot load %s: %s", k->file, jerr.text);
	*npages = (n + PAGE - 1) / PAGE;
	pages = xcalloc(*npages, sizeof(char *));
	*json_bytes = 0;
	for (p = 0; p < *npages; p++) {
		json_t *items = json_array();
		json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "List", "apiVersion",
					 "v1", "metadata", "resourceVersion", "300000", "items",
					 items);

		for (i = p * PAGE; i < n && i < (p + 1) * PAGE; i++) {
			json_t *obj = json_deep_copy(tmpl);
			char *one;

			k->vary(obj, i);
			one = json_dumps(obj, JSON_COMPACT);
			*json_bytes += strlen(one);
			free(one);
			json_array_append_new(items, obj);
		}
		pages[p] = json_dumps(list, JSON_COMPACT);
		json_decref(list);
	}
	json_decref(tmpl);
	return pages;
}

static void drop(void *ctx, const char *key, void *value)
{
	struct cached *c = value;

	(void)ctx;
	(void)key;
	if (!c->packed)
		((const struct kind *)c->type)->release(c->data);
	free(c);
}

static json_t *load(const char *text, json_error_t *jerr)
{
	return classic ? json_loads(text, 0, jerr) : kube_json_loadb_lean(text, strlen(text), 0, jerr);
}

static void run(const struct kind *k, size_t n)
{
	size_t npages, json_bytes, p, cached = 0, heap0, heap1, rss0, rss1;
	char **pages = make_pages(k, n, &npages, &json_bytes);
	struct hmap cache = HMAP_INIT;
	double t0, t1, parse_s;

	/* the JSON parser alone, for scale */
	t0 = now_s();
	for (p = 0; p < npages; p++) {
		json_error_t jerr;
		json_t *page = load(pages[p], &jerr);

		if (!page)
			die("page %zu: %s", p, jerr.text);
		json_decref(page);
	}
	parse_s = now_s() - t0;

	malloc_trim(0);
	heap0 = heap_used();
	rss0 = rss_bytes();
	t0 = now_s();
	for (p = 0; p < npages; p++) {
		json_error_t jerr;
		json_t *page = load(pages[p], &jerr), *item;
		size_t i;

		if (!page)
			die("page %zu: %s", p, jerr.text);
		json_array_foreach(json_object_get(page, "items"), i, item) {
			struct cached *c = xcalloc(1, sizeof(*c) + k->size);
			struct err e = ERR_INIT;
			char *key;

			atomic_init(&c->refs, 1);
			c->type = k;
			if (k->decode(item, c->data, &e))
				die("decode: %s", err_msg(&e));
			if (!classic) {
				struct cached *pc = xmalloc(sizeof(*pc) + k->packed_size(c->data));

				atomic_init(&pc->refs, 1);
				pc->packed = true;
				pc->type = k;
				k->pack(c->data, pc->data);
				k->release(c->data);
				free(c);
				c = pc;
			}
			key = xasprintf("%s%s%s",
					((struct kube_meta *)c->data)->namespace ? ((struct kube_meta *)c->data)->namespace : "",
					((struct kube_meta *)c->data)->namespace ? "/" : "",
					((struct kube_meta *)c->data)->name);
			if (hmap_put(&cache, key, c))
				die("duplicate key %s", key);
			free(key);
			cached++;
		}
		json_decref(page);
	}
	t1 = now_s();
	heap1 = heap_used();
	if (!classic)
		malloc_trim(0);	/* as the informer after each list */
	rss1 = rss_bytes();
	printf("%-22s %6zu objects  decode+cache %7.1f ms (%5.2f us/object, %6.1f MB/s of JSON)\n",
	       k->name, cached, (t1 - t0) * 1e3, (t1 - t0) * 1e6 / (double)cached,
	       (double)json_bytes / (t1 - t0) / 1e6);
	printf("%-22s of which parsing JSON (%s) alone %5.2f us/object\n", "",
	       classic ? "jansson" : "lean", parse_s * 1e6 / (double)cached);
	printf("%-22s JSON %5zu B/object; cached: heap %4zu B/object, RSS +%4zu B/object (%.1f%% of the JSON)\n",
	       "", json_bytes / cached, (heap1 - heap0) / cached,
	       rss1 > rss0 ? (rss1 - rss0) / cached : 0,
	       100.0 * (double)(heap1 - heap0) / (double)json_bytes);
	hmap_each(&cache, drop, NULL);
	hmap_release(&cache);
	for (p = 0; p < npages; p++)
		free(pages[p]);
	free(pages);
}

int main(int argc, char **argv)
{
	size_t n = 10000;

	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (*end || v <= 0 || (argc > 2 && strcmp(argv[2], "classic")))
			die("usage: bench_cache [N [classic]]");
		n = (size_t)v;
		classic = argc > 2;
	}
	printf("%s\n", classic ? "classic: jansson on the whole text, decoded structs cached"
			       : "lean parse, packed objects (as the informer)");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		run(&kinds[i], n);
	return 0;
}
