/* SPDX-License-Identifier: Apache-2.0 */
/*
 * datasource.h - a claim's data source (a PVC to clone, a VolumeSnapshot to
 * restore), checked as pure functions before CreateVolume is asked to copy.
 *
 * The rules are upstream's: the source must be settled (bound, ready, not
 * being deleted), provisioned by the same driver, at most as large as the
 * new claim, and of the same volume mode unless the snapshot's content
 * allows a change. Anything else is an error naming the rule.
 */
#ifndef PROVISION_DATASOURCE_H
#define PROVISION_DATASOURCE_H

#include <stdbool.h>

#include "base/err.h"
#include "kube/objects.h"

#define FINALIZER_CLONE_SOURCE "provisioner.storage.kubernetes.io/cloning-protection"
#define FINALIZER_SNAPSHOT_SOURCE "provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection"
#define ANN_ALLOW_MODE_CHANGE "snapshot.storage.kubernetes.io/allow-volume-mode-change"
#define SNAPSHOT_GROUP "snapshot.storage.k8s.io"

enum ds_kind {
	DS_NONE,	/* an empty volume */
	DS_CLONE,	/* kind PersistentVolumeClaim, core group */
	DS_SNAPSHOT,	/* kind VolumeSnapshot, snapshot.storage.k8s.io */
	DS_EXTERNAL,	/* anything else: a volume populator's job, not ours */
};

enum ds_kind ds_kind_of(const struct kube_pvc *claim);

/*
 * The namespace of the claim's data source: dataSourceRef.namespace when
 * set (cross-namespace, see refgrant.h), else the claim's own. Borrowed.
 */
const char *ds_source_namespace(const struct kube_pvc *claim);

/*
 * Check a clone of `source` (bound to `source_pv`) for `claim` of `class`.
 * `provisioner` is ours. On success *volume_id borrows the source volume's
 * handle (from source_pv). source and source_pv may be NULL (not found).
 */
int ds_check_clone(const struct kube_pvc *claim, const struct kube_pvc *source,
		   const struct kube_pv *source_pv, const char *provisioner,
		   const char **volume_id, struct err *e);

/*
 * Check a restore of `snap` (bound to `content`) for `claim`. On success
 * *snapshot_id borrows the content's snapshot handle.
 */
int ds_check_snapshot(const struct kube_pvc *claim, const struct kube_volume_snapshot *snap,
		      const struct kube_snapshot_content *content, const char *provisioner,
		      bool prevent_mode_conversion, const char **snapshot_id, struct err *e);

#endif
