// SPDX-License-Identifier: Apache-2.0
/*
 * test_journal.c - src/journal against an in-process fake of the Lease
 * API (fake_configmaps.c): durability before journal_add returns, group
 * commit, lazy removals, take-over and fencing, operator edits, shards,
 * backpressure, write errors and refused entries.
 *
 * Every wait is for a condition with a deadline: a thread's result, the
 * fake's held writes, or a bounded poll of journal_stats / the fake's
 * objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fake_configmaps.h"
#include "journal_fixture.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"
#include "metrics/metrics.h"
#include "thread_fail.h"

#define NS JFX_NS
#define DEADLINE_MS 10000
/* What a record of a short key costs besides its key and value: its annotation prefix. */
#define RECORD_PREFIX (sizeof("intent.csi-provisioner.dev/") - 1)
/* Keys of 4 and values of 36 bytes: two records fit in a shard of this size, three do not. */
#define TWO_RECORDS (100 + 2 * RECORD_PREFIX)

static int add_rc(struct journal *j, const char *key, const char *value)
{
	struct err e = ERR_INIT;
	int rc = journal_add(j, key, value, &e);

	err_release(&e);
	return rc;
}

static void assert_value(struct fcm *f, const char *shard, const char *key, const char *want)
{
	char *v = fcm_value(f, shard, key);

	if (want && (!v || strcmp(v, want)))
		fail_msg("%s/%s is '%s', want '%s'", shard, key, v ? v : "(none)", want);
	if (!want && v)
		fail_msg("%s/%s is '%s', want none", shard, key, v);
	free(v);
}

static size_t fake_writes(struct fcm *f)
{
	struct fcm_counts c;

	fcm_counts(f, &c);
	return c.writes_ok;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Bounded poll of a cheap condition: the pause is the poll interval, the deadline bounds it. */
#define WAIT_FOR(cond)								\
	do {									\
		int64_t until_ = clock_now_ms() + DEADLINE_MS;			\
		while (!(cond)) {						\
			if (clock_now_ms() > until_)				\
				fail_msg("timed out waiting for %s", #cond);	\
			pause_ms(1);						\
		}								\
	} while (0)

static size_t pending(struct journal *j)
{
	struct journal_stats st;

	journal_stats(j, &st);
	return st.pending;
}

static uint64_t full_waits(struct journal *j)
{
	struct journal_stats st;

	journal_stats(j, &st);
	return st.full_waits;
}

static bool fake_lacks(struct fcm *f, const char *shard, const char *key)
{
	char *v = fcm_value(f, shard, key);

	free(v);
	return !v;
}

/* Adders on threads. */
struct adder {
	struct journal *j;
	char key[32], value[64];
	int rc;
	pthread_t t;
	pthread_mutex_t *gate_mu;
	pthread_cond_t *gate_cond;
	bool *gate;
};

static void *add_thread(void *arg)
{
	struct adder *a = arg;

	if (a->gate) {
		pthread_mutex_lock(a->gate_mu);
		while (!*a->gate)
			pthread_cond_wait(a->gate_cond, a->gate_mu);
		pthread_mutex_unlock(a->gate_mu);
	}
	a->rc = add_rc(a->j, a->key, a->value);
	return NULL;
}

static void start_adder(struct adder *a, struct journal *j, const char *key, const char *value)
{
	pthread_attr_t attr;

	a->j = j;
	snprintf(a->key, sizeof(a->key), "%s", key);
	snprintf(a->value, sizeof(a->value), "%s", value);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)256 << 10);	/* a thousand of them */
	assert_int_equal(pthread_create(&a->t, &attr, add_thread, a), 0);
	pthread_attr_destroy(&attr);
}

