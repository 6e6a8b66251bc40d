// SPDX-License-Identifier: Apache-2.0
/*
 * journal_commit.c - the journal's committer thread: rounds of group
 * commit, their results handed to the waiters, the loss of the journal to
 * another holder, and journal_flush. The lock rules are in journal.c's
 * DESIGN comment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal_int.h"
#include "kube/status.h"

#define RETRY_START_MS 500
#define RETRY_MAX_MS 30000

struct group {
	int idx;
	size_t start, n;
};

struct change_list {
	struct change **cs;
	size_t n, alloc;
};

static void collect_change(void *ctx, const char *key, void *value)
{
	struct change_list *r = ctx;

	r->cs = xgrow(r->cs, r->n + 1, &r->alloc, sizeof(*r->cs));
	r->cs[r->n++] = value;
}

struct change **changes_of(struct hmap *m, size_t *n)
{
	struct change_list r = { 0 };

	hmap_each(m, collect_change, &r);
	*n = r.n;
	return r.cs;
}

static int by_shard(const void *a, const void *b)
{
	const struct change *x = *(struct change *const *)a, *y = *(struct change *const *)b;

	return (x->shard > y->shard) - (x->shard < y->shard);
}

/* Apply one shard's write result to its changes and wake their waiters. Under mu. */
static void settle(struct journal *j, struct change **cs, size_t n, int rc, const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		struct change *c = cs[i];

		hmap_remove(&j->inflight, c->key);
		j->shards[c->shard].held -= c->reserved;
		c->reserved = 0;
		c->inflight = false;
		if (!rc) {
			if (c->value)
				j->st.adds++;
			else
				j->st.removes++;
		}
		change_complete(c, rc, msg);
		if (rc && !c->value && !j->stopping && !j->lost && !hmap_has(&j->queued, c->key)) {
			/* a removal that failed is tried again with a later round */
			hmap_put(&j->queued, c->key, c);
			if (j->queued_removals++ == 0 || c->since < j->first_removal_at)
				j->first_removal_at = c->since;
			continue;
		}
		change_free(c);
	}
	journal_update_gauges(j);
	pthread_cond_broadcast(&j->cond);
}

/* Another holder took the journal: fail everything queued, write no more. Under mu. */
static void lose(struct journal *j, const char *msg)
{
	size_t n;
	struct change **cs = changes_of(&j->queued, &n);

	j->lost = true;
	log_error("journal '%s/%s' lost: %s; this instance writes it no more", j->ns, j->base,
		  msg);
	for (size_t i = 0; i < n; i++)
		change_cancel(j, cs[i], JOURNAL_ERR_LOST, msg);
	free(cs);
}

/*
 * Take the round's changes out of `queued` (adds; removals that are due or
 * in a shard written anyway), sorted by shard; their number in *n. A
 * removal of a key that is not durable is dropped. Under mu.
 */
static struct change **take_round(struct journal *j, int64_t now, size_t *n)
{
	bool all = j->flushers || j->room_waiters ||
		   (j->queued_removals && now >= j->first_removal_at + j->lazy_ms);
	bool *adds = xcalloc(j->nshards + 1, sizeof(bool));
	size_t count, taken = 0;
	struct change **cs = changes_of(&j->queued, &count);

	for (size_t i = 0; i < count; i++)
		if (cs[i]->value)
			adds[cs[i]->shard] = true;
	for (size_t i = 0; i < count; i++) {
		struct change *c = cs[i];

		if (!c->value) {
			int s = shard_of(j, c->key);

			if (s < 0) {
				change_cancel(j, c, 0, NULL);
				continue;
			}
			c->shard = s;
			if (!all && !adds[s])
				continue;
		}
		hmap_remove(&j->queued, c->key);
		if (c->value)
			j->queued_adds--;
		else
			j->queued_removals--;
		c->inflight = true;
		hmap_put(&j->inflight, c->key, c);
		cs[taken++] = c;
	}
	free(adds);
	if (j->queued_removals) {
		size_t left;
		struct change **rest = changes_of(&j->queued, &left);

		j->first_removal_at = now;
		for (size_t i = 0; i < left; i++)
			if (!rest[i]->value && rest[i]->since < j->first_removal_at)
				j->first_removal_at = rest[i]->since;
		free(rest);
	}
	qsort(cs, taken, sizeof(*cs), by_shard);
	*n = taken;
	return cs;
}

