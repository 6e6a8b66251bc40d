// SPDX-License-Identifier: Apache-2.0
/*
 * watch.c - a streaming watch (kube_watch, see client.h) on one of the
 * connections the watches of a client and its siblings share.
 *
 * DESIGN. The watches' transport thread (kube_tp_watches in transport.c:
 * connections of their own, apart from the requests'; claims and PVs have
 * one each, the other kinds share a third: kube_watch_lane) receives the
 * stream's bytes
 * into the transfer's `in` buffer (watch_recv); the watching thread takes
 * them (trading `in` for its own emptied buffer), splits lines (ndjson.c),
 * parses each event into its arena (json_arena.h) and calls the caller's
 * callback on its own thread, so a slow handler never stalls other streams. The stream is
 * never paused (see KUBE_WATCH_BACKLOG_MAX: with bookworm's libcurl that
 * would stall the whole connection); a watcher more than that far behind
 * has its watch ended, to resume from its last event. A watcher that
 * stops (stop flag, callback, error) asks
 * the transport to remove its transfer (TP_CANCEL) and waits until it has.
 * Lock: tp.mu only (see client_int.h), never held across a callback.
 */
#include "kube/client_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "kube/ndjson.h"

/* fn asked to stop: not an error. Never a kube code (those are > 0). */
#define WATCH_FN_STOPPED (-1)
/* A taken buffer larger than this is freed once handled, not kept for the next swap. */
#define WATCH_KEEP_MAX ((size_t)256 << 10)

struct watch {
	struct transport *tp;
	struct tx t;
	kube_watch_fn fn;
	void *ctx;
	struct kube_ndjson nd;
	/* watching thread only: bytes taken from t.in, swapped with it (watch_take) */
	struct buf taken;
	/* transport thread only until the transfer is done: */
	long status;		/* 0 until the headers are in */
	bool behind;		/* ended: the watcher was KUBE_WATCH_BACKLOG_MAX behind */
	struct buf errbody;	/* body of a non-200 answer, capped */
	struct err *e;
};

static int watch_line(void *p, const char *line, size_t len)
{
	struct watch *w = p;
	const char *type;
	json_t *ev, *obj;
	int rc;

	if ((rc = kube_watch_event_parse(line, len, &ev, &type, &obj, w->e)))
		return rc;
	if (!strcmp(type, "ERROR")) {
		rc = kube_status_error_json(obj, "watch", w->e);
	} else {
		rc = w->fn(w->ctx, type, obj) ? WATCH_FN_STOPPED : 0;
	}
	json_decref(ev);
	return rc;
}

/* Transport thread: bytes of the stream arrived. */
static size_t watch_recv(char *data, size_t size, size_t n, void *p)
{
	struct watch *w = p;
	struct tx *t = &w->t;

	(void)size;
	if (!w->status)
		curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		/* An error answer is one Status object; keep what fits. */
		size_t room = w->errbody.cap - w->errbody.len;

		buf_append(&w->errbody, data, n < room ? n : room);
		return n;
	}
	pthread_mutex_lock(&w->tp->mu);
	if (buf_append(&t->in, data, n)) {
		/* the watcher is that far behind: end the stream (never pause it) */
		w->behind = true;
		pthread_mutex_unlock(&w->tp->mu);
		return 0;
	}
	pthread_mutex_unlock(&w->tp->mu);
	/*
	 * Woken after the unlock, the watcher does not block at once on the
	 * mutex this thread still holds (two more futex calls a chunk). t lives
	 * on: the watcher frees it only after this transfer is over, which is
	 * this thread's to say.
	 */
	pthread_cond_broadcast(&t->cond);
	return n;
}

/*
 * Watching thread: wait for stream bytes, the end of the transfer, or the
 * stop flag (looked at every KUBE_WATCH_POLL_MS). The bytes are taken by
 * swapping the transfer's buffer with the watcher's empty one, so in the
 * steady state neither thread allocates per chunk (a detached buffer was a
 * malloc on the transport thread and a free on this one). True when there
 * are bytes (in w->taken); *done when the transfer is over and all bytes
 * are taken.
 */
static bool watch_take(struct watch *w, const atomic_bool *stop, bool *done)
{
	struct tx *t = &w->t;
	bool got = false;

	pthread_mutex_lock(&w->tp->mu);
	while (!t->done && !t->in.len && !(stop && atomic_load(stop))) {
		struct timespec ts = clock_deadline_ms(KUBE_WATCH_POLL_MS);

		pthread_cond_timedwait(&t->cond, &w->tp->mu, &ts);
	}
	if (t->in.len) {
		struct buf full = t->in;

		t->in = w->taken;
		w->taken = full;
		got = true;
	}
	*done = t->done && !got;
	pthread_mutex_unlock(&w->tp->mu);
	return got;
}

/* Watching thread: the taken bytes are handled; empty the buffer for the next swap. */
static void watch_taken(struct watch *w)
{
	if (w->taken.alloc > WATCH_KEEP_MAX)
		buf_release(&w->taken);	/* a backlog's worth: give it back */
	else
		buf_reset(&w->taken);
}

/* Watching thread: end the transfer if it still runs, and wait until the
 * transport is done with it. */
static void watch_end(struct watch *w)
{
	struct tx *t = &w->t;
	bool cancel;

	pthread_mutex_lock(&w->tp->mu);
	cancel = !t->done;
	if (cancel)
		kube_tp_push(w->tp, TP_CANCEL, t);
	pthread_mutex_unlock(&w->tp->mu);
	if (cancel)
		kube_tp_wake(w->tp);
	pthread_mutex_lock(&w->tp->mu);
	kube_tx_wait_locked(w->tp, t);
	pthread_mutex_unlock(&w->tp->mu);
}

