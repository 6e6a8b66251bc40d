/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_priority.c - best effort in the client's pacing: the bucket's
 * arithmetic driven by its own clock (a normal request that arrives later
 * is served before a best-effort one that waited, the rate never exceeds
 * qps/burst, best effort gets the whole rate when nothing else runs), the
 * in-flight bound's rule and its waits (a freed slot goes to a normal
 * waiter; close and cancel wake best effort; a long wait turns normal),
 * and a best-effort sibling client against a fake API server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "client_int.h"
#include "fake_http.h"
#include "kube/adaptive.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/ratelimit.h"
#include "wait_until.h"

/* ---- the bucket on its own clock ---- */

static void test_bucket_normal_served_before_earlier_spare(void **state)
{
	struct kube_bucket b;

	(void)state;
	kube_bucket_init(&b, 10, 2, 0);	/* a token every 100 ms, bursts of 2 */
	assert_int_equal(kube_bucket_reserve(&b, 0), 0);
	assert_int_equal(kube_bucket_reserve(&b, 0), 0);
	/* best effort arrives first: the bucket is full again in 200 ms */
	assert_int_equal(kube_bucket_spare(&b, 0), 200);
	/* a normal request at 50 ms reserves the token of 100 ms ... */
	assert_int_equal(kube_bucket_reserve(&b, 50), 50);
	/* ... so at 200 ms best effort still finds no full bucket, and nothing was taken */
	assert_int_equal(kube_bucket_spare(&b, 200), 100);
	assert_int_equal(kube_bucket_spare(&b, 250), 50);
	/* another normal request at 260 ms is served at once, before it */
	assert_int_equal(kube_bucket_reserve(&b, 260), 0);
	assert_int_equal(kube_bucket_spare(&b, 300), 100);
	/* best effort is served once nobody else took the refill */
	assert_int_equal(kube_bucket_spare(&b, 400), 0);
	/* and it reserves nothing ahead: the next one waits for a full bucket */
	assert_int_equal(kube_bucket_spare(&b, 400), 100);
	/* the normal request after it lost no more than that one token */
	assert_int_equal(kube_bucket_reserve(&b, 400), 0);
	kube_bucket_release(&b);
}

static void test_bucket_spare_alone_gets_the_whole_rate(void **state)
{
	struct kube_bucket b;
	int64_t t = 0, w;
	int got = 0;

	(void)state;
	kube_bucket_init(&b, 20, 10, 0);
	/* a best-effort caller retrying when told, for 10 s */
	while (t < 10000) {
		w = kube_bucket_spare(&b, t);
		if (!w)
			got++;
		t += w;
	}
	/* 20/s with nobody else: 200, give or take the one token it starts with */
	assert_in_range(got, 199, 201);
	kube_bucket_release(&b);
}

