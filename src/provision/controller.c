// SPDX-License-Identifier: Apache-2.0
/*
 * controller.c - the provisioning controller (see controller.h): informers,
 * their handlers, the two work queues and their workers, and the intent
 * journal at start-up. The claim side lives in claim_sync.c and request.c,
 * the deletion of Released volumes in volume_sync.c.
 *
 * DESIGN: informers (claims, volumes, classes; VolumeAttachments when the
 * driver publishes, Nodes and CSINodes with topology) feed two work queues
 * through their handlers, which only enqueue keys. Worker threads take a
 * key, read the current objects from the caches, decide with the pure
 * functions of plan.c, and do the I/O (CSI calls, PV writes, events). A key
 * is never processed by two workers at once (the queue guarantees it), so
 * syncs need no locks of their own; the small shared tables (slow, deleted,
 * topology choices: slow_mu; intents and the in-doubt set: intents_mu) have
 * a mutex each, never held across I/O and never two at once. Objects read
 * from a cache are never modified.
 */
#include "provision/controller.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "informer/informer.h"
#include "informer/kinds.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"
#include "kube/path.h"
#include "journal/journal.h"
#include "metrics/metrics.h"
#include "provision/controller_internal.h"
#include "provision/node_deploy.h"
#include "provision/events.h"
#include "workqueue/workqueue.h"

#define SYNC_TIMEOUT_MS 120000
#define JOURNAL_LOAD_MS 60000
#define START_SLICE_MS 200	/* how soon a stop is seen while starting */
#define JOURNAL_FLUSH_MS 5000
/* removals ride along with adds; alone, they wait this long (a restart re-checks them) */
#define JOURNAL_LAZY_REMOVE_MS 10000
#define WORKER_STACK_BYTES (512 * 1024)
/* below the loop's frame only madvise's own frames (and the red zone) are live */
#define WORKER_STACK_KEEP 1024

/* the Go client library's default buckets, which upstream's provision metrics use */
static const double op_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const char *const class_source_labels[] = { "class", "source", NULL };
static const char *const class_labels[] = { "class", NULL };

void ctl_count(struct metric *f, const char *const *values, double v)
{
	if (f)
		metric_add(f, values, v);
}

void ctl_observe(struct metric *f, const char *const *values, double v)
{
	if (f)
		metric_observe(f, values, v);
}

const char *ctl_class_label(const struct kube_pvc *claim)
{
	return claim->storage_class_name ? claim->storage_class_name : "";
}

const char *ctl_source_label(const struct kube_pvc *claim)
{
	/* our decoder folds dataSourceRef in; the API server mirrors it to dataSource only within the namespace */
	if (!claim->data_source_kind || (claim->data_source_namespace && *claim->data_source_namespace))
		return "";
	return claim->data_source_kind;
}

static void register_metrics(struct controller *c, struct metrics *m)
{
	if (!m)
		return;
	c->provision_total = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolumeclaim_provision_total",
		"Claims provisioned (PersistentVolume saved)", class_source_labels, NULL, 0);
	c->provision_failed = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolumeclaim_provision_failed_total",
		"Failed provisioning attempts", class_source_labels, NULL, 0);
	c->provision_seconds = metrics_add(m, METRIC_HISTOGRAM,
		"controller_persistentvolumeclaim_provision_duration_seconds",
		"Duration of successful provisioning attempts", class_source_labels,
		op_buckets, sizeof(op_buckets) / sizeof(op_buckets[0]));
	c->delete_total = metrics_add(m, METRIC_COUNTER, "controller_persistentvolume_delete_total",
		"Volumes deleted with their PersistentVolume", class_labels, NULL, 0);
	c->delete_failed = metrics_add(m, METRIC_COUNTER,
		"controller_persistentvolume_delete_failed_total", "Failed deletion attempts",
		class_labels, NULL, 0);
	c->delete_seconds = metrics_add(m, METRIC_HISTOGRAM,
		"controller_persistentvolume_delete_duration_seconds",
		"Duration of successful deletions", class_labels,
		op_buckets, sizeof(op_buckets) / sizeof(op_buckets[0]));
	c->intents_in_doubt = metrics_add(m, METRIC_GAUGE, "csi_provisioner_intents_in_doubt",
		"Journal intents whose volume cannot be accounted for yet (see the warnings)",
		NULL, NULL, 0);
	/* upstream's queue names, "claims" and "volumes" (the workqueue_* name label) */
	wq_instrument(c->claim_q, m, NULL, NULL);
	wq_instrument(c->volume_q, m, NULL, NULL);
}

