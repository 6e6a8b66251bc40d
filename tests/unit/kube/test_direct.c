// SPDX-License-Identifier: Apache-2.0
/*
 * test_direct.c - the requests' kept-alive connections (src/kube/direct.c)
 * against an in-process HTTP/1.1 server that keeps connections open and
 * can misbehave on purpose (a thread per connection):
 *   - a POST whose kept-alive connection closes after the server read it,
 *     before any answer, is not sent again (libcurl 7.88 would resend it on
 *     a new connection; a POST may have taken effect) and fails as a
 *     transport error; a DELETE without a body in the same spot is sent
 *     again (by libcurl: there is nothing to rewind). A DELETE with a body
 *     there would be sent again by our retries, but libcurl 7.88 leaks
 *     ~280 bytes when a custom method's body cannot be rewound, which
 *     LeakSanitizer reports: not tested here;
 *   - a slow server gets more than the 8 kept connections: 64 held
 *     requests all reach it (past 8 the pool opens more after 100 ms);
 *   - with every connection of the pool busy, a request with a deadline
 *     gives up at it without reaching the server, and one waiting when the
 *     client is closed fails at once with KUBE_ERR_CANCELLED, unsent.
 */
#include "kube_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "wait_until.h"

/* the pool's limit (src/kube/client_int.h, TP_DIRECT_MAX) */
#define POOL_MAX 64

struct ka_server {
	int lfd;
	int port;
	pthread_t accept_thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool release;		/* /hold answers once set */
	atomic_int held;	/* requests of /hold waiting */
	atomic_int posts, deletes, quick;	/* requests read, by kind */
	atomic_int conns;
	atomic_int live;	/* connection threads still running */
	atomic_bool drop_reused_writes;	/* close without answering a write on a reused connection, once each */
	atomic_bool dropped_post, dropped_delete;
};

/* Read one request (headers and Content-Length body); 0 on EOF or error. */
static int read_request(int fd, char *method, size_t mlen, char *path, size_t plen)
{
	char buf[8192];
	size_t have = 0;
	char *end, *cl;
	long body;

	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

		if (n <= 0)
			return 0;
		have += (size_t)n;
		buf[have] = 0;
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
		if (have == sizeof(buf) - 1)
			return 0;
	}
	if (sscanf(buf, "%15s %255s", method, path) != 2)
		return 0;
	(void)mlen;
	(void)plen;
	cl = strcasestr(buf, "\r\nContent-Length:");
	body = cl ? strtol(cl + 17, NULL, 10) : 0;
	body -= (long)(have - (size_t)(end + 4 - buf));
	while (body > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			return 0;
		body -= n;
	}
	return 1;
}

