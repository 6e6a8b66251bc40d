// SPDX-License-Identifier: Apache-2.0
/*
 * test_claim_sync.c - the claim state machine (src/provision/claim_sync.c)
 * driven through the whole controller against an in-process fake API server
 * (fake_cluster.c) and the scripted fake CSI driver (tests/unit/csi): the
 * intent is durable before CreateVolume, only proof removes it, a retry
 * repeats the recorded request, names come from the claim UID only, and
 * --volume-accounting=false writes no journal at all.
 *
 * Waits are conditions with deadlines (fcl_wait_for). Whether an intent was
 * removed or kept is checked after the controller stopped: a stop lets the
 * sync under way finish and writes every queued removal (alone, removals
 * wait 10 s to ride along with adds).
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

#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "ctl_env.h"
#include "kube/client.h"
#include "provision/controller.h"
#include "provision/plan.h"

#define DRIVER "test.csi.dev"
#define NS "default"
#define JOURNAL_NS "csi-system"
#define CREATE CTL_CREATE
#define DELETE CTL_DELETE
#define UID1 "0b5e7a1c-1111-4000-8000-000000000001"
#define VOL1 "pvc-" UID1
#define WAIT_MS 15000

struct fx {
	struct ctl_env env;
	struct controller *c;

	pthread_mutex_t mu;		/* guards what the driver hook writes */
	int creates;			/* CreateVolume calls the hook saw */
	int creates_unrecorded;		/* of them, without the intent in the journal */
	bool foreign_pv_on_create;	/* the hook puts a PV not ours under the name */
};

