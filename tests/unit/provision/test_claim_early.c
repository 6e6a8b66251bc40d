// SPDX-License-Identifier: Apache-2.0
/*
 * test_claim_early.c - claims handled while the claim and PV caches still
 * fill (src/provision/claim_early.c), through the whole controller against
 * the fake API server (fake_cluster.c, whose lists and watches of one
 * resource can be held, as a large list streams slowly) and the fake CSI
 * driver: a Pending claim is provisioned before the PVs are listed; an
 * intent whose claim is not listed yet is not settled as if the claim were
 * gone; a PV the cache does not hold yet is found by a live read and no
 * volume is made again; clones and clone sources wait for complete caches;
 * a key deferred as the sync lands is queued again at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/xalloc.h"
#include "ctl_env.h"
#include "provision/controller.h"
#include "provision/controller_internal.h"
#include "provision/datasource.h"
#include "workqueue/workqueue.h"

#define DRIVER "test.csi.dev"
#define NS "default"
#define CREATE CTL_CREATE
#define DELETE CTL_DELETE
#define UID1 "0b5e7a1c-2222-4000-8000-000000000001"
#define VOL1 "pvc-" UID1
#define UID2 "0b5e7a1c-2222-4000-8000-000000000002"
#define VOL2 "pvc-" UID2

struct fx {
	struct ctl_env env;
	struct controller *c;
	pthread_t starter;
	bool starting;			/* starter runs (or ran, not joined) */
	int start_rc;
	atomic_bool started;		/* controller_start returned */
};

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	ctl_env_start(&fx->env);
	ctl_env_put_class(&fx->env, "fast", DRIVER, "Immediate");
	*state = fx;
	return 0;
}

static void *run_start(void *arg)
{
	struct fx *fx = arg;
	struct err e = ERR_INIT;

	fx->start_rc = controller_start(fx->c, &e);
	if (fx->start_rc)
		fprintf(stderr, "controller_start: %s\n", err_msg(&e));
	err_release(&e);
	atomic_store(&fx->started, true);
	return NULL;
}

/* Start the controller (one worker per queue) on a thread of its own: it returns once synced. */
static void start_async(struct fx *fx, bool accounting)
{
	struct controller_opts o = {
		.plan = { .provisioner = DRIVER, .driver = DRIVER, .identity = "test-identity",
			  .prefix = "pvc", .uuid_length = -1 },
		.workers = 1, .retry_start_ms = 20, .retry_max_ms = 1000, .resync_ms = 0,
		.volume_accounting = accounting, .journal_namespace = "csi-system",
		.journal_holder = "holder-a",
	};

	fx->c = controller_new(fx->env.kc, fx->env.cc, &o);
	atomic_store(&fx->started, false);
	assert_int_equal(pthread_create(&fx->starter, NULL, run_start, fx), 0);
	fx->starting = true;
}

/* Release every hold and wait for controller_start; its result. */
static int join_start(struct fx *fx)
{
	fcl_hold(fx->env.k, FCL_PV, false);
	fcl_hold(fx->env.k, FCL_PVC, false);
	if (fx->starting) {
		pthread_join(fx->starter, NULL);
		fx->starting = false;
	}
	return fx->start_rc;
}

/* As join_start; controller_start must have succeeded. */
static void finish_start(struct fx *fx)
{
	assert_int_equal(join_start(fx), 0);
}

static void stop_controller(struct fx *fx)
{
	join_start(fx);
	controller_free(fx->c);
	fx->c = NULL;
}

/*
 * A gate the fake driver's CreateVolume waits at (fake_driver_set_hook);
 * opened by gate_open, and by every teardown (a failed test's worker would
 * wait there for ever).
 */
static struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false };

static void gate_open(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	gate_open();
	stop_controller(fx);
	ctl_env_stop(&fx->env);
	free(fx);
	return 0;
}

static void put_claim(struct fx *fx, const char *name, const char *uid)
{
	json_t *pvc = ctl_env_claim(NS, name, uid, DRIVER, "fast");

	fcl_put(fx->env.k, FCL_PVC, pvc);
	json_decref(pvc);
}

