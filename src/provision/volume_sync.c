// SPDX-License-Identifier: Apache-2.0
/*
 * volume_sync.c - the volume side of the controller: a Released PV of ours
 * with policy Delete has its volume deleted through the driver (with the
 * deletion secret, and only once no node has it attached), then the PV and
 * our finalizer go; every other PV of ours gets or loses the finalizer as
 * its reclaim policy asks. Runs on the volume workers (controller.c), one
 * key at a time; reads only the caches; the `deleted` table is under
 * slow_mu, never held across I/O.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "informer/informer.h"
#include "informer/kinds.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "kube/path.h"
#include "provision/controller_internal.h"
#include "provision/events.h"

static void volume_event(struct controller *c, const struct kube_pv *pv, const char *type,
			 const char *reason, const char *msg)
{
	event_emit(c->events, "PersistentVolume", &pv->meta, type, reason, "%s", msg);
}

/* Add or remove our PV finalizer as the reclaim policy asks. */
static int reconcile_pv_finalizer(struct controller *c, const struct kube_pv *pv, struct err *e)
{
	bool has = plan_has_finalizer(&pv->meta, FINALIZER_PV);
	bool bound = pv->phase && !strcmp(pv->phase, "Bound");
	/*
	 * As upstream: Bound PVs with policy Delete carry it. One deleted while
	 * Available or Failed would wait for us forever: we delete only Released
	 * volumes, so ours goes (a new PV is still Pending: leave it be).
	 */
	bool deletable = (pv->csi_volume_handle && *pv->csi_volume_handle) ||
			 plan_pv_migrated(pv, &c->o.plan);
	/* ... and only volumes we can delete: an in-tree PV we cannot translate would stick */
	bool want = deletable && pv->reclaim_policy && !strcmp(pv->reclaim_policy, "Delete") &&
		    (bound || !pv->meta.deleting) &&
		    (bound || has || !pv->phase || !strcmp(pv->phase, "Pending"));
	char *path;
	json_t *patch;
	int rc;

	if (want == has)
		return 0;
	path = ctl_object_path(KUBE_RES_PV, NULL, pv->meta.name);
	if (want) {
		patch = plan_finalizer_patch(&pv->meta, FINALIZER_PV, true, NULL, NULL);
		rc = kube_patch(c->kube, path, "application/merge-patch+json", patch, NULL, e);
	} else {
		patch = plan_unmark_patch(&pv->meta, FINALIZER_PV, NULL);
		rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, e);
	}
	if (rc == KUBE_ERR_NOT_FOUND)
		rc = 0;
	json_decref(patch);
	free(path);
	return rc;
}

/*
 * A provisioner Secret that is gone must not keep a volume forever: as
 * upstream, DeleteVolume goes without secrets (the driver may not need them
 * to delete, and if it does its refusal is the event that says so). Other
 * errors (API unreachable, forbidden) are retried: calling without a secret
 * that still exists would only fail at the driver.
 */
static int fetch_deletion_secret(struct controller *c, const struct kube_pv *pv,
				 const struct secret_ref *ref, struct strmap *out, struct err *e)
{
	int rc = ctl_fetch_secret(c, ref, out, e);

	if (rc == KUBE_ERR_NOT_FOUND) {
		char *msg = xasprintf("provisioner secret %s/%s is gone: deleting the volume without "
				      "secrets", ref->namespace, ref->name);

		log_warn("volume %s: %s (%s)", pv->meta.name, msg, err_msg(e));
		volume_event(c, pv, EVENT_WARNING, "DeletingWithoutSecret", msg);
		free(msg);
		err_release(e);
		memset(out, 0, sizeof(*out));
		rc = 0;
	}
	return rc;
}

/*
 * The secret for DeleteVolume: from the PV's deletion annotations when both
 * are there (an empty one = none), else from the class with only the claim's
 * name and namespace to expand (no class any more = none, as upstream).
 */