static uint64_t varint(const uint8_t *p, size_t n, size_t *i)
{
	uint64_t v = 0;

	for (int shift = 0; *i < n && shift < 64; shift += 7) {
		uint8_t b = p[(*i)++];

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* Field 1 (a string) of a protobuf message: the name of CreateVolume, the id of DeleteVolume. */
static char *field1(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t tag = varint(p, n, &i), len;

		if ((tag & 7) != 2)
			return NULL;	/* the requests we look at start with strings */
		len = varint(p, n, &i);
		if (len > n - i)
			return NULL;
		if (tag >> 3 == 1)
			return xstrndup((const char *)p + i, (size_t)len);
		i += (size_t)len;
	}
	return NULL;
}

/* Whether some journal Lease records an intent for `volume` (a short key). */
static bool journal_has(struct fcl *k, const char *volume)
{
	json_t *all = fcl_all(k, FCL_LEASE), *l;
	char *name = xasprintf("intent.csi-provisioner.dev/%s", volume);
	size_t i;
	bool has = false;

	json_array_foreach(all, i, l)
		has |= json_object_get(json_object_get(json_object_get(l, "metadata"),
						       "annotations"), name) != NULL;
	json_decref(all);
	free(name);
	return has;
}

static void hook(void *ctx, const char *method, const uint8_t *req, size_t n)
{
	struct fx *fx = ctx;
	char *name;
	bool recorded, foreign;

	if (strcmp(method, CREATE))
		return;
	name = field1(req, n);
	recorded = name && journal_has(fx->env.k, name);
	pthread_mutex_lock(&fx->mu);
	fx->creates++;
	fx->creates_unrecorded += !recorded;
	foreign = fx->foreign_pv_on_create;
	fx->foreign_pv_on_create = false;
	pthread_mutex_unlock(&fx->mu);
	if (foreign && name) {
		json_t *pv = json_pack("{s:s, s:{s:s}, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}}",
				       "apiVersion", "v1", "metadata", "name", name, "spec", "csi",
				       "driver", "other.csi.dev", "volumeHandle", "theirs",
				       "claimRef", "namespace", "other", "name", "theirs", "uid",
				       "99999999-0000-4000-8000-000000000009");

		fcl_put(fx->env.k, FCL_PV, pv);
		json_decref(pv);
	}
	free(name);
}

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	pthread_mutex_init(&fx->mu, NULL);
	ctl_env_start(&fx->env);
	fake_driver_set_hook(fx->env.d, hook, fx);
	ctl_env_put_class(&fx->env, "fast", DRIVER, "Immediate");
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
 * Start the controller: retries from `retry_ms` up to `slow_ms`, which
 * infeasible ones wait; with `topology`, the driver has the capability and
 * --immediate-topology is on.
 */
static void start_with(struct fx *fx, bool accounting, int64_t retry_ms, int64_t slow_ms,
		       bool topology)
{
	struct controller_opts o = {
		.plan = { .provisioner = DRIVER, .driver = DRIVER, .identity = "test-identity",
			  .prefix = "pvc", .uuid_length = -1 },
		.workers = 2, .retry_start_ms = retry_ms, .retry_max_ms = slow_ms,
		.resync_ms = 0, .component = NULL,	/* upstream's: <driver>_<host>_<uuid> */
		.volume_accounting = accounting, .journal_namespace = JOURNAL_NS,
		.journal_holder = "holder-a", .topology = topology, .immediate_topology = topology,
	};
	struct err e = ERR_INIT;

	fx->c = controller_new(fx->env.kc, fx->env.cc, &o);
	if (controller_start(fx->c, &e))
		fail_msg("controller_start: %s", err_msg(&e));
}

static void start(struct fx *fx, bool accounting, int64_t retry_ms, int64_t slow_ms)
{
	start_with(fx, accounting, retry_ms, slow_ms, false);
}

static void put_claim(struct fx *fx, const char *name, const char *uid, const char *volume_ann)
{
	json_t *pvc = ctl_env_claim(NS, name, uid, DRIVER, "fast");

	if (volume_ann)
		json_object_set_new(json_object_get(json_object_get(pvc, "metadata"),
						    "annotations"), ANN_CLAIM_VOLUME,
				    json_string(volume_ann));
	fcl_put(fx->env.k, FCL_PVC, pvc);
	json_decref(pvc);
}

/* An event on `object` with `reason` and a message containing `message`. */
struct want_event {
	const char *object, *reason, *message;
	const char *component_prefix;	/* source.component starts with it; NULL: any */
};

/* Conditions for fcl_wait_for. */
struct want {
	struct fx *fx;
	const char *name;
	int n;
	const struct want_event *ev;	/* for event_seen */
};

static bool pv_exists(void *ctx)
{
	struct want *w = ctx;
	json_t *pv = fcl_get(w->fx->env.k, FCL_PV, NULL, w->name);

	json_decref(pv);
	return pv != NULL;
}

static bool intent_recorded(void *ctx)
{
	struct want *w = ctx;

	return journal_has(w->fx->env.k, w->name);
}

static bool creates_at_least(void *ctx)
{
	struct want *w = ctx;

	return fake_driver_count(w->fx->env.d, CREATE) >= w->n;
}

static bool deletes_at_least(void *ctx)
{
	struct want *w = ctx;

	return fake_driver_count(w->fx->env.d, DELETE) >= w->n;
}

static bool pv_gets_at_least(void *ctx)
{
	struct want *w = ctx;

	return fcl_count(w->fx->env.k, FCL_PV, FCL_GET) >= (size_t)w->n;
}

/* A ProvisioningFailed event whose message contains w->name. */
static bool failure_event_seen(void *ctx)
{
	struct want *w = ctx;
	json_t *all = fcl_all(w->fx->env.k, FCL_EVENT), *ev;
	size_t i;
	bool seen = false;

	json_array_foreach(all, i, ev) {
		const char *r = json_string_value(json_object_get(ev, "reason"));
		const char *m = json_string_value(json_object_get(ev, "message"));

		seen |= r && m && !strcmp(r, "ProvisioningFailed") && strstr(m, w->name);
	}
	json_decref(all);
	return seen;
}

#define WAIT(cond, fx_, name_, n_) \
	do { \
		struct want w_ = { .fx = (fx_), .name = (name_), .n = (n_) }; \
		if (!fcl_wait_for((fx_)->env.k, cond, &w_, WAIT_MS)) \
			fail_msg("timed out waiting for %s (%s, %d)", #cond, (name_) ? (name_) : "", \
				 (n_)); \
	} while (0)

/* Every CreateVolume sent carried the same bytes as the first, named `name`. */
static void assert_creates_identical(struct fx *fx, const char *name)
{
	int n = fake_driver_count(fx->env.d, CREATE);
	uint8_t *first, *other;
	size_t len = fake_driver_request(fx->env.d, CREATE, 0, &first);
	char *got = field1(first, len);

	assert_true(n >= 1);
	assert_non_null(got);
	assert_string_equal(got, name);
	for (int i = 1; i < n; i++) {
		size_t l = fake_driver_request(fx->env.d, CREATE, i, &other);

		assert_int_equal(l, len);
		assert_memory_equal(other, first, len);
		free(other);
	}
	free(got);
	free(first);
}

static int creates_unrecorded(struct fx *fx)
{
	int n;

	pthread_mutex_lock(&fx->mu);
	n = fx->creates_unrecorded;
	pthread_mutex_unlock(&fx->mu);
	return n;
}

/* Provisionable: intent durable before CreateVolume, PV created, intent removed after. */
static void test_provision_records_intent_first(void **state)
{
	struct fx *fx = *state;
	json_t *pv;

	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(pv_exists, fx, VOL1, 0);
	stop_controller(fx);
	assert_false(journal_has(fx->env.k, VOL1));
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
	assert_int_equal(creates_unrecorded(fx), 0);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	pv = fcl_get(fx->env.k, FCL_PV, NULL, VOL1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		pv, "spec"), "csi"), "volumeHandle")), "vol-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		pv, "spec"), "claimRef"), "uid")), UID1);
	json_decref(pv);
	assert_creates_identical(fx, VOL1);
}

