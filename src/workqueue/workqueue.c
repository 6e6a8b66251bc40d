// SPDX-License-Identifier: Apache-2.0
/*
 * workqueue.c - deduplicating key queue with per-key backoff (see workqueue.h).
 *
 * DESIGN: one mutex guards everything in struct wq; it is never held while
 * calling out. Ready keys sit in a FIFO ring; delayed keys in a binary
 * min-heap ordered by due time, with `delayed` mapping key -> due time so a
 * later schedule of an already-scheduled key is dropped and an earlier one
 * supersedes (stale heap entries are skipped when popped). There is no timer
 * thread: one waiting wq_get at a time, the timekeeper, sleeps on `timer`
 * until the earliest due time and moves due keys to the ring itself; every
 * other idle worker sleeps on `cond` without a deadline. So a due key or a
 * new schedule wakes one thread, not every idle worker of the pool (with 100
 * workers a broadcast cost ~100 context switches per retry; bench/results).
 * A key made ready (a due one too) wakes a plain waiter, or the timekeeper
 * when none is idle; the woken waiter takes the key or, finding it taken,
 * becomes the next timekeeper. A worker that takes a key while others are
 * left wakes one more, so a signal lost to a waiter already woken (two
 * adds before it ran) costs no key its turn.
 *
 * Instrumentation (struct instr) is updated under `mu`; the registry's
 * metric calls take only the registry's own leaf mutex, so the lock order is
 * mu, then the registry's. The scrape-time collector takes `mu` under the
 * registry's collect lock (collect lock, mu, registry mutex).
 */
#include "workqueue/workqueue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/xalloc.h"
#include "metrics/metrics.h"

_Static_assert(sizeof(intptr_t) >= sizeof(int64_t), "times are kept in hmap values");

#define WQ_NBUCKETS 10

/* The workqueue_* metrics of one queue; all fields guarded by wq.mu. */
struct instr {
	struct metrics *m;
	struct metric *adds, *depth, *latency, *work, *unfinished, *longest, *retries;
	const char *labels[1];		/* the queue's name */
	wq_clock_fn now;
	void *clock_ctx;
	struct hmap added_at;		/* key -> (intptr_t) ns when it became queued */
	struct hmap started_at;		/* key -> (intptr_t) ns when a worker took it */
	size_t queued;			/* the depth */
};

struct timed {
	int64_t due;
	char *key;
};

struct wq {
	pthread_mutex_t mu;
	pthread_cond_t cond;	/* idle workers without a deadline */
	pthread_cond_t timer;	/* the timekeeper, waiting for the earliest due time */
	size_t nidle;		/* workers waiting on cond */
	bool timekeeper;	/* a worker waits on timer */
	char *name;
	int64_t backoff_start, backoff_max;
	bool shutting_down;

	char **ring;		/* ready keys, owned */
	size_t head, count, alloc;
	struct hmap dirty;	/* queued or re-added while processing */
	struct hmap processing;
	struct hmap failures;	/* key -> (uintptr_t) count */

	struct timed *heap;
	size_t nheap, heap_alloc;
	struct hmap delayed;	/* key -> (intptr_t) due time of the live schedule */

	struct instr *in;	/* NULL unless wq_instrument was called */
};

/* The instrumentation hooks; the caller holds mu, and each is a no-op uninstrumented. */
static void note_added(struct wq *q, const char *key)
{
	struct instr *in = q->in;

	if (!in)
		return;
	metric_add(in->adds, in->labels, 1);
	in->queued++;
	if (!hmap_has(&in->added_at, key))
		hmap_put(&in->added_at, key, (void *)(intptr_t)in->now(in->clock_ctx));
}

static void note_taken(struct wq *q, const char *key)
{
	struct instr *in = q->in;
	int64_t now;

	if (!in)
		return;
	now = in->now(in->clock_ctx);
	in->queued--;
	hmap_put(&in->started_at, key, (void *)(intptr_t)now);
	if (hmap_has(&in->added_at, key)) {
		int64_t at = (intptr_t)hmap_remove(&in->added_at, key);

		metric_observe(in->latency, in->labels, (double)(now - at) / 1e9);
	}
}

