/* SPDX-License-Identifier: Apache-2.0 */
/*
 * startup.h - the daemon's start-up steps that main.c runs in order:
 * logging from the flags, the identities it goes by, the node it serves
 * (--node-deployment), capacity tracking (--enable-capacity), and the stop
 * check its waits use. Main thread only, before the workers start.
 */
#ifndef STARTUP_H
#define STARTUP_H

#include <signal.h>
#include <stdbool.h>

#include "capacity/capacity.h"
#include "config/config.h"
#include "csi/client.h"

struct kube_client;
struct controller_opts;
struct metrics;

#define STARTUP_RESYNC_MS (15 * 60 * 1000)	/* every informer's resync */
#define STARTUP_KUBE_TIMEOUT_MS 30000		/* each API request's deadline */

/* True when SIGTERM or SIGINT is pending (signals are blocked everywhere). */
bool startup_stop_requested(const sigset_t *set);
/* startup_stop_requested as a stopping callback; ctx is the sigset_t. */
bool startup_stopping(void *ctx);

/* hostname plus a random suffix, for the Lease. Caller frees. */
char *startup_leader_identity(void);
/* "<unix ms>-<0..9999>-<driver>[-<node>]", as upstream. Caller frees. */
char *startup_identity(const char *driver, const char *node);

/*
 * Give back the start-up code pages of the libraries (mem_drop_file_pages);
 * `after` names the step just done, for the -v=4 log line.
 */
void startup_trim_memory(const char *after);

/* --logging-format, --v, --vmodule and the streams; then config_parse's notices. */
void startup_logging(const struct config *cfg);

/* --node-deployment: this node and what the driver beside us says of it. */
struct startup_node {
	const char *name;		/* $NODE_NAME; NULL: no node deployment */
	struct csi_node_info info;	/* NodeGetInfo */
	struct strmap segment;		/* info's topology, for capacity tracking */
	char *managed_by;		/* capacity's managed-by label value for this node */
};

/* Frees what startup_node_query filled (not name). Accepts a zeroed one. */
void startup_node_release(struct startup_node *n);
/* NodeGetInfo into n (n->name set by the caller). 0, or -1 after logging why. */
int startup_node_query(struct csi_client *csi, struct startup_node *n);

/*
 * --enable-capacity: check $NAMESPACE and $POD_NAME, make the capacity
 * client (*cap_kube) and the owner, create the controller (*cap) and hook it
 * to copts. 0, or -1 after logging why; the caller frees what was made.
 */
int startup_capacity(const struct config *cfg, struct kube_client *kube,
		     struct csi_client *csi, bool get_capacity, struct controller_opts *copts,
		     const struct startup_node *node, struct metrics *metrics, sigset_t *sigs,
		     struct kube_client **cap_kube, struct cap_owner *owner,
		     struct capacity **cap);

#endif
