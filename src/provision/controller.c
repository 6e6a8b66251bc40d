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

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"
#include "metrics/metrics.h"
#include "provision/datasource.h"
#include "provision/events.h"
#include "provision/topology.h"
#include "workqueue/workqueue.h"

#define SYNC_TIMEOUT_MS 120000
#define WORKER_STACK_BYTES (512 * 1024)

/* What a sync asks of the queue. */
enum sync_result {
	SYNC_DONE,		/* forget the key's failures */
	SYNC_RETRY,		/* again after the key's next backoff delay */
	SYNC_RETRY_SLOW,	/* again after --retry-interval-max (infeasible requests) */
};

struct worker {
	struct controller *c;
	struct wq *q;
	enum sync_result (*sync)(struct controller *c, const char *key);
};

struct controller {
	struct kube_client *kube;
	struct csi_client *csi;
	struct controller_opts o;

	struct informer *claims, *volumes, *classes;
	struct informer *nodes, *csinodes;	/* only with topology */
	struct informer *attachments;		/* only when the driver publishes */
	struct event_sink *events;
	struct wq *claim_q, *volume_q;
	struct worker claim_worker, volume_worker;
	/*
	 * Claims whose request the driver called infeasible: key -> struct
	 * slow_entry. Until `until`, any sync of the key (an update event would
	 * otherwise requeue it at once) only reschedules it. Guarded by slow_mu.
	 */
	pthread_mutex_t slow_mu;
	struct hmap slow;
	/*
	 * PV UIDs whose volume we deleted and whose PV is on its way out: a
	 * sync of the stale cached copy must not call DeleteVolume again
	 * (upstream issue #89). Cleared when the PV's DELETE event arrives.
	 * Guarded by slow_mu.
	 */
	struct hmap deleted;
	pthread_t *threads;
	size_t nthreads;

	/* metric families, NULL without a registry */
	struct metric *provision_total, *provision_failed, *provision_seconds;
	struct metric *delete_total, *delete_failed, *delete_seconds;
	struct metric *queue_depth, *queue_retries;
};

static const double op_buckets[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600 };
static const char *const class_source_labels[] = { "class", "source", NULL };
static const char *const class_labels[] = { "class", NULL };
static const char *const queue_labels[] = { "name", NULL };

static void count(struct metric *f, const char *const *values, double v)
{
	if (f)
		metric_add(f, values, v);
}

static void observe(struct metric *f, const char *const *values, double v)
{
	if (f)
		metric_observe(f, values, v);
}

static void collect_queues(void *ctx, struct metrics *m)
{
	struct controller *c = ctx;
	const char *claims[] = { "claims" }, *volumes[] = { "volumes" };

	(void)m;
	metric_set(c->queue_depth, claims, (double)wq_len(c->claim_q));
	metric_set(c->queue_depth, volumes, (double)wq_len(c->volume_q));
}

static void register_metrics(struct controller *c, struct metrics *m)
{
	if (!m)
		return;
	c->provision_total = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolumeclaim_provision_total",
		"Claims provisioned (PersistentVolume saved)", class_source_labels, NULL, 0);
	c->provision_failed = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolumeclaim_provision_failed_total",
		"Failed provisioning attempts", class_source_labels, NULL, 0);
	c->provision_seconds = metrics_add(m, METRIC_HISTOGRAM,
		"controller_persistentvolumeclaim_provision_duration_seconds",
		"Duration of successful provisioning attempts", class_source_labels,
		op_buckets, sizeof(op_buckets) / sizeof(op_buckets[0]));
	c->delete_total = metrics_add(m, METRIC_COUNTER, "controller_persistentvolume_delete_total",
		"Volumes deleted with their PersistentVolume", class_labels, NULL, 0);
	c->delete_failed = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolume_delete_failed_total", "Failed deletion attempts",
		class_labels, NULL, 0);
	c->delete_seconds = metrics_add(m, METRIC_HISTOGRAM,
		"controller_persistentvolume_delete_duration_seconds",
		"Duration of successful deletions", class_labels,
		op_buckets, sizeof(op_buckets) / sizeof(op_buckets[0]));
	c->queue_depth = metrics_add(m, METRIC_GAUGE, "workqueue_depth",
		"Keys ready to be processed", queue_labels, NULL, 0);
	c->queue_retries = metrics_add(m, METRIC_COUNTER, "workqueue_retries_total",
		"Keys requeued after a failure", queue_labels, NULL, 0);
	metrics_add_collector(m, collect_queues, c);
}

/* Informer adapters: the kube decoders with the informer's generic shape. */
static int decode_pvc(json_t *j, void *out, struct err *e) { return kube_pvc_decode(j, out, e); }
static void release_pvc(void *p) { kube_pvc_release(p); }
static int decode_pv(json_t *j, void *out, struct err *e) { return kube_pv_decode(j, out, e); }
static void release_pv(void *p) { kube_pv_release(p); }
static int decode_sc(json_t *j, void *out, struct err *e) { return kube_storage_class_decode(j, out, e); }
static void release_sc(void *p) { kube_storage_class_release(p); }

static int decode_node(json_t *j, void *out, struct err *e) { return kube_node_decode(j, out, e); }
static void release_node(void *p) { kube_node_release(p); }
static int decode_csinode(json_t *j, void *out, struct err *e) { return kube_csinode_decode(j, out, e); }
static void release_csinode(void *p) { kube_csinode_release(p); }

static const struct informer_type node_type = {
	"nodes", "/api/v1/nodes", sizeof(struct kube_node), decode_node, release_node,
};
static const struct informer_type csinode_type = {
	"csinodes", "/apis/storage.k8s.io/v1/csinodes", sizeof(struct kube_csinode),
	decode_csinode, release_csinode,
};

static int decode_va(json_t *j, void *out, struct err *e)
{
	return kube_volume_attachment_decode(j, out, e);
}
static void release_va(void *p) { kube_volume_attachment_release(p); }

static const struct informer_type va_type = {
	"volumeattachments", "/apis/storage.k8s.io/v1/volumeattachments",
	sizeof(struct kube_volume_attachment), decode_va, release_va,
};

/* A VolumeAttachment is gone: a PV waiting for detach may be deleted now. */
static void on_attachment(void *ctx, enum informer_event ev, const char *key,
			  const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_volume_attachment *va = iobj_data(cur);

	(void)key;
	(void)old;
	if (ev == INFORMER_DELETE && va->pv_name)
		wq_add(c->volume_q, va->pv_name);
}

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

struct slow_entry {
	int64_t until;
	char *class_uid;	/* a changed class (new UID) lifts the delay, as upstream */
};

static void slow_entry_free(struct slow_entry *s)
{
	if (s) {
		free(s->class_uid);
		free(s);
	}
}

/* Keys of the claims queue that stand for a VolumeSnapshot, not a claim. */
#define SNAPSHOT_KEY_PREFIX "snapshot:"

static void enqueue_snapshot(struct controller *c, const char *ns, const char *name)
{
	char *key = xasprintf(SNAPSHOT_KEY_PREFIX "%s/%s", ns, name);

	wq_add(c->claim_q, key);
	free(key);
}

