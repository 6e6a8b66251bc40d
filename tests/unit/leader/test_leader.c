// SPDX-License-Identifier: Apache-2.0
/*
 * test_leader.c - leader election against a one-Lease fake API server:
 * the renew deadline arithmetic (leadership ends by the last successful
 * renewal's start + renew deadline, whatever the server does), the client
 * never stretching a renewal with retries, standing down (hook once, no
 * write, no release), and the write guards. Timings are short (lease 1.5 s,
 * deadline 1 s, retry 100 ms); bounds are checked against the monotonic
 * clock, and waits are polls with deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fake_lease.h"
#include "kube/client.h"
#include "leader/leader.h"
#include "thread_fail.h"

#define NS "kube-system"
#define NAME "hostpath-csi-k8s-io"
#define ME "replica-a"
#define LEASE_MS 1500
#define DEADLINE_MS 1000
#define RETRY_MS 100
/* scheduling slack for a loaded machine (ASan, 2 shared cores) */
#define SLACK_MS 400

struct fixture {
	struct fake_lease *fake;
	struct kube_client *kube;
	struct leader *l;
	atomic_int lost, slowpaths;
	_Atomic int64_t lost_at;
};

static void on_lost(void *ctx)
{
	struct fixture *fx = ctx;

	atomic_store(&fx->lost_at, clock_now_ms());
	atomic_fetch_add(&fx->lost, 1);
}

static void on_slowpath(void *ctx)
{
	struct fixture *fx = ctx;

	atomic_fetch_add(&fx->slowpaths, 1);
}

static struct kube_client *client_for(struct fake_lease *f)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	cfg.server = (char *)fl_url(f);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	struct leader_opts o = { NS, NAME, ME, LEASE_MS, DEADLINE_MS, RETRY_MS,
				 on_lost, on_slowpath, fx, NULL, true };

	fx->fake = fl_start(NS, NAME);
	assert_non_null(fx->fake);
	fx->kube = client_for(fx->fake);
	fx->l = leader_new(fx->kube, &o);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	fl_set_mode(fx->fake, FL_SERVE);
	leader_free(fx->l);
	kube_client_free(fx->kube);
	fl_stop(fx->fake);
	free(fx);
	return 0;
}

/* Poll `cond` every 5 ms until it holds or ms pass; the time it held, or -1. */
#define WAIT_FOR(cond, ms) ({						\
	int64_t until_ = clock_now_ms() + (ms), at_ = -1;		\
	for (;;) {							\
		if (cond) {						\
			at_ = clock_now_ms();				\
			break;						\
		}							\
		if (clock_now_ms() >= until_)				\
			break;						\
		struct timespec ts_ = { 0, 5 * 1000 * 1000 };		\
		nanosleep(&ts_, NULL);					\
	}								\
	at_;								\
})

/*
 * Poll until we no longer lead (the time, or -1 after ms), asserting that
 * every "yes" was asked before `bound`: a clock read before the question
 * makes this exact, however late the polling thread runs.
 */
static int64_t leadership_ends(struct fixture *fx, int64_t bound, int64_t ms)
{
	int64_t until = clock_now_ms() + ms;

	for (;;) {
		int64_t asked = clock_now_ms();
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if (!leader_is_leader(fx->l))
			return asked;
		assert_true(asked < bound);
		if (asked >= until)
			return -1;
		nanosleep(&ts, NULL);
	}
}

/* Take the Lease with a leader whose renew deadline is `deadline` ms. */
static void acquire_within(struct fixture *fx, int64_t deadline)
{
	struct err e = ERR_INIT;
	int64_t start = clock_now_ms();

	assert_int_equal(leader_try_acquire(fx->l, &e), 0);
	assert_true(leader_is_leader(fx->l));
	/* leadership runs from the start of the winning request, never longer */
	assert_true(leader_valid_until_ms(fx->l) <= start + deadline);
	assert_true(leader_valid_until_ms(fx->l) > start + deadline - SLACK_MS);
	err_release(&e);
}

static void acquire(struct fixture *fx)
{
	acquire_within(fx, DEADLINE_MS);
}

static void assert_spec(struct fixture *fx, const char *field, const char *want)
{
	char *v = fl_spec(fx->fake, field);

	assert_string_equal(v, want);
	free(v);
}

static void test_acquire_creates_the_lease(void **state)
{
	struct fixture *fx = *state;
	char *acquired;

	acquire(fx);
	assert_true(fl_exists(fx->fake));
	assert_spec(fx, "holderIdentity", ME);
	assert_spec(fx, "leaseTransitions", "0");
	assert_spec(fx, "leaseDurationSeconds", "2");	/* 1.5 s rounded up */
	acquired = fl_spec(fx->fake, "acquireTime");
	assert_true(strlen(acquired) > 20);
	assert_null(leader_write_guard(fx->l));
	free(acquired);
}