static void test_add_is_durable_before_it_returns(void **state)
{
	struct jfx *fx = *state;
	char *h;

	jfx_load(fx);
	assert_int_equal(fcm_objects(fx->fake), 0);	/* nothing created before the first add */
	jfx_add_ok(fx->j, "pvc-1", "{\"size\":1}");
	assert_value(fx->fake, "journal-0", "pvc-1", "{\"size\":1}");
	h = fcm_holder(fx->fake, "journal-0");
	assert_string_equal(h, "a");
	free(h);
	assert_int_equal(fake_writes(fx->fake), 1);
	h = journal_get(fx->j, "pvc-1");
	assert_string_equal(h, "{\"size\":1}");
	free(h);
	assert_int_equal(journal_count(fx->j), 1);
}

/* No committer thread, no journal: the load fails (nothing could be made
 * durable) and a later load works. */
static void test_committer_thread_failure_fails_the_load(void **state)
{
	struct jfx *fx = *state;
	struct err e = ERR_INIT;

	fx->j = journal_new(fx->client, &fx->o);
	thread_fail_next();
	assert_int_equal(journal_load(fx->j, &e), JOURNAL_ERR_INVALID);
	assert_non_null(strstr(err_msg(&e), "committer thread"));
	err_release(&e);
	assert_int_equal(journal_load(fx->j, &e), 0);
	jfx_add_ok(fx->j, "pvc-1", "{\"size\":1}");
	assert_value(fx->fake, "journal-0", "pvc-1", "{\"size\":1}");
}

static void test_identical_readd_writes_nothing(void **state)
{
	struct jfx *fx = *state;
	struct journal_stats st;

	jfx_load(fx);
	jfx_add_ok(fx->j, "pvc-1", "v1");
	jfx_add_ok(fx->j, "pvc-1", "v1");
	assert_int_equal(fake_writes(fx->fake), 1);
	jfx_add_ok(fx->j, "pvc-1", "v2");	/* a different value is written */
	assert_int_equal(fake_writes(fx->fake), 2);
	assert_value(fx->fake, "journal-0", "pvc-1", "v2");
	journal_stats(fx->j, &st);
	assert_int_equal(st.writes, 2);
	assert_int_equal(st.bytes, RECORD_PREFIX + strlen("pvc-1v2"));
}

/* While the first write is held, n - 1 more adds queue; they take one write. */
static void adds_during_a_held_write(struct jfx *fx, int n)
{
	struct adder *as = xcalloc((size_t)n, sizeof(*as));
	char key[32];

	jfx_load(fx);
	fcm_hold_writes(fx->fake, true);
	start_adder(&as[0], fx->j, "k-0", "v");
	assert_true(fcm_wait_held(fx->fake, 1, DEADLINE_MS));
	for (int i = 1; i < n; i++) {
		snprintf(key, sizeof(key), "k-%d", i);
		start_adder(&as[i], fx->j, key, "v");
	}
	WAIT_FOR(pending(fx->j) == (size_t)n);
	fcm_hold_writes(fx->fake, false);
	for (int i = 0; i < n; i++) {
		pthread_join(as[i].t, NULL);
		assert_int_equal(as[i].rc, 0);
		assert_value(fx->fake, "journal-0", as[i].key, "v");
	}
	assert_int_equal(fake_writes(fx->fake), 2);
	free(as);
}

static void test_100_adds_during_a_write_take_one_more(void **state)
{
	adds_during_a_held_write(*state, 100);
}

static void test_1000_adds_during_a_write_take_one_more(void **state)
{
	adds_during_a_held_write(*state, 1000);
}

/*
 * N threads released at once: far fewer writes than adds (journal_stats,
 * checked against the fake's count). How many depends on how spread out
 * the threads' wake-ups are (on a loaded 2-core machine, tens of ms), so
 * the bounds here are loose; the held-write test above pins the exact
 * count.
 */
