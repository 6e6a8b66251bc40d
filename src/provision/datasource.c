// SPDX-License-Identifier: Apache-2.0
/* datasource.c - clone and snapshot sources, checked (see datasource.h). */
#include "provision/datasource.h"

#include <string.h>

#include "provision/plan.h"

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* NULL and "Filesystem" are the same mode. */
static bool same_mode(const char *a, const char *b)
{
	return !strcmp(a ? a : "Filesystem", b ? b : "Filesystem");
}

/* strconv.ParseBool, as upstream reads the annotation: 1 if true, 0 if false, -1 if neither. */
static int go_bool(const char *v)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]))
			return 1;
		if (!strcmp(v, no[i]))
			return 0;
	}
	return -1;
}

/*
 * --prevent-volume-mode-conversion: restoring a snapshot into a volume of
 * another mode (a Block snapshot read as a filesystem, or the reverse) can
 * expose data the kernel then misparses, so it needs the content's consent.
 * As upstream, the check applies only when both modes are known.
 */
static int mode_change_refused(const struct kube_pvc *claim,
			       const struct kube_snapshot_content *content, struct err *e)
{
	const char *allow;

	if (!content->source_volume_mode || !claim->volume_mode ||
	    !strcmp(content->source_volume_mode, claim->volume_mode))
		return 0;
	allow = strmap_get(&content->meta.annotations, ANN_ALLOW_MODE_CHANGE);
	if (!allow)
		return err_set(e, ERR_INVALID, "claim %s/%s asks for volume mode %s but snapshot content %s "
			       "holds a %s volume: a mode change needs annotation %s=true on the "
			       "content", claim->meta.namespace, claim->meta.name, claim->volume_mode,
			       content->meta.name, content->source_volume_mode,
			       ANN_ALLOW_MODE_CHANGE);
	switch (go_bool(allow)) {
	case 1:
		return 0;
	case 0:
		return err_set(e, ERR_INVALID, "claim %s/%s asks for volume mode %s but snapshot content %s "
			       "holds a %s volume and sets %s to false", claim->meta.namespace,
			       claim->meta.name, claim->volume_mode, content->meta.name,
			       content->source_volume_mode, ANN_ALLOW_MODE_CHANGE);
	default:
		return err_set(e, ERR_INVALID, "claim %s/%s asks for volume mode %s but snapshot content %s "
			       "holds a %s volume and its annotation %s=\"%s\" is not a boolean",
			       claim->meta.namespace, claim->meta.name, claim->volume_mode,
			       content->meta.name, content->source_volume_mode,
			       ANN_ALLOW_MODE_CHANGE, allow);
	}
}

enum ds_kind ds_kind_of(const struct kube_pvc *claim)
{
	const char *kind = claim->data_source_kind, *group = claim->data_source_api_group;

	if (!kind || !*kind || !claim->data_source_name)
		return DS_NONE;
	if (!strcmp(kind, "PersistentVolumeClaim") && (!group || !*group))
		return DS_CLONE;
	if (!strcmp(kind, "VolumeSnapshot") && eq(group, SNAPSHOT_GROUP))
		return DS_SNAPSHOT;
	return DS_EXTERNAL;
}

const char *ds_source_namespace(const struct kube_pvc *claim)
{
	const char *ns = claim->data_source_namespace;

	return ns && *ns ? ns : claim->meta.namespace;
}

