// SPDX-License-Identifier: Apache-2.0
/*
 * test_wq_metrics.c - the workqueue_* metrics of an instrumented queue:
 * client-go's names, buckets and counting rules, on a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics/metrics.h"
#include "workqueue/workqueue.h"

#define SEC 1000000000LL

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

struct fixture {
	struct metrics *m;
	struct wq *q;
	int64_t now;
	struct buf out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m = metrics_new();
	f->q = wq_new("claims", 10, 100);
	f->now = 1000 * SEC;
	wq_instrument(f->q, f->m, fake_now, &f->now);
	buf_init(&f->out, 1 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wq_free(f->q);
	metrics_free(f->m);
	buf_release(&f->out);
	free(f);
	return 0;
}

/* The scrape, for one assertion after another. */
static const char *scrape(struct fixture *f)
{
	buf_reset(&f->out);
	assert_int_equal(metrics_render(f->m, &f->out), 0);
	return f->out.data;
}

/* `line` (a whole line of the exposition) is in the scrape. */
static void assert_line(struct fixture *f, const char *line)
{
	const char *text = scrape(f);
	char *want = malloc(strlen(line) + 3);

	snprintf(want, strlen(line) + 3, "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("line \"%s\" not in:\n%s", line, text);
	free(want);
}

static void take(struct wq *q, const char *want)
{
	char *k;

	assert_int_equal(wq_get(q, &k), 0);
	assert_string_equal(k, want);
	free(k);
}

static void test_every_series_exists_before_use(void **state)
{
	static const char *const les[] = { "1e-08", "1e-07", "1e-06", "9.999999999999999e-06",
					   "9.999999999999999e-05", "0.001", "0.01", "0.1", "1",
					   "10", "+Inf" };
	struct fixture *f = *state;
	char line[160];

	assert_line(f, "workqueue_adds_total{name=\"claims\"} 0");
	assert_line(f, "workqueue_depth{name=\"claims\"} 0");
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 0");
	assert_line(f, "workqueue_unfinished_work_seconds{name=\"claims\"} 0");
	assert_line(f, "workqueue_longest_running_processor_seconds{name=\"claims\"} 0");
	assert_line(f, "# TYPE workqueue_queue_duration_seconds histogram");
	assert_line(f, "# TYPE workqueue_retries_total counter");
	assert_line(f, "# TYPE workqueue_depth gauge");
	/* client-go's bounds, spelled as the Go library spells them */
	for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
		snprintf(line, sizeof(line),
			 "workqueue_queue_duration_seconds_bucket{name=\"claims\",le=\"%s\"} 0", les[i]);
		assert_line(f, line);
		snprintf(line, sizeof(line),
			 "workqueue_work_duration_seconds_bucket{name=\"claims\",le=\"%s\"} 0", les[i]);
		assert_line(f, line);
	}
	assert_line(f, "workqueue_work_duration_seconds_count{name=\"claims\"} 0");
}

/* adds_total counts a key that becomes queued, not a repeat of a queued one; depth follows. */
static void test_adds_and_depth(void **state)
{
	struct fixture *f = *state;

	wq_add(f->q, "a");
	wq_add(f->q, "a");
	wq_add(f->q, "b");
	assert_line(f, "workqueue_adds_total{name=\"claims\"} 2");
	assert_line(f, "workqueue_depth{name=\"claims\"} 2");
	take(f->q, "a");
	assert_line(f, "workqueue_depth{name=\"claims\"} 1");
	/* re-added while processed: counted and queued again at once, as client-go does */
	wq_add(f->q, "a");
	assert_line(f, "workqueue_adds_total{name=\"claims\"} 3");
	assert_line(f, "workqueue_depth{name=\"claims\"} 2");
	wq_done(f->q, "a");
	assert_line(f, "workqueue_adds_total{name=\"claims\"} 3");
	assert_line(f, "workqueue_depth{name=\"claims\"} 2");
	take(f->q, "b");
	take(f->q, "a");
	assert_line(f, "workqueue_depth{name=\"claims\"} 0");
}

/* Queue and work durations, and the work in progress at the scrape. */
static void test_durations(void **state)
{
	struct fixture *f = *state;

	wq_add(f->q, "a");
	f->now += SEC / 2;
	take(f->q, "a");
	assert_line(f, "workqueue_queue_duration_seconds_bucket{name=\"claims\",le=\"0.1\"} 0");
	assert_line(f, "workqueue_queue_duration_seconds_bucket{name=\"claims\",le=\"1\"} 1");
	assert_line(f, "workqueue_queue_duration_seconds_sum{name=\"claims\"} 0.5");
	assert_line(f, "workqueue_queue_duration_seconds_count{name=\"claims\"} 1");

	f->now += 3 * SEC / 2;		/* a has run 1.5 s */
	wq_add(f->q, "b");
	take(f->q, "b");
	f->now += SEC / 2;		/* a 2 s, b 0.5 s */
	assert_line(f, "workqueue_unfinished_work_seconds{name=\"claims\"} 2.5");
	assert_line(f, "workqueue_longest_running_processor_seconds{name=\"claims\"} 2");
	wq_done(f->q, "a");
	assert_line(f, "workqueue_work_duration_seconds_sum{name=\"claims\"} 2");
	assert_line(f, "workqueue_work_duration_seconds_bucket{name=\"claims\",le=\"1\"} 0");
	assert_line(f, "workqueue_work_duration_seconds_bucket{name=\"claims\",le=\"10\"} 1");
	assert_line(f, "workqueue_unfinished_work_seconds{name=\"claims\"} 0.5");
	assert_line(f, "workqueue_longest_running_processor_seconds{name=\"claims\"} 0.5");
	wq_done(f->q, "b");
	assert_line(f, "workqueue_work_duration_seconds_count{name=\"claims\"} 2");
	assert_line(f, "workqueue_unfinished_work_seconds{name=\"claims\"} 0");
	assert_line(f, "workqueue_longest_running_processor_seconds{name=\"claims\"} 0");
}

/* retries_total counts every delayed add, as client-go's AddAfter does, until shutdown. */
static void test_retries(void **state)
{
	struct fixture *f = *state;

	wq_add_rate_limited(f->q, "a");
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 1");
	wq_add_after(f->q, "b", 0);
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 2");
	assert_line(f, "workqueue_adds_total{name=\"claims\"} 1");	/* b, at once; a waits */
	wq_add_after(f->q, "c", 60000);
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 3");
	wq_add(f->q, "d");
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 3");
	wq_shutdown(f->q);
	wq_add_rate_limited(f->q, "e");
	assert_line(f, "workqueue_retries_total{name=\"claims\"} 3");
}

/* Two queues, two label values; a freed queue's series stay and its collector goes. */
static void test_two_queues_and_free(void **state)
{
	struct fixture *f = *state;
	struct wq *v = wq_new("volumes", 10, 100);

	wq_instrument(v, f->m, fake_now, &f->now);
	wq_add(v, "pv");
	assert_line(f, "workqueue_adds_total{name=\"claims\"} 0");
	assert_line(f, "workqueue_adds_total{name=\"volumes\"} 1");
	assert_line(f, "workqueue_depth{name=\"volumes\"} 1");
	wq_free(v);		/* under ASan a collector left behind would read freed memory */
	assert_line(f, "workqueue_adds_total{name=\"volumes\"} 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_series_exists_before_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adds_and_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_queues_and_free, setup, teardown),
	};

	return cmocka_run_group_tests_name("wq-metrics", tests, NULL, NULL);
}
