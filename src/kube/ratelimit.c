// SPDX-License-Identifier: Apache-2.0
/*
 * ratelimit.c - client-side token bucket (see ratelimit.h).
 *
 * DESIGN: one mutex guards the bucket and is held only for the arithmetic
 * (a sleeper waits on the condition variable, which releases it), never
 * while holding any other lock. A reservation is final: a thread that
 * reserved a token sleeps until it is due and then proceeds, so the order
 * of service is the order of arrival. Closing wakes every sleeper: at a
 * stop, requests still waiting for tokens give up instead of holding the
 * process for the minutes a low --kube-api-qps may take.
 */
#include "kube/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "base/clock.h"

void kube_bucket_init(struct kube_bucket *b, double qps, int burst, int64_t now_ms)
{
	pthread_mutex_init(&b->lock, NULL);
	clock_cond_init(&b->cond);
	b->closed = false;
	b->qps = qps;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

void kube_bucket_release(struct kube_bucket *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->cond);
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

/* Sleep until the clock_now_ms() instant `at` or the close; caller holds b->lock. */
static bool sleep_locked(struct kube_bucket *b, int64_t at)
{
	struct timespec until = clock_deadline_ms(at - clock_now_ms());

	while (!b->closed && clock_now_ms() < at)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT)
			break;
	return !b->closed;
}

int64_t kube_bucket_wait(struct kube_bucket *b)
{
	int64_t wait;
	bool open;

	pthread_mutex_lock(&b->lock);
	if (b->closed) {
		pthread_mutex_unlock(&b->lock);
		return -1;
	}
	wait = kube_bucket_reserve(b, clock_now_ms());
	open = wait <= 0 || sleep_locked(b, clock_now_ms() + wait);
	pthread_mutex_unlock(&b->lock);
	if (!open)
		return -1;
	return wait > 0 ? wait : 0;
}

int kube_bucket_sleep(struct kube_bucket *b, int64_t ms)
{
	bool open;

	pthread_mutex_lock(&b->lock);
	open = !b->closed && (ms <= 0 || sleep_locked(b, clock_now_ms() + ms));
	pthread_mutex_unlock(&b->lock);
	return open ? 0 : -1;
}

void kube_bucket_close(struct kube_bucket *b)
{
	pthread_mutex_lock(&b->lock);
	b->closed = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

bool kube_bucket_closed(struct kube_bucket *b)
{
	bool closed;

	pthread_mutex_lock(&b->lock);
	closed = b->closed;
	pthread_mutex_unlock(&b->lock);
	return closed;
}
