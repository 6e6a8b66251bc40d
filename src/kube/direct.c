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
 * TP_DIRECT_IDLE handles keep their connections. While that many requests
 * run, another waits for one of them to end, and opens a connection of its
 * own only after TP_DIRECT_GROW_MS: a burst of quick answers (the bucket's
 * burst at start, 100 at 50/100) rides on the kept connections instead of
 * opening one a request (each a TLS handshake, ~60 KiB: 64 of them cost
 * 3 MiB and a fifth more CPU in an N=1000 run), while a slow server still
 * gets up to TP_DIRECT_MAX requests at once, as many as the old transport
 * let into its multi handle. A handle given back beyond TP_DIRECT_IDLE is
 * closed. No wait lasts past the request's deadline or the client's
 * timeout, or the client's close (kube_direct_wake); waiters are not
 * served in order.
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
	d->nidle = d->nbusy = d->nwait = 0;
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
	int64_t now = clock_now_ms(), until = now + c->timeout_ms;
	int64_t grow_at = now + TP_DIRECT_GROW_MS, wake_at;
	CURL *h = NULL;
	struct timespec ts;
	int rc = 0;

	if (deadline_ms && deadline_ms < until)
		until = deadline_ms;
	*out = NULL;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->nidle) {
			h = d->idle[--d->nidle];
			break;
		}
		now = clock_now_ms();
		if (d->nbusy < TP_DIRECT_IDLE || (d->nbusy < TP_DIRECT_MAX && now >= grow_at))
			break;	/* a new handle, so a new connection */
		if (kube_client_is_closed(c)) {
			rc = err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: the client is stopping",
				     verb, path);
			break;
		}
		if (now >= until) {
			rc = err_set(e, KUBE_ERR_TIMEOUT,
				     "%s %s: not sent: no connection of this client came free in time "
				     "(%zu requests running)", verb, path, d->nbusy);
			break;
		}
		wake_at = d->nbusy < TP_DIRECT_MAX && grow_at < until ? grow_at : until;
		ts = clock_deadline_ms(wake_at - now);
		d->nwait++;
		pthread_cond_timedwait(&d->cond, &d->mu, &ts);
		d->nwait--;
	}
	if (!rc)
		d->nbusy++;
	else if (d->nidle && d->nwait)
		pthread_cond_signal(&d->cond);	/* a wake-up this waiter may have taken */
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
	d->nbusy--;
	if (d->nwait)
		pthread_cond_signal(&d->cond);
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
