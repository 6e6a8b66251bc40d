// SPDX-License-Identifier: Apache-2.0
/*
 * leader.c - Lease-based leader election (see leader.h).
 *
 * DESIGN: the Lease record and what we observed of it belong to whichever
 * thread makes the attempts: the caller of leader_try_acquire until it
 * succeeds, then the renewal thread, then leader_free once that thread is
 * joined; they need no lock. `valid_until` is atomic so any thread can ask
 * whether we lead without a lock. `mu` guards `acquired`, `lost` and
 * `stopping`; the condvar wakes the renewal thread on stop. No other lock is
 * taken while `mu` is held, no request is made and no hook is called while
 * holding it.
 */
#include "leader/leader.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "kube/path.h"

struct leader {
	struct kube_client *kube;
	char *namespace, *name, *identity, *path, *collection;
	int64_t duration_ms, deadline_ms, retry_ms;
	void (*on_lost)(void *ctx);
	void (*on_slowpath)(void *ctx);
	void *hook_ctx;

	_Atomic int64_t valid_until;	/* clock_now_ms() instant we lead until; 0: we do not */
	json_t *labels;		/* metadata.labels of every write, or NULL */
	bool release_on_exit;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool acquired, lost, stopping, thread_started;
	pthread_t thread;

	/* owned by the attempting thread (see DESIGN) */
	json_t *record;			/* the Lease as last read or written */
	char *observed_holder;
	int64_t observed_renew_us;	/* its renewTime; 0 unset */
	int64_t observed_at;		/* when (our clock) the record last changed */
	int64_t observed_duration_ms;	/* its leaseDurationSeconds */
};

char *leader_lease_name(const char *driver)
{
	size_t n = strlen(driver);
	char *s = xmalloc(n + 2);

	for (size_t i = 0; i < n; i++)
		s[i] = isalnum((unsigned char)driver[i]) || driver[i] == '-' ? driver[i] : '-';
	s[n] = '\0';
	if (n && s[n - 1] == '-') {
		s[n] = 'X';
		s[n + 1] = '\0';
	}
	return s;
}

/* metav1.MicroTime: RFC 3339 with microseconds, UTC. */
static void micro_time(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06ldZ", (long)tv.tv_usec);
}

struct leader *leader_new(struct kube_client *c, const struct leader_opts *o)
{
	struct leader *l = xcalloc(1, sizeof(*l));

	l->kube = c;
	l->namespace = xstrdup(o->namespace);
	l->name = xstrdup(o->name);
	l->identity = xstrdup(o->identity);
	/* names checked by the caller (kube_name_check): a failure leaves NULL paths,
	 * which every request refuses */
	kube_path_collection(&l->collection, KUBE_RES_LEASE, o->namespace, NULL);
	kube_path_object(&l->path, KUBE_RES_LEASE, o->namespace, o->name, NULL);
	l->duration_ms = o->lease_duration_ms;
	l->deadline_ms = o->renew_deadline_ms;
	l->retry_ms = o->retry_period_ms;
	l->on_lost = o->on_lost;
	l->on_slowpath = o->on_slowpath;
	l->hook_ctx = o->hook_ctx;
	atomic_init(&l->valid_until, 0);
	l->release_on_exit = o->release_on_exit;
	if (o->labels) {
		l->labels = json_object();
		for (const char *const *kv = o->labels; kv[0] && kv[1]; kv += 2)
			json_object_set_new(l->labels, kv[0], json_string(kv[1]));
	}
	pthread_mutex_init(&l->mu, NULL);
	clock_cond_init(&l->cond);
	return l;
}

/*
 * The body of a write: the record we hold (so its metadata, labels and
 * resourceVersion go back unchanged) with the spec set for `holder`.
 * `acquire` starts a new term: acquireTime now, one more transition.
 */
static json_t *lease_body(struct leader *l, const char *holder, int64_t duration_s,
			  bool acquire)
{
	char now[40];
	json_t *body, *spec, *meta;
	json_int_t transitions = 0;

	micro_time(now, sizeof(now));
	if (l->record) {
		body = json_deep_copy(l->record);
		transitions = json_integer_value(json_object_get(json_object_get(body, "spec"),
								 "leaseTransitions"));
	} else {
		meta = json_pack("{s:s, s:s}", "name", l->name, "namespace", l->namespace);
		body = json_pack("{s:s, s:s, s:o}", "apiVersion", "coordination.k8s.io/v1",
				 "kind", "Lease", "metadata", meta);
	}
	spec = json_object_get(body, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(body, "spec", spec);
	}
	if (acquire) {
		json_object_set_new(spec, "acquireTime", json_string(now));
		if (l->record)
			transitions++;
	}
	json_object_set_new(spec, "holderIdentity", json_string(holder));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s));
	json_object_set_new(spec, "renewTime", json_string(now));
	json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
	if (l->labels) {
		/* our labels on every write, over whatever the record carried */
		json_t *m = json_object_get(body, "metadata"), *lb = json_object_get(m, "labels");

		if (!json_is_object(lb)) {
			lb = json_object();
			json_object_set_new(m, "labels", lb);
		}
		json_object_update(lb, l->labels);
	}
	return body;
}