unsigned kube_watch_lane(const char *path)
{
	/* lane i > 0 is own[i]'s alone; lane 0 holds every other watch */
	static const char *const own[KUBE_WATCH_LANES] = {
		NULL, "persistentvolumeclaims", "persistentvolumes",
	};
	size_t end = strcspn(path, "?"), start = end;

	while (start > 0 && path[start - 1] != '/')
		start--;
	for (unsigned i = 1; i < KUBE_WATCH_LANES; i++) {
		if (end - start == strlen(own[i]) && !memcmp(path + start, own[i], end - start))
			return i;
	}
	return 0;
}

int kube_watch(struct kube_client *c, const char *path, kube_watch_fn fn, void *ctx,
	       const atomic_bool *stop, struct err *e)
{
	return kube_watch_idle(c, path, fn, ctx, stop, KUBE_WATCH_IDLE_MAX_S, e);
}

int kube_watch_idle(struct kube_client *c, const char *path, kube_watch_fn fn, void *ctx,
		    const atomic_bool *stop, long idle_max_s, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct watch w = { .fn = fn, .ctx = ctx, .e = e };
	struct curl_slist *hdrs = NULL;
	char *url = NULL;
	struct auth au;
	CURL *h;
	bool done = false, stopped = false;
	int rc = 0;

	if (!path || path[0] != '/')
		return err_set(e, KUBE_ERR_INVALID, "API path '%s' is not absolute",
			       path ? path : "(null)");
	if (stop && atomic_load(stop))
		return err_set(e, KUBE_ERR_CANCELLED, "watch %s: stopped", path);
	/* a watch holds no seat of the server's once it runs: no slot here */
	if (!kube_pace_following_apf(c) && (rc = kube_pace_throttle(c, "GET", path, e)))
		return rc;
	if ((rc = kube_tp_watches(c->tp, &w.tp, e)))
		return rc;
	if ((rc = kube_auth_get(c, false, 0, &au, e)))
		return rc;

	kube_ndjson_init(&w.nd, KUBE_WATCH_LINE_MAX);
	buf_init(&w.taken, KUBE_WATCH_BACKLOG_MAX);	/* t.in's cap: they trade places */
	buf_init(&w.errbody, KUBE_ERROR_BODY_MAX);
	url = xasprintf("%s%s", c->server, path);
	hdrs = kube_easy_headers(au.hdr, NULL);
	h = kube_handle_get(c);
	kube_easy_setup(c, h, url, hdrs, &au, errbuf, true);
	/* the watches' transport: its share outlives its connection */
	curl_easy_setopt(h, CURLOPT_SHARE, w.tp->share);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_recv);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	/* No overall timeout: a watch lives until the server ends it. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_max_s > 0 ? idle_max_s : KUBE_WATCH_IDLE_MAX_S);
	kube_tx_init(&w.t, h);
	w.t.lane = kube_watch_lane(path);
	kube_tp_submit(w.tp, TP_ADD, &w.t);

	while (!done) {
		if (watch_take(&w, stop, &done)) {
			rc = kube_ndjson_feed(&w.nd, w.taken.data, w.taken.len, watch_line, &w, e);
			watch_taken(&w);
			if (rc)
				break;
		}
		if (!done && stop && atomic_load(stop)) {
			stopped = true;
			break;
		}
	}
	watch_end(&w);

	/* From here the transport thread is done with w. A stream that ended
	 * with no byte of body never reached watch_recv. */
	if (!w.status)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w.status);
	if (rc == WATCH_FN_STOPPED) {
		rc = 0;
	} else if (rc) {
		/* e already says why */
	} else if (stopped) {
		rc = err_set(e, KUBE_ERR_CANCELLED, "watch %s: stopped", path);
	} else if (w.behind) {
		rc = err_set(e, KUBE_ERR_TOO_LARGE, "watch %s: the watcher fell %zu MiB behind the "
			     "stream; it was ended, to resume from the last event handled", path,
			     KUBE_WATCH_BACKLOG_MAX >> 20);
	} else if (w.t.result != CURLE_OK) {
		rc = kube_curl_error(c, w.t.result, errbuf, "watch", url, e);
	} else if (w.status != 200) {
		rc = kube_status_error(w.status, w.errbody.data, w.errbody.len, "watch", path, e);
		kube_auth_explain(c, rc, "watch", path, e);
		if (rc == KUBE_ERR_UNAUTHORIZED && c->tok.exec) {
			/* refused: the plugin runs again now, so the next watch has a fresh one */
			struct auth fresh;

			if (!kube_auth_get(c, true, au.gen, &fresh, NULL))
				kube_auth_release(&fresh);
		}
	} else if (kube_ndjson_pending(&w.nd)) {
		/* The stream ended without a final newline: finish that line. */
		rc = kube_ndjson_feed(&w.nd, "\n", 1, watch_line, &w, e);
		if (rc == WATCH_FN_STOPPED)
			rc = 0;
	}
	kube_tx_release(&w.t);
	kube_handle_put(c, h);
	curl_slist_free_all(hdrs);
	free(url);
	kube_auth_release(&au);
	kube_ndjson_release(&w.nd);
	buf_release(&w.taken);
	buf_release(&w.errbody);
	return rc;
}
