/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_sweep.h - the rule of the orphaned-finalizer sweep
 * (--snapshot-orphan-sweep-interval), as pure functions; the sweep itself
 * runs in the controller (snapshot_sweep.c, started by controller_start).
 *
 * Upstream's rule: our source-protection finalizer on a VolumeSnapshot is
 * orphaned when no claim whose phase is Pending (or not yet set) restores
 * from that snapshot, whoever provisions the claim.
 */
#ifndef PROVISION_SNAPSHOT_SWEEP_H
#define PROVISION_SNAPSHOT_SWEEP_H

#include <stdbool.h>

#include "base/hmap.h"
#include "kube/objects.h"

/*
 * Add to `index` (keys "ns/name", values NULL) the snapshot that claim `p`
 * restores from, if it is Pending and restores from one: its dataSource or
 * dataSourceRef of kind VolumeSnapshot (group snapshot.storage.k8s.io or
 * none), in the reference's namespace when it names one.
 */
void snapshot_pending_add(struct hmap *index, const struct kube_pvc *p);

/* Whether `s` carries our finalizer and no claim in `index` restores from it. */
bool snapshot_orphaned(const struct kube_volume_snapshot *s, const struct hmap *index);

#endif
