// SPDX-License-Identifier: Apache-2.0
/*
 * test_node_claim.c - --node-deployment through the whole controller
 * (src/provision/node_claim.c and its hooks in claim_sync.c and
 * controller.c) against the in-process fake API server and the scripted
 * fake CSI driver: only claims selected for this node are provisioned; a
 * claim with Immediate binding is taken with a selected-node patch fenced by
 * its resourceVersion, again after a conflict, and not without room; only
 * this node's PVs are deleted.
 *
 * One worker per queue, so keys are handled in the order they were queued:
 * a claim or PV queued before the one waited for has been judged when the
 * controller is stopped (a stop lets the sync under way finish).
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
#include "csi/client.h"
#include "ctl_env.h"
#include "kube/client.h"
#include "provision/controller.h"
#include "provision/plan.h"

#define DRIVER "test.csi.dev"
#define NS "default"
#define NODE "n1"
#define KEY "topology.test.csi.dev/node"
#define CREATE CTL_CREATE
#define DELETE CTL_DELETE
#define CAPACITY "/csi.v1.Controller/GetCapacity"
#define UID_MINE "0b5e7a1c-5555-4000-8000-000000000001"
#define UID_OTHER "0b5e7a1c-5555-4000-8000-000000000002"
#define WAIT_MS 15000

struct fx {
	struct ctl_env env;
	struct controller *c;
	struct strmap_entry seg;
	struct csi_node_info info;
	pthread_mutex_t mu;
	int touch_on_capacity;	/* GetCapacity calls that change the claim "imm" first */
};

/* Another writer changes claim `name` (a label): its resourceVersion moves on. */
static void touch_claim(struct fcl *k, const char *name)
{
	json_t *c = fcl_get(k, FCL_PVC, NS, name);

	if (!c)
		return;
	json_object_set_new(json_object_get(c, "metadata"), "labels",
			    json_pack("{s:s}", "touched", "yes"));
	fcl_put(k, FCL_PVC, c);
	json_decref(c);
}

static void hook(void *ctx, const char *method, const uint8_t *req, size_t n)
{
	struct fx *fx = ctx;
	bool touch;

	(void)req;
	(void)n;
	if (strcmp(method, CAPACITY))
		return;
	pthread_mutex_lock(&fx->mu);
	touch = fx->touch_on_capacity > 0;
	fx->touch_on_capacity -= touch;
	pthread_mutex_unlock(&fx->mu);
	if (touch)
		touch_claim(fx->env.k, "imm");
}

/* GetCapacityResponse{available_capacity: 2 GiB}. */
static const uint8_t room[] = { 0x08, 0x80, 0x80, 0x80, 0x80, 0x08 };

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	pthread_mutex_init(&fx->mu, NULL);
	ctl_env_start(&fx->env);
	fake_driver_script_method(fx->env.d, CAPACITY, 0, NULL, room, sizeof(room));
	fake_driver_set_hook(fx->env.d, hook, fx);
	ctl_env_put_class(&fx->env, "imm", DRIVER, "Immediate");
	ctl_env_put_class(&fx->env, "wffc", DRIVER, "WaitForFirstConsumer");
	fx->seg = (struct strmap_entry){ KEY, NODE };
	fx->info = (struct csi_node_info){ NODE, 0, true, { &fx->seg, 1, 0 } };
	*state = fx;
	return 0;
}

static void stop_controller(struct fx *fx)
{
	controller_free(fx->c);
	fx->c = NULL;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	stop_controller(fx);
	ctl_env_stop(&fx->env);
	pthread_mutex_destroy(&fx->mu);
	free(fx);
	return 0;
}

/*
 * The controller of node n1's instance, with topology and no journal;
 * --immediate-topology as `immediate_topology`.
 */
static void start_nd_with(struct fx *fx, bool immediate_binding, bool immediate_topology)
{
	struct controller_opts o = {
		.plan = { .provisioner = DRIVER, .driver = DRIVER, .identity = "test-identity-n1",
			  .prefix = "pvc", .uuid_length = -1 },
		.workers = 1, .retry_start_ms = 20, .retry_max_ms = 200, .resync_ms = 0,
		.topology = true, .immediate_topology = immediate_topology,
		.node_name = NODE, .node_info = &fx->info,
		.node_immediate_binding = immediate_binding,
		.node_base_delay_ms = 20, .node_max_delay_ms = 100,
	};
	struct err e = ERR_INIT;

	fx->c = controller_new(fx->env.kc, fx->env.cc, &o);
	if (controller_start(fx->c, &e))
		fail_msg("controller_start: %s", err_msg(&e));
}

