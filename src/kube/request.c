// SPDX-License-Identifier: Apache-2.0
/*
 * request.c - one API request of the client (see client.h for the rules):
 * before each attempt its pacing (the client's token bucket, or a slot of
 * the adaptive in-flight bound while the server runs priority and fairness,
 * adaptive.c), a handle of the client's pool (direct.c), its deadline and
 * the client's write guard; the attempt, on the caller's thread; then retries (429 for every verb,
 * 5xx and transport errors for idempotent ones, a 401 once with fresh
 * credentials, auth.c), the status of a failure decoded into a kube code
 * (status.c), and a 2xx body decoded as JSON. The verbs sit at the end.
 *
 * Priority: a best-effort client (kube_client_new_best_effort) spends its
 * base's pacing, taking a spare token or slot (ratelimit.h, adaptive.h)
 * where the base's requests take theirs in turn.
 *
 * Threads: any number at once; a request blocks its caller (sleeping
 * between attempts). Locks: only those of the bucket, the aimd and the
 * handle pool, none held across an attempt.
 */
#include "kube/client_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/json_lean.h"

/* Retry backoff: 250 ms, 500 ms, 1 s, ... capped. */
#define BACKOFF_START_MS 250
#define BACKOFF_MAX_MS 4000

/* ---- one attempt ---- */

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

bool kube_client_is_closed(struct kube_client *c)
{
	return atomic_load(&c->closed) || kube_bucket_closed(&c->pace->bucket);
}

/* After a wait for a handle: a client closed meanwhile sends nothing more. */
static int closed_check(struct kube_client *c, const struct request *r, struct err *e)
{
	if (kube_client_is_closed(c))
		return err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: the client is stopping",
			       r->verb, r->path);
	return 0;
}

/* libcurl's upload buffer for a request body (see perform) */
#define KUBE_UPLOAD_BUFFER 16384L

/* A request body, handed to libcurl by body_read. */
struct upload {
	const char *p;
	size_t left;
};

static size_t body_read(char *dst, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t len = size * n < u->left ? size * n : u->left;

	memcpy(dst, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

/*
 * One HTTP exchange. Returns 0 when a response arrived (any status; body
 * in x->body) or a kube code for a transport failure.
 */
static int perform(struct kube_client *c, CURL *h, const struct request *r,
		   const struct auth *au, struct xfer *x, struct attempt *a, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = xasprintf("%s%s", c->server, r->path);
	struct curl_slist *hdrs = kube_easy_headers(au->hdr, r->ctype);
	struct upload up = { r->payload, r->payload_len };
	curl_off_t ra = -1;
	CURLcode cc;
	int rc = 0;

	kube_easy_setup(c, h, url, hdrs, au, errbuf, false);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, attempt_timeout_ms(c, r));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (r->payload) {
		/*
		 * The body through a read callback with no seek callback: when a
		 * kept-alive connection closes after the request went out and
		 * before any answer, libcurl 7.88 sends it again on a new one,
		 * which for a POST or a patch may apply it twice. Unable to
		 * rewind, it fails instead (CURLE_SEND_FAIL_REWIND), and our
		 * retries decide by the verb, as client-go's transport does.
		 * (For a PATCH, PUT or DELETE that failure leaks ~280 bytes in
		 * libcurl 7.88, LeakSanitizer says: once per connection lost
		 * in that instant.)
		 */
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, body_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->payload_len);
		/*
		 * libcurl 7.88 reads a body through an upload buffer it mallocs
		 * per transfer, 64 KiB by default (over HTTP/2 with 60 writes in
		 * flight that was 3.7 MiB of heap at the peak, heaptrack N=1000).
		 * Our bodies are a few KiB; a larger one goes in several 16 KiB
		 * chunks (libcurl's minimum).
		 */
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, KUBE_UPLOAD_BUFFER);
	}
	if (!strcmp(r->verb, "GET"))
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(r->verb, "POST") || !r->payload)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->verb);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_seen);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	a->status = 0;
	a->retry_after_s = -1;
	a->apf = false;
	cc = curl_easy_perform(h);	/* on this thread (direct.c) */
	if (cc != CURLE_OK) {
		if (x->too_large)
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s %s: response larger than %zu bytes",
				     r->verb, r->path, x->max);
		else
			rc = kube_curl_error(c, cc, errbuf, r->verb, url, e);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra >= 0)
		a->retry_after_s = (long)ra;