static void test_renewal_takes_the_fast_path(void **state)
{
	struct fixture *fx = *state;
	char *acquired;

	acquire(fx);
	acquired = fl_spec(fx->fake, "acquireTime");
	assert_true(fl_wait_count(fx->fake, "PUT", 4, 5000));
	/* one GET before the create; renewals PUT the record they wrote last */
	assert_int_equal(fl_count(fx->fake, "GET"), 1);
	assert_int_equal(atomic_load(&fx->slowpaths), 0);
	assert_true(leader_is_leader(fx->l));
	assert_spec(fx, "acquireTime", acquired);	/* a renewal keeps the term's start */
	assert_spec(fx, "leaseTransitions", "0");
	free(acquired);
}

static void test_conflict_falls_back_to_the_slow_path(void **state)
{
	struct fixture *fx = *state;
	size_t gets;

	acquire(fx);
	gets = fl_count(fx->fake, "GET");
	fl_conflict_puts(fx->fake, 1);
	assert_true(fl_wait_count(fx->fake, "GET", gets + 1, 5000));
	assert_true(WAIT_FOR(atomic_load(&fx->slowpaths) == 1, 2000) >= 0);
	assert_true(leader_is_leader(fx->l));
	assert_int_equal(atomic_load(&fx->lost), 0);
	assert_spec(fx, "holderIdentity", ME);
}

/*
 * A slow server that still answers: leadership goes on, and each renewal
 * counts from when its request started, not from when the answer came
 * (which is 300 ms later here).
 */
static void test_slow_renewal_counts_from_its_start(void **state)
{
	struct fixture *fx = *state;
	/*
	 * a renew deadline a loaded machine meets with the 300 ms delay: with the
	 * fixture's 1 s, an ASan build at load 37 once lost the lease (a renewal
	 * timed out), and the test measured a new acquisition instead
	 */
	const int64_t deadline = 5000;
	struct leader_opts o = { NS, NAME, ME, 7500, deadline, RETRY_MS,
				 on_lost, on_slowpath, fx, NULL, true };
	size_t puts;

	leader_free(fx->l);
	fx->l = leader_new(fx->kube, &o);
	acquire_within(fx, deadline);
	fl_set_delay(fx->fake, 300);
	puts = fl_count(fx->fake, "PUT");
	for (int i = 1; i <= 3; i++) {
		int64_t arrived, before, vu;

		/* a renewal's PUT arrived; its answer comes 300 ms later */
		assert_true(fl_wait_count(fx->fake, "PUT", puts + (size_t)i, 5000));
		arrived = fl_last_put_at(fx->fake);
		before = leader_valid_until_ms(fx->l);
		assert_true(WAIT_FOR(leader_valid_until_ms(fx->l) != before, 2000) >= 0);
		vu = leader_valid_until_ms(fx->l);
		/* from the request's start: before it arrived, not when it was answered */
		assert_true(vu - deadline <= arrived);
		assert_true(vu - deadline > arrived - SLACK_MS);
	}
	assert_true(leader_is_leader(fx->l));
	assert_int_equal(atomic_load(&fx->lost), 0);
}

/*
 * The core of split-brain safety: a server that stops answering (paused,
 * or the path to it frozen) ends leadership by the renew deadline after
 * the last renewal that started before the freeze, with one request in
 * flight at a time and none retried by the client.
 */
static void test_hung_server_ends_leadership_by_the_deadline(void **state)
{
	struct fixture *fx = *state;
	int64_t frozen, not_leader, puts;

	acquire(fx);
	assert_true(fl_wait_count(fx->fake, "PUT", 2, 5000));
	fl_set_mode(fx->fake, FL_HANG);
	frozen = clock_now_ms();
	puts = (int64_t)fl_count(fx->fake, "PUT");
	/* time-based: never a millisecond past the deadline, even with the thread blocked */
	not_leader = leadership_ends(fx, frozen + DEADLINE_MS, DEADLINE_MS + SLACK_MS);
	assert_true(not_leader >= 0);
	assert_true(WAIT_FOR(atomic_load(&fx->lost) == 1, DEADLINE_MS + SLACK_MS) >= 0);
	assert_true(atomic_load(&fx->lost_at) <= frozen + DEADLINE_MS + SLACK_MS);
	assert_true(leader_lost(fx->l));
	assert_int_equal(leader_valid_until_ms(fx->l), 0);
	assert_non_null(leader_write_guard(fx->l));
	/* the in-flight renewal was the only one: no retry stretched it */
	assert_true((int64_t)fl_count(fx->fake, "PUT") <= puts + 1);
	assert_int_equal(atomic_load(&fx->lost), 1);
}