static int deletion_secrets(struct controller *c, const struct kube_pv *pv, struct strmap *out,
			    struct err *e)
{
	const char *name = strmap_get(&pv->meta.annotations, ANN_DELETION_SECRET_NAME);
	const char *ns = strmap_get(&pv->meta.annotations, ANN_DELETION_SECRET_NAMESPACE);
	struct secret_ref ref = { NULL, NULL };
	struct kube_storage_class translated;
	struct iobj *so = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&translated, 0, sizeof(translated));
	if (name && ns) {
		if (!*name || !*ns)
			return 0;
		ref.name = xstrdup(name);
		ref.namespace = xstrdup(ns);
		rc = fetch_deletion_secret(c, pv, &ref, out, e);
		goto out;
	}
	so = pv->storage_class_name ? informer_get(c->classes, pv->storage_class_name) : NULL;
	if (so) {
		const struct kube_storage_class *class = iobj_data(so);
		struct secret_context ctx = { pv->meta.name, pv->claim_name, pv->claim_ns, NULL };

		/* an in-tree class is read as translated, as upstream */
		rc = plan_pv_migrated(pv, &c->o.plan) ?
		     ctl_class_for_driver(c, class, &translated, &class, e) : 0;
		if (!rc)
			rc = secret_ref_resolve(&class->parameters, SECRET_PROVISIONER, &ctx, &ref, e);
		if (!rc && ref.name)
			rc = fetch_deletion_secret(c, pv, &ref, out, e);
	}
out:
	kube_storage_class_release(&translated);
	secret_ref_release(&ref);
	iobj_unref(so);
	return rc;
}

enum sync_result ctl_sync_volume(struct controller *c, const char *name)
{
	struct iobj *o = informer_get(c->volumes, name);
	const struct kube_pv *pv;
	struct strmap secrets = STRMAP_INIT;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	const char *why, *labels[1] = { NULL };
	int64_t start = 0;
	char *path = NULL, *handle = NULL;
	json_t *patch = NULL;
	int rc;

