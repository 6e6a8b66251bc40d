// SPDX-License-Identifier: Apache-2.0
/*
 * client.c - the Kubernetes REST client over libcurl (see client.h).
 *
 * DESIGN. One transport thread owns one libcurl multi handle with HTTP/2
 * multiplexing (CURLPIPE_MULTIPLEX, and CURLOPT_PIPEWAIT on every transfer),
 * so every request and every watch of a client (and of its siblings)
 * shares ONE connection to the API server, as client-go does; a new
 * connection is made only when that one breaks (or, over plain HTTP/1.1,
 * per concurrent transfer). At most TP_MAX_PLAIN plain requests are in
 * flight, the rest wait in our queue: past the server's streams limit
 * libcurl would otherwise open one extra connection per waiting transfer.
 * Callers prepare an easy handle on their own thread (taken from a small
 * pool of idle ones), submit it with a queue entry and curl_multi_wakeup,
 * and wait on their transfer's condvar until the transport thread reports
 * it done. A plain request's body is written by the transport thread into
 * the caller's buffer, which the caller reads only after completion. A
 * watch's bytes are handed over through the transfer's `in` buffer: the
 * watching thread takes them, splits lines and calls the caller's callback
 * on its own thread (a slow handler never stalls other streams); when `in`
 * holds more than WATCH_SOFT_MAX bytes the transport pauses that stream
 * (CURL_WRITEFUNC_PAUSE) until the watcher asks to resume it. A watcher
 * that stops (stop flag, callback, error) asks the transport to remove its
 * transfer and waits until it has. The transport thread never calls into
 * libcurl with tp.mu held, since libcurl may call back (write callback,
 * share locks) from inside curl_easy_pause or curl_multi_perform.
 *
 * The transport (thread, multi handle, and the CURLSH share holding the
 * DNS cache and TLS sessions, which the multi's connections point into) is
 * reference-counted so kube_client_new_sibling clients can ride on the same
 * connection; the last kube_client_free stops it.
 *
 * Locks, all leaves (none is held across a curl call): tp.mu guards the
 * transport's queue, `stopping`, and each transfer's
 * done/result/queued/in/paused fields (one lock: transfers are short-lived
 * and the critical sections tiny); pool_lock guards the idle handle stack;
 * tok.lock guards the cached bearer token; bucket.lock (ratelimit.c) guards
 * the token bucket; share_locks[] are taken by libcurl itself, on the
 * transport thread only. The deferred queue and the running counts belong
 * to the transport thread alone. curl_global_init runs once, under
 * pthread_once, before any handle.
 */
#include "kube/client.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/exec_cred.h"
#include "kube/json_lean.h"
#include "kube/ndjson.h"
#include "kube/adaptive.h"
#include "kube/ratelimit.h"

#ifndef CSI_PROVISIONER_VERSION
#define CSI_PROVISIONER_VERSION "dev"
#endif

/* Idle easy handles kept for reuse. */
#define POOL_MAX 64
/* Retry backoff: 250 ms, 500 ms, 1 s, ... capped. */
#define BACKOFF_START_MS 250
#define BACKOFF_MAX_MS 4000
#define CONNECT_TIMEOUT_MS 30000L

struct token_cache {
	pthread_mutex_t lock;	/* guards the fields below */
	char *static_token;	/* from the config; fallback */
	char *file;		/* token file or NULL */
	char *current;		/* last token read from the file */
	int64_t checked_ms;	/* when the file was last looked at; 0 = never */
	struct timespec mtime;
	off_t size;
	ino_t ino;
	struct kube_exec *exec;	/* an exec credential plugin (own lock), or NULL */
};

/* The credentials of one request: a header line and/or a client certificate. */
struct auth {
	char *hdr;			/* "Authorization: Bearer ..." or NULL */
	struct kube_exec_cred cred;	/* from an exec plugin; cert_pem may be set */
	uint64_t gen;			/* the exec credential's generation */
};

static void auth_release(struct auth *a)
{
	if (a->hdr)
		explicit_bzero(a->hdr, strlen(a->hdr));
	free(a->hdr);
	kube_exec_cred_release(&a->cred);
	memset(a, 0, sizeof(*a));
}


/* ---- transport types (code below) ---- */

/* A watch buffers up to this much unread data before its stream is paused. */
#define WATCH_SOFT_MAX ((size_t)1 << 20)
/* Streams we are willing to open on the one connection; past the server's
 * own limit libcurl opens a second connection rather than queueing. */
#define TP_MAX_STREAMS 1000L
/*
 * Plain (non-watch) transfers in flight at once; more wait in our queue.
 * Past the server's streams-per-connection limit (100 on kube-apiserver)
 * libcurl would open a new connection for every waiting transfer, so we
 * stay below it: watches (few, long) plus these.
 */
#define TP_MAX_PLAIN 64
/* How long the transport thread sleeps when nothing happens. */
#define TRANSPORT_IDLE_MS 1000

enum tp_op { TP_ADD, TP_CANCEL, TP_UNPAUSE };

/* One transfer in the multi handle. Owned by the submitting thread. */
struct tx {
	CURL *h;
	pthread_cond_t cond;	/* signalled on done, on data, on op processed */
	/* guarded by tp.mu: */
	bool done;
	CURLcode result;
	unsigned queued;	/* ops of this tx still in the queue */
	bool in_multi;		/* transport thread only */
	/* watches only, guarded by tp.mu: */
	bool streaming;
	struct buf in;		/* received, not yet taken by the watcher */
	bool paused;
};

struct tp_item {
	enum tp_op op;
	struct tx *tx;
};

struct transport {
	atomic_int refs;	/* clients using it (kube_client_new_sibling) */
	/* DNS cache and TLS sessions of every handle; lives as long as the
	 * multi handle, whose connections point into it */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t mu;
	CURLM *multi;
	/* transport thread only: plain transfers in the multi, and those waiting */
	size_t plain_running;
	struct tx **deferred;
	size_t ndeferred, adeferred, deferred_head;
	pthread_t thread;
	bool started;
	bool stopping;		/* guarded by mu */
	struct tp_item *queue;	/* guarded by mu */
	size_t nqueue, aqueue;
};