/* main's watchdog ends leadership when the renewal thread is stuck; once only */
static void test_watchdog_expiry_ends_leadership_once(void **state)
{
	struct fixture *fx = *state;

	acquire(fx);
	assert_true(fl_wait_count(fx->fake, "PUT", 2, 5000));
	fl_set_mode(fx->fake, FL_HANG);
	assert_true(WAIT_FOR(leader_lost(fx->l), DEADLINE_MS + SLACK_MS) >= 0);
	leader_expire(fx->l);
	assert_true(WAIT_FOR(atomic_load(&fx->lost) == 1, SLACK_MS) >= 0);
	leader_expire(fx->l);
	assert_int_equal(atomic_load(&fx->lost), 1);
	assert_non_null(leader_write_guard(fx->l));
}

static void test_failing_server_is_not_retried_by_the_client(void **state)
{
	struct fixture *fx = *state;
	int64_t failed;
	size_t before, during;

	acquire(fx);
	before = fl_count(fx->fake, "PUT") + fl_count(fx->fake, "GET");
	fl_set_mode(fx->fake, FL_FAIL);
	failed = clock_now_ms();
	assert_true(WAIT_FOR(atomic_load(&fx->lost) == 1, DEADLINE_MS + SLACK_MS) >= 0);
	assert_true(atomic_load(&fx->lost_at) <= failed + DEADLINE_MS + SLACK_MS);
	during = fl_count(fx->fake, "PUT") + fl_count(fx->fake, "GET") - before;
	/* per attempt one PUT and one GET, one attempt per retry period */
	assert_true(during >= 2);
	assert_true(during <= 2 * (DEADLINE_MS / RETRY_MS + 2));
}

static void test_another_holder_ends_leadership_at_once(void **state)
{
	struct fixture *fx = *state;
	int64_t taken;
	size_t puts;

	acquire(fx);
	fl_take(fx->fake, "replica-b", 15);
	taken = clock_now_ms();
	assert_true(WAIT_FOR(atomic_load(&fx->lost) == 1, DEADLINE_MS) >= 0);
	/* at the next renewal, well before the deadline */
	assert_true(atomic_load(&fx->lost_at) < taken + RETRY_MS + SLACK_MS);
	assert_false(leader_is_leader(fx->l));
	puts = fl_count(fx->fake, "PUT");
	/* standing down: no more writes, not even a release on free */
	assert_true(WAIT_FOR(fl_count(fx->fake, "PUT") != puts, 3 * RETRY_MS) < 0);
	leader_free(fx->l);
	fx->l = NULL;
	assert_int_equal(fl_count(fx->fake, "PUT"), puts);
	assert_spec(fx, "holderIdentity", "replica-b");
	assert_int_equal(atomic_load(&fx->lost), 1);
}

static void test_lost_leader_does_not_release(void **state)
{
	struct fixture *fx = *state;
	size_t puts;

	acquire(fx);
	fl_set_mode(fx->fake, FL_HANG);
	assert_true(WAIT_FOR(atomic_load(&fx->lost) == 1, DEADLINE_MS + SLACK_MS) >= 0);
	fl_set_mode(fx->fake, FL_SERVE);
	puts = fl_count(fx->fake, "PUT");
	leader_free(fx->l);
	fx->l = NULL;
	assert_int_equal(fl_count(fx->fake, "PUT"), puts);
}

static void test_orderly_stop_releases(void **state)
{
	struct fixture *fx = *state;

	acquire(fx);
	leader_free(fx->l);
	fx->l = NULL;
	assert_spec(fx, "holderIdentity", "");
	assert_spec(fx, "leaseDurationSeconds", "1");
	assert_int_equal(atomic_load(&fx->lost), 0);
}

/*
 * A standby takes a live lease only after its holder's own
 * leaseDurationSeconds (1 s here, shorter than our 1.5 s) passed without a
 * change, counted from when we first saw the record; then a new term.
 */
static void test_standby_waits_for_the_holders_duration(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	int64_t first, won = -1;

	fl_take(fx->fake, "replica-b", 1);
	first = clock_now_ms();
	assert_int_equal(leader_try_acquire(fx->l, &e), KUBE_ERR_CONFLICT);
	err_release(&e);
	assert_false(leader_is_leader(fx->l));
	assert_false(leader_lost(fx->l));
	assert_non_null(leader_write_guard(fx->l));
	while (clock_now_ms() < first + 3000) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (leader_try_acquire(fx->l, &e) == 0) {
			won = clock_now_ms();
			break;
		}
		assert_int_equal(err_code(&e), KUBE_ERR_CONFLICT);
		err_release(&e);
		nanosleep(&ts, NULL);
	}
	assert_true(won >= first + 1000);
	assert_true(won < first + LEASE_MS);
	assert_spec(fx, "holderIdentity", ME);
	assert_spec(fx, "leaseTransitions", "1");
	assert_int_equal(atomic_load(&fx->slowpaths), 0);	/* acquiring is not renewing */
}

