/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leader.h - Lease-based leader election, so several replicas can run and
 * exactly one provisions.
 *
 * The algorithm is client-go's: a candidate takes the Lease when it does not
 * exist, when its holder is empty (released), or when the record has not
 * changed for its leaseDurationSeconds as measured on OUR clock since we
 * last saw it change (so clock skew between replicas does not matter). The
 * leader renews every retry period, first optimistically with the record it
 * wrote last (one PUT), and on failure by reading the Lease again (the
 * "slow path", counted in leader_election_slowpath_total). Every write
 * carries the resourceVersion it read, so two candidates cannot both win.
 * On an orderly stop the leader releases the Lease (holder emptied) so a
 * standby takes over at once instead of after the lease duration.
 *
 * No split brain. Leadership is a deadline, not a flag: a successful
 * acquisition or renewal whose request STARTED at time S makes this replica
 * leader until S + renew deadline (monotonic clock), and
 * leader_is_leader() is simply "now < that instant", so it turns false on
 * time even when the renewal thread is stuck. A standby waits the whole
 * lease duration from when it saw our renewal (which is after S) before it
 * takes over, so the old leader stops at least (lease duration - renew
 * deadline) before the new one can start. client-go measures the renew
 * deadline from the start of each renewal round, one retry period after the
 * last success, which gives up to retry period + renew deadline, more than
 * the lease duration with some valid settings; we measure it from the last
 * success, which is never later than client-go. Each renewal request is
 * bounded by what is left until that instant and is never retried by the
 * client (kube_call); the loop itself tries again every retry period until
 * the instant passes. Seeing another holder in the Lease ends leadership at
 * once.
 *
 * What happens on loss is the caller's choice (opts.on_lost); writes are
 * kept from the API server and the driver by installing leader_write_guard
 * on the clients that write (kube_client_set_write_guard,
 * csi_client_set_write_guard), which refuse every write once
 * leader_is_leader() is false.
 * Every write carries the configured labels (--leader-election-labels).
 *
 * Use a kube_client of its own, so provisioning traffic can never starve
 * renewals (upstream issue #416).
 */
#ifndef LEADER_H
#define LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct kube_client;
struct leader;

struct leader_opts {
	const char *namespace;		/* of the Lease */
	const char *name;		/* of the Lease */
	const char *identity;		/* this candidate */
	int64_t lease_duration_ms;	/* > renew_deadline_ms */
	int64_t renew_deadline_ms;	/* > retry_period_ms */
	int64_t retry_period_ms;
	/*
	 * Hooks, each may be NULL; they run on the renewal thread with no lock
	 * held. on_lost runs once, after leadership ended by failure (not on
	 * leader_free); it may exit the process. on_slowpath runs each time a
	 * renewal had to read the Lease again.
	 */
	void (*on_lost)(void *ctx);
	void (*on_slowpath)(void *ctx);
	void *hook_ctx;
	const char *const *labels;	/* --leader-election-labels: key, value, ..., NULL; or NULL */
	bool release_on_exit;		/* release the Lease in leader_free (see main.c) */
};

/* "hostpath.csi.k8s.io" -> "hostpath-csi-k8s-io", as upstream names its Lease. Caller frees. */
char *leader_lease_name(const char *driver);

/*
 * Strings are copied; the client and hook_ctx are borrowed until
 * leader_free. The namespace and name must pass
 * kube_name_check(KUBE_RES_LEASE, ...).
 */
struct leader *leader_new(struct kube_client *c, const struct leader_opts *o);

/*
 * One attempt to take the Lease, bounded by the renew deadline. Returns 0
 * when this candidate now leads (and starts renewing it in the background),
 * KUBE_ERR_CONFLICT while another holder's lease is live, or another kube
 * error. The caller waits the retry period between attempts (main.c does
 * so while watching for signals). Not to be called again once it returned 0.
 */
int leader_try_acquire(struct leader *l, struct err *e);

/* Whether this replica leads right now. Cheap (an atomic load and a clock read); any thread. */
bool leader_is_leader(struct leader *l);

/* True once leadership, after it was acquired, ended other than by leader_free. Any thread. */
bool leader_lost(struct leader *l);

/*
 * For a watchdog that saw leader_lost() while the renewal thread is stuck in
 * a call: end leadership as that thread would have (the log line, then the
 * on_lost hook). Does nothing when leadership already ended that way.
 */
void leader_expire(struct leader *l);

/* The clock_now_ms() instant until which we lead; 0 when we do not. Any thread. */
int64_t leader_valid_until_ms(struct leader *l);

/*
 * A write guard (kube_write_guard_fn / csi_write_guard_fn) over `l` (a
 * struct leader *): NULL while this replica leads, else the reason.
 */
const char *leader_write_guard(void *l);

/*
 * Stop renewing; release the Lease if we still hold it and release_on_exit
 * (bounded by the renew deadline). Accepts NULL. on_lost is not called.
 */
void leader_free(struct leader *l);

#endif