out:
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

/* The wait between attempts; KUBE_ERR_CANCELLED when the client closes meanwhile. */
static int retry_sleep(struct kube_client *c, const struct request *r, int64_t ms,
		       struct err *e)
{
	if (kube_bucket_sleep(&c->pace->bucket, ms, &c->closed))
		return err_set(e, KUBE_ERR_CANCELLED, "%s %s: not retried: the client is stopping",
			       r->verb, r->path);
	return 0;
}

static int64_t backoff(int attempt)
{
	return backoff_delay_ms(BACKOFF_START_MS, BACKOFF_MAX_MS, (unsigned)(attempt - 1));
}

int kube_pace_throttle(struct kube_client *c, const char *verb, const char *path,
		       struct err *e)
{
	int64_t waited = c->best_effort ? kube_bucket_wait_spare(&c->pace->bucket, &c->closed)
					: kube_bucket_wait(&c->pace->bucket);

	if (waited < 0)
		return err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: the client is stopping",
			       verb, path);
	/* client-go's "Waited for ... due to client-side throttling". */
	if (waited >= 1000 && !c->best_effort)
		log_v(2, "waited %" PRId64 " ms due to client-side throttling, not priority and fairness, request: %s %s",
		      waited, verb, path);
	return 0;
}

void kube_client_close(struct kube_client *c)
{
	if (!c)
		return;
	atomic_store(&c->closed, true);
	kube_direct_wake(c->tp);	/* its requests waiting for a handle give up */
	if (c->best_effort) {
		/* the pacing is the base's: only this client's waiters give up */
		kube_bucket_wake(&c->pace->bucket);
		kube_aimd_wake(&c->pace->aimd);
		return;
	}
	kube_bucket_close(&c->pace->bucket);
	kube_aimd_close(&c->pace->aimd);
}

/* ---- pacing: the fixed bucket, or the server's flow control followed ---- */

#define AIMD_INITIAL 8		/* in flight, before the server's answers say more */
#define AIMD_MAX TP_DIRECT_MAX	/* no more slots than requests can run (direct.c) */

struct kube_pacer *kube_pacer_new(const struct kube_client_opts *o)
{
	struct kube_pacer *p = xcalloc(1, sizeof(*p));

	atomic_init(&p->refs, 1);
	kube_bucket_init(&p->bucket, o->qps == 0 ? KUBE_DEFAULT_QPS : o->qps,
			 o->burst > 0 ? o->burst : KUBE_DEFAULT_BURST, clock_now_ms());
	p->adaptive = o->adaptive && o->qps == 0;
	atomic_init(&p->apf, -1);
	kube_aimd_init(&p->aimd, AIMD_INITIAL, 1, AIMD_MAX);
	return p;
}

struct kube_pacer *kube_pacer_ref(struct kube_pacer *p)
{
	atomic_fetch_add(&p->refs, 1);
	return p;
}

void kube_pacer_unref(struct kube_pacer *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) > 1)
		return;
	kube_bucket_release(&p->bucket);
	kube_aimd_release(&p->aimd);
	free(p);
}

bool kube_pace_following_apf(struct kube_client *c)
{
	return c->pace->adaptive && atomic_load(&c->pace->apf) == 1;
}

/*
 * Before an attempt: the bucket's token, or a slot in flight, waited for
 * no longer than the request may take. 0 with *slot set when a slot was
 * taken (pace_end gives it back) or cleared when the bucket paced it; the
 * code, with e set, when no slot freed in time.
 */
static int pace_begin(struct kube_client *c, const struct request *r, bool *slot,
		      struct err *e)
{
	int64_t waited, wait_ms = c->timeout_ms;

