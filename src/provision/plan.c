// SPDX-License-Identifier: Apache-2.0
/*
 * plan.c - provisioning decisions as pure functions (see plan.h).
 *
 * The rules follow the upstream external-provisioner where it is right and
 * part from it where it is not (noted inline): empty access modes are an
 * error rather than a request with no capabilities, and the "PV exists"
 * check uses our prefix.
 */
#include "provision/plan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "csi/client.h"
#include "kube/quantity.h"
#include "migration/translate.h"

#define CSI_PREFIX "csi.storage.k8s.io/"
#define PARAM_FSTYPE CSI_PREFIX "fstype"
#define PARAM_DEPRECATED_FSTYPE "fstype"

/* csi.storage.k8s.io/ keys the sidecar consumes; they never reach the driver. */
static const char *const reserved_params[] = {
	CSI_PREFIX "fstype",
	CSI_PREFIX "secret-name", CSI_PREFIX "secret-namespace",
	CSI_PREFIX "provisioner-secret-name", CSI_PREFIX "provisioner-secret-namespace",
	CSI_PREFIX "controller-publish-secret-name", CSI_PREFIX "controller-publish-secret-namespace",
	CSI_PREFIX "node-stage-secret-name", CSI_PREFIX "node-stage-secret-namespace",
	CSI_PREFIX "node-publish-secret-name", CSI_PREFIX "node-publish-secret-namespace",
	CSI_PREFIX "controller-expand-secret-name", CSI_PREFIX "controller-expand-secret-namespace",
	CSI_PREFIX "node-expand-secret-name", CSI_PREFIX "node-expand-secret-namespace",
	CSI_PREFIX "controller-modify-secret-name", CSI_PREFIX "controller-modify-secret-namespace",
};

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const char *plan_claim_class(const struct kube_pvc *claim)
{
	const char *beta = strmap_get(&claim->meta.annotations, ANN_BETA_STORAGE_CLASS);

	if (beta)
		return beta;
	return claim->storage_class_name;
}

/* Our provisioner name, or the in-tree one our driver replaces (upstream's knownProvisioner). */
static bool known_provisioner(const struct plan_opts *o, const char *name)
{
	return str_eq(name, o->provisioner) || str_eq(name, o->migrated_from);
}

static bool class_allowed(const struct plan_opts *o, const char *name)
{
	if (!o->class_whitelist)
		return true;
	for (char *const *p = o->class_whitelist; *p; p++)
		if (str_eq(*p, name))
			return true;
	return false;
}

enum plan_verdict plan_claim(const struct kube_pvc *claim, const struct kube_storage_class *class,
			     const struct plan_opts *o, const char **why)
{
	const char *want, *class_name, *node;

	if (claim->volume_name && *claim->volume_name) {
		*why = "the claim is already bound to a volume";
		return PLAN_IGNORE;
	}
	want = strmap_get(&claim->meta.annotations, ANN_STORAGE_PROVISIONER);
	if (!want)
		want = strmap_get(&claim->meta.annotations, ANN_BETA_STORAGE_PROVISIONER);
	/*
	 * For a migrated in-tree claim the controller manager writes our name
	 * in storage-provisioner or migrated-to, as upstream checks.
	 */
	if (!known_provisioner(o, want) ||
	    !(str_eq(want, o->provisioner) ||
	      str_eq(strmap_get(&claim->meta.annotations, ANN_MIGRATED_TO), o->provisioner))) {
		*why = "the claim is not annotated for this provisioner";
		return PLAN_IGNORE;
	}
	if (claim->meta.deleting) {
		*why = "the claim is being deleted";
		return PLAN_IGNORE;
	}
	class_name = plan_claim_class(claim);
	if (!class_name || !*class_name) {
		*why = "the claim names no StorageClass";
		return PLAN_IGNORE;
	}
	if (!class) {
		*why = "the claim's StorageClass does not exist (yet)";
		return PLAN_WAIT;
	}
	if (!known_provisioner(o, class->provisioner)) {
		*why = "the claim's StorageClass names another provisioner";
		return PLAN_IGNORE;
	}
	if (!class_allowed(o, class_name)) {
		*why = "the claim's StorageClass is not in --storageclass-whitelist";
		return PLAN_IGNORE;
	}
	if (str_eq(class->volume_binding_mode, "WaitForFirstConsumer")) {
		node = strmap_get(&claim->meta.annotations, ANN_SELECTED_NODE);
		if (!node || !*node) {
			*why = "WaitForFirstConsumer: no node selected yet";
			return PLAN_WAIT;
		}
	}
	*why = "";
	return PLAN_PROVISION;
}

