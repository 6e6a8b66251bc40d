// SPDX-License-Identifier: Apache-2.0
/*
 * test_journal_lease.c - what the Lease shards add to src/journal (the
 * model is tested in test_journal.c): records under the API server's 256
 * KiB annotation limit (the fake enforces it), keys that are no annotation
 * name, journal_peek, and the adoption of an older version's ConfigMap
 * shards (adopted, then deleted; skipped when forbidden; kept when the
 * Lease write fails, and adopted by the retry; adopted again when an older
 * instance writes it meanwhile).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/xalloc.h"
#include "fake_configmaps.h"
#include "journal_fixture.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

#define NS JFX_NS

/* The value of `key` in a journal loaded afresh by holder `holder` (caller frees). */
static char *reloaded_value(struct jfx *fx, const char *holder, const char *key)
{
	struct journal_opts o = fx->o;
	struct journal *b;
	struct err e = ERR_INIT;
	char *v;

	o.holder = holder;
	b = journal_new(fx->client, &o);
	if (journal_load(b, &e))
		fail_msg("journal_load: %s", err_msg(&e));
	v = journal_get(b, key);
	journal_free(b);
	return v;
}

/* 1 KiB values fill shards of the default size; no write passes the 256 KiB limit. */
static void test_default_shards_stay_under_the_annotation_limit(void **state)
{
	struct jfx *fx = *state;
	char value[1024], key[32];
	struct journal_stats st;
	struct fcm_counts c;
	struct err e = ERR_INIT;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	fx->o.shard_bytes = (size_t)1 << 20;	/* above the limit: lowered */
	fx->j = journal_new(fx->client, &fx->o);
	assert_int_equal(journal_load(fx->j, &e), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "pvc-%d", i);
		jfx_add_ok(fx->j, key, value);
	}
	journal_stats(fx->j, &st);
	assert_int_equal(st.shards, 2);
	fcm_counts(fx->fake, &c);
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.conflicts, 0);
	assert_int_equal(fcm_objects(fx->fake), 2);
}

/* Keys that are no annotation name (long, or '_' at an end) are recorded and read back. */
static void test_keys_that_are_no_annotation_name(void **state)
{
	struct jfx *fx = *state;
	char longkey[254], *v, *shard = NULL;
	struct err e = ERR_INIT;

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	fx->j = journal_new(fx->client, &fx->o);
	assert_int_equal(journal_load(fx->j, &e), 0);
	jfx_add_ok(fx->j, longkey, "v-long");
	jfx_add_ok(fx->j, "_under_", "v-under");
	jfx_add_ok(fx->j, "short", "v-short");
	v = fcm_value(fx->fake, "journal-0", longkey);
	assert_string_equal(v, "v-long");
	free(v);
	v = reloaded_value(fx, "b", "_under_");
	assert_string_equal(v, "v-under");
	free(v);
	assert_int_equal(journal_peek(fx->client, NS, "test", longkey, &v, &shard, &e), 0);
	assert_string_equal(v, "v-long");
	assert_string_equal(shard, "journal-0");
	free(v);
	free(shard);
}

/* An older version's ConfigMap shards: records adopted (the Leases' own value wins), then deleted. */
static void test_configmap_shards_are_adopted_then_deleted(void **state)
{
	struct jfx *fx = *state;
	static const char *const old0[] = { "pvc-1", "old-1", "pvc-2", "old-2", NULL };
	static const char *const old1[] = { "pvc-3", "old-3", NULL };
	static const char *const lease[] = { "pvc-2", "new-2", NULL };
	struct err e = ERR_INIT;
	char *v;

	fcm_put_configmap(fx->fake, "journal-0", "test", "old", old0);
	fcm_put_configmap(fx->fake, "journal-1", "test", "old", old1);
	fcm_put_configmap(fx->fake, "other-0", "test", "old", old1);	/* not a shard name */
	fcm_put_configmap(fx->fake, "journal-0x", "else", "old", old1);	/* another label */
	fcm_put_shard(fx->fake, "journal-0", "test", "older", lease);
	fx->j = journal_new(fx->client, &fx->o);
	assert_int_equal(journal_load(fx->j, &e), 0);
	assert_int_equal(journal_count(fx->j), 3);
	v = journal_get(fx->j, "pvc-1");
	assert_string_equal(v, "old-1");
	free(v);
	v = journal_get(fx->j, "pvc-2");
	assert_string_equal(v, "new-2");
	free(v);
	v = fcm_value(fx->fake, "journal-0", "pvc-3");	/* durable in the Lease */
	assert_string_equal(v, "old-3");
	free(v);
	assert_int_equal(fcm_configmaps(fx->fake), 2);	/* other-0 and journal-0x stay */
}

