/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workqueue.h - a deduplicating queue of string keys with per-key backoff.
 *
 * The controller shape of client-go's workqueue: a key is queued at most
 * once; while a worker processes a key, adding it again only marks it dirty,
 * and wq_done requeues it, so one key is never processed by two workers at
 * once. wq_add_rate_limited delays a key by its own exponential backoff
 * (start doubling to max); wq_forget resets that backoff after a success.
 *
 *	while (wq_get(q, &key) == 0) {
 *		if (sync(key) == 0) wq_forget(q, key); else wq_add_rate_limited(q, key);
 *		wq_done(q, key);
 *	}
 *
 * All functions are thread-safe.
 *
 * Instrumented (wq_instrument), a queue exports client-go's workqueue_*
 * family under its name, with client-go's meaning: adds_total counts keys
 * that became queued (not repeats of a queued key), depth the keys queued
 * and not yet taken (a key re-added while processed included),
 * queue_duration_seconds the wait from queued to taken, work_duration_seconds
 * taken to done, unfinished_work_seconds and longest_running_processor_seconds
 * the work in progress at the scrape, retries_total every delayed add
 * (wq_add_after, wq_add_rate_limited).
 */
#ifndef WORKQUEUE_H
#define WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct wq;
struct metrics;

/* Monotonic time in nanoseconds; replaceable for tests. */
typedef int64_t (*wq_clock_fn)(void *ctx);

/* `name` is used in log lines. Backoff delays are in milliseconds. */
struct wq *wq_new(const char *name, int64_t backoff_start_ms, int64_t backoff_max_ms);
/* Free the queue; no thread may be inside wq_get. Accepts NULL. */
void wq_free(struct wq *q);

void wq_add(struct wq *q, const char *key);
/* Add after `delay_ms`; an earlier pending schedule of the key wins. */
void wq_add_after(struct wq *q, const char *key, int64_t delay_ms);
/* Add after the key's next backoff delay, and count a failure. */
void wq_add_rate_limited(struct wq *q, const char *key);
/* Reset the key's failure count. */
void wq_forget(struct wq *q, const char *key);
unsigned wq_failures(struct wq *q, const char *key);

/*
 * Block until a key is ready or the queue is shut down. Returns 0 and a key
 * the caller owns (free it after wq_done), or -1 once shut down (keys still
 * queued are dropped: the next leader or start-up finds them again).
 */
int wq_get(struct wq *q, char **key);
/* Processing of `key` finished; requeue it if it was added meanwhile. */
void wq_done(struct wq *q, const char *key);

/* Stop handing out keys; wakes every waiting wq_get. */
void wq_shutdown(struct wq *q);
/* Keys ready now (for metrics and tests). */
size_t wq_len(struct wq *q);

/*
 * Export the workqueue_* metrics of this queue into `m` (borrowed until
 * wq_free, which stops the export), labelled name=<the queue's name>; every
 * series exists from this call on. Call once, before the queue is used.
 * `now_ns` NULL means CLOCK_MONOTONIC.
 */
void wq_instrument(struct wq *q, struct metrics *m, wq_clock_fn now_ns, void *clock_ctx);

#endif