/* One round: write each changed shard once. Under mu (dropped during writes). */
static void run_round(struct journal *j, int64_t now)
{
	size_t n, ng = 0;
	struct change **cs = take_round(j, now, &n);
	struct group *gs = xcalloc(n + 1, sizeof(*gs));
	long announce = 0;
	int abort_rc = 0;
	char *abort_msg = NULL;
	bool failed = false;

	/* a new shard past the announced count needs shard 0 written first */
	for (size_t i = 0; i < n; i++) {
		int idx = cs[i]->shard;

		if (idx > 0 && !j->shards[idx].exists && idx + 1 > j->announced && idx + 1 > announce)
			announce = idx + 1;
	}
	if (announce && (!n || cs[0]->shard != 0))
		gs[ng++] = (struct group){ 0, 0, 0 };
	for (size_t i = 0; i < n; i++) {
		if (!ng || gs[ng - 1].idx != cs[i]->shard)
			gs[ng++] = (struct group){ cs[i]->shard, i, 0 };
		gs[ng - 1].n++;
	}
	pthread_mutex_unlock(&j->mu);
	for (size_t g = 0; g < ng; g++) {
		struct err e = ERR_INIT;
		int rc = abort_rc;
		const char *msg = abort_msg;

		if (!rc) {
			rc = store_write(j, gs[g].idx, cs + gs[g].start, gs[g].n, announce, &e);
			msg = err_msg(&e);
		}
		pthread_mutex_lock(&j->mu);
		if (rc && !abort_rc) {
			failed = true;
			if (rc == JOURNAL_ERR_LOST) {
				lose(j, msg);
			} else {
				log_warn("journal: %zu changes not written: %s", gs[g].n, msg);
				j->last_rc = rc;
				free(j->last_msg);
				j->last_msg = xstrdup(msg);
			}
			if (rc == JOURNAL_ERR_LOST || (gs[g].idx == 0 && announce)) {
				abort_rc = rc;
				abort_msg = xstrdup(msg);
			}
		}
		settle(j, cs + gs[g].start, gs[g].n, rc, msg);
		if (!abort_rc && j->stopping) {
			abort_rc = JOURNAL_ERR_STOPPED;
			abort_msg = xstrdup("journal is stopping");
		}
		pthread_mutex_unlock(&j->mu);
		err_release(&e);
	}
	pthread_mutex_lock(&j->mu);
	if (failed) {
		j->retry_at = clock_now_ms() +
			      backoff_delay_ms(RETRY_START_MS, RETRY_MAX_MS, j->failures++);
	} else if (ng) {
		j->failures = 0;
		j->last_rc = 0;
	}
	free(abort_msg);
	free(gs);
	free(cs);
}

/* Whether a round should run now; else when to look again in *wake (or -1). Under mu. */
static bool due(struct journal *j, int64_t now, int64_t *wake)
{
	if (j->queued_adds) {
		if (!j->min_interval_ms || j->flushers || j->room_waiters ||
		    (j->urgent && j->urgent(j->urgent_ctx, (size_t)j->queued_adds)))
			return true;
		j->tokens += (double)(now - j->tokens_at) / (double)j->min_interval_ms;
		j->tokens_at = now;
		if (j->tokens > JOURNAL_WRITE_BURST)
			j->tokens = JOURNAL_WRITE_BURST;
		if (j->tokens >= 1.0)
			return true;
		/* gather more adds into the next write; look at the urgency meanwhile */
		*wake = now + (int64_t)((1.0 - j->tokens) * (double)j->min_interval_ms) + 1;
		if (j->urgent && *wake > now + JOURNAL_URGENT_RECHECK_MS)
			*wake = now + JOURNAL_URGENT_RECHECK_MS;
		return false;
	}
	if (!j->queued_removals)
		return false;
	if (j->flushers || j->room_waiters || now >= j->first_removal_at + j->lazy_ms)
		return true;
	*wake = j->first_removal_at + j->lazy_ms;
	return false;
}

void *journal_commit_loop(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->mu);
	while (!j->stopping && !j->lost) {
		int64_t now = clock_now_ms(), wake = -1;

		if (now >= j->retry_at && due(j, now, &wake)) {
			if (j->queued_adds && j->min_interval_ms && j->tokens >= 1.0)
				j->tokens -= 1.0;
			run_round(j, now);
			continue;
		}
		if (now < j->retry_at)
			wake = j->retry_at;
		if (wake < 0) {
			pthread_cond_wait(&j->work, &j->mu);
		} else {
			struct timespec ts = clock_deadline_ms(wake - now);

			pthread_cond_timedwait(&j->work, &j->mu, &ts);
		}
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int journal_flush(struct journal *j, int64_t ms, struct err *e)
{
	struct timespec ts = clock_deadline_ms(ms);
	int rc;

	pthread_mutex_lock(&j->mu);
	j->users++;
	rc = journal_usable(j, e);
	if (!rc) {
		j->flushers++;
		pthread_cond_signal(&j->work);
		while (!j->lost && !j->stopping && (j->queued.count || j->inflight.count))
			if (pthread_cond_timedwait(&j->cond, &j->mu, &ts) == ETIMEDOUT)
				break;
		j->flushers--;
		rc = journal_usable(j, e);
		if (!rc && (j->queued.count || j->inflight.count)) {
			if (j->last_rc)
				rc = err_set(e, j->last_rc, "journal: not written within %lld ms: %s",
					     (long long)ms, j->last_msg);
			else
				rc = err_set(e, KUBE_ERR_TIMEOUT, "journal: not written within "
					     "%lld ms", (long long)ms);
		}
	}
	j->users--;
	if (j->stopping)
		pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

