// SPDX-License-Identifier: Apache-2.0
/*
 * cap_plan.c - pure decisions of capacity tracking: segments, classes,
 * object bodies, update patches, owner references (see cap_plan.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "capacity/cap_plan.h"
#include "kube/client.h"
#include "kube/path.h"
#include "kube/quantity.h"
#include "kube/status.h"

/* Separators of item keys: no class name, label key or label value holds them. */
#define SEP_CLASS "\x1d"
#define SEP_PAIR "\x1e"
#define SEP_KV "\x1f"

void cap_segment_from_pairs(struct strmap *out, const char *const *keys,
			    const char *const *values, size_t n)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		strmap_set(out, keys[i], values[i]);
	strmap_sort(out);
}

static int segment_qcmp(const void *a, const void *b)
{
	return strmap_cmp(a, b);
}

/* Join the pairs with the given separators; caller frees. */
static char *join_pairs(const struct strmap *s, const char *kv, const char *pair,
			const char *lead)
{
	size_t len = strlen(lead) + 1, at;
	char *out;

	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->items[i].key) + strlen(s->items[i].value) + strlen(kv) + strlen(pair);
	out = xmalloc(len);
	at = (size_t)snprintf(out, len, "%s", lead);
	for (size_t i = 0; i < s->n; i++)
		at += (size_t)snprintf(out + at, len - at, "%s%s%s%s", i ? pair : "", s->items[i].key, kv,
				       s->items[i].value);
	return out;
}

char *cap_segment_string(const struct strmap *s)
{
	return s->n ? join_pairs(s, "=", ",", "") : xstrdup("(no topology)");
}

char *cap_item_key(const char *class_name, const struct strmap *s)
{
	char *lead = xasprintf("%s" SEP_CLASS, class_name), *out;

	out = join_pairs(s, SEP_KV, SEP_PAIR, lead);
	free(lead);
	return out;
}

/* The driver's entry in a CSINode, or NULL. */
static const struct kube_csinode_driver *csinode_driver(const struct kube_csinode *n,
							 const char *driver)
{
	for (size_t i = 0; i < n->n_drivers; i++)
		if (n->drivers[i].name && !strcmp(n->drivers[i].name, driver))
			return &n->drivers[i];
	return NULL;
}

void cap_segments_from_nodes(const char *driver, const struct kube_csinode *const *csinodes,
			     size_t n_csinodes, const struct kube_node *const *nodes,
			     size_t n_nodes, struct strmap **out, size_t *n_out)
{
	struct hmap by_name = HMAP_INIT;
	struct strmap *segs = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < n_nodes; i++)
		if (nodes[i]->meta.name)
			hmap_put(&by_name, nodes[i]->meta.name, (void *)nodes[i]);
	for (size_t i = 0; i < n_csinodes; i++) {
		const struct kube_csinode_driver *d = csinode_driver(csinodes[i], driver);
		const struct kube_node *node;
		const char **vals;
		struct strmap s;
		bool complete = true, seen = false;

		if (!d || !csinodes[i]->meta.name)
			continue;
		node = hmap_get(&by_name, csinodes[i]->meta.name);
		if (!node)
			continue;	/* a CSINode outlives its Node briefly */
		vals = xcalloc(d->n_topology_keys + 1, sizeof(char *));
		for (size_t k = 0; k < d->n_topology_keys && complete; k++)
			complete = (vals[k] = strmap_get(&node->meta.labels,
							      d->topology_keys[k])) != NULL;
		if (complete) {
			cap_segment_from_pairs(&s, (const char *const *)d->topology_keys,
					       vals, d->n_topology_keys);
			for (size_t j = 0; j < n && !seen; j++)
				seen = strmap_equal(&segs[j], &s);
			if (seen) {
				strmap_release(&s);
			} else {
				segs = xgrow(segs, n + 1, &alloc, sizeof(*segs));
				segs[n++] = s;
			}
		}
		free(vals);
	}
	hmap_release(&by_name);
	if (n)
		qsort(segs, n, sizeof(*segs), segment_qcmp);
	*out = segs;
	*n_out = n;
}

void cap_segments_free(struct strmap *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		strmap_release(&s[i]);
	free(s);
}

