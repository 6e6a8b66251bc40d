// SPDX-License-Identifier: Apache-2.0
/*
 * test_metrics.c - the Prometheus text format, byte for byte, as the Go
 * library writes it; series creation; collectors; the /proc parsers of the
 * process_* metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "metrics/metrics.h"
#include "metrics/process.h"

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
	/* families by name, series by label value: the Go library's order */
	assert_string_equal(b.data,
		"# HELP depth Depth\n# TYPE depth gauge\ndepth 7\n"
		"# HELP op_seconds Duration\n# TYPE op_seconds histogram\n"
		"op_seconds_bucket{class=\"fast\",le=\"0.5\"} 1\n"
		"op_seconds_bucket{class=\"fast\",le=\"1\"} 2\n"
		"op_seconds_bucket{class=\"fast\",le=\"+Inf\"} 3\n"
		"op_seconds_sum{class=\"fast\"} 4\n"
		"op_seconds_count{class=\"fast\"} 3\n"
		"# HELP ops_total Operations\n# TYPE ops_total counter\n"
		"ops_total{class=\"a\\\"b\\\\c\\nd\"} 1\n"
		"ops_total{class=\"fast\"} 3\n");
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

/* Numbers as Go's strconv.FormatFloat(v, 'g', -1, 64) writes them (checked against Go). */
static void test_format_number(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" }, { 1, "1" }, { -1, "-1" }, { 0.005, "0.005" }, { 2.5, "2.5" },
		{ 600, "600" }, { 1e6, "1e+06" }, { 123456, "123456" }, { 1234567, "1.234567e+06" },
		{ 1e-5, "1e-05" }, { 0.0001, "0.0001" }, { 18446744073709551615.0, "1.8446744073709552e+19" },
		{ 0.1, "0.1" }, { 1.764159e9, "1.764159e+09" }, { 1.7641590001234e9, "1.7641590001234e+09" },
		{ 3.14159e-7, "3.14159e-07" }, { 0.30000000000000004, "0.30000000000000004" },
		{ 100000.5, "100000.5" }, { INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
	};
	char out[40];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_format_number(cases[i].v, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

/* The bounds are the Go library's doubles: 1e-08 * 10 * 10 * 10 is not 1e-05. */
static void test_exponential_buckets(void **state)
{
	static const char *const want[] = { "1e-08", "1e-07", "1e-06", "9.999999999999999e-06",
					    "9.999999999999999e-05", "0.001", "0.01", "0.1", "1",
					    "10" };
	double b[10];
	char out[40];

	(void)state;
	metrics_exponential_buckets(10e-9, 10, 10, b);
	for (size_t i = 0; i < 10; i++) {
		metrics_format_number(b[i], out, sizeof(out));
		assert_string_equal(out, want[i]);
	}
}

/* A family without series is left out; metric_touch creates one at zero. */
static void test_empty_family_left_out_until_touched(void **state)
{
	static const char *const labels[] = { "name", NULL };
	static const double buckets[] = { 1 };
	struct metrics *m = metrics_new();
	struct metric *c = metrics_add(m, METRIC_COUNTER, "c_total", "C", labels, NULL, 0);
	struct metric *h = metrics_add(m, METRIC_HISTOGRAM, "h_seconds", "H", labels, buckets, 1);
	const char *q[] = { "q" };
	struct buf b;

	(void)state;
	(void)c;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_int_equal(b.len, 0);
	metric_touch(h, q);
	metric_touch(h, q);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_string_equal(b.data,
		"# HELP h_seconds H\n# TYPE h_seconds histogram\n"
		"h_seconds_bucket{name=\"q\",le=\"1\"} 0\n"
		"h_seconds_bucket{name=\"q\",le=\"+Inf\"} 0\n"
		"h_seconds_sum{name=\"q\"} 0\n"
		"h_seconds_count{name=\"q\"} 0\n");
	buf_release(&b);
	metrics_free(m);
}

static void count_calls(void *ctx, struct metrics *m)
{
	(void)m;
	(*(int *)ctx)++;
}

static void test_collector_removed(void **state)
{
	struct metrics *m = metrics_new();
	int a = 0, b = 0;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	metrics_add_collector(m, count_calls, &a);
	metrics_add_collector(m, count_calls, &b);
	assert_int_equal(metrics_render(m, &out), 0);
	metrics_remove_collector(m, count_calls, &a);
	assert_int_equal(metrics_render(m, &out), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	buf_release(&out);
	metrics_free(m);
}

static void test_parse_proc_stat(void **state)
{
	/* a command name with spaces and parentheses must not shift the fields */
	static const char line[] =
		"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 300 0 0 0 250 150 0 0 20 0 9 0 "
		"12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	struct metrics_proc_stat st;

	(void)state;
	assert_int_equal(metrics_parse_proc_stat(line, 100, 4096, &st), 0);
	assert_true(st.cpu_seconds == 4.0);
	assert_true(st.start_ticks == 12345);
	assert_true(st.virtual_bytes == 104857600);
	assert_true(st.resident_bytes == 2560.0 * 4096);
	assert_int_equal(metrics_parse_proc_stat("4242 (a) S 1 2 3\n", 100, 4096, &st), -1);
	assert_int_equal(metrics_parse_proc_stat("no parenthesis", 100, 4096, &st), -1);
	assert_int_equal(metrics_parse_proc_stat(line, 0, 4096, &st), -1);
}

static void test_parse_boot_time_and_netstat(void **state)
{
	static const char stat[] = "cpu  1 2 3\ncpu0 1 2 3\nintr 5\nbtime 1764140000\nprocesses 9\n";
	static const char netstat[] =
		"TcpExt: SyncookiesSent InOctets\nTcpExt: 0 7\n"
		"IpExt: InNoRoutes InOctets OutOctets InBcastPkts\nIpExt: 0 123456 654321 0\n";
	double boot, in, out;

	(void)state;
	assert_int_equal(metrics_parse_boot_time(stat, &boot), 0);
	assert_true(boot == 1764140000);
	assert_int_equal(metrics_parse_boot_time("cpu 1 2\n", &boot), -1);
	assert_int_equal(metrics_parse_netstat(netstat, &in, &out), 0);
	assert_true(in == 123456);
	assert_true(out == 654321);
	assert_int_equal(metrics_parse_netstat("IpExt: InOctets\nIpExt: x\n", &in, &out), -1);
	assert_int_equal(metrics_parse_netstat("IpExt: InOctets OutOctets\n", &in, &out), -1);
	assert_int_equal(metrics_parse_netstat("", &in, &out), -1);
}

/* The process collector reads this very process. */
static void test_process_metrics(void **state)
{
	struct metrics *m = metrics_new();
	struct metrics_process *p = metrics_process_new(m);
	struct buf b;
	const char *start;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_non_null(strstr(b.data, "# TYPE process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(b.data, "\nprocess_max_fds "));
	assert_non_null(strstr(b.data, "\nprocess_resident_memory_bytes "));
	assert_non_null(strstr(b.data, "\nprocess_virtual_memory_max_bytes "));
	start = strstr(b.data, "\nprocess_start_time_seconds ");
	assert_non_null(start);
	/* started after 2020 and not in the future */
	assert_true(strtod(start + 28, NULL) > 1577836800.0);
	assert_true(strtod(start + 28, NULL) < (double)time(NULL) + 5);
	metrics_process_free(p);
	metrics_process_free(NULL);
	buf_release(&b);
	metrics_free(m);
}

/* Label names in sorted order (le last) and series by their values, whatever the declaration order. */
static void test_label_and_series_order(void **state)
{
	static const char *const labels[] = { "method_name", "driver_name", "grpc_status_code", NULL };
	static const double buckets[] = { 1 };
	struct metrics *m = metrics_new();
	struct metric *h = metrics_add(m, METRIC_HISTOGRAM, "op_seconds", "H", labels, buckets, 1);
	const char *b_ok[] = { "/b", "d", "OK" }, *a_ok[] = { "/a", "d", "OK" },
		   *a_nf[] = { "/a", "d", "NotFound" };
	struct buf b;

	(void)state;
	metric_observe(h, b_ok, 2);
	metric_observe(h, a_ok, 2);
	metric_observe(h, a_nf, 2);
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_string_equal(b.data,
		"# HELP op_seconds H\n# TYPE op_seconds histogram\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"NotFound\",method_name=\"/a\",le=\"1\"} 0\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"NotFound\",method_name=\"/a\",le=\"+Inf\"} 1\n"
		"op_seconds_sum{driver_name=\"d\",grpc_status_code=\"NotFound\",method_name=\"/a\"} 2\n"
		"op_seconds_count{driver_name=\"d\",grpc_status_code=\"NotFound\",method_name=\"/a\"} 1\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/a\",le=\"1\"} 0\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/a\",le=\"+Inf\"} 1\n"
		"op_seconds_sum{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/a\"} 2\n"
		"op_seconds_count{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/a\"} 1\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/b\",le=\"1\"} 0\n"
		"op_seconds_bucket{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/b\",le=\"+Inf\"} 1\n"
		"op_seconds_sum{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/b\"} 2\n"
		"op_seconds_count{driver_name=\"d\",grpc_status_code=\"OK\",method_name=\"/b\"} 1\n");
	buf_release(&b);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_declared_twice_is_one_family),
		cmocka_unit_test(test_format_number),
		cmocka_unit_test(test_label_and_series_order),
		cmocka_unit_test(test_exponential_buckets),
		cmocka_unit_test(test_empty_family_left_out_until_touched),
		cmocka_unit_test(test_collector_removed),
		cmocka_unit_test(test_parse_proc_stat),
		cmocka_unit_test(test_parse_boot_time_and_netstat),
		cmocka_unit_test(test_process_metrics),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