static void note_done(struct wq *q, const char *key)
{
	struct instr *in = q->in;

	if (!in || !hmap_has(&in->started_at, key))
		return;
	metric_observe(in->work, in->labels,
		       (double)(in->now(in->clock_ctx) - (intptr_t)hmap_remove(&in->started_at, key))
		       / 1e9);
}

static void note_retry(struct wq *q)
{
	if (q->in)
		metric_add(q->in->retries, q->in->labels, 1);
}

struct wq *wq_new(const char *name, int64_t backoff_start_ms, int64_t backoff_max_ms)
{
	struct wq *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->mu, NULL);
	clock_cond_init(&q->cond);
	clock_cond_init(&q->timer);
	q->name = xstrdup(name);
	q->backoff_start = backoff_start_ms;
	q->backoff_max = backoff_max_ms;
	return q;
}

static void ring_push(struct wq *q, const char *key)
{
	if (q->count == q->alloc) {
		size_t n = q->alloc ? q->alloc * 2 : 64;
		char **r = xmalloc(n * sizeof(*r));

		for (size_t i = 0; i < q->count; i++)
			r[i] = q->ring[(q->head + i) % q->alloc];
		free(q->ring);
		q->ring = r;
		q->alloc = n;
		q->head = 0;
	}
	q->ring[(q->head + q->count) % q->alloc] = xstrdup(key);
	q->count++;
}

static char *ring_pop(struct wq *q)
{
	char *k = q->ring[q->head];

	q->head = (q->head + 1) % q->alloc;
	q->count--;
	return k;
}

/* A key is ready: wake one idle worker. Caller holds mu. */
static void wake_one(struct wq *q)
{
	if (q->nidle)
		pthread_cond_signal(&q->cond);
	else if (q->timekeeper)
		pthread_cond_signal(&q->timer);
}

/* Caller holds mu. */
static void add_locked(struct wq *q, const char *key)
{
	if (q->shutting_down || hmap_has(&q->dirty, key))
		return;
	note_added(q, key);
	hmap_put(&q->dirty, key, NULL);
	if (hmap_has(&q->processing, key))
		return;		/* wq_done requeues it */
	ring_push(q, key);
	wake_one(q);
}

void wq_add(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	add_locked(q, key);
	pthread_mutex_unlock(&q->mu);
}

static void heap_swap(struct wq *q, size_t a, size_t b)
{
	struct timed t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
}

static void heap_push(struct wq *q, int64_t due, const char *key)
{
	size_t i;

	q->heap = xgrow(q->heap, q->nheap + 1, &q->heap_alloc, sizeof(*q->heap));
	i = q->nheap++;
	q->heap[i].due = due;
	q->heap[i].key = xstrdup(key);
	while (i > 0 && q->heap[(i - 1) / 2].due > q->heap[i].due) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct timed heap_pop(struct wq *q)
{
	struct timed top = q->heap[0];
	size_t i = 0;

	q->heap[0] = q->heap[--q->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheap && q->heap[l].due < q->heap[m].due)
			m = l;
		if (r < q->nheap && q->heap[r].due < q->heap[m].due)
			m = r;
		if (m == i)
			break;
		heap_swap(q, i, m);
		i = m;
	}
	return top;
}

static void add_after_locked(struct wq *q, const char *key, int64_t delay_ms)
{
	int64_t due;

	if (q->shutting_down)
		return;
	note_retry(q);		/* as client-go: every delayed add counts, whatever the delay */
	if (delay_ms <= 0) {
		add_locked(q, key);
		return;
	}
	due = clock_now_ms() + delay_ms;
	if (hmap_has(&q->delayed, key) && (intptr_t)hmap_get(&q->delayed, key) <= due)
		return;
	hmap_put(&q->delayed, key, (void *)(intptr_t)due);
	heap_push(q, due, key);
	/* the timekeeper wakes sooner for a new earliest; without one, an idle worker becomes it */
	if (q->timekeeper) {
		if (q->heap[0].due == due)
			pthread_cond_signal(&q->timer);
	} else if (q->nidle)
		pthread_cond_signal(&q->cond);
}