/*
 * Take `lease` (owned) as the record, and note when its holder or renewTime
 * changed. A Lease that does not decode (the API server validates Leases,
 * so only a broken server sends one) counts as held by nobody, as before.
 */
static void remember(struct leader *l, json_t *lease)
{
	struct kube_lease d;
	struct err e = ERR_INIT;
	const char *holder;

	if (kube_lease_decode(lease, &d, &e)) {
		log_warn("leader election: lease %s/%s: %s; taking it as held by nobody",
			 l->namespace, l->name, err_msg(&e));
		err_release(&e);
	}
	holder = d.holder ? d.holder : "";
	if (!l->observed_holder || strcmp(l->observed_holder, holder) ||
	    l->observed_renew_us != d.renew_us) {
		free(l->observed_holder);
		l->observed_holder = xstrdup(holder);
		l->observed_renew_us = d.renew_us;
		l->observed_at = clock_now_ms();
	}
	/* the holder's own duration; a nonsense value counts as ours */
	l->observed_duration_ms = d.duration_s > 0 && d.duration_s < 86400 ?
				  d.duration_s * 1000 : l->duration_ms;
	kube_lease_release(&d);
	json_decref(l->record);
	l->record = lease;
}

static bool held_by_us(const struct leader *l)
{
	return l->observed_holder && !strcmp(l->observed_holder, l->identity);
}

static bool held_by_other(const struct leader *l)
{
	return l->observed_holder && *l->observed_holder && !held_by_us(l);
}

/* PUT the record with us as holder; 0 when the server took it. */
static int write_lease(struct leader *l, bool acquire, const struct kube_call_opts *co,
		       struct err *e)
{
	json_t *body = lease_body(l, l->identity, (l->duration_ms + 999) / 1000, acquire);
	json_t *out = NULL;
	int rc = kube_call(l->kube, "PUT", l->path, body, co, &out, e);

	json_decref(body);
	if (!rc)
		remember(l, out);
	else
		json_decref(out);
	return rc;
}

/*
 * One attempt to take or keep the Lease, every request ending by
 * `deadline` (clock_now_ms) and none retried by the client. 0 when we hold
 * it afterwards; KUBE_ERR_CONFLICT when someone else does.
 */
static int try_acquire_or_renew(struct leader *l, int64_t deadline, struct err *e)
{
	struct kube_call_opts co = { .deadline_ms = deadline, .no_retry = true };
	json_t *cur = NULL, *body;
	int rc;

	/* fast path: we lead and the record we wrote last is still current */
	if (leader_is_leader(l) && l->record && held_by_us(l)) {
		rc = write_lease(l, false, &co, e);
		if (!rc)
			return 0;
		if (clock_now_ms() >= deadline)
			return rc;
		log_v(2, "leader election: renewing lease %s/%s optimistically failed, reading it again: %s",
		      l->namespace, l->name, err_msg(e));
		err_release(e);
	}

	rc = kube_call(l->kube, "GET", l->path, NULL, &co, &cur, e);
	if (rc == KUBE_ERR_NOT_FOUND) {
		err_release(e);
		json_decref(l->record);
		l->record = NULL;
		body = lease_body(l, l->identity, (l->duration_ms + 999) / 1000, true);
		rc = kube_call(l->kube, "POST", l->collection, body, &co, &cur, e);
		json_decref(body);
		if (!rc)
			remember(l, cur);
		else
			json_decref(cur);
		return rc;
	}
	if (rc)
		return rc;
	remember(l, cur);
	if (held_by_other(l) && clock_now_ms() - l->observed_at < l->observed_duration_ms)
		return err_set(e, KUBE_ERR_CONFLICT, "lease held by %s", l->observed_holder);
	if (held_by_us(l) && l->on_slowpath)
		l->on_slowpath(l->hook_ctx);
	return write_lease(l, !held_by_us(l), &co, e);
}

/* End leadership after a failure: once, then the hook. */
static void lose(struct leader *l, const char *why)
{
	bool first;

	atomic_store(&l->valid_until, 0);
	pthread_mutex_lock(&l->mu);
	first = !l->lost && !l->stopping;
	l->lost = true;
	pthread_mutex_unlock(&l->mu);
	if (!first)
		return;
	log_error("leader election: %s no longer leads via lease %s/%s: %s", l->identity,
		  l->namespace, l->name, why);
	if (l->on_lost)
		l->on_lost(l->hook_ctx);
}

/* Wait until the clock_now_ms() instant `at` or until stopping; true when stopping. */
static bool wait_until(struct leader *l, int64_t at)
{
	struct timespec ts = clock_deadline_ms(at - clock_now_ms());
	bool stopping;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping && clock_now_ms() < at)
		if (pthread_cond_timedwait(&l->cond, &l->mu, &ts))
			break;
	stopping = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return stopping;
}