static void start_nd(struct fx *fx, bool immediate_binding)
{
	start_nd_with(fx, immediate_binding, true);
}

/* A claim of class `class`, selected for `node` (NULL: none). */
static void put_claim(struct fx *fx, const char *name, const char *uid, const char *class,
		      const char *node)
{
	json_t *pvc = ctl_env_claim(NS, name, uid, DRIVER, class);

	if (node)
		json_object_set_new(json_object_get(json_object_get(pvc, "metadata"),
						    "annotations"), ANN_SELECTED_NODE,
				    json_string(node));
	fcl_put(fx->env.k, FCL_PVC, pvc);
	json_decref(pvc);
}

/* The selected node of claim `name` ("" when none, NULL when the claim is gone); caller frees. */
static char *selected_of(struct fx *fx, const char *name)
{
	json_t *c = fcl_get(fx->env.k, FCL_PVC, NS, name);
	const char *v;
	char *out;

	if (!c)
		return NULL;
	v = json_string_value(json_object_get(json_object_get(json_object_get(c, "metadata"),
							       "annotations"), ANN_SELECTED_NODE));
	out = xstrdup(v ? v : "");
	json_decref(c);
	return out;
}

/* Claim `name`'s selected node is `want` ("" for none). */
static void assert_selected(struct fx *fx, const char *name, const char *want)
{
	char *sel = selected_of(fx, name);

	assert_non_null(sel);
	assert_string_equal(sel, want);
	free(sel);
}

struct want {
	struct fx *fx;
	const char *name;
	int n;
};

static bool pv_exists(void *ctx)
{
	struct want *w = ctx;
	json_t *pv = fcl_get(w->fx->env.k, FCL_PV, NULL, w->name);

	json_decref(pv);
	return pv != NULL;
}

static bool calls_at_least(void *ctx)
{
	struct want *w = ctx;

	return fake_driver_count(w->fx->env.d, w->name) >= w->n;
}

#define WAIT(cond, fx_, name_, n_) \
	do { \
		struct want w_ = { .fx = (fx_), .name = (name_), .n = (n_) }; \
		if (!fcl_wait_for((fx_)->env.k, cond, &w_, WAIT_MS)) \
			fail_msg("timed out waiting for %s (%s, %d)", #cond, (name_) ? (name_) : "", \
				 (n_)); \
	} while (0)

/* Whether the i-th request of `method` contains `s`. */
static bool request_has(struct fx *fx, const char *method, int i, const char *s)
{
	uint8_t *req;
	size_t n = fake_driver_request(fx->env.d, method, i, &req);
	bool has = n && memmem(req, n, s, strlen(s)) != NULL;

	free(req);
	return has;
}

static bool has_event_on(struct fx *fx, const char *object)
{
	json_t *all = fcl_all(fx->env.k, FCL_EVENT), *ev;
	size_t i;
	bool has = false;

	json_array_foreach(all, i, ev) {
		const char *n = json_string_value(json_object_get(json_object_get(ev,
							"involvedObject"), "name"));

		has |= n && !strcmp(n, object);
	}
	json_decref(all);
	return has;
}

static void test_only_claims_selected_for_this_node(void **state)
{
	struct fx *fx = *state;
	json_t *pv;

	put_claim(fx, "other", UID_OTHER, "wffc", "n2");
	put_claim(fx, "mine", UID_MINE, "wffc", NODE);
	start_nd(fx, true);
	WAIT(pv_exists, fx, "pvc-" UID_MINE, 1);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
	assert_true(request_has(fx, CREATE, 0, "pvc-" UID_MINE));
	/* the topology is the node's own, from NodeGetInfo (no Node or CSINode exists) */
	assert_true(request_has(fx, CREATE, 0, KEY));
	pv = fcl_get(fx->env.k, FCL_PV, NULL, "pvc-" UID_OTHER);
	assert_null(pv);
	/* left alone: not rescheduled (the annotation stays), no event, no write */
	assert_selected(fx, "other", "n2");
	assert_int_equal(fcl_count(fx->env.k, FCL_PVC, FCL_PATCH), 0);
	assert_false(has_event_on(fx, "other"));
	assert_int_equal(fcl_count(fx->env.k, FCL_NODE, FCL_LIST), 0);
	assert_int_equal(fcl_count(fx->env.k, FCL_CSINODE, FCL_LIST), 0);
}

static void test_immediate_claim_is_taken(void **state)
{
	struct fx *fx = *state;

	put_claim(fx, "imm", UID_MINE, "imm", NULL);
	start_nd(fx, true);
	WAIT(pv_exists, fx, "pvc-" UID_MINE, 1);
	stop_controller(fx);
	assert_selected(fx, "imm", NODE);
	assert_int_equal(fake_driver_count(fx->env.d, CAPACITY), 1);
	assert_true(request_has(fx, CAPACITY, 0, KEY));	/* asked for this node's segment */
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
}

