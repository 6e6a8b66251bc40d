// SPDX-License-Identifier: Apache-2.0
/*
 * test_redact.c - secrets in CSI requests: a driver message that quotes a
 * value of the request's secrets has it hidden before it reaches a log or
 * an Event, and secret maps are zeroed when released.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "csi/client.h"

struct redact_case {
	const char *msg, *want;
};

static void redact_secrets_table(void **state)
{
	struct strmap_entry kv[] = {
		{ (char *)"password", (char *)"hunter2" },
		{ (char *)"token", (char *)"hunter2-long" },
		{ (char *)"empty", (char *)"" },
	};
	struct strmap m = { kv, 3, 0 };
	static const struct redact_case cases[] = {
		{ "auth failed for hunter2", "auth failed for *** (values of the request's secrets hidden)" },
		/* the longer value wins where both start */
		{ "token hunter2-long!", "token ***! (values of the request's secrets hidden)" },
		{ "hunter2hunter2", "****** (values of the request's secrets hidden)" },
		{ "nothing here", "nothing here" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = ERR_INIT;
		bool hid;

		err_set(&e, CSI_UNAUTHENTICATED, "%s", cases[i].msg);
		hid = csi_redact_secrets(&e, &m);
		assert_string_equal(err_msg(&e), cases[i].want);
		assert_int_equal(hid, strcmp(cases[i].msg, cases[i].want) != 0);
		assert_int_equal(err_code(&e), CSI_UNAUTHENTICATED);
		err_release(&e);
	}
}

static void redact_without_secrets_changes_nothing(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	err_set(&e, 2, "x");
	assert_false(csi_redact_secrets(&e, NULL));
	assert_false(csi_redact_secrets(NULL, NULL));
	assert_string_equal(err_msg(&e), "x");
	err_release(&e);
}

static void release_secret_zeroes_values(void **state)
{
	struct strmap m = { calloc(2, sizeof(struct strmap_entry)), 1, 2 };

	(void)state;
	m.items[0].key = strdup("k");
	m.items[0].value = strdup("v");
	strmap_release_secret(&m);
	assert_null(m.items);
	assert_int_equal(m.n, 0);
	strmap_release_secret(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redact_secrets_table),
		cmocka_unit_test(redact_without_secrets_changes_nothing),
		cmocka_unit_test(release_secret_zeroes_values),
	};
	int n = (int)(sizeof(tests) / sizeof(tests[0]));
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("tests: %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
