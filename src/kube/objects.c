// SPDX-License-Identifier: Apache-2.0
/*
 * objects.c - decode the Kubernetes objects a provisioner reads from
 * jansson trees into compact structs (see objects.h).
 *
 * Every field goes through one of the typed getters below; each takes the
 * dotted path of the parent so a type error can name the exact field.
 */
#include "kube/objects.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "kube/kubeconfig.h"
#include "kube/quantity.h"
#include "kube/status.h"

/*
 * kubectl apply's copy of the whole object: often the largest annotation,
 * never read by a provisioner (and never a valid secret name for a
 * template), so the cache does not keep it.
 */
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

struct dec {
	const char *what;	/* "persistentvolumeclaim 'ns/name'" */
	struct err *e;
};

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int wrong_type(struct dec *d, const char *prefix, const char *key, json_t *v,
		      const char *want)
{
	return err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s is %s, want %s", d->what,
		       prefix, *prefix ? "." : "", key, type_name(v), want);
}

/* Absent or null fields are unset: these return 0 with *out empty. */
static int get_obj(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return wrong_type(d, prefix, key, v, "an object");
	*out = v;
	return 0;
}

static int get_str(struct dec *d, json_t *o, const char *prefix, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return wrong_type(d, prefix, key, v, "a string");
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

static int get_bool(struct dec *d, json_t *o, const char *prefix, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(d, prefix, key, v, "a boolean");
	*out = json_is_true(v);
	return 0;
}

static int get_int(struct dec *d, json_t *o, const char *prefix, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return wrong_type(d, prefix, key, v, "an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int get_strlist(struct dec *d, json_t *o, const char *prefix, const char *key,
		       char ***out, size_t *n)
{
	json_t *v = json_object_get(o, key), *item;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wrong_type(d, prefix, key, v, "a list of strings");
	if (!json_array_size(v))
		return 0;
	*out = xcalloc(json_array_size(v), sizeof(char *));
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			int rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s[%zu] is %s, want a string",
					 d->what, prefix, *prefix ? "." : "", key, i,
					 type_name(item));

			free_strv(*out, *n);
			*out = NULL;
			*n = 0;
			return rc;
		}
		(*out)[(*n)++] = xstrndup(json_string_value(item), json_string_length(item));
	}
	return 0;
}

/* A map of strings; an entry whose key is `skip` (may be NULL) is not kept. */
static int get_strmap_skip(struct dec *d, json_t *o, const char *prefix, const char *key,
			   const char *skip, struct kube_strmap *m)
{
	json_t *v = json_object_get(o, key), *val;
	const char *k;

	memset(m, 0, sizeof(*m));
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return wrong_type(d, prefix, key, v, "a map of strings");
	if (!json_object_size(v))
		return 0;
	m->keys = xcalloc(json_object_size(v), sizeof(char *));
	m->values = xcalloc(json_object_size(v), sizeof(char *));
	json_object_foreach(v, k, val) {
		if (!json_is_string(val)) {
			int rc = err_set(d->e, KUBE_ERR_DECODE,
					 "%s: %s%s%s['%s'] is %s, want a string", d->what,
					 prefix, *prefix ? "." : "", key, k, type_name(val));

			kube_strmap_release(m);
			return rc;
		}
		if (skip && !strcmp(k, skip))
			continue;
		m->keys[m->n] = xstrdup(k);
		m->values[m->n] = xstrndup(json_string_value(val), json_string_length(val));
		m->n++;
	}
	return 0;
}

static int get_strmap(struct dec *d, json_t *o, const char *prefix, const char *key,
		      struct kube_strmap *m)
{
	return get_strmap_skip(d, o, prefix, key, NULL, m);
}