static size_t concurrent_adds(struct jfx *fx, int n)
{
	struct adder *as = xcalloc((size_t)n, sizeof(*as));
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	bool go = false;
	char key[32];
	size_t before = fake_writes(fx->fake), writes, count0 = journal_count(fx->j);
	struct journal_stats st0, st1;

	for (int i = 0; i < n; i++) {
		as[i].gate = &go;
		as[i].gate_mu = &mu;
		as[i].gate_cond = &cond;
		snprintf(key, sizeof(key), "c-%d", i);
		start_adder(&as[i], fx->j, key, "{\"parameters\":{\"size\":\"1Gi\"}}");
	}
	journal_stats(fx->j, &st0);
	pthread_mutex_lock(&mu);
	go = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++) {
		pthread_join(as[i].t, NULL);
		assert_int_equal(as[i].rc, 0);
	}
	journal_stats(fx->j, &st1);
	writes = (size_t)(st1.writes - st0.writes);
	assert_int_equal(writes, fake_writes(fx->fake) - before);
	assert_int_equal(journal_count(fx->j) - count0, (size_t)n);
	free(as);
	return writes;
}

static void test_100_concurrent_adds_group_commit(void **state)
{
	struct jfx *fx = *state;
	size_t w;

	jfx_load(fx);
	w = concurrent_adds(fx, 100);
	print_message("journal: 100 concurrent adds took %zu writes\n", w);
	assert_true(w <= 25);
}

static void test_1000_concurrent_adds_group_commit(void **state)
{
	struct jfx *fx = *state;
	size_t w;

	jfx_load(fx);
	w = concurrent_adds(fx, 1000);
	print_message("journal: 1000 concurrent adds took %zu writes\n", w);
	assert_true(w <= 100);
}

/*
 * Paced writes: JOURNAL_WRITE_BURST adds after a quiet spell are written at
 * once, one write each; adds that follow wait for the next token (one per
 * interval) and share one write.
 */
static void test_paced_writes_gather_adds(void **state)
{
	struct jfx *fx = *state;
	size_t before, w;
	int64_t t0, took;
	char key[16];

	fx->o.min_write_interval_ms = 3000;
	jfx_load(fx);
	before = fake_writes(fx->fake);
	t0 = clock_now_ms();
	for (int i = 0; i < JOURNAL_WRITE_BURST; i++) {
		snprintf(key, sizeof(key), "quiet-%d", i);
		jfx_add_ok(fx->j, key, "{}");
	}
	assert_int_equal(fake_writes(fx->fake) - before, JOURNAL_WRITE_BURST);
	w = concurrent_adds(fx, 50);
	took = clock_now_ms() - t0;
	print_message("journal: 50 paced adds took %zu writes after %lld ms\n", w,
		      (long long)took);
	assert_int_equal(w, 1);
	assert_true(took >= 3000);	/* the burst was spent: the next token came */
}

static bool always_urgent(void *ctx, size_t waiting)
{
	(void)ctx;
	(void)waiting;
	return true;
}

/* An urgent caller (short of work) is never held by the pacing. */
static void test_urgent_adds_are_not_paced(void **state)
{
	struct jfx *fx = *state;
	size_t before;
	int64_t t0;

	fx->o.min_write_interval_ms = 60000;
	fx->o.urgent = always_urgent;
	jfx_load(fx);
	before = fake_writes(fx->fake);
	t0 = clock_now_ms();
	for (int i = 0; i < 3; i++) {
		char key[16];

		snprintf(key, sizeof(key), "urgent-%d", i);
		jfx_add_ok(fx->j, key, "{}");
	}
	assert_int_equal(fake_writes(fx->fake) - before, 3);
	assert_true(clock_now_ms() - t0 < 60000);
}