int plan_volume_name(const char *prefix, const char *uid, int64_t uuid_length, char **out,
		     struct err *e)
{
	char compact[64];
	size_t n = 0;

	*out = NULL;
	if (!prefix || !*prefix)
		return err_set(e, ERR_INVALID, "the volume name prefix is empty");
	if (!uid || !*uid)
		return err_set(e, ERR_INVALID, "the claim has no UID");
	if (uuid_length < 0) {
		*out = xasprintf("%s-%s", prefix, uid);
		return 0;
	}
	for (const char *p = uid; *p && n < sizeof(compact) - 1; p++)
		if (*p != '-')
			compact[n++] = *p;
	if ((size_t)uuid_length > n)
		return err_set(e, ERR_INVALID, "--volume-name-uuid-length %lld is longer than the claim UID "
			       "without dashes (%zu characters)", (long long)uuid_length, n);
	*out = xasprintf("%s-%.*s", prefix, (int)uuid_length, compact);
	return 0;
}

static int map_access_mode(const char *mode, const struct plan_opts *o, enum csi_access_mode *out,
			   struct err *e)
{
	if (!strcmp(mode, "ReadWriteOnce"))
		*out = o->single_node_multi_writer ? CSI_ACCESS_SINGLE_NODE_MULTI_WRITER
						   : CSI_ACCESS_SINGLE_NODE_WRITER;
	else if (!strcmp(mode, "ReadOnlyMany"))
		*out = CSI_ACCESS_MULTI_NODE_READER_ONLY;
	else if (!strcmp(mode, "ReadWriteMany"))
		*out = CSI_ACCESS_MULTI_NODE_MULTI_WRITER;
	else if (!strcmp(mode, "ReadWriteOncePod"))
		*out = o->single_node_multi_writer ? CSI_ACCESS_SINGLE_NODE_SINGLE_WRITER
						   : CSI_ACCESS_SINGLE_NODE_WRITER;
	else
		return err_set(e, ERR_INVALID, "unknown access mode \"%s\"", mode);
	return 0;
}

static bool is_reserved(const char *key)
{
	for (size_t i = 0; i < sizeof(reserved_params) / sizeof(reserved_params[0]); i++)
		if (!strcmp(key, reserved_params[i]))
			return true;
	return false;
}

static void add_param(struct plan_request *r, const char *k, const char *v)
{
	strmap_add_owned(&r->params, xstrdup(k), xstrdup(v));
}

int plan_create_request(const struct kube_pvc *claim, const struct kube_storage_class *class,
			const struct plan_opts *o, struct plan_request *out, struct err *e)
{
	const struct strmap *params = &class->parameters;
	const char *fstype = NULL, *deprecated_fstype = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = plan_volume_name(o->prefix, claim->meta.uid, o->uuid_length, &out->name, e)))
		goto fail;
	if (claim->has_selector) {
		rc = err_set(e, ERR_INVALID, "claim Selector is not supported: dynamically provisioned volumes "
			"cannot be chosen by label; remove spec.selector");
		goto fail;
	}
	if (!claim->has_request) {
		rc = err_set(e, ERR_INVALID, "the claim has no spec.resources.requests.storage");
		goto fail;
	}
	if (claim->request_bytes < 0) {
		rc = err_set(e, ERR_INVALID, "the claim requests a negative size (%lld bytes)",
			(long long)claim->request_bytes);
		goto fail;
	}
	out->required_bytes = claim->request_bytes;

	/* Unlike upstream, which sends no capability at all. */
	if (!claim->n_access_modes) {
		rc = err_set(e, ERR_INVALID, "the claim has no spec.accessModes; set at least one "
			"(for example ReadWriteOnce)");
		goto fail;
	}
	out->access_modes = xcalloc(claim->n_access_modes, sizeof(*out->access_modes));
	for (size_t i = 0; i < claim->n_access_modes; i++)
		if ((rc = map_access_mode(claim->access_modes[i], o,
					  &out->access_modes[out->n_access_modes++], e)))
			goto fail;
	out->block = str_eq(claim->volume_mode, "Block");

	for (size_t i = 0; i < params->n; i++) {
		const char *k = params->items[i].key, *v = params->items[i].value;

		if (!strcmp(k, PARAM_FSTYPE)) {
			fstype = v;
			continue;
		}
		if (!strncmp(k, CSI_PREFIX, strlen(CSI_PREFIX))) {
			if (is_reserved(k))
				continue;
			rc = err_set(e, ERR_INVALID, "found unknown parameter key \"%s\" with reserved namespace "
				CSI_PREFIX, k);
			goto fail;
		}
		if (!strcasecmp(k, PARAM_DEPRECATED_FSTYPE))
			deprecated_fstype = v;	/* deprecated, and passed on as upstream does */
		add_param(out, k, v);
	}
	if (fstype && deprecated_fstype) {
		rc = err_set(e, ERR_INVALID, "StorageClass \"%s\" sets both \"" PARAM_FSTYPE "\" and the deprecated "
			"\"fstype\"; keep only \"" PARAM_FSTYPE "\"", class->meta.name);
		goto fail;
	}
	if (!fstype)
		fstype = deprecated_fstype;
	if (!fstype || !*fstype)
		fstype = o->default_fstype;
	if (!out->block) {
		if (fstype && *fstype)
			out->fs_type = xstrdup(fstype);
		out->mount_flags = xcalloc(class->n_mount_options + 1, sizeof(char *));
		for (size_t i = 0; i < class->n_mount_options; i++)
			out->mount_flags[out->n_mount_flags++] = xstrdup(class->mount_options[i]);
	}
	{
		struct secret_context ctx = { out->name, claim->meta.name, claim->meta.namespace,
					      &claim->meta.annotations };

		for (int k = 0; k < SECRET_KINDS; k++)
			if ((rc = secret_ref_resolve(params, k, &ctx, &out->secrets[k], e)))
				goto fail;
	}
	if (o->extra_create_metadata) {
		add_param(out, CSI_PREFIX "pvc/name", claim->meta.name);
		add_param(out, CSI_PREFIX "pvc/namespace", claim->meta.namespace);
		add_param(out, CSI_PREFIX "pv/name", out->name);
	}
	return 0;