	if (!o)
		return SYNC_DONE;
	pv = iobj_data(o);
	if (!plan_pv_is_ours(pv, &c->o.plan)) {
		res = SYNC_DONE;
		goto out;
	}
	if (c->o.node_name && !ctl_nd_pv_mine(c, pv)) {
		log_v(5, "volume %s: not provisioned on this node", name);
		res = SYNC_DONE;
		goto out;
	}
	if (pv->meta.uid) {
		bool done;

		pthread_mutex_lock(&c->slow_mu);
		done = hmap_has(&c->deleted, pv->meta.uid);
		pthread_mutex_unlock(&c->slow_mu);
		if (done && plan_has_finalizer(&pv->meta, FINALIZER_PV)) {
			/* the volume is gone; only our finalizer is left to remove */
			json_t *fp = plan_unmark_patch(&pv->meta, FINALIZER_PV, NULL);
			char *fpath = ctl_object_path(KUBE_RES_PV, NULL, name);

			rc = fp ? kube_patch(c->kube, fpath, "application/json-patch+json", fp, NULL,
					     &e) : 0;
			json_decref(fp);
			free(fpath);
			res = rc && rc != KUBE_ERR_NOT_FOUND ? SYNC_RETRY : SYNC_DONE;
			goto out;
		}
		if (done) {
			log_v(4, "volume %s: already deleted; waiting for the PV to go", name);
			res = SYNC_DONE;
			goto out;
		}
	}
	if (!plan_pv_should_delete(pv, &c->o.plan, &why)) {
		log_v(5, "volume %s: nothing to do: %s", name, why);
		if (reconcile_pv_finalizer(c, pv, &e)) {
			log_error("volume %s: cannot update our finalizer: %s", name, err_msg(&e));
			goto out;
		}
		res = SYNC_DONE;
		goto out;
	}
	if (c->attachments) {
		/* never delete a volume a node may still use */
		struct iobj **vas;
		size_t n;
		const char *node = NULL;

		vas = informer_list(c->attachments, &n);
		for (size_t i = 0; i < n && !node; i++) {
			const struct kube_volume_attachment *va = iobj_data(vas[i]);

			if (va->pv_name && !strcmp(va->pv_name, name))
				node = va->node_name ? va->node_name : "?";
		}
		if (node) {
			char *msg = xasprintf("persistentvolume %s is still attached to node %s", name,
					      node);

			log_info("volume %s: %s; waiting for the detach", name, msg);
			volume_event(c, pv, EVENT_WARNING, "VolumeFailedDelete", msg);
			free(msg);
			informer_list_free(vas, n);
			goto out;
		}
		informer_list_free(vas, n);
	}
	if (deletion_secrets(c, pv, &secrets, &e)) {
		log_error("volume %s: %s", name, err_msg(&e));
		volume_event(c, pv, EVENT_WARNING, "VolumeFailedDelete", err_msg(&e));
		goto out;
	}
	labels[0] = pv->storage_class_name ? pv->storage_class_name : "";
	if (ctl_pv_handle(c, pv, &handle, &e)) {
		log_error("volume %s: %s", name, err_msg(&e));
		volume_event(c, pv, EVENT_WARNING, "VolumeFailedDelete", err_msg(&e));
		goto out;
	}
	start = clock_now_ms();
	log_v(2, "volume %s: DeleteVolume %s", name, handle);
	rc = csi_delete_volume(ctl_csi(c, plan_pv_migrated(pv, &c->o.plan)), handle, &secrets,
			       &e);
	if (rc) {
		log_error("volume %s: DeleteVolume %s failed, will retry: %s", name,
			  handle, err_msg(&e));
		volume_event(c, pv, EVENT_WARNING, "VolumeFailedDelete", err_msg(&e));
		goto out;
	}
	if (c->o.volume_changed && pv->storage_class_name)	/* space came free */
		c->o.volume_changed(c->o.volume_changed_ctx, pv->storage_class_name, NULL, 0);
	path = ctl_object_path(KUBE_RES_PV, NULL, name);
	if (!pv->meta.deleting) {
		rc = kube_delete(c->kube, path, pv->meta.uid, NULL, &e);
		if (rc == KUBE_ERR_NOT_FOUND) {
			res = SYNC_DONE;
			goto out;
		}
		if (rc) {
			log_error("volume %s: the volume is deleted but deleting the PersistentVolume "
				  "failed, will retry: %s", name, err_msg(&e));
			goto out;
		}
	}
	/* recorded before the PV can go: its DELETE event clears the record */
	if (pv->meta.uid) {
		pthread_mutex_lock(&c->slow_mu);
		hmap_put(&c->deleted, pv->meta.uid, NULL);
		pthread_mutex_unlock(&c->slow_mu);
	}
	patch = plan_unmark_patch(&pv->meta, FINALIZER_PV, NULL);
	if (patch) {
		rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, &e);
		if (rc == KUBE_ERR_INVALID) {	/* the finalizers moved since our cached copy */
			log_v(2, "volume %s: its finalizers changed since our cached copy; retrying "
			      "our finalizer's removal: %s", name, err_msg(&e));
			goto out;
		} else if (rc && rc != KUBE_ERR_NOT_FOUND) {
			log_error("volume %s: removing our finalizer failed, will retry: %s", name,
				  err_msg(&e));
			goto out;
		}
	}
	log_info("volume %s: deleted volume %s and its PersistentVolume", name, handle);
	ctl_count(c->delete_total, labels, 1);
	ctl_observe(c->delete_seconds, labels, (clock_now_ms() - start) / 1000.0);
	res = SYNC_DONE;
out:
	if (res != SYNC_DONE && labels[0])
		ctl_count(c->delete_failed, labels, 1);
	strmap_release_secret(&secrets);
	json_decref(patch);
	free(path);
	free(handle);
	err_release(&e);
	iobj_unref(o);
	return res;
}
