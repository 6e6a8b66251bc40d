/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.h - compact C views of the Kubernetes objects a provisioner
 * reads: PersistentVolumeClaim, PersistentVolume, StorageClass, Node,
 * CSINode, Secret, VolumeAttachment, VolumeAttributesClass,
 * CSIStorageCapacity, VolumeSnapshot, VolumeSnapshotContent and Lease.
 *
 * Each decoder copies only the fields below out of a jansson tree, so the
 * tree can be dropped right after and a cache holds a few hundred bytes
 * per object. Decoding is strict about types: a field with the wrong JSON
 * type is KUBE_ERR_DECODE with a message naming the object and the field
 * ("persistentvolumeclaim 'ns/a': spec.accessModes[1] is a number, want a
 * string"), never a crash and never silently ignored. Absent and JSON null
 * fields are "unset" (NULL pointers, zero counts, false flags).
 *
 * Ownership: every struct owns all of its strings and arrays; release with
 * the matching *_release (accepts NULL; leaves the struct zeroed). The
 * decoders borrow `obj` and never keep a reference to it. Encoding PVs is
 * another module's job.
 */
#ifndef KUBE_OBJECTS_H
#define KUBE_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "base/strmap.h"

/* metadata; annotations leave out kubectl.kubernetes.io/last-applied-configuration */
struct kube_meta {
	char *name, *namespace;	/* namespace NULL for cluster-scoped objects */
	char *uid, *resource_version;
	int64_t generation;
	bool deleting;		/* metadata.deletionTimestamp is set */
	struct strmap annotations, labels;
	char **finalizers;
	size_t n_finalizers;
};

struct kube_pvc {
	struct kube_meta meta;
	char *storage_class_name;	/* NULL if unset ("" is a real value: no class) */
	char **access_modes;
	size_t n_access_modes;
	int64_t request_bytes;		/* spec.resources.requests.storage, rounded up */
	bool has_request;
	int64_t limit_bytes;		/* spec.resources.limits.storage, rounded up */
	bool has_limit;
	char *volume_name;		/* spec.volumeName; NULL if unbound */
	char *volume_mode;		/* NULL means Filesystem */
	bool has_selector;		/* spec.selector present */
	/* spec.dataSourceRef when set, else spec.dataSource; all NULL if neither */
	char *data_source_kind, *data_source_api_group, *data_source_name;
	char *data_source_namespace;	/* dataSourceRef.namespace (cross-namespace) */
	char *vac_name;			/* spec.volumeAttributesClassName */
	char *phase;			/* status.phase */
	int64_t status_capacity_bytes;	/* status.capacity.storage; 0 if unset */
	bool has_status_capacity;
};

/*
 * The in-tree volume plugins that CSI migration hands to a CSI driver, by
 * the PV spec field that holds their source.
 */
enum kube_intree_kind {
	KUBE_INTREE_NONE = 0,
	KUBE_INTREE_AWS_EBS,		/* spec.awsElasticBlockStore */
	KUBE_INTREE_GCE_PD,		/* spec.gcePersistentDisk */
	KUBE_INTREE_AZURE_DISK,		/* spec.azureDisk */
	KUBE_INTREE_AZURE_FILE,		/* spec.azureFile */
	KUBE_INTREE_CINDER,		/* spec.cinder */
	KUBE_INTREE_VSPHERE,		/* spec.vsphereVolume */
	KUBE_INTREE_PORTWORX,		/* spec.portworxVolume */
};

/* Such a source: what deleting its volume through the CSI driver needs. */
struct kube_pv_intree {
	enum kube_intree_kind kind;	/* NONE: the PV has none of these sources */
	/* volumeID (EBS, Cinder, Portworx), pdName, diskURI, shareName, volumePath */
	char *id;
	char *fs_type;
	char *disk_kind;		/* azureDisk.kind */
	char *secret_name, *secret_namespace;	/* azureFile */
	int64_t partition;
	bool read_only;
};

struct kube_pv {
	struct kube_meta meta;
	struct kube_pv_intree intree;	/* kind NONE for CSI and other volumes */
	char *csi_driver, *csi_volume_handle;	/* NULL for non-CSI volumes */
	char *reclaim_policy;		/* spec.persistentVolumeReclaimPolicy */
	char *phase;			/* status.phase */
	char *claim_ns, *claim_name, *claim_uid;	/* spec.claimRef */
	char *claim_rv;			/* spec.claimRef.resourceVersion */
	char *storage_class_name;
	int64_t capacity_bytes;		/* spec.capacity.storage; 0 if unset */
	bool has_node_affinity;		/* spec.nodeAffinity present */
	/*
	 * spec.nodeAffinity.required.nodeSelectorTerms (matchExpressions, each
	 * req with its operator); a term with matchFields gets a req with key
	 * NULL and op "matchFields". For --node-deployment's "is it this
	 * node's volume".
	 */
	struct kube_topology_term *affinity;
	size_t n_affinity;
};

/*
 * One term of a topology selector: every requirement must match
 * (StorageClass allowedTopologies[i].matchLabelExpressions).
 */
struct kube_label_req {
	char *key;
	char *op;			/* node affinity's operator; NULL = In */
	char **values;
	size_t n_values;
};

struct kube_topology_term {
	struct kube_label_req *reqs;
	size_t n_reqs;
};

struct kube_storage_class {
	struct kube_meta meta;
	char *provisioner;
	struct strmap parameters;
	char *reclaim_policy;		/* "Delete" when unset */
	char *volume_binding_mode;	/* "Immediate" when unset */
	char **mount_options;
	size_t n_mount_options;
	bool allow_volume_expansion;
	/* allowedTopologies: any term may match; none means no restriction */
	struct kube_topology_term *allowed_topologies;
	size_t n_allowed_topologies;
};

/* Node: name and labels are all a provisioner reads (both in meta). */
struct kube_node {
	struct kube_meta meta;
};

struct kube_csinode_driver {
	char *name;
	char *node_id;			/* nodeID */
	char **topology_keys;
	size_t n_topology_keys;
};

struct kube_csinode {
	struct kube_meta meta;
	struct kube_csinode_driver *drivers;	/* spec.drivers */
	size_t n_drivers;
};

/* Largest decoded size of all of a Secret's data values together. */
#define KUBE_SECRET_DATA_MAX ((size_t)1 << 20)

struct kube_secret {
	struct kube_meta meta;
	char *type;			/* "Opaque" etc.; NULL if unset */
	/*
	 * data, base64-decoded, in server order: byte values that may hold
	 * NULs (each also NUL-terminated); data_lens[i] is the length of
	 * data.items[i].value. Wiped on release.
	 */
	struct strmap data;
	size_t *data_lens;
};

struct kube_volume_attachment {
	struct kube_meta meta;
	char *attacher;			/* spec.attacher */
	char *node_name;		/* spec.nodeName */
	char *pv_name;			/* spec.source.persistentVolumeName */
	bool attached;			/* status.attached */
};

struct kube_vac {
	struct kube_meta meta;
	char *driver_name;		/* driverName */
	struct strmap parameters;
};

struct kube_csi_capacity {
	struct kube_meta meta;
	char *storage_class_name;
	int64_t capacity_bytes;		/* capacity */
	bool has_capacity;
	int64_t max_volume_bytes;	/* maximumVolumeSize */
	bool has_max_volume;
	bool has_node_topology;		/* nodeTopology present (NULL selects no node) */
	struct strmap node_topology;	/* nodeTopology.matchLabels */
};

struct kube_volume_snapshot {
	struct kube_meta meta;
	char *source_pvc;		/* spec.source.persistentVolumeClaimName */
	char *source_content;		/* spec.source.volumeSnapshotContentName */
	char *class_name;		/* spec.volumeSnapshotClassName */
	char *bound_content;		/* status.boundVolumeSnapshotContentName */
	bool ready;			/* status.readyToUse */
	int64_t restore_bytes;		/* status.restoreSize (a quantity) */
	bool has_restore_size;
};

struct kube_snapshot_content {
	struct kube_meta meta;		/* annotations carry the snapshotter's secrets refs */
	char *driver;			/* spec.driver */
	char *snapshot_handle;		/* status.snapshotHandle, else spec.source.snapshotHandle */
	char *source_volume_handle;	/* spec.source.volumeHandle */
	char *deletion_policy;		/* spec.deletionPolicy */
	char *ref_ns, *ref_name, *ref_uid;	/* spec.volumeSnapshotRef */
	char *source_volume_mode;	/* spec.sourceVolumeMode; NULL if unknown */
	bool ready;			/* status.readyToUse */
	int64_t restore_bytes;		/* status.restoreSize (an integer of bytes) */
	bool has_restore_size;
};

struct kube_lease {
	struct kube_meta meta;
	char *holder;			/* spec.holderIdentity; NULL if free */
	int64_t duration_s;		/* spec.leaseDurationSeconds */
	int64_t acquire_us, renew_us;	/* spec.acquireTime/renewTime, µs since the epoch; 0 unset */
	int64_t transitions;		/* spec.leaseTransitions */
};

/*
 * Parse an RFC 3339 time as the API server writes it
 * ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456Z", with an offset
 * "+02:00" also accepted) into microseconds since the epoch. Digits beyond
 * microseconds are dropped. KUBE_ERR_INVALID quoting `s` otherwise.
 */
int kube_time_parse(const char *s, int64_t *unix_us, struct err *e);

/*
 * Decode `obj` into *out, which the caller owns and which is overwritten
 * (not released) first. On failure *out is left zeroed and nothing leaks.
 */
int kube_meta_decode(json_t *metadata, const char *what, struct kube_meta *out, struct err *e);
int kube_pvc_decode(json_t *obj, struct kube_pvc *out, struct err *e);
int kube_pv_decode(json_t *obj, struct kube_pv *out, struct err *e);
/*
 * The in-tree source of a PV's `spec` (objects_intree.c); kind NONE when
 * there is none. `what` names the PV in errors. Release with
 * kube_pv_intree_release.
 */
int kube_pv_intree_decode(json_t *spec, const char *what, struct kube_pv_intree *out,
			  struct err *e);
int kube_storage_class_decode(json_t *obj, struct kube_storage_class *out, struct err *e);
int kube_node_decode(json_t *obj, struct kube_node *out, struct err *e);
int kube_csinode_decode(json_t *obj, struct kube_csinode *out, struct err *e);
/* A data value that is not base64, or data past KUBE_SECRET_DATA_MAX, fails. */
int kube_secret_decode(json_t *obj, struct kube_secret *out, struct err *e);
int kube_volume_attachment_decode(json_t *obj, struct kube_volume_attachment *out,
				  struct err *e);
int kube_vac_decode(json_t *obj, struct kube_vac *out, struct err *e);
int kube_csi_capacity_decode(json_t *obj, struct kube_csi_capacity *out, struct err *e);
int kube_volume_snapshot_decode(json_t *obj, struct kube_volume_snapshot *out, struct err *e);
int kube_snapshot_content_decode(json_t *obj, struct kube_snapshot_content *out,
				 struct err *e);
int kube_lease_decode(json_t *obj, struct kube_lease *out, struct err *e);

/*
 * Packed copies (objects_pack.c): the struct, its pointer arrays and its
 * strings in one block of kube_*_packed_size bytes (a multiple-of-8 start,
 * e.g. from malloc), for caches. The block is freed as one (never with
 * *_release) and borrows nothing from the source, which the caller still
 * releases.
 */
size_t kube_pvc_packed_size(const struct kube_pvc *p);
void kube_pvc_pack(const struct kube_pvc *p, void *block);
size_t kube_pv_packed_size(const struct kube_pv *p);
void kube_pv_pack(const struct kube_pv *p, void *block);

/* Free the contents and zero the struct. Accept NULL. */
void kube_meta_release(struct kube_meta *m);
void kube_pvc_release(struct kube_pvc *p);
void kube_pv_release(struct kube_pv *p);
void kube_pv_intree_release(struct kube_pv_intree *s);
void kube_storage_class_release(struct kube_storage_class *s);
void kube_topology_terms_free(struct kube_topology_term *t, size_t n);
void kube_node_release(struct kube_node *n);
void kube_csinode_release(struct kube_csinode *n);
void kube_secret_release(struct kube_secret *s);	/* wipes the data first */
void kube_volume_attachment_release(struct kube_volume_attachment *v);
void kube_vac_release(struct kube_vac *v);
void kube_csi_capacity_release(struct kube_csi_capacity *c);
void kube_volume_snapshot_release(struct kube_volume_snapshot *s);
void kube_snapshot_content_release(struct kube_snapshot_content *s);
void kube_lease_release(struct kube_lease *l);

#endif
