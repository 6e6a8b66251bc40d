// SPDX-License-Identifier: Apache-2.0
/*
 * test_transport.c - requests on their callers' threads (src/kube/direct.c)
 * and the watches' transport thread's loop (src/kube/transport.c: an epoll
 * set of libcurl's sockets and an eventfd, libcurl's timer as the wait's
 * timeout) against the in-process fake server of tests/unit/common:
 *   - an answer that never comes ends at the call's deadline;
 *   - many requests at once, more than the pool runs together, each on a
 *     connection of its own (HTTP/1.1, closed after each answer), all get
 *     their own answer;
 *   - a watch stopped by its caller while the server is silent ends
 *     (the cancel reaches the thread through the eventfd);
 *   - a watch's lane (its connection) follows its resource: claims and PVs
 *     one each, the rest the third; watches in every lane run at once and
 *     each ends when stopped;
 *   - freeing the client closes every descriptor it opened (sockets, the
 *     epoll sets and eventfds of both transports, every lane's multi).
 */
#include "kube_test.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "base/err.h"
#include "fake_http.h"
#include "kube/client.h"
#include "kube/client_int.h"
#include "kube/kubeconfig.h"

#define THREADS 100
#define PER_THREAD 3
#define WAIT_MS 20000

struct fake {
	struct fhttp *http;
	atomic_bool release;	/* held answers and watches end */
	pthread_mutex_t mu;
	pthread_cond_t cond;	/* signalled when a request starts being held */
	int held;		/* requests held so far; guarded by mu */
};

/* Hold the connection until the client leaves or the fake is released. */
static void hold(struct fake *f, int fd)
{
	int64_t until = clock_now_ms() + WAIT_MS;

	pthread_mutex_lock(&f->mu);
	f->held++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	while (!atomic_load(&f->release) && !fhttp_peer_gone(fd) && clock_now_ms() < until) {
		struct pollfd p = { fd, POLLRDHUP, 0 };

		poll(&p, 1, 50);	/* the client's hang-up, or a look at `release` */
	}
}

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fake *f = ctx;

	(void)method;
	(void)head;
	(void)body;
	if (strstr(target, "watch=1")) {
		if (fhttp_watch_head(fd) == 0) {
			if (strstr(target, "silent"))
				hold(f, fd);
			fhttp_chunk_end(fd);
		}
	} else if (!strncmp(target, "/hold", 5)) {
		hold(f, fd);
	} else if (!strncmp(target, "/n/", 3)) {
		json_t *o = json_pack("{s:s}", "n", target + 3);

		fhttp_respond(fd, 200, o);
		json_decref(o);
	} else {
		fhttp_status(fd, 404, "NotFound", "no such path");
	}
}

static struct kube_client *client_for(struct fake *f)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	cfg.server = (char *)fhttp_url(f->http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

static void start(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	f->http = fhttp_start(handle, f);
	assert_non_null(f->http);
}

static void stop(struct fake *f)
{
	atomic_store(&f->release, true);
	fhttp_stop(f->http);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
}

static void test_deadline_ends_an_unanswered_request(void **state)
{
	struct fake f;
	struct kube_client *c;
	struct kube_call_opts o = { .no_retry = true };
	struct err e = ERR_INIT;
	int64_t t0;
	int rc;

	(void)state;
	start(&f);
	c = client_for(&f);
	t0 = clock_now_ms();
	o.deadline_ms = t0 + 300;
	rc = kube_call(c, "GET", "/hold", NULL, &o, NULL, &e);
	assert_int_equal(rc, KUBE_ERR_TIMEOUT);
	assert_true(clock_now_ms() - t0 >= 250);
	assert_true(clock_now_ms() - t0 < 10000);
	err_release(&e);
	kube_client_free(c);
	stop(&f);
}

struct worker {
	struct kube_client *c;
	int id;
	int ok;
};

static void *get_many(void *p)
{
	struct worker *w = p;

	for (int i = 0; i < PER_THREAD; i++) {
		char path[32], want[16];
		struct err e = ERR_INIT;
		json_t *out = NULL;

		snprintf(path, sizeof(path), "/n/%d", w->id * PER_THREAD + i);
		snprintf(want, sizeof(want), "%d", w->id * PER_THREAD + i);
		if (kube_get(w->c, path, &out, &e) == 0 &&
		    !strcmp(json_string_value(json_object_get(out, "n")) ?: "", want))
			w->ok++;
		json_decref(out);
		err_release(&e);
	}
	return NULL;
}

static void test_many_requests_at_once_each_get_their_answer(void **state)
{
	struct fake f;
	struct kube_client *c;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	int ok = 0;

	(void)state;
	start(&f);
	c = client_for(&f);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .c = c, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, get_many, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
	}
	assert_int_equal(ok, THREADS * PER_THREAD);
	kube_client_free(c);
	stop(&f);
}

struct stopper {
	struct fake *f;
	atomic_bool *stop;
};

/* Stop the watch once the server holds it. */
static void *stop_when_held(void *p)
{
	struct stopper *s = p;
	struct timespec until = clock_deadline_ms(WAIT_MS);
	int rc = 0;

	pthread_mutex_lock(&s->f->mu);
	while (s->f->held == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->f->cond, &s->f->mu, &until);
	pthread_mutex_unlock(&s->f->mu);
	atomic_store(s->stop, true);
	return NULL;
}

static int no_event(void *ctx, const char *type, json_t *object)
{
	(void)ctx;
	(void)type;
	(void)object;
	return 0;
}

