// SPDX-License-Identifier: Apache-2.0
/*
 * objects.c - decode the claim-side Kubernetes objects (PersistentVolumeClaim,
 * PersistentVolume with its node affinity, StorageClass with its allowed
 * topologies) from jansson trees into compact structs (see objects.h).
 *
 * Every field goes through one of the typed getters of objects_dec.c; the
 * other objects' decoders are in objects_cluster.c.
 */
#include "kube/objects_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/status.h"

void kube_pvc_release(struct kube_pvc *p)
{
	if (!p)
		return;
	kube_meta_release(&p->meta);
	free(p->storage_class_name);
	dec_strv_free(p->access_modes, p->n_access_modes);
	free(p->volume_name);
	free(p->volume_mode);
	free(p->data_source_kind);
	free(p->data_source_api_group);
	free(p->data_source_name);
	free(p->data_source_namespace);
	free(p->vac_name);
	free(p->phase);
	memset(p, 0, sizeof(*p));
}

int kube_pvc_decode(json_t *obj, struct kube_pvc *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = dec_describe("persistentvolumeclaim", obj);
	json_t *spec, *status, *res, *req, *lim, *sel, *ds, *dsref, *scap;
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = dec_meta(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_obj(&d, obj, "", "status", &status)) ||
	    (rc = dec_str(&d, spec, "spec", "storageClassName", &out->storage_class_name)) ||
	    (rc = dec_strlist(&d, spec, "spec", "accessModes", &out->access_modes,
			      &out->n_access_modes)) ||
	    (rc = dec_obj(&d, spec, "spec", "resources", &res)) ||
	    (rc = dec_obj(&d, res, "spec.resources", "requests", &req)) ||
	    (rc = dec_quantity(&d, req, "spec.resources.requests", "storage",
			       &out->request_bytes, &out->has_request)) ||
	    (rc = dec_obj(&d, res, "spec.resources", "limits", &lim)) ||
	    (rc = dec_quantity(&d, lim, "spec.resources.limits", "storage",
			       &out->limit_bytes, &out->has_limit)) ||
	    (rc = dec_str(&d, spec, "spec", "volumeName", &out->volume_name)) ||
	    (rc = dec_str(&d, spec, "spec", "volumeMode", &out->volume_mode)) ||
	    (rc = dec_obj(&d, spec, "spec", "selector", &sel)) ||
	    (rc = dec_obj(&d, spec, "spec", "dataSource", &ds)) ||
	    (rc = dec_obj(&d, spec, "spec", "dataSourceRef", &dsref)) ||
	    (rc = dec_str(&d, spec, "spec", "volumeAttributesClassName", &out->vac_name)) ||
	    (rc = dec_str(&d, status, "status", "phase", &out->phase)) ||
	    (rc = dec_obj(&d, status, "status", "capacity", &scap)) ||
	    (rc = dec_quantity(&d, scap, "status.capacity", "storage",
			       &out->status_capacity_bytes, &out->has_status_capacity)))
		goto out;
	out->has_selector = sel != NULL;
	if (dsref) {
		if ((rc = dec_str(&d, dsref, "spec.dataSourceRef", "kind", &out->data_source_kind)) ||
		    (rc = dec_str(&d, dsref, "spec.dataSourceRef", "apiGroup",
				  &out->data_source_api_group)) ||
		    (rc = dec_str(&d, dsref, "spec.dataSourceRef", "name", &out->data_source_name)) ||
		    (rc = dec_str(&d, dsref, "spec.dataSourceRef", "namespace",
				  &out->data_source_namespace)))
			goto out;
	} else if (ds) {
		if ((rc = dec_str(&d, ds, "spec.dataSource", "kind", &out->data_source_kind)) ||
		    (rc = dec_str(&d, ds, "spec.dataSource", "apiGroup",
				  &out->data_source_api_group)) ||
		    (rc = dec_str(&d, ds, "spec.dataSource", "name", &out->data_source_name)))
			goto out;
	}
out:
	if (rc)
		kube_pvc_release(out);
	free(what);
	return rc;
}

