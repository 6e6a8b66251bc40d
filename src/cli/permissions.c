// SPDX-License-Identifier: Apache-2.0
/*
 * permissions.c - the table of API permissions the daemon uses (see
 * permissions.h). A row added here needs its rule in deploy/rbac.yaml and
 * tests/cluster/rbac.yaml; the unit test fails until both agree.
 */
#include "cli/permissions.h"

#define ROW(g, r, v, need, own, use) { g, r, v, need, own, use }

static const struct perm table[] = {
	ROW("", "persistentvolumes", "get", PERM_ALWAYS, 0, "read a PV live before trusting it"),
	ROW("", "persistentvolumes", "list", PERM_ALWAYS, 0, "the PV cache"),
	ROW("", "persistentvolumes", "watch", PERM_ALWAYS, 0, "the PV cache"),
	ROW("", "persistentvolumes", "create", PERM_ALWAYS, 0, "save a provisioned volume"),
	ROW("", "persistentvolumes", "delete", PERM_ALWAYS, 0, "remove a deleted volume's PV"),
	ROW("", "persistentvolumes", "patch", PERM_ALWAYS, 0, "our PV finalizer"),
	ROW("", "persistentvolumeclaims", "list", PERM_ALWAYS, 0, "the claim cache"),
	ROW("", "persistentvolumeclaims", "watch", PERM_ALWAYS, 0, "the claim cache"),
	ROW("", "persistentvolumeclaims", "patch", PERM_ALWAYS, 0,
	    "clone-source finalizer, selected-node removal"),
	ROW("storage.k8s.io", "storageclasses", "list", PERM_ALWAYS, 0, "the class cache"),
	ROW("storage.k8s.io", "storageclasses", "watch", PERM_ALWAYS, 0, "the class cache"),
	ROW("storage.k8s.io", "volumeattributesclasses", "get", PERM_VAC, 0,
	    "mutable parameters of a claim's VolumeAttributesClass"),
	ROW("", "events", "create", PERM_ALWAYS, 0, "events on claims and volumes"),
	ROW("", "events", "patch", PERM_ALWAYS, 0, "repeated events"),
	ROW("", "secrets", "get", PERM_ALWAYS, 0, "secrets classes name for CreateVolume/DeleteVolume"),
	ROW("", "nodes", "list", PERM_TOPOLOGY, 0, "topology: the node cache"),
	ROW("", "nodes", "watch", PERM_TOPOLOGY, 0, "topology: the node cache"),
	ROW("storage.k8s.io", "csinodes", "list", PERM_TOPOLOGY, 0, "topology: the CSINode cache"),
	ROW("storage.k8s.io", "csinodes", "watch", PERM_TOPOLOGY, 0, "topology: the CSINode cache"),
	ROW("storage.k8s.io", "volumeattachments", "list", PERM_ATTACH, 0,
	    "no deletion while attached"),
	ROW("storage.k8s.io", "volumeattachments", "watch", PERM_ATTACH, 0,
	    "no deletion while attached"),
	ROW("snapshot.storage.k8s.io", "volumesnapshots", "get", PERM_SNAPSHOT, 0,
	    "restore from a snapshot"),
	ROW("snapshot.storage.k8s.io", "volumesnapshots", "patch", PERM_SNAPSHOT, 0,
	    "our finalizer on a snapshot being restored"),
	ROW("snapshot.storage.k8s.io", "volumesnapshots", "list", PERM_SNAPSHOT, 0,
	    "the sweep of our orphaned finalizers on snapshots"),
	ROW("snapshot.storage.k8s.io", "volumesnapshotcontents", "get", PERM_SNAPSHOT, 0,
	    "restore from a snapshot"),
	ROW("coordination.k8s.io", "leases", "get", PERM_LEASES, 1,
	    "leader election, the intent journal"),
	ROW("coordination.k8s.io", "leases", "list", PERM_JOURNAL, 1, "the intent journal"),
	ROW("coordination.k8s.io", "leases", "create", PERM_LEASES, 1,
	    "leader election, the intent journal"),
	ROW("coordination.k8s.io", "leases", "update", PERM_LEASES, 1,
	    "leader election, the intent journal"),
	ROW("", "configmaps", "list", PERM_ADOPT, 1,
	    "adopt an older version's ConfigMap journal (optional)"),
	ROW("", "configmaps", "delete", PERM_ADOPT, 1,
	    "adopt an older version's ConfigMap journal (optional)"),
	ROW("gateway.networking.k8s.io", "referencegrants", "list", PERM_XNS, 0,
	    "cross-namespace data sources allowed by a ReferenceGrant"),
	ROW("storage.k8s.io", "csistoragecapacities", "list", PERM_CAPACITY, 1, "capacity tracking"),
	ROW("storage.k8s.io", "csistoragecapacities", "watch", PERM_CAPACITY, 1, "capacity tracking"),
	ROW("storage.k8s.io", "csistoragecapacities", "create", PERM_CAPACITY, 1, "capacity tracking"),
	ROW("storage.k8s.io", "csistoragecapacities", "patch", PERM_CAPACITY, 1, "capacity tracking"),
	ROW("storage.k8s.io", "csistoragecapacities", "delete", PERM_CAPACITY, 1, "capacity tracking"),
	ROW("", "pods", "get", PERM_CAPACITY, 1, "capacity tracking: the objects' owner"),
	ROW("apps", "replicasets", "get", PERM_CAPACITY, 1, "capacity tracking: the objects' owner"),
};

const struct perm *perm_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
