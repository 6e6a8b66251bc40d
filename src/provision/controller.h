/* SPDX-License-Identifier: Apache-2.0 */
/*
 * controller.h - the provisioning controller: informers, queues, workers.
 *
 * Watches claims, volumes and classes; a claim key ("ns/name") goes to the
 * claims queue, a PV name to the volumes queue; workers run ctl_sync_claim
 * (claim_sync.c) and ctl_sync_volume (volume_sync.c), level-triggered from
 * the cache, retrying failures with the key's own exponential backoff.
 */
#ifndef PROVISION_CONTROLLER_H
#define PROVISION_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "provision/plan.h"

struct kube_client;
struct csi_client;
struct strmap;
struct controller;
struct metrics;

struct csi_node_info;

struct controller_opts {
	struct plan_opts plan;		/* strings borrowed for the controller's life */
	int workers;			/* per queue */
	int64_t retry_start_ms, retry_max_ms;
	int64_t resync_ms;
	const char *component;		/* event source; NULL: upstream's (event_component) */
	struct metrics *metrics;	/* NULL = none; borrowed */
	bool volume_accounting;		/* --volume-accounting: the intent journal */
	const char *journal_namespace;	/* where the journal lives (the provisioner's own) */
	const char *journal_holder;	/* this process's unique identity */
	struct kube_client *journal_kube;	/* the journal's client; NULL = the main one */
	int64_t journal_min_write_interval_ms;	/* see journal_opts; 0 = none */
	bool topology;			/* driver has VOLUME_ACCESSIBILITY_CONSTRAINTS */
	bool publish_unpublish;		/* driver has PUBLISH_UNPUBLISH_VOLUME */
	bool clone;			/* driver has CLONE_VOLUME */
	bool snapshot;			/* driver has CREATE_DELETE_SNAPSHOT */
	bool modify_volume;		/* driver has MODIFY_VOLUME */
	bool strict_topology;		/* --strict-topology */
	bool immediate_topology;	/* --immediate-topology */
	bool prevent_volume_mode_conversion;	/* --prevent-volume-mode-conversion */
	int64_t snapshot_orphan_sweep_ms;	/* --snapshot-orphan-sweep-interval; 0 = off */
	bool cross_namespace;		/* gate CrossNamespaceVolumeDataSource */
	/*
	 * With CSI migration (plan.migrated_from): the client for calls on
	 * migrated volumes, whose observer labels them migrated="true" as
	 * upstream's; NULL = the main client for every call. Borrowed.
	 */
	struct csi_client *csi_migrated;
	/*
	 * Asked by each worker before it syncs a key it took (NULL: always
	 * allowed): non-NULL is the reason this replica may not write any more
	 * (leader_write_guard), and the worker stops. The clients' own write
	 * guards refuse the writes of syncs already under way.
	 */
	const char *(*may_write)(void *ctx);
	void *may_write_ctx;
	/* Asked while controller_start waits (NULL: never): true = give up the start. */
	bool (*stopping)(void *ctx);
	void *stopping_ctx;
	/*
	 * Told after each CreateVolume (done or failed) and each deletion of a
	 * volume of ours, on the worker's thread, so capacity tracking can
	 * refresh (NULL: nobody): the class and, after a success, the volume's
	 * accessible topology (n 0 when unknown). Must be quick.
	 */
	void (*volume_changed)(void *ctx, const char *class_name, const struct strmap *segments,
			       size_t n);
	void *volume_changed_ctx;
	/*
	 * --node-deployment: this node's name (NULL: off) and what the driver
	 * beside us said in NodeGetInfo (borrowed). Only claims selected for
	 * this node are provisioned, only PVs accessible on it deleted, and
	 * topology comes from node_info alone (src/provision/node_claim.c).
	 */
	const char *node_name;
	const struct csi_node_info *node_info;
	bool node_immediate_binding;	/* --node-deployment-immediate-binding */
	int64_t node_base_delay_ms, node_max_delay_ms;
};

/* Clients and options are borrowed until controller_free. */
struct controller *controller_new(struct kube_client *kube, struct csi_client *csi,
				  const struct controller_opts *o);
/*
 * Start informers, wait for their first list, read the intent journal (with
 * --volume-accounting; a journal that cannot be read within a minute is an
 * error: we never provision unaccounted), start workers. Returns 0 when
 * running, ERR_STOPPED when opts.stopping said stop during the waits, else
 * the code of the failure.
 */
int controller_start(struct controller *c, struct err *e);
/*
 * Only the first part of controller_start: start the informers and wait
 * for their first lists. No journal, no workers: for read-only tools
 * (src/provision/inspect.c), which then read the caches. Returns as
 * controller_start.
 */
int controller_load_caches(struct controller *c, struct err *e);
/* Stop intake, let workers finish their current key, join everything. */
void controller_stop(struct controller *c);
/* Whether every informer has its first list (for /readyz). */
bool controller_synced(struct controller *c);
/* Whether another instance took the intent journal over (we provision no more). */
bool controller_journal_lost(struct controller *c);
void controller_free(struct controller *c);	/* accepts NULL */

#endif