/*
 * --immediate-topology=false (upstream's advice for node deployment): a
 * claim without a selected node has no topology, yet capacity is asked for
 * this node's segment, as if it were selected (upstream's checkCapacity).
 */
static void test_capacity_asked_for_this_node(void **state)
{
	struct fx *fx = *state;

	put_claim(fx, "imm", UID_MINE, "imm", NULL);
	start_nd_with(fx, true, false);
	WAIT(pv_exists, fx, "pvc-" UID_MINE, 1);
	stop_controller(fx);
	assert_true(request_has(fx, CAPACITY, 0, KEY));
	assert_true(request_has(fx, CREATE, 0, KEY));
}

/* Another writer changes the claim while we check capacity: our patch conflicts, we try again. */
static void test_conflict_waits_and_tries_again(void **state)
{
	struct fx *fx = *state;
	size_t patches;

	fx->touch_on_capacity = 1;
	put_claim(fx, "imm", UID_MINE, "imm", NULL);
	start_nd(fx, true);
	WAIT(pv_exists, fx, "pvc-" UID_MINE, 1);
	stop_controller(fx);
	assert_selected(fx, "imm", NODE);
	/* two attempts (more if our cache lagged behind the change), each asking for capacity */
	assert_true(fake_driver_count(fx->env.d, CAPACITY) >= 2);
	patches = fcl_count(fx->env.k, FCL_PVC, FCL_PATCH);
	assert_true(patches >= 2);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
}

static void test_no_room_no_take(void **state)
{
	struct fx *fx = *state;

	fake_driver_script_method(fx->env.d, CAPACITY, 0, NULL, NULL, 0);	/* available 0 */
	put_claim(fx, "imm", UID_MINE, "imm", NULL);
	start_nd(fx, true);
	WAIT(calls_at_least, fx, CAPACITY, 1);
	stop_controller(fx);
	assert_selected(fx, "imm", "");
	assert_int_equal(fcl_count(fx->env.k, FCL_PVC, FCL_PATCH), 0);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 0);
}

static void test_immediate_binding_off(void **state)
{
	struct fx *fx = *state;

	put_claim(fx, "imm", UID_OTHER, "imm", NULL);
	put_claim(fx, "mine", UID_MINE, "wffc", NODE);
	start_nd(fx, false);
	WAIT(pv_exists, fx, "pvc-" UID_MINE, 1);
	stop_controller(fx);
	assert_selected(fx, "imm", "");
	assert_int_equal(fake_driver_count(fx->env.d, CAPACITY), 0);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
}

/* A Released PV of ours whose affinity names `node`, with volume handle `handle`. */
static void put_released_pv(struct fx *fx, const char *name, const char *handle, const char *node)
{
	json_t *pv = json_pack("{s:s, s:{s:s, s:{s:s}}, s:{s:{s:s, s:s}, s:s, s:s, "
			       "s:{s:s, s:s, s:s}, s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}, s:{s:s}}",
			       "apiVersion", "v1", "metadata", "name", name,
			       "annotations", ANN_PROVISIONED_BY, DRIVER,
			       "spec", "csi", "driver", DRIVER, "volumeHandle", handle,
			       "persistentVolumeReclaimPolicy", "Delete", "storageClassName", "wffc",
			       "claimRef", "namespace", NS, "name", "was", "uid", UID_OTHER,
			       "nodeAffinity", "required", "nodeSelectorTerms", "matchExpressions",
			       "key", KEY, "operator", "In", "values", node,
			       "status", "phase", "Released");

	fcl_put(fx->env.k, FCL_PV, pv);
	json_decref(pv);
}

static void test_deletes_only_this_nodes_volumes(void **state)
{
	struct fx *fx = *state;
	json_t *pv;

	put_released_pv(fx, "pv-other", "vol-of-n2", "n2");
	put_released_pv(fx, "pv-mine", "vol-of-n1", NODE);
	start_nd(fx, true);
	WAIT(calls_at_least, fx, DELETE, 1);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 1);
	assert_true(request_has(fx, DELETE, 0, "vol-of-n1"));
	pv = fcl_get(fx->env.k, FCL_PV, NULL, "pv-other");
	assert_non_null(pv);
	json_decref(pv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_claims_selected_for_this_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_immediate_claim_is_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_asked_for_this_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_waits_and_tries_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_room_no_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immediate_binding_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deletes_only_this_nodes_volumes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