struct kube_client {
	char *server;
	char *ca_file, *ca_data;
	size_t ca_len;
	bool insecure;
	char *cert_file, *key_file, *cert_data, *key_data;
	size_t cert_len, key_len;
	char *user_agent;
	long timeout_ms;
	size_t body_max;
	kube_write_guard_fn guard;	/* set before the client is shared; may be NULL */
	void *guard_ctx;

	struct token_cache tok;
	struct kube_bucket bucket;
	/*
	 * opts.adaptive: apf is -1 until an answer tells, then whether the
	 * server runs Priority and Fairness; while it is 1 requests go through
	 * aimd instead of the bucket.
	 */
	bool adaptive;
	atomic_int apf;
	struct kube_aimd aimd;

	pthread_mutex_t pool_lock;	/* guards pool and n_pool */
	CURL *pool[POOL_MAX];
	size_t n_pool;

	struct transport *tp;	/* shared with sibling clients */
};

static int tp_new(struct transport **out, struct err *e);
static void tp_unref(struct transport *tp);
static void pace_init(struct kube_client *c, const struct kube_client_opts *o);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
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

static char *memdup0(const char *p, size_t n)
{
	char *q;

	if (!p)
		return NULL;
	q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

/*
 * The exec plugin's provider, with what KUBERNETES_EXEC_INFO tells it about
 * the cluster (the CA file is read for it, as client-go does).
 */
static struct kube_exec *exec_provider(const struct kube_config *cfg)
{
	struct kube_exec_cluster cl = { cfg->server, cfg->ca_data, cfg->ca_data_len, cfg->insecure };
	char *ca = NULL;
	size_t len = 0;
	struct kube_exec *p;

	if (cfg->exec->provide_cluster_info && !cfg->ca_data && cfg->ca_file &&
	    !kube_read_file(cfg->ca_file, KUBE_CONFIG_MAX_SIZE, &ca, &len, NULL)) {
		cl.ca_data = ca;
		cl.ca_len = len;
	}
	p = kube_exec_new(cfg->exec, &cl);
	free(ca);
	return p;
}

int kube_client_new(struct kube_client **out, const struct kube_config *cfg,
		    const struct kube_client_opts *o, struct err *e)
{
	struct kube_client_opts def = { 0 };
	const curl_version_info_data *vi;
	struct kube_client *c;
	double qps;

	*out = NULL;
	if (!o)
		o = &def;
	if (!cfg || !cfg->server || !*cfg->server)
		return err_set(e, KUBE_ERR_INVALID, "no API server address configured");
	if (kube_config_check(cfg, e))
		return e ? e->code : KUBE_ERR_INVALID;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return err_set(e, KUBE_ERR_INVALID, "cannot initialise libcurl: %s",
			       curl_easy_strerror(curl_init_rc));
	vi = curl_version_info(CURLVERSION_NOW);
	if (!strncmp(cfg->server, "https://", 8) && !(vi->features & CURL_VERSION_SSL))
		return err_set(e, KUBE_ERR_INVALID, "libcurl %s was built without TLS",
			       vi->version);

	c = xcalloc(1, sizeof(*c));
	c->server = xstrdup(cfg->server);
	c->ca_file = xstrdup(cfg->ca_file);
	c->ca_data = memdup0(cfg->ca_data, cfg->ca_data_len);
	c->ca_len = cfg->ca_data_len;
	c->insecure = cfg->insecure;
	c->cert_file = xstrdup(cfg->client_cert_file);
	c->key_file = xstrdup(cfg->client_key_file);
	c->cert_data = memdup0(cfg->client_cert_data, cfg->client_cert_data_len);
	c->cert_len = cfg->client_cert_data_len;
	c->key_data = memdup0(cfg->client_key_data, cfg->client_key_data_len);
	c->key_len = cfg->client_key_data_len;
	c->user_agent = o->user_agent ? xstrdup(o->user_agent)
				      : xstrdup("csi-provisioner/" CSI_PROVISIONER_VERSION);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
	c->body_max = o->body_max ? o->body_max : KUBE_BODY_MAX;

	pthread_mutex_init(&c->tok.lock, NULL);
	c->tok.static_token = xstrdup(cfg->token);
	c->tok.file = xstrdup(cfg->token_file);
	if (cfg->exec)
		c->tok.exec = o->credentials_of && o->credentials_of->tok.exec ?
			      kube_exec_ref(o->credentials_of->tok.exec) : exec_provider(cfg);

	qps = o->qps == 0 ? KUBE_DEFAULT_QPS : o->qps;
	kube_bucket_init(&c->bucket, qps, o->burst > 0 ? o->burst : KUBE_DEFAULT_BURST,
			 clock_now_ms());
	pace_init(c, o);

	pthread_mutex_init(&c->pool_lock, NULL);
	if (tp_new(&c->tp, e)) {
		int rc = e ? e->code : KUBE_ERR_OTHER;

		kube_client_free(c);
		return rc ? rc : KUBE_ERR_OTHER;
	}
	*out = c;
	return 0;
}

int kube_client_new_sibling(struct kube_client **out, struct kube_client *base,
			    const struct kube_client_opts *o, struct err *e)
{
	struct kube_client_opts def = { 0 };
	struct kube_client *c;
	double qps;

	*out = NULL;
	if (!base)
		return err_set(e, KUBE_ERR_INVALID, "no client to share a connection with");
	if (!o)
		o = &def;
	c = xcalloc(1, sizeof(*c));
	c->server = xstrdup(base->server);
	c->ca_file = xstrdup(base->ca_file);
	c->ca_data = memdup0(base->ca_data, base->ca_len);
	c->ca_len = base->ca_len;
	c->insecure = base->insecure;
	c->cert_file = xstrdup(base->cert_file);
	c->key_file = xstrdup(base->key_file);
	c->cert_data = memdup0(base->cert_data, base->cert_len);
	c->cert_len = base->cert_len;
	c->key_data = memdup0(base->key_data, base->key_len);
	c->key_len = base->key_len;
	c->user_agent = o->user_agent ? xstrdup(o->user_agent) : xstrdup(base->user_agent);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
	c->body_max = o->body_max ? o->body_max : KUBE_BODY_MAX;
	pthread_mutex_init(&c->tok.lock, NULL);
	c->tok.static_token = xstrdup(base->tok.static_token);
	c->tok.file = xstrdup(base->tok.file);
	c->tok.exec = kube_exec_ref(base->tok.exec);
	qps = o->qps == 0 ? KUBE_DEFAULT_QPS : o->qps;
	kube_bucket_init(&c->bucket, qps, o->burst > 0 ? o->burst : KUBE_DEFAULT_BURST,
			 clock_now_ms());
	pace_init(c, o);
	pthread_mutex_init(&c->pool_lock, NULL);
	c->tp = base->tp;
	atomic_fetch_add(&c->tp->refs, 1);
	*out = c;
	return 0;
}

void kube_client_free(struct kube_client *c)
{
	size_t i;

	if (!c)
		return;
	/* the handles first: the transport holds the share they point to */
	for (i = 0; i < c->n_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	tp_unref(c->tp);
	pthread_mutex_destroy(&c->pool_lock);
	kube_bucket_release(&c->bucket);
	kube_aimd_release(&c->aimd);
	pthread_mutex_destroy(&c->tok.lock);
	free(c->tok.static_token);
	free(c->tok.file);
	free(c->tok.current);
	kube_exec_unref(c->tok.exec);
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->user_agent);
	free(c);
}

char *kube_path_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0, n = s ? strlen(s) : 0;
	char *out = xmalloc(n * 3 + 1);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- handles ---- */

static CURL *handle_get(struct kube_client *c)
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

static void handle_put(struct kube_client *c, CURL *h)
{
	curl_easy_reset(h);	/* keeps the live connection */
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < POOL_MAX) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}


