// SPDX-License-Identifier: Apache-2.0
/*
 * controller.c - the provisioning controller (see controller.h).
 *
 * DESIGN: three informers (claims, volumes, classes) feed two work queues
 * through their handlers, which only enqueue keys. Worker threads take a
 * key, read the current objects from the caches, decide with the pure
 * functions of plan.c, and do the I/O (CSI calls, PV writes, events). A key
 * is never processed by two workers at once (the queue guarantees it), so
 * syncs need no locks of their own. Objects read from a cache are never
 * modified.
 */
#include "provision/controller.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "provision/events.h"
#include "workqueue/workqueue.h"

#define SYNC_TIMEOUT_MS 120000

struct worker {
	struct controller *c;
	struct wq *q;
	int (*sync)(struct controller *c, const char *key);
};

struct controller {
	struct kube_client *kube;
	struct csi_client *csi;
	struct controller_opts o;

	struct informer *claims, *volumes, *classes;
	struct wq *claim_q, *volume_q;
	struct worker claim_worker, volume_worker;
	pthread_t *threads;
	size_t nthreads;
};

/* Informer adapters: the kube decoders with the informer's generic shape. */
static int decode_pvc(json_t *j, void *out, struct err *e) { return kube_pvc_decode(j, out, e); }
static void release_pvc(void *p) { kube_pvc_release(p); }
static int decode_pv(json_t *j, void *out, struct err *e) { return kube_pv_decode(j, out, e); }
static void release_pv(void *p) { kube_pv_release(p); }
static int decode_sc(json_t *j, void *out, struct err *e) { return kube_storage_class_decode(j, out, e); }
static void release_sc(void *p) { kube_storage_class_release(p); }

static const struct informer_type pvc_type = {
	"persistentvolumeclaims", "/api/v1/persistentvolumeclaims",
	sizeof(struct kube_pvc), decode_pvc, release_pvc,
};
static const struct informer_type pv_type = {
	"persistentvolumes", "/api/v1/persistentvolumes",
	sizeof(struct kube_pv), decode_pv, release_pv,
};
static const struct informer_type sc_type = {
	"storageclasses", "/apis/storage.k8s.io/v1/storageclasses",
	sizeof(struct kube_storage_class), decode_sc, release_sc,
};

static void on_claim(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_pvc *claim = iobj_data(cur);

	(void)old;
	if (ev == INFORMER_DELETE || (claim->volume_name && *claim->volume_name))
		return;
	wq_add(c->claim_q, key);
}

static void on_volume(void *ctx, enum informer_event ev, const char *key,
		      const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;

	(void)old;
	if (ev == INFORMER_DELETE || !plan_pv_is_ours(iobj_data(cur), &c->o.plan))
		return;
	wq_add(c->volume_q, key);
}

/* A class appeared or changed: its waiting claims may now be provisioned. */
static void on_class(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	struct iobj **all;
	size_t n;

	(void)old;
	(void)cur;
	if (ev == INFORMER_DELETE || old == cur)	/* resyncs reach claims directly */
		return;
	all = informer_list(c->claims, &n);
	for (size_t i = 0; i < n; i++) {
		const struct kube_pvc *claim = iobj_data(all[i]);
		const char *cls = plan_claim_class(claim);

		if (cls && !strcmp(cls, key) && !(claim->volume_name && *claim->volume_name)) {
			char *k = informer_key_of(claim);

			wq_add(c->claim_q, k);
			free(k);
		}
	}
	informer_list_free(all, n);
}

static void fill_csi_request(const struct plan_request *r, struct csi_create_volume_req *req,
			     struct csi_volume_capability *caps, struct csi_kv *params)
{
	memset(req, 0, sizeof(*req));
	req->name = r->name;
	req->required_bytes = r->required_bytes;
	for (size_t i = 0; i < r->n_access_modes; i++) {
		memset(&caps[i], 0, sizeof(caps[i]));
		caps[i].block = r->block;
		caps[i].fs_type = r->fs_type;
		caps[i].mount_flags = (const char *const *)r->mount_flags;
		caps[i].n_mount_flags = r->n_mount_flags;
		caps[i].access_mode = r->access_modes[i];
	}
	req->caps = caps;
	req->n_caps = r->n_access_modes;
	for (size_t i = 0; i < r->n_params; i++) {
		params[i].key = r->param_keys[i];
		params[i].value = r->param_values[i];
	}
	req->parameters.items = params;
	req->parameters.n = r->n_params;
}

