// SPDX-License-Identifier: Apache-2.0
/*
 * transport.c - the client's libcurl transport (see client_int.h).
 *
 * DESIGN. A client's transport is the libcurl state its requests and
 * watches share with its siblings' (kube_client_new_sibling and the like):
 * the CURLSH share (DNS cache), the requests' pool of easy
 * handles (direct.c: each request runs on its caller's thread, on an
 * HTTP/1.1 connection of its own), and the watches' transport, made on the
 * first watch (kube_tp_watches). It is reference-counted; the last
 * kube_client_free frees it.
 *
 * The watches' transport has a loop: one thread and an epoll set driving
 * KUBE_WATCH_LANES multi handles (lanes), each with HTTP/2 multiplexing
 * (CURLPIPE_MULTIPLEX, CURLOPT_PIPEWAIT on every watch) and its own
 * connection pool: claims and PVs, the busy watches, have a lane and so a
 * connection each, the other watches share the third (kube_watch_lane).
 * A watcher prepares its easy handle on its own thread, submits it with a
 * queue entry and a write to the transport's eventfd (none when the queue
 * already held an op: that one's wake-up is on its way), and takes the
 * bytes the transport thread puts in its transfer's `in` buffer (watch.c).
 * The transport thread never calls into libcurl with tp.mu held, since
 * libcurl may call back (write callback, share locks) from inside its calls.
 *
 * The loop is libcurl's multi-socket API: libcurl tells sock_cb which of
 * its sockets to watch for what (kept in the epoll set with the eventfd)
 * and timer_cb when its next timeout is due (epoll_wait's timeout); each
 * readiness is handed back with curl_multi_socket_action, which runs only
 * the transfers of the socket or timer that fired. Not curl_multi_perform
 * + curl_multi_poll: libcurl 7.88's perform runs every transfer of the
 * multi, each with a zero-timeout poll() of its socket, on every call. A
 * socket event still runs every transfer on that connection, and 7.88 keeps
 * the event's bits per connection (conn->cselect_bits, taken by the first
 * transfer), so all but one poll (libcurl 8.6.0 keeps them per transfer):
 * hence a lane, and so a connection, for each busy watch
 * (bench/results/syscalls-socket.txt, syscalls-watchconn.txt). A socket's
 * epoll data carries its lane, libcurl's timer is per lane.
 *
 * Requests went through such a loop too, multiplexed on one HTTP/2
 * connection as client-go does. Each then cost a hand-off both ways
 * (eventfd, epoll, the caller's futex), a poll per other request in flight
 * on each socket event, and, with libcurl 7.88, a "nudge" for answers left
 * unfinished on a connection shared with an idle watch: 25-28 system calls
 * and a quarter more CPU in an N=1000 run (5.47 s against 4.35)
 * (bench/results/request-direct.txt).
 *
 * Locks (leaves, see client_int.h): tp.mu guards the queue, `stopping` and
 * each transfer's done/result/queued/in; pool_lock the idle watch handles;
 * direct.mu the requests' handles; share_locks[] are libcurl's, taken by
 * whichever thread runs a transfer. The epoll set and the lanes belong to
 * the transport thread; the eventfd is written by any thread.
 * curl_global_init runs once, under pthread_once, before any handle.
 */
#include "kube/client_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/ndjson.h"

/* Streams we are willing to open on the one connection; past the server's
 * own limit libcurl opens a second connection rather than queueing. */
#define TP_MAX_STREAMS 1000L
/* The longest single sleep of the loop (libcurl's timer may be further). */
#define TRANSPORT_MAX_WAIT_MS 60000
/* epoll events taken per wait. */
#define TP_EVENTS 16

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
}

int kube_curl_global_init(struct err *e)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return err_set(e, KUBE_ERR_INVALID, "cannot initialise libcurl: %s",
			       curl_easy_strerror(curl_init_rc));
	return 0;
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *p)
{
	struct transport *tp = p;

	(void)h;
	(void)a;
	if (d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&tp->share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *p)
{
	struct transport *tp = p;

	(void)h;
	if (d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&tp->share_locks[d]);
}

/* ---- handles ---- */

CURL *kube_handle_get(struct kube_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool)
		h = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->pool_lock);
	if (!h)
		h = curl_easy_init();
	if (!h)
		BUG("curl_easy_init failed");
	return h;
}

void kube_handle_put(struct kube_client *c, CURL *h)
{
	curl_easy_reset(h);	/* keeps the live connection */
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < KUBE_POOL_MAX) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- the transport thread (see DESIGN at the top) ---- */

void kube_tx_init(struct tx *t, CURL *h)
{
	memset(t, 0, sizeof(*t));
	t->h = h;
	clock_cond_init(&t->cond);
	buf_init(&t->in, KUBE_WATCH_BACKLOG_MAX);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
}

