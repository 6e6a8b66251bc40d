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
 *
 * Best effort reserves nothing: its sleeper wakes when the bucket would be
 * full and looks again, so a normal reservation made meanwhile simply
 * pushes it back; nobody has to signal it but a close or a cancel.
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
	b->spare_waiting = 0;
	b->spare_max_ms = KUBE_BUCKET_SPARE_MAX_MS;
}

void kube_bucket_release(struct kube_bucket *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

static void refill(struct kube_bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->qps / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
}

int64_t kube_bucket_reserve(struct kube_bucket *b, int64_t now_ms)
{
	if (b->qps <= 0)
		return 0;
	refill(b, now_ms);
	b->tokens -= 1.0;
	if (b->tokens >= 0)
		return 0;
	return (int64_t)ceil(-b->tokens * 1000.0 / b->qps);
}

int64_t kube_bucket_spare(struct kube_bucket *b, int64_t now_ms)
{
	int64_t wait;

	if (b->qps <= 0)
		return 0;
	refill(b, now_ms);
	if (b->tokens >= b->burst) {
		b->tokens -= 1.0;
		return 0;
	}
	wait = (int64_t)ceil((b->burst - b->tokens) * 1000.0 / b->qps);
	/* at least 1: the float may fall short of full by a hair after the wait */
	return wait > 0 ? wait : 1;
}

static bool cancelled(const struct kube_bucket *b, const atomic_bool *cancel)
{
	return b->closed || (cancel && atomic_load(cancel));
}

/*
 * Sleep until the clock_now_ms() instant `at`, the close or the cancel;
 * caller holds b->lock. False when closed or cancelled.
 */
static bool sleep_locked(struct kube_bucket *b, int64_t at, const atomic_bool *cancel)
{
	struct timespec until = clock_deadline_ms(at - clock_now_ms());

	while (!cancelled(b, cancel) && clock_now_ms() < at)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT)
			break;
	return !cancelled(b, cancel);
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
	open = wait <= 0 || sleep_locked(b, clock_now_ms() + wait, NULL);
	pthread_mutex_unlock(&b->lock);
	if (!open)
		return -1;
	return wait > 0 ? wait : 0;
}

int64_t kube_bucket_wait_spare(struct kube_bucket *b, const atomic_bool *cancel)
{
	int64_t t0 = clock_now_ms(), now, wait;
	bool open = true;

	pthread_mutex_lock(&b->lock);
	b->spare_waiting++;
	for (;;) {
		if (cancelled(b, cancel)) {
			open = false;
			break;
		}
		now = clock_now_ms();
		if (now - t0 >= b->spare_max_ms) {
			/* waited long enough behind a busy bucket: queue as the rest do */
			wait = kube_bucket_reserve(b, now);
			open = wait <= 0 || sleep_locked(b, now + wait, cancel);
			break;
		}
		wait = kube_bucket_spare(b, now);
		if (!wait)
			break;
		if (now + wait > t0 + b->spare_max_ms)
			wait = t0 + b->spare_max_ms - now;
		sleep_locked(b, now + wait, cancel);
	}
	b->spare_waiting--;
	pthread_mutex_unlock(&b->lock);
	return open ? clock_now_ms() - t0 : -1;
}

int kube_bucket_sleep(struct kube_bucket *b, int64_t ms, const atomic_bool *cancel)
{
	bool open;

	pthread_mutex_lock(&b->lock);
	open = !cancelled(b, cancel) && (ms <= 0 || sleep_locked(b, clock_now_ms() + ms, cancel));
	pthread_mutex_unlock(&b->lock);
	return open ? 0 : -1;
}

void kube_bucket_wake(struct kube_bucket *b)
{
	pthread_mutex_lock(&b->lock);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
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

bool kube_bucket_has_token(struct kube_bucket *b)
{
	bool yes;

	pthread_mutex_lock(&b->lock);
	if (b->qps > 0)
		refill(b, clock_now_ms());
	yes = b->qps <= 0 || b->tokens >= 1.0;
	pthread_mutex_unlock(&b->lock);
	return yes;
}