/* Informer adapters: the kube decoders with the informer's generic shape. */
static int decode_pvc(json_t *j, void *out, struct err *e) { return kube_pvc_decode(j, out, e); }
static void release_pvc(void *p) { kube_pvc_release(p); }
static int decode_pv(json_t *j, void *out, struct err *e) { return kube_pv_decode(j, out, e); }
static void release_pv(void *p) { kube_pv_release(p); }
static size_t pvc_size(const void *p) { return kube_pvc_packed_size(p); }
static void pvc_pack(const void *p, void *block) { kube_pvc_pack(p, block); }
static size_t pv_size(const void *p) { return kube_pv_packed_size(p); }
static void pv_pack(const void *p, void *block) { kube_pv_pack(p, block); }

static int decode_va(json_t *j, void *out, struct err *e)
{
	return kube_volume_attachment_decode(j, out, e);
}
static void release_va(void *p) { kube_volume_attachment_release(p); }

static const struct informer_type va_type = {
	"volumeattachments", KUBE_PATH_ALL_VOLUME_ATTACHMENT,
	sizeof(struct kube_volume_attachment), decode_va, release_va,
};

/* A VolumeAttachment is gone: a PV waiting for detach may be deleted now. */
static void on_attachment(void *ctx, enum informer_event ev, const char *key,
			  const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_volume_attachment *va = iobj_data(cur);

	(void)key;
	(void)old;
	if (ev == INFORMER_DELETE && va->pv_name)
		wq_add(c->volume_q, va->pv_name);
}

static const struct informer_type pvc_type = {
	"persistentvolumeclaims", KUBE_PATH_ALL_PVC,
	sizeof(struct kube_pvc), decode_pvc, release_pvc,
};
static const struct informer_packer pvc_packer = { pvc_size, pvc_pack };
static const struct informer_type pv_type = {
	"persistentvolumes", KUBE_PATH_ALL_PV,
	sizeof(struct kube_pv), decode_pv, release_pv,
};
static const struct informer_packer pv_packer = { pv_size, pv_pack };

void ctl_slow_entry_free(struct slow_entry *s)
{
	if (s) {
		free(s->class_uid);
		free(s);
	}
}

void ctl_claim_event(struct controller *c, const struct kube_pvc *claim, const char *type,
		     const char *reason, const char *msg)
{
	event_emit(c->events, "PersistentVolumeClaim", &claim->meta, type, reason, "%s", msg);
}

char *ctl_object_path(enum kube_resource r, const char *ns, const char *name)
{
	struct err e = ERR_INIT;
	char *path;

	if (kube_path_object(&path, r, ns, name, &e))
		log_error("%s", err_msg(&e));
	err_release(&e);
	return path;
}

char *ctl_claim_path(const struct kube_pvc *claim)
{
	return ctl_object_path(KUBE_RES_PVC, claim->meta.namespace, claim->meta.name);
}

void ctl_enqueue_snapshot(struct controller *c, const char *ns, const char *name)
{
	char *key = xasprintf(SNAPSHOT_KEY_PREFIX "%s/%s", ns, name);

	wq_add(c->claim_q, key);
	free(key);
}

void ctl_enqueue_clone_source(struct controller *c, const struct kube_pvc *clone)
{
	char *key = xasprintf("%s/%s", ds_source_namespace(clone), clone->data_source_name);

	wq_add(c->claim_q, key);
	free(key);
}

