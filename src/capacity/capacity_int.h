/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capacity_int.h - what the files of the capacity controller share, and
 * nothing outside src/capacity uses:
 *
 *   capacity.c        caches, handlers, the wanted set, queue, workers,
 *                     metrics, life cycle
 *   capacity_sync.c   one object: GetCapacity, create or patch ("i:"
 *                     keys); delete when obsolete or duplicate ("o:" keys);
 *                     the owner lookup
 *
 * The lock rules are capacity.c's DESIGN paragraph.
 */
#ifndef CAPACITY_CAPACITY_INT_H
#define CAPACITY_CAPACITY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/hmap.h"
#include "capacity/capacity.h"
#include "informer/informer.h"

struct wq;
struct metric;

/* A created object the cache has not shown yet holds back another create this long. */
#define PENDING_MS 30000
#define PENDING_RECHECK_MS 1000

struct cap_item {
	char *class_name;
	struct strmap seg;
};

struct cap_pending {
	char *name;
	int64_t at;
};

struct capacity {
	struct kube_client *kube, *ckube;
	struct csi_client *csi;
	struct capacity_opts o;
	struct cap_params params;
	char *collection;		/* POST path of our objects */
	char *obj_path;			/* their informer's path, with our label selector */
	struct informer_type obj_type;
	struct informer *classes, *nodes, *csinodes, *objects;
	struct wq *q;
	pthread_t *threads;
	size_t nthreads;
	atomic_bool started;

	pthread_mutex_t mu;
	struct hmap wanted;		/* item key -> struct cap_item */
	struct hmap pending;		/* item key -> struct cap_pending */

	struct metric *goal, *current, *obsolete;
};

enum capacity_result { CAP_DONE, CAP_RETRY };

/* A list of keys (owned strings). */
struct capacity_keys {
	char **keys;
	size_t n, alloc;
	const char *class_name;		/* filter for collect_cb; NULL = all */
	const struct strmap *const *segs;	/* filter too; n_segs 0 = none */
	size_t n_segs;
};
void capacity_keys_add(struct capacity_keys *l, const char *k);
/* hmap_each callback and plain free of a struct cap_pending (value may be NULL). */
void capacity_pending_free(void *ctx, const char *key, void *v);

/* "i:" keys: the one object of a wanted item (cap_item_key). */
enum capacity_result capacity_sync_item(struct capacity *c, const char *key);
/* "o:" keys: one existing object of ours, by name. */
enum capacity_result capacity_sync_object(struct capacity *c, const char *name);

#endif
