// SPDX-License-Identifier: Apache-2.0
/*
 * claim_early.c - claims provisioned while the claim and PV caches still
 * fill (issue #11: start to first provision in a large cluster).
 *
 * The claim workers start once the journal is read and the small caches
 * (classes; Nodes and CSINodes with topology) are in, while the claims and
 * PVs (and VolumeAttachments, which only the volume workers read) still
 * stream. Until both are complete a worker
 * may only act on what it sees, never on what it does not: an absent claim
 * may simply not have arrived, and its intents must not be settled as if it
 * were gone; an absent PV may exist. So before the caches are synced a
 * claim is handled only when
 *
 *   - it is in the cache, Pending (no volumeName) and not being deleted;
 *   - no intent of the journal belongs to its key (nothing to settle);
 *   - it carries no older version's mark and no in-doubt annotation;
 *   - it has no data source (a clone's source is read from the caches);
 *   - this is no --node-deployment (its taking reads this node's PVs);
 *
 * and, where the plan says provision, no PV of its volume name exists by
 * a live GET (ctl_early_pv_absent). Any other key is deferred: remembered
 * and queued again once every cache is synced, when the usual rules apply.
 * Decisions that need nothing but the claim and its class (not ours,
 * waiting for a consumer) are the same either way and are taken at once.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "provision/controller_internal.h"
#include "provision/datasource.h"
#include "provision/plan.h"
#include "workqueue/workqueue.h"

bool ctl_caches_synced(struct controller *c)
{
	return atomic_load(&c->synced);
}

/*
 * Remember `key` for when the caches are synced; when they became synced
 * meanwhile, queue it again now: the caller's lookups may predate the sync,
 * so the key is handled again on complete caches either way.
 */
static void defer_key(struct controller *c, const char *key)
{
	bool deferred;

	pthread_mutex_lock(&c->early_mu);
	deferred = !atomic_load(&c->synced);
	if (deferred && !hmap_has(&c->early_deferred, key))
		hmap_put(&c->early_deferred, key, NULL);
	pthread_mutex_unlock(&c->early_mu);
	if (deferred)
		log_v(4, "claim %s: deferred until the caches are synced", key);
	else
		wq_add(c->claim_q, key);
}

bool ctl_early_defer(struct controller *c, const char *key, const struct kube_pvc *claim)
{
	bool safe = claim && !claim->meta.deleting &&
		    !(claim->volume_name && *claim->volume_name) &&
		    !c->o.node_name && ds_kind_of(claim) == DS_NONE &&
		    !plan_claim_marked(claim) &&
		    !strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT) &&
		    !ctl_claim_has_intents(c, key);

	if (!safe)
		defer_key(c, key);
	return !safe;
}

bool ctl_early_pv_absent(struct controller *c, const char *key, const struct kube_pvc *claim,
			 const char *pv_name)
{
	struct err e = ERR_INIT;
	bool found = true, ours;

	if (ctl_pv_check(c, pv_name, claim->meta.uid, NULL, &found, &ours, &e)) {
		log_v(2, "claim %s: cannot read PersistentVolume %s yet: %s", key, pv_name,
		      err_msg(&e));
		err_release(&e);
		found = true;
	}
	if (!found)
		return true;	/* a live answer: nothing of that name exists now */
	defer_key(c, key);
	return false;
}

static void requeue(void *ctx, const char *key, void *value)
{
	struct controller *c = ctx;

	(void)value;
	wq_add(c->claim_q, key);
}

void ctl_early_synced(struct controller *c)
{
	struct hmap keys;

	pthread_mutex_lock(&c->early_mu);
	atomic_store(&c->synced, true);
	keys = c->early_deferred;
	memset(&c->early_deferred, 0, sizeof(c->early_deferred));
	pthread_mutex_unlock(&c->early_mu);
	hmap_each(&keys, requeue, c);
	hmap_release(&keys);
}

void ctl_early_release(struct controller *c)
{
	hmap_release(&c->early_deferred);
	pthread_mutex_destroy(&c->early_mu);
}