void kube_tx_release(struct tx *t)
{
	pthread_cond_destroy(&t->cond);
	buf_release(&t->in);
}

/* Queue an op for the transport thread. Caller holds tp->mu, then wakes it. */
void kube_tp_push(struct transport *tp, enum tp_op op, struct tx *t)
{
	tp->queue = xgrow(tp->queue, tp->nqueue + 1, &tp->aqueue, sizeof(*tp->queue));
	tp->queue[tp->nqueue].op = op;
	tp->queue[tp->nqueue].tx = t;
	tp->nqueue++;
	t->queued++;
}

/*
 * A queue that was not empty has a wake-up on its way already: the thread
 * takes the queue after epoll_wait reported wake_fd, so it takes this op
 * with the earlier ones. One eventfd write saved per op in a burst.
 */
void kube_tp_submit(struct transport *tp, enum tp_op op, struct tx *t)
{
	bool wake;

	pthread_mutex_lock(&tp->mu);
	wake = tp->nqueue == 0;
	kube_tp_push(tp, op, t);
	pthread_mutex_unlock(&tp->mu);
	if (wake)
		kube_tp_wake(tp);
}

/* Transport thread: the transfer is over (it is out of the multi handle). */
static void tp_finish(struct transport *tp, struct tx *t, CURLcode rc)
{
	pthread_mutex_lock(&tp->mu);
	t->done = true;
	t->result = rc;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&tp->mu);
}

/* The lane a transfer runs in; its owner chose it (watch.c). */
static struct tp_lane *tx_lane(struct transport *tp, const struct tx *t)
{
	if (t->lane >= tp->nlanes)
		BUG("a transfer for lane %u of a transport of %u", t->lane, tp->nlanes);
	return &tp->lanes[t->lane];
}

/* Transport thread: put a transfer into its lane's multi handle. */
static void tp_add(struct transport *tp, struct tx *t)
{
	if (curl_multi_add_handle(tx_lane(tp, t)->multi, t->h) == CURLM_OK)
		t->in_multi = true;
	else
		tp_finish(tp, t, CURLE_FAILED_INIT);
}

/* Transport thread: a transfer left the multi handle. */
static void tp_removed(struct tx *t)
{
	t->in_multi = false;
}

static void tp_run_ops(struct transport *tp, struct tp_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tx *t = items[i].tx;

		switch (items[i].op) {
		case TP_ADD:
			tp_add(tp, t);
			break;
		case TP_CANCEL:
			if (t->in_multi) {
				curl_multi_remove_handle(tx_lane(tp, t)->multi, t->h);
				tp_removed(t);
				tp_finish(tp, t, CURLE_ABORTED_BY_CALLBACK);
			}
			break;
		}
		/*
		 * After this the owner may free t: do not touch it again. Only
		 * kube_tx_wait_locked looks at `queued`, and only once `done`:
		 * waking the owner of a transfer still running (every TP_ADD)
		 * would cost it a context switch for nothing.
		 */
		pthread_mutex_lock(&tp->mu);
		if (--t->queued == 0 && t->done)
			pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&tp->mu);
	}
}

/* epoll's data of a lane's socket: the lane above the descriptor. */
static uint64_t sock_key(const struct tp_lane *l, curl_socket_t s)
{
	return (uint64_t)l->idx << 32 | (uint32_t)s;
}

/* epoll's data of wake_fd: no lane has this index. */
#define TP_WAKE_KEY UINT64_MAX

/*
 * libcurl's socket callback (transport thread, from inside a call on the
 * lane's multi handle): keep the epoll set as libcurl wants it. socketp
 * (curl_multi_assign) marks a socket already in the set; libcurl forgets
 * it with the REMOVE, which comes before it closes the socket, so a new
 * socket of the same number starts unmarked.
 */
static int sock_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct tp_lane *l = userp;
	struct transport *tp = l->tp;
	struct epoll_event ev = { .data.u64 = sock_key(l, s) };

	(void)h;
	if (what == CURL_POLL_REMOVE) {
		if (socketp && epoll_ctl(tp->ep_fd, EPOLL_CTL_DEL, s, NULL))
			log_warn("kube transport: epoll_ctl(DEL %d): %s", s, strerror(errno));
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	/*
	 * Failing (ENOMEM, ENOSPC: max_user_watches) we still answer 0: -1
	 * marks the whole multi handle dead in libcurl 7.88 (every transfer,
	 * for good). Unwatched, this socket's transfers end at their timeouts.
	 */
	if (epoll_ctl(tp->ep_fd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev)) {
		log_warn("kube transport: cannot watch socket %d: %s", s, strerror(errno));
		return 0;
	}
	if (!socketp)
		curl_multi_assign(l->multi, s, l);
	return 0;
}

