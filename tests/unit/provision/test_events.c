// SPDX-License-Identifier: Apache-2.0
/*
 * test_events.c - the event sink's start-up: a sender thread that cannot
 * start gives no sink (and a log line), and a NULL sink takes events and
 * sends nothing; a sink that started stops cleanly with nothing queued.
 * Against a fake API server: events are best effort in the client's budget
 * (the client's writes sent after an event still go first), and the stop
 * flushes what waits, the event caught waiting for spare room included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/clock.h"
#include "client_int.h"
#include "fake_http.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"
#include "provision/events.h"
#include "thread_fail.h"
#include "wait_until.h"

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

/* ---- against a fake API server ---- */

struct fake {
	struct fhttp *http;
	pthread_mutex_t mu;
	char order[64];		/* 'e' per Event created, 'w' per other write, in order */
	size_t n;
	char event[2048];	/* the last Event's body */
};

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fake *f = ctx;
	static const char resp[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
				   "Content-Length: 2\r\nConnection: close\r\n\r\n{}";

	(void)head;
	pthread_mutex_lock(&f->mu);
	if (strcmp(method, "GET") && f->n < sizeof(f->order) - 1)
		f->order[f->n++] = strstr(target, "/events") ? 'e' : 'w';
	if (!strcmp(method, "POST") && strstr(target, "/events"))
		snprintf(f->event, sizeof(f->event), "%s", body ? body : "");
	pthread_mutex_unlock(&f->mu);
	fhttp_write_all(fd, resp, sizeof(resp) - 1);
}

static size_t served(struct fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static int spare_waiting(struct kube_client *c)
{
	int n;

	pthread_mutex_lock(&c->pace->bucket.lock);
	n = c->pace->bucket.spare_waiting;
	pthread_mutex_unlock(&c->pace->bucket.lock);
	return n;
}

/* A client at 2/s without burst whose one token is spent. */
static struct kube_client *slow_client(struct fake *f)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = 2, .burst = 1 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	pthread_mutex_init(&f->mu, NULL);
	f->http = fhttp_start(handle, f);
	assert_non_null(f->http);
	cfg.server = (char *)fhttp_url(f->http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	assert_int_equal(kube_get(c, "/api/v1/namespaces/default", NULL, &e), 0);
	return c;
}

static void *write_one(void *p)
{
	struct kube_client *c = p;
	struct err e = ERR_INIT;
	json_t *pv = json_pack("{s:s}", "kind", "PersistentVolume");

	assert_int_equal(kube_create(c, "/api/v1/persistentvolumes", pv, NULL, &e), 0);
	json_decref(pv);
	return NULL;
}

static void test_event_waits_for_the_clients_writes(void **state)
{
	struct kube_meta m = { .name = (char *)"c1", .namespace = (char *)"ns1", .uid = (char *)"u1" };
	struct fake f = { 0 };
	struct kube_client *c = slow_client(&f);
	struct event_sink *s = event_sink_new(c, "test", 8);
	pthread_t t[2];

	(void)state;
	assert_non_null(s);
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "first");
	WAIT_UNTIL(spare_waiting(c) == 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_one, c), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	WAIT_UNTIL(served(&f) == 3);
	assert_string_equal(f.order, "wwe");
	event_sink_free(s, 0);
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

static void test_stop_flushes_the_waiting_events(void **state)
{
	struct kube_meta m = { .name = (char *)"c1", .namespace = (char *)"ns1", .uid = (char *)"u1" };
	struct fake f = { 0 };
	struct kube_client *c = slow_client(&f);
	struct event_sink *s = event_sink_new(c, "test", 8);
	int64_t t0;

	(void)state;
	assert_non_null(s);
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "one");
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "two");
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "three");
	/* the first waits for spare room; the stop sends all three at the client's rate */
	WAIT_UNTIL(spare_waiting(c) == 1);
	t0 = clock_now_ms();
	event_sink_free(s, 20000);
	assert_int_equal(served(&f), 3);
	assert_string_equal(f.order, "eee");
	assert_true(clock_now_ms() - t0 < 20000);
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

/* The Event as the server receives it (the sink keeps it as text while it waits). */
static void test_event_body_reaches_the_server(void **state)
{
	struct kube_meta m = { .name = (char *)"c1", .namespace = (char *)"ns1", .uid = (char *)"u1",
			       .resource_version = (char *)"7" };
	struct fake f = { 0 };
	struct kube_client *c = slow_client(&f);
	struct event_sink *s = event_sink_new(c, "test", 8);
	json_error_t je;
	json_t *ev, *inv;

	(void)state;
	assert_non_null(s);
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_WARNING, "ProvisioningFailed", "no %s",
		   "space");
	event_sink_free(s, 20000);
	assert_string_equal(f.order, "e");
	ev = json_loads(f.event, 0, &je);
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
	assert_string_equal(json_string_value(json_object_get(ev, "reason")), "ProvisioningFailed");
	assert_string_equal(json_string_value(json_object_get(ev, "message")), "no space");
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "metadata"),
							      "generateName")), "c1.");
	inv = json_object_get(ev, "involvedObject");
	assert_string_equal(json_string_value(json_object_get(inv, "kind")),
			    "PersistentVolumeClaim");
	assert_string_equal(json_string_value(json_object_get(inv, "namespace")), "ns1");
	assert_string_equal(json_string_value(json_object_get(inv, "uid")), "u1");
	assert_string_equal(json_string_value(json_object_get(inv, "resourceVersion")), "7");
	json_decref(ev);
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

/*
 * The daemon's stop: the client is closed first (its workers' waiting
 * requests give up), then the sink flushes; the queued events still go.
 */
static void test_stop_flushes_after_the_client_closed(void **state)
{
	struct kube_meta m = { .name = (char *)"c1", .namespace = (char *)"ns1", .uid = (char *)"u1" };
	struct fake f = { 0 };
	struct kube_client *c = slow_client(&f);
	struct event_sink *s = event_sink_new(c, "test", 8);

	(void)state;
	assert_non_null(s);
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "one");
	event_emit(s, "PersistentVolumeClaim", &m, EVENT_NORMAL, "Provisioning", "two");
	WAIT_UNTIL(spare_waiting(c) == 1);
	kube_client_close(c);
	event_sink_free(s, 20000);
	assert_int_equal(served(&f), 2);
	assert_string_equal(f.order, "ee");
	kube_client_free(c);
	fhttp_stop(f.http);
	pthread_mutex_destroy(&f.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_thread_failure_gives_no_sink),
		cmocka_unit_test(test_started_sink_stops),
		cmocka_unit_test(test_event_waits_for_the_clients_writes),
		cmocka_unit_test(test_stop_flushes_the_waiting_events),
		cmocka_unit_test(test_stop_flushes_after_the_client_closed),
		cmocka_unit_test(test_event_body_reaches_the_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