static void test_bucket_unlimited_spare(void **state)
{
	struct kube_bucket b;

	(void)state;
	kube_bucket_init(&b, -1, 1, 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(kube_bucket_spare(&b, 0), 0);
	kube_bucket_release(&b);
}

/*
 * A simulated second-by-second mix: normal requests at 14/s with a burst of
 * 12 every 3 s, and a greedy best-effort caller, on a 20/s bucket with
 * bursts of 5, for 30 s. Returns the grant times; *waits gets each normal
 * request's wait.
 */
#define SIM_MS 30000
#define SIM_QPS 20
#define SIM_BURST 5

static size_t simulate(bool with_spare, int64_t *grants, size_t max, int64_t *waits,
		       size_t *n_normal, size_t *n_spare)
{
	struct kube_bucket b;
	size_t n = 0, k = 0;
	int64_t spare_at = 0, w;

	kube_bucket_init(&b, SIM_QPS, SIM_BURST, 0);
	*n_spare = 0;
	for (int64_t t = 0; t < SIM_MS; t++) {
		int arrivals = (t % 70 == 0) + (t % 3000 == 1500 ? 12 : 0);

		for (int i = 0; i < arrivals; i++) {
			w = kube_bucket_reserve(&b, t);
			waits[k++] = w;
			assert_true(n < max);
			grants[n++] = t + w;
		}
		if (with_spare && t >= spare_at) {
			w = kube_bucket_spare(&b, t);
			if (!w) {
				assert_true(n < max);
				grants[n++] = t;
				(*n_spare)++;
			}
			spare_at = t + w;
		}
	}
	kube_bucket_release(&b);
	*n_normal = k;
	return n;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void test_bucket_rate_never_exceeded_and_normal_not_delayed(void **state)
{
	static int64_t g[4000], ref_g[4000], waits[1000], ref_waits[1000];
	size_t n, ref_n, n_normal, ref_normal, n_spare, ref_spare;

	(void)state;
	n = simulate(true, g, 4000, waits, &n_normal, &n_spare);
	ref_n = simulate(false, ref_g, 4000, ref_waits, &ref_normal, &ref_spare);
	assert_int_equal(n_normal, ref_normal);
	qsort(g, n, sizeof(g[0]), cmp64);
	/* in no window [g[i], g[j]] more than burst + qps * its length */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			assert_true((double)(j - i + 1) <=
				    SIM_BURST + SIM_QPS * (double)(g[j] - g[i]) / 1000.0 + 1e-9);
	/* best effort had the rest: 20/s less 14/s less the bursts, most of it */
	print_message("%zu normal, %zu best effort in %d s\n", n_normal, n_spare, SIM_MS / 1000);
	assert_true(n_spare > (size_t)((SIM_QPS - 1000.0 / 70 - 12.0 / 3) * SIM_MS / 1000 * 0.8));
	/* and no normal request waited more than one token longer than without it */
	for (size_t i = 0; i < n_normal; i++)
		assert_true(waits[i] <= ref_waits[i] + 1000 / SIM_QPS);
	(void)ref_n;
}

/* ---- the bucket's waits ---- */

struct bwaiter {
	struct kube_bucket *b;
	atomic_bool *cancel;
	_Atomic int64_t got;
	atomic_bool done;
};

static void *spare_waiter(void *p)
{
	struct bwaiter *w = p;

	atomic_store(&w->got, kube_bucket_wait_spare(w->b, w->cancel));
	atomic_store(&w->done, true);
	return NULL;
}

static int spare_waiting(struct kube_bucket *b)
{
	int n;

	pthread_mutex_lock(&b->lock);
	n = b->spare_waiting;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* The same order with threads and the real clock: 1 s between the two outcomes. */
static void test_bucket_wait_normal_overtakes_waiting_spare(void **state)
{
	struct kube_bucket b;
	struct bwaiter w = { .b = &b };
	pthread_t t;

	(void)state;
	kube_bucket_init(&b, 1, 1, clock_now_ms());
	assert_int_equal(kube_bucket_wait(&b), 0);		/* empty now: full in 1 s */
	assert_int_equal(pthread_create(&t, NULL, spare_waiter, &w), 0);
	WAIT_UNTIL(spare_waiting(&b) == 1);
	/* a normal request arriving now gets the next token; best effort the one after */
	assert_true(kube_bucket_wait(&b) >= 0);
	assert_false(atomic_load(&w.done));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(atomic_load(&w.got) >= 1000);
	kube_bucket_release(&b);
}

static void test_bucket_close_and_cancel_wake_spare_waiters(void **state)
{
	struct kube_bucket b;
	atomic_bool cancel = false;
	struct bwaiter w1 = { .b = &b }, w2 = { .b = &b, .cancel = &cancel };
	pthread_t t1, t2;
	int64_t t0;

	(void)state;
	kube_bucket_init(&b, 0.01, 1, clock_now_ms());	/* full again in 100 s */
	assert_int_equal(kube_bucket_wait(&b), 0);
	assert_int_equal(pthread_create(&t1, NULL, spare_waiter, &w1), 0);
	assert_int_equal(pthread_create(&t2, NULL, spare_waiter, &w2), 0);
	WAIT_UNTIL(spare_waiting(&b) == 2);
	/* a cancel ends only its own waiter, and leaves the bucket open */
	t0 = clock_now_ms();
	atomic_store(&cancel, true);
	kube_bucket_wake(&b);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(atomic_load(&w2.got), -1);
	assert_false(kube_bucket_closed(&b));
	assert_false(atomic_load(&w1.done));
	/* the close ends the other */
	kube_bucket_close(&b);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(atomic_load(&w1.got), -1);
	assert_true(clock_now_ms() - t0 < 20000);
	assert_int_equal(kube_bucket_wait_spare(&b, NULL), -1);
	kube_bucket_release(&b);
}

static void test_bucket_spare_idle_is_prompt(void **state)
{
	struct kube_bucket b;

	(void)state;
	kube_bucket_init(&b, 5, 3, clock_now_ms());
	assert_int_equal(kube_bucket_wait_spare(&b, NULL), 0);	/* full: at once */
	kube_bucket_release(&b);
}

static void test_bucket_long_spare_wait_queues_as_normal(void **state)
{
	struct kube_bucket b;
	int64_t got;

	(void)state;
	kube_bucket_init(&b, 1, 2, clock_now_ms());
	b.spare_max_ms = 200;
	assert_int_equal(kube_bucket_wait(&b), 0);	/* one token left: not full for 1 s */
	got = kube_bucket_wait_spare(&b, NULL);
	/* it took the token left after 200 ms instead of waiting for a full bucket */
	assert_true(got >= 200);
	assert_true(b.tokens < 1);
	kube_bucket_release(&b);
}

/* ---- the in-flight bound ---- */

static void test_aimd_spare_rule(void **state)
{
	static const struct {
		double limit;
		int inflight, waiting;
		bool free;
	} rows[] = {
		{ 8, 0, 0, true },
		{ 8, 6, 0, true },
		{ 8, 7, 0, false },	/* the last free slot stays for a normal request */
		{ 8, 8, 0, false },
		{ 8, 2, 1, false },	/* a normal request waits */
		{ 1, 0, 0, true },	/* nothing in flight: idle */
		{ 1, 1, 0, false },
		{ 2.9, 1, 0, false },	/* the floor of the limit counts */
		{ 3.1, 1, 0, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kube_aimd a;

		kube_aimd_init(&a, rows[i].limit, 1, 100);
		a.inflight = rows[i].inflight;
		a.waiting = rows[i].waiting;
		if (kube_aimd_spare_free(&a) != rows[i].free)
			fail_msg("row %zu: limit %.1f, %d in flight, %d waiting", i, rows[i].limit,
				 rows[i].inflight, rows[i].waiting);
		a.inflight = a.waiting = 0;
		kube_aimd_release(&a);
	}
}

struct awaiter {
	struct kube_aimd *a;
	bool spare;
	atomic_bool *cancel;
	_Atomic int64_t got;
	atomic_bool done;
};

static void *aimd_waiter(void *p)
{
	struct awaiter *w = p;

	atomic_store(&w->got, w->spare ? kube_aimd_acquire_spare(w->a, 60000, w->cancel)
				       : kube_aimd_acquire(w->a, 60000));
	atomic_store(&w->done, true);
	return NULL;
}

static int counted(struct kube_aimd *a, const int *field)
{
	int n;

	pthread_mutex_lock(&a->mu);
	n = *field;
	pthread_mutex_unlock(&a->mu);
	return n;
}

static void test_aimd_freed_slot_goes_to_normal_first(void **state)
{
	struct kube_aimd a;
	struct awaiter be = { .a = &a, .spare = true }, n3 = { .a = &a };
	pthread_t tbe, t3;

	(void)state;
	kube_aimd_init(&a, 2, 1, 2);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	/* best effort first: one slot is free, but it is the last one */
	assert_int_equal(pthread_create(&tbe, NULL, aimd_waiter, &be), 0);
	WAIT_UNTIL(counted(&a, &a.spare_waiting) == 1);
	/* a normal request takes that last slot at once */
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	/* another waits, after best effort did */
	assert_int_equal(pthread_create(&t3, NULL, aimd_waiter, &n3), 0);
	WAIT_UNTIL(counted(&a, &a.waiting) == 1);
	/* the freed slot goes to it, not to the earlier best effort */
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(pthread_join(t3, NULL), 0);
	assert_true(atomic_load(&n3.got) >= 0);
	assert_false(atomic_load(&be.done));
	assert_int_equal(counted(&a, &a.inflight), 2);
	/* with nothing else in flight best effort goes */
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(pthread_join(tbe, NULL), 0);
	assert_true(atomic_load(&be.got) >= 0);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(a.inflight, 0);
	kube_aimd_release(&a);
}

/* Only normal requests held back say the limit is too low: best effort can wait. */
static void test_aimd_spare_waiter_does_not_raise_the_limit(void **state)
{
	struct kube_aimd a;
	struct awaiter be = { .a = &a, .spare = true };
	pthread_t t;

	(void)state;
	kube_aimd_init(&a, 3, 1, 100);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(pthread_create(&t, NULL, aimd_waiter, &be), 0);
	WAIT_UNTIL(counted(&a, &a.spare_waiting) == 1);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	assert_int_equal(pthread_join(t, NULL), 0);	/* one in flight: room for it now */
	pthread_mutex_lock(&a.mu);
	assert_true(a.limit == 3);
	pthread_mutex_unlock(&a.mu);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_release(&a);
}

static void test_aimd_close_and_cancel_wake_spare_waiters(void **state)
{
	struct kube_aimd a;
	atomic_bool cancel = false;
	struct awaiter w1 = { .a = &a, .spare = true }, w2 = { .a = &a, .spare = true,
							     .cancel = &cancel };
	pthread_t t1, t2;

	(void)state;
	kube_aimd_init(&a, 1, 1, 1);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(pthread_create(&t1, NULL, aimd_waiter, &w1), 0);
	assert_int_equal(pthread_create(&t2, NULL, aimd_waiter, &w2), 0);
	WAIT_UNTIL(counted(&a, &a.spare_waiting) == 2);
	atomic_store(&cancel, true);
	kube_aimd_wake(&a);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(atomic_load(&w2.got), -2);
	assert_false(atomic_load(&w1.done));
	kube_aimd_close(&a);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(atomic_load(&w1.got), -2);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_release(&a);
}

static void test_aimd_long_spare_wait_turns_normal(void **state)
{
	struct kube_aimd a;
	int64_t got;

	(void)state;
	kube_aimd_init(&a, 2, 1, 2);
	a.spare_max_ms = 200;
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	/* the last free slot: best effort may not take it, until it waited 200 ms */
	got = kube_aimd_acquire_spare(&a, 60000, NULL);
	assert_true(got >= 200);
	assert_int_equal(a.inflight, 2);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_release(&a);
	/* and it too gives up at its deadline */
	kube_aimd_init(&a, 1, 1, 1);
	assert_int_equal(kube_aimd_acquire(&a, 1000), 0);
	assert_int_equal(kube_aimd_acquire_spare(&a, 50, NULL), -1);
	kube_aimd_done(&a, KUBE_AIMD_OK, 5);
	kube_aimd_release(&a);
}

/* ---- a best-effort sibling against a fake server ---- */

struct fake {
	struct fhttp *http;
	bool apf;
	pthread_mutex_t mu;
	char order[64];		/* 'n' or 'b' per request served, in order */
	size_t n;
	atomic_int served;
};

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fake *f = ctx;
	const char *pf = f->apf ? "X-Kubernetes-PF-FlowSchema-UID: fs-1\r\n"
				  "X-Kubernetes-PF-PriorityLevel-UID: pl-1\r\n"
				: "";
	char resp[512];

	(void)method;
	(void)head;
	(void)body;
	pthread_mutex_lock(&f->mu);
	if (f->n < sizeof(f->order) - 1)
		f->order[f->n++] = strstr(target, "/events") ? 'b' : 'n';
	pthread_mutex_unlock(&f->mu);
	atomic_fetch_add(&f->served, 1);
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 201 Created\r\n%sContent-Type: application/json\r\n"
		 "Content-Length: 2\r\nConnection: close\r\n\r\n{}", pf);
	fhttp_write_all(fd, resp, strlen(resp));
}

struct poster {
	struct kube_client *c;
	const char *path;
	int rc;
	atomic_bool done;
};

static void *post_one(void *p)
{
	struct poster *w = p;
	struct err e = ERR_INIT;
	json_t *body = json_pack("{s:s}", "kind", "Thing");

	w->rc = kube_create(w->c, w->path, body, NULL, &e);
	err_release(&e);
	json_decref(body);
	atomic_store(&w->done, true);
	return NULL;
}

static struct kube_client *client_for(struct fake *f, double qps, int burst, bool adaptive)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = qps, .burst = burst, .adaptive = adaptive };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	pthread_mutex_init(&f->mu, NULL);
	f->http = fhttp_start(handle, f);
	assert_non_null(f->http);
	cfg.server = (char *)fhttp_url(f->http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

#define PV_PATH "/api/v1/persistentvolumes"
#define EV_PATH "/api/v1/namespaces/default/events"

/*
 * At 2/s with no burst: an event waits while three of the base's writes,
 * sent after it, go first; the whole stays within the rate.
 */
static void test_best_effort_client_waits_for_the_base(void **state)
{
	struct fake f = { 0 };
	struct kube_client *c = client_for(&f, 2, 1, false), *be;
	struct poster ev = { .path = EV_PATH }, pv[4];
	pthread_t tev, tpv[4];
	struct err e = ERR_INIT;
	int64_t t0;

	(void)state;
	assert_int_equal(kube_client_new_best_effort(&be, c, &e), 0);
	ev.c = be;
	t0 = clock_now_ms();
	pv[0] = (struct poster){ .c = c, .path = PV_PATH };
	post_one(&pv[0]);			/* the burst's token */
	assert_int_equal(pv[0].rc, 0);
	assert_int_equal(pthread_create(&tev, NULL, post_one, &ev), 0);
	WAIT_UNTIL(spare_waiting(&c->pace->bucket) == 1);
	for (int i = 1; i < 4; i++) {
		pv[i] = (struct poster){ .c = c, .path = PV_PATH };
		assert_int_equal(pthread_create(&tpv[i], NULL, post_one, &pv[i]), 0);
	}
	for (int i = 1; i < 4; i++) {
		assert_int_equal(pthread_join(tpv[i], NULL), 0);
		assert_int_equal(pv[i].rc, 0);
	}
	assert_int_equal(pthread_join(tev, NULL), 0);
	assert_int_equal(ev.rc, 0);
	print_message("served in order %s\n", f.order);
	assert_string_equal(f.order, "nnnnb");
	/* five tokens at 2/s after a burst of one: at least two seconds */
	assert_true(clock_now_ms() - t0 >= 2000);
	kube_client_free(be);
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

/* Closing the best-effort client ends its own wait; closing the base ends both. */
static void test_best_effort_close(void **state)
{
	struct fake f = { 0 };
	struct kube_client *c = client_for(&f, 0.01, 1, false), *be, *be2;
	struct poster ev = { .path = EV_PATH }, ev2 = { .path = EV_PATH };
	pthread_t t, t2;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_client_new_best_effort(&be, c, &e), 0);
	assert_int_equal(kube_client_new_best_effort(&be2, c, &e), 0);
	ev.c = be;
	ev2.c = be2;
	assert_int_equal(kube_get(c, "/api/v1/namespaces/default", NULL, &e), 0);
	assert_int_equal(pthread_create(&t, NULL, post_one, &ev), 0);
	assert_int_equal(pthread_create(&t2, NULL, post_one, &ev2), 0);
	WAIT_UNTIL(spare_waiting(&c->pace->bucket) == 2);
	kube_client_close(be);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ev.rc, KUBE_ERR_CANCELLED);
	assert_false(atomic_load(&ev2.done));
	assert_false(kube_bucket_closed(&c->pace->bucket));
	kube_client_close(c);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(ev2.rc, KUBE_ERR_CANCELLED);
	assert_int_equal(atomic_load(&f.served), 1);
	/* freed in either order */
	kube_client_free(c);
	kube_client_free(be);
	kube_client_free(be2);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

/* Without rate flags, against a server with APF: best effort shares the detection and the bound. */
static void test_best_effort_follows_the_base_adaptive(void **state)
{
	struct fake f = { .apf = true };
	struct kube_client *c = client_for(&f, 0, 0, true), *be;
	struct kube_client_pace p;
	struct poster ev = { .path = EV_PATH }, pv = { .path = PV_PATH };
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_client_new_best_effort(&be, c, &e), 0);
	pv.c = c;
	post_one(&pv);
	assert_int_equal(pv.rc, 0);
	kube_client_pace(be, &p);
	assert_true(p.adaptive);	/* the base's answer told both */
	ev.c = be;
	post_one(&ev);			/* idle: served at once */
	assert_int_equal(ev.rc, 0);
	assert_int_equal(c->pace->aimd.inflight, 0);
	kube_client_free(be);
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_normal_served_before_earlier_spare),
		cmocka_unit_test(test_bucket_spare_alone_gets_the_whole_rate),
		cmocka_unit_test(test_bucket_unlimited_spare),
		cmocka_unit_test(test_bucket_rate_never_exceeded_and_normal_not_delayed),
		cmocka_unit_test(test_bucket_wait_normal_overtakes_waiting_spare),
		cmocka_unit_test(test_bucket_close_and_cancel_wake_spare_waiters),
		cmocka_unit_test(test_bucket_spare_idle_is_prompt),
		cmocka_unit_test(test_bucket_long_spare_wait_queues_as_normal),
		cmocka_unit_test(test_aimd_spare_rule),
		cmocka_unit_test(test_aimd_freed_slot_goes_to_normal_first),
		cmocka_unit_test(test_aimd_spare_waiter_does_not_raise_the_limit),
		cmocka_unit_test(test_aimd_close_and_cancel_wake_spare_waiters),
		cmocka_unit_test(test_aimd_long_spare_wait_turns_normal),
		cmocka_unit_test(test_best_effort_client_waits_for_the_base),
		cmocka_unit_test(test_best_effort_close),
		cmocka_unit_test(test_best_effort_follows_the_base_adaptive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
