// SPDX-License-Identifier: Apache-2.0
/*
 * claim_legacy.c - claims marked by an older version of ours (a finalizer
 * and annotations on the claim instead of an intent in the journal): an
 * intent is recorded from the claim unless a PV already accounts for it,
 * then the mark is removed (see the state table in claim_sync.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "provision/controller_internal.h"
#include "provision/events.h"
#include "provision/intent.h"

/* Remove the old mark (finalizer and annotations) from a claim. */
static json_t *legacy_unmark_patch(const struct kube_pvc *claim)
{
	json_t *patch = plan_unmark_patch(&claim->meta, FINALIZER_CLAIM, ANN_CLAIM_VOLUME);

	if (patch)
		plan_patch_remove_annotation(patch, &claim->meta, ANN_CLAIM_IN_DOUBT);
	else if (strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT)) {
		patch = json_array();
		plan_patch_remove_annotation(patch, &claim->meta, ANN_CLAIM_IN_DOUBT);
	}
	return patch;
}

static int legacy_unmark(struct controller *c, const struct kube_pvc *claim, struct err *e)
{
	json_t *patch = legacy_unmark_patch(claim);
	char *path;
	int rc;

	if (!patch)
		return 0;
	path = ctl_claim_path(claim);
	rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, e);
	json_decref(patch);
	free(path);
	if (rc == KUBE_ERR_NOT_FOUND)
		rc = 0;
	return rc;	/* a stale view (422/409) is retried from the next event */
}

/*
 * A claim marked by an older version. Its volume name is the derived one
 * (never the annotation, which a tenant may have written). Unless a PV
 * already accounts for it, an intent is recorded from the claim, so the
 * journal settles or finishes it; then the mark goes.
 */
enum sync_result ctl_settle_legacy(struct controller *c, const struct kube_pvc *claim,
				   const struct kube_storage_class *class, const char *key,
				   const char *volume, bool pv_cached)
{
	struct prepared p;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	bool found = pv_cached, ours = false;

	memset(&p, 0, sizeof(p));
	if (!found && ctl_pv_check(c, volume, claim->meta.uid, NULL, &found, &ours, &e))
		goto fail;
	if (found || !c->journal)
		goto unmark;
	if (!class) {
		err_set(&e, ERR_INVALID, "StorageClass %s is gone", plan_claim_class(claim));
		goto refuse;
	}
	{
		/*
		 * Only a claim we would provision gets an intent: the mark is a
		 * tenant's to write, and a claim of another driver's class (or one
		 * still waiting for a node) must not make us ask our driver for
		 * anything. The claim is judged as if not deleting and not bound.
		 */
		struct kube_pvc judged = *claim;
		const char *why;

		judged.meta.deleting = false;
		judged.volume_name = NULL;
		if (plan_claim(&judged, class, &c->o.plan, &why) != PLAN_PROVISION) {
			log_info("claim %s: an old mark on a claim we would not provision (%s): "
				 "removed without an intent", key, why);
			goto unmark;
		}
	}
	switch (ctl_prepare(c, claim, class, true, &p, &e)) {
	case PREP_OK:
		break;
	case PREP_EXTERNAL:
		goto unmark;
	default:
		goto refuse;
	}
	{
		struct intent_owner o = ctl_intent_owner(claim, class, &p);
		char *enc = intent_encode(&o, &p.cr.req);
		int rc = journal_get(c->journal, volume) ? 0 : journal_add(c->journal, volume, enc,
									     &e);

		free(enc);
		if (rc)
			goto fail;
		ctl_index_add(c, key, volume);
	}
unmark:
	if (legacy_unmark(c, claim, &e))
		goto fail;
	log_info("claim %s: the mark of an older version is replaced by a journal intent", key);
	res = SYNC_DONE;
	goto out;
refuse:
	{
		char *msg = xasprintf("this claim carries the volume-accounting mark of an older "
				      "csi-provisioner and its request cannot be rebuilt (%s): the "
				      "mark stays; check volume %s in the driver, then remove "
				      "finalizer %s by hand", err_msg(&e), volume, FINALIZER_CLAIM);

		log_error("claim %s: %s", key, msg);
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
		free(msg);
		goto out;
	}
fail:
	log_error("claim %s: replacing the old mark failed, will retry: %s", key, err_msg(&e));
out:
	ctl_prepared_release(&p);
	err_release(&e);
	return res;
}