static void test_removals_are_lazy_and_ride_along(void **state)
{
	struct jfx *fx = *state;
	struct journal_stats st;
	char *v;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	jfx_add_ok(fx->j, "k2", "v");
	jfx_add_ok(fx->j, "k3", "v");
	assert_int_equal(fake_writes(fx->fake), 3);
	journal_remove(fx->j, "k1");
	journal_remove(fx->j, "k2");
	journal_remove(fx->j, "absent");
	v = journal_get(fx->j, "k1");
	assert_null(v);
	assert_int_equal(journal_count(fx->j), 1);
	assert_value(fx->fake, "journal-0", "k1", "v");	/* not written yet */
	jfx_add_ok(fx->j, "k4", "v");
	assert_int_equal(fake_writes(fx->fake), 4);	/* one write: k4 in, k1 and k2 out */
	assert_value(fx->fake, "journal-0", "k1", NULL);
	assert_value(fx->fake, "journal-0", "k2", NULL);
	assert_value(fx->fake, "journal-0", "k4", "v");
	journal_stats(fx->j, &st);
	assert_int_equal(st.removes, 2);
}

static void test_a_lone_removal_is_written_after_the_delay(void **state)
{
	struct jfx *fx = *state;

	fx->o.lazy_remove_ms = 100;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	journal_remove(fx->j, "k1");
	WAIT_FOR(fake_lacks(fx->fake, "journal-0", "k1"));
	assert_int_equal(fake_writes(fx->fake), 2);
}

static void test_readd_cancels_a_queued_removal(void **state)
{
	struct jfx *fx = *state;
	struct err e = ERR_INIT;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	journal_remove(fx->j, "k1");
	jfx_add_ok(fx->j, "k1", "v");	/* durable already: no write */
	assert_int_equal(fake_writes(fx->fake), 1);
	assert_int_equal(journal_flush(fx->j, DEADLINE_MS, &e), 0);
	assert_int_equal(fake_writes(fx->fake), 1);
	assert_value(fx->fake, "journal-0", "k1", "v");
}

static void test_flush_writes_queued_removals(void **state)
{
	struct jfx *fx = *state;
	struct err e = ERR_INIT;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	journal_remove(fx->j, "k1");
	assert_int_equal(journal_flush(fx->j, DEADLINE_MS, &e), 0);
	assert_value(fx->fake, "journal-0", "k1", NULL);
}

