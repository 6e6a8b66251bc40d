// SPDX-License-Identifier: Apache-2.0
/*
 * test_workqueue.c - dedupe, no concurrent processing of a key, backoff,
 * shutdown, and idle workers woken one at a time (the timekeeper).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/clock.h"
#include "workqueue/workqueue.h"

static void test_dedupe(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	char *k;

	(void)state;
	wq_add(q, "a");
	wq_add(q, "a");
	wq_add(q, "b");
	assert_int_equal(wq_len(q), 2);
	assert_int_equal(wq_get(q, &k), 0);
	assert_string_equal(k, "a");
	wq_done(q, k);
	free(k);
	assert_int_equal(wq_get(q, &k), 0);
	assert_string_equal(k, "b");
	wq_done(q, k);
	free(k);
	assert_int_equal(wq_len(q), 0);
	wq_free(q);
}

/* A key added while it is processed is handed out again only after wq_done. */
static void test_readd_while_processing(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	char *k, *k2;

	(void)state;
	wq_add(q, "a");
	assert_int_equal(wq_get(q, &k), 0);
	wq_add(q, "a");
	assert_int_equal(wq_len(q), 0);
	wq_done(q, k);
	free(k);
	assert_int_equal(wq_len(q), 1);
	assert_int_equal(wq_get(q, &k2), 0);
	assert_string_equal(k2, "a");
	wq_done(q, k2);
	free(k2);
	wq_free(q);
}

static void test_rate_limited_backoff(void **state)
{
	struct wq *q = wq_new("t", 20, 80);
	int64_t start;
	char *k;

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		start = clock_now_ms();
		wq_add_rate_limited(q, "a");
		assert_int_equal(wq_failures(q, "a"), i + 1);
		assert_int_equal(wq_len(q), 0);	/* not ready before its delay */
		assert_int_equal(wq_get(q, &k), 0);	/* blocks until due */
		/* delays 20, 40, 80, 80 (capped) */
		assert_true(clock_now_ms() - start >= (i < 2 ? 20 << i : 80));
		wq_done(q, k);
		free(k);
	}
	wq_forget(q, "a");
	assert_int_equal(wq_failures(q, "a"), 0);
	wq_free(q);
}

/* An earlier schedule of a key wins over a later one, and it is handed out once. */
static void test_add_after_earliest_wins(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	int64_t start = clock_now_ms();
	char *k;

	(void)state;
	wq_add_after(q, "a", 100000);
	wq_add_after(q, "a", 10);
	assert_int_equal(wq_get(q, &k), 0);
	assert_true(clock_now_ms() - start < 100000);
	wq_done(q, k);
	free(k);
	assert_int_equal(wq_len(q), 0);
	wq_free(q);
}

static void *getter(void *arg)
{
	char *k;
	intptr_t rc = wq_get(arg, &k);

	return (void *)rc;
}

static void test_shutdown_wakes_waiters(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	pthread_t t[3];
	void *rc;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, getter, q), 0);
	wq_shutdown(q);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_int_equal((intptr_t)rc, -1);
	}
	wq_add(q, "late");	/* ignored after shutdown */
	assert_int_equal(wq_len(q), 0);
	wq_free(q);
}

/* A worker taking one key; tid and what it got are published for the test. */
struct taker {
	struct wq *q;
	pthread_t thread;
	atomic_int tid;
	char *key;
	int64_t got_ms;
	atomic_bool done;
};

static void *take_one(void *arg)
{
	struct taker *t = arg;

	atomic_store(&t->tid, (int)syscall(SYS_gettid));
	if (wq_get(t->q, &t->key) == 0)
		t->got_ms = clock_now_ms();
	atomic_store(&t->done, true);
	return NULL;
}