static void on_claim(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_pvc *claim = iobj_data(cur);

	(void)old;
	if (ds_kind_of(claim) == DS_SNAPSHOT && claim->meta.namespace &&
	    (ev == INFORMER_DELETE || claim->meta.deleting || (claim->volume_name && *claim->volume_name)))
		enqueue_snapshot(c, claim->meta.namespace, claim->data_source_name);
	if (ds_kind_of(claim) == DS_CLONE && claim->meta.namespace) {
		/* a clone's progress (or its deletion) may free its source's finalizer */
		char *src = xasprintf("%s/%s", claim->meta.namespace, claim->data_source_name);

		wq_add(c->claim_q, src);
		free(src);
	}
	if (ev == INFORMER_DELETE) {
		pthread_mutex_lock(&c->slow_mu);
		slow_entry_free(hmap_remove(&c->slow, key));
		pthread_mutex_unlock(&c->slow_mu);
		return;
	}
	/* a bound claim needs us only while it carries our mark or a source finalizer */
	if (claim->volume_name && *claim->volume_name && !plan_claim_marked(claim) &&
	    !plan_has_finalizer(&claim->meta, FINALIZER_CLONE_SOURCE))
		return;
	wq_add(c->claim_q, key);
}

static void on_volume(void *ctx, enum informer_event ev, const char *key,
		      const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_pv *pv = iobj_data(cur);

	(void)old;
	if (ev == INFORMER_DELETE) {
		if (pv->meta.uid) {
			pthread_mutex_lock(&c->slow_mu);
			hmap_remove(&c->deleted, pv->meta.uid);
			pthread_mutex_unlock(&c->slow_mu);
		}
		return;
	}
	if (!plan_pv_is_ours(pv, &c->o.plan))
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

/* A CreateVolume request that borrows from a plan_request. */
struct csi_request {
	struct csi_create_volume_req req;
	struct csi_volume_capability *caps;
	struct csi_kv *params;
};

static void csi_request_init(struct csi_request *cr, const struct plan_request *r)
{
	struct csi_create_volume_req *req = &cr->req;

	memset(req, 0, sizeof(*req));
	cr->caps = xcalloc(r->n_access_modes + 1, sizeof(*cr->caps));
	cr->params = xcalloc(r->n_params + 1, sizeof(*cr->params));
	req->name = r->name;
	req->required_bytes = r->required_bytes;
	for (size_t i = 0; i < r->n_access_modes; i++) {
		cr->caps[i].block = r->block;
		cr->caps[i].fs_type = r->fs_type;
		cr->caps[i].mount_flags = (const char *const *)r->mount_flags;
		cr->caps[i].n_mount_flags = r->n_mount_flags;
		cr->caps[i].access_mode = r->access_modes[i];
	}
	req->caps = cr->caps;
	req->n_caps = r->n_access_modes;
	for (size_t i = 0; i < r->n_params; i++) {
		cr->params[i].key = r->param_keys[i];
		cr->params[i].value = r->param_values[i];
	}
	req->parameters.items = cr->params;
	req->parameters.n = r->n_params;
}

static void csi_request_release(struct csi_request *cr)
{
	free(cr->caps);
	free(cr->params);
}

static void claim_event(struct controller *c, const struct kube_pvc *claim, const char *type,
			const char *reason, const char *msg)
{
	event_emit(c->events, "PersistentVolumeClaim", &claim->meta, type, reason,
		   "%s", msg);
}

static char *claim_path(const struct kube_pvc *claim)
{
	return xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", claim->meta.namespace,
			 claim->meta.name);
}

/*
 * Put our mark on the claim before its first CreateVolume. On success
 * *marked holds the claim as the server returned it (caller releases).
 */
static int mark_claim(struct controller *c, const struct kube_pvc *claim, const char *volume,
		      struct kube_pvc *marked, struct err *e)
{
	json_t *patch = plan_finalizer_patch(&claim->meta, FINALIZER_CLAIM, true, ANN_CLAIM_VOLUME,
					     volume);
	json_t *out = NULL;
	char *path = claim_path(claim);
	int rc;

	rc = kube_patch(c->kube, path, "application/merge-patch+json", patch, &out, e);
	if (!rc)
		rc = kube_pvc_decode(out, marked, e);
	json_decref(out);
	json_decref(patch);
	free(path);
	return rc;
}

/* Remove our mark; the claim may then go away. */
static json_t *claim_unmark_patch(const struct kube_pvc *claim)
{
	json_t *patch = plan_unmark_patch(&claim->meta, FINALIZER_CLAIM, ANN_CLAIM_VOLUME);

	if (patch)
		plan_patch_remove_annotation(patch, &claim->meta, ANN_CLAIM_IN_DOUBT);
	return patch;
}

static int unmark_claim(struct controller *c, const struct kube_pvc *claim, struct err *e)
{
	json_t *patch = claim_unmark_patch(claim);
	char *path;
	int rc;

	if (!patch)
		return 0;
	path = claim_path(claim);
	rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, e);
	json_decref(patch);
	if (rc == KUBE_ERR_INVALID || rc == KUBE_ERR_CONFLICT) {
		/* our view was stale (a "test" failed): read the claim and try once more */
		json_t *obj = NULL;
		struct kube_pvc fresh;

		memset(&fresh, 0, sizeof(fresh));
		err_release(e);
		rc = kube_get(c->kube, path, &obj, e);
		if (!rc)
			rc = kube_pvc_decode(obj, &fresh, e);
		json_decref(obj);
		patch = rc ? NULL : claim_unmark_patch(&fresh);
		if (patch)
			rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, e);
		json_decref(patch);
		kube_pvc_release(&fresh);
	}
	if (rc == KUBE_ERR_NOT_FOUND)
		rc = 0;
	free(path);
	return rc;
}

/* Whether the PV exists, asked of the API server (the cache may lag our own writes). */
static int pv_exists_live(struct controller *c, const char *name, bool *exists, struct err *e)
{
	char *path = xasprintf("/api/v1/persistentvolumes/%s", name);
	json_t *out = NULL;
	int rc = kube_get(c->kube, path, &out, e);

	free(path);
	json_decref(out);
	*exists = rc == 0;
	if (rc == KUBE_ERR_NOT_FOUND)
		rc = 0;
	return rc;
}

/*
 * Read a Secret's data for a CSI call (caller releases *out with
 * csi_map_release). Fetched on every attempt, as upstream does, so a fixed
 * Secret is picked up by the next retry. Values are never logged.
 */
static int fetch_secret(struct controller *c, const struct secret_ref *ref, struct csi_map *out,
			struct err *e)
{
	char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ref->namespace, ref->name);
	json_t *obj = NULL, *data, *v;
	const char *k;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = kube_get(c->kube, path, &obj, e);
	free(path);
	if (rc) {
		err_prefix(e, "cannot get secret \"%s/%s\"", ref->namespace, ref->name);
		return rc;
	}
	data = json_object_get(obj, "data");
	out->items = xcalloc(json_object_size(data) + 1, sizeof(*out->items));
	json_object_foreach(data, k, v) {
		const char *b64 = json_string_value(v);
		size_t len;
		char *val = b64 ? kube_base64_decode(b64, strlen(b64), &len) : NULL;

		if (!val) {
			csi_map_release(out);
			json_decref(obj);
			return err_set(e, KUBE_ERR_DECODE, "secret \"%s/%s\": key \"%s\" is not "
				       "valid base64", ref->namespace, ref->name, k);
		}
		out->items[n].key = xstrdup(k);
		out->items[n].value = val;
		out->n = ++n;
	}
	json_decref(obj);
	return 0;
}

