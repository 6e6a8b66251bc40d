// SPDX-License-Identifier: Apache-2.0
/*
 * node_deploy.c - the pure decisions of --node-deployment (see
 * node_deploy.h): whose claim, how long to wait before taking one, which
 * PVs are this node's, names that carry the node.
 */
#include "provision/node_deploy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum nd_owner nd_claim_owner(const char *selected_node, const char *node)
{
	if (!selected_node || !*selected_node)
		return ND_NONE;
	return node && !strcmp(selected_node, node) ? ND_MINE : ND_OTHER;
}

int64_t nd_delay_ms(int64_t base_ms, int64_t max_ms, unsigned requeues, double r)
{
	int64_t delay = base_ms, jitter;

	if (base_ms <= 0)
		return 0;
	for (unsigned i = 0; i < requeues && delay < max_ms; i++)
		delay = delay > INT64_MAX / 2 ? INT64_MAX : delay * 2;
	if (delay > max_ms)
		delay = max_ms;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 0.999999;
	jitter = (int64_t)((double)base_ms * r);
	return jitter > delay ? 0 : delay - jitter;
}

/* A label value as Kubernetes' Gt/Lt read it: a decimal int64. */
static bool parse_int(const char *s, int64_t *out)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

static bool req_matches(const struct kube_label_req *q, const struct strmap *labels)
{
	const char *op = q->op ? q->op : "In";
	const char *v = q->key ? strmap_get(labels, q->key) : NULL;
	int64_t have, want;

	if (!q->key)		/* matchFields: the stand-in node has no fields */
		return false;
	if (!strcmp(op, "Exists"))
		return v != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return v == NULL;
	if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
		bool in = false;

		for (size_t i = 0; v && i < q->n_values; i++)
			in = in || (q->values[i] && !strcmp(q->values[i], v));
		return !strcmp(op, "In") ? in : !in;
	}
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		if (q->n_values != 1 || !parse_int(v, &have) || !parse_int(q->values[0], &want))
			return false;
		return !strcmp(op, "Gt") ? have > want : have < want;
	}
	return false;		/* an operator Kubernetes does not know */
}

bool nd_volume_accessible(const struct kube_pv *pv, const struct strmap *topo)
{
	/* unknown is not ours: only a PV pinned to this node's topology is */
	if (!topo || !pv->n_affinity)
		return false;
	for (size_t t = 0; t < pv->n_affinity; t++) {
		const struct kube_topology_term *term = &pv->affinity[t];
		bool all = term->n_reqs > 0;

		for (size_t i = 0; all && i < term->n_reqs; i++)
			all = req_matches(&term->reqs[i], topo);
		if (all)
			return true;
	}
	return false;
}

static void fnv1a_hex(const char *s, char out[9])
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	snprintf(out, 9, "%08" PRIx32, h);
}

char *nd_name_with_max_length(const char *base, const char *suffix, size_t max)
{
	char *name = base && *base ? xasprintf("%s-%s", base, suffix) : xstrdup(suffix);
	size_t blen = base ? strlen(base) : 0, slen = strlen(suffix);
	char h[9], *out;

	if (strlen(name) <= max)
		return name;
	if (max <= 10 + slen) {
		/* the suffix does not fit: a cut of the base and the hash of it all */
		size_t keep = max > 9 ? max - 9 : 0;

		fnv1a_hex(name, h);
		if (keep > blen)
			keep = blen;
		out = keep ? xasprintf("%.*s-%s", (int)keep, base, h) : xstrdup(h);
		if (strlen(out) > max)
			out[max] = '\0';
	} else {
		fnv1a_hex(base, h);
		out = xasprintf("%.*s-%s-%s", (int)(max - 10 - slen), base, h, suffix);
	}
	free(name);
	return out;
}

void nd_local_node(const char *node, const char *driver, const struct csi_node_info *info,
		   struct kube_node *out_node, struct kube_csinode *out_csinode)
{
	size_t n = info ? info->topology.n : 0;
	struct strmap *l = &out_node->meta.labels;
	struct kube_csinode_driver *d;

	memset(out_node, 0, sizeof(*out_node));
	memset(out_csinode, 0, sizeof(*out_csinode));
	out_node->meta.name = xstrdup(node);
	out_csinode->meta.name = xstrdup(node);
	d = out_csinode->drivers = xcalloc(1, sizeof(*d));
	out_csinode->n_drivers = 1;
	d->name = xstrdup(driver);
	d->node_id = xstrdup(info && info->node_id ? info->node_id : node);
	d->topology_keys = xcalloc(n + 1, sizeof(*d->topology_keys));
	for (size_t i = 0; i < n; i++) {
		strmap_set(l, info->topology.items[i].key, info->topology.items[i].value);
		d->topology_keys[i] = xstrdup(info->topology.items[i].key);
	}
	d->n_topology_keys = n;
}
