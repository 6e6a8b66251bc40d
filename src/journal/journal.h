/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal.h - the provisioner's durable intent journal: a small key/value
 * store kept in Leases (coordination.k8s.io/v1) of the provisioner's own
 * namespace, where tenants cannot write: the one kind upstream's RBAC
 * grants there, so its manifests work unchanged. The provisioning code records an intent (key = volume name,
 * value = a JSON document describing the CreateVolume request, never a
 * secret value) before it asks the driver to create a volume, and removes it
 * only once the volume is accounted for (see src/provision/claim_sync.c).
 *
 * Storage: shards named "<base>-0", "<base>-1", ... in `namespace`, each a
 * Lease labelled csi-provisioner.dev/journal=<label> whose annotations hold
 * the records (intent.csi-provisioner.dev/<key>: <value>; a key that is no
 * valid annotation name goes in the value, journal_store.c), and annotated
 * csi-provisioner.dev/journal-holder=<holder>. Readable by an operator with
 * `kubectl get lease -l csi-provisioner.dev/journal -o yaml`. A key lives in
 * exactly one shard; a new key goes to the first shard with room (a shard
 * holds at most `shard_bytes` of annotation names and values); a new shard
 * is created when all are full, up to `max_shards`. A key keeps its shard: a
 * bigger value for it waits for room there. Leases with the label whose
 * name is not "<base>-<n>" are logged at load and otherwise ignored.
 *
 * Upgrade: earlier versions kept the same shards in ConfigMaps (records in
 * `data`). journal_load adopts them into the Leases and deletes them
 * (journal_adopt.c); without permission to list ConfigMaps it logs one line
 * and skips that.
 *
 * Writes: every write is a PUT carrying the shard's resourceVersion (or a
 * POST creating a new shard), so no write overwrites one it has not seen.
 * Group commit: journal_add queues its key and waits; one committer thread
 * writes every key queued while the previous write was in flight, in one
 * write per changed shard, then wakes every waiter of that round.
 * Removals are lazy: journal_remove queues the removal and returns at once;
 * queued removals ride along with the next add, or are written on their own
 * after `lazy_remove_ms`.
 *
 * Fencing: journal_load takes the journal over by writing `holder` into
 * every shard. A write that meets a conflict re-reads the shard: if another
 * holder has written it since, this instance has been taken over (a new
 * leader, or a second replica): the journal is "lost", every waiting and
 * later journal_add fails with JOURNAL_ERR_LOST, and nothing is written any
 * more. If the holder is still us (an operator edited the Lease), the
 * server's data is taken as the base and the queued changes are applied to
 * it again. A shard deleted behind our back is created again with what the
 * journal holds. A POST of a new shard has no resourceVersion to be fenced
 * by, so shard 0 also carries csi-provisioner.dev/journal-shards = N (how
 * many shards the holder may have created): a holder raises N on shard 0
 * before it creates shard N or later, and a take-over creates (empty) every
 * missing shard below N, so an old holder can create none after it.
 *
 * Backpressure: when every shard is full and max_shards exist, journal_add
 * waits (logging once per wait and counting it in the metric
 * csi_provisioner_journal_full_waits_total) until removals make room, or
 * until its deadline.
 *
 * Write errors other than conflicts fail the waiters of that shard's write
 * (their keys are not durable; a later add queues them again), and the next
 * write waits a backoff (500 ms doubling to 30 s). Failed removals stay
 * queued.
 *
 * Metrics (when opts.metrics is set; registered once per registry):
 *   csi_provisioner_journal_intents           gauge: keys durable in the shards
 *   csi_provisioner_journal_shards            gauge: shards that exist
 *   csi_provisioner_journal_writes_total      counter: successful shard writes
 *   csi_provisioner_journal_conflicts_total   counter: writes that met a conflict
 *   csi_provisioner_journal_full_waits_total  counter: adds that waited for room
 *
 * Threads: any thread may call any function after journal_load succeeded;
 * one internal committer thread. DESIGN comment in journal.c gives the lock.
 * Implementation: journal.c (queue, waiters), journal_commit.c (committer),
 * journal_store.c (the shards on the API server).
 */