bool cap_class_wanted(const struct kube_storage_class *sc, const char *provisioner,
		      bool immediate)
{
	if (!sc->provisioner || strcmp(sc->provisioner, provisioner))
		return false;
	if (immediate)
		return true;
	return sc->volume_binding_mode && !strcmp(sc->volume_binding_mode, "WaitForFirstConsumer");
}

void cap_owner_release(struct cap_owner *o)
{
	if (!o)
		return;
	free(o->api_version);
	free(o->kind);
	free(o->name);
	free(o->uid);
	memset(o, 0, sizeof(*o));
}

int cap_controller_ref(json_t *obj, const char *what, struct cap_owner *out, struct err *e)
{
	json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), *r;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (refs && !json_is_array(refs))
		return err_set(e, KUBE_ERR_DECODE, "%s: metadata.ownerReferences is not a list", what);
	json_array_foreach(refs, i, r) {
		const char *f[4] = { "apiVersion", "kind", "name", "uid" };
		const char *v[4];

		if (!json_is_true(json_object_get(r, "controller")))
			continue;
		for (int k = 0; k < 4; k++) {
			v[k] = json_string_value(json_object_get(r, f[k]));
			if (!v[k] || !*v[k])
				return err_set(e, KUBE_ERR_DECODE, "%s: its controlling owner "
					       "reference lacks %s", what, f[k]);
		}
		*out = (struct cap_owner){ xstrdup(v[0]), xstrdup(v[1]), xstrdup(v[2]),
					   xstrdup(v[3]) };
		return 0;
	}
	return err_set(e, KUBE_ERR_NOT_FOUND, "%s has no controlling owner, cannot walk the "
		       "ownership further", what);
}

/* A group/version: DNS-ish lower-case letters, digits, '.', '-' and one '/'. */
static bool api_version_ok(const char *s)
{
	int slashes = 0;

	if (!*s || *s == '/')
		return false;
	for (; *s; s++) {
		if (*s == '/')
			slashes++;
		else if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '.' &&
			 *s != '-')
			return false;
	}
	return slashes <= 1 && s[-1] != '/';
}

static bool kind_ok(const char *s)
{
	if (!isupper((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return false;
	return true;
}

int cap_owner_path(const char *ns, const struct cap_owner *o, char **out, struct err *e)
{
	char *res, *ens = NULL, *ename = NULL;
	int rc;

	*out = NULL;
	if (!o->api_version || !api_version_ok(o->api_version))
		return err_set(e, KUBE_ERR_INVALID, "owner apiVersion \"%s\" is not a group/version",
			       o->api_version ? o->api_version : "");
	if (!o->kind || !kind_ok(o->kind))
		return err_set(e, KUBE_ERR_INVALID, "owner kind \"%s\" is not a kind",
			       o->kind ? o->kind : "");
	if (!o->name || !kube_name_is_dns1123_subdomain(o->name))
		return err_set(e, KUBE_ERR_INVALID, "owner name \"%s\" is not a valid name",
			       o->name ? o->name : "");
	if ((rc = kube_namespace_check(ns, e)))
		return rc;
	res = xstrdup(o->kind);
	for (char *p = res; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	ens = kube_path_escape(ns);
	ename = kube_path_escape(o->name);
	*out = xasprintf("%s/%s/namespaces/%s/%ss/%s", strchr(o->api_version, '/') ? "/apis" : "/api",
			 o->api_version, ens, res, ename);
	free(res);
	free(ens);
	free(ename);
	return 0;
}

void cap_object_release(struct cap_object *o)
{
	if (!o)
		return;
	kube_csi_capacity_release(&o->c);
	free(o->controller_uid);
	free(o->other_owners);
	memset(o, 0, sizeof(*o));
}

int cap_object_decode(json_t *obj, struct cap_object *out, struct err *e)
{
	json_t *refs, *r, *others, *topo, *exprs;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kube_csi_capacity_decode(obj, &out->c, e)))
		return rc;
	refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
	others = json_array();
	json_array_foreach(refs, i, r) {
		if (!json_is_object(r))
			continue;
		if (json_is_true(json_object_get(r, "controller")) && !out->controller_uid &&
		    json_is_string(json_object_get(r, "uid")))
			out->controller_uid = xstrdup(json_string_value(json_object_get(r, "uid")));
		else if (!json_is_true(json_object_get(r, "controller")))
			json_array_append(others, r);
	}
	out->other_owners = json_dumps(others, JSON_COMPACT);
	json_decref(others);
	if (!out->other_owners)
		die("out of memory");
	topo = json_object_get(obj, "nodeTopology");
	exprs = json_object_get(topo, "matchExpressions");
	out->plain_selector = !exprs || (json_is_array(exprs) && !json_array_size(exprs));
	return 0;
}

bool cap_object_managed(const struct cap_object *o, const char *driver, const char *managed_by)
{
	const char *d = strmap_get(&o->c.meta.labels, CAP_LABEL_DRIVER);
	const char *m = strmap_get(&o->c.meta.labels, CAP_LABEL_MANAGED_BY);

	return d && m && !strcmp(d, driver) && !strcmp(m, managed_by);
}

void cap_object_segment(const struct cap_object *o, struct strmap *out)
{
	strmap_copy(out, &o->c.node_topology);
	strmap_sort(out);
}

bool cap_object_matches(const struct cap_object *o, const char *class_name,
			const struct strmap *s)
{
	struct strmap mine;
	bool eq;

	if (!o->c.storage_class_name || strcmp(o->c.storage_class_name, class_name) ||
	    !o->c.has_node_topology || !o->plain_selector || o->c.node_topology.n != s->n)
		return false;
	cap_object_segment(o, &mine);
	eq = mine.n == o->c.node_topology.n && strmap_equal(&mine, s);
	strmap_release(&mine);
	return eq;
}

static json_t *owner_json(const struct cap_owner *o)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "apiVersion", o->api_version, "kind", o->kind,
			 "name", o->name, "uid", o->uid, "controller", 1);
}