int ds_check_clone(const struct kube_pvc *claim, const struct kube_pvc *source,
		   const struct kube_pv *source_pv, const char *provisioner,
		   const char **volume_id, struct err *e)
{
	const char *name = claim->data_source_name, *ns = ds_source_namespace(claim);

	*volume_id = NULL;
	if (!source)
		return err_set(e, ERR_INVALID, "source claim %s/%s not found", ns, name);
	if (source->meta.deleting)
		return err_set(e, ERR_INVALID, "source claim %s/%s is being deleted", ns, name);
	if (!eq(source->phase, "Bound") || !source->volume_name)
		return err_set(e, ERR_INVALID, "source claim %s/%s is not bound yet", ns, name);
	if (!source->storage_class_name || !*source->storage_class_name)
		return err_set(e, ERR_INVALID, "source claim %s/%s has no StorageClass", ns, name);
	if (!plan_claim_class(claim))
		return err_set(e, ERR_INVALID, "a clone needs a StorageClass");
	if (claim->request_bytes < source->request_bytes)
		return err_set(e, ERR_INVALID, "the clone requests %lld bytes, less than its source %s/%s "
			       "(%lld bytes)", (long long)claim->request_bytes, ns,
			       name, (long long)source->request_bytes);
	if (!source_pv)
		return err_set(e, ERR_INVALID, "volume %s of source claim %s/%s not found",
			       source->volume_name, ns, name);
	if (!source_pv->csi_driver || !source_pv->csi_volume_handle)
		return err_set(e, ERR_INVALID, "volume %s of source claim %s/%s is not a CSI volume",
			       source_pv->meta.name, ns, name);
	if (!eq(source_pv->csi_driver, provisioner))
		return err_set(e, ERR_INVALID, "the source volume %s belongs to driver %s, not %s: a clone "
			       "must stay with its driver", source_pv->meta.name, source_pv->csi_driver,
			       provisioner);
	if (!eq(source_pv->claim_uid, source->meta.uid) || !eq(source_pv->claim_ns, source->meta.namespace) ||
	    !eq(source_pv->claim_name, source->meta.name))
		return err_set(e, ERR_INVALID, "volume %s is not bound to source claim %s/%s",
			       source_pv->meta.name, ns, name);
	if (!eq(source_pv->phase, "Bound"))
		return err_set(e, ERR_INVALID, "volume %s of source claim %s/%s is not Bound",
			       source_pv->meta.name, ns, name);
	if (!same_mode(claim->volume_mode, source->volume_mode))
		return err_set(e, ERR_INVALID, "the clone's volume mode %s differs from its source's %s",
			       claim->volume_mode ? claim->volume_mode : "Filesystem",
			       source->volume_mode ? source->volume_mode : "Filesystem");
	*volume_id = source_pv->csi_volume_handle;
	return 0;
}

int ds_check_snapshot(const struct kube_pvc *claim, const struct kube_volume_snapshot *snap,
		      const struct kube_snapshot_content *content, const char *provisioner,
		      bool prevent_mode_conversion, const char **snapshot_id, struct err *e)
{
	const char *name = claim->data_source_name, *ns = ds_source_namespace(claim);
	int rc;

	*snapshot_id = NULL;
	if (!snap)
		return err_set(e, ERR_INVALID, "snapshot %s/%s not found", ns, name);
	if (snap->meta.deleting && !plan_has_finalizer(&snap->meta, FINALIZER_SNAPSHOT_SOURCE))
		return err_set(e, ERR_INVALID, "snapshot %s/%s is being deleted", ns, name);
	if (!snap->bound_content || !*snap->bound_content)
		return err_set(e, ERR_INVALID, "snapshot %s/%s is not bound to a VolumeSnapshotContent yet",
			       ns, name);
	if (!content)
		return err_set(e, ERR_INVALID, "VolumeSnapshotContent %s of snapshot %s/%s not found",
			       snap->bound_content, ns, name);
	if (!eq(content->ref_name, snap->meta.name) || !eq(content->ref_ns, snap->meta.namespace) ||
	    (content->ref_uid && *content->ref_uid && !eq(content->ref_uid, snap->meta.uid)))
		return err_set(e, ERR_INVALID, "VolumeSnapshotContent %s does not point back at snapshot %s/%s",
			       content->meta.name, ns, name);
	if (!eq(content->driver, provisioner))
		return err_set(e, ERR_INVALID, "snapshot %s/%s was taken by driver %s, not %s",
			       ns, name, content->driver ? content->driver : "?",
			       provisioner);
	if (!snap->ready)
		return err_set(e, ERR_INVALID, "snapshot %s/%s is not ready to use yet", ns, name);
	if (!content->snapshot_handle || !*content->snapshot_handle)
		return err_set(e, ERR_INVALID, "VolumeSnapshotContent %s has no snapshot handle",
			       content->meta.name);
	{
		int64_t restore = snap->has_restore_size ? snap->restore_bytes :
				  content->has_restore_size ? content->restore_bytes : 0;

		if (claim->request_bytes < restore)
			return err_set(e, ERR_INVALID, "the claim requests %lld bytes, less than the snapshot's "
				       "restore size %lld", (long long)claim->request_bytes,
				       (long long)restore);
	}
	if (prevent_mode_conversion && (rc = mode_change_refused(claim, content, e)))
		return rc;
	*snapshot_id = content->snapshot_handle;
	return 0;
}
