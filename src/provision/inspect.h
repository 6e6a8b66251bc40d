/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.h - the daemon's view of one claim, without acting on it: what
 * `csi-provisioner explain` prints. It runs the daemon's own decisions
 * (plan_claim, ctl_prepare: class, data source, VolumeAttributesClass,
 * secret, topology; plan_pv_should_delete) on caches loaded as the daemon
 * loads them, reads the claim's intent from the journal without taking the
 * journal over, and the claim's events. Nothing is written to the cluster
 * and nothing but GetPluginInfo/capabilities (done by the caller) is asked
 * of the driver.
 *
 * The report is a JSON object (docs/explain.md lists its members); its
 * "blockers" array holds {cause, message} pairs, empty when nothing blocks.
 */
#ifndef PROVISION_INSPECT_H
#define PROVISION_INSPECT_H

#include <jansson.h>

#include "base/err.h"
#include "provision/controller.h"

struct kube_client;
struct csi_client;

/*
 * Inspect claim `ns`/`name` with the daemon's options `o` (volume_accounting
 * and journal_namespace say where the journal is; workers, metrics and the
 * journal client are not used). `now_ms` is the wall clock (Unix ms) the
 * infeasible delay is measured against. On success *report (caller frees
 * with json_decref) is filled; an error means the caches could not be
 * loaded.
 */
int inspect_claim(struct kube_client *kube, struct csi_client *csi,
		  const struct controller_opts *o, const char *ns, const char *name,
		  int64_t now_ms, json_t **report, struct err *e);

#endif