	*slot = false;
	if (!kube_pace_following_apf(c))
		return kube_pace_throttle(c, r->verb, r->path, e);
	if (r->deadline_ms) {
		wait_ms = r->deadline_ms - clock_now_ms();
		wait_ms = wait_ms < 1 ? 1 : wait_ms;
	}
	if (c->best_effort)
		waited = kube_aimd_acquire_spare(&c->pace->aimd, wait_ms, &c->closed);
	else
		waited = kube_aimd_acquire(&c->pace->aimd, wait_ms);
	if (waited == -2)
		return err_set(e, KUBE_ERR_CANCELLED, "%s %s: not sent: the client is stopping",
			       r->verb, r->path);
	if (waited < 0)
		return err_set(e, KUBE_ERR_TIMEOUT, "%s %s: no request slot freed within %" PRId64
			       " ms (%.0f in flight allowed, adapted to the server's priority and "
			       "fairness)", r->verb, r->path, wait_ms, kube_aimd_limit(&c->pace->aimd));
	if (waited >= 1000 && !c->best_effort)
		log_v(2, "waited %" PRId64 " ms for one of %.0f requests in flight (adapted to the "
		      "server's priority and fairness), request: %s %s", waited,
		      kube_aimd_limit(&c->pace->aimd), r->verb, r->path);
	*slot = true;
	return 0;
}

/* After an attempt: learn whether the server has flow control, and from its answer. */
static void pace_end(struct kube_client *c, bool slot, const char *verb, int rc,
		     const struct attempt *a, int64_t took_ms)
{
	enum kube_aimd_outcome o = KUBE_AIMD_OTHER;
	int was;

	if (c->pace->adaptive && !rc && a->status) {
		/* only a success without the headers says the server has no APF */
		if (a->apf || (a->status >= 200 && a->status < 300)) {
			was = atomic_exchange(&c->pace->apf, a->apf ? 1 : 0);
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
	kube_aimd_done(&c->pace->aimd, o, strcmp(verb, "GET") ? took_ms : -1);
}

void kube_client_pace(struct kube_client *c, struct kube_client_pace *out)
{
	out->adaptive = kube_pace_following_apf(c);
	out->inflight_limit = out->adaptive ? kube_aimd_limit(&c->pace->aimd) : 0;
	out->rate = out->adaptive ? kube_aimd_rate(&c->pace->aimd) : 0;
}

bool kube_client_has_capacity(struct kube_client *c)
{
	if (kube_pace_following_apf(c))
		return kube_aimd_has_slot(&c->pace->aimd);
	return kube_bucket_has_token(&c->pace->bucket);
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
	int attempt, max_attempts, rc = 0;
	bool slot = false;
	int64_t delay, t0;
	CURL *h;

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
		kube_auth_release(&au);
		if ((rc = kube_auth_get(c, force_token, used, &au, e)))
			goto out;
		used = au.gen;
		if ((rc = pace_begin(c, r, &slot, e)))
			goto out;
		/* the checks after any wait for a handle: it may have been long */
		if ((rc = kube_direct_get(c, r->deadline_ms, r->verb, r->path, &h, e)) ||
		    (rc = closed_check(c, r, e)) || (rc = may_send(c, r, e))) {
			if (h)
				kube_direct_put(c->tp, h);
			if (slot)
				kube_aimd_done(&c->pace->aimd, KUBE_AIMD_OTHER, -1);
			goto out;
		}
		force_token = false;
		t0 = clock_now_ms();
		rc = perform(c, h, r, &au, &x, &a, e);
		pace_end(c, slot, r->verb, rc, &a, clock_now_ms() - t0);
		kube_direct_put(c->tp, h);
		delay = backoff(attempt);
		if (rc) {
			if ((rc == KUBE_ERR_TRANSPORT || rc == KUBE_ERR_TIMEOUT) && r->idempotent &&
			    attempt < max_attempts && retry_fits(r, delay)) {
				log_v(3, "%s %s failed, retrying in %" PRId64 " ms: %s", r->verb,
				      r->path, delay, err_msg(e));
				if ((rc = retry_sleep(c, r, delay, e)))
					goto out;
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
			if ((rc = retry_sleep(c, r, delay, e)))
				goto out;
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
		kube_auth_explain(c, rc, r->verb, r->path, e);
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
	kube_auth_release(&au);
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

/*
 * Send *r with `body` (borrowed) serialized as its payload; a NULL body is
 * none, or an error when `required`.
 */
static int with_body(struct kube_client *c, struct request *r, json_t *body, bool required,
		     json_t **out, struct err *e)
{
	char *payload = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (required && !body)
		return err_set(e, KUBE_ERR_INVALID, "%s %s: no body", r->verb, r->path);
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload)
			return err_set(e, KUBE_ERR_INVALID, "%s %s: body cannot be serialized",
				       r->verb, r->path);
		r->ctype = r->ctype ? r->ctype : "application/json";
		r->payload = payload;
		r->payload_len = strlen(payload);
	}
	rc = request(c, r, out, e);
	free(payload);
	return rc;
}

int kube_create(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e)
{
	struct request r = { .verb = "POST", .path = path };

	return with_body(c, &r, body, true, out, e);
}

int kube_create_text(struct kube_client *c, const char *path, const char *payload, size_t len,
		     json_t **out, struct err *e)
{
	struct request r = { .verb = "POST", .path = path, .ctype = "application/json",
			     .payload = payload, .payload_len = len };

	if (out)
		*out = NULL;
	if (!payload)
		return err_set(e, KUBE_ERR_INVALID, "POST %s: no body", path);
	return request(c, &r, out, e);
}

int kube_update(struct kube_client *c, const char *path, json_t *body, json_t **out,
		struct err *e)
{
	struct request r = { .verb = "PUT", .path = path, .idempotent = true };

	return with_body(c, &r, body, true, out, e);
}

int kube_patch(struct kube_client *c, const char *path, const char *patch_type,
	       json_t *patch, json_t **out, struct err *e)
{
	/* A JSON patch may "add" to a list twice when repeated: not idempotent. */
	struct request r = { .verb = "PATCH", .path = path, .ctype = patch_type };

	if (!patch_type || (strcmp(patch_type, "application/merge-patch+json") &&
			    strcmp(patch_type, "application/json-patch+json") &&
			    strcmp(patch_type, "application/strategic-merge-patch+json") &&
			    strcmp(patch_type, "application/apply-patch+yaml")))
		return err_set(e, KUBE_ERR_INVALID, "PATCH %s: unknown patch type '%s'", path,
			       patch_type ? patch_type : "(null)");
	return with_body(c, &r, patch, true, out, e);
}

int kube_delete(struct kube_client *c, const char *path, const char *uid, const char *rv,
		struct err *e)
{
	struct request r = { .verb = "DELETE", .path = path, .idempotent = true };
	json_t *opts = NULL, *pre;
	int rc;

	if (uid || rv) {
		pre = json_object();
		if (uid)
			json_object_set_new(pre, "uid", json_string(uid));
		if (rv)
			json_object_set_new(pre, "resourceVersion", json_string(rv));
		opts = json_pack("{s:s, s:s, s:o}", "kind", "DeleteOptions", "apiVersion", "v1",
				 "preconditions", pre);
		if (!opts)
			return err_set(e, KUBE_ERR_INVALID, "DELETE %s: bad preconditions", path);
	}
	rc = with_body(c, &r, opts, false, NULL, e);
	json_decref(opts);
	return rc;
}

int kube_call(struct kube_client *c, const char *verb, const char *path, json_t *body,
	      const struct kube_call_opts *o, json_t **out, struct err *e)
{
	struct request r = { .verb = verb, .path = path,
			     .idempotent = verb && (!strcmp(verb, "GET") || !strcmp(verb, "PUT")),
			     .deadline_ms = o ? o->deadline_ms : 0, .once = o && o->no_retry };

	if (out)
		*out = NULL;
	if (!verb || (strcmp(verb, "GET") && strcmp(verb, "POST") && strcmp(verb, "PUT")))
		return err_set(e, KUBE_ERR_INVALID, "%s %s: kube_call takes GET, POST or PUT",
			       verb ? verb : "(null)", path);
	if (!strcmp(verb, "GET") ? body != NULL : body == NULL)
		return err_set(e, KUBE_ERR_INVALID, "%s %s: %s", verb, path,
			       body ? "a GET takes no body" : "no body");
	return with_body(c, &r, body, false, out, e);
}

void kube_client_set_write_guard(struct kube_client *c, kube_write_guard_fn fn, void *ctx)
{
	c->guard = fn;
	c->guard_ctx = ctx;
}
