/* SPDX-License-Identifier: Apache-2.0 */
/*
 * translate.h - CSI migration of in-tree volume plugins: the rules by which
 * a CSI driver serves the StorageClasses and PersistentVolumes of the
 * in-tree plugin it replaces (AWS EBS, GCE PD, Azure Disk, Azure File,
 * OpenStack Cinder, vSphere, Portworx), as Kubernetes' csi-translation-lib
 * defines them and the upstream external-provisioner applies them.
 *
 * Everything here is pure: no I/O, no state, no locks; any thread may call
 * it. Inputs are borrowed; outputs are owned by the caller as each function
 * says. Errors carry a message an operator can act on (-1 in e).
 */
#ifndef MIGRATION_TRANSLATE_H
#define MIGRATION_TRANSLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "kube/objects.h"

/* The delimiter of several zones in one zone label value. */
#define MIG_ZONE_DELIMITER "__"
#define MIG_LABEL_ZONE "topology.kubernetes.io/zone"
#define MIG_LABEL_REGION "topology.kubernetes.io/region"
#define MIG_LABEL_BETA_ZONE "failure-domain.beta.kubernetes.io/zone"
#define MIG_LABEL_BETA_REGION "failure-domain.beta.kubernetes.io/region"

/* One migratable plugin. Static data: never freed. */
struct mig_plugin {
	enum kube_intree_kind kind;
	const char *in_tree;		/* its provisioner name: "kubernetes.io/aws-ebs" */
	const char *csi;		/* the driver that replaces it: "ebs.csi.aws.com" */
	const char *pv_field;		/* its PV source: "awsElasticBlockStore" */
	const char *topology_key;	/* the driver's zone key; NULL when it has none */
};

/* Lookups; NULL when no plugin matches (or the argument is NULL). */
const struct mig_plugin *mig_plugin_by_csi(const char *driver);
const struct mig_plugin *mig_plugin_by_in_tree(const char *provisioner);
const struct mig_plugin *mig_plugin_by_kind(enum kube_intree_kind kind);

/*
 * The StorageClass `in` of plugin p (its provisioner is p->in_tree) as the
 * CSI driver takes it: parameters renamed or dropped per plugin (fstype to
 * csi.storage.k8s.io/fstype, vSphere's -migrationparam keys, Portworx's
 * secrets ...), zone/zones turned into allowedTopologies and the zone keys
 * of allowedTopologies into the driver's. *out is a deep copy the caller
 * releases with kube_storage_class_release (also on failure, when it is
 * left zeroed). Fails when a class sets both zone(s) and allowedTopologies.
 */
int mig_class_to_csi(const struct mig_plugin *p, const struct kube_storage_class *in,
		     struct kube_storage_class *out, struct err *e);

/*
 * The CSI volume handle of an in-tree PV of plugin p (pv->intree.kind ==
 * p->kind), for DeleteVolume. Caller frees *out. Fails on a source the
 * driver could not identify (a malformed EBS volume ID, an Azure Disk that
 * is not managed, an Azure File without a secret namespace ...).
 */
int mig_pv_volume_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
			 struct err *e);

/*
 * Rewrite, in place, a PersistentVolume object (JSON as sent to the API
 * server) with a spec.csi of p's driver into p's in-tree form: spec.csi
 * replaced by the in-tree source, the driver's zone keys in nodeAffinity
 * turned into the Kubernetes zone (and region) keys, with the zone/region
 * labels. On failure the object may be half rewritten: drop it.
 */
int mig_pv_to_in_tree(const struct mig_plugin *p, json_t *pv, struct err *e);

#endif