#ifndef JOURNAL_JOURNAL_H
#define JOURNAL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct kube_client;
struct metrics;
struct journal;

/*
 * Error codes of this module: the journal domain of the error space
 * (base/err.h); kube codes pass through otherwise.
 */
#define JOURNAL_ERR_LOST ERR_CODE(ERR_DOMAIN_JOURNAL, 1)	/* taken over by another holder */
#define JOURNAL_ERR_FULL ERR_CODE(ERR_DOMAIN_JOURNAL, 2)	/* no room before the deadline */
#define JOURNAL_ERR_STOPPED ERR_CODE(ERR_DOMAIN_JOURNAL, 3)/* journal_free began */
#define JOURNAL_ERR_TOO_LARGE ERR_CODE(ERR_DOMAIN_JOURNAL, 4)/* key and value alone exceed shard_bytes (no wait) */
#define JOURNAL_ERR_INVALID ERR_CODE(ERR_DOMAIN_JOURNAL, 5)/* bad key, value or option, or not loaded */
/*
 * Keys follow ConfigMap data keys (as they did when the shards were
 * ConfigMaps): 1-253 of [-._a-zA-Z0-9]. Values are UTF-8. A shard holds at
 * most shard_bytes of annotations.
 */

#define JOURNAL_WRITE_BURST 1
/* How often opts.urgent is asked again while a paced write is held back. */
#define JOURNAL_URGENT_RECHECK_MS 100

struct journal_opts {
	const char *namespace;		/* where the shards live; borrowed */
	const char *base;		/* shard name prefix (DNS-1123, <= 240 chars); borrowed */
	const char *label;		/* label value (<= 63 chars, label syntax); borrowed */
	const char *holder;		/* this process's unique identity; borrowed */
	size_t shard_bytes;		/* 0 = 200 KiB; at most 256 KiB - 16 KiB */
	int max_shards;			/* 0 = 64 */
	int64_t lazy_remove_ms;		/* 0 = 2000 */
	/*
	 * Pacing of writes that carry adds (0 = none): a bucket of
	 * JOURNAL_WRITE_BURST writes refilled one per min_write_interval_ms.
	 * Adds after a quiet spell are written at once; under a steady stream
	 * each write gathers everything that arrived meanwhile, so the journal
	 * costs a bounded share of the client's request budget. journal_flush,
	 * waiters for room and an urgent caller (below) are never held.
	 */
	int64_t min_write_interval_ms;
	/*
	 * Asked (with the journal's lock held: it must be quick and take no
	 * lock of the caller's but leaves) before a paced write is held back,
	 * and again every JOURNAL_URGENT_RECHECK_MS while it is, with the
	 * number of adds waiting: true when the caller is short of other work
	 * and the adds must go now. May be NULL.
	 */
	bool (*urgent)(void *ctx, size_t waiting);
	void *urgent_ctx;
	int64_t add_timeout_ms;		/* longest journal_add wait; 0 = 60000 */
	struct metrics *metrics;	/* NULL = none; borrowed */
	bool no_adopt;			/* do not look for an older version's ConfigMap shards */
};

/* The client and options are borrowed until journal_free. */
struct journal *journal_new(struct kube_client *kube, const struct journal_opts *o);

/*
 * Read every shard and take the journal over (see Fencing), start the
 * committer, then adopt an older version's ConfigMap shards (see Upgrade).
 * Until it returns 0 nothing may be added. On failure (the shards cannot be
 * listed, read or written, or the adoption failed) the caller retries later
 * (a retry after a failed adoption only adopts again); a journal that
 * cannot be loaded must stop provisioning.
 */
int journal_load(struct journal *j, struct err *e);