/* A quantity (string, or a number as the API server also accepts) in bytes. */
static int get_quantity(struct dec *d, json_t *o, const char *prefix, const char *key,
			int64_t *out, bool *has)
{
	json_t *v = json_object_get(o, key);
	struct err qe = ERR_INIT;
	char *s;
	int rc;

	*out = 0;
	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		*has = true;
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(d, prefix, key, v, "a quantity string");
	s = xstrndup(json_string_value(v), json_string_length(v));
	rc = kube_quantity_parse(s, out, &qe);
	free(s);
	if (rc) {
		/* Not err_set(d->e, ..., err_msg(d->e)): it frees the old message first. */
		rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s: %s", d->what, prefix,
			     *prefix ? "." : "", key, err_msg(&qe));
		err_release(&qe);
		return rc;
	}
	*has = true;
	return 0;
}

const char *kube_strmap_get(const struct kube_strmap *m, const char *key)
{
	size_t i;

	if (!m)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key))
			return m->values[i];
	return NULL;
}

void kube_strmap_release(struct kube_strmap *m)
{
	if (!m)
		return;
	free_strv(m->keys, m->n);
	free_strv(m->values, m->n);
	memset(m, 0, sizeof(*m));
}

void kube_meta_release(struct kube_meta *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->namespace);
	free(m->uid);
	free(m->resource_version);
	kube_strmap_release(&m->annotations);
	kube_strmap_release(&m->labels);
	free_strv(m->finalizers, m->n_finalizers);
	memset(m, 0, sizeof(*m));
}

static int meta_decode(struct dec *d, json_t *md, struct kube_meta *m)
{
	json_t *ts;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(md))
		return err_set(d->e, KUBE_ERR_DECODE, "%s: metadata is %s, want an object",
			       d->what, md ? type_name(md) : "missing");
	ts = json_object_get(md, "deletionTimestamp");
	if ((rc = get_str(d, md, "metadata", "name", &m->name)) ||
	    (rc = get_str(d, md, "metadata", "namespace", &m->namespace)) ||
	    (rc = get_str(d, md, "metadata", "uid", &m->uid)) ||
	    (rc = get_str(d, md, "metadata", "resourceVersion", &m->resource_version)) ||
	    (rc = get_int(d, md, "metadata", "generation", &m->generation)) ||
	    (rc = get_strmap_skip(d, md, "metadata", "annotations", ANN_LAST_APPLIED,
				  &m->annotations)) ||
	    (rc = get_strmap(d, md, "metadata", "labels", &m->labels)) ||
	    (rc = get_strlist(d, md, "metadata", "finalizers", &m->finalizers,
			      &m->n_finalizers)))
		goto out;
	if (ts && !json_is_null(ts) && !json_is_string(ts)) {
		rc = wrong_type(d, "metadata", "deletionTimestamp", ts, "a string");
		goto out;
	}
	m->deleting = json_is_string(ts);
out:
	if (rc)
		kube_meta_release(m);
	return rc;
}

int kube_meta_decode(json_t *md, const char *what, struct kube_meta *out, struct err *e)
{
	struct dec d = { what ? what : "object", e };

	return meta_decode(&d, md, out);
}

/* "kind 'ns/name'" or "kind 'name'" from the raw tree, for messages. */
static char *describe(const char *kind, json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));

	if (!json_is_object(obj))
		return xasprintf("%s (not an object)", kind);
	if (ns && name)
		return xasprintf("%s '%s/%s'", kind, ns, name);
	return xasprintf("%s '%s'", kind, name ? name : "?");
}

