// SPDX-License-Identifier: Apache-2.0
/*
 * claim_sync.c - the claim state machine: a claim of ours becomes a volume
 * and a PV, and no volume is ever left without a PV or an intent.
 *
 * The volume name V comes from the claim UID only (prefix and uuid length);
 * nothing a tenant writes on a claim steers it. With --volume-accounting an
 * intent I(V) in the journal (src/journal, in our own namespace) records the
 * exact CreateVolume request before the driver sees it:
 *
 *   state            event                                  next
 *   ---------------  -------------------------------------  ------------------
 *   -                claim provisionable, request built     intent (durable)
 *   intent           CreateVolume OK                        created
 *   intent           CreateVolume refused (a code proving   - (I removed)
 *                    nothing was created; the identical
 *                    request, so it is proof)
 *   intent           CreateVolume in doubt (timeout,        intent (retry the
 *                    unavailable, aborted, internal,        recorded request
 *                    already exists...)                     as it is)
 *   created          PV created, or found and ours          saved (I removed
 *                    (same driver and claim UID)            lazily)
 *   created          undersized / no content source:        - (I removed once
 *                    DeleteVolume OK                        the delete is OK)
 *   intent|created   claim gone, deleting, re-created       settle
 *                    (other UID) or bound to another PV
 *   settle           PV of V exists and is ours             - (I removed)
 *   settle           CreateVolume(I) OK, DeleteVolume OK    - (I removed)
 *   settle           CreateVolume(I) refused as above       - (I removed)
 *   settle           anything else                          settle, retried with
 *                                                           backoff, a Warning,
 *                                                           counted in doubt
 *
 * Only proof removes an intent. A retry of an intent repeats the recorded
 * request, not a new one built from a claim or class that may have changed,
 * so the driver's idempotency sees one request per name (this also keeps a
 * claim's topology choice across retries). A refused request removes the
 * intent, and the next attempt records a new one.
 *
 * Intents and the queue: every intent is handled under its claim's key
 * ("ns/name"), so one worker at a time handles a claim and its intents; an
 * index maps claim keys to intent names (intents_mu). A claim of an older
 * version that still carries the old mark (finalizer and annotations on the
 * claim) gets an intent built from the claim with the derived name, then the
 * mark is removed.
 *
 * Without --volume-accounting there is no journal: upstream's behaviour.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "kube/path.h"
#include "metrics/metrics.h"
#include "provision/controller_internal.h"
#include "provision/events.h"
#include "provision/intent.h"
#include "provision/node_deploy.h"
#include "workqueue/workqueue.h"

/*
 * Whether a failed CreateVolume proves that nothing was created: the driver
 * answered and refused. Timeouts, unavailability, aborts, internal and
 * unknown errors, data loss and AlreadyExists (some volume of that name
 * exists) prove nothing.
 */
static bool refusal_proves_nothing(int code)
{
	switch (code) {
	case CSI_INVALID_ARGUMENT:
	case CSI_NOT_FOUND:
	case CSI_PERMISSION_DENIED:
	case CSI_RESOURCE_EXHAUSTED:
	case CSI_FAILED_PRECONDITION:
	case CSI_OUT_OF_RANGE:
	case CSI_UNIMPLEMENTED:
	case CSI_UNAUTHENTICATED:
		return true;
	default:
		return false;
	}
}

struct intent_owner ctl_intent_owner(const struct kube_pvc *claim,
				     const struct kube_storage_class *class,
				     const struct prepared *p)
{
	const struct secret_ref *ref = &p->r.secrets[SECRET_PROVISIONER];

	return (struct intent_owner){ claim->meta.namespace, claim->meta.name, claim->meta.uid,
				      class ? class->meta.name : NULL, ref->namespace, ref->name };
}

/*
 * Make sure the journal holds the intent for this attempt and say which
 * request to send: the one just built, or the one recorded by an earlier
 * attempt (then `pinned` holds it and *secrets its freshly read secret).
 * *fresh tells whether this call recorded the intent: only then can no
 * earlier attempt have sent it, and a refusal prove that nothing exists.
 */
