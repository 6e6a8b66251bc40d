// SPDX-License-Identifier: Apache-2.0
/*
 * informer.c - list+watch of one resource into a read-only cache (see informer.h).
 *
 * DESIGN: the informer thread is the only writer of the cache. `lock` (a
 * rwlock) guards `cache` (key -> struct iobj *); readers hold it only to
 * take a reference. Handlers are called with no lock held, so a handler may
 * read this or any other informer. `stop_mu` guards `synced`, `paused` and
 * `parked` and the condvar used for interruptible back-off waits, pauses
 * and their acknowledgements; lock order: never both at once.
 *
 * `halt` is what a running list or watch looks at: it is raised by a stop
 * and by a pause (and lowered again by a resume), so both interrupt the
 * blocking watch within KUBE_WATCH_POLL_MS.
 *
 * A streamed list (informer_set_stream_lists) is a watch that stands for a
 * list: until its initial-events-end bookmark, `streaming` is set and the
 * events fill `seen` as the pages of a paged list do.
 */
#include "informer/informer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/objects.h"

#define LIST_PAGE_SIZE 500
#define WATCH_TIMEOUT_S 300
#define BACKOFF_START_MS 1000
#define BACKOFF_MAX_MS 30000
/*
 * A watch that ends sooner than this without a single event (bookmarks
 * count) is a failure that backs off, as client-go's "very short watch":
 * otherwise a server that closes watches at once gets them re-opened in a
 * tight loop.
 */
#define SHORT_WATCH_MS 1000
/* The bookmark annotation that ends a streamed list's objects. */
#define INITIAL_EVENTS_END "k8s.io/initial-events-end"
/* A streamed list silent this long has failed (a list page's deadline at start). */
#define STREAM_IDLE_MAX_S 30L

struct iobj {
	atomic_int refs;
	bool packed;	/* data is one block: nothing to release inside it */
	bool trimmed;	/* packed from a trimmed copy (informer_set_trim) */
	const struct informer_type *type;
	char data[];	/* the decoded struct, type->size bytes (more when packed) */
};

struct handler {
	informer_handler_fn fn;
	void *ctx;
};

struct informer {
	struct kube_client *client;
	const struct informer_type *type;
	const struct informer_packer *packer;	/* NULL: cache the decoded structs */
	informer_trim_fn trim;			/* NULL: never trim */
	void *trim_ctx;
	atomic_size_t ntrimmed;			/* trimmed objects in the cache */
	int64_t resync_ms;

	struct handler *handlers;
	size_t nhandlers, handlers_alloc;

	pthread_rwlock_t lock;
	struct hmap cache;		/* key -> struct iobj * */

	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_bool halt;		/* stop || paused */
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cond;	/* signalled on stop, pause, resume, park, first sync */
	bool synced;			/* guarded by stop_mu */
	bool paused;			/* guarded by stop_mu: asked to pause */
	bool parked;			/* guarded by stop_mu: the thread is idle in a pause */

	char *rv;			/* last resourceVersion seen; informer thread only */
	size_t watch_events;		/* events of the current watch; informer thread only */
	int64_t next_resync;

	/* streamed lists; set before the start, then informer thread only */
	bool stream_lists;		/* list by a streamed list where the server can */
	bool stream_refused;		/* the server refused one: pages from now on */
	bool stream_failed;		/* the last one failed: the next list is paged */
	bool streaming;			/* a streamed list's objects are coming */
	struct hmap seen;		/* their keys, as relist's */
	size_t streamed;		/* and how many */
};

const void *iobj_data(const struct iobj *o)
{
	return o->data;
}

struct iobj *iobj_ref(struct iobj *o)
{
	if (o)
		atomic_fetch_add(&o->refs, 1);
	return o;
}

void iobj_unref(struct iobj *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	if (!o->packed)
		o->type->release(o->data);
	free(o);
}

char *informer_key_of(const void *obj)
{
	const struct kube_meta *m = obj;

	if (m->namespace && *m->namespace)
		return xasprintf("%s/%s", m->namespace, m->name);
	return xstrdup(m->name);
}

static struct iobj *decode(struct informer *inf, json_t *json, struct err *e)
{
	struct iobj *o = xcalloc(1, sizeof(*o) + inf->type->size);

