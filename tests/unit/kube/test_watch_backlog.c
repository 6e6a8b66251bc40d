/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_watch_backlog.c - a watcher that falls behind its stream: the stream
 * is never paused (with bookworm's libcurl a paused HTTP/2 stream stalls
 * its whole connection, see KUBE_WATCH_BACKLOG_MAX); once the watcher is
 * KUBE_WATCH_BACKLOG_MAX behind, the watch ends with KUBE_ERR_TOO_LARGE
 * after the watcher has had every event received before that point.
 *
 * The fake server writes more than the cap at once; the watcher's callback
 * holds on its first event until the server's writes have ended (the
 * client closed the stream) or a deadline passed. A client that paused the
 * stream instead would leave the server blocked in its writes: the
 * deadline passes and the test fails.
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
#include "base/err.h"
#include "fake_http.h"
#include "kube/client.h"
#include "kube/client_int.h"
#include "kube/kubeconfig.h"

#define EVENT_PAD 4000
#define HOLD_MS 20000

struct fx {
	struct fhttp *http;
	atomic_int events_written;
	atomic_bool writes_ended;	/* the server stopped writing: done or the client left */
	int events_total;
};

/* One ADDED event of a ConfigMap with EVENT_PAD bytes of data; caller frees. */
static char *event_line(int i, size_t *len)
{
	static char pad[EVENT_PAD + 1];
	char *s;

	if (!pad[0])
		memset(pad, 'x', EVENT_PAD);
	*len = (size_t)asprintf(&s, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\","
				"\"metadata\":{\"name\":\"cm-%d\",\"resourceVersion\":\"%d\"},"
				"\"data\":{\"pad\":\"%s\"}}}\n", i, 100 + i, pad);
	return s;
}

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fx *f = ctx;

	(void)method;
	(void)target;
	(void)head;
	(void)body;
	if (fhttp_watch_head(fd) == 0) {
		for (int i = 0; i < f->events_total; i++) {
			size_t len;
			char *line = event_line(i, &len);
			int rc = fhttp_chunk(fd, line, len);

			free(line);
			if (rc)
				break;
			atomic_fetch_add(&f->events_written, 1);
		}
	}
	atomic_store(&f->writes_ended, true);
	fhttp_chunk_end(fd);
}

struct seen {
	struct fx *f;
	int n;
	bool held;		/* the first callback waited for the writes to end */
};

static int on_event(void *ctx, const char *type, json_t *object)
{
	struct seen *s = ctx;

	(void)type;
	(void)object;
	if (s->n++ == 0) {
		int64_t until = clock_now_ms() + HOLD_MS;

		while (!atomic_load(&s->f->writes_ended) && clock_now_ms() < until)
			clock_sleep_ms(10);
		s->held = atomic_load(&s->f->writes_ended);
	}
	return 0;
}

static void test_watcher_far_behind_ends_the_watch(void **state)
{
	struct fx f = { .events_total = (int)(KUBE_WATCH_BACKLOG_MAX / EVENT_PAD) * 2 };
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1 };
	struct kube_client *c;
	struct seen s = { .f = &f };
	struct err e = ERR_INIT;
	int rc;

	(void)state;
	f.http = fhttp_start(handle, &f);
	assert_non_null(f.http);
	cfg.server = (char *)fhttp_url(f.http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	rc = kube_watch(c, "/api/v1/configmaps?watch=1", on_event, &s, NULL, &e);
	assert_true(s.held);	/* the stream was read on, not paused */
	assert_true(err_is(&e, KUBE_ERR_TOO_LARGE));
	assert_int_equal(rc, KUBE_ERR_TOO_LARGE);
	assert_non_null(strstr(err_msg(&e), "behind"));
	/* every event that fit before the cap reached the watcher, and no more */
	assert_true(s.n > (int)(KUBE_WATCH_BACKLOG_MAX / (EVENT_PAD + 200)) - 2);
	assert_true(s.n < f.events_total);
	err_release(&e);
	kube_client_free(c);
	fhttp_stop(f.http);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watcher_far_behind_ends_the_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
