// SPDX-License-Identifier: Apache-2.0
/*
 * test_guard.c - the CSI client's write guard: while it refuses, calls that
 * change the driver's state are not sent (the fake driver sees nothing) and
 * fail locally with the guard's reason; calls that only read go through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csi/client.h"
#include "fake_driver.h"

struct fixture {
	struct fake_driver *f;
	struct csi_client *c;
	bool allow;
	int asked;
};

static const char *guard(void *ctx)
{
	struct fixture *fx = ctx;

	fx->asked++;
	return fx->allow ? NULL : "this replica is not the leader";
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = ERR_INIT;

	fx->f = fake_driver_start();
	if (csi_client_new(&fx->c, fake_driver_endpoint(fx->f), 10000, &e))
		fail_msg("csi_client_new: %s", err_msg(&e));
	csi_client_set_write_guard(fx->c, guard, fx);
	fake_driver_script(fx->f, 0, NULL, NULL, 0, false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	csi_client_free(fx->c);
	fake_driver_stop(fx->f);
	free(fx);
	return 0;
}

static void test_refused_writes_are_not_sent(void **state)
{
	struct fixture *fx = *state;
	struct csi_volume_capability cap = { .access_mode = 1 };
	struct csi_create_volume_req req = { .name = "pvc-1", .caps = &cap, .n_caps = 1 };
	struct csi_create_snapshot_req sreq = { .name = "snap-1", .source_volume_id = "v1" };
	struct csi_volume vol = { 0 };
	struct csi_snapshot snap = { 0 };
	struct err e = ERR_INIT;

	assert_int_equal(csi_create_volume(fx->c, &req, &vol, &e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "CreateVolume pvc-1: not sent: this replica is not the leader"));
	err_release(&e);
	assert_int_equal(csi_delete_volume(fx->c, "v1", NULL, &e), CSI_ERR_LOCAL);
	err_release(&e);
	assert_int_equal(csi_create_snapshot(fx->c, &sreq, &snap, &e), CSI_ERR_LOCAL);
	err_release(&e);
	assert_int_equal(csi_delete_snapshot(fx->c, "s1", NULL, &e), CSI_ERR_LOCAL);
	err_release(&e);
	assert_int_equal(fx->asked, 4);
	assert_int_equal(fake_driver_calls(fx->f), 0);
}

static void test_reads_and_allowed_writes_go_through(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	bool ready = false;

	assert_int_equal(csi_probe(fx->c, &ready, &e), 0);	/* reads are never asked about */
	assert_int_equal(fx->asked, 0);
	fx->allow = true;
	assert_int_equal(csi_delete_volume(fx->c, "v1", NULL, &e), 0);
	assert_int_equal(fx->asked, 1);
	assert_int_equal(fake_driver_calls(fx->f), 2);
	csi_client_set_write_guard(fx->c, NULL, NULL);	/* removed: not asked any more */
	assert_int_equal(csi_delete_volume(fx->c, "v1", NULL, &e), 0);
	assert_int_equal(fx->asked, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_writes_are_not_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_allowed_writes_go_through, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