static void *renew_loop(void *arg)
{
	struct leader *l = arg;
	int64_t next = clock_now_ms() + l->retry_ms;

	while (!wait_until(l, next)) {
		struct err e = ERR_INIT;
		int64_t start = clock_now_ms(), until = atomic_load(&l->valid_until);
		int rc;

		if (start >= until) {
			lose(l, "the renew deadline passed before the next renewal");
			break;
		}
		rc = try_acquire_or_renew(l, until, &e);
		if (rc == 0 && clock_now_ms() >= until) {
			/* leader_is_leader() already said no: writers may have stood down */
			lose(l, "the renewal succeeded only after the renew deadline");
			break;
		} else if (rc == 0) {
			atomic_store(&l->valid_until, start + l->deadline_ms);
			log_v(5, "leader election: renewed lease %s/%s", l->namespace, l->name);
			next = start + l->retry_ms;
		} else if (held_by_other(l)) {
			char *why = xasprintf("the lease is held by %s now", l->observed_holder);

			lose(l, why);
			free(why);
			err_release(&e);
			break;
		} else if (clock_now_ms() >= until) {
			char *why = xasprintf("could not renew within the %lld ms renew deadline: %s",
					      (long long)l->deadline_ms, err_msg(&e));

			lose(l, why);
			free(why);
			err_release(&e);
			break;
		} else {
			log_warn("leader election: renewing lease %s/%s failed, %lld ms left: %s",
				 l->namespace, l->name, (long long)(until - clock_now_ms()),
				 err_msg(&e));
			next = start + l->retry_ms;
		}
		err_release(&e);
	}
	return NULL;
}

int leader_try_acquire(struct leader *l, struct err *e)
{
	int64_t start = clock_now_ms();
	int rc = try_acquire_or_renew(l, start + l->deadline_ms, e);

	if (rc)
		return rc;
	if (clock_now_ms() >= start + l->deadline_ms)
		return err_set(e, KUBE_ERR_TIMEOUT, "lease %s/%s taken too late to lead",
			       l->namespace, l->name);
	atomic_store(&l->valid_until, start + l->deadline_ms);
	rc = pthread_create(&l->thread, NULL, renew_loop, l);
	if (rc) {
		/* nobody would renew it: do not lead; the Lease expires, or the next try renews it */
		atomic_store(&l->valid_until, 0);
		return err_set(e, KUBE_ERR_OTHER, "lease %s/%s taken, but the renewal thread cannot "
			       "start (%s): not leading", l->namespace, l->name, strerror(rc));
	}
	pthread_mutex_lock(&l->mu);
	l->acquired = true;
	l->thread_started = true;
	pthread_mutex_unlock(&l->mu);
	log_info("leader election: %s leads via lease %s/%s", l->identity, l->namespace, l->name);
	return 0;
}

bool leader_is_leader(struct leader *l)
{
	return clock_now_ms() < atomic_load(&l->valid_until);
}

void leader_expire(struct leader *l)
{
	lose(l, "the renew deadline passed while a renewal was still in flight");
}

bool leader_lost(struct leader *l)
{
	bool acquired, stopping;

	pthread_mutex_lock(&l->mu);
	acquired = l->acquired;
	stopping = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return acquired && !stopping && !leader_is_leader(l);
}

int64_t leader_valid_until_ms(struct leader *l)
{
	return leader_is_leader(l) ? atomic_load(&l->valid_until) : 0;
}

const char *leader_write_guard(void *l)
{
	return leader_is_leader(l) ? NULL : "this replica is not the leader";
}

/* Give the Lease up so a standby need not wait for it to expire. */
static void release(struct leader *l)
{
	struct kube_call_opts co = { .deadline_ms = clock_now_ms() + l->deadline_ms,
				     .no_retry = true };
	struct err e = ERR_INIT;
	json_t *body;

	body = lease_body(l, "", 1, false);
	json_object_set(json_object_get(body, "spec"), "acquireTime",
			json_object_get(json_object_get(body, "spec"), "renewTime"));
	if (kube_call(l->kube, "PUT", l->path, body, &co, NULL, &e))
		log_warn("leader election: releasing lease %s/%s failed: %s", l->namespace, l->name,
			 err_msg(&e));
	else
		log_info("leader election: released lease %s/%s", l->namespace, l->name);
	json_decref(body);
	err_release(&e);
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	if (leader_is_leader(l) && l->record && held_by_us(l)) {
		if (l->release_on_exit)
			release(l);
		else
			log_info("leader election: leaving lease %s/%s to expire "
				 "(ReleaseLeaderElectionOnExit=false)", l->namespace, l->name);
	}
	atomic_store(&l->valid_until, 0);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l->namespace);
	free(l->name);
	free(l->identity);
	free(l->path);
	free(l->collection);
	free(l->observed_holder);
	json_decref(l->record);
	json_decref(l->labels);
	free(l);
}