/*
 * A worker deferred claim key w->name until the caches are synced, or (a
 * failure the caller asserts) the driver got more than w->n CreateVolume
 * calls or any DeleteVolume.
 */
static bool deferred_or_called(void *ctx)
{
	struct ctl_want *w = ctx;
	struct controller *c = w->extra;
	bool has;

	pthread_mutex_lock(&c->early_mu);
	has = hmap_has(&c->early_deferred, w->name);
	pthread_mutex_unlock(&c->early_mu);
	return has || fake_driver_count(w->env->d, CREATE) > w->n ||
	       fake_driver_count(w->env->d, DELETE) > 0;
}

#define WAIT(cond, fx_, name_, n_) CTL_WAIT(&(fx_)->env, cond, name_, n_, (fx_)->c)

/* A Pending claim gets its volume and PV while the PV list has not come. */
static void test_provisions_before_pvs_are_listed(void **state)
{
	struct fx *fx = *state;

	put_claim(fx, "c1", UID1);
	fcl_hold(fx->env.k, FCL_PV, true);
	start_async(fx, true);
	WAIT(ctl_pv_exists, fx, VOL1, 0);
	assert_false(atomic_load(&fx->started));	/* still waiting for the PV list */
	finish_start(fx);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
}

/*
 * An intent in doubt whose claim lives but is not listed yet: settling it
 * as a gone claim's would delete a volume that claim still needs. It waits
 * for the claims, then the recorded request is repeated and the PV made.
 */
static void test_intent_waits_for_its_claim(void **state)
{
	struct fx *fx = *state;
	int creates;

	fake_driver_script_method(fx->env.d, CREATE, CSI_DEADLINE_EXCEEDED, "slow", NULL, 0);
	put_claim(fx, "c1", UID1);
	start_async(fx, true);
	WAIT(ctl_creates_at_least, fx, NULL, 1);
	finish_start(fx);
	stop_controller(fx);		/* the intent stays: the create was in doubt */
	creates = fake_driver_count(fx->env.d, CREATE);
	ctl_env_script_create_ok(&fx->env);
	fcl_hold(fx->env.k, FCL_PVC, true);
	start_async(fx, true);
	WAIT(deferred_or_called, fx, NS "/c1", creates);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), creates);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	finish_start(fx);
	WAIT(ctl_pv_exists, fx, VOL1, 0);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
}

/*
 * The PV of a Pending claim exists (saved by an earlier run, not bound yet)
 * but the PV list has not come: a live read finds it and the claim waits;
 * after the sync the cached PV counts, and no second volume is made.
 */
static void test_unlisted_pv_is_found_live(void **state)
{
	struct fx *fx = *state;
	json_t *pv = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}}",
			       "apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name",
			       VOL1, "spec", "csi", "driver", DRIVER, "volumeHandle", "vol-1",
			       "claimRef", "namespace", NS, "name", "c1", "uid", UID1);

	fcl_put(fx->env.k, FCL_PV, pv);
	json_decref(pv);
	put_claim(fx, "c1", UID1);
	fcl_hold(fx->env.k, FCL_PV, true);
	start_async(fx, true);
	WAIT(deferred_or_called, fx, NS "/c1", 0);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 0);
	finish_start(fx);
	/* one worker, keys in order: c1 (queued again at the sync) goes before c2 */
	put_claim(fx, "c2", UID2);
	WAIT(ctl_pv_exists, fx, VOL2, 0);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
}

/* Whether claim w->name still carries the clone-source finalizer. */
static bool has_clone_finalizer(struct fx *fx, const char *name)
{
	json_t *pvc = fcl_get(fx->env.k, FCL_PVC, NS, name), *f;
	size_t i;
	bool has = false;

	json_array_foreach(json_object_get(json_object_get(pvc, "metadata"), "finalizers"), i, f)
		has |= !strcmp(json_string_value(f) ? json_string_value(f) : "",
			       FINALIZER_CLONE_SOURCE);
	json_decref(pvc);
	return has;
}

static bool clone_finalizer_gone(void *ctx)
{
	struct ctl_want *w = ctx;
	struct fx fx = { .env = *w->env };

	return !has_clone_finalizer(&fx, w->name);
}

