// SPDX-License-Identifier: Apache-2.0
/*
 * objects_pack.c - deep copies of a decoded PVC or PV into one block (see
 * objects.h, "Packed copies").
 *
 * A decoded PV is about 25 separate heap strings and arrays; in a cache of
 * thousands of objects malloc's per-chunk overhead and the fragmentation
 * left between them by freed list pages cost as much as the data. The copy
 * puts the struct, then every pointer array, then every string into
 * consecutive bytes. One function per type walks every pointer field twice:
 * once to size the block, once to fill it.
 */
#include "kube/objects.h"

#include <stdint.h>
#include <string.h>

/*
 * A field added to one of these structs must be packed below too: these
 * sizes make the build fail until it is (64-bit targets).
 */
_Static_assert(sizeof(void *) != 8 || sizeof(struct kube_meta) == 112,
	       "struct kube_meta changed: update pack_meta");
_Static_assert(sizeof(void *) != 8 || sizeof(struct kube_pvc) == 256,
	       "struct kube_pvc changed: update pack_pvc");
_Static_assert(sizeof(void *) != 8 || sizeof(struct kube_pv) == 280,
	       "struct kube_pv changed: update pack_pv");
_Static_assert(sizeof(void *) != 8 || sizeof(struct kube_topology_term) == 16,
	       "struct kube_topology_term changed: update pack_affinity");
_Static_assert(sizeof(void *) != 8 || sizeof(struct kube_label_req) == 32,
	       "struct kube_label_req changed: update pack_affinity");

struct packer {
	bool sizing;		/* first pass: count only */
	size_t arrays, strings;	/* sizing: bytes of each */
	char *arr, *str;	/* filling: where the next array / string goes */
};

static char *pstr(struct packer *k, const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (k->sizing) {
		k->strings += n;
		return NULL;
	}
	memcpy(k->str, s, n);
	k->str += n;
	return k->str - n;
}

static char **pstrv(struct packer *k, char *const *v, size_t n)
{
	char **out;

	if (!v)
		return NULL;
	if (k->sizing) {
		k->arrays += n * sizeof(char *);
		for (size_t i = 0; i < n; i++)
			pstr(k, v[i]);
		return NULL;
	}
	out = (char **)(void *)k->arr;
	k->arr += n * sizeof(char *);
	for (size_t i = 0; i < n; i++)
		out[i] = pstr(k, v[i]);
	return out;
}

/*
 * An array of n structs of `size` bytes (a multiple of 8, so the pointer
 * arrays after it stay aligned): the bytes copied; the caller then packs
 * what their pointers point to.
 */
static void *parr(struct packer *k, const void *v, size_t n, size_t size)
{
	void *out;

	if (!v)
		return NULL;
	if (k->sizing) {
		k->arrays += n * size;
		return NULL;
	}
	out = k->arr;
	memcpy(out, v, n * size);
	k->arr += n * size;
	return out;
}

/* A PV's node affinity terms (see struct kube_pv). */
static struct kube_topology_term *pack_affinity(struct packer *k,
						const struct kube_topology_term *s, size_t n)
{
	struct kube_topology_term *d = parr(k, s, n, sizeof(*s));

	for (size_t i = 0; s && i < n; i++) {
		const struct kube_label_req *sr = s[i].reqs;
		struct kube_label_req *dr = parr(k, sr, s[i].n_reqs, sizeof(*sr));

		for (size_t j = 0; sr && j < s[i].n_reqs; j++) {
			char *key = pstr(k, sr[j].key), *op = pstr(k, sr[j].op);
			char **values = pstrv(k, sr[j].values, sr[j].n_values);

			if (dr) {
				dr[j].key = key;
				dr[j].op = op;
				dr[j].values = values;
			}
		}
		if (d)
			d[i].reqs = dr;
	}
	return d;
}

static void pack_strmap(struct packer *k, struct strmap *d, const struct strmap *s)
{
	struct strmap_entry *items = parr(k, s->items, s->n, sizeof(*s->items));

	for (size_t i = 0; s->items && i < s->n; i++) {
		char *key = pstr(k, s->items[i].key), *value = pstr(k, s->items[i].value);

		if (items) {
			items[i].key = key;
			items[i].value = value;
		}
	}
	d->items = items;
	d->n = d->alloc = s->n;
}

