// SPDX-License-Identifier: Apache-2.0
/*
 * capacity.c - the capacity controller: caches of classes, Nodes, CSINodes
 * and our CSIStorageCapacity objects; a work queue; workers that ask the
 * driver (GetCapacity) and create, patch or delete objects (capacity.h).
 *
 * Queue keys:
 *   "@topology"   work out the wanted objects again (a class, Node or
 *                 CSINode changed); queue the new ones and every object
 *   "@poll"       queue every wanted object; runs every poll interval
 *   "c:<class>"   queue the wanted objects of a class
 *   "i:<item>"    one wanted object (cap_item_key): GetCapacity, then
 *                 create, or patch when a value or the owner differs
 *   "o:<name>"    one existing object of ours: delete it when nothing
 *                 wanted matches it or it duplicates another
 *   ("i:" and "o:" syncs live in capacity_sync.c)
 *
 * DESIGN: `mu` guards the wanted set and the pending creations; it is held
 * only for map work, never across I/O, and never while calling into an
 * informer (informer calls happen before it is taken), so the lock order is
 * simply: an informer's cache lock and `mu` are never held together here.
 * Handlers run on informer threads and only queue keys. One worker per key
 * (the work queue's promise) keeps two syncs of one object apart.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "capacity/capacity.h"
#include "capacity/capacity_int.h"
#include "csi/client.h"
#include "informer/informer.h"
#include "informer/kinds.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "kube/path.h"
#include "metrics/metrics.h"
#include "workqueue/workqueue.h"

#define SYNC_TIMEOUT_MS 120000
#define START_SLICE_MS 200


static void item_free(struct cap_item *it)
{
	if (!it)
		return;
	free(it->class_name);
	strmap_release(&it->seg);
	free(it);
}

static void free_item_cb(void *ctx, const char *key, void *v)
{
	(void)ctx;
	(void)key;
	item_free(v);
}

void capacity_pending_free(void *ctx, const char *key, void *v)
{
	struct cap_pending *p = v;

	(void)ctx;
	(void)key;
	if (p) {
		free(p->name);
		free(p);
	}
}

static void add_prefixed(struct wq *q, const char *prefix, const char *rest)
{
	char *k = xasprintf("%s%s", prefix, rest);

	wq_add(q, k);
	free(k);
}

/* ---- informer adapters and handlers ---- */

static int decode_obj(json_t *j, void *out, struct err *e) { return cap_object_decode(j, out, e); }
static void release_obj(void *p) { cap_object_release(p); }

static void on_class(void *ctx, enum informer_event ev, const char *key, const struct iobj *old,
		     const struct iobj *cur)
{
	struct capacity *c = ctx;
	const struct kube_storage_class *n = iobj_data(cur), *o = old ? iobj_data(old) : NULL;
	bool ours = (n->provisioner && !strcmp(n->provisioner, c->o.provisioner)) ||
		    (o && o->provisioner && !strcmp(o->provisioner, c->o.provisioner));

	if (!ours)
		return;
	wq_add(c->q, "@topology");
	if (ev != INFORMER_DELETE)
		add_prefixed(c->q, "c:", key);
}

static void on_node(void *ctx, enum informer_event ev, const char *key, const struct iobj *old,
		    const struct iobj *cur)
{
	struct capacity *c = ctx;

	(void)key;
	if (ev == INFORMER_UPDATE &&
	    strmap_equal(&((const struct kube_node *)iobj_data(old))->meta.labels,
			 &((const struct kube_node *)iobj_data(cur))->meta.labels))
		return;	/* status updates: nothing for us */
	wq_add(c->q, "@topology");
}

/* The driver's topology keys in a CSINode as one string; NULL when it is not listed. */
static char *driver_keys(const struct kube_csinode *n, const char *driver)
{
	for (size_t i = 0; i < n->n_drivers; i++) {
		const struct kube_csinode_driver *d = &n->drivers[i];
		char *s = xstrdup("");

		if (!d->name || strcmp(d->name, driver)) {
			free(s);
			continue;
		}
		for (size_t k = 0; k < d->n_topology_keys; k++) {
			char *t = xasprintf("%s%s\n", s, d->topology_keys[k]);

			free(s);
			s = t;
		}
		return s;
	}
	return NULL;
}

