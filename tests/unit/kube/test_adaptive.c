/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_adaptive.c - the client's pacing without --kube-api-qps: the AIMD
 * arithmetic on its own clock, the wait for a slot, and a client against a
 * fake API server that runs "priority and fairness" (its answers carry the
 * X-Kubernetes-PF-* headers, and it answers 429 above a few requests in
 * flight) or does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "fake_http.h"
#include "kube/adaptive.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/ratelimit.h"

/* ---- the arithmetic ---- */

static void test_grows_by_one_per_round(void **state)
{
	struct kube_aimd a;

	(void)state;
	kube_aimd_init(&a, 8, 1, 100);
	for (int i = 0; i < 8; i++)
		kube_aimd_update(&a, KUBE_AIMD_OK, 10, true, 1000 + i);
	assert_true(a.limit > 8.9 && a.limit < 9.1);
	kube_aimd_release(&a);
}

static void test_overload_halves_once_per_round_trip(void **state)
{
	struct kube_aimd a;

	(void)state;
	kube_aimd_init(&a, 40, 1, 100);
	kube_aimd_update(&a, KUBE_AIMD_OK, 100, true, 9000);	/* round trip: 200 ms */
	kube_aimd_update(&a, KUBE_AIMD_OVERLOAD, -1, true, 10000);
	assert_true(a.limit > 20 && a.limit < 20.1);
	/* the rest of the same overload's 429s: no further cut */
	for (int i = 1; i < 150; i++)
		kube_aimd_update(&a, KUBE_AIMD_OVERLOAD, -1, true, 10000 + i);
	assert_true(a.limit > 20 && a.limit < 20.1);
	kube_aimd_update(&a, KUBE_AIMD_OVERLOAD, -1, true, 10200);
	assert_true(a.limit > 10 && a.limit < 10.1);
	for (int64_t t = 10400; t < 13000; t += 200)
		kube_aimd_update(&a, KUBE_AIMD_OVERLOAD, -1, true, t);
	assert_true(a.limit == 1);	/* never below min */
	kube_aimd_release(&a);
}

static void test_rising_latency_cuts_steady_does_not(void **state)
{
	struct kube_aimd a;
	double before;

	(void)state;
	kube_aimd_init(&a, 20, 1, 100);
	for (int i = 0; i < 200; i++)
		kube_aimd_update(&a, KUBE_AIMD_OK, 20, true, 1000 + i);
	assert_true(a.limit > 20);	/* steady latency: only growth */
	before = a.limit;
	/* the server slows down tenfold */
	for (int i = 0; i < 20; i++)
		kube_aimd_update(&a, KUBE_AIMD_OK, 400, true, 2000 + i);
	assert_true(a.limit < before * 0.8);
	kube_aimd_release(&a);
}

static void test_acquire_gives_up_at_its_deadline(void **state)
{
	struct kube_aimd a;

	(void)state;
	kube_aimd_init(&a, 1, 1, 1);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(kube_aimd_acquire(&a, 50), -1);	/* the one slot stays taken */
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(kube_aimd_acquire(&a, 50), 0);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(a.inflight, 0);
	kube_aimd_release(&a);
}

static void test_no_growth_while_the_limit_holds_nobody_back(void **state)
{
	struct kube_aimd a;

	(void)state;
	kube_aimd_init(&a, 8, 1, 100);
	for (int i = 0; i < 1000; i++)
		kube_aimd_update(&a, KUBE_AIMD_OK, 10, false, 1000 + i);
	assert_true(a.limit == 8);
	kube_aimd_release(&a);
}

static void test_other_failures_teach_nothing(void **state)
{
	struct kube_aimd a;

	(void)state;
	kube_aimd_init(&a, 8, 1, 100);
	for (int i = 0; i < 100; i++)
		kube_aimd_update(&a, KUBE_AIMD_OTHER, -1, true, 1000 + i);
	assert_true(a.limit == 8);
	kube_aimd_release(&a);
}

