/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.h - a small, thread-safe REST client for the Kubernetes API.
 *
 * One struct kube_client per API server identity, shared by every thread
 * of the process. It speaks JSON over HTTPS with TLS always verified against the configured CA unless the
 * kubeconfig says insecure-skip-tls-verify, authenticates with a bearer
 * token (a token file is re-read when it rotates) or a client
 * certificate, and applies a client-side token bucket (qps/burst) shared
 * by all threads, as client-go does (or, with opts.adaptive, follows the
 * server's flow control); a best-effort sibling spends the same budget
 * only where the client's own requests leave room. A request runs on its
 * caller's thread, HTTP/1.1 on one of a small pool of kept-alive
 * connections (at most 64 requests at once, 8 idle connections kept); the
 * watches of a client are multiplexed on three HTTP/2 connections (when
 * the server offers it: claims, PVs, the other kinds), driven by an
 * internal transport thread made on the first watch; watch callbacks run
 * on the watching thread.
 *
 * Requests: the caller passes an absolute API path, with any query
 * already encoded ("/api/v1/persistentvolumes?limit=500"); use
 * kube_path_escape for names and selectors. Responses decode to jansson
 * trees the caller owns. Errors are enum kube_code (status.h) with the
 * server's own message in e->msg.
 *
 * Retries: 429 is retried for every verb (the server did not run the
 * request), honouring Retry-After up to KUBE_RETRY_AFTER_MAX_S; 5xx and
 * transport errors are retried only for idempotent verbs (GET, PUT,
 * DELETE), with exponential backoff, KUBE_MAX_ATTEMPTS attempts in all.
 * A 401 with a token file re-reads the file once and retries.
 *
 * Threads: every function may be called from any number of threads at
 * once, except kube_client_free, which must run after all calls returned.
 */
#ifndef KUBE_CLIENT_H
#define KUBE_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"

/* Defaults, as upstream's --kube-api-qps / --kube-api-burst. */
#define KUBE_DEFAULT_QPS 5.0
#define KUBE_DEFAULT_BURST 10
/* Per-attempt deadline of a non-watch request. */
#define KUBE_DEFAULT_TIMEOUT_MS 60000L
/* Largest response body (a LIST of thousands of objects fits). */
#define KUBE_BODY_MAX ((size_t)64 << 20)
/* Largest error body kept for decoding; the rest is dropped. */
#define KUBE_ERROR_BODY_MAX ((size_t)1 << 20)
#define KUBE_MAX_ATTEMPTS 4
/* a 429 (the server's flow control) is retried longer, as client-go's 10 retries */
#define KUBE_MAX_429_ATTEMPTS 10
#define KUBE_RETRY_AFTER_MAX_S 10
/* A watch with no byte for this long is considered dead. Watch callers
 * should ask for timeoutSeconds well below it. */
#define KUBE_WATCH_IDLE_MAX_S 900L
/* How often a blocked watch looks at its stop flag. */
#define KUBE_WATCH_POLL_MS 200
/* A token file is looked at (stat) at most this often. */
#define KUBE_TOKEN_RECHECK_MS 5000

struct kube_client;

struct kube_client_opts {
	double qps;		/* 0: KUBE_DEFAULT_QPS; < 0: no client-side limit */
	int burst;		/* <= 0: KUBE_DEFAULT_BURST */
	/*
	 * With qps == 0: where the server runs API Priority and Fairness (its
	 * answers carry X-Kubernetes-PF-* headers), no token bucket but an
	 * adaptive in-flight bound (kube/adaptive.h); elsewhere, and until the
	 * first answer tells, KUBE_DEFAULT_QPS/BURST.
	 */
	bool adaptive;
	long timeout_ms;	/* <= 0: KUBE_DEFAULT_TIMEOUT_MS; not applied to watches */
	const char *user_agent;	/* NULL: "csi-provisioner/<version>"; copied */
	/* 0: KUBE_BODY_MAX; larger responses are KUBE_ERR_TOO_LARGE. The daemon
	 * keeps the default; tests set it small (tests/unit/informer). */
	size_t body_max;
	/*
	 * NULL, or a client made from the same configuration whose exec
	 * plugin's credential cache this one shares (one plugin run for the
	 * process, as client-go caches per configuration). Borrowed during
	 * kube_client_new only.
	 */
	struct kube_client *credentials_of;
};

/*
 * Create a client. Borrows `cfg` and `o` (may be NULL for defaults) only
 * during the call: everything needed is copied. Fails with
 * KUBE_ERR_INVALID when the configuration cannot work (no server, libcurl
 * without TLS). Caller frees *out with kube_client_free.
 */
int kube_client_new(struct kube_client **out, const struct kube_config *cfg,
		    const struct kube_client_opts *o, struct err *e);

/*
 * Another client for the same server and credentials as `base`, with its
 * own options (rate limit, timeout, user agent), that shares base's
 * connections and transport thread: the capacity controller's, whose budget
 * (--kube-api-capacity-qps) still rides on the same connections
 * (tests/tools/informer-dump uses one too). Either client may be freed
 * first; the connection closes with the last. Caller frees *out with
 * kube_client_free.
 */
int kube_client_new_sibling(struct kube_client **out, struct kube_client *base,
			    const struct kube_client_opts *o, struct err *e);

/*
 * A client for requests that can wait (Events, housekeeping sweeps): it
 * shares base's connection, credentials, timeout, user agent and write
 * guard (the one installed now) and, unlike kube_client_new_sibling,
 * base's PACING: its requests spend base's budget (--kube-api-qps/burst,
 * or the adaptive in-flight bound), so the two together never exceed it,
 * and only what base's own requests leave:
 *   - fixed rate: a token only from a full bucket, never reserved ahead;
 *     a request of base that arrives later is still served first;
 *   - adaptive: a slot only while none of base's requests waits for one,
 *     and never the last free slot unless nothing is in flight.
 * A best-effort request kept waiting by a busy base for 10 s
 * (KUBE_BUCKET_SPARE_MAX_MS) then queues as base's requests do, so it is
 * late, never starved. kube_client_close(base) closes the shared pacing:
 * the best-effort requests waiting fail too (KUBE_ERR_CANCELLED);
 * kube_client_close on the best-effort client ends only its own. Either
 * may be freed first. Caller frees *out with kube_client_free.
 */
int kube_client_new_best_effort(struct kube_client **out, struct kube_client *base,
				struct err *e);

/*
 * A client for the last requests of a stop (the event flush): base's
 * connection, credentials, timeout and write guard (the one installed
 * now), with pacing of its own at KUBE_DEFAULT_QPS/BURST, so the
 * kube_client_close(base) that makes base's waiting requests give up does
 * not stop it. Caller frees *out with kube_client_free.
 */
int kube_client_new_for_stop(struct kube_client **out, struct kube_client *base,
			     struct err *e);

/* How a client paces its requests (for metrics and logs). */
struct kube_client_pace {
	bool adaptive;		/* following the server's flow control (see opts.adaptive) */
	double inflight_limit;	/* adaptive: the current bound on requests in flight */
	double rate;		/* adaptive: requests per second lately */
};
void kube_client_pace(struct kube_client *c, struct kube_client_pace *out);

/*
 * Whether a request sent now would go without waiting for the client's
 * pacing (a token of the bucket, or a slot in flight): its budget is going
 * unused. Thread-safe.
 */
bool kube_client_has_capacity(struct kube_client *c);

/*
 * For an orderly stop, before the callers are joined: requests waiting for
 * pacing (a token of --kube-api-qps, a slot in flight), for a connection
 * of the pool or between retries, and every request started later, fail
 * at once with KUBE_ERR_CANCELLED;
 * requests on the wire finish. Watches already running are not touched.
 * Only this client and its best-effort siblings (they share its pacing),
 * not its other siblings. Thread-safe; accepts NULL.
 */
void kube_client_close(struct kube_client *c);

/* Close connections and free. Accepts NULL. No call may be in flight. */
void kube_client_free(struct kube_client *c);

/* Percent-encode everything but RFC 3986 unreserved characters. Caller frees. */
char *kube_path_escape(const char *s);

/* GET. On success the caller owns *out (json_decref). */
int kube_get(struct kube_client *c, const char *path, json_t **out, struct err *e);
/* GET parsed with kube_json_loadb_lean (kube/json_lean.h): for reads never written back. */
int kube_get_lean(struct kube_client *c, const char *path, json_t **out, struct err *e);

/* POST `body` (borrowed). *out (may be NULL) receives the created object. */
int kube_create(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e);

/*
 * POST a body already serialized: `len` bytes of JSON at `payload`
 * (borrowed, not checked). For bodies kept a while before they are sent:
 * the text costs a sixth of the json_t tree (an Event: 0.6 KiB against 3.9).
 */
int kube_create_text(struct kube_client *c, const char *path, const char *payload, size_t len,
		     json_t **out, struct err *e);

/* PUT `body` (borrowed); a stale metadata.resourceVersion is KUBE_ERR_CONFLICT. */
int kube_update(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e);

/*
 * PATCH with `patch_type` as the Content-Type: "application/merge-patch+json",
 * "application/json-patch+json" or "application/strategic-merge-patch+json".
 * `patch` is borrowed; *out (may be NULL) receives the patched object.
 */
int kube_patch(struct kube_client *c, const char *path, const char *patch_type,
	       json_t *patch, json_t **out, struct err *e);

/*
 * DELETE, with DeleteOptions preconditions when given (either may be
 * NULL): a mismatch is KUBE_ERR_CONFLICT, a missing object
 * KUBE_ERR_NOT_FOUND.
 */
int kube_delete(struct kube_client *c, const char *path, const char *precondition_uid,
		const char *precondition_rv, struct err *e);

/* Limits of one call, for callers that must not wait past a deadline. */
struct kube_call_opts {
	int64_t deadline_ms;	/* clock_now_ms() instant by which the call ends; 0: none */
	bool no_retry;		/* one attempt only: no retry on 429, 5xx or transport errors */
};

/*
 * GET (body NULL), POST or PUT (body borrowed, sent as JSON) with per-call
 * limits (o may be NULL): each attempt's timeout is cut to what is left
 * before the deadline, no retry starts that could not begin before it, and
 * a call whose deadline has passed is not sent (KUBE_ERR_TIMEOUT). Used by
 * leader election, whose renewals must end by the renew deadline. *out
 * (may be NULL) receives the decoded 2xx body.
 */
int kube_call(struct kube_client *c, const char *verb, const char *path, json_t *body,
	      const struct kube_call_opts *o, json_t **out, struct err *e);

/*
 * A write guard returns NULL while the client may write, else a short
 * reason ("this replica is not the leader"). It is called before every
 * attempt of every request other than GET and watches, on the calling
 * thread, so it must be cheap and thread-safe.
 */
typedef const char *(*kube_write_guard_fn)(void *ctx);

/*
 * Install a write guard (fn NULL removes it): a refused write is not sent
 * and fails with KUBE_ERR_CANCELLED, "<verb> <path>: not sent: <reason>".
 * ctx is borrowed while installed. Call before the client is shared
 * between threads. Sibling clients have guards of their own.
 */
void kube_client_set_write_guard(struct kube_client *c, kube_write_guard_fn fn, void *ctx);

/*
 * Called once per watch event, in order, on the watching thread. `type` is
 * ADDED, MODIFIED, DELETED or BOOKMARK; `object` is borrowed for the call
 * (json_deep_copy to keep it: it lives in the thread's arena, json_arena.h).
 * A non-zero return ends the watch.
 */
typedef int (*kube_watch_fn)(void *ctx, const char *type, json_t *object);

/*
 * Stream a watch: `path_with_query` carries watch=1 and whatever else the
 * caller wants (resourceVersion, allowWatchBookmarks=true,
 * timeoutSeconds). Blocks until:
 *   - the server ends the stream (timeoutSeconds): 0;
 *   - fn returns non-zero: 0;
 *   - *stop becomes true (looked at every KUBE_WATCH_POLL_MS; stop may be
 *     NULL): KUBE_ERR_CANCELLED;
 *   - an ERROR event arrives: its Status decides the code, fn is not
 *     called (410 "too old resource version" is KUBE_ERR_GONE: relist);
 *   - a line exceeds KUBE_WATCH_LINE_MAX: KUBE_ERR_TOO_LARGE;
 *   - the request or connection fails: the usual codes.
 * Takes one rate-limit token at the start; not retried; no overall
 * timeout (a stream silent for KUBE_WATCH_IDLE_MAX_S is dropped).
 */
int kube_watch(struct kube_client *c, const char *path_with_query, kube_watch_fn fn,
	       void *ctx, const atomic_bool *stop, struct err *e);
/*
 * kube_watch, with a stream silent for `idle_max_s` (> 0) dropped instead
 * of after KUBE_WATCH_IDLE_MAX_S: for a stream that must keep coming, such
 * as a streamed list's objects (KUBE_ERR_TIMEOUT, as a list page late).
 */
int kube_watch_idle(struct kube_client *c, const char *path_with_query, kube_watch_fn fn,
		    void *ctx, const atomic_bool *stop, long idle_max_s, struct err *e);

#endif
