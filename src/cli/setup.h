/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setup.h - what the daemon and its read-only commands (explain, preflight)
 * both derive from the configuration, so the commands see the cluster
 * exactly as the daemon would: the API server and credentials (kubeconfig,
 * in-cluster, --master), the provisioner's own namespace (where the Lease
 * and the intent journal live) and the VolumeAttributesClass gate.
 */
#ifndef CLI_SETUP_H
#define CLI_SETUP_H

#include <stdbool.h>

#include "base/err.h"
#include "config/config.h"

struct kube_config;
struct kube_client;
struct controller_opts;
struct csi_plugin_caps;
struct csi_controller_caps;

/*
 * The API server: --master overrides the kubeconfig's server; with no
 * kubeconfig at all, --master alone is used without credentials, as
 * upstream's client-go does. Caller frees *out with kube_config_free.
 */
int setup_kube_config(const struct config *cfg, struct kube_config **out, struct err *e);

/*
 * The provisioner's namespace: --leader-election-namespace, $POD_NAMESPACE,
 * the service account's, else "default". Caller frees.
 */
char *setup_namespace(const struct config *cfg);

/*
 * Whether the VolumeAttributesClass gate is on: as set, or, when the
 * operator did not set it, whether the cluster serves storage.k8s.io/v1
 * VolumeAttributesClass (upstream's rule; on when discovery fails, with a
 * warning).
 */
bool setup_vac_enabled(const struct config *cfg, struct kube_client *kube);


/*
 * Zero `o` and fill what the provisioning decisions take from the flags and
 * the driver's capabilities (plan options, retries, topology, clone,
 * snapshot, modify). Strings are borrowed from cfg and driver. The caller
 * adds identity, workers, journal, metrics and the VAC gate.
 */
void setup_controller_opts(const struct config *cfg, const char *driver,
			   const struct csi_plugin_caps *pcaps,
			   const struct csi_controller_caps *ccaps, struct controller_opts *o);

#endif
