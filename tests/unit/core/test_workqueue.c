// SPDX-License-Identifier: Apache-2.0
/* test_workqueue.c - dedupe, no concurrent processing of a key, backoff, shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_readd_while_processing),
		cmocka_unit_test(test_rate_limited_backoff),
		cmocka_unit_test(test_add_after_earliest_wins),
		cmocka_unit_test(test_shutdown_wakes_waiters),
	};

	return cmocka_run_group_tests_name("workqueue", tests, NULL, NULL);
}