static void pack_meta(struct packer *k, struct kube_meta *d, const struct kube_meta *s)
{
	*d = *s;
	d->name = pstr(k, s->name);
	d->namespace = pstr(k, s->namespace);
	d->uid = pstr(k, s->uid);
	d->resource_version = pstr(k, s->resource_version);
	pack_strmap(k, &d->annotations, &s->annotations);
	pack_strmap(k, &d->labels, &s->labels);
	d->finalizers = pstrv(k, s->finalizers, s->n_finalizers);
}

static void pack_pvc(struct packer *k, void *dst, const void *src)
{
	const struct kube_pvc *s = src;
	struct kube_pvc *d = dst;

	*d = *s;
	pack_meta(k, &d->meta, &s->meta);
	d->storage_class_name = pstr(k, s->storage_class_name);
	d->access_modes = pstrv(k, s->access_modes, s->n_access_modes);
	d->volume_name = pstr(k, s->volume_name);
	d->volume_mode = pstr(k, s->volume_mode);
	d->data_source_kind = pstr(k, s->data_source_kind);
	d->data_source_api_group = pstr(k, s->data_source_api_group);
	d->data_source_name = pstr(k, s->data_source_name);
	d->data_source_namespace = pstr(k, s->data_source_namespace);
	d->vac_name = pstr(k, s->vac_name);
	d->phase = pstr(k, s->phase);
}

static void pack_pv(struct packer *k, void *dst, const void *src)
{
	const struct kube_pv *s = src;
	struct kube_pv *d = dst;

	*d = *s;
	pack_meta(k, &d->meta, &s->meta);
	d->intree.id = pstr(k, s->intree.id);
	d->intree.fs_type = pstr(k, s->intree.fs_type);
	d->intree.disk_kind = pstr(k, s->intree.disk_kind);
	d->intree.secret_name = pstr(k, s->intree.secret_name);
	d->intree.secret_namespace = pstr(k, s->intree.secret_namespace);
	d->csi_driver = pstr(k, s->csi_driver);
	d->csi_volume_handle = pstr(k, s->csi_volume_handle);
	d->reclaim_policy = pstr(k, s->reclaim_policy);
	d->phase = pstr(k, s->phase);
	d->claim_ns = pstr(k, s->claim_ns);
	d->claim_name = pstr(k, s->claim_name);
	d->claim_uid = pstr(k, s->claim_uid);
	d->claim_rv = pstr(k, s->claim_rv);
	d->storage_class_name = pstr(k, s->storage_class_name);
	d->affinity = pack_affinity(k, s->affinity, s->n_affinity);
}

/* The sizing pass: how many bytes of arrays and strings follow the struct. */
static struct packer sized(void (*pack)(struct packer *, void *, const void *), const void *src)
{
	struct packer k = { .sizing = true };
	union {
		struct kube_pvc pvc;
		struct kube_pv pv;
	} scratch;

	pack(&k, &scratch, src);
	return k;
}

static size_t packed_size(void (*pack)(struct packer *, void *, const void *), size_t size,
			  const void *src)
{
	struct packer k = sized(pack, src);

	return size + k.arrays + k.strings;
}

static void pack_into(void (*pack)(struct packer *, void *, const void *), size_t size,
		      const void *src, void *dst)
{
	struct packer k = sized(pack, src);

	k.sizing = false;
	k.arr = (char *)dst + size;
	k.str = k.arr + k.arrays;
	pack(&k, dst, src);
}

size_t kube_pvc_packed_size(const struct kube_pvc *p)
{
	return packed_size(pack_pvc, sizeof(*p), p);
}

void kube_pvc_pack(const struct kube_pvc *p, void *block)
{
	pack_into(pack_pvc, sizeof(*p), p, block);
}

size_t kube_pv_packed_size(const struct kube_pv *p)
{
	return packed_size(pack_pv, sizeof(*p), p);
}

void kube_pv_pack(const struct kube_pv *p, void *block)
{
	pack_into(pack_pv, sizeof(*p), p, block);
}