/* ---- the transport thread (see DESIGN at the top) ---- */

static void tx_init(struct tx *t, CURL *h, bool streaming)
{
	memset(t, 0, sizeof(*t));
	t->h = h;
	t->streaming = streaming;
	clock_cond_init(&t->cond);
	buf_init(&t->in, KUBE_WATCH_LINE_MAX + WATCH_SOFT_MAX);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
}

static void tx_release(struct tx *t)
{
	pthread_cond_destroy(&t->cond);
	buf_release(&t->in);
}

/* Queue an op for the transport thread. Caller holds tp->mu, then wakes it. */
static void tp_push(struct transport *tp, enum tp_op op, struct tx *t)
{
	tp->queue = xgrow(tp->queue, tp->nqueue + 1, &tp->aqueue, sizeof(*tp->queue));
	tp->queue[tp->nqueue].op = op;
	tp->queue[tp->nqueue].tx = t;
	tp->nqueue++;
	t->queued++;
}

static void tp_submit(struct transport *tp, enum tp_op op, struct tx *t)
{
	pthread_mutex_lock(&tp->mu);
	tp_push(tp, op, t);
	pthread_mutex_unlock(&tp->mu);
	curl_multi_wakeup(tp->multi);
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

/* Transport thread: put a transfer into the multi handle. */
static void tp_add(struct transport *tp, struct tx *t)
{
	if (curl_multi_add_handle(tp->multi, t->h) == CURLM_OK) {
		t->in_multi = true;
		if (!t->streaming)
			tp->plain_running++;
	} else {
		tp_finish(tp, t, CURLE_FAILED_INIT);
	}
}

/* Transport thread: a transfer left the multi handle. */
static void tp_removed(struct transport *tp, struct tx *t)
{
	t->in_multi = false;
	if (!t->streaming)
		tp->plain_running--;
}

/* Transport thread: start waiting plain transfers while there is room. */
static void tp_start_deferred(struct transport *tp)
{
	while (tp->deferred_head < tp->ndeferred && tp->plain_running < TP_MAX_PLAIN)
		tp_add(tp, tp->deferred[tp->deferred_head++]);
	if (tp->deferred_head == tp->ndeferred)
		tp->deferred_head = tp->ndeferred = 0;
}

static void tp_run_ops(struct transport *tp, struct tp_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tx *t = items[i].tx;

		switch (items[i].op) {
		case TP_ADD:
			if (!t->streaming && tp->plain_running >= TP_MAX_PLAIN) {
				/* its owner waits for done: only this thread touches it now */
				tp->deferred = xgrow(tp->deferred, tp->ndeferred + 1,
						     &tp->adeferred, sizeof(*tp->deferred));
				tp->deferred[tp->ndeferred++] = t;
			} else {
				tp_add(tp, t);
			}
			break;
		case TP_CANCEL:
			/* only watches are cancelled, and watches are never deferred */
			if (t->in_multi) {
				curl_multi_remove_handle(tp->multi, t->h);
				tp_removed(tp, t);
				tp_finish(tp, t, CURLE_ABORTED_BY_CALLBACK);
			}
			break;
		case TP_UNPAUSE:
			/* may call the write callback right here, which takes tp->mu */
			if (t->in_multi)
				curl_easy_pause(t->h, CURLPAUSE_CONT);
			break;
		}
		/* after this the owner may free t: do not touch it again */
		pthread_mutex_lock(&tp->mu);
		t->queued--;
		pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&tp->mu);
	}
}

static void *tp_main(void *arg)
{
	struct transport *tp = arg;

	for (;;) {
		struct tp_item *items;
		size_t n;
		bool stopping;
		int running;
		CURLMsg *msg;
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

		mc = curl_multi_perform(tp->multi, &running);
		if (mc != CURLM_OK)
			log_warn("kube transport: curl_multi_perform: %s", curl_multi_strerror(mc));
		while ((msg = curl_multi_info_read(tp->multi, &running))) {
			CURL *h = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct tx *t = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&t);
			curl_multi_remove_handle(tp->multi, h);	/* msg is invalid from here */
			if (!t)
				BUG("a transfer without its tx");
			tp_removed(tp, t);
			tp_finish(tp, t, rc);
		}
		tp_start_deferred(tp);
		mc = curl_multi_poll(tp->multi, NULL, 0, TRANSPORT_IDLE_MS, NULL);
		if (mc != CURLM_OK)
			log_warn("kube transport: curl_multi_poll: %s", curl_multi_strerror(mc));
	}
	return NULL;
}

static void tp_free(struct transport *tp);

