// SPDX-License-Identifier: Apache-2.0
/*
 * preflight.c - `csi-provisioner preflight`: can the daemon run here with
 * these flags? The driver (reachable, identity, capabilities and what they
 * enable or rule out), every API permission the daemon uses (a
 * SelfSubjectAccessReview per row of permissions.c, in the provisioner's
 * namespace for the journal and the Lease), the journal writable, and the
 * API versions the cluster serves; with --node-deployment, this node's name
 * and what NodeGetInfo says (the daemon refuses to start without topology).
 * Nothing is written: a review only asks.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cli/cli_int.h"
#include "cli/permissions.h"
#include "cli/setup.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/path.h"

#define W 40

/* One capability: its name, whether the driver has it, what it means either way. */
static void cap(json_t *caps, const char *name, bool has, const char *yes, const char *no)
{
	json_array_append_new(caps, json_pack("{s:s, s:b, s:s}", "name", name, "present", has,
					      "means", has ? yes : no));
}

static json_t *driver_section(struct cli_ctx *x, json_t *blockers)
{
	json_t *d = json_pack("{s:s, s:b}", "address", x->cfg.csi_address, "reachable", x->csi_ok);
	json_t *caps;

	if (!x->csi_ok) {
		json_object_set_new(d, "error", json_string(x->csi_error));
		out_blocker(blockers, "driver", "%s", x->csi_error);
		return d;
	}
	json_object_set_new(d, "name", json_string(x->driver));
	json_object_set_new(d, "vendor_version", json_string(x->vendor_version ? x->vendor_version : ""));
	caps = json_array();
	cap(caps, "CONTROLLER_SERVICE", x->pcaps.controller_service, "the driver serves controller "
	    "calls", "the driver announces no controller service");
	cap(caps, "CREATE_DELETE_VOLUME", x->ccaps.create_delete, "provisioning and deletion",
	    "nothing to provision: the daemon refuses to start");
	cap(caps, "VOLUME_ACCESSIBILITY_CONSTRAINTS", x->pcaps.accessibility_constraints,
	    x->cfg.gates.topology ? "topology: requisite/preferred segments, PV nodeAffinity, "
	    "Node and CSINode watches" : "topology, but the Topology gate is off: none is used",
	    "no topology: no segments, no nodeAffinity, no Node/CSINode watches");
	cap(caps, "PUBLISH_UNPUBLISH_VOLUME", x->ccaps.publish_unpublish, "a volume is deleted only "
	    "once no VolumeAttachment names it", "no VolumeAttachment watch");
	cap(caps, "CLONE_VOLUME", x->ccaps.clone_volume, "claims may clone a claim",
	    "claims with a claim as data source are refused with an event");
	cap(caps, "CREATE_DELETE_SNAPSHOT", x->ccaps.create_delete_snapshot, "claims may restore "
	    "a VolumeSnapshot", "claims with a snapshot as data source are refused with an event");
	cap(caps, "MODIFY_VOLUME", x->ccaps.modify_volume, "a claim's VolumeAttributesClass "
	    "parameters go to CreateVolume", "claims naming a VolumeAttributesClass are refused "
	    "with an event");
	cap(caps, "SINGLE_NODE_MULTI_WRITER", x->ccaps.single_node_multi_writer, "ReadWriteOnce and "
	    "ReadWriteOncePod map to SINGLE_NODE_MULTI_WRITER / SINGLE_NODE_SINGLE_WRITER",
	    "ReadWriteOnce and ReadWriteOncePod map to SINGLE_NODE_WRITER");
	cap(caps, "GET_CAPACITY", x->ccaps.get_capacity, "capacity can be tracked "
	    "(--enable-capacity)", "no capacity tracking");
	json_object_set_new(d, "capabilities", caps);
	if (!x->ccaps.create_delete)
		out_blocker(blockers, "driver", "CSI driver %s does not offer CREATE_DELETE_VOLUME: "
			    "nothing to provision", x->driver);
	return d;
}

/*
 * --node-deployment: what main.c checks before it runs, asked here too:
 * NODE_NAME set to a valid node name, NodeGetInfo answered, and topology on
 * all three sides (the capability, the node's segments, the Topology gate).
 */