/* libcurl's timer callback (transport thread): when to run the lane's timeouts. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct tp_lane *l = userp;

	(void)m;
	l->timer_at_ms = timeout_ms < 0 ? -1 : clock_now_ms() + timeout_ms;
	return 0;
}

void kube_tp_wake(struct transport *tp)
{
	uint64_t one = 1;

	/*
	 * wake_fd is edge-triggered and never read: each write is an edge
	 * epoll reports once (a read a wake-up saved). The counter would fill
	 * after 2^64 - 2 writes; EAGAIN then would still leave an edge pending.
	 */
	if (write(tp->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("kube transport: cannot wake the transport thread: %s", strerror(errno));
}

/* Transport thread: hand every finished transfer of a lane back to its owner. */
static void tp_collect(struct transport *tp, struct tp_lane *l)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left))) {
		CURL *h = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct tx *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(l->multi, h);	/* msg is invalid from here */
		if (!t)
			BUG("a transfer without its tx");
		tp_removed(t);
		tp_finish(tp, t, rc);
	}
}

/* Transport thread: how long epoll_wait may sleep (-1: until an event). */
static int tp_wait_ms(const struct transport *tp, int64_t now)
{
	int64_t at = -1;

	for (unsigned i = 0; i < tp->nlanes; i++) {
		int64_t t = tp->lanes[i].timer_at_ms;

		if (t >= 0 && (at < 0 || t < at))
			at = t;
	}
	if (at < 0)
		return -1;
	return at <= now ? 0 : (int)(at - now < TRANSPORT_MAX_WAIT_MS ? at - now
								: TRANSPORT_MAX_WAIT_MS);
}

/* Transport thread: tell libcurl what epoll saw. */
static void tp_events(struct transport *tp, const struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t key = ev[i].data.u64;
		int bits = 0, running;
		CURLMcode mc;

		if (key == TP_WAKE_KEY)
			continue;	/* edge-triggered: nothing to read (kube_tp_wake) */
		if ((key >> 32) >= tp->nlanes)
			BUG("an epoll event of lane %u", (unsigned)(key >> 32));
		if (ev[i].events & (EPOLLIN | EPOLLHUP))
			bits |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			bits |= CURL_CSELECT_OUT;
		if (ev[i].events & EPOLLERR)
			bits |= CURL_CSELECT_ERR;
		mc = curl_multi_socket_action(tp->lanes[key >> 32].multi, (curl_socket_t)(uint32_t)key,
					      bits, &running);
		if (mc != CURLM_OK)
			log_warn("kube transport: curl_multi_socket_action: %s",
				 curl_multi_strerror(mc));
	}
}

static void *tp_main(void *arg)
{
	struct transport *tp = arg;
	struct epoll_event ev[TP_EVENTS];

	for (;;) {
		struct tp_item *items;
		size_t n;
		bool stopping;
		int64_t now;
		int nev, running;
		CURLMcode mc;

		pthread_mutex_lock(&tp->mu);
		items = tp->queue;
		n = tp->nqueue;
		tp->queue = NULL;
		tp->nqueue = tp->aqueue = 0;
		stopping = tp->stopping;
		pthread_mutex_unlock(&tp->mu);
		tp_run_ops(tp, items, n);
		free(items);
		if (stopping)
			break;

		now = clock_now_ms();
		nev = epoll_wait(tp->ep_fd, ev, TP_EVENTS, tp_wait_ms(tp, now));
		if (nev < 0) {
			if (errno != EINTR)
				BUG("epoll_wait: %s", strerror(errno));
			continue;
		}
		tp_events(tp, ev, nev);
		now = clock_now_ms();
		for (unsigned i = 0; i < tp->nlanes; i++) {
			struct tp_lane *l = &tp->lanes[i];

			if (l->timer_at_ms >= 0 && now >= l->timer_at_ms) {
				l->timer_at_ms = -1;	/* timer_cb sets the next one */
				mc = curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
							      &running);
				if (mc != CURLM_OK)
					log_warn("kube transport: curl_multi_socket_action: %s",
						 curl_multi_strerror(mc));
			}
			tp_collect(tp, l);
		}
	}
	return NULL;
}

static void tp_free(struct transport *tp);

/* A lane's multi handle, driven by the transport's loop. */
static int lane_init(struct transport *tp, unsigned idx)
{
	struct tp_lane *l = &tp->lanes[idx];

	l->tp = tp;
	l->idx = idx;
	l->timer_at_ms = -1;
	l->multi = curl_multi_init();
	if (!l->multi)
		return -1;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* libcurl's default is 100 streams a connection; the server's SETTINGS
	 * still cap it (kube-apiserver: --http2-max-streams-per-connection) */
	curl_multi_setopt(l->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)TP_MAX_STREAMS);
	return 0;
}