static int tp_new(struct transport **out, struct err *e)
{
	struct transport *tp = xcalloc(1, sizeof(*tp));
	sigset_t all, old;
	int rc, i;

	*out = NULL;
	atomic_init(&tp->refs, 1);
	pthread_mutex_init(&tp->mu, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&tp->share_locks[i], NULL);
	tp->share = curl_share_init();
	tp->multi = curl_multi_init();
	if (!tp->share || !tp->multi) {
		tp_free(tp);
		return err_set(e, KUBE_ERR_INVALID, "cannot create libcurl share and multi handles");
	}
	curl_share_setopt(tp->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(tp->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(tp->share, CURLSHOPT_USERDATA, tp);
	curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(tp->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* libcurl's default is 100 streams a connection; the server's SETTINGS
	 * still cap it (kube-apiserver: --http2-max-streams-per-connection) */
	curl_multi_setopt(tp->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)TP_MAX_STREAMS);
	/* The thread is ours, not the application's: no process signal goes to it,
	 * whatever mask the caller had (a daemon collects SIGTERM with sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tp->thread, NULL, tp_main, tp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		tp_free(tp);
		return err_set(e, KUBE_ERR_OTHER, "cannot start the kube transport thread: %s",
			       strerror(rc));
	}
	tp->started = true;
	*out = tp;
	return 0;
}

/* Stop the thread and free; no transfer may be in flight (kube_client_free's rule). */
static void tp_free(struct transport *tp)
{
	int i;

	if (tp->started) {
		pthread_mutex_lock(&tp->mu);
		tp->stopping = true;
		pthread_mutex_unlock(&tp->mu);
		curl_multi_wakeup(tp->multi);
		pthread_join(tp->thread, NULL);
	}
	if (tp->multi)
		curl_multi_cleanup(tp->multi);	/* closes the connection */
	if (tp->share)
		curl_share_cleanup(tp->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&tp->share_locks[i]);
	free(tp->queue);
	free(tp->deferred);
	pthread_mutex_destroy(&tp->mu);
	free(tp);
}

/* Drop a client's reference; the last one stops the thread. Accepts NULL. */
static void tp_unref(struct transport *tp)
{
	if (tp && atomic_fetch_sub(&tp->refs, 1) == 1)
		tp_free(tp);
}

/* Wait until the transfer is over and no op of it is queued. Caller holds tp->mu. */
static void tx_wait_locked(struct transport *tp, struct tx *t)
{
	while (!t->done || t->queued)
		pthread_cond_wait(&t->cond, &tp->mu);
}

/* Run one plain transfer on the shared connection; blocks until it is over. */
static CURLcode tp_perform(struct kube_client *c, CURL *h)
{
	struct tx t;
	CURLcode rc;

	tx_init(&t, h, false);
	tp_submit(c->tp, TP_ADD, &t);
	pthread_mutex_lock(&c->tp->mu);
	tx_wait_locked(c->tp, &t);
	rc = t.result;
	pthread_mutex_unlock(&c->tp->mu);
	tx_release(&t);
	return rc;
}

/* ---- bearer token ---- */

/*
 * The credentials of a request. `force` (after a 401) re-reads the token
 * file now, or has the exec plugin run again unless the credential it
 * cached is newer than `used` (the one the server refused). Caller
 * releases *a.
 */
static int auth_get(struct kube_client *c, bool force, uint64_t used, struct auth *a,
		    struct err *e)
{
	struct token_cache *t = &c->tok;
	int64_t now = clock_now_ms();
	const char *tok;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (t->exec) {
		/* the plugin's own lock; ours is not held across a run */
		if ((rc = kube_exec_get(t->exec, force ? used : 0, &a->cred, &a->gen, e)))
			return rc;
		if (a->cred.token)
			a->hdr = xasprintf("Authorization: Bearer %s", a->cred.token);
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	if (t->file && (force || !t->checked_ms || now - t->checked_ms >= KUBE_TOKEN_RECHECK_MS)) {
		struct stat st;
		struct err re = ERR_INIT;

		t->checked_ms = now;
		if (stat(t->file, &st)) {
			if (!t->current && !t->static_token)
				rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "cannot read token file '%s': %s",
					     t->file, strerror(errno));
			else
				log_warn("cannot read token file '%s': %s; using the last token",
					 t->file, strerror(errno));
		} else if (force || !t->current || st.st_ino != t->ino || st.st_size != t->size ||
			   st.st_mtim.tv_sec != t->mtime.tv_sec ||
			   st.st_mtim.tv_nsec != t->mtime.tv_nsec) {
			char *data = NULL;
			size_t len = 0;

			if (kube_read_file(t->file, KUBE_TOKEN_MAX_SIZE, &data, &len, &re) ||
			    kube_token_clean(data, &len, t->file, &re)) {
				if (!t->current && !t->static_token)
					rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "token file: %s",
						     err_msg(&re));
				else
					log_warn("token file: %s; using the last token", err_msg(&re));
				if (data)
					explicit_bzero(data, len);
				free(data);
			} else {
				if (t->current)
					explicit_bzero(t->current, strlen(t->current));
				free(t->current);
				t->current = data;
				t->ino = st.st_ino;
				t->size = st.st_size;
				t->mtime = st.st_mtim;
				log_v(4, "read bearer token from '%s'", t->file);
			}
			err_release(&re);
		}
	}
	tok = t->current && *t->current ? t->current : t->static_token;
	if (!rc && tok && *tok)
		a->hdr = xasprintf("Authorization: Bearer %s", tok);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- one transfer ---- */

struct xfer {
	struct buf body;	/* success body, or the error body */
	bool too_large;
	size_t max;
};

static size_t body_write(char *data, size_t size, size_t n, void *p)
{
	struct xfer *x = p;

	if (buf_append(&x->body, data, n)) {
		x->too_large = true;
		return 0;	/* aborts with CURLE_WRITE_ERROR */
	}
	(void)size;
	return n;
}

/* Where the CA comes from, for TLS messages. Caller frees. */
static char *ca_source(const struct kube_client *c)
{
	if (c->insecure)
		return xstrdup("none (insecure-skip-tls-verify)");
	if (c->ca_data)
		return xstrdup("certificate-authority-data");
	if (c->ca_file)
		return xasprintf("'%s'", c->ca_file);
	return xstrdup("the system CA bundle");
}

static int map_curl(const struct kube_client *c, CURLcode cc, const char *errbuf,
		    const char *verb, const char *url, struct err *e)
{
	const char *what = NULL;
	char *ca = NULL;
	int code;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = KUBE_ERR_TIMEOUT;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		code = KUBE_ERR_CANCELLED;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		ca = ca_source(c);
		what = "TLS: the API server's certificate does not verify against CA ";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
		ca = ca_source(c);
		what = "TLS: cannot load CA ";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CLIENTCERT:
		what = "TLS: the client certificate or key was refused or cannot be loaded";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		what = "TLS handshake failed";
		code = KUBE_ERR_TLS;
		break;
	default:
		code = KUBE_ERR_TRANSPORT;
	}
	/* curl's own text is kept in parentheses: it names the precise cause */
	if (what)
		err_set(e, code, "%s %s: %s%s (%s%s%s)", verb, url, what, ca ? ca : "",
			curl_easy_strerror(cc), errbuf && *errbuf ? ": " : "",
			errbuf ? errbuf : "");
	else
		err_set(e, code, "%s %s: %s%s%s%s", verb, url, curl_easy_strerror(cc),
			errbuf && *errbuf ? " (" : "", errbuf ? errbuf : "",
			errbuf && *errbuf ? ")" : "");
	free(ca);
	return code;
}

/* Options every request shares: URL, TLS, auth, headers. */
static void setup(struct kube_client *c, CURL *h, const char *url, struct curl_slist *hdrs,
		  const struct auth *au, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->tp->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	/*
	 * Wait for the shared connection rather than opening another, where
	 * HTTP/2 can be negotiated (TLS); over plain http it cannot, and
	 * waiting would queue every request behind the one in flight.
	 */
	if (!strncmp(c->server, "https://", 8))
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca_data) {
			struct curl_blob blob = { c->ca_data, c->ca_len, CURL_BLOB_NOCOPY };

			curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		} else if (c->ca_file) {
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		}
	}
	if (au && au->cred.cert_pem) {
		/* an exec plugin's certificate: copied, the credential is freed after the call */
		struct curl_blob cb = { au->cred.cert_pem, au->cred.cert_len, CURL_BLOB_COPY };
		struct curl_blob kb = { au->cred.key_pem, au->cred.key_len, CURL_BLOB_COPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		return;
	}
	if (c->cert_data) {
		struct curl_blob blob = { c->cert_data, c->cert_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data) {
		struct curl_blob blob = { c->key_data, c->key_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file) {
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	}
}

static struct curl_slist *headers(const char *auth, const char *ctype)
{
	struct curl_slist *l = NULL;
	char *ct;

	l = curl_slist_append(l, "Accept: application/json");
	l = curl_slist_append(l, "Expect:");
	if (auth)
		l = curl_slist_append(l, auth);
	if (ctype) {
		ct = xasprintf("Content-Type: %s", ctype);
		l = curl_slist_append(l, ct);
		free(ct);
	}
	if (!l)
		BUG("curl_slist_append failed");
	return l;
}

struct request {
	const char *verb;
	const char *path;
	const char *ctype;	/* NULL: no body */
	const char *payload;
	size_t payload_len;
	bool idempotent;
	int64_t deadline_ms;	/* clock_now_ms() instant to end by; 0: none */
	bool once;		/* a single attempt, whatever the outcome */
	bool lean;		/* parse the answer with kube_json_loadb_lean */
};

struct attempt {
	long status;		/* 0 when the transfer failed */
	long retry_after_s;	/* -1 when absent */
	bool apf;		/* the answer carried Priority and Fairness headers */
};

/* Spot X-Kubernetes-PF-PriorityLevel-UID among an answer's headers. */
static size_t header_seen(char *data, size_t size, size_t n, void *p)
{
	static const char name[] = "x-kubernetes-pf-prioritylevel-uid:";
	struct attempt *a = p;

	if (n >= sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1))
		a->apf = true;
	return size * n;
}

/* The client's per-attempt timeout, cut to what is left before the request's deadline. */
static long attempt_timeout_ms(const struct kube_client *c, const struct request *r)
{
	int64_t left;

	if (!r->deadline_ms)
		return c->timeout_ms;
	left = r->deadline_ms - clock_now_ms();
	return left < 1 ? 1 : left < c->timeout_ms ? (long)left : c->timeout_ms;
}

/*
 * Before each attempt: a request past its deadline is not sent, nor is a
 * write while the client's guard forbids writes.
 */
static int may_send(struct kube_client *c, const struct request *r, struct err *e)
{
	const char *why;

	if (r->deadline_ms && clock_now_ms() >= r->deadline_ms)
		return err_set(e, KUBE_ERR_TIMEOUT, "%s %s: deadline passed before the request was sent",
			       r->verb, r->path);
	if (c->guard && strcmp(r->verb, "GET") && (why = c->guard(c->guard_ctx)))
		return err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: %s", r->verb, r->path, why);
	return 0;
}

/*
 * One HTTP exchange. Returns 0 when a response arrived (any status; body
 * in x->body) or a kube code for a transport failure.
 */
static int perform(struct kube_client *c, const struct request *r, const struct auth *au,
		   struct xfer *x, struct attempt *a, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = xasprintf("%s%s", c->server, r->path);
	struct curl_slist *hdrs = headers(au->hdr, r->ctype);
	CURL *h = handle_get(c);
	curl_off_t ra = -1;
	CURLcode cc;
	int rc = 0;

	setup(c, h, url, hdrs, au, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, attempt_timeout_ms(c, r));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (!strcmp(r->verb, "GET"))
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->verb);
	if (r->payload) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->payload);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->payload_len);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_seen);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	a->status = 0;
	a->retry_after_s = -1;
	a->apf = false;
	cc = tp_perform(c, h);
	if (cc != CURLE_OK) {
		if (x->too_large)
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s %s: response larger than %zu bytes",
				     r->verb, r->path, x->max);
		else
			rc = map_curl(c, cc, errbuf, r->verb, url, e);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra >= 0)
		a->retry_after_s = (long)ra;
