/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adaptive.h - a client that follows the API server's own flow control
 * instead of a fixed token bucket.
 *
 * With API Priority and Fairness the server decides how much each client
 * may send and answers 429 (with Retry-After) when a priority level is
 * full; a fixed client-side 5 QPS only leaves that capacity unused. So,
 * when the operator sets no rate, the client bounds what it has in flight
 * and adapts that bound the way TCP adapts its window (AIMD): one more
 * request in flight per round of requests that succeed at the usual
 * latency; halved on a 429, cut by a quarter when latency climbs well
 * above its recent floor. At most one cut per round trip, so the burst of
 * 429s from one overload counts once.
 *
 * kube_aimd_update is the pure arithmetic (tests drive it with their own
 * clock); kube_aimd_acquire/kube_aimd_done add the lock and the wait.
 *
 * Best effort (kube_aimd_acquire_spare): a request that may wait, such as
 * an Event, takes a slot only while no normal request waits for one, and
 * never the last free slot unless nothing at all is in flight; a freed slot
 * goes to a waiting normal request first. Best-effort waiters do not count
 * as "bound" (they never raise the limit). After spare_max_ms of waiting a
 * best-effort caller competes as a normal one, so a server kept busy cannot
 * hold it for ever.
 */
#ifndef KUBE_ADAPTIVE_H
#define KUBE_ADAPTIVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum kube_aimd_outcome {
	KUBE_AIMD_OK,		/* answered below 500, not 429: latency is a sample */
	KUBE_AIMD_OVERLOAD,	/* 429 Too Many Requests */
	KUBE_AIMD_OTHER,	/* transport failure, 5xx: no signal about our share */
};

struct kube_aimd {
	pthread_mutex_t mu;	/* guards everything below; a leaf lock */
	pthread_cond_t cv;	/* signalled when a slot frees or the limit grows */
	pthread_cond_t cv_spare;	/* the same, for best effort when no normal waits */
	double limit;		/* requests allowed in flight (its floor counts) */
	double min, max;
	int inflight;
	int waiting;		/* normal callers parked in kube_aimd_acquire */
	int spare_waiting;	/* best-effort callers parked (kube_aimd_acquire_spare) */
	int64_t spare_max_ms;	/* a best-effort wait this long turns normal */
	bool closed;		/* kube_aimd_close: nobody waits any more */
	int64_t cut_ms;		/* when the limit was last cut; 0: never */
	double lat_ms;		/* smoothed latency of successful requests; 0: none yet */
	double floor_ms;	/* its recent floor, creeping up towards it */
	/* throughput, for the metric: completions counted per window */
	unsigned window_n;
	int64_t window_ms;	/* start of the current window */
	double rate;		/* requests per second over the last full window */
};

/* Caller owns `a`. initial is clamped to [min, max]; min >= 1. */
void kube_aimd_init(struct kube_aimd *a, double initial, double min, double max);
void kube_aimd_release(struct kube_aimd *a);	/* accepts NULL */

/*
 * One completed request at now_ms (latency_ms < 0: no latency sample, as
 * for a list, whose duration says more about its size than the server's
 * load). `bound`: the limit was what held requests back (someone waited
 * for a slot, or every slot was taken); only then does a good answer grow
 * it, or a quiet client would raise it without end and then flood the
 * server the moment its load arrives. Caller holds a->mu or owns a alone
 * (tests).
 */
void kube_aimd_update(struct kube_aimd *a, enum kube_aimd_outcome o, int64_t latency_ms,
		      bool bound, int64_t now_ms);

/*
 * Thread-safe: wait up to wait_ms for a slot and take it. Returns the
 * milliseconds waited, or -1 (no slot taken) when none freed in time, -2
 * when closed (kube_aimd_close).
 */
int64_t kube_aimd_acquire(struct kube_aimd *a, int64_t wait_ms);
/*
 * Thread-safe: as kube_aimd_acquire, for a best-effort request (see the
 * top); also -2 when *cancel (may be NULL) is true, also while waiting: who
 * sets it calls kube_aimd_wake.
 */
int64_t kube_aimd_acquire_spare(struct kube_aimd *a, int64_t wait_ms, const atomic_bool *cancel);
/*
 * Whether a best-effort request may take a slot now (no normal one waits,
 * and a slot stays free for one, or nothing is in flight). Caller holds
 * a->mu or owns a alone (tests).
 */
bool kube_aimd_spare_free(const struct kube_aimd *a);
/* Thread-safe: have every waiter look at its cancel flag again. */
void kube_aimd_wake(struct kube_aimd *a);
/* For an orderly stop: kube_aimd_acquire returns -2 from now on, waiters at once. */
void kube_aimd_close(struct kube_aimd *a);
/* Thread-safe: give the slot back and learn from the outcome. */
void kube_aimd_done(struct kube_aimd *a, enum kube_aimd_outcome o, int64_t latency_ms);

/* Thread-safe: whether a request now would get a slot without waiting. */
bool kube_aimd_has_slot(struct kube_aimd *a);

/* Thread-safe snapshots for metrics. */
double kube_aimd_limit(struct kube_aimd *a);
double kube_aimd_rate(struct kube_aimd *a);

#endif