static void on_csinode(void *ctx, enum informer_event ev, const char *key, const struct iobj *old,
		       const struct iobj *cur)
{
	struct capacity *c = ctx;
	char *a = driver_keys(iobj_data(cur), c->o.driver);
	char *b = old ? driver_keys(iobj_data(old), c->o.driver) : NULL;
	bool same = ev == INFORMER_UPDATE && ((!a && !b) || (a && b && !strcmp(a, b)));

	(void)key;
	if (!same && (a || b))
		wq_add(c->q, "@topology");
	free(a);
	free(b);
}

static void on_object(void *ctx, enum informer_event ev, const char *key, const struct iobj *old,
		      const struct iobj *cur)
{
	struct capacity *c = ctx;
	const struct cap_object *o = iobj_data(cur);

	(void)key;
	(void)old;
	if (!o->c.meta.name)
		return;
	if (ev == INFORMER_DELETE) {
		/* someone removed it: if it is still wanted, it is made again */
		struct strmap s;
		char *k;

		if (!o->c.storage_class_name)
			return;
		cap_object_segment(o, &s);
		k = cap_item_key(o->c.storage_class_name, &s);
		add_prefixed(c->q, "i:", k);
		free(k);
		strmap_release(&s);
		return;
	}
	add_prefixed(c->q, "o:", o->c.meta.name);
}

/* ---- what is wanted ---- */

/* Data pointers of every cached object of `inf`; free *refs with informer_list_free. */
static const void **list_data(struct informer *inf, struct iobj ***refs, size_t *n)
{
	const void **d;

	*refs = informer_list(inf, n);
	d = xcalloc(*n + 1, sizeof(*d));
	for (size_t i = 0; i < *n; i++)
		d[i] = iobj_data((*refs)[i]);
	return d;
}

void capacity_keys_add(struct capacity_keys *l, const char *k)
{
	l->keys = xgrow(l->keys, l->n + 1, &l->alloc, sizeof(char *));
	l->keys[l->n++] = xstrdup(k);
}

static void collect_cb(void *ctx, const char *key, void *v)
{
	struct capacity_keys *l = ctx;
	const struct cap_item *it = v;
	bool take = !l->class_name || !strcmp(l->class_name, it->class_name);

	if (take && l->n_segs) {
		take = false;
		for (size_t i = 0; i < l->n_segs && !take; i++)
			take = strmap_equal(l->segs[i], &it->seg);
	}
	if (take)
		capacity_keys_add(l, key);
}

/* Queue "i:" keys of the wanted items the filter in *l takes (under mu), then free them. */
static void queue_items(struct capacity *c, struct capacity_keys *l)
{
	pthread_mutex_lock(&c->mu);
	hmap_each(&c->wanted, collect_cb, l);
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < l->n; i++) {
		add_prefixed(c->q, "i:", l->keys[i]);
		free(l->keys[i]);
	}
	free(l->keys);
	l->keys = NULL;
	l->n = l->alloc = 0;
}

struct diff_ctx {
	const struct hmap *other;
	struct capacity_keys *out;
};

static void diff_cb(void *ctx, const char *key, void *v)
{
	struct diff_ctx *d = ctx;

	(void)v;
	if (!hmap_has(d->other, key))
		capacity_keys_add(d->out, key);
}