static json_t *node_section(struct cli_ctx *x, json_t *blockers)
{
	const char *name = getenv("NODE_NAME");
	json_t *n = json_pack("{s:s}", "node_name", name ? name : "");
	struct csi_node_info info;
	struct err e = ERR_INIT;
	json_t *topo;

	if (!name || !*name)
		out_blocker(blockers, "node", "--node-deployment: the NODE_NAME environment "
			    "variable must be set to the name of this node (the downward API's "
			    "spec.nodeName)");
	else if (kube_name_check(KUBE_RES_NODE, NULL, name, &e))
		out_blocker(blockers, "node", "--node-deployment: NODE_NAME: %s", err_msg(&e));
	err_release(&e);
	if (!x->csi_ok)
		return n;
	memset(&info, 0, sizeof(info));
	if (csi_node_get_info(x->csi, &info, &e)) {
		json_object_set_new(n, "error", json_string(err_msg(&e)));
		out_blocker(blockers, "node", "--node-deployment: NodeGetInfo failed (the driver "
			    "beside the daemon must serve the CSI Node service): %s", err_msg(&e));
		err_release(&e);
		return n;
	}
	topo = json_object();
	for (size_t i = 0; i < info.topology.n; i++)
		json_object_set_new(topo, info.topology.items[i].key,
				    json_string(info.topology.items[i].value));
	json_object_set_new(n, "node_id", json_string(info.node_id));
	json_object_set_new(n, "topology", topo);
	if (!x->pcaps.accessibility_constraints || !x->cfg.gates.topology || !info.has_topology ||
	    !info.topology.n)
		out_blocker(blockers, "node", "--node-deployment needs topology: the driver must "
			    "offer VOLUME_ACCESSIBILITY_CONSTRAINTS and report this node's accessible "
			    "topology in NodeGetInfo, and the Topology gate must be on (capability "
			    "%s, node topology %s, gate %s)",
			    x->pcaps.accessibility_constraints ? "yes" : "no",
			    info.has_topology && info.topology.n ? "yes" : "no",
			    x->cfg.gates.topology ? "on" : "off");
	csi_node_info_release(&info);
	return n;
}

/* Whether the daemon, run with these flags against this driver, needs the row. */
static bool needed(const struct cli_ctx *x, const struct perm *p)
{
	bool unknown = !x->csi_ok;	/* without the driver, assume every capability */

	switch (p->need) {
	case PERM_ALWAYS:
		return true;
	case PERM_TOPOLOGY:
		return x->cfg.gates.topology && (unknown || x->pcaps.accessibility_constraints);
	case PERM_ATTACH:
		return unknown || x->ccaps.publish_unpublish;
	case PERM_SNAPSHOT:
		return unknown || x->ccaps.create_delete_snapshot;
	case PERM_VAC:
		return x->cfg.gates.volume_attributes_class && (unknown || x->ccaps.modify_volume);
	case PERM_JOURNAL:
		return x->cfg.volume_accounting;
	case PERM_LEADER:
		return x->cfg.leader_election;
	case PERM_LEASES:
		return x->cfg.volume_accounting || x->cfg.leader_election;
	case PERM_ADOPT:
		return false;	/* without it the daemon skips the adoption, with a log line */
	case PERM_XNS:
		return x->cfg.gates.cross_namespace_volume_data_source;
	case PERM_CAPACITY:
		return x->cfg.enable_capacity;
	}
	return true;
}

/* A SelfSubjectAccessReview: 0 with *allowed set, or the code of the failed review. */
static int review(struct kube_client *kube, const char *group, const char *resource,
		  const char *verb, const char *ns, bool *allowed, char **reason, struct err *e)
{
	json_t *attrs = json_pack("{s:s, s:s, s:s}", "group", group, "resource", resource,
				  "verb", verb);
	json_t *body, *res = NULL, *st;
	char *path;
	int rc;

	*allowed = false;
	if ((rc = kube_path_collection(&path, KUBE_RES_SSAR, NULL, e))) {
		json_decref(attrs);
		return rc;
	}
	if (ns)
		json_object_set_new(attrs, "namespace", json_string(ns));
	body = json_pack("{s:s, s:s, s:{s:o}}", "apiVersion", "authorization.k8s.io/v1",
			 "kind", "SelfSubjectAccessReview", "spec", "resourceAttributes", attrs);
	rc = kube_create(kube, path, body, &res, e);
	json_decref(body);
	free(path);
	if (rc)
		return rc;
	st = json_object_get(res, "status");
	*allowed = json_is_true(json_object_get(st, "allowed"));
	*reason = xstrdup(json_string_value(json_object_get(st, "reason")) ?: "");
	json_decref(res);
	return 0;
}

