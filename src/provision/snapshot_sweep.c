// SPDX-License-Identifier: Apache-2.0
/*
 * snapshot_sweep.c - the periodic sweep of orphaned snapshot finalizers
 * (--snapshot-orphan-sweep-interval), as upstream's
 * SnapshotFinalizerController.
 *
 * Our finalizer provisioner.storage.kubernetes.io/volumesnapshot-as-source-
 * protection guards a VolumeSnapshot while a claim restores from it; the
 * claim path removes it when the restore ends. A crash in between, or a
 * claim deleted while we were down, leaves it behind and the snapshot can
 * never be deleted. Every interval (the first right at start) the sweep
 * lists all VolumeSnapshots (paginated), and removes our finalizer from
 * each one that no Pending claim (phase Pending or not yet set) restores
 * from, which is upstream's rule. The list comes first, the claims second:
 * a finalizer seen in the list was added for a claim already in our cache,
 * so a restore that just started is never taken for an orphan.
 *
 * DESIGN: one thread of its own; `mu` guards `stopping` and is held only
 * while waiting for the next round, never across I/O. Its requests are
 * best effort in the controller's budget (kube_client_new_best_effort): a
 * sweep waits for the workers' writes, never they for it; the stop closes
 * its client, so a wait for spare room ends at once. A list that is
 * forbidden (the verb is optional in upstream's RBAC) ends the sweep with a
 * log line, as upstream; a missing snapshot API is retried next round.
 */
#include "provision/snapshot_sweep.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "provision/controller_internal.h"

#define SWEEP_PAGE 500
/* a hostile or broken server cannot keep one round going: at most this many pages */
#define SWEEP_MAX_PAGES 2000

struct snapshot_sweep {
	struct controller *c;
	struct kube_client *kube;	/* best effort in c->kube's budget */
	int64_t interval_ms;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	pthread_t thread;
};

void snapshot_pending_add(struct hmap *index, const struct kube_pvc *p)
{
	const char *g = p->data_source_api_group, *ns = p->data_source_namespace;
	char *key;

	if (p->phase && *p->phase && strcmp(p->phase, "Pending"))
		return;
	/* as upstream, a VolumeSnapshot without an apiGroup counts too: keep, not lose */
	if (!p->data_source_kind || strcmp(p->data_source_kind, "VolumeSnapshot") ||
	    !p->data_source_name || (g && *g && strcmp(g, SNAPSHOT_GROUP)))
		return;
	key = xasprintf("%s/%s", ns && *ns ? ns : p->meta.namespace, p->data_source_name);
	hmap_put(index, key, NULL);
	free(key);
}

bool snapshot_orphaned(const struct kube_volume_snapshot *s, const struct hmap *index)
{
	char *key;
	bool orphaned;

	if (!plan_has_finalizer(&s->meta, FINALIZER_SNAPSHOT_SOURCE))
		return false;
	key = xasprintf("%s/%s", s->meta.namespace, s->meta.name);
	orphaned = !hmap_has(index, key);
	free(key);
	return orphaned;
}

/* The index of every claim in the cache. */
static void pending_sources(struct controller *c, struct hmap *out)
{
	struct iobj **all;
	size_t n;

	all = informer_list(c->claims, &n);
	for (size_t i = 0; i < n; i++) {
		const struct kube_pvc *p = iobj_data(all[i]);
		const char *ns = p->data_source_namespace;

		/* a claim of another namespace counts only when a grant allows it */
		if (ns && *ns && p->meta.namespace && strcmp(ns, p->meta.namespace) &&
		    !ctl_source_use_allowed(c, p))
			continue;
		snapshot_pending_add(out, p);
	}
	informer_list_free(all, n);
}

/* Remove our finalizer from one snapshot; a changed or gone snapshot waits for the next round. */
static void release(struct snapshot_sweep *w, const struct kube_volume_snapshot *s)
{
	struct err e = ERR_INIT;
	json_t *patch = plan_unmark_patch(&s->meta, FINALIZER_SNAPSHOT_SOURCE, NULL);
	char *path = ctl_object_path(KUBE_RES_SNAPSHOT, s->meta.namespace, s->meta.name);
	int rc;

	if (!patch)
		goto out;
	rc = kube_patch(w->kube, path, "application/json-patch+json", patch, NULL, &e);
	if (!rc)
		log_info("snapshot %s/%s: no pending claim restores from it: removed our orphaned "
			 "finalizer %s", s->meta.namespace, s->meta.name, FINALIZER_SNAPSHOT_SOURCE);
	else if (rc == KUBE_ERR_NOT_FOUND || rc == KUBE_ERR_CONFLICT || rc == KUBE_ERR_INVALID)
		log_v(4, "snapshot %s/%s changed meanwhile; the next sweep looks again: %s",
		      s->meta.namespace, s->meta.name, err_msg(&e));
	else
		log_warn("snapshot %s/%s: cannot remove our orphaned finalizer: %s",
			 s->meta.namespace, s->meta.name, err_msg(&e));
out:
	json_decref(patch);
	free(path);
	err_release(&e);
}