static json_t *quantity(int64_t v)
{
	char *s = kube_quantity_format_bytes(v);
	json_t *j = json_string(s);

	free(s);
	return j;
}

json_t *cap_object_new(const struct cap_params *p, const char *class_name,
		       const struct strmap *s, const struct cap_value *v)
{
	json_t *labels = json_object(), *meta, *obj;

	for (size_t i = 0; i < s->n; i++)
		json_object_set_new(labels, s->items[i].key, json_string(s->items[i].value));
	obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:{s:o}, s:o}",
			"apiVersion", "storage.k8s.io/v1", "kind", "CSIStorageCapacity",
			"metadata", "generateName", CAP_NAME_PREFIX, "namespace", p->namespace,
			"labels", CAP_LABEL_DRIVER, p->driver, CAP_LABEL_MANAGED_BY, p->managed_by,
			"storageClassName", class_name, "nodeTopology", "matchLabels", labels,
			"capacity", quantity(v->capacity));
	if (!obj)
		die("cannot build a CSIStorageCapacity object");
	if (v->has_max)
		json_object_set_new(obj, "maximumVolumeSize", quantity(v->max));
	meta = json_object_get(obj, "metadata");
	if (p->owner)
		json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_json(p->owner)));
	return obj;
}

json_t *cap_update_patch(const struct cap_object *o, const struct cap_params *p,
			 const struct cap_value *v)
{
	bool same_cap = o->c.has_capacity && o->c.capacity_bytes == v->capacity;
	bool same_max = o->c.has_max_volume == v->has_max &&
			(!v->has_max || o->c.max_volume_bytes == v->max);
	bool owned = !p->owner || (o->controller_uid && !strcmp(o->controller_uid, p->owner->uid));
	json_t *patch;

	if (same_cap && same_max && owned)
		return NULL;
	patch = json_pack("{s:{s:s}}", "metadata", "resourceVersion",
			  o->c.meta.resource_version ? o->c.meta.resource_version : "");
	if (!same_cap)
		json_object_set_new(patch, "capacity", quantity(v->capacity));
	if (!same_max)
		json_object_set_new(patch, "maximumVolumeSize",
				    v->has_max ? quantity(v->max) : json_null());
	if (!owned) {
		json_t *refs = json_loads(o->other_owners ? o->other_owners : "[]", 0, NULL);

		if (!json_is_array(refs)) {
			json_decref(refs);
			refs = json_array();
		}
		json_array_append_new(refs, owner_json(p->owner));
		json_object_set_new(json_object_get(patch, "metadata"), "ownerReferences", refs);
	}
	return patch;
}