/* Upstream's RBAC: no ConfigMaps may be listed; the journal loads and works. */
static void test_forbidden_configmaps_are_skipped(void **state)
{
	struct jfx *fx = *state;
	struct err e = ERR_INIT;

	fcm_forbid_configmaps(fx->fake, true);
	fx->j = journal_new(fx->client, &fx->o);
	assert_int_equal(journal_load(fx->j, &e), 0);
	jfx_add_ok(fx->j, "pvc-1", "v");
}

/* The Lease write fails: the ConfigMap is kept, and the retried load adopts it. */
static void test_failed_adoption_keeps_the_configmap(void **state)
{
	struct jfx *fx = *state;
	static const char *const old0[] = { "pvc-1", "old-1", NULL };
	struct err e = ERR_INIT;
	char *v;

	fcm_put_configmap(fx->fake, "journal-0", "test", "old", old0);
	fcm_fail_writes(fx->fake, 1, 500);
	fx->j = journal_new(fx->client, &fx->o);
	assert_int_not_equal(journal_load(fx->j, &e), 0);
	err_release(&e);
	assert_int_equal(fcm_configmaps(fx->fake), 1);
	assert_int_equal(journal_load(fx->j, &e), 0);
	assert_int_equal(fcm_configmaps(fx->fake), 0);
	v = fcm_value(fx->fake, "journal-0", "pvc-1");
	assert_string_equal(v, "old-1");
	free(v);
	assert_int_not_equal(journal_load(fx->j, &e), 0);	/* loaded: once is enough */
	err_release(&e);
}

struct loader {
	struct jfx *fx;
	pthread_t t;
	int rc;
};

static void *load_thread(void *arg)
{
	struct loader *l = arg;
	struct err e = ERR_INIT;

	l->rc = journal_load(l->fx->j, &e);
	err_release(&e);
	return NULL;
}

/*
 * An older instance writes its ConfigMap while the adoption's Lease write is
 * in flight: the delete's precondition fails, and the adoption starts over
 * with the new record, so it is not lost.
 */
static void test_a_record_written_during_adoption_is_adopted(void **state)
{
	struct jfx *fx = *state;
	static const char *const before[] = { "pvc-1", "old-1", NULL };
	static const char *const after[] = { "pvc-1", "old-1", "pvc-2", "old-2", NULL };
	struct loader l = { .fx = fx };
	struct fcm_counts c;
	char *v;

	fcm_put_configmap(fx->fake, "journal-0", "test", "old", before);
	fx->j = journal_new(fx->client, &fx->o);
	fcm_hold_writes(fx->fake, true);
	assert_int_equal(pthread_create(&l.t, NULL, load_thread, &l), 0);
	assert_true(fcm_wait_held(fx->fake, 1, 10000));
	fcm_put_configmap(fx->fake, "journal-0", "test", "old", after);	/* the older instance */
	fcm_hold_writes(fx->fake, false);
	pthread_join(l.t, NULL);
	assert_int_equal(l.rc, 0);
	fcm_counts(fx->fake, &c);
	assert_true(c.conflicts >= 1);	/* the first delete's precondition failed */
	assert_int_equal(fcm_configmaps(fx->fake), 0);
	v = journal_get(fx->j, "pvc-2");
	assert_string_equal(v, "old-2");
	free(v);
	v = fcm_value(fx->fake, "journal-0", "pvc-2");
	assert_string_equal(v, "old-2");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, jfx_setup, jfx_teardown)
		T(test_default_shards_stay_under_the_annotation_limit),
		T(test_keys_that_are_no_annotation_name),
		T(test_configmap_shards_are_adopted_then_deleted),
		T(test_forbidden_configmaps_are_skipped),
		T(test_failed_adoption_keeps_the_configmap),
		T(test_a_record_written_during_adoption_is_adopted),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
