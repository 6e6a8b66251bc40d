/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h - Kubernetes Events on the objects we act on.
 *
 * An Event is how an operator running `kubectl describe pvc` learns why a
 * claim is Pending. Emitting one is best effort: a failure to record it is
 * logged at verbosity 2 and otherwise ignored, never failing the sync.
 */
#ifndef PROVISION_EVENTS_H
#define PROVISION_EVENTS_H

#include "kube/objects.h"

struct kube_client;

#define EVENT_NORMAL "Normal"
#define EVENT_WARNING "Warning"

/*
 * Record an event about `obj` (kind "PersistentVolumeClaim" or
 * "PersistentVolume"; a cluster-scoped object's event goes to "default").
 * `component` names the reporter.
 */
void event_emit(struct kube_client *c, const char *component, const char *kind,
		const struct kube_meta *obj, const char *type, const char *reason,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif
