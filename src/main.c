// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - csi-provisioner: configuration, wiring, run, orderly shutdown.
 *
 * No logic lives here. Signals are blocked in every thread from the start
 * and collected here with sigwait, so SIGTERM always means an orderly stop:
 * intake stops, workers finish their current call, and we exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/xalloc.h"
#include "capacity/capacity.h"
#include "cli/cli.h"
#include "cli/setup.h"
#include "config/config.h"
#include "csi/client.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "kube/path.h"
#include "http/server.h"
#include "leader/leader.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "migration/translate.h"
#include "provision/controller.h"
#include "provision/node_deploy.h"
#include "startup.h"

#define PROBE_STEP_MS 1000
#define JOURNAL_SHARE 0.01	/* of --kube-api-qps, see below */
#define ADAPTIVE_NOMINAL_QPS 100.0	/* the journal's pacing without --kube-api-qps */

struct app;

/* The observer context of one CSI client: the `migrated` label value of its calls. */
struct csi_obs {
	struct app *app;
	const char *migrated;
};

/* What the HTTP checks and metric collectors read; written before they run. */
struct app {
	struct controller *_Atomic ctl;
	struct leader *leader;
	struct csi_client *csi;
	struct metric *csi_ops, *leading, *slowpath;
	const char *driver;		/* "unknown-driver" until GetPluginInfo named it, as upstream */
	/*
	 * With a driver that replaces an in-tree plugin, CSI calls carry the
	 * label migrated, as upstream's: "true" on the client for migrated
	 * volumes, "false" on the main one.
	 */
	bool migratable;
	struct csi_obs obs, obs_migrated;
	/*
	 * The calls made before the driver is known (probes, GetPluginInfo):
	 * csi_ops is declared only then, with or without the label migrated,
	 * and these are replayed into it (or dropped with migration, as
	 * upstream's replaced metrics registry drops them). Only the main
	 * thread calls the driver until then.
	 */
	struct early_call {
		const char *driver, *method, *code;
		double seconds;
	} early[32];
	size_t nearly;
};

/*
 * The `name` label of the leader_election_* metrics: upstream's comes from
 * LeaderElectionConfig.Name, which csi-lib-utils never sets, so it is empty.
 */
static const char *const leader_metric_labels[] = { "" };

static bool ready_check(void *ctx, const char **why)
{
	struct app *a = ctx;
	struct controller *ctl = atomic_load(&a->ctl);

	if (a->leader && !leader_is_leader(a->leader)) {
		*why = "standing by for the leader";
		return true;	/* a standby is healthy and ready to take over */
	}
	if (!ctl || !controller_synced(ctl)) {
		*why = "caches not synced yet";
		return false;
	}
	if (a->csi && !csi_client_connected(a->csi)) {
		*why = "not connected to the CSI driver";
		return false;
	}
	return true;
}

static bool leader_check(void *ctx, const char **why)
{
	struct app *a = ctx;

	if (a->leader && leader_lost(a->leader)) {
		*why = "lease lost";
		return false;
	}
	return true;
}

static void on_csi_call(void *ctx, const char *method, int code, double seconds)
{
	struct csi_obs *o = ctx;
	struct app *a = o->app;
	/* a failure of ours has no gRPC code: upstream's label for it; the
	 * fourth value counts only when the family has the label migrated */
	const char *labels[] = { a->driver, method,
				 code == CSI_ERR_LOCAL ? "unknown-non-grpc" : csi_code_name(code),
				 o->migrated };

	if (!a->csi_ops) {
		if (a->nearly < sizeof(a->early) / sizeof(a->early[0]))
			a->early[a->nearly++] = (struct early_call){ labels[0], method, labels[2],
								     seconds };
		return;
	}
	metric_observe(a->csi_ops, labels, seconds);
}

/* The leader gauge, read at each scrape. */
static void collect_leader(void *ctx, struct metrics *m)
{
	struct app *a = ctx;

	(void)m;
	metric_set(a->leading, leader_metric_labels,
		   a->leader && leader_is_leader(a->leader) ? 1 : 0);
}

/*
 * Leadership ended by failure. Upstream exits at once (klog.FlushAndExit
 * with status 1) and so do we, from the renewal thread: the write guards
 * already refuse every write since the renew deadline passed, and exiting
 * cuts the calls still in flight, so no write of ours can reach the API
 * server or the driver later; the restarted process is a fresh candidate
 * with fresh caches. Standing down inside the process would need every
 * queue, cache and in-flight operation reset, each a chance for a stale
 * write.
 */
