// SPDX-License-Identifier: Apache-2.0
/*
 * journal_fixture.c - the journal unit tests' shared fixture (see
 * journal_fixture.h).
 */
#include "journal_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/xalloc.h"
#include "fake_configmaps.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

int jfx_setup(void **state)
{
	struct jfx *fx = xcalloc(1, sizeof(*fx));
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1 };
	struct err e = ERR_INIT;

	fx->fake = fcm_start(JFX_NS);
	assert_non_null(fx->fake);
	cfg.server = (char *)fcm_url(fx->fake);
	assert_int_equal(kube_client_new(&fx->client, &cfg, &o, &e), 0);
	fx->o = (struct journal_opts){ .namespace = JFX_NS, .base = "journal", .label = "test",
				       .holder = "a", .lazy_remove_ms = 60000 };
	*state = fx;
	return 0;
}

int jfx_teardown(void **state)
{
	struct jfx *fx = *state;

	journal_free(fx->j);
	kube_client_free(fx->client);
	fcm_stop(fx->fake);
	free(fx);
	return 0;
}

void jfx_load(struct jfx *fx)
{
	struct err e = ERR_INIT;

	fx->j = journal_new(fx->client, &fx->o);
	if (journal_load(fx->j, &e))
		fail_msg("journal_load: %s", err_msg(&e));
}

void jfx_add_ok(struct journal *j, const char *key, const char *value)
{
	struct err e = ERR_INIT;

	if (journal_add(j, key, value, &e))
		fail_msg("journal_add '%s': %s", key, err_msg(&e));
}