static void test_load_reads_shards_and_takes_over(void **state)
{
	struct jfx *fx = *state;
	const char *d0[] = { "k0", "v0", NULL }, *d1[] = { "k1", "v1", NULL };
	json_t *o;
	char *v;

	fcm_put_shard(fx->fake, "journal-0", "test", "old", d0);
	fcm_put_shard(fx->fake, "journal-1", "test", "old", d1);
	fcm_put_shard(fx->fake, "journal-x", "test", "old", d1);	/* not a shard name */
	fcm_put_shard(fx->fake, "other-0", "other", "old", d1);	/* another journal */
	jfx_load(fx);
	assert_int_equal(journal_count(fx->j), 2);
	v = journal_get(fx->j, "k1");
	assert_string_equal(v, "v1");
	free(v);
	v = fcm_holder(fx->fake, "journal-0");
	assert_string_equal(v, "a");
	free(v);
	v = fcm_holder(fx->fake, "journal-1");
	assert_string_equal(v, "a");
	free(v);
	v = fcm_holder(fx->fake, "journal-x");
	assert_string_equal(v, "old");
	free(v);
	o = fcm_get(fx->fake, "journal-0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		o, "metadata"), "annotations"), "csi-provisioner.dev/journal-shards")), "2");
	json_decref(o);
	assert_value(fx->fake, "journal-0", "k0", "v0");	/* data kept */
}

static void test_foreign_holder_means_lost(void **state)
{
	struct jfx *fx = *state;
	const char *d0[] = { "k1", "v", NULL };
	size_t writes;
	char *h;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	fcm_put_shard(fx->fake, "journal-0", "test", "b", d0);	/* another instance took it */
	writes = fake_writes(fx->fake);
	assert_int_equal(add_rc(fx->j, "k2", "v"), JOURNAL_ERR_LOST);
	assert_true(journal_lost(fx->j));
	assert_int_equal(add_rc(fx->j, "k3", "v"), JOURNAL_ERR_LOST);
	journal_remove(fx->j, "k1");
	assert_int_equal(fake_writes(fx->fake), writes);
	h = fcm_holder(fx->fake, "journal-0");
	assert_string_equal(h, "b");
	free(h);
	assert_value(fx->fake, "journal-0", "k2", NULL);
	assert_value(fx->fake, "journal-0", "k1", "v");
}

static void test_a_second_holder_fences_the_first(void **state)
{
	struct jfx *fx = *state;
	struct journal_opts ob = fx->o;
	struct journal *b;
	struct err e = ERR_INIT;
	char *v;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v1");
	ob.holder = "b";
	b = journal_new(fx->client, &ob);
	assert_int_equal(journal_load(b, &e), 0);
	v = journal_get(b, "k1");
	assert_string_equal(v, "v1");
	free(v);
	assert_int_equal(add_rc(fx->j, "k2", "v2"), JOURNAL_ERR_LOST);
	jfx_add_ok(b, "k3", "v3");
	assert_value(fx->fake, "journal-0", "k2", NULL);
	assert_value(fx->fake, "journal-0", "k3", "v3");
	journal_free(b);
}

/* An old holder cannot create a shard after a take-over: it must raise the count on shard 0 first. */
static void test_an_old_holder_cannot_create_a_shard(void **state)
{
	struct jfx *fx = *state;
	const char *v = "012345678901234567890123456789012345";
	struct journal_opts ob = fx->o;
	struct journal *b;
	struct err e = ERR_INIT;

	fx->o.shard_bytes = TWO_RECORDS;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k--1", v);
	jfx_add_ok(fx->j, "k--2", v);	/* journal-0 is full */
	ob.holder = "b";
	b = journal_new(fx->client, &ob);
	assert_int_equal(journal_load(b, &e), 0);
	assert_int_equal(add_rc(fx->j, "k--3", v), JOURNAL_ERR_LOST);
	assert_int_equal(fcm_objects(fx->fake), 1);	/* no journal-1 */
	journal_free(b);
}

/* A take-over creates every announced shard that is missing, fencing its creation. */
static void test_takeover_creates_announced_shards(void **state)
{
	struct jfx *fx = *state;
	const char *d[] = { "k0", "v0", NULL };
	json_t *o = NULL;
	char *h;

	fcm_put_shard(fx->fake, "journal-0", "test", "old", d);
	o = fcm_get(fx->fake, "journal-0");
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
			    "csi-provisioner.dev/journal-shards", json_string("3"));
	fcm_set(fx->fake, o);
	json_decref(o);
	jfx_load(fx);
	assert_int_equal(fcm_objects(fx->fake), 3);
	h = fcm_holder(fx->fake, "journal-2");
	assert_string_equal(h, "a");
	free(h);
	assert_int_equal(journal_count(fx->j), 1);
}

static void test_operator_edit_is_rebased(void **state)
{
	struct jfx *fx = *state;
	struct journal_stats st;
	json_t *o;
	char *v;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v1");
	o = fcm_get(fx->fake, "journal-0");
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
			    "intent.csi-provisioner.dev/op", json_string("x"));
	fcm_set(fx->fake, o);
	json_decref(o);
	jfx_add_ok(fx->j, "k2", "v2");
	assert_value(fx->fake, "journal-0", "k1", "v1");
	assert_value(fx->fake, "journal-0", "k2", "v2");
	assert_value(fx->fake, "journal-0", "op", "x");
	journal_stats(fx->j, &st);
	assert_int_equal(st.conflicts, 1);
	assert_false(journal_lost(fx->j));
	v = journal_get(fx->j, "op");
	assert_string_equal(v, "x");
	free(v);
}

