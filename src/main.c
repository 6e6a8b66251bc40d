// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - csi-provisioner: configuration, wiring, run, orderly shutdown.
 *
 * No logic lives here. Signals are blocked in every thread from the start
 * and collected here with sigwait, so SIGTERM always means an orderly stop:
 * intake stops, workers finish their current call, and we exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "config.h"
#include "csi/client.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "provision/controller.h"

#define RESYNC_MS (15 * 60 * 1000)
#define KUBE_TIMEOUT_MS 30000
#define PROBE_STEP_MS 1000

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/* True when SIGTERM or SIGINT is pending (signals are blocked everywhere). */
static bool stop_requested(const sigset_t *set)
{
	struct timespec zero = { 0, 0 };

	return sigtimedwait(set, NULL, &zero) > 0;
}

static char *make_identity(const char *driver)
{
	struct timeval tv;
	unsigned seed;

	gettimeofday(&tv, NULL);
	seed = (unsigned)(tv.tv_usec ^ getpid());
	return xasprintf("%lld-%u-%s", (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000,
			 rand_r(&seed) % 10000, driver);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct err e = ERR_INIT;
	struct csi_client *csi = NULL;
	struct csi_controller_caps ccaps;
	struct kube_config *kcfg = NULL;
	struct kube_client *kube = NULL;
	struct kube_client_opts kopts;
	struct controller *ctl = NULL;
	struct controller_opts copts;
	char *driver = NULL, *vendor_version = NULL, *identity = NULL, *ua = NULL;
	sigset_t sigs;
	int sig, status = 1;

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
	log_set_level((int)cfg.verbosity);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("csi-provisioner %s starting; driver endpoint %s", CSI_PROVISIONER_VERSION,
		 cfg.csi_address);
	if (csi_client_new(&csi, cfg.csi_address, cfg.timeout_ms, &e)) {
		log_error("cannot use --csi-address \"%s\": %s", cfg.csi_address, err_msg(&e));
		goto out;
	}
	for (unsigned waited = 0;; waited++) {
		int rc = csi_wait_ready(csi, PROBE_STEP_MS, &e);

		if (rc == 0)
			break;
		if (rc != CSI_DEADLINE_EXCEEDED && rc != CSI_UNAVAILABLE) {
			log_error("CSI driver at %s failed its probe: %s", cfg.csi_address, err_msg(&e));
			goto out;
		}
		if (stop_requested(&sigs)) {
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
	if (csi_controller_get_capabilities(csi, &ccaps, &e)) {
		log_error("ControllerGetCapabilities failed: %s", err_msg(&e));
		goto out;
	}
	if (!ccaps.create_delete) {
		log_error("CSI driver %s does not offer CREATE_DELETE_VOLUME: nothing to provision",
			  driver);
		goto out;
	}
	log_info("CSI driver %s %s is ready", driver, vendor_version ? vendor_version : "");

	if (kube_config_load(&kcfg, cfg.kubeconfig, &e)) {
		log_error("cannot load the Kubernetes client configuration: %s", err_msg(&e));
		goto out;
	}
	ua = xasprintf("csi-provisioner/%s", CSI_PROVISIONER_VERSION);
	memset(&kopts, 0, sizeof(kopts));
	kopts.qps = cfg.kube_api_qps;
	kopts.burst = (int)cfg.kube_api_burst;
	kopts.timeout_ms = KUBE_TIMEOUT_MS;
	kopts.user_agent = ua;
	if (kube_client_new(&kube, kcfg, &kopts, &e)) {
		log_error("cannot create the Kubernetes client: %s", err_msg(&e));
		goto out;
	}

	identity = make_identity(driver);
	memset(&copts, 0, sizeof(copts));
	copts.plan.provisioner = cfg.provisioner ? cfg.provisioner : driver;
	copts.plan.driver = driver;
	copts.plan.identity = identity;
	copts.plan.prefix = cfg.volume_name_prefix;
	copts.plan.uuid_length = cfg.volume_name_uuid_length;
	copts.plan.default_fstype = cfg.default_fstype;
	copts.plan.extra_create_metadata = cfg.extra_create_metadata;
	copts.plan.controller_publish_readonly = cfg.controller_publish_readonly;
	copts.plan.single_node_multi_writer = ccaps.single_node_multi_writer;
	copts.plan.class_whitelist = cfg.class_whitelist;
	copts.workers = (int)cfg.worker_threads;
	copts.retry_start_ms = cfg.retry_start_ms;
	copts.retry_max_ms = cfg.retry_max_ms;
	copts.resync_ms = RESYNC_MS;
	copts.component = "csi-provisioner";
	log_info("provisioning for \"%s\" (driver %s, identity %s)", copts.plan.provisioner, driver,
		 identity);

	ctl = controller_new(kube, csi, &copts);
	if (controller_start(ctl, &e)) {
		log_error("cannot start: %s", err_msg(&e));
		goto out;
	}
	log_info("running");
	for (;;) {
		if (sigwait(&sigs, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
			break;
	}
	log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	status = 0;
out:
	controller_free(ctl);
	kube_client_free(kube);
	kube_config_free(kcfg);
	csi_client_free(csi);
	err_release(&e);
	free(driver);
	free(vendor_version);
	free(identity);
	free(ua);
	config_release(&cfg);
	if (status == 0)
		log_info("stopped");
	return status;
}
