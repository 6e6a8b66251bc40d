/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_test.h - shared bits of the kube unit tests: cmocka includes, a
 * runner that registers one named test per table row, and the summary
 * line every test program ends with ("tests: N passed, N failed").
 */
#ifndef KUBE_TEST_H
#define KUBE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Run `n` tests as one group and print the summary line. Exit status. */
static inline int kt_run(const char *group, const struct CMUnitTest *tests, size_t n)
{
	int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);

	printf("tests: %zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed ? 1 : 0;
}

/* Assert that `hay` contains `needle`, showing both on failure. */
#define assert_contains(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);					\
	if (!h_ || !strstr(h_, n_))						\
		fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_);	\
} while (0)

#endif
