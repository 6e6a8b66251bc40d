/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node_deploy.h - the pure decisions of --node-deployment (one provisioner
 * beside the driver on each node, for node-local volumes), as upstream
 * makes them:
 *
 * - a claim is this instance's when its selected-node annotation names this
 *   node; a claim selected for another node is left alone;
 * - a claim with Immediate binding and no selected node is taken by writing
 *   the annotation (with a resourceVersion precondition) after a jittered
 *   delay that grows with each lost attempt (nd_delay_ms);
 * - a PV is this node's to delete when its node affinity matches the
 *   topology the driver reported in NodeGetInfo (or either is absent);
 * - names that carry the node (CSIStorageCapacity's managed-by label, the
 *   journal's label) are shortened with a hash as upstream's
 *   getNameWithMaxLength.
 *
 * No I/O: src/provision/node_claim.c applies them, tests/unit/provision/
 * test_node_deploy.c covers them.
 */
#ifndef PROVISION_NODE_DEPLOY_H
#define PROVISION_NODE_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csi/client.h"
#include "kube/objects.h"

enum nd_owner {
	ND_MINE,	/* selected for this node */
	ND_OTHER,	/* selected for another node: never ours */
	ND_NONE,	/* no node selected yet */
};

/* Whose claim it is, from its selected node (NULL or "" = none) and ours. */
enum nd_owner nd_claim_owner(const char *selected_node, const char *node);

/*
 * The wait before attempt `requeues` (0 = the first) to take a claim:
 * base * 2^requeues capped at max (client-go's per-item exponential
 * backoff), minus a jitter of base * r (r in [0, 1), the caller's random
 * number), never below 0. So the first attempt waits between 0 and base.
 */
int64_t nd_delay_ms(int64_t base_ms, int64_t max_ms, unsigned requeues, double r);

/*
 * Whether a PV is accessible on this node: its required node affinity
 * matches a node whose labels are the NodeGetInfo segments `topo`. With no
 * topology (topo NULL) or no required affinity, every PV is (upstream's
 * VolumeIsAccessible). Terms are ORed, the requirements of a term ANDed;
 * In, NotIn, Exists, DoesNotExist, Gt and Lt as Kubernetes evaluates them;
 * a term with matchFields or an unknown operator matches nothing.
 */
bool nd_volume_accessible(const struct kube_pv *pv, const struct strmap *topo);

/*
 * "<base>-<suffix>" if it fits in max characters; else shortened with the
 * 8-hex-digit FNV-1a hash as upstream's getNameWithMaxLength:
 * "<base cut>-<hash(base)>-<suffix>", or, when the suffix alone is too
 * long, "<base cut>-<hash(base-suffix)>". Caller frees.
 */
char *nd_name_with_max_length(const char *base, const char *suffix, size_t max);

/*
 * The stand-ins upstream builds from NodeGetInfo for topology: a Node named
 * `node` labelled with the segments, and its CSINode listing `driver` with
 * the segments' keys as topology keys and node_id. Release with
 * kube_node_release / kube_csinode_release.
 */
void nd_local_node(const char *node, const char *driver, const struct csi_node_info *info,
		   struct kube_node *out_node, struct kube_csinode *out_csinode);

#endif