/* ---- the wait for a slot ---- */

struct waiter {
	struct kube_aimd *a;
	atomic_bool got;
};

static void *take_slot(void *p)
{
	struct waiter *w = p;

	kube_aimd_acquire(w->a, 60000);
	atomic_store(&w->got, true);
	return NULL;
}

static void test_acquire_waits_for_a_free_slot(void **state)
{
	struct kube_aimd a;
	struct waiter w = { &a, false };
	pthread_t t;

	(void)state;
	kube_aimd_init(&a, 1, 1, 1);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(pthread_create(&t, NULL, take_slot, &w), 0);
	clock_sleep_ms(100);	/* a window in which nothing may happen */
	assert_false(atomic_load(&w.got));
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(pthread_join(t, NULL), 0);	/* the freed slot is taken */
	assert_true(atomic_load(&w.got));
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_release(&a);
}

/* ---- closing: an orderly stop wakes every waiter ---- */

struct sleeper {
	struct kube_bucket *b;
	struct kube_aimd *a;
	_Atomic int64_t got;
	_Atomic int64_t took_ms;
};

static void *bucket_waiter(void *p)
{
	struct sleeper *w = p;
	int64_t t0 = clock_now_ms();

	atomic_store(&w->got, kube_bucket_wait(w->b));
	atomic_store(&w->took_ms, clock_now_ms() - t0);
	return NULL;
}

static void *aimd_waiter(void *p)
{
	struct sleeper *w = p;
	int64_t t0 = clock_now_ms();

	atomic_store(&w->got, kube_aimd_acquire(w->a, 60000));
	atomic_store(&w->took_ms, clock_now_ms() - t0);
	return NULL;
}

static void test_closed_bucket_wakes_its_sleepers(void **state)
{
	struct kube_bucket b;
	struct sleeper w = { .b = &b };
	pthread_t t;

	(void)state;
	kube_bucket_init(&b, 0.1, 1, clock_now_ms());	/* a token every 10 s */
	assert_int_equal(kube_bucket_wait(&b), 0);	/* the burst */
	assert_int_equal(pthread_create(&t, NULL, bucket_waiter, &w), 0);
	clock_sleep_ms(100);	/* a window in which it must still sleep */
	assert_int_equal(atomic_load(&w.took_ms), 0);
	kube_bucket_close(&b);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(atomic_load(&w.got), -1);
	assert_true(atomic_load(&w.took_ms) < 5000);
	/* closed for good: no wait, no sleep */
	assert_int_equal(kube_bucket_wait(&b), -1);
	assert_int_equal(kube_bucket_sleep(&b, 60000, NULL), -1);
	assert_true(kube_bucket_closed(&b));
	kube_bucket_release(&b);
}

/* Capacity: a token that would not be waited for, or a free slot in flight. */
static void test_capacity_is_a_free_token_or_slot(void **state)
{
	struct kube_bucket b, unlimited;
	struct kube_aimd a;

	(void)state;
	kube_bucket_init(&b, 0.1, 1, clock_now_ms());	/* a token every 10 s */
	assert_true(kube_bucket_has_token(&b));
	assert_int_equal(kube_bucket_reserve(&b, clock_now_ms()), 0);
	assert_false(kube_bucket_has_token(&b));
	kube_bucket_release(&b);
	kube_bucket_init(&unlimited, -1, 1, clock_now_ms());
	assert_int_equal(kube_bucket_reserve(&unlimited, clock_now_ms()), 0);
	assert_true(kube_bucket_has_token(&unlimited));
	kube_bucket_release(&unlimited);

	kube_aimd_init(&a, 1, 1, 1);
	assert_true(kube_aimd_has_slot(&a));
	assert_true(kube_aimd_acquire(&a, 1000) >= 0);
	assert_false(kube_aimd_has_slot(&a));
	kube_aimd_done(&a, KUBE_AIMD_OK, 10);
	assert_true(kube_aimd_has_slot(&a));
	kube_aimd_release(&a);
}

