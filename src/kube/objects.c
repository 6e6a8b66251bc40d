// SPDX-License-Identifier: Apache-2.0
/*
 * objects.c - decode PVCs, PVs and StorageClasses from jansson trees into
 * compact structs (see objects.h).
 *
 * Every field goes through one of the typed getters below; each takes the
 * dotted path of the parent so a type error can name the exact field.
 */
#include "kube/objects.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/quantity.h"
#include "kube/status.h"

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

static int get_strmap(struct dec *d, json_t *o, const char *prefix, const char *key,
		      struct kube_strmap *m)
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
		m->keys[m->n] = xstrdup(k);
		m->values[m->n] = xstrndup(json_string_value(val), json_string_length(val));
		m->n++;
	}
	return 0;
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
		rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s.%s: %s", d->what, prefix, key,
			     err_msg(&qe));
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
	    (rc = get_strmap(d, md, "metadata", "annotations", &m->annotations)) ||
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
	json_t *spec, *status, *res, *req, *sel, *ds, *dsref;
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
	    (rc = get_str(&d, spec, "spec", "volumeName", &out->volume_name)) ||
	    (rc = get_str(&d, spec, "spec", "volumeMode", &out->volume_mode)) ||
	    (rc = get_obj(&d, spec, "spec", "selector", &sel)) ||
	    (rc = get_obj(&d, spec, "spec", "dataSource", &ds)) ||
	    (rc = get_obj(&d, spec, "spec", "dataSourceRef", &dsref)) ||
	    (rc = get_str(&d, spec, "spec", "volumeAttributesClassName", &out->vac_name)) ||
	    (rc = get_str(&d, status, "status", "phase", &out->phase)))
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
	free(p->csi_driver);
	free(p->csi_volume_handle);
	free(p->reclaim_policy);
	free(p->phase);
	free(p->claim_ns);
	free(p->claim_name);
	free(p->claim_uid);
	free(p->storage_class_name);
	memset(p, 0, sizeof(*p));
}

int kube_pv_decode(json_t *obj, struct kube_pv *out, struct err *e)
{
	struct dec d = { NULL, e };
	char *what = describe("persistentvolume", obj);
	json_t *spec, *status, *csi, *claim, *cap;
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
	    (rc = get_str(&d, spec, "spec", "storageClassName", &out->storage_class_name)) ||
	    (rc = get_obj(&d, spec, "spec", "capacity", &cap)) ||
	    (rc = get_quantity(&d, cap, "spec.capacity", "storage", &out->capacity_bytes,
			       &has_cap)))
		goto out;
out:
	if (rc)
		kube_pv_release(out);
	free(what);
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
	    (rc = get_bool(&d, obj, "", "allowVolumeExpansion", &out->allow_volume_expansion)))
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