#define ANN_ALPHA_SELECTED_NODE "volume.alpha.kubernetes.io/selected-node"

static const char *selected_node(const struct kube_pvc *claim)
{
	const char *n = kube_strmap_get(&claim->meta.annotations, ANN_SELECTED_NODE);

	if (!n || !*n)
		n = kube_strmap_get(&claim->meta.annotations, ANN_ALPHA_SELECTED_NODE);
	return n && *n ? n : NULL;
}

/* Topology requirements from the caches; see topology.h for the rules. */
static int claim_topology(struct controller *c, const struct kube_pvc *claim,
			  const struct kube_storage_class *class, struct topo_result *out,
			  struct err *e)
{
	struct topo_input in;
	struct iobj *no = NULL, *cno = NULL, **nodes = NULL, **csinodes = NULL;
	const void **nv = NULL, **cv = NULL;
	size_t nn = 0, nc = 0;
	int rc;

	memset(&in, 0, sizeof(in));
	in.driver = c->o.plan.driver;
	in.class = class;
	in.claim_name = claim->meta.name;
	in.selected_node_name = selected_node(claim);
	in.strict = c->o.strict_topology;
	in.immediate = c->o.immediate_topology;
	if (in.selected_node_name) {
		no = informer_get(c->nodes, in.selected_node_name);
		cno = informer_get(c->csinodes, in.selected_node_name);
		in.selected_node = no ? iobj_data(no) : NULL;
		in.selected_csinode = cno ? iobj_data(cno) : NULL;
	}
	nodes = informer_list(c->nodes, &nn);
	csinodes = informer_list(c->csinodes, &nc);
	nv = xcalloc(nn + 1, sizeof(*nv));
	cv = xcalloc(nc + 1, sizeof(*cv));
	for (size_t i = 0; i < nn; i++)
		nv[i] = iobj_data(nodes[i]);
	for (size_t i = 0; i < nc; i++)
		cv[i] = iobj_data(csinodes[i]);
	in.nodes = (const struct kube_node *const *)nv;
	in.n_nodes = nn;
	in.csinodes = (const struct kube_csinode *const *)cv;
	in.n_csinodes = nc;
	rc = topo_requirements(&in, out, e);
	free(nv);
	free(cv);
	informer_list_free(nodes, nn);
	informer_list_free(csinodes, nc);
	iobj_unref(no);
	iobj_unref(cno);
	return rc;
}

/* Segments as the CSI client takes them (borrowing the strings). */
static struct csi_map *segments_to_csi(const struct topo_segment *segs, size_t n)
{
	struct csi_map *maps = xcalloc(n + 1, sizeof(*maps));

	for (size_t i = 0; i < n; i++) {
		maps[i].items = xcalloc(segs[i].n + 1, sizeof(*maps[i].items));
		for (size_t k = 0; k < segs[i].n; k++) {
			maps[i].items[k].key = segs[i].keys[k];
			maps[i].items[k].value = segs[i].values[k];
		}
		maps[i].n = segs[i].n;
	}
	return maps;
}

static void free_csi_segments(struct csi_map *maps, size_t n)
{
	for (size_t i = 0; maps && i < n; i++)
		free(maps[i].items);
	free(maps);
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
	char *path = claim_path(claim), *msg;
	enum sync_result res = SYNC_DONE;

	plan_patch_remove_annotation(patch, &claim->meta, ANN_SELECTED_NODE);
	plan_patch_remove_annotation(patch, &claim->meta, ANN_ALPHA_SELECTED_NODE);
	if (!json_array_size(patch)) {
		json_decref(patch);
		patch = NULL;
	}
	msg = xasprintf("%s; asking the scheduler for another node", why);
	log_info("claim %s: %s", key, msg);
	claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
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

/* Add `finalizer` to the object at `path` unless `m` shows it already. */
static int ensure_finalizer(struct controller *c, const char *path, const struct kube_meta *m,
			    const char *finalizer, struct err *e)
{
	json_t *patch;
	int rc;

	if (plan_has_finalizer(m, finalizer))
		return 0;
	patch = plan_finalizer_patch(m, finalizer, true, NULL, NULL);
	rc = kube_patch(c->kube, path, "application/merge-patch+json", patch, NULL, e);
	json_decref(patch);
	return rc;
}

/* A data source, resolved for CreateVolume. */
struct source {
	enum ds_kind kind;
	char *volume_id, *snapshot_id;
	char *snapshot_path;		/* to drop our finalizer after success */
};

static void source_release(struct source *s)
{
	free(s->volume_id);
	free(s->snapshot_id);
	free(s->snapshot_path);
	memset(s, 0, sizeof(*s));
}

/*
 * Check the claim's data source and, with `protect`, put our finalizer on it
 * while we copy from it (only once the claim is marked: a finalizer set for
 * a claim that then vanishes unmarked would never be removed).
 * Returns 0, or -1 with a message for a ProvisioningFailed event.
 */
static int resolve_source(struct controller *c, const struct kube_pvc *claim, struct source *out,
			  bool protect, struct err *e)
{
	const char *id;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->kind = ds_kind_of(claim);
	if (claim->data_source_namespace && *claim->data_source_namespace &&
	    strcmp(claim->data_source_namespace, claim->meta.namespace))
		return err_set(e, -1, "data sources in another namespace (%s) are not supported",
			       claim->data_source_namespace);
	if (out->kind == DS_CLONE) {
		char *key = xasprintf("%s/%s", claim->meta.namespace, claim->data_source_name);
		struct iobj *so = informer_get(c->claims, key), *po = NULL;
		const struct kube_pvc *src = so ? iobj_data(so) : NULL;

		free(key);
		if (!c->o.clone) {
			err_set(e, -1, "the CSI driver cannot clone volumes (no CLONE_VOLUME capability)");
			goto clone_out;
		}
		if (src && src->volume_name)
			po = informer_get(c->volumes, src->volume_name);
		if (ds_check_clone(claim, src, po ? iobj_data(po) : NULL, c->o.plan.driver, &id, e))
			goto clone_out;
		out->volume_id = xstrdup(id);
		rc = 0;
		if (protect) {
			char *path = claim_path(src);

			rc = ensure_finalizer(c, path, &src->meta, FINALIZER_CLONE_SOURCE, e);
			free(path);
		}
		if (rc)
			err_prefix(e, "cannot protect source claim %s/%s while cloning it",
				   claim->meta.namespace, claim->data_source_name);
clone_out:
		iobj_unref(po);
		iobj_unref(so);
		return rc;
	}
	if (out->kind == DS_SNAPSHOT) {
		struct kube_volume_snapshot snap;
		struct kube_snapshot_content content;
		json_t *sj = NULL, *cj = NULL;
		char *cpath = NULL;
		bool have_snap = false, have_content = false;

		memset(&snap, 0, sizeof(snap));
		memset(&content, 0, sizeof(content));
		if (!c->o.snapshot)
			return err_set(e, -1, "the CSI driver cannot restore snapshots (no "
				       "CREATE_DELETE_SNAPSHOT capability)");
		out->snapshot_path = xasprintf("/apis/" SNAPSHOT_GROUP "/v1/namespaces/%s/"
					       "volumesnapshots/%s", claim->meta.namespace,
					       claim->data_source_name);
		rc = kube_get(c->kube, out->snapshot_path, &sj, e);
		if (rc && rc != KUBE_ERR_NOT_FOUND)
			goto snap_out;
		have_snap = !rc && !kube_volume_snapshot_decode(sj, &snap, e);
		if (!rc && !have_snap)
			goto snap_fail;
		if (have_snap && snap.bound_content) {
			cpath = xasprintf("/apis/" SNAPSHOT_GROUP "/v1/volumesnapshotcontents/%s",
					  snap.bound_content);
			rc = kube_get(c->kube, cpath, &cj, e);
			if (rc && rc != KUBE_ERR_NOT_FOUND)
				goto snap_out;
			have_content = !rc && !kube_snapshot_content_decode(cj, &content, e);
			if (!rc && !have_content)
				goto snap_fail;
		}
		err_release(e);
		if (ds_check_snapshot(claim, have_snap ? &snap : NULL,
				      have_content ? &content : NULL, c->o.plan.driver, true, &id, e))
			goto snap_fail;
		out->snapshot_id = xstrdup(id);
		rc = protect ? ensure_finalizer(c, out->snapshot_path, &snap.meta,
						FINALIZER_SNAPSHOT_SOURCE, e) : 0;
		if (rc == KUBE_ERR_FORBIDDEN) {
			/* upstream tolerates missing rights here: the restore still works */
			err_release(e);
			rc = 0;
		}
		goto snap_out;
snap_fail:
		rc = -1;
snap_out:
		free(cpath);
		json_decref(sj);
		json_decref(cj);
		kube_volume_snapshot_release(&snap);
		kube_snapshot_content_release(&content);
		return rc;
	}
	return 0;
}

/*
 * The claim's VolumeAttributesClass parameters, read live (upstream does
 * too: a class is immutable, but it may have been created a moment ago).
 * `out` owns its strings; release with csi_map_release.
 */
static int vac_parameters(struct controller *c, const struct kube_pvc *claim, struct csi_map *out,
			  struct err *e)
{
	char *path;
	json_t *obj = NULL;
	struct kube_vac vac;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->o.vac_disabled || !claim->vac_name || !*claim->vac_name)
		return 0;
	if (!c->o.modify_volume)
		return err_set(e, -1, "the claim names VolumeAttributesClass %s but the CSI driver "
			       "cannot modify volumes (no MODIFY_VOLUME capability)", claim->vac_name);
	memset(&vac, 0, sizeof(vac));
	path = xasprintf("/apis/storage.k8s.io/v1/volumeattributesclasses/%s", claim->vac_name);
	rc = kube_get(c->kube, path, &obj, e);
	free(path);
	if (rc) {
		err_prefix(e, "cannot get VolumeAttributesClass %s", claim->vac_name);
		return rc;
	}
	rc = kube_vac_decode(obj, &vac, e);
	json_decref(obj);
	if (!rc && (!vac.driver_name || strcmp(vac.driver_name, c->o.plan.driver)))
		rc = err_set(e, -1, "VolumeAttributesClass %s is for driver %s, not %s",
			     claim->vac_name, vac.driver_name ? vac.driver_name : "?", c->o.plan.driver);
	if (!rc) {
		out->items = xcalloc(vac.parameters.n + 1, sizeof(*out->items));
		for (size_t i = 0; i < vac.parameters.n; i++) {
			out->items[i].key = xstrdup(vac.parameters.keys[i]);
			out->items[i].value = xstrdup(vac.parameters.values[i]);
		}
		out->n = vac.parameters.n;
	}
	kube_vac_release(&vac);
	return rc;
}

