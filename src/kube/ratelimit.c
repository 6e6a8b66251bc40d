// SPDX-License-Identifier: Apache-2.0
/*
 * ratelimit.c - client-side token bucket (see ratelimit.h).
 *
 * DESIGN: one mutex guards the bucket and is held only for the arithmetic,
 * never while sleeping or while holding any other lock. A reservation is
 * final: a thread that reserved a token sleeps until it is due and then
 * proceeds, so the order of service is the order of arrival.
 */
#include "kube/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "base/clock.h"

void kube_bucket_init(struct kube_bucket *b, double qps, int burst, int64_t now_ms)
{
	pthread_mutex_init(&b->lock, NULL);
	b->qps = qps;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

void kube_bucket_release(struct kube_bucket *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
}

int64_t kube_bucket_reserve(struct kube_bucket *b, int64_t now_ms)
{
	if (b->qps <= 0)
		return 0;
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->qps / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
	b->tokens -= 1.0;
	if (b->tokens >= 0)
		return 0;
	return (int64_t)ceil(-b->tokens * 1000.0 / b->qps);
}

int64_t kube_bucket_wait(struct kube_bucket *b)
{
	struct timespec until;
	int64_t wait;

	pthread_mutex_lock(&b->lock);
	wait = kube_bucket_reserve(b, clock_now_ms());
	pthread_mutex_unlock(&b->lock);
	if (wait <= 0)
		return 0;
	until = clock_deadline_ms(wait);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
	return wait;
}