static int ensure_intent(struct controller *c, const struct kube_pvc *claim,
			 const struct kube_storage_class *class, const char *key,
			 struct prepared *p, struct intent *pinned, struct strmap *secrets,
			 const struct csi_create_volume_req **send, bool *fresh, struct err *e)
{
	struct intent_owner o = ctl_intent_owner(claim, class, p);
	char *enc = intent_encode(&o, &p->cr.req), *old;
	int rc = 0;

	*send = &p->cr.req;
	*fresh = false;
	old = journal_get(c->journal, p->r.name);
	if (old && !strcmp(old, enc))
		goto recorded;	/* by an earlier attempt: nothing to write */
	if (old && intent_decode(old, pinned, e)) {
		rc = err_prefix(e, "the journal record of volume %s cannot be read, so an earlier "
				"request may have created it; an operator must check the volume and "
				"remove the record", p->r.name);
		ctl_set_doubt(c, p->r.name, true);
		goto out;
	}
	if (old && strcmp(pinned->claim_uid, claim->meta.uid)) {
		rc = err_set(e, INTENT_ERR_DECODE, "volume name %s is recorded for another claim "
			     "(uid %s; a --volume-name-uuid-length collision?): not provisioning "
			     "it for this one", p->r.name, pinned->claim_uid);
		ctl_set_doubt(c, p->r.name, true);
		goto out;
	}
	if (old) {
		/* an earlier attempt may have created the volume with that request */
		log_v(2, "claim %s: repeating the request recorded for %s", key, p->r.name);
		if (pinned->secret_name) {
			struct secret_ref ref = { pinned->secret_namespace, pinned->secret_name };

			rc = ctl_fetch_secret(c, &ref, secrets, e);
			if (rc)
				goto out;
		}
		pinned->req.secrets = *secrets;
		*send = &pinned->req;
		/* the PV names the secret the volume was made with (for DeleteVolume) */
		secret_ref_release(&p->r.secrets[SECRET_PROVISIONER]);
		p->r.secrets[SECRET_PROVISIONER].namespace = pinned->secret_namespace ?
			xstrdup(pinned->secret_namespace) : NULL;
		p->r.secrets[SECRET_PROVISIONER].name = pinned->secret_name ?
			xstrdup(pinned->secret_name) : NULL;
		goto recorded;
	}
	rc = journal_add(c->journal, p->r.name, enc, e);
	if (rc) {
		err_prefix(e, "cannot record the provisioning intent for %s in the journal",
			   p->r.name);
		goto out;
	}
	*fresh = true;
recorded:
	ctl_index_add(c, key, p->r.name);
out:
	free(old);
	free(enc);
	return rc;
}

/*
 * The selected node cannot host the volume: drop the annotation so the
 * scheduler picks again (upstream's "reschedule").
 */
static enum sync_result reschedule(struct controller *c, const struct kube_pvc *claim,
				   const char *key, const char *why)
{
	json_t *patch = json_array();
	struct err e = ERR_INIT;
	char *path = ctl_claim_path(claim), *msg;
	enum sync_result res = SYNC_DONE;

	plan_patch_remove_annotation(patch, &claim->meta, ANN_SELECTED_NODE);
	plan_patch_remove_annotation(patch, &claim->meta, ANN_ALPHA_SELECTED_NODE);
	if (!json_array_size(patch)) {
		json_decref(patch);
		patch = NULL;
	}
	msg = xasprintf("%s; asking the scheduler for another node", why);
	log_info("claim %s: %s", key, msg);
	ctl_topo_forget(c, claim->meta.uid);
	ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
	if (patch && kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, &e)) {
		log_error("claim %s: removing %s failed, will retry: %s", key, ANN_SELECTED_NODE,
			  err_msg(&e));
		res = SYNC_RETRY;
	}
	json_decref(patch);
	err_release(&e);
	free(path);
	free(msg);
	return res;
}