static void test_closed_aimd_wakes_its_waiters(void **state)
{
	struct kube_aimd a;
	struct sleeper w = { .a = &a };
	pthread_t t;

	(void)state;
	kube_aimd_init(&a, 1, 1, 1);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(pthread_create(&t, NULL, aimd_waiter, &w), 0);
	clock_sleep_ms(100);
	assert_int_equal(atomic_load(&w.took_ms), 0);
	kube_aimd_close(&a);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(atomic_load(&w.got), -2);
	assert_true(atomic_load(&w.took_ms) < 30000);
	assert_int_equal(kube_aimd_acquire(&a, 1000), -2);	/* even with a slot free */
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(kube_aimd_acquire(&a, 1000), -2);
	kube_aimd_release(&a);
}

/* ---- a client against a fake server ---- */

#define SEATS 3		/* the fake's "priority level": 429 above this many in flight */

struct fake {
	struct fhttp *http;
	bool apf;
	atomic_int inflight, max_inflight, served, rejected;
};

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fake *f = ctx;
	const char *pf = f->apf ? "X-Kubernetes-PF-FlowSchema-UID: fs-1\r\n"
				  "X-Kubernetes-PF-PriorityLevel-UID: pl-1\r\n"
				: "";
	char resp[512];
	int n = atomic_fetch_add(&f->inflight, 1) + 1, m;

	(void)method;
	(void)target;
	(void)head;
	(void)body;
	while ((m = atomic_load(&f->max_inflight)) < n &&
	       !atomic_compare_exchange_weak(&f->max_inflight, &m, n))
		;
	if (f->apf && n > SEATS) {
		atomic_fetch_add(&f->rejected, 1);
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 429 Too Many Requests\r\n%sRetry-After: 1\r\n"
			 "Content-Type: application/json\r\nContent-Length: 2\r\n"
			 "Connection: close\r\n\r\n{}", pf);
	} else {
		clock_sleep_ms(20);	/* the fake's service time, so requests overlap */
		atomic_fetch_add(&f->served, 1);
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 201 Created\r\n%sContent-Type: application/json\r\n"
			 "Content-Length: 2\r\nConnection: close\r\n\r\n{}", pf);
	}
	atomic_fetch_sub(&f->inflight, 1);
	fhttp_write_all(fd, resp, strlen(resp));
}

struct poster {
	struct kube_client *c;
	int n, failed;
};

static void *post_many(void *p)
{
	struct poster *w = p;

	for (int i = 0; i < w->n; i++) {
		struct err e = ERR_INIT;
		json_t *body = json_pack("{s:s}", "kind", "Event");

		if (kube_create(w->c, "/api/v1/namespaces/default/events", body, NULL, &e))
			w->failed++;
		err_release(&e);
		json_decref(body);
	}
	return NULL;
}

static struct kube_client *client_for(struct fake *f, bool adaptive)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .adaptive = adaptive };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	cfg.server = (char *)fhttp_url(f->http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

static int64_t run_posters(struct kube_client *c, int threads, int each)
{
	pthread_t t[16];
	struct poster w[16];
	int64_t t0 = clock_now_ms();

	for (int i = 0; i < threads; i++) {
		w[i] = (struct poster){ c, each, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, post_many, &w[i]), 0);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failed, 0);
	}
	return clock_now_ms() - t0;
}

static void test_client_follows_apf_and_absorbs_429(void **state)
{
	struct fake f = { .apf = true };
	struct kube_client *c;
	struct kube_client_pace p;

	(void)state;
	f.http = fhttp_start(handle, &f);
	assert_non_null(f.http);
	c = client_for(&f, true);
	run_posters(c, 16, 25);		/* every one of the 400 succeeds */
	assert_int_equal(atomic_load(&f.served), 400);
	kube_client_pace(c, &p);
	assert_true(p.adaptive);
	print_message("limit %.1f, %d served, %d rejected, at most %d in flight\n", p.inflight_limit,
		      atomic_load(&f.served), atomic_load(&f.rejected), atomic_load(&f.max_inflight));
	/* the bound came down towards the server's seats, and most requests got through first time */
	assert_true(p.inflight_limit < 8);
	assert_true(atomic_load(&f.rejected) < 400);
	kube_client_free(c);
	fhttp_stop(f.http);
}

