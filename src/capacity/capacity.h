/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capacity.h - storage capacity tracking: CSIStorageCapacity objects, one
 * per topology segment and StorageClass of ours, with the capacity and
 * maximum volume size the driver's GetCapacity reports (upstream's
 * pkg/capacity, flags --enable-capacity and --capacity-*).
 *
 * The set of objects wanted is computed from the caches: segments from the
 * CSINodes of nodes running the driver (or one segment without topology for
 * a driver without it), classes whose provisioner is ours and whose binding
 * is WaitForFirstConsumer (any binding with immediate_binding). Objects are
 * refreshed every poll interval, at once when a class, Node labels or a
 * CSINode's topology keys change, and after every CreateVolume or volume
 * deletion of ours (capacity_refresh); written only when a value changed.
 * Objects of ours (our two labels, in our namespace) that match nothing
 * wanted, or duplicate another, are deleted; no other object is read or
 * written.
 *
 * Only a leader runs this: start it after the lease is won; the caller
 * installs the leader's write guard on cap_kube.
 */
#ifndef CAPACITY_CAPACITY_H
#define CAPACITY_CAPACITY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "capacity/cap_plan.h"

struct kube_client;
struct csi_client;
struct strmap;
struct metrics;
struct capacity;

struct capacity_opts {
	const char *driver;		/* CSINode entries and the drivername label */
	const char *provisioner;	/* classes whose provisioner this is are ours */
	const char *namespace;		/* where the objects live ($NAMESPACE) */
	const char *managed_by;		/* NULL: CAP_MANAGED_BY */
	const struct cap_owner *owner;	/* NULL: no owner reference */
	bool topology;			/* the driver has VOLUME_ACCESSIBILITY_CONSTRAINTS */
	/*
	 * --node-deployment: the one segment of this node (from NodeGetInfo;
	 * n 0 when it has no topology), instead of segments from Nodes and
	 * CSINodes, which are then not watched. NULL: not node deployment.
	 */
	const struct strmap *fixed_segment;
	bool immediate_binding;		/* --capacity-for-immediate-binding */
	int64_t poll_ms;		/* --capacity-poll-interval */
	int threads;			/* --capacity-threads (at least 1 is used) */
	int64_t retry_start_ms, retry_max_ms;
	int64_t resync_ms;		/* informers' resync */
	struct metrics *metrics;	/* NULL = none */
	/* Asked while capacity_start waits (NULL: never): true = give up the start. */
	bool (*stopping)(void *ctx);
	void *stopping_ctx;
};

/*
 * `kube` serves the class, Node and CSINode caches; `cap_kube` (with the
 * capacity rate limit) the CSIStorageCapacity cache and every write.
 * Everything is borrowed until capacity_free; strings in `o` too.
 */
struct capacity *capacity_new(struct kube_client *kube, struct kube_client *cap_kube,
			      struct csi_client *csi, const struct capacity_opts *o);
/*
 * Start the caches, wait for their first lists, work out what is wanted,
 * start workers. 0 when running, ERR_STOPPED when opts.stopping said stop
 * during the waits, else the code of the failure.
 */
int capacity_start(struct capacity *c, struct err *e);
/*
 * A volume of class `class_name` was created, failed, or deleted: refresh
 * the objects of the volume's segments (`segments`, n of them, as the
 * driver reported the volume's accessible topology) or, when n is 0, of the
 * class. Thread-safe and quick (it only queues); a no-op before start and
 * with c NULL. Has the shape of controller_opts.volume_changed.
 */
void capacity_refresh(void *c, const char *class_name, const struct strmap *segments, size_t n);
/* Stop workers and caches. */
void capacity_stop(struct capacity *c);
void capacity_free(struct capacity *c);	/* stops first; accepts NULL */

/*
 * The owner reference `levels` up from Pod `pod` in `ns`: the Pod itself
 * at 0, its controller at 1 (read from the Pod, not fetched), and so on,
 * each level above 1 fetching the previous owner, as upstream's
 * --capacity-ownerref-level. Reads with `kube`. Release *out with
 * cap_owner_release.
 */
int capacity_lookup_owner(struct kube_client *kube, const char *ns, const char *pod, int levels,
			  struct cap_owner *out, struct err *e);

#endif
