// SPDX-License-Identifier: Apache-2.0
/*
 * test_err.c - the one error space: every code of every domain is distinct
 * and knows its domain; err_sys carries errno and strerror's text;
 * err_set, err_prefix and err_move keep messages and codes straight.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "csi/client.h"
#include "journal/journal.h"
#include "kube/status.h"
#include "provision/intent.h"
#include "provision/topology.h"

static const struct {
	const char *name;
	int value;
	int domain;
} codes[] = {
#define C(x, d) { #x, x, d }
	C(ERR_INVALID, ERR_DOMAIN_BASE), C(ERR_FAILED, ERR_DOMAIN_BASE),
	C(ERR_TIMEOUT, ERR_DOMAIN_BASE), C(ERR_STOPPED, ERR_DOMAIN_BASE),
	C(ERR_SYS(ENOENT), ERR_DOMAIN_SYS), C(ERR_SYS(EAGAIN), ERR_DOMAIN_SYS),
	C(ERR_SYS(ENOMEM), ERR_DOMAIN_SYS), C(ERR_SYS(EPERM), ERR_DOMAIN_SYS),
	C(KUBE_ERR_TRANSPORT, ERR_DOMAIN_KUBE), C(KUBE_ERR_TLS, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_UNAUTHORIZED, ERR_DOMAIN_KUBE), C(KUBE_ERR_FORBIDDEN, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_NOT_FOUND, ERR_DOMAIN_KUBE), C(KUBE_ERR_ALREADY_EXISTS, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_CONFLICT, ERR_DOMAIN_KUBE), C(KUBE_ERR_GONE, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_INVALID, ERR_DOMAIN_KUBE), C(KUBE_ERR_THROTTLED, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_TIMEOUT, ERR_DOMAIN_KUBE), C(KUBE_ERR_SERVER, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_DECODE, ERR_DOMAIN_KUBE), C(KUBE_ERR_TOO_LARGE, ERR_DOMAIN_KUBE),
	C(KUBE_ERR_CANCELLED, ERR_DOMAIN_KUBE), C(KUBE_ERR_OTHER, ERR_DOMAIN_KUBE),
	C(CSI_CANCELLED, ERR_DOMAIN_CSI), C(CSI_UNKNOWN, ERR_DOMAIN_CSI),
	C(CSI_INVALID_ARGUMENT, ERR_DOMAIN_CSI), C(CSI_DEADLINE_EXCEEDED, ERR_DOMAIN_CSI),
	C(CSI_NOT_FOUND, ERR_DOMAIN_CSI), C(CSI_ALREADY_EXISTS, ERR_DOMAIN_CSI),
	C(CSI_PERMISSION_DENIED, ERR_DOMAIN_CSI), C(CSI_RESOURCE_EXHAUSTED, ERR_DOMAIN_CSI),
	C(CSI_FAILED_PRECONDITION, ERR_DOMAIN_CSI), C(CSI_ABORTED, ERR_DOMAIN_CSI),
	C(CSI_OUT_OF_RANGE, ERR_DOMAIN_CSI), C(CSI_UNIMPLEMENTED, ERR_DOMAIN_CSI),
	C(CSI_INTERNAL, ERR_DOMAIN_CSI), C(CSI_UNAVAILABLE, ERR_DOMAIN_CSI),
	C(CSI_DATA_LOSS, ERR_DOMAIN_CSI), C(CSI_UNAUTHENTICATED, ERR_DOMAIN_CSI),
	C(CSI_ERR_LOCAL, ERR_DOMAIN_CSI),
	C(JOURNAL_ERR_LOST, ERR_DOMAIN_JOURNAL), C(JOURNAL_ERR_FULL, ERR_DOMAIN_JOURNAL),
	C(JOURNAL_ERR_STOPPED, ERR_DOMAIN_JOURNAL), C(JOURNAL_ERR_TOO_LARGE, ERR_DOMAIN_JOURNAL),
	C(JOURNAL_ERR_INVALID, ERR_DOMAIN_JOURNAL),
	C(TOPO_ERR_FINAL, ERR_DOMAIN_PROVISION), C(TOPO_ERR_RESCHEDULE, ERR_DOMAIN_PROVISION),
	C(INTENT_ERR_DECODE, ERR_DOMAIN_PROVISION),
#undef C
};

#define NCODES (sizeof(codes) / sizeof(codes[0]))

static void every_code_is_nonzero_and_in_its_domain(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODES; i++) {
		if (!codes[i].value || err_domain(codes[i].value) != codes[i].domain)
			fail_msg("%s = %d: domain %d, want %d", codes[i].name, codes[i].value,
				 err_domain(codes[i].value), codes[i].domain);
	}
	assert_int_equal(err_domain(0), ERR_DOMAIN_BASE);
	assert_int_equal(KUBE_OK, 0);
	assert_int_equal(CSI_OK, 0);
	assert_int_equal(ERR_OK, 0);
}

static void codes_of_distinct_domains_never_compare_equal(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODES; i++)
		for (size_t j = i + 1; j < NCODES; j++)
			if (codes[i].value == codes[j].value)
				fail_msg("%s and %s are both %d", codes[i].name, codes[j].name,
					 codes[i].value);
	/* the two collisions the space was made for */
	assert_int_not_equal(KUBE_ERR_NOT_FOUND, CSI_NOT_FOUND);
	assert_int_not_equal(KUBE_ERR_FORBIDDEN, CSI_DEADLINE_EXCEEDED);
}