/*
 * Our finalizer protects a VolumeSnapshot while some pending claim restores
 * from it. Once none does (restored, deleted, or gone elsewhere), it goes.
 * Runs for "snapshot:ns/name" keys, queued whenever such a claim changes.
 */
static enum sync_result sync_snapshot_source(struct controller *c, const char *ns_name)
{
	const char *slash = strchr(ns_name, '/');
	char *ns, *path = NULL;
	const char *name;
	struct iobj **all;
	size_t n;
	bool in_use = false;
	json_t *obj = NULL, *patch = NULL;
	struct kube_volume_snapshot snap;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_DONE;
	int rc;

	if (!slash)
		return SYNC_DONE;
	ns = xstrndup(ns_name, slash - ns_name);
	name = slash + 1;
	memset(&snap, 0, sizeof(snap));
	all = informer_list(c->claims, &n);
	for (size_t i = 0; i < n && !in_use; i++) {
		const struct kube_pvc *p = iobj_data(all[i]);

		in_use = ds_kind_of(p) == DS_SNAPSHOT && !strcmp(p->data_source_name, name) &&
			 p->meta.namespace && !strcmp(p->meta.namespace, ns) && !p->meta.deleting &&
			 !(p->volume_name && *p->volume_name);
	}
	informer_list_free(all, n);
	if (in_use)
		goto out;
	path = xasprintf("/apis/" SNAPSHOT_GROUP "/v1/namespaces/%s/volumesnapshots/%s", ns, name);
	rc = kube_get(c->kube, path, &obj, &e);
	if (rc == KUBE_ERR_NOT_FOUND)
		goto out;
	if (!rc)
		rc = kube_volume_snapshot_decode(obj, &snap, &e);
	if (!rc && (patch = plan_unmark_patch(&snap.meta, FINALIZER_SNAPSHOT_SOURCE, NULL)))
		rc = kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, &e);
	if (rc && rc != KUBE_ERR_NOT_FOUND) {
		log_error("snapshot %s: removing our finalizer failed, will retry: %s", ns_name,
			  err_msg(&e));
		res = SYNC_RETRY;
	} else if (patch) {
		log_v(2, "snapshot %s: no pending claim restores from it; finalizer removed", ns_name);
	}
out:
	json_decref(patch);
	json_decref(obj);
	kube_volume_snapshot_release(&snap);
	err_release(&e);
	free(path);
	free(ns);
	return res;
}

/* A CreateVolume request with everything it borrows. */
struct prepared {
	struct plan_request r;
	struct csi_request cr;
	struct csi_map secrets, mutable_params;
	struct topo_result topo;
	struct csi_map *req_segs, *pref_segs;
	struct source src;
};

enum prep_result {
	PREP_OK,
	PREP_FAILED,		/* e says why; a Warning event */
	PREP_RESCHEDULE,	/* the selected node cannot host it */
	PREP_EXTERNAL,		/* a populator's claim */
};

static void prepared_release(struct prepared *p)
{
	csi_request_release(&p->cr);
	csi_map_release(&p->secrets);
	csi_map_release(&p->mutable_params);
	free_csi_segments(p->req_segs, p->topo.n_requisite);
	free_csi_segments(p->pref_segs, p->topo.n_preferred);
	topo_result_release(&p->topo);
	source_release(&p->src);
	plan_request_release(&p->r);
	memset(p, 0, sizeof(*p));
}