/*
 * One round. Returns false when sweeping cannot work at all (forbidden):
 * the thread then ends.
 */
static bool sweep_stopping(struct snapshot_sweep *w)
{
	bool stop;

	pthread_mutex_lock(&w->mu);
	stop = w->stopping;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static bool sweep_once(struct snapshot_sweep *w)
{
	struct controller *c = w->c;
	struct kube_volume_snapshot *held = NULL;
	size_t n_held = 0, alloc = 0, listed = 0, pages = 0;
	struct hmap pending = HMAP_INIT;
	char *cont = NULL, *path = NULL;
	struct err e = ERR_INIT;
	bool go_on = true;
	int rc = 0;

	do {
		struct kube_list_query q = { .limit = SWEEP_PAGE, .cont = cont };
		json_t *page = NULL, *item;
		size_t i;

		if ((rc = kube_path_list(&path, KUBE_RES_SNAPSHOT, NULL, &q, &e))) {
			log_error("snapshot sweep: %s", err_msg(&e));
			goto out;
		}
		rc = kube_get(w->kube, path, &page, &e);
		free(path);
		if (rc)
			break;
		free(cont);
		cont = xstrdup(json_string_value(json_object_get(json_object_get(page, "metadata"),
								 "continue")));
		json_array_foreach(json_object_get(page, "items"), i, item) {
			struct kube_volume_snapshot s;
			struct err de = ERR_INIT;

			listed++;
			if (kube_volume_snapshot_decode(item, &s, &de)) {
				log_v(3, "snapshot sweep: skipping an object that does not decode: %s",
				      err_msg(&de));
				err_release(&de);
				continue;
			}
			if (!plan_has_finalizer(&s.meta, FINALIZER_SNAPSHOT_SOURCE)) {
				kube_volume_snapshot_release(&s);
				continue;
			}
			if (n_held == alloc) {
				alloc = alloc ? 2 * alloc : 8;
				held = xrealloc(held, alloc * sizeof(*held));
			}
			held[n_held++] = s;
		}
		json_decref(page);
		if (cont && *cont && (++pages >= SWEEP_MAX_PAGES || sweep_stopping(w))) {
			log_warn("snapshot sweep: stopped the round after %zu pages", pages);
			go_on = !sweep_stopping(w);
			goto out;
		}
	} while (cont && *cont);
	if (rc == KUBE_ERR_FORBIDDEN) {
		log_info("snapshot sweep: listing VolumeSnapshots is forbidden (grant \"list\" on "
			 "volumesnapshots to enable it); orphaned finalizers are not swept: %s",
			 err_msg(&e));
		go_on = false;
		goto out;
	}
	if (rc) {
		log_v(rc == KUBE_ERR_NOT_FOUND ? 3 : 1, "snapshot sweep: cannot list VolumeSnapshots, "
		      "next round in %lld ms: %s", (long long)w->interval_ms, err_msg(&e));
		goto out;
	}
	pending_sources(c, &pending);
	for (size_t i = 0; i < n_held; i++)
		if (snapshot_orphaned(&held[i], &pending))
			release(w, &held[i]);
	log_v(4, "snapshot sweep: %zu snapshots, %zu with our finalizer, %zu sources pending",
	      listed, n_held, pending.count);
out:
	for (size_t i = 0; i < n_held; i++)
		kube_volume_snapshot_release(&held[i]);
	free(held);
	hmap_release(&pending);
	free(cont);
	err_release(&e);
	return go_on;
}

static void *run(void *arg)
{
	struct snapshot_sweep *w = arg;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		pthread_mutex_unlock(&w->mu);
		if (!sweep_once(w))
			break;
		until = clock_deadline_ms(w->interval_ms);
		pthread_mutex_lock(&w->mu);
		while (!w->stopping &&
		       pthread_cond_timedwait(&w->cond, &w->mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

struct snapshot_sweep *ctl_snapshot_sweep_start(struct controller *c, int64_t interval_ms,
						struct err *e)
{
	struct snapshot_sweep *w = xcalloc(1, sizeof(*w));
	int rc;

	if (kube_client_new_best_effort(&w->kube, c->kube, e)) {
		free(w);
		return NULL;
	}
	w->c = c;
	w->interval_ms = interval_ms;
	pthread_mutex_init(&w->mu, NULL);
	clock_cond_init(&w->cond);
	rc = pthread_create(&w->thread, NULL, run, w);
	if (rc) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cond);
		kube_client_free(w->kube);
		free(w);
		err_sys(e, rc, "cannot start the snapshot sweep");
		return NULL;
	}
	log_info("sweeping orphaned snapshot finalizers every %lld ms", (long long)interval_ms);
	return w;
}

void ctl_snapshot_sweep_stop(struct snapshot_sweep *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	kube_client_close(w->kube);	/* a request waiting for spare room gives up */
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	kube_client_free(w->kube);
	free(w);
}