void kube_pvc_release(struct kube_pvc *p)
{
	if (!p)
		return;
	kube_meta_release(&p->meta);
	free(p->storage_class_name);
	free_strv(p->access_modes, p->n_access_modes);
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
	char *what = describe("persistentvolumeclaim", obj);
	json_t *spec, *status, *res, *req, *lim, *sel, *ds, *dsref, *scap;
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = meta_decode(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_obj(&d, obj, "", "status", &status)) ||
	    (rc = get_str(&d, spec, "spec", "storageClassName", &out->storage_class_name)) ||
	    (rc = get_strlist(&d, spec, "spec", "accessModes", &out->access_modes,
			      &out->n_access_modes)) ||
	    (rc = get_obj(&d, spec, "spec", "resources", &res)) ||
	    (rc = get_obj(&d, res, "spec.resources", "requests", &req)) ||
	    (rc = get_quantity(&d, req, "spec.resources.requests", "storage",
			       &out->request_bytes, &out->has_request)) ||
	    (rc = get_obj(&d, res, "spec.resources", "limits", &lim)) ||
	    (rc = get_quantity(&d, lim, "spec.resources.limits", "storage",
			       &out->limit_bytes, &out->has_limit)) ||
	    (rc = get_str(&d, spec, "spec", "volumeName", &out->volume_name)) ||
	    (rc = get_str(&d, spec, "spec", "volumeMode", &out->volume_mode)) ||
	    (rc = get_obj(&d, spec, "spec", "selector", &sel)) ||
	    (rc = get_obj(&d, spec, "spec", "dataSource", &ds)) ||
	    (rc = get_obj(&d, spec, "spec", "dataSourceRef", &dsref)) ||
	    (rc = get_str(&d, spec, "spec", "volumeAttributesClassName", &out->vac_name)) ||
	    (rc = get_str(&d, status, "status", "phase", &out->phase)) ||
	    (rc = get_obj(&d, status, "status", "capacity", &scap)) ||
	    (rc = get_quantity(&d, scap, "status.capacity", "storage",
			       &out->status_capacity_bytes, &out->has_status_capacity)))
		goto out;
	out->has_selector = sel != NULL;
	if (dsref) {
		if ((rc = get_str(&d, dsref, "spec.dataSourceRef", "kind", &out->data_source_kind)) ||
		    (rc = get_str(&d, dsref, "spec.dataSourceRef", "apiGroup",
				  &out->data_source_api_group)) ||
		    (rc = get_str(&d, dsref, "spec.dataSourceRef", "name", &out->data_source_name)) ||
		    (rc = get_str(&d, dsref, "spec.dataSourceRef", "namespace",
				  &out->data_source_namespace)))
			goto out;
	} else if (ds) {
		if ((rc = get_str(&d, ds, "spec.dataSource", "kind", &out->data_source_kind)) ||
		    (rc = get_str(&d, ds, "spec.dataSource", "apiGroup",
				  &out->data_source_api_group)) ||
		    (rc = get_str(&d, ds, "spec.dataSource", "name", &out->data_source_name)))
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

static int get_affinity_terms(struct dec *d, json_t *aff, struct kube_topology_term **out,
			      size_t *n);

int kube_pv_decode(json_t *obj, struct kube_pv *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = describe("persistentvolume", obj);
	json_t *spec, *status, *csi, *claim, *cap, *aff;
	bool has_cap;
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = meta_decode(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_obj(&d, obj, "", "status", &status)) ||
	    (rc = get_obj(&d, spec, "spec", "csi", &csi)) ||
	    (rc = get_str(&d, csi, "spec.csi", "driver", &out->csi_driver)) ||
	    (rc = get_str(&d, csi, "spec.csi", "volumeHandle", &out->csi_volume_handle)) ||
	    (rc = get_str(&d, spec, "spec", "persistentVolumeReclaimPolicy",
			  &out->reclaim_policy)) ||
	    (rc = get_str(&d, status, "status", "phase", &out->phase)) ||
	    (rc = get_obj(&d, spec, "spec", "claimRef", &claim)) ||
	    (rc = get_str(&d, claim, "spec.claimRef", "namespace", &out->claim_ns)) ||
	    (rc = get_str(&d, claim, "spec.claimRef", "name", &out->claim_name)) ||
	    (rc = get_str(&d, claim, "spec.claimRef", "uid", &out->claim_uid)) ||
	    (rc = get_str(&d, claim, "spec.claimRef", "resourceVersion", &out->claim_rv)) ||
	    (rc = get_str(&d, spec, "spec", "storageClassName", &out->storage_class_name)) ||
	    (rc = get_obj(&d, spec, "spec", "capacity", &cap)) ||
	    (rc = get_quantity(&d, cap, "spec.capacity", "storage", &out->capacity_bytes,
			       &has_cap)) ||
	    (rc = get_obj(&d, spec, "spec", "nodeAffinity", &aff)) ||
	    (rc = get_affinity_terms(&d, aff, &out->affinity, &out->n_affinity)) ||
	    (rc = kube_pv_intree_decode(spec, what, &out->intree, e)))
		goto out;
	out->has_node_affinity = aff != NULL;
out:
	if (rc)
		kube_pv_release(out);
	free(what);
	return rc;
}