/* CreateVolume, then save the PV. Returns 0 when the PV exists. */
static int provision(struct controller *c, const struct kube_pvc *claim,
		     const struct kube_storage_class *class, const char *key)
{
	struct plan_request r;
	struct csi_create_volume_req req;
	struct csi_volume_capability *caps = NULL;
	struct csi_kv *params = NULL;
	struct csi_volume vol;
	struct plan_volume pv_in;
	const char **ckeys = NULL, **cvals = NULL;
	struct err e = ERR_INIT;
	json_t *pv = NULL;
	int rc;

	memset(&vol, 0, sizeof(vol));
	if (plan_create_request(claim, class, &c->o.plan, &r, &e)) {
		log_error("claim %s: cannot provision: %s", key, err_msg(&e));
		event_emit(c->kube, c->o.component, "PersistentVolumeClaim", &claim->meta,
			   EVENT_WARNING, "ProvisioningFailed", "%s", err_msg(&e));
		err_release(&e);
		return -1;
	}
	event_emit(c->kube, c->o.component, "PersistentVolumeClaim", &claim->meta, EVENT_NORMAL,
		   "Provisioning", "External provisioner is provisioning volume for claim \"%s\"", key);
	caps = xcalloc(r.n_access_modes + 1, sizeof(*caps));
	params = xcalloc(r.n_params + 1, sizeof(*params));
	fill_csi_request(&r, &req, caps, params);
	log_v(2, "claim %s: CreateVolume %s (%lld bytes)", key, r.name, (long long)r.required_bytes);
	rc = csi_create_volume(c->csi, &req, &vol, &e);
	if (rc) {
		log_error("claim %s: CreateVolume %s failed: %s", key, r.name, err_msg(&e));
		event_emit(c->kube, c->o.component, "PersistentVolumeClaim", &claim->meta,
			   EVENT_WARNING, "ProvisioningFailed",
			   "failed to provision volume with StorageClass \"%s\": %s",
			   class->meta.name, err_msg(&e));
		goto out;
	}
	ckeys = xcalloc(vol.context.n + 1, sizeof(char *));
	cvals = xcalloc(vol.context.n + 1, sizeof(char *));
	for (size_t i = 0; i < vol.context.n; i++) {
		ckeys[i] = vol.context.items[i].key;
		cvals[i] = vol.context.items[i].value;
	}
	pv_in.volume_id = vol.volume_id;
	pv_in.capacity_bytes = vol.capacity_bytes;
	pv_in.context_keys = ckeys;
	pv_in.context_values = cvals;
	pv_in.n_context = vol.context.n;
	pv = plan_pv(claim, class, &c->o.plan, &r, &pv_in);
	if (!pv) {
		rc = err_set(&e, -1, "cannot build the PersistentVolume object");
		log_error("claim %s: %s", key, err_msg(&e));
		goto out;
	}
	rc = kube_create(c->kube, "/api/v1/persistentvolumes", pv, NULL, &e);
	if (rc == KUBE_ERR_ALREADY_EXISTS) {
		log_v(2, "claim %s: PersistentVolume %s already exists", key, r.name);
		rc = 0;
		goto out;
	}
	if (rc) {
		/* The volume exists; the next attempt finds it by name and saves again. */
		log_error("claim %s: volume %s created but saving PersistentVolume %s failed, "
			  "will retry: %s", key, vol.volume_id, r.name, err_msg(&e));
		goto out;
	}
	log_info("claim %s: provisioned volume %s as PersistentVolume %s", key, vol.volume_id, r.name);
	event_emit(c->kube, c->o.component, "PersistentVolumeClaim", &claim->meta, EVENT_NORMAL,
		   "ProvisioningSucceeded", "Successfully provisioned volume %s", r.name);
out:
	json_decref(pv);
	free(ckeys);
	free(cvals);
	csi_volume_release(&vol);
	free(caps);
	free(params);
	plan_request_release(&r);
	err_release(&e);
	return rc;
}

