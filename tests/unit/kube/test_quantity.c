// SPDX-License-Identifier: Apache-2.0
/*
 * test_quantity.c - kube_quantity_parse and kube_quantity_format_bytes,
 * one cmocka test per table row.
 */
#include "kube_test.h"

#include <inttypes.h>

#include "base/err.h"
#include "kube/quantity.h"
#include "kube/status.h"

struct parse_case {
	const char *in;
	int64_t want;
	bool fails;
};

static const struct parse_case parse_cases[] = {
	/* binary suffixes */
	{ "1Ki", 1024, false },
	{ "1Mi", 1048576, false },
	{ "1Gi", 1073741824, false },
	{ "10Gi", 10737418240, false },
	{ "1Ti", 1099511627776, false },
	{ "1Pi", 1125899906842624, false },
	{ "1Ei", 1152921504606846976, false },
	{ "7Ei", 8070450532247928832, false },
	/* decimal suffixes */
	{ "0", 0, false },
	{ "5", 5, false },
	{ "1k", 1000, false },
	{ "1M", 1000000, false },
	{ "1G", 1000000000, false },
	{ "1T", 1000000000000, false },
	{ "1P", 1000000000000000, false },
	{ "1E", 1000000000000000000, false },
	{ "9E", 9000000000000000000, false },
	/* sub-unit suffixes round up */
	{ "1m", 1, false },
	{ "1000m", 1, false },
	{ "1001m", 2, false },
	{ "1500m", 2, false },
	{ "1n", 1, false },
	{ "1u", 1, false },
	{ "0m", 0, false },
	/* exponents */
	{ "1e3", 1000, false },
	{ "1E3", 1000, false },
	{ "1.5E2", 150, false },
	{ "1e+3", 1000, false },
	{ "1e-3", 1, false },
	{ "12e0", 12, false },
	{ "1e18", 1000000000000000000, false },
	{ "0e999999", 0, false },
	{ "1e-999999", 1, false },
	/* fractions round up */
	{ "1.5Ki", 1536, false },
	{ "0.5Gi", 536870912, false },
	{ ".5Ki", 512, false },
	{ "1.Ki", 1024, false },
	{ "0.1", 1, false },
	{ "1.1", 2, false },
	{ "1.0", 1, false },
	{ "0.0", 0, false },
	{ "1.000000000000000000000000001", 2, false },
	{ "0.000000000000000000000000001", 1, false },
	{ "0.0009765625Ki", 1, false },
	{ "0.00048828125Ki", 1, false },
	{ "2.5Mi", 2621440, false },
	/* signs, zeros, limits */
	{ "+5", 5, false },
	{ "-1", -1, false },
	{ "-1.5Ki", -1536, false },
	{ "-0.1", -1, false },
	{ "00010", 10, false },
	{ "9223372036854775807", INT64_MAX, false },
	{ "9223372036854775807000m", INT64_MAX, false },
	/* overflow */
	{ "8Ei", 0, true },
	{ "9Ei", 0, true },
	{ "10E", 0, true },
	{ "1e19", 0, true },
	{ "1e999999", 0, true },
	{ "9223372036854775808", 0, true },
	{ "99999999999999999999999", 0, true },
	/* garbage */
	{ "12Gb", 0, true },
	{ "", 0, true },
	{ "Gi", 0, true },
	{ "1e", 0, true },
	{ "1KiB", 0, true },
	{ "1K", 0, true },
	{ "1ki", 0, true },
	{ "abc", 0, true },
	{ "1 Gi", 0, true },
	{ " 1Gi", 0, true },
	{ "1.2.3", 0, true },
	{ "--1", 0, true },
	{ "1e3.5", 0, true },
	{ "e3", 0, true },
	{ ".", 0, true },
	{ "-", 0, true },
	{ "1Gi ", 0, true },
};

