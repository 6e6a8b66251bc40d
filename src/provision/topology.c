// SPDX-License-Identifier: Apache-2.0
/*
 * topology.c - accessibility requirements for CreateVolume (see topology.h).
 *
 * Segments are kept canonical (keys sorted) and segment lists sorted (fewer
 * keys first, then by key and value) without duplicates, so the same
 * cluster always yields the same request, and retries ask for the same
 * thing.
 */
#include "provision/topology.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct seglist {
	struct strmap *items;
	size_t n, alloc;
};

/* Segments stay canonical: keys sorted after every change. */
static void seg_set(struct strmap *s, const char *k, const char *v)
{
	strmap_set(s, k, v);
	strmap_sort(s);
}

static int seg_cmp(const void *a, const void *b)
{
	return strmap_cmp(a, b);
}

/* Takes ownership of `s`. */
static void list_push(struct seglist *l, struct strmap *s)
{
	l->items = xgrow(l->items, l->n + 1, &l->alloc, sizeof(*l->items));
	l->items[l->n++] = *s;
	memset(s, 0, sizeof(*s));
}

static void list_release(struct seglist *l)
{
	for (size_t i = 0; i < l->n; i++)
		strmap_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Sort and drop duplicates. */
static void list_canonical(struct seglist *l)
{
	size_t w = 0;

	if (!l->n)
		return;
	qsort(l->items, l->n, sizeof(*l->items), seg_cmp);
	for (size_t r = 1; r < l->n; r++) {
		if (!seg_cmp(&l->items[w], &l->items[r]))
			strmap_release(&l->items[r]);
		else
			l->items[++w] = l->items[r];
	}
	l->n = w + 1;
}

/* allowedTopologies, each term's value lists multiplied out into segments. */
static void flatten_allowed(const struct kube_storage_class *class, struct seglist *out)
{
	for (size_t t = 0; t < class->n_allowed_topologies; t++) {
		const struct kube_topology_term *term = &class->allowed_topologies[t];
		struct seglist acc = { 0 };
		struct strmap empty = STRMAP_INIT;

		list_push(&acc, &empty);
		for (size_t r = 0; r < term->n_reqs; r++) {
			const struct kube_label_req *req = &term->reqs[r];
			struct seglist next = { 0 };

			for (size_t a = 0; a < acc.n; a++)
				for (size_t v = 0; v < req->n_values; v++) {
					struct strmap s;

					strmap_copy(&s, &acc.items[a]);
					seg_set(&s, req->key, req->values[v]);
					list_push(&next, &s);
				}
			list_release(&acc);
			acc = next;
		}
		for (size_t a = 0; a < acc.n; a++)
			if (acc.items[a].n)
				list_push(out, &acc.items[a]);
		list_release(&acc);
	}
	list_canonical(out);
}

static const struct kube_csinode_driver *csinode_driver(const struct kube_csinode *n,
							 const char *driver)
{
	for (size_t i = 0; n && i < n->n_drivers; i++)
		if (n->drivers[i].name && !strcmp(n->drivers[i].name, driver))
			return &n->drivers[i];
	return NULL;
}

/* One segment per node that has every key as a label. */
static void aggregate(const struct topo_input *in, char *const *keys, size_t nkeys,
		      struct seglist *out)
{
	for (size_t i = 0; i < in->n_nodes; i++) {
		const struct strmap *labels = &in->nodes[i]->meta.labels;
		struct strmap s = STRMAP_INIT;
		size_t k;

		for (k = 0; k < nkeys; k++) {
			const char *v = strmap_get(labels, keys[k]);

			if (!v)
				break;
			seg_set(&s, keys[k], v);
		}
		if (k == nkeys && nkeys)
			list_push(out, &s);
		else
			strmap_release(&s);
	}
	list_canonical(out);
}

/*
 * Upstream's spreading heuristic: a StatefulSet names its claims
 * "<template>-<statefulset>-<ordinal>". Only the StatefulSet part (after the
 * last dash of what precedes the ordinal) is hashed, so every claim of one
 * pod gets the same rotation and lands in one zone (a pod whose volumes sit
 * in two zones cannot be scheduled); the ordinal spreads the pods. A name
 * without a numeric suffix is hashed whole. The ordinal is what Go's
 * strconv.ParseUint(s, 10, 32) accepts: decimal digits that fit 32 bits.
 */
void topo_claim_hash(const char *name, unsigned *hash, unsigned *ordinal)
{
	const char *dash = strrchr(name, '-'), *start = name, *end = name + strlen(name);
	unsigned h = 2166136261u;
	bool numeric = dash && dash[1];
	uint64_t v = 0;

	*ordinal = 0;
	for (const char *p = dash ? dash + 1 : NULL; numeric && *p; p++) {
		numeric = isdigit((unsigned char)*p) && (v = v * 10 + (uint64_t)(*p - '0')) <= UINT32_MAX;
	}
	if (numeric) {
		*ordinal = (unsigned)v;
		end = dash;
		for (const char *p = dash; p > name; p--)
			if (p[-1] == '-') {
				start = p;
				break;
			}
	}
	for (const char *p = start; p < end; p++) {	/* FNV-1, 32 bit */
		h *= 16777619u;
		h ^= (unsigned char)*p;
	}
	*hash = h;
}

static void emit(struct seglist *l, struct strmap **items, size_t *n, size_t rotate)
{
	*items = xcalloc(l->n + 1, sizeof(**items));
	*n = l->n;
	for (size_t i = 0; i < l->n; i++)
		strmap_copy(&(*items)[i], &l->items[(i + rotate) % l->n]);
}

int topo_requirements(const struct topo_input *in, struct topo_result *out, struct err *e)
{
	struct seglist req = { 0 }, allowed = { 0 };
	struct strmap selected = STRMAP_INIT;
	int rc = TOPO_OK;

	memset(out, 0, sizeof(*out));
	flatten_allowed(in->class, &allowed);
	if (in->selected_node_name) {
		const struct kube_csinode_driver *d;

		if (!in->selected_csinode) {
			rc = err_set(e, TOPO_ERR_RESCHEDULE, "CSINode %s not found: the selected node "
				     "runs no driver yet", in->selected_node_name);
			goto out;
		}
		d = csinode_driver(in->selected_csinode, in->driver);
		if (!d || !d->n_topology_keys) {
			rc = err_set(e, TOPO_ERR_FINAL, "no topology key found for node %s",
				     in->selected_node_name);
			goto out;
		}
		if (!in->selected_node) {
			rc = err_set(e, TOPO_ERR_RESCHEDULE, "selected node %s not found",
				     in->selected_node_name);
			goto out;
		}
		for (size_t k = 0; k < d->n_topology_keys; k++) {
			const char *v = strmap_get(&in->selected_node->meta.labels,
							d->topology_keys[k]);

			if (!v) {
				rc = err_set(e, TOPO_ERR_FINAL, "topology labels from selected node %s "
					     "do not match topology keys from CSINode: label %s missing",
					     in->selected_node_name, d->topology_keys[k]);
				goto out;
			}
			seg_set(&selected, d->topology_keys[k], v);
		}
		if (in->strict) {
			bool ok = !allowed.n;

			for (size_t i = 0; i < allowed.n && !ok; i++)
				ok = strmap_subset(&allowed.items[i], &selected);
			if (!ok) {
				rc = err_set(e, TOPO_ERR_FINAL, "selected node %s is outside the "
					     "StorageClass's allowedTopologies", in->selected_node_name);
				goto out;
			}
			out->requisite = xcalloc(2, sizeof(*out->requisite));
			out->preferred = xcalloc(2, sizeof(*out->preferred));
			strmap_copy(&out->requisite[0], &selected);
			strmap_copy(&out->preferred[0], &selected);
			out->n_requisite = out->n_preferred = 1;
			goto out;
		}
		if (allowed.n) {
			req = allowed;
			memset(&allowed, 0, sizeof(allowed));
		} else {
			aggregate(in, d->topology_keys, d->n_topology_keys, &req);
		}
		/* preferred: the requisite list turned so the selected node's segment leads */
		for (size_t i = 0; i < req.n; i++) {
			if (strmap_subset(&req.items[i], &selected)) {
				emit(&req, &out->requisite, &out->n_requisite, 0);
				emit(&req, &out->preferred, &out->n_preferred, i);
				goto out;
			}
		}
		rc = err_set(e, TOPO_ERR_FINAL, "no topology segment allowed for the volume contains "
			     "the selected node %s", in->selected_node_name);
		goto out;
	}

	/* immediate binding */
	if (allowed.n) {
		req = allowed;
		memset(&allowed, 0, sizeof(allowed));
	} else if (in->immediate) {
		const struct kube_csinode_driver *d = NULL;

		/* the first CSINode of our driver names the keys (upstream picks at random) */
		for (size_t i = 0; i < in->n_csinodes && !(d && d->n_topology_keys); i++)
			d = csinode_driver(in->csinodes[i], in->driver);
		if (!d || !d->n_topology_keys) {
			rc = err_set(e, TOPO_ERR_FINAL, "no available topology found: no node runs "
				     "driver %s with topology keys", in->driver);
			goto out;
		}
		aggregate(in, d->topology_keys, d->n_topology_keys, &req);
		if (!req.n) {
			rc = err_set(e, TOPO_ERR_FINAL, "topology keys of driver %s were not found "
				     "on any node", in->driver);
			goto out;
		}
	}
	if (req.n) {
		unsigned hash, ordinal;

		topo_claim_hash(in->claim_name ? in->claim_name : "", &hash, &ordinal);
		emit(&req, &out->requisite, &out->n_requisite, 0);
		emit(&req, &out->preferred, &out->n_preferred, (hash + ordinal) % req.n);
	}
out:
	if (rc)
		topo_result_release(out);
	strmap_release(&selected);
	list_release(&req);
	list_release(&allowed);
	return rc;
}

static struct strmap *segs_copy(const struct strmap *src, size_t n)
{
	struct strmap *out = n ? xcalloc(n, sizeof(*out)) : NULL;

	for (size_t i = 0; i < n; i++)
		strmap_copy(&out[i], &src[i]);
	return out;
}

void topo_result_copy(struct topo_result *dst, const struct topo_result *src)
{
	dst->requisite = segs_copy(src->requisite, src->n_requisite);
	dst->n_requisite = src->n_requisite;
	dst->preferred = segs_copy(src->preferred, src->n_preferred);
	dst->n_preferred = src->n_preferred;
}

void topo_result_release(struct topo_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_requisite; i++)
		strmap_release(&r->requisite[i]);
	for (size_t i = 0; i < r->n_preferred; i++)
		strmap_release(&r->preferred[i]);
	free(r->requisite);
	free(r->preferred);
	memset(r, 0, sizeof(*r));
}