/* Work out the wanted items from the caches; queue new items and every object. */
static void sync_topology(struct capacity *c)
{
	struct iobj **cr, **nr = NULL, **sr = NULL, **orefs;
	size_t nc, nn = 0, ns = 0, no, nsegs;
	const void **classes = list_data(c->classes, &cr, &nc), **nodes = NULL, **csinodes = NULL;
	struct strmap *segs, none = STRMAP_INIT;
	struct hmap wanted = HMAP_INIT, old;
	struct capacity_keys added = { 0 };
	struct diff_ctx dc = { NULL, &added };
	size_t n_classes = 0;

	if (c->o.fixed_segment) {
		segs = xcalloc(1, sizeof(*segs));
		strmap_copy(&segs[0], c->o.fixed_segment);
		nsegs = 1;
	} else if (c->o.topology) {
		nodes = list_data(c->nodes, &nr, &nn);
		csinodes = list_data(c->csinodes, &sr, &ns);
		cap_segments_from_nodes(c->o.driver, (const struct kube_csinode *const *)csinodes, ns,
					(const struct kube_node *const *)nodes, nn, &segs, &nsegs);
	} else {
		segs = xcalloc(1, sizeof(*segs));
		segs[0] = none;
		nsegs = 1;
	}
	for (size_t i = 0; i < nc; i++) {
		const struct kube_storage_class *sc = classes[i];

		if (!sc->meta.name || !cap_class_wanted(sc, c->o.provisioner, c->o.immediate_binding))
			continue;
		n_classes++;
		for (size_t s = 0; s < nsegs; s++) {
			struct cap_item *it = xcalloc(1, sizeof(*it));
			char *k;

			it->class_name = xstrdup(sc->meta.name);
			strmap_copy(&it->seg, &segs[s]);
			k = cap_item_key(it->class_name, &it->seg);
			item_free(hmap_put(&wanted, k, it));
			free(k);
		}
	}
	pthread_mutex_lock(&c->mu);
	dc.other = &c->wanted;
	hmap_each(&wanted, diff_cb, &dc);
	old = c->wanted;
	c->wanted = wanted;
	pthread_mutex_unlock(&c->mu);
	hmap_each(&old, free_item_cb, NULL);
	hmap_release(&old);
	log_v(3, "capacity: %zu topology segments, %zu classes of ours, %zu objects wanted "
	      "(%zu new)", nsegs, n_classes, nsegs * n_classes, added.n);
	for (size_t i = 0; i < added.n; i++) {
		add_prefixed(c->q, "i:", added.keys[i]);
		free(added.keys[i]);
	}
	free(added.keys);
	/* objects that no longer match anything wanted go */
	orefs = informer_list(c->objects, &no);
	for (size_t i = 0; i < no; i++) {
		const struct cap_object *o = iobj_data(orefs[i]);

		if (o->c.meta.name)
			add_prefixed(c->q, "o:", o->c.meta.name);
	}
	informer_list_free(orefs, no);
	cap_segments_free(segs, nsegs);
	free(classes);
	free(nodes);
	free(csinodes);
	informer_list_free(cr, nc);
	if (nr)
		informer_list_free(nr, nn);
	if (sr)
		informer_list_free(sr, ns);
}

static enum capacity_result sync(struct capacity *c, const char *key)
{
	struct capacity_keys l = { 0 };

	if (!strcmp(key, "@topology")) {
		sync_topology(c);
	} else if (!strcmp(key, "@poll")) {
		queue_items(c, &l);
		wq_add_after(c->q, "@poll", c->o.poll_ms);
	} else if (!strncmp(key, "c:", 2)) {
		l.class_name = key + 2;
		queue_items(c, &l);
	} else if (!strncmp(key, "i:", 2)) {
		return capacity_sync_item(c, key + 2);
	} else if (!strncmp(key, "o:", 2)) {
		return capacity_sync_object(c, key + 2);
	}
	return CAP_DONE;
}

static void *work(void *arg)
{
	struct capacity *c = arg;
	char *key;

	while (wq_get(c->q, &key) == 0) {
		if (sync(c, key) == CAP_DONE) {
			wq_forget(c->q, key);
		} else {
			wq_add_rate_limited(c->q, key);
			log_v(2, "capacity: retry %u of %s scheduled", wq_failures(c->q, key), key);
		}
		wq_done(c->q, key);
		free(key);
	}
	return NULL;
}

