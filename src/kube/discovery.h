/* SPDX-License-Identifier: Apache-2.0 */
/*
 * discovery.h - what the API server serves, asked once at start-up.
 *
 * Upstream switches some features off when the cluster lacks their API
 * (VolumeAttributesClass when storage.k8s.io/v1 does not list the kind),
 * rather than failing every claim that would use it. Thread-safe (one GET
 * on the given client).
 */
#ifndef KUBE_DISCOVERY_H
#define KUBE_DISCOVERY_H

#include <stdbool.h>

#include "base/err.h"
#include "kube/client.h"

/*
 * Does the API server list `kind` among the resources of group version
 * `gv` ("storage.k8s.io/v1", or "v1" for the core group)? 0 with *served
 * set (a group version that is not served at all, 404, is *served false);
 * otherwise the error of the request, *served false.
 */
int kube_serves_kind(struct kube_client *c, const char *gv, const char *kind, bool *served,
		     struct err *e);

/*
 * A feature gate that needs `kind` of `gv`, as upstream decides it at
 * start-up: a gate that is off, or that the operator set by name, stays as
 * it is; a gate on by default is switched off, with an info line naming
 * `gate`, when the cluster does not serve the kind. When the server cannot
 * be asked, the gate stays on (a warning says why). Returns the gate's
 * effective value.
 */
bool kube_gate_needs_kind(struct kube_client *c, const char *gate, bool on, bool set,
			  const char *gv, const char *kind);

#endif
