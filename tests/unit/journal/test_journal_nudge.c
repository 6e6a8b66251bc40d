// SPDX-License-Identifier: Apache-2.0
/*
 * test_journal_nudge.c - an add held by the pacing goes as soon as the
 * caller's urgency changes (said with journal_nudge, or seen when the
 * writer asks again a JOURNAL_URGENT_RECHECK_MS later), not at the end of
 * the pacing interval (the provisioner's workers left idle meanwhile).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/clock.h"
#include "fake_configmaps.h"
#include "journal_fixture.h"
#include "journal/journal.h"

#define INTERVAL_MS 60000

static atomic_bool urgent;

static bool urgent_when_told(void *ctx, size_t waiting)
{
	(void)ctx;
	(void)waiting;
	return atomic_load(&urgent);
}

struct held {
	struct journal *j;
	atomic_bool done;
};

static void *add_held(void *arg)
{
	struct held *h = arg;

	jfx_add_ok(h->j, "held", "{}");
	atomic_store(&h->done, true);
	return NULL;
}

static bool pending(struct journal *j)
{
	struct journal_stats st;

	journal_stats(j, &st);
	return st.pending > 0;
}

/* Load with a long interval, spend the burst, and start an add that is held. */
static void hold_an_add(struct jfx *fx, struct held *h, pthread_t *t)
{
	int64_t deadline;

	atomic_store(&urgent, false);
	fx->o.min_write_interval_ms = INTERVAL_MS;
	fx->o.urgent = urgent_when_told;
	jfx_load(fx);
	for (int i = 0; i < JOURNAL_WRITE_BURST; i++) {	/* the burst goes at once */
		char key[16];

		snprintf(key, sizeof(key), "burst-%d", i);
		jfx_add_ok(fx->j, key, "{}");
	}
	h->j = fx->j;
	atomic_store(&h->done, false);
	assert_int_equal(pthread_create(t, NULL, add_held, h), 0);
	deadline = clock_now_ms() + 10000;
	while (!pending(fx->j) && clock_now_ms() < deadline)
		sched_yield();
	assert_true(pending(fx->j));
	assert_false(atomic_load(&h->done));	/* held: no token, not urgent */
}

static void test_a_nudge_sends_a_held_add(void **state)
{
	struct jfx *fx = *state;
	struct held h;
	pthread_t t;
	int64_t took;

	hold_an_add(fx, &h, &t);
	atomic_store(&urgent, true);
	took = clock_now_ms();
	journal_nudge(fx->j);
	assert_int_equal(pthread_join(t, NULL), 0);
	took = clock_now_ms() - took;
	print_message("journal: the held add went %lld ms after the nudge\n", (long long)took);
	assert_true(took < INTERVAL_MS / 2);
}

/* Without a nudge, the writer sees the change when it asks again. */
static void test_urgency_is_asked_again_while_held(void **state)
{
	struct jfx *fx = *state;
	struct held h;
	pthread_t t;
	int64_t took;

	hold_an_add(fx, &h, &t);
	took = clock_now_ms();
	atomic_store(&urgent, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	took = clock_now_ms() - took;
	print_message("journal: the held add went %lld ms after it became urgent\n",
		      (long long)took);
	assert_true(took < INTERVAL_MS / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_nudge_sends_a_held_add, jfx_setup,
						jfx_teardown),
		cmocka_unit_test_setup_teardown(test_urgency_is_asked_again_while_held, jfx_setup,
						jfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