/*
 * Whether an in-tree PV holds `volume_id`: its source translated to a
 * handle is the id, or names the same disk (the last path segment: GCE PD's
 * in-tree source does not give the project back). A source that does not
 * translate is judged by the claim UID alone, as before.
 */
static bool intree_is_volume(struct controller *c, const struct kube_pv *pv,
			     const char *volume_id)
{
	struct err e = ERR_INIT;
	char *h = NULL;
	const char *a, *b;
	bool same;

	if (ctl_pv_handle(c, pv, &h, &e)) {
		err_release(&e);
		return true;
	}
	a = strrchr(h, '/');
	b = strrchr(volume_id, '/');
	same = !strcmp(h, volume_id) || (a && b && !strcmp(a, b));
	free(h);
	return same;
}

/*
 * Read PV `name` live (the cache may lag our own writes). *found tells
 * whether it exists; *ours whether it is the PV of the driver's volume for
 * the claim with `claim_uid` (and, when volume_id is given, that volume).
 */
int ctl_pv_check(struct controller *c, const char *name, const char *claim_uid,
		 const char *volume_id, bool *found, bool *ours, struct err *e)
{
	char *path;
	json_t *obj = NULL;
	struct kube_pv pv;
	int rc;

	*found = *ours = false;
	memset(&pv, 0, sizeof(pv));
	if ((rc = kube_path_object(&path, KUBE_RES_PV, NULL, name, e)))
		return rc;
	rc = kube_get(c->kube, path, &obj, e);
	free(path);
	if (rc == KUBE_ERR_NOT_FOUND) {
		err_release(e);
		return 0;
	}
	if (!rc)
		rc = kube_pv_decode(obj, &pv, e);
	json_decref(obj);
	if (!rc) {
		*found = true;
		/*
		 * A migrated PV's in-tree source does not always give the
		 * driver's handle back (GCE PD): its claim UID identifies it.
		 */
		/* node deployment: another node's PV of this claim is not this node's volume */
		*ours = ctl_pv_of_driver(c, &pv) && (!c->o.node_name || ctl_nd_pv_mine(c, &pv)) &&
			pv.claim_uid && !strcmp(pv.claim_uid, claim_uid) &&
			(!volume_id || (pv.csi_driver ? pv.csi_volume_handle &&
						!strcmp(pv.csi_volume_handle, volume_id)
					  : intree_is_volume(c, &pv, volume_id)));
	}
	kube_pv_release(&pv);
	return rc;
}

/*
 * The volume is not what the claim asked for: delete it. The intent goes
 * only once the delete succeeded.
 */
static void discard_volume(struct controller *c, struct csi_client *csi,
			   const struct kube_pvc *claim, const char *key, const char *name,
			   const struct csi_volume *vol, const struct strmap *secrets,
			   const char *why)
{
	struct err e = ERR_INIT;

	log_error("claim %s: %s", key, why);
	ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", why);
	if (csi_delete_volume(csi, vol->volume_id, secrets, &e))
		log_error("claim %s: deleting volume %s failed, will retry: %s", key,
			  vol->volume_id, err_msg(&e));
	else
		ctl_drop_intent(c, key, name);
	err_release(&e);
}

