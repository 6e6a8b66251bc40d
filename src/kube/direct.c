// SPDX-License-Identifier: Apache-2.0
/*
 * direct.c - plain requests run on the calling thread (see client_int.h).
 *
 * A request that is not a watch does not go through the transport thread:
 * its caller runs it with curl_easy_perform on an easy handle that keeps
 * one HTTP/1.1 keep-alive connection of its own, taken from a small pool
 * the transport holds (and its sibling clients share). Per request that
 * saves the hand-off (eventfd, epoll, the caller's futex), libcurl's
 * multi bookkeeping and, on the shared HTTP/2 connection, the run of every
 * other transfer of the connection on each socket event: about 18 system
 * calls instead of 25-28 in the bare client, and a fifth less CPU in a
 * provisioning run (bench/results/request-direct.txt).
 *
 * At most TP_DIRECT_MAX requests run at once (so as many connections);
 * more wait for a handle. Idle handles keep their connection; libcurl
 * checks it is alive before reuse and, when a reused connection turns out
 * dead before any answer, sends again on a new one.
 */
#include "kube/client_int.h"

#include "base/log.h"

void kube_direct_init(struct direct_pool *d)
{
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->nidle = d->nbusy = 0;
}

void kube_direct_release(struct direct_pool *d)
{
	for (size_t i = 0; i < d->nidle; i++)
		curl_easy_cleanup(d->idle[i]);
	d->nidle = 0;
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->mu);
}

/* A handle with (maybe) a live connection; waits while TP_DIRECT_MAX run. */
CURL *kube_direct_get(struct transport *tp)
{
	struct direct_pool *d = &tp->direct;
	CURL *h = NULL;

	pthread_mutex_lock(&d->mu);
	while (!d->nidle && d->nbusy >= TP_DIRECT_MAX)
		pthread_cond_wait(&d->cond, &d->mu);
	if (d->nidle)
		h = d->idle[--d->nidle];
	d->nbusy++;
	pthread_mutex_unlock(&d->mu);
	if (!h)
		h = curl_easy_init();
	if (!h)
		BUG("curl_easy_init failed");
	return h;
}

void kube_direct_put(struct transport *tp, CURL *h)
{
	struct direct_pool *d = &tp->direct;

	curl_easy_reset(h);	/* keeps the connection */
	pthread_mutex_lock(&d->mu);
	d->idle[d->nidle++] = h;
	d->nbusy--;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->mu);
}