	atomic_init(&o->refs, 1);
	o->type = inf->type;
	if (inf->type->decode(json, o->data, e)) {
		inf->type->release(o->data);
		free(o);
		return NULL;
	}
	if (!((struct kube_meta *)o->data)->name) {
		err_set(e, KUBE_ERR_DECODE, "object without metadata.name");
		inf->type->release(o->data);
		free(o);
		return NULL;
	}
	if (inf->packer) {
		/* one block per cached object: a fraction of the heap and no fragments */
		void *scratch = inf->trim ? xcalloc(1, inf->type->size) : NULL;
		const void *src = inf->trim ? inf->trim(inf->trim_ctx, o->data, scratch) : o->data;
		struct iobj *p = xmalloc(sizeof(*p) + inf->packer->size(src));

		atomic_init(&p->refs, 1);
		p->packed = true;
		p->trimmed = src != o->data;
		p->type = inf->type;
		inf->packer->pack(src, p->data);
		free(scratch);	/* a shallow copy: its pointers are o's */
		inf->type->release(o->data);
		free(o);
		o = p;
	}
	return o;
}

struct informer *informer_new(struct kube_client *c, const struct informer_type *t,
			      int64_t resync_ms)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));

	inf->client = c;
	inf->type = t;
	inf->resync_ms = resync_ms;
	pthread_rwlock_init(&inf->lock, NULL);
	pthread_mutex_init(&inf->stop_mu, NULL);
	clock_cond_init(&inf->stop_cond);
	atomic_init(&inf->stop, false);
	atomic_init(&inf->halt, false);
	atomic_init(&inf->ntrimmed, 0);
	return inf;
}

void informer_set_packer(struct informer *inf, const struct informer_packer *p)
{
	inf->packer = p;
}

void informer_set_trim(struct informer *inf, informer_trim_fn fn, void *ctx)
{
	inf->trim = fn;
	inf->trim_ctx = ctx;
}

void informer_set_stream_lists(struct informer *inf, bool on)
{
	inf->stream_lists = on;
}

size_t informer_count_trimmed(struct informer *inf)
{
	return atomic_load(&inf->ntrimmed);
}

void informer_add_handler(struct informer *inf, informer_handler_fn fn, void *ctx)
{
	inf->handlers = xgrow(inf->handlers, inf->nhandlers + 1, &inf->handlers_alloc,
			      sizeof(*inf->handlers));
	inf->handlers[inf->nhandlers].fn = fn;
	inf->handlers[inf->nhandlers].ctx = ctx;
	inf->nhandlers++;
}

static void notify(struct informer *inf, enum informer_event ev, const char *key,
		   const struct iobj *old, const struct iobj *cur)
{
	for (size_t i = 0; i < inf->nhandlers; i++)
		inf->handlers[i].fn(inf->handlers[i].ctx, ev, key, old, cur);
}

/*
 * Put `o` (reference taken over) into the cache under `key` (its key,
 * borrowed: the caller has made it already) and tell the handlers.
 */
static void store(struct informer *inf, const char *key, struct iobj *o)
{
	struct iobj *old;

	pthread_rwlock_wrlock(&inf->lock);
	old = hmap_put(&inf->cache, key, o);
	pthread_rwlock_unlock(&inf->lock);
	atomic_fetch_add(&inf->ntrimmed, (size_t)o->trimmed);
	atomic_fetch_sub(&inf->ntrimmed, (size_t)(old && old->trimmed));
	notify(inf, old ? INFORMER_UPDATE : INFORMER_ADD, key, old, o);
	iobj_unref(old);
}

/*
 * Drop `key` from the cache and tell the handlers, with the object's final
 * state from a DELETED event when there is one (`final`, borrowed), else
 * the last cached state (a deletion found by a relist).
 */
static void forget(struct informer *inf, const char *key, const struct iobj *final)
{
	struct iobj *old;

	pthread_rwlock_wrlock(&inf->lock);
	old = hmap_remove(&inf->cache, key);
	pthread_rwlock_unlock(&inf->lock);
	if (old) {
		atomic_fetch_sub(&inf->ntrimmed, (size_t)old->trimmed);
		notify(inf, INFORMER_DELETE, key, NULL, final ? final : old);
		iobj_unref(old);
	}
}

/* Wait up to ms unless stopped or paused; returns true when stopped. */
static bool pause_ms(struct informer *inf, int64_t ms)
{
	struct timespec ts = clock_deadline_ms(ms);

	pthread_mutex_lock(&inf->stop_mu);
	while (!atomic_load(&inf->halt))
		if (pthread_cond_timedwait(&inf->stop_cond, &inf->stop_mu, &ts))
			break;
	pthread_mutex_unlock(&inf->stop_mu);
	return atomic_load(&inf->stop);
}