/*
 * CreateVolume of a live claim answered `code` at least `n` times: once the
 * controller stopped (which writes queued removals) the intent is still
 * there, every attempt sent the recorded request, and nothing else happened.
 */
static void kept_after_failures(struct fx *fx, int code, int n)
{
	fake_driver_script_method(fx->env.d, CREATE, code, "in doubt", NULL, 0);
	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(creates_at_least, fx, NULL, n);
	stop_controller(fx);
	assert_true(journal_has(fx->env.k, VOL1));
	assert_int_equal(creates_unrecorded(fx), 0);
	assert_creates_identical(fx, VOL1);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	assert_int_equal(fcl_count(fx->env.k, FCL_PV, FCL_POST), 0);
}

/*
 * DeadlineExceeded proves nothing: the intent stays (a stop writes every
 * queued removal, so it is checked after one), and the next controller
 * repeats the very request recorded.
 */
static void test_deadline_keeps_intent_and_repeats_request(void **state)
{
	struct fx *fx = *state;

	kept_after_failures(fx, CSI_DEADLINE_EXCEEDED, 3);
	ctl_env_script_create_ok(&fx->env);
	start(fx, true, 20, 1000);
	WAIT(pv_exists, fx, VOL1, 0);
	stop_controller(fx);
	assert_false(journal_has(fx->env.k, VOL1));
	assert_creates_identical(fx, VOL1);
	assert_int_equal(creates_unrecorded(fx), 0);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
}

/* InvalidArgument to the recorded request is proof that nothing was created. */
static void test_invalid_argument_removes_intent(void **state)
{
	struct fx *fx = *state;

	fake_driver_script_method(fx->env.d, CREATE, CSI_INVALID_ARGUMENT, "bad size", NULL, 0);
	start(fx, true, 60000, 60000);	/* one attempt within the test */
	put_claim(fx, "c1", UID1, NULL);
	WAIT(creates_at_least, fx, NULL, 1);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
	assert_int_equal(creates_unrecorded(fx), 0);
	assert_false(journal_has(fx->env.k, VOL1));
	assert_int_equal(fcl_count(fx->env.k, FCL_PV, FCL_POST), 0);
}