out:
	handle_put(c, h);
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

static void sleep_ms(int64_t ms)
{
	struct timespec until;

	if (ms <= 0)
		return;
	until = clock_deadline_ms(ms);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

static int64_t backoff(int attempt)
{
	return backoff_delay_ms(BACKOFF_START_MS, BACKOFF_MAX_MS, (unsigned)(attempt - 1));
}

static void throttle(struct kube_client *c, const char *verb, const char *path)
{
	int64_t waited = kube_bucket_wait(&c->bucket);

	/* client-go's "Waited for ... due to client-side throttling". */
	if (waited >= 1000)
		log_v(2, "waited %" PRId64 " ms due to client-side throttling, not priority and fairness, request: %s %s",
		      waited, verb, path);
}

/* ---- pacing: the fixed bucket, or the server's flow control followed ---- */

#define AIMD_INITIAL 8		/* in flight, before the server's answers say more */
#define AIMD_MAX 256

static void pace_init(struct kube_client *c, const struct kube_client_opts *o)
{
	c->adaptive = o->adaptive && o->qps == 0;
	atomic_init(&c->apf, -1);
	kube_aimd_init(&c->aimd, AIMD_INITIAL, 1, AIMD_MAX);
}

static bool following_apf(struct kube_client *c)
{
	return c->adaptive && atomic_load(&c->apf) == 1;
}

/*
 * Before an attempt: the bucket's token, or a slot in flight, waited for
 * no longer than the request may take. 1 when a slot was taken (pace_end
 * gives it back), 0 when the bucket paced it, -1 with e set when no slot
 * freed in time.
 */
static int pace_begin(struct kube_client *c, const struct request *r, struct err *e)
{
	int64_t waited, wait_ms = c->timeout_ms;

	if (!following_apf(c)) {
		throttle(c, r->verb, r->path);
		return 0;
	}
	if (r->deadline_ms) {
		wait_ms = r->deadline_ms - clock_now_ms();
		wait_ms = wait_ms < 1 ? 1 : wait_ms;
	}
	waited = kube_aimd_acquire(&c->aimd, wait_ms);
	if (waited < 0) {
		err_set(e, KUBE_ERR_TIMEOUT, "%s %s: no request slot freed within %" PRId64 " ms "
			"(%.0f in flight allowed, adapted to the server's priority and fairness)",
			r->verb, r->path, wait_ms, kube_aimd_limit(&c->aimd));
		return -1;
	}
	if (waited >= 1000)
		log_v(2, "waited %" PRId64 " ms for one of %.0f requests in flight (adapted to the "
		      "server's priority and fairness), request: %s %s", waited,
		      kube_aimd_limit(&c->aimd), r->verb, r->path);
	return 1;
}

/* After an attempt: learn whether the server has flow control, and from its answer. */
static void pace_end(struct kube_client *c, bool slot, const char *verb, int rc,
		     const struct attempt *a, int64_t took_ms)
{
	enum kube_aimd_outcome o = KUBE_AIMD_OTHER;
	int was;

	if (c->adaptive && !rc && a->status) {
		/* only a success without the headers says the server has no APF */
		if (a->apf || (a->status >= 200 && a->status < 300)) {
			was = atomic_exchange(&c->apf, a->apf ? 1 : 0);
			if (was != (a->apf ? 1 : 0))
				log_info("API server %s priority and fairness: %s", c->server,
					 a->apf ? "following its flow control instead of a fixed client-side rate"
						: "absent; fixed client-side rate of the defaults");
		}
	}
	if (!slot)
		return;
	if (!rc && a->status == 429)
		o = KUBE_AIMD_OVERLOAD;
	else if (!rc && a->status && a->status < 500)
		o = KUBE_AIMD_OK;
	/* a write's time says how loaded the server is; a list's, how large it is */
	kube_aimd_done(&c->aimd, o, strcmp(verb, "GET") ? took_ms : -1);
}

void kube_client_pace(struct kube_client *c, struct kube_client_pace *out)
{
	out->adaptive = following_apf(c);
	out->inflight_limit = out->adaptive ? kube_aimd_limit(&c->aimd) : 0;
	out->rate = out->adaptive ? kube_aimd_rate(&c->aimd) : 0;
}

/*
 * The server says only "Unauthorized": add which request and which
 * credential it refused, so the reader knows what to fix.
 */
static void explain_auth(struct kube_client *c, int rc, const char *verb, const char *path,
			 struct err *e)
{
	char *cred;

	if (rc != KUBE_ERR_UNAUTHORIZED)
		return;
	if (c->tok.file)
		cred = xasprintf("the bearer token from file '%s'", c->tok.file);
	else if (c->tok.static_token)
		cred = xstrdup("the bearer token of the configuration");
	else if (c->tok.exec)
		cred = xstrdup("the credential of the exec plugin (run again once)");
	else if (c->cert_file || c->cert_data)
		cred = xstrdup("the client certificate");
	else
		cred = xstrdup("an anonymous request (no credentials configured)");
	err_set(e, rc, "%s %s: %s: the API server did not accept %s", verb, path, err_msg(e),
		cred);
	free(cred);
}

/* Whether a retry after `delay` ms would still start before the request's deadline. */
static bool retry_fits(const struct request *r, int64_t delay)
{
	return !r->deadline_ms || clock_now_ms() + delay < r->deadline_ms;
}

/* Run a request with retries; *out (may be NULL) gets the decoded 2xx body. */
static int request(struct kube_client *c, const struct request *r, json_t **out,
		   struct err *e)
{
	struct xfer x;
	struct attempt a;
	bool force_token = false, reauthed = false;
	struct auth au = { 0 };
	uint64_t used = 0;
	int attempt, max_attempts, rc = 0, slot;
	int64_t delay, t0;

	if (out)
		*out = NULL;
	if (!r->path || r->path[0] != '/')
		return err_set(e, KUBE_ERR_INVALID, "API path '%s' is not absolute",
			       r->path ? r->path : "(null)");
	x.max = c->body_max;
	buf_init(&x.body, x.max);
	max_attempts = r->once ? 1 : KUBE_MAX_ATTEMPTS;
	for (attempt = 1;; attempt++) {
		buf_reset(&x.body);
		x.too_large = false;
		auth_release(&au);
		if ((rc = auth_get(c, force_token, used, &au, e)))
			goto out;
		used = au.gen;
		slot = pace_begin(c, r, e);
		if (slot < 0) {
			rc = KUBE_ERR_TIMEOUT;
			goto out;
		}
		if ((rc = may_send(c, r, e))) {
			if (slot)
				kube_aimd_done(&c->aimd, KUBE_AIMD_OTHER, -1);
			goto out;
		}
		force_token = false;
		t0 = clock_now_ms();
		rc = perform(c, r, &au, &x, &a, e);
		pace_end(c, slot, r->verb, rc, &a, clock_now_ms() - t0);
		delay = backoff(attempt);
		if (rc) {
			if ((rc == KUBE_ERR_TRANSPORT || rc == KUBE_ERR_TIMEOUT) && r->idempotent &&
			    attempt < max_attempts && retry_fits(r, delay)) {
				log_v(3, "%s %s failed, retrying in %" PRId64 " ms: %s", r->verb,
				      r->path, delay, err_msg(e));
				sleep_ms(delay);
				continue;
			}
			goto out;
		}
		if (a.status >= 200 && a.status < 300)
			break;
		if (a.retry_after_s >= 0 && (a.status == 429 || a.status >= 500))
			delay = (a.retry_after_s > KUBE_RETRY_AFTER_MAX_S
					 ? KUBE_RETRY_AFTER_MAX_S : a.retry_after_s) * 1000;
		if (attempt < (a.status == 429 && !r->once ? KUBE_MAX_429_ATTEMPTS : max_attempts) &&
		    retry_fits(r, delay) &&
		    (a.status == 429 || (a.status >= 500 && r->idempotent))) {
			log_v(3, "%s %s: HTTP %ld, retrying in %" PRId64 " ms", r->verb, r->path,
			      a.status, delay);
			sleep_ms(delay);
			continue;
		}
		if (a.status == 401 && c->tok.exec)
			kube_exec_refused(c->tok.exec, au.gen);	/* for the next request too */
		if (a.status == 401 && (c->tok.file || c->tok.exec) && !reauthed &&
		    attempt < max_attempts) {
			/* The token may have rotated, or the plugin's credential expired early. */
			reauthed = force_token = true;
			continue;
		}
		rc = kube_status_error(a.status, x.body.data,
				       x.body.len > KUBE_ERROR_BODY_MAX ? KUBE_ERROR_BODY_MAX
									: x.body.len,
				       r->verb, r->path, e);
		explain_auth(c, rc, r->verb, r->path, e);
		goto out;
	}
	if (out) {
		json_error_t jerr;

		*out = (r->lean ? kube_json_loadb_lean : json_loadb)(x.body.data ? x.body.data : "",
								     x.body.len, 0, &jerr);
		if (!*out)
			rc = err_set(e, KUBE_ERR_DECODE, "%s %s: response is not JSON: %s",
				     r->verb, r->path, jerr.text);
	}
out:
	auth_release(&au);
	buf_release(&x.body);
	return rc;
}

/* ---- verbs ---- */

int kube_get(struct kube_client *c, const char *path, json_t **out, struct err *e)
{
	struct request r = { .verb = "GET", .path = path, .idempotent = true };

	return request(c, &r, out, e);
}

int kube_get_lean(struct kube_client *c, const char *path, json_t **out, struct err *e)
{
	struct request r = { .verb = "GET", .path = path, .idempotent = true, .lean = true };

	return request(c, &r, out, e);
}

static int with_body(struct kube_client *c, const char *verb, const char *path,
		     const char *ctype, json_t *body, bool idempotent, json_t **out,
		     struct err *e)
{
	struct request r = { .verb = verb, .path = path, .ctype = ctype,
			     .idempotent = idempotent };
	char *payload;
	int rc;

	if (out)
		*out = NULL;
	if (!body)
		return err_set(e, KUBE_ERR_INVALID, "%s %s: no body", verb, path);
	payload = json_dumps(body, JSON_COMPACT);
	if (!payload)
		return err_set(e, KUBE_ERR_INVALID, "%s %s: body cannot be serialized", verb, path);
	r.payload = payload;
	r.payload_len = strlen(payload);
	rc = request(c, &r, out, e);
	free(payload);
	return rc;
}

int kube_create(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e)
{
	return with_body(c, "POST", path, "application/json", body, false, out, e);
}

int kube_update(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e)
{
	return with_body(c, "PUT", path, "application/json", body, true, out, e);
}

int kube_patch(struct kube_client *c, const char *path, const char *patch_type,
	       json_t *patch, json_t **out, struct err *e)
{
	if (!patch_type || (strcmp(patch_type, "application/merge-patch+json") &&
			    strcmp(patch_type, "application/json-patch+json") &&
			    strcmp(patch_type, "application/strategic-merge-patch+json") &&
			    strcmp(patch_type, "application/apply-patch+yaml")))
		return err_set(e, KUBE_ERR_INVALID, "PATCH %s: unknown patch type '%s'", path,
			       patch_type ? patch_type : "(null)");
	/* A JSON patch may "add" to a list twice when repeated: not idempotent. */
	return with_body(c, "PATCH", path, patch_type, patch, false, out, e);
}

int kube_delete(struct kube_client *c, const char *path, const char *uid, const char *rv,
		struct err *e)
{
	struct request r = { .verb = "DELETE", .path = path, .idempotent = true };
	json_t *opts, *pre;
	char *payload = NULL;
	int rc;

	if (uid || rv) {
		pre = json_object();
		if (uid)
			json_object_set_new(pre, "uid", json_string(uid));
		if (rv)
			json_object_set_new(pre, "resourceVersion", json_string(rv));
		opts = json_pack("{s:s, s:s, s:o}", "kind", "DeleteOptions", "apiVersion", "v1",
				 "preconditions", pre);
		payload = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
		json_decref(opts);
		if (!payload)
			return err_set(e, KUBE_ERR_INVALID, "DELETE %s: bad preconditions", path);
		r.ctype = "application/json";
		r.payload = payload;
		r.payload_len = strlen(payload);
	}
	rc = request(c, &r, NULL, e);
	free(payload);
	return rc;
}

int kube_call(struct kube_client *c, const char *verb, const char *path, json_t *body,
	      const struct kube_call_opts *o, json_t **out, struct err *e)
{
	struct request r = { .verb = verb, .path = path,
			     .idempotent = verb && (!strcmp(verb, "GET") || !strcmp(verb, "PUT")),
			     .deadline_ms = o ? o->deadline_ms : 0, .once = o && o->no_retry };
	char *payload = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!verb || (strcmp(verb, "GET") && strcmp(verb, "POST") && strcmp(verb, "PUT")))
		return err_set(e, KUBE_ERR_INVALID, "%s %s: kube_call takes GET, POST or PUT",
			       verb ? verb : "(null)", path);
	if (!strcmp(verb, "GET") ? body != NULL : body == NULL)
		return err_set(e, KUBE_ERR_INVALID, "%s %s: %s", verb, path,
			       body ? "a GET takes no body" : "no body");
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload)
			return err_set(e, KUBE_ERR_INVALID, "%s %s: body cannot be serialized",
				       verb, path);
		r.ctype = "application/json";
		r.payload = payload;
		r.payload_len = strlen(payload);
	}
	rc = request(c, &r, out, e);
	free(payload);
	return rc;
}