static void set_rv(struct informer *inf, const char *rv)
{
	if (!rv || !*rv)
		return;
	free(inf->rv);
	inf->rv = xstrdup(rv);
}

struct seen_ctx {
	struct hmap *seen;
	struct informer *inf;
	char **gone;
	size_t ngone, alloc;
};

static void collect_gone(void *vctx, const char *key, void *value)
{
	struct seen_ctx *ctx = vctx;

	(void)value;
	if (!hmap_has(ctx->seen, key)) {
		ctx->gone = xgrow(ctx->gone, ctx->ngone + 1, &ctx->alloc, sizeof(char *));
		ctx->gone[ctx->ngone++] = xstrdup(key);
	}
}

/* The type's path may carry a query already (a label selector). */
static char query_sep(const struct informer *inf)
{
	return strchr(inf->type->path, '?') ? '&' : '?';
}

/*
 * The end of a complete list, paged or streamed: whatever the cache holds
 * that the list did not (`seen`) is gone; the list's resourceVersion `rv`
 * is where the watch goes on from.
 */
static void list_done(struct informer *inf, struct hmap *seen, const char *rv, size_t total)
{
	struct seen_ctx gctx = { seen, inf, NULL, 0, 0 };

	pthread_rwlock_rdlock(&inf->lock);
	hmap_each(&inf->cache, collect_gone, &gctx);
	pthread_rwlock_unlock(&inf->lock);
	for (size_t i = 0; i < gctx.ngone; i++) {
		forget(inf, gctx.gone[i], NULL);
		free(gctx.gone[i]);
	}
	free(gctx.gone);
	set_rv(inf, rv);
	log_v(2, "%s: listed %zu objects (%zu cached trimmed) at resourceVersion %s",
	      inf->type->name, total, informer_count_trimmed(inf), inf->rv ? inf->rv : "?");
	/*
	 * The pages' freed JSON trees lie between the cached blocks, in pages
	 * glibc keeps: hand the whole free pages back (bench/run: RSS per cached
	 * object -30 %).
	 */
	mem_trim_heap();
}

static void mark_synced(struct informer *inf)
{
	pthread_mutex_lock(&inf->stop_mu);
	if (!inf->synced) {
		inf->synced = true;
		pthread_cond_broadcast(&inf->stop_cond);
	}
	pthread_mutex_unlock(&inf->stop_mu);
}

/*
 * List every page and replace the cache with the result, delivering the
 * difference to the handlers. Sets inf->rv to the list's resourceVersion.
 * A list interrupted by a stop or pause is KUBE_ERR_CANCELLED and deletes
 * nothing: what it did not reach is not known to be gone.
 */
static int relist(struct informer *inf, struct err *e)
{
	struct hmap seen = HMAP_INIT;
	char *cont = NULL, *list_rv = NULL;
	size_t total = 0, pages = 0;
	int limit = LIST_PAGE_SIZE;
	int rc = 0;

	for (;;) {
		json_t *page = NULL, *items, *item, *meta;
		char *path, *esc = cont ? kube_path_escape(cont) : NULL;
		size_t i;

		path = xasprintf("%s%climit=%d%s%s", inf->type->path, query_sep(inf),
				 limit, esc ? "&continue=" : "", esc ? esc : "");
		free(esc);
		rc = kube_get_lean(inf->client, path, &page, e);
		free(path);
		if (rc == KUBE_ERR_TOO_LARGE && limit > 1) {
			/* large objects (tenants' annotations): the same page, smaller */
			limit /= 2;
			log_warn("%s: a list page is too large (%s); asking for %d objects per page",
				 inf->type->name, err_msg(e), limit);
			err_release(e);
			continue;
		}
		if (rc)
			goto out;
		meta = json_object_get(page, "metadata");
		free(cont);
		cont = xstrdup(json_string_value(json_object_get(meta, "continue")));
		if (cont && !*cont) {
			free(cont);
			cont = NULL;
		}
		if (!list_rv)
			list_rv = xstrdup(json_string_value(json_object_get(meta, "resourceVersion")));
		items = json_object_get(page, "items");
		log_v(4, "%s: list page %zu: %zu objects%s", inf->type->name, ++pages,
		      json_array_size(items), cont ? ", more to come" : "");
		json_array_foreach(items, i, item) {
			struct err de = ERR_INIT;
			struct iobj *o = decode(inf, item, &de);
			char *key;

			if (!o) {
				log_error("%s: skipping an object the API server sent that does not "
					  "decode: %s", inf->type->name, err_msg(&de));
				err_release(&de);
				continue;
			}
			key = informer_key_of(o->data);
			hmap_put(&seen, key, NULL);
			store(inf, key, o);
			free(key);
			total++;
		}
		json_decref(page);
		if (!cont || atomic_load(&inf->halt))
			break;
	}
	if (cont) {
		rc = err_set(e, KUBE_ERR_CANCELLED, "%s: list interrupted", inf->type->name);
		goto out;
	}

	list_done(inf, &seen, list_rv, total);
out:
	free(cont);
	free(list_rv);
	hmap_release(&seen);
	return rc;
}