/*
 * A claim in doubt is deleted: once the settle path runs (it reads the PV,
 * which provisioning never does first), the recorded request is repeated,
 * and the volume it yields is deleted before the intent goes.
 */
static void delete_claim_in_doubt(struct fx *fx)
{
	fake_driver_script_method(fx->env.d, CREATE, CSI_DEADLINE_EXCEEDED, "slow", NULL, 0);
	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(creates_at_least, fx, NULL, 1);
	WAIT(intent_recorded, fx, VOL1, 0);
	assert_true(fcl_delete(fx->env.k, FCL_PVC, NS, "c1"));
	WAIT(pv_gets_at_least, fx, NULL, 1);
}

/*
 * The settle path repeated the recorded request, deleted the volume it
 * yielded (vol-1) once, created no PV, and removed the intent.
 */
static void assert_settled_by_delete(struct fx *fx)
{
	uint8_t *req;
	size_t n;
	char *id;

	WAIT(deletes_at_least, fx, NULL, 1);
	stop_controller(fx);
	n = fake_driver_request(fx->env.d, DELETE, 0, &req);
	id = field1(req, n);
	assert_non_null(id);
	assert_string_equal(id, "vol-1");
	free(id);
	free(req);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 1);
	assert_creates_identical(fx, VOL1);
	assert_int_equal(fcl_count(fx->env.k, FCL_PV, FCL_POST), 0);
	assert_false(journal_has(fx->env.k, VOL1));
}

static void test_deleted_claim_settles_with_create_then_delete(void **state)
{
	struct fx *fx = *state;

	delete_claim_in_doubt(fx);
	ctl_env_script_create_ok(&fx->env);
	assert_settled_by_delete(fx);
}

/*
 * The journal outlives the process: an intent recorded by a controller that
 * stopped is read by the next one at start, and with its claim deleted
 * meanwhile it is settled with the recorded request, then DeleteVolume.
 */
static void test_restart_settles_intent_of_deleted_claim(void **state)
{
	struct fx *fx = *state;

	fake_driver_script_method(fx->env.d, CREATE, CSI_DEADLINE_EXCEEDED, "slow", NULL, 0);
	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(creates_at_least, fx, NULL, 1);
	stop_controller(fx);
	assert_true(journal_has(fx->env.k, VOL1));
	assert_true(fcl_delete(fx->env.k, FCL_PVC, NS, "c1"));
	ctl_env_script_create_ok(&fx->env);
	start(fx, true, 20, 1000);
	assert_settled_by_delete(fx);
}

/* AlreadyExists while settling proves nothing: the intent stays. */
static void test_already_exists_while_settling_keeps_intent(void **state)
{
	struct fx *fx = *state;
	int before;

	delete_claim_in_doubt(fx);
	fake_driver_script_method(fx->env.d, CREATE, CSI_ALREADY_EXISTS, "exists", NULL, 0);
	before = fake_driver_count(fx->env.d, CREATE);
	WAIT(creates_at_least, fx, NULL, before + 2);
	stop_controller(fx);
	assert_true(journal_has(fx->env.k, VOL1));
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	assert_creates_identical(fx, VOL1);
	assert_int_equal(fcl_count(fx->env.k, FCL_PV, FCL_POST), 0);
}

/* AlreadyExists to a live claim's request proves nothing either: kept, and retried as it is. */
static void test_already_exists_while_provisioning_keeps_intent(void **state)
{
	struct fx *fx = *state;

	kept_after_failures(fx, CSI_ALREADY_EXISTS, 2);
}

