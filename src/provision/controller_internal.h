/* SPDX-License-Identifier: Apache-2.0 */
/*
 * controller_internal.h - what the files of the provisioning controller
 * share, and nothing outside src/provision uses:
 *
 *   controller.c   informers, handlers, queues, workers, volume deletion
 *   request.c      the CreateVolume request of a claim (plan, data source,
 *                  mutable parameters, secrets, topology)
 *   claim_sync.c   the claim state machine: intents, CreateVolume, PV,
 *                  settling (its header comment has the state table)
 *
 * Names shared between the files carry the prefix ctl_.
 */
#ifndef PROVISION_CONTROLLER_INTERNAL_H
#define PROVISION_CONTROLLER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/hmap.h"
#include "csi/client.h"
#include "kube/objects.h"
#include "kube/path.h"
#include "provision/controller.h"
#include "provision/datasource.h"
#include "provision/plan.h"
#include "provision/topology.h"

struct informer;
struct event_sink;
struct wq;
struct metric;
struct journal;

/* What a sync asks of the queue. */
enum sync_result {
	SYNC_DONE,		/* forget the key's failures */
	SYNC_RETRY,		/* again after the key's next backoff delay */
	SYNC_RETRY_SLOW,	/* again after --retry-interval-max (infeasible requests) */
};

struct worker {
	struct controller *c;
	struct wq *q;
	enum sync_result (*sync)(struct controller *c, const char *key);
};

struct controller {
	struct kube_client *kube;
	struct csi_client *csi;
	struct controller_opts o;

	struct informer *claims, *volumes, *classes;
	struct informer *nodes, *csinodes;	/* only with topology */
	struct informer *attachments;		/* only when the driver publishes */
	struct event_sink *events;
	struct wq *claim_q, *volume_q;
	struct worker claim_worker, volume_worker;
	/*
	 * The intent journal (NULL without --volume-accounting), and which
	 * claim keys ("ns/name") its intents belong to: key -> struct
	 * name_set of volume names. Guarded by intents_mu, which is never held
	 * across I/O.
	 */
	struct journal *journal;
	pthread_mutex_t intents_mu;
	struct hmap intents;
	struct hmap doubt;	/* volume names of intents that cannot be settled now */
	/*
	 * Claims whose intent is durable and whose CreateVolume/PV save is under
	 * way: while few, the journal writes at once rather than pace itself
	 * (journal_opts.urgent), so the workers never run dry.
	 */
	atomic_int past_journal;
	/*
	 * Claims whose request the driver called infeasible: key -> struct
	 * slow_entry. Until `until`, any sync of the key (an update event would
	 * otherwise requeue it at once) only reschedules it. Guarded by slow_mu.
	 */
	pthread_mutex_t slow_mu;
	struct hmap slow;
	/*
	 * PV UIDs whose volume we deleted and whose PV is on its way out: a
	 * sync of the stale cached copy must not call DeleteVolume again
	 * (upstream issue #89). Cleared when the PV's DELETE event arrives.
	 * Guarded by slow_mu.
	 */
	struct hmap deleted;
	/*
	 * Claim UID -> struct topo_choice: the topology a claim's first attempt
	 * computed, which its retries send again (upstream's per-claim cache,
	 * since its fix for retries landing in another zone). Dropped on
	 * success, a final error, a reschedule and the claim's deletion.
	 * Guarded by slow_mu.
	 */
	struct hmap topo_choices;
	struct snapshot_sweep *sweep;	/* NULL when off */
	/*
	 * --node-deployment (o.node_name set): the Node and CSINode stand-ins
	 * made from NodeGetInfo, and claim UID -> attempts to take the claim
	 * (node_claim.c). nd_attempts and nd_seed are guarded by slow_mu.
	 */
	struct kube_node nd_node;
	struct kube_csinode nd_csinode;
	struct hmap nd_attempts;
	unsigned nd_seed;
	pthread_t *threads;
	size_t nthreads;
	/*
	 * Claims and PVs synced (set once, then read without the lock), and the
	 * claim keys a worker deferred before that (claim_early.c): queued again
	 * when `synced` is set. Guarded by early_mu.
	 */
	atomic_bool synced;
	pthread_mutex_t early_mu;
	struct hmap early_deferred;

