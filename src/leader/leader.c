// SPDX-License-Identifier: Apache-2.0
/*
 * leader.c - Lease-based leader election (see leader.h).
 *
 * DESIGN: leader_acquire runs on the caller's thread; once leading, one
 * renewal thread owns the Lease record. `mu` guards `leading`, `lost`,
 * `stopping` and the cached record (rv, transitions); the condvar wakes the
 * renewal thread on stop and leader_wait_lost on loss. No other lock is
 * taken while `mu` is held, and no request is made while holding it.
 */
#include "leader/leader.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"

struct leader {
	struct kube_client *kube;
	char *namespace, *name, *identity, *path, *collection;
	int64_t duration_ms, deadline_ms, retry_ms;
	json_t *labels;		/* metadata.labels of every write, or NULL */
	bool release_on_exit;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool leading, lost, stopping, thread_started;
	pthread_t thread;

	/* the last record we saw, and when (our clock) it last changed */
	char *observed_holder, *observed_renew;
	int64_t observed_at;
	int64_t transitions;
	char *rv;
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
	l->collection = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->namespace);
	l->path = xasprintf("%s/%s", l->collection, o->name);
	l->duration_ms = o->lease_duration_ms;
	l->deadline_ms = o->renew_deadline_ms;
	l->retry_ms = o->retry_period_ms;
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

static json_t *lease_body(struct leader *l, const char *holder, bool acquire)
{
	char now[40];
	json_t *spec, *meta;

	micro_time(now, sizeof(now));
	spec = json_pack("{s:s, s:i, s:s, s:I}", "holderIdentity", holder,
			 "leaseDurationSeconds", (int)((l->duration_ms + 999) / 1000),
			 "renewTime", now, "leaseTransitions", (json_int_t)l->transitions);
	if (acquire)
		json_object_set_new(spec, "acquireTime", json_string(now));
	meta = json_pack("{s:s, s:s}", "name", l->name, "namespace", l->namespace);
	if (l->rv)
		json_object_set_new(meta, "resourceVersion", json_string(l->rv));
	if (l->labels)
		json_object_set(meta, "labels", l->labels);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "coordination.k8s.io/v1",
			 "kind", "Lease", "metadata", meta, "spec", spec);
}