/* A CreateVolume that failed: event, intent, and how to retry. */
static enum sync_result create_failed(struct controller *c, const struct kube_pvc *claim,
				      const struct kube_storage_class *class, const char *key,
				      const char *name, int rc, const char *why, bool fresh)
{
	enum plan_error_class cls = plan_classify_csi_error(rc);
	char *msg = xasprintf("failed to provision volume with StorageClass \"%s\": %s%s",
			      class->meta.name, why, cls == PLAN_ERR_INFEASIBLE ?
			      " (the driver rejected the request as infeasible; retries are "
			      "delayed)" : "");
	enum sync_result res;

	log_error("claim %s: CreateVolume %s failed: %s", key, name, why);
	if (cls != PLAN_ERR_IN_BACKGROUND)	/* the driver answered: the next try chooses anew */
		ctl_topo_forget(c, claim->meta.uid);
	if (fresh && refusal_proves_nothing(rc))
		ctl_drop_intent(c, key, name);	/* refused: the next attempt builds anew */
	else if (refusal_proves_nothing(rc))
		log_info("claim %s: the intent of %s stays: an earlier attempt may have created "
			 "the volume", key, name);
	if (rc == CSI_RESOURCE_EXHAUSTED && c->o.topology && ctl_selected_node(claim)) {
		res = reschedule(c, claim, key, msg);
		free(msg);
		return res;
	}
	ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
	free(msg);
	return cls == PLAN_ERR_INFEASIBLE ? SYNC_RETRY_SLOW : SYNC_RETRY;
}

