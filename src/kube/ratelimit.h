/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h - the client-side token bucket (qps/burst) in front of the
 * API server, as client-go's flowcontrol limiter.
 *
 * The bucket holds up to `burst` tokens and refills at `qps` per second.
 * A request takes one token; when none is left it reserves the next one
 * (the count goes negative) and sleeps until its turn, so waiters are
 * served in arrival order and nobody spins. The arithmetic
 * (kube_bucket_reserve, kube_bucket_spare) is pure and takes the time as an
 * argument so tests can drive it; kube_bucket_wait adds the lock and the
 * sleep.
 *
 * Best effort (kube_bucket_wait_spare): a request that may wait, such as an
 * Event, takes a token only from a FULL bucket and never reserves one. Any
 * reservation makes the count drop below the burst, so a normal request
 * that arrives while a best-effort one waits is served first, whatever the
 * order of arrival; and the normal requests keep their burst (at most one
 * token of it is ever missing on account of best effort, for 1/qps). The
 * total never exceeds qps/burst: both kinds take from the same count.
 * Under a load that keeps the bucket from filling, best effort would wait
 * for ever; after spare_max_ms it reserves like any other request.
 */
#ifndef KUBE_RATELIMIT_H
#define KUBE_RATELIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct kube_bucket {
	pthread_mutex_t lock;	/* guards the fields below; a leaf lock */
	pthread_cond_t cond;	/* wakes sleepers when the bucket closes */
	bool closed;		/* kube_bucket_close: no more waiting */
	double qps;		/* <= 0: unlimited */
	double burst;
	double tokens;		/* may be negative: reservations not yet due */
	int64_t last_ms;	/* time of the last refill */
	int spare_waiting;	/* callers parked in kube_bucket_wait_spare (tests look) */
	int64_t spare_max_ms;	/* a best-effort wait this long reserves like the rest */
};

/* Best effort waits this long at most for a full bucket, then queues (spare_max_ms). */
#define KUBE_BUCKET_SPARE_MAX_MS 10000

/* Caller owns `b`. A full bucket at `now_ms`. burst < 1 counts as 1. */
void kube_bucket_init(struct kube_bucket *b, double qps, int burst, int64_t now_ms);
/* Destroy the lock. Accepts NULL. */
void kube_bucket_release(struct kube_bucket *b);

/*
 * Take one token at `now_ms` and return how many milliseconds the caller
 * must wait before using it (0 when one was available). Caller holds
 * b->lock or owns b alone (tests).
 */
int64_t kube_bucket_reserve(struct kube_bucket *b, int64_t now_ms);

/*
 * A best-effort token at `now_ms`: taken (returns 0) only when the bucket
 * is full; otherwise nothing is taken or reserved and the result is how
 * many milliseconds until it will be full if no other request comes. 0 at
 * once when unlimited (qps <= 0). Caller holds b->lock or owns b alone.
 */
int64_t kube_bucket_spare(struct kube_bucket *b, int64_t now_ms);

/*
 * Thread-safe: reserve a token now and sleep (CLOCK_MONOTONIC) until it is
 * due. Returns the milliseconds waited, or -1 at once when the bucket is
 * closed (also while sleeping).
 */
int64_t kube_bucket_wait(struct kube_bucket *b);

/*
 * Thread-safe: a best-effort token (kube_bucket_spare), slept for on
 * CLOCK_MONOTONIC; after b->spare_max_ms of waiting, a reserved one as in
 * kube_bucket_wait. Returns the milliseconds waited, or -1 at once when the
 * bucket is closed or *cancel (may be NULL) is true, also while sleeping:
 * who sets *cancel calls kube_bucket_wake.
 */
int64_t kube_bucket_wait_spare(struct kube_bucket *b, const atomic_bool *cancel);

/*
 * Thread-safe: sleep `ms` unless or until the bucket closes or *cancel (may
 * be NULL) becomes true; -1 when either did.
 */
int kube_bucket_sleep(struct kube_bucket *b, int64_t ms, const atomic_bool *cancel);

/* Thread-safe: have every sleeper look at its cancel flag again. */
void kube_bucket_wake(struct kube_bucket *b);

/*
 * Thread-safe: close the bucket for an orderly stop. Every waiter of
 * kube_bucket_wait and kube_bucket_sleep, now and later, returns -1.
 */
void kube_bucket_close(struct kube_bucket *b);
bool kube_bucket_closed(struct kube_bucket *b);

/* Thread-safe: whether a request now would get its token without waiting. */
bool kube_bucket_has_token(struct kube_bucket *b);

#endif