/* A tenant's volume-name annotation does not steer the name; the old mark goes. */
static void test_annotated_name_is_ignored(void **state)
{
	struct fx *fx = *state;
	const char *other = "pvc-0b5e7a1c-2222-4000-8000-000000000002";
	json_t *pvc, *pv;

	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, other);
	WAIT(pv_exists, fx, VOL1, 0);
	stop_controller(fx);
	assert_false(journal_has(fx->env.k, VOL1));
	assert_creates_identical(fx, VOL1);
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	pv = fcl_get(fx->env.k, FCL_PV, NULL, other);
	assert_null(pv);
	assert_false(journal_has(fx->env.k, other));
	pvc = fcl_get(fx->env.k, FCL_PVC, NS, "c1");
	assert_null(json_object_get(json_object_get(json_object_get(pvc, "metadata"),
						    "annotations"), ANN_CLAIM_VOLUME));
	json_decref(pvc);
}

/* A PV of our name that is not ours (409 on create): no volume handed out, intent kept. */
static void test_foreign_pv_keeps_intent(void **state)
{
	struct fx *fx = *state;
	json_t *pv;

	pthread_mutex_lock(&fx->mu);
	fx->foreign_pv_on_create = true;
	pthread_mutex_unlock(&fx->mu);
	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(failure_event_seen, fx, "is not the one of this claim", 0);
	stop_controller(fx);
	assert_true(fcl_count(fx->env.k, FCL_PV, FCL_POST) >= 1);
	assert_true(journal_has(fx->env.k, VOL1));
	assert_int_equal(fake_driver_count(fx->env.d, DELETE), 0);
	assert_int_equal(fcl_count(fx->env.k, FCL_PV, FCL_DELETE), 0);
	pv = fcl_get(fx->env.k, FCL_PV, NULL, VOL1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		pv, "spec"), "csi"), "volumeHandle")), "theirs");
	json_decref(pv);
}