static void test_stopped_watch_on_a_silent_stream_ends(void **state)
{
	struct fake f;
	struct kube_client *c;
	atomic_bool stop_flag = false;
	struct stopper s = { .f = &f, .stop = &stop_flag };
	struct err e = ERR_INIT;
	pthread_t th;
	int64_t t0;
	int rc;

	(void)state;
	start(&f);
	c = client_for(&f);
	assert_int_equal(pthread_create(&th, NULL, stop_when_held, &s), 0);
	t0 = clock_now_ms();
	rc = kube_watch(c, "/api/v1/configmaps?watch=1&silent=1", no_event, NULL, &stop_flag, &e);
	pthread_join(th, NULL);
	assert_int_equal(rc, KUBE_ERR_CANCELLED);
	assert_true(clock_now_ms() - t0 < WAIT_MS);
	err_release(&e);
	kube_client_free(c);
	stop(&f);
}

static void test_watch_lane_follows_the_resource(void **state)
{
	static const struct {
		const char *path;
		unsigned lane;
	} cases[] = {
		{ "/api/v1/persistentvolumeclaims?watch=1&resourceVersion=5", 1 },
		{ "/api/v1/namespaces/ns/persistentvolumeclaims?watch=1", 1 },
		{ "/api/v1/persistentvolumeclaims", 1 },
		{ "/api/v1/persistentvolumes?watch=1&allowWatchBookmarks=true", 2 },
		{ "/api/v1/persistentvolumes", 2 },
		{ "/apis/storage.k8s.io/v1/storageclasses?watch=1", 0 },
		{ "/api/v1/nodes?watch=1", 0 },
		{ "/api/v1/persistentvolume?watch=1", 0 },
		{ "/api/v1/xpersistentvolumes?watch=1", 0 },
		{ "/api/v1/persistentvolumesx?watch=1", 0 },
		{ "/api/v1/configmaps?watch=1&x=/persistentvolumes", 0 },
		{ "persistentvolumes", 2 },
		{ "/", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = kube_watch_lane(cases[i].path);

		if (got != cases[i].lane)
			fail_msg("%s: lane %u, want %u", cases[i].path, got, cases[i].lane);
	}
}

struct lane_watch {
	struct kube_client *c;
	const char *path;
	atomic_bool *stop;
	int rc;
};

static void *watch_until_stopped(void *p)
{
	struct lane_watch *w = p;
	struct err e = ERR_INIT;

	w->rc = kube_watch(w->c, w->path, no_event, NULL, w->stop, &e);
	err_release(&e);
	return NULL;
}

/* Stop the watches once the server holds three of them at once. */
static void *stop_when_all_held(void *p)
{
	struct stopper *s = p;
	struct timespec until = clock_deadline_ms(WAIT_MS);
	int rc = 0;

	pthread_mutex_lock(&s->f->mu);
	while (s->f->held < 3 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->f->cond, &s->f->mu, &until);
	pthread_mutex_unlock(&s->f->mu);
	atomic_store(s->stop, true);
	return NULL;
}

static void test_watches_of_every_lane_run_at_once(void **state)
{
	static const char *const paths[] = {
		"/api/v1/persistentvolumeclaims?watch=1&silent=1",
		"/api/v1/persistentvolumes?watch=1&silent=1",
		"/api/v1/nodes?watch=1&silent=1",
	};
	struct fake f;
	struct kube_client *c;
	atomic_bool stop_flag = false;
	struct stopper s = { .f = &f, .stop = &stop_flag };
	struct lane_watch w[3];
	pthread_t th[3], st;
	int held;

	(void)state;
	start(&f);
	c = client_for(&f);
	assert_int_equal(pthread_create(&st, NULL, stop_when_all_held, &s), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(kube_watch_lane(paths[i]), (unsigned)(i + 1) % KUBE_WATCH_LANES);
		w[i] = (struct lane_watch){ .c = c, .path = paths[i], .stop = &stop_flag };
		assert_int_equal(pthread_create(&th[i], NULL, watch_until_stopped, &w[i]), 0);
	}
	pthread_join(st, NULL);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, KUBE_ERR_CANCELLED);
	}
	pthread_mutex_lock(&f.mu);
	held = f.held;
	pthread_mutex_unlock(&f.mu);
	assert_int_equal(held, 3);
	kube_client_free(c);
	stop(&f);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* One request and a watch in each lane (both transports), then free: no
 * descriptor left. */
static void use_and_free(void)
{
	struct fake f;
	struct kube_client *c;
	struct err e = ERR_INIT;
	json_t *out = NULL;

	start(&f);
	c = client_for(&f);
	assert_int_equal(kube_get(c, "/n/1", &out, &e), 0);
	json_decref(out);
	assert_int_equal(kube_watch(c, "/api/v1/configmaps?watch=1", no_event, NULL, NULL, &e), 0);
	assert_int_equal(kube_watch(c, "/api/v1/persistentvolumeclaims?watch=1", no_event, NULL,
				    NULL, &e), 0);
	assert_int_equal(kube_watch(c, "/api/v1/persistentvolumes?watch=1", no_event, NULL, NULL,
				    &e), 0);
	kube_client_free(c);
	stop(&f);
}

static void test_free_closes_every_descriptor(void **state)
{
	int before;

	(void)state;
	use_and_free();		/* libcurl's and OpenSSL's one-time set-up */
	before = open_fds();
	use_and_free();
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_ends_an_unanswered_request),
		cmocka_unit_test(test_many_requests_at_once_each_get_their_answer),
		cmocka_unit_test(test_stopped_watch_on_a_silent_stream_ends),
		cmocka_unit_test(test_watch_lane_follows_the_resource),
		cmocka_unit_test(test_watches_of_every_lane_run_at_once),
		cmocka_unit_test(test_free_closes_every_descriptor),
	};

	return kt_run("kube-transport", tests, sizeof(tests) / sizeof(tests[0]));
}