/* Whether the thread is asleep (state S in /proc): blocked in wq_get. */
static bool sleeping(int tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (!(f = fopen(path, "r")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Wait (up to 10 s) until the takers are blocked in wq_get. */
static void wait_blocked(struct taker *t, size_t n)
{
	int64_t end = clock_now_ms() + 10000;

	for (size_t i = 0; i < n; i++)
		while (!atomic_load(&t[i].tid) || !sleeping(atomic_load(&t[i].tid))) {
			assert_true(clock_now_ms() < end);
			sched_yield();
		}
}

/* Wait (up to 10 s) until taker t has a key. */
static void wait_taken(struct taker *t)
{
	int64_t end = clock_now_ms() + 10000;

	while (!atomic_load(&t->done)) {
		assert_true(clock_now_ms() < end);
		sched_yield();
	}
}

static void start_takers(struct wq *q, struct taker *t, size_t n)
{
	memset(t, 0, n * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		t[i].q = q;
		assert_int_equal(pthread_create(&t[i].thread, NULL, take_one, &t[i]), 0);
	}
	wait_blocked(t, n);
}

/*
 * Two keys scheduled apart, two idle workers: the one keeping the time takes
 * the first and keeps it; the other must become the timekeeper and get the
 * second when it is due, not sleep on without a deadline.
 */
static void test_due_keys_reach_idle_workers_in_turn(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	struct taker t[2];
	int64_t start = clock_now_ms();

	(void)state;
	start_takers(q, t, 2);
	wq_add_after(q, "a", 50);
	wq_add_after(q, "b", 300);
	wait_taken(&t[0]);
	wait_taken(&t[1]);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i].thread, NULL), 0);
		assert_non_null(t[i].key);
		/* "b" not before it is due */
		if (!strcmp(t[i].key, "b"))
			assert_true(t[i].got_ms - start >= 300);
		else
			assert_string_equal(t[i].key, "a");
	}
	assert_string_not_equal(t[0].key, t[1].key);
	for (int i = 0; i < 2; i++) {
		wq_done(q, t[i].key);
		free(t[i].key);
	}
	wq_free(q);
}

/* A key made ready while the only idle worker keeps the time of a far one reaches it at once. */
static void test_ready_key_wakes_the_timekeeper(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	struct taker t[1];

	(void)state;
	wq_add_after(q, "far", 60000);
	start_takers(q, t, 1);
	wq_add(q, "now");
	wait_taken(&t[0]);
	assert_int_equal(pthread_join(t[0].thread, NULL), 0);
	assert_string_equal(t[0].key, "now");
	wq_done(q, t[0].key);
	free(t[0].key);
	wq_free(q);
}

/* A key scheduled sooner than the one the timekeeper waits for is handed out when due. */
static void test_earlier_schedule_wakes_the_timekeeper(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	struct taker t[2];

	(void)state;
	wq_add_after(q, "far", 60000);
	start_takers(q, t, 2);
	wq_add_after(q, "soon", 50);
	/* one of them gets it; the other keeps waiting for "far" */
	for (int64_t end = clock_now_ms() + 10000;
	     !atomic_load(&t[0].done) && !atomic_load(&t[1].done);)
		assert_true(clock_now_ms() < end);
	for (int i = 0; i < 2; i++)
		if (atomic_load(&t[i].done))
			assert_string_equal(t[i].key, "soon");
	wq_shutdown(q);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i].thread, NULL), 0);
		if (t[i].key) {
			wq_done(q, t[i].key);
			free(t[i].key);
		}
	}
	wq_free(q);
}

/*
 * Two keys added back to back while one idle worker waits plainly and the
 * other keeps the time of a far key: the second signal may reach the waiter
 * already woken for the first, so whoever takes a key must pass the wake-up
 * on while keys are left; both keys go out at once, not when "far" is due.
 */
static void test_keys_added_back_to_back_all_go_out(void **state)
{
	struct wq *q = wq_new("t", 10, 100);
	struct taker t[2];

	(void)state;
	for (int round = 0; round < 20; round++) {
		char a[16], b[16];

		wq_add_after(q, "far", 60000);
		start_takers(q, t, 2);
		snprintf(a, sizeof(a), "a%d", round);
		snprintf(b, sizeof(b), "b%d", round);
		wq_add(q, a);
		wq_add(q, b);
		wait_taken(&t[0]);
		wait_taken(&t[1]);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(t[i].thread, NULL), 0);
			assert_non_null(t[i].key);
			assert_true(t[i].key[0] == 'a' || t[i].key[0] == 'b');
			wq_done(q, t[i].key);
			free(t[i].key);
		}
	}
	wq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_readd_while_processing),
		cmocka_unit_test(test_rate_limited_backoff),
		cmocka_unit_test(test_add_after_earliest_wins),
		cmocka_unit_test(test_shutdown_wakes_waiters),
		cmocka_unit_test(test_due_keys_reach_idle_workers_in_turn),
		cmocka_unit_test(test_ready_key_wakes_the_timekeeper),
		cmocka_unit_test(test_earlier_schedule_wakes_the_timekeeper),
		cmocka_unit_test(test_keys_added_back_to_back_all_go_out),
	};

	return cmocka_run_group_tests_name("workqueue", tests, NULL, NULL);
}
