/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cap_plan.h - the pure decisions of storage capacity tracking: which
 * topology segments exist (from CSINodes and Nodes), which classes get
 * CSIStorageCapacity objects, what an object looks like, when an existing
 * one needs a change, and who owns it. No I/O: capacity.c feeds these from
 * its caches and the driver, tests/unit/capacity covers them table by table.
 *
 * Wire compatibility with upstream (pkg/capacity): objects carry the labels
 * csi.storage.k8s.io/drivername=<driver> and csi.storage.k8s.io/managed-by=
 * <id> ("external-provisioner"), a name generated from "csisc-", the class
 * name, nodeTopology.matchLabels = the segment, and quantities in bytes, so
 * upstream and this daemon each take over the other's objects.
 */
#ifndef CAPACITY_CAP_PLAN_H
#define CAPACITY_CAP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "kube/objects.h"

#define CAP_LABEL_DRIVER "csi.storage.k8s.io/drivername"
#define CAP_LABEL_MANAGED_BY "csi.storage.k8s.io/managed-by"
#define CAP_MANAGED_BY "external-provisioner"
#define CAP_NAME_PREFIX "csisc-"

/*
 * A topology segment is a struct strmap sorted by key (keys unique;
 * strmap_sort, strmap_cmp). n == 0 is the segment of a driver without
 * topology (its objects select every node).
 */
/* A segment from unsorted pairs (borrowed); duplicate keys keep the last. */
void cap_segment_from_pairs(struct strmap *out, const char *const *keys,
			    const char *const *values, size_t n);
/* "k1=v1,k2=v2" for log lines; caller frees. */
char *cap_segment_string(const struct strmap *s);

/*
 * The work-queue key of the object for (class, segment): the class name,
 * then each pair, separated by control characters no name or label can
 * hold. Caller frees.
 */
char *cap_item_key(const char *class_name, const struct strmap *s);

/*
 * The segments of the nodes that run `driver`, as upstream's node topology
 * finds them: a CSINode that lists the driver, whose Node exists and has a
 * label for every one of the driver's topology keys, gives the segment of
 * those labels (a CSINode listing the driver without keys gives the empty
 * segment); duplicates once. Arrays are borrowed; *out (cap_segments_free)
 * is sorted.
 */
void cap_segments_from_nodes(const char *driver, const struct kube_csinode *const *csinodes,
			     size_t n_csinodes, const struct kube_node *const *nodes,
			     size_t n_nodes, struct strmap **out, size_t *n_out);
void cap_segments_free(struct strmap *s, size_t n);	/* accepts NULL */

/*
 * Whether `sc` gets objects: its provisioner is ours and, unless
 * `immediate` (--capacity-for-immediate-binding), its binding mode is
 * WaitForFirstConsumer.
 */
bool cap_class_wanted(const struct kube_storage_class *sc, const char *provisioner,
		      bool immediate);

/* An owner reference (always controller: true). Owns its strings. */
struct cap_owner {
	char *api_version, *kind, *name, *uid;
};
void cap_owner_release(struct cap_owner *o);	/* accepts NULL; zeroes */

/*
 * The controlling owner reference of `obj` (metadata.ownerReferences with
 * controller: true) into *out. KUBE_ERR_NOT_FOUND when there is none, and
 * KUBE_ERR_DECODE when the reference lacks apiVersion, kind, name or uid.
 * `what` names obj in messages.
 */
int cap_controller_ref(json_t *obj, const char *what, struct cap_owner *out, struct err *e);

/*
 * The REST path of the owner `o` in namespace `ns`: "v1" kinds under
 * /api/v1, "group/version" kinds under /apis/group/version; the resource is
 * the lower-cased kind plus "s" (Pod, ReplicaSet, StatefulSet, DaemonSet,
 * Deployment, Job...). Names are checked (DNS-1123 subdomain) and escaped.
 * KUBE_ERR_INVALID quoting the bad part. Caller frees *out.
 */
int cap_owner_path(const char *ns, const struct cap_owner *o, char **out, struct err *e);

/* What the daemon knows of an existing object (its informer's cache entry). */
struct cap_object {
	struct kube_csi_capacity c;	/* first: its first member is the meta */
	char *controller_uid;		/* UID of the controller owner reference, or NULL */
	char *other_owners;		/* the other owner references, a JSON array text */
	bool plain_selector;		/* nodeTopology is matchLabels only */
};

/* Decoder and release for an informer of CSIStorageCapacity objects. */
int cap_object_decode(json_t *obj, struct cap_object *out, struct err *e);
void cap_object_release(struct cap_object *o);	/* accepts NULL; zeroes */

/* Whether the object carries our two labels. */
bool cap_object_managed(const struct cap_object *o, const char *driver, const char *managed_by);
/* Whether the object is the one for (class, segment): same class, same selector. */
bool cap_object_matches(const struct cap_object *o, const char *class_name,
			const struct strmap *s);
/* The segment an object's selector names (n 0 for an empty or absent one). */
void cap_object_segment(const struct cap_object *o, struct strmap *out);

/* What GetCapacity said, as the object carries it. */
struct cap_value {
	int64_t capacity;
	bool has_max;
	int64_t max;
};

/* What objects are made of besides the values; all borrowed. */
struct cap_params {
	const char *namespace;
	const char *driver;
	const char *managed_by;
	const struct cap_owner *owner;	/* NULL: no owner reference */
};

/* A new object (for POST) for (class, segment) with value v. Caller decrefs. */
json_t *cap_object_new(const struct cap_params *p, const char *class_name,
		       const struct strmap *s, const struct cap_value *v);

/*
 * The merge patch that brings `o` to value v and, when p->owner is set and
 * `o` is not controlled by it, to that owner (the other references kept,
 * another controller reference replaced: an object has one controller).
 * It carries o's resourceVersion, so a concurrent change is a conflict.
 * NULL when nothing differs: objects are written only when a value changed.
 */
json_t *cap_update_patch(const struct cap_object *o, const struct cap_params *p,
			 const struct cap_value *v);

#endif
