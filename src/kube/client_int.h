/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client_int.h - what the files of the Kubernetes REST client share, and
 * nothing outside src/kube/ may use (callers include kube/client.h).
 *
 * The client is four files along curl's lines, plus its lifecycle:
 *   client.c     creating, sharing (siblings) and freeing a struct kube_client
 *   transport.c  libcurl: the client's transport (share, the requests'
 *                pool) and the watches' (an epoll loop driving its multi
 *                handles by curl_multi_socket_action), transfers (struct
 *                tx), the watches' easy-handle pool
 *   direct.c     the requests' handles: a request runs on its caller's
 *                thread, on an HTTP/1.1 connection of its own
 *   easy.c       an easy handle's options (URL, TLS, credentials,
 *                headers) and curl errors as kube errors
 *   auth.c       credentials: bearer token (token file re-read), exec plugin
 *                glue (exec_cred.c runs the plugin), 401 explanations
 *   request.c    one request: pacing (bucket or adaptive), write guard,
 *                deadline, retries, status decoding; the verbs
 *   watch.c      a streaming watch on one of the watches' connections
 *
 * Locks, all leaves (none is held across a curl call, none while taking
 * another): transport.mu guards the transport's queue, `stopping`, and each
 * transfer's done/result/queued/in fields; kube_client.pool_lock
 * guards the idle watch handles, direct_pool.mu the requests';
 * token_cache.lock guards the cached bearer
 * token; the bucket's and the aimd's own locks (ratelimit.c, adaptive.c)
 * guard the pacing state; transport.share_locks[] are taken by libcurl
 * itself, on whichever thread runs a transfer. The exec plugin's lock (exec_cred.c)
 * is taken with none of ours held.
 */
#ifndef KUBE_CLIENT_INT_H
#define KUBE_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/err.h"
#include "kube/adaptive.h"
#include "kube/client.h"
#include "kube/exec_cred.h"
#include "kube/ratelimit.h"

/* Idle watch handles kept for reuse. */
#define KUBE_POOL_MAX 64
/*
 * A watch buffers up to this much data its watcher has not taken yet; past
 * it the watch ends (KUBE_ERR_TOO_LARGE) and the watcher resumes from the
 * last event it handled. A stream is never paused: with libcurl 7.88
 * (bookworm) a paused HTTP/2 stream stops the input of its whole connection
 * (curl issue #10988, fixed in 8.1), so every request and watch sharing it
 * stalled until its timeout (list pages cut off for 30 s at start-up).
 */
#define KUBE_WATCH_BACKLOG_MAX ((size_t)16 << 20)

/*
 * The watches' connections: the two busiest kinds of a provisioner, claims
 * and PVs, have one each, every other watch shares the third. On a shared
 * connection libcurl 7.88 runs every transfer of it on each of its socket
 * events (transport.c).
 */
#define KUBE_WATCH_LANES 3

/* ---- auth.c ---- */

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

/*
 * The token cache of a new client: the configuration's token and token
 * file, and its exec plugin (shared with `exec_of`'s when that has one,
 * else a new provider). Release with kube_auth_cache_release.
 */
void kube_auth_cache_init(struct token_cache *t, const struct kube_config *cfg,
			  const struct token_cache *exec_of);
/* A sibling's cache: the same token, file and plugin (shared) as `base`. */
void kube_auth_cache_copy(struct token_cache *t, const struct token_cache *base);
void kube_auth_cache_release(struct token_cache *t);

/*
 * The credentials of a request. `force` (after a 401) re-reads the token
 * file now, or has the exec plugin run again unless the credential it
 * cached is newer than `used` (the one the server refused). Caller
 * releases *a with kube_auth_release.
 */
int kube_auth_get(struct kube_client *c, bool force, uint64_t used, struct auth *a,
		  struct err *e);
/* Wipe and free. Accepts a zeroed struct. */
void kube_auth_release(struct auth *a);

/* After a KUBE_ERR_UNAUTHORIZED (rc): say in *e which credential was refused. */
void kube_auth_explain(struct kube_client *c, int rc, const char *verb, const char *path,
		       struct err *e);

/* ---- transport.c ---- */

enum tp_op { TP_ADD, TP_CANCEL };