fail:
	plan_request_release(out);
	return rc;
}

void plan_request_release(struct plan_request *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->fs_type);
	free(r->access_modes);
	for (size_t i = 0; i < r->n_mount_flags; i++)
		free(r->mount_flags[i]);
	free(r->mount_flags);
	strmap_release(&r->params);
	for (int k = 0; k < SECRET_KINDS; k++)
		secret_ref_release(&r->secrets[k]);
	memset(r, 0, sizeof(*r));
}

/* The secret references a PV carries in spec.csi. */
static const struct {
	enum secret_kind kind;
	const char *field;
} pv_secret_fields[] = {
	{ SECRET_CONTROLLER_PUBLISH, "controllerPublishSecretRef" },
	{ SECRET_NODE_STAGE, "nodeStageSecretRef" },
	{ SECRET_NODE_PUBLISH, "nodePublishSecretRef" },
	{ SECRET_CONTROLLER_EXPAND, "controllerExpandSecretRef" },
	{ SECRET_NODE_EXPAND, "nodeExpandSecretRef" },
};

static json_t *string_array(char *const *items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

json_t *plan_pv(const struct kube_pvc *claim, const struct kube_storage_class *class,
		const struct plan_opts *o, const struct plan_request *req,
		const struct plan_volume *vol)
{
	int64_t bytes = vol->capacity_bytes > 0 ? vol->capacity_bytes : req->required_bytes;
	char *quantity = kube_quantity_format_bytes(bytes);
	json_t *attrs = json_object(), *csi, *spec, *meta, *ann;

	json_object_set_new(attrs, ATTR_PROVISIONER_IDENTITY, json_string(o->identity));
	for (size_t i = 0; vol->context && i < vol->context->n; i++)	/* the driver's context wins */
		json_object_set_new(attrs, vol->context->items[i].key,
				    json_string(vol->context->items[i].value));
	csi = json_pack("{s:s, s:s, s:o}", "driver", o->driver, "volumeHandle", vol->volume_id,
			"volumeAttributes", attrs);
	if (!req->block && req->fs_type)
		json_object_set_new(csi, "fsType", json_string(req->fs_type));
	if (o->controller_publish_readonly && req->n_access_modes == 1 &&
	    req->access_modes[0] == CSI_ACCESS_MULTI_NODE_READER_ONLY)
		json_object_set_new(csi, "readOnly", json_true());
	for (size_t i = 0; i < sizeof(pv_secret_fields) / sizeof(pv_secret_fields[0]); i++) {
		const struct secret_ref *ref = &req->secrets[pv_secret_fields[i].kind];

		if (ref->name)
			json_object_set_new(csi, pv_secret_fields[i].field,
					    json_pack("{s:s, s:s}", "name", ref->name,
						      "namespace", ref->namespace));
	}

	/* always present, "" when there is no secret: DeleteVolume reads them back */
	ann = json_pack("{s:s, s:s, s:s}", ANN_PROVISIONED_BY, o->provisioner,
			ANN_DELETION_SECRET_NAME,
			req->secrets[SECRET_PROVISIONER].name ? req->secrets[SECRET_PROVISIONER].name : "",
			ANN_DELETION_SECRET_NAMESPACE,
			req->secrets[SECRET_PROVISIONER].namespace ?
			req->secrets[SECRET_PROVISIONER].namespace : "");
	if (req->secrets[SECRET_CONTROLLER_MODIFY].name) {
		json_object_set_new(ann, ANN_MODIFY_SECRET_NAME,
				    json_string(req->secrets[SECRET_CONTROLLER_MODIFY].name));
		json_object_set_new(ann, ANN_MODIFY_SECRET_NAMESPACE,
				    json_string(req->secrets[SECRET_CONTROLLER_MODIFY].namespace));
	}
	meta = json_pack("{s:s, s:o}", "name", req->name, "annotations", ann);
	if (!class->reclaim_policy || !strcmp(class->reclaim_policy, "Delete"))
		json_object_set_new(meta, "finalizers", json_pack("[s]", FINALIZER_PV));

	spec = json_pack("{s:o, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:s, s:s, s:s}",
			 "accessModes", string_array(claim->access_modes, claim->n_access_modes),
			 "capacity", "storage", quantity,
			 "claimRef", "kind", "PersistentVolumeClaim", "apiVersion", "v1",
			 "namespace", claim->meta.namespace, "name", claim->meta.name,
			 "uid", claim->meta.uid,
			 "resourceVersion", claim->meta.resource_version ? claim->meta.resource_version : "",
			 "csi", csi,
			 "persistentVolumeReclaimPolicy",
			 class->reclaim_policy ? class->reclaim_policy : "Delete",
			 "storageClassName", plan_claim_class(claim),
			 "volumeMode", req->block ? "Block" : "Filesystem");
	if (vol->n_topology) {
		/* one term per accessible segment (terms are ORed), each key In [value] */
		json_t *terms = json_array();

		for (size_t t = 0; t < vol->n_topology; t++) {
			json_t *exprs = json_array();

			for (size_t i = 0; i < vol->topology[t].n; i++)
				json_array_append_new(exprs, json_pack("{s:s, s:s, s:[s]}",
					"key", vol->topology[t].items[i].key, "operator", "In",
					"values", vol->topology[t].items[i].value));
			json_array_append_new(terms, json_pack("{s:o}", "matchExpressions", exprs));
		}
		json_object_set_new(spec, "nodeAffinity",
				    json_pack("{s:{s:o}}", "required", "nodeSelectorTerms", terms));
	}
	if (!o->vac_disabled && claim->vac_name && *claim->vac_name)
		json_object_set_new(spec, "volumeAttributesClassName", json_string(claim->vac_name));
	if (class->n_mount_options && !req->block)
		json_object_set_new(spec, "mountOptions",
				    string_array(class->mount_options, class->n_mount_options));
	free(quantity);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "PersistentVolume",
			 "metadata", meta, "spec", spec);
}