	/* metric families, NULL without a registry */
	struct metric *provision_total, *provision_failed, *provision_seconds;
	struct metric *delete_total, *delete_failed, *delete_seconds;
	struct metric *intents_in_doubt;
};

struct slow_entry {
	int64_t until;
	char *class_uid;	/* a changed class (new UID) lifts the delay, as upstream */
};
void ctl_slow_entry_free(struct slow_entry *s);	/* accepts NULL */
void ctl_left_journal(struct controller *c);	/* past_journal - 1 (controller.c) */

struct topo_choice {
	char *node;			/* the selected node it was computed for; NULL: none */
	struct topo_result r;
};
/* Forget the topology choice of claim `uid` (NULL: nothing). */
void ctl_topo_forget(struct controller *c, const char *uid);
void ctl_topo_choices_release(struct controller *c);

/*
 * snapshot_sweep.c: every `interval_ms` (the first round at once), remove
 * our finalizer from VolumeSnapshots no Pending claim restores from.
 * NULL (and e set) if the thread cannot start. Stop accepts NULL.
 */
struct snapshot_sweep;
struct snapshot_sweep *ctl_snapshot_sweep_start(struct controller *c, int64_t interval_ms,
						struct err *e);
void ctl_snapshot_sweep_stop(struct snapshot_sweep *w);

/* node_claim.c: --node-deployment; see there. Init and release only with o.node_name. */
void ctl_nd_init(struct controller *c);
void ctl_nd_release(struct controller *c);
void ctl_nd_forget(struct controller *c, const char *uid);	/* uid NULL: nothing */
bool ctl_nd_pv_mine(struct controller *c, const struct kube_pv *pv);
/* Point `in`'s nodes (and selected node, when it is this one) at the stand-ins. */
void ctl_nd_topology_input(struct controller *c, struct topo_input *in,
			   const struct kube_node **node, const struct kube_csinode **csinode);
/* A claim of ours with no selected node: take it for this node, or leave it. */
enum sync_result ctl_nd_take(struct controller *c, const struct kube_pvc *claim,
			     const struct kube_storage_class *class, const char *key);

/* Keys of the claims queue that stand for a VolumeSnapshot, not a claim. */
#define SNAPSHOT_KEY_PREFIX "snapshot:"
void ctl_enqueue_snapshot(struct controller *c, const char *ns, const char *name);
/* Queue the key of the claim `clone` copies from (its finalizer may go). */
void ctl_enqueue_clone_source(struct controller *c, const struct kube_pvc *clone);

/* Metric helpers: no-ops when the family is NULL. */
void ctl_count(struct metric *f, const char *const *values, double v);
void ctl_observe(struct metric *f, const char *const *values, double v);
/*
 * The labels of the provision metrics, as upstream sets them: the claim's
 * spec.storageClassName and the kind of its spec.dataSource ("" if none;
 * a cross-namespace dataSourceRef leaves spec.dataSource empty). Borrowed from claim.
 */
const char *ctl_class_label(const struct kube_pvc *claim);
const char *ctl_source_label(const struct kube_pvc *claim);

void ctl_claim_event(struct controller *c, const struct kube_pvc *claim, const char *type,
		     const char *reason, const char *msg);
/*
 * Paths of objects the API server gave us: it validated their names, so
 * kube_path_object failing is only a guard. NULL then (logged), which every
 * kube_* call refuses before sending anything. Caller frees.
 */
char *ctl_object_path(enum kube_resource r, const char *ns, const char *name);
char *ctl_claim_path(const struct kube_pvc *claim);
/* Add `finalizer` to the object at `path` unless `m` shows it already. */
int ctl_ensure_finalizer(struct controller *c, const char *path, const struct kube_meta *m,
			 const char *finalizer, struct err *e);

/*
 * Read a Secret's data for a CSI call (caller releases *out with
 * strmap_release_secret). Fetched on every attempt, as upstream does, so a
 * fixed Secret is picked up by the next retry. Values are never logged.
 */
int ctl_fetch_secret(struct controller *c, const struct secret_ref *ref, struct strmap *out,
		     struct err *e);

