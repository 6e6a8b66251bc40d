// SPDX-License-Identifier: Apache-2.0
/*
 * request.c - the CreateVolume request of a claim (see
 * controller_internal.h): the plan, the data source (checked, and protected
 * by our finalizer while we copy from it), mutable parameters from the
 * VolumeAttributesClass, the provisioner secret, and topology requirements
 * from the caches. No state of its own; called from the claim workers.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "provision/controller_internal.h"
#include "provision/refgrant.h"


static void csi_request_init(struct csi_request *cr, const struct plan_request *r)
{
	struct csi_create_volume_req *req = &cr->req;

	memset(req, 0, sizeof(*req));
	cr->caps = xcalloc(r->n_access_modes + 1, sizeof(*cr->caps));
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
	req->parameters = r->params;	/* borrowed */
}

static void csi_request_release(struct csi_request *cr)
{
	free(cr->caps);
}

int ctl_fetch_secret(struct controller *c, const struct secret_ref *ref, struct strmap *out,
		     struct err *e)
{
	char *path;
	json_t *obj = NULL;
	struct kube_secret sec;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kube_path_object(&path, KUBE_RES_SECRET, ref->namespace, ref->name, e)))
		return rc;
	rc = kube_get(c->kube, path, &obj, e);
	free(path);
	if (rc) {
		err_prefix(e, "cannot get secret \"%s/%s\"", ref->namespace, ref->name);
		return rc;
	}
	/* the capped decoder, which wipes what it decoded when it is released */
	rc = kube_secret_decode(obj, &sec, e);
	json_decref(obj);
	if (rc)
		return rc;
	/* the decoded values move over: no second copy to wipe */
	*out = sec.data;
	memset(&sec.data, 0, sizeof(sec.data));
	kube_secret_release(&sec);
	return 0;
}

