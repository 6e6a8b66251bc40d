/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_int.h - what the commands of src/cli share: the context cli.c sets
 * up from the daemon's flags (API client, driver connection and what the
 * driver said), and the output helpers of output.c.
 */
#ifndef CLI_CLI_INT_H
#define CLI_CLI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "config/config.h"
#include "csi/client.h"

struct kube_config;
struct kube_client;

struct cli_ctx {
	const struct cli_args *args;
	struct config cfg;
	struct kube_config *kcfg;
	struct kube_client *kube;	/* NULL when the configuration could not be loaded */
	char *kube_error;		/* why kube is NULL */
	struct csi_client *csi;
	bool csi_ok;			/* probed, GetPluginInfo and capabilities answered */
	char *csi_error;		/* why not */
	char *driver, *vendor_version;
	struct csi_plugin_caps pcaps;
	struct csi_controller_caps ccaps;
	char *namespace;		/* the provisioner's (journal, Lease) */
};

/* The commands: fill the report; return 0 (nothing blocks) or 1. */
int explain_run(struct cli_ctx *x, json_t **report);
int preflight_run(struct cli_ctx *x, json_t **report);

/* Text renderings of the reports. */
void explain_print(FILE *out, const json_t *report);
void preflight_print(FILE *out, const json_t *report);

/* output.c: helpers for the text renderings and the reports. */
/* A string member, or `dflt` when absent or not a string. */
const char *out_str(const json_t *o, const char *key, const char *dflt);
/* Print `text` with C0 controls and DEL escaped (claim names, messages are outside input). */
void out_safe(FILE *out, const char *text);
/* "label: value" with the label padded to `width`; value escaped. */
void out_field(FILE *out, int width, const char *label, const char *value);
/* Append {"cause":cause,"message":msg} to the array `blockers`. */
void out_blocker(json_t *blockers, const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A JSON dump to `out` (indented, sorted keys), newline-terminated. */
void out_json(FILE *out, const json_t *report);

#endif