/*
 * A clone's source and a clone source being deleted are decided on every
 * claim: before the caches are complete, neither the clone is provisioned
 * nor the source's finalizer released (its pending clone may not be listed
 * yet). After the sync the source, with no clone, lets go.
 */
static void test_clone_and_source_wait_for_complete_caches(void **state)
{
	struct fx *fx = *state;
	json_t *clone = ctl_env_claim(NS, "clone", UID2, DRIVER, "fast");
	json_t *src = ctl_env_claim(NS, "src", UID1, DRIVER, "fast"), *meta;

	json_object_set_new(json_object_get(clone, "spec"), "dataSource",
			    json_pack("{s:s, s:s}", "kind", "PersistentVolumeClaim", "name",
				      "gone-source"));
	fcl_put(fx->env.k, FCL_PVC, clone);
	json_decref(clone);
	/*
	 * Being deleted from its first event: a put then a delete would leave
	 * an ADDED without deletionTimestamp in the fake's history, which a
	 * watch from an older resourceVersion replays; a provisioner seeing
	 * that one alone rightly provisions the claim (1 run in ~30 did).
	 */
	meta = json_object_get(src, "metadata");
	json_object_set_new(meta, "finalizers", json_pack("[s]", FINALIZER_CLONE_SOURCE));
	json_object_set_new(meta, "deletionTimestamp", json_string("2026-01-01T00:00:00Z"));
	fcl_put(fx->env.k, FCL_PVC, src);
	json_decref(src);
	fcl_hold(fx->env.k, FCL_PV, true);
	start_async(fx, true);
	WAIT(deferred_or_called, fx, NS "/clone", 0);
	WAIT(deferred_or_called, fx, NS "/src", 0);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 0);
	assert_true(has_clone_finalizer(fx, "src"));
	finish_start(fx);
	WAIT(clone_finalizer_gone, fx, "src", 0);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 0);
}


static void gate_hook(void *ctx, const char *method, const uint8_t *req, size_t n)
{
	struct gate *g = ctx;

	(void)req;
	(void)n;
	if (strcmp(method, CREATE))
		return;
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static bool gate_entered(void *ctx)
{
	struct gate *g = ((struct ctl_want *)ctx)->extra;
	bool in;

	pthread_mutex_lock(&g->mu);
	in = g->entered;
	pthread_mutex_unlock(&g->mu);
	return in;
}

/*
 * The race of a worker whose sync began before the caches were synced and
 * that defers its key after they were (its lookups may predate the sync):
 * the key is queued again at once, not kept for a sync that has passed.
 * The one claim worker is held in c1's CreateVolume, so the key stays in
 * the queue where the test can take it.
 */
static void test_key_deferred_after_the_sync_is_queued_again(void **state)
{
	struct fx *fx = *state;
	bool kept, queued = false;

	pthread_mutex_lock(&gate.mu);
	gate.entered = gate.open = false;	/* every teardown opens it */
	pthread_mutex_unlock(&gate.mu);
	fake_driver_set_hook(fx->env.d, gate_hook, &gate);
	put_claim(fx, "c1", UID1);
	start_async(fx, true);
	finish_start(fx);
	CTL_WAIT(&fx->env, gate_entered, NULL, 0, &gate);
	assert_true(ctl_early_defer(fx->c, NS "/late", NULL));	/* an absent claim */
	pthread_mutex_lock(&fx->c->early_mu);
	kept = hmap_has(&fx->c->early_deferred, NS "/late");
	pthread_mutex_unlock(&fx->c->early_mu);
	assert_false(kept);
	/* the worker is held: what is queued stays there; take it to look */
	while (wq_len(fx->c->claim_q) > 0) {
		char *key;

		assert_int_equal(wq_get(fx->c->claim_q, &key), 0);
		queued |= !strcmp(key, NS "/late");
		wq_done(fx->c->claim_q, key);
		free(key);
	}
	assert_true(queued);
	gate_open();
	WAIT(ctl_pv_exists, fx, VOL1, 0);
	stop_controller(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_provisions_before_pvs_are_listed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_intent_waits_for_its_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlisted_pv_is_found_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_and_source_wait_for_complete_caches,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_deferred_after_the_sync_is_queued_again,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
