// SPDX-License-Identifier: Apache-2.0
/* startup.c - the daemon's start-up steps (see startup.h). */
#include "startup.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/path.h"
#include "metrics/metrics.h"
#include "provision/controller.h"
#include "provision/node_deploy.h"

/* True when SIGTERM or SIGINT is pending (signals are blocked everywhere). */
bool startup_stop_requested(const sigset_t *set)
{
	struct timespec zero = { 0, 0 };

	return sigtimedwait(set, NULL, &zero) > 0;
}

bool startup_stopping(void *ctx)
{
	return startup_stop_requested(ctx);
}

/* hostname plus a random suffix: replicas on one host stay distinct. */
char *startup_leader_identity(void)
{
	char host[256] = "unknown";
	struct timeval tv;
	unsigned seed;

	gethostname(host, sizeof(host) - 1);
	gettimeofday(&tv, NULL);
	seed = (unsigned)(tv.tv_usec ^ (getpid() << 16));
	return xasprintf("%s_%08x", host, (unsigned)rand_r(&seed) ^ (unsigned)tv.tv_sec);
}

/* As upstream: "<unix ms>-<0..9999>-<driver>", and "-<node>" in node deployment. */
char *startup_identity(const char *driver, const char *node)
{
	struct timeval tv;
	unsigned seed;

	gettimeofday(&tv, NULL);
	seed = (unsigned)(tv.tv_usec ^ getpid());
	return xasprintf("%lld-%u-%s%s%s", (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000,
			 rand_r(&seed) % 10000, driver, node ? "-" : "", node ? node : "");
}

/* --logging-format, --v, --vmodule, the streams; then the warnings config_parse found. */
void startup_trim_memory(const char *after)
{
	long kib = mem_drop_file_pages();

	if (kib >= 0)
		log_v(4, "after %s: gave back %ld KiB of library pages", after, kib);
}

void startup_logging(const struct config *cfg)
{
	bool json = !strcmp(cfg->logging_format, "json");
	struct log_opts lo = {
		json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT,
		json ? cfg->log_json_split_stream : cfg->log_text_split_stream,
		json ? cfg->log_json_info_buffer : cfg->log_text_info_buffer,
		cfg->log_flush_ms, STDOUT_FILENO, STDERR_FILENO,
	};
	struct err e = ERR_INIT;

	log_configure(&lo);
	log_set_level((int)cfg->verbosity);
	if (log_set_vmodule(cfg->vmodule, &e))	/* config_parse checked it already */
		log_warn("--vmodule ignored: %s", err_msg(&e));
	err_release(&e);
	for (char **n = cfg->notices; n && *n; n++)
		log_warn("%s", *n);
}

void startup_node_release(struct startup_node *n)
{
	csi_node_info_release(&n->info);
	strmap_release(&n->segment);
	free(n->managed_by);
}

/*
 * Ask the driver which node it serves (NodeGetInfo), as upstream at start;
 * its topology is then the only one this instance knows.
 */
int startup_node_query(struct csi_client *csi, struct startup_node *n)
{
	struct err e = ERR_INIT;
	char *seg;

	if (csi_node_get_info(csi, &n->info, &e)) {
		log_error("--node-deployment: NodeGetInfo failed (the driver beside us must serve "
			  "the CSI Node service): %s", err_msg(&e));
		err_release(&e);
		return -1;
	}
	strmap_copy(&n->segment, &n->info.topology);	/* keys unique: a map on the wire */
	strmap_sort(&n->segment);
	n->managed_by = nd_name_with_max_length(CAP_MANAGED_BY, n->name, 63);
	seg = cap_segment_string(&n->segment);
	log_info("node deployment: node %s, driver node id %s, topology {%s}", n->name,
		 n->info.node_id, seg);
	free(seg);
	return 0;
}

/*
 * --enable-capacity: the objects' namespace ($NAMESPACE), a client with the
 * capacity rate limit (a sibling on the main connection: its budget never
 * leaks into the main client's, nor the main one's into it), the owner
 * reference from $POD_NAME (--capacity-ownerref-level), and the capacity
 * controller, told by the provisioning workers when volumes come and go.
 * As upstream, a missing variable or owner stops start-up.
 */
int startup_capacity(const struct config *cfg, struct kube_client *kube,
			  struct csi_client *csi, bool get_capacity, struct controller_opts *copts,
			  const struct startup_node *node, struct metrics *metrics, sigset_t *sigs,
			  struct kube_client **cap_kube, struct cap_owner *owner,
			  struct capacity **cap)
{
	const char *ns = getenv("NAMESPACE"), *pod = getenv("POD_NAME");
	struct kube_client_opts ko = { .qps = cfg->kube_api_capacity_qps,
				       .burst = (int)cfg->kube_api_capacity_burst,
				       .timeout_ms = STARTUP_KUBE_TIMEOUT_MS };
	struct capacity_opts co;
	struct err e = ERR_INIT;

	if (!ns || !*ns) {
		log_error("--enable-capacity: need the NAMESPACE environment variable (where the "
			  "CSIStorageCapacity objects live)");
		return -1;
	}
	if (kube_namespace_check(ns, &e) || kube_client_new_sibling(cap_kube, kube, &ko, &e)) {
		log_error("--enable-capacity: NAMESPACE: %s", err_msg(&e));
		err_release(&e);
		return -1;
	}
	if (cfg->capacity_ownerref_level >= 0) {
		if (!pod || !*pod) {
			log_error("--enable-capacity: need the POD_NAME environment variable to find the "
				  "owner of CSIStorageCapacity objects (or --capacity-ownerref-level=-1)");
			return -1;
		}
		if (capacity_lookup_owner(*cap_kube, ns, pod, (int)cfg->capacity_ownerref_level, owner,
					  &e)) {
			log_error("--enable-capacity: looking up the owner of pod %s/%s: %s", ns, pod,
				  err_msg(&e));
			err_release(&e);
			return -1;
		}
		log_info("capacity: using %s %s %s (uid %s) as owner of CSIStorageCapacity objects",
			 owner->api_version, owner->kind, owner->name, owner->uid);
	}
	memset(&co, 0, sizeof(co));
	co.driver = copts->plan.driver;
	co.provisioner = copts->plan.provisioner;
	co.namespace = ns;
	co.owner = cfg->capacity_ownerref_level >= 0 ? owner : NULL;
	co.topology = copts->topology;
	if (node->name) {
		/* as upstream: this node's segment only, and objects marked as this node's */
		co.managed_by = node->managed_by;
		co.fixed_segment = &node->segment;
		log_info("capacity: CSIStorageCapacity objects for node %s only (managed-by %s)",
			 node->name, node->managed_by);
	}
	co.immediate_binding = cfg->capacity_for_immediate_binding;
	co.poll_ms = cfg->capacity_poll_ms;
	co.threads = (int)cfg->capacity_threads;
	co.retry_start_ms = cfg->retry_start_ms;
	co.retry_max_ms = cfg->retry_max_ms;
	co.resync_ms = STARTUP_RESYNC_MS;
	co.metrics = metrics;
	co.stopping = startup_stopping;
	co.stopping_ctx = sigs;
	if (co.threads < 1)
		log_warn("--capacity-threads=0: using one worker");
	if (!get_capacity)	/* upstream asks anyway; the calls then fail and are retried */
		log_warn("--enable-capacity: the CSI driver does not offer GET_CAPACITY; its "
			  "GetCapacity calls will fail and no CSIStorageCapacity object will appear");
	*cap = capacity_new(kube, *cap_kube, csi, &co);
	copts->volume_changed = capacity_refresh;
	copts->volume_changed_ctx = *cap;
	return 0;
}