const char *ctl_selected_node(const struct kube_pvc *claim)
{
	const char *n = strmap_get(&claim->meta.annotations, ANN_SELECTED_NODE);

	if (!n || !*n)
		n = strmap_get(&claim->meta.annotations, ANN_ALPHA_SELECTED_NODE);
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
	in.selected_node_name = ctl_selected_node(claim);
	/* the annotation is the tenant's to write: a name, or nothing we look up */
	if (in.selected_node_name && kube_name_check(KUBE_RES_NODE, NULL, in.selected_node_name, e))
		return err_prefix(e, "annotation %s", ANN_SELECTED_NODE);
	in.strict = c->o.strict_topology;
	in.immediate = c->o.immediate_topology;
	if (c->o.node_name) {
		/* node deployment: as upstream, only what the driver beside us said */
		const struct kube_node *ln;
		const struct kube_csinode *lc;

		ctl_nd_topology_input(c, &in, &ln, &lc);
		return topo_requirements(&in, out, e);
	}
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

static void topo_choice_free(struct topo_choice *t)
{
	if (t) {
		free(t->node);
		topo_result_release(&t->r);
		free(t);
	}
}

static bool same_node(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * The claim's earlier choice into `out`, if one was made for the same
 * selected node (a node picked anew is a new question, which upstream's
 * cache, keyed by the claim alone, would answer with the old node's labels).
 */
static bool topo_recall(struct controller *c, const struct kube_pvc *claim,
			struct topo_result *out)
{
	struct topo_choice *t;
	bool found = false;

	if (!claim->meta.uid)
		return false;
	pthread_mutex_lock(&c->slow_mu);
	t = hmap_get(&c->topo_choices, claim->meta.uid);
	if (t && same_node(t->node, ctl_selected_node(claim))) {
		topo_result_copy(out, &t->r);
		found = true;
	}
	pthread_mutex_unlock(&c->slow_mu);
	return found;
}

static void topo_remember(struct controller *c, const struct kube_pvc *claim,
			  const struct topo_result *r)
{
	struct topo_choice *t;
	const char *node = ctl_selected_node(claim);

	if (!claim->meta.uid)
		return;
	t = xcalloc(1, sizeof(*t));
	t->node = node ? xstrdup(node) : NULL;
	topo_result_copy(&t->r, r);
	pthread_mutex_lock(&c->slow_mu);
	topo_choice_free(hmap_put(&c->topo_choices, claim->meta.uid, t));
	pthread_mutex_unlock(&c->slow_mu);
}

void ctl_topo_forget(struct controller *c, const char *uid)
{
	if (!uid)
		return;
	pthread_mutex_lock(&c->slow_mu);
	topo_choice_free(hmap_remove(&c->topo_choices, uid));
	pthread_mutex_unlock(&c->slow_mu);
}

static void free_choice(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	topo_choice_free(value);
}

void ctl_topo_choices_release(struct controller *c)
{
	hmap_each(&c->topo_choices, free_choice, NULL);
	hmap_release(&c->topo_choices);
}

int ctl_ensure_finalizer(struct controller *c, const char *path, const struct kube_meta *m,
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


void ctl_source_release(struct source *s)
{
	free(s->volume_id);
	free(s->snapshot_id);
	free(s->snapshot_path);
	memset(s, 0, sizeof(*s));
}

/*
 * The data source's name is a tenant's: refused before it can reach a path
 * or a cache key. A claim's dataSource is immutable, so this is final.
 */
static int source_name_check(const struct kube_pvc *claim, struct err *e)
{
	enum ds_kind kind = ds_kind_of(claim);

	if ((kind == DS_CLONE && kube_name_check(KUBE_RES_PVC, NULL, claim->data_source_name, e)) ||
	    (kind == DS_SNAPSHOT &&
	     kube_name_check(KUBE_RES_SNAPSHOT, NULL, claim->data_source_name, e)))
		return err_prefix(e, "data source");
	return 0;
}

#define ERR_CROSS_NS_DISABLED \
	"dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled"

/*
 * A dataSourceRef with a namespace (upstream's dataSource()): refused
 * without the CrossNamespaceVolumeDataSource gate (final: only a restart
 * with the gate changes that); with it, a source in another namespace needs
 * a ReferenceGrant there (read live: a grant made or revoked counts at the
 * next attempt). Returns 0, PREP_INVALID or PREP_FAILED with e set.
 */
/* List the ReferenceGrants of the claim's source namespace and check the claim against them. */
static int grant_check(struct controller *c, const struct kube_pvc *claim, struct err *e)
{
	const char *ns = claim->data_source_namespace;
	char *path = NULL;
	json_t *list = NULL;
	int rc;

	if (kube_path_collection(&path, KUBE_RES_REFERENCE_GRANT, ns, e)) {
		err_prefix(e, "dataSourceRef");
		return PREP_INVALID;
	}
	rc = kube_get(c->kube, path, &list, e);
	free(path);
	if (rc) {
		err_prefix(e, "error getting ReferenceGrants in %s namespace from api server", ns);
		return PREP_FAILED;
	}
	rc = refgrant_check(claim, list, e);
	json_decref(list);
	return rc ? PREP_FAILED : 0;
}

static int source_namespace_check(struct controller *c, const struct kube_pvc *claim,
				  struct err *e)
{
	const char *ns = claim->data_source_namespace;

	if (!ns || !*ns)
		return 0;
	if (!c->o.cross_namespace) {
		err_set(e, ERR_INVALID, "%s", ERR_CROSS_NS_DISABLED);
		return PREP_INVALID;
	}
	if (!strcmp(ns, claim->meta.namespace))
		return 0;
	return grant_check(c, claim, e);
}

bool ctl_source_use_allowed(struct controller *c, const struct kube_pvc *claim)
{
	const char *ns = claim->data_source_namespace;
	struct err e = ERR_INIT;
	int rc;

	if (!ns || !*ns || !strcmp(ns, claim->meta.namespace))
		return true;
	if (!c->o.cross_namespace)
		return false;
	rc = grant_check(c, claim, &e);
	/* a grant that cannot be read now keeps the protection: it may allow the use */
	if (rc == PREP_FAILED && err_is(&e, ERR_INVALID))
		rc = 1;		/* read, and no grant allows it */
	else if (rc)
		rc = 0;
	err_release(&e);
	return rc == 0;
}

/*
 * See controller_internal.h. The finalizer is set only once the intent is
 * durable: the journal then brings us back to a source we protected, even
 * if the claim vanishes.
 */
int ctl_resolve_source(struct controller *c, const struct kube_pvc *claim, struct source *out,
		       bool protect, struct err *e)
{
	const char *id;
	int rc;
	const char *ns = ds_source_namespace(claim);

	memset(out, 0, sizeof(*out));
	out->kind = ds_kind_of(claim);
	/* ctl_prepare checked the grant; without the gate, never another namespace */
	if (!c->o.cross_namespace && strcmp(ns, claim->meta.namespace))
		return err_set(e, ERR_INVALID, "%s", ERR_CROSS_NS_DISABLED);
	if ((rc = source_name_check(claim, e)))
		return rc;
	if (out->kind == DS_CLONE) {
		char *key = xasprintf("%s/%s", ns, claim->data_source_name);
		struct iobj *so = informer_get(c->claims, key), *po = NULL;
		const struct kube_pvc *src = so ? iobj_data(so) : NULL;

		free(key);
		if (!c->o.clone) {
			rc = err_set(e, ERR_INVALID, "the CSI driver cannot clone volumes (no "
				     "CLONE_VOLUME capability)");
			goto clone_out;
		}
		if (src && src->volume_name)
			po = informer_get(c->volumes, src->volume_name);
		if ((rc = ds_check_clone(claim, src, po ? iobj_data(po) : NULL, c->o.plan.driver,
					 &id, e)))
			goto clone_out;
		out->volume_id = xstrdup(id);
		rc = 0;
		if (protect) {
			char *path = ctl_claim_path(src);

			rc = ctl_ensure_finalizer(c, path, &src->meta, FINALIZER_CLONE_SOURCE, e);
			free(path);
		}
		if (rc)
			err_prefix(e, "cannot protect source claim %s/%s while cloning it", ns,
				   claim->data_source_name);
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
			return err_set(e, ERR_INVALID, "the CSI driver cannot restore snapshots (no "
				       "CREATE_DELETE_SNAPSHOT capability)");
		if ((rc = kube_path_object(&out->snapshot_path, KUBE_RES_SNAPSHOT, ns,
					   claim->data_source_name, e)))
			return rc;
		rc = kube_get(c->kube, out->snapshot_path, &sj, e);
		if (rc && rc != KUBE_ERR_NOT_FOUND)
			goto snap_out;
		have_snap = !rc && !kube_volume_snapshot_decode(sj, &snap, e);
		if (!rc && !have_snap)
			goto snap_fail;
		if (have_snap && snap.bound_content) {
			if (kube_path_object(&cpath, KUBE_RES_SNAPSHOT_CONTENT, NULL,
					     snap.bound_content, e))
				goto snap_fail;
			rc = kube_get(c->kube, cpath, &cj, e);
			if (rc && rc != KUBE_ERR_NOT_FOUND)
				goto snap_out;
			have_content = !rc && !kube_snapshot_content_decode(cj, &content, e);
			if (!rc && !have_content)
				goto snap_fail;
		}
		err_release(e);
		if ((rc = ds_check_snapshot(claim, have_snap ? &snap : NULL,
					    have_content ? &content : NULL, c->o.plan.driver,
					    c->o.prevent_volume_mode_conversion, &id, e)))
			goto snap_out;
		out->snapshot_id = xstrdup(id);
		rc = protect ? ctl_ensure_finalizer(c, out->snapshot_path, &snap.meta,
						FINALIZER_SNAPSHOT_SOURCE, e) : 0;
		if (rc == KUBE_ERR_FORBIDDEN) {
			/* upstream tolerates missing rights here: the restore still works */
			err_release(e);
			rc = 0;
		}
		goto snap_out;
snap_fail:
		/* a path or a decoder failed: e holds its code */
		rc = err_code(e) ? err_code(e) : ERR_FAILED;
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
 * `out` owns its strings; release with strmap_release.
 */
static int vac_parameters(struct controller *c, const struct kube_pvc *claim, struct strmap *out,
			  struct err *e)
{
	char *path;
	json_t *obj = NULL;
	struct kube_vac vac;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->o.plan.vac_disabled || !claim->vac_name || !*claim->vac_name)
		return 0;
	if (!c->o.modify_volume)
		return err_set(e, ERR_INVALID, "the claim names VolumeAttributesClass %s but the CSI driver "
			       "cannot modify volumes (no MODIFY_VOLUME capability)", claim->vac_name);
	memset(&vac, 0, sizeof(vac));
	if ((rc = kube_path_object(&path, KUBE_RES_VAC, NULL, claim->vac_name, e)))
		return rc;
	rc = kube_get(c->kube, path, &obj, e);
	free(path);
	if (rc) {
		err_prefix(e, "cannot get VolumeAttributesClass %s", claim->vac_name);
		return rc;
	}
	rc = kube_vac_decode(obj, &vac, e);
	json_decref(obj);
	if (!rc && (!vac.driver_name || strcmp(vac.driver_name, c->o.plan.driver)))
		rc = err_set(e, ERR_INVALID, "VolumeAttributesClass %s is for driver %s, not %s",
			     claim->vac_name, vac.driver_name ? vac.driver_name : "?", c->o.plan.driver);
	if (!rc) {
		*out = vac.parameters;	/* moved */
		memset(&vac.parameters, 0, sizeof(vac.parameters));
	}
	kube_vac_release(&vac);
	return rc;
}


void ctl_prepared_release(struct prepared *p)
{
	csi_request_release(&p->cr);
	strmap_release_secret(&p->secrets);
	strmap_release(&p->mutable_params);
	topo_result_release(&p->topo);
	ctl_source_release(&p->src);
	plan_request_release(&p->r);
	kube_storage_class_release(&p->migrated_class);
	memset(p, 0, sizeof(*p));
}

/* See controller_internal.h. The volume name comes from the claim UID only. */
enum prep_result ctl_prepare(struct controller *c, const struct kube_pvc *claim,
			     const struct kube_storage_class *class, bool settling,
			     struct prepared *p, struct err *e)
{
	int trc;

	memset(p, 0, sizeof(*p));
	p->step = PREP_STEP_PLAN;
	if (ctl_class_for_driver(c, class, &p->migrated_class, &class, e))
		return PREP_FAILED;
	if (plan_create_request(claim, class, &c->o.plan, &p->r, e))
		return PREP_FAILED;
	/* before the populator case, as upstream: a refused reference is refused for all kinds */
	if ((trc = source_namespace_check(c, claim, e)))
		return trc;
	if (ds_kind_of(claim) == DS_EXTERNAL)
		return PREP_EXTERNAL;
	p->step = PREP_STEP_SOURCE;
	if (source_name_check(claim, e))
		return PREP_INVALID;
	csi_request_init(&p->cr, &p->r);
	if (ctl_resolve_source(c, claim, &p->src, false, e))
		return PREP_FAILED;
	p->cr.req.source_volume_id = p->src.volume_id;
	p->cr.req.source_snapshot_id = p->src.snapshot_id;
	p->step = PREP_STEP_VAC;
	if (vac_parameters(c, claim, &p->mutable_params, e))
		return PREP_FAILED;
	p->cr.req.mutable_parameters = p->mutable_params;
	p->step = PREP_STEP_SECRET;
	if (p->r.secrets[SECRET_PROVISIONER].name) {
		int rc = ctl_fetch_secret(c, &p->r.secrets[SECRET_PROVISIONER], &p->secrets, e);

		if (rc == KUBE_ERR_NOT_FOUND && settling) {
			log_warn("%s; asking the driver without secrets", err_msg(e));
			err_release(e);
		} else if (rc) {
			return PREP_FAILED;
		}
	}
	p->cr.req.secrets = p->secrets;
	p->step = PREP_STEP_TOPOLOGY;
	if (!c->o.topology)
		goto done;
	/* settling a claim that is going away: nothing to keep for its retries */
	if (settling || !topo_recall(c, claim, &p->topo)) {
		trc = claim_topology(c, claim, class, &p->topo, e);
		if (trc == TOPO_ERR_RESCHEDULE)
			return PREP_RESCHEDULE;
		if (trc)
			return PREP_FAILED;
		if (!settling)
			topo_remember(c, claim, &p->topo);
	}
	p->cr.req.requisite = p->topo.requisite;
	p->cr.req.n_requisite = p->topo.n_requisite;
	p->cr.req.preferred = p->topo.preferred;
	p->cr.req.n_preferred = p->topo.n_preferred;
done:
	p->step = PREP_STEP_DONE;
	return PREP_OK;
}

/*
 * Our finalizer protects a VolumeSnapshot while some pending claim restores
 * from it. Once none does (restored, deleted, or gone elsewhere), it goes.
 * Runs for "snapshot:ns/name" keys, queued whenever such a claim changes.
 */
enum sync_result ctl_sync_snapshot_source(struct controller *c, const char *ns_name)
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
			 p->meta.namespace && !strcmp(ds_source_namespace(p), ns) && !p->meta.deleting &&
			 !(p->volume_name && *p->volume_name) && ctl_source_use_allowed(c, p);
	}
	informer_list_free(all, n);
	if (in_use)
		goto out;
	if (kube_path_object(&path, KUBE_RES_SNAPSHOT, ns, name, &e)) {
		log_error("snapshot %s: %s", ns_name, err_msg(&e));
		goto out;
	}
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

/*
 * A source claim being deleted keeps our cloning finalizer while any
 * pending claim still clones it; then the finalizer goes.
 */
enum sync_result ctl_release_clone_source(struct controller *c, const struct kube_pvc *source,
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
			 p->meta.namespace &&
			 !strcmp(ds_source_namespace(p), source->meta.namespace) &&
			 !(p->volume_name && *p->volume_name) && ctl_source_use_allowed(c, p);
	}
	informer_list_free(all, n);
	if (in_use) {
		log_v(2, "claim %s: still the source of a pending clone; keeping it", key);
		return SYNC_DONE;	/* the clone's progress requeues us */
	}
	patch = plan_unmark_patch(&source->meta, FINALIZER_CLONE_SOURCE, NULL);
	path = ctl_claim_path(source);
	if (patch && kube_patch(c->kube, path, "application/json-patch+json", patch, NULL, &e) &&
	    !err_is(&e, KUBE_ERR_NOT_FOUND)) {
		/* the patch tests the finalizer where our cached copy has it: 422 when it moved */
		if (err_is(&e, KUBE_ERR_INVALID))
			log_v(2, "claim %s: its finalizers changed since our cached copy; retrying "
			      "the cloning finalizer's removal: %s", key, err_msg(&e));
		else
			log_error("claim %s: removing the cloning finalizer failed, will retry: %s",
				  key, err_msg(&e));
		res = SYNC_RETRY;
	}
	json_decref(patch);
	free(path);
	err_release(&e);
	return res;
}
