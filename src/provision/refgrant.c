// SPDX-License-Identifier: Apache-2.0
/* refgrant.c - ReferenceGrants for cross-namespace data sources (see refgrant.h). */
#include "provision/refgrant.h"

#include <string.h>

#include "kube/status.h"

/* A string member, "" when absent or null; NULL (a decode error) when of another type. */
static const char *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return "";
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An array member: NULL when absent or null, `bad` when of another type. */
static json_t *array_member(json_t *obj, const char *key, json_t *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return NULL;
	return json_is_array(v) ? v : bad;
}

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Does one grant allow it? -1 (with e) when the grant is malformed. */
static int grant_allows(const struct kube_pvc *claim, json_t *grant, size_t idx, bool *ok,
			struct err *e)
{
	json_t *bad = json_object(), *spec, *from, *to, *x;
	const char *gns, *group, *kind, *ns, *name;
	bool valid_from = false;
	size_t i;
	int rc = 0;

	*ok = false;
	if (!json_is_object(grant) ||
	    !(gns = member(json_object_get(grant, "metadata"), "namespace"))) {
		rc = err_set(e, KUBE_ERR_DECODE, "ReferenceGrant list: items[%zu] is not an object "
			     "with metadata", idx);
		goto out;
	}
	if (!same(gns, claim->data_source_namespace))
		goto out;	/* upstream skips grants of another namespace */
	spec = json_object_get(grant, "spec");
	from = array_member(spec, "from", bad);
	to = array_member(spec, "to", bad);
	if (from == bad || to == bad) {
		rc = err_set(e, KUBE_ERR_DECODE, "ReferenceGrant %s/%s: spec.from and spec.to must "
			     "be lists", gns, member(json_object_get(grant, "metadata"), "name") ?: "?");
		goto out;
	}
	json_array_foreach(from, i, x) {
		if (!(group = member(x, "group")) || !(kind = member(x, "kind")) ||
		    !(ns = member(x, "namespace"))) {
			rc = err_set(e, KUBE_ERR_DECODE, "ReferenceGrant in %s: spec.from[%zu] has a "
				     "field that is not a string", gns, i);
			goto out;
		}
		if (!*group && !strcmp(kind, "PersistentVolumeClaim") &&
		    same(ns, claim->meta.namespace)) {
			valid_from = true;
			break;
		}
	}
	if (!valid_from)
		goto out;
	json_array_foreach(to, i, x) {
		if (!(group = member(x, "group")) || !(kind = member(x, "kind")) ||
		    !(name = member(x, "name"))) {
			rc = err_set(e, KUBE_ERR_DECODE, "ReferenceGrant in %s: spec.to[%zu] has a "
				     "field that is not a string", gns, i);
			goto out;
		}
		if (!same(group, claim->data_source_api_group) ||
		    !same(kind, claim->data_source_kind))
			continue;
		if (!*name || same(name, claim->data_source_name)) {
			*ok = true;
			break;
		}
	}
out:
	json_decref(bad);
	return rc;
}

int refgrant_check(const struct kube_pvc *claim, json_t *list, struct err *e)
{
	json_t *items = json_object_get(list, "items"), *g;
	size_t i;
	bool ok;
	int rc;

	if (!json_is_object(list) || (items && !json_is_array(items) && !json_is_null(items)))
		return err_set(e, KUBE_ERR_DECODE, "ReferenceGrant list: not an object with items");
	json_array_foreach(items, i, g) {
		if ((rc = grant_allows(claim, g, i, &ok, e)))
			return rc;
		if (ok)
			return 0;
	}
	return err_set(e, ERR_INVALID, "accessing %s/%s of %s dataSource from %s/%s isn't allowed",
		       claim->data_source_namespace ? claim->data_source_namespace : "",
		       claim->data_source_name ? claim->data_source_name : "",
		       claim->data_source_kind ? claim->data_source_kind : "",
		       claim->meta.namespace, claim->meta.name);
}