/* The epoll set, eventfd, lanes and thread of a transport that has a loop. */
static int tp_start_loop(struct transport *tp, unsigned nlanes, struct err *e)
{
	struct epoll_event ev = { 0 };
	sigset_t all, old;
	int rc;

	tp->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	tp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tp->ep_fd < 0 || tp->wake_fd < 0)
		return err_set(e, KUBE_ERR_OTHER, "cannot create the kube transport's epoll set: %s",
			       strerror(errno));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = TP_WAKE_KEY;
	if (epoll_ctl(tp->ep_fd, EPOLL_CTL_ADD, tp->wake_fd, &ev))
		return err_set(e, KUBE_ERR_OTHER, "cannot watch the kube transport's eventfd: %s",
			       strerror(errno));
	for (tp->nlanes = 0; tp->nlanes < nlanes; tp->nlanes++) {
		if (lane_init(tp, tp->nlanes))
			return err_set(e, KUBE_ERR_INVALID, "cannot create libcurl multi handles");
	}
	/* The thread is ours, not the application's: no process signal goes to it,
	 * whatever mask the caller had (a daemon collects SIGTERM with sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tp->thread, NULL, tp_main, tp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return err_set(e, KUBE_ERR_OTHER, "cannot start the kube transport thread: %s",
			       strerror(rc));
	tp->started = true;
	return 0;
}

int kube_tp_new(struct transport **out, unsigned nlanes, struct err *e)
{
	struct transport *tp = xcalloc(1, sizeof(*tp));
	int rc, i;

	*out = NULL;
	if (nlanes > TP_LANES_MAX)
		BUG("a transport of %u lanes", nlanes);
	atomic_init(&tp->refs, 1);
	tp->ep_fd = tp->wake_fd = -1;
	pthread_mutex_init(&tp->mu, NULL);
	kube_direct_init(&tp->direct);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&tp->share_locks[i], NULL);
	tp->share = curl_share_init();
	if (!tp->share) {
		tp_free(tp);
		return err_set(e, KUBE_ERR_INVALID, "cannot create a libcurl share handle");
	}
	curl_share_setopt(tp->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(tp->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(tp->share, CURLSHOPT_USERDATA, tp);
	curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	/* TLS sessions only where one thread makes every handshake (direct.c) */
	if (nlanes)
		curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (nlanes && (rc = tp_start_loop(tp, nlanes, e))) {
		tp_free(tp);
		return rc;
	}
	*out = tp;
	return 0;
}

int kube_tp_watches(struct transport *tp, struct transport **out, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&tp->mu);
	if (!tp->watches)
		rc = kube_tp_new(&tp->watches, KUBE_WATCH_LANES, e);
	*out = tp->watches;
	pthread_mutex_unlock(&tp->mu);
	return rc;
}

/* Stop the thread and free; no transfer may be in flight (kube_client_free's rule). */
static void tp_free(struct transport *tp)
{
	int i;

	kube_tp_unref(tp->watches);

	if (tp->started) {
		pthread_mutex_lock(&tp->mu);
		tp->stopping = true;
		pthread_mutex_unlock(&tp->mu);
		kube_tp_wake(tp);
		pthread_join(tp->thread, NULL);
	}
	for (i = 0; i < (int)tp->nlanes; i++)	/* closes the connections (sock_cb: ep_fd still open) */
		curl_multi_cleanup(tp->lanes[i].multi);
	if (tp->ep_fd >= 0)
		close(tp->ep_fd);
	if (tp->wake_fd >= 0)
		close(tp->wake_fd);
	kube_direct_release(&tp->direct);	/* its handles hold the share */
	if (tp->share && curl_share_cleanup(tp->share) != CURLSHE_OK)
		BUG("a kube transport freed while a handle still uses its share");
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&tp->share_locks[i]);
	free(tp->queue);
	pthread_mutex_destroy(&tp->mu);
	free(tp);
}

/* Drop a client's reference; the last one stops the thread. Accepts NULL. */
void kube_tp_unref(struct transport *tp)
{
	if (tp && atomic_fetch_sub(&tp->refs, 1) == 1)
		tp_free(tp);
}

/* Wait until the transfer is over and no op of it is queued. Caller holds tp->mu. */
void kube_tx_wait_locked(struct transport *tp, struct tx *t)
{
	while (!t->done || t->queued)
		pthread_cond_wait(&t->cond, &tp->mu);
}