static void on_claim(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_pvc *claim = iobj_data(cur);

	(void)old;
	if (ds_kind_of(claim) == DS_SNAPSHOT && claim->meta.namespace &&
	    (ev == INFORMER_DELETE || claim->meta.deleting || (claim->volume_name && *claim->volume_name)))
		ctl_enqueue_snapshot(c, ds_source_namespace(claim), claim->data_source_name);
	if (ds_kind_of(claim) == DS_CLONE && claim->meta.namespace)
		/* a clone's progress (or its deletion) may free its source's finalizer */
		ctl_enqueue_clone_source(c, claim);
	if (ev == INFORMER_DELETE) {
		pthread_mutex_lock(&c->slow_mu);
		ctl_slow_entry_free(hmap_remove(&c->slow, key));
		pthread_mutex_unlock(&c->slow_mu);
		ctl_topo_forget(c, claim->meta.uid);
		ctl_nd_forget(c, claim->meta.uid);
		/* its intents, if any, are settled now */
		if (ctl_claim_has_intents(c, key))
			wq_add(c->claim_q, key);
		return;
	}
	/*
	 * A bound claim needs us only while it carries the old mark, a source
	 * finalizer, or an intent not yet removed.
	 */
	if (claim->volume_name && *claim->volume_name && !plan_claim_marked(claim) &&
	    !plan_has_finalizer(&claim->meta, FINALIZER_CLONE_SOURCE) &&
	    !ctl_claim_has_intents(c, key))
		return;
	wq_add(c->claim_q, key);
}

static void on_volume(void *ctx, enum informer_event ev, const char *key,
		      const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	const struct kube_pv *pv = iobj_data(cur);

	(void)old;
	if (ev == INFORMER_DELETE) {
		if (pv->meta.uid) {
			pthread_mutex_lock(&c->slow_mu);
			hmap_remove(&c->deleted, pv->meta.uid);
			pthread_mutex_unlock(&c->slow_mu);
		}
		return;
	}
	if (!plan_pv_is_ours(pv, &c->o.plan))
		return;
	wq_add(c->volume_q, key);
	if (pv->claim_ns && pv->claim_name) {
		/* the PV that accounts for an intent may have reached the cache now */
		char *ck = xasprintf("%s/%s", pv->claim_ns, pv->claim_name);

		if (ctl_claim_has_intents(c, ck))
			wq_add(c->claim_q, ck);
		free(ck);
	}
}

/* A class appeared or changed: its waiting claims may now be provisioned. */
static void on_class(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	struct controller *c = ctx;
	struct iobj **all;
	size_t n;

	(void)cur;
	if (ev == INFORMER_DELETE || old == cur)	/* resyncs reach claims directly */
		return;
	all = informer_list(c->claims, &n);
	for (size_t i = 0; i < n; i++) {
		const struct kube_pvc *claim = iobj_data(all[i]);
		const char *cls = plan_claim_class(claim);

		if (cls && !strcmp(cls, key) && !(claim->volume_name && *claim->volume_name)) {
			char *k = informer_key_of(claim);

			wq_add(c->claim_q, k);
			free(k);
		}
	}
	informer_list_free(all, n);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uintptr_t stack_low = mem_stack_low();
	char *key;

	while (wq_get(w->q, &key) == 0) {
		const char *why = w->c->o.may_write ? w->c->o.may_write(w->c->o.may_write_ctx) : NULL;

		if (why) {
			log_warn("%s: not synced, this worker stops: %s", key, why);
			wq_done(w->q, key);
			free(key);
			break;
		}
		switch (w->sync(w->c, key)) {
		case SYNC_DONE:
			wq_forget(w->q, key);
			break;
		case SYNC_RETRY:
			wq_add_rate_limited(w->q, key);
			log_v(2, "%s: retry %u scheduled", key, wq_failures(w->q, key));
			break;
		case SYNC_RETRY_SLOW:
			wq_add_after(w->q, key, w->c->o.retry_max_ms);
			log_v(2, "%s: infeasible; next try in %lld ms", key,
			      (long long)w->c->o.retry_max_ms);
			break;
		}
		wq_done(w->q, key);
		free(key);
		/* about to wait: the deep pages of the sync are no longer needed */
		if (!wq_len(w->q))
			mem_drop_stack(stack_low, WORKER_STACK_KEEP);
	}
	return NULL;
}

