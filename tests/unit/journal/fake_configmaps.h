/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_configmaps.h - a tiny in-process HTTP/1.1 server on 127.0.0.1 that
 * plays the API server for the Leases (the journal's shards) and the
 * ConfigMaps (an older version's shards, adopted) of one namespace, for the
 * journal tests: list with an equality labelSelector, get, create (409
 * AlreadyExists), update (409 Conflict on a stale resourceVersion, 404 when
 * missing), delete (409 on a failed resourceVersion precondition), and the
 * 256 KiB limit on annotations (422). One resourceVersion counter, as etcd
 * has. The fcm_ helpers act on the Leases unless they say otherwise.
 *
 * Tests read and change objects directly (an operator's edit, another
 * holder), count requests, make the next N writes fail with a status, and
 * hold writes (they block until released) to see what queues meanwhile.
 *
 * Threads: an accept thread, and one detached thread per connection (each
 * answers one request and closes). `mu` guards everything; fcm_stop waits
 * for the connection threads to end.
 */
#ifndef FAKE_CONFIGMAPS_H
#define FAKE_CONFIGMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct fcm;

struct fcm_counts {
	size_t lists, gets, posts, puts, deletes;
	size_t writes_ok;	/* POST and PUT that stored an object */
	size_t conflicts;	/* PUT with a stale resourceVersion, POST of an existing name */
	size_t failed;		/* writes failed by fcm_fail_writes */
};

/* Serve the leases and configmaps of NS; NULL on failure. */
struct fcm *fcm_start(const char *ns);
void fcm_stop(struct fcm *f);	/* accepts NULL */
const char *fcm_url(const struct fcm *f);	/* "http://127.0.0.1:PORT", borrowed */

/* A copy of the object `name` (caller json_decrefs), or NULL. */
json_t *fcm_get(struct fcm *f, const char *name);
/* Store `obj` (borrowed) under its metadata.name with a new resourceVersion, as a
 * direct write to etcd would; returns that resourceVersion. */
int64_t fcm_set(struct fcm *f, json_t *obj);
/* Store a shard as another writer would: label, holder annotation, and
 * `pairs` key, value, ..., NULL as its records (short keys only). */
int64_t fcm_put_shard(struct fcm *f, const char *name, const char *label, const char *holder,
		      const char *const *pairs);
/* The same as an older version's ConfigMap shard (`pairs` as its data). */
int64_t fcm_put_configmap(struct fcm *f, const char *name, const char *label,
			  const char *holder, const char *const *pairs);
size_t fcm_configmaps(struct fcm *f);
/* While set, every ConfigMap request is refused with 403 (upstream's RBAC). */
void fcm_forbid_configmaps(struct fcm *f, bool forbid);
/* Delete `name` (as an operator's kubectl delete would). */
void fcm_delete(struct fcm *f, const char *name);
/* The holder annotation of `name` (caller frees), or NULL. */
char *fcm_holder(struct fcm *f, const char *name);
/* The record `key` in `name` (caller frees), or NULL. */
char *fcm_value(struct fcm *f, const char *name, const char *key);
size_t fcm_objects(struct fcm *f);

void fcm_counts(struct fcm *f, struct fcm_counts *out);
/* The next `n` writes (POST/PUT) fail with HTTP `status` before touching anything. */
void fcm_fail_writes(struct fcm *f, int n, int status);
/* While held, writes block before they are looked at. */
void fcm_hold_writes(struct fcm *f, bool hold);
/* Wait up to ms until at least n writes are blocked by the hold; true if so. */
bool fcm_wait_held(struct fcm *f, size_t n, int64_t ms);

#endif
