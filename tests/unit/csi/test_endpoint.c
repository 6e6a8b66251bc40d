// SPDX-License-Identifier: Apache-2.0
/*
 * test_endpoint.c - csi_endpoint_normalize and csi_code_name: the accepted
 * --csi-address forms and the errors for everything else, as a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csi/client.h"

struct endpoint_case {
	const char *in;
	const char *want;	/* NULL = must fail */
};

static const struct endpoint_case endpoint_cases[] = {
	{ "unix:///csi/csi.sock", "unix:/csi/csi.sock" },
	{ "unix:/csi/csi.sock", "unix:/csi/csi.sock" },
	{ "/csi/csi.sock", "unix:/csi/csi.sock" },
	{ "/var/lib/kubelet/plugins/x.y/csi.sock", "unix:/var/lib/kubelet/plugins/x.y/csi.sock" },
	{ "unix:////double", "unix:/double" },
	{ "//double", "unix:/double" },
	{ "unix:////", NULL },
	{ "", NULL },
	{ "/", NULL },
	{ "unix://", NULL },
	{ "unix:", NULL },
	{ "unix:///", NULL },
	{ "unix://host/path", NULL },
	{ "unix:relative/path", NULL },
	{ "relative/csi.sock", NULL },
	{ "csi.sock", NULL },
	{ "tcp://127.0.0.1:10000", NULL },
	{ "dns:///driver:10000", NULL },
	{ "localhost:10000", NULL },
	{ "UNIX:///csi/csi.sock", NULL },
};

static void endpoint_table(void **state)
{
	for (size_t i = 0; i < sizeof(endpoint_cases) / sizeof(endpoint_cases[0]); i++) {
		const struct endpoint_case *tc = &endpoint_cases[i];
		struct err e = ERR_INIT;
		char *target = (char *)"untouched";
		int rc = csi_endpoint_normalize(tc->in, &target, &e);

		if (tc->want) {
			if (rc || !target || strcmp(target, tc->want))
				fail_msg("'%s': rc %d target '%s' msg '%s', want '%s'", tc->in, rc,
					 target ? target : "(null)", err_msg(&e), tc->want);
		} else {
			if (rc != CSI_ERR_LOCAL || target || err_code(&e) != CSI_ERR_LOCAL)
				fail_msg("'%s': rc %d, want CSI_ERR_LOCAL", tc->in, rc);
			/* The message names the value, so an operator can find the typo. */
			if (*tc->in && !strstr(err_msg(&e), tc->in))
				fail_msg("'%s': message '%s' does not quote the value", tc->in,
					 err_msg(&e));
		}
		free(target);
		err_release(&e);
	}
}

static void endpoint_null_is_error(void **state)
{
	struct err e = ERR_INIT;
	char *target;

	assert_int_equal(csi_endpoint_normalize(NULL, &target, &e), CSI_ERR_LOCAL);
	assert_null(target);
	err_release(&e);
}

static void endpoint_path_too_long(void **state)
{
	char in[200];
	struct err e = ERR_INIT;
	char *target;

	in[0] = '/';
	memset(in + 1, 'a', sizeof(in) - 2);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(csi_endpoint_normalize(in, &target, &e), CSI_ERR_LOCAL);
	assert_null(target);
	assert_non_null(strstr(err_msg(&e), "longer than"));
	err_release(&e);

	/* 107 bytes is the longest path a unix socket can have. */
	in[107] = '\0';
	assert_int_equal(csi_endpoint_normalize(in, &target, &e), 0);
	free(target);
}

static void code_names(void **state)
{
	assert_string_equal(csi_code_name(0), "OK");
	assert_string_equal(csi_code_name(CSI_DEADLINE_EXCEEDED), "DeadlineExceeded");
	assert_string_equal(csi_code_name(CSI_RESOURCE_EXHAUSTED), "ResourceExhausted");
	assert_string_equal(csi_code_name(CSI_UNAUTHENTICATED), "Unauthenticated");
	assert_string_equal(csi_code_name(CSI_ERR_LOCAL), "Local");
	assert_string_equal(csi_code_name(17), "Unrecognized");
	assert_string_equal(csi_code_name(-1), "Unrecognized");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoint_table),
		cmocka_unit_test(endpoint_null_is_error),
		cmocka_unit_test(endpoint_path_too_long),
		cmocka_unit_test(code_names),
	};
	int n = (int)(sizeof(tests) / sizeof(tests[0]));
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("tests: %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