#define ANN_ALPHA_SELECTED_NODE "volume.alpha.kubernetes.io/selected-node"
/* The claim's selected node (beta, then alpha annotation), or NULL. Borrowed. */
const char *ctl_selected_node(const struct kube_pvc *claim);

/* A CreateVolume request that borrows from a plan_request. */
struct csi_request {
	struct csi_create_volume_req req;
	struct csi_volume_capability *caps;
};

/* A data source, resolved for CreateVolume. */
struct source {
	enum ds_kind kind;
	char *volume_id, *snapshot_id;
	char *snapshot_path;		/* to drop our finalizer after success */
};
void ctl_source_release(struct source *s);

/*
 * Check the claim's data source and, with `protect`, put our finalizer on it
 * while we copy from it. Returns 0, or non-zero with a message for a
 * ProvisioningFailed event.
 */
int ctl_resolve_source(struct controller *c, const struct kube_pvc *claim, struct source *out,
		       bool protect, struct err *e);

/*
 * Whether `claim` counts as a user of its data source (to keep our
 * finalizer on it): a claim in the source's own namespace always; one from
 * another namespace only with the CrossNamespaceVolumeDataSource gate and a
 * ReferenceGrant that allows it (read live; unreadable grants count as
 * allowing), so no tenant can pin another namespace's claims or snapshots.
 */
bool ctl_source_use_allowed(struct controller *c, const struct kube_pvc *claim);

/* Which step of ctl_prepare failed (for explain's causes). */
enum prep_step {
	PREP_STEP_PLAN,		/* the class and claim: plan_create_request */
	PREP_STEP_SOURCE,	/* the data source */
	PREP_STEP_VAC,		/* the VolumeAttributesClass */
	PREP_STEP_SECRET,	/* the provisioner secret */
	PREP_STEP_TOPOLOGY,	/* topology requirements */
	PREP_STEP_DONE,
};

/* A CreateVolume request with everything it borrows. */
struct prepared {
	enum prep_step step;	/* the step reached: the failed one, or PREP_STEP_DONE */
	struct plan_request r;
	struct csi_request cr;
	struct strmap secrets, mutable_params;
	struct topo_result topo;
	struct source src;
	struct kube_storage_class migrated_class;	/* the class translated for CSI migration */
};

enum prep_result {
	PREP_OK,
	PREP_FAILED,		/* e says why; a Warning event */
	PREP_INVALID,		/* as PREP_FAILED, but no retry can help (a bad source name) */
	PREP_RESCHEDULE,	/* the selected node cannot host it */
	PREP_EXTERNAL,		/* a populator's claim */
};

/*
 * Build the full CreateVolume request for a claim: the plan (the volume
 * name derived from the claim UID), data source, mutable parameters,
 * secrets, topology. With `settling`, a provisioner Secret that is gone is
 * tolerated. Release `p` with ctl_prepared_release whatever the result.
 */
enum prep_result ctl_prepare(struct controller *c, const struct kube_pvc *claim,
			     const struct kube_storage_class *class, bool settling,
			     struct prepared *p, struct err *e);
void ctl_prepared_release(struct prepared *p);

/*
 * Our finalizer protects a VolumeSnapshot while some pending claim restores
 * from it; this removes it once none does. For "snapshot:ns/name" keys.
 */
enum sync_result ctl_sync_snapshot_source(struct controller *c, const char *ns_name);
/* A source claim being deleted keeps our cloning finalizer while a pending clone needs it. */
enum sync_result ctl_release_clone_source(struct controller *c, const struct kube_pvc *source,
					  const char *key);

/*
 * migrated.c: CSI migration of the in-tree plugin our driver replaces
 * (c->o.plan.migrated_from).
 */
struct mig_plugin;
/* The plugin when `class` names the in-tree plugin we serve by migration, else NULL. */
const struct mig_plugin *ctl_class_migrated(struct controller *c,
					    const struct kube_storage_class *class);
/*
 * *use = the class as the driver takes it: `class` itself, or for a
 * migrated class its translation into *tmp (the caller releases *tmp with
 * kube_storage_class_release, also on failure).
 */
int ctl_class_for_driver(struct controller *c, const struct kube_storage_class *class,
			 struct kube_storage_class *tmp, const struct kube_storage_class **use,
			 struct err *e);
