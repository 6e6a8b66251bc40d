/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the daemon's configuration: flags > environment > defaults.
 *
 * Every option is one row of a table in config.c (flag, environment
 * variable, type, default, help), so --help, parsing and validation can
 * never drift apart. A bad value is an error that names the flag (or the
 * variable) and the value; nothing is silently ignored.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

struct config {
	char *csi_address;		/* --csi-address, CSI_ENDPOINT */
	char *provisioner;		/* --provisioner, PROVISIONER_NAME; NULL = driver's name */
	char *kubeconfig;		/* --kubeconfig; NULL = $KUBECONFIG, else in-cluster */
	char *volume_name_prefix;	/* --volume-name-prefix */
	int64_t volume_name_uuid_length; /* --volume-name-uuid-length; -1 = whole UID */
	int64_t retry_start_ms;		/* --retry-interval-start, RETRY_INTERVAL */
	int64_t retry_max_ms;		/* --retry-interval-max */
	int64_t timeout_ms;		/* --timeout: every CSI call */
	char **class_whitelist;		/* --storageclass-whitelist; NULL-terminated, NULL = all */
	int64_t verbosity;		/* --v, VERBOSE: 0-5 */
	int64_t worker_threads;		/* --worker-threads */
	double kube_api_qps;		/* --kube-api-qps */
	int64_t kube_api_burst;		/* --kube-api-burst */
	char *default_fstype;		/* --default-fstype */
	bool extra_create_metadata;	/* --extra-create-metadata */
	bool controller_publish_readonly; /* --controller-publish-readonly */
	bool leader_election;		/* --leader-election */
	char *leader_election_namespace; /* --leader-election-namespace; NULL = pod's namespace */
	int64_t le_lease_duration_ms;	/* --leader-election-lease-duration */
	int64_t le_renew_deadline_ms;	/* --leader-election-renew-deadline */
	int64_t le_retry_period_ms;	/* --leader-election-retry-period */
	char *http_endpoint;		/* --http-endpoint; NULL = no HTTP server */
	char *metrics_path;		/* --metrics-path */
	bool volume_accounting;		/* --volume-accounting */
	bool strict_topology;		/* --strict-topology */
	bool immediate_topology;	/* --immediate-topology */
	bool show_help;			/* --help */
	bool show_version;		/* --version */
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