static int on_watch_event(void *vctx, const char *type, json_t *obj)
{
	struct informer *inf = vctx;
	struct err e = ERR_INIT;
	struct iobj *o;
	char *key;

	inf->watch_events++;
	if (!strcmp(type, "BOOKMARK")) {
		json_t *meta = json_object_get(obj, "metadata");
		const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
		const char *end = json_string_value(json_object_get(
			json_object_get(meta, "annotations"), INITIAL_EVENTS_END));

		if (!inf->streaming) {
			set_rv(inf, rv);
		} else if (end && !strcmp(end, "true")) {
			/* the streamed list is complete; a watch goes on from here */
			list_done(inf, &inf->seen, rv, inf->streamed);
			hmap_release(&inf->seen);
			inf->streaming = false;
			mark_synced(inf);
			return 1;
		}
		return atomic_load(&inf->halt) ? 1 : 0;
	}
	o = decode(inf, obj, &e);
	if (!o) {
		log_error("%s: skipping a %s event whose object does not decode: %s",
			  inf->type->name, type, err_msg(&e));
		err_release(&e);
		return 0;
	}
	/* (a streamed list's objects come in no order: its bookmark sets the end) */
	set_rv(inf, ((struct kube_meta *)o->data)->resource_version);
	key = informer_key_of(o->data);
	if (!strcmp(type, "DELETED")) {
		if (inf->streaming)
			hmap_remove(&inf->seen, key);
		forget(inf, key, o);
		iobj_unref(o);
	} else {
		if (inf->streaming && !hmap_has(&inf->seen, key)) {
			hmap_put(&inf->seen, key, NULL);
			inf->streamed++;
		}
		store(inf, key, o);
	}
	free(key);
	return atomic_load(&inf->halt) ? 1 : 0;
}

static void resync(struct informer *inf)
{
	size_t n;
	struct iobj **all = informer_list(inf, &n);

	log_v(4, "%s: resync of %zu objects", inf->type->name, n);
	for (size_t i = 0; i < n; i++) {
		char *key = informer_key_of(all[i]->data);

		notify(inf, INFORMER_UPDATE, key, all[i], all[i]);
		free(key);
	}
	informer_list_free(all, n);
}

/*
 * While paused, wait (parked) until resumed or stopped. Returns true when
 * stopped.
 */
static bool park(struct informer *inf)
{
	bool stopped;

	pthread_mutex_lock(&inf->stop_mu);
	if (inf->paused && !atomic_load(&inf->stop)) {
		inf->parked = true;
		pthread_cond_broadcast(&inf->stop_cond);
		log_v(2, "%s: paused at resourceVersion %s", inf->type->name,
		      inf->rv ? inf->rv : "?");
		while (inf->paused && !atomic_load(&inf->stop))
			pthread_cond_wait(&inf->stop_cond, &inf->stop_mu);
		inf->parked = false;
		log_v(2, "%s: resumed", inf->type->name);
	}
	stopped = atomic_load(&inf->stop);
	pthread_mutex_unlock(&inf->stop_mu);
	return stopped;
}

/*
 * A streamed list (KEP-3157 "watch-list", what client-go's informers use
 * where the server offers it): a watch from the most recent
 * resourceVersion (as consistent as a list without one) that sends every
 * object as ADDED, then a BOOKMARK annotated INITIAL_EVENTS_END at the
 * list's resourceVersion, where the stream is ended and a plain watch goes
 * on. No round trip per page, no page held whole: objects are decoded while
 * the server still sends. A stream silent for STREAM_IDLE_MAX_S fails as a
 * late list page would (the stream could go on as the watch, but a watch
 * may be silent for minutes). *listed tells whether the list completed.
 */
