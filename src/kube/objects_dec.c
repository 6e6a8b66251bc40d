// SPDX-License-Identifier: Apache-2.0
/*
 * objects_dec.c - the typed field getters every object decoder uses, and
 * metadata (see objects_int.h).
 *
 * Each getter takes the dotted path of the parent so a type error can name
 * the exact field; absent or null fields are unset (0 with *out empty).
 */
#include "kube/objects_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/quantity.h"
#include "kube/status.h"

/*
 * kubectl apply's copy of the whole object: often the largest annotation,
 * never read by a provisioner (and never a valid secret name for a
 * template), so the cache does not keep it.
 */
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

const char *dec_type_name(json_t *v)
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

int dec_wrong_type(struct dec *d, const char *prefix, const char *key, json_t *v,
		   const char *want)
{
	return err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s is %s, want %s", d->what,
		       prefix, *prefix ? "." : "", key, dec_type_name(v), want);
}

/* Absent or null fields are unset: these return 0 with *out empty. */
int dec_obj(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return dec_wrong_type(d, prefix, key, v, "an object");
	*out = v;
	return 0;
}

int dec_str(struct dec *d, json_t *o, const char *prefix, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return dec_wrong_type(d, prefix, key, v, "a string");
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

int dec_bool(struct dec *d, json_t *o, const char *prefix, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return dec_wrong_type(d, prefix, key, v, "a boolean");
	*out = json_is_true(v);
	return 0;
}

int dec_int(struct dec *d, json_t *o, const char *prefix, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return dec_wrong_type(d, prefix, key, v, "an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

void dec_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int dec_strlist(struct dec *d, json_t *o, const char *prefix, const char *key,
		char ***out, size_t *n)
{
	json_t *v = json_object_get(o, key), *item;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return dec_wrong_type(d, prefix, key, v, "a list of strings");
	if (!json_array_size(v))
		return 0;
	*out = xcalloc(json_array_size(v), sizeof(char *));
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			int rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s[%zu] is %s, want a string",
					 d->what, prefix, *prefix ? "." : "", key, i,
					 dec_type_name(item));

			dec_strv_free(*out, *n);
			*out = NULL;
			*n = 0;
			return rc;
		}
		(*out)[(*n)++] = xstrndup(json_string_value(item), json_string_length(item));
	}
	return 0;
}

/* A map of strings; an entry whose key is `skip` (may be NULL) is not kept. */
static int dec_strmap_skip(struct dec *d, json_t *o, const char *prefix, const char *key,
			   const char *skip, struct strmap *m)
{
	json_t *v = json_object_get(o, key), *val;
	const char *k;

	memset(m, 0, sizeof(*m));
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return dec_wrong_type(d, prefix, key, v, "a map of strings");
	if (!json_object_size(v))
		return 0;
	m->items = xcalloc(json_object_size(v), sizeof(*m->items));
	m->alloc = json_object_size(v);
	json_object_foreach(v, k, val) {
		if (!json_is_string(val)) {
			int rc = err_set(d->e, KUBE_ERR_DECODE,
					 "%s: %s%s%s['%s'] is %s, want a string", d->what,
					 prefix, *prefix ? "." : "", key, k, dec_type_name(val));

			strmap_release(m);
			return rc;
		}
		if (skip && !strcmp(k, skip))
			continue;
		strmap_add_owned(m, xstrdup(k),
				 xstrndup(json_string_value(val), json_string_length(val)));
	}
	return 0;
}

int dec_strmap(struct dec *d, json_t *o, const char *prefix, const char *key,
	       struct strmap *m)
{
	return dec_strmap_skip(d, o, prefix, key, NULL, m);
}

/* A quantity (string, or a number as the API server also accepts) in bytes. */
int dec_quantity(struct dec *d, json_t *o, const char *prefix, const char *key,
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
		return dec_wrong_type(d, prefix, key, v, "a quantity string");
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

/* A list field: absent/null is NULL, anything else but a list is an error. */
int dec_arr(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return dec_wrong_type(d, prefix, key, v, "a list");
	*out = v;
	return 0;
}

/* Item i of list `path` must be an object: "spec.drivers[2] is a string". */
int dec_item_obj(struct dec *d, const char *path, size_t i, json_t *item)
{
	if (json_is_object(item))
		return 0;
	return err_set(d->e, KUBE_ERR_DECODE, "%s: %s[%zu] is %s, want an object", d->what,
		       path, i, dec_type_name(item));
}

void kube_meta_release(struct kube_meta *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->namespace);
	free(m->uid);
	free(m->resource_version);
	strmap_release(&m->annotations);
	strmap_release(&m->labels);
	dec_strv_free(m->finalizers, m->n_finalizers);
	memset(m, 0, sizeof(*m));
}

int dec_meta(struct dec *d, json_t *md, struct kube_meta *m)
{
	json_t *ts;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(md))
		return err_set(d->e, KUBE_ERR_DECODE, "%s: metadata is %s, want an object",
			       d->what, md ? dec_type_name(md) : "missing");
	ts = json_object_get(md, "deletionTimestamp");
	if ((rc = dec_str(d, md, "metadata", "name", &m->name)) ||
	    (rc = dec_str(d, md, "metadata", "namespace", &m->namespace)) ||
	    (rc = dec_str(d, md, "metadata", "uid", &m->uid)) ||
	    (rc = dec_str(d, md, "metadata", "resourceVersion", &m->resource_version)) ||
	    (rc = dec_int(d, md, "metadata", "generation", &m->generation)) ||
	    (rc = dec_strmap_skip(d, md, "metadata", "annotations", ANN_LAST_APPLIED,
				  &m->annotations)) ||
	    (rc = dec_strmap(d, md, "metadata", "labels", &m->labels)) ||
	    (rc = dec_strlist(d, md, "metadata", "finalizers", &m->finalizers,
			      &m->n_finalizers)))
		goto out;
	if (ts && !json_is_null(ts) && !json_is_string(ts)) {
		rc = dec_wrong_type(d, "metadata", "deletionTimestamp", ts, "a string");
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

	return dec_meta(&d, md, out);
}

/* "kind 'ns/name'" or "kind 'name'" from the raw tree, for messages. */
char *dec_describe(const char *kind, json_t *obj)
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

/*
 * The common start of every decoder below: name the object for messages
 * (*what, which the caller frees), require a JSON object, decode metadata.
 */
int dec_begin(struct dec *d, const char *kind, json_t *obj, char **what,
	      struct kube_meta *meta, struct err *e)
{
	*what = dec_describe(kind, obj);
	d->what = *what;
	d->e = e;
	if (!json_is_object(obj))
		return err_set(e, KUBE_ERR_DECODE, "%s", *what);
	return dec_meta(d, json_object_get(obj, "metadata"), meta);
}