/* For a migrated class, rewrite the PV object built by plan_pv into the in-tree form. */
int ctl_pv_for_class(struct controller *c, const struct kube_storage_class *class, json_t *pv,
		     struct err *e);
/* The CSI client for a call on a migrated volume (`migrated`) or any other. */
struct csi_client *ctl_csi(struct controller *c, bool migrated);
/* Whether the PV is of our driver: spec.csi.driver, or an in-tree source it replaces. */
bool ctl_pv_of_driver(struct controller *c, const struct kube_pv *pv);
/* trim.c: what the caches keep of claims and PVs that are not ours (informer_trim_fn). */
const void *ctl_trim_pv(void *ctx, void *obj, void *scratch);
const void *ctl_trim_pvc(void *ctx, void *obj, void *scratch);
/* The volume handle for DeleteVolume (translated for a migrated in-tree PV). Caller frees. */
int ctl_pv_handle(struct controller *c, const struct kube_pv *pv, char **out, struct err *e);

/* intent_index.c: claim key -> intent names (intents_mu), and the in-doubt set. */
void ctl_index_add(struct controller *c, const char *key, const char *volume);
void ctl_index_remove(struct controller *c, const char *key, const char *volume);
/* A copy of the names recorded for `key`; free with ctl_free_names. */
char **ctl_index_names(struct controller *c, const char *key, size_t *n);
void ctl_free_names(char **v, size_t n);
/* An intent that cannot be settled now; the gauge counts them. */
void ctl_set_doubt(struct controller *c, const char *volume, bool on);
/* The intent is proven unnecessary: remove it (written lazily). */
void ctl_drop_intent(struct controller *c, const char *key, const char *volume);

/* claim_sync.c: the claims queue's sync (claim keys and snapshot: keys). */
/* Whose intent this is: the claim, its class and provisioner secret. */
struct intent_owner ctl_intent_owner(const struct kube_pvc *claim,
				     const struct kube_storage_class *class,
				     const struct prepared *p);
/*
 * Read PV `name` live (the cache may lag our own writes). *found tells
 * whether it exists; *ours whether it is the PV of the driver's volume for
 * the claim with `claim_uid` (and, when volume_id is given, that volume).
 */
int ctl_pv_check(struct controller *c, const char *name, const char *claim_uid,
		 const char *volume_id, bool *found, bool *ours, struct err *e);
/* claim_legacy.c: a claim carrying an older version's mark (see there). */
enum sync_result ctl_settle_legacy(struct controller *c, const struct kube_pvc *claim,
				   const struct kube_storage_class *class, const char *key,
				   const char *volume, bool pv_cached);
enum sync_result ctl_sync_claim(struct controller *c, const char *key);
/* volume_sync.c: delete a Released volume of ours, or fix our PV finalizer. */
enum sync_result ctl_sync_volume(struct controller *c, const char *name);
/* Journal bookkeeping: index every loaded intent and queue its claim key. */
void ctl_intents_loaded(struct controller *c);
void ctl_intents_release(struct controller *c);
/* Whether intents are recorded for claim key "ns/name" (any UID). */
bool ctl_claim_has_intents(struct controller *c, const char *key);

/*
 * claim_early.c: claims handled while the claim and PV caches still fill.
 * A sync that began before the caches were synced (ctl_caches_synced read
 * before its first lookup) asks ctl_early_defer whether `key` (its claim
 * as cached, NULL if absent) must wait for them: then it is queued again at
 * the sync (or at once, if the sync came meanwhile). ctl_early_pv_absent:
 * for a claim the plan provisions and whose PV the cache does not hold,
 * whether no PV of that name exists by a live GET (false: deferred as
 * above). ctl_early_synced: the caches are complete; queue the deferred keys.
 */
bool ctl_caches_synced(struct controller *c);
bool ctl_early_defer(struct controller *c, const char *key, const struct kube_pvc *claim);
bool ctl_early_pv_absent(struct controller *c, const char *key, const struct kube_pvc *claim,
			 const char *pv_name);
void ctl_early_synced(struct controller *c);
void ctl_early_release(struct controller *c);

#endif
