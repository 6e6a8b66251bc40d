/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.h - compact C views of the Kubernetes objects a provisioner
 * reads: PersistentVolumeClaim, PersistentVolume, StorageClass.
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

/* A string-to-string map in the order the server sent it. */
struct kube_strmap {
	char **keys;
	char **values;
	size_t n;
};

/* The value for `key`, borrowed from m, or NULL. Linear: maps are small. */
const char *kube_strmap_get(const struct kube_strmap *m, const char *key);
void kube_strmap_release(struct kube_strmap *m);

struct kube_meta {
	char *name, *namespace;	/* namespace NULL for cluster-scoped objects */
	char *uid, *resource_version;
	int64_t generation;
	bool deleting;		/* metadata.deletionTimestamp is set */
	struct kube_strmap annotations, labels;
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
	char *volume_name;		/* spec.volumeName; NULL if unbound */
	char *volume_mode;		/* NULL means Filesystem */
	bool has_selector;		/* spec.selector present */
	/* spec.dataSourceRef when set, else spec.dataSource; all NULL if neither */
	char *data_source_kind, *data_source_api_group, *data_source_name;
	char *data_source_namespace;	/* dataSourceRef.namespace (cross-namespace) */
	char *vac_name;			/* spec.volumeAttributesClassName */
	char *phase;			/* status.phase */
};

struct kube_pv {
	struct kube_meta meta;
	char *csi_driver, *csi_volume_handle;	/* NULL for non-CSI volumes */
	char *reclaim_policy;		/* spec.persistentVolumeReclaimPolicy */
	char *phase;			/* status.phase */
	char *claim_ns, *claim_name, *claim_uid;	/* spec.claimRef */
	char *storage_class_name;
	int64_t capacity_bytes;		/* spec.capacity.storage; 0 if unset */
};

struct kube_storage_class {
	struct kube_meta meta;
	char *provisioner;
	struct kube_strmap parameters;
	char *reclaim_policy;		/* "Delete" when unset */
	char *volume_binding_mode;	/* "Immediate" when unset */
	char **mount_options;
	size_t n_mount_options;
	bool allow_volume_expansion;
};

/*
 * Decode `obj` into *out, which the caller owns and which is overwritten
 * (not released) first. On failure *out is left zeroed and nothing leaks.
 */
int kube_meta_decode(json_t *metadata, const char *what, struct kube_meta *out, struct err *e);
int kube_pvc_decode(json_t *obj, struct kube_pvc *out, struct err *e);
int kube_pv_decode(json_t *obj, struct kube_pv *out, struct err *e);
int kube_storage_class_decode(json_t *obj, struct kube_storage_class *out, struct err *e);

/* Free the contents and zero the struct. Accept NULL. */
void kube_meta_release(struct kube_meta *m);
void kube_pvc_release(struct kube_pvc *p);
void kube_pv_release(struct kube_pv *p);
void kube_storage_class_release(struct kube_storage_class *s);

#endif