/* One transfer in the multi handle. Owned by the submitting thread. */
struct tx {
	CURL *h;
	pthread_cond_t cond;	/* signalled on done, on data, on op processed */
	/* guarded by tp.mu: */
	bool done;
	CURLcode result;
	unsigned queued;	/* ops of this tx still in the queue */
	bool in_multi;		/* transport thread only */
	unsigned lane;		/* the multi handle it runs in (set before submit) */
	/* guarded by tp.mu: */
	struct buf in;		/* received, not yet taken by the watcher */
};

struct tp_item {
	enum tp_op op;
	struct tx *tx;
};

/*
 * The most multi handles (lanes) one transport drives: the watches' own
 * (KUBE_WATCH_LANES); the requests' transport has one.
 */
#define TP_LANES_MAX KUBE_WATCH_LANES

/*
 * One multi handle of a transport (transport thread only): its own pool of
 * connections, so a transfer in one lane never shares a connection with one
 * in another; libcurl's timer of that handle as a monotonic deadline (-1:
 * none).
 */
struct tp_lane {
	struct transport *tp;
	unsigned idx;
	CURLM *multi;
	int64_t timer_at_ms;
};

/*
 * The requests' easy handles, each keeping one HTTP/1.1 connection alive
 * (direct.c): TP_DIRECT_IDLE keep their connections; past that many
 * running, a request waits TP_DIRECT_GROW_MS for one before it opens
 * another; at most TP_DIRECT_MAX run at once. At QPS 50 one or two are
 * busy.
 */
#define TP_DIRECT_MAX 64
#define TP_DIRECT_IDLE 8
#define TP_DIRECT_GROW_MS 100
struct direct_pool {
	pthread_mutex_t mu;	/* guards the fields below */
	pthread_cond_t cond;	/* a handle given back, or a client closed */
	CURL *idle[TP_DIRECT_IDLE];
	size_t nidle, nbusy, nwait;
};

struct transport {
	atomic_int refs;	/* clients using it (kube_client_new_sibling) */
	/* the DNS cache of every handle, and the TLS sessions of the watches'
	 * (a client's requests' handles keep their own, direct.c); lives as
	 * long as the multi handles, whose connections point into it */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t mu;
	struct tp_lane lanes[TP_LANES_MAX];
	unsigned nlanes;
	/*
	 * The loop (transport thread only, but wake_fd is written by any
	 * thread): an epoll set of every lane's sockets and wake_fd, an
	 * eventfd that kube_tp_wake writes (edge-triggered, never read).
	 */
	int ep_fd;
	int wake_fd;
	pthread_t thread;
	bool started;
	bool stopping;		/* guarded by mu */
	struct tp_item *queue;	/* guarded by mu */
	size_t nqueue, aqueue;
	/* the watches' own transport (kube_tp_watches), made on the first
	 * watch and freed with this one; guarded by mu */
	struct transport *watches;
	/* the requests' handles (client transports; unused in the watches') */
	struct direct_pool direct;
};

/* curl_global_init, once per process; KUBE_ERR_INVALID when it failed. */
int kube_curl_global_init(struct err *e);

/*
 * A new transport: a client's (nlanes 0: no loop, no thread) or, with its
 * thread, one of `nlanes` multi handles (up to TP_LANES_MAX); drop
 * references with kube_tp_unref.
 */
int kube_tp_new(struct transport **out, unsigned nlanes, struct err *e);
/* Drop a client's reference; the last one stops the thread. Accepts NULL. */
void kube_tp_unref(struct transport *tp);

/*
 * The transport the watches of tp's clients run on: their own thread and
 * KUBE_WATCH_LANES multi handles (a connection each, see
 * kube_watch_lane), made on the first call and freed with tp. Borrowed
 * for as long as the caller holds a reference to tp.
 */
int kube_tp_watches(struct transport *tp, struct transport **out, struct err *e);

/* An easy handle from the client's pool (or a new one); give it back with kube_handle_put. */
CURL *kube_handle_get(struct kube_client *c);
void kube_handle_put(struct kube_client *c, CURL *h);

void kube_tx_init(struct tx *t, CURL *h);
void kube_tx_release(struct tx *t);
/* Queue an op for the transport thread. Caller holds tp->mu, then calls kube_tp_wake. */
void kube_tp_push(struct transport *tp, enum tp_op op, struct tx *t);
/* Wake the transport thread (any thread, no lock needed). */
void kube_tp_wake(struct transport *tp);
/* Queue an op and wake the transport thread. */
void kube_tp_submit(struct transport *tp, enum tp_op op, struct tx *t);
/* Wait until the transfer is over and no op of it is queued. Caller holds tp->mu. */
void kube_tx_wait_locked(struct transport *tp, struct tx *t);
/* ---- direct.c ---- */