static void test_a_deleted_shard_is_created_again(void **state)
{
	struct jfx *fx = *state;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v1");
	fcm_delete(fx->fake, "journal-0");
	jfx_add_ok(fx->j, "k2", "v2");
	assert_value(fx->fake, "journal-0", "k1", "v1");	/* what the journal held */
	assert_value(fx->fake, "journal-0", "k2", "v2");
	assert_false(journal_lost(fx->j));
}

/* Keys of 4 and values of 36 bytes: two fit in a shard of TWO_RECORDS bytes. */
static void test_a_full_shard_overflows_into_a_new_one(void **state)
{
	struct jfx *fx = *state;
	const char *v = "012345678901234567890123456789012345";
	json_t *o;

	fx->o.shard_bytes = TWO_RECORDS;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k--1", v);
	jfx_add_ok(fx->j, "k--2", v);
	jfx_add_ok(fx->j, "k--3", v);
	assert_int_equal(fcm_objects(fx->fake), 2);
	assert_value(fx->fake, "journal-0", "k--2", v);
	assert_value(fx->fake, "journal-1", "k--3", v);
	o = fcm_get(fx->fake, "journal-0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		o, "metadata"), "annotations"), "csi-provisioner.dev/journal-shards")), "2");
	json_decref(o);
	assert_int_equal(journal_count(fx->j), 3);
}

static void test_full_journal_waits_for_a_removal(void **state)
{
	struct jfx *fx = *state;
	const char *v = "012345678901234567890123456789012345";
	struct adder a = { 0 };

	fx->o.shard_bytes = TWO_RECORDS;
	fx->o.max_shards = 1;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k--1", v);
	jfx_add_ok(fx->j, "k--2", v);
	start_adder(&a, fx->j, "k--3", v);
	WAIT_FOR(full_waits(fx->j) == 1);
	journal_remove(fx->j, "k--1");	/* lazy, but a waiting add makes it urgent */
	pthread_join(a.t, NULL);
	assert_int_equal(a.rc, 0);
	assert_value(fx->fake, "journal-0", "k--1", NULL);
	assert_value(fx->fake, "journal-0", "k--3", v);
	assert_int_equal(fcm_objects(fx->fake), 1);
}

static void test_full_journal_fails_at_the_deadline(void **state)
{
	struct jfx *fx = *state;
	const char *v = "012345678901234567890123456789012345";
	int64_t t0;

	fx->o.shard_bytes = TWO_RECORDS;
	fx->o.max_shards = 1;
	fx->o.add_timeout_ms = 300;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k--1", v);
	jfx_add_ok(fx->j, "k--2", v);
	t0 = clock_now_ms();
	assert_int_equal(add_rc(fx->j, "k--3", v), JOURNAL_ERR_FULL);
	assert_true(clock_now_ms() - t0 >= 300);
	assert_int_equal(full_waits(fx->j), 1);
	assert_value(fx->fake, "journal-0", "k--3", NULL);
}

static void test_write_error_fails_the_round_then_recovers(void **state)
{
	struct jfx *fx = *state;
	struct err e = ERR_INIT;

	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	fcm_fail_writes(fx->fake, 1, 403);
	assert_int_equal(journal_add(fx->j, "k2", "v", &e), KUBE_ERR_FORBIDDEN);
	assert_non_null(strstr(err_msg(&e), "journal-0"));
	err_release(&e);
	assert_value(fx->fake, "journal-0", "k2", NULL);
	assert_null(journal_get(fx->j, "k2"));
	jfx_add_ok(fx->j, "k2", "v");
	assert_value(fx->fake, "journal-0", "k2", "v");
}

static void test_bad_entries_are_refused_at_once(void **state)
{
	struct jfx *fx = *state;
	char big[200];
	struct err e = ERR_INIT;

	fx->o.shard_bytes = 100;
	jfx_load(fx);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(journal_add(fx->j, "k1", big, &e), JOURNAL_ERR_TOO_LARGE);
	assert_non_null(strstr(err_msg(&e), "more than a shard holds"));
	assert_int_equal(journal_add(fx->j, "a/b", "v", &e), JOURNAL_ERR_INVALID);
	assert_int_equal(journal_add(fx->j, "", "v", &e), JOURNAL_ERR_INVALID);
	assert_int_equal(journal_add(fx->j, "..x", "v", &e), JOURNAL_ERR_INVALID);
	assert_int_equal(journal_add(fx->j, "k1", "\xff\xfe", &e), JOURNAL_ERR_INVALID);
	err_release(&e);
	assert_int_equal(fake_writes(fx->fake), 0);
}

static void *free_thread(void *arg)
{
	journal_free(arg);
	return NULL;
}

static void test_free_releases_waiters_at_once(void **state)
{
	struct jfx *fx = *state;
	struct adder a = { 0 };
	pthread_t freer;

	jfx_load(fx);
	fcm_hold_writes(fx->fake, true);
	start_adder(&a, fx->j, "k1", "v");
	assert_true(fcm_wait_held(fx->fake, 1, DEADLINE_MS));
	pthread_create(&freer, NULL, free_thread, fx->j);
	pthread_join(a.t, NULL);	/* returns while the write is still held */
	assert_int_equal(a.rc, JOURNAL_ERR_STOPPED);
	fcm_hold_writes(fx->fake, false);
	pthread_join(freer, NULL);
	fx->j = NULL;
}

static void test_metrics_follow_the_journal(void **state)
{
	struct jfx *fx = *state;
	struct metrics *m = metrics_new();
	struct buf out;

	fx->o.metrics = m;
	jfx_load(fx);
	jfx_add_ok(fx->j, "k1", "v");
	jfx_add_ok(fx->j, "k2", "v");
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(m, &out), 0);
	assert_non_null(strstr(out.data, "\ncsi_provisioner_journal_intents 2\n"));
	assert_non_null(strstr(out.data, "\ncsi_provisioner_journal_shards 1\n"));
	assert_non_null(strstr(out.data, "\ncsi_provisioner_journal_writes_total 2\n"));
	buf_release(&out);
	journal_free(fx->j);
	fx->j = NULL;
	metrics_free(m);
}