static void test_released_lease_is_taken_at_once(void **state)
{
	struct fixture *fx = *state;

	fl_take(fx->fake, "", 1);
	acquire(fx);
	assert_spec(fx, "holderIdentity", ME);
}

/* The guard on a writing client: refused writes never reach the server; reads still do. */
static void test_write_guard_keeps_writes_from_the_server(void **state)
{
	struct fixture *fx = *state;
	struct kube_client *writer = client_for(fx->fake);
	struct err e = ERR_INIT;
	json_t *body = json_pack("{s:{s:s}}", "metadata", "resourceVersion", "1");
	json_t *out = NULL;
	size_t puts = fl_count(fx->fake, "PUT");

	kube_client_set_write_guard(writer, leader_write_guard, fx->l);	/* not leading yet */
	assert_int_equal(kube_call(writer, "PUT", "/apis/coordination.k8s.io/v1/namespaces/"
				   NS "/leases/" NAME, body, NULL, NULL, &e), KUBE_ERR_CANCELLED);
	assert_non_null(strstr(err_msg(&e), "not the leader"));
	err_release(&e);
	assert_int_equal(fl_count(fx->fake, "PUT"), puts);
	assert_int_equal(kube_call(writer, "GET", "/apis/coordination.k8s.io/v1/namespaces/"
				   NS "/leases/" NAME, NULL, NULL, &out, &e), KUBE_ERR_NOT_FOUND);
	err_release(&e);
	json_decref(body);
	kube_client_free(writer);
}

static void test_kube_call_ends_by_its_deadline(void **state)
{
	struct fixture *fx = *state;
	struct kube_call_opts co = { .deadline_ms = clock_now_ms() + 300, .no_retry = false };
	const char *path = "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/" NAME;
	struct err e = ERR_INIT;
	json_t *out = NULL;
	int64_t start = clock_now_ms();

	fl_set_mode(fx->fake, FL_HANG);
	assert_int_equal(kube_call(fx->kube, "GET", path, NULL, &co, &out, &e), KUBE_ERR_TIMEOUT);
	err_release(&e);
	assert_true(clock_now_ms() - start < 300 + SLACK_MS);
	assert_int_equal(fl_count(fx->fake, "GET"), 1);	/* no retry after the timeout */
	/* past its deadline: not sent at all */
	co.deadline_ms = clock_now_ms() - 1;
	assert_int_equal(kube_call(fx->kube, "GET", path, NULL, &co, &out, &e), KUBE_ERR_TIMEOUT);
	err_release(&e);
	assert_int_equal(fl_count(fx->fake, "GET"), 1);
}

/* No renewal thread, no leadership: the failure is the caller's to see, and a later try works. */
static void test_renewal_thread_failure_is_not_leading(void **state)
{
	struct fixture *fx = *state;
	/* nothing here is about deadlines: ones a loaded machine always meets */
	struct leader_opts o = { NS, NAME, ME, 30000, 20000, RETRY_MS,
				 on_lost, on_slowpath, fx, NULL, true };
	struct err e = ERR_INIT;

	leader_free(fx->l);
	fx->l = leader_new(fx->kube, &o);
	thread_fail_next();
	assert_int_equal(leader_try_acquire(fx->l, &e), KUBE_ERR_OTHER);
	assert_non_null(strstr(err_msg(&e), "renewal thread cannot start"));
	err_release(&e);
	assert_false(leader_is_leader(fx->l));
	assert_false(leader_lost(fx->l));
	assert_int_equal(atomic_load(&fx->lost), 0);
	/* the Lease says we hold it: the next try takes it again, and renews it */
	assert_int_equal(leader_try_acquire(fx->l, &e), 0);
	assert_true(leader_is_leader(fx->l));
	assert_true(fl_wait_count(fx->fake, "PUT", 2, 20000));
	assert_true(leader_is_leader(fx->l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_acquire_creates_the_lease),
		T(test_renewal_takes_the_fast_path),
		T(test_conflict_falls_back_to_the_slow_path),
		T(test_slow_renewal_counts_from_its_start),
		T(test_hung_server_ends_leadership_by_the_deadline),
		T(test_watchdog_expiry_ends_leadership_once),
		T(test_failing_server_is_not_retried_by_the_client),
		T(test_another_holder_ends_leadership_at_once),
		T(test_lost_leader_does_not_release),
		T(test_orderly_stop_releases),
		T(test_standby_waits_for_the_holders_duration),
		T(test_released_lease_is_taken_at_once),
		T(test_write_guard_keeps_writes_from_the_server),
		T(test_kube_call_ends_by_its_deadline),
		T(test_renewal_thread_failure_is_not_leading),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