static char *perm_name(const char *group, const char *resource, const char *verb, const char *ns)
{
	return xasprintf("%s %s%s%s%s%s", verb, resource, *group ? "." : "", group,
			 ns ? " in namespace " : "", ns ? ns : "");
}

static json_t *permissions_section(struct cli_ctx *x, json_t *blockers, json_t *missing)
{
	json_t *out = json_array();
	size_t n;
	const struct perm *t = perm_table(&n);

	for (size_t i = 0; i < n; i++) {
		const char *ns = t[i].in_own_namespace ? x->namespace : NULL;
		bool need = needed(x, &t[i]);
		char *reason = NULL, *name = perm_name(t[i].group, t[i].resource, t[i].verb, ns);
		struct err e = ERR_INIT;
		bool ok;
		int rc = review(x->kube, t[i].group, t[i].resource, t[i].verb, ns, &ok, &reason, &e);
		json_t *row = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "group", t[i].group,
					"resource", t[i].resource, "verb", t[i].verb,
					"needed", need, "use", t[i].use, "permission", name);

		if (ns)
			json_object_set_new(row, "namespace", json_string(ns));
		if (rc) {
			json_object_set_new(row, "error", json_string(err_msg(&e)));
			out_blocker(blockers, "review", "cannot review \"%s\": %s", name, err_msg(&e));
		} else {
			json_object_set_new(row, "allowed", json_boolean(ok));
			if (reason && *reason)
				json_object_set_new(row, "reason", json_string(reason));
		}
		if (!rc && !ok && need) {
			json_array_append_new(missing, json_string(name));
			out_blocker(blockers, "permission", "missing: %s (%s)", name, t[i].use);
		}
		json_array_append_new(out, row);
		free(reason);
		free(name);
		err_release(&e);
	}
	return out;
}

/* The journal can be written: create and update Leases there (asked, not tried). */
static json_t *journal_section(struct cli_ctx *x, const json_t *perms)
{
	json_t *j = json_pack("{s:s, s:b}", "namespace", x->namespace, "enabled",
			      x->cfg.volume_accounting);
	bool writable = true;
	size_t i;
	const json_t *row;

	json_array_foreach(perms, i, row)
		if (!strcmp(out_str(row, "resource", ""), "leases") &&
		    (!strcmp(out_str(row, "verb", ""), "create") ||
		     !strcmp(out_str(row, "verb", ""), "update")))
			writable = writable && json_is_true(json_object_get(row, "allowed"));
	json_object_set_new(j, "writable", json_boolean(writable));
	return j;
}

static json_t *apis_section(struct cli_ctx *x, json_t *notes)
{
	static const char *const want[][3] = {
		{ "storage.k8s.io/v1", "VolumeAttributesClass", "VolumeAttributesClass v1" },
		{ "snapshot.storage.k8s.io/v1", "VolumeSnapshot", "VolumeSnapshot v1" },
		{ "storage.k8s.io/v1", "CSIStorageCapacity", "CSIStorageCapacity v1" },
	};
	json_t *out = json_array();

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct err e = ERR_INIT;
		bool served;
		int s = kube_serves_kind(x->kube, want[i][0], want[i][1], &served, &e) ? -1 : served;
		json_t *row = json_pack("{s:s, s:s}", "api", want[i][0], "kind", want[i][1]);

		if (s < 0)
			json_object_set_new(row, "error", json_string(err_msg(&e)));
		else
			json_object_set_new(row, "served", json_boolean(s));
		if (s == 0 && i == 0 && x->cfg.gates.volume_attributes_class)
			json_array_append_new(notes, json_string(x->cfg.gates.volume_attributes_class_set ?
				"the VolumeAttributesClass gate is on but the cluster does not serve "
				"VolumeAttributesClass v1: claims naming one fail" :
				"the cluster does not serve VolumeAttributesClass v1: the daemon turns "
				"the VolumeAttributesClass gate off"));
		if (s == 0 && i == 1 && x->csi_ok && x->ccaps.create_delete_snapshot)
			json_array_append_new(notes, json_string("the driver restores snapshots but "
				"the cluster does not serve snapshot.storage.k8s.io/v1: restores fail"));
		json_array_append_new(out, row);
		err_release(&e);
	}
	return out;
}