/* A list field: absent/null is NULL, anything else but a list is an error. */
static int get_arr(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wrong_type(d, prefix, key, v, "a list");
	*out = v;
	return 0;
}

/* Item i of list `path` must be an object: "spec.drivers[2] is a string". */
static int item_obj(struct dec *d, const char *path, size_t i, json_t *item)
{
	if (json_is_object(item))
		return 0;
	return err_set(d->e, KUBE_ERR_DECODE, "%s: %s[%zu] is %s, want an object", d->what,
		       path, i, type_name(item));
}

void kube_topology_terms_free(struct kube_topology_term *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < t[i].n_reqs; j++) {
			free(t[i].reqs[j].key);
			free(t[i].reqs[j].op);
			free_strv(t[i].reqs[j].values, t[i].reqs[j].n_values);
		}
		free(t[i].reqs);
	}
	free(t);
}

/* allowedTopologies[].matchLabelExpressions[] {key, values[]} */
static int get_topology_terms(struct dec *d, json_t *obj, struct kube_topology_term **out,
			      size_t *n)
{
	json_t *terms, *term, *exprs, *ex;
	size_t i, j;
	char *path = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = get_arr(d, obj, "", "allowedTopologies", &terms)) || !terms)
		return rc;
	*out = xcalloc(json_array_size(terms) + 1, sizeof(**out));
	json_array_foreach(terms, i, term) {
		struct kube_topology_term *t = &(*out)[(*n)++];

		free(path);
		path = xasprintf("allowedTopologies[%zu]", i);
		if ((rc = item_obj(d, "allowedTopologies", i, term)) ||
		    (rc = get_arr(d, term, path, "matchLabelExpressions", &exprs)))
			goto out;
		if (!exprs)
			continue;
		t->reqs = xcalloc(json_array_size(exprs) + 1, sizeof(*t->reqs));
		json_array_foreach(exprs, j, ex) {
			struct kube_label_req *r = &t->reqs[t->n_reqs++];
			char *epath = xasprintf("%s.matchLabelExpressions", path);
			char *ipath = xasprintf("%s[%zu]", epath, j);

			if (!(rc = item_obj(d, epath, j, ex)) &&
			    !(rc = get_str(d, ex, ipath, "key", &r->key)))
				rc = get_strlist(d, ex, ipath, "values", &r->values, &r->n_values);
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
static int get_affinity_terms(struct dec *d, json_t *aff, struct kube_topology_term **out,
			      size_t *n)
{
	const char *tp = "spec.nodeAffinity.required.nodeSelectorTerms";
	json_t *req, *terms, *term, *exprs, *fields, *ex;
	size_t i, j;
	char *path = NULL, *ipath = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = get_obj(d, aff, "spec.nodeAffinity", "required", &req)) || !req ||
	    (rc = get_arr(d, req, "spec.nodeAffinity.required", "nodeSelectorTerms", &terms)) ||
	    !terms)
		return rc;
	*out = xcalloc(json_array_size(terms) + 1, sizeof(**out));
	json_array_foreach(terms, i, term) {
		struct kube_topology_term *t = &(*out)[(*n)++];

		free(path);
		path = xasprintf("%s[%zu]", tp, i);
		if ((rc = item_obj(d, tp, i, term)) ||
		    (rc = get_arr(d, term, path, "matchExpressions", &exprs)) ||
		    (rc = get_arr(d, term, path, "matchFields", &fields)))
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
			if ((rc = item_obj(d, "matchExpressions", j, ex)) ||
			    (rc = get_str(d, ex, ipath, "key", &r->key)) ||
			    (rc = get_str(d, ex, ipath, "operator", &r->op)) ||
			    (rc = get_strlist(d, ex, ipath, "values", &r->values, &r->n_values)))
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
	kube_strmap_release(&s->parameters);
	free(s->reclaim_policy);
	free(s->volume_binding_mode);
	free_strv(s->mount_options, s->n_mount_options);
	kube_topology_terms_free(s->allowed_topologies, s->n_allowed_topologies);
	memset(s, 0, sizeof(*s));
}

int kube_storage_class_decode(json_t *obj, struct kube_storage_class *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = describe("storageclass", obj);
	int rc;

	d.what = what;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		rc = err_set(e, KUBE_ERR_DECODE, "%s", what);
		goto out;
	}
	if ((rc = meta_decode(&d, json_object_get(obj, "metadata"), &out->meta)) ||
	    (rc = get_str(&d, obj, "", "provisioner", &out->provisioner)) ||
	    (rc = get_strmap(&d, obj, "", "parameters", &out->parameters)) ||
	    (rc = get_str(&d, obj, "", "reclaimPolicy", &out->reclaim_policy)) ||
	    (rc = get_str(&d, obj, "", "volumeBindingMode", &out->volume_binding_mode)) ||
	    (rc = get_strlist(&d, obj, "", "mountOptions", &out->mount_options,
			      &out->n_mount_options)) ||
	    (rc = get_bool(&d, obj, "", "allowVolumeExpansion", &out->allow_volume_expansion)) ||
	    (rc = get_topology_terms(&d, obj, &out->allowed_topologies,
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

/*
 * The common start of every decoder below: name the object for messages
 * (*what, which the caller frees), require a JSON object, decode metadata.
 */
static int begin(struct dec *d, const char *kind, json_t *obj, char **what,
		 struct kube_meta *meta, struct err *e)
{
	*what = describe(kind, obj);
	d->what = *what;
	d->e = e;
	if (!json_is_object(obj))
		return err_set(e, KUBE_ERR_DECODE, "%s", *what);
	return meta_decode(d, json_object_get(obj, "metadata"), meta);
}

/* ---- Node ---- */

void kube_node_release(struct kube_node *n)
{
	if (!n)
		return;
	kube_meta_release(&n->meta);
	memset(n, 0, sizeof(*n));
}

int kube_node_decode(json_t *obj, struct kube_node *out, struct err *e)
{
	struct dec d;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = begin(&d, "node", obj, &what, &out->meta, e);
	if (rc)
		kube_node_release(out);
	free(what);
	return rc;
}

/* ---- CSINode ---- */

void kube_csinode_release(struct kube_csinode *n)
{
	size_t i;

	if (!n)
		return;
	kube_meta_release(&n->meta);
	for (i = 0; i < n->n_drivers; i++) {
		free(n->drivers[i].name);
		free(n->drivers[i].node_id);
		free_strv(n->drivers[i].topology_keys, n->drivers[i].n_topology_keys);
	}
	free(n->drivers);
	memset(n, 0, sizeof(*n));
}

int kube_csinode_decode(json_t *obj, struct kube_csinode *out, struct err *e)
{
	struct dec d;
	json_t *spec, *drivers, *drv;
	char *what, *path = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "csinode", obj, &what, &out->meta, e)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_arr(&d, spec, "spec", "drivers", &drivers)) || !drivers)
		goto out;
	out->drivers = xcalloc(json_array_size(drivers) + 1, sizeof(*out->drivers));
	json_array_foreach(drivers, i, drv) {
		struct kube_csinode_driver *dr = &out->drivers[out->n_drivers++];

		free(path);
		path = xasprintf("spec.drivers[%zu]", i);
		if ((rc = item_obj(&d, "spec.drivers", i, drv)) ||
		    (rc = get_str(&d, drv, path, "name", &dr->name)) ||
		    (rc = get_str(&d, drv, path, "nodeID", &dr->node_id)) ||
		    (rc = get_strlist(&d, drv, path, "topologyKeys", &dr->topology_keys,
				      &dr->n_topology_keys)))
			goto out;
	}
out:
	if (rc)
		kube_csinode_release(out);
	free(path);
	free(what);
	return rc;
}

/* ---- Secret ---- */

const char *kube_bytesmap_get(const struct kube_bytesmap *m, const char *key, size_t *len)
{
	size_t i;

	if (!m)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key)) {
			if (len)
				*len = m->lens[i];
			return m->values[i];
		}
	return NULL;
}