/* ---- metrics, as upstream's collector ---- */

static void collect(void *ctx, struct metrics *m)
{
	struct capacity *c = ctx;
	struct iobj **refs;
	struct hmap found = HMAP_INIT;
	size_t n, goal, obsolete = 0;

	(void)m;
	if (!atomic_load(&c->started))
		return;
	refs = informer_list(c->objects, &n);
	pthread_mutex_lock(&c->mu);
	goal = c->wanted.count;
	for (size_t i = 0; i < n; i++) {
		const struct cap_object *o = iobj_data(refs[i]);
		struct strmap s;
		const struct cap_item *it;
		char *k;

		if (!cap_object_managed(o, c->o.driver, c->params.managed_by) ||
		    !o->c.storage_class_name)
			continue;
		cap_object_segment(o, &s);
		k = cap_item_key(o->c.storage_class_name, &s);
		it = hmap_get(&c->wanted, k);
		if (it && cap_object_matches(o, it->class_name, &it->seg))
			hmap_put(&found, k, NULL);
		else
			obsolete++;
		free(k);
		strmap_release(&s);
	}
	pthread_mutex_unlock(&c->mu);
	informer_list_free(refs, n);
	metric_set(c->goal, NULL, (double)goal);
	metric_set(c->current, NULL, (double)found.count);
	metric_set(c->obsolete, NULL, (double)obsolete);
	hmap_release(&found);
}

static void register_metrics(struct capacity *c, struct metrics *m)
{
	if (!m)
		return;
	c->goal = metrics_add(m, METRIC_GAUGE, "csistoragecapacities_desired_goal",
		"Number of CSIStorageCapacity objects that are supposed to be managed automatically.",
		NULL, NULL, 0);
	c->current = metrics_add(m, METRIC_GAUGE, "csistoragecapacities_desired_current",
		"Number of CSIStorageCapacity objects that exist and are supposed to be managed "
		"automatically.", NULL, NULL, 0);
	c->obsolete = metrics_add(m, METRIC_GAUGE, "csistoragecapacities_obsolete",
		"Number of CSIStorageCapacity objects that exist and will be deleted automatically.",
		NULL, NULL, 0);
	metrics_add_collector(m, collect, c);
}

/* ---- life cycle ---- */

struct capacity *capacity_new(struct kube_client *kube, struct kube_client *cap_kube,
			      struct csi_client *csi, const struct capacity_opts *o)
{
	struct capacity *c = xcalloc(1, sizeof(*c));
	struct kube_list_query q = { 0 };
	char *sel;

	c->kube = kube;
	c->ckube = cap_kube;
	c->csi = csi;
	c->o = *o;
	c->params = (struct cap_params){ o->namespace, o->driver,
					 o->managed_by ? o->managed_by : CAP_MANAGED_BY, o->owner };
	/* the namespace is checked by main.c (kube_namespace_check): were it invalid, the
	 * NULL paths would be refused by every request */
	kube_path_collection(&c->collection, KUBE_RES_CSI_CAPACITY, o->namespace, NULL);
	sel = xasprintf("%s=%s,%s=%s", CAP_LABEL_DRIVER, o->driver, CAP_LABEL_MANAGED_BY,
			c->params.managed_by);
	q.label_selector = sel;
	kube_path_list(&c->obj_path, KUBE_RES_CSI_CAPACITY, o->namespace, &q, NULL);
	free(sel);
	c->obj_type = (struct informer_type){ "csistoragecapacities", c->obj_path,
					      sizeof(struct cap_object), decode_obj, release_obj };
	pthread_mutex_init(&c->mu, NULL);
	c->q = wq_new("csistoragecapacity", o->retry_start_ms, o->retry_max_ms);
	c->classes = informer_new(kube, &informer_type_storage_class, o->resync_ms);
	informer_add_handler(c->classes, on_class, c);
	if (o->topology && !o->fixed_segment) {
		c->nodes = informer_new(kube, &informer_type_node, o->resync_ms);
		c->csinodes = informer_new(kube, &informer_type_csinode, o->resync_ms);
		informer_add_handler(c->nodes, on_node, c);
		informer_add_handler(c->csinodes, on_csinode, c);
	}
	c->objects = informer_new(cap_kube, &c->obj_type, o->resync_ms);
	informer_add_handler(c->objects, on_object, c);
	register_metrics(c, o->metrics);
	return c;
}