static void test_client_without_apf_keeps_the_default_rate(void **state)
{
	struct fake f = { .apf = false };
	struct kube_client *c;
	struct kube_client_pace p;
	int64_t took;

	(void)state;
	f.http = fhttp_start(handle, &f);
	assert_non_null(f.http);
	c = client_for(&f, true);
	/* 15 requests at 5/s after a burst of 10: at least a second */
	took = run_posters(c, 3, 5);
	kube_client_pace(c, &p);
	assert_false(p.adaptive);
	assert_true(took >= 900);
	kube_client_free(c);
	fhttp_stop(f.http);
}

static void test_client_with_a_rate_never_adapts(void **state)
{
	struct fake f = { .apf = true };
	struct kube_client *c;
	struct kube_client_pace p;
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = 1000, .burst = 1000, .adaptive = true };
	struct err e = ERR_INIT;

	(void)state;
	f.http = fhttp_start(handle, &f);
	assert_non_null(f.http);
	cfg.server = (char *)fhttp_url(f.http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	run_posters(c, 2, 5);
	kube_client_pace(c, &p);
	assert_false(p.adaptive);
	kube_client_free(c);
	fhttp_stop(f.http);
}

/* A closed client sends nothing more: the waiting request and later ones are cancelled. */
static void test_closed_client_cancels_paced_requests(void **state)
{
	struct fake f = { .apf = false };
	struct kube_client *c;
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = 0.1, .burst = 1 };
	struct err e = ERR_INIT;
	struct poster w;
	pthread_t t;
	int64_t t0;

	(void)state;
	f.http = fhttp_start(handle, &f);
	assert_non_null(f.http);
	cfg.server = (char *)fhttp_url(f.http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	assert_true(kube_client_has_capacity(c));
	run_posters(c, 1, 1);			/* the burst's token */
	assert_int_equal(atomic_load(&f.served), 1);
	assert_false(kube_client_has_capacity(c));
	w = (struct poster){ c, 1, 0 };	/* its token is 10 s away */
	t0 = clock_now_ms();
	assert_int_equal(pthread_create(&t, NULL, post_many, &w), 0);
	clock_sleep_ms(100);
	kube_client_close(c);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.failed, 1);
	assert_true(clock_now_ms() - t0 < 5000);
	assert_int_equal(kube_get(c, "/api/v1/namespaces/default", NULL, &e), KUBE_ERR_CANCELLED);
	err_release(&e);
	assert_int_equal(atomic_load(&f.served), 1);	/* nothing more reached the server */
	kube_client_close(NULL);
	kube_client_free(c);
	fhttp_stop(f.http);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_by_one_per_round),
		cmocka_unit_test(test_overload_halves_once_per_round_trip),
		cmocka_unit_test(test_rising_latency_cuts_steady_does_not),
		cmocka_unit_test(test_acquire_gives_up_at_its_deadline),
		cmocka_unit_test(test_no_growth_while_the_limit_holds_nobody_back),
		cmocka_unit_test(test_other_failures_teach_nothing),
		cmocka_unit_test(test_closed_bucket_wakes_its_sleepers),
		cmocka_unit_test(test_closed_aimd_wakes_its_waiters),
		cmocka_unit_test(test_closed_client_cancels_paced_requests),
		cmocka_unit_test(test_acquire_waits_for_a_free_slot),
		cmocka_unit_test(test_capacity_is_a_free_token_or_slot),
		cmocka_unit_test(test_client_follows_apf_and_absorbs_429),
		cmocka_unit_test(test_client_without_apf_keeps_the_default_rate),
		cmocka_unit_test(test_client_with_a_rate_never_adapts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