/*
 * Hold the journal's paced write only while it costs no throughput: the
 * adds must go now when every worker waits for them, or when few workers
 * are past the journal (between a durable intent and their PV) and either
 * claims queue for a worker or the API budget of the PV creates goes
 * unused (a token or a slot in flight is free: the start of a burst, or
 * claims that come one by one, which then wait for no pacing interval):
 * the workers are running dry. Otherwise the PV creates have work for the
 * budget, and gathering adds costs them nothing.
 */
static int few_past_journal(const struct controller *c)
{
	return c->o.workers / 16 > 4 ? c->o.workers / 16 : 4;
}

static bool journal_urgent(void *ctx, size_t waiting)
{
	struct controller *c = ctx;

	if ((long)waiting >= (long)c->o.workers)
		return true;
	if (atomic_load(&c->past_journal) >= few_past_journal(c))
		return false;
	/* running dry: claims wait for a worker, or the PV creates' budget idles */
	return wq_len(c->claim_q) > 0 || (waiting > 0 && kube_client_has_capacity(c->kube));
}

/*
 * A worker leaves the stretch past the journal. Nothing else would make the
 * paced writer look again when that leaves few workers there (no add came:
 * the others all wait for the write), and the claims would wait for the
 * end of its interval, the driver and the API server idle meanwhile.
 */
void ctl_left_journal(struct controller *c)
{
	int left = atomic_fetch_sub(&c->past_journal, 1) - 1;

	if (c->journal && left < few_past_journal(c))
		journal_nudge(c->journal);
}

/*
 * The journal's objects are named after the driver: "csi-provisioner-
 * journal-<driver>-N", labelled csi-provisioner.dev/journal=<driver>; with
 * --node-deployment one journal per node (see below). CSI
 * driver names are at most 63 characters of letters, digits, '-' and '.';
 * anything else becomes '-'.
 */
static struct journal *new_journal(struct controller *c)
{
	char *label = journal_label_of(c->o.plan.driver), *base;
	struct journal_opts jo;
	struct journal *j;

	if (c->o.node_name) {
		/*
		 * node deployment: a journal per node. The objects are named
		 * "<driver>-<node>" (hashed to fit); the label joins them with
		 * '_', which neither a driver nor a node name has, so no node's
		 * journal is ever another driver's (driver "d-a" vs node "a").
		 */
		char *name = nd_name_with_max_length(label, c->o.node_name, 63);
		char *node_label = strlen(label) + 1 + strlen(c->o.node_name) <= 63 ?
				   xasprintf("%s_%s", label, c->o.node_name) : NULL;

		if (!node_label) {
			char *cut = nd_name_with_max_length(label, c->o.node_name, 61);

			node_label = xasprintf("%s_n", cut);
			free(cut);
		}
		base = xasprintf("csi-provisioner-journal-%s", name);
		free(name);
		free(label);
		label = node_label;
	} else {
		base = xasprintf("csi-provisioner-journal-%s", label);
	}
	memset(&jo, 0, sizeof(jo));
	jo.namespace = c->o.journal_namespace;
	jo.base = base;
	jo.label = label;
	jo.holder = c->o.journal_holder;
	jo.metrics = c->o.metrics;
	jo.min_write_interval_ms = c->o.journal_min_write_interval_ms;
	jo.lazy_remove_ms = JOURNAL_LAZY_REMOVE_MS;
	jo.urgent = journal_urgent;
	jo.urgent_ctx = c;
	j = journal_new(c->o.journal_kube ? c->o.journal_kube : c->kube, &jo);
	free(base);	/* journal_new copies what it keeps */
	free(label);
	return j;
}