void kube_bytesmap_release(struct kube_bytesmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->keys[i]);
		if (m->values[i]) {
			/* secrets should not linger in freed memory */
			explicit_bzero(m->values[i], m->lens[i]);
			free(m->values[i]);
		}
	}
	free(m->keys);
	free(m->values);
	free(m->lens);
	memset(m, 0, sizeof(*m));
}

void kube_secret_release(struct kube_secret *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->type);
	kube_bytesmap_release(&s->data);
	memset(s, 0, sizeof(*s));
}

int kube_secret_decode(json_t *obj, struct kube_secret *out, struct err *e)
{
	struct dec d;
	json_t *data, *val;
	const char *k;
	char *what;
	size_t total = 0, cap;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "secret", obj, &what, &out->meta, e)) ||
	    (rc = get_str(&d, obj, "", "type", &out->type)))
		goto out;
	data = json_object_get(obj, "data");
	if (!data || json_is_null(data))
		goto out;
	if (!json_is_object(data)) {
		rc = wrong_type(&d, "", "data", data, "a map of base64 strings");
		goto out;
	}
	cap = json_object_size(data) + 1;
	out->data.keys = xcalloc(cap, sizeof(char *));
	out->data.values = xcalloc(cap, sizeof(char *));
	out->data.lens = xcalloc(cap, sizeof(size_t));
	json_object_foreach(data, k, val) {
		struct kube_bytesmap *m = &out->data;
		size_t len;

		if (!json_is_string(val)) {
			rc = err_set(e, KUBE_ERR_DECODE, "%s: data['%s'] is %s, want a string",
				     what, k, type_name(val));
			goto out;
		}
		/* Never quote the value: it is a secret. */
		if (json_string_length(val) / 4 * 3 > KUBE_SECRET_DATA_MAX - total) {
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s: data is larger than %zu bytes",
				     what, KUBE_SECRET_DATA_MAX);
			goto out;
		}
		m->values[m->n] = kube_base64_decode(json_string_value(val),
						     json_string_length(val), &len);
		if (!m->values[m->n]) {
			rc = err_set(e, KUBE_ERR_DECODE, "%s: data['%s'] is not valid base64",
				     what, k);
			goto out;
		}
		m->keys[m->n] = xstrdup(k);
		m->lens[m->n] = len;
		m->n++;
		if (len > KUBE_SECRET_DATA_MAX - total) {
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s: data is larger than %zu bytes",
				     what, KUBE_SECRET_DATA_MAX);
			goto out;
		}
		total += len;
	}