/* --volume-accounting=false: upstream's behaviour, no journal writes at all. */
static void test_no_accounting_writes_no_journal(void **state)
{
	static const enum fcl_res journal_kinds[] = { FCL_LEASE, FCL_CM };	/* now, before */
	struct fx *fx = *state;

	start(fx, false, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(pv_exists, fx, VOL1, 0);
	stop_controller(fx);
	assert_int_equal(fake_driver_count(fx->env.d, CREATE), 1);
	for (size_t i = 0; i < sizeof(journal_kinds) / sizeof(journal_kinds[0]); i++) {
		enum fcl_res r = journal_kinds[i];

		assert_int_equal(fcl_count(fx->env.k, r, FCL_POST), 0);
		assert_int_equal(fcl_count(fx->env.k, r, FCL_PUT), 0);
		assert_int_equal(fcl_count(fx->env.k, r, FCL_PATCH), 0);
		assert_int_equal(fcl_count(fx->env.k, r, FCL_LIST), 0);
	}
}


static bool event_seen(void *ctx)
{
	const struct want_event *w = ((struct want *)ctx)->ev;
	json_t *all = fcl_all(((struct want *)ctx)->fx->env.k, FCL_EVENT), *ev;
	size_t i;
	bool seen = false;

	json_array_foreach(all, i, ev) {
		const char *o = json_string_value(json_object_get(json_object_get(ev,
							"involvedObject"), "name"));
		const char *r = json_string_value(json_object_get(ev, "reason"));
		const char *m = json_string_value(json_object_get(ev, "message"));
		const char *c = json_string_value(json_object_get(json_object_get(ev, "source"),
								  "component"));

		seen |= o && r && m && c && !strcmp(o, w->object) && !strcmp(r, w->reason) &&
			strstr(m, w->message) &&
			(!w->component_prefix ||
			 !strncmp(c, w->component_prefix, strlen(w->component_prefix)));
	}
	json_decref(all);
	return seen;
}

static void wait_event(struct fx *fx, const struct want_event *we)
{
	struct want w = { .fx = fx, .ev = we };

	if (!fcl_wait_for(fx->env.k, event_seen, &w, WAIT_MS))
		fail_msg("no %s event on %s with \"%s\"", we->reason, we->object, we->message);
}

/*
 * Upstream's events: "Provisioning" before the driver is asked, from the
 * source upstream's controller library names, "<driver>_<host>_<uuid>".
 */
static void test_provisioning_event_from_upstream_source(void **state)
{
	struct fx *fx = *state;
	struct want_event we = { "c1", "Provisioning",
				 "External provisioner is provisioning volume for claim \"" NS "/c1\"",
				 DRIVER "_" };
	json_t *all, *ev;
	size_t i;

	start(fx, true, 20, 1000);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(pv_exists, fx, VOL1, 0);
	wait_event(fx, &we);
	stop_controller(fx);
	all = fcl_all(fx->env.k, FCL_EVENT);
	json_array_foreach(all, i, ev) {
		const char *c = json_string_value(json_object_get(json_object_get(ev, "source"),
								  "component"));
		const char *uuid = c ? strrchr(c, '_') : NULL;

		/* driver, host, then a version 4 UUID */
		if (!uuid || strlen(uuid) != 37 || uuid[15] != '4' || uuid <= c + strlen(DRIVER))
			fail_msg("event source \"%s\" is not <driver>_<host>_<uuid>", c ? c : "");
	}
	json_decref(all);
}

/*
 * A Released volume whose class names a provisioner Secret that is gone:
 * DeleteVolume goes without secrets (as upstream), with a Warning event.
 */
static void test_delete_without_gone_class_secret(void **state)
{
	struct fx *fx = *state;
	struct want_event we = { "pvc-gone-secret", "DeletingWithoutSecret",
				 "provisioner secret " NS "/gone is gone", NULL };
	json_t *sc = json_pack("{s:s, s:{s:s}, s:s, s:s, s:{s:s, s:s}}",
			       "apiVersion", "storage.k8s.io/v1", "metadata", "name", "secretive",
			       "provisioner", DRIVER, "reclaimPolicy", "Delete", "parameters",
			       "csi.storage.k8s.io/provisioner-secret-name", "gone",
			       "csi.storage.k8s.io/provisioner-secret-namespace", NS);
	json_t *pv = json_pack("{s:s, s:{s:s, s:{s:s}}, s:{s:{s:s, s:s}, s:s, s:s, "
			       "s:{s:s, s:s, s:s}}, s:{s:s}}",
			       "apiVersion", "v1", "metadata", "name", "pvc-gone-secret",
			       "annotations", ANN_PROVISIONED_BY, DRIVER,
			       "spec", "csi", "driver", DRIVER, "volumeHandle", "vol-gone",
			       "persistentVolumeReclaimPolicy", "Delete", "storageClassName",
			       "secretive", "claimRef", "namespace", NS, "name", "was",
			       "uid", "0b5e7a1c-2222-4000-8000-000000000002",
			       "status", "phase", "Released");

	fcl_put(fx->env.k, FCL_SC, sc);
	json_decref(sc);
	start(fx, true, 20, 1000);
	fcl_put(fx->env.k, FCL_PV, pv);
	json_decref(pv);
	WAIT(deletes_at_least, fx, NULL, 1);
	wait_event(fx, &we);
	stop_controller(fx);
	pv = fcl_get(fx->env.k, FCL_PV, NULL, "pvc-gone-secret");
	assert_null(pv);
}


#define ZONE "topology.kubernetes.io/zone"

/* Node `name` in `zone`, with the CSINode that gives our driver the zone key. */
static void put_node(struct fx *fx, const char *name, const char *zone)
{
	json_t *node = json_pack("{s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "metadata",
				 "name", name, "labels", ZONE, zone);
	json_t *csinode = json_pack("{s:s, s:{s:s}, s:{s:[{s:s, s:s, s:[s]}]}}",
				    "apiVersion", "storage.k8s.io/v1", "metadata", "name", name,
				    "spec", "drivers", "name", DRIVER, "nodeID", name,
				    "topologyKeys", ZONE);

	fcl_put(fx->env.k, FCL_NODE, node);
	fcl_put(fx->env.k, FCL_CSINODE, csinode);
	json_decref(node);
	json_decref(csinode);
}

/*
 * How many CreateVolume calls for `volume`, whether one mentions zone-b,
 * and whether all carried the same bytes.
 */
static int creates_of(struct fx *fx, const char *volume, bool *zone_b, bool *same)
{
	int n = fake_driver_count(fx->env.d, CREATE), mine = 0;
	uint8_t *first = NULL;
	size_t first_len = 0;

	*zone_b = false;
	*same = true;
	for (int i = 0; i < n; i++) {
		uint8_t *req;
		size_t len = fake_driver_request(fx->env.d, CREATE, i, &req);
		char *name = field1(req, len);

		if (name && !strcmp(name, volume)) {
			mine++;
			*zone_b |= memmem(req, len, "zone-b", 6) != NULL;
			if (!first) {
				first = req;
				first_len = len;
				req = NULL;
			} else {
				*same &= len == first_len && !memcmp(req, first, len);
			}
		}
		free(name);
		free(req);
	}
	free(first);
	return mine;
}

static bool creates_of_at_least(void *ctx)
{
	struct want *w = ctx;
	bool b, same;

	return creates_of(w->fx, w->name, &b, &same) >= w->n;
}

static bool create_sees_zone_b(void *ctx)
{
	struct want *w = ctx;
	bool b, same;

	creates_of(w->fx, w->name, &b, &same);
	return b;
}

/*
 * Upstream's per-claim topology cache (its fix for retries in another
 * zone), here without the journal that pins requests anyway: a zone that
 * appears while a claim's CreateVolume is retried does not change what the
 * retries ask for, though a new claim sees it.
 */
static void test_retry_keeps_topology_choice(void **state)
{
	struct fx *fx = *state;
	int before;
	bool b, same;

	put_node(fx, "n1", "zone-a");
	fake_driver_script_method(fx->env.d, CREATE, CSI_UNAVAILABLE, "busy", NULL, 0);
	start_with(fx, false, 50, 200, true);
	put_claim(fx, "c1", UID1, NULL);
	WAIT(creates_of_at_least, fx, VOL1, 1);
	put_node(fx, "n2", "zone-b");
	/*
	 * The informers know zone-b once a new claim's first attempt asks for
	 * it: new claims until one does (each keeps its own first choice).
	 */
	for (int i = 0;; i++) {
		char name[16], uid[64], vol[80];
		struct want w = { .fx = fx, .name = vol, .n = 1 };

		if (i == 100)
			fail_msg("no new claim saw zone-b");
		snprintf(name, sizeof(name), "new%d", i);
		snprintf(uid, sizeof(uid), "0b5e7a1c-3333-4000-8000-%012d", i);
		snprintf(vol, sizeof(vol), "pvc-%s", uid);
		put_claim(fx, name, uid, NULL);
		if (!fcl_wait_for(fx->env.k, creates_of_at_least, &w, WAIT_MS))
			fail_msg("no CreateVolume for claim %s", name);
		if (create_sees_zone_b(&w))
			break;
	}
	before = creates_of(fx, VOL1, &b, &same);
	WAIT(creates_of_at_least, fx, VOL1, before + 2);
	stop_controller(fx);
	creates_of(fx, VOL1, &b, &same);
	if (b || !same)
		fail_msg("a retry of c1 asked for zone-b, which appeared after its first attempt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_provision_records_intent_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deadline_keeps_intent_and_repeats_request,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_argument_removes_intent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deleted_claim_settles_with_create_then_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_settles_intent_of_deleted_claim,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_already_exists_while_settling_keeps_intent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_already_exists_while_provisioning_keeps_intent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_annotated_name_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_pv_keeps_intent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_accounting_writes_no_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_provisioning_event_from_upstream_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_without_gone_class_secret, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry_keeps_topology_choice, setup, teardown),
	};

	if (getenv("TEST_FILTER"))	/* run one test: TEST_FILTER=test_name */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	if (getenv("TEST_VERBOSITY"))
		log_set_level((int)strtol(getenv("TEST_VERBOSITY"), NULL, 10));
	return cmocka_run_group_tests_name("claim_sync", tests, NULL, NULL);
}
