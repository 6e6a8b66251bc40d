// SPDX-License-Identifier: Apache-2.0
/*
 * test_events.c - the event sink's start-up: a sender thread that cannot
 * start gives no sink (and a log line), and a NULL sink takes events and
 * sends nothing; a sink that started stops cleanly with nothing queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kube/objects.h"
#include "provision/events.h"
#include "thread_fail.h"

static void test_sender_thread_failure_gives_no_sink(void **state)
{
	struct kube_meta m = { .name = (char *)"c1", .namespace = (char *)"ns1" };

	(void)state;
	thread_fail_next();
	assert_null(event_sink_new(NULL, "test", 8));
	/* what callers then do: emit and free a NULL sink */
	event_emit(NULL, "PersistentVolumeClaim", &m, EVENT_WARNING, "Reason", "message %d", 1);
	event_sink_free(NULL, 0);
}

static void test_started_sink_stops(void **state)
{
	struct event_sink *s = event_sink_new(NULL, "test", 8);

	(void)state;
	assert_non_null(s);
	event_sink_free(s, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_thread_failure_gives_no_sink),
		cmocka_unit_test(test_started_sink_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