int capacity_start(struct capacity *c, struct err *e)
{
	struct informer *infs[] = { c->classes, c->nodes, c->csinodes, c->objects };
	int n = c->o.threads > 0 ? c->o.threads : 1, rc;
	size_t wanted;

	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++) {
		if (!infs[i])
			continue;
		int64_t deadline = clock_now_ms() + SYNC_TIMEOUT_MS;

		if ((rc = informer_start(infs[i], e)))
			return rc;
		/* in slices, so a SIGTERM meanwhile is seen at once */
		while (!informer_wait_synced(infs[i], START_SLICE_MS)) {
			if (c->o.stopping && c->o.stopping(c->o.stopping_ctx))
				return err_set(e, ERR_STOPPED, "capacity: stopped while waiting for "
					       "the first list");
			if (clock_now_ms() >= deadline)
				return err_set(e, ERR_TIMEOUT,
					       "capacity: timed out waiting for the first list");
		}
	}
	/* what is wanted is known before any object is judged obsolete */
	sync_topology(c);
	wanted = c->wanted.count;	/* no worker yet */
	wq_add_after(c->q, "@poll", c->o.poll_ms);
	c->threads = xcalloc((size_t)n, sizeof(*c->threads));
	for (int i = 0; i < n; i++) {
		rc = pthread_create(&c->threads[i], NULL, work, c);
		if (rc)
			return err_sys(e, rc, "capacity: cannot start a worker");
		c->nthreads++;
	}
	atomic_store(&c->started, true);
	log_info("capacity: publishing CSIStorageCapacity objects in namespace %s (%zu classes "
		 "cached, %zu objects wanted, poll every %lld ms)", c->o.namespace,
		 informer_count(c->classes), wanted, (long long)c->o.poll_ms);
	return 0;
}

void capacity_refresh(void *ctx, const char *class_name, const struct strmap *segments, size_t n)
{
	struct capacity *c = ctx;
	struct strmap *segs;
	const struct strmap **ptrs;
	struct capacity_keys l = { 0 };

	if (!c || !atomic_load(&c->started))
		return;
	if (!n) {
		if (class_name)
			add_prefixed(c->q, "c:", class_name);
		return;
	}
	segs = xcalloc(n, sizeof(*segs));
	ptrs = xcalloc(n, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++) {
		strmap_copy(&segs[i], &segments[i]);	/* keys unique: a map on the wire */
		strmap_sort(&segs[i]);
		ptrs[i] = &segs[i];
	}
	l.segs = ptrs;
	l.n_segs = n;
	queue_items(c, &l);
	cap_segments_free(segs, n);
	free(ptrs);
}

void capacity_stop(struct capacity *c)
{
	if (!c || !c->q)
		return;
	wq_shutdown(c->q);
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
	informer_stop(c->classes);
	if (c->nodes)
		informer_stop(c->nodes);
	if (c->csinodes)
		informer_stop(c->csinodes);
	informer_stop(c->objects);
}

void capacity_free(struct capacity *c)
{
	if (!c)
		return;
	capacity_stop(c);
	informer_free(c->classes);
	informer_free(c->nodes);
	informer_free(c->csinodes);
	informer_free(c->objects);
	wq_free(c->q);
	hmap_each(&c->wanted, free_item_cb, NULL);
	hmap_release(&c->wanted);
	hmap_each(&c->pending, capacity_pending_free, NULL);
	hmap_release(&c->pending);
	pthread_mutex_destroy(&c->mu);
	free(c->threads);
	free(c->collection);
	free(c->obj_path);
	free(c);
}
