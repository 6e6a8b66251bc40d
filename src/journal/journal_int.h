/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal_int.h - the journal's internal state, shared by journal.c (the
 * queue, the waiters and the committer), journal_store.c (the Lease shards
 * on the API server: listing, take-over, writes with conflict handling) and
 * journal_adopt.c (an older version's ConfigMap shards, adopted at load).
 * Not for use outside src/journal.
 */
#ifndef JOURNAL_JOURNAL_INT_H
#define JOURNAL_JOURNAL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/hmap.h"
#include "journal/journal.h"

#define JOURNAL_LABEL_KEY "csi-provisioner.dev/journal"
#define JOURNAL_HOLDER_KEY "csi-provisioner.dev/journal-holder"
/* On shard 0 only: how many shards the holder may create (see journal_store.c). */
#define JOURNAL_SHARDS_KEY "csi-provisioner.dev/journal-shards"
/*
 * A record is the annotation INTENT_PREFIX<key>: <value> when the key is a
 * valid annotation name (at most 63 characters, a letter or digit at both
 * ends), else LONG_PREFIX<n>: "<key>\n<value>" (n numbers the shard's long
 * keys afresh at each write). Keys have no '\n', so the split is exact.
 */
#define JOURNAL_INTENT_PREFIX "intent.csi-provisioner.dev/"
#define JOURNAL_LONG_PREFIX "intent-long.csi-provisioner.dev/"
#define JOURNAL_NAME_MAX 63
/* Shard indexes at or past this are not ours (a name the journal never writes). */
#define JOURNAL_INDEX_MAX 1024
/* Conflicts in a row on one shard before a write is given up as an error. */
#define JOURNAL_CONFLICTS_MAX 8

/* A journal_add caller waiting for its change; lives on the caller's stack. */
struct waiter {
	struct waiter *next;
	struct change *change;	/* NULL once done */
	bool done;
	int rc;
	char *msg;		/* heap, when rc != 0 */
};

/* One queued or in-flight change of a key. */
struct change {
	char *key;
	char *value;		/* NULL: a removal */
	int shard;		/* target shard index */
	size_t reserved;	/* bytes held in that shard until written */
	int64_t since;		/* clock_now_ms when queued */
	bool inflight;
	struct waiter *waiters;
};

struct shard {
	char *name, *path;
	bool exists;		/* on the server (else created by the next write to it) */
	char *rv;		/* resourceVersion of the last read or write */
	json_t *obj;		/* that object: its metadata is kept on PUT */
	struct hmap data;	/* key -> value (char *), as the server holds it */
	size_t used;		/* sum of key and value lengths in data */
	size_t held;		/* reserved by queued and in-flight adds */
};

struct journal {
	struct kube_client *kube;
	char *ns, *base, *label, *holder;
	char *collection;	/* /apis/coordination.k8s.io/v1/namespaces/NS/leases */
	char *list_path;	/* the collection with the label selector */
	size_t shard_bytes;
	int max_shards;
	int64_t lazy_ms, add_timeout_ms;
	/*
	 * Rounds that carry adds take a token from a small bucket refilled one
	 * token per min_interval_ms (0 = no bucket): a few writes go at once,
	 * a steady stream is paced. Guarded by mu.
	 */
	int64_t min_interval_ms;	/* opts.min_write_interval_ms */
	double tokens;
	int64_t tokens_at;		/* clock_now_ms() of the last refill */
	bool (*urgent)(void *ctx, size_t waiting);
	void *urgent_ctx;

	pthread_mutex_t mu;
	pthread_cond_t cond;	/* waiters: done, room, idle, stop */
	pthread_cond_t work;	/* the committer: something to write, stop */
	pthread_t thread;
	bool loaded, started, stopping, lost;
	bool adopt;		/* look for an older version's ConfigMap shards at load */
	bool adopted;		/* done (or not wanted): journal_load succeeded */
	unsigned users;		/* callers inside journal_add/journal_flush */
	unsigned flushers;	/* journal_flush callers: write everything now */
	unsigned room_waiters;	/* adds waiting for room: write removals now */

	struct shard *shards;	/* index = shard number; some may not exist yet */
	size_t nshards, shards_alloc;
	long announced;		/* shard 0's JOURNAL_SHARDS_KEY */

	struct hmap queued;	/* key -> struct change, not yet taken by a round */
	struct hmap inflight;	/* key -> struct change, in the round being written */
	size_t queued_adds, queued_removals;
	int64_t first_removal_at;	/* since of the oldest queued removal */

	unsigned failures;	/* failed rounds in a row */
	int64_t retry_at;	/* no write before this (backoff) */
	int last_rc;		/* the last failed write, for journal_flush */
	char *last_msg;

	struct journal_stats st;	/* shards and bytes are computed when asked */
	struct metric *m_intents, *m_shards, *m_writes, *m_conflicts, *m_full_waits;
};

/* journal_store.c */

/*
 * What key -> value (vlen bytes) adds to a shard's annotations, as the API
 * server counts them against its limit (name and value lengths).
 */
size_t entry_cost(const char *key, size_t vlen);
/* Whether `key` is recorded in the short form (INTENT_PREFIX<key>). */
bool entry_short(const char *key);
/* Parse one annotation: 1 and key (caller frees) and value (borrowed from v) when it
 * is a record, 0 when not, -1 (with e) when a long record is malformed. */
int entry_parse(const char *name, const char *v, char **key, const char **value, struct err *e);

/* Grow j->shards to at least n entries (new ones do not exist yet). Under mu. */
void shards_reserve(struct journal *j, size_t n);
/* Free one shard's contents. */
void shard_release(struct shard *s);
/* Take the server's object as the shard's content (data, rv, obj); steals `obj`. Under mu. */
int shard_adopt(struct journal *j, struct shard *s, json_t *obj, struct err *e);
/* The shard holding `key` durably, or -1. Under mu. */
int shard_of(struct journal *j, const char *key);
/* List and take over every shard (journal_load without the locking). */
int store_load(struct journal *j, struct err *e);
/*
 * Write `n` changes (borrowed) to shard `idx`, announcing `announce` shards
 * on shard 0 when > 0, handling conflicts (re-read, fence, rebase). Called by
 * the committer without mu; takes mu itself to adopt what it read or wrote.
 * On success the shard's data includes the changes. JOURNAL_ERR_LOST when
 * another holder has the shard.
 */
int store_write(struct journal *j, int idx, struct change **cs, size_t n, long announce,
		struct err *e);

/* journal_adopt.c: move an older version's ConfigMap shards into the Leases (loaded). */
int journal_adopt_configmaps(struct journal *j, struct err *e);
/* Shard number of `name` ("<base>-<n>"), or -1 (journal_store.c). */
long shard_index(struct journal *j, const char *name);

/*
 * journal.c: journal_add of many entries at once (one group commit), for
 * the adoption; entries already durable with that value are no-ops. 0 when
 * every one is durable. Not under mu.
 */
int journal_add_many(struct journal *j, const struct journal_entry *es, size_t n, struct err *e);

/* journal.c; all under mu */
void journal_count_write(struct journal *j, bool conflict);
void journal_update_gauges(struct journal *j);
/* 0 when adds and flushes may run, else why not. */
int journal_usable(struct journal *j, struct err *e);
/* Wake every waiter of `c` with rc (0, or an error described by msg). */
void change_complete(struct change *c, int rc, const char *msg);
void change_free(struct change *c);
/* Drop a queued change and wake its waiters with rc. */
void change_cancel(struct journal *j, struct change *c, int rc, const char *msg);

/* journal_commit.c */
/* The changes in map `m` (of struct change), in an array the caller frees. */
struct change **changes_of(struct hmap *m, size_t *n);
/* The committer thread's body; `arg` is the journal. */
void *journal_commit_loop(void *arg);

#endif
