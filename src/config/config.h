/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the daemon's configuration: flags > environment > defaults.
 *
 * Every flag of the upstream sidecar (external-provisioner v6.3 with
 * csi-lib-utils' standard flags and component-base's logging flags) is
 * one row of the table in config.c, with upstream's name, default and
 * value syntax (see goparse.h), so existing manifests start unchanged.
 * --help, parsing and validation read the same rows and cannot drift.
 * A bad value is an error that names the flag (or the variable) and the
 * value; a flag of a feature that is not built yet fails when it asks for
 * that feature, naming it; nothing is silently ignored.
 */
#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "config/gates.h"

struct config {
	/* the driver and the names */
	char *csi_address;		/* --csi-address, CSI_ENDPOINT */
	char *provisioner;		/* --provisioner, PROVISIONER_NAME; NULL = driver's name */
	char *volume_name_prefix;	/* --volume-name-prefix */
	int64_t volume_name_uuid_length; /* --volume-name-uuid-length; -1 = whole UID */
	char *default_fstype;		/* --default-fstype */
	char **class_whitelist;		/* --storageclass-whitelist; NULL-terminated, NULL = all */
	/* the Kubernetes client */
	char *kubeconfig;		/* --kubeconfig; NULL = $KUBECONFIG, else in-cluster */
	char *master;			/* --master: API server URL overriding the kubeconfig's */
	double kube_api_qps;		/* --kube-api-qps */
	int64_t kube_api_burst;		/* --kube-api-burst */
	bool kube_api_rate_given;	/* either of the two on the command line */
	/* provisioning */
	int64_t retry_start_ms;		/* --retry-interval-start, RETRY_INTERVAL */
	int64_t retry_max_ms;		/* --retry-interval-max */
	int64_t timeout_ms;		/* --timeout: every CSI call */
	int64_t worker_threads;		/* --worker-threads */
	int64_t cloning_protection_threads; /* --cloning-protection-threads */
	int64_t snapshot_orphan_sweep_ms; /* --snapshot-orphan-sweep-interval; 0 = off */
	bool extra_create_metadata;	/* --extra-create-metadata */
	bool controller_publish_readonly; /* --controller-publish-readonly */
	bool prevent_volume_mode_conversion; /* --prevent-volume-mode-conversion */
	bool strict_topology;		/* --strict-topology */
	bool immediate_topology;	/* --immediate-topology */
	bool volume_accounting;		/* --volume-accounting (ours) */
	struct config_gates gates;	/* --feature-gates */
	/* capacity tracking (src/capacity) */
	bool enable_capacity;		/* --enable-capacity */
	bool capacity_for_immediate_binding; /* --capacity-for-immediate-binding */
	int64_t capacity_poll_ms;	/* --capacity-poll-interval */
	int64_t capacity_ownerref_level; /* --capacity-ownerref-level */
	int64_t capacity_threads;	/* --capacity-threads */
	double kube_api_capacity_qps;	/* --kube-api-capacity-qps */
	int64_t kube_api_capacity_burst; /* --kube-api-capacity-burst */
	/* node deployment (src/provision/node_claim.c) */
	bool node_deployment;		/* --node-deployment */
	bool node_deployment_immediate_binding; /* --node-deployment-immediate-binding */
	int64_t node_deployment_base_delay_ms; /* --node-deployment-base-delay */
	int64_t node_deployment_max_delay_ms; /* --node-deployment-max-delay */
	/* leader election */
	bool leader_election;		/* --leader-election */
	char *leader_election_namespace; /* --leader-election-namespace; NULL = pod's namespace */
	char **leader_election_labels;	/* --leader-election-labels: key, value, ..., NULL */
	int64_t le_lease_duration_ms;	/* --leader-election-lease-duration */
	int64_t le_renew_deadline_ms;	/* --leader-election-renew-deadline */
	int64_t le_retry_period_ms;	/* --leader-election-retry-period */
	/* HTTP */
	char *http_endpoint;		/* --http-endpoint; NULL = no HTTP server */
	char *metrics_address;		/* --metrics-address (deprecated): metrics only */
	char *metrics_path;		/* --metrics-path */
	bool enable_pprof;		/* --enable-pprof: accepted, warns (no Go profiler) */
	/* logging */
	int64_t verbosity;		/* --v, VERBOSE */
	char *vmodule;			/* --vmodule: pattern=N,... (text format only) */
	char *logging_format;		/* --logging-format: "text" or "json" */
	int64_t log_flush_ms;		/* --log-flush-frequency */
	bool log_text_split_stream;	/* --log-text-split-stream */
	int64_t log_text_info_buffer;	/* --log-text-info-buffer-size, bytes */
	bool log_json_split_stream;	/* --log-json-split-stream */
	int64_t log_json_info_buffer;	/* --log-json-info-buffer-size, bytes */
	/* Go runtime only: accepted, no effect */
	bool automaxprocs;		/* --automaxprocs */
	/* the process */
	bool show_help;			/* --help, -h */
	bool show_version;		/* --version */
	/*
	 * Warnings found while parsing (a GA gate set, --enable-pprof, ...),
	 * NULL-terminated or NULL, for main to log once logging is set up.
	 */
	char **notices;
};

typedef const char *(*config_getenv_fn)(const char *name);

/*
 * Fill `c` from defaults, then the environment (looked up with `getenv_fn`,
 * so tests can supply their own), then argv[1..]. Returns 0, or -1 with a
 * message in `e`. The caller releases `c` with config_release either way.
 */
int config_parse(struct config *c, int argc, char *const argv[],
		 config_getenv_fn getenv_fn, struct err *e);

/* True when the class name passes the whitelist (an empty list passes all). */
bool config_class_allowed(const struct config *c, const char *class_name);

void config_usage(FILE *out, const char *argv0);
void config_release(struct config *c);

#endif
