/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer.h - list+watch of one resource into a read-only cache.
 *
 * One thread per informer lists the resource page by page (or streams the
 * list, informer_set_stream_lists), then watches from the list's
 * resourceVersion with bookmarks. A watch that ends is
 * resumed from the last resourceVersion seen; 410 Gone relists and delivers
 * the difference as add/update/delete, so handlers never miss a change.
 * Errors back off (1 s doubling to 30 s). Every `resync_ms` all cached
 * objects are re-delivered as updates.
 *
 * Cached objects are decoded once into compact structs (struct kube_pvc,
 * ...; their first member is a struct kube_meta; packed into one
 * allocation when the type can), are immutable, and are
 * reference-counted: a reader takes a reference with informer_get and
 * drops it with iobj_unref; never modify one. Handlers run on the informer
 * thread and must be quick (they enqueue keys).
 */
#ifndef INFORMER_H
#define INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct kube_client;
struct informer;

/* A cached object: ref-counted and immutable. */
struct iobj;
const void *iobj_data(const struct iobj *o);
struct iobj *iobj_ref(struct iobj *o);
void iobj_unref(struct iobj *o);	/* accepts NULL */

struct informer_type {
	const char *name;		/* for logs: "persistentvolumeclaims" */
	/* collection path: "/api/v1/persistentvolumeclaims", may end in a query
	 * such as "?labelSelector=app%3Dx" */
	const char *path;
	size_t size;			/* of the decoded struct */
	/* Decode a JSON object into `out` (zeroed, `size` bytes). */
	int (*decode)(json_t *obj, void *out, struct err *e);
	/* Free what decode allocated inside `obj` (not obj itself). */
	void (*release)(void *obj);
};

/* How to pack a decoded object into one block (see kube_pvc_pack). */
struct informer_packer {
	size_t (*size)(const void *obj);
	void (*pack)(const void *obj, void *block);
};

enum informer_event { INFORMER_ADD, INFORMER_UPDATE, INFORMER_DELETE };

/*
 * `old` is NULL for ADD. For DELETE, `cur` is the object as the DELETED
 * event carried it (its final resourceVersion), or the last cached state
 * when a relist found it gone. Borrowed for the call.
 */
typedef void (*informer_handler_fn)(void *ctx, enum informer_event ev, const char *key,
				    const struct iobj *old, const struct iobj *cur);

/* The client and type are borrowed for the informer's lifetime. */
struct informer *informer_new(struct kube_client *c, const struct informer_type *t,
			      int64_t resync_ms);
/*
 * Cache packed copies (one allocation each, released by one free) instead
 * of the decoded structs; `p` is borrowed for the informer's lifetime. Call
 * before informer_start.
 */
void informer_set_packer(struct informer *inf, const struct informer_packer *p);
/*
 * Objects that are not ours cost less cached (issue #11, "memory flat in
 * cluster size"). Before an object is packed, `fn` returns either `obj`
 * (cache it whole) or `scratch` (`size` bytes of the type, zeroed) holding
 * a shallow copy of `obj` without the parts no reader uses for such an
 * object; the packer then copies only what is left. `obj` is the decoded
 * object about to be released: `fn` may reorder its arrays, never free or
 * replace what they hold. The choice may depend
 * on the object alone (each watch event re-decodes the whole object, so a
 * change that makes it ours brings it back whole). Needs a packer; call
 * before informer_start.
 */
typedef const void *(*informer_trim_fn)(void *ctx, void *obj, void *scratch);
void informer_set_trim(struct informer *inf, informer_trim_fn fn, void *ctx);
/* Cached objects that were trimmed (a gauge: counts what the cache holds). */
size_t informer_count_trimmed(struct informer *inf);
/*
 * List by streaming (a watch with sendInitialEvents=true, as client-go's
 * informers where the server offers it) instead of in pages: one request,
 * objects decoded while the server still sends, equally consistent. Where
 * the server refuses it (no WatchList feature) the informer lists in
 * pages from then on; after a streamed list that failed otherwise (e.g.
 * the informer fell too far behind the stream), the next list is paged.
 * Off by default. Call before informer_start.
 */
void informer_set_stream_lists(struct informer *inf, bool on);
/* Handlers are added before informer_start. */
void informer_add_handler(struct informer *inf, informer_handler_fn fn, void *ctx);
int informer_start(struct informer *inf, struct err *e);
/* Wait until the first list is in the cache; false on timeout or stop. */
bool informer_wait_synced(struct informer *inf, int64_t timeout_ms);
bool informer_synced(struct informer *inf);
/*
 * Pause: interrupt the list or watch in progress and idle until
 * informer_resume; the cache keeps its content and the informer its last
 * resourceVersion, so a resume watches from there (and relists on 410 Gone).
 * Waits up to timeout_ms for the thread to be idle; true when it is. For
 * tests and tools: it lets them change the server behind the informer's back.
 */
bool informer_pause(struct informer *inf, int64_t timeout_ms);
void informer_resume(struct informer *inf);
/* Stop the thread and wait for it. */
void informer_stop(struct informer *inf);
void informer_free(struct informer *inf);	/* stops first; accepts NULL */

/* A reference to the cached object with this key ("ns/name" or "name"), or NULL. */
struct iobj *informer_get(struct informer *inf, const char *key);
/* References to every cached object; free with informer_list_free. */
struct iobj **informer_list(struct informer *inf, size_t *n);
void informer_list_free(struct iobj **list, size_t n);
size_t informer_count(struct informer *inf);

/* The cache key of a decoded object (its first member is a struct kube_meta). */
char *informer_key_of(const void *obj);

#endif
