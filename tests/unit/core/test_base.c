// SPDX-License-Identifier: Apache-2.0
/* test_base.c - durations, backoff, the capped buffer and the hash map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/duration.h"
#include "base/hmap.h"

static void test_duration_table(void **state)
{
	static const struct {
		const char *in;
		int ok;
		int64_t ms;
	} cases[] = {
		{ "30", 1, 30000 }, { "1.5", 1, 1500 }, { "30s", 1, 30000 }, { "5m", 1, 300000 },
		{ "300ms", 1, 300 }, { "1h30m", 1, 5400000 }, { "2.5s", 1, 2500 },
		{ "1us", 1, 1 }, { "0", 1, 0 }, { "10ns", 1, 1 },
		{ "", 0, 0 }, { "s", 0, 0 }, { "5x", 0, 0 }, { "-1s", 0, 0 }, { "1m5", 0, 0 },
		{ "1e3", 0, 0 }, { " 5s", 0, 0 }, { "99999999999999h", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -42;
		int rc = duration_parse_ms(cases[i].in, &ms);

		if ((rc == 0) != cases[i].ok)
			fail_msg("\"%s\": rc %d, want ok=%d", cases[i].in, rc, cases[i].ok);
		if (cases[i].ok && ms != cases[i].ms)
			fail_msg("\"%s\": %lld ms, want %lld", cases[i].in, (long long)ms,
				 (long long)cases[i].ms);
	}
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay_ms(1000, 300000, 0), 1000);
	assert_int_equal(backoff_delay_ms(1000, 300000, 1), 2000);
	assert_int_equal(backoff_delay_ms(1000, 300000, 8), 256000);
	assert_int_equal(backoff_delay_ms(1000, 300000, 9), 300000);
	assert_int_equal(backoff_delay_ms(1000, 300000, 4000000000u), 300000);
	assert_int_equal(backoff_delay_ms(500, 400, 0), 400);
}

static void test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, "world", 5), -1);	/* 10 > 8 */
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "hello");
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_string_equal(b.data, "helloabc");
	buf_consume(&b, 5);
	assert_string_equal(b.data, "abc");
	buf_release(&b);
	buf_release(NULL);
}

static void test_hmap(void **state)
{
	struct hmap m = HMAP_INIT;
	char key[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/claim-%d", i);
		assert_null(hmap_put(&m, key, (void *)(intptr_t)(i + 1)));
	}
	assert_int_equal(m.count, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/claim-%d", i);
		assert_int_equal((intptr_t)hmap_get(&m, key), i + 1);
	}
	assert_int_equal((intptr_t)hmap_put(&m, "ns/claim-5", (void *)7), 6);
	assert_int_equal((intptr_t)hmap_remove(&m, "ns/claim-5"), 7);
	assert_false(hmap_has(&m, "ns/claim-5"));
	assert_null(hmap_remove(&m, "absent"));
	assert_int_equal(m.count, 999);
	hmap_release(&m);
	hmap_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_table),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_hmap),
	};

	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