static void remember(struct leader *l, json_t *lease)
{
	json_t *spec = json_object_get(lease, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	const char *renew = json_string_value(json_object_get(spec, "renewTime"));
	const char *rv = json_string_value(json_object_get(json_object_get(lease, "metadata"),
							   "resourceVersion"));

	holder = holder ? holder : "";
	renew = renew ? renew : "";
	if (!l->observed_holder || strcmp(l->observed_holder, holder) ||
	    !l->observed_renew || strcmp(l->observed_renew, renew)) {
		free(l->observed_holder);
		free(l->observed_renew);
		l->observed_holder = xstrdup(holder);
		l->observed_renew = xstrdup(renew);
		l->observed_at = clock_now_ms();
	}
	l->transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
	free(l->rv);
	l->rv = xstrdup(rv);
}

/* One attempt to take or renew the Lease: 0 when we hold it afterwards. */
static int try_acquire_or_renew(struct leader *l, struct err *e)
{
	json_t *cur = NULL, *body, *out = NULL;
	bool ours, acquire;
	int rc;

	rc = kube_get(l->kube, l->path, &cur, e);
	if (rc == KUBE_ERR_NOT_FOUND) {
		free(l->rv);
		l->rv = NULL;
		l->transitions = 0;
		body = lease_body(l, l->identity, true);
		rc = kube_create(l->kube, l->collection, body, &out, e);
		json_decref(body);
		if (!rc)
			remember(l, out);
		json_decref(out);
		return rc;
	}
	if (rc)
		return rc;
	remember(l, cur);
	json_decref(cur);
	ours = !strcmp(l->observed_holder, l->identity);
	if (!ours && *l->observed_holder &&
	    clock_now_ms() - l->observed_at < l->duration_ms)
		return err_set(e, KUBE_ERR_CONFLICT, "lease held by %s", l->observed_holder);
	acquire = !ours;
	if (acquire)
		l->transitions++;
	body = lease_body(l, l->identity, acquire);
	rc = kube_update(l->kube, l->path, body, &out, e);
	json_decref(body);
	if (!rc)
		remember(l, out);
	json_decref(out);
	return rc;
}

/* Wait up to ms or until stopping; true when stopping. Caller holds mu. */
static bool wait_locked(struct leader *l, int64_t ms)
{
	struct timespec ts = clock_deadline_ms(ms);

	while (!l->stopping)
		if (pthread_cond_timedwait(&l->cond, &l->mu, &ts))
			break;
	return l->stopping;
}

static void *renew_loop(void *arg)
{
	struct leader *l = arg;
	int64_t last_ok = clock_now_ms();

	pthread_mutex_lock(&l->mu);
	while (!wait_locked(l, l->retry_ms)) {
		struct err e = ERR_INIT;
		int rc;

		pthread_mutex_unlock(&l->mu);
		rc = try_acquire_or_renew(l, &e);
		pthread_mutex_lock(&l->mu);
		if (rc == 0) {
			last_ok = clock_now_ms();
		} else if (clock_now_ms() - last_ok >= l->deadline_ms) {
			log_error("leader election: lost lease %s/%s: could not renew within %lld ms: %s",
				  l->namespace, l->name, (long long)l->deadline_ms, err_msg(&e));
			l->leading = false;
			l->lost = true;
			pthread_cond_broadcast(&l->cond);
			err_release(&e);
			break;
		} else {
			log_warn("leader election: renewing lease %s/%s failed: %s", l->namespace,
				 l->name, err_msg(&e));
		}
		err_release(&e);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int leader_try_acquire(struct leader *l, struct err *e)
{
	int rc = try_acquire_or_renew(l, e);

	if (rc)
		return rc;
	log_info("leader election: %s leads via lease %s/%s", l->identity, l->namespace, l->name);
	pthread_mutex_lock(&l->mu);
	l->leading = true;
	pthread_mutex_unlock(&l->mu);
	if (pthread_create(&l->thread, NULL, renew_loop, l) == 0)
		l->thread_started = true;
	return 0;
}

bool leader_lost(struct leader *l)
{
	bool lost;

	pthread_mutex_lock(&l->mu);
	lost = l->lost;
	pthread_mutex_unlock(&l->mu);
	return lost;
}

bool leader_is_leader(struct leader *l)
{
	bool v;

	pthread_mutex_lock(&l->mu);
	v = l->leading;
	pthread_mutex_unlock(&l->mu);
	return v;
}

/* Give the Lease up so a standby need not wait for it to expire. */
static void release(struct leader *l)
{
	struct err e = ERR_INIT;
	json_t *body;

	if (!l->rv)
		return;
	body = lease_body(l, "", false);
	json_object_set_new(json_object_get(body, "spec"), "leaseDurationSeconds", json_integer(1));
	if (kube_update(l->kube, l->path, body, NULL, &e))
		log_warn("leader election: releasing lease %s/%s failed: %s", l->namespace, l->name,
			 err_msg(&e));
	else
		log_info("leader election: released lease %s/%s", l->namespace, l->name);
	json_decref(body);
	err_release(&e);
}

void leader_free(struct leader *l)
{
	bool was_leading;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	was_leading = l->leading;
	if (was_leading && l->release_on_exit)
		release(l);
	else if (was_leading)
		log_info("leader election: leaving lease %s/%s to expire "
			 "(ReleaseLeaderElectionOnExit=false)", l->namespace, l->name);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l->namespace);
	free(l->name);
	free(l->identity);
	free(l->path);
	free(l->collection);
	free(l->observed_holder);
	free(l->observed_renew);
	free(l->rv);
	json_decref(l->labels);
	free(l);
}