static int sync_claim(struct controller *c, const char *key)
{
	struct iobj *co = informer_get(c->claims, key), *so = NULL, *po = NULL;
	const struct kube_pvc *claim;
	const struct kube_storage_class *class = NULL;
	const char *why, *class_name;
	struct err e = ERR_INIT;
	char *pv_name = NULL;
	int rc = 0;

	if (!co)
		return 0;
	claim = iobj_data(co);
	class_name = plan_claim_class(claim);
	if (class_name && *class_name) {
		so = informer_get(c->classes, class_name);
		class = so ? iobj_data(so) : NULL;
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
	rc = plan_volume_name(c->o.plan.prefix, claim->meta.uid, c->o.plan.uuid_length, &pv_name, &e);
	if (rc) {
		log_error("claim %s: %s", key, err_msg(&e));
		goto out;
	}
	po = informer_get(c->volumes, pv_name);
	if (po) {
		log_v(4, "claim %s: PersistentVolume %s already exists", key, pv_name);
		goto out;
	}
	rc = provision(c, claim, class, key);
out:
	free(pv_name);
	err_release(&e);
	iobj_unref(po);
	iobj_unref(so);
	iobj_unref(co);
	return rc;
}

static int sync_volume(struct controller *c, const char *name)
{
	struct iobj *o = informer_get(c->volumes, name);
	const struct kube_pv *pv;
	struct err e = ERR_INIT;
	const char *why;
	char *path = NULL;
	int rc = 0;

	if (!o)
		return 0;
	pv = iobj_data(o);
	if (!plan_pv_should_delete(pv, &c->o.plan, &why)) {
		log_v(5, "volume %s: nothing to do: %s", name, why);
		goto out;
	}
	log_v(2, "volume %s: DeleteVolume %s", name, pv->csi_volume_handle);
	rc = csi_delete_volume(c->csi, pv->csi_volume_handle, NULL, &e);
	if (rc) {
		log_error("volume %s: DeleteVolume %s failed: %s", name, pv->csi_volume_handle,
			  err_msg(&e));
		event_emit(c->kube, c->o.component, "PersistentVolume", &pv->meta, EVENT_WARNING,
			   "VolumeFailedDelete", "%s", err_msg(&e));
		goto out;
	}
	path = xasprintf("/api/v1/persistentvolumes/%s", name);
	rc = kube_delete(c->kube, path, pv->meta.uid, NULL, &e);
	if (rc == KUBE_ERR_NOT_FOUND)
		rc = 0;
	if (rc) {
		log_error("volume %s: the volume is deleted but deleting the PersistentVolume "
			  "failed, will retry: %s", name, err_msg(&e));
		goto out;
	}
	log_info("volume %s: deleted volume %s and its PersistentVolume", name,
		 pv->csi_volume_handle);
out:
	free(path);
	err_release(&e);
	iobj_unref(o);
	return rc;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char *key;

	while (wq_get(w->q, &key) == 0) {
		if (w->sync(w->c, key) == 0) {
			wq_forget(w->q, key);
		} else {
			wq_add_rate_limited(w->q, key);
			log_v(2, "%s: retry %u scheduled", key, wq_failures(w->q, key));
		}
		wq_done(w->q, key);
		free(key);
	}
	return NULL;
}

struct controller *controller_new(struct kube_client *kube, struct csi_client *csi,
				  const struct controller_opts *o)
{
	struct controller *c = xcalloc(1, sizeof(*c));

	c->kube = kube;
	c->csi = csi;
	c->o = *o;
	c->claim_q = wq_new("claims", o->retry_start_ms, o->retry_max_ms);
	c->volume_q = wq_new("volumes", o->retry_start_ms, o->retry_max_ms);
	c->claims = informer_new(kube, &pvc_type, o->resync_ms);
	c->volumes = informer_new(kube, &pv_type, o->resync_ms);
	c->classes = informer_new(kube, &sc_type, o->resync_ms);
	informer_add_handler(c->claims, on_claim, c);
	informer_add_handler(c->volumes, on_volume, c);
	informer_add_handler(c->classes, on_class, c);
	return c;
}

int controller_start(struct controller *c, struct err *e)
{
	struct informer *infs[] = { c->classes, c->volumes, c->claims };
	int rc;

	/* classes and volumes first, so the first claims find them cached */
	for (size_t i = 0; i < 3; i++) {
		if (informer_start(infs[i], e))
			return -1;
		if (!informer_wait_synced(infs[i], SYNC_TIMEOUT_MS))
			return err_set(e, -1, "timed out waiting for the first list of %s",
				       i == 0 ? "storageclasses" : i == 1 ? "persistentvolumes"
						: "persistentvolumeclaims");
	}
	log_info("caches synced: %zu claims, %zu volumes, %zu classes",
		 informer_count(c->claims), informer_count(c->volumes), informer_count(c->classes));
	c->claim_worker = (struct worker){ c, c->claim_q, sync_claim };
	c->volume_worker = (struct worker){ c, c->volume_q, sync_volume };
	c->threads = xcalloc(2 * c->o.workers, sizeof(*c->threads));
	for (int i = 0; i < 2 * c->o.workers; i++) {
		rc = pthread_create(&c->threads[i], NULL, work,
				    i % 2 ? &c->volume_worker : &c->claim_worker);
		if (rc)
			return err_set(e, -1, "cannot start worker thread: %s", strerror(rc));
		c->nthreads++;
	}
	return 0;
}

void controller_stop(struct controller *c)
{
	informer_stop(c->claims);
	informer_stop(c->volumes);
	informer_stop(c->classes);
	wq_shutdown(c->claim_q);
	wq_shutdown(c->volume_q);
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
}

void controller_free(struct controller *c)
{
	if (!c)
		return;
	controller_stop(c);
	informer_free(c->claims);
	informer_free(c->volumes);
	informer_free(c->classes);
	wq_free(c->claim_q);
	wq_free(c->volume_q);
	free(c->threads);
	free(c);
}
