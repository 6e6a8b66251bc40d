// SPDX-License-Identifier: Apache-2.0
/*
 * journal.c - the intent journal's queue, waiters and committer (see
 * journal.h; the shards on the server are in journal_store.c).
 *
 * DESIGN: one mutex `mu` guards all state: the shards' content and
 * accounting, the queued and in-flight changes, the waiters, the flags and
 * the statistics. No request is made with `mu` held, and no other lock is
 * taken under it except the metrics registry's (a leaf). Callers of
 * journal_add queue a change and sleep on `cond`; the committer thread
 * sleeps on `work`. A round: the committer moves every queued add (and the
 * removals that are due, or that fall in a shard written anyway) from
 * `queued` to `inflight`, drops `mu`, writes each changed shard once
 * (journal_store.c), and takes `mu` again after each shard to apply its
 * result and wake that shard's waiters. Changes queued meanwhile wait for
 * the next round: that is the group commit. Rounds never overlap, so at
 * the start of a round nothing is in flight.
 *
 * Single writer: after journal_load, only the committer changes a shard's
 * content (data, rv, obj, exists), always under `mu`, so it may read them
 * without `mu` while it builds a request. Other threads read them under
 * `mu`. The shards array is sized in journal_load (at least max_shards
 * entries) and never moves afterwards.
 *
 * Room: a shard's `used` counts what is durable, `held` what queued and
 * in-flight adds may add (their `reserved`, never less than the growth they
 * cause); a new key goes to the first shard where used + held + its size
 * (entry_cost: what its annotation adds) fits shard_bytes. Removals free
 * room only once written.
 */
#include "journal/journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal_int.h"
#include "kube/client.h"
#include "kube/path.h"
#include "metrics/metrics.h"

/*
 * The API server refuses an object whose annotations (names and values)
 * exceed 256 KiB; 16 KiB stay for the holder, the shard count and an
 * operator's own annotations. 64 shards of 200 KiB hold what the ConfigMap
 * shards of earlier versions held (16 of 800 KiB).
 */
