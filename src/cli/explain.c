// SPDX-License-Identifier: Apache-2.0
/*
 * explain.c - `csi-provisioner explain NAMESPACE/CLAIM`: the daemon's
 * options from its flags and the driver's capabilities, then the daemon's
 * own decisions on the claim (src/provision/inspect.c), printed as text or
 * JSON. Exit 1 when something blocks the claim, or when the cluster or the
 * driver cannot be asked.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/xalloc.h"
#include "cli/cli_int.h"
#include "cli/setup.h"
#include "kube/path.h"
#include "provision/inspect.h"

#define W 22	/* label width of the text output */

static int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A report that says only why explain itself could not look. */
static json_t *failed(const char *target, const char *cause, const char *msg)
{
	return json_pack("{s:s, s:b, s:[{s:s, s:s}], s:[]}", "claim", target, "blocked", 1,
			 "blockers", "cause", cause, "message", msg, "notes");
}

int explain_run(struct cli_ctx *x, json_t **report)
{
	struct controller_opts o;
	struct err e = ERR_INIT;
	char *ns = NULL, *name = NULL;
	int rc;

	*report = NULL;
	if (!x->kube) {
		*report = failed(x->args->target, "kube", x->kube_error);
		return CLI_EXIT_BLOCKED;
	}
	if (!x->csi_ok) {
		/* the driver's name and capabilities decide ownership and the request */
		*report = failed(x->args->target, "driver", x->csi_error);
		return CLI_EXIT_BLOCKED;
	}
	if (cli_split_target(x->args->target, &ns, &name, &e))	/* checked by cli_main */
		goto fail;
	setup_controller_opts(&x->cfg, x->driver, &x->pcaps, &x->ccaps, &o);
	o.component = "csi-provisioner";
	o.plan.vac_disabled = !setup_vac_enabled(&x->cfg, x->kube);
	o.volume_accounting = x->cfg.volume_accounting;
	o.journal_namespace = x->namespace;
	o.workers = 1;
	if (inspect_claim(x->kube, x->csi, &o, ns, name, wall_ms(), report, &e))
		goto fail;
	json_object_set_new(*report, "driver", json_pack("{s:s, s:s, s:b, s:b, s:b}",
			    "name", x->driver, "provisioner", o.plan.provisioner,
			    "topology", o.topology, "clone", o.clone, "snapshot", o.snapshot));
	rc = json_is_true(json_object_get(*report, "blocked")) ? CLI_EXIT_BLOCKED : CLI_EXIT_OK;
	goto out;
fail:
	json_decref(*report);
	*report = failed(x->args->target, "explain", err_msg(&e));
	rc = CLI_EXIT_BLOCKED;
out:
	free(ns);
	free(name);
	err_release(&e);
	return rc;
}

static void print_request(FILE *out, const char *title, const json_t *req)
{
	char *s;

	if (!req)
		return;
	fprintf(out, "%s\n", title);
	s = json_dumps(req, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		fputs("    ", out);
		out_safe(out, line);
		fputc('\n', out);
		if (!nl)
			break;
	}
	free(s);
}

static void print_bool(FILE *out, const char *label, const json_t *v)
{
	out_field(out, W, label, json_is_true(v) ? "yes" : "no");
}

void explain_print(FILE *out, const json_t *r)
{
	const json_t *own = json_object_get(r, "ownership"), *j = json_object_get(r, "journal");
	const json_t *v, *drv = json_object_get(r, "driver");
	size_t i;

	fputs("claim ", out);
	out_safe(out, out_str(r, "claim", "?"));
	fprintf(out, ": %s\n", json_is_true(json_object_get(r, "blocked")) ? "BLOCKED" : "nothing blocks");
	if (json_is_true(json_object_get(r, "found"))) {
		out_field(out, W, "uid:", out_str(r, "uid", "-"));
		out_field(out, W, "phase:", out_str(r, "phase", "-"));
		out_field(out, W, "volume name:", out_str(r, "volume_name", "-"));
		if (json_object_get(r, "bound_to") && !json_is_null(json_object_get(r, "bound_to")))
			out_field(out, W, "bound to:", out_str(r, "bound_to", "-"));
	}
	if (drv) {
		out_field(out, W, "driver:", out_str(drv, "name", "-"));
		out_field(out, W, "provisioner:", out_str(drv, "provisioner", "-"));
	}
	if (own) {
		fputs("ours?\n", out);
		out_field(out, W, "verdict:", out_str(own, "verdict", "-"));
		out_field(out, W, "reason:", out_str(own, "reason", "-"));
		out_field(out, W, "class:", out_str(own, "class", "(none)"));
		print_bool(out, "class exists:", json_object_get(own, "class_found"));
		out_field(out, W, "class provisioner:", out_str(own, "class_provisioner", "-"));
		out_field(out, W, "claim annotated for:", out_str(own, "annotated_provisioner", "(none)"));
		print_bool(out, "whitelisted:", json_object_get(own, "whitelisted"));
		out_field(out, W, "binding mode:", out_str(own, "binding_mode", "-"));
		out_field(out, W, "selected node:", out_str(own, "selected_node", "(none)"));
	}
	if (json_object_get(r, "blockers") && json_array_size(json_object_get(r, "blockers"))) {
		fputs("blocked by\n", out);
		json_array_foreach(json_object_get(r, "blockers"), i, v)
			out_field(out, W, out_str(v, "cause", "?"), out_str(v, "message", ""));
	}
	json_array_foreach(json_object_get(r, "notes"), i, v) {
		fputs("note: ", out);
		out_safe(out, json_string_value(v));
		fputc('\n', out);
	}
	print_request(out, "CreateVolume request (secret values redacted)", json_object_get(r, "request"));
	if (j) {
		fputs("journal\n", out);
		out_field(out, W, "state:", out_str(j, "state", "-"));
		if (json_object_get(j, "shard"))
			out_field(out, W, "shard:", out_str(j, "shard", "-"));
		print_request(out, "  recorded request", json_object_get(j, "request"));
	}
	if (json_array_size(json_object_get(r, "volumes"))) {
		fputs("volumes of this claim\n", out);
		json_array_foreach(json_object_get(r, "volumes"), i, v) {
			fputs("  ", out);
			out_safe(out, out_str(v, "name", "?"));
			fprintf(out, " (%s, %s): ", out_str(v, "phase", "-"),
				out_str(v, "reclaim_policy", "-"));
			out_safe(out, out_str(v, "reason", ""));
			fputc('\n', out);
		}
	}
	if (json_object_get(r, "events")) {
		fputs("last events\n", out);
		json_array_foreach(json_object_get(r, "events"), i, v) {
			fprintf(out, "  %s ", out_str(v, "time", "-"));
			out_safe(out, out_str(v, "type", "-"));
			fputc(' ', out);
			out_safe(out, out_str(v, "reason", "-"));
			fputs(": ", out);
			out_safe(out, out_str(v, "message", ""));
			fputc('\n', out);
		}
	}
}