out:
	if (rc)
		kube_secret_release(out);
	free(what);
	return rc;
}

/* ---- VolumeAttachment ---- */

void kube_volume_attachment_release(struct kube_volume_attachment *v)
{
	if (!v)
		return;
	kube_meta_release(&v->meta);
	free(v->attacher);
	free(v->node_name);
	free(v->pv_name);
	memset(v, 0, sizeof(*v));
}

int kube_volume_attachment_decode(json_t *obj, struct kube_volume_attachment *out,
				  struct err *e)
{
	struct dec d;
	json_t *spec, *src, *status;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "volumeattachment", obj, &what, &out->meta, e)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_obj(&d, obj, "", "status", &status)) ||
	    (rc = get_str(&d, spec, "spec", "attacher", &out->attacher)) ||
	    (rc = get_str(&d, spec, "spec", "nodeName", &out->node_name)) ||
	    (rc = get_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = get_str(&d, src, "spec.source", "persistentVolumeName", &out->pv_name)) ||
	    (rc = get_bool(&d, status, "status", "attached", &out->attached)))
		kube_volume_attachment_release(out);
	free(what);
	return rc;
}

/* ---- VolumeAttributesClass ---- */

void kube_vac_release(struct kube_vac *v)
{
	if (!v)
		return;
	kube_meta_release(&v->meta);
	free(v->driver_name);
	kube_strmap_release(&v->parameters);
	memset(v, 0, sizeof(*v));
}