#define SHARD_BYTES_DEFAULT ((size_t)200 << 10)
#define SHARD_BYTES_MAX (((size_t)256 << 10) - ((size_t)16 << 10))
#define MAX_SHARDS_DEFAULT 64
#define KEY_MAX 253

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool dns1123(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] >= 'A' && s[i] <= 'Z') || !(alnum(s[i]) || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static bool label_value(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

struct journal *journal_new(struct kube_client *kube, const struct journal_opts *o)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	char *sel, *esc;

	j->kube = kube;
	j->ns = xstrdup(o->namespace ? o->namespace : "");
	j->base = xstrdup(o->base ? o->base : "");
	j->label = xstrdup(o->label ? o->label : "");
	j->holder = xstrdup(o->holder ? o->holder : "");
	j->shard_bytes = o->shard_bytes ? o->shard_bytes : SHARD_BYTES_DEFAULT;
	if (j->shard_bytes > SHARD_BYTES_MAX) {
		log_warn("journal: shard_bytes %zu is above the API server's limit; using %zu",
			 j->shard_bytes, SHARD_BYTES_MAX);
		j->shard_bytes = SHARD_BYTES_MAX;
	}
	j->max_shards = o->max_shards > 0 ? o->max_shards : MAX_SHARDS_DEFAULT;
	if (j->max_shards > JOURNAL_INDEX_MAX)
		j->max_shards = JOURNAL_INDEX_MAX;
	j->lazy_ms = o->lazy_remove_ms > 0 ? o->lazy_remove_ms : 2000;
	j->min_interval_ms = o->min_write_interval_ms > 0 ? o->min_write_interval_ms : 0;
	j->tokens = JOURNAL_WRITE_BURST;
	j->urgent = o->urgent;
	j->urgent_ctx = o->urgent_ctx;
	j->tokens_at = clock_now_ms();
	j->add_timeout_ms = o->add_timeout_ms > 0 ? o->add_timeout_ms : 60000;
	j->adopt = !o->no_adopt;
	/* the namespace is checked by the caller (kube_namespace_check); were it
	 * invalid, the NULL paths that follow would be refused by every request */
	kube_path_collection(&j->collection, KUBE_RES_LEASE, j->ns, NULL);
	sel = xasprintf("%s=%s", JOURNAL_LABEL_KEY, j->label);
	esc = kube_path_escape(sel);
	j->list_path = j->collection ? xasprintf("%s?labelSelector=%s", j->collection, esc) : NULL;
	free(esc);
	free(sel);
	if (o->metrics) {
		j->m_intents = metrics_add(o->metrics, METRIC_GAUGE, "csi_provisioner_journal_intents",
					   "Keys durable in the intent journal.", NULL, NULL, 0);
		j->m_shards = metrics_add(o->metrics, METRIC_GAUGE, "csi_provisioner_journal_shards",
					  "Journal shards (Leases) that exist.", NULL, NULL, 0);
		j->m_writes = metrics_add(o->metrics, METRIC_COUNTER,
					  "csi_provisioner_journal_writes_total",
					  "Successful writes of journal shards.", NULL, NULL, 0);
		j->m_conflicts = metrics_add(o->metrics, METRIC_COUNTER,
					     "csi_provisioner_journal_conflicts_total",
					     "Journal shard writes that met a conflict.", NULL, NULL, 0);
		j->m_full_waits = metrics_add(o->metrics, METRIC_COUNTER,
					      "csi_provisioner_journal_full_waits_total",
					      "Journal adds that waited because every shard was full.",
					      NULL, NULL, 0);
	}
	pthread_mutex_init(&j->mu, NULL);
	clock_cond_init(&j->cond);
	clock_cond_init(&j->work);
	return j;
}

void journal_count_write(struct journal *j, bool conflict)
{
	if (conflict) {
		j->st.conflicts++;
		if (j->m_conflicts)
			metric_add(j->m_conflicts, NULL, 1);
	} else {
		j->st.writes++;
		if (j->m_writes)
			metric_add(j->m_writes, NULL, 1);
	}
}

/* Under mu. */
void journal_update_gauges(struct journal *j)
{
	size_t keys = 0, shards = 0;

	if (!j->m_intents)
		return;
	for (size_t i = 0; i < j->nshards; i++) {
		keys += j->shards[i].data.count;
		shards += j->shards[i].exists;
	}
	metric_set(j->m_intents, NULL, (double)keys);
	metric_set(j->m_shards, NULL, (double)shards);
}

/* Wake every waiter of `c` with rc (0 or an error with msg). Under mu. */
void change_complete(struct change *c, int rc, const char *msg)
{
	struct waiter *w, *next;

	for (w = c->waiters; w; w = next) {
		next = w->next;
		w->done = true;
		w->rc = rc;
		w->msg = rc ? xstrdup(msg) : NULL;
		w->change = NULL;
	}
	c->waiters = NULL;
}

void change_free(struct change *c)
{
	free(c->key);
	free(c->value);
	free(c);
}

/* Drop a queued change, waking its waiters with rc. Under mu. */
void change_cancel(struct journal *j, struct change *c, int rc, const char *msg)
{
	hmap_remove(&j->queued, c->key);
	if (c->value)
		j->queued_adds--;
	else
		j->queued_removals--;
	j->shards[c->shard].held -= c->reserved;
	change_complete(c, rc, msg);
	change_free(c);
	pthread_cond_broadcast(&j->cond);
}

static void attach(struct change *c, struct waiter *w)
{
	w->change = c;
	w->next = c->waiters;
	c->waiters = w;
}

/* Whether shard t can take `need` more bytes, not counting `c`'s reservation. */
static bool fits(struct journal *j, int t, size_t need, const struct change *c)
{
	const struct shard *s = &j->shards[t];
	size_t held = s->held - (c && c->shard == t ? c->reserved : 0);

	return !need || s->used + held + need <= j->shard_bytes;
}

/*
 * Queue key -> value for journal_add and attach `w`. Returns 0 when queued
 * (or joined), 1 when the value is durable already, -1 when there is no
 * room. Under mu.
 */
static int enqueue(struct journal *j, const char *key, const char *value, size_t size,
		   struct waiter *w)
{
	struct change *q = hmap_get(&j->queued, key), *f = hmap_get(&j->inflight, key);
	int s = shard_of(j, key), t = -1;
	const char *dv = s >= 0 ? hmap_get(&j->shards[s].data, key) : NULL;
	size_t need = size;

	if (q && q->value && !strcmp(q->value, value)) {
		attach(q, w);
		return 0;
	}
	if (!q && f && f->value && !strcmp(f->value, value)) {
		attach(f, w);
		return 0;
	}
	if (!f && dv && !strcmp(dv, value)) {
		if (q)	/* a later add wins over what was queued before it */
			change_cancel(j, q, 0, NULL);
		return 1;
	}
	if (f) {
		t = f->value ? f->shard : (s >= 0 ? s : f->shard);
	} else if (s >= 0) {
		size_t old = entry_cost(key, strlen(dv));

		t = s;
		need = size > old ? size - old : 0;
	} else if (q && q->value) {
		t = q->shard;
	} else {
		for (size_t i = 0; i < j->nshards && t < 0; i++)
			if (fits(j, (int)i, need, q))
				t = (int)i;
		if (t < 0 && j->nshards < (size_t)j->max_shards)
			t = (int)j->nshards++;	/* created by the next write */
		if (t < 0)
			return -1;
	}
	if (!fits(j, t, need, q))
		return -1;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->key = xstrdup(key);
		q->since = clock_now_ms();
		hmap_put(&j->queued, key, q);
		j->queued_adds++;
	} else {
		if (!q->value) {
			j->queued_removals--;
			j->queued_adds++;
		}
		j->shards[q->shard].held -= q->reserved;
		free(q->value);
	}
	q->value = xstrdup(value);
	q->shard = t;
	q->reserved = need;
	j->shards[t].held += need;
	attach(q, w);
	pthread_cond_signal(&j->work);
	return 0;
}