/*
 * Build the full CreateVolume request for a claim: the plan, the volume
 * name (`name` overrides the planned one: a marked claim keeps the name it
 * was marked with), data source, mutable parameters, secrets, topology. The
 * same request serves the first attempt, every retry, and the settling of a
 * deleted claim, so the driver's idempotency sees the same call each time.
 * With `settling`, a provisioner Secret that is gone is tolerated.
 */
static enum prep_result prepare(struct controller *c, const struct kube_pvc *claim,
				const struct kube_storage_class *class, const char *name,
				bool settling, struct prepared *p, struct err *e)
{
	int trc;

	memset(p, 0, sizeof(*p));
	if (plan_create_request(claim, class, &c->o.plan, &p->r, e))
		return PREP_FAILED;
	if (name && strcmp(name, p->r.name)) {
		free(p->r.name);
		p->r.name = xstrdup(name);
	}
	if (ds_kind_of(claim) == DS_EXTERNAL)
		return PREP_EXTERNAL;
	csi_request_init(&p->cr, &p->r);
	if (resolve_source(c, claim, &p->src, false, e))
		return PREP_FAILED;
	p->cr.req.source_volume_id = p->src.volume_id;
	p->cr.req.source_snapshot_id = p->src.snapshot_id;
	if (vac_parameters(c, claim, &p->mutable_params, e))
		return PREP_FAILED;
	p->cr.req.mutable_parameters = p->mutable_params;
	if (p->r.secrets[SECRET_PROVISIONER].name) {
		int rc = fetch_secret(c, &p->r.secrets[SECRET_PROVISIONER], &p->secrets, e);

		if (rc == KUBE_ERR_NOT_FOUND && settling) {
			log_warn("%s; asking the driver without secrets", err_msg(e));
			err_release(e);
		} else if (rc) {
			return PREP_FAILED;
		}
	}
	p->cr.req.secrets = p->secrets;
	if (!c->o.topology)
		return PREP_OK;
	trc = claim_topology(c, claim, class, &p->topo, e);
	if (trc == TOPO_ERR_RESCHEDULE)
		return PREP_RESCHEDULE;
	if (trc)
		return PREP_FAILED;
	p->req_segs = segments_to_csi(p->topo.requisite, p->topo.n_requisite);
	p->pref_segs = segments_to_csi(p->topo.preferred, p->topo.n_preferred);
	p->cr.req.requisite = p->req_segs;
	p->cr.req.n_requisite = p->topo.n_requisite;
	p->cr.req.preferred = p->pref_segs;
	p->cr.req.n_preferred = p->topo.n_preferred;
	return PREP_OK;
}

/* Record on the claim that a CreateVolume ended in doubt (see ANN_CLAIM_IN_DOUBT). */
static int mark_in_doubt(struct controller *c, const struct kube_pvc *claim, struct err *e)
{
	json_t *patch;
	char *path;
	int rc;

	if (kube_strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT))
		return 0;
	patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", ANN_CLAIM_IN_DOUBT, "true");
	path = claim_path(claim);
	rc = kube_patch(c->kube, path, "application/merge-patch+json", patch, NULL, e);
	json_decref(patch);
	free(path);
	return rc;
}