static int stream_list(struct informer *inf, bool *listed, struct err *e)
{
	char *path = xasprintf("%s%cwatch=1&sendInitialEvents=true&resourceVersionMatch="
			       "NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=%d",
			       inf->type->path, query_sep(inf), WATCH_TIMEOUT_S);
	int rc;

	log_v(4, "%s: streaming the list", inf->type->name);
	inf->streaming = true;
	inf->streamed = 0;
	inf->watch_events = 0;
	rc = kube_watch_idle(inf->client, path, on_watch_event, inf, &inf->halt,
			     STREAM_IDLE_MAX_S, e);
	free(path);
	*listed = !inf->streaming;
	if (inf->streaming) {
		/* what it did not reach is not known to be gone: nothing is deleted */
		inf->streaming = false;
		hmap_release(&inf->seen);
		if (!rc)
			rc = atomic_load(&inf->halt)
				? err_set(e, KUBE_ERR_CANCELLED, "%s: list interrupted", inf->type->name)
				: err_set(e, KUBE_ERR_OTHER, "the streamed list ended before its last "
					  "object");
	}
	return rc;
}

static int watch(struct informer *inf, struct err *e)
{
	char *path = xasprintf("%s%cwatch=1&allowWatchBookmarks=true&timeoutSeconds=%d"
			       "&resourceVersion=%s", inf->type->path, query_sep(inf),
			       WATCH_TIMEOUT_S, inf->rv ? inf->rv : "0");
	int rc;

	log_v(4, "%s: watching from resourceVersion %s", inf->type->name,
	      inf->rv ? inf->rv : "0");
	inf->watch_events = 0;
	rc = kube_watch(inf->client, path, on_watch_event, inf, &inf->halt, e);
	free(path);
	return rc;
}

/* "i:persitvolumes", "i:persimeclaims": perf stat --per-thread tells watchers apart */
static void name_thread(const struct informer *inf)
{
	const char *n = inf->type->name;
	size_t len = strlen(n);
	char name[16];

	if (len <= 13)
		snprintf(name, sizeof(name), "i:%s", n);
	else
		snprintf(name, sizeof(name), "i:%.5s%s", n, n + len - 8);
	pthread_setname_np(pthread_self(), name);
}

static void *run(void *arg)
{
	struct informer *inf = arg;
	unsigned failures = 0;
	bool need_list = true;

	name_thread(inf);
	while (!atomic_load(&inf->stop)) {
		struct err e = ERR_INIT;
		int64_t began;
		bool watched = !need_list;
		int rc;

		if (park(inf))
			break;
		began = clock_now_ms();
		if (need_list && inf->stream_lists && !inf->stream_refused && !inf->stream_failed) {
			rc = stream_list(inf, &watched, &e);
			if (watched) {
				need_list = false;
			} else if (err_is(&e, KUBE_ERR_INVALID)) {
				/* a server without the WatchList feature (before 1.32, or off) */
				log_info("%s: the API server does not stream lists (%s); listing in "
					 "pages", inf->type->name, err_msg(&e));
				inf->stream_refused = true;
				err_release(&e);
				continue;
			} else if (rc && rc != KUBE_ERR_CANCELLED) {
				inf->stream_failed = true;	/* e.g. fell behind: pages next */
			}
		} else if (need_list) {
			rc = relist(inf, &e);
			if (rc == 0) {
				need_list = false;
				inf->stream_failed = false;
				mark_synced(inf);
			}
		} else {
			rc = watch(inf, &e);
		}
		if (watched) {
			if (!rc && !inf->watch_events && !atomic_load(&inf->halt) &&
			    clock_now_ms() - began < SHORT_WATCH_MS)
				rc = err_set(&e, KUBE_ERR_OTHER, "very short watch: it ended after "
					     "%lld ms without an event", (long long)(clock_now_ms() - began));
			if (rc == KUBE_ERR_GONE) {
				log_info("%s: watch expired (%s); listing again", inf->type->name,
					 err_msg(&e));
				need_list = true;
				rc = 0;
			}
		}
		if (rc && rc != KUBE_ERR_CANCELLED && !atomic_load(&inf->stop)) {
			int64_t d = backoff_delay_ms(BACKOFF_START_MS, BACKOFF_MAX_MS, failures);

			log_warn("%s: %s failed, retrying in %lld ms: %s", inf->type->name,
				 need_list ? "list" : "watch", (long long)d, err_msg(&e));
			failures++;
			err_release(&e);
			if (pause_ms(inf, d))
				break;
			continue;
		}
		err_release(&e);
		if (rc == 0)
			failures = 0;
		if (inf->resync_ms > 0 && clock_now_ms() >= inf->next_resync && !need_list) {
			resync(inf);
			inf->next_resync = clock_now_ms() + inf->resync_ms;
		}
	}
	return NULL;
}