/*
 * Record key -> value (both copied) and wait until it is durable. An
 * identical key/value already durable returns at once without a write; a
 * different value replaces the old one (durably) - the caller decides when
 * that is right. Fails with JOURNAL_ERR_LOST, JOURNAL_ERR_FULL,
 * JOURNAL_ERR_STOPPED or the kube error of the failed write (the key is then
 * not durable; a later add may try again); JOURNAL_ERR_TOO_LARGE and
 * JOURNAL_ERR_INVALID at once for an entry that can never be written;
 * KUBE_ERR_TIMEOUT when not durable within add_timeout_ms (the write may
 * still land). Concurrent adds of one key: the last value queued wins and
 * every one of them returns once it is durable.
 */
int journal_add(struct journal *j, const char *key, const char *value, struct err *e);

/*
 * Queue the removal of `key` (no-op if absent) and return at once; written
 * lazily. A journal_add of the same key before the write cancels it. A
 * removal queued while an add of the key waits replaces that add (whose
 * caller then returns 0 once the removal is written).
 */
void journal_remove(struct journal *j, const char *key);

/*
 * Have the paced writer ask opts.urgent again now (it asks on each add and
 * every JOURNAL_URGENT_RECHECK_MS): for a caller whose answer just changed
 * without an add. Cheap; any thread.
 */
void journal_nudge(struct journal *j);

/*
 * The durable value of `key` (caller frees), or NULL when there is none or
 * it is being removed. A value still being added is not seen.
 */
char *journal_get(struct journal *j, const char *key);

/*
 * Every live key and its value (caller frees with journal_entries_free), in
 * no particular order: the durable keys, less those queued for removal.
 */
struct journal_entry {
	char *key, *value;
};
struct journal_entry *journal_entries(struct journal *j, size_t *n);
void journal_entries_free(struct journal_entry *es, size_t n);

/* Number of live keys. */
size_t journal_count(struct journal *j);

/* Whether another holder took the journal over (then nothing works any more). */
bool journal_lost(struct journal *j);

/*
 * Write what is queued (removals included) and wait up to `ms` for it;
 * 0 when everything queued is durable. For orderly shutdown and tests.
 */
int journal_flush(struct journal *j, int64_t ms, struct err *e);

/*
 * Stop the committer and free. Waiters fail with JOURNAL_ERR_STOPPED at
 * once; it then waits for a write in flight to end (bounded by the kube
 * client's timeout and retries). No call may start once it began; calls
 * blocked in journal_add or journal_flush return first. Accepts NULL.
 */
void journal_free(struct journal *j);

/*
 * Read-only: the value of `key` in the journal labelled `label` in
 * `namespace`, read straight from the shards without loading or taking the
 * journal over (nothing is written; a running holder is not disturbed).
 * *value (caller frees) is NULL when no shard has the key; *shard (may be
 * NULL; caller frees) names the shard that has it. Values over
 * JOURNAL_PEEK_MAX_VALUE bytes are an error.
 */
#define JOURNAL_PEEK_MAX_VALUE (256 * 1024)

/*
 * The label value (and shard-name suffix) of a driver's journal: CSI driver
 * names are at most 63 characters of letters, digits, '-' and '.'; anything
 * else becomes '-', upper case is lowered. Caller frees.
 */
char *journal_label_of(const char *driver);
int journal_peek(struct kube_client *kube, const char *namespace, const char *label,
		 const char *key, char **value, char **shard, struct err *e);

/* Statistics for benchmarks and tests. */
struct journal_stats {
	uint64_t writes;		/* successful PUT/POST of shards */
	uint64_t conflicts;		/* writes that met a conflict */
	uint64_t adds;			/* keys made durable by journal_add */
	uint64_t removes;		/* keys removed durably */
	size_t shards;
	size_t bytes;			/* sum of key and value lengths */
	uint64_t full_waits;		/* adds that had to wait for room */
	size_t pending;			/* changes queued or being written */
};
void journal_stats(struct journal *j, struct journal_stats *out);

#endif
