// SPDX-License-Identifier: Apache-2.0
/*
 * trim.c - what the claim and volume caches keep of objects that are not
 * ours (informer_set_trim; issue #11, "memory flat in cluster size").
 *
 * A cluster holds thousands of claims and PVs of other drivers; each one
 * cached whole costs as much as ours. The rules below decide from the
 * object alone (each watch event brings the whole object back, so a change
 * that makes it ours caches it whole again) and drop only what no reader
 * looks at for such an object:
 *
 * - A PV neither ours (plan_pv_is_ours) nor of our driver (ctl_pv_of_driver)
 *   and without our finalizer keeps its name, UID, resourceVersion, phase,
 *   driver, handle, in-tree source, class, capacity, reclaim policy and
 *   claim reference: the claim sync (is the PV of our name ours?), clone
 *   sources (the source's driver) and explain (the volumes naming a claim)
 *   read those. Its annotations, labels, finalizers and node affinity go:
 *   they are read only for our PVs (deletion secrets, the PV finalizer,
 *   node deployment).
 * - A Bound claim (spec.volumeName set, phase Bound) without a finalizer but
 *   the PVC protection and without our marks is never provisioned (plan_claim
 *   ignores it), whatever its class: it keeps every spec and status field (a
 *   clone source, the snapshot sweep and the class handler read them) and
 *   the annotations that name its class, provisioner or node, and its
 *   finalizers (adding the clone-source finalizer is a merge patch of the
 *   whole cached list); its labels and other annotations (secret templates
 *   read them, only when provisioning) go.
 */
#include <string.h>

#include "provision/controller_internal.h"

#define FINALIZER_PVC_PROTECTION "kubernetes.io/pvc-protection"

/* The claim annotations a trimmed claim keeps: every one the controller reads of a Bound claim. */
static const char *const claim_keep[] = {
	ANN_BETA_STORAGE_CLASS, ANN_STORAGE_PROVISIONER, ANN_BETA_STORAGE_PROVISIONER,
	ANN_MIGRATED_TO, ANN_SELECTED_NODE, ANN_ALPHA_SELECTED_NODE,
};
#define N_CLAIM_KEEP (sizeof(claim_keep) / sizeof(claim_keep[0]))

const void *ctl_trim_pv(void *ctx, void *obj, void *scratch)
{
	struct controller *c = ctx;
	const struct kube_pv *pv = obj;
	struct kube_pv *t = scratch;

	if (plan_pv_is_ours(pv, &c->o.plan) || ctl_pv_of_driver(c, pv) ||
	    plan_has_finalizer(&pv->meta, FINALIZER_PV))
		return obj;
	*t = *pv;	/* shallow: the packer copies what is left */
	memset(&t->meta.annotations, 0, sizeof(t->meta.annotations));
	memset(&t->meta.labels, 0, sizeof(t->meta.labels));
	t->meta.finalizers = NULL;
	t->meta.n_finalizers = 0;
	t->affinity = NULL;
	t->n_affinity = 0;
	return t;
}

static bool kept_key(const char *key)
{
	for (size_t i = 0; i < N_CLAIM_KEEP; i++)
		if (!strcmp(key, claim_keep[i]))
			return true;
	return false;
}

const void *ctl_trim_pvc(void *ctx, void *obj, void *scratch)
{
	struct kube_pvc *p = obj, *t = scratch;
	struct strmap *a = &p->meta.annotations;
	size_t k = 0;

	(void)ctx;
	if (!p->volume_name || !*p->volume_name || !p->phase || strcmp(p->phase, "Bound") ||
	    plan_claim_marked(p) || strmap_get(a, ANN_CLAIM_IN_DOUBT))
		return obj;
	for (size_t i = 0; i < p->meta.n_finalizers; i++)
		if (strcmp(p->meta.finalizers[i], FINALIZER_PVC_PROTECTION))
			return obj;	/* ours (clone or snapshot source) or someone's: keep all */
	/* the kept annotations first (a reordering: the decoded claim still frees all) */
	for (size_t i = 0; i < a->n; i++)
		if (kept_key(a->items[i].key)) {
			struct strmap_entry kept = a->items[i];

			a->items[i] = a->items[k];
			a->items[k++] = kept;
		}
	*t = *p;	/* shallow: the packer copies what is left */
	t->meta.annotations.n = k;
	memset(&t->meta.labels, 0, sizeof(t->meta.labels));
	return t;
}