void kube_pv_release(struct kube_pv *p)
{
	if (!p)
		return;
	kube_meta_release(&p->meta);
	kube_pv_intree_release(&p->intree);
	free(p->csi_driver);
	free(p->csi_volume_handle);
	free(p->reclaim_policy);
	free(p->phase);
	free(p->claim_ns);
	free(p->claim_name);
	free(p->claim_uid);
	free(p->claim_rv);
	free(p->storage_class_name);
	kube_topology_terms_free(p->affinity, p->n_affinity);
	memset(p, 0, sizeof(*p));
}

static int dec_affinity_terms(struct dec *d, json_t *aff, struct kube_topology_term **out,
			      size_t *n);

int kube_pv_decode(json_t *obj, struct kube_pv *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = dec_describe("persistentvolume", obj);
	json_t *spec, *status, *csi, *claim, *cap, *aff;
	bool has_cap;
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = dec_meta(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_obj(&d, obj, "", "status", &status)) ||
	    (rc = dec_obj(&d, spec, "spec", "csi", &csi)) ||
	    (rc = dec_str(&d, csi, "spec.csi", "driver", &out->csi_driver)) ||
	    (rc = dec_str(&d, csi, "spec.csi", "volumeHandle", &out->csi_volume_handle)) ||
	    (rc = dec_str(&d, spec, "spec", "persistentVolumeReclaimPolicy",
			  &out->reclaim_policy)) ||
	    (rc = dec_str(&d, status, "status", "phase", &out->phase)) ||
	    (rc = dec_obj(&d, spec, "spec", "claimRef", &claim)) ||
	    (rc = dec_str(&d, claim, "spec.claimRef", "namespace", &out->claim_ns)) ||
	    (rc = dec_str(&d, claim, "spec.claimRef", "name", &out->claim_name)) ||
	    (rc = dec_str(&d, claim, "spec.claimRef", "uid", &out->claim_uid)) ||
	    (rc = dec_str(&d, claim, "spec.claimRef", "resourceVersion", &out->claim_rv)) ||
	    (rc = dec_str(&d, spec, "spec", "storageClassName", &out->storage_class_name)) ||
	    (rc = dec_obj(&d, spec, "spec", "capacity", &cap)) ||
	    (rc = dec_quantity(&d, cap, "spec.capacity", "storage", &out->capacity_bytes,
			       &has_cap)) ||
	    (rc = dec_obj(&d, spec, "spec", "nodeAffinity", &aff)) ||
	    (rc = dec_affinity_terms(&d, aff, &out->affinity, &out->n_affinity)) ||
	    (rc = kube_pv_intree_decode(spec, what, &out->intree, e)))
		goto out;
	out->has_node_affinity = aff != NULL;
out:
	if (rc)
		kube_pv_release(out);
	free(what);
	return rc;
}

void kube_topology_terms_free(struct kube_topology_term *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < t[i].n_reqs; j++) {
			free(t[i].reqs[j].key);
			free(t[i].reqs[j].op);
			dec_strv_free(t[i].reqs[j].values, t[i].reqs[j].n_values);
		}
		free(t[i].reqs);
	}
	free(t);
}

/* allowedTopologies[].matchLabelExpressions[] {key, values[]} */
static int dec_topology_terms(struct dec *d, json_t *obj, struct kube_topology_term **out,
			      size_t *n)
{
	json_t *terms, *term, *exprs, *ex;
	size_t i, j;
	char *path = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = dec_arr(d, obj, "", "allowedTopologies", &terms)) || !terms)
		return rc;
	*out = xcalloc(json_array_size(terms) + 1, sizeof(**out));
	json_array_foreach(terms, i, term) {
		struct kube_topology_term *t = &(*out)[(*n)++];

		free(path);
		path = xasprintf("allowedTopologies[%zu]", i);
		if ((rc = dec_item_obj(d, "allowedTopologies", i, term)) ||
		    (rc = dec_arr(d, term, path, "matchLabelExpressions", &exprs)))
			goto out;
		if (!exprs)
			continue;
		t->reqs = xcalloc(json_array_size(exprs) + 1, sizeof(*t->reqs));
		json_array_foreach(exprs, j, ex) {
			struct kube_label_req *r = &t->reqs[t->n_reqs++];
			char *epath = xasprintf("%s.matchLabelExpressions", path);
			char *ipath = xasprintf("%s[%zu]", epath, j);

			if (!(rc = dec_item_obj(d, epath, j, ex)) &&
			    !(rc = dec_str(d, ex, ipath, "key", &r->key)))
				rc = dec_strlist(d, ex, ipath, "values", &r->values, &r->n_values);
			free(epath);
			free(ipath);
			if (rc)
				goto out;
		}
	}
