/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the read-only commands of csi-provisioner:
 *
 *   csi-provisioner explain NAMESPACE/CLAIM [-o text|json] [daemon flags]
 *   csi-provisioner preflight [-o text|json] [daemon flags]
 *
 * They take the daemon's own flags (and environment) with the daemon's
 * rules, so they look at the cluster and the driver as the daemon would;
 * they write nothing. Exit codes: 0 nothing blocks, 1 something blocks
 * (or the check itself failed), 2 usage errors. docs/explain.md has more.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>

#include "base/err.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_BLOCKED 1
#define CLI_EXIT_USAGE 2

enum cli_command { CLI_NONE, CLI_EXPLAIN, CLI_PREFLIGHT };

/* What cli_parse found. `rest` borrows argv's strings (argv[0] first). */
struct cli_args {
	enum cli_command command;
	const char *target;		/* explain: "NAMESPACE/CLAIM" */
	bool json;			/* -o json */
	bool help;			/* -h / --help after the command */
	char **rest;			/* for config_parse; free the array only */
	int nrest;
};

/* Whether argv names one of the commands (argv[1] is "explain" or "preflight"). */
bool cli_is_command(int argc, char *const argv[]);

/*
 * Split argv: the command, its argument, -o/--output, and the daemon's
 * flags (left for config_parse). Returns 0, or -1 with a usage message.
 * Release with cli_args_release either way.
 */
int cli_parse(int argc, char *const argv[], struct cli_args *out, struct err *e);
void cli_args_release(struct cli_args *a);

/*
 * Split "NAMESPACE/CLAIM" (both checked as Kubernetes names). Caller frees
 * *ns and *name. Returns 0 or -1 with a message.
 */
int cli_split_target(const char *target, char **ns, char **name, struct err *e);

/* Run a command; returns the process exit code. */
int cli_main(int argc, char **argv);

#endif