/* Whether the process is being stopped (SIGTERM while we wait to start). */
static bool stopping(struct controller *c)
{
	return c->o.stopping && c->o.stopping(c->o.stopping_ctx);
}

/*
 * Wait up to ms in short slices, so a stop is seen within START_SLICE_MS;
 * with inf, until its first list is in. Returns 1 when stopped.
 */
static int start_wait(struct controller *c, struct informer *inf, int64_t ms)
{
	int64_t deadline = clock_now_ms() + ms, left;

	for (;;) {
		if (stopping(c))
			return 1;
		left = deadline - clock_now_ms();
		if (left <= 0)
			return 0;
		if (left > START_SLICE_MS)
			left = START_SLICE_MS;
		if (inf) {
			if (informer_wait_synced(inf, left))
				return 0;
		} else {
			clock_sleep_ms(left);
		}
	}
}

/* Read the journal, retrying for up to a minute; then queue every intent's claim. */
static int load_journal(struct controller *c, struct err *e)
{
	int64_t deadline = clock_now_ms() + JOURNAL_LOAD_MS, delay = 500;

	for (;;) {
		int rc = journal_load(c->journal, e);

		if (!rc)
			break;
		if (clock_now_ms() + delay > deadline) {
			err_prefix(e, "cannot read the intent journal in namespace %s; "
				   "refusing to provision without it", c->o.journal_namespace);
			return rc;
		}
		log_error("cannot read the intent journal in namespace %s, will retry: %s",
			  c->o.journal_namespace, err_msg(e));
		err_release(e);
		if (start_wait(c, NULL, delay))
			return err_set(e, ERR_STOPPED, "stopped while reading the intent journal");
		delay = delay * 2 > 8000 ? 8000 : delay * 2;
	}
	ctl_intents_loaded(c);
	log_info("intent journal: %zu intents in namespace %s", journal_count(c->journal),
		 c->o.journal_namespace);
	return 0;
}

struct controller *controller_new(struct kube_client *kube, struct csi_client *csi,
				  const struct controller_opts *o)
{
	struct controller *c = xcalloc(1, sizeof(*c));

	c->kube = kube;
	c->csi = csi;
	c->o = *o;
	pthread_mutex_init(&c->slow_mu, NULL);
	/*
	 * Events spend the main client's budget as best effort (events.h): they
	 * never add to what the API server gets, and under load they wait for
	 * the workers' writes instead of taking every other token.
	 */
	{
		char *component = o->component ? NULL : event_component(o->plan.provisioner);

		c->events = event_sink_new(kube, o->component ? o->component : component, 4096);
		free(component);
	}
	c->claim_q = wq_new("claims", o->retry_start_ms, o->retry_max_ms);
	c->volume_q = wq_new("volumes", o->retry_start_ms, o->retry_max_ms);
	c->claims = informer_new(kube, &pvc_type, o->resync_ms);
	c->volumes = informer_new(kube, &pv_type, o->resync_ms);
	informer_set_packer(c->claims, &pvc_packer);
	informer_set_packer(c->volumes, &pv_packer);
	informer_set_trim(c->claims, ctl_trim_pvc, c);
	informer_set_trim(c->volumes, ctl_trim_pv, c);
	/* the two that grow with the cluster: no page round trips at start (issue #11) */
	informer_set_stream_lists(c->claims, true);
	informer_set_stream_lists(c->volumes, true);
	c->classes = informer_new(kube, &informer_type_storage_class, o->resync_ms);
	informer_add_handler(c->claims, on_claim, c);
	informer_add_handler(c->volumes, on_volume, c);
	informer_add_handler(c->classes, on_class, c);
	if (o->publish_unpublish) {
		c->attachments = informer_new(kube, &va_type, o->resync_ms);
		informer_add_handler(c->attachments, on_attachment, c);
	}
	if (o->node_name)
		ctl_nd_init(c);		/* its own node only: no Node or CSINode watches */
	else if (o->topology) {
		c->nodes = informer_new(kube, &informer_type_node, o->resync_ms);
		c->csinodes = informer_new(kube, &informer_type_csinode, o->resync_ms);
	}
	register_metrics(c, o->metrics);
	pthread_mutex_init(&c->intents_mu, NULL);
	pthread_mutex_init(&c->early_mu, NULL);
	if (o->volume_accounting)
		c->journal = new_journal(c);
	return c;
}