out:
	free(path);
	if (rc) {
		kube_topology_terms_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* nodeAffinity.required.nodeSelectorTerms[] {matchExpressions[], matchFields[]} */
static int dec_affinity_terms(struct dec *d, json_t *aff, struct kube_topology_term **out,
			      size_t *n)
{
	const char *tp = "spec.nodeAffinity.required.nodeSelectorTerms";
	json_t *req, *terms, *term, *exprs, *fields, *ex;
	size_t i, j;
	char *path = NULL, *ipath = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = dec_obj(d, aff, "spec.nodeAffinity", "required", &req)) || !req ||
	    (rc = dec_arr(d, req, "spec.nodeAffinity.required", "nodeSelectorTerms", &terms)) ||
	    !terms)
		return rc;
	*out = xcalloc(json_array_size(terms) + 1, sizeof(**out));
	json_array_foreach(terms, i, term) {
		struct kube_topology_term *t = &(*out)[(*n)++];

		free(path);
		path = xasprintf("%s[%zu]", tp, i);
		if ((rc = dec_item_obj(d, tp, i, term)) ||
		    (rc = dec_arr(d, term, path, "matchExpressions", &exprs)) ||
		    (rc = dec_arr(d, term, path, "matchFields", &fields)))
			goto out;
		t->reqs = xcalloc((exprs ? json_array_size(exprs) : 0) + 2, sizeof(*t->reqs));
		if (fields && json_array_size(fields))
			t->reqs[t->n_reqs++].op = xstrdup("matchFields");
		if (!exprs)
			continue;
		json_array_foreach(exprs, j, ex) {
			struct kube_label_req *r = &t->reqs[t->n_reqs++];

			free(ipath);
			ipath = xasprintf("%s.matchExpressions[%zu]", path, j);
			if ((rc = dec_item_obj(d, "matchExpressions", j, ex)) ||
			    (rc = dec_str(d, ex, ipath, "key", &r->key)) ||
			    (rc = dec_str(d, ex, ipath, "operator", &r->op)) ||
			    (rc = dec_strlist(d, ex, ipath, "values", &r->values, &r->n_values)))
				goto out;
		}
	}
out:
	free(path);
	free(ipath);
	if (rc) {
		kube_topology_terms_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void kube_storage_class_release(struct kube_storage_class *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->provisioner);
	strmap_release(&s->parameters);
	free(s->reclaim_policy);
	free(s->volume_binding_mode);
	dec_strv_free(s->mount_options, s->n_mount_options);
	kube_topology_terms_free(s->allowed_topologies, s->n_allowed_topologies);
	memset(s, 0, sizeof(*s));
}

int kube_storage_class_decode(json_t *obj, struct kube_storage_class *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = dec_describe("storageclass", obj);
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = dec_meta(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = dec_str(&d, obj, "", "provisioner", &out->provisioner)) ||
	    (rc = dec_strmap(&d, obj, "", "parameters", &out->parameters)) ||
	    (rc = dec_str(&d, obj, "", "reclaimPolicy", &out->reclaim_policy)) ||
	    (rc = dec_str(&d, obj, "", "volumeBindingMode", &out->volume_binding_mode)) ||
	    (rc = dec_strlist(&d, obj, "", "mountOptions", &out->mount_options,
			      &out->n_mount_options)) ||
	    (rc = dec_bool(&d, obj, "", "allowVolumeExpansion", &out->allow_volume_expansion)) ||
	    (rc = dec_topology_terms(&d, obj, &out->allowed_topologies,
				     &out->n_allowed_topologies)))
		goto out;
	if (!out->reclaim_policy)
		out->reclaim_policy = xstrdup("Delete");
	if (!out->volume_binding_mode)
		out->volume_binding_mode = xstrdup("Immediate");
out:
	if (rc)
		kube_storage_class_release(out);
	free(what);
	return rc;
}
