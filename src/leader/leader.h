/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leader.h - Lease-based leader election, so several replicas can run and
 * exactly one provisions.
 *
 * The algorithm is client-go's: a candidate takes the Lease when it does not
 * exist, or when its holder has not renewed it for leaseDurationSeconds as
 * measured on OUR clock since we last saw the record change (so clock skew
 * between replicas does not matter); the leader renews every retry period
 * and gives up when it could not renew within the renew deadline. Every
 * write carries the resourceVersion it read, so two candidates cannot both
 * win. On an orderly stop the leader can release the Lease (holder emptied)
 * so a standby takes over at once instead of after the lease duration.
 * Every write carries the configured labels.
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
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
	const char *const *labels;	/* --leader-election-labels: key, value, ..., NULL; or NULL */
	bool release_on_exit;		/* release the Lease in leader_free (see main.c) */
};

/* "hostpath.csi.k8s.io" -> "hostpath-csi-k8s-io", as upstream names its Lease. Caller frees. */
char *leader_lease_name(const char *driver);

/* Strings are copied; the client is borrowed until leader_free. */
struct leader *leader_new(struct kube_client *c, const struct leader_opts *o);

/*
 * One attempt to take the Lease. Returns 0 when this candidate now leads
 * (and starts renewing it in the background), KUBE_ERR_CONFLICT while
 * another holder's lease is live, or another kube error. The caller waits
 * the retry period between attempts (main.c does so while watching for
 * signals).
 */
int leader_try_acquire(struct leader *l, struct err *e);

/* True once a held lease could not be renewed within the renew deadline. */
bool leader_lost(struct leader *l);
bool leader_is_leader(struct leader *l);

/* Stop renewing; release the Lease if we hold it and release_on_exit. Accepts NULL. */
void leader_free(struct leader *l);

#endif