/* CreateVolume, then save the PV, then clear our mark. */
static enum sync_result provision(struct controller *c, const struct kube_pvc *claim,
				  const struct kube_storage_class *class, const char *key)
{
	struct prepared p;
	struct csi_volume vol;
	struct plan_volume pv_in;
	struct kube_pvc marked;
	struct source protect = { 0 };
	const struct kube_pvc *cur = claim;
	const char *name = kube_strmap_get(&claim->meta.annotations, ANN_CLAIM_VOLUME);
	const char **ckeys = NULL, **cvals = NULL;
	struct plan_segment *segs = NULL;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	bool in_doubt = kube_strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT) != NULL;
	json_t *pv = NULL;
	int rc;

	memset(&vol, 0, sizeof(vol));
	memset(&marked, 0, sizeof(marked));
	switch (prepare(c, claim, class, name && *name ? name : NULL, false, &p, &e)) {
	case PREP_OK:
		break;
	case PREP_EXTERNAL:
		claim_event(c, claim, EVENT_NORMAL, "Provisioning",
			    "Assuming an external populator will provision the volume");
		res = SYNC_DONE;
		goto out;
	case PREP_RESCHEDULE:
		res = reschedule(c, claim, key, err_msg(&e));
		goto out;
	case PREP_FAILED:
		log_error("claim %s: cannot provision: %s", key, err_msg(&e));
		claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	event_emit(c->events, "PersistentVolumeClaim", &claim->meta, EVENT_NORMAL,
		   "Provisioning", "External provisioner is provisioning volume for claim \"%s\"", key);
	/* marked only now: whatever could fail before the first CreateVolume has */
	if (c->o.volume_accounting && !plan_claim_marked(claim)) {
		if (mark_claim(c, claim, p.r.name, &marked, &e)) {
			log_error("claim %s: cannot mark the claim before provisioning, will retry: %s",
				  key, err_msg(&e));
			goto out;
		}
		cur = &marked;
	}
	if (p.src.kind != DS_NONE && resolve_source(c, claim, &protect, true, &e)) {
		log_error("claim %s: %s", key, err_msg(&e));
		claim_event(c, cur, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	log_v(2, "claim %s: CreateVolume %s (%lld bytes)", key, p.r.name,
	      (long long)p.r.required_bytes);
	rc = csi_create_volume(c->csi, &p.cr.req, &vol, &e);
	if (rc) {
		enum plan_error_class cls = plan_classify_csi_error(rc);
		char *msg = xasprintf("failed to provision volume with StorageClass \"%s\": %s%s",
				      class->meta.name, err_msg(&e),
				      cls == PLAN_ERR_INFEASIBLE ? " (the driver rejected the "
				      "request as infeasible; retries are delayed)" : "");

		log_error("claim %s: CreateVolume %s failed: %s", key, p.r.name, err_msg(&e));
		err_release(&e);
		if (cls == PLAN_ERR_IN_BACKGROUND && plan_claim_marked(cur) &&
		    mark_in_doubt(c, cur, &e)) {
			log_error("claim %s: cannot record the doubtful CreateVolume: %s", key,
				  err_msg(&e));
			err_release(&e);
		}
		if (rc == CSI_RESOURCE_EXHAUSTED && c->o.topology && selected_node(claim)) {
			res = reschedule(c, cur, key, msg);
			free(msg);
			/* the driver said no; unless an earlier try is in doubt, the mark can go */
			if (res == SYNC_DONE && !in_doubt && unmark_claim(c, cur, &e)) {
				log_error("claim %s: clearing our mark failed, will retry: %s", key,
					  err_msg(&e));
				res = SYNC_RETRY;
			}
			goto out;
		}
		claim_event(c, cur, EVENT_WARNING, "ProvisioningFailed", msg);
		free(msg);
		res = cls == PLAN_ERR_INFEASIBLE ? SYNC_RETRY_SLOW : SYNC_RETRY;
		goto out;
	}
	if (vol.capacity_bytes && vol.capacity_bytes < p.r.required_bytes) {
		struct err de = ERR_INIT;
		char *msg = xasprintf("created volume capacity %lld less than requested capacity %lld",
				      (long long)vol.capacity_bytes, (long long)p.r.required_bytes);

		/* the mark stays until the volume is surely gone */
		if (csi_delete_volume(c->csi, vol.volume_id, &p.secrets, &de))
			log_error("claim %s: deleting the undersized volume %s failed: %s", key,
				  vol.volume_id, err_msg(&de));
		log_error("claim %s: %s", key, msg);
		claim_event(c, cur, EVENT_WARNING, "ProvisioningFailed", msg);
		free(msg);
		err_release(&de);
		goto out;
	}
	if (p.src.kind != DS_NONE && !vol.has_content_source) {
		struct err de = ERR_INIT;

		/* the driver ignored the source: an empty volume is not what was asked */
		if (csi_delete_volume(c->csi, vol.volume_id, &p.secrets, &de))
			log_error("claim %s: deleting volume %s (created without its content "
				  "source) failed: %s", key, vol.volume_id, err_msg(&de));
		log_error("claim %s: volume content source missing in the driver's reply", key);
		claim_event(c, cur, EVENT_WARNING, "ProvisioningFailed",
			    "volume content source missing");
		err_release(&de);
		goto out;
	}
	ckeys = xcalloc(vol.context.n + 1, sizeof(char *));
	cvals = xcalloc(vol.context.n + 1, sizeof(char *));
	for (size_t i = 0; i < vol.context.n; i++) {
		ckeys[i] = vol.context.items[i].key;
		cvals[i] = vol.context.items[i].value;
	}
	segs = xcalloc(vol.n_accessible_topology + 1, sizeof(*segs));
	for (size_t t = 0; t < vol.n_accessible_topology; t++) {
		const struct csi_map *m = &vol.accessible_topology[t];

		segs[t].keys = xcalloc(m->n + 1, sizeof(char *));
		segs[t].values = xcalloc(m->n + 1, sizeof(char *));
		for (size_t i = 0; i < m->n; i++) {
			((const char **)segs[t].keys)[i] = m->items[i].key;
			((const char **)segs[t].values)[i] = m->items[i].value;
		}
		segs[t].n = m->n;
	}
	pv_in = (struct plan_volume){ vol.volume_id, vol.capacity_bytes, ckeys, cvals, vol.context.n,
				      segs, vol.n_accessible_topology };
	pv = plan_pv(claim, class, &c->o.plan, &p.r, &pv_in);
	if (!pv) {
		log_error("claim %s: cannot build the PersistentVolume object", key);
		goto out;
	}
	rc = kube_create(c->kube, "/api/v1/persistentvolumes", pv, NULL, &e);
	if (rc && rc != KUBE_ERR_ALREADY_EXISTS) {
		/* The volume exists; the next attempt finds it by name and saves again. */
		log_error("claim %s: volume %s created but saving PersistentVolume %s failed, "
			  "will retry: %s", key, vol.volume_id, p.r.name, err_msg(&e));
		goto out;
	}
	if (rc == 0) {
		log_info("claim %s: provisioned volume %s as PersistentVolume %s", key,
			 vol.volume_id, p.r.name);
		event_emit(c->events, "PersistentVolumeClaim", &cur->meta, EVENT_NORMAL,
			   "ProvisioningSucceeded", "Successfully provisioned volume %s", p.r.name);
	}
	err_release(&e);
	if (p.src.kind == DS_SNAPSHOT)	/* its finalizer goes once no pending claim needs it */
		enqueue_snapshot(c, claim->meta.namespace, claim->data_source_name);
	if (unmark_claim(c, cur, &e)) {
		log_warn("claim %s: PersistentVolume saved but clearing our mark failed, will "
			 "retry: %s", key, err_msg(&e));
		goto out;
	}
	res = SYNC_DONE;
out:
	for (size_t t = 0; segs && t < vol.n_accessible_topology; t++) {
		free((void *)segs[t].keys);
		free((void *)segs[t].values);
	}
	free(segs);
	json_decref(pv);
	free(ckeys);
	free(cvals);
	csi_volume_release(&vol);
	source_release(&protect);
	prepared_release(&p);
	kube_pvc_release(&marked);
	err_release(&e);
	return res;
}

/*
 * The claim carries our mark but will never get a PV from us (it is being
 * deleted, or the binder bound it to another PV), and no PV named `volume`
 * exists: a volume may exist that nothing else knows of. Ask the driver for
 * it by name with the original request (CreateVolume is idempotent) and
 * delete it, then clear the mark. A refusal proves nothing was created only
 * when no earlier attempt is in doubt; otherwise we keep asking, and say so.
 */
static enum sync_result settle_claim(struct controller *c, const struct kube_pvc *claim,
				     const struct kube_storage_class *class, const char *volume,
				     const char *key)
{
	struct prepared p;
	struct csi_volume vol;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	bool exists, in_doubt = kube_strmap_get(&claim->meta.annotations, ANN_CLAIM_IN_DOUBT);
	int rc;

	memset(&vol, 0, sizeof(vol));
	memset(&p, 0, sizeof(p));
	if (claim->volume_name && !strcmp(claim->volume_name, volume))
		goto unmark;	/* bound to the PV we saved: it accounts for the volume */
	if (pv_exists_live(c, volume, &exists, &e)) {
		log_error("claim %s: cannot check PersistentVolume %s: %s", key, volume, err_msg(&e));
		goto out;
	}
	if (exists)
		goto unmark;	/* the PV accounts for the volume; its reclaim policy decides */
	if (!class) {
		char *msg = xasprintf("volume %s may exist without a PersistentVolume, and "
				      "StorageClass %s is gone: cannot ask the driver for it until "
				      "the class returns", volume, plan_claim_class(claim));

		log_error("claim %s: %s", key, msg);
		claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", msg);
		free(msg);
		goto out;
	}
	switch (prepare(c, claim, class, volume, true, &p, &e)) {
	case PREP_OK:
		break;
	case PREP_EXTERNAL:
		goto unmark;	/* never ours to create */
	case PREP_RESCHEDULE:
	case PREP_FAILED:
		if (!in_doubt) {
			/* every attempt was refused before or by the driver */
			log_v(2, "claim %s: no volume to settle (%s)", key, err_msg(&e));
			goto unmark;
		}
		log_error("claim %s: volume %s may exist, but the request cannot be rebuilt: %s",
			  key, volume, err_msg(&e));
		claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	rc = csi_create_volume(c->csi, &p.cr.req, &vol, &e);
	if (rc) {
		if (plan_classify_csi_error(rc) != PLAN_ERR_IN_BACKGROUND && !in_doubt) {
			log_v(2, "claim %s: the driver holds no volume %s (%s)", key, volume,
			      err_msg(&e));
			goto unmark;
		}
		log_error("claim %s: volume %s may exist; asking the driver again: %s", key,
			  volume, err_msg(&e));
		claim_event(c, claim, EVENT_WARNING, "ProvisioningFailed", err_msg(&e));
		goto out;
	}
	rc = csi_delete_volume(c->csi, vol.volume_id, &p.secrets, &e);
	if (rc) {
		log_error("claim %s: deleting orphaned volume %s failed, will retry: %s", key,
			  vol.volume_id, err_msg(&e));
		goto out;
	}
	log_info("claim %s: volume %s would have had no PersistentVolume; deleted it", key,
		 vol.volume_id);
unmark:
	err_release(&e);
	if (unmark_claim(c, claim, &e)) {
		log_error("claim %s: clearing our mark failed, will retry: %s", key, err_msg(&e));
		goto out;
	}
	res = SYNC_DONE;
out:
	csi_volume_release(&vol);
	prepared_release(&p);
	err_release(&e);
	return res;
}

/*
 * A source claim being deleted keeps our cloning finalizer while any
 * pending claim still clones it; then the finalizer goes.
 */
static enum sync_result release_clone_source(struct controller *c, const struct kube_pvc *source,
					     const char *key)
{
	struct iobj **all;
	size_t n;
	bool in_use = false;
	struct err e = ERR_INIT;
	json_t *patch;
	char *path;
	enum sync_result res = SYNC_DONE;

	all = informer_list(c->claims, &n);
	for (size_t i = 0; i < n && !in_use; i++) {
		const struct kube_pvc *p = iobj_data(all[i]);

		in_use = ds_kind_of(p) == DS_CLONE && !strcmp(p->data_source_name, source->meta.name) &&
			 p->meta.namespace && !strcmp(p->meta.namespace, source->meta.namespace) &&
			 !(p->volume_name && *p->volume_name);
	}
	informer_list_free(all, n);
	if (in_use) {
		log_v(2, "claim %s: still the source of a pending clone; keeping it", key);
		return SYNC_DONE;	/* the clone's progress requeues us */
	}
	patch = plan_unmark_patch(&source->meta, FINALIZER_CLONE_SOURCE, NULL);
	path = claim_path(source);
	if (patch && kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, &e) &&
	    e.code != KUBE_ERR_NOT_FOUND) {
		log_error("claim %s: removing the cloning finalizer failed, will retry: %s", key,
			  err_msg(&e));
		res = SYNC_RETRY;
	}
	json_decref(patch);
	free(path);
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
			slow_entry_free(hmap_remove(&c->slow, key));
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
	slow_entry_free(on ? hmap_put(&c->slow, key, s) : hmap_remove(&c->slow, key));
	pthread_mutex_unlock(&c->slow_mu);
}

static enum sync_result sync_claim(struct controller *c, const char *key)
{
	struct iobj *co, *so = NULL, *po = NULL;
	const struct kube_pvc *claim;
	const struct kube_storage_class *class = NULL;
	const char *why, *class_name, *marked_name;
	struct err e = ERR_INIT;
	char *pv_name = NULL;
	enum sync_result res = SYNC_DONE;
	bool marked, bound;

	if (!strncmp(key, SNAPSHOT_KEY_PREFIX, strlen(SNAPSHOT_KEY_PREFIX)))
		return sync_snapshot_source(c, key + strlen(SNAPSHOT_KEY_PREFIX));
	co = informer_get(c->claims, key);
	if (!co)
		return SYNC_DONE;
	claim = iobj_data(co);
	class_name = plan_claim_class(claim);
	if (class_name && *class_name) {
		so = informer_get(c->classes, class_name);
		class = so ? iobj_data(so) : NULL;
	}
	marked = plan_claim_marked(claim);
	bound = claim->volume_name && *claim->volume_name;
	marked_name = kube_strmap_get(&claim->meta.annotations, ANN_CLAIM_VOLUME);
	if (marked_name && *marked_name) {
		pv_name = xstrdup(marked_name);
	} else if (plan_volume_name(c->o.plan.prefix, claim->meta.uid, c->o.plan.uuid_length,
				    &pv_name, &e)) {
		log_error("claim %s: %s", key, err_msg(&e));
		res = SYNC_RETRY;
		goto out;
	}
	po = informer_get(c->volumes, pv_name);

	if (claim->meta.deleting) {
		if (marked)
			res = settle_claim(c, claim, class, pv_name, key);
		if (res == SYNC_DONE && plan_has_finalizer(&claim->meta, FINALIZER_CLONE_SOURCE))
			res = release_clone_source(c, claim, key);
		goto out;
	}
	if (marked && bound && strcmp(claim->volume_name, pv_name)) {
		/* bound to someone else's PV: whatever we may have created must go */
		res = settle_claim(c, claim, class, pv_name, key);
		goto out;
	}
	if (marked && (bound || po)) {
		if (unmark_claim(c, claim, &e)) {
			log_error("claim %s: clearing our mark failed, will retry: %s", key, err_msg(&e));
			res = SYNC_RETRY;
		}
		goto out;
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
	if (po) {
		log_v(4, "claim %s: PersistentVolume %s already exists", key, pv_name);
		goto out;
	}
	{
		const char *labels[] = { class->meta.name, "" };
		int64_t start = clock_now_ms(), left = slow_remaining(c, key, class->meta.uid);

		if (left > 0) {
			log_v(4, "claim %s: infeasible; next try in %lld ms", key, (long long)left);
			wq_add_after(c->claim_q, key, left);
			goto out;
		}
		res = provision(c, claim, class, key);
		slow_set(c, key, class->meta.uid, res == SYNC_RETRY_SLOW);
		if (res == SYNC_DONE) {
			count(c->provision_total, labels, 1);
			observe(c->provision_seconds, labels, (clock_now_ms() - start) / 1000.0);
		} else {
			count(c->provision_failed, labels, 1);
		}
	}
out:
	free(pv_name);
	err_release(&e);
	iobj_unref(po);
	iobj_unref(so);
	iobj_unref(co);
	return res;
}

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
	bool want = pv->reclaim_policy && !strcmp(pv->reclaim_policy, "Delete") &&
		    (bound || !pv->meta.deleting) &&
		    (bound || has || !pv->phase || !strcmp(pv->phase, "Pending"));
	char *path;
	json_t *patch;
	int rc;

	if (want == has)
		return 0;
	path = xasprintf("/api/v1/persistentvolumes/%s", pv->meta.name);
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
 * The secret for DeleteVolume: from the PV's deletion annotations when both
 * are there ("" = none; a Secret gone since is tolerated, as upstream), else
 * from the class with only the claim's name and namespace to expand.
 */
static int deletion_secrets(struct controller *c, const struct kube_pv *pv, struct csi_map *out,
			    struct err *e)
{
	const char *name = kube_strmap_get(&pv->meta.annotations, ANN_DELETION_SECRET_NAME);
	const char *ns = kube_strmap_get(&pv->meta.annotations, ANN_DELETION_SECRET_NAMESPACE);
	struct secret_ref ref = { NULL, NULL };
	struct iobj *so = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (name && ns) {
		if (!*name && !*ns)
			return 0;
		ref.name = xstrdup(name);
		ref.namespace = xstrdup(ns);
		rc = fetch_secret(c, &ref, out, e);
		if (rc == KUBE_ERR_NOT_FOUND) {
			log_warn("volume %s: %s; deleting without secrets", pv->meta.name, err_msg(e));
			rc = 0;
		}
		goto out;
	}
	so = pv->storage_class_name ? informer_get(c->classes, pv->storage_class_name) : NULL;
	if (so) {
		const struct kube_storage_class *class = iobj_data(so);
		struct secret_context ctx = { pv->meta.name, pv->claim_name, pv->claim_ns, NULL };

		rc = secret_ref_resolve(&class->parameters, SECRET_PROVISIONER, &ctx, &ref, e);
		if (!rc && ref.name)
			rc = fetch_secret(c, &ref, out, e);
	}
out:
	secret_ref_release(&ref);
	iobj_unref(so);
	return rc;
}

static enum sync_result sync_volume(struct controller *c, const char *name)
{
	struct iobj *o = informer_get(c->volumes, name);
	const struct kube_pv *pv;
	struct csi_map secrets = { NULL, 0 };
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_RETRY;
	const char *why, *labels[1] = { NULL };
	int64_t start = 0;
	char *path = NULL;
	json_t *patch = NULL;
	int rc;

	if (!o)
		return SYNC_DONE;
	pv = iobj_data(o);
	if (!plan_pv_is_ours(pv, &c->o.plan)) {
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
			char *fpath = xasprintf("/api/v1/persistentvolumes/%s", name);

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
	start = clock_now_ms();
	log_v(2, "volume %s: DeleteVolume %s", name, pv->csi_volume_handle);
	rc = csi_delete_volume(c->csi, pv->csi_volume_handle, &secrets, &e);
	if (rc) {
		log_error("volume %s: DeleteVolume %s failed, will retry: %s", name,
			  pv->csi_volume_handle, err_msg(&e));
		volume_event(c, pv, EVENT_WARNING, "VolumeFailedDelete", err_msg(&e));
		goto out;
	}
	path = xasprintf("/api/v1/persistentvolumes/%s", name);
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
		if (rc && rc != KUBE_ERR_NOT_FOUND) {
			log_error("volume %s: removing our finalizer failed, will retry: %s", name,
				  err_msg(&e));
			goto out;
		}
	}
	log_info("volume %s: deleted volume %s and its PersistentVolume", name,
		 pv->csi_volume_handle);
	count(c->delete_total, labels, 1);
	observe(c->delete_seconds, labels, (clock_now_ms() - start) / 1000.0);
	res = SYNC_DONE;
out:
	if (res != SYNC_DONE && labels[0])
		count(c->delete_failed, labels, 1);
	csi_map_release(&secrets);
	json_decref(patch);
	free(path);
	err_release(&e);
	iobj_unref(o);
	return res;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char *key;

	while (wq_get(w->q, &key) == 0) {
		switch (w->sync(w->c, key)) {
		case SYNC_DONE:
			wq_forget(w->q, key);
			break;
		case SYNC_RETRY:
			count(w->c->queue_retries, w->q == w->c->claim_q ? (const char *[]){ "claims" }
			      : (const char *[]){ "volumes" }, 1);
			wq_add_rate_limited(w->q, key);
			log_v(2, "%s: retry %u scheduled", key, wq_failures(w->q, key));
			break;
		case SYNC_RETRY_SLOW:
			wq_add_after(w->q, key, w->c->o.retry_max_ms);
			log_v(2, "%s: infeasible; next try in %lld ms", key,
			      (long long)w->c->o.retry_max_ms);
			break;
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
	pthread_mutex_init(&c->slow_mu, NULL);
	/*
	 * Events share the main client and its rate limit, as upstream's do: the
	 * one sender thread competes with all the workers, so events lag behind
	 * provisioning under load rather than adding to what the API server gets.
	 */
	c->events = event_sink_new(kube, o->component, 4096);
	c->claim_q = wq_new("claims", o->retry_start_ms, o->retry_max_ms);
	c->volume_q = wq_new("volumes", o->retry_start_ms, o->retry_max_ms);
	c->claims = informer_new(kube, &pvc_type, o->resync_ms);
	c->volumes = informer_new(kube, &pv_type, o->resync_ms);
	c->classes = informer_new(kube, &sc_type, o->resync_ms);
	informer_add_handler(c->claims, on_claim, c);
	informer_add_handler(c->volumes, on_volume, c);
	informer_add_handler(c->classes, on_class, c);
	if (o->publish_unpublish) {
		c->attachments = informer_new(kube, &va_type, o->resync_ms);
		informer_add_handler(c->attachments, on_attachment, c);
	}
	if (o->topology) {
		c->nodes = informer_new(kube, &node_type, o->resync_ms);
		c->csinodes = informer_new(kube, &csinode_type, o->resync_ms);
	}
	register_metrics(c, o->metrics);
	return c;
}

int controller_start(struct controller *c, struct err *e)
{
	/* classes, volumes and nodes first, so the first claims find them cached */
	struct informer *infs[] = { c->classes, c->volumes, c->nodes, c->csinodes, c->attachments,
				    c->claims };
	const char *names[] = { "storageclasses", "persistentvolumes", "nodes", "csinodes",
				"volumeattachments", "persistentvolumeclaims" };
	pthread_attr_t attr;
	int rc;

	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++) {
		if (!infs[i])
			continue;
		if (informer_start(infs[i], e))
			return -1;
		if (!informer_wait_synced(infs[i], SYNC_TIMEOUT_MS))
			return err_set(e, -1, "timed out waiting for the first list of %s", names[i]);
	}
	log_info("caches synced: %zu claims, %zu volumes, %zu classes",
		 informer_count(c->claims), informer_count(c->volumes), informer_count(c->classes));
	c->claim_worker = (struct worker){ c, c->claim_q, sync_claim };
	c->volume_worker = (struct worker){ c, c->volume_q, sync_volume };
	c->threads = xcalloc(2 * c->o.workers, sizeof(*c->threads));
	/* a sync is shallow: 512 KiB of stack instead of the default 8 MiB each */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	for (int i = 0; i < 2 * c->o.workers; i++) {
		rc = pthread_create(&c->threads[i], &attr, work,
				    i % 2 ? &c->volume_worker : &c->claim_worker);
		if (rc) {
			pthread_attr_destroy(&attr);
			return err_set(e, -1, "cannot start worker thread: %s", strerror(rc));
		}
		c->nthreads++;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

bool controller_synced(struct controller *c)
{
	return informer_synced(c->claims) && informer_synced(c->volumes) &&
	       informer_synced(c->classes);
}

void controller_stop(struct controller *c)
{
	informer_stop(c->claims);
	informer_stop(c->volumes);
	informer_stop(c->classes);
	if (c->nodes)
		informer_stop(c->nodes);
	if (c->csinodes)
		informer_stop(c->csinodes);
	if (c->attachments)
		informer_stop(c->attachments);
	wq_shutdown(c->claim_q);
	wq_shutdown(c->volume_q);
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
}

static void free_slow(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	slow_entry_free(value);
}

void controller_free(struct controller *c)
{
	if (!c)
		return;
	controller_stop(c);
	informer_free(c->claims);
	informer_free(c->volumes);
	informer_free(c->classes);
	informer_free(c->nodes);
	informer_free(c->csinodes);
	informer_free(c->attachments);
	event_sink_free(c->events, 2000);	/* the workers are gone: flush what they said */
	wq_free(c->claim_q);
	wq_free(c->volume_q);
	hmap_each(&c->slow, free_slow, NULL);
	hmap_release(&c->slow);
	hmap_release(&c->deleted);
	pthread_mutex_destroy(&c->slow_mu);
	free(c->threads);
	free(c);
}
