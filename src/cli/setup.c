// SPDX-License-Identifier: Apache-2.0
/*
 * setup.c - configuration-derived set-up shared by the daemon (main.c) and
 * the read-only commands (see setup.h): one copy of each rule, so explain
 * and preflight cannot drift from what the daemon does.
 */
#include "cli/setup.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "csi/client.h"
#include "provision/controller.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "migration/translate.h"

#define SA_NAMESPACE_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

int setup_kube_config(const struct config *cfg, struct kube_config **out, struct err *e)
{
	const char *env = getenv("KUBECONFIG");
	bool have_file = (cfg->kubeconfig && *cfg->kubeconfig) || (env && *env);
	size_t n;
	int rc;

	if (cfg->master && *cfg->master && !have_file) {
		*out = xcalloc(1, sizeof(**out));
		(*out)->server = xstrdup(cfg->master);
		(*out)->source = xstrdup("--master (no credentials)");
		log_warn("using --master %s without a kubeconfig: no credentials", cfg->master);
	} else if ((rc = kube_config_load(out, cfg->kubeconfig, e))) {
		return rc;
	} else if (cfg->master && *cfg->master) {
		free((*out)->server);
		(*out)->server = xstrdup(cfg->master);
	}
	n = strlen((*out)->server ? (*out)->server : "");
	while (n && (*out)->server[n - 1] == '/')
		(*out)->server[--n] = '\0';
	return 0;
}

char *setup_namespace(const struct config *cfg)
{
	char *data = NULL;
	size_t len;
	struct err e = ERR_INIT;

	if (cfg->leader_election_namespace && *cfg->leader_election_namespace)
		return xstrdup(cfg->leader_election_namespace);
	if (getenv("POD_NAMESPACE") && *getenv("POD_NAMESPACE"))
		return xstrdup(getenv("POD_NAMESPACE"));
	if (kube_read_file(SA_NAMESPACE_FILE, 256, &data, &len, &e) == 0 && len) {
		while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
			data[--len] = '\0';
		if (len)
			return data;
	}
	free(data);
	err_release(&e);
	return xstrdup("default");
}

bool setup_vac_enabled(const struct config *cfg, struct kube_client *kube)
{
	return kube_gate_needs_kind(kube, "VolumeAttributesClass", cfg->gates.volume_attributes_class,
				    cfg->gates.volume_attributes_class_set, "storage.k8s.io/v1",
				    "VolumeAttributesClass");
}

/*
 * The in-tree plugin our driver replaces, whose classes and PVs we then
 * serve too (upstream's supportsMigrationFromInTreePluginName), or NULL.
 */
static const char *migrated_from(const char *driver, const char *provisioner)
{
	const struct mig_plugin *p = mig_plugin_by_csi(driver);

	if (!p)
		return NULL;
	if (strcmp(provisioner, driver)) {
		/* the controller manager hands migrated claims to the driver's name */
		log_warn("driver %s replaces the in-tree plugin %s, but the provisioner name %s "
			 "is not the driver's: CSI migration is off", driver, p->in_tree,
			 provisioner);
		return NULL;
	}
	log_info("supports migration from in-tree plugin %s", p->in_tree);
	return p->in_tree;
}

void setup_controller_opts(const struct config *cfg, const char *driver,
			   const struct csi_plugin_caps *pcaps,
			   const struct csi_controller_caps *ccaps, struct controller_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->plan.provisioner = cfg->provisioner ? cfg->provisioner : driver;
	o->plan.driver = driver;
	o->plan.prefix = cfg->volume_name_prefix;
	o->plan.uuid_length = cfg->volume_name_uuid_length;
	o->plan.default_fstype = cfg->default_fstype;
	o->plan.extra_create_metadata = cfg->extra_create_metadata;
	o->plan.controller_publish_readonly = cfg->controller_publish_readonly;
	o->plan.single_node_multi_writer = ccaps->single_node_multi_writer;
	o->plan.class_whitelist = cfg->class_whitelist;
	o->retry_start_ms = cfg->retry_start_ms;
	o->retry_max_ms = cfg->retry_max_ms;
	o->topology = pcaps->accessibility_constraints && cfg->gates.topology;
	o->publish_unpublish = ccaps->publish_unpublish;
	o->clone = ccaps->clone_volume;
	o->snapshot = ccaps->create_delete_snapshot;
	o->modify_volume = ccaps->modify_volume;
	o->strict_topology = cfg->strict_topology;
	o->immediate_topology = cfg->immediate_topology;
	o->cross_namespace = cfg->gates.cross_namespace_volume_data_source;
	o->prevent_volume_mode_conversion = cfg->prevent_volume_mode_conversion;
	o->snapshot_orphan_sweep_ms = cfg->snapshot_orphan_sweep_ms;
	o->plan.migrated_from = migrated_from(driver, o->plan.provisioner);
}
