// SPDX-License-Identifier: Apache-2.0
/* test_metrics.c - the Prometheus text format, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics/metrics.h"

static void test_render(void **state)
{
	static const char *const labels[] = { "class", NULL };
	static const double buckets[] = { 0.5, 1 };
	struct metrics *m = metrics_new();
	struct metric *c = metrics_add(m, METRIC_COUNTER, "ops_total", "Operations", labels, NULL, 0);
	struct metric *g = metrics_add(m, METRIC_GAUGE, "depth", "Depth", NULL, NULL, 0);
	struct metric *h = metrics_add(m, METRIC_HISTOGRAM, "op_seconds", "Duration", labels,
				       buckets, 2);
	const char *fast[] = { "fast" }, *odd[] = { "a\"b\\c\nd" };
	struct buf b;

	(void)state;
	metric_add(c, fast, 1);
	metric_add(c, fast, 2);
	metric_add(c, odd, 1);
	metric_set(g, NULL, 7);
	metric_observe(h, fast, 0.25);
	metric_observe(h, fast, 0.75);
	metric_observe(h, fast, 3);
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_string_equal(b.data,
		"# HELP ops_total Operations\n# TYPE ops_total counter\n"
		"ops_total{class=\"fast\"} 3\n"
		"ops_total{class=\"a\\\"b\\\\c\\nd\"} 1\n"
		"# HELP depth Depth\n# TYPE depth gauge\ndepth 7\n"
		"# HELP op_seconds Duration\n# TYPE op_seconds histogram\n"
		"op_seconds_bucket{class=\"fast\",le=\"0.5\"} 1\n"
		"op_seconds_bucket{class=\"fast\",le=\"1\"} 2\n"
		"op_seconds_bucket{class=\"fast\",le=\"+Inf\"} 3\n"
		"op_seconds_sum{class=\"fast\"} 4\n"
		"op_seconds_count{class=\"fast\"} 3\n");
	buf_release(&b);

	/* a cap that is too small is reported, not overrun */
	buf_init(&b, 16);
	assert_int_equal(metrics_render(m, &b), -1);
	assert_true(b.len <= 16);
	buf_release(&b);
	metrics_free(m);
}

static void test_declared_twice_is_one_family(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *a = metrics_add(m, METRIC_COUNTER, "w_total", "Writes", NULL, NULL, 0);
	struct metric *b = metrics_add(m, METRIC_COUNTER, "w_total", "Writes", NULL, NULL, 0);
	struct buf out;

	(void)state;
	assert_ptr_equal(a, b);
	metric_add(a, NULL, 1);
	metric_add(b, NULL, 1);
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(m, &out), 0);
	assert_string_equal(out.data, "# HELP w_total Writes\n# TYPE w_total counter\nw_total 2\n");
	buf_release(&out);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_declared_twice_is_one_family),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
