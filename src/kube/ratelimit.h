/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h - the client-side token bucket (qps/burst) in front of the
 * API server, as client-go's flowcontrol limiter.
 *
 * The bucket holds up to `burst` tokens and refills at `qps` per second.
 * A request takes one token; when none is left it reserves the next one
 * (the count goes negative) and sleeps until its turn, so waiters are
 * served in arrival order and nobody spins. The arithmetic
 * (kube_bucket_reserve) is pure and takes the time as an argument so
 * tests can drive it; kube_bucket_wait adds the lock and the sleep.
 */
#ifndef KUBE_RATELIMIT_H
#define KUBE_RATELIMIT_H

#include <pthread.h>
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
};

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
 * Thread-safe: reserve a token now and sleep (CLOCK_MONOTONIC) until it is
 * due. Returns the milliseconds waited, or -1 at once when the bucket is
 * closed (also while sleeping).
 */
int64_t kube_bucket_wait(struct kube_bucket *b);

/* Thread-safe: sleep `ms` unless or until the bucket closes; -1 when it did. */
int kube_bucket_sleep(struct kube_bucket *b, int64_t ms);

/*
 * Thread-safe: close the bucket for an orderly stop. Every waiter of
 * kube_bucket_wait and kube_bucket_sleep, now and later, returns -1.
 */
void kube_bucket_close(struct kube_bucket *b);
bool kube_bucket_closed(struct kube_bucket *b);

#endif