static void on_lease_lost(void *ctx)
{
	(void)ctx;
	log_error("leader election: lease lost; exiting so a standby takes over");
	_exit(1);
}

static void on_lease_slowpath(void *ctx)
{
	struct app *a = ctx;

	metric_add(a->slowpath, leader_metric_labels, 1);
}

static const double csi_buckets[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600 };
static const char *const csi_labels[] = { "driver_name", "method_name", "grpc_status_code", NULL };
static const char *const csi_labels_migrated[] = { "driver_name", "method_name",
						   "grpc_status_code", "migrated", NULL };
static const char *const leader_labels[] = { "name", NULL };

/* csi-lib-utils' operation metric (the "[ALPHA]" is how Kubernetes' registry marks its stability) */
static void register_metrics(struct app *a, struct metrics *m)
{
	a->csi_ops = metrics_add(m, METRIC_HISTOGRAM, "csi_sidecar_operations_seconds",
				 "[ALPHA] Seconds each CSI call took, by driver, method and gRPC status "
				 "code", a->migratable ? csi_labels_migrated : csi_labels, csi_buckets,
				 sizeof(csi_buckets) / sizeof(csi_buckets[0]));
	for (size_t i = 0; i < a->nearly && !a->migratable; i++) {
		const char *labels[] = { a->early[i].driver, a->early[i].method, a->early[i].code };

		metric_observe(a->csi_ops, labels, a->early[i].seconds);
	}
	a->nearly = 0;
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/* How the main client paces its requests (kube/adaptive.h), for /metrics. */
struct pace_metrics {
	struct kube_client *kube;
	struct metric *limit, *rate;
};

static void collect_pace(void *ctx, struct metrics *m)
{
	struct pace_metrics *p = ctx;
	struct kube_client_pace now;

	(void)m;
	kube_client_pace(p->kube, &now);
	metric_set(p->limit, NULL, now.inflight_limit);
	metric_set(p->rate, NULL, now.rate);
}

static void register_pace_metrics(struct pace_metrics *p, struct metrics *m,
				  struct kube_client *kube)
{
	p->kube = kube;
	p->limit = metrics_add(m, METRIC_GAUGE, "csi_provisioner_kube_api_inflight_limit",
			       "Requests to the API server allowed in flight, adapted to its priority "
			       "and fairness (0: a fixed client-side QPS applies)", NULL, NULL, 0);
	p->rate = metrics_add(m, METRIC_GAUGE, "csi_provisioner_kube_api_request_rate",
			      "Requests per second sent to the API server lately, when adapted to its "
			      "priority and fairness (0: a fixed client-side QPS applies)", NULL, NULL, 0);
	metrics_add_collector(m, collect_pace, p);
}

/* Wait up to ms for SIGTERM/SIGINT; true when one came. */
static bool wait_signal(const sigset_t *set, int64_t ms, int *sig)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	int s = sigtimedwait(set, NULL, &ts);

	if (s > 0 && sig)
		*sig = s;
	return s > 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct err e = ERR_INIT;
	struct csi_client *csi = NULL, *csi_migrated = NULL;
	struct csi_controller_caps ccaps;
	struct csi_plugin_caps pcaps;
	struct kube_config *kcfg = NULL;
	struct kube_client *kube = NULL, *le_kube = NULL, *journal_kube = NULL, *cap_kube = NULL;
	struct capacity *cap = NULL;
	struct cap_owner cap_owner = { 0 };
	struct leader *leader = NULL;
	struct metrics *metrics = NULL;
	struct metrics_process *process_metrics = NULL;
	struct http_server *http = NULL;
	struct app app;
	char *lease_name = NULL, *journal_ns = NULL, *journal_holder = NULL;
	struct kube_client_opts kopts;
	struct controller *ctl = NULL;
	struct controller_opts copts;
	struct pace_metrics pace;
	char *driver = NULL, *vendor_version = NULL, *identity = NULL, *ua = NULL;
	struct startup_node node;
	sigset_t sigs;
	int sig, rc, status = 1;

	/* secrets pass through our memory: no core dumps, no ptrace by others of our uid */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		fprintf(stderr, "csi-provisioner: cannot disable core dumps: %s\n", strerror(errno));
	if (cli_is_command(argc, argv))	/* explain, preflight: read-only, src/cli/ */
		return cli_main(argc, argv);
	/* every worker runs its own requests (src/kube/direct.c): two malloc
	 * arenas, not one per contending thread (src/base/mem.c) */
	mem_limit_arenas(2);
	if (config_parse(&cfg, argc, argv, env_lookup, &e)) {
		fprintf(stderr, "csi-provisioner: %s\n", err_msg(&e));
		err_release(&e);
		config_release(&cfg);
		return 2;
	}
	if (cfg.show_help) {
		config_usage(stdout, "csi-provisioner");
		config_release(&cfg);
		return 0;
	}
	if (cfg.show_version) {
		printf("csi-provisioner %s\n", CSI_PROVISIONER_VERSION);
		config_release(&cfg);
		return 0;
	}
	metrics = metrics_new();
	startup_logging(&cfg);
	log_info_kv("Version", "version", CSI_PROVISIONER_VERSION);
	startup_trim_memory("loading");	/* the loader's and constructors' pages */
	memset(&node, 0, sizeof(node));
	if (cfg.node_deployment) {
		node.name = getenv("NODE_NAME");
		/* a name goes into paths and labels: the Node name rules, checked here */
		if (!node.name || !*node.name) {
			log_error("--node-deployment: the NODE_NAME environment variable must be set "
				  "to the name of this node (the downward API's spec.nodeName)");
			goto out;
		}
		if (kube_name_check(KUBE_RES_NODE, NULL, node.name, &e)) {
			log_error("--node-deployment: NODE_NAME: %s", err_msg(&e));
			goto out;
		}
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("csi-provisioner %s starting; driver endpoint %s", CSI_PROVISIONER_VERSION,
		 cfg.csi_address);
	memset(&app, 0, sizeof(app));
	app.driver = "unknown-driver";
	app.obs = (struct csi_obs){ &app, "false" };
	process_metrics = metrics_process_new(metrics);
	if (csi_client_new(&csi, cfg.csi_address, cfg.timeout_ms, &e)) {
		log_error("cannot use --csi-address \"%s\": %s", cfg.csi_address, err_msg(&e));
		goto out;
	}
	/* the probes and GetPluginInfo count too, under "unknown-driver" as upstream's do */
	csi_client_set_observer(csi, on_csi_call, &app.obs);
	for (unsigned waited = 0;; waited++) {
		rc = csi_wait_ready(csi, PROBE_STEP_MS, &e);
		if (rc == 0)
			break;
		if (rc != CSI_DEADLINE_EXCEEDED && rc != CSI_UNAVAILABLE) {
			log_error("CSI driver at %s failed its probe: %s", cfg.csi_address, err_msg(&e));
			goto out;
		}
		if (startup_stop_requested(&sigs)) {
			log_info("stopped while waiting for the CSI driver");
			status = 0;
			goto out;
		}
		if (waited % 10 == 9)
			log_info("still waiting for the CSI driver at %s: %s", cfg.csi_address,
				 err_msg(&e));
		err_release(&e);
	}
	if (csi_get_plugin_info(csi, &driver, &vendor_version, &e)) {
		log_error("GetPluginInfo failed: %s", err_msg(&e));
		goto out;
	}
	app.driver = driver;	/* this thread made every call so far; workers start later */
	if (csi_get_plugin_capabilities(csi, &pcaps, &e)) {
		log_error("GetPluginCapabilities failed: %s", err_msg(&e));
		goto out;
	}
	if (csi_controller_get_capabilities(csi, &ccaps, &e)) {
		log_error("ControllerGetCapabilities failed: %s", err_msg(&e));
		goto out;
	}
	if (!ccaps.create_delete) {
		log_error("CSI driver %s does not offer CREATE_DELETE_VOLUME: nothing to provision",
			  driver);
		goto out;
	}
	log_info_kv("Detected CSI driver", "driver", driver, "vendorVersion",
		    vendor_version ? vendor_version : "");
	if (node.name && startup_node_query(csi, &node))
		goto out;
	if (node.name && (!pcaps.accessibility_constraints || !cfg.gates.topology ||
			  !node.info.has_topology || !node.info.topology.n)) {
		/*
		 * Which volumes are this node's is read from the PVs' node
		 * affinity: without topology every instance would take every
		 * PV for its own and delete other nodes' volumes on its driver.
		 */
		log_error("--node-deployment needs topology: the driver must offer "
			  "VOLUME_ACCESSIBILITY_CONSTRAINTS and report this node's accessible "
			  "topology in NodeGetInfo, and the Topology gate must be on (driver %s: "
			  "capability %s, node topology %s, gate %s)", driver,
			  pcaps.accessibility_constraints ? "yes" : "no",
			  node.info.has_topology && node.info.topology.n ? "yes" : "no",
			  cfg.gates.topology ? "on" : "off");
		goto out;
	}
	app.csi = csi;
	app.migratable = mig_plugin_by_csi(driver) &&
			 (!cfg.provisioner || !strcmp(cfg.provisioner, driver));
	app.obs_migrated = (struct csi_obs){ &app, "true" };
	register_metrics(&app, metrics);

	if (setup_kube_config(&cfg, &kcfg, &e)) {
		log_error("cannot load the Kubernetes client configuration: %s", err_msg(&e));
		goto out;
	}
	ua = xasprintf("csi-provisioner/%s", CSI_PROVISIONER_VERSION);
	memset(&kopts, 0, sizeof(kopts));
	kopts.qps = cfg.kube_api_qps;
	kopts.burst = (int)cfg.kube_api_burst;
	if (!cfg.kube_api_rate_given) {
		/* follow the server's priority and fairness; 5/10 where it has none */
		kopts.qps = 0;
		kopts.burst = 0;
		kopts.adaptive = true;
	}
	kopts.timeout_ms = STARTUP_KUBE_TIMEOUT_MS;
	kopts.user_agent = ua;
	if (kube_client_new(&kube, kcfg, &kopts, &e)) {
		log_error("cannot create the Kubernetes client: %s", err_msg(&e));
		goto out;
	}
	/* the journal's and the leader's clients share its exec plugin credential */
	kopts.credentials_of = kube;
	register_pace_metrics(&pace, metrics, kube);


	identity = startup_identity(driver, node.name);
	/* the decisions' inputs, shared with explain (src/cli/setup.c) */
	setup_controller_opts(&cfg, driver, &pcaps, &ccaps, &copts);
	copts.plan.identity = identity;
	copts.workers = (int)cfg.worker_threads;
	copts.resync_ms = STARTUP_RESYNC_MS;
	if (node.name) {
		copts.node_name = node.name;
		copts.node_info = &node.info;
		copts.node_immediate_binding = cfg.node_deployment_immediate_binding;
		copts.node_base_delay_ms = cfg.node_deployment_base_delay_ms;
		copts.node_max_delay_ms = cfg.node_deployment_max_delay_ms;
	}
	/* as upstream: not set by name, the gate follows what the cluster serves */
	copts.plan.vac_disabled = !setup_vac_enabled(&cfg, kube);
	if (copts.plan.migrated_from) {
		/* a connection of its own for migrated volumes, as upstream's */
		if (csi_client_new(&csi_migrated, cfg.csi_address, cfg.timeout_ms, &e)) {
			log_error("cannot use --csi-address \"%s\": %s", cfg.csi_address,
				  err_msg(&e));
			goto out;
		}
		csi_client_set_observer(csi_migrated, on_csi_call, &app.obs_migrated);
		copts.csi_migrated = csi_migrated;
	}
	log_info("provisioning for \"%s\" (driver %s, identity %s)", copts.plan.provisioner, driver,
		 identity);

	if (cfg.leader_election) {
		app.leading = metrics_add(metrics, METRIC_GAUGE, "leader_election_master_status",
					  "[ALPHA] 1 while this replica leads the lease, 0 while it "
					  "stands by; name is the lease's election name", leader_labels,
					  NULL, 0);
		app.slowpath = metrics_add(metrics, METRIC_COUNTER, "leader_election_slowpath_total",
					   "[ALPHA] Lease renewals by the leader that had to read the "
					   "lease again (the slow path)", leader_labels, NULL, 0);
		metrics_add_collector(metrics, collect_leader, &app);
		lease_name = leader_lease_name(copts.plan.provisioner);
	}
	if (cfg.http_endpoint && *cfg.http_endpoint) {
		struct http_opts ho = { cfg.http_endpoint, cfg.metrics_path, metrics, ready_check,
					cfg.leader_election ? leader_check : NULL, &app, 0, false };

		if (http_server_start(&http, &ho, &e)) {
			log_error("%s", err_msg(&e));
			goto out;
		}
		log_info("serving metrics and health checks on %s (port %d)", cfg.http_endpoint,
			 http_server_port(http));
	} else if (cfg.metrics_address && *cfg.metrics_address) {
		struct http_opts ho = { .endpoint = cfg.metrics_address,
					.metrics_path = cfg.metrics_path, .metrics = metrics,
					.ctx = &app, .metrics_only = true };

		if (http_server_start(&http, &ho, &e)) {
			log_error("--metrics-address: %s", err_msg(&e));
			goto out;
		}
		log_info("serving metrics only on %s (port %d; --metrics-address)", cfg.metrics_address,
			 http_server_port(http));
	}
	copts.metrics = metrics;
	copts.volume_accounting = cfg.volume_accounting;
	/* the journal lives beside the Lease: the provisioner's own namespace */
	journal_ns = setup_namespace(&cfg);
	/* paths are built from it (the journal's Leases, the leader's Lease) */
	if (kube_namespace_check(journal_ns, &e)) {
		log_error("the provisioner's namespace (--leader-election-namespace, "
			  "$POD_NAMESPACE or the service account's): %s", err_msg(&e));
		goto out;
	}
	journal_holder = startup_leader_identity();
	copts.journal_namespace = journal_ns;
	copts.journal_holder = journal_holder;
	/*
	 * While the PV creates use the client's whole budget, the journal writes
	 * at most JOURNAL_SHARE of it: about one write a claim-batch. While that
	 * budget idles, an add is written at once (journal_urgent in
	 * provision/controller.c): claims that come one by one cost one write
	 * each, bounded by the journal's own rate limit below.
	 */
	if (cfg.kube_api_qps > 0) {
		/* following the server's flow control: the budget of a typical share */
		double qps = cfg.kube_api_rate_given ? cfg.kube_api_qps : ADAPTIVE_NOMINAL_QPS;
		double ms = 1000.0 / (JOURNAL_SHARE * qps);

		/* a claim after a quiet spell never waits longer than this */
		copts.journal_min_write_interval_ms = ms > 5000 ? 5000 : (int64_t)ms;
	}
	if (cfg.volume_accounting) {
		/*
		 * The journal's writes go over a connection and a rate limit of
		 * their own (a tenth of the main one): queued behind a hundred
		 * workers' PV creates, the write they all wait for would stall them.
		 * Paced as above, they add at most JOURNAL_SHARE to the API load
		 * while the PV creates use all of theirs, and at most this limit.
		 */
		struct kube_client_opts jk = kopts;

		jk.qps = kopts.qps > 0 ? (kopts.qps / 10 > 1 ? kopts.qps / 10 : 1) : kopts.qps;
		jk.burst = kopts.burst / 10 > 2 ? kopts.burst / 10 : 2;
		if (kube_client_new(&journal_kube, kcfg, &jk, &e)) {
			log_error("cannot create the journal's Kubernetes client: %s", err_msg(&e));
			goto out;
		}
		copts.journal_kube = journal_kube;
	}

	if (cfg.enable_capacity && startup_capacity(&cfg, kube, csi, ccaps.get_capacity, &copts,
						   &node, metrics, &sigs, &cap_kube, &cap_owner,
						   &cap))
		goto out;

	if (cfg.leader_election) {
		struct leader_opts lo;
		char *ns = setup_namespace(&cfg), *name = xstrdup(lease_name);
		char *who = startup_leader_identity();

		/*
		 * A client and connection of its own: provisioning traffic must never
		 * delay a renewal (upstream #416), not even by filling the shared
		 * connection's request slots.
		 */
		/* the Lease's path is built from these: a bad namespace is refused here */
		if (kube_name_check(KUBE_RES_LEASE, ns, name, &e) ||
		    kube_client_new(&le_kube, kcfg, &kopts, &e)) {
			log_error("cannot set up leader election: %s", err_msg(&e));
			free(ns);
			free(name);
			free(who);
			goto out;
		}
		/*
		 * ReleaseLeaderElectionOnExit: upstream keeps the Lease on exit unless
		 * the gate is on, because its workers may still run then. Ours have
		 * stopped before the release (see out:), so we release unless the
		 * operator set the gate to false.
		 */
		lo = (struct leader_opts){ ns, name, who, cfg.le_lease_duration_ms,
					   cfg.le_renew_deadline_ms, cfg.le_retry_period_ms,
					   on_lease_lost, on_lease_slowpath, &app,
					   (const char *const *)cfg.leader_election_labels,
					   cfg.gates.release_leader_election_on_exit ||
					   !cfg.gates.release_leader_election_on_exit_set };
		leader = leader_new(le_kube, &lo);
		app.leader = leader;
		/* from here on, every write needs the lease, also before it is taken */
		kube_client_set_write_guard(kube, leader_write_guard, leader);
		if (journal_kube)
			kube_client_set_write_guard(journal_kube, leader_write_guard, leader);
		if (cap_kube)
			kube_client_set_write_guard(cap_kube, leader_write_guard, leader);
		csi_client_set_write_guard(csi, leader_write_guard, leader);
		if (csi_migrated)
			csi_client_set_write_guard(csi_migrated, leader_write_guard, leader);
		copts.may_write = leader_write_guard;
		copts.may_write_ctx = leader;
		log_info("leader election: %s is a candidate for lease %s/%s", who, ns, name);
		free(ns);
		free(name);
		free(who);
		for (;;) {
			if (leader_try_acquire(leader, &e) == 0)
				break;
			if (!err_is(&e, KUBE_ERR_CONFLICT))
				log_warn("leader election: %s", err_msg(&e));
			err_release(&e);
			if (wait_signal(&sigs, cfg.le_retry_period_ms, &sig)) {
				log_info("stopped while waiting to lead");
				status = 0;
				goto out;
			}
		}
	}

	copts.stopping = startup_stopping;
	copts.stopping_ctx = &sigs;
	startup_trim_memory("connecting");	/* gRPC's, TLS's and the clients' set-up */
	ctl = controller_new(kube, csi, &copts);
	atomic_store(&app.ctl, ctl);
	rc = controller_start(ctl, &e);
	if (rc == ERR_STOPPED) {
		log_info("stopped while starting");
		status = 0;
		goto out;
	}
	if (rc) {
		log_error("cannot start: %s", err_msg(&e));
		goto out;
	}
	rc = cap ? capacity_start(cap, &e) : 0;
	if (rc == ERR_STOPPED) {
		log_info("stopped while starting");
		status = 0;
		goto out;
	}
	if (rc) {
		log_error("cannot start capacity tracking: %s", err_msg(&e));
		goto out;
	}
	log_info("running");
	startup_trim_memory("the first sync");
	for (;;) {
		if (wait_signal(&sigs, 1000, &sig))
			break;
		if (leader && leader_lost(leader))
			leader_expire(leader);	/* the renewal thread is stuck: the deadline passed */
		if (controller_journal_lost(ctl)) {
			log_error("intent journal: another instance took it over; exiting (run one "
				  "instance per driver, or several with --leader-election)");
			goto out;
		}
	}
	log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	status = 0;
out:
	http_server_free(http);	/* first: its checks read what follows */
	/*
	 * Requests still waiting for the client-side rate limit give up: at a
	 * low --kube-api-qps they could hold the stop for minutes. A volume
	 * created meanwhile stays in the journal (its own client) for the next
	 * leader; the Lease's release has a client of its own too.
	 */
	kube_client_close(kube);
	kube_client_close(cap_kube);
	controller_free(ctl);	/* first: its workers tell capacity tracking */
	capacity_free(cap);
	cap_owner_release(&cap_owner);
	leader_free(leader);	/* after the workers stopped: then hand the lease over */
	kube_client_free(le_kube);
	kube_client_free(journal_kube);
	kube_client_free(cap_kube);
	kube_client_free(kube);
	kube_config_free(kcfg);
	csi_client_free(csi_migrated);
	csi_client_free(csi);
	metrics_process_free(process_metrics);
	metrics_free(metrics);
	free(lease_name);
	free(journal_ns);
	free(journal_holder);
	err_release(&e);
	free(driver);
	free(vendor_version);
	free(identity);
	free(ua);
	startup_node_release(&node);
	config_release(&cfg);
	if (status == 0)
		log_info("stopped");
	log_flush();
	return status;
}