static void test_parse(void **state)
{
	const struct parse_case *c = *state;
	struct err e = ERR_INIT;
	int64_t v = 42;
	int rc = kube_quantity_parse(c->in, &v, &e);

	if (c->fails) {
		assert_int_equal(rc, KUBE_ERR_INVALID);
		assert_int_equal(v, 42);
		if (*c->in && strlen(c->in) < 40)
			assert_contains(e.msg, c->in);
	} else {
		if (rc)
			fail_msg("'%s': %s", c->in, err_msg(&e));
		if (v != c->want)
			fail_msg("'%s' parsed as %" PRId64 ", want %" PRId64, c->in, v, c->want);
	}
	err_release(&e);
}

static void test_parse_too_long(void **state)
{
	char s[KUBE_QUANTITY_MAX_LEN + 2];
	struct err e = ERR_INIT;
	int64_t v;

	(void)state;
	memset(s, '1', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(kube_quantity_parse(s, &v, &e), KUBE_ERR_INVALID);
	assert_contains(e.msg, "longer than");
	err_release(&e);
}

static void test_parse_garbage_message_quotes_value(void **state)
{
	struct err e = ERR_INIT;
	int64_t v;

	(void)state;
	assert_int_equal(kube_quantity_parse("12Gb", &v, &e), KUBE_ERR_INVALID);
	assert_contains(e.msg, "'12Gb'");
	err_release(&e);
}

struct format_case {
	int64_t in;
	const char *want;
};

static const struct format_case format_cases[] = {
	{ 0, "0" },
	{ 1, "1" },
	{ 100, "100" },
	{ 999, "999" },
	{ 1000, "1k" },
	{ 1023, "1023" },
	{ 1024, "1Ki" },
	{ 1536, "1536" },
	{ 2000, "2000" },
	{ 2048, "2Ki" },
	{ 5000, "5000" },
	{ 1048576, "1Mi" },
	{ 1000000000, "1000000000" },
	{ 1073741824, "1Gi" },
	{ 1610612736, "1536Mi" },
	{ 10737418240, "10Gi" },
	{ 1099511627776, "1Ti" },
	{ 1152921504606846976, "1Ei" },
	{ 8070450532247928832, "7Ei" },
	{ INT64_MAX, "9223372036854775807" },
	{ -1, "-1" },
	{ -1000, "-1k" },
	{ -2048, "-2Ki" },
	{ INT64_MIN, "-8Ei" },
};

static void test_format(void **state)
{
	const struct format_case *c = *state;
	char *s = kube_quantity_format_bytes(c->in);

	if (strcmp(s, c->want))
		fail_msg("%" PRId64 " formatted as '%s', want '%s'", c->in, s, c->want);
	free(s);
}

static void test_format_round_trips(void **state)
{
	static const int64_t values[] = { 1, 1000, 1024, 1536, 10737418240, INT64_MAX };
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char *s = kube_quantity_format_bytes(values[i]);
		int64_t v;

		assert_int_equal(kube_quantity_parse(s, &v, &e), 0);
		assert_int_equal(v, values[i]);
		free(s);
	}
}

#define N_PARSE (sizeof(parse_cases) / sizeof(parse_cases[0]))
#define N_FORMAT (sizeof(format_cases) / sizeof(format_cases[0]))

int main(void)
{
	static struct CMUnitTest tests[N_PARSE + N_FORMAT + 3];
	static char names[N_PARSE + N_FORMAT][96];
	size_t n = 0, i;

	for (i = 0; i < N_PARSE; i++) {
		snprintf(names[n], sizeof(names[n]), "parse '%s'", parse_cases[i].in);
		tests[n] = (struct CMUnitTest){ names[n], test_parse, NULL, NULL,
						(void *)&parse_cases[i] };
		n++;
	}
	for (i = 0; i < N_FORMAT; i++) {
		snprintf(names[n], sizeof(names[n]), "format %" PRId64, format_cases[i].in);
		tests[n] = (struct CMUnitTest){ names[n], test_format, NULL, NULL,
						(void *)&format_cases[i] };
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_too_long);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_garbage_message_quotes_value);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_format_round_trips);
	return kt_run("quantity", tests, n);
}