static void err_is_compares_the_whole_code(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_true(err_is(&e, 0));
	assert_true(err_is(NULL, 0));
	assert_int_equal(err_code(NULL), 0);
	assert_int_equal(err_set(&e, CSI_NOT_FOUND, "volume %s gone", "v1"), CSI_NOT_FOUND);
	assert_true(err_is(&e, CSI_NOT_FOUND));
	assert_false(err_is(&e, KUBE_ERR_NOT_FOUND));
	assert_false(err_is(&e, 0));
	assert_int_equal(err_code(&e), CSI_NOT_FOUND);
	assert_int_equal(err_local(err_code(&e)), 5);
	assert_string_equal(err_msg(&e), "volume v1 gone");
	err_release(&e);
	assert_true(err_is(&e, 0));
	assert_string_equal(err_msg(&e), "");
	assert_string_equal(err_msg(NULL), "");
}

static void err_sys_keeps_errno_and_strerror(void **state)
{
	struct err e = ERR_INIT;
	char want[256];

	(void)state;
	assert_int_equal(err_sys(&e, ENOENT, "cannot open '%s'", "/x"), ERR_SYS(ENOENT));
	assert_int_equal(err_domain(err_code(&e)), ERR_DOMAIN_SYS);
	assert_int_equal(err_errno(&e), ENOENT);
	snprintf(want, sizeof(want), "cannot open '/x': %s", strerror(ENOENT));
	assert_string_equal(err_msg(&e), want);
	/* an errno outside the domain's range stays in the domain */
	assert_int_equal(err_domain(ERR_SYS(0)), ERR_DOMAIN_SYS);
	assert_int_equal(err_domain(ERR_SYS(4096)), ERR_DOMAIN_SYS);
	assert_int_not_equal(ERR_SYS(0), 0);
	/* other domains have no errno */
	err_set(&e, KUBE_ERR_NOT_FOUND, "nope");
	assert_int_equal(err_errno(&e), 0);
	err_release(&e);
	assert_int_equal(err_sys(NULL, EAGAIN, "dropped"), ERR_SYS(EAGAIN));
}

static void messages_prefix_and_replace(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(err_set(NULL, KUBE_ERR_GONE, "dropped"), KUBE_ERR_GONE);
	err_set(&e, KUBE_ERR_CONFLICT, "the object was modified");
	assert_int_equal(err_prefix(&e, "cannot update '%s'", "pv-1"), KUBE_ERR_CONFLICT);
	assert_int_equal(err_prefix(&e, "claim %s", "ns/c"), KUBE_ERR_CONFLICT);
	assert_string_equal(err_msg(&e),
			    "claim ns/c: cannot update 'pv-1': the object was modified");
	/* recoding with the old message as an argument keeps the text */
	assert_int_equal(err_set(&e, KUBE_ERR_UNAUTHORIZED, "%s", err_msg(&e)),
			 KUBE_ERR_UNAUTHORIZED);
	assert_string_equal(err_msg(&e),
			    "claim ns/c: cannot update 'pv-1': the object was modified");
	err_set(&e, ERR_INVALID, "second");
	assert_string_equal(err_msg(&e), "second");
	assert_true(err_is(&e, ERR_INVALID));
	err_release(&e);
	/* a prefix on an empty context still reads well */
	err_prefix(&e, "what");
	assert_string_equal(err_msg(&e), "what: ");
	assert_int_equal(err_prefix(NULL, "x"), 0);
	err_release(&e);
}

static void err_move_hands_over(void **state)
{
	struct err from = ERR_INIT, to = ERR_INIT;

	(void)state;
	err_set(&to, ERR_FAILED, "old");
	err_set(&from, JOURNAL_ERR_LOST, "taken over by %s", "b");
	assert_int_equal(err_move(&to, &from), JOURNAL_ERR_LOST);
	assert_true(err_is(&to, JOURNAL_ERR_LOST));
	assert_string_equal(err_msg(&to), "taken over by b");
	assert_true(err_is(&from, 0));
	assert_string_equal(err_msg(&from), "");
	assert_int_equal(err_move(&to, &to), JOURNAL_ERR_LOST);
	assert_string_equal(err_msg(&to), "taken over by b");
	assert_int_equal(err_move(NULL, &to), JOURNAL_ERR_LOST);
	assert_true(err_is(&to, 0));
	err_release(&to);
	err_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_is_nonzero_and_in_its_domain),
		cmocka_unit_test(codes_of_distinct_domains_never_compare_equal),
		cmocka_unit_test(err_is_compares_the_whole_code),
		cmocka_unit_test(err_sys_keeps_errno_and_strerror),
		cmocka_unit_test(messages_prefix_and_replace),
		cmocka_unit_test(err_move_hands_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