void journal_nudge(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	if (j->queued_adds)
		pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->mu);
}

/* A waiter that gives up: detach it, and drop its queued add if nobody else waits. */
static void withdraw(struct journal *j, struct waiter *w)
{
	struct change *c = w->change;
	struct waiter **p;

	if (!c)
		return;
	for (p = &c->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->change = NULL;
	if (!c->inflight && !c->waiters && c->value)
		change_cancel(j, c, 0, NULL);
}

static int check_entry(struct journal *j, const char *key, const char *value, struct err *e)
{
	size_t kl = strlen(key), size = entry_cost(key, strlen(value));
	json_t *probe;

	if (!kl || kl > KEY_MAX)
		return err_set(e, JOURNAL_ERR_INVALID, "journal key '%.64s' must have 1 to %d "
			       "characters", key, KEY_MAX);
	for (size_t i = 0; i < kl; i++)
		if (!alnum(key[i]) && key[i] != '-' && key[i] != '_' && key[i] != '.')
			return err_set(e, JOURNAL_ERR_INVALID, "journal key '%s' may only have "
				       "letters, digits, '-', '_' and '.'", key);
	if (!strcmp(key, ".") || !strncmp(key, "..", 2))
		return err_set(e, JOURNAL_ERR_INVALID, "journal key '%s' may not be '.' or start "
			       "with '..'", key);
	if (size > j->shard_bytes)
		return err_set(e, JOURNAL_ERR_TOO_LARGE, "journal entry '%s' takes %zu bytes, more "
			       "than a shard holds (%zu)", key, size, j->shard_bytes);
	probe = json_string(value);
	if (!probe)
		return err_set(e, JOURNAL_ERR_INVALID, "journal value of '%s' is not UTF-8", key);
	json_decref(probe);
	return 0;
}

/* 0 when adds and flushes may run. Under mu. */
int journal_usable(struct journal *j, struct err *e)
{
	if (j->lost)
		return err_set(e, JOURNAL_ERR_LOST, "journal '%s/%s' was taken over by another "
			       "holder", j->ns, j->base);
	if (j->stopping)
		return err_set(e, JOURNAL_ERR_STOPPED, "journal is stopping");
	if (!j->loaded)
		return err_set(e, JOURNAL_ERR_INVALID, "journal is not loaded");
	return 0;
}

int journal_add(struct journal *j, const char *key, const char *value, struct err *e)
{
	struct waiter w = { 0 };
	int64_t deadline = clock_now_ms() + j->add_timeout_ms;
	struct timespec ts = clock_deadline_ms(j->add_timeout_ms);
	bool waited = false;
	int rc;

	rc = check_entry(j, key, value, e);
	if (rc)
		return rc;
	pthread_mutex_lock(&j->mu);
	j->users++;
	for (;;) {
		rc = journal_usable(j, e);
		if (rc)
			goto out;
		rc = enqueue(j, key, value, entry_cost(key, strlen(value)), &w);
		if (rc >= 0)
			break;
		if (!waited) {
			waited = true;
			j->st.full_waits++;
			if (j->m_full_waits)
				metric_add(j->m_full_waits, NULL, 1);
			log_warn("journal: every shard is full (%d of %zu bytes); '%s' waits up to "
				 "%lld ms for removals", j->max_shards, j->shard_bytes, key,
				 (long long)j->add_timeout_ms);
		}
		j->room_waiters++;
		pthread_cond_signal(&j->work);
		rc = pthread_cond_timedwait(&j->cond, &j->mu, &ts);
		j->room_waiters--;
		if (rc == ETIMEDOUT && clock_now_ms() >= deadline) {
			rc = err_set(e, JOURNAL_ERR_FULL, "journal: no room for '%s' within %lld ms "
				     "(%d shards of %zu bytes are full)", key,
				     (long long)j->add_timeout_ms, j->max_shards, j->shard_bytes);
			goto out;
		}
	}
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	while (!w.done)
		if (pthread_cond_timedwait(&j->cond, &j->mu, &ts) == ETIMEDOUT && !w.done) {
			withdraw(j, &w);
			rc = err_set(e, KUBE_ERR_TIMEOUT, "journal: '%s' not durable within %lld ms",
				     key, (long long)j->add_timeout_ms);
			goto out;
		}
	rc = w.rc;
	if (rc)
		err_set(e, rc, "%s", w.msg);
	free(w.msg);
out:
	j->users--;
	if (j->stopping)
		pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int journal_add_many(struct journal *j, const struct journal_entry *es, size_t n, struct err *e)
{
	struct waiter *ws = xcalloc(n + 1, sizeof(*ws));
	struct timespec ts = clock_deadline_ms(j->add_timeout_ms);
	size_t queued = 0, done;
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	j->users++;
	rc = journal_usable(j, e);
	for (size_t i = 0; !rc && i < n; i++, queued++)
		if (enqueue(j, es[i].key, es[i].value, entry_cost(es[i].key, strlen(es[i].value)),
			    &ws[i]) < 0)
			rc = err_set(e, JOURNAL_ERR_FULL, "journal: no room for '%s' (%d shards of "
				     "%zu bytes)", es[i].key, j->max_shards, j->shard_bytes);
		else if (!ws[i].change)
			ws[i].done = true;	/* durable already */
	for (;;) {
		done = 0;
		for (size_t i = 0; i < queued; i++)
			done += ws[i].done;
		if (done == queued)
			break;
		if (pthread_cond_timedwait(&j->cond, &j->mu, &ts) == ETIMEDOUT) {
			for (size_t i = 0; i < queued; i++)
				withdraw(j, &ws[i]);
			if (!rc)
				rc = err_set(e, KUBE_ERR_TIMEOUT, "journal: %zu records not durable "
					     "within %lld ms", queued - done, (long long)j->add_timeout_ms);
			break;
		}
	}
	for (size_t i = 0; i < queued; i++) {
		if (!rc && ws[i].done && ws[i].rc)
			rc = err_set(e, ws[i].rc, "%s", ws[i].msg);
		free(ws[i].msg);
	}
	j->users--;
	if (j->stopping)
		pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mu);
	free(ws);
	return rc;
}

void journal_remove(struct journal *j, const char *key)
{
	struct change *q, *f;
	int s;

	pthread_mutex_lock(&j->mu);
	if (!j->loaded || j->stopping || j->lost)
		goto out;
	q = hmap_get(&j->queued, key);
	f = hmap_get(&j->inflight, key);
	s = shard_of(j, key);
	if (q) {
		if (!q->value)
			goto out;
		/* a queued add: its waiters see it done once the removal is written */
		j->shards[q->shard].held -= q->reserved;
		q->reserved = 0;
		free(q->value);
		q->value = NULL;
		j->queued_adds--;
		j->queued_removals++;
		if (!f && s < 0) {
			change_cancel(j, q, 0, NULL);
			goto out;
		}
	} else if (s >= 0 || (f && f->value)) {
		q = xcalloc(1, sizeof(*q));
		q->key = xstrdup(key);
		q->shard = s >= 0 ? s : f->shard;
		hmap_put(&j->queued, key, q);
		j->queued_removals++;
	} else {
		goto out;
	}
	q->since = clock_now_ms();
	if (j->queued_removals == 1) {
		j->first_removal_at = q->since;
		pthread_cond_signal(&j->work);
	}
out:
	pthread_mutex_unlock(&j->mu);
}

/* Whether `key` has a removal queued or in flight. Under mu. */
static bool removing(struct journal *j, const char *key)
{
	struct change *q = hmap_get(&j->queued, key), *f = hmap_get(&j->inflight, key);

	return (q && !q->value) || (!q && f && !f->value);
}

char *journal_get(struct journal *j, const char *key)
{
	char *v = NULL;
	int s;

	pthread_mutex_lock(&j->mu);
	s = shard_of(j, key);
	if (s >= 0 && !removing(j, key))
		v = xstrdup(hmap_get(&j->shards[s].data, key));
	pthread_mutex_unlock(&j->mu);
	return v;
}

struct collect {
	struct journal *j;
	struct journal_entry *es;
	size_t n, alloc;
	bool count_only;
	int shard;
};

static void collect_one(void *ctx, const char *key, void *value)
{
	struct collect *c = ctx;

	/* a key also in an earlier shard (an operator's copy) counts once */
	if (removing(c->j, key) || shard_of(c->j, key) != c->shard)
		return;
	if (!c->count_only) {
		c->es = xgrow(c->es, c->n + 1, &c->alloc, sizeof(*c->es));
		c->es[c->n].key = xstrdup(key);
		c->es[c->n].value = xstrdup(value);
	}
	c->n++;
}

/* Every live key once. Under mu. */
static void collect_all(struct journal *j, struct collect *c)
{
	for (c->shard = 0; (size_t)c->shard < j->nshards; c->shard++)
		hmap_each(&j->shards[c->shard].data, collect_one, c);
}

struct journal_entry *journal_entries(struct journal *j, size_t *n)
{
	struct collect c = { .j = j };

	pthread_mutex_lock(&j->mu);
	collect_all(j, &c);
	pthread_mutex_unlock(&j->mu);
	*n = c.n;
	return c.es;
}

void journal_entries_free(struct journal_entry *es, size_t n)
{
	for (size_t i = 0; es && i < n; i++) {
		free(es[i].key);
		free(es[i].value);
	}
	free(es);
}

size_t journal_count(struct journal *j)
{
	struct collect c = { .j = j, .count_only = true };

	pthread_mutex_lock(&j->mu);
	collect_all(j, &c);
	pthread_mutex_unlock(&j->mu);
	return c.n;
}

bool journal_lost(struct journal *j)
{
	bool lost;

	pthread_mutex_lock(&j->mu);
	lost = j->lost;
	pthread_mutex_unlock(&j->mu);
	return lost;
}

int journal_load(struct journal *j, struct err *e)
{
	int rc;

	if (!dns1123(j->ns, 63) || strchr(j->ns, '.') || !dns1123(j->base, 240) ||
	    !label_value(j->label) || !*j->holder || strlen(j->holder) > 253)
		return err_set(e, JOURNAL_ERR_INVALID, "journal: bad options (namespace '%s', "
			       "base '%s', label '%s', holder '%s')", j->ns, j->base, j->label,
			       j->holder);
	pthread_mutex_lock(&j->mu);
	if (j->stopping || (j->loaded && j->adopted)) {
		pthread_mutex_unlock(&j->mu);
		return err_set(e, JOURNAL_ERR_INVALID, "journal: already loaded or stopping");
	}
	if (!j->loaded) {
		/* a failed load may have left shards behind: start afresh */
		for (size_t i = 0; i < j->shards_alloc; i++)
			shard_release(&j->shards[i]);
		free(j->shards);
		j->shards = NULL;
		j->nshards = j->shards_alloc = 0;
		j->announced = 0;
		pthread_mutex_unlock(&j->mu);
		rc = store_load(j, e);
		if (rc)
			return rc;
		pthread_mutex_lock(&j->mu);
		if (pthread_create(&j->thread, NULL, journal_commit_loop, j)) {
			/* no committer: nothing could be recorded; load again later */
			pthread_mutex_unlock(&j->mu);
			return err_set(e, JOURNAL_ERR_INVALID,
				       "journal: cannot start the committer thread");
		}
		j->loaded = j->started = true;
		journal_update_gauges(j);
	}
	pthread_mutex_unlock(&j->mu);
	/* loaded but not yet usable by callers: journal_load is retried until this is done */
	rc = j->adopt ? journal_adopt_configmaps(j, e) : 0;
	if (rc)
		return rc;
	pthread_mutex_lock(&j->mu);
	j->adopted = true;
	pthread_mutex_unlock(&j->mu);
	return 0;
}

static void free_change(void *ctx, const char *key, void *value)
{
	change_free(value);
}

void journal_free(struct journal *j)
{
	struct change **cs;
	size_t n;
	bool started;

	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->stopping = true;
	cs = changes_of(&j->queued, &n);
	for (size_t i = 0; i < n; i++)
		change_cancel(j, cs[i], JOURNAL_ERR_STOPPED, "journal is stopping");
	free(cs);
	/* in-flight changes stay the committer's; only their waiters are let go */
	cs = changes_of(&j->inflight, &n);
	for (size_t i = 0; i < n; i++)
		change_complete(cs[i], JOURNAL_ERR_STOPPED, "journal is stopping");
	free(cs);
	pthread_cond_broadcast(&j->cond);
	pthread_cond_signal(&j->work);
	while (j->users)
		pthread_cond_wait(&j->cond, &j->mu);
	started = j->started;
	pthread_mutex_unlock(&j->mu);
	if (started)
		pthread_join(j->thread, NULL);
	hmap_each(&j->inflight, free_change, NULL);
	hmap_release(&j->inflight);
	hmap_release(&j->queued);
	for (size_t i = 0; i < j->shards_alloc; i++)
		shard_release(&j->shards[i]);
	free(j->shards);
	free(j->last_msg);
	free(j->ns);
	free(j->base);
	free(j->label);
	free(j->holder);
	free(j->collection);
	free(j->list_path);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cond);
	pthread_cond_destroy(&j->work);
	free(j);
}

void journal_stats(struct journal *j, struct journal_stats *out)
{
	pthread_mutex_lock(&j->mu);
	*out = j->st;
	out->shards = 0;
	out->bytes = 0;
	out->pending = j->queued.count + j->inflight.count;
	for (size_t i = 0; i < j->nshards; i++) {
		out->shards += j->shards[i].exists;
		out->bytes += j->shards[i].used;
	}
	pthread_mutex_unlock(&j->mu);
}
