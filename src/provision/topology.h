/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topology.h - CreateVolume accessibility requirements, as pure functions.
 *
 * A segment is a set of key=value pairs (topology.kubernetes.io/zone=a,
 * ...). From the class's allowedTopologies, the selected node (for
 * WaitForFirstConsumer), its CSINode's topology keys and the labels of all
 * nodes, these functions compute the requisite segments (where the volume
 * may live) and the preferred order, following upstream's rules (strict
 * topology, immediate topology, StatefulSet spreading).
 */
#ifndef PROVISION_TOPOLOGY_H
#define PROVISION_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "kube/objects.h"

/* Owned segments, each a struct strmap with its keys sorted and unique. */
struct topo_result {
	struct strmap *requisite;
	size_t n_requisite;
	struct strmap *preferred;
	size_t n_preferred;
};

/* Why a request could not be built (the provision domain of base/err.h). */
enum topo_error {
	TOPO_OK = 0,
	TOPO_ERR_FINAL = ERR_CODE(ERR_DOMAIN_PROVISION, 1),	/* fix the class or the nodes */
	/* the selected node cannot host it: ask the scheduler again */
	TOPO_ERR_RESCHEDULE = ERR_CODE(ERR_DOMAIN_PROVISION, 2),
};

struct topo_input {
	const char *driver;
	const struct kube_storage_class *class;
	const char *claim_name;			/* for StatefulSet spreading */
	/* WaitForFirstConsumer: the selected node (NULL for immediate binding) */
	const char *selected_node_name;
	const struct kube_node *selected_node;		/* NULL if not found */
	const struct kube_csinode *selected_csinode;	/* NULL if not found */
	/* every node and CSINode, for aggregation and immediate binding */
	const struct kube_node *const *nodes;
	size_t n_nodes;
	const struct kube_csinode *const *csinodes;
	size_t n_csinodes;
	bool strict;			/* --strict-topology */
	bool immediate;			/* --immediate-topology */
};

/*
 * Fill `out` (zeroed on entry; release with topo_result_release). Returns
 * TOPO_OK, or an enum topo_error with a message. An empty result (no
 * requirements) is TOPO_OK with zero segments.
 */
int topo_requirements(const struct topo_input *in, struct topo_result *out, struct err *e);
void topo_result_release(struct topo_result *r);
/* Deep copy into `dst` (which it overwrites); release it with topo_result_release. */
void topo_result_copy(struct topo_result *dst, const struct topo_result *src);

/*
 * FNV-1 (32 bit) of the StatefulSet part of a claim name ("data-web-3" ->
 * "web"; a name without a numeric suffix whole), and its ordinal (3; 0 if none).
 */
void topo_claim_hash(const char *claim_name, unsigned *hash, unsigned *ordinal);

#endif