/*
 * Start the informers: every one but the PVs' with `volumes` false (see
 * controller_start), all at once otherwise (PVs and claims are independent:
 * before both are in, a claim worker acts only on what claim_early.c
 * allows), so start-up takes the longest list, not their sum (issue #11).
 */
static int start_informers(struct controller *c, bool volumes, struct err *e)
{
	struct informer *infs[] = { c->classes, volumes ? c->volumes : NULL, c->nodes, c->csinodes,
				    c->attachments, c->claims };

	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++) {
		int rc = infs[i] ? informer_start(infs[i], e) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Wait for the first list of each informer of `infs` (NULL: not used) with
 * one deadline for all, from `deadline`.
 */
static int wait_listed(struct controller *c, struct informer *const *infs,
		       const char *const *names, size_t n, int64_t deadline, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (!infs[i])
			continue;
		if (start_wait(c, infs[i], deadline - clock_now_ms()))
			return err_set(e, ERR_STOPPED, "stopped while waiting for the first list of %s",
				       names[i]);
		if (!informer_synced(infs[i]))
			return err_set(e, ERR_TIMEOUT, "timed out waiting for the first list of %s",
				       names[i]);
	}
	return 0;
}

/* The small caches the claim workers read from their first sync on. */
static int wait_small_informers(struct controller *c, int64_t deadline, struct err *e)
{
	struct informer *infs[] = { c->classes, c->nodes, c->csinodes };
	const char *names[] = { "storageclasses", "nodes", "csinodes" };

	return wait_listed(c, infs, names, sizeof(infs) / sizeof(infs[0]), deadline, e);
}

/* The claims alone: controller_start lists the PVs once they are in. */
static int wait_claims(struct controller *c, int64_t deadline, struct err *e)
{
	struct informer *infs[] = { c->claims };
	const char *names[] = { "persistentvolumeclaims" };

	return wait_listed(c, infs, names, 1, deadline, e);
}

/*
 * Those that grow with the cluster (see claim_early.c for what waits on
 * them); VolumeAttachments only the volume workers read.
 */
static int wait_large_informers(struct controller *c, int64_t deadline, struct err *e)
{
	struct informer *infs[] = { c->claims, c->volumes, c->attachments };
	const char *names[] = { "persistentvolumeclaims", "persistentvolumes",
				"volumeattachments" };
	int rc = wait_listed(c, infs, names, 3, deadline, e);

	if (!rc)
		log_info("caches synced: %zu claims, %zu volumes, %zu classes",
			 informer_count(c->claims), informer_count(c->volumes),
			 informer_count(c->classes));
	return rc;
}

static int wait_informers(struct controller *c, struct err *e)
{
	int64_t deadline = clock_now_ms() + SYNC_TIMEOUT_MS;
	int rc = wait_small_informers(c, deadline, e);

	return rc ? rc : wait_large_informers(c, deadline, e);
}

int controller_load_caches(struct controller *c, struct err *e)
{
	int rc = start_informers(c, true, e);

	return rc ? rc : wait_informers(c, e);
}

/* Start `n` workers of `w`, counted in c->nthreads. */
static int start_workers(struct controller *c, struct worker *w, int n, struct err *e)
{
	pthread_attr_t attr;
	int rc = 0;

	/* a sync is shallow: 512 KiB of stack instead of the default 8 MiB each */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	for (int i = 0; i < n && !rc; i++) {
		rc = pthread_create(&c->threads[c->nthreads], &attr, work, w);
		if (!rc)
			c->nthreads++;
	}
	pthread_attr_destroy(&attr);
	return rc ? err_sys(e, rc, "cannot start worker thread") : 0;
}