int informer_start(struct informer *inf, struct err *e)
{
	int rc;

	inf->next_resync = clock_now_ms() + inf->resync_ms;
	rc = pthread_create(&inf->thread, NULL, run, inf);
	if (rc)
		return err_sys(e, rc, "cannot start the %s informer thread", inf->type->name);
	inf->started = true;
	return 0;
}

bool informer_wait_synced(struct informer *inf, int64_t timeout_ms)
{
	struct timespec ts = clock_deadline_ms(timeout_ms);
	bool ok;

	pthread_mutex_lock(&inf->stop_mu);
	while (!inf->synced && !atomic_load(&inf->stop))
		if (pthread_cond_timedwait(&inf->stop_cond, &inf->stop_mu, &ts))
			break;
	ok = inf->synced;
	pthread_mutex_unlock(&inf->stop_mu);
	return ok;
}

bool informer_synced(struct informer *inf)
{
	bool ok;

	pthread_mutex_lock(&inf->stop_mu);
	ok = inf->synced;
	pthread_mutex_unlock(&inf->stop_mu);
	return ok;
}

bool informer_pause(struct informer *inf, int64_t timeout_ms)
{
	struct timespec ts = clock_deadline_ms(timeout_ms);
	bool ok;

	pthread_mutex_lock(&inf->stop_mu);
	inf->paused = true;
	atomic_store(&inf->halt, true);
	pthread_cond_broadcast(&inf->stop_cond);
	while (inf->started && !inf->parked && !atomic_load(&inf->stop))
		if (pthread_cond_timedwait(&inf->stop_cond, &inf->stop_mu, &ts))
			break;
	ok = inf->parked;
	pthread_mutex_unlock(&inf->stop_mu);
	return ok;
}

void informer_resume(struct informer *inf)
{
	pthread_mutex_lock(&inf->stop_mu);
	inf->paused = false;
	atomic_store(&inf->halt, atomic_load(&inf->stop));
	pthread_cond_broadcast(&inf->stop_cond);
	pthread_mutex_unlock(&inf->stop_mu);
}

void informer_stop(struct informer *inf)
{
	pthread_mutex_lock(&inf->stop_mu);
	atomic_store(&inf->stop, true);
	atomic_store(&inf->halt, true);
	pthread_cond_broadcast(&inf->stop_cond);
	pthread_mutex_unlock(&inf->stop_mu);
	if (inf->started) {
		pthread_join(inf->thread, NULL);
		inf->started = false;
	}
}

static void unref_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	iobj_unref(value);
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	hmap_each(&inf->cache, unref_value, NULL);
	hmap_release(&inf->cache);
	pthread_rwlock_destroy(&inf->lock);
	pthread_mutex_destroy(&inf->stop_mu);
	pthread_cond_destroy(&inf->stop_cond);
	free(inf->handlers);
	free(inf->rv);
	free(inf);
}

struct iobj *informer_get(struct informer *inf, const char *key)
{
	struct iobj *o;

	pthread_rwlock_rdlock(&inf->lock);
	o = iobj_ref(hmap_get(&inf->cache, key));
	pthread_rwlock_unlock(&inf->lock);
	return o;
}

struct list_ctx {
	struct iobj **items;
	size_t n;
};

static void collect(void *vctx, const char *key, void *value)
{
	struct list_ctx *ctx = vctx;

	(void)key;
	ctx->items[ctx->n++] = iobj_ref(value);
}

struct iobj **informer_list(struct informer *inf, size_t *n)
{
	struct list_ctx ctx = { NULL, 0 };

	pthread_rwlock_rdlock(&inf->lock);
	ctx.items = xcalloc(inf->cache.count + 1, sizeof(*ctx.items));
	hmap_each(&inf->cache, collect, &ctx);
	pthread_rwlock_unlock(&inf->lock);
	*n = ctx.n;
	return ctx.items;
}

void informer_list_free(struct iobj **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		iobj_unref(list[i]);
	free(list);
}

size_t informer_count(struct informer *inf)
{
	size_t n;

	pthread_rwlock_rdlock(&inf->lock);
	n = inf->cache.count;
	pthread_rwlock_unlock(&inf->lock);
	return n;
}
