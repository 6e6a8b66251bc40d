// SPDX-License-Identifier: Apache-2.0
/*
 * direct.c - the requests' easy handles (see client_int.h).
 *
 * A request that is not a watch does not go through a transport thread:
 * its caller runs it with curl_easy_perform on an easy handle taken from
 * the pool of its client's transport (shared with the client's siblings),
 * speaking HTTP/1.1 on the one connection that handle keeps alive. Per
 * request that saves the hand-off both ways (eventfd, epoll, the caller's
 * futex), libcurl's multi bookkeeping and, on a shared HTTP/2 connection,
 * the run of every other transfer of it on each socket event: about 18
 * system calls instead of 25-28 in the bare client, and a fifth less CPU
 * in a provisioning run (bench/results/request-direct.txt).
 *
 * At most TP_DIRECT_MAX requests of a transport run at once, as many as
 * the old transport let into its multi handle; more wait here, for no
 * longer than the request's deadline or the client's timeout, and not
 * once the client is closed (kube_direct_wake). Waiters are not served in
 * order: with 64 out, the server is the bottleneck. TP_DIRECT_IDLE handles
 * are kept with their connections; one given back beyond that is closed.
 * So a quiet client holds a few connections, a busy one more, for as long
 * as it needs them.
 *
 * The handles' TLS sessions are their own (the transport's share holds
 * the DNS cache only here): libcurl 7.88 hands one cached SSL_SESSION to
 * concurrent handshakes on several threads, which OpenSSL does not allow
 * (curl fixed it in 8.10). A handle's session resumes its own reconnects.
 */
#include "kube/client_int.h"

#include "base/clock.h"
#include "base/log.h"

void kube_direct_init(struct direct_pool *d)
{
	pthread_mutex_init(&d->mu, NULL);
	clock_cond_init(&d->cond);
	d->nidle = d->nbusy = 0;
}

void kube_direct_release(struct direct_pool *d)
{
	if (d->nbusy)
		BUG("a kube client freed with %zu requests still running", d->nbusy);
	for (size_t i = 0; i < d->nidle; i++)
		curl_easy_cleanup(d->idle[i]);
	d->nidle = 0;
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->mu);
}

int kube_direct_get(struct kube_client *c, int64_t deadline_ms, const char *verb,
		    const char *path, CURL **out, struct err *e)
{
	struct direct_pool *d = &c->tp->direct;
	int64_t until = clock_now_ms() + c->timeout_ms;
	CURL *h = NULL;
	struct timespec ts;
	int rc = 0;

	if (deadline_ms && deadline_ms < until)
		until = deadline_ms;
	*out = NULL;
	pthread_mutex_lock(&d->mu);
	while (d->nbusy >= TP_DIRECT_MAX) {
		if (atomic_load(&c->closed)) {
			rc = err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: the client is stopping",
				     verb, path);
			break;
		}
		if (clock_now_ms() >= until) {
			rc = err_set(e, KUBE_ERR_TIMEOUT,
				     "%s %s: not sent: %d requests of this client still running",
				     verb, path, TP_DIRECT_MAX);
			break;
		}
		ts = clock_deadline_ms(until - clock_now_ms());
		pthread_cond_timedwait(&d->cond, &d->mu, &ts);
	}
	if (!rc) {
		if (d->nidle)
			h = d->idle[--d->nidle];
		d->nbusy++;
	}
	pthread_mutex_unlock(&d->mu);
	if (rc)
		return rc;
	if (!h && !(h = curl_easy_init()))
		BUG("curl_easy_init failed");
	*out = h;
	return 0;
}

void kube_direct_put(struct transport *tp, CURL *h)
{
	struct direct_pool *d = &tp->direct;

	curl_easy_reset(h);	/* keeps the connection */
	pthread_mutex_lock(&d->mu);
	if (d->nidle < TP_DIRECT_IDLE) {
		d->idle[d->nidle++] = h;
		h = NULL;
	}
	if (d->nbusy-- == TP_DIRECT_MAX)
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mu);
	if (h)
		curl_easy_cleanup(h);	/* closes its connection */
}

void kube_direct_wake(struct transport *tp)
{
	pthread_mutex_lock(&tp->direct.mu);
	pthread_cond_broadcast(&tp->direct.cond);
	pthread_mutex_unlock(&tp->direct.mu);
}