int kube_vac_decode(json_t *obj, struct kube_vac *out, struct err *e)
{
	struct dec d;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "volumeattributesclass", obj, &what, &out->meta, e)) ||
	    (rc = get_str(&d, obj, "", "driverName", &out->driver_name)) ||
	    (rc = get_strmap(&d, obj, "", "parameters", &out->parameters)))
		kube_vac_release(out);
	free(what);
	return rc;
}

/* ---- CSIStorageCapacity ---- */

void kube_csi_capacity_release(struct kube_csi_capacity *c)
{
	if (!c)
		return;
	kube_meta_release(&c->meta);
	free(c->storage_class_name);
	kube_strmap_release(&c->node_topology);
	memset(c, 0, sizeof(*c));
}

int kube_csi_capacity_decode(json_t *obj, struct kube_csi_capacity *out, struct err *e)
{
	struct dec d;
	json_t *topo;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "csistoragecapacity", obj, &what, &out->meta, e)) ||
	    (rc = get_str(&d, obj, "", "storageClassName", &out->storage_class_name)) ||
	    (rc = get_quantity(&d, obj, "", "capacity", &out->capacity_bytes,
			       &out->has_capacity)) ||
	    (rc = get_quantity(&d, obj, "", "maximumVolumeSize", &out->max_volume_bytes,
			       &out->has_max_volume)) ||
	    (rc = get_obj(&d, obj, "", "nodeTopology", &topo)) ||
	    (rc = get_strmap(&d, topo, "nodeTopology", "matchLabels", &out->node_topology)))
		goto out;
	out->has_node_topology = topo != NULL;
out:
	if (rc)
		kube_csi_capacity_release(out);
	free(what);
	return rc;
}

/* ---- VolumeSnapshot ---- */

void kube_volume_snapshot_release(struct kube_volume_snapshot *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->source_pvc);
	free(s->source_content);
	free(s->class_name);
	free(s->bound_content);
	memset(s, 0, sizeof(*s));
}

int kube_volume_snapshot_decode(json_t *obj, struct kube_volume_snapshot *out, struct err *e)
{
	struct dec d;
	json_t *spec, *src, *status;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "volumesnapshot", obj, &what, &out->meta, e)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_obj(&d, obj, "", "status", &status)) ||
	    (rc = get_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = get_str(&d, src, "spec.source", "persistentVolumeClaimName",
			  &out->source_pvc)) ||
	    (rc = get_str(&d, src, "spec.source", "volumeSnapshotContentName",
			  &out->source_content)) ||
	    (rc = get_str(&d, spec, "spec", "volumeSnapshotClassName", &out->class_name)) ||
	    (rc = get_str(&d, status, "status", "boundVolumeSnapshotContentName",
			  &out->bound_content)) ||
	    (rc = get_bool(&d, status, "status", "readyToUse", &out->ready)) ||
	    (rc = get_quantity(&d, status, "status", "restoreSize", &out->restore_bytes,
			       &out->has_restore_size)))
		kube_volume_snapshot_release(out);
	free(what);
	return rc;
}

/* ---- VolumeSnapshotContent ---- */

void kube_snapshot_content_release(struct kube_snapshot_content *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->driver);
	free(s->snapshot_handle);
	free(s->source_volume_handle);
	free(s->deletion_policy);
	free(s->ref_ns);
	free(s->ref_name);
	free(s->ref_uid);
	free(s->source_volume_mode);
	memset(s, 0, sizeof(*s));
}