void kube_direct_init(struct direct_pool *d);
/* No request may be running (kube_client_free's rule; BUG otherwise). */
void kube_direct_release(struct direct_pool *d);
/*
 * A handle for one request of c (verb and path name it in errors): waits
 * while TP_DIRECT_MAX run, until deadline_ms (0: none) or the client's
 * timeout (KUBE_ERR_TIMEOUT), or the client's close (KUBE_ERR_CANCELLED).
 */
int kube_direct_get(struct kube_client *c, int64_t deadline_ms, const char *verb,
		    const char *path, CURL **out, struct err *e);
/* Give it back (reset; its connection stays open for the next, or closes). */
void kube_direct_put(struct transport *tp, CURL *h);
/* Wake the waiters of kube_direct_get (a client of tp was closed). */
void kube_direct_wake(struct transport *tp);

/* ---- watch.c ---- */

/* The lane (0 to KUBE_WATCH_LANES - 1) of a watch of `path` (borrowed):
 * by the resource its path ends with, before any query. */
unsigned kube_watch_lane(const char *path);

/* ---- easy.c ---- */

/*
 * Options every request and watch shares: URL, TLS, credentials, headers
 * (borrowed until the transfer ends). A watch (`watch`) asks for HTTP/2 and
 * waits for its lane's connection; a request speaks HTTP/1.1 on its own.
 */
void kube_easy_setup(struct kube_client *c, CURL *h, const char *url, struct curl_slist *hdrs,
		     const struct auth *au, char *errbuf, bool watch);
/* The request headers: Accept, the Authorization line `auth`, Content-Type `ctype`. */
struct curl_slist *kube_easy_headers(const char *auth, const char *ctype);
/* A failed transfer as a kube code, with curl's own words and, for TLS, which CA. */
int kube_curl_error(const struct kube_client *c, CURLcode cc, const char *errbuf,
		    const char *verb, const char *url, struct err *e);

/* ---- request.c ---- */

/*
 * How requests are paced: the fixed bucket, or (opts.adaptive) the
 * in-flight bound while the server runs Priority and Fairness. Shared by a
 * client and its best-effort siblings; the last reference frees it.
 */
struct kube_pacer {
	atomic_int refs;
	struct kube_bucket bucket;
	/*
	 * opts.adaptive: apf is -1 until an answer tells, then whether the
	 * server runs Priority and Fairness; while it is 1 requests go through
	 * aimd instead of the bucket.
	 */
	bool adaptive;
	atomic_int apf;
	struct kube_aimd aimd;
};

/* The pacing of a new client from its options; drop it with kube_pacer_unref. */
struct kube_pacer *kube_pacer_new(const struct kube_client_opts *o);
/* Another reference to p (a best-effort sibling's). */
struct kube_pacer *kube_pacer_ref(struct kube_pacer *p);
/* Drop a reference; the last frees. Accepts NULL. */
void kube_pacer_unref(struct kube_pacer *p);
/* Whether requests follow the server's priority and fairness (no bucket) now. */
bool kube_pace_following_apf(struct kube_client *c);
/*
 * The fixed bucket's token (a spare one for a best-effort client; logs a
 * long wait); KUBE_ERR_CANCELLED (e set) once the client is closed.
 */
int kube_pace_throttle(struct kube_client *c, const char *verb, const char *path,
		       struct err *e);

/* Whether c was closed, or its base (a best-effort sibling's pacing is its
 * base's, closed with it): its requests not yet sent are not sent. */
bool kube_client_is_closed(struct kube_client *c);

/* ---- client.c ---- */

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
	/*
	 * The budget requests spend: the client's own, or its base's for a
	 * best-effort sibling (kube_client_new_best_effort), whose requests
	 * take only what the base's leave (best_effort). `closed` ends such a
	 * sibling's waits without closing the shared pacing.
	 */
	struct kube_pacer *pace;
	bool best_effort;
	atomic_bool closed;

	pthread_mutex_t pool_lock;	/* guards pool and n_pool */
	CURL *pool[KUBE_POOL_MAX];
	size_t n_pool;

	struct transport *tp;	/* shared with sibling clients */
};

#endif