static void test_add_before_load_is_refused(void **state)
{
	struct jfx *fx = *state;

	fx->j = journal_new(fx->client, &fx->o);
	assert_int_equal(add_rc(fx->j, "k1", "v"), JOURNAL_ERR_INVALID);
	assert_int_equal(fake_writes(fx->fake), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, jfx_setup, jfx_teardown)
		T(test_add_is_durable_before_it_returns),
		T(test_committer_thread_failure_fails_the_load),
		T(test_identical_readd_writes_nothing),
		T(test_100_adds_during_a_write_take_one_more),
		T(test_1000_adds_during_a_write_take_one_more),
		T(test_100_concurrent_adds_group_commit),
		T(test_1000_concurrent_adds_group_commit),
		T(test_paced_writes_gather_adds),
		T(test_urgent_adds_are_not_paced),
		T(test_removals_are_lazy_and_ride_along),
		T(test_a_lone_removal_is_written_after_the_delay),
		T(test_readd_cancels_a_queued_removal),
		T(test_flush_writes_queued_removals),
		T(test_load_reads_shards_and_takes_over),
		T(test_foreign_holder_means_lost),
		T(test_a_second_holder_fences_the_first),
		T(test_an_old_holder_cannot_create_a_shard),
		T(test_takeover_creates_announced_shards),
		T(test_operator_edit_is_rebased),
		T(test_a_deleted_shard_is_created_again),
		T(test_a_full_shard_overflows_into_a_new_one),
		T(test_full_journal_waits_for_a_removal),
		T(test_full_journal_fails_at_the_deadline),
		T(test_write_error_fails_the_round_then_recovers),
		T(test_bad_entries_are_refused_at_once),
		T(test_free_releases_waiters_at_once),
		T(test_metrics_follow_the_journal),
		T(test_add_before_load_is_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