int kube_snapshot_content_decode(json_t *obj, struct kube_snapshot_content *out,
				 struct err *e)
{
	struct dec d;
	json_t *spec, *src, *ref, *status;
	char *what, *status_handle = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "volumesnapshotcontent", obj, &what, &out->meta, e)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_obj(&d, obj, "", "status", &status)) ||
	    (rc = get_str(&d, spec, "spec", "driver", &out->driver)) ||
	    (rc = get_str(&d, spec, "spec", "deletionPolicy", &out->deletion_policy)) ||
	    (rc = get_str(&d, spec, "spec", "sourceVolumeMode", &out->source_volume_mode)) ||
	    (rc = get_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = get_str(&d, src, "spec.source", "snapshotHandle", &out->snapshot_handle)) ||
	    (rc = get_str(&d, src, "spec.source", "volumeHandle",
			  &out->source_volume_handle)) ||
	    (rc = get_obj(&d, spec, "spec", "volumeSnapshotRef", &ref)) ||
	    (rc = get_str(&d, ref, "spec.volumeSnapshotRef", "namespace", &out->ref_ns)) ||
	    (rc = get_str(&d, ref, "spec.volumeSnapshotRef", "name", &out->ref_name)) ||
	    (rc = get_str(&d, ref, "spec.volumeSnapshotRef", "uid", &out->ref_uid)) ||
	    (rc = get_str(&d, status, "status", "snapshotHandle", &status_handle)) ||
	    (rc = get_bool(&d, status, "status", "readyToUse", &out->ready)) ||
	    (rc = get_int(&d, status, "status", "restoreSize", &out->restore_bytes)))
		goto out;
	out->has_restore_size = json_is_integer(json_object_get(status, "restoreSize"));
	/* A dynamically created snapshot's handle is only in the status. */
	if (status_handle) {
		free(out->snapshot_handle);
		out->snapshot_handle = status_handle;
		status_handle = NULL;
	}
out:
	if (rc)
		kube_snapshot_content_release(out);
	free(status_handle);
	free(what);
	return rc;
}

/* ---- Lease ---- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int kube_time_parse(const char *s, int64_t *unix_us, struct err *e)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, dd, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t us = 0, scale = 100000, t;

	if (!s || strlen(s) > 64)
		goto bad;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &dd) || (*p != 'T' && *p != 't') || !*p++ || digits(&p, 2, &h) ||
	    *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
		goto bad;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		for (; *p >= '0' && *p <= '9'; p++) {
			us += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		goto bad;
	}
	if (*p || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = dd;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*unix_us = t * 1000000 + us;
	return 0;
bad:
	return err_set(e, KUBE_ERR_INVALID, "time '%.64s' is not RFC 3339", s ? s : "(null)");
}

static int get_time(struct dec *d, json_t *o, const char *prefix, const char *key,
		    int64_t *out)
{
	struct err te = ERR_INIT;
	char *s;
	int rc;

	*out = 0;
	if ((rc = get_str(d, o, prefix, key, &s)) || !s)
		return rc;
	rc = kube_time_parse(s, out, &te);
	free(s);
	if (rc) {
		rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s: %s", d->what, prefix,
			     *prefix ? "." : "", key, err_msg(&te));
		err_release(&te);
	}
	return rc;
}

void kube_lease_release(struct kube_lease *l)
{
	if (!l)
		return;
	kube_meta_release(&l->meta);
	free(l->holder);
	memset(l, 0, sizeof(*l));
}

int kube_lease_decode(json_t *obj, struct kube_lease *out, struct err *e)
{
	struct dec d;
	json_t *spec;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(&d, "lease", obj, &what, &out->meta, e)) ||
	    (rc = get_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = get_str(&d, spec, "spec", "holderIdentity", &out->holder)) ||
	    (rc = get_int(&d, spec, "spec", "leaseDurationSeconds", &out->duration_s)) ||
	    (rc = get_time(&d, spec, "spec", "acquireTime", &out->acquire_us)) ||
	    (rc = get_time(&d, spec, "spec", "renewTime", &out->renew_us)) ||
	    (rc = get_int(&d, spec, "spec", "leaseTransitions", &out->transitions)))
		kube_lease_release(out);
	free(what);
	return rc;
}
