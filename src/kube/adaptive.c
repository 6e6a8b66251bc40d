/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adaptive.c - the in-flight bound that adapts to the API server's answers
 * (AIMD); see adaptive.h for the why.
 */
#include "kube/adaptive.h"

#include <errno.h>
#include <math.h>

#include "base/clock.h"

/*
 * At most one cut per round trip (twice the smoothed latency, within these
 * bounds): the 429s of one overload arrive together and count once.
 */
#define COOL_MIN_MS 50
#define COOL_MAX_MS 1000
#define OVERLOAD_CUT 0.5	/* on 429 */
#define SLOW_CUT 0.75		/* on latency well above its floor */
#define SLOW_FACTOR 3.0		/* "well above": this many times the floor ... */
#define SLOW_SLACK_MS 50.0	/* ... plus this, so a fast server's jitter is not "slow" */
#define LAT_WEIGHT 0.2		/* of a new sample in the smoothed latency */
#define FLOOR_CREEP 0.01	/* the floor follows a lasting rise this slowly */
#define RATE_WINDOW_MS 1000
/* the longest a best-effort caller waits behind normal ones (spare_max_ms) */
#define SPARE_MAX_MS 10000

void kube_aimd_init(struct kube_aimd *a, double initial, double min, double max)
{
	pthread_mutex_init(&a->mu, NULL);
	clock_cond_init(&a->cv);
	clock_cond_init(&a->cv_spare);
	a->min = min < 1 ? 1 : min;
	a->max = max < a->min ? a->min : max;
	a->limit = initial < a->min ? a->min : initial > a->max ? a->max : initial;
	a->inflight = a->waiting = a->spare_waiting = 0;
	a->spare_max_ms = SPARE_MAX_MS;
	a->closed = false;
	a->cut_ms = 0;
	a->lat_ms = a->floor_ms = 0;
	a->window_n = 0;
	a->window_ms = clock_now_ms();
	a->rate = 0;
}

void kube_aimd_release(struct kube_aimd *a)
{
	if (!a)
		return;
	pthread_cond_destroy(&a->cv);
	pthread_cond_destroy(&a->cv_spare);
	pthread_mutex_destroy(&a->mu);
}

static void cut(struct kube_aimd *a, double factor, int64_t now_ms)
{
	double cool = 2 * a->lat_ms;

	cool = cool < COOL_MIN_MS ? COOL_MIN_MS : cool > COOL_MAX_MS ? COOL_MAX_MS : cool;
	if (a->cut_ms && now_ms - a->cut_ms < cool)
		return;
	a->limit *= factor;
	if (a->limit < a->min)
		a->limit = a->min;
	a->cut_ms = now_ms;
}

static void count(struct kube_aimd *a, int64_t now_ms)
{
	int64_t span = now_ms - a->window_ms;

	if (span >= RATE_WINDOW_MS) {
		a->rate = a->window_n * 1000.0 / (double)span;
		a->window_n = 0;
		a->window_ms = now_ms;
	}
	a->window_n++;
}

void kube_aimd_update(struct kube_aimd *a, enum kube_aimd_outcome o, int64_t latency_ms,
		      bool bound, int64_t now_ms)
{
	count(a, now_ms);
	if (o == KUBE_AIMD_OVERLOAD) {
		cut(a, OVERLOAD_CUT, now_ms);
		return;
	}
	if (o != KUBE_AIMD_OK)
		return;
	if (latency_ms >= 0) {
		double l = (double)latency_ms;

		a->lat_ms = a->lat_ms > 0 ? a->lat_ms + LAT_WEIGHT * (l - a->lat_ms) : l;
		if (a->floor_ms <= 0 || a->lat_ms < a->floor_ms)
			a->floor_ms = a->lat_ms;
		else
			a->floor_ms += FLOOR_CREEP * (a->lat_ms - a->floor_ms);
		if (a->lat_ms > SLOW_FACTOR * a->floor_ms + SLOW_SLACK_MS) {
			cut(a, SLOW_CUT, now_ms);
			return;
		}
	}
	if (!bound)
		return;
	/* one more in flight per round of `limit` good answers */
	a->limit += 1.0 / a->limit;
	if (a->limit > a->max)
		a->limit = a->max;
}

bool kube_aimd_spare_free(const struct kube_aimd *a)
{
	int lim = (int)floor(a->limit);

	return a->waiting == 0 && a->inflight < lim && (a->inflight == 0 || a->inflight + 1 < lim);
}

static bool may_take(const struct kube_aimd *a, bool spare)
{
	return spare ? kube_aimd_spare_free(a) : a->inflight < (int)floor(a->limit);
}

static bool stopped(const struct kube_aimd *a, const atomic_bool *cancel)
{
	return a->closed || (cancel && atomic_load(cancel));
}