int preflight_run(struct cli_ctx *x, json_t **report)
{
	json_t *blockers = json_array(), *missing = json_array(), *notes = json_array(), *perms;

	*report = json_object();
	json_object_set_new(*report, "driver", driver_section(x, blockers));
	if (x->cfg.node_deployment)
		json_object_set_new(*report, "node", node_section(x, blockers));
	if (x->kube) {
		perms = permissions_section(x, blockers, missing);
		json_object_set_new(*report, "journal", journal_section(x, perms));
		json_object_set_new(*report, "permissions", perms);
		json_object_set_new(*report, "apis", apis_section(x, notes));
		json_object_set_new(*report, "namespace", json_string(x->namespace));
	} else {
		out_blocker(blockers, "kube", "%s", x->kube_error);
	}
	json_object_set_new(*report, "missing", missing);
	json_object_set_new(*report, "notes", notes);
	json_object_set_new(*report, "blocked", json_boolean(json_array_size(blockers) > 0));
	json_object_set_new(*report, "blockers", blockers);
	return json_array_size(blockers) ? CLI_EXIT_BLOCKED : CLI_EXIT_OK;
}

void preflight_print(FILE *out, const json_t *r)
{
	const json_t *d = json_object_get(r, "driver"), *v, *j = json_object_get(r, "journal");
	size_t i;

	fprintf(out, "preflight: %s\n", json_is_true(json_object_get(r, "blocked")) ?
		"BLOCKED" : "nothing blocks");
	fputs("driver\n", out);
	out_field(out, W, "address:", out_str(d, "address", "-"));
	out_field(out, W, "reachable:", json_is_true(json_object_get(d, "reachable")) ? "yes" : "no");
	if (json_object_get(d, "name"))
		out_field(out, W, "name:", out_str(d, "name", "-"));
	json_array_foreach(json_object_get(d, "capabilities"), i, v) {
		char *label = xasprintf("%s %s:", json_is_true(json_object_get(v, "present")) ?
					"+" : "-", out_str(v, "name", "?"));

		out_field(out, W, label, out_str(v, "means", ""));
		free(label);
	}
	if ((v = json_object_get(r, "node"))) {
		const char *key;
		const json_t *val;

		fputs("node deployment\n", out);
		out_field(out, W, "NODE_NAME:", out_str(v, "node_name", "(unset)"));
		if (json_object_get(v, "node_id"))
			out_field(out, W, "driver node id:", out_str(v, "node_id", "-"));
		json_object_foreach(json_object_get(v, "topology"), key, val) {
			char *label = xasprintf("topology %s:", key);

			out_field(out, W, label, json_string_value(val));
			free(label);
		}
	}
	if (json_object_get(r, "permissions")) {
		size_t n = 0, ok = 0;

		json_array_foreach(json_object_get(r, "permissions"), i, v) {
			n += json_is_true(json_object_get(v, "needed"));
			ok += json_is_true(json_object_get(v, "needed")) &&
			      json_is_true(json_object_get(v, "allowed"));
		}
		fprintf(out, "permissions: %zu of %zu needed allowed\n", ok, n);
		json_array_foreach(json_object_get(r, "missing"), i, v) {
			fputs("  missing: ", out);
			out_safe(out, json_string_value(v));
			fputc('\n', out);
		}
	}
	if (j) {
		fputs("journal\n", out);
		out_field(out, W, "namespace:", out_str(j, "namespace", "-"));
		out_field(out, W, "writable:", json_is_true(json_object_get(j, "writable")) ? "yes" : "no");
	}
	if (json_object_get(r, "apis")) {
		fputs("APIs served\n", out);
		json_array_foreach(json_object_get(r, "apis"), i, v) {
			char *label = xasprintf("%s %s:", out_str(v, "api", "?"), out_str(v, "kind", "?"));

			out_field(out, W, label, json_object_get(v, "error") ? out_str(v, "error", "") :
				  json_is_true(json_object_get(v, "served")) ? "yes" : "no");
			free(label);
		}
	}
	json_array_foreach(json_object_get(r, "notes"), i, v) {
		fputs("note: ", out);
		out_safe(out, json_string_value(v));
		fputc('\n', out);
	}
	if (json_array_size(json_object_get(r, "blockers"))) {
		fputs("blocked by\n", out);
		json_array_foreach(json_object_get(r, "blockers"), i, v)
			out_field(out, 12, out_str(v, "cause", "?"), out_str(v, "message", ""));
	}
}
