// SPDX-License-Identifier: Apache-2.0
/*
 * workqueue.c - deduplicating key queue with per-key backoff (see workqueue.h).
 *
 * DESIGN: one mutex guards everything in struct wq; it is never held while
 * calling out. Ready keys sit in a FIFO ring; delayed keys in a binary
 * min-heap ordered by due time, with `delayed` mapping key -> due time so a
 * later schedule of an already-scheduled key is dropped and an earlier one
 * supersedes (stale heap entries are skipped when popped). There is no timer
 * thread: a waiting wq_get sleeps until the earliest due time and moves due
 * keys to the ring itself.
 */
#include "workqueue/workqueue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/xalloc.h"

struct timed {
	int64_t due;
	char *key;
};

struct wq {
	pthread_mutex_t mu;
	pthread_cond_t cond;
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
};

struct wq *wq_new(const char *name, int64_t backoff_start_ms, int64_t backoff_max_ms)
{
	struct wq *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->mu, NULL);
	clock_cond_init(&q->cond);
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

/* Caller holds mu. */
static void add_locked(struct wq *q, const char *key)
{
	if (q->shutting_down || hmap_has(&q->dirty, key))
		return;
	hmap_put(&q->dirty, key, NULL);
	if (hmap_has(&q->processing, key))
		return;		/* wq_done requeues it */
	ring_push(q, key);
	pthread_cond_signal(&q->cond);
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
	if (delay_ms <= 0) {
		add_locked(q, key);
		return;
	}
	due = clock_now_ms() + delay_ms;
	if (hmap_has(&q->delayed, key) && (intptr_t)hmap_get(&q->delayed, key) <= due)
		return;
	hmap_put(&q->delayed, key, (void *)(intptr_t)due);
	heap_push(q, due, key);
	pthread_cond_broadcast(&q->cond);	/* a sleeper may need to wake sooner */
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
		if (next < 0) {
			pthread_cond_wait(&q->cond, &q->mu);
		} else {
			struct timespec ts = clock_deadline_ms(next - clock_now_ms());

			pthread_cond_timedwait(&q->cond, &q->mu, &ts);
		}
	}
	*key = ring_pop(q);
	hmap_put(&q->processing, *key, NULL);
	hmap_remove(&q->dirty, *key);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void wq_done(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	hmap_remove(&q->processing, key);
	if (hmap_has(&q->dirty, key) && !q->shutting_down) {
		ring_push(q, key);
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->mu);
}

void wq_shutdown(struct wq *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->cond);
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

void wq_free(struct wq *q)
{
	if (!q)
		return;
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
	free(q->name);
	free(q);
}