void wq_add_after(struct wq *q, const char *key, int64_t delay_ms)
{
	pthread_mutex_lock(&q->mu);
	add_after_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->mu);
}

void wq_add_rate_limited(struct wq *q, const char *key)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = (unsigned)(uintptr_t)hmap_get(&q->failures, key);
	hmap_put(&q->failures, key, (void *)(uintptr_t)(n + 1));
	add_after_locked(q, key, backoff_delay_ms(q->backoff_start, q->backoff_max, n));
	pthread_mutex_unlock(&q->mu);
}

void wq_forget(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	hmap_remove(&q->failures, key);
	pthread_mutex_unlock(&q->mu);
}

unsigned wq_failures(struct wq *q, const char *key)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = (unsigned)(uintptr_t)hmap_get(&q->failures, key);
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* Move due keys to the ring; returns the next due time or -1. Caller holds mu. */
static int64_t promote_due(struct wq *q)
{
	int64_t now = clock_now_ms();

	while (q->nheap) {
		struct timed t;

		if (q->heap[0].due > now)
			return q->heap[0].due;
		t = heap_pop(q);
		/* only the live schedule counts; superseded entries are dropped */
		if (hmap_has(&q->delayed, t.key) &&
		    (intptr_t)hmap_get(&q->delayed, t.key) == t.due) {
			hmap_remove(&q->delayed, t.key);
			add_locked(q, t.key);
		}
		free(t.key);
	}
	return -1;
}

int wq_get(struct wq *q, char **key)
{
	pthread_mutex_lock(&q->mu);
	for (;;) {
		int64_t next;

		/* after shutdown, no new key: a worker finishes the one in hand, then stops */
		if (q->shutting_down) {
			pthread_mutex_unlock(&q->mu);
			return -1;
		}
		next = promote_due(q);
		if (q->count)
			break;
		if (next < 0 || q->timekeeper) {
			q->nidle++;
			pthread_cond_wait(&q->cond, &q->mu);
			q->nidle--;
		} else {
			struct timespec ts = clock_deadline_ms(next - clock_now_ms());

			q->timekeeper = true;
			pthread_cond_timedwait(&q->timer, &q->mu, &ts);
			q->timekeeper = false;
		}
	}
	*key = ring_pop(q);
	/*
	 * Pass the wake-up on while keys are left: a signal sent while the
	 * waiter it woke had not yet run reached nobody (nidle still counted
	 * that waiter), and the timekeeper may sleep for minutes.
	 */
	if (q->count)
		wake_one(q);
	note_taken(q, *key);
	hmap_put(&q->processing, *key, NULL);
	hmap_remove(&q->dirty, *key);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void wq_done(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	note_done(q, key);
	hmap_remove(&q->processing, key);
	if (hmap_has(&q->dirty, key) && !q->shutting_down) {
		ring_push(q, key);
		wake_one(q);
	}
	pthread_mutex_unlock(&q->mu);
}

void wq_shutdown(struct wq *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->cond);
	pthread_cond_broadcast(&q->timer);
	pthread_mutex_unlock(&q->mu);
}