/*
 * After a change (a slot freed or taken, the limit grown, a waiter gone):
 * a free slot goes to a normal waiter first, to best effort only when none
 * waits. Caller holds a->mu.
 */
static void wake_locked(struct kube_aimd *a, bool grew)
{
	if (a->waiting > 0) {
		if (a->inflight < (int)floor(a->limit))
			(grew ? pthread_cond_broadcast : pthread_cond_signal)(&a->cv);
	} else if (a->spare_waiting > 0 && kube_aimd_spare_free(a)) {
		(grew ? pthread_cond_broadcast : pthread_cond_signal)(&a->cv_spare);
	}
}

/*
 * Wait for a slot until wait_ms from now. A best-effort caller (`spare`)
 * waits on cv_spare, as best effort, for spare_max_ms; from then on as a
 * normal caller on cv.
 */
static int64_t acquire(struct kube_aimd *a, int64_t wait_ms, bool spare,
		       const atomic_bool *cancel)
{
	int64_t t0 = clock_now_ms(), end = t0 + wait_ms;
	bool waited = false;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		int64_t now = clock_now_ms(), until = end;
		bool as_spare = spare && now - t0 < a->spare_max_ms;
		struct timespec ts;
		int rc;

		if (stopped(a, cancel)) {
			pthread_mutex_unlock(&a->mu);
			return -2;
		}
		if (may_take(a, as_spare))
			break;
		if (now >= end) {
			pthread_mutex_unlock(&a->mu);
			return -1;
		}
		if (as_spare && t0 + a->spare_max_ms < until)
			until = t0 + a->spare_max_ms;
		ts = clock_deadline_ms(until - now);
		if (as_spare)
			a->spare_waiting++;
		else
			a->waiting++;
		rc = pthread_cond_timedwait(as_spare ? &a->cv_spare : &a->cv, &a->mu, &ts);
		waited = true;
		if (as_spare)
			a->spare_waiting--;
		else
			a->waiting--;
		/* a normal waiter that gives up may leave a slot to best effort */
		if (rc == ETIMEDOUT && !as_spare)
			wake_locked(a, false);
	}
	a->inflight++;
	/* the last normal waiter served: best effort may have room now */
	wake_locked(a, false);
	pthread_mutex_unlock(&a->mu);
	return waited ? clock_now_ms() - t0 : 0;
}

int64_t kube_aimd_acquire(struct kube_aimd *a, int64_t wait_ms)
{
	return acquire(a, wait_ms, false, NULL);
}

int64_t kube_aimd_acquire_spare(struct kube_aimd *a, int64_t wait_ms, const atomic_bool *cancel)
{
	return acquire(a, wait_ms, true, cancel);
}

void kube_aimd_wake(struct kube_aimd *a)
{
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->cv);
	pthread_cond_broadcast(&a->cv_spare);
	pthread_mutex_unlock(&a->mu);
}

void kube_aimd_close(struct kube_aimd *a)
{
	pthread_mutex_lock(&a->mu);
	a->closed = true;
	pthread_cond_broadcast(&a->cv);
	pthread_cond_broadcast(&a->cv_spare);
	pthread_mutex_unlock(&a->mu);
}

void kube_aimd_done(struct kube_aimd *a, enum kube_aimd_outcome o, int64_t latency_ms)
{
	double before;
	bool bound;

	pthread_mutex_lock(&a->mu);
	before = floor(a->limit);
	/* only normal waiters say the limit holds work back; best effort can wait */
	bound = a->waiting > 0 || a->inflight >= (int)before;
	a->inflight--;
	kube_aimd_update(a, o, latency_ms, bound, clock_now_ms());
	/* one slot freed; more when the limit grew */
	wake_locked(a, floor(a->limit) > before);
	pthread_mutex_unlock(&a->mu);
}

bool kube_aimd_has_slot(struct kube_aimd *a)
{
	bool yes;

	pthread_mutex_lock(&a->mu);
	yes = a->waiting == 0 && a->inflight < (int)floor(a->limit);
	pthread_mutex_unlock(&a->mu);
	return yes;
}

double kube_aimd_limit(struct kube_aimd *a)
{
	double v;

	pthread_mutex_lock(&a->mu);
	v = a->limit;
	pthread_mutex_unlock(&a->mu);
	return v;
}

double kube_aimd_rate(struct kube_aimd *a)
{
	int64_t span;
	double v;

	pthread_mutex_lock(&a->mu);
	v = a->rate;
	span = clock_now_ms() - a->window_ms;
	/* quiet since the last full window: what the open window says */
	if (span >= 2 * RATE_WINDOW_MS)
		v = a->window_n * 1000.0 / (double)span;
	pthread_mutex_unlock(&a->mu);
	return v;
}