int controller_start(struct controller *c, struct err *e)
{
	int64_t deadline;
	int rc;

	c->claim_worker = (struct worker){ c, c->claim_q, ctl_sync_claim };
	c->volume_worker = (struct worker){ c, c->volume_q, ctl_sync_volume };
	c->threads = xcalloc(2 * c->o.workers, sizeof(*c->threads));
	/*
	 * The journal is read while the informers list: neither needs the
	 * other. Claims are provisioned while claims and PVs still list
	 * (claim_early.c), and the claims list first: alone it ends sooner
	 * (the API server and we share the cores), and its end is where the
	 * last Pending claim of ours shows up. The PVs list after it; only
	 * the volume workers need them complete.
	 */
	rc = start_informers(c, false, e);
	if (!rc && c->journal)
		rc = load_journal(c, e);
	deadline = clock_now_ms() + SYNC_TIMEOUT_MS;
	if (!rc)
		rc = wait_small_informers(c, deadline, e);
	if (!rc)
		rc = start_workers(c, &c->claim_worker, c->o.workers, e);
	if (!rc)
		rc = wait_claims(c, deadline, e);
	if (!rc)
		rc = informer_start(c->volumes, e);
	if (!rc)
		rc = wait_large_informers(c, deadline, e);
	if (rc)
		return rc;
	ctl_early_synced(c);
	/* a volume is decided only on complete caches */
	if ((rc = start_workers(c, &c->volume_worker, c->o.workers, e)))
		return rc;
	/* as upstream: only for a driver that restores snapshots */
	if (c->o.snapshot && c->o.snapshot_orphan_sweep_ms > 0 &&
	    !(c->sweep = ctl_snapshot_sweep_start(c, c->o.snapshot_orphan_sweep_ms, e)))
		return err_code(e) ? err_code(e) : ERR_FAILED;
	return 0;
}

bool controller_synced(struct controller *c)
{
	return informer_synced(c->claims) && informer_synced(c->volumes) &&
	       informer_synced(c->classes);
}

void controller_stop(struct controller *c)
{
	ctl_snapshot_sweep_stop(c->sweep);
	c->sweep = NULL;
	informer_stop(c->claims);
	informer_stop(c->volumes);
	informer_stop(c->classes);
	if (c->nodes)
		informer_stop(c->nodes);
	if (c->csinodes)
		informer_stop(c->csinodes);
	if (c->attachments)
		informer_stop(c->attachments);
	wq_shutdown(c->claim_q);
	wq_shutdown(c->volume_q);
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
	if (c->journal && !journal_lost(c->journal)) {
		/* write the removals still queued, so a successor has less to check */
		struct err e = ERR_INIT;

		if (journal_flush(c->journal, JOURNAL_FLUSH_MS, &e))
			log_warn("intent journal: queued removals not written at stop: %s",
				 err_msg(&e));
		err_release(&e);
	}
}

bool controller_journal_lost(struct controller *c)
{
	return c->journal && journal_lost(c->journal);
}

static void free_slow(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	ctl_slow_entry_free(value);
}

void controller_free(struct controller *c)
{
	if (!c)
		return;
	controller_stop(c);
	informer_free(c->claims);
	informer_free(c->volumes);
	informer_free(c->classes);
	informer_free(c->nodes);
	informer_free(c->csinodes);
	informer_free(c->attachments);
	event_sink_free(c->events, 2000);	/* the workers are gone: flush what they said */
	/* before the queues: its writer asks journal_urgent, which reads claim_q */
	journal_free(c->journal);
	wq_free(c->claim_q);
	wq_free(c->volume_q);
	hmap_each(&c->slow, free_slow, NULL);
	hmap_release(&c->slow);
	hmap_release(&c->deleted);
	ctl_topo_choices_release(c);
	if (c->o.node_name)
		ctl_nd_release(c);
	pthread_mutex_destroy(&c->slow_mu);
	ctl_intents_release(c);
	pthread_mutex_destroy(&c->intents_mu);
	ctl_early_release(c);
	free(c->threads);
	free(c);
}
