/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h - Kubernetes Events on the objects we act on, sent in the
 * background.
 *
 * An Event is how an operator running `kubectl describe pvc` learns why a
 * claim is Pending. Events are best effort and must never slow
 * provisioning: event_emit only queues; one sender thread posts them as
 * best effort within the budget of the client it is given (the
 * controller's; kube_client_new_best_effort): they never add to its rate
 * limit, and take only what its own requests leave, so they trail behind
 * the PV writes under load (upstream's share its bucket in arrival order).
 * Repeats of an event
 * already sent (same object, type, reason and message) bump its count
 * instead of adding an object, as client-go's correlator does; a repeat
 * still queued is dropped; a full queue drops the newest and says so in
 * the log.
 */
#ifndef PROVISION_EVENTS_H
#define PROVISION_EVENTS_H

#include <stddef.h>

#include "kube/objects.h"

struct kube_client;
struct event_sink;

#define EVENT_NORMAL "Normal"
#define EVENT_WARNING "Warning"

/*
 * Upstream's event source for what the provisioning controller reports:
 * "<provisioner>_<hostname>_<random UUID>", as its controller library
 * names itself (one name per process, so replicas on one host differ).
 * Caller frees.
 */
char *event_component(const char *provisioner);

/*
 * The source upstream's CSI layer uses for its own events (the external
 * populator notice), apart from the library's.
 */
#define EVENT_COMPONENT_CSI "external-provisioner"

/*
 * The client is borrowed until event_sink_free; `component` is copied.
 * NULL, with an error logged, when the sender thread cannot start: the
 * functions below accept a NULL sink and then send nothing.
 */
struct event_sink *event_sink_new(struct kube_client *c, const char *component, size_t max_queued);

/*
 * Send what is queued for up to flush_ms, with pacing of the sink's own
 * (also after kube_client_close of the client given: the daemon closes it
 * first so that its workers' waiting requests give up), then stop. Accepts
 * NULL.
 */
void event_sink_free(struct event_sink *s, long flush_ms);

/*
 * Queue an event about `obj` (kind "PersistentVolumeClaim" or
 * "PersistentVolume"; a cluster-scoped object's event goes to "default").
 * Thread-safe; never blocks on the network.
 */
void event_emit(struct event_sink *s, const char *kind, const struct kube_meta *obj,
		const char *type, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* As event_emit, with source `component` (borrowed for the call) instead of the sink's. */
void event_emit_from(struct event_sink *s, const char *component, const char *kind,
		     const struct kube_meta *obj, const char *type, const char *reason,
		     const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

#endif