size_t wq_len(struct wq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

struct running {
	int64_t now;
	double total, longest;
};

static void add_running(void *ctx, const char *key, void *value)
{
	struct running *r = ctx;
	double age = (double)(r->now - (intptr_t)value) / 1e9;

	(void)key;
	r->total += age;
	if (age > r->longest)
		r->longest = age;
}

/* At each scrape: the depth, and the work in progress (client-go refreshes these every 0.5 s). */
static void collect(void *ctx, struct metrics *m)
{
	struct wq *q = ctx;
	struct instr *in = q->in;
	struct running r = { 0, 0, 0 };

	(void)m;
	pthread_mutex_lock(&q->mu);
	r.now = in->now(in->clock_ctx);
	hmap_each(&in->started_at, add_running, &r);
	metric_set(in->depth, in->labels, (double)in->queued);
	metric_set(in->unfinished, in->labels, r.total);
	metric_set(in->longest, in->labels, r.longest);
	pthread_mutex_unlock(&q->mu);
}

static int64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* client-go's bounds: ten powers of ten from 10 ns (the registry borrows them for good) */
static double buckets[WQ_NBUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void init_buckets(void)
{
	metrics_exponential_buckets(10e-9, 10, WQ_NBUCKETS, buckets);
}

static const char *const name_label[] = { "name", NULL };

void wq_instrument(struct wq *q, struct metrics *m, wq_clock_fn now_ns, void *clock_ctx)
{
	struct instr *in = xcalloc(1, sizeof(*in));

	pthread_once(&buckets_once, init_buckets);
	in->m = m;
	in->now = now_ns ? now_ns : monotonic_ns;
	in->clock_ctx = clock_ctx;
	in->labels[0] = q->name;
	/* the stability level in front of the help, as Kubernetes' registry writes it */
	in->depth = metrics_add(m, METRIC_GAUGE, "workqueue_depth",
		"[BETA] Keys waiting in the work queue.", name_label, NULL, 0);
	in->adds = metrics_add(m, METRIC_COUNTER, "workqueue_adds_total",
		"[BETA] Keys added to the work queue (a key already waiting is not counted again).",
		name_label, NULL, 0);
	in->latency = metrics_add(m, METRIC_HISTOGRAM, "workqueue_queue_duration_seconds",
		"[BETA] Seconds a key waited in the work queue before a worker took it.",
		name_label, buckets, WQ_NBUCKETS);
	in->work = metrics_add(m, METRIC_HISTOGRAM, "workqueue_work_duration_seconds",
		"[BETA] Seconds a worker spent on a key.", name_label, buckets, WQ_NBUCKETS);
	in->unfinished = metrics_add(m, METRIC_GAUGE, "workqueue_unfinished_work_seconds",
		"[BETA] Seconds spent so far on the keys being worked on, summed; a steady rise "
		"means stuck workers.", name_label, NULL, 0);
	in->longest = metrics_add(m, METRIC_GAUGE, "workqueue_longest_running_processor_seconds",
		"[BETA] Seconds the longest-running worker of the queue has spent on its key.",
		name_label, NULL, 0);
	in->retries = metrics_add(m, METRIC_COUNTER, "workqueue_retries_total",
		"[BETA] Delayed re-adds (retries) to the work queue.", name_label, NULL, 0);
	metric_touch(in->adds, in->labels);
	metric_touch(in->depth, in->labels);
	metric_touch(in->latency, in->labels);
	metric_touch(in->work, in->labels);
	metric_touch(in->unfinished, in->labels);
	metric_touch(in->longest, in->labels);
	metric_touch(in->retries, in->labels);
	pthread_mutex_lock(&q->mu);
	q->in = in;
	pthread_mutex_unlock(&q->mu);
	metrics_add_collector(m, collect, q);
}

void wq_free(struct wq *q)
{
	if (!q)
		return;
	if (q->in) {
		metrics_remove_collector(q->in->m, collect, q);
		hmap_release(&q->in->added_at);
		hmap_release(&q->in->started_at);
		free(q->in);
	}
	while (q->count)
		free(ring_pop(q));
	free(q->ring);
	for (size_t i = 0; i < q->nheap; i++)
		free(q->heap[i].key);
	free(q->heap);
	hmap_release(&q->dirty);
	hmap_release(&q->processing);
	hmap_release(&q->failures);
	hmap_release(&q->delayed);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cond);
	pthread_cond_destroy(&q->timer);
	free(q->name);
	free(q);
}
