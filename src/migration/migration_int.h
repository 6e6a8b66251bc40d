/* SPDX-License-Identifier: Apache-2.0 */
/*
 * migration_int.h - what the files of src/migration share:
 *
 *   translate.c      the plugin table, lookups, the StorageClass copy and
 *                    the steps common to every plugin
 *   topology.c       zone keys: allowedTopologies of classes, nodeAffinity
 *                    and zone/region labels of PVs, region parsers
 *   plugins_block.c  AWS EBS, GCE PD, Azure Disk, OpenStack Cinder
 *   plugins_other.c  Azure File, vSphere, Portworx
 */
#ifndef MIGRATION_INT_H
#define MIGRATION_INT_H

#include <stddef.h>

#include "migration/translate.h"

/* StorageClass parameters as a plugin rewrites them. */
struct mig_params {
	struct strmap out;		/* the driver's parameters (strmap_set: a later value wins, as in a Go map) */
	char **zones;			/* from zone/zones; NULL when neither was set */
	size_t n_zones;
};

/* zone=v (one zone) or zones=v (split at ','), replacing earlier ones. */
void mig_params_zones(struct mig_params *p, const char *v, bool split);
void mig_params_release(struct mig_params *p);

/* What differs between plugins. */
struct mig_ops {
	int (*params)(const struct strmap *in, struct mig_params *out, struct err *e);
	bool rekey_allowed;		/* allowedTopologies zone keys become topology_key */
	int (*handle)(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
		      struct err *e);
	/* build the in-tree source from spec.csi `csi` into spec; topology too */
	int (*to_in_tree)(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			  struct err *e);
};

/* The handle is the in-tree ID itself (Cinder, vSphere, Portworx). */
int mig_id_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
		  struct err *e);

extern const struct mig_ops mig_ebs_ops, mig_gce_ops, mig_azure_disk_ops, mig_cinder_ops;
extern const struct mig_ops mig_azure_file_ops, mig_vsphere_ops, mig_portworx_ops;

/* Helpers for spec.csi (borrowed strings; "" when absent). */
const char *mig_json_str(json_t *obj, const char *key);
/* volumeAttributes[key], or NULL when absent. */
const char *mig_csi_attr(json_t *csi, const char *key);
/* Set a string field unless v is empty (Go's omitempty). */
void mig_set_nonempty(json_t *obj, const char *key, const char *v);
/* "123" -> 123; anything else fails naming `what`. */
int mig_parse_int(const char *s, const char *what, json_int_t *out, struct err *e);

/* The one region of some zones, or an error. Caller frees *out. */
typedef int (*mig_region_fn)(char *const *zones, size_t n, char **out, struct err *e);
int mig_aws_region(char *const *zones, size_t n, char **out, struct err *e);
int mig_gce_region(char *const *zones, size_t n, char **out, struct err *e);

/*
 * A provisioned PV's nodeAffinity from the driver's zone key to the
 * Kubernetes zone key; with `region`, every term without a region gets
 * the region of its zones; then the zone (and region) labels.
 */
int mig_topology_to_in_tree(json_t *pv, const char *csi_key, mig_region_fn region,
			    struct err *e);
/* vSphere's variant: zone and region keys of its own, labels from the first value. */
int mig_topology_to_in_tree_vsphere(json_t *pv, const char *zone_key, const char *region_key);

/*
 * A PV's zones (kube_pv labels, GA then beta key; MIG_ZONE_DELIMITER
 * separated), split. Caller frees with mig_strv_free.
 */
char **mig_pv_zones(const struct kube_pv *pv, size_t *n);
void mig_strv_free(char **v, size_t n);

/* Class allowedTopologies: rekey zone keys to `key`; numeric Azure zones to "". */
void mig_terms_rekey(struct kube_topology_term *t, size_t n, const char *key);
void mig_terms_blank_numeric(struct kube_topology_term *t, size_t n, const char *key);

#endif