bool plan_has_finalizer(const struct kube_meta *m, const char *finalizer)
{
	for (size_t i = 0; i < m->n_finalizers; i++)
		if (!strcmp(m->finalizers[i], finalizer))
			return true;
	return false;
}

bool plan_claim_marked(const struct kube_pvc *claim)
{
	return plan_has_finalizer(&claim->meta, FINALIZER_CLAIM) ||
	       strmap_get(&claim->meta.annotations, ANN_CLAIM_VOLUME);
}

json_t *plan_finalizer_patch(const struct kube_meta *m, const char *finalizer, bool add,
			     const char *ann_key, const char *ann_value)
{
	json_t *list = json_array(), *meta;

	for (size_t i = 0; i < m->n_finalizers; i++)
		if (strcmp(m->finalizers[i], finalizer))
			json_array_append_new(list, json_string(m->finalizers[i]));
	if (add)
		json_array_append_new(list, json_string(finalizer));
	meta = json_pack("{s:o}", "finalizers", list);
	if (m->resource_version)
		json_object_set_new(meta, "resourceVersion", json_string(m->resource_version));
	if (ann_key)
		json_object_set_new(meta, "annotations",
				    json_pack("{s:o}", ann_key,
					      add && ann_value ? json_string(ann_value) : json_null()));
	return json_pack("{s:o}", "metadata", meta);
}