/* Record the intent, CreateVolume, then save the PV. */
static enum sync_result provision(struct controller *c, const struct kube_pvc *claim,
				  const struct kube_storage_class *class, const char *key)
{
	struct prepared p;
	struct intent pinned;
	struct strmap pinned_secrets = STRMAP_INIT;
	const struct csi_create_volume_req *send;
	const struct strmap *secrets;
	struct csi_volume vol;
	struct plan_volume in;
	struct source protect = { 0 };
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	json_t *pv = NULL;
	bool saved_earlier = false, fresh = !c->journal, counted = false, asked = false;
	struct csi_client *csi = ctl_csi(c, ctl_class_migrated(c, class) != NULL);
	int rc;

	memset(&vol, 0, sizeof(vol));
	memset(&in, 0, sizeof(in));
	memset(&pinned, 0, sizeof(pinned));
	/*
	 * As upstream, before the request is built and the driver asked: a claim
	 * refused on the way shows this, then why.
	 */
	event_emit(c->events, "PersistentVolumeClaim", &claim->meta, EVENT_NORMAL,
		   "Provisioning", "External provisioner is provisioning volume for claim \"%s\"", key);
	switch (ctl_prepare(c, claim, class, false, &p, &e)) {
	case PREP_OK:
		break;
	case PREP_EXTERNAL:
		event_emit_from(c->events, EVENT_COMPONENT_CSI, "PersistentVolumeClaim", &claim->meta,
				EVENT_NORMAL, "Provisioning",
				"Assuming an external populator will provision the volume");
		res = SYNC_DONE;
		goto out;
	case PREP_RESCHEDULE:
		res = reschedule(c, claim, key, err_msg(&e));
		goto out;
	case PREP_FAILED:
		log_error("claim %s: cannot provision: %s", key, err_msg(&e));
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	case PREP_INVALID:
		log_error("claim %s: cannot provision: %s", key, err_msg(&e));
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		res = SYNC_DONE;	/* no retry can help; a change of the claim requeues it */
		goto out;
	}
	send = &p.cr.req;
	if (c->journal && ensure_intent(c, claim, class, key, &p, &pinned, &pinned_secrets, &send,
					&fresh, &e)) {
		log_error("claim %s: %s; not asking the driver yet", key, err_msg(&e));
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	secrets = &send->secrets;
	atomic_fetch_add(&c->past_journal, 1);
	counted = true;
	/* the intent is durable: a source protected now is never forgotten */
	if (p.src.kind != DS_NONE && ctl_resolve_source(c, claim, &protect, true, &e)) {
		log_error("claim %s: %s", key, err_msg(&e));
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	log_v(2, "claim %s: CreateVolume %s (%lld bytes)", key, send->name,
	      (long long)send->required_bytes);
	rc = csi_create_volume(csi, send, &vol, &e);
	asked = true;
	if (rc) {
		res = create_failed(c, claim, class, key, send->name, rc, err_msg(&e), fresh);
		goto out;
	}
	if (vol.capacity_bytes && vol.capacity_bytes < send->required_bytes) {
		char *msg = xasprintf("created volume capacity %lld less than requested capacity %lld",
				      (long long)vol.capacity_bytes, (long long)send->required_bytes);

		discard_volume(c, csi, claim, key, send->name, &vol, secrets, msg);
		free(msg);
		goto out;
	}
	if ((send->source_volume_id || send->source_snapshot_id) && !vol.has_content_source) {
		/* the driver ignored the source: an empty volume is not what was asked */
		discard_volume(c, csi, claim, key, send->name, &vol, secrets,
			       "volume content source missing");
		goto out;
	}
	in = (struct plan_volume){ vol.volume_id, vol.capacity_bytes, &vol.context,
				   vol.accessible_topology, vol.n_accessible_topology };
	if (!c->o.topology)
		in.n_topology = 0;	/* as upstream: no nodeAffinity without capability and gate */
	pv = plan_pv(claim, class, &c->o.plan, &p.r, &in);
	if (!pv) {
		log_error("claim %s: cannot build the PersistentVolume object", key);
		goto out;
	}
	if (ctl_pv_for_class(c, class, pv, &e)) {
		/* as upstream: the volume goes, the claim is tried again */
		discard_volume(c, csi, claim, key, send->name, &vol, secrets, err_msg(&e));
		goto out;
	}
	rc = kube_create(c->kube, KUBE_PATH_ALL_PV, pv, NULL, &e);
	if (rc == KUBE_ERR_ALREADY_EXISTS) {
		bool found, ours;

		err_release(&e);
		rc = ctl_pv_check(c, p.r.name, claim->meta.uid, vol.volume_id, &found, &ours, &e);
		if (!rc && found && !ours) {
			char *msg = xasprintf("PersistentVolume %s exists but is not the one of this "
					      "claim's volume %s; not handing the volume out",
					      p.r.name, vol.volume_id);

			log_error("claim %s: %s", key, msg);
			ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
			free(msg);
			goto out;
		}
		if (!rc && !found)
			rc = err_set(&e, KUBE_ERR_CONFLICT, "PersistentVolume %s vanished "
				     "meanwhile", p.r.name);
		saved_earlier = true;
	}
	if (rc == KUBE_ERR_CANCELLED) {
		/* stopping: the journal keeps the volume for the next start or leader */
		log_info("claim %s: stopping; volume %s is created and stays in the journal until "
			 "PersistentVolume %s is saved", key, vol.volume_id, p.r.name);
		goto out;
	} else if (rc) {
		/* The volume exists; the next attempt finds it by name and saves again. */
		log_error("claim %s: volume %s created but saving PersistentVolume %s failed, "
			  "will retry: %s", key, vol.volume_id, p.r.name, err_msg(&e));
		goto out;
	}
	if (!saved_earlier) {
		log_info("claim %s: provisioned volume %s as PersistentVolume %s", key,
			 vol.volume_id, p.r.name);
		event_emit(c->events, "PersistentVolumeClaim", &claim->meta, EVENT_NORMAL,
			   "ProvisioningSucceeded", "Successfully provisioned volume %s", p.r.name);
	}
	ctl_drop_intent(c, key, p.r.name);	/* the PV accounts for the volume now */
	ctl_topo_forget(c, claim->meta.uid);
	if (p.src.kind == DS_SNAPSHOT)	/* its finalizer goes once no pending claim needs it */
		ctl_enqueue_snapshot(c, ds_source_namespace(claim), claim->data_source_name);
	res = SYNC_DONE;
out:
	/*
	 * A source we protected and did not copy: look at it again. The claim
	 * may have begun its deletion while we asked, and the sync that caused
	 * may have run before our finalizer went on; nothing else would come
	 * back to it before the orphan sweep.
	 */
	if (res != SYNC_DONE && protect.kind == DS_SNAPSHOT)
		ctl_enqueue_snapshot(c, ds_source_namespace(claim), claim->data_source_name);
	else if (res != SYNC_DONE && protect.kind == DS_CLONE)
		ctl_enqueue_clone_source(c, claim);
	if (counted)
		ctl_left_journal(c);
	if (asked && c->o.volume_changed)	/* the driver's free space may have changed */
		c->o.volume_changed(c->o.volume_changed_ctx, class->meta.name,
				    res == SYNC_DONE ? vol.accessible_topology : NULL,
				    res == SYNC_DONE ? vol.n_accessible_topology : 0);
	json_decref(pv);
	csi_volume_release(&vol);
	ctl_source_release(&protect);
	intent_release(&pinned);
	strmap_release_secret(&pinned_secrets);
	ctl_prepared_release(&p);
	err_release(&e);
	return res;
}

/*
 * An intent whose claim will never get the volume (gone, deleting,
 * re-created with another UID, or bound to another PV). `claim` is the live
 * claim when it is the intent's own (for events), else NULL.
 */
static enum sync_result settle_intent(struct controller *c, const char *key,
				      const struct kube_pvc *claim, const char *volume)
{
	char *value = journal_get(c->journal, volume), *msg = NULL;
	struct intent in;
	struct strmap secrets = STRMAP_INIT;
	struct csi_volume vol;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	bool found, ours;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&vol, 0, sizeof(vol));
	if (!value) {
		ctl_index_remove(c, key, volume);	/* removed meanwhile */
		return SYNC_DONE;
	}
	if (intent_decode(value, &in, &e)) {
		msg = xasprintf("the journal record of volume %s is unreadable (%s); an operator "
				"must check the volume and remove the record", volume, err_msg(&e));
		res = SYNC_DONE;	/* nothing to retry until someone acts */
		goto doubt;
	}
	if (ctl_pv_check(c, volume, in.claim_uid, NULL, &found, &ours, &e))
		goto log;
	if (found && ours) {
		log_v(2, "claim %s: PersistentVolume %s accounts for the volume", key, volume);
		ctl_drop_intent(c, key, volume);
		res = SYNC_DONE;
		goto out;
	}
	if (found) {
		msg = xasprintf("PersistentVolume %s exists but is not ours for claim uid %s: volume "
				"%s may exist without a PersistentVolume", volume, in.claim_uid, volume);
		goto doubt;
	}
	if (in.secret_name) {
		struct secret_ref ref = { in.secret_namespace, in.secret_name };

		rc = ctl_fetch_secret(c, &ref, &secrets, &e);
		if (rc == KUBE_ERR_NOT_FOUND) {
			/* without it the request is not the one recorded: nothing it says is proof */
			msg = xasprintf("volume %s may exist without a PersistentVolume, and the "
					"provisioner secret %s/%s it was requested with is gone: "
					"restore the secret, or check the volume in the driver and "
					"remove the journal record", volume, in.secret_namespace,
					in.secret_name);
			goto doubt;
		}
		if (rc)
			goto log;
	}
	in.req.secrets = secrets;
	/*
	 * A refusal now proves nothing: an earlier attempt may have created the
	 * volume, and a tenant can make the driver refuse (credentials, a data
	 * source deleted since). Only a volume found and deleted settles it.
	 */
	rc = csi_create_volume(c->csi, &in.req, &vol, &e);
	if (rc) {
		msg = xasprintf("volume %s may exist without a PersistentVolume; asking the driver "
				"again: %s", volume, err_msg(&e));
		goto doubt;
	}
	rc = csi_delete_volume(c->csi, vol.volume_id, &secrets, &e);
	if (rc) {
		msg = xasprintf("deleting volume %s, which has no PersistentVolume, failed; will "
				"retry: %s", vol.volume_id, err_msg(&e));
		goto doubt;
	}
	log_info("claim %s: volume %s would have had no PersistentVolume; deleted it", key,
		 vol.volume_id);
	ctl_drop_intent(c, key, volume);
	res = SYNC_DONE;
	goto out;
log:
	log_error("claim %s: settling volume %s, will retry: %s", key, volume, err_msg(&e));
	goto out;
doubt:
	log_error("claim %s: %s", key, msg);
	if (claim)
		ctl_claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
	ctl_set_doubt(c, volume, true);
out:
	free(msg);
	free(value);
	intent_release(&in);
	strmap_release_secret(&secrets);
	csi_volume_release(&vol);
	err_release(&e);
	return res;
}


/* Remaining delay in ms for an infeasible claim, or 0 to go ahead. */
static int64_t slow_remaining(struct controller *c, const char *key, const char *class_uid)
{
	struct slow_entry *s;
	int64_t left = 0;

	pthread_mutex_lock(&c->slow_mu);
	s = hmap_get(&c->slow, key);
	if (s) {
		left = s->until - clock_now_ms();
		if (left <= 0 || !class_uid || !s->class_uid || strcmp(class_uid, s->class_uid)) {
			ctl_slow_entry_free(hmap_remove(&c->slow, key));
			left = 0;
		}
	}
	pthread_mutex_unlock(&c->slow_mu);
	return left;
}

static void slow_set(struct controller *c, const char *key, const char *class_uid, bool on)
{
	struct slow_entry *s = NULL;

	if (on) {
		s = xcalloc(1, sizeof(*s));
		s->until = clock_now_ms() + c->o.retry_max_ms;
		s->class_uid = xstrdup(class_uid);
	}
	pthread_mutex_lock(&c->slow_mu);
	ctl_slow_entry_free(on ? hmap_put(&c->slow, key, s) : hmap_remove(&c->slow, key));
	pthread_mutex_unlock(&c->slow_mu);
}

static enum sync_result worst(enum sync_result a, enum sync_result b)
{
	return a > b ? a : b;
}

/*
 * Settle the intents of `key` that are not the live claim's current one.
 * *current gets whether the claim's own intent (named `volume`) is recorded.
 */
static enum sync_result settle_stale(struct controller *c, const char *key,
				     const struct kube_pvc *claim, const char *volume,
				     bool *current)
{
	size_t n;
	char **names = ctl_index_names(c, key, &n);
	enum sync_result res = SYNC_DONE;
	bool live = claim && !claim->meta.deleting &&
		    !(claim->volume_name && *claim->volume_name && volume &&
		      strcmp(claim->volume_name, volume));

	*current = false;
	for (size_t i = 0; i < n; i++) {
		if (live && volume && !strcmp(names[i], volume)) {
			*current = true;
			continue;
		}
		res = worst(res, settle_intent(c, key, claim && volume && !strcmp(names[i], volume) ?
					       claim : NULL, names[i]));
	}
	ctl_free_names(names, n);
	return res;
}

enum sync_result ctl_sync_claim(struct controller *c, const char *key)
{
	struct iobj *co, *so = NULL, *po = NULL;
	const struct kube_pvc *claim;
	const struct kube_storage_class *class = NULL;
	const char *why, *class_name;
	struct err e = ERR_INIT;
	char *pv_name = NULL;
	enum sync_result res = SYNC_DONE;
	bool current = false, early = !ctl_caches_synced(c);	/* before any lookup */

	if (!strncmp(key, SNAPSHOT_KEY_PREFIX, strlen(SNAPSHOT_KEY_PREFIX))) {
		/* whether any claim restores from it needs every claim */
		if (early && ctl_early_defer(c, key, NULL))
			return SYNC_DONE;
		return ctl_sync_snapshot_source(c, key + strlen(SNAPSHOT_KEY_PREFIX));
	}
	co = informer_get(c->claims, key);
	claim = co ? iobj_data(co) : NULL;
	/* the caches still fill: act only on what is there (claim_early.c) */
	if (early && ctl_early_defer(c, key, claim))
		goto out;
	if (claim && plan_volume_name(c->o.plan.prefix, claim->meta.uid, c->o.plan.uuid_length,
				      &pv_name, &e)) {
		log_error("claim %s: %s", key, err_msg(&e));
		res = SYNC_RETRY;
		goto out;
	}
	if (c->journal)
		res = settle_stale(c, key, claim, pv_name, &current);
	if (!claim)
		goto out;
	class_name = plan_claim_class(claim);
	if (class_name && *class_name) {
		so = informer_get(c->classes, class_name);
		class = so ? iobj_data(so) : NULL;
	}
	po = informer_get(c->volumes, pv_name);
	if (plan_claim_marked(claim) ||
	    strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT)) {
		res = worst(res, ctl_settle_legacy(c, claim, class, key, pv_name, po != NULL));
		goto out;
	}
	if (claim->meta.deleting) {
		if (plan_has_finalizer(&claim->meta, FINALIZER_CLONE_SOURCE))
			res = worst(res, ctl_release_clone_source(c, claim, key));
		goto out;
	}
	if (current && po) {
		const struct kube_pv *pv = iobj_data(po);

		if (pv->claim_uid && !strcmp(pv->claim_uid, claim->meta.uid) &&
		    ctl_pv_of_driver(c, pv) && (!c->o.node_name || ctl_nd_pv_mine(c, pv))) {
			ctl_drop_intent(c, key, pv_name);	/* saved earlier; the removal was lost */
		} else {
			/* someone else's PV holds our name: keep asking until it goes */
			log_error("claim %s: PersistentVolume %s is not ours; volume %s stays in the "
				  "journal until that PV goes", key, pv_name, pv_name);
			res = worst(res, SYNC_RETRY);
			goto out;
		}
	}
	switch (plan_claim(claim, class, &c->o.plan, &why)) {
	case PLAN_IGNORE:
		log_v(5, "claim %s: ignored: %s", key, why);
		goto out;
	case PLAN_WAIT:
		log_v(4, "claim %s: waiting: %s", key, why);
		goto out;
	case PLAN_PROVISION:
		break;
	}
	if (c->o.node_name) {
		/* node deployment: as upstream, only the beta annotation names the owner */
		switch (nd_claim_owner(strmap_get(&claim->meta.annotations, ANN_SELECTED_NODE),
				       c->o.node_name)) {
		case ND_OTHER:
			log_v(5, "claim %s: selected for another node", key);
			ctl_nd_forget(c, claim->meta.uid);
			goto out;
		case ND_NONE:
			if (!po)
				res = worst(res, ctl_nd_take(c, claim, class, key));
			goto out;
		case ND_MINE:
			ctl_nd_forget(c, claim->meta.uid);
			break;
		}
	}
	if (po) {
		log_v(4, "claim %s: PersistentVolume %s already exists", key, pv_name);
		goto out;
	}
	if (early && !ctl_early_pv_absent(c, key, claim, pv_name))
		goto out;
	{
		const char *labels[] = { ctl_class_label(claim), ctl_source_label(claim) };
		int64_t start = clock_now_ms(), left = slow_remaining(c, key, class->meta.uid);
		enum sync_result r;

		if (left > 0) {
			log_v(4, "claim %s: infeasible; next try in %lld ms", key, (long long)left);
			wq_add_after(c->claim_q, key, left);
			goto out;
		}
		r = provision(c, claim, class, key);
		slow_set(c, key, class->meta.uid, r == SYNC_RETRY_SLOW);
		if (r == SYNC_DONE) {
			ctl_count(c->provision_total, labels, 1);
			ctl_observe(c->provision_seconds, labels, (clock_now_ms() - start) / 1000.0);
		} else {
			ctl_count(c->provision_failed, labels, 1);
		}
		res = worst(res, r);
	}
out:
	free(pv_name);
	err_release(&e);
	iobj_unref(po);
	iobj_unref(so);
	iobj_unref(co);
	return res;
}