void kube_client_set_write_guard(struct kube_client *c, kube_write_guard_fn fn, void *ctx)
{
	c->guard = fn;
	c->guard_ctx = ctx;
}

/* ---- watch ---- */

/* fn asked to stop: not an error. Never a kube code (those are > 0). */
#define WATCH_FN_STOPPED (-1)

struct watch {
	struct transport *tp;
	struct tx t;
	kube_watch_fn fn;
	void *ctx;
	struct kube_ndjson nd;
	/* transport thread only until the transfer is done: */
	long status;		/* 0 until the headers are in */
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
	if (t->in.len && t->in.len + n > WATCH_SOFT_MAX) {
		/* the watcher is behind: hold this stream (only) until it catches up */
		t->paused = true;
		pthread_mutex_unlock(&w->tp->mu);
		return CURL_WRITEFUNC_PAUSE;
	}
	if (buf_append(&t->in, data, n)) {
		pthread_mutex_unlock(&w->tp->mu);
		return 0;	/* cannot happen below the soft cap; aborts the transfer */
	}
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&w->tp->mu);
	return n;
}

/*
 * Watching thread: wait for stream bytes, the end of the transfer, or the
 * stop flag (looked at every KUBE_WATCH_POLL_MS). Returns the bytes (caller
 * frees) or NULL; *done when the transfer is over and all bytes are taken.
 */