/* "a/b~c" -> "a~1b~0c" (RFC 6901) */
static char *json_pointer_escape(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '~' || *s == '/') {
			*o++ = '~';
			*o++ = *s == '~' ? '0' : '1';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

void plan_patch_remove_annotation(json_t *ops, const struct kube_meta *m, const char *key)
{
	const char *v = key ? strmap_get(&m->annotations, key) : NULL;
	char *esc, *path;

	if (!v)
		return;
	esc = json_pointer_escape(key);
	path = xasprintf("/metadata/annotations/%s", esc);
	/* only the value we saw: a newer one (say, a new selected node) stays */
	json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path", path,
					     "value", v));
	json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
	free(path);
	free(esc);
}

json_t *plan_unmark_patch(const struct kube_meta *m, const char *finalizer, const char *ann_key)
{
	json_t *ops = json_array();
	char path[64];

	for (size_t i = 0; finalizer && i < m->n_finalizers; i++) {
		if (strcmp(m->finalizers[i], finalizer))
			continue;
		snprintf(path, sizeof(path), "/metadata/finalizers/%zu", i);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path", path,
						     "value", finalizer));
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
		break;
	}
	plan_patch_remove_annotation(ops, m, ann_key);
	if (!json_array_size(ops)) {
		json_decref(ops);
		return NULL;
	}
	return ops;
}

enum plan_error_class plan_classify_csi_error(int code)
{
	/* by the gRPC status on the wire; -1 (a local failure, another domain's code) is unknown */
	switch (csi_status(code)) {
	case 1:		/* CANCELLED */
	case 4:		/* DEADLINE_EXCEEDED */
	case 10:	/* ABORTED: an operation on this volume is already in flight */
	case 14:	/* UNAVAILABLE */
		return PLAN_ERR_IN_BACKGROUND;
	case 3:		/* INVALID_ARGUMENT */
		return PLAN_ERR_INFEASIBLE;
	case 0:
	case 2:		/* UNKNOWN */
	case 5: case 6: case 7: case 8: case 9: case 11: case 12: case 13: case 15: case 16:
		return PLAN_ERR_FINAL;
	default:	/* not a gRPC status: we cannot know what the driver did */
		return PLAN_ERR_IN_BACKGROUND;
	}
}

bool plan_pv_migrated(const struct kube_pv *pv, const struct plan_opts *o)
{
	const struct mig_plugin *p = mig_plugin_by_kind(pv->intree.kind);

	return p && o->migrated_from && !strcmp(p->in_tree, o->migrated_from);
}

bool plan_pv_is_ours(const struct kube_pv *pv, const struct plan_opts *o)
{
	const char *by = strmap_get(&pv->meta.annotations, ANN_PROVISIONED_BY);
	const char *migrated = strmap_get(&pv->meta.annotations, ANN_MIGRATED_TO);

	/*
	 * As upstream's shouldDelete: provisioned by us, or migrated to us. An
	 * in-tree PV (provisioned-by the in-tree name) is ours only once the
	 * controller manager marked it migrated-to our driver: before that, or
	 * when migration is rolled back, the in-tree plugin owns it.
	 */
	if (by || migrated)
		return str_eq(by, o->provisioner) || str_eq(migrated, o->provisioner);
	/* a statically created PV of our driver: its reclaim policy is honoured too */
	return str_eq(pv->csi_driver, o->driver);
}

bool plan_pv_should_delete(const struct kube_pv *pv, const struct plan_opts *o, const char **why)
{
	if (!plan_pv_is_ours(pv, o)) {
		*why = "the volume was not provisioned by us";
		return false;
	}
	if (pv->meta.deleting && !plan_has_finalizer(&pv->meta, FINALIZER_PV)) {
		/* deleted without our finalizer: nothing holds it for us any more */
		*why = "the PersistentVolume is being deleted without our finalizer";
		return false;
	}
	if (!str_eq(pv->phase, "Released")) {
		*why = "the volume is not Released";
		return false;
	}
	if (!str_eq(pv->reclaim_policy, "Delete")) {
		*why = "the reclaim policy is not Delete";
		return false;
	}
	if ((!pv->csi_volume_handle || !*pv->csi_volume_handle) && !plan_pv_migrated(pv, o)) {
		*why = pv->intree.kind ? "the volume is of an in-tree plugin our driver does not "
			"replace" : "the volume has no CSI volume handle";
		return false;
	}
	*why = "";
	return true;
}