static void answer(int fd, int status)
{
	char out[256];
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: 2\r\n\r\n{}", status);

	if (send(fd, out, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void *serve_conn(void *arg)
{
	void **a = arg;
	struct ka_server *s = a[0];
	int fd = (int)(intptr_t)a[1];
	char method[16], path[256];
	int nreq = 0;

	free(a);
	while (read_request(fd, method, sizeof(method), path, sizeof(path))) {
		bool reused = nreq++ > 0, is_post = !strcmp(method, "POST");

		if (is_post)
			atomic_fetch_add(&s->posts, 1);
		if (!strcmp(method, "DELETE"))
			atomic_fetch_add(&s->deletes, 1);
		if (!strcmp(path, "/quick") || !strcmp(path, "/api/v1/namespaces/x/configmaps"))
			atomic_fetch_add(&s->quick, 1);
		if (reused && atomic_load(&s->drop_reused_writes) && strcmp(method, "GET") &&
		    !atomic_exchange(is_post ? &s->dropped_post : &s->dropped_delete, true))
			break;	/* read whole, never answered */
		if (!strcmp(path, "/hold")) {
			pthread_mutex_lock(&s->mu);
			atomic_fetch_add(&s->held, 1);
			while (!s->release)
				pthread_cond_wait(&s->cond, &s->mu);
			pthread_mutex_unlock(&s->mu);
		}
		answer(fd, is_post ? 201 : 200);
	}
	close(fd);
	atomic_fetch_sub(&s->live, 1);	/* the last touch of s */
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct ka_server *s = arg;
	int fd;

	while ((fd = accept(s->lfd, NULL, NULL)) >= 0) {
		void **a = malloc(2 * sizeof(*a));
		pthread_t t;

		atomic_fetch_add(&s->conns, 1);
		atomic_fetch_add(&s->live, 1);
		a[0] = s;
		a[1] = (void *)(intptr_t)fd;
		if (pthread_create(&t, NULL, serve_conn, a)) {
			atomic_fetch_sub(&s->live, 1);
			close(fd);
			free(a);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static struct ka_server *ka_start(void)
{
	struct ka_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 128), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->accept_thread, NULL, accept_loop, s), 0);
	return s;
}

static void ka_release(struct ka_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->release = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

/* Stop accepting, wait for the connection threads (their client is
 * freed: its connections are closed), and free. */
static void ka_stop(struct ka_server *s)
{
	ka_release(s);
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->accept_thread, NULL);
	close(s->lfd);
	WAIT_UNTIL(atomic_load(&s->live) == 0);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct kube_client *client_for(struct ka_server *s, long timeout_ms)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1, .timeout_ms = timeout_ms };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	cfg.server = url;
	if (kube_client_new(&c, &cfg, &o, &e))
		fail_msg("kube_client_new: %s", err_msg(&e));
	return c;
}

static void test_write_on_a_closing_kept_alive_connection_is_not_resent(void **state)
{
	struct ka_server *s = ka_start();
	struct kube_client *c = client_for(s, 5000);
	struct err e = ERR_INIT;
	json_t *out = NULL, *body = json_pack("{s:s}", "kind", "ConfigMap");
	int rc;

	(void)state;
	assert_int_equal(kube_get(c, "/warm", &out, &e), 0);	/* the connection, kept */
	json_decref(out);
	out = NULL;
	atomic_store(&s->drop_reused_writes, true);
	rc = kube_create(c, "/api/v1/namespaces/x/configmaps", body, &out, &e);
	assert_int_equal(rc, KUBE_ERR_TRANSPORT);
	assert_contains(err_msg(&e), "not sent again");
	assert_int_equal(atomic_load(&s->posts), 1);	/* libcurl alone would send it twice */
	err_release(&e);

	/* a DELETE without a body: sent again, and it succeeds */
	assert_int_equal(kube_get(c, "/warm", &out, &e), 0);
	json_decref(out);
	out = NULL;
	rc = kube_delete(c, "/api/v1/namespaces/x/configmaps/c", NULL, NULL, &e);
	if (rc)
		fail_msg("delete: %s", err_msg(&e));
	assert_int_equal(atomic_load(&s->deletes), 2);
	assert_true(atomic_load(&s->dropped_delete));
	json_decref(body);
	kube_client_free(c);
	ka_stop(s);
}

struct caller {
	struct kube_client *c;
	const char *path;
	bool post;
	int64_t deadline_ms;
	int rc;
	int64_t took_ms;
	atomic_bool done;
};

static void *call(void *arg)
{
	struct caller *k = arg;
	struct kube_call_opts o = { .deadline_ms = k->deadline_ms, .no_retry = true };
	struct err e = ERR_INIT;
	json_t *out = NULL, *body = k->post ? json_pack("{s:s}", "kind", "ConfigMap") : NULL;
	int64_t t0 = clock_now_ms();

	k->rc = kube_call(k->c, k->post ? "POST" : "GET", k->path, body, &o, &out, &e);
	k->took_ms = clock_now_ms() - t0;
	json_decref(out);
	json_decref(body);
	err_release(&e);
	atomic_store(&k->done, true);
	return NULL;
}

static void test_a_full_pool_bounds_the_wait_and_close_ends_it(void **state)
{
	struct ka_server *s = ka_start();
	struct kube_client *c = client_for(s, 60000);
	struct caller holds[POOL_MAX], quick = { 0 }, writer = { 0 }, events = { 0 };
	pthread_t th[POOL_MAX], tq, tw, te;
	struct kube_client *be = NULL;
	struct err e = ERR_INIT;

	(void)state;
	for (int i = 0; i < POOL_MAX; i++) {
		holds[i] = (struct caller){ .c = c, .path = "/hold" };
		assert_int_equal(pthread_create(&th[i], NULL, call, &holds[i]), 0);
	}
	WAIT_UNTIL(atomic_load(&s->held) == POOL_MAX);

	/* every connection busy: a call with a deadline gives up at it, unsent */
	quick = (struct caller){ .c = c, .path = "/quick", .deadline_ms = clock_now_ms() + 300 };
	assert_int_equal(pthread_create(&tq, NULL, call, &quick), 0);
	WAIT_UNTIL(atomic_load(&quick.done));	/* before the holds are released */
	pthread_join(tq, NULL);
	assert_int_equal(quick.rc, KUBE_ERR_TIMEOUT);
	assert_int_equal(atomic_load(&s->quick), 0);

	/* a write waiting for a connection when the client closes, and one of
	 * its best-effort sibling's (closed with it): cancelled, unsent */
	if (kube_client_new_best_effort(&be, c, &e))
		fail_msg("best-effort sibling: %s", err_msg(&e));
	writer = (struct caller){ .c = c, .path = "/api/v1/namespaces/x/configmaps", .post = true };
	events = (struct caller){ .c = be, .path = "/api/v1/namespaces/x/configmaps", .post = true };
	assert_int_equal(pthread_create(&tw, NULL, call, &writer), 0);
	assert_int_equal(pthread_create(&te, NULL, call, &events), 0);
	kube_client_close(c);
	WAIT_UNTIL(atomic_load(&writer.done) && atomic_load(&events.done));	/* holds still held */
	pthread_join(tw, NULL);
	pthread_join(te, NULL);
	assert_int_equal(writer.rc, KUBE_ERR_CANCELLED);
	assert_int_equal(events.rc, KUBE_ERR_CANCELLED);
	assert_int_equal(atomic_load(&s->posts), 0);
	assert_int_equal(atomic_load(&s->held), POOL_MAX);

	ka_release(s);
	for (int i = 0; i < POOL_MAX; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(holds[i].rc, 0);	/* on the wire at the close: they finish */
	}
	kube_client_free(be);
	kube_client_free(c);
	ka_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_on_a_closing_kept_alive_connection_is_not_resent),
		cmocka_unit_test(test_a_full_pool_bounds_the_wait_and_close_ends_it),
	};

	return kt_run("kube-direct", tests, sizeof(tests) / sizeof(tests[0]));
}
