/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_cluster.h - a tiny in-process HTTP/1.1 server on 127.0.0.1 that
 * plays the API server for the provisioning controller's tests: exactly the
 * collections the controller uses with --volume-accounting, with topology,
 * and without clone or publish:
 *
 *   persistentvolumeclaims  list + watch (all namespaces), GET, PATCH
 *   persistentvolumes       list + watch, GET, POST, PATCH, DELETE
 *   storageclasses          list + watch, GET
 *   leases, configmaps      list (equality labelSelector), GET, POST
 *                           (409 AlreadyExists), PUT (409 Conflict on a
 *                           stale resourceVersion, 404 when missing)
 *   events                  POST and PATCH accepted and kept
 *   nodes, csinodes         list + watch, GET (for topology)
 *
 * One resourceVersion counter for everything, as etcd has; every change
 * goes to an event log that watches replay from their resourceVersion;
 * a watch ends after 200 ms with a BOOKMARK (see WATCH_LIFE_MS).
 * PATCH understands merge patches and JSON patches (add, remove, replace,
 * test; a failed test is 422). DELETE of an object with finalizers sets its
 * deletionTimestamp instead. Lists come in one page.
 *
 * Tests change the world directly (fcl_put, fcl_delete), read copies of it,
 * count requests per resource and verb, and wait for conditions with a
 * deadline (fcl_wait_for: re-checked on every change).
 *
 * Threads: an accept thread, and one detached thread per connection (each
 * answers one request and closes). `mu` guards everything and is never
 * held while a socket is read or written; fcl_stop ends open watches and
 * waits for the connection threads.
 */
#ifndef FAKE_CLUSTER_H
#define FAKE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum fcl_res { FCL_PVC, FCL_PV, FCL_SC, FCL_CM, FCL_EVENT, FCL_NODE, FCL_CSINODE, FCL_LEASE,
	       FCL_NRES };
enum fcl_verb { FCL_LIST, FCL_WATCH, FCL_GET, FCL_POST, FCL_PUT, FCL_PATCH, FCL_DELETE,
		FCL_NVERBS };

struct fcl;

struct fcl *fcl_start(void);		/* NULL on failure */
void fcl_stop(struct fcl *f);		/* accepts NULL */
const char *fcl_url(const struct fcl *f);	/* "http://127.0.0.1:PORT", borrowed */

/*
 * Create or replace an object (borrowed) as a direct write to etcd would:
 * a new resourceVersion, a uid when it has none, an ADDED or MODIFIED event.
 * Returns the resourceVersion.
 */
int64_t fcl_put(struct fcl *f, enum fcl_res r, json_t *obj);
/* Delete as the API would (finalizers: deletionTimestamp only); false if missing. */
bool fcl_delete(struct fcl *f, enum fcl_res r, const char *ns, const char *name);
/* A copy of one object (caller json_decrefs), or NULL. */
json_t *fcl_get(struct fcl *f, enum fcl_res r, const char *ns, const char *name);
/* A copy of every object of `r`, as an array (caller json_decrefs). */
json_t *fcl_all(struct fcl *f, enum fcl_res r);

/*
 * Hold (or release) every list and watch of `r`: they wait before their
 * first byte, as an API server slow to stream a large list would.
 */
void fcl_hold(struct fcl *f, enum fcl_res r, bool held);

/* Requests answered so far (failed ones included). */
size_t fcl_count(struct fcl *f, enum fcl_res r, enum fcl_verb v);

/*
 * Wait up to `ms` until check(ctx) is true, calling it (without any lock of
 * the fake held) at once, after every change of the world and every 50 ms
 * (conditions on other fakes, such as the driver's record). True if it was.
 */
bool fcl_wait_for(struct fcl *f, bool (*check)(void *ctx), void *ctx, int64_t ms);

#endif