static char *watch_take(struct watch *w, const atomic_bool *stop, size_t *len, bool *done)
{
	struct tx *t = &w->t;
	bool unpause = false;
	char *data = NULL;

	*len = 0;
	pthread_mutex_lock(&w->tp->mu);
	while (!t->done && !t->in.len && !(stop && atomic_load(stop))) {
		struct timespec ts = clock_deadline_ms(KUBE_WATCH_POLL_MS);

		pthread_cond_timedwait(&t->cond, &w->tp->mu, &ts);
	}
	if (t->in.len) {
		data = buf_detach(&t->in, len);
		if (t->paused) {
			t->paused = false;
			tp_push(w->tp, TP_UNPAUSE, t);
			unpause = true;
		}
	}
	*done = t->done && !data;
	pthread_mutex_unlock(&w->tp->mu);
	if (unpause)
		curl_multi_wakeup(w->tp->multi);
	return data;
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
		tp_push(w->tp, TP_CANCEL, t);
	pthread_mutex_unlock(&w->tp->mu);
	if (cancel)
		curl_multi_wakeup(w->tp->multi);
	pthread_mutex_lock(&w->tp->mu);
	tx_wait_locked(w->tp, t);
	pthread_mutex_unlock(&w->tp->mu);
}

int kube_watch(struct kube_client *c, const char *path, kube_watch_fn fn, void *ctx,
	       const atomic_bool *stop, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct watch w = { .tp = c->tp, .fn = fn, .ctx = ctx, .e = e };
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
	if (!following_apf(c))
		throttle(c, "GET", path);
	if ((rc = auth_get(c, false, 0, &au, e)))
		return rc;

	kube_ndjson_init(&w.nd, KUBE_WATCH_LINE_MAX);
	buf_init(&w.errbody, KUBE_ERROR_BODY_MAX);
	url = xasprintf("%s%s", c->server, path);
	hdrs = headers(au.hdr, NULL);
	h = handle_get(c);
	setup(c, h, url, hdrs, &au, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_recv);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	/* No overall timeout: a watch lives until the server ends it. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, KUBE_WATCH_IDLE_MAX_S);
	tx_init(&w.t, h, true);
	tp_submit(w.tp, TP_ADD, &w.t);

	while (!done) {
		size_t len;
		char *data = watch_take(&w, stop, &len, &done);

		if (data) {
			rc = kube_ndjson_feed(&w.nd, data, len, watch_line, &w, e);
			free(data);
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
	} else if (w.t.result != CURLE_OK) {
		rc = map_curl(c, w.t.result, errbuf, "watch", url, e);
	} else if (w.status != 200) {
		rc = kube_status_error(w.status, w.errbody.data, w.errbody.len, "watch", path, e);
		explain_auth(c, rc, "watch", path, e);
		if (rc == KUBE_ERR_UNAUTHORIZED && c->tok.exec) {
			/* refused: the plugin runs again now, so the next watch has a fresh one */
			struct auth fresh;

			if (!auth_get(c, true, au.gen, &fresh, NULL))
				auth_release(&fresh);
		}
	} else if (kube_ndjson_pending(&w.nd)) {
		/* The stream ended without a final newline: finish that line. */
		rc = kube_ndjson_feed(&w.nd, "\n", 1, watch_line, &w, e);
		if (rc == WATCH_FN_STOPPED)
			rc = 0;
	}
	tx_release(&w.t);
	handle_put(c, h);
	curl_slist_free_all(hdrs);
	free(url);
	auth_release(&au);
	kube_ndjson_release(&w.nd);
	buf_release(&w.errbody);
	return rc;
}
